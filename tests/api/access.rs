//! The access matrix: every role × every protected query, field, mutation, subscription and
//! REST route. Each row lists the expected outcome per role, in the order of [`WHO`]:
//! `o` allowed, `U` UNAUTHENTICATED, `F` FORBIDDEN, `N` NOT_FOUND.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    Api, TestApp, connection_init, join, supplier_input, ws_connect, ws_json, ws_send,
};

const HASH: &str = "$2b$10$pp7L7TN/MQmBT13XXnOfBOjIfzg3jwBMC1IRq/apBE9oOlklEMKtW";
const PASSWORD: &str = "iris-demo";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    Admin,
    SupplierOwner,
    SupplierStaff,
    OtherSupplier,
    RestaurantOwner,
    RestaurantStaff,
    OtherRestaurant,
}

const WHO: [Who; 8] = [
    Who::Anonymous,
    Who::Admin,
    Who::SupplierOwner,
    Who::SupplierStaff,
    Who::OtherSupplier,
    Who::RestaurantOwner,
    Who::RestaurantStaff,
    Who::OtherRestaurant,
];

fn email(who: Who) -> &'static str {
    match who {
        Who::Anonymous => "",
        Who::Admin => "admin@t.se",
        Who::SupplierOwner => "sowner@t.se",
        Who::SupplierStaff => "sstaff@t.se",
        Who::OtherSupplier => "sother@t.se",
        Who::RestaurantOwner => "rowner@t.se",
        Who::RestaurantStaff => "rstaff@t.se",
        Who::OtherRestaurant => "rother@t.se",
    }
}

struct World {
    apis: Vec<(Who, Api)>,
    supplier: String,
    disposable: Vec<String>,
    restaurant: String,
    other_restaurant: String,
    /// A product of `supplier`.
    product: String,
    /// PLACED orders of `restaurant` with `supplier`: two per role, one per destructive row.
    orders: Vec<String>,
    /// An account only the erasure row touches.
    erasable: String,
    /// A supplier invoice to `restaurant` (uploaded by its owner), for `orders[0]`.
    invoice: String,
}

impl World {
    /// A PLACED order only `who` acts on in row `row` (0 or 1).
    fn order(&self, who: Who, row: usize) -> &str {
        &self.orders[row * WHO.len() + who as usize]
    }
}

impl World {
    fn api(&self, who: Who) -> &Api {
        &self.apis.iter().find(|(w, _)| *w == who).expect("role").1
    }
}

fn ok(body: &Value) -> &Value {
    assert!(body.get("errors").is_none(), "setup step failed: {body}");
    &body["data"]
}

async fn world(app: &TestApp) -> World {
    let mut apis = Vec::new();
    for who in WHO {
        let api = match who {
            Who::Anonymous => app.anonymous(),
            _ => app.login(email(who), PASSWORD).await,
        };
        apis.push((who, api));
    }
    let api = |who: Who| {
        apis.iter()
            .find(|(w, _)| *w == who)
            .map(|(_, a)| a)
            .expect("role")
    };
    let create = |seed: u32| json!({ "input": supplier_input(seed, "Matrix AB", "Lund") });
    const CREATE: &str = "mutation($input: CreateSupplierInput!) { createSupplier(input: $input) { supplier { id } } }";

    // A supplier account registers its supplier and becomes its OWNER.
    let supplier = ok(&api(Who::SupplierOwner).graphql(CREATE, create(1)).await)["createSupplier"]
        ["supplier"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&api(Who::OtherSupplier).graphql(CREATE, create(2)).await);
    let disposable = vec![
        ok(&api(Who::SupplierOwner).graphql(CREATE, create(3)).await)["createSupplier"]["supplier"]
            ["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        ok(&api(Who::Admin).graphql(CREATE, create(4)).await)["createSupplier"]["supplier"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    join(
        api(Who::SupplierOwner),
        api(Who::SupplierStaff),
        "SUPPLIER",
        &supplier,
        email(Who::SupplierStaff),
        "STAFF",
    )
    .await;

    const CREATE_R: &str = "mutation($name: String!) { createRestaurant(input: {name: $name, contactEmail: \"private@r.se\", city: \"Lund\", deliveryPrefs: {days: [MONDAY], earliest: \"06:00\", latest: \"09:00\"}}) { restaurant { id contactEmail deliveryPrefs { earliest } } } }";
    // The creator, its OWNER now, sees its private fields in the answer (the request's own
    // principal predates the membership).
    let created = ok(&api(Who::RestaurantOwner)
        .graphql(CREATE_R, json!({ "name": "Matrix Bistro" }))
        .await)["createRestaurant"]["restaurant"]
        .clone();
    assert_eq!(created["contactEmail"], "private@r.se");
    assert_eq!(created["deliveryPrefs"]["earliest"], "06:00");
    let restaurant = created["id"].as_str().unwrap().to_owned();
    let other_restaurant = ok(&api(Who::OtherRestaurant)
        .graphql(CREATE_R, json!({ "name": "Other Bistro" }))
        .await)["createRestaurant"]["restaurant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    join(
        api(Who::RestaurantOwner),
        api(Who::RestaurantStaff),
        "RESTAURANT",
        &restaurant,
        email(Who::RestaurantStaff),
        "STAFF",
    )
    .await;

    // The restaurant orders from the supplier (which also opens its contact details to it).
    let product = ok(&api(Who::SupplierOwner)
        .graphql(
            "mutation($input: UpsertProductsInput!) { upsertProducts(input: $input) { products { id } } }",
            json!({ "input": { "supplierId": supplier, "products": [{ "sku": "O-1", "name": "Ordervara", "category": "Test", "unit": "KG", "unitPrice": "600", "stockOnHand": 100000 }] } }),
        )
        .await)["upsertProducts"]["products"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut orders = Vec::new();
    for _ in 0..2 * WHO.len() {
        let placed = ok(&api(Who::RestaurantOwner)
            .graphql(
                "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }",
                json!({ "input": {
                    "restaurantId": restaurant, "supplierId": supplier,
                    "lines": [{ "productId": product, "quantity": 1 }],
                    "requestedDeliveryDate": crate::orders::next(chrono::Weekday::Mon, 0),
                } }),
            )
            .await)["placeOrder"]["order"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        orders.push(placed);
    }
    let erasable = ok(&app
        .login("erasable@t.se", PASSWORD)
        .await
        .graphql("{ me { id } }", json!({}))
        .await)["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The restaurant's owner uploads the supplier's invoice for the first order.
    let csv = format!(
        "Ordernummer;{}\nArtikelnummer;Benämning;Antal;À-pris\nO-1;Ordervara;1;600\n",
        orders[0]
    );
    let boundary = "matrix-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"supplierId\"\r\n\r\n{supplier}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"restaurantId\"\r\n\r\n{restaurant}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.csv\"\r\n\r\n{csv}\r\n\
         --{boundary}--\r\n"
    );
    let uploaded: Value = api(Who::RestaurantOwner)
        .client
        .post(app.api.url("/api/v1/invoices"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let invoice = uploaded["data"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("upload failed: {uploaded}"))
        .to_owned();
    World {
        apis,
        supplier,
        disposable,
        restaurant,
        other_restaurant,
        product,
        orders,
        erasable,
        invoice,
    }
}

fn outcome_of_code(code: &str) -> char {
    match code {
        "UNAUTHENTICATED" => 'U',
        "FORBIDDEN" => 'F',
        "NOT_FOUND" => 'N',
        other => panic!("unexpected error code {other}"),
    }
}

fn graphql_outcome(body: &Value) -> char {
    match body["errors"].as_array() {
        None => 'o',
        Some(errors) => outcome_of_code(errors[0]["extensions"]["code"].as_str().unwrap_or("?")),
    }
}

fn rest_outcome(status: u16) -> char {
    match status {
        200..=299 => 'o',
        401 => 'U',
        403 => 'F',
        404 => 'N',
        other => panic!("unexpected status {other}"),
    }
}

enum Op {
    Graphql(&'static str, fn(Who, &World, u32) -> Value),
    Rest(&'static str, fn(&World) -> String, fn(u32) -> Option<Value>),
    Subscribe(&'static str),
}

async fn run(op: &Op, who: Who, world: &World, n: u32) -> char {
    let api = world.api(who);
    match op {
        Op::Graphql(query, vars) => graphql_outcome(&api.graphql(query, vars(who, world, n)).await),
        Op::Rest(method, path, body) => {
            let url = api.url(&path(world));
            let request = match *method {
                "GET" => api.client.get(url),
                "POST" => api.client.post(url),
                "PATCH" => api.client.patch(url),
                "PUT" => api.client.put(url),
                other => panic!("method {other}"),
            };
            let request = match body(n) {
                Some(body) => request.json(&body),
                None => request,
            };
            rest_outcome(request.send().await.unwrap().status().as_u16())
        }
        Op::Subscribe(query) => {
            let mut ws = ws_connect(api, "graphql-transport-ws").await;
            ws_send(&mut ws, connection_init(api)).await;
            assert_eq!(ws_json(&mut ws).await["type"], "connection_ack");
            ws_send(
                &mut ws,
                json!({ "id": "m", "type": "subscribe", "payload": { "query": query } }),
            )
            .await;
            use futures_util::StreamExt as _;
            match tokio::time::timeout(Duration::from_millis(300), ws.next()).await {
                Err(_) => 'o', // subscribed, waiting for events
                Ok(Some(Ok(message))) => {
                    let message: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
                    // A rejected document is an `error`; a resolver's refusal a `next` with errors.
                    let error = match message["type"].as_str() {
                        Some("next") => &message["payload"]["errors"][0],
                        _ => &message["payload"][0],
                    };
                    outcome_of_code(error["extensions"]["code"].as_str().unwrap_or("?"))
                }
                Ok(other) => panic!("websocket: {other:?}"),
            }
        }
    }
}

fn none(_: Who, _: &World, _: u32) -> Value {
    json!({})
}

#[tokio::test]
async fn every_role_reaches_exactly_what_it_may() {
    let dev_users = WHO[1..]
        .iter()
        .map(|who| {
            let role = match who {
                Who::Admin => "ADMIN",
                Who::SupplierOwner | Who::SupplierStaff | Who::OtherSupplier => "SUPPLIER",
                _ => "RESTAURANT",
            };
            format!("{}:{role}:{HASH}", email(*who))
        })
        .chain(std::iter::once(format!("erasable@t.se:RESTAURANT:{HASH}")))
        .collect::<Vec<_>>()
        .join(";");
    let (app, _backend) = TestApp::spawn_with(&[("DEV_USERS", dev_users.as_str())]).await;
    let world = world(&app).await;

    let rows: Vec<(&str, &str, Op)> = vec![
        (
            "query me",
            "Uooooooo",
            Op::Graphql("{ me { id role } }", none),
        ),
        (
            "field Product.price (the restaurant's and the supplier's members)",
            "UoooFooF",
            Op::Graphql(
                "query($id: ID!, $r: ID!) { product(id: $id) { price(restaurantId: $r, quantity: 2) { unitPrice { amount } } } }",
                |_, w, _| json!({ "id": w.product, "r": w.restaurant }),
            ),
        ),
        (
            "query products(restaurantId:) (its members)",
            "UoFFFooF",
            Op::Graphql(
                "query($r: ID!) { products(restaurantId: $r, first: 1) { edges { node { id } } } }",
                |_, w, _| json!({ "r": w.restaurant }),
            ),
        ),
        (
            "query supplierConnections (the restaurant's members)",
            "UoFFFooF",
            Op::Graphql(
                "query($r: ID!) { supplierConnections(restaurantId: $r) { id status } }",
                |_, w, _| json!({ "r": w.restaurant }),
            ),
        ),
        (
            "query supplierConnection (never connected: not found for those who may look)",
            "UNFFFNNF",
            Op::Graphql(
                "query($r: ID!) { supplierConnection(restaurantId: $r, supplierKey: \"menigo\") { status } }",
                |_, w, _| json!({ "r": w.restaurant }),
            ),
        ),
        (
            "query connectors (signed in)",
            "Uooooooo",
            Op::Graphql("{ connectors { key degraded } }", none),
        ),
        (
            "query connectorKpis (admins)",
            "UoFFFFFF",
            Op::Graphql("{ connectorKpis { connectedShare } }", none),
        ),
        (
            "GET /api/v1/integrations/{supplier}/status",
            "UNFFFNNF",
            Op::Rest(
                "GET",
                |w| {
                    format!(
                        "/api/v1/integrations/martin_servera/status?restaurantId={}",
                        w.restaurant
                    )
                },
                |_| None,
            ),
        ),
        (
            "query priceLists",
            "UoooFFFF",
            Op::Graphql(
                "query($s: ID!) { priceLists(supplierId: $s) { edges { node { id } } } }",
                |_, w, _| json!({ "s": w.supplier }),
            ),
        ),
        (
            "mutation createPriceList",
            "UoooFFFF",
            Op::Graphql(
                "mutation($s: ID!, $p: ID!) { createPriceList(input: {supplierId: $s, name: \"Row\", entries: [{productId: $p, percentOff: \"5\"}]}) { priceList { id } } }",
                |_, w, _| json!({ "s": w.supplier, "p": w.product }),
            ),
        ),
        (
            "query priceRules",
            "UoooFFFF",
            Op::Graphql(
                "query($s: ID!) { priceRules(supplierId: $s) { id } }",
                |_, w, _| json!({ "s": w.supplier }),
            ),
        ),
        (
            "query previewPriceRefresh",
            "UoooFFFF",
            Op::Graphql(
                "query($s: ID!) { previewPriceRefresh(supplierId: $s) { changed } }",
                |_, w, _| json!({ "s": w.supplier }),
            ),
        ),
        (
            "query recommendedSuppliers",
            "UoFFFooF",
            Op::Graphql(
                "query($r: ID!) { recommendedSuppliers(restaurantId: $r, category: \"Fisk\") { suppliers { score } } }",
                |_, w, _| json!({ "r": w.restaurant }),
            ),
        ),
        (
            "mutation setSupplierLocation (owners)",
            "UooFFFFF",
            Op::Graphql(
                "mutation($s: ID!) { setSupplierLocation(input: {id: $s, latitude: \"57.7\", longitude: \"11.97\"}) { supplier { id } } }",
                |_, w, _| json!({ "s": w.supplier }),
            ),
        ),
        (
            "mutation setRestaurantLocation (owners)",
            "UoFFFoFF",
            Op::Graphql(
                "mutation($r: ID!) { setRestaurantLocation(input: {id: $r, latitude: \"57.7\", longitude: \"11.97\"}) { restaurant { id } } }",
                |_, w, _| json!({ "r": w.restaurant }),
            ),
        ),
        (
            "GET /api/v1/products/{id}/price",
            "UoooFooF",
            Op::Rest(
                "GET",
                |w| {
                    format!(
                        "/api/v1/products/{}/price?restaurantId={}",
                        w.product, w.restaurant
                    )
                },
                |_| None,
            ),
        ),
        (
            "GET /api/v1/suppliers/{id}/price-lists",
            "UoooFFFF",
            Op::Rest(
                "GET",
                |w| format!("/api/v1/suppliers/{}/price-lists", w.supplier),
                |_| None,
            ),
        ),
        (
            "query auditLog",
            "UoFFFFFF",
            Op::Graphql("{ auditLog { totalCount } }", none),
        ),
        (
            "query suppliers (public)",
            "oooooooo",
            Op::Graphql("{ suppliers { totalCount } }", none),
        ),
        (
            "query restaurant",
            "Uooooooo",
            Op::Graphql(
                "query($id: ID!) { restaurant(id: $id) { name city } }",
                |_, w, _| json!({ "id": w.restaurant }),
            ),
        ),
        (
            "field Restaurant.contactEmail (its supplier sees it)",
            "UoooFooF",
            Op::Graphql(
                "query($id: ID!) { restaurant(id: $id) { contactEmail } }",
                |_, w, _| json!({ "id": w.restaurant }),
            ),
        ),
        (
            "field Restaurant.deliveryPrefs (its supplier sees it)",
            "UoooFooF",
            Op::Graphql(
                "query($id: ID!) { restaurant(id: $id) { deliveryPrefs { days earliest } } }",
                |_, w, _| json!({ "id": w.restaurant }),
            ),
        ),
        (
            "nested me.restaurantMemberships.restaurant.contactEmail",
            "Uooooooo",
            Op::Graphql(
                "{ me { restaurantMemberships { restaurant { contactEmail } } } }",
                none,
            ),
        ),
        (
            "nested me.supplierMemberships.supplier",
            "Uooooooo",
            Op::Graphql(
                "{ me { supplierMemberships { role supplier { name } } } }",
                none,
            ),
        ),
        (
            "mutation createSupplier",
            "UooooFFF",
            Op::Graphql(
                "mutation($input: CreateSupplierInput!) { createSupplier(input: $input) { supplier { id } } }",
                |_, _, n| json!({ "input": supplier_input(1000 + n, "Row AB", "Lund") }),
            ),
        ),
        (
            "mutation updateSupplier",
            "UooFFFFF",
            Op::Graphql(
                "mutation($id: ID!) { updateSupplier(input: {id: $id, city: \"Umeå\"}) { supplier { id } } }",
                |_, w, _| json!({ "id": w.supplier }),
            ),
        ),
        (
            "mutation deleteSupplier",
            "UooFFFFF",
            Op::Graphql(
                "mutation($id: ID!) { deleteSupplier(input: {id: $id}) { deletedAt } }",
                |who, w, _| json!({ "id": if who == Who::Admin { &w.disposable[1] } else { &w.disposable[0] } }),
            ),
        ),
        (
            "mutation createRestaurant",
            "UoFFFooo",
            Op::Graphql(
                "mutation { createRestaurant(input: {name: \"Row Bistro\", contactEmail: \"r@r.se\", city: \"Lund\"}) { restaurant { id } } }",
                none,
            ),
        ),
        (
            "mutation addMember (supplier)",
            "UooFNNNN",
            Op::Graphql(
                "mutation($input: AddMemberInput!) { addMember(input: $input) { membership { role } } }",
                |_, w, n| json!({ "input": { "organisationType": "SUPPLIER", "organisationId": w.supplier, "email": format!("new{n}@s.se"), "role": "STAFF" } }),
            ),
        ),
        (
            "mutation addMember (restaurant)",
            "UoNNNoFN",
            Op::Graphql(
                "mutation($input: AddMemberInput!) { addMember(input: $input) { membership { role } } }",
                |_, w, n| json!({ "input": { "organisationType": "RESTAURANT", "organisationId": w.restaurant, "email": format!("new{n}@r.se"), "role": "STAFF" } }),
            ),
        ),
        (
            "subscription supplierChanged (public)",
            "oooooooo",
            Op::Subscribe("subscription { supplierChanged { kind } }"),
        ),
        (
            "query products (public)",
            "oooooooo",
            Op::Graphql("{ products { totalCount } }", none),
        ),
        (
            "mutation upsertProducts",
            "UoooFFFF",
            Op::Graphql(
                "mutation($input: UpsertProductsInput!) { upsertProducts(input: $input) { products { id } } }",
                |_, w, n| json!({ "input": { "supplierId": w.supplier, "products": [{ "sku": format!("M-{n}"), "name": "Matrisvara", "category": "Test", "unit": "KG", "unitPrice": "1" }] } }),
            ),
        ),
        (
            "REST PUT /api/v1/suppliers/{id}/products",
            "UoooFFFF",
            Op::Rest(
                "PUT",
                |w| format!("/api/v1/suppliers/{}/products", w.supplier),
                |n| {
                    Some(
                        json!({ "products": [{ "sku": format!("R-{n}"), "name": "Restvara", "category": "Test", "unit": "KG", "unitPrice": "1" }] }),
                    )
                },
            ),
        ),
        (
            "REST GET /api/v1/products (public)",
            "oooooooo",
            Op::Rest("GET", |_| "/api/v1/products".into(), |_| None),
        ),
        (
            "REST GET /api/v1/me",
            "Uooooooo",
            Op::Rest("GET", |_| "/api/v1/me".into(), |_| None),
        ),
        (
            "REST GET /api/v1/admin/audit",
            "UoFFFFFF",
            Op::Rest("GET", |_| "/api/v1/admin/audit".into(), |_| None),
        ),
        (
            "REST GET /api/v1/suppliers (public)",
            "oooooooo",
            Op::Rest("GET", |_| "/api/v1/suppliers".into(), |_| None),
        ),
        (
            "REST POST /api/v1/suppliers",
            "UooooFFF",
            Op::Rest(
                "POST",
                |_| "/api/v1/suppliers".into(),
                |n| Some(supplier_input(2000 + n, "Rest AB", "Lund")),
            ),
        ),
        (
            "REST PATCH /api/v1/suppliers/{id}",
            "UooFFFFF",
            Op::Rest(
                "PATCH",
                |w| format!("/api/v1/suppliers/{}", w.supplier),
                |_| Some(json!({ "city": "Visby" })),
            ),
        ),
        (
            "query orders (each sees its own)",
            "Uooooooo",
            Op::Graphql("{ orders { totalCount } }", none),
        ),
        (
            "query order",
            "UoooNooN",
            Op::Graphql(
                "query($id: ID!) { order(id: $id) { id status } }",
                |_, w, _| json!({ "id": w.orders[0] }),
            ),
        ),
        (
            "nested order.restaurant.contactEmail",
            "UoooNooN",
            Op::Graphql(
                "query($id: ID!) { order(id: $id) { restaurant { contactEmail } lines { product { name } } } }",
                |_, w, _| json!({ "id": w.orders[0] }),
            ),
        ),
        (
            "mutation placeOrder",
            "UoFFFooF",
            Op::Graphql(
                "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }",
                |_, w, _| {
                    json!({ "input": {
                    "restaurantId": w.restaurant, "supplierId": w.supplier,
                    "lines": [{ "productId": w.product, "quantity": 1 }],
                    "requestedDeliveryDate": crate::orders::next(chrono::Weekday::Thu, 0),
                } })
                },
            ),
        ),
        (
            "mutation confirmOrder",
            "UoooNFFN",
            Op::Graphql(
                "mutation($id: ID!) { confirmOrder(input: {orderId: $id}) { order { status } } }",
                |who, w, _| json!({ "id": w.order(who, 0) }),
            ),
        ),
        (
            "mutation cancelOrder",
            "UoFFNooN",
            Op::Graphql(
                "mutation($id: ID!) { cancelOrder(input: {orderId: $id}) { order { status } } }",
                |who, w, _| json!({ "id": w.order(who, 1) }),
            ),
        ),
        (
            "query cart",
            "UoFFFooF",
            Op::Graphql(
                "query($id: ID!) { cart(restaurantId: $id) { items { quantity } } }",
                |_, w, _| json!({ "id": w.restaurant }),
            ),
        ),
        (
            "mutation addToCart",
            "UoFFFooF",
            Op::Graphql(
                "mutation($input: CartItemInput!) { addToCart(input: $input) { cart { updatedAt } } }",
                |_, w, _| json!({ "input": { "restaurantId": w.restaurant, "productId": w.product, "quantity": 1 } }),
            ),
        ),
        (
            "query inventory",
            "UoFFFooF",
            Op::Graphql(
                "query($id: ID!) { inventory(restaurantId: $id) { onHand } }",
                |_, w, _| json!({ "id": w.restaurant }),
            ),
        ),
        (
            "mutation createInventoryItem",
            "UoFFFooF",
            Op::Graphql(
                "mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { item { id } } }",
                |_, w, n| json!({ "input": { "restaurantId": w.restaurant, "name": format!("Vara {n}"), "unit": "KG" } }),
            ),
        ),
        (
            "REST GET /api/v1/restaurants/{id}/inventory",
            "UoFFFooF",
            Op::Rest(
                "GET",
                |w| format!("/api/v1/restaurants/{}/inventory", w.restaurant),
                |_| None,
            ),
        ),
        (
            "query reorderSuggestions",
            "UoFFFooF",
            Op::Graphql(
                "query($id: ID!) { reorderSuggestions(restaurantId: $id) { suppliers { supplierId } } }",
                |_, w, _| json!({ "id": w.restaurant }),
            ),
        ),
        (
            "query reorderPolicies",
            "UoFFFooF",
            Op::Graphql(
                "query($id: ID!) { reorderPolicies(restaurantId: $id) { kind } }",
                |_, w, _| json!({ "id": w.restaurant }),
            ),
        ),
        (
            "mutation applyReorderSuggestions",
            "UoFFFooF",
            Op::Graphql(
                "mutation($input: ApplyReorderSuggestionsInput!) { applyReorderSuggestions(input: $input) { applied { productId } } }",
                |_, w, _| json!({ "input": { "restaurantId": w.restaurant } }),
            ),
        ),
        (
            "query forecast (a restaurant's)",
            "UoFFFooF",
            Op::Graphql(
                "query($r: ID!, $p: ID!) { forecast(restaurantId: $r, productId: $p) { model } }",
                |_, w, _| json!({ "r": w.restaurant, "p": w.product }),
            ),
        ),
        (
            "query forecast (a supplier's)",
            "UoooFFFF",
            Op::Graphql(
                "query($s: ID!, $p: ID!) { forecast(supplierId: $s, productId: $p) { model } }",
                |_, w, _| json!({ "s": w.supplier, "p": w.product }),
            ),
        ),
        (
            "REST GET /api/v1/restaurants/{id}/reorder-suggestions",
            "UoFFFooF",
            Op::Rest(
                "GET",
                |w| format!("/api/v1/restaurants/{}/reorder-suggestions", w.restaurant),
                |_| None,
            ),
        ),
        (
            "REST GET /api/v1/suppliers/{id}/forecasts/{productId} (none yet: 404 to members)",
            "UNNNFFFF",
            Op::Rest(
                "GET",
                |w| format!("/api/v1/suppliers/{}/forecasts/{}", w.supplier, w.product),
                |_| None,
            ),
        ),
        (
            "subscription orderUpdates",
            "Uooooooo",
            Op::Subscribe("subscription { orderUpdates { to } }"),
        ),
        (
            "REST GET /api/v1/orders",
            "Uooooooo",
            Op::Rest("GET", |_| "/api/v1/orders".into(), |_| None),
        ),
        (
            "REST GET /api/v1/orders/{id}",
            "UoooNooN",
            Op::Rest(
                "GET",
                |w| format!("/api/v1/orders/{}", w.orders[0]),
                |_| None,
            ),
        ),
        (
            "query invoice",
            "UoooNooN",
            Op::Graphql(
                "query($id: ID!) { invoice(id: $id) { id lines { lineNumber } disputes { id } } }",
                |_, w, _| json!({ "id": w.invoice }),
            ),
        ),
        (
            "REST GET /api/v1/invoices/{id}",
            "UoooNooN",
            Op::Rest(
                "GET",
                |w| format!("/api/v1/invoices/{}", w.invoice),
                |_| None,
            ),
        ),
        (
            "REST GET /api/v1/invoices/{id}/document",
            "UoooNooN",
            Op::Rest(
                "GET",
                |w| format!("/api/v1/invoices/{}/document", w.invoice),
                |_| None,
            ),
        ),
        (
            "REST GET /api/v1/invoices",
            "Uooooooo",
            Op::Rest("GET", |_| "/api/v1/invoices".into(), |_| None),
        ),
        (
            "query invoiceTemplates",
            "UoooFFFF",
            Op::Graphql(
                "query($id: ID!) { invoiceTemplates(supplierId: $id) { id } }",
                |_, w, _| json!({ "id": w.supplier }),
            ),
        ),
        (
            "REST GET /api/v1/suppliers/{id}/invoice-templates",
            "UoooFFFF",
            Op::Rest(
                "GET",
                |w| format!("/api/v1/suppliers/{}/invoice-templates", w.supplier),
                |_| None,
            ),
        ),
        (
            "mutation setInvoiceTolerance",
            "UooFFFFF",
            Op::Graphql(
                "mutation($input: SetInvoiceToleranceInput!) { setInvoiceTolerance(input: $input) { tolerancePercent } }",
                |_, w, _| json!({ "input": { "supplierId": w.supplier, "tolerancePercent": "0.5" } }),
            ),
        ),
        (
            "REST GET /api/v1/carts/{id}",
            "UoFFFooF",
            Op::Rest(
                "GET",
                |w| format!("/api/v1/carts/{}", w.restaurant),
                |_| None,
            ),
        ),
        (
            "REST GET /api/v1/restaurants",
            "Uooooooo",
            Op::Rest("GET", |_| "/api/v1/restaurants".into(), |_| None),
        ),
        (
            "query webhookEndpoints (each sees its own)",
            "Uooooooo",
            Op::Graphql("{ webhookEndpoints { id } }", none),
        ),
        (
            "mutation createWebhookEndpoint (supplier owners)",
            "UooFFFFF",
            Op::Graphql(
                "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }",
                |_, w, _| json!({ "input": { "organisationType": "SUPPLIER", "organisationId": w.supplier, "url": "https://93.184.216.34/hook", "eventTypes": ["order.placed"] } }),
            ),
        ),
        (
            "mutation createWebhookEndpoint (restaurant owners)",
            "UoFFFoFF",
            Op::Graphql(
                "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }",
                |_, w, _| json!({ "input": { "organisationType": "RESTAURANT", "organisationId": w.restaurant, "url": "https://93.184.216.34/hook", "eventTypes": ["order.placed"] } }),
            ),
        ),
        (
            "query notifications (each its own)",
            "Uooooooo",
            Op::Graphql(
                "{ notifications { totalCount } unreadNotificationCount }",
                none,
            ),
        ),
        (
            "mutation markNotificationsRead",
            "Uooooooo",
            Op::Graphql(
                "mutation { markNotificationsRead(input: {all: true}) { marked } }",
                none,
            ),
        ),
        (
            "subscription notificationReceived",
            "Uooooooo",
            Op::Subscribe("subscription { notificationReceived { kind } }"),
        ),
        (
            "mutation eraseAccount",
            "UoFFFFFF",
            Op::Graphql(
                "mutation($id: ID!) { eraseAccount(input: {accountId: $id}) { erasedAt } }",
                |_, w, _| json!({ "id": w.erasable }),
            ),
        ),
        (
            "query jobs",
            "UoFFFFFF",
            Op::Graphql("{ jobs { name nextRunAt } }", none),
        ),
        (
            "mutation runJob",
            "UoFFFFFF",
            Op::Graphql(
                "mutation { runJob(input: {name: \"expire-idempotency-keys\"}) { run { status } } }",
                none,
            ),
        ),
    ];

    let mut failures = Vec::new();
    let mut n = 0;
    for (name, expected, op) in &rows {
        // Denied roles first, so a destructive row still has its target for the allowed ones.
        for (i, who) in WHO.iter().enumerate().rev() {
            n += 1;
            let want = expected.as_bytes()[i] as char;
            let got = run(op, *who, &world, n).await;
            if got != want {
                failures.push(format!("{name}: {who:?} expected {want}, got {got}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "access matrix violations:\n{}",
        failures.join("\n")
    );

    // Nested paths lead only to the caller's own tenants.
    let mine = world
        .api(Who::OtherRestaurant)
        .graphql(
            "{ me { restaurantMemberships { role restaurant { id contactEmail } } } }",
            json!({}),
        )
        .await;
    let reached: Vec<&str> = mine["data"]["me"]["restaurantMemberships"]
        .as_array()
        .expect("memberships")
        .iter()
        .map(|m| m["restaurant"]["id"].as_str().unwrap_or_default())
        .collect();
    assert!(reached.contains(&world.other_restaurant.as_str()), "{mine}");
    assert!(
        !reached.contains(&world.restaurant.as_str()),
        "another tenant's restaurant: {mine}"
    );
}
