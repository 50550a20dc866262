//! Reading an invoice's content from its document. Pure: bytes in, fields and lines out.
//!
//! - [`ubl`]: Peppol BIS Billing 3.0 / UBL 2.1 XML — exact, every field where the standard
//!   puts it (confidence 1).
//! - [`csv`]: CSV with Swedish or English headers, recognised by synonyms (confidence per
//!   column: 1 for a known header, less for a partial one).
//! - [`pdf`]: a PDF's text layer, which the supplier's template then reads
//!   (`invoicing::templates`); scans go through OCR (`invoicing::ocr`) first.
//!
//! Every field says where it came from (`source`: an XML path or a CSV column) and how sure
//! the reading is. Nothing is guessed: a field that is not there stays empty, a value that does
//! not parse is an [`Unreadable`] naming where it was.

pub mod csv;
pub mod pdf;
pub mod ubl;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::Source;
use crate::domain::platform::storage::DocumentKind;

/// Below this confidence (per mille) a reading needs a person's review.
pub const CONFIDENCE_THRESHOLD: u16 = 800;

/// Where a field was read and how sure the reading is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldSource {
    /// An XML path (`cac:LegalMonetaryTotal/cbc:PayableAmount`) or a CSV column (`Fakturanr`).
    pub from: String,
    /// Per mille.
    pub confidence: u16,
}

/// One line as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtractedLine {
    pub sku: Option<String>,
    pub gtin: Option<String>,
    pub description: String,
    pub unit: Option<String>,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    /// As the document states it, or quantity × price when it states none.
    pub line_total: Decimal,
    /// VAT percent.
    pub tax_rate: Option<Decimal>,
    /// Per mille: the lowest of the line's columns.
    pub confidence: u16,
}

/// The totals a document states (each may be absent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatedTotals {
    /// Sum of lines, before VAT.
    pub subtotal: Option<Decimal>,
    pub tax: Option<Decimal>,
    /// To pay, VAT included.
    pub total: Option<Decimal>,
    /// VAT per rate: (percent, taxable amount, VAT).
    pub taxes: Vec<(Decimal, Decimal, Decimal)>,
}

/// Everything read from one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    pub source: Source,
    pub invoice_number: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub order_reference: Option<String>,
    pub currency: Option<String>,
    pub seller: Option<String>,
    pub buyer: Option<String>,
    pub lines: Vec<ExtractedLine>,
    pub stated: StatedTotals,
    /// Header fields by name (`invoiceNumber`, `issueDate`, …).
    pub fields: BTreeMap<&'static str, FieldSource>,
}

impl Extracted {
    /// The lowest confidence of anything read (per mille).
    pub fn confidence(&self) -> u16 {
        self.fields
            .values()
            .map(|f| f.confidence)
            .chain(self.lines.iter().map(|l| l.confidence))
            .min()
            .unwrap_or(0)
    }
}

/// Why a document could not be read; the message says where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads a structured document (UBL XML or CSV); PDFs and images are read through their
/// supplier's templates (`super::templates`), scans after OCR.
pub fn structured(kind: DocumentKind, bytes: &[u8]) -> Result<Extracted, Unreadable> {
    match kind {
        DocumentKind::Xml => ubl::read(bytes),
        DocumentKind::Text => csv::read(bytes),
        DocumentKind::Pdf | DocumentKind::Png | DocumentKind::Jpeg | DocumentKind::Tiff => {
            Err(Unreadable(format!(
                "{} documents are read through templates",
                kind.as_str()
            )))
        }
    }
}

/// Text as UTF-8, else as Windows-1252 (what Swedish spreadsheets export).
pub fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// An amount or quantity as people write it: `1 234,50`, `1234.50`, `1.234,50`, `-12`,
/// `12,5 kr`, `25 %`. Exact; the separator written last before 1–3 final digits is the
/// decimal one when both appear, a lone comma is a decimal comma (Swedish), a lone point a
/// decimal point.
pub fn parse_number(raw: &str) -> Result<Decimal, String> {
    let mut text: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\''))
        .collect();
    for suffix in ["SEK", "sek", "kr", "KR", "Kr", ":-", "%"] {
        if let Some(rest) = text.strip_suffix(suffix) {
            text = rest.to_owned();
            break;
        }
    }
    // Accounting minus at the end (`12,50-`).
    if let Some(rest) = text.strip_suffix('-')
        && !rest.starts_with('-')
    {
        text = format!("-{rest}");
    }
    let plain = match (text.rfind(','), text.rfind('.')) {
        (Some(comma), Some(point)) if comma > point => text.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => text.replace(',', ""),
        (Some(_), None) if text.matches(',').count() == 1 => text.replace(',', "."),
        (Some(_), None) => return Err(format!("`{raw}` is not a number")),
        (None, _) => text,
    };
    crate::domain::kernel::money::parse_decimal(&plain)
        .map_err(|_| format!("`{raw}` is not a number"))
}

/// A date as invoices write it: `2026-12-07`, `20261207`, `07.12.2026`, `07/12/2026`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    let text = raw.trim();
    for format in ["%Y-%m-%d", "%Y%m%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d"] {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return Ok(date);
        }
    }
    Err(format!("`{raw}` is not a date (YYYY-MM-DD)"))
}

/// `quantity × unit price`, rounded half-up to cents (`Decimal::MAX` past what a decimal holds:
/// refused later as out of range, never a panic).
pub fn line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal {
    let Some(amount) = quantity.checked_mul(unit_price) else {
        return Decimal::MAX;
    };
    amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_are_read_as_written_and_exactly() {
        assert_eq!(parse_number("1 234,50"), Ok(d("1234.50")));
        assert_eq!(parse_number("1.234,50"), Ok(d("1234.50")));
        assert_eq!(parse_number("1,234.50"), Ok(d("1234.50")));
        assert_eq!(parse_number("10,125"), Ok(d("10.125")));
        assert_eq!(parse_number("10.125"), Ok(d("10.125")));
        assert_eq!(parse_number("12,50 kr"), Ok(d("12.50")));
        assert_eq!(parse_number("25 %"), Ok(d("25")));
        assert_eq!(parse_number("12,50-"), Ok(d("-12.50")));
        assert_eq!(parse_number("0,1234567"), Ok(d("0.1234567")));
        assert!(parse_number("1,234,567").is_err());
        assert!(parse_number("abc").is_err());
        assert!(parse_number("").is_err());
        assert!(parse_number("1e5").is_err());
    }

    #[test]
    fn dates_in_the_usual_spellings() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        for raw in ["2026-12-07", "20261207", "07.12.2026", "07/12/2026"] {
            assert_eq!(parse_date(raw), Ok(day), "{raw}");
        }
        assert!(parse_date("7 dec").is_err());
    }

    #[test]
    fn windows_1252_text_is_decoded() {
        assert_eq!(decode_text(b"\xE0-pris"), "à-pris");
        assert_eq!(decode_text("à-pris".as_bytes()), "à-pris");
    }
}
