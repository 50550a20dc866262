//! The `iris` command: help on every level, configuration errors, migrations, seeding, SDL.

use std::process::{Command, Output};

use crate::helpers::Backend;

pub fn iris(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iris"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .envs(env.iter().copied())
        .output()
        .expect("run iris")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn every_command_has_help() {
    for args in [
        vec![],
        vec!["serve"],
        vec!["migrate"],
        vec!["migrate", "up"],
        vec!["migrate", "down"],
        vec!["migrate", "status"],
        vec!["migrate", "fresh"],
        vec!["seed"],
        vec!["worker"],
        vec!["jobs"],
        vec!["jobs", "list"],
        vec!["jobs", "run"],
        vec!["schema"],
        vec!["service-token"],
    ] {
        let mut with_help = args.clone();
        with_help.push("--help");
        let output = iris(&with_help, &[]);
        assert!(output.status.success(), "{with_help:?}");
        assert!(
            stdout(&output).contains("Usage: iris"),
            "{with_help:?}: {}",
            stdout(&output)
        );
    }
}

#[test]
fn schema_graphql_is_exactly_what_iris_schema_prints() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the top level");
    let output = iris(&["schema"], &[]);
    assert!(output.status.success());
    let printed = stdout(&output);
    if let Some((n, (code, file))) = printed
        .lines()
        .zip(committed.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        panic!(
            "schema.graphql drifted from the code at line {}: code has `{code}`, file has `{file}`; run `cargo run -q -- schema > schema.graphql`",
            n + 1
        );
    }
    assert_eq!(
        printed.len(),
        committed.len(),
        "schema.graphql drifted (length); regenerate it"
    );
    assert_eq!(iris::graphql::sdl(), committed);
}

#[test]
fn a_bad_setting_is_named_at_start_up() {
    let output = iris(
        &["serve"],
        &[("PORT", "eighty"), ("GRAPHQL_MAX_DEPTH", "-1")],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PORT: expected a port number"), "{stderr}");
    assert!(
        stderr.contains("GRAPHQL_MAX_DEPTH: expected a whole number from 1 to 1000"),
        "{stderr}"
    );
}

#[tokio::test]
async fn migrate_and_seed_manage_the_database() {
    let backend = Backend::fresh().await;
    let env = [("DATABASE_URL", backend.database_url.as_str())];
    let run = |args: &[&str]| {
        let output = iris(args, &env);
        assert!(
            output.status.success(),
            "iris {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout(&output)
    };
    let status = run(&["migrate", "status"]);
    assert!(status.contains("Pending"), "{status}");
    run(&["migrate", "up"]);
    let status = run(&["migrate", "status"]);
    assert!(
        status.contains("Applied") && !status.contains("Pending"),
        "{status}"
    );

    // A year of inventory history: how many deliveries fell on delivery days depends on today.
    let seeded = run(&["seed"]);
    assert!(
        seeded.starts_with(
            "demo data: 3 supplier(s), 4 restaurant(s), 180 product(s), 12 order(s), "
        ) && seeded.ends_with(" inventory movement(s), 6 invoice(s) created\n"),
        "{seeded}"
    );
    let movements: usize = seeded
        .split(", ")
        .nth(4)
        .and_then(|m| m.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!(
        movements > 24 * 365,
        "a year of daily usage for 24 items: {seeded}"
    );
    assert_eq!(
        run(&["seed"]),
        "demo data: 0 supplier(s), 0 restaurant(s), 0 product(s), 0 order(s), 0 inventory movement(s), 0 invoice(s) created\n",
        "seeding is idempotent"
    );

    // Jobs: listed with their schedules, run on demand, recorded.
    let listed = run(&["jobs", "list"]);
    assert!(
        listed.contains("expire-idempotency-keys")
            && listed.contains("0 5 * * * *")
            && listed.contains("never"),
        "{listed}"
    );
    let ran = run(&["jobs", "run", "expire-idempotency-keys"]);
    assert!(
        ran.starts_with("expire-idempotency-keys SUCCEEDED in "),
        "{ran}"
    );
    assert!(ran.contains(r#"{"deleted":0}"#), "{ran}");
    assert!(run(&["jobs", "list"]).contains("SUCCEEDED"));
    let unknown = iris(&["jobs", "run", "no-such-job"], &env);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("Job no-such-job not found"));

    run(&["migrate", "down", "--steps", "1"]);
    assert!(run(&["migrate", "status"]).contains("Pending"));
    run(&["migrate", "fresh"]);
    let status = run(&["migrate", "status"]);
    assert!(!status.contains("Pending"), "{status}");
}

#[tokio::test]
async fn documents_push_registers_apollo_and_relay_manifests_all_or_nothing() {
    let backend = Backend::fresh().await;
    let env = [("DATABASE_URL", backend.database_url.as_str())];
    let dir = std::env::temp_dir().join(format!("iris-manifests-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = "query Suppliers { suppliers { totalCount } }";
    let apollo = dir.join("apollo.json");
    std::fs::write(
        &apollo,
        serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{
                "id": iris::domain::platform::trusted_documents::sha256_hex(body),
                "name": "Suppliers",
                "type": "query",
                "body": body,
            }]
        })
        .to_string(),
    )
    .unwrap();
    let push = |file: &std::path::Path| {
        iris(
            &[
                "documents",
                "push",
                file.to_str().unwrap(),
                "--client",
                "supplier-portal",
            ],
            &env,
        )
    };
    let first = push(&apollo);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout(&first).contains("1 registered, 0 already registered"),
        "{}",
        stdout(&first)
    );
    assert!(stdout(&push(&apollo)).contains("0 registered, 1 already registered"));

    // A Relay manifest with one document that does not parse: nothing is registered.
    let relay = dir.join("relay.json");
    std::fs::write(
        &relay,
        serde_json::json!({ "r1": "query A { suppliers { totalCount } }", "r2": "query B {" })
            .to_string(),
    )
    .unwrap();
    let refused = push(&relay);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("r2"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Behind a pooler, migrations run on `DATABASE_URL_DIRECT`: here `DATABASE_URL` leads
/// nowhere, and `iris migrate` still works through the direct URL. (Postgres only: the
/// direct URL is a Postgres setting.)
#[tokio::test]
async fn migrations_use_the_direct_url_when_one_is_set() {
    let backend = Backend::fresh().await;
    if !backend.database_url.starts_with("postgres") {
        eprintln!("NOT RUN on this backend: DATABASE_URL_DIRECT is for Postgres; .ci/run runs it");
        return;
    }
    // A port nothing listens on: the pooler that is down.
    let unreachable = "postgres://postgres@127.0.0.1:1/nowhere";
    let env = [
        ("DATABASE_URL", unreachable),
        ("DATABASE_URL_DIRECT", backend.database_url.as_str()),
    ];
    let up = iris(&["migrate", "up"], &env);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let status = iris(&["migrate", "status"], &env);
    assert!(!stdout(&status).contains("Pending"), "{}", stdout(&status));
    // Without it, the unreachable URL is named.
    let failed = iris(&["migrate", "status"], &[("DATABASE_URL", unreachable)]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("DATABASE_URL"));
}
