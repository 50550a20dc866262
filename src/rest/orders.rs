//! `/api/v1/orders`: orders over REST — list, get, place (with `Idempotency-Key`), and the
//! status transitions.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    MoneyDto, PaginationDto,
    extract::{ApiJson, ApiPath, ApiQuery},
    parse_sort,
};
use crate::{
    domain::{
        kernel::money::{Currency, Money},
        ordering::{
            LineInput, Order, OrderAction, OrderEvent, OrderFilter, OrderLine, OrderSort,
            OrderSortField, OrderStatus, PlaceOrder, Placed, receipts::ReceiptParty,
        },
    },
    error::{AppError, ErrorEnvelope},
    web::{ApiState, extract::SignedIn},
};

fn money(amount: Decimal, currency: &Currency) -> MoneyDto {
    Money {
        amount,
        currency: currency.clone(),
    }
    .into()
}

/// VAT at one rate.
#[derive(Serialize, ToSchema)]
pub struct TaxDto {
    /// Percent.
    #[schema(value_type = String, example = "12")]
    rate: Decimal,
    base: MoneyDto,
    amount: MoneyDto,
}

/// One line of an order, as it was when placed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineDto {
    line_number: i32,
    product_id: Uuid,
    sku: String,
    name: String,
    unit: &'static str,
    unit_price: MoneyDto,
    quantity: i64,
    line_total: MoneyDto,
    #[schema(value_type = String, example = "12")]
    tax_rate: Decimal,
}

impl OrderLineDto {
    fn new(l: OrderLine, currency: &Currency) -> Self {
        OrderLineDto {
            line_number: l.line_number,
            product_id: l.product_id,
            sku: l.sku,
            name: l.name,
            unit: l.unit.as_str(),
            unit_price: money(l.unit_price, currency),
            quantity: l.quantity,
            line_total: money(l.line_total, currency),
            tax_rate: l.tax_rate,
        }
    }
}

/// One status an order took.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderEventDto {
    #[schema(value_type = Option<String>)]
    from: Option<OrderStatus>,
    #[schema(value_type = String)]
    to: OrderStatus,
    actor_role: String,
    reason: Option<String>,
    at: DateTime<Utc>,
}

impl From<OrderEvent> for OrderEventDto {
    fn from(e: OrderEvent) -> Self {
        OrderEventDto {
            from: e.from,
            to: e.to,
            actor_role: e.actor_role,
            reason: e.reason,
            at: e.at,
        }
    }
}

/// A restaurant's order with one supplier. `lines` and `events` are included for single orders.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderDto {
    id: Uuid,
    restaurant_id: Uuid,
    supplier_id: Uuid,
    /// PLACED, CONFIRMED, SHIPPED, DELIVERED, CANCELLED or REJECTED.
    #[schema(value_type = String, example = "PLACED")]
    status: OrderStatus,
    currency: String,
    subtotal: MoneyDto,
    taxes: Vec<TaxDto>,
    tax: MoneyDto,
    total: MoneyDto,
    requested_delivery_date: NaiveDate,
    note: Option<String>,
    checkout_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lines: Option<Vec<OrderLineDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<Vec<OrderEventDto>>,
}

impl From<Order> for OrderDto {
    fn from(o: Order) -> Self {
        let c = &o.currency;
        OrderDto {
            id: o.id,
            restaurant_id: o.restaurant_id,
            supplier_id: o.supplier_id,
            status: o.status,
            currency: c.as_str().to_owned(),
            subtotal: money(o.subtotal, c),
            taxes: o
                .taxes
                .iter()
                .map(|t| TaxDto {
                    rate: t.rate,
                    base: money(t.base, c),
                    amount: money(t.amount, c),
                })
                .collect(),
            tax: money(o.tax, c),
            total: money(o.total, c),
            requested_delivery_date: o.requested_delivery_date,
            note: o.note,
            checkout_id: o.checkout_id,
            created_at: o.created_at,
            updated_at: o.updated_at,
            lines: None,
            events: None,
        }
    }
}

/// Orders with their lines and events (one query each for all of them).
pub(super) async fn detailed(
    state: &ApiState,
    orders: Vec<Order>,
) -> Result<Vec<OrderDto>, AppError> {
    let ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let mut lines = state.services.orders.lines_by_order(&ids).await?;
    let mut events = state.services.orders.events_by_order(&ids).await?;
    Ok(orders
        .into_iter()
        .map(|o| {
            let id = o.id;
            let currency = o.currency.clone();
            let mut dto = OrderDto::from(o);
            dto.lines = Some(
                lines
                    .remove(&id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| OrderLineDto::new(l, &currency))
                    .collect(),
            );
            dto.events = Some(
                events
                    .remove(&id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(OrderEventDto::from)
                    .collect(),
            );
            dto
        })
        .collect())
}

/// The `Idempotency-Key` header, if sent.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    headers
        .get("idempotency-key")
        .map(|v| {
            let bytes = v.as_bytes();
            if bytes.is_empty() || bytes.len() > 255 || !bytes.iter().all(u8::is_ascii_graphic) {
                return Err(AppError::validation(
                    "Idempotency-Key",
                    "must be 1 to 255 visible ASCII characters",
                ));
            }
            Ok(String::from_utf8_lossy(bytes).into_owned())
        })
        .transpose()
}

/// 201 for a new result, 200 with `Idempotent-Replayed: true` for a replay.
pub(super) fn placed_response<T: Serialize>(
    placed: &Placed,
    body: T,
    location: Option<String>,
) -> Response {
    let status = if placed.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(body)).into_response();
    if placed.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// One order.
#[derive(Serialize, ToSchema)]
pub struct OrderResponse {
    data: OrderDto,
}

/// Several orders.
#[derive(Serialize, ToSchema)]
pub struct OrdersResponse {
    pub(super) data: Vec<OrderDto>,
}

/// A page of orders.
#[derive(Serialize, ToSchema)]
pub struct OrderListResponse {
    data: Vec<OrderDto>,
    pagination: PaginationDto,
}

/// Paging, filters and sort of the order list.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersParams {
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// Items to skip.
    #[param(minimum = 0, maximum = 1_000_000_000)]
    offset: Option<u64>,
    /// `pagination.nextCursor` of the previous page (its last item's id): the page after that
    /// item, `offset` then skipping further. NOT_FOUND when the item left the list.
    cursor: Option<Uuid>,
    /// Comma-separated statuses, e.g. `PLACED,CONFIRMED`.
    #[param(
        pattern = "^(PLACED|CONFIRMED|SHIPPED|DELIVERED|CANCELLED|REJECTED)(,(PLACED|CONFIRMED|SHIPPED|DELIVERED|CANCELLED|REJECTED))*$"
    )]
    status: Option<String>,
    restaurant_id: Option<Uuid>,
    supplier_id: Option<Uuid>,
    /// Requested delivery on or after (YYYY-MM-DD).
    delivery_from: Option<NaiveDate>,
    /// Requested delivery on or before (YYYY-MM-DD).
    delivery_to: Option<NaiveDate>,
    /// `createdAt` (default `-createdAt`), `requestedDeliveryDate` or `total`; prefix `-` for
    /// descending.
    #[param(pattern = r"^-?(createdAt|requestedDeliveryDate|total)$")]
    sort: Option<String>,
}

/// The caller's orders: a restaurant's own, those placed with a supplier, all for admins.
#[utoipa::path(
    get, path = "/api/v1/orders", tag = "orders",
    params(ListOrdersParams),
    responses(
        (status = 200, description = "A page of orders (without lines)", body = OrderListResponse),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 422, description = "A parameter breaks a rule", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiQuery(params): ApiQuery<ListOrdersParams>,
) -> Result<Json<OrderListResponse>, AppError> {
    let page = super::page_request(params.offset, params.limit, params.cursor)?;
    let statuses = match params.status.as_deref() {
        None => Vec::new(),
        Some(raw) => raw
            .split(',')
            .map(|s| {
                OrderStatus::parse(s)
                    .ok_or_else(|| AppError::validation("status", format!("`{s}` is not a status")))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let filter = OrderFilter {
        statuses,
        restaurant_id: params.restaurant_id,
        supplier_id: params.supplier_id,
        delivery_from: params.delivery_from,
        delivery_to: params.delivery_to,
    };
    let sort = parse_sort(
        params.sort.as_deref(),
        &[
            ("createdAt", OrderSortField::CreatedAt),
            (
                "requestedDeliveryDate",
                OrderSortField::RequestedDeliveryDate,
            ),
            ("total", OrderSortField::Total),
        ],
    )?
    .map(|(field, direction)| OrderSort { field, direction })
    .unwrap_or_default();
    let result = state
        .services
        .orders
        .list(&caller, &filter, sort, page.clone())
        .await?;
    Ok(Json(OrderListResponse {
        pagination: PaginationDto::of(&page, &result),
        data: result.items.into_iter().map(OrderDto::from).collect(),
    }))
}

/// One order with its lines and status history.
#[utoipa::path(
    get, path = "/api/v1/orders/{id}", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = OrderResponse),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such order, or not the caller's", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<OrderResponse>, AppError> {
    let order = state.services.orders.get(&caller, id).await?;
    let data = detailed(&state, vec![order]).await?.remove(0);
    Ok(Json(OrderResponse { data }))
}

/// A party a receipt names.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptPartyDto {
    id: Uuid,
    name: String,
    /// Suppliers only.
    organisation_number: Option<String>,
    city: String,
    contact_email: String,
}

impl From<ReceiptParty> for ReceiptPartyDto {
    fn from(p: ReceiptParty) -> Self {
        ReceiptPartyDto {
            id: p.id,
            name: p.name,
            organisation_number: p.organisation_number,
            city: p.city,
            contact_email: p.contact_email,
        }
    }
}

/// An order's receipt, derived from its snapshot on request (never stored).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptDto {
    /// `R-` and the order id's first 8 hex digits.
    number: String,
    placed_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    supplier: ReceiptPartyDto,
    restaurant: ReceiptPartyDto,
    /// The order as placed: lines, VAT per rate, totals.
    order: OrderDto,
    /// The printable PDF.
    pdf_url: String,
}

/// A receipt.
#[derive(Serialize, ToSchema)]
pub struct ReceiptResponse {
    data: ReceiptDto,
}

/// An order's receipt as JSON: the order as placed, its parties, when it was placed and
/// delivered (the parties of the order and admins).
#[utoipa::path(
    get, path = "/api/v1/orders/{id}/receipt", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The receipt", body = ReceiptResponse),
        (status = 404, description = "No such order, or not the caller's", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn receipt(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ReceiptResponse>, AppError> {
    let receipt = state.services.orders.receipt(&caller, id).await?;
    let currency = receipt.order.currency.clone();
    let mut order = OrderDto::from(receipt.order);
    order.lines = Some(
        receipt
            .lines
            .into_iter()
            .map(|l| OrderLineDto::new(l, &currency))
            .collect(),
    );
    Ok(Json(ReceiptResponse {
        data: ReceiptDto {
            number: receipt.number,
            placed_at: receipt.placed_at,
            delivered_at: receipt.delivered_at,
            supplier: receipt.supplier.into(),
            restaurant: receipt.restaurant.into(),
            pdf_url: format!("/api/v1/orders/{id}/receipt.pdf"),
            order,
        },
    }))
}

/// An order's receipt as a printable PDF (A4).
#[utoipa::path(
    get, path = "/api/v1/orders/{id}/receipt.pdf", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The receipt", content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "No such order, or not the caller's", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn receipt_pdf(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, AppError> {
    let receipt = state.services.orders.receipt(&caller, id).await?;
    let bytes = crate::domain::ordering::receipts::receipt_pdf(&receipt);
    let disposition = format!("inline; filename=\"receipt-{}.pdf\"", receipt.number);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("inline")),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// A product and how many units.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderLineRequest {
    product_id: Uuid,
    /// 1–100000.
    #[schema(minimum = 1, maximum = 100_000)]
    #[serde(deserialize_with = "super::whole_number")]
    quantity: i64,
}

/// An order for one supplier.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaceOrderRequest {
    restaurant_id: Uuid,
    supplier_id: Uuid,
    /// 1–200 lines, each product once.
    #[schema(min_items = 1, max_items = 200)]
    lines: Vec<OrderLineRequest>,
    /// After today, on a delivery day of the supplier (YYYY-MM-DD).
    requested_delivery_date: NaiveDate,
    /// Blank means none.
    #[schema(format = "iris-optional-text", max_length = 1000)]
    note: Option<String>,
}

/// Place an order with one supplier, reserving its stock. Send `Idempotency-Key` to make
/// retries safe: the same key and body replay the first result (200, `Idempotent-Replayed:
/// true`); the same key with another body is 409.
#[utoipa::path(
    post, path = "/api/v1/orders", tag = "orders",
    request_body = PlaceOrderRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "1–255 visible ASCII characters; remembered for 24 hours")),
    responses(
        (status = 201, description = "Placed; `Location` names the order", body = OrderResponse),
        (status = 200, description = "Replayed for a repeated Idempotency-Key", body = OrderResponse),
        (status = 404, description = "No such restaurant, supplier or product (or not the caller's)", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Not a member of the restaurant", body = ErrorEnvelope),
        (status = 409, description = "INSUFFICIENT_STOCK (names the product) or an Idempotency-Key reused for another request", body = ErrorEnvelope),
        (status = 422, description = "A field breaks a rule", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn place(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PlaceOrderRequest>,
) -> Result<Response, AppError> {
    let request = PlaceOrder {
        restaurant_id: body.restaurant_id,
        supplier_id: body.supplier_id,
        lines: body
            .lines
            .into_iter()
            .map(|l| LineInput {
                product_id: l.product_id,
                quantity: l.quantity,
            })
            .collect(),
        requested_delivery_date: body.requested_delivery_date,
        note: body.note,
        idempotency_key: idempotency_key(&headers)?,
    };
    let placed = state.services.orders.place(&caller, request).await?;
    let mut orders = detailed(&state, placed.orders.clone()).await?;
    let data = orders
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no order placed")))?;
    let location = format!("/api/v1/orders/{}", data.id);
    Ok(placed_response(
        &placed,
        OrderResponse { data },
        Some(location),
    ))
}

/// Why a status changes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// Required to reject; optional otherwise (blank means none).
    #[schema(format = "iris-optional-text", max_length = 500)]
    reason: Option<String>,
}

/// Why the supplier turns an order down.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Its schema documents `reject`; the body parses as `TransitionRequest`.
pub struct RejectRequest {
    /// Shown to the restaurant.
    #[schema(format = "iris-text", max_length = 500)]
    reason: String,
}

fn reason(body: &Bytes) -> Result<Option<String>, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    // No body, an empty one, or JSON `null`: no reason.
    serde_json::from_slice::<Option<TransitionRequest>>(body)
        .map(|r| r.and_then(|r| r.reason))
        .map_err(|e| AppError::BadRequest(format!("malformed JSON body: {e}")))
}

async fn transition(
    state: ApiState,
    caller: crate::auth::Caller,
    id: Uuid,
    body: Bytes,
    action: OrderAction,
) -> Result<Json<OrderResponse>, AppError> {
    let order = state
        .services
        .orders
        .transition(&caller, id, action, reason(&body)?)
        .await?;
    let data = detailed(&state, vec![order]).await?.remove(0);
    Ok(Json(OrderResponse { data }))
}

macro_rules! transition_route {
    ($name:ident, $path:literal, $action:expr, $doc:literal, $who:literal, $body:ty, $body_doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            post, path = $path, tag = "orders",
            params(("id" = Uuid, Path, description = "Order id")),
            request_body(content = $body, description = $body_doc),
            responses(
                (status = 200, description = "The order after the change", body = OrderResponse),
                (status = 401, description = "Not signed in", body = ErrorEnvelope),
                (status = 403, description = $who, body = ErrorEnvelope),
                (status = 404, description = "No such order, or not the caller's", body = ErrorEnvelope),
                (status = 409, description = "INVALID_TRANSITION: the order's status does not allow it", body = ErrorEnvelope),
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(
            State(state): State<ApiState>,
            SignedIn(caller): SignedIn,
            ApiPath(id): ApiPath<Uuid>,
            body: Bytes,
        ) -> Result<Json<OrderResponse>, AppError> {
            transition(state, caller, id, body, $action).await
        }
    };
}

transition_route!(
    confirm,
    "/api/v1/orders/{id}/confirm",
    OrderAction::Confirm,
    "The supplier accepts a PLACED order.",
    "Not a member of the supplier",
    Option<TransitionRequest>,
    "Optional: a `reason`"
);
transition_route!(
    reject,
    "/api/v1/orders/{id}/reject",
    OrderAction::Reject,
    "The supplier turns down a PLACED or CONFIRMED order (reason required); stock is released.",
    "Not a member of the supplier",
    RejectRequest,
    "The `reason`, which the restaurant sees"
);
transition_route!(
    ship,
    "/api/v1/orders/{id}/ship",
    OrderAction::Ship,
    "The supplier ships a CONFIRMED order.",
    "Not a member of the supplier",
    Option<TransitionRequest>,
    "Optional: a `reason`"
);
transition_route!(
    deliver,
    "/api/v1/orders/{id}/deliver",
    OrderAction::Deliver,
    "The supplier marks a SHIPPED order delivered.",
    "Not a member of the supplier",
    Option<TransitionRequest>,
    "Optional: a `reason`"
);
transition_route!(
    cancel,
    "/api/v1/orders/{id}/cancel",
    OrderAction::Cancel,
    "The restaurant cancels a PLACED or CONFIRMED order; stock is released.",
    "Not a member of the restaurant",
    Option<TransitionRequest>,
    "Optional: a `reason`"
);
