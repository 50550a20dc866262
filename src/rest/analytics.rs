//! `/api/v1/analytics/...`: a restaurant's spend, price variance, cover and forecast accuracy,
//! and a supplier's sales and forecast accuracy — the same service as GraphQL's.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    MoneyDto,
    extract::{ApiPath, ApiQuery},
};
use crate::{
    domain::{
        analytics::{self, Dimension, ItemCover, PriceVariance, SeriesAccuracy, SpendRow},
        planning::Scope,
    },
    error::AppError,
    web::{ApiState, extract::SignedIn},
};

/// The period, and what to break it down by.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BreakdownParams {
    /// Start (RFC 3339, inclusive; 365 days before `to` by default).
    from: Option<DateTime<Utc>>,
    /// End (RFC 3339, exclusive; now by default); at most five years after `from`.
    to: Option<DateTime<Utc>>,
    /// Comma-separated: the other party (SUPPLIER of spend, RESTAURANT of sales), CATEGORY,
    /// MONTH. None: one total per currency.
    #[param(
        pattern = "^((SUPPLIER|RESTAURANT|CATEGORY|MONTH)(,(SUPPLIER|RESTAURANT|CATEGORY|MONTH))*)?$"
    )]
    by: Option<String>,
}

/// The period.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// Start (RFC 3339, inclusive; 365 days before `to` by default).
    from: Option<DateTime<Utc>>,
    /// End (RFC 3339, exclusive; now by default); at most five years after `from`.
    to: Option<DateTime<Utc>>,
}

/// `by` → dimensions; `party` is the name the other party goes by on this side.
fn dimensions(raw: Option<&str>, party: &str) -> Result<Vec<Dimension>, AppError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|part| match part {
            "CATEGORY" => Ok(Dimension::Category),
            "MONTH" => Ok(Dimension::Month),
            p if p == party => Ok(Dimension::Party),
            other => Err(AppError::validation(
                "by",
                format!("{other:?} is not one of {party}, CATEGORY, MONTH"),
            )),
        })
        .collect()
}

/// One row of a breakdown.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AmountRowDto {
    /// The supplier (of spend) or restaurant (of sales), when broken down by it.
    party_id: Option<Uuid>,
    party_name: Option<String>,
    category: Option<String>,
    /// `YYYY-MM` (UTC).
    month: Option<String>,
    /// Line totals excluding VAT.
    amount: MoneyDto,
    units: i64,
}

impl From<SpendRow> for AmountRowDto {
    fn from(r: SpendRow) -> Self {
        AmountRowDto {
            party_id: r.party_id,
            party_name: r.party_name,
            category: r.category,
            month: r.month,
            amount: r.amount.into(),
            units: r.units,
        }
    }
}

/// A breakdown.
#[derive(Serialize, ToSchema)]
pub struct AmountsResponse {
    data: Vec<AmountRowDto>,
}

/// What a restaurant spent (its members and admins).
#[utoipa::path(
    get, path = "/api/v1/analytics/restaurants/{id}/spend", tag = "analytics",
    params(("id" = Uuid, Path, description = "Restaurant id"), BreakdownParams),
    responses((status = 200, description = "The breakdown", body = AmountsResponse)),
    security(("bearer" = []))
)]
pub async fn spend(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<BreakdownParams>,
) -> Result<Json<AmountsResponse>, AppError> {
    let by = dimensions(params.by.as_deref(), "SUPPLIER")?;
    let period = analytics::period(params.from, params.to)?;
    let rows = state
        .services
        .analytics
        .spend(&caller, restaurant, period, &by)
        .await?;
    Ok(Json(AmountsResponse {
        data: rows.into_iter().map(Into::into).collect(),
    }))
}

/// What a supplier sold (its members and admins).
#[utoipa::path(
    get, path = "/api/v1/analytics/suppliers/{id}/sales", tag = "analytics",
    params(("id" = Uuid, Path, description = "Supplier id"), BreakdownParams),
    responses((status = 200, description = "The breakdown", body = AmountsResponse)),
    security(("bearer" = []))
)]
pub async fn sales(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<BreakdownParams>,
) -> Result<Json<AmountsResponse>, AppError> {
    let by = dimensions(params.by.as_deref(), "RESTAURANT")?;
    let period = analytics::period(params.from, params.to)?;
    let rows = state
        .services
        .analytics
        .sales(&caller, supplier, period, &by)
        .await?;
    Ok(Json(AmountsResponse {
        data: rows.into_iter().map(Into::into).collect(),
    }))
}

/// What was paid for a product against its list price now.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceVarianceDto {
    product_id: Uuid,
    name: String,
    supplier_id: Uuid,
    units: i64,
    average_paid: MoneyDto,
    current_price: MoneyDto,
    /// Current minus average paid.
    variance: MoneyDto,
    #[schema(value_type = Option<String>)]
    variance_percent: Option<Decimal>,
}

impl From<PriceVariance> for PriceVarianceDto {
    fn from(v: PriceVariance) -> Self {
        PriceVarianceDto {
            product_id: v.product_id,
            name: v.name,
            supplier_id: v.supplier_id,
            units: v.units,
            average_paid: v.average_paid.into(),
            current_price: v.current_price.into(),
            variance: v.variance.into(),
            variance_percent: v.variance_percent,
        }
    }
}

/// Price variance per product.
#[derive(Serialize, ToSchema)]
pub struct PriceVarianceResponse {
    data: Vec<PriceVarianceDto>,
}

/// What a restaurant paid per product against the list price now, largest change first.
#[utoipa::path(
    get, path = "/api/v1/analytics/restaurants/{id}/price-variance", tag = "analytics",
    params(("id" = Uuid, Path, description = "Restaurant id"), PeriodParams),
    responses((status = 200, description = "Per product", body = PriceVarianceResponse)),
    security(("bearer" = []))
)]
pub async fn price_variance(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<PeriodParams>,
) -> Result<Json<PriceVarianceResponse>, AppError> {
    let period = analytics::period(params.from, params.to)?;
    let rows = state
        .services
        .analytics
        .price_variance(&caller, restaurant, period)
        .await?;
    Ok(Json(PriceVarianceResponse {
        data: rows.into_iter().map(Into::into).collect(),
    }))
}

/// An item's cover and stock-outs.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoverDto {
    item_id: Uuid,
    name: String,
    product_id: Option<Uuid>,
    #[schema(value_type = String)]
    on_hand: Decimal,
    /// Mean daily demand over the next 7 forecast days.
    #[schema(value_type = Option<String>)]
    daily_demand: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    days_of_cover: Option<Decimal>,
    /// Days in the period that closed at zero or less.
    stock_out_days: i64,
    out_of_stock: bool,
}

impl From<ItemCover> for CoverDto {
    fn from(c: ItemCover) -> Self {
        CoverDto {
            item_id: c.item_id,
            name: c.name,
            product_id: c.product_id,
            on_hand: c.on_hand,
            daily_demand: c.daily_demand,
            days_of_cover: c.days_of_cover,
            stock_out_days: c.stock_out_days,
            out_of_stock: c.out_of_stock,
        }
    }
}

/// Cover per item.
#[derive(Serialize, ToSchema)]
pub struct CoverResponse {
    data: Vec<CoverDto>,
}

/// Days of cover now and stock-out days in the period, per inventory item.
#[utoipa::path(
    get, path = "/api/v1/analytics/restaurants/{id}/cover", tag = "analytics",
    params(("id" = Uuid, Path, description = "Restaurant id"), PeriodParams),
    responses((status = 200, description = "Per item", body = CoverResponse)),
    security(("bearer" = []))
)]
pub async fn cover(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<PeriodParams>,
) -> Result<Json<CoverResponse>, AppError> {
    let period = analytics::period(params.from, params.to)?;
    let rows = state
        .services
        .analytics
        .cover(&caller, restaurant, period)
        .await?;
    Ok(Json(CoverResponse {
        data: rows.into_iter().map(Into::into).collect(),
    }))
}

/// A forecast's measured accuracy.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccuracyRowDto {
    product_id: Uuid,
    product_name: Option<String>,
    /// MSTL_ETS, SEASONAL_NAIVE or MEAN.
    model: &'static str,
    smape: Option<f64>,
    mase: Option<f64>,
    seasonal_naive_smape: Option<f64>,
    generated_at: DateTime<Utc>,
}

impl From<SeriesAccuracy> for AccuracyRowDto {
    fn from(a: SeriesAccuracy) -> Self {
        AccuracyRowDto {
            product_id: a.product_id,
            product_name: a.product_name,
            model: a.model,
            smape: a.smape,
            mase: a.mase,
            seasonal_naive_smape: a.naive_smape,
            generated_at: a.generated_at,
        }
    }
}

/// Accuracy per forecast.
#[derive(Serialize, ToSchema)]
pub struct AccuracyResponse {
    data: Vec<AccuracyRowDto>,
}

async fn accuracy(
    state: &ApiState,
    caller: &crate::auth::Caller,
    scope: Scope,
    owner: Uuid,
) -> Result<Json<AccuracyResponse>, AppError> {
    let rows = state
        .services
        .analytics
        .forecast_accuracy(caller, scope, owner)
        .await?;
    Ok(Json(AccuracyResponse {
        data: rows.into_iter().map(Into::into).collect(),
    }))
}

/// A restaurant's forecasts' measured accuracy, least accurate first.
#[utoipa::path(
    get, path = "/api/v1/analytics/restaurants/{id}/forecast-accuracy", tag = "analytics",
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses((status = 200, description = "Per forecast", body = AccuracyResponse)),
    security(("bearer" = []))
)]
pub async fn restaurant_accuracy(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
) -> Result<Json<AccuracyResponse>, AppError> {
    accuracy(&state, &caller, Scope::Restaurant, restaurant).await
}

/// A supplier's forecasts' measured accuracy, least accurate first.
#[utoipa::path(
    get, path = "/api/v1/analytics/suppliers/{id}/forecast-accuracy", tag = "analytics",
    params(("id" = Uuid, Path, description = "Supplier id")),
    responses((status = 200, description = "Per forecast", body = AccuracyResponse)),
    security(("bearer" = []))
)]
pub async fn supplier_accuracy(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
) -> Result<Json<AccuracyResponse>, AppError> {
    accuracy(&state, &caller, Scope::Supplier, supplier).await
}
