//! Per-request dataloaders: relations resolve in one batched query per kind, not one per row.
//!
//! A fresh set is attached to every HTTP request and every websocket connection, so caches
//! never outlive the request that filled them.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;

use crate::domain::{Services, suppliers::Supplier};

/// Loads suppliers by id.
pub struct SupplierLoader(Services);

impl Loader<Uuid> for SupplierLoader {
    type Value = Supplier;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Supplier>, Self::Error> {
        let suppliers = self.0.suppliers.by_ids(keys).await?;
        Ok(suppliers.into_iter().map(|s| (s.id, s)).collect())
    }
}

/// Every loader of one request.
pub struct Loaders {
    pub suppliers: DataLoader<SupplierLoader>,
}

impl Loaders {
    pub fn new(services: &Services) -> Self {
        Self {
            suppliers: DataLoader::new(SupplierLoader(services.clone()), tokio::spawn),
        }
    }
}
