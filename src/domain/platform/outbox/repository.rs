//! Storage of the outbox: appending events, locking the oldest due one for dispatch, and
//! recording each attempt's outcome.

use chrono::{DateTime, Utc};
use entity::outbox::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait as _, InsertStatement, LockBehavior, LockType},
};
use uuid::Uuid;

use super::OutboxEvent;
use crate::error::AppError;

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

/// The statement writing one event, for a caller that sends it with others.
pub(super) fn insert_statement(
    id: Uuid,
    event_type: &str,
    aggregate_type: &str,
    aggregate_id: Uuid,
    payload: serde_json::Value,
    at: DateTime<Utc>,
) -> InsertStatement {
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
    .into_query()
}

/// Many events of one type in one statement (at most 1,000 rows per call).
pub(super) async fn insert_many(
    db: &impl ConnectionTrait,
    event_type: &str,
    aggregate_type: &str,
    events: Vec<(Uuid, Uuid, serde_json::Value)>,
    at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let rows: Vec<outbox::ActiveModel> = events
            .by_ref()
            .take(1000)
            .map(|(id, aggregate_id, payload)| outbox::ActiveModel {
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
            .collect();
        Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Up to `max` undispatched events due longest ago (by `available_at`, then id), locked for
/// the rest of the transaction `db`. On Postgres the lock is `FOR UPDATE SKIP LOCKED`, so
/// concurrent dispatchers each take different events; SQLite ignores the clause (its write
/// transactions are exclusive already).
pub(super) async fn lock_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    max: u64,
) -> Result<Vec<OutboxEvent>, AppError> {
    Ok(Entity::find()
        .filter(Column::DispatchedAt.is_null())
        .filter(Column::AvailableAt.lte(now))
        .order_by_asc(Column::AvailableAt)
        .order_by_asc(Column::Id)
        .limit(max)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect())
}

/// Marks the events dispatched at `at`, each after one more attempt.
pub(super) async fn mark_all_dispatched(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    Entity::update_many()
        .col_expr(Column::DispatchedAt, Expr::value(at))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks the event dispatched at `at`, after its `attempts`-th attempt.
pub(super) async fn mark_dispatched(
    db: &impl ConnectionTrait,
    id: Uuid,
    attempts: i32,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    Entity::update_many()
        .col_expr(Column::DispatchedAt, Expr::value(at))
        .col_expr(Column::Attempts, Expr::value(attempts))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records a failed attempt: the attempt count, when to retry, and why it failed.
pub(super) async fn mark_failed(
    db: &impl ConnectionTrait,
    id: Uuid,
    attempts: i32,
    retry_at: DateTime<Utc>,
    last_error: String,
) -> Result<(), AppError> {
    Entity::update_many()
        .col_expr(Column::Attempts, Expr::value(attempts))
        .col_expr(Column::AvailableAt, Expr::value(retry_at))
        .col_expr(Column::LastError, Expr::value(last_error))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// How many events are not dispatched yet.
pub(super) async fn count_undispatched(db: &impl ConnectionTrait) -> Result<u64, AppError> {
    Ok(Entity::find()
        .filter(Column::DispatchedAt.is_null())
        .count(db)
        .await?)
}
