//! Storage side of privacy: the table-level operations of erasure and retention. Privacy cuts
//! across every context, so unlike other repositories this one writes other contexts' tables
//! directly — accounts, sessions and memberships (identity), notifications, the audit log,
//! orders, products, suppliers, restaurants, webhooks, the outbox and job runs — and, to find
//! an e-mail address wherever it is stored as text, every table the database catalog lists.
//! Each function is named for the one thing it does; which ones run, in which order and
//! transaction, is the service's decision.

use chrono::{DateTime, Utc};
use entity::{
    accounts, audit_log, notifications, refresh_tokens, restaurant_members, supplier_members,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement, Value,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::{error::AppError, infra::db::placeholder};

// ---- erasure ----

/// The e-mail address of the account with this id, deleted or not.
pub(super) async fn account_email(
    db: &impl ConnectionTrait,
    account: Uuid,
) -> Result<Option<String>, AppError> {
    Ok(accounts::Entity::find_by_id(account)
        .one(db)
        .await?
        .map(|a| a.email))
}

/// Replaces an account's e-mail address and display name, unlinks it from its identity
/// provider's subject, and marks it deleted at `at`.
pub(super) async fn anonymise_account(
    db: &impl ConnectionTrait,
    account: Uuid,
    email: &str,
    display_name: &str,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    accounts::Entity::update_many()
        .col_expr(accounts::Column::Email, Expr::value(email))
        .col_expr(accounts::Column::EmailFolded, Expr::value(email))
        .col_expr(accounts::Column::DisplayName, Expr::value(display_name))
        .col_expr(
            accounts::Column::ExternalId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(accounts::Column::UpdatedAt, Expr::value(at))
        .col_expr(accounts::Column::DeletedAt, Expr::value(at))
        .filter(accounts::Column::Id.eq(account))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes every refresh token (session) of an account.
pub(super) async fn delete_sessions_of(
    db: &impl ConnectionTrait,
    account: Uuid,
) -> Result<(), AppError> {
    refresh_tokens::Entity::delete_many()
        .filter(refresh_tokens::Column::AccountId.eq(account))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes an account's supplier and restaurant memberships.
pub(super) async fn delete_memberships_of(
    db: &impl ConnectionTrait,
    account: Uuid,
) -> Result<(), AppError> {
    supplier_members::Entity::delete_many()
        .filter(supplier_members::Column::AccountId.eq(account))
        .exec(db)
        .await?;
    restaurant_members::Entity::delete_many()
        .filter(restaurant_members::Column::AccountId.eq(account))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes an account's notifications.
pub(super) async fn delete_notifications_of(
    db: &impl ConnectionTrait,
    account: Uuid,
) -> Result<(), AppError> {
    notifications::Entity::delete_many()
        .filter(notifications::Column::AccountId.eq(account))
        .exec(db)
        .await?;
    Ok(())
}

/// Clears the IP address and user agent of every audit entry the account is the actor of.
pub(super) async fn clear_audit_client_details_of(
    db: &impl ConnectionTrait,
    account: Uuid,
) -> Result<(), AppError> {
    audit_log::Entity::update_many()
        .col_expr(audit_log::Column::Ip, Expr::value(Option::<String>::None))
        .col_expr(
            audit_log::Column::UserAgent,
            Expr::value(Option::<String>::None),
        )
        .filter(audit_log::Column::ActorId.eq(account))
        .exec(db)
        .await?;
    Ok(())
}

/// A text or JSON column of a table with an `id` primary key.
pub(super) struct TextColumn {
    pub table: String,
    pub column: String,
    json: bool,
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Every text and JSON column (but `id`) of every table with an `id` column, from the database
/// catalog — tables added later included; the migrations' bookkeeping table excluded.
pub(super) async fn text_columns(db: &impl ConnectionTrait) -> Result<Vec<TextColumn>, AppError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT c.table_name AS t, c.column_name AS c, c.data_type AS k FROM information_schema.columns c \
             WHERE c.table_schema = current_schema() AND c.data_type IN ('text', 'character varying', 'json', 'jsonb') \
             AND c.table_name IN (SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE') \
             AND EXISTS (SELECT 1 FROM information_schema.columns i WHERE i.table_schema = c.table_schema AND i.table_name = c.table_name AND i.column_name = 'id')"
        }
        _ => {
            "SELECT m.name AS t, p.name AS c, p.type AS k FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) i WHERE i.name = 'id')"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    let mut columns = Vec::new();
    for row in rows {
        let table: String = row.try_get("", "t")?;
        let column: String = row.try_get("", "c")?;
        let kind: String = row.try_get("", "k")?;
        let kind = kind.to_ascii_lowercase();
        let textual = ["text", "char", "json", "clob"]
            .iter()
            .any(|k| kind.contains(k));
        if textual && table != "seaql_migrations" && column != "id" {
            columns.push(TextColumn {
                table,
                column,
                json: kind.contains("json"),
            });
        }
    }
    Ok(columns)
}

/// The rows whose value in `column` (as text) contains `needle`, ignoring case (beyond ASCII on
/// Postgres, ASCII only on SQLite): their ids and values as text. `%` and `_` in the needle
/// match any text, so this may find more than an exact search would; callers check the values.
pub(super) async fn values_containing(
    db: &impl ConnectionTrait,
    column: &TextColumn,
    needle: &str,
) -> Result<Vec<(Uuid, String)>, AppError> {
    let backend = db.get_database_backend();
    let (table, name) = (quote(&column.table), quote(&column.column));
    // ILIKE on Postgres (case-insensitive beyond ASCII); SQLite's LIKE ignores ASCII case.
    let like = match backend {
        DatabaseBackend::Postgres => "ILIKE",
        _ => "LIKE",
    };
    let select = format!(
        "SELECT id, CAST({name} AS TEXT) AS v FROM {table} WHERE CAST({name} AS TEXT) {like} {}",
        placeholder(backend, 1)
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            &select,
            [Value::from(format!("%{needle}%"))],
        ))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "v")?)))
        .collect()
}

/// Sets `column` of the row `id` to `value` (given as text; JSON columns parse it).
pub(super) async fn set_value(
    db: &impl ConnectionTrait,
    column: &TextColumn,
    id: Uuid,
    value: String,
) -> Result<(), AppError> {
    let backend = db.get_database_backend();
    let (table, name) = (quote(&column.table), quote(&column.column));
    let target = if column.json && backend == DatabaseBackend::Postgres {
        format!("CAST({} AS {})", placeholder(backend, 1), "json")
    } else {
        placeholder(backend, 1)
    };
    let update = format!(
        "UPDATE {table} SET {name} = {target} WHERE id = {}",
        placeholder(backend, 2)
    );
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        &update,
        [Value::from(value), Value::from(id)],
    ))
    .await?;
    Ok(())
}

// ---- retention ----

/// Runs the `DELETE` that `sql` writes around its one parameter, `before` (given the backend's
/// placeholder for it); returns how many rows it deleted.
async fn delete_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    sql: impl FnOnce(&str) -> String,
) -> Result<u64, AppError> {
    let backend = db.get_database_backend();
    let sql = sql(&placeholder(backend, 1));
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            &sql,
            [Value::from(before)],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// Deletes audit entries written before `before`.
pub(super) async fn purge_audit_older_than(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| {
        format!("DELETE FROM audit_log WHERE at < {p}")
    })
    .await
}

/// Deletes orders soft-deleted before `before` (their lines and events go with them).
pub(super) async fn purge_orders_deleted_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| {
        format!("DELETE FROM orders WHERE deleted_at IS NOT NULL AND deleted_at < {p}")
    })
    .await
}

/// Deletes cart items of products soft-deleted before `before` (so the products can go).
pub(super) async fn purge_cart_items_of_products_deleted_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| format!("DELETE FROM cart_items WHERE product_id IN (SELECT id FROM products WHERE deleted_at IS NOT NULL AND deleted_at < {p})"))
    .await
}

/// Deletes products soft-deleted before `before` that no order line refers to.
pub(super) async fn purge_unordered_products_deleted_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| format!("DELETE FROM products WHERE deleted_at IS NOT NULL AND deleted_at < {p} AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.product_id = products.id)"))
    .await
}

/// Deletes webhook endpoints soft-deleted before `before`.
pub(super) async fn purge_webhook_endpoints_deleted_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| {
        format!("DELETE FROM webhook_endpoints WHERE deleted_at IS NOT NULL AND deleted_at < {p}")
    })
    .await
}

/// Deletes suppliers soft-deleted before `before` that no product, order or membership refers
/// to.
pub(super) async fn purge_unreferenced_suppliers_deleted_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| format!("DELETE FROM suppliers WHERE deleted_at IS NOT NULL AND deleted_at < {p} AND NOT EXISTS (SELECT 1 FROM products x WHERE x.supplier_id = suppliers.id) AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.supplier_id = suppliers.id) AND NOT EXISTS (SELECT 1 FROM supplier_members sm WHERE sm.supplier_id = suppliers.id)"))
    .await
}

/// Deletes restaurants soft-deleted before `before` that no order, cart or membership refers
/// to.
pub(super) async fn purge_unreferenced_restaurants_deleted_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| format!("DELETE FROM restaurants WHERE deleted_at IS NOT NULL AND deleted_at < {p} AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.restaurant_id = restaurants.id) AND NOT EXISTS (SELECT 1 FROM carts c WHERE c.restaurant_id = restaurants.id) AND NOT EXISTS (SELECT 1 FROM restaurant_members rm WHERE rm.restaurant_id = restaurants.id)"))
    .await
}

/// Deletes outbox events dispatched before `before`.
pub(super) async fn purge_outbox_dispatched_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| {
        format!("DELETE FROM outbox WHERE dispatched_at IS NOT NULL AND dispatched_at < {p}")
    })
    .await
}

/// Deletes webhook deliveries that are no longer pending, last changed before `before`.
pub(super) async fn purge_finished_webhook_deliveries_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| {
        format!("DELETE FROM webhook_deliveries WHERE status <> 'PENDING' AND updated_at < {p}")
    })
    .await
}

/// Deletes notifications read before `before`.
pub(super) async fn purge_notifications_read_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| {
        format!("DELETE FROM notifications WHERE read_at IS NOT NULL AND read_at < {p}")
    })
    .await
}

/// Deletes job runs that finished before `before`.
/// Finished connector runs (syncs, prefills, invoice pulls) older than `before`.
pub(super) async fn purge_connector_runs_finished_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| {
        format!("DELETE FROM connector_runs WHERE finished_at IS NOT NULL AND finished_at < {p}")
    })
    .await
}

pub(super) async fn purge_job_runs_finished_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    delete_before(db, before, |p| {
        format!("DELETE FROM job_runs WHERE finished_at IS NOT NULL AND finished_at < {p}")
    })
    .await
}
