//! Identity over GraphQL: `me`, `login`, `refreshToken`, `logout`, `removeMember`, `auditLog`
//! (joining is in `invitations`).

use async_graphql::{Context, Enum, Guard, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    caller,
    common::parse_id,
    connection::{self, RelayConnection},
    restaurants::RestaurantObject,
    services,
    suppliers::SupplierObject,
};
use crate::{
    auth::{self, Principal},
    domain::{
        identity::{AccountView, Membership, Organisation, TokenPair},
        platform::audit::{AuditFilter, AuditRecord},
    },
    error::AppError,
};

/// What kind of user an account is.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "auth::Role")]
pub enum AccountRole {
    /// Operates the marketplace.
    Admin,
    /// Works for a supplier.
    Supplier,
    /// Works for a restaurant.
    Restaurant,
}

/// A member's role within an organisation.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "auth::MemberRole")]
pub enum MemberRole {
    /// Manages the organisation and its members.
    Owner,
    /// Works with the organisation's resources.
    Staff,
}

/// A kind of organisation.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrganisationType {
    /// A wholesale supplier.
    Supplier,
    /// A restaurant.
    Restaurant,
}

pub(crate) fn organisation(kind: OrganisationType, id: &ID) -> Result<Organisation, AppError> {
    let id = parse_id("organisationId", id)?;
    Ok(match kind {
        OrganisationType::Supplier => Organisation::Supplier(id),
        OrganisationType::Restaurant => Organisation::Restaurant(id),
    })
}

/// A person using Iris.
pub struct AccountObject(pub AccountView);

/// Guard of an account's e-mail: the account itself, people sharing an organisation with it,
/// and admins (the rule is the domain's).
struct EmailVisible(uuid::Uuid);

impl Guard for EmailVisible {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let visible = services(ctx)?
            .identity
            .may_see_email(&caller(ctx).principal, self.0)
            .await?;
        if visible {
            Ok(())
        } else {
            Err(AppError::Forbidden("this e-mail address is not yours to see".into()).into())
        }
    }
}

/// A person using Iris.
#[Object(name = "Account")]
impl AccountObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// E-mail address: visible to the account itself, people sharing an organisation with it,
    /// and admins (FORBIDDEN for anyone else).
    #[graphql(guard = "EmailVisible(self.0.id)")]
    async fn email(&self) -> Option<String> {
        Some(self.0.email.clone())
    }
    /// What kind of user this is.
    async fn role(&self) -> AccountRole {
        self.0.role.into()
    }
    /// Name shown to others.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// When the account was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Suppliers this account belongs to.
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn supplier_memberships(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<SupplierMembership>> {
        let ids: Vec<_> = self.0.suppliers.iter().map(|(id, _)| *id).collect();
        let suppliers = services(ctx)?.suppliers.by_ids(&ids).await?;
        Ok(suppliers
            .into_iter()
            .filter_map(|s| {
                let role = self.0.suppliers.iter().find(|(id, _)| *id == s.id)?.1;
                Some(SupplierMembership {
                    role: role.into(),
                    supplier: s.into(),
                })
            })
            .collect())
    }
    /// Restaurants this account belongs to.
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn restaurant_memberships(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<RestaurantMembership>> {
        let ids: Vec<_> = self.0.restaurants.iter().map(|(id, _)| *id).collect();
        let restaurants = services(ctx)?.restaurants.by_ids(&ids).await?;
        Ok(restaurants
            .into_iter()
            .filter_map(|r| {
                let role = self.0.restaurants.iter().find(|(id, _)| *id == r.id)?.1;
                Some(RestaurantMembership {
                    role: role.into(),
                    restaurant: RestaurantObject::of(r),
                })
            })
            .collect())
    }
}

/// Membership of a supplier.
#[derive(SimpleObject)]
pub struct SupplierMembership {
    /// The supplier.
    supplier: SupplierObject,
    /// The account's role there.
    role: MemberRole,
}

/// Membership of a restaurant.
#[derive(SimpleObject)]
pub struct RestaurantMembership {
    /// The restaurant.
    restaurant: RestaurantObject,
    /// The account's role there.
    role: MemberRole,
}

/// A membership after `addMember`.
#[derive(SimpleObject)]
#[graphql(name = "Membership")]
pub struct MembershipObject {
    /// Supplier or restaurant.
    organisation_type: OrganisationType,
    /// The organisation's id.
    organisation_id: ID,
    /// The member's account id.
    account_id: ID,
    /// The member's e-mail address.
    email: String,
    /// The member's role.
    role: MemberRole,
}

impl From<Membership> for MembershipObject {
    fn from(m: Membership) -> Self {
        let (organisation_type, id) = match m.organisation {
            Organisation::Supplier(id) => (OrganisationType::Supplier, id),
            Organisation::Restaurant(id) => (OrganisationType::Restaurant, id),
        };
        MembershipObject {
            organisation_type,
            organisation_id: ID(id.to_string()),
            account_id: ID(m.account_id.to_string()),
            email: m.email,
            role: m.role.into(),
        }
    }
}

/// Tokens for API calls.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>` (and in the websocket's connection_init).
    access_token: String,
    /// Exchange for new tokens with `refreshToken` before it expires (7 days); single use.
    refresh_token: String,
    /// When the access token expires (UTC).
    expires_at: DateTime<Utc>,
}

impl From<TokenPair> for AuthPayload {
    fn from(p: TokenPair) -> Self {
        AuthPayload {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            expires_at: p.expires_at,
        }
    }
}

/// Credentials of a `DEV_USERS` user (AUTH_PROVIDER=local).
#[derive(InputObject)]
pub struct LoginInput {
    /// E-mail address.
    email: String,
    /// Password.
    #[graphql(secret)]
    password: String,
}

/// A refresh token to exchange.
#[derive(InputObject)]
pub struct RefreshTokenInput {
    /// The refresh token from `login` or the previous `refreshToken`.
    #[graphql(secret)]
    refresh_token: String,
}

/// A new user, created at the identity provider (AUTH_PROVIDER=oidc).
#[derive(InputObject)]
pub struct RegisterInput {
    /// E-mail address (the sign-in name).
    email: String,
    /// Password, forwarded to the identity provider; Iris never stores it.
    #[graphql(secret)]
    password: String,
    /// SUPPLIER or RESTAURANT.
    role: AccountRole,
    /// Name shown to others.
    display_name: Option<String>,
}

/// Result of `register`.
#[derive(SimpleObject)]
pub struct RegisterPayload {
    /// The new account; sign in at the identity provider to get tokens.
    account: AccountObject,
}

/// The session to end.
#[derive(InputObject)]
pub struct LogoutInput {
    /// The session's current refresh token; its whole family is revoked. Without it, the
    /// session of the access token the request is signed with ends.
    #[graphql(secret)]
    refresh_token: Option<String>,
}

/// Result of `logout`.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// Always true: the session can no longer be refreshed or used.
    logged_out: bool,
}

/// Whom to remove from an organisation.
#[derive(InputObject)]
pub struct RemoveMemberInput {
    /// Supplier or restaurant.
    organisation_type: OrganisationType,
    /// The organisation's id.
    organisation_id: ID,
    /// The member's account id.
    account_id: ID,
}

/// Result of `removeMember`.
#[derive(SimpleObject)]
pub struct RemoveMemberPayload {
    /// The removed member's account id.
    removed_account_id: ID,
}

/// One audited action.
#[derive(SimpleObject)]
#[graphql(name = "AuditEntry")]
pub struct AuditEntryObject {
    /// Unique identifier.
    id: ID,
    /// When it happened (UTC).
    at: DateTime<Utc>,
    /// Who did it (null for anonymous callers and Iris itself).
    actor_id: Option<ID>,
    /// The actor's role: ADMIN, SUPPLIER, RESTAURANT, ANONYMOUS or SYSTEM.
    actor_role: String,
    /// What was done, e.g. `auth.login`, `membership.add`.
    action: String,
    /// The kind of thing it was done to.
    entity: String,
    /// Which one.
    entity_id: Option<String>,
    /// State before (JSON).
    before: Option<Json<serde_json::Value>>,
    /// State after (JSON).
    after: Option<Json<serde_json::Value>>,
    /// The request that did it.
    request_id: Option<String>,
    /// The caller's IP address.
    ip: Option<String>,
    /// The caller's user agent.
    user_agent: Option<String>,
}

impl From<AuditRecord> for AuditEntryObject {
    fn from(r: AuditRecord) -> Self {
        AuditEntryObject {
            id: ID(r.id.to_string()),
            at: r.at,
            actor_id: r.actor_id.map(|id| ID(id.to_string())),
            actor_role: r.actor_role,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            before: r.before.map(Json),
            after: r.after.map(Json),
            request_id: r.request_id,
            ip: r.ip,
            user_agent: r.user_agent,
        }
    }
}

/// Which audit entries to list; all conditions must hold.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Actions of this account.
    actor_id: Option<ID>,
    /// Of this kind of entity.
    entity: Option<String>,
    /// Of this entity.
    entity_id: Option<String>,
    /// This action.
    action: Option<String>,
    /// At or after this time.
    from: Option<DateTime<Utc>>,
    /// Before this time.
    to: Option<DateTime<Utc>>,
}

/// Admins only: UNAUTHENTICATED for anonymous callers, FORBIDDEN for others.
pub struct AdminOnly;

impl Guard for AdminOnly {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        match &caller(ctx).principal {
            Principal::Anonymous => Err(AppError::Unauthenticated("sign in first".into()).into()),
            p if p.is_admin() => Ok(()),
            _ => Err(AppError::Forbidden("admins only".into()).into()),
        }
    }
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in account with its memberships; UNAUTHENTICATED without a token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<AccountObject> {
        Ok(AccountObject(
            services(ctx)?.identity.me(caller(ctx)).await?,
        ))
    }

    /// Audited actions, newest first (admins only).
    #[graphql(
        guard = "AdminOnly",
        complexity = "crate::graphql::cost::page(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)] // Relay's four arguments plus the filter.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first n entries after `after` (0–100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(desc = "The last n entries before `before` (0–100).")] last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Which entries.")] filter: Option<AuditLogFilter>,
    ) -> async_graphql::Result<RelayConnection<AuditEntryObject>> {
        let page = connection::page_request(ctx, first, after, last, before)?;
        let filter = filter.unwrap_or_default();
        let filter = AuditFilter {
            actor_id: filter
                .actor_id
                .as_ref()
                .map(|id| parse_id("filter.actorId", id))
                .transpose()?,
            entity: filter.entity,
            entity_id: filter.entity_id,
            action: filter.action,
            from: filter.from,
            to: filter.to,
        };
        let result = services(ctx)?
            .audit
            .list(caller(ctx), &filter, page)
            .await?;
        Ok(connection::connection(result, AuditEntryObject::from))
    }
}

#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Signs in with e-mail and password (AUTH_PROVIDER=local). UNAUTHENTICATED when they do
    /// not match; the failure is audited.
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<AuthPayload> {
        let pair = services(ctx)?
            .identity
            .login(caller(ctx), &input.email, input.password)
            .await?;
        Ok(pair.into())
    }

    /// Creates a user at the identity provider and its Iris account (AUTH_PROVIDER=oidc). The
    /// password goes to the provider only.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<RegisterPayload> {
        let account = services(ctx)?
            .identity
            .register(
                caller(ctx),
                &input.email,
                input.password,
                input.role.into(),
                input.display_name,
            )
            .await?;
        Ok(RegisterPayload {
            account: AccountObject(account),
        })
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once: presenting a
    /// used one revokes every token of its login.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        input: RefreshTokenInput,
    ) -> async_graphql::Result<AuthPayload> {
        let pair = services(ctx)?
            .identity
            .refresh(caller(ctx), &input.refresh_token)
            .await?;
        Ok(pair.into())
    }

    /// Ends a session: its refresh tokens stop working, its access tokens are refused from the
    /// next request on, and its open subscriptions end (UNAUTHENTICATED, close 4401).
    async fn logout(
        &self,
        ctx: &Context<'_>,
        input: LogoutInput,
    ) -> async_graphql::Result<LogoutPayload> {
        services(ctx)?
            .identity
            .logout(caller(ctx), input.refresh_token.as_deref())
            .await?;
        Ok(LogoutPayload { logged_out: true })
    }

    /// Removes a member from an organisation (its owners and admins); the last OWNER stays.
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveMemberInput,
    ) -> async_graphql::Result<RemoveMemberPayload> {
        let organisation = organisation(input.organisation_type, &input.organisation_id)?;
        let account = parse_id("accountId", &input.account_id)?;
        services(ctx)?
            .identity
            .remove_member(caller(ctx), organisation, account)
            .await?;
        Ok(RemoveMemberPayload {
            removed_account_id: input.account_id,
        })
    }
}
