//! Which documents a request may run: Apollo's automatic persisted queries and trusted
//! documents (`GRAPHQL_TRUSTED_DOCUMENTS`), applied alike to HTTP and websocket requests before
//! anything is parsed.
//!
//! A request names a document by `extensions.persistedQuery.sha256Hash` (Apollo's link; also a
//! Relay document id), sends its text, or both:
//!
//! | request            | off / allow                                   | require                               |
//! |--------------------|-----------------------------------------------|---------------------------------------|
//! | hash only          | cached text, or registered (allow), else `PersistedQueryNotFound` | registered only, else `PersistedQueryNotFound` |
//! | text + hash        | hash checked; the text is cached once it ran (APQ registration) | text must be registered |
//! | text only          | runs                                          | text must be registered               |
//!
//! Under `require`, admins may still send unregistered text when `GRAPHQL_ADMIN_ADHOC` allows.

use async_graphql::{ServerError, Value};

use super::errors::transport_error;
use crate::{
    config::{GraphqlConfig, TrustedDocumentsMode},
    domain::platform::trusted_documents::{TrustedDocuments, sha256_hex},
    infra::apq::QueryCache,
};

/// The message and code Apollo's persisted-query link looks for.
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PersistedQueryNotFound";

pub struct DocumentPolicy {
    mode: TrustedDocumentsMode,
    admin_adhoc: bool,
    trusted: TrustedDocuments,
    cache: QueryCache,
}

/// A document to register in the APQ cache once it has proved valid (parsed and passed
/// validation and limits), so that only documents that run are ever stored.
pub struct Registration {
    hash: String,
    body: String,
}

/// The largest document the APQ cache takes.
const MAX_CACHED_DOCUMENT_BYTES: usize = 100_000;

impl DocumentPolicy {
    pub fn new(config: &GraphqlConfig, trusted: TrustedDocuments, cache: QueryCache) -> Self {
        Self {
            mode: config.trusted_documents,
            admin_adhoc: config.admin_adhoc,
            trusted,
            cache,
        }
    }

    /// Fills in `query` from the persisted-query extension, or refuses the request with one
    /// request error. `Ok(Some(_))`: an APQ registration, for [`Self::register`] once the
    /// document has run.
    pub async fn resolve(
        &self,
        query: &mut String,
        extensions: &std::collections::HashMap<String, Value>,
        is_admin: bool,
    ) -> Result<Option<Registration>, ServerError> {
        let hash = persisted_hash(extensions)?;
        let has_text = !query.trim().is_empty();
        match (has_text, hash) {
            // No document at all: the parser says so.
            (false, None) => Ok(None),
            (false, Some(hash)) => {
                let found = match self.mode {
                    TrustedDocumentsMode::Off => self.cache.get(&hash).await,
                    TrustedDocumentsMode::Allow => match self.cache.get(&hash).await {
                        Some(body) => Some(body),
                        None => self.registered(&hash).await?,
                    },
                    TrustedDocumentsMode::Require => self.registered(&hash).await?,
                };
                match found {
                    Some(body) => {
                        *query = body.to_string();
                        Ok(None)
                    }
                    None => Err(not_found()),
                }
            }
            // Plain text, as most clients send: nothing to look up unless documents are
            // required.
            (true, None) if self.mode != TrustedDocumentsMode::Require => Ok(None),
            (true, hash) => {
                let actual = sha256_hex(query);
                let matches = hash
                    .as_deref()
                    .is_none_or(|hash| hash.eq_ignore_ascii_case(&actual));
                // A Relay client may send its own document id with the text.
                if !matches
                    && (self.mode == TrustedDocumentsMode::Off
                        || self
                            .registered(hash.as_deref().unwrap_or_default())
                            .await?
                            .is_none())
                {
                    return Err(transport_error(
                        "provided sha does not match query",
                        "PERSISTED_QUERY_HASH_MISMATCH",
                        400,
                    ));
                }
                if self.mode == TrustedDocumentsMode::Require {
                    if self.registered(&actual).await?.is_some() || (is_admin && self.admin_adhoc) {
                        return Ok(None);
                    }
                    return Err(transport_error(
                        "Only registered documents are served here (GRAPHQL_TRUSTED_DOCUMENTS=require): register this one with `iris documents push`",
                        "TRUSTED_DOCUMENT_REQUIRED",
                        400,
                    ));
                }
                Ok(
                    (hash.is_some() && matches && query.len() <= MAX_CACHED_DOCUMENT_BYTES).then(
                        || Registration {
                            hash: actual,
                            body: query.clone(),
                        },
                    ),
                )
            }
        }
    }

    /// Stores a document that ran, so later requests may send its hash alone.
    pub async fn register(&self, registration: Registration) {
        self.cache.put(&registration.hash, &registration.body).await;
    }

    async fn registered(&self, id: &str) -> Result<Option<std::sync::Arc<str>>, ServerError> {
        // A lookup failure is the server's (logged, coded, with Retry-After for an outage).
        self.trusted
            .find(id)
            .await
            .map_err(|err| async_graphql::Error::from(err).into_server_error(Default::default()))
    }
}

fn not_found() -> ServerError {
    transport_error(PERSISTED_QUERY_NOT_FOUND, "PERSISTED_QUERY_NOT_FOUND", 400)
}

/// `extensions.persistedQuery.sha256Hash` (version 1), if the request has one; a 64-digit hex
/// hash is lower-cased (one spelling per document).
fn persisted_hash(
    extensions: &std::collections::HashMap<String, Value>,
) -> Result<Option<String>, ServerError> {
    let Some(persisted) = extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let invalid = || {
        transport_error(
            "extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": \"<id>\"}",
            "BAD_REQUEST",
            400,
        )
    };
    let Value::Object(fields) = persisted else {
        return Err(invalid());
    };
    if let Some(version) = fields.get("version")
        && !matches!(version, Value::Number(n) if n.as_u64() == Some(1))
    {
        return Err(transport_error(
            "Unsupported persisted query version: only version 1 is supported",
            "PERSISTED_QUERY_NOT_SUPPORTED",
            400,
        ));
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash))
            if !hash.is_empty()
                && hash.len() <= 200
                && crate::domain::kernel::validation::edge_text(hash).is_ok() =>
        {
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(Some(hash.to_ascii_lowercase()))
            } else {
                Ok(Some(hash.clone()))
            }
        }
        _ => Err(invalid()),
    }
}
