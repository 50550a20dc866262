//! `price_list_assignments`: who a price list applies to — one restaurant, a customer group of
//! the supplier, or every customer (both null); `target` keys the row uniquely.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_list_assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub price_list_id: Uuid,
    /// `restaurant:<id>`, `group:<name>` or `all`.
    pub target: String,
    pub restaurant_id: Option<Uuid>,
    pub customer_group: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
