//! Reads at the cost of the statements they need: keyset cursors that seek (stable while rows
//! are inserted, `before`/`last`, tampered cursors refused), `totalCount` counted only when
//! selected, the caller resolved in at most one statement, and REST's `cursor`.

use serde_json::{Value, json};

use crate::{
    helpers::Api,
    orders::{Market, UPSERT, error, fields, market, ok},
};

/// Statements of the request pool so far, in all and of kind `count` (from `/metrics`).
async fn statements(api: &Api) -> (u64, u64) {
    let text = api.anonymous().get("/metrics").await.text().await.unwrap();
    let mut all = 0.0;
    let mut counts = 0.0;
    for line in text
        .lines()
        .filter(|l| l.starts_with("iris_db_statements_total{") && l.contains("pool=\"request\""))
    {
        let value: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_default();
        all += value;
        if line.contains("kind=\"count\"") {
            counts += value;
        }
    }
    (all as u64, counts as u64)
}

/// The statements one GraphQL request cost: (all, counts).
async fn cost_of(api: &Api, query: &str, variables: Value) -> (Value, (u64, u64)) {
    let before = statements(api).await;
    let body = ok(api.graphql(query, variables).await);
    let after = statements(api).await;
    (body, (after.0 - before.0, after.1 - before.1))
}

/// Places `n` orders of one or two lines with supplier B (the second line of a product
/// with plenty of stock).
pub(crate) async fn place_orders(m: &Market, n: usize) -> Vec<String> {
    let extra = ok(m
        .seller_b
        .graphql(UPSERT, json!({ "input": { "supplierId": m.supplier_b, "products": [
            { "sku": "B-PAGING", "name": "Rågbröd", "category": "Test", "unit": "PIECE", "unitPrice": "3", "stockOnHand": 100000 }
        ] } }))
        .await)["upsertProducts"]["products"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ids = Vec::new();
    let inputs: Vec<Value> = (0..n)
        .map(|i| {
            let mut input = m.order_b(&m.b3, 1);
            if i % 2 == 0 {
                input["lines"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({ "productId": extra, "quantity": 1 }));
            }
            input
        })
        .collect();
    for chunk in inputs.chunks(25) {
        let placed = futures_util::future::join_all(
            chunk.iter().map(|input| m.place(&m.chef, input.clone())),
        )
        .await;
        for body in placed {
            ids.push(
                ok(body)["placeOrder"]["order"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    ids
}

const NESTED: &str = "query($n: Int!) { orders(first: $n) { edges { node { status lines { quantity product { name supplier { name } } } } } } }";
const NESTED_COUNTED: &str = "query($n: Int!) { orders(first: $n) { totalCount edges { node { status lines { quantity product { name supplier { name } } } } } } }";

/// The nested read costs orders, lines, products, suppliers and at most one statement for the
/// caller — for 1, 50 and 500 orders — and counts only when `totalCount` is selected.
#[tokio::test]
async fn the_nested_read_costs_five_statements_at_most_and_counts_only_when_asked() {
    let m = market(&[]).await;
    let mut placed = 0;
    for n in [1usize, 50, 500] {
        place_orders(&m, n - placed).await;
        placed = n;
        let (body, (all, counts)) = cost_of(&m.admin, NESTED, json!({ "n": n })).await;
        assert_eq!(body["orders"]["edges"].as_array().unwrap().len(), n);
        assert!(
            all <= 5,
            "statements for {n} orders: {all} (orders, lines, products, suppliers, caller)"
        );
        assert_eq!(counts, 0, "no COUNT unless totalCount is selected");
        eprintln!("nested read of {n} orders: {all} statements");

        let (body, (all, counts)) = cost_of(&m.admin, NESTED_COUNTED, json!({ "n": n })).await;
        assert_eq!(body["orders"]["totalCount"], n);
        assert_eq!(counts, 1, "one COUNT when totalCount is selected");
        assert!(all <= 6, "statements with totalCount for {n} orders: {all}");
    }
    // A fresh token of the same account: the caller costs one statement at most, and a
    // repeated caller none.
    let chef = m.app.login("chef@t.se", crate::orders::PASSWORD).await;
    let me = "{ me { email } }";
    let (_, (first, _)) = cost_of(&chef, me, json!({})).await;
    let (_, (again, _)) = cost_of(&chef, me, json!({})).await;
    assert!(first <= 1, "resolving the caller: {first} statements");
    assert_eq!(again, 0, "a repeated caller within the cache window");
    let (_, (anonymous, _)) = cost_of(&m.admin.anonymous(), "{ __typename }", json!({})).await;
    assert_eq!(anonymous, 0, "an anonymous caller costs nothing");
}

const PAGE: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $sort: OrderSort) {
    orders(first: $first, after: $after, last: $last, before: $before, sort: $sort) {
      edges { cursor node { id } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    } }"#;

fn ids(body: &Value) -> Vec<String> {
    body["orders"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("edges: {body}"))
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Cursors seek: rows inserted between two page fetches never shift the next page; `last`
/// and `before` read backwards; a cursor that was tampered with, or issued for another sort
/// order, is a VALIDATION error naming the argument.
#[tokio::test]
async fn keyset_pages_stay_stable_while_rows_are_inserted() {
    let m = market(&[]).await;
    // Placed one after another, so their creation times are ordered: o[5] is the newest.
    let mut o = Vec::new();
    for _ in 0..6 {
        o.extend(place_orders(&m, 1).await);
    }
    let first = ok(m.admin.graphql(PAGE, json!({ "first": 3 })).await);
    assert_eq!(
        ids(&first),
        [o[5].as_str(), o[4].as_str(), o[3].as_str()],
        "newest first"
    );
    assert_eq!(first["orders"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["orders"]["pageInfo"]["hasPreviousPage"], false);

    // Newer orders arrive: with offsets the next page would repeat o[5..3].
    let newer = place_orders(&m, 3).await;
    let end = first["orders"]["pageInfo"]["endCursor"].clone();
    let second = ok(m
        .admin
        .graphql(PAGE, json!({ "first": 3, "after": end }))
        .await);
    assert_eq!(ids(&second), [o[2].as_str(), o[1].as_str(), o[0].as_str()]);
    assert_eq!(second["orders"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(second["orders"]["pageInfo"]["hasPreviousPage"], true);

    // Backwards from the start of the second page.
    let start = second["orders"]["pageInfo"]["startCursor"].clone();
    let back = ok(m
        .admin
        .graphql(PAGE, json!({ "last": 2, "before": start }))
        .await);
    assert_eq!(ids(&back), [o[4].as_str(), o[3].as_str()]);
    assert_eq!(back["orders"]["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(back["orders"]["pageInfo"]["hasNextPage"], true);
    let newest = ok(m
        .admin
        .graphql(
            PAGE,
            json!({ "last": 3, "before": back["orders"]["pageInfo"]["startCursor"] }),
        )
        .await);
    // The newer orders were placed concurrently: their order among themselves is the server's.
    assert_eq!(newest["orders"]["pageInfo"]["hasPreviousPage"], true);
    let newest = ids(&newest);
    assert_eq!(newest[2], o[5]);
    assert!(
        newest[..2].iter().all(|id| newer.contains(id)),
        "{newest:?}"
    );

    // A cursor whose text was changed, and one from another sort order.
    let mut tampered = end.as_str().unwrap().to_owned();
    tampered.replace_range(4..6, "zz");
    let refused = m
        .admin
        .graphql(PAGE, json!({ "first": 3, "after": tampered }))
        .await;
    assert_eq!(error(&refused).0, "VALIDATION", "{refused}");
    assert_eq!(fields(&refused), ["after"]);
    let by_total = json!({ "field": "TOTAL", "direction": "ASC" });
    let foreign = m
        .admin
        .graphql(PAGE, json!({ "first": 3, "after": end, "sort": by_total }))
        .await;
    assert_eq!(error(&foreign).0, "VALIDATION", "{foreign}");
    assert_eq!(fields(&foreign), ["after"]);
    let before_foreign = m
        .admin
        .graphql(PAGE, json!({ "last": 3, "before": end, "sort": by_total }))
        .await;
    assert_eq!(fields(&before_foreign), ["before"]);

    // Every sort order pages through all orders once, forwards and backwards.
    for field in ["CREATED_AT", "REQUESTED_DELIVERY_DATE", "TOTAL"] {
        for direction in ["ASC", "DESC"] {
            let sort = json!({ "field": field, "direction": direction });
            let (mut seen, mut after) = (Vec::new(), Value::Null);
            loop {
                let page = ok(m
                    .admin
                    .graphql(PAGE, json!({ "first": 2, "after": after, "sort": sort }))
                    .await);
                seen.extend(ids(&page));
                if page["orders"]["pageInfo"]["hasNextPage"] != true {
                    break;
                }
                after = page["orders"]["pageInfo"]["endCursor"].clone();
            }
            let (mut backwards, mut before) = (Vec::new(), Value::Null);
            loop {
                let page = ok(m
                    .admin
                    .graphql(PAGE, json!({ "last": 2, "before": before, "sort": sort }))
                    .await);
                let mut got = ids(&page);
                got.extend(backwards);
                backwards = got;
                if page["orders"]["pageInfo"]["hasPreviousPage"] != true {
                    break;
                }
                before = page["orders"]["pageInfo"]["startCursor"].clone();
            }
            assert_eq!(seen.len(), 9, "{field} {direction}: {seen:?}");
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), 9, "{field} {direction}: no order twice");
            assert_eq!(
                backwards, seen,
                "{field} {direction}: backwards reads alike"
            );
        }
    }
}

/// REST keeps `limit`/`offset` and also pages by `cursor`: the id of the previous page's last
/// item (as Stripe's `starting_after`), `offset` skipping further from there.
#[tokio::test]
async fn rest_lists_page_by_cursor_too() {
    let m = market(&[]).await;
    let mut placed = Vec::new();
    for _ in 0..5 {
        placed.extend(place_orders(&m, 1).await);
    }
    placed.reverse(); // newest first
    let first = m.admin.get_json("/api/v1/orders?limit=2").await;
    assert_eq!(first["pagination"]["total"], 5);
    assert_eq!(first["pagination"]["offset"], 0);
    let mut seen: Vec<String> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = first["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    place_orders(&m, 2).await; // newer: does not shift the pages that follow
    loop {
        let page = m
            .admin
            .get_json(&format!("/api/v1/orders?limit=2&cursor={cursor}"))
            .await;
        assert_eq!(page["pagination"]["total"], 7);
        assert_eq!(page["pagination"]["offset"], 0, "{page}");
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned()),
        );
        match page["pagination"]["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, placed);

    // From a cursor, `offset` skips further.
    let skipping = m
        .admin
        .get_json(&format!(
            "/api/v1/orders?limit=1&offset=2&cursor={}",
            placed[0]
        ))
        .await;
    assert_eq!(skipping["data"][0]["id"], placed[3].as_str(), "{skipping}");
    // An id that is not in the list (any more), or not an id at all.
    let unknown = m
        .admin
        .get("/api/v1/orders?cursor=00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(unknown.status(), 404);
    let forged = m.admin.get("/api/v1/orders?cursor=b2Zmc2V0OjE").await;
    assert_eq!(forged.status(), 400);
}
