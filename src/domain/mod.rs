//! Business rules. Three kinds of rooms:
//!
//! - **[`kernel`]** — the shared vocabulary every context speaks: money, paging, text and
//!   input validation, weekdays. Pure: no I/O, no database, no clock of its own.
//! - **Business contexts** — one folder each, in one pattern: `mod.rs` holds the context's
//!   types and rules (and says them in its doc), `service.rs` its service (rules that need
//!   I/O, transactions, authorization — services take the caller's `Principal`),
//!   `repository.rs` all of its SQL. A context reaches another only through that context's
//!   service or the functions its `mod.rs` exports, never its repository.
//!   - [`identity`] — accounts, sign-in, tokens, memberships;
//!   - [`suppliers`], [`restaurants`] — the two kinds of organisation;
//!   - [`catalog`] — products and search;
//!   - [`ordering`] — carts, checkout, orders, idempotency, totals, live status;
//!   - [`inventory`] — restaurants' items and their movement ledger (on-hand as of any date);
//!   - [`planning`] — demand forecasts, reorder policies and suggestions;
//!   - [`invoicing`] — suppliers' invoices: upload, extraction, reconciliation, disputes;
//!   - [`analytics`] — spend, sales, price variance, cover, stock-outs, forecast accuracy;
//!   - [`performance`] — supplier metrics from order history;
//!   - [`pricing`] — price lists, customer groups, dynamic rules, price history,
//!     recommendations;
//!   - [`integrations`] — supplier connectors: consented sessions at wholesalers' portals,
//!     mirrored catalogs, cart prefill, invoice pull, the DOM watch;
//!   - [`ingest`] — catalog ingest (in progress: the reading kernel — file dialects, header
//!     and value synonyms, rows into products with per-row errors).
//! - **[`platform`]** — services every context uses: audit, outbox, notifications, webhooks,
//!   job runs, privacy (erasure, retention), secrets at rest, trusted documents.
//!
//! [`repository`] holds what every repository shares (paging a query).
//!
//! A new context (inventory, invoicing, pricing, …) is a new folder in the context pattern,
//! added by the work that builds it, and a field of [`Services`].
//!
//! Must not import `graphql`, `rest`, `jobs`, `web`, `app` or `config`, nor axum or
//! async-graphql: adapters call in, never the reverse, and settings arrive as the types the
//! domain defines (`identity::AuthConfig`, `platform::webhooks::WebhookConfig`,
//! `platform::privacy::RetentionPolicy`). `tests/architecture.rs` checks it.

pub mod kernel;
pub mod platform;
pub mod repository;

pub mod analytics;
pub mod catalog;
pub mod identity;
pub mod ingest;
pub mod integrations;
pub mod inventory;
pub mod invoicing;
pub mod ordering;
pub mod performance;
pub mod planning;
pub mod pricing;
pub mod restaurants;
pub mod suppliers;

use std::sync::Arc;

use crate::{
    auth::tokens::TokenIssuer,
    infra::{bus::EventBus, db::Db, ratelimit::RateLimiter},
};
use platform::{
    audit, job_runs, notifications, outbox, privacy, secrets, trusted_documents, webhooks,
};

/// The settings the services are built with (the types the domain defines; `config` fills
/// them).
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    pub auth: &'a identity::AuthConfig,
    pub webhooks: &'a webhooks::WebhookConfig,
    pub retention: &'a privacy::RetentionPolicy,
    pub weather: &'a planning::weather::WeatherConfig,
    pub storage: &'a platform::storage::StorageConfig,
    pub invoicing: &'a invoicing::ExtractionConfig,
    pub pricing: &'a pricing::PricingConfig,
    pub integrations: &'a integrations::IntegrationsConfig,
}

/// Every domain service, built once per process and shared by all adapters. A clone is one
/// reference count: requests, websocket connections and their loaders hold it by the
/// thousand.
#[derive(Clone)]
pub struct Services(Arc<ServiceSet>);

impl std::ops::Deref for Services {
    type Target = ServiceSet;

    fn deref(&self) -> &ServiceSet {
        &self.0
    }
}

/// The services [`Services`] shares.
pub struct ServiceSet {
    pub identity: identity::IdentityService,
    pub audit: audit::AuditService,
    pub suppliers: suppliers::SupplierService,
    pub restaurants: restaurants::RestaurantService,
    pub products: catalog::ProductService,
    pub carts: ordering::CartService,
    pub job_runs: job_runs::JobRunService,
    pub outbox: outbox::OutboxService,
    pub notifications: notifications::NotificationService,
    pub performance: performance::PerformanceService,
    pub privacy: privacy::PrivacyService,
    pub webhooks: webhooks::WebhookService,
    pub webhook_sender: webhooks::WebhookSender,
    /// Re-sealing of stored secrets (`iris secrets rotate`).
    pub secrets: secrets::SecretService,
    pub orders: ordering::OrderService,
    pub inventory: inventory::InventoryService,
    pub planning: planning::PlanningService,
    pub analytics: analytics::AnalyticsService,
    pub invoices: invoicing::InvoiceService,
    pub pricing: pricing::PricingService,
    /// Supplier connectors: consented portal sessions, mirrored catalogs, carts, invoices.
    pub integrations: integrations::IntegrationService,
    /// Stored documents (invoices, uploads): the local file system or S3.
    pub storage: platform::storage::DocumentStore,
    /// Trusted GraphQL documents (`iris documents push`).
    pub documents: trusted_documents::TrustedDocuments,
}

impl Services {
    pub fn new(
        db: Db,
        bus: EventBus,
        settings: Settings<'_>,
        keys: Arc<dyn secrets::KeyProvider>,
        limiter: RateLimiter,
    ) -> anyhow::Result<Self> {
        let Settings {
            auth,
            webhooks,
            retention,
            weather,
            storage,
            invoicing,
            pricing: pricing_config,
            integrations: integrations_config,
        } = settings;
        let sealer = secrets::Sealer::new(keys);
        let tokens = Arc::new(TokenIssuer::new(
            &auth.app_secret,
            auth.access_ttl,
            auth.refresh_ttl,
        ));
        let callers = identity::CallerCache::new(bus.clone(), auth.caller_cache_ttl, 100_000);
        let sessions = identity::Sessions::new(db.clone(), bus.clone(), auth.access_ttl);
        let notifications = notifications::NotificationService::new(
            db.clone(),
            bus.clone(),
            Arc::new(notifications::LoggingPush),
        );
        let products = catalog::ProductService::new(db.clone());
        let carts = ordering::CartService::new(db.clone());
        let inventory = inventory::InventoryService::new(db.clone());
        let suppliers = suppliers::SupplierService::new(db.clone(), bus.clone(), callers.clone());
        let restaurants = restaurants::RestaurantService::new(db.clone(), callers.clone());
        let planning = planning::PlanningService::new(
            db.clone(),
            planning::PlanningDeps {
                inventory: inventory.clone(),
                products: products.clone(),
                suppliers: suppliers.clone(),
                restaurants: restaurants.clone(),
                carts: carts.clone(),
            },
            weather,
        )?;
        let storage = platform::storage::DocumentStore::open(storage)?;
        let orders = ordering::OrderService::new(db.clone(), bus.clone());
        let invoices = invoicing::InvoiceService::new(
            db.clone(),
            invoicing::InvoiceDeps {
                orders: orders.clone(),
                suppliers: suppliers.clone(),
                restaurants: restaurants.clone(),
                storage: storage.clone(),
                waker: outbox::OutboxWaker::new(bus.clone()),
                ocr: Arc::new(invoicing::ocr::TesseractOcr::new(invoicing.ocr.clone())),
            },
            invoicing.concurrency,
        );
        let performance = performance::PerformanceService::new(db.clone(), invoices.clone());
        let pricing = pricing::PricingService::new(
            db.clone(),
            pricing::PricingDeps {
                planning: planning.clone(),
                performance: performance.clone(),
                waker: outbox::OutboxWaker::new(bus.clone()),
                weights: pricing_config.weights,
            },
        );
        let integrations = integrations::IntegrationService::new(
            db.clone(),
            integrations::IntegrationDeps {
                products: products.clone(),
                orders: orders.clone(),
                invoices: invoices.clone(),
                restaurants: restaurants.clone(),
                suppliers: suppliers.clone(),
                storage: storage.clone(),
                notifications: notifications.clone(),
                bus: bus.clone(),
                limiter: limiter.clone(),
            },
            sealer.clone(),
            integrations_config,
        )?;
        let handlers: Vec<Arc<dyn outbox::OutboxHandler>> = vec![
            Arc::new(webhooks::WebhookFanout),
            Arc::new(notifications::NotificationFanout(notifications.clone())),
            Arc::new(performance::PerformanceUpdater),
            Arc::new(planning::ForecastStaleMarker),
            Arc::new(integrations::ConnectorOrderHooks(integrations.clone())),
        ];
        Ok(Self(Arc::new(ServiceSet {
            pricing,
            integrations,
            invoices: invoices.clone(),
            storage,
            notifications: notifications.clone(),
            performance,
            privacy: privacy::PrivacyService::new(db.clone(), retention.clone(), callers.clone()),
            outbox: outbox::OutboxService::new(db.clone(), handlers),
            webhooks: webhooks::WebhookService::new(db.clone(), webhooks.clone(), sealer.clone()),
            webhook_sender: webhooks::WebhookSender::new(
                db.clone(),
                webhooks.clone(),
                notifications.clone(),
                sealer.clone(),
            )?,
            secrets: secrets::SecretService::new(db.clone(), sealer),
            identity: identity::IdentityService::new(
                db.clone(),
                tokens,
                auth,
                limiter,
                callers.clone(),
                sessions,
                outbox::OutboxWaker::new(bus.clone()),
            ),
            audit: audit::AuditService::new(db.clone()),
            suppliers: suppliers.clone(),
            restaurants: restaurants.clone(),
            products: products.clone(),
            carts: carts.clone(),
            job_runs: job_runs::JobRunService::new(db.clone()),
            documents: trusted_documents::TrustedDocuments::new(db.clone()),
            inventory: inventory.clone(),
            planning: planning.clone(),
            analytics: analytics::AnalyticsService::new(
                db.clone(),
                inventory.clone(),
                planning,
                products.clone(),
            ),
            orders,
        })))
    }
}
