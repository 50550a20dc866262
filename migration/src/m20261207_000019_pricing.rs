//! Pricing: suppliers' price lists (entries with quantity tiers, assigned to restaurants, to a
//! customer group or to every customer), customer groups, bounded dynamic price rules and the
//! history of every price change; order lines keep which list and tier priced them; products
//! keep the price their supplier set (the base the rules are bounded by); suppliers and
//! restaurants gain coordinates in millionths of a degree (exact on both backends), for the
//! supplier recommendation.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PriceLists {
    Table,
    Id,
    SupplierId,
    Name,
    Currency,
    ValidFrom,
    ValidTo,
    Priority,
    Active,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum PriceListEntries {
    Table,
    Id,
    PriceListId,
    ProductId,
    MinQuantity,
    PriceMilli,
    PercentOffBp,
}

#[derive(DeriveIden)]
enum PriceListAssignments {
    Table,
    Id,
    PriceListId,
    Target,
    RestaurantId,
    CustomerGroup,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CustomerGroupMembers {
    Table,
    Id,
    SupplierId,
    GroupName,
    RestaurantId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PriceRules {
    Table,
    Id,
    SupplierId,
    ProductId,
    Category,
    Floor,
    Ceiling,
    MaxStepBp,
    MinCoverMilli,
    MaxCoverMilli,
    Active,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum PriceChanges {
    Table,
    Id,
    ProductId,
    SupplierId,
    RuleId,
    JobRunId,
    OldPriceMilli,
    NewPriceMilli,
    Reason,
    Signals,
    ChangedAt,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    BasePriceMilli,
    UnitPriceMilli,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    ListUnitPriceMilli,
    PriceListId,
    PriceListName,
    PriceTierMinQuantity,
}

#[derive(DeriveIden)]
enum Suppliers {
    Table,
    LatitudeE6,
    LongitudeE6,
}

#[derive(DeriveIden)]
enum Restaurants {
    Table,
    LatitudeE6,
    LongitudeE6,
}

fn id(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

fn uuid(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).uuid().not_null().to_owned()
}

fn at(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn at_or_null(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, columns: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PriceLists::Table)
                    .col(id(PriceLists::Id))
                    .col(uuid(PriceLists::SupplierId))
                    .col(ColumnDef::new(PriceLists::Name).string_len(100).not_null())
                    .col(
                        ColumnDef::new(PriceLists::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    .col(at_or_null(PriceLists::ValidFrom))
                    .col(at_or_null(PriceLists::ValidTo))
                    .col(ColumnDef::new(PriceLists::Priority).integer().not_null())
                    .col(ColumnDef::new(PriceLists::Active).boolean().not_null())
                    .col(at(PriceLists::CreatedAt))
                    .col(at(PriceLists::UpdatedAt))
                    .col(at_or_null(PriceLists::DeletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "price_lists_by_supplier",
                PriceLists::Table,
                &["supplier_id", "created_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PriceListEntries::Table)
                    .col(id(PriceListEntries::Id))
                    .col(uuid(PriceListEntries::PriceListId))
                    .col(uuid(PriceListEntries::ProductId))
                    .col(
                        ColumnDef::new(PriceListEntries::MinQuantity)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PriceListEntries::PriceMilli)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(PriceListEntries::PercentOffBp)
                            .integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "price_list_entries_tier",
                    PriceListEntries::Table,
                    &["price_list_id", "product_id", "min_quantity"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "price_list_entries_by_product",
                PriceListEntries::Table,
                &["product_id", "price_list_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PriceListAssignments::Table)
                    .col(id(PriceListAssignments::Id))
                    .col(uuid(PriceListAssignments::PriceListId))
                    .col(
                        ColumnDef::new(PriceListAssignments::Target)
                            .string_len(160)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PriceListAssignments::RestaurantId)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(PriceListAssignments::CustomerGroup)
                            .string_len(100)
                            .null(),
                    )
                    .col(at(PriceListAssignments::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "price_list_assignments_target",
                    PriceListAssignments::Table,
                    &["price_list_id", "target"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "price_list_assignments_by_restaurant",
                PriceListAssignments::Table,
                &["restaurant_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CustomerGroupMembers::Table)
                    .col(id(CustomerGroupMembers::Id))
                    .col(uuid(CustomerGroupMembers::SupplierId))
                    .col(
                        ColumnDef::new(CustomerGroupMembers::GroupName)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(uuid(CustomerGroupMembers::RestaurantId))
                    .col(at(CustomerGroupMembers::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "customer_group_members_unique",
                    CustomerGroupMembers::Table,
                    &["supplier_id", "group_name", "restaurant_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "customer_group_members_by_restaurant",
                CustomerGroupMembers::Table,
                &["restaurant_id", "supplier_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PriceRules::Table)
                    .col(id(PriceRules::Id))
                    .col(uuid(PriceRules::SupplierId))
                    .col(ColumnDef::new(PriceRules::ProductId).uuid().null())
                    .col(ColumnDef::new(PriceRules::Category).string_len(100).null())
                    .col(ColumnDef::new(PriceRules::Floor).json().not_null())
                    .col(ColumnDef::new(PriceRules::Ceiling).json().not_null())
                    .col(ColumnDef::new(PriceRules::MaxStepBp).integer().not_null())
                    .col(
                        ColumnDef::new(PriceRules::MinCoverMilli)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PriceRules::MaxCoverMilli)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PriceRules::Active).boolean().not_null())
                    .col(at(PriceRules::CreatedAt))
                    .col(at(PriceRules::UpdatedAt))
                    .col(at_or_null(PriceRules::DeletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "price_rules_by_supplier",
                PriceRules::Table,
                &["supplier_id", "created_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PriceChanges::Table)
                    .col(id(PriceChanges::Id))
                    .col(uuid(PriceChanges::ProductId))
                    .col(uuid(PriceChanges::SupplierId))
                    .col(ColumnDef::new(PriceChanges::RuleId).uuid().null())
                    .col(ColumnDef::new(PriceChanges::JobRunId).uuid().null())
                    .col(
                        ColumnDef::new(PriceChanges::OldPriceMilli)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PriceChanges::NewPriceMilli)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PriceChanges::Reason)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(PriceChanges::Signals).json().not_null())
                    .col(at(PriceChanges::ChangedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "price_changes_by_product",
                PriceChanges::Table,
                &["product_id", "changed_at", "id"],
            ))
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Products::Table)
                    .add_column(
                        ColumnDef::new(Products::BasePriceMilli)
                            .big_integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The refresh walks a supplier's products by id.
        manager
            .create_index(index(
                "ix_products_supplier_id",
                Products::Table,
                &["supplier_id", "id"],
            ))
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Products::Table)
                    .value(
                        Products::BasePriceMilli,
                        Expr::col(Products::UnitPriceMilli),
                    )
                    .to_owned(),
            )
            .await?;
        for column in [
            ColumnDef::new(OrderLines::ListUnitPriceMilli)
                .big_integer()
                .null()
                .to_owned(),
            ColumnDef::new(OrderLines::PriceListId)
                .uuid()
                .null()
                .to_owned(),
            ColumnDef::new(OrderLines::PriceListName)
                .string_len(100)
                .null()
                .to_owned(),
            ColumnDef::new(OrderLines::PriceTierMinQuantity)
                .big_integer()
                .null()
                .to_owned(),
        ] {
            // SQLite adds one column per statement.
            manager
                .alter_table(
                    Table::alter()
                        .table(OrderLines::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for (table, lat, lon) in [
            (
                Suppliers::Table.into_iden(),
                Suppliers::LatitudeE6.into_iden(),
                Suppliers::LongitudeE6.into_iden(),
            ),
            (
                Restaurants::Table.into_iden(),
                Restaurants::LatitudeE6.into_iden(),
                Restaurants::LongitudeE6.into_iden(),
            ),
        ] {
            for column in [lat.clone(), lon.clone()] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table.clone())
                            .add_column(ColumnDef::new(column).big_integer().null())
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_products_supplier_id")
                    .table(Products::Table)
                    .to_owned(),
            )
            .await?;
        for table in [
            PriceChanges::Table.into_iden(),
            PriceRules::Table.into_iden(),
            CustomerGroupMembers::Table.into_iden(),
            PriceListAssignments::Table.into_iden(),
            PriceListEntries::Table.into_iden(),
            PriceLists::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        let drops: [(DynIden, &[DynIden]); 4] = [
            (
                Products::Table.into_iden(),
                &[Products::BasePriceMilli.into_iden()],
            ),
            (
                OrderLines::Table.into_iden(),
                &[
                    OrderLines::ListUnitPriceMilli.into_iden(),
                    OrderLines::PriceListId.into_iden(),
                    OrderLines::PriceListName.into_iden(),
                    OrderLines::PriceTierMinQuantity.into_iden(),
                ],
            ),
            (
                Suppliers::Table.into_iden(),
                &[
                    Suppliers::LatitudeE6.into_iden(),
                    Suppliers::LongitudeE6.into_iden(),
                ],
            ),
            (
                Restaurants::Table.into_iden(),
                &[
                    Restaurants::LatitudeE6.into_iden(),
                    Restaurants::LongitudeE6.into_iden(),
                ],
            ),
        ];
        for (table, columns) in drops {
            for column in columns {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table.clone())
                            .drop_column(column.clone())
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
