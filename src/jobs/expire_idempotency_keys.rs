//! `expire-idempotency-keys`: forgets the idempotency keys of `placeOrder` and `checkout`
//! once their 24 hours are over.

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
    name: "expire-idempotency-keys",
    default_schedule: "0 5 * * * *",
    env: "JOB_EXPIRE_IDEMPOTENCY_KEYS_SCHEDULE",
    description: "Deletes idempotency keys of placeOrder and checkout once their 24 hours are over.",
};

pub struct ExpireIdempotencyKeys;

#[async_trait]
impl Work for ExpireIdempotencyKeys {
    async fn run(
        &self,
        services: &Services,
        progress: &Progress<'_>,
    ) -> Result<serde_json::Value, AppError> {
        let deleted = services
            .orders
            .expire_idempotency_keys(1000, |so_far| progress.report(json!({ "deleted": so_far })))
            .await?;
        Ok(json!({ "deleted": deleted }))
    }
}
