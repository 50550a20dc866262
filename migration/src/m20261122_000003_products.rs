//! The catalog: products of suppliers, searchable by name and SKU.
//!
//! On Postgres, trigram indexes (pg_trgm) make name search fast and typo-tolerant; SQLite has
//! no such index and Iris ranks candidates itself (same scores on both backends).

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    SupplierId,
    Sku,
    SkuFolded,
    Name,
    NameFolded,
    Description,
    Category,
    CategoryFolded,
    Unit,
    UnitPriceMilli,
    Currency,
    StockOnHand,
    Allergens,
    DietaryTags,
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .col(ColumnDef::new(Products::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Products::SupplierId).uuid().not_null())
                    .col(ColumnDef::new(Products::Sku).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Products::SkuFolded)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Products::Name).string_len(200).not_null())
                    .col(
                        ColumnDef::new(Products::NameFolded)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Products::Description).text().null())
                    .col(
                        ColumnDef::new(Products::Category)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Products::CategoryFolded)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Products::Unit).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Products::UnitPriceMilli)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Products::Currency).string_len(3).not_null())
                    .col(
                        ColumnDef::new(Products::StockOnHand)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Products::Allergens)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Products::DietaryTags)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Products::Active)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Products::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Products::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Products::DeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Products::Table, Products::SupplierId)
                            .to(Suppliers::Table, Suppliers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for statement in [
            "CREATE UNIQUE INDEX ux_products_supplier_sku ON products (supplier_id, sku_folded) WHERE deleted_at IS NULL",
            "CREATE INDEX ix_products_supplier ON products (supplier_id)",
            "CREATE INDEX ix_products_category ON products (category_folded)",
            "CREATE INDEX ix_products_price ON products (unit_price_milli)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            for statement in [
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX ix_products_name_trgm ON products USING gin (name_folded gin_trgm_ops)",
                "CREATE INDEX ix_products_sku_trgm ON products USING gin (sku_folded gin_trgm_ops)",
            ] {
                db.execute_unprepared(statement).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Products::Table).to_owned())
            .await
    }
}
