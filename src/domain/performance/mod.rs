//! Supplier performance: on-time rate, fill rate and average confirmation time, computed from
//! order history.
//!
//! - **On-time rate:** delivered orders marked delivered on or before their requested delivery
//!   date (UTC), over all delivered orders.
//! - **Fill rate:** units of delivered orders over units of orders that ended with the supplier
//!   — delivered or rejected. Cancellations are the restaurant's doing and do not count.
//! - **Average confirmation time:** mean time from placement to confirmation, over confirmed
//!   orders (those confirmed at some point, whatever came later).
//! - **Invoice accuracy:** share of the supplier's reconciled invoices that matched their
//!   order the first time (asked of the invoicing context when read).
//!
//! Rebuilt for one supplier whenever one of its orders changes status (outbox handler) and for
//! every supplier by the nightly `rebuild-supplier-metrics` job.

mod repository;
mod service;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::ordering::OrderStatus;

pub use service::{PerformanceService, PerformanceUpdater};

/// A supplier's performance, as the API shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Performance {
    pub supplier_id: Uuid,
    pub delivered_orders: i64,
    /// `None` before the first delivery.
    pub on_time_rate: Option<Decimal>,
    /// `None` before the first delivered or rejected order.
    pub fill_rate: Option<Decimal>,
    /// `None` before the first confirmation.
    pub average_confirmation_seconds: Option<i64>,
    /// Invoices reconciled against an order, and the share of them that matched the first
    /// time (`None` before the first).
    pub reconciled_invoices: i64,
    pub invoice_accuracy: Option<Decimal>,
    pub computed_at: DateTime<Utc>,
}

fn ratio(part: i64, whole: i64) -> Option<Decimal> {
    (whole > 0).then(|| {
        (Decimal::from(part) / Decimal::from(whole))
            .round_dp(4)
            .normalize()
    })
}

/// The counts a supplier's performance is computed from, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SupplierCounts {
    supplier_id: Uuid,
    delivered_orders: i64,
    /// Delivered on or before the requested delivery date (UTC).
    on_time_orders: i64,
    /// Units of delivered and rejected orders.
    ordered_units: i64,
    /// Units of delivered orders.
    delivered_units: i64,
    confirmed_orders: i64,
    /// Sum over confirmed orders of the seconds from placement to confirmation.
    confirmation_seconds: i64,
    computed_at: DateTime<Utc>,
}

impl SupplierCounts {
    fn performance(&self) -> Performance {
        Performance {
            supplier_id: self.supplier_id,
            delivered_orders: self.delivered_orders,
            on_time_rate: ratio(self.on_time_orders, self.delivered_orders),
            fill_rate: ratio(self.delivered_units, self.ordered_units),
            average_confirmation_seconds: (self.confirmed_orders > 0)
                .then(|| self.confirmation_seconds / self.confirmed_orders),
            reconciled_invoices: 0,
            invoice_accuracy: None,
            computed_at: self.computed_at,
        }
    }
}

/// One of a supplier's orders that got past placement.
#[derive(Clone, Debug)]
struct PastOrder {
    id: Uuid,
    status: String,
    requested_delivery_date: NaiveDate,
    placed_at: DateTime<Utc>,
}

/// What a supplier's counts are computed from.
#[derive(Clone, Debug, Default)]
struct OrderHistory {
    orders: Vec<PastOrder>,
    /// When each order first reached CONFIRMED and DELIVERED (by status text).
    first_reached: HashMap<(Uuid, String), DateTime<Utc>>,
    /// Units ordered, per order.
    units: HashMap<Uuid, i64>,
}

/// Every status an order can have after a confirmation (or a rejection).
fn statuses_past_placement() -> [&'static str; 5] {
    [
        OrderStatus::Delivered.as_str(),
        OrderStatus::Rejected.as_str(),
        OrderStatus::Confirmed.as_str(),
        OrderStatus::Shipped.as_str(),
        OrderStatus::Cancelled.as_str(),
    ]
}

/// A supplier's counts from its order history (the rules in this module's doc).
fn tally(supplier: Uuid, history: &OrderHistory, computed_at: DateTime<Utc>) -> SupplierCounts {
    let mut m = SupplierCounts {
        supplier_id: supplier,
        delivered_orders: 0,
        on_time_orders: 0,
        ordered_units: 0,
        delivered_units: 0,
        confirmed_orders: 0,
        confirmation_seconds: 0,
        computed_at,
    };
    let events = &history.first_reached;
    for order in &history.orders {
        let id = &order.id;
        let status = &order.status;
        let order_units = history.units.get(id).copied().unwrap_or(0);
        if status == OrderStatus::Delivered.as_str() {
            m.delivered_orders += 1;
            m.delivered_units += order_units;
            m.ordered_units += order_units;
            let delivered_at = events.get(&(*id, OrderStatus::Delivered.as_str().to_owned()));
            if delivered_at.is_some_and(|at| at.date_naive() <= order.requested_delivery_date) {
                m.on_time_orders += 1;
            }
        } else if status == OrderStatus::Rejected.as_str() {
            m.ordered_units += order_units;
        }
        if let Some(confirmed_at) = events.get(&(*id, OrderStatus::Confirmed.as_str().to_owned())) {
            m.confirmed_orders += 1;
            m.confirmation_seconds += (*confirmed_at - order.placed_at).num_seconds().max(0);
        }
    }
    m
}
