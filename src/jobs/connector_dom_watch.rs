//! `connector-dom-watch`: the weekly check that every configured supplier portal still looks
//! the way its connector reads it (integrations): page fingerprints and every selector.

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
    name: "connector-dom-watch",
    default_schedule: "0 0 4 * * Mon",
    env: "JOB_CONNECTOR_DOM_WATCH_SCHEDULE",
    description: "Reads each supplier portal's sign-in, catalog and invoice pages, fingerprints their structure and checks every configured selector; a selector matching nothing marks the connector DEGRADED and tells admins.",
};

pub struct ConnectorDomWatch;

#[async_trait]
impl Work for ConnectorDomWatch {
    async fn run(
        &self,
        services: &Services,
        progress: &Progress<'_>,
    ) -> Result<serde_json::Value, AppError> {
        let connectors = services
            .integrations
            .watch(|done, total| progress.report(json!({ "checked": done, "connectors": total })))
            .await?;
        let degraded: Vec<&str> = connectors
            .iter()
            .filter(|c| c.degraded)
            .map(|c| c.key.as_str())
            .collect();
        Ok(json!({ "connectors": connectors.len(), "degraded": degraded }))
    }
}
