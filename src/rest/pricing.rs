//! Pricing over REST: a supplier's price lists (`/suppliers/{id}/price-lists…`), customer
//! groups, dynamic price rules and their dry run, a product's price for a restaurant and its
//! price history, and supplier recommendations for a restaurant.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    MoneyDto, PaginationDto,
    extract::{ApiJson, ApiPath, ApiQuery},
};
use crate::{
    domain::{
        kernel::money::{Currency, Money},
        pricing::{
            AppliedPriceList, AssignmentTarget, EntryInput, NewPriceList, PriceChange, PriceList,
            PriceListChanges, PriceRule, PriceRuleInput, Recommendation, ResolvedPrice, TierPrice,
            dynamic::{Bound, RuleBounds},
        },
    },
    error::{AppError, ErrorEnvelope},
    web::{ApiState, extract::SignedIn},
};

fn money(amount: Decimal, currency: &Currency) -> MoneyDto {
    Money {
        amount: amount.normalize(),
        currency: currency.clone(),
    }
    .into()
}

/// One tier of a product in a list.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TierDto {
    min_quantity: i64,
    /// FIXED or PERCENT_OFF.
    kind: &'static str,
    /// The unit price (FIXED).
    price: Option<MoneyDto>,
    /// Percent off the list price (PERCENT_OFF).
    #[schema(value_type = Option<String>)]
    percent_off: Option<Decimal>,
}

fn tier(min_quantity: i64, price: TierPrice, currency: &Currency) -> TierDto {
    match price {
        TierPrice::Fixed(p) => TierDto {
            min_quantity,
            kind: "FIXED",
            price: Some(money(p, currency)),
            percent_off: None,
        },
        TierPrice::PercentOff(p) => TierDto {
            min_quantity,
            kind: "PERCENT_OFF",
            price: None,
            percent_off: Some(p),
        },
    }
}

/// One product's tiers.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryDto {
    product_id: Uuid,
    tiers: Vec<TierDto>,
}

/// Who a list applies to: one of the three.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentDto {
    restaurant_id: Option<Uuid>,
    customer_group: Option<String>,
    all_customers: bool,
}

/// A supplier's price list.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceListDto {
    id: Uuid,
    supplier_id: Uuid,
    name: String,
    currency: String,
    /// Inclusive; null: since always.
    valid_from: Option<DateTime<Utc>>,
    /// Exclusive; null: open-ended.
    valid_to: Option<DateTime<Utc>>,
    priority: i32,
    active: bool,
    entries: Vec<EntryDto>,
    assignments: Vec<AssignmentDto>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<PriceList> for PriceListDto {
    fn from(l: PriceList) -> Self {
        let currency = l.currency.clone();
        PriceListDto {
            id: l.id,
            supplier_id: l.supplier_id,
            name: l.name,
            currency: l.currency.as_str().to_owned(),
            valid_from: l.valid_from,
            valid_to: l.valid_to,
            priority: l.priority,
            active: l.active,
            entries: l
                .entries
                .into_iter()
                .map(|e| EntryDto {
                    product_id: e.product_id,
                    tiers: e
                        .tiers
                        .iter()
                        .map(|t| tier(t.min_quantity, t.price, &currency))
                        .collect(),
                })
                .collect(),
            assignments: l
                .assignments
                .into_iter()
                .map(|a| AssignmentDto {
                    restaurant_id: match a {
                        AssignmentTarget::Restaurant(id) => Some(id),
                        _ => None,
                    },
                    all_customers: a == AssignmentTarget::AllCustomers,
                    customer_group: match a {
                        AssignmentTarget::CustomerGroup(name) => Some(name),
                        _ => None,
                    },
                })
                .collect(),
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// A page of price lists.
#[derive(Serialize, ToSchema)]
pub struct PriceListsResponse {
    data: Vec<PriceListDto>,
    pagination: PaginationDto,
}

/// One price list.
#[derive(Serialize, ToSchema)]
pub struct PriceListResponse {
    data: PriceListDto,
}

/// Paging of a list.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// Items to skip.
    #[param(minimum = 0, maximum = 1_000_000_000)]
    offset: Option<u64>,
    /// `pagination.nextCursor` of the previous page.
    cursor: Option<Uuid>,
}

/// A supplier's price lists, newest first (its members and admins).
#[utoipa::path(
    get, path = "/api/v1/suppliers/{id}/price-lists", tag = "pricing",
    params(("id" = Uuid, Path, description = "Supplier id"), PageParams),
    responses(
        (status = 200, description = "A page of price lists", body = PriceListsResponse),
        (status = 403, description = "Not the supplier's member", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn lists(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<PriceListsResponse>, AppError> {
    let page = super::page_request(params.offset, params.limit, params.cursor)?;
    let found = state
        .services
        .pricing
        .lists(&caller, supplier, &page)
        .await?;
    Ok(Json(PriceListsResponse {
        pagination: PaginationDto::of(&page, &found),
        data: found.items.into_iter().map(Into::into).collect(),
    }))
}

/// One tier of a product; give `price` or `percentOff`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryRequest {
    product_id: Uuid,
    /// From this many units on, 1–100000 (1 by default).
    #[schema(minimum = 1, maximum = 100000)]
    #[serde(default, deserialize_with = "super::optional_whole_number")]
    min_quantity: Option<i64>,
    /// A fixed unit price.
    #[schema(value_type = Option<String>, format = "iris-price", example = "89.50")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    price: Option<Decimal>,
    /// Percent off the list price, above 0 and at most 100 (two decimals at most).
    #[schema(value_type = Option<String>, format = "iris-tax-rate", example = "10")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    percent_off: Option<Decimal>,
}

fn entries(entries: Vec<EntryRequest>) -> Vec<EntryInput> {
    entries
        .into_iter()
        .map(|e| EntryInput {
            product_id: e.product_id,
            min_quantity: e.min_quantity,
            price: e.price,
            percent_off: e.percent_off,
        })
        .collect()
}

/// A new price list.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePriceListRequest {
    #[schema(format = "iris-text", max_length = 100)]
    name: String,
    /// The supplier's currency (the default) is the only one accepted.
    #[schema(pattern = "^[A-Za-z]{3}$")]
    currency: Option<String>,
    /// Inclusive (UTC).
    valid_from: Option<DateTime<Utc>>,
    /// Exclusive (UTC), after `validFrom`.
    valid_to: Option<DateTime<Utc>>,
    /// −1000 to 1000; higher wins (0 by default).
    #[schema(minimum = -1000, maximum = 1000)]
    priority: Option<i32>,
    active: Option<bool>,
    /// At most 5000 tiers.
    #[serde(default)]
    #[schema(max_items = 5000)]
    entries: Vec<EntryRequest>,
}

/// Create a price list (the supplier's members and admins; audited).
#[utoipa::path(
    post, path = "/api/v1/suppliers/{id}/price-lists", tag = "pricing",
    params(("id" = Uuid, Path, description = "Supplier id")),
    request_body = CreatePriceListRequest,
    responses(
        (status = 201, description = "The new list", body = PriceListResponse),
        (status = 422, description = "A field breaks a rule (named)", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreatePriceListRequest>,
) -> Result<Response, AppError> {
    let list = state
        .services
        .pricing
        .create_list(
            &caller,
            NewPriceList {
                supplier_id: supplier,
                name: body.name,
                currency: body.currency,
                valid_from: body.valid_from,
                valid_to: body.valid_to,
                priority: body.priority,
                active: body.active,
                entries: entries(body.entries),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PriceListResponse { data: list.into() }),
    )
        .into_response())
}

/// One price list of the supplier.
#[utoipa::path(
    get, path = "/api/v1/suppliers/{id}/price-lists/{listId}", tag = "pricing",
    params(
        ("id" = Uuid, Path, description = "Supplier id"),
        ("listId" = Uuid, Path, description = "Price list id"),
    ),
    responses(
        (status = 200, description = "The list", body = PriceListResponse),
        (status = 404, description = "No such list of the supplier", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((supplier, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<PriceListResponse>, AppError> {
    let list = state
        .services
        .pricing
        .list_of(&caller, supplier, id)
        .await?;
    Ok(Json(PriceListResponse { data: list.into() }))
}

/// Changes to a price list: what is given changes; `entries` replaces them all. Send
/// `validFrom`/`validTo` as null to open the window's side.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePriceListRequest {
    #[schema(format = "iris-text", max_length = 100)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    valid_from: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    valid_to: Option<Option<DateTime<Utc>>>,
    #[schema(minimum = -1000, maximum = 1000)]
    priority: Option<i32>,
    active: Option<bool>,
    #[schema(max_items = 5000)]
    entries: Option<Vec<EntryRequest>>,
}

/// A field that is present (null or not) is `Some`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Change a price list (audited).
#[utoipa::path(
    patch, path = "/api/v1/suppliers/{id}/price-lists/{listId}", tag = "pricing",
    params(
        ("id" = Uuid, Path, description = "Supplier id"),
        ("listId" = Uuid, Path, description = "Price list id"),
    ),
    request_body = UpdatePriceListRequest,
    responses(
        (status = 200, description = "The list after the change", body = PriceListResponse),
        (status = 404, description = "No such list of the supplier", body = ErrorEnvelope),
        (status = 422, description = "A field breaks a rule (named)", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((supplier, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<UpdatePriceListRequest>,
) -> Result<Json<PriceListResponse>, AppError> {
    let pricing = &state.services.pricing;
    pricing.list_of(&caller, supplier, id).await?;
    let list = pricing
        .update_list(
            &caller,
            id,
            PriceListChanges {
                name: body.name,
                valid_from: body.valid_from,
                valid_to: body.valid_to,
                priority: body.priority,
                active: body.active,
                entries: body.entries.map(entries),
            },
        )
        .await?;
    Ok(Json(PriceListResponse { data: list.into() }))
}

/// Delete a price list: it prices nothing from now on; placed orders keep their prices
/// (audited).
#[utoipa::path(
    delete, path = "/api/v1/suppliers/{id}/price-lists/{listId}", tag = "pricing",
    params(
        ("id" = Uuid, Path, description = "Supplier id"),
        ("listId" = Uuid, Path, description = "Price list id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such list of the supplier", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((supplier, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    let pricing = &state.services.pricing;
    pricing.list_of(&caller, supplier, id).await?;
    pricing.delete_list(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restaurants, customer groups or every customer (any mix, at least one).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignRequest {
    #[serde(default)]
    #[schema(max_items = 1000)]
    restaurant_ids: Vec<Uuid>,
    #[serde(default)]
    #[schema(max_items = 1000)]
    customer_groups: Vec<String>,
    #[serde(default)]
    all_customers: bool,
}

impl AssignRequest {
    fn targets(self) -> Vec<AssignmentTarget> {
        let mut targets: Vec<AssignmentTarget> = self
            .restaurant_ids
            .into_iter()
            .map(AssignmentTarget::Restaurant)
            .collect();
        targets.extend(
            self.customer_groups
                .into_iter()
                .map(AssignmentTarget::CustomerGroup),
        );
        if self.all_customers {
            targets.push(AssignmentTarget::AllCustomers);
        }
        targets
    }
}

async fn assign_or_not(
    state: &ApiState,
    caller: &crate::auth::Caller,
    (supplier, id): (Uuid, Uuid),
    body: AssignRequest,
    remove: bool,
) -> Result<Json<PriceListResponse>, AppError> {
    let pricing = &state.services.pricing;
    pricing.list_of(caller, supplier, id).await?;
    let list = pricing.assign(caller, id, body.targets(), remove).await?;
    Ok(Json(PriceListResponse { data: list.into() }))
}

/// Assign a price list to restaurants, customer groups or every customer (audited).
#[utoipa::path(
    post, path = "/api/v1/suppliers/{id}/price-lists/{listId}/assign", tag = "pricing",
    params(
        ("id" = Uuid, Path, description = "Supplier id"),
        ("listId" = Uuid, Path, description = "Price list id"),
    ),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "The list with its assignments", body = PriceListResponse),
        (status = 422, description = "No target, or a restaurant that does not exist", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn assign(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(ids): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> Result<Json<PriceListResponse>, AppError> {
    assign_or_not(&state, &caller, ids, body, false).await
}

/// Take assignments of a price list away (audited).
#[utoipa::path(
    post, path = "/api/v1/suppliers/{id}/price-lists/{listId}/unassign", tag = "pricing",
    params(
        ("id" = Uuid, Path, description = "Supplier id"),
        ("listId" = Uuid, Path, description = "Price list id"),
    ),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "The list with its assignments", body = PriceListResponse),
        (status = 422, description = "No target", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn unassign(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(ids): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> Result<Json<PriceListResponse>, AppError> {
    assign_or_not(&state, &caller, ids, body, true).await
}

/// A customer group's restaurants, as they are to be (empty dissolves it).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerGroupRequest {
    #[schema(max_items = 1000)]
    restaurant_ids: Vec<Uuid>,
}

/// A customer group.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerGroupDto {
    name: String,
    restaurant_ids: Vec<Uuid>,
}

/// A customer group.
#[derive(Serialize, ToSchema)]
pub struct CustomerGroupResponse {
    data: CustomerGroupDto,
}

/// Make a supplier's customer group exactly these restaurants (audited).
#[utoipa::path(
    put, path = "/api/v1/suppliers/{id}/customer-groups/{name}", tag = "pricing",
    params(
        ("id" = Uuid, Path, description = "Supplier id"),
        ("name" = String, Path, description = "The group's name"),
    ),
    request_body = CustomerGroupRequest,
    responses(
        (status = 200, description = "The group", body = CustomerGroupResponse),
        (status = 422, description = "A restaurant that does not exist, or a bad name", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn set_group(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((supplier, name)): ApiPath<(Uuid, String)>,
    ApiJson(body): ApiJson<CustomerGroupRequest>,
) -> Result<Json<CustomerGroupResponse>, AppError> {
    let members = state
        .services
        .pricing
        .set_customer_group(&caller, supplier, &name, body.restaurant_ids)
        .await?;
    Ok(Json(CustomerGroupResponse {
        data: CustomerGroupDto {
            name: name.trim().to_owned(),
            restaurant_ids: members,
        },
    }))
}

/// Which list and tier priced it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedPriceListDto {
    id: Uuid,
    name: String,
    priority: i32,
    tier: TierDto,
}

fn applied(a: AppliedPriceList, currency: &Currency) -> AppliedPriceListDto {
    AppliedPriceListDto {
        id: a.id,
        name: a.name,
        priority: a.priority,
        tier: tier(a.min_quantity, a.tier, currency),
    }
}

/// What a restaurant pays for a quantity of a product.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedPriceDto {
    unit_price: MoneyDto,
    list_price: MoneyDto,
    quantity: i64,
    total: MoneyDto,
    /// Null when the list price applies.
    applied_price_list: Option<AppliedPriceListDto>,
}

impl ResolvedPriceDto {
    pub fn of(price: ResolvedPrice, quantity: i64) -> Self {
        ResolvedPriceDto {
            unit_price: money(price.unit_price, &price.currency),
            list_price: money(price.list_price, &price.currency),
            quantity,
            total: money(price.unit_price * Decimal::from(quantity), &price.currency),
            applied_price_list: price.applied.map(|a| applied(a, &price.currency)),
        }
    }
}

/// A price.
#[derive(Serialize, ToSchema)]
pub struct ResolvedPriceResponse {
    data: ResolvedPriceDto,
}

/// Whose price, for how many, when.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PriceParams {
    restaurant_id: Uuid,
    /// Units, 1–100000 (1 by default).
    #[param(minimum = 1, maximum = 100000)]
    quantity: Option<i64>,
    /// When (UTC); now by default.
    at: Option<DateTime<Utc>>,
}

/// What a restaurant pays for a product (its price lists applied) — its members, the
/// supplier's members and admins.
#[utoipa::path(
    get, path = "/api/v1/products/{id}/price", tag = "pricing",
    params(("id" = Uuid, Path, description = "Product id"), PriceParams),
    responses(
        (status = 200, description = "The price and which list set it", body = ResolvedPriceResponse),
        (status = 403, description = "Neither the restaurant's nor the supplier's member", body = ErrorEnvelope),
        (status = 404, description = "No such product", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn price(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(product): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<PriceParams>,
) -> Result<Json<ResolvedPriceResponse>, AppError> {
    let quantity = params.quantity.unwrap_or(1);
    let price = state
        .services
        .pricing
        .price_of(
            &caller,
            params.restaurant_id,
            product,
            quantity,
            params.at.unwrap_or_else(Utc::now),
        )
        .await?;
    Ok(Json(ResolvedPriceResponse {
        data: ResolvedPriceDto::of(price, quantity),
    }))
}

/// One change of a product's list price.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceChangeDto {
    id: Uuid,
    old_price: MoneyDto,
    new_price: MoneyDto,
    reason: String,
    rule_id: Option<Uuid>,
    job_run_id: Option<Uuid>,
    /// What the job measured: the supplier's members and admins only (null for others).
    #[schema(value_type = Option<Object>)]
    signals: serde_json::Value,
    changed_at: DateTime<Utc>,
}

impl From<PriceChange> for PriceChangeDto {
    fn from(c: PriceChange) -> Self {
        PriceChangeDto {
            id: c.id,
            old_price: money(c.old_price, &c.currency),
            new_price: money(c.new_price, &c.currency),
            reason: c.reason,
            rule_id: c.rule_id,
            job_run_id: c.job_run_id,
            signals: c.signals,
            changed_at: c.changed_at,
        }
    }
}

/// Price changes.
#[derive(Serialize, ToSchema)]
pub struct PriceHistoryResponse {
    data: Vec<PriceChangeDto>,
}

/// How many.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// 1–100 (20 by default).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
}

/// A product's list price changes by dynamic rules, newest first.
#[utoipa::path(
    get, path = "/api/v1/products/{id}/price-history", tag = "pricing",
    params(("id" = Uuid, Path, description = "Product id"), HistoryParams),
    responses((status = 200, description = "The changes", body = PriceHistoryResponse)),
    security(("bearer" = []))
)]
pub async fn history(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(product): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<PriceHistoryResponse>, AppError> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(AppError::validation("limit", "must be between 1 and 100"));
    }
    let changes = state
        .services
        .pricing
        .history(&caller, product, limit)
        .await?;
    Ok(Json(PriceHistoryResponse {
        data: changes.into_iter().map(Into::into).collect(),
    }))
}

/// A floor or ceiling.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BoundDto {
    /// ABSOLUTE (a unit price) or PERCENT_OF_BASE (of the price the supplier set).
    #[schema(pattern = "^(ABSOLUTE|PERCENT_OF_BASE)$")]
    kind: String,
    #[schema(value_type = String, format = "iris-price", example = "80")]
    #[serde(deserialize_with = "super::exact_decimal_required")]
    value: Decimal,
}

impl From<Bound> for BoundDto {
    fn from(b: Bound) -> Self {
        match b {
            Bound::Absolute(value) => BoundDto {
                kind: "ABSOLUTE".into(),
                value,
            },
            Bound::PercentOfBase(value) => BoundDto {
                kind: "PERCENT_OF_BASE".into(),
                value,
            },
        }
    }
}

fn bound(field: &str, b: BoundDto) -> Result<Bound, AppError> {
    match b.kind.as_str() {
        "ABSOLUTE" => Ok(Bound::Absolute(b.value)),
        "PERCENT_OF_BASE" => Ok(Bound::PercentOfBase(b.value)),
        _ => Err(AppError::validation(
            format!("{field}.kind"),
            "must be ABSOLUTE or PERCENT_OF_BASE",
        )),
    }
}

/// A dynamic price rule.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceRuleDto {
    id: Uuid,
    product_id: Option<Uuid>,
    category: Option<String>,
    floor: BoundDto,
    ceiling: BoundDto,
    #[schema(value_type = String)]
    max_step_percent: Decimal,
    #[schema(value_type = String)]
    min_cover_days: Decimal,
    #[schema(value_type = String)]
    max_cover_days: Decimal,
    active: bool,
    updated_at: DateTime<Utc>,
}

impl From<PriceRule> for PriceRuleDto {
    fn from(r: PriceRule) -> Self {
        PriceRuleDto {
            id: r.id,
            product_id: r.product_id,
            category: r.category,
            floor: r.bounds.floor.into(),
            ceiling: r.bounds.ceiling.into(),
            max_step_percent: r.bounds.max_step_percent,
            min_cover_days: r.bounds.min_cover_days,
            max_cover_days: r.bounds.max_cover_days,
            active: r.active,
            updated_at: r.updated_at,
        }
    }
}

/// Price rules.
#[derive(Serialize, ToSchema)]
pub struct PriceRulesResponse {
    data: Vec<PriceRuleDto>,
}

/// One price rule.
#[derive(Serialize, ToSchema)]
pub struct PriceRuleResponse {
    data: PriceRuleDto,
}

/// A supplier's dynamic price rules (its members and admins).
#[utoipa::path(
    get, path = "/api/v1/suppliers/{id}/price-rules", tag = "pricing",
    params(("id" = Uuid, Path, description = "Supplier id")),
    responses((status = 200, description = "The rules", body = PriceRulesResponse)),
    security(("bearer" = []))
)]
pub async fn rules(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
) -> Result<Json<PriceRulesResponse>, AppError> {
    let rules = state.services.pricing.rules(&caller, supplier).await?;
    Ok(Json(PriceRulesResponse {
        data: rules.into_iter().map(Into::into).collect(),
    }))
}

/// A dynamic price rule: for one product or a category (give one), bounded.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceRuleRequest {
    /// Changes this rule; a new one when absent.
    id: Option<Uuid>,
    product_id: Option<Uuid>,
    #[schema(format = "iris-text", max_length = 100)]
    category: Option<String>,
    floor: BoundDto,
    ceiling: BoundDto,
    /// Above 0 and at most 50 (percent of the current price per run).
    #[schema(value_type = String, format = "iris-tolerance", example = "5")]
    #[serde(deserialize_with = "super::exact_decimal_required")]
    max_step_percent: Decimal,
    /// 7 by default.
    #[schema(value_type = Option<String>, format = "iris-price", example = "7")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    min_cover_days: Option<Decimal>,
    /// 21 by default; above minCoverDays.
    #[schema(value_type = Option<String>, format = "iris-price", example = "21")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    max_cover_days: Option<Decimal>,
    active: Option<bool>,
}

/// Create or change a dynamic price rule (audited).
#[utoipa::path(
    post, path = "/api/v1/suppliers/{id}/price-rules", tag = "pricing",
    params(("id" = Uuid, Path, description = "Supplier id")),
    request_body = PriceRuleRequest,
    responses(
        (status = 200, description = "The rule as saved", body = PriceRuleResponse),
        (status = 422, description = "A field breaks a rule (named)", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn save_rule(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PriceRuleRequest>,
) -> Result<Json<PriceRuleResponse>, AppError> {
    let rule = state
        .services
        .pricing
        .save_rule(
            &caller,
            PriceRuleInput {
                id: body.id,
                supplier_id: supplier,
                product_id: body.product_id,
                category: body.category,
                bounds: RuleBounds {
                    floor: bound("floor", body.floor)?,
                    ceiling: bound("ceiling", body.ceiling)?,
                    max_step_percent: body.max_step_percent,
                    min_cover_days: body.min_cover_days.unwrap_or(Decimal::from(
                        crate::domain::pricing::DEFAULT_MIN_COVER_DAYS,
                    )),
                    max_cover_days: body.max_cover_days.unwrap_or(Decimal::from(
                        crate::domain::pricing::DEFAULT_MAX_COVER_DAYS,
                    )),
                },
                active: body.active.unwrap_or(true),
            },
        )
        .await?;
    Ok(Json(PriceRuleResponse { data: rule.into() }))
}

/// Delete a dynamic price rule; prices it set stay (audited).
#[utoipa::path(
    delete, path = "/api/v1/suppliers/{id}/price-rules/{ruleId}", tag = "pricing",
    params(
        ("id" = Uuid, Path, description = "Supplier id"),
        ("ruleId" = Uuid, Path, description = "Rule id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such rule of the supplier", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn delete_rule(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((supplier, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    state
        .services
        .pricing
        .delete_rule(&caller, Some(supplier), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A price a refresh would set.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProposedChangeDto {
    product_id: Uuid,
    sku: String,
    name: String,
    rule_id: Uuid,
    old_price: MoneyDto,
    new_price: MoneyDto,
    floor: MoneyDto,
    ceiling: MoneyDto,
    #[schema(value_type = Option<String>)]
    cover_days: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    trend: Option<Decimal>,
    reason: &'static str,
}

/// What a refresh would change.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewDto {
    products: u64,
    changed: u64,
    unchanged: u64,
    changes: Vec<ProposedChangeDto>,
}

/// A dry run.
#[derive(Serialize, ToSchema)]
pub struct PreviewResponse {
    data: PreviewDto,
}

/// What the next `refresh-prices` run would change for the supplier now; writes nothing.
#[utoipa::path(
    get, path = "/api/v1/suppliers/{id}/price-rules/preview", tag = "pricing",
    params(("id" = Uuid, Path, description = "Supplier id")),
    responses((status = 200, description = "The dry run", body = PreviewResponse)),
    security(("bearer" = []))
)]
pub async fn preview(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
) -> Result<Json<PreviewResponse>, AppError> {
    let outcome = state
        .services
        .pricing
        .preview_refresh(&caller, supplier)
        .await?;
    Ok(Json(PreviewResponse {
        data: PreviewDto {
            products: outcome.products,
            changed: outcome.changed,
            unchanged: outcome.unchanged,
            changes: outcome
                .changes
                .into_iter()
                .map(|c| {
                    let currency = Currency::from_stored(&c.currency);
                    ProposedChangeDto {
                        product_id: c.product_id,
                        sku: c.sku,
                        name: c.name,
                        rule_id: c.rule_id,
                        old_price: money(c.proposal.old_price, &currency),
                        new_price: money(c.proposal.new_price, &currency),
                        floor: money(c.proposal.floor, &currency),
                        ceiling: money(c.proposal.ceiling, &currency),
                        cover_days: c.proposal.cover_days,
                        trend: c.proposal.trend,
                        reason: c.proposal.reason,
                    }
                })
                .collect(),
        },
    }))
}

/// A recommended supplier and its score's components (each 0–1).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationDto {
    supplier_id: Uuid,
    score: f64,
    reliability: f64,
    price: f64,
    proximity: f64,
    distance_km: Option<f64>,
    basket_cost: Option<MoneyDto>,
    coverage: f64,
    matching_products: u64,
}

impl From<Recommendation> for RecommendationDto {
    fn from(r: Recommendation) -> Self {
        let currency = Currency::from_stored(&r.currency);
        RecommendationDto {
            supplier_id: r.supplier_id,
            score: r.score,
            reliability: r.reliability,
            price: r.price,
            proximity: r.proximity,
            distance_km: r.distance_km,
            basket_cost: r.basket_cost.map(|c| money(c, &currency)),
            coverage: r.coverage,
            matching_products: r.matching_products,
        }
    }
}

/// The weights (they sum to 1).
#[derive(Serialize, ToSchema)]
pub struct WeightsDto {
    reliability: f64,
    price: f64,
    distance: f64,
}

/// Recommended suppliers, best first.
#[derive(Serialize, ToSchema)]
pub struct RecommendationsResponse {
    weights: WeightsDto,
    data: Vec<RecommendationDto>,
}

/// Which suppliers.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecommendParams {
    /// A product category (or give productQuery).
    category: Option<String>,
    /// Words of product names (or give category).
    product_query: Option<String>,
    /// 1–50 (10 by default).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u64>,
}

/// Suppliers for the restaurant in a category, best first (its members and admins).
#[utoipa::path(
    get, path = "/api/v1/restaurants/{id}/recommended-suppliers", tag = "pricing",
    params(("id" = Uuid, Path, description = "Restaurant id"), RecommendParams),
    responses(
        (status = 200, description = "Suppliers, best first", body = RecommendationsResponse),
        (status = 422, description = "Neither or both of category and productQuery", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn recommended(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<RecommendParams>,
) -> Result<Json<RecommendationsResponse>, AppError> {
    let limit = params.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(AppError::validation("limit", "must be between 1 and 50"));
    }
    let found = state
        .services
        .pricing
        .recommend(
            &caller,
            restaurant,
            params.category.as_deref(),
            params.product_query.as_deref(),
            usize::try_from(limit).unwrap_or(0),
        )
        .await?;
    Ok(Json(RecommendationsResponse {
        weights: WeightsDto {
            reliability: found.weights.reliability,
            price: found.weights.price,
            distance: found.weights.distance,
        },
        data: found.suppliers.into_iter().map(Into::into).collect(),
    }))
}
