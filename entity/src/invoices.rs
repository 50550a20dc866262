//! `invoices`: a supplier's invoice to a restaurant as received — the stored document (by its
//! SHA-256), what was extracted from it (amounts in thousandths of `currency`), and how it
//! reconciled against the order (`reconciliation` JSON).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub restaurant_id: Uuid,
    pub order_id: Option<Uuid>,
    pub uploaded_by: Option<Uuid>,
    pub document_key: String,
    pub document_sha256: String,
    pub document_kind: String,
    pub document_size: i64,
    pub file_name: Option<String>,
    /// UPLOADED, EXTRACTED, MATCHED, NEEDS_REVIEW, DISPUTED, APPROVED.
    pub status: String,
    /// UBL, CSV, PDF, OCR: how the lines were read.
    pub source: Option<String>,
    pub review_reason: Option<String>,
    pub invoice_number: Option<String>,
    pub issue_date: Option<Date>,
    pub due_date: Option<Date>,
    pub order_reference: Option<String>,
    pub currency: Option<String>,
    pub subtotal_milli: Option<i64>,
    pub tax_milli: Option<i64>,
    pub total_milli: Option<i64>,
    pub confidence_permille: Option<i32>,
    /// Progress and each header field's source and confidence.
    pub extraction: Json,
    pub reconciliation: Option<Json>,
    pub matched_first_time: Option<bool>,
    /// When an extraction took the invoice (a stale claim is taken again).
    pub claimed_at: Option<DateTimeUtc>,
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<DateTimeUtc>,
    pub override_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
