//! Getting events to endpoints: the outbox handler that fans an event out into deliveries, and
//! the sender that attempts them.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use async_trait::async_trait;
use chrono::{Duration, Utc};
use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde_json::json;
use uuid::Uuid;

use super::{
    Attempt, DeliveryStatus, DeliveryWithClaim, Endpoint, StoredEndpoint, WebhookConfig,
    repository::{self, Outcome},
    secret_context, signing, targets,
};
use crate::{
    auth::Caller,
    domain::platform::{
        audit::{self, AuditEntry},
        notifications::{Notice, NotificationService, notify_members},
        outbox::{self, OutboxEvent, OutboxHandler},
        secrets::Sealer,
    },
    error::AppError,
    infra::db::{Db, begin_write},
};

/// Longest wait between two attempts.
const MAX_RETRY_DELAY: Duration = Duration::hours(6);

/// Fans each order or invoice event out into one delivery per subscribed endpoint of either
/// party.
pub struct WebhookFanout;

/// A party of an order or invoice event (`payload.order.supplierId`, …).
fn party(event: &OutboxEvent, field: &str) -> Option<Uuid> {
    event.payload[event.aggregate_type.as_str()][field]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
}

#[async_trait]
impl OutboxHandler for WebhookFanout {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    async fn handle(&self, txn: &DatabaseTransaction, event: &OutboxEvent) -> Result<(), AppError> {
        let (supplier, restaurants) = match event.aggregate_type.as_str() {
            "order" | "invoice" => match (party(event, "restaurantId"), party(event, "supplierId"))
            {
                (Some(restaurant), Some(supplier)) => (supplier, vec![restaurant]),
                _ => {
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "{} event {} names no parties",
                        event.aggregate_type,
                        event.id
                    )));
                }
            },
            // A product's supplier, and the restaurants the event is routed to (its buyers).
            "product" => {
                let Some(supplier) = party(event, "supplierId") else {
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "product event {} names no supplier",
                        event.id
                    )));
                };
                (supplier, event.routed_restaurants())
            }
            _ => return Ok(()),
        };
        let endpoints =
            repository::enabled_endpoints_of_parties(txn, supplier, &restaurants).await?;
        let now = Utc::now();
        let mut data = event.payload.clone();
        if let Some(fields) = data.as_object_mut() {
            fields.remove(outbox::ROUTING_KEY);
        }
        let body = json!({
            "type": event.event_type,
            "timestamp": event.occurred_at,
            "data": data,
        });
        for endpoint in endpoints {
            if !endpoint.event_types.contains(&event.event_type) {
                continue;
            }
            // At-least-once dispatch may bring the event again: one delivery per endpoint.
            repository::insert_delivery(
                txn,
                endpoint.id,
                event.id,
                &event.event_type,
                body.clone(),
                now,
            )
            .await?;
        }
        Ok(())
    }
}

/// Resolves host names to public addresses only (unless private targets are allowed).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(refused) = addresses.iter().find(|a| !targets::is_public(a.ip())) {
                return Err(
                    format!("{host} resolves to {}, not a public address", refused.ip()).into(),
                );
            }
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// When a delivery whose secret did not open is tried again.
const SECRET_UNAVAILABLE_RETRY: Duration = Duration::minutes(5);

/// How long to wait after the `attempts`-th failure: base × 2^(attempts−1), ±20 % jitter,
/// capped.
pub fn retry_delay(base: std::time::Duration, attempts: i32) -> Duration {
    let base_ms = base.as_millis().min(u128::from(u32::MAX)) as i64;
    let exponent = (attempts - 1).clamp(0, 20) as u32;
    let delay = base_ms.saturating_mul(2i64.saturating_pow(exponent));
    let jitter = rand::rng().random_range(0.8..1.2);
    Duration::milliseconds(((delay as f64) * jitter) as i64).min(MAX_RETRY_DELAY)
}

/// Whether an answer ends the delivery: success, or a client error other than 408/429.
fn is_final(status: u16) -> bool {
    (200..300).contains(&status) || ((400..500).contains(&status) && status != 408 && status != 429)
}

/// Attempts due deliveries.
#[derive(Clone)]
pub struct WebhookSender {
    db: Db,
    config: WebhookConfig,
    client: reqwest::Client,
    notifications: NotificationService,
    sealer: Sealer,
    /// One permit per attempt in flight: a slow endpoint holds one, not the whole batch.
    permits: Arc<tokio::sync::Semaphore>,
}

impl WebhookSender {
    pub fn new(
        db: Db,
        config: WebhookConfig,
        notifications: NotificationService,
        sealer: Sealer,
    ) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Iris-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private_targets {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self {
            db,
            client: builder.build()?,
            permits: Arc::new(tokio::sync::Semaphore::new(config.concurrency.max(1))),
            config,
            notifications,
            sealer,
        })
    }

    /// Claims due deliveries (as many as attempts may start now, at most `limit`) and starts
    /// their attempts in the background; returns how many it started.
    pub async fn deliver_due(&self, limit: u64) -> Result<u64, AppError> {
        let free = (self.permits.available_permits() as u64).min(limit);
        if free == 0 {
            return Ok(0);
        }
        let now = Utc::now();
        // A lease: claimed deliveries are not due again until it ends, so another process
        // (or this one, after a crash) retries them only if this attempt never finishes; the
        // claim id makes sure only the lease holder records an outcome.
        let timeout = Duration::from_std(self.config.timeout).unwrap_or(Duration::seconds(10));
        let lease = now + timeout * 2 + Duration::seconds(5);
        let txn = begin_write(&self.db).await?;
        let due = repository::lock_due_deliveries(&txn, now, free).await?;
        let mut claimed = Vec::with_capacity(due.len());
        for mut delivery in due {
            let claim = Uuid::now_v7();
            repository::claim_delivery(&txn, delivery.delivery.id, claim, lease).await?;
            delivery.claim_id = Some(claim);
            claimed.push(delivery);
        }
        txn.commit().await?;
        let count = claimed.len() as u64;
        for delivery in claimed {
            let Ok(permit) = self.permits.clone().acquire_owned().await else {
                break;
            };
            let sender = self.clone();
            tokio::spawn(async move {
                if let Err(error) = sender.attempt(delivery).await {
                    tracing::error!(error = ?error, "recording a webhook attempt failed");
                }
                drop(permit);
            });
        }
        Ok(count)
    }

    #[tracing::instrument(skip_all, fields(delivery_id = %delivery.delivery.id, endpoint_id = %delivery.delivery.endpoint_id))]
    async fn attempt(&self, delivery: DeliveryWithClaim) -> Result<(), AppError> {
        let endpoint =
            repository::find_endpoint_including_deleted(&self.db, delivery.delivery.endpoint_id)
                .await?;
        let StoredEndpoint {
            endpoint,
            sealed_secret,
            ..
        } = match endpoint {
            Some(e) if !e.deleted && e.endpoint.enabled => e,
            other => {
                let why = if other.is_some_and(|e| !e.deleted) {
                    "the endpoint is disabled"
                } else {
                    "the endpoint was deleted"
                };
                return self
                    .end(
                        &self.db,
                        &delivery,
                        DeliveryStatus::Dead,
                        delivery.delivery.attempts,
                        None,
                        Some(why),
                    )
                    .await;
            }
        };
        let Some(secret) = self.secret(&endpoint, &sealed_secret) else {
            // The operator's fault, not the endpoint's: no attempt is counted, the endpoint is
            // not marked failing, and the delivery waits for the key to come back.
            let now = Utc::now();
            let outcome = Outcome {
                attempts: delivery.delivery.attempts,
                status_code: None,
                error: Some(
                    "the endpoint's signing secret is unavailable here; delivery resumes once the operator restores its key",
                ),
            };
            return repository::schedule_retry_if_claimed(
                &self.db,
                &delivery,
                outcome,
                now + SECRET_UNAVAILABLE_RETRY,
                now,
            )
            .await;
        };
        let started = Instant::now();
        let attempted_at = Utc::now();
        let outcome = self.send(&endpoint, &secret, &delivery).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let (status_code, error) = match &outcome {
            Ok(code) => (Some(i32::from(*code)), None),
            Err(error) => (None, Some(error.clone())),
        };
        // The attempt and the delivery's new state commit together: no reader sees an attempt
        // without its outcome.
        let txn = begin_write(&self.db).await?;
        let attempt = Attempt {
            id: Uuid::now_v7(),
            delivery_id: delivery.delivery.id,
            attempted_at,
            status_code,
            error: error.clone(),
            duration_ms,
        };
        repository::insert_attempt(&txn, &attempt).await?;
        let attempts = delivery.delivery.attempts + 1;
        match outcome {
            Ok(code) if (200..300).contains(&code) => {
                self.end(
                    &txn,
                    &delivery,
                    DeliveryStatus::Succeeded,
                    attempts,
                    status_code,
                    None,
                )
                .await?;
                txn.commit().await?;
                repository::clear_endpoint_failing_since(&self.db, endpoint.id).await?;
                return Ok(());
            }
            _ => {}
        }
        let error = error.unwrap_or_else(|| format!("answered HTTP {}", status_code.unwrap_or(0)));
        let final_answer = status_code.is_some_and(|c| is_final(c as u16));
        if final_answer || attempts >= self.config.max_attempts {
            tracing::warn!(attempts, %error, "webhook delivery dead-lettered");
            self.end(
                &txn,
                &delivery,
                DeliveryStatus::Dead,
                attempts,
                status_code,
                Some(&error),
            )
            .await?;
        } else {
            let next = Utc::now() + retry_delay(self.config.retry_base, attempts);
            let outcome = Outcome {
                attempts,
                status_code,
                error: Some(&error),
            };
            repository::schedule_retry_if_claimed(&txn, &delivery, outcome, next, Utc::now())
                .await?;
        }
        txn.commit().await?;
        self.endpoint_failed(&endpoint, &error).await
    }

    /// The endpoint's signing secret, opened; `None` (logged for the operator) when it does
    /// not open under this process's keys.
    fn secret(&self, endpoint: &Endpoint, sealed: &str) -> Option<String> {
        match self.sealer.open(sealed, &secret_context(endpoint.id)) {
            Ok(secret) => Some(secret),
            Err(error) => {
                tracing::error!(%error, endpoint_id = %endpoint.id, "a webhook signing secret did not open: check SECRET_KEYS");
                None
            }
        }
    }

    /// Sends one delivery; the HTTP status, or why there was none.
    async fn send(
        &self,
        endpoint: &Endpoint,
        secret: &str,
        delivery: &DeliveryWithClaim,
    ) -> Result<u16, String> {
        let delivery = &delivery.delivery;
        let url = targets::check_url(&endpoint.url)?;
        // Literal addresses never reach the resolver: check them here.
        if url.host_str().is_some_and(|h| {
            h.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok()
        }) {
            targets::check_target(&url, self.config.allow_private_targets).await?;
        }
        let body = serde_json::to_vec(&delivery.payload).map_err(|e| e.to_string())?;
        let id = delivery.id.to_string();
        let timestamp = Utc::now().timestamp();
        let signature = signing::sign(secret, &id, timestamp, &body)?;
        let mut response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        // Read (and discard) at most the configured size of the answer.
        let mut read = 0usize;
        while read < self.config.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        Ok(status)
    }

    /// Ends a delivery: SUCCEEDED or DEAD, after `attempts` attempts.
    /// Only while the attempt's claim still holds the delivery.
    async fn end(
        &self,
        conn: &impl ConnectionTrait,
        delivery: &DeliveryWithClaim,
        status: DeliveryStatus,
        attempts: i32,
        code: Option<i32>,
        error: Option<&str>,
    ) -> Result<(), AppError> {
        let now = Utc::now();
        let outcome = Outcome {
            attempts,
            status_code: code,
            error,
        };
        let delivered_at = (status == DeliveryStatus::Succeeded).then_some(now);
        repository::end_delivery_if_claimed(conn, delivery, status, outcome, delivered_at, now)
            .await
    }

    /// Records that the endpoint is failing; disables it once it has failed long enough.
    async fn endpoint_failed(&self, endpoint: &Endpoint, error: &str) -> Result<(), AppError> {
        let now = Utc::now();
        let since = endpoint.failing_since.unwrap_or(now);
        if endpoint.failing_since.is_none() {
            repository::mark_endpoint_failing_unless_marked(&self.db, endpoint.id, now).await?;
        }
        let limit = Duration::from_std(self.config.disable_after).unwrap_or(Duration::days(5));
        if now - since < limit {
            return Ok(());
        }
        let reason = format!(
            "disabled automatically: failing since {} (last error: {error})",
            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let txn = begin_write(&self.db).await?;
        let disabled =
            repository::disable_endpoint_if_enabled(&txn, endpoint.id, &reason, now).await?;
        let mut notified = Vec::new();
        if disabled {
            audit::record(
                &txn,
                &Caller::system(),
                None,
                AuditEntry {
                    action: "webhook.disable",
                    entity: "webhook_endpoint",
                    entity_id: Some(endpoint.id.to_string()),
                    before: Some(json!({ "enabled": true })),
                    after: Some(json!({ "enabled": false, "reason": reason })),
                },
            )
            .await?;
            let notice = Notice {
                kind: "webhook.disabled".into(),
                title: "A webhook endpoint was disabled".into(),
                body: format!(
                    "Deliveries to {} kept failing, so Iris stopped sending them: {reason}. Re-enable the endpoint once it answers again.",
                    endpoint.url
                ),
                data: json!({ "endpointId": endpoint.id }),
            };
            notified = notify_members(&txn, endpoint.organisation, true, &notice, None).await?;
            tracing::warn!(
                endpoint_id = %endpoint.id,
                owner_type = %endpoint.organisation.kind(),
                owner_id = %endpoint.organisation.id(),
                %reason,
                "webhook endpoint disabled; its owners are notified"
            );
        }
        txn.commit().await?;
        if !notified.is_empty() {
            self.notifications.announce(&notified).await;
        }
        Ok(())
    }
}

/// A transport error without the URL's query (which may hold tokens).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_jitter() {
        let base = std::time::Duration::from_secs(10);
        for (attempts, expected) in [(1, 10_000), (2, 20_000), (3, 40_000), (5, 160_000)] {
            let delay = retry_delay(base, attempts).num_milliseconds();
            assert!(
                (expected * 8 / 10..=expected * 12 / 10).contains(&delay),
                "attempt {attempts}: {delay} ms"
            );
        }
        assert_eq!(retry_delay(base, 30), MAX_RETRY_DELAY);
    }

    #[test]
    fn only_success_and_plain_client_errors_are_final() {
        for status in [200, 204, 400, 401, 404, 410, 422] {
            assert!(is_final(status), "{status}");
        }
        for status in [408, 429, 500, 502, 503, 301] {
            assert!(!is_final(status), "{status}");
        }
    }
}
