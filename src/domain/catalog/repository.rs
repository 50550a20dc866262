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
            pagination::{Direction, Page, PageRequest},
        },
        repository::fetch_page,
    },
    error::AppError,
    infra::db::{placeholder, text_order},
};

/// Most candidates a search ranks (beyond them, the search must be narrowed by filters).
const MAX_CANDIDATES: u64 = 5000;

pub(super) fn to_domain(m: products::Model) -> Product {
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

/// Units on hand of a product, deleted or not; `None` when there is no such product.
pub(crate) async fn stock_on_hand(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<i64>, AppError> {
    Ok(Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|p| p.stock_on_hand))
}

/// Takes `quantity` units off the shelf if, and only if, that many are there: the condition
/// and the decrement are one statement, so concurrent orders can never drive stock negative.
pub(crate) async fn take_stock_if_available(
    db: &impl ConnectionTrait,
    product: Uuid,
    quantity: i64,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let result = Entity::update_many()
        .col_expr(
            Column::StockOnHand,
            Expr::col(Column::StockOnHand).sub(quantity),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(product))
        .filter(Column::StockOnHand.gte(quantity))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
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
    page: PageRequest,
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
    let mut ranked: Vec<(f64, products::Model)> = candidates
        .into_iter()
        .filter_map(|p| score(&text, &p).map(|s| (s, p)))
        .collect();
    let descending = sort.direction == Direction::Desc;
    ranked.sort_by(|(sa, a), (sb, b)| {
        let by_field = match sort.field {
            ProductSortField::Relevance => sb.total_cmp(sa),
            ProductSortField::Name => a.name_folded.cmp(&b.name_folded),
            ProductSortField::Price => a.unit_price_milli.cmp(&b.unit_price_milli),
            ProductSortField::CreatedAt => a.created_at.cmp(&b.created_at),
        };
        let by_field = if descending && sort.field != ProductSortField::Relevance {
            by_field.reverse()
        } else {
            by_field
        };
        by_field
            .then_with(|| a.name_folded.cmp(&b.name_folded))
            .then_with(|| a.id.cmp(&b.id))
    });
    let total = ranked.len() as u64;
    let window = page.window(total);
    let items = ranked
        .into_iter()
        .skip(window.offset as usize)
        .take(window.limit as usize)
        .map(|(_, p)| to_domain(p))
        .collect();
    Ok(Page {
        items,
        total,
        offset: window.offset,
    })
}

async fn list_sorted(
    db: &impl ConnectionTrait,
    select: Select<Entity>,
    sort: ProductSort,
    page: PageRequest,
) -> Result<Page<Product>, AppError> {
    let order = sort.direction.order();
    let backend = db.get_database_backend();
    let sorted = |select: Select<Entity>| {
        let select = match sort.field {
            ProductSortField::Relevance | ProductSortField::Name => {
                select.order_by(text_order(backend, "name_folded"), order.clone())
            }
            ProductSortField::Price => select.order_by(Column::UnitPriceMilli, order.clone()),
            ProductSortField::CreatedAt => select.order_by(Column::CreatedAt, order.clone()),
        };
        select.order_by(Column::Id, order.clone())
    };
    fetch_page(db, select, page, sorted, to_domain).await
}
