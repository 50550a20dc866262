//! Background jobs: one `job_runs` row per run (scheduled or manual), with its outcome.
//!
//! A scheduled run is claimed by inserting its row: `(job, scheduled_for)` is unique, so when
//! several Iris processes fire for the same tick exactly one of them runs it; and only one row
//! per job may be RUNNING, so runs never overlap.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum JobRuns {
    Table,
    Id,
    Job,
    Trigger,
    ScheduledFor,
    StartedAt,
    FinishedAt,
    HeartbeatAt,
    Status,
    Error,
    Stats,
    Node,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobRuns::Table)
                    .col(ColumnDef::new(JobRuns::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(JobRuns::Job).string_len(64).not_null())
                    .col(ColumnDef::new(JobRuns::Trigger).string_len(16).not_null())
                    .col(
                        ColumnDef::new(JobRuns::ScheduledFor)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(JobRuns::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(JobRuns::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(JobRuns::HeartbeatAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(JobRuns::Status).string_len(16).not_null())
                    .col(ColumnDef::new(JobRuns::Error).text().null())
                    .col(ColumnDef::new(JobRuns::Stats).json().not_null())
                    .col(ColumnDef::new(JobRuns::Node).string_len(200).not_null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for statement in [
            "CREATE UNIQUE INDEX ux_job_runs_tick ON job_runs (job, scheduled_for)",
            // At most one run of a job at a time, across the cluster.
            "CREATE UNIQUE INDEX ux_job_runs_running ON job_runs (job) WHERE status = 'RUNNING'",
            "CREATE INDEX ix_job_runs_job ON job_runs (job, started_at)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobRuns::Table).to_owned())
            .await
    }
}
