//! Invitations: how an account joins an organisation. Nobody becomes a member without
//! accepting.
//!
//! Rules:
//! - An organisation's OWNERs (and admins) invite an e-mail address with a role. The answer is
//!   the same whatever the address is — unknown, an account of any role, a member already —
//!   so inviting reveals nothing about who has an account (no oracle). Inviting the same
//!   address again replaces its pending invitation.
//! - The invitation is delivered as a notification to the account with that address, if
//!   there is one (through the outbox, after the commit: no timing difference either), and
//!   its single-use token is shown to the inviter once, to pass on (a link, an e-mail).
//! - The invitee answers once, within 7 days: by id when signed in with the invited address,
//!   or with the token from any account (holding the token is the proof). Accepting needs an
//!   account of the organisation's kind (SUPPLIER or RESTAURANT), makes it a member with the
//!   invited role (a member already gets that role), and keeps at least one OWNER.
//! - A member who leaves takes its pending invitations (sent and received) with it; so does
//!   an OWNER who stops being one (those it sent) and an explicit role change (those it
//!   received). Owners list their organisation's pending invitations and revoke them.
//! - Only the token's SHA-256 is stored. Every step is audited in its transaction.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{
    Membership, Organisation, members::authorize_management, repository, service::IdentityService,
};
use crate::{
    auth::{Caller, MemberRole, Principal, tokens},
    domain::{
        kernel::validation,
        platform::{
            audit::{self, AuditEntry},
            outbox,
        },
    },
    error::AppError,
    infra::db::begin_write,
};

/// How long an invitation can be answered.
pub const INVITATION_TTL: Duration = Duration::days(7);

/// The outbox event of a new invitation (payload: `{"invitation": {…}}`, no token).
pub const INVITATION_CREATED: &str = "invitation.created";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
    /// Pending past its expiry.
    Expired,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "PENDING",
            InvitationStatus::Accepted => "ACCEPTED",
            InvitationStatus::Declined => "DECLINED",
            InvitationStatus::Revoked => "REVOKED",
            InvitationStatus::Expired => "EXPIRED",
        }
    }

    /// The status of a stored row at `now` (unknown values read as revoked: least power).
    pub(super) fn of_stored(stored: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        match stored {
            "PENDING" if expires_at <= now => InvitationStatus::Expired,
            "PENDING" => InvitationStatus::Pending,
            "ACCEPTED" => InvitationStatus::Accepted,
            "DECLINED" => InvitationStatus::Declined,
            _ => InvitationStatus::Revoked,
        }
    }
}

/// An invitation to join an organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub id: Uuid,
    pub organisation: Organisation,
    /// The organisation's name, for the invitee who cannot read it otherwise.
    pub organisation_name: String,
    pub email: String,
    pub role: MemberRole,
    pub status: InvitationStatus,
    pub invited_by: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A new invitation with its single-use token (shown this once).
#[derive(Clone, Debug)]
pub struct IssuedInvitation {
    pub invitation: Invitation,
    pub token: String,
}

/// Which invitation an invitee answers.
#[derive(Clone, Copy, Debug)]
pub enum InvitationRef<'a> {
    /// One addressed to the signed-in account's e-mail.
    Id(Uuid),
    /// The token the inviter passed on.
    Token(&'a str),
}

/// What `addMember` did.
#[derive(Clone, Debug)]
pub enum MemberAdded {
    /// The address is a member already: its role changed.
    RoleChanged(Membership),
    /// Anyone else is invited.
    Invited(IssuedInvitation),
}

/// What answering an invitation did.
#[derive(Clone, Debug)]
pub struct Answered {
    pub invitation: Invitation,
    /// The membership accepting made.
    pub membership: Option<Membership>,
}

fn signed_in(caller: &Caller) -> Result<&crate::auth::AccountIdentity, AppError> {
    caller
        .principal
        .account()
        .ok_or_else(|| match caller.principal {
            Principal::Anonymous => {
                AppError::Unauthenticated("sign in to answer an invitation".into())
            }
            _ => AppError::Forbidden("invitations are answered by accounts".into()),
        })
}

impl IdentityService {
    /// Invites `email` to the organisation with `role` (its OWNERs and admins).
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn invite_member(
        &self,
        caller: &Caller,
        organisation: Organisation,
        email: &str,
        role: MemberRole,
    ) -> Result<IssuedInvitation, AppError> {
        authorize_management(caller, organisation)?;
        let email = validation::email(email).map_err(|rule| AppError::validation("email", rule))?;
        let txn = begin_write(self.db()).await?;
        let Some(organisation_name) =
            repository::live_organisation_name(&txn, organisation).await?
        else {
            return Err(AppError::not_found(organisation.label(), organisation.id()));
        };
        let now = Utc::now();
        repository::revoke_pending_invitations(&txn, organisation, &email, now).await?;
        let token = tokens::new_invitation_token();
        let invitation = Invitation {
            id: Uuid::now_v7(),
            organisation,
            organisation_name,
            email: email.clone(),
            role,
            status: InvitationStatus::Pending,
            invited_by: caller.principal.account_id(),
            expires_at: now + INVITATION_TTL,
            answered_at: None,
            created_at: now,
        };
        repository::insert_invitation(&txn, &invitation, &tokens::hash_refresh_token(&token))
            .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "membership.invite",
                entity: "invitation",
                entity_id: Some(invitation.id.to_string()),
                before: None,
                after: Some(json!({
                    "organisation": organisation.id(),
                    "email": email,
                    "role": role.as_str(),
                })),
            },
        )
        .await?;
        outbox::record(
            &txn,
            INVITATION_CREATED,
            "invitation",
            invitation.id,
            json!({ "invitation": {
                "id": invitation.id,
                "organisationType": organisation.kind(),
                "organisationId": organisation.id(),
                "organisationName": invitation.organisation_name,
                "email": email,
                "role": role.as_str(),
                "expiresAt": invitation.expires_at,
            } }),
            now,
        )
        .await?;
        txn.commit().await?;
        self.outbox_waker().wake();
        Ok(IssuedInvitation { invitation, token })
    }

    /// `addMember`: a member's role changes at once; anyone else is invited.
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn add_member(
        &self,
        caller: &Caller,
        organisation: Organisation,
        email: &str,
        role: MemberRole,
    ) -> Result<MemberAdded, AppError> {
        authorize_management(caller, organisation)?;
        let folded =
            validation::email(email).map_err(|rule| AppError::validation("email", rule))?;
        // One statement whether the address has an account or not: no timing tells them apart.
        match repository::member_with_email(self.db(), organisation, &folded).await? {
            Some(account) => self
                .change_member_role(caller, organisation, account, role)
                .await
                .map(MemberAdded::RoleChanged),
            None => self
                .invite_member(caller, organisation, email, role)
                .await
                .map(MemberAdded::Invited),
        }
    }

    /// The signed-in account's invitations waiting for an answer.
    pub async fn my_invitations(&self, caller: &Caller) -> Result<Vec<Invitation>, AppError> {
        let me = signed_in(caller)?;
        repository::pending_invitations_for(self.db(), &me.email, Utc::now()).await
    }

    /// An organisation's pending invitations (its OWNERs and admins), newest first.
    pub async fn organisation_invitations(
        &self,
        caller: &Caller,
        organisation: Organisation,
    ) -> Result<Vec<Invitation>, AppError> {
        authorize_management(caller, organisation)?;
        repository::pending_invitations_of(self.db(), organisation, Utc::now()).await
    }

    /// Accepts (`accept`) or declines an invitation, once.
    #[tracing::instrument(skip_all, fields(caller = %caller, accept))]
    pub async fn answer_invitation(
        &self,
        caller: &Caller,
        which: InvitationRef<'_>,
        accept: bool,
    ) -> Result<Answered, AppError> {
        let me = signed_in(caller)?;
        let now = Utc::now();
        let txn = begin_write(self.db()).await?;
        let found = match which {
            InvitationRef::Id(id) => repository::find_invitation(&txn, id, now)
                .await?
                // Another address's invitation does not exist for this caller.
                .filter(|i| i.email.eq_ignore_ascii_case(&me.email)),
            InvitationRef::Token(token) => {
                repository::find_invitation_by_token(
                    &txn,
                    &tokens::hash_refresh_token(token.trim()),
                    now,
                )
                .await?
            }
        };
        let Some(mut invitation) = found else {
            return Err(match which {
                InvitationRef::Id(id) => AppError::not_found("Invitation", id),
                // Never the token itself in a message (or a log).
                InvitationRef::Token(_) => AppError::not_found("Invitation", "with this token"),
            });
        };
        match invitation.status {
            InvitationStatus::Pending => {}
            InvitationStatus::Expired => {
                return Err(AppError::Conflict(format!(
                    "the invitation expired at {}; ask for a new one",
                    invitation.expires_at.to_rfc3339()
                )));
            }
            answered => {
                return Err(AppError::Conflict(format!(
                    "the invitation was already answered ({}); an invitation is used once",
                    answered.as_str()
                )));
            }
        }
        let organisation = invitation.organisation;
        let mut membership = None;
        if accept {
            if me.role != organisation.member_role() {
                return Err(AppError::validation(
                    "invitation",
                    format!(
                        "is for {} accounts; you are signed in with a {} account",
                        organisation.member_role().as_str(),
                        me.role.as_str()
                    ),
                ));
            }
            if repository::live_organisation_name(&txn, organisation)
                .await?
                .is_none()
            {
                return Err(AppError::not_found(organisation.label(), organisation.id()));
            }
            let before = repository::current_role(&txn, organisation, me.account_id).await?;
            if before == Some(MemberRole::Owner)
                && invitation.role != MemberRole::Owner
                && repository::count_owners_locking(&txn, organisation).await? <= 1
            {
                return Err(AppError::Conflict(format!(
                    "the {} must keep at least one OWNER",
                    organisation.label().to_lowercase()
                )));
            }
            repository::put_membership(
                &txn,
                organisation,
                me.account_id,
                invitation.role,
                before.is_some(),
            )
            .await?;
            membership = Some(Membership {
                organisation,
                account_id: me.account_id,
                email: me.email.clone(),
                role: invitation.role,
            });
        }
        let status = if accept {
            InvitationStatus::Accepted
        } else {
            InvitationStatus::Declined
        };
        // Conditional on still pending: of two concurrent answers, one wins.
        if !repository::answer_invitation(&txn, invitation.id, status, me.account_id, now).await? {
            return Err(AppError::Conflict(
                "the invitation was answered meanwhile; an invitation is used once".into(),
            ));
        }
        audit::record(
            &txn,
            caller,
            Some(me.account_id),
            AuditEntry {
                action: if accept {
                    "membership.accept"
                } else {
                    "membership.decline"
                },
                entity: "invitation",
                entity_id: Some(invitation.id.to_string()),
                before: None,
                after: Some(json!({
                    "organisation": organisation.id(),
                    "role": invitation.role.as_str(),
                })),
            },
        )
        .await?;
        txn.commit().await?;
        if accept {
            self.callers().account_changed(me.account_id).await;
        }
        invitation.status = status;
        invitation.answered_at = Some(now);
        Ok(Answered {
            invitation,
            membership,
        })
    }

    /// Withdraws a pending invitation (the organisation's OWNERs and admins).
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn revoke_invitation(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<Invitation, AppError> {
        let now = Utc::now();
        let txn = begin_write(self.db()).await?;
        let Some(mut invitation) = repository::find_invitation(&txn, id, now).await? else {
            return Err(AppError::not_found("Invitation", id));
        };
        match authorize_management(caller, invitation.organisation) {
            Ok(()) => {}
            // Outsiders learn nothing of the invitation.
            Err(AppError::Forbidden(_) | AppError::NotFound { .. })
                if !caller.principal.is_admin()
                    && invitation.organisation.role_of(&caller.principal).is_none() =>
            {
                return Err(AppError::not_found("Invitation", id));
            }
            Err(other) => return Err(other),
        }
        if invitation.status != InvitationStatus::Pending {
            return Err(AppError::Conflict(format!(
                "only a pending invitation can be revoked; this one is {}",
                invitation.status.as_str()
            )));
        }
        // Conditional on still pending: an answer that won the race stands.
        if !repository::revoke_invitation(&txn, id, now).await? {
            return Err(AppError::Conflict(
                "the invitation was answered meanwhile; only a pending one can be revoked".into(),
            ));
        }
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "membership.revoke_invitation",
                entity: "invitation",
                entity_id: Some(id.to_string()),
                before: None,
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        invitation.status = InvitationStatus::Revoked;
        Ok(invitation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_invitation_past_its_expiry_is_expired() {
        let now = Utc::now();
        assert_eq!(
            InvitationStatus::of_stored("PENDING", now + Duration::seconds(1), now),
            InvitationStatus::Pending
        );
        assert_eq!(
            InvitationStatus::of_stored("PENDING", now, now),
            InvitationStatus::Expired
        );
        assert_eq!(
            InvitationStatus::of_stored("ACCEPTED", now - Duration::days(30), now),
            InvitationStatus::Accepted
        );
        assert_eq!(
            InvitationStatus::of_stored("??", now, now),
            InvitationStatus::Revoked
        );
    }
}
