//! Planning: what a restaurant will use and what it should order — nightly demand forecasts
//! per (restaurant, product) and (supplier, product), and reorder suggestions from each
//! inventory item's policy, grouped by supplier.
//!
//! Rules:
//! - A restaurant's series is its recorded USAGE where it has any, else what it ordered; a
//!   supplier's series is what all restaurants ordered of its product. Days run in UTC, up to
//!   yesterday (today is not over), over at most the last 365 days; a series starts on its
//!   first day with demand.
//! - The `forecast-demand` run forecasts [`forecasting::HORIZON`] days of every series
//!   ([`forecasting`] says which model and how accuracy is measured) and replaces each series'
//!   stored points in the transaction that writes its new model and accuracy. An order placed
//!   afterwards marks the series of its restaurant's and supplier's products stale until the
//!   next run.
//! - With a weather source (`OPENWEATHER_API_KEY`), each run first stores the days ahead of
//!   every city with a restaurant series (the restaurant's city, Stockholm without one), and a
//!   restaurant's series carries its city's stored maximum temperatures: the engine uses them
//!   where they backtest better. Weather that cannot be fetched is logged and the run goes on
//!   without it.
//! - Every inventory item with a product has a reorder policy ([`policies`]): the one set for
//!   it, else MIN_MAX on its par and target levels where it has a par level, else
//!   FORECAST_COVER at a 95 % service level.
//! - Suggestions go supplier by supplier: lead time is the days to the supplier's next delivery
//!   day after today, the review period the days from there to the delivery after it; what
//!   open orders will deliver counts as on order. The days an order must cover run from today
//!   (all of today's forecast: what is left of it is not known) to the day before the
//!   delivery after next; a forecast that no longer reaches that far plans nothing (the item
//!   says why). A supplier's group below its minimum order
//!   value says so, and by how much.
//! - Forecasts and suggestions are read by the owner's members and admins; policies are set by
//!   the restaurant's members and admins, audited; applying suggestions sets the chosen
//!   products' cart quantities in one transaction.

pub mod forecasting;
pub mod policies;
mod repository;
mod service;
pub mod weather;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::kernel::money::Money;
pub use service::{ForecastRun, ForecastStaleMarker, PlanningDeps, PlanningService};

/// Whose demand a series is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Restaurant,
    Supplier,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Restaurant => "RESTAURANT",
            Scope::Supplier => "SUPPLIER",
        }
    }

    fn of_stored(stored: &str) -> Scope {
        match stored {
            "SUPPLIER" => Scope::Supplier,
            _ => Scope::Restaurant,
        }
    }
}

/// What a series was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Usage,
    Orders,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Usage => "USAGE",
            Source::Orders => "ORDERS",
        }
    }

    fn of_stored(stored: &str) -> Source {
        match stored {
            "USAGE" => Source::Usage,
            _ => Source::Orders,
        }
    }
}

/// A series and how its latest forecast was made.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesInfo {
    pub id: Uuid,
    pub scope: Scope,
    pub owner_id: Uuid,
    pub product_id: Uuid,
    pub source: Source,
    pub model: forecasting::Model,
    pub history_days: i32,
    /// Backtest sMAPE (%) and MASE of the model, and seasonal-naive's sMAPE on the same days.
    pub smape: Option<f64>,
    pub mase: Option<f64>,
    pub naive_smape: Option<f64>,
    /// The forecast's first days were adjusted for the weather (it backtested better).
    pub weather_adjusted: bool,
    pub stale: bool,
    pub first_day: NaiveDate,
    pub generated_at: DateTime<Utc>,
}

/// One forecast day, in the product's unit.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastPoint {
    pub day: NaiveDate,
    pub point: Decimal,
    pub lower80: Decimal,
    pub upper80: Decimal,
    pub lower95: Decimal,
    pub upper95: Decimal,
}

/// A stored forecast: the series and its days (from the day asked for on).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredForecast {
    pub series: SeriesInfo,
    pub points: Vec<ForecastPoint>,
}

/// An item's reorder policy, as set (or the default it falls back to).
#[derive(Clone, Debug, PartialEq)]
pub struct ItemPolicy {
    pub item_id: Uuid,
    pub policy: policies::Policy,
    /// False when no policy was set and this is the default.
    pub set: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Input of `setReorderPolicy`: the parameters its kind needs.
#[derive(Clone, Debug)]
pub struct PolicyInput {
    pub item_id: Uuid,
    pub kind: policies::PolicyKind,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    pub order_cost: Option<Decimal>,
    pub holding_cost: Option<Decimal>,
    pub service_level: Option<Decimal>,
}

/// One suggested line: an inventory item's product, how much, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct SuggestionLine {
    pub item_id: Uuid,
    pub item_name: String,
    pub product_id: Uuid,
    pub unit: String,
    pub policy: policies::PolicyKind,
    pub on_hand: Decimal,
    pub on_order: Decimal,
    pub pack_size: Decimal,
    /// Units for the cart: the policy's quantity, rounded up to whole units.
    pub cart_quantity: i64,
    pub workings: policies::Suggestion,
    pub unit_price: Money,
    pub line_total: Money,
}

/// A supplier's suggested lines.
#[derive(Clone, Debug, PartialEq)]
pub struct SupplierSuggestion {
    pub supplier_id: Uuid,
    pub supplier_name: String,
    /// The earliest delivery day (`None` when the supplier has no delivery days).
    pub delivery_date: Option<NaiveDate>,
    pub lead_days: Option<u32>,
    pub lines: Vec<SuggestionLine>,
    pub subtotal: Money,
    pub minimum_order_value: Money,
    pub below_minimum: bool,
    /// What the group lacks to reach the minimum (zero when it does).
    pub shortfall: Money,
}

/// An item no suggestion could be made for, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct SkippedItem {
    pub item_id: Uuid,
    pub item_name: String,
    pub reason: String,
}

/// What the restaurant should order now.
#[derive(Clone, Debug, PartialEq)]
pub struct ReorderSuggestions {
    pub restaurant_id: Uuid,
    pub generated_at: DateTime<Utc>,
    pub suppliers: Vec<SupplierSuggestion>,
    pub skipped: Vec<SkippedItem>,
}

/// The first delivery day after `after` in `days` (within two weeks).
pub fn next_delivery(
    days: crate::domain::kernel::weekday::WeekdaySet,
    after: NaiveDate,
) -> Option<NaiveDate> {
    (1..=14)
        .map(|n| after + chrono::Duration::days(n))
        .find(|d| days.contains(chrono::Datelike::weekday(d).into()))
}
