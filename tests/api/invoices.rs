//! Invoices: uploaded over GraphQL multipart and REST multipart, read (Peppol UBL, CSV),
//! reconciled against the order within the supplier's tolerance, approved, disputed and
//! answered; unreadable documents land in review with the reason; who may do what.

use std::time::Duration;

use chrono::Weekday;
use serde_json::{Value, json};

use iris::seed::{InvoiceDocument, InvoiceRow};

use crate::{
    helpers::Api,
    notifications::notifications,
    orders::{Market, error, market, next, ok},
    webhooks::DELIVERING,
};

const INVOICE_FIELDS: &str = "id status source reviewReason invoiceNumber orderId orderReference currency confidence total { amount currency } document { kind sha256 size fileName } extraction { stage step of error fields { field from confidence } } reconciliation { orderId orderFoundBy tolerancePercent subtotal tax total orderTotal problems missingLines { sku quantity } } lines { lineNumber sku description quantity unitPrice lineTotal taxRate source outcome matchedBy expectedQuantity expectedUnitPrice } disputes { id status creditRequested { amount currency } items { lineNumber outcome amount } answer }";

const UPLOAD: &str = "mutation($input: UploadInvoiceInput!) { uploadInvoice(input: $input) { created invoice { id status } } }";

/// A GraphQL multipart request as Apollo's upload link sends it: `operations`, `map`, then the
/// file part.
fn graphql_multipart(
    query: &str,
    variables: Value,
    file_name: &str,
    bytes: &[u8],
) -> (String, Vec<u8>) {
    let boundary = "----IrisTestBoundary7MA4YWxkTrZu0gW";
    let operations = json!({ "query": query, "variables": variables }).to_string();
    let mut body = Vec::new();
    for (name, value) in [
        ("operations", operations),
        ("map", json!({ "0": ["variables.input.file"] }).to_string()),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A REST upload: `supplierId`, `restaurantId` and `file` as form parts.
fn rest_multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----IrisRestBoundary0123456789";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_raw(api: &Api, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = api
        .client
        .post(api.url(path))
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .expect("upload request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Uploads over GraphQL multipart; returns the response body.
async fn upload_graphql(
    api: &Api,
    m: &Market,
    supplier: &str,
    file_name: &str,
    bytes: &[u8],
) -> Value {
    let (content_type, body) = graphql_multipart(
        UPLOAD,
        json!({ "input": { "supplierId": supplier, "restaurantId": m.restaurant, "file": null } }),
        file_name,
        bytes,
    );
    post_raw(api, "/graphql", &content_type, body).await.1
}

/// Uploads over REST; returns the status and body.
async fn upload_rest(
    api: &Api,
    supplier: &str,
    restaurant: &str,
    file_name: &str,
    bytes: &[u8],
) -> (u16, Value) {
    let (content_type, body) = rest_multipart(
        &[("supplierId", supplier), ("restaurantId", restaurant)],
        Some((file_name, bytes)),
    );
    post_raw(api, "/api/v1/invoices", &content_type, body).await
}

/// The invoice once it is read and reconciled (extraction runs in the background).
pub(crate) async fn settled(api: &Api, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ invoice(id: $id) {{ {INVOICE_FIELDS} }} }}");
    let mut invoice = Value::Null;
    for _ in 0..200 {
        invoice = ok(api.graphql(&query, json!({ "id": id })).await)["invoice"].clone();
        if !matches!(invoice["status"].as_str(), Some("UPLOADED" | "EXTRACTED")) {
            return invoice;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the invoice was not read within 10 s: {invoice}");
}

/// Waits until `api`'s account has a notification of `kind` (the outbox dispatches
/// asynchronously).
async fn notified(api: &Api, kind: &str) {
    let mut heard = Value::Null;
    for _ in 0..100 {
        heard = notifications(api, 1).await;
        if heard["notifications"]["edges"]
            .as_array()
            .is_some_and(|edges| edges.iter().any(|e| e["node"]["kind"] == kind))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {kind} notification: {heard}");
}

/// Places an order with supplier B and returns it (id, total).
pub(crate) async fn order_with_b(m: &Market, lines: Value) -> Value {
    let body = m
        .chef
        .graphql(
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id total { amount } } } }",
            json!({ "input": {
                "restaurantId": m.restaurant,
                "supplierId": m.supplier_b,
                "lines": lines,
                "requestedDeliveryDate": next(Weekday::Tue, 0),
            } }),
        )
        .await;
    ok(body)["placeOrder"]["order"].clone()
}

/// Bageri Beta's invoice (`(sku, name, quantity, price)`, 12 % VAT) as its billing system
/// writes it (`iris::seed::InvoiceDocument`, which the demo data uses too).
fn beta(
    number: &str,
    order_reference: &str,
    lines: &[(&str, &str, &str, &str)],
) -> InvoiceDocument {
    InvoiceDocument {
        number: number.into(),
        issue_date: chrono::Utc::now().date_naive(),
        reference: Some(order_reference.into()),
        seller: "Bageri Beta AB".into(),
        seller_number: "556677-8899".into(),
        buyer: "Bistro Ett".into(),
        rows: lines
            .iter()
            .map(|(sku, name, quantity, price)| InvoiceRow {
                sku: (*sku).into(),
                name: (*name).into(),
                quantity: quantity.parse().unwrap(),
                unit_price: price.parse().unwrap(),
                tax_rate: 12.into(),
            })
            .collect(),
    }
}

/// The same as Peppol BIS Billing 3.0 (UBL 2.1).
pub(crate) fn ubl(
    number: &str,
    order_reference: &str,
    lines: &[(&str, &str, &str, &str)],
) -> String {
    beta(number, order_reference, lines).ubl()
}

#[tokio::test]
async fn a_peppol_invoice_uploaded_over_graphql_multipart_matches_its_order_and_is_approved() {
    let m = market(&DELIVERING).await;
    let order = order_with_b(
        &m,
        json!([{ "productId": m.b1, "quantity": 2 }, { "productId": m.b3, "quantity": 10 }]),
    )
    .await;
    let order_id = order["id"].as_str().unwrap();
    let xml = ubl(
        "F-1001",
        order_id,
        &[
            ("B-1", "Surdegsbröd", "2", "99.50"),
            ("B-3", "Knäckebröd", "10", "2.00"),
        ],
    );
    let body = upload_graphql(&m.chef, &m, &m.supplier_b, "F-1001.xml", xml.as_bytes()).await;
    let uploaded = ok(body)["uploadInvoice"].clone();
    assert_eq!(uploaded["created"], true);
    let id = uploaded["invoice"]["id"].as_str().unwrap().to_owned();

    let invoice = settled(&m.chef, &id).await;
    assert_eq!(invoice["status"], "MATCHED", "{invoice}");
    assert_eq!(invoice["source"], "UBL");
    assert_eq!(invoice["invoiceNumber"], "F-1001");
    assert_eq!(invoice["orderId"], order_id);
    assert_eq!(invoice["document"]["kind"], "XML");
    assert_eq!(invoice["document"]["fileName"], "F-1001.xml");
    assert_eq!(invoice["confidence"], "1");
    assert_eq!(invoice["total"]["amount"], order["total"]["amount"]);
    assert_eq!(invoice["extraction"]["stage"], "DONE");
    let fields = invoice["extraction"]["fields"].as_array().unwrap();
    assert!(
        fields.iter().any(|f| f["field"] == "total"
            && f["from"] == "Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount"
            && f["confidence"] == "1"),
        "{fields:?}"
    );
    let r = &invoice["reconciliation"];
    assert_eq!(r["orderFoundBy"], "REFERENCE");
    assert_eq!(r["tolerancePercent"], "0.5");
    assert_eq!(r["problems"], json!([]));
    assert_eq!(r["missingLines"], json!([]));
    let lines = invoice["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    for line in lines {
        assert_eq!(line["outcome"], "MATCHED", "{line}");
        assert_eq!(line["matchedBy"], "SKU");
    }
    assert_eq!(lines[0]["unitPrice"], "99.5");
    assert_eq!(lines[0]["expectedUnitPrice"], "99.5");

    // The same document again: the same invoice, nothing new.
    let again = ok(upload_graphql(&m.chef, &m, &m.supplier_b, "copy.xml", xml.as_bytes()).await);
    assert_eq!(again["uploadInvoice"]["created"], false);
    assert_eq!(again["uploadInvoice"]["invoice"]["id"], id.as_str());
    let listed = ok(m
        .chef
        .graphql("{ invoices { totalCount } }", json!({}))
        .await);
    assert_eq!(listed["invoices"]["totalCount"], 1);

    // The restaurant hears of the match (through the outbox).
    notified(&m.chef, "invoice.matched").await;

    // A matched invoice is approved as it is — by the restaurant, not the supplier.
    let approve = "mutation($input: ApproveInvoiceInput!) { approveInvoice(input: $input) { invoice { status overrideReason approvedAt } } }";
    let by_supplier = m
        .seller_b
        .graphql(approve, json!({ "input": { "invoiceId": id } }))
        .await;
    assert_eq!(error(&by_supplier).0, "FORBIDDEN");
    let approved = ok(m
        .chef
        .graphql(approve, json!({ "input": { "invoiceId": id } }))
        .await);
    assert_eq!(approved["approveInvoice"]["invoice"]["status"], "APPROVED");
    let twice = m
        .chef
        .graphql(approve, json!({ "input": { "invoiceId": id } }))
        .await;
    assert_eq!(error(&twice).0, "CONFLICT");

    // Uploads and approvals are audited.
    let audit = ok(m
        .admin
        .graphql(
            "{ auditLog(first: 100) { edges { node { action } } } }",
            json!({}),
        )
        .await);
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["node"]["action"].as_str())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "invoice.upload").count(),
        2
    );
    assert!(actions.contains(&"invoice.approve"));

    // A second invoice for the same order (another document) is not matched again.
    let twice = ubl(
        "F-1002",
        order_id,
        &[
            ("B-1", "Surdegsbröd", "2", "99.50"),
            ("B-3", "Knäckebröd", "10", "2.00"),
        ],
    );
    let body = upload_graphql(&m.chef, &m, &m.supplier_b, "F-1002.xml", twice.as_bytes()).await;
    let second = ok(body)["uploadInvoice"]["invoice"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = settled(&m.chef, &second).await;
    assert_eq!(second["status"], "NEEDS_REVIEW", "{second}");
    assert!(
        second["reviewReason"]
            .as_str()
            .unwrap()
            .contains("the order is invoiced already (invoice F-1001)"),
        "{second}"
    );
}

#[tokio::test]
async fn a_csv_invoice_over_rest_charging_above_the_tolerance_is_disputed_answered_and_approved_with_a_reason()
 {
    let m = market(&DELIVERING).await;
    let order = order_with_b(&m, json!([{ "productId": m.b1, "quantity": 2 }])).await;
    let number = order_number(&order);
    // A Swedish export: semicolons, decimal commas, Windows-1252, the order's number above the
    // lines; 100,00 against 99,50 ordered is 0.503 % too much.
    let csv = format!(
        "Fakturanummer;F-2002\r\nFakturadatum;{}\r\nOrdernummer;{number}\r\n\r\nArtikelnummer;Ben\u{e4}mning;Antal;\u{c0}-pris;Belopp;Moms %\r\nB-1;Surdegsbr\u{f6}d;2;100,00;200,00;12\r\n;;;;Att betala;224,00\r\n",
        chrono::Utc::now().date_naive()
    );
    let cp1252 = windows_1252(&csv);
    // The supplier sends it: B's member, to a restaurant that ordered from B.
    let (status, body) = upload_rest(
        &m.seller_b,
        &m.supplier_b,
        &m.restaurant,
        "faktura.csv",
        &cp1252,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    let invoice = settled(&m.chef, &id).await;
    assert_eq!(invoice["status"], "NEEDS_REVIEW", "{invoice}");
    assert_eq!(invoice["source"], "CSV");
    assert_eq!(invoice["reconciliation"]["orderFoundBy"], "REFERENCE");
    assert_eq!(invoice["orderId"], order["id"]);
    let line = &invoice["lines"][0];
    assert_eq!(line["description"], "Surdegsbröd");
    assert_eq!(line["outcome"], "PRICE_MISMATCH");
    assert_eq!(line["expectedUnitPrice"], "99.5");
    assert!(
        invoice["reviewReason"]
            .as_str()
            .unwrap()
            .contains("price 100"),
        "{invoice}"
    );

    // Approving a mismatch needs a reason.
    let (status, body) = m
        .chef
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/invoices/{id}/approve"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("ReconciliationFailedError")),
        "{body}"
    );
    let gql = m
        .chef
        .graphql(
            "mutation($input: ApproveInvoiceInput!) { approveInvoice(input: $input) { invoice { status } } }",
            json!({ "input": { "invoiceId": id } }),
        )
        .await;
    assert_eq!(error(&gql).0, "RECONCILIATION_FAILED");

    // The restaurant disputes: 0.50 too much per loaf, 2 loaves.
    let (status, dispute) = m
        .chef
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/invoices/{id}/disputes"),
            Some(json!({ "message": "Vi beställde till 99,50." })),
        )
        .await;
    assert_eq!(status, 201, "{dispute}");
    let dispute = &dispute["data"];
    assert_eq!(
        dispute["creditRequested"],
        json!({ "amount": "1", "currency": "SEK" })
    );
    assert_eq!(dispute["items"][0]["outcome"], "PRICE_MISMATCH");
    let dispute_id = dispute["id"].as_str().unwrap();
    let invoice = settled(&m.chef, &id).await;
    assert_eq!(invoice["status"], "DISPUTED");
    // The supplier hears of it.
    notified(&m.seller_b, "invoice.disputed").await;

    // Only the supplier answers; a rejection needs a reason.
    let answer = format!("/api/v1/invoice-disputes/{dispute_id}/answer");
    let (status, _) = m
        .chef
        .send(
            reqwest::Method::POST,
            &answer,
            Some(json!({ "accept": true })),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = m
        .seller_b
        .send(
            reqwest::Method::POST,
            &answer,
            Some(json!({ "accept": false })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("reason"));
    let (status, body) = m
        .seller_b
        .send(
            reqwest::Method::POST,
            &answer,
            Some(json!({ "accept": true })),
        )
        .await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (200, Some("ACCEPTED")),
        "{body}"
    );
    let (status, _) = m
        .seller_b
        .send(
            reqwest::Method::POST,
            &answer,
            Some(json!({ "accept": true })),
        )
        .await;
    assert_eq!(status, 409);

    // Back with the restaurant, which approves with a reason (a credit note will follow).
    let (status, body) = m
        .chef
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/invoices/{id}/approve"),
            Some(json!({ "overrideReason": "Kreditnota på 1,00 utlovad" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "APPROVED");
    assert_eq!(body["data"]["overrideReason"], "Kreditnota på 1,00 utlovad");
    assert_eq!(body["data"]["disputes"][0]["status"], "ACCEPTED");

    // The original document, byte for byte.
    let response = m.chef.get(&format!("/api/v1/invoices/{id}/document")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.bytes().await.unwrap().as_ref(), cp1252.as_slice());

    // The list, filtered by status.
    let list = m.chef.get_json("/api/v1/invoices?status=APPROVED").await;
    assert_eq!(list["pagination"]["total"], 1);
    assert_eq!(list["data"][0]["id"], id.as_str());
}

/// `text` in Windows-1252 (what Swedish spreadsheets export).
fn windows_1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            'ä' => 0xE4,
            'ö' => 0xF6,
            'å' => 0xE5,
            'À' => 0xC0,
            c if c.is_ascii() => c as u8,
            other => panic!("no Windows-1252 byte for {other}"),
        })
        .collect()
}

#[tokio::test]
async fn unreadable_documents_need_review_with_the_reason_and_a_member_corrects_the_lines() {
    let m = market(&[]).await;
    let order = order_with_b(&m, json!([{ "productId": m.b1, "quantity": 2 }])).await;
    let rest = |name: &'static str, bytes: &'static [u8]| {
        upload_rest(&m.chef, &m.supplier_b, &m.restaurant, name, bytes)
    };

    // Refused at the door, naming the field: empty, a ZIP renamed .pdf.
    let (status, body) = rest("empty.pdf", b"").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["message"], "file: is empty");
    let (status, body) = rest("bomb.pdf", b"PK\x03\x04\x14\0\0\0\x08\0bomb").await;
    assert_eq!(status, 422);
    assert!(
        body["message"].as_str().unwrap().contains("a ZIP archive"),
        "{body}"
    );
    // Missing parts are named.
    let (content_type, raw) = rest_multipart(&[("supplierId", &m.supplier_b)], None);
    let (status, body) = post_raw(&m.chef, "/api/v1/invoices", &content_type, raw).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["message"],
        "restaurantId: is required; file: is required"
    );
    // Larger than the storage limit (25 MB by default): 413, nothing stored.
    let big = vec![b'a'; 50 * 1024 * 1024];
    let (status, _) = upload_rest(&m.chef, &m.supplier_b, &m.restaurant, "big.csv", &big).await;
    assert_eq!(status, 413);
    let listed = m.chef.get_json("/api/v1/invoices").await;
    assert_eq!(
        listed["pagination"]["total"], 0,
        "nothing was half-written: {listed}"
    );

    // Accepted but unreadable: a corrupt PDF, an empty image, malformed XML, a CSV without
    // known columns.
    let mut unreadable = Vec::new();
    for (bytes, name, reason) in [
        (
            &b"%PDF-1.4\n\xff\xfe garbage"[..],
            "scan.pdf",
            "the PDF could not be read",
        ),
        (
            &b"\x89PNG\r\n\x1a\n"[..],
            "empty.png",
            "the PNG image could not be read",
        ),
        (
            &b"<Invoice><cbc:ID>1</cbc:ID>"[..],
            "broken.xml",
            "malformed",
        ),
        (&b"hello;world\n1;2\n"[..], "notes.csv", "no header row"),
    ] {
        let (status, body) = upload_rest(&m.chef, &m.supplier_b, &m.restaurant, name, bytes).await;
        assert_eq!(status, 201, "{body}");
        let invoice = settled(&m.chef, body["data"]["id"].as_str().unwrap()).await;
        assert_eq!(invoice["status"], "NEEDS_REVIEW", "{invoice}");
        assert_eq!(invoice["extraction"]["stage"], "FAILED");
        assert!(
            invoice["reviewReason"].as_str().unwrap().contains(reason),
            "{name}: {invoice}"
        );
        assert_eq!(invoice["lines"], json!([]));
        unreadable.push(invoice["id"].as_str().unwrap().to_owned());
    }

    // A member types the PDF's line in: reconciled again, against the order by amount.
    let pdf_id = unreadable[0].clone();
    let correct = "mutation($input: CorrectInvoiceLineInput!) { correctInvoiceLine(input: $input) { invoice { status orderId reviewReason lines { lineNumber source outcome } } } }";
    let wrong_number = m
        .chef
        .graphql(
            correct,
            json!({ "input": { "invoiceId": pdf_id, "lineNumber": 3, "sku": "B-1" } }),
        )
        .await;
    let (code, err) = error(&wrong_number);
    assert_eq!(code, "VALIDATION");
    assert!(
        err["message"].as_str().unwrap().contains("lineNumber"),
        "{err}"
    );
    let incomplete = m
        .chef
        .graphql(
            correct,
            json!({ "input": { "invoiceId": pdf_id, "lineNumber": 1, "sku": "B-1" } }),
        )
        .await;
    assert_eq!(error(&incomplete).0, "VALIDATION");
    let corrected = ok(m
        .chef
        .graphql(
            correct,
            json!({ "input": { "invoiceId": pdf_id, "lineNumber": 1, "sku": "B-1",
                "description": "Surdegsbröd", "quantity": 2, "unitPrice": "99.50", "taxRate": 12 } }),
        )
        .await)["correctInvoiceLine"]["invoice"]
        .clone();
    assert_eq!(corrected["status"], "MATCHED", "{corrected}");
    assert_eq!(corrected["orderId"], order["id"]);
    assert_eq!(corrected["lines"][0]["source"], "MANUAL");
    assert_eq!(corrected["lines"][0]["outcome"], "MATCHED");
}

#[tokio::test]
async fn who_may_upload_read_decide_and_set_the_tolerance() {
    let m = market(&[]).await;
    order_with_b(&m, json!([{ "productId": m.b3, "quantity": 100 }])).await;
    let xml = ubl(
        "F-3003",
        "no-such-order",
        &[("B-3", "Knäckebröd", "100", "2.00")],
    );
    // Supplier A's member: the restaurant never ordered from A.
    let (status, body) = upload_rest(
        &m.seller,
        &m.supplier_a,
        &m.restaurant,
        "a.xml",
        xml.as_bytes(),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // The restaurant's own member, naming a supplier it never ordered from: refused.
    let (status, _) = upload_rest(
        &m.chef,
        &m.supplier_a,
        &m.restaurant,
        "a.xml",
        xml.as_bytes(),
    )
    .await;
    assert_eq!(status, 403);
    // Another restaurant's member, for Bistro Ett: refused.
    let (status, _) = upload_rest(
        &m.other_chef,
        &m.supplier_b,
        &m.restaurant,
        "x.xml",
        xml.as_bytes(),
    )
    .await;
    assert_eq!(status, 403);
    // Unknown parties are named.
    let (status, body) = upload_rest(
        &m.chef,
        "8f6e9b1e-0000-4000-8000-000000000000",
        &m.restaurant,
        "x.xml",
        xml.as_bytes(),
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (422, Some("supplierId: no such supplier"))
    );
    // Anonymous: 401.
    let (status, _) = upload_rest(
        &m.chef.anonymous(),
        &m.supplier_b,
        &m.restaurant,
        "x.xml",
        xml.as_bytes(),
    )
    .await;
    assert_eq!(status, 401);

    // The restaurant's member uploads; the order is found by amount (the reference is unknown).
    let (status, body) = upload_rest(
        &m.chef,
        &m.supplier_b,
        &m.restaurant,
        "b.xml",
        xml.as_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    let invoice = settled(&m.chef, &id).await;
    assert_eq!(invoice["status"], "MATCHED", "{invoice}");
    assert_eq!(invoice["reconciliation"]["orderFoundBy"], "AMOUNT");

    // Parties and admins see it; nobody else knows it exists.
    for (api, seen) in [
        (&m.chef, true),
        (&m.seller_b, true),
        (&m.admin, true),
        (&m.other_chef, false),
        (&m.seller, false),
    ] {
        let (status, _) = api
            .send(
                reqwest::Method::GET,
                &format!("/api/v1/invoices/{id}"),
                None,
            )
            .await;
        assert_eq!(status, if seen { 200 } else { 404 });
        let list = ok(api.graphql("{ invoices { totalCount } }", json!({})).await);
        assert_eq!(list["invoices"]["totalCount"], if seen { 1 } else { 0 });
        let document = api.get(&format!("/api/v1/invoices/{id}/document")).await;
        assert_eq!(document.status(), if seen { 200 } else { 404 });
    }

    // The tolerance is the supplier owner's to set, within 0–10 %.
    let set = "mutation($input: SetInvoiceToleranceInput!) { setInvoiceTolerance(input: $input) { tolerancePercent } }";
    let by_chef = m
        .chef
        .graphql(
            set,
            json!({ "input": { "supplierId": m.supplier_b, "tolerancePercent": "1" } }),
        )
        .await;
    assert_eq!(error(&by_chef).0, "FORBIDDEN");
    let too_wide = m
        .seller_b
        .graphql(
            set,
            json!({ "input": { "supplierId": m.supplier_b, "tolerancePercent": "10.5" } }),
        )
        .await;
    assert_eq!(error(&too_wide).0, "VALIDATION");
    let set_one = ok(m
        .seller_b
        .graphql(
            set,
            json!({ "input": { "supplierId": m.supplier_b, "tolerancePercent": "1" } }),
        )
        .await);
    assert_eq!(set_one["setInvoiceTolerance"]["tolerancePercent"], "1");
    let (status, body) = m
        .chef
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/suppliers/{}/invoice-settings", m.supplier_b),
            None,
        )
        .await;
    assert_eq!(
        (status, body["data"]["tolerancePercent"].as_str()),
        (200, Some("1"))
    );

    // With ±1 %, 0.7 % above the ordered price matches; disputing a match is refused.
    let order = order_with_b(&m, json!([{ "productId": m.b1, "quantity": 1 }])).await;
    let xml = ubl(
        "F-3004",
        order["id"].as_str().unwrap(),
        &[("B-1", "Surdegsbröd", "1", "100.20")],
    );
    let (_, body) = upload_rest(
        &m.seller_b,
        &m.supplier_b,
        &m.restaurant,
        "c.xml",
        xml.as_bytes(),
    )
    .await;
    let invoice = settled(&m.chef, body["data"]["id"].as_str().unwrap()).await;
    assert_eq!(invoice["status"], "MATCHED", "{invoice}");
    assert_eq!(invoice["reconciliation"]["tolerancePercent"], "1");
    let (status, _) = m
        .chef
        .send(
            reqwest::Method::POST,
            &format!(
                "/api/v1/invoices/{}/disputes",
                invoice["id"].as_str().unwrap()
            ),
            Some(json!({ "message": "för dyrt" })),
        )
        .await;
    assert_eq!(status, 409);

    // Supplier metrics: both invoices matched the first time.
    ok(m.admin
        .graphql(
            "mutation { runJob(name: \"rebuild-supplier-metrics\") { run { status } } }",
            json!({}),
        )
        .await);
    let performance = ok(m
        .chef
        .graphql(
            "query($id: ID!) { supplier(id: $id) { performance { reconciledInvoices invoiceAccuracy } } }",
            json!({ "id": m.supplier_b }),
        )
        .await);
    assert_eq!(
        performance["supplier"]["performance"],
        json!({ "reconciledInvoices": 2, "invoiceAccuracy": "1" })
    );
}

const SAVE_TEMPLATE: &str = "mutation($input: SaveInvoiceTemplateInput!) { saveInvoiceTemplate(input: $input) { template { id name keywords fields { field pattern } linePattern } } }";

fn beta_template(supplier: &str) -> Value {
    json!({ "input": {
        "supplierId": supplier,
        "name": "Bageri Beta",
        "keywords": ["Bageri Beta AB", "556677-8899"],
        "fields": [
            { "field": "invoiceNumber", "pattern": r"Fakturanr:?\s*(\S+)" },
            { "field": "issueDate", "pattern": r"Fakturadatum:?\s*(\d{4}-\d{2}-\d{2})" },
            { "field": "orderReference", "pattern": r"Er order:?\s*(\S+)" },
            { "field": "total", "pattern": r"Att betala:?\s*([\d ]+,\d{2})" },
        ],
        "linePattern": r"^(?P<sku>[A-Z]-\d+)\s+(?P<description>.+?)\s+(?P<quantity>\d+)\s+(?P<unit_price>[\d ]+,\d{2})\s+(?P<line_total>[\d ]+,\d{2})$",
        "linesStart": "Artikel",
        "linesEnd": "Summa",
    } })
}

#[tokio::test]
async fn a_text_pdf_is_read_by_the_suppliers_template_once_it_has_one() {
    let m = market(&[]).await;
    let order = order_with_b(
        &m,
        json!([{ "productId": m.b1, "quantity": 2 }, { "productId": m.b3, "quantity": 10 }]),
    )
    .await;
    let number = order_number(&order);
    let pdf = beta(
        "F-4004",
        &number,
        &[
            ("B-1", "Surdegsbröd", "2", "99.50"),
            ("B-3", "Knäckebröd", "10", "2.00"),
        ],
    )
    .pdf();

    // Without a template: in review, with the text found, for writing one.
    let (status, body) =
        upload_rest(&m.chef, &m.supplier_b, &m.restaurant, "F-4004.pdf", &pdf).await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    let invoice = settled(&m.chef, &id).await;
    assert_eq!(invoice["status"], "NEEDS_REVIEW", "{invoice}");
    assert!(
        invoice["reviewReason"]
            .as_str()
            .unwrap()
            .contains("no invoice template"),
        "{invoice}"
    );
    let text = ok(m
        .chef
        .graphql(
            "query($id: ID!) { invoice(id: $id) { extraction { text } } }",
            json!({ "id": id }),
        )
        .await)["invoice"]["extraction"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("B-1 Surdegsbröd 2 99,50 199,00"), "{text}");

    // Templates are the supplier's: checked when saved, kept by its members only.
    let mut bad = beta_template(&m.supplier_b);
    bad["input"]["linePattern"] = json!(r"(?P<sku>\S+) (?P<qty>\d+");
    let refused = m.seller_b.graphql(SAVE_TEMPLATE, bad).await;
    let (code, err) = error(&refused);
    assert_eq!(code, "VALIDATION");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("linePattern: is not a valid regular expression"),
        "{err}"
    );
    let by_chef = m
        .chef
        .graphql(SAVE_TEMPLATE, beta_template(&m.supplier_b))
        .await;
    assert_eq!(error(&by_chef).0, "FORBIDDEN");
    let saved = ok(m
        .seller_b
        .graphql(SAVE_TEMPLATE, beta_template(&m.supplier_b))
        .await);
    assert_eq!(
        saved["saveInvoiceTemplate"]["template"]["keywords"],
        json!(["Bageri Beta AB", "556677-8899"])
    );
    let (status, listed) = m
        .seller_b
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/suppliers/{}/invoice-templates", m.supplier_b),
            None,
        )
        .await;
    assert_eq!(
        (status, listed["data"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let (status, _) = m
        .chef
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/suppliers/{}/invoice-templates", m.supplier_b),
            None,
        )
        .await;
    assert_eq!(status, 403);

    // Read again: the template reads it, and it matches the order by its number.
    let again = ok(m
        .chef
        .graphql(
            "mutation($input: ReextractInvoiceInput!) { reextractInvoice(input: $input) { invoice { status } } }",
            json!({ "input": { "invoiceId": id } }),
        )
        .await);
    assert_eq!(again["reextractInvoice"]["invoice"]["status"], "UPLOADED");
    let invoice = settled(&m.chef, &id).await;
    assert_eq!(invoice["status"], "MATCHED", "{invoice}");
    assert_eq!(invoice["source"], "PDF");
    assert_eq!(invoice["invoiceNumber"], "F-4004");
    assert_eq!(invoice["orderId"], order["id"]);
    assert_eq!(invoice["reconciliation"]["orderFoundBy"], "REFERENCE");
    assert_eq!(invoice["total"]["amount"], "245.28");
    assert_eq!(invoice["confidence"], "0.95");
    let lines = invoice["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["description"], "Knäckebröd");
    assert!(
        lines
            .iter()
            .all(|l| l["outcome"] == "MATCHED" && l["source"] == "PDF")
    );
    let fields = invoice["extraction"]["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f["field"] == "total" && f["from"] == "template `Bageri Beta`, total")
    );
}

/// The number an order is printed with on the demo writers' invoices.
fn order_number(order: &Value) -> String {
    let id = order["id"].as_str().unwrap();
    format!("R-{}", id.replace('-', "")[..8].to_ascii_uppercase())
}

/// What was read from each line of an invoice: SKU, quantity and unit price.
fn sku_quantity_price(invoice: &Value) -> Vec<(&str, &str, &str)> {
    invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap_or(""),
                l["quantity"].as_str().unwrap(),
                l["unitPrice"].as_str().unwrap(),
            )
        })
        .collect()
}

/// Whether the OCR tests run: `IRIS_TEST_TESSERACT=1`, and then the programs must be there
/// (missing fails loudly).
fn ocr_wanted() -> bool {
    if std::env::var("IRIS_TEST_TESSERACT").as_deref() != Ok("1") {
        eprintln!(
            "NOT RUN here: set IRIS_TEST_TESSERACT=1 with Debian tesseract-ocr, tesseract-ocr-swe and poppler-utils installed"
        );
        return false;
    }
    for program in ["tesseract", "pdftoppm"] {
        let found = std::process::Command::new(program).arg("-v").output();
        assert!(
            found.is_ok(),
            "IRIS_TEST_TESSERACT=1 but `{program}` is not installed"
        );
    }
    true
}

/// The first page of `pdf` as pdftoppm renders it with `args`, the file it wrote (`extension`).
fn rendered(pdf: &[u8], args: &[&str], extension: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("iris-scan-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("invoice.pdf"), pdf).unwrap();
    let status = std::process::Command::new("pdftoppm")
        .args(args)
        .arg("-singlefile")
        .arg(dir.join("invoice.pdf"))
        .arg(dir.join("scan"))
        .status()
        .expect("pdftoppm runs");
    assert!(status.success());
    let bytes = std::fs::read(dir.join(format!("scan.{extension}"))).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

/// A PDF whose one A4 page is the grey image `pgm` (binary PGM, as pdftoppm writes it): what
/// a scanner sends, no text layer.
fn scanned_pdf(pgm: &[u8]) -> Vec<u8> {
    use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref};
    // "P5", width, height, maximum value, each followed by one whitespace, then the pixels.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(std::str::from_utf8(&pgm[start..at]).unwrap().to_owned());
        at += 1;
    }
    assert_eq!(fields[0], "P5");
    let (width, height): (i32, i32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &pgm[at..];
    assert_eq!(pixels.len(), (width * height) as usize);
    let (catalog, tree, page, image, contents) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut xobject = pdf.image_xobject(image, pixels);
    xobject.width(width).height(height).bits_per_component(8);
    xobject.color_space().device_gray();
    xobject.finish();
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
    p.parent(tree);
    p.contents(contents);
    p.resources().x_objects().pair(Name(b"Scan"), image);
    p.finish();
    let mut content = Content::new();
    content.save_state();
    content.transform([595.0, 0.0, 0.0, 842.0, 0.0, 0.0]);
    content.x_object(Name(b"Scan"));
    content.restore_state();
    pdf.stream(contents, &content.finish());
    pdf.finish()
}

#[tokio::test]
async fn a_scanned_pdf_without_a_text_layer_is_rendered_read_by_tesseract_and_matched() {
    if !ocr_wanted() {
        return;
    }
    let m = market(&[]).await;
    ok(m.seller_b
        .graphql(SAVE_TEMPLATE, beta_template(&m.supplier_b))
        .await);
    let order = order_with_b(
        &m,
        json!([{ "productId": m.b1, "quantity": 2 }, { "productId": m.b2, "quantity": 12 }]),
    )
    .await;
    let number = order_number(&order);
    let printed = beta(
        "F-5006",
        &number,
        &[
            ("B-1", "Surdegsbröd", "2", "99.50"),
            ("B-2", "Kanelbulle", "12", "1.00"),
        ],
    )
    .pdf();
    // The printed page through a 200 dpi grey scanner, back as a PDF of one image.
    let scan = scanned_pdf(&rendered(&printed, &["-r", "200", "-gray"], "pgm"));

    let (status, body) =
        upload_rest(&m.chef, &m.supplier_b, &m.restaurant, "scan.pdf", &scan).await;
    assert_eq!(status, 201, "{body}");
    let invoice = settled(&m.chef, body["data"]["id"].as_str().unwrap()).await;
    assert_eq!(invoice["document"]["kind"], "PDF");
    assert_eq!(invoice["source"], "OCR", "{invoice}");
    let read = sku_quantity_price(&invoice);
    assert_eq!(
        read,
        vec![("B-1", "2", "99.5"), ("B-2", "12", "1")],
        "{invoice}"
    );
    assert_eq!(invoice["status"], "MATCHED", "{invoice}");
    assert_eq!(invoice["orderId"], order["id"]);
}

#[tokio::test]
async fn a_scanned_invoice_is_read_by_tesseract_and_the_template() {
    if !ocr_wanted() {
        return;
    }
    let m = market(&[]).await;
    ok(m.seller_b
        .graphql(SAVE_TEMPLATE, beta_template(&m.supplier_b))
        .await);
    let order = order_with_b(
        &m,
        json!([{ "productId": m.b1, "quantity": 3 }, { "productId": m.b3, "quantity": 20 }]),
    )
    .await;
    let number = order_number(&order);
    // 3 × 99,50 = 298,50 and 20 × 2,00 = 40,00: 338,50 + 40,62 VAT = 379,12.
    let pdf = beta(
        "F-5005",
        &number,
        &[
            ("B-1", "Surdegsbröd", "3", "99.50"),
            ("B-3", "Knäckebröd", "20", "2.00"),
        ],
    )
    .pdf();
    // Scanned: the page as an image (300 dpi, grey), no text layer.
    let png = rendered(&pdf, &["-r", "300", "-gray", "-png"], "png");

    let (status, body) = upload_rest(&m.chef, &m.supplier_b, &m.restaurant, "scan.png", &png).await;
    assert_eq!(status, 201, "{body}");
    let invoice = settled(&m.chef, body["data"]["id"].as_str().unwrap()).await;
    assert_eq!(invoice["document"]["kind"], "PNG");
    assert_eq!(invoice["source"], "OCR", "{invoice}");
    let read = sku_quantity_price(&invoice);
    assert_eq!(
        read,
        vec![("B-1", "3", "99.5"), ("B-3", "20", "2")],
        "{invoice}"
    );
    assert_eq!(invoice["status"], "MATCHED", "{invoice}");
    let confidence: f64 = invoice["confidence"].as_str().unwrap().parse().unwrap();
    assert!(confidence > 0.8 && confidence <= 0.95, "{confidence}");
}

#[tokio::test]
async fn an_extraction_lost_with_its_process_is_done_by_the_extract_invoices_job() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let m = market(&[]).await;
    let order = order_with_b(&m, json!([{ "productId": m.b3, "quantity": 5 }])).await;
    let xml = ubl(
        "F-6006",
        order["id"].as_str().unwrap(),
        &[("B-3", "Knäckebröd", "5", "2.00")],
    );
    let (_, body) = upload_rest(
        &m.chef,
        &m.supplier_b,
        &m.restaurant,
        "f.xml",
        xml.as_bytes(),
    )
    .await;
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(settled(&m.chef, &id).await["status"], "MATCHED");
    // As if its process had stopped mid-way an hour ago: taken, never finished.
    let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    entity::invoices::Entity::update_many()
        .col_expr(entity::invoices::Column::Status, Expr::value("UPLOADED"))
        .col_expr(
            entity::invoices::Column::ClaimedAt,
            Expr::value(Some(an_hour_ago)),
        )
        .col_expr(
            entity::invoices::Column::CreatedAt,
            Expr::value(an_hour_ago),
        )
        .filter(entity::invoices::Column::Id.eq(uuid::Uuid::parse_str(&id).unwrap()))
        .exec(&m.app.state.db)
        .await
        .unwrap();
    let run = ok(m
        .admin
        .graphql(
            "mutation { runJob(name: \"extract-invoices\") { run { status stats } } }",
            json!({}),
        )
        .await);
    assert_eq!(run["runJob"]["run"]["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["runJob"]["run"]["stats"]["invoices"], 1, "{run}");
    let invoice = settled(&m.chef, &id).await;
    assert_eq!(invoice["status"], "MATCHED", "{invoice}");
    assert_eq!(invoice["extraction"]["stage"], "DONE");
    assert_eq!(
        invoice["lines"].as_array().unwrap().len(),
        1,
        "lines replaced, not doubled"
    );
}

#[tokio::test]
async fn invoices_and_their_documents_are_purged_after_the_financial_retention_period() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let m = market(&[]).await;
    let order = order_with_b(&m, json!([{ "productId": m.b3, "quantity": 7 }])).await;
    let xml = ubl(
        "F-7007",
        order["id"].as_str().unwrap(),
        &[("B-3", "Knäckebröd", "7", "2.00")],
    );
    let (_, body) = upload_rest(
        &m.chef,
        &m.supplier_b,
        &m.restaurant,
        "f.xml",
        xml.as_bytes(),
    )
    .await;
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    let sha = body["data"]["document"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = format!("sha256/{}/{sha}", &sha[..2]);
    settled(&m.chef, &id).await;
    let store = &m.app.state.services.storage;
    assert!(store.read(&key).await.unwrap().is_some());
    // Eight years old: past the 7 years financial records are kept.
    entity::invoices::Entity::update_many()
        .col_expr(
            entity::invoices::Column::CreatedAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::days(8 * 365)),
        )
        .filter(entity::invoices::Column::Id.eq(uuid::Uuid::parse_str(&id).unwrap()))
        .exec(&m.app.state.db)
        .await
        .unwrap();
    let run = ok(m
        .admin
        .graphql(
            "mutation { runJob(name: \"purge-retention\") { run { status stats } } }",
            json!({}),
        )
        .await);
    let stats = &run["runJob"]["run"]["stats"]["deleted"];
    assert_eq!(
        (
            stats["invoices"].as_u64(),
            stats["invoice_documents"].as_u64()
        ),
        (Some(1), Some(1)),
        "{run}"
    );
    let (status, _) = m
        .chef
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/invoices/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert!(
        store.read(&key).await.unwrap().is_none(),
        "the document is gone"
    );
}
