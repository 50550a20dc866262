//! Per-request dataloaders: relations resolve in one batched query per kind, not one per row.
//!
//! A fresh set is attached to every HTTP request and every websocket connection. Loaders do not
//! cache, so a long-lived websocket never sees stale rows.
//!
//! A batch closes once a whole scheduling round of the request adds no key to it (or at
//! [`MAX_BATCH`] keys). async-graphql resolves the siblings of a list on the request's own task,
//! so every sibling that is going to ask for a key asks within the round after it was woken;
//! when a round passes without a new key, nobody else is coming. No clock is involved, so the
//! statement count of a request depends on its shape only, never on the machine's load or the
//! size of the list. (async-graphql's own `DataLoader` closes a batch a fixed 1 ms after its
//! first key, which splits big lists into several queries under load.) The batch runs inside
//! the request's task: a cancelled request (timeout, client gone) stops its queries too, and
//! the request's database budget (`infra::db::RequestBudget`) applies to them.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context as TaskContext, Poll, Wake, Waker},
};

use chrono::{DateTime, Utc};
use futures_util::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use uuid::Uuid;

use crate::{
    auth::Principal,
    domain::{
        Services,
        catalog::Product,
        invoicing::{Dispute, InvoiceLine},
        ordering::{CartItem, OrderEvent, OrderLine},
        performance::Performance,
        pricing::Candidate,
        restaurants::Restaurant,
        suppliers::Supplier,
    },
};

/// How many products `Supplier.products` shows at most.
pub const CATALOG_PREVIEW: u64 = 50;

/// Loads many values by id in one go.
pub trait Loader: Send + Sync + 'static {
    type Value: Clone + Send + Sync + 'static;

    fn load(
        &self,
        keys: &[Uuid],
    ) -> impl Future<Output = async_graphql::Result<HashMap<Uuid, Self::Value>>> + Send;
}

/// The most keys one batch (one query) holds; more start the next batch.
pub const MAX_BATCH: usize = 1000;

type BatchResult<V> = Result<Arc<HashMap<Uuid, V>>, async_graphql::Error>;

#[derive(Default)]
struct Keys {
    keys: Vec<Uuid>,
    seen: HashSet<Uuid>,
    /// Every `load_one` that joined, repeated keys included: a sibling asking for a key the
    /// batch already holds still shows that the round was not quiet.
    joins: usize,
}

/// The batch being collected: its keys, and the result every member awaits.
struct Batch<V> {
    keys: Arc<Mutex<Keys>>,
    result: Shared<BoxFuture<'static, BatchResult<V>>>,
}

/// A loader plus the batch it is collecting.
pub struct DataLoader<L: Loader> {
    loader: Arc<L>,
    open: Arc<Mutex<Option<Batch<L::Value>>>>,
    /// Values the request already holds (what its mutation just wrote), answered without a
    /// query; `None` for a websocket connection's loaders, which must never serve an old row.
    primed: Option<Mutex<HashMap<Uuid, L::Value>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<L: Loader> DataLoader<L> {
    fn new(loader: L, primable: bool) -> Self {
        Self {
            loader: Arc::new(loader),
            open: Arc::new(Mutex::new(None)),
            primed: primable.then(Mutex::default),
        }
    }

    /// Gives the loader a value the request already holds (a no-op on a connection's loaders).
    pub fn prime(&self, key: Uuid, value: L::Value) {
        if let Some(primed) = &self.primed {
            lock(primed).insert(key, value);
        }
    }

    /// The value for `key`, loaded together with every key asked for until the batch is quiet.
    pub async fn load_one(&self, key: Uuid) -> async_graphql::Result<Option<L::Value>> {
        if let Some(value) = self
            .primed
            .as_ref()
            .and_then(|p| lock(p).get(&key).cloned())
        {
            return Ok(Some(value));
        }
        let result = {
            let mut open = lock(&self.open);
            let batch = open.get_or_insert_with(|| self.start());
            let result = batch.result.clone();
            let mut keys = lock(&batch.keys);
            if keys.seen.insert(key) {
                keys.keys.push(key);
            }
            keys.joins += 1;
            if keys.keys.len() >= MAX_BATCH {
                // Full: later keys start the next batch; this one loads at its next check.
                drop(keys);
                open.take();
            }
            result
        };
        Ok(result.await?.get(&key).cloned())
    }

    fn start(&self) -> Batch<L::Value> {
        let keys = Arc::new(Mutex::new(Keys::default()));
        let (loader, open, batch) = (self.loader.clone(), self.open.clone(), keys.clone());
        let result = async move {
            // Collect keys until a whole round of the request's task adds none: each
            // `yield_now` lets every woken sibling run once before this batch looks again.
            let mut counted = 0;
            loop {
                NextRound::default().await;
                let (joins, full) = {
                    let keys = lock(&batch);
                    (keys.joins, keys.keys.len() >= MAX_BATCH)
                };
                if joins == counted || full {
                    break;
                }
                counted = joins;
            }
            // Close the batch (later keys start a new one) unless a full batch already did,
            // then load what it holds.
            {
                let mut open = lock(&open);
                if open
                    .as_ref()
                    .is_some_and(|current| Arc::ptr_eq(&current.keys, &batch))
                {
                    open.take();
                }
            }
            let keys = std::mem::take(&mut lock(&batch).keys);
            loader.load(&keys).await.map(Arc::new)
        }
        .boxed()
        .shared();
        Batch { keys, result }
    }
}

/// Completes once the request's task has finished its current poll and been polled again: one
/// whole scheduling round, in which every woken sibling resolver ran. (`tokio::task::yield_now`
/// alone completes as soon as anything polls it again, which a sibling awaiting the same batch
/// does within the same round.)
#[derive(Default)]
struct NextRound {
    signal: Option<Arc<RoundSignal>>,
}

struct RoundSignal {
    woken: AtomicBool,
    waker: Mutex<Waker>,
}

impl Wake for RoundSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        lock(&self.waker).wake_by_ref();
    }
}

impl Future for NextRound {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        match &self.signal {
            None => {
                let signal = Arc::new(RoundSignal {
                    woken: AtomicBool::new(false),
                    waker: Mutex::new(cx.waker().clone()),
                });
                // Tokio defers a yielding task's wake-up until the task's poll has returned,
                // so the signal fires between two rounds, never within one.
                let waker = Waker::from(signal.clone());
                let mut yielding = std::pin::pin!(tokio::task::yield_now());
                let _ = yielding.as_mut().poll(&mut TaskContext::from_waker(&waker));
                self.signal = Some(signal);
                Poll::Pending
            }
            Some(signal) if signal.woken.load(Ordering::Acquire) => Poll::Ready(()),
            Some(signal) => {
                *lock(&signal.waker) = cx.waker().clone();
                Poll::Pending
            }
        }
    }
}

macro_rules! loader {
    ($(#[$doc:meta])* $name:ident, $value:ty, |$services:ident, $keys:ident| $body:expr) => {
        $(#[$doc])*
        pub struct $name(Services);

        impl Loader for $name {
            type Value = $value;

            async fn load(&self, $keys: &[Uuid]) -> async_graphql::Result<HashMap<Uuid, $value>> {
                let $services = &self.0;
                Ok($body)
            }
        }
    };
}

loader!(
    /// Live suppliers by id.
    SupplierLoader, Arc<Supplier>, |services, keys| services
        .suppliers
        .by_ids(keys)
        .await?
        .into_iter()
        .map(|s| (s.id, Arc::new(s)))
        .collect()
);

loader!(
    /// Live restaurants by id.
    RestaurantLoader, Restaurant, |services, keys| services
        .restaurants
        .by_ids(keys)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect()
);

loader!(
    /// Products by id, deleted ones included (order lines keep their product).
    ProductLoader, Arc<Product>, |services, keys| services
        .products
        .by_ids(keys)
        .await?
        .into_iter()
        .map(|p| (p.id, Arc::new(p)))
        .collect()
);

loader!(
    /// The lines of orders, by order id.
    OrderLinesLoader, Vec<OrderLine>, |services, keys| services.orders.lines_by_order(keys).await?
);

loader!(
    /// The lines of invoices, by invoice id.
    InvoiceLinesLoader, Vec<InvoiceLine>, |services, keys| services.invoices.lines_by_invoice(keys).await?
);

loader!(
    /// The disputes of invoices, oldest first, by invoice id.
    InvoiceDisputesLoader, Vec<Dispute>, |services, keys| services.invoices.disputes_by_invoice(keys).await?
);

loader!(
    /// The status histories of orders, by order id.
    OrderEventsLoader, Vec<OrderEvent>, |services, keys| services.orders.events_by_order(keys).await?
);

loader!(
    /// The first [`CATALOG_PREVIEW`] products of suppliers, by supplier id.
    SupplierProductsLoader, Vec<Product>, |services, keys| services
        .products
        .catalogs(keys, CATALOG_PREVIEW)
        .await?
);

loader!(
    /// Supplier performance, by supplier id.
    PerformanceLoader, Performance, |services, keys| services.performance.by_suppliers(keys).await?
);

loader!(
    /// The items of restaurants' carts, by restaurant id.
    CartItemsLoader, Vec<CartItem>, |services, keys| services.carts.items_by_restaurant(keys).await?
);

/// Whether a restaurant has ordered from a supplier the caller belongs to, by restaurant id.
pub struct TradeLoader(Services, Principal);

impl Loader for TradeLoader {
    type Value = bool;

    async fn load(&self, keys: &[Uuid]) -> async_graphql::Result<HashMap<Uuid, bool>> {
        let trading = self
            .0
            .orders
            .restaurants_trading_with_caller(&self.1, keys)
            .await?;
        Ok(keys.iter().map(|k| (*k, trading.contains(k))).collect())
    }
}

/// The price lists that may price products for one restaurant at one instant (now when
/// `None`): the candidates of every product asked for in one statement.
pub struct PriceLoader {
    services: Services,
    restaurant: Uuid,
    at: Option<DateTime<Utc>>,
}

impl Loader for PriceLoader {
    type Value = Arc<Vec<Candidate>>;

    async fn load(&self, keys: &[Uuid]) -> async_graphql::Result<HashMap<Uuid, Self::Value>> {
        let mut found = self
            .services
            .pricing
            .candidates(self.restaurant, keys, self.at.unwrap_or_else(Utc::now))
            .await?;
        Ok(keys
            .iter()
            .map(|k| (*k, Arc::new(found.remove(k).unwrap_or_default())))
            .collect())
    }
}

/// A request's price loaders, by (restaurant, instant).
type PriceLoaders = HashMap<(Uuid, Option<DateTime<Utc>>), Arc<DataLoader<PriceLoader>>>;

/// Every loader of one request (or websocket connection).
pub struct Loaders {
    /// One price loader per (restaurant, instant) the request asks about.
    prices: Mutex<PriceLoaders>,
    services: Services,
    pub suppliers: DataLoader<SupplierLoader>,
    pub restaurants: DataLoader<RestaurantLoader>,
    pub products: DataLoader<ProductLoader>,
    pub order_lines: DataLoader<OrderLinesLoader>,
    pub order_events: DataLoader<OrderEventsLoader>,
    pub supplier_products: DataLoader<SupplierProductsLoader>,
    pub cart_items: DataLoader<CartItemsLoader>,
    pub performance: DataLoader<PerformanceLoader>,
    pub trade: DataLoader<TradeLoader>,
    pub invoice_lines: DataLoader<InvoiceLinesLoader>,
    pub invoice_disputes: DataLoader<InvoiceDisputesLoader>,
}

impl Loaders {
    /// The price loader of `restaurant` at `at` (now when `None`).
    pub fn prices(
        &self,
        restaurant: Uuid,
        at: Option<DateTime<Utc>>,
    ) -> Arc<DataLoader<PriceLoader>> {
        lock(&self.prices)
            .entry((restaurant, at))
            .or_insert_with(|| {
                Arc::new(DataLoader::new(
                    PriceLoader {
                        services: self.services.clone(),
                        restaurant,
                        at,
                    },
                    false,
                ))
            })
            .clone()
    }

    /// The loaders of one HTTP request: they may be primed with what the request wrote.
    pub fn for_request(services: &Services, principal: &Principal) -> Self {
        Self::new(services, principal, true)
    }

    /// The loaders of a websocket connection, which lives long: never primed, every value is
    /// read when asked for.
    pub fn for_connection(services: &Services, principal: &Principal) -> Self {
        Self::new(services, principal, false)
    }

    fn new(services: &Services, principal: &Principal, primable: bool) -> Self {
        let p = primable;
        Self {
            prices: Mutex::default(),
            services: services.clone(),
            suppliers: DataLoader::new(SupplierLoader(services.clone()), p),
            restaurants: DataLoader::new(RestaurantLoader(services.clone()), p),
            products: DataLoader::new(ProductLoader(services.clone()), p),
            order_lines: DataLoader::new(OrderLinesLoader(services.clone()), p),
            order_events: DataLoader::new(OrderEventsLoader(services.clone()), p),
            supplier_products: DataLoader::new(SupplierProductsLoader(services.clone()), p),
            cart_items: DataLoader::new(CartItemsLoader(services.clone()), p),
            performance: DataLoader::new(PerformanceLoader(services.clone()), p),
            trade: DataLoader::new(TradeLoader(services.clone(), principal.clone()), p),
            invoice_lines: DataLoader::new(InvoiceLinesLoader(services.clone()), p),
            invoice_disputes: DataLoader::new(InvoiceDisputesLoader(services.clone()), p),
        }
    }
}

/// The request's loaders.
pub(crate) fn loaders<'a>(
    ctx: &async_graphql::Context<'a>,
) -> Result<&'a Loaders, crate::error::AppError> {
    ctx.data::<Loaders>()
        .map_err(|_| anyhow::anyhow!("dataloaders missing from the request data").into())
}
