//! Background jobs, the third adapter: one module per job (its spec and its work, which calls
//! domain services), the cron scheduler that fires them ([`scheduler`]), and the always-on
//! outbox and webhook loops ([`dispatcher`]).
//!
//! Runs are claimed, timed and recorded by the domain's job registry
//! (`domain::platform::job_runs::JobRegistry`), which `runJob` and the CLI reach as well; this
//! module only says which jobs exist ([`catalog`]) and what each does.

mod connector_dom_watch;
mod connector_sync;
pub mod dispatcher;
mod expire_idempotency_keys;
mod extract_invoices;
mod forecast_demand;
mod purge_retention;
mod rebuild_supplier_metrics;
mod refresh_prices;
pub mod scheduler;

use std::sync::Arc;

use crate::domain::platform::job_runs::{Job, JobSpec};

/// Every job, in the order `jobs` lists them.
pub const SPECS: &[JobSpec] = &[
    connector_dom_watch::SPEC,
    connector_sync::SPEC,
    expire_idempotency_keys::SPEC,
    extract_invoices::SPEC,
    forecast_demand::SPEC,
    purge_retention::SPEC,
    rebuild_supplier_metrics::SPEC,
    refresh_prices::SPEC,
];

/// Every job with its work, for the registry.
pub fn catalog() -> Vec<Job> {
    vec![
        Job {
            spec: connector_dom_watch::SPEC,
            work: Arc::new(connector_dom_watch::ConnectorDomWatch),
        },
        Job {
            spec: connector_sync::SPEC,
            work: Arc::new(connector_sync::ConnectorSync),
        },
        Job {
            spec: expire_idempotency_keys::SPEC,
            work: Arc::new(expire_idempotency_keys::ExpireIdempotencyKeys),
        },
        Job {
            spec: extract_invoices::SPEC,
            work: Arc::new(extract_invoices::ExtractInvoices),
        },
        Job {
            spec: forecast_demand::SPEC,
            work: Arc::new(forecast_demand::ForecastDemand),
        },
        Job {
            spec: purge_retention::SPEC,
            work: Arc::new(purge_retention::PurgeRetention),
        },
        Job {
            spec: rebuild_supplier_metrics::SPEC,
            work: Arc::new(rebuild_supplier_metrics::RebuildSupplierMetrics),
        },
        Job {
            spec: refresh_prices::SPEC,
            work: Arc::new(refresh_prices::RefreshPrices),
        },
    ]
}
