//! `invoice_lines`: what an invoice charges, line by line, as extracted (quantities and prices
//! in thousandths), and the order line each matched.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub line_number: i32,
    pub sku: Option<String>,
    pub gtin: Option<String>,
    pub description: String,
    pub unit: Option<String>,
    pub quantity_milli: i64,
    pub unit_price_milli: i64,
    pub line_total_milli: i64,
    pub tax_rate_bp: Option<i32>,
    /// UBL, CSV, PDF, OCR or MANUAL (corrected by a member).
    pub source: String,
    pub confidence_permille: i32,
    pub order_line_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    /// SKU, GTIN or NAME.
    pub matched_by: Option<String>,
    /// MATCHED, PRICE_MISMATCH, QUANTITY_MISMATCH, NOT_ORDERED.
    pub outcome: Option<String>,
    pub expected_quantity_milli: Option<i64>,
    pub expected_unit_price_milli: Option<i64>,
    pub corrected_by: Option<Uuid>,
    pub corrected_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
