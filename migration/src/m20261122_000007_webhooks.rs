//! Webhooks: endpoints organisations register, one delivery per (endpoint, event), and every
//! attempt at it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    OwnerType,
    OwnerId,
    Url,
    EventTypes,
    Enabled,
    Secret,
    FailingSince,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EndpointId,
    EventId,
    EventType,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimId,
    LastStatusCode,
    LastError,
    CreatedAt,
    UpdatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    AttemptedAt,
    StatusCode,
    Error,
    DurationMs,
}

fn at(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn at_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(
                        ColumnDef::new(WebhookEndpoints::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookEndpoints::OwnerType)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookEndpoints::OwnerId).uuid().not_null())
                    .col(ColumnDef::new(WebhookEndpoints::Url).text().not_null())
                    .col(
                        ColumnDef::new(WebhookEndpoints::EventTypes)
                            .json()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookEndpoints::Enabled)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookEndpoints::Secret)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(at_null(WebhookEndpoints::FailingSince))
                    .col(
                        ColumnDef::new(WebhookEndpoints::DisabledReason)
                            .text()
                            .null(),
                    )
                    .col(at(WebhookEndpoints::CreatedAt))
                    .col(at(WebhookEndpoints::UpdatedAt))
                    .col(at_null(WebhookEndpoints::DeletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(
                        ColumnDef::new(WebhookDeliveries::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::EndpointId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookDeliveries::EventId).uuid().not_null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::EventType)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookDeliveries::Payload).json().not_null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(at_null(WebhookDeliveries::NextAttemptAt))
                    .col(ColumnDef::new(WebhookDeliveries::ClaimId).uuid().null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::LastStatusCode)
                            .integer()
                            .null(),
                    )
                    .col(ColumnDef::new(WebhookDeliveries::LastError).text().null())
                    .col(at(WebhookDeliveries::CreatedAt))
                    .col(at(WebhookDeliveries::UpdatedAt))
                    .col(at_null(WebhookDeliveries::DeliveredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(
                        ColumnDef::new(WebhookAttempts::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::DeliveryId)
                            .uuid()
                            .not_null(),
                    )
                    .col(at(WebhookAttempts::AttemptedAt))
                    .col(ColumnDef::new(WebhookAttempts::StatusCode).integer().null())
                    .col(ColumnDef::new(WebhookAttempts::Error).text().null())
                    .col(
                        ColumnDef::new(WebhookAttempts::DurationMs)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for statement in [
            "CREATE INDEX ix_webhook_endpoints_owner ON webhook_endpoints (owner_type, owner_id)",
            "CREATE UNIQUE INDEX ux_webhook_deliveries_event ON webhook_deliveries (endpoint_id, event_id)",
            "CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING'",
            "CREATE INDEX ix_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at)",
            "CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
