//! Identity and access: accounts, restaurants, memberships, refresh tokens, audit log.
//!
//! No table has a password or password-hash column: passwords live with the identity provider
//! (or, in development, as hashes in `DEV_USERS`), never in Iris's database.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Email,
    EmailFolded,
    ExternalId,
    Role,
    DisplayName,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Restaurants {
    Table,
    Id,
    Name,
    NameFolded,
    ContactEmail,
    City,
    CityFolded,
    DeliveryPrefs,
    Active,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Suppliers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SupplierMembers {
    Table,
    Id,
    AccountId,
    SupplierId,
    Role,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RestaurantMembers {
    Table,
    Id,
    AccountId,
    RestaurantId,
    Role,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    AccountId,
    FamilyId,
    TokenHash,
    ExpiresAt,
    UsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    ActorRole,
    Action,
    Entity,
    EntityId,
    Before,
    After,
    RequestId,
    Ip,
    UserAgent,
}

fn timestamps(table: &mut TableCreateStatement, created: impl IntoIden, updated: impl IntoIden) {
    table
        .col(
            ColumnDef::new(created)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(updated)
                .timestamp_with_time_zone()
                .not_null(),
        );
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut accounts = Table::create();
        accounts
            .table(Accounts::Table)
            .col(ColumnDef::new(Accounts::Id).uuid().not_null().primary_key())
            .col(ColumnDef::new(Accounts::Email).string_len(254).not_null())
            .col(
                ColumnDef::new(Accounts::EmailFolded)
                    .string_len(254)
                    .not_null(),
            )
            .col(ColumnDef::new(Accounts::ExternalId).string_len(255).null())
            .col(ColumnDef::new(Accounts::Role).string_len(16).not_null())
            .col(
                ColumnDef::new(Accounts::DisplayName)
                    .string_len(200)
                    .not_null(),
            );
        timestamps(&mut accounts, Accounts::CreatedAt, Accounts::UpdatedAt);
        accounts.col(
            ColumnDef::new(Accounts::DeletedAt)
                .timestamp_with_time_zone()
                .null(),
        );
        manager.create_table(accounts.to_owned()).await?;

        let mut restaurants = Table::create();
        restaurants
            .table(Restaurants::Table)
            .col(
                ColumnDef::new(Restaurants::Id)
                    .uuid()
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(Restaurants::Name).string_len(200).not_null())
            .col(
                ColumnDef::new(Restaurants::NameFolded)
                    .string_len(200)
                    .not_null(),
            )
            .col(
                ColumnDef::new(Restaurants::ContactEmail)
                    .string_len(254)
                    .not_null(),
            )
            .col(ColumnDef::new(Restaurants::City).string_len(100).not_null())
            .col(
                ColumnDef::new(Restaurants::CityFolded)
                    .string_len(100)
                    .not_null(),
            )
            .col(ColumnDef::new(Restaurants::DeliveryPrefs).json().not_null())
            .col(
                ColumnDef::new(Restaurants::Active)
                    .boolean()
                    .not_null()
                    .default(true),
            );
        timestamps(
            &mut restaurants,
            Restaurants::CreatedAt,
            Restaurants::UpdatedAt,
        );
        restaurants.col(
            ColumnDef::new(Restaurants::DeletedAt)
                .timestamp_with_time_zone()
                .null(),
        );
        manager.create_table(restaurants.to_owned()).await?;

        let mut supplier_members = Table::create();
        supplier_members
            .table(SupplierMembers::Table)
            .col(
                ColumnDef::new(SupplierMembers::Id)
                    .uuid()
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(SupplierMembers::AccountId).uuid().not_null())
            .col(
                ColumnDef::new(SupplierMembers::SupplierId)
                    .uuid()
                    .not_null(),
            )
            .col(
                ColumnDef::new(SupplierMembers::Role)
                    .string_len(8)
                    .not_null(),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(SupplierMembers::Table, SupplierMembers::AccountId)
                    .to(Accounts::Table, Accounts::Id),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(SupplierMembers::Table, SupplierMembers::SupplierId)
                    .to(Suppliers::Table, Suppliers::Id),
            );
        timestamps(
            &mut supplier_members,
            SupplierMembers::CreatedAt,
            SupplierMembers::UpdatedAt,
        );
        manager.create_table(supplier_members.to_owned()).await?;

        let mut restaurant_members = Table::create();
        restaurant_members
            .table(RestaurantMembers::Table)
            .col(
                ColumnDef::new(RestaurantMembers::Id)
                    .uuid()
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(RestaurantMembers::AccountId)
                    .uuid()
                    .not_null(),
            )
            .col(
                ColumnDef::new(RestaurantMembers::RestaurantId)
                    .uuid()
                    .not_null(),
            )
            .col(
                ColumnDef::new(RestaurantMembers::Role)
                    .string_len(8)
                    .not_null(),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(RestaurantMembers::Table, RestaurantMembers::AccountId)
                    .to(Accounts::Table, Accounts::Id),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(RestaurantMembers::Table, RestaurantMembers::RestaurantId)
                    .to(Restaurants::Table, Restaurants::Id),
            );
        timestamps(
            &mut restaurant_members,
            RestaurantMembers::CreatedAt,
            RestaurantMembers::UpdatedAt,
        );
        manager.create_table(restaurant_members.to_owned()).await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(
                        ColumnDef::new(RefreshTokens::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RefreshTokens::AccountId).uuid().not_null())
                    .col(ColumnDef::new(RefreshTokens::FamilyId).uuid().not_null())
                    .col(
                        ColumnDef::new(RefreshTokens::TokenHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RefreshTokens::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RefreshTokens::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RefreshTokens::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RefreshTokens::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshTokens::Table, RefreshTokens::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(ColumnDef::new(AuditLog::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(AuditLog::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditLog::ActorId).uuid().null())
                    .col(
                        ColumnDef::new(AuditLog::ActorRole)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditLog::Action).string_len(64).not_null())
                    .col(ColumnDef::new(AuditLog::Entity).string_len(64).not_null())
                    .col(ColumnDef::new(AuditLog::EntityId).string_len(128).null())
                    .col(ColumnDef::new(AuditLog::Before).json().null())
                    .col(ColumnDef::new(AuditLog::After).json().null())
                    .col(ColumnDef::new(AuditLog::RequestId).string_len(128).null())
                    .col(ColumnDef::new(AuditLog::Ip).string_len(64).null())
                    .col(ColumnDef::new(AuditLog::UserAgent).string_len(512).null())
                    .to_owned(),
            )
            .await?;

        // Same syntax on SQLite and Postgres.
        let db = manager.get_connection();
        for statement in [
            "CREATE UNIQUE INDEX ux_accounts_email ON accounts (email_folded) WHERE deleted_at IS NULL",
            "CREATE UNIQUE INDEX ux_accounts_external_id ON accounts (external_id) WHERE external_id IS NOT NULL",
            "CREATE UNIQUE INDEX ux_supplier_members ON supplier_members (account_id, supplier_id)",
            "CREATE INDEX ix_supplier_members_supplier ON supplier_members (supplier_id)",
            "CREATE UNIQUE INDEX ux_restaurant_members ON restaurant_members (account_id, restaurant_id)",
            "CREATE INDEX ix_restaurant_members_restaurant ON restaurant_members (restaurant_id)",
            "CREATE INDEX ix_restaurants_name_folded ON restaurants (name_folded)",
            "CREATE UNIQUE INDEX ux_refresh_tokens_hash ON refresh_tokens (token_hash)",
            "CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (family_id)",
            "CREATE INDEX ix_audit_log_at ON audit_log (at)",
            "CREATE INDEX ix_audit_log_actor ON audit_log (actor_id, at)",
            "CREATE INDEX ix_audit_log_entity ON audit_log (entity, entity_id)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            RestaurantMembers::Table.into_iden(),
            SupplierMembers::Table.into_iden(),
            Restaurants::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
