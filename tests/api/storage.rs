//! Stored documents: addressed by content, kind read from the bytes, size-limited; on the
//! local file system and, where `IRIS_TEST_S3=1` (set by `.ci/run`, which starts a local S3
//! server: PyPI `moto[server]`), on S3.

use crate::helpers::TestApp;

const PDF: &[u8] =
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// Stores, re-stores, reads back, refuses and deletes through the app's document store.
async fn exercise(app: &TestApp) -> String {
    let store = &app.state.services.storage;
    let first = store
        .store("file", PDF.to_vec())
        .await
        .expect("a PDF is stored");
    assert_eq!(first.kind.as_str(), "PDF");
    assert_eq!(first.size, PDF.len());
    assert!(
        first
            .key
            .starts_with(&format!("sha256/{}/", &first.sha256[..2])),
        "{first:?}"
    );
    // The same bytes: the same document, stored once.
    let again = store.store("file", PDF.to_vec()).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(store.read(&first.key).await.unwrap().as_deref(), Some(PDF));

    // Kinds come from the bytes: XML with a BOM, Swedish CSV in Windows-1252.
    let xml = store
        .store(
            "file",
            b"\xEF\xBB\xBF<?xml version=\"1.0\"?><Invoice/>".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(xml.kind.as_str(), "XML");
    let csv = store
        .store(
            "file",
            b"artikelnummer;antal;\xE0-pris\nA-1;2;10,50\n".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(csv.kind.as_str(), "TEXT");

    // A ZIP (a "ZIP bomb renamed .pdf"), binary junk, nothing, too much: refused, naming the
    // field and the rule; nothing stored.
    for (bytes, rule) in [
        (b"PK\x03\x04\x14\x00 zip".to_vec(), "ZIP archive"),
        (vec![0u8, 1, 2, 3], "binary data"),
        (Vec::new(), "empty"),
        (vec![b'a'; store.max_bytes() + 1], "at most"),
    ] {
        let error = store.store("file", bytes).await.unwrap_err();
        let message = format!("{error:?}");
        assert!(
            message.contains("file") && message.contains(rule),
            "{message}"
        );
    }

    store.delete(&first.key).await.unwrap();
    assert_eq!(store.read(&first.key).await.unwrap(), None);
    store
        .delete(&first.key)
        .await
        .expect("deleting twice is fine");
    xml.key
}

#[tokio::test]
async fn documents_are_kept_by_content_on_the_local_file_system() {
    let (app, backend) = TestApp::spawn_with(&[("STORAGE_MAX_BYTES", "4096")]).await;
    let key = exercise(&app).await;
    // Under the data directory, where the key says.
    let file = backend.data_dir.join("documents").join(&key);
    assert!(file.is_file(), "{} is there", file.display());
}

#[tokio::test]
async fn documents_are_kept_by_content_on_s3() {
    if std::env::var("IRIS_TEST_S3").as_deref() != Ok("1") {
        eprintln!(
            "NOT RUN here: set IRIS_TEST_S3=1 with a local S3 server (PyPI moto[server]) at IRIS_TEST_S3_ENDPOINT (default http://127.0.0.1:5000)"
        );
        return;
    }
    let endpoint =
        std::env::var("IRIS_TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5000".into());
    let bucket = format!("iris-test-{}", uuid::Uuid::new_v4().simple());
    // The server is required once asked for: unreachable fails loudly.
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("IRIS_TEST_S3=1 but no S3 server at {endpoint}: {e}"));
    assert!(
        created.status().is_success(),
        "creating {bucket}: {}",
        created.status()
    );
    let url = format!("s3://{bucket}/documents");
    let (app, _backend) = TestApp::spawn_with(&[
        ("STORAGE_MAX_BYTES", "4096"),
        ("STORAGE_URL", &url),
        ("AWS_ENDPOINT_URL", &endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_ALLOW_HTTP", "true"),
    ])
    .await;
    let key = exercise(&app).await;
    // In the bucket, under the prefix, where the key says.
    let listed = reqwest::Client::new()
        .get(format!("{endpoint}/{bucket}?list-type=2&prefix=documents/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&format!("documents/{key}")), "{listed}");
}
