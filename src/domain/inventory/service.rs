//! The inventory service: items and their ledger, for a restaurant's members and admins.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use super::{
    InventoryItem, ItemChanges, Movement, MovementKind, NewItem, Outflow, PastMovement,
    repository::{self, ItemRow, ItemUpdate, MovementRow},
};
use crate::{
    auth::{Caller, Principal},
    domain::{
        catalog::{self, Unit},
        kernel::{
            money,
            validation::{self, Violations},
        },
        platform::audit::{self, AuditEntry},
    },
    error::AppError,
    infra::db::{Db, begin_write},
};

/// How far ahead of the server's clock a movement's time may be (clients' clocks drift).
const CLOCK_SKEW: Duration = Duration::minutes(5);
/// Movements one `movements` call returns at most.
pub const MAX_MOVEMENTS: u64 = 500;

/// A restaurant's members and admins keep its inventory.
fn authorize(caller: &Caller, restaurant: Uuid) -> Result<(), AppError> {
    match &caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated(
            "sign in to keep an inventory".into(),
        )),
        p if p.is_admin() || p.restaurant_role(restaurant).is_some() => Ok(()),
        _ => Err(AppError::Forbidden(
            "only the restaurant's members and admins keep its inventory".into(),
        )),
    }
}

/// A quantity in thousandths: exact, at most 3 decimals, `min` or more.
fn quantity(field: &str, value: Decimal, positive: bool, v: &mut Violations) -> Option<i64> {
    let milli = v.check(field, money::to_milli(value).map_err(|e| e.rule()))?;
    match (positive, milli) {
        (true, m) if m <= 0 => v.check(field, Err::<i64, _>("must be more than 0".into())),
        (false, m) if m < 0 => v.check(field, Err::<i64, _>("must not be negative".into())),
        (_, m) => Some(m),
    }
}

/// When a movement happened (`field`: now by default; not in the future).
fn when(
    field: &str,
    raw: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    v: &mut Violations,
) -> Option<DateTime<Utc>> {
    match raw {
        Some(at) if at > now + CLOCK_SKEW => v.check(
            field,
            Err::<DateTime<Utc>, _>("must not be in the future".into()),
        ),
        Some(at) => Some(at),
        None => Some(now),
    }
}

#[derive(Clone)]
pub struct InventoryService {
    db: Db,
}

impl InventoryService {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// A live item the caller may keep (NOT_FOUND for others', so they do not exist).
    async fn kept(&self, caller: &Caller, id: Uuid) -> Result<InventoryItem, AppError> {
        let item = repository::find_live_item(&self.db, id, Utc::now())
            .await?
            .ok_or_else(|| AppError::not_found("Inventory item", id))?;
        match authorize(caller, item.restaurant_id) {
            Ok(()) => Ok(item),
            Err(AppError::Forbidden(_)) => Err(AppError::not_found("Inventory item", id)),
            Err(other) => Err(other),
        }
    }

    /// A live item the caller keeps (NOT_FOUND for others' items).
    pub async fn item(&self, caller: &Caller, id: Uuid) -> Result<InventoryItem, AppError> {
        self.kept(caller, id).await
    }

    /// That `item` is a live item of `restaurant` the caller keeps (NOT_FOUND otherwise): for
    /// addresses that name both.
    pub async fn check_item_of(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        item: Uuid,
    ) -> Result<(), AppError> {
        authorize(caller, restaurant)?;
        match self.kept(caller, item).await? {
            found if found.restaurant_id == restaurant => Ok(()),
            _ => Err(AppError::not_found("Inventory item", item)),
        }
    }

    /// The restaurant's items with their on-hand as of `as_of` (now by default), by name.
    pub async fn items(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<InventoryItem>, AppError> {
        authorize(caller, restaurant)?;
        repository::items_of(&self.db, restaurant, as_of.unwrap_or_else(Utc::now)).await
    }

    /// An item's ledger, newest first: `limit` (1–500) movements.
    pub async fn movements(
        &self,
        caller: &Caller,
        item: Uuid,
        limit: i64,
    ) -> Result<Vec<Movement>, AppError> {
        self.kept(caller, item).await?;
        let limit = u64::try_from(limit)
            .ok()
            .filter(|l| (1..=MAX_MOVEMENTS).contains(l))
            .ok_or_else(|| {
                AppError::validation("limit", format!("must be between 1 and {MAX_MOVEMENTS}"))
            })?;
        repository::movements_of(&self.db, item, limit).await
    }

    /// Adds an item: a product (one item per product; name and unit default to the
    /// product's) or a free-text item (name and unit required).
    #[tracing::instrument(skip_all, fields(caller = %caller, restaurant = %restaurant))]
    pub async fn create_item(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        input: NewItem,
    ) -> Result<InventoryItem, AppError> {
        authorize(caller, restaurant)?;
        let product = match input.product_id {
            Some(id) => Some(
                catalog::find_live(&self.db, id)
                    .await?
                    .ok_or_else(|| AppError::not_found("Product", id))?,
            ),
            None => None,
        };
        let mut v = Violations::default();
        let name = match (input.name.as_deref(), &product) {
            (Some(name), _) => v.check("name", validation::text(name, 200)),
            (None, Some(p)) => Some(p.name.clone()),
            (None, None) => v.check(
                "name",
                Err::<String, _>("is required for an item that is not a product".into()),
            ),
        };
        let unit = match (input.unit.as_deref(), &product) {
            (Some(unit), _) => v.check(
                "unit",
                Unit::parse(unit)
                    .map(|u| u.as_str().to_owned())
                    .ok_or_else(|| "must be KG, G, L, CL, PIECE, PACK, BOX or CASE".to_owned()),
            ),
            (None, Some(p)) => Some(p.unit.clone()),
            (None, None) => v.check(
                "unit",
                Err::<String, _>("is required for an item that is not a product".into()),
            ),
        };
        let pack = match input.pack_size {
            Some(size) => quantity("packSize", size, true, &mut v),
            None => Some(1000),
        };
        let location = match input.location.as_deref() {
            Some(l) if !l.trim().is_empty() => {
                v.check("location", validation::text(l, 100)).map(Some)
            }
            _ => Some(None),
        };
        let par = input
            .par_level
            .map(|q| quantity("parLevel", q, false, &mut v));
        let target = input
            .target_level
            .map(|q| quantity("targetLevel", q, false, &mut v));
        v.finish()?;
        let (Some(name), Some(unit), Some(pack), Some(location)) = (name, unit, pack, location)
        else {
            return Err(anyhow::anyhow!("validated fields missing").into());
        };
        let (par, target) = (par.flatten(), target.flatten());
        if let (Some(par), Some(target)) = (par, target)
            && target < par
        {
            return Err(AppError::validation(
                "targetLevel",
                "must not be below parLevel",
            ));
        }
        let now = Utc::now();
        let id = Uuid::now_v7();
        let txn = begin_write(&self.db).await?;
        if !repository::restaurant_is_live(&txn, restaurant).await? {
            return Err(AppError::not_found("Restaurant", restaurant));
        }
        repository::insert_item(
            &txn,
            ItemRow {
                id,
                restaurant,
                product: input.product_id,
                name: &name,
                unit: &unit,
                pack_size_milli: pack,
                location: location.as_deref(),
                par_level_milli: par,
                target_level_milli: target,
            },
            now,
        )
        .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "inventory.item_create",
                entity: "inventory_item",
                entity_id: Some(id.to_string()),
                before: None,
                after: Some(
                    json!({ "restaurant": restaurant, "name": name, "product": input.product_id }),
                ),
            },
        )
        .await?;
        txn.commit().await?;
        self.kept(caller, id).await
    }

    /// Changes an item's name, pack size, location, levels or whether it is active.
    #[tracing::instrument(skip_all, fields(caller = %caller, item = %id))]
    pub async fn update_item(
        &self,
        caller: &Caller,
        id: Uuid,
        changes: ItemChanges,
    ) -> Result<InventoryItem, AppError> {
        let item = self.kept(caller, id).await?;
        let mut v = Violations::default();
        let mut update = ItemUpdate {
            active: changes.active,
            ..ItemUpdate::default()
        };
        if let Some(name) = changes.name.as_deref() {
            update.name = v.check("name", validation::text(name, 200));
        }
        if let Some(size) = changes.pack_size {
            update.pack_size_milli = quantity("packSize", size, true, &mut v);
        }
        if let Some(location) = changes.location.as_deref() {
            update.location = v.check("location", validation::text(location, 100));
        }
        if let Some(par) = changes.par_level {
            update.par_level_milli = quantity("parLevel", par, false, &mut v);
        }
        if let Some(target) = changes.target_level {
            update.target_level_milli = quantity("targetLevel", target, false, &mut v);
        }
        v.finish()?;
        let par = update
            .par_level_milli
            .or(item.par_level.and_then(|p| money::to_milli(p).ok()));
        let target = update
            .target_level_milli
            .or(item.target_level.and_then(|t| money::to_milli(t).ok()));
        if let (Some(par), Some(target)) = (par, target)
            && target < par
        {
            return Err(AppError::validation(
                "targetLevel",
                "must not be below parLevel",
            ));
        }
        let txn = begin_write(&self.db).await?;
        repository::update_item(&txn, id, update, Utc::now()).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "inventory.item_update",
                entity: "inventory_item",
                entity_id: Some(id.to_string()),
                before: Some(json!({ "name": item.name, "active": item.active })),
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        self.kept(caller, id).await
    }

    /// Removes an item (soft: its ledger stays).
    pub async fn delete_item(&self, caller: &Caller, id: Uuid) -> Result<(), AppError> {
        let item = self.kept(caller, id).await?;
        let txn = begin_write(&self.db).await?;
        repository::soft_delete_item(&txn, id, Utc::now()).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "inventory.item_delete",
                entity: "inventory_item",
                entity_id: Some(id.to_string()),
                before: Some(json!({ "name": item.name })),
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Records stock used or wasted (waste needs a reason); on-hand drops by the quantity.
    #[tracing::instrument(skip_all, fields(caller = %caller, kind = kind.as_str()))]
    pub async fn record_outflow(
        &self,
        caller: &Caller,
        kind: MovementKind,
        input: Outflow,
    ) -> Result<InventoryItem, AppError> {
        if !matches!(kind, MovementKind::Usage | MovementKind::Waste) {
            return Err(anyhow::anyhow!("record_outflow takes USAGE or WASTE").into());
        }
        let item = self.kept(caller, input.item_id).await?;
        let now = Utc::now();
        let mut v = Violations::default();
        let milli = quantity("quantity", input.quantity, true, &mut v);
        let reason = match input.reason.as_deref() {
            Some(r) if !r.trim().is_empty() => v.check("reason", validation::text(r, 500)),
            _ if kind == MovementKind::Waste => {
                v.check::<String>("reason", Err("is required for waste".into()))
            }
            _ => None,
        };
        let at = when("occurredAt", input.occurred_at, now, &mut v);
        v.finish()?;
        let (Some(milli), Some(at)) = (milli, at) else {
            return Err(anyhow::anyhow!("validated fields missing").into());
        };
        let txn = begin_write(&self.db).await?;
        let movement = repository::insert_movement(
            &txn,
            MovementRow {
                item: item.id,
                restaurant: item.restaurant_id,
                kind,
                quantity_milli: -milli,
                counted_milli: None,
                reason: reason.clone(),
                transfer: None,
                occurred_at: at,
                recorded_by: caller.principal.account_id(),
            },
            now,
        )
        .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: if kind == MovementKind::Usage {
                    "inventory.usage"
                } else {
                    "inventory.waste"
                },
                entity: "inventory_movement",
                entity_id: Some(movement.to_string()),
                before: None,
                after: Some(json!({ "item": item.id, "quantity": input.quantity.to_string(), "reason": reason })),
            },
        )
        .await?;
        txn.commit().await?;
        self.kept(caller, item.id).await
    }

    /// Imports an item's ledger from before Iris — usage, waste and deliveries, none in the
    /// future — in one transaction with one audit entry; returns how many movements.
    #[tracing::instrument(skip_all, fields(caller = %caller, item = %item_id, movements = movements.len()))]
    pub async fn import_history(
        &self,
        caller: &Caller,
        item_id: Uuid,
        movements: Vec<PastMovement>,
    ) -> Result<usize, AppError> {
        let item = self.kept(caller, item_id).await?;
        let now = Utc::now();
        let mut v = Violations::default();
        let mut rows = Vec::with_capacity(movements.len());
        for (index, movement) in movements.iter().enumerate() {
            let field = format!("movements[{index}]");
            let sign = match movement.kind {
                MovementKind::Usage | MovementKind::Waste => -1,
                MovementKind::Receipt => 1,
                _ => {
                    v.check::<()>(
                        &format!("{field}.kind"),
                        Err("must be USAGE, WASTE or RECEIPT".into()),
                    );
                    continue;
                }
            };
            let milli = quantity(
                &format!("{field}.quantity"),
                movement.quantity,
                true,
                &mut v,
            );
            if movement.kind == MovementKind::Waste
                && movement
                    .reason
                    .as_deref()
                    .is_none_or(|r| r.trim().is_empty())
            {
                v.check::<()>(
                    &format!("{field}.reason"),
                    Err("is required for waste".into()),
                );
            }
            let at = when(
                &format!("{field}.occurredAt"),
                Some(movement.occurred_at),
                now,
                &mut v,
            );
            if let (Some(milli), Some(at)) = (milli, at) {
                rows.push(MovementRow {
                    item: item.id,
                    restaurant: item.restaurant_id,
                    kind: movement.kind,
                    quantity_milli: sign * milli,
                    counted_milli: None,
                    reason: movement.reason.clone(),
                    transfer: None,
                    occurred_at: at,
                    recorded_by: caller.principal.account_id(),
                });
            }
        }
        v.finish()?;
        let count = rows.len();
        let txn = begin_write(&self.db).await?;
        repository::insert_movements(&txn, rows, now).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "inventory.history_import",
                entity: "inventory_item",
                entity_id: Some(item.id.to_string()),
                before: None,
                after: Some(json!({ "movements": count })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(count)
    }

    /// Records a count: an ADJUSTMENT of what was counted minus what the ledger held at that
    /// moment (zero when they agree: the count is kept either way).
    #[tracing::instrument(skip_all, fields(caller = %caller, item = %item_id))]
    pub async fn stocktake(
        &self,
        caller: &Caller,
        item_id: Uuid,
        counted: Decimal,
        occurred_at: Option<DateTime<Utc>>,
    ) -> Result<InventoryItem, AppError> {
        let item = self.kept(caller, item_id).await?;
        let now = Utc::now();
        let mut v = Violations::default();
        let counted_milli = quantity("counted", counted, false, &mut v);
        let at = when("occurredAt", occurred_at, now, &mut v);
        v.finish()?;
        let (Some(counted_milli), Some(at)) = (counted_milli, at) else {
            return Err(anyhow::anyhow!("validated fields missing").into());
        };
        let txn = begin_write(&self.db).await?;
        // What the ledger held at that moment, read inside the writing transaction.
        let held = repository::find_live_item(&txn, item_id, at)
            .await?
            .map(|i| money::to_milli(i.on_hand).unwrap_or(0))
            .unwrap_or(0);
        let movement = repository::insert_movement(
            &txn,
            MovementRow {
                item: item.id,
                restaurant: item.restaurant_id,
                kind: MovementKind::Adjustment,
                quantity_milli: counted_milli - held,
                counted_milli: Some(counted_milli),
                reason: Some("stocktake".into()),
                transfer: None,
                occurred_at: at,
                recorded_by: caller.principal.account_id(),
            },
            now,
        )
        .await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "inventory.stocktake",
                entity: "inventory_movement",
                entity_id: Some(movement.to_string()),
                before: Some(json!({ "onHand": money::from_milli(held).to_string() })),
                after: Some(json!({ "item": item.id, "counted": counted.to_string() })),
            },
        )
        .await?;
        txn.commit().await?;
        self.kept(caller, item.id).await
    }

    /// Moves stock of an item to another restaurant the caller also keeps (admins: any): a
    /// TRANSFER_OUT here and a TRANSFER_IN there, in one transaction; the other restaurant's
    /// item of the same product is created when it keeps none. Free-text items stay put.
    #[tracing::instrument(skip_all, fields(caller = %caller, item = %item_id, to = %to))]
    pub async fn transfer(
        &self,
        caller: &Caller,
        item_id: Uuid,
        to: Uuid,
        amount: Decimal,
    ) -> Result<(InventoryItem, InventoryItem), AppError> {
        let item = self.kept(caller, item_id).await?;
        authorize(caller, to)?;
        let mut v = Violations::default();
        let milli = quantity("quantity", amount, true, &mut v);
        if to == item.restaurant_id {
            v.check::<()>("toRestaurantId", Err("must be another restaurant".into()));
        }
        let Some(product) = item.product_id else {
            return Err(AppError::validation(
                "itemId",
                "only items of marketplace products can move between restaurants",
            ));
        };
        v.finish()?;
        let Some(milli) = milli else {
            return Err(anyhow::anyhow!("validated fields missing").into());
        };
        let now = Utc::now();
        let transfer = Uuid::now_v7();
        let txn = begin_write(&self.db).await?;
        if !repository::restaurant_is_live(&txn, to).await? {
            return Err(AppError::not_found("Restaurant", to));
        }
        let target =
            repository::item_for_product(&txn, to, product, (&item.name, &item.unit), now).await?;
        for (restaurant, kept, kind, signed) in [
            (
                item.restaurant_id,
                item.id,
                MovementKind::TransferOut,
                -milli,
            ),
            (to, target, MovementKind::TransferIn, milli),
        ] {
            repository::insert_movement(
                &txn,
                MovementRow {
                    item: kept,
                    restaurant,
                    kind,
                    quantity_milli: signed,
                    counted_milli: None,
                    reason: None,
                    transfer: Some(transfer),
                    occurred_at: now,
                    recorded_by: caller.principal.account_id(),
                },
                now,
            )
            .await?;
        }
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "inventory.transfer",
                entity: "inventory_transfer",
                entity_id: Some(transfer.to_string()),
                before: None,
                after: Some(
                    json!({ "from": item.id, "to": target, "quantity": amount.to_string() }),
                ),
            },
        )
        .await?;
        txn.commit().await?;
        Ok((
            self.kept(caller, item.id).await?,
            self.kept(caller, target).await?,
        ))
    }
}
