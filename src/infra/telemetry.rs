//! Logging and request correlation.
//!
//! Every request gets one span carrying its request id (taken from a well-formed incoming
//! `x-request-id`, otherwise a new UUID), so every log line written while serving it — including
//! error chains logged by `AppError` — carries the id. The id is echoed in the response header.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Instrument as _;
use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::{
    error::{AppError, InternalErrors},
    infra::db::RequestBudget,
};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured lines (development default).
    Pretty,
    /// One JSON object per line, with the request id of the span (production default).
    Json,
}

pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id correlating a request's logs, errors and response.
#[derive(Clone, Debug)]
pub struct RequestId(pub Arc<str>);

impl RequestId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Accepts an incoming id only if it is short and printable, so ids cannot forge log lines.
    fn from_header(value: &HeaderValue) -> Option<Self> {
        let value = value.to_str().ok()?;
        let ok = !value.is_empty()
            && value.len() <= 128
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        ok.then(|| RequestId(value.into()))
    }

    pub fn generate() -> Self {
        RequestId(uuid::Uuid::now_v7().to_string().into())
    }
}

/// Installs the global subscriber: pretty lines in development, JSON with `LOG_FORMAT=json`.
/// Logs go to stderr, so command output on stdout (`iris schema`, `iris migrate status`) stays
/// clean.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Pretty => registry
            .with(fmt::layer().with_target(false).with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(true),
            )
            .try_init(),
    };
    // A subscriber may already be installed (tests); keep it.
    let _ = result;
}

/// Header lines a request may carry (hyper's own default, answered here with the envelope).
const MAX_HEADERS: usize = 100;

/// What every request gets: a time budget and a share of the database pool.
#[derive(Clone, Copy, Debug)]
pub struct RequestLimits {
    /// `REQUEST_TIMEOUT_SECS`.
    pub timeout: Duration,
    /// `DATABASE_REQUEST_CONCURRENCY`.
    pub db_concurrency: usize,
    /// `MAX_HEADER_BYTES`: names, values and their separators, summed.
    pub max_header_bytes: usize,
}

/// Outermost middleware: request id, the request's span, its database budget, the completion
/// log line (with the statements it ran), and the request timeout (answered with the error
/// envelope).
pub async fn request_span(
    State(limits): State<RequestLimits>,
    mut request: Request,
    next: Next,
) -> Response {
    let timeout = limits.timeout;
    let request_id = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(RequestId::from_header)
        .unwrap_or_else(RequestId::generate);
    request.extensions_mut().insert(request_id.clone());
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > limits.max_header_bytes || request.headers().len() > MAX_HEADERS {
        let mut response = AppError::HeadersTooLarge {
            limit_bytes: limits.max_header_bytes,
        }
        .into_response();
        if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
            response
                .headers_mut()
                .insert(REQUEST_ID_HEADER.clone(), value);
        }
        return response;
    }

    let span = tracing::info_span!(
        "request",
        request_id = %request_id.as_str(),
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = std::time::Instant::now();
    let budget = RequestBudget::new(limits.db_concurrency);
    let internal_errors = InternalErrors::default();
    let mut response = async move {
        let run = internal_errors.scope(budget.clone().scope(next.run(request)));
        let response = match tokio::time::timeout(timeout, run).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(timeout_secs = timeout.as_secs(), "request timed out");
                AppError::Unavailable("The request took too long and was abandoned".into())
                    .into_response()
            }
        };
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        internal_errors.flush();
        let db_statements = budget.statements();
        if status >= 500 {
            tracing::error!(status, latency_ms, db_statements, "request failed");
        } else {
            tracing::info!(status, latency_ms, db_statements, "request completed");
        }
        response
    }
    .instrument(span)
    .await;

    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response
            .headers_mut()
            .insert(REQUEST_ID_HEADER.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_incoming_ids_are_kept() {
        let ok = HeaderValue::from_static("abc-123_x.y:z");
        assert_eq!(
            RequestId::from_header(&ok).unwrap().as_str(),
            "abc-123_x.y:z"
        );
        let injected = HeaderValue::from_static("a\" level=error msg=\"forged");
        assert!(RequestId::from_header(&injected).is_none());
        let long = HeaderValue::from_str(&"a".repeat(129)).unwrap();
        assert!(RequestId::from_header(&long).is_none());
    }
}
