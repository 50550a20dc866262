//! Invoices over REST: upload (`POST /invoices`, multipart), list and read, the original
//! document, line corrections, approval, disputes and their answers, and a supplier's
//! matching tolerance.

use axum::{
    Json,
    extract::{Multipart, State, multipart::MultipartRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    MoneyDto, PaginationDto,
    extract::{ApiJson, ApiPath, ApiQuery},
};
use crate::{
    domain::invoicing::{
        Dispute, Invoice, InvoiceFilter, InvoiceLine, InvoiceStatus, LineCorrection, NewInvoice,
        templates::{Template, TemplateInput},
    },
    error::{AppError, ErrorEnvelope},
    web::{ApiState, extract::SignedIn},
};

/// One line of an invoice and how it matched the order.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceLineDto {
    line_number: i32,
    sku: Option<String>,
    gtin: Option<String>,
    description: String,
    unit: Option<String>,
    #[schema(value_type = String)]
    quantity: Decimal,
    #[schema(value_type = String)]
    unit_price: Decimal,
    #[schema(value_type = String)]
    line_total: Decimal,
    /// VAT percent.
    #[schema(value_type = Option<String>)]
    tax_rate: Option<Decimal>,
    /// UBL, CSV, PDF, OCR or MANUAL.
    source: &'static str,
    /// 0–1.
    #[schema(value_type = String)]
    confidence: Decimal,
    order_line_id: Option<Uuid>,
    product_id: Option<Uuid>,
    /// SKU, GTIN or NAME.
    matched_by: Option<&'static str>,
    /// MATCHED, PRICE_MISMATCH, QUANTITY_MISMATCH or NOT_ORDERED.
    outcome: Option<&'static str>,
    #[schema(value_type = Option<String>)]
    expected_quantity: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    expected_unit_price: Option<Decimal>,
    corrected_at: Option<DateTime<Utc>>,
}

impl From<InvoiceLine> for InvoiceLineDto {
    fn from(l: InvoiceLine) -> Self {
        InvoiceLineDto {
            line_number: l.line_number,
            sku: l.sku,
            gtin: l.gtin,
            description: l.description,
            unit: l.unit,
            quantity: l.quantity,
            unit_price: l.unit_price,
            line_total: l.line_total,
            tax_rate: l.tax_rate,
            source: l.source.as_str(),
            confidence: l.confidence,
            order_line_id: l.order_line_id,
            product_id: l.product_id,
            matched_by: l.matched_by.map(|m| m.as_str()),
            outcome: l.outcome.map(|o| o.as_str()),
            expected_quantity: l.expected_quantity,
            expected_unit_price: l.expected_unit_price,
            corrected_at: l.corrected_at,
        }
    }
}

/// A credit request against an invoice.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisputeDto {
    id: Uuid,
    invoice_id: Uuid,
    message: String,
    /// Each difference with the amount asked back (before VAT).
    #[schema(value_type = Vec<Object>)]
    items: serde_json::Value,
    credit_requested: MoneyDto,
    /// OPEN, ACCEPTED or REJECTED.
    status: &'static str,
    answer: Option<String>,
    answered_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<Dispute> for DisputeDto {
    fn from(d: Dispute) -> Self {
        DisputeDto {
            id: d.id,
            invoice_id: d.invoice_id,
            message: d.message,
            items: serde_json::json!(d.items),
            credit_requested: MoneyDto {
                amount: d.credit_requested,
                currency: d.currency,
            },
            status: d.status.as_str(),
            answer: d.answer,
            answered_at: d.answered_at,
            created_at: d.created_at,
        }
    }
}

/// The document an invoice was read from.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentDto {
    /// PDF, PNG, JPEG, TIFF, XML or TEXT (read from the bytes).
    kind: String,
    sha256: String,
    size: i64,
    file_name: Option<String>,
    /// Where to download it.
    url: String,
}

/// A supplier's invoice to a restaurant.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceDto {
    id: Uuid,
    supplier_id: Uuid,
    restaurant_id: Uuid,
    order_id: Option<Uuid>,
    /// UPLOADED, EXTRACTED, MATCHED, NEEDS_REVIEW, DISPUTED or APPROVED.
    status: &'static str,
    /// UBL, CSV, PDF, OCR or MANUAL.
    source: Option<&'static str>,
    review_reason: Option<String>,
    invoice_number: Option<String>,
    issue_date: Option<NaiveDate>,
    due_date: Option<NaiveDate>,
    order_reference: Option<String>,
    currency: Option<String>,
    #[schema(value_type = Option<String>)]
    subtotal: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    tax: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    total: Option<Decimal>,
    /// 0–1: the lowest confidence of what was read.
    #[schema(value_type = Option<String>)]
    confidence: Option<Decimal>,
    document: DocumentDto,
    /// Progress, and each header field's source and confidence.
    #[schema(value_type = Object)]
    extraction: serde_json::Value,
    /// How it compared with its order (tolerance, totals, missing lines, problems).
    #[schema(value_type = Option<Object>)]
    reconciliation: Option<serde_json::Value>,
    approved_at: Option<DateTime<Utc>>,
    override_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// With `GET /invoices/{id}` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    lines: Option<Vec<InvoiceLineDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disputes: Option<Vec<DisputeDto>>,
}

impl From<Invoice> for InvoiceDto {
    fn from(i: Invoice) -> Self {
        InvoiceDto {
            document: DocumentDto {
                url: format!("/api/v1/invoices/{}/document", i.id),
                kind: i.document.kind,
                sha256: i.document.sha256,
                size: i.document.size,
                file_name: i.document.file_name,
            },
            id: i.id,
            supplier_id: i.supplier_id,
            restaurant_id: i.restaurant_id,
            order_id: i.order_id,
            status: i.status.as_str(),
            source: i.source.map(|s| s.as_str()),
            review_reason: i.review_reason,
            invoice_number: i.invoice_number,
            issue_date: i.issue_date,
            due_date: i.due_date,
            order_reference: i.order_reference,
            currency: i.currency,
            subtotal: i.subtotal,
            tax: i.tax,
            total: i.total,
            confidence: i.confidence,
            extraction: i.extraction,
            reconciliation: i.reconciliation,
            approved_at: i.approved_at,
            override_reason: i.override_reason,
            created_at: i.created_at,
            updated_at: i.updated_at,
            lines: None,
            disputes: None,
        }
    }
}

/// One invoice.
#[derive(Serialize, ToSchema)]
pub struct InvoiceResponse {
    data: InvoiceDto,
}

/// A page of invoices.
#[derive(Serialize, ToSchema)]
pub struct InvoiceListResponse {
    data: Vec<InvoiceDto>,
    pagination: PaginationDto,
}

/// One dispute.
#[derive(Serialize, ToSchema)]
pub struct DisputeResponse {
    data: DisputeDto,
}

/// An invoice upload (multipart/form-data); no other part.
#[derive(ToSchema, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct UploadInvoiceForm {
    /// The supplier that issued it.
    #[schema(value_type = String, format = Uuid)]
    supplier_id: Uuid,
    /// The restaurant it is addressed to.
    #[schema(value_type = String, format = Uuid)]
    restaurant_id: Uuid,
    /// The document: Peppol/UBL XML, CSV, PDF or an image.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

fn multipart_error(rejection: impl std::fmt::Display) -> AppError {
    AppError::BadRequest(format!(
        "The body is not a multipart/form-data upload with `supplierId`, `restaurantId` and `file`: {rejection}"
    ))
}

fn uuid_field(field: &str, raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw.trim()).map_err(|_| AppError::validation(field, "must be a UUID"))
}

/// Uploads an invoice (the restaurant's members; the supplier's members for a restaurant that
/// ordered from them; admins). 201 with the new invoice, being read in the background; 200
/// with the earlier invoice when the same document was uploaded for the same parties.
#[utoipa::path(
    post, path = "/api/v1/invoices", tag = "invoices",
    request_body(content = UploadInvoiceForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Uploaded; extraction runs", body = InvoiceResponse),
        (status = 200, description = "The same document was uploaded before", body = InvoiceResponse),
        (status = 400, description = "Not a multipart upload", body = ErrorEnvelope),
        (status = 403, description = "Not a party", body = ErrorEnvelope),
        (status = 413, description = "Larger than STORAGE_MAX_BYTES", body = ErrorEnvelope),
        (status = 415, description = "Not multipart/form-data", body = ErrorEnvelope),
        (status = 422, description = "A field breaks a rule (a kind Iris cannot read, say)", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let mut multipart = multipart.map_err(|rejection| match rejection {
        MultipartRejection::InvalidBoundary(_) => multipart_error(rejection),
        other => AppError::UnsupportedMediaType(format!(
            "Content-Type must be multipart/form-data: {other}"
        )),
    })?;
    let limit = state.services.storage.max_bytes();
    let (mut supplier, mut restaurant, mut file) = (None, None, None);
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge {
                limit_bytes: Some(limit),
            }
        } else {
            multipart_error(e)
        }
    })? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "supplierId" | "restaurantId" => {
                let text = field.text().await.map_err(multipart_error)?;
                let id = uuid_field(&name, &text)?;
                if name == "supplierId" {
                    supplier = Some(id);
                } else {
                    restaurant = Some(id);
                }
            }
            "file" => {
                let file_name = field.file_name().map(str::to_owned);
                let bytes = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        AppError::PayloadTooLarge {
                            limit_bytes: Some(limit),
                        }
                    } else {
                        multipart_error(e)
                    }
                })?;
                file = Some((file_name, bytes.to_vec()));
            }
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(AppError::validation(
                    shown,
                    "is not a field of an invoice upload (supplierId, restaurantId, file)",
                ));
            }
        }
    }
    let has_file = file.is_some();
    let (Some(supplier_id), Some(restaurant_id), Some((file_name, bytes))) =
        (supplier, restaurant, file)
    else {
        let mut missing = Vec::new();
        for (field, absent) in [
            ("supplierId", supplier.is_none()),
            ("restaurantId", restaurant.is_none()),
            ("file", !has_file),
        ] {
            if absent {
                missing.push(crate::error::FieldViolation {
                    field: field.into(),
                    message: "is required".into(),
                });
            }
        }
        return Err(AppError::Validation(missing));
    };
    let uploaded = state
        .services
        .invoices
        .upload(
            &caller,
            NewInvoice {
                supplier_id,
                restaurant_id,
                file_name,
            },
            bytes,
        )
        .await?;
    let status = if uploaded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!("/api/v1/invoices/{}", uploaded.invoice.id);
    let mut response = (
        status,
        Json(InvoiceResponse {
            data: uploaded.invoice.into(),
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Paging and filters of the invoice list.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListInvoicesParams {
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// Items to skip.
    #[param(minimum = 0, maximum = 1_000_000_000)]
    offset: Option<u64>,
    /// `pagination.nextCursor` of the previous page.
    cursor: Option<Uuid>,
    /// Comma-separated statuses, e.g. `NEEDS_REVIEW,DISPUTED`.
    #[param(
        pattern = "^(UPLOADED|EXTRACTED|MATCHED|NEEDS_REVIEW|DISPUTED|APPROVED)(,(UPLOADED|EXTRACTED|MATCHED|NEEDS_REVIEW|DISPUTED|APPROVED))*$"
    )]
    status: Option<String>,
    supplier_id: Option<Uuid>,
    restaurant_id: Option<Uuid>,
    order_id: Option<Uuid>,
}

/// The caller's invoices, newest first: a restaurant's received, a supplier's sent, all for
/// admins.
#[utoipa::path(
    get, path = "/api/v1/invoices", tag = "invoices",
    params(ListInvoicesParams),
    responses(
        (status = 200, description = "A page of invoices (without lines)", body = InvoiceListResponse),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 422, description = "A parameter breaks a rule", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiQuery(params): ApiQuery<ListInvoicesParams>,
) -> Result<Json<InvoiceListResponse>, AppError> {
    let page = super::page_request(params.offset, params.limit, params.cursor)?;
    let statuses = match params.status.as_deref() {
        None => Vec::new(),
        Some(raw) => raw
            .split(',')
            .map(|s| {
                InvoiceStatus::parse(s)
                    .ok_or_else(|| AppError::validation("status", format!("`{s}` is not a status")))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let filter = InvoiceFilter {
        statuses,
        supplier_id: params.supplier_id,
        restaurant_id: params.restaurant_id,
        order_id: params.order_id,
    };
    let result = state
        .services
        .invoices
        .list(&caller, &filter, page.clone())
        .await?;
    Ok(Json(InvoiceListResponse {
        pagination: PaginationDto::of(&page, &result),
        data: result.items.into_iter().map(InvoiceDto::from).collect(),
    }))
}

async fn full(state: &ApiState, invoice: Invoice) -> Result<InvoiceDto, AppError> {
    let id = invoice.id;
    let services = &state.services.invoices;
    let lines = services.lines_by_invoice(&[id]).await?.remove(&id);
    let disputes = services.disputes_by_invoice(&[id]).await?.remove(&id);
    let mut dto = InvoiceDto::from(invoice);
    dto.lines = Some(
        lines
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect(),
    );
    dto.disputes = Some(
        disputes
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect(),
    );
    Ok(dto)
}

/// One invoice with its lines and disputes (its parties and admins).
#[utoipa::path(
    get, path = "/api/v1/invoices/{id}", tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "The invoice", body = InvoiceResponse),
        (status = 404, description = "No such invoice, or not the caller's", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<InvoiceResponse>, AppError> {
    let invoice = state.services.invoices.get(&caller, id).await?;
    Ok(Json(InvoiceResponse {
        data: full(&state, invoice).await?,
    }))
}

/// The document an invoice was read from, as uploaded.
#[utoipa::path(
    get, path = "/api/v1/invoices/{id}/document", tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "The document, with the media type read from its bytes", content(
            (Vec<u8> = "application/pdf"),
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/tiff"),
            (Vec<u8> = "application/xml"),
            (Vec<u8> = "text/plain"),
        )),
        (status = 404, description = "No such invoice, or not the caller's", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn document(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, AppError> {
    let (_, bytes, media) = state.services.invoices.document(&caller, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// A correction of one line (all fields optional for an existing line).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorrectLineRequest {
    /// Blank: none.
    #[schema(format = "iris-optional-text", max_length = 64)]
    sku: Option<String>,
    #[schema(format = "iris-optional-text", max_length = 500)]
    description: Option<String>,
    #[serde(default, deserialize_with = "super::exact_decimal")]
    #[schema(value_type = Option<String>, format = "iris-price")]
    quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "super::exact_decimal")]
    #[schema(value_type = Option<String>, format = "iris-price")]
    unit_price: Option<Decimal>,
    /// VAT percent.
    #[serde(default, deserialize_with = "super::exact_decimal")]
    #[schema(value_type = Option<String>, format = "iris-tax-rate")]
    tax_rate: Option<Decimal>,
}

/// Corrects one line by hand, or adds one with the next line number (members of either
/// party); the invoice is reconciled again. Audited.
#[utoipa::path(
    put, path = "/api/v1/invoices/{id}/lines/{lineNumber}", tag = "invoices",
    params(
        ("id" = Uuid, Path, description = "Invoice id"),
        ("lineNumber" = i32, Path, description = "An existing line, or one past the last"),
    ),
    request_body = CorrectLineRequest,
    responses(
        (status = 200, description = "The invoice, reconciled again", body = InvoiceResponse),
        (status = 409, description = "Approved, disputed or still being read", body = ErrorEnvelope),
        (status = 422, description = "A field breaks a rule", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn correct_line(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath((id, line_number)): ApiPath<(Uuid, i32)>,
    ApiJson(body): ApiJson<CorrectLineRequest>,
) -> Result<Json<InvoiceResponse>, AppError> {
    let invoice = state
        .services
        .invoices
        .correct_line(
            &caller,
            id,
            line_number,
            LineCorrection {
                sku: body.sku,
                description: body.description,
                quantity: body.quantity,
                unit_price: body.unit_price,
                tax_rate: body.tax_rate,
            },
        )
        .await?;
    Ok(Json(InvoiceResponse {
        data: full(&state, invoice).await?,
    }))
}

/// Reads an invoice that needs review again from its document (members of either party).
#[utoipa::path(
    post, path = "/api/v1/invoices/{id}/extract", tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses(
        (status = 202, description = "Being read again", body = InvoiceResponse),
        (status = 409, description = "Not in review", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn extract_again(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<InvoiceResponse>), AppError> {
    let invoice = state.services.invoices.extract_again(&caller, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(InvoiceResponse {
            data: invoice.into(),
        }),
    ))
}

/// Approval of an invoice.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApproveRequest {
    /// Required when the invoice does not match its order.
    #[schema(format = "iris-optional-text", max_length = 1000)]
    override_reason: Option<String>,
}

/// Approves an invoice for payment (the restaurant's members, admins);
/// `RECONCILIATION_FAILED` (409) when it does not match its order and no override reason is
/// given.
#[utoipa::path(
    post, path = "/api/v1/invoices/{id}/approve", tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    request_body = ApproveRequest,
    responses(
        (status = 200, description = "Approved", body = InvoiceResponse),
        (status = 403, description = "Not the restaurant's member", body = ErrorEnvelope),
        (status = 409, description = "RECONCILIATION_FAILED, or not approvable now", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn approve(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ApproveRequest>,
) -> Result<Json<InvoiceResponse>, AppError> {
    let invoice = state
        .services
        .invoices
        .approve(&caller, id, body.override_reason)
        .await?;
    Ok(Json(InvoiceResponse {
        data: full(&state, invoice).await?,
    }))
}

/// A dispute of an invoice.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DisputeRequest {
    /// To the supplier.
    #[schema(format = "iris-text", max_length = 2000)]
    message: String,
}

/// Disputes an invoice that charges more than its order (the restaurant's members, admins):
/// a credit request listing each difference; the supplier is notified.
#[utoipa::path(
    post, path = "/api/v1/invoices/{id}/disputes", tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    request_body = DisputeRequest,
    responses(
        (status = 201, description = "The dispute", body = DisputeResponse),
        (status = 409, description = "Not in review, or nothing to credit", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn dispute(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DisputeRequest>,
) -> Result<(StatusCode, Json<DisputeResponse>), AppError> {
    let dispute = state
        .services
        .invoices
        .dispute(&caller, id, &body.message)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(DisputeResponse {
            data: dispute.into(),
        }),
    ))
}

/// The supplier's answer to a dispute.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnswerDisputeRequest {
    /// True: a credit note will follow; false: rejected (`reason` required).
    accept: bool,
    #[schema(format = "iris-optional-text", max_length = 2000)]
    reason: Option<String>,
}

/// Answers a dispute (the supplier's members, admins); the restaurant is notified.
#[utoipa::path(
    post, path = "/api/v1/invoice-disputes/{id}/answer", tag = "invoices",
    params(("id" = Uuid, Path, description = "Dispute id")),
    request_body = AnswerDisputeRequest,
    responses(
        (status = 200, description = "The answered dispute", body = DisputeResponse),
        (status = 409, description = "Answered already", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn answer_dispute(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AnswerDisputeRequest>,
) -> Result<Json<DisputeResponse>, AppError> {
    let dispute = state
        .services
        .invoices
        .answer_dispute(&caller, id, body.accept, body.reason)
        .await?;
    Ok(Json(DisputeResponse {
        data: dispute.into(),
    }))
}

/// A supplier's invoicing settings.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvoiceSettingsDto {
    /// ± percent within which prices and quantities match (0–10, at most 4 decimals).
    #[schema(value_type = String, format = "iris-tolerance", example = "0.5")]
    #[serde(
        deserialize_with = "super::exact_decimal_required",
        serialize_with = "rust_decimal::serde::str::serialize"
    )]
    tolerance_percent: Decimal,
}

/// Invoicing settings.
#[derive(Serialize, ToSchema)]
pub struct InvoiceSettingsResponse {
    data: InvoiceSettingsDto,
}

/// A supplier's invoicing settings (signed-in callers).
#[utoipa::path(
    get, path = "/api/v1/suppliers/{id}/invoice-settings", tag = "invoices",
    params(("id" = Uuid, Path, description = "Supplier id")),
    responses((status = 200, description = "The settings", body = InvoiceSettingsResponse)),
    security(("bearer" = []))
)]
pub async fn settings(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
) -> Result<Json<InvoiceSettingsResponse>, AppError> {
    let tolerance = state.services.invoices.tolerance(&caller, supplier).await?;
    Ok(Json(InvoiceSettingsResponse {
        data: InvoiceSettingsDto {
            tolerance_percent: tolerance.percent(),
        },
    }))
}

/// Sets a supplier's invoicing settings (its owners, admins). Audited.
#[utoipa::path(
    put, path = "/api/v1/suppliers/{id}/invoice-settings", tag = "invoices",
    params(("id" = Uuid, Path, description = "Supplier id")),
    request_body = InvoiceSettingsDto,
    responses(
        (status = 200, description = "The settings", body = InvoiceSettingsResponse),
        (status = 403, description = "Not the supplier's owner", body = ErrorEnvelope),
        (status = 422, description = "Out of range", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn set_settings(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
    ApiJson(body): ApiJson<InvoiceSettingsDto>,
) -> Result<Json<InvoiceSettingsResponse>, AppError> {
    let tolerance = state
        .services
        .invoices
        .set_tolerance(&caller, supplier, body.tolerance_percent)
        .await?;
    Ok(Json(InvoiceSettingsResponse {
        data: InvoiceSettingsDto {
            tolerance_percent: tolerance.percent(),
        },
    }))
}

/// How one supplier's PDF and scanned invoices are read.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceTemplateDto {
    id: Uuid,
    name: String,
    /// Strings every document of the supplier contains.
    keywords: Vec<String>,
    /// Header field → regular expression whose first group is the value.
    fields: std::collections::BTreeMap<String, String>,
    /// A line row with named groups quantity, unit_price and sku or description.
    line_pattern: String,
    lines_start: Option<String>,
    lines_end: Option<String>,
    updated_at: DateTime<Utc>,
}

/// A template to create or replace.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvoiceTemplateRequest {
    #[schema(format = "iris-text", max_length = 100)]
    name: String,
    /// Strings every document of the supplier contains (1–20).
    #[schema(min_items = 1, max_items = 20)]
    keywords: Vec<String>,
    /// Header field (invoiceNumber, issueDate, dueDate, orderReference, currency, subtotal,
    /// tax, total) → regular expression whose first group is the value.
    #[serde(default)]
    fields: std::collections::BTreeMap<String, String>,
    /// A line row with named groups quantity, unit_price and sku or description.
    line_pattern: String,
    #[serde(default)]
    lines_start: Option<String>,
    #[serde(default)]
    lines_end: Option<String>,
}

impl From<Template> for InvoiceTemplateDto {
    fn from(t: Template) -> Self {
        InvoiceTemplateDto {
            id: t.id,
            name: t.name,
            keywords: t.keywords,
            fields: t.fields,
            line_pattern: t.line_pattern,
            lines_start: t.lines_start,
            lines_end: t.lines_end,
            updated_at: t.updated_at,
        }
    }
}

impl From<InvoiceTemplateRequest> for TemplateInput {
    fn from(t: InvoiceTemplateRequest) -> Self {
        TemplateInput {
            name: t.name,
            keywords: t.keywords,
            fields: t.fields,
            line_pattern: t.line_pattern,
            lines_start: t.lines_start,
            lines_end: t.lines_end,
        }
    }
}

/// Templates.
#[derive(Serialize, ToSchema)]
pub struct InvoiceTemplatesResponse {
    data: Vec<InvoiceTemplateDto>,
}

/// One template.
#[derive(Serialize, ToSchema)]
pub struct InvoiceTemplateResponse {
    data: InvoiceTemplateDto,
}

/// A supplier's invoice templates, oldest first (its members, admins).
#[utoipa::path(
    get, path = "/api/v1/suppliers/{id}/invoice-templates", tag = "invoices",
    params(("id" = Uuid, Path, description = "Supplier id")),
    responses(
        (status = 200, description = "The templates", body = InvoiceTemplatesResponse),
        (status = 403, description = "Not the supplier's member", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn templates(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
) -> Result<Json<InvoiceTemplatesResponse>, AppError> {
    let templates = state.services.invoices.templates(&caller, supplier).await?;
    Ok(Json(InvoiceTemplatesResponse {
        data: templates.into_iter().map(Into::into).collect(),
    }))
}

/// Creates an invoice template (the supplier's members, admins). Audited.
#[utoipa::path(
    post, path = "/api/v1/suppliers/{id}/invoice-templates", tag = "invoices",
    params(("id" = Uuid, Path, description = "Supplier id")),
    request_body = InvoiceTemplateRequest,
    responses(
        (status = 201, description = "The template", body = InvoiceTemplateResponse),
        (status = 403, description = "Not the supplier's member", body = ErrorEnvelope),
        (status = 422, description = "A pattern is invalid (named)", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn create_template(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
    ApiJson(body): ApiJson<InvoiceTemplateRequest>,
) -> Result<(StatusCode, Json<InvoiceTemplateResponse>), AppError> {
    let template = state
        .services
        .invoices
        .save_template(&caller, supplier, None, body.into())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(InvoiceTemplateResponse {
            data: template.into(),
        }),
    ))
}

/// Replaces an invoice template (its supplier's members, admins). Audited.
#[utoipa::path(
    put, path = "/api/v1/invoice-templates/{id}", tag = "invoices",
    params(("id" = Uuid, Path, description = "Template id")),
    request_body = InvoiceTemplateRequest,
    responses(
        (status = 200, description = "The template", body = InvoiceTemplateResponse),
        (status = 404, description = "No such template", body = ErrorEnvelope),
        (status = 422, description = "A pattern is invalid (named)", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn update_template(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<InvoiceTemplateRequest>,
) -> Result<Json<InvoiceTemplateResponse>, AppError> {
    let template = state
        .services
        .invoices
        .update_template(&caller, id, body.into())
        .await?;
    Ok(Json(InvoiceTemplateResponse {
        data: template.into(),
    }))
}

/// Deletes an invoice template (its supplier's members, admins). Audited.
#[utoipa::path(
    delete, path = "/api/v1/invoice-templates/{id}", tag = "invoices",
    params(("id" = Uuid, Path, description = "Template id")),
    responses(
        (status = 200, description = "The deleted template", body = InvoiceTemplateResponse),
        (status = 404, description = "No such template", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn delete_template(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<InvoiceTemplateResponse>, AppError> {
    let template = state.services.invoices.delete_template(&caller, id).await?;
    Ok(Json(InvoiceTemplateResponse {
        data: template.into(),
    }))
}
