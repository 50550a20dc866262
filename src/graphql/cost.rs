//! What a selection costs: the multipliers list fields give the complexity calculation.
//!
//! A field costs 1 plus what its selection costs; a list field multiplies its selection's cost
//! by how many items it can return — `first`/`last` on connections (the default page size when
//! both are absent, the page maximum at most), the preview size for `Supplier.products`, and a
//! stated estimate for lists without paging (order lines, cart items, memberships). So
//! `products(first: 100) { nodes { supplier { products(first: 50) { name } } } }` costs about
//! 100 × 50 × 2, and the maximum (`GRAPHQL_MAX_COST`) bounds what one request can make Iris
//! build, however its selections nest.

use crate::domain::kernel::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// Items assumed in a list without paging whose size the data bounds (an order's lines, a
/// cart's items, an account's memberships, an order's status history).
pub const UNPAGED_LIST: usize = 10;

/// The cost of a Relay connection of at most `max` nodes per page.
pub fn page_up_to(first: Option<i32>, last: Option<i32>, max: u64, child: usize) -> usize {
    let size = first
        .or(last)
        .map_or(DEFAULT_PAGE_SIZE, |n| u64::try_from(n).unwrap_or(0))
        .min(max);
    (size as usize).max(1).saturating_mul(child)
}

/// The cost of a Relay connection of at most [`MAX_PAGE_SIZE`] nodes per page.
pub fn page(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    page_up_to(first, last, MAX_PAGE_SIZE, child)
}

/// The cost of a list of `n` items (a `first: Int` argument with a default).
pub fn list(n: i32, child: usize) -> usize {
    usize::try_from(n).unwrap_or(0).max(1).saturating_mul(child)
}

/// The cost of a list without paging, of about [`UNPAGED_LIST`] items.
pub fn unpaged(child: usize) -> usize {
    UNPAGED_LIST.saturating_mul(child)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_multiply_their_selection() {
        assert_eq!(page(None, None, 3), 60);
        assert_eq!(page(Some(5), None, 3), 15);
        assert_eq!(page(None, Some(7), 2), 14);
        assert_eq!(
            page(Some(10_000), None, 1),
            100,
            "capped at the page maximum"
        );
        assert_eq!(page(Some(-4), None, 3), 3, "never below one item");
        assert_eq!(page_up_to(Some(500), None, 500, 2), 1000);
    }
}
