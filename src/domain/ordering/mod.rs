//! Ordering: carts, orders, their status history, and live status events.
//!
//! Rules:
//! - A restaurant's members (OWNER or STAFF) and admins fill its cart and place its orders; a
//!   cart holds products of any number of suppliers and checkout turns it into one order per
//!   supplier, all in one transaction — all orders or none.
//! - An order is for one supplier, in the supplier's currency, for a requested delivery date
//!   after today (UTC), at most [`MAX_DELIVERY_DAYS_AHEAD`] days ahead, on one of the supplier's
//!   delivery days, with a subtotal of at least the supplier's minimum order value. Products
//!   must be live, active, the supplier's, and priced in its currency.
//! - Lines are snapshots (SKU, name, unit, unit price, VAT rate); totals follow [`totals`].
//! - Stock is reserved when the order is placed, by a conditional update that never lets it go
//!   negative; an order that cannot be served fails with INSUFFICIENT_STOCK naming the product.
//!   Cancelled and rejected orders give their stock back.
//! - `placeOrder` and `checkout` take an optional idempotency key: the same key with the same
//!   request replays the stored result (the orders as they are now); with a different request
//!   it is a CONFLICT; concurrent duplicates create exactly one result. Keys live 24 hours.
//! - Status: PLACED → CONFIRMED → SHIPPED → DELIVERED; PLACED|CONFIRMED → CANCELLED (by the
//!   restaurant) or REJECTED (by the supplier, with a reason). Anything else is
//!   INVALID_TRANSITION. Every transition is an `order_events` row, an audit entry and a bus
//!   event, written in one transaction (the bus event right after commit).
//! - Restaurants see their orders, suppliers the orders placed with them, admins all; an order
//!   another tenant asks about does not exist (NOT_FOUND).

mod carts;
mod idempotency;
mod orders;
pub mod receipts;
mod repository;
pub mod totals;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::Principal,
    domain::{
        catalog::Unit,
        kernel::{money::Currency, pagination::Direction},
    },
    infra::bus::Event,
};

pub use carts::CartService;
pub use orders::OrderService;

/// Most distinct products one order or cart may hold.
pub const MAX_LINES: usize = 200;
/// Most units of one product per line.
pub const MAX_QUANTITY: i64 = 100_000;
/// How far ahead a delivery may be requested.
pub const MAX_DELIVERY_DAYS_AHEAD: i64 = 90;
/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Placed,
    Confirmed,
    Shipped,
    Delivered,
    Cancelled,
    Rejected,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::Placed,
        OrderStatus::Confirmed,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "PLACED",
            OrderStatus::Confirmed => "CONFIRMED",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Rejected => "REJECTED",
        }
    }

    pub fn parse(raw: &str) -> Option<OrderStatus> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(raw.trim()))
    }
}

/// Which organisation acts on an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    Restaurant,
    Supplier,
}

/// A status change one party asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderAction {
    Confirm,
    Reject,
    Ship,
    Deliver,
    Cancel,
}

impl OrderAction {
    pub fn target(self) -> OrderStatus {
        match self {
            OrderAction::Confirm => OrderStatus::Confirmed,
            OrderAction::Reject => OrderStatus::Rejected,
            OrderAction::Ship => OrderStatus::Shipped,
            OrderAction::Deliver => OrderStatus::Delivered,
            OrderAction::Cancel => OrderStatus::Cancelled,
        }
    }

    /// The statuses this action applies to.
    pub fn applies_to(self) -> &'static [OrderStatus] {
        match self {
            OrderAction::Confirm => &[OrderStatus::Placed],
            OrderAction::Ship => &[OrderStatus::Confirmed],
            OrderAction::Deliver => &[OrderStatus::Shipped],
            OrderAction::Reject | OrderAction::Cancel => {
                &[OrderStatus::Placed, OrderStatus::Confirmed]
            }
        }
    }

    pub fn party(self) -> Party {
        match self {
            OrderAction::Cancel => Party::Restaurant,
            _ => Party::Supplier,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            OrderAction::Confirm => "confirm",
            OrderAction::Reject => "reject",
            OrderAction::Ship => "ship",
            OrderAction::Deliver => "mark delivered",
            OrderAction::Cancel => "cancel",
        }
    }

    fn audit_action(self) -> &'static str {
        match self {
            OrderAction::Confirm => "order.confirm",
            OrderAction::Reject => "order.reject",
            OrderAction::Ship => "order.ship",
            OrderAction::Deliver => "order.deliver",
            OrderAction::Cancel => "order.cancel",
        }
    }

    /// Whether the stock the order reserved goes back on the shelf.
    fn releases_stock(self) -> bool {
        matches!(self, OrderAction::Cancel | OrderAction::Reject)
    }
}

/// VAT at one rate, in the order's currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderTax {
    /// Percent (12 = 12 %).
    pub rate: Decimal,
    pub base: Decimal,
    pub amount: Decimal,
}

/// An order (also the `order` of events and webhook payloads, hence camelCase).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub supplier_id: Uuid,
    pub status: OrderStatus,
    pub currency: Currency,
    pub subtotal: Decimal,
    pub taxes: Vec<OrderTax>,
    pub tax: Decimal,
    pub total: Decimal,
    pub requested_delivery_date: NaiveDate,
    pub note: Option<String>,
    pub placed_by: Option<Uuid>,
    /// Orders placed by one checkout share it.
    pub checkout_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One line of an order, as it was when placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    pub id: Uuid,
    pub order_id: Uuid,
    pub line_number: i32,
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit: Unit,
    pub unit_price: Decimal,
    pub quantity: i64,
    pub line_total: Decimal,
    /// Percent.
    pub tax_rate: Decimal,
    /// The product's list price when ordered (`None` for lines older than pricing).
    pub list_unit_price: Option<Decimal>,
    /// The price list that priced the line, if one did.
    pub price_list: Option<LinePriceList>,
}

/// The price list (and tier) that priced an order line, as it was then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinePriceList {
    pub id: Uuid,
    pub name: String,
    pub min_quantity: i64,
}

/// One status an order took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderEvent {
    pub id: Uuid,
    pub order_id: Uuid,
    /// `None` for the order's creation.
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub actor_account_id: Option<Uuid>,
    /// ADMIN, SUPPLIER, RESTAURANT or SYSTEM.
    pub actor_role: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A product and how many units of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineInput {
    pub product_id: Uuid,
    pub quantity: i64,
}

/// `placeOrder`: lines for one supplier, without a cart.
#[derive(Clone, Debug)]
pub struct PlaceOrder {
    pub restaurant_id: Uuid,
    pub supplier_id: Uuid,
    pub lines: Vec<LineInput>,
    pub requested_delivery_date: NaiveDate,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
}

/// A delivery date (and note) for one supplier's order of a checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SupplierDelivery {
    pub supplier_id: Uuid,
    pub requested_delivery_date: NaiveDate,
    pub note: Option<String>,
}

/// `checkout`: the restaurant's cart, one order per supplier.
#[derive(Clone, Debug)]
pub struct Checkout {
    pub restaurant_id: Uuid,
    /// For every supplier without an entry in `deliveries`.
    pub requested_delivery_date: Option<NaiveDate>,
    pub note: Option<String>,
    pub deliveries: Vec<SupplierDelivery>,
    pub idempotency_key: Option<String>,
}

/// What `placeOrder` / `checkout` produced.
#[derive(Clone, Debug)]
pub struct Placed {
    pub orders: Vec<Order>,
    /// True when an idempotency key replayed an earlier result.
    pub replayed: bool,
    /// The lines just written, by order (empty for a replay): what the caller's answer may
    /// show without reading them back.
    pub lines: HashMap<Uuid, Vec<OrderLine>>,
}

/// Which orders to list; all conditions must hold (on top of the caller's visibility).
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub statuses: Vec<OrderStatus>,
    pub restaurant_id: Option<Uuid>,
    pub supplier_id: Option<Uuid>,
    pub delivery_from: Option<NaiveDate>,
    pub delivery_to: Option<NaiveDate>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderSortField {
    #[default]
    CreatedAt,
    RequestedDeliveryDate,
    Total,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderSort {
    pub field: OrderSortField,
    pub direction: Direction,
}

impl Default for OrderSort {
    /// Newest first.
    fn default() -> Self {
        OrderSort {
            field: OrderSortField::CreatedAt,
            direction: Direction::Desc,
        }
    }
}

/// A restaurant's cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cart {
    pub restaurant_id: Uuid,
    /// `None` until something is first added.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A product and a quantity in a cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartItem {
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub product_id: Uuid,
    pub quantity: i64,
    pub added_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An order's status changed (or it was placed: `from` is `None`). Published on the bus after
/// commit, and the payload of the order events of the outbox (and so of webhooks).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatusChanged {
    pub order: Order,
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub actor_role: String,
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

impl Event for OrderStatusChanged {
    const TOPIC: &'static str = "orders.status";
}

/// Whether the principal may see an order between these parties.
pub fn may_view(principal: &Principal, restaurant: Uuid, supplier: Uuid) -> bool {
    principal.is_admin()
        || principal.restaurant_role(restaurant).is_some()
        || principal.supplier_role(supplier).is_some()
}
