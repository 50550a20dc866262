//! Carts over GraphQL: `cart`, `addToCart`, `updateCartItem`, `removeFromCart`, `clearCart`
//! (and `checkout`, in `orders`).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    caller,
    common::{MoneyObject, money, parse_id},
    loaders::loaders,
    pricing::{ResolvedPriceObject, resolved_price},
    products::ProductObject,
    restaurants::RestaurantObject,
    services,
};
use crate::domain::ordering::{Cart, CartItem};

/// A restaurant's cart: products of any number of suppliers, ordered by `checkout`.
pub struct CartObject(pub Cart);

/// A restaurant's cart: products of any number of suppliers, ordered by `checkout`.
#[Object(name = "Cart")]
impl CartObject {
    /// The restaurant it belongs to (batched per request).
    async fn restaurant(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<RestaurantObject>> {
        Ok(loaders(ctx)?
            .restaurants
            .load_one(self.0.restaurant_id)
            .await?
            .map(RestaurantObject::of))
    }
    /// What is in it, oldest first (batched per request).
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CartItemObject>> {
        let items = loaders(ctx)?
            .cart_items
            .load_one(self.0.restaurant_id)
            .await?;
        Ok(items
            .unwrap_or_default()
            .into_iter()
            .map(CartItemObject)
            .collect())
    }
    /// When it last changed (UTC); null for a cart never used.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated_at
    }
}

/// A product and a quantity in a cart.
pub struct CartItemObject(CartItem);

/// A product and a quantity in a cart.
#[Object(name = "CartItem")]
impl CartItemObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The product, at today's price (batched per request).
    async fn product(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ProductObject>> {
        Ok(loaders(ctx)?
            .products
            .load_one(self.0.product_id)
            .await?
            .map(|p| ProductObject::for_restaurant(p, self.0.restaurant_id)))
    }
    /// Units.
    async fn quantity(&self) -> i64 {
        self.0.quantity
    }
    /// Today's price for the restaurant at this quantity (its price lists applied); null when
    /// the product is gone.
    async fn price(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ResolvedPriceObject>> {
        let Some(product) = loaders(ctx)?.products.load_one(self.0.product_id).await? else {
            return Ok(None);
        };
        let price =
            resolved_price(ctx, &product, self.0.restaurant_id, self.0.quantity, None).await?;
        Ok(Some(ResolvedPriceObject {
            price,
            quantity: self.0.quantity,
        }))
    }
    /// Today's unit price for the restaurant × quantity, exact; null when the product is gone.
    async fn line_total(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<MoneyObject>> {
        let Some(product) = loaders(ctx)?.products.load_one(self.0.product_id).await? else {
            return Ok(None);
        };
        let price =
            resolved_price(ctx, &product, self.0.restaurant_id, self.0.quantity, None).await?;
        Ok(Some(money(
            price.unit_price * rust_decimal::Decimal::from(self.0.quantity),
            &price.currency,
        )))
    }
    /// When it was added (UTC).
    async fn added_at(&self) -> DateTime<Utc> {
        self.0.added_at
    }
}

/// A product to put in a cart, or whose quantity changes.
#[derive(InputObject)]
pub struct CartItemInput {
    /// The restaurant whose cart changes.
    restaurant_id: ID,
    /// The product.
    product_id: ID,
    /// Units: added to what is there (`addToCart`, 1–100000) or the new quantity
    /// (`updateCartItem`, 0 removes).
    quantity: i64,
}

/// A product to take out of a cart.
#[derive(InputObject)]
pub struct RemoveFromCartInput {
    /// The restaurant whose cart changes.
    restaurant_id: ID,
    /// The product.
    product_id: ID,
}

/// The cart to empty.
#[derive(InputObject)]
pub struct ClearCartInput {
    /// The restaurant whose cart is emptied.
    restaurant_id: ID,
}

/// Result of a cart change.
#[derive(SimpleObject)]
pub struct CartPayload {
    /// The cart after the change.
    cart: CartObject,
}

#[derive(Default)]
pub struct CartQuery;

#[Object]
impl CartQuery {
    /// A restaurant's cart (its members and admins).
    async fn cart(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant (UUID).")] restaurant_id: ID,
    ) -> async_graphql::Result<CartObject> {
        let restaurant = parse_id("restaurantId", &restaurant_id)?;
        Ok(CartObject(
            services(ctx)?.carts.get(caller(ctx), restaurant).await?,
        ))
    }
}

#[derive(Default)]
pub struct CartMutation;

#[Object]
impl CartMutation {
    /// Adds units of a product to a restaurant's cart.
    async fn add_to_cart(
        &self,
        ctx: &Context<'_>,
        input: CartItemInput,
    ) -> async_graphql::Result<CartPayload> {
        let restaurant = parse_id("restaurantId", &input.restaurant_id)?;
        let product = parse_id("productId", &input.product_id)?;
        let cart = services(ctx)?
            .carts
            .add(caller(ctx), restaurant, product, input.quantity)
            .await?;
        Ok(CartPayload {
            cart: CartObject(cart),
        })
    }

    /// Sets the quantity of a product in the cart (0 removes it).
    async fn update_cart_item(
        &self,
        ctx: &Context<'_>,
        input: CartItemInput,
    ) -> async_graphql::Result<CartPayload> {
        let restaurant = parse_id("restaurantId", &input.restaurant_id)?;
        let product = parse_id("productId", &input.product_id)?;
        let cart = services(ctx)?
            .carts
            .set_quantity(caller(ctx), restaurant, product, input.quantity)
            .await?;
        Ok(CartPayload {
            cart: CartObject(cart),
        })
    }

    /// Takes a product out of the cart.
    async fn remove_from_cart(
        &self,
        ctx: &Context<'_>,
        input: RemoveFromCartInput,
    ) -> async_graphql::Result<CartPayload> {
        let restaurant = parse_id("restaurantId", &input.restaurant_id)?;
        let product = parse_id("productId", &input.product_id)?;
        let cart = services(ctx)?
            .carts
            .remove(caller(ctx), restaurant, product)
            .await?;
        Ok(CartPayload {
            cart: CartObject(cart),
        })
    }

    /// Empties the cart.
    async fn clear_cart(
        &self,
        ctx: &Context<'_>,
        input: ClearCartInput,
    ) -> async_graphql::Result<CartPayload> {
        let restaurant = parse_id("restaurantId", &input.restaurant_id)?;
        let cart = services(ctx)?.carts.clear(caller(ctx), restaurant).await?;
        Ok(CartPayload {
            cart: CartObject(cart),
        })
    }
}
