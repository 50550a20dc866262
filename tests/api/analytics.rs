//! Analytics: spend and sales by party, category and month; price variance against today's
//! list price; days of cover and stock-out days; forecast accuracy; members only.

use chrono::{Duration, Utc, Weekday};
use serde_json::{Value, json};

use crate::orders::{UPSERT, error, fields, market, next, ok};

const SPEND: &str = "query($r: ID!, $by: [SpendDimension!]) { restaurantAnalytics(restaurantId: $r) { spend(by: $by) { partyId partyName category month amount { amount currency } units } } }";

fn noon(days_ago: i64) -> String {
    let day = Utc::now().date_naive() - Duration::days(days_ago);
    day.and_hms_opt(12, 0, 0).unwrap().and_utc().to_rfc3339()
}

#[tokio::test]
async fn spend_sales_and_price_variance_come_from_the_orders_that_stand() {
    let m = market(&[]).await;
    let place = |supplier: &str, product: &str, quantity: i64, day: Weekday| {
        json!({
            "restaurantId": m.restaurant, "supplierId": supplier,
            "lines": [{ "productId": product, "quantity": quantity }],
            "requestedDeliveryDate": next(day, 0),
        })
    };
    // 50 × 10.125 = 506.25 from A; 2 × 99.50 = 199 from B; a cancelled order does not count.
    ok(
        m.place(&m.chef, place(&m.supplier_a, &m.a1, 50, Weekday::Mon))
            .await,
    );
    ok(
        m.place(&m.chef, place(&m.supplier_b, &m.b1, 2, Weekday::Tue))
            .await,
    );
    let cancelled = ok(m
        .place(&m.chef, place(&m.supplier_b, &m.b2, 7, Weekday::Tue))
        .await)["placeOrder"]["order"]["id"]
        .clone();
    ok(m.chef
        .graphql(
            "mutation($id: ID!) { cancelOrder(input: {orderId: $id, reason: \"fel\"}) { order { status } } }",
            json!({ "id": cancelled }),
        )
        .await);

    let total = ok(m.chef.graphql(SPEND, json!({ "r": m.restaurant })).await);
    assert_eq!(
        total["restaurantAnalytics"]["spend"],
        json!([{ "partyId": null, "partyName": null, "category": null, "month": null, "amount": { "amount": "705.25", "currency": "SEK" }, "units": 52 }])
    );
    let by_supplier = ok(m
        .chef
        .graphql(
            SPEND,
            json!({ "r": m.restaurant, "by": ["SUPPLIER", "MONTH"] }),
        )
        .await);
    let month = Utc::now().format("%Y-%m").to_string();
    let rows = by_supplier["restaurantAnalytics"]["spend"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), 2, "{by_supplier}");
    assert_eq!(rows[0]["partyName"], "Alfa Grossist AB");
    assert_eq!(rows[0]["partyId"], m.supplier_a.as_str());
    assert_eq!(rows[0]["amount"]["amount"], "506.25");
    assert_eq!(rows[0]["month"], month.as_str());
    assert_eq!(rows[1]["partyName"], "Beta Bröd AB");
    assert_eq!(rows[1]["amount"]["amount"], "199");
    assert_eq!(rows[1]["category"], Value::Null);

    // The supplier's side: sales by restaurant.
    let sales = ok(m
        .seller
        .graphql(
            "query($s: ID!) { supplierAnalytics(supplierId: $s) { sales(by: [RESTAURANT, CATEGORY]) { partyId partyName category amount { amount } units } } }",
            json!({ "s": m.supplier_a }),
        )
        .await);
    assert_eq!(
        sales["supplierAnalytics"]["sales"],
        json!([{ "partyId": m.restaurant, "partyName": "Bistro Ett", "category": "Test", "amount": { "amount": "506.25" }, "units": 50 }])
    );

    // A raises A-1 to 11: paid 10.125 on average, 0.875 (8.64 %) more now.
    ok(m.seller
        .graphql(
            UPSERT,
            json!({ "input": { "supplierId": m.supplier_a, "products": [
                { "sku": "A-1", "name": "Laxfilé", "category": "Test", "unit": "KG", "unitPrice": "11", "taxRate": "12", "stockOnHand": 1000 }
            ] } }),
        )
        .await);
    let variance = ok(m
        .chef
        .graphql(
            "query($r: ID!) { restaurantAnalytics(restaurantId: $r) { priceVariance { productId units averagePaid { amount } currentPrice { amount } variance { amount } variancePercent } } }",
            json!({ "r": m.restaurant }),
        )
        .await);
    let rows = variance["restaurantAnalytics"]["priceVariance"]
        .as_array()
        .unwrap();
    assert_eq!(
        rows[0],
        json!({ "productId": m.a1, "units": 50, "averagePaid": { "amount": "10.125" }, "currentPrice": { "amount": "11" }, "variance": { "amount": "0.875" }, "variancePercent": "8.64" }),
        "{variance}"
    );
    assert_eq!(rows[1]["variancePercent"], "0", "B-1 unchanged: {variance}");

    // REST: the same figures.
    use reqwest::Method;
    let (status, body) = m
        .chef
        .send(
            Method::GET,
            &format!(
                "/api/v1/analytics/restaurants/{}/spend?by=SUPPLIER",
                m.restaurant
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["amount"]["amount"], "506.25", "{body}");
    let (status, body) = m
        .chef
        .send(
            Method::GET,
            &format!(
                "/api/v1/analytics/restaurants/{}/spend?by=RESTAURANT",
                m.restaurant
            ),
            None,
        )
        .await;
    assert_eq!(
        status, 422,
        "a restaurant's spend is not by restaurant: {body}"
    );
    let (status, _) = m
        .seller
        .send(
            Method::GET,
            &format!(
                "/api/v1/analytics/suppliers/{}/sales?by=RESTAURANT,MONTH",
                m.supplier_a
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Members only; a period must run forwards.
    for (api, code) in [(&m.other_chef, "FORBIDDEN"), (&m.seller, "FORBIDDEN")] {
        let body = api.graphql(SPEND, json!({ "r": m.restaurant })).await;
        assert_eq!(error(&body).0, code, "{body}");
    }
    let body = m
        .seller_b
        .graphql(
            "query($s: ID!) { supplierAnalytics(supplierId: $s) { sales { units } } }",
            json!({ "s": m.supplier_a }),
        )
        .await;
    assert_eq!(error(&body).0, "FORBIDDEN", "{body}");
    let body = m
        .chef
        .graphql(
            "query($r: ID!, $from: DateTime, $to: DateTime) { restaurantAnalytics(restaurantId: $r, from: $from, to: $to) { spend { units } } }",
            json!({ "r": m.restaurant, "from": noon(1), "to": noon(2) }),
        )
        .await;
    assert_eq!(fields(&body), ["from"], "{body}");
}

#[tokio::test]
async fn cover_counts_the_days_that_closed_empty_and_the_days_the_stock_will_last() {
    let m = market(&[]).await;
    let item = ok(m
        .chef
        .graphql(
            "mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { item { id } } }",
            json!({ "input": { "restaurantId": m.restaurant, "productId": m.a1 } }),
        )
        .await)["createInventoryItem"]["item"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let record = |query: &'static str, input: Value| {
        let api = &m.chef;
        async move { ok(api.graphql(query, json!({ "input": input })).await) }
    };
    const COUNT: &str = "mutation($input: RecordStocktakeInput!) { recordStocktake(input: $input) { item { onHand } } }";
    const USE: &str =
        "mutation($input: RecordOutflowInput!) { recordUsage(input: $input) { item { onHand } } }";
    // 3 counted five days ago; 5 used three days ago: the last three days closed at −2.
    record(
        COUNT,
        json!({ "itemId": item, "counted": 3, "occurredAt": noon(5) }),
    )
    .await;
    record(
        USE,
        json!({ "itemId": item, "quantity": 5, "occurredAt": noon(3) }),
    )
    .await;
    record(COUNT, json!({ "itemId": item, "counted": 10 })).await;

    // A forecast from the usage: three days is short, so the mean (5 / 3 a day), and says so.
    let run = ok(m
        .admin
        .graphql(
            "mutation { runJob(name: \"forecast-demand\") { run { status } } }",
            json!({}),
        )
        .await);
    assert_eq!(run["runJob"]["run"]["status"], "SUCCEEDED");

    let cover = ok(m
        .chef
        .graphql(
            "query($r: ID!, $from: DateTime) { restaurantAnalytics(restaurantId: $r, from: $from) { cover { itemId onHand dailyDemand daysOfCover stockOutDays outOfStock } forecastAccuracy { productId productName model smape } } }",
            json!({ "r": m.restaurant, "from": noon(10) }),
        )
        .await);
    let analytics = &cover["restaurantAnalytics"];
    assert_eq!(
        analytics["cover"],
        json!([{ "itemId": item, "onHand": "10", "dailyDemand": "1.667", "daysOfCover": "6", "stockOutDays": 3, "outOfStock": false }])
    );
    assert_eq!(
        analytics["forecastAccuracy"],
        json!([{ "productId": m.a1, "productName": "Laxfilé", "model": "MEAN", "smape": null }])
    );
}
