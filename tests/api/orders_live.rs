//! Live order status over websockets: both subprotocols, access checked at subscribe time and
//! for every event, and `orderUpdates` scoped to the caller's organisations.

use std::time::Duration;

use chrono::Weekday;
use serde_json::{Value, json};

use crate::{
    helpers::{Api, Ws, WsEvent, connection_init, join, ws_connect, ws_next, ws_send},
    orders::{PASSWORD, market, next, ok},
};

pub const STATUS_CHANGED: &str = "subscription($id: ID!) { orderStatusChanged(orderId: $id) { from to actorRole reason order { id status total { amount currency } supplier { name } lines { sku } } } }";
const UPDATES: &str =
    "subscription { orderUpdates { from to order { id supplier { id } restaurant { id } } } }";

/// A subscription on a fresh connection, given time to become active on the server.
pub async fn subscribe(api: &Api, protocol: &str, query: &str, variables: Value) -> Ws {
    let mut ws = ws_connect(api, protocol).await;
    ws_send(&mut ws, connection_init(api)).await;
    let ack = ws_next(&mut ws, Duration::from_secs(10)).await;
    assert!(
        matches!(&ack, WsEvent::Json(m) if m["type"] == "connection_ack"),
        "{ack:?}"
    );
    let start = if protocol == "graphql-ws" {
        "start"
    } else {
        "subscribe"
    };
    ws_send(
        &mut ws,
        json!({ "id": "1", "type": start, "payload": { "query": query, "variables": variables } }),
    )
    .await;
    // The server subscribes to the bus asynchronously; give it a moment.
    tokio::time::sleep(Duration::from_millis(400)).await;
    ws
}

/// The next message, skipping keep-alives.
pub async fn message(ws: &mut Ws) -> Value {
    loop {
        match ws_next(ws, Duration::from_secs(10)).await {
            WsEvent::Json(m) if m["type"] == "ka" || m["type"] == "ping" => continue,
            WsEvent::Json(m) => return m,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn order_status_arrives_live_over_both_subprotocols() {
    let m = market(&[]).await;
    for (protocol, data_type) in [("graphql-transport-ws", "next"), ("graphql-ws", "data")] {
        let order = m.placed().await;
        let mut ws = subscribe(&m.chef, protocol, STATUS_CHANGED, json!({ "id": order })).await;
        ok(m.transition(&m.seller_b, "confirmOrder", &order, None)
            .await);
        let event = message(&mut ws).await;
        assert_eq!(event["type"], data_type, "{event}");
        let change = &event["payload"]["data"]["orderStatusChanged"];
        assert_eq!(change["from"], "PLACED", "{event}");
        assert_eq!(change["to"], "CONFIRMED");
        assert_eq!(change["actorRole"], "SUPPLIER");
        assert_eq!(change["order"]["id"], order.as_str());
        assert_eq!(change["order"]["status"], "CONFIRMED");
        assert_eq!(change["order"]["supplier"]["name"], "Beta Bröd AB");
        assert_eq!(change["order"]["lines"][0]["sku"], "B-3");

        ok(
            m.transition(&m.seller_b, "rejectOrder", &order, Some("Stängt"))
                .await,
        );
        let event = message(&mut ws).await;
        let change = &event["payload"]["data"]["orderStatusChanged"];
        assert_eq!(
            (change["to"].as_str(), change["reason"].as_str()),
            (Some("REJECTED"), Some("Stängt"))
        );
    }
}

#[tokio::test]
async fn only_the_parties_may_watch_an_order_and_losing_access_ends_the_stream() {
    let m = market(&[]).await;
    let order = m.placed().await;

    // Another restaurant cannot watch it: the order does not exist for it.
    let mut ws = subscribe(
        &m.other_chef,
        "graphql-transport-ws",
        STATUS_CHANGED,
        json!({ "id": order }),
    )
    .await;
    let refused = message(&mut ws).await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
    assert_eq!(message(&mut ws).await["type"], "complete");

    // A supplier's staff member watches, then is removed from the supplier.
    let staff = m.app.login("staff@t.se", PASSWORD).await;
    let added = join(
        &m.seller_b,
        &staff,
        "SUPPLIER",
        &m.supplier_b,
        "staff@t.se",
        "STAFF",
    )
    .await;
    let staff_id = added["accountId"].clone();
    let mut watching = subscribe(
        &staff,
        "graphql-transport-ws",
        STATUS_CHANGED,
        json!({ "id": order }),
    )
    .await;
    let mut updates = subscribe(&staff, "graphql-transport-ws", UPDATES, json!({})).await;
    ok(m.transition(&m.seller_b, "confirmOrder", &order, None)
        .await);
    assert_eq!(
        message(&mut watching).await["payload"]["data"]["orderStatusChanged"]["to"],
        "CONFIRMED"
    );
    assert_eq!(
        message(&mut updates).await["payload"]["data"]["orderUpdates"]["to"],
        "CONFIRMED"
    );

    ok(m
        .seller_b
        .graphql(
            "mutation($input: RemoveMemberInput!) { removeMember(input: $input) { removedAccountId } }",
            json!({ "input": { "organisationType": "SUPPLIER", "organisationId": m.supplier_b, "accountId": staff_id } }),
        )
        .await);
    ok(m.transition(&m.seller_b, "shipOrder", &order, None).await);
    let denied = message(&mut watching).await;
    assert_eq!(denied["type"], "next", "{denied}");
    assert_eq!(
        denied["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{denied}"
    );
    assert_eq!(message(&mut watching).await["type"], "complete");
    // orderUpdates withholds the event instead.
    let quiet = tokio::time::timeout(Duration::from_millis(500), message(&mut updates)).await;
    assert!(quiet.is_err(), "no event after losing access: {quiet:?}");
}

#[tokio::test]
async fn order_updates_carry_only_the_callers_organisations() {
    let m = market(&[]).await;
    let mut ws = subscribe(&m.seller_b, "graphql-ws", UPDATES, json!({})).await;
    // An order with supplier A (not seller B's business), then one with supplier B.
    let a_order = m
        .place(
            &m.other_chef,
            json!({
                "restaurantId": m.other_restaurant, "supplierId": m.supplier_a,
                "lines": [{ "productId": m.a1, "quantity": 60 }],
                "requestedDeliveryDate": next(Weekday::Mon, 0),
            }),
        )
        .await;
    ok(a_order);
    let b_order = m.placed().await;
    let event = message(&mut ws).await;
    let update = &event["payload"]["data"]["orderUpdates"];
    assert_eq!(update["order"]["id"], b_order.as_str(), "{event}");
    assert_eq!(update["from"], Value::Null);
    assert_eq!(update["to"], "PLACED");
    assert_eq!(update["order"]["restaurant"]["id"], m.restaurant.as_str());

    // Anonymous callers cannot subscribe.
    let mut ws = subscribe(
        &m.chef.anonymous(),
        "graphql-transport-ws",
        UPDATES,
        json!({}),
    )
    .await;
    let refused = message(&mut ws).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );
}
