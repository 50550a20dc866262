//! No single request and no dependency outage takes Iris down: the cost limits, the alias
//! flood beside a small query, NUL at the edge, bounded error bodies, persisted queries and
//! trusted documents, a stalled Redis and a cut Postgres.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::{
        Backend, ProxyMode, TcpProxy, TestApp, create_supplier, service_url,
        subscribe_supplier_changes, update_until_event, ws_json,
    },
    multi_process::wait_for_redis,
};

/// The amplification query of the outside test: 100 × 50 × 50 products.
const AMPLIFICATION: &str = "{ products(first:100) { nodes { supplier { products(first:50) { supplier { products(first:50) { name sku } } } } } } }";

#[tokio::test]
async fn the_amplification_query_is_refused_before_it_runs_with_its_cost() {
    let (app, _backend) = TestApp::spawn().await;
    let body = app.anonymous().graphql(AMPLIFICATION, json!({})).await;
    assert_eq!(body["data"], Value::Null, "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["limit"], "GRAPHQL_MAX_COST", "{body}");
    let cost = error["extensions"]["cost"]
        .as_u64()
        .expect("the computed cost");
    assert!(cost > 250_000, "list sizes multiply: {cost}");
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");

    // A front end's real query passes and reports its cost.
    let body = app
        .graphql(
            "{ products(first: 20) { totalCount nodes { name supplier { name } } } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let cost = &body["extensions"]["cost"];
    assert!(
        cost["requested"].as_u64().unwrap() < cost["maximum"].as_u64().unwrap(),
        "{body}"
    );
}

#[tokio::test]
async fn an_alias_flood_is_refused_and_a_small_query_answers_beside_the_largest_allowed() {
    let (app, _backend) = TestApp::spawn().await;
    for seed in 0..3 {
        create_supplier(&app, 900 + seed, &format!("Lax {seed} AB"), "Umeå").await;
    }
    let flood: String = (0..499)
        .map(|i| format!("a{i}: products(first:100, filter:{{query:\"lax0\"}}) {{ totalCount }} "))
        .collect();
    let body = app
        .anonymous()
        .graphql(&format!("{{ {flood} }}"), json!({}))
        .await;
    assert_eq!(body["data"], Value::Null);
    let limit = body["errors"][0]["extensions"]["limit"]
        .as_str()
        .unwrap_or_default();
    assert!(
        ["GRAPHQL_MAX_ROOT_FIELDS", "GRAPHQL_MAX_ALIASES"].contains(&limit),
        "{body}"
    );

    // The most such a query may be: as many root fields as the limit allows.
    let widest: String = (0..20)
        .map(|i| format!("a{i}: products(first:100, filter:{{query:\"lax\"}}) {{ totalCount nodes {{ name }} }} "))
        .collect();
    let widest = format!("{{ {widest} }}");
    let heavy = app.anonymous();
    let looping = tokio::spawn({
        let widest = widest.clone();
        async move {
            let mut answered = 0;
            for _ in 0..15 {
                let body = heavy.graphql(&widest, json!({})).await;
                assert!(body.get("errors").is_none(), "{body}");
                answered += 1;
            }
            answered
        }
    });
    let other = app.anonymous();
    for _ in 0..20 {
        let body = other
            .graphql("{ suppliers { totalCount } }", json!({}))
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["suppliers"]["totalCount"], 3);
    }
    assert_eq!(looping.await.unwrap(), 15);
}

#[tokio::test]
async fn a_nul_in_any_read_filter_is_a_validation_error_naming_the_field() {
    let (app, _backend) = TestApp::spawn().await;
    for (path, field) in [
        ("/api/v1/products?q=a%00b", "q"),
        ("/api/v1/products?category=a%00b", "category"),
        ("/api/v1/suppliers?city=a%00b", "city"),
        ("/api/v1/admin/audit?action=a%00b", "action"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 422, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "ValidationError", "{path}: {body}");
        assert_eq!(body["fields"][0]["field"], field, "{path}: {body}");
        assert!(
            body["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains("NUL"),
            "{body}"
        );
    }
    let body = app
        .graphql(
            "query($q: String) { products(filter: { query: $q }) { totalCount } }",
            json!({ "q": "lax\u{0}" }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["fields"][0]["field"], "q");
    let body = app
        .graphql(
            r#"{ suppliers(filter: { city: "x\u0000" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    // A JSON body too, by its path.
    let response = app
        .client
        .post(app.url("/api/v1/suppliers"))
        .header("content-type", "application/json")
        .body(r#"{"name":"A\u0000B","organisationNumber":"556677-8899","contactEmail":"a@b.se","city":"Umeå","minimumOrderValue":"500","deliveryDays":["MONDAY"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "name", "{body}");
}

#[tokio::test]
async fn error_bodies_are_bounded_whatever_the_input() {
    let (app, _backend) = TestApp::spawn().await;
    // A 200 KB line that does not parse.
    let junk = format!(
        "{{ products(filter: {{ query: {} }}) }}",
        "x".repeat(200_000)
    );
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": junk }))
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert!(text.len() < 4_000, "parse error of {} bytes", text.len());

    // A 1 MB header: the envelope, not a bare 431.
    let response = app
        .client
        .get(app.url("/api/v1/suppliers"))
        .header("authorization", format!("Bearer {}", "a".repeat(1_000_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 431);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "RequestHeaderFieldsTooLargeError", "{body}");
    assert_eq!(body["status"], 431);

    // 5,000 duplicate directives: one error naming the limit.
    let directives = "@include(if: true) ".repeat(5_000);
    let body = app
        .anonymous()
        .graphql(
            &format!("{{ suppliers {directives} {{ totalCount }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["limit"],
        "GRAPHQL_MAX_DIRECTIVES"
    );
    assert!(body.to_string().len() < 4_000);

    // Many failing fields: at most GRAPHQL_MAX_ERRORS errors, then one that counts the rest.
    let many: String = (0..25)
        .map(|i| {
            format!(
                "s{i}: supplier(id: \"00000000-0000-0000-0000-00000000000{}\") {{ name }} ",
                i % 10
            )
        })
        .collect();
    let (limited, _b) = TestApp::spawn_with(&[
        ("GRAPHQL_MAX_ERRORS", "5"),
        ("GRAPHQL_MAX_ALIASES", "100"),
        ("GRAPHQL_MAX_ROOT_FIELDS", "100"),
    ])
    .await;
    let body = limited.graphql(&format!("{{ {many} }}"), json!({})).await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 6, "{body}");
    assert_eq!(errors[5]["extensions"]["code"], "ERRORS_TRUNCATED");
    assert_eq!(errors[5]["extensions"]["omitted"], 20);
}

fn sha256(text: &str) -> String {
    iris::domain::platform::trusted_documents::sha256_hex(text)
}

async fn persisted(app: &crate::helpers::Api, query: Option<&str>, hash: &str) -> Value {
    let mut request = json!({
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } }
    });
    if let Some(query) = query {
        request["query"] = json!(query);
    }
    app.client
        .post(app.url("/graphql"))
        .json(&request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn automatic_persisted_queries_follow_apollos_protocol() {
    let (app, _backend) = TestApp::spawn().await;
    let query = "{ suppliers { totalCount } }";
    let hash = sha256(query);
    let body = persisted(&app, None, &hash).await;
    assert_eq!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    let body = persisted(&app, Some(query), &hash).await;
    assert_eq!(body["data"]["suppliers"]["totalCount"], 0, "{body}");
    let body = persisted(&app, None, &hash).await;
    assert_eq!(body["data"]["suppliers"]["totalCount"], 0, "{body}");
    // Over GET too, as Apollo's link sends queries with useGETForHashedQueries.
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("extensions", extensions.as_str())])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["suppliers"]["totalCount"], 0, "{body}");
    // Only documents that run are registered: one the schema rejects is not.
    let invalid = "{ noSuchField }";
    let body = persisted(&app, Some(invalid), &sha256(invalid)).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    let body = persisted(&app, None, &sha256(invalid)).await;
    assert_eq!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "{body}"
    );
    // Hex hashes are one spelling, whatever the case.
    let body = persisted(&app, None, &hash.to_ascii_uppercase()).await;
    assert_eq!(body["data"]["suppliers"]["totalCount"], 0, "{body}");
    let body = persisted(&app, Some(query), &sha256("something else")).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_HASH_MISMATCH",
        "{body}"
    );
}

#[tokio::test]
async fn with_trusted_documents_required_only_registered_documents_run() {
    let (app, _backend) = TestApp::spawn_with(&[
        ("GRAPHQL_TRUSTED_DOCUMENTS", "require"),
        ("GRAPHQL_ADMIN_ADHOC", "true"),
    ])
    .await;
    let registered = "query Count { suppliers { totalCount } }";
    let entries = iris::domain::platform::trusted_documents::parse_manifest(
        &json!({ "relay-count-1": registered }).to_string(),
    )
    .unwrap();
    let report = app
        .state
        .services
        .documents
        .push(&entries, Some("restaurant-app"))
        .await
        .map_err(|e| e.message())
        .unwrap();
    assert_eq!(report.added, 1);

    let anonymous = app.anonymous();
    // By the manifest's id, by the body's hash, and as full text.
    for hash in ["relay-count-1".to_owned(), sha256(registered)] {
        let body = persisted(&anonymous, None, &hash).await;
        assert_eq!(body["data"]["suppliers"]["totalCount"], 0, "{body}");
    }
    let body = anonymous.graphql(registered, json!({})).await;
    assert_eq!(body["data"]["suppliers"]["totalCount"], 0, "{body}");

    // Anything else is refused before it runs, APQ registration included.
    let adhoc = "{ products { totalCount } }";
    let body = anonymous.graphql(adhoc, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "TRUSTED_DOCUMENT_REQUIRED",
        "{body}"
    );
    let body = persisted(&anonymous, Some(adhoc), &sha256(adhoc)).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "TRUSTED_DOCUMENT_REQUIRED"
    );
    let body = persisted(&anonymous, None, &sha256(adhoc)).await;
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    // Admins may still explore when GRAPHQL_ADMIN_ADHOC allows.
    let body = app.graphql(adhoc, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");

    // A registered id keeps its body.
    let changed = iris::domain::platform::trusted_documents::parse_manifest(
        &json!({ "relay-count-1": "{ products { totalCount } }" }).to_string(),
    )
    .unwrap();
    let refused = app.state.services.documents.push(&changed, None).await;
    assert!(matches!(refused, Err(iris::error::AppError::Conflict(_))));
}

#[tokio::test]
async fn a_stalled_redis_leaves_the_api_serving_limits_counted_and_subscribers_told() {
    let Some(redis_url) = service_url("IRIS_TEST_REDIS_URL") else {
        return;
    };
    let proxy = TcpProxy::start(TcpProxy::target_of(&redis_url)).await;
    let backend = Backend::fresh().await;
    let proxied = proxy.through(&redis_url);
    let app = TestApp::spawn_on(
        &backend,
        &[("REDIS_URL", proxied.as_str()), ("API_RATE_LIMIT", "40")],
    )
    .await;
    let supplier = create_supplier(&app, 920, "Stalled AB", "Luleå").await;
    let id = supplier["id"].as_str().unwrap().to_owned();
    let mut ws = subscribe_supplier_changes(&app, "graphql-transport-ws").await;
    update_until_event(&app, &id, &mut ws).await;

    proxy.set(ProxyMode::Paused);
    // A change while Redis is stalled: committed, and the subscriber is told it may have
    // missed events, then the subscription completes.
    let body = app
        .graphql(
            "mutation($input: UpdateSupplierInput!) { updateSupplier(input: $input) { supplier { name } } }",
            json!({ "input": { "id": id, "name": "During the outage" } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateSupplier"]["supplier"]["name"], "During the outage",
        "{body}"
    );
    let told = loop {
        let message = ws_json(&mut ws).await;
        if message["type"] == "next" && message["payload"]["errors"].is_array() {
            break message;
        }
        assert_eq!(message["type"], "next", "{message}");
    };
    let error = &told["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{told}");
    assert!(error["message"].as_str().unwrap().contains("resubscribe"));
    assert_eq!(ws_json(&mut ws).await["type"], "complete");

    // Serving goes on: ready (Redis degraded), reads answer, limits are counted in process.
    let ready = wait_for_redis(&app, "degraded").await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(app.get("/readyz?strict=1").await.status(), 503);
    let anonymous = app.anonymous();
    let mut limited = false;
    for _ in 0..45 {
        let response = anonymous.get("/api/v1/suppliers").await;
        match response.status().as_u16() {
            200 => {}
            429 => {
                limited = true;
                break;
            }
            other => panic!("unexpected status {other} during the Redis outage"),
        }
    }
    assert!(
        limited,
        "the API limit (40) still holds while Redis is down"
    );

    // Recovery: Redis answers, a new subscription sees new events.
    proxy.set(ProxyMode::Open);
    wait_for_redis(&app, "ok").await;
    let mut ws = subscribe_supplier_changes(&app, "graphql-transport-ws").await;
    let event = update_until_event(&app, &id, &mut ws).await;
    assert_eq!(
        event["payload"]["data"]["supplierChanged"]["kind"],
        "UPDATED"
    );
}

#[tokio::test]
async fn a_cut_postgres_is_a_retryable_503_and_recovery_needs_no_restart() {
    let Some(admin_url) = service_url("IRIS_TEST_DATABASE_URL") else {
        return;
    };
    let backend = Backend::fresh().await;
    let proxy = TcpProxy::start(TcpProxy::target_of(&admin_url)).await;
    let proxied = proxy.through(&backend.database_url);
    let app = TestApp::spawn_on(
        &backend,
        &[
            ("DATABASE_URL", proxied.as_str()),
            ("DATABASE_ACQUIRE_TIMEOUT_SECS", "2"),
        ],
    )
    .await;
    create_supplier(&app, 930, "Cut AB", "Kiruna").await;

    proxy.set(ProxyMode::Cut);
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ suppliers { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{body}"
    );
    let body = app
        .graphql(
            "mutation($input: CreateSupplierInput!) { createSupplier(input: $input) { supplier { id } } }",
            json!({ "input": crate::helpers::supplier_input(931, "Not Now AB", "Kiruna") }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{body}"
    );
    let response = app.get("/api/v1/suppliers").await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "ServiceUnavailableError", "{body}");
    assert_eq!(app.get("/readyz").await.status(), 503);

    proxy.set(ProxyMode::Open);
    let mut recovered = Value::Null;
    for _ in 0..40 {
        recovered = app.graphql("{ suppliers { totalCount } }", json!({})).await;
        if recovered["data"]["suppliers"]["totalCount"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        recovered["data"]["suppliers"]["totalCount"], 1,
        "{recovered}"
    );
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn every_websocket_subscription_spends_the_api_budget() {
    let (app, _backend) = TestApp::spawn_with(&[("API_RATE_LIMIT", "6")]).await;
    let mut ws = crate::helpers::ws_connect(&app, "graphql-transport-ws").await;
    crate::helpers::ws_send(&mut ws, crate::helpers::connection_init(&app)).await;
    assert_eq!(ws_json(&mut ws).await["type"], "connection_ack");
    for id in 1..=8 {
        crate::helpers::ws_send(
            &mut ws,
            json!({
                "id": id.to_string(),
                "type": "subscribe",
                "payload": { "query": "subscription { supplierChanged { kind } }" }
            }),
        )
        .await;
    }
    let refused = ws_json(&mut ws).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );
}
