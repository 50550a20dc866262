//! Storage of webhooks: endpoints (with their signing secrets, soft-deleted), deliveries (with
//! the claim that leases an attempt in flight) and attempts — SeaORM queries and the
//! conversions at the storage edge (owners as kind + id, event types as JSON, statuses as text).
//! Hides deleted endpoints where the function's name says "live". Updates that only the holder
//! of a delivery's claim may make say so in their names (`…_if_claimed`).

use chrono::{DateTime, Utc};
use entity::{webhook_attempts, webhook_deliveries, webhook_endpoints};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, LockBehavior, LockType},
};
use serde_json::json;
use uuid::Uuid;

use super::{Attempt, Delivery, DeliveryStatus, DeliveryWithClaim, Endpoint, StoredEndpoint};
use crate::{domain::identity::Organisation, error::AppError};

// ---- endpoints ----

/// `None` for a row whose owner is of no known kind.
fn endpoint_to_domain(m: webhook_endpoints::Model) -> Option<StoredEndpoint> {
    Some(StoredEndpoint {
        endpoint: Endpoint {
            id: m.id,
            organisation: Organisation::of_kind(&m.owner_type, m.owner_id)?,
            url: m.url,
            event_types: serde_json::from_value(m.event_types).unwrap_or_default(),
            enabled: m.enabled,
            failing_since: m.failing_since,
            disabled_reason: m.disabled_reason,
            created_at: m.created_at,
            updated_at: m.updated_at,
        },
        sealed_secret: m.secret,
        deleted: m.deleted_at.is_some(),
    })
}

/// Which live endpoints to list.
pub(super) enum EndpointScope {
    All,
    /// The endpoints of one organisation.
    Of(Organisation),
    /// The endpoints of any of these suppliers and restaurants.
    OfAny {
        suppliers: Vec<Uuid>,
        restaurants: Vec<Uuid>,
    },
}

/// Inserts a new, live endpoint with its sealed signing secret.
pub(super) async fn insert_endpoint(
    db: &impl ConnectionTrait,
    endpoint: &Endpoint,
    sealed_secret: &str,
) -> Result<(), AppError> {
    webhook_endpoints::Entity::insert(webhook_endpoints::ActiveModel {
        id: Set(endpoint.id),
        owner_type: Set(endpoint.organisation.kind().to_owned()),
        owner_id: Set(endpoint.organisation.id()),
        url: Set(endpoint.url.clone()),
        event_types: Set(json!(endpoint.event_types)),
        enabled: Set(endpoint.enabled),
        secret: Set(sealed_secret.to_owned()),
        failing_since: Set(endpoint.failing_since),
        disabled_reason: Set(endpoint.disabled_reason.clone()),
        created_at: Set(endpoint.created_at),
        updated_at: Set(endpoint.updated_at),
        deleted_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The endpoint with this id unless it is deleted.
pub(super) async fn find_live_endpoint(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Endpoint>, AppError> {
    Ok(webhook_endpoints::Entity::find_by_id(id)
        .filter(webhook_endpoints::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .and_then(endpoint_to_domain)
        .map(|stored| stored.endpoint))
}

/// The endpoint with this id, deleted or not, with its secret.
pub(super) async fn find_endpoint_including_deleted(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<StoredEndpoint>, AppError> {
    Ok(webhook_endpoints::Entity::find_by_id(id)
        .one(db)
        .await?
        .and_then(endpoint_to_domain))
}

/// Live endpoints in `scope`, oldest first.
pub(super) async fn list_live_endpoints(
    db: &impl ConnectionTrait,
    scope: EndpointScope,
) -> Result<Vec<Endpoint>, AppError> {
    let mut select =
        webhook_endpoints::Entity::find().filter(webhook_endpoints::Column::DeletedAt.is_null());
    match scope {
        EndpointScope::All => {}
        EndpointScope::Of(organisation) => {
            select = select
                .filter(webhook_endpoints::Column::OwnerType.eq(organisation.kind()))
                .filter(webhook_endpoints::Column::OwnerId.eq(organisation.id()));
        }
        EndpointScope::OfAny {
            suppliers,
            restaurants,
        } => {
            select = select.filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(webhook_endpoints::Column::OwnerType.eq("SUPPLIER"))
                            .add(webhook_endpoints::Column::OwnerId.is_in(suppliers)),
                    )
                    .add(
                        Condition::all()
                            .add(webhook_endpoints::Column::OwnerType.eq("RESTAURANT"))
                            .add(webhook_endpoints::Column::OwnerId.is_in(restaurants)),
                    ),
            );
        }
    }
    Ok(select
        .order_by_asc(webhook_endpoints::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .filter_map(endpoint_to_domain)
        .map(|stored| stored.endpoint)
        .collect())
}

/// The live, enabled endpoints of a supplier and of a restaurant (the parties of an order).
pub(super) async fn enabled_endpoints_of_parties(
    db: &impl ConnectionTrait,
    supplier: Uuid,
    restaurants: &[Uuid],
) -> Result<Vec<Endpoint>, AppError> {
    Ok(webhook_endpoints::Entity::find()
        .filter(webhook_endpoints::Column::DeletedAt.is_null())
        .filter(webhook_endpoints::Column::Enabled.eq(true))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(webhook_endpoints::Column::OwnerType.eq("SUPPLIER"))
                        .add(webhook_endpoints::Column::OwnerId.eq(supplier)),
                )
                .add(
                    Condition::all()
                        .add(webhook_endpoints::Column::OwnerType.eq("RESTAURANT"))
                        .add(webhook_endpoints::Column::OwnerId.is_in(restaurants.to_vec())),
                ),
        )
        .all(db)
        .await?
        .into_iter()
        .filter_map(endpoint_to_domain)
        .map(|stored| stored.endpoint)
        .collect())
}

/// What to change in an endpoint; `None` leaves a field as it is.
pub(super) struct EndpointUpdate<'a> {
    pub url: Option<&'a str>,
    pub event_types: Option<&'a [String]>,
    pub enabled: Option<bool>,
    /// Forget when it started failing and why it was disabled.
    pub clear_failures: bool,
}

/// Changes an endpoint, updated at `now`.
pub(super) async fn update_endpoint(
    db: &impl ConnectionTrait,
    id: Uuid,
    changes: EndpointUpdate<'_>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut update = webhook_endpoints::Entity::update_many()
        .col_expr(webhook_endpoints::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_endpoints::Column::Id.eq(id));
    if let Some(url) = changes.url {
        update = update.col_expr(webhook_endpoints::Column::Url, Expr::value(url));
    }
    if let Some(types) = changes.event_types {
        update = update.col_expr(
            webhook_endpoints::Column::EventTypes,
            Expr::value(json!(types)),
        );
    }
    if let Some(enabled) = changes.enabled {
        update = update.col_expr(webhook_endpoints::Column::Enabled, Expr::value(enabled));
    }
    if changes.clear_failures {
        update = update
            .col_expr(
                webhook_endpoints::Column::FailingSince,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                webhook_endpoints::Column::DisabledReason,
                Expr::value(Option::<String>::None),
            );
    }
    update.exec(db).await?;
    Ok(())
}

/// Replaces an endpoint's sealed signing secret, updated at `now`.
pub(super) async fn set_endpoint_secret(
    db: &impl ConnectionTrait,
    id: Uuid,
    sealed_secret: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    webhook_endpoints::Entity::update_many()
        .col_expr(
            webhook_endpoints::Column::Secret,
            Expr::value(sealed_secret),
        )
        .col_expr(webhook_endpoints::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_endpoints::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks an endpoint deleted at `at`, and disabled.
pub(super) async fn soft_delete_endpoint(
    db: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    webhook_endpoints::Entity::update_many()
        .col_expr(webhook_endpoints::Column::DeletedAt, Expr::value(at))
        .col_expr(webhook_endpoints::Column::Enabled, Expr::value(false))
        .filter(webhook_endpoints::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets that an endpoint was failing (it just answered).
pub(super) async fn clear_endpoint_failing_since(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<(), AppError> {
    webhook_endpoints::Entity::update_many()
        .col_expr(
            webhook_endpoints::Column::FailingSince,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(webhook_endpoints::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records that an endpoint is failing since `since`, unless it is recorded as failing already
/// (the earliest failure stays).
pub(super) async fn mark_endpoint_failing_unless_marked(
    db: &impl ConnectionTrait,
    id: Uuid,
    since: DateTime<Utc>,
) -> Result<(), AppError> {
    webhook_endpoints::Entity::update_many()
        .col_expr(webhook_endpoints::Column::FailingSince, Expr::value(since))
        .filter(webhook_endpoints::Column::Id.eq(id))
        .filter(webhook_endpoints::Column::FailingSince.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Disables an endpoint for `reason`, updated at `now`, if it is enabled; whether it was (so
/// of concurrent attempts exactly one disables it).
pub(super) async fn disable_endpoint_if_enabled(
    db: &impl ConnectionTrait,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let disabled = webhook_endpoints::Entity::update_many()
        .col_expr(webhook_endpoints::Column::Enabled, Expr::value(false))
        .col_expr(
            webhook_endpoints::Column::DisabledReason,
            Expr::value(reason),
        )
        .col_expr(webhook_endpoints::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_endpoints::Column::Id.eq(id))
        .filter(webhook_endpoints::Column::Enabled.eq(true))
        .exec(db)
        .await?;
    Ok(disabled.rows_affected == 1)
}

// ---- deliveries ----

fn delivery_to_domain(m: webhook_deliveries::Model) -> DeliveryWithClaim {
    DeliveryWithClaim {
        claim_id: m.claim_id,
        delivery: Delivery {
            id: m.id,
            endpoint_id: m.endpoint_id,
            event_id: m.event_id,
            event_type: m.event_type,
            payload: m.payload,
            status: DeliveryStatus::parse(&m.status),
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_status_code: m.last_status_code,
            last_error: m.last_error,
            created_at: m.created_at,
            delivered_at: m.delivered_at,
        },
    }
}

/// Inserts a new PENDING delivery of an event to an endpoint, due at `now`. A second delivery
/// of the same event to the same endpoint is not written (`ON CONFLICT (endpoint_id, event_id)
/// DO NOTHING`); SeaORM reports that as `RecordNotInserted`.
pub(super) async fn insert_delivery(
    db: &impl ConnectionTrait,
    endpoint: Uuid,
    event: Uuid,
    event_type: &str,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    webhook_deliveries::Entity::insert(webhook_deliveries::ActiveModel {
        id: Set(Uuid::now_v7()),
        endpoint_id: Set(endpoint),
        event_id: Set(event),
        event_type: Set(event_type.to_owned()),
        payload: Set(payload),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        claim_id: Set(None),
        last_status_code: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        delivered_at: Set(None),
    })
    .on_conflict_do_nothing_on([
        webhook_deliveries::Column::EndpointId,
        webhook_deliveries::Column::EventId,
    ])
    .exec(db)
    .await?;
    Ok(())
}

/// The delivery with this id, with its claim.
pub(super) async fn find_delivery(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<DeliveryWithClaim>, AppError> {
    Ok(webhook_deliveries::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(delivery_to_domain))
}

/// An endpoint's latest `limit` deliveries (only those in `status`, when given), newest first.
pub(super) async fn latest_deliveries(
    db: &impl ConnectionTrait,
    endpoint: Uuid,
    status: Option<DeliveryStatus>,
    limit: u64,
) -> Result<Vec<Delivery>, AppError> {
    let mut select = webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::EndpointId.eq(endpoint));
    if let Some(status) = status {
        select = select.filter(webhook_deliveries::Column::Status.eq(status.as_str()));
    }
    Ok(select
        .order_by_desc(webhook_deliveries::Column::CreatedAt)
        .order_by_desc(webhook_deliveries::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|row| delivery_to_domain(row).delivery)
        .collect())
}

/// Makes a delivery PENDING again, due at `now`, with no attempts and no claim — unless a
/// sender holds a live claim on it (an attempt in flight: its lease runs past `now`), checked
/// in the same statement; `false` then (or when the delivery is gone).
pub(super) async fn requeue_delivery_unless_claimed(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let changed = webhook_deliveries::Entity::update_many()
        .col_expr(
            webhook_deliveries::Column::ClaimId,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            webhook_deliveries::Column::Status,
            Expr::value(DeliveryStatus::Pending.as_str()),
        )
        .col_expr(webhook_deliveries::Column::Attempts, Expr::value(0))
        .col_expr(webhook_deliveries::Column::NextAttemptAt, Expr::value(now))
        .col_expr(webhook_deliveries::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_deliveries::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(webhook_deliveries::Column::ClaimId.is_null())
                .add(webhook_deliveries::Column::NextAttemptAt.is_null())
                .add(webhook_deliveries::Column::NextAttemptAt.lte(now)),
        )
        .exec(db)
        .await?;
    Ok(changed.rows_affected == 1)
}

/// Up to `limit` PENDING deliveries due at `now`, the longest due first, locked for the rest of
/// the transaction `db`. On Postgres the lock is `FOR UPDATE SKIP LOCKED`, so concurrent
/// senders each take different deliveries; SQLite ignores the clause (its write transactions
/// are exclusive already).
pub(super) async fn lock_due_deliveries(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<DeliveryWithClaim>, AppError> {
    Ok(webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::Column::NextAttemptAt.lte(now))
        .order_by_asc(webhook_deliveries::Column::NextAttemptAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(db)
        .await?
        .into_iter()
        .map(delivery_to_domain)
        .collect())
}

/// Leases a delivery to the attempt holding `claim`: it is not due again until `lease`.
pub(super) async fn claim_delivery(
    db: &impl ConnectionTrait,
    id: Uuid,
    claim: Uuid,
    lease: DateTime<Utc>,
) -> Result<(), AppError> {
    webhook_deliveries::Entity::update_many()
        .col_expr(
            webhook_deliveries::Column::NextAttemptAt,
            Expr::value(lease),
        )
        .col_expr(webhook_deliveries::Column::ClaimId, Expr::value(claim))
        .filter(webhook_deliveries::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// An update of this delivery that releases its claim, and only applies while the claim it was
/// read with still holds it.
fn if_claimed(delivery: &DeliveryWithClaim) -> sea_orm::UpdateMany<webhook_deliveries::Entity> {
    webhook_deliveries::Entity::update_many()
        .col_expr(
            webhook_deliveries::Column::ClaimId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(webhook_deliveries::Column::Id.eq(delivery.delivery.id))
        .filter(webhook_deliveries::Column::ClaimId.eq(delivery.claim_id))
}

/// How a delivery ended, or why it is retried.
pub(super) struct Outcome<'a> {
    pub attempts: i32,
    pub status_code: Option<i32>,
    pub error: Option<&'a str>,
}

/// Ends a delivery in `status` after its last attempt, updated at `now` (and delivered at
/// `delivered_at`, when given) — if its claim still holds it; releases the claim.
pub(super) async fn end_delivery_if_claimed(
    db: &impl ConnectionTrait,
    delivery: &DeliveryWithClaim,
    status: DeliveryStatus,
    outcome: Outcome<'_>,
    delivered_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut update = if_claimed(delivery)
        .col_expr(
            webhook_deliveries::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(
            webhook_deliveries::Column::Attempts,
            Expr::value(outcome.attempts),
        )
        .col_expr(
            webhook_deliveries::Column::NextAttemptAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            webhook_deliveries::Column::LastStatusCode,
            Expr::value(outcome.status_code),
        )
        .col_expr(
            webhook_deliveries::Column::LastError,
            Expr::value(outcome.error.map(str::to_owned)),
        )
        .col_expr(webhook_deliveries::Column::UpdatedAt, Expr::value(now));
    if let Some(at) = delivered_at {
        update = update.col_expr(webhook_deliveries::Column::DeliveredAt, Expr::value(at));
    }
    update.exec(db).await?;
    Ok(())
}

/// Schedules a delivery's next attempt at `next` after a failed one, updated at `now` — if its
/// claim still holds it; releases the claim.
pub(super) async fn schedule_retry_if_claimed(
    db: &impl ConnectionTrait,
    delivery: &DeliveryWithClaim,
    outcome: Outcome<'_>,
    next: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if_claimed(delivery)
        .col_expr(
            webhook_deliveries::Column::Attempts,
            Expr::value(outcome.attempts),
        )
        .col_expr(webhook_deliveries::Column::NextAttemptAt, Expr::value(next))
        .col_expr(
            webhook_deliveries::Column::LastStatusCode,
            Expr::value(outcome.status_code),
        )
        .col_expr(
            webhook_deliveries::Column::LastError,
            Expr::value(outcome.error.map(str::to_owned)),
        )
        .col_expr(webhook_deliveries::Column::UpdatedAt, Expr::value(now))
        .exec(db)
        .await?;
    Ok(())
}

// ---- attempts ----

/// Records one HTTP attempt at a delivery.
pub(super) async fn insert_attempt(
    db: &impl ConnectionTrait,
    attempt: &Attempt,
) -> Result<(), AppError> {
    webhook_attempts::Entity::insert(webhook_attempts::ActiveModel {
        id: Set(attempt.id),
        delivery_id: Set(attempt.delivery_id),
        attempted_at: Set(attempt.attempted_at),
        status_code: Set(attempt.status_code),
        error: Set(attempt.error.clone()),
        duration_ms: Set(attempt.duration_ms),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The attempts at these deliveries, oldest first.
pub(super) async fn attempts_of(
    db: &impl ConnectionTrait,
    deliveries: &[Uuid],
) -> Result<Vec<Attempt>, AppError> {
    Ok(webhook_attempts::Entity::find()
        .filter(webhook_attempts::Column::DeliveryId.is_in(deliveries.to_vec()))
        .order_by_asc(webhook_attempts::Column::AttemptedAt)
        .order_by_asc(webhook_attempts::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| Attempt {
            id: m.id,
            delivery_id: m.delivery_id,
            attempted_at: m.attempted_at,
            status_code: m.status_code,
            error: m.error,
            duration_ms: m.duration_ms,
        })
        .collect())
}
