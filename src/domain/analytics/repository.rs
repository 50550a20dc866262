//! The order book and the inventory ledger, summed for analytics (read-only).

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use super::Period;
use crate::{
    error::AppError,
    infra::db::{UtcPart, placeholder, utc_text},
};

/// Whose figures: a restaurant's purchases or a supplier's sales.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    Restaurant,
    Supplier,
}

/// One (party, category, month, currency) cell of line totals.
pub(super) struct SpendCell {
    pub party: Uuid,
    pub party_name: String,
    pub category: String,
    pub month: String,
    pub currency: String,
    pub amount_milli: i64,
    pub units: i64,
}

const LIVE_ORDERS: &str = "o.deleted_at IS NULL AND o.status NOT IN ('CANCELLED', 'REJECTED')";

/// Line totals of the owner's live orders in the period, by the other party, category, month
/// and currency.
pub(super) async fn spend_cells(
    db: &impl ConnectionTrait,
    side: Side,
    owner: Uuid,
    period: Period,
) -> Result<Vec<SpendCell>, AppError> {
    let backend = db.get_database_backend();
    let month = utc_text(backend, "o.created_at", UtcPart::Month);
    let (owner_column, party_column, party_join) = match side {
        Side::Restaurant => (
            "o.restaurant_id",
            "o.supplier_id",
            "JOIN suppliers x ON x.id = o.supplier_id",
        ),
        Side::Supplier => (
            "o.supplier_id",
            "o.restaurant_id",
            "JOIN restaurants x ON x.id = o.restaurant_id",
        ),
    };
    let sql = format!(
        "SELECT {party_column} AS party, x.name AS party_name, p.category AS category, \
                {month} AS month, o.currency AS currency, \
                CAST(SUM(l.line_total_milli) AS BIGINT) AS amount, \
                CAST(SUM(l.quantity) AS BIGINT) AS units \
         FROM order_lines l JOIN orders o ON o.id = l.order_id \
         JOIN products p ON p.id = l.product_id {party_join} \
         WHERE {owner_column} = {} AND {LIVE_ORDERS} \
           AND o.created_at >= {} AND o.created_at < {} \
         GROUP BY {party_column}, x.name, p.category, {month}, o.currency",
        placeholder(backend, 1),
        placeholder(backend, 2),
        placeholder(backend, 3)
    );
    db.query_all_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [owner.into(), period.from.into(), period.to.into()],
    ))
    .await?
    .into_iter()
    .map(|row| {
        Ok(SpendCell {
            party: row.try_get("", "party")?,
            party_name: row.try_get("", "party_name")?,
            category: row.try_get("", "category")?,
            month: row.try_get("", "month")?,
            currency: row.try_get("", "currency")?,
            amount_milli: row.try_get("", "amount")?,
            units: row.try_get("", "units")?,
        })
    })
    .collect()
}

/// What a restaurant paid per product in the period, and the product's price now.
pub(super) struct PaidRow {
    pub product: Uuid,
    pub name: String,
    pub supplier: Uuid,
    pub currency: String,
    pub units: i64,
    pub paid_milli: i64,
    pub current_milli: i64,
    pub current_currency: String,
}

pub(super) async fn paid(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
    period: Period,
) -> Result<Vec<PaidRow>, AppError> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT l.product_id AS product, p.name AS name, p.supplier_id AS supplier, \
                o.currency AS currency, CAST(SUM(l.quantity) AS BIGINT) AS units, \
                CAST(SUM(l.unit_price_milli * l.quantity) AS BIGINT) AS paid, \
                p.unit_price_milli AS current, p.currency AS current_currency \
         FROM order_lines l JOIN orders o ON o.id = l.order_id \
         JOIN products p ON p.id = l.product_id \
         WHERE o.restaurant_id = {} AND {LIVE_ORDERS} \
           AND o.created_at >= {} AND o.created_at < {} \
         GROUP BY l.product_id, p.name, p.supplier_id, o.currency, p.unit_price_milli, p.currency",
        placeholder(backend, 1),
        placeholder(backend, 2),
        placeholder(backend, 3)
    );
    db.query_all_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [restaurant.into(), period.from.into(), period.to.into()],
    ))
    .await?
    .into_iter()
    .map(|row| {
        Ok(PaidRow {
            product: row.try_get("", "product")?,
            name: row.try_get("", "name")?,
            supplier: row.try_get("", "supplier")?,
            currency: row.try_get("", "currency")?,
            units: row.try_get("", "units")?,
            paid_milli: row.try_get("", "paid")?,
            current_milli: row.try_get("", "current")?,
            current_currency: row.try_get("", "current_currency")?,
        })
    })
    .collect()
}

/// Each item's balance before the period, and its net movement per day within it.
pub(super) struct Ledger {
    pub opening: HashMap<Uuid, i64>,
    /// Days with movements, per item, in day order.
    pub days: HashMap<Uuid, Vec<(NaiveDate, i64)>>,
}

pub(super) async fn ledger(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
    period: Period,
) -> Result<Ledger, AppError> {
    let backend = db.get_database_backend();
    let p = |n| placeholder(backend, n);
    let opening_sql = format!(
        "SELECT item_id AS item, CAST(SUM(quantity_milli) AS BIGINT) AS milli \
         FROM inventory_movements WHERE restaurant_id = {} AND occurred_at < {} GROUP BY item_id",
        p(1),
        p(2)
    );
    let mut opening = HashMap::new();
    for row in db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            opening_sql,
            [restaurant.into(), period.from.into()],
        ))
        .await?
    {
        opening.insert(row.try_get("", "item")?, row.try_get("", "milli")?);
    }
    let day = utc_text(backend, "occurred_at", UtcPart::Day);
    let days_sql = format!(
        "SELECT item_id AS item, {day} AS day, CAST(SUM(quantity_milli) AS BIGINT) AS milli \
         FROM inventory_movements WHERE restaurant_id = {} AND occurred_at >= {} AND occurred_at < {} \
         GROUP BY item_id, {day} ORDER BY item_id, {day}",
        p(1),
        p(2),
        p(3)
    );
    let mut days: HashMap<Uuid, Vec<(NaiveDate, i64)>> = HashMap::new();
    for row in db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            days_sql,
            [restaurant.into(), period.from.into(), period.to.into()],
        ))
        .await?
    {
        let raw: String = row.try_get("", "day")?;
        let date = NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored day {raw:?}: {e}")))?;
        days.entry(row.try_get("", "item")?)
            .or_default()
            .push((date, row.try_get("", "milli")?));
    }
    Ok(Ledger { opening, days })
}
