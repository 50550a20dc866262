//! Who is calling, and the cryptography that proves it.
//!
//! - [`Principal`]: the caller's identity, resolved once per request (account, role and
//!   memberships) by `domain::identity::IdentityService::authenticate`.
//! - [`Caller`]: the principal plus the request facts the audit log records.
//! - [`tokens`]: HS256 access tokens (pinned algorithm, `iss`/`aud`/`exp`/`nbf` required) and
//!   opaque refresh tokens, stored only as hashes.
//! - [`passwords`]: verification of `DEV_USERS` hashes (bcrypt, argon2) off the async runtime.
//!
//! Decisions about what a principal may do live in the domain services, not here.

pub mod oidc;
pub mod passwords;
pub mod tokens;

use std::{collections::HashMap, fmt, sync::Arc};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What kind of user an account is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Admin,
    Supplier,
    Restaurant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Supplier => "SUPPLIER",
            Role::Restaurant => "RESTAURANT",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "ADMIN" => Some(Role::Admin),
            "SUPPLIER" => Some(Role::Supplier),
            "RESTAURANT" => Some(Role::Restaurant),
            _ => None,
        }
    }
}

/// An account's role within one organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MemberRole {
    Owner,
    Staff,
}

impl MemberRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Owner => "OWNER",
            MemberRole::Staff => "STAFF",
        }
    }

    pub fn parse(raw: &str) -> Option<MemberRole> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "OWNER" => Some(MemberRole::Owner),
            "STAFF" => Some(MemberRole::Staff),
            _ => None,
        }
    }
}

/// A signed-in account as one request sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountIdentity {
    pub account_id: Uuid,
    pub email: String,
    pub role: Role,
    pub suppliers: HashMap<Uuid, MemberRole>,
    pub restaurants: HashMap<Uuid, MemberRole>,
    /// When the presented access token stops being valid.
    pub expires_at: DateTime<Utc>,
    /// The sign-in the token belongs to (Iris's own tokens; an OIDC issuer's sessions are its
    /// own to end).
    pub session_id: Option<Uuid>,
}

/// The caller on whose behalf a domain service acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A request without credentials.
    Anonymous,
    /// Iris itself: seeding, background jobs, the CLI.
    System,
    /// A signed-in account.
    Account(Arc<AccountIdentity>),
    /// An internal worker (e.g. a supplier connector) holding a `SERVICE_TOKENS` token:
    /// exempt from rate limits, with no account and no admin rights.
    Service(Arc<str>),
}

impl Principal {
    pub fn account(&self) -> Option<&AccountIdentity> {
        match self {
            Principal::Account(identity) => Some(identity),
            _ => None,
        }
    }

    pub fn account_id(&self) -> Option<Uuid> {
        self.account().map(|a| a.account_id)
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Principal::System) || self.account().is_some_and(|a| a.role == Role::Admin)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.account().is_some_and(|a| a.role == role)
    }

    pub fn supplier_role(&self, supplier: Uuid) -> Option<MemberRole> {
        self.account()?.suppliers.get(&supplier).copied()
    }

    pub fn restaurant_role(&self, restaurant: Uuid) -> Option<MemberRole> {
        self.account()?.restaurants.get(&restaurant).copied()
    }

    /// The role name the audit log records.
    pub fn audit_role(&self) -> &'static str {
        match self {
            Principal::Anonymous => "ANONYMOUS",
            Principal::System => "SYSTEM",
            Principal::Service(_) => "SERVICE",
            Principal::Account(a) => a.role.as_str(),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Anonymous => f.write_str("anonymous"),
            Principal::System => f.write_str("system"),
            Principal::Account(a) => write!(f, "account:{}", a.account_id),
            Principal::Service(name) => write!(f, "service:{name}"),
        }
    }
}

/// Facts about the request, recorded with audited actions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Who is calling, and through which request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    pub meta: RequestMeta,
}

impl Caller {
    pub fn system() -> Caller {
        Caller {
            principal: Principal::System,
            meta: RequestMeta::default(),
        }
    }

    pub fn anonymous(meta: RequestMeta) -> Caller {
        Caller {
            principal: Principal::Anonymous,
            meta,
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.principal.fmt(f)
    }
}
