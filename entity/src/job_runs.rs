//! `job_runs`: one run of a background job — trigger, tick, outcome, stats, and the process
//! that ran it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub job: String,
    /// SCHEDULE or MANUAL.
    pub trigger: String,
    /// The cron tick a scheduled run belongs to; unique per job.
    pub scheduled_for: Option<DateTimeUtc>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// Last sign of life of a RUNNING run (its start, then every progress report).
    pub heartbeat_at: DateTimeUtc,
    /// RUNNING, SUCCEEDED, FAILED or SKIPPED.
    pub status: String,
    pub error: Option<String>,
    /// What the run did (counts), updated while it runs for progress.
    pub stats: Json,
    /// `host:pid` of the process that ran it.
    pub node: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
