//! Demo data: a small Swedish marketplace, created through the domain services (so it obeys
//! every rule). Seeding is idempotent: suppliers whose organisation number exists are skipped.

use rust_decimal::Decimal;

use crate::{
    auth::{Caller, MemberRole},
    config::DEMO_USERS,
    domain::{
        Services,
        identity::Organisation,
        restaurants::{DeliveryPrefs, NewRestaurant},
        suppliers::NewSupplier,
        weekday::Weekday,
    },
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

struct DemoRestaurant {
    name: &'static str,
    contact_email: &'static str,
    city: &'static str,
    days: &'static [Weekday],
    earliest: &'static str,
    latest: &'static str,
    notes: &'static str,
}

const RESTAURANTS: [DemoRestaurant; 4] = [
    DemoRestaurant {
        name: "Bistro Järntorget",
        contact_email: "kok@bistrojarntorget.example",
        city: "Göteborg",
        days: &[Weekday::Monday, Weekday::Wednesday, Weekday::Friday],
        earliest: "06:00",
        latest: "09:30",
        notes: "Leverans via bakgården, ring på klockan vid köksdörren.",
    },
    DemoRestaurant {
        name: "Restaurang Hamnkrogen",
        contact_email: "inkop@hamnkrogen.example",
        city: "Malmö",
        days: &[Weekday::Tuesday, Weekday::Thursday],
        earliest: "07:00",
        latest: "10:00",
        notes: "Kylvaror direkt till kylrummet.",
    },
    DemoRestaurant {
        name: "Café Linnéa",
        contact_email: "hej@cafelinnea.example",
        city: "Västerås",
        days: &[Weekday::Monday, Weekday::Thursday],
        earliest: "06:30",
        latest: "08:00",
        notes: "",
    },
    DemoRestaurant {
        name: "Krogen Norrsken",
        contact_email: "kock@krogennorrsken.example",
        city: "Göteborg",
        days: &[Weekday::Tuesday, Weekday::Friday],
        earliest: "08:00",
        latest: "11:00",
        notes: "Lastkaj vid entré B.",
    },
];

/// What seeding created.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub suppliers: usize,
    pub restaurants: usize,
}

/// Creates the demo marketplace where it does not exist yet: suppliers (skipped by
/// organisation number), restaurants (when there are none), and — with the built-in demo users
/// — makes `supplier@iris.local` OWNER of the first supplier and `chef@iris.local` OWNER of the
/// first restaurant.
pub async fn demo_data(services: &Services, demo_users: bool) -> anyhow::Result<SeedReport> {
    let system = Caller::system();
    let mut report = SeedReport::default();
    let mut first_supplier = None;
    for demo in &SUPPLIERS {
        let result = services
            .suppliers
            .create(
                &system,
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
            Ok(supplier) => {
                report.suppliers += 1;
                first_supplier.get_or_insert(supplier.id);
            }
            Err(AppError::Conflict(_)) => {}
            Err(other) => return Err(other.into_anyhow()),
        }
    }
    let mut first_restaurant = None;
    if !services
        .restaurants
        .any_exist()
        .await
        .map_err(AppError::into_anyhow)?
    {
        for demo in &RESTAURANTS {
            let restaurant = services
                .restaurants
                .create(
                    &system,
                    NewRestaurant {
                        name: demo.name.into(),
                        contact_email: demo.contact_email.into(),
                        city: demo.city.into(),
                        delivery_prefs: DeliveryPrefs {
                            days: demo.days.to_vec(),
                            earliest: Some(demo.earliest.into()),
                            latest: Some(demo.latest.into()),
                            notes: Some(demo.notes.into()).filter(|n: &String| !n.is_empty()),
                        },
                    },
                )
                .await
                .map_err(AppError::into_anyhow)?;
            report.restaurants += 1;
            first_restaurant.get_or_insert(restaurant.id);
        }
    }
    if demo_users {
        let owners = [
            (first_supplier.map(Organisation::Supplier), DEMO_USERS[1].0),
            (
                first_restaurant.map(Organisation::Restaurant),
                DEMO_USERS[2].0,
            ),
        ];
        for (organisation, email) in owners {
            if let Some(organisation) = organisation {
                services
                    .identity
                    .add_member(&system, organisation, email, MemberRole::Owner)
                    .await
                    .map_err(AppError::into_anyhow)?;
            }
        }
    }
    Ok(report)
}
