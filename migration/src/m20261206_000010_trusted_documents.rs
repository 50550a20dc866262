//! Trusted documents: the GraphQL operations a deployment allows (`iris documents push`),
//! addressed by the id clients send (a SHA-256 for Apollo, any id for Relay).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TrustedDocuments {
    Table,
    Id,
    DocumentId,
    Sha256,
    Body,
    OperationName,
    Client,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TrustedDocuments::Table)
                    .col(
                        ColumnDef::new(TrustedDocuments::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(TrustedDocuments::DocumentId)
                            .string_len(200)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(TrustedDocuments::Sha256)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(TrustedDocuments::Body).text().not_null())
                    .col(ColumnDef::new(TrustedDocuments::OperationName).string_len(200))
                    .col(ColumnDef::new(TrustedDocuments::Client).string_len(200))
                    .col(
                        ColumnDef::new(TrustedDocuments::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TrustedDocuments::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_trusted_documents_sha256")
                    .table(TrustedDocuments::Table)
                    .col(TrustedDocuments::Sha256)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TrustedDocuments::Table).to_owned())
            .await
    }
}
