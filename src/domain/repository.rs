//! What every repository shares: one way to page a query, and the sort direction in SQL.

use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QuerySelect, Select};

use crate::{
    domain::kernel::pagination::{Direction, Page, PageRequest},
    error::AppError,
};

/// Counts `select`, then fetches the requested window of it, sorted by `order` (which should
/// end with a unique column so pages never overlap), each row mapped by `map`.
pub async fn fetch_page<E, T>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    page: PageRequest,
    order: impl FnOnce(Select<E>) -> Select<E>,
    map: impl Fn(E::Model) -> T,
) -> Result<Page<T>, AppError>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    let total = select.clone().count(db).await?;
    let window = page.window(total);
    let items = if window.limit == 0 {
        Vec::new()
    } else {
        order(select)
            .offset(window.offset)
            .limit(window.limit)
            .all(db)
            .await?
            .into_iter()
            .map(map)
            .collect()
    };
    Ok(Page {
        items,
        total,
        offset: window.offset,
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
