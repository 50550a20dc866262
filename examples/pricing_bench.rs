//! `refresh-prices` at scale on the database `DATABASE_URL` (fresh and migrated;
//! `bench/refresh-prices.sh` makes one): one supplier with N products under one category rule
//! (80–120 % of the base, 5 % a step), M of them with orders in the last week from one
//! restaurant; then the dry run, a run, and a second run, each timed, through the pricing
//! service as the job calls it.
//!
//!     pricing_bench [products=100000] [ordered products=5000]

#![allow(clippy::print_stdout)]

use std::{sync::Arc, time::Instant};

use chrono::Utc;
use iris::{
    auth::Caller,
    config::Config,
    domain::{
        Services, Settings,
        catalog::ProductInput,
        kernel::weekday::Weekday,
        ordering::{LineInput, MAX_LINES, PlaceOrder},
        pricing::{
            PriceRuleInput,
            dynamic::{Bound, RuleBounds},
        },
        restaurants::{DeliveryPrefs, NewRestaurant},
        suppliers::NewSupplier,
    },
    infra,
};
use rust_decimal::Decimal;

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (n, ordered) = (arg(1, 100_000), arg(2, 5_000));
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
        "machine: {} core(s), load {}; {n} products under a rule, {ordered} of them ordered",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
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
                name: "Prisgrossisten AB".into(),
                organisation_number: "556000-0001".into(),
                contact_email: "pris@bank.example".into(),
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
                name: "Priskrogen".into(),
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
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for batch in (0..n).collect::<Vec<_>>().chunks(1000) {
        let products = services
            .products
            .upsert(
                &system,
                supplier.id,
                batch
                    .iter()
                    .map(|i| ProductInput {
                        sku: format!("PG-{i:06}"),
                        name: format!("Färskvara {i}"),
                        description: None,
                        category: "Färskt".into(),
                        unit: "KG".into(),
                        unit_price: Decimal::new(1000 + (*i as i64 % 9000), 2),
                        currency: None,
                        stock_on_hand: Some(5 + (*i as i64 * 37) % 400),
                        allergens: Vec::new(),
                        dietary_tags: Vec::new(),
                        tax_rate: None,
                        active: Some(true),
                    })
                    .collect(),
            )
            .await
            .map_err(fail)?;
        ids.extend(products.into_iter().map(|p| p.id));
    }
    println!(
        "catalog: {n} products in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let date = (Utc::now() + chrono::Duration::days(2)).date_naive();
    for chunk in ids
        .iter()
        .take(ordered)
        .collect::<Vec<_>>()
        .chunks(MAX_LINES)
    {
        services
            .orders
            .place(
                &system,
                PlaceOrder {
                    restaurant_id: restaurant.id,
                    supplier_id: supplier.id,
                    lines: chunk
                        .iter()
                        .enumerate()
                        .map(|(i, id)| LineInput {
                            product_id: **id,
                            quantity: 1 + (i as i64 % 4),
                        })
                        .collect(),
                    requested_delivery_date: date,
                    note: None,
                    idempotency_key: None,
                },
            )
            .await
            .map_err(fail)?;
    }
    println!(
        "orders: {ordered} products ordered in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    services
        .pricing
        .save_rule(
            &system,
            PriceRuleInput {
                id: None,
                supplier_id: supplier.id,
                product_id: None,
                category: Some("Färskt".into()),
                bounds: RuleBounds {
                    floor: Bound::PercentOfBase(Decimal::from(80)),
                    ceiling: Bound::PercentOfBase(Decimal::from(120)),
                    max_step_percent: Decimal::from(5),
                    min_cover_days: Decimal::from(7),
                    max_cover_days: Decimal::from(21),
                },
                active: true,
            },
        )
        .await
        .map_err(fail)?;
    // Fresh statistics, as autovacuum has them within a minute of a bulk load: without them
    // Postgres plans these reads for empty tables (the first measurement of this benchmark
    // took 26–29 s per run that way, 2 s after ANALYZE).
    if std::env::var("BENCH_SKIP_ANALYZE").is_err() {
        use sea_orm::ConnectionTrait as _;
        db.execute_unprepared("ANALYZE").await?;
    }
    for (label, dry) in [("dry run", true), ("run 1", false), ("run 2", false)] {
        let started = Instant::now();
        let outcome = services
            .pricing
            .refresh(None, None, dry, |_| async {})
            .await
            .map_err(fail)?;
        println!(
            "refresh-prices {label}: {:.2} s — {} products, {} changed, {} unchanged",
            started.elapsed().as_secs_f64(),
            outcome.products,
            outcome.changed,
            outcome.unchanged
        );
    }
    Ok(())
}
