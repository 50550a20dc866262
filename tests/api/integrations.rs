//! Supplier connectors against a fake wholesaler portal served locally: consent, sign-in
//! (CONNECTOR_AUTH_FAILED), the sealed session and nothing else stored, catalog sync and its
//! normalization, expiry, disconnect, cart prefill with its deep link, invoice pull into
//! invoicing, the DOM watcher, the browser driver (Chromium), and the access rules.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::{
    helpers::{Api, Backend},
    invoices::{order_with_b, settled, ubl},
    multi_process::Process,
    notifications::notifications,
    orders::{Market, error, fields, market, ok},
    orders_live::{message, subscribe},
    portal::{FakePortal, PASSWORD, USERNAME, articles},
    webhooks::DELIVERING,
};

const CONSENT: &str = "{ supplierConsent { version text } }";
const CONNECT: &str = "mutation($input: ConnectSupplierInput!) { connectSupplier(input: $input) { connection { id status scopes sessionExpiresAt consentVersion lastError } } }";
const STATUS: &str = "query($r: ID!, $k: String!) { supplierConnection(restaurantId: $r, supplierKey: $k) { status sessionExpiresAt lastSyncStatus lastError catalogItems runs(limit: 5) { kind status error } } }";
const SYNC: &str = "mutation($input: SupplierConnectionInput!) { syncSupplier(input: $input) { run { id status } } }";
const RUN: &str =
    "query($id: ID!) { connectorRun(id: $id) { id kind status items detail error deepLink } }";
const CATALOG: &str = "query($r: ID!, $k: String!, $s: String) { supplierConnection(restaurantId: $r, supplierKey: $k) { catalog(search: $s, first: 50) { totalCount edges { node { externalId name price { amount currency } unit pack packQuantity packUnit stock inStock gtin productId } } } } }";
const PREFILL: &str = "mutation($input: PrefillSupplierCartInput!) { prefillSupplierCart(input: $input) { deepLink lines skippedSkus run { kind status } } }";
const DISCONNECT: &str = "mutation($input: SupplierConnectionInput!) { disconnectSupplier(input: $input) { connection { status sessionExpiresAt catalogItems } } }";
const LINK: &str = "mutation($input: LinkConnectorSupplierInput!) { linkConnectorSupplier(input: $input) { connector { key supplierId } } }";
const CONNECTORS: &str =
    "{ connectors { key name driver allowed degraded missingSelectors checkedAt } }";
const RUN_JOB: &str =
    "mutation($name: String!) { runJob(name: $name) { run { status stats error } } }";

/// A market whose connectors point at a fresh fake portal (`n` articles, `per_page` a page).
async fn world(n: usize, per_page: usize) -> (Market, FakePortal) {
    world_with(n, per_page, &[]).await
}

async fn world_with(n: usize, per_page: usize, extra: &[(&str, &str)]) -> (Market, FakePortal) {
    let portal = FakePortal::start(articles(n), per_page).await;
    let dir = portal.config_dir();
    let mut settings = vec![("CONNECTOR_CONFIG_DIR", dir.to_str().unwrap())];
    settings.extend_from_slice(extra);
    let m = market(&settings).await;
    (m, portal)
}

async fn consent_version(api: &Api) -> String {
    let consent = ok(api.graphql(CONSENT, json!({})).await)["supplierConsent"].clone();
    assert!(
        consent["text"]
            .as_str()
            .unwrap()
            .contains("never stores them")
    );
    consent["version"].as_str().unwrap().to_owned()
}

fn connect_input(m: &Market, key: &str, password: &str, version: &str) -> Value {
    json!({
        "restaurantId": m.restaurant,
        "supplierKey": key,
        "username": USERNAME,
        "password": password,
        "consent": { "accepted": true, "version": version },
        "scopes": ["CATALOG", "PRICES", "ORDERS"],
    })
}

async fn connect(m: &Market, key: &str) -> Value {
    let version = consent_version(&m.chef).await;
    let body = m
        .chef
        .graphql(
            CONNECT,
            json!({ "input": connect_input(m, key, PASSWORD, &version) }),
        )
        .await;
    ok(body)["connectSupplier"]["connection"].clone()
}

/// Starts a sync and waits for its run to finish.
async fn sync(m: &Market, key: &str) -> Value {
    let body = m
        .chef
        .graphql(
            SYNC,
            json!({ "input": { "restaurantId": m.restaurant, "supplierKey": key } }),
        )
        .await;
    let run = ok(body)["syncSupplier"]["run"].clone();
    assert_eq!(run["status"], "RUNNING");
    finished(&m.chef, run["id"].as_str().unwrap()).await
}

async fn finished(api: &Api, run: &str) -> Value {
    let mut last = Value::Null;
    // Generous: a browser-driven run on a loaded CI machine is slow to start.
    for _ in 0..2400 {
        last = ok(api.graphql(RUN, json!({ "id": run })).await)["connectorRun"].clone();
        if last["status"] != "RUNNING" {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the connector run did not finish within 120 s: {last}");
}

async fn status(m: &Market, key: &str) -> Value {
    ok(m.chef
        .graphql(STATUS, json!({ "r": m.restaurant, "k": key }))
        .await)["supplierConnection"]
        .clone()
}

async fn catalog(m: &Market, key: &str, search: Option<&str>) -> Value {
    ok(m.chef
        .graphql(CATALOG, json!({ "r": m.restaurant, "k": key, "s": search }))
        .await)["supplierConnection"]["catalog"]
        .clone()
}

async fn link(m: &Market, key: &str, supplier: Option<&str>) {
    let body = m
        .admin
        .graphql(
            LINK,
            json!({ "input": { "supplierKey": key, "supplierId": supplier } }),
        )
        .await;
    assert_eq!(
        ok(body)["linkConnectorSupplier"]["connector"]["supplierId"],
        json!(supplier)
    );
}

async fn metrics(api: &Api) -> String {
    api.get("/metrics").await.text().await.unwrap()
}

#[tokio::test]
async fn connecting_takes_the_current_consent_and_the_right_credentials() {
    let (m, portal) = world(5, 10).await;
    let version = consent_version(&m.chef).await;

    // No consent, an outdated one, no scopes: nothing is sent to the portal.
    let mut input = connect_input(&m, "martin_servera", PASSWORD, "2020-01-01");
    input["consent"]["accepted"] = json!(false);
    input["scopes"] = json!([]);
    let body = m.chef.graphql(CONNECT, json!({ "input": input })).await;
    assert_eq!(error(&body).0, "VALIDATION");
    assert_eq!(
        fields(&body),
        ["consent.accepted", "consent.version", "scopes"]
    );
    assert_eq!(portal.state.lock().unwrap().requests, 0);

    // Wrong credentials: CONNECTOR_AUTH_FAILED, the connection FAILED, nothing held.
    let body = m
        .chef
        .graphql(
            CONNECT,
            json!({ "input": connect_input(&m, "martin_servera", "wrong", &version) }),
        )
        .await;
    let (code, e) = error(&body);
    assert_eq!(code, "CONNECTOR_AUTH_FAILED", "{body}");
    assert_eq!(e["extensions"]["status"], 422);
    assert!(e["message"].as_str().unwrap().contains("Martin & Servera"));
    let failed = status(&m, "martin_servera").await;
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["sessionExpiresAt"], Value::Null);

    // The right ones: ACTIVE, a session for at most 24 hours.
    let connection = connect(&m, "martin_servera").await;
    assert_eq!(connection["status"], "ACTIVE");
    assert_eq!(connection["scopes"], json!(["CATALOG", "PRICES", "ORDERS"]));
    assert_eq!(connection["consentVersion"], version.as_str());
    let expires: chrono::DateTime<chrono::Utc> = connection["sessionExpiresAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(expires <= chrono::Utc::now() + chrono::Duration::hours(24));
    assert!(expires > chrono::Utc::now());

    // REST: the same rules, the Iris envelope.
    let rest = m
        .chef
        .send(
            reqwest::Method::POST,
            "/api/v1/integrations/martin_servera/connect",
            Some(json!({
                "restaurantId": m.restaurant,
                "username": USERNAME,
                "password": "also wrong",
                "consent": { "accepted": true, "version": version },
                "scopes": ["CATALOG"],
            })),
        )
        .await;
    assert_eq!(rest.0, 422);
    let envelope = rest.1;
    assert_eq!(envelope["error"], "ConnectorAuthFailedError");
    let rest = m
        .chef
        .get_json(&format!(
            "/api/v1/integrations/martin_servera/status?restaurantId={}",
            m.restaurant
        ))
        .await;
    // A refused attempt does not end the working connection.
    assert_eq!(rest["data"]["status"], "ACTIVE");
    assert_eq!(
        rest["data"]["scopes"],
        json!(["CATALOG", "PRICES", "ORDERS"])
    );

    // Who may: the restaurant's members and admins; not another restaurant, not a supplier.
    let input = connect_input(&m, "martin_servera", PASSWORD, &version);
    for (api, code) in [
        (&m.other_chef, "FORBIDDEN"),
        (&m.seller, "FORBIDDEN"),
        (&m.chef.anonymous(), "UNAUTHENTICATED"),
    ] {
        let body = api.graphql(CONNECT, json!({ "input": input })).await;
        assert_eq!(error(&body).0, code, "{body}");
    }
    let mut unknown = input.clone();
    unknown["supplierKey"] = json!("nobody");
    assert_eq!(
        error(&m.chef.graphql(CONNECT, json!({ "input": unknown })).await).0,
        "NOT_FOUND"
    );
    let body = m.admin.graphql(CONNECT, json!({ "input": input })).await;
    assert_eq!(
        ok(body)["connectSupplier"]["connection"]["status"],
        "ACTIVE"
    );
    let body = m
        .other_chef
        .graphql(STATUS, json!({ "r": m.restaurant, "k": "martin_servera" }))
        .await;
    assert_eq!(error(&body).0, "FORBIDDEN");

    // Every attempt is audited, without a credential.
    let audit = ok(m
        .admin
        .graphql(
            "{ auditLog(first: 20, filter: {entity: \"supplier_connection\"}) { edges { node { action after } } } }",
            json!({}),
        )
        .await);
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "connector.connect_failed")
            .count(),
        2
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "connector.connect")
            .count(),
        2
    );
    assert!(!audit.to_string().contains(PASSWORD));
}

#[tokio::test]
async fn a_sync_mirrors_the_catalog_normalized_mapped_and_replaced_whole() {
    let (m, portal) = world(30, 7).await;
    link(&m, "martin_servera", Some(&m.supplier_b)).await;
    connect(&m, "martin_servera").await;

    let run = sync(&m, "martin_servera").await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["kind"], "SYNC");
    assert_eq!(run["items"], 30);
    assert_eq!(run["detail"]["pages"], 5);
    let connection = status(&m, "martin_servera").await;
    assert_eq!(connection["catalogItems"], 30);
    assert_eq!(connection["lastSyncStatus"], "SUCCEEDED");
    assert_eq!(catalog(&m, "martin_servera", None).await["totalCount"], 30);

    let bread = catalog(&m, "martin_servera", Some("Surdeg")).await["edges"][0]["node"].clone();
    assert_eq!(
        bread,
        json!({
            "externalId": "B-1", "name": "Surdegsbröd",
            "price": { "amount": "1234.5", "currency": "SEK" },
            "unit": "PCS", "pack": "6x1 l", "packQuantity": "6", "packUnit": "L",
            "stock": null, "inStock": true, "gtin": "7310865004703", "productId": m.b1,
        })
    );
    let crisp = catalog(&m, "martin_servera", Some("Knäcke")).await["edges"][0]["node"].clone();
    assert_eq!(crisp["price"]["amount"], "89.9");
    assert_eq!(crisp["unit"], "CASE");
    assert_eq!(crisp["packQuantity"], "10");
    assert_eq!(crisp["packUnit"], "KG");
    assert_eq!(crisp["stock"], 12);
    // A GTIN whose check digit fails is not one.
    assert_eq!(crisp["gtin"], Value::Null);
    assert_eq!(crisp["productId"], m.b3.as_str());
    let sold_out =
        catalog(&m, "martin_servera", Some("Artikel 7 ")).await["edges"][0]["node"].clone();
    assert_eq!(sold_out["inStock"], false);
    assert_eq!(sold_out["stock"], 0);

    // The portal changes: the next sync replaces the mirror as a whole.
    {
        let mut s = portal.state.lock().unwrap();
        s.articles.truncate(12);
        s.articles[0].price = "1 300,00 kr".into();
    }
    let run = sync(&m, "martin_servera").await;
    assert_eq!(run["items"], 12);
    assert_eq!(catalog(&m, "martin_servera", None).await["totalCount"], 12);
    let bread = catalog(&m, "martin_servera", Some("Surdeg")).await["edges"][0]["node"].clone();
    assert_eq!(bread["price"]["amount"], "1300");

    // One user agent per session, from the configured pool.
    assert_eq!(portal.state.lock().unwrap().user_agents.len(), 1);
    let text = metrics(&m.admin).await;
    assert!(
        text.contains("connector_sync_success_total{supplier=\"martin_servera\"}"),
        "{text}"
    );
    assert!(text.contains("connector_sync_duration_seconds_count{supplier=\"martin_servera\"}"));

    // REST: the run and the status.
    let rest = m
        .chef
        .send(
            reqwest::Method::POST,
            "/api/v1/integrations/martin_servera/sync",
            Some(json!({ "restaurantId": m.restaurant })),
        )
        .await;
    assert_eq!(rest.0, 202);
    let run = rest.1;
    let id = run["data"]["id"].as_str().unwrap();
    finished(&m.chef, id).await;
    let run = m
        .chef
        .get_json(&format!("/api/v1/connector-runs/{id}"))
        .await;
    assert_eq!(run["data"]["status"], "SUCCEEDED");
    let hidden = m
        .other_chef
        .get(&format!("/api/v1/connector-runs/{id}"))
        .await;
    assert_eq!(hidden.status(), 404);
}

#[tokio::test]
async fn prefill_fills_the_wholesalers_cart_and_the_order_links_to_it() {
    // The background work (the outbox's dispatch of `order.placed`) runs.
    let (m, portal) = world_with(10, 50, &DELIVERING).await;
    link(&m, "martin_servera", Some(&m.supplier_b)).await;
    connect(&m, "martin_servera").await;
    sync(&m, "martin_servera").await;
    let order = order_with_b(
        &m,
        json!([
            { "productId": m.b1, "quantity": 2 },
            { "productId": m.b3, "quantity": 3 },
            { "productId": m.b2, "quantity": 1 },
        ]),
    )
    .await;
    let order_id = order["id"].as_str().unwrap();

    // Placing the order filled the wholesaler's cart already: the order links to it.
    let cart_link = "query($id: ID!) { order(id: $id) { supplierCartLink } }";
    let mut on_order = Value::Null;
    for _ in 0..200 {
        on_order = ok(m.chef.graphql(cart_link, json!({ "id": order_id })).await);
        if on_order["order"]["supplierCartLink"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        on_order["order"]["supplierCartLink"],
        format!("{}/kassa?cart=C1", portal.url)
    );

    // Asked again: a new cart, the order now links to it.
    let body = m
        .chef
        .graphql(
            PREFILL,
            json!({ "input": { "restaurantId": m.restaurant, "supplierKey": "martin_servera", "orderId": order_id } }),
        )
        .await;
    let prefill = ok(body)["prefillSupplierCart"].clone();
    let link = format!("{}/kassa?cart=C2", portal.url);
    assert_eq!(prefill["deepLink"], link.as_str());
    assert_eq!(prefill["lines"], 2);
    assert_eq!(prefill["skippedSkus"], json!(["B-2"]));
    assert_eq!(prefill["run"]["status"], "SUCCEEDED");
    let cart = json!({ "lines": [
        { "articleNumber": "B-1", "quantity": 2 },
        { "articleNumber": "B-3", "quantity": 3 },
    ] });
    assert_eq!(portal.carts(), [cart.clone(), cart]);
    let on_order = ok(m.chef.graphql(cart_link, json!({ "id": order_id })).await);
    assert_eq!(on_order["order"]["supplierCartLink"], link.as_str());
    // The order's supplier sees the order, not the restaurant's cart at the wholesaler.
    let seen = ok(m
        .seller_b
        .graphql(cart_link, json!({ "id": order_id }))
        .await);
    assert_eq!(seen["order"]["supplierCartLink"], Value::Null);

    // Lines of the mirrored catalog, checked against it.
    let body = m
        .chef
        .graphql(
            PREFILL,
            json!({ "input": { "restaurantId": m.restaurant, "supplierKey": "martin_servera",
                "lines": [{ "externalId": "100004", "quantity": 5 }, { "externalId": "nope", "quantity": 0 }] } }),
        )
        .await;
    assert_eq!(fields(&body), ["lines[1].externalId", "lines[1].quantity"]);
    let rest = m
        .chef
        .send(
            reqwest::Method::POST,
            "/api/v1/integrations/martin_servera/cart/prefill",
            Some(json!({ "restaurantId": m.restaurant, "lines": [{ "externalId": "100004", "quantity": 5 }] })),
        )
        .await;
    assert_eq!(rest.0, 200);
    let rest = rest.1;
    assert_eq!(
        rest["data"]["deepLink"],
        format!("{}/kassa?cart=C3", portal.url)
    );
    assert_eq!(portal.carts().len(), 3);

    let text = metrics(&m.admin).await;
    assert!(text.contains("connector_cart_prefill_total{supplier=\"martin_servera\"}"));
    let kpis = ok(m
        .admin
        .graphql(
            "{ connectorKpis { restaurants connectedRestaurants connectedShare syncs syncSuccessRate prefills prefillCompletionRate } }",
            json!({}),
        )
        .await)["connectorKpis"]
        .clone();
    assert_eq!(kpis["restaurants"], 2);
    assert_eq!(kpis["connectedRestaurants"], 1);
    assert_eq!(kpis["connectedShare"], 0.5);
    assert_eq!(kpis["syncSuccessRate"], 1.0);
    assert_eq!(kpis["prefills"], 3);
    assert_eq!(kpis["prefillCompletionRate"], 1.0);
    assert_eq!(
        error(
            &m.chef
                .graphql("{ connectorKpis { syncs } }", json!({}))
                .await
        )
        .0,
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn invoices_are_pulled_into_invoicing_after_delivery_and_once() {
    let (m, portal) = world_with(3, 50, &DELIVERING).await;
    link(&m, "martin_servera", Some(&m.supplier_b)).await;
    connect(&m, "martin_servera").await;
    let order = order_with_b(&m, json!([{ "productId": m.b1, "quantity": 2 }])).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    let xml = ubl("F-2001", &order_id, &[("B-1", "Surdegsbröd", "2", "99.50")]);
    portal.add_invoice("F-2001", xml.into_bytes());

    // Delivered: the wholesaler's invoices are pulled into invoicing.
    for step in ["confirmOrder", "shipOrder", "markOrderDelivered"] {
        ok(m.transition(&m.seller_b, step, &order_id, None).await);
    }
    let runs = "query($r: ID!) { supplierConnection(restaurantId: $r, supplierKey: \"martin_servera\") { runs(limit: 10) { kind status items detail } } }";
    let mut pulled = Value::Null;
    for _ in 0..200 {
        let all = ok(m.chef.graphql(runs, json!({ "r": m.restaurant })).await);
        if let Some(run) = all["supplierConnection"]["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "INVOICE_PULL" && r["status"] != "RUNNING")
        {
            pulled = run.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pulled["status"], "SUCCEEDED", "{pulled}");
    assert_eq!(pulled["items"], 1);
    let invoice_id = pulled["detail"]["pulled"][0]["invoiceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let invoice = settled(&m.chef, &invoice_id).await;
    assert_eq!(invoice["status"], "MATCHED", "{invoice}");
    assert_eq!(invoice["invoiceNumber"], "F-2001");

    // Pulled again on demand: nothing new.
    let pull = "mutation($input: SupplierConnectionInput!) { pullSupplierInvoices(input: $input) { run { status items detail } } }";
    let input =
        json!({ "input": { "restaurantId": m.restaurant, "supplierKey": "martin_servera" } });
    let again = ok(m.chef.graphql(pull, input).await)["pullSupplierInvoices"]["run"].clone();
    assert_eq!(again["status"], "SUCCEEDED", "{again}");
    assert_eq!(again["items"], 0);
    assert_eq!(again["detail"]["listed"], 1);
}

#[tokio::test]
async fn an_ended_session_turns_the_connection_expired_and_the_restaurant_is_told() {
    let (m, portal) = world(3, 50).await;
    connect(&m, "martin_servera").await;

    // The portal ends the session: the sync fails, the connection expires, the chef hears.
    portal.end_sessions();
    let run = sync(&m, "martin_servera").await;
    assert_eq!(run["status"], "FAILED");
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .starts_with("CONNECTOR_AUTH_FAILED"),
        "{run}"
    );
    let connection = status(&m, "martin_servera").await;
    assert_eq!(connection["status"], "EXPIRED");
    assert_eq!(connection["sessionExpiresAt"], Value::Null);
    let heard = notifications(&m.chef, 1).await;
    let notice = heard["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["kind"] == "connector.expired")
        .unwrap_or_else(|| panic!("no connector.expired notification: {heard}"))
        .clone();
    assert!(
        notice["node"]["title"]
            .as_str()
            .unwrap()
            .contains("Reconnect Martin & Servera")
    );
    let body = m
        .chef
        .graphql(
            SYNC,
            json!({ "input": { "restaurantId": m.restaurant, "supplierKey": "martin_servera" } }),
        )
        .await;
    assert_eq!(error(&body).0, "CONFLICT");

    // Reconnected, then its lifetime ends: the nightly job expires it.
    connect(&m, "martin_servera").await;
    m.app
        .state
        .db
        .execute_unprepared(
            "UPDATE supplier_session_secrets SET expires_at = '2020-01-01 00:00:00+00:00'",
        )
        .await
        .unwrap();
    let run = ok(m
        .admin
        .graphql(RUN_JOB, json!({ "name": "connector-sync" }))
        .await)["runJob"]["run"]
        .clone();
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["stats"]["expired"], 1);
    assert_eq!(run["stats"]["connections"], 0);
    assert_eq!(status(&m, "martin_servera").await["status"], "EXPIRED");
}

#[tokio::test]
async fn disconnecting_deletes_the_session_at_once_and_keeps_the_audit_trail() {
    let (m, _portal) = world(4, 50).await;
    connect(&m, "martin_servera").await;
    sync(&m, "martin_servera").await;
    let body = m
        .chef
        .graphql(
            DISCONNECT,
            json!({ "input": { "restaurantId": m.restaurant, "supplierKey": "martin_servera" } }),
        )
        .await;
    let connection = ok(body)["disconnectSupplier"]["connection"].clone();
    assert_eq!(
        connection,
        json!({ "status": "DISCONNECTED", "sessionExpiresAt": null, "catalogItems": 0 })
    );
    let db = &m.app.state.db;
    let count = |table: &str| {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        async move {
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "n").unwrap()
        }
    };
    assert_eq!(count("supplier_session_secrets").await, 0);
    assert_eq!(count("supplier_catalog_cache").await, 0);
    let audit = ok(m
        .admin
        .graphql(
            "{ auditLog(first: 20, filter: {entity: \"supplier_connection\"}) { edges { node { action } } } }",
            json!({}),
        )
        .await);
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    for action in [
        "connector.connect",
        "connector.sync",
        "connector.disconnect",
    ] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    // REST disconnect of a connection never made: 404.
    let rest = m
        .chef
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/integrations/menigo?restaurantId={}", m.restaurant),
            None,
        )
        .await;
    assert_eq!(rest.0, 404);
}

/// Every text column of every table, searched for `needle`: the tables and columns holding it.
async fn holding(db: &iris::infra::db::Db, needle: &str) -> Vec<String> {
    let backend = db.get_database_backend();
    let columns_sql = match backend {
        sea_orm::DatabaseBackend::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'"
        }
        _ => {
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()"
        }
    };
    let columns = db
        .query_all_raw(Statement::from_string(backend, columns_sql))
        .await
        .unwrap();
    let mut found = Vec::new();
    for row in columns {
        let (table, column): (String, String) =
            (row.try_get("", "t").unwrap(), row.try_get("", "c").unwrap());
        let sql = format!(
            "SELECT COUNT(*) AS n FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE '%{}%'",
            needle.replace('\'', "''")
        );
        let row = db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() > 0 {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

#[tokio::test]
async fn the_database_holds_no_credential_and_no_plaintext_session() {
    let (m, portal) = world(5, 50).await;
    let version = consent_version(&m.chef).await;
    let wrong = "Fel-lösenord-9";
    m.chef
        .graphql(
            CONNECT,
            json!({ "input": connect_input(&m, "martin_servera", wrong, &version) }),
        )
        .await;
    connect(&m, "martin_servera").await;
    sync(&m, "martin_servera").await;
    let issued = portal.issued();
    assert_eq!(issued.len(), 1);
    let db = &m.app.state.db;
    for needle in [PASSWORD, wrong, issued[0].as_str()] {
        assert_eq!(
            holding(db, needle).await,
            Vec::<String>::new(),
            "{needle} is stored"
        );
    }
    // Rotation reseals the session like every sealed column; it still opens afterwards.
    let resealed = m.app.state.services.secrets.rotate().await.unwrap();
    assert_eq!(resealed.failed, 0);
    assert!(resealed.current + resealed.resealed >= 1, "{resealed:?}");
    assert_eq!(sync(&m, "martin_servera").await["status"], "SUCCEEDED");
    // What is stored is the sealed session.
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT token FROM supplier_session_secrets".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    let token: String = row.try_get("", "token").unwrap();
    assert!(token.starts_with("enc:v1:"), "{token}");
}

#[tokio::test]
async fn the_log_holds_no_credential_and_no_session() {
    let portal = FakePortal::start(articles(5), 50).await;
    let dir = portal.config_dir();
    let backend = Backend::fresh().await;
    let mut iris = Process::start_with(
        &backend,
        true,
        &[
            ("CONNECTOR_CONFIG_DIR", dir.to_str().unwrap()),
            ("RUST_LOG", "debug,hyper=info,h2=info,rustls=info"),
        ],
    );
    let admin = iris.api().await;
    let restaurants = admin.get_json("/api/v1/restaurants?limit=1").await;
    let restaurant = restaurants["data"][0]["id"].as_str().unwrap().to_owned();
    let version = admin.get_json("/api/v1/integrations").await["consent"]["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = "Fel-lösenord-9";
    for password in [wrong, PASSWORD] {
        admin
            .send(
                reqwest::Method::POST,
                "/api/v1/integrations/martin_servera/connect",
                Some(json!({
                    "restaurantId": restaurant, "username": USERNAME, "password": password,
                    "consent": { "accepted": true, "version": version }, "scopes": ["CATALOG", "ORDERS"],
                })),
            )
            .await;
    }
    let (_, run) = admin
        .send(
            reqwest::Method::POST,
            "/api/v1/integrations/martin_servera/sync",
            Some(json!({ "restaurantId": restaurant })),
        )
        .await;
    let id = run["data"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{run}"))
        .to_owned();
    for _ in 0..200 {
        let run = admin
            .get_json(&format!("/api/v1/connector-runs/{id}"))
            .await;
        if run["data"]["status"] != "RUNNING" {
            assert_eq!(run["data"]["status"], "SUCCEEDED", "{run}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    iris.terminate();
    iris.wait(Duration::from_secs(30));
    let log = iris.log.lock().unwrap().join("\n");
    assert!(
        log.contains("/api/v1/integrations/martin_servera/connect"),
        "the log captured the work: {log}"
    );
    let issued = portal.issued();
    assert_eq!(issued.len(), 1);
    for needle in [PASSWORD, wrong, issued[0].as_str()] {
        assert!(!log.contains(needle), "the log holds {needle}");
    }
}

#[tokio::test]
async fn the_dom_watcher_catches_a_renamed_selector() {
    let (m, portal) = world(5, 50).await;
    connect(&m, "martin_servera").await;
    let watch = || async {
        let run = ok(m
            .admin
            .graphql(RUN_JOB, json!({ "name": "connector-dom-watch" }))
            .await)["runJob"]["run"]
            .clone();
        assert_eq!(run["status"], "SUCCEEDED", "{run}");
        let all = ok(m.admin.graphql(CONNECTORS, json!({})).await)["connectors"].clone();
        all.as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == "martin_servera")
            .unwrap()
            .clone()
    };
    let healthy = watch().await;
    assert_eq!(healthy["degraded"], false, "{healthy}");
    assert_eq!(healthy["missingSelectors"], json!([]));
    assert!(healthy["checkedAt"].is_string());

    portal.rename_price_class("tile-price");
    let broken = watch().await;
    assert_eq!(broken["degraded"], true);
    assert_eq!(
        broken["missingSelectors"],
        json!(["catalog: catalog.fields.price"])
    );
    let heard = notifications(&m.admin, 1).await;
    assert!(heard.to_string().contains("connector.degraded"), "{heard}");
    let text = metrics(&m.admin).await;
    assert!(text.contains("connector_dom_failures_total{supplier=\"martin_servera\"}"));

    portal.rename_price_class("product-tile__price");
    assert_eq!(watch().await["degraded"], false);
    // The chef sees the connectors too (not the admin-only figures).
    let seen = ok(m.chef.graphql(CONNECTORS, json!({})).await)["connectors"].clone();
    assert_eq!(seen.as_array().unwrap().len(), 2);
}

/// Whether the browser-driver tests run: `IRIS_TEST_CHROMIUM=1`, and then Chromium must be
/// installed (missing fails loudly).
fn chromium_wanted() -> bool {
    if std::env::var("IRIS_TEST_CHROMIUM").as_deref() != Ok("1") {
        eprintln!("NOT RUN here: set IRIS_TEST_CHROMIUM=1 with Debian chromium installed");
        return false;
    }
    let found = std::process::Command::new("chromium")
        .arg("--version")
        .output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "IRIS_TEST_CHROMIUM=1 but `chromium` is not installed"
    );
    true
}

#[tokio::test]
async fn the_browser_driver_reads_a_catalog_rendered_by_script() {
    if !chromium_wanted() {
        return;
    }
    let (m, portal) = world(25, 10).await;
    link(&m, "menigo", Some(&m.supplier_b)).await;
    let connection = connect(&m, "menigo").await;
    assert_eq!(connection["status"], "ACTIVE");
    let run = sync(&m, "menigo").await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["items"], 25);
    assert_eq!(run["detail"]["pages"], 3);
    let bread = catalog(&m, "menigo", Some("Surdeg")).await["edges"][0]["node"].clone();
    assert_eq!(bread["price"]["amount"], "1234.5");
    assert_eq!(bread["productId"], m.b1.as_str());
    assert_eq!(bread["gtin"], "7310865004703");

    // The watcher reads the rendered page too.
    let run = ok(m
        .admin
        .graphql(RUN_JOB, json!({ "name": "connector-dom-watch" }))
        .await)["runJob"]["run"]
        .clone();
    assert_eq!(run["stats"]["degraded"], json!([]), "{run}");

    // An ended session shows as the sign-in page: the connection expires.
    portal.end_sessions();
    let run = sync(&m, "menigo").await;
    assert_eq!(run["status"], "FAILED");
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .starts_with("CONNECTOR_AUTH_FAILED"),
        "{run}"
    );
    let connection = status(&m, "menigo").await;
    assert_eq!(connection["status"], "EXPIRED", "{connection}");
}

#[tokio::test]
async fn a_connector_whose_terms_forbid_the_mirror_fetches_nothing() {
    let portal = FakePortal::start(articles(3), 50).await;
    let dir = portal.config_dir();
    std::fs::write(
        dir.join("menigo.json"),
        json!({ "base_url": portal.url, "allowed": false }).to_string(),
    )
    .unwrap();
    let m = market(&[("CONNECTOR_CONFIG_DIR", dir.to_str().unwrap())]).await;
    let version = consent_version(&m.chef).await;
    let body = m
        .chef
        .graphql(
            CONNECT,
            json!({ "input": connect_input(&m, "menigo", PASSWORD, &version) }),
        )
        .await;
    let (code, e) = error(&body);
    assert_eq!(code, "CONFLICT", "{body}");
    assert!(e["message"].as_str().unwrap().contains("terms"));
    assert_eq!(portal.state.lock().unwrap().requests, 0);
    let all = ok(m.chef.graphql(CONNECTORS, json!({})).await)["connectors"].clone();
    let menigo = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "menigo")
        .unwrap()
        .clone();
    assert_eq!(menigo["allowed"], false);
    assert_eq!(menigo["driver"], "BROWSER");
}

#[tokio::test]
async fn a_sync_streams_its_progress_to_its_subscribers() {
    let (m, _portal) = world(800, 4).await;
    connect(&m, "martin_servera").await;
    let body = m
        .chef
        .graphql(
            SYNC,
            json!({ "input": { "restaurantId": m.restaurant, "supplierKey": "martin_servera" } }),
        )
        .await;
    let run = ok(body)["syncSupplier"]["run"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    const PROGRESS: &str =
        "subscription($id: ID!) { connectorRunProgress(runId: $id) { status items detail } }";
    let mut ws = subscribe(
        &m.chef,
        "graphql-transport-ws",
        PROGRESS,
        json!({ "id": run }),
    )
    .await;
    let mut seen: Vec<Value> = Vec::new();
    loop {
        let msg = message(&mut ws).await;
        if msg["type"] == "complete" {
            break;
        }
        assert_eq!(msg["type"], "next", "{msg}");
        seen.push(msg["payload"]["data"]["connectorRunProgress"].clone());
    }
    let last = seen.last().unwrap();
    assert_eq!(last["status"], "SUCCEEDED", "{seen:?}");
    assert_eq!(last["items"], 800);
    assert_eq!(last["detail"]["pages"], 200);
    assert!(seen.len() >= 2, "{seen:?}");
    let items: Vec<i64> = seen.iter().map(|r| r["items"].as_i64().unwrap()).collect();
    assert!(items.windows(2).all(|w| w[0] <= w[1]), "{items:?}");

    // A finished run answers once and ends; another restaurant learns nothing of it.
    let mut ws = subscribe(
        &m.chef,
        "graphql-transport-ws",
        PROGRESS,
        json!({ "id": run }),
    )
    .await;
    assert_eq!(
        message(&mut ws).await["payload"]["data"]["connectorRunProgress"]["status"],
        "SUCCEEDED"
    );
    assert_eq!(message(&mut ws).await["type"], "complete");
    let mut ws = subscribe(
        &m.other_chef,
        "graphql-transport-ws",
        PROGRESS,
        json!({ "id": run }),
    )
    .await;
    let refused = message(&mut ws).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    assert_eq!(refused["payload"]["data"], Value::Null);
}

#[tokio::test]
async fn sign_in_attempts_at_a_wholesaler_are_budgeted() {
    let (m, portal) = world(3, 50).await;
    let version = consent_version(&m.chef).await;
    let wrong = json!({ "input": connect_input(&m, "martin_servera", "guess", &version) });
    for _ in 0..10 {
        let body = m.chef.graphql(CONNECT, wrong.clone()).await;
        assert_eq!(error(&body).0, "CONNECTOR_AUTH_FAILED", "{body}");
    }
    let body = m.chef.graphql(CONNECT, wrong).await;
    assert_eq!(error(&body).0, "RATE_LIMITED", "{body}");
    // The eleventh never reached the wholesaler.
    assert_eq!(portal.state.lock().unwrap().logins_refused, 10);
}
