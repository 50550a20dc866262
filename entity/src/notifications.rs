//! `notifications`: news for one account, read or not.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    /// e.g. `order.placed`, `order.confirmed`, `webhook.disabled`.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// Ids the front end links to, e.g. `{"orderId": …}`.
    pub data: Json,
    /// The outbox event that caused it, if any.
    pub source_event_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
