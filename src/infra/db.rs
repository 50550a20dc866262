//! Database connection (SQLite or Postgres), migrations, health, and the per-request
//! database budget.
//!
//! Every service holds a [`Db`]: the pool, plus one rule — a statement run inside a request's
//! [`RequestBudget`] first takes one of the request's permits, so one request holds at most
//! `DATABASE_REQUEST_CONCURRENCY` pool connections at a time, however many resolvers it runs
//! at once. Background work (outbox, webhooks, jobs) runs on a pool of its own, so no request
//! can starve it, and no burst of background work can starve requests.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, ExecResult, IsolationLevel, QueryResult, SqliteTransactionMode, Statement,
    TransactionError, TransactionOptions, TransactionTrait,
};
use tokio::sync::Semaphore;

/// Where the database is and how its pools are sized (built by `crate::config`).
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// `DATABASE_URL`.
    pub url: String,
    /// Connections of the request pool (`DATABASE_MAX_CONNECTIONS`).
    pub max_connections: u32,
    /// Connections of the background pool (`DATABASE_BACKGROUND_CONNECTIONS`).
    pub background_connections: u32,
    /// How long a statement waits for a pooled connection (`DATABASE_ACQUIRE_TIMEOUT_SECS`).
    pub acquire_timeout: Duration,
}

/// Opens the request pool (`DATABASE_MAX_CONNECTIONS`). SQLite runs in WAL mode with a busy
/// timeout so concurrent writers queue instead of failing; both backends get bounded connect
/// and acquire timeouts.
pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<DatabaseConnection> {
    open(settings, settings.max_connections, true).await
}

/// Opens the background pool (`DATABASE_BACKGROUND_CONNECTIONS`): the outbox dispatcher, the
/// webhook sender and the jobs run on it, beside the request pool.
pub async fn connect_background(settings: &DatabaseSettings) -> anyhow::Result<DatabaseConnection> {
    open(settings, settings.background_connections, true).await
}

/// A single connection without foreign-key enforcement on SQLite, for `migrate fresh`, which
/// drops tables in an order foreign keys would refuse.
pub async fn connect_for_rebuild(
    settings: &DatabaseSettings,
) -> anyhow::Result<DatabaseConnection> {
    open(settings, 1, false).await
}

async fn open(
    settings: &DatabaseSettings,
    max_connections: u32,
    foreign_keys: bool,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(&settings.url);
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(settings.acquire_timeout)
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
            redact_url(&settings.url)
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
pub async fn begin_write(db: &Db) -> Result<DatabaseTransaction, DbErr> {
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

/// How much of a UTC timestamp [`utc_text`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UtcPart {
    /// `YYYY-MM`.
    Month,
    /// `YYYY-MM-DD`.
    Day,
}

/// A SQL expression for the UTC month or day of a timestamp column as text, alike on both
/// backends (SQLite stores RFC 3339 text in UTC; Postgres `timestamptz`).
pub fn utc_text(backend: sea_orm::DatabaseBackend, column: &str, part: UtcPart) -> String {
    let (pattern, length) = match part {
        UtcPart::Month => ("YYYY-MM", 7),
        UtcPart::Day => ("YYYY-MM-DD", 10),
    };
    match backend {
        sea_orm::DatabaseBackend::Postgres => {
            format!("to_char({column} AT TIME ZONE 'UTC', '{pattern}')")
        }
        _ => format!("substr({column}, 1, {length})"),
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
pub async fn ping(db: &Db) -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(2), db.pool().ping())
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

tokio::task_local! {
    static BUDGET: RequestBudget;
}

/// One request's share of the pool: at most `permits` statements in flight at once, and a
/// count of the statements it ran (for its log line).
#[derive(Clone)]
pub struct RequestBudget {
    permits: Arc<Semaphore>,
    statements: Arc<AtomicU64>,
}

impl RequestBudget {
    pub fn new(permits: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            statements: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Runs `work` (a request) under this budget: every statement it sends through a [`Db`]
    /// waits for one of the permits.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        BUDGET.scope(self, work).await
    }

    /// Statements run under this budget so far.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
}

/// Runs one statement, inside the current request's budget when there is one.
async fn budgeted<T>(statement: impl Future<Output = T>) -> T {
    let budget = BUDGET.try_with(Clone::clone).ok();
    let _permit = match &budget {
        // The semaphore is never closed, so acquiring only fails if it were; run unbudgeted.
        Some(budget) => {
            budget.statements.fetch_add(1, Ordering::Relaxed);
            budget.permits.clone().acquire_owned().await.ok()
        }
        None => None,
    };
    statement.await
}

/// The database as services see it: a pool whose statements respect the request budget.
#[derive(Clone, Debug)]
pub struct Db {
    pool: DatabaseConnection,
}

impl Db {
    pub fn new(pool: DatabaseConnection) -> Self {
        Self { pool }
    }

    pub fn get_database_backend(&self) -> DbBackend {
        self.pool.get_database_backend()
    }

    /// The pool itself, for what is not a statement of a request: migrations, pings, closing.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.pool.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        budgeted(self.pool.execute_raw(stmt)).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        budgeted(self.pool.execute_unprepared(sql)).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        budgeted(self.pool.query_one_raw(stmt)).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        budgeted(self.pool.query_all_raw(stmt)).await
    }

    fn support_returning(&self) -> bool {
        self.pool.support_returning()
    }
}

/// Transactions take a permit to begin (the callback forms hold it to the end); they belong to
/// mutations, which GraphQL runs one after another, so a request holds at most one open
/// transaction at a time.
#[async_trait::async_trait]
impl TransactionTrait for Db {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        budgeted(self.pool.begin()).await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        budgeted(self.pool.begin_with_config(isolation_level, access_mode)).await
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        budgeted(self.pool.begin_with_options(options)).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            )
                -> std::pin::Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        budgeted(self.pool.transaction(callback)).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            )
                -> std::pin::Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        budgeted(
            self.pool
                .transaction_with_config(callback, isolation_level, access_mode),
        )
        .await
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
