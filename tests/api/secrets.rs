//! Secrets at rest: webhook signing secrets are sealed (AES-256-GCM) in every column that holds
//! them, rotation re-seals them under a new key with `iris secrets rotate`, and deliveries
//! still sign with the secret the owner was shown.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::json;

use crate::{
    cli::{iris, stdout},
    helpers::TestApp,
    orders::{PASSWORD, market, market_users},
    webhooks::{DELIVERING, Receiver, create_endpoint, expected_signature},
};

const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const K2: &str = "k2:HxwdHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

/// Every value of every column of every table, as text, one per line.
async fn everything_stored(db: &impl ConnectionTrait) -> String {
    let backend = db.get_database_backend();
    let raw = |sql: String| Statement::from_string(backend, sql);
    let mut out = String::new();
    let tables: Vec<String> = match backend {
        DatabaseBackend::Postgres => db
            .query_all_raw(raw(
                "SELECT table_name AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                    .into(),
            ))
            .await
            .unwrap(),
        _ => db
            .query_all_raw(raw(
                "SELECT name FROM sqlite_master WHERE type = 'table'".into()
            ))
            .await
            .unwrap(),
    }
    .iter()
    .map(|row| row.try_get::<String>("", "name").unwrap())
    .collect();
    assert!(
        tables.iter().any(|t| t == "webhook_endpoints"),
        "{tables:?}"
    );
    for table in tables {
        let sql = match backend {
            DatabaseBackend::Postgres => {
                format!("SELECT row_to_json(t)::text AS v FROM \"{table}\" t")
            }
            _ => {
                let columns: Vec<String> = db
                    .query_all_raw(raw(format!(
                        "SELECT name FROM pragma_table_info('{table}')"
                    )))
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| format!("quote(\"{}\")", row.try_get::<String>("", "name").unwrap()))
                    .collect();
                format!(
                    "SELECT {} AS v FROM \"{table}\"",
                    columns.join(" || ',' || ")
                )
            }
        };
        for row in db.query_all_raw(raw(sql)).await.unwrap() {
            out.push_str(&row.try_get::<String>("", "v").unwrap_or_default());
            out.push('\n');
        }
    }
    out
}

async fn stored_secret(db: &impl ConnectionTrait, endpoint: &str) -> String {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            format!("SELECT secret FROM webhook_endpoints WHERE id = '{endpoint}'")
        }
        _ => format!(
            "SELECT secret FROM webhook_endpoints WHERE lower(hex(id)) = '{}'",
            endpoint.replace('-', "")
        ),
    };
    db.query_one_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .expect("the endpoint is stored")
        .try_get("", "secret")
        .unwrap()
}

#[tokio::test]
async fn no_signing_secret_is_stored_in_plaintext() {
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
    let endpoint = created["endpoint"]["id"].as_str().unwrap();
    let first = created["secret"].as_str().unwrap().to_owned();
    let rotated = m
        .seller_b
        .graphql(
            "mutation($id: ID!) { rotateWebhookSecret(input: {id: $id}) { secret } }",
            json!({ "id": endpoint }),
        )
        .await;
    let second = rotated["data"]["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    let stored = stored_secret(&m.app.state.db, endpoint).await;
    assert!(stored.starts_with("enc:v1:dev:"), "{stored}");
    let dump = everything_stored(&m.app.state.db).await;
    assert!(dump.contains(&stored), "the dump reads the sealed column");
    for secret in [&first, &second] {
        let key = secret.trim_start_matches("whsec_");
        assert!(
            !dump.contains(key),
            "a signing secret is stored in plaintext somewhere"
        );
    }
}

#[tokio::test]
async fn rotation_reseals_under_the_new_key_and_deliveries_still_verify() {
    let receiver = Receiver::start().await;
    let mut settings = DELIVERING.to_vec();
    settings.push(("SECRET_KEYS", K1));
    let mut m = market(&settings).await;
    let created = create_endpoint(
        &m.seller_b,
        "SUPPLIER",
        &m.supplier_b,
        &receiver.url(),
        &["order.placed"],
    )
    .await;
    let endpoint = created["endpoint"]["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let sealed_k1 = stored_secret(&m.app.state.db, &endpoint).await;
    assert!(sealed_k1.starts_with("enc:v1:k1:"), "{sealed_k1}");

    // The operator puts a new key in front and runs the command (while Iris serves).
    let keys = format!("{K2},{K1}");
    let database = m._backend.database_url.clone();
    let env = [
        ("DATABASE_URL", database.as_str()),
        ("SECRET_KEYS", keys.as_str()),
    ];
    let output = iris(&["secrets", "rotate"], &env);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout(&output),
        "sealed under key `k2`: 1 re-sealed, 0 already current, 0 failed to open\n"
    );
    let sealed_k2 = stored_secret(&m.app.state.db, &endpoint).await;
    assert!(sealed_k2.starts_with("enc:v1:k2:"), "{sealed_k2}");
    let again = iris(&["secrets", "rotate"], &env);
    assert_eq!(
        stdout(&again),
        "sealed under key `k2`: 0 re-sealed, 1 already current, 0 failed to open\n"
    );

    // Without the new key, what it sealed does not open: the command says so and fails.
    let only_k1 = iris(
        &["secrets", "rotate"],
        &[("DATABASE_URL", database.as_str()), ("SECRET_KEYS", K1)],
    );
    assert!(!only_k1.status.success());
    assert!(
        stdout(&only_k1).contains("1 failed to open"),
        "{}",
        stdout(&only_k1)
    );

    // The old key retired: Iris with only the new key delivers, signed with the same secret.
    let users = market_users();
    let mut settings = DELIVERING.to_vec();
    settings.extend([("DEV_USERS", users.as_str()), ("SECRET_KEYS", K2)]);
    let next = TestApp::spawn_on(&m._backend, &settings).await;
    let old = std::mem::replace(&mut m.app, next);
    old.stop().await;
    m.chef = m.app.login("chef@t.se", PASSWORD).await;
    m.placed().await;
    let got = receiver
        .wait_for(Duration::from_secs(10), |r| !r.is_empty())
        .await;
    let r = got.first().expect("a delivery");
    assert_eq!(
        r.headers["webhook-signature"],
        expected_signature(
            &secret,
            &r.headers["webhook-id"],
            &r.headers["webhook-timestamp"],
            &r.body
        )
    );
}

#[test]
fn new_key_prints_a_secret_keys_entry() {
    let output = iris(&["secrets", "new-key", "2027-01"], &[]);
    assert!(output.status.success());
    let text = stdout(&output);
    let entry = text.lines().nth(1).unwrap().trim();
    let (id, key) = entry.split_once(':').unwrap();
    assert_eq!(id, "2027-01");
    use base64::Engine as _;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(key)
            .unwrap()
            .len(),
        32
    );
    assert!(
        !iris(&["secrets", "new-key", "bad id"], &[])
            .status
            .success()
    );
}
