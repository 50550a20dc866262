//! Access and refresh tokens.
//!
//! Access tokens are HS256 JWTs signed with `APP_SECRET`: the algorithm is pinned (so `alg:
//! none` and RS/HS confusion fail), and `exp`, `nbf`, `iss`, `aud` and `sub` are required.
//! `typ: "access"` distinguishes them from any other token, and `sid` names the sign-in
//! (session) it was issued in, which logout ends. Refresh tokens are opaque random
//! strings (`rt_…`); only their SHA-256 is stored.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::Role;
use crate::error::AppError;

pub const ISSUER: &str = "iris";
pub const AUDIENCE: &str = "iris";
const ACCESS: &str = "access";

/// The claims of an Iris access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub sub: String,
    pub role: Role,
    pub typ: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The session (sign-in) the token belongs to: the refresh-token family's id.
    pub sid: Uuid,
}

/// An issued access token with its expiry.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl TokenIssuer {
    pub fn new(secret: &str, access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    pub fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    pub fn issue_access(
        &self,
        account_id: Uuid,
        role: Role,
        session: Uuid,
    ) -> Result<AccessToken, AppError> {
        let now = Utc::now();
        let expires_at = now
            + chrono::Duration::from_std(self.access_ttl)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("access TTL: {e}")))?;
        let claims = AccessClaims {
            sub: account_id.to_string(),
            role,
            typ: ACCESS.into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::now_v7().to_string(),
            sid: session,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("signing a token")))?;
        Ok(AccessToken { token, expires_at })
    }

    /// Verifies signature, algorithm, issuer, audience, validity window and type.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, AppError> {
        let data =
            decode::<AccessClaims>(token, &self.decoding, &self.validation).map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                let why = match e.kind() {
                    ErrorKind::ExpiredSignature => "the access token has expired",
                    ErrorKind::ImmatureSignature => "the access token is not valid yet",
                    ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
                        "the access token was not issued for Iris"
                    }
                    _ => "the access token is invalid",
                };
                AppError::Unauthenticated(why.into())
            })?;
        if data.claims.typ != ACCESS {
            return Err(AppError::Unauthenticated(
                "the token is not an access token".into(),
            ));
        }
        Ok(data.claims)
    }
}

/// A new refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("rt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A new service token for `SERVICE_TOKENS`: `svc_` and 256 random bits.
pub fn new_service_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("svc_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A new single-use invitation token: `inv_` and 256 random bits (stored only hashed).
pub fn new_invitation_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("inv_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored of a refresh (or invitation, or service) token: its SHA-256, hex.
pub fn hash_refresh_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(
            "a-test-secret-that-is-long-enough-123",
            Duration::from_secs(900),
            Duration::from_secs(3600),
        )
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_account() {
        let issuer = issuer();
        let (id, session) = (Uuid::now_v7(), Uuid::now_v7());
        let token = issuer.issue_access(id, Role::Supplier, session).unwrap();
        let claims = issuer.verify_access(&token.token).unwrap();
        assert_eq!(claims.sub, id.to_string());
        assert_eq!(claims.role, Role::Supplier);
        assert_eq!(claims.sid, session);
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_ne!(a, b);
        assert!(a.starts_with("rt_") && a.len() > 40);
        assert_eq!(hash_refresh_token(&a).len(), 64);
        assert_ne!(hash_refresh_token(&a), a);
    }
}
