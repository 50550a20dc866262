//! Storage of restaurants: SeaORM queries and the conversions at the storage edge (delivery
//! preferences as JSON, case-folded search columns). Hides deleted rows where the function's
//! name says "live".

use chrono::{DateTime, Utc};
use entity::restaurants::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::{Expr, ExprTrait as _},
};
use serde_json::json;
use uuid::Uuid;

use super::{DeliveryPrefs, Restaurant, RestaurantFilter};
use crate::{
    domain::{
        kernel::pagination::{Direction, Page, PageRequest},
        repository::{SortOrder, fetch_page},
    },
    error::AppError,
    infra::db::text_order,
};

fn to_domain(m: restaurants::Model) -> Restaurant {
    Restaurant {
        id: m.id,
        name: m.name,
        contact_email: m.contact_email,
        city: m.city,
        delivery_prefs: serde_json::from_value(m.delivery_prefs).unwrap_or_default(),
        active: m.active,
        location: crate::domain::kernel::geo::Location::of_stored(m.latitude_e6, m.longitude_e6),
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Inserts a new, active restaurant (its fields validated).
pub(super) async fn insert(
    db: &impl ConnectionTrait,
    id: Uuid,
    name: String,
    contact_email: String,
    city: String,
    delivery_prefs: &DeliveryPrefs,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    Entity::insert(restaurants::ActiveModel {
        id: Set(id),
        name_folded: Set(name.to_lowercase()),
        name: Set(name),
        contact_email: Set(contact_email),
        city_folded: Set(city.to_lowercase()),
        city: Set(city),
        delivery_prefs: Set(json!(delivery_prefs)),
        active: Set(true),
        latitude_e6: Set(None),
        longitude_e6: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The restaurant with this id, deleted or not (documents of past orders name it).
pub(crate) async fn find_including_deleted(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Restaurant>, AppError> {
    Ok(Entity::find_by_id(id).one(db).await?.map(to_domain))
}

/// The restaurant with this id unless it is deleted (active or not).
pub(crate) async fn find_live(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Restaurant>, AppError> {
    Ok(Entity::find_by_id(id)
        .filter(Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(to_domain))
}

/// Live restaurants matching the filter, by name. A blank filter field matches all; `%` and
/// `_` in the name match themselves.
pub(super) async fn list_live(
    db: &impl ConnectionTrait,
    filter: &RestaurantFilter,
    page: &PageRequest,
) -> Result<Page<Restaurant>, AppError> {
    let mut select = Entity::find().filter(Column::DeletedAt.is_null());
    if let Some(name) = filter
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let escaped = name
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        select = select.filter(
            Expr::col(Column::NameFolded)
                .like(sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
    }
    if let Some(city) = filter
        .city
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        select = select.filter(Column::CityFolded.eq(city.to_lowercase()));
    }
    let by = SortOrder::<restaurants::Model>::new("restaurants.name", Direction::Asc)
        .text(text_order(db.get_database_backend(), "name_folded"), |r| {
            &r.name_folded
        })
        .id(Column::Id, |r| r.id);
    fetch_page(db, select, page, by, to_domain).await
}

/// Whether any restaurant row exists, deleted or not.
pub(super) async fn any_exist(db: &impl ConnectionTrait) -> Result<bool, AppError> {
    Ok(Entity::find().one(db).await?.is_some())
}

/// How many restaurants are live.
pub(super) async fn count_live(db: &impl ConnectionTrait) -> Result<u64, AppError> {
    Ok(Entity::find()
        .filter(Column::DeletedAt.is_null())
        .count(db)
        .await?)
}

/// Live restaurants by id.
pub(crate) async fn find_many_live(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Restaurant>, AppError> {
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.to_vec()))
        .filter(Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect())
}

/// Sets (or, with `None`, clears) where it is; `false` when there is no such live row.
pub(super) async fn set_location(
    db: &impl ConnectionTrait,
    id: Uuid,
    location: Option<crate::domain::kernel::geo::Location>,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    use sea_orm::sea_query::Expr;
    let result = restaurants::Entity::update_many()
        .col_expr(
            restaurants::Column::LatitudeE6,
            Expr::value(location.map(|l| l.latitude_e6)),
        )
        .col_expr(
            restaurants::Column::LongitudeE6,
            Expr::value(location.map(|l| l.longitude_e6)),
        )
        .col_expr(restaurants::Column::UpdatedAt, Expr::value(now))
        .filter(restaurants::Column::Id.eq(id))
        .filter(restaurants::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
