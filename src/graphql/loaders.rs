//! Per-request dataloaders: relations resolve in one batched query per kind, not one per row.
//!
//! A fresh set is attached to every HTTP request and every websocket connection. Loaders do not
//! cache, so a long-lived websocket never sees stale rows.
//!
//! A batch closes once no key has joined it for [`QUIET`] (a debounce), after [`MAX_WAIT`] at
//! the latest, or at [`MAX_BATCH`] keys, so a large list whose
//! resolution takes longer than that still loads in one query per relation: the statement count
//! of a request depends on its shape, not on its size. (async-graphql's own `DataLoader`
//! closes a batch a fixed 1 ms after its first key, which splits big lists into several
//! queries.) The batch runs on its own task, so it completes even if the request that started
//! it is cancelled.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use uuid::Uuid;

use crate::{
    auth::Principal,
    domain::{
        Services,
        ordering::{CartItem, OrderEvent, OrderLine},
        performance::Performance,
        products::Product,
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

/// How long a batch waits without a new key before it loads.
pub const QUIET: Duration = Duration::from_millis(1);
/// The longest a batch collects keys, however busy.
pub const MAX_WAIT: Duration = Duration::from_millis(50);
/// The most keys one batch (one query) holds; more start the next batch.
pub const MAX_BATCH: usize = 1000;

type BatchResult<V> = Result<Arc<HashMap<Uuid, V>>, async_graphql::Error>;

struct Keys {
    keys: Vec<Uuid>,
    seen: HashSet<Uuid>,
    started: Instant,
    last_joined: Instant,
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
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<L: Loader> DataLoader<L> {
    pub fn new(loader: L) -> Self {
        Self {
            loader: Arc::new(loader),
            open: Arc::new(Mutex::new(None)),
        }
    }

    /// The value for `key`, loaded together with every key asked for until the batch is quiet.
    pub async fn load_one(&self, key: Uuid) -> async_graphql::Result<Option<L::Value>> {
        let result = {
            let mut open = lock(&self.open);
            let batch = open.get_or_insert_with(|| self.start());
            let result = batch.result.clone();
            let mut keys = lock(&batch.keys);
            if keys.seen.insert(key) {
                keys.keys.push(key);
            }
            keys.last_joined = Instant::now();
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
        let now = Instant::now();
        let keys = Arc::new(Mutex::new(Keys {
            keys: Vec::new(),
            seen: HashSet::new(),
            started: now,
            last_joined: now,
        }));
        let (loader, open, batch) = (self.loader.clone(), self.open.clone(), keys.clone());
        let (done, result) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            loop {
                let (quiet_for, age, full) = {
                    let keys = lock(&batch);
                    let full = keys.keys.len() >= MAX_BATCH;
                    (keys.last_joined.elapsed(), keys.started.elapsed(), full)
                };
                if full || quiet_for >= QUIET || age >= MAX_WAIT {
                    break;
                }
                tokio::time::sleep(QUIET.saturating_sub(quiet_for).min(MAX_WAIT - age)).await;
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
            let _ = done.send(loader.load(&keys).await.map(Arc::new));
        });
        let result = async move {
            result
                .await
                .unwrap_or_else(|_| Err(async_graphql::Error::new("a batch loader stopped")))
        }
        .boxed()
        .shared();
        Batch { keys, result }
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
    SupplierLoader, Supplier, |services, keys| services
        .suppliers
        .by_ids(keys)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
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
    ProductLoader, Product, |services, keys| services
        .products
        .by_ids(keys)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect()
);

loader!(
    /// The lines of orders, by order id.
    OrderLinesLoader, Vec<OrderLine>, |services, keys| services.orders.lines_by_order(keys).await?
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

/// Every loader of one request (or websocket connection).
pub struct Loaders {
    pub suppliers: DataLoader<SupplierLoader>,
    pub restaurants: DataLoader<RestaurantLoader>,
    pub products: DataLoader<ProductLoader>,
    pub order_lines: DataLoader<OrderLinesLoader>,
    pub order_events: DataLoader<OrderEventsLoader>,
    pub supplier_products: DataLoader<SupplierProductsLoader>,
    pub cart_items: DataLoader<CartItemsLoader>,
    pub performance: DataLoader<PerformanceLoader>,
    pub trade: DataLoader<TradeLoader>,
}

impl Loaders {
    pub fn new(services: &Services, principal: &Principal) -> Self {
        fn new<L: Loader>(loader: L) -> DataLoader<L> {
            DataLoader::new(loader)
        }
        Self {
            suppliers: new(SupplierLoader(services.clone())),
            restaurants: new(RestaurantLoader(services.clone())),
            products: new(ProductLoader(services.clone())),
            order_lines: new(OrderLinesLoader(services.clone())),
            order_events: new(OrderEventsLoader(services.clone())),
            supplier_products: new(SupplierProductsLoader(services.clone())),
            cart_items: new(CartItemsLoader(services.clone())),
            performance: new(PerformanceLoader(services.clone())),
            trade: new(TradeLoader(services.clone(), principal.clone())),
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
