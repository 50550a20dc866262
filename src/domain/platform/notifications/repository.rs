//! Storage of notifications: writing them for a set of accounts, reading an account's, marking
//! them read. To address and word them it also reads other contexts' tables, directly and
//! read-only: the membership tables (identity) for who belongs to an organisation, `accounts`
//! for who has an invited address, and
//! `suppliers` / `restaurants` for an organisation's name, deleted or not — the contexts export
//! no such queries yet.

use chrono::{DateTime, Utc};
use entity::{
    accounts,
    notifications::{self, Column, Entity},
    restaurant_members, restaurants, supplier_members, suppliers,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::Expr,
};
use uuid::Uuid;

use super::Notification;
use crate::{
    auth::MemberRole,
    domain::{
        identity::Organisation,
        kernel::pagination::{Direction, Page, PageRequest},
        repository::{SortOrder, fetch_page},
    },
    error::AppError,
};

fn to_domain(m: notifications::Model) -> Notification {
    Notification {
        id: m.id,
        account_id: m.account_id,
        kind: m.kind,
        title: m.title,
        body: m.body,
        data: m.data,
        created_at: m.created_at,
        read_at: m.read_at,
    }
}

/// The accounts that are members of `organisation` (only its OWNERs with `owners_only`).
/// Reads identity's membership tables.
pub(super) async fn member_accounts(
    db: &impl ConnectionTrait,
    organisation: Organisation,
    owners_only: bool,
) -> Result<Vec<Uuid>, AppError> {
    let owner = MemberRole::Owner.as_str();
    Ok(match organisation {
        Organisation::Supplier(id) => supplier_members::Entity::find()
            .filter(supplier_members::Column::SupplierId.eq(id))
            .all(db)
            .await?
            .into_iter()
            .filter(|m| !owners_only || m.role == owner)
            .map(|m| m.account_id)
            .collect(),
        Organisation::Restaurant(id) => restaurant_members::Entity::find()
            .filter(restaurant_members::Column::RestaurantId.eq(id))
            .all(db)
            .await?
            .into_iter()
            .filter(|m| !owners_only || m.role == owner)
            .map(|m| m.account_id)
            .collect(),
    })
}

/// Every live admin account. Reads identity's accounts.
pub(super) async fn admin_accounts(db: &impl ConnectionTrait) -> Result<Vec<Uuid>, AppError> {
    Ok(accounts::Entity::find()
        .filter(accounts::Column::Role.eq(crate::auth::Role::Admin.as_str()))
        .filter(accounts::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect())
}

/// The live account with this e-mail (case-insensitive), if any. Reads identity's accounts.
pub(super) async fn live_account_with_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<Uuid>, AppError> {
    Ok(accounts::Entity::find()
        .filter(accounts::Column::EmailFolded.eq(email.to_ascii_lowercase()))
        .filter(accounts::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(|a| a.id))
}

/// The name of a supplier or restaurant, deleted or not; `None` when there is no such row.
/// Reads the suppliers' and restaurants' tables.
pub(super) async fn organisation_name(
    db: &impl ConnectionTrait,
    organisation: Organisation,
) -> Result<Option<String>, AppError> {
    Ok(match organisation {
        Organisation::Supplier(id) => suppliers::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|s| s.name),
        Organisation::Restaurant(id) => restaurants::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|r| r.name),
    })
}

/// Inserts new notifications, each caused by `source_event` when given. Does nothing for none.
pub(super) async fn insert_all(
    db: &impl ConnectionTrait,
    rows: Vec<Notification>,
    source_event: Option<Uuid>,
) -> Result<(), AppError> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows = rows.into_iter().map(|n| notifications::ActiveModel {
        id: Set(n.id),
        account_id: Set(n.account_id),
        kind: Set(n.kind),
        title: Set(n.title),
        body: Set(n.body),
        data: Set(n.data),
        source_event_id: Set(source_event),
        created_at: Set(n.created_at),
        read_at: Set(n.read_at),
    });
    Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// An account's notifications (only unread ones with `unread_only`), newest first.
pub(super) async fn list_for_account(
    db: &impl ConnectionTrait,
    account: Uuid,
    unread_only: bool,
    page: &PageRequest,
) -> Result<Page<Notification>, AppError> {
    let mut select = Entity::find().filter(Column::AccountId.eq(account));
    if unread_only {
        select = select.filter(Column::ReadAt.is_null());
    }
    let newest_first =
        SortOrder::<notifications::Model>::new("notifications.createdAt", Direction::Desc)
            .time(Column::CreatedAt, |n| n.created_at)
            .id(Column::Id, |n| n.id);
    fetch_page(db, select, page, newest_first, to_domain).await
}

/// How many of an account's notifications are unread.
pub(super) async fn count_unread(
    db: &impl ConnectionTrait,
    account: Uuid,
) -> Result<u64, AppError> {
    Ok(Entity::find()
        .filter(Column::AccountId.eq(account))
        .filter(Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// Marks an account's unread notifications read at `at`: those among `ids`, or all with `None`.
/// Other accounts' ids match nothing. Returns how many changed.
pub(super) async fn mark_read(
    db: &impl ConnectionTrait,
    account: Uuid,
    ids: Option<Vec<Uuid>>,
    at: DateTime<Utc>,
) -> Result<u64, AppError> {
    let mut update = Entity::update_many()
        .col_expr(Column::ReadAt, Expr::value(at))
        .filter(Column::AccountId.eq(account))
        .filter(Column::ReadAt.is_null());
    if let Some(ids) = ids {
        update = update.filter(Column::Id.is_in(ids));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// The notifications with these ids.
pub(super) async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Notification>, AppError> {
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect())
}

/// The notifications an outbox event caused.
pub(super) async fn find_by_source_event(
    db: &impl ConnectionTrait,
    event: Uuid,
) -> Result<Vec<Notification>, AppError> {
    Ok(Entity::find()
        .filter(Column::SourceEventId.eq(event))
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect())
}
