//! `inventory_items`: what a restaurant keeps in stock — a product it buys, or a free-text item.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inventory_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    /// The marketplace product, if the item is one.
    pub product_id: Option<Uuid>,
    pub name: String,
    /// KG, G, L, CL, PIECE, PACK, BOX or CASE.
    pub unit: String,
    /// Units in one pack, in thousandths.
    pub pack_size_milli: i64,
    pub location: Option<String>,
    /// Reorder point and level to refill to, in thousandths of the unit.
    pub par_level_milli: Option<i64>,
    pub target_level_milli: Option<i64>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
