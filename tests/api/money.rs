//! Money is exact on every backend: stored as thousandths, read back to the last digit.

use iris::{
    auth::Caller,
    domain::{kernel::weekday::Weekday, suppliers::NewSupplier},
};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::{CREATE_SUPPLIER, TestApp, org_number, supplier_input};

#[tokio::test]
async fn amounts_round_trip_exactly_through_the_api() {
    let (app, _backend) = TestApp::spawn().await;
    for (seed, amount) in [
        (400, "0.001"),
        (401, "12345678.905"),
        (402, "0.1"),
        (403, "9999999999.999"),
    ] {
        let mut input = supplier_input(seed, "Exact AB", "Lund");
        input["minimumOrderValue"] = json!(amount);
        let body = app
            .graphql(CREATE_SUPPLIER, json!({ "input": input }))
            .await;
        let created = &body["data"]["createSupplier"]["supplier"];
        assert_eq!(created["minimumOrderValue"]["amount"], amount, "{body}");

        let id = created["id"].as_str().unwrap();
        let rest: serde_json::Value = app.get_json(&format!("/api/v1/suppliers/{id}")).await;
        assert_eq!(rest["data"]["minimumOrderValue"]["amount"], amount);
    }
}

#[tokio::test]
async fn sums_of_many_small_amounts_are_exact_in_the_database() {
    let (app, _backend) = TestApp::spawn().await;
    let suppliers = &app.state.services.suppliers;
    // 0.1 and 0.001 have no exact binary representation: a float column would drift.
    for i in 0..1000u32 {
        let amount = if i % 2 == 0 { "0.1" } else { "0.001" };
        suppliers
            .create(
                &Caller::system(),
                NewSupplier {
                    name: format!("Small {i}"),
                    organisation_number: org_number(500_000 + i),
                    contact_email: format!("s{i}@small.example"),
                    city: "Lund".into(),
                    minimum_order_value: Some(amount.parse().unwrap()),
                    delivery_days: vec![Weekday::Monday],
                    ..NewSupplier::default()
                },
            )
            .await
            .unwrap_or_else(|e| panic!("supplier {i}: {}", e.message()));
    }
    let db = &app.state.db;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(SUM(minimum_order_value_milli) AS BIGINT) AS total FROM suppliers",
        ))
        .await
        .unwrap()
        .expect("one row");
    let total_milli: i64 = row.try_get("", "total").unwrap();
    let total = Decimal::new(total_milli, 3);
    assert_eq!(total.to_string(), "50.500", "500 × 0.1 + 500 × 0.001");
}
