//! Memberships of organisations, the identity service's part: who belongs to which supplier or
//! restaurant, as OWNER or STAFF, and who may manage that. Joining is by invitation
//! (`invitations`); here: role changes, removal, and the seed's direct grant.

use serde_json::json;
use uuid::Uuid;

use super::{
    Membership, Organisation, repository,
    service::{IdentityService, find_or_provision},
};
use crate::{
    auth::{Caller, MemberRole, Principal},
    domain::{
        kernel::validation,
        platform::audit::{self, AuditEntry},
    },
    error::AppError,
};

/// Only the organisation's owners and admins manage its members. Anyone else learns nothing
/// about the organisation (NOT_FOUND), unless they are a member (FORBIDDEN).
pub(super) fn authorize_management(
    caller: &Caller,
    organisation: Organisation,
) -> Result<(), AppError> {
    match &caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated(
            "sign in to manage members".into(),
        )),
        p if p.is_admin() => Ok(()),
        p => match organisation.role_of(p) {
            Some(MemberRole::Owner) => Ok(()),
            Some(MemberRole::Staff) => Err(AppError::Forbidden(format!(
                "only owners of the {} manage its members",
                organisation.label().to_lowercase()
            ))),
            None => Err(AppError::not_found(organisation.label(), organisation.id())),
        },
    }
}

impl IdentityService {
    /// Makes the account with `email` a member with `role` at once, creating the account if it
    /// never signed in: Iris itself only (the demo seed). People join by accepting an
    /// invitation (`invite_member`).
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn grant_membership(
        &self,
        caller: &Caller,
        organisation: Organisation,
        email: &str,
        role: MemberRole,
    ) -> Result<Membership, AppError> {
        if !matches!(caller.principal, Principal::System) {
            return Err(AppError::Forbidden(
                "memberships are granted by invitation; use inviteMember".into(),
            ));
        }
        let email = validation::email(email).map_err(|rule| AppError::validation("email", rule))?;
        let txn = crate::infra::db::begin_write(self.db()).await?;
        if !repository::live_organisation_exists(&txn, organisation).await? {
            return Err(AppError::not_found(organisation.label(), organisation.id()));
        }
        let (account, _) = find_or_provision(&txn, &email, organisation.member_role()).await?;
        if account.role != organisation.member_role() {
            return Err(AppError::validation(
                "email",
                format!(
                    "belongs to a {} account; members of a {} must be {} accounts",
                    account.role.as_str(),
                    organisation.label().to_lowercase(),
                    organisation.member_role().as_str()
                ),
            ));
        }
        let before = repository::current_role(&txn, organisation, account.id).await?;
        repository::put_membership(&txn, organisation, account.id, role, before.is_some()).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "membership.add",
                entity: organisation.entity(),
                entity_id: Some(format!("{}:{}", organisation.id(), account.id)),
                before: before.map(|r| json!({ "role": r.as_str() })),
                after: Some(json!({ "role": role.as_str(), "email": account.email })),
            },
        )
        .await?;
        txn.commit().await?;
        self.callers().account_changed(account.id).await;
        Ok(Membership {
            organisation,
            account_id: account.id,
            email: account.email,
            role,
        })
    }

    /// Changes a member's role (the organisation's OWNERs and admins); it keeps an OWNER.
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn change_member_role(
        &self,
        caller: &Caller,
        organisation: Organisation,
        account: Uuid,
        role: MemberRole,
    ) -> Result<Membership, AppError> {
        authorize_management(caller, organisation)?;
        let txn = crate::infra::db::begin_write(self.db()).await?;
        let Some(before) = repository::current_role(&txn, organisation, account).await? else {
            return Err(AppError::not_found("Membership", account));
        };
        let Some(member) = repository::find_live_account(&txn, account).await? else {
            return Err(AppError::not_found("Membership", account));
        };
        if before == MemberRole::Owner
            && role != MemberRole::Owner
            && repository::count_owners_locking(&txn, organisation).await? <= 1
        {
            return Err(AppError::Conflict(format!(
                "the {} must keep at least one OWNER",
                organisation.label().to_lowercase()
            )));
        }
        repository::put_membership(&txn, organisation, account, role, true).await?;
        // The explicit role supersedes invitations it had; a former OWNER's invitations lapse.
        let sender = (before == MemberRole::Owner && role != MemberRole::Owner).then_some(account);
        repository::revoke_pending_invitations_of_member(
            &txn,
            organisation,
            Some(&member.email),
            sender,
            chrono::Utc::now(),
        )
        .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "membership.role_change",
                entity: organisation.entity(),
                entity_id: Some(format!("{}:{account}", organisation.id())),
                before: Some(json!({ "role": before.as_str() })),
                after: Some(json!({ "role": role.as_str() })),
            },
        )
        .await?;
        txn.commit().await?;
        self.callers().account_changed(account).await;
        Ok(Membership {
            organisation,
            account_id: account,
            email: member.email,
            role,
        })
    }

    /// Removes an account from the organisation.
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn remove_member(
        &self,
        caller: &Caller,
        organisation: Organisation,
        account: Uuid,
    ) -> Result<(), AppError> {
        authorize_management(caller, organisation)?;
        let txn = crate::infra::db::begin_write(self.db()).await?;
        let Some(before) = repository::current_role(&txn, organisation, account).await? else {
            return Err(AppError::not_found("Membership", account));
        };
        if before == MemberRole::Owner
            && repository::count_owners_locking(&txn, organisation).await? <= 1
        {
            return Err(AppError::Conflict(format!(
                "the {} must keep at least one OWNER",
                organisation.label().to_lowercase()
            )));
        }
        repository::delete_membership(&txn, organisation, account).await?;
        // A member who leaves takes its pending invitations, sent and received, with it.
        let email = repository::find_live_account(&txn, account)
            .await?
            .map(|a| a.email);
        repository::revoke_pending_invitations_of_member(
            &txn,
            organisation,
            email.as_deref(),
            Some(account),
            chrono::Utc::now(),
        )
        .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "membership.remove",
                entity: organisation.entity(),
                entity_id: Some(format!("{}:{account}", organisation.id())),
                before: Some(json!({ "role": before.as_str() })),
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        self.callers().account_changed(account).await;
        Ok(())
    }

    /// Whether the principal may see the e-mail of `account`: its owner, admins, and people who
    /// share an organisation with it.
    pub async fn may_see_email(
        &self,
        principal: &Principal,
        account: Uuid,
    ) -> Result<bool, AppError> {
        if principal.is_admin() || principal.account_id() == Some(account) {
            return Ok(true);
        }
        self.share_an_organisation(principal, account).await
    }

    /// Whether two accounts share an organisation (for e-mail visibility).
    pub async fn share_an_organisation(
        &self,
        a: &Principal,
        other: Uuid,
    ) -> Result<bool, AppError> {
        let Some(identity) = a.account() else {
            return Ok(false);
        };
        let suppliers: Vec<Uuid> = identity.suppliers.keys().copied().collect();
        let restaurants: Vec<Uuid> = identity.restaurants.keys().copied().collect();
        let in_supplier = !suppliers.is_empty()
            && repository::is_member_of_any_supplier(self.db(), other, suppliers).await?;
        let in_restaurant = !restaurants.is_empty()
            && repository::is_member_of_any_restaurant(self.db(), other, restaurants).await?;
        Ok(in_supplier || in_restaurant)
    }

    /// Accounts by id (for showing members), live ones only.
    pub async fn accounts_by_ids(
        &self,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, String, String)>, AppError> {
        Ok(repository::find_live_accounts(self.db(), ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a.email, a.display_name))
            .collect())
    }
}
