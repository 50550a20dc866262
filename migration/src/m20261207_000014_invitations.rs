//! Invitations to join an organisation: nobody becomes a member without accepting one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrganisationType,
    OrganisationId,
    Email,
    EmailFolded,
    Role,
    TokenHash,
    Status,
    InvitedBy,
    AnsweredBy,
    ExpiresAt,
    AnsweredAt,
    CreatedAt,
    UpdatedAt,
}

fn at(column: Invitations) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(
                        ColumnDef::new(Invitations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Invitations::OrganisationType)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Invitations::OrganisationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Invitations::Email)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Invitations::EmailFolded)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Invitations::Role).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Invitations::TokenHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Invitations::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Invitations::InvitedBy).uuid().null())
                    .col(ColumnDef::new(Invitations::AnsweredBy).uuid().null())
                    .col(at(Invitations::ExpiresAt))
                    .col(
                        ColumnDef::new(Invitations::AnsweredAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(at(Invitations::CreatedAt))
                    .col(at(Invitations::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_invitations_email_status")
                    .table(Invitations::Table)
                    .col(Invitations::EmailFolded)
                    .col(Invitations::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_invitations_organisation")
                    .table(Invitations::Table)
                    .col(Invitations::OrganisationType)
                    .col(Invitations::OrganisationId)
                    .col(Invitations::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // One pending invitation per address and organisation, even under concurrent invites
        // (a partial index: the same SQL on Postgres and SQLite).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_invitations_pending ON invitations \
                 (organisation_type, organisation_id, email_folded) WHERE status = 'PENDING'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Invitations::Table).to_owned())
            .await
    }
}
