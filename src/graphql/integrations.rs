//! Supplier connectors over GraphQL: the consent text (`supplierConsent`), the configured
//! connectors (`connectors`, `linkConnectorSupplier`), a restaurant's connections
//! (`supplierConnections`, `supplierConnection`, `connectSupplier`, `disconnectSupplier`),
//! their mirrored catalogs, syncs (`syncSupplier`, `connectorRun`), cart prefill
//! (`prefillSupplierCart`), invoice pulls (`pullSupplierInvoices`) and the adoption figures
//! for admins (`connectorKpis`).

use async_graphql::{
    Context, Enum, ID, InputObject, Json, Object, SimpleObject, Subscription,
    futures_util::{Stream, StreamExt},
};
use chrono::{DateTime, Utc};

use super::{
    caller,
    common::{ExactDecimal, MoneyObject, money, parse_id},
    connection::{self, RelayConnection},
    services,
};
use crate::domain::{
    integrations::{
        self as domain, CONSENT_TEXT, CONSENT_VERSION, CatalogItem, Connection, Connector,
        ConnectorKpis, Credentials, PrefillSource, Run, config::DriverKind,
    },
    kernel::money::Currency,
};

/// What a connection may do at the wholesaler.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ConnectorScope")]
pub enum ScopeValue {
    /// Mirror the catalog.
    Catalog,
    /// Mirror the account's prices with the catalog.
    Prices,
    /// Fill the wholesaler's cart and pull invoices.
    Orders,
}

impl From<ScopeValue> for domain::Scope {
    fn from(s: ScopeValue) -> Self {
        match s {
            ScopeValue::Catalog => domain::Scope::Catalog,
            ScopeValue::Prices => domain::Scope::Prices,
            ScopeValue::Orders => domain::Scope::Orders,
        }
    }
}

impl From<domain::Scope> for ScopeValue {
    fn from(s: domain::Scope) -> Self {
        match s {
            domain::Scope::Catalog => ScopeValue::Catalog,
            domain::Scope::Prices => ScopeValue::Prices,
            domain::Scope::Orders => ScopeValue::Orders,
        }
    }
}

/// Where a connection stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SupplierConnectionStatus {
    /// A session is held; syncs and prefills work.
    Active,
    /// The session ended (its lifetime or the portal); connect again.
    Expired,
    /// The portal refused the last sign-in.
    Failed,
    /// Disconnected by the restaurant: no session, no mirrored catalog.
    Disconnected,
}

impl From<domain::ConnectionStatus> for SupplierConnectionStatus {
    fn from(s: domain::ConnectionStatus) -> Self {
        match s {
            domain::ConnectionStatus::Active => Self::Active,
            domain::ConnectionStatus::Expired => Self::Expired,
            domain::ConnectionStatus::Failed => Self::Failed,
            domain::ConnectionStatus::Disconnected => Self::Disconnected,
        }
    }
}

/// What a connector run did.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ConnectorRunKind {
    /// A catalog sync.
    Sync,
    /// A cart prefill.
    Prefill,
    /// An invoice pull.
    InvoicePull,
}

/// Where a connector run stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ConnectorRunStatus {
    Running,
    Succeeded,
    Failed,
}

fn run_status(s: domain::RunStatus) -> ConnectorRunStatus {
    match s {
        domain::RunStatus::Running => ConnectorRunStatus::Running,
        domain::RunStatus::Succeeded => ConnectorRunStatus::Succeeded,
        domain::RunStatus::Failed => ConnectorRunStatus::Failed,
    }
}

/// How a connector reads its portal.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ConnectorDriver {
    /// Plain HTTP.
    Http,
    /// A headless browser (pages rendered by script).
    Browser,
}

/// The consent a restaurant gives before connecting an account.
#[derive(SimpleObject)]
pub struct SupplierConsent {
    /// The version to send back with `connectSupplier`.
    version: String,
    /// The text the restaurant accepts.
    text: String,
}

/// A configured wholesaler connector.
pub struct ConnectorObject(pub Connector);

#[Object(name = "Connector")]
impl ConnectorObject {
    /// The connector's key (`martin_servera`, `menigo`).
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// The wholesaler's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// How it reads the portal.
    async fn driver(&self) -> ConnectorDriver {
        match self.0.driver {
            DriverKind::Http => ConnectorDriver::Http,
            DriverKind::Browser => ConnectorDriver::Browser,
        }
    }
    /// False when the portal's terms do not allow the mirror (nothing is fetched).
    async fn allowed(&self) -> bool {
        self.0.allowed
    }
    /// What the terms allow and how the connector keeps to them.
    async fn terms(&self) -> &str {
        &self.0.terms
    }
    /// True when the DOM watcher found configured selectors matching nothing.
    async fn degraded(&self) -> bool {
        self.0.degraded
    }
    /// The Iris supplier the wholesaler is, where it sells on Iris too (UUID).
    async fn supplier_id(&self) -> Option<ID> {
        self.0.supplier_id.map(|id| ID(id.to_string()))
    }
    /// When the DOM watcher last checked it.
    async fn checked_at(&self) -> Option<DateTime<Utc>> {
        self.0.checked_at
    }
    /// The selectors the last watch found matching nothing (`page: selector name`).
    async fn missing_selectors(&self) -> Vec<String> {
        self.0.findings["missing"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
    /// The last watch's findings: per page its fingerprint and missing selectors, pages whose
    /// structure changed, pages skipped.
    async fn findings(&self) -> Json<serde_json::Value> {
        Json(self.0.findings.clone())
    }
}

/// A restaurant's connection to its account at a wholesaler.
pub struct SupplierConnectionObject(pub Connection);

#[Object(name = "SupplierPortalConnection")]
impl SupplierConnectionObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The restaurant (UUID).
    async fn restaurant_id(&self) -> ID {
        ID(self.0.restaurant_id.to_string())
    }
    /// The connector's key.
    async fn supplier_key(&self) -> &str {
        &self.0.supplier_key
    }
    async fn status(&self) -> SupplierConnectionStatus {
        self.0.status.into()
    }
    /// What it may do.
    async fn scopes(&self) -> Vec<ScopeValue> {
        self.0.scopes.iter().map(|s| (*s).into()).collect()
    }
    /// The consent text's version accepted.
    async fn consent_version(&self) -> &str {
        &self.0.consent_version
    }
    /// When the consent was given.
    async fn consented_at(&self) -> DateTime<Utc> {
        self.0.consented_at
    }
    /// When the held session ends (none held: null).
    async fn session_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.session_expires_at
    }
    /// When the catalog was last synced.
    async fn last_sync_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_sync_at
    }
    /// How the last sync ended.
    async fn last_sync_status(&self) -> Option<ConnectorRunStatus> {
        self.0.last_sync_status.map(run_status)
    }
    /// Why the last connect or sync failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// Items in the mirrored catalog.
    async fn catalog_items(&self) -> i64 {
        self.0.catalog_items
    }
    /// The latest syncs, prefills and invoice pulls, newest first.
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many (1–50; 10 by default).", default = 10)] limit: i32,
    ) -> async_graphql::Result<Vec<ConnectorRunObject>> {
        Ok(services(ctx)?
            .integrations
            .runs(
                caller(ctx),
                self.0.restaurant_id,
                &self.0.supplier_key,
                limit.clamp(1, 50) as u64,
            )
            .await?
            .into_iter()
            .map(ConnectorRunObject)
            .collect())
    }
    /// The mirrored catalog by name, optionally only names containing `search`.
    #[allow(clippy::too_many_arguments)] // Relay's four arguments plus the search.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn catalog(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only items whose name contains this.")] search: Option<String>,
        #[graphql(desc = "The first n items after `after` (0–100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(desc = "The last n items before `before` (0–100).")] last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
    ) -> async_graphql::Result<RelayConnection<SupplierCatalogItemObject>> {
        let page = connection::page_request(ctx, first, after, last, before)?;
        let items = services(ctx)?
            .integrations
            .catalog(
                caller(ctx),
                self.0.restaurant_id,
                &self.0.supplier_key,
                search.as_deref(),
                &page,
            )
            .await?;
        Ok(connection::connection(items, SupplierCatalogItemObject))
    }
}

/// One item of a wholesaler's catalog as the restaurant's account sees it.
pub struct SupplierCatalogItemObject(pub CatalogItem);

#[Object(name = "SupplierCatalogItem")]
impl SupplierCatalogItemObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The wholesaler's article number.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The account's price (with the PRICES scope), exact.
    async fn price(&self) -> Option<MoneyObject> {
        let currency = Currency::from_stored(&self.0.currency);
        self.0.price.map(|p| money(p, &currency))
    }
    /// The unit it is sold in (PCS, KG, CASE, PACK, …; the portal's word when unknown).
    async fn unit(&self) -> &str {
        &self.0.unit
    }
    /// The pack as the portal writes it (`6x1 l`).
    async fn pack(&self) -> Option<&str> {
        self.0.pack.as_deref()
    }
    /// The pack's content in `packUnit` (6x1 l → 6).
    async fn pack_quantity(&self) -> Option<ExactDecimal> {
        self.0.pack_quantity.map(ExactDecimal)
    }
    /// The unit of `packQuantity` (L, KG, PCS, …).
    async fn pack_unit(&self) -> Option<&str> {
        self.0.pack_unit.as_deref()
    }
    /// Units in stock, where the portal shows a count.
    async fn stock(&self) -> Option<i64> {
        self.0.stock
    }
    /// Whether it is in stock, where the portal says.
    async fn in_stock(&self) -> Option<bool> {
        self.0.in_stock
    }
    /// Its GTIN/EAN (check digit verified).
    async fn gtin(&self) -> Option<&str> {
        self.0.gtin.as_deref()
    }
    /// The Iris product it is, where the wholesaler sells on Iris too (UUID).
    async fn product_id(&self) -> Option<ID> {
        self.0.mapped_product_id.map(|id| ID(id.to_string()))
    }
    /// When it was read from the portal.
    async fn synced_at(&self) -> DateTime<Utc> {
        self.0.synced_at
    }
}

/// A sync, cart prefill or invoice pull of a connection.
pub struct ConnectorRunObject(pub Run);

#[Object(name = "ConnectorRun")]
impl ConnectorRunObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> ConnectorRunKind {
        match self.0.kind {
            domain::RunKind::Sync => ConnectorRunKind::Sync,
            domain::RunKind::Prefill => ConnectorRunKind::Prefill,
            domain::RunKind::InvoicePull => ConnectorRunKind::InvoicePull,
        }
    }
    async fn status(&self) -> ConnectorRunStatus {
        run_status(self.0.status)
    }
    /// Items synced, cart lines filled or invoices pulled (so far, while running).
    async fn items(&self) -> i64 {
        self.0.items
    }
    /// Progress and outcome: pages read and items skipped (sync), the deep link and skipped
    /// SKUs (prefill), documents pulled (invoice pull).
    async fn detail(&self) -> Json<serde_json::Value> {
        Json(self.0.detail.clone())
    }
    /// The wholesaler's cart page of a prefill, where the restaurant reviews and submits it.
    async fn deep_link(&self) -> Option<&str> {
        self.0.deep_link()
    }
    /// The order a prefill came from (UUID).
    async fn order_id(&self) -> Option<ID> {
        self.0.order_id.map(|id| ID(id.to_string()))
    }
    /// Why it failed (code: message).
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
}

/// Adoption and health of the connectors over the last 30 days (admins).
pub struct ConnectorKpisObject(ConnectorKpis);

#[Object(name = "ConnectorKpis")]
impl ConnectorKpisObject {
    /// Live restaurants.
    async fn restaurants(&self) -> u64 {
        self.0.restaurants
    }
    /// Restaurants with at least one active connection.
    async fn connected_restaurants(&self) -> u64 {
        self.0.connected_restaurants
    }
    /// Connected restaurants over all (0–1; null without restaurants).
    async fn connected_share(&self) -> Option<f64> {
        self.0.connected_share
    }
    /// Syncs finished in the window.
    async fn syncs(&self) -> u64 {
        self.0.syncs
    }
    /// Successful syncs over finished ones (0–1; null without syncs).
    async fn sync_success_rate(&self) -> Option<f64> {
        self.0.sync_success_rate
    }
    /// Prefills attempted in the window.
    async fn prefills(&self) -> u64 {
        self.0.prefills
    }
    /// Prefills that filled the cart over all attempted (0–1; null without prefills).
    async fn prefill_completion_rate(&self) -> Option<f64> {
        self.0.prefill_completion_rate
    }
}

#[derive(Default)]
pub struct IntegrationQuery;

#[Object]
impl IntegrationQuery {
    /// The consent a restaurant accepts before connecting an account at a wholesaler.
    async fn supplier_consent(&self) -> SupplierConsent {
        SupplierConsent {
            version: CONSENT_VERSION.into(),
            text: CONSENT_TEXT.into(),
        }
    }

    /// The configured wholesaler connectors and their health (signed-in accounts).
    async fn connectors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ConnectorObject>> {
        Ok(services(ctx)?
            .integrations
            .connectors(caller(ctx))
            .await?
            .into_iter()
            .map(ConnectorObject)
            .collect())
    }

    /// A restaurant's supplier connections (its members and admins).
    async fn supplier_connections(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant (UUID).")] restaurant_id: ID,
    ) -> async_graphql::Result<Vec<SupplierConnectionObject>> {
        let restaurant = parse_id("restaurantId", &restaurant_id)?;
        Ok(services(ctx)?
            .integrations
            .connections(caller(ctx), restaurant)
            .await?
            .into_iter()
            .map(SupplierConnectionObject)
            .collect())
    }

    /// One connection's status (its restaurant's members and admins).
    async fn supplier_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant (UUID).")] restaurant_id: ID,
        #[graphql(desc = "The connector's key.")] supplier_key: String,
    ) -> async_graphql::Result<SupplierConnectionObject> {
        let restaurant = parse_id("restaurantId", &restaurant_id)?;
        Ok(SupplierConnectionObject(
            services(ctx)?
                .integrations
                .status(caller(ctx), restaurant, &supplier_key)
                .await?,
        ))
    }

    /// One sync, prefill or invoice pull (its restaurant's members and admins).
    async fn connector_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run (UUID).")] id: ID,
    ) -> async_graphql::Result<ConnectorRunObject> {
        let id = parse_id("id", &id)?;
        Ok(ConnectorRunObject(
            services(ctx)?.integrations.run(caller(ctx), id).await?,
        ))
    }

    /// Share of restaurants connected, sync success rate and prefill completion rate over the
    /// last 30 days (admins).
    async fn connector_kpis(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<ConnectorKpisObject> {
        Ok(ConnectorKpisObject(
            services(ctx)?.integrations.kpis(caller(ctx)).await?,
        ))
    }
}

/// The consent, as accepted.
#[derive(InputObject)]
pub struct ConsentInput {
    /// Must be true.
    accepted: bool,
    /// The version of the text accepted (`supplierConsent.version`).
    version: String,
}

/// Input of `connectSupplier`.
#[derive(InputObject)]
pub struct ConnectSupplierInput {
    /// The restaurant (UUID).
    restaurant_id: ID,
    /// The connector's key (`connectors`).
    supplier_key: String,
    /// The restaurant's username at the wholesaler: used once to sign in, never stored.
    #[graphql(secret)]
    username: String,
    /// The restaurant's password at the wholesaler: used once to sign in, never stored.
    #[graphql(secret)]
    password: String,
    /// The consent accepted.
    consent: ConsentInput,
    /// What the connection may do (at least one).
    scopes: Vec<ScopeValue>,
}

/// Result of `connectSupplier` and `disconnectSupplier`.
#[derive(SimpleObject)]
pub struct SupplierConnectionPayload {
    connection: SupplierConnectionObject,
}

/// Names one connection.
#[derive(InputObject)]
pub struct SupplierConnectionInput {
    /// The restaurant (UUID).
    restaurant_id: ID,
    /// The connector's key.
    supplier_key: String,
}

/// Result of `syncSupplier` and `pullSupplierInvoices`.
#[derive(SimpleObject)]
pub struct ConnectorRunPayload {
    run: ConnectorRunObject,
}

/// One line for the wholesaler's cart.
#[derive(InputObject)]
pub struct PrefillLineInput {
    /// The wholesaler's article number (an item of the mirrored catalog).
    external_id: String,
    /// How many (1–100000).
    quantity: i64,
}

/// Input of `prefillSupplierCart`: an order's lines, or lines of the mirrored catalog.
#[derive(InputObject)]
pub struct PrefillSupplierCartInput {
    /// The restaurant (UUID).
    restaurant_id: ID,
    /// The connector's key.
    supplier_key: String,
    /// An order of the restaurant whose products the wholesaler's mirrored items map to.
    order_id: Option<ID>,
    /// Or lines of the mirrored catalog (1–500).
    lines: Option<Vec<PrefillLineInput>>,
}

/// Result of `prefillSupplierCart`.
#[derive(SimpleObject)]
pub struct PrefillSupplierCartPayload {
    /// The wholesaler's cart page, where the restaurant reviews and submits the order.
    deep_link: String,
    /// Lines put in the cart.
    lines: i32,
    /// SKUs of order lines with no mirrored item.
    skipped_skus: Vec<String>,
    run: ConnectorRunObject,
}

/// Input of `linkConnectorSupplier`.
#[derive(InputObject)]
pub struct LinkConnectorSupplierInput {
    /// The connector's key.
    supplier_key: String,
    /// The Iris supplier the wholesaler is (UUID); null unlinks.
    supplier_id: Option<ID>,
}

/// Result of `linkConnectorSupplier`.
#[derive(SimpleObject)]
pub struct ConnectorPayload {
    connector: ConnectorObject,
}

#[derive(Default)]
pub struct IntegrationSubscription;

#[Subscription]
impl IntegrationSubscription {
    /// A sync's (or prefill's, or invoice pull's) progress, live: how it stands now, then each
    /// change, ending with the one that finishes it. The restaurant's members and admins.
    async fn connector_run_progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run (UUID), as `syncSupplier` answers it.")] run_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ConnectorRunObject>> + use<>>
    {
        let id = parse_id("runId", &run_id)?;
        let stream = services(ctx)?
            .integrations
            .watch_run(caller(ctx), id)
            .await?;
        Ok(stream.map(|item| {
            item.map(ConnectorRunObject)
                .map_err(async_graphql::Error::from)
        }))
    }
}

#[derive(Default)]
pub struct IntegrationMutation;

#[Object]
impl IntegrationMutation {
    /// Connects the restaurant's account at a wholesaler, on its consent: the credentials sign
    /// in once and are forgotten; only the encrypted session is kept (≤ 24 h). A refused
    /// sign-in is CONNECTOR_AUTH_FAILED (audited).
    async fn connect_supplier(
        &self,
        ctx: &Context<'_>,
        input: ConnectSupplierInput,
    ) -> async_graphql::Result<SupplierConnectionPayload> {
        let restaurant = parse_id("restaurantId", &input.restaurant_id)?;
        let scopes: Vec<domain::Scope> = input.scopes.into_iter().map(Into::into).collect();
        let connection = services(ctx)?
            .integrations
            .connect(
                caller(ctx),
                restaurant,
                &input.supplier_key,
                Credentials {
                    username: input.username,
                    password: input.password,
                },
                input.consent.accepted,
                &input.consent.version,
                &scopes,
            )
            .await?;
        Ok(SupplierConnectionPayload {
            connection: SupplierConnectionObject(connection),
        })
    }

    /// Disconnects: the session is deleted at once, with the mirrored catalog (audited).
    async fn disconnect_supplier(
        &self,
        ctx: &Context<'_>,
        input: SupplierConnectionInput,
    ) -> async_graphql::Result<SupplierConnectionPayload> {
        let restaurant = parse_id("restaurantId", &input.restaurant_id)?;
        let connection = services(ctx)?
            .integrations
            .disconnect(caller(ctx), restaurant, &input.supplier_key)
            .await?;
        Ok(SupplierConnectionPayload {
            connection: SupplierConnectionObject(connection),
        })
    }

    /// Starts a sync of the mirrored catalog; the run reports its progress (`connectorRun`).
    async fn sync_supplier(
        &self,
        ctx: &Context<'_>,
        input: SupplierConnectionInput,
    ) -> async_graphql::Result<ConnectorRunPayload> {
        let restaurant = parse_id("restaurantId", &input.restaurant_id)?;
        let run = services(ctx)?
            .integrations
            .start_sync(caller(ctx), restaurant, &input.supplier_key)
            .await?;
        Ok(ConnectorRunPayload {
            run: ConnectorRunObject(run),
        })
    }

    /// Fills the wholesaler's cart (never submits it) from an order or from catalog lines, and
    /// answers the cart page where the restaurant submits it (audited).
    async fn prefill_supplier_cart(
        &self,
        ctx: &Context<'_>,
        input: PrefillSupplierCartInput,
    ) -> async_graphql::Result<PrefillSupplierCartPayload> {
        let restaurant = parse_id("restaurantId", &input.restaurant_id)?;
        let order = input
            .order_id
            .map(|id| parse_id("orderId", &id))
            .transpose()?;
        let lines = input.lines.map(|lines| {
            lines
                .into_iter()
                .map(|l| (l.external_id, l.quantity))
                .collect()
        });
        let source = PrefillSource::of(order, lines)?;
        let prefill = services(ctx)?
            .integrations
            .prefill(caller(ctx), restaurant, &input.supplier_key, source)
            .await?;
        Ok(PrefillSupplierCartPayload {
            deep_link: prefill.deep_link,
            lines: prefill.lines as i32,
            skipped_skus: prefill.skipped,
            run: ConnectorRunObject(prefill.run),
        })
    }

    /// Pulls the invoices the wholesaler lists that were not pulled before into invoicing.
    async fn pull_supplier_invoices(
        &self,
        ctx: &Context<'_>,
        input: SupplierConnectionInput,
    ) -> async_graphql::Result<ConnectorRunPayload> {
        let restaurant = parse_id("restaurantId", &input.restaurant_id)?;
        let run = services(ctx)?
            .integrations
            .pull_invoices(caller(ctx), restaurant, &input.supplier_key)
            .await?;
        Ok(ConnectorRunPayload {
            run: ConnectorRunObject(run),
        })
    }

    /// Says which Iris supplier a wholesaler is, so its mirrored items map to that supplier's
    /// products and pulled invoices enter invoicing (admins; audited).
    async fn link_connector_supplier(
        &self,
        ctx: &Context<'_>,
        input: LinkConnectorSupplierInput,
    ) -> async_graphql::Result<ConnectorPayload> {
        let supplier = input
            .supplier_id
            .as_ref()
            .map(|id| parse_id("supplierId", id))
            .transpose()?;
        let connector = services(ctx)?
            .integrations
            .link_supplier(caller(ctx), &input.supplier_key, supplier)
            .await?;
        Ok(ConnectorPayload {
            connector: ConnectorObject(connector),
        })
    }
}
