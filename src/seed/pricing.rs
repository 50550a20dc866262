//! The demo marketplace's pricing: where everyone is, a negotiated price list with volume
//! tiers for the first restaurant at the fish wholesaler, a campaign week for every customer
//! at the greengrocer, a bounded dynamic rule on perishable fish, and a week of its price
//! history.

use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{
    auth::Caller,
    domain::{
        Services,
        catalog::{Product, ProductFilter, ProductSort},
        kernel::pagination::PageRequest,
        pricing::{
            AssignmentTarget, EntryInput, NewPriceList, PriceRuleInput,
            dynamic::{Bound, RuleBounds},
        },
        suppliers::Supplier,
    },
    error::AppError,
};

/// Suppliers' and restaurants' coordinates (degrees), in the demo's order.
const SUPPLIER_PLACES: [(&str, &str); 3] = [
    ("57.708870", "11.974560"), // Göteborg
    ("55.604981", "13.003822"), // Malmö
    ("59.609901", "16.544809"), // Västerås
];
const RESTAURANT_PLACES: [(&str, &str); 4] = [
    ("57.699650", "11.952620"), // Järntorget, Göteborg
    ("55.611700", "12.994500"), // the harbour, Malmö
    ("59.611000", "16.546300"), // Västerås
    ("57.705000", "11.966800"), // Göteborg
];

fn d(text: &str) -> Decimal {
    text.parse().unwrap_or_default()
}

async fn catalog(services: &Services, supplier: Uuid) -> anyhow::Result<Vec<Product>> {
    Ok(services
        .products
        .list(
            &ProductFilter {
                supplier_id: Some(supplier),
                ..ProductFilter::default()
            },
            ProductSort::default(),
            PageRequest::Offset {
                offset: 0,
                limit: 100,
            },
        )
        .await
        .map_err(AppError::into_anyhow)?
        .items)
}

/// Writes the demo pricing; returns how many price lists it made.
pub(super) async fn demo_pricing(
    services: &Services,
    suppliers: &[Supplier],
    restaurants: &[Uuid],
) -> anyhow::Result<usize> {
    let system = Caller::system();
    let fail = AppError::into_anyhow;
    for (supplier, (lat, lon)) in suppliers.iter().zip(SUPPLIER_PLACES) {
        services
            .suppliers
            .set_location(&system, supplier.id, Some((d(lat), d(lon))))
            .await
            .map_err(fail)?;
    }
    for (restaurant, (lat, lon)) in restaurants.iter().zip(RESTAURANT_PLACES) {
        services
            .restaurants
            .set_location(&system, *restaurant, Some((d(lat), d(lon))))
            .await
            .map_err(fail)?;
    }
    let (Some(fish), Some(greens), Some(first)) =
        (suppliers.first(), suppliers.get(1), restaurants.first())
    else {
        return Ok(0);
    };
    let now = Utc::now();
    // Nordhav's contract with the first restaurant: 8 % off everything it sells, and salmon
    // at a fixed price with volume breaks at 10 and 25 kg.
    let fish_catalog = catalog(services, fish.id).await?;
    let mut entries: Vec<EntryInput> = fish_catalog
        .iter()
        .filter(|p| !p.name.starts_with("Laxfilé"))
        .map(|p| EntryInput {
            product_id: p.id,
            min_quantity: None,
            price: None,
            percent_off: Some(d("8")),
        })
        .collect();
    if let Some(salmon) = fish_catalog.iter().find(|p| p.name == "Laxfilé") {
        for (from, price) in [(1, "172.00"), (10, "164.50"), (25, "158.00")] {
            entries.push(EntryInput {
                product_id: salmon.id,
                min_quantity: Some(from),
                price: Some(d(price)),
                percent_off: None,
            });
        }
    }
    let contract = services
        .pricing
        .create_list(
            &system,
            NewPriceList {
                supplier_id: fish.id,
                name: "Avtal Bistro Järntorget 2027".into(),
                currency: None,
                valid_from: Some(now - Duration::days(30)),
                valid_to: Some(now + Duration::days(365)),
                priority: Some(10),
                active: Some(true),
                entries,
            },
        )
        .await
        .map_err(fail)?;
    services
        .pricing
        .assign(
            &system,
            contract.id,
            vec![AssignmentTarget::Restaurant(*first)],
            false,
        )
        .await
        .map_err(fail)?;
    // Skånegrönt's campaign week: 15 % off its first five articles, for every customer.
    let greens_catalog = catalog(services, greens.id).await?;
    let campaign = services
        .pricing
        .create_list(
            &system,
            NewPriceList {
                supplier_id: greens.id,
                name: "Kampanjvecka".into(),
                currency: None,
                valid_from: Some(now - Duration::days(1)),
                valid_to: Some(now + Duration::days(6)),
                priority: Some(5),
                active: Some(true),
                entries: greens_catalog
                    .iter()
                    .take(5)
                    .map(|p| EntryInput {
                        product_id: p.id,
                        min_quantity: None,
                        price: None,
                        percent_off: Some(d("15")),
                    })
                    .collect(),
            },
        )
        .await
        .map_err(fail)?;
    services
        .pricing
        .assign(
            &system,
            campaign.id,
            vec![AssignmentTarget::AllCustomers],
            false,
        )
        .await
        .map_err(fail)?;
    // Fish spoils: its list prices follow stock cover, within 85–115 % of the base, 5 % a run.
    services
        .pricing
        .save_rule(
            &system,
            PriceRuleInput {
                id: None,
                supplier_id: fish.id,
                product_id: None,
                category: Some("Fisk".into()),
                bounds: RuleBounds {
                    floor: Bound::PercentOfBase(d("85")),
                    ceiling: Bound::PercentOfBase(d("115")),
                    max_step_percent: d("5"),
                    min_cover_days: d("3"),
                    max_cover_days: d("10"),
                },
                active: true,
            },
        )
        .await
        .map_err(fail)?;
    // A week of the cod's price moving with the catch.
    if let Some(cod) = fish_catalog.iter().find(|p| p.name == "Torskrygg") {
        let base = cod.unit_price.amount;
        let steps = ["1.04", "1.08", "1.05", "1.00", "0.96", "0.98", "1.00"];
        let mut old = base;
        let mut changes = Vec::new();
        for (i, factor) in steps.iter().enumerate() {
            let new = (base * d(factor)).round_dp(2);
            let reason = if new > old {
                "short cover"
            } else {
                "excess cover"
            };
            changes.push((now - Duration::days(7 - i as i64), old, new, reason));
            old = new;
        }
        services
            .pricing
            .import_history(&system, cod.id, changes)
            .await
            .map_err(fail)?;
    }
    Ok(2)
}
