//! All of the integrations context's SQL: connections, sealed sessions, the catalog cache,
//! runs, connector states and pulled documents.

use chrono::{DateTime, Utc};
use entity::{
    connector_runs, connector_states, supplier_catalog_cache as cache, supplier_connections,
    supplier_connector_documents as documents, supplier_session_secrets as secrets,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{CatalogItem, Connection, ConnectionStatus, Run, RunKind, RunStatus, Scope};
use crate::{
    domain::{
        kernel::{
            money,
            pagination::{Direction, Page, PageRequest},
        },
        repository::{SortOrder, fetch_page},
    },
    error::AppError,
};

pub(super) fn connection_to_domain(
    m: supplier_connections::Model,
    session_expires_at: Option<DateTime<Utc>>,
) -> Connection {
    Connection {
        id: m.id,
        restaurant_id: m.restaurant_id,
        supplier_key: m.supplier_key,
        status: ConnectionStatus::parse(&m.status),
        scopes: m.scopes.split(',').filter_map(Scope::parse).collect(),
        consent_version: m.consent_version,
        consented_at: m.consented_at,
        last_sync_at: m.last_sync_at,
        last_sync_status: m.last_sync_status.as_deref().map(RunStatus::parse),
        last_error: m.last_error,
        catalog_items: m.catalog_items,
        session_expires_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

pub(super) fn run_to_domain(m: connector_runs::Model) -> Run {
    Run {
        id: m.id,
        connection_id: m.connection_id,
        supplier_key: m.supplier_key,
        kind: RunKind::parse(&m.kind),
        status: RunStatus::parse(&m.status),
        order_id: m.order_id,
        items: m.items,
        detail: m.detail,
        error: m.error,
        started_at: m.started_at,
        finished_at: m.finished_at,
    }
}

fn item_to_domain(m: cache::Model) -> CatalogItem {
    CatalogItem {
        id: m.id,
        external_id: m.external_id,
        name: m.name,
        price: m.price_milli.map(money::from_milli),
        currency: m.currency,
        unit: m.unit,
        pack: m.pack,
        pack_quantity: m.pack_quantity_milli.map(money::from_milli),
        pack_unit: m.pack_unit,
        stock: m.stock,
        in_stock: m.in_stock,
        gtin: m.gtin,
        mapped_product_id: m.mapped_product_id,
        synced_at: m.synced_at,
    }
}

/// A restaurant's connection to a connector.
pub(super) async fn find_connection(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
    key: &str,
) -> Result<Option<supplier_connections::Model>, AppError> {
    Ok(supplier_connections::Entity::find()
        .filter(supplier_connections::Column::RestaurantId.eq(restaurant))
        .filter(supplier_connections::Column::SupplierKey.eq(key))
        .one(db)
        .await?)
}

pub(super) async fn connection_by_id(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<supplier_connections::Model>, AppError> {
    Ok(supplier_connections::Entity::find_by_id(id).one(db).await?)
}

pub(super) async fn connections_of(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
) -> Result<Vec<supplier_connections::Model>, AppError> {
    Ok(supplier_connections::Entity::find()
        .filter(supplier_connections::Column::RestaurantId.eq(restaurant))
        .order_by_asc(supplier_connections::Column::SupplierKey)
        .all(db)
        .await?)
}

/// Active connections (of one connector, or all), oldest sync first.
pub(super) async fn active_connections(
    db: &impl ConnectionTrait,
    key: Option<&str>,
) -> Result<Vec<supplier_connections::Model>, AppError> {
    let mut query = supplier_connections::Entity::find()
        .filter(supplier_connections::Column::Status.eq(ConnectionStatus::Active.as_str()));
    if let Some(key) = key {
        query = query.filter(supplier_connections::Column::SupplierKey.eq(key));
    }
    Ok(query
        .order_by_asc(supplier_connections::Column::LastSyncAt)
        .order_by_asc(supplier_connections::Column::Id)
        .all(db)
        .await?)
}

pub(super) async fn insert_connection(
    db: &impl ConnectionTrait,
    row: supplier_connections::ActiveModel,
) -> Result<(), AppError> {
    supplier_connections::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub(super) async fn update_connection(
    db: &impl ConnectionTrait,
    row: supplier_connections::ActiveModel,
) -> Result<(), AppError> {
    supplier_connections::Entity::update(row).exec(db).await?;
    Ok(())
}

/// Sets a connection's status (and error), returning whether it was still `from`.
pub(super) async fn set_status(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: Option<ConnectionStatus>,
    to: ConnectionStatus,
    error: Option<String>,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let mut update = supplier_connections::Entity::update_many()
        .col_expr(
            supplier_connections::Column::Status,
            Expr::value(to.as_str()),
        )
        .col_expr(supplier_connections::Column::LastError, Expr::value(error))
        .col_expr(supplier_connections::Column::UpdatedAt, Expr::value(now))
        .filter(supplier_connections::Column::Id.eq(id));
    if let Some(from) = from {
        update = update.filter(supplier_connections::Column::Status.eq(from.as_str()));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

pub(super) async fn sessions_of(
    db: &impl ConnectionTrait,
    connections: &[Uuid],
) -> Result<Vec<secrets::Model>, AppError> {
    if connections.is_empty() {
        return Ok(Vec::new());
    }
    Ok(secrets::Entity::find()
        .filter(secrets::Column::ConnectionId.is_in(connections.to_vec()))
        .all(db)
        .await?)
}

pub(super) async fn delete_session(
    db: &impl ConnectionTrait,
    connection: Uuid,
) -> Result<u64, AppError> {
    Ok(secrets::Entity::delete_many()
        .filter(secrets::Column::ConnectionId.eq(connection))
        .exec(db)
        .await?
        .rows_affected)
}

pub(super) async fn insert_session(
    db: &impl ConnectionTrait,
    row: secrets::ActiveModel,
) -> Result<(), AppError> {
    secrets::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Sessions whose lifetime has ended, with their connections.
pub(super) async fn expired_sessions(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, AppError> {
    Ok(secrets::Entity::find()
        .select_only()
        .column(secrets::Column::ConnectionId)
        .filter(secrets::Column::ExpiresAt.lte(now))
        .into_tuple::<Uuid>()
        .all(db)
        .await?)
}

pub(super) async fn delete_cache(
    db: &impl ConnectionTrait,
    connection: Uuid,
) -> Result<(), AppError> {
    cache::Entity::delete_many()
        .filter(cache::Column::ConnectionId.eq(connection))
        .exec(db)
        .await?;
    Ok(())
}

/// Rows per insert statement (17 values each: within both backends' parameter limits).
const INSERT_CHUNK: usize = 1000;

pub(super) async fn insert_cache(
    db: &impl ConnectionTrait,
    rows: Vec<cache::ActiveModel>,
) -> Result<(), AppError> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(INSERT_CHUNK).collect();
        cache::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// External ids of the connection's catalog that exist, of those asked.
pub(super) async fn cached_items(
    db: &impl ConnectionTrait,
    connection: Uuid,
    external_ids: &[String],
) -> Result<Vec<CatalogItem>, AppError> {
    let mut found = Vec::new();
    for chunk in external_ids.chunks(500) {
        found.extend(
            cache::Entity::find()
                .filter(cache::Column::ConnectionId.eq(connection))
                .filter(cache::Column::ExternalId.is_in(chunk.to_vec()))
                .all(db)
                .await?
                .into_iter()
                .map(item_to_domain),
        );
    }
    Ok(found)
}

/// The connection's items mapped to these Iris products.
pub(super) async fn items_for_products(
    db: &impl ConnectionTrait,
    connection: Uuid,
    products: &[Uuid],
) -> Result<Vec<CatalogItem>, AppError> {
    if products.is_empty() {
        return Ok(Vec::new());
    }
    Ok(cache::Entity::find()
        .filter(cache::Column::ConnectionId.eq(connection))
        .filter(cache::Column::MappedProductId.is_in(products.to_vec()))
        .order_by_asc(cache::Column::ExternalId)
        .all(db)
        .await?
        .into_iter()
        .map(item_to_domain)
        .collect())
}

/// A page of the connection's catalog by name (optionally names containing `search`).
pub(super) async fn catalog_page(
    db: &impl ConnectionTrait,
    connection: Uuid,
    search: Option<&str>,
    page: &PageRequest,
) -> Result<Page<CatalogItem>, AppError> {
    let mut query = cache::Entity::find().filter(cache::Column::ConnectionId.eq(connection));
    if let Some(search) = search {
        query = query.filter(cache::Column::Name.contains(search));
    }
    let by_name = SortOrder::<cache::Model>::new("supplierCatalog.name", Direction::Asc)
        .text(cache::Column::Name, |m| m.name.as_str())
        .id(cache::Column::Id, |m| m.id);
    fetch_page(db, query, page, by_name, item_to_domain).await
}

pub(super) async fn insert_run(
    db: &impl ConnectionTrait,
    row: connector_runs::ActiveModel,
) -> Result<(), AppError> {
    connector_runs::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub(super) async fn find_run(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Run>, AppError> {
    Ok(connector_runs::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(run_to_domain))
}

/// A run of `kind` of the connection still running (started after `since`).
pub(super) async fn running(
    db: &impl ConnectionTrait,
    connection: Uuid,
    kind: RunKind,
    since: DateTime<Utc>,
) -> Result<Option<Run>, AppError> {
    Ok(connector_runs::Entity::find()
        .filter(connector_runs::Column::ConnectionId.eq(connection))
        .filter(connector_runs::Column::Kind.eq(kind.as_str()))
        .filter(connector_runs::Column::Status.eq(RunStatus::Running.as_str()))
        .filter(connector_runs::Column::StartedAt.gt(since))
        .one(db)
        .await?
        .map(run_to_domain))
}

pub(super) async fn update_run(
    db: &impl ConnectionTrait,
    id: Uuid,
    status: RunStatus,
    items: i64,
    detail: serde_json::Value,
    error: Option<String>,
    finished_at: Option<DateTime<Utc>>,
) -> Result<(), AppError> {
    connector_runs::Entity::update_many()
        .col_expr(connector_runs::Column::Status, Expr::value(status.as_str()))
        .col_expr(connector_runs::Column::Items, Expr::value(items))
        .col_expr(connector_runs::Column::Detail, Expr::value(detail))
        .col_expr(connector_runs::Column::Error, Expr::value(error))
        .col_expr(connector_runs::Column::FinishedAt, Expr::value(finished_at))
        .filter(connector_runs::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Closes runs left RUNNING since before `before` (their process stopped) as FAILED.
pub(super) async fn fail_stale_runs(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    Ok(connector_runs::Entity::update_many()
        .col_expr(
            connector_runs::Column::Status,
            Expr::value(RunStatus::Failed.as_str()),
        )
        .col_expr(
            connector_runs::Column::Error,
            Expr::value("INTERNAL: the run stopped with its process"),
        )
        .col_expr(connector_runs::Column::FinishedAt, Expr::value(now))
        .filter(connector_runs::Column::Status.eq(RunStatus::Running.as_str()))
        .filter(connector_runs::Column::StartedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

/// The connection's latest runs, newest first.
pub(super) async fn runs_of(
    db: &impl ConnectionTrait,
    connection: Uuid,
    limit: u64,
) -> Result<Vec<Run>, AppError> {
    Ok(connector_runs::Entity::find()
        .filter(connector_runs::Column::ConnectionId.eq(connection))
        .order_by_desc(connector_runs::Column::StartedAt)
        .order_by_desc(connector_runs::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(run_to_domain)
        .collect())
}

/// The newest successful prefill of an order.
pub(super) async fn prefill_of_order(
    db: &impl ConnectionTrait,
    order: Uuid,
) -> Result<Option<Run>, AppError> {
    Ok(connector_runs::Entity::find()
        .filter(connector_runs::Column::OrderId.eq(order))
        .filter(connector_runs::Column::Kind.eq(RunKind::Prefill.as_str()))
        .filter(connector_runs::Column::Status.eq(RunStatus::Succeeded.as_str()))
        .order_by_desc(connector_runs::Column::StartedAt)
        .one(db)
        .await?
        .map(run_to_domain))
}

/// Runs of `kind` finished since `since`: (all, succeeded).
pub(super) async fn run_counts(
    db: &impl ConnectionTrait,
    kind: RunKind,
    since: DateTime<Utc>,
) -> Result<(u64, u64), AppError> {
    let base = || {
        connector_runs::Entity::find()
            .filter(connector_runs::Column::Kind.eq(kind.as_str()))
            .filter(connector_runs::Column::StartedAt.gte(since))
            .filter(connector_runs::Column::Status.ne(RunStatus::Running.as_str()))
    };
    let all = base().count(db).await?;
    let succeeded = base()
        .filter(connector_runs::Column::Status.eq(RunStatus::Succeeded.as_str()))
        .count(db)
        .await?;
    Ok((all, succeeded))
}

/// Restaurants with at least one active connection.
pub(super) async fn connected_restaurants(db: &impl ConnectionTrait) -> Result<u64, AppError> {
    let ids: Vec<Uuid> = supplier_connections::Entity::find()
        .select_only()
        .column(supplier_connections::Column::RestaurantId)
        .filter(supplier_connections::Column::Status.eq(ConnectionStatus::Active.as_str()))
        .distinct()
        .into_tuple::<Uuid>()
        .all(db)
        .await?;
    Ok(ids.len() as u64)
}

pub(super) async fn states(
    db: &impl ConnectionTrait,
) -> Result<Vec<connector_states::Model>, AppError> {
    Ok(connector_states::Entity::find().all(db).await?)
}

pub(super) async fn state(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<connector_states::Model>, AppError> {
    Ok(connector_states::Entity::find()
        .filter(connector_states::Column::SupplierKey.eq(key))
        .one(db)
        .await?)
}

pub(super) async fn save_state(
    db: &impl ConnectionTrait,
    existing: Option<connector_states::Model>,
    key: &str,
    change: impl FnOnce(&mut connector_states::ActiveModel),
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    match existing {
        Some(row) => {
            let mut active: connector_states::ActiveModel = row.into();
            change(&mut active);
            active.updated_at = Set(now);
            connector_states::Entity::update(active).exec(db).await?;
        }
        None => {
            let mut active = connector_states::ActiveModel {
                id: Set(Uuid::now_v7()),
                supplier_key: Set(key.to_owned()),
                status: Set("OK".into()),
                supplier_id: Set(None),
                fingerprints: Set(serde_json::json!({})),
                failures: Set(serde_json::json!({})),
                checked_at: Set(None),
                updated_at: Set(now),
            };
            change(&mut active);
            connector_states::Entity::insert(active)
                .exec_without_returning(db)
                .await?;
        }
    }
    Ok(())
}

pub(super) async fn pulled_ids(
    db: &impl ConnectionTrait,
    connection: Uuid,
) -> Result<Vec<String>, AppError> {
    Ok(documents::Entity::find()
        .select_only()
        .column(documents::Column::ExternalId)
        .filter(documents::Column::ConnectionId.eq(connection))
        .into_tuple::<String>()
        .all(db)
        .await?)
}

pub(super) async fn insert_document(
    db: &impl ConnectionTrait,
    row: documents::ActiveModel,
) -> Result<(), AppError> {
    documents::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}
