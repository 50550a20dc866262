//! The transactional outbox: domain events written in the transaction of the change that
//! caused them, dispatched (at least once) to handlers afterwards.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    EventType,
    AggregateType,
    AggregateId,
    Payload,
    OccurredAt,
    AvailableAt,
    Attempts,
    LastError,
    DispatchedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(ColumnDef::new(Outbox::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Outbox::EventType).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Outbox::AggregateType)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Outbox::AggregateId).uuid().not_null())
                    .col(ColumnDef::new(Outbox::Payload).json().not_null())
                    .col(
                        ColumnDef::new(Outbox::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Outbox::AvailableAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Outbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Outbox::LastError).text().null())
                    .col(
                        ColumnDef::new(Outbox::DispatchedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for statement in [
            // The dispatcher's queue: pending events, oldest first.
            "CREATE INDEX ix_outbox_pending ON outbox (available_at, id) WHERE dispatched_at IS NULL",
            "CREATE INDEX ix_outbox_aggregate ON outbox (aggregate_type, aggregate_id)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }
}
