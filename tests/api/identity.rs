//! Identity: sign-in, token rotation, JWT rejection, audit, and the schema's promise of no
//! stored passwords.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, Api, DEMO_PASSWORD, TestApp, WsEvent, connection_init, create_supplier, join,
    ws_connect, ws_json, ws_next, ws_send,
};

const SECRET: &str = "test-secret-0123456789abcdefghijklmnop";

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

async fn login_raw(api: &Api, email: &str, password: &str) -> Value {
    api.anonymous()
        .graphql(
            "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresAt } }",
            json!({ "input": { "email": email, "password": password } }),
        )
        .await
}

async fn refresh(api: &Api, token: &str) -> Value {
    api.anonymous()
        .graphql(
            "mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { accessToken refreshToken expiresAt } }",
            json!({ "t": token }),
        )
        .await
}

async fn audit_actions(admin: &Api) -> Vec<String> {
    let body = admin
        .graphql(
            "{ auditLog(first: 100) { edges { node { action } } } }",
            json!({}),
        )
        .await;
    body["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn sign_in_me_and_failed_sign_in_are_audited() {
    let (app, _backend) = TestApp::spawn().await;
    let body = login_raw(&app, "Admin@Iris.Local", DEMO_PASSWORD).await;
    let access = body["data"]["login"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(
        body["data"]["login"]["refreshToken"]
            .as_str()
            .unwrap()
            .starts_with("rt_")
    );

    let me = Api::with_token(app.addr, Some(access))
        .graphql("{ me { email role displayName } }", json!({}))
        .await;
    assert_eq!(
        me["data"]["me"],
        json!({ "email": "admin@iris.local", "role": "ADMIN", "displayName": "admin" })
    );

    let wrong = login_raw(&app, ADMIN, "not-the-password").await;
    assert_eq!(code(&wrong), "UNAUTHENTICATED");
    assert_eq!(wrong["errors"][0]["message"], "Invalid e-mail or password");
    let unknown = login_raw(&app, "nobody@iris.local", DEMO_PASSWORD).await;
    assert_eq!(
        unknown["errors"][0]["message"], "Invalid e-mail or password",
        "no hint that the e-mail is unknown"
    );

    let anonymous = app.anonymous().graphql("{ me { email } }", json!({})).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");

    let actions = audit_actions(&app).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "auth.login_failed").count(),
        2,
        "{actions:?}"
    );
    assert!(
        actions.iter().filter(|a| *a == "auth.login").count() >= 2,
        "{actions:?}"
    );

    // REST speaks the same service.
    let response = app
        .anonymous()
        .client
        .post(app.url("/api/v1/auth/dev/login"))
        .json(&json!({ "email": ADMIN, "password": "nope" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let me: Value = app.get_json("/api/v1/me").await;
    assert_eq!(me["data"]["role"], "ADMIN");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let (app, _backend) = TestApp::spawn().await;
    let first = login_raw(&app, ADMIN, DEMO_PASSWORD).await["data"]["login"].clone();
    let r1 = first["refreshToken"].as_str().unwrap().to_owned();

    let second = refresh(&app, &r1).await;
    let r2 = second["data"]["refreshToken"]["refreshToken"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_ne!(r1, r2);
    let access = second["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = Api::with_token(app.addr, Some(access.clone()))
        .graphql("{ me { role } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["role"], "ADMIN");

    // Presenting r1 again is theft: it fails and takes r2 down with it, and the access
    // tokens of that sign-in with them.
    let reused = refresh(&app, &r1).await;
    assert_eq!(code(&reused), "UNAUTHENTICATED");
    for token in [&access, first["accessToken"].as_str().unwrap()] {
        let me = Api::with_token(app.addr, Some(token.to_owned()))
            .graphql("{ me { role } }", json!({}))
            .await;
        assert_eq!(code(&me), "UNAUTHENTICATED", "{me}");
        assert!(
            me["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("session has ended"),
            "{me}"
        );
    }
    let after = refresh(&app, &r2).await;
    assert_eq!(
        code(&after),
        "UNAUTHENTICATED",
        "the whole family is revoked"
    );
    assert!(
        audit_actions(&app)
            .await
            .contains(&"auth.refresh_reuse".to_owned())
    );

    // Logout revokes a fresh login's family too.
    let third = login_raw(&app, ADMIN, DEMO_PASSWORD).await["data"]["login"].clone();
    let r3 = third["refreshToken"].as_str().unwrap().to_owned();
    let out = app
        .graphql(
            "mutation($t: String!) { logout(input: { refreshToken: $t }) { loggedOut } }",
            json!({ "t": r3 }),
        )
        .await;
    assert_eq!(out["data"]["logout"]["loggedOut"], true, "{out}");
    assert_eq!(code(&refresh(&app, &r3).await), "UNAUTHENTICATED");
    let third_access = Api::with_token(app.addr, third["accessToken"].as_str().map(str::to_owned));
    assert_eq!(
        code(&third_access.graphql("{ me { id } }", json!({})).await),
        "UNAUTHENTICATED"
    );
    assert!(
        audit_actions(&app)
            .await
            .contains(&"auth.logout".to_owned())
    );

    // REST refresh.
    let fourth = login_raw(&app, ADMIN, DEMO_PASSWORD).await["data"]["login"].clone();
    let response = app
        .anonymous()
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({ "refreshToken": fourth["refreshToken"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn audit_total(api: &Api) -> u64 {
    api.graphql("{ auditLog { totalCount } }", json!({})).await["data"]["auditLog"]["totalCount"]
        .as_u64()
        .expect("totalCount")
}

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": "00000000-0000-0000-0000-000000000000",
        "role": "ADMIN", "typ": "access", "iss": "iris", "aud": "iris",
        "iat": now, "nbf": now, "exp": now + 600, "jti": "t",
        "sid": "0190e6f0-0000-7000-8000-000000000001",
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_refused() {
    let (app, _backend) = TestApp::spawn_with(&[("APP_SECRET", SECRET)]).await;
    let me = app.graphql("{ me { id } }", json!({})).await;
    let my_id = me["data"]["me"]["id"]
        .as_str()
        .expect("signed in")
        .to_owned();
    let mine = |extra: Value| {
        let mut c = claims(extra);
        c["sub"] = json!(my_id);
        c
    };
    let now = chrono::Utc::now().timestamp();

    // A correctly signed token for the account works (the baseline for every case below).
    let good = hs256(SECRET, &mine(json!({})));
    let ok = Api::with_token(app.addr, Some(good))
        .graphql("{ me { role } }", json!({}))
        .await;
    assert_eq!(ok["data"]["me"]["role"], "ADMIN", "{ok}");

    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(&mine(json!({})))
    );
    let rsa = EncodingKey::from_rsa_pem(include_bytes!("../fixtures/rsa-test-key.pem")).unwrap();
    let rs256 =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &mine(json!({})), &rsa).unwrap();
    let refresh_token =
        login_raw(&app, ADMIN, DEMO_PASSWORD).await["data"]["login"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned();

    let cases: Vec<(&str, String)> = vec![
        ("alg: none", alg_none),
        ("RS256 where HS256 is pinned", rs256),
        (
            "signed with another key",
            hs256("another-secret-0123456789abcdefghijk", &mine(json!({}))),
        ),
        (
            "expired",
            hs256(
                SECRET,
                &mine(json!({ "exp": now - 120, "iat": now - 1000, "nbf": now - 1000 })),
            ),
        ),
        (
            "not yet valid",
            hs256(SECRET, &mine(json!({ "nbf": now + 600 }))),
        ),
        (
            "wrong issuer",
            hs256(SECRET, &mine(json!({ "iss": "someone-else" }))),
        ),
        (
            "wrong audience",
            hs256(SECRET, &mine(json!({ "aud": "another-api" }))),
        ),
        ("no audience", hs256(SECRET, &mine(json!({ "aud": null })))),
        (
            "not an access token",
            hs256(SECRET, &mine(json!({ "typ": "refresh" }))),
        ),
        ("unknown account", hs256(SECRET, &claims(json!({})))),
        (
            "no session id",
            hs256(SECRET, &mine(json!({ "sid": null }))),
        ),
        ("a refresh token", refresh_token),
        ("garbage", "not.a.jwt".into()),
    ];
    for (name, token) in cases {
        let api = Api::with_token(app.addr, Some(token));
        let response = api
            .client
            .post(api.url("/graphql"))
            .json(&json!({ "query": "{ me { id } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), "UNAUTHENTICATED", "{name}: {body}");
        let rest = api.get("/api/v1/me").await;
        assert_eq!(rest.status(), 401, "{name} on REST");
    }
}

#[tokio::test]
async fn websockets_authenticate_at_connection_init_and_end_with_the_token() {
    let (app, _backend) = TestApp::spawn_with(&[("ACCESS_TOKEN_TTL_SECS", "2")]).await;

    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "authorization": "Bearer nope" } }),
    )
    .await;
    match ws_next(&mut ws, Duration::from_secs(5)).await {
        WsEvent::Closed(code, reason) => {
            assert_eq!(code, 4403, "{reason}");
        }
        other => panic!("expected 4403, got {other:?}"),
    }

    // A fresh 2-second token: the subscription ends with UNAUTHENTICATED when it expires.
    let api = app.admin().await;
    let mut ws = ws_connect(&api, "graphql-transport-ws").await;
    ws_send(&mut ws, connection_init(&api)).await;
    assert_eq!(ws_json(&mut ws).await["type"], "connection_ack");
    ws_send(&mut ws, json!({ "id": "s", "type": "subscribe", "payload": { "query": "subscription { supplierChanged { kind } }" } })).await;
    let message = ws_json(&mut ws).await;
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["id"], "s");
    assert_eq!(
        message["payload"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert!(matches!(
        ws_next(&mut ws, Duration::from_secs(5)).await,
        WsEvent::Closed(4401, _)
    ));
}

#[tokio::test]
async fn the_schema_has_no_password_column_anywhere() {
    let (app, _backend) = TestApp::spawn().await;
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Sqlite => {
            "SELECT m.name || '.' || p.name AS col FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'"
        }
        _ => {
            "SELECT table_name || '.' || column_name AS col FROM information_schema.columns WHERE table_schema = current_schema()"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    let columns: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "col").unwrap())
        .collect();
    assert!(
        columns.iter().any(|c| c == "accounts.email"),
        "the query sees the tables: {columns:?}"
    );
    let suspicious: Vec<&String> = columns
        .iter()
        .filter(|c| {
            let c = c.to_lowercase();
            c.contains("password")
                || c.contains("passwd")
                || c.contains("pwd")
                || c.ends_with(".hash")
                || c.contains("password_hash")
        })
        .collect();
    assert!(
        suspicious.is_empty(),
        "password-like columns: {suspicious:?}"
    );
}

#[tokio::test]
async fn sensitive_actions_are_audited_and_reads_are_not() {
    let (app, _backend) = TestApp::spawn().await;
    let supplier = create_supplier(&app, 900, "Audited AB", "Luleå").await;
    let id = supplier["id"].as_str().unwrap();
    app.graphql(
        "mutation($id: ID!) { updateSupplier(input: {id: $id, city: \"Kiruna\"}) { supplier { city } } }",
        json!({ "id": id }),
    )
    .await;
    // The demo supplier account joins (invited, accepting), leaves, joins again and is made
    // an OWNER with addMember (a member's role changes at once).
    let seller = app.login("supplier@iris.local", DEMO_PASSWORD).await;
    let member = join(
        &app,
        &seller,
        "SUPPLIER",
        id,
        "supplier@iris.local",
        "STAFF",
    )
    .await["accountId"]
        .as_str()
        .expect("joined")
        .to_owned();
    let removed = app
        .graphql(
            "mutation($id: ID!, $a: ID!) { removeMember(input: {organisationType: SUPPLIER, organisationId: $id, accountId: $a}) { removedAccountId } }",
            json!({ "id": id, "a": member }),
        )
        .await;
    join(
        &app,
        &seller,
        "SUPPLIER",
        id,
        "supplier@iris.local",
        "STAFF",
    )
    .await;
    let promoted = app
        .graphql(
            "mutation($id: ID!) { addMember(input: {organisationType: SUPPLIER, organisationId: $id, email: \"supplier@iris.local\", role: OWNER}) { membership { role } invitation { id } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        promoted["data"]["addMember"]["membership"]["role"], "OWNER",
        "{promoted}"
    );
    assert!(promoted["data"]["addMember"]["invitation"].is_null());
    assert!(removed.get("errors").is_none(), "{removed}");
    let restaurant = app
        .graphql(
            "mutation { createRestaurant(input: {name: \"Audit Bistro\", contactEmail: \"a@b.se\", city: \"Lund\"}) { restaurant { id } } }",
            json!({}),
        )
        .await;
    assert!(restaurant.get("errors").is_none(), "{restaurant}");
    app.graphql(
        "mutation($id: ID!) { deleteSupplier(input: {id: $id}) { deletedAt } }",
        json!({ "id": id }),
    )
    .await;

    let actions = audit_actions(&app).await;
    for expected in [
        "auth.login",
        "supplier.create",
        "supplier.update",
        "membership.invite",
        "membership.accept",
        "membership.role_change",
        "membership.remove",
        "restaurant.create",
        "supplier.delete",
    ] {
        assert!(
            actions.contains(&expected.to_owned()),
            "{expected} missing from {actions:?}"
        );
    }

    // Changes carry their before and after states.
    let update = app
        .graphql(
            "{ auditLog(first: 1, filter: {action: \"supplier.update\"}) { edges { node { before after } } } }",
            json!({}),
        )
        .await;
    let node = &update["data"]["auditLog"]["edges"][0]["node"];
    assert_eq!(node["before"]["city"], "Luleå", "{update}");
    assert_eq!(node["after"]["city"], "Kiruna");

    // The audit entry carries who, how and from where.
    let entry = app
        .graphql(
            "{ auditLog(first: 1, filter: {action: \"supplier.delete\"}) { totalCount edges { node { actorRole actorId entity entityId requestId ip userAgent } } } }",
            json!({}),
        )
        .await;
    let node = &entry["data"]["auditLog"]["edges"][0]["node"];
    assert_eq!(node["actorRole"], "ADMIN");
    assert_eq!(node["entityId"], id);
    assert!(
        node["requestId"].is_string() && node["ip"] == "127.0.0.1",
        "{node}"
    );

    // Reads write nothing.
    let before = entry["data"]["auditLog"]["totalCount"].clone();
    let total_before = audit_total(&app).await;
    app.graphql("{ suppliers { totalCount } me { role } }", json!({}))
        .await;
    app.get("/api/v1/suppliers").await;
    app.get("/api/v1/me").await;
    app.get("/api/v1/admin/audit").await;
    assert_eq!(
        audit_total(&app).await,
        total_before,
        "reads are not audited"
    );
    assert_eq!(before, 1);

    // REST reads the same log, admins only.
    let rest: Value = app
        .get_json("/api/v1/admin/audit?action=supplier.delete")
        .await;
    assert_eq!(rest["pagination"]["total"], 1);
    assert_eq!(
        app.anonymous().get("/api/v1/admin/audit").await.status(),
        401
    );
}

async fn login_code(api: &Api, email: &str, password: &str) -> String {
    code(&login_raw(api, email, password).await).to_owned()
}

#[tokio::test]
async fn the_login_attempt_after_the_budget_is_refused_on_every_process() {
    let backend = crate::helpers::Backend::fresh().await;
    // Windows are fixed; a long one keeps the attempts from straddling a window boundary.
    let limits = [
        ("LOGIN_RATE_LIMIT", "3"),
        ("RATE_LIMIT_WINDOW_SECS", "3600"),
    ];
    let a = TestApp::spawn_on(&backend, &limits).await;
    let b = TestApp::spawn_on(&backend, &limits).await;

    // One process: three attempts, then even the right password is refused for a while.
    for _ in 0..3 {
        assert_eq!(
            login_code(&a, "supplier@iris.local", "wrong").await,
            "UNAUTHENTICATED"
        );
    }
    let refused = login_raw(&a, "supplier@iris.local", DEMO_PASSWORD).await;
    assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
    let ext = &refused["errors"][0]["extensions"];
    assert_eq!(ext["status"], 429);
    assert!(
        ext["retryAfter"]
            .as_u64()
            .is_some_and(|s| (1..=3600).contains(&s)),
        "{ext}"
    );
    let response = a
        .anonymous()
        .client
        .post(a.url("/api/v1/auth/dev/login"))
        .json(&json!({ "email": "supplier@iris.local", "password": DEMO_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));

    // Two processes on one Redis share the budget.
    if backend.redis_url.is_none() {
        eprintln!(
            "NOT RUN on this backend: the shared budget needs IRIS_TEST_REDIS_URL; .ci/run runs it"
        );
        return;
    }
    assert_eq!(
        login_code(&a, "chef@iris.local", "wrong").await,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        login_code(&a, "chef@iris.local", "wrong").await,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        login_code(&b, "chef@iris.local", "wrong").await,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        login_code(&b, "chef@iris.local", DEMO_PASSWORD).await,
        "RATE_LIMITED"
    );
}

#[tokio::test]
async fn api_requests_beyond_the_budget_get_429() {
    let (app, _backend) = TestApp::spawn_with(&[("API_RATE_LIMIT", "5")]).await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(app.get("/api/v1/me").await.status().as_u16());
    }
    // The harness's own sign-in does not count: it is not an authenticated API request.
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
    let body: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(body["error"], "RateLimitError");
}

#[tokio::test]
async fn service_tokens_are_exempt_from_rate_limits() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_iris"))
        .args(["service-token", "connector-test"])
        .output()
        .expect("iris service-token");
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let token = lines[1].to_owned();
    let entry = lines[3].to_owned();
    assert!(
        token.starts_with("svc_") && entry.starts_with("connector-test:"),
        "{text}"
    );

    let (app, _backend) =
        TestApp::spawn_with(&[("API_RATE_LIMIT", "2"), ("SERVICE_TOKENS", entry.as_str())]).await;
    let worker = Api::with_token(app.addr, Some(token));
    for _ in 0..5 {
        assert_eq!(worker.get("/api/v1/suppliers").await.status(), 200);
    }
    let stranger = Api::with_token(app.addr, Some("svc_not-a-known-token".into()));
    assert_eq!(stranger.get("/api/v1/suppliers").await.status(), 401);
    // A worker is no admin.
    assert_eq!(worker.get("/api/v1/admin/audit").await.status(), 403);
}

#[tokio::test]
async fn an_expired_token_does_not_lock_a_client_out_of_sign_in_and_refresh() {
    let (app, _backend) =
        TestApp::spawn_with(&[("APP_SECRET", SECRET), ("TRUSTED_PROXY_HOPS", "1")]).await;
    let now = chrono::Utc::now().timestamp();
    let expired = hs256(
        SECRET,
        &claims(json!({ "exp": now - 120, "iat": now - 1000, "nbf": now - 1000 })),
    );
    let stale = Api::with_token(app.addr, Some(expired));
    assert_eq!(me_status(&stale).await, 401);

    let login = stale
        .graphql(
            "mutation { login(input: {email: \"admin@iris.local\", password: \"iris-demo\"}) { refreshToken } }",
            json!({}),
        )
        .await;
    let refresh_token = login["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{login}"))
        .to_owned();
    let response = stale
        .client
        .post(stale.url("/api/v1/auth/refresh"))
        .json(&json!({ "refreshToken": refresh_token }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Behind one trusted proxy, the audit log records the address the proxy saw.
    let response = app
        .anonymous()
        .client
        .post(app.url("/api/v1/auth/dev/login"))
        .header("x-forwarded-for", "198.51.100.7, 203.0.113.9")
        .json(&json!({ "email": "admin@iris.local", "password": "wrong" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let entry = app
        .graphql("{ auditLog(first: 1, filter: {action: \"auth.login_failed\"}) { edges { node { ip } } } }", json!({}))
        .await;
    assert_eq!(
        entry["data"]["auditLog"]["edges"][0]["node"]["ip"], "203.0.113.9",
        "{entry}"
    );
}

async fn me_status(api: &Api) -> u16 {
    api.client
        .post(api.url("/graphql"))
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
