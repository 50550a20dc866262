//! Storage of inventory: items (soft-deleted), the movement ledger (insert only), on-hand as
//! sums over it. Quantities are thousandths of the item's unit in `BIGINT`. Reads
//! `restaurants` (whether one is live) read-only; that context exports no such query yet.

use chrono::{DateTime, Utc};
use entity::{inventory_items, inventory_movements, restaurants};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use std::collections::HashMap;
use uuid::Uuid;

use super::{DeliveredLine, InventoryItem, Movement, MovementKind, from_milli};
use crate::error::{AppError, DbResultExt as _};

fn to_item(m: inventory_items::Model, on_hand_milli: i64) -> InventoryItem {
    InventoryItem {
        id: m.id,
        restaurant_id: m.restaurant_id,
        product_id: m.product_id,
        name: m.name,
        unit: m.unit,
        pack_size: from_milli(m.pack_size_milli),
        location: m.location,
        par_level: m.par_level_milli.map(from_milli),
        target_level: m.target_level_milli.map(from_milli),
        active: m.active,
        on_hand: from_milli(on_hand_milli),
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn to_movement(m: inventory_movements::Model) -> Movement {
    Movement {
        id: m.id,
        item_id: m.item_id,
        kind: MovementKind::of_stored(&m.kind),
        quantity: from_milli(m.quantity_milli),
        counted: m.counted_milli.map(from_milli),
        reason: m.reason,
        order_id: m.order_id,
        transfer_id: m.transfer_id,
        occurred_at: m.occurred_at,
        recorded_by: m.recorded_by,
    }
}

pub(super) async fn restaurant_is_live(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
) -> Result<bool, AppError> {
    Ok(restaurants::Entity::find_by_id(restaurant)
        .filter(restaurants::Column::DeletedAt.is_null())
        .count(db)
        .await?
        > 0)
}

/// Each item's on-hand: the sum of its movements up to `as_of`.
async fn on_hand_of(
    db: &impl ConnectionTrait,
    items: Vec<Uuid>,
    as_of: DateTime<Utc>,
) -> Result<HashMap<Uuid, i64>, AppError> {
    if items.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, Option<i64>)> = inventory_movements::Entity::find()
        .select_only()
        .column(inventory_movements::Column::ItemId)
        .column_as(Expr::cust("CAST(SUM(quantity_milli) AS BIGINT)"), "on_hand")
        .filter(inventory_movements::Column::ItemId.is_in(items))
        .filter(inventory_movements::Column::OccurredAt.lte(as_of))
        .group_by(inventory_movements::Column::ItemId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(item, sum)| (item, sum.unwrap_or(0)))
        .collect())
}

/// The restaurant's live items with their on-hand as of `as_of`, by name.
pub(super) async fn items_of(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
    as_of: DateTime<Utc>,
) -> Result<Vec<InventoryItem>, AppError> {
    let items = inventory_items::Entity::find()
        .filter(inventory_items::Column::RestaurantId.eq(restaurant))
        .filter(inventory_items::Column::DeletedAt.is_null())
        .order_by_asc(inventory_items::Column::Name)
        .order_by_asc(inventory_items::Column::Id)
        .all(db)
        .await?;
    let on_hand = on_hand_of(db, items.iter().map(|i| i.id).collect(), as_of).await?;
    Ok(items
        .into_iter()
        .map(|m| {
            let held = on_hand.get(&m.id).copied().unwrap_or(0);
            to_item(m, held)
        })
        .collect())
}

/// A live item with its on-hand as of `as_of`.
pub(super) async fn find_live_item(
    db: &impl ConnectionTrait,
    id: Uuid,
    as_of: DateTime<Utc>,
) -> Result<Option<InventoryItem>, AppError> {
    let Some(model) = inventory_items::Entity::find_by_id(id)
        .filter(inventory_items::Column::DeletedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let held = on_hand_of(db, vec![id], as_of)
        .await?
        .get(&id)
        .copied()
        .unwrap_or(0);
    Ok(Some(to_item(model, held)))
}

/// The restaurant's live item of `product`, if it keeps one.
pub(super) async fn live_item_of_product(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
    product: Uuid,
) -> Result<Option<inventory_items::Model>, AppError> {
    Ok(inventory_items::Entity::find()
        .filter(inventory_items::Column::RestaurantId.eq(restaurant))
        .filter(inventory_items::Column::ProductId.eq(product))
        .filter(inventory_items::Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

/// A new item's row.
pub(super) struct ItemRow<'a> {
    pub id: Uuid,
    pub restaurant: Uuid,
    pub product: Option<Uuid>,
    pub name: &'a str,
    pub unit: &'a str,
    pub pack_size_milli: i64,
    pub location: Option<&'a str>,
    pub par_level_milli: Option<i64>,
    pub target_level_milli: Option<i64>,
}

pub(super) async fn insert_item(
    db: &impl ConnectionTrait,
    row: ItemRow<'_>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    inventory_items::Entity::insert(inventory_items::ActiveModel {
        id: Set(row.id),
        restaurant_id: Set(row.restaurant),
        product_id: Set(row.product),
        name: Set(row.name.to_owned()),
        unit: Set(row.unit.to_owned()),
        pack_size_milli: Set(row.pack_size_milli),
        location: Set(row.location.map(str::to_owned)),
        par_level_milli: Set(row.par_level_milli),
        target_level_milli: Set(row.target_level_milli),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_without_returning(db)
    .await
    .on_unique_violation(|| {
        AppError::Conflict("productId: the restaurant keeps an item of this product already".into())
    })?;
    Ok(())
}

/// Changes of an item's row; `None` leaves a column as it is.
#[derive(Default)]
pub(super) struct ItemUpdate {
    pub name: Option<String>,
    pub pack_size_milli: Option<i64>,
    pub location: Option<String>,
    pub par_level_milli: Option<i64>,
    pub target_level_milli: Option<i64>,
    pub active: Option<bool>,
}

pub(super) async fn update_item(
    db: &impl ConnectionTrait,
    id: Uuid,
    changes: ItemUpdate,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut update = inventory_items::Entity::update_many()
        .col_expr(inventory_items::Column::UpdatedAt, Expr::value(now))
        .filter(inventory_items::Column::Id.eq(id));
    if let Some(name) = changes.name {
        update = update.col_expr(inventory_items::Column::Name, Expr::value(name));
    }
    if let Some(pack) = changes.pack_size_milli {
        update = update.col_expr(inventory_items::Column::PackSizeMilli, Expr::value(pack));
    }
    if let Some(location) = changes.location {
        update = update.col_expr(inventory_items::Column::Location, Expr::value(location));
    }
    if let Some(par) = changes.par_level_milli {
        update = update.col_expr(inventory_items::Column::ParLevelMilli, Expr::value(par));
    }
    if let Some(target) = changes.target_level_milli {
        update = update.col_expr(
            inventory_items::Column::TargetLevelMilli,
            Expr::value(target),
        );
    }
    if let Some(active) = changes.active {
        update = update.col_expr(inventory_items::Column::Active, Expr::value(active));
    }
    update.exec(db).await?;
    Ok(())
}

pub(super) async fn soft_delete_item(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    inventory_items::Entity::update_many()
        .col_expr(inventory_items::Column::DeletedAt, Expr::value(now))
        .col_expr(inventory_items::Column::Active, Expr::value(false))
        .col_expr(inventory_items::Column::UpdatedAt, Expr::value(now))
        .filter(inventory_items::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A ledger entry's row.
pub(super) struct MovementRow {
    pub item: Uuid,
    pub restaurant: Uuid,
    pub kind: MovementKind,
    pub quantity_milli: i64,
    pub counted_milli: Option<i64>,
    pub reason: Option<String>,
    pub transfer: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_by: Option<Uuid>,
}

fn movement_model(
    id: Uuid,
    row: MovementRow,
    now: DateTime<Utc>,
) -> inventory_movements::ActiveModel {
    inventory_movements::ActiveModel {
        id: Set(id),
        item_id: Set(row.item),
        restaurant_id: Set(row.restaurant),
        kind: Set(row.kind.as_str().to_owned()),
        quantity_milli: Set(row.quantity_milli),
        counted_milli: Set(row.counted_milli),
        reason: Set(row.reason),
        order_id: Set(None),
        order_line_number: Set(None),
        transfer_id: Set(row.transfer),
        occurred_at: Set(row.occurred_at),
        recorded_by: Set(row.recorded_by),
        created_at: Set(now),
    }
}

pub(super) async fn insert_movement(
    db: &impl ConnectionTrait,
    row: MovementRow,
    now: DateTime<Utc>,
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    inventory_movements::Entity::insert(movement_model(id, row, now))
        .exec_without_returning(db)
        .await?;
    Ok(id)
}

/// Many movements at once (an imported history), in batches.
pub(super) async fn insert_movements(
    db: &impl ConnectionTrait,
    rows: Vec<MovementRow>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let models: Vec<inventory_movements::ActiveModel> = rows
        .into_iter()
        .map(|row| movement_model(Uuid::now_v7(), row, now))
        .collect();
    // 13 parameters a row: 500 rows stay below either backend's parameter limit.
    for batch in models.chunks(500) {
        inventory_movements::Entity::insert_many(batch.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// An item's movements, newest first (at most `limit`).
pub(super) async fn movements_of(
    db: &impl ConnectionTrait,
    item: Uuid,
    limit: u64,
) -> Result<Vec<Movement>, AppError> {
    Ok(inventory_movements::Entity::find()
        .filter(inventory_movements::Column::ItemId.eq(item))
        .order_by_desc(inventory_movements::Column::OccurredAt)
        .order_by_desc(inventory_movements::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(to_movement)
        .collect())
}

/// The restaurant's item of `product`, created with this name and unit when it keeps none.
pub(super) async fn item_for_product(
    db: &impl ConnectionTrait,
    restaurant: Uuid,
    product: Uuid,
    (name, unit): (&str, &str),
    at: DateTime<Utc>,
) -> Result<Uuid, AppError> {
    if let Some(item) = live_item_of_product(db, restaurant, product).await? {
        return Ok(item.id);
    }
    let id = Uuid::now_v7();
    insert_item(
        db,
        ItemRow {
            id,
            restaurant,
            product: Some(product),
            name,
            unit,
            pack_size_milli: 1000,
            location: None,
            par_level_milli: None,
            target_level_milli: None,
        },
        at,
    )
    .await?;
    Ok(id)
}

/// One RECEIPT for a delivered line, unless that line was received already.
pub(super) async fn insert_receipt(
    db: &impl ConnectionTrait,
    item: Uuid,
    restaurant: Uuid,
    order: Uuid,
    line: &DeliveredLine,
    at: DateTime<Utc>,
    recorded_by: Option<Uuid>,
) -> Result<(), AppError> {
    let received = inventory_movements::Entity::find()
        .filter(inventory_movements::Column::OrderId.eq(order))
        .filter(inventory_movements::Column::OrderLineNumber.eq(line.line_number))
        .count(db)
        .await?;
    if received > 0 {
        return Ok(());
    }
    inventory_movements::Entity::insert(inventory_movements::ActiveModel {
        id: Set(Uuid::now_v7()),
        item_id: Set(item),
        restaurant_id: Set(restaurant),
        kind: Set(MovementKind::Receipt.as_str().to_owned()),
        quantity_milli: Set(line.quantity.saturating_mul(1000)),
        counted_milli: Set(None),
        reason: Set(None),
        order_id: Set(Some(order)),
        order_line_number: Set(Some(line.line_number)),
        transfer_id: Set(None),
        occurred_at: Set(at),
        recorded_by: Set(recorded_by),
        created_at: Set(at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}
