//! Supplier connectors over REST: `/api/v1/integrations` (the connectors),
//! `/api/v1/integrations/{supplier}/connect|status|sync|cart/prefill|invoices/pull`,
//! `DELETE /api/v1/integrations/{supplier}` and `/api/v1/connector-runs/{id}` — the same
//! service as GraphQL's `connectSupplier`, `supplierConnection`, `syncSupplier`,
//! `prefillSupplierCart`, `pullSupplierInvoices`, `disconnectSupplier` and `connectorRun`.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{
    domain::integrations::{
        CONSENT_TEXT, CONSENT_VERSION, Connection, Connector, Credentials, PrefillSource, Run,
        Scope,
    },
    error::{AppError, ErrorEnvelope},
    web::{ApiState, extract::SignedIn},
};

/// A configured wholesaler connector.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorDto {
    key: String,
    name: String,
    /// HTTP or BROWSER.
    driver: &'static str,
    /// False when the portal's terms do not allow the mirror.
    allowed: bool,
    terms: String,
    /// OK or DEGRADED (a configured selector matches nothing).
    status: &'static str,
    /// The Iris supplier the wholesaler is, where it sells on Iris too (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier_id: Option<Uuid>,
    checked_at: Option<DateTime<Utc>>,
}

impl From<Connector> for ConnectorDto {
    fn from(c: Connector) -> Self {
        ConnectorDto {
            key: c.key,
            name: c.name,
            driver: c.driver.as_str(),
            allowed: c.allowed,
            terms: c.terms,
            status: if c.degraded { "DEGRADED" } else { "OK" },
            supplier_id: c.supplier_id,
            checked_at: c.checked_at,
        }
    }
}

/// The connectors and the consent text a connection accepts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorsResponse {
    data: Vec<ConnectorDto>,
    consent: ConsentDto,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentDto {
    version: &'static str,
    text: &'static str,
}

/// A restaurant's connection to its account at a wholesaler.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionDto {
    id: Uuid,
    restaurant_id: Uuid,
    supplier_key: String,
    /// ACTIVE, EXPIRED, FAILED or DISCONNECTED.
    status: &'static str,
    /// CATALOG, PRICES, ORDERS.
    scopes: Vec<&'static str>,
    consent_version: String,
    consented_at: DateTime<Utc>,
    session_expires_at: Option<DateTime<Utc>>,
    last_sync_at: Option<DateTime<Utc>>,
    last_sync_status: Option<&'static str>,
    last_error: Option<String>,
    catalog_items: i64,
}

impl From<Connection> for ConnectionDto {
    fn from(c: Connection) -> Self {
        ConnectionDto {
            id: c.id,
            restaurant_id: c.restaurant_id,
            supplier_key: c.supplier_key,
            status: c.status.as_str(),
            scopes: c.scopes.iter().map(|s| s.as_str()).collect(),
            consent_version: c.consent_version,
            consented_at: c.consented_at,
            session_expires_at: c.session_expires_at,
            last_sync_at: c.last_sync_at,
            last_sync_status: c.last_sync_status.map(|s| s.as_str()),
            last_error: c.last_error,
            catalog_items: c.catalog_items,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConnectionResponse {
    data: ConnectionDto,
}

/// A sync, cart prefill or invoice pull.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunDto {
    id: Uuid,
    connection_id: Uuid,
    supplier_key: String,
    /// SYNC, PREFILL or INVOICE_PULL.
    kind: &'static str,
    /// RUNNING, SUCCEEDED or FAILED.
    status: &'static str,
    items: i64,
    /// Progress and outcome (pages, skipped items, the deep link, documents pulled).
    #[schema(value_type = Object)]
    detail: serde_json::Value,
    deep_link: Option<String>,
    order_id: Option<Uuid>,
    error: Option<String>,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<Run> for RunDto {
    fn from(r: Run) -> Self {
        RunDto {
            deep_link: r.deep_link().map(str::to_owned),
            id: r.id,
            connection_id: r.connection_id,
            supplier_key: r.supplier_key,
            kind: r.kind.as_str(),
            status: r.status.as_str(),
            items: r.items,
            detail: r.detail,
            order_id: r.order_id,
            error: r.error,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RunResponse {
    data: RunDto,
}

/// The configured wholesaler connectors (signed-in accounts) and the consent text.
#[utoipa::path(
    get, path = "/api/v1/integrations", tag = "integrations",
    responses((status = 200, description = "The connectors", body = ConnectorsResponse)),
    security(("bearer" = []))
)]
pub async fn connectors(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<ConnectorsResponse>, AppError> {
    let connectors = state.services.integrations.connectors(&caller).await?;
    Ok(Json(ConnectorsResponse {
        data: connectors.into_iter().map(Into::into).collect(),
        consent: ConsentDto {
            version: CONSENT_VERSION,
            text: CONSENT_TEXT,
        },
    }))
}

/// The consent, as accepted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// Must be true.
    accepted: bool,
    /// The consent text's version (`GET /api/v1/integrations`).
    #[schema(max_length = 32)]
    version: String,
}

/// Connect the restaurant's account at the wholesaler.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectRequest {
    restaurant_id: Uuid,
    /// Used once to sign in; never stored.
    #[schema(min_length = 1, max_length = 256)]
    username: String,
    /// Used once to sign in; never stored.
    #[schema(min_length = 1, max_length = 256, format = Password)]
    password: String,
    consent: ConsentRequest,
    /// CATALOG, PRICES, ORDERS (at least one).
    #[schema(min_items = 1, max_items = 3)]
    scopes: Vec<String>,
}

/// Connect a restaurant's account at a wholesaler on its consent: the credentials sign in
/// once and are forgotten; only the encrypted session is kept (≤ 24 h). A refused sign-in is
/// CONNECTOR_AUTH_FAILED (audited).
#[utoipa::path(
    post, path = "/api/v1/integrations/{supplier}/connect", tag = "integrations",
    params(("supplier" = String, Path, description = "The connector's key (martin_servera, menigo)")),
    request_body = ConnectRequest,
    responses(
        (status = 200, description = "Connected", body = ConnectionResponse),
        (status = 403, description = "Not the restaurant's member", body = ErrorEnvelope),
        (status = 404, description = "No such connector or restaurant", body = ErrorEnvelope),
        (status = 409, description = "The connector is switched off by its terms", body = ErrorEnvelope),
        (status = 422, description = "Consent missing, bad input, or CONNECTOR_AUTH_FAILED", body = ErrorEnvelope),
        (status = 503, description = "The portal is unreachable", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn connect(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<String>,
    ApiJson(body): ApiJson<ConnectRequest>,
) -> Result<Json<ConnectionResponse>, AppError> {
    let mut scopes = Vec::new();
    for (i, raw) in body.scopes.iter().enumerate() {
        scopes.push(Scope::parse(raw).ok_or_else(|| {
            AppError::validation(
                format!("scopes[{i}]"),
                "must be one of CATALOG, PRICES, ORDERS",
            )
        })?);
    }
    let connection = state
        .services
        .integrations
        .connect(
            &caller,
            body.restaurant_id,
            &supplier,
            Credentials {
                username: body.username,
                password: body.password,
            },
            body.consent.accepted,
            &body.consent.version,
            &scopes,
        )
        .await?;
    Ok(Json(ConnectionResponse {
        data: connection.into(),
    }))
}

/// Which restaurant's connection.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RestaurantParams {
    restaurant_id: Uuid,
}

/// A connection's status (the restaurant's members and admins).
#[utoipa::path(
    get, path = "/api/v1/integrations/{supplier}/status", tag = "integrations",
    params(("supplier" = String, Path, description = "The connector's key"), RestaurantParams),
    responses(
        (status = 200, description = "The connection", body = ConnectionResponse),
        (status = 403, description = "Not the restaurant's member", body = ErrorEnvelope),
        (status = 404, description = "No such connector, restaurant or connection", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn status(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<String>,
    ApiQuery(params): ApiQuery<RestaurantParams>,
) -> Result<Json<ConnectionResponse>, AppError> {
    let connection = state
        .services
        .integrations
        .status(&caller, params.restaurant_id, &supplier)
        .await?;
    Ok(Json(ConnectionResponse {
        data: connection.into(),
    }))
}

/// Disconnect: the session is deleted at once, with the mirrored catalog (audited).
#[utoipa::path(
    delete, path = "/api/v1/integrations/{supplier}", tag = "integrations",
    params(("supplier" = String, Path, description = "The connector's key"), RestaurantParams),
    responses(
        (status = 200, description = "Disconnected", body = ConnectionResponse),
        (status = 403, description = "Not the restaurant's member", body = ErrorEnvelope),
        (status = 404, description = "No such connector, restaurant or connection", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn disconnect(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<String>,
    ApiQuery(params): ApiQuery<RestaurantParams>,
) -> Result<Json<ConnectionResponse>, AppError> {
    let connection = state
        .services
        .integrations
        .disconnect(&caller, params.restaurant_id, &supplier)
        .await?;
    Ok(Json(ConnectionResponse {
        data: connection.into(),
    }))
}

/// Names the restaurant whose connection acts.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestaurantRequest {
    restaurant_id: Uuid,
}

/// Start a sync of the mirrored catalog; the run reports its progress
/// (`GET /api/v1/connector-runs/{id}`).
#[utoipa::path(
    post, path = "/api/v1/integrations/{supplier}/sync", tag = "integrations",
    params(("supplier" = String, Path, description = "The connector's key")),
    request_body = RestaurantRequest,
    responses(
        (status = 202, description = "The sync started", body = RunResponse),
        (status = 403, description = "Not the restaurant's member", body = ErrorEnvelope),
        (status = 404, description = "No such connector, restaurant or connection", body = ErrorEnvelope),
        (status = 409, description = "Not active, without the CATALOG scope, or a sync is running", body = ErrorEnvelope),
        (status = 422, description = "CONNECTOR_AUTH_FAILED: the session expired", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn sync(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<String>,
    ApiJson(body): ApiJson<RestaurantRequest>,
) -> Result<(StatusCode, Json<RunResponse>), AppError> {
    let run = state
        .services
        .integrations
        .start_sync(&caller, body.restaurant_id, &supplier)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(RunResponse { data: run.into() })))
}

/// Pull the invoices the wholesaler lists that were not pulled before into invoicing.
#[utoipa::path(
    post, path = "/api/v1/integrations/{supplier}/invoices/pull", tag = "integrations",
    params(("supplier" = String, Path, description = "The connector's key")),
    request_body = RestaurantRequest,
    responses(
        (status = 200, description = "The pull's run", body = RunResponse),
        (status = 403, description = "Not the restaurant's member", body = ErrorEnvelope),
        (status = 404, description = "No such connector, restaurant or connection", body = ErrorEnvelope),
        (status = 409, description = "Not active, or without the ORDERS scope", body = ErrorEnvelope),
        (status = 422, description = "CONNECTOR_AUTH_FAILED: the session ended", body = ErrorEnvelope),
        (status = 503, description = "The portal is unreachable", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn pull_invoices(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<String>,
    ApiJson(body): ApiJson<RestaurantRequest>,
) -> Result<Json<RunResponse>, AppError> {
    let run = state
        .services
        .integrations
        .pull_invoices(&caller, body.restaurant_id, &supplier)
        .await?;
    Ok(Json(RunResponse { data: run.into() }))
}

/// One line for the wholesaler's cart.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrefillLine {
    #[schema(max_length = 128)]
    external_id: String,
    #[schema(minimum = 1, maximum = 100000)]
    quantity: i64,
}

/// An order of the restaurant, or lines of the mirrored catalog (exactly one).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrefillRequest {
    restaurant_id: Uuid,
    order_id: Option<Uuid>,
    #[schema(max_items = 500)]
    lines: Option<Vec<PrefillLine>>,
}

/// A filled cart.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrefillDto {
    /// The wholesaler's cart page, where the restaurant reviews and submits the order.
    deep_link: String,
    lines: usize,
    /// SKUs of order lines with no mirrored item.
    skipped_skus: Vec<String>,
    run: RunDto,
}

#[derive(Serialize, ToSchema)]
pub struct PrefillResponse {
    data: PrefillDto,
}

/// Fill the wholesaler's cart (never submit it) from an order or catalog lines (audited).
#[utoipa::path(
    post, path = "/api/v1/integrations/{supplier}/cart/prefill", tag = "integrations",
    params(("supplier" = String, Path, description = "The connector's key")),
    request_body = PrefillRequest,
    responses(
        (status = 200, description = "The cart is filled", body = PrefillResponse),
        (status = 403, description = "Not the restaurant's member", body = ErrorEnvelope),
        (status = 404, description = "No such connector, restaurant, connection or order", body = ErrorEnvelope),
        (status = 409, description = "Not active, or without the ORDERS scope", body = ErrorEnvelope),
        (status = 422, description = "Bad lines, or CONNECTOR_AUTH_FAILED", body = ErrorEnvelope),
        (status = 503, description = "The portal is unreachable", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn prefill(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<String>,
    ApiJson(body): ApiJson<PrefillRequest>,
) -> Result<Json<PrefillResponse>, AppError> {
    let lines = body.lines.map(|lines| {
        lines
            .into_iter()
            .map(|l| (l.external_id, l.quantity))
            .collect()
    });
    let source = PrefillSource::of(body.order_id, lines)?;
    let prefill = state
        .services
        .integrations
        .prefill(&caller, body.restaurant_id, &supplier, source)
        .await?;
    Ok(Json(PrefillResponse {
        data: PrefillDto {
            deep_link: prefill.deep_link,
            lines: prefill.lines,
            skipped_skus: prefill.skipped,
            run: prefill.run.into(),
        },
    }))
}

/// One sync, prefill or invoice pull (the restaurant's members and admins).
#[utoipa::path(
    get, path = "/api/v1/connector-runs/{id}", tag = "integrations",
    params(("id" = Uuid, Path, description = "The run")),
    responses(
        (status = 200, description = "The run", body = RunResponse),
        (status = 404, description = "No such run", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn run(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RunResponse>, AppError> {
    let run = state.services.integrations.run(&caller, id).await?;
    Ok(Json(RunResponse { data: run.into() }))
}
