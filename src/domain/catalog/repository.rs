//! Storage of products, and the search that ranks them.

use chrono::{DateTime, Utc};
use entity::products::{self, Column, Entity};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
    sea_query::{Expr, ExprTrait as _},
};
use uuid::Uuid;

use super::{
    Allergen, DietaryTag, Product, ProductFilter, ProductSort, ProductSortField, Unit,
    ValidProduct, trigram,
};
use crate::{
    domain::{
        kernel::{
            money::{self, Currency, Money},
            pagination::{Direction, KeyValue, Page, PageRequest, page_in_memory},
        },
        repository::{BuildUpdate, CountedUpdate, SortOrder, fetch_page},
    },
    error::AppError,
    infra::db::{placeholder, text_order},
};

/// Most candidates a search ranks (beyond them, the search must be narrowed by filters).
const MAX_CANDIDATES: u64 = 5000;

pub(crate) fn to_domain(m: products::Model) -> Product {
    let currency = Currency::from_stored(&m.currency);
    Product {
        id: m.id,
        supplier_id: m.supplier_id,
        sku: m.sku,
        name: m.name,
        description: m.description,
        category: m.category,
        unit: Unit::parse(&m.unit).unwrap_or(Unit::Piece),
        unit_price: Money {
            amount: money::from_milli(m.unit_price_milli),
            currency,
        },
        base_price: money::from_milli(m.base_price_milli.unwrap_or(m.unit_price_milli)),
        stock_on_hand: m.stock_on_hand,
        allergens: Allergen::from_mask(m.allergens),
        dietary_tags: DietaryTag::from_mask(m.dietary_tags),
        tax_rate: super::tax_rate_percent(m.tax_rate_bp),
        active: m.active,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

pub(super) fn fold(text: &str) -> String {
    text.trim().to_lowercase()
}

/// A supplier's live products as (id, SKU).
pub(super) async fn skus_of(
    db: &impl ConnectionTrait,
    supplier: Uuid,
) -> Result<Vec<(Uuid, String)>, AppError> {
    Ok(Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Sku)
        .filter(Column::SupplierId.eq(supplier))
        .filter(Column::DeletedAt.is_null())
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?)
}

/// Products still on the marketplace (not deleted), active or not, as domain values.
pub(crate) async fn find_many_live_products(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Product>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.to_vec()))
        .filter(Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect())
}

/// A product still on the marketplace (not deleted), active or not.
pub(crate) async fn find_live(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<products::Model>, AppError> {
    Ok(Entity::find_by_id(id)
        .filter(Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

/// Products by id, deleted ones included (order lines keep pointing at them).
pub(crate) async fn find_many_including_deleted(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<products::Model>, AppError> {
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?)
}

/// Products by id still on the marketplace (not deleted), active or not.
pub(crate) async fn find_many_live(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<products::Model>, AppError> {
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.to_vec()))
        .filter(Column::DeletedAt.is_null())
        .all(db)
        .await?)
}

/// One product a change takes units of, at the unit price it was priced at.
pub(crate) struct Taking {
    pub product: Uuid,
    pub quantity: i64,
    pub unit_price_milli: i64,
}

/// Takes `quantity` units of each product off the shelf, in one statement, if and only if
/// every one has that many and is still on the marketplace, active, at the price it was
/// priced at — the conditions and the decrement are one statement, so concurrent orders can
/// never drive stock negative, nor order a product withdrawn or repriced since they checked
/// it. It ends a [`write_together`]: it changes `wanted.len()` rows when every product
/// qualified, fewer otherwise (then the caller's transaction must be rolled back, as some rows
/// may have changed). Products must not repeat.
///
/// [`write_together`]: crate::domain::repository::write_together
pub(crate) fn take_stock(wanted: &[Taking], now: DateTime<Utc>) -> BuildUpdate<'_> {
    Box::new(move |backend, bind| {
        let postgres = backend == sea_orm::DatabaseBackend::Postgres;
        // Qualified on Postgres, where the update joins the locked ids.
        let key = if postgres { "products.id" } else { "id" };
        // Values are bound in the order their placeholders appear (SQLite's `?` are
        // positional), so each CASE is bound where it is written.
        let case = |bind: &mut dyn FnMut(sea_orm::Value) -> String, value: fn(&Taking) -> i64| {
            let arms: String = wanted
                .iter()
                .map(|t| {
                    let (id, v) = (bind(t.product.into()), bind(value(t).into()));
                    format!(" WHEN {id} THEN {v}")
                })
                .collect();
            format!("CASE {key}{arms} END")
        };
        let taken = case(bind, |t| t.quantity);
        let at = bind(now.into());
        let ids = wanted
            .iter()
            .map(|t| bind(t.product.into()))
            .collect::<Vec<_>>()
            .join(", ");
        let enough = case(bind, |t| t.quantity);
        let price = case(bind, |t| t.unit_price_milli);
        let still = format!(
            "stock_on_hand >= ({enough}) AND unit_price_milli = ({price}) AND active AND deleted_at IS NULL"
        );
        // Postgres first locks the rows in id order, so concurrent orders sharing products
        // queue instead of deadlocking; as `NO KEY UPDATE`, which the `KEY SHARE` locks of the
        // order lines' foreign keys do not block. SQLite's write transactions are exclusive
        // anyway.
        if postgres {
            CountedUpdate {
                ctes: vec![format!(
                    "locked AS MATERIALIZED (SELECT id FROM products WHERE id IN ({ids}) ORDER BY id FOR NO KEY UPDATE)"
                )],
                update: format!(
                    "UPDATE products SET stock_on_hand = stock_on_hand - ({taken}), updated_at = {at} \
                     FROM locked WHERE products.id = locked.id AND {still}"
                ),
            }
        } else {
            CountedUpdate {
                ctes: Vec::new(),
                update: format!(
                    "UPDATE products SET stock_on_hand = stock_on_hand - ({taken}), updated_at = {at} \
                     WHERE id IN ({ids}) AND {still}"
                ),
            }
        }
    })
}

/// Puts reserved units back on the shelf.
pub(crate) async fn put_stock_back(
    db: &impl ConnectionTrait,
    product: Uuid,
    quantity: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    Entity::update_many()
        .col_expr(
            Column::StockOnHand,
            Expr::col(Column::StockOnHand).add(quantity),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(product))
        .exec(db)
        .await?;
    Ok(())
}

pub(super) async fn find_by_skus(
    db: &impl ConnectionTrait,
    supplier: Uuid,
    skus_folded: Vec<String>,
) -> Result<Vec<products::Model>, AppError> {
    Ok(Entity::find()
        .filter(Column::SupplierId.eq(supplier))
        .filter(Column::SkuFolded.is_in(skus_folded))
        .filter(Column::DeletedAt.is_null())
        .all(db)
        .await?)
}

/// Writes one product of an upsert: over `current` (keeping its id and creation time) when
/// there is one, else as a new product with `id`.
pub(super) async fn save(
    db: &impl ConnectionTrait,
    supplier: Uuid,
    id: Uuid,
    p: ValidProduct,
    current: Option<&products::Model>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let model = products::ActiveModel {
        id: Set(id),
        supplier_id: Set(supplier),
        sku_folded: Set(fold(&p.sku)),
        sku: Set(p.sku),
        name_folded: Set(fold(&p.name)),
        name: Set(p.name),
        description: Set(p.description),
        category_folded: Set(fold(&p.category)),
        category: Set(p.category),
        unit: Set(p.unit.as_str().to_owned()),
        unit_price_milli: Set(p.unit_price_milli),
        // The supplier's own price is the base dynamic rules are bounded by: a new price sets
        // it; sending the current (perhaps rule-moved) price again leaves it.
        base_price_milli: match current {
            Some(m) if m.unit_price_milli == p.unit_price_milli => NotSet,
            _ => Set(Some(p.unit_price_milli)),
        },
        currency: Set(p.currency.as_str().to_owned()),
        // Unchanged stock is not written back: orders reserve and release it
        // concurrently, and a stale copy would undo them.
        stock_on_hand: match (p.stock_on_hand, current) {
            (Some(units), _) => Set(units),
            (None, Some(_)) => NotSet,
            (None, None) => Set(0),
        },
        allergens: Set(p.allergens),
        dietary_tags: Set(p.dietary_tags),
        tax_rate_bp: Set(p
            .tax_rate_bp
            .unwrap_or_else(|| current.map_or(super::DEFAULT_TAX_RATE_BP, |m| m.tax_rate_bp))),
        active: Set(p.active),
        created_at: Set(current.map_or(now, |m| m.created_at)),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    if current.is_some() {
        Entity::update(model).exec(db).await?;
    } else {
        Entity::insert(model).exec_without_returning(db).await?;
    }
    Ok(())
}

pub(super) async fn soft_delete(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let result = Entity::update_many()
        .col_expr(Column::DeletedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The first `limit` live, active products of each supplier by name: one window-function query.
pub(super) async fn first_of_suppliers(
    db: &impl ConnectionTrait,
    suppliers: &[Uuid],
    limit: u64,
) -> Result<Vec<Product>, AppError> {
    if suppliers.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let placeholder = |n: usize| placeholder(backend, n);
    let ids: Vec<String> = (1..=suppliers.len()).map(placeholder).collect();
    let collate = match backend {
        DatabaseBackend::Postgres => " COLLATE \"C\"",
        _ => "",
    };
    let sql = format!(
        "SELECT * FROM (SELECT p.*, ROW_NUMBER() OVER (PARTITION BY p.supplier_id ORDER BY p.name_folded{collate}, p.id) AS position \
         FROM products p WHERE p.supplier_id IN ({}) AND p.deleted_at IS NULL AND p.active = {}) ranked \
         WHERE position <= {} ORDER BY supplier_id, position",
        ids.join(", "),
        placeholder(suppliers.len() + 1),
        placeholder(suppliers.len() + 2),
    );
    let mut values: Vec<sea_orm::Value> = suppliers.iter().map(|id| (*id).into()).collect();
    values.push(true.into());
    values.push((limit as i64).into());
    Ok(Entity::find()
        .from_raw_sql(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect())
}

fn milli(field: &str, amount: rust_decimal::Decimal) -> Result<i64, AppError> {
    money::to_milli(amount).map_err(|e| AppError::validation(field, e.rule()))
}

/// Every condition but the search text.
fn filtered(filter: &ProductFilter) -> Result<Select<Entity>, AppError> {
    let mut query = Entity::find().filter(Column::DeletedAt.is_null());
    if !filter.include_inactive {
        query = query.filter(Column::Active.eq(true));
    }
    if let Some(supplier) = filter.supplier_id {
        query = query.filter(Column::SupplierId.eq(supplier));
    }
    if let Some(category) = filter.category.as_deref().filter(|c| !c.trim().is_empty()) {
        query = query.filter(Column::CategoryFolded.eq(fold(category)));
    }
    if let Some(min) = filter.min_price {
        query = query.filter(Column::UnitPriceMilli.gte(milli("minPrice", min)?));
    }
    if let Some(max) = filter.max_price {
        query = query.filter(Column::UnitPriceMilli.lte(milli("maxPrice", max)?));
    }
    match filter.in_stock {
        Some(true) => query = query.filter(Column::StockOnHand.gt(0)),
        Some(false) => query = query.filter(Column::StockOnHand.lte(0)),
        None => {}
    }
    let excluded = Allergen::mask(&filter.excludes_allergens);
    if excluded != 0 {
        query = query.filter(Expr::col(Column::Allergens).bit_and(excluded).eq(0));
    }
    let required = DietaryTag::mask(&filter.dietary_tags);
    if required != 0 {
        query = query.filter(
            Expr::col(Column::DietaryTags)
                .bit_and(required)
                .eq(required),
        );
    }
    Ok(query)
}

/// How well a product matches the search text; `None` when it does not match.
fn score(query: &str, product: &products::Model) -> Option<f64> {
    if product.sku_folded == query {
        return Some(3.0);
    }
    if product.sku_folded.starts_with(query) {
        return Some(2.0);
    }
    let similarity = trigram::similarity(query, &product.name_folded);
    if product.name_folded.contains(query) {
        Some(1.0 + similarity)
    } else if similarity >= trigram::THRESHOLD {
        Some(similarity)
    } else {
        None
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub(super) async fn list(
    db: &impl ConnectionTrait,
    filter: &ProductFilter,
    sort: ProductSort,
    page: &PageRequest,
) -> Result<Page<Product>, AppError> {
    let query_text = filter.query.as_deref().map(fold).filter(|q| !q.is_empty());
    let mut select = filtered(filter)?;
    let Some(text) = query_text else {
        return list_sorted(db, select, sort, page).await;
    };

    // Search: the trigram index finds candidates on Postgres (`$N` are Postgres placeholders,
    // renumbered by sea-query); SQLite scans the filtered rows.
    // Either way Iris scores and orders them, so both backends rank alike.
    if db.get_database_backend() == DatabaseBackend::Postgres {
        select = select.filter(Expr::cust_with_values(
            "(name_folded % $1 OR name_folded LIKE $2 ESCAPE '\\' OR sku_folded LIKE $3 ESCAPE '\\')",
            [
                text.clone(),
                format!("%{}%", escape_like(&text)),
                format!("{}%", escape_like(&text)),
            ],
        ));
    }
    let candidates = select
        .order_by_asc(Column::Id)
        .limit(MAX_CANDIDATES)
        .all(db)
        .await?;
    let ranked: Vec<(f64, products::Model)> = candidates
        .into_iter()
        .filter_map(|p| score(&text, &p).map(|s| (s, p)))
        .collect();
    let descending = sort.direction == Direction::Desc && sort.field != ProductSortField::Relevance;
    let field_key = |score: f64, p: &products::Model| match sort.field {
        ProductSortField::Relevance => KeyValue::Float(score),
        ProductSortField::Name => KeyValue::Text(p.name_folded.clone()),
        ProductSortField::Price => KeyValue::Int(p.unit_price_milli),
        ProductSortField::CreatedAt => KeyValue::Time(p.created_at),
    };
    let key = |(score, p): &(f64, products::Model)| {
        vec![
            field_key(*score, p),
            KeyValue::Text(p.name_folded.clone()),
            KeyValue::Id(p.id),
        ]
    };
    // Best first by relevance; by a field in the asked direction; then by name and id.
    let cmp = |a: &[KeyValue], b: &[KeyValue]| {
        let by_field = match sort.field {
            ProductSortField::Relevance => b[0].compare(&a[0]),
            _ if descending => b[0].compare(&a[0]),
            _ => a[0].compare(&b[0]),
        };
        by_field
            .then_with(|| a[1].compare(&b[1]))
            .then_with(|| a[2].compare(&b[2]))
    };
    let order = match sort.field {
        ProductSortField::Relevance => "products.search.relevance".to_owned(),
        field => format!(
            "products.search.{field:?}.{}",
            if descending { "desc" } else { "asc" }
        ),
    };
    Ok(page_in_memory(ranked, &order, page, key, cmp)?.map(|(_, p)| to_domain(p)))
}

async fn list_sorted(
    db: &impl ConnectionTrait,
    select: Select<Entity>,
    sort: ProductSort,
    page: &PageRequest,
) -> Result<Page<Product>, AppError> {
    let backend = db.get_database_backend();
    let by = match sort.field {
        ProductSortField::Relevance | ProductSortField::Name => {
            SortOrder::<products::Model>::new("products.name", sort.direction)
                .text(text_order(backend, "name_folded"), |p| &p.name_folded)
        }
        ProductSortField::Price => {
            SortOrder::<products::Model>::new("products.price", sort.direction)
                .int(Column::UnitPriceMilli, |p| p.unit_price_milli)
        }
        ProductSortField::CreatedAt => {
            SortOrder::<products::Model>::new("products.createdAt", sort.direction)
                .time(Column::CreatedAt, |p| p.created_at)
        }
    };
    fetch_page(db, select, page, by.id(Column::Id, |p| p.id), to_domain).await
}
