//! `price_list_entries`: one product's price in a price list from a quantity on (a tier): a
//! fixed price in thousandths, or a discount off the list price in basis points.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_list_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub price_list_id: Uuid,
    pub product_id: Uuid,
    pub min_quantity: i64,
    pub price_milli: Option<i64>,
    pub percent_off_bp: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
