//! Planning over GraphQL: `forecast`, `reorderPolicies`, `reorderSuggestions`, and the
//! mutations `setReorderPolicy` and `applyReorderSuggestions`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::{
    caller,
    carts::CartObject,
    common::{ExactDecimal, MoneyObject, parse_id},
    services,
};
use crate::{
    domain::planning::{
        self as domain, ItemPolicy, PolicyInput, ReorderSuggestions, Scope, StoredForecast,
        SuggestionLine, SupplierSuggestion,
        forecasting::Model,
        policies::{Policy, PolicyKind},
    },
    error::AppError,
};

/// Which model made a forecast.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "Model")]
pub enum ForecastModel {
    /// MSTL decomposition with a weekly period, the trend forecast by AutoETS.
    MstlEts,
    /// Each weekday repeats last week's value (histories of two to seven weeks, or where it
    /// backtested better).
    SeasonalNaive,
    /// The mean of the last four weeks (histories under two weeks).
    Mean,
}

/// What a demand series was built from.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::Source")]
pub enum DemandSource {
    /// Usage recorded in the restaurant's inventory.
    Usage,
    /// Ordered quantities.
    Orders,
}

/// How an inventory item is reordered.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "PolicyKind")]
pub enum ReorderPolicyKind {
    /// At or below min, order up to max (rounded up to whole packs).
    MinMax,
    /// (s, S): at or below s, order up to S in whole packs without passing S.
    #[graphql(name = "S_S")]
    SS,
    /// At or below the reorder point, order the economic order quantity √(2DK/H).
    Eoq,
    /// Order what the forecast will use until the delivery after the next, plus safety stock.
    ForecastCover,
}

/// How the model did on the last 28 days, held out.
#[derive(SimpleObject)]
pub struct ForecastAccuracy {
    /// Symmetric mean absolute percentage error, 0–200 (%).
    smape: f64,
    /// Mean absolute scaled error (below 1 beats in-sample seasonal-naive); null when the
    /// history never changed week to week.
    mase: Option<f64>,
    /// Seasonal-naive's sMAPE on the same days, for comparison.
    seasonal_naive_smape: f64,
}

/// One forecast day, in the product's unit.
#[derive(SimpleObject)]
pub struct ForecastPoint {
    /// The day (UTC).
    date: NaiveDate,
    /// Expected demand.
    quantity: ExactDecimal,
    /// Lower bound of the 80 % interval.
    lower80: ExactDecimal,
    /// Upper bound of the 80 % interval.
    upper80: ExactDecimal,
    /// Lower bound of the 95 % interval.
    lower95: ExactDecimal,
    /// Upper bound of the 95 % interval.
    upper95: ExactDecimal,
}

/// A product's demand forecast for a restaurant or a supplier.
#[derive(SimpleObject)]
pub struct Forecast {
    /// The product.
    product_id: ID,
    /// The restaurant or supplier whose demand it is.
    owner_id: ID,
    /// What the history was built from.
    source: DemandSource,
    /// The model used.
    model: ForecastModel,
    /// Days of history it was fitted on.
    history_days: i32,
    /// Measured accuracy; null when the history was too short to hold days out.
    accuracy: Option<ForecastAccuracy>,
    /// Its first days were adjusted for the weather forecast (the temperature backtested
    /// better for this series).
    weather_adjusted: bool,
    /// Orders were placed since it was made; the next run refreshes it.
    stale: bool,
    /// When it was made (UTC).
    generated_at: DateTime<Utc>,
    /// Its days from today on.
    points: Vec<ForecastPoint>,
}

impl From<StoredForecast> for Forecast {
    fn from(f: StoredForecast) -> Self {
        let s = f.series;
        Forecast {
            product_id: ID(s.product_id.to_string()),
            owner_id: ID(s.owner_id.to_string()),
            source: s.source.into(),
            model: s.model.into(),
            history_days: s.history_days,
            accuracy: match (s.smape, s.naive_smape) {
                (Some(smape), Some(naive)) => Some(ForecastAccuracy {
                    smape,
                    mase: s.mase,
                    seasonal_naive_smape: naive,
                }),
                _ => None,
            },
            weather_adjusted: s.weather_adjusted,
            stale: s.stale,
            generated_at: s.generated_at,
            points: f
                .points
                .into_iter()
                .map(|p| ForecastPoint {
                    date: p.day,
                    quantity: ExactDecimal(p.point),
                    lower80: ExactDecimal(p.lower80),
                    upper80: ExactDecimal(p.upper80),
                    lower95: ExactDecimal(p.lower95),
                    upper95: ExactDecimal(p.upper95),
                })
                .collect(),
        }
    }
}

/// An inventory item's reorder policy.
#[derive(SimpleObject)]
pub struct ReorderPolicy {
    /// The inventory item.
    item_id: ID,
    /// How it is reordered.
    kind: ReorderPolicyKind,
    /// False when none was set and this is the default (MIN_MAX on the item's par and target
    /// levels, else FORECAST_COVER at 95 %).
    set: bool,
    /// MIN_MAX's min, S_S's s.
    min: Option<ExactDecimal>,
    /// MIN_MAX's max, S_S's S.
    max: Option<ExactDecimal>,
    /// EOQ's cost of placing one order.
    order_cost: Option<ExactDecimal>,
    /// EOQ's cost of holding one unit for a year.
    holding_cost: Option<ExactDecimal>,
    /// Service level of safety stock (EOQ, FORECAST_COVER), e.g. "0.95".
    service_level: Option<ExactDecimal>,
    /// When it was set (UTC).
    updated_at: Option<DateTime<Utc>>,
}

impl From<ItemPolicy> for ReorderPolicy {
    fn from(p: ItemPolicy) -> Self {
        let mut policy = ReorderPolicy {
            item_id: ID(p.item_id.to_string()),
            kind: p.policy.kind().into(),
            set: p.set,
            min: None,
            max: None,
            order_cost: None,
            holding_cost: None,
            service_level: None,
            updated_at: p.updated_at,
        };
        match p.policy {
            Policy::MinMax { min, max } => {
                (policy.min, policy.max) = (Some(ExactDecimal(min)), Some(ExactDecimal(max)));
            }
            Policy::SS { s, big_s } => {
                (policy.min, policy.max) = (Some(ExactDecimal(s)), Some(ExactDecimal(big_s)));
            }
            Policy::Eoq {
                order_cost,
                holding_cost,
                service_level,
            } => {
                policy.order_cost = Some(ExactDecimal(order_cost));
                policy.holding_cost = Some(ExactDecimal(holding_cost));
                policy.service_level = Some(ExactDecimal(service_level));
            }
            Policy::ForecastCover { service_level } => {
                policy.service_level = Some(ExactDecimal(service_level));
            }
        }
        policy
    }
}

/// A suggested line: how much of an item's product to order, and the numbers behind it.
#[derive(SimpleObject)]
pub struct ReorderSuggestionLine {
    /// The inventory item.
    item_id: ID,
    /// Its name.
    item_name: String,
    /// The product to order.
    product_id: ID,
    /// The item's unit.
    unit: String,
    /// The policy that decided.
    policy: ReorderPolicyKind,
    /// What the ledger holds now.
    on_hand: ExactDecimal,
    /// What open orders will deliver.
    on_order: ExactDecimal,
    /// Units per pack: the quantity is whole packs.
    pack_size: ExactDecimal,
    /// The policy's quantity.
    quantity: ExactDecimal,
    /// Units that go in the cart (the quantity rounded up to whole units).
    cart_quantity: i64,
    /// Forecast demand over the days the order covers.
    forecast_demand: Option<ExactDecimal>,
    /// Safety stock at the policy's service level.
    safety_stock: Option<ExactDecimal>,
    /// The level at or below which the policy orders.
    reorder_point: Option<ExactDecimal>,
    /// The level the policy orders up to.
    order_up_to: Option<ExactDecimal>,
    /// EOQ's economic order quantity, before pack rounding.
    economic_order_quantity: Option<ExactDecimal>,
    /// Why, in one sentence.
    reason: String,
    /// Today's unit price.
    unit_price: MoneyObject,
    /// Unit price × cart quantity.
    line_total: MoneyObject,
}

impl From<SuggestionLine> for ReorderSuggestionLine {
    fn from(l: SuggestionLine) -> Self {
        let w = l.workings;
        ReorderSuggestionLine {
            item_id: ID(l.item_id.to_string()),
            item_name: l.item_name,
            product_id: ID(l.product_id.to_string()),
            unit: l.unit,
            policy: l.policy.into(),
            on_hand: ExactDecimal(l.on_hand),
            on_order: ExactDecimal(l.on_order),
            pack_size: ExactDecimal(l.pack_size),
            quantity: ExactDecimal(w.quantity),
            cart_quantity: l.cart_quantity,
            forecast_demand: w.forecast_demand.map(ExactDecimal),
            safety_stock: w.safety_stock.map(ExactDecimal),
            reorder_point: w.reorder_point.map(ExactDecimal),
            order_up_to: w.order_up_to.map(ExactDecimal),
            economic_order_quantity: w.economic_order_quantity.map(ExactDecimal),
            reason: w.reason,
            unit_price: l.unit_price.into(),
            line_total: l.line_total.into(),
        }
    }
}

/// One supplier's suggested lines.
#[derive(SimpleObject)]
pub struct SupplierReorderSuggestion {
    /// The supplier.
    supplier_id: ID,
    /// Its name.
    supplier_name: String,
    /// The earliest delivery day it offers (null: it has no delivery days).
    delivery_date: Option<NaiveDate>,
    /// Days until then.
    lead_days: Option<u32>,
    /// The lines, by item name.
    lines: Vec<ReorderSuggestionLine>,
    /// The lines' total at today's prices.
    subtotal: MoneyObject,
    /// The supplier's minimum order value.
    minimum_order_value: MoneyObject,
    /// The subtotal is below the minimum: add to the order or wait.
    below_minimum: bool,
    /// What the subtotal lacks to reach the minimum (zero when it does).
    shortfall: MoneyObject,
}

impl From<SupplierSuggestion> for SupplierReorderSuggestion {
    fn from(s: SupplierSuggestion) -> Self {
        SupplierReorderSuggestion {
            supplier_id: ID(s.supplier_id.to_string()),
            supplier_name: s.supplier_name,
            delivery_date: s.delivery_date,
            lead_days: s.lead_days,
            lines: s.lines.into_iter().map(Into::into).collect(),
            subtotal: s.subtotal.into(),
            minimum_order_value: s.minimum_order_value.into(),
            below_minimum: s.below_minimum,
            shortfall: s.shortfall.into(),
        }
    }
}

/// An item no suggestion could be made for.
#[derive(SimpleObject)]
pub struct SkippedReorderItem {
    /// The inventory item.
    item_id: ID,
    /// Its name.
    item_name: String,
    /// Why.
    reason: String,
}

/// What a restaurant should order now, supplier by supplier.
#[derive(SimpleObject)]
#[graphql(name = "ReorderSuggestions")]
pub struct ReorderSuggestionsObject {
    /// The restaurant.
    restaurant_id: ID,
    /// When they were computed (UTC).
    generated_at: DateTime<Utc>,
    /// Suppliers with lines to order, by name.
    suppliers: Vec<SupplierReorderSuggestion>,
    /// Items nothing could be suggested for, and why.
    skipped: Vec<SkippedReorderItem>,
}

impl From<ReorderSuggestions> for ReorderSuggestionsObject {
    fn from(r: ReorderSuggestions) -> Self {
        ReorderSuggestionsObject {
            restaurant_id: ID(r.restaurant_id.to_string()),
            generated_at: r.generated_at,
            suppliers: r.suppliers.into_iter().map(Into::into).collect(),
            skipped: r
                .skipped
                .into_iter()
                .map(|s| SkippedReorderItem {
                    item_id: ID(s.item_id.to_string()),
                    item_name: s.item_name,
                    reason: s.reason,
                })
                .collect(),
        }
    }
}

/// An inventory item's reorder policy; give the parameters its kind needs.
#[derive(InputObject)]
pub struct SetReorderPolicyInput {
    /// The inventory item (of a product).
    item_id: ID,
    /// How it is reordered.
    kind: ReorderPolicyKind,
    /// MIN_MAX's min (the item's par level by default), S_S's s (required).
    min: Option<ExactDecimal>,
    /// MIN_MAX's max (the item's target level by default), S_S's S (required); not below min.
    max: Option<ExactDecimal>,
    /// EOQ: cost of placing one order (required).
    order_cost: Option<ExactDecimal>,
    /// EOQ: cost of holding one unit for a year, more than 0 (required).
    holding_cost: Option<ExactDecimal>,
    /// EOQ, FORECAST_COVER: service level of safety stock, 0.5–0.999 (0.95 by default).
    service_level: Option<ExactDecimal>,
}

/// Result of `setReorderPolicy`.
#[derive(SimpleObject)]
pub struct ReorderPolicyPayload {
    /// The policy as set.
    policy: ReorderPolicy,
}

/// Which suggested lines go in the cart.
#[derive(InputObject)]
pub struct ApplyReorderSuggestionsInput {
    /// The restaurant.
    restaurant_id: ID,
    /// The products whose suggested lines to apply (all suggested lines when omitted).
    product_ids: Option<Vec<ID>>,
}

/// Result of `applyReorderSuggestions`.
#[derive(SimpleObject)]
pub struct ApplyReorderSuggestionsPayload {
    /// The cart after the change.
    cart: CartObject,
    /// The lines put in it (each product's cart quantity set to the suggestion).
    applied: Vec<ReorderSuggestionLine>,
}

#[derive(Default)]
pub struct PlanningQuery;

#[Object]
impl PlanningQuery {
    /// A product's demand forecast for a restaurant or a supplier (give exactly one), from
    /// today on; null before the first `forecast-demand` run with demand for it. The owner's
    /// members and admins.
    async fn forecast(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant whose demand.")] restaurant_id: Option<ID>,
        #[graphql(desc = "The supplier whose demand (all restaurants' orders).")]
        supplier_id: Option<ID>,
        #[graphql(desc = "The product.")] product_id: ID,
    ) -> async_graphql::Result<Option<Forecast>> {
        let product = parse_id("productId", &product_id)?;
        let (scope, owner) = match (restaurant_id, supplier_id) {
            (Some(r), None) => (Scope::Restaurant, parse_id("restaurantId", &r)?),
            (None, Some(s)) => (Scope::Supplier, parse_id("supplierId", &s)?),
            _ => {
                return Err(AppError::validation(
                    "restaurantId",
                    "give exactly one of restaurantId and supplierId",
                )
                .into());
            }
        };
        let forecast = services(ctx)?
            .planning
            .forecast(caller(ctx), scope, owner, product)
            .await?;
        Ok(forecast.map(Into::into))
    }

    /// The reorder policy of each of a restaurant's product items, set or default.
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn reorder_policies(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant.")] restaurant_id: ID,
    ) -> async_graphql::Result<Vec<ReorderPolicy>> {
        let restaurant = parse_id("restaurantId", &restaurant_id)?;
        let policies = services(ctx)?
            .planning
            .policies(caller(ctx), restaurant)
            .await?;
        Ok(policies.into_iter().map(Into::into).collect())
    }

    /// What a restaurant should order now: lines grouped by supplier, each with its policy and
    /// the numbers behind it; minimum order values and delivery days respected.
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn reorder_suggestions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant.")] restaurant_id: ID,
    ) -> async_graphql::Result<ReorderSuggestionsObject> {
        let restaurant = parse_id("restaurantId", &restaurant_id)?;
        let suggestions = services(ctx)?
            .planning
            .reorder_suggestions(caller(ctx), restaurant)
            .await?;
        Ok(suggestions.into())
    }
}

#[derive(Default)]
pub struct PlanningMutation;

#[Object]
impl PlanningMutation {
    /// Sets how an inventory item is reordered (the restaurant's members and admins; audited).
    async fn set_reorder_policy(
        &self,
        ctx: &Context<'_>,
        input: SetReorderPolicyInput,
    ) -> async_graphql::Result<ReorderPolicyPayload> {
        let input = PolicyInput {
            item_id: parse_id("itemId", &input.item_id)?,
            kind: input.kind.into(),
            min: input.min.map(|d| d.0),
            max: input.max.map(|d| d.0),
            order_cost: input.order_cost.map(|d| d.0),
            holding_cost: input.holding_cost.map(|d| d.0),
            service_level: input.service_level.map(|d| d.0),
        };
        let policy = services(ctx)?
            .planning
            .set_policy(caller(ctx), input)
            .await?;
        Ok(ReorderPolicyPayload {
            policy: policy.into(),
        })
    }

    /// Puts suggested lines in the restaurant's cart (all, or those of `productIds`), setting
    /// each product's cart quantity to the suggestion — all or nothing.
    async fn apply_reorder_suggestions(
        &self,
        ctx: &Context<'_>,
        input: ApplyReorderSuggestionsInput,
    ) -> async_graphql::Result<ApplyReorderSuggestionsPayload> {
        let restaurant = parse_id("restaurantId", &input.restaurant_id)?;
        let products = input
            .product_ids
            .map(|ids| {
                ids.iter()
                    .enumerate()
                    .map(|(i, id)| parse_id(&format!("productIds[{i}]"), id))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let (cart, applied) = services(ctx)?
            .planning
            .apply_suggestions(caller(ctx), restaurant, products)
            .await?;
        Ok(ApplyReorderSuggestionsPayload {
            cart: CartObject(cart),
            applied: applied.into_iter().map(Into::into).collect(),
        })
    }
}
