//! Verification of an OpenID Connect issuer's tokens (Clerk or any other).
//!
//! The algorithm is pinned by configuration (asymmetric only), `exp`, `iss`, `aud` and `sub`
//! are required, and keys come from the issuer's JWKS: cached, and fetched again when a token
//! names a key id the cache does not know (key rotation) — at most every 30 seconds by default, so forged
//! key ids cannot make Iris hammer the issuer (`OIDC_JWKS_MIN_REFETCH_SECS`).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use serde_json::Value;
use tokio::sync::Mutex;

use super::Role;
use crate::error::AppError;

/// The OpenID Connect issuer whose tokens Iris accepts (`AUTH_PROVIDER=oidc`).
#[derive(Clone, Debug)]
pub struct OidcConfig {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
    /// The one algorithm accepted (asymmetric only).
    pub algorithm: jsonwebtoken::Algorithm,
    /// Dot path of the e-mail claim, e.g. `email`.
    pub email_claim: String,
    /// Dot path of the role claim, e.g. `public_metadata.role`.
    pub role_claim: String,
    /// Role of accounts whose token has no role claim; none means such tokens are refused.
    pub default_role: Option<Role>,
    /// Base URL of the provider's user API (Clerk Backend API) used by `register`.
    pub users_api_url: String,
    /// Server key of that API; without it `register` is unavailable.
    pub users_api_key: Option<String>,
    /// An unknown key id refetches the JWKS at most this often.
    pub jwks_min_refetch: Duration,
    /// Accounts are created or linked by e-mail only when the token says `email_verified`.
    pub require_verified_email: bool,
    /// Verified e-mails that become ADMIN accounts; a role claim never grants ADMIN.
    pub admin_emails: Vec<String>,
}

const KEYS_FRESH_FOR: Duration = Duration::from_secs(600);

/// What Iris takes from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcIdentity {
    pub subject: String,
    pub email: Option<String>,
    /// Whether the issuer vouches for the e-mail (`email_verified`).
    pub email_verified: bool,
    pub role: Option<Role>,
    pub expires_at: DateTime<Utc>,
}

struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

pub struct OidcVerifier {
    config: OidcConfig,
    http: reqwest::Client,
    cache: Mutex<KeyCache>,
}

fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(claims, |value, part| value.get(part))
}

impl OidcVerifier {
    pub fn new(config: OidcConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            config,
            http,
            cache: Mutex::new(KeyCache {
                keys: HashMap::new(),
                fetched_at: None,
            }),
        }
    }

    async fn fetch_keys(&self) -> anyhow::Result<HashMap<String, DecodingKey>> {
        let set: JwkSet = self
            .http
            .get(&self.config.jwks_url)
            .send()
            .await
            .context("fetching the issuer's JWKS")?
            .error_for_status()
            .context("the issuer's JWKS endpoint answered with an error")?
            .json()
            .await
            .context("the issuer's JWKS is not a JWK set")?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect())
    }

    /// The key with `kid`, refreshing the cache when it is stale or does not know the id.
    async fn key(&self, kid: &str) -> Result<DecodingKey, AppError> {
        let mut cache = self.cache.lock().await;
        let stale = cache
            .fetched_at
            .is_none_or(|at| at.elapsed() > KEYS_FRESH_FOR);
        let may_refetch = cache
            .fetched_at
            .is_none_or(|at| at.elapsed() >= self.config.jwks_min_refetch);
        if stale || (!cache.keys.contains_key(kid) && may_refetch) {
            match self.fetch_keys().await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched_at = Some(Instant::now());
                }
                Err(error) if cache.keys.is_empty() => {
                    tracing::error!(error = ?error, "cannot fetch the issuer's signing keys");
                    return Err(AppError::Unavailable(
                        "the identity provider's keys are unavailable".into(),
                    ));
                }
                Err(error) => {
                    // Back off: the next attempt waits like a successful fetch would have.
                    cache.fetched_at = Some(Instant::now());
                    tracing::warn!(error = ?error, "JWKS refresh failed; using cached keys");
                }
            }
        }
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| AppError::Unauthenticated("the token's signing key is unknown".into()))
    }

    pub async fn verify(&self, token: &str) -> Result<OidcIdentity, AppError> {
        let invalid = || AppError::Unauthenticated("the access token is invalid".into());
        let header = decode_header(token).map_err(|_| invalid())?;
        if header.alg != self.config.algorithm {
            return Err(AppError::Unauthenticated(
                "the access token uses an algorithm Iris does not accept".into(),
            ));
        }
        let kid = header.kid.ok_or_else(invalid)?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(self.config.algorithm);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        let data = decode::<Value>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            AppError::Unauthenticated(
                match e.kind() {
                    ErrorKind::ExpiredSignature => "the access token has expired",
                    ErrorKind::ImmatureSignature => "the access token is not valid yet",
                    ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
                        "the access token was not issued for Iris"
                    }
                    _ => "the access token is invalid",
                }
                .into(),
            )
        })?;
        let claims = data.claims;
        let subject = claims["sub"].as_str().ok_or_else(invalid)?.to_owned();
        let expires_at = claims["exp"]
            .as_i64()
            .and_then(|exp| DateTime::from_timestamp(exp, 0))
            .ok_or_else(invalid)?;
        let email = claim(&claims, &self.config.email_claim)
            .and_then(Value::as_str)
            .map(|e| e.trim().to_ascii_lowercase());
        let email_verified = claims["email_verified"].as_bool() == Some(true);
        let admin = email_verified
            && email
                .as_ref()
                .is_some_and(|e| self.config.admin_emails.contains(e));
        // A claim never grants ADMIN: claims may come from user-editable metadata.
        let claimed = claim(&claims, &self.config.role_claim)
            .and_then(Value::as_str)
            .and_then(Role::parse)
            .filter(|role| *role != Role::Admin);
        Ok(OidcIdentity {
            subject,
            email,
            email_verified: email_verified || !self.config.require_verified_email,
            role: if admin {
                Some(Role::Admin)
            } else {
                claimed.or(self.config.default_role)
            },
            expires_at,
        })
    }
}

/// The identity provider's user API (Clerk Backend API): `register` creates users there, so the
/// password goes to the provider and nowhere else.
pub struct ProviderUsers {
    base_url: String,
    secret_key: Option<String>,
    http: reqwest::Client,
}

impl ProviderUsers {
    pub fn new(config: &OidcConfig) -> Self {
        Self {
            base_url: config.users_api_url.clone(),
            secret_key: config.users_api_key.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    /// Creates the user; returns the provider's user id (the tokens' `sub`).
    pub async fn create_user(
        &self,
        email: &str,
        password: &str,
        role: Role,
        display_name: Option<&str>,
    ) -> Result<String, AppError> {
        let Some(key) = &self.secret_key else {
            return Err(AppError::Unavailable(
                "registration is not configured (CLERK_SECRET_KEY)".into(),
            ));
        };
        let mut body = serde_json::json!({
            "email_address": [email],
            "password": password,
            "public_metadata": { "role": role.as_str() },
        });
        if let Some(name) = display_name {
            body["first_name"] = Value::String(name.to_owned());
        }
        let response = self
            .http
            .post(format!("{}/users", self.base_url))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                // The error names the URL, never the body: the password stays out of logs.
                tracing::error!(error = %e.without_url(), "identity provider unreachable");
                AppError::Unavailable("the identity provider is unavailable".into())
            })?;
        let status = response.status();
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return reply["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("the provider's reply has no user id").into());
        }
        if status.as_u16() == 422 || status.as_u16() == 400 {
            let first = &reply["errors"][0];
            let field = match first["meta"]["param_name"].as_str() {
                Some("password") => "password",
                _ => "email",
            };
            let message = first["long_message"]
                .as_str()
                .or(first["message"].as_str())
                .unwrap_or("was refused by the identity provider");
            return Err(AppError::validation(field, message));
        }
        tracing::error!(
            status = status.as_u16(),
            "identity provider refused to create a user"
        );
        Err(AppError::Unavailable(
            "the identity provider is unavailable".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::claim;
    use serde_json::json;

    #[test]
    fn claims_are_found_by_dot_path() {
        let claims = json!({ "email": "a@b.se", "public_metadata": { "role": "SUPPLIER" } });
        assert_eq!(
            claim(&claims, "public_metadata.role"),
            Some(&json!("SUPPLIER"))
        );
        assert_eq!(claim(&claims, "email"), Some(&json!("a@b.se")));
        assert_eq!(claim(&claims, "missing.path"), None);
    }
}
