//! Pricing, black-box: price lists and the one resolution rule (windows, priorities, tiers),
//! the snapshot on order lines, who may see a restaurant's prices, dynamic prices (dry run,
//! bounds, history, events) and the supplier recommendation.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::{
    helpers::Api,
    notifications::notifications,
    orders::{Market, error, fields, market, ok},
    webhooks::DELIVERING,
};

const CREATE: &str = "mutation($input: CreatePriceListInput!) { createPriceList(input: $input) { priceList { id name priority validNow entries { productId tiers { minQuantity kind price { amount } percentOff } } } } }";
const ASSIGN: &str = "mutation($input: AssignPriceListInput!) { assignPriceList(input: $input) { priceList { id assignments { restaurantId customerGroup allCustomers } } } }";
const PRICE: &str = "query($id: ID!, $r: ID, $q: Int!, $at: DateTime) { product(id: $id) { price(restaurantId: $r, quantity: $q, at: $at) { unitPrice { amount } listPrice { amount } total { amount } appliedPriceList { name priority tier { minQuantity kind } } } } }";

async fn create_list(api: &Api, input: Value) -> String {
    ok(api.graphql(CREATE, json!({ "input": input })).await)["createPriceList"]["priceList"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn assign(api: &Api, input: Value) {
    ok(api.graphql(ASSIGN, json!({ "input": input })).await);
}

/// What `restaurant` pays per unit of `product` for `quantity` (at `at`), and which list said so.
async fn price_at(
    api: &Api,
    product: &str,
    restaurant: &str,
    quantity: i64,
    at: Option<DateTime<Utc>>,
) -> (String, Option<String>) {
    let body = api
        .graphql(
            PRICE,
            json!({ "id": product, "r": restaurant, "q": quantity, "at": at }),
        )
        .await;
    let price = &ok(body)["product"]["price"];
    (
        price["unitPrice"]["amount"].as_str().unwrap().to_owned(),
        price["appliedPriceList"]["name"]
            .as_str()
            .map(str::to_owned),
    )
}

/// Supplier B's contract with the market's restaurant (priority 5: b1 at 90, 85 from 10
/// units), and a campaign for every customer (priority 1: 20 % off b1, 79.60).
async fn contract_and_campaign(m: &Market) -> (String, String) {
    let contract = create_list(
        &m.seller_b,
        json!({
            "supplierId": m.supplier_b, "name": "Contract", "priority": 5,
            "entries": [
                { "productId": m.b1, "price": "90" },
                { "productId": m.b1, "minQuantity": 10, "price": "85" },
            ],
        }),
    )
    .await;
    assign(
        &m.seller_b,
        json!({ "priceListId": contract, "restaurantIds": [m.restaurant] }),
    )
    .await;
    let campaign = create_list(
        &m.seller_b,
        json!({
            "supplierId": m.supplier_b, "name": "Campaign", "priority": 1,
            "entries": [{ "productId": m.b1, "percentOff": "20" }],
        }),
    )
    .await;
    assign(
        &m.seller_b,
        json!({ "priceListId": campaign, "allCustomers": true }),
    )
    .await;
    (contract, campaign)
}

#[tokio::test]
async fn priority_then_price_decide_and_tiers_start_at_their_break() {
    let m = market(&[]).await;
    contract_and_campaign(&m).await;
    // Priority beats the campaign's lower price; the tier starts at exactly 10 units.
    assert_eq!(
        price_at(&m.chef, &m.b1, &m.restaurant, 9, None).await,
        ("90".into(), Some("Contract".into()))
    );
    assert_eq!(
        price_at(&m.chef, &m.b1, &m.restaurant, 10, None).await,
        ("85".into(), Some("Contract".into()))
    );
    // The other restaurant has no contract: the campaign (every customer) applies.
    assert_eq!(
        price_at(&m.other_chef, &m.b1, &m.other_restaurant, 1, None).await,
        ("79.6".into(), Some("Campaign".into()))
    );
    // A product no list names costs its list price.
    assert_eq!(
        price_at(&m.chef, &m.b2, &m.restaurant, 1, None).await,
        ("1".into(), None)
    );
    // Equal priority: the lower price wins.
    let cheaper = create_list(
        &m.seller_b,
        json!({
            "supplierId": m.supplier_b, "name": "Also five", "priority": 5,
            "entries": [{ "productId": m.b1, "price": "88" }],
        }),
    )
    .await;
    assign(
        &m.seller_b,
        json!({ "priceListId": cheaper, "restaurantIds": [m.restaurant] }),
    )
    .await;
    assert_eq!(
        price_at(&m.chef, &m.b1, &m.restaurant, 1, None).await,
        ("88".into(), Some("Also five".into()))
    );
    // The products list in the restaurant's context shows the same price.
    let listed = ok(m
        .chef
        .graphql(
            "query($r: ID!, $s: ID!) { products(restaurantId: $r, filter: {supplierId: $s}, first: 10) { edges { node { sku price(quantity: 10) { unitPrice { amount } appliedPriceList { name } } } } } }",
            json!({ "r": m.restaurant, "s": m.supplier_b }),
        )
        .await);
    let b1 = listed["products"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["sku"] == "B-1")
        .cloned()
        .unwrap();
    assert_eq!(b1["node"]["price"]["unitPrice"]["amount"], "85", "{b1}");
}

#[tokio::test]
async fn a_window_applies_from_its_first_instant_until_just_before_its_end() {
    let m = market(&[]).await;
    contract_and_campaign(&m).await;
    // Whole seconds: the boundary instants are exactly what is stored.
    let now = Utc::now();
    let from: DateTime<Utc> = now
        - chrono::Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos()))
        + chrono::Duration::hours(2);
    let to = from + chrono::Duration::days(7);
    let week = create_list(
        &m.seller_b,
        json!({
            "supplierId": m.supplier_b, "name": "Week 50", "priority": 9,
            "validFrom": from, "validTo": to,
            "entries": [{ "productId": m.b1, "price": "70" }],
        }),
    )
    .await;
    assign(
        &m.seller_b,
        json!({ "priceListId": week, "restaurantIds": [m.restaurant] }),
    )
    .await;
    let at = |t: DateTime<Utc>| price_at(&m.chef, &m.b1, &m.restaurant, 1, Some(t));
    let ms = chrono::Duration::milliseconds(1);
    assert_eq!(at(from - ms).await.0, "90");
    assert_eq!(at(from).await, ("70".into(), Some("Week 50".into())));
    assert_eq!(at(to - ms).await.0, "70");
    assert_eq!(at(to).await.0, "90");
    // Now, before the window opens, the contract still applies.
    assert_eq!(
        price_at(&m.chef, &m.b1, &m.restaurant, 1, None).await.0,
        "90"
    );
    // Bad windows and entries are named.
    let bad = m
        .seller_b
        .graphql(
            CREATE,
            json!({ "input": {
                "supplierId": m.supplier_b, "name": "Bad",
                "validFrom": to, "validTo": from,
                "entries": [
                    { "productId": m.b1, "price": "1", "percentOff": "5" },
                    { "productId": m.a1, "price": "1" },
                ],
            } }),
        )
        .await;
    assert_eq!(error(&bad).0, "VALIDATION", "{bad}");
    let named = fields(&bad);
    for field in ["validTo", "entries[0].price", "entries[1].productId"] {
        assert!(named.iter().any(|f| f == field), "{field}: {bad}");
    }
}

#[tokio::test]
async fn an_order_keeps_the_price_and_list_it_was_placed_at() {
    let m = market(&[]).await;
    let (contract, _) = contract_and_campaign(&m).await;
    let placed = ok(m
        .chef
        .graphql(
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id subtotal { amount } lines { unitPrice { amount } listUnitPrice { amount } lineTotal { amount } appliedPriceList { id name minQuantity } } } } }",
            json!({ "input": m.order_b(&m.b1, 10) }),
        )
        .await);
    let order = &placed["placeOrder"]["order"];
    let line = &order["lines"][0];
    assert_eq!(line["unitPrice"]["amount"], "85", "{order}");
    assert_eq!(line["listUnitPrice"]["amount"], "99.5", "{order}");
    assert_eq!(line["lineTotal"]["amount"], "850", "{order}");
    assert_eq!(order["subtotal"]["amount"], "850", "{order}");
    assert_eq!(line["appliedPriceList"]["name"], "Contract");
    assert_eq!(line["appliedPriceList"]["minQuantity"], 10);
    // The list changes and goes; the order does not.
    let renamed = ok(m
        .seller_b
        .graphql(
            "mutation($id: ID!, $p: ID!) { updatePriceList(input: {id: $id, name: \"Renamed\", entries: [{productId: $p, price: \"50\"}]}) { priceList { name entries { tiers { price { amount } } } } } }",
            json!({ "id": contract, "p": m.b1 }),
        )
        .await);
    assert_eq!(renamed["updatePriceList"]["priceList"]["name"], "Renamed");
    ok(m.seller_b
        .graphql(
            "mutation($id: ID!) { deletePriceList(input: {id: $id}) { deletedId } }",
            json!({ "id": contract }),
        )
        .await);
    let again = ok(m
        .chef
        .graphql(
            "query($id: ID!) { order(id: $id) { lines { unitPrice { amount } appliedPriceList { name } } } }",
            json!({ "id": order["id"] }),
        )
        .await);
    assert_eq!(again["order"]["lines"][0]["unitPrice"]["amount"], "85");
    assert_eq!(
        again["order"]["lines"][0]["appliedPriceList"]["name"],
        "Contract"
    );
    // The restaurant's next order pays the campaign price.
    assert_eq!(
        price_at(&m.chef, &m.b1, &m.restaurant, 10, None).await,
        ("79.6".into(), Some("Campaign".into()))
    );
    // The cart shows what checkout will charge.
    ok(m.chef
        .graphql(
            "mutation($r: ID!, $p: ID!) { addToCart(input: {restaurantId: $r, productId: $p, quantity: 2}) { cart { updatedAt } } }",
            json!({ "r": m.restaurant, "p": m.b1 }),
        )
        .await);
    let cart = ok(m
        .chef
        .graphql(
            "query($r: ID!) { cart(restaurantId: $r) { items { lineTotal { amount } price { unitPrice { amount } appliedPriceList { name } } product { price { unitPrice { amount } } } } } }",
            json!({ "r": m.restaurant }),
        )
        .await);
    let item = &cart["cart"]["items"][0];
    assert_eq!(item["lineTotal"]["amount"], "159.2", "{cart}");
    assert_eq!(item["price"]["appliedPriceList"]["name"], "Campaign");
    assert_eq!(item["product"]["price"]["unitPrice"]["amount"], "79.6");
}

#[tokio::test]
async fn only_the_two_parties_and_admins_see_a_restaurants_price() {
    let m = market(&[]).await;
    contract_and_campaign(&m).await;
    let refused = |body: Value| error(&body).0.to_owned();
    let asked = json!({ "id": m.b1, "r": m.restaurant, "q": 1 });
    // Another restaurant, and another supplier, never see it.
    assert_eq!(
        refused(m.other_chef.graphql(PRICE, asked.clone()).await),
        "FORBIDDEN"
    );
    assert_eq!(
        refused(m.seller.graphql(PRICE, asked.clone()).await),
        "FORBIDDEN"
    );
    assert_eq!(
        refused(m.chef.anonymous().graphql(PRICE, asked.clone()).await),
        "UNAUTHENTICATED"
    );
    // The restaurant, the supplier and admins do.
    for api in [&m.chef, &m.seller_b, &m.admin] {
        let body = api.graphql(PRICE, asked.clone()).await;
        assert_eq!(ok(body)["product"]["price"]["unitPrice"]["amount"], "90");
    }
    // Listing products in another restaurant's context is refused.
    let body = m
        .other_chef
        .graphql(
            "query($r: ID!) { products(restaurantId: $r) { edges { node { id } } } }",
            json!({ "r": m.restaurant }),
        )
        .await;
    assert_eq!(error(&body).0, "FORBIDDEN", "{body}");
    // A supplier's lists are its own.
    for api in [&m.chef, &m.seller] {
        let body = api
            .graphql(
                "query($s: ID!) { priceLists(supplierId: $s) { edges { node { id } } } }",
                json!({ "s": m.supplier_b }),
            )
            .await;
        assert_eq!(error(&body).0, "FORBIDDEN", "{body}");
    }
    // REST says the same.
    let path = format!(
        "/api/v1/products/{}/price?restaurantId={}&quantity=10",
        m.b1, m.restaurant
    );
    let (status, _) = m.other_chef.send(reqwest::Method::GET, &path, None).await;
    assert_eq!(status, 403);
    let (status, body) = m.chef.send(reqwest::Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["unitPrice"]["amount"], "85", "{body}");
    assert_eq!(body["data"]["appliedPriceList"]["tier"]["minQuantity"], 10);
    let (status, _) = m
        .seller
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/suppliers/{}/price-lists", m.supplier_b),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, lists) = m
        .seller_b
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/suppliers/{}/price-lists", m.supplier_b),
            None,
        )
        .await;
    assert_eq!(status, 200, "{lists}");
    assert_eq!(lists["pagination"]["total"], 2, "{lists}");
}

#[tokio::test]
async fn price_lists_are_managed_over_rest_with_customer_groups() {
    let m = market(&[]).await;
    let base = format!("/api/v1/suppliers/{}/price-lists", m.supplier_b);
    let (status, created) = m
        .seller_b
        .send(
            reqwest::Method::POST,
            &base,
            Some(json!({
                "name": "Kedjor", "priority": 3,
                "entries": [{ "productId": m.b3, "percentOff": "10" }],
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (status, group) = m
        .seller_b
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/suppliers/{}/customer-groups/Kedjor", m.supplier_b),
            Some(json!({ "restaurantIds": [m.other_restaurant] })),
        )
        .await;
    assert_eq!(status, 200, "{group}");
    let (status, assigned) = m
        .seller_b
        .send(
            reqwest::Method::POST,
            &format!("{base}/{id}/assign"),
            Some(json!({ "customerGroups": ["Kedjor"] })),
        )
        .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(
        assigned["data"]["assignments"][0]["customerGroup"],
        "Kedjor"
    );
    // The group's restaurant pays 10 % less; the other does not.
    assert_eq!(
        price_at(&m.other_chef, &m.b3, &m.other_restaurant, 1, None).await,
        ("1.8".into(), Some("Kedjor".into()))
    );
    assert_eq!(
        price_at(&m.chef, &m.b3, &m.restaurant, 1, None).await,
        ("2".into(), None)
    );
    // Leaving the group ends the price.
    let (status, _) = m
        .seller_b
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/suppliers/{}/customer-groups/Kedjor", m.supplier_b),
            Some(json!({ "restaurantIds": [] })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        price_at(&m.other_chef, &m.b3, &m.other_restaurant, 1, None).await,
        ("2".into(), None)
    );
    // Changed, then deleted; every step audited.
    let (status, changed) = m
        .seller_b
        .send(
            reqwest::Method::PATCH,
            &format!("{base}/{id}"),
            Some(json!({ "priority": 4, "validTo": null })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["data"]["priority"], 4);
    let (status, _) = m
        .seller_b
        .send(reqwest::Method::DELETE, &format!("{base}/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = m
        .seller_b
        .send(reqwest::Method::GET, &format!("{base}/{id}"), None)
        .await;
    assert_eq!(status, 404);
    let audit = m.admin.get_json("/api/v1/admin/audit?limit=100").await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "price_list.create",
        "customer_group.set",
        "price_list.assign",
        "price_list.update",
        "price_list.delete",
    ] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}

const RULE: &str = "mutation($input: SavePriceRuleInput!) { savePriceRule(input: $input) { priceRule { id floor { kind value } ceiling { kind value } maxStepPercent } } }";
const HISTORY: &str = "query($id: ID!) { product(id: $id) { unitPrice { amount } priceHistory { oldPrice { amount } newPrice { amount } reason ruleId jobRunId signals } } }";

async fn run_refresh(admin: &Api) -> Value {
    let run = ok(admin
        .graphql(
            "mutation { runJob(name: \"refresh-prices\") { run { id status stats } } }",
            json!({}),
        )
        .await);
    assert_eq!(run["runJob"]["run"]["status"], "SUCCEEDED", "{run}");
    run["runJob"]["run"].clone()
}

#[tokio::test]
async fn short_cover_raises_the_price_within_its_bounds_and_buyers_hear_of_it() {
    let m = market(&DELIVERING).await;
    // The restaurant buys all 100 buns: none left for 100 / 28 a day — short cover.
    let placed = ok(m
        .chef
        .graphql(
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id lines { unitPrice { amount } } } } }",
            json!({ "input": m.order_b(&m.b2, 100) }),
        )
        .await);
    let order = placed["placeOrder"]["order"]["id"].clone();
    let rule = ok(m
        .seller_b
        .graphql(
            RULE,
            json!({ "input": {
                "supplierId": m.supplier_b, "productId": m.b2,
                "floor": { "kind": "PERCENT_OF_BASE", "value": "90" },
                "ceiling": { "kind": "ABSOLUTE", "value": "1.08" },
                "maxStepPercent": "5",
            } }),
        )
        .await);
    assert_eq!(rule["savePriceRule"]["priceRule"]["maxStepPercent"], "5");
    // The dry run shows the change and writes nothing.
    let preview = ok(m
        .seller_b
        .graphql(
            "query($s: ID!) { previewPriceRefresh(supplierId: $s) { products changed changes { sku oldPrice { amount } newPrice { amount } reason coverDays demandSource } } }",
            json!({ "s": m.supplier_b }),
        )
        .await)["previewPriceRefresh"]
        .clone();
    assert_eq!(preview["changed"], 1, "{preview}");
    assert_eq!(preview["changes"][0]["sku"], "B-2");
    assert_eq!(preview["changes"][0]["newPrice"]["amount"], "1.05");
    assert_eq!(preview["changes"][0]["reason"], "short cover");
    assert_eq!(preview["changes"][0]["demandSource"], "RECENT_ORDERS");
    let untouched = ok(m.chef.graphql(HISTORY, json!({ "id": m.b2 })).await);
    assert_eq!(untouched["product"]["unitPrice"]["amount"], "1");
    assert_eq!(untouched["product"]["priceHistory"], json!([]));
    // Runs move it by at most 5 % each, never past the ceiling.
    let first = run_refresh(&m.admin).await;
    assert_eq!(first["stats"]["changed"], 1, "{first}");
    let mut seen = Vec::new();
    for _ in 0..3 {
        run_refresh(&m.admin).await;
        let now = ok(m.chef.graphql(HISTORY, json!({ "id": m.b2 })).await);
        seen.push(
            now["product"]["unitPrice"]["amount"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(seen, ["1.08", "1.08", "1.08"], "capped at the ceiling");
    // Why it moved (the rule, the run, the stock) is the supplier's to see; the price is public.
    let public = ok(m.chef.graphql(HISTORY, json!({ "id": m.b2 })).await);
    let seen_by_buyer = &public["product"]["priceHistory"][0];
    assert_eq!(seen_by_buyer["newPrice"]["amount"], "1.08");
    assert!(
        seen_by_buyer["signals"].is_null() && seen_by_buyer["ruleId"].is_null(),
        "{public}"
    );
    let history = ok(m.seller_b.graphql(HISTORY, json!({ "id": m.b2 })).await);
    let changes = history["product"]["priceHistory"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{history}");
    assert_eq!(changes[1]["oldPrice"]["amount"], "1");
    assert_eq!(changes[1]["newPrice"]["amount"], "1.05");
    assert_eq!(changes[1]["jobRunId"], first["id"]);
    assert_eq!(changes[1]["signals"]["onHand"], 0, "{history}");
    assert_eq!(changes[0]["newPrice"]["amount"], "1.08");
    let metrics = m
        .chef
        .anonymous()
        .get("/metrics")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("iris_pricing_job_duration_seconds_count{status=\"SUCCEEDED\"} 4"),
        "the pricing job's duration is measured"
    );
    // The order keeps its price; the buyer hears of the new one.
    let kept = ok(m
        .chef
        .graphql(
            "query($id: ID!) { order(id: $id) { lines { unitPrice { amount } } } }",
            json!({ "id": order }),
        )
        .await);
    assert_eq!(kept["order"]["lines"][0]["unitPrice"]["amount"], "1");
    let mut heard = Value::Null;
    for _ in 0..50 {
        heard = notifications(&m.chef, 1).await;
        if heard["notifications"]["edges"].as_array().is_some_and(|e| {
            e.iter()
                .any(|n| n["node"]["kind"] == "product.price_changed")
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        heard.to_string().contains("product.price_changed"),
        "no price notification: {heard}"
    );
    // Someone who never bought it hears nothing.
    let other = notifications(&m.other_chef, 0).await;
    assert!(
        !other.to_string().contains("product.price_changed"),
        "{other}"
    );
    // Bad rules are named.
    let bad = m
        .seller_b
        .graphql(
            RULE,
            json!({ "input": {
                "supplierId": m.supplier_b, "category": "Test",
                "floor": { "kind": "ABSOLUTE", "value": "5" },
                "ceiling": { "kind": "ABSOLUTE", "value": "2" },
                "maxStepPercent": "80",
            } }),
        )
        .await;
    assert_eq!(error(&bad).0, "VALIDATION", "{bad}");
    let named = fields(&bad);
    assert!(named.iter().any(|f| f == "ceiling"), "{bad}");
    assert!(named.iter().any(|f| f == "maxStepPercent"), "{bad}");
    // Another supplier cannot set rules on B's products.
    let refused = m
        .seller
        .graphql(
            RULE,
            json!({ "input": {
                "supplierId": m.supplier_b, "productId": m.b2,
                "floor": { "kind": "ABSOLUTE", "value": "1" },
                "ceiling": { "kind": "ABSOLUTE", "value": "2" },
                "maxStepPercent": "5",
            } }),
        )
        .await;
    assert_eq!(error(&refused).0, "FORBIDDEN", "{refused}");
}

#[tokio::test]
async fn recommendations_show_every_component_of_the_score() {
    let m = market(&[]).await;
    async fn locate(api: &Api, mutation: &str, id: &str, lat: &str, lon: &str) {
        let query = format!(
            "mutation($id: ID!, $lat: Decimal!, $lon: Decimal!) {{ {mutation}(input: {{id: $id, latitude: $lat, longitude: $lon}}) {{ __typename }} }}"
        );
        ok(api
            .graphql(&query, json!({ "id": id, "lat": lat, "lon": lon }))
            .await);
    }
    // Malmö restaurant; supplier A in Lund (about 17 km), B in Stockholm (about 510 km).
    locate(
        &m.chef,
        "setRestaurantLocation",
        &m.restaurant,
        "55.6050",
        "13.0038",
    )
    .await;
    locate(
        &m.seller,
        "setSupplierLocation",
        &m.supplier_a,
        "55.7047",
        "13.1910",
    )
    .await;
    locate(
        &m.seller_b,
        "setSupplierLocation",
        &m.supplier_b,
        "59.3293",
        "18.0686",
    )
    .await;
    let bad = m
        .chef
        .graphql(
            "mutation($id: ID!) { setRestaurantLocation(input: {id: $id, latitude: \"91\", longitude: \"0\"}) { __typename } }",
            json!({ "id": m.restaurant }),
        )
        .await;
    assert_eq!(fields(&bad), ["latitude"], "{bad}");
    let found = ok(m
        .chef
        .graphql(
            "query($r: ID!) { recommendedSuppliers(restaurantId: $r, category: \"Test\") { weights { reliability price distance } suppliers { supplier { name } score reliability price proximity distanceKm coverage basketCost { amount } matchingProducts } } }",
            json!({ "r": m.restaurant }),
        )
        .await)["recommendedSuppliers"]
        .clone();
    let w = &found["weights"];
    let sum = w["reliability"].as_f64().unwrap()
        + w["price"].as_f64().unwrap()
        + w["distance"].as_f64().unwrap();
    assert!((sum - 1.0).abs() < 1e-9, "{found}");
    let suppliers = found["suppliers"].as_array().unwrap();
    assert_eq!(suppliers.len(), 2, "{found}");
    let by_name = |name: &str| {
        suppliers
            .iter()
            .find(|s| s["supplier"]["name"] == name)
            .cloned()
            .unwrap()
    };
    let (alfa, beta) = (by_name("Alfa Grossist AB"), by_name("Beta Bröd AB"));
    let km = |s: &Value| s["distanceKm"].as_f64().unwrap();
    assert!((10.0..25.0).contains(&km(&alfa)), "{alfa}");
    assert!((450.0..550.0).contains(&km(&beta)), "{beta}");
    assert!(alfa["proximity"].as_f64() > beta["proximity"].as_f64());
    for s in suppliers {
        let score = s["score"].as_f64().unwrap();
        let expected = w["reliability"].as_f64().unwrap() * s["reliability"].as_f64().unwrap()
            + w["price"].as_f64().unwrap() * s["price"].as_f64().unwrap()
            + w["distance"].as_f64().unwrap() * s["proximity"].as_f64().unwrap();
        assert!((score - expected).abs() < 1e-3, "{s}");
    }
    // Best first.
    assert!(suppliers[0]["score"].as_f64() >= suppliers[1]["score"].as_f64());
    // Equivalents compare per kg, priced for the restaurant; the product itself is one of them.
    let compared = ok(m
        .chef
        .graphql(
            "query($r: ID!, $p: ID!) { comparePrices(restaurantId: $r, productId: $p) { product { sku } comparableUnit comparablePrice { amount } similarity } }",
            json!({ "r": m.restaurant, "p": m.a1 }),
        )
        .await)["comparePrices"]
        .clone();
    let itself = compared
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["product"]["sku"] == "A-1")
        .cloned()
        .unwrap_or_else(|| panic!("{compared}"));
    assert_eq!(itself["comparableUnit"], "KG");
    assert_eq!(itself["comparablePrice"]["amount"], "10.125");
    assert_eq!(itself["similarity"], 1.0);
    // Another restaurant's recommendations are not the chef's to ask for.
    let refused = m
        .chef
        .graphql(
            "query($r: ID!) { recommendedSuppliers(restaurantId: $r, category: \"Test\") { weights { price } } }",
            json!({ "r": m.other_restaurant }),
        )
        .await;
    assert_eq!(error(&refused).0, "FORBIDDEN");
}

/// Statements of the request pool so far (from `/metrics`).
async fn statements(api: &Api) -> u64 {
    let text = api.anonymous().get("/metrics").await.text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("iris_db_statements_total{") && l.contains("pool=\"request\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test]
async fn a_page_of_prices_costs_one_statement_whatever_its_size() {
    // The caller read on every request, so a cache entry expiring mid-test cannot change the count.
    let m = market(&[("CALLER_CACHE_TTL_SECS", "0")]).await;
    let products: Vec<Value> = (0..60)
        .map(|i| json!({ "sku": format!("P-{i:03}"), "name": format!("Vara {i}"), "category": "Test", "unit": "KG", "unitPrice": "10", "stockOnHand": 5 }))
        .collect();
    let upserted = ok(m
        .seller_b
        .graphql(
            crate::orders::UPSERT,
            json!({ "input": { "supplierId": m.supplier_b, "products": products } }),
        )
        .await);
    let entries: Vec<Value> = upserted["upsertProducts"]["products"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            [
                json!({ "productId": p["id"], "percentOff": "10" }),
                json!({ "productId": p["id"], "minQuantity": 3, "percentOff": "20" }),
            ]
        })
        .collect();
    let list = create_list(
        &m.seller_b,
        json!({ "supplierId": m.supplier_b, "name": "Volym", "entries": entries }),
    )
    .await;
    assign(
        &m.seller_b,
        json!({ "priceListId": list, "restaurantIds": [m.restaurant] }),
    )
    .await;
    let plain = "query($r: ID!, $s: ID!, $n: Int!) { products(restaurantId: $r, filter: {supplierId: $s, query: \"Vara\"}, first: $n) { edges { node { sku unitPrice { amount } } } } }";
    let priced = "query($r: ID!, $s: ID!, $n: Int!) { products(restaurantId: $r, filter: {supplierId: $s, query: \"Vara\"}, first: $n) { edges { node { sku price(quantity: 3) { unitPrice { amount } appliedPriceList { name tier { minQuantity } } } } } } }";
    let mut costs = Vec::new();
    for n in [1, 50] {
        for query in [plain, priced] {
            let variables = json!({ "r": m.restaurant, "s": m.supplier_b, "n": n });
            let before = statements(&m.chef).await;
            let body = ok(m.chef.graphql(query, variables).await);
            let after = statements(&m.chef).await;
            let edges = body["products"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), n, "{body}");
            if query == priced {
                assert!(
                    edges
                        .iter()
                        .all(|e| e["node"]["price"]["unitPrice"]["amount"] == "8"),
                    "{body}"
                );
            }
            costs.push(after - before);
        }
    }
    // [plain 1, priced 1, plain 50, priced 50]: the prices are one statement, for 1 or 50.
    assert_eq!(costs[1], costs[0] + 1, "{costs:?}");
    assert_eq!(costs[2], costs[0], "{costs:?}");
    assert_eq!(costs[3], costs[1], "{costs:?}");
    eprintln!("statements per products page (plain 1, priced 1, plain 50, priced 50): {costs:?}");
}
