//! The sealed columns, and re-sealing them row by row.

use sea_orm::{
    ConnectionTrait,
    sea_query::{Alias, Expr, ExprTrait as _, Order, Query},
};
use uuid::Uuid;

use super::{OpenError, PREFIX, Resealed, Sealer, context};
use crate::{
    error::AppError,
    infra::db::{Db, begin_write},
};

/// A text column whose values are sealed, in a table keyed by a UUID `id`.
pub(super) struct SealedColumn {
    pub table: &'static str,
    pub column: &'static str,
}

/// Every sealed column. A new secret column is one more entry (and `secrets::context` with
/// the same names where it is written and read).
pub(super) const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "webhook_endpoints",
        column: "secret",
    },
    SealedColumn {
        table: "supplier_session_secrets",
        column: "token",
    },
];

const PAGE: u64 = 200;

/// Re-seals `column`'s stale values (with `plaintext_only`, only values never sealed), deleted
/// rows included. Each update names the value it read, so a secret rotated meanwhile stays.
pub(super) async fn reseal_column(
    db: &Db,
    sealer: &Sealer,
    column: &SealedColumn,
    plaintext_only: bool,
    done: &mut Resealed,
) -> Result<(), AppError> {
    let (table, value) = (Alias::new(column.table), Alias::new(column.column));
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = Query::select();
        select
            .columns([Alias::new("id"), value.clone()])
            .from(table.clone())
            .order_by(Alias::new("id"), Order::Asc)
            .limit(PAGE);
        if let Some(after) = after {
            select.and_where(Expr::col(Alias::new("id")).gt(after));
        }
        if plaintext_only {
            select.and_where(Expr::col(value.clone()).not_like(format!("{PREFIX}%")));
        }
        let rows = db.query_all(&select).await?;
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            let stored: String = row.try_get("", column.column)?;
            after = Some(id);
            if !sealer.is_stale(&stored) {
                done.current += 1;
                continue;
            }
            let at = context(column.table, column.column, id);
            let plaintext = match sealer.open(&stored, &at) {
                Ok(plaintext) => plaintext,
                Err(OpenError::NotSealed) => stored.clone(),
                Err(error) => {
                    tracing::warn!(%error, table = column.table, column = column.column, %id, "a sealed value did not open; left as it is");
                    done.failed += 1;
                    continue;
                }
            };
            let mut update = Query::update();
            update
                .table(table.clone())
                .value(value.clone(), sealer.seal(&plaintext, &at)?)
                .and_where(Expr::col(Alias::new("id")).eq(id))
                .and_where(Expr::col(value.clone()).eq(stored));
            // Its own write transaction (BEGIN IMMEDIATE on SQLite): with Iris serving on the
            // same file, an autocommit update can meet a snapshot that cannot be upgraded and
            // fail at once instead of waiting its turn.
            let txn = begin_write(db).await?;
            let changed = txn.execute(&update).await?.rows_affected() == 1;
            txn.commit().await?;
            if changed {
                done.resealed += 1;
            }
        }
        if (rows.len() as u64) < PAGE {
            return Ok(());
        }
    }
}
