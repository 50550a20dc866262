//! Webhooks over GraphQL: `webhookEndpoints`, `webhookDeliveries`, `createWebhookEndpoint`,
//! `updateWebhookEndpoint`, `rotateWebhookSecret`, `deleteWebhookEndpoint`, `redeliverWebhook`.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    caller,
    common::parse_id,
    identity::{OrganisationType, organisation},
    services,
};
use crate::domain::{
    identity::Organisation,
    platform::webhooks::{
        self as domain, Attempt, Delivery, Endpoint, EndpointChanges, NewEndpoint,
    },
};

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Given up (attempts exhausted or a final 4xx); `redeliverWebhook` sends it again.
    Dead,
}

/// Where an organisation wants events sent.
pub struct WebhookEndpointObject(Endpoint);

/// Where an organisation wants events sent.
#[Object(name = "WebhookEndpoint")]
impl WebhookEndpointObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Supplier or restaurant.
    async fn organisation_type(&self) -> OrganisationType {
        match self.0.organisation {
            Organisation::Supplier(_) => OrganisationType::Supplier,
            Organisation::Restaurant(_) => OrganisationType::Restaurant,
        }
    }
    /// The organisation's id.
    async fn organisation_id(&self) -> ID {
        ID(self.0.organisation.id().to_string())
    }
    /// Where deliveries are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Subscribed event types: `order.placed`, `order.status_changed`, `delivery.marked`.
    async fn event_types(&self) -> &[String] {
        &self.0.event_types
    }
    /// Whether deliveries are sent.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Since when deliveries fail without a success in between (UTC).
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }
    /// Why Iris disabled it, if it did.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    /// When it was registered (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One HTTP attempt at a delivery.
#[derive(SimpleObject)]
#[graphql(name = "WebhookAttempt")]
pub struct WebhookAttemptObject {
    /// When (UTC).
    attempted_at: DateTime<Utc>,
    /// The HTTP status answered, if any.
    status_code: Option<i32>,
    /// Why there was no answer (timeout, refused target, …).
    error: Option<String>,
    /// How long it took, in milliseconds.
    duration_ms: i64,
}

impl From<Attempt> for WebhookAttemptObject {
    fn from(a: Attempt) -> Self {
        WebhookAttemptObject {
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            error: a.error,
            duration_ms: a.duration_ms,
        }
    }
}

/// One event for one endpoint.
#[derive(SimpleObject)]
#[graphql(name = "WebhookDelivery")]
pub struct WebhookDeliveryObject {
    /// Unique identifier, sent as the `webhook-id` header (the same on every retry).
    id: ID,
    /// The endpoint.
    endpoint_id: ID,
    /// The event (several endpoints share it).
    event_id: ID,
    /// The event type.
    event_type: String,
    /// The body sent: `{type, timestamp, data}`.
    payload: Json<serde_json::Value>,
    /// Where it stands.
    status: WebhookDeliveryStatus,
    /// Attempts so far.
    attempt_count: i32,
    /// When the next attempt is due (UTC).
    next_attempt_at: Option<DateTime<Utc>>,
    /// The last HTTP status answered.
    last_status_code: Option<i32>,
    /// The last failure.
    last_error: Option<String>,
    /// When it was created (UTC).
    created_at: DateTime<Utc>,
    /// When the endpoint accepted it (UTC).
    delivered_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    attempts: Vec<WebhookAttemptObject>,
}

fn delivery_object(d: Delivery, attempts: Vec<Attempt>) -> WebhookDeliveryObject {
    WebhookDeliveryObject {
        id: ID(d.id.to_string()),
        endpoint_id: ID(d.endpoint_id.to_string()),
        event_id: ID(d.event_id.to_string()),
        event_type: d.event_type,
        payload: Json(d.payload),
        status: d.status.into(),
        attempt_count: d.attempts,
        next_attempt_at: d.next_attempt_at,
        last_status_code: d.last_status_code,
        last_error: d.last_error,
        created_at: d.created_at,
        delivered_at: d.delivered_at,
        attempts: attempts.into_iter().map(Into::into).collect(),
    }
}

/// A new endpoint.
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// Supplier or restaurant.
    organisation_type: OrganisationType,
    /// The organisation (its owners and admins may).
    organisation_id: ID,
    /// http(s) URL; private, loopback and link-local targets are refused.
    url: String,
    /// At least one of `order.placed`, `order.status_changed`, `delivery.marked`.
    event_types: Vec<String>,
}

/// Changes to an endpoint; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    /// The endpoint.
    id: ID,
    /// New URL.
    url: Option<String>,
    /// New event types.
    event_types: Option<Vec<String>>,
    /// Enable (clearing its failure record) or disable it.
    enabled: Option<bool>,
}

/// An endpoint, by id.
#[derive(InputObject)]
pub struct WebhookEndpointIdInput {
    /// The endpoint.
    id: ID,
}

/// A delivery to send again.
#[derive(InputObject)]
pub struct RedeliverWebhookInput {
    /// The delivery.
    delivery_id: ID,
}

/// An endpoint with its signing secret — shown this once.
#[derive(SimpleObject)]
pub struct WebhookEndpointSecretPayload {
    /// The endpoint.
    endpoint: WebhookEndpointObject,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks). Not shown again.
    secret: String,
}

/// Result of `updateWebhookEndpoint`.
#[derive(SimpleObject)]
pub struct WebhookEndpointPayload {
    /// The endpoint after the change.
    endpoint: WebhookEndpointObject,
}

/// Result of `deleteWebhookEndpoint`.
#[derive(SimpleObject)]
pub struct DeleteWebhookEndpointPayload {
    /// Id of the deleted endpoint.
    deleted_endpoint_id: ID,
}

/// Result of `redeliverWebhook`.
#[derive(SimpleObject)]
pub struct RedeliverWebhookPayload {
    /// The delivery, pending again.
    delivery: WebhookDeliveryObject,
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Endpoints the caller manages (its organisations' as OWNER; all for admins), optionally
    /// of one organisation.
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this kind of organisation (with organisationId).")]
        organisation_type: Option<OrganisationType>,
        #[graphql(desc = "Only this organisation.")] organisation_id: Option<ID>,
    ) -> async_graphql::Result<Vec<WebhookEndpointObject>> {
        let only = match (organisation_type, organisation_id) {
            (Some(kind), Some(id)) => Some(organisation(kind, &id)?),
            (None, None) => None,
            _ => {
                return Err(crate::error::AppError::validation(
                    "organisationId",
                    "give organisationType and organisationId together",
                )
                .into());
            }
        };
        let endpoints = services(ctx)?.webhooks.list(caller(ctx), only).await?;
        Ok(endpoints.into_iter().map(WebhookEndpointObject).collect())
    }

    /// An endpoint's latest deliveries with their attempts, newest first.
    #[graphql(complexity = "crate::graphql::cost::list(first, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] endpoint_id: ID,
        #[graphql(desc = "Only deliveries in this status.")] status: Option<WebhookDeliveryStatus>,
        #[graphql(default = 20, desc = "How many, 1–100.")] first: i32,
    ) -> async_graphql::Result<Vec<WebhookDeliveryObject>> {
        if !(1..=100).contains(&first) {
            return Err(
                crate::error::AppError::validation("first", "must be between 1 and 100").into(),
            );
        }
        let endpoint = parse_id("endpointId", &endpoint_id)?;
        let service = &services(ctx)?.webhooks;
        let deliveries = service
            .deliveries(caller(ctx), endpoint, status.map(Into::into), first as u64)
            .await?;
        let ids: Vec<uuid::Uuid> = deliveries.iter().map(|d| d.id).collect();
        let mut attempts = service.attempts_of(&ids).await?;
        Ok(deliveries
            .into_iter()
            .map(|d| {
                let tried = attempts.remove(&d.id).unwrap_or_default();
                delivery_object(d, tried)
            })
            .collect())
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint (the organisation's owners and admins); the secret is in the
    /// payload, this once.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointSecretPayload> {
        let created = services(ctx)?
            .webhooks
            .create(
                caller(ctx),
                NewEndpoint {
                    organisation: organisation(input.organisation_type, &input.organisation_id)?,
                    url: input.url,
                    event_types: input.event_types,
                },
            )
            .await?;
        Ok(WebhookEndpointSecretPayload {
            endpoint: WebhookEndpointObject(created.endpoint),
            secret: created.secret,
        })
    }

    /// Changes an endpoint's URL, event types or enabled flag.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointPayload> {
        let id = parse_id("id", &input.id)?;
        let endpoint = services(ctx)?
            .webhooks
            .update(
                caller(ctx),
                id,
                EndpointChanges {
                    url: input.url,
                    event_types: input.event_types,
                    enabled: input.enabled,
                },
            )
            .await?;
        Ok(WebhookEndpointPayload {
            endpoint: WebhookEndpointObject(endpoint),
        })
    }

    /// Replaces an endpoint's signing secret at once; the new one is in the payload, this once.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointIdInput,
    ) -> async_graphql::Result<WebhookEndpointSecretPayload> {
        let id = parse_id("id", &input.id)?;
        let rotated = services(ctx)?
            .webhooks
            .rotate_secret(caller(ctx), id)
            .await?;
        Ok(WebhookEndpointSecretPayload {
            endpoint: WebhookEndpointObject(rotated.endpoint),
            secret: rotated.secret,
        })
    }

    /// Removes an endpoint.
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointIdInput,
    ) -> async_graphql::Result<DeleteWebhookEndpointPayload> {
        let id = parse_id("id", &input.id)?;
        services(ctx)?.webhooks.delete(caller(ctx), id).await?;
        Ok(DeleteWebhookEndpointPayload {
            deleted_endpoint_id: input.id,
        })
    }

    /// Sends a delivery again, with a fresh set of attempts (the same `webhook-id`).
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        input: RedeliverWebhookInput,
    ) -> async_graphql::Result<RedeliverWebhookPayload> {
        let id = parse_id("deliveryId", &input.delivery_id)?;
        let delivery = services(ctx)?.webhooks.redeliver(caller(ctx), id).await?;
        Ok(RedeliverWebhookPayload {
            delivery: delivery_object(delivery, Vec::new()),
        })
    }
}
