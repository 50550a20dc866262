//! `/api/v1/restaurants/{id}/inventory`: a restaurant's inventory over REST — items with
//! on-hand (as of any moment), their ledgers, and recording usage, waste and stocktakes.

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

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{
    domain::inventory::{InventoryItem, ItemChanges, Movement, MovementKind, NewItem, Outflow},
    error::{AppError, ErrorEnvelope},
    web::{ApiState, extract::SignedIn},
};

/// An item a restaurant keeps, with its stock.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryItemDto {
    id: Uuid,
    restaurant_id: Uuid,
    product_id: Option<Uuid>,
    name: String,
    /// KG, G, L, CL, PIECE, PACK, BOX or CASE.
    unit: String,
    #[schema(value_type = String, example = "1")]
    pack_size: Decimal,
    location: Option<String>,
    #[schema(value_type = Option<String>)]
    par_level: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    target_level: Option<Decimal>,
    active: bool,
    /// What the ledger holds as of the moment asked for.
    #[schema(value_type = String, example = "12.5")]
    on_hand: Decimal,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<InventoryItem> for InventoryItemDto {
    fn from(i: InventoryItem) -> Self {
        InventoryItemDto {
            id: i.id,
            restaurant_id: i.restaurant_id,
            product_id: i.product_id,
            name: i.name,
            unit: i.unit,
            pack_size: i.pack_size,
            location: i.location,
            par_level: i.par_level,
            target_level: i.target_level,
            active: i.active,
            on_hand: i.on_hand,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// One entry of an item's ledger.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MovementDto {
    id: Uuid,
    /// RECEIPT, USAGE, WASTE, TRANSFER_IN, TRANSFER_OUT or ADJUSTMENT.
    kind: &'static str,
    /// Signed: in > 0, out < 0.
    #[schema(value_type = String, example = "-2.25")]
    quantity: Decimal,
    #[schema(value_type = Option<String>)]
    counted: Option<Decimal>,
    reason: Option<String>,
    order_id: Option<Uuid>,
    transfer_id: Option<Uuid>,
    occurred_at: DateTime<Utc>,
}

impl From<Movement> for MovementDto {
    fn from(m: Movement) -> Self {
        MovementDto {
            id: m.id,
            kind: m.kind.as_str(),
            quantity: m.quantity,
            counted: m.counted,
            reason: m.reason,
            order_id: m.order_id,
            transfer_id: m.transfer_id,
            occurred_at: m.occurred_at,
        }
    }
}

/// The inventory.
#[derive(Serialize, ToSchema)]
pub struct InventoryResponse {
    data: Vec<InventoryItemDto>,
}

/// One item.
#[derive(Serialize, ToSchema)]
pub struct InventoryItemResponse {
    data: InventoryItemDto,
}

/// An item's ledger, newest first.
#[derive(Serialize, ToSchema)]
pub struct MovementsResponse {
    data: Vec<MovementDto>,
}

/// As of when.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InventoryParams {
    /// On-hand as of this moment (RFC 3339; now by default).
    as_of: Option<DateTime<Utc>>,
}

/// A restaurant's inventory with on-hand quantities, by name (its members and admins).
#[utoipa::path(
    get, path = "/api/v1/restaurants/{id}/inventory", tag = "inventory",
    params(("id" = Uuid, Path, description = "Restaurant id"), InventoryParams),
    responses((status = 200, description = "The items", body = InventoryResponse)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<InventoryParams>,
) -> Result<Json<InventoryResponse>, AppError> {
    let items = state
        .services
        .inventory
        .items(&caller, restaurant, params.as_of)
        .await?;
    Ok(Json(InventoryResponse {
        data: items.into_iter().map(Into::into).collect(),
    }))
}

/// A new item: a product it buys, or a free-text item.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateItemRequest {
    /// The marketplace product it is (one item per product).
    product_id: Option<Uuid>,
    #[schema(format = "iris-text", max_length = 200)]
    name: String,
    #[schema(pattern = "^(KG|G|L|CL|PIECE|PACK|BOX|CASE)$")]
    unit: String,
    /// Units in one pack (1 when absent).
    #[schema(value_type = Option<String>, format = "iris-price", example = "6")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    pack_size: Option<Decimal>,
    /// Blank means none.
    #[schema(format = "iris-optional-text", max_length = 100)]
    location: Option<String>,
    /// Reorder point.
    #[schema(value_type = Option<String>, format = "iris-amount")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    par_level: Option<Decimal>,
    /// Level to refill to, not below `parLevel`.
    #[schema(value_type = Option<String>, format = "iris-amount")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    target_level: Option<Decimal>,
}

fn created(item: InventoryItem) -> Response {
    (
        StatusCode::CREATED,
        Json(InventoryItemResponse { data: item.into() }),
    )
        .into_response()
}

/// Add an item to a restaurant's inventory (audited).
#[utoipa::path(
    post, path = "/api/v1/restaurants/{id}/inventory", tag = "inventory",
    params(("id" = Uuid, Path, description = "Restaurant id")),
    request_body = CreateItemRequest,
    responses(
        (status = 201, description = "The new item", body = InventoryItemResponse),
        (status = 409, description = "The restaurant keeps an item of this product already", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateItemRequest>,
) -> Result<Response, AppError> {
    let item = state
        .services
        .inventory
        .create_item(
            &caller,
            restaurant,
            NewItem {
                product_id: body.product_id,
                name: Some(body.name),
                unit: Some(body.unit),
                pack_size: body.pack_size,
                location: body.location,
                par_level: body.par_level,
                target_level: body.target_level,
            },
        )
        .await?;
    Ok(created(item))
}

/// Changes to an item; only the fields given change.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateItemRequest {
    #[schema(format = "iris-text", max_length = 200)]
    name: Option<String>,
    #[schema(value_type = Option<String>, format = "iris-price")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    pack_size: Option<Decimal>,
    #[schema(format = "iris-text", max_length = 100)]
    location: Option<String>,
    #[schema(value_type = Option<String>, format = "iris-amount")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    par_level: Option<Decimal>,
    #[schema(value_type = Option<String>, format = "iris-amount")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    target_level: Option<Decimal>,
    active: Option<bool>,
}

/// Change an item (audited).
#[utoipa::path(
    patch, path = "/api/v1/restaurants/{id}/inventory/{itemId}", tag = "inventory",
    params(
        ("id" = Uuid, Path, description = "Restaurant id"),
        ("itemId" = Uuid, Path, description = "Item id"),
    ),
    request_body = UpdateItemRequest,
    responses((status = 200, description = "The item after the change", body = InventoryItemResponse)),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((restaurant, item)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<UpdateItemRequest>,
) -> Result<Json<InventoryItemResponse>, AppError> {
    let inventory = &state.services.inventory;
    inventory.check_item_of(&caller, restaurant, item).await?;
    let item = inventory
        .update_item(
            &caller,
            item,
            ItemChanges {
                name: body.name,
                pack_size: body.pack_size,
                location: body.location,
                par_level: body.par_level,
                target_level: body.target_level,
                active: body.active,
            },
        )
        .await?;
    Ok(Json(InventoryItemResponse { data: item.into() }))
}

/// Remove an item; its ledger stays (audited).
#[utoipa::path(
    delete, path = "/api/v1/restaurants/{id}/inventory/{itemId}", tag = "inventory",
    params(
        ("id" = Uuid, Path, description = "Restaurant id"),
        ("itemId" = Uuid, Path, description = "Item id"),
    ),
    responses((status = 204, description = "Removed")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((restaurant, item)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    let inventory = &state.services.inventory;
    inventory.check_item_of(&caller, restaurant, item).await?;
    inventory.delete_item(&caller, item).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many to read.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MovementsParams {
    /// 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// An item's ledger, newest first.
#[utoipa::path(
    get, path = "/api/v1/restaurants/{id}/inventory/{itemId}/movements", tag = "inventory",
    params(
        ("id" = Uuid, Path, description = "Restaurant id"),
        ("itemId" = Uuid, Path, description = "Item id"),
        MovementsParams,
    ),
    responses((status = 200, description = "The movements", body = MovementsResponse)),
    security(("bearer" = []))
)]
pub async fn movements(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((restaurant, item)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(params): ApiQuery<MovementsParams>,
) -> Result<Json<MovementsResponse>, AppError> {
    let inventory = &state.services.inventory;
    inventory.check_item_of(&caller, restaurant, item).await?;
    let movements = inventory
        .movements(&caller, item, params.limit.unwrap_or(50))
        .await?;
    Ok(Json(MovementsResponse {
        data: movements.into_iter().map(Into::into).collect(),
    }))
}

/// Stock used.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsageRequest {
    /// More than 0, at most 3 decimals.
    #[schema(value_type = String, format = "iris-price", example = "2.25")]
    #[serde(deserialize_with = "super::exact_decimal_required")]
    quantity: Decimal,
    /// Blank means none.
    #[schema(format = "iris-optional-text", max_length = 500)]
    reason: Option<String>,
    /// When (now by default; not in the future).
    occurred_at: Option<DateTime<Utc>>,
}

/// Stock thrown away.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WasteRequest {
    /// More than 0, at most 3 decimals.
    #[schema(value_type = String, format = "iris-price", example = "0.5")]
    #[serde(deserialize_with = "super::exact_decimal_required")]
    quantity: Decimal,
    /// Why it was thrown away.
    #[schema(format = "iris-text", max_length = 500)]
    reason: String,
    /// When (now by default; not in the future).
    occurred_at: Option<DateTime<Utc>>,
}

async fn outflow(
    state: &ApiState,
    caller: &crate::auth::Caller,
    (restaurant, item): (Uuid, Uuid),
    kind: MovementKind,
    outflow: Outflow,
) -> Result<Json<InventoryItemResponse>, AppError> {
    let inventory = &state.services.inventory;
    inventory.check_item_of(caller, restaurant, item).await?;
    let item = inventory.record_outflow(caller, kind, outflow).await?;
    Ok(Json(InventoryItemResponse { data: item.into() }))
}

/// Record stock used in the kitchen (a USAGE movement; audited).
#[utoipa::path(
    post, path = "/api/v1/restaurants/{id}/inventory/{itemId}/usage", tag = "inventory",
    params(
        ("id" = Uuid, Path, description = "Restaurant id"),
        ("itemId" = Uuid, Path, description = "Item id"),
    ),
    request_body = UsageRequest,
    responses((status = 200, description = "The item with its new on-hand", body = InventoryItemResponse)),
    security(("bearer" = []))
)]
pub async fn usage(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(ids): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<UsageRequest>,
) -> Result<Json<InventoryItemResponse>, AppError> {
    let flow = Outflow {
        item_id: ids.1,
        quantity: body.quantity,
        reason: body.reason,
        occurred_at: body.occurred_at,
    };
    outflow(&state, &caller, ids, MovementKind::Usage, flow).await
}

/// Record stock thrown away, with the reason (a WASTE movement; audited).
#[utoipa::path(
    post, path = "/api/v1/restaurants/{id}/inventory/{itemId}/waste", tag = "inventory",
    params(
        ("id" = Uuid, Path, description = "Restaurant id"),
        ("itemId" = Uuid, Path, description = "Item id"),
    ),
    request_body = WasteRequest,
    responses((status = 200, description = "The item with its new on-hand", body = InventoryItemResponse)),
    security(("bearer" = []))
)]
pub async fn waste(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(ids): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<WasteRequest>,
) -> Result<Json<InventoryItemResponse>, AppError> {
    let flow = Outflow {
        item_id: ids.1,
        quantity: body.quantity,
        reason: Some(body.reason),
        occurred_at: body.occurred_at,
    };
    outflow(&state, &caller, ids, MovementKind::Waste, flow).await
}

/// A count of an item.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StocktakeRequest {
    /// What was counted, 0 or more.
    #[schema(value_type = String, format = "iris-amount", example = "9")]
    #[serde(deserialize_with = "super::exact_decimal_required")]
    counted: Decimal,
    /// When it was counted (now by default; not in the future).
    occurred_at: Option<DateTime<Utc>>,
}

/// Record a count: the difference to the ledger becomes an ADJUSTMENT (audited).
#[utoipa::path(
    post, path = "/api/v1/restaurants/{id}/inventory/{itemId}/stocktake", tag = "inventory",
    params(
        ("id" = Uuid, Path, description = "Restaurant id"),
        ("itemId" = Uuid, Path, description = "Item id"),
    ),
    request_body = StocktakeRequest,
    responses((status = 200, description = "The item with its new on-hand", body = InventoryItemResponse)),
    security(("bearer" = []))
)]
pub async fn stocktake(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((restaurant, item)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<StocktakeRequest>,
) -> Result<Json<InventoryItemResponse>, AppError> {
    let inventory = &state.services.inventory;
    inventory.check_item_of(&caller, restaurant, item).await?;
    let item = inventory
        .stocktake(&caller, item, body.counted, body.occurred_at)
        .await?;
    Ok(Json(InventoryItemResponse { data: item.into() }))
}
