//! Suppliers over GraphQL: `suppliers`, `supplier`, `createSupplier`, `updateSupplier`,
//! `deleteSupplier`, `supplierChanged`.

use std::sync::Arc;

use async_graphql::{
    Context, Enum, ID, InputObject, Object, SimpleObject, Subscription,
    futures_util::{Stream, StreamExt},
};
use chrono::{DateTime, Utc};

use super::{
    caller,
    common::{ExactDecimal, MoneyObject, SortDirection, Weekday, parse_id},
    connection::{self, RelayConnection},
    loaders::{CATALOG_PREVIEW, loaders},
    products::ProductObject,
    services,
};
use crate::domain::suppliers::{
    self as domain, NewSupplier, Supplier, SupplierChanges, SupplierFilter as DomainFilter,
};
use crate::error::AppError;

/// A wholesale supplier selling to restaurants on the marketplace (shared: a request's loader
/// hands the same row to every product that shows it).
pub struct SupplierObject(pub Arc<Supplier>);

impl From<Supplier> for SupplierObject {
    fn from(supplier: Supplier) -> Self {
        Self(Arc::new(supplier))
    }
}

/// A wholesale supplier selling to restaurants on the marketplace.
#[Object(name = "Supplier")]
impl SupplierObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Trading name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Swedish organisation number, formatted `NNNNNN-NNNN`.
    async fn organisation_number(&self) -> &str {
        &self.0.organisation_number
    }
    /// Where restaurants and Iris send order mail.
    async fn contact_email(&self) -> &str {
        &self.0.contact_email
    }
    /// City the supplier delivers from.
    async fn city(&self) -> &str {
        &self.0.city
    }
    /// Where it delivers from (for distances and recommendations); null until set.
    async fn location(&self) -> Option<crate::graphql::common::LocationObject> {
        self.0.location.map(Into::into)
    }
    /// ISO 4217 currency of every price and amount this supplier quotes.
    async fn currency(&self) -> &str {
        self.0.currency.as_str()
    }
    /// Smallest order total the supplier accepts.
    async fn minimum_order_value(&self) -> MoneyObject {
        self.0.minimum_order_value.clone().into()
    }
    /// Weekdays the supplier delivers on, Monday first.
    async fn delivery_days(&self) -> Vec<Weekday> {
        self.0
            .delivery_days
            .days()
            .into_iter()
            .map(Weekday::from)
            .collect()
    }
    /// Whether the supplier currently takes orders.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// How it performs: on-time rate, fill rate, average confirmation time (from its order
    /// history; null before its first delivered, rejected or confirmed order).
    async fn performance(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<SupplierPerformanceObject>> {
        Ok(loaders(ctx)?
            .performance
            .load_one(self.0.id)
            .await?
            .map(SupplierPerformanceObject::from))
    }
    /// A preview of its catalog: the first active products by name (batched per request; use
    /// `products(filter: {supplierId})` to page through all of them).
    #[graphql(complexity = "crate::graphql::cost::list(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many, 0–50.")] first: i32,
    ) -> async_graphql::Result<Vec<ProductObject>> {
        let max = CATALOG_PREVIEW as i32;
        if !(0..=max).contains(&first) {
            return Err(
                AppError::validation("first", format!("must be between 0 and {max}")).into(),
            );
        }
        let products = loaders(ctx)?
            .supplier_products
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(products
            .into_iter()
            .take(first as usize)
            .map(ProductObject::from)
            .collect())
    }
    /// When the supplier was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the supplier last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// How a supplier performs, from its order history.
#[derive(async_graphql::SimpleObject)]
#[graphql(name = "SupplierPerformance")]
pub struct SupplierPerformanceObject {
    /// Orders delivered.
    delivered_orders: i64,
    /// Share of delivered orders delivered on or before the requested date (0–1).
    on_time_rate: Option<ExactDecimal>,
    /// Units delivered over units of delivered and rejected orders (0–1).
    fill_rate: Option<ExactDecimal>,
    /// Mean seconds from placement to confirmation.
    average_confirmation_seconds: Option<i64>,
    /// Invoices reconciled against an order.
    reconciled_invoices: i64,
    /// Share of reconciled invoices that matched their order the first time (0–1).
    invoice_accuracy: Option<ExactDecimal>,
    /// When these figures were computed (UTC).
    computed_at: DateTime<Utc>,
}

impl From<crate::domain::performance::Performance> for SupplierPerformanceObject {
    fn from(p: crate::domain::performance::Performance) -> Self {
        SupplierPerformanceObject {
            delivered_orders: p.delivered_orders,
            on_time_rate: p.on_time_rate.map(ExactDecimal),
            fill_rate: p.fill_rate.map(ExactDecimal),
            average_confirmation_seconds: p.average_confirmation_seconds,
            reconciled_invoices: p.reconciled_invoices,
            invoice_accuracy: p.invoice_accuracy.map(ExactDecimal),
            computed_at: p.computed_at,
        }
    }
}

/// Which suppliers to list; all conditions must hold.
#[derive(InputObject, Default)]
pub struct SupplierFilter {
    /// Case-insensitive part of the name.
    name_contains: Option<String>,
    /// City, case-insensitive.
    city: Option<String>,
    /// Only active (true) or only inactive (false) suppliers.
    active: Option<bool>,
}

/// Field a supplier list is sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(remote = "domain::SupplierSortField")]
pub enum SupplierSortField {
    /// Name, case-insensitive.
    #[default]
    Name,
    /// City, then name.
    City,
    /// Creation time.
    CreatedAt,
}

/// How to sort a supplier list.
#[derive(InputObject, Default)]
pub struct SupplierSort {
    /// Field to sort by.
    #[graphql(default)]
    field: SupplierSortField,
    /// Ascending or descending.
    #[graphql(default)]
    direction: SortDirection,
}

#[derive(Default)]
pub struct SupplierQuery;

#[Object]
impl SupplierQuery {
    /// Suppliers, filtered and sorted, as a Relay connection (at most 100 per page).
    #[allow(clippy::too_many_arguments)] // Relay's four arguments plus filter and sort.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn suppliers(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Return the first n items after `after` (0–100; 20 if neither first nor last is given)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor of the item to start after.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (0–100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the item to end before.")] before: Option<String>,
        #[graphql(desc = "Which suppliers to return.")] filter: Option<SupplierFilter>,
        #[graphql(desc = "Sort order; by name ascending when absent.")] sort: Option<SupplierSort>,
    ) -> async_graphql::Result<RelayConnection<SupplierObject>> {
        let page = connection::page_request(ctx, first, after, last, before)?;
        let filter = filter.unwrap_or_default();
        let sort = sort.unwrap_or_default();
        let result = services(ctx)?
            .suppliers
            .list(
                caller(ctx),
                &DomainFilter {
                    name_contains: filter.name_contains,
                    city: filter.city,
                    active: filter.active,
                },
                domain::SupplierSort {
                    field: sort.field.into(),
                    direction: sort.direction.into(),
                },
                page,
            )
            .await?;
        Ok(connection::connection(result, SupplierObject::from))
    }

    /// One supplier by id; null with a NOT_FOUND error when there is none (or it was deleted).
    async fn supplier(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The supplier's id (UUID).")] id: ID,
    ) -> async_graphql::Result<Option<SupplierObject>> {
        let id = parse_id("id", &id)?;
        let supplier = services(ctx)?.suppliers.get(caller(ctx), id).await?;
        Ok(Some(supplier.into()))
    }
}

/// A new supplier.
#[derive(InputObject)]
pub struct CreateSupplierInput {
    /// Trading name (1–200 characters).
    name: String,
    /// Swedish organisation number, with or without the dash; unique among suppliers.
    organisation_number: String,
    /// Contact e-mail address.
    contact_email: String,
    /// City (1–100 characters).
    city: String,
    /// ISO 4217 currency; SEK when absent.
    currency: Option<String>,
    /// Minimum order value in `currency`, at most 3 decimals; 0 when absent.
    minimum_order_value: Option<ExactDecimal>,
    /// Delivery weekdays; at least one.
    delivery_days: Vec<Weekday>,
    /// Whether the supplier takes orders; true when absent.
    active: Option<bool>,
}

/// Changes to a supplier: only the fields given change.
#[derive(InputObject)]
pub struct UpdateSupplierInput {
    /// The supplier to change.
    id: ID,
    /// New trading name.
    name: Option<String>,
    /// New organisation number.
    organisation_number: Option<String>,
    /// New contact e-mail address.
    contact_email: Option<String>,
    /// New city.
    city: Option<String>,
    /// New currency.
    currency: Option<String>,
    /// New minimum order value.
    minimum_order_value: Option<ExactDecimal>,
    /// New delivery weekdays; at least one.
    delivery_days: Option<Vec<Weekday>>,
    /// Take orders (true) or pause (false).
    active: Option<bool>,
}

/// The supplier to delete.
#[derive(InputObject)]
pub struct DeleteSupplierInput {
    /// The supplier to delete.
    id: ID,
}

/// Result of `createSupplier`.
#[derive(SimpleObject)]
pub struct CreateSupplierPayload {
    /// The new supplier.
    supplier: SupplierObject,
}

/// Result of `updateSupplier`.
#[derive(SimpleObject)]
pub struct UpdateSupplierPayload {
    /// The supplier after the change.
    supplier: SupplierObject,
}

/// Result of `deleteSupplier`.
#[derive(SimpleObject)]
pub struct DeleteSupplierPayload {
    /// Id of the deleted supplier.
    deleted_supplier_id: ID,
    /// When it was deleted (UTC).
    deleted_at: DateTime<Utc>,
}

fn days(days: Vec<Weekday>) -> Vec<crate::domain::kernel::weekday::Weekday> {
    days.into_iter().map(Into::into).collect()
}

#[derive(Default)]
pub struct SupplierMutation;

#[Object]
impl SupplierMutation {
    /// Registers a supplier. VALIDATION names every invalid field; CONFLICT when the
    /// organisation number is taken.
    async fn create_supplier(
        &self,
        ctx: &Context<'_>,
        input: CreateSupplierInput,
    ) -> async_graphql::Result<CreateSupplierPayload> {
        let supplier = services(ctx)?
            .suppliers
            .create(
                caller(ctx),
                NewSupplier {
                    name: input.name,
                    organisation_number: input.organisation_number,
                    contact_email: input.contact_email,
                    city: input.city,
                    currency: input.currency,
                    minimum_order_value: input.minimum_order_value.map(|d| d.0),
                    delivery_days: days(input.delivery_days),
                    active: input.active,
                },
            )
            .await?;
        Ok(CreateSupplierPayload {
            supplier: supplier.into(),
        })
    }

    /// Changes the given fields of a supplier.
    async fn update_supplier(
        &self,
        ctx: &Context<'_>,
        input: UpdateSupplierInput,
    ) -> async_graphql::Result<UpdateSupplierPayload> {
        let id = parse_id("id", &input.id)?;
        let supplier = services(ctx)?
            .suppliers
            .update(
                caller(ctx),
                id,
                SupplierChanges {
                    name: input.name,
                    organisation_number: input.organisation_number,
                    contact_email: input.contact_email,
                    city: input.city,
                    currency: input.currency,
                    minimum_order_value: input.minimum_order_value.map(|d| d.0),
                    delivery_days: input.delivery_days.map(days),
                    active: input.active,
                },
            )
            .await?;
        Ok(UpdateSupplierPayload {
            supplier: supplier.into(),
        })
    }

    /// Deletes a supplier (soft: kept for order history, gone from every read).
    async fn delete_supplier(
        &self,
        ctx: &Context<'_>,
        input: DeleteSupplierInput,
    ) -> async_graphql::Result<DeleteSupplierPayload> {
        let id = parse_id("id", &input.id)?;
        let supplier = services(ctx)?.suppliers.delete(caller(ctx), id).await?;
        Ok(DeleteSupplierPayload {
            deleted_supplier_id: ID(supplier.id.to_string()),
            deleted_at: supplier.deleted_at.unwrap_or(supplier.updated_at),
        })
    }

    /// Sets (or clears) where a supplier is: its owners and admins (audited).
    async fn set_supplier_location(
        &self,
        ctx: &Context<'_>,
        input: crate::graphql::common::SetLocationInput,
    ) -> async_graphql::Result<UpdateSupplierPayload> {
        let (id, degrees) = input.parts()?;
        let services = services(ctx)?;
        services
            .suppliers
            .set_location(caller(ctx), id, degrees)
            .await?;
        let supplier = services.suppliers.get(caller(ctx), id).await?;
        Ok(UpdateSupplierPayload {
            supplier: SupplierObject(std::sync::Arc::new(supplier)),
        })
    }
}

/// What happened to a supplier.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::SupplierChangeKind")]
pub enum SupplierChangeKind {
    /// It was created.
    Created,
    /// Some of its fields changed.
    Updated,
    /// It was deleted.
    Deleted,
}

/// A committed change to a supplier.
#[derive(SimpleObject)]
pub struct SupplierChangedEvent {
    /// What happened.
    kind: SupplierChangeKind,
    /// The supplier after the change.
    supplier: SupplierObject,
    /// When it happened (UTC).
    occurred_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct SupplierSubscription;

#[Subscription]
impl SupplierSubscription {
    /// Every committed change to suppliers, live; pass `id` to watch one supplier. When changes
    /// may have been missed (the event bus was unreachable), the stream ends with
    /// SERVICE_UNAVAILABLE: resubscribe, then refetch.
    async fn supplier_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only changes to this supplier.")] id: Option<ID>,
    ) -> async_graphql::Result<
        impl Stream<Item = async_graphql::Result<SupplierChangedEvent>> + use<>,
    > {
        let only = id.as_ref().map(|id| parse_id("id", id)).transpose()?;
        let changes = services(ctx)?.suppliers.changes(caller(ctx), only);
        Ok(changes.map(|item| {
            item.map(|event| SupplierChangedEvent {
                kind: event.kind.into(),
                supplier: event.supplier.into(),
                occurred_at: event.occurred_at,
            })
            .map_err(async_graphql::Error::from)
        }))
    }
}
