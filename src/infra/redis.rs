//! Redis as an accelerator, never a dependency for serving: one connection per process behind
//! a circuit breaker.
//!
//! Every command goes through [`RedisClient::run`], bounded by a short timeout. The first
//! failure opens the circuit: from then on commands fail at once (callers fall back — rate
//! limits count in process, persisted queries live in process, the bus tells subscribers they
//! missed events), so an outage costs requests nothing but the fallback. A background probe
//! pings Redis with backoff (250 ms doubling to 5 s) and closes the circuit when it answers,
//! so recovery needs no restart and no request ever waits on a reconnect.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use redis::aio::ConnectionManager;
use tokio::sync::Notify;

/// The longest a command may take before Redis counts as down.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(300);
const FIRST_PROBE: Duration = Duration::from_millis(250);
const LAST_PROBE: Duration = Duration::from_secs(5);

/// Open while Redis is known to be unreachable.
#[derive(Default)]
struct Breaker {
    open: AtomicBool,
    tripped: Notify,
}

/// A Redis connection shared by the process's Redis users, with the key prefix of this
/// deployment (or test).
#[derive(Clone)]
pub struct RedisClient {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    connection: ConnectionManager,
    prefix: String,
    breaker: Arc<Breaker>,
    probe: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.probe.abort();
    }
}

impl RedisClient {
    /// Connects; fails (loudly) when Redis is unreachable at start-up. Later outages open the
    /// circuit instead.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("REDIS_URL: not a valid Redis URL")?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = tokio::time::timeout(
            Duration::from_secs(5),
            client.get_connection_manager_with_config(config),
        )
        .await
        .context("REDIS_URL: Redis did not answer within 5 s")?
        .context("REDIS_URL: cannot connect to Redis")?;
        let breaker = Arc::new(Breaker::default());
        let probe = tokio::spawn(probe(connection.clone(), breaker.clone()));
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                connection,
                prefix: prefix.to_owned(),
                breaker,
                probe,
            }),
        })
    }

    /// The key and channel prefix (`REDIS_PREFIX`).
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The client, for connections of their own (pub/sub).
    pub fn client(&self) -> &redis::Client {
        &self.inner.client
    }

    /// Whether the circuit is open (Redis known unreachable).
    pub fn is_degraded(&self) -> bool {
        self.inner.breaker.open.load(Ordering::Acquire)
    }

    /// Runs one command (or pipeline) unless the circuit is open; a failure or a timeout opens
    /// it.
    pub async fn run<T, F, Fut>(&self, what: &'static str, command: F) -> anyhow::Result<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.is_degraded() {
            anyhow::bail!("{what}: Redis is unreachable (circuit open)");
        }
        let outcome =
            tokio::time::timeout(COMMAND_TIMEOUT, command(self.inner.connection.clone())).await;
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if !is_outage(&error) => Err(anyhow::Error::new(error).context(what)),
            Ok(Err(error)) => {
                self.trip(what);
                Err(anyhow::Error::new(error).context(what))
            }
            Err(_) => {
                self.trip(what);
                anyhow::bail!("{what}: Redis did not answer within {COMMAND_TIMEOUT:?}")
            }
        }
    }

    /// PING, through the breaker (for `/readyz`).
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.run("redis ping", |mut connection| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        })
        .await
        .map(drop)
    }

    fn trip(&self, what: &'static str) {
        if !self.inner.breaker.open.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                operation = what,
                "Redis unreachable: circuit open, serving from the database and in-process fallbacks"
            );
            self.inner.breaker.tripped.notify_one();
        }
    }
}

/// Errors that say Redis is unreachable, as opposed to a command Redis refused.
fn is_outage(error: &redis::RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_unrecoverable_error()
}

/// While the circuit is open, pings with backoff and closes it once Redis answers.
async fn probe(connection: ConnectionManager, breaker: Arc<Breaker>) {
    loop {
        if !breaker.open.load(Ordering::Acquire) {
            breaker.tripped.notified().await;
        }
        let mut wait = FIRST_PROBE;
        loop {
            tokio::time::sleep(wait).await;
            let mut connection = connection.clone();
            let command = redis::cmd("PING");
            let ping = command.query_async::<String>(&mut connection);
            if matches!(tokio::time::timeout(COMMAND_TIMEOUT, ping).await, Ok(Ok(_))) {
                breaker.open.store(false, Ordering::Release);
                tracing::info!("Redis answers again: circuit closed");
                break;
            }
            wait = (wait * 2).min(LAST_PROBE);
        }
    }
}
