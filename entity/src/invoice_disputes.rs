//! `invoice_disputes`: a restaurant's credit request against an invoice (each difference with
//! its amount in `items`), and the supplier's answer.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_disputes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub opened_by: Option<Uuid>,
    pub message: String,
    pub items: Json,
    pub currency: String,
    pub credit_requested_milli: i64,
    /// OPEN, ACCEPTED, REJECTED.
    pub status: String,
    pub answer: Option<String>,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
