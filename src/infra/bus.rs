//! The pub/sub bus: one trait, two implementations.
//!
//! - [`MemoryBus`] (default): a tokio broadcast channel inside the process.
//! - [`RedisBus`] (`REDIS_URL`): Redis `PUBLISH`/`PSUBSCRIBE` on `<REDIS_PREFIX>:<topic>`, so an
//!   event published by one Iris process reaches subscribers on every process. Publishing goes
//!   through a `ConnectionManager` (reconnects on its own); one subscriber connection per process
//!   fans messages out locally and is re-established with backoff whenever it drops or stops
//!   answering pings — e.g. after a Redis restart.
//!
//! Pub/sub is fire-and-forget, as Redis pub/sub itself: a message published while a subscriber
//! connection is down is not replayed. Events that must not be lost go through the outbox.
//!
//! [`EventBus`] is the typed face the domain uses: `publish(&event)` / `subscribe::<E>()`.

use std::{pin::Pin, sync::Arc, time::Duration};

use anyhow::Context as _;
use async_trait::async_trait;
use futures_util::{Stream, StreamExt};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::broadcast;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

/// Messages buffered per subscriber before a slow one starts missing some.
const LOCAL_CAPACITY: usize = 4096;

/// One message on the bus.
#[derive(Clone, Debug)]
pub struct BusMessage {
    pub topic: Arc<str>,
    pub payload: Arc<str>,
}

pub type PayloadStream = Pin<Box<dyn Stream<Item = Arc<str>> + Send>>;

/// A topic-based publish/subscribe transport.
#[async_trait]
pub trait PubSub: Send + Sync + 'static {
    /// Sends `payload` to every current subscriber of `topic`, on every process sharing the bus.
    async fn publish(&self, topic: &str, payload: String) -> anyhow::Result<()>;
    /// Payloads published on `topic` from now on.
    fn subscribe(&self, topic: &str) -> PayloadStream;
    /// Whether the transport answers (for `/readyz`).
    async fn check(&self) -> anyhow::Result<()>;
    /// `memory` or `redis`.
    fn backend(&self) -> &'static str;
}

fn local_subscription(sender: &broadcast::Sender<BusMessage>, topic: &str) -> PayloadStream {
    let topic: Arc<str> = topic.into();
    BroadcastStream::new(sender.subscribe())
        .filter_map(move |item| {
            let wanted = match item {
                Ok(message) if message.topic == topic => Some(message.payload),
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(missed)) => {
                    tracing::warn!(topic = %topic, missed, "slow bus subscriber missed messages");
                    None
                }
            };
            std::future::ready(wanted)
        })
        .boxed()
}

/// In-process bus: subscribers in this process only.
pub struct MemoryBus {
    sender: broadcast::Sender<BusMessage>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(LOCAL_CAPACITY).0,
        }
    }
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl PubSub for MemoryBus {
    async fn publish(&self, topic: &str, payload: String) -> anyhow::Result<()> {
        // No receivers is not an error: nobody is listening.
        let _ = self.sender.send(BusMessage {
            topic: topic.into(),
            payload: payload.into(),
        });
        Ok(())
    }

    fn subscribe(&self, topic: &str) -> PayloadStream {
        local_subscription(&self.sender, topic)
    }

    async fn check(&self) -> anyhow::Result<()> {
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

/// Redis-backed bus shared by every Iris process on the same Redis and prefix.
pub struct RedisBus {
    prefix: String,
    publisher: redis::aio::ConnectionManager,
    local: broadcast::Sender<BusMessage>,
    subscriber: tokio::task::JoinHandle<()>,
}

impl RedisBus {
    /// Connects both the publisher and the subscriber; fails (loudly) if Redis is unreachable
    /// at start-up. Later outages are healed by reconnecting.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("REDIS_URL: not a valid Redis URL")?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_secs(2));
        let publisher = tokio::time::timeout(
            Duration::from_secs(5),
            client.get_connection_manager_with_config(config),
        )
        .await
        .context("REDIS_URL: Redis did not answer within 5 s")?
        .context("REDIS_URL: cannot connect to Redis")?;

        let pattern = format!("{prefix}:*");
        let first = subscribe_pattern(&client, &pattern)
            .await
            .context("REDIS_URL: cannot open the pub/sub connection")?;
        let local = broadcast::channel(LOCAL_CAPACITY).0;
        let subscriber = tokio::spawn(run_subscriber(
            client,
            pattern,
            prefix.len() + 1,
            first,
            local.clone(),
        ));
        Ok(Self {
            prefix: prefix.to_owned(),
            publisher,
            local,
            subscriber,
        })
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.subscriber.abort();
    }
}

async fn subscribe_pattern(
    client: &redis::Client,
    pattern: &str,
) -> redis::RedisResult<redis::aio::PubSub> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.psubscribe(pattern).await?;
        Ok(pubsub)
    };
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(result) => result,
        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "subscribing timed out",
        ))),
    }
}

/// Forwards messages from Redis to local subscribers for the life of the bus, reconnecting
/// with exponential backoff (100 ms … 5 s) whenever the connection drops or stops answering.
async fn run_subscriber(
    client: redis::Client,
    pattern: String,
    strip: usize,
    first: redis::aio::PubSub,
    local: broadcast::Sender<BusMessage>,
) {
    const PING_EVERY: Duration = Duration::from_secs(5);
    const FIRST_RETRY: Duration = Duration::from_millis(100);
    let mut connection = Some(first);
    let mut backoff = FIRST_RETRY;
    loop {
        let pubsub = match connection.take() {
            Some(pubsub) => pubsub,
            None => {
                // Always wait before reconnecting, so a flapping Redis is not hammered.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                match subscribe_pattern(&client, &pattern).await {
                    Ok(pubsub) => {
                        tracing::info!("redis pub/sub connection re-established");
                        pubsub
                    }
                    Err(error) => {
                        tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "redis pub/sub reconnect failed");
                        continue;
                    }
                }
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else {
                        tracing::warn!("redis pub/sub connection lost; reconnecting");
                        break;
                    };
                    backoff = FIRST_RETRY; // the connection works
                    let channel = message.get_channel_name();
                    let Some(topic) = channel.get(strip..) else { continue };
                    match message.get_payload::<String>() {
                        Ok(payload) => {
                            let _ = local.send(BusMessage { topic: topic.into(), payload: payload.into() });
                        }
                        Err(error) => tracing::warn!(%error, channel, "unreadable pub/sub payload"),
                    }
                }
                _ = ping.tick() => {
                    // In subscribed mode RESP2 answers PING with ["pong", ""], RESP3 with PONG:
                    // any answer proves the connection alive.
                    let alive = tokio::time::timeout(Duration::from_secs(3), sink.ping::<redis::Value>()).await;
                    if !matches!(alive, Ok(Ok(_))) {
                        tracing::warn!("redis pub/sub connection stopped answering; reconnecting");
                        break;
                    }
                    backoff = FIRST_RETRY;
                }
            }
        }
    }
}

#[async_trait]
impl PubSub for RedisBus {
    async fn publish(&self, topic: &str, payload: String) -> anyhow::Result<()> {
        let channel = format!("{}:{topic}", self.prefix);
        let mut connection = self.publisher.clone();
        redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(payload)
            .query_async::<i64>(&mut connection)
            .await
            .with_context(|| format!("publishing to redis channel {channel} failed"))?;
        Ok(())
    }

    fn subscribe(&self, topic: &str) -> PayloadStream {
        local_subscription(&self.local, topic)
    }

    async fn check(&self) -> anyhow::Result<()> {
        let mut connection = self.publisher.clone();
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut connection);
        tokio::time::timeout(Duration::from_secs(2), ping)
            .await
            .context("redis did not answer within 2 s")?
            .context("redis ping failed")?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

/// A domain event with its topic.
pub trait Event: Serialize + DeserializeOwned + Send + 'static {
    const TOPIC: &'static str;
}

/// The typed bus the domain publishes to and subscriptions read from.
#[derive(Clone)]
pub struct EventBus {
    transport: Arc<dyn PubSub>,
}

impl EventBus {
    pub fn new(transport: Arc<dyn PubSub>) -> Self {
        Self { transport }
    }

    pub fn memory() -> Self {
        Self::new(Arc::new(MemoryBus::new()))
    }

    pub async fn publish<E: Event>(&self, event: &E) -> anyhow::Result<()> {
        let payload = serde_json::to_string(event).context("serialising event failed")?;
        self.transport.publish(E::TOPIC, payload).await
    }

    /// Events of type `E` published from now on; undecodable payloads are logged and skipped.
    pub fn subscribe<E: Event>(&self) -> impl Stream<Item = E> + Send + 'static + use<E> {
        self.transport.subscribe(E::TOPIC).filter_map(|payload| {
            let event = serde_json::from_str::<E>(&payload)
                .inspect_err(|error| tracing::warn!(%error, topic = E::TOPIC, "undecodable event"))
                .ok();
            std::future::ready(event)
        })
    }

    pub async fn check(&self) -> anyhow::Result<()> {
        self.transport.check().await
    }

    pub fn backend(&self) -> &'static str {
        self.transport.backend()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Ping(u32);
    impl Event for Ping {
        const TOPIC: &'static str = "test.ping";
    }
    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Other(u32);
    impl Event for Other {
        const TOPIC: &'static str = "test.other";
    }

    #[tokio::test]
    async fn memory_bus_delivers_by_topic_to_every_subscriber() {
        let bus = EventBus::memory();
        let a = bus.subscribe::<Ping>();
        let b = bus.subscribe::<Ping>();
        bus.publish(&Other(9)).await.unwrap();
        bus.publish(&Ping(1)).await.unwrap();
        tokio::pin!(a, b);
        assert_eq!(a.next().await, Some(Ping(1)));
        assert_eq!(b.next().await, Some(Ping(1)));
    }
}
