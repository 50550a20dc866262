//! AUTH_PROVIDER=oidc against a fake issuer (JWKS) and a fake Clerk Backend API, both served
//! locally: tokens verified and accounts provisioned from their claims, bad tokens refused, key
//! rotation picked up, and `register` creating the user at the provider.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp};

const AUDIENCE: &str = "iris-test";
const PROVIDER_KEY: &str = "sk_test_iris";

#[derive(Clone, Default)]
struct Fake {
    jwks: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
    users: Arc<Mutex<Vec<Value>>>,
}

fn test_jwk(kid: &str) -> Value {
    let mut jwk: Value =
        serde_json::from_str(include_str!("../fixtures/rsa-test-jwk.json")).unwrap();
    jwk["kid"] = json!(kid);
    jwk
}

async fn jwks(State(fake): State<Fake>) -> Json<Value> {
    fake.fetches.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "keys": fake.jwks.lock().unwrap().clone() }))
}

async fn create_user(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {PROVIDER_KEY}"))
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "errors": [{ "message": "bad key" }] })),
        );
    }
    if body["password"] == "password123" {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "errors": [{
                "message": "Password has been found in an online data breach.",
                "long_message": "Password has been found in an online data breach. For account safety, please use a different password.",
                "code": "form_password_pwned",
                "meta": { "param_name": "password" }
            }] })),
        );
    }
    let mut users = fake.users.lock().unwrap();
    users.push(body);
    (
        StatusCode::OK,
        Json(json!({ "id": format!("user_{}", users.len()), "object": "user" })),
    )
}

/// Serves the fake issuer and provider; returns its base URL.
async fn serve_fake(fake: Fake) -> String {
    let app = Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/users", post(create_user))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

async fn spawn_oidc(issuer: &str, extra: &[(&str, &str)]) -> (TestApp, crate::helpers::Backend) {
    let users_api = format!("{issuer}/v1");
    let mut settings = vec![
        ("AUTH_PROVIDER", "oidc"),
        ("OIDC_ISSUER", issuer),
        ("OIDC_AUDIENCE", AUDIENCE),
        ("OIDC_ROLE_CLAIM", "public_metadata.role"),
        ("CLERK_API_URL", users_api.as_str()),
        ("CLERK_SECRET_KEY", PROVIDER_KEY),
    ];
    settings.extend_from_slice(extra);
    TestApp::spawn_with(&settings).await
}

fn rs256(kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let key = EncodingKey::from_rsa_pem(include_bytes!("../fixtures/rsa-test-key.pem")).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn claims(issuer: &str, sub: &str, email: &str, role: Option<&str>) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({ "sub": sub, "email": email, "email_verified": true, "iss": issuer, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 600 });
    if let Some(role) = role {
        claims["public_metadata"] = json!({ "role": role });
    }
    claims
}

async fn me(app: &TestApp, token: String) -> (u16, Value) {
    let api = Api::with_token(app.addr, Some(token));
    let response = api
        .client
        .post(api.url("/graphql"))
        .json(&json!({ "query": "{ me { id email role } }" }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn issuer_tokens_provision_accounts_and_bad_tokens_are_refused() {
    let fake = Fake::default();
    fake.jwks.lock().unwrap().push(test_jwk("k1"));
    let issuer = serve_fake(fake.clone()).await;
    let (app, _backend) = spawn_oidc(&issuer, &[("OIDC_JWKS_MIN_REFETCH_SECS", "0")]).await;

    let good = claims(
        &issuer,
        "user_abc",
        "Owner@Supplier.example",
        Some("SUPPLIER"),
    );
    let (status, body) = me(&app, rs256("k1", &good)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["role"], "SUPPLIER");
    assert_eq!(body["data"]["me"]["email"], "owner@supplier.example");
    let id = body["data"]["me"]["id"].clone();
    let (_, again) = me(&app, rs256("k1", &good)).await;
    assert_eq!(
        again["data"]["me"]["id"], id,
        "the same subject is the same account"
    );

    let now = chrono::Utc::now().timestamp();
    let mut expired = good.clone();
    expired["exp"] = json!(now - 120);
    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = json!("https://evil.example");
    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("someone-else");
    let mut no_audience = good.clone();
    no_audience.as_object_mut().unwrap().remove("aud");
    // HS/RS confusion: an HS256 token keyed with the issuer's *public* key material.
    let public_n = test_jwk("k1")["n"].as_str().unwrap().to_owned();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("k1".into());
    let confused = jsonwebtoken::encode(
        &hs_header,
        &good,
        &EncodingKey::from_secret(public_n.as_bytes()),
    )
    .unwrap();
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "kid": "k1" })),
        b64(&good)
    );
    let cases = [
        ("expired", rs256("k1", &expired)),
        ("wrong issuer", rs256("k1", &wrong_issuer)),
        ("wrong audience", rs256("k1", &wrong_audience)),
        ("no audience", rs256("k1", &no_audience)),
        ("HS256 with the public key", confused),
        ("alg none", none),
        ("unknown key id", rs256("k9", &good)),
        (
            "no role claim",
            rs256("k1", &claims(&issuer, "user_norole", "x@y.se", None)),
        ),
    ];
    for (name, token) in cases {
        let (status, body) = me(&app, token).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{name}"
        );
    }

    // Key rotation: a token signed under a new key id is accepted once the JWKS publishes it.
    let fetches = fake.fetches.load(Ordering::SeqCst);
    let rotated = rs256("k2", &good);
    assert_eq!(me(&app, rotated.clone()).await.0, 401);
    assert!(
        fake.fetches.load(Ordering::SeqCst) > fetches,
        "an unknown key id refetches the JWKS"
    );
    fake.jwks.lock().unwrap().push(test_jwk("k2"));
    assert_eq!(me(&app, rotated).await.0, 200);

    // Sign-in belongs to the provider.
    let login = app
        .graphql(
            "mutation { login(input: {email: \"a@b.se\", password: \"x\"}) { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(
        login["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{login}"
    );
}

#[tokio::test]
async fn register_creates_the_user_at_the_provider_only() {
    let fake = Fake::default();
    fake.jwks.lock().unwrap().push(test_jwk("k1"));
    let issuer = serve_fake(fake.clone()).await;
    let (app, _backend) = spawn_oidc(&issuer, &[]).await;

    const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { account { id email role displayName } } }";
    let body = app
        .graphql(REGISTER, json!({ "input": { "email": "chef@bistro.example", "password": "correct horse battery", "role": "RESTAURANT", "displayName": "Chef" } }))
        .await;
    let account = &body["data"]["register"]["account"];
    assert_eq!(account["role"], "RESTAURANT", "{body}");
    assert_eq!(account["displayName"], "Chef");
    let sent = fake.users.lock().unwrap()[0].clone();
    assert_eq!(sent["email_address"], json!(["chef@bistro.example"]));
    assert_eq!(
        sent["password"], "correct horse battery",
        "the password went to the provider"
    );
    assert_eq!(sent["public_metadata"]["role"], "RESTAURANT");

    // The provider's token for that user lands on the same account.
    let token = rs256(
        "k1",
        &claims(&issuer, "user_1", "chef@bistro.example", Some("RESTAURANT")),
    );
    let (status, me_body) = me(&app, token).await;
    assert_eq!(status, 200, "{me_body}");
    assert_eq!(me_body["data"]["me"]["id"], account["id"]);

    // The provider's rules surface as field errors; Iris's own come first.
    let pwned = app
        .graphql(REGISTER, json!({ "input": { "email": "b@bistro.example", "password": "password123", "role": "RESTAURANT" } }))
        .await;
    assert_eq!(
        pwned["errors"][0]["extensions"]["code"], "VALIDATION",
        "{pwned}"
    );
    assert_eq!(
        pwned["errors"][0]["extensions"]["fields"][0]["field"],
        "password"
    );
    let admin = app
        .graphql(REGISTER, json!({ "input": { "email": "c@bistro.example", "password": "long enough pass", "role": "ADMIN" } }))
        .await;
    assert_eq!(
        admin["errors"][0]["extensions"]["fields"][0]["field"],
        "role"
    );
    let taken = app
        .graphql(REGISTER, json!({ "input": { "email": "CHEF@bistro.example", "password": "another long one", "role": "RESTAURANT" } }))
        .await;
    assert_eq!(taken["errors"][0]["extensions"]["code"], "CONFLICT");

    // REST registers too.
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({ "email": "sales@grossist.example", "password": "a strong one here", "role": "SUPPLIER" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // The password appears nowhere in Iris's database.
    let db = &app.state.db;
    use sea_orm::{ConnectionTrait, Statement};
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT action FROM audit_log WHERE CAST(after AS TEXT) LIKE '%correct horse%' OR CAST(before AS TEXT) LIKE '%correct horse%'"))
        .await
        .unwrap();
    assert!(rows.is_empty(), "the password reached the audit log");
}

#[tokio::test]
async fn register_needs_the_oidc_provider() {
    let (app, _backend) = TestApp::spawn().await;
    let body = app
        .graphql("mutation { register(input: {email: \"a@b.se\", password: \"long enough pass\", role: RESTAURANT}) { account { id } } }", json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{body}"
    );
}

#[tokio::test]
async fn a_burst_of_first_requests_provisions_one_account() {
    let fake = Fake::default();
    fake.jwks.lock().unwrap().push(test_jwk("k1"));
    let issuer = serve_fake(fake).await;
    let (app, _backend) = spawn_oidc(&issuer, &[]).await;
    let token = rs256(
        "k1",
        &claims(
            &issuer,
            "user_burst",
            "burst@bistro.example",
            Some("RESTAURANT"),
        ),
    );
    let requests = (0..8).map(|_| me(&app, token.clone()));
    let answers = futures_util::future::join_all(requests).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body["data"]["me"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one subject, one account");
}
