//! The REST shim: resources, pagination shape, and the envelope on every error.

use reqwest::{
    Method, StatusCode,
    header::{CONTENT_TYPE, LOCATION},
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, supplier_input};

async fn create(app: &TestApp, seed: u32, name: &str, city: &str) -> Value {
    let response = app
        .client
        .post(app.url("/api/v1/suppliers"))
        .json(&supplier_input(seed, name, city))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/suppliers/{}", body["data"]["id"].as_str().unwrap())
    );
    body["data"].clone()
}

/// Checks the envelope and returns its message.
async fn envelope(response: reqwest::Response, status: u16, error: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(
        chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok(),
        "{body}"
    );
    body
}

#[tokio::test]
async fn suppliers_list_get_create_update_delete() {
    let (app, _backend) = TestApp::spawn().await;
    let a = create(&app, 100, "Alfa Grossist", "Lund").await;
    create(&app, 101, "Bravo Grossist", "Luleå").await;
    create(&app, 102, "Charlie Grossist", "Lund").await;
    assert_eq!(
        a["minimumOrderValue"],
        json!({ "amount": "500", "currency": "SEK" })
    );
    assert_eq!(a["organisationNumber"].as_str().unwrap().len(), 11);

    let page: Value = app
        .get_json("/api/v1/suppliers?limit=2&offset=1&sort=-name")
        .await;
    assert_eq!(
        page["pagination"],
        json!({ "limit": 2, "offset": 1, "total": 3 })
    );
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bravo Grossist", "Alfa Grossist"]);

    let lund: Value = app
        .get_json("/api/v1/suppliers?city=lund&name=grossist")
        .await;
    assert_eq!(lund["pagination"]["total"], 2);

    let id = a["id"].as_str().unwrap();
    let got: Value = app.get_json(&format!("/api/v1/suppliers/{id}")).await;
    assert_eq!(got["data"], a);

    let response = app
        .client
        .patch(app.url(&format!("/api/v1/suppliers/{id}")))
        .json(&json!({ "minimumOrderValue": "99.125", "active": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["data"]["minimumOrderValue"]["amount"], "99.125");
    assert_eq!(updated["data"]["active"], false);
    assert_eq!(updated["data"]["name"], "Alfa Grossist");

    let inactive: Value = app.get_json("/api/v1/suppliers?active=false").await;
    assert_eq!(inactive["pagination"]["total"], 1);

    let response = app
        .client
        .delete(app.url(&format!("/api/v1/suppliers/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.get(&format!("/api/v1/suppliers/{id}")).await;
    let body = envelope(response, 404, "NotFoundError").await;
    assert_eq!(body["message"], format!("Supplier {id} not found"));
}

#[tokio::test]
async fn every_error_is_an_envelope() {
    let (app, _backend) = TestApp::spawn().await;
    let url = app.url("/api/v1/suppliers");

    // 404: unknown route, and unknown top-level path.
    let body = envelope(app.get("/api/v1/nothing-here").await, 404, "NotFoundError").await;
    assert_eq!(body["message"], "Route /api/v1/nothing-here not found");
    envelope(app.get("/nothing").await, 404, "NotFoundError").await;

    // 405: wrong method on a known route.
    let response = app.client.request(Method::PUT, &url).send().await.unwrap();
    assert!(response.headers().contains_key("allow"));
    envelope(response, 405, "MethodNotAllowedError").await;

    // 400: malformed JSON.
    let response = app
        .client
        .post(&url)
        .header(CONTENT_TYPE, "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    envelope(response, 400, "BadRequestError").await;

    // 422: well-formed JSON of the wrong shape names the field.
    let response = app
        .client
        .post(&url)
        .json(&json!({ "name": 42 }))
        .send()
        .await
        .unwrap();
    let body = envelope(response, 422, "ValidationError").await;
    assert_eq!(body["fields"][0]["field"], "name", "{body}");

    // 422: domain rules.
    let mut input = supplier_input(200, "Bad Mail AB", "Visby");
    input["contactEmail"] = json!("nope");
    let response = app.client.post(&url).json(&input).send().await.unwrap();
    let body = envelope(response, 422, "ValidationError").await;
    assert_eq!(
        body["message"],
        "contactEmail: must be a valid e-mail address"
    );

    // 422: a fractional amount as a JSON float is inexact and refused.
    let mut input = supplier_input(202, "Float AB", "Visby");
    input["minimumOrderValue"] = json!(12345678901234.567);
    let response = app.client.post(&url).json(&input).send().await.unwrap();
    let body = envelope(response, 422, "ValidationError").await;
    assert_eq!(body["fields"][0]["field"], "minimumOrderValue", "{body}");

    // 415: not JSON.
    let response = app
        .client
        .post(&url)
        .header(CONTENT_TYPE, "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    envelope(response, 415, "UnsupportedMediaTypeError").await;

    // 409: duplicate organisation number.
    create(&app, 201, "Unique AB", "Visby").await;
    let response = app
        .client
        .post(&url)
        .json(&supplier_input(201, "Copy AB", "Visby"))
        .send()
        .await
        .unwrap();
    envelope(response, 409, "ConflictError").await;

    // 400: bad query parameter and bad path parameter; 422 for an out-of-range page size.
    envelope(
        app.get("/api/v1/suppliers?limit=many").await,
        400,
        "BadRequestError",
    )
    .await;
    let body = envelope(
        app.get("/api/v1/suppliers?limit=500").await,
        422,
        "ValidationError",
    )
    .await;
    assert_eq!(body["message"], "limit: must be between 1 and 100");
    let body = envelope(
        app.get("/api/v1/suppliers?offset=9223372036854775808")
            .await,
        422,
        "ValidationError",
    )
    .await;
    assert_eq!(body["fields"][0]["field"], "offset");
    let body = envelope(
        app.get("/api/v1/suppliers?sort=price").await,
        422,
        "ValidationError",
    )
    .await;
    assert_eq!(body["fields"][0]["field"], "sort");
    envelope(
        app.get("/api/v1/suppliers/not-a-uuid").await,
        400,
        "BadRequestError",
    )
    .await;

    // 413: body over MAX_BODY_BYTES (1 MiB by default).
    let big = json!({ "name": "x".repeat(2 * 1024 * 1024) });
    let response = app.client.post(&url).json(&big).send().await.unwrap();
    envelope(response, 413, "PayloadTooLargeError").await;
}

#[tokio::test]
async fn openapi_and_docs_are_served_offline() {
    let (app, _backend) = TestApp::spawn().await;
    let spec: Value = app.get_json("/openapi.json").await;
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        spec["openapi"]
    );
    for path in [
        "/api/v1/suppliers",
        "/api/v1/suppliers/{id}",
        "/api/v1/products",
        "/api/v1/restaurants",
        "/api/v1/carts/{restaurantId}/checkout",
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/api/v1/orders/{id}/confirm",
        "/api/v1/orders/{id}/cancel",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} documented");
    }
    assert!(spec["components"]["schemas"].get("ErrorEnvelope").is_some());

    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "Swagger UI page");
    assert!(
        !html.contains("unpkg.com") && !html.contains("cdn."),
        "no CDN assets"
    );
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), 200, "vendored Swagger UI assets");
    // The validator badge would send the spec's address to validator.swagger.io.
    let initializer = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status(), 200);
    let initializer = initializer.text().await.unwrap();
    assert!(
        initializer.contains(r#""validatorUrl": "none""#),
        "validator off: {initializer}"
    );
}

/// The document says what every operation can answer, who may call it, and the real bounds
/// of its inputs; the server agrees (schemathesis checks it at scale in `.ci/run`).
#[tokio::test]
async fn openapi_documents_security_errors_and_bounds_the_server_keeps() {
    let (app, _backend) = TestApp::spawn().await;
    let spec: Value = app.get_json("/openapi.json").await;
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().unwrap();
            for status in ["401", "429", "503"] {
                assert!(responses.contains_key(status), "{name} documents {status}");
                assert_eq!(
                    responses[status]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorEnvelope",
                    "{name} {status}"
                );
            }
            let security = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: security"));
            let public = security.iter().any(|s| s.as_object().unwrap().is_empty());
            if !public {
                assert!(responses.contains_key("403"), "{name} documents 403");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{name} documents {status}");
                }
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{name} documents 404");
            }
            checked += 1;
        }
    }
    assert!(checked >= 29, "{checked} operations");
    // Public reads say so; writes need a token.
    let security = |path: &str, method: &str| spec["paths"][path][method]["security"].clone();
    assert_eq!(
        security("/api/v1/suppliers", "get"),
        json!([{}, { "bearer": [] }])
    );
    assert_eq!(
        security("/api/v1/suppliers", "post"),
        json!([{ "bearer": [] }])
    );
    // Local sign-in here: registration happens at an identity provider, so it is not listed.
    assert!(spec["paths"].get("/api/v1/auth/register").is_none());
    assert_eq!(
        app.anonymous()
            .client
            .post(app.url("/api/v1/auth/register"))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Bounds as the server keeps them.
    let param = |path: &str, name: &str| {
        spec["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["schema"]
            .clone()
    };
    let limit = param("/api/v1/orders", "limit");
    assert_eq!(
        (limit["minimum"].clone(), limit["maximum"].clone()),
        (json!(1), json!(100))
    );
    assert_eq!(param("/api/v1/orders", "cursor")["format"], "uuid");
    let name = &spec["components"]["schemas"]["CreateSupplierRequest"]["properties"]["name"];
    assert_eq!(name["maxLength"], 200);
    let pattern = shaped_by_a_rule(name["pattern"].as_str().unwrap());
    assert!(pattern, "the name rule is a pattern");

    // Authentication before validation: no token is 401 however bad the parameters.
    let anonymous = app.anonymous();
    for path in [
        "/api/v1/orders?limit=0",
        "/api/v1/orders?status=NOPE&cursor=x",
    ] {
        assert_eq!(anonymous.get(path).await.status(), 401, "{path}");
    }
    let response = anonymous
        .client
        .post(app.url("/api/v1/suppliers"))
        .header("content-type", "text/plain")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "401 before 415");
}

/// A documented pattern is one the server's rule shaped (anchored, with the control range).
fn shaped_by_a_rule(pattern: &str) -> bool {
    pattern.starts_with('^') && pattern.ends_with('$') && pattern.contains("\\u0000-\\u001F")
}
