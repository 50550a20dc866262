//! The webhook service: endpoints (owners and admins), deliveries and their attempts.

use std::collections::HashMap;

use chrono::{SubsecRound as _, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{
    Attempt, Delivery, DeliveryStatus, Endpoint, EndpointChanges, EndpointWithSecret, NewEndpoint,
    WebhookConfig,
    repository::{self, EndpointScope, EndpointUpdate},
    secret_context, signing, targets,
};
use crate::{
    auth::{Caller, MemberRole, Principal},
    domain::{
        identity::Organisation,
        kernel::validation::Violations,
        platform::{
            audit::{self, AuditEntry},
            outbox::EVENT_TYPES,
            secrets::Sealer,
        },
    },
    error::AppError,
    infra::db::{Db, begin_write},
};

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
    sealer: Sealer,
}

impl WebhookService {
    pub fn new(db: Db, config: WebhookConfig, sealer: Sealer) -> Self {
        Self { db, config, sealer }
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
        let endpoint = repository::find_live_endpoint(&self.db, id)
            .await?
            .ok_or_else(|| AppError::not_found("Webhook endpoint", id))?;
        match authorize(caller, endpoint.organisation) {
            Ok(()) => Ok(endpoint),
            Err(AppError::Forbidden(_)) => Err(AppError::not_found("Webhook endpoint", id)),
            Err(other) => Err(other),
        }
    }

    async fn reload(&self, id: Uuid) -> Result<Endpoint, AppError> {
        repository::find_endpoint_including_deleted(&self.db, id)
            .await?
            .map(|stored| stored.endpoint)
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
        let endpoint = Endpoint {
            id,
            organisation: input.organisation,
            url: url.clone(),
            event_types: types.clone(),
            enabled: true,
            failing_since: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        };
        let sealed = self.sealer.seal(&secret, &secret_context(id))?;
        repository::insert_endpoint(&txn, &endpoint, &sealed).await?;
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
        let update = EndpointUpdate {
            url: url.as_deref(),
            event_types: types.as_deref(),
            enabled: changes.enabled,
            // Enabled again: its failure record starts afresh.
            clear_failures: changes.enabled == Some(true),
        };
        let txn = begin_write(&self.db).await?;
        repository::update_endpoint(&txn, id, update, now).await?;
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
        let sealed = self.sealer.seal(&secret, &secret_context(id))?;
        let txn = begin_write(&self.db).await?;
        repository::set_endpoint_secret(&txn, id, &sealed, Utc::now()).await?;
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
        repository::soft_delete_endpoint(&txn, id, now).await?;
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
        let scope = if let Some(organisation) = organisation {
            authorize(caller, organisation)?;
            EndpointScope::Of(organisation)
        } else {
            match &caller.principal {
                Principal::Anonymous => {
                    return Err(AppError::Unauthenticated(
                        "sign in to manage webhooks".into(),
                    ));
                }
                p if p.is_admin() => EndpointScope::All,
                Principal::Account(a) => {
                    let owned = |orgs: &HashMap<Uuid, MemberRole>| -> Vec<Uuid> {
                        orgs.iter()
                            .filter(|(_, r)| **r == MemberRole::Owner)
                            .map(|(id, _)| *id)
                            .collect()
                    };
                    EndpointScope::OfAny {
                        suppliers: owned(&a.suppliers),
                        restaurants: owned(&a.restaurants),
                    }
                }
                _ => return Ok(Vec::new()),
            }
        };
        repository::list_live_endpoints(&self.db, scope).await
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
        repository::latest_deliveries(&self.db, endpoint, status, limit).await
    }

    /// Attempts of deliveries the caller already saw, by delivery, oldest first.
    pub async fn attempts_of(
        &self,
        deliveries: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<Attempt>>, AppError> {
        let mut by_delivery: HashMap<Uuid, Vec<Attempt>> = HashMap::new();
        for attempt in repository::attempts_of(&self.db, deliveries).await? {
            by_delivery
                .entry(attempt.delivery_id)
                .or_default()
                .push(attempt);
        }
        Ok(by_delivery)
    }

    /// Sends a delivery again (from scratch: a full set of attempts), whatever its status.
    pub async fn redeliver(&self, caller: &Caller, delivery: Uuid) -> Result<Delivery, AppError> {
        let found = repository::find_delivery(&self.db, delivery)
            .await?
            .ok_or_else(|| AppError::not_found("Webhook delivery", delivery))?;
        self.managed(caller, found.delivery.endpoint_id)
            .await
            .map_err(|e| match e {
                AppError::NotFound { .. } => AppError::not_found("Webhook delivery", delivery),
                other => other,
            })?;
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        // An attempt in flight holds a claim whose lease runs past now: the update refuses
        // to requeue it, in the statement itself, so a sender claiming it meanwhile wins.
        if !repository::requeue_delivery_unless_claimed(&txn, delivery, now).await? {
            txn.rollback().await?;
            return Err(AppError::Conflict(
                "the delivery is being attempted right now; redeliver it once the attempt ends"
                    .into(),
            ));
        }
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "webhook.redeliver",
                entity: "webhook_delivery",
                entity_id: Some(delivery.to_string()),
                before: Some(json!({ "status": found.delivery.status.as_str() })),
                after: Some(json!({ "status": DeliveryStatus::Pending.as_str() })),
            },
        )
        .await?;
        txn.commit().await?;
        // The delivery as this change left it: a sender may already be attempting it, so
        // reading it back could show a later state than the one the caller asked for.
        // Postgres keeps microseconds: the time is as a later read shows it.
        let now = now.trunc_subsecs(6);
        Ok(Delivery {
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: Some(now),
            ..found.delivery
        })
    }
}
