//! Supplier performance, rebuilt from order history: deliveries on time, units delivered
//! against units ordered, time to confirm.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SupplierMetrics {
    Table,
    SupplierId,
    DeliveredOrders,
    OnTimeOrders,
    OrderedUnits,
    DeliveredUnits,
    ConfirmedOrders,
    ConfirmationSeconds,
    ComputedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let count = |col: SupplierMetrics| {
            ColumnDef::new(col)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(SupplierMetrics::Table)
                    .col(
                        ColumnDef::new(SupplierMetrics::SupplierId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(count(SupplierMetrics::DeliveredOrders))
                    .col(count(SupplierMetrics::OnTimeOrders))
                    .col(count(SupplierMetrics::OrderedUnits))
                    .col(count(SupplierMetrics::DeliveredUnits))
                    .col(count(SupplierMetrics::ConfirmedOrders))
                    .col(count(SupplierMetrics::ConfirmationSeconds))
                    .col(
                        ColumnDef::new(SupplierMetrics::ComputedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SupplierMetrics::Table).to_owned())
            .await
    }
}
