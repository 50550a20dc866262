//! Orders over GraphQL: `orders`, `order`, `placeOrder`, `checkout`, the five status
//! mutations, and the live `orderStatusChanged` / `orderUpdates` subscriptions.

use async_graphql::{
    Context, Enum, ID, InputObject, Object, SimpleObject, Subscription,
    futures_util::{Stream, StreamExt},
};
use chrono::{DateTime, Utc};

use super::{
    caller,
    common::{Date, ExactDecimal, MoneyObject, SortDirection, money, parse_id},
    connection::{self, RelayConnection},
    loaders::loaders,
    products::{ProductObject, ProductUnit},
    restaurants::RestaurantObject,
    services,
    suppliers::SupplierObject,
};
use crate::domain::{
    kernel::{money::Currency, pagination::Direction},
    ordering::{
        self as domain, Checkout, LineInput, Order, OrderAction, OrderEvent, OrderLine,
        OrderStatusChanged, OrderTax, PlaceOrder, Placed, SupplierDelivery,
    },
};

/// Largest page of `orders`.
pub const MAX_ORDERS_PAGE: u64 = 500;

/// Where an order is in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::OrderStatus")]
pub enum OrderStatus {
    /// Placed by the restaurant; stock is reserved.
    Placed,
    /// Accepted by the supplier.
    Confirmed,
    /// On its way.
    Shipped,
    /// Delivered to the restaurant.
    Delivered,
    /// Cancelled by the restaurant; stock released.
    Cancelled,
    /// Turned down by the supplier; stock released.
    Rejected,
}

/// A restaurant's order with one supplier.
pub struct OrderObject(pub Order);

/// A party a receipt names.
#[derive(async_graphql::SimpleObject)]
pub struct ReceiptParty {
    /// The supplier or restaurant.
    id: ID,
    /// Its name now.
    name: String,
    /// The supplier's organisation number (restaurants have none here).
    organisation_number: Option<String>,
    /// Its city.
    city: String,
    /// Where to write to it.
    contact_email: String,
}

impl From<domain::receipts::ReceiptParty> for ReceiptParty {
    fn from(p: domain::receipts::ReceiptParty) -> Self {
        ReceiptParty {
            id: ID(p.id.to_string()),
            name: p.name,
            organisation_number: p.organisation_number,
            city: p.city,
            contact_email: p.contact_email,
        }
    }
}

/// An order's receipt (its lines, VAT and totals are the order's).
#[derive(async_graphql::SimpleObject)]
#[graphql(name = "Receipt")]
pub struct ReceiptObject {
    /// `R-` and the order id's first 8 hex digits.
    number: String,
    /// When the order was placed (UTC).
    placed_at: DateTime<Utc>,
    /// When it was marked delivered (UTC), if it was.
    delivered_at: Option<DateTime<Utc>>,
    /// The seller.
    supplier: ReceiptParty,
    /// The buyer.
    restaurant: ReceiptParty,
    /// The printable PDF (same credentials).
    pdf_url: String,
}

/// A restaurant's order with one supplier.
#[Object(name = "Order")]
impl OrderObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its receipt, derived from the order as placed on request (never stored): lines, VAT
    /// and totals are this order's; the receipt adds its number, the parties and the dates,
    /// and where its printable PDF is.
    async fn receipt(&self, ctx: &Context<'_>) -> async_graphql::Result<ReceiptObject> {
        let receipt = super::services(ctx)?
            .orders
            .receipt(caller(ctx), self.0.id)
            .await?;
        Ok(ReceiptObject {
            pdf_url: format!("/api/v1/orders/{}/receipt.pdf", self.0.id),
            number: receipt.number,
            placed_at: receipt.placed_at,
            delivered_at: receipt.delivered_at,
            supplier: receipt.supplier.into(),
            restaurant: receipt.restaurant.into(),
        })
    }

    /// The wholesaler's cart page this order was prefilled into through the restaurant's
    /// supplier connection (`prefillSupplierCart`), where the restaurant submits it there.
    async fn supplier_cart_link(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let run = super::services(ctx)?
            .integrations
            .prefill_of_order(caller(ctx), self.0.id)
            .await?;
        Ok(run.and_then(|r| r.deep_link().map(str::to_owned)))
    }

    /// Where the order is in its life.
    async fn status(&self) -> OrderStatus {
        self.0.status.into()
    }
    /// The restaurant that placed it (batched per request).
    async fn restaurant(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<RestaurantObject>> {
        Ok(loaders(ctx)?
            .restaurants
            .load_one(self.0.restaurant_id)
            .await?
            .map(RestaurantObject::of))
    }
    /// The supplier it was placed with (batched per request).
    async fn supplier(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SupplierObject>> {
        Ok(loaders(ctx)?
            .suppliers
            .load_one(self.0.supplier_id)
            .await?
            .map(SupplierObject))
    }
    /// What was ordered, as it was when placed (batched per request).
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn lines(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrderLineObject>> {
        let lines = loaders(ctx)?.order_lines.load_one(self.0.id).await?;
        Ok(lines
            .unwrap_or_default()
            .into_iter()
            .map(|line| OrderLineObject {
                line,
                currency: self.0.currency.clone(),
            })
            .collect())
    }
    /// Every status the order took, oldest first (batched per request).
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn events(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrderEventObject>> {
        let events = loaders(ctx)?.order_events.load_one(self.0.id).await?;
        Ok(events
            .unwrap_or_default()
            .into_iter()
            .map(OrderEventObject)
            .collect())
    }
    /// ISO 4217 currency of every amount of the order (the supplier's).
    async fn currency(&self) -> &str {
        self.0.currency.as_str()
    }
    /// Sum of the line totals, rounded half-up to cents, before VAT.
    async fn subtotal(&self) -> MoneyObject {
        money(self.0.subtotal, &self.0.currency)
    }
    /// VAT by rate, highest rate first.
    async fn taxes(&self) -> Vec<OrderTaxObject> {
        self.0
            .taxes
            .iter()
            .map(|t| OrderTaxObject::new(t, &self.0.currency))
            .collect()
    }
    /// Total VAT.
    async fn tax(&self) -> MoneyObject {
        money(self.0.tax, &self.0.currency)
    }
    /// Subtotal plus VAT.
    async fn total(&self) -> MoneyObject {
        money(self.0.total, &self.0.currency)
    }
    /// The delivery day the restaurant asked for.
    async fn requested_delivery_date(&self) -> Date {
        Date(self.0.requested_delivery_date)
    }
    /// The restaurant's note to the supplier.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Shared by the orders one checkout placed.
    async fn checkout_id(&self) -> Option<ID> {
        self.0.checkout_id.map(|id| ID(id.to_string()))
    }
    /// When it was placed (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// VAT at one rate.
#[derive(SimpleObject)]
#[graphql(name = "OrderTax")]
pub struct OrderTaxObject {
    /// The rate in percent (12 = 12 %).
    rate: ExactDecimal,
    /// Sum of the lines at this rate, rounded to cents.
    base: MoneyObject,
    /// The VAT, rounded half-up to cents.
    amount: MoneyObject,
}

impl OrderTaxObject {
    fn new(tax: &OrderTax, currency: &Currency) -> Self {
        OrderTaxObject {
            rate: ExactDecimal(tax.rate),
            base: money(tax.base, currency),
            amount: money(tax.amount, currency),
        }
    }
}

/// One line of an order, as it was when placed.
pub struct OrderLineObject {
    line: OrderLine,
    currency: Currency,
}

/// One line of an order, as it was when placed.
#[Object(name = "OrderLine")]
impl OrderLineObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.line.id.to_string())
    }
    /// Position in the order, from 1.
    async fn line_number(&self) -> i32 {
        self.line.line_number
    }
    /// The product today (it may have changed or been deleted since; batched per request).
    async fn product(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ProductObject>> {
        Ok(loaders(ctx)?
            .products
            .load_one(self.line.product_id)
            .await?
            .map(ProductObject::from))
    }
    /// SKU when ordered.
    async fn sku(&self) -> &str {
        &self.line.sku
    }
    /// Name when ordered.
    async fn name(&self) -> &str {
        &self.line.name
    }
    /// Unit when ordered.
    async fn unit(&self) -> ProductUnit {
        self.line.unit.into()
    }
    /// Price of one unit when ordered.
    async fn unit_price(&self) -> MoneyObject {
        money(self.line.unit_price, &self.currency)
    }
    /// Units ordered.
    async fn quantity(&self) -> i64 {
        self.line.quantity
    }
    /// Unit price × quantity, exact.
    async fn line_total(&self) -> MoneyObject {
        money(self.line.line_total, &self.currency)
    }
    /// VAT rate in percent when ordered.
    async fn tax_rate(&self) -> ExactDecimal {
        ExactDecimal(self.line.tax_rate)
    }
    /// The product's list price when ordered (null for lines older than price lists).
    async fn list_unit_price(&self) -> Option<MoneyObject> {
        self.line.list_unit_price.map(|p| money(p, &self.currency))
    }
    /// The price list (and tier) that priced the line when ordered; null when the list price
    /// applied. Later changes to the list never touch it.
    async fn applied_price_list(&self) -> Option<OrderLinePriceList> {
        self.line.price_list.as_ref().map(|p| OrderLinePriceList {
            id: ID(p.id.to_string()),
            name: p.name.clone(),
            min_quantity: p.min_quantity,
        })
    }
}

/// The price list and tier that priced an order line, as they were when it was ordered.
#[derive(async_graphql::SimpleObject)]
pub struct OrderLinePriceList {
    /// The list (UUID).
    id: ID,
    /// Its name then.
    name: String,
    /// The tier's break quantity.
    min_quantity: i64,
}

/// One status an order took.
pub struct OrderEventObject(OrderEvent);

/// One status an order took.
#[Object(name = "OrderEvent")]
impl OrderEventObject {
    /// The status before; null when the order was placed.
    async fn from(&self) -> Option<OrderStatus> {
        self.0.from.map(Into::into)
    }
    /// The status after.
    async fn to(&self) -> OrderStatus {
        self.0.to.into()
    }
    /// Role of whoever made the change: ADMIN, SUPPLIER, RESTAURANT or SYSTEM.
    async fn actor_role(&self) -> &str {
        &self.0.actor_role
    }
    /// Why (required for rejections).
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// When (UTC).
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// Which orders to list; all conditions must hold.
#[derive(InputObject, Default)]
pub struct OrderFilter {
    /// Orders in any of these statuses.
    #[graphql(default)]
    statuses: Vec<OrderStatus>,
    /// Orders of this restaurant.
    restaurant_id: Option<ID>,
    /// Orders with this supplier.
    supplier_id: Option<ID>,
    /// Requested delivery on or after this date.
    delivery_from: Option<Date>,
    /// Requested delivery on or before this date.
    delivery_to: Option<Date>,
}

/// Field an order list is sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(remote = "domain::OrderSortField")]
pub enum OrderSortField {
    /// When placed.
    #[default]
    CreatedAt,
    /// Requested delivery date.
    RequestedDeliveryDate,
    /// Order total.
    Total,
}

/// How to sort an order list.
#[derive(InputObject)]
pub struct OrderSort {
    /// Field to sort by.
    #[graphql(default)]
    field: OrderSortField,
    /// Ascending or descending.
    #[graphql(default_with = "SortDirection::Desc")]
    direction: SortDirection,
}

/// A product and how many units of it.
#[derive(InputObject)]
pub struct OrderLineInput {
    /// The product (of the order's supplier).
    product_id: ID,
    /// Units, 1–100000.
    quantity: i64,
}

/// An order for one supplier, without the cart.
#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// The restaurant ordering (its members and admins may).
    restaurant_id: ID,
    /// The supplier ordered from.
    supplier_id: ID,
    /// 1–200 lines, each product once.
    lines: Vec<OrderLineInput>,
    /// After today, on one of the supplier's delivery days, at most 90 days ahead.
    requested_delivery_date: Date,
    /// Note to the supplier (at most 1000 characters).
    note: Option<String>,
    /// Makes retries safe: the same key and request replay the first result; the same key with
    /// a different request is a CONFLICT. Remembered for 24 hours.
    idempotency_key: Option<String>,
}

/// Result of `placeOrder`.
#[derive(SimpleObject)]
pub struct PlaceOrderPayload {
    /// The order.
    order: OrderObject,
    /// True when an idempotency key replayed an earlier result.
    replayed: bool,
}

/// The delivery date (and note) of one supplier's order in a checkout.
#[derive(InputObject)]
pub struct CheckoutDeliveryInput {
    /// A supplier with products in the cart.
    supplier_id: ID,
    /// After today, on one of the supplier's delivery days.
    requested_delivery_date: Date,
    /// Note to this supplier.
    note: Option<String>,
}

/// Orders the restaurant's cart: one order per supplier, all or none.
#[derive(InputObject)]
pub struct CheckoutInput {
    /// The restaurant whose cart is ordered.
    restaurant_id: ID,
    /// Delivery date for every supplier not listed in `deliveries`.
    requested_delivery_date: Option<Date>,
    /// Note for every supplier not given one in `deliveries`.
    note: Option<String>,
    /// Per-supplier delivery dates and notes.
    #[graphql(default)]
    deliveries: Vec<CheckoutDeliveryInput>,
    /// Makes retries safe (see `PlaceOrderInput.idempotencyKey`).
    idempotency_key: Option<String>,
}

/// Result of `checkout`.
#[derive(SimpleObject)]
pub struct CheckoutPayload {
    /// One order per supplier, in the order suppliers appear in the cart.
    orders: Vec<OrderObject>,
    /// True when an idempotency key replayed an earlier result.
    replayed: bool,
}

/// An order to move to its next status.
#[derive(InputObject)]
pub struct OrderTransitionInput {
    /// The order.
    order_id: ID,
    /// Why (required to reject; optional otherwise; at most 500 characters).
    reason: Option<String>,
}

/// Result of a status change.
#[derive(SimpleObject)]
pub struct OrderPayload {
    /// The order after the change.
    order: OrderObject,
}

/// A change of an order's status, as it happened.
#[derive(SimpleObject)]
pub struct OrderStatusEvent {
    /// The order after the change.
    order: OrderObject,
    /// The status before; null when the order was just placed.
    #[graphql(name = "from")]
    from_status: Option<OrderStatus>,
    /// The status after.
    to: OrderStatus,
    /// Role of whoever made the change.
    actor_role: String,
    /// Why, when given.
    reason: Option<String>,
    /// When (UTC).
    occurred_at: DateTime<Utc>,
}

impl From<OrderStatusChanged> for OrderStatusEvent {
    fn from(e: OrderStatusChanged) -> Self {
        OrderStatusEvent {
            order: OrderObject(e.order),
            from_status: e.from.map(Into::into),
            to: e.to.into(),
            actor_role: e.actor_role,
            reason: e.reason,
            occurred_at: e.occurred_at,
        }
    }
}

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// The caller's orders — a restaurant's own, those placed with a supplier, all for admins —
    /// newest first unless sorted otherwise (at most 500 per page).
    #[allow(clippy::too_many_arguments)] // Relay's four arguments plus filter and sort.
    #[graphql(
        complexity = "crate::graphql::cost::page_up_to(first, last, crate::graphql::orders::MAX_ORDERS_PAGE, child_complexity)"
    )]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first n items after `after` (0–500; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(desc = "The last n items before `before` (0–500).")] last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Which orders.")] filter: Option<OrderFilter>,
        #[graphql(desc = "Sort order; newest first when absent.")] sort: Option<OrderSort>,
    ) -> async_graphql::Result<RelayConnection<OrderObject>> {
        let page =
            connection::page_request_up_to(ctx, first, after, last, before, MAX_ORDERS_PAGE)?;
        let filter = filter.unwrap_or_default();
        let filter = domain::OrderFilter {
            statuses: filter.statuses.into_iter().map(Into::into).collect(),
            restaurant_id: filter
                .restaurant_id
                .as_ref()
                .map(|id| parse_id("filter.restaurantId", id))
                .transpose()?,
            supplier_id: filter
                .supplier_id
                .as_ref()
                .map(|id| parse_id("filter.supplierId", id))
                .transpose()?,
            delivery_from: filter.delivery_from.map(|d| d.0),
            delivery_to: filter.delivery_to.map(|d| d.0),
        };
        let sort = sort.map_or_else(domain::OrderSort::default, |s| domain::OrderSort {
            field: s.field.into(),
            direction: Direction::from(s.direction),
        });
        let result = services(ctx)?
            .orders
            .list(caller(ctx), &filter, sort, page)
            .await?;
        Ok(connection::connection(result, OrderObject))
    }

    /// One order; NOT_FOUND unless the caller is a party to it or an admin.
    async fn order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's id (UUID).")] id: ID,
    ) -> async_graphql::Result<Option<OrderObject>> {
        let id = parse_id("id", &id)?;
        Ok(Some(OrderObject(
            services(ctx)?.orders.get(caller(ctx), id).await?,
        )))
    }
}

fn lines(input: Vec<OrderLineInput>) -> Result<Vec<LineInput>, crate::error::AppError> {
    input
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(LineInput {
                product_id: parse_id(&format!("lines[{i}].productId"), &l.product_id)?,
                quantity: l.quantity,
            })
        })
        .collect()
}

async fn transition(
    ctx: &Context<'_>,
    input: OrderTransitionInput,
    action: OrderAction,
) -> async_graphql::Result<OrderPayload> {
    let id = parse_id("orderId", &input.order_id)?;
    let order = services(ctx)?
        .orders
        .transition(caller(ctx), id, action, input.reason)
        .await?;
    Ok(OrderPayload {
        order: OrderObject(order),
    })
}

/// Hands the lines a placement wrote to the request's loaders, so its answer does not read
/// them back (lines never change; the products they point to did — their stock — so those
/// are read when asked for).
fn prime(ctx: &Context<'_>, placed: &Placed) -> async_graphql::Result<()> {
    let loaders = loaders(ctx)?;
    for (order, lines) in &placed.lines {
        loaders.order_lines.prime(*order, lines.clone());
    }
    Ok(())
}

#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Places an order with one supplier, reserving its stock (INSUFFICIENT_STOCK names the
    /// product that ran short; nothing is written then).
    async fn place_order(
        &self,
        ctx: &Context<'_>,
        input: PlaceOrderInput,
    ) -> async_graphql::Result<PlaceOrderPayload> {
        let request = PlaceOrder {
            restaurant_id: parse_id("restaurantId", &input.restaurant_id)?,
            supplier_id: parse_id("supplierId", &input.supplier_id)?,
            lines: lines(input.lines)?,
            requested_delivery_date: input.requested_delivery_date.0,
            note: input.note,
            idempotency_key: input.idempotency_key,
        };
        let placed = services(ctx)?.orders.place(caller(ctx), request).await?;
        prime(ctx, &placed)?;
        let order =
            placed.orders.into_iter().next().ok_or_else(|| {
                crate::error::AppError::Internal(anyhow::anyhow!("no order placed"))
            })?;
        Ok(PlaceOrderPayload {
            order: OrderObject(order),
            replayed: placed.replayed,
        })
    }

    /// Orders the restaurant's cart: one order per supplier, in one transaction (all or none);
    /// the cart is emptied.
    async fn checkout(
        &self,
        ctx: &Context<'_>,
        input: CheckoutInput,
    ) -> async_graphql::Result<CheckoutPayload> {
        let deliveries = input
            .deliveries
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                Ok(SupplierDelivery {
                    supplier_id: parse_id(&format!("deliveries[{i}].supplierId"), &d.supplier_id)?,
                    requested_delivery_date: d.requested_delivery_date.0,
                    note: d.note,
                })
            })
            .collect::<Result<Vec<_>, crate::error::AppError>>()?;
        let request = Checkout {
            restaurant_id: parse_id("restaurantId", &input.restaurant_id)?,
            requested_delivery_date: input.requested_delivery_date.map(|d| d.0),
            note: input.note,
            deliveries,
            idempotency_key: input.idempotency_key,
        };
        let placed = services(ctx)?.orders.checkout(caller(ctx), request).await?;
        prime(ctx, &placed)?;
        Ok(CheckoutPayload {
            orders: placed.orders.into_iter().map(OrderObject).collect(),
            replayed: placed.replayed,
        })
    }

    /// The supplier accepts a PLACED order.
    async fn confirm_order(
        &self,
        ctx: &Context<'_>,
        input: OrderTransitionInput,
    ) -> async_graphql::Result<OrderPayload> {
        transition(ctx, input, OrderAction::Confirm).await
    }

    /// The supplier turns down a PLACED or CONFIRMED order, giving a reason; stock is released.
    async fn reject_order(
        &self,
        ctx: &Context<'_>,
        input: OrderTransitionInput,
    ) -> async_graphql::Result<OrderPayload> {
        transition(ctx, input, OrderAction::Reject).await
    }

    /// The supplier sends a CONFIRMED order on its way.
    async fn ship_order(
        &self,
        ctx: &Context<'_>,
        input: OrderTransitionInput,
    ) -> async_graphql::Result<OrderPayload> {
        transition(ctx, input, OrderAction::Ship).await
    }

    /// The supplier marks a SHIPPED order delivered.
    async fn mark_order_delivered(
        &self,
        ctx: &Context<'_>,
        input: OrderTransitionInput,
    ) -> async_graphql::Result<OrderPayload> {
        transition(ctx, input, OrderAction::Deliver).await
    }

    /// The restaurant cancels a PLACED or CONFIRMED order; stock is released.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        input: OrderTransitionInput,
    ) -> async_graphql::Result<OrderPayload> {
        transition(ctx, input, OrderAction::Cancel).await
    }
}

#[derive(Default)]
pub struct OrderSubscription;

#[Subscription]
impl OrderSubscription {
    /// Status changes of one order, live, for its parties and admins. Access is checked when
    /// subscribing (NOT_FOUND) and for every event; losing it ends the stream with FORBIDDEN.
    /// When events may have been missed (the event bus was unreachable), the stream ends with
    /// SERVICE_UNAVAILABLE: resubscribe, then refetch the order.
    async fn order_status_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order to watch.")] order_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<OrderStatusEvent>> + use<>>
    {
        let id = parse_id("orderId", &order_id)?;
        let events = services(ctx)?.orders.watch(caller(ctx), id).await?;
        Ok(events.map(|item| {
            item.map(OrderStatusEvent::from)
                .map_err(async_graphql::Error::from)
        }))
    }

    /// Every order placed or changed in the caller's organisations (every order for admins),
    /// live; each event is checked against the caller's current memberships. When events may
    /// have been missed (the event bus was unreachable), the stream ends with
    /// SERVICE_UNAVAILABLE: resubscribe, then refetch the orders shown.
    async fn order_updates(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<OrderStatusEvent>> + use<>>
    {
        let events = services(ctx)?.orders.updates(caller(ctx))?;
        Ok(events.map(|item| {
            item.map(OrderStatusEvent::from)
                .map_err(async_graphql::Error::from)
        }))
    }
}
