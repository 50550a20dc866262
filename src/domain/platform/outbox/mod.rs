//! The transactional outbox: domain events are written to `outbox` in the transaction of the
//! change that caused them, and dispatched afterwards to every [`OutboxHandler`] — at least
//! once: an event committed before a crash is dispatched after the restart.
//!
//! Dispatch takes the due events in batches, each in its own transaction: the rows are locked
//! (`FOR UPDATE SKIP LOCKED` on Postgres, so several processes share the queue; SQLite write
//! transactions are exclusive), every handler runs inside that transaction, and the rows are
//! marked dispatched in it. A failing handler rolls the batch back, whose events then go one
//! per transaction, so only the failing event waits: it is retried with exponential backoff
//! (at most hourly, without end: nothing accepted is dropped). Events are dispatched oldest
//! first, but a retried event can be overtaken by later ones, so consumers must not rely on
//! order (webhook payloads carry the order's state and the time of the change).

mod repository;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::AppError,
    infra::{
        bus::Event,
        db::{Db, begin_write},
    },
};

/// An order was placed (payload: the order).
pub const ORDER_PLACED: &str = "order.placed";
/// An order's status changed (payload: the order, `from`, `to`, `reason`).
pub const ORDER_STATUS_CHANGED: &str = "order.status_changed";
/// An order was marked delivered (payload: as `order.status_changed`).
pub const DELIVERY_MARKED: &str = "delivery.marked";

/// An invoice agrees with its order (payload: the invoice): the accounting hook.
pub const INVOICE_MATCHED: &str = "invoice.matched";
/// A restaurant disputed an invoice (payload: the invoice and the dispute).
pub const INVOICE_DISPUTED: &str = "invoice.disputed";
/// A supplier answered a dispute (payload: the invoice and the dispute).
pub const INVOICE_DISPUTE_ANSWERED: &str = "invoice.dispute_answered";

/// A dynamic rule moved a product's list price (payload: the product, old and new price, the
/// rule, the job run).
pub const PRODUCT_PRICE_CHANGED: &str = "product.price_changed";

/// A payload key that routes an event (who besides its parties hears of it) and is never
/// sent out: webhook bodies leave it out.
pub const ROUTING_KEY: &str = "_routing";

/// Every event type, for subscriptions to choose from.
pub const EVENT_TYPES: [&str; 7] = [
    ORDER_PLACED,
    ORDER_STATUS_CHANGED,
    DELIVERY_MARKED,
    INVOICE_MATCHED,
    INVOICE_DISPUTED,
    INVOICE_DISPUTE_ANSWERED,
    PRODUCT_PRICE_CHANGED,
];

/// Most events one dispatch transaction takes.
pub const DISPATCH_BATCH: u64 = 50;

/// Longest wait between two attempts of a failing event.
const MAX_BACKOFF_SECS: i64 = 3600;

/// A committed domain event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub id: Uuid,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: Uuid,
    pub payload: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
    pub attempts: i32,
}

impl OutboxEvent {
    /// The restaurants the event is routed to beyond its parties ([`ROUTING_KEY`]).
    pub fn routed_restaurants(&self) -> Vec<Uuid> {
        self.payload[ROUTING_KEY]["restaurants"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Published on the bus after a transaction that wrote outbox rows commits: wakes the
/// dispatchers (which also poll, so a lost wake-up only delays).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboxWritten;

impl Event for OutboxWritten {
    const TOPIC: &'static str = "outbox.written";
}

/// How long a wake-up waits for more commits to wake for.
const WAKE_COALESCE: std::time::Duration = std::time::Duration::from_millis(10);

/// Wakes the dispatchers (on every process) after transactions that wrote outbox rows
/// committed — at most once per 10 ms: a burst of commits costs one wake-up, not one each,
/// and every commit is followed by a wake-up sent after it.
#[derive(Clone)]
pub struct OutboxWaker {
    bus: crate::infra::bus::EventBus,
    pending: Arc<std::sync::atomic::AtomicBool>,
}

impl OutboxWaker {
    pub fn new(bus: crate::infra::bus::EventBus) -> Self {
        Self {
            bus,
            pending: Arc::default(),
        }
    }

    /// Call after the commit. A wake-up already scheduled covers this commit (it is sent
    /// after the flag clears, so after this call); otherwise one is scheduled.
    pub fn wake(&self) {
        use std::sync::atomic::Ordering;
        if self.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let (bus, pending) = (self.bus.clone(), self.pending.clone());
        tokio::spawn(async move {
            tokio::time::sleep(WAKE_COALESCE).await;
            pending.store(false, Ordering::Release);
            // The dispatchers poll anyway: a lost wake-up only delays.
            if let Err(error) = bus.publish(&OutboxWritten).await {
                tracing::warn!(error = ?error, "publishing OutboxWritten failed");
            }
        });
    }
}

/// Writes an event in the caller's transaction.
pub(crate) async fn record(
    txn: &impl ConnectionTrait,
    event_type: &'static str,
    aggregate_type: &'static str,
    aggregate_id: Uuid,
    payload: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<Uuid, AppError> {
    let (id, statement) = record_statement(event_type, aggregate_type, aggregate_id, payload, at);
    txn.execute(&statement).await?;
    Ok(id)
}

/// Writes events of one type (`(aggregate id, payload)`) in the caller's transaction, in one
/// statement per 1,000.
pub(crate) async fn record_many(
    txn: &impl ConnectionTrait,
    event_type: &'static str,
    aggregate_type: &'static str,
    events: Vec<(Uuid, serde_json::Value)>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let rows = events
        .into_iter()
        .map(|(aggregate, payload)| (Uuid::now_v7(), aggregate, payload))
        .collect();
    repository::insert_many(txn, event_type, aggregate_type, rows, at).await?;
    Ok(())
}

/// The statement [`record`] sends and the event's id, for a change that sends its writes
/// together (`domain::repository::write_together`); it must run in the change's transaction.
pub(crate) fn record_statement(
    event_type: &'static str,
    aggregate_type: &'static str,
    aggregate_id: Uuid,
    payload: serde_json::Value,
    at: DateTime<Utc>,
) -> (Uuid, sea_orm::sea_query::InsertStatement) {
    let id = Uuid::now_v7();
    let statement =
        repository::insert_statement(id, event_type, aggregate_type, aggregate_id, payload, at);
    (id, statement)
}

/// Something that reacts to committed events, inside the dispatch transaction.
#[async_trait]
pub trait OutboxHandler: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    async fn handle(&self, txn: &DatabaseTransaction, event: &OutboxEvent) -> Result<(), AppError>;
    /// After the dispatch transaction committed (live announcements); failures are logged.
    async fn after_commit(&self, _event: &OutboxEvent) {}
}

#[derive(Clone)]
pub struct OutboxService {
    db: Db,
    handlers: Arc<Vec<Arc<dyn OutboxHandler>>>,
}

/// How long a failing event waits before its next attempt: 2^attempts seconds, capped.
fn backoff(attempts: i32) -> Duration {
    Duration::seconds(
        2i64.saturating_pow(attempts.clamp(0, 30) as u32)
            .min(MAX_BACKOFF_SECS),
    )
}

impl OutboxService {
    pub fn new(db: Db, handlers: Vec<Arc<dyn OutboxHandler>>) -> Self {
        Self {
            db,
            handlers: Arc::new(handlers),
        }
    }

    /// Dispatches the oldest due event, if any; `Ok(false)` when none is due.
    pub async fn dispatch_one(&self) -> Result<bool, AppError> {
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        let Some(event) = repository::lock_due(&txn, now, 1).await?.pop() else {
            txn.commit().await?;
            return Ok(false);
        };
        for handler in self.handlers.iter() {
            if let Err(error) = handler.handle(&txn, &event).await {
                txn.rollback().await?;
                self.failed(&event, handler.name(), &error).await?;
                return Ok(true);
            }
        }
        repository::mark_dispatched(&txn, event.id, event.attempts + 1, Utc::now()).await?;
        txn.commit().await?;
        for handler in self.handlers.iter() {
            handler.after_commit(&event).await;
        }
        Ok(true)
    }

    async fn failed(
        &self,
        event: &OutboxEvent,
        handler: &str,
        error: &AppError,
    ) -> Result<(), AppError> {
        let attempts = event.attempts + 1;
        let retry_at = Utc::now() + backoff(attempts);
        tracing::warn!(
            event_id = %event.id,
            event_type = %event.event_type,
            handler,
            attempts,
            %retry_at,
            error = %error.message(),
            "outbox handler failed; will retry"
        );
        repository::mark_failed(
            &self.db,
            event.id,
            attempts,
            retry_at,
            format!("{handler}: {}", error.message()),
        )
        .await
    }

    /// Dispatches up to `max` due events, oldest first, in one transaction: the events are
    /// locked together, every handler runs on each, and all are marked dispatched together —
    /// so a busy queue costs a few statements per event, not a transaction each. When a
    /// handler fails, the batch is rolled back and its events go one at a time
    /// ([`Self::dispatch_one`]), so the failing one waits for its retry and the rest pass.
    pub async fn dispatch_batch(&self, max: u64) -> Result<u64, AppError> {
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        let events = repository::lock_due(&txn, now, max).await?;
        if events.is_empty() {
            txn.commit().await?;
            return Ok(0);
        }
        for event in &events {
            for handler in self.handlers.iter() {
                if let Err(error) = handler.handle(&txn, event).await {
                    // The events go one at a time now: the failing one is retried with
                    // backoff (and logged there); a batch that only lost a race (a deadlock
                    // between two dispatchers, say) passes in the second round.
                    tracing::info!(
                        event_id = %event.id,
                        handler = handler.name(),
                        error = %error.message(),
                        "outbox batch rolled back; dispatching its events one by one"
                    );
                    txn.rollback().await?;
                    let mut done = 0;
                    while done < events.len() as u64 && self.dispatch_one().await? {
                        done += 1;
                    }
                    return Ok(done);
                }
            }
        }
        let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
        repository::mark_all_dispatched(&txn, &ids, Utc::now()).await?;
        txn.commit().await?;
        for event in &events {
            for handler in self.handlers.iter() {
                handler.after_commit(event).await;
            }
        }
        Ok(events.len() as u64)
    }

    /// Dispatches due events until none is left (at most `limit`), in batches of at most
    /// [`DISPATCH_BATCH`]; returns how many.
    pub async fn dispatch_due(&self, limit: u64) -> Result<u64, AppError> {
        let mut done = 0;
        while done < limit {
            let dispatched = self
                .dispatch_batch(DISPATCH_BATCH.min(limit - done))
                .await?;
            if dispatched == 0 {
                break;
            }
            done += dispatched;
        }
        Ok(done)
    }

    /// Events not dispatched yet.
    pub async fn pending(&self) -> Result<u64, AppError> {
        repository::count_undispatched(&self.db).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::seconds(2));
        assert_eq!(backoff(5), Duration::seconds(32));
        assert_eq!(backoff(40), Duration::seconds(MAX_BACKOFF_SECS));
    }
}
