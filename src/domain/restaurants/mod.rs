//! Restaurants: organisations buying on the marketplace.
//!
//! Rules: admins and RESTAURANT accounts create restaurants (a restaurant account becomes the
//! OWNER of the one it creates); anyone signed in sees a restaurant's name and city; its contact
//! e-mail and delivery preferences are for its members, admins, and the suppliers it has ordered
//! from.

mod repository;
mod service;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{auth::Principal, domain::kernel::weekday::Weekday};

pub use service::RestaurantService;

/// A live restaurant by id, on any connection (other contexts check restaurants inside their
/// transactions).
pub(crate) use repository::{find_including_deleted, find_live, find_many_live};

/// When and how a restaurant wants deliveries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPrefs {
    pub days: Vec<Weekday>,
    /// Earliest delivery time, local `HH:MM`.
    pub earliest: Option<String>,
    /// Latest delivery time, local `HH:MM`.
    pub latest: Option<String>,
    pub notes: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restaurant {
    pub id: Uuid,
    pub name: String,
    pub contact_email: String,
    pub city: String,
    pub delivery_prefs: DeliveryPrefs,
    pub active: bool,
    /// Where it is (for distances); `None` until given.
    pub location: Option<crate::domain::kernel::geo::Location>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default)]
pub struct NewRestaurant {
    pub name: String,
    pub contact_email: String,
    pub city: String,
    pub delivery_prefs: DeliveryPrefs,
}

fn time_of_day(raw: &str) -> Result<String, String> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M")
        .map(|t| t.format("%H:%M").to_string())
        .map_err(|_| "must be a time of day such as 06:30".into())
}

/// Whether the principal may see a restaurant's contact details and delivery preferences: its
/// members, admins, and members of a supplier it has ordered from (`trades_with_caller`, see
/// `OrderService::restaurants_trading_with_caller`).
pub fn may_see_private(principal: &Principal, restaurant: Uuid, trades_with_caller: bool) -> bool {
    principal.is_admin() || principal.restaurant_role(restaurant).is_some() || trades_with_caller
}

/// Which restaurants to list; all conditions must hold.
#[derive(Clone, Debug, Default)]
pub struct RestaurantFilter {
    /// Case-insensitive part of the name.
    pub name: Option<String>,
    /// Case-insensitive city.
    pub city: Option<String>,
}
