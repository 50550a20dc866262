//! Demo data: a small Swedish marketplace, created through the domain services (so it obeys
//! every rule). Seeding is idempotent: suppliers whose organisation number exists are skipped.

mod invoices;
mod pricing;

pub use invoices::{InvoiceDocument, InvoiceRow, SCAN, printed_pdf, printed_template, swedish};

use rust_decimal::Decimal;

use crate::{
    auth::{Caller, MemberRole},
    config::DEMO_USERS,
    domain::{
        Services,
        catalog::{Allergen, DietaryTag, ProductFilter, ProductInput, ProductSort, Unit},
        identity::Organisation,
        inventory::{MovementKind, NewItem, PastMovement},
        kernel::{pagination::PageRequest, weekday::Weekday},
        ordering::{LineInput, OrderAction, PlaceOrder},
        planning::{PolicyInput, policies::PolicyKind},
        restaurants::{DeliveryPrefs, NewRestaurant},
        suppliers::{NewSupplier, Supplier},
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

/// A demo article: name, category, unit, price per unit, allergens, dietary tags.
type DemoArticle = (
    &'static str,
    &'static str,
    Unit,
    &'static str,
    &'static [Allergen],
    &'static [DietaryTag],
);

use Allergen as A;
use DietaryTag as D;

const FISH: &[DemoArticle] = &[
    (
        "Laxfilé",
        "Fisk",
        Unit::Kg,
        "189.00",
        &[A::Fish],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Torskrygg",
        "Fisk",
        Unit::Kg,
        "249.00",
        &[A::Fish],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Sejfilé",
        "Fisk",
        Unit::Kg,
        "129.00",
        &[A::Fish],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Rödingfilé",
        "Fisk",
        Unit::Kg,
        "265.00",
        &[A::Fish],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Gösfilé",
        "Fisk",
        Unit::Kg,
        "329.00",
        &[A::Fish],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Hälleflundra",
        "Fisk",
        Unit::Kg,
        "389.00",
        &[A::Fish],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Sill, inlagd",
        "Fisk",
        Unit::Kg,
        "89.50",
        &[A::Fish, A::Mustard],
        &[D::GlutenFree],
    ),
    (
        "Kallrökt lax",
        "Fisk",
        Unit::Kg,
        "319.00",
        &[A::Fish],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Räkor i lag",
        "Skaldjur",
        Unit::Kg,
        "219.00",
        &[A::Crustaceans],
        &[D::GlutenFree],
    ),
    (
        "Handskalade räkor",
        "Skaldjur",
        Unit::Kg,
        "459.00",
        &[A::Crustaceans],
        &[D::GlutenFree],
    ),
    (
        "Blåmusslor",
        "Skaldjur",
        Unit::Kg,
        "79.00",
        &[A::Molluscs],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Havskräftor",
        "Skaldjur",
        Unit::Kg,
        "595.00",
        &[A::Crustaceans],
        &[D::GlutenFree],
    ),
    (
        "Kräftstjärtar",
        "Skaldjur",
        Unit::Kg,
        "349.00",
        &[A::Crustaceans],
        &[D::GlutenFree],
    ),
    (
        "Löjrom",
        "Skaldjur",
        Unit::Kg,
        "1890.00",
        &[A::Fish],
        &[D::GlutenFree],
    ),
    (
        "Fiskbuljong",
        "Buljong",
        Unit::L,
        "64.90",
        &[A::Fish, A::Celery],
        &[D::LactoseFree],
    ),
];

const GREENS: &[DemoArticle] = &[
    (
        "Tomat kvist",
        "Grönsaker",
        Unit::Kg,
        "32.50",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Körsbärstomat",
        "Grönsaker",
        Unit::Kg,
        "45.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Gurka",
        "Grönsaker",
        Unit::Piece,
        "12.90",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Rödlök",
        "Grönsaker",
        Unit::Kg,
        "16.50",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Gul lök",
        "Grönsaker",
        Unit::Kg,
        "9.90",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Vitlök",
        "Grönsaker",
        Unit::Kg,
        "79.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Potatis, fast",
        "Rotfrukter",
        Unit::Kg,
        "8.90",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Morötter",
        "Rotfrukter",
        Unit::Kg,
        "9.50",
        &[],
        &[D::Vegan, D::GlutenFree, D::Organic],
    ),
    (
        "Palsternacka",
        "Rotfrukter",
        Unit::Kg,
        "29.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Rotselleri",
        "Rotfrukter",
        Unit::Kg,
        "24.00",
        &[A::Celery],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Rödbetor",
        "Rotfrukter",
        Unit::Kg,
        "14.90",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Sparris, grön",
        "Grönsaker",
        Unit::Kg,
        "149.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Spenat, baby",
        "Sallad",
        Unit::Kg,
        "89.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Ruccola",
        "Sallad",
        Unit::Kg,
        "119.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Romansallad",
        "Sallad",
        Unit::Piece,
        "14.50",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Dill",
        "Örter",
        Unit::Pack,
        "12.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Persilja, slät",
        "Örter",
        Unit::Pack,
        "12.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Basilika",
        "Örter",
        Unit::Pack,
        "18.00",
        &[],
        &[D::Vegan, D::GlutenFree, D::Organic],
    ),
    (
        "Citron",
        "Frukt",
        Unit::Kg,
        "34.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Äpple Ingrid Marie",
        "Frukt",
        Unit::Kg,
        "29.90",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Jordgubbar",
        "Bär",
        Unit::Kg,
        "89.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Lingon, frysta",
        "Bär",
        Unit::Kg,
        "69.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Kantareller",
        "Svamp",
        Unit::Kg,
        "249.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Champinjoner",
        "Svamp",
        Unit::Kg,
        "49.00",
        &[],
        &[D::Vegan, D::GlutenFree],
    ),
    (
        "Surdegsbröd",
        "Bröd",
        Unit::Piece,
        "42.00",
        &[A::Gluten],
        &[D::Vegan],
    ),
];

const DAIRY: &[DemoArticle] = &[
    (
        "Standardmjölk 3%",
        "Mejeri",
        Unit::L,
        "13.90",
        &[A::Milk],
        &[D::Vegetarian, D::GlutenFree],
    ),
    (
        "Vispgrädde 40%",
        "Mejeri",
        Unit::L,
        "52.00",
        &[A::Milk],
        &[D::Vegetarian, D::GlutenFree],
    ),
    (
        "Matlagningsgrädde 15%",
        "Mejeri",
        Unit::L,
        "34.00",
        &[A::Milk],
        &[D::Vegetarian, D::GlutenFree],
    ),
    (
        "Crème fraiche",
        "Mejeri",
        Unit::L,
        "48.00",
        &[A::Milk],
        &[D::Vegetarian, D::GlutenFree],
    ),
    (
        "Smör, normalsaltat",
        "Mejeri",
        Unit::Kg,
        "109.00",
        &[A::Milk],
        &[D::Vegetarian, D::GlutenFree],
    ),
    (
        "Västerbottensost",
        "Ost",
        Unit::Kg,
        "289.00",
        &[A::Milk],
        &[D::Vegetarian, D::GlutenFree],
    ),
    (
        "Präst 31%",
        "Ost",
        Unit::Kg,
        "139.00",
        &[A::Milk],
        &[D::Vegetarian, D::GlutenFree],
    ),
    (
        "Getost, chèvre",
        "Ost",
        Unit::Kg,
        "219.00",
        &[A::Milk],
        &[D::Vegetarian, D::GlutenFree],
    ),
    (
        "Halloumi",
        "Ost",
        Unit::Kg,
        "159.00",
        &[A::Milk],
        &[D::Vegetarian, D::GlutenFree],
    ),
    (
        "Ägg, frigående",
        "Ägg",
        Unit::Case,
        "189.00",
        &[A::Eggs],
        &[D::Vegetarian, D::GlutenFree],
    ),
    (
        "Havredryck barista",
        "Växtbaserat",
        Unit::L,
        "24.90",
        &[A::Gluten],
        &[D::Vegan, D::LactoseFree],
    ),
    (
        "Kycklingfilé",
        "Fågel",
        Unit::Kg,
        "119.00",
        &[],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Fläskfilé",
        "Kött",
        Unit::Kg,
        "139.00",
        &[],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Högrevsfärs",
        "Kött",
        Unit::Kg,
        "129.00",
        &[],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Oxfilé",
        "Kött",
        Unit::Kg,
        "549.00",
        &[],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Bacon, skivat",
        "Chark",
        Unit::Kg,
        "119.00",
        &[],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Falukorv",
        "Chark",
        Unit::Kg,
        "69.00",
        &[A::Mustard],
        &[D::LactoseFree],
    ),
    (
        "Prinskorv",
        "Chark",
        Unit::Kg,
        "89.00",
        &[],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Rökt skinka",
        "Chark",
        Unit::Kg,
        "179.00",
        &[],
        &[D::GlutenFree, D::LactoseFree],
    ),
    (
        "Salami",
        "Chark",
        Unit::Kg,
        "229.00",
        &[A::Mustard],
        &[D::GlutenFree, D::LactoseFree],
    ),
];

/// Pack variants multiply every article into a believable catalog (~200 products).
const PACKS: [(&str, &str); 3] = [
    ("", "1.000"),
    (" (storpack)", "0.920"),
    (" (ekologisk)", "1.350"),
];

/// What seeding created.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub suppliers: usize,
    pub restaurants: usize,
    pub products: usize,
    pub orders: usize,
    /// Inventory movements of the demo restaurants' year of history.
    pub movements: usize,
    /// Suppliers' invoices for the demo orders.
    pub invoices: usize,
    /// Price lists (a negotiated one, a campaign).
    pub price_lists: usize,
    /// The demo scan, still being read (OCR) when seeding returned.
    pub reading: Option<uuid::Uuid>,
}

fn demo_catalog(prefix: &str, articles: &[DemoArticle]) -> Vec<ProductInput> {
    let mut items = Vec::new();
    for (i, (name, category, unit, price, allergens, tags)) in articles.iter().enumerate() {
        for (v, (suffix, factor)) in PACKS.iter().enumerate() {
            let base: Decimal = price.parse().unwrap_or_default();
            let factor: Decimal = factor.parse().unwrap_or(Decimal::ONE);
            let mut dietary = tags.to_vec();
            if v == 2 && !dietary.contains(&DietaryTag::Organic) {
                dietary.push(DietaryTag::Organic);
            }
            items.push(ProductInput {
                sku: format!("{prefix}-{:03}-{}", i + 1, v + 1),
                name: format!("{name}{suffix}"),
                description: None,
                category: (*category).into(),
                unit: unit.as_str().into(),
                unit_price: (base * factor).round_dp(2),
                currency: None,
                // Some out of stock, so the stock filter has something to do.
                stock_on_hand: Some(if (i + v) % 7 == 0 {
                    0
                } else {
                    20 + ((i * 13 + v * 7) % 180) as i64
                }),
                allergens: allergens.to_vec(),
                dietary_tags: dietary,
                tax_rate: None,
                active: Some(true),
            });
        }
    }
    items
}

/// The marketplace part of [`demo_data`], and the restaurants and suppliers whose history is
/// still to write (when it created any).
async fn marketplace(
    services: &Services,
    demo_users: bool,
) -> anyhow::Result<(SeedReport, Option<DemoHistory>)> {
    let system = Caller::system();
    let mut report = SeedReport::default();
    let mut first_supplier = None;
    let mut suppliers = Vec::new();
    let catalogs: [(&str, &[DemoArticle]); 3] = [("NFS", FISH), ("SGP", GREENS), ("MMC", DAIRY)];
    for (demo, (prefix, articles)) in SUPPLIERS.iter().zip(catalogs) {
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
                suppliers.push(supplier.clone());
                let products = services
                    .products
                    .upsert(&system, supplier.id, demo_catalog(prefix, articles))
                    .await
                    .map_err(AppError::into_anyhow)?;
                report.products += products.len();
            }
            Err(AppError::Conflict(_)) => {}
            Err(other) => return Err(other.into_anyhow()),
        }
    }
    let mut first_restaurant = None;
    let mut restaurants = Vec::new();
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
            restaurants.push(restaurant.id);
        }
    }
    if !restaurants.is_empty() {
        report.orders = demo_orders(services, &suppliers, &restaurants).await?;
        report.price_lists = pricing::demo_pricing(services, &suppliers, &restaurants).await?;
    }
    let history = (!restaurants.is_empty() && !suppliers.is_empty()).then_some(DemoHistory {
        suppliers,
        restaurants,
    });
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
                    .grant_membership(&system, organisation, email, MemberRole::Owner)
                    .await
                    .map_err(AppError::into_anyhow)?;
            }
        }
    }
    Ok((report, history))
}

/// What the demo marketplace's orders led to: a year of inventory and its first forecasts, and
/// the suppliers' invoices.
struct DemoHistory {
    suppliers: Vec<Supplier>,
    restaurants: Vec<uuid::Uuid>,
}

impl DemoHistory {
    async fn write(self, services: &Services, report: &mut SeedReport) -> anyhow::Result<()> {
        report.movements = demo_inventory(services, &self.restaurants, &self.suppliers).await?;
        (report.invoices, report.reading) =
            invoices::demo_invoices(services, &self.suppliers, &self.restaurants).await?;
        Ok(())
    }
}

/// Creates the demo marketplace where it does not exist yet: suppliers (skipped by
/// organisation number), restaurants (when there are none), and — with the built-in demo users
/// — makes `supplier@iris.local` OWNER of the first supplier and `chef@iris.local` OWNER of the
/// first restaurant; then, for new restaurants, their inventory history, forecasts and
/// invoices.
pub async fn demo_data(services: &Services, demo_users: bool) -> anyhow::Result<SeedReport> {
    let (mut report, history) = marketplace(services, demo_users).await?;
    if let Some(history) = history {
        history.write(services, &mut report).await?;
    }
    Ok(report)
}

/// [`demo_data`] as a starting server seeds: the marketplace before it serves, the history
/// (a year of inventory, its forecasts, the invoices: most of the time) right after, in the
/// background — the first start answers in well under a second and the history shows a
/// moment later.
pub async fn demo_data_then_history(
    services: &Services,
    demo_users: bool,
) -> anyhow::Result<SeedReport> {
    let (report, history) = marketplace(services, demo_users).await?;
    if let Some(history) = history {
        let services = services.clone();
        tokio::spawn(async move {
            let mut written = SeedReport::default();
            match history.write(&services, &mut written).await {
                Ok(()) => tracing::info!(
                    movements = written.movements,
                    invoices = written.invoices,
                    "demo history seeded"
                ),
                Err(error) => tracing::error!(error = %error, "seeding the demo history failed"),
            }
        });
    }
    Ok(report)
}

/// Kitchen use by weekday (Monday first): quiet early in the week, busy Friday and Saturday.
const WEEKLY_USE: [i64; 7] = [70, 80, 90, 100, 140, 160, 60];

/// Each demo restaurant's inventory: six products of one supplier with par and target
/// levels, and a year of history — daily usage with a weekly rhythm, a slow trend and noise,
/// deliveries on the supplier's delivery days that refill to the target, now and then some
/// waste — imported through the inventory service like a ledger carried over from before
/// Iris. Then a first forecast run, so forecasts and suggestions show at once.
async fn demo_inventory(
    services: &Services,
    restaurants: &[uuid::Uuid],
    suppliers: &[Supplier],
) -> anyhow::Result<usize> {
    let system = Caller::system();
    let now = chrono::Utc::now();
    let today = now.date_naive();
    let mut movements = 0;
    for (r, restaurant) in restaurants.iter().enumerate() {
        let supplier = &suppliers[r % suppliers.len()];
        let catalog = services
            .products
            .list(
                &ProductFilter {
                    supplier_id: Some(supplier.id),
                    ..ProductFilter::default()
                },
                ProductSort::default(),
                PageRequest::Offset {
                    offset: 0,
                    limit: 6,
                },
            )
            .await
            .map_err(AppError::into_anyhow)?;
        for (n, product) in catalog.items.iter().enumerate() {
            let n = n as i64;
            // Units used on an average weekday, in thousandths: 1.5–6 units.
            let base = 1_500 + 900 * ((n + r as i64) % 6);
            let par = Decimal::new(base * 3, 3).ceil();
            let target = Decimal::new(base * 8, 3).ceil();
            let item = services
                .inventory
                .create_item(
                    &system,
                    *restaurant,
                    NewItem {
                        product_id: Some(product.id),
                        location: Some(if n % 2 == 0 { "Kylrum" } else { "Frys" }.into()),
                        par_level: Some(par),
                        target_level: Some(target),
                        ..NewItem::default()
                    },
                )
                .await
                .map_err(AppError::into_anyhow)?;
            // Every policy on show: MIN_MAX (the default, on par and target) for the first two.
            let (kind, min, max, order_cost, holding_cost) = match n {
                2 | 3 => (PolicyKind::ForecastCover, None, None, None, None),
                4 => (
                    PolicyKind::Eoq,
                    None,
                    None,
                    Some(Decimal::from(150)),
                    Some(product.unit_price.amount * Decimal::new(2, 1)),
                ),
                5 => (PolicyKind::SS, Some(par), Some(target), None, None),
                _ => (PolicyKind::MinMax, None, None, None, None),
            };
            services
                .planning
                .set_policy(
                    &system,
                    PolicyInput {
                        item_id: item.id,
                        kind,
                        min,
                        max,
                        order_cost,
                        holding_cost,
                        service_level: None,
                    },
                )
                .await
                .map_err(AppError::into_anyhow)?;
            let history = demo_history(supplier, base, target, today, (r as u64) * 7 + n as u64);
            movements += services
                .inventory
                .import_history(&system, item.id, history)
                .await
                .map_err(AppError::into_anyhow)?;
        }
    }
    services
        .planning
        .run_forecasts(|_, _| async {})
        .await
        .map_err(AppError::into_anyhow)?;
    Ok(movements)
}

/// A year of one item's ledger up to yesterday (see [`demo_inventory`]); deterministic.
fn demo_history(
    supplier: &Supplier,
    base_milli: i64,
    target: Decimal,
    today: chrono::NaiveDate,
    seed: u64,
) -> Vec<PastMovement> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 41) as i64 - 20 // −20 … +20 %
    };
    let at = |day: chrono::NaiveDate, hour: u32| {
        day.and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc()
    };
    // The opening stock, a year ago.
    let mut level = target;
    let mut history = vec![PastMovement {
        kind: MovementKind::Receipt,
        quantity: target,
        occurred_at: at(today - chrono::Duration::days(366), 6),
        reason: None,
    }];
    for ago in (1..=365).rev() {
        let day = today - chrono::Duration::days(ago);
        let weekday = chrono::Datelike::weekday(&day);
        if supplier.delivery_days.contains(Weekday::from(weekday)) && level < target {
            let delivered = (target - level).ceil();
            history.push(PastMovement {
                kind: MovementKind::Receipt,
                quantity: delivered,
                occurred_at: at(day, 6),
                reason: None,
            });
            level += delivered;
        }
        let trend = 1_000 + (365 - ago) / 2; // +18 % over the year
        let used = base_milli * WEEKLY_USE[weekday.num_days_from_monday() as usize] / 100 * trend
            / 1_000
            * (100 + noise())
            / 100;
        if used > 0 {
            let used = Decimal::new(used, 3);
            history.push(PastMovement {
                kind: MovementKind::Usage,
                quantity: used,
                occurred_at: at(day, 20),
                reason: None,
            });
            level -= used;
        }
        if ago % 45 == 0 {
            history.push(PastMovement {
                kind: MovementKind::Waste,
                quantity: Decimal::ONE,
                occurred_at: at(day, 22),
                reason: Some("Past its best-before date".into()),
            });
            level -= Decimal::ONE;
        }
    }
    history
}

/// Where each demo order ends up: every status, twice.
const ORDER_STORIES: [&[OrderAction]; 6] = [
    &[],
    &[OrderAction::Confirm],
    &[OrderAction::Confirm, OrderAction::Ship],
    &[
        OrderAction::Confirm,
        OrderAction::Ship,
        OrderAction::Deliver,
    ],
    &[OrderAction::Cancel],
    &[OrderAction::Confirm, OrderAction::Reject],
];

/// The first delivery day of `supplier` at least two days from now.
fn next_delivery_day(supplier: &Supplier, after_days: i64) -> chrono::NaiveDate {
    let mut date = chrono::Utc::now().date_naive() + chrono::Duration::days(after_days);
    while !supplier
        .delivery_days
        .contains(Weekday::from(chrono::Datelike::weekday(&date)))
    {
        date += chrono::Duration::days(1);
    }
    date
}

/// Orders in every status between the demo restaurants and suppliers, placed and moved through
/// the order service like real ones.
async fn demo_orders(
    services: &Services,
    suppliers: &[Supplier],
    restaurants: &[uuid::Uuid],
) -> anyhow::Result<usize> {
    let system = Caller::system();
    let mut placed = 0;
    for (n, story) in ORDER_STORIES.iter().cycle().take(12).enumerate() {
        let supplier = &suppliers[n % suppliers.len()];
        let restaurant = restaurants[n % restaurants.len()];
        let catalog = services
            .products
            .list(
                &ProductFilter {
                    supplier_id: Some(supplier.id),
                    in_stock: Some(true),
                    ..ProductFilter::default()
                },
                ProductSort::default(),
                PageRequest::Offset {
                    offset: (n as u64 * 3) % 30,
                    limit: 3,
                },
            )
            .await
            .map_err(AppError::into_anyhow)?;
        let basket: Decimal = catalog.items.iter().map(|p| p.unit_price.amount).sum();
        if basket.is_zero() {
            continue;
        }
        let quantity = rust_decimal::prelude::ToPrimitive::to_i64(
            &(supplier.minimum_order_value.amount / basket).ceil(),
        )
        .unwrap_or(1)
            + 1;
        let order = services
            .orders
            .place(
                &system,
                PlaceOrder {
                    restaurant_id: restaurant,
                    supplier_id: supplier.id,
                    lines: catalog
                        .items
                        .iter()
                        .map(|p| LineInput {
                            product_id: p.id,
                            quantity: quantity.min(p.stock_on_hand).max(1),
                        })
                        .collect(),
                    requested_delivery_date: next_delivery_day(supplier, 2 + n as i64),
                    note: (n % 3 == 0).then(|| "Leverans via bakdörren, ring på.".to_owned()),
                    idempotency_key: None,
                },
            )
            .await;
        // A basket short of the minimum after stock caps is skipped, not fatal.
        let Ok(order) = order else { continue };
        let id = order.orders[0].id;
        for action in *story {
            let reason = match action {
                OrderAction::Reject => Some("Slut i lager hos vår grossist".to_owned()),
                OrderAction::Cancel => Some("Menyn ändrad".to_owned()),
                _ => None,
            };
            services
                .orders
                .transition(&system, id, *action, reason)
                .await
                .map_err(AppError::into_anyhow)?;
        }
        placed += 1;
    }
    Ok(placed)
}
