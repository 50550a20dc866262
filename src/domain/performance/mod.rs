//! Supplier performance: on-time rate, fill rate and average confirmation time, computed from
//! order history.
//!
//! - **On-time rate:** delivered orders marked delivered on or before their requested delivery
//!   date (UTC), over all delivered orders.
//! - **Fill rate:** units of delivered orders over units of orders that ended with the supplier
//!   — delivered or rejected. Cancellations are the restaurant's doing and do not count.
//! - **Average confirmation time:** mean time from placement to confirmation, over confirmed
//!   orders (those confirmed at some point, whatever came later).
//!
//! Rebuilt for one supplier whenever one of its orders changes status (outbox handler) and for
//! every supplier by the nightly `rebuild-supplier-metrics` job.

use crate::infra::db::Db;
use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use entity::{order_events, order_lines, orders, supplier_metrics, suppliers};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, sea_query::OnConflict,
};
use uuid::Uuid;

use crate::{
    domain::{
        ordering::OrderStatus,
        platform::outbox::{OutboxEvent, OutboxHandler},
    },
    error::AppError,
};

/// A supplier's performance, as the API shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Performance {
    pub supplier_id: Uuid,
    pub delivered_orders: i64,
    /// `None` before the first delivery.
    pub on_time_rate: Option<Decimal>,
    /// `None` before the first delivered or rejected order.
    pub fill_rate: Option<Decimal>,
    /// `None` before the first confirmation.
    pub average_confirmation_seconds: Option<i64>,
    pub computed_at: DateTime<Utc>,
}

fn ratio(part: i64, whole: i64) -> Option<Decimal> {
    (whole > 0).then(|| {
        (Decimal::from(part) / Decimal::from(whole))
            .round_dp(4)
            .normalize()
    })
}

fn to_domain(m: supplier_metrics::Model) -> Performance {
    Performance {
        supplier_id: m.supplier_id,
        delivered_orders: m.delivered_orders,
        on_time_rate: ratio(m.on_time_orders, m.delivered_orders),
        fill_rate: ratio(m.delivered_units, m.ordered_units),
        average_confirmation_seconds: (m.confirmed_orders > 0)
            .then(|| m.confirmation_seconds / m.confirmed_orders),
        computed_at: m.computed_at,
    }
}

/// Recomputes one supplier's counts from its orders and stores them.
pub(crate) async fn rebuild(db: &impl ConnectionTrait, supplier: Uuid) -> Result<(), AppError> {
    // Every status an order can have after a confirmation (or a rejection).
    let ended = [
        OrderStatus::Delivered.as_str(),
        OrderStatus::Rejected.as_str(),
        OrderStatus::Confirmed.as_str(),
        OrderStatus::Shipped.as_str(),
        OrderStatus::Cancelled.as_str(),
    ];
    let rows: Vec<(Uuid, String, chrono::NaiveDate, DateTime<Utc>)> = orders::Entity::find()
        .select_only()
        .column(orders::Column::Id)
        .column(orders::Column::Status)
        .column(orders::Column::RequestedDeliveryDate)
        .column(orders::Column::CreatedAt)
        .filter(orders::Column::SupplierId.eq(supplier))
        .filter(orders::Column::DeletedAt.is_null())
        .filter(orders::Column::Status.is_in(ended))
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let mut events: HashMap<(Uuid, String), DateTime<Utc>> = HashMap::new();
    let mut units: HashMap<Uuid, i64> = HashMap::new();
    for chunk in ids.chunks(1000) {
        for (order, to, at) in order_events::Entity::find()
            .select_only()
            .column(order_events::Column::OrderId)
            .column(order_events::Column::ToStatus)
            .column(order_events::Column::At)
            .filter(order_events::Column::OrderId.is_in(chunk.to_vec()))
            .filter(order_events::Column::ToStatus.is_in([
                OrderStatus::Confirmed.as_str(),
                OrderStatus::Delivered.as_str(),
            ]))
            .into_tuple::<(Uuid, String, DateTime<Utc>)>()
            .all(db)
            .await?
        {
            // The first time it got there counts.
            events
                .entry((order, to))
                .and_modify(|first| *first = (*first).min(at))
                .or_insert(at);
        }
        for (order, quantity) in order_lines::Entity::find()
            .select_only()
            .column(order_lines::Column::OrderId)
            .column(order_lines::Column::Quantity)
            .filter(order_lines::Column::OrderId.is_in(chunk.to_vec()))
            .into_tuple::<(Uuid, i64)>()
            .all(db)
            .await?
        {
            *units.entry(order).or_default() += quantity;
        }
    }
    let mut m = supplier_metrics::Model {
        supplier_id: supplier,
        delivered_orders: 0,
        on_time_orders: 0,
        ordered_units: 0,
        delivered_units: 0,
        confirmed_orders: 0,
        confirmation_seconds: 0,
        computed_at: Utc::now(),
    };
    for (id, status, requested, placed_at) in &rows {
        let order_units = units.get(id).copied().unwrap_or(0);
        if status == OrderStatus::Delivered.as_str() {
            m.delivered_orders += 1;
            m.delivered_units += order_units;
            m.ordered_units += order_units;
            let delivered_at = events.get(&(*id, OrderStatus::Delivered.as_str().to_owned()));
            if delivered_at.is_some_and(|at| at.date_naive() <= *requested) {
                m.on_time_orders += 1;
            }
        } else if status == OrderStatus::Rejected.as_str() {
            m.ordered_units += order_units;
        }
        if let Some(confirmed_at) = events.get(&(*id, OrderStatus::Confirmed.as_str().to_owned())) {
            m.confirmed_orders += 1;
            m.confirmation_seconds += (*confirmed_at - *placed_at).num_seconds().max(0);
        }
    }
    supplier_metrics::Entity::insert(supplier_metrics::ActiveModel {
        supplier_id: Set(m.supplier_id),
        delivered_orders: Set(m.delivered_orders),
        on_time_orders: Set(m.on_time_orders),
        ordered_units: Set(m.ordered_units),
        delivered_units: Set(m.delivered_units),
        confirmed_orders: Set(m.confirmed_orders),
        confirmation_seconds: Set(m.confirmation_seconds),
        computed_at: Set(m.computed_at),
    })
    .on_conflict(
        OnConflict::column(supplier_metrics::Column::SupplierId)
            .update_columns([
                supplier_metrics::Column::DeliveredOrders,
                supplier_metrics::Column::OnTimeOrders,
                supplier_metrics::Column::OrderedUnits,
                supplier_metrics::Column::DeliveredUnits,
                supplier_metrics::Column::ConfirmedOrders,
                supplier_metrics::Column::ConfirmationSeconds,
                supplier_metrics::Column::ComputedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

#[derive(Clone)]
pub struct PerformanceService {
    db: Db,
}

impl PerformanceService {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Performance of suppliers by id (those with none computed yet are absent).
    pub async fn by_suppliers(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Performance>, AppError> {
        Ok(supplier_metrics::Entity::find()
            .filter(supplier_metrics::Column::SupplierId.is_in(ids.to_vec()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.supplier_id, to_domain(m)))
            .collect())
    }

    /// Rebuilds every live supplier's metrics, reporting how many are done after each batch.
    pub async fn rebuild_all<F, Fut>(&self, mut progress: F) -> Result<u64, AppError>
    where
        F: FnMut(u64, u64) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let ids: Vec<Uuid> = suppliers::Entity::find()
            .select_only()
            .column(suppliers::Column::Id)
            .filter(suppliers::Column::DeletedAt.is_null())
            .into_tuple()
            .all(&self.db)
            .await?;
        let total = ids.len() as u64;
        for (i, id) in ids.iter().enumerate() {
            rebuild(&self.db, *id).await?;
            if (i + 1) % 20 == 0 {
                progress(i as u64 + 1, total).await;
            }
        }
        Ok(total)
    }
}

/// Rebuilds a supplier's metrics when one of its orders changes status.
pub struct PerformanceUpdater;

#[async_trait]
impl OutboxHandler for PerformanceUpdater {
    fn name(&self) -> &'static str {
        "supplier-metrics"
    }

    async fn handle(&self, txn: &DatabaseTransaction, event: &OutboxEvent) -> Result<(), AppError> {
        if event.aggregate_type != "order"
            || event.event_type == crate::domain::platform::outbox::ORDER_PLACED
        {
            return Ok(());
        }
        let Some(supplier) = event.payload["order"]["supplierId"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            return Ok(());
        };
        rebuild(txn, supplier).await
    }
}
