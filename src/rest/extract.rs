//! Extractors of the REST shim whose rejections are Iris envelopes, not axum's plain text:
//! malformed JSON → 400, well-formed JSON of the wrong shape → 422, wrong content type → 415,
//! body too large → 413, bad query string or path → 400. Every string of a query string or a
//! JSON body passes the edge text rule ([`edge_text`]) first: a NUL is a 422 naming the field,
//! on every backend, before anything reaches the database.

use axum::{
    body::Bytes,
    extract::{
        FromRequest, FromRequestParts, Request,
        rejection::{JsonRejection, PathRejection, QueryRejection},
    },
    http::{HeaderMap, StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{
    domain::kernel::validation::{TextTree, dirty_text, edge_text},
    error::{AppError, FieldViolation},
};

/// `axum::Json` with envelope rejections and the edge text rule.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !json_content_type(req.headers()) {
            return Err(AppError::UnsupportedMediaType(
                "Content-Type must be application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| AppError::from(JsonRejection::from(rejection)))?;
        // Every request body is an object; serde would also read a struct from an array.
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{') && serde_json::from_slice::<Value>(&bytes).is_ok() {
            return Err(violation("body".into(), "must be a JSON object".into()));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        // A control character can only be in a JSON string as a `\u00XX` escape: only a body
        // with one is walked.
        if has_control_escape(&bytes) {
            let tree: Value = serde_json::from_slice(&bytes)
                .map_err(|err| AppError::BadRequest(format!("Malformed JSON: {err}")))?;
            let mut path = String::new();
            if let Some((field, rule)) = dirty_text(TextTree::from(&tree), &mut path) {
                return Err(violation(
                    if field.is_empty() {
                        "body".into()
                    } else {
                        field
                    },
                    rule,
                ));
            }
        }
        Ok(ApiJson(value))
    }
}

/// `application/json` or any `application/*+json`, as `axum::Json` accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let media = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media == "application/json"
        || media
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

/// Whether the raw JSON holds a `\u0000`–`\u001F` escape (a cheap over-approximation: an
/// escaped backslash before `u00…` also counts, and the walk then finds nothing).
fn has_control_escape(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| {
        w[0] == b'\\'
            && w[1] == b'u'
            && w[2] == b'0'
            && w[3] == b'0'
            && matches!(w[4], b'0' | b'1')
            && w[5].is_ascii_hexdigit()
    })
}

impl<'v> From<&'v Value> for TextTree<'v> {
    fn from(value: &'v Value) -> Self {
        match value {
            Value::String(s) => TextTree::Str(s),
            Value::Array(items) => TextTree::List(items.iter().map(Into::into).collect()),
            Value::Object(entries) => TextTree::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.into()))
                    .collect(),
            ),
            _ => TextTree::Other,
        }
    }
}

fn violation(field: String, message: String) -> AppError {
    AppError::Validation(vec![FieldViolation { field, message }])
}

/// `axum::extract::Query` with envelope rejections and the edge text rule.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let axum::extract::Query(pairs) =
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)?;
        for (key, value) in &pairs {
            if let Err(rule) = edge_text(key) {
                return Err(violation(
                    "query".into(),
                    format!("a parameter name {rule}"),
                ));
            }
            if let Err(rule) = edge_text(value) {
                return Err(violation(key.clone(), rule));
            }
        }
        let axum::extract::Query(value) = axum::extract::Query::<T>::try_from_uri(&parts.uri)?;
        Ok(ApiQuery(value))
    }
}

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
                let (path, message) = match detail.split_once(": ") {
                    Some((path, rule)) if !path.contains(' ') && path != "." => (Some(path), rule),
                    _ => (None, detail),
                };
                // "missing field `reason` at …": the field is the one missing, under its path.
                let missing = message
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split_once('`'))
                    .map(|(name, _)| name);
                let field = match (path, missing) {
                    (Some(path), Some(name)) => format!("{path}.{name}"),
                    (None, Some(name)) => name.to_owned(),
                    (Some(path), None) => path.to_owned(),
                    (None, None) => "body".to_owned(),
                };
                AppError::Validation(vec![FieldViolation {
                    field,
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
