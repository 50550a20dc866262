//! Graceful shutdown: stop accepting, finish in-flight requests, close websockets properly.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TestApp, WsEvent, ws_connect, ws_json, ws_next, ws_send};

#[tokio::test]
async fn an_in_flight_request_completes_after_shutdown_begins() {
    let (mut app, _backend) = TestApp::spawn().await;
    let body = r#"{"query":"{ suppliers { totalCount } }"}"#;
    let (head, tail) = body.split_at(10);

    // A request whose body is still arriving when the stop signal comes.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        app.addr,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let server = app.trigger_stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        TcpStream::connect(app.addr).await.is_err(),
        "no new connections once shutdown has begun"
    );

    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("response in time")
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains(r#"{"data":{"suppliers":{"totalCount":0}}"#),
        "{response}"
    );

    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops")
        .unwrap()
        .expect("clean stop");
}

#[tokio::test]
async fn websockets_get_a_close_frame_on_shutdown() {
    let (mut app, _backend) = TestApp::spawn().await;
    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(&mut ws, serde_json::json!({ "type": "connection_init" })).await;
    assert_eq!(ws_json(&mut ws).await["type"], "connection_ack");

    let server = app.trigger_stop();
    match ws_next(&mut ws, Duration::from_secs(10)).await {
        WsEvent::Closed(code, reason) => {
            assert_eq!(code, 1001);
            assert_eq!(reason, "Server is shutting down");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops")
        .unwrap()
        .expect("clean stop");
}
