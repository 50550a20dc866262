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
    description: "Deletes for good what is past its retention: audit entries (1 year), soft-deleted orders and invoices with their documents (7 years), other soft-deleted rows (30 days), finished operational rows (90 days); audited.",
};

pub struct PurgeRetention;

#[async_trait]
impl Work for PurgeRetention {
    async fn run(
        &self,
        services: &Services,
        _progress: &Progress<'_>,
    ) -> Result<serde_json::Value, AppError> {
        let mut purged = services.privacy.purge().await?;
        // Invoices and their stored documents are financial records: kept 7 years.
        let (invoices, documents) = services
            .invoices
            .purge_created_before(services.privacy.financial_cutoff())
            .await?;
        purged.insert("invoices".into(), invoices);
        purged.insert("invoice_documents".into(), documents);
        Ok(json!({ "deleted": purged }))
    }
}
