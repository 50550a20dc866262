//! `reorder_policies`: how an inventory item is reordered (MIN_MAX, S_S, EOQ, FORECAST_COVER).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reorder_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub item_id: Uuid,
    pub restaurant_id: Uuid,
    pub kind: String,
    /// MIN_MAX's min and max, S_S's s and S (thousandths of the unit).
    pub min_milli: Option<i64>,
    pub max_milli: Option<i64>,
    /// EOQ's cost per order and holding cost per unit and year (thousandths of the currency).
    pub order_cost_milli: Option<i64>,
    pub holding_cost_milli: Option<i64>,
    /// FORECAST_COVER's and EOQ's service level for safety stock, in per mille.
    pub service_level_permille: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
