//! Relay connections for every list: opaque keyset cursors, `pageInfo`, `totalCount`.
//!
//! A cursor carries its row's sort key (see `domain::kernel::pagination`); `after`/`before`
//! seek from it, so every page costs what the first costs. `totalCount` is counted only when
//! the selection asks for it.

use async_graphql::{
    Context, OutputType, SimpleObject,
    connection::{Connection, Edge, EmptyFields},
};

use crate::domain::kernel::pagination::MAX_PAGE_SIZE;
use crate::{
    domain::kernel::pagination::{Cursor, Page, PageRequest},
    error::AppError,
};

/// Fields every connection has beside `edges` and `pageInfo`.
#[derive(SimpleObject)]
pub struct ConnectionTotals {
    /// Number of items matching the filter, across all pages.
    pub total_count: u64,
}

pub type RelayConnection<N> = Connection<String, N, ConnectionTotals, EmptyFields>;

fn decode_cursor(field: &str, cursor: Option<String>) -> Result<Option<Cursor>, AppError> {
    cursor
        .map(|cursor| Cursor::decode(field, &cursor))
        .transpose()
}

/// The Relay arguments of the connection field being resolved, validated; the total is
/// counted only if the selection asks for `totalCount`.
pub fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<PageRequest, AppError> {
    page_request_up_to(ctx, first, after, last, before, MAX_PAGE_SIZE)
}

/// As [`page_request`], for a connection whose pages may hold up to `max` nodes.
pub fn page_request_up_to(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
    max: u64,
) -> Result<PageRequest, AppError> {
    PageRequest::relay_up_to(
        first.map(i64::from),
        decode_cursor("after", after)?,
        last.map(i64::from),
        decode_cursor("before", before)?,
        max,
        ctx.look_ahead().field("totalCount").exists(),
    )
}

/// Builds the connection for one page, mapping each item to its node type.
pub fn connection<T, N: OutputType>(page: Page<T>, node: impl Fn(T) -> N) -> RelayConnection<N> {
    let mut connection = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        ConnectionTotals {
            // Not selected when not counted.
            total_count: page.total.unwrap_or_default(),
        },
    );
    connection.edges.extend(
        page.items
            .into_iter()
            .zip(page.cursors)
            .map(|(item, cursor)| Edge::new(cursor.encode(), node(item))),
    );
    connection
}
