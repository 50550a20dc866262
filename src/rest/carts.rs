//! `/api/v1/carts/{restaurantId}`: a restaurant's cart over REST, and its checkout.

use std::collections::HashMap;

use axum::{Json, extract::State, http::HeaderMap, response::Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    MoneyDto,
    extract::{ApiJson, ApiPath},
    orders::{OrdersResponse, detailed, idempotency_key, placed_response},
};
use crate::{
    domain::ordering::{Cart, Checkout, SupplierDelivery},
    error::{AppError, ErrorEnvelope},
    web::{ApiState, extract::SignedIn},
};

/// A product and a quantity in a cart, at today's price.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartItemDto {
    product_id: Uuid,
    supplier_id: Option<Uuid>,
    sku: Option<String>,
    name: Option<String>,
    quantity: i64,
    /// The restaurant's unit price (its price lists applied).
    unit_price: Option<MoneyDto>,
    line_total: Option<MoneyDto>,
    /// The price list that sets the price, if one does.
    price_list: Option<String>,
    added_at: DateTime<Utc>,
}

/// A restaurant's cart.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartDto {
    restaurant_id: Uuid,
    items: Vec<CartItemDto>,
    updated_at: Option<DateTime<Utc>>,
}

/// The cart.
#[derive(Serialize, ToSchema)]
pub struct CartResponse {
    data: CartDto,
}

async fn cart_response(state: &ApiState, cart: Cart) -> Result<Json<CartResponse>, AppError> {
    let items = state
        .services
        .carts
        .items_by_restaurant(&[cart.restaurant_id])
        .await?
        .remove(&cart.restaurant_id)
        .unwrap_or_default();
    let ids: Vec<Uuid> = items.iter().map(|i| i.product_id).collect();
    let products: HashMap<Uuid, _> = state
        .services
        .products
        .by_ids(&ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    // Priced as checkout will charge: the restaurant's price lists, in one statement.
    let priced: Vec<_> = items
        .iter()
        .filter_map(|item| Some((products.get(&item.product_id)?, item.quantity)))
        .collect();
    let mut prices: HashMap<Uuid, crate::domain::pricing::ResolvedPrice> = state
        .services
        .pricing
        .resolve_products(cart.restaurant_id, &priced)
        .await?
        .into_iter()
        .zip(&priced)
        .map(|(price, (product, _))| (product.id, price))
        .collect();
    let items = items
        .into_iter()
        .map(|item| {
            let product = products.get(&item.product_id);
            let price = prices.remove(&item.product_id);
            CartItemDto {
                product_id: item.product_id,
                supplier_id: product.map(|p| p.supplier_id),
                sku: product.map(|p| p.sku.clone()),
                name: product.map(|p| p.name.clone()),
                quantity: item.quantity,
                unit_price: price.as_ref().map(|p| MoneyDto {
                    amount: p.unit_price.normalize(),
                    currency: p.currency.as_str().to_owned(),
                }),
                line_total: price.as_ref().map(|p| MoneyDto {
                    amount: (p.unit_price * rust_decimal::Decimal::from(item.quantity)).normalize(),
                    currency: p.currency.as_str().to_owned(),
                }),
                price_list: price.and_then(|p| p.applied).map(|a| a.name),
                added_at: item.added_at,
            }
        })
        .collect();
    Ok(Json(CartResponse {
        data: CartDto {
            restaurant_id: cart.restaurant_id,
            items,
            updated_at: cart.updated_at,
        },
    }))
}

/// A restaurant's cart (its members and admins).
#[utoipa::path(
    get, path = "/api/v1/carts/{restaurantId}", tag = "carts",
    params(("restaurantId" = Uuid, Path, description = "Restaurant id")),
    responses(
        (status = 200, description = "The cart", body = CartResponse),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Not a member of the restaurant", body = ErrorEnvelope),
        (status = 404, description = "No such restaurant", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
) -> Result<Json<CartResponse>, AppError> {
    let cart = state.services.carts.get(&caller, restaurant).await?;
    cart_response(&state, cart).await
}

/// A product and units to add.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddCartItemRequest {
    product_id: Uuid,
    /// Units to add, 1–100000.
    #[schema(minimum = 1, maximum = 100_000)]
    #[serde(deserialize_with = "super::whole_number")]
    quantity: i64,
}

/// Add units of a product to the cart.
#[utoipa::path(
    post, path = "/api/v1/carts/{restaurantId}/items", tag = "carts",
    params(("restaurantId" = Uuid, Path, description = "Restaurant id")),
    request_body = AddCartItemRequest,
    responses(
        (status = 200, description = "The cart after the change", body = CartResponse),
        (status = 403, description = "Not a member of the restaurant", body = ErrorEnvelope),
        (status = 404, description = "No such restaurant or product", body = ErrorEnvelope),
        (status = 409, description = "The cart would hold more than 100000 of the product or more than 200 products, or the product is not available for ordering", body = ErrorEnvelope),
        (status = 422, description = "A field breaks a rule", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn add(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AddCartItemRequest>,
) -> Result<Json<CartResponse>, AppError> {
    let cart = state
        .services
        .carts
        .add(&caller, restaurant, body.product_id, body.quantity)
        .await?;
    cart_response(&state, cart).await
}

/// The new quantity of a product in the cart.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCartItemRequest {
    /// 0–100000; 0 removes the product.
    #[schema(minimum = 0, maximum = 100_000)]
    #[serde(deserialize_with = "super::whole_number")]
    quantity: i64,
}

/// Set the quantity of a product in the cart.
#[utoipa::path(
    put, path = "/api/v1/carts/{restaurantId}/items/{productId}", tag = "carts",
    params(
        ("restaurantId" = Uuid, Path, description = "Restaurant id"),
        ("productId" = Uuid, Path, description = "Product id"),
    ),
    request_body = SetCartItemRequest,
    responses(
        (status = 200, description = "The cart after the change", body = CartResponse),
        (status = 404, description = "The product is not in the cart", body = ErrorEnvelope),
        (status = 409, description = "The cart would hold more than 100000 of the product or more than 200 products, or the product is not available for ordering", body = ErrorEnvelope),
        (status = 422, description = "A field breaks a rule", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn set(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((restaurant, product)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<SetCartItemRequest>,
) -> Result<Json<CartResponse>, AppError> {
    let cart = state
        .services
        .carts
        .set_quantity(&caller, restaurant, product, body.quantity)
        .await?;
    cart_response(&state, cart).await
}

/// Take a product out of the cart.
#[utoipa::path(
    delete, path = "/api/v1/carts/{restaurantId}/items/{productId}", tag = "carts",
    params(
        ("restaurantId" = Uuid, Path, description = "Restaurant id"),
        ("productId" = Uuid, Path, description = "Product id"),
    ),
    responses(
        (status = 200, description = "The cart after the change", body = CartResponse),
        (status = 404, description = "The product is not in the cart", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn remove(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((restaurant, product)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<CartResponse>, AppError> {
    let cart = state
        .services
        .carts
        .remove(&caller, restaurant, product)
        .await?;
    cart_response(&state, cart).await
}

/// Empty the cart.
#[utoipa::path(
    delete, path = "/api/v1/carts/{restaurantId}", tag = "carts",
    params(("restaurantId" = Uuid, Path, description = "Restaurant id")),
    responses(
        (status = 200, description = "The emptied cart", body = CartResponse),
        (status = 403, description = "Not a member of the restaurant", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn clear(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
) -> Result<Json<CartResponse>, AppError> {
    let cart = state.services.carts.clear(&caller, restaurant).await?;
    cart_response(&state, cart).await
}

/// A delivery date (and note) for one supplier of the cart.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryRequest {
    supplier_id: Uuid,
    requested_delivery_date: NaiveDate,
    /// Blank means none.
    #[schema(format = "iris-optional-text", max_length = 1000)]
    note: Option<String>,
}

/// How to order the cart.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckoutRequest {
    /// For every supplier not listed in `deliveries` (YYYY-MM-DD).
    requested_delivery_date: Option<NaiveDate>,
    /// Blank means none.
    #[schema(format = "iris-optional-text", max_length = 1000)]
    note: Option<String>,
    #[serde(default)]
    deliveries: Vec<DeliveryRequest>,
}

/// Order the cart: one order per supplier, all or none; the cart is emptied. Send
/// `Idempotency-Key` to make retries safe.
#[utoipa::path(
    post, path = "/api/v1/carts/{restaurantId}/checkout", tag = "carts",
    params(
        ("restaurantId" = Uuid, Path, description = "Restaurant id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "1–255 visible ASCII characters; remembered for 24 hours"),
    ),
    request_body = CheckoutRequest,
    responses(
        (status = 201, description = "The orders placed", body = OrdersResponse),
        (status = 200, description = "Replayed for a repeated Idempotency-Key", body = OrdersResponse),
        (status = 403, description = "Not a member of the restaurant", body = ErrorEnvelope),
        (status = 409, description = "INSUFFICIENT_STOCK (names the product) or an Idempotency-Key reused for another request", body = ErrorEnvelope),
        (status = 422, description = "The cart or a field breaks a rule", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn checkout(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(restaurant): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CheckoutRequest>,
) -> Result<Response, AppError> {
    let request = Checkout {
        restaurant_id: restaurant,
        requested_delivery_date: body.requested_delivery_date,
        note: body.note,
        deliveries: body
            .deliveries
            .into_iter()
            .map(|d| SupplierDelivery {
                supplier_id: d.supplier_id,
                requested_delivery_date: d.requested_delivery_date,
                note: d.note,
            })
            .collect(),
        idempotency_key: idempotency_key(&headers)?,
    };
    let placed = state.services.orders.checkout(&caller, request).await?;
    let data = detailed(&state, placed.orders.clone()).await?;
    Ok(placed_response(&placed, OrdersResponse { data }, None))
}
