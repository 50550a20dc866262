//! `price_lists`: a supplier's price lists — negotiated prices, campaigns — valid in a window,
//! ranked by priority, assigned to restaurants (`price_list_assignments`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_lists")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub name: String,
    pub currency: String,
    /// Inclusive; open when null.
    pub valid_from: Option<DateTimeUtc>,
    /// Exclusive; open when null.
    pub valid_to: Option<DateTimeUtc>,
    pub priority: i32,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
