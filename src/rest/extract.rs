//! Extractors of the REST shim whose rejections are Iris envelopes, not axum's plain text:
//! malformed JSON → 400, well-formed JSON of the wrong shape → 422, wrong content type → 415,
//! body too large → 413, bad query string or path → 400.

use axum::{
    extract::{
        FromRequest, FromRequestParts,
        rejection::{JsonRejection, PathRejection, QueryRejection},
    },
    http::StatusCode,
};

use crate::error::{AppError, FieldViolation};

/// `axum::Json` with envelope rejections.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` with envelope rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` with envelope rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(err) => {
                // "Failed to deserialize …: <path>: <rule> at line …" → field <path>.
                let text = err.body_text();
                let detail = text
                    .split_once("target type: ")
                    .map_or(text.as_str(), |(_, d)| d);
                let (field, message) = match detail.split_once(": ") {
                    Some((path, rule)) if !path.contains(' ') && path != "." => (path, rule),
                    _ => ("body", detail),
                };
                AppError::Validation(vec![FieldViolation {
                    field: field.to_owned(),
                    message: message.to_owned(),
                }])
            }
            JsonRejection::JsonSyntaxError(err) => {
                AppError::BadRequest(format!("Malformed JSON: {}", err.body_text()))
            }
            JsonRejection::MissingJsonContentType(_) => {
                AppError::UnsupportedMediaType("Content-Type must be application/json".into())
            }
            JsonRejection::BytesRejection(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge { limit_bytes: None }
            }
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}
