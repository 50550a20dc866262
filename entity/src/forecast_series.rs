//! `forecast_series`: one demand series (a restaurant's or a supplier's product) and how its
//! latest forecast was made.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "forecast_series")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// RESTAURANT or SUPPLIER.
    pub scope: String,
    /// The restaurant or supplier.
    pub owner_id: Uuid,
    pub product_id: Uuid,
    /// USAGE (recorded usage) or ORDERS (ordered quantities).
    pub source: String,
    /// MSTL_ETS, SEASONAL_NAIVE or MEAN.
    pub model: String,
    pub history_days: i32,
    /// Backtest over the last 28 days: the model's sMAPE (%) and MASE, and seasonal-naive's sMAPE.
    pub smape: Option<f64>,
    pub mase: Option<f64>,
    pub naive_smape: Option<f64>,
    /// The temperature regressor was used (it backtested better).
    pub weather_adjusted: bool,
    /// Orders were placed since the forecast was made.
    pub stale: bool,
    /// The first forecast day.
    pub first_day: Date,
    pub generated_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
