//! Job runs: the registry of background jobs, the record of every run, and who may see and
//! start them. The jobs' work is registered by the jobs adapter (`crate::jobs`); the registry
//! ([`JobRegistry`]) claims, runs, times and records each run, so `runJob`, the CLI and the
//! cron scheduler all start jobs through it.
//!
//! Rules: only admins (and Iris itself) list jobs and start runs. A scheduled run is claimed by
//! inserting its row — `(job, scheduled_for)` is unique — so each cron tick runs once per
//! cluster however many processes fire for it; and at most one row per job is RUNNING (a
//! partial unique index), so a run that finds another one going is recorded as SKIPPED. A run
//! without a sign of life (start or progress report) for [`STALE_AFTER`] is presumed dead and
//! closed as FAILED.

mod registry;
mod repository;
mod service;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use registry::{Job, JobRegistry, JobSpec, Progress, ScheduledJob, Work, parse_schedule};
pub use service::JobRunService;

/// A RUNNING run without a sign of life for this long is presumed dead (its process stopped).
/// Long jobs report progress (a heartbeat) more often than this.
pub const STALE_AFTER: Duration = Duration::minutes(15);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    Skipped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Succeeded => "SUCCEEDED",
            RunStatus::Failed => "FAILED",
            RunStatus::Skipped => "SKIPPED",
        }
    }

    pub(crate) fn parse(raw: &str) -> RunStatus {
        match raw {
            "SUCCEEDED" => RunStatus::Succeeded,
            "FAILED" => RunStatus::Failed,
            "SKIPPED" => RunStatus::Skipped,
            _ => RunStatus::Running,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Manual,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "SCHEDULE",
            Trigger::Manual => "MANUAL",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct JobRun {
    pub id: Uuid,
    pub job: String,
    pub trigger: String,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    pub error: Option<String>,
    pub stats: serde_json::Value,
    pub node: String,
}

/// How a claim ended.
#[derive(Debug)]
pub enum Claim {
    /// This process runs it; the run is recorded as RUNNING.
    Run(JobRun),
    /// Another process holds this tick.
    Taken,
    /// An earlier run is still going; recorded as SKIPPED.
    Skipped(JobRun),
}
