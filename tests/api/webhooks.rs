//! Webhooks: signed deliveries of order events, retries, dead letters, auto-disable, SSRF
//! refusal, and signatures checked by the `standardwebhooks` package (when `.ci/run` provides
//! it through `IRIS_TEST_STANDARDWEBHOOKS_PYTHON`).

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, extract::State, http::HeaderMap, routing::post};
use chrono::Weekday;
use serde_json::{Value, json};

use crate::{
    helpers::Api,
    orders::{Market, error, fields, market, next, ok},
};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    /// Statuses to answer, in order; 200 once they run out (or `fallback`).
    script: VecDeque<u16>,
    fallback: Option<u16>,
    delay: Duration,
}

/// A webhook endpoint served by the test: records requests, answers as scripted.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn answer(&self, statuses: &[u16], then: u16) {
        let mut state = self.state.lock().unwrap();
        state.script = statuses.iter().copied().collect();
        state.fallback = Some(then);
    }

    pub fn delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until `done` holds for what was received (at most `within`).
    pub async fn wait_for(
        &self,
        within: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if done(&received) || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    let (status, delay) = {
        let mut state = state.lock().unwrap();
        state.received.push(Received {
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect(),
            body,
            at: Instant::now(),
        });
        let status = state.script.pop_front().or(state.fallback).unwrap_or(200);
        (status, state.delay)
    };
    tokio::time::sleep(delay).await;
    axum::http::StatusCode::from_u16(status).unwrap()
}

const CREATE: &str = "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id url eventTypes enabled organisationType organisationId } } }";
const DELIVERIES: &str = "query($id: ID!) { webhookDeliveries(endpointId: $id, first: 50) { id eventId eventType status attemptCount lastStatusCode lastError deliveredAt payload attempts { statusCode error attemptedAt } } }";
pub const ALL_EVENTS: [&str; 3] = ["order.placed", "order.status_changed", "delivery.marked"];

/// Settings for tests that deliver webhooks to the local receiver.
pub const DELIVERING: [(&str, &str); 3] = [
    ("SCHEDULER_ENABLED", "true"),
    ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
    ("OUTBOX_POLL_MS", "100"),
];

pub async fn create_endpoint(api: &Api, kind: &str, org: &str, url: &str, types: &[&str]) -> Value {
    let body = api
        .graphql(
            CREATE,
            json!({ "input": { "organisationType": kind, "organisationId": org, "url": url, "eventTypes": types } }),
        )
        .await;
    ok(body)["createWebhookEndpoint"].clone()
}

async fn deliveries(api: &Api, endpoint: &str) -> Vec<Value> {
    ok(api.graphql(DELIVERIES, json!({ "id": endpoint })).await)["webhookDeliveries"]
        .as_array()
        .unwrap()
        .clone()
}

/// The endpoint's `count` deliveries once none is PENDING any more (at most 10 s).
async fn settled_deliveries(api: &Api, endpoint: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let listed = deliveries(api, endpoint).await;
        let settled = listed.len() == count && listed.iter().all(|d| d["status"] != "PENDING");
        if settled || tokio::time::Instant::now() > deadline {
            assert_eq!(listed.len(), count, "{listed:?}");
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The signature Standard Webhooks specifies (computed here, independently of Iris).
pub fn expected_signature(secret: &str, id: &str, timestamp: &str, body: &str) -> String {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", engine.encode(mac.finalize().into_bytes()))
}

const VERIFY_PY: &str = r#"
import json, sys, time
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
case = json.load(sys.stdin)
secret, body, headers = case["secret"], case["body"], case["headers"]
results = {}
Webhook(secret).verify(body, headers)
results["valid"] = "verified"
def refused(fn):
    try:
        fn()
        return "ACCEPTED"
    except WebhookVerificationError as e:
        return "refused: " + str(e)
results["tampered body"] = refused(lambda: Webhook(secret).verify(body.replace("PLACED", "CANCELLED"), headers))
results["wrong secret"] = refused(lambda: Webhook("whsec_" + "QUJD" * 8).verify(body, headers))
old = int(time.time()) - 3600
wh = Webhook(secret)
stale = dict(headers, **{"webhook-timestamp": str(old), "webhook-signature": wh.sign(headers["webhook-id"], __import__("datetime").datetime.fromtimestamp(old, __import__("datetime").timezone.utc), body)})
results["stale timestamp"] = refused(lambda: wh.verify(body, stale))
print(json.dumps(results))
"#;

#[tokio::test]
async fn order_events_reach_a_subscribed_endpoint_signed() {
    let receiver = Receiver::start().await;
    let m = market(&DELIVERING).await;
    let created = create_endpoint(
        &m.seller_b,
        "SUPPLIER",
        &m.supplier_b,
        &receiver.url(),
        &ALL_EVENTS,
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    let endpoint = created["endpoint"]["id"].as_str().unwrap().to_owned();
    // The other party's endpoint subscribed to placements only.
    let chef_receiver = Receiver::start().await;
    create_endpoint(
        &m.chef,
        "RESTAURANT",
        &m.restaurant,
        &chef_receiver.url(),
        &["order.placed"],
    )
    .await;

    let order = m.placed().await;
    for step in ["confirmOrder", "shipOrder", "markOrderDelivered"] {
        ok(m.transition(&m.seller_b, step, &order, None).await);
    }
    let received = receiver
        .wait_for(Duration::from_secs(15), |r| r.len() >= 5)
        .await;
    assert_eq!(
        received.len(),
        5,
        "placed, 3 status changes, delivery marked: {received:?}"
    );
    let types: Vec<String> = received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    for t in ALL_EVENTS {
        assert!(types.iter().any(|x| x == t), "{types:?}");
    }
    let ids: std::collections::HashSet<&String> =
        received.iter().map(|r| &r.headers["webhook-id"]).collect();
    assert_eq!(ids.len(), 5, "one webhook-id per delivery");
    for r in &received {
        let body = r.json();
        assert_eq!(body["data"]["order"]["id"], order.as_str(), "{body}");
        assert_eq!(
            r.headers["webhook-signature"],
            expected_signature(
                &secret,
                &r.headers["webhook-id"],
                &r.headers["webhook-timestamp"],
                &r.body
            )
        );
        let ts: i64 = r.headers["webhook-timestamp"].parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
        assert_eq!(r.headers["content-type"], "application/json");
    }
    let placed = chef_receiver
        .wait_for(Duration::from_secs(10), |r| !r.is_empty())
        .await;
    assert_eq!(placed.len(), 1);
    assert_eq!(placed[0].json()["type"], "order.placed");

    // The endpoint answered; its answers are recorded (attempt and outcome together) a moment
    // after the receiver saw them.
    let listed = settled_deliveries(&m.seller_b, &endpoint, 5).await;
    assert!(
        listed.iter().all(|d| d["status"] == "SUCCEEDED"
            && d["attemptCount"] == 1
            && d["attempts"][0]["statusCode"] == 200),
        "{listed:?}"
    );
    // Others do not see the endpoint or its deliveries.
    assert_eq!(
        error(&m.chef.graphql(DELIVERIES, json!({ "id": endpoint })).await).0,
        "NOT_FOUND"
    );
    let theirs = ok(m
        .chef
        .graphql("{ webhookEndpoints { id } }", json!({}))
        .await);
    assert_eq!(theirs["webhookEndpoints"].as_array().unwrap().len(), 1);

    // An implementation we did not write agrees, and refuses tampering.
    match std::env::var("IRIS_TEST_STANDARDWEBHOOKS_PYTHON") {
        Ok(python) if !python.is_empty() => {
            let first = &received[0];
            let case = json!({
                "secret": secret,
                "body": first.body,
                "headers": {
                    "webhook-id": first.headers["webhook-id"],
                    "webhook-timestamp": first.headers["webhook-timestamp"],
                    "webhook-signature": first.headers["webhook-signature"],
                },
            });
            let mut child = std::process::Command::new(&python)
                .args(["-c", VERIFY_PY])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("IRIS_TEST_STANDARDWEBHOOKS_PYTHON={python}: {e}"));
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(case.to_string().as_bytes())
                .unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let results: Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(results["valid"], "verified", "{results}");
            for case in ["tampered body", "wrong secret", "stale timestamp"] {
                assert!(
                    results[case].as_str().unwrap().starts_with("refused"),
                    "{case}: {results}"
                );
            }
        }
        _ => eprintln!(
            "NOT RUN here: verification by the standardwebhooks package needs IRIS_TEST_STANDARDWEBHOOKS_PYTHON; .ci/run sets it"
        ),
    }
}

/// Places an order with supplier B; returns its id.
async fn place(m: &Market) -> String {
    m.placed().await
}

#[tokio::test]
async fn failing_deliveries_back_off_die_come_back_and_disable_the_endpoint() {
    let receiver = Receiver::start().await;
    let mut settings = DELIVERING.to_vec();
    settings.extend([
        ("WEBHOOK_MAX_ATTEMPTS", "3"),
        ("WEBHOOK_RETRY_BASE_MS", "300"),
        ("WEBHOOK_DISABLE_AFTER_SECS", "3"),
    ]);
    let m = market(&settings).await;
    let created = create_endpoint(
        &m.seller_b,
        "SUPPLIER",
        &m.supplier_b,
        &receiver.url(),
        &["order.placed"],
    )
    .await;
    let endpoint = created["endpoint"]["id"].as_str().unwrap().to_owned();

    // 500, 429, 500: retried with growing gaps, then dead.
    receiver.answer(&[500, 429, 500], 200);
    place(&m).await;
    let got = receiver
        .wait_for(Duration::from_secs(10), |r| r.len() >= 3)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 3, "no fourth attempt");
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(200), "{gaps:?}");
    assert!(
        gaps[1] >= Duration::from_millis(450) && gaps[1] > gaps[0],
        "backoff grows: {gaps:?}"
    );
    assert!(
        got.iter()
            .all(|r| r.headers["webhook-id"] == got[0].headers["webhook-id"]),
        "the same webhook-id on every retry"
    );
    let dead = deliveries(&m.seller_b, &endpoint).await;
    assert_eq!(dead[0]["status"], "DEAD", "{dead:?}");
    assert_eq!(dead[0]["attemptCount"], 3);
    let codes: Vec<&Value> = dead[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["statusCode"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(429), &json!(500)]);

    // Redelivered, the endpoint now answers 200.
    let again = ok(m
        .seller_b
        .graphql("mutation($id: ID!) { redeliverWebhook(input: {deliveryId: $id}) { delivery { status attemptCount } } }", json!({ "id": dead[0]["id"] }))
        .await);
    assert_eq!(again["redeliverWebhook"]["delivery"]["status"], "PENDING");
    let got = receiver
        .wait_for(Duration::from_secs(10), |r| r.len() >= 4)
        .await;
    assert_eq!(got[3].headers["webhook-id"], got[0].headers["webhook-id"]);
    let mut delivered = Value::Null;
    for _ in 0..50 {
        delivered = deliveries(&m.seller_b, &endpoint).await[0].clone();
        if delivered["status"] == "SUCCEEDED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivered["status"], "SUCCEEDED", "{delivered}");

    // A plain client error is final: one attempt.
    receiver.answer(&[404], 200);
    place(&m).await;
    receiver
        .wait_for(Duration::from_secs(10), |r| r.len() >= 5)
        .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received().len(), 5, "a 404 is not retried");
    let latest = deliveries(&m.seller_b, &endpoint).await;
    assert_eq!(
        (
            latest[0]["status"].as_str(),
            latest[0]["attemptCount"].as_i64()
        ),
        (Some("DEAD"), Some(1))
    );

    // Failing for longer than WEBHOOK_DISABLE_AFTER_SECS disables the endpoint.
    receiver.answer(&[], 503);
    place(&m).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    place(&m).await;
    let mut state = Value::Null;
    for _ in 0..60 {
        state = ok(m
            .seller_b
            .graphql(
                "{ webhookEndpoints { enabled failingSince disabledReason } }",
                json!({}),
            )
            .await);
        if state["webhookEndpoints"][0]["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let endpoint_state = &state["webhookEndpoints"][0];
    assert_eq!(endpoint_state["enabled"], false, "{state}");
    assert!(
        endpoint_state["disabledReason"]
            .as_str()
            .unwrap()
            .starts_with("disabled automatically"),
        "{state}"
    );
    let audit = ok(m
        .admin
        .graphql(
            "{ auditLog(filter: {action: \"webhook.disable\"}) { totalCount } }",
            json!({}),
        )
        .await);
    assert_eq!(audit["auditLog"]["totalCount"], 1, "{audit}");

    // Its owner is told.
    let told = crate::notifications::notifications(&m.seller_b, 1).await;
    let kinds: Vec<&Value> = told["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["kind"])
        .collect();
    assert!(kinds.contains(&&json!("webhook.disabled")), "{told}");

    // Enabling it again clears the failure record.
    let enabled = ok(m
        .seller_b
        .graphql("mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, enabled: true}) { endpoint { enabled failingSince disabledReason } } }", json!({ "id": endpoint }))
        .await);
    assert_eq!(
        enabled["updateWebhookEndpoint"]["endpoint"],
        json!({ "enabled": true, "failingSince": null, "disabledReason": null })
    );
}

async fn create_raw(m: &Market, api: &Api, url: &str) -> Value {
    api.graphql(
        CREATE,
        json!({ "input": { "organisationType": "SUPPLIER", "organisationId": m.supplier_b, "url": url, "eventTypes": ["order.placed"] } }),
    )
    .await
}

#[tokio::test]
async fn endpoints_are_for_owners_and_never_point_inward() {
    let m = market(&[]).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://10.0.0.8/hook",
        "ftp://example.com/hook",
        "not a url",
    ] {
        let body = create_raw(&m, &m.seller_b, url).await;
        assert_eq!(fields(&body), ["url"], "{url}: {body}");
    }
    let body = m
        .seller_b
        .graphql(
            CREATE,
            json!({ "input": { "organisationType": "SUPPLIER", "organisationId": m.supplier_b, "url": "https://hooks.invalid/iris", "eventTypes": ["order.exploded"] } }),
        )
        .await;
    assert_eq!(
        fields(&body),
        ["url", "eventTypes[0]"],
        "a .invalid host never resolves: {body}"
    );
    assert_eq!(
        error(&create_raw(&m, &m.seller, "https://example.com/x").await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        error(&create_raw(&m, &m.chef, "https://example.com/x").await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        error(&create_raw(&m, &m.chef.anonymous(), "https://example.com/x").await).0,
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn secrets_are_shown_once_and_rotate() {
    let receiver = Receiver::start().await;
    let m = market(&DELIVERING).await;
    let created = create_endpoint(
        &m.seller_b,
        "SUPPLIER",
        &m.supplier_b,
        &receiver.url(),
        &["order.placed"],
    )
    .await;
    let endpoint = created["endpoint"]["id"].as_str().unwrap().to_owned();
    let old = created["secret"].as_str().unwrap().to_owned();
    let rotated = ok(m
        .seller_b
        .graphql("mutation($id: ID!) { rotateWebhookSecret(input: {id: $id}) { secret endpoint { id } } }", json!({ "id": endpoint }))
        .await);
    let new = rotated["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, old);
    assert_eq!(
        error(
            &m.seller
                .graphql(
                    "mutation($id: ID!) { rotateWebhookSecret(input: {id: $id}) { secret } }",
                    json!({ "id": endpoint })
                )
                .await
        )
        .0,
        "NOT_FOUND"
    );
    // The listing never carries a secret field; deliveries are signed with the new one.
    let order = m.placed().await;
    let got = receiver
        .wait_for(Duration::from_secs(10), |r| !r.is_empty())
        .await;
    let r = &got[0];
    assert_eq!(r.json()["data"]["order"]["id"], order.as_str());
    assert_eq!(
        r.headers["webhook-signature"],
        expected_signature(
            &new,
            &r.headers["webhook-id"],
            &r.headers["webhook-timestamp"],
            &r.body
        )
    );
    let _ = next(Weekday::Mon, 0);
}
