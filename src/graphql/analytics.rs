//! Analytics over GraphQL: `restaurantAnalytics` (spend, price variance, cover and stock-outs,
//! forecast accuracy) and `supplierAnalytics` (sales, forecast accuracy).

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    caller,
    common::{ExactDecimal, MoneyObject, parse_id},
    services,
};
use crate::domain::{
    analytics::{self, Dimension, ItemCover, Period, PriceVariance, SeriesAccuracy, SpendRow},
    planning::Scope,
};

/// What a restaurant's spend is broken down by.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SpendDimension {
    /// The supplier ordered from.
    Supplier,
    /// The product's category.
    Category,
    /// The UTC month the order was placed.
    Month,
}

/// What a supplier's sales are broken down by.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SalesDimension {
    /// The restaurant that ordered.
    Restaurant,
    /// The product's category.
    Category,
    /// The UTC month the order was placed.
    Month,
}

/// One row of a breakdown: the keys asked for (the others null) and the amount.
#[derive(SimpleObject)]
pub struct AmountRow {
    /// The supplier (of spend) or the restaurant (of sales).
    party_id: Option<ID>,
    /// Its name.
    party_name: Option<String>,
    /// The product category.
    category: Option<String>,
    /// `YYYY-MM` (UTC).
    month: Option<String>,
    /// Line totals excluding VAT, exact.
    amount: MoneyObject,
    /// Units ordered.
    units: i64,
}

impl From<SpendRow> for AmountRow {
    fn from(r: SpendRow) -> Self {
        AmountRow {
            party_id: r.party_id.map(|p| ID(p.to_string())),
            party_name: r.party_name,
            category: r.category,
            month: r.month,
            amount: r.amount.into(),
            units: r.units,
        }
    }
}

/// What was paid for a product in the period against its list price now.
#[derive(SimpleObject)]
pub struct PriceVarianceRow {
    /// The product.
    product_id: ID,
    /// Its name now.
    name: String,
    /// Its supplier.
    supplier_id: ID,
    /// Units bought in the period.
    units: i64,
    /// Quantity-weighted average unit price paid.
    average_paid: MoneyObject,
    /// The list price now.
    current_price: MoneyObject,
    /// Current minus average paid (positive: the price rose).
    variance: MoneyObject,
    /// Variance over average paid, in percent.
    variance_percent: Option<ExactDecimal>,
}

impl From<PriceVariance> for PriceVarianceRow {
    fn from(v: PriceVariance) -> Self {
        PriceVarianceRow {
            product_id: ID(v.product_id.to_string()),
            name: v.name,
            supplier_id: ID(v.supplier_id.to_string()),
            units: v.units,
            average_paid: v.average_paid.into(),
            current_price: v.current_price.into(),
            variance: v.variance.into(),
            variance_percent: v.variance_percent.map(ExactDecimal),
        }
    }
}

/// How long an item's stock lasts, and how often it ran out in the period.
#[derive(SimpleObject)]
pub struct ItemCoverRow {
    /// The inventory item.
    item_id: ID,
    /// Its name.
    name: String,
    /// Its product, if any.
    product_id: Option<ID>,
    /// What the ledger holds now.
    on_hand: ExactDecimal,
    /// Mean daily demand over the next 7 forecast days.
    daily_demand: Option<ExactDecimal>,
    /// On-hand over daily demand; null without a forecast or demand.
    days_of_cover: Option<ExactDecimal>,
    /// Days in the period that closed at zero or less.
    stock_out_days: i64,
    /// Nothing on hand now.
    out_of_stock: bool,
}

impl From<ItemCover> for ItemCoverRow {
    fn from(c: ItemCover) -> Self {
        ItemCoverRow {
            item_id: ID(c.item_id.to_string()),
            name: c.name,
            product_id: c.product_id.map(|p| ID(p.to_string())),
            on_hand: ExactDecimal(c.on_hand),
            daily_demand: c.daily_demand.map(ExactDecimal),
            days_of_cover: c.days_of_cover.map(ExactDecimal),
            stock_out_days: c.stock_out_days,
            out_of_stock: c.out_of_stock,
        }
    }
}

/// A forecast's measured accuracy.
#[derive(SimpleObject)]
pub struct ForecastAccuracyRow {
    /// The product.
    product_id: ID,
    /// Its name.
    product_name: Option<String>,
    /// MSTL_ETS, SEASONAL_NAIVE or MEAN.
    model: String,
    /// Backtest sMAPE (%) over the last 28 days.
    smape: Option<f64>,
    /// Mean absolute scaled error (below 1 beats in-sample seasonal-naive).
    mase: Option<f64>,
    /// Seasonal-naive's sMAPE on the same days.
    seasonal_naive_smape: Option<f64>,
    /// When the forecast was made (UTC).
    generated_at: DateTime<Utc>,
}

impl From<SeriesAccuracy> for ForecastAccuracyRow {
    fn from(a: SeriesAccuracy) -> Self {
        ForecastAccuracyRow {
            product_id: ID(a.product_id.to_string()),
            product_name: a.product_name,
            model: a.model.to_owned(),
            smape: a.smape,
            mase: a.mase,
            seasonal_naive_smape: a.naive_smape,
            generated_at: a.generated_at,
        }
    }
}

/// A restaurant's figures over a period.
pub struct RestaurantAnalytics {
    restaurant: Uuid,
    period: Period,
}

/// A restaurant's figures over a period (its members and admins).
#[Object]
impl RestaurantAnalytics {
    /// The restaurant.
    async fn restaurant_id(&self) -> ID {
        ID(self.restaurant.to_string())
    }

    /// Start of the period (UTC, inclusive).
    async fn from(&self) -> DateTime<Utc> {
        self.period.from
    }

    /// End of the period (UTC, exclusive).
    async fn to(&self) -> DateTime<Utc> {
        self.period.to
    }

    /// What it spent, broken down by the dimensions given (none: one total per currency).
    async fn spend(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Break down by these, in any order (none: one total per currency).")]
        by: Option<Vec<SpendDimension>>,
    ) -> async_graphql::Result<Vec<AmountRow>> {
        let by: Vec<Dimension> = by
            .unwrap_or_default()
            .into_iter()
            .map(|d| match d {
                SpendDimension::Supplier => Dimension::Party,
                SpendDimension::Category => Dimension::Category,
                SpendDimension::Month => Dimension::Month,
            })
            .collect();
        let rows = services(ctx)?
            .analytics
            .spend(caller(ctx), self.restaurant, self.period, &by)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// What it paid per product against the list price now, largest change first.
    async fn price_variance(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<PriceVarianceRow>> {
        let rows = services(ctx)?
            .analytics
            .price_variance(caller(ctx), self.restaurant, self.period)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Days of cover now and stock-out days in the period, per inventory item.
    async fn cover(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ItemCoverRow>> {
        let rows = services(ctx)?
            .analytics
            .cover(caller(ctx), self.restaurant, self.period)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Its forecasts' measured accuracy, least accurate first.
    async fn forecast_accuracy(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ForecastAccuracyRow>> {
        let rows = services(ctx)?
            .analytics
            .forecast_accuracy(caller(ctx), Scope::Restaurant, self.restaurant)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

/// A supplier's figures over a period.
pub struct SupplierAnalytics {
    supplier: Uuid,
    period: Period,
}

/// A supplier's figures over a period (its members and admins).
#[Object]
impl SupplierAnalytics {
    /// The supplier.
    async fn supplier_id(&self) -> ID {
        ID(self.supplier.to_string())
    }

    /// Start of the period (UTC, inclusive).
    async fn from(&self) -> DateTime<Utc> {
        self.period.from
    }

    /// End of the period (UTC, exclusive).
    async fn to(&self) -> DateTime<Utc> {
        self.period.to
    }

    /// What it sold, broken down by the dimensions given (none: one total per currency).
    async fn sales(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Break down by these, in any order (none: one total per currency).")]
        by: Option<Vec<SalesDimension>>,
    ) -> async_graphql::Result<Vec<AmountRow>> {
        let by: Vec<Dimension> = by
            .unwrap_or_default()
            .into_iter()
            .map(|d| match d {
                SalesDimension::Restaurant => Dimension::Party,
                SalesDimension::Category => Dimension::Category,
                SalesDimension::Month => Dimension::Month,
            })
            .collect();
        let rows = services(ctx)?
            .analytics
            .sales(caller(ctx), self.supplier, self.period, &by)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Its forecasts' measured accuracy (all restaurants' orders of each product).
    async fn forecast_accuracy(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ForecastAccuracyRow>> {
        let rows = services(ctx)?
            .analytics
            .forecast_accuracy(caller(ctx), Scope::Supplier, self.supplier)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct AnalyticsQuery;

#[Object]
impl AnalyticsQuery {
    /// A restaurant's figures over `[from, to)` (the last 365 days by default; at most five
    /// years). Its members and admins.
    async fn restaurant_analytics(
        &self,
        #[graphql(desc = "The restaurant.")] restaurant_id: ID,
        #[graphql(desc = "Start (UTC, inclusive; 365 days before `to` by default).")] from: Option<
            DateTime<Utc>,
        >,
        #[graphql(desc = "End (UTC, exclusive; now by default).")] to: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<RestaurantAnalytics> {
        Ok(RestaurantAnalytics {
            restaurant: parse_id("restaurantId", &restaurant_id)?,
            period: analytics::period(from, to)?,
        })
    }

    /// A supplier's figures over `[from, to)` (the last 365 days by default; at most five
    /// years). Its members and admins.
    async fn supplier_analytics(
        &self,
        #[graphql(desc = "The supplier.")] supplier_id: ID,
        #[graphql(desc = "Start (UTC, inclusive; 365 days before `to` by default).")] from: Option<
            DateTime<Utc>,
        >,
        #[graphql(desc = "End (UTC, exclusive; now by default).")] to: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<SupplierAnalytics> {
        Ok(SupplierAnalytics {
            supplier: parse_id("supplierId", &supplier_id)?,
            period: analytics::period(from, to)?,
        })
    }
}
