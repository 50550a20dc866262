//! `connector-sync`: the nightly mirror of every active supplier connection (integrations):
//! sessions past their lifetime expire first, then each connection's catalog is synced and its
//! invoices pulled.

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
    name: "connector-sync",
    default_schedule: "0 0 3 * * *",
    env: "JOB_CONNECTOR_SYNC_SCHEDULE",
    description: "Expires supplier-portal sessions past their lifetime (telling restaurants to reconnect), then syncs the mirrored catalog of every active supplier connection and pulls its new invoices.",
};

pub struct ConnectorSync;

#[async_trait]
impl Work for ConnectorSync {
    async fn run(
        &self,
        services: &Services,
        progress: &Progress<'_>,
    ) -> Result<serde_json::Value, AppError> {
        let outcome = services
            .integrations
            .sync_all(Some(progress.run_id()), |so_far| {
                progress.report(json!({
                    "connections": so_far.connections,
                    "synced": so_far.synced,
                    "failed": so_far.failed,
                    "expired": so_far.expired,
                    "invoices": so_far.invoices,
                }))
            })
            .await?;
        Ok(json!({
            "connections": outcome.connections,
            "synced": outcome.synced,
            "failed": outcome.failed,
            "expired": outcome.expired,
            "invoices": outcome.invoices,
        }))
    }
}
