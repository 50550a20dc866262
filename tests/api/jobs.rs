//! Background jobs: the scheduler fires and records runs, admins list and run jobs, and the
//! idempotency-key expiry job does its work.

use std::time::Duration;

use chrono::Weekday;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    helpers::{Api, TestApp},
    orders::{error, market, next, ok},
};

pub const JOBS: &str = "{ jobs { name schedule description nextRunAt lastRun { status trigger scheduledFor startedAt finishedAt error stats node } runs(first: 50) { status trigger scheduledFor node } } }";

/// The `expire-idempotency-keys` entry of `jobs`.
pub async fn expiry_job(admin: &Api) -> Value {
    job_named(admin, "expire-idempotency-keys").await
}

/// A job as `jobs` lists it (with its runs).
pub async fn job_named(admin: &Api, name: &str) -> Value {
    let body = ok(admin.graphql(JOBS, json!({})).await);
    body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} is listed"))
}

#[tokio::test]
async fn a_job_on_a_fast_schedule_fires_and_is_recorded() {
    let (app, _backend) = TestApp::spawn_with(&[
        ("SCHEDULER_ENABLED", "true"),
        ("JOB_EXPIRE_IDEMPOTENCY_KEYS_SCHEDULE", "*/1 * * * * *"),
    ])
    .await;
    let admin = app.admin().await;
    let mut job = Value::Null;
    for _ in 0..50 {
        job = expiry_job(&admin).await;
        if job["lastRun"]["status"] == "SUCCEEDED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(job["schedule"], "*/1 * * * * *");
    let last = &job["lastRun"];
    assert_eq!(last["status"], "SUCCEEDED", "{job}");
    assert_eq!(last["trigger"], "SCHEDULE");
    assert_eq!(last["stats"], json!({ "deleted": 0 }));
    assert!(
        last["scheduledFor"]
            .as_str()
            .is_some_and(|t| t.ends_with(":00Z") || t.contains('T'))
    );
    assert!(job["nextRunAt"].as_str().is_some(), "{job}");

    let metrics = app.anonymous().get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .contains(r#"iris_job_runs_total{job="expire-idempotency-keys",status="SUCCEEDED"}"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"iris_job_duration_seconds_count{job="expire-idempotency-keys"}"#));
}

#[tokio::test]
async fn admins_run_a_job_now_and_it_expires_old_idempotency_keys() {
    let m = market(&[]).await;
    let mut input = json!({
        "restaurantId": m.restaurant, "supplierId": m.supplier_b,
        "lines": [{ "productId": m.b3, "quantity": 1 }],
        "requestedDeliveryDate": next(Weekday::Tue, 0),
        "idempotencyKey": "old-key",
    });
    let first = ok(m.place(&m.chef, input.clone()).await);
    // A day later: the key has expired.
    m.app
        .state
        .db
        .execute_unprepared("UPDATE idempotency_keys SET expires_at = '2000-01-01 00:00:00+00:00'")
        .await
        .expect("ageing the key");

    const RUN: &str = "mutation($name: String!) { runJob(name: $name) { run { status trigger stats error finishedAt } } }";
    let vars = json!({ "name": "expire-idempotency-keys" });
    assert_eq!(
        error(&m.chef.graphql(RUN, vars.clone()).await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        error(&m.seller.graphql(RUN, vars.clone()).await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        error(&m.chef.anonymous().graphql(RUN, vars.clone()).await).0,
        "UNAUTHENTICATED"
    );
    assert_eq!(error(&m.chef.graphql(JOBS, json!({})).await).0, "FORBIDDEN");
    assert_eq!(
        error(&m.admin.graphql(RUN, json!({ "name": "no-such-job" })).await).0,
        "NOT_FOUND"
    );

    let run = ok(m.admin.graphql(RUN, vars).await);
    let run = &run["runJob"]["run"];
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["trigger"], "MANUAL");
    assert_eq!(run["stats"], json!({ "deleted": 1 }));
    assert!(run["finishedAt"].is_string());
    assert_eq!(expiry_job(&m.admin).await["lastRun"]["trigger"], "MANUAL");

    // The key is gone: the same key now places a new order instead of replaying.
    input["lines"][0]["quantity"] = json!(2);
    let again = ok(m.place(&m.chef, input).await);
    assert_eq!(again["placeOrder"]["replayed"], false);
    assert_ne!(
        again["placeOrder"]["order"]["id"],
        first["placeOrder"]["order"]["id"]
    );
}

#[tokio::test]
async fn a_job_never_runs_twice_at_once_and_a_silent_run_is_presumed_dead() {
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let (app, _backend) = TestApp::spawn().await;
    let admin = app.admin().await;
    // Another process is running the job right now.
    let elsewhere = uuid::Uuid::now_v7();
    let now = chrono::Utc::now();
    entity::job_runs::Entity::insert(entity::job_runs::ActiveModel {
        id: Set(elsewhere),
        job: Set("expire-idempotency-keys".into()),
        trigger: Set("SCHEDULE".into()),
        scheduled_for: Set(Some(now)),
        started_at: Set(now),
        finished_at: Set(None),
        heartbeat_at: Set(now),
        status: Set("RUNNING".into()),
        error: Set(None),
        stats: Set(json!({})),
        node: Set("elsewhere:1".into()),
    })
    .exec_without_returning(&app.state.db)
    .await
    .unwrap();
    const RUN: &str =
        "mutation { runJob(name: \"expire-idempotency-keys\") { run { status error } } }";
    let refused = admin.graphql(RUN, json!({})).await;
    let (code, err) = error(&refused);
    assert_eq!(code, "CONFLICT", "{refused}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains(&elsewhere.to_string())
    );
    let skipped = expiry_job(&admin).await;
    assert_eq!(skipped["lastRun"]["status"], "SKIPPED", "{skipped}");

    // That process died: no heartbeat for 15 minutes.
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    entity::job_runs::Entity::update_many()
        .col_expr(
            entity::job_runs::Column::HeartbeatAt,
            Expr::value(now - chrono::Duration::minutes(16)),
        )
        .filter(entity::job_runs::Column::Id.eq(elsewhere))
        .exec(&app.state.db)
        .await
        .unwrap();
    let ran = ok(admin.graphql(RUN, json!({})).await);
    assert_eq!(ran["runJob"]["run"]["status"], "SUCCEEDED");
    let runs = expiry_job(&admin).await["runs"].clone();
    let dead = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["node"] == "elsewhere:1")
        .cloned()
        .unwrap();
    assert_eq!(dead["status"], "FAILED", "{runs}");
}
