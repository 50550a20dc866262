//! Storage of suppliers: SeaORM queries and the conversions at the storage edge (money in
//! thousandths, weekday bitmask, case-folded search columns). Hides soft-deleted rows.

use chrono::{DateTime, Utc};
use entity::suppliers::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, LikeExpr},
};
use uuid::Uuid;

use super::{Supplier, SupplierFilter, SupplierSort, SupplierSortField, ValidChanges};
use crate::{
    domain::{
        kernel::{
            money::{self, Currency, Money},
            pagination::{Page, PageRequest},
            weekday::WeekdaySet,
        },
        repository::{SortOrder, fetch_page},
    },
    error::{AppError, DbResultExt},
    infra::db::text_order,
};

fn to_domain(model: suppliers::Model) -> Supplier {
    // Stored values were validated on the way in; an unknown currency can only come from a
    // manual edit and is shown as stored rather than failing the read.
    let currency = Currency::from_stored(&model.currency);
    Supplier {
        id: model.id,
        name: model.name,
        organisation_number: model.organisation_number,
        contact_email: model.contact_email,
        city: model.city,
        minimum_order_value: Money {
            amount: money::from_milli(model.minimum_order_value_milli),
            currency: currency.clone(),
        },
        currency,
        delivery_days: WeekdaySet::from_mask(model.delivery_days),
        active: model.active,
        location: crate::domain::kernel::geo::Location::of_stored(
            model.latitude_e6,
            model.longitude_e6,
        ),
        created_at: model.created_at,
        updated_at: model.updated_at,
        deleted_at: model.deleted_at,
    }
}

/// Case folding used for the `*_folded` columns and for filter input alike.
fn fold(text: &str) -> String {
    text.to_lowercase()
}

fn organisation_number_taken(number: &str) -> AppError {
    AppError::Conflict(format!(
        "organisationNumber: a supplier with organisation number {number} already exists"
    ))
}

pub(super) async fn insert(
    db: &impl ConnectionTrait,
    id: Uuid,
    fields: ValidChanges,
    now: DateTime<Utc>,
) -> Result<Supplier, AppError> {
    let (Some(name), Some(number), Some(email), Some(city)) = (
        fields.name,
        fields.organisation_number,
        fields.contact_email,
        fields.city,
    ) else {
        return Err(anyhow::anyhow!("insert called without the required supplier fields").into());
    };
    let model = suppliers::ActiveModel {
        id: Set(id),
        name_folded: Set(fold(&name)),
        name: Set(name),
        organisation_number: Set(number.clone()),
        contact_email: Set(email),
        city_folded: Set(fold(&city)),
        city: Set(city),
        currency: Set(fields.currency.unwrap_or_default().as_str().to_owned()),
        minimum_order_value_milli: Set(fields.minimum_order_value_milli.unwrap_or(0)),
        delivery_days: Set(fields.delivery_days.unwrap_or_default().mask()),
        active: Set(fields.active.unwrap_or(true)),
        latitude_e6: Set(None),
        longitude_e6: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    Entity::insert(model)
        .exec_without_returning(db)
        .await
        .on_unique_violation(|| organisation_number_taken(&number))?;
    find_live(db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("inserted supplier {id} vanished").into())
}

pub(super) async fn find_live(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Supplier>, AppError> {
    Ok(Entity::find_by_id(id)
        .filter(Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(to_domain))
}

/// Writes the given fields of a live supplier; `false` when there is none.
pub(super) async fn update(
    db: &impl ConnectionTrait,
    id: Uuid,
    fields: ValidChanges,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let mut update = Entity::update_many()
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::DeletedAt.is_null());
    if let Some(name) = fields.name {
        update = update
            .col_expr(Column::NameFolded, Expr::value(fold(&name)))
            .col_expr(Column::Name, Expr::value(name));
    }
    let number = fields.organisation_number.clone();
    if let Some(number) = fields.organisation_number {
        update = update.col_expr(Column::OrganisationNumber, Expr::value(number));
    }
    if let Some(email) = fields.contact_email {
        update = update.col_expr(Column::ContactEmail, Expr::value(email));
    }
    if let Some(city) = fields.city {
        update = update
            .col_expr(Column::CityFolded, Expr::value(fold(&city)))
            .col_expr(Column::City, Expr::value(city));
    }
    if let Some(currency) = fields.currency {
        update = update.col_expr(Column::Currency, Expr::value(currency.as_str()));
    }
    if let Some(milli) = fields.minimum_order_value_milli {
        update = update.col_expr(Column::MinimumOrderValueMilli, Expr::value(milli));
    }
    if let Some(days) = fields.delivery_days {
        update = update.col_expr(Column::DeliveryDays, Expr::value(days.mask()));
    }
    if let Some(active) = fields.active {
        update = update.col_expr(Column::Active, Expr::value(active));
    }
    let result = update
        .exec(db)
        .await
        .on_unique_violation(|| organisation_number_taken(number.as_deref().unwrap_or("")))?;
    Ok(result.rows_affected == 1)
}

/// Marks a live supplier deleted; `false` when there is none.
pub(super) async fn soft_delete(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let result = Entity::update_many()
        .col_expr(Column::DeletedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub(super) async fn find_deleted(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Supplier>, AppError> {
    Ok(Entity::find_by_id(id)
        .filter(Column::DeletedAt.is_not_null())
        .one(db)
        .await?
        .map(to_domain))
}

/// `%` and `_` in user input match themselves, not any text.
fn contains_pattern(text: &str) -> LikeExpr {
    let escaped = fold(text)
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

pub(super) async fn list(
    db: &impl ConnectionTrait,
    filter: &SupplierFilter,
    sort: SupplierSort,
    page: &PageRequest,
) -> Result<Page<Supplier>, AppError> {
    let mut query = Entity::find().filter(Column::DeletedAt.is_null());
    if let Some(name) = filter
        .name_contains
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        query = query.filter(Column::NameFolded.like(contains_pattern(name.trim())));
    }
    if let Some(city) = filter.city.as_deref().filter(|c| !c.trim().is_empty()) {
        query = query.filter(Column::CityFolded.eq(fold(city.trim())));
    }
    if let Some(active) = filter.active {
        query = query.filter(Column::Active.eq(active));
    }

    let backend = db.get_database_backend();
    let by = match sort.field {
        SupplierSortField::Name => {
            SortOrder::<entity::suppliers::Model>::new("suppliers.name", sort.direction)
                .text(text_order(backend, "name_folded"), |s| &s.name_folded)
        }
        SupplierSortField::City => {
            SortOrder::<entity::suppliers::Model>::new("suppliers.city", sort.direction)
                .text(text_order(backend, "city_folded"), |s| &s.city_folded)
                .text(text_order(backend, "name_folded"), |s| &s.name_folded)
        }
        SupplierSortField::CreatedAt => {
            SortOrder::<entity::suppliers::Model>::new("suppliers.createdAt", sort.direction)
                .time(Column::CreatedAt, |s| s.created_at)
        }
    };
    // The id breaks ties, so pages never overlap or skip.
    fetch_page(db, query, page, by.id(Column::Id, |s| s.id), to_domain).await
}

pub(super) async fn any_exist(db: &impl ConnectionTrait) -> Result<bool, AppError> {
    Ok(Entity::find().limit(1).one(db).await?.is_some())
}

/// Suppliers by id, deleted ones included (documents of past orders name them).
pub(crate) async fn find_many_including_deleted(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Supplier>, AppError> {
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect())
}

pub(crate) async fn find_many_live(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Supplier>, AppError> {
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.to_vec()))
        .filter(Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect())
}

/// Takes the row's write lock (a no-op update) so it can be read and changed without a
/// concurrent writer in between. `false` when there is no live supplier.
pub(super) async fn lock_live(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, AppError> {
    let result = Entity::update_many()
        .col_expr(Column::UpdatedAt, Expr::col(Column::UpdatedAt))
        .filter(Column::Id.eq(id))
        .filter(Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Sets (or, with `None`, clears) where it is; `false` when there is no such live row.
pub(super) async fn set_location(
    db: &impl ConnectionTrait,
    id: Uuid,
    location: Option<crate::domain::kernel::geo::Location>,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    use sea_orm::sea_query::Expr;
    let result = suppliers::Entity::update_many()
        .col_expr(
            suppliers::Column::LatitudeE6,
            Expr::value(location.map(|l| l.latitude_e6)),
        )
        .col_expr(
            suppliers::Column::LongitudeE6,
            Expr::value(location.map(|l| l.longitude_e6)),
        )
        .col_expr(suppliers::Column::UpdatedAt, Expr::value(now))
        .filter(suppliers::Column::Id.eq(id))
        .filter(suppliers::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
