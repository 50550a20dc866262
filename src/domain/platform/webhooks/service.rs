//! The webhook service: endpoints (owners and admins), deliveries and their attempts.

use crate::infra::db::Db;
use std::collections::HashMap;

use chrono::Utc;
use entity::{webhook_attempts, webhook_deliveries, webhook_endpoints};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    Attempt, Delivery, DeliveryStatus, Endpoint, EndpointChanges, EndpointWithSecret, NewEndpoint,
    WebhookConfig, signing, targets,
};
use crate::{
    auth::{Caller, MemberRole, Principal},
    domain::{
        identity::Organisation,
        kernel::validation::Violations,
        platform::{
            audit::{self, AuditEntry},
            outbox::EVENT_TYPES,
        },
    },
    error::AppError,
    infra::db::begin_write,
};

pub(super) fn endpoint_to_domain(m: webhook_endpoints::Model) -> Option<Endpoint> {
    Some(Endpoint {
        id: m.id,
        organisation: Organisation::of_kind(&m.owner_type, m.owner_id)?,
        url: m.url,
        event_types: serde_json::from_value(m.event_types).unwrap_or_default(),
        enabled: m.enabled,
        failing_since: m.failing_since,
        disabled_reason: m.disabled_reason,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

pub(super) fn delivery_to_domain(m: webhook_deliveries::Model) -> Delivery {
    Delivery {
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
    }
}

/// An organisation's OWNERs and admins manage its endpoints.
fn authorize(caller: &Caller, organisation: Organisation) -> Result<(), AppError> {
    match &caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated(
            "sign in to manage webhooks".into(),
        )),
        p if p.is_admin() || organisation.role_of(p) == Some(MemberRole::Owner) => Ok(()),
        _ => Err(AppError::Forbidden(
            "only the organisation's owners and admins manage its webhooks".into(),
        )),
    }
}

fn event_types(raw: &[String], v: &mut Violations) -> Option<Vec<String>> {
    let mut types: Vec<String> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let t = t.trim().to_ascii_lowercase();
        if !EVENT_TYPES.contains(&t.as_str()) {
            v.check::<()>(
                &format!("eventTypes[{i}]"),
                Err(format!("must be one of {}", EVENT_TYPES.join(", "))),
            );
        } else if !types.contains(&t) {
            types.push(t);
        }
    }
    if raw.is_empty() {
        v.check::<()>(
            "eventTypes",
            Err("must name at least one event type".into()),
        );
    }
    Some(types)
}

#[derive(Clone)]
pub struct WebhookService {
    db: Db,
    config: WebhookConfig,
}

impl WebhookService {
    pub fn new(db: Db, config: WebhookConfig) -> Self {
        Self { db, config }
    }

    async fn url(&self, raw: &str, v: &mut Violations) -> Option<String> {
        let url = v.check("url", targets::check_url(raw))?;
        v.check(
            "url",
            targets::check_target(&url, self.config.allow_private_targets).await,
        )?;
        Some(url.to_string())
    }

    /// A live endpoint the caller manages (NOT_FOUND for others', so they do not exist).
    async fn managed(&self, caller: &Caller, id: Uuid) -> Result<Endpoint, AppError> {
        let endpoint = webhook_endpoints::Entity::find_by_id(id)
            .filter(webhook_endpoints::Column::DeletedAt.is_null())
            .one(&self.db)
            .await?
            .and_then(endpoint_to_domain)
            .ok_or_else(|| AppError::not_found("Webhook endpoint", id))?;
        match authorize(caller, endpoint.organisation) {
            Ok(()) => Ok(endpoint),
            Err(AppError::Forbidden(_)) => Err(AppError::not_found("Webhook endpoint", id)),
            Err(other) => Err(other),
        }
    }

    async fn reload(&self, id: Uuid) -> Result<Endpoint, AppError> {
        webhook_endpoints::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .and_then(endpoint_to_domain)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("webhook endpoint vanished")))
    }

    /// Registers an endpoint; the secret is returned this once.
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn create(
        &self,
        caller: &Caller,
        input: NewEndpoint,
    ) -> Result<EndpointWithSecret, AppError> {
        authorize(caller, input.organisation)?;
        let mut v = Violations::default();
        let url = self.url(&input.url, &mut v).await;
        let types = event_types(&input.event_types, &mut v);
        v.finish()?;
        let (Some(url), Some(types)) = (url, types) else {
            return Err(anyhow::anyhow!("validated fields missing").into());
        };
        let now = Utc::now();
        let id = Uuid::now_v7();
        let secret = signing::new_secret();
        let txn = begin_write(&self.db).await?;
        webhook_endpoints::Entity::insert(webhook_endpoints::ActiveModel {
            id: Set(id),
            owner_type: Set(input.organisation.kind().to_owned()),
            owner_id: Set(input.organisation.id()),
            url: Set(url.clone()),
            event_types: Set(json!(types)),
            enabled: Set(true),
            secret: Set(secret.clone()),
            failing_since: Set(None),
            disabled_reason: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "webhook.create",
                entity: "webhook_endpoint",
                entity_id: Some(id.to_string()),
                before: None,
                after: Some(
                    json!({ "url": url, "eventTypes": types, "owner": input.organisation.id() }),
                ),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(EndpointWithSecret {
            endpoint: self.reload(id).await?,
            secret,
        })
    }

    /// Changes an endpoint; enabling it again clears its failure record.
    pub async fn update(
        &self,
        caller: &Caller,
        id: Uuid,
        changes: EndpointChanges,
    ) -> Result<Endpoint, AppError> {
        let before = self.managed(caller, id).await?;
        let mut v = Violations::default();
        let url = match &changes.url {
            Some(raw) => self.url(raw, &mut v).await,
            None => None,
        };
        let types = changes
            .event_types
            .as_ref()
            .and_then(|t| event_types(t, &mut v));
        v.finish()?;
        let now = Utc::now();
        let mut update = webhook_endpoints::Entity::update_many()
            .col_expr(webhook_endpoints::Column::UpdatedAt, Expr::value(now))
            .filter(webhook_endpoints::Column::Id.eq(id));
        if let Some(url) = &url {
            update = update.col_expr(webhook_endpoints::Column::Url, Expr::value(url.clone()));
        }
        if let Some(types) = &types {
            update = update.col_expr(
                webhook_endpoints::Column::EventTypes,
                Expr::value(json!(types)),
            );
        }
        if let Some(enabled) = changes.enabled {
            update = update.col_expr(webhook_endpoints::Column::Enabled, Expr::value(enabled));
            if enabled {
                update = update
                    .col_expr(
                        webhook_endpoints::Column::FailingSince,
                        Expr::value(Option::<chrono::DateTime<Utc>>::None),
                    )
                    .col_expr(
                        webhook_endpoints::Column::DisabledReason,
                        Expr::value(Option::<String>::None),
                    );
            }
        }
        let txn = begin_write(&self.db).await?;
        update.exec(&txn).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "webhook.update",
                entity: "webhook_endpoint",
                entity_id: Some(id.to_string()),
                before: Some(json!({ "url": before.url, "eventTypes": before.event_types, "enabled": before.enabled })),
                after: Some(json!({ "url": url, "eventTypes": types, "enabled": changes.enabled })),
            },
        )
        .await?;
        txn.commit().await?;
        self.reload(id).await
    }

    /// A new secret replaces the old one at once; returned this once.
    pub async fn rotate_secret(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<EndpointWithSecret, AppError> {
        self.managed(caller, id).await?;
        let secret = signing::new_secret();
        let txn = begin_write(&self.db).await?;
        webhook_endpoints::Entity::update_many()
            .col_expr(
                webhook_endpoints::Column::Secret,
                Expr::value(secret.clone()),
            )
            .col_expr(
                webhook_endpoints::Column::UpdatedAt,
                Expr::value(Utc::now()),
            )
            .filter(webhook_endpoints::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "webhook.rotate_secret",
                entity: "webhook_endpoint",
                entity_id: Some(id.to_string()),
                before: None,
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(EndpointWithSecret {
            endpoint: self.reload(id).await?,
            secret,
        })
    }

    /// Removes an endpoint (soft); its pending deliveries are no longer sent.
    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<(), AppError> {
        self.managed(caller, id).await?;
        let txn = begin_write(&self.db).await?;
        let now = Utc::now();
        webhook_endpoints::Entity::update_many()
            .col_expr(webhook_endpoints::Column::DeletedAt, Expr::value(now))
            .col_expr(webhook_endpoints::Column::Enabled, Expr::value(false))
            .filter(webhook_endpoints::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "webhook.delete",
                entity: "webhook_endpoint",
                entity_id: Some(id.to_string()),
                before: None,
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The endpoints the caller manages (all for admins), optionally of one organisation.
    pub async fn list(
        &self,
        caller: &Caller,
        organisation: Option<Organisation>,
    ) -> Result<Vec<Endpoint>, AppError> {
        let mut select = webhook_endpoints::Entity::find()
            .filter(webhook_endpoints::Column::DeletedAt.is_null());
        if let Some(organisation) = organisation {
            authorize(caller, organisation)?;
            select = select
                .filter(webhook_endpoints::Column::OwnerType.eq(organisation.kind()))
                .filter(webhook_endpoints::Column::OwnerId.eq(organisation.id()));
        } else {
            match &caller.principal {
                Principal::Anonymous => {
                    return Err(AppError::Unauthenticated(
                        "sign in to manage webhooks".into(),
                    ));
                }
                p if p.is_admin() => {}
                Principal::Account(a) => {
                    let owned = |orgs: &HashMap<Uuid, MemberRole>| -> Vec<Uuid> {
                        orgs.iter()
                            .filter(|(_, r)| **r == MemberRole::Owner)
                            .map(|(id, _)| *id)
                            .collect()
                    };
                    select = select.filter(
                        Condition::any()
                            .add(
                                Condition::all()
                                    .add(webhook_endpoints::Column::OwnerType.eq("SUPPLIER"))
                                    .add(
                                        webhook_endpoints::Column::OwnerId
                                            .is_in(owned(&a.suppliers)),
                                    ),
                            )
                            .add(
                                Condition::all()
                                    .add(webhook_endpoints::Column::OwnerType.eq("RESTAURANT"))
                                    .add(
                                        webhook_endpoints::Column::OwnerId
                                            .is_in(owned(&a.restaurants)),
                                    ),
                            ),
                    );
                }
                _ => return Ok(Vec::new()),
            }
        }
        Ok(select
            .order_by_asc(webhook_endpoints::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(endpoint_to_domain)
            .collect())
    }

    /// An endpoint's latest deliveries, newest first, optionally in one status.
    pub async fn deliveries(
        &self,
        caller: &Caller,
        endpoint: Uuid,
        status: Option<DeliveryStatus>,
        limit: u64,
    ) -> Result<Vec<Delivery>, AppError> {
        self.managed(caller, endpoint).await?;
        let mut select = webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::EndpointId.eq(endpoint));
        if let Some(status) = status {
            select = select.filter(webhook_deliveries::Column::Status.eq(status.as_str()));
        }
        Ok(select
            .order_by_desc(webhook_deliveries::Column::CreatedAt)
            .order_by_desc(webhook_deliveries::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(delivery_to_domain)
            .collect())
    }

    /// Attempts of deliveries the caller already saw, by delivery, oldest first.
    pub async fn attempts_of(
        &self,
        deliveries: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<Attempt>>, AppError> {
        let mut by_delivery: HashMap<Uuid, Vec<Attempt>> = HashMap::new();
        for m in webhook_attempts::Entity::find()
            .filter(webhook_attempts::Column::DeliveryId.is_in(deliveries.to_vec()))
            .order_by_asc(webhook_attempts::Column::AttemptedAt)
            .order_by_asc(webhook_attempts::Column::Id)
            .all(&self.db)
            .await?
        {
            by_delivery.entry(m.delivery_id).or_default().push(Attempt {
                id: m.id,
                delivery_id: m.delivery_id,
                attempted_at: m.attempted_at,
                status_code: m.status_code,
                error: m.error,
                duration_ms: m.duration_ms,
            });
        }
        Ok(by_delivery)
    }

    /// Sends a delivery again (from scratch: a full set of attempts), whatever its status.
    pub async fn redeliver(&self, caller: &Caller, delivery: Uuid) -> Result<Delivery, AppError> {
        let found = webhook_deliveries::Entity::find_by_id(delivery)
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::not_found("Webhook delivery", delivery))?;
        self.managed(caller, found.endpoint_id)
            .await
            .map_err(|e| match e {
                AppError::NotFound { .. } => AppError::not_found("Webhook delivery", delivery),
                other => other,
            })?;
        let now = Utc::now();
        if found.claim_id.is_some() && found.next_attempt_at.is_some_and(|lease| lease > now) {
            return Err(AppError::Conflict(
                "the delivery is being attempted right now; redeliver it once the attempt ends"
                    .into(),
            ));
        }
        let txn = begin_write(&self.db).await?;
        webhook_deliveries::Entity::update_many()
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
            .filter(webhook_deliveries::Column::Id.eq(delivery))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "webhook.redeliver",
                entity: "webhook_delivery",
                entity_id: Some(delivery.to_string()),
                before: Some(json!({ "status": found.status })),
                after: Some(json!({ "status": "PENDING" })),
            },
        )
        .await?;
        txn.commit().await?;
        webhook_deliveries::Entity::find_by_id(delivery)
            .one(&self.db)
            .await?
            .map(delivery_to_domain)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("delivery vanished")))
    }
}
