//! Webhooks: organisations' endpoints, and the signed, retried delivery of events to them.
//!
//! Rules:
//! - An organisation's OWNERs and admins manage its endpoints: URL (http or https; no private,
//!   loopback or link-local target unless `WEBHOOK_ALLOW_PRIVATE_TARGETS`), subscribed event
//!   types (`order.placed`, `order.status_changed`, `delivery.marked`), enabled. The signing
//!   secret is shown once, at creation and at every rotation.
//! - Every outbox event of an order becomes one delivery per enabled endpoint of either party
//!   subscribed to its type (fan-out in the outbox's dispatch transaction, so exactly one
//!   delivery per endpoint and event however often the event is dispatched).
//! - Deliveries follow Standard Webhooks: `webhook-id` (the delivery id, the same on every
//!   retry), `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`; the body is
//!   `{"type", "timestamp", "data"}`.
//! - A 2xx answer delivers. Anything else is retried with exponential backoff and jitter —
//!   except a 4xx other than 408 and 429, which is final — until `WEBHOOK_MAX_ATTEMPTS`, after
//!   which the delivery is DEAD (dead-lettered; `redeliverWebhook` sends it again). An endpoint
//!   failing without a success for `WEBHOOK_DISABLE_AFTER_SECS` is disabled, audited, and its
//!   organisation's OWNERs get a notification.
//! - Requests time out, follow no redirects, and read at most `WEBHOOK_MAX_RESPONSE_BYTES` of
//!   the answer. Delivery is at least once: an attempt in flight when a process dies is
//!   retried after its lease ends.

mod delivery;
mod repository;
mod service;
pub mod signing;
pub mod targets;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::identity::Organisation;

pub use delivery::{WebhookFanout, WebhookSender};
pub use service::WebhookService;

/// How webhooks are sent (from the configuration).
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub allow_private_targets: bool,
    pub timeout: std::time::Duration,
    pub max_attempts: i32,
    /// The first retry waits about this long; each next one twice as long.
    pub retry_base: std::time::Duration,
    /// An endpoint failing this long without a success is disabled.
    pub disable_after: std::time::Duration,
    pub max_response_bytes: usize,
    /// Attempts in flight at once, per process.
    pub concurrency: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allow_private_targets: false,
            timeout: std::time::Duration::from_secs(10),
            max_attempts: 8,
            retry_base: std::time::Duration::from_secs(30),
            disable_after: std::time::Duration::from_secs(5 * 86_400),
            max_response_bytes: 64 * 1024,
            concurrency: 20,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub id: Uuid,
    pub organisation: Organisation,
    pub url: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An endpoint with its secret, right after creation or rotation.
#[derive(Clone, Debug)]
pub struct EndpointWithSecret {
    pub endpoint: Endpoint,
    pub secret: String,
}

/// Where an endpoint's sealed signing secret lives (the associated data it is sealed with).
fn secret_context(endpoint: Uuid) -> String {
    super::secrets::context("webhook_endpoints", "secret", endpoint)
}

/// An endpoint as stored: with its sealed signing secret, and whether it is deleted.
struct StoredEndpoint {
    endpoint: Endpoint,
    sealed_secret: String,
    deleted: bool,
}

#[derive(Clone, Debug)]
pub struct NewEndpoint {
    pub organisation: Organisation,
    pub url: String,
    pub event_types: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "PENDING",
            DeliveryStatus::Succeeded => "SUCCEEDED",
            DeliveryStatus::Dead => "DEAD",
        }
    }

    pub fn parse(raw: &str) -> DeliveryStatus {
        match raw {
            "SUCCEEDED" => DeliveryStatus::Succeeded,
            "DEAD" => DeliveryStatus::Dead,
            _ => DeliveryStatus::Pending,
        }
    }
}

/// One event for one endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A delivery with the claim of the attempt in flight, if any: only the claim's holder may
/// record the attempt's outcome.
struct DeliveryWithClaim {
    delivery: Delivery,
    claim_id: Option<Uuid>,
}

/// One HTTP attempt at a delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
}
