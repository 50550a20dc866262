//! Invoice throughput on the database `DATABASE_URL` (fresh and migrated; `bench/invoices.sh`
//! makes one): N orders of 3 lines between one supplier and one restaurant, then N supplier
//! invoices for them — half Peppol UBL, half Swedish CSV, each naming its order — uploaded
//! through the invoicing service (stored, read, reconciled, events written), then the same N
//! read and reconciled again by the `extract-invoices` sweep alone; then OCR pages per minute
//! on the demo scan (where Tesseract is installed).
//!
//!     invoice_bench [invoices=5000] [upload concurrency=32] [ocr pages=5]
//!
//! Everything runs through the domain services in this process (no HTTP), as the job and the
//! upload endpoints call them.

#![allow(clippy::print_stdout)]

use std::{sync::Arc, time::Instant};

use futures_util::StreamExt as _;
use iris::{
    auth::Caller,
    config::Config,
    domain::{
        Services, Settings,
        catalog::ProductInput,
        invoicing::{InvoiceFilter, InvoiceStatus, NewInvoice, ocr::Ocr as _},
        kernel::{pagination::PageRequest, weekday::Weekday},
        ordering::{LineInput, PlaceOrder},
        restaurants::{DeliveryPrefs, NewRestaurant},
        suppliers::NewSupplier,
    },
    infra,
    seed::{InvoiceDocument, InvoiceRow, SCAN},
};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait as _;

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

async fn count(services: &Services, statuses: Vec<InvoiceStatus>) -> anyhow::Result<u64> {
    let page = services
        .invoices
        .list(
            &Caller::system(),
            &InvoiceFilter {
                statuses,
                ..InvoiceFilter::default()
            },
            PageRequest::offset(Some(0), Some(1)).map_err(|e| e.into_anyhow())?,
        )
        .await
        .map_err(|e| e.into_anyhow())?;
    Ok(page.total.unwrap_or_default())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (n, concurrency, pages) = (arg(1, 5000), arg(2, 32), arg(3, 5));
    let config = Config::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = infra::db::Db::new(infra::db::connect(&config.database()).await?);
    let services = Services::new(
        db.clone(),
        infra::bus::EventBus::memory(),
        Settings {
            auth: &config.auth,
            webhooks: &config.webhooks,
            retention: &config.retention,
            weather: &config.weather,
            storage: &config.storage,
            invoicing: &config.invoicing,
            pricing: &config.pricing,
            integrations: &config.integrations,
        },
        Arc::new(config.secret_keys.clone()),
        infra::ratelimit::RateLimiter::in_memory(),
    )?;
    let system = Caller::system();
    let fail = |e: iris::error::AppError| e.into_anyhow();
    println!(
        "machine: {} core(s), load {}; {n} invoices, uploads {concurrency} at a time, INVOICE_EXTRACTIONS={}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        config.invoicing.concurrency,
    );

    // The market: one supplier (every day, no minimum), one restaurant, 30 products.
    let every_day = vec![
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    let supplier = services
        .suppliers
        .create(
            &system,
            NewSupplier {
                name: "Bänkgrossisten AB".into(),
                organisation_number: "556000-0001".into(),
                contact_email: "faktura@bank.example".into(),
                city: "Uppsala".into(),
                currency: Some("SEK".into()),
                minimum_order_value: Some(Decimal::ZERO),
                delivery_days: every_day.clone(),
                active: Some(true),
            },
        )
        .await
        .map_err(fail)?;
    let restaurant = services
        .restaurants
        .create(
            &system,
            NewRestaurant {
                name: "Bänkkrogen".into(),
                contact_email: "kok@bank.example".into(),
                city: "Uppsala".into(),
                delivery_prefs: DeliveryPrefs {
                    days: every_day,
                    earliest: None,
                    latest: None,
                    notes: None,
                },
            },
        )
        .await
        .map_err(fail)?;
    let products = services
        .products
        .upsert(
            &system,
            supplier.id,
            (1..=30)
                .map(|i| ProductInput {
                    sku: format!("BG-{i:03}"),
                    name: format!("Artikel nummer {i}"),
                    description: None,
                    category: "Bänk".into(),
                    unit: "KG".into(),
                    unit_price: Decimal::new(995 + 137 * i, 2),
                    currency: None,
                    stock_on_hand: Some(1_000_000_000),
                    allergens: Vec::new(),
                    dietary_tags: Vec::new(),
                    tax_rate: None,
                    active: Some(true),
                })
                .collect(),
        )
        .await
        .map_err(fail)?;
    let delivery = chrono::Utc::now().date_naive() + chrono::Duration::days(2);
    let started = Instant::now();
    let orders: Vec<_> = futures_util::stream::iter(0..n)
        .map(|i| {
            let (services, system, products) = (&services, &system, &products);
            async move {
                services
                    .orders
                    .place(
                        system,
                        PlaceOrder {
                            restaurant_id: restaurant.id,
                            supplier_id: supplier.id,
                            lines: (0..3)
                                .map(|k| LineInput {
                                    product_id: products[(i * 7 + k * 11) % products.len()].id,
                                    quantity: 1 + ((i + k) % 9) as i64,
                                })
                                .collect(),
                            requested_delivery_date: delivery,
                            note: None,
                            idempotency_key: None,
                        },
                    )
                    .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let orders = orders
        .into_iter()
        .map(|placed| placed.map(|p| p.orders[0].clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    println!(
        "setup: {n} orders placed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let lines = services
        .orders
        .lines_by_order(&orders.iter().map(|o| o.id).collect::<Vec<_>>())
        .await
        .map_err(fail)?;

    // The invoices, half Peppol, half CSV, each naming its order.
    let today = chrono::Utc::now().date_naive();
    let documents: Vec<(String, Vec<u8>)> = orders
        .iter()
        .enumerate()
        .map(|(i, order)| {
            let document = InvoiceDocument {
                number: format!("BG-{}", 100_000 + i),
                issue_date: today,
                reference: Some(order.id.to_string()),
                seller: supplier.name.clone(),
                seller_number: supplier.organisation_number.clone(),
                buyer: "Bänkkrogen".into(),
                rows: lines[&order.id]
                    .iter()
                    .map(|l| InvoiceRow {
                        sku: l.sku.clone(),
                        name: l.name.clone(),
                        quantity: Decimal::from(l.quantity),
                        unit_price: l.unit_price,
                        tax_rate: l.tax_rate,
                    })
                    .collect(),
            };
            if i % 2 == 0 {
                ("faktura.xml".to_owned(), document.ubl().into_bytes())
            } else {
                ("faktura.csv".to_owned(), document.csv())
            }
        })
        .collect();

    // 1. Upload → read → reconciled, end to end.
    let started = Instant::now();
    let uploaded: Vec<_> = futures_util::stream::iter(documents)
        .map(|(name, bytes)| {
            let (services, system) = (&services, &system);
            async move {
                services
                    .invoices
                    .upload(
                        system,
                        NewInvoice {
                            supplier_id: supplier.id,
                            restaurant_id: restaurant.id,
                            file_name: Some(name),
                        },
                        bytes,
                    )
                    .await
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    uploaded
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    let uploads_done = started.elapsed().as_secs_f64();
    while count(
        &services,
        vec![InvoiceStatus::Uploaded, InvoiceStatus::Extracted],
    )
    .await?
        > 0
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let end_to_end = started.elapsed().as_secs_f64();
    let matched = count(&services, vec![InvoiceStatus::Matched]).await?;
    println!(
        "1. upload + read + reconcile: {n} invoices in {end_to_end:.2} s = {:.0} invoices/min (uploads answered in {uploads_done:.2} s); {matched} MATCHED",
        n as f64 / end_to_end * 60.0
    );

    // 2. Reading and reconciling alone: the same invoices again, by the sweep.
    let backend = db.pool().get_database_backend();
    let back = match backend {
        sea_orm::DatabaseBackend::Postgres => "created_at - interval '1 hour'",
        _ => "datetime(created_at, '-1 hour')",
    };
    db.pool()
        .execute_unprepared(&format!(
            "UPDATE invoices SET status = 'UPLOADED', claimed_at = NULL, matched_first_time = NULL, created_at = {back}"
        ))
        .await?;
    let started = Instant::now();
    let read = services
        .invoices
        .extract_waiting(n as u64, |_, _| async {})
        .await
        .map_err(fail)?;
    let sweep = started.elapsed().as_secs_f64();
    let matched = count(&services, vec![InvoiceStatus::Matched]).await?;
    println!(
        "2. read + reconcile (extract-invoices): {read} invoices in {sweep:.2} s = {:.0} invoices/min; {matched} MATCHED",
        read as f64 / sweep * 60.0
    );

    // 3. OCR: the demo scan, page after page.
    let ocr = iris::domain::invoicing::ocr::TesseractOcr::new(config.invoicing.ocr.clone());
    let started = Instant::now();
    let mut confidence = 0;
    for _ in 0..pages {
        match ocr
            .recognise(iris::domain::platform::storage::DocumentKind::Png, SCAN)
            .await
        {
            Ok(seen) => confidence = seen.confidence,
            Err(e) => {
                println!("3. OCR: not measured ({e})");
                return Ok(());
            }
        }
    }
    let ocr_time = started.elapsed().as_secs_f64();
    println!(
        "3. OCR (Tesseract, swe+eng, an A4 scan at 300 dpi): {pages} pages in {ocr_time:.1} s = {:.1} pages/min, one at a time; confidence {:.2}",
        pages as f64 / ocr_time * 60.0,
        f64::from(confidence) / 1000.0
    );
    Ok(())
}
