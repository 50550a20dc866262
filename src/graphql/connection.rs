//! Relay connections for every list: opaque cursors, `pageInfo`, `totalCount`.
//!
//! Cursors encode the position in the sorted, filtered list (`base64url("v1:<offset>")`);
//! clients must treat them as opaque. Windowing follows the Relay specification's algorithm,
//! implemented once in `domain::kernel::pagination`.

use async_graphql::{
    OutputType, SimpleObject,
    connection::{Connection, Edge, EmptyFields},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::domain::kernel::pagination::MAX_PAGE_SIZE;
use crate::{
    domain::kernel::pagination::{Page, PageRequest},
    error::AppError,
};

/// Fields every connection has beside `edges` and `pageInfo`.
#[derive(SimpleObject)]
pub struct ConnectionTotals {
    /// Number of items matching the filter, across all pages.
    pub total_count: u64,
}

pub type RelayConnection<N> = Connection<String, N, ConnectionTotals, EmptyFields>;

fn encode_cursor(offset: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{offset}"))
}

fn decode_cursor(field: &str, cursor: Option<String>) -> Result<Option<u64>, AppError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("v1:")?.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| AppError::validation(field, "is not a cursor this API issued"))
}

/// The Relay arguments of a connection field, validated.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<PageRequest, AppError> {
    page_request_up_to(first, after, last, before, MAX_PAGE_SIZE)
}

/// As [`page_request`], for a connection whose pages may hold up to `max` nodes.
pub fn page_request_up_to(
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
    )
}

/// Builds the connection for one page, mapping each item to its node type.
pub fn connection<T, N: OutputType>(page: Page<T>, node: impl Fn(T) -> N) -> RelayConnection<N> {
    let mut connection = Connection::with_additional_fields(
        page.has_previous(),
        page.has_next(),
        ConnectionTotals {
            total_count: page.total,
        },
    );
    let offset = page.offset;
    connection.edges.extend(
        page.items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Edge::new(encode_cursor(offset + i as u64), node(item))),
    );
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let cursor = encode_cursor(41);
        assert_eq!(decode_cursor("after", Some(cursor)).unwrap(), Some(41));
        let err = decode_cursor("after", Some("b2Zmc2V0OjQx".into())).unwrap_err();
        assert_eq!(err.message(), "after: is not a cursor this API issued");
    }
}
