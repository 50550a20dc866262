//! Identity: accounts, sign-in, tokens, memberships.
//!
//! Rules:
//! - An account's e-mail is unique (case-insensitively) among live accounts; no password or
//!   hash is ever stored — `DEV_USERS` (local provider) or the identity provider holds them.
//! - Access tokens live 15 minutes; refresh tokens 7 days, stored as hashes, rotated on every
//!   use; presenting a used or revoked refresh token revokes its whole family.
//! - Memberships: an organisation's OWNERs (and admins) add, change and remove members; an
//!   organisation always keeps at least one OWNER; a supplier's members are SUPPLIER accounts,
//!   a restaurant's RESTAURANT accounts.
//! - Logins (both outcomes), refresh-token reuse, logouts and membership changes are audited in
//!   the transaction that makes them.

mod members;
mod service;
mod settings;

pub use members::{Membership, Organisation};
pub(crate) use members::{current_role, put_membership};
pub use service::{AccountView, IdentityService, TokenPair};
pub use settings::{AuthConfig, AuthProvider, DevUser};
