//! The audit log: every sensitive action, written in the same transaction as the change, and
//! readable by admins only.

use crate::infra::db::Db;
use chrono::{DateTime, Utc};
use entity::audit_log::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    auth::{Caller, Principal},
    domain::{
        kernel::pagination::{Page, PageRequest},
        repository::fetch_page,
    },
    error::AppError,
};

/// What happened, to what.
pub struct AuditEntry {
    /// e.g. `auth.login`, `membership.add`, `supplier.delete`.
    pub action: &'static str,
    /// e.g. `account`, `supplier`, `restaurant_member`.
    pub entity: &'static str,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Writes one entry on `db` (pass the transaction of the change).
pub async fn record(
    db: &impl ConnectionTrait,
    caller: &Caller,
    actor: Option<Uuid>,
    entry: AuditEntry,
) -> Result<(), AppError> {
    let actor_id = actor.or_else(|| caller.principal.account_id());
    let model = audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        at: Set(Utc::now()),
        actor_id: Set(actor_id),
        actor_role: Set(caller.principal.audit_role().to_owned()),
        action: Set(entry.action.to_owned()),
        entity: Set(entry.entity.to_owned()),
        entity_id: Set(entry.entity_id),
        before: Set(entry.before),
        after: Set(entry.after),
        request_id: Set(caller.meta.request_id.clone()),
        ip: Set(caller.meta.ip.clone()),
        user_agent: Set(caller
            .meta
            .user_agent
            .as_deref()
            .map(|ua| ua.chars().take(512).collect())),
    };
    Entity::insert(model).exec_without_returning(db).await?;
    Ok(())
}

/// An audit log entry as admins read it.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_role: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Which entries to list; all conditions must hold.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct AuditService {
    db: Db,
}

impl AuditService {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Newest first. Admins only.
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>, AppError> {
        match &caller.principal {
            Principal::Anonymous => {
                return Err(AppError::Unauthenticated(
                    "sign in to read the audit log".into(),
                ));
            }
            p if !p.is_admin() => {
                return Err(AppError::Forbidden("only admins read the audit log".into()));
            }
            _ => {}
        }
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
        let newest_first =
            |q: sea_orm::Select<Entity>| q.order_by_desc(Column::At).order_by_desc(Column::Id);
        fetch_page(&self.db, query, page, newest_first, |m| AuditRecord {
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
        })
        .await
    }
}
