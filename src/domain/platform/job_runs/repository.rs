//! Storage of job runs: claiming a run by inserting its row (unique indexes decide between
//! processes), recording progress and outcomes, and reading the run history.

use chrono::{DateTime, Utc};
use entity::job_runs::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{JobRun, RunStatus};
use crate::error::{AppError, DbResultExt as _};

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

/// Closes `job`'s RUNNING runs whose last sign of life (start or progress) is at or before
/// `silent_since`: FAILED at `now`, with `error`.
pub(super) async fn fail_runs_silent_since(
    db: &impl ConnectionTrait,
    job: &str,
    silent_since: DateTime<Utc>,
    now: DateTime<Utc>,
    error: &str,
) -> Result<(), AppError> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(RunStatus::Failed.as_str()))
        .col_expr(Column::FinishedAt, Expr::value(now))
        .col_expr(Column::Error, Expr::value(error))
        .filter(Column::Job.eq(job))
        .filter(Column::Status.eq(RunStatus::Running.as_str()))
        .filter(Column::HeartbeatAt.lte(silent_since))
        .exec(db)
        .await?;
    Ok(())
}

/// Inserts a run, its first sign of life at its start. `Ok(false)` when a unique index refuses
/// it: its tick (`job`, `scheduled_for`) is recorded already, or — for a RUNNING run — another
/// run of the job is RUNNING.
pub(super) async fn insert_unless_taken(
    db: &impl ConnectionTrait,
    run: &JobRun,
) -> Result<bool, AppError> {
    let model = job_runs::ActiveModel {
        id: Set(run.id),
        job: Set(run.job.clone()),
        trigger: Set(run.trigger.clone()),
        scheduled_for: Set(run.scheduled_for),
        started_at: Set(run.started_at),
        finished_at: Set(run.finished_at),
        heartbeat_at: Set(run.started_at),
        status: Set(run.status.as_str().to_owned()),
        error: Set(run.error.clone()),
        stats: Set(run.stats.clone()),
        node: Set(run.node.clone()),
    };
    Entity::insert(model)
        .exec_without_returning(db)
        .await
        .unless_unique_violation()
}

/// A RUNNING run of `job`, if any (there is at most one).
pub(super) async fn find_running(
    db: &impl ConnectionTrait,
    job: &str,
) -> Result<Option<JobRun>, AppError> {
    Ok(Entity::find()
        .filter(Column::Job.eq(job))
        .filter(Column::Status.eq(RunStatus::Running.as_str()))
        .one(db)
        .await?
        .map(to_domain))
}

/// Records a run's stats so far, and `at` as its latest sign of life.
pub(super) async fn record_progress(
    db: &impl ConnectionTrait,
    run: Uuid,
    stats: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    Entity::update_many()
        .col_expr(Column::Stats, Expr::value(stats))
        .col_expr(Column::HeartbeatAt, Expr::value(at))
        .filter(Column::Id.eq(run))
        .exec(db)
        .await?;
    Ok(())
}

/// Records how a run ended at `at`: its status, error (cleared with `None`) and, when given,
/// its final stats (otherwise the last progress report's stay).
pub(super) async fn record_end(
    db: &impl ConnectionTrait,
    run: Uuid,
    status: RunStatus,
    error: Option<String>,
    stats: Option<serde_json::Value>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut update = Entity::update_many()
        .col_expr(Column::Status, Expr::value(status.as_str()))
        .col_expr(Column::FinishedAt, Expr::value(at))
        .col_expr(Column::Error, Expr::value(error))
        .filter(Column::Id.eq(run));
    if let Some(stats) = stats {
        update = update.col_expr(Column::Stats, Expr::value(stats));
    }
    update.exec(db).await?;
    Ok(())
}

/// The run with this id.
pub(super) async fn find(db: &impl ConnectionTrait, run: Uuid) -> Result<Option<JobRun>, AppError> {
    Ok(Entity::find_by_id(run).one(db).await?.map(to_domain))
}

/// The latest `limit` runs of `job`, newest first (by start, then id).
pub(super) async fn latest(
    db: &impl ConnectionTrait,
    job: &str,
    limit: u64,
) -> Result<Vec<JobRun>, AppError> {
    Ok(Entity::find()
        .filter(Column::Job.eq(job))
        .order_by_desc(Column::StartedAt)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect())
}

/// The latest run of `job` (by start, then id).
pub(super) async fn last(db: &impl ConnectionTrait, job: &str) -> Result<Option<JobRun>, AppError> {
    Ok(Entity::find()
        .filter(Column::Job.eq(job))
        .order_by_desc(Column::StartedAt)
        .order_by_desc(Column::Id)
        .one(db)
        .await?
        .map(to_domain))
}
