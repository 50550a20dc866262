//! The catalog: what suppliers sell.
//!
//! Rules: a product belongs to one supplier and its SKU is unique within that supplier (among
//! live products); the unit price is an exact amount of at least 0.001 with at most three
//! decimals, in the supplier's currency unless given; stock is a whole number of units, never
//! negative. A supplier's members (OWNER or STAFF) and admins manage its products — one at a time
//! or up to 1,000 in one all-or-nothing batch, keyed by SKU. Anyone may browse and search.
//! Search matches names and SKUs by trigram similarity (pg_trgm's algorithm, see [`trigram`]),
//! ranked: exact SKU, SKU prefix, then name similarity.

mod repository;
mod service;
pub mod trigram;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::kernel::{
    money::{Currency, Money},
    pagination::Direction,
};

pub use service::ProductService;

/// What ordering needs of products, on any connection (it reads them and reserves and releases
/// their stock inside its own transactions).
pub(crate) use repository::{
    Taking, find_live, find_many_including_deleted, find_many_live_products, put_stock_back,
    take_stock, to_domain as product_of,
};

/// Most products one batch may carry.
pub const MAX_BATCH: usize = 1000;

/// VAT rate of a new product when none is given: 12 %, Swedish VAT on food (basis points).
pub const DEFAULT_TAX_RATE_BP: i32 = 1200;

/// A VAT rate in basis points → percent (`1200` → `12`).
pub fn tax_rate_percent(bp: i32) -> Decimal {
    Decimal::new(i64::from(bp), 2).normalize()
}

/// A VAT rate in percent → basis points; 0–100 with at most two decimals.
pub fn tax_rate_bp(percent: Decimal) -> Result<i32, String> {
    let bp = percent * Decimal::from(100);
    if percent < Decimal::ZERO || percent > Decimal::from(100) || !bp.fract().is_zero() {
        return Err("must be a percentage from 0 to 100 with at most two decimals".into());
    }
    rust_decimal::prelude::ToPrimitive::to_i32(&bp).ok_or_else(|| "is out of range".to_owned())
}

macro_rules! flag_set {
    ($(#[$meta:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn bit(self) -> i32 {
                1 << (self as i32)
            }

            /// The bitmask of a set of values.
            pub fn mask(values: &[$name]) -> i32 {
                values.iter().fold(0, |mask, v| mask | v.bit())
            }

            /// The values of a bitmask, in declaration order.
            pub fn from_mask(mask: i32) -> Vec<$name> {
                Self::ALL.iter().copied().filter(|v| mask & v.bit() != 0).collect()
            }
        }
    };
}

flag_set!(
    /// The 14 allergens EU food law requires to be declared.
    Allergen {
        Gluten, Crustaceans, Eggs, Fish, Peanuts, Soybeans, Milk, Nuts, Celery, Mustard, Sesame,
        Sulphites, Lupin, Molluscs,
    }
);

flag_set!(
    /// Dietary properties a product can be tagged with.
    DietaryTag { Vegan, Vegetarian, GlutenFree, LactoseFree, Organic, Halal, Kosher }
);

/// How a product is sold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Unit {
    Kg,
    G,
    L,
    Cl,
    Piece,
    Pack,
    Box,
    Case,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Kg => "KG",
            Unit::G => "G",
            Unit::L => "L",
            Unit::Cl => "CL",
            Unit::Piece => "PIECE",
            Unit::Pack => "PACK",
            Unit::Box => "BOX",
            Unit::Case => "CASE",
        }
    }

    pub fn parse(raw: &str) -> Option<Unit> {
        [
            Unit::Kg,
            Unit::G,
            Unit::L,
            Unit::Cl,
            Unit::Piece,
            Unit::Pack,
            Unit::Box,
            Unit::Case,
        ]
        .into_iter()
        .find(|u| u.as_str().eq_ignore_ascii_case(raw.trim()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub unit: Unit,
    /// Today's list price (a dynamic rule may have moved it from the base price).
    pub unit_price: Money,
    /// The price the supplier set, in the same currency: the base of dynamic rules' bounds.
    pub base_price: Decimal,
    pub stock_on_hand: i64,
    pub allergens: Vec<Allergen>,
    pub dietary_tags: Vec<DietaryTag>,
    /// VAT rate in percent (12 = 12 %).
    pub tax_rate: Decimal,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Product {
    /// Today's price of `quantity` units, exact.
    pub fn price_of(&self, quantity: i64) -> Money {
        Money {
            amount: (self.unit_price.amount * Decimal::from(quantity)).normalize(),
            currency: self.unit_price.currency.clone(),
        }
    }
}

/// One product of an upsert, keyed by SKU within the supplier; unvalidated.
#[derive(Clone, Debug, Default)]
pub struct ProductInput {
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub unit: String,
    pub unit_price: Decimal,
    /// The supplier's currency when absent.
    pub currency: Option<String>,
    /// Unchanged on update (0 for a new product) when absent.
    pub stock_on_hand: Option<i64>,
    pub allergens: Vec<Allergen>,
    pub dietary_tags: Vec<DietaryTag>,
    /// VAT rate in percent, 0–100 with at most two decimals; unchanged on update (12, Swedish
    /// VAT on food, for a new product) when absent.
    pub tax_rate: Option<Decimal>,
    /// True when absent.
    pub active: Option<bool>,
}

/// Which products to list; all conditions must hold.
#[derive(Clone, Debug, Default)]
pub struct ProductFilter {
    /// Search text matched against names and SKUs.
    pub query: Option<String>,
    pub supplier_id: Option<Uuid>,
    /// Case-insensitive category.
    pub category: Option<String>,
    pub min_price: Option<Decimal>,
    pub max_price: Option<Decimal>,
    /// Only products with stock on hand.
    pub in_stock: Option<bool>,
    /// Only products containing none of these.
    pub excludes_allergens: Vec<Allergen>,
    /// Only products tagged with all of these.
    pub dietary_tags: Vec<DietaryTag>,
    /// Inactive products too (default: active only).
    pub include_inactive: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProductSortField {
    /// Best match first when searching, else by name.
    #[default]
    Relevance,
    Name,
    Price,
    CreatedAt,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProductSort {
    pub field: ProductSortField,
    pub direction: Direction,
}

/// A validated product of an upsert, without ids and timestamps.
struct ValidProduct {
    sku: String,
    name: String,
    description: Option<String>,
    category: String,
    unit: Unit,
    unit_price_milli: i64,
    currency: Currency,
    stock_on_hand: Option<i64>,
    allergens: i32,
    dietary_tags: i32,
    tax_rate_bp: Option<i32>,
    active: bool,
}
