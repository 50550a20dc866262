//! `invoice_templates`: how one supplier's PDF and scanned invoices are read — keywords that
//! identify its documents, a regular expression per header field, and one for line rows.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_templates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub name: String,
    /// Strings all of which a document's text contains (JSON array).
    pub keywords: Json,
    /// Header field → regular expression (JSON object).
    pub fields: Json,
    /// A line row, with named groups (`sku`, `description`, `quantity`, `unit_price`, …).
    pub line_pattern: String,
    pub lines_start: Option<String>,
    pub lines_end: Option<String>,
    pub updated_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
