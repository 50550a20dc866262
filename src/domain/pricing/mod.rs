//! Pricing: what a restaurant pays, and how list prices move.
//!
//! - **Price lists** — a supplier's negotiated and campaign prices: a name, the supplier's
//!   currency, a validity window (from inclusive, to exclusive, either open), a priority and an
//!   active flag; entries per product with quantity tiers, each a fixed price or a percentage
//!   off the list price; assigned to restaurants one by one, to a customer group of the
//!   supplier, or to every customer. Soft-deleted; every change audited.
//! - **Resolution** ([`resolve`]) — the one rule every surface uses (product queries, the cart,
//!   orders, reorder suggestions, REST): among the lists valid now and assigned to the
//!   restaurant, each priced by its tier for the quantity, the highest priority wins, then the
//!   lowest price, then the oldest list; without one, the list price. The result says which
//!   list and tier applied. Orders store it on their lines; later changes never touch them.
//! - **Dynamic prices** ([`dynamic`]) — opt-in, bounded rules per product or category that the
//!   hourly `refresh-prices` job applies from stock cover and demand trend; every change is a
//!   `price_changes` row and a `product.price_changed` event.
//! - **Recommendation** ([`recommend`]) — suppliers for a restaurant and a category, scored by
//!   reliability, price and proximity with the components shown.
//!
//! This context reads products through the catalog's functions and orders' history through
//! its own queries; it never writes another context's tables except the list price of a
//! product a rule moves (the catalog's column, written with the change record).

pub mod dynamic;
pub mod recommend;
mod repository;
mod service;

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::kernel::money::Currency;

pub use service::{
    Comparison, PricingDeps, PricingService, Recommendation, Recommendations, check_quantity,
    may_view_prices,
};

/// Pricing's settings.
#[derive(Clone, Debug, Default)]
pub struct PricingConfig {
    /// How the supplier recommendation weighs reliability, price and distance.
    pub weights: recommend::Weights,
}

/// Target stock cover (days) of a dynamic rule that names none: below it the price rises…
pub const DEFAULT_MIN_COVER_DAYS: i64 = 7;
/// …and above this it falls.
pub const DEFAULT_MAX_COVER_DAYS: i64 = 21;

/// Most entries (product tiers) one price list holds.
pub const MAX_ENTRIES: usize = 5000;
/// Most price lists (live) one supplier keeps.
pub const MAX_LISTS: usize = 500;
/// Most assignments one call makes.
pub const MAX_ASSIGNMENTS: usize = 1000;

/// What one tier charges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TierPrice {
    /// This unit price, in the list's currency.
    Fixed(Decimal),
    /// This percentage off the product's list price (10 = 10 % off).
    PercentOff(Decimal),
}

/// A product's price in a list from `min_quantity` units on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tier {
    pub min_quantity: i64,
    pub price: TierPrice,
}

/// One product's tiers in a list, lowest break first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceListEntry {
    pub product_id: Uuid,
    pub tiers: Vec<Tier>,
}

/// Who a list applies to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AssignmentTarget {
    Restaurant(Uuid),
    /// A customer group of the list's supplier, by name.
    CustomerGroup(String),
    /// Every restaurant (a campaign).
    AllCustomers,
}

impl AssignmentTarget {
    /// The stored key (unique per list).
    pub(crate) fn key(&self) -> String {
        match self {
            AssignmentTarget::Restaurant(id) => format!("restaurant:{id}"),
            AssignmentTarget::CustomerGroup(name) => format!("group:{name}"),
            AssignmentTarget::AllCustomers => "all".into(),
        }
    }
}

/// A supplier's price list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceList {
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub name: String,
    pub currency: Currency,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    pub priority: i32,
    pub active: bool,
    pub entries: Vec<PriceListEntry>,
    pub assignments: Vec<AssignmentTarget>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Input of `create_list`; unvalidated.
#[derive(Clone, Debug, Default)]
pub struct NewPriceList {
    pub supplier_id: Uuid,
    pub name: String,
    /// The supplier's currency when absent (and it must be the supplier's).
    pub currency: Option<String>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    /// 0 when absent; higher wins.
    pub priority: Option<i32>,
    /// True when absent.
    pub active: Option<bool>,
    pub entries: Vec<EntryInput>,
}

/// Input of `update_list`: what is given changes; `entries` replaces them all.
#[derive(Clone, Debug, Default)]
pub struct PriceListChanges {
    pub name: Option<String>,
    /// `Some(None)` opens the window's start.
    pub valid_from: Option<Option<DateTime<Utc>>>,
    pub valid_to: Option<Option<DateTime<Utc>>>,
    pub priority: Option<i32>,
    pub active: Option<bool>,
    pub entries: Option<Vec<EntryInput>>,
}

/// One tier of one product, as given; exactly one of `price` and `percent_off`.
#[derive(Clone, Debug, Default)]
pub struct EntryInput {
    pub product_id: Uuid,
    /// 1 when absent.
    pub min_quantity: Option<i64>,
    pub price: Option<Decimal>,
    pub percent_off: Option<Decimal>,
}

/// Which list and tier priced something.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedPriceList {
    pub id: Uuid,
    pub name: String,
    pub priority: i32,
    pub min_quantity: i64,
    pub tier: TierPrice,
}

/// A unit price as resolved for a restaurant and a quantity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPrice {
    pub unit_price: Decimal,
    /// The product's list price it was resolved from.
    pub list_price: Decimal,
    pub currency: Currency,
    /// `None`: the list price applies.
    pub applied: Option<AppliedPriceList>,
}

/// A list that may price a product for a restaurant: its ranking, window and the product's
/// tiers in it (what [`resolve`] chooses from).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub list_id: Uuid,
    pub list_name: String,
    pub priority: i32,
    pub currency: String,
    pub active: bool,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Lowest break first.
    pub tiers: Vec<Tier>,
}

impl Candidate {
    /// Valid at `at`: from inclusive, to exclusive.
    pub fn valid_at(&self, at: DateTime<Utc>) -> bool {
        self.active
            && self.valid_from.is_none_or(|from| from <= at)
            && self.valid_to.is_none_or(|to| at < to)
    }

    /// The tier for `quantity`: the highest break at or below it.
    pub fn tier_for(&self, quantity: i64) -> Option<&Tier> {
        self.tiers
            .iter()
            .filter(|t| t.min_quantity <= quantity)
            .max_by_key(|t| t.min_quantity)
    }
}

/// Smallest unit price: 0.001.
pub const MIN_UNIT_PRICE: Decimal = Decimal::from_parts(1, 0, 0, false, 3);

/// A tier's unit price for a product listed at `list_price`: rounded half-up to 0.001, at
/// least 0.001.
pub fn tier_unit_price(tier: TierPrice, list_price: Decimal) -> Decimal {
    let price = match tier {
        TierPrice::Fixed(price) => price,
        TierPrice::PercentOff(percent) => {
            list_price * (Decimal::ONE_HUNDRED - percent) / Decimal::ONE_HUNDRED
        }
    };
    price
        .round_dp_with_strategy(3, RoundingStrategy::MidpointAwayFromZero)
        .max(MIN_UNIT_PRICE)
        .normalize()
}

/// The price a restaurant pays per unit of a product listed at `list_price` in `currency`, for
/// `quantity` units at `at`, among the lists assigned to it (`candidates`): valid lists whose
/// currency is the product's and that have a tier for the quantity compete; the highest
/// priority wins, then the lowest price, then the oldest list (then the smaller id), so the
/// answer never depends on the order the candidates came in.
pub fn resolve(
    list_price: Decimal,
    currency: &Currency,
    candidates: &[Candidate],
    quantity: i64,
    at: DateTime<Utc>,
) -> ResolvedPrice {
    let best = candidates
        .iter()
        .filter(|c| c.valid_at(at) && c.currency == currency.as_str())
        .filter_map(|c| {
            let tier = c.tier_for(quantity)?;
            Some((c, *tier, tier_unit_price(tier.price, list_price)))
        })
        .min_by(|(a, _, pa), (b, _, pb)| {
            b.priority
                .cmp(&a.priority)
                .then(pa.cmp(pb))
                .then(a.created_at.cmp(&b.created_at))
                .then(a.list_id.cmp(&b.list_id))
        });
    match best {
        Some((list, tier, unit_price)) => ResolvedPrice {
            unit_price,
            list_price,
            currency: currency.clone(),
            applied: Some(AppliedPriceList {
                id: list.list_id,
                name: list.list_name.clone(),
                priority: list.priority,
                min_quantity: tier.min_quantity,
                tier: tier.price,
            }),
        },
        None => ResolvedPrice {
            unit_price: list_price.normalize(),
            list_price,
            currency: currency.clone(),
            applied: None,
        },
    }
}

/// A dynamic price rule of a supplier: for one product or every product of a category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceRule {
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub product_id: Option<Uuid>,
    pub category: Option<String>,
    pub bounds: dynamic::RuleBounds,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Input of `save_rule`; exactly one of `product_id` and `category`.
#[derive(Clone, Debug)]
pub struct PriceRuleInput {
    /// Updates this rule when given.
    pub id: Option<Uuid>,
    pub supplier_id: Uuid,
    pub product_id: Option<Uuid>,
    pub category: Option<String>,
    pub bounds: dynamic::RuleBounds,
    pub active: bool,
}

/// One change of a product's list price by a rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceChange {
    pub id: Uuid,
    pub product_id: Uuid,
    pub supplier_id: Uuid,
    pub rule_id: Option<Uuid>,
    pub job_run_id: Option<Uuid>,
    pub old_price: Decimal,
    pub new_price: Decimal,
    pub currency: Currency,
    pub reason: String,
    pub signals: serde_json::Value,
    pub changed_at: DateTime<Utc>,
}

/// What one refresh did (or, dry, would do).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshOutcome {
    pub dry_run: bool,
    /// Products with an active rule that were looked at.
    pub products: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// The changes (at most [`PREVIEW_LIMIT`] of them are kept in a dry run's answer).
    pub changes: Vec<ProposedChange>,
}

/// Most changes a dry run lists.
pub const PREVIEW_LIMIT: usize = 1000;

/// One product's proposed price.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposedChange {
    pub product_id: Uuid,
    pub supplier_id: Uuid,
    pub sku: String,
    pub name: String,
    pub rule_id: Uuid,
    pub currency: String,
    #[serde(flatten)]
    pub proposal: dynamic::Proposal,
    pub signals: dynamic::Signals,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn list(name: &str, priority: i32, tiers: &[(i64, TierPrice)]) -> Candidate {
        Candidate {
            list_id: Uuid::now_v7(),
            list_name: name.into(),
            priority,
            currency: "SEK".into(),
            active: true,
            valid_from: None,
            valid_to: None,
            created_at: t("2026-12-01T00:00:00Z"),
            tiers: tiers
                .iter()
                .map(|(min_quantity, price)| Tier {
                    min_quantity: *min_quantity,
                    price: *price,
                })
                .collect(),
        }
    }

    fn sek() -> Currency {
        Currency::default()
    }

    #[test]
    fn without_a_list_the_list_price_applies() {
        let price = resolve(d("99.50"), &sek(), &[], 3, Utc::now());
        assert_eq!(price.unit_price, d("99.5"));
        assert!(price.applied.is_none());
    }

    #[test]
    fn the_window_is_from_inclusive_to_exclusive() {
        let mut campaign = list("Week 50", 1, &[(1, TierPrice::Fixed(d("80")))]);
        campaign.valid_from = Some(t("2026-12-07T00:00:00Z"));
        campaign.valid_to = Some(t("2026-12-14T00:00:00Z"));
        let at = |s: &str| resolve(d("100"), &sek(), &[campaign.clone()], 1, t(s)).unit_price;
        assert_eq!(at("2026-12-06T23:59:59.999Z"), d("100"));
        assert_eq!(at("2026-12-07T00:00:00Z"), d("80"));
        assert_eq!(at("2026-12-13T23:59:59.999Z"), d("80"));
        assert_eq!(at("2026-12-14T00:00:00Z"), d("100"));
    }

    #[test]
    fn priority_wins_over_price_and_price_breaks_ties() {
        let cheap = list("Cheap", 1, &[(1, TierPrice::Fixed(d("70")))]);
        let contract = list("Contract", 5, &[(1, TierPrice::Fixed(d("90")))]);
        let also = list("Also 5", 5, &[(1, TierPrice::PercentOff(d("15")))]);
        let price = resolve(
            d("100"),
            &sek(),
            &[cheap.clone(), contract.clone()],
            1,
            Utc::now(),
        );
        assert_eq!(price.unit_price, d("90"));
        assert_eq!(price.applied.unwrap().name, "Contract");
        let price = resolve(
            d("100"),
            &sek(),
            &[contract.clone(), also.clone(), cheap.clone()],
            1,
            Utc::now(),
        );
        assert_eq!(price.unit_price, d("85"));
        // The same whatever the order.
        let again = resolve(d("100"), &sek(), &[cheap, also, contract], 1, Utc::now());
        assert_eq!(again, price);
    }

    #[test]
    fn tiers_apply_from_their_break_quantity() {
        let tiers = list(
            "Volume",
            0,
            &[
                (1, TierPrice::Fixed(d("95"))),
                (10, TierPrice::Fixed(d("90"))),
                (50, TierPrice::PercentOff(d("12.5"))),
            ],
        );
        let at = |q: i64| {
            resolve(
                d("99.99"),
                &sek(),
                std::slice::from_ref(&tiers),
                q,
                Utc::now(),
            )
        };
        assert_eq!(at(9).unit_price, d("95"));
        assert_eq!(at(10).unit_price, d("90"));
        assert_eq!(at(10).applied.unwrap().min_quantity, 10);
        assert_eq!(at(49).unit_price, d("90"));
        // 99.99 × 0.875 = 87.49125 → 87.491
        assert_eq!(at(50).unit_price, d("87.491"));
    }

    #[test]
    fn a_list_without_a_tier_for_the_quantity_does_not_compete() {
        let bulk = list("Bulk", 9, &[(20, TierPrice::Fixed(d("50")))]);
        let price = resolve(d("60"), &sek(), &[bulk], 5, Utc::now());
        assert_eq!(price.unit_price, d("60"));
        assert!(price.applied.is_none());
    }

    #[test]
    fn inactive_and_foreign_currency_lists_do_not_apply() {
        let mut off = list("Off", 9, &[(1, TierPrice::Fixed(d("1")))]);
        off.active = false;
        let mut euro = list("Euro", 9, &[(1, TierPrice::Fixed(d("1")))]);
        euro.currency = "EUR".into();
        let price = resolve(d("10"), &sek(), &[off, euro], 1, Utc::now());
        assert_eq!(price.unit_price, d("10"));
    }

    #[test]
    fn a_full_discount_still_costs_the_smallest_price() {
        assert_eq!(
            tier_unit_price(TierPrice::PercentOff(d("100")), d("10")),
            d("0.001")
        );
    }
}
