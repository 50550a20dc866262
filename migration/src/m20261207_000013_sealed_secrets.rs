//! Webhook signing secrets are stored sealed (AES-256-GCM, `enc:v1:<key id>:<base64>`), which
//! is longer than the 100 characters the plaintext column allowed. SQLite does not enforce a
//! text column's length; Postgres gets an unbounded `text`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE webhook_endpoints ALTER COLUMN secret TYPE text")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Sealed values do not fit the old width: the column stays `text`.
        let _ = manager;
        Ok(())
    }
}
