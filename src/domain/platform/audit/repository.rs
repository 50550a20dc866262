//! Storage of the audit log: appending an entry and reading entries back for admins. Entries are
//! never changed here; privacy's retention purges old ones (see `platform::privacy`).

use entity::audit_log::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait,
    sea_query::InsertStatement,
};

use super::{AuditFilter, AuditRecord};
use crate::{
    domain::{
        kernel::pagination::{Direction, Page, PageRequest},
        repository::{SortOrder, fetch_page},
    },
    error::AppError,
};

fn to_domain(m: audit_log::Model) -> AuditRecord {
    AuditRecord {
        id: m.id,
        at: m.at,
        actor_id: m.actor_id,
        actor_role: m.actor_role,
        action: m.action,
        entity: m.entity,
        entity_id: m.entity_id,
        before: m.before,
        after: m.after,
        request_id: m.request_id,
        ip: m.ip,
        user_agent: m.user_agent,
    }
}

/// Appends one entry.
pub(super) async fn insert(db: &impl ConnectionTrait, record: AuditRecord) -> Result<(), AppError> {
    db.execute(&insert_statement(record)).await?;
    Ok(())
}

/// The statement writing one entry, for a caller that sends it with others.
pub(super) fn insert_statement(record: AuditRecord) -> InsertStatement {
    Entity::insert(audit_log::ActiveModel {
        id: Set(record.id),
        at: Set(record.at),
        actor_id: Set(record.actor_id),
        actor_role: Set(record.actor_role),
        action: Set(record.action),
        entity: Set(record.entity),
        entity_id: Set(record.entity_id),
        before: Set(record.before),
        after: Set(record.after),
        request_id: Set(record.request_id),
        ip: Set(record.ip),
        user_agent: Set(record.user_agent),
    })
    .into_query()
}

/// Entries matching the filter, newest first (`from` inclusive, `to` exclusive).
pub(super) async fn list(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditRecord>, AppError> {
    let mut query = Entity::find();
    if let Some(actor) = filter.actor_id {
        query = query.filter(Column::ActorId.eq(actor));
    }
    if let Some(entity) = &filter.entity {
        query = query.filter(Column::Entity.eq(entity.as_str()));
    }
    if let Some(entity_id) = &filter.entity_id {
        query = query.filter(Column::EntityId.eq(entity_id.as_str()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(Column::Action.eq(action.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(Column::At.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(Column::At.lt(to));
    }
    let newest_first = SortOrder::<audit_log::Model>::new("audit.at", Direction::Desc)
        .time(Column::At, |m| m.at)
        .id(Column::Id, |m| m.id);
    fetch_page(db, query, page, newest_first, to_domain).await
}
