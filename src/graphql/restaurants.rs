//! Restaurants over GraphQL: `restaurant`, `createRestaurant`.

use async_graphql::{Context, Guard, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    caller,
    common::{Weekday, parse_id},
    loaders::loaders,
    services,
};
use crate::{
    domain::restaurants::{self as domain, DeliveryPrefs, NewRestaurant, Restaurant},
    error::AppError,
};

/// A restaurant buying on the marketplace.
pub struct RestaurantObject(pub Restaurant, pub Access);

/// Whose eyes a restaurant is shown to.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub enum Access {
    /// The caller's, as the request's principal says.
    #[default]
    Caller,
    /// The caller's, who has just created it and is its OWNER (or an admin) — the request's
    /// principal predates the membership, so the guard would otherwise refuse its own
    /// restaurant's private fields in `createRestaurant`'s answer.
    Creator,
}

impl RestaurantObject {
    pub fn of(restaurant: Restaurant) -> Self {
        Self(restaurant, Access::Caller)
    }
}

/// Guard of a restaurant's private fields: its members, admins and the suppliers it ordered
/// from (the rule is the domain's; whether it traded with the caller is batched per request).
struct RestaurantPrivate(uuid::Uuid, Access);

impl Guard for RestaurantPrivate {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        if self.1 == Access::Creator {
            return Ok(());
        }
        let principal = &caller(ctx).principal;
        let supplies_anyone = principal.account().is_some_and(|a| !a.suppliers.is_empty());
        let trades = supplies_anyone
            && !domain::may_see_private(principal, self.0, false)
            && loaders(ctx)?.trade.load_one(self.0).await?.unwrap_or(false);
        if domain::may_see_private(principal, self.0, trades) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only the restaurant's members, its suppliers and admins see this".into(),
            )
            .into())
        }
    }
}

/// A restaurant buying on the marketplace.
#[Object(name = "Restaurant")]
impl RestaurantObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// City.
    async fn city(&self) -> &str {
        &self.0.city
    }
    /// Whether it is ordering.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// When it was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Contact e-mail: members and admins only (FORBIDDEN for others).
    #[graphql(guard = "RestaurantPrivate(self.0.id, self.1)")]
    async fn contact_email(&self) -> Option<String> {
        Some(self.0.contact_email.clone())
    }
    /// Where it is: members, its suppliers and admins only (FORBIDDEN for others).
    #[graphql(guard = "RestaurantPrivate(self.0.id, self.1)")]
    async fn location(&self) -> Option<crate::graphql::common::LocationObject> {
        self.0.location.map(Into::into)
    }
    /// When and how it wants deliveries: members and admins only (FORBIDDEN for others).
    #[graphql(guard = "RestaurantPrivate(self.0.id, self.1)")]
    async fn delivery_prefs(&self) -> Option<DeliveryPrefsObject> {
        Some(DeliveryPrefsObject::from(self.0.delivery_prefs.clone()))
    }
}

/// When and how a restaurant wants deliveries.
#[derive(SimpleObject)]
#[graphql(name = "DeliveryPrefs")]
pub struct DeliveryPrefsObject {
    /// Preferred delivery days.
    days: Vec<Weekday>,
    /// Earliest delivery time, local HH:MM.
    earliest: Option<String>,
    /// Latest delivery time, local HH:MM.
    latest: Option<String>,
    /// Instructions for the driver.
    notes: Option<String>,
}

impl From<DeliveryPrefs> for DeliveryPrefsObject {
    fn from(p: DeliveryPrefs) -> Self {
        DeliveryPrefsObject {
            days: p.days.into_iter().map(Weekday::from).collect(),
            earliest: p.earliest,
            latest: p.latest,
            notes: p.notes,
        }
    }
}

/// When and how a restaurant wants deliveries.
#[derive(InputObject, Default)]
pub struct DeliveryPrefsInput {
    /// Preferred delivery days.
    #[graphql(default)]
    days: Vec<Weekday>,
    /// Earliest delivery time, local HH:MM.
    earliest: Option<String>,
    /// Latest delivery time, local HH:MM.
    latest: Option<String>,
    /// Instructions for the driver (at most 1000 characters).
    notes: Option<String>,
}

/// A new restaurant.
#[derive(InputObject)]
pub struct CreateRestaurantInput {
    /// Name (1–200 characters).
    name: String,
    /// Contact e-mail.
    contact_email: String,
    /// City (1–100 characters).
    city: String,
    /// Delivery preferences.
    delivery_prefs: Option<DeliveryPrefsInput>,
}

/// Result of `createRestaurant`.
#[derive(SimpleObject)]
pub struct CreateRestaurantPayload {
    /// The new restaurant.
    restaurant: RestaurantObject,
}

#[derive(Default)]
pub struct RestaurantQuery;

#[Object]
impl RestaurantQuery {
    /// One restaurant by id (signed-in callers); null with NOT_FOUND when there is none.
    async fn restaurant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant's id (UUID).")] id: ID,
    ) -> async_graphql::Result<Option<RestaurantObject>> {
        let id = parse_id("id", &id)?;
        let restaurant = services(ctx)?.restaurants.get(caller(ctx), id).await?;
        Ok(Some(RestaurantObject::of(restaurant)))
    }
}

#[derive(Default)]
pub struct RestaurantMutation;

#[Object]
impl RestaurantMutation {
    /// Creates a restaurant (admins and restaurant accounts; a restaurant account becomes its
    /// OWNER).
    async fn create_restaurant(
        &self,
        ctx: &Context<'_>,
        input: CreateRestaurantInput,
    ) -> async_graphql::Result<CreateRestaurantPayload> {
        let prefs = input.delivery_prefs.unwrap_or_default();
        let restaurant = services(ctx)?
            .restaurants
            .create(
                caller(ctx),
                NewRestaurant {
                    name: input.name,
                    contact_email: input.contact_email,
                    city: input.city,
                    delivery_prefs: DeliveryPrefs {
                        days: prefs.days.into_iter().map(Into::into).collect(),
                        earliest: prefs.earliest,
                        latest: prefs.latest,
                        notes: prefs.notes,
                    },
                },
            )
            .await?;
        Ok(CreateRestaurantPayload {
            restaurant: RestaurantObject(restaurant, Access::Creator),
        })
    }

    /// Sets (or clears) where a restaurant is: its owners and admins (audited).
    async fn set_restaurant_location(
        &self,
        ctx: &Context<'_>,
        input: crate::graphql::common::SetLocationInput,
    ) -> async_graphql::Result<CreateRestaurantPayload> {
        let (id, degrees) = input.parts()?;
        let services = services(ctx)?;
        services
            .restaurants
            .set_location(caller(ctx), id, degrees)
            .await?;
        let restaurant = services.restaurants.get(caller(ctx), id).await?;
        Ok(CreateRestaurantPayload {
            restaurant: RestaurantObject::of(restaurant),
        })
    }
}
