//! Analytics: what a restaurant spent and a supplier sold (by supplier or restaurant,
//! category and month), what a restaurant paid against today's list prices, how many days
//! its stock covers, how often it ran out, and how accurate its forecasts are.
//!
//! Rules:
//! - Figures come from orders not cancelled or rejected, by the UTC month they were placed,
//!   at the line totals of the time (excluding VAT), per currency; never a float.
//! - Price variance compares the quantity-weighted unit price paid in the period with the
//!   product's list price now (where both are in the same currency).
//! - Days of cover is on-hand over the mean daily demand of the next 7 forecast days (none
//!   without a forecast, or when nothing is expected to be used); a stock-out day is a day
//!   whose closing balance was zero or less, counted from the item's first movement.
//! - The owner's members and admins read them.

mod repository;
mod service;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::kernel::money::Money;
pub use service::{AnalyticsService, period};

/// The period figures cover: `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// What spend or sales are broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// The other party: the supplier for a restaurant, the restaurant for a supplier.
    Party,
    Category,
    Month,
}

/// One cell of a breakdown: the keys asked for (the others `None`) and the amount.
#[derive(Clone, Debug, PartialEq)]
pub struct SpendRow {
    pub party_id: Option<Uuid>,
    pub party_name: Option<String>,
    pub category: Option<String>,
    /// `YYYY-MM` (UTC).
    pub month: Option<String>,
    /// Line totals, excluding VAT.
    pub amount: Money,
    pub units: i64,
}

/// What was paid for a product against its list price now.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceVariance {
    pub product_id: Uuid,
    pub name: String,
    pub supplier_id: Uuid,
    pub units: i64,
    /// Quantity-weighted, to the thousandth.
    pub average_paid: Money,
    pub current_price: Money,
    /// Current minus average paid (positive: the price rose since).
    pub variance: Money,
    /// Variance over average paid, in percent (two decimals); `None` when nothing was paid.
    pub variance_percent: Option<Decimal>,
}

/// How long an item's stock lasts, and how often it ran out.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemCover {
    pub item_id: Uuid,
    pub name: String,
    pub product_id: Option<Uuid>,
    pub on_hand: Decimal,
    /// Mean daily demand over the next 7 forecast days.
    pub daily_demand: Option<Decimal>,
    /// On-hand over daily demand (one decimal); `None` without a forecast or demand.
    pub days_of_cover: Option<Decimal>,
    /// Days in the period that closed at zero or less.
    pub stock_out_days: i64,
    /// On-hand is zero or less now.
    pub out_of_stock: bool,
}

/// A forecast series' measured accuracy.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesAccuracy {
    pub product_id: Uuid,
    pub product_name: Option<String>,
    pub model: &'static str,
    pub smape: Option<f64>,
    pub mase: Option<f64>,
    pub naive_smape: Option<f64>,
    pub generated_at: DateTime<Utc>,
}
