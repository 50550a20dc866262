//! Sessions that end: after logout an access token of that sign-in is refused on the next
//! request, on every process (over Postgres + Redis: a second instance, and one started after
//! the logout), and open subscriptions speaking for it end with UNAUTHENTICATED and close 4401
//! on both subprotocols.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, Api, Backend, DEMO_PASSWORD, TestApp, WsEvent, service_url, subscribe_supplier_changes,
    ws_next,
};

/// A fresh sign-in of the demo admin: (access token, refresh token).
pub async fn sign_in(api: &Api) -> (String, String) {
    let body = api
        .anonymous()
        .graphql(
            "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken } }",
            json!({ "input": { "email": ADMIN, "password": DEMO_PASSWORD } }),
        )
        .await;
    let login = &body["data"]["login"];
    (
        login["accessToken"].as_str().expect("signed in").to_owned(),
        login["refreshToken"].as_str().unwrap().to_owned(),
    )
}

pub async fn me_status(api: &Api) -> (u16, Value) {
    let response = api
        .client
        .post(api.url("/graphql"))
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Waits (at most 10 s) until `api`'s token is refused; the last answer.
pub async fn refused_soon(api: &Api) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = me_status(api).await;
        if answer.0 == 401 || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The subscription's `error` and the close frame that follow the end of its session.
pub async fn ended_with_4401(ws: &mut crate::helpers::Ws, protocol: &str) {
    let error = match ws_next(ws, Duration::from_secs(10)).await {
        WsEvent::Json(message) => message,
        other => panic!("{protocol}: expected the subscription's error, got {other:?}"),
    };
    assert_eq!(error["type"], "error", "{protocol}: {error}");
    assert_eq!(error["id"], "1", "{protocol}: {error}");
    let payload = if protocol == "graphql-ws" {
        error["payload"].clone()
    } else {
        error["payload"][0].clone()
    };
    assert_eq!(
        payload["extensions"]["code"], "UNAUTHENTICATED",
        "{protocol}: {error}"
    );
    match ws_next(ws, Duration::from_secs(10)).await {
        WsEvent::Closed(code, reason) => {
            assert_eq!(code, 4401, "{protocol}: {reason}");
            assert!(reason.contains("session has ended"), "{protocol}: {reason}");
        }
        other => panic!("{protocol}: expected close 4401, got {other:?}"),
    }
}

#[tokio::test]
async fn logout_ends_the_session_on_http_and_websockets_on_every_process() {
    let backend = Backend::fresh().await;
    let first = TestApp::spawn_on(&backend, &[]).await;
    // A second instance where the processes can share a bus (Redis); else the same one.
    let shared = service_url("IRIS_TEST_REDIS_URL").is_some();
    let second = if shared {
        Some(TestApp::spawn_on(&backend, &[]).await)
    } else {
        eprintln!(
            "one process only on this backend (the in-process bus cannot span processes); .ci/run runs the two-process variant"
        );
        None
    };
    let other = second.as_ref().map_or(first.api.addr, |app| app.api.addr);

    let (access, refresh) = sign_in(&first.api).await;
    let on_first = Api::with_token(first.api.addr, Some(access.clone()));
    let on_other = Api::with_token(other, Some(access.clone()));
    assert_eq!(me_status(&on_other).await.0, 200);
    let mut transport_ws = subscribe_supplier_changes(&on_other, "graphql-transport-ws").await;
    let mut legacy_ws = subscribe_supplier_changes(&on_other, "graphql-ws").await;
    // A sign-in of its own is untouched by this one's end.
    let (unrelated, _) = sign_in(&first.api).await;
    let unrelated = Api::with_token(other, Some(unrelated));

    // Logout with the access token alone ends the session it belongs to.
    let out = on_first
        .graphql("mutation { logout(input: {}) { loggedOut } }", json!({}))
        .await;
    assert_eq!(out["data"]["logout"]["loggedOut"], true, "{out}");

    let (status, body) = me_status(&on_first).await;
    assert_eq!(status, 401, "refused at once where it ended: {body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let (status, body) = refused_soon(&on_other).await;
    assert_eq!(status, 401, "refused on the other process: {body}");
    let rest = on_other.get("/api/v1/me").await;
    assert_eq!(rest.status(), 401);
    ended_with_4401(&mut transport_ws, "graphql-transport-ws").await;
    ended_with_4401(&mut legacy_ws, "graphql-ws").await;
    assert_eq!(me_status(&unrelated).await.0, 200);

    // Its refresh token is dead too, and a process started afterwards knows from the start.
    let refreshed = first
        .api
        .anonymous()
        .graphql(
            "mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { accessToken } }",
            json!({ "t": refresh }),
        )
        .await;
    assert_eq!(
        refreshed["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    let later = TestApp::spawn_on(&backend, &[]).await;
    let on_later = Api::with_token(later.api.addr, Some(access));
    assert_eq!(me_status(&on_later).await.0, 401);
    // And a websocket cannot open for it.
    let mut ws = crate::helpers::ws_connect(&on_later, "graphql-transport-ws").await;
    crate::helpers::ws_send(&mut ws, crate::helpers::connection_init(&on_later)).await;
    match ws_next(&mut ws, Duration::from_secs(10)).await {
        WsEvent::Closed(code, _) => assert_eq!(code, 4403),
        other => panic!("expected the connection refused, got {other:?}"),
    }
    later.stop().await;
    if let Some(second) = second {
        second.stop().await;
    }
    first.stop().await;
}

#[tokio::test]
async fn rest_logout_ends_the_bearer_session_and_anonymous_logout_is_refused() {
    let (app, _backend) = TestApp::spawn().await;
    let (access, _) = sign_in(&app.api).await;
    let signed = Api::with_token(app.api.addr, Some(access));
    let response = signed
        .client
        .post(signed.url("/api/v1/auth/logout"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(me_status(&signed).await.0, 401);

    let response = app
        .api
        .anonymous()
        .client
        .post(app.url("/api/v1/auth/logout"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
