//! Storage of carts, orders and idempotency keys: every query of the ordering context, and the
//! conversions of its rows to domain types. Products are the catalog's (see
//! `crate::domain::catalog`); the restaurant checks read the `restaurants` table directly until
//! that context exports them.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, SubsecRound as _, Utc};
use entity::{cart_items, carts, idempotency_keys, order_events, order_lines, orders, products};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, InsertStatement},
};
use serde_json::json;
use uuid::Uuid;

use super::{
    CartItem, LinePriceList, Order, OrderEvent, OrderFilter, OrderLine, OrderSort, OrderSortField,
    OrderStatus, OrderTax,
    totals::{TaxLine, Totals},
};
use crate::{
    domain::{
        catalog::{Unit, tax_rate_percent},
        kernel::{
            money::{Currency, from_milli, to_milli},
            pagination::{Page, PageRequest},
        },
        pricing::ResolvedPrice,
        repository::{SortOrder, fetch_page},
    },
    error::{AppError, DbResultExt as _},
};

pub(super) fn order_to_domain(m: orders::Model) -> Order {
    let taxes: Vec<TaxLine> = serde_json::from_value(m.taxes).unwrap_or_default();
    Order {
        id: m.id,
        restaurant_id: m.restaurant_id,
        supplier_id: m.supplier_id,
        status: OrderStatus::parse(&m.status).unwrap_or(OrderStatus::Placed),
        currency: Currency::from_stored(&m.currency),
        subtotal: from_milli(m.subtotal_milli),
        taxes: taxes
            .into_iter()
            .map(|t| OrderTax {
                rate: tax_rate_percent(t.rate_bp),
                base: from_milli(t.base_milli),
                amount: from_milli(t.amount_milli),
            })
            .collect(),
        tax: from_milli(m.tax_milli),
        total: from_milli(m.total_milli),
        requested_delivery_date: m.requested_delivery_date,
        note: m.note,
        placed_by: m.placed_by,
        checkout_id: m.checkout_id,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

pub(super) fn line_to_domain(m: order_lines::Model) -> OrderLine {
    OrderLine {
        id: m.id,
        order_id: m.order_id,
        line_number: m.line_number,
        product_id: m.product_id,
        sku: m.sku,
        name: m.name,
        unit: Unit::parse(&m.unit).unwrap_or(Unit::Piece),
        unit_price: from_milli(m.unit_price_milli),
        quantity: m.quantity,
        line_total: from_milli(m.line_total_milli),
        tax_rate: tax_rate_percent(m.tax_rate_bp),
        list_unit_price: m.list_unit_price_milli.map(from_milli),
        price_list: match (m.price_list_id, m.price_list_name) {
            (Some(id), Some(name)) => Some(LinePriceList {
                id,
                name,
                min_quantity: m.price_tier_min_quantity.unwrap_or(1),
            }),
            _ => None,
        },
    }
}

pub(super) fn event_to_domain(m: order_events::Model) -> OrderEvent {
    OrderEvent {
        id: m.id,
        order_id: m.order_id,
        from: m.from_status.as_deref().and_then(OrderStatus::parse),
        to: OrderStatus::parse(&m.to_status).unwrap_or(OrderStatus::Placed),
        actor_account_id: m.actor_account_id,
        actor_role: m.actor_role,
        reason: m.reason,
        at: m.at,
    }
}

pub(super) async fn find_order(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<orders::Model>, AppError> {
    Ok(orders::Entity::find_by_id(id)
        .filter(orders::Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

pub(super) async fn orders_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Order>, AppError> {
    let mut found: HashMap<Uuid, Order> = orders::Entity::find()
        .filter(orders::Column::Id.is_in(ids.to_vec()))
        .filter(orders::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, order_to_domain(m)))
        .collect();
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

pub(super) async fn lines_of(
    db: &impl ConnectionTrait,
    order_ids: &[Uuid],
) -> Result<Vec<order_lines::Model>, AppError> {
    Ok(order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.is_in(order_ids.to_vec()))
        .order_by_asc(order_lines::Column::OrderId)
        .order_by_asc(order_lines::Column::LineNumber)
        .all(db)
        .await?)
}

pub(super) async fn events_of(
    db: &impl ConnectionTrait,
    order_ids: &[Uuid],
) -> Result<Vec<order_events::Model>, AppError> {
    Ok(order_events::Entity::find()
        .filter(order_events::Column::OrderId.is_in(order_ids.to_vec()))
        .order_by_asc(order_events::Column::At)
        .order_by_asc(order_events::Column::Id)
        .all(db)
        .await?)
}

/// A new order as it is stored, with its totals.
pub(super) struct NewOrder<'a> {
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub supplier_id: Uuid,
    pub status: OrderStatus,
    pub currency: &'a Currency,
    pub totals: &'a Totals,
    pub requested_delivery_date: NaiveDate,
    pub note: Option<String>,
    pub placed_by: Option<Uuid>,
    pub checkout_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// One line of a new order: the product as it is now (its snapshot is stored), how many, and
/// the line's exact total.
pub(super) struct NewLine<'a> {
    pub product: &'a products::Model,
    /// What the restaurant pays per unit, and which price list (and tier) says so.
    pub price: &'a ResolvedPrice,
    pub quantity: i64,
    pub line_total_milli: i64,
}

/// The statements writing an order and its lines (numbered from 1 in the given order), and
/// the order as they store it; sent with the change's other writes
/// ([`crate::domain::repository::write_together`]).
pub(super) fn order_inserts(
    order: NewOrder<'_>,
    lines: Vec<NewLine<'_>>,
) -> (Order, Vec<OrderLine>, Vec<InsertStatement>) {
    // Stored as read back: Postgres keeps microseconds, so the order returned now and the one
    // read later carry the same times.
    let at = order.at.trunc_subsecs(6);
    let model = orders::Model {
        id: order.id,
        restaurant_id: order.restaurant_id,
        supplier_id: order.supplier_id,
        status: order.status.as_str().to_owned(),
        currency: order.currency.as_str().to_owned(),
        subtotal_milli: order.totals.subtotal_milli,
        tax_milli: order.totals.tax_milli,
        total_milli: order.totals.total_milli,
        taxes: json!(order.totals.taxes),
        requested_delivery_date: order.requested_delivery_date,
        note: order.note,
        placed_by: order.placed_by,
        checkout_id: order.checkout_id,
        created_at: at,
        updated_at: at,
        deleted_at: None,
    };
    let header = orders::Entity::insert(model.clone().into_active_model()).into_query();
    let lines: Vec<order_lines::Model> = lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| order_lines::Model {
            id: Uuid::now_v7(),
            order_id: order.id,
            line_number: i as i32 + 1,
            product_id: line.product.id,
            sku: line.product.sku.clone(),
            name: line.product.name.clone(),
            unit: line.product.unit.clone(),
            unit_price_milli: to_milli(line.price.unit_price)
                .unwrap_or(line.product.unit_price_milli),
            quantity: line.quantity,
            line_total_milli: line.line_total_milli,
            tax_rate_bp: line.product.tax_rate_bp,
            list_unit_price_milli: Some(line.product.unit_price_milli),
            price_list_id: line.price.applied.as_ref().map(|a| a.id),
            price_list_name: line.price.applied.as_ref().map(|a| a.name.clone()),
            price_tier_min_quantity: line.price.applied.as_ref().map(|a| a.min_quantity),
        })
        .collect();
    let insert_lines = order_lines::Entity::insert_many(
        lines
            .iter()
            .cloned()
            .map(IntoActiveModel::into_active_model),
    )
    .into_query();
    (
        order_to_domain(model),
        lines.into_iter().map(line_to_domain).collect(),
        vec![header, insert_lines],
    )
}

/// Adds a status to an order's history.
pub(super) async fn insert_event(
    db: &impl ConnectionTrait,
    event: OrderEvent,
) -> Result<(), AppError> {
    db.execute(&event_insert(event)).await?;
    Ok(())
}

/// The statement of [`insert_event`], for a change that sends its writes together.
pub(super) fn event_insert(event: OrderEvent) -> InsertStatement {
    order_events::Entity::insert(order_events::ActiveModel {
        id: Set(event.id),
        order_id: Set(event.order_id),
        from_status: Set(event.from.map(|s| s.as_str().to_owned())),
        to_status: Set(event.to.as_str().to_owned()),
        actor_account_id: Set(event.actor_account_id),
        actor_role: Set(event.actor_role),
        reason: Set(event.reason),
        at: Set(event.at),
    })
    .into_query()
}

/// Moves the order from `from` to `to` if, and only if, it is still `from`: compare-and-set, so
/// of two concurrent transitions of one order the second changes nothing (`false`).
pub(super) async fn transition_if_status_is(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: OrderStatus,
    to: OrderStatus,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let changed = orders::Entity::update_many()
        .col_expr(orders::Column::Status, Expr::value(to.as_str()))
        .col_expr(orders::Column::UpdatedAt, Expr::value(now))
        .filter(orders::Column::Id.eq(id))
        .filter(orders::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(changed.rows_affected == 1)
}

/// Which orders a caller may list: every order (admins), or those of these organisations.
pub(super) enum Scope {
    All,
    Of {
        restaurants: Vec<Uuid>,
        suppliers: Vec<Uuid>,
    },
}

pub(super) async fn list(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &OrderFilter,
    sort: OrderSort,
    page: &PageRequest,
) -> Result<Page<Order>, AppError> {
    let mut select = orders::Entity::find().filter(orders::Column::DeletedAt.is_null());
    if let Scope::Of {
        restaurants,
        suppliers,
    } = scope
    {
        select = select.filter(
            Condition::any()
                .add(orders::Column::RestaurantId.is_in(restaurants))
                .add(orders::Column::SupplierId.is_in(suppliers)),
        );
    }
    if !filter.statuses.is_empty() {
        select =
            select.filter(orders::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(id) = filter.restaurant_id {
        select = select.filter(orders::Column::RestaurantId.eq(id));
    }
    if let Some(id) = filter.supplier_id {
        select = select.filter(orders::Column::SupplierId.eq(id));
    }
    if let Some(from) = filter.delivery_from {
        select = select.filter(orders::Column::RequestedDeliveryDate.gte(from));
    }
    if let Some(to) = filter.delivery_to {
        select = select.filter(orders::Column::RequestedDeliveryDate.lte(to));
    }
    let by = match sort.field {
        OrderSortField::CreatedAt => {
            SortOrder::<orders::Model>::new("orders.createdAt", sort.direction)
                .time(orders::Column::CreatedAt, |o| o.created_at)
        }
        OrderSortField::RequestedDeliveryDate => {
            SortOrder::<orders::Model>::new("orders.requestedDeliveryDate", sort.direction)
                .date(orders::Column::RequestedDeliveryDate, |o| {
                    o.requested_delivery_date
                })
        }
        OrderSortField::Total => SortOrder::<orders::Model>::new("orders.total", sort.direction)
            .int(orders::Column::TotalMilli, |o| o.total_milli),
    };
    fetch_page(
        db,
        select,
        page,
        by.id(orders::Column::Id, |o| o.id),
        order_to_domain,
    )
    .await
}

/// Of `restaurants`, those with a live order (not cancelled or rejected) with any of
/// `suppliers`.
pub(super) async fn restaurants_trading_with(
    db: &impl ConnectionTrait,
    suppliers: Vec<Uuid>,
    restaurants: Vec<Uuid>,
) -> Result<Vec<Uuid>, AppError> {
    if suppliers.is_empty() || restaurants.is_empty() {
        return Ok(Vec::new());
    }
    Ok(orders::Entity::find()
        .select_only()
        .column(orders::Column::RestaurantId)
        .distinct()
        .filter(orders::Column::SupplierId.is_in(suppliers))
        .filter(orders::Column::RestaurantId.is_in(restaurants))
        .filter(orders::Column::DeletedAt.is_null())
        .filter(orders::Column::Status.is_not_in([
            OrderStatus::Cancelled.as_str(),
            OrderStatus::Rejected.as_str(),
        ]))
        .into_tuple::<Uuid>()
        .all(db)
        .await?)
}

pub(super) fn cart_item_to_domain(restaurant: Uuid, m: cart_items::Model) -> CartItem {
    CartItem {
        id: m.id,
        restaurant_id: restaurant,
        product_id: m.product_id,
        quantity: m.quantity,
        added_at: m.created_at,
        updated_at: m.updated_at,
    }
}

pub(super) async fn find_cart(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
) -> Result<Option<carts::Model>, AppError> {
    Ok(carts::Entity::find()
        .filter(carts::Column::RestaurantId.eq(restaurant))
        .one(db)
        .await?)
}

/// The restaurant's cart, locked until the transaction ends (`FOR UPDATE` on Postgres; SQLite
/// write transactions are exclusive anyway), so checkouts and cart changes of one restaurant
/// take turns.
pub(super) async fn lock_cart(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
) -> Result<Option<carts::Model>, AppError> {
    Ok(carts::Entity::find()
        .filter(carts::Column::RestaurantId.eq(restaurant))
        .lock_exclusive()
        .one(db)
        .await?)
}

/// Items of the carts of `restaurants`, oldest first.
pub(super) async fn cart_items_of(
    db: &impl ConnectionTrait,
    restaurants: &[Uuid],
) -> Result<Vec<CartItem>, AppError> {
    let carts: HashMap<Uuid, Uuid> = carts::Entity::find()
        .filter(carts::Column::RestaurantId.is_in(restaurants.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.restaurant_id))
        .collect();
    if carts.is_empty() {
        return Ok(Vec::new());
    }
    Ok(cart_items::Entity::find()
        .filter(cart_items::Column::CartId.is_in(carts.keys().copied()))
        .order_by_asc(cart_items::Column::CreatedAt)
        .order_by_asc(cart_items::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| {
            carts
                .get(&m.cart_id)
                .copied()
                .map(|r| cart_item_to_domain(r, m))
        })
        .collect())
}

/// Creates the restaurant's cart unless it has one (a concurrent creator wins harmlessly).
pub(super) async fn insert_cart_unless_exists(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    carts::Entity::insert(carts::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(restaurant),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([carts::Column::RestaurantId])
    .exec(db)
    .await?;
    Ok(())
}

/// Marks the cart as changed at `at`.
pub(super) async fn touch_cart(
    db: &impl ConnectionTrait,
    cart: Uuid,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    carts::Entity::update_many()
        .col_expr(carts::Column::UpdatedAt, Expr::value(at))
        .filter(carts::Column::Id.eq(cart))
        .exec(db)
        .await?;
    Ok(())
}

/// The cart's item for a product, if it holds one.
pub(super) async fn find_cart_item(
    db: &impl ConnectionTrait,
    cart: Uuid,
    product: Uuid,
) -> Result<Option<cart_items::Model>, AppError> {
    Ok(cart_items::Entity::find()
        .filter(cart_items::Column::CartId.eq(cart))
        .filter(cart_items::Column::ProductId.eq(product))
        .one(db)
        .await?)
}

/// How many products the cart holds.
pub(super) async fn count_cart_items(
    db: &impl ConnectionTrait,
    cart: Uuid,
) -> Result<u64, AppError> {
    Ok(cart_items::Entity::find()
        .filter(cart_items::Column::CartId.eq(cart))
        .count(db)
        .await?)
}

/// Puts a product in the cart; CONFLICT when a concurrent change put it there first.
pub(super) async fn insert_cart_item(
    db: &impl ConnectionTrait,
    cart: Uuid,
    product: Uuid,
    quantity: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    cart_items::Entity::insert(cart_items::ActiveModel {
        id: Set(Uuid::now_v7()),
        cart_id: Set(cart),
        product_id: Set(product),
        quantity: Set(quantity),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .on_unique_violation(|| {
        AppError::Conflict("the cart changed at the same time; retry".into())
    })?;
    Ok(())
}

pub(super) async fn set_cart_item_quantity(
    db: &impl ConnectionTrait,
    item: Uuid,
    quantity: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    cart_items::Entity::update_many()
        .col_expr(cart_items::Column::Quantity, Expr::value(quantity))
        .col_expr(cart_items::Column::UpdatedAt, Expr::value(now))
        .filter(cart_items::Column::Id.eq(item))
        .exec(db)
        .await?;
    Ok(())
}

pub(super) async fn delete_cart_item(
    db: &impl ConnectionTrait,
    item: Uuid,
) -> Result<(), AppError> {
    cart_items::Entity::delete_by_id(item).exec(db).await?;
    Ok(())
}

/// Deletes these items (those a checkout ordered).
pub(super) async fn delete_cart_items(
    db: &impl ConnectionTrait,
    items: impl IntoIterator<Item = Uuid>,
) -> Result<(), AppError> {
    cart_items::Entity::delete_many()
        .filter(cart_items::Column::Id.is_in(items))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes every item of the cart.
pub(super) async fn empty_cart(db: &impl ConnectionTrait, cart: Uuid) -> Result<(), AppError> {
    cart_items::Entity::delete_many()
        .filter(cart_items::Column::CartId.eq(cart))
        .exec(db)
        .await?;
    Ok(())
}

/// An idempotency key as stored: its request's fingerprint and the orders it produced (none
/// until its request completes).
pub(super) struct StoredKey {
    pub request_hash: String,
    pub order_ids: Vec<Uuid>,
}

/// The key of `scope` and `operation`, unless it expired by `now`.
pub(super) async fn find_unexpired_key(
    db: &impl ConnectionTrait,
    scope: &str,
    operation: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<StoredKey>, AppError> {
    Ok(idempotency_keys::Entity::find()
        .filter(idempotency_keys::Column::Scope.eq(scope))
        .filter(idempotency_keys::Column::Operation.eq(operation))
        .filter(idempotency_keys::Column::Key.eq(key))
        .filter(idempotency_keys::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
        .map(|row| StoredKey {
            order_ids: row.response["orderIds"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| id.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                        .collect()
                })
                .unwrap_or_default(),
            request_hash: row.request_hash,
        }))
}

/// Deletes the key of `scope` and `operation` if it expired by `now`.
pub(super) async fn delete_key_if_expired(
    db: &impl ConnectionTrait,
    scope: &str,
    operation: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    idempotency_keys::Entity::delete_many()
        .filter(idempotency_keys::Column::Scope.eq(scope))
        .filter(idempotency_keys::Column::Operation.eq(operation))
        .filter(idempotency_keys::Column::Key.eq(key))
        .filter(idempotency_keys::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(())
}

/// A key claimed by a request in progress: no orders yet.
pub(super) struct NewKey<'a> {
    pub scope: &'a str,
    pub operation: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Stores the key with no orders yet, unless the key is held (the unique index says so, on
/// Postgres after the holder's transaction ends): `false` then.
pub(super) async fn insert_key_unless_held(
    db: &impl ConnectionTrait,
    key: NewKey<'_>,
) -> Result<bool, AppError> {
    idempotency_keys::Entity::insert(idempotency_keys::ActiveModel {
        id: Set(Uuid::now_v7()),
        scope: Set(key.scope.to_owned()),
        operation: Set(key.operation.to_owned()),
        key: Set(key.key.to_owned()),
        request_hash: Set(key.request_hash.to_owned()),
        response: Set(json!({ "orderIds": [] })),
        created_at: Set(key.created_at),
        expires_at: Set(key.expires_at),
    })
    .exec_without_returning(db)
    .await
    .unless_unique_violation()
}

/// Stores the orders a request produced under its key.
pub(super) async fn store_key_orders(
    db: &impl ConnectionTrait,
    scope: &str,
    operation: &str,
    key: &str,
    order_ids: &[Uuid],
) -> Result<(), AppError> {
    idempotency_keys::Entity::update_many()
        .col_expr(
            idempotency_keys::Column::Response,
            Expr::value(json!({ "orderIds": order_ids })),
        )
        .filter(idempotency_keys::Column::Scope.eq(scope))
        .filter(idempotency_keys::Column::Operation.eq(operation))
        .filter(idempotency_keys::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes up to `batch` keys expired by `now`; returns how many went.
pub(super) async fn delete_expired_keys(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    batch: u64,
) -> Result<u64, AppError> {
    let expired: Vec<Uuid> = idempotency_keys::Entity::find()
        .select_only()
        .column(idempotency_keys::Column::Id)
        .filter(idempotency_keys::Column::ExpiresAt.lte(now))
        .limit(batch)
        .into_tuple()
        .all(db)
        .await?;
    if expired.is_empty() {
        return Ok(0);
    }
    let result = idempotency_keys::Entity::delete_many()
        .filter(idempotency_keys::Column::Id.is_in(expired))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
