//! The cart service: a restaurant's cart, filled product by product and ordered by checkout
//! (see `OrderService::checkout`).

use crate::infra::db::Db;
use std::collections::HashMap;

use chrono::Utc;
use entity::carts;
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use super::{Cart, CartItem, MAX_LINES, MAX_QUANTITY, repository};
use crate::{
    auth::{Caller, Principal},
    domain::{catalog, restaurants},
    error::AppError,
    infra::db::begin_write,
};

#[derive(Clone)]
pub struct CartService {
    db: Db,
}

/// A restaurant's members and admins see and change its cart.
fn authorize(caller: &Caller, restaurant: Uuid) -> Result<(), AppError> {
    match &caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated("sign in to use a cart".into())),
        p if p.is_admin() || p.restaurant_role(restaurant).is_some() => Ok(()),
        _ => Err(AppError::Forbidden(
            "only the restaurant's members and admins use its cart".into(),
        )),
    }
}

fn quantity(raw: i64, allow_zero: bool) -> Result<i64, AppError> {
    let min = if allow_zero { 0 } else { 1 };
    if (min..=MAX_QUANTITY).contains(&raw) {
        Ok(raw)
    } else {
        Err(AppError::validation(
            "quantity",
            format!("must be between {min} and {MAX_QUANTITY}"),
        ))
    }
}

/// How a cart item changes.
#[derive(Clone, Copy, Debug)]
enum Change {
    Add(i64),
    Set(i64),
    Remove,
}

impl CartService {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The restaurant's cart (empty until something is added).
    pub async fn get(&self, caller: &Caller, restaurant: Uuid) -> Result<Cart, AppError> {
        authorize(caller, restaurant)?;
        if restaurants::find_live(&self.db, restaurant)
            .await?
            .is_none()
        {
            return Err(AppError::not_found("Restaurant", restaurant));
        }
        let cart = repository::find_cart(&self.db, restaurant).await?;
        Ok(Cart {
            restaurant_id: restaurant,
            updated_at: cart.map(|c| c.updated_at),
        })
    }

    /// Items of several restaurants' carts (for dataloaders: callers resolved the carts).
    pub async fn items_by_restaurant(
        &self,
        restaurants: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<CartItem>>, AppError> {
        let mut by_restaurant: HashMap<Uuid, Vec<CartItem>> = HashMap::new();
        for item in repository::cart_items_of(&self.db, restaurants).await? {
            by_restaurant
                .entry(item.restaurant_id)
                .or_default()
                .push(item);
        }
        Ok(by_restaurant)
    }

    /// Adds units of a product (to the quantity already in the cart).
    #[tracing::instrument(skip_all, fields(caller = %caller, restaurant_id = %restaurant, product_id = %product))]
    pub async fn add(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        product: Uuid,
        units: i64,
    ) -> Result<Cart, AppError> {
        let units = quantity(units, false)?;
        self.change(caller, restaurant, product, Change::Add(units))
            .await
    }

    /// Sets the quantity of a product in the cart; 0 removes it.
    pub async fn set_quantity(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        product: Uuid,
        units: i64,
    ) -> Result<Cart, AppError> {
        let units = quantity(units, true)?;
        let change = if units == 0 {
            Change::Remove
        } else {
            Change::Set(units)
        };
        self.change(caller, restaurant, product, change).await
    }

    /// Takes a product out of the cart.
    pub async fn remove(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        product: Uuid,
    ) -> Result<Cart, AppError> {
        self.change(caller, restaurant, product, Change::Remove)
            .await
    }

    /// Empties the cart.
    pub async fn clear(&self, caller: &Caller, restaurant: Uuid) -> Result<Cart, AppError> {
        authorize(caller, restaurant)?;
        let txn = begin_write(&self.db).await?;
        if let Some(cart) = repository::lock_cart(&txn, restaurant).await? {
            repository::empty_cart(&txn, cart.id).await?;
            touch(&txn, cart.id).await?;
        }
        txn.commit().await?;
        self.get(caller, restaurant).await
    }

    /// Sets several products' cart quantities at once (adding the products not in the cart
    /// yet), in one transaction: all or nothing.
    #[tracing::instrument(skip_all, fields(caller = %caller, restaurant_id = %restaurant, lines = lines.len()))]
    pub async fn set_many(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        lines: &[(Uuid, i64)],
    ) -> Result<Cart, AppError> {
        authorize(caller, restaurant)?;
        for (index, (_, units)) in lines.iter().enumerate() {
            if quantity(*units, false).is_err() {
                return Err(AppError::validation(
                    format!("lines[{index}].quantity"),
                    format!("must be between 1 and {MAX_QUANTITY}"),
                ));
            }
        }
        let txn = begin_write(&self.db).await?;
        if restaurants::find_live(&txn, restaurant).await?.is_none() {
            return Err(AppError::not_found("Restaurant", restaurant));
        }
        let cart = match repository::lock_cart(&txn, restaurant).await? {
            Some(cart) => cart,
            None => create_cart(&txn, restaurant).await?,
        };
        let now = Utc::now();
        let mut count = repository::count_cart_items(&txn, cart.id).await? as usize;
        for (product, units) in lines {
            match repository::find_cart_item(&txn, cart.id, *product).await? {
                Some(item) => {
                    repository::set_cart_item_quantity(&txn, item.id, *units, now).await?;
                }
                None => {
                    let found = catalog::find_live(&txn, *product)
                        .await?
                        .ok_or_else(|| AppError::not_found("Product", *product))?;
                    if !found.active {
                        return Err(AppError::Conflict(format!(
                            "productId: {} is not available for ordering",
                            found.name
                        )));
                    }
                    if count >= MAX_LINES {
                        return Err(AppError::Conflict(format!(
                            "productId: the cart already holds {MAX_LINES} products"
                        )));
                    }
                    repository::insert_cart_item(&txn, cart.id, *product, *units, now).await?;
                    count += 1;
                }
            }
        }
        touch(&txn, cart.id).await?;
        txn.commit().await?;
        Ok(Cart {
            restaurant_id: restaurant,
            updated_at: Some(now),
        })
    }

    async fn change(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        product: Uuid,
        change: Change,
    ) -> Result<Cart, AppError> {
        authorize(caller, restaurant)?;
        let txn = begin_write(&self.db).await?;
        if restaurants::find_live(&txn, restaurant).await?.is_none() {
            return Err(AppError::not_found("Restaurant", restaurant));
        }
        // The locked cart row makes concurrent changes (and checkouts) of one cart take turns.
        let cart = match repository::lock_cart(&txn, restaurant).await? {
            Some(cart) => cart,
            None if matches!(change, Change::Remove | Change::Set(_)) => {
                return Err(AppError::not_found("Cart item", product));
            }
            None => create_cart(&txn, restaurant).await?,
        };
        let existing = repository::find_cart_item(&txn, cart.id, product).await?;
        let now = Utc::now();
        match (change, existing) {
            (Change::Remove, Some(item)) => {
                repository::delete_cart_item(&txn, item.id).await?;
            }
            (Change::Remove | Change::Set(_), None) => {
                return Err(AppError::not_found("Cart item", product));
            }
            (Change::Add(units), Some(item)) | (Change::Set(units), Some(item)) => {
                let quantity = match change {
                    Change::Add(_) => item.quantity + units,
                    _ => units,
                };
                // What the cart already holds is in the way, not the request: a conflict.
                if quantity > MAX_QUANTITY {
                    return Err(AppError::Conflict(format!(
                        "quantity: would make {quantity} in the cart; at most {MAX_QUANTITY} per product"
                    )));
                }
                repository::set_cart_item_quantity(&txn, item.id, quantity, now).await?;
            }
            (Change::Add(units), None) => {
                let found = catalog::find_live(&txn, product)
                    .await?
                    .ok_or_else(|| AppError::not_found("Product", product))?;
                // The product's and the cart's states are in the way, not the request.
                if !found.active {
                    return Err(AppError::Conflict(format!(
                        "productId: {} is not available for ordering",
                        found.name
                    )));
                }
                let count = repository::count_cart_items(&txn, cart.id).await?;
                if count as usize >= MAX_LINES {
                    return Err(AppError::Conflict(format!(
                        "productId: the cart already holds {MAX_LINES} products"
                    )));
                }
                repository::insert_cart_item(&txn, cart.id, product, units, now).await?;
            }
        }
        touch(&txn, cart.id).await?;
        txn.commit().await?;
        Ok(Cart {
            restaurant_id: restaurant,
            updated_at: Some(now),
        })
    }
}

/// The restaurant's cart, created if it has none (a concurrent creator wins harmlessly).
async fn create_cart(
    txn: &DatabaseTransaction,
    restaurant: Uuid,
) -> Result<carts::Model, AppError> {
    repository::insert_cart_unless_exists(txn, restaurant, Utc::now()).await?;
    repository::lock_cart(txn, restaurant)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("created cart vanished")))
}

async fn touch(txn: &DatabaseTransaction, cart: Uuid) -> Result<(), AppError> {
    repository::touch_cart(txn, cart, Utc::now()).await
}
