//! Error metadata on every GraphQL error, whatever produced it.
//!
//! Resolver errors come from `AppError` with `code` and `status` already set. The schema's one
//! extension ([`super::limits`], one so that fields pay for one extension hook, not two) calls
//! these helpers to give the rest a code too — `GRAPHQL_PARSE_FAILED` for syntax errors,
//! `GRAPHQL_VALIDATION_FAILED` for documents the schema rejects (the limits of
//! [`super::limits`] code their own errors), `VALIDATION` for argument values
//! that do not parse — and masks anything else as `INTERNAL`, logging the original. Then it adds
//! `timestamp` and, where the request's data is visible (websockets), `requestId`; the HTTP
//! handler stamps `requestId` itself, because async-graphql hides per-request data from the
//! request hook.

use async_graphql::{ServerError, extensions::ExtensionContext};

use super::RequestContext;
use crate::error::timestamp_now;

pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// The longest excerpt of a client's input an error message quotes.
const MAX_MESSAGE_CHARS: usize = 300;

/// `message`, cut to [`MAX_MESSAGE_CHARS`] characters: a parse error quotes the line it failed
/// on, and a 200 KB line must not come back as a 200 KB error.
pub(crate) fn bounded(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => message.to_owned(),
        Some((cut, _)) => format!(
            "{}… ({} more characters)",
            &message[..cut],
            message[cut..].chars().count()
        ),
    }
}

/// An error the transport produced itself (bad body, wrong method, …), with its code.
pub(crate) fn transport_error(message: impl Into<String>, code: &str, status: u16) -> ServerError {
    let mut error = ServerError::new(message, None);
    set_code(&mut error, code, status);
    error
}

pub(crate) fn set_code(error: &mut ServerError, code: &str, status: u16) {
    let ext = error.extensions.get_or_insert_with(Default::default);
    ext.set("code", code);
    ext.set("status", status);
}

/// A numeric extension of an error (`status`, `retryAfter`), if it has one.
pub(crate) fn extension_u64(error: &ServerError, key: &str) -> Option<u64> {
    match error.extensions.as_ref()?.get(key)? {
        async_graphql::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some())
}

/// Codes the errors no resolver coded, and stamps them all.
pub(crate) fn finish(errors: &mut [ServerError], request_id: Option<&str>) {
    let timestamp = timestamp_now();
    for error in errors {
        if !has_code(error) {
            let is_input_error = error.message.starts_with("Failed to parse")
                || error.message.starts_with("Invalid value");
            if error.path.is_empty() {
                set_code(error, VALIDATION_FAILED, 400);
            } else if is_input_error {
                set_code(error, "VALIDATION", 422);
            } else {
                tracing::error!(message = %error.message, path = ?error.path, "uncoded GraphQL error");
                error.message = "Internal server error".into();
                set_code(error, "INTERNAL", 500);
            }
        }
        let ext = error.extensions.get_or_insert_with(Default::default);
        if ext.get("timestamp").is_none() {
            ext.set("timestamp", timestamp.as_str());
        }
        if let Some(id) = request_id {
            ext.set("requestId", id);
        }
    }
}

/// The request id of the request an extension runs for, where its data is visible.
pub(crate) fn request_id(ctx: &ExtensionContext<'_>) -> Option<String> {
    ctx.data_opt::<RequestContext>()
        .map(|c| c.request_id.as_str().to_owned())
}

/// A document that did not parse: a bounded message and `GRAPHQL_PARSE_FAILED` (limit and
/// text errors of the parsed document come coded already).
pub(crate) fn code_parse_error(mut error: ServerError) -> ServerError {
    if !has_code(&error) {
        error.message = bounded(&error.message);
        set_code(&mut error, PARSE_FAILED, 400);
    }
    error
}

/// Documents the schema rejects: `GRAPHQL_VALIDATION_FAILED` on every uncoded error.
pub(crate) fn code_validation_errors(mut errors: Vec<ServerError>) -> Vec<ServerError> {
    for error in errors.iter_mut().filter(|e| !has_code(e)) {
        set_code(error, VALIDATION_FAILED, 400);
    }
    errors
}
