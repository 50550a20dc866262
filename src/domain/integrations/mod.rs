//! Supplier connectors ("authenticated mirror"): a restaurant connects its own account at a
//! wholesaler's portal (Martin & Servera, Menigo, …) to Iris, on explicit consent, so Iris can
//! mirror the catalog and prices that account sees, fill the wholesaler's cart for the
//! restaurant to submit, and pull its invoices into invoicing.
//!
//! Rules this context keeps:
//! - **Consent first**: nothing connects without the current [`CONSENT_TEXT`] accepted, by
//!   version; the consent is recorded with the connection and audited.
//! - **No credential kept**: the restaurant's username and password pass through memory once
//!   to open a session at the portal ([`portal::Portal::login`]); only the session's cookies
//!   are stored, sealed with AES-256-GCM under `SECRET_KEYS` (`platform::secrets`), for at
//!   most the connector's session lifetime (≤ 24 h). Expired sessions turn the connection
//!   EXPIRED and the restaurant is told to reconnect; disconnecting deletes the session at
//!   once (the audit trail stays).
//! - **A connector is configuration** ([`config`]): pages, selectors, pace and user agents per
//!   wholesaler, read over plain HTTP or a headless browser ([`browser`]); `allowed: false`
//!   stops all fetching. Read-only plus cart prefill: no order is ever submitted.
//! - **Normalized, exact, replaced atomically** ([`normalize`]): units and packs, prices as
//!   exact decimals, GTINs checked; each sync replaces the connection's catalog cache in one
//!   transaction, mapping items to the Iris products of the wholesaler where it sells on Iris.
//! - **Watched**: the DOM watcher fingerprints each configured page and checks every selector;
//!   a break marks the connector DEGRADED and tells admins.

pub mod browser;
pub mod config;
pub mod normalize;
pub mod portal;
mod repository;
mod service;

use std::{path::PathBuf, sync::LazyLock};

use chrono::{DateTime, Utc};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use portal::Credentials;
pub use service::{IntegrationDeps, IntegrationService};

/// The version of the consent text a connection must accept.
pub const CONSENT_VERSION: &str = "2026-12-07";

/// What a restaurant agrees to when it connects an account.
pub const CONSENT_TEXT: &str = "I let Iris act for my restaurant at this wholesaler, for a limited time. \
My username and password are used once, to sign in; Iris never stores them. Iris keeps only the \
resulting session (encrypted), for at most 24 hours, and pulls data only while that session lives: \
the catalog, prices and stock my account sees, and my account's invoices. Iris may fill my cart at \
the wholesaler for me to review; it never submits an order. I can disconnect at any time, which \
deletes the session at once.";

/// What a connection may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Mirror the catalog.
    Catalog,
    /// Mirror the account's prices (with the catalog).
    Prices,
    /// Fill the cart and pull invoices.
    Orders,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Catalog, Scope::Prices, Scope::Orders];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Catalog => "CATALOG",
            Scope::Prices => "PRICES",
            Scope::Orders => "ORDERS",
        }
    }

    pub fn parse(raw: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// Where a connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    Active,
    /// The session ended (its lifetime, or the portal): reconnect.
    Expired,
    /// The last connect was refused or a sync could not sign in.
    Failed,
    Disconnected,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Active => "ACTIVE",
            ConnectionStatus::Expired => "EXPIRED",
            ConnectionStatus::Failed => "FAILED",
            ConnectionStatus::Disconnected => "DISCONNECTED",
        }
    }

    pub fn parse(raw: &str) -> ConnectionStatus {
        match raw {
            "ACTIVE" => ConnectionStatus::Active,
            "EXPIRED" => ConnectionStatus::Expired,
            "FAILED" => ConnectionStatus::Failed,
            _ => ConnectionStatus::Disconnected,
        }
    }
}

/// What a connector run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunKind {
    Sync,
    Prefill,
    InvoicePull,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Sync => "SYNC",
            RunKind::Prefill => "PREFILL",
            RunKind::InvoicePull => "INVOICE_PULL",
        }
    }

    pub fn parse(raw: &str) -> RunKind {
        match raw {
            "PREFILL" => RunKind::Prefill,
            "INVOICE_PULL" => RunKind::InvoicePull,
            _ => RunKind::Sync,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Succeeded => "SUCCEEDED",
            RunStatus::Failed => "FAILED",
        }
    }

    pub fn parse(raw: &str) -> RunStatus {
        match raw {
            "RUNNING" => RunStatus::Running,
            "SUCCEEDED" => RunStatus::Succeeded,
            _ => RunStatus::Failed,
        }
    }
}

/// A restaurant's connection to a wholesaler.
#[derive(Clone, Debug)]
pub struct Connection {
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub supplier_key: String,
    pub status: ConnectionStatus,
    pub scopes: Vec<Scope>,
    pub consent_version: String,
    pub consented_at: DateTime<Utc>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_sync_status: Option<RunStatus>,
    pub last_error: Option<String>,
    pub catalog_items: i64,
    /// When the held session ends (none held: `None`).
    pub session_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Connection {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// One item of a mirrored catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogItem {
    pub id: Uuid,
    pub external_id: String,
    pub name: String,
    /// The account's price (present only with the PRICES scope and a readable price).
    pub price: Option<Decimal>,
    pub currency: String,
    /// The canonical unit (`PCS`, `KG`, `CASE`, …), or the portal's text when unknown.
    pub unit: String,
    pub pack: Option<String>,
    pub pack_quantity: Option<Decimal>,
    pub pack_unit: Option<String>,
    pub stock: Option<i64>,
    pub in_stock: Option<bool>,
    pub gtin: Option<String>,
    pub mapped_product_id: Option<Uuid>,
    pub synced_at: DateTime<Utc>,
}

/// A sync, prefill or invoice pull.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Run {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub supplier_key: String,
    pub kind: RunKind,
    pub status: RunStatus,
    pub order_id: Option<Uuid>,
    pub items: i64,
    /// Progress and outcome: pages read, items skipped, the prefill's deep link, documents.
    pub detail: serde_json::Value,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A run moved on (progress, or its end): what its live watchers receive, on every process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConnectorRunChanged(pub Run);

impl crate::infra::bus::Event for ConnectorRunChanged {
    const TOPIC: &'static str = "connector.run_changed";
}

impl Run {
    /// The cart page of a successful prefill.
    pub fn deep_link(&self) -> Option<&str> {
        self.detail["deepLink"].as_str()
    }
}

/// A configured connector and its health.
#[derive(Clone, Debug)]
pub struct Connector {
    pub key: String,
    pub name: String,
    pub driver: config::DriverKind,
    pub allowed: bool,
    pub terms: String,
    pub degraded: bool,
    /// The Iris supplier this wholesaler is, where it sells on Iris too.
    pub supplier_id: Option<Uuid>,
    pub checked_at: Option<DateTime<Utc>>,
    /// The last watch's findings: pages, fingerprints, selectors that matched nothing.
    pub findings: serde_json::Value,
}

/// What to put in a wholesaler's cart.
#[derive(Clone, Debug)]
pub enum PrefillSource {
    /// Articles of the mirrored catalog, by the portal's id, with quantities.
    Lines(Vec<(String, i64)>),
    /// An order's lines, through the items mapped to its products.
    Order(Uuid),
}

impl PrefillSource {
    /// What a prefill request names: exactly one of an order and catalog lines.
    pub fn of(
        order: Option<Uuid>,
        lines: Option<Vec<(String, i64)>>,
    ) -> Result<PrefillSource, crate::error::AppError> {
        match (order, lines) {
            (Some(order), None) => Ok(PrefillSource::Order(order)),
            (None, Some(lines)) => Ok(PrefillSource::Lines(lines)),
            _ => Err(crate::error::AppError::validation(
                "orderId",
                "give exactly one of orderId and lines",
            )),
        }
    }
}

/// A filled cart.
#[derive(Clone, Debug)]
pub struct Prefill {
    pub run: Run,
    pub deep_link: String,
    pub lines: usize,
    /// Order lines with no mirrored item (by SKU).
    pub skipped: Vec<String>,
}

/// Adoption and health of the connectors (admins).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConnectorKpis {
    pub restaurants: u64,
    pub connected_restaurants: u64,
    /// Connected restaurants over all restaurants (0–1); `None` without restaurants.
    pub connected_share: Option<f64>,
    pub syncs: u64,
    pub successful_syncs: u64,
    /// Successful syncs over finished ones in the window; `None` without syncs.
    pub sync_success_rate: Option<f64>,
    pub prefills: u64,
    pub completed_prefills: u64,
    pub prefill_completion_rate: Option<f64>,
}

/// The context's settings.
#[derive(Clone, Debug, Default)]
pub struct IntegrationsConfig {
    /// Connector configurations merged over the shipped ones (`CONNECTOR_CONFIG_DIR`).
    pub config_dir: Option<PathBuf>,
    /// The Chromium program of the browser driver (`CHROMIUM_PATH`; `chromium` on `PATH`).
    pub chromium: String,
}

/// The connector metrics, with the product spec's names (label: the connector's key, a
/// bounded set: the configured connectors).
#[derive(Clone)]
pub struct ConnectorMetrics {
    pub sync_success: IntCounterVec,
    pub sync_duration: HistogramVec,
    pub dom_failures: IntCounterVec,
    pub cart_prefill: IntCounterVec,
}

/// The process's connector metrics (request and background services share them).
pub static CONNECTOR_METRICS: LazyLock<ConnectorMetrics> =
    LazyLock::new(|| ConnectorMetrics::new().expect("valid connector metrics"));

impl ConnectorMetrics {
    fn new() -> Result<Self, prometheus::Error> {
        Ok(ConnectorMetrics {
            sync_success: IntCounterVec::new(
                Opts::new(
                    "connector_sync_success_total",
                    "Catalog syncs of supplier connections that completed, by connector",
                ),
                &["supplier"],
            )?,
            sync_duration: HistogramVec::new(
                HistogramOpts::new(
                    "connector_sync_duration_seconds",
                    "Time a catalog sync of a supplier connection took (succeeded or failed), by connector",
                )
                .buckets(vec![0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0]),
                &["supplier"],
            )?,
            dom_failures: IntCounterVec::new(
                Opts::new(
                    "connector_dom_failures_total",
                    "Configured selectors the DOM watcher found matching nothing on a portal page, by connector",
                ),
                &["supplier"],
            )?,
            cart_prefill: IntCounterVec::new(
                Opts::new(
                    "connector_cart_prefill_total",
                    "Wholesaler carts filled through a supplier connection, by connector",
                ),
                &["supplier"],
            )?,
        })
    }

    /// The collectors, for the process's registry.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.sync_success.clone()),
            Box::new(self.sync_duration.clone()),
            Box::new(self.dom_failures.clone()),
            Box::new(self.cart_prefill.clone()),
        ]
    }
}

/// What orders set off at a connected wholesaler, after the event's dispatch committed (the
/// portal is never called inside a transaction): a placed order fills the wholesaler's cart
/// (`IntegrationService::prefill_placed_order`), a delivered one pulls its invoices
/// (`IntegrationService::pull_after_delivery`).
pub struct ConnectorOrderHooks(pub IntegrationService);

#[async_trait::async_trait]
impl crate::domain::platform::outbox::OutboxHandler for ConnectorOrderHooks {
    fn name(&self) -> &'static str {
        "connector_order_hooks"
    }

    async fn handle(
        &self,
        _txn: &sea_orm::DatabaseTransaction,
        _event: &crate::domain::platform::outbox::OutboxEvent,
    ) -> Result<(), crate::error::AppError> {
        Ok(())
    }

    async fn after_commit(&self, event: &crate::domain::platform::outbox::OutboxEvent) {
        use crate::domain::platform::outbox::{DELIVERY_MARKED, ORDER_PLACED};
        let delivered = event.event_type == DELIVERY_MARKED;
        if event.event_type != ORDER_PLACED && !delivered {
            return;
        }
        let order = &event.payload["order"];
        let id = |field: &str| order[field].as_str().and_then(|s| Uuid::parse_str(s).ok());
        let (Some(order), Some(restaurant), Some(supplier)) =
            (id("id"), id("restaurantId"), id("supplierId"))
        else {
            return;
        };
        let service = self.0.clone();
        tokio::spawn(async move {
            if delivered {
                service.pull_after_delivery(restaurant, supplier).await;
            } else {
                service
                    .prefill_placed_order(order, restaurant, supplier)
                    .await;
            }
        });
    }
}
