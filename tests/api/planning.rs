//! Planning: usage history → the `forecast-demand` job → stored forecasts with intervals,
//! model and accuracy → reorder suggestions per supplier (policies, minimum order values,
//! delivery days, what is on order) → the cart → checkout; members only.

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::orders::{Market, error, fields, market, next, ok};

const CREATE_ITEM: &str = "mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { item { id } } }";
const SET_POLICY: &str = "mutation($input: SetReorderPolicyInput!) { setReorderPolicy(input: $input) { policy { itemId kind set min max orderCost holdingCost serviceLevel } } }";
const SUGGESTIONS: &str = "query($r: ID!) { reorderSuggestions(restaurantId: $r) { restaurantId suppliers { supplierId supplierName deliveryDate leadDays subtotal { amount currency } minimumOrderValue { amount } belowMinimum shortfall { amount } lines { itemId productId policy onHand onOrder packSize quantity cartQuantity forecastDemand safetyStock reorderPoint orderUpTo reason lineTotal { amount } } } skipped { itemId reason } } }";
const FORECAST: &str = "query($r: ID, $s: ID, $p: ID!) { forecast(restaurantId: $r, supplierId: $s, productId: $p) { productId ownerId source model historyDays stale generatedAt accuracy { smape mase seasonalNaiveSmape } points { date quantity lower80 upper80 lower95 upper95 } } }";
const RUN: &str = "mutation { runJob(name: \"forecast-demand\") { run { status stats error } } }";

/// Kitchen use by weekday, Monday first: the weekly rhythm the forecast must find.
const WEEK: [f64; 7] = [0.7, 0.8, 0.9, 1.0, 1.4, 1.6, 0.6];

fn d(text: &str) -> Decimal {
    text.parse().unwrap_or_else(|_| panic!("a decimal: {text}"))
}

fn dec(value: &Value) -> Decimal {
    d(value
        .as_str()
        .unwrap_or_else(|| panic!("a decimal string: {value}")))
}

async fn item(m: &Market, product: &str, extra: Value) -> String {
    let mut input = json!({ "restaurantId": m.restaurant, "productId": product });
    if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
        input.extend(extra.clone());
    }
    ok(m.chef.graphql(CREATE_ITEM, json!({ "input": input })).await)["createInventoryItem"]["item"]
        ["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `days` of daily usage up to yesterday, `base` a day on average with the weekly rhythm and
/// a little deterministic noise — recorded through `recordUsage`, a week per request.
async fn record_history(m: &Market, item: &str, base: f64, days: i64) {
    let today = Utc::now().date_naive();
    let mut day = days;
    while day > 0 {
        let mut fields = Vec::new();
        for _ in 0..7 {
            if day == 0 {
                break;
            }
            let date = today - Duration::days(day);
            let noise = ((day * 37) % 11 - 5) as f64 / 100.0;
            let used = base * WEEK[date.weekday().num_days_from_monday() as usize] * (1.0 + noise);
            let at = date.and_hms_opt(19, 0, 0).unwrap().and_utc().to_rfc3339();
            fields.push(format!(
                "d{day}: recordUsage(input: {{ itemId: \"{item}\", quantity: \"{used:.3}\", occurredAt: \"{at}\" }}) {{ item {{ id }} }}"
            ));
            day -= 1;
        }
        ok(m.chef
            .graphql(&format!("mutation {{ {} }}", fields.join(" ")), json!({}))
            .await);
    }
}

async fn suggestions(m: &Market) -> Value {
    ok(m.chef
        .graphql(SUGGESTIONS, json!({ "r": m.restaurant }))
        .await)["reorderSuggestions"]
        .clone()
}

fn group<'a>(suggestions: &'a Value, supplier: &str) -> &'a Value {
    suggestions["suppliers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["supplierId"] == supplier)
        .unwrap_or_else(|| panic!("a group for {supplier}: {suggestions}"))
}

#[tokio::test]
async fn the_loop_from_usage_history_to_forecast_to_suggestion_to_cart_to_checkout() {
    // The outbox dispatcher runs (it marks forecasts stale as orders are placed).
    let m = market(&[("SCHEDULER_ENABLED", "true"), ("OUTBOX_POLL_MS", "100")]).await;
    // Olive oil from supplier A (Mondays and Thursdays), in packs of 6; 8 weeks of usage.
    let oil = item(&m, &m.a1, json!({ "packSize": 6 })).await;
    record_history(&m, &oil, 10.0, 56).await;
    // Bread from supplier B (every day): two weeks only.
    let bread = item(&m, &m.b2, json!({})).await;
    record_history(&m, &bread, 4.0, 14).await;
    ok(m.chef
        .graphql(
            SET_POLICY,
            json!({ "input": { "itemId": oil, "kind": "FORECAST_COVER", "serviceLevel": "0.9" } }),
        )
        .await);

    // Before the first run there is no forecast, and the forecast policy says why it waits.
    let none = ok(m
        .chef
        .graphql(FORECAST, json!({ "r": m.restaurant, "p": m.a1 }))
        .await);
    assert_eq!(none["forecast"], Value::Null);
    let waiting = suggestions(&m).await;
    let skipped = waiting["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["itemId"] == oil.as_str()
                && s["reason"].as_str().unwrap().contains("forecast")),
        "{waiting}"
    );

    // The nightly job, run now: every series forecast, progress and stats recorded.
    let run = ok(m.admin.graphql(RUN, json!({})).await);
    let run = &run["runJob"]["run"];
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["stats"]["series"], 2, "{run}");
    assert_eq!(run["stats"]["models"]["MSTL_ETS"], 1, "{run}");
    // The product spec's metric counts the run.
    let metrics = m
        .chef
        .anonymous()
        .get("/metrics")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("iris_forecast_job_duration_seconds_count 1"),
        "{metrics}"
    );

    let forecast = ok(m
        .chef
        .graphql(FORECAST, json!({ "r": m.restaurant, "p": m.a1 }))
        .await)["forecast"]
        .clone();
    assert_eq!(forecast["model"], "MSTL_ETS", "{forecast}");
    assert_eq!(forecast["source"], "USAGE");
    assert_eq!(forecast["historyDays"], 56);
    assert_eq!(forecast["stale"], false);
    let accuracy = &forecast["accuracy"];
    assert!(
        accuracy["smape"].as_f64().unwrap() <= accuracy["seasonalNaiveSmape"].as_f64().unwrap(),
        "the model used backtested at least as well as seasonal-naive: {accuracy}"
    );
    let points = forecast["points"].as_array().unwrap();
    assert_eq!(points.len(), 30, "30 days from today");
    let today = Utc::now().date_naive();
    assert_eq!(points[0]["date"], today.to_string());
    let by_weekday = |day: Weekday| -> Decimal {
        let p = points
            .iter()
            .find(|p| {
                NaiveDate::parse_from_str(p["date"].as_str().unwrap(), "%Y-%m-%d")
                    .unwrap()
                    .weekday()
                    == day
            })
            .unwrap();
        dec(&p["quantity"])
    };
    assert!(
        by_weekday(Weekday::Sat) > d("1.8") * by_weekday(Weekday::Sun),
        "Saturdays are busier than Sundays: {forecast}"
    );
    for p in points {
        let [lo95, lo80, point, hi80, hi95] =
            ["lower95", "lower80", "quantity", "upper80", "upper95"].map(|k| dec(&p[k]));
        assert!(
            lo95 <= lo80 && lo80 <= point && point <= hi80 && hi80 <= hi95,
            "{p}"
        );
    }
    // Two weeks of bread: seasonal-naive, and it says so.
    let bread_forecast = ok(m
        .chef
        .graphql(FORECAST, json!({ "r": m.restaurant, "p": m.b2 }))
        .await)["forecast"]
        .clone();
    assert_eq!(
        bread_forecast["model"], "SEASONAL_NAIVE",
        "{bread_forecast}"
    );

    // The suggestion: what the forecast says until the delivery after next, plus safety
    // stock, minus what is there, in whole packs of 6.
    let all = suggestions(&m).await;
    let a = group(&all, &m.supplier_a);
    let delivery =
        NaiveDate::parse_from_str(a["deliveryDate"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert!(delivery > today);
    assert!(matches!(delivery.weekday(), Weekday::Mon | Weekday::Thu));
    assert_eq!(a["leadDays"], (delivery - today).num_days());
    let line = &a["lines"][0];
    assert_eq!(line["itemId"], oil.as_str(), "{a}");
    assert_eq!(line["policy"], "FORECAST_COVER");
    let (quantity, demand, safety, on_hand) = (
        dec(&line["quantity"]),
        dec(&line["forecastDemand"]),
        dec(&line["safetyStock"]),
        dec(&line["onHand"]),
    );
    let need = demand + safety - on_hand;
    assert_eq!(quantity % d("6"), Decimal::ZERO, "whole packs: {line}");
    assert!(quantity >= need && quantity - d("6") < need, "{line}");
    assert!(safety > Decimal::ZERO, "{line}");
    // The cover runs from tomorrow to the delivery after next: 3–4 days to the next of
    // Monday/Thursday plus 3–4 days to the one after, at 7–16 a day.
    assert!(demand > d("40") && demand < d("130"), "{line}");
    let subtotal = dec(&a["subtotal"]["amount"]);
    assert_eq!(subtotal, dec(&line["lineTotal"]["amount"]));
    assert_eq!(a["belowMinimum"], subtotal < d("500"));

    // Into the cart, then checkout: one order per supplier.
    let applied = ok(m
        .chef
        .graphql(
            "mutation($input: ApplyReorderSuggestionsInput!) { applyReorderSuggestions(input: $input) { applied { productId cartQuantity } cart { items { quantity product { id } } } } }",
            json!({ "input": { "restaurantId": m.restaurant, "productIds": [m.a1] } }),
        )
        .await)["applyReorderSuggestions"]
        .clone();
    assert_eq!(applied["applied"].as_array().unwrap().len(), 1, "{applied}");
    let items = applied["cart"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{applied}");
    assert_eq!(items[0]["product"]["id"], m.a1.as_str());
    assert_eq!(
        Decimal::from(items[0]["quantity"].as_i64().unwrap()),
        quantity
    );
    // Applying again sets the same quantity: nothing doubles.
    ok(m.chef
        .graphql(
            "mutation($input: ApplyReorderSuggestionsInput!) { applyReorderSuggestions(input: $input) { cart { items { quantity } } } }",
            json!({ "input": { "restaurantId": m.restaurant, "productIds": [m.a1] } }),
        )
        .await);
    let checkout = ok(m
        .chef
        .graphql(
            "mutation($input: CheckoutInput!) { checkout(input: $input) { orders { status lines { quantity } } } }",
            json!({ "input": { "restaurantId": m.restaurant, "requestedDeliveryDate": delivery.to_string() } }),
        )
        .await);
    let orders = checkout["checkout"]["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "{checkout}");
    assert_eq!(
        Decimal::from(orders[0]["lines"][0]["quantity"].as_i64().unwrap()),
        quantity
    );

    // What is on order now counts: the suggestion for oil is gone, and the forecast is
    // marked stale until the next run (once the order's event is dispatched).
    let after = suggestions(&m).await;
    assert!(
        !after["suppliers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["supplierId"] == m.supplier_a.as_str()),
        "{after}"
    );
    let mut stale = false;
    for _ in 0..100 {
        let f = ok(m
            .chef
            .graphql(FORECAST, json!({ "r": m.restaurant, "p": m.a1 }))
            .await);
        if f["forecast"]["stale"] == true {
            stale = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        stale,
        "placing an order marks the forecast of its products stale"
    );
}

#[tokio::test]
async fn suggestions_follow_each_policy_minimum_order_values_delivery_days_and_what_is_on_order() {
    let m = market(&[]).await;
    // MIN_MAX on the item's levels: nothing on hand → up to 20 × 10.125 = 202.5, below A's
    // minimum of 500 by 297.5.
    let oil = item(&m, &m.a1, json!({ "parLevel": 10, "targetLevel": 20 })).await;
    // S_S set explicitly on B's bread: s 5, S 50, packs of 8 → 48 (six packs, not past S).
    let bread = item(&m, &m.b2, json!({ "packSize": 8 })).await;
    let policy = ok(m
        .chef
        .graphql(
            SET_POLICY,
            json!({ "input": { "itemId": bread, "kind": "S_S", "min": 5, "max": "50" } }),
        )
        .await);
    assert_eq!(
        policy["setReorderPolicy"]["policy"],
        json!({ "itemId": bread, "kind": "S_S", "set": true, "min": "5", "max": "50", "orderCost": null, "holdingCost": null, "serviceLevel": null })
    );
    // EOQ needs a forecast: skipped, and says why.
    let flour = item(&m, &m.b3, json!({})).await;
    ok(m.chef
        .graphql(
            SET_POLICY,
            json!({ "input": { "itemId": flour, "kind": "EOQ", "orderCost": "150", "holdingCost": "2.5" } }),
        )
        .await);

    let all = suggestions(&m).await;
    let a = group(&all, &m.supplier_a);
    assert_eq!(a["lines"][0]["itemId"], oil.as_str(), "{a}");
    assert_eq!(a["lines"][0]["quantity"], "20", "{a}");
    assert_eq!(a["lines"][0]["policy"], "MIN_MAX");
    assert_eq!(a["lines"][0]["reorderPoint"], "10");
    assert_eq!(a["lines"][0]["orderUpTo"], "20");
    assert_eq!(
        a["subtotal"],
        json!({ "amount": "202.5", "currency": "SEK" })
    );
    assert_eq!(a["minimumOrderValue"]["amount"], "500");
    assert_eq!(a["belowMinimum"], true);
    assert_eq!(a["shortfall"]["amount"], "297.5");
    let delivery =
        NaiveDate::parse_from_str(a["deliveryDate"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert!(
        matches!(delivery.weekday(), Weekday::Mon | Weekday::Thu),
        "{a}"
    );
    assert_eq!(delivery.to_string(), {
        let (mon, thu) = (next(Weekday::Mon, 0), next(Weekday::Thu, 0));
        mon.min(thu)
    });

    let b = group(&all, &m.supplier_b);
    assert_eq!(b["lines"][0]["quantity"], "48", "{b}");
    assert_eq!(b["lines"][0]["policy"], "S_S");
    assert_eq!(b["belowMinimum"], false);
    assert_eq!(b["leadDays"], 1, "B delivers every day");
    let skipped = all["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{all}");
    assert_eq!(skipped[0]["itemId"], flour.as_str());
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("EOQ needs a forecast")
    );

    // 15 of oil on order: position 15 is above min 10, so no line for A.
    ok(m.place(
        &m.chef,
        json!({
            "restaurantId": m.restaurant, "supplierId": m.supplier_a,
            "lines": [{ "productId": m.a1, "quantity": 50 }],
            "requestedDeliveryDate": next(Weekday::Mon, 0),
        }),
    )
    .await);
    let after = suggestions(&m).await;
    assert!(
        after["suppliers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["supplierId"] != m.supplier_a.as_str()),
        "{after}"
    );

    // Bad policies name the field and the rule; nothing changes.
    for (input, expected) in [
        (
            json!({ "itemId": bread, "kind": "S_S", "min": 5 }),
            vec!["max"],
        ),
        (
            json!({ "itemId": bread, "kind": "S_S", "min": 9, "max": 3 }),
            vec!["max"],
        ),
        (
            json!({ "itemId": flour, "kind": "EOQ", "orderCost": 10 }),
            vec!["holdingCost"],
        ),
        (
            json!({ "itemId": bread, "kind": "MIN_MAX", "min": 1, "serviceLevel": "0.9" }),
            vec!["serviceLevel"],
        ),
        (
            json!({ "itemId": flour, "kind": "EOQ", "orderCost": 10, "holdingCost": 0 }),
            vec!["holdingCost"],
        ),
        (
            json!({ "itemId": flour, "kind": "FORECAST_COVER", "serviceLevel": "0.3" }),
            vec!["serviceLevel"],
        ),
        (json!({ "itemId": flour, "kind": "MIN_MAX" }), vec!["min"]),
        (
            json!({ "itemId": flour, "kind": "MIN_MAX", "min": "1.2345" }),
            vec!["min"],
        ),
    ] {
        let body = m.chef.graphql(SET_POLICY, json!({ "input": input })).await;
        assert_eq!(error(&body).0, "VALIDATION", "{input}: {body}");
        assert_eq!(fields(&body), expected, "{input}: {body}");
    }
    let policies = ok(m
        .chef
        .graphql(
            "query($r: ID!) { reorderPolicies(restaurantId: $r) { itemId kind set min max } }",
            json!({ "r": m.restaurant }),
        )
        .await);
    let kinds: Vec<(&str, bool)> = policies["reorderPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap(), p["set"].as_bool().unwrap()))
        .collect();
    assert_eq!(kinds.len(), 3, "{policies}");
    assert!(
        kinds.contains(&("MIN_MAX", false)),
        "the oil's default: {policies}"
    );
    assert!(kinds.contains(&("S_S", true)));
    assert!(kinds.contains(&("EOQ", true)));

    // A product with no suggestion cannot be applied; nothing goes in the cart.
    let body = m
        .chef
        .graphql(
            "mutation($input: ApplyReorderSuggestionsInput!) { applyReorderSuggestions(input: $input) { applied { productId } } }",
            json!({ "input": { "restaurantId": m.restaurant, "productIds": [m.b2, m.a2] } }),
        )
        .await;
    assert_eq!(fields(&body), ["productIds[1]"], "{body}");
    let cart = ok(m
        .chef
        .graphql(
            "query($r: ID!) { cart(restaurantId: $r) { items { quantity } } }",
            json!({ "r": m.restaurant }),
        )
        .await);
    assert_eq!(cart["cart"]["items"], json!([]));
}

#[tokio::test]
async fn plans_are_for_the_organisations_members_and_admins_over_graphql_and_rest() {
    let m = market(&[]).await;
    let oil = item(&m, &m.a1, json!({ "parLevel": 10, "targetLevel": 20 })).await;
    // Another restaurant's chef, a supplier and an anonymous caller are refused.
    for (api, code) in [
        (&m.other_chef, "FORBIDDEN"),
        (&m.seller, "FORBIDDEN"),
        (&m.chef.anonymous(), "UNAUTHENTICATED"),
    ] {
        let body = api.graphql(SUGGESTIONS, json!({ "r": m.restaurant })).await;
        assert_eq!(error(&body).0, code, "{body}");
        let body = api
            .graphql(FORECAST, json!({ "r": m.restaurant, "p": m.a1 }))
            .await;
        assert_eq!(error(&body).0, code, "{body}");
    }
    let body = m
        .other_chef
        .graphql(
            SET_POLICY,
            json!({ "input": { "itemId": oil, "kind": "FORECAST_COVER" } }),
        )
        .await;
    assert_eq!(
        error(&body).0,
        "NOT_FOUND",
        "another restaurant's item does not exist: {body}"
    );
    // A supplier's forecast: its members (and admins), not another supplier's.
    let supplier_side = json!({ "s": m.supplier_a, "p": m.a1 });
    assert_eq!(
        ok(m.seller.graphql(FORECAST, supplier_side.clone()).await)["forecast"],
        Value::Null
    );
    assert_eq!(
        ok(m.admin.graphql(FORECAST, supplier_side.clone()).await)["forecast"],
        Value::Null
    );
    assert_eq!(
        error(&m.seller_b.graphql(FORECAST, supplier_side).await).0,
        "FORBIDDEN"
    );
    let both = m
        .admin
        .graphql(
            FORECAST,
            json!({ "r": m.restaurant, "s": m.supplier_a, "p": m.a1 }),
        )
        .await;
    assert_eq!(fields(&both), ["restaurantId"], "{both}");

    // REST: the same service, the same answers.
    let url = format!("/api/v1/restaurants/{}/reorder-suggestions", m.restaurant);
    use reqwest::Method;
    let (status, body) = m.chef.send(Method::GET, &url, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["suppliers"][0]["lines"][0]["quantity"], "20",
        "{body}"
    );
    assert_eq!(m.other_chef.send(Method::GET, &url, None).await.0, 403);
    let (status, body) = m
        .chef
        .send(
            Method::PUT,
            &format!(
                "/api/v1/restaurants/{}/inventory/{oil}/reorder-policy",
                m.restaurant
            ),
            Some(json!({ "kind": "S_S", "min": "4" })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("max"), "{body}");
    let (status, body) = m
        .chef
        .send(Method::POST, &format!("{url}/apply"), Some(json!({})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["applied"][0]["cartQuantity"], 20, "{body}");
    let (status, body) = m
        .chef
        .send(
            Method::GET,
            &format!("/api/v1/restaurants/{}/forecasts/{}", m.restaurant, m.a1),
            None,
        )
        .await;
    assert_eq!(status, 404, "no forecast yet: {body}");
}

/// A fake OpenWeather: geocoding and One Call 3.0's daily forecast, 8 days from today at
/// local noon; remembers the queries it was sent and can be made to fail.
#[derive(Clone, Default)]
struct FakeWeather {
    queries: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Maximum temperatures of the 8 days.
    maxima: std::sync::Arc<Vec<f64>>,
}

async fn serve_weather(fake: FakeWeather) -> String {
    use axum::{
        Json, Router,
        extract::{RawQuery, State},
        http::StatusCode,
        routing::get,
    };
    async fn geocode(State(fake): State<FakeWeather>, RawQuery(query): RawQuery) -> Json<Value> {
        fake.queries.lock().unwrap().push(query.unwrap_or_default());
        Json(json!([{ "name": "Malmö", "lat": 55.605, "lon": 13.0038, "country": "SE" }]))
    }
    async fn onecall(
        State(fake): State<FakeWeather>,
        RawQuery(query): RawQuery,
    ) -> Result<Json<Value>, StatusCode> {
        fake.queries.lock().unwrap().push(query.unwrap_or_default());
        if fake.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        let today = Utc::now().date_naive();
        let daily: Vec<Value> = fake
            .maxima
            .iter()
            .enumerate()
            .map(|(i, max)| {
                // Noon in Malmö (UTC+1 in winter) is 11:00 UTC.
                let noon = (today + Duration::days(i as i64))
                    .and_hms_opt(11, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp();
                json!({ "dt": noon, "temp": { "day": max - 2.0, "min": max - 6.0, "max": max }, "rain": 0.4 })
            })
            .collect();
        Ok(Json(
            json!({ "lat": 55.605, "lon": 13.0038, "timezone": "Europe/Stockholm", "timezone_offset": 3600, "daily": daily }),
        ))
    }
    let app = Router::new()
        .route("/geo/1.0/direct", get(geocode))
        .route("/data/3.0/onecall", get(onecall))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test]
async fn the_weather_is_fetched_stored_and_used_where_it_explains_demand() {
    use sea_orm::ConnectionTrait;
    // Hot days ahead, then cool ones.
    let fake = FakeWeather {
        maxima: std::sync::Arc::new(vec![24.0, 25.0, 6.0, 5.0, 23.0, 7.0, 22.0, 4.0]),
        ..FakeWeather::default()
    };
    let base = serve_weather(fake.clone()).await;
    let m = market(&[
        ("OPENWEATHER_API_KEY", "test-key"),
        ("OPENWEATHER_API_URL", &base),
    ])
    .await;
    // Ice cream sells on warm days: 8 weeks of usage that follow the temperature, and the
    // temperatures of those days as earlier nightly runs stored them.
    let today = Utc::now().date_naive();
    let temperature = |days_ago: i64| 14.0 + 9.0 * ((days_ago * 7 % 11) as f64 / 10.0 - 0.5) * 2.0;
    let db = &m.app.state.db;
    for days_ago in 1..=56 {
        let day = today - Duration::days(days_ago);
        let t = temperature(days_ago);
        let sql = format!(
            "INSERT INTO weather_days (city, day, temp_max_milli, temp_min_milli, precipitation_milli, fetched_at) \
             VALUES ('malmö', '{day}', {}, {}, 0, '{}')",
            (t * 1000.0) as i64,
            ((t - 6.0) * 1000.0) as i64,
            Utc::now().format("%Y-%m-%d %H:%M:%S+00:00")
        );
        db.execute_unprepared(&sql)
            .await
            .expect("a stored weather day");
    }
    let ice_cream = item(&m, &m.a2, json!({})).await;
    let mut fields = Vec::new();
    for days_ago in (1..=56).rev() {
        let date = today - Duration::days(days_ago);
        let weekday = WEEK[date.weekday().num_days_from_monday() as usize];
        let used = (4.0 * weekday + 1.2 * (temperature(days_ago) - 14.0)).max(0.5);
        let at = date.and_hms_opt(19, 0, 0).unwrap().and_utc().to_rfc3339();
        fields.push(format!(
            "d{days_ago}: recordUsage(input: {{ itemId: \"{ice_cream}\", quantity: \"{used:.3}\", occurredAt: \"{at}\" }}) {{ item {{ id }} }}"
        ));
        if fields.len() == 14 {
            ok(m.chef
                .graphql(&format!("mutation {{ {} }}", fields.join(" ")), json!({}))
                .await);
            fields.clear();
        }
    }

    let run = ok(m.admin.graphql(RUN, json!({})).await)["runJob"]["run"].clone();
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["stats"]["weatherCities"], 1, "{run}");
    assert_eq!(run["stats"]["weatherAdjusted"], 1, "{run}");
    // The fake was asked for Malmö (the restaurant's city) with the key.
    let queries = fake.queries.lock().unwrap().clone();
    assert!(
        queries[0].contains("q=Malm%C3%B6") && queries[0].contains("appid=test-key"),
        "{queries:?}"
    );
    assert!(
        queries[1].contains("lat=55.605") && queries[1].contains("units=metric"),
        "{queries:?}"
    );
    // The 8 days ahead are stored beside the 56 before.
    let stored = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM weather_days WHERE city = 'malmö'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(stored, 64);

    let forecast = ok(m
        .chef
        .graphql(
            "query($r: ID!, $p: ID!) { forecast(restaurantId: $r, productId: $p) { model weatherAdjusted accuracy { smape seasonalNaiveSmape } points { date quantity } } }",
            json!({ "r": m.restaurant, "p": m.a2 }),
        )
        .await)["forecast"]
        .clone();
    assert_eq!(forecast["weatherAdjusted"], true, "{forecast}");
    // A hot day ahead is forecast above a cold one of a similar weekday load.
    let points = forecast["points"].as_array().unwrap();
    let q = |i: usize| dec(&points[i]["quantity"]);
    assert!(q(1) > q(2) + d("10"), "25 °C vs 6 °C: {forecast}");

    // The source failing does not fail the run: it forecasts without new weather.
    fake.failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let run = ok(m.admin.graphql(RUN, json!({})).await)["runJob"]["run"].clone();
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["stats"]["weatherFailures"], 1, "{run}");
}

#[tokio::test]
async fn without_usage_a_restaurant_is_forecast_from_its_orders_and_a_supplier_from_everyones() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let m = market(&[]).await;
    // Five weekly orders of B-3 (B delivers every day), placed now and moved back in time as
    // if placed over the last month.
    let db = &m.app.state.db;
    for (n, days_ago) in [30i64, 23, 16, 9, 2].into_iter().enumerate() {
        let order = ok(m
            .place(
                &m.chef,
                json!({
                    "restaurantId": m.restaurant, "supplierId": m.supplier_b,
                    "lines": [{ "productId": m.b3, "quantity": 10 + n }],
                    "requestedDeliveryDate": next(Weekday::Tue, 0),
                }),
            )
            .await)["placeOrder"]["order"]["id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .unwrap();
        entity::orders::Entity::update_many()
            .col_expr(
                entity::orders::Column::CreatedAt,
                Expr::value(Utc::now() - Duration::days(days_ago)),
            )
            .filter(entity::orders::Column::Id.eq(order))
            .exec(db.pool())
            .await
            .expect("back-dating an order");
    }
    let run = ok(m.admin.graphql(RUN, json!({})).await)["runJob"]["run"].clone();
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(
        run["stats"]["series"], 2,
        "the restaurant's and the supplier's: {run}"
    );

    const SIDE: &str = "query($r: ID, $s: ID, $p: ID!) { forecast(restaurantId: $r, supplierId: $s, productId: $p) { ownerId source model historyDays accuracy { smape } points { quantity } } }";
    let restaurant = ok(m
        .chef
        .graphql(SIDE, json!({ "r": m.restaurant, "p": m.b3 }))
        .await)["forecast"]
        .clone();
    assert_eq!(restaurant["source"], "ORDERS", "{restaurant}");
    assert_eq!(
        restaurant["model"], "SEASONAL_NAIVE",
        "a month of history: {restaurant}"
    );
    assert_eq!(restaurant["historyDays"], 30);
    assert!(restaurant["accuracy"]["smape"].is_number(), "{restaurant}");
    let supplier = ok(m
        .seller_b
        .graphql(SIDE, json!({ "s": m.supplier_b, "p": m.b3 }))
        .await)["forecast"]
        .clone();
    assert_eq!(supplier["ownerId"], m.supplier_b.as_str(), "{supplier}");
    assert_eq!(supplier["source"], "ORDERS");
    // Seasonal-naive repeats last week: the order placed 2 days ago shows again 7 days on.
    let points = supplier["points"].as_array().unwrap();
    let week: Decimal = points[..7].iter().map(|p| dec(&p["quantity"])).sum();
    assert_eq!(week, d("14"), "last week's 14 units, again: {supplier}");

    // Over REST, for the supplier's members.
    use reqwest::Method;
    let path = format!("/api/v1/suppliers/{}/forecasts/{}", m.supplier_b, m.b3);
    let (status, body) = m.seller_b.send(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["source"], "ORDERS");
    assert_eq!(m.seller.send(Method::GET, &path, None).await.0, 403);
}
