//! The supplier service: the only way anything changes or reads suppliers.

use crate::infra::db::Db;
use chrono::Utc;
use futures_util::StreamExt as _;
use uuid::Uuid;

use super::{
    NewSupplier, Supplier, SupplierChangeKind, SupplierChanged, SupplierChanges, SupplierFilter,
    SupplierSort, repository,
};
use crate::{
    auth::{Caller, MemberRole, Principal, Role},
    domain::{
        identity::{CallerCache, Organisation, put_membership},
        kernel::pagination::{Page, PageRequest},
        platform::audit::{self, AuditEntry},
    },
    error::AppError,
    infra::bus::EventBus,
};

/// Changing or deleting a supplier is for its OWNERs and admins. Suppliers are public, so a
/// refusal reveals nothing: FORBIDDEN.
fn authorize_owner(caller: &Caller, supplier: Uuid) -> Result<(), AppError> {
    match &caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated(
            "sign in to change suppliers".into(),
        )),
        p if p.is_admin() => Ok(()),
        p if p.supplier_role(supplier) == Some(MemberRole::Owner) => Ok(()),
        _ => Err(AppError::Forbidden(
            "only the supplier's owners and admins change it".into(),
        )),
    }
}

#[derive(Clone)]
pub struct SupplierService {
    db: Db,
    bus: EventBus,
    callers: CallerCache,
}

impl SupplierService {
    pub fn new(db: Db, bus: EventBus, callers: CallerCache) -> Self {
        Self { db, bus, callers }
    }

    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn create(&self, caller: &Caller, input: NewSupplier) -> Result<Supplier, AppError> {
        let owner = match &caller.principal {
            Principal::Anonymous => {
                return Err(AppError::Unauthenticated(
                    "sign in to register a supplier".into(),
                ));
            }
            p if p.is_admin() => None,
            p if p.has_role(Role::Supplier) => p.account_id(),
            _ => {
                return Err(AppError::Forbidden(
                    "only admins and supplier accounts register suppliers".into(),
                ));
            }
        };
        let fields = input.validate()?;
        let txn = crate::infra::db::begin_write(&self.db).await?;
        let supplier = repository::insert(&txn, Uuid::now_v7(), fields, Utc::now()).await?;
        if let Some(owner) = owner {
            put_membership(
                &txn,
                Organisation::Supplier(supplier.id),
                owner,
                MemberRole::Owner,
                false,
            )
            .await?;
        }
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "supplier.create",
                entity: "supplier",
                entity_id: Some(supplier.id.to_string()),
                before: None,
                after: Some(serde_json::to_value(&supplier).unwrap_or_default()),
            },
        )
        .await?;
        txn.commit().await?;
        if let Some(owner) = owner {
            self.callers.account_changed(owner).await;
        }
        tracing::info!(supplier_id = %supplier.id, "supplier created");
        self.publish(SupplierChangeKind::Created, &supplier).await;
        Ok(supplier)
    }

    /// Changes the given fields (OWNERs and admins); an update that changes nothing returns the supplier as it is.
    #[tracing::instrument(skip_all, fields(caller = %caller, supplier_id = %id))]
    pub async fn update(
        &self,
        caller: &Caller,
        id: Uuid,
        changes: SupplierChanges,
    ) -> Result<Supplier, AppError> {
        authorize_owner(caller, id)?;
        let fields = changes.validate()?;
        if fields.is_empty() {
            return self.get(caller, id).await;
        }
        // Lock the row first, so the "before" the audit log records is the state this update
        // replaces, not one a concurrent update already changed.
        let txn = crate::infra::db::begin_write(&self.db).await?;
        if !repository::lock_live(&txn, id).await? {
            return Err(AppError::not_found("Supplier", id));
        }
        let before = repository::find_live(&txn, id)
            .await?
            .ok_or_else(|| AppError::not_found("Supplier", id))?;
        if !repository::update(&txn, id, fields, Utc::now()).await? {
            return Err(AppError::not_found("Supplier", id));
        }
        let supplier = repository::find_live(&txn, id)
            .await?
            .ok_or_else(|| AppError::not_found("Supplier", id))?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "supplier.update",
                entity: "supplier",
                entity_id: Some(id.to_string()),
                before: Some(serde_json::to_value(&before).unwrap_or_default()),
                after: Some(serde_json::to_value(&supplier).unwrap_or_default()),
            },
        )
        .await?;
        txn.commit().await?;
        tracing::info!("supplier updated");
        self.publish(SupplierChangeKind::Updated, &supplier).await;
        Ok(supplier)
    }

    /// Soft-deletes: the supplier disappears from every read but stays for history.
    #[tracing::instrument(skip_all, fields(caller = %caller, supplier_id = %id))]
    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<Supplier, AppError> {
        authorize_owner(caller, id)?;
        let txn = crate::infra::db::begin_write(&self.db).await?;
        if !repository::soft_delete(&txn, id, Utc::now()).await? {
            return Err(AppError::not_found("Supplier", id));
        }
        let supplier = repository::find_deleted(&txn, id)
            .await?
            .ok_or_else(|| AppError::not_found("Supplier", id))?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "supplier.delete",
                entity: "supplier",
                entity_id: Some(id.to_string()),
                before: None,
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        tracing::info!("supplier deleted");
        self.publish(SupplierChangeKind::Deleted, &supplier).await;
        Ok(supplier)
    }

    #[tracing::instrument(skip_all, fields(caller = %caller, supplier_id = %id))]
    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<Supplier, AppError> {
        repository::find_live(&self.db, id)
            .await?
            .ok_or_else(|| AppError::not_found("Supplier", id))
    }

    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &SupplierFilter,
        sort: SupplierSort,
        page: PageRequest,
    ) -> Result<Page<Supplier>, AppError> {
        repository::list(&self.db, filter, sort, &page).await
    }

    /// Changes committed from now on, optionally of one supplier only.
    pub fn changes(
        &self,
        caller: &Caller,
        only: Option<Uuid>,
    ) -> impl futures_util::Stream<Item = Result<SupplierChanged, AppError>> + Send + 'static + use<>
    {
        tracing::debug!(caller = %caller, ?only, "watching supplier changes");
        self.bus
            .subscribe::<SupplierChanged>()
            .filter_map(move |event| {
                std::future::ready(match event {
                    Ok(event) => only
                        .is_none_or(|id| event.supplier.id == id)
                        .then_some(Ok(event)),
                    Err(missed) => Some(Err(AppError::from(missed))),
                })
            })
    }

    /// Live suppliers by id (for memberships and relations).
    pub async fn by_ids(&self, ids: &[Uuid]) -> Result<Vec<Supplier>, AppError> {
        repository::find_many_live(&self.db, ids).await
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

    /// Sets where it is (latitude and longitude in degrees), or clears it with `None`: its
    /// owners and admins (audited).
    pub async fn set_location(
        &self,
        caller: &Caller,
        id: Uuid,
        degrees: Option<(rust_decimal::Decimal, rust_decimal::Decimal)>,
    ) -> Result<(), AppError> {
        authorize_owner(caller, id)?;
        let location = degrees
            .map(|(lat, lon)| crate::domain::kernel::geo::Location::from_degrees(lat, lon))
            .transpose()?;
        let txn = crate::infra::db::begin_write(&self.db).await?;
        if !repository::set_location(&txn, id, location, Utc::now()).await? {
            return Err(AppError::not_found("Supplier", id));
        }
        audit::record(
            &txn,
            caller,
            None,
            audit::AuditEntry {
                action: "supplier.locate",
                entity: "supplier",
                entity_id: Some(id.to_string()),
                before: None,
                after: Some(serde_json::json!({
                    "latitude": location.map(|l| l.latitude().to_string()),
                    "longitude": location.map(|l| l.longitude().to_string()),
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
