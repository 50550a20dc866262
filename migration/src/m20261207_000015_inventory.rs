//! Restaurant inventory: the items a restaurant keeps, and the ledger of their movements
//! (never edited in place; on-hand is the sum of an item's movements).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InventoryItems {
    Table,
    Id,
    RestaurantId,
    ProductId,
    Name,
    Unit,
    PackSizeMilli,
    Location,
    ParLevelMilli,
    TargetLevelMilli,
    Active,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum InventoryMovements {
    Table,
    Id,
    ItemId,
    RestaurantId,
    Kind,
    QuantityMilli,
    CountedMilli,
    Reason,
    OrderId,
    OrderLineNumber,
    TransferId,
    OccurredAt,
    RecordedBy,
    CreatedAt,
}

fn at(column: impl IntoIden) -> ColumnDef {
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
                    .table(InventoryItems::Table)
                    .col(
                        ColumnDef::new(InventoryItems::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(InventoryItems::RestaurantId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(InventoryItems::ProductId).uuid().null())
                    .col(
                        ColumnDef::new(InventoryItems::Name)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InventoryItems::Unit)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InventoryItems::PackSizeMilli)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InventoryItems::Location)
                            .string_len(100)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(InventoryItems::ParLevelMilli)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(InventoryItems::TargetLevelMilli)
                            .big_integer()
                            .null(),
                    )
                    .col(ColumnDef::new(InventoryItems::Active).boolean().not_null())
                    .col(at(InventoryItems::CreatedAt))
                    .col(at(InventoryItems::UpdatedAt))
                    .col(
                        ColumnDef::new(InventoryItems::DeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InventoryMovements::Table)
                    .col(
                        ColumnDef::new(InventoryMovements::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(InventoryMovements::ItemId).uuid().not_null())
                    .col(
                        ColumnDef::new(InventoryMovements::RestaurantId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InventoryMovements::Kind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InventoryMovements::QuantityMilli)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InventoryMovements::CountedMilli)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(InventoryMovements::Reason)
                            .string_len(500)
                            .null(),
                    )
                    .col(ColumnDef::new(InventoryMovements::OrderId).uuid().null())
                    .col(
                        ColumnDef::new(InventoryMovements::OrderLineNumber)
                            .integer()
                            .null(),
                    )
                    .col(ColumnDef::new(InventoryMovements::TransferId).uuid().null())
                    .col(at(InventoryMovements::OccurredAt))
                    .col(ColumnDef::new(InventoryMovements::RecordedBy).uuid().null())
                    .col(at(InventoryMovements::CreatedAt))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in [
            // One item per product a restaurant keeps (free-text items have none).
            "CREATE UNIQUE INDEX ux_inventory_items_product ON inventory_items \
             (restaurant_id, product_id) WHERE product_id IS NOT NULL AND deleted_at IS NULL",
            "CREATE INDEX ix_inventory_items_restaurant ON inventory_items (restaurant_id, name)",
            // On-hand as of a moment: an item's movements up to it.
            "CREATE INDEX ix_inventory_movements_item ON inventory_movements (item_id, occurred_at)",
            // A delivered order's line is received once.
            "CREATE UNIQUE INDEX ux_inventory_movements_receipt ON inventory_movements \
             (order_id, order_line_number) WHERE order_id IS NOT NULL",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InventoryMovements::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(InventoryItems::Table).to_owned())
            .await
    }
}
