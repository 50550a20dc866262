//! Business rules, one module per bounded context. Services own validation, transactions,
//! authorization decisions (they take the caller's `Principal`) and the events they publish.
//!
//! Must not import `graphql`, `rest`, axum or async-graphql: adapters call in, never the reverse.

pub mod money;
pub mod pagination;
pub mod suppliers;
pub mod validation;
pub mod weekday;

use sea_orm::DatabaseConnection;

use crate::infra::bus::EventBus;

/// Every domain service, built once per process and shared by all adapters.
#[derive(Clone)]
pub struct Services {
    pub suppliers: suppliers::SupplierService,
}

impl Services {
    pub fn new(db: DatabaseConnection, bus: EventBus) -> Self {
        Self {
            suppliers: suppliers::SupplierService::new(db, bus),
        }
    }
}
