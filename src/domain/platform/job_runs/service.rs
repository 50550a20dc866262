//! Job-run bookkeeping: claims, progress, outcomes and the run history.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::job_runs::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use uuid::Uuid;

use super::{Claim, JobRun, RunStatus, STALE_AFTER, Trigger};
use crate::{
    auth::{Caller, Principal},
    error::AppError,
    infra::db::Db,
};

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
