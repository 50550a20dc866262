//! Invoicing: suppliers' invoices as restaurants receive them — uploaded, read, reconciled
//! against what was ordered, approved or disputed.
//!
//! Rules:
//! - An invoice is a stored document (`platform::storage`, by SHA-256) between one supplier
//!   and one restaurant. Uploading the same bytes again for the same pair finds the first
//!   invoice. The restaurant's members upload what they received; the supplier's members upload
//!   what they sent, to a restaurant that has ordered from them.
//! - Extraction ([`extract`]) reads the lines and header fields exactly where the format says
//!   (Peppol BIS Billing 3.0 / UBL 2.1) and by header synonyms in CSV; every field carries its
//!   source and a confidence. Anything unreadable, or read with less than the confidence
//!   threshold, puts the invoice in NEEDS_REVIEW with the reason, never a guess.
//! - Reconciliation ([`reconcile`]) finds the order and compares line by line, in exact
//!   decimals, with the supplier's tolerance (±0.5 % unless it set another).
//! - UPLOADED → EXTRACTED → MATCHED | NEEDS_REVIEW → DISPUTED → APPROVED. A MATCHED invoice is
//!   approved as it is; one with differences only with an override reason
//!   (`RECONCILIATION_FAILED` otherwise).

pub mod extract;
pub mod ocr;
pub mod reconcile;
mod repository;
mod service;
pub mod templates;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

pub use service::{EXTRACTION_METRICS, ExtractionMetrics, InvoiceDeps, InvoiceService};

/// Where an invoice stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InvoiceStatus {
    /// Stored; extraction has not finished.
    Uploaded,
    /// Read; reconciliation has not finished.
    Extracted,
    /// Every line and total agrees with the order, within the tolerance.
    Matched,
    /// A person must look: unreadable, uncertain, no order found, or differences.
    NeedsReview,
    /// The restaurant asked the supplier for a credit.
    Disputed,
    /// Accepted for payment.
    Approved,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Uploaded => "UPLOADED",
            InvoiceStatus::Extracted => "EXTRACTED",
            InvoiceStatus::Matched => "MATCHED",
            InvoiceStatus::NeedsReview => "NEEDS_REVIEW",
            InvoiceStatus::Disputed => "DISPUTED",
            InvoiceStatus::Approved => "APPROVED",
        }
    }

    pub fn parse(raw: &str) -> Option<InvoiceStatus> {
        Some(match raw {
            "UPLOADED" => InvoiceStatus::Uploaded,
            "EXTRACTED" => InvoiceStatus::Extracted,
            "MATCHED" => InvoiceStatus::Matched,
            "NEEDS_REVIEW" => InvoiceStatus::NeedsReview,
            "DISPUTED" => InvoiceStatus::Disputed,
            "APPROVED" => InvoiceStatus::Approved,
            _ => return None,
        })
    }

    pub const ALL: [InvoiceStatus; 6] = [
        InvoiceStatus::Uploaded,
        InvoiceStatus::Extracted,
        InvoiceStatus::Matched,
        InvoiceStatus::NeedsReview,
        InvoiceStatus::Disputed,
        InvoiceStatus::Approved,
    ];
}

/// How an invoice's (or a line's) content was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// Peppol BIS Billing 3.0 / UBL 2.1 XML.
    Ubl,
    /// CSV with recognised headers.
    Csv,
    /// A PDF's text layer, through the supplier's template.
    Pdf,
    /// Text recognised in an image.
    Ocr,
    /// Corrected by a member.
    Manual,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Ubl => "UBL",
            Source::Csv => "CSV",
            Source::Pdf => "PDF",
            Source::Ocr => "OCR",
            Source::Manual => "MANUAL",
        }
    }

    pub fn parse(raw: &str) -> Option<Source> {
        Some(match raw {
            "UBL" => Source::Ubl,
            "CSV" => Source::Csv,
            "PDF" => Source::Pdf,
            "OCR" => Source::Ocr,
            "MANUAL" => Source::Manual,
            _ => return None,
        })
    }
}

/// An invoice as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Invoice {
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub restaurant_id: Uuid,
    pub order_id: Option<Uuid>,
    pub uploaded_by: Option<Uuid>,
    pub document: DocumentRef,
    pub status: InvoiceStatus,
    pub source: Option<Source>,
    pub review_reason: Option<String>,
    pub invoice_number: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub order_reference: Option<String>,
    pub currency: Option<String>,
    pub subtotal: Option<Decimal>,
    pub tax: Option<Decimal>,
    pub total: Option<Decimal>,
    /// The lowest confidence of what was read, 0–1.
    pub confidence: Option<Decimal>,
    /// Progress and each header field's source and confidence.
    pub extraction: serde_json::Value,
    /// How it compared with the order (tolerance, totals, lines missing from the invoice).
    pub reconciliation: Option<serde_json::Value>,
    /// Whether it matched its order the first time it was reconciled (`None` until then).
    pub matched_first_time: Option<bool>,
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<DateTime<Utc>>,
    pub override_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The stored document an invoice was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentRef {
    pub key: String,
    pub sha256: String,
    /// PDF, PNG, JPEG, TIFF, XML or TEXT.
    pub kind: String,
    pub size: i64,
    pub file_name: Option<String>,
}

/// One line an invoice charges, and how it matched the order.
#[derive(Clone, Debug, PartialEq)]
pub struct InvoiceLine {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub line_number: i32,
    pub sku: Option<String>,
    pub gtin: Option<String>,
    pub description: String,
    pub unit: Option<String>,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub line_total: Decimal,
    /// Percent.
    pub tax_rate: Option<Decimal>,
    pub source: Source,
    /// 0–1.
    pub confidence: Decimal,
    pub order_line_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub matched_by: Option<reconcile::MatchedBy>,
    pub outcome: Option<reconcile::LineOutcome>,
    pub expected_quantity: Option<Decimal>,
    pub expected_unit_price: Option<Decimal>,
    pub corrected_by: Option<Uuid>,
    pub corrected_at: Option<DateTime<Utc>>,
}

/// Where a dispute stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisputeStatus {
    Open,
    /// The supplier accepts: a credit note is expected.
    Accepted,
    Rejected,
}

impl DisputeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DisputeStatus::Open => "OPEN",
            DisputeStatus::Accepted => "ACCEPTED",
            DisputeStatus::Rejected => "REJECTED",
        }
    }

    pub fn parse(raw: &str) -> Option<DisputeStatus> {
        Some(match raw {
            "OPEN" => DisputeStatus::Open,
            "ACCEPTED" => DisputeStatus::Accepted,
            "REJECTED" => DisputeStatus::Rejected,
            _ => return None,
        })
    }
}

/// A restaurant's credit request against an invoice.
#[derive(Clone, Debug, PartialEq)]
pub struct Dispute {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub opened_by: Option<Uuid>,
    pub message: String,
    /// Each difference: line, what was invoiced, what was expected, the amount asked back.
    pub items: Vec<DisputeItem>,
    pub currency: String,
    pub credit_requested: Decimal,
    pub status: DisputeStatus,
    pub answer: Option<String>,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One difference a dispute asks a credit for.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisputeItem {
    /// The invoice line (absent for a line missing from the invoice).
    pub line_number: Option<i32>,
    pub description: String,
    /// PRICE_MISMATCH, QUANTITY_MISMATCH, NOT_ORDERED, MISSING_FROM_INVOICE.
    pub outcome: String,
    pub invoiced_quantity: Option<Decimal>,
    pub invoiced_unit_price: Option<Decimal>,
    pub expected_quantity: Option<Decimal>,
    pub expected_unit_price: Option<Decimal>,
    /// What the restaurant asks back for this line, before VAT.
    pub amount: Decimal,
}

/// The fields of an uploaded invoice (the file comes separately).
#[derive(Clone, Debug)]
pub struct NewInvoice {
    pub supplier_id: Uuid,
    pub restaurant_id: Uuid,
    /// The file name the client gave (shown, never trusted for the kind).
    pub file_name: Option<String>,
}

/// What an upload did.
#[derive(Clone, Debug)]
pub struct Uploaded {
    pub invoice: Invoice,
    /// False when the same document was uploaded for the same parties before.
    pub created: bool,
}

/// A member's correction of one line.
#[derive(Clone, Debug, Default)]
pub struct LineCorrection {
    pub sku: Option<String>,
    pub description: Option<String>,
    pub quantity: Option<Decimal>,
    pub unit_price: Option<Decimal>,
    pub tax_rate: Option<Decimal>,
}

/// Which invoices a list shows.
#[derive(Clone, Debug, Default)]
pub struct InvoiceFilter {
    pub statuses: Vec<InvoiceStatus>,
    pub supplier_id: Option<Uuid>,
    pub restaurant_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
}

/// How invoices are read (`INVOICE_EXTRACTIONS`, and OCR's settings).
#[derive(Clone, Debug)]
pub struct ExtractionConfig {
    /// Invoices read at once per process (the rest wait their turn).
    pub concurrency: usize,
    pub ocr: ocr::OcrConfig,
}

impl Default for ExtractionConfig {
    fn default() -> Self {
        ExtractionConfig {
            concurrency: 4,
            ocr: ocr::OcrConfig::default(),
        }
    }
}

/// Progress of one invoice's extraction, as members see it while they wait.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractionProgress {
    /// READING, EXTRACTING, RECONCILING, DONE, FAILED.
    pub stage: &'static str,
    pub step: u32,
    pub of: u32,
}
