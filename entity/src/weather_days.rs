//! `weather_days`: a city's weather on a day, as last forecast (thousandths of °C and mm).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "weather_days")]
pub struct Model {
    /// Lower-cased.
    #[sea_orm(primary_key, auto_increment = false)]
    pub city: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    pub temp_max_milli: i64,
    pub temp_min_milli: i64,
    pub precipitation_milli: i64,
    pub fetched_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
