//! Identity's settings, built from the environment by `crate::config`.

use std::time::Duration;

use crate::{
    auth::{Role, oidc::OidcConfig},
    infra::ratelimit::Limit,
};

/// How callers prove who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthProvider {
    /// Development: `DEV_USERS` with password hashes; Iris issues HS256 tokens.
    Local,
    /// Production: an OpenID Connect issuer (Clerk or any other) signs the tokens.
    Oidc,
}

/// One `DEV_USERS` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevUser {
    pub email: String,
    pub role: Role,
    pub password_hash: String,
}

/// Authentication settings.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    pub provider: AuthProvider,
    /// Signs access tokens (HS256); at least 32 characters.
    pub app_secret: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub dev_users: Vec<DevUser>,
    /// True when `dev_users` are the built-in demo users (development without `DEV_USERS`).
    pub demo_users: bool,
    /// Set when `provider` is `Oidc`.
    pub oidc: Option<OidcConfig>,
    /// Internal workers' tokens: name and hex SHA-256 of the token (never the token itself).
    pub service_tokens: Vec<(String, String)>,
    /// Sign-in attempts per e-mail address per window.
    pub login_limit_per_email: Limit,
    /// Sign-in attempts per IP address per window.
    pub login_limit_per_ip: Limit,
    /// API requests per account (or, when anonymous, per IP address) per window.
    pub api_limit: Limit,
    /// How long a caller's account and memberships are reused without a statement (changes
    /// are forgotten at once on every process through the bus; this bounds a lost notice).
    /// Zero: every request reads them.
    pub caller_cache_ttl: Duration,
}
