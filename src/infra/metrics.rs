//! Prometheus metrics of the API surfaces, and the middleware that records them.
//!
//! Label values are bounded: `operation` is a route template (never a raw path), a GraphQL
//! operation name from a capped set (names beyond `METRICS_MAX_OPERATIONS` share `__other`),
//! `__anonymous` or `unmatched`; `method` is one of the standard methods or `OTHER`;
//! `status_class` is `1xx`…`5xx`.

use std::{collections::HashSet, sync::Mutex, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::Method,
    middleware::Next,
    response::Response,
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

const LABELS: [&str; 4] = ["surface", "operation", "method", "status_class"];

/// What the GraphQL handler tells the metrics layer about a response: the operation's name and
/// the status class its errors imply (a GraphQL error can ride on an HTTP 200).
#[derive(Clone, Debug)]
pub struct GraphqlOutcome {
    pub operation: Option<String>,
    pub status: u16,
}

pub struct ApiMetrics {
    registry: Registry,
    job_runs: IntCounterVec,
    job_duration: HistogramVec,
    forecast_duration: prometheus::Histogram,
    pricing_duration: HistogramVec,
    db_statements: IntCounterVec,
    db_latency: prometheus::Histogram,
    requests: IntCounterVec,
    errors: IntCounterVec,
    latency: HistogramVec,
    operation_names: Mutex<HashSet<String>>,
    max_operations: usize,
}

impl ApiMetrics {
    pub fn new(max_operations: usize) -> anyhow::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "iris_api_requests_total",
                "API requests answered, by surface (graphql, graphql_ws, rest, ops), operation (GraphQL operation name or route template), HTTP method and status class",
            ),
            &LABELS,
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "iris_api_errors_total",
                "API requests that ended in an error (status class 4xx or 5xx, including GraphQL responses carrying errors), with the same labels as iris_api_requests_total",
            ),
            &LABELS,
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "iris_api_latency_seconds",
                "Time from receiving an API request to having its response ready, in seconds",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &LABELS,
        )?;
        let db_statements = IntCounterVec::new(
            Opts::new(
                "iris_db_statements_total",
                "SQL statements Iris sent to its database, by pool (request or background), kind (select, count, insert, update, delete, other) and outcome (ok or error)",
            ),
            &["pool", "kind", "outcome"],
        )?;
        let db_latency = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "iris_db_statement_duration_seconds",
                "Time one SQL statement took, from sending it to having its result, in seconds",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
        )?;
        let job_runs = IntCounterVec::new(
            Opts::new(
                "iris_job_runs_total",
                "Background job runs this process finished, by job and status (SUCCEEDED, FAILED, SKIPPED)",
            ),
            &["job", "status"],
        )?;
        let job_duration = HistogramVec::new(
            HistogramOpts::new(
                "iris_job_duration_seconds",
                "How long a background job run took, in seconds",
            )
            .buckets(vec![
                0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0,
            ]),
            &["job"],
        )?;
        let forecast_duration = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "iris_forecast_job_duration_seconds",
                "How long a successful `forecast-demand` run took (fitting, backtesting and storing every series), in seconds",
            )
            .buckets(vec![1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0]),
        )?;
        let pricing_duration = HistogramVec::new(
            HistogramOpts::new(
                "iris_pricing_job_duration_seconds",
                "How long a `refresh-prices` run took (reading signals, moving prices, recording changes), in seconds, by how it ended",
            )
            .buckets(vec![0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 1800.0]),
            &["status"],
        )?;
        registry.register(Box::new(pricing_duration.clone()))?;
        registry.register(Box::new(forecast_duration.clone()))?;
        registry.register(Box::new(job_runs.clone()))?;
        registry.register(Box::new(job_duration.clone()))?;
        registry.register(Box::new(db_statements.clone()))?;
        registry.register(Box::new(db_latency.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Self {
            registry,
            job_runs,
            job_duration,
            forecast_duration,
            pricing_duration,
            db_statements,
            db_latency,
            requests,
            errors,
            latency,
            operation_names: Mutex::new(HashSet::new()),
            max_operations,
        })
    }

    /// Adds metrics that live elsewhere (the invoicing context's extraction metrics) to what
    /// `/metrics` shows.
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) -> anyhow::Result<()> {
        self.registry.register(collector)?;
        Ok(())
    }

    /// Counts and times every statement of the pool `db` (SeaORM's metric callback;
    /// transactions opened from the connection inherit it); `pool` is `request` or `background`.
    pub fn instrument(&self, db: &mut sea_orm::DatabaseConnection, pool: &'static str) {
        let statements = self.db_statements.clone();
        let latency = self.db_latency.clone();
        db.set_metric_callback(move |info| {
            let outcome = if info.failed { "error" } else { "ok" };
            let kind = statement_kind(&info.statement.sql);
            statements.with_label_values(&[pool, kind, outcome]).inc();
            latency.observe(info.elapsed.as_secs_f64());
        });
    }

    /// Counts a finished job run (job names come from the registry: bounded).
    pub fn job_finished(&self, job: &str, status: &str, seconds: f64) {
        self.job_runs.with_label_values(&[job, status]).inc();
        if status != "SKIPPED" {
            self.job_duration.with_label_values(&[job]).observe(seconds);
        }
        // The product spec's own metric for the forecast run.
        if job == "forecast-demand" && status == "SUCCEEDED" {
            self.forecast_duration.observe(seconds);
        }
        if job == "refresh-prices" && status != "SKIPPED" {
            self.pricing_duration
                .with_label_values(&[status])
                .observe(seconds);
        }
    }

    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "encoding metrics failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }

    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return "__anonymous".into();
        };
        // GraphQL names are [_A-Za-z][_0-9A-Za-z]*; anything else is not a real name.
        let valid = name.len() <= 100
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return "__other".into();
        }
        let mut seen = self
            .operation_names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.contains(name) {
            name.to_owned()
        } else if seen.len() < self.max_operations {
            seen.insert(name.to_owned());
            name.to_owned()
        } else {
            "__other".into()
        }
    }

    fn observe(&self, labels: [&str; 4], seconds: f64, is_error: bool) {
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
        if is_error {
            self.errors.with_label_values(&labels).inc();
        }
    }
}

fn surface_of(path: &str) -> &'static str {
    if path == "/graphql/ws" {
        "graphql_ws"
    } else if path == "/graphql" {
        "graphql"
    } else if path == "/api/v1" || path.starts_with("/api/v1/") {
        "rest"
    } else {
        "ops"
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Records every request: count, errors and latency.
pub async fn track(
    State(metrics): State<std::sync::Arc<ApiMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let surface = surface_of(route.as_deref().unwrap_or(request.uri().path()));

    let response = next.run(request).await;

    let (operation, status) = match response.extensions().get::<GraphqlOutcome>() {
        Some(outcome) => (
            metrics.operation_label(outcome.operation.as_deref()),
            outcome.status,
        ),
        None => (
            route.unwrap_or_else(|| "unmatched".into()),
            response.status().as_u16(),
        ),
    };
    metrics.observe(
        [surface, &operation, method, status_class(status)],
        started.elapsed().as_secs_f64(),
        status >= 400,
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_bounded() {
        let metrics = ApiMetrics::new(2).unwrap();
        assert_eq!(metrics.operation_label(Some("A")), "A");
        assert_eq!(metrics.operation_label(Some("B")), "B");
        assert_eq!(metrics.operation_label(Some("C")), "__other");
        assert_eq!(metrics.operation_label(Some("A")), "A");
        assert_eq!(metrics.operation_label(None), "__anonymous");
        assert_eq!(metrics.operation_label(Some("no spaces")), "__other");
    }
}

/// The kind of an SQL statement, for the statements metric: its verb, with counts apart (a
/// `COUNT` over a whole list is the statement a page should not pay for unasked).
fn statement_kind(sql: &str) -> &'static str {
    let head: String = sql
        .trim_start()
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_uppercase();
    let verb = head.split_whitespace().next().unwrap_or_default();
    match verb {
        "SELECT" if head.starts_with("SELECT COUNT(") => "count",
        "SELECT" | "WITH" => "select",
        "INSERT" => "insert",
        "UPDATE" => "update",
        "DELETE" => "delete",
        _ => "other",
    }
}

#[cfg(test)]
mod statement_kind_tests {
    use super::statement_kind;

    #[test]
    fn statements_are_told_apart_by_verb() {
        assert_eq!(
            statement_kind("SELECT COUNT(*) AS num_items FROM (SELECT 1) AS sub"),
            "count"
        );
        assert_eq!(statement_kind(" select \"id\" from orders"), "select");
        assert_eq!(statement_kind("INSERT INTO orders"), "insert");
        assert_eq!(statement_kind("BEGIN"), "other");
    }
}
