//! CSV invoices, as suppliers' systems and spreadsheets export them: any of `;`, `,`, tab or
//! `|` between fields, UTF-8 or Windows-1252, Swedish or English headers, decimal commas.
//!
//! The header row is the first row whose cells name at least a quantity, a unit price and a
//! SKU or description, by synonyms ([`COLUMNS`]). Rows above it may carry the invoice's fields
//! as `key;value` (`Fakturanummer;F-1`), and so may columns repeated on every line. Rows below
//! it whose quantity is empty may state totals (`Att betala;1 234,50`). A header recognised
//! exactly reads with confidence 1; one that only contains a known word reads with less, and
//! a short or ambiguous one below the review threshold.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{
    Extracted, ExtractedLine, FieldSource, StatedTotals, Unreadable, decode_text, line_amount,
    parse_date, parse_number,
};
use crate::domain::invoicing::Source;

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Column {
    Sku,
    Gtin,
    Description,
    Quantity,
    Unit,
    UnitPrice,
    LineTotal,
    TaxRate,
    InvoiceNumber,
    IssueDate,
    DueDate,
    OrderReference,
    Currency,
}

/// Header synonyms per column, normalised (lower case, no accents, letters and digits only).
const COLUMNS: &[(Column, &[&str])] = &[
    (
        Column::Sku,
        &[
            "artikelnummer",
            "artikelnr",
            "artnr",
            "sku",
            "itemnumber",
            "itemno",
            "productcode",
            "produktkod",
            "varunummer",
            "varunr",
            "artikelid",
            "levartnr",
            "productid",
        ],
    ),
    (
        Column::Gtin,
        &["gtin", "ean", "eankod", "streckkod", "barcode"],
    ),
    (
        Column::Description,
        &[
            "benamning",
            "beskrivning",
            "artikelnamn",
            "produktnamn",
            "produkt",
            "namn",
            "artikel",
            "description",
            "name",
            "product",
            "itemname",
            "item",
            "text",
        ],
    ),
    (
        Column::Quantity,
        &[
            "antal",
            "kvantitet",
            "mangd",
            "levererat",
            "quantity",
            "qty",
        ],
    ),
    (Column::Unit, &["enhet", "unit", "uom"]),
    (
        Column::UnitPrice,
        &[
            "apris",
            "styckpris",
            "enhetspris",
            "prisperenhet",
            "pris",
            "unitprice",
            "priceperunit",
            "price",
        ],
    ),
    (
        Column::LineTotal,
        &[
            "radbelopp",
            "radsumma",
            "nettobelopp",
            "belopp",
            "summa",
            "linetotal",
            "lineamount",
            "netamount",
            "amount",
            "total",
        ],
    ),
    (
        Column::TaxRate,
        &[
            "momssats",
            "momsprocent",
            "moms",
            "vatrate",
            "vatpercent",
            "vat",
            "taxrate",
            "tax",
        ],
    ),
    (
        Column::InvoiceNumber,
        &["fakturanummer", "fakturanr", "invoicenumber", "invoiceno"],
    ),
    (
        Column::IssueDate,
        &["fakturadatum", "invoicedate", "issuedate"],
    ),
    (
        Column::DueDate,
        &["forfallodatum", "forfallodag", "betalasenast", "duedate"],
    ),
    (
        Column::OrderReference,
        &[
            "ordernummer",
            "ordernr",
            "erreferens",
            "orderreference",
            "ordernumber",
            "purchaseorder",
            "ordreference",
        ],
    ),
    (Column::Currency, &["valuta", "currency"]),
];

/// Keys of `key;value` rows above the header.
const HEADER_KEYS: &[(&str, &[&str])] = &[
    (
        "invoiceNumber",
        &[
            "fakturanummer",
            "fakturanr",
            "faktura",
            "invoicenumber",
            "invoiceno",
            "invoice",
        ],
    ),
    (
        "issueDate",
        &["fakturadatum", "datum", "invoicedate", "issuedate", "date"],
    ),
    (
        "dueDate",
        &["forfallodatum", "forfallodag", "betalasenast", "duedate"],
    ),
    (
        "orderReference",
        &[
            "ordernummer",
            "ordernr",
            "erreferens",
            "referens",
            "orderreference",
            "ordernumber",
            "purchaseorder",
            "order",
        ],
    ),
    ("currency", &["valuta", "currency"]),
];

/// Keys of totals rows below the lines.
const TOTAL_KEYS: &[(&str, &[&str])] = &[
    (
        "subtotal",
        &[
            "summaexklmoms",
            "nettosumma",
            "subtotal",
            "totalexclvat",
            "netto",
            "exklmoms",
        ],
    ),
    (
        "tax",
        &[
            "moms",
            "momsbelopp",
            "summamoms",
            "vat",
            "vatamount",
            "tax",
            "totalvat",
        ],
    ),
    (
        "total",
        &[
            "attbetala",
            "totalt",
            "summainklmoms",
            "total",
            "totalamount",
            "amountdue",
            "summa",
        ],
    ),
];

/// A header as compared: lower case, accents dropped, letters and digits only.
fn normalise(raw: &str) -> String {
    raw.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'å' => 'a',
            'é' | 'è' | 'ê' => 'e',
            'ö' | 'ø' | 'ó' => 'o',
            'ü' | 'ú' => 'u',
            other => other,
        })
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The column a header names and how sure that is (per mille).
fn recognise(header: &str) -> Option<(Column, u16)> {
    let name = normalise(header);
    if name.is_empty() {
        return None;
    }
    if let Some((column, _)) = COLUMNS
        .iter()
        .find(|(_, words)| words.contains(&name.as_str()))
    {
        return Some((*column, 1000));
    }
    // A header containing a known word (`Pris exkl. moms` → unit price): the word found
    // first decides (the longest where two start together); short words are weak evidence.
    COLUMNS
        .iter()
        .flat_map(|(column, words)| words.iter().map(move |w| (*column, *w)))
        .filter_map(|(column, word)| name.find(word).map(|at| (at, column, word)))
        .min_by_key(|(at, _, word)| (*at, std::cmp::Reverse(word.len())))
        .map(|(_, column, word)| (column, if word.len() >= 5 { 850 } else { 600 }))
}

fn key_of(cell: &str, keys: &[(&'static str, &[&str])]) -> Option<&'static str> {
    let name = normalise(cell);
    keys.iter()
        .find(|(_, words)| words.contains(&name.as_str()))
        .map(|(key, _)| *key)
}

/// The header row's columns: index → (column, confidence, the header as written).
type Mapping = BTreeMap<usize, (Column, u16, String)>;

fn mapping_of(row: &[String]) -> Option<Mapping> {
    let mut mapping = Mapping::new();
    let mut taken = Vec::new();
    for (index, cell) in row.iter().enumerate() {
        if let Some((column, confidence)) = recognise(cell)
            && !taken.contains(&column)
        {
            taken.push(column);
            mapping.insert(index, (column, confidence, cell.trim().to_owned()));
        }
    }
    let has = |c: Column| taken.contains(&c);
    (has(Column::Quantity)
        && has(Column::UnitPrice)
        && (has(Column::Sku) || has(Column::Description)))
    .then_some(mapping)
}

/// The rows of `text` split at `delimiter` (quotes as RFC 4180).
fn rows(text: &str, delimiter: u8) -> Result<Vec<Vec<String>>, Unreadable> {
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Unreadable(format!("row {}: {e}", index + 1)))?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok(rows)
}

/// The delimiter, the rows, the header's index and its mapping: the first delimiter under
/// which one of the first 30 rows is a header.
fn table(text: &str) -> Result<(Vec<Vec<String>>, usize, Mapping), Unreadable> {
    for delimiter in [b';', b'\t', b',', b'|'] {
        let Ok(rows) = rows(text, delimiter) else {
            continue;
        };
        if let Some((index, mapping)) = rows
            .iter()
            .take(30)
            .enumerate()
            .find_map(|(i, row)| mapping_of(row).map(|m| (i, m)))
        {
            return Ok((rows, index, mapping));
        }
    }
    Err(Unreadable(
        "no header row names a quantity, a unit price and an article number or description \
         (for example `Artikelnummer;Benämning;Antal;À-pris`)"
            .into(),
    ))
}

fn number(raw: &str, row: usize, header: &str) -> Result<Decimal, Unreadable> {
    parse_number(raw).map_err(|e| Unreadable(format!("row {row}, column `{header}`: {e}")))
}

/// Reads a CSV invoice.
pub fn read(bytes: &[u8]) -> Result<Extracted, Unreadable> {
    let text = decode_text(bytes);
    let (rows, header_index, mapping) = table(&text)?;
    let mut fields: BTreeMap<&'static str, FieldSource> = BTreeMap::new();
    let mut header_values: BTreeMap<&'static str, String> = BTreeMap::new();
    // `key;value` rows above the header.
    for row in &rows[..header_index] {
        let mut cells = row.iter().map(|c| c.trim()).filter(|c| !c.is_empty());
        if let (Some(key), Some(value)) = (cells.next(), cells.next())
            && let Some(field) = key_of(key, HEADER_KEYS)
        {
            header_values.insert(field, value.to_owned());
            fields.insert(
                field,
                FieldSource {
                    from: format!("row `{key}`"),
                    confidence: 1000,
                },
            );
        }
    }
    let column = |wanted: Column| {
        mapping
            .iter()
            .find(|(_, (c, _, _))| *c == wanted)
            .map(|(i, (_, confidence, header))| (*i, *confidence, header.clone()))
    };
    let cell = |row: &[String], wanted: Column| {
        column(wanted).and_then(|(i, _, _)| {
            row.get(i)
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
        })
    };
    let line_confidence = mapping
        .values()
        .filter(|(c, _, _)| {
            matches!(
                c,
                Column::Sku | Column::Description | Column::Quantity | Column::UnitPrice
            )
        })
        .map(|(_, confidence, _)| *confidence)
        .min()
        .unwrap_or(0);
    let mut lines = Vec::new();
    let mut stated = StatedTotals::default();
    for (offset, row) in rows[header_index + 1..].iter().enumerate() {
        let row_number = header_index + offset + 2;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let Some(quantity_raw) = cell(row, Column::Quantity) else {
            // A totals row (`;;Att betala;1 234,50`), or nothing Iris knows.
            let cells: Vec<&str> = row
                .iter()
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .collect();
            for pair in cells.windows(2) {
                if let Some(key) = key_of(pair[0], TOTAL_KEYS) {
                    let amount = number(pair[1], row_number, pair[0])?;
                    match key {
                        "subtotal" => stated.subtotal = Some(amount),
                        "tax" => stated.tax = Some(amount),
                        _ => stated.total = Some(amount),
                    }
                    fields.insert(
                        key,
                        FieldSource {
                            from: format!("row {row_number} `{}`", pair[0]),
                            confidence: 1000,
                        },
                    );
                }
            }
            continue;
        };
        let (_, _, quantity_header) = column(Column::Quantity).unwrap_or_default();
        let quantity = number(&quantity_raw, row_number, &quantity_header)?;
        let (_, _, price_header) = column(Column::UnitPrice).unwrap_or_default();
        let unit_price = match cell(row, Column::UnitPrice) {
            Some(raw) => number(&raw, row_number, &price_header)?,
            None => {
                return Err(Unreadable(format!(
                    "row {row_number}, column `{price_header}`: the unit price is empty"
                )));
            }
        };
        let line_total = match (cell(row, Column::LineTotal), column(Column::LineTotal)) {
            (Some(raw), Some((_, _, header))) => number(&raw, row_number, &header)?,
            _ => line_amount(quantity, unit_price),
        };
        let tax_rate = match (cell(row, Column::TaxRate), column(Column::TaxRate)) {
            (Some(raw), Some((_, _, header))) => Some(number(&raw, row_number, &header)?),
            _ => None,
        };
        let sku = cell(row, Column::Sku);
        let description = cell(row, Column::Description)
            .or_else(|| sku.clone())
            .unwrap_or_default();
        if description.is_empty() {
            return Err(Unreadable(format!(
                "row {row_number}: neither an article number nor a description"
            )));
        }
        // Invoice fields repeated on every line: the first line's.
        for (wanted, field) in [
            (Column::InvoiceNumber, "invoiceNumber"),
            (Column::IssueDate, "issueDate"),
            (Column::DueDate, "dueDate"),
            (Column::OrderReference, "orderReference"),
            (Column::Currency, "currency"),
        ] {
            if !header_values.contains_key(field)
                && let (Some(value), Some((_, confidence, header))) =
                    (cell(row, wanted), column(wanted))
            {
                header_values.insert(field, value);
                fields.insert(
                    field,
                    FieldSource {
                        from: format!("column `{header}`"),
                        confidence,
                    },
                );
            }
        }
        lines.push(ExtractedLine {
            sku,
            gtin: cell(row, Column::Gtin),
            description,
            unit: cell(row, Column::Unit),
            quantity,
            unit_price,
            line_total,
            tax_rate,
            confidence: line_confidence,
        });
    }
    if lines.is_empty() {
        return Err(Unreadable("the CSV has a header but no lines".into()));
    }
    let date = |field: &str| {
        header_values
            .get(field)
            .map(|raw| parse_date(raw).map_err(|e| Unreadable(format!("{field}: {e}"))))
            .transpose()
    };
    Ok(Extracted {
        source: Source::Csv,
        invoice_number: header_values.get("invoiceNumber").cloned(),
        issue_date: date("issueDate")?,
        due_date: date("dueDate")?,
        order_reference: header_values.get("orderReference").cloned(),
        currency: header_values
            .get("currency")
            .map(|c| c.to_ascii_uppercase()),
        seller: None,
        buyer: None,
        lines,
        stated,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_swedish_export_with_a_preamble_and_totals() {
        let csv = "Fakturanummer;F-77\nFakturadatum;2026-12-07\nErt ordernummer;ORD-9\n\n\
                   Artikelnummer;Benämning;Antal;Enhet;À-pris;Belopp;Moms %\n\
                   A-1;Potatis;12;kg;10,125;121,50;12\n\
                   A-2;\"Grädde; 36 %\";3;l;4,002;12,01;25\n\
                   ;;;;Att betala;151,09\n";
        let read = read(csv.as_bytes()).unwrap();
        assert_eq!(read.invoice_number.as_deref(), Some("F-77"));
        assert_eq!(read.issue_date.unwrap().to_string(), "2026-12-07");
        assert_eq!(read.lines.len(), 2);
        assert_eq!(read.lines[0].unit_price, d("10.125"));
        assert_eq!(read.lines[1].description, "Grädde; 36 %");
        assert_eq!(read.lines[1].tax_rate, Some(d("25")));
        assert_eq!(read.stated.total, Some(d("151.09")));
        assert_eq!(read.confidence(), 1000);
        // "Ert ordernummer" is not an exact key: the reference stays unread, not guessed.
        assert_eq!(read.order_reference, None);
    }

    #[test]
    fn english_headers_commas_and_windows_1252() {
        let csv =
            b"Invoice number,SKU,Description,Qty,Unit price\nINV-1,B-1,Caf\xE9 beans,2,99.50\n";
        let read = read(csv).unwrap();
        assert_eq!(read.invoice_number.as_deref(), Some("INV-1"));
        assert_eq!(read.lines[0].description, "Café beans");
        assert_eq!(read.lines[0].line_total, d("199.00"));
    }

    #[test]
    fn partial_headers_lower_the_confidence() {
        let csv = "Art;Benämning;Antal;Pris exkl moms\nA-1;Potatis;1;10\n";
        let read = read(csv.as_bytes()).unwrap();
        // `Art` is no SKU synonym; `Pris exkl moms` contains `pris` (short: weak).
        assert!(read.confidence() < super::super::CONFIDENCE_THRESHOLD);
    }

    #[test]
    fn bad_cells_are_named() {
        let csv = "sku;antal;à-pris\nA-1;två;10\n";
        assert_eq!(
            read(csv.as_bytes()).unwrap_err().0,
            "row 2, column `antal`: `två` is not a number"
        );
        assert!(
            read(b"just some text\nwithout columns\n")
                .unwrap_err()
                .0
                .contains("no header row")
        );
    }
}
