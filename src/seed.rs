//! Demo data: a small Swedish marketplace, created through the domain services (so it obeys
//! every rule). Seeding is idempotent: suppliers whose organisation number exists are skipped.

use rust_decimal::Decimal;

use crate::{
    auth::Principal,
    domain::{Services, suppliers::NewSupplier, weekday::Weekday},
    error::AppError,
};

struct DemoSupplier {
    name: &'static str,
    organisation_number: &'static str,
    contact_email: &'static str,
    city: &'static str,
    minimum_order_value: i64,
    delivery_days: &'static [Weekday],
}

const SUPPLIERS: [DemoSupplier; 3] = [
    DemoSupplier {
        name: "Nordhav Fisk & Skaldjur AB",
        organisation_number: "556703-7485",
        contact_email: "order@nordhav.example",
        city: "Göteborg",
        minimum_order_value: 1500,
        delivery_days: &[Weekday::Monday, Weekday::Wednesday, Weekday::Friday],
    },
    DemoSupplier {
        name: "Skånegrönt Partihandel AB",
        organisation_number: "556123-4567",
        contact_email: "bestallning@skanegront.example",
        city: "Malmö",
        minimum_order_value: 800,
        delivery_days: &[
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ],
    },
    DemoSupplier {
        name: "Mälardalens Mejeri & Chark AB",
        organisation_number: "559876-5435",
        contact_email: "kundtjanst@malarmejeri.example",
        city: "Västerås",
        minimum_order_value: 1000,
        delivery_days: &[Weekday::Tuesday, Weekday::Thursday],
    },
];

/// Creates the demo suppliers that do not exist yet; returns how many it created.
pub async fn demo_data(services: &Services) -> anyhow::Result<usize> {
    let mut created = 0;
    for demo in &SUPPLIERS {
        let result = services
            .suppliers
            .create(
                &Principal::System,
                NewSupplier {
                    name: demo.name.into(),
                    organisation_number: demo.organisation_number.into(),
                    contact_email: demo.contact_email.into(),
                    city: demo.city.into(),
                    currency: Some("SEK".into()),
                    minimum_order_value: Some(Decimal::from(demo.minimum_order_value)),
                    delivery_days: demo.delivery_days.to_vec(),
                    active: Some(true),
                },
            )
            .await;
        match result {
            Ok(_) => created += 1,
            Err(AppError::Conflict(_)) => {}
            Err(other) => return Err(other.into_anyhow()),
        }
    }
    Ok(created)
}
