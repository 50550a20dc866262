//! Trusted documents: the GraphQL operations a deployment registers ahead of time, so that
//! (with `GRAPHQL_TRUSTED_DOCUMENTS=require`) production serves only what its own front ends
//! send. Registered from the persisted-query manifests the client toolchains write
//! (`iris documents push FILE`):
//!
//! - Apollo's `generate-persisted-query-manifest`:
//!   `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id","name","type","body"}]}`
//!   — every `id` must be the body's SHA-256;
//! - Relay's `persistOutput`: `{"<id>": "<document text>", …}` — ids are the compiler's own.
//!
//! A document is immutable: pushing a different body under a registered id is refused, so a
//! client built against an id always runs what it was built with. Lookups accept the id or the
//! body's SHA-256 (what Apollo's persisted-query link sends), and are cached in process.

mod repository;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use chrono::Utc;

use crate::{
    error::AppError,
    infra::db::{self, Db},
};

/// The longest document id a manifest may use.
const MAX_ID_CHARS: usize = 200;
/// The largest document body, in bytes.
pub const MAX_BODY_BYTES: usize = 100_000;

/// One operation of a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub id: String,
    pub body: String,
    pub operation_name: Option<String>,
}

/// What a push did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    pub added: usize,
    pub unchanged: usize,
}

/// A registered document.
struct TrustedDocument {
    document_id: String,
    /// Lower-case hex SHA-256 of the body.
    sha256: String,
    body: String,
}

/// A document's id is the lower-case hex SHA-256 of its body.
pub use crate::infra::crypto::sha256_hex;

/// The entries of an Apollo or Relay manifest; the error names the entry and the rule.
pub fn parse_manifest(text: &str) -> Result<Vec<ManifestEntry>, AppError> {
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| AppError::validation("manifest", format!("must be JSON: {e}")))?;
    let entries = if json.get("format").and_then(|f| f.as_str())
        == Some("apollo-persisted-query-manifest")
    {
        let operations = json
            .get("operations")
            .and_then(|o| o.as_array())
            .ok_or_else(|| {
                AppError::validation("operations", "an Apollo manifest must list operations")
            })?;
        operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let field = |name: &str| op.get(name).and_then(|v| v.as_str()).map(str::to_owned);
                let (Some(id), Some(body)) = (field("id"), field("body")) else {
                    return Err(AppError::validation(
                        format!("operations[{i}]"),
                        "must have a string id and body",
                    ));
                };
                if id != sha256_hex(&body) {
                    return Err(AppError::validation(
                        format!("operations[{i}].id"),
                        "must be the SHA-256 of the body (hex)",
                    ));
                }
                Ok(ManifestEntry {
                    id,
                    body,
                    operation_name: field("name"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    } else if let Some(map) = json.as_object() {
        map.iter()
            .map(|(id, body)| match body.as_str() {
                Some(body) => Ok(ManifestEntry {
                    id: id.clone(),
                    body: body.to_owned(),
                    operation_name: None,
                }),
                None => Err(AppError::validation(
                    id.clone(),
                    "a Relay manifest maps ids to document text",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        return Err(AppError::validation(
            "manifest",
            "must be an Apollo persisted-query manifest or a Relay id → text map",
        ));
    };
    for entry in &entries {
        check_entry(entry)?;
    }
    Ok(entries)
}

fn check_entry(entry: &ManifestEntry) -> Result<(), AppError> {
    if entry.id.is_empty() || entry.id.chars().count() > MAX_ID_CHARS {
        return Err(AppError::validation(
            entry.id.clone(),
            format!("a document id must have 1 to {MAX_ID_CHARS} characters"),
        ));
    }
    crate::domain::kernel::validation::edge_text(&entry.id)
        .and_then(|()| crate::domain::kernel::validation::edge_text(&entry.body))
        .map_err(|rule| AppError::validation(entry.id.clone(), rule))?;
    if entry
        .operation_name
        .as_ref()
        .is_some_and(|name| name.chars().count() > MAX_ID_CHARS)
    {
        return Err(AppError::validation(
            entry.id.clone(),
            format!("an operation name must have at most {MAX_ID_CHARS} characters"),
        ));
    }
    if entry.body.trim().is_empty() || entry.body.len() > MAX_BODY_BYTES {
        return Err(AppError::validation(
            entry.id.clone(),
            format!("a document body must have 1 to {MAX_BODY_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The registered documents.
#[derive(Clone)]
pub struct TrustedDocuments {
    db: Db,
    /// id or SHA-256 → body; documents never change, so a found one is cached for good.
    cache: Arc<RwLock<HashMap<String, Arc<str>>>>,
    /// Ids recently looked up and not found, with when: a client repeating an unknown id
    /// costs one query per [`MISS_TTL`], not one per request.
    misses: Arc<Mutex<HashMap<String, Instant>>>,
}

/// How long an unknown id is remembered as unknown (a push is seen after at most this long).
const MISS_TTL: Duration = Duration::from_secs(10);
/// Ids remembered as unknown at most (then the memory starts over).
const MAX_MISSES: usize = 10_000;

impl TrustedDocuments {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            cache: Arc::default(),
            misses: Arc::default(),
        }
    }

    /// Registers every entry in one transaction: all or nothing.
    pub async fn push(
        &self,
        entries: &[ManifestEntry],
        client: Option<&str>,
    ) -> Result<PushReport, AppError> {
        let mut report = PushReport::default();
        let txn = db::begin_write(&self.db).await?;
        for entry in entries {
            check_entry(entry)?;
            let existing = repository::find_by_document_id(&txn, &entry.id).await?;
            match existing {
                Some(document) if document.body == entry.body => report.unchanged += 1,
                Some(_) => {
                    return Err(AppError::Conflict(format!(
                        "document {} is registered with another body; documents are immutable, give the new one a new id",
                        entry.id
                    )));
                }
                None => {
                    repository::insert(&txn, entry, sha256_hex(&entry.body), client, Utc::now())
                        .await?;
                    report.added += 1;
                }
            }
        }
        txn.commit().await?;
        Ok(report)
    }

    /// The body registered under `id` (a document id or a body's SHA-256).
    pub async fn find(&self, id: &str) -> Result<Option<Arc<str>>, AppError> {
        if let Some(body) = self.cache.read().unwrap_or_else(|p| p.into_inner()).get(id) {
            return Ok(Some(body.clone()));
        }
        if id.is_empty() || id.len() > MAX_ID_CHARS {
            return Ok(None);
        }
        {
            let mut misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
            match misses.get(id) {
                Some(at) if at.elapsed() < MISS_TTL => return Ok(None),
                Some(_) => {
                    misses.remove(id);
                }
                None => {}
            }
        }
        let found =
            repository::find_by_document_id_or_sha256(&self.db, id, &id.to_ascii_lowercase())
                .await?;
        let Some(document) = found else {
            let mut misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
            if misses.len() >= MAX_MISSES {
                misses.clear();
            }
            misses.insert(id.to_owned(), Instant::now());
            return Ok(None);
        };
        // Cached under the row's own id and hash only: other spellings are not remembered.
        let body: Arc<str> = document.body.into();
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        cache.insert(document.document_id, body.clone());
        cache.insert(document.sha256, body.clone());
        Ok(Some(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apollo_and_relay_manifests_parse() {
        let body = "query Me { me { id } }";
        let apollo = serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": sha256_hex(body), "name": "Me", "type": "query", "body": body }]
        });
        let entries = parse_manifest(&apollo.to_string()).unwrap();
        assert_eq!(entries[0].operation_name.as_deref(), Some("Me"));
        let relay = serde_json::json!({ "a1b2": body });
        assert_eq!(parse_manifest(&relay.to_string()).unwrap()[0].id, "a1b2");
    }

    #[test]
    fn an_apollo_id_that_is_not_the_hash_is_refused() {
        let apollo = serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": "abc", "name": "Me", "type": "query", "body": "{ me { id } }" }]
        });
        let error = parse_manifest(&apollo.to_string()).unwrap_err();
        assert!(
            error.message().contains("operations[0].id"),
            "{}",
            error.message()
        );
    }
}
