//! `outbox`: domain events awaiting dispatch, written with the change that caused them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// UUIDv7: ordered by time of writing.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// e.g. `order.placed`, `order.status_changed`, `delivery.marked`.
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: Uuid,
    pub payload: Json,
    pub occurred_at: DateTimeUtc,
    /// Not dispatched before this (retry backoff).
    pub available_at: DateTimeUtc,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub dispatched_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
