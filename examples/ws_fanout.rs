//! Websocket fan-out, measured from outside: N subscribers of `orderStatusChanged`
//! (graphql-transport-ws) on one order, one status change, and how long until each has it.
//!
//!   cargo run --release --example ws_fanout -- <base-url> <token> <order-id> [subscribers=10000]
//!
//! Prints how long connecting took, when the mutation was answered, p50/p99/max delivery time
//! (from sending the mutation), how many received it, and — with the server's pid in
//! `IRIS_PID` — its RSS before connecting, with every subscriber idle (memory per idle
//! subscriber), and after the event. `bench/live.sh` runs it. A client in Rust, so that on a
//! small machine the figures are the server's, not the load tool's: each received message
//! costs a few microseconds here.

// A command-line load tool: its output is its result.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::{
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

const SUBSCRIPTION: &str =
    "subscription($id: ID!) { orderStatusChanged(orderId: $id) { to order { id status } } }";

fn rss_mb() -> Option<f64> {
    let pid = std::env::var("IRIS_PID").ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// A server message, read no further than its type.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
}

struct Shared {
    sent_at: OnceLock<Instant>,
    delivered: Mutex<Vec<Duration>>,
    failed: AtomicUsize,
}

/// One subscriber: connects, initialises, subscribes, then records when its `next` arrives.
async fn subscriber(
    url: String,
    token: String,
    order: String,
    shared: Arc<Shared>,
    ready: tokio::sync::mpsc::Sender<()>,
) -> anyhow::Result<()> {
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    ws.send(Message::Text(init.to_string().into())).await?;
    while let Some(message) = ws.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        // The envelope only: `type` is all that is needed.
        let Envelope { kind } = serde_json::from_str(&text)?;
        match kind {
            "connection_ack" => {
                let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
                    "query": SUBSCRIPTION, "variables": { "id": order } } });
                ws.send(Message::Text(subscribe.to_string().into())).await?;
                let _ = ready.send(()).await;
            }
            "next" => {
                let at = shared
                    .sent_at
                    .get()
                    .map(Instant::elapsed)
                    .unwrap_or_default();
                shared.delivered.lock().expect("not poisoned").push(at);
                // Keep the socket open (and idle) until the run ends.
                while ws.next().await.is_some() {}
                return Ok(());
            }
            "error" | "complete" => anyhow::bail!("subscription ended: {text}"),
            _ => {}
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, token, order, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: ws_fanout <base-url> <token> <order-id> [subscribers=10000]");
    };
    let total: usize = rest.first().map_or(Ok(10_000), |n| n.parse())?;
    let url = format!("{}/graphql/ws", base.replacen("http", "ws", 1));
    let shared = Arc::new(Shared {
        sent_at: OnceLock::new(),
        delivered: Mutex::new(Vec::with_capacity(total)),
        failed: AtomicUsize::new(0),
    });

    let before = rss_mb();
    let started = Instant::now();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(total.max(1));
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let (url, token, order, shared, ready) = (
            url.clone(),
            token.clone(),
            order.clone(),
            shared.clone(),
            ready_tx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            if let Err(error) = subscriber(url, token, order, shared.clone(), ready).await
                && shared.failed.fetch_add(1, Ordering::Relaxed) == 0
            {
                eprintln!("subscriber {i}: {error:#}");
            }
        }));
        // At most a few hundred handshakes in flight.
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(ready_tx);
    let mut subscribed = 0;
    while subscribed < total && ready_rx.recv().await.is_some() {
        subscribed += 1;
    }
    let connected_in = started.elapsed();
    // Subscriptions become active asynchronously after `subscribe`: let them settle
    // (`FANOUT_SETTLE_SECS`, 3 by default; longer for a server under a profiler).
    let settle: u64 = std::env::var("FANOUT_SETTLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    eprintln!("all subscribed; the change comes in {settle} s");
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let failed = shared.failed.load(Ordering::Relaxed);
    if failed > 0 || subscribed < total {
        anyhow::bail!("{failed} subscribers failed, {subscribed} of {total} subscribed");
    }
    let connected = rss_mb();

    let client = reqwest::Client::new();
    if std::env::var_os("FANOUT_TRACE").is_some() {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        eprintln!("mutation sent at {:.3} (unix time)", unix.as_secs_f64());
    }
    let _ = shared.sent_at.set(Instant::now());
    let answer: Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({
            "query": "mutation($id: ID!) { confirmOrder(input: {orderId: $id}) { order { status } } }",
            "variables": { "id": order },
        }))
        .send()
        .await?
        .json()
        .await?;
    let answered_after = shared
        .sent_at
        .get()
        .map(Instant::elapsed)
        .unwrap_or_default();
    if answer.get("errors").is_some() {
        anyhow::bail!("the mutation failed: {answer}");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while shared.delivered.lock().expect("not poisoned").len() < total && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = rss_mb();
    let mut delivered = shared.delivered.lock().expect("not poisoned").clone();
    delivered.sort();
    if delivered.is_empty() {
        anyhow::bail!("no subscriber received the change");
    }
    println!(
        "subscribers: {total} (connected and subscribed in {:.1} s)",
        connected_in.as_secs_f64()
    );
    println!("received: {} of {total}", delivered.len());
    println!(
        "the mutation was answered after {:.0} ms",
        answered_after.as_secs_f64() * 1000.0
    );
    println!(
        "delivery after the mutation was sent: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&delivered, 50.0),
        percentile(&delivered, 99.0),
        percentile(&delivered, 100.0)
    );
    if let (Some(before), Some(connected), Some(after)) = (before, connected, after) {
        println!(
            "server RSS: {before:.1} MB before, {connected:.1} MB with {total} idle subscribers ({:.1} KB each), {after:.1} MB after the event",
            (connected - before) * 1024.0 / total as f64
        );
    }
    for task in tasks {
        task.abort();
    }
    if delivered.len() < total {
        anyhow::bail!(
            "{} subscribers never received the change",
            total - delivered.len()
        );
    }
    Ok(())
}
