//! Paging of lists, shared by every context: offset windows for REST, keyset (cursor) pages for
//! GraphQL's Relay connections and REST's `cursor`.
//!
//! A keyset page seeks: a cursor carries the sort key of a row (ending with its id), and the
//! next page starts strictly after that key (`WHERE (key, id) > (…)`), so page 200 costs what
//! page 1 costs and rows inserted between two fetches never shift a page. Cursors are opaque to
//! clients and name the sort order they were issued for; one from another order is refused.

use std::cmp::Ordering;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

/// The largest page any list returns.
pub const MAX_PAGE_SIZE: u64 = 100;
/// The page size when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// The largest `offset` accepted (far beyond any list; keeps SQL parameters in range).
pub const MAX_OFFSET: u64 = 1_000_000_000;
/// The longest cursor accepted, in characters (a sort key is a few short values).
const MAX_CURSOR_LEN: usize = 2048;

/// One value of a row's sort key, as a cursor carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum KeyValue {
    #[serde(rename = "s")]
    Text(String),
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "f")]
    Float(f64),
    #[serde(rename = "t")]
    Time(DateTime<Utc>),
    #[serde(rename = "d")]
    Date(NaiveDate),
    #[serde(rename = "u")]
    Id(Uuid),
}

impl KeyValue {
    /// Orders two values of the same kind; values of different kinds compare equal (a cursor's
    /// kinds are checked against its sort order before any comparison).
    pub fn compare(&self, other: &KeyValue) -> Ordering {
        match (self, other) {
            (KeyValue::Text(a), KeyValue::Text(b)) => a.cmp(b),
            (KeyValue::Int(a), KeyValue::Int(b)) => a.cmp(b),
            (KeyValue::Float(a), KeyValue::Float(b)) => a.total_cmp(b),
            (KeyValue::Time(a), KeyValue::Time(b)) => a.cmp(b),
            (KeyValue::Date(a), KeyValue::Date(b)) => a.cmp(b),
            (KeyValue::Id(a), KeyValue::Id(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }

    pub fn kind(&self) -> KeyKind {
        match self {
            KeyValue::Text(_) => KeyKind::Text,
            KeyValue::Int(_) => KeyKind::Int,
            KeyValue::Float(_) => KeyKind::Float,
            KeyValue::Time(_) => KeyKind::Time,
            KeyValue::Date(_) => KeyKind::Date,
            KeyValue::Id(_) => KeyKind::Id,
        }
    }
}

/// The type of one column of a sort key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Text,
    Int,
    Float,
    Time,
    Date,
    Id,
}

/// Where a row sits in one sort order of one list: the order's name and the row's sort key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "o")]
    pub order: String,
    #[serde(rename = "k")]
    pub key: Vec<KeyValue>,
}

impl Cursor {
    pub fn new(order: &str, key: Vec<KeyValue>) -> Self {
        Cursor {
            order: order.to_owned(),
            key,
        }
    }

    /// The opaque text clients hold.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a cursor this API issued; `field` names the argument in the error.
    pub fn decode(field: &str, text: &str) -> Result<Self, AppError> {
        let refused = || AppError::validation(field, "is not a cursor this API issued");
        if text.len() > MAX_CURSOR_LEN {
            return Err(refused());
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .map_err(|_| refused())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| refused())?;
        if cursor.key.is_empty() {
            return Err(refused());
        }
        Ok(cursor)
    }

    /// Checks that the cursor belongs to `order` and carries a key of these kinds.
    pub fn check(&self, field: &str, order: &str, kinds: &[KeyKind]) -> Result<(), AppError> {
        if self.order != order {
            return Err(AppError::validation(
                field,
                "was issued for another list or sort order",
            ));
        }
        let shaped = self.key.len() == kinds.len()
            && self
                .key
                .iter()
                .zip(kinds)
                .all(|(value, kind)| value.kind() == *kind);
        if !shaped {
            return Err(AppError::validation(
                field,
                "is not a cursor this API issued",
            ));
        }
        Ok(())
    }
}

/// A Relay request, with its cursors decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Keyset {
    pub first: Option<u64>,
    pub after: Option<Cursor>,
    pub last: Option<u64>,
    pub before: Option<Cursor>,
    /// Whether the caller wants the number of matching items (it costs a `COUNT`).
    pub count: bool,
}

impl Keyset {
    /// Reading backwards from `before` (or the end): `last` without `first`.
    pub fn backwards(&self) -> bool {
        self.first.is_none() && self.last.is_some()
    }

    /// How many rows to read (one more tells whether the list goes on).
    pub fn size(&self) -> u64 {
        if self.backwards() {
            self.last.unwrap_or(DEFAULT_PAGE_SIZE)
        } else {
            self.first.unwrap_or(DEFAULT_PAGE_SIZE)
        }
    }
}

/// What part of a list the caller wants.
#[derive(Clone, Debug, PartialEq)]
pub enum PageRequest {
    /// `?limit&offset` (REST); always counted.
    Offset { offset: u64, limit: u64 },
    /// Relay's `first/after/last/before`.
    Keyset(Keyset),
    /// REST's `?cursor&offset&limit`: the items after the item with this id (as the list
    /// sorts), skipping `offset` more; always counted. NOT_FOUND when the item is not in the
    /// list (any more).
    AfterItem { id: Uuid, offset: u64, limit: u64 },
}

impl PageRequest {
    /// Validates sizes; the field names are the API's.
    pub fn offset(offset: Option<u64>, limit: Option<u64>) -> Result<Self, AppError> {
        let limit = Self::limit(limit)?;
        let offset = offset.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(AppError::validation(
                "offset",
                format!("must be between 0 and {MAX_OFFSET}"),
            ));
        }
        Ok(PageRequest::Offset { offset, limit })
    }

    /// REST's `?cursor&offset&limit`: the page after the item `cursor`, counted.
    pub fn after_item(
        cursor: Uuid,
        offset: Option<u64>,
        limit: Option<u64>,
    ) -> Result<Self, AppError> {
        match Self::offset(offset, limit)? {
            PageRequest::Offset { offset, limit } => Ok(PageRequest::AfterItem {
                id: cursor,
                offset,
                limit,
            }),
            other => Ok(other),
        }
    }

    fn limit(limit: Option<u64>) -> Result<u64, AppError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(AppError::validation(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(limit)
    }

    /// Relay's arguments, for a list whose pages may hold up to `max` items.
    pub fn relay_up_to(
        first: Option<i64>,
        after: Option<Cursor>,
        last: Option<i64>,
        before: Option<Cursor>,
        max: u64,
        count: bool,
    ) -> Result<Self, AppError> {
        let size = |field: &str, value: Option<i64>| match value {
            None => Ok(None),
            Some(n) if (0..=max as i64).contains(&n) => Ok(Some(n as u64)),
            Some(_) => Err(AppError::validation(
                field,
                format!("must be between 0 and {max}"),
            )),
        };
        let first = size("first", first)?;
        let last = size("last", last)?;
        // Relay leaves an unbounded request to the server: serve the default page size.
        let first = if first.is_none() && last.is_none() {
            Some(DEFAULT_PAGE_SIZE)
        } else {
            first
        };
        Ok(PageRequest::Keyset(Keyset {
            first,
            after,
            last,
            before,
            count,
        }))
    }

    /// Whether the list's total is wanted.
    pub fn counts(&self) -> bool {
        match self {
            PageRequest::Offset { .. } | PageRequest::AfterItem { .. } => true,
            PageRequest::Keyset(keyset) => keyset.count,
        }
    }
}

/// One page of a list and where it sits in the whole.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Each item's cursor, in the same order.
    pub cursors: Vec<Cursor>,
    /// Items matching the filter, across all pages, when it was asked for.
    pub total: Option<u64>,
    pub has_previous: bool,
    pub has_next: bool,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            cursors: self.cursors,
            total: self.total,
            has_previous: self.has_previous,
            has_next: self.has_next,
        }
    }

    /// The cursor of the last item, where the next page starts.
    pub fn end_cursor(&self) -> Option<&Cursor> {
        self.cursors.last()
    }

    /// The id of the last item (every sort order ends with the id), where REST's next page
    /// starts.
    pub fn end_id(&self) -> Option<Uuid> {
        match self.end_cursor()?.key.last()? {
            KeyValue::Id(id) => Some(*id),
            _ => None,
        }
    }
}

/// Sort direction of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::Asc => Direction::Desc,
            Direction::Desc => Direction::Asc,
        }
    }
}

/// How a page fetched by seeking is trimmed and flagged: `rows` were read in the request's
/// direction (reversed for `last`), one more than the page size when the list goes on.
pub fn finish_keyset<R>(keyset: &Keyset, mut rows: Vec<R>) -> (Vec<R>, bool, bool) {
    let size = keyset.size() as usize;
    let more = rows.len() > size;
    rows.truncate(size);
    if keyset.backwards() {
        rows.reverse();
        (rows, more, keyset.before.is_some())
    } else {
        let mut has_previous = keyset.after.is_some();
        if let Some(last) = keyset.last.map(|l| l as usize)
            && rows.len() > last
        {
            rows.drain(..rows.len() - last);
            has_previous = true;
        }
        (rows, has_previous, more)
    }
}

/// Sorts a list in memory (ranked search results) and pages it as SQL would: `key` gives each
/// item's sort key (computed once) and `cmp` orders two keys.
pub fn page_in_memory<T>(
    items: Vec<T>,
    order: &str,
    page: &PageRequest,
    key: impl Fn(&T) -> Vec<KeyValue>,
    cmp: impl Fn(&[KeyValue], &[KeyValue]) -> Ordering,
) -> Result<Page<T>, AppError> {
    let total = items.len() as u64;
    let mut keyed: Vec<(Vec<KeyValue>, T)> = items.into_iter().map(|t| (key(&t), t)).collect();
    keyed.sort_by(|(a, _), (b, _)| cmp(a, b));
    let (rows, has_previous, has_next) = match page {
        PageRequest::AfterItem { id, offset, limit } => {
            let at = keyed
                .iter()
                .position(|(k, _)| k.last() == Some(&KeyValue::Id(*id)))
                .ok_or_else(|| AppError::not_found("List item (cursor)", id))?;
            let start = (at as u64 + 1 + offset).min(total) as usize;
            let rows: Vec<_> = keyed
                .into_iter()
                .skip(start)
                .take(*limit as usize)
                .collect();
            let end = start + rows.len();
            (rows, true, (end as u64) < total)
        }
        PageRequest::Offset { offset, limit } => {
            let start = (*offset).min(total) as usize;
            let rows: Vec<_> = keyed
                .into_iter()
                .skip(start)
                .take(*limit as usize)
                .collect();
            let end = start + rows.len();
            (rows, start > 0, (end as u64) < total)
        }
        PageRequest::Keyset(keyset) => {
            let Some(kinds) = keyed
                .first()
                .map(|(k, _)| k.iter().map(KeyValue::kind).collect::<Vec<_>>())
            else {
                return Ok(Page {
                    items: Vec::new(),
                    cursors: Vec::new(),
                    total: keyset.count.then_some(0),
                    has_previous: false,
                    has_next: false,
                });
            };
            for (field, cursor) in [("after", &keyset.after), ("before", &keyset.before)] {
                if let Some(cursor) = cursor {
                    cursor.check(field, order, &kinds)?;
                }
            }
            let mut window: Vec<_> = keyed
                .into_iter()
                .filter(|(k, _)| {
                    keyset
                        .after
                        .as_ref()
                        .is_none_or(|c| cmp(k, &c.key) == Ordering::Greater)
                        && keyset
                            .before
                            .as_ref()
                            .is_none_or(|c| cmp(k, &c.key) == Ordering::Less)
                })
                .collect();
            let read = keyset.size() as usize + 1;
            if keyset.backwards() {
                let skip = window.len().saturating_sub(read);
                window.drain(..skip);
                window.reverse();
            } else {
                window.truncate(read);
            }
            finish_keyset(keyset, window)
        }
    };
    let (cursors, items) = rows
        .into_iter()
        .map(|(k, t)| (Cursor::new(order, k), t))
        .unzip();
    Ok(Page {
        items,
        cursors,
        total: page.counts().then_some(total),
        has_previous,
        has_next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = "numbers.value.asc";

    fn key(n: &i64) -> Vec<KeyValue> {
        vec![KeyValue::Int(*n)]
    }

    fn cursor(n: i64) -> Cursor {
        Cursor::new(ORDER, key(&n))
    }

    /// Items 0..10, as Relay's algorithm pages them.
    fn relay(
        first: Option<i64>,
        after: Option<i64>,
        last: Option<i64>,
        before: Option<i64>,
    ) -> (Vec<i64>, bool, bool) {
        let request = PageRequest::relay_up_to(
            first,
            after.map(cursor),
            last,
            before.map(cursor),
            MAX_PAGE_SIZE,
            false,
        )
        .unwrap();
        let page = page_in_memory((0..10).collect(), ORDER, &request, key, |a, b| {
            a[0].compare(&b[0])
        })
        .unwrap();
        assert_eq!(page.total, None, "not counted unless asked");
        (page.items, page.has_previous, page.has_next)
    }

    #[test]
    fn keyset_pages_follow_the_relay_specification() {
        assert_eq!(
            relay(Some(3), None, None, None),
            (vec![0, 1, 2], false, true)
        );
        assert_eq!(
            relay(Some(3), Some(2), None, None),
            (vec![3, 4, 5], true, true)
        );
        assert_eq!(
            relay(Some(5), Some(7), None, None),
            (vec![8, 9], true, false)
        );
        assert_eq!(
            relay(None, None, Some(3), None),
            (vec![7, 8, 9], true, false)
        );
        assert_eq!(
            relay(None, None, Some(3), Some(5)),
            (vec![2, 3, 4], true, true)
        );
        assert_eq!(
            relay(None, None, Some(3), Some(2)),
            (vec![0, 1], false, true)
        );
        assert_eq!(
            relay(Some(2), Some(1), None, Some(3)),
            (vec![2], true, false)
        );
        assert_eq!(relay(Some(3), Some(20), None, None), (vec![], true, false));
        assert_eq!(relay(Some(0), None, None, None), (vec![], false, true));
        assert_eq!(
            relay(Some(5), None, Some(2), None),
            (vec![3, 4], true, true)
        );
        assert_eq!(
            relay(None, None, None, None),
            ((0..10).collect(), false, false)
        );
    }

    #[test]
    fn a_cursor_seeks_past_a_row_that_is_gone() {
        // Cursor of 4, but 4 was deleted: the next page still starts at 5.
        let list: Vec<i64> = vec![0, 1, 2, 3, 5, 6];
        let request =
            PageRequest::relay_up_to(Some(2), Some(cursor(4)), None, None, 100, true).unwrap();
        let page = page_in_memory(list, ORDER, &request, key, |a, b| a[0].compare(&b[0])).unwrap();
        assert_eq!(page.items, vec![5, 6]);
        assert_eq!(page.total, Some(6));
    }

    #[test]
    fn cursors_round_trip_and_foreign_or_tampered_ones_are_refused() {
        let issued = Cursor::new(
            "orders.createdAt.desc",
            vec![
                KeyValue::Time(DateTime::from_timestamp(1_700_000_000, 5_000).unwrap()),
                KeyValue::Id(Uuid::now_v7()),
            ],
        );
        let decoded = Cursor::decode("after", &issued.encode()).unwrap();
        assert_eq!(decoded, issued);
        let kinds = [KeyKind::Time, KeyKind::Id];
        decoded
            .check("after", "orders.createdAt.desc", &kinds)
            .unwrap();

        let err = Cursor::decode("after", "b2Zmc2V0OjQx").unwrap_err();
        assert_eq!(err.message(), "after: is not a cursor this API issued");
        let mut tampered = issued.encode();
        tampered.insert(5, 'x');
        assert!(Cursor::decode("before", &tampered).is_err());

        let err = decoded
            .check("after", "orders.total.desc", &kinds)
            .unwrap_err();
        assert_eq!(
            err.message(),
            "after: was issued for another list or sort order"
        );
        let wrong_kinds = Cursor::new(
            "orders.createdAt.desc",
            vec![KeyValue::Text("x".into()), KeyValue::Id(Uuid::nil())],
        );
        let err = wrong_kinds
            .check("after", "orders.createdAt.desc", &kinds)
            .unwrap_err();
        assert_eq!(err.message(), "after: is not a cursor this API issued");
    }

    #[test]
    fn oversized_pages_name_the_argument() {
        let err = PageRequest::relay_up_to(Some(101), None, None, None, MAX_PAGE_SIZE, false)
            .unwrap_err();
        assert_eq!(err.message(), "first: must be between 0 and 100");
        let err = PageRequest::offset(None, Some(0)).unwrap_err();
        assert_eq!(err.message(), "limit: must be between 1 and 100");
    }
}
