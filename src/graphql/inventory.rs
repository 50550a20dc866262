//! Inventory over GraphQL: `inventory`, `inventoryItem`, and the mutations that change items
//! and record movements (`recordUsage`, `recordWaste`, `recordStocktake`, `transferStock`).

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    caller,
    common::{ExactDecimal, parse_id},
    services,
};
use crate::domain::inventory::{
    self as domain, InventoryItem, ItemChanges, Movement, NewItem, Outflow,
};

/// How stock moved.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::MovementKind")]
pub enum MovementKind {
    /// Delivered with an order (one per order line).
    Receipt,
    /// Used in the kitchen.
    Usage,
    /// Thrown away (with a reason).
    Waste,
    /// Moved here from another restaurant.
    TransferIn,
    /// Moved to another restaurant.
    TransferOut,
    /// A stocktake's correction: counted minus what the ledger held.
    Adjustment,
}

/// An item a restaurant keeps in stock.
#[derive(SimpleObject)]
#[graphql(name = "InventoryItem", complex)]
pub struct InventoryItemObject {
    /// Unique identifier (UUID).
    id: ID,
    /// The restaurant keeping it.
    restaurant_id: ID,
    /// The marketplace product it is, if any.
    product_id: Option<ID>,
    /// Its name.
    name: String,
    /// KG, G, L, CL, PIECE, PACK, BOX or CASE.
    unit: String,
    /// Units in one pack.
    pack_size: ExactDecimal,
    /// Where it is stored.
    location: Option<String>,
    /// Reorder point.
    par_level: Option<ExactDecimal>,
    /// Level to refill to.
    target_level: Option<ExactDecimal>,
    /// Whether it is still kept.
    active: bool,
    /// What the ledger holds, as of the moment asked for (now by default).
    on_hand: ExactDecimal,
    /// When it was added (UTC).
    created_at: DateTime<Utc>,
    /// When it last changed (UTC).
    updated_at: DateTime<Utc>,
}

impl From<InventoryItem> for InventoryItemObject {
    fn from(i: InventoryItem) -> Self {
        InventoryItemObject {
            id: ID(i.id.to_string()),
            restaurant_id: ID(i.restaurant_id.to_string()),
            product_id: i.product_id.map(|p| ID(p.to_string())),
            name: i.name,
            unit: i.unit,
            pack_size: ExactDecimal(i.pack_size),
            location: i.location,
            par_level: i.par_level.map(ExactDecimal),
            target_level: i.target_level.map(ExactDecimal),
            active: i.active,
            on_hand: ExactDecimal(i.on_hand),
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[ComplexObject]
impl InventoryItemObject {
    /// Its ledger, newest first.
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn movements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many (1–500; 50 by default).", default = 50)] first: i32,
    ) -> async_graphql::Result<Vec<MovementObject>> {
        let id = parse_id("id", &self.id)?;
        let movements = services(ctx)?
            .inventory
            .movements(caller(ctx), id, i64::from(first))
            .await?;
        Ok(movements.into_iter().map(Into::into).collect())
    }
}

/// One entry of an item's ledger.
#[derive(SimpleObject)]
#[graphql(name = "InventoryMovement")]
pub struct MovementObject {
    /// Unique identifier (UUID).
    id: ID,
    /// How stock moved.
    kind: MovementKind,
    /// Signed: in > 0, out < 0.
    quantity: ExactDecimal,
    /// What a stocktake counted.
    counted: Option<ExactDecimal>,
    /// Why (waste; stocktake).
    reason: Option<String>,
    /// The delivered order a receipt came from.
    order_id: Option<ID>,
    /// Pairs the two halves of a transfer.
    transfer_id: Option<ID>,
    /// When it happened (UTC).
    occurred_at: DateTime<Utc>,
}

impl From<Movement> for MovementObject {
    fn from(m: Movement) -> Self {
        MovementObject {
            id: ID(m.id.to_string()),
            kind: m.kind.into(),
            quantity: ExactDecimal(m.quantity),
            counted: m.counted.map(ExactDecimal),
            reason: m.reason,
            order_id: m.order_id.map(|o| ID(o.to_string())),
            transfer_id: m.transfer_id.map(|t| ID(t.to_string())),
            occurred_at: m.occurred_at,
        }
    }
}

/// A new inventory item: a product (name and unit default to the product's) or a free-text
/// item (name and unit required).
#[derive(InputObject)]
pub struct CreateInventoryItemInput {
    /// The restaurant keeping it.
    restaurant_id: ID,
    /// The marketplace product it is (one item per product).
    product_id: Option<ID>,
    /// 1–200 characters.
    name: Option<String>,
    /// KG, G, L, CL, PIECE, PACK, BOX or CASE.
    unit: Option<String>,
    /// Units in one pack (1 by default).
    pack_size: Option<ExactDecimal>,
    /// Where it is stored.
    location: Option<String>,
    /// Reorder point.
    par_level: Option<ExactDecimal>,
    /// Level to refill to (not below parLevel).
    target_level: Option<ExactDecimal>,
}

/// Changes to an inventory item; only the fields given change.
#[derive(InputObject)]
pub struct UpdateInventoryItemInput {
    /// The item.
    id: ID,
    name: Option<String>,
    pack_size: Option<ExactDecimal>,
    location: Option<String>,
    par_level: Option<ExactDecimal>,
    target_level: Option<ExactDecimal>,
    active: Option<bool>,
}

/// The item to remove (its ledger stays).
#[derive(InputObject)]
pub struct DeleteInventoryItemInput {
    /// The item.
    id: ID,
}

/// Stock used or wasted.
#[derive(InputObject)]
pub struct RecordOutflowInput {
    /// The item.
    item_id: ID,
    /// How much, more than 0, at most 3 decimals.
    quantity: ExactDecimal,
    /// Why (required for waste).
    reason: Option<String>,
    /// When it happened (now by default; not in the future).
    occurred_at: Option<DateTime<Utc>>,
}

/// A count of an item.
#[derive(InputObject)]
pub struct RecordStocktakeInput {
    /// The item.
    item_id: ID,
    /// What was counted, 0 or more.
    counted: ExactDecimal,
    /// When it was counted (now by default; not in the future).
    occurred_at: Option<DateTime<Utc>>,
}

/// Stock to move to another restaurant the caller also keeps.
#[derive(InputObject)]
pub struct TransferStockInput {
    /// The item (of a marketplace product).
    item_id: ID,
    /// The receiving restaurant.
    to_restaurant_id: ID,
    /// How much, more than 0.
    quantity: ExactDecimal,
}

/// An item after a change.
#[derive(SimpleObject)]
pub struct InventoryItemPayload {
    /// The item as it is now.
    item: InventoryItemObject,
}

/// Result of `deleteInventoryItem`.
#[derive(SimpleObject)]
pub struct DeleteInventoryItemPayload {
    /// The removed item's id.
    deleted_id: ID,
}

/// Result of `transferStock`.
#[derive(SimpleObject)]
pub struct TransferStockPayload {
    /// The item stock left.
    from: InventoryItemObject,
    /// The receiving restaurant's item.
    to: InventoryItemObject,
}

#[derive(Default)]
pub struct InventoryQuery;

#[Object]
impl InventoryQuery {
    /// A restaurant's inventory with on-hand quantities, by name (its members and admins).
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn inventory(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant.")] restaurant_id: ID,
        #[graphql(desc = "On-hand as of this moment (UTC; now by default).")] as_of: Option<
            DateTime<Utc>,
        >,
    ) -> async_graphql::Result<Vec<InventoryItemObject>> {
        let restaurant = parse_id("restaurantId", &restaurant_id)?;
        let items = services(ctx)?
            .inventory
            .items(caller(ctx), restaurant, as_of)
            .await?;
        Ok(items.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct InventoryMutation;

fn payload(item: InventoryItem) -> InventoryItemPayload {
    InventoryItemPayload { item: item.into() }
}

#[Object]
impl InventoryMutation {
    /// Adds an item to a restaurant's inventory (audited).
    async fn create_inventory_item(
        &self,
        ctx: &Context<'_>,
        input: CreateInventoryItemInput,
    ) -> async_graphql::Result<InventoryItemPayload> {
        let restaurant = parse_id("restaurantId", &input.restaurant_id)?;
        let product_id = input
            .product_id
            .as_ref()
            .map(|p| parse_id("productId", p))
            .transpose()?;
        let item = services(ctx)?
            .inventory
            .create_item(
                caller(ctx),
                restaurant,
                NewItem {
                    product_id,
                    name: input.name,
                    unit: input.unit,
                    pack_size: input.pack_size.map(|d| d.0),
                    location: input.location,
                    par_level: input.par_level.map(|d| d.0),
                    target_level: input.target_level.map(|d| d.0),
                },
            )
            .await?;
        Ok(payload(item))
    }

    /// Changes an inventory item (audited).
    async fn update_inventory_item(
        &self,
        ctx: &Context<'_>,
        input: UpdateInventoryItemInput,
    ) -> async_graphql::Result<InventoryItemPayload> {
        let id = parse_id("id", &input.id)?;
        let item = services(ctx)?
            .inventory
            .update_item(
                caller(ctx),
                id,
                ItemChanges {
                    name: input.name,
                    pack_size: input.pack_size.map(|d| d.0),
                    location: input.location,
                    par_level: input.par_level.map(|d| d.0),
                    target_level: input.target_level.map(|d| d.0),
                    active: input.active,
                },
            )
            .await?;
        Ok(payload(item))
    }

    /// Removes an inventory item; its ledger stays (audited).
    async fn delete_inventory_item(
        &self,
        ctx: &Context<'_>,
        input: DeleteInventoryItemInput,
    ) -> async_graphql::Result<DeleteInventoryItemPayload> {
        let id = parse_id("id", &input.id)?;
        services(ctx)?
            .inventory
            .delete_item(caller(ctx), id)
            .await?;
        Ok(DeleteInventoryItemPayload {
            deleted_id: input.id,
        })
    }

    /// Records stock used in the kitchen (a USAGE movement; audited).
    async fn record_usage(
        &self,
        ctx: &Context<'_>,
        input: RecordOutflowInput,
    ) -> async_graphql::Result<InventoryItemPayload> {
        record(ctx, domain::MovementKind::Usage, input).await
    }

    /// Records stock thrown away, with the reason (a WASTE movement; audited).
    async fn record_waste(
        &self,
        ctx: &Context<'_>,
        input: RecordOutflowInput,
    ) -> async_graphql::Result<InventoryItemPayload> {
        record(ctx, domain::MovementKind::Waste, input).await
    }

    /// Records a count: the difference to the ledger becomes an ADJUSTMENT (audited).
    async fn record_stocktake(
        &self,
        ctx: &Context<'_>,
        input: RecordStocktakeInput,
    ) -> async_graphql::Result<InventoryItemPayload> {
        let id = parse_id("itemId", &input.item_id)?;
        let item = services(ctx)?
            .inventory
            .stocktake(caller(ctx), id, input.counted.0, input.occurred_at)
            .await?;
        Ok(payload(item))
    }

    /// Moves stock to another restaurant the caller keeps (TRANSFER_OUT and TRANSFER_IN;
    /// audited).
    async fn transfer_stock(
        &self,
        ctx: &Context<'_>,
        input: TransferStockInput,
    ) -> async_graphql::Result<TransferStockPayload> {
        let id = parse_id("itemId", &input.item_id)?;
        let to = parse_id("toRestaurantId", &input.to_restaurant_id)?;
        let (from, to) = services(ctx)?
            .inventory
            .transfer(caller(ctx), id, to, input.quantity.0)
            .await?;
        Ok(TransferStockPayload {
            from: from.into(),
            to: to.into(),
        })
    }
}

async fn record(
    ctx: &Context<'_>,
    kind: domain::MovementKind,
    input: RecordOutflowInput,
) -> async_graphql::Result<InventoryItemPayload> {
    let id = parse_id("itemId", &input.item_id)?;
    let item = services(ctx)?
        .inventory
        .record_outflow(
            caller(ctx),
            kind,
            Outflow {
                item_id: id,
                quantity: input.quantity.0,
                reason: input.reason,
                occurred_at: input.occurred_at,
            },
        )
        .await?;
    Ok(payload(item))
}
