//! Privacy: erasing an account's personal data (GDPR), and purging data past its retention.
//!
//! Erasure (admins): in one transaction the account is anonymised (e-mail, name, identity-
//! provider subject), its sessions, memberships and notifications are deleted, the IP address
//! and user agent of its audited actions are cleared, and its e-mail address is replaced
//! wherever else it appears as text — every text and JSON column of every table, found from
//! the database catalog, so tables added later are covered too. The erasure is audited without
//! the address.
//!
//! Retention (the daily `purge-retention` job): audit entries older than the audit period,
//! soft-deleted orders older than the financial period (with their lines and events), other
//! soft-deleted rows older than the deleted-rows period when nothing refers to them, and
//! operational rows (dispatched outbox events, finished webhook deliveries, read notifications,
//! job runs) older than the operational period are deleted for good; the purge is audited with
//! its counts.

use crate::infra::db::Db;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use entity::{
    accounts, audit_log, notifications, refresh_tokens, restaurant_members, supplier_members,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement, Value,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::{Caller, Principal},
    domain::platform::audit::{self, AuditEntry},
    error::AppError,
    infra::db::{begin_write, placeholder},
};

/// What an erased e-mail address becomes wherever it appeared.
pub const ERASED_EMAIL: &str = "erased@erased.invalid";

/// How long data is kept (from the configuration).
#[derive(Clone, Debug)]
pub struct RetentionPolicy {
    pub audit: Duration,
    pub financial: Duration,
    pub deleted: Duration,
    pub operational: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            audit: Duration::days(365),
            financial: Duration::days(7 * 365 + 2),
            deleted: Duration::days(30),
            operational: Duration::days(90),
        }
    }
}

#[derive(Clone)]
pub struct PrivacyService {
    db: Db,
    retention: RetentionPolicy,
}

/// Whether `c` can continue an e-mail address (so a match inside a longer address is not one).
fn address_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || "._%+-".contains(c))
}

/// Every occurrence of the address `email` in `text` (any ASCII case, not inside a longer
/// address: `anna@x.se` is not in `hanna@x.se`) replaced by `with`.
fn replace_address(text: &str, email: &str, with: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let needle = email.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(found) = lower[from..].find(&needle) {
        let start = from + found;
        let end = start + needle.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let dangling_dot = after == Some('.') && address_char(text[end + 1..].chars().next());
        if !address_char(before) && (!address_char(after) || (after == Some('.') && !dangling_dot))
        {
            out.push_str(&text[copied..start]);
            out.push_str(with);
            copied = end;
        }
        from = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// A text or JSON column of a table with an `id` primary key.
struct TextColumn {
    table: String,
    column: String,
    json: bool,
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

async fn text_columns(db: &impl ConnectionTrait) -> Result<Vec<TextColumn>, AppError> {
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

/// Replaces `email` (any case) in every text and JSON column; returns rows changed per column.
async fn scrub(db: &impl ConnectionTrait, email: &str) -> Result<BTreeMap<String, u64>, AppError> {
    let backend = db.get_database_backend();
    // `%` and `_` in the address only widen the search; the replacement below is exact.
    let pattern = format!("%{email}%");
    let mut changed = BTreeMap::new();
    for c in text_columns(db).await? {
        let (table, column) = (quote(&c.table), quote(&c.column));
        // ILIKE on Postgres (case-insensitive beyond ASCII); SQLite's LIKE ignores ASCII case.
        let like = match backend {
            DatabaseBackend::Postgres => "ILIKE",
            _ => "LIKE",
        };
        let select = format!(
            "SELECT id, CAST({column} AS TEXT) AS v FROM {table} WHERE CAST({column} AS TEXT) {like} {}",
            placeholder(backend, 1)
        );
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                &select,
                [Value::from(pattern.clone())],
            ))
            .await?;
        let target = if c.json && backend == DatabaseBackend::Postgres {
            format!("CAST({} AS {})", placeholder(backend, 1), "json")
        } else {
            placeholder(backend, 1)
        };
        let update = format!(
            "UPDATE {table} SET {column} = {target} WHERE id = {}",
            placeholder(backend, 2)
        );
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            let value: String = row.try_get("", "v")?;
            let replaced = replace_address(&value, email, ERASED_EMAIL);
            if replaced == value {
                continue; // only inside longer addresses
            }
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                &update,
                [Value::from(replaced), Value::from(id)],
            ))
            .await?;
            *changed
                .entry(format!("{}.{}", c.table, c.column))
                .or_default() += 1;
        }
    }
    Ok(changed)
}

impl PrivacyService {
    pub fn new(db: Db, retention: RetentionPolicy) -> Self {
        Self { db, retention }
    }

    /// Erases an account's personal data everywhere (admins); returns when.
    #[tracing::instrument(skip_all, fields(caller = %caller, account_id = %account))]
    pub async fn erase_account(
        &self,
        caller: &Caller,
        account: Uuid,
    ) -> Result<DateTime<Utc>, AppError> {
        match &caller.principal {
            Principal::Anonymous => {
                return Err(AppError::Unauthenticated(
                    "sign in to erase accounts".into(),
                ));
            }
            p if p.is_admin() => {}
            _ => return Err(AppError::Forbidden("only admins erase accounts".into())),
        }
        if caller.principal.account_id() == Some(account) {
            return Err(AppError::Conflict(
                "an admin cannot erase their own account".into(),
            ));
        }
        let found = accounts::Entity::find_by_id(account)
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::not_found("Account", account))?;
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        let placeholder_email = format!("erased+{}@erased.invalid", account.simple());
        accounts::Entity::update_many()
            .col_expr(
                accounts::Column::Email,
                Expr::value(placeholder_email.clone()),
            )
            .col_expr(
                accounts::Column::EmailFolded,
                Expr::value(placeholder_email),
            )
            .col_expr(accounts::Column::DisplayName, Expr::value("Erased account"))
            .col_expr(
                accounts::Column::ExternalId,
                Expr::value(Option::<String>::None),
            )
            .col_expr(accounts::Column::UpdatedAt, Expr::value(now))
            .col_expr(accounts::Column::DeletedAt, Expr::value(now))
            .filter(accounts::Column::Id.eq(account))
            .exec(&txn)
            .await?;
        refresh_tokens::Entity::delete_many()
            .filter(refresh_tokens::Column::AccountId.eq(account))
            .exec(&txn)
            .await?;
        supplier_members::Entity::delete_many()
            .filter(supplier_members::Column::AccountId.eq(account))
            .exec(&txn)
            .await?;
        restaurant_members::Entity::delete_many()
            .filter(restaurant_members::Column::AccountId.eq(account))
            .exec(&txn)
            .await?;
        notifications::Entity::delete_many()
            .filter(notifications::Column::AccountId.eq(account))
            .exec(&txn)
            .await?;
        audit_log::Entity::update_many()
            .col_expr(audit_log::Column::Ip, Expr::value(Option::<String>::None))
            .col_expr(
                audit_log::Column::UserAgent,
                Expr::value(Option::<String>::None),
            )
            .filter(audit_log::Column::ActorId.eq(account))
            .exec(&txn)
            .await?;
        let scrubbed = scrub(&txn, &found.email).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "account.erase",
                entity: "account",
                entity_id: Some(account.to_string()),
                before: None,
                after: Some(json!({ "erasedAt": now, "scrubbed": scrubbed })),
            },
        )
        .await?;
        txn.commit().await?;
        tracing::info!("account erased");
        Ok(now)
    }

    /// Deletes data past its retention; returns rows deleted per kind (the purge is audited).
    pub async fn purge(&self) -> Result<BTreeMap<String, u64>, AppError> {
        let now = Utc::now();
        let backend = self.db.get_database_backend();
        let cutoff = |keep: Duration| now - keep;
        let p = |n| placeholder(backend, n);
        let r = &self.retention;
        let deleted = cutoff(r.deleted);
        let operational = cutoff(r.operational);
        // (what, statement, cutoff) — children before parents, nothing referenced is touched.
        let steps: Vec<(&str, String, DateTime<Utc>)> = vec![
            (
                "audit_log",
                format!("DELETE FROM audit_log WHERE at < {}", p(1)),
                cutoff(r.audit),
            ),
            (
                "orders",
                format!(
                    "DELETE FROM orders WHERE deleted_at IS NOT NULL AND deleted_at < {}",
                    p(1)
                ),
                cutoff(r.financial),
            ),
            (
                "cart_items",
                format!(
                    "DELETE FROM cart_items WHERE product_id IN (SELECT id FROM products WHERE deleted_at IS NOT NULL AND deleted_at < {})",
                    p(1)
                ),
                deleted,
            ),
            (
                "products",
                format!(
                    "DELETE FROM products WHERE deleted_at IS NOT NULL AND deleted_at < {} AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.product_id = products.id)",
                    p(1)
                ),
                deleted,
            ),
            (
                "webhook_endpoints",
                format!(
                    "DELETE FROM webhook_endpoints WHERE deleted_at IS NOT NULL AND deleted_at < {}",
                    p(1)
                ),
                deleted,
            ),
            (
                "suppliers",
                format!(
                    "DELETE FROM suppliers WHERE deleted_at IS NOT NULL AND deleted_at < {} AND NOT EXISTS (SELECT 1 FROM products x WHERE x.supplier_id = suppliers.id) AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.supplier_id = suppliers.id) AND NOT EXISTS (SELECT 1 FROM supplier_members sm WHERE sm.supplier_id = suppliers.id)",
                    p(1)
                ),
                deleted,
            ),
            (
                "restaurants",
                format!(
                    "DELETE FROM restaurants WHERE deleted_at IS NOT NULL AND deleted_at < {} AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.restaurant_id = restaurants.id) AND NOT EXISTS (SELECT 1 FROM carts c WHERE c.restaurant_id = restaurants.id) AND NOT EXISTS (SELECT 1 FROM restaurant_members rm WHERE rm.restaurant_id = restaurants.id)",
                    p(1)
                ),
                deleted,
            ),
            (
                "outbox",
                format!(
                    "DELETE FROM outbox WHERE dispatched_at IS NOT NULL AND dispatched_at < {}",
                    p(1)
                ),
                operational,
            ),
            (
                "webhook_deliveries",
                format!(
                    "DELETE FROM webhook_deliveries WHERE status <> 'PENDING' AND updated_at < {}",
                    p(1)
                ),
                operational,
            ),
            (
                "notifications",
                format!(
                    "DELETE FROM notifications WHERE read_at IS NOT NULL AND read_at < {}",
                    p(1)
                ),
                operational,
            ),
            (
                "job_runs",
                format!(
                    "DELETE FROM job_runs WHERE finished_at IS NOT NULL AND finished_at < {}",
                    p(1)
                ),
                operational,
            ),
        ];
        let txn = begin_write(&self.db).await?;
        let mut purged = BTreeMap::new();
        for (what, sql, before) in steps {
            let result = txn
                .execute_raw(Statement::from_sql_and_values(
                    backend,
                    &sql,
                    [Value::from(before)],
                ))
                .await?;
            purged.insert(what.to_owned(), result.rows_affected());
        }
        audit::record(
            &txn,
            &Caller::system(),
            None,
            AuditEntry {
                action: "retention.purge",
                entity: "retention",
                entity_id: None,
                before: None,
                after: Some(json!({ "deleted": purged })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::replace_address;

    #[test]
    fn addresses_are_replaced_in_any_case_but_not_inside_others() {
        assert_eq!(
            replace_address(
                "Mail Anna@Example.se or anna@example.SE. Not hanna@example.se, anna@example.se.com",
                "anna@example.se",
                "x"
            ),
            "Mail x or x. Not hanna@example.se, anna@example.se.com"
        );
        assert_eq!(
            replace_address(r#"{"email":"anna@example.se"}"#, "anna@example.se", "x"),
            r#"{"email":"x"}"#
        );
    }
}
