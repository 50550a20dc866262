//! Job-run bookkeeping: claims, progress, outcomes and the run history.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Claim, JobRun, RunStatus, STALE_AFTER, Trigger, repository};
use crate::{
    auth::{Caller, Principal},
    error::AppError,
    infra::db::Db,
};

#[derive(Clone)]
pub struct JobRunService {
    db: Db,
}

impl JobRunService {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Admins (and Iris itself) only.
    pub fn authorize(&self, caller: &Caller) -> Result<(), AppError> {
        match &caller.principal {
            Principal::Anonymous => Err(AppError::Unauthenticated("sign in to manage jobs".into())),
            p if p.is_admin() => Ok(()),
            _ => Err(AppError::Forbidden("only admins manage jobs".into())),
        }
    }

    /// Claims a run of `job`: for a cron tick (`scheduled_for`) or, without one, a manual run.
    /// The database decides: a second row for the same tick, or a second RUNNING row of the
    /// job, is refused by a unique index, however many processes try at once.
    pub async fn claim(
        &self,
        job: &str,
        trigger: Trigger,
        scheduled_for: Option<DateTime<Utc>>,
        node: &str,
    ) -> Result<Claim, AppError> {
        let now = Utc::now();
        // A run that has been going for longer than any job takes belonged to a process that
        // died: close it, so the job can run again.
        repository::fail_runs_silent_since(
            &self.db,
            job,
            now - STALE_AFTER,
            now,
            "presumed dead: no sign of life for 15 minutes (its process stopped?)",
        )
        .await?;
        let run = |id: Uuid, status: RunStatus, error: Option<String>| JobRun {
            id,
            job: job.to_owned(),
            trigger: trigger.as_str().to_owned(),
            scheduled_for,
            started_at: now,
            finished_at: (status != RunStatus::Running).then_some(now),
            status,
            error,
            stats: serde_json::json!({}),
            node: node.to_owned(),
        };
        let id = Uuid::now_v7();
        if repository::insert_unless_taken(&self.db, &run(id, RunStatus::Running, None)).await? {
            return Ok(Claim::Run(self.get(id).await?));
        }
        // Refused: this tick is taken, or a run is going. Record a skip for the tick (if
        // another process has not recorded the tick already).
        let Some(running) = repository::find_running(&self.db, job).await? else {
            return Ok(Claim::Taken);
        };
        if scheduled_for.is_some() && running.scheduled_for == scheduled_for {
            return Ok(Claim::Taken);
        }
        let skipped = Uuid::now_v7();
        let error = format!(
            "run {} (started {}) is still going",
            running.id, running.started_at
        );
        if repository::insert_unless_taken(&self.db, &run(skipped, RunStatus::Skipped, Some(error)))
            .await?
        {
            Ok(Claim::Skipped(self.get(skipped).await?))
        } else {
            Ok(Claim::Taken)
        }
    }

    /// Records what a running job has done so far (and that it is alive).
    pub async fn progress(&self, run: Uuid, stats: serde_json::Value) -> Result<(), AppError> {
        repository::record_progress(&self.db, run, stats, Utc::now()).await
    }

    /// Records how a run ended.
    pub async fn finish(
        &self,
        run: Uuid,
        outcome: Result<serde_json::Value, String>,
    ) -> Result<JobRun, AppError> {
        let (status, stats, error) = match outcome {
            Ok(stats) => (RunStatus::Succeeded, Some(stats), None),
            Err(error) => (RunStatus::Failed, None, Some(error)),
        };
        repository::record_end(&self.db, run, status, error, stats, Utc::now()).await?;
        self.get(run).await
    }

    pub async fn get(&self, run: Uuid) -> Result<JobRun, AppError> {
        repository::find(&self.db, run)
            .await?
            .ok_or_else(|| AppError::not_found("Job run", run))
    }

    /// The latest run of each of `jobs`.
    pub async fn last_runs(&self, jobs: &[&str]) -> Result<HashMap<String, JobRun>, AppError> {
        let mut last = HashMap::new();
        for job in jobs {
            if let Some(run) = repository::last(&self.db, job).await? {
                last.insert((*job).to_owned(), run);
            }
        }
        Ok(last)
    }

    /// The latest `limit` runs of `job`, newest first.
    pub async fn runs(&self, job: &str, limit: u64) -> Result<Vec<JobRun>, AppError> {
        repository::latest(&self.db, job, limit).await
    }
}
