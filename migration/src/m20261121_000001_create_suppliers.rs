//! Suppliers: the first organisation table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Suppliers {
    Table,
    Id,
    Name,
    NameFolded,
    OrganisationNumber,
    ContactEmail,
    City,
    CityFolded,
    Currency,
    MinimumOrderValueMilli,
    DeliveryDays,
    Active,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Suppliers::Table)
                    .col(
                        ColumnDef::new(Suppliers::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Suppliers::Name).string_len(200).not_null())
                    .col(
                        ColumnDef::new(Suppliers::NameFolded)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Suppliers::OrganisationNumber)
                            .string_len(11)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Suppliers::ContactEmail)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Suppliers::City).string_len(100).not_null())
                    .col(
                        ColumnDef::new(Suppliers::CityFolded)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Suppliers::Currency).string_len(3).not_null())
                    .col(
                        ColumnDef::new(Suppliers::MinimumOrderValueMilli)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Suppliers::DeliveryDays)
                            .small_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Suppliers::Active)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Suppliers::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Suppliers::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Suppliers::DeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // A partial unique index (same syntax on SQLite and Postgres): a soft-deleted supplier
        // does not block a new one with the same organisation number.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_suppliers_organisation_number \
                 ON suppliers (organisation_number) WHERE deleted_at IS NULL",
            )
            .await?;
        for (name, column) in [
            ("ix_suppliers_name_folded", Suppliers::NameFolded),
            ("ix_suppliers_city_folded", Suppliers::CityFolded),
            ("ix_suppliers_created_at", Suppliers::CreatedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Suppliers::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Suppliers::Table).to_owned())
            .await
    }
}
