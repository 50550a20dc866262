//! Inventory: what a restaurant has, as a ledger of movements.
//!
//! Rules:
//! - An inventory item is a product the restaurant buys (one item per product) or a free-text
//!   item, with a unit, a pack size, a storage location, par and target levels; deleting one is
//!   soft (its ledger stays).
//! - Stock moves only by movements, never edited in place: RECEIPT (written by ordering, in the
//!   transaction that marks an order DELIVERED: one per line, never twice), USAGE, WASTE (with
//!   a reason), TRANSFER_OUT/TRANSFER_IN (a pair, between two restaurants the caller belongs
//!   to) and ADJUSTMENT (a stocktake: the counted quantity minus what the ledger held).
//! - On-hand is the sum of an item's movements up to a moment: exact (thousandths of the unit,
//!   as decimals, never floats), and askable as of any date. It may go below zero (usage
//!   recorded before its delivery); a stocktake sets it right.
//! - A restaurant's members and admins read and record; every change is audited. A ledger
//!   kept before Iris can be imported in one change (one audit entry for the import).

mod repository;
mod service;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

pub use service::InventoryService;

/// How stock moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MovementKind {
    Receipt,
    Usage,
    Waste,
    TransferIn,
    TransferOut,
    Adjustment,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receipt => "RECEIPT",
            MovementKind::Usage => "USAGE",
            MovementKind::Waste => "WASTE",
            MovementKind::TransferIn => "TRANSFER_IN",
            MovementKind::TransferOut => "TRANSFER_OUT",
            MovementKind::Adjustment => "ADJUSTMENT",
        }
    }

    /// The kind of a stored row (an unknown value reads as an adjustment).
    fn of_stored(stored: &str) -> MovementKind {
        match stored {
            "RECEIPT" => MovementKind::Receipt,
            "USAGE" => MovementKind::Usage,
            "WASTE" => MovementKind::Waste,
            "TRANSFER_IN" => MovementKind::TransferIn,
            "TRANSFER_OUT" => MovementKind::TransferOut,
            _ => MovementKind::Adjustment,
        }
    }
}

/// An item a restaurant keeps, with its stock.
#[derive(Clone, Debug, PartialEq)]
pub struct InventoryItem {
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub product_id: Option<Uuid>,
    pub name: String,
    pub unit: String,
    pub pack_size: Decimal,
    pub location: Option<String>,
    pub par_level: Option<Decimal>,
    pub target_level: Option<Decimal>,
    pub active: bool,
    /// The sum of its movements up to the moment asked for (now by default).
    pub on_hand: Decimal,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of the ledger.
#[derive(Clone, Debug, PartialEq)]
pub struct Movement {
    pub id: Uuid,
    pub item_id: Uuid,
    pub kind: MovementKind,
    /// Signed: in > 0, out < 0.
    pub quantity: Decimal,
    /// What a stocktake counted.
    pub counted: Option<Decimal>,
    pub reason: Option<String>,
    pub order_id: Option<Uuid>,
    pub transfer_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_by: Option<Uuid>,
}

/// A new item: a product (name and unit default to the product's) or a free-text item.
#[derive(Clone, Debug, Default)]
pub struct NewItem {
    pub product_id: Option<Uuid>,
    pub name: Option<String>,
    pub unit: Option<String>,
    pub pack_size: Option<Decimal>,
    pub location: Option<String>,
    pub par_level: Option<Decimal>,
    pub target_level: Option<Decimal>,
}

/// Changes to an item; only the fields given change.
#[derive(Clone, Debug, Default)]
pub struct ItemChanges {
    pub name: Option<String>,
    pub pack_size: Option<Decimal>,
    pub location: Option<String>,
    pub par_level: Option<Decimal>,
    pub target_level: Option<Decimal>,
    pub active: Option<bool>,
}

/// Stock leaving by use or waste.
#[derive(Clone, Debug)]
pub struct Outflow {
    pub item_id: Uuid,
    pub quantity: Decimal,
    /// Required for waste.
    pub reason: Option<String>,
    /// When it happened (now by default; not in the future).
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A movement of a ledger kept before Iris (usage, waste or a delivery), for
/// [`InventoryService::import_history`].
#[derive(Clone, Debug)]
pub struct PastMovement {
    /// USAGE, WASTE or RECEIPT.
    pub kind: MovementKind,
    /// How much, more than 0 (usage and waste leave, receipts arrive).
    pub quantity: Decimal,
    pub occurred_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// One delivered order line, as ordering hands it over.
#[derive(Clone, Debug)]
pub struct DeliveredLine {
    pub line_number: i32,
    pub product_id: Uuid,
    pub name: String,
    pub unit: String,
    pub quantity: i64,
}

/// Receives a delivered order's lines into its restaurant's inventory, in the caller's
/// transaction (ordering's, marking the order DELIVERED): one RECEIPT per line, creating the
/// item of a product the restaurant did not keep yet. A line received before is skipped.
pub(crate) async fn receive_delivery(
    txn: &impl sea_orm::ConnectionTrait,
    restaurant: Uuid,
    order: Uuid,
    lines: &[DeliveredLine],
    at: DateTime<Utc>,
    recorded_by: Option<Uuid>,
) -> Result<(), crate::error::AppError> {
    for line in lines {
        let item = repository::item_for_product(
            txn,
            restaurant,
            line.product_id,
            (&line.name, &line.unit),
            at,
        )
        .await?;
        repository::insert_receipt(txn, item, restaurant, order, line, at, recorded_by).await?;
    }
    Ok(())
}

/// Thousandths of a unit → an exact decimal.
fn from_milli(milli: i64) -> Decimal {
    crate::domain::kernel::money::from_milli(milli)
}
