//! Every statement of the pricing context.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    customer_group_members, price_changes, price_list_assignments, price_list_entries, price_lists,
    price_rules,
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use super::recommend::GeoPoint;
use super::{
    AssignmentTarget, Candidate, PriceChange, PriceList, PriceListEntry, PriceRule, Tier,
    TierPrice, dynamic,
};
use crate::{
    domain::{
        catalog::{self, Unit},
        kernel::money::{self, Currency},
    },
    error::AppError,
    infra::db::placeholder,
};

/// Basis points → percent (`1250` → `12.5`).
fn percent(bp: i32) -> Decimal {
    Decimal::new(i64::from(bp), 2).normalize()
}

/// Percent → basis points; the caller validated at most two decimals.
pub(super) fn bp(percent: Decimal) -> i32 {
    rust_decimal::prelude::ToPrimitive::to_i32(&(percent * Decimal::ONE_HUNDRED).trunc())
        .unwrap_or(i32::MAX)
}

fn tier_of(e: &price_list_entries::Model) -> Tier {
    Tier {
        min_quantity: e.min_quantity,
        price: match (e.price_milli, e.percent_off_bp) {
            (Some(milli), _) => TierPrice::Fixed(money::from_milli(milli)),
            (None, bp) => TierPrice::PercentOff(percent(bp.unwrap_or(0))),
        },
    }
}

/// Entries grouped by product, in first-seen order, tiers lowest break first.
fn group_entries(rows: &[price_list_entries::Model]) -> Vec<PriceListEntry> {
    let mut entries: Vec<PriceListEntry> = Vec::new();
    let mut at: HashMap<Uuid, usize> = HashMap::new();
    for row in rows {
        match at.get(&row.product_id) {
            Some(i) => entries[*i].tiers.push(tier_of(row)),
            None => {
                at.insert(row.product_id, entries.len());
                entries.push(PriceListEntry {
                    product_id: row.product_id,
                    tiers: vec![tier_of(row)],
                });
            }
        }
    }
    for entry in &mut entries {
        entry.tiers.sort_by_key(|t| t.min_quantity);
    }
    entries
}

fn target_of(a: &price_list_assignments::Model) -> AssignmentTarget {
    match (a.restaurant_id, &a.customer_group) {
        (Some(id), _) => AssignmentTarget::Restaurant(id),
        (None, Some(group)) => AssignmentTarget::CustomerGroup(group.clone()),
        (None, None) => AssignmentTarget::AllCustomers,
    }
}

/// Live lists with their entries and assignments (three statements for any number of lists).
pub(super) async fn complete(
    db: &impl ConnectionTrait,
    lists: Vec<price_lists::Model>,
) -> Result<Vec<PriceList>, AppError> {
    if lists.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = lists.iter().map(|l| l.id).collect();
    let entries = price_list_entries::Entity::find()
        .filter(price_list_entries::Column::PriceListId.is_in(ids.clone()))
        .order_by_asc(price_list_entries::Column::PriceListId)
        .order_by_asc(price_list_entries::Column::ProductId)
        .order_by_asc(price_list_entries::Column::MinQuantity)
        .all(db)
        .await?;
    let assignments = price_list_assignments::Entity::find()
        .filter(price_list_assignments::Column::PriceListId.is_in(ids))
        .order_by_asc(price_list_assignments::Column::CreatedAt)
        .order_by_asc(price_list_assignments::Column::Id)
        .all(db)
        .await?;
    let mut entries_by_list: HashMap<Uuid, Vec<price_list_entries::Model>> = HashMap::new();
    for e in entries {
        entries_by_list.entry(e.price_list_id).or_default().push(e);
    }
    let mut targets_by_list: HashMap<Uuid, Vec<AssignmentTarget>> = HashMap::new();
    for a in &assignments {
        targets_by_list
            .entry(a.price_list_id)
            .or_default()
            .push(target_of(a));
    }
    Ok(lists
        .into_iter()
        .map(|l| PriceList {
            entries: group_entries(entries_by_list.get(&l.id).map_or(&[], |v| v)),
            assignments: targets_by_list.remove(&l.id).unwrap_or_default(),
            id: l.id,
            supplier_id: l.supplier_id,
            name: l.name,
            currency: Currency::from_stored(&l.currency),
            valid_from: l.valid_from,
            valid_to: l.valid_to,
            priority: l.priority,
            active: l.active,
            created_at: l.created_at,
            updated_at: l.updated_at,
        })
        .collect())
}

pub(super) async fn find_list(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<price_lists::Model>, AppError> {
    Ok(price_lists::Entity::find_by_id(id)
        .filter(price_lists::Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

/// A supplier's live lists, newest first.
pub(super) async fn lists_of(
    db: &impl ConnectionTrait,
    supplier: Uuid,
) -> Result<Vec<price_lists::Model>, AppError> {
    Ok(price_lists::Entity::find()
        .filter(price_lists::Column::SupplierId.eq(supplier))
        .filter(price_lists::Column::DeletedAt.is_null())
        .order_by_desc(price_lists::Column::CreatedAt)
        .order_by_desc(price_lists::Column::Id)
        .all(db)
        .await?)
}

pub(super) async fn count_lists(
    db: &impl ConnectionTrait,
    supplier: Uuid,
) -> Result<u64, AppError> {
    use sea_orm::PaginatorTrait;
    Ok(price_lists::Entity::find()
        .filter(price_lists::Column::SupplierId.eq(supplier))
        .filter(price_lists::Column::DeletedAt.is_null())
        .count(db)
        .await?)
}

pub(super) async fn insert_list(
    db: &impl ConnectionTrait,
    model: price_lists::Model,
) -> Result<(), AppError> {
    price_lists::Entity::insert(model.into_active_model())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Writes every column of a live list; `false` when it was deleted meanwhile (a delete is
/// never undone by a concurrent change).
pub(super) async fn update_list(
    db: &impl ConnectionTrait,
    model: price_lists::Model,
) -> Result<bool, AppError> {
    let id = model.id;
    // Every column is set (a model converts to unchanged values, which update nothing).
    let result = price_lists::Entity::update_many()
        .set(model.into_active_model().reset_all())
        .filter(price_lists::Column::Id.eq(id))
        .filter(price_lists::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Replaces a list's entries with these (validated) tiers: (product, tier).
pub(super) async fn replace_entries(
    db: &impl ConnectionTrait,
    list: Uuid,
    tiers: &[(Uuid, Tier)],
) -> Result<(), AppError> {
    price_list_entries::Entity::delete_many()
        .filter(price_list_entries::Column::PriceListId.eq(list))
        .exec(db)
        .await?;
    for chunk in tiers.chunks(1000) {
        let rows = chunk.iter().map(|(product, tier)| {
            let (price_milli, percent_off_bp) = match tier.price {
                TierPrice::Fixed(price) => (money::to_milli(price).ok(), None),
                TierPrice::PercentOff(p) => (None, Some(bp(p))),
            };
            price_list_entries::ActiveModel {
                id: Set(Uuid::now_v7()),
                price_list_id: Set(list),
                product_id: Set(*product),
                min_quantity: Set(tier.min_quantity),
                price_milli: Set(price_milli),
                percent_off_bp: Set(percent_off_bp),
            }
        });
        price_list_entries::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Adds assignments; those the list already has stay as they are.
pub(super) async fn assign(
    db: &impl ConnectionTrait,
    list: Uuid,
    targets: &[AssignmentTarget],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if targets.is_empty() {
        return Ok(());
    }
    let rows = targets.iter().map(|t| price_list_assignments::ActiveModel {
        id: Set(Uuid::now_v7()),
        price_list_id: Set(list),
        target: Set(t.key()),
        restaurant_id: Set(match t {
            AssignmentTarget::Restaurant(id) => Some(*id),
            _ => None,
        }),
        customer_group: Set(match t {
            AssignmentTarget::CustomerGroup(name) => Some(name.clone()),
            _ => None,
        }),
        created_at: Set(now),
    });
    price_list_assignments::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([
            price_list_assignments::Column::PriceListId,
            price_list_assignments::Column::Target,
        ])
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Removes assignments; how many went.
pub(super) async fn unassign(
    db: &impl ConnectionTrait,
    list: Uuid,
    targets: &[AssignmentTarget],
) -> Result<u64, AppError> {
    if targets.is_empty() {
        return Ok(0);
    }
    Ok(price_list_assignments::Entity::delete_many()
        .filter(price_list_assignments::Column::PriceListId.eq(list))
        .filter(
            price_list_assignments::Column::Target.is_in(targets.iter().map(AssignmentTarget::key)),
        )
        .exec(db)
        .await?
        .rows_affected)
}

/// The restaurants of a supplier's customer group.
pub(super) async fn group_members(
    db: &impl ConnectionTrait,
    supplier: Uuid,
    group: &str,
) -> Result<Vec<Uuid>, AppError> {
    Ok(customer_group_members::Entity::find()
        .filter(customer_group_members::Column::SupplierId.eq(supplier))
        .filter(customer_group_members::Column::GroupName.eq(group))
        .order_by_asc(customer_group_members::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.restaurant_id)
        .collect())
}

/// Makes a customer group exactly these restaurants.
pub(super) async fn set_group(
    db: &impl ConnectionTrait,
    supplier: Uuid,
    group: &str,
    restaurants: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    customer_group_members::Entity::delete_many()
        .filter(customer_group_members::Column::SupplierId.eq(supplier))
        .filter(customer_group_members::Column::GroupName.eq(group))
        .exec(db)
        .await?;
    if restaurants.is_empty() {
        return Ok(());
    }
    let rows = restaurants
        .iter()
        .map(|r| customer_group_members::ActiveModel {
            id: Set(Uuid::now_v7()),
            supplier_id: Set(supplier),
            group_name: Set(group.to_owned()),
            restaurant_id: Set(*r),
            created_at: Set(now),
        });
    customer_group_members::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The lists that may price these products for `restaurant` at `at`, with each product's
/// tiers in them: one statement, whatever the number of products.
pub(crate) async fn candidates(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
    products: &[Uuid],
    at: DateTime<Utc>,
) -> Result<HashMap<Uuid, Vec<Candidate>>, AppError> {
    let mut found: HashMap<Uuid, Vec<Candidate>> = HashMap::new();
    if products.is_empty() {
        return Ok(found);
    }
    let backend = db.get_database_backend();
    let ph = |n: usize| placeholder(backend, n);
    let ids: Vec<String> = (1..=products.len()).map(ph).collect();
    let n = products.len();
    // Numbered in the order they appear (SQLite binds `?` by position).
    let (at1, at2, r1, r2) = (ph(n + 1), ph(n + 2), ph(n + 3), ph(n + 4));
    let sql = format!(
        "SELECT e.product_id, e.min_quantity, e.price_milli, e.percent_off_bp, \
                l.id AS list_id, l.name, l.priority, l.currency, l.active, l.valid_from, l.valid_to, l.created_at \
         FROM price_list_entries e JOIN price_lists l ON l.id = e.price_list_id \
         WHERE e.product_id IN ({ids}) AND l.deleted_at IS NULL AND l.active \
           AND (l.valid_from IS NULL OR l.valid_from <= {at1}) AND (l.valid_to IS NULL OR l.valid_to > {at2}) \
           AND EXISTS (SELECT 1 FROM price_list_assignments a WHERE a.price_list_id = l.id AND ( \
                 a.restaurant_id = {r1} OR a.target = 'all' OR (a.customer_group IS NOT NULL AND EXISTS ( \
                   SELECT 1 FROM customer_group_members g WHERE g.supplier_id = l.supplier_id \
                   AND g.group_name = a.customer_group AND g.restaurant_id = {r2})))) \
         ORDER BY e.product_id, l.id, e.min_quantity",
        ids = ids.join(", "),
    );
    let mut values: Vec<sea_orm::Value> = products.iter().map(|id| (*id).into()).collect();
    values.push(at.into());
    values.push(at.into());
    values.push(restaurant.into());
    values.push(restaurant.into());
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    for row in rows {
        let product: Uuid = row.try_get("", "product_id")?;
        let list_id: Uuid = row.try_get("", "list_id")?;
        let tier = Tier {
            min_quantity: row.try_get("", "min_quantity")?,
            price: match (
                row.try_get::<Option<i64>>("", "price_milli")?,
                row.try_get::<Option<i32>>("", "percent_off_bp")?,
            ) {
                (Some(milli), _) => TierPrice::Fixed(money::from_milli(milli)),
                (None, bp) => TierPrice::PercentOff(percent(bp.unwrap_or(0))),
            },
        };
        let lists = found.entry(product).or_default();
        match lists.iter_mut().find(|c| c.list_id == list_id) {
            Some(candidate) => candidate.tiers.push(tier),
            None => lists.push(Candidate {
                list_id,
                list_name: row.try_get("", "name")?,
                priority: row.try_get("", "priority")?,
                currency: row.try_get("", "currency")?,
                active: row.try_get("", "active")?,
                valid_from: row.try_get("", "valid_from")?,
                valid_to: row.try_get("", "valid_to")?,
                created_at: row.try_get("", "created_at")?,
                tiers: vec![tier],
            }),
        }
    }
    Ok(found)
}

fn bound_json(bound: dynamic::Bound) -> serde_json::Value {
    serde_json::to_value(bound).unwrap_or_default()
}

fn bound_of(value: &serde_json::Value) -> Result<dynamic::Bound, AppError> {
    serde_json::from_value(value.clone())
        .map_err(|e| anyhow::anyhow!("stored price rule bound {value} is unreadable: {e}").into())
}

pub(super) fn rule_to_domain(m: price_rules::Model) -> Result<PriceRule, AppError> {
    Ok(PriceRule {
        id: m.id,
        supplier_id: m.supplier_id,
        product_id: m.product_id,
        category: m.category,
        bounds: dynamic::RuleBounds {
            floor: bound_of(&m.floor)?,
            ceiling: bound_of(&m.ceiling)?,
            max_step_percent: percent(m.max_step_bp),
            min_cover_days: money::from_milli(m.min_cover_milli),
            max_cover_days: money::from_milli(m.max_cover_milli),
        },
        active: m.active,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

pub(super) fn rule_to_model(
    rule: &PriceRule,
    deleted_at: Option<DateTime<Utc>>,
) -> price_rules::Model {
    price_rules::Model {
        id: rule.id,
        supplier_id: rule.supplier_id,
        product_id: rule.product_id,
        category: rule.category.clone(),
        floor: bound_json(rule.bounds.floor),
        ceiling: bound_json(rule.bounds.ceiling),
        max_step_bp: bp(rule.bounds.max_step_percent),
        min_cover_milli: money::to_milli(rule.bounds.min_cover_days).unwrap_or(i64::MAX),
        max_cover_milli: money::to_milli(rule.bounds.max_cover_days).unwrap_or(i64::MAX),
        active: rule.active,
        created_at: rule.created_at,
        updated_at: rule.updated_at,
        deleted_at,
    }
}

pub(super) async fn find_rule(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<PriceRule>, AppError> {
    price_rules::Entity::find_by_id(id)
        .filter(price_rules::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(rule_to_domain)
        .transpose()
}

pub(super) async fn save_rule(
    db: &impl ConnectionTrait,
    rule: &PriceRule,
    exists: bool,
) -> Result<(), AppError> {
    let model = rule_to_model(rule, None).into_active_model().reset_all();
    if exists {
        price_rules::Entity::update(model).exec(db).await?;
    } else {
        price_rules::Entity::insert(model)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

pub(super) async fn delete_rule(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    use sea_orm::sea_query::Expr;
    Ok(price_rules::Entity::update_many()
        .col_expr(price_rules::Column::DeletedAt, Expr::value(now))
        .col_expr(price_rules::Column::UpdatedAt, Expr::value(now))
        .filter(price_rules::Column::Id.eq(id))
        .filter(price_rules::Column::DeletedAt.is_null())
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// Live rules: of one supplier, or of every supplier (`None`); active ones only if asked.
pub(super) async fn rules(
    db: &impl ConnectionTrait,
    supplier: Option<Uuid>,
    active_only: bool,
) -> Result<Vec<PriceRule>, AppError> {
    let mut query = price_rules::Entity::find().filter(price_rules::Column::DeletedAt.is_null());
    if let Some(supplier) = supplier {
        query = query.filter(price_rules::Column::SupplierId.eq(supplier));
    }
    if active_only {
        query = query.filter(price_rules::Column::Active.eq(true));
    }
    query
        .order_by_asc(price_rules::Column::CreatedAt)
        .order_by_asc(price_rules::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(rule_to_domain)
        .collect()
}

fn change_to_domain(m: price_changes::Model, currency: &str) -> PriceChange {
    PriceChange {
        id: m.id,
        product_id: m.product_id,
        supplier_id: m.supplier_id,
        rule_id: m.rule_id,
        job_run_id: m.job_run_id,
        old_price: money::from_milli(m.old_price_milli),
        new_price: money::from_milli(m.new_price_milli),
        currency: Currency::from_stored(currency),
        reason: m.reason,
        signals: m.signals,
        changed_at: m.changed_at,
    }
}

/// A product's price changes, newest first, at most `limit`, before `before` (a change id)
/// when given.
pub(super) async fn history(
    db: &impl ConnectionTrait,
    product: Uuid,
    currency: &str,
    limit: u64,
) -> Result<Vec<PriceChange>, AppError> {
    Ok(price_changes::Entity::find()
        .filter(price_changes::Column::ProductId.eq(product))
        .order_by_desc(price_changes::Column::ChangedAt)
        .order_by_desc(price_changes::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|m| change_to_domain(m, currency))
        .collect())
}

/// Records price changes (several rows per statement).
pub(super) async fn insert_changes(
    db: &impl ConnectionTrait,
    changes: Vec<price_changes::Model>,
) -> Result<(), AppError> {
    for chunk in changes.chunks(500) {
        price_changes::Entity::insert_many(chunk.iter().cloned().map(|m| m.into_active_model()))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// One list price to move, if the product still has the price and base price the move was
/// computed from.
pub(super) struct PriceMove {
    pub product: Uuid,
    pub old_milli: i64,
    pub new_milli: i64,
    pub base_milli: i64,
}

/// Moves list prices, each only if its price and base are still the ones read (a supplier's
/// edit meanwhile wins). Returns the products moved.
pub(super) async fn set_list_prices(
    db: &impl ConnectionTrait,
    moves: &[PriceMove],
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, AppError> {
    let backend = db.get_database_backend();
    let mut moved = Vec::with_capacity(moves.len());
    for chunk in moves.chunks(500) {
        let ph = |n: usize| placeholder(backend, n);
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 4 + 1);
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, m) in chunk.iter().enumerate() {
            let cast = |p: String, t: &str| match backend {
                sea_orm::DatabaseBackend::Postgres => format!("CAST({p} AS {t})"),
                _ => p,
            };
            rows.push(format!(
                "({}, {}, {}, {})",
                cast(ph(4 * i + 1), "uuid"),
                cast(ph(4 * i + 2), "bigint"),
                cast(ph(4 * i + 3), "bigint"),
                cast(ph(4 * i + 4), "bigint")
            ));
            values.push(m.product.into());
            values.push(m.old_milli.into());
            values.push(m.new_milli.into());
            values.push(m.base_milli.into());
        }
        values.push(now.into());
        let at = ph(chunk.len() * 4 + 1);
        let sql = match backend {
            sea_orm::DatabaseBackend::Postgres => format!(
                "UPDATE products p SET unit_price_milli = v.new_price, updated_at = {at} \
                 FROM (VALUES {}) AS v(id, old_price, new_price, base_price) \
                 WHERE p.id = v.id AND p.unit_price_milli = v.old_price \
                   AND COALESCE(p.base_price_milli, p.unit_price_milli) = v.base_price \
                   AND p.deleted_at IS NULL \
                 RETURNING p.id",
                rows.join(", ")
            ),
            _ => format!(
                "WITH v(id, old_price, new_price, base_price) AS (VALUES {}) \
                 UPDATE products SET unit_price_milli = (SELECT new_price FROM v WHERE v.id = products.id), updated_at = {at} \
                 WHERE id IN (SELECT id FROM v WHERE v.old_price = products.unit_price_milli \
                   AND v.base_price = COALESCE(products.base_price_milli, products.unit_price_milli)) \
                   AND deleted_at IS NULL \
                 RETURNING id",
                rows.join(", ")
            ),
        };
        for row in db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?
        {
            moved.push(row.try_get::<Uuid>("", "id")?);
        }
    }
    Ok(moved)
}

/// One product under a rule, with what the refresh needs to know of it.
pub(super) struct RuledProduct {
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub sku: String,
    pub name: String,
    pub category_folded: String,
    pub currency: String,
    pub unit_price_milli: i64,
    pub base_price_milli: i64,
    pub stock_on_hand: i64,
}

/// Live, active products of these suppliers, ordered by id, after `after`, at most `limit`.
pub(super) async fn products_of_suppliers(
    db: &impl ConnectionTrait,
    suppliers: &[Uuid],
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<RuledProduct>, AppError> {
    use entity::products;
    let mut query = products::Entity::find()
        .filter(products::Column::SupplierId.is_in(suppliers.to_vec()))
        .filter(products::Column::DeletedAt.is_null())
        .filter(products::Column::Active.eq(true));
    if let Some(after) = after {
        query = query.filter(products::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(products::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|p| RuledProduct {
            id: p.id,
            supplier_id: p.supplier_id,
            sku: p.sku,
            name: p.name,
            category_folded: p.category_folded,
            currency: p.currency,
            base_price_milli: p.base_price_milli.unwrap_or(p.unit_price_milli),
            unit_price_milli: p.unit_price_milli,
            stock_on_hand: p.stock_on_hand,
        })
        .collect())
}

/// Units of each product ordered (live orders) since `since`, for these products.
pub(super) async fn ordered_since(
    db: &impl ConnectionTrait,
    products: &[Uuid],
    since: DateTime<Utc>,
) -> Result<HashMap<Uuid, i64>, AppError> {
    let mut found = HashMap::new();
    if products.is_empty() {
        return Ok(found);
    }
    let backend = db.get_database_backend();
    let ph = |n: usize| placeholder(backend, n);
    let ids: Vec<String> = (1..=products.len()).map(ph).collect();
    let sql = format!(
        "SELECT l.product_id, CAST(SUM(l.quantity) AS BIGINT) AS units FROM order_lines l JOIN orders o ON o.id = l.order_id \
         WHERE l.product_id IN ({}) AND o.created_at >= {} AND o.deleted_at IS NULL \
           AND o.status NOT IN ('CANCELLED', 'REJECTED') \
         GROUP BY l.product_id",
        ids.join(", "),
        ph(products.len() + 1)
    );
    let mut values: Vec<sea_orm::Value> = products.iter().map(|id| (*id).into()).collect();
    values.push(since.into());
    for row in db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
    {
        let units: Option<i64> = row.try_get("", "units")?;
        found.insert(row.try_get("", "product_id")?, units.unwrap_or(0));
    }
    Ok(found)
}

/// The restaurants that ordered each of these products since `since`: one statement.
pub(super) async fn buyers_of(
    db: &impl ConnectionTrait,
    products: &[Uuid],
    since: DateTime<Utc>,
) -> Result<HashMap<Uuid, Vec<Uuid>>, AppError> {
    let mut found: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if products.is_empty() {
        return Ok(found);
    }
    let backend = db.get_database_backend();
    let ph = |n: usize| placeholder(backend, n);
    let ids: Vec<String> = (1..=products.len()).map(ph).collect();
    let sql = format!(
        "SELECT DISTINCT l.product_id, o.restaurant_id FROM order_lines l JOIN orders o ON o.id = l.order_id \
         WHERE l.product_id IN ({}) AND o.created_at >= {} AND o.deleted_at IS NULL \
         ORDER BY l.product_id, o.restaurant_id",
        ids.join(", "),
        ph(products.len() + 1)
    );
    let mut values: Vec<sea_orm::Value> = products.iter().map(|id| (*id).into()).collect();
    values.push(since.into());
    for row in db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
    {
        found
            .entry(row.try_get("", "product_id")?)
            .or_default()
            .push(row.try_get("", "restaurant_id")?);
    }
    Ok(found)
}

/// A restaurant's coordinates: `None` when there is no such live restaurant, `Some(None)`
/// when it has none.
pub(super) async fn restaurant_point(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
) -> Result<Option<Option<GeoPoint>>, AppError> {
    use entity::restaurants;
    Ok(restaurants::Entity::find_by_id(restaurant)
        .filter(restaurants::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(|r| match (r.latitude_e6, r.longitude_e6) {
            (Some(lat), Some(lon)) => Some(GeoPoint::from_e6(lat, lon)),
            _ => None,
        }))
}

/// The coordinates of those of these suppliers that have them.
pub(super) async fn supplier_points(
    db: &impl ConnectionTrait,
    suppliers: &[Uuid],
) -> Result<HashMap<Uuid, GeoPoint>, AppError> {
    use entity::suppliers;
    Ok(suppliers::Entity::find()
        .filter(suppliers::Column::Id.is_in(suppliers.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|s| match (s.latitude_e6, s.longitude_e6) {
            (Some(lat), Some(lon)) => Some((s.id, GeoPoint::from_e6(lat, lon))),
            _ => None,
        })
        .collect())
}

/// `text` as a LIKE pattern matching it anywhere (`\` escapes).
fn contains_pattern(text: &str) -> String {
    let escaped: String = text
        .trim()
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// Live, active products of live, active suppliers in a category (case-insensitive) or whose
/// name contains `query`; at most `limit`, by id.
pub(super) async fn offered_products(
    db: &impl ConnectionTrait,
    category: Option<&str>,
    query: Option<&str>,
    limit: u64,
) -> Result<Vec<catalog::Product>, AppError> {
    use entity::{products, suppliers};
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let mut select = products::Entity::find()
        .filter(products::Column::DeletedAt.is_null())
        .filter(products::Column::Active.eq(true))
        .filter(
            products::Column::SupplierId.in_subquery(
                Query::select()
                    .column(suppliers::Column::Id)
                    .from(suppliers::Entity)
                    .and_where(Expr::col(suppliers::Column::DeletedAt).is_null())
                    .and_where(Expr::col(suppliers::Column::Active).eq(true))
                    .to_owned(),
            ),
        );
    if let Some(category) = category {
        select = select.filter(products::Column::CategoryFolded.eq(category.trim().to_lowercase()));
    }
    if let Some(query) = query {
        select = select.filter(
            Expr::col(products::Column::NameFolded)
                .like(sea_orm::sea_query::LikeExpr::new(contains_pattern(query)).escape('\\')),
        );
    }
    Ok(select
        .order_by_asc(products::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(catalog::product_of)
        .collect())
}

/// What a restaurant bought since `since` in a category (or of products whose name contains
/// `query`): (category, unit, name, units), most bought first.
pub(super) async fn typical_basket(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
    category: Option<&str>,
    query: Option<&str>,
    since: DateTime<Utc>,
) -> Result<Vec<(String, Unit, String, Decimal)>, AppError> {
    let backend = db.get_database_backend();
    let ph = |n: usize| placeholder(backend, n);
    let (condition, value) = match (category, query) {
        (Some(c), _) => (
            format!("p.category_folded = {}", ph(3)),
            c.trim().to_lowercase(),
        ),
        (None, q) => (
            format!("lower(l.name) LIKE {} ESCAPE '\\'", ph(3)),
            contains_pattern(q.unwrap_or_default()),
        ),
    };
    let sql = format!(
        "SELECT p.category, l.unit, l.name, CAST(SUM(l.quantity) AS BIGINT) AS units \
         FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN products p ON p.id = l.product_id \
         WHERE o.restaurant_id = {} AND o.created_at >= {} AND o.deleted_at IS NULL \
           AND o.status NOT IN ('CANCELLED', 'REJECTED') AND {condition} \
         GROUP BY p.category, l.unit, l.name ORDER BY units DESC, l.name LIMIT 200",
        ph(1),
        ph(2)
    );
    db.query_all_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [restaurant.into(), since.into(), value.into()],
    ))
    .await?
    .into_iter()
    .map(|row| {
        let unit: String = row.try_get("", "unit")?;
        let units: Option<i64> = row.try_get("", "units")?;
        Ok((
            row.try_get("", "category")?,
            Unit::parse(&unit).unwrap_or(Unit::Piece),
            row.try_get("", "name")?,
            Decimal::from(units.unwrap_or(0)),
        ))
    })
    .collect()
}
