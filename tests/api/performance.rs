//! Supplier performance computed from a scripted order history, live and by the nightly job.

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    orders::{Market, market, ok},
    webhooks::DELIVERING,
};

const PERFORMANCE: &str = "query($id: ID!) { supplier(id: $id) { performance { deliveredOrders onTimeRate fillRate averageConfirmationSeconds computedAt } } }";

async fn order(m: &Market, quantity: i64) -> String {
    let input = m.order_b(&m.b3, quantity);
    ok(m.place(&m.chef, input).await)["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn step(m: &Market, id: String, steps: &[&str]) {
    for s in steps {
        let api = if *s == "cancelOrder" {
            &m.chef
        } else {
            &m.seller_b
        };
        ok(m.transition(api, s, &id, Some("scripted")).await);
    }
}

#[tokio::test]
async fn performance_follows_the_order_history() {
    let m = market(&DELIVERING).await;
    // Delivered on time (3 units), rejected after confirmation (2), cancelled (7, not counted),
    // delivered late (5).
    step(
        &m,
        order(&m, 3).await,
        &["confirmOrder", "shipOrder", "markOrderDelivered"],
    )
    .await;
    step(&m, order(&m, 2).await, &["confirmOrder", "rejectOrder"]).await;
    step(&m, order(&m, 7).await, &["cancelOrder"]).await;
    let late = order(&m, 5).await;
    step(&m, late.clone(), &["confirmOrder", "shipOrder"]).await;
    entity::orders::Entity::update_many()
        .col_expr(
            entity::orders::Column::RequestedDeliveryDate,
            Expr::value(chrono::Utc::now().date_naive() - chrono::Duration::days(2)),
        )
        .filter(entity::orders::Column::Id.eq(uuid::Uuid::parse_str(&late).unwrap()))
        .exec(&m.app.state.db)
        .await
        .expect("backdating the requested delivery");
    step(&m, late, &["markOrderDelivered"]).await;

    let mut performance = Value::Null;
    for _ in 0..100 {
        performance = ok(m
            .chef
            .graphql(PERFORMANCE, json!({ "id": m.supplier_b }))
            .await)["supplier"]["performance"]
            .clone();
        if performance["deliveredOrders"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(performance["deliveredOrders"], 2, "{performance}");
    assert_eq!(performance["onTimeRate"], "0.5");
    assert_eq!(
        performance["fillRate"], "0.8",
        "8 of 10 units of delivered or rejected orders"
    );
    let confirmation = performance["averageConfirmationSeconds"].as_i64().unwrap();
    assert!((0..60).contains(&confirmation), "{performance}");

    // A supplier without history has none; the nightly job rebuilds everyone alike.
    let none = ok(m
        .chef
        .graphql(PERFORMANCE, json!({ "id": m.supplier_a }))
        .await);
    assert_eq!(none["supplier"]["performance"], Value::Null);
    let run = ok(m
        .admin
        .graphql("mutation { runJob(input: {name: \"rebuild-supplier-metrics\"}) { run { status stats error } } }", json!({}))
        .await);
    assert_eq!(run["runJob"]["run"]["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["runJob"]["run"]["stats"], json!({ "suppliers": 2 }));
    let rebuilt = ok(m
        .chef
        .graphql(PERFORMANCE, json!({ "id": m.supplier_b }))
        .await)["supplier"]["performance"]
        .clone();
    assert_eq!(
        (
            &rebuilt["onTimeRate"],
            &rebuilt["fillRate"],
            &rebuilt["deliveredOrders"]
        ),
        (&json!("0.5"), &json!("0.8"), &json!(2))
    );
    let zero = ok(m
        .chef
        .graphql(PERFORMANCE, json!({ "id": m.supplier_a }))
        .await);
    assert_eq!(zero["supplier"]["performance"]["deliveredOrders"], 0);
    assert_eq!(zero["supplier"]["performance"]["onTimeRate"], Value::Null);
}
