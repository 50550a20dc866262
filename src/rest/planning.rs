//! Planning over REST: forecasts (`/restaurants/{id}/forecasts/{productId}`,
//! `/suppliers/{id}/forecasts/{productId}`), reorder policies and reorder suggestions.

use axum::{Json, extract::State};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    MoneyDto,
    extract::{ApiJson, ApiPath},
};
use crate::{
    domain::planning::{
        ItemPolicy, PolicyInput, ReorderSuggestions, Scope, StoredForecast, SuggestionLine,
        policies::{Policy, PolicyKind},
    },
    error::{AppError, ErrorEnvelope},
    web::{ApiState, extract::SignedIn},
};

/// One forecast day, in the product's unit.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForecastPointDto {
    date: NaiveDate,
    #[schema(value_type = String)]
    quantity: Decimal,
    #[schema(value_type = String)]
    lower80: Decimal,
    #[schema(value_type = String)]
    upper80: Decimal,
    #[schema(value_type = String)]
    lower95: Decimal,
    #[schema(value_type = String)]
    upper95: Decimal,
}

/// How the model did on the last 28 days, held out.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccuracyDto {
    /// sMAPE, 0–200 (%).
    smape: f64,
    /// MASE (below 1 beats in-sample seasonal-naive).
    mase: Option<f64>,
    /// Seasonal-naive's sMAPE on the same days.
    seasonal_naive_smape: f64,
}

/// A product's demand forecast.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForecastDto {
    product_id: Uuid,
    owner_id: Uuid,
    /// USAGE or ORDERS.
    source: &'static str,
    /// MSTL_ETS, SEASONAL_NAIVE or MEAN.
    model: &'static str,
    history_days: i32,
    accuracy: Option<AccuracyDto>,
    /// Its first days were adjusted for the weather forecast.
    weather_adjusted: bool,
    /// Orders were placed since it was made.
    stale: bool,
    generated_at: DateTime<Utc>,
    /// From today on.
    points: Vec<ForecastPointDto>,
}

impl From<StoredForecast> for ForecastDto {
    fn from(f: StoredForecast) -> Self {
        let s = f.series;
        ForecastDto {
            product_id: s.product_id,
            owner_id: s.owner_id,
            source: s.source.as_str(),
            model: s.model.as_str(),
            history_days: s.history_days,
            accuracy: match (s.smape, s.naive_smape) {
                (Some(smape), Some(naive)) => Some(AccuracyDto {
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
                .map(|p| ForecastPointDto {
                    date: p.day,
                    quantity: p.point,
                    lower80: p.lower80,
                    upper80: p.upper80,
                    lower95: p.lower95,
                    upper95: p.upper95,
                })
                .collect(),
        }
    }
}

/// A forecast.
#[derive(Serialize, ToSchema)]
pub struct ForecastResponse {
    data: ForecastDto,
}

async fn forecast(
    state: &ApiState,
    caller: &crate::auth::Caller,
    scope: Scope,
    (owner, product): (Uuid, Uuid),
) -> Result<Json<ForecastResponse>, AppError> {
    let found = state
        .services
        .planning
        .forecast(caller, scope, owner, product)
        .await?
        .ok_or_else(|| AppError::not_found("Forecast of product", product))?;
    Ok(Json(ForecastResponse { data: found.into() }))
}

/// A product's demand forecast for a restaurant, from today on (its members and admins).
#[utoipa::path(
    get, path = "/api/v1/restaurants/{id}/forecasts/{productId}", tag = "planning",
    params(
        ("id" = Uuid, Path, description = "Restaurant id"),
        ("productId" = Uuid, Path, description = "Product id"),
    ),
    responses(
        (status = 200, description = "The forecast", body = ForecastResponse),
        (status = 404, description = "No forecast yet (or no such restaurant for the caller)", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn restaurant_forecast(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(ids): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<ForecastResponse>, AppError> {
    forecast(&state, &caller, Scope::Restaurant, ids).await
}

/// A product's demand forecast for its supplier (all restaurants' orders), from today on
/// (the supplier's members and admins).
#[utoipa::path(
    get, path = "/api/v1/suppliers/{id}/forecasts/{productId}", tag = "planning",
    params(
        ("id" = Uuid, Path, description = "Supplier id"),
        ("productId" = Uuid, Path, description = "Product id"),
    ),
    responses(
        (status = 200, description = "The forecast", body = ForecastResponse),
        (status = 404, description = "No forecast yet", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn supplier_forecast(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(ids): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<ForecastResponse>, AppError> {
    forecast(&state, &caller, Scope::Supplier, ids).await
}

/// An inventory item's reorder policy.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDto {
    item_id: Uuid,
    /// MIN_MAX, S_S, EOQ or FORECAST_COVER.
    kind: &'static str,
    /// False when none was set and this is the default.
    set: bool,
    #[schema(value_type = Option<String>)]
    min: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    max: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    order_cost: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    holding_cost: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    service_level: Option<Decimal>,
    updated_at: Option<DateTime<Utc>>,
}

impl From<ItemPolicy> for PolicyDto {
    fn from(p: ItemPolicy) -> Self {
        let (mut min, mut max, mut order_cost, mut holding_cost, mut service_level) =
            (None, None, None, None, None);
        match p.policy {
            Policy::MinMax { min: lo, max: hi } | Policy::SS { s: lo, big_s: hi } => {
                (min, max) = (Some(lo), Some(hi));
            }
            Policy::Eoq {
                order_cost: k,
                holding_cost: h,
                service_level: level,
            } => (order_cost, holding_cost, service_level) = (Some(k), Some(h), Some(level)),
            Policy::ForecastCover {
                service_level: level,
            } => service_level = Some(level),
        }
        PolicyDto {
            item_id: p.item_id,
            kind: p.policy.kind().as_str(),
            set: p.set,
            min,
            max,
            order_cost,
            holding_cost,
            service_level,
            updated_at: p.updated_at,
        }
    }
}

/// The policies.
#[derive(Serialize, ToSchema)]
pub struct PoliciesResponse {
    data: Vec<PolicyDto>,
}

/// One policy.
#[derive(Serialize, ToSchema)]
pub struct PolicyResponse {
    data: PolicyDto,
}

/// The reorder policy of each of a restaurant's product items, set or default.
#[utoipa::path(
    get, path = "/api/v1/restaurants/{id}/reorder-policies", tag = "planning",
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses((status = 200, description = "The policies", body = PoliciesResponse)),
    security(("bearer" = []))
)]
pub async fn policies(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
) -> Result<Json<PoliciesResponse>, AppError> {
    let policies = state
        .services
        .planning
        .policies(&caller, restaurant)
        .await?;
    Ok(Json(PoliciesResponse {
        data: policies.into_iter().map(Into::into).collect(),
    }))
}

/// How an item is reordered; give the parameters its kind needs.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRequest {
    #[schema(pattern = "^(MIN_MAX|S_S|EOQ|FORECAST_COVER)$")]
    kind: String,
    /// MIN_MAX's min (the item's par level by default), S_S's s (required).
    #[schema(value_type = Option<String>, format = "iris-amount")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    min: Option<Decimal>,
    /// MIN_MAX's max (the item's target level by default), S_S's S (required); not below min.
    #[schema(value_type = Option<String>, format = "iris-amount")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    max: Option<Decimal>,
    /// EOQ: the cost of placing one order (required).
    #[schema(value_type = Option<String>, format = "iris-amount")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    order_cost: Option<Decimal>,
    /// EOQ: the cost of holding one unit for a year, more than 0 (required).
    #[schema(value_type = Option<String>, format = "iris-price")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    holding_cost: Option<Decimal>,
    /// EOQ, FORECAST_COVER: 0.5–0.999 (0.95 by default).
    #[schema(value_type = Option<String>, format = "iris-service-level", example = "0.95")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    service_level: Option<Decimal>,
}

/// Set how an inventory item is reordered (audited).
#[utoipa::path(
    put, path = "/api/v1/restaurants/{id}/inventory/{itemId}/reorder-policy", tag = "planning",
    params(
        ("id" = Uuid, Path, description = "Restaurant id"),
        ("itemId" = Uuid, Path, description = "Item id"),
    ),
    request_body = PolicyRequest,
    responses((status = 200, description = "The policy as set", body = PolicyResponse)),
    security(("bearer" = []))
)]
pub async fn set_policy(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((restaurant, item)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<PolicyRequest>,
) -> Result<Json<PolicyResponse>, AppError> {
    let kind = PolicyKind::of_stored(&body.kind).ok_or_else(|| {
        AppError::validation("kind", "must be MIN_MAX, S_S, EOQ or FORECAST_COVER")
    })?;
    state
        .services
        .inventory
        .check_item_of(&caller, restaurant, item)
        .await?;
    let policy = state
        .services
        .planning
        .set_policy(
            &caller,
            PolicyInput {
                item_id: item,
                kind,
                min: body.min,
                max: body.max,
                order_cost: body.order_cost,
                holding_cost: body.holding_cost,
                service_level: body.service_level,
            },
        )
        .await?;
    Ok(Json(PolicyResponse {
        data: policy.into(),
    }))
}

/// A suggested line and the numbers behind it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuggestionLineDto {
    item_id: Uuid,
    item_name: String,
    product_id: Uuid,
    unit: String,
    /// MIN_MAX, S_S, EOQ or FORECAST_COVER.
    policy: &'static str,
    #[schema(value_type = String)]
    on_hand: Decimal,
    #[schema(value_type = String)]
    on_order: Decimal,
    #[schema(value_type = String)]
    pack_size: Decimal,
    /// The policy's quantity (whole packs).
    #[schema(value_type = String)]
    quantity: Decimal,
    /// Units that go in the cart.
    cart_quantity: i64,
    #[schema(value_type = Option<String>)]
    forecast_demand: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    safety_stock: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    reorder_point: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    order_up_to: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    economic_order_quantity: Option<Decimal>,
    reason: String,
    unit_price: MoneyDto,
    line_total: MoneyDto,
}

impl From<SuggestionLine> for SuggestionLineDto {
    fn from(l: SuggestionLine) -> Self {
        let w = l.workings;
        SuggestionLineDto {
            item_id: l.item_id,
            item_name: l.item_name,
            product_id: l.product_id,
            unit: l.unit,
            policy: l.policy.as_str(),
            on_hand: l.on_hand,
            on_order: l.on_order,
            pack_size: l.pack_size,
            quantity: w.quantity,
            cart_quantity: l.cart_quantity,
            forecast_demand: w.forecast_demand,
            safety_stock: w.safety_stock,
            reorder_point: w.reorder_point,
            order_up_to: w.order_up_to,
            economic_order_quantity: w.economic_order_quantity,
            reason: w.reason,
            unit_price: l.unit_price.into(),
            line_total: l.line_total.into(),
        }
    }
}

/// One supplier's suggested lines.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupplierSuggestionDto {
    supplier_id: Uuid,
    supplier_name: String,
    /// The earliest delivery day (null: no delivery days).
    delivery_date: Option<NaiveDate>,
    lead_days: Option<u32>,
    lines: Vec<SuggestionLineDto>,
    subtotal: MoneyDto,
    minimum_order_value: MoneyDto,
    below_minimum: bool,
    shortfall: MoneyDto,
}

/// An item nothing could be suggested for.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkippedItemDto {
    item_id: Uuid,
    item_name: String,
    reason: String,
}

/// What a restaurant should order now.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuggestionsDto {
    restaurant_id: Uuid,
    generated_at: DateTime<Utc>,
    suppliers: Vec<SupplierSuggestionDto>,
    skipped: Vec<SkippedItemDto>,
}

impl From<ReorderSuggestions> for SuggestionsDto {
    fn from(r: ReorderSuggestions) -> Self {
        SuggestionsDto {
            restaurant_id: r.restaurant_id,
            generated_at: r.generated_at,
            suppliers: r
                .suppliers
                .into_iter()
                .map(|s| SupplierSuggestionDto {
                    supplier_id: s.supplier_id,
                    supplier_name: s.supplier_name,
                    delivery_date: s.delivery_date,
                    lead_days: s.lead_days,
                    lines: s.lines.into_iter().map(Into::into).collect(),
                    subtotal: s.subtotal.into(),
                    minimum_order_value: s.minimum_order_value.into(),
                    below_minimum: s.below_minimum,
                    shortfall: s.shortfall.into(),
                })
                .collect(),
            skipped: r
                .skipped
                .into_iter()
                .map(|s| SkippedItemDto {
                    item_id: s.item_id,
                    item_name: s.item_name,
                    reason: s.reason,
                })
                .collect(),
        }
    }
}

/// The suggestions.
#[derive(Serialize, ToSchema)]
pub struct SuggestionsResponse {
    data: SuggestionsDto,
}

/// What a restaurant should order now, supplier by supplier (its members and admins).
#[utoipa::path(
    get, path = "/api/v1/restaurants/{id}/reorder-suggestions", tag = "planning",
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses((status = 200, description = "The suggestions", body = SuggestionsResponse)),
    security(("bearer" = []))
)]
pub async fn suggestions(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
) -> Result<Json<SuggestionsResponse>, AppError> {
    let suggestions = state
        .services
        .planning
        .reorder_suggestions(&caller, restaurant)
        .await?;
    Ok(Json(SuggestionsResponse {
        data: suggestions.into(),
    }))
}

/// Which suggested lines go in the cart.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyRequest {
    /// The products whose lines to apply (all suggested lines when absent).
    #[schema(max_items = 1000)]
    product_ids: Option<Vec<Uuid>>,
}

/// What was applied.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedDto {
    restaurant_id: Uuid,
    /// The lines put in the cart (each product's cart quantity set to the suggestion).
    applied: Vec<SuggestionLineDto>,
}

/// The applied lines.
#[derive(Serialize, ToSchema)]
pub struct AppliedResponse {
    data: AppliedDto,
}

/// Put suggested lines in the restaurant's cart — all or nothing.
#[utoipa::path(
    post, path = "/api/v1/restaurants/{id}/reorder-suggestions/apply", tag = "planning",
    params(("id" = Uuid, Path, description = "Restaurant id")),
    request_body = ApplyRequest,
    responses(
        (status = 200, description = "The lines applied", body = AppliedResponse),
        (status = 409, description = "A product can no longer be ordered, or the cart is full", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn apply(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ApplyRequest>,
) -> Result<Json<AppliedResponse>, AppError> {
    let (_, applied) = state
        .services
        .planning
        .apply_suggestions(&caller, restaurant, body.product_ids)
        .await?;
    Ok(Json(AppliedResponse {
        data: AppliedDto {
            restaurant_id: restaurant,
            applied: applied.into_iter().map(Into::into).collect(),
        },
    }))
}
