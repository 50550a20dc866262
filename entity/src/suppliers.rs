//! `suppliers`: wholesale suppliers selling on the marketplace (an organisation).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "suppliers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// `name` case-folded in Rust, so filtering and sorting behave alike on SQLite and Postgres.
    pub name_folded: String,
    /// Swedish organisation number, normalised to `NNNNNN-NNNN`; unique among live rows.
    pub organisation_number: String,
    pub contact_email: String,
    pub city: String,
    /// `city` case-folded, for the same reason as `name_folded`.
    pub city_folded: String,
    /// ISO 4217 code of every amount this supplier quotes.
    pub currency: String,
    /// Minimum order value in thousandths of `currency` (exact on every backend).
    pub minimum_order_value_milli: i64,
    /// Delivery weekdays as a bitmask: bit 0 = Monday … bit 6 = Sunday.
    pub delivery_days: i16,
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
