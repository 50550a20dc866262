//! The automatic-persisted-query cache (Apollo's APQ): SHA-256 → document text.
//!
//! In Redis when configured (`SET <prefix>:apq:<hash> … EX 1 day`, shared by every process),
//! always also in process: a bounded map answers when Redis is unreachable, and a miss in both
//! is only a `PersistedQueryNotFound`, after which the client sends the full text again.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use super::redis::RedisClient;

/// Bytes of documents kept in process; past it the map starts over (a miss costs the client
/// one round trip).
const MEMORY_BYTES: usize = 16 * 1024 * 1024;
/// How long Redis keeps a document after it was last registered.
const REDIS_TTL: Duration = Duration::from_secs(24 * 3600);

fn redis_key(redis: &RedisClient, hash: &str) -> String {
    format!("{}:apq:{hash}", redis.prefix())
}

#[derive(Clone)]
pub struct QueryCache {
    redis: Option<RedisClient>,
    memory: Arc<Mutex<Memory>>,
}

#[derive(Default)]
struct Memory {
    documents: HashMap<String, Arc<str>>,
    bytes: usize,
}

impl QueryCache {
    pub fn new(redis: Option<RedisClient>) -> Self {
        Self {
            redis,
            memory: Arc::default(),
        }
    }

    /// The document registered under `hash`, if any.
    pub async fn get(&self, hash: &str) -> Option<Arc<str>> {
        if let Some(body) = self
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .documents
            .get(hash)
        {
            return Some(body.clone());
        }
        let redis = self.redis.as_ref()?;
        let key = redis_key(redis, hash);
        let found: Option<String> = redis
            .run("reading a persisted query", |mut connection| async move {
                redis::cmd("GET")
                    .arg(&key)
                    .query_async::<Option<String>>(&mut connection)
                    .await
            })
            .await
            .ok()
            .flatten();
        // A shared Redis is not trusted blindly: the body must still hash to its key.
        let body: Arc<str> = found
            .filter(|body| super::crypto::sha256_hex(body) == hash)?
            .into();
        self.remember(hash, body.clone());
        Some(body)
    }

    /// Registers `body` under `hash` (the caller has checked that it is the body's SHA-256).
    pub async fn put(&self, hash: &str, body: &str) {
        self.remember(hash, body.into());
        if let Some(redis) = &self.redis {
            let key = redis_key(redis, hash);
            let body = body.to_owned();
            let stored = redis
                .run("storing a persisted query", |mut connection| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(body)
                        .arg("EX")
                        .arg(REDIS_TTL.as_secs())
                        .query_async::<()>(&mut connection)
                        .await
                })
                .await;
            if let Err(error) = stored {
                tracing::debug!(error = ?error, "persisted query kept in process only");
            }
        }
    }

    fn remember(&self, hash: &str, body: Arc<str>) {
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        if memory.documents.contains_key(hash) {
            return;
        }
        if memory.bytes + body.len() > MEMORY_BYTES {
            memory.documents.clear();
            memory.bytes = 0;
        }
        memory.bytes += body.len() + hash.len();
        memory.documents.insert(hash.to_owned(), body);
    }
}
