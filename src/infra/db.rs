//! Database connection (SQLite or Postgres), migrations, health.

use std::time::Duration;

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::Config;

/// Opens the pool. SQLite runs in WAL mode with a busy timeout so concurrent writers queue
/// instead of failing; both backends get bounded connect and acquire timeouts.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    open(config, true).await
}

/// A single connection without foreign-key enforcement on SQLite, for `migrate fresh`, which
/// drops tables in an order foreign keys would refuse.
pub async fn connect_for_rebuild(config: &Config) -> anyhow::Result<DatabaseConnection> {
    open(config, false).await
}

async fn open(config: &Config, foreign_keys: bool) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(&config.database_url);
    options
        .max_connections(if foreign_keys {
            config.database_max_connections
        } else {
            1
        })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(foreign_keys)
        });
    Database::connect(options).await.with_context(|| {
        format!(
            "DATABASE_URL: cannot connect to {}",
            redact_url(&config.database_url)
        )
    })
}

pub async fn migrate_up(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("applying database migrations failed")
}

/// Begins a transaction that is going to write. On SQLite it is `BEGIN IMMEDIATE`: the write
/// lock is taken up front, so concurrent writers wait (busy timeout) instead of failing when a
/// read lock cannot be upgraded. On Postgres it is a plain `BEGIN`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// An ORDER BY expression for a text column that sorts alike on both backends: by code point
/// (SQLite's BINARY; Postgres would otherwise use the server's locale collation).
pub fn text_order(
    backend: sea_orm::DatabaseBackend,
    column: &str,
) -> sea_orm::sea_query::SimpleExpr {
    match backend {
        sea_orm::DatabaseBackend::Postgres => {
            sea_orm::sea_query::Expr::cust(format!("\"{column}\" COLLATE \"C\""))
        }
        _ => sea_orm::sea_query::Expr::cust(format!("\"{column}\"")),
    }
}

/// The `n`-th (from 1) bind placeholder of raw SQL: `$n` on Postgres, `?` on SQLite.
pub fn placeholder(backend: sea_orm::DatabaseBackend, n: usize) -> String {
    match backend {
        sea_orm::DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// Cheap liveness probe of the pool (used by `/readyz`).
pub async fn ping(db: &DatabaseConnection) -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(2), db.ping())
        .await
        .context("database did not answer within 2 s")?
        .context("database ping failed")
}

/// The URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://iris:s3cret@db:5432/iris"),
            "postgres://iris:***@db:5432/iris"
        );
        assert_eq!(
            redact_url("sqlite://iris.db?mode=rwc"),
            "sqlite://iris.db?mode=rwc"
        );
    }
}
