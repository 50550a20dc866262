//! The integrations service: connecting (consent, sign-in, the sealed session), syncing the
//! mirrored catalog, filling carts, pulling invoices, expiring sessions, watching the portals'
//! structure, and the adoption figures.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
    time::Instant,
};

use chrono::{DateTime, Duration, Utc};
use entity::{supplier_catalog_cache as cache, supplier_connections, supplier_session_secrets};
use sea_orm::ActiveValue::Set;
use serde_json::json;
use uuid::Uuid;

use super::{
    CONNECTOR_METRICS, CONSENT_VERSION, CatalogItem, Connection, ConnectionStatus, Connector,
    ConnectorKpis, ConnectorRunChanged, IntegrationsConfig, Prefill, PrefillSource, Run, RunKind,
    RunStatus, Scope,
    config::{self, ConnectorConfig},
    normalize,
    portal::{Credentials, Portal, PortalError, PortalSession, RawItem, check_page},
    repository,
};
use crate::{
    auth::{Caller, Principal},
    domain::{
        catalog::ProductService,
        identity::Organisation,
        invoicing::{InvoiceService, NewInvoice},
        kernel::{
            money,
            pagination::{Page, PageRequest},
            validation,
        },
        ordering::OrderService,
        platform::{
            audit::{self, AuditEntry},
            notifications::{Notice, NotificationService, notify_admins, notify_members},
            secrets::{Sealer, context},
            storage::DocumentStore,
        },
        restaurants::RestaurantService,
        suppliers::SupplierService,
    },
    error::AppError,
    infra::{
        bus::EventBus,
        db::{Db, begin_write},
        ratelimit::{Limit, RateLimiter},
    },
};
use futures_util::{Stream, StreamExt as _};

/// What the service needs of other contexts.
#[derive(Clone)]
pub struct IntegrationDeps {
    pub products: ProductService,
    pub orders: OrderService,
    pub invoices: InvoiceService,
    pub restaurants: RestaurantService,
    pub suppliers: SupplierService,
    pub storage: DocumentStore,
    pub notifications: NotificationService,
    /// Runs' progress, live.
    pub bus: EventBus,
    /// Budgets connect attempts (the wholesaler's sign-in is not Iris's to hammer).
    pub limiter: RateLimiter,
}

/// A run still RUNNING after this long died with its process.
const STALE_RUN_HOURS: i64 = 2;
/// Lines one prefill may carry.
const MAX_PREFILL_LINES: usize = 500;
/// Invoices one pull fetches (the next pull takes the rest): a pull runs within a request.
const MAX_PULLED_INVOICES: usize = 10;
/// The KPIs' window.
const KPI_DAYS: i64 = 30;
/// Sign-in attempts at one wholesaler for one restaurant: a few mistyped passwords pass, trying
/// passwords through Iris does not.
const CONNECT_ATTEMPTS: Limit = Limit {
    max: 10,
    window: std::time::Duration::from_secs(3600),
};

#[derive(Clone)]
pub struct IntegrationService {
    db: Db,
    deps: IntegrationDeps,
    sealer: Sealer,
    configs: Arc<BTreeMap<String, Arc<ConnectorConfig>>>,
    chromium: String,
}

/// What a sync read.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncProgress {
    pub pages: u32,
    pub items: u64,
    pub skipped: u64,
}

/// What the nightly sync did.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncAllOutcome {
    pub connections: u64,
    pub synced: u64,
    pub failed: u64,
    pub expired: u64,
    pub invoices: u64,
}

fn secret_context(id: Uuid) -> String {
    context("supplier_session_secrets", "token", id)
}

fn portal_error(config: &ConnectorConfig, error: PortalError) -> AppError {
    match error {
        PortalError::AuthRefused => AppError::ConnectorAuthFailed(format!(
            "{} refused the credentials; check the username and password of the account there",
            config.name
        )),
        PortalError::SessionEnded => AppError::ConnectorAuthFailed(format!(
            "{} no longer accepts the session; connect again",
            config.name
        )),
        PortalError::NotAllowed => AppError::Conflict(format!(
            "the {} connector is switched off: its portal's terms do not allow the mirror",
            config.name
        )),
        PortalError::Unreachable(m) | PortalError::Unexpected(m) => {
            AppError::Unavailable(format!("{}: {m}", config.name))
        }
    }
}

impl IntegrationService {
    pub fn new(
        db: Db,
        deps: IntegrationDeps,
        sealer: Sealer,
        settings: &IntegrationsConfig,
    ) -> anyhow::Result<Self> {
        let configs = config::load(settings.config_dir.as_deref())
            .map_err(|e| anyhow::anyhow!("connector configuration: {e}"))?;
        Ok(Self {
            db,
            deps,
            sealer,
            configs: Arc::new(configs.into_iter().map(|(k, v)| (k, Arc::new(v))).collect()),
            chromium: if settings.chromium.is_empty() {
                "chromium".into()
            } else {
                settings.chromium.clone()
            },
        })
    }

    fn config(&self, key: &str) -> Result<Arc<ConnectorConfig>, AppError> {
        self.configs
            .get(key)
            .cloned()
            .ok_or_else(|| AppError::not_found("Connector", key))
    }

    fn portal(&self, config: &Arc<ConnectorConfig>) -> Result<Portal, AppError> {
        Portal::new(config.clone(), &self.chromium).map_err(|e| portal_error(config, e))
    }

    /// Restaurant members and admins manage a restaurant's connections.
    async fn authorize(&self, caller: &Caller, restaurant: Uuid) -> Result<(), AppError> {
        let p = &caller.principal;
        if matches!(p, Principal::Anonymous) {
            return Err(AppError::Unauthenticated(
                "sign in to manage supplier connections".into(),
            ));
        }
        if p.restaurant_role(restaurant).is_some() {
            return Ok(());
        }
        if p.is_admin() {
            return if self
                .deps
                .restaurants
                .by_ids(&[restaurant])
                .await?
                .is_empty()
            {
                Err(AppError::not_found("Restaurant", restaurant))
            } else {
                Ok(())
            };
        }
        Err(AppError::Forbidden(
            "only the restaurant's members (and admins) manage its supplier connections".into(),
        ))
    }

    fn admin_only(caller: &Caller) -> Result<(), AppError> {
        match &caller.principal {
            Principal::Anonymous => Err(AppError::Unauthenticated("sign in as an admin".into())),
            p if p.is_admin() => Ok(()),
            _ => Err(AppError::Forbidden("admins only".into())),
        }
    }

    async fn with_session(
        &self,
        rows: Vec<supplier_connections::Model>,
    ) -> Result<Vec<Connection>, AppError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let sessions: HashMap<Uuid, DateTime<Utc>> = repository::sessions_of(&self.db, &ids)
            .await?
            .into_iter()
            .map(|s| (s.connection_id, s.expires_at))
            .collect();
        Ok(rows
            .into_iter()
            .map(|r| {
                let expires = sessions.get(&r.id).copied();
                repository::connection_to_domain(r, expires)
            })
            .collect())
    }

    async fn connection_of(&self, restaurant: Uuid, key: &str) -> Result<Connection, AppError> {
        let row = repository::find_connection(&self.db, restaurant, key)
            .await?
            .ok_or_else(|| AppError::not_found("Supplier connection", key))?;
        Ok(self.with_session(vec![row]).await?.remove(0))
    }

    /// The configured connectors and their health (any signed-in account).
    pub async fn connectors(&self, caller: &Caller) -> Result<Vec<Connector>, AppError> {
        if matches!(caller.principal, Principal::Anonymous) {
            return Err(AppError::Unauthenticated(
                "sign in to list connectors".into(),
            ));
        }
        let states: HashMap<String, entity::connector_states::Model> = repository::states(&self.db)
            .await?
            .into_iter()
            .map(|s| (s.supplier_key.clone(), s))
            .collect();
        Ok(self
            .configs
            .values()
            .map(|c| {
                let state = states.get(&c.key);
                Connector {
                    key: c.key.clone(),
                    name: c.name.clone(),
                    driver: c.driver,
                    allowed: c.allowed,
                    terms: c.terms.clone(),
                    degraded: state.is_some_and(|s| s.status == "DEGRADED"),
                    supplier_id: state.and_then(|s| s.supplier_id),
                    checked_at: state.and_then(|s| s.checked_at),
                    // What the watcher saw (error texts, hosts) is for operators.
                    findings: state
                        .filter(|_| caller.principal.is_admin())
                        .map(|s| s.failures.clone())
                        .unwrap_or(json!({})),
                }
            })
            .collect())
    }

    /// Says which Iris supplier a wholesaler is (admins; audited): its mirrored items map to
    /// that supplier's products, and pulled invoices go into invoicing between the two.
    pub async fn link_supplier(
        &self,
        caller: &Caller,
        key: &str,
        supplier: Option<Uuid>,
    ) -> Result<Connector, AppError> {
        Self::admin_only(caller)?;
        self.config(key)?;
        if let Some(supplier) = supplier
            && self.deps.suppliers.by_ids(&[supplier]).await?.is_empty()
        {
            return Err(AppError::validation("supplierId", "no such supplier"));
        }
        let txn = begin_write(&self.db).await?;
        let existing = repository::state(&txn, key).await?;
        let before = existing.as_ref().and_then(|s| s.supplier_id);
        repository::save_state(
            &txn,
            existing,
            key,
            |s| s.supplier_id = Set(supplier),
            Utc::now(),
        )
        .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "connector.link_supplier",
                entity: "connector",
                entity_id: Some(key.to_owned()),
                before: Some(json!({ "supplierId": before })),
                after: Some(json!({ "supplierId": supplier })),
            },
        )
        .await?;
        txn.commit().await?;
        self.connectors(caller)
            .await?
            .into_iter()
            .find(|c| c.key == key)
            .ok_or_else(|| AppError::not_found("Connector", key))
    }

    /// A restaurant's connections.
    pub async fn connections(
        &self,
        caller: &Caller,
        restaurant: Uuid,
    ) -> Result<Vec<Connection>, AppError> {
        self.authorize(caller, restaurant).await?;
        let rows = repository::connections_of(&self.db, restaurant).await?;
        self.with_session(rows).await
    }

    /// One connection's status.
    pub async fn status(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        key: &str,
    ) -> Result<Connection, AppError> {
        self.authorize(caller, restaurant).await?;
        self.config(key)?;
        self.connection_of(restaurant, key).await
    }

    /// Connects the restaurant's account at the wholesaler: checks the consent, signs in once
    /// with the credentials, keeps only the sealed session. A refused sign-in marks the
    /// connection FAILED and answers CONNECTOR_AUTH_FAILED.
    #[tracing::instrument(skip(self, caller, credentials), fields(%restaurant, key))]
    #[allow(clippy::too_many_arguments)] // One connect: who, where, and what was agreed.
    pub async fn connect(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        key: &str,
        credentials: Credentials,
        consent_accepted: bool,
        consent_version: &str,
        scopes: &[Scope],
    ) -> Result<Connection, AppError> {
        self.authorize(caller, restaurant).await?;
        let config = self.config(key)?;
        let mut v = validation::Violations::default();
        if !consent_accepted {
            v.check::<()>(
                "consent.accepted",
                Err(
                    "must be true: the restaurant accepts the consent text before connecting"
                        .into(),
                ),
            );
        }
        if consent_version != CONSENT_VERSION {
            v.check::<()>(
                "consent.version",
                Err(format!(
                    "must be the current consent text's version, {CONSENT_VERSION} (read it from supplierConsent)"
                )),
            );
        }
        if scopes.is_empty() {
            v.check::<()>(
                "scopes",
                Err("must hold at least one of CATALOG, PRICES, ORDERS".into()),
            );
        }
        let secret_text = |raw: &str| -> Result<(), String> {
            if raw.is_empty() || raw.chars().count() > 256 {
                return Err("must be 1–256 characters".into());
            }
            if raw.chars().any(char::is_control) {
                return Err("must not contain control characters".into());
            }
            Ok(())
        };
        v.check("credentials.username", secret_text(&credentials.username));
        v.check("credentials.password", secret_text(&credentials.password));
        v.finish()?;
        let portal = self.portal(&config)?;
        self.deps
            .limiter
            .check(
                &format!("connector-connect:{restaurant}:{key}"),
                CONNECT_ATTEMPTS,
            )
            .await?;
        let mut scopes: Vec<Scope> = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let scopes_text = scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let login = portal
            .login(&credentials)
            .await
            .map_err(|e| portal_error(&config, e));
        drop(credentials);
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        let existing = repository::find_connection(&txn, restaurant, key).await?;
        // A refused attempt does not end a working connection: it is only recorded.
        if let Some(active) = existing
            .as_ref()
            .filter(|c| c.status == ConnectionStatus::Active.as_str())
            && let Err(refused) = login
        {
            audit::record(
                &txn,
                caller,
                None,
                AuditEntry {
                    action: "connector.connect_failed",
                    entity: "supplier_connection",
                    entity_id: Some(active.id.to_string()),
                    before: Some(json!({ "status": active.status })),
                    after: Some(json!({ "status": active.status, "error": refused.message() })),
                },
            )
            .await?;
            txn.commit().await?;
            return Err(refused);
        }
        let id = existing.as_ref().map(|c| c.id).unwrap_or_else(Uuid::now_v7);
        let (status, error) = match &login {
            Ok(_) => (ConnectionStatus::Active, None),
            Err(refused) => (ConnectionStatus::Failed, Some(refused.message())),
        };
        let row = supplier_connections::ActiveModel {
            id: Set(id),
            restaurant_id: Set(restaurant),
            supplier_key: Set(key.to_owned()),
            status: Set(status.as_str().to_owned()),
            scopes: Set(scopes_text.clone()),
            consent_version: Set(consent_version.to_owned()),
            consented_at: Set(now),
            consented_by: Set(caller.principal.account_id()),
            last_sync_at: Set(existing.as_ref().and_then(|c| c.last_sync_at)),
            last_sync_status: Set(existing.as_ref().and_then(|c| c.last_sync_status.clone())),
            last_error: Set(error.clone()),
            catalog_items: Set(existing.as_ref().map_or(0, |c| c.catalog_items)),
            created_at: Set(existing.as_ref().map_or(now, |c| c.created_at)),
            updated_at: Set(now),
        };
        if existing.is_some() {
            repository::update_connection(&txn, row).await?;
        } else {
            repository::insert_connection(&txn, row).await?;
        }
        repository::delete_session(&txn, id).await?;
        let expires_at = now + Duration::minutes(i64::from(config.session_ttl_minutes));
        if let Ok(session) = &login {
            let secret_id = Uuid::now_v7();
            let token = serde_json::to_string(session)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("session to JSON: {e}")))?;
            repository::insert_session(
                &txn,
                supplier_session_secrets::ActiveModel {
                    id: Set(secret_id),
                    connection_id: Set(id),
                    token: Set(self.sealer.seal(&token, &secret_context(secret_id))?),
                    key_id: Set(self.sealer.sealing_key_id().to_owned()),
                    user_agent: Set(session.user_agent.clone()),
                    expires_at: Set(expires_at),
                    created_at: Set(now),
                },
            )
            .await?;
        }
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: if login.is_ok() {
                    "connector.connect"
                } else {
                    "connector.connect_failed"
                },
                entity: "supplier_connection",
                entity_id: Some(id.to_string()),
                before: existing
                    .as_ref()
                    .map(|c| json!({ "status": c.status, "scopes": c.scopes })),
                after: Some(json!({
                    "restaurantId": restaurant,
                    "supplierKey": key,
                    "status": status.as_str(),
                    "scopes": scopes_text,
                    "consentVersion": consent_version,
                    "sessionExpiresAt": login.is_ok().then_some(expires_at),
                    "error": error,
                })),
            },
        )
        .await?;
        txn.commit().await?;
        login?;
        self.connection_of(restaurant, key).await
    }

    /// Disconnects: the session is deleted at once, the mirrored catalog with it; the
    /// connection stays DISCONNECTED with its audit trail.
    pub async fn disconnect(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        key: &str,
    ) -> Result<Connection, AppError> {
        self.authorize(caller, restaurant).await?;
        self.config(key)?;
        let connection = self.connection_of(restaurant, key).await?;
        let txn = begin_write(&self.db).await?;
        let sessions = repository::delete_session(&txn, connection.id).await?;
        repository::delete_cache(&txn, connection.id).await?;
        repository::set_status(
            &txn,
            connection.id,
            None,
            ConnectionStatus::Disconnected,
            None,
            Utc::now(),
        )
        .await?;
        let update = supplier_connections::ActiveModel {
            id: Set(connection.id),
            catalog_items: Set(0),
            ..Default::default()
        };
        repository::update_connection(&txn, update).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "connector.disconnect",
                entity: "supplier_connection",
                entity_id: Some(connection.id.to_string()),
                before: Some(json!({ "status": connection.status.as_str() })),
                after: Some(json!({ "status": "DISCONNECTED", "sessionsDeleted": sessions })),
            },
        )
        .await?;
        txn.commit().await?;
        self.connection_of(restaurant, key).await
    }

    /// The open session of an ACTIVE connection; a session past its lifetime expires the
    /// connection (CONNECTOR_AUTH_FAILED).
    async fn session(
        &self,
        connection: &Connection,
        config: &ConnectorConfig,
    ) -> Result<PortalSession, AppError> {
        if connection.status != ConnectionStatus::Active {
            return Err(AppError::Conflict(format!(
                "the connection to {} is {}; connect again",
                config.name,
                connection.status.as_str()
            )));
        }
        let row = repository::sessions_of(&self.db, &[connection.id])
            .await?
            .into_iter()
            .next();
        let Some(row) = row.filter(|r| r.expires_at > Utc::now()) else {
            self.expire(connection.id, "the session's lifetime ended")
                .await?;
            return Err(AppError::ConnectorAuthFailed(format!(
                "the session at {} has expired; connect again",
                config.name
            )));
        };
        let token = self
            .sealer
            .open(&row.token, &secret_context(row.id))
            .map_err(|e| {
                AppError::Internal(anyhow::anyhow!("a connector session did not open: {e}"))
            })?;
        serde_json::from_str(&token).map_err(|e| {
            AppError::Internal(anyhow::anyhow!("a connector session is not JSON: {e}"))
        })
    }

    /// Turns an ACTIVE connection EXPIRED: its session is deleted and the restaurant's members
    /// are told to reconnect. Returns whether it was active.
    pub async fn expire(&self, connection: Uuid, reason: &str) -> Result<bool, AppError> {
        let Some(row) = repository::connection_by_id(&self.db, connection).await? else {
            return Ok(false);
        };
        let name = self
            .configs
            .get(&row.supplier_key)
            .map_or(row.supplier_key.clone(), |c| c.name.clone());
        let txn = begin_write(&self.db).await?;
        repository::delete_session(&txn, connection).await?;
        let changed = repository::set_status(
            &txn,
            connection,
            Some(ConnectionStatus::Active),
            ConnectionStatus::Expired,
            Some(reason.to_owned()),
            Utc::now(),
        )
        .await?;
        let mut notified = Vec::new();
        if changed {
            notified = notify_members(
                &txn,
                Organisation::Restaurant(row.restaurant_id),
                false,
                &Notice {
                    kind: "connector.expired".into(),
                    title: format!("Reconnect {name}"),
                    body: format!(
                        "The connection to your account at {name} has ended ({reason}). Connect again to keep its catalog, prices and invoices up to date."
                    ),
                    data: json!({ "supplierKey": row.supplier_key, "connectionId": connection }),
                },
                None,
            )
            .await?;
            audit::record(
                &txn,
                &Caller::system(),
                None,
                AuditEntry {
                    action: "connector.expire",
                    entity: "supplier_connection",
                    entity_id: Some(connection.to_string()),
                    before: Some(json!({ "status": "ACTIVE" })),
                    after: Some(json!({ "status": "EXPIRED", "reason": reason })),
                },
            )
            .await?;
        }
        txn.commit().await?;
        self.deps.notifications.announce(&notified).await;
        Ok(changed)
    }

    /// Expires the connection when `error` says the portal refused its session (before the
    /// run that met it is marked failed: a finished run means its connection says so too).
    async fn expire_if_refused(&self, connection: Uuid, error: &AppError) -> Result<(), AppError> {
        if matches!(error, AppError::ConnectorAuthFailed(_)) {
            self.expire(connection, "the portal no longer accepts the session")
                .await?;
        }
        Ok(())
    }

    /// Expires every session past its lifetime.
    pub async fn expire_sessions(&self) -> Result<u64, AppError> {
        let mut expired = 0;
        for connection in repository::expired_sessions(&self.db, Utc::now()).await? {
            if self
                .expire(connection, "the session's lifetime ended")
                .await?
            {
                expired += 1;
            }
        }
        Ok(expired)
    }

    async fn begin_run(
        &self,
        connection: &Connection,
        kind: RunKind,
        order: Option<Uuid>,
        job_run: Option<Uuid>,
    ) -> Result<Run, AppError> {
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        if let Some(running) = repository::running(
            &txn,
            connection.id,
            kind,
            now - Duration::hours(STALE_RUN_HOURS),
        )
        .await?
        {
            return Err(AppError::Conflict(format!(
                "a {} of this connection is running (run {}, started {})",
                kind.as_str().to_lowercase().replace('_', " "),
                running.id,
                running.started_at.to_rfc3339()
            )));
        }
        let id = Uuid::now_v7();
        repository::insert_run(
            &txn,
            entity::connector_runs::ActiveModel {
                id: Set(id),
                connection_id: Set(connection.id),
                restaurant_id: Set(connection.restaurant_id),
                supplier_key: Set(connection.supplier_key.clone()),
                kind: Set(kind.as_str().to_owned()),
                status: Set(RunStatus::Running.as_str().to_owned()),
                order_id: Set(order),
                job_run_id: Set(job_run),
                items: Set(0),
                detail: Set(json!({})),
                error: Set(None),
                started_at: Set(now),
                finished_at: Set(None),
            },
        )
        .await?;
        txn.commit().await?;
        self.reload(id).await
    }

    /// Tells the run's live watchers (every process) how it stands now.
    async fn announce(&self, run: Uuid) {
        match repository::find_run(&self.db, run).await {
            Ok(Some(run)) => {
                if let Err(error) = self.deps.bus.publish(&ConnectorRunChanged(run)).await {
                    tracing::warn!(error = ?error, "publishing a connector run's progress failed");
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(error = ?error, "reading a connector run to announce failed")
            }
        }
    }

    /// A run's progress, live: how it stands now, then each change, ending with the change
    /// that finishes it (at once when it is over). The restaurant's members and admins.
    pub async fn watch_run(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<impl Stream<Item = Result<Run, AppError>> + Send + use<>, AppError> {
        // Subscribed before reading: no change falls between the two.
        let changes = self.deps.bus.subscribe::<ConnectorRunChanged>();
        let current = self.run(caller, id).await?;
        let updates = changes.filter_map(move |event| {
            std::future::ready(match event {
                Ok(ConnectorRunChanged(run)) => (run.id == id).then_some(Ok(run)),
                Err(missed) => Some(Err(AppError::from(missed))),
            })
        });
        let all: std::pin::Pin<Box<dyn Stream<Item = Result<Run, AppError>> + Send>> =
            Box::pin(futures_util::stream::once(std::future::ready(Ok(current))).chain(updates));
        Ok(futures_util::stream::unfold(
            (all, false),
            |(mut all, over)| async move {
                if over {
                    return None;
                }
                let item = all.next().await?;
                let last = !matches!(&item, Ok(run) if run.status == RunStatus::Running);
                Some((item, (all, last)))
            },
        ))
    }

    /// A run as stored now.
    async fn reload(&self, run: Uuid) -> Result<Run, AppError> {
        repository::find_run(&self.db, run)
            .await?
            .ok_or_else(|| AppError::not_found("Connector run", run))
    }

    /// Records a run's success and its audit entry (`action`, with `after`) in the change's
    /// transaction.
    #[allow(clippy::too_many_arguments)] // One finished run: where, what, and what it did.
    async fn succeed(
        txn: &sea_orm::DatabaseTransaction,
        caller: &Caller,
        run: &Run,
        items: i64,
        detail: serde_json::Value,
        action: &'static str,
        after: serde_json::Value,
    ) -> Result<(), AppError> {
        repository::update_run(
            txn,
            run.id,
            RunStatus::Succeeded,
            items,
            detail,
            None,
            Some(Utc::now()),
        )
        .await?;
        audit::record(
            txn,
            caller,
            None,
            AuditEntry {
                action,
                entity: "supplier_connection",
                entity_id: Some(run.connection_id.to_string()),
                before: None,
                after: Some(after),
            },
        )
        .await
    }

    async fn fail_run(&self, run: &Run, items: i64, detail: serde_json::Value, error: &AppError) {
        let text = format!("{}: {}", error.code(), error.message());
        if let Err(e) = repository::update_run(
            &self.db,
            run.id,
            RunStatus::Failed,
            items,
            detail,
            Some(text),
            Some(Utc::now()),
        )
        .await
        {
            tracing::warn!(run = %run.id, error = ?e, "recording a failed connector run failed");
        }
        self.announce(run.id).await;
    }

    /// Starts a sync of the connection in the background and returns its run (RUNNING);
    /// progress and outcome are on the run.
    pub async fn start_sync(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        key: &str,
    ) -> Result<Run, AppError> {
        self.authorize(caller, restaurant).await?;
        let config = self.config(key)?;
        let connection = self.connection_of(restaurant, key).await?;
        if !connection.has(Scope::Catalog) {
            return Err(AppError::Conflict(
                "the connection's scopes do not include CATALOG".into(),
            ));
        }
        self.session(&connection, &config).await?;
        let run = self
            .begin_run(&connection, RunKind::Sync, None, None)
            .await?;
        let (service, caller, started) = (self.clone(), caller.clone(), run.clone());
        tokio::spawn(async move {
            if let Err(error) = service
                .execute_sync(&caller, &connection, &started, |_| async {})
                .await
            {
                tracing::info!(run = %started.id, code = error.code(), "a connector sync failed");
            }
        });
        Ok(run)
    }

    /// Syncs one connection now (the job's path): returns the finished run.
    pub async fn sync_now<F, Fut>(
        &self,
        connection: &Connection,
        job_run: Option<Uuid>,
        report: F,
    ) -> Result<Run, AppError>
    where
        F: Fn(SyncProgress) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let run = self
            .begin_run(connection, RunKind::Sync, None, job_run)
            .await?;
        self.execute_sync(&Caller::system(), connection, &run, report)
            .await?;
        self.reload(run.id).await
    }

    async fn execute_sync<F, Fut>(
        &self,
        caller: &Caller,
        connection: &Connection,
        run: &Run,
        report: F,
    ) -> Result<(), AppError>
    where
        F: Fn(SyncProgress) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let started = Instant::now();
        let key = connection.supplier_key.clone();
        let mut progress = SyncProgress::default();
        let outcome = self
            .read_catalog(connection, run, &mut progress, &report)
            .await;
        let seconds = started.elapsed().as_secs_f64();
        CONNECTOR_METRICS
            .sync_duration
            .with_label_values(&[key.as_str()])
            .observe(seconds);
        let detail = |progress: &SyncProgress| json!({ "pages": progress.pages, "items": progress.items, "skipped": progress.skipped, "seconds": seconds });
        let items = match outcome {
            Ok(items) => items,
            Err(error) => {
                // The connection first, the run last: a finished run means its connection
                // says so too (and a failure recording either still finishes the run).
                let expired = self.expire_if_refused(connection.id, &error).await;
                let now = Utc::now();
                let update = supplier_connections::ActiveModel {
                    id: Set(connection.id),
                    last_sync_at: Set(Some(now)),
                    last_sync_status: Set(Some(RunStatus::Failed.as_str().into())),
                    last_error: Set(Some(error.message())),
                    updated_at: Set(now),
                    ..Default::default()
                };
                let recorded = repository::update_connection(&self.db, update).await;
                self.fail_run(run, progress.items as i64, detail(&progress), &error)
                    .await;
                expired?;
                recorded?;
                return Err(error);
            }
        };
        let count = items.len() as i64;
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        // Disconnected or expired while it read: nothing it read is kept.
        let still = repository::connection_by_id(&txn, connection.id).await?;
        if still.is_none_or(|c| c.status != ConnectionStatus::Active.as_str()) {
            drop(txn);
            let error = AppError::Conflict(
                "the connection ended while the sync ran; nothing it read is kept".into(),
            );
            self.fail_run(run, 0, detail(&progress), &error).await;
            return Err(error);
        }
        repository::delete_cache(&txn, connection.id).await?;
        repository::insert_cache(&txn, items).await?;
        let update = supplier_connections::ActiveModel {
            id: Set(connection.id),
            last_sync_at: Set(Some(now)),
            last_sync_status: Set(Some(RunStatus::Succeeded.as_str().into())),
            last_error: Set(None),
            catalog_items: Set(count),
            updated_at: Set(now),
            ..Default::default()
        };
        repository::update_connection(&txn, update).await?;
        Self::succeed(
            &txn,
            caller,
            run,
            count,
            detail(&progress),
            "connector.sync",
            json!({ "runId": run.id, "items": count, "pages": progress.pages, "skipped": progress.skipped }),
        )
        .await?;
        txn.commit().await?;
        self.announce(run.id).await;
        CONNECTOR_METRICS
            .sync_success
            .with_label_values(&[key.as_str()])
            .inc();
        Ok(())
    }

    /// Reads every catalog page, normalizes the items and maps them to Iris products.
    async fn read_catalog<F, Fut>(
        &self,
        connection: &Connection,
        run: &Run,
        progress: &mut SyncProgress,
        report: &F,
    ) -> Result<Vec<cache::ActiveModel>, AppError>
    where
        F: Fn(SyncProgress) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let config = self.config(&connection.supplier_key)?;
        let session = self.session(connection, &config).await?;
        let portal = self.portal(&config)?;
        let mapping = self.product_mapping(&connection.supplier_key).await?;
        let with_prices = connection.has(Scope::Prices);
        let now = Utc::now();
        let mut seen: HashSet<String> = HashSet::new();
        let mut rows = Vec::new();
        for number in 1..=config.catalog.max_pages {
            let (items, more) = portal
                .catalog_page(&session, number)
                .await
                .map_err(|e| portal_error(&config, e))?;
            progress.pages = number;
            for item in items {
                match normalized(&config, item, with_prices, &mapping, now, connection.id) {
                    Some(row) if seen.insert(row.external_id.as_ref().clone()) => {
                        rows.push(row);
                        progress.items += 1;
                    }
                    _ => progress.skipped += 1,
                }
            }
            if number % 10 == 1 || !more {
                let live = repository::connection_by_id(&self.db, connection.id).await?;
                if live.is_none_or(|c| c.status != ConnectionStatus::Active.as_str()) {
                    return Err(AppError::Conflict(
                        "the connection ended while the sync ran; nothing it read is kept".into(),
                    ));
                }
                let detail = json!({ "pages": progress.pages, "items": progress.items, "skipped": progress.skipped });
                repository::update_run(
                    &self.db,
                    run.id,
                    RunStatus::Running,
                    progress.items as i64,
                    detail,
                    None,
                    None,
                )
                .await?;
                self.announce(run.id).await;
                report(*progress).await;
            }
            if !more {
                break;
            }
        }
        Ok(rows)
    }

    /// SKU (and GTIN written as a SKU) → Iris product, for a wholesaler that is an Iris supplier.
    async fn product_mapping(&self, key: &str) -> Result<HashMap<String, Uuid>, AppError> {
        let Some(supplier) = repository::state(&self.db, key)
            .await?
            .and_then(|s| s.supplier_id)
        else {
            return Ok(HashMap::new());
        };
        Ok(self
            .deps
            .products
            .skus_of(supplier)
            .await?
            .into_iter()
            .map(|(id, sku)| (normalize::sku_key(&sku), id))
            .collect())
    }

    /// A page of the connection's mirrored catalog, by name.
    pub async fn catalog(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        key: &str,
        search: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<CatalogItem>, AppError> {
        self.authorize(caller, restaurant).await?;
        self.config(key)?;
        let connection = self.connection_of(restaurant, key).await?;
        let search = search
            .map(|s| validation::text(s, 100).map_err(|e| AppError::validation("search", e)))
            .transpose()?
            .filter(|s| !s.is_empty());
        repository::catalog_page(&self.db, connection.id, search.as_deref(), page).await
    }

    /// The connection's latest runs, newest first (at most 50).
    pub async fn runs(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        key: &str,
        limit: u64,
    ) -> Result<Vec<Run>, AppError> {
        self.authorize(caller, restaurant).await?;
        let connection = self.connection_of(restaurant, key).await?;
        repository::runs_of(&self.db, connection.id, limit.clamp(1, 50)).await
    }

    /// One run (the restaurant's members and admins).
    pub async fn run(&self, caller: &Caller, id: Uuid) -> Result<Run, AppError> {
        let run = repository::find_run(&self.db, id)
            .await?
            .ok_or_else(|| AppError::not_found("Connector run", id))?;
        let connection = repository::connection_by_id(&self.db, run.connection_id)
            .await?
            .ok_or_else(|| AppError::not_found("Connector run", id))?;
        match self.authorize(caller, connection.restaurant_id).await {
            Ok(()) => Ok(run),
            Err(AppError::Forbidden(_)) => Err(AppError::not_found("Connector run", id)),
            Err(e) => Err(e),
        }
    }

    /// Fills the wholesaler's cart through the session (never submits it) and returns the
    /// page where the restaurant reviews and submits it.
    #[tracing::instrument(skip(self, caller, source), fields(%restaurant, key))]
    pub async fn prefill(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        key: &str,
        source: PrefillSource,
    ) -> Result<Prefill, AppError> {
        self.authorize(caller, restaurant).await?;
        let config = self.config(key)?;
        let connection = self.connection_of(restaurant, key).await?;
        if !connection.has(Scope::Orders) {
            return Err(AppError::Conflict(
                "the connection's scopes do not include ORDERS".into(),
            ));
        }
        let (lines, skipped, order) = match source {
            PrefillSource::Lines(lines) => {
                if lines.is_empty() || lines.len() > MAX_PREFILL_LINES {
                    return Err(AppError::validation(
                        "lines",
                        format!("must hold 1–{MAX_PREFILL_LINES} lines"),
                    ));
                }
                let ids: Vec<String> = lines.iter().map(|(id, _)| id.clone()).collect();
                let known: HashSet<String> =
                    repository::cached_items(&self.db, connection.id, &ids)
                        .await?
                        .into_iter()
                        .map(|i| i.external_id)
                        .collect();
                let mut v = validation::Violations::default();
                for (i, (id, quantity)) in lines.iter().enumerate() {
                    if !known.contains(id) {
                        v.check::<()>(
                            &format!("lines[{i}].externalId"),
                            Err(format!("`{id}` is not in the mirrored catalog; sync first")),
                        );
                    }
                    if !(1..=100_000).contains(quantity) {
                        v.check::<()>(
                            &format!("lines[{i}].quantity"),
                            Err("must be 1–100000".into()),
                        );
                    }
                }
                v.finish()?;
                (lines, Vec::new(), None)
            }
            PrefillSource::Order(order_id) => {
                let order = self.deps.orders.get(caller, order_id).await?;
                if order.restaurant_id != restaurant {
                    return Err(AppError::validation(
                        "orderId",
                        "is another restaurant's order",
                    ));
                }
                let order_lines = self
                    .deps
                    .orders
                    .lines_by_order(&[order_id])
                    .await?
                    .remove(&order_id)
                    .unwrap_or_default();
                let products: Vec<Uuid> = order_lines.iter().map(|l| l.product_id).collect();
                let by_product: HashMap<Uuid, String> =
                    repository::items_for_products(&self.db, connection.id, &products)
                        .await?
                        .into_iter()
                        .filter_map(|i| i.mapped_product_id.map(|p| (p, i.external_id)))
                        .collect();
                let mut lines = Vec::new();
                let mut skipped = Vec::new();
                for line in order_lines {
                    match by_product.get(&line.product_id) {
                        Some(external) => lines.push((external.clone(), line.quantity)),
                        None => skipped.push(line.sku),
                    }
                }
                if lines.is_empty() {
                    return Err(AppError::validation(
                        "orderId",
                        "none of the order's products is in the mirrored catalog (link the connector to the supplier and sync)",
                    ));
                }
                (lines, skipped, Some(order_id))
            }
        };
        let session = self.session(&connection, &config).await?;
        let run = self
            .begin_run(&connection, RunKind::Prefill, order, None)
            .await?;
        let portal = self.portal(&config)?;
        let filled = portal.fill_cart(&session, &lines).await;
        let deep_link = match filled {
            Ok(link) => link,
            Err(e) => {
                let error = portal_error(&config, e);
                let expired = self.expire_if_refused(connection.id, &error).await;
                self.fail_run(&run, 0, json!({ "lines": lines.len() }), &error)
                    .await;
                expired?;
                return Err(error);
            }
        };
        let txn = begin_write(&self.db).await?;
        Self::succeed(
            &txn,
            caller,
            &run,
            lines.len() as i64,
            json!({ "deepLink": deep_link, "lines": lines.len(), "skipped": skipped }),
            "connector.prefill",
            json!({ "runId": run.id, "orderId": order, "lines": lines.len(), "skipped": skipped }),
        )
        .await?;
        txn.commit().await?;
        self.announce(run.id).await;
        CONNECTOR_METRICS
            .cart_prefill
            .with_label_values(&[key])
            .inc();
        let run = self.reload(run.id).await?;
        Ok(Prefill {
            run,
            deep_link,
            lines: lines.len(),
            skipped,
        })
    }

    /// After an order is delivered: pulls the invoices of the restaurant's active connections
    /// (ORDERS scope) to connectors linked to the order's supplier.
    pub async fn pull_after_delivery(&self, restaurant: Uuid, supplier: Uuid) {
        for connection in self.order_connections(restaurant, supplier).await {
            if let Err(error) = self
                .pull_invoices_of(&Caller::system(), &connection, None)
                .await
            {
                let key = connection.supplier_key;
                tracing::info!(
                    key,
                    code = error.code(),
                    "the invoice pull after a delivery failed"
                );
            }
        }
    }

    /// After an order is placed: fills the wholesaler's cart where the restaurant holds an
    /// active connection with the ORDERS scope to a connector linked to the order's supplier
    /// (the deep link then shows on the order). Failures are the run's and the log's.
    pub async fn prefill_placed_order(&self, order: Uuid, restaurant: Uuid, supplier: Uuid) {
        for connection in self.order_connections(restaurant, supplier).await {
            let key = connection.supplier_key;
            if let Err(error) = self
                .prefill(
                    &Caller::system(),
                    restaurant,
                    &key,
                    PrefillSource::Order(order),
                )
                .await
            {
                tracing::info!(%order, key, code = error.code(), "the cart prefill at checkout failed");
            }
        }
    }

    /// The restaurant's ACTIVE connections with the ORDERS scope to connectors linked to an
    /// Iris supplier: where that supplier's orders act.
    async fn order_connections(&self, restaurant: Uuid, supplier: Uuid) -> Vec<Connection> {
        let linked: Vec<String> = match repository::states(&self.db).await {
            Ok(states) => states
                .into_iter()
                .filter(|s| s.supplier_id == Some(supplier))
                .map(|s| s.supplier_key)
                .collect(),
            Err(error) => {
                tracing::warn!(error = ?error, "reading connector links failed");
                return Vec::new();
            }
        };
        let mut found = Vec::new();
        for key in linked {
            if let Ok(connection) = self.connection_of(restaurant, &key).await
                && connection.status == ConnectionStatus::Active
                && connection.has(Scope::Orders)
            {
                found.push(connection);
            }
        }
        found
    }

    /// The newest successful prefill of an order, where the caller may see the order.
    pub async fn prefill_of_order(
        &self,
        caller: &Caller,
        order: Uuid,
    ) -> Result<Option<Run>, AppError> {
        let order = self.deps.orders.get(caller, order).await?;
        // The wholesaler's cart is the restaurant's business, not the order's supplier's.
        match self.authorize(caller, order.restaurant_id).await {
            Ok(()) => repository::prefill_of_order(&self.db, order.id).await,
            Err(AppError::Forbidden(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Fetches the invoices the portal lists that were not pulled before: each is stored, and
    /// where the wholesaler is an Iris supplier it enters invoicing (extraction, matching).
    pub async fn pull_invoices(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        key: &str,
    ) -> Result<Run, AppError> {
        self.authorize(caller, restaurant).await?;
        self.config(key)?;
        let connection = self.connection_of(restaurant, key).await?;
        self.pull_invoices_of(caller, &connection, None).await
    }

    async fn pull_invoices_of(
        &self,
        caller: &Caller,
        connection: &Connection,
        job_run: Option<Uuid>,
    ) -> Result<Run, AppError> {
        let config = self.config(&connection.supplier_key)?;
        if !connection.has(Scope::Orders) {
            return Err(AppError::Conflict(
                "the connection's scopes do not include ORDERS".into(),
            ));
        }
        let session = self.session(connection, &config).await?;
        let run = self
            .begin_run(connection, RunKind::InvoicePull, None, job_run)
            .await?;
        let supplier = repository::state(&self.db, &connection.supplier_key)
            .await?
            .and_then(|s| s.supplier_id);
        let portal = self.portal(&config)?;
        let mut pulled = Vec::new();
        let outcome: Result<usize, AppError> = async {
            let listed = portal
                .invoices(&session)
                .await
                .map_err(|e| portal_error(&config, e))?;
            let known: HashSet<String> = repository::pulled_ids(&self.db, connection.id)
                .await?
                .into_iter()
                .collect();
            for invoice in listed
                .iter()
                .filter(|i| {
                    !known.contains(&i.external_id)
                        && i.external_id.chars().count() <= 128
                        && validation::edge_text(&i.external_id).is_ok()
                })
                .take(MAX_PULLED_INVOICES)
            {
                let bytes = portal
                    .download(&session, &invoice.href)
                    .await
                    .map_err(|e| portal_error(&config, e))?;
                let stored = self.deps.storage.store("invoice", bytes.clone()).await?;
                let invoice_id = match supplier {
                    Some(supplier_id) => Some(
                        self.deps
                            .invoices
                            .upload(
                                &Caller::system(),
                                NewInvoice {
                                    supplier_id,
                                    restaurant_id: connection.restaurant_id,
                                    file_name: Some(format!(
                                        "{}-{}.{}",
                                        connection.supplier_key,
                                        invoice
                                            .external_id
                                            .chars()
                                            .map(|c| {
                                                if c.is_ascii_alphanumeric()
                                                    || matches!(c, '-' | '_' | '.')
                                                {
                                                    c
                                                } else {
                                                    '_'
                                                }
                                            })
                                            .collect::<String>(),
                                        stored.kind.as_str().to_ascii_lowercase()
                                    )),
                                },
                                bytes,
                            )
                            .await?
                            .invoice
                            .id,
                    ),
                    None => None,
                };
                repository::insert_document(
                    &self.db,
                    entity::supplier_connector_documents::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        connection_id: Set(connection.id),
                        external_id: Set(invoice.external_id.clone()),
                        document_key: Set(stored.key.clone()),
                        sha256: Set(stored.sha256.clone()),
                        kind: Set(stored.kind.as_str().to_owned()),
                        size: Set(stored.size as i64),
                        invoice_id: Set(invoice_id),
                        pulled_at: Set(Utc::now()),
                    },
                )
                .await?;
                pulled.push(json!({
                    "externalId": invoice.external_id,
                    "document": stored.key,
                    "invoiceId": invoice_id,
                }));
            }
            Ok(listed.len())
        }
        .await;
        let detail = |listed: Option<usize>| json!({ "listed": listed, "pulled": pulled });
        match outcome {
            Ok(listed) => {
                let txn = begin_write(&self.db).await?;
                Self::succeed(
                    &txn,
                    caller,
                    &run,
                    pulled.len() as i64,
                    detail(Some(listed)),
                    "connector.invoice_pull",
                    json!({ "runId": run.id, "listed": listed, "pulled": pulled.len() }),
                )
                .await?;
                txn.commit().await?;
                self.announce(run.id).await;
                self.reload(run.id).await
            }
            Err(error) => {
                let expired = self.expire_if_refused(connection.id, &error).await;
                self.fail_run(&run, pulled.len() as i64, detail(None), &error)
                    .await;
                expired?;
                Err(error)
            }
        }
    }

    /// The nightly work: expire ended sessions, then sync every active connection (and pull
    /// its invoices where it has the ORDERS scope), one after another.
    pub async fn sync_all<F, Fut>(
        &self,
        job_run: Option<Uuid>,
        report: F,
    ) -> Result<SyncAllOutcome, AppError>
    where
        F: Fn(SyncAllOutcome) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let stale = repository::fail_stale_runs(
            &self.db,
            Utc::now() - Duration::hours(STALE_RUN_HOURS),
            Utc::now(),
        )
        .await?;
        if stale > 0 {
            tracing::info!(
                stale,
                "connector runs left RUNNING by a stopped process closed as FAILED"
            );
        }
        let mut outcome = SyncAllOutcome {
            expired: self.expire_sessions().await?,
            ..Default::default()
        };
        let rows = repository::active_connections(&self.db, None).await?;
        let connections = self.with_session(rows).await?;
        outcome.connections = connections.len() as u64;
        report(outcome).await;
        for connection in connections {
            if !self.configs.contains_key(&connection.supplier_key) {
                continue;
            }
            let config = self.config(&connection.supplier_key)?;
            if !config.allowed {
                continue;
            }
            if connection.has(Scope::Catalog) {
                match self.sync_now(&connection, job_run, |_| async {}).await {
                    Ok(_) => outcome.synced += 1,
                    Err(error) => {
                        outcome.failed += 1;
                        tracing::info!(connection = %connection.id, code = error.code(), "a nightly connector sync failed");
                    }
                }
            }
            if connection.has(Scope::Orders) {
                let still = self
                    .connection_of(connection.restaurant_id, &connection.supplier_key)
                    .await?;
                if still.status == ConnectionStatus::Active {
                    match self
                        .pull_invoices_of(&Caller::system(), &still, job_run)
                        .await
                    {
                        Ok(run) => outcome.invoices += run.items as u64,
                        Err(error) => {
                            tracing::info!(connection = %connection.id, code = error.code(), "a nightly invoice pull failed");
                        }
                    }
                }
            }
            report(outcome).await;
        }
        Ok(outcome)
    }

    /// The weekly DOM watch: for each allowed connector, the sign-in page (always) and, where
    /// some restaurant holds a session, the first catalog page and the invoice list are read,
    /// fingerprinted and checked against every configured selector. A selector matching
    /// nothing marks the connector DEGRADED (admins are told once), counts
    /// `connector_dom_failures_total`, and is listed in the connector's findings.
    pub async fn watch<F, Fut>(&self, report: F) -> Result<Vec<Connector>, AppError>
    where
        F: Fn(usize, usize) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let total = self.configs.len();
        for (done, config) in self.configs.values().enumerate() {
            if config.allowed {
                let checks = self.check_connector(config).await;
                self.record_watch(config, checks).await?;
            }
            report(done + 1, total).await;
        }
        self.connectors(&Caller::system()).await
    }

    async fn check_connector(
        &self,
        config: &Arc<ConnectorConfig>,
    ) -> Result<(Vec<super::portal::PageCheck>, Vec<String>), AppError> {
        let portal = self.portal(config)?;
        let mut checks = Vec::new();
        let mut skipped = Vec::new();
        let login = &config.login;
        let html = portal
            .public_page(&login.page)
            .await
            .map_err(|e| portal_error(config, e))?;
        let required = vec![
            ("login.form".to_owned(), login.form.clone()),
            (
                "login.username_field".to_owned(),
                format!("input[name=\"{}\"]", login.username_field),
            ),
            (
                "login.password_field".to_owned(),
                format!("input[name=\"{}\"]", login.password_field),
            ),
        ];
        checks.push(check_page("login", &html, &required, None));

        // Pages behind the sign-in: through any live session of a restaurant.
        let rows = repository::active_connections(&self.db, Some(&config.key)).await?;
        let mut session = None;
        for connection in self.with_session(rows).await? {
            if connection
                .session_expires_at
                .is_some_and(|at| at > Utc::now())
                && let Ok(s) = self.session(&connection, config).await
            {
                session = Some(s);
                break;
            }
        }
        let Some(session) = session else {
            skipped.push("catalog and invoices: no restaurant holds a live session".to_owned());
            return Ok((checks, skipped));
        };
        let catalog = &config.catalog;
        let path = catalog.path.replace("{page}", "1");
        match portal.page(&session, &path, catalog.ready.as_deref()).await {
            Ok(html) => {
                let mut required = vec![("catalog.item".to_owned(), catalog.item.clone())];
                if let Some(ready) = &catalog.ready {
                    required.push(("catalog.ready".to_owned(), ready.clone()));
                }
                let fields = config.catalog_fields();
                checks.push(check_page(
                    "catalog",
                    &html,
                    &required,
                    Some((catalog.item.as_str(), &fields)),
                ));
            }
            // A page that never became ready is a page whose selectors no longer match.
            Err(PortalError::Unexpected(m)) => checks.push(super::portal::PageCheck {
                page: "catalog".into(),
                fingerprint: String::new(),
                missing: vec![format!("catalog.ready ({m})")],
            }),
            Err(e) => skipped.push(format!("catalog: {e}")),
        }
        match portal.page(&session, &config.invoices.path, None).await {
            Ok(html) => checks.push(check_page("invoices", &html, &[], None)),
            Err(e) => skipped.push(format!("invoices: {e}")),
        }
        Ok((checks, skipped))
    }

    async fn record_watch(
        &self,
        config: &ConnectorConfig,
        checks: Result<(Vec<super::portal::PageCheck>, Vec<String>), AppError>,
    ) -> Result<(), AppError> {
        let now = Utc::now();
        let (checks, skipped, unreachable) = match checks {
            Ok((checks, skipped)) => (checks, skipped, None),
            Err(e) => (Vec::new(), Vec::new(), Some(e.message())),
        };
        let missing: Vec<String> = checks
            .iter()
            .flat_map(|c| c.missing.iter().map(move |m| format!("{}: {m}", c.page)))
            .collect();
        if !missing.is_empty() {
            CONNECTOR_METRICS
                .dom_failures
                .with_label_values(&[config.key.as_str()])
                .inc_by(missing.len() as u64);
        }
        let txn = begin_write(&self.db).await?;
        let existing = repository::state(&txn, &config.key).await?;
        let was_degraded = existing.as_ref().is_some_and(|s| s.status == "DEGRADED");
        let previous = existing
            .as_ref()
            .map(|s| s.fingerprints.clone())
            .unwrap_or(json!({}));
        let fingerprints: serde_json::Map<String, serde_json::Value> = checks
            .iter()
            .filter(|c| !c.fingerprint.is_empty())
            .map(|c| (c.page.clone(), json!(c.fingerprint)))
            .collect();
        let changed: Vec<&String> = fingerprints
            .iter()
            .filter(|(page, fp)| previous.get(page.as_str()).is_some_and(|old| old != *fp))
            .map(|(page, _)| page)
            .collect();
        // An unreachable portal says nothing of its structure: the state stays as it was.
        let degraded = if unreachable.is_some() {
            was_degraded
        } else {
            !missing.is_empty()
        };
        let findings = json!({
            "pages": checks,
            "missing": missing,
            "changedPages": changed,
            "skipped": skipped,
            "unreachable": unreachable,
        });
        let mut merged = previous.clone();
        if let Some(map) = merged.as_object_mut() {
            map.extend(fingerprints.clone());
        }
        repository::save_state(
            &txn,
            existing,
            &config.key,
            |s| {
                s.status = Set(if degraded { "DEGRADED" } else { "OK" }.into());
                s.fingerprints = Set(merged);
                s.failures = Set(findings);
                s.checked_at = Set(Some(now));
            },
            now,
        )
        .await?;
        let mut notified = Vec::new();
        if degraded && !was_degraded {
            notified = notify_admins(
                &txn,
                &Notice {
                    kind: "connector.degraded".into(),
                    title: format!("The {} connector is degraded", config.name),
                    body: format!(
                        "Selectors of the {} connector no longer match its portal: {}. Syncs may miss items until its configuration is fixed.",
                        config.name,
                        missing.join("; ")
                    ),
                    data: json!({ "supplierKey": config.key, "missing": missing }),
                },
            )
            .await?;
        }
        txn.commit().await?;
        self.deps.notifications.announce(&notified).await;
        Ok(())
    }

    /// Adoption and health over the last 30 days (admins).
    pub async fn kpis(&self, caller: &Caller) -> Result<ConnectorKpis, AppError> {
        Self::admin_only(caller)?;
        let since = Utc::now() - Duration::days(KPI_DAYS);
        let restaurants = self.deps.restaurants.count_live().await?;
        let connected = repository::connected_restaurants(&self.db).await?;
        let (syncs, synced) = repository::run_counts(&self.db, RunKind::Sync, since).await?;
        let (prefills, prefilled) =
            repository::run_counts(&self.db, RunKind::Prefill, since).await?;
        let rate = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
        Ok(ConnectorKpis {
            restaurants,
            connected_restaurants: connected,
            connected_share: rate(connected, restaurants),
            syncs,
            successful_syncs: synced,
            sync_success_rate: rate(synced, syncs),
            prefills,
            completed_prefills: prefilled,
            prefill_completion_rate: rate(prefilled, prefills),
        })
    }
}

/// One raw item as a cache row, or `None` when it lacks an id or a name.
fn normalized(
    config: &ConnectorConfig,
    item: RawItem,
    with_prices: bool,
    mapping: &HashMap<String, Uuid>,
    now: DateTime<Utc>,
    connection: Uuid,
) -> Option<cache::ActiveModel> {
    let external_id = item.external_id.trim().to_owned();
    let name = item.name.trim().to_owned();
    if external_id.is_empty()
        || external_id.chars().count() > 128
        || name.is_empty()
        || validation::edge_text(&name).is_err()
    {
        return None;
    }
    let name: String = name.chars().take(500).collect();
    let (price, currency) = match normalize::price(&item.price) {
        Ok((amount, currency)) if with_prices => (
            money::to_milli(amount).ok(),
            currency.unwrap_or(config.currency.as_str()).to_owned(),
        ),
        _ => (None, config.currency.clone()),
    };
    let unit = normalize::unit(&item.unit)
        .map(str::to_owned)
        .unwrap_or_else(|| item.unit.trim().to_uppercase().chars().take(16).collect());
    let pack = item.pack.as_deref().and_then(normalize::pack);
    let (stock, in_stock) = item
        .stock
        .as_deref()
        .map(normalize::stock)
        .unwrap_or((None, None));
    let gtin = item.gtin.as_deref().and_then(normalize::gtin);
    let mapped = mapping
        .get(&normalize::sku_key(&external_id))
        .or_else(|| gtin.as_ref().and_then(|g| mapping.get(g)))
        .copied();
    Some(cache::ActiveModel {
        id: Set(Uuid::now_v7()),
        connection_id: Set(connection),
        external_id: Set(external_id),
        name: Set(name),
        price_milli: Set(price),
        currency: Set(currency),
        unit: Set(unit),
        pack: Set(item.pack.map(|p| p.chars().take(100).collect())),
        pack_quantity_milli: Set(pack
            .as_ref()
            .and_then(|p| money::to_milli(p.quantity.round_dp(3)).ok())),
        pack_unit: Set(pack.map(|p| p.unit.to_owned())),
        stock: Set(stock),
        in_stock: Set(in_stock),
        gtin: Set(gtin),
        mapped_product_id: Set(mapped),
        synced_at: Set(now),
    })
}
