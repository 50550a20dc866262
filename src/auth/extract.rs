//! The caller of an HTTP request: `Authorization: Bearer …` resolved once into a [`Caller`],
//! with the request facts the audit log records (request id, peer IP, user agent).

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, header, request::Parts},
};

use super::{Caller, RequestMeta};
use crate::{app::AppState, error::AppError, infra::telemetry::RequestId};

/// Request facts for the audit log.
pub fn request_meta(parts_headers: &HeaderMap, extensions: &axum::http::Extensions) -> RequestMeta {
    RequestMeta {
        request_id: extensions
            .get::<RequestId>()
            .map(|id| id.as_str().to_owned()),
        ip: extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string()),
        user_agent: parts_headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    }
}

/// Extracts the authenticated caller; a bad token is UNAUTHENTICATED (401), no token is an
/// anonymous caller (services decide what anonymous callers may do).
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let meta = request_meta(&parts.headers, &parts.extensions);
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("invalid"));
        let principal = state.services.identity.authenticate(authorization).await?;
        let caller = Caller { principal, meta };
        state.services.identity.check_api_rate(&caller).await?;
        Ok(Authenticated(caller))
    }
}
