//! The planning service: the nightly forecast run, stored forecasts, reorder policies and
//! suggestions, and applying suggestions to the cart.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use async_trait::async_trait;
use chrono::{Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::DatabaseTransaction;
use serde_json::json;
use uuid::Uuid;

use super::{
    ItemPolicy, PolicyInput, ReorderSuggestions, Scope, SkippedItem, Source, StoredForecast,
    SuggestionLine, SupplierSuggestion, forecasting, next_delivery,
    policies::{self, ForecastDay, Outlook, Policy, PolicyError, PolicyKind, Position},
    repository::{self, DailyDemand, PolicyRow, SeriesWrite},
    weather::{OpenWeather, WeatherConfig, WeatherSource},
};
use crate::{
    auth::{Caller, Principal},
    domain::{
        catalog::ProductService,
        inventory::{InventoryItem, InventoryService},
        kernel::{
            money::{self, Money},
            validation::Violations,
        },
        ordering::{Cart, CartService},
        platform::{
            audit::{self, AuditEntry},
            outbox::{self, OutboxEvent, OutboxHandler},
        },
        restaurants::{self, RestaurantService},
        suppliers::SupplierService,
    },
    error::AppError,
    infra::db::{Db, begin_write},
};

/// Days of history a series is built from.
const HISTORY_DAYS: i64 = 365;
/// Restaurants whose year of usage is read at once.
const USAGE_BATCH: usize = 10;
/// Series fitted and stored per step (one transaction each; progress is reported per step).
const RUN_STEP: usize = 500;

/// What a forecast run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForecastRun {
    pub series: usize,
    /// Series per model used.
    pub models: BTreeMap<&'static str, usize>,
    /// Mean backtest sMAPE of the chosen models and of seasonal-naive, over the series
    /// backtested.
    pub mean_smape: Option<f64>,
    pub mean_naive_smape: Option<f64>,
    /// Series whose forecast the weather adjusted.
    pub weather_adjusted: usize,
    /// Cities whose weather was fetched, and those it could not be fetched for.
    pub weather_cities: usize,
    pub weather_failures: usize,
}

/// A series to forecast: its key, source, first day and daily history.
struct SeriesJob {
    scope: Scope,
    owner: Uuid,
    product: Uuid,
    source: Source,
    history: Vec<f64>,
}

/// The maximum temperatures beside a history ending yesterday and the days from today, where
/// at least four weeks of the history have one.
fn weather_beside(
    temperatures: &HashMap<NaiveDate, f64>,
    days: usize,
    today: NaiveDate,
) -> Option<forecasting::WeatherSeries> {
    let first = today - Duration::days(days as i64);
    let history: Vec<Option<f64>> = (0..days)
        .map(|i| {
            temperatures
                .get(&(first + Duration::days(i as i64)))
                .copied()
        })
        .collect();
    if history.iter().flatten().count() < 28 {
        return None;
    }
    let ahead = (0..forecasting::HORIZON)
        .map(|h| {
            temperatures
                .get(&(today + Duration::days(h as i64)))
                .copied()
        })
        .collect();
    Some(forecasting::WeatherSeries { history, ahead })
}

type SeriesKey = (Scope, Uuid, Uuid);

/// Daily demand rows → one zero-filled history per key, from its first day to `last_day`.
fn histories(rows: Vec<DailyDemand>, last_day: NaiveDate) -> HashMap<(Uuid, Uuid), Vec<f64>> {
    let mut by_key: HashMap<(Uuid, Uuid), BTreeMap<NaiveDate, i64>> = HashMap::new();
    for row in rows {
        *by_key
            .entry((row.owner, row.product))
            .or_default()
            .entry(row.day)
            .or_default() += row.milli;
    }
    by_key
        .into_iter()
        .filter_map(|(key, days)| {
            let first = *days.keys().next()?;
            let length = (last_day - first).num_days() + 1;
            let mut history = vec![0.0; usize::try_from(length).ok()?];
            for (day, milli) in days {
                if let Some(slot) = usize::try_from((day - first).num_days())
                    .ok()
                    .and_then(|index| history.get_mut(index))
                {
                    *slot = (milli as f64 / 1000.0).max(0.0);
                }
            }
            Some((key, history))
        })
        .collect()
}

/// A restaurant's members and admins plan for it.
fn authorize_restaurant(caller: &Caller, restaurant: Uuid) -> Result<(), AppError> {
    match &caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated("sign in to plan".into())),
        p if p.is_admin() || p.restaurant_role(restaurant).is_some() => Ok(()),
        _ => Err(AppError::Forbidden(
            "only the restaurant's members and admins see its plans".into(),
        )),
    }
}

fn authorize_owner(caller: &Caller, scope: Scope, owner: Uuid) -> Result<(), AppError> {
    match (scope, &caller.principal) {
        (_, Principal::Anonymous) => Err(AppError::Unauthenticated(
            "sign in to read forecasts".into(),
        )),
        (_, p) if p.is_admin() => Ok(()),
        (Scope::Restaurant, p) if p.restaurant_role(owner).is_some() => Ok(()),
        (Scope::Supplier, p) if p.supplier_role(owner).is_some() => Ok(()),
        _ => Err(AppError::Forbidden(
            "only the organisation's members and admins read its forecasts".into(),
        )),
    }
}

/// The policy an item without one falls back to.
fn default_policy(item: &InventoryItem) -> Policy {
    match (item.par_level, item.target_level) {
        (Some(min), max) => Policy::MinMax {
            min,
            max: max.unwrap_or(min),
        },
        (None, _) => Policy::ForecastCover {
            service_level: policies::default_service_level(),
        },
    }
}

/// A stored policy row → the policy (MIN_MAX without levels reads the item's).
fn policy_of(row: &PolicyRow, item: &InventoryItem) -> Option<Policy> {
    let service_level = row
        .service_level
        .unwrap_or_else(policies::default_service_level);
    Some(match PolicyKind::of_stored(&row.kind)? {
        PolicyKind::MinMax => {
            let min = row.min.or(item.par_level)?;
            Policy::MinMax {
                min,
                max: row.max.or(item.target_level).unwrap_or(min),
            }
        }
        PolicyKind::SS => Policy::SS {
            s: row.min?,
            big_s: row.max?,
        },
        PolicyKind::Eoq => Policy::Eoq {
            order_cost: row.order_cost?,
            holding_cost: row.holding_cost?,
            service_level,
        },
        PolicyKind::ForecastCover => Policy::ForecastCover { service_level },
    })
}

/// Lead time and review period from a supplier's delivery days, seen from `today`.
fn delivery_rhythm(
    days: crate::domain::kernel::weekday::WeekdaySet,
    today: NaiveDate,
) -> Option<(NaiveDate, u32, u32)> {
    let next = next_delivery(days, today)?;
    let after = next_delivery(days, next)?;
    Some((
        next,
        (next - today).num_days() as u32,
        (after - next).num_days() as u32,
    ))
}

/// Checks a policy input against its kind's rules (each violation names its field).
fn validate_policy(input: &PolicyInput, item: &InventoryItem) -> Result<PolicyRow, AppError> {
    let mut v = Violations::default();
    let quantity = |field: &str, value: Option<Decimal>, v: &mut Violations| {
        if let Some(value) = value {
            match money::to_milli(value) {
                Err(e) => {
                    v.check(field, Err::<(), _>(e.rule()));
                }
                Ok(m) if m < 0 => {
                    v.check(field, Err::<(), _>("must not be negative".into()));
                }
                Ok(_) => {}
            }
        }
    };
    quantity("min", input.min, &mut v);
    quantity("max", input.max, &mut v);
    quantity("orderCost", input.order_cost, &mut v);
    quantity("holdingCost", input.holding_cost, &mut v);
    let required = |field: &str, value: Option<Decimal>, v: &mut Violations| {
        if value.is_none() {
            v.check(
                field,
                Err::<(), _>(format!("is required for {}", input.kind.as_str())),
            );
        }
    };
    match input.kind {
        PolicyKind::MinMax => {
            if input.min.or(item.par_level).is_none() {
                v.check(
                    "min",
                    Err::<(), _>("is required for MIN_MAX when the item has no par level".into()),
                );
            }
        }
        PolicyKind::SS => {
            required("min", input.min, &mut v);
            required("max", input.max, &mut v);
        }
        PolicyKind::Eoq => {
            required("orderCost", input.order_cost, &mut v);
            required("holdingCost", input.holding_cost, &mut v);
        }
        PolicyKind::ForecastCover => {}
    }
    if input.holding_cost.is_some_and(|h| h <= Decimal::ZERO) {
        v.check("holdingCost", Err::<(), _>("must be more than 0".into()));
    }
    // A parameter the kind does not take is a mistake worth naming, not something to keep.
    let takes = |field: &str| match input.kind {
        PolicyKind::MinMax | PolicyKind::SS => matches!(field, "min" | "max"),
        PolicyKind::Eoq => matches!(field, "orderCost" | "holdingCost" | "serviceLevel"),
        PolicyKind::ForecastCover => field == "serviceLevel",
    };
    for (field, given) in [
        ("min", input.min.is_some()),
        ("max", input.max.is_some()),
        ("orderCost", input.order_cost.is_some()),
        ("holdingCost", input.holding_cost.is_some()),
        ("serviceLevel", input.service_level.is_some()),
    ] {
        if given && !takes(field) {
            v.check(
                field,
                Err::<(), _>(format!("is not a parameter of {}", input.kind.as_str())),
            );
        }
    }
    if let (Some(min), Some(max)) = (
        input.min.or(item.par_level),
        input.max.or(item.target_level),
    ) && max < min
    {
        v.check(
            "max",
            Err::<(), _>(format!("must not be below min ({min})")),
        );
    }
    if let Some(level) = input.service_level
        && (!(Decimal::new(5, 1)..=Decimal::new(999, 3)).contains(&level)
            || level.normalize().scale() > 3)
    {
        v.check(
            "serviceLevel",
            Err::<(), _>("must be between 0.5 and 0.999, at most 3 decimals".into()),
        );
    }
    v.finish()?;
    Ok(PolicyRow {
        kind: input.kind.as_str().to_owned(),
        min: input.min,
        max: input.max,
        order_cost: input.order_cost,
        holding_cost: input.holding_cost,
        service_level: input.service_level,
        updated_at: Utc::now(),
    })
}

/// The contexts planning reads and fills.
pub struct PlanningDeps {
    pub inventory: InventoryService,
    pub products: ProductService,
    pub suppliers: SupplierService,
    pub restaurants: RestaurantService,
    pub carts: CartService,
}

#[derive(Clone)]
pub struct PlanningService {
    db: Db,
    inventory: InventoryService,
    products: ProductService,
    suppliers: SupplierService,
    restaurants: RestaurantService,
    carts: CartService,
    weather: Option<Arc<dyn WeatherSource>>,
    default_city: String,
}

impl PlanningService {
    pub fn new(db: Db, deps: PlanningDeps, weather: &WeatherConfig) -> anyhow::Result<Self> {
        let source: Option<Arc<dyn WeatherSource>> = match &weather.api_key {
            Some(key) => Some(Arc::new(OpenWeather::new(weather, key.clone())?)),
            None => None,
        };
        Ok(Self {
            db,
            inventory: deps.inventory,
            products: deps.products,
            suppliers: deps.suppliers,
            restaurants: deps.restaurants,
            carts: deps.carts,
            weather: source,
            default_city: weather.default_city.clone(),
        })
    }

    /// Fetches and stores the days ahead of every city, then reads each city's stored maximum
    /// temperatures over the history window (empty without a weather source).
    async fn weather_for(
        &self,
        restaurants: &[Uuid],
        since: NaiveDate,
        run: &mut ForecastRun,
    ) -> Result<
        (
            HashMap<Uuid, String>,
            HashMap<String, HashMap<NaiveDate, f64>>,
        ),
        AppError,
    > {
        let Some(source) = &self.weather else {
            return Ok(Default::default());
        };
        let now = Utc::now();
        let mut city_of: HashMap<Uuid, String> = HashMap::new();
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for restaurant in self.restaurants.by_ids(restaurants).await? {
            let name = match restaurant.city.trim() {
                "" => self.default_city.clone(),
                city => city.to_owned(),
            };
            let key = name.to_lowercase();
            names.entry(key.clone()).or_insert(name);
            city_of.insert(restaurant.id, key);
        }
        for (key, name) in &names {
            match source.days_ahead(name).await {
                Ok(days) => {
                    repository::store_weather(&self.db, key, &days, now).await?;
                    run.weather_cities += 1;
                }
                Err(error) => {
                    run.weather_failures += 1;
                    tracing::warn!(city = %name, error = %error.message(), "weather not fetched; forecasting without it");
                }
            }
        }
        let keys: Vec<String> = names.into_keys().collect();
        let temperatures = repository::max_temperatures(&self.db, &keys, since).await?;
        Ok((city_of, temperatures))
    }

    /// The `forecast-demand` run: builds every series from the last year's usage and orders,
    /// forecasts it, and replaces its stored forecast; `progress(done, total)` after each step.
    #[tracing::instrument(skip_all)]
    pub async fn run_forecasts<F, Fut>(&self, progress: F) -> Result<ForecastRun, AppError>
    where
        F: Fn(usize, usize) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let now = Utc::now();
        let today = now.date_naive();
        let yesterday = today - Duration::days(1);
        let from = (today - Duration::days(HISTORY_DAYS))
            .and_time(chrono::NaiveTime::MIN)
            .and_utc();
        let until = today.and_time(chrono::NaiveTime::MIN).and_utc();

        // Usage a few restaurants at a time, each batch turned into histories at once.
        let mut usage: HashMap<(Uuid, Uuid), Vec<f64>> = HashMap::new();
        let with_usage = repository::restaurants_with_usage(&self.db, from, until).await?;
        for batch in with_usage.chunks(USAGE_BATCH) {
            let rows = repository::daily_usage(&self.db, batch, from, until).await?;
            usage.extend(histories(rows, yesterday));
        }
        let ordered = histories(
            repository::daily_orders(&self.db, Scope::Restaurant, from, until).await?,
            yesterday,
        );
        let supplied = histories(
            repository::daily_orders(&self.db, Scope::Supplier, from, until).await?,
            yesterday,
        );
        let mut jobs: Vec<SeriesJob> = Vec::new();
        for ((owner, product), history) in ordered {
            if !usage.contains_key(&(owner, product)) {
                jobs.push(SeriesJob {
                    scope: Scope::Restaurant,
                    owner,
                    product,
                    source: Source::Orders,
                    history,
                });
            }
        }
        let restaurants_usage = usage
            .into_iter()
            .map(|((owner, product), history)| SeriesJob {
                scope: Scope::Restaurant,
                owner,
                product,
                source: Source::Usage,
                history,
            });
        let suppliers = supplied
            .into_iter()
            .map(|((owner, product), history)| SeriesJob {
                scope: Scope::Supplier,
                owner,
                product,
                source: Source::Orders,
                history,
            });
        jobs.extend(restaurants_usage);
        jobs.extend(suppliers);
        // A stable order: reruns step through the series alike.
        jobs.sort_by_key(|j| (j.scope.as_str(), j.owner, j.product));

        let mut ids = repository::series_ids(&self.db).await?;
        let total = jobs.len();
        let mut run = ForecastRun {
            series: total,
            ..ForecastRun::default()
        };
        let mut restaurants: Vec<Uuid> = jobs
            .iter()
            .filter(|j| j.scope == Scope::Restaurant)
            .map(|j| j.owner)
            .collect();
        restaurants.sort();
        restaurants.dedup();
        let (city_of, temperatures) = self
            .weather_for(
                &restaurants,
                today - Duration::days(HISTORY_DAYS + 1),
                &mut run,
            )
            .await?;
        let (mut smape_sum, mut naive_sum, mut backtested) = (0.0, 0.0, 0usize);
        progress(0, total).await;
        let mut done = 0;
        let mut remaining = jobs.into_iter().peekable();
        while remaining.peek().is_some() {
            let step: Vec<SeriesJob> = remaining.by_ref().take(RUN_STEP).collect();
            let inputs: Vec<forecasting::SeriesInput> = step
                .iter()
                .map(|j| forecasting::SeriesInput {
                    history: j.history.clone(),
                    weather: (j.scope == Scope::Restaurant)
                        .then(|| city_of.get(&j.owner))
                        .flatten()
                        .and_then(|city| temperatures.get(city))
                        .and_then(|t| weather_beside(t, j.history.len(), today)),
                })
                .collect();
            let span = tracing::Span::current();
            let results = tokio::task::spawn_blocking(move || {
                let _entered = span.enter();
                forecasting::forecast_all(&inputs, forecasting::HORIZON)
            })
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("forecasting failed: {e}")))?;
            let writes: Vec<SeriesWrite<'_>> = step
                .iter()
                .zip(&results)
                .map(|(job, result)| {
                    let key: SeriesKey = (job.scope, job.owner, job.product);
                    SeriesWrite {
                        id: *ids.entry(key).or_insert_with(Uuid::now_v7),
                        scope: job.scope,
                        owner: job.owner,
                        product: job.product,
                        source: job.source,
                        history_days: job.history.len(),
                        first_day: today,
                        result,
                    }
                })
                .collect();
            let txn = begin_write(&self.db).await?;
            repository::store_forecasts(&txn, &writes, now).await?;
            txn.commit().await?;
            for result in &results {
                *run.models.entry(result.model.as_str()).or_default() += 1;
                run.weather_adjusted += usize::from(result.weather_adjusted);
                if let Some(accuracy) = result.accuracy {
                    smape_sum += accuracy.smape;
                    naive_sum += accuracy.naive_smape;
                    backtested += 1;
                }
            }
            done += step.len();
            progress(done, total).await;
        }
        if backtested > 0 {
            run.mean_smape = Some(smape_sum / backtested as f64);
            run.mean_naive_smape = Some(naive_sum / backtested as f64);
        }
        tracing::info!(series = total, models = ?run.models, "forecasts stored");
        Ok(run)
    }

    /// Suppliers' forecast demand of these products: mean units per day over the next `days`
    /// days (for dynamic prices); products without a supplier forecast are absent.
    pub async fn supplier_daily_demand(
        &self,
        products: &[Uuid],
        days: i64,
    ) -> Result<HashMap<Uuid, Decimal>, AppError> {
        repository::supplier_daily_demand(&self.db, products, Utc::now().date_naive(), days).await
    }

    /// The stored forecast of `owner`'s product, from today on (`None` before the first run
    /// with demand for it).
    pub async fn forecast(
        &self,
        caller: &Caller,
        scope: Scope,
        owner: Uuid,
        product: Uuid,
    ) -> Result<Option<StoredForecast>, AppError> {
        authorize_owner(caller, scope, owner)?;
        let today = Utc::now().date_naive();
        Ok(
            repository::forecasts_of(&self.db, scope, owner, &[product], today)
                .await?
                .into_iter()
                .next(),
        )
    }

    /// Every stored forecast of `owner`, from today on.
    pub async fn forecasts(
        &self,
        caller: &Caller,
        scope: Scope,
        owner: Uuid,
    ) -> Result<Vec<StoredForecast>, AppError> {
        authorize_owner(caller, scope, owner)?;
        repository::forecasts_of(&self.db, scope, owner, &[], Utc::now().date_naive()).await
    }

    /// The policy of each of the restaurant's items with a product (set or default).
    pub async fn policies(
        &self,
        caller: &Caller,
        restaurant: Uuid,
    ) -> Result<Vec<ItemPolicy>, AppError> {
        let items = self.inventory.items(caller, restaurant, None).await?;
        let stored = repository::policies_of(&self.db, restaurant).await?;
        Ok(items
            .iter()
            .filter(|i| i.product_id.is_some())
            .map(
                |item| match stored.get(&item.id).and_then(|r| policy_of(r, item)) {
                    Some(policy) => ItemPolicy {
                        item_id: item.id,
                        policy,
                        set: true,
                        updated_at: stored.get(&item.id).map(|r| r.updated_at),
                    },
                    None => ItemPolicy {
                        item_id: item.id,
                        policy: default_policy(item),
                        set: false,
                        updated_at: None,
                    },
                },
            )
            .collect())
    }

    /// Sets an item's reorder policy (audited).
    #[tracing::instrument(skip_all, fields(caller = %caller, item_id = %input.item_id))]
    pub async fn set_policy(
        &self,
        caller: &Caller,
        input: PolicyInput,
    ) -> Result<ItemPolicy, AppError> {
        let item = self.inventory.item(caller, input.item_id).await?;
        if item.product_id.is_none() {
            return Err(AppError::validation(
                "itemId",
                "must be an item of a product (free-text items are not reordered)",
            ));
        }
        let row = validate_policy(&input, &item)?;
        let policy = policy_of(&row, &item)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a validated policy is whole")))?;
        let txn = begin_write(&self.db).await?;
        repository::upsert_policy(&txn, item.id, item.restaurant_id, &row).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "planning.policy_set",
                entity: "inventory_item",
                entity_id: Some(item.id.to_string()),
                before: None,
                after: Some(json!({
                    "kind": row.kind,
                    "min": row.min.map(|d| d.to_string()),
                    "max": row.max.map(|d| d.to_string()),
                    "orderCost": row.order_cost.map(|d| d.to_string()),
                    "holdingCost": row.holding_cost.map(|d| d.to_string()),
                    "serviceLevel": row.service_level.map(|d| d.to_string()),
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(ItemPolicy {
            item_id: item.id,
            policy,
            set: true,
            updated_at: Some(row.updated_at),
        })
    }

    /// What the restaurant should order now, supplier by supplier.
    #[tracing::instrument(skip_all, fields(caller = %caller, restaurant_id = %restaurant))]
    pub async fn reorder_suggestions(
        &self,
        caller: &Caller,
        restaurant: Uuid,
    ) -> Result<ReorderSuggestions, AppError> {
        authorize_restaurant(caller, restaurant)?;
        if restaurants::find_live(&self.db, restaurant)
            .await?
            .is_none()
        {
            return Err(AppError::not_found("Restaurant", restaurant));
        }
        let now = Utc::now();
        let today = now.date_naive();
        let items: Vec<InventoryItem> = self
            .inventory
            .items(caller, restaurant, Some(now))
            .await?
            .into_iter()
            .filter(|i| i.active && i.product_id.is_some())
            .collect();
        let product_ids: Vec<Uuid> = items.iter().filter_map(|i| i.product_id).collect();
        let products: HashMap<Uuid, _> = self
            .products
            .live_by_ids(&product_ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut supplier_ids: Vec<Uuid> = products.values().map(|p| p.supplier_id).collect();
        supplier_ids.sort();
        supplier_ids.dedup();
        let suppliers: HashMap<Uuid, _> = self
            .suppliers
            .by_ids(&supplier_ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let stored_policies = repository::policies_of(&self.db, restaurant).await?;
        let forecasts: HashMap<Uuid, StoredForecast> =
            repository::forecasts_of(&self.db, Scope::Restaurant, restaurant, &product_ids, today)
                .await?
                .into_iter()
                .map(|f| (f.series.product_id, f))
                .collect();
        let on_order = repository::on_order(&self.db, restaurant).await?;

        let mut groups: BTreeMap<Uuid, Vec<SuggestionLine>> = BTreeMap::new();
        let mut skipped = Vec::new();
        for item in &items {
            let skip = |reason: String| SkippedItem {
                item_id: item.id,
                item_name: item.name.clone(),
                reason,
            };
            let Some(product_id) = item.product_id else {
                continue;
            };
            let Some(product) = products.get(&product_id).filter(|p| p.active) else {
                skipped.push(skip("its product is no longer sold".into()));
                continue;
            };
            let Some(supplier) = suppliers
                .get(&product.supplier_id)
                .filter(|s| s.active && s.deleted_at.is_none())
            else {
                skipped.push(skip("its supplier is not taking orders".into()));
                continue;
            };
            let policy = stored_policies
                .get(&item.id)
                .and_then(|row| policy_of(row, item))
                .unwrap_or_else(|| default_policy(item));
            let rhythm = delivery_rhythm(supplier.delivery_days, today);
            // The days to cover run from today to the day before the delivery after next: a
            // forecast that no longer reaches that far (no run for weeks) plans nothing.
            let covered = |f: &&StoredForecast| {
                rhythm.is_some_and(|(_, lead, review)| f.points.len() >= (lead + review) as usize)
            };
            let outlook = match (forecasts.get(&product_id).filter(covered), rhythm) {
                (Some(forecast), Some((_, lead, review))) => Some(Outlook {
                    days: forecast
                        .points
                        .iter()
                        .map(|p| {
                            use rust_decimal::prelude::ToPrimitive;
                            ForecastDay::from_interval(
                                p.point.to_f64().unwrap_or(0.0),
                                p.upper95.to_f64().unwrap_or(0.0),
                            )
                        })
                        .collect(),
                    lead_days: lead,
                    review_days: review,
                }),
                _ => None,
            };
            let position = Position {
                on_hand: item.on_hand,
                on_order: Decimal::from(on_order.get(&product_id).copied().unwrap_or(0)),
                pack_size: if item.pack_size > Decimal::ZERO {
                    item.pack_size
                } else {
                    Decimal::ONE
                },
            };
            let workings = match policies::suggest(&policy, &position, outlook.as_ref()) {
                Ok(workings) => workings,
                Err(PolicyError::NoForecast) if rhythm.is_none() => {
                    skipped.push(skip(format!("{} has no delivery days", supplier.name)));
                    continue;
                }
                Err(PolicyError::NoForecast) if forecasts.contains_key(&product_id) => {
                    skipped.push(skip(format!(
                        "{} needs a forecast reaching the delivery after next; the last one \
                         is too old: `forecast-demand` has not run since",
                        policy.kind().as_str()
                    )));
                    continue;
                }
                Err(PolicyError::NoForecast) => {
                    skipped.push(skip(format!(
                        "{} needs a forecast, and there is none yet: `forecast-demand` makes \
                         one from recorded usage or orders",
                        policy.kind().as_str()
                    )));
                    continue;
                }
            };
            if workings.quantity <= Decimal::ZERO {
                continue;
            }
            let cart_quantity = {
                use rust_decimal::prelude::ToPrimitive;
                workings.quantity.ceil().to_i64().unwrap_or(i64::MAX)
            };
            if cart_quantity > crate::domain::ordering::MAX_QUANTITY {
                skipped.push(skip(format!(
                    "{} suggests {}, more than one cart line holds ({}): check the item's \
                     unit and levels",
                    policy.kind().as_str(),
                    workings.quantity,
                    crate::domain::ordering::MAX_QUANTITY
                )));
                continue;
            }
            groups.entry(supplier.id).or_default().push(SuggestionLine {
                item_id: item.id,
                item_name: item.name.clone(),
                product_id,
                unit: item.unit.clone(),
                policy: policy.kind(),
                on_hand: item.on_hand,
                on_order: position.on_order,
                pack_size: position.pack_size,
                cart_quantity,
                line_total: product.price_of(cart_quantity),
                unit_price: product.unit_price.clone(),
                workings,
            });
        }
        // Priced as the restaurant pays (its price lists), in one statement.
        let wanted: Vec<_> = groups
            .values()
            .flatten()
            .map(|l| {
                (
                    l.product_id,
                    l.unit_price.amount,
                    l.unit_price.currency.clone(),
                    l.cart_quantity,
                )
            })
            .collect();
        let prices =
            crate::domain::pricing::PricingService::resolve_on(&self.db, restaurant, &wanted, now)
                .await?;
        for (line, price) in groups.values_mut().flatten().zip(prices) {
            line.unit_price = Money {
                amount: price.unit_price,
                currency: price.currency.clone(),
            };
            line.line_total = Money {
                amount: (price.unit_price * Decimal::from(line.cart_quantity)).normalize(),
                currency: price.currency,
            };
        }
        let mut groups: Vec<SupplierSuggestion> = groups
            .into_iter()
            .filter_map(|(supplier_id, lines)| {
                let supplier = suppliers.get(&supplier_id)?;
                let subtotal: Decimal = lines.iter().map(|l| l.line_total.amount).sum();
                let minimum = supplier.minimum_order_value.clone();
                let shortfall = (minimum.amount - subtotal).max(Decimal::ZERO);
                let rhythm = delivery_rhythm(supplier.delivery_days, today);
                Some(SupplierSuggestion {
                    supplier_id,
                    supplier_name: supplier.name.clone(),
                    delivery_date: rhythm.map(|r| r.0),
                    lead_days: rhythm.map(|r| r.1),
                    lines,
                    subtotal: Money {
                        amount: subtotal.normalize(),
                        currency: supplier.currency.clone(),
                    },
                    below_minimum: shortfall > Decimal::ZERO,
                    shortfall: Money {
                        amount: shortfall.normalize(),
                        currency: minimum.currency.clone(),
                    },
                    minimum_order_value: minimum,
                })
            })
            .collect();
        groups.sort_by(|a, b| a.supplier_name.cmp(&b.supplier_name));
        Ok(ReorderSuggestions {
            restaurant_id: restaurant,
            generated_at: now,
            suppliers: groups,
            skipped,
        })
    }

    /// Puts suggested lines in the cart — those of `products`, or all when `None` — setting
    /// each product's cart quantity to the suggestion, in one transaction.
    #[tracing::instrument(skip_all, fields(caller = %caller, restaurant_id = %restaurant))]
    pub async fn apply_suggestions(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        products: Option<Vec<Uuid>>,
    ) -> Result<(Cart, Vec<SuggestionLine>), AppError> {
        let suggestions = self.reorder_suggestions(caller, restaurant).await?;
        let lines: Vec<SuggestionLine> = suggestions
            .suppliers
            .into_iter()
            .flat_map(|s| s.lines)
            .collect();
        let chosen: Vec<SuggestionLine> = match products {
            None => lines,
            Some(wanted) => {
                let mut v = Violations::default();
                for (index, product) in wanted.iter().enumerate() {
                    if !lines.iter().any(|l| l.product_id == *product) {
                        v.check(
                            &format!("productIds[{index}]"),
                            Err::<(), _>(format!("{product} has no reorder suggestion now")),
                        );
                    }
                }
                v.finish()?;
                lines
                    .into_iter()
                    .filter(|l| wanted.contains(&l.product_id))
                    .collect()
            }
        };
        let quantities: Vec<(Uuid, i64)> = chosen
            .iter()
            .map(|l| (l.product_id, l.cart_quantity))
            .collect();
        let cart = self.carts.set_many(caller, restaurant, &quantities).await?;
        Ok((cart, chosen))
    }
}

/// Marks the forecasts an order's products belong to stale, as the order is placed.
pub struct ForecastStaleMarker;

#[async_trait]
impl OutboxHandler for ForecastStaleMarker {
    fn name(&self) -> &'static str {
        "forecast-stale-marker"
    }

    async fn handle(&self, txn: &DatabaseTransaction, event: &OutboxEvent) -> Result<(), AppError> {
        if event.event_type == outbox::ORDER_PLACED {
            repository::mark_order_series_stale(txn, event.aggregate_id, Utc::now()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histories_start_at_the_first_day_and_fill_gaps_with_zero() {
        let (owner, product) = (Uuid::now_v7(), Uuid::now_v7());
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).expect("a date");
        let rows = vec![
            DailyDemand {
                owner,
                product,
                day: day(2),
                milli: 1500,
            },
            DailyDemand {
                owner,
                product,
                day: day(4),
                milli: 500,
            },
        ];
        let built = histories(rows, day(6));
        assert_eq!(built[&(owner, product)], vec![1.5, 0.0, 0.5, 0.0, 0.0]);
    }

    #[test]
    fn the_delivery_rhythm_is_read_off_the_delivery_days() {
        use crate::domain::kernel::weekday::{Weekday, WeekdaySet};
        // Monday 2026-12-07; deliveries on Tuesdays and Fridays.
        let days = WeekdaySet::from_days(&[Weekday::Tuesday, Weekday::Friday]);
        let monday = NaiveDate::from_ymd_opt(2026, 12, 7).expect("a date");
        let (next, lead, review) = delivery_rhythm(days, monday).expect("delivers");
        assert_eq!(
            (next.to_string().as_str(), lead, review),
            ("2026-12-08", 1, 3)
        );
        // From the Tuesday itself: Friday (3 days), then Tuesday (4 days).
        let tuesday = monday + Duration::days(1);
        assert_eq!(
            delivery_rhythm(days, tuesday).map(|r| (r.1, r.2)),
            Some((3, 4))
        );
        assert_eq!(delivery_rhythm(WeekdaySet::default(), monday), None);
    }
}
