//! What every repository shares: one way to page a query (offset or keyset), and the sort
//! direction in SQL.

use sea_orm::{
    ConnectionTrait, DatabaseBackend, EntityTrait, IntoSimpleExpr, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Statement, Value,
    sea_query::{Expr, ExprTrait as _, SimpleExpr},
};
use uuid::Uuid;

use crate::{
    domain::kernel::pagination::{
        Cursor, Direction, KeyKind, KeyValue, Page, PageRequest, finish_keyset,
    },
    error::AppError,
    infra::db::{Db, begin_write, placeholder},
};

type ReadKey<M> = Box<dyn Fn(&M) -> KeyValue + Send + Sync>;

/// One sort order of a list: its name (cursors carry it), its direction, and its columns,
/// ending with a unique one (the id) so pages never overlap or skip. Every column sorts the
/// same way, and each says how to read its value from a row for the row's cursor. Keyset
/// pages seek with a row-value comparison (`WHERE (a, b, id) > ($1, $2, $3)`), which both
/// backends answer from an index on the same columns.
pub struct SortOrder<M> {
    name: String,
    direction: Direction,
    columns: Vec<(SimpleExpr, KeyKind, ReadKey<M>)>,
}

impl<M: 'static> SortOrder<M> {
    /// An order named `name` (e.g. `orders.createdAt`) in `direction`.
    pub fn new(name: &str, direction: Direction) -> Self {
        let direction_name = match direction {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        };
        SortOrder {
            name: format!("{name}.{direction_name}"),
            direction,
            columns: Vec::new(),
        }
    }

    fn by(mut self, expr: impl IntoSimpleExpr, kind: KeyKind, read: ReadKey<M>) -> Self {
        self.columns.push((expr.into_simple_expr(), kind, read));
        self
    }

    pub fn text(self, expr: impl IntoSimpleExpr, read: fn(&M) -> &str) -> Self {
        self.by(
            expr,
            KeyKind::Text,
            Box::new(move |m| KeyValue::Text(read(m).to_owned())),
        )
    }

    pub fn int(self, expr: impl IntoSimpleExpr, read: fn(&M) -> i64) -> Self {
        self.by(
            expr,
            KeyKind::Int,
            Box::new(move |m| KeyValue::Int(read(m))),
        )
    }

    pub fn time(
        self,
        expr: impl IntoSimpleExpr,
        read: fn(&M) -> chrono::DateTime<chrono::Utc>,
    ) -> Self {
        self.by(
            expr,
            KeyKind::Time,
            Box::new(move |m| KeyValue::Time(read(m))),
        )
    }

    pub fn date(self, expr: impl IntoSimpleExpr, read: fn(&M) -> chrono::NaiveDate) -> Self {
        self.by(
            expr,
            KeyKind::Date,
            Box::new(move |m| KeyValue::Date(read(m))),
        )
    }

    /// The unique last column.
    pub fn id(self, expr: impl IntoSimpleExpr, read: fn(&M) -> Uuid) -> Self {
        self.by(expr, KeyKind::Id, Box::new(move |m| KeyValue::Id(read(m))))
    }

    fn cursor(&self, row: &M) -> Cursor {
        Cursor {
            order: self.name.clone(),
            key: self.columns.iter().map(|(_, _, read)| read(row)).collect(),
        }
    }

    fn kinds(&self) -> Vec<KeyKind> {
        self.columns.iter().map(|(_, kind, _)| *kind).collect()
    }

    fn sorted<E>(&self, select: Select<E>, direction: Direction) -> Select<E>
    where
        E: EntityTrait<Model = M>,
    {
        self.columns.iter().fold(select, |select, (expr, _, _)| {
            select.order_by(expr.clone(), direction.order())
        })
    }

    /// `(columns) > (cursor)` in the list's direction when `past`, else before the cursor.
    fn seek(&self, cursor: &Cursor, past: bool) -> SimpleExpr {
        let columns = Expr::tuple(self.columns.iter().map(|(expr, _, _)| expr.clone()));
        let values = Expr::tuple(cursor.key.iter().map(|v| Expr::val(sql_value(v))));
        if past == (self.direction == Direction::Asc) {
            columns.gt(values)
        } else {
            columns.lt(values)
        }
    }
}

fn sql_value(value: &KeyValue) -> Value {
    match value {
        KeyValue::Text(text) => text.clone().into(),
        KeyValue::Int(n) => (*n).into(),
        KeyValue::Float(x) => (*x).into(),
        KeyValue::Time(at) => (*at).into(),
        KeyValue::Date(day) => (*day).into(),
        KeyValue::Id(id) => (*id).into(),
    }
}

/// Fetches the requested page of `select` in `sort` order, each row mapped by `map`: an offset
/// window, or a keyset page that seeks from its cursors. Counts the whole list only when the
/// request asks for the total.
pub async fn fetch_page<E, T>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    page: &PageRequest,
    sort: SortOrder<E::Model>,
    map: impl Fn(E::Model) -> T,
) -> Result<Page<T>, AppError>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    let counted = page.counts().then(|| select.clone());
    let (rows, has_previous, has_next) = match page {
        PageRequest::Offset { offset, limit } => {
            // One row more than asked tells whether the list goes on.
            let mut rows = sort
                .sorted(select, sort.direction)
                .offset(*offset)
                .limit(*limit + 1)
                .all(db)
                .await?;
            let more = rows.len() as u64 > *limit;
            rows.truncate(*limit as usize);
            (rows, *offset > 0, more)
        }
        PageRequest::AfterItem { id, offset, limit } => {
            // Where the item sits as the list sorts: its own key is the cursor.
            let Some((id_column, _, _)) = sort.columns.last() else {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "a sort order without an id"
                )));
            };
            let item = select
                .clone()
                .filter(Expr::expr(id_column.clone()).eq(*id))
                .one(db)
                .await?
                .ok_or_else(|| AppError::not_found("List item (cursor)", id))?;
            let cursor = sort.cursor(&item);
            let mut rows = sort
                .sorted(select.filter(sort.seek(&cursor, true)), sort.direction)
                .offset(*offset)
                .limit(*limit + 1)
                .all(db)
                .await?;
            let more = rows.len() as u64 > *limit;
            rows.truncate(*limit as usize);
            (rows, true, more)
        }
        PageRequest::Keyset(keyset) => {
            let mut select = select;
            let kinds = sort.kinds();
            for (field, cursor, past) in [
                ("after", &keyset.after, true),
                ("before", &keyset.before, false),
            ] {
                if let Some(cursor) = cursor {
                    cursor.check(field, &sort.name, &kinds)?;
                    select = select.filter(sort.seek(cursor, past));
                }
            }
            let direction = if keyset.backwards() {
                sort.direction.reverse()
            } else {
                sort.direction
            };
            let rows = sort
                .sorted(select, direction)
                .limit(keyset.size() + 1)
                .all(db)
                .await?;
            finish_keyset(keyset, rows)
        }
    };
    // Counted after the rows (the two statements see the list at two moments): a total never
    // smaller than what the page itself shows, so a row added in between is not missing.
    let skipped = match page {
        PageRequest::Offset { offset, .. } => *offset,
        PageRequest::Keyset(_) | PageRequest::AfterItem { .. } => 0,
    };
    let total = match counted {
        Some(select) => Some(Ord::max(
            select.count(db).await?,
            skipped + rows.len() as u64,
        )),
        None => None,
    };
    let cursors = rows.iter().map(|row| sort.cursor(row)).collect();
    Ok(Page {
        items: rows.into_iter().map(map).collect(),
        cursors,
        total,
        has_previous,
        has_next,
    })
}

impl Direction {
    pub fn order(self) -> sea_orm::Order {
        match self {
            Direction::Asc => sea_orm::Order::Asc,
            Direction::Desc => sea_orm::Order::Desc,
        }
    }
}

/// A conditional update that ends a [`write_together`]: its statement, with placeholders from
/// the binder it was built with, and what it needs before it on Postgres (CTEs such as a
/// locking select, `name AS (…)`).
pub struct CountedUpdate {
    pub ctes: Vec<String>,
    pub update: String,
}

/// Builds a [`CountedUpdate`] with a binder: each value passed in returns its placeholder.
pub type BuildUpdate<'a> =
    Box<dyn FnOnce(DatabaseBackend, &mut dyn FnMut(Value) -> String) -> CountedUpdate + Send + 'a>;

/// The writes of one change, in one round trip where the backend allows: on Postgres one
/// statement (each insert a data-modifying CTE, the update last, counting the rows it
/// changed); on SQLite one statement after another. Run it in the change's transaction: the
/// inserts stand or fall with it. Returns the rows the update changed (0 without one), so a
/// caller whose update is conditional rolls back when it changed fewer rows than it needed.
///
/// Foreign keys between the inserted rows hold: Postgres checks them at the end of the
/// statement, when every CTE has run.
pub async fn write_together(
    db: &impl ConnectionTrait,
    inserts: Vec<sea_orm::sea_query::InsertStatement>,
    update: Option<BuildUpdate<'_>>,
) -> Result<u64, AppError> {
    let backend = db.get_database_backend();
    if backend != DatabaseBackend::Postgres {
        return write_one_by_one(db, inserts, update).await;
    }
    if inserts.is_empty() && update.is_none() {
        return Ok(0);
    }
    let (sql, values) = combined(inserts, update, None);
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .ok_or_else(|| anyhow::anyhow!("the combined write returned no row"))?;
    let n: i64 = row.try_get("", "n")?;
    Ok(n as u64)
}

/// [`write_together`] as a change of its own, all or nothing, when the update changes exactly
/// `expected` rows: on Postgres the one statement is its own transaction and fails, changing
/// nothing, when the update fell short (its last step divides by zero then); on SQLite the
/// statements run in a write transaction, rolled back then. `false` when it fell short.
pub async fn write_atomically(
    db: &Db,
    inserts: Vec<sea_orm::sea_query::InsertStatement>,
    update: BuildUpdate<'_>,
    expected: u64,
) -> Result<bool, AppError> {
    let backend = db.get_database_backend();
    if backend != DatabaseBackend::Postgres {
        let txn = begin_write(db).await?;
        if write_one_by_one(&txn, inserts, Some(update)).await? == expected {
            txn.commit().await?;
            return Ok(true);
        }
        txn.rollback().await?;
        return Ok(false);
    }
    let (sql, values) = combined(inserts, Some(update), Some(expected));
    match db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
    {
        Ok(_) => Ok(true),
        Err(error) if sqlstate(&error).as_deref() == Some("22012") => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The SQLSTATE of a database error, if the database sent one.
fn sqlstate(error: &sea_orm::DbErr) -> Option<String> {
    match error {
        sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
        | sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|code| code.into_owned()),
        _ => None,
    }
}

async fn write_one_by_one(
    db: &impl ConnectionTrait,
    inserts: Vec<sea_orm::sea_query::InsertStatement>,
    update: Option<BuildUpdate<'_>>,
) -> Result<u64, AppError> {
    let backend = db.get_database_backend();
    for insert in &inserts {
        db.execute(insert).await?;
    }
    let Some(update) = update else {
        return Ok(0);
    };
    let mut values = Vec::new();
    let built = update(backend, &mut |value| {
        values.push(value);
        placeholder(backend, values.len())
    });
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            built.update,
            values,
        ))
        .await?;
    Ok(result.rows_affected())
}

/// The Postgres statement of [`write_together`]: each insert a data-modifying CTE, then the
/// update's CTEs and the update (`counted`), then the count of the rows it changed — or, with
/// `guard`, 1 when it changed exactly that many and a division by zero otherwise.
fn combined(
    inserts: Vec<sea_orm::sea_query::InsertStatement>,
    update: Option<BuildUpdate<'_>>,
    guard: Option<u64>,
) -> (String, Vec<Value>) {
    use sea_orm::sea_query::{PostgresQueryBuilder, SqlWriterValues};
    use std::fmt::Write as _;

    let backend = DatabaseBackend::Postgres;
    let mut writer = SqlWriterValues::new("$", true);
    let _ = write!(writer, "WITH ");
    for (i, insert) in inserts.iter().enumerate() {
        let _ = write!(writer, "{}w{i} AS (", if i == 0 { "" } else { ", " });
        insert.build_collect_any_into(&PostgresQueryBuilder, &mut writer);
        let _ = write!(writer, ")");
    }
    let (mut sql, values) = writer.into_parts();
    let mut values: Vec<Value> = values.0;
    let Some(update) = update else {
        sql.push_str(" SELECT 0::bigint AS n");
        return (sql, values);
    };
    let built = update(backend, &mut |value| {
        values.push(value);
        placeholder(backend, values.len())
    });
    let counted = format!("counted AS ({} RETURNING 1)", built.update);
    for cte in built.ctes.iter().chain([&counted]) {
        if !sql.ends_with("WITH ") {
            sql.push_str(", ");
        }
        sql.push_str(cte);
    }
    match guard {
        Some(expected) => {
            let _ = write!(
                sql,
                " SELECT 1 / ((SELECT count(*) FROM counted) = {expected})::int AS n"
            );
        }
        None => sql.push_str(" SELECT count(*) AS n FROM counted"),
    }
    (sql, values)
}
