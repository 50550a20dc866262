//! Per-request dataloaders: relations resolve in one batched query per kind, not one per row.
//!
//! A fresh set is attached to every HTTP request and every websocket connection. The loaders
//! do not cache (async-graphql's default), so a long-lived websocket never sees stale rows;
//! they batch every key asked for in the same execution step into one query.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;

use crate::{
    auth::Principal,
    domain::{
        Services,
        ordering::{CartItem, OrderEvent, OrderLine},
        products::Product,
        restaurants::Restaurant,
        suppliers::Supplier,
    },
};

/// How many products `Supplier.products` shows at most.
pub const CATALOG_PREVIEW: u64 = 50;

macro_rules! loader {
    ($(#[$doc:meta])* $name:ident, $value:ty, |$services:ident, $keys:ident| $body:expr) => {
        $(#[$doc])*
        pub struct $name(Services);

        impl Loader<Uuid> for $name {
            type Value = $value;
            type Error = async_graphql::Error;

            async fn load(&self, $keys: &[Uuid]) -> Result<HashMap<Uuid, $value>, Self::Error> {
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
    /// The items of restaurants' carts, by restaurant id.
    CartItemsLoader, Vec<CartItem>, |services, keys| services.carts.items_by_restaurant(keys).await?
);

/// Whether a restaurant has ordered from a supplier the caller belongs to, by restaurant id.
pub struct TradeLoader(Services, Principal);

impl Loader<Uuid> for TradeLoader {
    type Value = bool;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, bool>, Self::Error> {
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
    pub trade: DataLoader<TradeLoader>,
}

impl Loaders {
    pub fn new(services: &Services, principal: &Principal) -> Self {
        fn new<L: Loader<Uuid>>(loader: L) -> DataLoader<L> {
            DataLoader::new(loader, tokio::spawn)
        }
        Self {
            suppliers: new(SupplierLoader(services.clone())),
            restaurants: new(RestaurantLoader(services.clone())),
            products: new(ProductLoader(services.clone())),
            order_lines: new(OrderLinesLoader(services.clone())),
            order_events: new(OrderEventsLoader(services.clone())),
            supplier_products: new(SupplierProductsLoader(services.clone())),
            cart_items: new(CartItemsLoader(services.clone())),
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
