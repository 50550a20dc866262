//! The caller of an HTTP request: `Authorization: Bearer …` resolved once into a [`Caller`],
//! with the request facts the audit log records (request id, client IP, user agent), and the
//! API rate limit counted.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts},
    http::{Extensions, HeaderMap, header, request::Parts},
};

use super::ApiState;
use crate::{
    auth::{Caller, RequestMeta},
    error::AppError,
    infra::telemetry::RequestId,
};

/// The client's address: the TCP peer, or — behind `TRUSTED_PROXY_HOPS` reverse proxies — the
/// address those proxies appended to `X-Forwarded-For` (never one the client could forge).
fn client_ip(headers: &HeaderMap, extensions: &Extensions, trusted_hops: usize) -> Option<String> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if trusted_hops > 0 {
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|ip| ip.trim().parse().ok())
            .collect();
        if let Some(ip) = forwarded
            .len()
            .checked_sub(trusted_hops)
            .map(|i| forwarded[i])
        {
            return Some(ip.to_string());
        }
    }
    peer.map(|ip| ip.to_string())
}

/// Request facts for the audit log.
pub fn request_meta(
    headers: &HeaderMap,
    extensions: &Extensions,
    trusted_hops: usize,
) -> RequestMeta {
    RequestMeta {
        request_id: extensions
            .get::<RequestId>()
            .map(|id| id.as_str().to_owned()),
        ip: client_ip(headers, extensions, trusted_hops),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    }
}

/// The outcome of authenticating a request, for handlers that decide what a bad token means.
pub struct Authentication {
    pub result: Result<Caller, AppError>,
    pub meta: RequestMeta,
}

impl Authentication {
    /// A bad or expired token counts as no token: for sign-in, refresh and sign-out, which a
    /// client reaches exactly when its token has expired.
    pub fn or_anonymous(self) -> Caller {
        self.result.unwrap_or_else(|_| Caller::anonymous(self.meta))
    }
}

impl<S> FromRequestParts<S> for Authentication
where
    ApiState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = &ApiState::from_ref(state);
        let meta = request_meta(
            &parts.headers,
            &parts.extensions,
            state.config.trusted_proxy_hops,
        );
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("invalid"));
        let result = match state.services.identity.authenticate(authorization).await {
            Ok(principal) => {
                let caller = Caller {
                    principal,
                    meta: meta.clone(),
                };
                state
                    .services
                    .identity
                    .check_api_rate(&caller)
                    .await
                    .map(|()| caller)
            }
            Err(err) => Err(err),
        };
        Ok(Authentication { result, meta })
    }
}

/// Extracts the authenticated caller; a bad token is UNAUTHENTICATED (401), no token is an
/// anonymous caller (services decide what anonymous callers may do).
pub struct Authenticated(pub Caller);

impl<S> FromRequestParts<S> for Authenticated
where
    ApiState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Ok(authentication) = Authentication::from_request_parts(parts, state).await;
        authentication.result.map(Authenticated)
    }
}

/// A signed-in caller: no token is UNAUTHENTICATED (401) like a bad one. Routes that need a
/// principal take it first, so a caller without credentials hears 401 before any parameter of
/// the request is judged.
pub struct SignedIn(pub Caller);

impl<S> FromRequestParts<S> for SignedIn
where
    ApiState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Authenticated(caller) = Authenticated::from_request_parts(parts, state).await?;
        match caller.principal {
            crate::auth::Principal::Anonymous => Err(AppError::Unauthenticated(
                "sign in: send `Authorization: Bearer <access token>`".into(),
            )),
            _ => Ok(SignedIn(caller)),
        }
    }
}

/// Like [`Authenticated`], but a bad or expired token is an anonymous caller (rate limits still
/// apply): for the sign-in, refresh and sign-out routes.
pub struct Lenient(pub Caller);

impl<S> FromRequestParts<S> for Lenient
where
    ApiState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Ok(authentication) = Authentication::from_request_parts(parts, state).await;
        match authentication.result {
            Err(AppError::RateLimited { retry_after_secs }) => {
                Err(AppError::RateLimited { retry_after_secs })
            }
            result => {
                Ok(Lenient(result.unwrap_or_else(|_| {
                    Caller::anonymous(authentication.meta)
                })))
            }
        }
    }
}
