//! Operator endpoints: `/healthz` (the process is up), `/readyz` (its dependencies answer),
//! `/metrics` (Prometheus), and the envelope answers for unknown routes and wrong methods.

use axum::{
    Json,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use crate::{error::AppError, infra::db, web::ApiState};

/// Liveness: answers as long as the process serves HTTP.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `/readyz` parameters.
#[derive(serde::Deserialize)]
pub struct ReadyParams {
    /// `1`/`true`: Redis being unreachable makes the instance not ready (the old meaning).
    #[serde(default)]
    strict: Option<String>,
}

/// Readiness: the database answers within 2 s. Redis is an accelerator: when it is unreachable
/// the instance still serves (limits in process, live subscribers told to resubscribe), so it
/// stays ready and reports Redis `degraded` — unless `?strict=1` asks for every dependency.
/// 503 names the failing dependency; the cause goes to the log, not the response.
pub async fn readyz(State(state): State<ApiState>, Query(params): Query<ReadyParams>) -> Response {
    let strict = matches!(params.strict.as_deref(), Some("1" | "true"));
    let (database, bus) = tokio::join!(db::ping(&state.db), state.bus.check());
    let mut checks = Map::new();
    let mut failing = Vec::new();
    let mut degraded = Vec::new();
    match database {
        Ok(()) => {
            checks.insert("database".into(), json!("ok"));
        }
        Err(error) => {
            tracing::warn!(dependency = "database", error = ?error, "readiness check failed");
            checks.insert("database".into(), json!("unavailable"));
            failing.push("database");
        }
    }
    if state.bus.backend() == "redis" {
        match bus {
            Ok(()) => {
                checks.insert("redis".into(), json!("ok"));
            }
            Err(error) => {
                tracing::warn!(dependency = "redis", error = ?error, "Redis unreachable; serving degraded");
                if strict {
                    checks.insert("redis".into(), json!("unavailable"));
                    failing.push("redis");
                } else {
                    checks.insert("redis".into(), json!("degraded"));
                    degraded.push("redis");
                }
            }
        }
    }
    if !failing.is_empty() {
        let body = json!({
            "status": "unavailable",
            "message": format!("not ready: {} unavailable", failing.join(", ")),
            "failing": failing,
            "checks": checks,
        });
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(crate::error::RETRY_AFTER_SECS),
        );
        return response;
    }
    let body = if degraded.is_empty() {
        json!({ "status": "ready", "checks": checks })
    } else {
        json!({
            "status": "ready",
            "degraded": degraded,
            "message": format!("ready, degraded: {} unavailable (served without it)", degraded.join(", ")),
            "checks": checks,
        })
    };
    (StatusCode::OK, Json(body)).into_response()
}

/// Prometheus text exposition of the API metrics and process metrics; with `METRICS_TOKEN`
/// set, only for `Authorization: Bearer <token>` (401 otherwise).
pub async fn metrics(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        if !given.is_some_and(|given| same_secret(given, token)) {
            return AppError::Unauthenticated(
                "/metrics needs `Authorization: Bearer <METRICS_TOKEN>`".into(),
            )
            .into_response();
        }
    }
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Compares two secrets in time that does not depend on where they differ: their SHA-256
/// digests are compared whole.
fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}
