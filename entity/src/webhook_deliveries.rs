//! `webhook_deliveries`: one event for one endpoint; its id is the `webhook-id` header.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The outbox event.
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: Json,
    /// PENDING, SUCCEEDED or DEAD.
    pub status: String,
    pub attempts: i32,
    /// When the next attempt is due (or the lease of one in flight ends).
    pub next_attempt_at: Option<DateTimeUtc>,
    /// The lease of the attempt in flight: only its holder may record the outcome.
    pub claim_id: Option<Uuid>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
