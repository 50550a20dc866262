//! `inventory_movements`: the ledger of an item's stock, never edited in place.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inventory_movements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub item_id: Uuid,
    pub restaurant_id: Uuid,
    /// RECEIPT, USAGE, WASTE, TRANSFER_IN, TRANSFER_OUT or ADJUSTMENT.
    pub kind: String,
    /// Signed, in thousandths of the item's unit: in > 0, out < 0.
    pub quantity_milli: i64,
    /// A stocktake's counted quantity (on ADJUSTMENT).
    pub counted_milli: Option<i64>,
    pub reason: Option<String>,
    /// The delivered order and line a RECEIPT came from.
    pub order_id: Option<Uuid>,
    pub order_line_number: Option<i32>,
    /// Pairs the two halves of a transfer.
    pub transfer_id: Option<Uuid>,
    pub occurred_at: DateTimeUtc,
    pub recorded_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
