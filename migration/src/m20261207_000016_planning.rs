//! Planning: stored demand forecasts (one series per restaurant or supplier and product, its
//! daily points replaced atomically per run), the weather stored per city and day, and the
//! reorder policy of each inventory item.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ForecastSeries {
    Table,
    Id,
    Scope,
    OwnerId,
    ProductId,
    Source,
    Model,
    HistoryDays,
    Smape,
    Mase,
    NaiveSmape,
    WeatherAdjusted,
    Stale,
    FirstDay,
    GeneratedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ForecastPoints {
    Table,
    SeriesId,
    Day,
    PointMilli,
    Lower80Milli,
    Upper80Milli,
    Lower95Milli,
    Upper95Milli,
}

#[derive(DeriveIden)]
enum WeatherDays {
    Table,
    City,
    Day,
    TempMaxMilli,
    TempMinMilli,
    PrecipitationMilli,
    FetchedAt,
}

#[derive(DeriveIden)]
enum ReorderPolicies {
    Table,
    ItemId,
    RestaurantId,
    Kind,
    MinMilli,
    MaxMilli,
    OrderCostMilli,
    HoldingCostMilli,
    ServiceLevelPermille,
    CreatedAt,
    UpdatedAt,
}

fn at(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn milli(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).big_integer().not_null().to_owned()
}

fn optional_milli(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).big_integer().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ForecastSeries::Table)
                    .col(
                        ColumnDef::new(ForecastSeries::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ForecastSeries::Scope)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ForecastSeries::OwnerId).uuid().not_null())
                    .col(ColumnDef::new(ForecastSeries::ProductId).uuid().not_null())
                    .col(
                        ColumnDef::new(ForecastSeries::Source)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ForecastSeries::Model)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ForecastSeries::HistoryDays)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ForecastSeries::Smape).double().null())
                    .col(ColumnDef::new(ForecastSeries::Mase).double().null())
                    .col(ColumnDef::new(ForecastSeries::NaiveSmape).double().null())
                    .col(
                        ColumnDef::new(ForecastSeries::WeatherAdjusted)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ForecastSeries::Stale).boolean().not_null())
                    .col(ColumnDef::new(ForecastSeries::FirstDay).date().not_null())
                    .col(at(ForecastSeries::GeneratedAt))
                    .col(at(ForecastSeries::CreatedAt))
                    .col(at(ForecastSeries::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ForecastPoints::Table)
                    .col(ColumnDef::new(ForecastPoints::SeriesId).uuid().not_null())
                    .col(ColumnDef::new(ForecastPoints::Day).date().not_null())
                    .col(milli(ForecastPoints::PointMilli))
                    .col(milli(ForecastPoints::Lower80Milli))
                    .col(milli(ForecastPoints::Upper80Milli))
                    .col(milli(ForecastPoints::Lower95Milli))
                    .col(milli(ForecastPoints::Upper95Milli))
                    .primary_key(
                        Index::create()
                            .col(ForecastPoints::SeriesId)
                            .col(ForecastPoints::Day),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WeatherDays::Table)
                    .col(ColumnDef::new(WeatherDays::City).string_len(100).not_null())
                    .col(ColumnDef::new(WeatherDays::Day).date().not_null())
                    .col(milli(WeatherDays::TempMaxMilli))
                    .col(milli(WeatherDays::TempMinMilli))
                    .col(milli(WeatherDays::PrecipitationMilli))
                    .col(at(WeatherDays::FetchedAt))
                    .primary_key(Index::create().col(WeatherDays::City).col(WeatherDays::Day))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReorderPolicies::Table)
                    .col(
                        ColumnDef::new(ReorderPolicies::ItemId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ReorderPolicies::RestaurantId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ReorderPolicies::Kind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(optional_milli(ReorderPolicies::MinMilli))
                    .col(optional_milli(ReorderPolicies::MaxMilli))
                    .col(optional_milli(ReorderPolicies::OrderCostMilli))
                    .col(optional_milli(ReorderPolicies::HoldingCostMilli))
                    .col(
                        ColumnDef::new(ReorderPolicies::ServiceLevelPermille)
                            .integer()
                            .null(),
                    )
                    .col(at(ReorderPolicies::CreatedAt))
                    .col(at(ReorderPolicies::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in [
            // One series per (scope, owner, product): a run replaces its points.
            "CREATE UNIQUE INDEX ux_forecast_series_key ON forecast_series \
             (scope, owner_id, product_id)",
            "CREATE INDEX ix_reorder_policies_restaurant ON reorder_policies (restaurant_id)",
            // Daily demand from usage: a restaurant's movements by kind and time.
            "CREATE INDEX ix_inventory_movements_restaurant ON inventory_movements \
             (restaurant_id, kind, occurred_at)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS ix_inventory_movements_restaurant")
            .await?;
        for table in [
            ReorderPolicies::Table.into_iden(),
            WeatherDays::Table.into_iden(),
            ForecastPoints::Table.into_iden(),
            ForecastSeries::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
