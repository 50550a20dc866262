//! The order service: placing orders (directly or from the cart), moving them through their
//! statuses, and showing them to the parties involved.

use crate::infra::db::Db;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, NaiveDate, Utc};
use entity::products;
use futures_util::{Stream, StreamExt};
use sea_orm::{ConnectionTrait, DatabaseTransaction, sea_query::InsertStatement};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{
    Checkout, LineInput, MAX_DELIVERY_DAYS_AHEAD, MAX_LINES, MAX_QUANTITY, Order, OrderAction,
    OrderEvent, OrderFilter, OrderLine, OrderSort, OrderStatus, OrderStatusChanged, Party,
    PlaceOrder, Placed, SupplierDelivery, idempotency,
    repository::{self, NewLine, NewOrder, Scope},
    totals::{self, PricedLine},
};
use crate::{
    auth::{Caller, Principal},
    domain::{
        catalog,
        identity::{self, AccountChanged},
        inventory,
        kernel::{
            money::{self, Currency},
            pagination::{Page, PageRequest},
            validation::{self, Violations},
            weekday::Weekday,
        },
        platform::{
            audit::{self, AuditEntry},
            outbox,
        },
        pricing::{self, ResolvedPrice},
        repository::{write_atomically, write_together},
        restaurants,
        suppliers::{self, Supplier},
    },
    error::AppError,
    infra::{
        bus::{EventBus, EventsMissed},
        db::begin_write,
    },
};

#[derive(Clone)]
pub struct OrderService {
    db: Db,
    bus: EventBus,
    outbox: outbox::OutboxWaker,
}

/// A restaurant's members and admins order for it.
fn authorize_buyer(caller: &Caller, restaurant: Uuid) -> Result<(), AppError> {
    match &caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated("sign in to place orders".into())),
        p if p.is_admin() || p.restaurant_role(restaurant).is_some() => Ok(()),
        _ => Err(AppError::Forbidden(
            "only the restaurant's members and admins order for it".into(),
        )),
    }
}

fn signed_in(caller: &Caller) -> Result<(), AppError> {
    match caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated("sign in to see orders".into())),
        _ => Ok(()),
    }
}

/// A product wanted, with the field name errors about it carry.
struct Wanted {
    field: String,
    product_id: Uuid,
    quantity: i64,
}

/// A validated line: the product as locked in the transaction, and how many.
struct DraftLine {
    product: products::Model,
    quantity: i64,
    /// The list price until [`price_lines`] resolves the restaurant's price.
    price: ResolvedPrice,
}

/// The product's list price, unresolved.
fn list_price(product: &products::Model) -> ResolvedPrice {
    let price = money::from_milli(product.unit_price_milli);
    ResolvedPrice {
        unit_price: price,
        list_price: price,
        currency: Currency::from_stored(&product.currency),
        applied: None,
    }
}

/// Prices every line of the drafts as the restaurant pays (its price lists): one statement.
async fn price_lines(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
    drafts: &mut [Draft],
) -> Result<(), AppError> {
    let wanted: Vec<_> = drafts
        .iter()
        .flat_map(|d| &d.lines)
        .map(|l| {
            (
                l.product.id,
                l.price.list_price,
                l.price.currency.clone(),
                l.quantity,
            )
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let prices = pricing::PricingService::resolve_on(db, restaurant, &wanted, Utc::now()).await?;
    for (line, price) in drafts
        .iter_mut()
        .flat_map(|d| d.lines.iter_mut())
        .zip(prices)
    {
        line.price = price;
    }
    Ok(())
}

/// A validated order for one supplier, not yet written.
struct Draft {
    supplier: Supplier,
    lines: Vec<DraftLine>,
    requested_delivery_date: NaiveDate,
    note: Option<String>,
}

fn note(raw: Option<&str>, field: &str, v: &mut Violations) -> Option<String> {
    match raw {
        Some(n) if !n.trim().is_empty() => v.check(field, validation::text(n, 1000)),
        _ => None,
    }
}

fn check_delivery(date: NaiveDate, supplier: &Supplier, field: &str, v: &mut Violations) {
    let today = Utc::now().date_naive();
    let rule = if date <= today {
        Err(format!("must be after today ({today})"))
    } else if date > today + Duration::days(MAX_DELIVERY_DAYS_AHEAD) {
        Err(format!(
            "must be at most {MAX_DELIVERY_DAYS_AHEAD} days ahead"
        ))
    } else if !supplier
        .delivery_days
        .contains(Weekday::from(chrono::Datelike::weekday(&date)))
    {
        let days: Vec<String> = supplier
            .delivery_days
            .days()
            .iter()
            .map(|d| format!("{d:?}").to_uppercase())
            .collect();
        Err(if days.is_empty() {
            format!("{} has no delivery days", supplier.name)
        } else {
            format!(
                "{date} is a {}; {} delivers on {} only",
                format!("{:?}", Weekday::from(chrono::Datelike::weekday(&date))).to_uppercase(),
                supplier.name,
                days.join(", ")
            )
        })
    } else {
        Ok(())
    };
    v.check(field, rule);
}

fn check_line(
    wanted: &Wanted,
    product: Option<&products::Model>,
    supplier: &Supplier,
    v: &mut Violations,
) -> Option<DraftLine> {
    let quantity = v.check(
        &format!("{}.quantity", wanted.field),
        if (1..=MAX_QUANTITY).contains(&wanted.quantity) {
            Ok(wanted.quantity)
        } else {
            Err(format!("must be between 1 and {MAX_QUANTITY}"))
        },
    );
    let field = format!("{}.productId", wanted.field);
    let product = match product {
        Some(p) if p.deleted_at.is_none() => p,
        _ => {
            v.check::<()>(&field, Err("is not a product on the marketplace".into()));
            return None;
        }
    };
    let rule = if product.supplier_id != supplier.id {
        Err(format!("is not sold by {}", supplier.name))
    } else if !product.active {
        Err(format!("{} is not available for ordering", product.name))
    } else if product.currency != supplier.currency.as_str() {
        Err(format!(
            "{} is priced in {}; {} trades in {}",
            product.name,
            product.currency,
            supplier.name,
            supplier.currency.as_str()
        ))
    } else {
        Ok(())
    };
    v.check(&field, rule)?;
    Some(DraftLine {
        price: list_price(product),
        product: product.clone(),
        quantity: quantity?,
    })
}

fn priced(lines: &[DraftLine]) -> Vec<PricedLine> {
    lines
        .iter()
        .map(|l| PricedLine {
            unit_price_milli: money::to_milli(l.price.unit_price)
                .unwrap_or(l.product.unit_price_milli),
            quantity: l.quantity,
            tax_rate_bp: l.product.tax_rate_bp,
        })
        .collect()
}

fn check_minimum(draft: &Draft, field: &str, v: &mut Violations) {
    let Ok(totals) = totals::compute(&priced(&draft.lines)) else {
        v.check::<()>(field, Err("the order total is too large".into()));
        return;
    };
    let minimum = &draft.supplier.minimum_order_value;
    let subtotal = money::from_milli(totals.subtotal_milli);
    if subtotal < minimum.amount {
        v.check::<()>(
            field,
            Err(format!(
                "the order for {} comes to {} {}, below its minimum order value of {} {}",
                draft.supplier.name,
                subtotal,
                draft.supplier.currency.as_str(),
                minimum.amount,
                minimum.currency.as_str()
            )),
        );
    }
}

async fn live_supplier(
    db: &impl ConnectionTrait,
    id: Uuid,
    field: &str,
) -> Result<Supplier, AppError> {
    let supplier = suppliers::find_many_live(db, &[id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("Supplier", id))?;
    if !supplier.active {
        return Err(AppError::validation(
            field,
            format!("{} is not taking orders", supplier.name),
        ));
    }
    Ok(supplier)
}

async fn live_restaurant(db: &impl ConnectionTrait, id: Uuid) -> Result<(), AppError> {
    let restaurant = restaurants::find_live(db, id)
        .await?
        .ok_or_else(|| AppError::not_found("Restaurant", id))?;
    if !restaurant.active {
        return Err(AppError::validation(
            "restaurantId",
            "the restaurant is not active",
        ));
    }
    Ok(())
}

async fn products_by_ids(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, products::Model>, AppError> {
    Ok(catalog::find_many_including_deleted(db, &ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect())
}

/// The order `input` asks for, checked against the restaurant, the supplier and the
/// catalog as they are now: every violation at once.
async fn draft_placement(db: &impl ConnectionTrait, input: &PlaceOrder) -> Result<Draft, AppError> {
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        return Err(AppError::validation(
            "lines",
            format!("must hold 1 to {MAX_LINES} lines"),
        ));
    }
    live_restaurant(db, input.restaurant_id).await?;
    let supplier = live_supplier(db, input.supplier_id, "supplierId").await?;
    let found = products_by_ids(db, input.lines.iter().map(|l| l.product_id).collect()).await?;
    let mut v = Violations::default();
    let mut seen = HashSet::new();
    let wanted: Vec<Wanted> = input
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if !seen.insert(line.product_id) {
                v.check::<()>(
                    &format!("lines[{i}].productId"),
                    Err("appears on two lines; order it once".into()),
                );
            }
            Wanted {
                field: format!("lines[{i}]"),
                product_id: line.product_id,
                quantity: line.quantity,
            }
        })
        .collect();
    let lines: Vec<DraftLine> = wanted
        .iter()
        .filter_map(|w| check_line(w, found.get(&w.product_id), &supplier, &mut v))
        .collect();
    check_delivery(
        input.requested_delivery_date,
        &supplier,
        "requestedDeliveryDate",
        &mut v,
    );
    let note = note(input.note.as_deref(), "note", &mut v);
    let mut draft = Draft {
        supplier,
        lines,
        requested_delivery_date: input.requested_delivery_date,
        note,
    };
    if v.is_empty() {
        price_lines(db, input.restaurant_id, std::slice::from_mut(&mut draft)).await?;
        check_minimum(&draft, "lines", &mut v);
    }
    v.finish()?;
    Ok(draft)
}

/// How a placement starts: with a replay, or with its transaction open.
enum Begun {
    Replayed(Placed),
    Writing(DatabaseTransaction),
}

/// What the fingerprint of a `placeOrder` request covers.
#[derive(Serialize)]
struct PlaceFingerprint<'a> {
    restaurant: Uuid,
    supplier: Uuid,
    lines: &'a [LineInput],
    date: NaiveDate,
    note: Option<&'a str>,
}

/// What the fingerprint of a `checkout` request covers.
#[derive(Serialize)]
struct CheckoutFingerprint<'a> {
    restaurant: Uuid,
    date: Option<NaiveDate>,
    note: Option<&'a str>,
    deliveries: &'a [SupplierDelivery],
}

impl OrderService {
    /// The pool (for the context's other modules).
    pub(super) fn db(&self) -> &Db {
        &self.db
    }

    pub fn new(db: Db, bus: EventBus) -> Self {
        Self {
            db,
            outbox: outbox::OutboxWaker::new(bus.clone()),
            bus,
        }
    }

    /// Places one order with one supplier.
    #[tracing::instrument(skip_all, fields(caller = %caller, restaurant_id = %input.restaurant_id, supplier_id = %input.supplier_id))]
    pub async fn place(&self, caller: &Caller, input: PlaceOrder) -> Result<Placed, AppError> {
        authorize_buyer(caller, input.restaurant_id)?;
        let idempotent = idempotency::prepare(
            caller,
            "placeOrder",
            input.idempotency_key.as_deref(),
            &PlaceFingerprint {
                restaurant: input.restaurant_id,
                supplier: input.supplier_id,
                lines: &input.lines,
                date: input.requested_delivery_date,
                note: input.note.as_deref(),
            },
        )?;
        // With a key, the key is claimed first in the placement's transaction; without one,
        // the placement is one statement (its own transaction on Postgres).
        let txn = match &idempotent {
            Some(request) => match self.begin(Some(request)).await? {
                Begun::Replayed(placed) => return Ok(placed),
                Begun::Writing(txn) => Some(txn),
            },
            None => None,
        };
        let draft = match &txn {
            Some(txn) => draft_placement(txn, &input).await?,
            None => draft_placement(&self.db, &input).await?,
        };
        let now = Utc::now();
        let stock = StockWanted::of(&[&draft])?;
        let (order, lines, writes) = prepare_order(caller, input.restaurant_id, draft, None, now)?;
        match (txn, &idempotent) {
            (Some(txn), Some(request)) => {
                idempotency::complete(&txn, request, &[order.id]).await?;
                stock.take_with(&txn, &self.db, writes, now).await?;
                txn.commit().await?;
            }
            _ => stock.take_alone(&self.db, writes, now).await?,
        }
        tracing::info!(order_id = %order.id, total = %order.total, "order placed");
        self.publish_placed(caller, std::slice::from_ref(&order))
            .await;
        Ok(Placed {
            lines: HashMap::from([(order.id, lines)]),
            orders: vec![order],
            replayed: false,
        })
    }

    /// Orders the restaurant's cart: one order per supplier, all or none; empties the cart.
    #[tracing::instrument(skip_all, fields(caller = %caller, restaurant_id = %input.restaurant_id))]
    pub async fn checkout(&self, caller: &Caller, input: Checkout) -> Result<Placed, AppError> {
        authorize_buyer(caller, input.restaurant_id)?;
        let idempotent = idempotency::prepare(
            caller,
            "checkout",
            input.idempotency_key.as_deref(),
            &CheckoutFingerprint {
                restaurant: input.restaurant_id,
                date: input.requested_delivery_date,
                note: input.note.as_deref(),
                deliveries: &input.deliveries,
            },
        )?;
        let txn = match self.begin(idempotent.as_ref()).await? {
            Begun::Replayed(placed) => return Ok(placed),
            Begun::Writing(txn) => txn,
        };
        live_restaurant(&txn, input.restaurant_id).await?;
        if input.deliveries.len() > MAX_LINES {
            return Err(AppError::validation(
                "deliveries",
                format!("must hold at most {MAX_LINES} entries"),
            ));
        }
        // Concurrent checkouts (and cart changes) of this restaurant wait here.
        let cart = repository::lock_cart(&txn, input.restaurant_id).await?;
        let items = match &cart {
            Some(_) => repository::cart_items_of(&txn, &[input.restaurant_id]).await?,
            None => Vec::new(),
        };
        if items.is_empty() {
            // The cart's state, not the request, is in the way.
            return Err(AppError::Conflict(
                "cart: is empty; add products first".into(),
            ));
        }
        let found = products_by_ids(&txn, items.iter().map(|i| i.product_id).collect()).await?;
        let mut v = Violations::default();
        // Group by supplier, in the order suppliers first appear in the cart.
        let mut groups: Vec<(Uuid, Vec<Wanted>)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let wanted = Wanted {
                field: format!("cart.items[{i}]"),
                product_id: item.product_id,
                quantity: item.quantity,
            };
            let Some(product) = found
                .get(&item.product_id)
                .filter(|p| p.deleted_at.is_none())
            else {
                v.check::<()>(
                    &format!("cart.items[{i}].productId"),
                    Err("is no longer on the marketplace; remove it from the cart".into()),
                );
                continue;
            };
            match groups.iter_mut().find(|(s, _)| *s == product.supplier_id) {
                Some((_, group)) => group.push(wanted),
                None => groups.push((product.supplier_id, vec![wanted])),
            }
        }
        for (i, delivery) in input.deliveries.iter().enumerate() {
            if input.deliveries[..i]
                .iter()
                .any(|d| d.supplier_id == delivery.supplier_id)
            {
                v.check::<()>(
                    &format!("deliveries[{i}].supplierId"),
                    Err("appears twice; give one delivery per supplier".into()),
                );
            } else if !groups.iter().any(|(s, _)| *s == delivery.supplier_id) {
                v.check::<()>(
                    &format!("deliveries[{i}].supplierId"),
                    Err("has nothing in the cart".into()),
                );
            }
        }
        let default_note = note(input.note.as_deref(), "note", &mut v);
        let mut drafts = Vec::with_capacity(groups.len());
        let suppliers =
            suppliers::find_many_live(&txn, &groups.iter().map(|(s, _)| *s).collect::<Vec<_>>())
                .await?;
        for (supplier_id, wanted) in &groups {
            let supplier = match suppliers.iter().find(|s| s.id == *supplier_id) {
                Some(s) if s.active => s.clone(),
                found => {
                    let rule = match found {
                        Some(s) => format!("{} is not taking orders", s.name),
                        None => "its supplier has left the marketplace".to_owned(),
                    };
                    for w in wanted {
                        v.check::<()>(&format!("{}.productId", w.field), Err(rule.clone()));
                    }
                    continue;
                }
            };
            let lines: Vec<DraftLine> = wanted
                .iter()
                .filter_map(|w| check_line(w, found.get(&w.product_id), &supplier, &mut v))
                .collect();
            let chosen = input
                .deliveries
                .iter()
                .enumerate()
                .find(|(_, d)| d.supplier_id == *supplier_id);
            let (date, note) = match chosen {
                Some((i, d)) => {
                    check_delivery(
                        d.requested_delivery_date,
                        &supplier,
                        &format!("deliveries[{i}].requestedDeliveryDate"),
                        &mut v,
                    );
                    let note = note(d.note.as_deref(), &format!("deliveries[{i}].note"), &mut v)
                        .or_else(|| default_note.clone());
                    (Some(d.requested_delivery_date), note)
                }
                None => match input.requested_delivery_date {
                    Some(date) => {
                        check_delivery(date, &supplier, "requestedDeliveryDate", &mut v);
                        (Some(date), default_note.clone())
                    }
                    None => {
                        v.check::<()>(
                            "requestedDeliveryDate",
                            Err(format!(
                                "is required for {} (or give it in deliveries)",
                                supplier.name
                            )),
                        );
                        (None, None)
                    }
                },
            };
            if let Some(date) = date {
                drafts.push(Draft {
                    supplier,
                    lines,
                    requested_delivery_date: date,
                    note,
                });
            }
        }
        if v.is_empty() {
            price_lines(&txn, input.restaurant_id, &mut drafts).await?;
            for draft in &drafts {
                check_minimum(draft, "cart", &mut v);
            }
        }
        v.finish()?;

        let now = Utc::now();
        let stock = StockWanted::of(&drafts.iter().collect::<Vec<_>>())?;
        let checkout_id = Uuid::now_v7();
        let mut placed = Vec::with_capacity(drafts.len());
        let mut writes = Vec::new();
        let mut written = HashMap::new();
        for draft in drafts {
            let (order, lines, statements) =
                prepare_order(caller, input.restaurant_id, draft, Some(checkout_id), now)?;
            written.insert(order.id, lines);
            placed.push(order);
            writes.extend(statements);
        }
        if let Some(cart) = cart {
            repository::delete_cart_items(&txn, items.iter().map(|i| i.id)).await?;
            repository::touch_cart(&txn, cart.id, now).await?;
        }
        let ids: Vec<Uuid> = placed.iter().map(|o| o.id).collect();
        if let Some(request) = &idempotent {
            idempotency::complete(&txn, request, &ids).await?;
        }
        stock.take_with(&txn, &self.db, writes, now).await?;
        txn.commit().await?;
        tracing::info!(%checkout_id, orders = placed.len(), "cart checked out");
        self.publish_placed(caller, &placed).await;
        Ok(Placed {
            orders: placed,
            replayed: false,
            lines: written,
        })
    }

    /// Deletes idempotency keys past their 24 hours, in batches of `batch`, reporting the
    /// running total to `progress` after each batch; returns how many went.
    pub async fn expire_idempotency_keys<F, Fut>(
        &self,
        batch: u64,
        mut progress: F,
    ) -> Result<u64, AppError>
    where
        F: FnMut(u64) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut total = 0;
        loop {
            let deleted = idempotency::expire(&self.db, batch).await?;
            total += deleted;
            if deleted < batch {
                return Ok(total);
            }
            progress(total).await;
        }
    }

    /// Replays what the idempotency key already holds, or opens the write transaction with the
    /// key claimed in it (a concurrent duplicate that lost the claim replays the winner).
    async fn begin(
        &self,
        idempotent: Option<&idempotency::IdempotentRequest>,
    ) -> Result<Begun, AppError> {
        if let Some(request) = idempotent
            && let Some(ids) = idempotency::lookup(&self.db, request).await?
        {
            return Ok(Begun::Replayed(self.replay(ids).await?));
        }
        let txn = begin_write(&self.db).await?;
        if let Some(request) = idempotent
            && !idempotency::claim(&txn, request).await?
        {
            txn.rollback().await?;
            let ids = idempotency::after_lost_claim(&self.db, request).await?;
            return Ok(Begun::Replayed(self.replay(ids).await?));
        }
        Ok(Begun::Writing(txn))
    }

    async fn replay(&self, ids: Vec<Uuid>) -> Result<Placed, AppError> {
        Ok(Placed {
            orders: repository::orders_by_ids(&self.db, &ids).await?,
            replayed: true,
            lines: HashMap::new(),
        })
    }

    /// Moves an order to the status `action` leads to, if its party may and its status allows.
    #[tracing::instrument(skip_all, fields(caller = %caller, order_id = %id, action = action.verb()))]
    pub async fn transition(
        &self,
        caller: &Caller,
        id: Uuid,
        action: OrderAction,
        reason: Option<String>,
    ) -> Result<Order, AppError> {
        let order = self.get(caller, id).await?;
        let principal = &caller.principal;
        let allowed = principal.is_admin()
            || match action.party() {
                Party::Supplier => principal.supplier_role(order.supplier_id).is_some(),
                Party::Restaurant => principal.restaurant_role(order.restaurant_id).is_some(),
            };
        if !allowed {
            let party = match action.party() {
                Party::Supplier => "supplier's",
                Party::Restaurant => "restaurant's",
            };
            return Err(AppError::Forbidden(format!(
                "only the {party} members and admins {} an order",
                action.verb()
            )));
        }
        let mut v = Violations::default();
        let reason = match reason.as_deref() {
            Some(r) if !r.trim().is_empty() => v.check("reason", validation::text(r, 500)),
            _ if action == OrderAction::Reject => {
                v.check::<String>("reason", Err("is required to reject an order".into()))
            }
            _ => None,
        };
        v.finish()?;
        let invalid = |status: OrderStatus| {
            let from: Vec<&str> = action.applies_to().iter().map(|s| s.as_str()).collect();
            AppError::InvalidTransition(format!(
                "cannot {} an order that is {}; only {} orders can be",
                action.verb(),
                status.as_str(),
                from.join(" or ")
            ))
        };
        if !action.applies_to().contains(&order.status) {
            return Err(invalid(order.status));
        }

        let now = Utc::now();
        let to = action.target();
        let txn = begin_write(&self.db).await?;
        // Compare-and-set: a concurrent transition of the same order makes this one fail.
        if !repository::transition_if_status_is(&txn, id, order.status, to, now).await? {
            txn.rollback().await?;
            let current = self.get(caller, id).await?;
            return Err(invalid(current.status));
        }
        if to == OrderStatus::Delivered {
            // The restaurant's inventory receives what was delivered, in this transaction.
            let lines: Vec<inventory::DeliveredLine> = repository::lines_of(&txn, &[id])
                .await?
                .into_iter()
                .map(|line| inventory::DeliveredLine {
                    line_number: line.line_number,
                    product_id: line.product_id,
                    name: line.name,
                    unit: line.unit,
                    quantity: line.quantity,
                })
                .collect();
            inventory::receive_delivery(
                &txn,
                order.restaurant_id,
                id,
                &lines,
                now,
                caller.principal.account_id(),
            )
            .await?;
        }
        if action.releases_stock() {
            // In product order, like reservations, so the two cannot deadlock.
            let mut released: BTreeMap<Uuid, i64> = BTreeMap::new();
            for line in repository::lines_of(&txn, &[id]).await? {
                *released.entry(line.product_id).or_default() += line.quantity;
            }
            for (product, quantity) in released {
                catalog::put_stock_back(&txn, product, quantity, now).await?;
            }
        }
        insert_event(
            &txn,
            caller,
            id,
            Some(order.status),
            to,
            reason.clone(),
            now,
        )
        .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: action.audit_action(),
                entity: "order",
                entity_id: Some(id.to_string()),
                before: Some(json!({ "status": order.status.as_str() })),
                after: Some(json!({ "status": to.as_str(), "reason": reason })),
            },
        )
        .await?;
        let updated = repository::find_order(&txn, id)
            .await?
            .map(repository::order_to_domain)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("updated order vanished")))?;
        let event = OrderStatusChanged {
            order: updated.clone(),
            from: Some(order.status),
            to,
            actor_role: caller.principal.audit_role().to_owned(),
            reason,
            occurred_at: now,
        };
        let payload = json!(event);
        outbox::record(
            &txn,
            outbox::ORDER_STATUS_CHANGED,
            "order",
            id,
            payload.clone(),
            now,
        )
        .await?;
        if to == OrderStatus::Delivered {
            outbox::record(&txn, outbox::DELIVERY_MARKED, "order", id, payload, now).await?;
        }
        txn.commit().await?;
        tracing::info!(
            from = order.status.as_str(),
            to = to.as_str(),
            "order status changed"
        );
        self.publish(event).await;
        Ok(updated)
    }

    /// An order the caller may see (NOT_FOUND otherwise, so others' orders do not exist).
    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<Order, AppError> {
        signed_in(caller)?;
        repository::find_order(&self.db, id)
            .await?
            .map(repository::order_to_domain)
            .filter(|o| super::may_view(&caller.principal, o.restaurant_id, o.supplier_id))
            .ok_or_else(|| AppError::not_found("Order", id))
    }

    /// The caller's orders: a restaurant's own, a supplier's received, all for admins.
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &OrderFilter,
        sort: OrderSort,
        page: PageRequest,
    ) -> Result<Page<Order>, AppError> {
        signed_in(caller)?;
        let scope = match &caller.principal {
            p if p.is_admin() => Scope::All,
            Principal::Account(a) => Scope::Of {
                restaurants: a.restaurants.keys().copied().collect(),
                suppliers: a.suppliers.keys().copied().collect(),
            },
            _ => Scope::Of {
                restaurants: Vec::new(),
                suppliers: Vec::new(),
            },
        };
        repository::list(&self.db, scope, filter, sort, &page).await
    }

    /// Whether `restaurant` has a live order (not cancelled or rejected) with `supplier`.
    pub async fn have_traded(&self, supplier: Uuid, restaurant: Uuid) -> Result<bool, AppError> {
        Ok(
            !repository::restaurants_trading_with(&self.db, vec![supplier], vec![restaurant])
                .await?
                .is_empty(),
        )
    }

    /// Live orders by id, for contexts that hold references to them (invoices); no access
    /// check — callers decide what to show.
    pub async fn by_ids(&self, ids: &[Uuid]) -> Result<Vec<Order>, AppError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        repository::orders_by_ids(&self.db, ids).await
    }

    /// Lines of orders, by order (for dataloaders: callers resolved the orders already).
    pub async fn lines_by_order(
        &self,
        order_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<OrderLine>>, AppError> {
        let mut by_order: HashMap<Uuid, Vec<OrderLine>> = HashMap::new();
        for line in repository::lines_of(&self.db, order_ids).await? {
            by_order
                .entry(line.order_id)
                .or_default()
                .push(repository::line_to_domain(line));
        }
        Ok(by_order)
    }

    /// Status histories of orders, oldest first (for dataloaders).
    pub async fn events_by_order(
        &self,
        order_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<OrderEvent>>, AppError> {
        let mut by_order: HashMap<Uuid, Vec<OrderEvent>> = HashMap::new();
        for event in repository::events_of(&self.db, order_ids).await? {
            by_order
                .entry(event.order_id)
                .or_default()
                .push(repository::event_to_domain(event));
        }
        Ok(by_order)
    }

    /// Of `restaurants`, those that ordered from a supplier the caller belongs to (their
    /// suppliers may see the restaurant's contact details).
    pub async fn restaurants_trading_with_caller(
        &self,
        principal: &Principal,
        restaurants: &[Uuid],
    ) -> Result<HashSet<Uuid>, AppError> {
        let suppliers: Vec<Uuid> = principal
            .account()
            .map(|a| a.suppliers.keys().copied().collect())
            .unwrap_or_default();
        Ok(
            repository::restaurants_trading_with(&self.db, suppliers, restaurants.to_vec())
                .await?
                .into_iter()
                .collect(),
        )
    }

    /// Live status of one order, for its parties and admins: checked now (NOT_FOUND for
    /// others) and again whenever the caller's memberships change; the stream ends with
    /// FORBIDDEN once the caller has lost access.
    pub async fn watch(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<impl Stream<Item = Result<OrderStatusChanged, AppError>> + Send + use<>, AppError>
    {
        let order = self.get(caller, id).await?;
        let events = self.live(
            caller.principal.clone(),
            Some((order.restaurant_id, order.supplier_id)),
            move |event| event.order.id == id,
        );
        Ok(events)
    }

    /// Every order event of the caller's organisations (all orders for admins), as its
    /// memberships stand when the event arrives. Ends with SERVICE_UNAVAILABLE when events may
    /// have been missed (the subscriber resubscribes and refetches).
    pub fn updates(
        &self,
        caller: &Caller,
    ) -> Result<impl Stream<Item = Result<OrderStatusChanged, AppError>> + Send + use<>, AppError>
    {
        signed_in(caller)?;
        Ok(self.live(caller.principal.clone(), None, |_| true))
    }

    /// Order events `wanted` and visible to `principal`. Each event is checked in memory
    /// against the principal's memberships, which are read again (one statement) only when
    /// the bus says the account changed — so an event costs no query, however many subscribe,
    /// and a member removed from an organisation stops seeing its orders at once. When
    /// `watched` (an order's restaurant and supplier) is no longer visible after a change, the
    /// stream ends with FORBIDDEN. A gap in either stream ends it (events may have been missed).
    fn live<F>(
        &self,
        principal: Principal,
        watched: Option<(Uuid, Uuid)>,
        wanted: F,
    ) -> impl Stream<Item = Result<OrderStatusChanged, AppError>> + Send + use<F>
    where
        F: Fn(&OrderStatusChanged) -> bool + Send + 'static,
    {
        enum Live {
            Order(Result<Box<OrderStatusChanged>, EventsMissed>),
            Account(Result<AccountChanged, EventsMissed>),
        }
        let account = principal.account_id();
        let orders = self
            .bus
            .subscribe::<OrderStatusChanged>()
            .filter(move |e| std::future::ready(e.as_ref().map_or(true, &wanted)))
            .map(|e| Live::Order(e.map(Box::new)));
        let changes = self
            .bus
            .subscribe::<AccountChanged>()
            .filter(move |c| {
                std::future::ready(c.as_ref().map_or(true, |c| {
                    account.is_some() && c.account_id.is_none_or(|id| Some(id) == account)
                }))
            })
            .map(Live::Account);
        let merged = futures_util::stream::select(orders, changes).boxed();
        let db = self.db.clone();
        let events = futures_util::stream::unfold(
            (merged, principal, db),
            move |(mut merged, mut principal, db)| async move {
                loop {
                    let item = match merged.next().await? {
                        Live::Order(Err(missed)) | Live::Account(Err(missed)) => {
                            Err(AppError::from(missed))
                        }
                        Live::Order(Ok(event)) => {
                            if super::may_view(
                                &principal,
                                event.order.restaurant_id,
                                event.order.supplier_id,
                            ) {
                                Ok(*event)
                            } else {
                                continue;
                            }
                        }
                        Live::Account(Ok(_)) => match identity::refreshed(&db, &principal).await {
                            Ok(Some(now)) => {
                                principal = now;
                                match watched {
                                    Some((restaurant, supplier))
                                        if !super::may_view(&principal, restaurant, supplier) =>
                                    {
                                        Err(AppError::Forbidden(
                                            "you no longer have access to this order".into(),
                                        ))
                                    }
                                    _ => continue,
                                }
                            }
                            Ok(None) => Err(AppError::Unauthenticated(
                                "the account no longer exists".into(),
                            )),
                            Err(error) => Err(error),
                        },
                    };
                    return Some((item, (merged, principal, db)));
                }
            },
        );
        // The first error is the last item: the stream ends right after it.
        crate::infra::bus::until_err(events)
    }

    async fn publish_placed(&self, caller: &Caller, placed: &[Order]) {
        for order in placed {
            self.publish(OrderStatusChanged {
                order: order.clone(),
                from: None,
                to: OrderStatus::Placed,
                actor_role: caller.principal.audit_role().to_owned(),
                reason: None,
                occurred_at: order.created_at,
            })
            .await;
        }
    }

    /// After commit; a bus outage must not undo a committed change, so failures are logged.
    async fn publish(&self, event: OrderStatusChanged) {
        if let Err(error) = self.bus.publish(&event).await {
            tracing::warn!(error = ?error, order_id = %event.order.id, "publishing OrderStatusChanged failed");
        }
        // The outbox rows are committed: wake the dispatchers.
        self.outbox.wake();
    }
}

/// The units an order (or a checkout's orders) takes from each product, at the price it was
/// priced at.
struct StockWanted {
    /// By product id (the update locks them in this order).
    products: BTreeMap<Uuid, Wanting>,
}

/// What one product gives to the order, and how to name it in an error.
struct Wanting {
    quantity: i64,
    unit_price_milli: i64,
    sku: String,
    name: String,
}

impl StockWanted {
    /// Sums the lines per product; INSUFFICIENT_STOCK at once when the stock read with the
    /// products is already short.
    fn of(drafts: &[&Draft]) -> Result<Self, AppError> {
        let mut products: BTreeMap<Uuid, Wanting> = BTreeMap::new();
        let mut on_hand: HashMap<Uuid, i64> = HashMap::new();
        for line in drafts.iter().flat_map(|d| &d.lines) {
            let entry = products.entry(line.product.id).or_insert_with(|| Wanting {
                quantity: 0,
                unit_price_milli: line.product.unit_price_milli,
                sku: line.product.sku.clone(),
                name: line.product.name.clone(),
            });
            entry.quantity += line.quantity;
            on_hand.insert(line.product.id, line.product.stock_on_hand);
        }
        for (id, w) in &products {
            let available = on_hand.get(id).copied().unwrap_or_default();
            if available < w.quantity {
                return Err(insufficient(*id, &w.sku, &w.name, w.quantity, available));
            }
        }
        Ok(Self { products })
    }

    /// Sends the orders' writes and takes the stock, as the transaction's last statement
    /// before COMMIT (one round trip on Postgres: `write_together`), the stock in one
    /// conditional update: the products' rows stay locked only for that statement and the
    /// commit, so orders of the same products do not queue behind each other's whole
    /// transaction. When any is short now, the transaction must not commit: INSUFFICIENT_STOCK
    /// names the first short product as it stands (read outside this transaction, whose
    /// writes are undone).
    async fn take_with(
        &self,
        txn: &DatabaseTransaction,
        db: &Db,
        writes: Vec<InsertStatement>,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), AppError> {
        let taking = self.taking();
        let taken = write_together(txn, writes, Some(catalog::take_stock(&taking, now))).await?;
        if taken == taking.len() as u64 {
            return Ok(());
        }
        Err(self.short(db).await)
    }

    /// As [`Self::take_with`], for a placement without a transaction of its own: the writes
    /// and the stock are one change, all or nothing (one statement on Postgres).
    async fn take_alone(
        &self,
        db: &Db,
        writes: Vec<InsertStatement>,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), AppError> {
        let taking = self.taking();
        let expected = taking.len() as u64;
        if write_atomically(db, writes, catalog::take_stock(&taking, now), expected).await? {
            return Ok(());
        }
        Err(self.short(db).await)
    }

    fn taking(&self) -> Vec<catalog::Taking> {
        self.products
            .iter()
            .map(|(id, w)| catalog::Taking {
                product: *id,
                quantity: w.quantity,
                unit_price_milli: w.unit_price_milli,
            })
            .collect()
    }

    /// Why the stock could not be taken, from the products as they are now: INSUFFICIENT_STOCK
    /// for the first one short, or CONFLICT for one withdrawn or repriced since the order was
    /// checked (the order is written at the price it was checked at, or not at all).
    async fn short(&self, db: &Db) -> AppError {
        let ids: Vec<Uuid> = self.products.keys().copied().collect();
        let now: HashMap<Uuid, products::Model> =
            match catalog::find_many_including_deleted(db, &ids).await {
                Ok(found) => found.into_iter().map(|p| (p.id, p)).collect(),
                Err(error) => return error,
            };
        for (id, w) in &self.products {
            let Some(product) = now.get(id).filter(|p| p.deleted_at.is_none() && p.active) else {
                return AppError::Conflict(format!(
                    "{} (SKU {}) was withdrawn while the order was placed; order without it",
                    w.name, w.sku
                ));
            };
            if product.stock_on_hand < w.quantity {
                return insufficient(*id, &w.sku, &w.name, w.quantity, product.stock_on_hand);
            }
            if product.unit_price_milli != w.unit_price_milli {
                return AppError::Conflict(format!(
                    "the price of {} (SKU {}) changed while the order was placed; review it and retry",
                    w.name, w.sku
                ));
            }
        }
        AppError::Conflict("the stock changed while the order was placed; retry".into())
    }
}

fn insufficient(id: Uuid, sku: &str, name: &str, requested: i64, available: i64) -> AppError {
    AppError::InsufficientStock {
        product_id: id,
        sku: sku.to_owned(),
        name: name.to_owned(),
        requested,
        available,
    }
}

/// The order a draft becomes, and the statements writing it: the order, its lines, its first
/// status event, its audit entry and its outbox event (sent by [`StockWanted::take_with`]).
fn prepare_order(
    caller: &Caller,
    restaurant: Uuid,
    draft: Draft,
    checkout_id: Option<Uuid>,
    now: chrono::DateTime<Utc>,
) -> Result<(Order, Vec<OrderLine>, Vec<InsertStatement>), AppError> {
    let totals = totals::compute(&priced(&draft.lines))
        .map_err(|i| AppError::validation(format!("lines[{i}].quantity"), "is too large"))?;
    let id = Uuid::now_v7();
    let currency: Currency = draft.supplier.currency.clone();
    let lines: Vec<NewLine> = draft
        .lines
        .iter()
        .zip(&totals.line_totals_milli)
        .map(|(line, total)| NewLine {
            product: &line.product,
            price: &line.price,
            quantity: line.quantity,
            line_total_milli: *total,
        })
        .collect();
    let (order, lines, mut writes) = repository::order_inserts(
        NewOrder {
            id,
            restaurant_id: restaurant,
            supplier_id: draft.supplier.id,
            status: OrderStatus::Placed,
            currency: &currency,
            totals: &totals,
            requested_delivery_date: draft.requested_delivery_date,
            note: draft.note.clone(),
            placed_by: caller.principal.account_id(),
            checkout_id,
            at: now,
        },
        lines,
    );
    writes.push(repository::event_insert(OrderEvent {
        id: Uuid::now_v7(),
        order_id: id,
        from: None,
        to: OrderStatus::Placed,
        actor_account_id: caller.principal.account_id(),
        actor_role: caller.principal.audit_role().to_owned(),
        reason: None,
        at: now,
    }));
    writes.push(audit::record_statement(
        caller,
        None,
        AuditEntry {
            action: "order.place",
            entity: "order",
            entity_id: Some(id.to_string()),
            before: None,
            after: Some(json!({
                "restaurantId": restaurant,
                "supplierId": draft.supplier.id,
                "lines": draft.lines.len(),
                "total": money::from_milli(totals.total_milli).to_string(),
                "currency": currency.as_str(),
            })),
        },
    ));
    let event = OrderStatusChanged {
        order: order.clone(),
        from: None,
        to: OrderStatus::Placed,
        actor_role: caller.principal.audit_role().to_owned(),
        reason: None,
        occurred_at: now,
    };
    let (_, outboxed) =
        outbox::record_statement(outbox::ORDER_PLACED, "order", id, json!(event), now);
    writes.push(outboxed);
    Ok((order, lines, writes))
}

async fn insert_event(
    txn: &DatabaseTransaction,
    caller: &Caller,
    order: Uuid,
    from: Option<OrderStatus>,
    to: OrderStatus,
    reason: Option<String>,
    at: chrono::DateTime<Utc>,
) -> Result<(), AppError> {
    repository::insert_event(
        txn,
        OrderEvent {
            id: Uuid::now_v7(),
            order_id: order,
            from,
            to,
            actor_account_id: caller.principal.account_id(),
            actor_role: caller.principal.audit_role().to_owned(),
            reason,
            at,
        },
    )
    .await
}
