//! Iris as separate processes: SIGTERM, several instances sharing Postgres + Redis, and the
//! Redis bus healing itself after Redis connections drop.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::helpers::{
    Api, Backend, ProxyMode, TcpProxy, TestApp, create_supplier, join, service_url,
    subscribe_supplier_changes, update_until_event,
};

/// An `iris serve` child process on a backend, with its address.
pub(crate) struct Process {
    child: Child,
    base: String,
    pub(crate) log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Process {
    fn start(backend: &Backend, seed: bool) -> Process {
        Self::start_with(backend, seed, &[])
    }

    pub(crate) fn start_with(backend: &Backend, seed: bool, extra: &[(&str, &str)]) -> Process {
        let mut command = Command::new(env!("CARGO_BIN_EXE_iris"));
        command
            .arg("serve")
            .current_dir(std::env::temp_dir())
            .env_remove("REDIS_URL")
            .envs(backend.settings())
            .envs(extra.iter().copied())
            .env("SEED_ON_START", if seed { "true" } else { "false" })
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn iris");
        let stdout = child.stderr.take().expect("stderr (the log)");
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(at) = line.find("Iris is listening on http://") {
                    let rest = &line[at + "Iris is listening on ".len()..];
                    let url: String = rest.chars().take_while(|c| *c != '"').collect();
                    let _ = address_tx.send(url);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let base = address_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("iris reports its address");
        Process {
            child,
            base,
            log,
            reader: Some(reader),
        }
    }

    /// SIGKILL: no shutdown, no cleanup — a crash.
    fn crash(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    pub(crate) fn terminate(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    pub(crate) fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // The log pipe closes with the process: read it to the end.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "iris did not exit in time"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// A client signed in as the demo admin.
    pub(crate) async fn api(&self) -> Api {
        let addr = self.base.trim_start_matches("http://");
        Api::at(addr.parse().expect("address")).admin().await
    }
}

#[tokio::test]
async fn sigterm_stops_the_process_cleanly() {
    let backend = Backend::fresh().await;
    let mut process = Process::start(&backend, true);
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/graphql", process.base))
        .json(&serde_json::json!({ "query": "{ suppliers(first: 5) { totalCount edges { node { name } } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"]["suppliers"]["totalCount"], 3,
        "demo suppliers seeded: {body}"
    );
    process.terminate();
    let status = process.wait(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
    let log = process.log.lock().unwrap().join("\n");
    assert!(
        log.contains("shutdown requested") && log.contains("\"stopped\""),
        "{log}"
    );
}

fn shared_backends_configured() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    if set("IRIS_TEST_DATABASE_URL") && set("IRIS_TEST_REDIS_URL") {
        true
    } else {
        eprintln!(
            "NOT RUN on this backend: needs IRIS_TEST_DATABASE_URL and IRIS_TEST_REDIS_URL (the in-process bus cannot span processes); .ci/run runs it"
        );
        false
    }
}

#[tokio::test]
async fn a_change_on_one_process_reaches_a_subscriber_on_another() {
    if !shared_backends_configured() {
        return;
    }
    let backend = Backend::fresh().await;
    let mut writer = Process::start(&backend, false);
    let mut reader = Process::start(&backend, false);
    let writer_view = writer.api().await;
    let reader_view = reader.api().await;

    let supplier = create_supplier(&writer_view, 700, "Cluster AB", "Sundsvall").await;
    let mut ws = subscribe_supplier_changes(&reader_view, "graphql-transport-ws").await;
    let message = update_until_event(&writer_view, supplier["id"].as_str().unwrap(), &mut ws).await;
    assert_eq!(
        message["payload"]["data"]["supplierChanged"]["kind"],
        "UPDATED"
    );
    assert_eq!(
        message["payload"]["data"]["supplierChanged"]["supplier"]["id"],
        supplier["id"]
    );

    writer.terminate();
    reader.terminate();
    assert!(writer.wait(Duration::from_secs(15)).success());
    assert!(reader.wait(Duration::from_secs(15)).success());
}

#[tokio::test]
async fn an_order_confirmed_on_one_process_reaches_its_watcher_on_another() {
    if !shared_backends_configured() {
        return;
    }
    let backend = Backend::fresh().await;
    let writer = Process::start(&backend, true); // with demo orders
    let reader = Process::start(&backend, false);
    let writer_view = writer.api().await;
    let reader_view = reader.api().await;
    let placed = writer_view
        .graphql(
            "{ orders(first: 1, filter: {statuses: [PLACED]}) { edges { node { id } } } }",
            serde_json::json!({}),
        )
        .await;
    let order = placed["data"]["orders"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a demo order in PLACED: {placed}"))
        .to_owned();
    for protocol in ["graphql-transport-ws", "graphql-ws"] {
        let mut ws = crate::orders_live::subscribe(
            &reader_view,
            protocol,
            crate::orders_live::STATUS_CHANGED,
            serde_json::json!({ "id": order }),
        )
        .await;
        let action = if protocol == "graphql-ws" {
            "shipOrder"
        } else {
            "confirmOrder"
        };
        let changed = writer_view
            .graphql(
                &format!("mutation($id: ID!) {{ {action}(input: {{orderId: $id}}) {{ order {{ status }} }} }}"),
                serde_json::json!({ "id": order }),
            )
            .await;
        assert!(changed.get("errors").is_none(), "{changed}");
        let event = crate::orders_live::message(&mut ws).await;
        let to = if protocol == "graphql-ws" {
            "SHIPPED"
        } else {
            "CONFIRMED"
        };
        assert_eq!(
            event["payload"]["data"]["orderStatusChanged"]["to"], to,
            "{event}"
        );
        assert_eq!(
            event["payload"]["data"]["orderStatusChanged"]["order"]["id"],
            order.as_str()
        );
    }
}

#[tokio::test]
async fn two_processes_run_each_tick_of_a_job_once() {
    if !shared_backends_configured() {
        return;
    }
    let backend = Backend::fresh().await;
    let every_second = [
        ("SCHEDULER_ENABLED", "true"),
        ("JOB_EXPIRE_IDEMPOTENCY_KEYS_SCHEDULE", "* * * * * *"),
    ];
    let a = Process::start_with(&backend, false, &every_second);
    let b = Process::start_with(&backend, false, &every_second);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let admin = a.api().await;
    let job = crate::jobs::expiry_job(&admin).await;
    drop((a, b));
    let runs = job["runs"].as_array().expect("runs");
    let ticks: Vec<&str> = runs
        .iter()
        .map(|r| r["scheduledFor"].as_str().expect("a scheduled run"))
        .collect();
    let distinct: std::collections::HashSet<&&str> = ticks.iter().collect();
    assert!(
        ticks.len() >= 3,
        "both processes fired for several ticks: {job}"
    );
    assert_eq!(distinct.len(), ticks.len(), "one run per tick: {job}");
    assert!(runs.iter().all(|r| r["status"] == "SUCCEEDED"), "{job}");
}

#[tokio::test]
async fn two_processes_refresh_prices_once_per_tick() {
    if !shared_backends_configured() {
        return;
    }
    let backend = Backend::fresh().await;
    // The demo data has a dynamic rule on fish; both processes fire every second.
    let every_second = [
        ("SCHEDULER_ENABLED", "true"),
        ("JOB_REFRESH_PRICES_SCHEDULE", "* * * * * *"),
    ];
    let a = Process::start_with(&backend, true, &every_second);
    let admin = a.api().await;
    let b = Process::start_with(&backend, false, &every_second);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let job = crate::jobs::job_named(&admin, "refresh-prices").await;
    drop((a, b));
    let runs = job["runs"].as_array().expect("runs");
    let ticks: Vec<&str> = runs
        .iter()
        .filter_map(|r| r["scheduledFor"].as_str())
        .collect();
    let distinct: std::collections::HashSet<&&str> = ticks.iter().collect();
    assert!(
        ticks.len() >= 3,
        "both processes fired for several ticks: {job}"
    );
    assert_eq!(distinct.len(), ticks.len(), "one run per tick: {job}");
    // The last may still be running when listed; none failed.
    assert!(
        runs.iter().all(|r| matches!(
            r["status"].as_str(),
            Some("SUCCEEDED" | "SKIPPED" | "RUNNING")
        )),
        "{job}"
    );
}

#[tokio::test]
async fn webhook_events_survive_a_crash_mid_delivery() {
    use crate::webhooks::{Receiver, create_endpoint};
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(1500)); // deliveries stay in flight a while
    let backend = Backend::fresh().await;
    let settings = [
        ("SCHEDULER_ENABLED", "true"),
        ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ("OUTBOX_POLL_MS", "100"),
        ("WEBHOOK_TIMEOUT_SECS", "2"),
        // Two attempts in flight at a time: the crash finds some sent, some not.
        ("WEBHOOK_CONCURRENCY", "2"),
    ];
    let mut first = Process::start_with(&backend, true, &settings);
    let admin = first.api().await;
    let supplier = &admin.get_json("/api/v1/suppliers?limit=1&sort=name").await["data"][0];
    let supplier_id = supplier["id"].as_str().unwrap().to_owned();
    let restaurant = admin.get_json("/api/v1/restaurants?limit=1").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = admin
        .client
        .put(admin.url(&format!("/api/v1/suppliers/{supplier_id}/products")))
        .json(&serde_json::json!({ "products": [{ "sku": "CRASH-1", "name": "Kraschvara", "category": "Test", "unit": "CASE", "unitPrice": "5000", "stockOnHand": 1000 }] }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let days: Vec<String> = serde_json::from_value(supplier["deliveryDays"].clone()).unwrap();
    const NAMES: [&str; 7] = [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ];
    let mut date = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    while !days
        .iter()
        .any(|d| d == NAMES[chrono::Datelike::weekday(&date).num_days_from_monday() as usize])
    {
        date += chrono::Duration::days(1);
    }
    create_endpoint(
        &admin,
        "SUPPLIER",
        &supplier_id,
        &receiver.url(),
        &["order.placed"],
    )
    .await;

    let mut orders = Vec::new();
    for _ in 0..10 {
        let placed: serde_json::Value = admin
            .client
            .post(admin.url("/api/v1/orders"))
            .json(&serde_json::json!({
                "restaurantId": restaurant, "supplierId": supplier_id,
                "lines": [{ "productId": product, "quantity": 1 }],
                "requestedDeliveryDate": date.to_string(),
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        orders.push(
            placed["data"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{placed}"))
                .to_owned(),
        );
    }
    // Crash while deliveries are in flight.
    receiver
        .wait_for(Duration::from_secs(20), |r| !r.is_empty())
        .await;
    first.crash();
    let in_flight = receiver.received().len();
    assert!(
        in_flight < 10,
        "the crash came before every delivery: {in_flight}"
    );

    let _second = Process::start_with(&backend, false, &settings);
    let delivered = |received: &[crate::webhooks::Received]| {
        received
            .iter()
            .filter_map(|r| r.json()["data"]["order"]["id"].as_str().map(str::to_owned))
            .collect::<std::collections::HashSet<String>>()
    };
    let received = receiver
        .wait_for(Duration::from_secs(45), |r| {
            orders.iter().all(|o| delivered(r).contains(o))
        })
        .await;
    let got = delivered(&received);
    eprintln!(
        "crash test: {} orders, {in_flight} request(s) before the crash, {} after restart, {} distinct events",
        orders.len(),
        received.len(),
        got.len()
    );
    let lost: Vec<&String> = orders.iter().filter(|o| !got.contains(*o)).collect();
    assert!(lost.is_empty(), "events lost in the crash: {lost:?}");
    // Duplicates are allowed, and identifiable: one webhook-id always carries one event.
    let mut by_id: std::collections::HashMap<String, String> = Default::default();
    for r in &received {
        let order = r.json()["data"]["order"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let previous = by_id.insert(r.headers["webhook-id"].clone(), order.clone());
        assert!(
            previous.is_none_or(|p| p == order),
            "a webhook-id reused for another event"
        );
    }
}

/// A TCP proxy in front of Redis that can drop every connection, as a Redis restart does.
#[tokio::test]
async fn the_redis_bus_reconnects_after_redis_drops_its_connections() {
    let Some(redis_url) = service_url("IRIS_TEST_REDIS_URL") else {
        return;
    };
    let proxy = TcpProxy::start(TcpProxy::target_of(&redis_url)).await;
    let backend = Backend::fresh().await;
    let proxied = proxy.through(&redis_url);
    let app = TestApp::spawn_on(&backend, &[("REDIS_URL", proxied.as_str())]).await;
    let supplier = create_supplier(&app, 710, "Resilient AB", "Falun").await;

    proxy.set(ProxyMode::Cut);
    // Redis is an accelerator: the instance stays ready, reporting Redis degraded, unless the
    // strict check is asked for.
    let degraded = wait_for_redis(&app, "degraded").await;
    assert_eq!(degraded["status"], "ready", "{degraded}");
    assert_eq!(app.get("/readyz?strict=1").await.status(), 503);
    proxy.set(ProxyMode::Open);
    wait_for_redis(&app, "ok").await;

    let mut ws = subscribe_supplier_changes(&app, "graphql-transport-ws").await;
    let message = update_until_event(&app, supplier["id"].as_str().unwrap(), &mut ws).await;
    assert_eq!(
        message["payload"]["data"]["supplierChanged"]["kind"],
        "UPDATED"
    );
    let ready = app.get("/readyz?strict=1").await;
    assert_eq!(ready.status(), 200, "readiness recovers");
}

/// Polls `/readyz` (at most 20 s) until it reports Redis as `state`; returns the body.
pub async fn wait_for_redis(app: &TestApp, state: &str) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..100 {
        let ready = app.get("/readyz").await;
        assert_eq!(
            ready.status(),
            200,
            "Redis never makes the instance unready"
        );
        last = ready.json().await.unwrap();
        if last["checks"]["redis"] == state {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("readyz never reported Redis {state}: {last}");
}

#[tokio::test]
async fn two_processes_on_one_redis_share_the_sign_in_budget() {
    if !shared_backends_configured() {
        return;
    }
    let backend = Backend::fresh().await;
    let limits = [("LOGIN_RATE_LIMIT", "3")];
    let mut a = Process::start_with(&backend, false, &limits);
    let mut b = Process::start_with(&backend, false, &limits);
    let client = reqwest::Client::new();
    let attempt = |base: String, password: &'static str| {
        let client = client.clone();
        async move {
            client
                .post(format!("{base}/api/v1/auth/dev/login"))
                .json(&serde_json::json!({ "email": "chef@iris.local", "password": password }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(attempt(a.base.clone(), "wrong").await, 401);
    assert_eq!(attempt(a.base.clone(), "wrong").await, 401);
    assert_eq!(attempt(b.base.clone(), "wrong").await, 401);
    assert_eq!(
        attempt(b.base.clone(), "iris-demo").await,
        429,
        "the fourth attempt is refused, whichever process it reaches"
    );
    a.terminate();
    b.terminate();
    assert!(a.wait(Duration::from_secs(15)).success());
    assert!(b.wait(Duration::from_secs(15)).success());
}

/// A membership granted on one process holds on the next request to another, although that
/// process had the account's memberships in its caller cache.
#[tokio::test]
async fn a_membership_change_on_one_process_holds_on_the_next_request_of_another() {
    if !shared_backends_configured() {
        return;
    }
    let backend = Backend::fresh().await;
    let first = Process::start(&backend, false);
    let second = Process::start(&backend, false);
    let admin = first.api().await;
    let supplier = create_supplier(&admin, 710, "Cache Grossist AB", "Luleå").await;
    let id = supplier["id"].as_str().unwrap();
    let addr = second.base.trim_start_matches("http://");
    let seller = Api::at(addr.parse().expect("address"))
        .login("supplier@iris.local", "iris-demo")
        .await;
    const RENAME: &str = "mutation($input: UpdateSupplierInput!) { updateSupplier(input: $input) { supplier { name } } }";
    let rename = serde_json::json!({ "input": { "id": id, "name": "Renamed by owner" } });
    // The second process now has the seller's (empty) memberships cached.
    let refused = seller.graphql(RENAME, rename.clone()).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    // The seller accepts an invitation on the first process.
    let on_first = Api::at(
        first
            .base
            .trim_start_matches("http://")
            .parse()
            .expect("address"),
    )
    .login("supplier@iris.local", "iris-demo")
    .await;
    join(
        &admin,
        &on_first,
        "SUPPLIER",
        id,
        "supplier@iris.local",
        "OWNER",
    )
    .await;
    let renamed = seller.graphql(RENAME, rename).await;
    assert!(
        renamed.get("errors").is_none(),
        "the next request: {renamed}"
    );
}

/// Logout on one `iris serve` process: the session's access token is refused on another
/// process at its next request, and that process ends the session's open subscriptions
/// (UNAUTHENTICATED, close 4401) on both subprotocols.
#[tokio::test]
async fn a_session_ended_on_one_process_ends_on_another() {
    use crate::sessions::{ended_with_4401, me_status, refused_soon, sign_in};
    if !shared_backends_configured() {
        return;
    }
    let backend = Backend::fresh().await;
    let first = Process::start(&backend, true);
    let second = Process::start(&backend, false);
    let at = |process: &Process| -> std::net::SocketAddr {
        process
            .base
            .trim_start_matches("http://")
            .parse()
            .expect("address")
    };
    let (access, _) = sign_in(&Api::at(at(&first))).await;
    let on_first = Api::with_token(at(&first), Some(access.clone()));
    let on_second = Api::with_token(at(&second), Some(access));
    assert_eq!(me_status(&on_second).await.0, 200);
    let mut transport_ws = subscribe_supplier_changes(&on_second, "graphql-transport-ws").await;
    let mut legacy_ws = subscribe_supplier_changes(&on_second, "graphql-ws").await;

    let out = on_first
        .graphql(
            "mutation { logout(input: {}) { loggedOut } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(out["data"]["logout"]["loggedOut"], true, "{out}");
    let (status, body) = refused_soon(&on_second).await;
    assert_eq!(status, 401, "refused on the other process: {body}");
    ended_with_4401(&mut transport_ws, "graphql-transport-ws").await;
    ended_with_4401(&mut legacy_ws, "graphql-ws").await;
}
