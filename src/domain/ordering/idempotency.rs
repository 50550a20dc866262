//! Idempotency keys: a retried `placeOrder` / `checkout` gets the first attempt's result.
//!
//! The key row is inserted first thing in the transaction that does the work and completed with
//! the result before commit, so the key and the orders it produced commit together or not at
//! all. A concurrent duplicate's insert hits the unique index (on Postgres it waits for the
//! first transaction to finish), rolls back, and replays what the winner stored. A failed
//! attempt stores nothing, so the same key may be retried.

use chrono::{Duration, Utc};
use entity::idempotency_keys::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::IDEMPOTENCY_TTL_HOURS;
use crate::{
    auth::{Caller, Principal},
    error::AppError,
};

/// A validated key, scoped to its caller and operation, with its request's fingerprint.
#[derive(Clone, Debug)]
pub(super) struct IdempotentRequest {
    scope: String,
    operation: &'static str,
    key: String,
    hash: String,
}

/// Checks the key (1–255 visible ASCII characters) and fingerprints the request; `None` without
/// a key.
pub(super) fn prepare(
    caller: &Caller,
    operation: &'static str,
    key: Option<&str>,
    request: &impl Serialize,
) -> Result<Option<IdempotentRequest>, AppError> {
    let Some(key) = key else {
        return Ok(None);
    };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::validation(
            "idempotencyKey",
            "must be 1 to 255 visible ASCII characters",
        ));
    }
    let scope = match &caller.principal {
        Principal::Account(a) => format!("account:{}", a.account_id),
        Principal::Service(name) => format!("service:{name}"),
        Principal::System => "system".to_owned(),
        Principal::Anonymous => {
            return Err(AppError::Unauthenticated("sign in to place orders".into()));
        }
    };
    let body = serde_json::to_vec(request)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("hashing a request")))?;
    Ok(Some(IdempotentRequest {
        scope,
        operation,
        key: key.to_owned(),
        hash: hex(&Sha256::digest(&body)),
    }))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn conflict(request: &IdempotentRequest) -> AppError {
    AppError::Conflict(format!(
        "idempotency key \"{}\" was already used with a different {} request",
        request.key, request.operation
    ))
}

/// The order ids stored under the key, if a completed request holds it (CONFLICT when it was a
/// different request).
pub(super) async fn lookup(
    db: &impl ConnectionTrait,
    request: &IdempotentRequest,
) -> Result<Option<Vec<Uuid>>, AppError> {
    let Some(row) = Entity::find()
        .filter(Column::Scope.eq(&request.scope))
        .filter(Column::Operation.eq(request.operation))
        .filter(Column::Key.eq(&request.key))
        .filter(Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if row.request_hash != request.hash {
        return Err(conflict(request));
    }
    let ids = row.response["orderIds"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|id| id.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(ids))
}

/// Claims the key inside `txn`; `false` when another request holds it (the caller must roll
/// back and [`lookup`] again).
pub(super) async fn claim(
    txn: &DatabaseTransaction,
    request: &IdempotentRequest,
) -> Result<bool, AppError> {
    let now = Utc::now();
    // An expired key may be reused; the cleanup job may not have removed it yet.
    Entity::delete_many()
        .filter(Column::Scope.eq(&request.scope))
        .filter(Column::Operation.eq(request.operation))
        .filter(Column::Key.eq(&request.key))
        .filter(Column::ExpiresAt.lte(now))
        .exec(txn)
        .await?;
    let inserted = Entity::insert(idempotency_keys::ActiveModel {
        id: Set(Uuid::now_v7()),
        scope: Set(request.scope.clone()),
        operation: Set(request.operation.to_owned()),
        key: Set(request.key.clone()),
        request_hash: Set(request.hash.clone()),
        response: Set(json!({ "orderIds": [] })),
        created_at: Set(now),
        expires_at: Set(now + Duration::hours(IDEMPOTENCY_TTL_HOURS)),
    })
    .exec_without_returning(txn)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Stores the result under the claimed key (same transaction as the orders).
pub(super) async fn complete(
    txn: &DatabaseTransaction,
    request: &IdempotentRequest,
    order_ids: &[Uuid],
) -> Result<(), AppError> {
    Entity::update_many()
        .col_expr(
            Column::Response,
            sea_orm::sea_query::Expr::value(json!({ "orderIds": order_ids })),
        )
        .filter(Column::Scope.eq(&request.scope))
        .filter(Column::Operation.eq(request.operation))
        .filter(Column::Key.eq(&request.key))
        .exec(txn)
        .await?;
    Ok(())
}

/// After losing a claim race: the winner's result, or CONFLICT if it was a different request.
pub(super) async fn after_lost_claim(
    db: &impl ConnectionTrait,
    request: &IdempotentRequest,
) -> Result<Vec<Uuid>, AppError> {
    lookup(db, request).await?.ok_or_else(|| {
        AppError::Conflict(format!(
            "a request with idempotency key \"{}\" is in progress; retry shortly",
            request.key
        ))
    })
}

/// Deletes up to `batch` expired keys; returns how many went.
pub(super) async fn expire(db: &impl ConnectionTrait, batch: u64) -> Result<u64, AppError> {
    let expired: Vec<Uuid> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::ExpiresAt.lte(Utc::now()))
        .limit(batch)
        .into_tuple()
        .all(db)
        .await?;
    if expired.is_empty() {
        return Ok(0);
    }
    let result = Entity::delete_many()
        .filter(Column::Id.is_in(expired))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
