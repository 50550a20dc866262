//! The transactional outbox: domain events are written to `outbox` in the transaction of the
//! change that caused them, and dispatched afterwards to every [`OutboxHandler`] — at least
//! once: an event committed before a crash is dispatched after the restart.
//!
//! Dispatch takes one event at a time in its own transaction: the row is locked (`FOR UPDATE
//! SKIP LOCKED` on Postgres, so several processes share the queue; SQLite write transactions
//! are exclusive), every handler runs inside that transaction, and the row is marked dispatched
//! in it. A failing handler rolls the whole event back; it is retried with exponential backoff
//! (at most hourly, without end: nothing accepted is dropped). Events are dispatched oldest
//! first, but a retried event can be overtaken by later ones, so consumers must not rely on
//! order (webhook payloads carry the order's state and the time of the change).

use crate::infra::db::Db;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use entity::outbox::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, LockBehavior, LockType},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::AppError,
    infra::{bus::Event, db::begin_write},
};

/// An order was placed (payload: the order).
pub const ORDER_PLACED: &str = "order.placed";
/// An order's status changed (payload: the order, `from`, `to`, `reason`).
pub const ORDER_STATUS_CHANGED: &str = "order.status_changed";
/// An order was marked delivered (payload: as `order.status_changed`).
pub const DELIVERY_MARKED: &str = "delivery.marked";

/// Every event type, for subscriptions to choose from.
pub const EVENT_TYPES: [&str; 3] = [ORDER_PLACED, ORDER_STATUS_CHANGED, DELIVERY_MARKED];

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

fn to_domain(m: outbox::Model) -> OutboxEvent {
    OutboxEvent {
        id: m.id,
        event_type: m.event_type,
        aggregate_type: m.aggregate_type,
        aggregate_id: m.aggregate_id,
        payload: m.payload,
        occurred_at: m.occurred_at,
        attempts: m.attempts,
    }
}

/// Published on the bus after a transaction that wrote outbox rows commits: wakes the
/// dispatchers (which also poll, so a lost wake-up only delays).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboxWritten;

impl Event for OutboxWritten {
    const TOPIC: &'static str = "outbox.written";
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
    let id = Uuid::now_v7();
    Entity::insert(outbox::ActiveModel {
        id: Set(id),
        event_type: Set(event_type.to_owned()),
        aggregate_type: Set(aggregate_type.to_owned()),
        aggregate_id: Set(aggregate_id),
        payload: Set(payload),
        occurred_at: Set(at),
        available_at: Set(at),
        attempts: Set(0),
        last_error: Set(None),
        dispatched_at: Set(None),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(id)
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
        let Some(row) = Entity::find()
            .filter(Column::DispatchedAt.is_null())
            .filter(Column::AvailableAt.lte(now))
            .order_by_asc(Column::AvailableAt)
            .order_by_asc(Column::Id)
            .limit(1)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .one(&txn)
            .await?
        else {
            txn.commit().await?;
            return Ok(false);
        };
        let event = to_domain(row);
        for handler in self.handlers.iter() {
            if let Err(error) = handler.handle(&txn, &event).await {
                txn.rollback().await?;
                self.failed(&event, handler.name(), &error).await?;
                return Ok(true);
            }
        }
        Entity::update_many()
            .col_expr(Column::DispatchedAt, Expr::value(Utc::now()))
            .col_expr(Column::Attempts, Expr::value(event.attempts + 1))
            .filter(Column::Id.eq(event.id))
            .exec(&txn)
            .await?;
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
        Entity::update_many()
            .col_expr(Column::Attempts, Expr::value(attempts))
            .col_expr(Column::AvailableAt, Expr::value(retry_at))
            .col_expr(
                Column::LastError,
                Expr::value(format!("{handler}: {}", error.message())),
            )
            .filter(Column::Id.eq(event.id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Dispatches due events until none is left (at most `limit`); returns how many.
    pub async fn dispatch_due(&self, limit: u64) -> Result<u64, AppError> {
        let mut done = 0;
        while done < limit && self.dispatch_one().await? {
            done += 1;
        }
        Ok(done)
    }

    /// Events not dispatched yet.
    pub async fn pending(&self) -> Result<u64, AppError> {
        Ok(Entity::find()
            .filter(Column::DispatchedAt.is_null())
            .count(&self.db)
            .await?)
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
