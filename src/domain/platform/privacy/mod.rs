//! Privacy: erasing an account's personal data (GDPR), and purging data past its retention.
//!
//! Erasure (admins): in one transaction the account is anonymised (e-mail, name, identity-
//! provider subject), its sessions, memberships and notifications are deleted, the IP address
//! and user agent of its audited actions are cleared, and its e-mail address is replaced
//! wherever else it appears as text — every text and JSON column of every table, found from
//! the database catalog, so tables added later are covered too. The erasure is audited without
//! the address.
//!
//! Retention (the daily `purge-retention` job): audit entries older than the audit period,
//! soft-deleted orders older than the financial period (with their lines and events), other
//! soft-deleted rows older than the deleted-rows period when nothing refers to them, and
//! operational rows (dispatched outbox events, finished webhook deliveries, read notifications,
//! job runs, finished connector runs) older than the operational period are deleted for good; the purge is audited with
//! its counts.

mod repository;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::{Caller, Principal},
    domain::{
        identity::CallerCache,
        platform::audit::{self, AuditEntry},
    },
    error::AppError,
    infra::db::{Db, begin_write},
};

/// What an erased e-mail address becomes wherever it appeared.
pub const ERASED_EMAIL: &str = "erased@erased.invalid";

/// How long data is kept (from the configuration).
#[derive(Clone, Debug)]
pub struct RetentionPolicy {
    pub audit: Duration,
    pub financial: Duration,
    pub deleted: Duration,
    pub operational: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            audit: Duration::days(365),
            financial: Duration::days(7 * 365 + 2),
            deleted: Duration::days(30),
            operational: Duration::days(90),
        }
    }
}

#[derive(Clone)]
pub struct PrivacyService {
    db: Db,
    retention: RetentionPolicy,
    /// Told when an account is erased, so no process keeps serving it.
    callers: CallerCache,
}

/// Whether `c` can continue an e-mail address (so a match inside a longer address is not one).
fn address_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || "._%+-".contains(c))
}

/// Every occurrence of the address `email` in `text` (any ASCII case, not inside a longer
/// address: `anna@x.se` is not in `hanna@x.se`) replaced by `with`.
fn replace_address(text: &str, email: &str, with: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let needle = email.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(found) = lower[from..].find(&needle) {
        let start = from + found;
        let end = start + needle.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let dangling_dot = after == Some('.') && address_char(text[end + 1..].chars().next());
        if !address_char(before) && (!address_char(after) || (after == Some('.') && !dangling_dot))
        {
            out.push_str(&text[copied..start]);
            out.push_str(with);
            copied = end;
        }
        from = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Replaces `email` (any case) in every text and JSON column; returns rows changed per column.
async fn scrub(db: &impl ConnectionTrait, email: &str) -> Result<BTreeMap<String, u64>, AppError> {
    let mut changed = BTreeMap::new();
    for column in repository::text_columns(db).await? {
        // The search may find more than the address; the replacement below is exact.
        for (id, value) in repository::values_containing(db, &column, email).await? {
            let replaced = replace_address(&value, email, ERASED_EMAIL);
            if replaced == value {
                continue; // only inside longer addresses
            }
            repository::set_value(db, &column, id, replaced).await?;
            *changed
                .entry(format!("{}.{}", column.table, column.column))
                .or_default() += 1;
        }
    }
    Ok(changed)
}

impl PrivacyService {
    pub fn new(db: Db, retention: RetentionPolicy, callers: CallerCache) -> Self {
        Self {
            db,
            retention,
            callers,
        }
    }

    /// Erases an account's personal data everywhere (admins); returns when.
    #[tracing::instrument(skip_all, fields(caller = %caller, account_id = %account))]
    pub async fn erase_account(
        &self,
        caller: &Caller,
        account: Uuid,
    ) -> Result<DateTime<Utc>, AppError> {
        match &caller.principal {
            Principal::Anonymous => {
                return Err(AppError::Unauthenticated(
                    "sign in to erase accounts".into(),
                ));
            }
            p if p.is_admin() => {}
            _ => return Err(AppError::Forbidden("only admins erase accounts".into())),
        }
        if caller.principal.account_id() == Some(account) {
            return Err(AppError::Conflict(
                "an admin cannot erase their own account".into(),
            ));
        }
        let email = repository::account_email(&self.db, account)
            .await?
            .ok_or_else(|| AppError::not_found("Account", account))?;
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        let placeholder_email = format!("erased+{}@erased.invalid", account.simple());
        repository::anonymise_account(&txn, account, &placeholder_email, "Erased account", now)
            .await?;
        repository::delete_sessions_of(&txn, account).await?;
        repository::delete_memberships_of(&txn, account).await?;
        repository::delete_notifications_of(&txn, account).await?;
        repository::clear_audit_client_details_of(&txn, account).await?;
        let scrubbed = scrub(&txn, &email).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "account.erase",
                entity: "account",
                entity_id: Some(account.to_string()),
                before: None,
                after: Some(json!({ "erasedAt": now, "scrubbed": scrubbed })),
            },
        )
        .await?;
        txn.commit().await?;
        self.callers.account_changed(account).await;
        tracing::info!("account erased");
        Ok(now)
    }

    /// When financial records made before now are past their retention (7 years): what the
    /// contexts keeping them (invoices) purge.
    pub fn financial_cutoff(&self) -> chrono::DateTime<Utc> {
        Utc::now() - self.retention.financial
    }

    /// Deletes data past its retention; returns rows deleted per kind (the purge is audited).
    pub async fn purge(&self) -> Result<BTreeMap<String, u64>, AppError> {
        let now = Utc::now();
        let cutoff = |keep: Duration| now - keep;
        let r = &self.retention;
        let (audit, financial) = (cutoff(r.audit), cutoff(r.financial));
        let (deleted, operational) = (cutoff(r.deleted), cutoff(r.operational));
        let txn = begin_write(&self.db).await?;
        // Children before parents; nothing still referred to is touched.
        let purged: BTreeMap<String, u64> = [
            (
                "audit_log",
                repository::purge_audit_older_than(&txn, audit).await?,
            ),
            (
                "orders",
                repository::purge_orders_deleted_before(&txn, financial).await?,
            ),
            (
                "cart_items",
                repository::purge_cart_items_of_products_deleted_before(&txn, deleted).await?,
            ),
            (
                "products",
                repository::purge_unordered_products_deleted_before(&txn, deleted).await?,
            ),
            (
                "webhook_endpoints",
                repository::purge_webhook_endpoints_deleted_before(&txn, deleted).await?,
            ),
            (
                "suppliers",
                repository::purge_unreferenced_suppliers_deleted_before(&txn, deleted).await?,
            ),
            (
                "restaurants",
                repository::purge_unreferenced_restaurants_deleted_before(&txn, deleted).await?,
            ),
            (
                "outbox",
                repository::purge_outbox_dispatched_before(&txn, operational).await?,
            ),
            (
                "webhook_deliveries",
                repository::purge_finished_webhook_deliveries_before(&txn, operational).await?,
            ),
            (
                "notifications",
                repository::purge_notifications_read_before(&txn, operational).await?,
            ),
            (
                "job_runs",
                repository::purge_job_runs_finished_before(&txn, operational).await?,
            ),
            (
                "connector_runs",
                repository::purge_connector_runs_finished_before(&txn, operational).await?,
            ),
        ]
        .into_iter()
        .map(|(what, count)| (what.to_owned(), count))
        .collect();
        audit::record(
            &txn,
            &Caller::system(),
            None,
            AuditEntry {
                action: "retention.purge",
                entity: "retention",
                entity_id: None,
                before: None,
                after: Some(json!({ "deleted": purged })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::replace_address;

    #[test]
    fn addresses_are_replaced_in_any_case_but_not_inside_others() {
        assert_eq!(
            replace_address(
                "Mail Anna@Example.se or anna@example.SE. Not hanna@example.se, anna@example.se.com",
                "anna@example.se",
                "x"
            ),
            "Mail x or x. Not hanna@example.se, anna@example.se.com"
        );
        assert_eq!(
            replace_address(r#"{"email":"anna@example.se"}"#, "anna@example.se", "x"),
            r#"{"email":"x"}"#
        );
    }
}
