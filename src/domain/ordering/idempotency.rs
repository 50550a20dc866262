//! Idempotency keys: a retried `placeOrder` / `checkout` gets the first attempt's result.
//!
//! The key row is inserted first thing in the transaction that does the work and completed with
//! the result before commit, so the key and the orders it produced commit together or not at
//! all. A concurrent duplicate's insert hits the unique index (on Postgres it waits for the
//! first transaction to finish), rolls back, and replays what the winner stored. A failed
//! attempt stores nothing, so the same key may be retried.

use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    IDEMPOTENCY_TTL_HOURS,
    repository::{self, NewKey},
};
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
    let Some(stored) = repository::find_unexpired_key(
        db,
        &request.scope,
        request.operation,
        &request.key,
        Utc::now(),
    )
    .await?
    else {
        return Ok(None);
    };
    if stored.request_hash != request.hash {
        return Err(conflict(request));
    }
    Ok(Some(stored.order_ids))
}

/// Claims the key inside `txn`; `false` when another request holds it (the caller must roll
/// back and [`lookup`] again).
pub(super) async fn claim(
    txn: &DatabaseTransaction,
    request: &IdempotentRequest,
) -> Result<bool, AppError> {
    let now = Utc::now();
    // An expired key may be reused; the cleanup job may not have removed it yet.
    repository::delete_key_if_expired(txn, &request.scope, request.operation, &request.key, now)
        .await?;
    repository::insert_key_unless_held(
        txn,
        NewKey {
            scope: &request.scope,
            operation: request.operation,
            key: &request.key,
            request_hash: &request.hash,
            created_at: now,
            expires_at: now + Duration::hours(IDEMPOTENCY_TTL_HOURS),
        },
    )
    .await
}

/// Stores the result under the claimed key (same transaction as the orders).
pub(super) async fn complete(
    txn: &DatabaseTransaction,
    request: &IdempotentRequest,
    order_ids: &[Uuid],
) -> Result<(), AppError> {
    repository::store_key_orders(
        txn,
        &request.scope,
        request.operation,
        &request.key,
        order_ids,
    )
    .await
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
    repository::delete_expired_keys(db, Utc::now(), batch).await
}
