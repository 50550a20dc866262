//! `extract-invoices`: reads uploaded invoices whose extraction never ran or died with its
//! process (an upload starts its own extraction; this sweep makes sure none is lost).

use async_trait::async_trait;
use serde_json::json;

use crate::{
    domain::{
        Services,
        platform::job_runs::{JobSpec, Progress, Work},
    },
    error::AppError,
};

pub const SPEC: JobSpec = JobSpec {
    name: "extract-invoices",
    default_schedule: "0 * * * * *",
    env: "JOB_EXTRACT_INVOICES_SCHEDULE",
    description: "Reads and reconciles uploaded invoices whose extraction did not run (the process stopped after the upload), up to 500 per run.",
};

/// Invoices one run takes at most.
const PER_RUN: u64 = 500;

pub struct ExtractInvoices;

#[async_trait]
impl Work for ExtractInvoices {
    async fn run(
        &self,
        services: &Services,
        progress: &Progress<'_>,
    ) -> Result<serde_json::Value, AppError> {
        let read = services
            .invoices
            .extract_waiting(PER_RUN, |done, of| {
                progress.report(json!({ "invoices": done, "of": of }))
            })
            .await?;
        Ok(json!({ "invoices": read }))
    }
}
