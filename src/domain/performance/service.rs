//! The performance service: reads supplier performance and rebuilds it from order history.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use uuid::Uuid;

use super::{Performance, repository, tally};
use crate::{
    domain::{
        invoicing::InvoiceService,
        platform::outbox::{OutboxEvent, OutboxHandler},
    },
    error::AppError,
    infra::db::Db,
};

/// Recomputes one supplier's counts from its orders and stores them, on the caller's
/// connection (the outbox handler's transaction, or none for the nightly rebuild).
async fn rebuild(db: &impl ConnectionTrait, supplier: Uuid) -> Result<(), AppError> {
    let history = repository::load_order_history(db, supplier).await?;
    let counts = tally(supplier, &history, Utc::now());
    repository::upsert_counts(db, &counts).await
}

#[derive(Clone)]
pub struct PerformanceService {
    db: Db,
    invoices: InvoiceService,
}

impl PerformanceService {
    pub fn new(db: Db, invoices: InvoiceService) -> Self {
        Self { db, invoices }
    }

    /// Performance of suppliers by id (those with none computed yet are absent), with their
    /// invoice accuracy.
    pub async fn by_suppliers(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Performance>, AppError> {
        let mut found: HashMap<Uuid, Performance> =
            repository::find_performance_of_suppliers(&self.db, ids)
                .await?
                .into_iter()
                .map(|p| (p.supplier_id, p))
                .collect();
        if !found.is_empty() {
            let ids: Vec<Uuid> = found.keys().copied().collect();
            for (supplier, (matched, reconciled)) in self.invoices.first_time_matches(&ids).await? {
                if let Some(p) = found.get_mut(&supplier) {
                    p.reconciled_invoices = reconciled;
                    p.invoice_accuracy = super::ratio(matched, reconciled);
                }
            }
        }
        Ok(found)
    }

    /// Rebuilds every live supplier's metrics, reporting how many are done after each batch.
    pub async fn rebuild_all<F, Fut>(&self, mut progress: F) -> Result<u64, AppError>
    where
        F: FnMut(u64, u64) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let ids = repository::find_live_supplier_ids(&self.db).await?;
        let total = ids.len() as u64;
        for (i, id) in ids.iter().enumerate() {
            rebuild(&self.db, *id).await?;
            if (i + 1) % 20 == 0 {
                progress(i as u64 + 1, total).await;
            }
        }
        Ok(total)
    }
}

/// Rebuilds a supplier's metrics when one of its orders changes status.
pub struct PerformanceUpdater;

#[async_trait]
impl OutboxHandler for PerformanceUpdater {
    fn name(&self) -> &'static str {
        "supplier-metrics"
    }

    async fn handle(&self, txn: &DatabaseTransaction, event: &OutboxEvent) -> Result<(), AppError> {
        if event.aggregate_type != "order"
            || event.event_type == crate::domain::platform::outbox::ORDER_PLACED
        {
            return Ok(());
        }
        let Some(supplier) = event.payload["order"]["supplierId"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            return Ok(());
        };
        rebuild(txn, supplier).await
    }
}
