//! `supplier_metrics`: the counts supplier performance is computed from (one row per supplier).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "supplier_metrics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub supplier_id: Uuid,
    pub delivered_orders: i64,
    /// Delivered on or before the requested delivery date (UTC).
    pub on_time_orders: i64,
    /// Units of delivered and rejected orders.
    pub ordered_units: i64,
    /// Units of delivered orders.
    pub delivered_units: i64,
    pub confirmed_orders: i64,
    /// Sum over confirmed orders of the seconds from placement to confirmation.
    pub confirmation_seconds: i64,
    pub computed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
