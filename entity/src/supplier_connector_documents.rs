//! `supplier_connector_documents`: invoices pulled from a wholesaler's portal — the stored file
//! (storage port) and, where the wholesaler is an Iris supplier, the invoice it became.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "supplier_connector_documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub connection_id: Uuid,
    pub external_id: String,
    pub document_key: String,
    pub sha256: String,
    pub kind: String,
    pub size: i64,
    pub invoice_id: Option<Uuid>,
    pub pulled_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
