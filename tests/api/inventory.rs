//! Restaurant inventory: a ledger of movements whose sum is on-hand as of any moment; receipts
//! written when an order is delivered (once per line); stocktakes as adjustments; transfers;
//! members only.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::orders::{error, fields, market, ok};

const ITEM: &str = "id name unit onHand packSize active productId";
const CREATE: &str = "mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { item { id name unit onHand packSize active productId } } }";

fn mutation(name: &str, input: &str) -> String {
    format!("mutation($input: {input}!) {{ {name}(input: $input) {{ item {{ {ITEM} }} }} }}")
}

fn at(days_ago: i64) -> String {
    (Utc::now() - Duration::days(days_ago)).to_rfc3339()
}

async fn on_hand(api: &crate::helpers::Api, restaurant: &str, as_of: Option<String>) -> Value {
    let body = ok(api
        .graphql(
            &format!("query($r: ID!, $at: DateTime) {{ inventory(restaurantId: $r, asOf: $at) {{ {ITEM} }} }}"),
            json!({ "r": restaurant, "at": as_of }),
        )
        .await);
    body["inventory"].clone()
}

#[tokio::test]
async fn the_ledger_sums_to_on_hand_as_of_any_moment() {
    let m = market(&[]).await;
    let item = ok(m
        .chef
        .graphql(
            CREATE,
            json!({ "input": { "restaurantId": m.restaurant, "name": "Olivolja", "unit": "l" } }),
        )
        .await)["createInventoryItem"]["item"]
        .clone();
    assert_eq!(item["onHand"], "0", "{item}");
    assert_eq!(item["unit"], "L");
    let id = item["id"].as_str().unwrap().to_owned();

    let stocktake = mutation("recordStocktake", "RecordStocktakeInput");
    let usage = mutation("recordUsage", "RecordOutflowInput");
    let waste = mutation("recordWaste", "RecordOutflowInput");
    let counted = ok(m
        .chef
        .graphql(
            &stocktake,
            json!({ "input": { "itemId": id, "counted": "12.5", "occurredAt": at(3) } }),
        )
        .await);
    assert_eq!(counted["recordStocktake"]["item"]["onHand"], "12.5");
    ok(m.chef
        .graphql(
            &usage,
            json!({ "input": { "itemId": id, "quantity": "2.25", "occurredAt": at(2) } }),
        )
        .await);
    let wasted = ok(m
        .chef
        .graphql(&waste, json!({ "input": { "itemId": id, "quantity": "0.25", "reason": "spilt", "occurredAt": at(1) } }))
        .await);
    assert_eq!(wasted["recordWaste"]["item"]["onHand"], "10");

    // As of any moment: the movements up to it.
    let hours_ago = |h: i64| Some((Utc::now() - Duration::hours(h)).to_rfc3339());
    for (when, expected) in [
        (hours_ago(60), "12.5"),
        (hours_ago(36), "10.25"),
        (None, "10"),
    ] {
        let items = on_hand(&m.chef, &m.restaurant, when.clone()).await;
        assert_eq!(items[0]["onHand"], expected, "as of {when:?}: {items}");
    }
    let before = on_hand(&m.chef, &m.restaurant, hours_ago(24 * 5)).await;
    assert_eq!(before[0]["onHand"], "0");

    // A count that disagrees: the difference is an ADJUSTMENT, the count is kept.
    let recount = ok(m
        .chef
        .graphql(
            &stocktake,
            json!({ "input": { "itemId": id, "counted": "9" } }),
        )
        .await);
    assert_eq!(recount["recordStocktake"]["item"]["onHand"], "9");
    let ledger = ok(m
        .chef
        .graphql(
            "query($r: ID!) { inventory(restaurantId: $r) { movements(first: 10) { kind quantity counted reason } } }",
            json!({ "r": m.restaurant }),
        )
        .await);
    let movements = &ledger["inventory"][0]["movements"];
    assert_eq!(
        movements[0],
        json!({ "kind": "ADJUSTMENT", "quantity": "-1", "counted": "9", "reason": "stocktake" }),
        "{ledger}"
    );
    let kinds: Vec<&str> = movements
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ADJUSTMENT", "WASTE", "USAGE", "ADJUSTMENT"]);

    // Bad input names the field; nothing is written.
    for (query, input, field) in [
        (&waste, json!({ "itemId": id, "quantity": "1" }), "reason"),
        (&usage, json!({ "itemId": id, "quantity": "0" }), "quantity"),
        (
            &usage,
            json!({ "itemId": id, "quantity": "1.2345" }),
            "quantity",
        ),
        (
            &usage,
            json!({ "itemId": id, "quantity": "1", "occurredAt": (Utc::now() + Duration::days(1)).to_rfc3339() }),
            "occurredAt",
        ),
        (
            &stocktake,
            json!({ "itemId": id, "counted": "-1" }),
            "counted",
        ),
    ] {
        let body = m.chef.graphql(query, json!({ "input": input })).await;
        assert_eq!(error(&body).0, "VALIDATION", "{body}");
        assert_eq!(fields(&body), [field], "{body}");
    }
    assert_eq!(
        on_hand(&m.chef, &m.restaurant, None).await[0]["onHand"],
        "9"
    );
}

#[tokio::test]
async fn a_delivered_order_is_received_once_and_only_members_see_the_inventory() {
    let m = market(&[]).await;
    let order = m.placed().await;
    for step in ["confirmOrder", "shipOrder", "markOrderDelivered"] {
        ok(m.transition(&m.seller_b, step, &order, None).await);
    }
    let items = on_hand(&m.chef, &m.restaurant, None).await;
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items[0]["productId"], m.b3.as_str());
    assert_eq!(items[0]["onHand"], "1");
    let ledger = ok(m
        .chef
        .graphql(
            "query($r: ID!) { inventory(restaurantId: $r) { movements { kind quantity orderId } } }",
            json!({ "r": m.restaurant }),
        )
        .await);
    assert_eq!(
        ledger["inventory"][0]["movements"],
        json!([{ "kind": "RECEIPT", "quantity": "1", "orderId": order }])
    );
    // Delivered twice? The second is refused, and nothing is received again.
    let again = m
        .transition(&m.seller_b, "markOrderDelivered", &order, None)
        .await;
    assert_eq!(error(&again).0, "INVALID_TRANSITION");
    assert_eq!(
        on_hand(&m.chef, &m.restaurant, None).await[0]["onHand"],
        "1"
    );
    // The next delivery of the same product adds to the same item.
    let second = m.placed().await;
    for step in ["confirmOrder", "shipOrder", "markOrderDelivered"] {
        ok(m.transition(&m.seller_b, step, &second, None).await);
    }
    let items = on_hand(&m.chef, &m.restaurant, None).await;
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["onHand"], "2");

    // Other restaurants, suppliers and anonymous callers see nothing of it.
    let item = items[0]["id"].as_str().unwrap();
    let query = "query($r: ID!) { inventory(restaurantId: $r) { id } }";
    assert_eq!(
        error(
            &m.other_chef
                .graphql(query, json!({ "r": m.restaurant }))
                .await
        )
        .0,
        "FORBIDDEN"
    );
    assert_eq!(
        error(
            &m.seller_b
                .graphql(query, json!({ "r": m.restaurant }))
                .await
        )
        .0,
        "FORBIDDEN"
    );
    assert_eq!(
        error(
            &m.chef
                .anonymous()
                .graphql(query, json!({ "r": m.restaurant }))
                .await
        )
        .0,
        "UNAUTHENTICATED"
    );
    let usage = mutation("recordUsage", "RecordOutflowInput");
    let foreign = m
        .other_chef
        .graphql(
            &usage,
            json!({ "input": { "itemId": item, "quantity": "1" } }),
        )
        .await;
    assert_eq!(error(&foreign).0, "NOT_FOUND");
}

#[tokio::test]
async fn stock_moves_between_restaurants_of_one_owner() {
    let m = market(&[]).await;
    let order = m.placed().await;
    for step in ["confirmOrder", "shipOrder", "markOrderDelivered"] {
        ok(m.transition(&m.seller_b, step, &order, None).await);
    }
    let second_restaurant = ok(m
        .chef
        .graphql(
            "mutation { createRestaurant(input: {name: \"Bistro Två\", contactEmail: \"tva@r.se\", city: \"Lund\"}) { restaurant { id } } }",
            json!({}),
        )
        .await)["createRestaurant"]["restaurant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let item = on_hand(&m.chef, &m.restaurant, None).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    const TRANSFER: &str = "mutation($input: TransferStockInput!) { transferStock(input: $input) { from { onHand } to { onHand productId restaurantId } } }";
    let moved = ok(m
        .chef
        .graphql(TRANSFER, json!({ "input": { "itemId": item, "toRestaurantId": second_restaurant, "quantity": "0.4" } }))
        .await);
    assert_eq!(moved["transferStock"]["from"]["onHand"], "0.6");
    assert_eq!(moved["transferStock"]["to"]["onHand"], "0.4");
    assert_eq!(moved["transferStock"]["to"]["productId"], m.b3.as_str());
    // Not to a restaurant the caller does not belong to.
    let refused = m
        .chef
        .graphql(TRANSFER, json!({ "input": { "itemId": item, "toRestaurantId": m.other_restaurant, "quantity": "0.1" } }))
        .await;
    assert_eq!(error(&refused).0, "FORBIDDEN");
    assert_eq!(
        on_hand(&m.chef, &m.restaurant, None).await[0]["onHand"],
        "0.6"
    );
}

#[tokio::test]
async fn rest_keeps_the_same_ledger() {
    let m = market(&[]).await;
    let base = format!("/api/v1/restaurants/{}/inventory", m.restaurant);
    let api = &m.chef;
    let post = |path: String, body: Value| async move {
        let response = api
            .client
            .post(api.url(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let (status, created) = post(
        base.clone(),
        json!({ "name": "Mjöl", "unit": "KG", "packSize": "25" }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["packSize"], "25");
    let item = created["data"]["id"].as_str().unwrap().to_owned();
    let (status, counted) = post(
        format!("{base}/{item}/stocktake"),
        json!({ "counted": "50" }),
    )
    .await;
    assert_eq!(
        (status, counted["data"]["onHand"].clone()),
        (200, json!("50"))
    );
    let (status, used) = post(
        format!("{base}/{item}/usage"),
        json!({ "quantity": "12.5" }),
    )
    .await;
    assert_eq!(
        (status, used["data"]["onHand"].clone()),
        (200, json!("37.5"))
    );
    let (status, refused) = post(format!("{base}/{item}/waste"), json!({ "quantity": "1" })).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["fields"][0]["field"], "reason", "{refused}");
    let (status, _) = post(
        format!("{base}/{item}/waste"),
        json!({ "quantity": "1.5", "reason": "mal" }),
    )
    .await;
    assert_eq!(status, 200);
    let listed = m.chef.get_json(&base).await;
    assert_eq!(listed["data"][0]["onHand"], "36");
    let ledger = m.chef.get_json(&format!("{base}/{item}/movements")).await;
    let kinds: Vec<&str> = ledger["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["WASTE", "USAGE", "ADJUSTMENT"]);
    // The item under another restaurant's address does not exist there.
    let elsewhere = format!(
        "/api/v1/restaurants/{}/inventory/{item}/movements",
        m.other_restaurant
    );
    assert_eq!(m.other_chef.get(&elsewhere).await.status(), 404);
    assert_eq!(m.chef.get(&elsewhere).await.status(), 403);
}
