//! GraphQL over HTTP: queries, mutations, errors, pagination, limits, transport rules.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::helpers::{CREATE_SUPPLIER, TestApp, create_supplier, supplier_input};

fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn supplier_lifecycle_through_queries_and_mutations() {
    let (app, _backend) = TestApp::spawn().await;

    let created = create_supplier(&app, 1, "Nordhav Fisk AB", "Göteborg").await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["city"], "Göteborg");
    assert_eq!(created["currency"], "SEK");
    assert_eq!(
        created["minimumOrderValue"],
        json!({ "amount": "500", "currency": "SEK" })
    );
    assert_eq!(created["deliveryDays"], json!(["MONDAY", "THURSDAY"]));
    assert_eq!(created["active"], true);

    let body = app
        .graphql(
            "query($id: ID!) { supplier(id: $id) { name contactEmail organisationNumber } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(body["data"]["supplier"]["name"], "Nordhav Fisk AB");

    let body = app
        .graphql(
            r#"mutation($input: UpdateSupplierInput!) {
                 updateSupplier(input: $input) { supplier { name city active minimumOrderValue { amount } deliveryDays } }
               }"#,
            json!({ "input": { "id": id, "city": "Malmö", "active": false,
                               "minimumOrderValue": "1250.505", "deliveryDays": ["FRIDAY", "MONDAY"] } }),
        )
        .await;
    let updated = &body["data"]["updateSupplier"]["supplier"];
    assert_eq!(
        updated["name"], "Nordhav Fisk AB",
        "untouched fields stay: {body}"
    );
    assert_eq!(updated["city"], "Malmö");
    assert_eq!(updated["active"], false);
    assert_eq!(updated["minimumOrderValue"]["amount"], "1250.505");
    assert_eq!(updated["deliveryDays"], json!(["MONDAY", "FRIDAY"]));

    let body = app
        .graphql(
            "mutation($id: ID!) { deleteSupplier(input: { id: $id }) { deletedSupplierId deletedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        body["data"]["deleteSupplier"]["deletedSupplierId"],
        id.as_str()
    );

    let body = app
        .graphql(
            "query($id: ID!) { supplier(id: $id) { name } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let ext = &body["errors"][0]["extensions"];
    assert_eq!(ext["status"], 404);
    assert!(
        ext["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{ext}"
    );
    assert!(
        ext["requestId"].as_str().is_some_and(|r| !r.is_empty()),
        "{ext}"
    );
    let body = app.graphql("{ suppliers { totalCount } }", json!({})).await;
    assert_eq!(
        body["data"]["suppliers"]["totalCount"], 0,
        "deleted suppliers are hidden"
    );

    // A deleted supplier's organisation number can be registered again.
    let again = app
        .graphql(
            CREATE_SUPPLIER,
            json!({ "input": supplier_input(1, "Nordhav II", "Göteborg") }),
        )
        .await;
    assert!(again.get("errors").is_none(), "{again}");
}

#[tokio::test]
async fn invalid_input_names_every_field_and_writes_nothing() {
    let (app, _backend) = TestApp::spawn().await;
    let mut input = supplier_input(2, "  ", "Lund");
    input["contactEmail"] = json!("not-an-email");
    input["organisationNumber"] = json!("556703-7484");
    input["minimumOrderValue"] = json!("0.0001");
    input["deliveryDays"] = json!([]);
    input["currency"] = json!("XYZ");
    let body = app
        .graphql(CREATE_SUPPLIER, json!({ "input": input }))
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["status"], 422);
    let fields: Vec<&str> = body["errors"][0]["extensions"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        fields,
        [
            "name",
            "organisationNumber",
            "contactEmail",
            "currency",
            "minimumOrderValue",
            "deliveryDays"
        ]
    );
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("contactEmail: must be a valid e-mail address"),
        "{message}"
    );
    let body = app.graphql("{ suppliers { totalCount } }", json!({})).await;
    assert_eq!(body["data"]["suppliers"]["totalCount"], 0);

    // A right-to-left override would show "Grönt AB" as something else in every list.
    let input = supplier_input(3, "Grönt \u{202E}BA", "Lund");
    let body = app
        .graphql(CREATE_SUPPLIER, json!({ "input": input }))
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["fields"][0]["field"],
        "name"
    );
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("U+202E"), "{message}");

    // Fractional amounts as JSON floats are refused: they are inexact.
    let mut input = supplier_input(4, "Float AB", "Lund");
    input["minimumOrderValue"] = json!(0.1);
    let body = app
        .graphql(CREATE_SUPPLIER, json!({ "input": input }))
        .await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("send fractional amounts as strings"),
        "{body}"
    );
    assert!(
        error_code(&body).starts_with("GRAPHQL_VALIDATION_FAILED")
            || error_code(&body) == "VALIDATION",
        "{body}"
    );

    let body = app
        .graphql("query { supplier(id: \"nope\") { name } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    assert_eq!(body["errors"][0]["message"], "id: must be a UUID");
}

#[tokio::test]
async fn a_taken_organisation_number_is_a_conflict() {
    let (app, _backend) = TestApp::spawn().await;
    create_supplier(&app, 3, "First AB", "Umeå").await;
    let body = app
        .graphql(
            CREATE_SUPPLIER,
            json!({ "input": supplier_input(3, "Second AB", "Luleå") }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["status"], 409);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("organisationNumber:")
    );
}

#[tokio::test]
async fn suppliers_filter_sort_and_page_as_relay_connections() {
    let (app, _backend) = TestApp::spawn().await;
    let names = ["Delta", "alfa", "Charlie", "Bravo", "Echo"];
    for (i, name) in names.iter().enumerate() {
        let city = if i % 2 == 0 { "Malmö" } else { "Umeå" };
        create_supplier(&app, 10 + i as u32, name, city).await;
    }
    const PAGE: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $filter: SupplierFilter, $sort: SupplierSort) {
        suppliers(first: $first, after: $after, last: $last, before: $before, filter: $filter, sort: $sort) {
          totalCount
          edges { cursor node { name city } }
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        } }"#;
    let names_of = |body: &Value| -> Vec<String> {
        body["data"]["suppliers"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("edges: {body}"))
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };

    let first = app.graphql(PAGE, json!({ "first": 2 })).await;
    assert_eq!(
        names_of(&first),
        ["alfa", "Bravo"],
        "case-insensitive name order"
    );
    let conn = &first["data"]["suppliers"];
    assert_eq!(conn["totalCount"], 5);
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    assert_eq!(conn["pageInfo"]["hasPreviousPage"], false);

    let after = conn["pageInfo"]["endCursor"].clone();
    let second = app
        .graphql(PAGE, json!({ "first": 2, "after": after }))
        .await;
    assert_eq!(names_of(&second), ["Charlie", "Delta"]);
    assert_eq!(
        second["data"]["suppliers"]["pageInfo"]["hasPreviousPage"],
        true
    );

    let last = app.graphql(PAGE, json!({ "last": 2 })).await;
    assert_eq!(names_of(&last), ["Delta", "Echo"]);
    let before = last["data"]["suppliers"]["pageInfo"]["startCursor"].clone();
    let prev = app
        .graphql(PAGE, json!({ "last": 2, "before": before }))
        .await;
    assert_eq!(names_of(&prev), ["Bravo", "Charlie"]);

    let desc = app
        .graphql(
            PAGE,
            json!({ "first": 10, "sort": { "field": "NAME", "direction": "DESC" } }),
        )
        .await;
    assert_eq!(
        names_of(&desc),
        ["Echo", "Delta", "Charlie", "Bravo", "alfa"]
    );

    let malmo = app
        .graphql(PAGE, json!({ "first": 10, "filter": { "city": "MALMÖ" } }))
        .await;
    assert_eq!(
        names_of(&malmo),
        ["Charlie", "Delta", "Echo"],
        "city filter folds case: {malmo}"
    );
    let named = app
        .graphql(
            PAGE,
            json!({ "first": 10, "filter": { "nameContains": "HARL" } }),
        )
        .await;
    assert_eq!(names_of(&named), ["Charlie"]);
    let wildcard = app
        .graphql(
            PAGE,
            json!({ "first": 10, "filter": { "nameContains": "%" } }),
        )
        .await;
    assert_eq!(
        names_of(&wildcard),
        Vec::<String>::new(),
        "% is not a wildcard"
    );

    let too_many = app.graphql(PAGE, json!({ "first": 101 })).await;
    assert_eq!(error_code(&too_many), "VALIDATION");
    assert_eq!(
        too_many["errors"][0]["message"],
        "first: must be between 0 and 100"
    );
    let forged = app
        .graphql(PAGE, json!({ "first": 1, "after": "b2Zmc2V0OjE" }))
        .await;
    assert_eq!(
        forged["errors"][0]["message"],
        "after: is not a cursor this API issued"
    );
}

#[tokio::test]
async fn depth_and_complexity_limits_reject_with_clear_errors() {
    let (app, _backend) =
        TestApp::spawn_with(&[("GRAPHQL_MAX_DEPTH", "4"), ("GRAPHQL_MAX_COST", "8")]).await;
    let deep = "{ suppliers { edges { node { minimumOrderValue { amount } } } } }";
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "application/graphql-response+json")
        .json(&json!({ "query": deep }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()[CONTENT_TYPE],
        "application/graphql-response+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["message"],
        "The document exceeds GRAPHQL_MAX_DEPTH: its selections nest 5, the maximum is 4."
    );
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    assert!(body.get("data").is_none() || body["data"].is_null());

    let wide =
        "{ suppliers { totalCount edges { cursor node { id name city currency active } } } }";
    let body = app.graphql(wide, json!({})).await;
    assert_eq!(
        body["errors"][0]["message"],
        "The document exceeds GRAPHQL_MAX_COST: it costs 180, the maximum is 8."
    );
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "GRAPHQL_MAX_COST");
    assert_eq!(body["errors"][0]["extensions"]["cost"], 180);

    let fine = app
        .graphql("{ suppliers(first: 5) { totalCount } }", json!({}))
        .await;
    assert_eq!(fine["data"]["suppliers"]["totalCount"], 0, "{fine}");
    assert_eq!(
        fine["extensions"]["cost"],
        json!({ "requested": 5, "maximum": 8 }),
        "{fine}"
    );
}

#[tokio::test]
async fn the_transport_follows_graphql_over_http() {
    let (app, _backend) = TestApp::spawn().await;
    create_supplier(&app, 20, "Get AB", "Kiruna").await;

    // GET runs queries…
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ suppliers { totalCount } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["suppliers"]["totalCount"], 1);

    // …but never mutations.
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { deleteSupplier(input: {id: \"00000000-0000-0000-0000-000000000000\"}) { deletedAt } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "METHOD_NOT_ALLOWED");

    // Subscriptions belong on the websocket.
    let body = app
        .graphql("subscription { supplierChanged { kind } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "BAD_REQUEST");
    assert_eq!(
        body["errors"][0]["message"],
        "Subscriptions are served over the websocket at /graphql/ws"
    );

    // Syntax errors are request errors.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "application/graphql-response+json")
        .json(&json!({ "query": "{ suppliers { " }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "GRAPHQL_PARSE_FAILED");
    // A request error has no `data` entry under application/graphql-response+json.
    assert!(body.get("data").is_none(), "no data entry: {body}");
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "application/graphql-response+json")
        .json(&json!({ "query": "{ nope }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    assert!(body.get("data").is_none(), "no data entry: {body}");

    // A body (or query string) naming no document is a 400 whatever the Accept header.
    for accept in ["application/graphql-response+json", "application/json"] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header(ACCEPT, accept)
            .json(&json!({ "variables": {} }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{accept}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "BAD_REQUEST", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("`query` is missing"),
            "{body}"
        );
        let response = app
            .client
            .get(app.url("/graphql?variables=%7B%7D"))
            .header(ACCEPT, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "GET, {accept}");
    }

    // With application/json, a rejected document still answers 200.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "application/json")
        .json(&json!({ "query": "{ suppliers { " }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "GRAPHQL_PARSE_FAILED");
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "application/json")
        .json(&json!({ "query": "{ nope }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");

    let response = app
        .client
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "text/plain")
        .body("{ suppliers { totalCount } }")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNSUPPORTED_MEDIA_TYPE");

    let response = app
        .client
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_REQUEST");

    let response = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "text/csv")
        .json(&json!({ "query": "{ suppliers { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 406);
}

#[tokio::test]
async fn request_ids_are_echoed_and_stamped_on_errors() {
    let (app, _backend) = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", "trace-abc-123")
        .json(&json!({ "query": "{ supplier(id: \"01a2008a-719c-77aa-a377-5c9552040d1a\") { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-abc-123");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        "trace-abc-123"
    );

    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "bad id with spaces");
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "a fresh id replaces a malformed one"
    );
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary_and_switchable() {
    let (app, _backend) = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/graphql"))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("/graphiql/3.8.3/graphiql.min.js"));
    assert!(!html.contains("https://"), "no asset comes from a CDN");
    let asset = app.get("/graphiql/3.8.3/graphiql.min.js").await;
    assert_eq!(asset.status(), 200);
    assert_eq!(asset.headers()["content-encoding"], "gzip");
    let bytes = asset.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a gzip stream");
    // With introspection on, errors may suggest names.
    let body = app.graphql("{ suplliers { totalCount } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Did you mean"), "{message}");
    app.stop().await;

    let (app, _backend) =
        TestApp::spawn_with(&[("GRAPHIQL", "false"), ("GRAPHQL_INTROSPECTION", "false")]).await;
    let response = app
        .client
        .get(app.url("/graphql"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body = app
        .graphql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(
        body["data"]["__schema"].is_null(),
        "introspection is off: {body}"
    );
    // Nor do errors suggest the names it hides.
    let body = app.graphql("{ suplliers { totalCount } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{body}");
    assert!(!message.contains("Did you mean"), "{message}");
}

#[tokio::test]
async fn a_variable_the_request_leaves_out_is_absent_so_defaults_apply() {
    let (app, _backend) = TestApp::spawn().await;
    let created = create_supplier(&app, 3, "Utelämnad AB", "Umeå").await;
    let id = created["id"].as_str().expect("id").to_owned();
    // `first` defaults to 20: an omitted `$first` is no argument, not null (GraphQL's
    // CoerceArgumentValues); Apollo Client leaves unset optional variables out.
    let body = app
        .graphql(
            "query($first: Int, $unused: Boolean) { suppliers(first: $first) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["suppliers"]["totalCount"], 1, "{body}");
    // Inside an input object: an omitted variable leaves that field out (the city stays).
    let body = app
        .graphql(
            "mutation($id: ID!, $city: String) { updateSupplier(input: { id: $id, city: $city, name: \"Utelämnad Två AB\" }) { supplier { name city } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        body["data"]["updateSupplier"]["supplier"],
        json!({ "name": "Utelämnad Två AB", "city": "Umeå" }),
        "{body}"
    );
    // Several operations (GraphiQL sends its whole editor with `operationName`), and a
    // variable used through a fragment: the same rule, per operation.
    let body: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({
            "query": "query A($first: Int) { ...Count } query B($id: ID!) { supplier(id: $id) { name } } fragment Count on Query { suppliers(first: $first) { totalCount } }",
            "operationName": "A",
            "variables": {},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["suppliers"]["totalCount"], 1, "{body}");
    // A required variable left out is the client's error, not the server's.
    let body = app
        .graphql("query($id: ID!) { supplier(id: $id) { name } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
}
