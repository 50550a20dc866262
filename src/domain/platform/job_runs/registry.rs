//! The job registry: which jobs exist, when each fires, and how a run is claimed, executed,
//! timed and recorded. Every run — scheduled or started by an admin — is a `job_runs` row and
//! is counted in `iris_job_runs_total{job,status}` and `iris_job_duration_seconds{job}`. A cron
//! tick runs once per cluster: the processes that fire for it race to insert the tick's row,
//! and only the winner runs it.

use std::{collections::HashMap, sync::Arc, time::Instant};

use async_trait::async_trait;
use chrono::{DateTime, Timelike as _, Utc};
use croner::{Cron, parser::CronParser};
use uuid::Uuid;

use super::{Claim, JobRun, JobRunService, RunStatus, Trigger};
use crate::{auth::Caller, domain::Services, error::AppError, infra::metrics::ApiMetrics};

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

/// What a job does when it runs: call domain services, report progress, return its stats.
#[async_trait]
pub trait Work: Send + Sync {
    async fn run(
        &self,
        services: &Services,
        progress: &Progress<'_>,
    ) -> Result<serde_json::Value, AppError>;
}

/// A job: what it is, and its work.
#[derive(Clone)]
pub struct Job {
    pub spec: JobSpec,
    pub work: Arc<dyn Work>,
}

/// Where a running job reports what it has done so far (its stats, shown while it runs).
pub struct Progress<'a> {
    runs: &'a JobRunService,
    run: Uuid,
}

impl Progress<'_> {
    /// The run being reported on (what the job's records name).
    pub fn run_id(&self) -> Uuid {
        self.run
    }

    /// Best effort: the final stats are written anyway.
    pub async fn report(&self, stats: serde_json::Value) {
        let _ = self.runs.progress(self.run, stats).await;
    }
}

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
#[derive(Clone)]
pub struct ScheduledJob {
    pub spec: JobSpec,
    pub schedule: String,
    cron: Cron,
    work: Arc<dyn Work>,
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
pub struct JobRegistry {
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

impl JobRegistry {
    /// The registry of `jobs` with the configured schedules (`overrides`: job name →
    /// expression, already validated by the configuration).
    pub fn new(
        services: Services,
        metrics: Arc<ApiMetrics>,
        jobs: Vec<Job>,
        overrides: &HashMap<&'static str, String>,
    ) -> anyhow::Result<Self> {
        let jobs = jobs
            .into_iter()
            .map(|Job { spec, work }| {
                let schedule = overrides
                    .get(spec.name)
                    .cloned()
                    .unwrap_or_else(|| spec.default_schedule.to_owned());
                let cron =
                    parse_schedule(&schedule).map_err(|e| anyhow::anyhow!("{}: {e}", spec.env))?;
                Ok(ScheduledJob {
                    spec,
                    schedule,
                    cron,
                    work,
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
        self.services.job_runs.authorize(caller)?;
        Ok(self.jobs.to_vec())
    }

    /// Every job with its schedule, for the scheduler.
    pub fn scheduled(&self) -> &[ScheduledJob] {
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
        self.services.job_runs.authorize(caller)?;
        let job = self.find(name)?.clone();
        let claim = self
            .services
            .job_runs
            .claim(job.spec.name, Trigger::Manual, None, &self.node)
            .await?;
        match claim {
            Claim::Run(run) => {
                let registry = self.clone();
                tokio::spawn(async move { registry.execute(&job, run).await })
                    .await
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("job task failed: {e}")))?
            }
            Claim::Skipped(run) => {
                self.metrics
                    .job_finished(job.spec.name, RunStatus::Skipped.as_str(), 0.0);
                Err(AppError::Conflict(run.error.unwrap_or_else(|| {
                    format!("{} is already running", job.spec.name)
                })))
            }
            Claim::Taken => Err(AppError::Conflict(format!(
                "{} is already running",
                job.spec.name
            ))),
        }
    }

    /// Runs the tick a firing at `now` belongs to, unless another process already has it.
    pub async fn run_tick(&self, job: &ScheduledJob, now: DateTime<Utc>) {
        let tick = job.tick(now);
        let claim = self
            .services
            .job_runs
            .claim(job.spec.name, Trigger::Schedule, Some(tick), &self.node)
            .await;
        match claim {
            Ok(Claim::Run(run)) => {
                if let Err(error) = self.execute(job, run).await {
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

    #[tracing::instrument(skip_all, fields(job = job.spec.name, run_id = %run.id))]
    async fn execute(&self, job: &ScheduledJob, run: JobRun) -> Result<JobRun, AppError> {
        let started = Instant::now();
        let progress = Progress {
            runs: &self.services.job_runs,
            run: run.id,
        };
        let outcome = job.work.run(&self.services, &progress).await;
        let seconds = started.elapsed().as_secs_f64();
        // Run records are for admins: they keep the whole cause of an internal failure.
        let outcome = outcome.map_err(|error| {
            tracing::error!(error = ?error, "job failed");
            match error {
                AppError::Internal(cause) => format!("{cause:#}"),
                other => other.message(),
            }
        });
        let finished = self.services.job_runs.finish(run.id, outcome).await?;
        self.metrics
            .job_finished(job.spec.name, finished.status.as_str(), seconds);
        tracing::info!(status = finished.status.as_str(), seconds, "job finished");
        Ok(finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;

    #[async_trait]
    impl Work for Nothing {
        async fn run(&self, _: &Services, _: &Progress<'_>) -> Result<serde_json::Value, AppError> {
            Ok(serde_json::Value::Null)
        }
    }

    #[test]
    fn processes_firing_within_one_second_name_the_same_tick() {
        let job = ScheduledJob {
            spec: JobSpec {
                name: "every-second",
                default_schedule: "* * * * * *",
                env: "JOB_EVERY_SECOND_SCHEDULE",
                description: "",
            },
            schedule: "* * * * * *".into(),
            cron: parse_schedule("* * * * * *").unwrap(),
            work: Arc::new(Nothing),
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
