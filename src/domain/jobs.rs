//! Job runs: the record of every background job run, and who may see and start them.
//!
//! Rules: only admins (and Iris itself) list jobs and start runs. A scheduled run is claimed by
//! inserting its row — `(job, scheduled_for)` is unique — so each cron tick runs once per
//! cluster however many processes fire for it; and at most one row per job is RUNNING (a
//! partial unique index), so a run that finds another one going is recorded as SKIPPED. A run
//! without a sign of life (start or progress report) for [`STALE_AFTER`] is presumed dead and
//! closed as FAILED.

use crate::infra::db::Db;
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::job_runs::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::{Caller, Principal},
    error::AppError,
};

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

    fn parse(raw: &str) -> RunStatus {
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

fn to_domain(m: job_runs::Model) -> JobRun {
    JobRun {
        id: m.id,
        job: m.job,
        trigger: m.trigger,
        scheduled_for: m.scheduled_for,
        started_at: m.started_at,
        finished_at: m.finished_at,
        status: RunStatus::parse(&m.status),
        error: m.error,
        stats: m.stats,
        node: m.node,
    }
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

#[derive(Clone)]
pub struct JobService {
    db: Db,
}

impl JobService {
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
        Entity::update_many()
            .col_expr(Column::Status, Expr::value(RunStatus::Failed.as_str()))
            .col_expr(Column::FinishedAt, Expr::value(now))
            .col_expr(
                Column::Error,
                Expr::value("presumed dead: no sign of life for 15 minutes (its process stopped?)"),
            )
            .filter(Column::Job.eq(job))
            .filter(Column::Status.eq(RunStatus::Running.as_str()))
            .filter(Column::HeartbeatAt.lte(now - STALE_AFTER))
            .exec(&self.db)
            .await?;
        let row = |id: Uuid, status: RunStatus, error: Option<String>| job_runs::ActiveModel {
            id: Set(id),
            job: Set(job.to_owned()),
            trigger: Set(trigger.as_str().to_owned()),
            scheduled_for: Set(scheduled_for),
            started_at: Set(now),
            finished_at: Set((status != RunStatus::Running).then_some(now)),
            heartbeat_at: Set(now),
            status: Set(status.as_str().to_owned()),
            error: Set(error),
            stats: Set(serde_json::json!({})),
            node: Set(node.to_owned()),
        };
        let unique = |e: &sea_orm::DbErr| {
            matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            )
        };
        let id = Uuid::now_v7();
        match Entity::insert(row(id, RunStatus::Running, None))
            .exec_without_returning(&self.db)
            .await
        {
            Ok(_) => return Ok(Claim::Run(self.get(id).await?)),
            Err(e) if unique(&e) => {}
            Err(e) => return Err(e.into()),
        }
        // Refused: this tick is taken, or a run is going. Record a skip for the tick (if
        // another process has not recorded the tick already).
        let running = Entity::find()
            .filter(Column::Job.eq(job))
            .filter(Column::Status.eq(RunStatus::Running.as_str()))
            .one(&self.db)
            .await?;
        let Some(running) = running else {
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
        match Entity::insert(row(skipped, RunStatus::Skipped, Some(error)))
            .exec_without_returning(&self.db)
            .await
        {
            Ok(_) => Ok(Claim::Skipped(self.get(skipped).await?)),
            Err(e) if unique(&e) => Ok(Claim::Taken),
            Err(e) => Err(e.into()),
        }
    }

    /// Records what a running job has done so far (and that it is alive).
    pub async fn progress(&self, run: Uuid, stats: serde_json::Value) -> Result<(), AppError> {
        Entity::update_many()
            .col_expr(Column::Stats, Expr::value(stats))
            .col_expr(Column::HeartbeatAt, Expr::value(Utc::now()))
            .filter(Column::Id.eq(run))
            .exec(&self.db)
            .await?;
        Ok(())
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
        let mut update = Entity::update_many()
            .col_expr(Column::Status, Expr::value(status.as_str()))
            .col_expr(Column::FinishedAt, Expr::value(Utc::now()))
            .col_expr(Column::Error, Expr::value(error))
            .filter(Column::Id.eq(run));
        if let Some(stats) = stats {
            update = update.col_expr(Column::Stats, Expr::value(stats));
        }
        update.exec(&self.db).await?;
        self.get(run).await
    }

    pub async fn get(&self, run: Uuid) -> Result<JobRun, AppError> {
        Entity::find_by_id(run)
            .one(&self.db)
            .await?
            .map(to_domain)
            .ok_or_else(|| AppError::not_found("Job run", run))
    }

    /// The latest run of each of `jobs`.
    pub async fn last_runs(&self, jobs: &[&str]) -> Result<HashMap<String, JobRun>, AppError> {
        let mut last = HashMap::new();
        for job in jobs {
            if let Some(run) = Entity::find()
                .filter(Column::Job.eq(*job))
                .order_by_desc(Column::StartedAt)
                .order_by_desc(Column::Id)
                .one(&self.db)
                .await?
            {
                last.insert((*job).to_owned(), to_domain(run));
            }
        }
        Ok(last)
    }

    /// The latest `limit` runs of `job`, newest first.
    pub async fn runs(&self, job: &str, limit: u64) -> Result<Vec<JobRun>, AppError> {
        Ok(Entity::find()
            .filter(Column::Job.eq(job))
            .order_by_desc(Column::StartedAt)
            .order_by_desc(Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_domain)
            .collect())
    }
}
