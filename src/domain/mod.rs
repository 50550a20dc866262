//! Business rules, one module per bounded context. Services own validation, transactions,
//! authorization decisions (they take the caller's `Principal`) and the events they publish.
//!
//! Must not import `graphql`, `rest`, axum or async-graphql: adapters call in, never the reverse.

pub mod audit;
pub mod documents;
pub mod identity;
pub mod jobs;
pub mod money;
pub mod notifications;
pub mod ordering;
pub mod outbox;
pub mod pagination;
pub mod performance;
pub mod privacy;
pub mod products;
pub mod restaurants;
pub mod suppliers;
pub mod validation;
pub mod webhooks;
pub mod weekday;

use crate::infra::db::Db;
use std::sync::Arc;

use crate::{
    auth::tokens::TokenIssuer,
    config::AuthConfig,
    infra::{bus::EventBus, ratelimit::RateLimiter},
};

/// Every domain service, built once per process and shared by all adapters.
#[derive(Clone)]
pub struct Services {
    pub identity: identity::IdentityService,
    pub audit: audit::AuditService,
    pub suppliers: suppliers::SupplierService,
    pub restaurants: restaurants::RestaurantService,
    pub products: products::ProductService,
    pub carts: ordering::CartService,
    pub jobs: jobs::JobService,
    pub outbox: outbox::OutboxService,
    pub notifications: notifications::NotificationService,
    pub performance: performance::PerformanceService,
    pub privacy: privacy::PrivacyService,
    pub webhooks: webhooks::WebhookService,
    pub webhook_sender: webhooks::WebhookSender,
    pub orders: ordering::OrderService,
    /// Trusted GraphQL documents (`iris documents push`).
    pub documents: documents::TrustedDocuments,
}

impl Services {
    pub fn new(
        db: Db,
        bus: EventBus,
        auth: &AuthConfig,
        webhooks: &webhooks::WebhookConfig,
        retention: &privacy::RetentionPolicy,
        limiter: RateLimiter,
    ) -> anyhow::Result<Self> {
        let tokens = Arc::new(TokenIssuer::new(
            &auth.app_secret,
            auth.access_ttl,
            auth.refresh_ttl,
        ));
        let notifications = notifications::NotificationService::new(
            db.clone(),
            bus.clone(),
            Arc::new(notifications::LoggingPush),
        );
        let handlers: Vec<Arc<dyn outbox::OutboxHandler>> = vec![
            Arc::new(webhooks::WebhookFanout),
            Arc::new(notifications::NotificationFanout(notifications.clone())),
            Arc::new(performance::PerformanceUpdater),
        ];
        Ok(Self {
            notifications: notifications.clone(),
            performance: performance::PerformanceService::new(db.clone()),
            privacy: privacy::PrivacyService::new(db.clone(), retention.clone()),
            outbox: outbox::OutboxService::new(db.clone(), handlers),
            webhooks: webhooks::WebhookService::new(db.clone(), webhooks.clone()),
            webhook_sender: webhooks::WebhookSender::new(
                db.clone(),
                webhooks.clone(),
                notifications.clone(),
            )?,
            identity: identity::IdentityService::new(db.clone(), tokens, auth, limiter),
            audit: audit::AuditService::new(db.clone()),
            suppliers: suppliers::SupplierService::new(db.clone(), bus.clone()),
            restaurants: restaurants::RestaurantService::new(db.clone()),
            products: products::ProductService::new(db.clone()),
            carts: ordering::CartService::new(db.clone()),
            jobs: jobs::JobService::new(db.clone()),
            documents: documents::TrustedDocuments::new(db.clone()),
            orders: ordering::OrderService::new(db, bus),
        })
    }
}
