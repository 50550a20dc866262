//! Operator surfaces: health, readiness, metrics.

use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn healthz_and_readyz_answer_while_dependencies_do() {
    let (app, backend) = TestApp::spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "ok");
    if backend.redis_url.is_some() {
        assert_eq!(body["checks"]["redis"], "ok");
    }

    backend.destroy_database(&app).await;

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["failing"], json!(["database"]), "{body}");
    assert_eq!(body["checks"]["database"], "unavailable");
    // The process itself is still alive.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics
        .lines()
        .filter(|line| line.starts_with(name) && !line.starts_with('#'))
        .find(|line| {
            let rest = &line[name.len()..];
            rest.starts_with('{')
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_errors_and_latency_with_bounded_labels() {
    let (app, _backend) = TestApp::spawn().await;
    for _ in 0..3 {
        app.client
            .post(app.url("/graphql"))
            .json(&json!({ "query": "query ListSuppliers { suppliers { totalCount } }", "operationName": "ListSuppliers" }))
            .send()
            .await
            .unwrap();
    }
    app.graphql("query Broken { supplier(id: \"x\") { name } }", json!({}))
        .await;
    let id = uuid::Uuid::new_v4();
    app.get(&format!("/api/v1/suppliers/{id}")).await;
    app.get("/api/v1/suppliers").await;
    app.get(&format!("/no/such/{id}")).await;

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();

    for name in [
        "iris_api_requests_total",
        "iris_api_errors_total",
        "iris_api_latency_seconds",
    ] {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has help text"
        );
    }
    let gql_ok = [
        ("surface", "graphql"),
        ("operation", "ListSuppliers"),
        ("method", "POST"),
        ("status_class", "2xx"),
    ];
    assert_eq!(sample(&text, "iris_api_requests_total", &gql_ok), Some(3.0));
    assert_eq!(
        sample(&text, "iris_api_latency_seconds_count", &gql_ok),
        Some(3.0)
    );
    assert_eq!(sample(&text, "iris_api_errors_total", &gql_ok), None);

    // A GraphQL error on HTTP 200 counts as an error of its class.
    let gql_err = [
        ("surface", "graphql"),
        ("operation", "Broken"),
        ("status_class", "4xx"),
    ];
    assert_eq!(sample(&text, "iris_api_errors_total", &gql_err), Some(1.0));

    // REST is labelled by route template, never by raw path or id.
    let rest_404 = [
        ("surface", "rest"),
        ("operation", "/api/v1/suppliers/{id}"),
        ("status_class", "4xx"),
    ];
    assert_eq!(sample(&text, "iris_api_errors_total", &rest_404), Some(1.0));
    let rest_ok = [
        ("surface", "rest"),
        ("operation", "/api/v1/suppliers"),
        ("method", "GET"),
        ("status_class", "2xx"),
    ];
    assert_eq!(
        sample(&text, "iris_api_requests_total", &rest_ok),
        Some(1.0)
    );
    let unmatched = [
        ("surface", "ops"),
        ("operation", "unmatched"),
        ("status_class", "4xx"),
    ];
    assert_eq!(
        sample(&text, "iris_api_requests_total", &unmatched),
        Some(1.0)
    );
    assert!(
        !text.contains(&id.to_string()),
        "ids never become label values"
    );
}

/// With `METRICS_TOKEN` (required in production), `/metrics` answers only its bearer.
#[tokio::test]
async fn metrics_need_the_metrics_token_when_one_is_set() {
    let token = "scrape-0123456789abcdef";
    let (app, _backend) = TestApp::spawn_with(&[("METRICS_TOKEN", token)]).await;
    let anonymous = app.get("/metrics").await;
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("METRICS_TOKEN"),
        "{body}"
    );
    for wrong in ["Bearer scrape-0123456789abcdeX", "Basic c2NyYXBl", token] {
        let response = app
            .client
            .get(app.url("/metrics"))
            .header("authorization", wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{wrong}");
    }
    let response = app
        .client
        .get(app.url("/metrics"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("iris_api_requests_total")
    );
}
