//! `rebuild-supplier-metrics`: recomputes every supplier's performance from order history.

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
    name: "rebuild-supplier-metrics",
    default_schedule: "0 30 2 * * *",
    env: "JOB_REBUILD_SUPPLIER_METRICS_SCHEDULE",
    description: "Recomputes every supplier's on-time rate, fill rate and average confirmation time from order history.",
};

pub struct RebuildSupplierMetrics;

#[async_trait]
impl Work for RebuildSupplierMetrics {
    async fn run(
        &self,
        services: &Services,
        progress: &Progress<'_>,
    ) -> Result<serde_json::Value, AppError> {
        let suppliers = services
            .performance
            .rebuild_all(|done, total| progress.report(json!({ "suppliers": done, "of": total })))
            .await?;
        Ok(json!({ "suppliers": suppliers }))
    }
}
