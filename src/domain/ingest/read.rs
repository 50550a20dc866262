//! Reading a supplier's catalog file: which encoding and delimiter it uses (UTF-8 with or
//! without a byte-order mark, or Windows-1252 as Excel writes CSV in Sweden; comma, semicolon,
//! tab or pipe), and its records as UTF-8 text, streamed — a 2 GB file is never held whole.

use std::io::{self, Read};

use encoding_rs::{Decoder, UTF_8, WINDOWS_1252};

/// How a file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dialect {
    pub encoding: Encoding,
    pub delimiter: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Windows1252,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Windows1252 => "WINDOWS-1252",
        }
    }
}

/// Delimiters considered, in order of preference when counts tie.
const DELIMITERS: [u8; 4] = [b';', b',', b'\t', b'|'];

/// The dialect of a file from its first bytes (64 KiB is plenty): UTF-8 when the prefix is
/// valid UTF-8 (a character cut at the end of the prefix allowed), Windows-1252 otherwise; the
/// delimiter that appears the same number of times (and at least once) on the most of the
/// first lines, outside quotes.
pub fn sniff(prefix: &[u8]) -> Dialect {
    let body = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let encoding = match std::str::from_utf8(body) {
        Ok(_) => Encoding::Utf8,
        // Only the last character cut by the prefix's end: still UTF-8.
        Err(e) if e.error_len().is_none() => Encoding::Utf8,
        Err(_) => Encoding::Windows1252,
    };
    let lines: Vec<&[u8]> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(20)
        .collect();
    // A final line cut by the prefix's end is not evidence.
    let lines = if lines.len() > 1 && !body.ends_with(b"\n") {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let count = |line: &[u8], d: u8| {
        let mut quoted = false;
        line.iter()
            .filter(|b| {
                if **b == b'"' {
                    quoted = !quoted;
                }
                !quoted && **b == d
            })
            .count()
    };
    let mut best = (0usize, 0usize, b',');
    for d in DELIMITERS {
        let Some(first) = lines.first() else { break };
        let per_header = count(first, d);
        if per_header == 0 {
            continue;
        }
        let agreeing = lines.iter().filter(|l| count(l, d) == per_header).count();
        if (agreeing, per_header) > (best.0, best.1) {
            best = (agreeing, per_header, d);
        }
    }
    Dialect {
        encoding,
        delimiter: best.2,
    }
}

/// Bytes in the file's encoding → UTF-8, as a reader (a byte-order mark is dropped).
pub struct Utf8Reader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    position: usize,
    done: bool,
}

impl<R: Read> Utf8Reader<R> {
    pub fn new(inner: R, encoding: Encoding) -> Self {
        let decoder = match encoding {
            Encoding::Utf8 => UTF_8.new_decoder_with_bom_removal(),
            Encoding::Windows1252 => WINDOWS_1252.new_decoder_without_bom_handling(),
        };
        Utf8Reader {
            inner,
            decoder,
            input: vec![0; 64 * 1024],
            output: Vec::with_capacity(3 * 64 * 1024 + 16),
            position: 0,
            done: false,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        self.output.clear();
        self.position = 0;
        while self.output.is_empty() && !self.done {
            let n = self.inner.read(&mut self.input)?;
            let last = n == 0;
            let needed = self.decoder.max_utf8_buffer_length(n).unwrap_or(3 * n + 16);
            let start = self.output.len();
            self.output.resize(start + needed, 0);
            let (_, _, written, _) =
                self.decoder
                    .decode_to_utf8(&self.input[..n], &mut self.output[start..], last);
            self.output.truncate(start + written);
            self.done = last;
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.position >= self.output.len() {
            self.refill()?;
        }
        let available = &self.output[self.position..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.position += n;
        Ok(n)
    }
}

/// A CSV reader over a file in `dialect`: records of UTF-8 text, the first one the header;
/// rows may have fewer or more fields than the header (the mapping says what is missing).
pub fn records<R: Read>(inner: R, dialect: Dialect) -> csv::Reader<Utf8Reader<R>> {
    csv::ReaderBuilder::new()
        .delimiter(dialect.delimiter)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(Utf8Reader::new(inner, dialect.encoding))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Vec<Vec<String>> {
        records(bytes, sniff(bytes))
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn delimiters_are_found_outside_quotes() {
        let semicolons = "Artikelnr;Benämning;Pris\n1001;\"Grädde, 36 %\";42,50\n1002;Smör;89,90\n";
        assert_eq!(sniff(semicolons.as_bytes()).delimiter, b';');
        assert_eq!(
            all(semicolons.as_bytes())[1],
            ["1001", "Grädde, 36 %", "42,50"]
        );
        let tabs = "sku\tname\tprice\nA\tApple\t1.5\n";
        assert_eq!(sniff(tabs.as_bytes()).delimiter, b'\t');
        let commas = "sku,name,price\nA,\"Apple; red\",1.5\n";
        assert_eq!(sniff(commas.as_bytes()).delimiter, b',');
        let pipes = "sku|name\nA|Apple\n";
        assert_eq!(sniff(pipes.as_bytes()).delimiter, b'|');
    }

    #[test]
    fn windows_1252_and_a_utf8_bom_are_read_as_text() {
        // "Benämning;Pris\nSmör;89,90" as Excel writes it in Sweden.
        let (bytes, _, _) = WINDOWS_1252.encode("Benämning;Pris\nSmör;89,90\n");
        let dialect = sniff(&bytes);
        assert_eq!(dialect.encoding, Encoding::Windows1252);
        assert_eq!(all(&bytes), [["Benämning", "Pris"], ["Smör", "89,90"]]);
        let bom = b"\xEF\xBB\xBFsku;namn\nA;\xC3\x84pple\n";
        assert_eq!(sniff(bom).encoding, Encoding::Utf8);
        assert_eq!(all(bom), [["sku", "namn"], ["A", "Äpple"]]);
    }

    #[test]
    fn a_character_cut_by_the_prefix_is_still_utf8() {
        let text = "namn;pris\nSmör;1\n".as_bytes();
        let cut = &text[..13]; // inside "ö"
        assert_eq!(sniff(cut).encoding, Encoding::Utf8);
    }

    #[test]
    fn long_files_stream_through_small_buffers() {
        let mut text = String::from("sku;namn\n");
        for i in 0..20_000 {
            text.push_str(&format!("{i};Räksmörgås {i}\n"));
        }
        let (bytes, _, _) = WINDOWS_1252.encode(&text);
        let rows = all(&bytes);
        assert_eq!(rows.len(), 20_001);
        assert_eq!(rows[20_000], ["19999", "Räksmörgås 19999"]);
    }
}
