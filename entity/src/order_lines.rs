//! `order_lines`: what an order holds, as it was when placed (SKU, name, unit, price, VAT rate).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub line_number: i32,
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit: String,
    pub unit_price_milli: i64,
    pub quantity: i64,
    pub line_total_milli: i64,
    pub tax_rate_bp: i32,
    /// The product's list price when ordered (null before pricing existed).
    pub list_unit_price_milli: Option<i64>,
    /// The price list that priced the line, if any, and its name and tier then.
    pub price_list_id: Option<Uuid>,
    pub price_list_name: Option<String>,
    pub price_tier_min_quantity: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
