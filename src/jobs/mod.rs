//! Background jobs: the registry, how a run is claimed, executed and recorded, and the cron
//! scheduler that fires them ([`scheduler`]).
//!
//! Jobs are adapters, like resolvers: each calls one domain service. Every run — scheduled or
//! started by an admin — is a `job_runs` row (see `domain::jobs`) and is counted in
//! `iris_job_runs_total{job,status}` and `iris_job_duration_seconds{job}`. A cron tick runs
//! once per cluster: the processes that fire for it race to insert the tick's row, and only the
//! winner runs it.

pub mod dispatcher;
pub mod scheduler;

use std::{sync::Arc, time::Instant};

use chrono::{DateTime, Timelike as _, Utc};
use croner::{Cron, parser::CronParser};
use serde_json::json;

use crate::{
    auth::Caller,
    domain::{
        Services,
        jobs::{Claim, JobRun, RunStatus, Trigger},
    },
    error::AppError,
    infra::metrics::ApiMetrics,
};

/// A job Iris knows: its name, default schedule and the variable that overrides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobSpec {
    pub name: &'static str,
    /// Cron expression with seconds: `sec min hour day-of-month month day-of-week`, UTC.
    pub default_schedule: &'static str,
    /// Environment variable overriding the schedule.
    pub env: &'static str,
    pub description: &'static str,
}

/// Every job, in the order `jobs` lists them.
pub const SPECS: &[JobSpec] = &[
    JobSpec {
        name: "expire-idempotency-keys",
        default_schedule: "0 5 * * * *",
        env: "JOB_EXPIRE_IDEMPOTENCY_KEYS_SCHEDULE",
        description: "Deletes idempotency keys of placeOrder and checkout once their 24 hours are over.",
    },
    JobSpec {
        name: "purge-retention",
        default_schedule: "0 0 3 * * *",
        env: "JOB_PURGE_RETENTION_SCHEDULE",
        description: "Deletes for good what is past its retention: audit entries (1 year), soft-deleted orders (7 years), other soft-deleted rows (30 days), finished operational rows (90 days); audited.",
    },
    JobSpec {
        name: "rebuild-supplier-metrics",
        default_schedule: "0 30 2 * * *",
        env: "JOB_REBUILD_SUPPLIER_METRICS_SCHEDULE",
        description: "Recomputes every supplier's on-time rate, fill rate and average confirmation time from order history.",
    },
];

/// Parses a cron expression as the scheduler does (seconds required, UTC).
pub fn parse_schedule(expression: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expression)
        .map_err(|e| format!("expected a cron expression with seconds such as `0 5 * * * *` ({e})"))
}

/// A job as configured here.
#[derive(Clone, Debug)]
pub struct ScheduledJob {
    pub spec: JobSpec,
    pub schedule: String,
    cron: Cron,
}

impl ScheduledJob {
    /// When it fires next.
    pub fn next_run_at(&self) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&Utc::now(), false).ok()
    }

    /// The tick a firing at `now` belongs to.
    fn tick(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        // Cron resolution is one second: without the sub-second part, every process firing
        // for one tick names the same instant (and the unique claim lets one of them run it).
        let now = now.with_nanosecond(0).unwrap_or(now);
        self.cron
            .find_previous_occurrence(&now, true)
            .unwrap_or(now)
    }
}

/// The job registry with its schedules, and the runner.
#[derive(Clone)]
pub struct Jobs {
    services: Services,
    metrics: Arc<ApiMetrics>,
    jobs: Arc<Vec<ScheduledJob>>,
    node: Arc<str>,
}

/// Which process ran a job: `host:pid`.
fn node_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "iris".into());
    format!("{host}:{}", std::process::id())
}

impl Jobs {
    /// The registry with the configured schedules (`overrides`: job name → expression, already
    /// validated by the configuration).
    pub fn new(
        services: Services,
        metrics: Arc<ApiMetrics>,
        overrides: &std::collections::HashMap<&'static str, String>,
    ) -> anyhow::Result<Self> {
        let jobs = SPECS
            .iter()
            .map(|spec| {
                let schedule = overrides
                    .get(spec.name)
                    .cloned()
                    .unwrap_or_else(|| spec.default_schedule.to_owned());
                let cron =
                    parse_schedule(&schedule).map_err(|e| anyhow::anyhow!("{}: {e}", spec.env))?;
                Ok(ScheduledJob {
                    spec: *spec,
                    schedule,
                    cron,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            services,
            metrics,
            jobs: Arc::new(jobs),
            node: node_name().into(),
        })
    }

    /// Every job with its schedule (admins only).
    pub fn list(&self, caller: &Caller) -> Result<Vec<ScheduledJob>, AppError> {
        self.services.jobs.authorize(caller)?;
        Ok(self.jobs.to_vec())
    }

    pub(crate) fn scheduled(&self) -> &[ScheduledJob] {
        &self.jobs
    }

    fn find(&self, name: &str) -> Result<&ScheduledJob, AppError> {
        self.jobs
            .iter()
            .find(|j| j.spec.name == name)
            .ok_or_else(|| AppError::not_found("Job", name))
    }

    /// Runs a job now, on this process (admins only); the run survives the caller giving up.
    pub async fn run_now(&self, caller: &Caller, name: &str) -> Result<JobRun, AppError> {
        self.services.jobs.authorize(caller)?;
        let job = self.find(name)?.spec;
        let claim = self
            .services
            .jobs
            .claim(job.name, Trigger::Manual, None, &self.node)
            .await?;
        match claim {
            Claim::Run(run) => {
                let jobs = self.clone();
                tokio::spawn(async move { jobs.execute(job, run).await })
                    .await
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("job task failed: {e}")))?
            }
            Claim::Skipped(run) => {
                self.metrics
                    .job_finished(job.name, RunStatus::Skipped.as_str(), 0.0);
                Err(AppError::Conflict(run.error.unwrap_or_else(|| {
                    format!("{} is already running", job.name)
                })))
            }
            Claim::Taken => Err(AppError::Conflict(format!(
                "{} is already running",
                job.name
            ))),
        }
    }

    /// Runs the tick a firing at `now` belongs to, unless another process already has it.
    pub async fn run_tick(&self, job: &ScheduledJob, now: DateTime<Utc>) {
        let tick = job.tick(now);
        let claim = self
            .services
            .jobs
            .claim(job.spec.name, Trigger::Schedule, Some(tick), &self.node)
            .await;
        match claim {
            Ok(Claim::Run(run)) => {
                if let Err(error) = self.execute(job.spec, run).await {
                    tracing::error!(job = job.spec.name, error = ?error, "recording a job run failed");
                }
            }
            Ok(Claim::Taken) => {
                tracing::debug!(job = job.spec.name, %tick, "tick taken by another process");
            }
            Ok(Claim::Skipped(run)) => {
                self.metrics
                    .job_finished(job.spec.name, RunStatus::Skipped.as_str(), 0.0);
                tracing::warn!(job = job.spec.name, reason = ?run.error, "job run skipped");
            }
            Err(error) => {
                tracing::error!(job = job.spec.name, error = ?error, "claiming a job run failed");
            }
        }
    }

    #[tracing::instrument(skip_all, fields(job = job.name, run_id = %run.id))]
    async fn execute(&self, job: JobSpec, run: JobRun) -> Result<JobRun, AppError> {
        let started = Instant::now();
        let outcome = self.work(job, &run).await;
        let seconds = started.elapsed().as_secs_f64();
        // Run records are for admins: they keep the whole cause of an internal failure.
        let outcome = outcome.map_err(|error| {
            tracing::error!(error = ?error, "job failed");
            match error {
                AppError::Internal(cause) => format!("{cause:#}"),
                other => other.message(),
            }
        });
        let finished = self.services.jobs.finish(run.id, outcome).await?;
        self.metrics
            .job_finished(job.name, finished.status.as_str(), seconds);
        tracing::info!(status = finished.status.as_str(), seconds, "job finished");
        Ok(finished)
    }

    /// The job's work; returns its stats.
    async fn work(&self, job: JobSpec, run: &JobRun) -> Result<serde_json::Value, AppError> {
        match job.name {
            "expire-idempotency-keys" => {
                let jobs = &self.services.jobs;
                let deleted = self
                    .services
                    .orders
                    .expire_idempotency_keys(1000, |so_far| async move {
                        // Progress is best effort; the final stats are written anyway.
                        let _ = jobs.progress(run.id, json!({ "deleted": so_far })).await;
                    })
                    .await?;
                Ok(json!({ "deleted": deleted }))
            }
            "purge-retention" => {
                let purged = self.services.privacy.purge().await?;
                Ok(json!({ "deleted": purged }))
            }
            "rebuild-supplier-metrics" => {
                let jobs = &self.services.jobs;
                let suppliers = self
                    .services
                    .performance
                    .rebuild_all(|done, total| async move {
                        let _ = jobs
                            .progress(run.id, json!({ "suppliers": done, "of": total }))
                            .await;
                    })
                    .await?;
                Ok(json!({ "suppliers": suppliers }))
            }
            other => Err(AppError::Internal(anyhow::anyhow!(
                "job {other} has no work"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_firing_within_one_second_name_the_same_tick() {
        let job = ScheduledJob {
            spec: SPECS[0],
            schedule: "* * * * * *".into(),
            cron: parse_schedule("* * * * * *").unwrap(),
        };
        let a = "2026-12-06T04:28:21.099194Z"
            .parse::<DateTime<Utc>>()
            .unwrap();
        let b = "2026-12-06T04:28:21.102250Z"
            .parse::<DateTime<Utc>>()
            .unwrap();
        assert_eq!(job.tick(a), job.tick(b));
        assert_eq!(
            job.tick(a),
            "2026-12-06T04:28:21Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
