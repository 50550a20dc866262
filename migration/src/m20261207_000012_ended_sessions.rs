//! Ended sessions are found by when they ended: every process loads those that ended within
//! an access token's lifetime at start-up and after a gap in the bus (their access tokens are
//! refused until they expire).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_tokens_revoked_at")
                    .table(Alias::new("refresh_tokens"))
                    .col(Alias::new("revoked_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_refresh_tokens_revoked_at")
                    .table(Alias::new("refresh_tokens"))
                    .to_owned(),
            )
            .await
    }
}
