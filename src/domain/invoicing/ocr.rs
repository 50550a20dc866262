//! Reading scanned invoices: an OCR port, and its adapter over Tesseract (Debian
//! `tesseract-ocr` with `tesseract-ocr-swe`), with Poppler's `pdftoppm` (Debian
//! `poppler-utils`) turning scanned PDF pages into images first.
//!
//! Tesseract's TSV output gives each word with its confidence; lines are rebuilt from its
//! (block, paragraph, line) numbers, and the text's confidence is the mean of its words'. The
//! programs run with a time limit, on files in a directory of their own that is removed
//! afterwards.

use std::{path::PathBuf, time::Duration};

use async_trait::async_trait;
use tokio::process::Command;
use uuid::Uuid;

use super::extract::Unreadable;
use crate::domain::platform::storage::DocumentKind;

/// Text recognised in a document, and how sure the recognition is (per mille).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecognisedText {
    pub text: String,
    pub confidence: u16,
}

/// Recognises the text of scanned documents.
#[async_trait]
pub trait Ocr: Send + Sync {
    /// The text of an image (PNG, JPEG, TIFF) or of a PDF's pages rendered as images.
    async fn recognise(
        &self,
        kind: DocumentKind,
        bytes: &[u8],
    ) -> Result<RecognisedText, Unreadable>;
}

/// Where the OCR programs are and how they run (`TESSERACT_PATH`, `PDFTOPPM_PATH`,
/// `OCR_LANGUAGES`, `OCR_TIMEOUT_SECS`).
#[derive(Clone, Debug)]
pub struct OcrConfig {
    pub tesseract: String,
    pub pdftoppm: String,
    /// Tesseract's `-l`: `swe+eng`.
    pub languages: String,
    /// Longest a program may run on one document.
    pub timeout: Duration,
    /// Pages of a scanned PDF read at most.
    pub max_pages: u32,
}

impl Default for OcrConfig {
    fn default() -> Self {
        OcrConfig {
            tesseract: "tesseract".into(),
            pdftoppm: "pdftoppm".into(),
            languages: "swe+eng".into(),
            timeout: Duration::from_secs(60),
            max_pages: 10,
        }
    }
}

/// Tesseract (and pdftoppm for PDFs), run as programs.
pub struct TesseractOcr {
    config: OcrConfig,
}

impl TesseractOcr {
    pub fn new(config: OcrConfig) -> Self {
        TesseractOcr { config }
    }
}

/// A directory of one recognition's files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, Unreadable> {
        let dir = std::env::temp_dir().join(format!("iris-ocr-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Unreadable(format!("OCR could not make its work directory: {e}")))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `program` with `args` within `timeout`; its standard output, or why it failed.
async fn run(
    program: &str,
    package: &str,
    args: &[&std::ffi::OsStr],
    timeout: Duration,
) -> Result<Vec<u8>, Unreadable> {
    let child = Command::new(program)
        .args(args)
        // One thread each: several documents are read at once already.
        .env("OMP_THREAD_LIMIT", "1")
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Unreadable(format!(
                    "reading scanned invoices needs `{program}` (install the Debian package {package})"
                ))
            } else {
                Unreadable(format!("`{program}` could not start: {e}"))
            }
        })?;
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| {
            Unreadable(format!(
                "`{program}` took longer than {} s",
                timeout.as_secs()
            ))
        })?
        .map_err(|e| Unreadable(format!("`{program}` failed: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last: String = stderr
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .chars()
            .take(300)
            .collect();
        return Err(Unreadable(format!("`{program}` could not read it: {last}")));
    }
    Ok(output.stdout)
}

/// The most pixels an image may have (A4 at 600 dpi is 35 million): more is refused before
/// any program sees it (a small file can declare a huge image).
const MAX_PIXELS: u64 = 100_000_000;
/// A rendered PDF page's longest side, in pixels (A4 at 300 dpi), whatever its page box says.
const PAGE_PIXELS: &str = "3508";

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

/// Width and height an image's header declares (PNG, JPEG, TIFF).
pub fn dimensions(kind: DocumentKind, bytes: &[u8]) -> Option<(u32, u32)> {
    match kind {
        DocumentKind::Png => {
            let word = |at: usize| -> Option<u32> {
                Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
            };
            (bytes.get(12..16)? == b"IHDR").then_some(())?;
            Some((word(16)?, word(20)?))
        }
        DocumentKind::Jpeg => {
            // Segments after SOI until a start-of-frame, which holds the size.
            let mut at = 2;
            while at + 9 < bytes.len() {
                if bytes[at] != 0xFF {
                    return None;
                }
                let marker = bytes[at + 1];
                let is_frame =
                    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
                if is_frame {
                    return Some((be16(bytes, at + 7)?, be16(bytes, at + 5)?));
                }
                at += 2 + be16(bytes, at + 2)? as usize;
            }
            None
        }
        DocumentKind::Tiff => {
            let little = bytes.get(..2)? == b"II";
            let read = |at: usize, n: usize| -> Option<u32> {
                let raw = bytes.get(at..at + n)?;
                Some(raw.iter().enumerate().fold(0u32, |acc, (i, b)| {
                    let shift = if little { 8 * i } else { 8 * (n - 1 - i) };
                    acc | (u32::from(*b) << shift)
                }))
            };
            let ifd = read(4, 4)? as usize;
            let entries = read(ifd, 2)? as usize;
            let (mut width, mut height) = (None, None);
            for i in 0..entries.min(512) {
                let entry = ifd + 2 + 12 * i;
                let value = match read(entry + 2, 2)? {
                    3 => read(entry + 8, 2)?,
                    4 => read(entry + 8, 4)?,
                    _ => continue,
                };
                match read(entry, 2)? {
                    256 => width = Some(value),
                    257 => height = Some(value),
                    _ => {}
                }
            }
            Some((width?, height?))
        }
        _ => None,
    }
}

/// Lines and mean confidence from Tesseract's TSV (level, page, block, par, line, word, left,
/// top, width, height, conf, text).
pub fn from_tsv(tsv: &str) -> RecognisedText {
    // Words by their line: (page, block, paragraph, line).
    type LineKey = (u32, u32, u32, u32);
    let mut lines: Vec<(LineKey, Vec<String>)> = Vec::new();
    let (mut sum, mut words) = (0f64, 0u32);
    for row in tsv.lines().skip(1) {
        let cells: Vec<&str> = row.split('\t').collect();
        if cells.len() < 12 || cells[0] != "5" {
            continue;
        }
        let number = |i: usize| cells[i].parse::<u32>().unwrap_or(0);
        let key = (number(1), number(2), number(3), number(4));
        let word = cells[11].trim();
        if word.is_empty() {
            continue;
        }
        if let Ok(conf) = cells[10].parse::<f64>()
            && conf >= 0.0
        {
            sum += conf;
            words += 1;
        }
        match lines.last_mut() {
            Some((last, text)) if *last == key => text.push(word.to_owned()),
            _ => lines.push((key, vec![word.to_owned()])),
        }
    }
    let text = lines
        .into_iter()
        .map(|(_, words)| words.join(" "))
        .collect::<Vec<_>>()
        .join("\n");
    let confidence = if words == 0 {
        0
    } else {
        ((sum / f64::from(words)) * 10.0).round().clamp(0.0, 1000.0) as u16
    };
    RecognisedText { text, confidence }
}

#[async_trait]
impl Ocr for TesseractOcr {
    async fn recognise(
        &self,
        kind: DocumentKind,
        bytes: &[u8],
    ) -> Result<RecognisedText, Unreadable> {
        let c = &self.config;
        let scratch = Scratch::new()?;
        let write = |name: &str, bytes: &[u8]| {
            let path = scratch.0.join(name);
            std::fs::write(&path, bytes)
                .map_err(|e| Unreadable(format!("OCR could not write its input: {e}")))?;
            Ok::<_, Unreadable>(path)
        };
        let images: Vec<PathBuf> = match kind {
            DocumentKind::Png | DocumentKind::Jpeg | DocumentKind::Tiff => {
                let Some((width, height)) = dimensions(kind, bytes) else {
                    return Err(Unreadable(
                        "its size could not be read from its header".into(),
                    ));
                };
                if width == 0 || height == 0 || u64::from(width) * u64::from(height) > MAX_PIXELS {
                    return Err(Unreadable(format!(
                        "it is {width} × {height} pixels; at most {MAX_PIXELS} pixels are read"
                    )));
                }
                vec![write("page", bytes)?]
            }
            DocumentKind::Pdf => {
                let pdf = write("scan.pdf", bytes)?;
                let prefix = scratch.0.join("page");
                let last = c.max_pages.to_string();
                run(
                    &c.pdftoppm,
                    "poppler-utils",
                    &[
                        "-r".as_ref(),
                        "300".as_ref(),
                        "-scale-to".as_ref(),
                        PAGE_PIXELS.as_ref(),
                        "-gray".as_ref(),
                        "-png".as_ref(),
                        "-l".as_ref(),
                        last.as_ref(),
                        pdf.as_os_str(),
                        prefix.as_os_str(),
                    ],
                    c.timeout,
                )
                .await?;
                let mut pages: Vec<PathBuf> = std::fs::read_dir(&scratch.0)
                    .map_err(|e| Unreadable(format!("OCR could not list its pages: {e}")))?
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "png"))
                    .collect();
                pages.sort();
                pages
            }
            DocumentKind::Xml | DocumentKind::Text => {
                return Err(Unreadable("text documents are not recognised".into()));
            }
        };
        let mut text = String::new();
        let (mut confidence_sum, mut read) = (0u64, 0u64);
        for image in &images {
            let tsv = run(
                &c.tesseract,
                "tesseract-ocr and tesseract-ocr-swe",
                &[
                    image.as_os_str(),
                    "stdout".as_ref(),
                    "-l".as_ref(),
                    c.languages.as_ref(),
                    "--psm".as_ref(),
                    "4".as_ref(),
                    "tsv".as_ref(),
                ],
                c.timeout,
            )
            .await?;
            let page = from_tsv(&String::from_utf8_lossy(&tsv));
            if !page.text.is_empty() {
                text.push_str(&page.text);
                text.push('\n');
                confidence_sum += u64::from(page.confidence);
                read += 1;
            }
        }
        if text.trim().is_empty() {
            return Err(Unreadable("no text was recognised in the document".into()));
        }
        Ok(RecognisedText {
            text,
            confidence: (confidence_sum / read.max(1)) as u16,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_sizes_come_from_their_headers() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x07\xd0\0\0\x0b\xb8\x08\0\0\0\0";
        assert_eq!(dimensions(DocumentKind::Png, png), Some((2000, 3000)));
        let jpeg = b"\xff\xd8\xff\xe0\0\x04ab\xff\xc0\0\x11\x08\x0b\xb8\x07\xd0\x03";
        assert_eq!(dimensions(DocumentKind::Jpeg, jpeg), Some((2000, 3000)));
        let mut tiff = b"II*\0\x08\0\0\0\x02\0".to_vec();
        tiff.extend_from_slice(b"\0\x01\x03\0\x01\0\0\0\xd0\x07\0\0");
        tiff.extend_from_slice(b"\x01\x01\x04\0\x01\0\0\0\xb8\x0b\0\0");
        assert_eq!(dimensions(DocumentKind::Tiff, &tiff), Some((2000, 3000)));
        assert_eq!(dimensions(DocumentKind::Png, b"\x89PNG\r\n\x1a\n"), None);
    }

    #[test]
    fn tesseract_tsv_becomes_lines_with_a_mean_confidence() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
            1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n\
            5\t1\t1\t1\t1\t1\t0\t0\t10\t10\t96.5\tFakturanr:\n\
            5\t1\t1\t1\t1\t2\t0\t0\t10\t10\t91.5\tF-9\n\
            5\t1\t1\t1\t2\t1\t0\t0\t10\t10\t80\tB-1\n";
        let read = from_tsv(tsv);
        assert_eq!(read.text, "Fakturanr: F-9\nB-1");
        assert_eq!(read.confidence, 893);
    }
}
