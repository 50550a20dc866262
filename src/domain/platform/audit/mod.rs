//! The audit log: every sensitive action, written in the same transaction as the change, and
//! readable by admins only.

mod repository;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    auth::{Caller, Principal},
    domain::kernel::pagination::{Page, PageRequest},
    error::AppError,
    infra::db::Db,
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
    repository::insert(db, new_record(caller, actor, entry)).await
}

/// The statement [`record`] sends, for a change that sends its writes together
/// (`domain::repository::write_together`); it must run in the change's transaction.
pub fn record_statement(
    caller: &Caller,
    actor: Option<Uuid>,
    entry: AuditEntry,
) -> sea_orm::sea_query::InsertStatement {
    repository::insert_statement(new_record(caller, actor, entry))
}

fn new_record(caller: &Caller, actor: Option<Uuid>, entry: AuditEntry) -> AuditRecord {
    let actor_id = actor.or_else(|| caller.principal.account_id());
    AuditRecord {
        id: Uuid::now_v7(),
        at: Utc::now(),
        actor_id,
        actor_role: caller.principal.audit_role().to_owned(),
        action: entry.action.to_owned(),
        entity: entry.entity.to_owned(),
        entity_id: entry.entity_id,
        before: entry.before,
        after: entry.after,
        request_id: caller.meta.request_id.clone(),
        ip: caller.meta.ip.clone(),
        user_agent: caller
            .meta
            .user_agent
            .as_deref()
            .map(|ua| ua.chars().take(512).collect()),
    }
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
        repository::list(&self.db, filter, &page).await
    }
}
