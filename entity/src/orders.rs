//! `orders`: one restaurant's order with one supplier. Amounts in thousandths of `currency`
//! (rounded to cents); `taxes` is the VAT breakdown by rate as JSON.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub supplier_id: Uuid,
    pub status: String,
    pub currency: String,
    pub subtotal_milli: i64,
    pub tax_milli: i64,
    pub total_milli: i64,
    pub taxes: Json,
    pub requested_delivery_date: Date,
    pub note: Option<String>,
    pub placed_by: Option<Uuid>,
    pub checkout_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
