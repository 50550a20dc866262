//! `AppError`: the one error type of request handling, and its one mapping to the wire.
//!
//! Policy:
//! - Domain services return `AppError` with a stable code; adapters never invent codes.
//! - Infrastructure failures become `AppError::Internal` (an `anyhow::Error` with context). They
//!   are logged once, with their cause chain, inside the request's span (so the line carries the
//!   request id), and the client sees only "Internal server error".
//! - GraphQL: [`From<AppError> for async_graphql::Error`] sets `extensions { code, status }`;
//!   `graphql::errors` adds `timestamp` and `requestId` to every error of every response.
//! - REST: [`IntoResponse`] writes the Iris envelope
//!   `{"error","message","status","timestamp"}` (plus `fields` for validation errors).
//!
//! `AppError` deliberately does not implement `Display`: async-graphql converts any `Display`
//! type into an error *without* extensions, and that conversion must not be reachable by `?`.

use async_graphql::ErrorExtensions as _;
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// A rule one input field broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldViolation {
    /// The field's name as the client spelled it (camelCase), e.g. `contactEmail`.
    pub field: String,
    /// The rule, e.g. "must be a valid e-mail address".
    pub message: String,
}

#[derive(Debug)]
pub enum AppError {
    /// Well-formed input that breaks a rule (422); names every offending field.
    Validation(Vec<FieldViolation>),
    /// Malformed request: unparsable JSON, bad query string (400).
    BadRequest(String),
    NotFound {
        entity: &'static str,
        id: String,
    },
    /// The request conflicts with current state, e.g. a unique value already taken (409).
    Conflict(String),
    /// An order asks for more units of a product than are in stock (409).
    InsufficientStock {
        product_id: uuid::Uuid,
        sku: String,
        name: String,
        requested: i64,
        available: i64,
    },
    /// An order cannot move from its current status to the one asked for (409).
    InvalidTransition(String),
    /// An invoice that disagrees with its order cannot be approved as it is (409).
    ReconciliationFailed(String),
    /// A wholesaler's portal refused the restaurant's credentials or its session (422).
    ConnectorAuthFailed(String),
    Unauthenticated(String),
    Forbidden(String),
    RateLimited {
        retry_after_secs: u64,
    },
    MethodNotAllowed,
    PayloadTooLarge {
        limit_bytes: Option<usize>,
    },
    /// The request's header section is over `MAX_HEADER_BYTES` (431).
    HeadersTooLarge {
        limit_bytes: usize,
    },
    UnsupportedMediaType(String),
    /// A dependency is down (503); the message names it but shows no internals.
    Unavailable(String),
    Internal(anyhow::Error),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldViolation {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        AppError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// The stable, machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "VALIDATION",
            AppError::BadRequest(_) => "BAD_REQUEST",
            AppError::NotFound { .. } => "NOT_FOUND",
            AppError::Conflict(_) => "CONFLICT",
            AppError::InsufficientStock { .. } => "INSUFFICIENT_STOCK",
            AppError::InvalidTransition(_) => "INVALID_TRANSITION",
            AppError::ReconciliationFailed(_) => "RECONCILIATION_FAILED",
            AppError::ConnectorAuthFailed(_) => "CONNECTOR_AUTH_FAILED",
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            AppError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            AppError::HeadersTooLarge { .. } => "HEADERS_TOO_LARGE",
            AppError::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            AppError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_) | AppError::ConnectorAuthFailed(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::Conflict(_)
            | AppError::InsufficientStock { .. }
            | AppError::InvalidTransition(_)
            | AppError::ReconciliationFailed(_) => StatusCode::CONFLICT,
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The envelope's `error` name (`NotFoundError`, …).
    fn envelope_name(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "ValidationError",
            AppError::BadRequest(_) => "BadRequestError",
            AppError::NotFound { .. } => "NotFoundError",
            AppError::Conflict(_) => "ConflictError",
            AppError::InsufficientStock { .. } => "InsufficientStockError",
            AppError::InvalidTransition(_) => "InvalidTransitionError",
            AppError::ReconciliationFailed(_) => "ReconciliationFailedError",
            AppError::ConnectorAuthFailed(_) => "ConnectorAuthFailedError",
            AppError::Unauthenticated(_) => "AuthenticationError",
            AppError::Forbidden(_) => "ForbiddenError",
            AppError::RateLimited { .. } => "RateLimitError",
            AppError::MethodNotAllowed => "MethodNotAllowedError",
            AppError::PayloadTooLarge { .. } => "PayloadTooLargeError",
            AppError::HeadersTooLarge { .. } => "RequestHeaderFieldsTooLargeError",
            AppError::UnsupportedMediaType(_) => "UnsupportedMediaTypeError",
            AppError::Unavailable(_) => "ServiceUnavailableError",
            AppError::Internal(_) => "InternalServerError",
        }
    }

    /// The message shown to clients; never internals.
    pub fn message(&self) -> String {
        match self {
            AppError::Validation(violations) => violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.message))
                .collect::<Vec<_>>()
                .join("; "),
            AppError::BadRequest(m)
            | AppError::Conflict(m)
            | AppError::InvalidTransition(m)
            | AppError::ReconciliationFailed(m)
            | AppError::ConnectorAuthFailed(m)
            | AppError::Unauthenticated(m)
            | AppError::Forbidden(m)
            | AppError::UnsupportedMediaType(m)
            | AppError::Unavailable(m) => m.clone(),
            AppError::NotFound { entity, id } => format!("{entity} {id} not found"),
            AppError::InsufficientStock {
                sku,
                name,
                requested,
                available,
                ..
            } => format!(
                "Not enough stock of {name} (SKU {sku}): {requested} requested, {available} available"
            ),
            AppError::RateLimited { retry_after_secs } => {
                format!("Too many requests; retry after {retry_after_secs} s")
            }
            AppError::MethodNotAllowed => "Method not allowed on this resource".into(),
            AppError::PayloadTooLarge {
                limit_bytes: Some(limit),
            } => format!("Request body exceeds the limit of {limit} bytes"),
            AppError::PayloadTooLarge { limit_bytes: None } => "Request body is too large".into(),
            AppError::HeadersTooLarge { limit_bytes } => {
                format!(
                    "Request headers exceed the limit of {limit_bytes} bytes (or 100 header lines)"
                )
            }
            AppError::Internal(_) => "Internal server error".into(),
        }
    }

    /// Seconds to wait before retrying, for the errors a retry can cure.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            AppError::Unavailable(_) => Some(RETRY_AFTER_SECS),
            _ => None,
        }
    }

    /// For callers outside a request (start-up, CLI), where an `anyhow::Error` is wanted.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            AppError::Internal(err) => err,
            other => anyhow::anyhow!("{}: {}", other.code(), other.message()),
        }
    }

    /// Logs server-side failures once, with their cause chain, in the current (request) span.
    fn log(&self) {
        if let AppError::Internal(err) = self {
            log_internal(err);
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        // A database outage keeps its meaning through `.context(…)`.
        if let Some(db) = err
            .chain()
            .find_map(|cause| cause.downcast_ref::<sea_orm::DbErr>())
            .filter(|db| is_unavailable(db))
        {
            return database_unavailable(db);
        }
        AppError::Internal(err)
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        if is_unavailable(&err) {
            return database_unavailable(&err);
        }
        AppError::Internal(anyhow::Error::new(err).context("database operation failed"))
    }
}

/// What a live subscriber is told when events may have been missed (the event bus was
/// unreachable, or the subscriber fell behind).
pub const LIVE_UPDATES_INTERRUPTED: &str = "Live updates were interrupted and events may have been missed: resubscribe, then refetch what you show";

/// The database cannot be reached: a retryable 503, logged as a warning (an outage is not a
/// bug, and every request of it would otherwise log an error).
fn database_unavailable(err: &sea_orm::DbErr) -> AppError {
    tracing::warn!(error = %err, "database unavailable");
    AppError::Unavailable(DATABASE_UNAVAILABLE.into())
}

/// What clients are told while the database cannot be reached.
pub const DATABASE_UNAVAILABLE: &str = "The database is unavailable; retry shortly";

/// Seconds a client is asked to wait (`Retry-After`) before retrying after a 503.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Turns a unique-constraint violation into a client error; other failures stay internal.
pub trait DbResultExt<T> {
    fn on_unique_violation(self, err: impl FnOnce() -> AppError) -> Result<T, AppError>;
    /// For an insert a unique constraint may refuse: `true` when it happened, `false` when the
    /// constraint refused it (someone else's row holds the key).
    fn unless_unique_violation(self) -> Result<bool, AppError>;
}

impl<T> DbResultExt<T> for Result<T, sea_orm::DbErr> {
    fn on_unique_violation(self, err: impl FnOnce() -> AppError) -> Result<T, AppError> {
        self.map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => err(),
            _ => e.into(),
        })
    }

    fn unless_unique_violation(self) -> Result<bool, AppError> {
        match self {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}

pub fn timestamp_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The REST error envelope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"error": "NotFoundError", "message": "Supplier 0193… not found", "status": 404, "timestamp": "2026-11-21T10:00:00.000Z"}))]
pub struct ErrorEnvelope {
    /// Error class, e.g. `NotFoundError`, `ValidationError`.
    pub error: &'static str,
    /// Human-readable message; never internals.
    pub message: String,
    /// HTTP status code, repeated.
    pub status: u16,
    /// When the error happened (UTC, RFC 3339).
    pub timestamp: String,
    /// For `ValidationError`: every offending field and the rule it broke.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub fields: Option<Vec<FieldViolation>>,
    /// For `InsufficientStockError`: the product that ran short.
    #[serde(rename = "productId", skip_serializing_if = "Option::is_none")]
    pub product_id: Option<uuid::Uuid>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let body = ErrorEnvelope {
            error: self.envelope_name(),
            message: self.message(),
            status: status.as_u16(),
            timestamp: timestamp_now(),
            fields: match &self {
                AppError::Validation(v) => Some(v.clone()),
                _ => None,
            },
            product_id: match &self {
                AppError::InsufficientStock { product_id, .. } => Some(*product_id),
                _ => None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == axum::http::StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.log();
        let status = err.status().as_u16();
        let code = err.code();
        let fields = match &err {
            AppError::Validation(v) => Some(v.clone()),
            _ => None,
        };
        let retry_after = err.retry_after();
        let product_id = match &err {
            AppError::InsufficientStock { product_id, .. } => Some(product_id.to_string()),
            _ => None,
        };
        async_graphql::Error::new(err.message()).extend_with(move |_, ext| {
            ext.set("code", code);
            ext.set("status", status);
            if let Some(fields) = &fields {
                let list: Vec<async_graphql::Value> = fields
                    .iter()
                    .map(|f| {
                        let mut m = async_graphql::indexmap::IndexMap::new();
                        m.insert(async_graphql::Name::new("field"), f.field.clone().into());
                        m.insert(
                            async_graphql::Name::new("message"),
                            f.message.clone().into(),
                        );
                        async_graphql::Value::Object(m)
                    })
                    .collect();
                ext.set("fields", list);
            }
            if let Some(secs) = retry_after {
                ext.set("retryAfter", secs);
            }
            if let Some(id) = &product_id {
                ext.set("productId", id.as_str());
            }
        })
    }
}

/// Whether `err` means the database cannot be reached right now — connection refused or lost,
/// no pooled connection within the acquire timeout, the server shutting down or out of
/// connection slots — rather than a bad statement: a retryable 503, not a bug.
fn is_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        sea_orm::DbErr::ConnectionAcquire(_) => true,
        sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(cause))
        | sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(cause))
        | sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(cause)) => match cause.as_ref() {
            Sqlx::Io(_)
            | Sqlx::Tls(_)
            | Sqlx::PoolTimedOut
            | Sqlx::PoolClosed
            | Sqlx::WorkerCrashed => true,
            // Postgres: class 08 (connection exception), 57P01–57P03 (shutdown, cannot
            // connect now), 53300 (too many connections).
            // SQLite: 5 (BUSY), 517 (BUSY_SNAPSHOT), 6 (LOCKED) — the busy timeout ran out.
            Sqlx::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08")
                    || matches!(
                        code.as_ref(),
                        "57P01" | "57P02" | "57P03" | "53300" | "5" | "517" | "6"
                    )
            }),
            _ => false,
        },
        sea_orm::DbErr::Conn(_) => true,
        _ => false,
    }
}

tokio::task_local! {
    static INTERNAL_ERRORS: InternalErrors;
}

/// Internal errors of one request, collected while it runs and logged when it ends: each
/// distinct error once, with its count, so a document whose 500 resolvers fail alike writes
/// one line, not 500.
#[derive(Clone, Default)]
pub struct InternalErrors(std::sync::Arc<std::sync::Mutex<Vec<(String, u64)>>>);

impl InternalErrors {
    /// Runs `work` collecting the internal errors it logs.
    pub async fn scope<F: std::future::Future>(&self, work: F) -> F::Output {
        INTERNAL_ERRORS.scope(self.clone(), work).await
    }

    /// Logs what was collected (and forgets it).
    pub fn flush(&self) {
        let errors = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        for (error, count) in errors {
            tracing::error!(%error, count, "internal error");
        }
    }
}

/// Logs an internal error with its cause chain — at once outside a request; inside one,
/// collected and logged when the request ends ([`InternalErrors`]).
pub fn log_internal(error: &anyhow::Error) {
    let line = format!("{error:?}");
    let recorded = INTERNAL_ERRORS.try_with(|errors| {
        let mut errors = errors.0.lock().unwrap_or_else(|p| p.into_inner());
        match errors.iter_mut().find(|(seen, _)| *seen == line) {
            Some((_, count)) => *count += 1,
            None => errors.push((line.clone(), 1)),
        }
    });
    if recorded.is_err() {
        tracing::error!(error = %line, "internal error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_show_their_cause() {
        let err = AppError::Internal(anyhow::anyhow!("password=hunter2 at db.internal:5432"));
        assert_eq!(err.message(), "Internal server error");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let gql: async_graphql::Error = err.into();
        assert_eq!(gql.message, "Internal server error");
    }

    #[test]
    fn validation_names_every_field() {
        let err = AppError::Validation(vec![
            FieldViolation {
                field: "name".into(),
                message: "must not be empty".into(),
            },
            FieldViolation {
                field: "contactEmail".into(),
                message: "must be a valid e-mail address".into(),
            },
        ]);
        assert_eq!(
            err.message(),
            "name: must not be empty; contactEmail: must be a valid e-mail address"
        );
        assert_eq!(err.code(), "VALIDATION");
    }
}
