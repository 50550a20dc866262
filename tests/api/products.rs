//! The catalog: batch upserts by suppliers (all or nothing), browsing with filters, search
//! ranked by SKU and name similarity, and who may change what.

use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, create_supplier};

const UPSERT: &str = "mutation($input: UpsertProductsInput!) { upsertProducts(input: $input) { products { id sku name unitPrice { amount currency } stockOnHand allergens supplier { name } } } }";
const LIST: &str = "query($filter: ProductFilter, $sort: ProductSort, $first: Int) { products(first: $first, filter: $filter, sort: $sort) { totalCount edges { node { sku name } } } }";

fn product(sku: &str, name: &str, price: &str, extra: Value) -> Value {
    let mut p = json!({ "sku": sku, "name": name, "category": "Grönsaker", "unit": "KG", "unitPrice": price, "stockOnHand": 10 });
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

fn skus(body: &Value) -> Vec<String> {
    body["data"]["products"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"]["sku"].as_str().unwrap().to_owned())
        .collect()
}

async fn catalog(app: &TestApp) -> String {
    let supplier = create_supplier(app, 800, "Grönt AB", "Malmö").await;
    let id = supplier["id"].as_str().unwrap().to_owned();
    let items = json!([
        product(
            "TOM-01",
            "Tomat kvist",
            "32.50",
            json!({ "dietaryTags": ["VEGAN", "ORGANIC"] })
        ),
        product(
            "TOM-02",
            "Tomat körsbär",
            "45.000",
            json!({ "dietaryTags": ["VEGAN"] })
        ),
        product("GUR-01", "Gurka", "18.9", json!({ "stockOnHand": 0 })),
        product(
            "LAX-01",
            "Laxfilé",
            "189",
            json!({ "allergens": ["FISH"], "unit": "KG", "category": "Fisk" })
        ),
        product(
            "BRD-01",
            "Surdegsbröd",
            "0.001",
            json!({ "allergens": ["GLUTEN"], "unit": "PIECE", "category": "Bröd" })
        ),
    ]);
    let body = app
        .graphql(
            UPSERT,
            json!({ "input": { "supplierId": id, "products": items } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    id
}

#[tokio::test]
async fn batches_are_all_or_nothing_with_every_bad_item_named() {
    let (app, _backend) = TestApp::spawn().await;
    let supplier = catalog(&app).await;
    let body = app
        .graphql(
            UPSERT,
            json!({ "input": { "supplierId": supplier, "products": [
                product("NEW-01", "Ny produkt", "10", json!({})),
                product("BAD 02", "", "0.0001", json!({ "stockOnHand": -1 })),
                product("NEW-01", "Dubblett", "10", json!({})),
            ] } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    let fields: Vec<&str> = body["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "items[1].sku",
            "items[1].name",
            "items[1].unitPrice",
            "items[1].stockOnHand",
            "items[2].sku"
        ]
    );
    let all = app.graphql(LIST, json!({ "first": 100 })).await;
    assert_eq!(
        all["data"]["products"]["totalCount"], 5,
        "nothing was written"
    );

    // An existing SKU is updated; its stock kept when not given.
    let body = app
        .graphql(
            UPSERT,
            json!({ "input": { "supplierId": supplier, "products": [
                { "sku": "tom-01", "name": "Tomat kvist eko", "category": "Grönsaker", "unit": "KG", "unitPrice": "33" },
            ] } }),
        )
        .await;
    let updated = &body["data"]["upsertProducts"]["products"][0];
    assert_eq!(updated["name"], "Tomat kvist eko", "{body}");
    assert_eq!(updated["stockOnHand"], 10);
    assert_eq!(
        updated["unitPrice"],
        json!({ "amount": "33", "currency": "SEK" })
    );
    assert_eq!(updated["supplier"]["name"], "Grönt AB");
    assert_eq!(
        app.graphql(LIST, json!({ "first": 100 })).await["data"]["products"]["totalCount"],
        5
    );
}

#[tokio::test]
async fn filters_and_sorting() {
    let (app, _backend) = TestApp::spawn().await;
    catalog(&app).await;
    let list = |filter: Value, sort: Value| {
        let app = &app;
        async move {
            skus(
                &app.graphql(
                    LIST,
                    json!({ "first": 100, "filter": filter, "sort": sort }),
                )
                .await,
            )
        }
    };
    assert_eq!(
        list(json!({ "inStock": true }), json!({ "field": "PRICE" })).await,
        ["BRD-01", "TOM-01", "TOM-02", "LAX-01"]
    );
    assert_eq!(
        list(
            json!({ "excludesAllergens": ["FISH", "GLUTEN"] }),
            json!({ "field": "NAME" })
        )
        .await,
        ["GUR-01", "TOM-01", "TOM-02"]
    );
    assert_eq!(
        list(json!({ "dietaryTags": ["VEGAN", "ORGANIC"] }), json!(null)).await,
        ["TOM-01"]
    );
    assert_eq!(
        list(
            json!({ "minPrice": "30", "maxPrice": "50" }),
            json!({ "field": "PRICE", "direction": "DESC" })
        )
        .await,
        ["TOM-02", "TOM-01"]
    );
    assert_eq!(
        list(json!({ "category": "fisk" }), json!(null)).await,
        ["LAX-01"]
    );
}

#[tokio::test]
async fn search_ranks_sku_then_name_and_tolerates_typos() {
    let (app, _backend) = TestApp::spawn().await;
    catalog(&app).await;
    let search = |q: &'static str| {
        let app = &app;
        async move {
            skus(
                &app.graphql(LIST, json!({ "first": 10, "filter": { "query": q } }))
                    .await,
            )
        }
    };
    assert_eq!(
        search("tom-02").await,
        ["TOM-02"],
        "an exact SKU comes first and alone"
    );
    assert_eq!(search("TOM").await, ["TOM-01", "TOM-02"], "SKU prefix");
    assert_eq!(search("tomat").await, ["TOM-01", "TOM-02"]);
    assert_eq!(
        search("laxfile").await,
        ["LAX-01"],
        "a missing accent still finds it"
    );
    assert_eq!(search("surdegsbrod").await, ["BRD-01"]);
    assert_eq!(search("gurkor").await, ["GUR-01"], "typo-tolerant");
    assert!(search("ost").await.is_empty());
}

#[tokio::test]
async fn only_the_suppliers_members_and_admins_change_its_catalog() {
    let (app, _backend) = TestApp::spawn().await;
    let supplier = catalog(&app).await;
    let items = json!([product("X-1", "X", "1", json!({}))]);
    let input = json!({ "input": { "supplierId": supplier, "products": items } });

    let anonymous = app.anonymous().graphql(UPSERT, input.clone()).await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    let chef: Api = app.login("chef@iris.local", "iris-demo").await;
    let stranger = chef.graphql(UPSERT, input.clone()).await;
    assert_eq!(stranger["errors"][0]["extensions"]["code"], "FORBIDDEN");

    // Anyone may browse.
    let browse = app.anonymous().graphql(LIST, json!({ "first": 1 })).await;
    assert_eq!(browse["data"]["products"]["totalCount"], 5);
}

#[tokio::test]
async fn the_catalog_over_rest() {
    let (app, _backend) = TestApp::spawn().await;
    let supplier = catalog(&app).await;
    let url = app.url(&format!("/api/v1/suppliers/{supplier}/products"));
    let response = app
        .client
        .put(&url)
        .json(&json!({ "products": [{ "sku": "OST-1", "name": "Västerbottensost", "category": "Mejeri", "unit": "KG", "unitPrice": 0.5 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422, "a float price is refused");
    let response = app
        .client
        .put(&url)
        .json(&json!({ "products": [{ "sku": "OST-1", "name": "Västerbottensost", "category": "Mejeri", "unit": "KG", "unitPrice": "289.00", "allergens": ["MILK"], "stockOnHand": 4 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let id = body["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        body["data"][0]["unitPrice"],
        json!({ "amount": "289", "currency": "SEK" })
    );

    let found: Value = app
        .get_json("/api/v1/products?q=vasterbotten&excludesAllergens=fish")
        .await;
    assert_eq!(found["pagination"]["total"], 1, "{found}");
    assert_eq!(found["data"][0]["sku"], "OST-1");
    let none: Value = app
        .get_json("/api/v1/products?q=vasterbotten&excludesAllergens=MILK")
        .await;
    assert_eq!(none["pagination"]["total"], 0);
    let bad = app
        .get("/api/v1/products?excludesAllergens=PINEAPPLE")
        .await;
    assert_eq!(bad.status(), 422);
    let one: Value = app.get_json(&format!("/api/v1/products/{id}")).await;
    assert_eq!(one["data"]["name"], "Västerbottensost");
    let priced: Value = app.get_json("/api/v1/products?sort=-price&limit=2").await;
    assert_eq!(priced["data"][0]["sku"], "OST-1");
}
