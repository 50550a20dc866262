//! `purge-retention`: deletes for good what is past its retention period.

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
    name: "purge-retention",
    default_schedule: "0 0 3 * * *",
    env: "JOB_PURGE_RETENTION_SCHEDULE",
    description: "Deletes for good what is past its retention: audit entries (1 year), soft-deleted orders (7 years), other soft-deleted rows (30 days), finished operational rows (90 days); audited.",
};

pub struct PurgeRetention;

#[async_trait]
impl Work for PurgeRetention {
    async fn run(
        &self,
        services: &Services,
        _progress: &Progress<'_>,
    ) -> Result<serde_json::Value, AppError> {
        let purged = services.privacy.purge().await?;
        Ok(json!({ "deleted": purged }))
    }
}
