//! Pricing over GraphQL: price lists (`priceLists`, `priceList`, `createPriceList`,
//! `updatePriceList`, `deletePriceList`, `assignPriceList`, `unassignPriceList`), customer
//! groups, dynamic rules (`priceRules`, `savePriceRule`, `deletePriceRule`,
//! `previewPriceRefresh`), the price a restaurant sees (`Product.price`), price history
//! (`Product.priceHistory`), `recommendedSuppliers` and `comparePrices`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    caller,
    common::{ExactDecimal, MoneyObject, money, parse_id},
    connection::{self, RelayConnection},
    loaders::loaders,
    products::ProductObject,
    restaurants::RestaurantObject,
    services,
    suppliers::SupplierObject,
};
use crate::{
    domain::{
        catalog::Product,
        kernel::money::Currency,
        pricing::{
            self as domain, AppliedPriceList, AssignmentTarget, Comparison, PriceChange, PriceList,
            PriceListChanges, PriceRule, Recommendation, ResolvedPrice, TierPrice,
            dynamic::{self, Bound},
            recommend::ComparableUnit,
        },
    },
    error::AppError,
};

/// What `restaurant` pays for `quantity` units of `product` at `at` (now when absent): the
/// caller's right to see it checked, the lists loaded in one batch per request.
pub async fn resolved_price(
    ctx: &Context<'_>,
    product: &Product,
    restaurant: Uuid,
    quantity: i64,
    at: Option<DateTime<Utc>>,
) -> async_graphql::Result<ResolvedPrice> {
    let services = services(ctx)?;
    services
        .pricing
        .authorize_view(caller(ctx), restaurant, product.supplier_id)?;
    let candidates = loaders(ctx)?
        .prices(restaurant, at)
        .load_one(product.id)
        .await?
        .unwrap_or_default();
    Ok(domain::resolve(
        product.unit_price.amount,
        &product.unit_price.currency,
        &candidates,
        quantity,
        at.unwrap_or_else(Utc::now),
    ))
}

/// How a tier prices.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TierKind {
    /// A fixed unit price.
    Fixed,
    /// A percentage off the product's list price.
    PercentOff,
}

/// A product's price in a list from a quantity on.
#[derive(SimpleObject)]
#[graphql(name = "PriceTier")]
pub struct TierObject {
    /// The tier applies from this many units on.
    min_quantity: i64,
    /// FIXED or PERCENT_OFF.
    kind: TierKind,
    /// The unit price (FIXED).
    price: Option<MoneyObject>,
    /// Percent off the list price (PERCENT_OFF), e.g. "12.5".
    percent_off: Option<ExactDecimal>,
}

fn tier(min_quantity: i64, price: TierPrice, currency: &Currency) -> TierObject {
    match price {
        TierPrice::Fixed(p) => TierObject {
            min_quantity,
            kind: TierKind::Fixed,
            price: Some(money(p, currency)),
            percent_off: None,
        },
        TierPrice::PercentOff(p) => TierObject {
            min_quantity,
            kind: TierKind::PercentOff,
            price: None,
            percent_off: Some(ExactDecimal(p)),
        },
    }
}

/// Which list and tier priced something.
pub struct AppliedPriceListObject(pub AppliedPriceList, pub Currency);

/// Which price list and tier priced something.
#[Object(name = "AppliedPriceList")]
impl AppliedPriceListObject {
    /// The list (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Its priority (higher wins).
    async fn priority(&self) -> i32 {
        self.0.priority
    }
    /// The tier that applied.
    async fn tier(&self) -> TierObject {
        tier(self.0.min_quantity, self.0.tier, &self.1)
    }
}

/// The price a restaurant pays for a quantity of a product, and why.
pub struct ResolvedPriceObject {
    pub price: ResolvedPrice,
    pub quantity: i64,
}

/// The price a restaurant pays for a quantity of a product, and why.
#[Object(name = "ResolvedPrice")]
impl ResolvedPriceObject {
    /// Price of one unit for this restaurant and quantity.
    async fn unit_price(&self) -> MoneyObject {
        money(self.price.unit_price, &self.price.currency)
    }
    /// The product's list price (what a restaurant without a price list pays).
    async fn list_price(&self) -> MoneyObject {
        money(self.price.list_price, &self.price.currency)
    }
    /// The quantity it was resolved for.
    async fn quantity(&self) -> i64 {
        self.quantity
    }
    /// Unit price × quantity, exact.
    async fn total(&self) -> MoneyObject {
        money(
            self.price.unit_price * Decimal::from(self.quantity),
            &self.price.currency,
        )
    }
    /// The price list and tier that set the price; null when the list price applies.
    async fn applied_price_list(&self) -> Option<AppliedPriceListObject> {
        self.price
            .applied
            .clone()
            .map(|a| AppliedPriceListObject(a, self.price.currency.clone()))
    }
}

/// One product's tiers in a price list.
pub struct PriceListEntryObject(domain::PriceListEntry, Currency);

/// One product's tiers in a price list.
#[Object(name = "PriceListEntry")]
impl PriceListEntryObject {
    /// The product (batched per request).
    async fn product(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ProductObject>> {
        Ok(loaders(ctx)?
            .products
            .load_one(self.0.product_id)
            .await?
            .map(ProductObject::from))
    }
    /// The product's id.
    async fn product_id(&self) -> ID {
        ID(self.0.product_id.to_string())
    }
    /// Its tiers, lowest break first.
    async fn tiers(&self) -> Vec<TierObject> {
        self.0
            .tiers
            .iter()
            .map(|t| tier(t.min_quantity, t.price, &self.1))
            .collect()
    }
}

/// Who a price list applies to.
pub struct AssignmentObject(AssignmentTarget);

/// Who a price list applies to: one restaurant, a customer group, or every customer.
#[Object(name = "PriceListAssignment")]
impl AssignmentObject {
    /// The restaurant, when assigned to one (batched per request).
    async fn restaurant(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<RestaurantObject>> {
        let AssignmentTarget::Restaurant(id) = &self.0 else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .restaurants
            .load_one(*id)
            .await?
            .map(RestaurantObject::of))
    }
    /// The restaurant's id, when assigned to one.
    async fn restaurant_id(&self) -> Option<ID> {
        match &self.0 {
            AssignmentTarget::Restaurant(id) => Some(ID(id.to_string())),
            _ => None,
        }
    }
    /// The supplier's customer group, when assigned to one.
    async fn customer_group(&self) -> Option<&str> {
        match &self.0 {
            AssignmentTarget::CustomerGroup(name) => Some(name),
            _ => None,
        }
    }
    /// Whether it applies to every customer.
    async fn all_customers(&self) -> bool {
        self.0 == AssignmentTarget::AllCustomers
    }
}

/// A supplier's price list: negotiated or campaign prices for the restaurants it is assigned to.
pub struct PriceListObject(pub PriceList);

/// A supplier's price list: negotiated or campaign prices for the restaurants it is assigned to.
#[Object(name = "PriceList")]
impl PriceListObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The supplier (batched per request).
    async fn supplier(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SupplierObject>> {
        Ok(loaders(ctx)?
            .suppliers
            .load_one(self.0.supplier_id)
            .await?
            .map(SupplierObject))
    }
    /// Name, e.g. "Avtal 2027".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// ISO 4217 code of its prices (the supplier's).
    async fn currency(&self) -> &str {
        self.0.currency.as_str()
    }
    /// Valid from (inclusive, UTC); null: since always.
    async fn valid_from(&self) -> Option<DateTime<Utc>> {
        self.0.valid_from
    }
    /// Valid until (exclusive, UTC); null: open-ended.
    async fn valid_to(&self) -> Option<DateTime<Utc>> {
        self.0.valid_to
    }
    /// Higher wins when several lists price a product.
    async fn priority(&self) -> i32 {
        self.0.priority
    }
    /// Whether it prices anything.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Whether it prices anything now (active and within its window).
    async fn valid_now(&self) -> bool {
        let now = Utc::now();
        self.0.active
            && self.0.valid_from.is_none_or(|f| f <= now)
            && self.0.valid_to.is_none_or(|t| now < t)
    }
    /// Its products and their tiers.
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn entries(&self) -> Vec<PriceListEntryObject> {
        self.0
            .entries
            .iter()
            .cloned()
            .map(|e| PriceListEntryObject(e, self.0.currency.clone()))
            .collect()
    }
    /// Who it applies to.
    async fn assignments(&self) -> Vec<AssignmentObject> {
        self.0
            .assignments
            .iter()
            .cloned()
            .map(AssignmentObject)
            .collect()
    }
    /// When it was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// How a floor or ceiling is given.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum BoundKind {
    /// An absolute unit price.
    Absolute,
    /// A percentage of the product's base price (the price its supplier set).
    PercentOfBase,
}

/// A floor or ceiling of a dynamic rule.
#[derive(SimpleObject, InputObject)]
#[graphql(name = "PriceBound", input_name = "PriceBoundInput")]
pub struct BoundObject {
    /// ABSOLUTE or PERCENT_OF_BASE.
    kind: BoundKind,
    /// The price (ABSOLUTE), or the percentage of the base price (PERCENT_OF_BASE, 80 = 80 %).
    value: ExactDecimal,
}

impl From<Bound> for BoundObject {
    fn from(b: Bound) -> Self {
        match b {
            Bound::Absolute(v) => BoundObject {
                kind: BoundKind::Absolute,
                value: ExactDecimal(v),
            },
            Bound::PercentOfBase(v) => BoundObject {
                kind: BoundKind::PercentOfBase,
                value: ExactDecimal(v),
            },
        }
    }
}

impl From<BoundObject> for Bound {
    fn from(b: BoundObject) -> Self {
        match b.kind {
            BoundKind::Absolute => Bound::Absolute(b.value.0),
            BoundKind::PercentOfBase => Bound::PercentOfBase(b.value.0),
        }
    }
}

/// A supplier's dynamic price rule.
pub struct PriceRuleObject(PriceRule);

/// A supplier's opt-in dynamic price rule, for one product or a category: the hourly
/// `refresh-prices` job moves list prices by stock cover and demand trend within its bounds.
#[Object(name = "PriceRule")]
impl PriceRuleObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The product it governs, when it governs one.
    async fn product_id(&self) -> Option<ID> {
        self.0.product_id.map(|id| ID(id.to_string()))
    }
    /// The category it governs (every product in it without a rule of its own).
    async fn category(&self) -> Option<&str> {
        self.0.category.as_deref()
    }
    /// The lowest price it may set.
    async fn floor(&self) -> BoundObject {
        self.0.bounds.floor.into()
    }
    /// The highest price it may set.
    async fn ceiling(&self) -> BoundObject {
        self.0.bounds.ceiling.into()
    }
    /// Largest change of one run, in percent of the current price.
    async fn max_step_percent(&self) -> ExactDecimal {
        ExactDecimal(self.0.bounds.max_step_percent)
    }
    /// Stock cover (days) below which the price rises.
    async fn min_cover_days(&self) -> ExactDecimal {
        ExactDecimal(self.0.bounds.min_cover_days)
    }
    /// Stock cover (days) above which the price falls.
    async fn max_cover_days(&self) -> ExactDecimal {
        ExactDecimal(self.0.bounds.max_cover_days)
    }
    /// Whether the job applies it.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// When it last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One change of a product's list price by a dynamic rule.
pub struct PriceChangeObject(pub PriceChange);

/// One change of a product's list price by a dynamic rule.
#[Object(name = "PriceChange")]
impl PriceChangeObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The price before.
    async fn old_price(&self) -> MoneyObject {
        money(self.0.old_price, &self.0.currency)
    }
    /// The price after.
    async fn new_price(&self) -> MoneyObject {
        money(self.0.new_price, &self.0.currency)
    }
    /// Why, e.g. "excess cover".
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// The rule that moved it (the supplier's members and admins only).
    async fn rule_id(&self) -> Option<ID> {
        self.0.rule_id.map(|id| ID(id.to_string()))
    }
    /// The `refresh-prices` run that moved it (the supplier's members and admins only).
    async fn job_run_id(&self) -> Option<ID> {
        self.0.job_run_id.map(|id| ID(id.to_string()))
    }
    /// What the job measured (on hand, daily demand and its source, recent orders, cover
    /// days, trend, floor and ceiling), as JSON: the supplier's members and admins only (null
    /// for others, like `ruleId` and `jobRunId`).
    async fn signals(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        (!self.0.signals.is_null()).then(|| async_graphql::Json(self.0.signals.clone()))
    }
    /// When (UTC).
    async fn changed_at(&self) -> DateTime<Utc> {
        self.0.changed_at
    }
}

/// A price a refresh would set (or set).
#[derive(SimpleObject)]
pub struct ProposedPriceChange {
    /// The product.
    product_id: ID,
    /// Its SKU.
    sku: String,
    /// Its name.
    name: String,
    /// The rule.
    rule_id: ID,
    /// Today's list price.
    old_price: MoneyObject,
    /// The price the rule would set.
    new_price: MoneyObject,
    /// The rule's floor and ceiling for this product.
    floor: MoneyObject,
    /// The rule's ceiling for this product.
    ceiling: MoneyObject,
    /// Stock on hand ÷ daily demand, in days.
    cover_days: Option<ExactDecimal>,
    /// Recent orders ÷ forecast (1 = as forecast).
    trend: Option<ExactDecimal>,
    /// Expected units per day.
    daily_demand: Option<ExactDecimal>,
    /// FORECAST, RECENT_ORDERS or NONE.
    demand_source: String,
    /// Why.
    reason: String,
}

/// What a refresh of the dynamic prices would change, written nowhere.
#[derive(SimpleObject)]
pub struct PriceRefreshPreview {
    /// Products under an active rule.
    products: u64,
    /// Products whose price would change.
    changed: u64,
    /// Products whose price would stay.
    unchanged: u64,
    /// The changes (at most 1000).
    changes: Vec<ProposedPriceChange>,
}

impl From<domain::RefreshOutcome> for PriceRefreshPreview {
    fn from(o: domain::RefreshOutcome) -> Self {
        PriceRefreshPreview {
            products: o.products,
            changed: o.changed,
            unchanged: o.unchanged,
            changes: o
                .changes
                .into_iter()
                .map(|c| {
                    let currency = Currency::from_stored(&c.currency);
                    ProposedPriceChange {
                        product_id: ID(c.product_id.to_string()),
                        sku: c.sku,
                        name: c.name,
                        rule_id: ID(c.rule_id.to_string()),
                        old_price: money(c.proposal.old_price, &currency),
                        new_price: money(c.proposal.new_price, &currency),
                        floor: money(c.proposal.floor, &currency),
                        ceiling: money(c.proposal.ceiling, &currency),
                        cover_days: c.proposal.cover_days.map(ExactDecimal),
                        trend: c.proposal.trend.map(ExactDecimal),
                        daily_demand: c.signals.daily_demand.map(ExactDecimal),
                        demand_source: match c.signals.demand_source {
                            dynamic::DemandSource::Forecast => "FORECAST",
                            dynamic::DemandSource::RecentOrders => "RECENT_ORDERS",
                            dynamic::DemandSource::None => "NONE",
                        }
                        .into(),
                        reason: c.proposal.reason.into(),
                    }
                })
                .collect(),
        }
    }
}

/// How much each component of a recommendation weighs (they sum to 1).
#[derive(SimpleObject)]
pub struct RecommendationWeights {
    /// Reliability's weight.
    reliability: f64,
    /// Price's weight.
    price: f64,
    /// Proximity's weight.
    distance: f64,
}

/// A supplier recommended to a restaurant, with its score's components (each 0–1).
pub struct RecommendedSupplierObject(Recommendation);

/// A supplier recommended to a restaurant, with its score's components (each 0–1).
#[Object(name = "RecommendedSupplier")]
impl RecommendedSupplierObject {
    /// The supplier (batched per request).
    async fn supplier(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SupplierObject>> {
        Ok(loaders(ctx)?
            .suppliers
            .load_one(self.0.supplier_id)
            .await?
            .map(SupplierObject))
    }
    /// The weighted score, 0–1 (higher is better).
    async fn score(&self) -> f64 {
        self.0.score
    }
    /// Mean of on-time and fill rate (0.5 before its first delivery).
    async fn reliability(&self) -> f64 {
        self.0.reliability
    }
    /// Cheapest basket ÷ its basket, times the share of the basket it covers.
    async fn price(&self) -> f64 {
        self.0.price
    }
    /// 1 ÷ (1 + km ÷ 50); 0 when either party has no coordinates.
    async fn proximity(&self) -> f64 {
        self.0.proximity
    }
    /// Great-circle distance in km; null without coordinates.
    async fn distance_km(&self) -> Option<f64> {
        self.0.distance_km
    }
    /// The restaurant's typical basket at its prices (for this restaurant); null when it
    /// sells nothing of it.
    async fn basket_cost(&self) -> Option<MoneyObject> {
        self.0
            .basket_cost
            .map(|c| money(c, &Currency::from_stored(&self.0.currency)))
    }
    /// Share of the basket's items it has an equivalent of, 0–1.
    async fn coverage(&self) -> f64 {
        self.0.coverage
    }
    /// Its products in the category (or matching the query).
    async fn matching_products(&self) -> u64 {
        self.0.matching_products
    }
}

/// Suppliers for a restaurant, best first.
#[derive(SimpleObject)]
pub struct SupplierRecommendations {
    /// The weights used (RECOMMENDATION_WEIGHTS).
    weights: RecommendationWeights,
    /// Best first.
    suppliers: Vec<RecommendedSupplierObject>,
}

/// What unit prices are compared in.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "ComparableUnit")]
pub enum ComparableUnitKind {
    /// Per kilogram (KG and G products).
    Kg,
    /// Per litre (L and CL products).
    Litre,
    /// Per piece.
    Piece,
    /// Per pack.
    Pack,
    /// Per box.
    Box,
    /// Per case.
    Case,
}

/// An equivalent product at some supplier, priced for the restaurant.
pub struct PriceComparisonObject(Comparison, Uuid);

/// An equivalent product at some supplier, priced for the restaurant.
#[Object(name = "PriceComparison")]
impl PriceComparisonObject {
    /// The product.
    async fn product(&self) -> ProductObject {
        ProductObject::for_restaurant(std::sync::Arc::new(self.0.product.clone()), self.1)
    }
    /// Its price for the restaurant (one unit).
    async fn price(&self) -> ResolvedPriceObject {
        ResolvedPriceObject {
            price: self.0.price.clone(),
            quantity: 1,
        }
    }
    /// What unit `comparablePrice` is per.
    async fn comparable_unit(&self) -> ComparableUnitKind {
        self.0.comparable_unit.into()
    }
    /// The restaurant's unit price per kg, litre or piece (packs compare with packs).
    async fn comparable_price(&self) -> MoneyObject {
        money(self.0.comparable_price, &self.0.price.currency)
    }
    /// Name similarity to the product compared with, 0–1 (1 for itself).
    async fn similarity(&self) -> f64 {
        self.0.similarity
    }
}

#[derive(Default)]
pub struct PricingQuery;

#[Object]
impl PricingQuery {
    /// A supplier's price lists, newest first (its members and admins).
    #[allow(clippy::too_many_arguments)] // Relay's four arguments plus the supplier.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn price_lists(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The supplier (UUID).")] supplier_id: ID,
        #[graphql(desc = "The first n items after `after` (0–100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(desc = "The last n items before `before` (0–100).")] last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
    ) -> async_graphql::Result<RelayConnection<PriceListObject>> {
        let supplier = parse_id("supplierId", &supplier_id)?;
        let page = connection::page_request(ctx, first, after, last, before)?;
        let lists = services(ctx)?
            .pricing
            .lists(caller(ctx), supplier, &page)
            .await?;
        Ok(connection::connection(lists, PriceListObject))
    }

    /// One price list (its supplier's members and admins).
    async fn price_list(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The list (UUID).")] id: ID,
    ) -> async_graphql::Result<Option<PriceListObject>> {
        let id = parse_id("id", &id)?;
        Ok(Some(PriceListObject(
            services(ctx)?.pricing.list(caller(ctx), id).await?,
        )))
    }

    /// The restaurants of a supplier's customer group (its members and admins).
    async fn customer_group(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The supplier (UUID).")] supplier_id: ID,
        #[graphql(desc = "The group's name.")] name: String,
    ) -> async_graphql::Result<Vec<ID>> {
        let supplier = parse_id("supplierId", &supplier_id)?;
        Ok(services(ctx)?
            .pricing
            .customer_group(caller(ctx), supplier, &name)
            .await?
            .into_iter()
            .map(|id| ID(id.to_string()))
            .collect())
    }

    /// A supplier's dynamic price rules (its members and admins).
    async fn price_rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The supplier (UUID).")] supplier_id: ID,
    ) -> async_graphql::Result<Vec<PriceRuleObject>> {
        let supplier = parse_id("supplierId", &supplier_id)?;
        Ok(services(ctx)?
            .pricing
            .rules(caller(ctx), supplier)
            .await?
            .into_iter()
            .map(PriceRuleObject)
            .collect())
    }

    /// What the next `refresh-prices` run would change for the supplier now — a dry run that
    /// writes nothing (its members and admins).
    async fn preview_price_refresh(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The supplier (UUID).")] supplier_id: ID,
    ) -> async_graphql::Result<PriceRefreshPreview> {
        let supplier = parse_id("supplierId", &supplier_id)?;
        Ok(services(ctx)?
            .pricing
            .preview_refresh(caller(ctx), supplier)
            .await?
            .into())
    }

    /// Suppliers for a restaurant in a category (or for products matching a query), best
    /// first: score = reliability × w_r + price × w_p + proximity × w_d, every component shown
    /// (the restaurant's members and admins).
    async fn recommended_suppliers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant (UUID).")] restaurant_id: ID,
        #[graphql(desc = "A product category, e.g. \"Fisk\" (or give productQuery).")]
        category: Option<String>,
        #[graphql(desc = "Words of product names, e.g. \"lax\" (or give category).")]
        product_query: Option<String>,
        #[graphql(desc = "How many suppliers (1–50).", default = 10)] first: i32,
    ) -> async_graphql::Result<SupplierRecommendations> {
        let restaurant = parse_id("restaurantId", &restaurant_id)?;
        let found = services(ctx)?
            .pricing
            .recommend(
                caller(ctx),
                restaurant,
                category.as_deref(),
                product_query.as_deref(),
                usize::try_from(first).unwrap_or(0),
            )
            .await?;
        Ok(SupplierRecommendations {
            weights: RecommendationWeights {
                reliability: found.weights.reliability,
                price: found.weights.price,
                distance: found.weights.distance,
            },
            suppliers: found
                .suppliers
                .into_iter()
                .map(RecommendedSupplierObject)
                .collect(),
        })
    }

    /// A product and its equivalents at every supplier (same category, comparable unit,
    /// similar name), priced for the restaurant, cheapest per kg / litre / piece first (the
    /// restaurant's members and admins).
    async fn compare_prices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant (UUID).")] restaurant_id: ID,
        #[graphql(desc = "The product (UUID).")] product_id: ID,
    ) -> async_graphql::Result<Vec<PriceComparisonObject>> {
        let restaurant = parse_id("restaurantId", &restaurant_id)?;
        let product = parse_id("productId", &product_id)?;
        Ok(services(ctx)?
            .pricing
            .compare(caller(ctx), restaurant, product)
            .await?
            .into_iter()
            .map(|c| PriceComparisonObject(c, restaurant))
            .collect())
    }
}

/// One tier of one product.
#[derive(InputObject)]
pub struct PriceListEntryInput {
    /// The product (the supplier's).
    product_id: ID,
    /// The tier applies from this many units on (1 by default).
    min_quantity: Option<i64>,
    /// A fixed unit price (or give percentOff).
    price: Option<ExactDecimal>,
    /// Percent off the list price, above 0 and at most 100 (or give price).
    percent_off: Option<ExactDecimal>,
}

fn entries(entries: Vec<PriceListEntryInput>) -> Result<Vec<domain::EntryInput>, AppError> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            Ok(domain::EntryInput {
                product_id: parse_id(&format!("entries[{i}].productId"), &e.product_id)?,
                min_quantity: e.min_quantity,
                price: e.price.map(|p| p.0),
                percent_off: e.percent_off.map(|p| p.0),
            })
        })
        .collect()
}

/// A new price list.
#[derive(InputObject)]
pub struct CreatePriceListInput {
    /// The supplier (UUID).
    supplier_id: ID,
    /// Name, at most 100 characters.
    name: String,
    /// ISO 4217 code; the supplier's currency (the default) is the only one accepted.
    currency: Option<String>,
    /// Valid from (inclusive, UTC); open when absent.
    valid_from: Option<DateTime<Utc>>,
    /// Valid until (exclusive, UTC); open when absent.
    valid_to: Option<DateTime<Utc>>,
    /// −1000 to 1000, higher wins (0 by default).
    priority: Option<i32>,
    /// True by default.
    active: Option<bool>,
    /// Its products' tiers (at most 5000).
    #[graphql(default)]
    entries: Vec<PriceListEntryInput>,
}

/// Changes to a price list: what is given changes.
#[derive(InputObject)]
pub struct UpdatePriceListInput {
    /// The list (UUID).
    id: ID,
    /// New name.
    name: Option<String>,
    /// New start (inclusive, UTC).
    valid_from: Option<DateTime<Utc>>,
    /// Open the start (ignored when validFrom is given).
    #[graphql(default)]
    clear_valid_from: bool,
    /// New end (exclusive, UTC).
    valid_to: Option<DateTime<Utc>>,
    /// Open the end (ignored when validTo is given).
    #[graphql(default)]
    clear_valid_to: bool,
    /// New priority.
    priority: Option<i32>,
    /// Switch it on or off.
    active: Option<bool>,
    /// Replaces every entry when given.
    entries: Option<Vec<PriceListEntryInput>>,
}

/// The price list to delete.
#[derive(InputObject)]
pub struct DeletePriceListInput {
    /// The list (UUID).
    id: ID,
}

/// Who a price list is assigned to (or unassigned from): any mix.
#[derive(InputObject)]
pub struct AssignPriceListInput {
    /// The list (UUID).
    price_list_id: ID,
    /// Restaurants, one by one.
    #[graphql(default)]
    restaurant_ids: Vec<ID>,
    /// Customer groups of the supplier, by name.
    #[graphql(default)]
    customer_groups: Vec<String>,
    /// Every customer (a campaign).
    #[graphql(default)]
    all_customers: bool,
}

/// A supplier's customer group, as it is to be.
#[derive(InputObject)]
pub struct SetCustomerGroupInput {
    /// The supplier (UUID).
    supplier_id: ID,
    /// The group's name, at most 100 characters.
    name: String,
    /// Its restaurants (empty dissolves it; at most 1000).
    restaurant_ids: Vec<ID>,
}

/// A dynamic price rule (new, or `id` to change one).
#[derive(InputObject)]
pub struct SavePriceRuleInput {
    /// The rule to change; a new rule when absent.
    id: Option<ID>,
    /// The supplier (UUID).
    supplier_id: ID,
    /// The product it governs (or give category).
    product_id: Option<ID>,
    /// The category it governs (or give productId).
    category: Option<String>,
    /// The lowest price it may set.
    floor: BoundObject,
    /// The highest price it may set.
    ceiling: BoundObject,
    /// Largest change of one run, percent of the current price, above 0 and at most 50.
    max_step_percent: ExactDecimal,
    /// Stock cover (days) below which the price rises (7 by default).
    min_cover_days: Option<ExactDecimal>,
    /// Stock cover (days) above which the price falls (21 by default).
    max_cover_days: Option<ExactDecimal>,
    /// Whether the job applies it (true by default).
    active: Option<bool>,
}

/// The rule to delete.
#[derive(InputObject)]
pub struct DeletePriceRuleInput {
    /// The rule (UUID).
    id: ID,
}

/// Result of a price list change.
#[derive(SimpleObject)]
pub struct PriceListPayload {
    /// The list after the change.
    price_list: PriceListObject,
}

/// Result of `deletePriceList`.
#[derive(SimpleObject)]
pub struct DeletePriceListPayload {
    /// The deleted list's id.
    deleted_id: ID,
}

/// Result of `setCustomerGroup`.
#[derive(SimpleObject)]
pub struct CustomerGroupPayload {
    /// The group's name.
    name: String,
    /// Its restaurants now.
    restaurant_ids: Vec<ID>,
}

/// Result of `savePriceRule`.
#[derive(SimpleObject)]
pub struct PriceRulePayload {
    /// The rule as saved.
    price_rule: PriceRuleObject,
}

/// Result of `deletePriceRule`.
#[derive(SimpleObject)]
pub struct DeletePriceRulePayload {
    /// The deleted rule's id.
    deleted_id: ID,
}

fn targets(input: &AssignPriceListInput) -> Result<Vec<AssignmentTarget>, AppError> {
    let mut targets = Vec::new();
    for (i, id) in input.restaurant_ids.iter().enumerate() {
        targets.push(AssignmentTarget::Restaurant(parse_id(
            &format!("restaurantIds[{i}]"),
            id,
        )?));
    }
    targets.extend(
        input
            .customer_groups
            .iter()
            .cloned()
            .map(AssignmentTarget::CustomerGroup),
    );
    if input.all_customers {
        targets.push(AssignmentTarget::AllCustomers);
    }
    Ok(targets)
}

#[derive(Default)]
pub struct PricingMutation;

#[Object]
impl PricingMutation {
    /// Creates a price list with its entries (the supplier's members and admins; audited).
    async fn create_price_list(
        &self,
        ctx: &Context<'_>,
        input: CreatePriceListInput,
    ) -> async_graphql::Result<PriceListPayload> {
        let list = services(ctx)?
            .pricing
            .create_list(
                caller(ctx),
                domain::NewPriceList {
                    supplier_id: parse_id("supplierId", &input.supplier_id)?,
                    name: input.name,
                    currency: input.currency,
                    valid_from: input.valid_from,
                    valid_to: input.valid_to,
                    priority: input.priority,
                    active: input.active,
                    entries: entries(input.entries)?,
                },
            )
            .await?;
        Ok(PriceListPayload {
            price_list: PriceListObject(list),
        })
    }

    /// Changes a price list; given entries replace all of them (audited).
    async fn update_price_list(
        &self,
        ctx: &Context<'_>,
        input: UpdatePriceListInput,
    ) -> async_graphql::Result<PriceListPayload> {
        let id = parse_id("id", &input.id)?;
        let window = |at: Option<DateTime<Utc>>, clear: bool| match (at, clear) {
            (Some(at), _) => Some(Some(at)),
            (None, true) => Some(None),
            (None, false) => None,
        };
        let list = services(ctx)?
            .pricing
            .update_list(
                caller(ctx),
                id,
                PriceListChanges {
                    name: input.name,
                    valid_from: window(input.valid_from, input.clear_valid_from),
                    valid_to: window(input.valid_to, input.clear_valid_to),
                    priority: input.priority,
                    active: input.active,
                    entries: input.entries.map(entries).transpose()?,
                },
            )
            .await?;
        Ok(PriceListPayload {
            price_list: PriceListObject(list),
        })
    }

    /// Deletes a price list: it prices nothing from now on; placed orders keep their prices
    /// (audited).
    async fn delete_price_list(
        &self,
        ctx: &Context<'_>,
        input: DeletePriceListInput,
    ) -> async_graphql::Result<DeletePriceListPayload> {
        let id = parse_id("id", &input.id)?;
        let id = services(ctx)?.pricing.delete_list(caller(ctx), id).await?;
        Ok(DeletePriceListPayload {
            deleted_id: ID(id.to_string()),
        })
    }

    /// Assigns a price list to restaurants, customer groups or every customer (audited).
    async fn assign_price_list(
        &self,
        ctx: &Context<'_>,
        input: AssignPriceListInput,
    ) -> async_graphql::Result<PriceListPayload> {
        let id = parse_id("priceListId", &input.price_list_id)?;
        let targets = targets(&input)?;
        let list = services(ctx)?
            .pricing
            .assign(caller(ctx), id, targets, false)
            .await?;
        Ok(PriceListPayload {
            price_list: PriceListObject(list),
        })
    }

    /// Takes assignments of a price list away (audited).
    async fn unassign_price_list(
        &self,
        ctx: &Context<'_>,
        input: AssignPriceListInput,
    ) -> async_graphql::Result<PriceListPayload> {
        let id = parse_id("priceListId", &input.price_list_id)?;
        let targets = targets(&input)?;
        let list = services(ctx)?
            .pricing
            .assign(caller(ctx), id, targets, true)
            .await?;
        Ok(PriceListPayload {
            price_list: PriceListObject(list),
        })
    }

    /// Makes a supplier's customer group exactly these restaurants (audited).
    async fn set_customer_group(
        &self,
        ctx: &Context<'_>,
        input: SetCustomerGroupInput,
    ) -> async_graphql::Result<CustomerGroupPayload> {
        let supplier = parse_id("supplierId", &input.supplier_id)?;
        let members = input
            .restaurant_ids
            .iter()
            .enumerate()
            .map(|(i, id)| parse_id(&format!("restaurantIds[{i}]"), id))
            .collect::<Result<Vec<_>, _>>()?;
        let members = services(ctx)?
            .pricing
            .set_customer_group(caller(ctx), supplier, &input.name, members)
            .await?;
        Ok(CustomerGroupPayload {
            name: input.name.trim().to_owned(),
            restaurant_ids: members.into_iter().map(|id| ID(id.to_string())).collect(),
        })
    }

    /// Creates or changes a dynamic price rule (the supplier's members and admins; audited).
    async fn save_price_rule(
        &self,
        ctx: &Context<'_>,
        input: SavePriceRuleInput,
    ) -> async_graphql::Result<PriceRulePayload> {
        let rule = services(ctx)?
            .pricing
            .save_rule(
                caller(ctx),
                domain::PriceRuleInput {
                    id: input.id.as_ref().map(|id| parse_id("id", id)).transpose()?,
                    supplier_id: parse_id("supplierId", &input.supplier_id)?,
                    product_id: input
                        .product_id
                        .as_ref()
                        .map(|id| parse_id("productId", id))
                        .transpose()?,
                    category: input.category,
                    bounds: dynamic::RuleBounds {
                        floor: input.floor.into(),
                        ceiling: input.ceiling.into(),
                        max_step_percent: input.max_step_percent.0,
                        min_cover_days: input
                            .min_cover_days
                            .map_or(Decimal::from(domain::DEFAULT_MIN_COVER_DAYS), |d| d.0),
                        max_cover_days: input
                            .max_cover_days
                            .map_or(Decimal::from(domain::DEFAULT_MAX_COVER_DAYS), |d| d.0),
                    },
                    active: input.active.unwrap_or(true),
                },
            )
            .await?;
        Ok(PriceRulePayload {
            price_rule: PriceRuleObject(rule),
        })
    }

    /// Deletes a dynamic price rule; prices it set stay (audited).
    async fn delete_price_rule(
        &self,
        ctx: &Context<'_>,
        input: DeletePriceRuleInput,
    ) -> async_graphql::Result<DeletePriceRulePayload> {
        let id = parse_id("id", &input.id)?;
        let id = services(ctx)?
            .pricing
            .delete_rule(caller(ctx), None, id)
            .await?;
        Ok(DeletePriceRulePayload {
            deleted_id: ID(id.to_string()),
        })
    }
}
