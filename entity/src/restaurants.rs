//! `restaurants`: restaurants buying on the marketplace (an organisation).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "restaurants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub name_folded: String,
    pub contact_email: String,
    pub city: String,
    pub city_folded: String,
    /// Delivery preferences as JSON (`{"days": [...], "window": ..., "notes": ...}`).
    pub delivery_prefs: Json,
    pub active: bool,
    /// Latitude and longitude in millionths of a degree (null until given).
    pub latitude_e6: Option<i64>,
    pub longitude_e6: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
