//! The pub/sub bus: one trait, two implementations.
//!
//! - [`MemoryBus`] (default): a tokio broadcast channel inside the process.
//! - [`RedisBus`] (`REDIS_URL`): Redis `PUBLISH`/`PSUBSCRIBE` on `<REDIS_PREFIX>:<topic>`, so an
//!   event published by one Iris process reaches subscribers on every process. Publishing goes
//!   through the process's [`RedisClient`] (its circuit breaker fails fast during an outage);
//!   one subscriber connection per process fans messages out locally and is re-established
//!   with backoff whenever it drops or stops answering pings.
//!
//! Pub/sub is fire-and-forget, as Redis pub/sub itself, so a subscriber is never left to
//! believe it saw everything when it may not have: whenever events may have been missed, its
//! stream yields [`EventsMissed`] and ends. That happens when
//! - this process's subscriber connection is lost (anything published meanwhile is gone),
//! - a publish from this process fails (its local subscribers are told at once; once Redis
//!   answers again a gap notice on `<prefix>:_gap` tells every other process's subscribers),
//! - a subscription starts while the subscriber connection is down,
//! - a subscriber is too slow and its buffer overflows.
//!
//! The subscriber then resubscribes and refetches the state it shows. Events that must not be
//! lost at all (webhooks, notifications) go through the outbox, not through this bus.
//!
//! [`EventBus`] is the typed face the domain uses: `publish(&event)` / `subscribe::<E>()`.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use async_trait::async_trait;
use futures_util::{Stream, StreamExt};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::{Notify, broadcast};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use super::redis::RedisClient;

/// Messages buffered per subscriber before a slow one starts missing some.
const LOCAL_CAPACITY: usize = 4096;

/// The topic of gap notices between processes.
const GAP_TOPIC: &str = "_gap";

/// Events may have been missed: the subscription is over; resubscribe and refetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventsMissed;

/// What the local fan-out carries.
#[derive(Clone, Debug)]
enum Delivery {
    Message {
        topic: Arc<str>,
        payload: Arc<str>,
    },
    /// Events may have been lost: every local subscription ends with [`EventsMissed`].
    Gap,
}

pub type PayloadStream = Pin<Box<dyn Stream<Item = Result<Arc<str>, EventsMissed>> + Send>>;

/// A topic-based publish/subscribe transport.
#[async_trait]
pub trait PubSub: Send + Sync + 'static {
    /// Sends `payload` to every current subscriber of `topic`, on every process sharing the bus.
    async fn publish(&self, topic: &str, payload: String) -> anyhow::Result<()>;
    /// Payloads published on `topic` from now on, ending with [`EventsMissed`] when some may
    /// have been lost.
    fn subscribe(&self, topic: &str) -> PayloadStream;
    /// Whether the transport answers (for `/readyz`).
    async fn check(&self) -> anyhow::Result<()>;
    /// `memory` or `redis`.
    fn backend(&self) -> &'static str;
}

/// The payloads of `topic` from the local fan-out; the first gap (or overflow) is the last item.
fn local_subscription(sender: &broadcast::Sender<Delivery>, topic: &str) -> PayloadStream {
    let topic: Arc<str> = topic.into();
    let items = BroadcastStream::new(sender.subscribe()).filter_map(move |item| {
        let wanted = match item {
            Ok(Delivery::Message { topic: t, payload }) => (t == topic).then_some(Ok(payload)),
            Ok(Delivery::Gap) => Some(Err(EventsMissed)),
            Err(BroadcastStreamRecvError::Lagged(missed)) => {
                tracing::warn!(topic = %topic, missed, "slow bus subscriber missed messages");
                Some(Err(EventsMissed))
            }
        };
        std::future::ready(wanted)
    });
    until_err(items).boxed()
}

/// Ends a stream right after its first error (a live stream that lost events, or access,
/// says so once and stops).
pub fn until_err<T: Send + 'static, E: Send + 'static>(
    items: impl Stream<Item = Result<T, E>> + Send + 'static,
) -> impl Stream<Item = Result<T, E>> + Send + 'static {
    futures_util::stream::unfold((items.boxed(), false), |(mut items, ended)| async move {
        if ended {
            return None;
        }
        let item = items.next().await?;
        let ended = item.is_err();
        Some((item, (items, ended)))
    })
}

/// In-process bus: subscribers in this process only.
pub struct MemoryBus {
    sender: broadcast::Sender<Delivery>,
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
        let _ = self.sender.send(Delivery::Message {
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
    redis: RedisClient,
    local: broadcast::Sender<Delivery>,
    /// Whether the subscriber connection is up (subscriptions started while it is down end
    /// at once with [`EventsMissed`]).
    listening: Arc<AtomicBool>,
    /// A publish failed: the other processes must hear of the gap once Redis answers.
    owe_gap: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RedisBus {
    /// Opens the subscriber connection; fails (loudly) if Redis is unreachable at start-up.
    /// Later outages are healed by reconnecting.
    pub async fn connect(redis: RedisClient) -> anyhow::Result<Self> {
        let pattern = format!("{}:*", redis.prefix());
        let first = subscribe_pattern(redis.client(), &pattern)
            .await
            .context("REDIS_URL: cannot open the pub/sub connection")?;
        let local = broadcast::channel(LOCAL_CAPACITY).0;
        let listening = Arc::new(AtomicBool::new(true));
        let owe_gap = Arc::new(Notify::new());
        let subscriber = tokio::spawn(run_subscriber(
            redis.client().clone(),
            pattern,
            redis.prefix().len() + 1,
            first,
            local.clone(),
            listening.clone(),
        ));
        let herald = tokio::spawn(announce_gaps(redis.clone(), owe_gap.clone()));
        Ok(Self {
            redis,
            local,
            listening,
            owe_gap,
            tasks: vec![subscriber, herald],
        })
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
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
    match tokio::time::timeout(Duration::from_secs(3), connect).await {
        Ok(result) => result,
        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "subscribing timed out",
        ))),
    }
}

/// Forwards messages from Redis to local subscribers for the life of the bus, reconnecting
/// with exponential backoff (100 ms … 5 s) whenever the connection drops or stops answering.
/// Losing the connection is a gap: local subscriptions end with [`EventsMissed`].
async fn run_subscriber(
    client: redis::Client,
    pattern: String,
    strip: usize,
    first: redis::aio::PubSub,
    local: broadcast::Sender<Delivery>,
    listening: Arc<AtomicBool>,
) {
    // A stalled connection is noticed within PING_EVERY + PING_TIMEOUT.
    const PING_EVERY: Duration = Duration::from_secs(2);
    const PING_TIMEOUT: Duration = Duration::from_secs(1);
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
                        tracing::debug!(%error, retry_in_ms = backoff.as_millis() as u64, "redis pub/sub reconnect failed");
                        continue;
                    }
                }
            }
        };
        listening.store(true, Ordering::Release);
        let (mut sink, mut stream) = pubsub.split();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else {
                        tracing::warn!("redis pub/sub connection lost; subscribers told to resubscribe");
                        break;
                    };
                    backoff = FIRST_RETRY; // the connection works
                    let channel = message.get_channel_name();
                    let Some(topic) = channel.get(strip..) else { continue };
                    if topic == GAP_TOPIC {
                        let _ = local.send(Delivery::Gap);
                        continue;
                    }
                    match message.get_payload::<String>() {
                        Ok(payload) => {
                            let _ = local.send(Delivery::Message { topic: topic.into(), payload: payload.into() });
                        }
                        Err(error) => tracing::warn!(%error, channel, "unreadable pub/sub payload"),
                    }
                }
                _ = ping.tick() => {
                    // In subscribed mode RESP2 answers PING with ["pong", ""], RESP3 with PONG:
                    // any answer proves the connection alive.
                    let alive = tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await;
                    if !matches!(alive, Ok(Ok(_))) {
                        tracing::warn!("redis pub/sub connection stopped answering; subscribers told to resubscribe");
                        break;
                    }
                    backoff = FIRST_RETRY;
                }
            }
        }
        listening.store(false, Ordering::Release);
        let _ = local.send(Delivery::Gap);
    }
}

/// `PUBLISH <prefix>:<topic> <payload>`, through the circuit breaker.
async fn publish(
    client: &RedisClient,
    what: &'static str,
    topic: &str,
    payload: String,
) -> anyhow::Result<()> {
    let channel = format!("{}:{topic}", client.prefix());
    client
        .run(what, |mut connection| async move {
            redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(payload)
                .query_async::<i64>(&mut connection)
                .await
        })
        .await
        .map(drop)
}

/// After a failed publish, tells every process (through Redis, once it answers) that events
/// may have been missed.
async fn announce_gaps(redis: RedisClient, owe_gap: Arc<Notify>) {
    loop {
        owe_gap.notified().await;
        loop {
            let sent = publish(&redis, "announcing a pub/sub gap", GAP_TOPIC, String::new()).await;
            if sent.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

#[async_trait]
impl PubSub for RedisBus {
    async fn publish(&self, topic: &str, payload: String) -> anyhow::Result<()> {
        let published = publish(&self.redis, "publishing an event", topic, payload).await;
        if published.is_err() {
            // Nobody may have heard it: local subscribers now, the others once Redis is back.
            let _ = self.local.send(Delivery::Gap);
            self.owe_gap.notify_one();
        }
        published
    }

    fn subscribe(&self, topic: &str) -> PayloadStream {
        // Receive first, check second: a gap after this check reaches the new receiver.
        let subscription = local_subscription(&self.local, topic);
        if !self.listening.load(Ordering::Acquire) || self.redis.is_degraded() {
            return futures_util::stream::iter([Err(EventsMissed)]).boxed();
        }
        subscription
    }

    async fn check(&self) -> anyhow::Result<()> {
        if !self.listening.load(Ordering::Acquire) {
            anyhow::bail!("the redis pub/sub connection is down");
        }
        self.redis.ping().await
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

/// `payload` decoded as `E`, reusing the decoding of the same payload (the same `Arc`) by
/// another subscriber; undecodable payloads are logged and skipped.
fn decode_once<E: Event>(
    cache: &std::sync::Mutex<std::collections::HashMap<&'static str, Decoded>>,
    payload: &Arc<str>,
) -> Option<E> {
    let lock = || {
        cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    if let Some((seen, value)) = lock().get(E::TOPIC)
        && Arc::ptr_eq(seen, payload)
        && let Some(event) = value.downcast_ref::<E>()
    {
        return Some(event.clone());
    }
    let event = serde_json::from_str::<E>(payload)
        .inspect_err(|error| tracing::warn!(%error, topic = E::TOPIC, "undecodable event"))
        .ok()?;
    lock().insert(E::TOPIC, (payload.clone(), Arc::new(event.clone())));
    Some(event)
}

/// A domain event with its topic.
pub trait Event: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    const TOPIC: &'static str;
}

/// The typed bus the domain publishes to and subscriptions read from.
#[derive(Clone)]
pub struct EventBus {
    transport: Arc<dyn PubSub>,
    /// The last payload decoded per topic: every local subscriber receives the same payload
    /// (one `Arc<str>`), so thousands of subscribers decode it once, not once each.
    decoded: Arc<std::sync::Mutex<std::collections::HashMap<&'static str, Decoded>>>,
}

type Decoded = (Arc<str>, Arc<dyn std::any::Any + Send + Sync>);

impl EventBus {
    pub fn new(transport: Arc<dyn PubSub>) -> Self {
        Self {
            transport,
            decoded: Default::default(),
        }
    }

    pub fn memory() -> Self {
        Self::new(Arc::new(MemoryBus::new()))
    }

    pub async fn publish<E: Event>(&self, event: &E) -> anyhow::Result<()> {
        let payload = serde_json::to_string(event).context("serialising event failed")?;
        self.transport.publish(E::TOPIC, payload).await
    }

    /// Events of type `E` published from now on, ending with [`EventsMissed`] when some may
    /// have been lost; undecodable payloads are logged and skipped.
    pub fn subscribe<E: Event>(
        &self,
    ) -> impl Stream<Item = Result<E, EventsMissed>> + Send + 'static + use<E> {
        let decoded = self.decoded.clone();
        self.transport.subscribe(E::TOPIC).filter_map(move |item| {
            let event = match item {
                Ok(payload) => decode_once::<E>(&decoded, &payload).map(Ok),
                Err(missed) => Some(Err(missed)),
            };
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

impl From<EventsMissed> for crate::error::AppError {
    fn from(_: EventsMissed) -> Self {
        crate::error::AppError::Unavailable(crate::error::LIVE_UPDATES_INTERRUPTED.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
    struct Ping(u32);
    impl Event for Ping {
        const TOPIC: &'static str = "test.ping";
    }
    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
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
        assert_eq!(a.next().await, Some(Ok(Ping(1))));
        assert_eq!(b.next().await, Some(Ok(Ping(1))));
    }

    #[tokio::test]
    async fn a_gap_ends_every_subscription_with_events_missed() {
        let bus = MemoryBus::new();
        let mut a = bus.subscribe("t");
        bus.publish("t", "1".into()).await.unwrap();
        let _ = bus.sender.send(Delivery::Gap);
        bus.publish("t", "2".into()).await.unwrap();
        assert_eq!(a.next().await, Some(Ok(Arc::from("1"))));
        assert_eq!(a.next().await, Some(Err(EventsMissed)));
        assert_eq!(a.next().await, None, "the stream ends after the gap");
    }
}
