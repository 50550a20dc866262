//! Notifications: written from order events, received live, listed and marked read.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::Api,
    orders::{error, market, ok},
    orders_live::{message, subscribe},
    webhooks::DELIVERING,
};

const LIST: &str = "{ notifications(first: 20) { totalCount edges { node { id kind title body data readAt } } } unreadNotificationCount }";

/// The caller's notifications, once at least `n` exist (the outbox dispatches asynchronously).
pub async fn notifications(api: &Api, n: usize) -> Value {
    let mut body = Value::Null;
    for _ in 0..100 {
        body = ok(api.graphql(LIST, json!({})).await);
        if body["notifications"]["edges"].as_array().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    body
}

#[tokio::test]
async fn order_news_reaches_the_other_party_live_and_in_its_list() {
    let m = market(&DELIVERING).await;
    let mut live = subscribe(
        &m.seller_b,
        "graphql-transport-ws",
        "subscription { notificationReceived { kind title body data } }",
        json!({}),
    )
    .await;
    let order = m.placed().await;
    let event = message(&mut live).await;
    let received = &event["payload"]["data"]["notificationReceived"];
    assert_eq!(received["kind"], "order.placed", "{event}");
    assert_eq!(received["title"], "New order from Bistro Ett");
    assert_eq!(received["data"]["orderId"], order.as_str());

    ok(
        m.transition(&m.seller_b, "rejectOrder", &order, Some("Ugnen är trasig"))
            .await,
    );
    let chefs = notifications(&m.chef, 1).await;
    let node = &chefs["notifications"]["edges"][0]["node"];
    assert_eq!(node["kind"], "order.rejected", "{chefs}");
    assert_eq!(node["title"], "Order rejected by Beta Bröd AB");
    assert!(
        node["body"]
            .as_str()
            .unwrap()
            .ends_with("Reason: Ugnen är trasig"),
        "{node}"
    );
    assert_eq!(chefs["unreadNotificationCount"], 1);
    assert_eq!(
        chefs["notifications"]["totalCount"], 1,
        "the chef is told once"
    );

    // Nobody else hears of it.
    assert_eq!(
        notifications(&m.other_chef, 0).await["notifications"]["totalCount"],
        0
    );
    assert_eq!(
        notifications(&m.seller, 0).await["notifications"]["totalCount"],
        0
    );
    assert_eq!(
        error(&m.chef.anonymous().graphql(LIST, json!({})).await).0,
        "UNAUTHENTICATED"
    );

    // Marking read: someone else's ids change nothing; `all` reads every one.
    const MARK: &str = "mutation($input: MarkNotificationsReadInput!) { markNotificationsRead(input: $input) { marked unreadCount } }";
    let id = node["id"].clone();
    let foreign = ok(m
        .seller_b
        .graphql(MARK, json!({ "input": { "ids": [id] } }))
        .await);
    assert_eq!(foreign["markNotificationsRead"]["marked"], 0);
    let marked = ok(m
        .chef
        .graphql(MARK, json!({ "input": { "all": true } }))
        .await);
    assert_eq!(
        marked["markNotificationsRead"],
        json!({ "marked": 1, "unreadCount": 0 })
    );
    let read = notifications(&m.chef, 1).await;
    assert!(read["notifications"]["edges"][0]["node"]["readAt"].is_string());
    assert_eq!(
        error(&m.chef.graphql(MARK, json!({ "input": {} })).await).0,
        "VALIDATION"
    );
}
