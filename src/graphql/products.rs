//! The catalog over GraphQL: `products` (browse and search), `product`, `upsertProducts`,
//! `deleteProduct`.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    caller,
    common::{ExactDecimal, MoneyObject, SortDirection, parse_id},
    connection::{self, RelayConnection},
    loaders::loaders,
    pricing::{PriceChangeObject, ResolvedPriceObject, resolved_price},
    services,
    suppliers::SupplierObject,
};
use uuid::Uuid;

use crate::domain::catalog::{
    self as domain, Product, ProductFilter as DomainFilter, ProductInput as DomainInput,
};
use crate::error::AppError;

/// One of the 14 allergens EU food law requires to be declared.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::Allergen")]
pub enum Allergen {
    /// Cereals containing gluten.
    Gluten,
    /// Crustaceans.
    Crustaceans,
    /// Eggs.
    Eggs,
    /// Fish.
    Fish,
    /// Peanuts.
    Peanuts,
    /// Soybeans.
    Soybeans,
    /// Milk (including lactose).
    Milk,
    /// Tree nuts.
    Nuts,
    /// Celery.
    Celery,
    /// Mustard.
    Mustard,
    /// Sesame seeds.
    Sesame,
    /// Sulphur dioxide and sulphites.
    Sulphites,
    /// Lupin.
    Lupin,
    /// Molluscs.
    Molluscs,
}

/// A dietary property of a product.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::DietaryTag")]
pub enum DietaryTag {
    /// No animal products.
    Vegan,
    /// No meat or fish.
    Vegetarian,
    /// Free of gluten.
    GlutenFree,
    /// Free of lactose.
    LactoseFree,
    /// Certified organic.
    Organic,
    /// Halal.
    Halal,
    /// Kosher.
    Kosher,
}

/// How a product is sold.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::Unit")]
pub enum ProductUnit {
    /// Kilogram.
    Kg,
    /// Gram.
    G,
    /// Litre.
    L,
    /// Centilitre.
    Cl,
    /// One piece.
    Piece,
    /// A pack.
    Pack,
    /// A box.
    Box,
    /// A case.
    Case,
}

/// Something a supplier sells (shared: a request's loader hands the same row to every line
/// that shows it), seen in a restaurant's context or not (`price` then resolves for it).
pub struct ProductObject {
    pub product: Arc<Product>,
    pub restaurant: Option<Uuid>,
}

impl From<Product> for ProductObject {
    fn from(product: Product) -> Self {
        Arc::new(product).into()
    }
}

impl From<Arc<Product>> for ProductObject {
    fn from(product: Arc<Product>) -> Self {
        Self {
            product,
            restaurant: None,
        }
    }
}

impl ProductObject {
    /// The product as `restaurant` sees it (its prices).
    pub fn for_restaurant(product: Arc<Product>, restaurant: Uuid) -> Self {
        Self {
            product,
            restaurant: Some(restaurant),
        }
    }
}

/// Something a supplier sells.
#[Object(name = "Product")]
impl ProductObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.product.id.to_string())
    }
    /// The supplier's article number, unique within the supplier.
    async fn sku(&self) -> &str {
        &self.product.sku
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.product.name
    }
    /// Description.
    async fn description(&self) -> Option<&str> {
        self.product.description.as_deref()
    }
    /// Category, e.g. "Fisk & skaldjur".
    async fn category(&self) -> &str {
        &self.product.category
    }
    /// How it is sold.
    async fn unit(&self) -> ProductUnit {
        self.product.unit.into()
    }
    /// Price of one unit.
    async fn unit_price(&self) -> MoneyObject {
        self.product.unit_price.clone().into()
    }
    /// Units in stock.
    async fn stock_on_hand(&self) -> i64 {
        self.product.stock_on_hand
    }
    /// Whether any unit is in stock.
    async fn in_stock(&self) -> bool {
        self.product.stock_on_hand > 0
    }
    /// Declared allergens.
    async fn allergens(&self) -> Vec<Allergen> {
        self.product.allergens.iter().map(|a| (*a).into()).collect()
    }
    /// Dietary tags.
    async fn dietary_tags(&self) -> Vec<DietaryTag> {
        self.product
            .dietary_tags
            .iter()
            .map(|t| (*t).into())
            .collect()
    }
    /// VAT rate in percent (12 = 12 %); orders are taxed by it.
    async fn tax_rate(&self) -> ExactDecimal {
        ExactDecimal(self.product.tax_rate)
    }
    /// Whether it can be ordered.
    async fn active(&self) -> bool {
        self.product.active
    }
    /// When it was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.product.created_at
    }
    /// When it last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.product.updated_at
    }
    /// What a restaurant pays per unit for `quantity` units, and which price list (and tier)
    /// says so — its negotiated and campaign prices, resolved by one rule everywhere (cart,
    /// orders, suggestions). `restaurantId` may be left out in a restaurant's context
    /// (`products(restaurantId:)`, a cart). Only the restaurant's members, the supplier's
    /// members and admins see it.
    async fn price(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant (UUID); the context's restaurant when absent.")]
        restaurant_id: Option<ID>,
        #[graphql(desc = "Units (1–100000).", default = 1)] quantity: i64,
        #[graphql(desc = "When (UTC): now when absent; a later instant shows campaigns to come.")]
        at: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<ResolvedPriceObject> {
        let restaurant = match (&restaurant_id, self.restaurant) {
            (Some(id), _) => parse_id("restaurantId", id)?,
            (None, Some(id)) => id,
            (None, None) => {
                return Err(AppError::validation(
                    "restaurantId",
                    "is required outside a restaurant's context",
                )
                .into());
            }
        };
        crate::domain::pricing::check_quantity(quantity)?;
        let price = resolved_price(ctx, &self.product, restaurant, quantity, at).await?;
        Ok(ResolvedPriceObject { price, quantity })
    }
    /// Changes of its list price by dynamic rules, newest first (at most `first`, 1–100).
    #[graphql(complexity = "5 + first.max(0) as usize * child_complexity")]
    async fn price_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many (1–100).", default = 20)] first: i32,
    ) -> async_graphql::Result<Vec<PriceChangeObject>> {
        if !(1..=100).contains(&first) {
            return Err(AppError::validation("first", "must be between 1 and 100").into());
        }
        Ok(services(ctx)?
            .pricing
            .history(caller(ctx), self.product.id, first as u64)
            .await?
            .into_iter()
            .map(PriceChangeObject)
            .collect())
    }
    /// The supplier selling it (batched per request).
    async fn supplier(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SupplierObject>> {
        Ok(loaders(ctx)?
            .suppliers
            .load_one(self.product.supplier_id)
            .await?
            .map(SupplierObject))
    }
}

/// Which products to list; all conditions must hold.
#[derive(InputObject, Default)]
pub struct ProductFilter {
    /// Search text, matched against names (typo-tolerant) and SKUs.
    query: Option<String>,
    /// Products of this supplier.
    supplier_id: Option<ID>,
    /// Category, case-insensitive.
    category: Option<String>,
    /// Lowest unit price.
    min_price: Option<ExactDecimal>,
    /// Highest unit price.
    max_price: Option<ExactDecimal>,
    /// Only products in stock (true) or out of stock (false).
    in_stock: Option<bool>,
    /// Only products containing none of these allergens.
    #[graphql(default)]
    excludes_allergens: Vec<Allergen>,
    /// Only products with all of these tags.
    #[graphql(default)]
    dietary_tags: Vec<DietaryTag>,
}

/// Field a product list is sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(remote = "domain::ProductSortField")]
pub enum ProductSortField {
    /// Best match first when searching; by name otherwise.
    #[default]
    Relevance,
    /// Name.
    Name,
    /// Unit price.
    Price,
    /// Creation time.
    CreatedAt,
}

/// How to sort a product list.
#[derive(InputObject, Default)]
pub struct ProductSort {
    /// Field to sort by.
    #[graphql(default)]
    field: ProductSortField,
    /// Ascending or descending (relevance is always best first).
    #[graphql(default)]
    direction: SortDirection,
}

/// One product of `upsertProducts`, keyed by SKU.
#[derive(InputObject)]
pub struct ProductInput {
    /// The supplier's article number (letters, digits, `-_./`, at most 64).
    sku: String,
    /// Name (1–200 characters).
    name: String,
    /// Description (at most 2000 characters).
    description: Option<String>,
    /// Category (1–100 characters).
    category: String,
    /// How it is sold.
    unit: ProductUnit,
    /// Price of one unit: at least 0.001, at most 3 decimals.
    unit_price: ExactDecimal,
    /// ISO 4217 currency; the supplier's when absent.
    currency: Option<String>,
    /// Units in stock (not negative); unchanged on update, 0 for a new product, when absent.
    stock_on_hand: Option<i64>,
    /// Declared allergens.
    #[graphql(default)]
    allergens: Vec<Allergen>,
    /// Dietary tags.
    #[graphql(default)]
    dietary_tags: Vec<DietaryTag>,
    /// VAT rate in percent, 0–100 (at most two decimals); unchanged on update, 12 for a new
    /// product, when absent.
    tax_rate: Option<ExactDecimal>,
    /// Whether it can be ordered; true when absent.
    active: Option<bool>,
}

/// Products to create or update, all or nothing.
#[derive(InputObject)]
pub struct UpsertProductsInput {
    /// The supplier whose catalog changes.
    supplier_id: ID,
    /// 1 to 1000 products; an existing SKU is updated, a new one created.
    products: Vec<ProductInput>,
}

/// Result of `upsertProducts`.
#[derive(SimpleObject)]
pub struct UpsertProductsPayload {
    /// The products as stored, in input order.
    products: Vec<ProductObject>,
}

/// The product to delete.
#[derive(InputObject)]
pub struct DeleteProductInput {
    /// The product's id.
    id: ID,
}

/// Result of `deleteProduct`.
#[derive(SimpleObject)]
pub struct DeleteProductPayload {
    /// Id of the deleted product.
    deleted_product_id: ID,
}

#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    /// Products, filtered, searched and sorted, as a Relay connection (at most 100 per page).
    #[allow(clippy::too_many_arguments)] // Relay's four arguments plus filter and sort.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first n items after `after` (0–100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(desc = "The last n items before `before` (0–100).")] last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Which products.")] filter: Option<ProductFilter>,
        #[graphql(desc = "Sort order; relevance (or name) when absent.")] sort: Option<ProductSort>,
        #[graphql(
            desc = "Show the products as this restaurant sees them: `price` resolves its price lists (its members and admins)."
        )]
        restaurant_id: Option<ID>,
    ) -> async_graphql::Result<RelayConnection<ProductObject>> {
        let page = connection::page_request(ctx, first, after, last, before)?;
        let restaurant = restaurant_id
            .as_ref()
            .map(|id| parse_id("restaurantId", id))
            .transpose()?;
        if let Some(restaurant) = restaurant {
            services(ctx)?
                .pricing
                .authorize_restaurant(caller(ctx), restaurant)?;
        }
        let filter = filter.unwrap_or_default();
        let sort = sort.unwrap_or_default();
        let filter = DomainFilter {
            query: filter.query,
            supplier_id: filter
                .supplier_id
                .as_ref()
                .map(|id| parse_id("filter.supplierId", id))
                .transpose()?,
            category: filter.category,
            min_price: filter.min_price.map(|d| d.0),
            max_price: filter.max_price.map(|d| d.0),
            in_stock: filter.in_stock,
            excludes_allergens: filter
                .excludes_allergens
                .into_iter()
                .map(Into::into)
                .collect(),
            dietary_tags: filter.dietary_tags.into_iter().map(Into::into).collect(),
            include_inactive: false,
        };
        let result = services(ctx)?
            .products
            .list(
                &filter,
                domain::ProductSort {
                    field: sort.field.into(),
                    direction: sort.direction.into(),
                },
                page,
            )
            .await?;
        Ok(connection::connection(result, |p| ProductObject {
            product: Arc::new(p),
            restaurant,
        }))
    }

    /// One product by id; null with NOT_FOUND when there is none.
    async fn product(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product's id (UUID).")] id: ID,
    ) -> async_graphql::Result<Option<ProductObject>> {
        let id = parse_id("id", &id)?;
        Ok(Some(services(ctx)?.products.get(id).await?.into()))
    }
}

#[derive(Default)]
pub struct ProductMutation;

#[Object]
impl ProductMutation {
    /// Creates or updates up to 1000 products of a supplier by SKU (its members and admins).
    /// All or nothing: VALIDATION names every invalid item as `items[i].field`.
    async fn upsert_products(
        &self,
        ctx: &Context<'_>,
        input: UpsertProductsInput,
    ) -> async_graphql::Result<UpsertProductsPayload> {
        let supplier = parse_id("supplierId", &input.supplier_id)?;
        let items = input
            .products
            .into_iter()
            .map(|p| DomainInput {
                sku: p.sku,
                name: p.name,
                description: p.description,
                category: p.category,
                unit: domain::Unit::from(p.unit).as_str().to_owned(),
                unit_price: p.unit_price.0,
                currency: p.currency,
                stock_on_hand: p.stock_on_hand,
                allergens: p.allergens.into_iter().map(Into::into).collect(),
                dietary_tags: p.dietary_tags.into_iter().map(Into::into).collect(),
                tax_rate: p.tax_rate.map(|r| r.0),
                active: p.active,
            })
            .collect();
        let products = services(ctx)?
            .products
            .upsert(caller(ctx), supplier, items)
            .await?;
        Ok(UpsertProductsPayload {
            products: products.into_iter().map(ProductObject::from).collect(),
        })
    }

    /// Deletes a product (soft: kept for order history).
    async fn delete_product(
        &self,
        ctx: &Context<'_>,
        input: DeleteProductInput,
    ) -> async_graphql::Result<DeleteProductPayload> {
        let product = parse_id("id", &input.id)?;
        services(ctx)?.products.delete(caller(ctx), product).await?;
        Ok(DeleteProductPayload {
            deleted_product_id: input.id,
        })
    }
}
