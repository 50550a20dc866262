//! Storage of supplier performance: the order history its counts are computed from, and the
//! stored counts (`supplier_metrics`, one row per supplier).

use chrono::{DateTime, Utc};
use entity::{order_events, order_lines, orders, supplier_metrics, suppliers};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::OnConflict,
};
use uuid::Uuid;

use super::{OrderHistory, PastOrder, Performance, SupplierCounts, statuses_past_placement};
use crate::{domain::ordering::OrderStatus, error::AppError};

fn to_counts(m: supplier_metrics::Model) -> SupplierCounts {
    SupplierCounts {
        supplier_id: m.supplier_id,
        delivered_orders: m.delivered_orders,
        on_time_orders: m.on_time_orders,
        ordered_units: m.ordered_units,
        delivered_units: m.delivered_units,
        confirmed_orders: m.confirmed_orders,
        confirmation_seconds: m.confirmation_seconds,
        computed_at: m.computed_at,
    }
}

/// The supplier's live orders past placement, when each first reached CONFIRMED and DELIVERED,
/// and their units (read in batches of 1000 orders).
pub(super) async fn load_order_history(
    db: &impl ConnectionTrait,
    supplier: Uuid,
) -> Result<OrderHistory, AppError> {
    let rows: Vec<(Uuid, String, chrono::NaiveDate, DateTime<Utc>)> = orders::Entity::find()
        .select_only()
        .column(orders::Column::Id)
        .column(orders::Column::Status)
        .column(orders::Column::RequestedDeliveryDate)
        .column(orders::Column::CreatedAt)
        .filter(orders::Column::SupplierId.eq(supplier))
        .filter(orders::Column::DeletedAt.is_null())
        .filter(orders::Column::Status.is_in(statuses_past_placement()))
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let mut history = OrderHistory::default();
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
            history
                .first_reached
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
            *history.units.entry(order).or_default() += quantity;
        }
    }
    history.orders = rows
        .into_iter()
        .map(
            |(id, status, requested_delivery_date, placed_at)| PastOrder {
                id,
                status,
                requested_delivery_date,
                placed_at,
            },
        )
        .collect();
    Ok(history)
}

/// Stores the supplier's counts, replacing any it had.
pub(super) async fn upsert_counts(
    db: &impl ConnectionTrait,
    m: &SupplierCounts,
) -> Result<(), AppError> {
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

/// The performance of those of these suppliers that have counts stored.
pub(super) async fn find_performance_of_suppliers(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Performance>, AppError> {
    Ok(supplier_metrics::Entity::find()
        .filter(supplier_metrics::Column::SupplierId.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| to_counts(m).performance())
        .collect())
}

/// Ids of every live supplier.
pub(super) async fn find_live_supplier_ids(
    db: &impl ConnectionTrait,
) -> Result<Vec<Uuid>, AppError> {
    Ok(suppliers::Entity::find()
        .select_only()
        .column(suppliers::Column::Id)
        .filter(suppliers::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?)
}
