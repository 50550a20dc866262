//! Fixed-window rate limiting: in-process by default, shared through Redis when `REDIS_URL` is
//! set (so every Iris process counts against the same budget).
//!
//! Limits never fail open: while Redis is unreachable (its circuit open, see
//! [`super::redis`]) hits are counted in process, so each process still enforces every limit
//! on what it sees, and the API keeps serving at database speed.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;

use super::redis::RedisClient;
use crate::error::AppError;

/// At most `max` hits per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub max: u64,
    pub window: Duration,
}

/// Where hits are counted.
#[async_trait]
pub trait CounterStore: Send + Sync + 'static {
    /// Counts one hit on `key` in window number `window_index`; returns the count so far.
    async fn hit(&self, key: &str, window_index: u64, window: Duration) -> anyhow::Result<u64>;
}

/// Keys counted one by one per window; further new keys share overflow buckets (memory bound).
const MAX_KEYS_PER_WINDOW: usize = 200_000;

/// Shared buckets for keys past [`MAX_KEYS_PER_WINDOW`].
const OVERFLOW_BUCKETS: u64 = 1024;

fn overflow_bucket(key: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    format!("\0overflow:{}", hasher.finish() % OVERFLOW_BUCKETS)
}

/// Counts in this process: one map per window, dropped whole when the window is over, so
/// memory stays bounded and no hit scans old entries.
pub struct MemoryCounters {
    windows: Mutex<HashMap<(u64, u64), HashMap<String, u64>>>,
    max_keys: usize,
}

impl Default for MemoryCounters {
    fn default() -> Self {
        Self::with_max_keys(MAX_KEYS_PER_WINDOW)
    }
}

impl MemoryCounters {
    /// Counts at most `max_keys` keys one by one per window (then overflow buckets).
    pub fn with_max_keys(max_keys: usize) -> Self {
        Self {
            windows: Mutex::default(),
            max_keys,
        }
    }
}

#[async_trait]
impl CounterStore for MemoryCounters {
    async fn hit(&self, key: &str, window_index: u64, window: Duration) -> anyhow::Result<u64> {
        let size = window.as_secs().max(1);
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // A handful of windows at most (one per limit length): cheap to prune.
        windows.retain(|(s, index), _| *s != size || *index >= window_index);
        let counts = windows.entry((size, window_index)).or_default();
        if let Some(count) = counts.get_mut(key) {
            *count += 1;
            return Ok(*count);
        }
        // Full (a flood of distinct keys): a new key shares one of a fixed set of buckets with
        // others — counted too strictly rather than not at all, and memory stays bounded.
        let key = if counts.len() >= self.max_keys {
            overflow_bucket(key)
        } else {
            key.to_owned()
        };
        let count = counts.entry(key).or_insert(0);
        *count += 1;
        Ok(*count)
    }
}

/// Counts in Redis: `INCR <prefix>:rl:<key>:<window>` with an expiry of one window.
pub struct RedisCounters {
    redis: RedisClient,
}

impl RedisCounters {
    pub fn new(redis: RedisClient) -> Self {
        Self { redis }
    }
}

#[async_trait]
impl CounterStore for RedisCounters {
    async fn hit(&self, key: &str, window_index: u64, window: Duration) -> anyhow::Result<u64> {
        let key = format!("{}:rl:{key}:{window_index}", self.redis.prefix());
        let (count,): (u64,) = self
            .redis
            .run(
                "counting a rate-limited hit in Redis",
                |mut connection| async move {
                    redis::pipe()
                        .atomic()
                        .incr(&key, 1u64)
                        .expire(&key, window.as_secs() as i64 + 1)
                        .ignore()
                        .query_async(&mut connection)
                        .await
                },
            )
            .await?;
        Ok(count)
    }
}

/// Checks hits against limits.
#[derive(Clone)]
pub struct RateLimiter {
    store: Arc<dyn CounterStore>,
    /// Counts while `store` fails (Redis unreachable).
    fallback: Arc<MemoryCounters>,
}

impl RateLimiter {
    pub fn new(store: Arc<dyn CounterStore>) -> Self {
        Self {
            store,
            fallback: Arc::default(),
        }
    }

    pub fn in_memory() -> Self {
        Self::new(Arc::new(MemoryCounters::default()))
    }

    /// Counts a hit on `key`; RATE_LIMITED (with the seconds until the window resets) once
    /// the window's budget is spent.
    pub async fn check(&self, key: &str, limit: Limit) -> Result<(), AppError> {
        let window = limit.window.as_secs().max(1);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let index = now / window;
        let counted = match self.store.hit(key, index, limit.window).await {
            Ok(count) => Ok(count),
            Err(error) => {
                tracing::debug!(error = ?error, "shared rate limiter unavailable; counting in process");
                self.fallback.hit(key, index, limit.window).await
            }
        };
        match counted {
            Ok(count) if count > limit.max => Err(AppError::RateLimited {
                retry_after_secs: (index + 1) * window - now,
            }),
            Ok(_) => Ok(()),
            // The in-process store does not fail; if it ever did, refuse rather than fail open.
            Err(error) => {
                tracing::error!(error = ?error, "rate limiter failed; refusing the request");
                Err(AppError::RateLimited {
                    retry_after_secs: (index + 1) * window - now,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_hit_after_the_budget_is_refused_with_retry_after() {
        let limiter = RateLimiter::in_memory();
        let limit = Limit {
            max: 2,
            window: Duration::from_secs(60),
        };
        limiter.check("k", limit).await.unwrap();
        limiter.check("k", limit).await.unwrap();
        match limiter.check("k", limit).await {
            Err(AppError::RateLimited { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs));
            }
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        limiter.check("other", limit).await.unwrap();
    }

    /// A store that is always down, as Redis during an outage.
    struct Down;

    #[async_trait]
    impl CounterStore for Down {
        async fn hit(&self, _: &str, _: u64, _: Duration) -> anyhow::Result<u64> {
            anyhow::bail!("unreachable")
        }
    }

    #[tokio::test]
    async fn a_flood_of_new_keys_shares_buckets_instead_of_passing_uncounted() {
        let limiter = RateLimiter::new(Arc::new(MemoryCounters::with_max_keys(10)));
        let limit = Limit {
            max: 3,
            window: Duration::from_secs(60),
        };
        for i in 0..10 {
            limiter.check(&format!("k{i}"), limit).await.unwrap();
        }
        // Past the bound, a new key is still counted: four hits on it are one too many.
        let victim = "login:email:victim@example.com";
        for _ in 0..3 {
            limiter.check(victim, limit).await.unwrap();
        }
        assert!(matches!(
            limiter.check(victim, limit).await,
            Err(AppError::RateLimited { .. })
        ));
    }

    #[tokio::test]
    async fn an_unreachable_store_never_fails_open() {
        let limiter = RateLimiter::new(Arc::new(Down));
        let limit = Limit {
            max: 1,
            window: Duration::from_secs(60),
        };
        limiter.check("k", limit).await.unwrap();
        assert!(matches!(
            limiter.check("k", limit).await,
            Err(AppError::RateLimited { .. })
        ));
    }
}
