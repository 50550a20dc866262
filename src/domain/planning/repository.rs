//! Storage of planning: the demand history forecasts are made from (read from the inventory
//! ledger and the order book), stored forecasts, reorder policies, and what open orders will
//! deliver.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{forecast_points, forecast_series, reorder_policies, weather_days};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, sea_query::OnConflict,
};
use uuid::Uuid;

use super::{ForecastPoint, Scope, SeriesInfo, Source, StoredForecast, forecasting};
use crate::{
    domain::kernel::money::{from_milli, to_milli},
    error::AppError,
    infra::db::{UtcPart, placeholder, utc_text},
};

fn parse_day(raw: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored day {raw:?}: {e}")))
}

/// One day's demand of one series key.
#[derive(Clone, Debug)]
pub(super) struct DailyDemand {
    pub owner: Uuid,
    pub product: Uuid,
    pub day: NaiveDate,
    /// Thousandths of the unit.
    pub milli: i64,
}

/// The restaurants with usage recorded in `[from, until)`.
pub(super) async fn restaurants_with_usage(
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Uuid>, AppError> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT DISTINCT restaurant_id AS owner FROM inventory_movements \
         WHERE kind = 'USAGE' AND occurred_at >= {} AND occurred_at < {}",
        placeholder(backend, 1),
        placeholder(backend, 2)
    );
    db.query_all_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [from.into(), until.into()],
    ))
    .await?
    .into_iter()
    .map(|row| Ok(row.try_get("", "owner")?))
    .collect()
}

/// Recorded usage of `restaurants` per (restaurant, product, day) in `[from, until)` (read a
/// few restaurants at a time: a year of a large restaurant is many rows).
pub(super) async fn daily_usage(
    db: &impl ConnectionTrait,
    restaurants: &[Uuid],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<DailyDemand>, AppError> {
    if restaurants.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let day = utc_text(backend, "m.occurred_at", UtcPart::Day);
    let owners: Vec<String> = (0..restaurants.len())
        .map(|i| placeholder(backend, i + 3))
        .collect();
    let sql = format!(
        "SELECT m.restaurant_id AS owner, i.product_id AS product, {day} AS day, \
                CAST(-SUM(m.quantity_milli) AS BIGINT) AS milli \
         FROM inventory_movements m JOIN inventory_items i ON i.id = m.item_id \
         WHERE m.kind = 'USAGE' AND i.product_id IS NOT NULL \
           AND m.occurred_at >= {} AND m.occurred_at < {} AND m.restaurant_id IN ({}) \
         GROUP BY m.restaurant_id, i.product_id, {day}",
        placeholder(backend, 1),
        placeholder(backend, 2),
        owners.join(", ")
    );
    let mut values: Vec<sea_orm::Value> = vec![from.into(), until.into()];
    values.extend(restaurants.iter().map(|r| (*r).into()));
    demand_rows(db, Statement::from_sql_and_values(backend, sql, values)).await
}

/// Ordered units per (restaurant or supplier, product, day placed) in `[from, until)`, of
/// orders not cancelled or rejected.
pub(super) async fn daily_orders(
    db: &impl ConnectionTrait,
    scope: Scope,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<DailyDemand>, AppError> {
    let backend = db.get_database_backend();
    let day = utc_text(backend, "o.created_at", UtcPart::Day);
    let owner = match scope {
        Scope::Restaurant => "o.restaurant_id",
        Scope::Supplier => "o.supplier_id",
    };
    let sql = format!(
        "SELECT {owner} AS owner, l.product_id AS product, {day} AS day, \
                CAST(SUM(l.quantity) * 1000 AS BIGINT) AS milli \
         FROM order_lines l JOIN orders o ON o.id = l.order_id \
         WHERE o.deleted_at IS NULL AND o.status NOT IN ('CANCELLED', 'REJECTED') \
           AND o.created_at >= {} AND o.created_at < {} \
         GROUP BY {owner}, l.product_id, {day}",
        placeholder(backend, 1),
        placeholder(backend, 2)
    );
    demand_rows(
        db,
        Statement::from_sql_and_values(backend, sql, [from.into(), until.into()]),
    )
    .await
}

async fn demand_rows(
    db: &impl ConnectionTrait,
    statement: Statement,
) -> Result<Vec<DailyDemand>, AppError> {
    db.query_all_raw(statement)
        .await?
        .into_iter()
        .map(|row| {
            Ok(DailyDemand {
                owner: row.try_get("", "owner")?,
                product: row.try_get("", "product")?,
                day: parse_day(&row.try_get::<String>("", "day")?)?,
                milli: row.try_get("", "milli")?,
            })
        })
        .collect()
}

/// Every stored series' id by its key.
pub(super) async fn series_ids(
    db: &impl ConnectionTrait,
) -> Result<HashMap<(Scope, Uuid, Uuid), Uuid>, AppError> {
    let rows: Vec<(Uuid, String, Uuid, Uuid)> = forecast_series::Entity::find()
        .select_only()
        .column(forecast_series::Column::Id)
        .column(forecast_series::Column::Scope)
        .column(forecast_series::Column::OwnerId)
        .column(forecast_series::Column::ProductId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, scope, owner, product)| ((Scope::of_stored(&scope), owner, product), id))
        .collect())
}

/// One series' new forecast, ready to store.
pub(super) struct SeriesWrite<'a> {
    pub id: Uuid,
    pub scope: Scope,
    pub owner: Uuid,
    pub product: Uuid,
    pub source: Source,
    pub history_days: usize,
    pub first_day: NaiveDate,
    pub result: &'a forecasting::SeriesForecast,
}

fn milli_of(value: f64) -> i64 {
    (value.max(0.0) * 1000.0).round().min(i64::MAX as f64) as i64
}

/// Replaces the forecasts of `series` (in the caller's transaction): each series row
/// upserted, its points deleted and written anew.
pub(super) async fn store_forecasts(
    txn: &impl ConnectionTrait,
    series: &[SeriesWrite<'_>],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if series.is_empty() {
        return Ok(());
    }
    let rows = series.iter().map(|s| {
        let accuracy = s.result.accuracy;
        forecast_series::ActiveModel {
            id: Set(s.id),
            scope: Set(s.scope.as_str().to_owned()),
            owner_id: Set(s.owner),
            product_id: Set(s.product),
            source: Set(s.source.as_str().to_owned()),
            model: Set(s.result.model.as_str().to_owned()),
            history_days: Set(i32::try_from(s.history_days).unwrap_or(i32::MAX)),
            smape: Set(accuracy.map(|a| a.smape)),
            mase: Set(accuracy.and_then(|a| a.mase)),
            naive_smape: Set(accuracy.map(|a| a.naive_smape)),
            weather_adjusted: Set(s.result.weather_adjusted),
            stale: Set(false),
            first_day: Set(s.first_day),
            generated_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
        }
    });
    forecast_series::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(forecast_series::Column::Id)
                .update_columns([
                    forecast_series::Column::Source,
                    forecast_series::Column::Model,
                    forecast_series::Column::HistoryDays,
                    forecast_series::Column::Smape,
                    forecast_series::Column::Mase,
                    forecast_series::Column::NaiveSmape,
                    forecast_series::Column::WeatherAdjusted,
                    forecast_series::Column::Stale,
                    forecast_series::Column::FirstDay,
                    forecast_series::Column::GeneratedAt,
                    forecast_series::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    let ids: Vec<Uuid> = series.iter().map(|s| s.id).collect();
    forecast_points::Entity::delete_many()
        .filter(forecast_points::Column::SeriesId.is_in(ids))
        .exec(txn)
        .await?;
    let points: Vec<forecast_points::ActiveModel> =
        series
            .iter()
            .flat_map(|s| {
                s.result.days.iter().enumerate().map(move |(offset, d)| {
                    forecast_points::ActiveModel {
                        series_id: Set(s.id),
                        day: Set(s.first_day + chrono::Duration::days(offset as i64)),
                        point_milli: Set(milli_of(d.point)),
                        lower80_milli: Set(milli_of(d.lower80)),
                        upper80_milli: Set(milli_of(d.upper80)),
                        lower95_milli: Set(milli_of(d.lower95)),
                        upper95_milli: Set(milli_of(d.upper95)),
                    }
                })
            })
            .collect();
    // 7 parameters a row: 1000 rows stay far below either backend's parameter limit.
    for batch in points.chunks(1000) {
        forecast_points::Entity::insert_many(batch.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

fn to_info(m: forecast_series::Model) -> SeriesInfo {
    SeriesInfo {
        id: m.id,
        scope: Scope::of_stored(&m.scope),
        owner_id: m.owner_id,
        product_id: m.product_id,
        source: Source::of_stored(&m.source),
        model: forecasting::Model::of_stored(&m.model),
        history_days: m.history_days,
        smape: m.smape,
        mase: m.mase,
        naive_smape: m.naive_smape,
        weather_adjusted: m.weather_adjusted,
        stale: m.stale,
        first_day: m.first_day,
        generated_at: m.generated_at,
    }
}

fn to_point(m: forecast_points::Model) -> ForecastPoint {
    ForecastPoint {
        day: m.day,
        point: from_milli(m.point_milli),
        lower80: from_milli(m.lower80_milli),
        upper80: from_milli(m.upper80_milli),
        lower95: from_milli(m.lower95_milli),
        upper95: from_milli(m.upper95_milli),
    }
}

/// The stored forecasts of `owner`'s `products` (all its products when empty), with their
/// points from `from` on.
pub(super) async fn forecasts_of(
    db: &impl ConnectionTrait,
    scope: Scope,
    owner: Uuid,
    products: &[Uuid],
    from: NaiveDate,
) -> Result<Vec<StoredForecast>, AppError> {
    let mut query = forecast_series::Entity::find()
        .filter(forecast_series::Column::Scope.eq(scope.as_str()))
        .filter(forecast_series::Column::OwnerId.eq(owner));
    if !products.is_empty() {
        query = query.filter(forecast_series::Column::ProductId.is_in(products.to_vec()));
    }
    let series = query.all(db).await?;
    if series.is_empty() {
        return Ok(Vec::new());
    }
    let mut points: HashMap<Uuid, Vec<ForecastPoint>> = HashMap::new();
    for chunk in series.chunks(500) {
        let rows = forecast_points::Entity::find()
            .filter(forecast_points::Column::SeriesId.is_in(chunk.iter().map(|s| s.id)))
            .filter(forecast_points::Column::Day.gte(from))
            .order_by_asc(forecast_points::Column::Day)
            .all(db)
            .await?;
        for row in rows {
            points.entry(row.series_id).or_default().push(to_point(row));
        }
    }
    Ok(series
        .into_iter()
        .map(|s| {
            let points = points.remove(&s.id).unwrap_or_default();
            StoredForecast {
                series: to_info(s),
                points,
            }
        })
        .collect())
}

/// Marks the series an order touched stale: its restaurant's and its supplier's series of
/// the order's products, where the forecast was made before the order was placed.
pub(super) async fn mark_order_series_stale(
    txn: &impl ConnectionTrait,
    order: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let backend = txn.get_database_backend();
    let p = |n| placeholder(backend, n);
    let sql = format!(
        "UPDATE forecast_series SET stale = {}, updated_at = {} \
         WHERE stale = {} AND product_id IN (SELECT product_id FROM order_lines WHERE order_id = {}) \
           AND generated_at <= (SELECT created_at FROM orders WHERE id = {}) \
           AND ((scope = 'RESTAURANT' AND owner_id = (SELECT restaurant_id FROM orders WHERE id = {})) \
             OR (scope = 'SUPPLIER' AND owner_id = (SELECT supplier_id FROM orders WHERE id = {})))",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7)
    );
    let result = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                true.into(),
                now.into(),
                false.into(),
                order.into(),
                order.into(),
                order.into(),
                order.into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// Units per product that the restaurant's open orders (placed, confirmed, shipped) will
/// deliver.
pub(super) async fn on_order(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
) -> Result<HashMap<Uuid, i64>, AppError> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT l.product_id AS product, CAST(SUM(l.quantity) AS BIGINT) AS units \
         FROM order_lines l JOIN orders o ON o.id = l.order_id \
         WHERE o.restaurant_id = {} AND o.deleted_at IS NULL \
           AND o.status IN ('PLACED', 'CONFIRMED', 'SHIPPED') \
         GROUP BY l.product_id",
        placeholder(backend, 1)
    );
    db.query_all_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [restaurant.into()],
    ))
    .await?
    .into_iter()
    .map(|row| Ok((row.try_get("", "product")?, row.try_get("", "units")?)))
    .collect()
}

/// A stored policy, as its parts.
pub(super) struct PolicyRow {
    pub kind: String,
    pub min: Option<rust_decimal::Decimal>,
    pub max: Option<rust_decimal::Decimal>,
    pub order_cost: Option<rust_decimal::Decimal>,
    pub holding_cost: Option<rust_decimal::Decimal>,
    pub service_level: Option<rust_decimal::Decimal>,
    pub updated_at: DateTime<Utc>,
}

fn to_policy_row(m: reorder_policies::Model) -> (Uuid, PolicyRow) {
    (
        m.item_id,
        PolicyRow {
            kind: m.kind,
            min: m.min_milli.map(from_milli),
            max: m.max_milli.map(from_milli),
            order_cost: m.order_cost_milli.map(from_milli),
            holding_cost: m.holding_cost_milli.map(from_milli),
            service_level: m
                .service_level_permille
                .map(|p| rust_decimal::Decimal::new(i64::from(p), 3).normalize()),
            updated_at: m.updated_at,
        },
    )
}

/// The restaurant's stored policies by item.
pub(super) async fn policies_of(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
) -> Result<HashMap<Uuid, PolicyRow>, AppError> {
    Ok(reorder_policies::Entity::find()
        .filter(reorder_policies::Column::RestaurantId.eq(restaurant))
        .all(db)
        .await?
        .into_iter()
        .map(to_policy_row)
        .collect())
}

/// Stores an item's policy (replacing the one it had).
pub(super) async fn upsert_policy(
    txn: &impl ConnectionTrait,
    item: Uuid,
    restaurant: Uuid,
    row: &PolicyRow,
) -> Result<(), AppError> {
    let milli = |v: Option<rust_decimal::Decimal>| -> Result<Option<i64>, AppError> {
        v.map(|d| to_milli(d).map_err(|e| AppError::Internal(anyhow::anyhow!(e.rule()))))
            .transpose()
    };
    let permille = row.service_level.and_then(|s| {
        use rust_decimal::prelude::ToPrimitive;
        (s * rust_decimal::Decimal::from(1000)).round().to_i32()
    });
    reorder_policies::Entity::insert(reorder_policies::ActiveModel {
        item_id: Set(item),
        restaurant_id: Set(restaurant),
        kind: Set(row.kind.clone()),
        min_milli: Set(milli(row.min)?),
        max_milli: Set(milli(row.max)?),
        order_cost_milli: Set(milli(row.order_cost)?),
        holding_cost_milli: Set(milli(row.holding_cost)?),
        service_level_permille: Set(permille),
        created_at: Set(row.updated_at),
        updated_at: Set(row.updated_at),
    })
    .on_conflict(
        OnConflict::column(reorder_policies::Column::ItemId)
            .update_columns([
                reorder_policies::Column::Kind,
                reorder_policies::Column::MinMilli,
                reorder_policies::Column::MaxMilli,
                reorder_policies::Column::OrderCostMilli,
                reorder_policies::Column::HoldingCostMilli,
                reorder_policies::Column::ServiceLevelPermille,
                reorder_policies::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Stores a city's days (the latest answer for a day wins).
pub(super) async fn store_weather(
    db: &impl ConnectionTrait,
    city: &str,
    days: &[super::weather::WeatherDay],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if days.is_empty() {
        return Ok(());
    }
    let milli = |v: f64| (v * 1000.0).round() as i64;
    let rows = days.iter().map(|d| weather_days::ActiveModel {
        city: Set(city.to_owned()),
        day: Set(d.day),
        temp_max_milli: Set(milli(d.temp_max)),
        temp_min_milli: Set(milli(d.temp_min)),
        precipitation_milli: Set(milli(d.precipitation.max(0.0))),
        fetched_at: Set(now),
    });
    weather_days::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([weather_days::Column::City, weather_days::Column::Day])
                .update_columns([
                    weather_days::Column::TempMaxMilli,
                    weather_days::Column::TempMinMilli,
                    weather_days::Column::PrecipitationMilli,
                    weather_days::Column::FetchedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The stored maximum temperatures (°C) of `cities` from `from` on, by city and day.
pub(super) async fn max_temperatures(
    db: &impl ConnectionTrait,
    cities: &[String],
    from: NaiveDate,
) -> Result<HashMap<String, HashMap<NaiveDate, f64>>, AppError> {
    let mut by_city: HashMap<String, HashMap<NaiveDate, f64>> = HashMap::new();
    if cities.is_empty() {
        return Ok(by_city);
    }
    let rows: Vec<(String, NaiveDate, i64)> = weather_days::Entity::find()
        .select_only()
        .column(weather_days::Column::City)
        .column(weather_days::Column::Day)
        .column(weather_days::Column::TempMaxMilli)
        .filter(weather_days::Column::City.is_in(cities.to_vec()))
        .filter(weather_days::Column::Day.gte(from))
        .into_tuple()
        .all(db)
        .await?;
    for (city, day, milli) in rows {
        by_city
            .entry(city)
            .or_default()
            .insert(day, milli as f64 / 1000.0);
    }
    Ok(by_city)
}

/// Mean forecast units per day over `[from, from + days)` of suppliers' forecasts of these
/// products (one statement); products without a forecast are absent.
pub(super) async fn supplier_daily_demand(
    db: &impl ConnectionTrait,
    products: &[Uuid],
    from: NaiveDate,
    days: i64,
) -> Result<HashMap<Uuid, rust_decimal::Decimal>, AppError> {
    let mut found = HashMap::new();
    if products.is_empty() || days <= 0 {
        return Ok(found);
    }
    let backend = db.get_database_backend();
    let ph = |n: usize| placeholder(backend, n);
    let ids: Vec<String> = (1..=products.len()).map(ph).collect();
    let n = products.len();
    let sql = format!(
        "SELECT s.product_id, CAST(SUM(p.point_milli) AS BIGINT) AS units_milli FROM forecast_series s \
         JOIN forecast_points p ON p.series_id = s.id \
         WHERE s.scope = 'SUPPLIER' AND s.product_id IN ({}) AND p.day >= {} AND p.day < {} \
         GROUP BY s.product_id",
        ids.join(", "),
        ph(n + 1),
        ph(n + 2)
    );
    let mut values: Vec<sea_orm::Value> = products.iter().map(|id| (*id).into()).collect();
    values.push(from.into());
    values.push((from + chrono::Duration::days(days)).into());
    for row in db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
    {
        let milli: Option<i64> = row.try_get("", "units_milli")?;
        found.insert(
            row.try_get("", "product_id")?,
            (from_milli(milli.unwrap_or(0)) / rust_decimal::Decimal::from(days)).round_dp(3),
        );
    }
    Ok(found)
}
