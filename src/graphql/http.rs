//! GraphQL over HTTP, per the GraphQL-over-HTTP specification.
//!
//! - `POST /graphql` with `Content-Type: application/json` (else 415); `GET /graphql` with the
//!   request in the query string, for queries only (a mutation over GET is 405, `Allow: POST`).
//! - A browser's `GET /graphql` (asking for `text/html`) gets GraphiQL when enabled.
//! - Media type by `Accept`: `application/graphql-response+json` answers request errors (parse,
//!   validation) with 400 and everything else with 200; `application/json` (also the choice
//!   when `Accept` is absent) answers 200 whenever a GraphQL response exists. Anything else is
//!   406.
//! - Transport errors (bad JSON, body too large) still answer with a GraphQL error body.

use async_graphql::{
    ServerError, Value,
    parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection},
};
use axum::{
    Extension,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

use super::GraphqlState;
use super::{
    RequestContext,
    errors::{self, PARSE_FAILED, transport_error},
    graphiql,
    loaders::Loaders,
};
use crate::{
    auth::Caller,
    error::AppError,
    infra::{metrics::GraphqlOutcome, telemetry::RequestId},
    web::extract::Authentication,
};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[derive(Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            MediaType::Json => JSON,
        }
    }
}

fn accept_entries(headers: &HeaderMap) -> Vec<(String, f32)> {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|entry| {
            let mut parts = entry.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (media, q)
        })
        .filter(|(media, q)| !media.is_empty() && *q > 0.0)
        .collect()
}

fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let entries = accept_entries(headers);
    if entries.is_empty() {
        return Some(MediaType::Json);
    }
    let q_of = |wanted: &str| {
        entries
            .iter()
            .filter(|(m, _)| m == wanted)
            .map(|(_, q)| *q)
            .fold(None, |best: Option<f32>, q| {
                Some(best.map_or(q, |b| b.max(q)))
            })
    };
    match (q_of(GRAPHQL_RESPONSE_JSON), q_of(JSON)) {
        (Some(g), Some(j)) if j > g => Some(MediaType::Json),
        (Some(_), _) => Some(MediaType::GraphqlResponseJson),
        (None, Some(_)) => Some(MediaType::Json),
        (None, None) => entries
            .iter()
            .any(|(m, _)| m == "*/*" || m == "application/*")
            .then_some(MediaType::Json),
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    accept_entries(headers)
        .iter()
        .any(|(media, _)| media == "text/html")
}

/// A request error: nothing executed (no data, and no error has a path).
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// The response body. Under `application/graphql-response+json` a request error has no
/// `data` entry at all (GraphQL over HTTP: the request did not reach execution); the legacy
/// `application/json` keeps `"data": null`, which its clients expect.
fn encode(media: MediaType, response: &async_graphql::Response) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct RequestError<'a> {
        errors: &'a [ServerError],
        #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        extensions: &'a std::collections::BTreeMap<String, Value>,
    }
    let encoded = if media == MediaType::GraphqlResponseJson && is_request_error(response) {
        serde_json::to_vec(&RequestError {
            errors: &response.errors,
            extensions: &response.extensions,
        })
    } else {
        serde_json::to_vec(response)
    };
    encoded.unwrap_or_else(|_| b"{}".to_vec())
}

fn respond(
    status: StatusCode,
    media: MediaType,
    body: &async_graphql::Response,
    operation: Option<String>,
) -> Response {
    respond_within(status, media, body, operation, usize::MAX, None)
}

/// As [`respond`], but a body over `max_bytes` is replaced by one error saying so: the cost
/// limit keeps responses small, and this bound holds whatever the cost estimate missed.
fn respond_within(
    status: StatusCode,
    media: MediaType,
    body: &async_graphql::Response,
    operation: Option<String>,
    max_bytes: usize,
    request_id: Option<&str>,
) -> Response {
    let worst = body
        .errors
        .iter()
        .filter_map(|e| errors::extension_u64(e, "status"))
        .max()
        .map_or(status.as_u16(), |s| (s as u16).max(status.as_u16()));
    let mut json = encode(media, body);
    let mut status = status;
    if json.len() > max_bytes {
        let mut error = transport_error(
            format!(
                "The response would be {} bytes, over GRAPHQL_MAX_RESPONSE_BYTES ({max_bytes}); select fewer fields or smaller pages.",
                json.len()
            ),
            "RESPONSE_TOO_LARGE",
            400,
        );
        let ext = error.extensions.get_or_insert_with(Default::default);
        ext.set("limit", "GRAPHQL_MAX_RESPONSE_BYTES");
        ext.set("actual", json.len() as u64);
        ext.set("maximum", max_bytes as u64);
        errors::finish(std::slice::from_mut(&mut error), request_id);
        json = encode(media, &async_graphql::Response::from_errors(vec![error]));
        status = request_error_status(media);
    }
    // A dependency outage (the database, say) is a retryable 503 on reads and writes alike,
    // whatever else the response holds: clients and proxies retry on the status.
    if worst == StatusCode::SERVICE_UNAVAILABLE.as_u16() {
        status = StatusCode::SERVICE_UNAVAILABLE;
    }
    let mut response = (status, json).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    if let Some(secs) = retry_after(body).filter(|_| {
        status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS
    }) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response.extensions_mut().insert(GraphqlOutcome {
        operation,
        status: worst,
    });
    response
}

/// The longest `retryAfter` of the response's errors.
fn retry_after(body: &async_graphql::Response) -> Option<u64> {
    body.errors
        .iter()
        .filter_map(|e| errors::extension_u64(e, "retryAfter"))
        .max()
}

fn error_response(
    status: StatusCode,
    media: MediaType,
    mut error: ServerError,
    request_id: &RequestId,
) -> Response {
    errors::finish(std::slice::from_mut(&mut error), Some(request_id.as_str()));
    respond(
        status,
        media,
        &async_graphql::Response::from_errors(vec![error]),
        None,
    )
}

fn from_app_error(err: AppError, media: MediaType, request_id: &RequestId) -> Response {
    let status = err.status();
    let mut error = transport_error(err.message(), err.code(), status.as_u16());
    if let Some(secs) = err.retry_after() {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("retryAfter", secs);
    }
    error_response(status, media, error, request_id)
}

/// `GET /graphql`: GraphiQL for browsers, otherwise a query in the query string.
pub async fn get(
    State(state): State<GraphqlState>,
    Extension(request_id): Extension<RequestId>,
    authentication: Authentication,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    // A browser opening /graphql gets GraphiQL; a link with `?query=` gets the result.
    if wants_html(&headers) && !uri.query().unwrap_or_default().contains("query=") {
        return if state.api.config.graphql.graphiql {
            graphiql::page()
        } else {
            AppError::NotFound {
                entity: "Page",
                id: "GraphiQL (disabled by GRAPHIQL=false)".into(),
            }
            .into_response()
        };
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable(&request_id);
    };
    match async_graphql::http::parse_query_string(uri.query().unwrap_or_default()) {
        Ok(request) => execute(&state, request, media, true, request_id, authentication).await,
        Err(err) => from_app_error(
            AppError::BadRequest(format!("The query string is not a GraphQL request: {err}")),
            media,
            &request_id,
        ),
    }
}

/// Files one GraphQL multipart request carries at most.
const MAX_UPLOAD_FILES: usize = 1;

/// The largest multipart body: one document at the storage limit, plus the operations.
pub fn upload_limit(state: &GraphqlState) -> usize {
    state
        .api
        .services
        .storage
        .max_bytes()
        .saturating_add(64 * 1024)
        .max(state.api.config.max_body_bytes)
}

/// `POST /graphql`: a JSON-encoded GraphQL request, or a GraphQL multipart request (uploads).
pub async fn post(
    State(state): State<GraphqlState>,
    Extension(request_id): Extension<RequestId>,
    authentication: Authentication,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable(&request_id);
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let multipart = content_type.as_deref() == Some("multipart/form-data");
    if content_type.as_deref() != Some(JSON) && !multipart {
        return from_app_error(
            AppError::UnsupportedMediaType(
                "Content-Type must be application/json (or multipart/form-data for uploads)".into(),
            ),
            media,
            &request_id,
        );
    }
    // Uploads may be as large as a stored document, and only signed-in callers send one: the
    // body is not read for anyone else. Anything else is as large as any body.
    let limit = if multipart {
        let refused = match &authentication.result {
            Ok(caller) if !matches!(caller.principal, crate::auth::Principal::Anonymous) => None,
            Err(AppError::RateLimited { retry_after_secs }) => Some(AppError::RateLimited {
                retry_after_secs: *retry_after_secs,
            }),
            _ => Some(AppError::Unauthenticated("sign in to upload".into())),
        };
        if let Some(error) = refused {
            return from_app_error(error, media, &request_id);
        }
        upload_limit(&state)
    } else {
        state.api.config.max_body_bytes
    };
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(error) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
            let error = if too_large {
                AppError::PayloadTooLarge {
                    limit_bytes: Some(limit),
                }
            } else {
                AppError::BadRequest(format!("The request body could not be read: {error}"))
            };
            return from_app_error(error, media, &request_id);
        }
    };
    if multipart {
        let raw_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let options = async_graphql::http::MultipartOptions::default()
            .max_file_size(state.api.services.storage.max_bytes())
            .max_num_files(MAX_UPLOAD_FILES);
        return match async_graphql::http::receive_body(
            Some(raw_type),
            futures_util::io::Cursor::new(body),
            options,
        )
        .await
        {
            Ok(request) => execute(&state, request, media, false, request_id, authentication).await,
            Err(async_graphql::ParseRequestError::PayloadTooLarge) => from_app_error(
                AppError::PayloadTooLarge {
                    limit_bytes: Some(state.api.services.storage.max_bytes()),
                },
                media,
                &request_id,
            ),
            Err(err) => from_app_error(
                AppError::BadRequest(format!(
                    "The body is not a GraphQL multipart request (operations, map, files): {err}"
                )),
                media,
                &request_id,
            ),
        };
    }
    match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) => execute(&state, request, media, false, request_id, authentication).await,
        Err(err) => from_app_error(
            AppError::BadRequest(format!("The body is not a GraphQL request: {err}")),
            media,
            &request_id,
        ),
    }
}

fn not_acceptable(request_id: &RequestId) -> Response {
    let error = transport_error(
        "Accept must allow application/graphql-response+json or application/json",
        "NOT_ACCEPTABLE",
        406,
    );
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        error,
        request_id,
    )
}

/// Mutations a client without a valid token must still reach.
const SESSION_FIELDS: [&str; 4] = ["login", "refreshToken", "logout", "register"];

/// Whether the selected operation is a mutation selecting only [`SESSION_FIELDS`].
fn only_session_fields(doc: &ExecutableDocument, name: Option<&str>) -> bool {
    let operation = match &doc.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => match name {
            Some(name) => ops.get(name),
            None if ops.len() == 1 => ops.values().next(),
            None => None,
        },
    };
    operation.is_some_and(|op| {
        op.node.ty == OperationType::Mutation
            && op
                .node
                .selection_set
                .node
                .items
                .iter()
                .all(|item| match &item.node {
                    Selection::Field(field) => {
                        SESSION_FIELDS.contains(&field.node.name.node.as_str())
                    }
                    _ => false,
                })
    })
}

/// The selected operation's type and name, if the document has it.
fn operation_of(
    doc: &ExecutableDocument,
    name: Option<&str>,
) -> (Option<OperationType>, Option<String>) {
    match &doc.operations {
        // `Single` is the one anonymous operation: a client-sent name would be fiction.
        DocumentOperations::Single(op) => (Some(op.node.ty), None),
        DocumentOperations::Multiple(ops) => {
            let selected = match name {
                Some(name) => ops.get_key_value(name),
                None if ops.len() == 1 => ops.iter().next(),
                None => None,
            };
            match selected {
                Some((name, op)) => (Some(op.node.ty), Some(name.to_string())),
                None => (None, name.map(str::to_owned)),
            }
        }
    }
}

async fn execute(
    state: &GraphqlState,
    mut request: async_graphql::Request,
    media: MediaType,
    is_get: bool,
    request_id: RequestId,
    authentication: Authentication,
) -> Response {
    // Refused callers (rate-limited, say) cost nothing more; an expired token may still sign
    // in, so only that error waits for the document.
    let Authentication { result, meta } = authentication;
    let result = match result {
        Err(err) if !matches!(err, AppError::Unauthenticated(_)) => {
            return from_app_error(err, media, &request_id);
        }
        other => other,
    };
    // A request naming no document is a 400 whatever the Accept header (GraphQL over HTTP).
    if request.query.is_empty() && !request.extensions.contains_key("persistedQuery") {
        return from_app_error(
            AppError::BadRequest(
                "The request names no document: `query` is missing (or give a persisted query's hash in `extensions.persistedQuery`)".into(),
            ),
            media,
            &request_id,
        );
    }
    let is_admin = result
        .as_ref()
        .is_ok_and(|caller| caller.principal.is_admin());
    let registration = match state
        .documents
        .resolve(&mut request.query, &request.extensions, is_admin)
        .await
    {
        Ok(registration) => registration,
        Err(error) => {
            let status = match errors::extension_u64(&error, "status") {
                Some(503) => StatusCode::SERVICE_UNAVAILABLE,
                Some(500) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => request_error_status(media),
            };
            return error_response(status, media, error, &request_id);
        }
    };
    let operation_name = request.operation_name.clone();
    let (operation_type, operation, session_only) = match request.parsed_query() {
        Ok(doc) => {
            let (kind, name) = operation_of(doc, operation_name.as_deref());
            (
                kind,
                name,
                only_session_fields(doc, operation_name.as_deref()),
            )
        }
        Err(mut error) => {
            error.message = errors::bounded(&error.message);
            errors::set_code(&mut error, PARSE_FAILED, 400);
            return error_response(request_error_status(media), media, error, &request_id);
        }
    };
    if is_get && operation_type == Some(OperationType::Mutation) {
        let error = transport_error(
            "Mutations must be sent with POST",
            "METHOD_NOT_ALLOWED",
            405,
        );
        let mut response =
            error_response(StatusCode::METHOD_NOT_ALLOWED, media, error, &request_id);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }

    if operation_type == Some(OperationType::Subscription) {
        let error = transport_error(
            "Subscriptions are served over the websocket at /graphql/ws",
            "BAD_REQUEST",
            400,
        );
        return error_response(request_error_status(media), media, error, &request_id);
    }

    // A bad or expired token is refused (401), except for sign-in, refresh and sign-out, which
    // a client reaches exactly when its token has expired.
    let caller = match result {
        Ok(caller) => caller,
        Err(AppError::Unauthenticated(_)) if session_only => Caller::anonymous(meta),
        Err(err) => return from_app_error(err, media, &request_id),
    };
    let loaders = Loaders::for_request(&state.api.services, &caller.principal);
    let request = request
        .data(RequestContext {
            request_id: request_id.clone(),
            caller,
        })
        .data(loaders);
    let mut response = state.executor.execute(request).await;
    // Extensions cannot see per-request data in the request hook; stamp the id here.
    errors::finish(&mut response.errors, Some(request_id.as_str()));
    let request_error = is_request_error(&response);
    let status = if request_error {
        request_error_status(media)
    } else {
        StatusCode::OK
    };
    // The document parsed and passed validation and the limits: later requests may send its
    // hash alone.
    if let Some(registration) = registration.filter(|_| !request_error) {
        state.documents.register(registration).await;
    }
    respond_within(
        status,
        media,
        &response,
        operation,
        state.api.config.graphql.max_response_bytes,
        Some(request_id.as_str()),
    )
}

/// A document that cannot execute: 400 with `application/graphql-response+json`; 200 with the
/// legacy `application/json`, whose clients read errors from the body.
fn request_error_status(media: MediaType) -> StatusCode {
    match media {
        MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        MediaType::Json => StatusCode::OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn accept_negotiation_follows_the_specification() {
        assert!(negotiate(&HeaderMap::new()) == Some(MediaType::Json));
        assert!(
            negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )) == Some(MediaType::GraphqlResponseJson)
        );
        assert!(negotiate(&accept("application/json")) == Some(MediaType::Json));
        assert!(negotiate(&accept("*/*")) == Some(MediaType::Json));
        assert!(negotiate(&accept("text/plain")).is_none());
    }
}
