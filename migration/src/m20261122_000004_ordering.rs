//! Ordering: carts, orders with their lines and status history, idempotency keys, and the VAT
//! rate of each product (orders are taxed by rate).
//!
//! Money columns are thousandths in `BIGINT`, as everywhere. Order lines are snapshots: they keep
//! the SKU, name, unit, price and tax rate of the moment the order was placed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    TaxRateBp,
}

#[derive(DeriveIden)]
enum Restaurants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Suppliers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Carts {
    Table,
    Id,
    RestaurantId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CartItems {
    Table,
    Id,
    CartId,
    ProductId,
    Quantity,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    RestaurantId,
    SupplierId,
    Status,
    Currency,
    SubtotalMilli,
    TaxMilli,
    TotalMilli,
    Taxes,
    RequestedDeliveryDate,
    Note,
    PlacedBy,
    CheckoutId,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    Id,
    OrderId,
    LineNumber,
    ProductId,
    Sku,
    Name,
    Unit,
    UnitPriceMilli,
    Quantity,
    LineTotalMilli,
    TaxRateBp,
}

#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    Id,
    OrderId,
    FromStatus,
    ToStatus,
    ActorAccountId,
    ActorRole,
    Reason,
    At,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    Scope,
    Operation,
    Key,
    RequestHash,
    Response,
    CreatedAt,
    ExpiresAt,
}

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

fn uuid(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

fn money(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}

fn at(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Swedish VAT on food is 12 %, the rate most of the catalog carries.
        manager
            .alter_table(
                Table::alter()
                    .table(Products::Table)
                    .add_column(
                        ColumnDef::new(Products::TaxRateBp)
                            .integer()
                            .not_null()
                            .default(1200),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Carts::Table)
                    .col(id(Carts::Id))
                    .col(uuid(Carts::RestaurantId).unique_key())
                    .col(at(Carts::CreatedAt))
                    .col(at(Carts::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Carts::Table, Carts::RestaurantId)
                            .to(Restaurants::Table, Restaurants::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CartItems::Table)
                    .col(id(CartItems::Id))
                    .col(uuid(CartItems::CartId))
                    .col(uuid(CartItems::ProductId))
                    .col(ColumnDef::new(CartItems::Quantity).big_integer().not_null())
                    .col(at(CartItems::CreatedAt))
                    .col(at(CartItems::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CartItems::Table, CartItems::CartId)
                            .to(Carts::Table, Carts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CartItems::Table, CartItems::ProductId)
                            .to(Products::Table, Products::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(id(Orders::Id))
                    .col(uuid(Orders::RestaurantId))
                    .col(uuid(Orders::SupplierId))
                    .col(ColumnDef::new(Orders::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Orders::Currency).string_len(3).not_null())
                    .col(money(Orders::SubtotalMilli))
                    .col(money(Orders::TaxMilli))
                    .col(money(Orders::TotalMilli))
                    .col(ColumnDef::new(Orders::Taxes).json().not_null())
                    .col(
                        ColumnDef::new(Orders::RequestedDeliveryDate)
                            .date()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Orders::Note).text().null())
                    .col(ColumnDef::new(Orders::PlacedBy).uuid().null())
                    .col(ColumnDef::new(Orders::CheckoutId).uuid().null())
                    .col(at(Orders::CreatedAt))
                    .col(at(Orders::UpdatedAt))
                    .col(
                        ColumnDef::new(Orders::DeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Orders::Table, Orders::RestaurantId)
                            .to(Restaurants::Table, Restaurants::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Orders::Table, Orders::SupplierId)
                            .to(Suppliers::Table, Suppliers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrderLines::Table)
                    .col(id(OrderLines::Id))
                    .col(uuid(OrderLines::OrderId))
                    .col(ColumnDef::new(OrderLines::LineNumber).integer().not_null())
                    .col(uuid(OrderLines::ProductId))
                    .col(ColumnDef::new(OrderLines::Sku).string_len(64).not_null())
                    .col(ColumnDef::new(OrderLines::Name).string_len(200).not_null())
                    .col(ColumnDef::new(OrderLines::Unit).string_len(16).not_null())
                    .col(money(OrderLines::UnitPriceMilli))
                    .col(
                        ColumnDef::new(OrderLines::Quantity)
                            .big_integer()
                            .not_null(),
                    )
                    .col(money(OrderLines::LineTotalMilli))
                    .col(ColumnDef::new(OrderLines::TaxRateBp).integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrderLines::Table, OrderLines::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrderLines::Table, OrderLines::ProductId)
                            .to(Products::Table, Products::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrderEvents::Table)
                    .col(id(OrderEvents::Id))
                    .col(uuid(OrderEvents::OrderId))
                    .col(
                        ColumnDef::new(OrderEvents::FromStatus)
                            .string_len(16)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OrderEvents::ToStatus)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(OrderEvents::ActorAccountId).uuid().null())
                    .col(
                        ColumnDef::new(OrderEvents::ActorRole)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(OrderEvents::Reason).text().null())
                    .col(at(OrderEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrderEvents::Table, OrderEvents::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(id(IdempotencyKeys::Id))
                    .col(
                        ColumnDef::new(IdempotencyKeys::Scope)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::Operation)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::Key)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::RequestHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(IdempotencyKeys::Response).json().not_null())
                    .col(at(IdempotencyKeys::CreatedAt))
                    .col(at(IdempotencyKeys::ExpiresAt))
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        for statement in [
            "CREATE INDEX ix_cart_items_cart ON cart_items (cart_id)",
            "CREATE UNIQUE INDEX ux_cart_items_cart_product ON cart_items (cart_id, product_id)",
            // The default order (newest first, id as tie-breaker), per tenant and overall.
            "CREATE INDEX ix_orders_restaurant ON orders (restaurant_id, created_at, id)",
            "CREATE INDEX ix_orders_supplier ON orders (supplier_id, created_at, id)",
            "CREATE INDEX ix_orders_created ON orders (created_at, id)",
            "CREATE INDEX ix_order_lines_order ON order_lines (order_id, line_number)",
            "CREATE INDEX ix_order_lines_product ON order_lines (product_id)",
            "CREATE INDEX ix_order_events_order ON order_events (order_id, at)",
            "CREATE UNIQUE INDEX ux_idempotency_keys ON idempotency_keys (scope, operation, key)",
            "CREATE INDEX ix_idempotency_keys_expiry ON idempotency_keys (expires_at)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKeys::Table.into_iden(),
            OrderEvents::Table.into_iden(),
            OrderLines::Table.into_iden(),
            Orders::Table.into_iden(),
            CartItems::Table.into_iden(),
            Carts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Products::Table)
                    .drop_column(Products::TaxRateBp)
                    .to_owned(),
            )
            .await
    }
}
