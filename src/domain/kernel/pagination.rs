//! Paging of lists, shared by every context: offset windows for REST, Relay windows for GraphQL.

use crate::error::AppError;

/// The largest page any list returns.
pub const MAX_PAGE_SIZE: u64 = 100;
/// The page size when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// The largest `offset` accepted (far beyond any list; keeps SQL parameters in range).
pub const MAX_OFFSET: u64 = 1_000_000_000;

/// What part of a list the caller wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageRequest {
    /// `?limit&offset` (REST).
    Offset { offset: u64, limit: u64 },
    /// Relay's `first/after/last/before`, with the cursors already decoded to offsets.
    Relay {
        first: Option<u64>,
        after: Option<u64>,
        last: Option<u64>,
        before: Option<u64>,
    },
}

/// A contiguous slice `[offset, offset + limit)` of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub offset: u64,
    pub limit: u64,
}

impl PageRequest {
    /// Validates sizes; the field names are the API's.
    pub fn offset(offset: Option<u64>, limit: Option<u64>) -> Result<Self, AppError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(AppError::validation(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let offset = offset.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(AppError::validation(
                "offset",
                format!("must be between 0 and {MAX_OFFSET}"),
            ));
        }
        Ok(PageRequest::Offset { offset, limit })
    }

    pub fn relay(
        first: Option<i64>,
        after: Option<u64>,
        last: Option<i64>,
        before: Option<u64>,
    ) -> Result<Self, AppError> {
        Self::relay_up_to(first, after, last, before, MAX_PAGE_SIZE)
    }

    /// As [`PageRequest::relay`], for a list whose pages may hold up to `max` items.
    pub fn relay_up_to(
        first: Option<i64>,
        after: Option<u64>,
        last: Option<i64>,
        before: Option<u64>,
        max: u64,
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
        Ok(PageRequest::Relay {
            first,
            after,
            last,
            before,
        })
    }

    /// The slice to fetch from a list of `total` items (Relay's pagination algorithm).
    pub fn window(&self, total: u64) -> Window {
        match *self {
            PageRequest::Offset { offset, limit } => Window { offset, limit },
            PageRequest::Relay {
                first,
                after,
                last,
                before,
            } => {
                let mut start = after.map_or(0, |a| a.saturating_add(1)).min(total);
                let mut end = before.map_or(total, |b| b.min(total)).max(start);
                if let Some(first) = first {
                    end = end.min(start + first);
                }
                if let Some(last) = last {
                    start = start.max(end.saturating_sub(last));
                }
                Window {
                    offset: start,
                    limit: end - start,
                }
            }
        }
    }
}

/// One page of a list and where it sits in the whole.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Items matching the filter, across all pages.
    pub total: u64,
    /// Position of `items[0]` in the whole list.
    pub offset: u64,
}

impl<T> Page<T> {
    pub fn has_previous(&self) -> bool {
        self.offset > 0
    }

    pub fn has_next(&self) -> bool {
        self.offset + (self.items.len() as u64) < self.total
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            offset: self.offset,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(
        first: Option<i64>,
        after: Option<u64>,
        last: Option<i64>,
        before: Option<u64>,
    ) -> Window {
        PageRequest::relay(first, after, last, before)
            .unwrap()
            .window(10)
    }

    #[test]
    fn relay_windows_follow_the_specification() {
        assert_eq!(
            relay(Some(3), None, None, None),
            Window {
                offset: 0,
                limit: 3
            }
        );
        assert_eq!(
            relay(Some(3), Some(2), None, None),
            Window {
                offset: 3,
                limit: 3
            }
        );
        assert_eq!(
            relay(Some(5), Some(7), None, None),
            Window {
                offset: 8,
                limit: 2
            }
        );
        assert_eq!(
            relay(None, None, Some(3), None),
            Window {
                offset: 7,
                limit: 3
            }
        );
        assert_eq!(
            relay(None, None, Some(3), Some(5)),
            Window {
                offset: 2,
                limit: 3
            }
        );
        assert_eq!(
            relay(Some(2), Some(1), None, Some(3)),
            Window {
                offset: 2,
                limit: 1
            }
        );
        assert_eq!(
            relay(Some(3), Some(20), None, None),
            Window {
                offset: 10,
                limit: 0
            }
        );
        assert_eq!(
            relay(None, None, None, None),
            Window {
                offset: 0,
                limit: 10
            }
        );
    }

    #[test]
    fn oversized_pages_name_the_argument() {
        let err = PageRequest::relay(Some(101), None, None, None).unwrap_err();
        assert_eq!(err.message(), "first: must be between 0 and 100");
        let err = PageRequest::offset(None, Some(0)).unwrap_err();
        assert_eq!(err.message(), "limit: must be between 1 and 100");
    }
}
