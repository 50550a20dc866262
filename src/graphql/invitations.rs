//! Invitations over GraphQL: `inviteMember`, `myInvitations`, `organisationInvitations`,
//! `acceptInvitation`,
//! `declineInvitation`, `revokeInvitation`; and `addMember`, which invites (or changes an
//! existing member's role).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    caller,
    common::parse_id,
    identity::{MemberRole, MembershipObject, OrganisationType, organisation},
    services,
};
use crate::{
    domain::identity::{
        Answered, Invitation, InvitationRef, IssuedInvitation, MemberAdded, Organisation,
    },
    error::AppError,
};

/// Where an invitation stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::domain::identity::InvitationStatus")]
pub enum InvitationStatus {
    /// Waiting for the invitee's answer.
    Pending,
    /// The invitee joined.
    Accepted,
    /// The invitee said no.
    Declined,
    /// Withdrawn by the organisation, or replaced by a newer invitation of the same address.
    Revoked,
    /// Not answered in time (7 days).
    Expired,
}

/// An invitation to join a supplier or restaurant.
#[derive(SimpleObject)]
#[graphql(name = "Invitation")]
pub struct InvitationObject {
    /// Unique identifier (UUID).
    id: ID,
    /// Supplier or restaurant.
    organisation_type: OrganisationType,
    /// The organisation's id.
    organisation_id: ID,
    /// The organisation's name.
    organisation_name: String,
    /// The invited address.
    email: String,
    /// The role accepting gives.
    role: MemberRole,
    /// Where it stands.
    status: InvitationStatus,
    /// Until when it can be answered (UTC).
    expires_at: DateTime<Utc>,
    /// When it was answered (UTC).
    answered_at: Option<DateTime<Utc>>,
    /// When it was sent (UTC).
    created_at: DateTime<Utc>,
}

impl From<Invitation> for InvitationObject {
    fn from(i: Invitation) -> Self {
        let organisation_type = match i.organisation {
            Organisation::Supplier(_) => OrganisationType::Supplier,
            Organisation::Restaurant(_) => OrganisationType::Restaurant,
        };
        InvitationObject {
            id: ID(i.id.to_string()),
            organisation_type,
            organisation_id: ID(i.organisation.id().to_string()),
            organisation_name: i.organisation_name,
            email: i.email,
            role: i.role.into(),
            status: i.status.into(),
            expires_at: i.expires_at,
            answered_at: i.answered_at,
            created_at: i.created_at,
        }
    }
}

/// Whom to invite into an organisation.
#[derive(InputObject)]
pub struct InviteMemberInput {
    /// Supplier or restaurant.
    organisation_type: OrganisationType,
    /// The organisation's id.
    organisation_id: ID,
    /// The invitee's e-mail address.
    email: String,
    /// The role accepting gives.
    role: MemberRole,
}

/// Result of `inviteMember`: the same for every address (no hint whether it has an account).
#[derive(SimpleObject)]
pub struct InviteMemberPayload {
    /// The pending invitation.
    invitation: InvitationObject,
    /// The single-use token, shown this once: pass it to the invitee (a link, an e-mail), who
    /// accepts with it from any account of the organisation's kind.
    #[graphql(secret)]
    token: String,
}

impl From<IssuedInvitation> for InviteMemberPayload {
    fn from(issued: IssuedInvitation) -> Self {
        InviteMemberPayload {
            invitation: issued.invitation.into(),
            token: issued.token,
        }
    }
}

/// Who to add to an organisation, or whose role to change.
#[derive(InputObject)]
pub struct AddMemberInput {
    /// Supplier or restaurant.
    organisation_type: OrganisationType,
    /// The organisation's id.
    organisation_id: ID,
    /// The address: a member's role changes; anyone else is invited.
    email: String,
    /// The role to give.
    role: MemberRole,
}

/// Result of `addMember`: `membership` when a member's role changed, else the invitation.
#[derive(SimpleObject)]
pub struct AddMemberPayload {
    /// The membership as it is now, when the address was a member already.
    membership: Option<MembershipObject>,
    /// The pending invitation, when the address was not a member.
    invitation: Option<InvitationObject>,
    /// The invitation's single-use token, shown this once.
    #[graphql(secret)]
    invitation_token: Option<String>,
}

/// Which invitation to answer: `id` (one addressed to your e-mail) or `token` (passed on to
/// you by the inviter).
#[derive(InputObject)]
pub struct AnswerInvitationInput {
    /// The invitation's id, as `myInvitations` lists it.
    id: Option<ID>,
    /// The invitation's token.
    #[graphql(secret)]
    token: Option<String>,
}

impl AnswerInvitationInput {
    fn reference(&self) -> Result<InvitationRef<'_>, AppError> {
        match (&self.id, &self.token) {
            (Some(id), None) => Ok(InvitationRef::Id(parse_id("id", id)?)),
            (None, Some(token)) => Ok(InvitationRef::Token(token)),
            _ => Err(AppError::validation(
                "id",
                "give exactly one of `id` and `token`",
            )),
        }
    }
}

/// Result of `acceptInvitation`.
#[derive(SimpleObject)]
pub struct AcceptInvitationPayload {
    /// The invitation, now ACCEPTED.
    invitation: InvitationObject,
    /// The membership accepting made.
    membership: Option<MembershipObject>,
}

/// Result of `declineInvitation`.
#[derive(SimpleObject)]
pub struct DeclineInvitationPayload {
    /// The invitation, now DECLINED.
    invitation: InvitationObject,
}

/// The invitation to withdraw.
#[derive(InputObject)]
pub struct RevokeInvitationInput {
    /// The invitation's id.
    id: ID,
}

/// Result of `revokeInvitation`.
#[derive(SimpleObject)]
pub struct RevokeInvitationPayload {
    /// The invitation, now REVOKED.
    invitation: InvitationObject,
}

#[derive(Default)]
pub struct InvitationQuery;

#[Object]
impl InvitationQuery {
    /// Invitations to the signed-in account's e-mail address waiting for an answer, newest
    /// first.
    async fn my_invitations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<InvitationObject>> {
        let invitations = services(ctx)?.identity.my_invitations(caller(ctx)).await?;
        Ok(invitations.into_iter().map(Into::into).collect())
    }

    /// An organisation's invitations waiting for an answer, newest first (its owners and
    /// admins).
    async fn organisation_invitations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Supplier or restaurant.")] organisation_type: OrganisationType,
        #[graphql(desc = "The organisation's id.")] organisation_id: ID,
    ) -> async_graphql::Result<Vec<InvitationObject>> {
        let organisation = organisation(organisation_type, &organisation_id)?;
        let invitations = services(ctx)?
            .identity
            .organisation_invitations(caller(ctx), organisation)
            .await?;
        Ok(invitations.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
    /// Invites an address into an organisation (its owners and admins). The answer is the same
    /// for every address; the invitee hears of it as a notification when it has an account,
    /// and answers with `acceptInvitation` or `declineInvitation` within 7 days.
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        input: InviteMemberInput,
    ) -> async_graphql::Result<InviteMemberPayload> {
        let organisation = organisation(input.organisation_type, &input.organisation_id)?;
        let issued = services(ctx)?
            .identity
            .invite_member(caller(ctx), organisation, &input.email, input.role.into())
            .await?;
        Ok(issued.into())
    }

    /// Changes a member's role, or invites an address that is not a member (as
    /// `inviteMember`: nobody joins without accepting). Its owners and admins.
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        input: AddMemberInput,
    ) -> async_graphql::Result<AddMemberPayload> {
        let organisation = organisation(input.organisation_type, &input.organisation_id)?;
        let added = services(ctx)?
            .identity
            .add_member(caller(ctx), organisation, &input.email, input.role.into())
            .await?;
        Ok(match added {
            MemberAdded::RoleChanged(membership) => AddMemberPayload {
                membership: Some(membership.into()),
                invitation: None,
                invitation_token: None,
            },
            MemberAdded::Invited(issued) => AddMemberPayload {
                membership: None,
                invitation: Some(issued.invitation.into()),
                invitation_token: Some(issued.token),
            },
        })
    }

    /// Joins the organisation of an invitation, with its role. Once; CONFLICT when it was
    /// answered, revoked or expired.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AnswerInvitationInput,
    ) -> async_graphql::Result<AcceptInvitationPayload> {
        let Answered {
            invitation,
            membership,
        } = services(ctx)?
            .identity
            .answer_invitation(caller(ctx), input.reference()?, true)
            .await?;
        Ok(AcceptInvitationPayload {
            invitation: invitation.into(),
            membership: membership.map(Into::into),
        })
    }

    /// Declines an invitation. Once; CONFLICT when it was answered, revoked or expired.
    async fn decline_invitation(
        &self,
        ctx: &Context<'_>,
        input: AnswerInvitationInput,
    ) -> async_graphql::Result<DeclineInvitationPayload> {
        let answered = services(ctx)?
            .identity
            .answer_invitation(caller(ctx), input.reference()?, false)
            .await?;
        Ok(DeclineInvitationPayload {
            invitation: answered.invitation.into(),
        })
    }

    /// Withdraws a pending invitation (the organisation's owners and admins).
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        input: RevokeInvitationInput,
    ) -> async_graphql::Result<RevokeInvitationPayload> {
        let id = parse_id("id", &input.id)?;
        let invitation = services(ctx)?
            .identity
            .revoke_invitation(caller(ctx), id)
            .await?;
        Ok(RevokeInvitationPayload {
            invitation: invitation.into(),
        })
    }
}
