//! Operator endpoints: `/healthz` (the process is up), `/readyz` (its dependencies answer),
//! `/metrics` (Prometheus), and the envelope answers for unknown routes and wrong methods.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use crate::{app::AppState, infra::db};

/// Liveness: answers as long as the process serves HTTP.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database and, when configured, Redis answer within 2 s. 503 names the failing
/// dependency; the cause goes to the log, not the response.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (database, bus) = tokio::join!(db::ping(&state.db), state.bus.check());
    let mut checks = Map::new();
    let mut failing = Vec::new();
    let mut record = |name: &str, result: anyhow::Result<()>| match result {
        Ok(()) => {
            checks.insert(name.into(), json!("ok"));
        }
        Err(error) => {
            tracing::warn!(dependency = name, error = ?error, "readiness check failed");
            checks.insert(name.into(), json!("unavailable"));
            failing.push(name.to_owned());
        }
    };
    record("database", database);
    if state.bus.backend() == "redis" {
        record("redis", bus);
    }
    if failing.is_empty() {
        (
            StatusCode::OK,
            Json(json!({ "status": "ready", "checks": checks })),
        )
            .into_response()
    } else {
        let body = json!({
            "status": "unavailable",
            "message": format!("not ready: {} unavailable", failing.join(", ")),
            "failing": failing,
            "checks": checks,
        });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}

/// Prometheus text exposition of the API metrics and process metrics.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
