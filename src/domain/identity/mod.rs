//! Identity: accounts, sign-in, tokens, memberships.
//!
//! Rules:
//! - An account's e-mail is unique (case-insensitively) among live accounts; no password or
//!   hash is ever stored — `DEV_USERS` (local provider) or the identity provider holds them.
//! - Access tokens live 15 minutes; refresh tokens 7 days, stored as hashes, rotated on every
//!   use; presenting a used or revoked refresh token revokes its whole family.
//! - Memberships: an organisation's OWNERs (and admins) invite members, change their roles and
//!   remove them; nobody joins without accepting an invitation (see `invitations`); an
//!   organisation always keeps at least one OWNER; a supplier's members are SUPPLIER accounts,
//!   a restaurant's RESTAURANT accounts.
//! - Every sign-in is a session; logout and refresh-token reuse end it everywhere (`sessions`).
//! - Logins (both outcomes), refresh-token reuse, logouts and membership changes are audited in
//!   the transaction that makes them.

mod cache;
mod invitations;
mod members;
mod repository;
mod service;
mod sessions;
mod settings;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::{MemberRole, Principal, Role};

pub use cache::{AccountChanged, CallerCache};
pub use invitations::{
    Answered, INVITATION_CREATED, INVITATION_TTL, Invitation, InvitationRef, InvitationStatus,
    IssuedInvitation, MemberAdded,
};
/// Membership rows inside another context's transaction (the caller authorizes).
pub(crate) use repository::put_membership;

/// `principal` as it stands now: its account's current role and memberships, read in one
/// statement; `None` when the account is gone. Live streams call it when the bus says the
/// account changed ([`AccountChanged`]), instead of checking every event against the database.
pub(crate) async fn refreshed(
    db: &impl sea_orm::ConnectionTrait,
    principal: &Principal,
) -> Result<Option<Principal>, crate::error::AppError> {
    let Principal::Account(identity) = principal else {
        return Ok(Some(principal.clone()));
    };
    let found = repository::find_live_account_with_memberships(
        db,
        repository::AccountKey::Id(identity.account_id),
    )
    .await?;
    Ok(found.map(|current| {
        Principal::Account(std::sync::Arc::new(
            current.identity(identity.expires_at, identity.session_id),
        ))
    }))
}
pub use service::{IdentityService, SESSION_ENDED};
pub use sessions::{SessionEnded, Sessions};
pub use settings::{AuthConfig, AuthProvider, DevUser};

/// What a successful sign-in or refresh returns.
#[derive(Clone, Debug)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
}

/// An account with its memberships, as `me` shows it.
#[derive(Clone, Debug)]
pub struct AccountView {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub suppliers: Vec<(Uuid, MemberRole)>,
    pub restaurants: Vec<(Uuid, MemberRole)>,
}

/// An organisation an account can belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Organisation {
    Supplier(Uuid),
    Restaurant(Uuid),
}

impl Organisation {
    pub fn id(self) -> Uuid {
        match self {
            Organisation::Supplier(id) | Organisation::Restaurant(id) => id,
        }
    }

    /// SUPPLIER or RESTAURANT.
    pub fn kind(self) -> &'static str {
        match self {
            Organisation::Supplier(_) => "SUPPLIER",
            Organisation::Restaurant(_) => "RESTAURANT",
        }
    }

    /// The organisation of a kind (`SUPPLIER` / `RESTAURANT`) and id.
    pub fn of_kind(kind: &str, id: Uuid) -> Option<Organisation> {
        match kind {
            "SUPPLIER" => Some(Organisation::Supplier(id)),
            "RESTAURANT" => Some(Organisation::Restaurant(id)),
            _ => None,
        }
    }

    fn entity(self) -> &'static str {
        match self {
            Organisation::Supplier(_) => "supplier_member",
            Organisation::Restaurant(_) => "restaurant_member",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Organisation::Supplier(_) => "Supplier",
            Organisation::Restaurant(_) => "Restaurant",
        }
    }

    /// The account role a member of this kind of organisation has.
    fn member_role(self) -> Role {
        match self {
            Organisation::Supplier(_) => Role::Supplier,
            Organisation::Restaurant(_) => Role::Restaurant,
        }
    }

    /// The role the principal holds in it, if any.
    pub fn role_of(self, principal: &Principal) -> Option<MemberRole> {
        match self {
            Organisation::Supplier(id) => principal.supplier_role(id),
            Organisation::Restaurant(id) => principal.restaurant_role(id),
        }
    }
}

/// One account's membership of one organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub organisation: Organisation,
    pub account_id: Uuid,
    pub email: String,
    pub role: MemberRole,
}

/// An account as the service works with it.
#[derive(Clone, Debug)]
struct Account {
    id: Uuid,
    email: String,
    /// The identity provider's subject (`sub`), when the account came from one.
    external_id: Option<String>,
    role: Role,
    display_name: String,
    created_at: DateTime<Utc>,
}

/// A stored refresh token (its hash is how it is found).
#[derive(Clone, Debug)]
struct RefreshToken {
    account_id: Uuid,
    family_id: Uuid,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

/// The role of a stored account. Written only through `Role::as_str`; an unknown value (manual
/// edit) gets least power.
fn role_from_stored(stored: &str) -> Role {
    Role::parse(stored).unwrap_or(Role::Restaurant)
}
