//! The supplier service: the only way anything changes or reads suppliers.

use chrono::Utc;
use futures_util::StreamExt as _;
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

use super::{
    repository,
    types::{
        NewSupplier, Supplier, SupplierChangeKind, SupplierChanged, SupplierChanges,
        SupplierFilter, SupplierSort,
    },
};
use crate::{
    auth::Principal,
    domain::pagination::{Page, PageRequest},
    error::AppError,
    infra::bus::EventBus,
};

#[derive(Clone)]
pub struct SupplierService {
    db: DatabaseConnection,
    bus: EventBus,
}

impl SupplierService {
    pub fn new(db: DatabaseConnection, bus: EventBus) -> Self {
        Self { db, bus }
    }

    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn create(
        &self,
        caller: &Principal,
        input: NewSupplier,
    ) -> Result<Supplier, AppError> {
        let fields = input.validate()?;
        let supplier = repository::insert(&self.db, Uuid::now_v7(), fields, Utc::now()).await?;
        tracing::info!(supplier_id = %supplier.id, "supplier created");
        self.publish(SupplierChangeKind::Created, &supplier).await;
        Ok(supplier)
    }

    /// Changes the given fields; an update that changes nothing returns the supplier as it is.
    #[tracing::instrument(skip_all, fields(caller = %caller, supplier_id = %id))]
    pub async fn update(
        &self,
        caller: &Principal,
        id: Uuid,
        changes: SupplierChanges,
    ) -> Result<Supplier, AppError> {
        let fields = changes.validate()?;
        if fields.is_empty() {
            return self.get(caller, id).await;
        }
        // Write first, then read, in one transaction: on SQLite the write takes the lock up
        // front, so concurrent updates queue instead of failing to upgrade a read lock.
        let txn = self.db.begin().await?;
        if !repository::update(&txn, id, fields, Utc::now()).await? {
            return Err(AppError::not_found("Supplier", id));
        }
        let supplier = repository::find_live(&txn, id)
            .await?
            .ok_or_else(|| AppError::not_found("Supplier", id))?;
        txn.commit().await?;
        tracing::info!("supplier updated");
        self.publish(SupplierChangeKind::Updated, &supplier).await;
        Ok(supplier)
    }

    /// Soft-deletes: the supplier disappears from every read but stays for history.
    #[tracing::instrument(skip_all, fields(caller = %caller, supplier_id = %id))]
    pub async fn delete(&self, caller: &Principal, id: Uuid) -> Result<Supplier, AppError> {
        let txn = self.db.begin().await?;
        if !repository::soft_delete(&txn, id, Utc::now()).await? {
            return Err(AppError::not_found("Supplier", id));
        }
        let supplier = repository::find_deleted(&txn, id)
            .await?
            .ok_or_else(|| AppError::not_found("Supplier", id))?;
        txn.commit().await?;
        tracing::info!("supplier deleted");
        self.publish(SupplierChangeKind::Deleted, &supplier).await;
        Ok(supplier)
    }

    #[tracing::instrument(skip_all, fields(caller = %caller, supplier_id = %id))]
    pub async fn get(&self, caller: &Principal, id: Uuid) -> Result<Supplier, AppError> {
        repository::find_live(&self.db, id)
            .await?
            .ok_or_else(|| AppError::not_found("Supplier", id))
    }

    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn list(
        &self,
        caller: &Principal,
        filter: &SupplierFilter,
        sort: SupplierSort,
        page: PageRequest,
    ) -> Result<Page<Supplier>, AppError> {
        repository::list(&self.db, filter, sort, page).await
    }

    /// Changes committed from now on, optionally of one supplier only.
    pub fn changes(
        &self,
        caller: &Principal,
        only: Option<Uuid>,
    ) -> impl futures_util::Stream<Item = SupplierChanged> + Send + 'static + use<> {
        tracing::debug!(caller = %caller, ?only, "watching supplier changes");
        self.bus
            .subscribe::<SupplierChanged>()
            .filter(move |event| std::future::ready(only.is_none_or(|id| event.supplier.id == id)))
    }

    /// Whether any supplier row exists, deleted or not (first-start seeding checks this).
    pub async fn any_exist(&self) -> Result<bool, AppError> {
        repository::any_exist(&self.db).await
    }

    /// Publishing happens after commit; a bus outage must not undo a committed change, so a
    /// failure is logged, not returned.
    async fn publish(&self, kind: SupplierChangeKind, supplier: &Supplier) {
        let event = SupplierChanged {
            kind,
            supplier: supplier.clone(),
            occurred_at: Utc::now(),
        };
        if let Err(error) = self.bus.publish(&event).await {
            tracing::warn!(error = ?error, supplier_id = %supplier.id, "publishing SupplierChanged failed");
        }
    }
}
