//! `refresh-prices`: the hourly move of dynamic prices within their rules' bounds (pricing).

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
    name: "refresh-prices",
    default_schedule: "0 0 * * * *",
    env: "JOB_REFRESH_PRICES_SCHEDULE",
    description: "Moves the list price of every product under an active dynamic price rule by its stock cover and demand trend, within the rule's floor, ceiling and step; records each change and tells the product's recent buyers.",
};

pub struct RefreshPrices;

#[async_trait]
impl Work for RefreshPrices {
    async fn run(
        &self,
        services: &Services,
        progress: &Progress<'_>,
    ) -> Result<serde_json::Value, AppError> {
        let outcome = services
            .pricing
            .refresh(None, Some(progress.run_id()), false, |so_far| {
                progress.report(json!({
                    "products": so_far.products,
                    "changed": so_far.changed,
                    "unchanged": so_far.unchanged,
                }))
            })
            .await?;
        Ok(json!({
            "products": outcome.products,
            "changed": outcome.changed,
            "unchanged": outcome.unchanged,
        }))
    }
}
