//! `connector_runs`: every sync, cart prefill and invoice pull of a connection — its progress,
//! outcome and what it produced (the prefill's deep link, the documents pulled).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connector_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub connection_id: Uuid,
    pub restaurant_id: Uuid,
    pub supplier_key: String,
    /// SYNC | PREFILL | INVOICE_PULL.
    pub kind: String,
    /// RUNNING | SUCCEEDED | FAILED.
    pub status: String,
    pub order_id: Option<Uuid>,
    pub job_run_id: Option<Uuid>,
    pub items: i64,
    pub detail: Json,
    pub error: Option<String>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
