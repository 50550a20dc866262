//! `/api/v1/suppliers`: the REST face of the supplier service.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    MoneyDto, PaginationDto,
    extract::{ApiJson, ApiPath, ApiQuery},
    parse_sort,
};
use crate::{
    domain::{
        kernel::weekday::Weekday,
        suppliers::{
            NewSupplier, Supplier, SupplierChanges, SupplierFilter, SupplierSort, SupplierSortField,
        },
    },
    error::{AppError, ErrorEnvelope},
    web::{
        ApiState,
        extract::{Authenticated, SignedIn},
    },
};

/// A wholesale supplier.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupplierDto {
    id: Uuid,
    name: String,
    /// Swedish organisation number, `NNNNNN-NNNN`.
    organisation_number: String,
    contact_email: String,
    city: String,
    /// ISO 4217 code of every amount this supplier quotes.
    currency: String,
    minimum_order_value: MoneyDto,
    /// Delivery weekdays, Monday first.
    #[schema(value_type = Vec<String>, example = json!(["MONDAY", "THURSDAY"]))]
    delivery_days: Vec<Weekday>,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Supplier> for SupplierDto {
    fn from(s: Supplier) -> Self {
        SupplierDto {
            id: s.id,
            name: s.name,
            organisation_number: s.organisation_number,
            contact_email: s.contact_email,
            city: s.city,
            currency: s.currency.as_str().to_owned(),
            minimum_order_value: s.minimum_order_value.into(),
            delivery_days: s.delivery_days.days(),
            active: s.active,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// One supplier.
#[derive(Serialize, ToSchema)]
pub struct SupplierResponse {
    data: SupplierDto,
}

/// A page of suppliers.
#[derive(Serialize, ToSchema)]
pub struct SupplierListResponse {
    data: Vec<SupplierDto>,
    pagination: PaginationDto,
}

/// A day of the week.
#[derive(ToSchema)]
#[allow(dead_code)] // Only its schema is used: requests parse into `kernel::weekday::Weekday`.
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WeekdayName {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// A new supplier.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSupplierRequest {
    /// Trading name (1–200 characters).
    #[schema(format = "iris-text", max_length = 200)]
    name: String,
    /// Swedish organisation number (Luhn check digit), with or without the dash.
    #[schema(format = "se-organisation-number", example = "556703-7485")]
    organisation_number: String,
    #[schema(format = Email)]
    contact_email: String,
    #[schema(format = "iris-text", max_length = 100)]
    city: String,
    /// ISO 4217 code; SEK when absent.
    #[schema(pattern = "^(SEK|NOK|DKK|EUR|ISK|GBP|USD|CHF|PLN)$")]
    currency: Option<String>,
    /// Decimal string, at most 3 decimals; 0 when absent.
    #[schema(value_type = Option<String>, format = "iris-amount", example = "1500.00")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    minimum_order_value: Option<Decimal>,
    /// At least one weekday.
    #[schema(value_type = Vec<WeekdayName>, min_items = 1, example = json!(["MONDAY", "THURSDAY"]))]
    delivery_days: Vec<Weekday>,
    /// True when absent.
    active: Option<bool>,
}

/// Changes to a supplier; only the fields given change.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSupplierRequest {
    #[schema(format = "iris-text", max_length = 200)]
    name: Option<String>,
    #[schema(format = "se-organisation-number", example = "556703-7485")]
    organisation_number: Option<String>,
    #[schema(format = Email)]
    contact_email: Option<String>,
    #[schema(format = "iris-text", max_length = 100)]
    city: Option<String>,
    #[schema(pattern = "^(SEK|NOK|DKK|EUR|ISK|GBP|USD|CHF|PLN)$")]
    currency: Option<String>,
    #[schema(value_type = Option<String>, format = "iris-amount", example = "2000")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    minimum_order_value: Option<Decimal>,
    #[schema(value_type = Option<Vec<WeekdayName>>, min_items = 1, example = json!(["TUESDAY"]))]
    delivery_days: Option<Vec<Weekday>>,
    active: Option<bool>,
}

/// Paging, filters and sort of the supplier list.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListSuppliersParams {
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, maximum = 1_000_000_000)]
    offset: Option<u64>,
    /// `pagination.nextCursor` of the previous page (its last item's id): the page after that
    /// item, `offset` then skipping further. NOT_FOUND when the item left the list.
    cursor: Option<Uuid>,
    /// Case-insensitive part of the name.
    name: Option<String>,
    /// City, case-insensitive.
    city: Option<String>,
    /// Only active (true) or inactive (false) suppliers.
    active: Option<bool>,
    /// `name`, `city` or `createdAt`; prefix `-` for descending (default `name`).
    #[param(pattern = r"^-?(name|city|createdAt)$")]
    sort: Option<String>,
}

/// List suppliers.
#[utoipa::path(
    get, path = "/api/v1/suppliers", tag = "suppliers",
    params(ListSuppliersParams),
    responses(
        (status = 200, description = "A page of suppliers", body = SupplierListResponse),
        (status = 400, description = "Malformed query string", body = ErrorEnvelope),
        (status = 422, description = "A parameter breaks a rule", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<ListSuppliersParams>,
) -> Result<Json<SupplierListResponse>, AppError> {
    let page = super::page_request(params.offset, params.limit, params.cursor)?;
    let sort = parse_sort(
        params.sort.as_deref(),
        &[
            ("name", SupplierSortField::Name),
            ("city", SupplierSortField::City),
            ("createdAt", SupplierSortField::CreatedAt),
        ],
    )?
    .map(|(field, direction)| SupplierSort { field, direction })
    .unwrap_or_default();
    let filter = SupplierFilter {
        name_contains: params.name,
        city: params.city,
        active: params.active,
    };
    let result = state
        .services
        .suppliers
        .list(&caller, &filter, sort, page.clone())
        .await?;
    Ok(Json(SupplierListResponse {
        pagination: PaginationDto::of(&page, &result),
        data: result.items.into_iter().map(SupplierDto::from).collect(),
    }))
}

/// Get one supplier.
#[utoipa::path(
    get, path = "/api/v1/suppliers/{id}", tag = "suppliers",
    params(("id" = Uuid, Path, description = "Supplier id")),
    responses(
        (status = 200, description = "The supplier", body = SupplierResponse),
        (status = 400, description = "The id is not a UUID", body = ErrorEnvelope),
        (status = 404, description = "No such supplier", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<SupplierResponse>, AppError> {
    let supplier = state.services.suppliers.get(&caller, id).await?;
    Ok(Json(SupplierResponse {
        data: supplier.into(),
    }))
}

/// Register a supplier.
#[utoipa::path(
    post, path = "/api/v1/suppliers", tag = "suppliers",
    request_body = CreateSupplierRequest,
    responses(
        (status = 201, description = "Created; `Location` names the new supplier", body = SupplierResponse),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 409, description = "Organisation number already registered", body = ErrorEnvelope),
        (status = 415, description = "Not application/json", body = ErrorEnvelope),
        (status = 422, description = "A field breaks a rule", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<CreateSupplierRequest>,
) -> Result<Response, AppError> {
    let supplier = state
        .services
        .suppliers
        .create(
            &caller,
            NewSupplier {
                name: body.name,
                organisation_number: body.organisation_number,
                contact_email: body.contact_email,
                city: body.city,
                currency: body.currency,
                minimum_order_value: body.minimum_order_value,
                delivery_days: body.delivery_days,
                active: body.active,
            },
        )
        .await?;
    let location = format!("/api/v1/suppliers/{}", supplier.id);
    let mut response = (
        StatusCode::CREATED,
        Json(SupplierResponse {
            data: supplier.into(),
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Change some fields of a supplier.
#[utoipa::path(
    patch, path = "/api/v1/suppliers/{id}", tag = "suppliers",
    params(("id" = Uuid, Path, description = "Supplier id")),
    request_body = UpdateSupplierRequest,
    responses(
        (status = 200, description = "The supplier after the change", body = SupplierResponse),
        (status = 400, description = "Malformed JSON or id", body = ErrorEnvelope),
        (status = 404, description = "No such supplier", body = ErrorEnvelope),
        (status = 409, description = "Organisation number already registered", body = ErrorEnvelope),
        (status = 422, description = "A field breaks a rule", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateSupplierRequest>,
) -> Result<Json<SupplierResponse>, AppError> {
    let supplier = state
        .services
        .suppliers
        .update(
            &caller,
            id,
            SupplierChanges {
                name: body.name,
                organisation_number: body.organisation_number,
                contact_email: body.contact_email,
                city: body.city,
                currency: body.currency,
                minimum_order_value: body.minimum_order_value,
                delivery_days: body.delivery_days,
                active: body.active,
            },
        )
        .await?;
    Ok(Json(SupplierResponse {
        data: supplier.into(),
    }))
}

/// Delete a supplier (soft: kept for order history).
#[utoipa::path(
    delete, path = "/api/v1/suppliers/{id}", tag = "suppliers",
    params(("id" = Uuid, Path, description = "Supplier id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID", body = ErrorEnvelope),
        (status = 404, description = "No such supplier", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    state.services.suppliers.delete(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
