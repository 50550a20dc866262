//! GDPR erasure (no trace of the e-mail left in any text column) and the retention purge.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement,
    sea_query::Expr,
};
use serde_json::json;

use crate::{
    helpers::TestApp,
    orders::{HASH, PASSWORD, error, market, next, ok},
};

/// Every `table.column` whose text contains `needle` (any case), across the whole database.
async fn columns_containing(app: &TestApp, needle: &str) -> Vec<String> {
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let catalog = match backend {
        DatabaseBackend::Postgres => {
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()"
        }
        _ => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
    };
    let columns = db
        .query_all_raw(Statement::from_string(backend, catalog))
        .await
        .unwrap();
    let mut found = Vec::new();
    for row in columns {
        let table: String = row.try_get("", "t").unwrap();
        let column: String = row.try_get("", "c").unwrap();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM \"{table}\" WHERE LOWER(CAST(\"{column}\" AS TEXT)) LIKE '%{}%'",
            needle.to_lowercase()
        );
        let n: i64 = db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .unwrap()
            .try_get("", "n")
            .unwrap();
        if n > 0 {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

#[tokio::test]
async fn an_erased_account_leaves_no_trace_of_its_email() {
    let users = format!(
        "boss@t.se:ADMIN:{HASH};anna.berg@t.se:RESTAURANT:{HASH};sven@t.se:SUPPLIER:{HASH}"
    );
    let (app, _backend) = TestApp::spawn_with(&[("DEV_USERS", users.as_str())]).await;
    let admin = app.login("boss@t.se", PASSWORD).await;
    let anna = app.login("anna.berg@t.se", PASSWORD).await;
    let sven = app.login("sven@t.se", PASSWORD).await;
    // Anna's address spreads: her restaurant's contact, a note, audit records, a membership.
    let restaurant = ok(anna
        .graphql("mutation { createRestaurant(input: {name: \"Annas Kök\", contactEmail: \"Anna.Berg@t.se\", city: \"Lund\"}) { restaurant { id } } }", json!({}))
        .await)["createRestaurant"]["restaurant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let supplier = ok(sven
        .graphql(
            "mutation($input: CreateSupplierInput!) { createSupplier(input: $input) { supplier { id } } }",
            json!({ "input": crate::helpers::supplier_input(77, "Svens Grönt AB", "Lund") }),
        )
        .await)["createSupplier"]["supplier"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(sven.graphql("mutation($input: UpsertProductsInput!) { upsertProducts(input: $input) { products { id } } }",
        json!({ "input": { "supplierId": supplier, "products": [{ "sku": "G-1", "name": "Grönkål", "category": "Grönt", "unit": "KG", "unitPrice": "600", "stockOnHand": 10 }] } })).await);
    let product = ok(anna
        .graphql("{ products { edges { node { id } } } }", json!({}))
        .await)["products"]["edges"][0]["node"]["id"]
        .clone();
    ok(anna
        .graphql(
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }",
            json!({ "input": {
                "restaurantId": restaurant, "supplierId": supplier,
                "lines": [{ "productId": product, "quantity": 1 }],
                "requestedDeliveryDate": next(chrono::Weekday::Mon, 0),
                "note": "Ring anna.berg@t.se vid leverans",
            } }),
        )
        .await);
    let me = ok(anna.graphql("{ me { id } }", json!({})).await)["me"]["id"].clone();
    assert!(!columns_containing(&app, "anna.berg@t.se").await.is_empty());

    const ERASE: &str =
        "mutation($id: ID!) { eraseAccount(input: {accountId: $id}) { accountId erasedAt } }";
    assert_eq!(
        error(&sven.graphql(ERASE, json!({ "id": me })).await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        error(&anna.graphql(ERASE, json!({ "id": me })).await).0,
        "FORBIDDEN"
    );
    let erased = ok(admin.graphql(ERASE, json!({ "id": me })).await);
    assert_eq!(erased["eraseAccount"]["accountId"], me);
    assert!(erased["eraseAccount"]["erasedAt"].is_string());

    let left = columns_containing(&app, "anna.berg@t.se").await;
    assert!(left.is_empty(), "the address is still in {left:?}");
    // Her old token no longer opens anything.
    assert_eq!(
        error(&anna.graphql("{ me { id } }", json!({})).await).0,
        "UNAUTHENTICATED"
    );
    // Everything else is intact: the restaurant and its order remain, contact erased.
    let kept = ok(admin
        .graphql(
            "query($id: ID!) { restaurant(id: $id) { name contactEmail } }",
            json!({ "id": restaurant }),
        )
        .await);
    assert_eq!(
        kept["restaurant"],
        json!({ "name": "Annas Kök", "contactEmail": "erased@erased.invalid" })
    );
    assert_eq!(
        ok(admin.graphql("{ orders { totalCount } }", json!({})).await)["orders"]["totalCount"],
        1
    );
    let audit = ok(admin
        .graphql(
            "{ auditLog(filter: {action: \"account.erase\"}) { totalCount } }",
            json!({}),
        )
        .await);
    assert_eq!(audit["auditLog"]["totalCount"], 1);
}

#[tokio::test]
async fn the_retention_purge_deletes_what_is_past_its_time_and_nothing_else() {
    let m = market(&[]).await;
    let db = &m.app.state.db;
    // A product and a supplier deleted long ago, a product deleted today, an old audit entry.
    let delete = "mutation($id: ID!) { deleteProduct(input: {id: $id}) { deletedProductId } }";
    ok(m.seller_b.graphql(delete, json!({ "id": m.b1 })).await);
    ok(m.seller.graphql(delete, json!({ "id": m.a2 })).await);
    let long_ago = chrono::Utc::now() - chrono::Duration::days(45);
    entity::products::Entity::update_many()
        .col_expr(entity::products::Column::DeletedAt, Expr::value(long_ago))
        .filter(entity::products::Column::Id.eq(uuid::Uuid::parse_str(&m.b1).unwrap()))
        .exec(db)
        .await
        .unwrap();
    entity::audit_log::Entity::update_many()
        .col_expr(
            entity::audit_log::Column::At,
            Expr::value(chrono::Utc::now() - chrono::Duration::days(400)),
        )
        .filter(entity::audit_log::Column::Action.eq("restaurant.create"))
        .exec(db)
        .await
        .unwrap();

    let run = ok(m
        .admin
        .graphql("mutation { runJob(input: {name: \"purge-retention\"}) { run { status stats error } } }", json!({}))
        .await);
    let run = &run["runJob"]["run"];
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["stats"]["deleted"]["products"], 1, "{run}");
    assert_eq!(run["stats"]["deleted"]["audit_log"], 2, "{run}");
    let gone = entity::products::Entity::find_by_id(uuid::Uuid::parse_str(&m.b1).unwrap())
        .one(db)
        .await
        .unwrap();
    assert!(gone.is_none(), "past its 30 days");
    let kept = entity::products::Entity::find_by_id(uuid::Uuid::parse_str(&m.a2).unwrap())
        .one(db)
        .await
        .unwrap();
    assert!(
        kept.is_some_and(|p| p.deleted_at.is_some()),
        "deleted today: kept"
    );
    let audit = ok(m.admin.graphql("{ auditLog(filter: {action: \"retention.purge\"}) { totalCount edges { node { after } } } }", json!({})).await);
    assert_eq!(audit["auditLog"]["totalCount"], 1, "{audit}");
}
