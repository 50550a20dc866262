//! `/api/v1/admin/audit`: the audit log for admins.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{PaginationDto, extract::ApiQuery};
use crate::{
    domain::platform::audit::{AuditFilter, AuditRecord},
    error::{AppError, ErrorEnvelope},
    web::{ApiState, extract::SignedIn},
};

/// One audited action.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryDto {
    id: Uuid,
    at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor_role: String,
    action: String,
    entity: String,
    entity_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    after: Option<serde_json::Value>,
    request_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl From<AuditRecord> for AuditEntryDto {
    fn from(r: AuditRecord) -> Self {
        AuditEntryDto {
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            actor_role: r.actor_role,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            before: r.before,
            after: r.after,
            request_id: r.request_id,
            ip: r.ip,
            user_agent: r.user_agent,
        }
    }
}

/// A page of audit entries, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditListResponse {
    data: Vec<AuditEntryDto>,
    pagination: PaginationDto,
}

/// Filters and paging of the audit log.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// Entries to skip.
    #[param(minimum = 0, maximum = 1_000_000_000)]
    offset: Option<u64>,
    /// `pagination.nextCursor` of the previous page (its last item's id): the page after that
    /// item, `offset` then skipping further. NOT_FOUND when the item left the list.
    cursor: Option<Uuid>,
    actor_id: Option<Uuid>,
    entity: Option<String>,
    entity_id: Option<String>,
    action: Option<String>,
    /// At or after (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    to: Option<DateTime<Utc>>,
}

/// Read the audit log (admins only).
#[utoipa::path(
    get, path = "/api/v1/admin/audit", tag = "admin",
    params(AuditParams),
    responses(
        (status = 200, description = "Audit entries", body = AuditListResponse),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn audit(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditListResponse>, AppError> {
    let page = super::page_request(params.offset, params.limit, params.cursor)?;
    let filter = AuditFilter {
        actor_id: params.actor_id,
        entity: params.entity,
        entity_id: params.entity_id,
        action: params.action,
        from: params.from,
        to: params.to,
    };
    let result = state
        .services
        .audit
        .list(&caller, &filter, page.clone())
        .await?;
    Ok(Json(AuditListResponse {
        pagination: PaginationDto::of(&page, &result),
        data: result.items.into_iter().map(AuditEntryDto::from).collect(),
    }))
}
