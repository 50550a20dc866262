//! The test harness: backends, a spawned Iris, and small HTTP and websocket clients.

use std::{collections::HashMap, net::SocketAddr, path::PathBuf, time::Duration};

use futures_util::{SinkExt, StreamExt};
use iris::{app::Application, config::Config, web::ApiState};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::{net::TcpStream, sync::oneshot, task::JoinHandle};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, client::IntoClientRequest, protocol::frame::coding::CloseCode},
};
use uuid::Uuid;

/// Where one test's data lives.
pub struct Backend {
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    sqlite_file: Option<PathBuf>,
    /// `DATA_DIR`: stored documents, removed with the backend.
    pub data_dir: PathBuf,
}

impl Backend {
    /// A fresh, empty database (and Redis prefix) for one test.
    pub async fn fresh() -> Backend {
        let id = Uuid::new_v4().simple().to_string();
        let redis_url = std::env::var("IRIS_TEST_REDIS_URL")
            .ok()
            .filter(|v| !v.is_empty());
        let redis_prefix = format!("iris-test-{id}");
        match std::env::var("IRIS_TEST_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty())
        {
            Some(admin_url) => {
                let name = format!("iris_test_{id}");
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!("IRIS_TEST_DATABASE_URL is set but Postgres is unreachable ({admin_url}): {e}")
                });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
                let _ = admin.close().await;
                Backend {
                    database_url: with_database(&admin_url, &name),
                    redis_url,
                    redis_prefix,
                    sqlite_file: None,
                    data_dir: std::env::temp_dir().join(format!("iris-test-data-{id}")),
                }
            }
            None => {
                let file = std::env::temp_dir().join(format!("iris-test-{id}.db"));
                Backend {
                    database_url: format!("sqlite://{}?mode=rwc", file.display()),
                    redis_url,
                    redis_prefix,
                    sqlite_file: Some(file),
                    data_dir: std::env::temp_dir().join(format!("iris-test-data-{id}")),
                }
            }
        }
    }

    /// Settings of an Iris on this backend, on a free port, without demo data.
    pub fn settings(&self) -> HashMap<String, String> {
        let mut vars = HashMap::from([
            ("HOST".to_owned(), "127.0.0.1".to_owned()),
            ("PORT".to_owned(), "0".to_owned()),
            ("DATABASE_URL".to_owned(), self.database_url.clone()),
            ("SEED_ON_START".to_owned(), "false".to_owned()),
            ("DATA_DIR".to_owned(), self.data_dir.display().to_string()),
            ("REDIS_PREFIX".to_owned(), self.redis_prefix.clone()),
            ("DATABASE_MAX_CONNECTIONS".to_owned(), "5".to_owned()),
            ("DATABASE_BACKGROUND_CONNECTIONS".to_owned(), "2".to_owned()),
            // Background jobs only where a test asks for them.
            ("SCHEDULER_ENABLED".to_owned(), "false".to_owned()),
        ]);
        if let Some(url) = &self.redis_url {
            vars.insert("REDIS_URL".into(), url.clone());
        }
        vars
    }

    /// Makes the database unreachable for a running Iris: drops it (Postgres) or removes the
    /// file and closes the pool (SQLite, where open handles would otherwise keep working).
    pub async fn destroy_database(&self, app: &TestApp) {
        match &self.sqlite_file {
            Some(_) => {
                app.state
                    .db
                    .pool()
                    .close_by_ref()
                    .await
                    .expect("closing the pool");
            }
            None => {
                let admin_url = std::env::var("IRIS_TEST_DATABASE_URL").expect("postgres backend");
                let name = self.database_url.rsplit('/').next().unwrap_or_default();
                let name = name.split('?').next().unwrap_or_default();
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("admin connection");
                admin
                    .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                    .await
                    .expect("dropping the test database");
            }
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some(file) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            return;
        }
        // Drop the test's Postgres database (on a thread of its own: Drop cannot await).
        let Ok(admin_url) = std::env::var("IRIS_TEST_DATABASE_URL") else {
            return;
        };
        let Some(name) = self
            .database_url
            .rsplit('/')
            .next()
            .and_then(|n| n.split('?').next())
        else {
            return;
        };
        let statement = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await.ok()?;
                let _ = admin.execute_unprepared(&statement).await;
                let _ = admin.close().await;
                Some(())
            })
        })
        .join();
    }
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// The password of the built-in demo users.
pub const DEMO_PASSWORD: &str = "iris-demo";
pub const ADMIN: &str = "admin@iris.local";

/// A client of one Iris, in this process or another; with a token, every request carries it.
pub struct Api {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub token: Option<String>,
}

impl Api {
    /// An anonymous client.
    pub fn at(addr: SocketAddr) -> Api {
        Self::with_token(addr, None)
    }

    pub fn with_token(addr: SocketAddr, token: Option<String>) -> Api {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = &token {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {token}").parse().expect("header"),
            );
        }
        Api {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .default_headers(headers)
                .build()
                .expect("http client"),
            token,
        }
    }

    /// The same server without credentials.
    pub fn anonymous(&self) -> Api {
        Api::at(self.addr)
    }

    /// Signs in as a `DEV_USERS` (or demo) user and returns a client carrying the token.
    pub async fn login(&self, email: &str, password: &str) -> Api {
        let response = self
            .anonymous()
            .client
            .post(self.url("/api/v1/auth/dev/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), 200, "login of {email}");
        let body: Value = response.json().await.expect("login JSON");
        let token = body["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_owned();
        Api::with_token(self.addr, Some(token))
    }

    /// Signs in as the demo admin.
    pub async fn admin(&self) -> Api {
        self.login(ADMIN, DEMO_PASSWORD).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
    }

    /// GETs `path` and returns its JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.expect("JSON body")
    }

    /// Sends `body` (JSON, if any) with `method` and returns the status and the JSON body
    /// (null when the body is not JSON).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs a GraphQL request and returns the response body.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("graphql request");
        response.json().await.expect("graphql response is JSON")
    }
}

/// A running Iris in this process.
pub struct TestApp {
    pub api: Api,
    pub state: ApiState,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl std::ops::Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl TestApp {
    pub async fn spawn() -> (TestApp, Backend) {
        Self::spawn_with(&[]).await
    }

    /// Starts Iris on a fresh backend with extra settings.
    pub async fn spawn_with(extra: &[(&str, &str)]) -> (TestApp, Backend) {
        let backend = Backend::fresh().await;
        let app = Self::spawn_on(&backend, extra).await;
        (app, backend)
    }

    /// Starts Iris on an existing backend (several instances may share one).
    pub async fn spawn_on(backend: &Backend, extra: &[(&str, &str)]) -> TestApp {
        let mut vars = backend.settings();
        for (k, v) in extra {
            vars.insert((*k).into(), (*v).into());
        }
        let config = Config::from_map(&vars).expect("valid test configuration");
        let app = Application::build(config).await.expect("Iris starts");
        let addr = app.local_addr();
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        // Sign in as the demo admin, unless the test brings its own users.
        let api = if extra
            .iter()
            .any(|(k, _)| *k == "DEV_USERS" || *k == "AUTH_PROVIDER")
        {
            Api::at(addr)
        } else {
            Api::at(addr).admin().await
        };
        TestApp {
            api,
            state,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// Asks Iris to stop and waits until it has.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle
                .await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }

    pub fn trigger_stop(&mut self) -> JoinHandle<anyhow::Result<()>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle.take().expect("running")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub const CREATE_SUPPLIER: &str = r#"
mutation Create($input: CreateSupplierInput!) {
  createSupplier(input: $input) {
    supplier { id name organisationNumber contactEmail city currency
               minimumOrderValue { amount currency } deliveryDays active createdAt updatedAt }
  }
}"#;

/// A valid Swedish organisation number derived from `seed` (Luhn check digit appended).
pub fn org_number(seed: u32) -> String {
    let body = format!("55{:07}", seed % 10_000_000);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{}-{}{}", &body[..6], &body[6..], (10 - sum % 10) % 10)
}

/// Input for `createSupplier` with distinct, valid values.
pub fn supplier_input(seed: u32, name: &str, city: &str) -> Value {
    json!({
        "name": name,
        "organisationNumber": org_number(seed),
        "contactEmail": format!("order{seed}@supplier.example"),
        "city": city,
        "minimumOrderValue": "500",
        "deliveryDays": ["MONDAY", "THURSDAY"],
    })
}

/// Creates a supplier over GraphQL and returns it.
pub async fn create_supplier(app: &Api, seed: u32, name: &str, city: &str) -> Value {
    let body = app
        .graphql(
            CREATE_SUPPLIER,
            json!({ "input": supplier_input(seed, name, city) }),
        )
        .await;
    assert!(
        body.get("errors").is_none(),
        "createSupplier failed: {body}"
    );
    body["data"]["createSupplier"]["supplier"].clone()
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/graphql/ws` with the given subprotocol.
pub async fn ws_connect(app: &Api, protocol: &str) -> Ws {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .expect("ws request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        protocol.parse().expect("header value"),
    );
    let (ws, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket upgrade");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        protocol,
        "server picked the requested subprotocol"
    );
    ws
}

pub async fn ws_send(ws: &mut Ws, message: Value) {
    ws.send(tungstenite::Message::Text(message.to_string().into()))
        .await
        .expect("websocket send");
}

/// What the server sent next: a JSON message, or the close frame.
#[derive(Debug)]
pub enum WsEvent {
    Json(Value),
    Closed(u16, String),
}

pub async fn ws_next(ws: &mut Ws, within: Duration) -> WsEvent {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a websocket message in time");
        match next {
            Some(Ok(tungstenite::Message::Text(text))) => {
                return WsEvent::Json(serde_json::from_str(text.as_str()).expect("JSON message"));
            }
            Some(Ok(tungstenite::Message::Close(frame))) => {
                return match frame {
                    Some(f) => WsEvent::Closed(u16::from(f.code), f.reason.to_string()),
                    None => WsEvent::Closed(u16::from(CloseCode::Status), String::new()),
                };
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("websocket error: {e}"),
            None => panic!("websocket ended without a close frame"),
        }
    }
}

pub async fn ws_json(ws: &mut Ws) -> Value {
    match ws_next(ws, Duration::from_secs(10)).await {
        WsEvent::Json(v) => v,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The `connection_init` message carrying the client's token, if it has one.
pub fn connection_init(api: &Api) -> Value {
    match &api.token {
        Some(token) => {
            json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })
        }
        None => json!({ "type": "connection_init", "payload": {} }),
    }
}

/// Subscribes to `supplierChanged` on a fresh connection speaking `protocol`, ready for events.
pub async fn subscribe_supplier_changes(app: &Api, protocol: &str) -> Ws {
    let mut ws = ws_connect(app, protocol).await;
    ws_send(&mut ws, connection_init(app)).await;
    assert_eq!(ws_json(&mut ws).await["type"], "connection_ack");
    let start = if protocol == "graphql-ws" {
        "start"
    } else {
        "subscribe"
    };
    ws_send(
        &mut ws,
        json!({
            "id": "1",
            "type": start,
            "payload": { "query": "subscription { supplierChanged { kind occurredAt supplier { id name } } }" }
        }),
    )
    .await;
    ws
}

/// Changes a supplier's name through `writer` until `ws` reports an event (the subscription
/// becomes active asynchronously), and returns the event's payload.
pub async fn update_until_event(writer: &Api, supplier_id: &str, ws: &mut Ws) -> Value {
    for attempt in 0..50 {
        let name = format!("Renamed {attempt}");
        let body = writer
            .graphql(
                "mutation($input: UpdateSupplierInput!) { updateSupplier(input: $input) { supplier { name } } }",
                json!({ "input": { "id": supplier_id, "name": name } }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
        while let Ok(next) = tokio::time::timeout_at(deadline, ws.next()).await {
            let Some(Ok(tungstenite::Message::Text(text))) = next else {
                panic!("unexpected websocket message: {next:?}");
            };
            let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
            // The supplier's creation may still be on its way through Redis; it is not the
            // event this waits for.
            if message["payload"]["data"]["supplierChanged"]["kind"] != "CREATED" {
                return message;
            }
        }
    }
    panic!("no supplierChanged event arrived");
}

/// The URL of a test service (`IRIS_TEST_REDIS_URL`, `IRIS_TEST_DATABASE_URL`), or `None`
/// with a line saying the test does not run on this backend (`.ci/run` sets both).
pub fn service_url(variable: &str) -> Option<String> {
    let url = std::env::var(variable).ok().filter(|v| !v.is_empty());
    if url.is_none() {
        eprintln!("NOT RUN on this backend: needs {variable}; .ci/run runs it");
    }
    url
}

/// What a [`TcpProxy`] does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyMode {
    /// Forwards both ways.
    Open,
    /// Holds every byte (and every new connection) until resumed: a stalled dependency.
    Paused,
    /// Closes every connection and every new one at once: a dependency that is gone.
    Cut,
}

/// A TCP proxy a test controls, between Iris and Redis or Postgres.
pub struct TcpProxy {
    pub addr: SocketAddr,
    mode: tokio::sync::watch::Sender<ProxyMode>,
    accept: JoinHandle<()>,
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.mode.send_replace(ProxyMode::Cut);
    }
}

impl TcpProxy {
    /// Proxies to `target` (`host:port`).
    pub async fn start(target: String) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, watching) = tokio::sync::watch::channel(ProxyMode::Open);
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (target, mut mode) = (target.clone(), watching.clone());
                tokio::spawn(async move {
                    if !open_after_pause(&mut mode).await {
                        return;
                    }
                    let Ok(outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (client_read, client_write) = inbound.into_split();
                    let (server_read, server_write) = outbound.into_split();
                    tokio::select! {
                        () = pump(client_read, server_write, mode.clone()) => {}
                        () = pump(server_read, client_write, mode) => {}
                    }
                });
            }
        });
        TcpProxy { addr, mode, accept }
    }

    /// The `host:port` of a `scheme://[user@]host:port/…` URL.
    pub fn target_of(url: &str) -> String {
        let authority = url
            .split_once("://")
            .map_or(url, |(_, rest)| rest)
            .split(['/', '?'])
            .next()
            .unwrap_or_default();
        authority.rsplit('@').next().unwrap_or(authority).to_owned()
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn through(&self, url: &str) -> String {
        url.replacen(&Self::target_of(url), &self.addr.to_string(), 1)
    }

    pub fn set(&self, mode: ProxyMode) {
        self.mode.send_replace(mode);
    }
}

/// Waits out a pause; false once the proxy is cut.
async fn open_after_pause(mode: &mut tokio::sync::watch::Receiver<ProxyMode>) -> bool {
    matches!(
        mode.wait_for(|m| *m != ProxyMode::Paused).await.map(|m| *m),
        Ok(ProxyMode::Open)
    )
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: tokio::sync::watch::Receiver<ProxyMode>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = from.read(&mut buffer) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if !open_after_pause(&mut mode).await || to.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
            changed = mode.changed() => {
                if changed.is_err() || *mode.borrow() == ProxyMode::Cut {
                    return;
                }
            }
        }
    }
}

/// Makes `member` a member of an organisation as people join: `owner` invites `email`, the
/// member accepts with the token. Returns the membership (`accountId`, `role`, …).
pub async fn join(
    owner: &Api,
    member: &Api,
    organisation_type: &str,
    organisation_id: &str,
    email: &str,
    role: &str,
) -> Value {
    let invited = owner
        .graphql(
            "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { token } }",
            json!({ "input": { "organisationType": organisation_type, "organisationId": organisation_id, "email": email, "role": role } }),
        )
        .await;
    let token = invited["data"]["inviteMember"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("invited: {invited}"))
        .to_owned();
    let accepted = member
        .graphql(
            "mutation($token: String!) { acceptInvitation(input: {token: $token}) { membership { accountId role organisationId } } }",
            json!({ "token": token }),
        )
        .await;
    let membership = accepted["data"]["acceptInvitation"]["membership"].clone();
    assert!(membership.is_object(), "accepted: {accepted}");
    membership
}
