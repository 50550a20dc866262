//! `products`: what suppliers sell. Price in thousandths of `currency`; allergens and dietary
//! tags as bitmasks (see `iris::domain::products`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub sku: String,
    pub sku_folded: String,
    pub name: String,
    pub name_folded: String,
    pub description: Option<String>,
    pub category: String,
    pub category_folded: String,
    pub unit: String,
    pub unit_price_milli: i64,
    /// The price the supplier set (a dynamic rule moves `unit_price_milli` within bounds of it);
    /// null for rows written before pricing existed (then `unit_price_milli` is the base).
    pub base_price_milli: Option<i64>,
    pub currency: String,
    pub stock_on_hand: i64,
    pub allergens: i32,
    pub dietary_tags: i32,
    /// VAT rate in basis points (1200 = 12 %).
    pub tax_rate_bp: i32,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
