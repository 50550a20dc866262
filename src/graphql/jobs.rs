//! Background jobs over GraphQL (admins): `jobs`, `runJob`.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{caller, services};
use crate::{
    domain::platform::job_runs::{self as domain, JobRegistry, JobRun, ScheduledJob},
    error::AppError,
};

fn jobs<'a>(ctx: &Context<'a>) -> Result<&'a JobRegistry, AppError> {
    ctx.data::<JobRegistry>()
        .map_err(|_| anyhow::anyhow!("the job registry is missing from the schema data").into())
}

/// How a job run ended (or that it is still going).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::RunStatus")]
pub enum JobRunStatus {
    /// Still going.
    Running,
    /// Finished without error.
    Succeeded,
    /// Ended with an error (see `error`).
    Failed,
    /// Not run: an earlier run was still going.
    Skipped,
}

/// One run of a background job.
#[derive(SimpleObject)]
#[graphql(name = "JobRun")]
pub struct JobRunObject {
    /// Unique identifier (UUID).
    id: ID,
    /// The job's name.
    job: String,
    /// SCHEDULE or MANUAL.
    trigger: String,
    /// The cron tick a scheduled run belongs to (UTC).
    scheduled_for: Option<DateTime<Utc>>,
    /// When it started (UTC).
    started_at: DateTime<Utc>,
    /// When it ended (UTC); null while running.
    finished_at: Option<DateTime<Utc>>,
    /// How it ended.
    status: JobRunStatus,
    /// Why it failed or was skipped.
    error: Option<String>,
    /// What it did (counts); updated while it runs.
    stats: Json<serde_json::Value>,
    /// The process that ran it (`host:pid`).
    node: String,
}

impl From<JobRun> for JobRunObject {
    fn from(r: JobRun) -> Self {
        JobRunObject {
            id: ID(r.id.to_string()),
            job: r.job,
            trigger: r.trigger,
            scheduled_for: r.scheduled_for,
            started_at: r.started_at,
            finished_at: r.finished_at,
            status: r.status.into(),
            error: r.error,
            stats: Json(r.stats),
            node: r.node,
        }
    }
}

/// A background job.
pub struct JobObject(ScheduledJob);

/// A background job.
#[Object(name = "Job")]
impl JobObject {
    /// Its name, e.g. `expire-idempotency-keys`.
    async fn name(&self) -> &str {
        self.0.spec.name
    }
    /// Cron expression with seconds (`sec min hour day month weekday`, UTC).
    async fn schedule(&self) -> &str {
        &self.0.schedule
    }
    /// What it does.
    async fn description(&self) -> &str {
        self.0.spec.description
    }
    /// Its latest run, anywhere in the cluster.
    async fn last_run(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<JobRunObject>> {
        let mut last = services(ctx)?
            .job_runs
            .last_runs(&[self.0.spec.name])
            .await?;
        Ok(last.remove(self.0.spec.name).map(Into::into))
    }
    /// When it fires next (UTC).
    async fn next_run_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_run_at()
    }
    /// Its latest runs, newest first.
    #[graphql(complexity = "crate::graphql::cost::list(first, child_complexity)")]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many, 1–100.")] first: i32,
    ) -> async_graphql::Result<Vec<JobRunObject>> {
        if !(1..=100).contains(&first) {
            return Err(AppError::validation("first", "must be between 1 and 100").into());
        }
        let runs = services(ctx)?
            .job_runs
            .runs(self.0.spec.name, first as u64)
            .await?;
        Ok(runs.into_iter().map(Into::into).collect())
    }
}

/// The job to run now.
#[derive(InputObject)]
pub struct RunJobInput {
    /// The job's name.
    name: String,
}

/// Result of `runJob`.
#[derive(SimpleObject)]
pub struct RunJobPayload {
    /// The finished run.
    run: JobRunObject,
}

#[derive(Default)]
pub struct JobQuery;

#[Object]
impl JobQuery {
    /// Every background job with its schedule, latest run and next run (admins only).
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn jobs(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<JobObject>> {
        Ok(jobs(ctx)?
            .list(caller(ctx))?
            .into_iter()
            .map(JobObject)
            .collect())
    }
}

#[derive(Default)]
pub struct JobMutation;

#[Object]
impl JobMutation {
    /// Runs a job now on this process and returns the finished run (admins only). CONFLICT
    /// when a run of it is still going. Name the job with `name` or `input.name`.
    async fn run_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's name.")] name: Option<String>,
        #[graphql(desc = "The job, as an input object.")] input: Option<RunJobInput>,
    ) -> async_graphql::Result<RunJobPayload> {
        let name = match (name, input) {
            (Some(name), None) | (None, Some(RunJobInput { name })) => name,
            _ => {
                return Err(AppError::validation(
                    "name",
                    "give the job's name once: name or input.name",
                )
                .into());
            }
        };
        let run = jobs(ctx)?.run_now(caller(ctx), &name).await?;
        Ok(RunJobPayload { run: run.into() })
    }
}
