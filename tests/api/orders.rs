//! Carts, checkout, orders, idempotency, stock reservation and the order status machine, over
//! GraphQL and REST, on whichever backend the suite runs on.

use std::collections::HashSet;

use chrono::{Datelike, Utc, Weekday};
use serde_json::{Value, json};

use crate::helpers::{Api, Backend, TestApp, org_number};

pub const HASH: &str = "$2b$10$pp7L7TN/MQmBT13XXnOfBOjIfzg3jwBMC1IRq/apBE9oOlklEMKtW";
pub const PASSWORD: &str = "iris-demo";

/// The next `day` after today (UTC), `weeks` weeks further on.
pub fn next(day: Weekday, weeks: i64) -> String {
    let mut date = Utc::now().date_naive() + chrono::Duration::days(1);
    while date.weekday() != day {
        date += chrono::Duration::days(1);
    }
    (date + chrono::Duration::weeks(weeks)).to_string()
}

pub fn ok(body: Value) -> Value {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

/// The first error's code, and the error itself.
pub fn error(body: &Value) -> (&str, &Value) {
    let error = &body["errors"][0];
    (
        error["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("an error: {body}")),
        error,
    )
}

/// The fields a VALIDATION error names.
pub fn fields(body: &Value) -> Vec<String> {
    body["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("validation fields: {body}"))
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect()
}

/// Two suppliers, two restaurants, their owners, and a few products.
pub struct Market {
    pub app: TestApp,
    pub _backend: Backend,
    pub admin: Api,
    pub seller: Api,
    pub seller_b: Api,
    pub chef: Api,
    pub other_chef: Api,
    pub supplier_a: String,
    pub supplier_b: String,
    pub restaurant: String,
    pub other_restaurant: String,
    /// Supplier A: 10.125 at 12 % and 4.002 at 25 %, 1000 in stock each.
    pub a1: String,
    pub a2: String,
    /// Supplier B: 99.50 (10 in stock), 1.00 (100 in stock), 2.00 (1,000,000 in stock).
    pub b1: String,
    pub b2: String,
    pub b3: String,
}

const CREATE_SUPPLIER: &str =
    "mutation($input: CreateSupplierInput!) { createSupplier(input: $input) { supplier { id } } }";
const CREATE_RESTAURANT: &str = "mutation($name: String!) { createRestaurant(input: {name: $name, contactEmail: \"kitchen@r.se\", city: \"Malmö\"}) { restaurant { id } } }";
pub const UPSERT: &str = "mutation($input: UpsertProductsInput!) { upsertProducts(input: $input) { products { id sku } } }";

/// The market's `DEV_USERS`: an admin, three supplier accounts, two restaurant accounts.
pub fn market_users() -> String {
    [
        ("admin@t.se", "ADMIN"),
        ("seller@t.se", "SUPPLIER"),
        ("sellerb@t.se", "SUPPLIER"),
        ("chef@t.se", "RESTAURANT"),
        ("other@t.se", "RESTAURANT"),
        ("staff@t.se", "SUPPLIER"),
    ]
    .iter()
    .map(|(email, role)| format!("{email}:{role}:{HASH}"))
    .collect::<Vec<_>>()
    .join(";")
}

pub async fn market(extra: &[(&str, &str)]) -> Market {
    let users = market_users();
    let mut settings = vec![("DEV_USERS", users.as_str()), ("API_RATE_LIMIT", "1000000")];
    settings.extend_from_slice(extra);
    let (app, backend) = TestApp::spawn_with(&settings).await;
    let admin = app.login("admin@t.se", PASSWORD).await;
    let seller = app.login("seller@t.se", PASSWORD).await;
    let seller_b = app.login("sellerb@t.se", PASSWORD).await;
    let chef = app.login("chef@t.se", PASSWORD).await;
    let other_chef = app.login("other@t.se", PASSWORD).await;

    let supplier = |seed: u32, name: &str, minimum: &str, days: Value| {
        json!({ "input": {
            "name": name, "organisationNumber": org_number(seed),
            "contactEmail": format!("order{seed}@s.se"), "city": "Lund",
            "minimumOrderValue": minimum, "deliveryDays": days,
        } })
    };
    let supplier_a = ok(seller
        .graphql(
            CREATE_SUPPLIER,
            supplier(11, "Alfa Grossist AB", "500", json!(["MONDAY", "THURSDAY"])),
        )
        .await)["createSupplier"]["supplier"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let every_day = json!([
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY"
    ]);
    let supplier_b = ok(seller_b
        .graphql(
            CREATE_SUPPLIER,
            supplier(12, "Beta Bröd AB", "0", every_day),
        )
        .await)["createSupplier"]["supplier"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = |sku: &str, name: &str, price: &str, tax: &str, stock: i64| json!({ "sku": sku, "name": name, "category": "Test", "unit": "KG", "unitPrice": price, "taxRate": tax, "stockOnHand": stock });
    let a = ok(seller
        .graphql(
            UPSERT,
            json!({ "input": { "supplierId": supplier_a, "products": [
            product("A-1", "Laxfilé", "10.125", "12", 1000),
            product("A-2", "Diskmedel", "4.002", "25", 1000),
        ] } }),
        )
        .await);
    let b = ok(seller_b
        .graphql(
            UPSERT,
            json!({ "input": { "supplierId": supplier_b, "products": [
            product("B-1", "Surdegsbröd", "99.50", "12", 10),
            product("B-2", "Kanelbulle", "1", "12", 100),
            product("B-3", "Knäckebröd", "2", "12", 1_000_000),
        ] } }),
        )
        .await);
    let id = |data: &Value, i: usize| {
        data["upsertProducts"]["products"][i]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let restaurant = ok(chef
        .graphql(CREATE_RESTAURANT, json!({ "name": "Bistro Ett" }))
        .await)["createRestaurant"]["restaurant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_restaurant = ok(other_chef
        .graphql(CREATE_RESTAURANT, json!({ "name": "Krog Två" }))
        .await)["createRestaurant"]["restaurant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Market {
        app,
        _backend: backend,
        admin,
        seller,
        seller_b,
        chef,
        other_chef,
        supplier_a,
        supplier_b,
        restaurant,
        other_restaurant,
        a1: id(&a, 0),
        a2: id(&a, 1),
        b1: id(&b, 0),
        b2: id(&b, 1),
        b3: id(&b, 2),
    }
}

pub const ORDER_FIELDS: &str = "id status currency subtotal { amount currency } tax { amount } total { amount currency } taxes { rate base { amount } amount { amount } } requestedDeliveryDate note checkoutId lines { lineNumber sku name unit quantity unitPrice { amount } lineTotal { amount } taxRate product { id } } events { from to actorRole reason } supplier { id } restaurant { id }";

pub fn place_query() -> String {
    format!(
        "mutation($input: PlaceOrderInput!) {{ placeOrder(input: $input) {{ replayed order {{ {ORDER_FIELDS} }} }} }}"
    )
}

impl Market {
    /// A `placeOrder` input for the restaurant with supplier B (no minimum, every day).
    pub fn order_b(&self, product: &str, quantity: i64) -> Value {
        json!({
            "restaurantId": self.restaurant,
            "supplierId": self.supplier_b,
            "lines": [{ "productId": product, "quantity": quantity }],
            "requestedDeliveryDate": next(Weekday::Tue, 0),
        })
    }

    pub async fn place(&self, api: &Api, input: Value) -> Value {
        api.graphql(&place_query(), json!({ "input": input })).await
    }

    /// Places an order with supplier B and returns its id.
    pub async fn placed(&self) -> String {
        let body = self.place(&self.chef, self.order_b(&self.b3, 1)).await;
        ok(body)["placeOrder"]["order"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn stock(&self, product: &str) -> i64 {
        let body = self
            .admin
            .graphql(
                "query($id: ID!) { product(id: $id) { stockOnHand } }",
                json!({ "id": product }),
            )
            .await;
        ok(body)["product"]["stockOnHand"].as_i64().unwrap()
    }

    pub async fn add_to_cart(&self, product: &str, quantity: i64) {
        ok(self
            .chef
            .graphql(
                "mutation($input: CartItemInput!) { addToCart(input: $input) { cart { items { quantity } } } }",
                json!({ "input": { "restaurantId": self.restaurant, "productId": product, "quantity": quantity } }),
            )
            .await);
    }

    pub async fn order_count(&self) -> i64 {
        ok(self
            .admin
            .graphql("{ orders { totalCount } }", json!({}))
            .await)["orders"]["totalCount"]
            .as_i64()
            .unwrap()
    }

    /// Runs a status mutation as `api`.
    pub async fn transition(
        &self,
        api: &Api,
        mutation: &str,
        order: &str,
        reason: Option<&str>,
    ) -> Value {
        api.graphql(
            &format!(
                "mutation($input: OrderTransitionInput!) {{ {mutation}(input: $input) {{ order {{ id status }} }} }}"
            ),
            json!({ "input": { "orderId": order, "reason": reason } }),
        )
        .await
    }
}

const CHECKOUT: &str = "mutation($input: CheckoutInput!) { checkout(input: $input) { replayed orders { id status supplier { id } checkoutId subtotal { amount } tax { amount } total { amount currency } taxes { rate amount { amount } } lines { sku name quantity unitPrice { amount } lineTotal { amount } taxRate } events { from to } } } }";

#[tokio::test]
async fn checkout_splits_a_multi_supplier_cart_into_one_order_per_supplier() {
    let m = market(&[]).await;
    m.add_to_cart(&m.a1, 30).await;
    m.add_to_cart(&m.b1, 6).await;
    m.add_to_cart(&m.a1, 20).await; // adds up: 50 of A-1
    m.add_to_cart(&m.a2, 1).await;

    let cart = ok(m
        .chef
        .graphql(
            "query($id: ID!) { cart(restaurantId: $id) { restaurant { id } items { quantity lineTotal { amount } product { sku supplier { name } } } } }",
            json!({ "id": m.restaurant }),
        )
        .await);
    let items = cart["cart"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{cart}");
    assert_eq!(items[0]["quantity"], 50);
    assert_eq!(items[0]["lineTotal"]["amount"], "506.25");

    let body = m
        .chef
        .graphql(
            CHECKOUT,
            json!({ "input": {
                "restaurantId": m.restaurant,
                "requestedDeliveryDate": next(Weekday::Thu, 0),
                "note": "Bakdörren",
                "deliveries": [{ "supplierId": m.supplier_b, "requestedDeliveryDate": next(Weekday::Sat, 0) }],
            } }),
        )
        .await;
    let data = ok(body);
    let orders = data["checkout"]["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2, "one order per supplier: {data}");
    assert_eq!(data["checkout"]["replayed"], false);
    let (a, b) = (&orders[0], &orders[1]);
    assert_eq!(a["supplier"]["id"], m.supplier_a.as_str());
    assert_eq!(b["supplier"]["id"], m.supplier_b.as_str());
    assert_eq!(a["checkoutId"], b["checkoutId"]);
    assert_eq!(a["status"], "PLACED");
    assert_eq!(a["events"], json!([{ "from": null, "to": "PLACED" }]));

    // A: 50 × 10.125 = 506.25 (12 %) and 1 × 4.002 (25 %): subtotal 510.252 → 510.25;
    // VAT 60.75 + 1.0005 → 1.00; total 572.00.
    assert_eq!(a["subtotal"]["amount"], "510.25");
    assert_eq!(
        a["taxes"],
        json!([{ "rate": "25", "amount": { "amount": "1" } }, { "rate": "12", "amount": { "amount": "60.75" } }])
    );
    assert_eq!(a["tax"]["amount"], "61.75");
    assert_eq!(a["total"], json!({ "amount": "572", "currency": "SEK" }));
    assert_eq!(
        a["lines"],
        json!([
            { "sku": "A-1", "name": "Laxfilé", "quantity": 50, "unitPrice": { "amount": "10.125" }, "lineTotal": { "amount": "506.25" }, "taxRate": "12" },
            { "sku": "A-2", "name": "Diskmedel", "quantity": 1, "unitPrice": { "amount": "4.002" }, "lineTotal": { "amount": "4.002" }, "taxRate": "25" },
        ])
    );
    // B: 6 × 99.50 = 597.00, VAT 71.64.
    assert_eq!(b["total"]["amount"], "668.64");

    // Stock reserved, cart emptied.
    assert_eq!(m.stock(&m.a1).await, 950);
    assert_eq!(m.stock(&m.b1).await, 4);
    let cart = ok(m
        .chef
        .graphql(
            "query($id: ID!) { cart(restaurantId: $id) { items { quantity } } }",
            json!({ "id": m.restaurant }),
        )
        .await);
    assert_eq!(cart["cart"]["items"], json!([]));

    // Lines are snapshots: a later price change does not touch the order.
    ok(m.seller
        .graphql(UPSERT, json!({ "input": { "supplierId": m.supplier_a, "products": [
            { "sku": "A-1", "name": "Laxfilé (ny)", "category": "Test", "unit": "KG", "unitPrice": "99" }
        ] } }))
        .await);
    let order = ok(m
        .chef
        .graphql("query($id: ID!) { order(id: $id) { lines { name unitPrice { amount } product { name } } } }", json!({ "id": a["id"] }))
        .await);
    assert_eq!(order["order"]["lines"][0]["name"], "Laxfilé");
    assert_eq!(order["order"]["lines"][0]["unitPrice"]["amount"], "10.125");
    assert_eq!(
        order["order"]["lines"][0]["product"]["name"],
        "Laxfilé (ny)"
    );
}

#[tokio::test]
async fn a_checkout_that_cannot_be_served_writes_nothing() {
    let m = market(&[]).await;
    m.add_to_cart(&m.a1, 60).await;
    m.add_to_cart(&m.b1, 11).await; // only 10 in stock
    let input = json!({ "input": { "restaurantId": m.restaurant, "requestedDeliveryDate": next(Weekday::Mon, 0) } });
    let body = m.chef.graphql(CHECKOUT, input.clone()).await;
    let (code, err) = error(&body);
    assert_eq!(code, "INSUFFICIENT_STOCK", "{body}");
    assert_eq!(err["extensions"]["productId"], m.b1.as_str());
    assert_eq!(err["extensions"]["status"], 409);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("Surdegsbröd (SKU B-1): 11 requested, 10 available"),
        "{body}"
    );
    assert_eq!(
        m.order_count().await,
        0,
        "no order of the checkout survives"
    );
    assert_eq!(m.stock(&m.a1).await, 1000, "A's reservation rolled back");
    assert_eq!(m.stock(&m.b1).await, 10);

    // Below A's minimum (500) and on a day A does not deliver: every rule is named.
    ok(m.chef
        .graphql("mutation($input: CartItemInput!) { updateCartItem(input: $input) { cart { updatedAt } } }",
            json!({ "input": { "restaurantId": m.restaurant, "productId": m.b1, "quantity": 2 } }))
        .await);
    ok(m.chef
        .graphql("mutation($input: CartItemInput!) { updateCartItem(input: $input) { cart { updatedAt } } }",
            json!({ "input": { "restaurantId": m.restaurant, "productId": m.a1, "quantity": 3 } }))
        .await);
    let body = m
        .chef
        .graphql(CHECKOUT, json!({ "input": { "restaurantId": m.restaurant, "requestedDeliveryDate": next(Weekday::Tue, 0) } }))
        .await;
    assert_eq!(error(&body).0, "VALIDATION");
    assert_eq!(fields(&body), ["requestedDeliveryDate"], "{body}");
    let body = m
        .chef
        .graphql(CHECKOUT, json!({ "input": { "restaurantId": m.restaurant, "requestedDeliveryDate": next(Weekday::Mon, 0) } }))
        .await;
    assert_eq!(fields(&body), ["cart"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("below its minimum order value of 500 SEK"),
        "{body}"
    );
    assert_eq!(m.order_count().await, 0);

    // An empty cart.
    ok(m.chef
        .graphql("mutation($input: ClearCartInput!) { clearCart(input: $input) { cart { items { quantity } } } }", json!({ "input": { "restaurantId": m.restaurant } }))
        .await);
    let body = m.chef.graphql(CHECKOUT, input).await;
    let (code, err) = error(&body);
    assert_eq!(code, "CONFLICT", "the cart's state is in the way: {body}");
    assert!(err["message"].as_str().unwrap().contains("cart: is empty"));
}

#[tokio::test]
async fn place_order_names_every_broken_rule() {
    let m = market(&[]).await;
    let yesterday = (Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let body = m
        .place(
            &m.chef,
            json!({
                "restaurantId": m.restaurant,
                "supplierId": m.supplier_a,
                "lines": [
                    { "productId": m.b1, "quantity": 1 },
                    { "productId": m.a1, "quantity": 0 },
                    { "productId": uuid::Uuid::new_v4(), "quantity": 1 },
                ],
                "requestedDeliveryDate": yesterday,
            }),
        )
        .await;
    assert_eq!(error(&body).0, "VALIDATION", "{body}");
    assert_eq!(
        fields(&body),
        [
            "lines[0].productId",
            "lines[1].quantity",
            "lines[2].productId",
            "requestedDeliveryDate"
        ]
    );
    let body = m
        .place(
            &m.chef,
            json!({
                "restaurantId": m.restaurant, "supplierId": m.supplier_a,
                "lines": [{ "productId": m.a1, "quantity": 2 }, { "productId": m.a1, "quantity": 2 }],
                "requestedDeliveryDate": next(Weekday::Wed, 0),
            }),
        )
        .await;
    assert_eq!(
        fields(&body),
        ["lines[1].productId", "requestedDeliveryDate"],
        "{body}"
    );
    assert!(
        body["errors"][0]["extensions"]["fields"][1]["message"]
            .as_str()
            .unwrap()
            .contains("delivers on MONDAY, THURSDAY only"),
        "{body}"
    );
    let body = m
        .place(
            &m.chef,
            json!({
                "restaurantId": m.restaurant, "supplierId": m.supplier_a,
                "lines": [{ "productId": m.a1, "quantity": 2 }],
                "requestedDeliveryDate": next(Weekday::Mon, 20),
            }),
        )
        .await;
    assert_eq!(
        fields(&body),
        ["requestedDeliveryDate"],
        "more than 90 days ahead: {body}"
    );
    let body = m
        .place(
            &m.chef,
            json!({
                "restaurantId": m.restaurant, "supplierId": m.supplier_a,
                "lines": [{ "productId": m.a1, "quantity": 2 }],
                "requestedDeliveryDate": next(Weekday::Mon, 0),
            }),
        )
        .await;
    assert_eq!(fields(&body), ["lines"], "below the minimum: {body}");
    assert_eq!(m.order_count().await, 0);
    assert_eq!(m.stock(&m.a1).await, 1000);

    // Ordering for another restaurant is refused.
    let mut input = m.order_b(&m.b3, 1);
    input["restaurantId"] = json!(m.other_restaurant);
    assert_eq!(error(&m.place(&m.chef, input).await).0, "FORBIDDEN");
}

#[tokio::test]
async fn an_idempotency_key_replays_its_result_and_refuses_another_request() {
    let m = market(&[]).await;
    let mut input = m.order_b(&m.b1, 2);
    input["idempotencyKey"] = json!("order-2026-11-22-0001");
    let first = ok(m.place(&m.chef, input.clone()).await);
    let second = ok(m.place(&m.chef, input.clone()).await);
    assert_eq!(first["placeOrder"]["replayed"], false);
    assert_eq!(second["placeOrder"]["replayed"], true);
    assert_eq!(
        first["placeOrder"]["order"]["id"],
        second["placeOrder"]["order"]["id"]
    );
    assert_eq!(
        first["placeOrder"]["order"]["total"],
        second["placeOrder"]["order"]["total"]
    );
    assert_eq!(m.stock(&m.b1).await, 8, "reserved once");
    assert_eq!(m.order_count().await, 1);

    input["lines"][0]["quantity"] = json!(3);
    let body = m.place(&m.chef, input.clone()).await;
    let (code, err) = error(&body);
    assert_eq!(code, "CONFLICT", "{body}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("order-2026-11-22-0001")
    );
    assert_eq!(m.order_count().await, 1);

    // Keys belong to their caller: the admin's use of the same key is a new order.
    input["lines"][0]["quantity"] = json!(2);
    let admins = ok(m.place(&m.admin, input.clone()).await);
    assert_ne!(
        admins["placeOrder"]["order"]["id"],
        first["placeOrder"]["order"]["id"]
    );

    // A key that fails (insufficient stock) stores nothing; the same key may then succeed.
    let mut short = m.order_b(&m.b1, 50);
    short["idempotencyKey"] = json!("retry-me");
    assert_eq!(
        error(&m.place(&m.chef, short.clone()).await).0,
        "INSUFFICIENT_STOCK"
    );
    short["lines"][0]["quantity"] = json!(1);
    let body = m.place(&m.chef, short).await;
    assert_eq!(ok(body)["placeOrder"]["replayed"], false);

    // Bad keys are named.
    let mut bad = m.order_b(&m.b3, 1);
    bad["idempotencyKey"] = json!("has space");
    assert_eq!(fields(&m.place(&m.chef, bad).await), ["idempotencyKey"]);

    // REST: the Idempotency-Key header.
    let body = json!({
        "restaurantId": m.restaurant, "supplierId": m.supplier_b,
        "lines": [{ "productId": m.b3, "quantity": 5 }],
        "requestedDeliveryDate": next(Weekday::Fri, 0),
    });
    let post = |body: &Value| {
        m.chef
            .client
            .post(m.chef.url("/api/v1/orders"))
            .header("Idempotency-Key", "rest-key-1")
            .json(body)
            .send()
    };
    let created = post(&body).await.unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = created.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/orders/{}", created["data"]["id"].as_str().unwrap())
    );
    assert_eq!(created["data"]["lines"][0]["lineTotal"]["amount"], "10");
    let replayed = post(&body).await.unwrap();
    assert_eq!(replayed.status(), 200);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    let replayed: Value = replayed.json().await.unwrap();
    assert_eq!(replayed["data"]["id"], created["data"]["id"]);
    let mut changed = body.clone();
    changed["note"] = json!("another request");
    let conflict = post(&changed).await.unwrap();
    assert_eq!(conflict.status(), 409);
    let envelope: Value = conflict.json().await.unwrap();
    assert_eq!(envelope["error"], "ConflictError");
}

#[tokio::test]
async fn concurrent_duplicates_with_one_key_create_exactly_one_order() {
    let m = market(&[]).await;
    let mut input = m.order_b(&m.b3, 3);
    input["idempotencyKey"] = json!("burst-1");
    let query = place_query();
    let requests = (0..100).map(|_| {
        let (api, query, input) = (&m.chef, query.clone(), input.clone());
        async move { api.graphql(&query, json!({ "input": input })).await }
    });
    let results = futures_util::future::join_all(requests).await;
    let ids: HashSet<String> = results
        .iter()
        .map(|body| {
            ok(body.clone())["placeOrder"]["order"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every duplicate got the same order");
    let replays = results
        .iter()
        .filter(|b| b["data"]["placeOrder"]["replayed"] == true)
        .count();
    assert_eq!(replays, 99);
    assert_eq!(m.order_count().await, 1);
    assert_eq!(m.stock(&m.b3).await, 1_000_000 - 3);
}

#[tokio::test]
async fn two_hundred_orders_for_a_hundred_units_sell_exactly_a_hundred() {
    let m = market(&[]).await;
    let query = place_query();
    let requests = (0..200).map(|_| {
        let (api, query, input) = (&m.chef, query.clone(), m.order_b(&m.b2, 1));
        async move { api.graphql(&query, json!({ "input": input })).await }
    });
    let results = futures_util::future::join_all(requests).await;
    let placed = results.iter().filter(|b| b.get("errors").is_none()).count();
    let short = results
        .iter()
        .filter(|b| b["errors"][0]["extensions"]["code"] == "INSUFFICIENT_STOCK")
        .count();
    assert_eq!(
        (placed, short),
        (100, 100),
        "{:?}",
        results.iter().find(|b| b.get("errors").is_some()
            && b["errors"][0]["extensions"]["code"] != "INSUFFICIENT_STOCK")
    );
    assert_eq!(m.stock(&m.b2).await, 0);
    assert_eq!(m.order_count().await, 100);
}

/// Every action from every status: legal ones move the order, the rest are INVALID_TRANSITION.
#[tokio::test]
async fn every_transition_is_legal_or_invalid_exactly_as_the_machine_says() {
    let m = market(&[]).await;
    // How to reach each status, and who takes each action.
    let paths: [(&str, &[&str]); 6] = [
        ("PLACED", &[]),
        ("CONFIRMED", &["confirmOrder"]),
        ("SHIPPED", &["confirmOrder", "shipOrder"]),
        (
            "DELIVERED",
            &["confirmOrder", "shipOrder", "markOrderDelivered"],
        ),
        ("CANCELLED", &["cancelOrder"]),
        ("REJECTED", &["rejectOrder"]),
    ];
    let actions = [
        ("confirmOrder", "CONFIRMED", &["PLACED"][..]),
        ("shipOrder", "SHIPPED", &["CONFIRMED"][..]),
        ("markOrderDelivered", "DELIVERED", &["SHIPPED"][..]),
        ("cancelOrder", "CANCELLED", &["PLACED", "CONFIRMED"][..]),
        ("rejectOrder", "REJECTED", &["PLACED", "CONFIRMED"][..]),
    ];
    let actor = |action: &str| {
        if action == "cancelOrder" {
            &m.chef
        } else {
            &m.seller_b
        }
    };
    let mut checked = 0;
    for (status, path) in paths {
        for (action, target, from) in actions {
            let order = m.placed().await;
            for step in path {
                let body = m.transition(actor(step), step, &order, Some("setup")).await;
                ok(body);
            }
            let body = m
                .transition(actor(action), action, &order, Some("because"))
                .await;
            if from.contains(&status) {
                assert_eq!(
                    ok(body)[action]["order"]["status"],
                    target,
                    "{action} from {status}"
                );
            } else {
                let (code, err) = error(&body);
                assert_eq!(code, "INVALID_TRANSITION", "{action} from {status}: {body}");
                assert_eq!(err["extensions"]["status"], 409);
                assert!(err["message"].as_str().unwrap().contains(status), "{body}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 30);

    // A full life, recorded event by event.
    let order = m.placed().await;
    for step in ["confirmOrder", "shipOrder", "markOrderDelivered"] {
        ok(m.transition(&m.seller_b, step, &order, None).await);
    }
    let history = ok(m
        .chef
        .graphql(
            "query($id: ID!) { order(id: $id) { status events { from to actorRole reason at } } }",
            json!({ "id": order }),
        )
        .await);
    let events: Vec<(Value, Value, Value)> = history["order"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["from"].clone(), e["to"].clone(), e["actorRole"].clone()))
        .collect();
    assert_eq!(
        events,
        [
            (json!(null), json!("PLACED"), json!("RESTAURANT")),
            (json!("PLACED"), json!("CONFIRMED"), json!("SUPPLIER")),
            (json!("CONFIRMED"), json!("SHIPPED"), json!("SUPPLIER")),
            (json!("SHIPPED"), json!("DELIVERED"), json!("SUPPLIER")),
        ]
    );

    // The wrong party is FORBIDDEN; a rejection needs a reason; cancel and reject release stock.
    let order = ok(m.place(&m.chef, m.order_b(&m.b1, 4)).await)["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(m.stock(&m.b1).await, 6);
    assert_eq!(
        error(&m.transition(&m.chef, "confirmOrder", &order, None).await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        error(&m.transition(&m.seller_b, "cancelOrder", &order, None).await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        error(&m.transition(&m.seller, "confirmOrder", &order, None).await).0,
        "NOT_FOUND",
        "another supplier's order does not exist for it"
    );
    let body = m
        .transition(&m.seller_b, "rejectOrder", &order, Some("  "))
        .await;
    assert_eq!(fields(&body), ["reason"]);
    let rejected = m
        .transition(&m.seller_b, "rejectOrder", &order, Some("Ugnen är trasig"))
        .await;
    assert_eq!(ok(rejected)["rejectOrder"]["order"]["status"], "REJECTED");
    assert_eq!(m.stock(&m.b1).await, 10, "rejection released the stock");
    let order = ok(m.place(&m.chef, m.order_b(&m.b1, 3)).await)["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(m.transition(&m.seller_b, "confirmOrder", &order, None)
        .await);
    ok(m.transition(&m.chef, "cancelOrder", &order, None).await);
    assert_eq!(m.stock(&m.b1).await, 10, "cancellation released the stock");

    // REST transitions answer with the envelope.
    let order = m.placed().await;
    let ship = m
        .seller_b
        .client
        .post(m.seller_b.url(&format!("/api/v1/orders/{order}/ship")))
        .send()
        .await
        .unwrap();
    assert_eq!(ship.status(), 409);
    assert_eq!(
        ship.json::<Value>().await.unwrap()["error"],
        "InvalidTransitionError"
    );
    let confirm = m
        .seller_b
        .client
        .post(m.seller_b.url(&format!("/api/v1/orders/{order}/confirm")))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 200);
    let reject = m
        .seller_b
        .client
        .post(m.seller_b.url(&format!("/api/v1/orders/{order}/reject")))
        .json(&json!({ "reason": "Fel pris" }))
        .send()
        .await
        .unwrap();
    let reject: Value = reject.json().await.unwrap();
    assert_eq!(reject["data"]["status"], "REJECTED");
    assert_eq!(reject["data"]["events"][2]["reason"], "Fel pris");
}

async fn order_ids(api: &Api) -> HashSet<String> {
    let body = ok(api
        .graphql(
            "{ orders(first: 50) { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await);
    body["orders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_party_sees_only_its_own_orders() {
    let m = market(&[]).await;
    let mine = m.placed().await;
    let mut input = m.order_b(&m.b3, 1);
    input["restaurantId"] = json!(m.other_restaurant);
    let theirs = ok(m.place(&m.other_chef, input).await)["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(order_ids(&m.chef).await, HashSet::from([mine.clone()]));
    assert_eq!(
        order_ids(&m.other_chef).await,
        HashSet::from([theirs.clone()])
    );
    assert_eq!(
        order_ids(&m.seller_b).await,
        HashSet::from([mine.clone(), theirs.clone()])
    );
    assert!(order_ids(&m.seller).await.is_empty());
    assert_eq!(order_ids(&m.admin).await.len(), 2);
    let body = m
        .chef
        .graphql(
            "query($id: ID!) { order(id: $id) { id } }",
            json!({ "id": theirs }),
        )
        .await;
    assert_eq!(error(&body).0, "NOT_FOUND");
    let response = m.chef.get(&format!("/api/v1/orders/{theirs}")).await;
    assert_eq!(response.status(), 404);
    let listed = m
        .seller_b
        .get_json(&format!(
            "/api/v1/orders?status=PLACED&restaurantId={}&sort=-total",
            m.restaurant
        ))
        .await;
    assert_eq!(listed["pagination"]["total"], 1, "{listed}");
    assert_eq!(listed["data"][0]["id"], mine.as_str());

    // A restaurant's private fields open to the suppliers it orders from, not to others.
    let query = "query($id: ID!) { restaurant(id: $id) { contactEmail } }";
    let vars = json!({ "id": m.restaurant });
    assert_eq!(
        ok(m.seller_b.graphql(query, vars.clone()).await)["restaurant"]["contactEmail"],
        "kitchen@r.se"
    );
    assert_eq!(error(&m.seller.graphql(query, vars).await).0, "FORBIDDEN");
    let rest = m
        .seller_b
        .get_json(&format!("/api/v1/restaurants/{}", m.restaurant))
        .await;
    assert_eq!(rest["data"]["contactEmail"], "kitchen@r.se");
    let rest = m
        .seller
        .get_json(&format!("/api/v1/restaurants/{}", m.restaurant))
        .await;
    assert!(rest["data"].get("contactEmail").is_none(), "{rest}");
    let listed = m.seller.get_json("/api/v1/restaurants?q=bistro").await;
    assert_eq!(listed["pagination"]["total"], 1, "{listed}");
}

#[tokio::test]
async fn the_rest_cart_fills_and_checks_out_idempotently() {
    let m = market(&[]).await;
    let cart = |path: &str| m.chef.url(&format!("/api/v1/carts/{}{path}", m.restaurant));
    let added = m
        .chef
        .client
        .post(cart("/items"))
        .json(&json!({ "productId": m.b1, "quantity": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let updated: Value = m
        .chef
        .client
        .put(cart(&format!("/items/{}", m.b1)))
        .json(&json!({ "quantity": 3 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["data"]["items"][0]["quantity"], 3);
    assert_eq!(updated["data"]["items"][0]["lineTotal"]["amount"], "298.5");
    let missing = m
        .chef
        .client
        .delete(cart(&format!("/items/{}", m.a1)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        m.other_chef
            .get(&format!("/api/v1/carts/{}", m.restaurant))
            .await
            .status(),
        403
    );

    let checkout = || {
        m.chef
            .client
            .post(cart("/checkout"))
            .header("Idempotency-Key", "cart-1")
            .json(&json!({ "requestedDeliveryDate": next(Weekday::Wed, 0) }))
            .send()
    };
    let first = checkout().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["data"].as_array().unwrap().len(), 1);
    assert_eq!(first["data"][0]["total"]["amount"], "334.32");
    let again = checkout().await.unwrap();
    assert_eq!(
        again.status(),
        200,
        "replayed although the cart is now empty"
    );
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["data"][0]["id"], first["data"][0]["id"]);
    let empty = m
        .chef
        .get_json(&format!("/api/v1/carts/{}", m.restaurant))
        .await;
    assert_eq!(empty["data"]["items"], json!([]));
}

/// Scrapes the statement counter of the request pool from `/metrics` (background work, such as
/// the outbox dispatcher, runs on a pool of its own).
async fn statements(api: &Api) -> u64 {
    let text = api.anonymous().get("/metrics").await.text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("iris_db_statements_total{") && l.contains("pool=\"request\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// The nested orders query costs the same few statements for 1, 50 and 500 orders.
#[tokio::test]
async fn the_nested_orders_query_costs_the_same_statements_for_any_page_size() {
    // The caller read on every request, so a cache entry expiring mid-test cannot change the count.
    let m = market(&[("CALLER_CACHE_TTL_SECS", "0")]).await;
    let query = "query($n: Int!) { orders(first: $n) { edges { node { restaurant { name } supplier { name } lines { product { name supplier { name } } } } } } }";
    let mut costs = Vec::new();
    let mut placed = 0;
    for n in [1usize, 50, 500] {
        // Orders of one and two lines, so lines and products batch across orders.
        crate::paging::place_orders(&m, n - placed).await;
        placed = n;
        let before = statements(&m.chef).await;
        let body = ok(m.chef.graphql(query, json!({ "n": n })).await);
        let after = statements(&m.chef).await;
        assert_eq!(body["orders"]["edges"].as_array().unwrap().len(), n);
        costs.push(after - before);
    }
    assert_eq!(
        costs[0], costs[1],
        "statements for 1, 50, 500 orders: {costs:?}"
    );
    assert_eq!(
        costs[1], costs[2],
        "statements for 1, 50, 500 orders: {costs:?}"
    );
    assert!(costs[0] <= 12, "a handful of statements: {costs:?}");
    eprintln!("statements per nested orders query (1, 50, 500 orders): {costs:?}");
}

#[tokio::test]
async fn concurrent_cart_changes_and_checkouts_take_turns() {
    let m = market(&[]).await;
    // 20 concurrent adds of one unit: none is lost.
    let adds = (0..20).map(|_| m.add_to_cart(&m.b3, 1));
    futures_util::future::join_all(adds).await;
    let cart = ok(m
        .chef
        .graphql(
            "query($id: ID!) { cart(restaurantId: $id) { items { quantity } } }",
            json!({ "id": m.restaurant }),
        )
        .await);
    assert_eq!(cart["cart"]["items"], json!([{ "quantity": 20 }]));

    // A double-clicked checkout without a key orders the cart once; the other finds it empty.
    let input = json!({ "input": { "restaurantId": m.restaurant, "requestedDeliveryDate": next(Weekday::Fri, 0) } });
    let (a, b) = tokio::join!(
        m.chef.graphql(CHECKOUT, input.clone()),
        m.chef.graphql(CHECKOUT, input)
    );
    let placed = [&a, &b]
        .iter()
        .filter(|r| r.get("errors").is_none())
        .count();
    assert_eq!(placed, 1, "{a}\n{b}");
    let refused = if a.get("errors").is_some() { &a } else { &b };
    assert_eq!(
        error(refused).0,
        "CONFLICT",
        "the cart is empty by now: {refused}"
    );
    assert_eq!(m.order_count().await, 1);
    assert_eq!(m.stock(&m.b3).await, 1_000_000 - 20);
}

#[tokio::test]
async fn a_receipt_is_derived_from_the_order_as_placed_as_json_and_as_a_pdf() {
    use reqwest::Method;
    let m = market(&[]).await;
    // 50 × 10.125 (12 %) and 1 × 4.002 (25 %) from A: total 572.
    let placed = ok(m
        .place(
            &m.chef,
            json!({
                "restaurantId": m.restaurant, "supplierId": m.supplier_a,
                "lines": [{ "productId": m.a1, "quantity": 50 }, { "productId": m.a2, "quantity": 1 }],
                "requestedDeliveryDate": next(Weekday::Thu, 0),
            }),
        )
        .await);
    let order = placed["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for step in ["confirmOrder", "shipOrder", "markOrderDelivered"] {
        ok(m.transition(&m.seller, step, &order, None).await);
    }
    // A price change afterwards does not touch the receipt: it is the order as placed.
    ok(m.seller
        .graphql(
            UPSERT,
            json!({ "input": { "supplierId": m.supplier_a, "products": [
                { "sku": "A-1", "name": "Laxfilé", "category": "Test", "unit": "KG", "unitPrice": "99", "taxRate": "12", "stockOnHand": 1000 }
            ] } }),
        )
        .await);

    let graphql = ok(m
        .chef
        .graphql(
            "query($id: ID!) { order(id: $id) { total { amount } receipt { number placedAt deliveredAt pdfUrl supplier { name organisationNumber } restaurant { name organisationNumber } } } }",
            json!({ "id": order }),
        )
        .await);
    let receipt = &graphql["order"]["receipt"];
    let number = format!("R-{}", order.replace('-', "")[..8].to_uppercase());
    assert_eq!(receipt["number"], number.as_str(), "{graphql}");
    assert_eq!(receipt["supplier"]["name"], "Alfa Grossist AB");
    assert!(receipt["supplier"]["organisationNumber"].is_string());
    assert_eq!(receipt["restaurant"]["name"], "Bistro Ett");
    assert!(receipt["deliveredAt"].is_string(), "{receipt}");
    assert_eq!(
        receipt["pdfUrl"],
        format!("/api/v1/orders/{order}/receipt.pdf").as_str()
    );

    let (status, body) = m
        .chef
        .send(
            Method::GET,
            &format!("/api/v1/orders/{order}/receipt"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["number"], number.as_str());
    assert_eq!(data["order"]["total"]["amount"], "572");
    assert_eq!(data["order"]["lines"][0]["unitPrice"]["amount"], "10.125");
    assert_eq!(data["order"]["lines"][0]["lineTotal"]["amount"], "506.25");
    assert_eq!(data["order"]["taxes"].as_array().unwrap().len(), 2);
    // The supplier's members see it too; anyone else does not.
    assert_eq!(
        m.seller
            .send(
                Method::GET,
                &format!("/api/v1/orders/{order}/receipt"),
                None
            )
            .await
            .0,
        200
    );
    for api in [&m.other_chef, &m.seller_b] {
        let (status, _) = api
            .send(
                Method::GET,
                &format!("/api/v1/orders/{order}/receipt"),
                None,
            )
            .await;
        assert_eq!(status, 404);
    }

    // The printable PDF: a real PDF, naming the parties and the totals.
    let response = m
        .chef
        .get(&format!("/api/v1/orders/{order}/receipt.pdf"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/pdf"
    );
    let pdf = response.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    assert!(
        pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"),
        "a whole PDF"
    );
    // The page text: literal strings as they are, hex strings (<…>) decoded; WinAnsi bytes
    // read as Latin-1.
    let mut decoded = pdf.to_vec();
    let mut rest = &pdf[..];
    while let Some(start) = rest.iter().position(|b| *b == b'<') {
        rest = &rest[start + 1..];
        let end = rest.iter().position(|b| *b == b'>').unwrap_or(0);
        let hex = &rest[..end];
        if !hex.is_empty() && hex.len() % 2 == 0 && hex.iter().all(u8::is_ascii_hexdigit) {
            decoded.push(b'\n');
            for pair in hex.chunks(2) {
                let digits = std::str::from_utf8(pair).unwrap();
                decoded.push(u8::from_str_radix(digits, 16).unwrap());
            }
        }
    }
    let text: String = decoded.iter().map(|b| *b as char).collect();
    for expected in [
        number.as_str(),
        "Alfa Grossist AB",
        "Bistro Ett",
        "Total  572 SEK",
        "VAT 12 %  60.75 SEK",
        "506.25",
    ] {
        assert!(text.contains(expected), "{expected} in the PDF");
    }
    // Swedish letters in the PDF's own encoding (WinAnsi: é = 0xE9, ö = 0xF6).
    assert!(text.contains("Laxfilé") && text.contains("Malmö"), "{text}");
    assert_eq!(
        m.other_chef
            .get(&format!("/api/v1/orders/{order}/receipt.pdf"))
            .await
            .status(),
        404
    );
}
