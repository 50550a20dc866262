//! Subscriptions over both websocket subprotocols, and the protocol's close codes.

use std::time::Duration;

use futures_util::SinkExt as _;
use serde_json::json;
use tokio_tungstenite::tungstenite;

use crate::helpers::{
    TestApp, WsEvent, create_supplier, subscribe_supplier_changes, update_until_event, ws_connect,
    ws_json, ws_next, ws_send,
};

#[tokio::test]
async fn supplier_changed_reaches_graphql_transport_ws_subscribers() {
    let (app, _backend) = TestApp::spawn().await;
    let supplier = create_supplier(&app, 300, "Live AB", "Borås").await;
    let id = supplier["id"].as_str().unwrap();
    let mut ws = subscribe_supplier_changes(&app, "graphql-transport-ws").await;
    let message = update_until_event(&app, id, &mut ws).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], "1");
    let event = &message["payload"]["data"]["supplierChanged"];
    assert_eq!(event["kind"], "UPDATED");
    assert_eq!(event["supplier"]["id"], id);
    assert!(
        event["supplier"]["name"]
            .as_str()
            .unwrap()
            .starts_with("Renamed")
    );

    // A deletion arrives as DELETED.
    app.graphql(
        "mutation($id: ID!) { deleteSupplier(input: {id: $id}) { deletedAt } }",
        json!({ "id": id }),
    )
    .await;
    loop {
        let message = ws_json(&mut ws).await;
        if message["payload"]["data"]["supplierChanged"]["kind"] == "DELETED" {
            break;
        }
    }

    // Completing the subscription is acknowledged by silence; a ping still gets a pong.
    ws_send(&mut ws, json!({ "id": "1", "type": "complete" })).await;
    ws_send(&mut ws, json!({ "type": "ping" })).await;
    loop {
        let message = ws_json(&mut ws).await;
        if message["type"] == "pong" {
            break;
        }
    }
}

#[tokio::test]
async fn supplier_changed_reaches_legacy_graphql_ws_subscribers() {
    let (app, _backend) = TestApp::spawn().await;
    let supplier = create_supplier(&app, 301, "Legacy AB", "Gävle").await;
    let id = supplier["id"].as_str().unwrap();
    let mut ws = subscribe_supplier_changes(&app, "graphql-ws").await;
    let message = update_until_event(&app, id, &mut ws).await;
    assert_eq!(
        message["type"], "data",
        "legacy protocol says data: {message}"
    );
    assert_eq!(
        message["payload"]["data"]["supplierChanged"]["kind"],
        "UPDATED"
    );
    assert_eq!(
        message["payload"]["data"]["supplierChanged"]["supplier"]["id"],
        id
    );
}

#[tokio::test]
async fn filtered_subscriptions_only_see_their_supplier() {
    let (app, _backend) = TestApp::spawn().await;
    let watched = create_supplier(&app, 302, "Watched AB", "Ystad").await;
    let other = create_supplier(&app, 303, "Other AB", "Ystad").await;
    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(ws_json(&mut ws).await["type"], "connection_ack");
    ws_send(
        &mut ws,
        json!({ "id": "w", "type": "subscribe", "payload": {
            "query": "subscription($id: ID) { supplierChanged(id: $id) { supplier { id } } }",
            "variables": { "id": watched["id"] } } }),
    )
    .await;
    // Changes to the other supplier never arrive; the watched one's do.
    for _ in 0..3 {
        app.graphql(
            "mutation($id: ID!) { updateSupplier(input: {id: $id, city: \"Lund\"}) { supplier { id } } }",
            json!({ "id": other["id"] }),
        )
        .await;
    }
    let message = update_until_event(&app, watched["id"].as_str().unwrap(), &mut ws).await;
    assert_eq!(
        message["payload"]["data"]["supplierChanged"]["supplier"]["id"],
        watched["id"]
    );
}

#[tokio::test]
async fn a_silent_client_is_closed_with_4408() {
    let (app, _backend) = TestApp::spawn_with(&[("WS_INIT_TIMEOUT_MS", "300")]).await;
    for protocol in ["graphql-transport-ws", "graphql-ws"] {
        let mut ws = ws_connect(&app, protocol).await;
        match ws_next(&mut ws, Duration::from_secs(5)).await {
            WsEvent::Closed(code, reason) => {
                assert_eq!(code, 4408, "{protocol}");
                assert_eq!(reason, "Connection initialisation timeout");
            }
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_default_init_timeout_is_three_seconds() {
    let (app, _backend) = TestApp::spawn().await;
    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    let started = std::time::Instant::now();
    match ws_next(&mut ws, Duration::from_secs(10)).await {
        WsEvent::Closed(code, _) => assert_eq!(code, 4408),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "closed only after 3 s"
    );
}

#[tokio::test]
async fn protocol_violations_close_with_the_specified_codes() {
    let (app, _backend) = TestApp::spawn().await;
    let query = json!({ "query": "subscription { supplierChanged { kind } }" });

    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": query }),
    )
    .await;
    assert!(matches!(
        ws_next(&mut ws, Duration::from_secs(5)).await,
        WsEvent::Closed(4401, _)
    ));

    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(ws_json(&mut ws).await["type"], "connection_ack");
    ws_send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": query }),
    )
    .await;
    ws_send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": query }),
    )
    .await;
    match ws_next(&mut ws, Duration::from_secs(5)).await {
        WsEvent::Closed(code, reason) => {
            assert_eq!(code, 4409);
            assert_eq!(reason, "Subscriber for 1 already exists");
        }
        other => panic!("expected 4409, got {other:?}"),
    }

    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(ws_json(&mut ws).await["type"], "connection_ack");
    ws_send(&mut ws, json!({ "type": "connection_init" })).await;
    assert!(matches!(
        ws_next(&mut ws, Duration::from_secs(5)).await,
        WsEvent::Closed(4429, _)
    ));

    // A message that is not one of the protocol's closes with 4400.
    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(ws_json(&mut ws).await["type"], "connection_ack");
    ws_send(&mut ws, json!({ "type": "next", "id": "1", "payload": {} })).await;
    assert!(matches!(
        ws_next(&mut ws, Duration::from_secs(5)).await,
        WsEvent::Closed(4400, _)
    ));

    // At most 100 subscriptions per connection.
    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(ws_json(&mut ws).await["type"], "connection_ack");
    for id in 0..=100 {
        ws_send(
            &mut ws,
            json!({ "id": id.to_string(), "type": "subscribe", "payload": query }),
        )
        .await;
    }
    match ws_next(&mut ws, Duration::from_secs(5)).await {
        WsEvent::Closed(code, reason) => {
            assert_eq!(code, 4400);
            assert!(reason.starts_with("Too many subscriptions"), "{reason}");
        }
        other => panic!("expected 4400, got {other:?}"),
    }

    // An invalid subscription is an error message for that id, stamped like HTTP errors.
    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(ws_json(&mut ws).await["type"], "connection_ack");
    ws_send(&mut ws, json!({ "id": "bad", "type": "subscribe", "payload": { "query": "subscription { nope }" } })).await;
    let message = ws_json(&mut ws).await;
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(
        message["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert!(message["payload"][0]["extensions"]["requestId"].is_string());
}

/// The close handshake completes: a client closing with 1000 gets its own code back (not an
/// abnormal 1006), on both subprotocols.
#[tokio::test]
async fn a_client_close_is_echoed_on_both_subprotocols() {
    let (app, _backend) = TestApp::spawn().await;
    for protocol in ["graphql-transport-ws", "graphql-ws"] {
        let mut ws = ws_connect(&app, protocol).await;
        ws_send(&mut ws, json!({ "type": "connection_init" })).await;
        assert_eq!(
            ws_json(&mut ws).await["type"],
            "connection_ack",
            "{protocol}"
        );
        ws.send(tungstenite::Message::Close(Some(
            tungstenite::protocol::CloseFrame {
                code: tungstenite::protocol::frame::coding::CloseCode::Normal,
                reason: "bye".into(),
            },
        )))
        .await
        .expect("close sent");
        match ws_next(&mut ws, Duration::from_secs(5)).await {
            WsEvent::Closed(code, _) => assert_eq!(code, 1000, "{protocol}"),
            other => panic!("{protocol}: expected the close echoed, got {other:?}"),
        }
    }
}

/// On the legacy subprotocol too, an operation before `connection_init` is the client's
/// fault: 4401, not the server-error 1011.
#[tokio::test]
async fn a_legacy_start_before_init_closes_with_4401() {
    let (app, _backend) = TestApp::spawn().await;
    let mut ws = ws_connect(&app, "graphql-ws").await;
    ws_send(
        &mut ws,
        json!({ "id": "1", "type": "start", "payload": { "query": "subscription { supplierChanged { kind } }" } }),
    )
    .await;
    match ws_next(&mut ws, Duration::from_secs(5)).await {
        WsEvent::Closed(code, _) => assert_eq!(code, 4401),
        other => panic!("expected 4401, got {other:?}"),
    }
}

#[tokio::test]
async fn pages_from_foreign_origins_cannot_open_websockets() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (app, _backend) =
        TestApp::spawn_with(&[("CORS_ORIGINS", "https://app.iris.example")]).await;
    let open = |origin: &'static str| {
        let mut request = format!("ws://{}/graphql/ws", app.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
        tokio_tungstenite::connect_async(request)
    };
    match open("https://evil.example").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|(_, r)| r.status())),
    }
    assert!(open("https://app.iris.example").await.is_ok());
}

#[tokio::test]
async fn an_unknown_subprotocol_is_refused() {
    let (app, _backend) = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/graphql/ws"))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-protocol", "mqtt")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
