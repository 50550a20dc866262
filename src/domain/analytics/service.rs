//! The analytics service: read-only figures for a restaurant's or a supplier's members.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use super::{
    Dimension, ItemCover, Period, PriceVariance, SeriesAccuracy, SpendRow,
    repository::{self, Side},
};
use crate::{
    auth::{Caller, Principal},
    domain::{
        catalog::ProductService,
        inventory::InventoryService,
        kernel::money::{Currency, Money, from_milli},
        planning::{PlanningService, Scope},
    },
    error::AppError,
    infra::db::Db,
};

/// Longest period one request may cover.
const MAX_PERIOD: Duration = Duration::days(5 * 366);
/// Forecast days the mean daily demand of days-of-cover is taken over.
const COVER_DAYS: usize = 7;

fn authorize(caller: &Caller, side: Side, owner: Uuid) -> Result<(), AppError> {
    match (side, &caller.principal) {
        (_, Principal::Anonymous) => Err(AppError::Unauthenticated(
            "sign in to read analytics".into(),
        )),
        (_, p) if p.is_admin() => Ok(()),
        (Side::Restaurant, p) if p.restaurant_role(owner).is_some() => Ok(()),
        (Side::Supplier, p) if p.supplier_role(owner).is_some() => Ok(()),
        _ => Err(AppError::Forbidden(
            "only the organisation's members and admins read its analytics".into(),
        )),
    }
}

/// `[from, to)`: the last 365 days by default; `from` before `to`, at most five years.
pub fn period(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<Period, AppError> {
    let to = to.unwrap_or_else(Utc::now);
    let from = from.unwrap_or(to - Duration::days(365));
    if from >= to {
        return Err(AppError::validation("from", "must be before `to`"));
    }
    if to - from > MAX_PERIOD {
        return Err(AppError::validation(
            "to",
            "must be at most five years after `from`",
        ));
    }
    Ok(Period { from, to })
}

fn money(milli: i64, currency: &str) -> Money {
    Money {
        amount: from_milli(milli),
        currency: Currency::from_stored(currency),
    }
}

#[derive(Clone)]
pub struct AnalyticsService {
    db: Db,
    inventory: InventoryService,
    planning: PlanningService,
    products: ProductService,
}

impl AnalyticsService {
    pub fn new(
        db: Db,
        inventory: InventoryService,
        planning: PlanningService,
        products: ProductService,
    ) -> Self {
        Self {
            db,
            inventory,
            planning,
            products,
        }
    }

    async fn breakdown(
        &self,
        caller: &Caller,
        side: Side,
        owner: Uuid,
        period: Period,
        by: &[Dimension],
    ) -> Result<Vec<SpendRow>, AppError> {
        authorize(caller, side, owner)?;
        let cells = repository::spend_cells(&self.db, side, owner, period).await?;
        type Key = (
            Option<String>,
            Option<String>,
            Option<Uuid>,
            Option<String>,
            String,
        );
        let mut rows: BTreeMap<Key, SpendRow> = BTreeMap::new();
        for cell in cells {
            let party = by.contains(&Dimension::Party);
            let category = by.contains(&Dimension::Category);
            let month = by.contains(&Dimension::Month);
            let key: Key = (
                month.then(|| cell.month.clone()),
                party.then(|| cell.party_name.clone()),
                party.then_some(cell.party),
                category.then(|| cell.category.clone()),
                cell.currency.clone(),
            );
            let row = rows.entry(key).or_insert_with(|| SpendRow {
                party_id: party.then_some(cell.party),
                party_name: party.then(|| cell.party_name.clone()),
                category: category.then(|| cell.category.clone()),
                month: month.then(|| cell.month.clone()),
                amount: money(0, &cell.currency),
                units: 0,
            });
            row.amount.amount += from_milli(cell.amount_milli);
            row.units += cell.units;
        }
        Ok(rows
            .into_values()
            .map(|mut row| {
                row.amount.amount = row.amount.amount.normalize();
                row
            })
            .collect())
    }

    /// What a restaurant spent in the period, broken down `by` (nothing: one total per
    /// currency), ordered by month, supplier and category.
    pub async fn spend(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        period: Period,
        by: &[Dimension],
    ) -> Result<Vec<SpendRow>, AppError> {
        self.breakdown(caller, Side::Restaurant, restaurant, period, by)
            .await
    }

    /// What a supplier sold in the period, broken down `by` (the party is the restaurant).
    pub async fn sales(
        &self,
        caller: &Caller,
        supplier: Uuid,
        period: Period,
        by: &[Dimension],
    ) -> Result<Vec<SpendRow>, AppError> {
        self.breakdown(caller, Side::Supplier, supplier, period, by)
            .await
    }

    /// Per product the restaurant bought in the period: the average paid against today's
    /// list price, largest relative change first.
    pub async fn price_variance(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        period: Period,
    ) -> Result<Vec<PriceVariance>, AppError> {
        authorize(caller, Side::Restaurant, restaurant)?;
        let mut rows: Vec<PriceVariance> = repository::paid(&self.db, restaurant, period)
            .await?
            .into_iter()
            // Prices compare within one currency only.
            .filter(|r| r.units > 0 && r.currency == r.current_currency)
            .map(|r| {
                let average = (from_milli(r.paid_milli) / Decimal::from(r.units))
                    .round_dp_with_strategy(3, RoundingStrategy::MidpointAwayFromZero)
                    .normalize();
                let current = from_milli(r.current_milli);
                let variance = (current - average).normalize();
                let percent = (!average.is_zero()).then(|| {
                    (variance / average * Decimal::from(100))
                        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
                        .normalize()
                });
                PriceVariance {
                    product_id: r.product,
                    name: r.name,
                    supplier_id: r.supplier,
                    units: r.units,
                    average_paid: Money {
                        amount: average,
                        currency: Currency::from_stored(&r.currency),
                    },
                    current_price: money(r.current_milli, &r.current_currency),
                    variance: Money {
                        amount: variance,
                        currency: Currency::from_stored(&r.current_currency),
                    },
                    variance_percent: percent,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            let size = |v: &PriceVariance| v.variance_percent.map(|p| p.abs());
            size(b).cmp(&size(a)).then_with(|| a.name.cmp(&b.name))
        });
        Ok(rows)
    }

    /// Each of the restaurant's items: days of cover now, and stock-out days in the period.
    pub async fn cover(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        period: Period,
    ) -> Result<Vec<ItemCover>, AppError> {
        authorize(caller, Side::Restaurant, restaurant)?;
        let now = Utc::now();
        let items = self.inventory.items(caller, restaurant, Some(now)).await?;
        let demand: HashMap<Uuid, Decimal> = self
            .planning
            .forecasts(caller, Scope::Restaurant, restaurant)
            .await?
            .into_iter()
            .filter(|f| !f.points.is_empty())
            .map(|f| {
                let days = f.points.iter().take(COVER_DAYS);
                let count = days.len();
                let sum: Decimal = days.map(|p| p.point).sum();
                (f.series.product_id, sum / Decimal::from(count))
            })
            .collect();
        let ledger = repository::ledger(&self.db, restaurant, period).await?;
        // Days that are over: up to yesterday, within the period.
        let first_day = period.from.date_naive();
        let last_day = (period.to - Duration::nanoseconds(1))
            .date_naive()
            .min(now.date_naive() - Duration::days(1));
        Ok(items
            .into_iter()
            .map(|item| {
                let daily = item.product_id.and_then(|p| demand.get(&p)).copied();
                let days_of_cover = match daily {
                    _ if item.on_hand <= Decimal::ZERO => Some(Decimal::ZERO),
                    Some(d) if d > Decimal::ZERO => Some(
                        (item.on_hand / d)
                            .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
                            .normalize(),
                    ),
                    _ => None,
                };
                let opening = ledger.opening.get(&item.id).copied();
                let moves = ledger.days.get(&item.id).map(Vec::as_slice).unwrap_or(&[]);
                let mut balance = opening.unwrap_or(0);
                // Counted from the item's first movement.
                let mut counting = opening.is_some();
                let mut stock_out_days = 0;
                let mut next = moves.iter().peekable();
                let mut day = first_day;
                while day <= last_day {
                    while let Some((_, milli)) = next.next_if(|(d, _)| *d == day) {
                        balance += milli;
                        counting = true;
                    }
                    if counting && balance <= 0 {
                        stock_out_days += 1;
                    }
                    day += Duration::days(1);
                }
                ItemCover {
                    item_id: item.id,
                    name: item.name,
                    product_id: item.product_id,
                    on_hand: item.on_hand,
                    daily_demand: daily.map(|d| {
                        d.round_dp_with_strategy(3, RoundingStrategy::MidpointAwayFromZero)
                            .normalize()
                    }),
                    days_of_cover,
                    stock_out_days,
                    out_of_stock: item.on_hand <= Decimal::ZERO,
                }
            })
            .collect())
    }

    /// The measured accuracy of each of the owner's forecasts, least accurate first.
    pub async fn forecast_accuracy(
        &self,
        caller: &Caller,
        scope: Scope,
        owner: Uuid,
    ) -> Result<Vec<SeriesAccuracy>, AppError> {
        let forecasts = self.planning.forecasts(caller, scope, owner).await?;
        let ids: Vec<Uuid> = forecasts.iter().map(|f| f.series.product_id).collect();
        let names: HashMap<Uuid, String> = self
            .products
            .by_ids(&ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        let mut rows: Vec<SeriesAccuracy> = forecasts
            .into_iter()
            .map(|f| SeriesAccuracy {
                product_id: f.series.product_id,
                product_name: names.get(&f.series.product_id).cloned(),
                model: f.series.model.as_str(),
                smape: f.series.smape,
                mase: f.series.mase,
                naive_smape: f.series.naive_smape,
                generated_at: f.series.generated_at,
            })
            .collect();
        rows.sort_by(|a, b| {
            b.smape
                .unwrap_or(-1.0)
                .total_cmp(&a.smape.unwrap_or(-1.0))
                .then_with(|| a.product_id.cmp(&b.product_id))
        });
        Ok(rows)
    }
}
