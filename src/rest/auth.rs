//! `/api/v1/auth/*` and `/api/v1/me`: sign-in, token refresh, sign-out, the current account.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::ApiJson;
use crate::{
    domain::identity::{AccountView, TokenPair},
    error::{AppError, ErrorEnvelope},
    web::{
        ApiState,
        extract::{Lenient, SignedIn},
    },
};

/// Credentials of a `DEV_USERS` user.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

/// A refresh token.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

/// The session to end.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogoutRequest {
    /// The session's refresh token; without it, the session of the bearer token ends.
    refresh_token: Option<String>,
}

/// Tokens for API calls.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <accessToken>`.
    access_token: String,
    /// Single-use; exchange at `/api/v1/auth/refresh`.
    refresh_token: String,
    /// When the access token expires.
    expires_at: DateTime<Utc>,
}

impl From<TokenPair> for TokenResponse {
    fn from(p: TokenPair) -> Self {
        TokenResponse {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            expires_at: p.expires_at,
        }
    }
}

/// A new user.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    email: String,
    /// Forwarded to the identity provider; never stored.
    password: String,
    /// SUPPLIER or RESTAURANT.
    #[schema(value_type = String, example = "RESTAURANT")]
    role: crate::auth::Role,
    display_name: Option<String>,
}

/// Create a user at the identity provider and its Iris account (AUTH_PROVIDER=oidc).
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered; sign in at the identity provider", body = MeResponse),
        (status = 400, description = "Registration is not available with AUTH_PROVIDER=local", body = ErrorEnvelope),
        (status = 409, description = "The e-mail has an account", body = ErrorEnvelope),
        (status = 422, description = "A field breaks a rule (the provider's rules included)", body = ErrorEnvelope),
    )
)]
pub async fn register(
    State(state): State<ApiState>,
    Lenient(caller): Lenient,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<MeResponse>), AppError> {
    let account = state
        .services
        .identity
        .register(
            &caller,
            &body.email,
            body.password,
            body.role,
            body.display_name,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(me_response(account))))
}

/// Sign in with e-mail and password (AUTH_PROVIDER=local).
#[utoipa::path(
    post, path = "/api/v1/auth/dev/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong e-mail or password", body = ErrorEnvelope),
        (status = 422, description = "Malformed body", body = ErrorEnvelope),
    )
)]
pub async fn dev_login(
    State(state): State<ApiState>,
    Lenient(caller): Lenient,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, AppError> {
    let pair = state
        .services
        .identity
        .login(&caller, &body.email, body.password)
        .await?;
    Ok(Json(pair.into()))
}

/// Exchange a refresh token for new tokens (single use; reuse revokes the login).
#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Invalid, expired, used or revoked refresh token", body = ErrorEnvelope),
    )
)]
pub async fn refresh(
    State(state): State<ApiState>,
    Lenient(caller): Lenient,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, AppError> {
    let pair = state
        .services
        .identity
        .refresh(&caller, &body.refresh_token)
        .await?;
    Ok(Json(pair.into()))
}

/// Sign out: the refresh token's login can no longer be refreshed.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth",
    request_body = LogoutRequest,
    responses((status = 204, description = "Signed out: the session's refresh and access tokens stop working"))
)]
pub async fn logout(
    State(state): State<ApiState>,
    Lenient(caller): Lenient,
    ApiJson(body): ApiJson<LogoutRequest>,
) -> Result<StatusCode, AppError> {
    state
        .services
        .identity
        .logout(&caller, body.refresh_token.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One membership.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipDto {
    organisation_id: Uuid,
    /// OWNER or STAFF.
    role: &'static str,
}

/// The signed-in account.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeDto {
    id: Uuid,
    email: String,
    /// ADMIN, SUPPLIER or RESTAURANT.
    role: &'static str,
    display_name: String,
    suppliers: Vec<MembershipDto>,
    restaurants: Vec<MembershipDto>,
}

/// The signed-in account.
#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    data: MeDto,
}

/// The signed-in account and its memberships.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "auth",
    responses(
        (status = 200, description = "The account", body = MeResponse),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn me(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<MeResponse>, AppError> {
    let me = state.services.identity.me(&caller).await?;
    Ok(Json(me_response(me)))
}

fn me_response(me: AccountView) -> MeResponse {
    let memberships = |list: Vec<(Uuid, crate::auth::MemberRole)>| {
        list.into_iter()
            .map(|(organisation_id, role)| MembershipDto {
                organisation_id,
                role: role.as_str(),
            })
            .collect()
    };
    MeResponse {
        data: MeDto {
            id: me.id,
            email: me.email,
            role: me.role.as_str(),
            display_name: me.display_name,
            suppliers: memberships(me.suppliers),
            restaurants: memberships(me.restaurants),
        },
    }
}
