//! Suppliers: wholesale organisations selling on the marketplace.
//!
//! Rules: names and cities are non-empty text; the organisation number is a valid Swedish one
//! and unique among live suppliers; the contact e-mail is plausible; the minimum order value is
//! a non-negative exact amount in the supplier's currency; a supplier delivers on at least one
//! weekday. Deletion is soft: the row stays (for order history) but disappears from every read.
//! Every change publishes a [`SupplierChanged`] event after it is committed.

mod repository;
mod service;

pub use service::SupplierService;

/// Live suppliers by id, on any connection (other contexts read them inside their transactions).
pub(crate) use repository::{find_many_including_deleted, find_many_live};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    domain::kernel::{
        money::{self, Currency, Money},
        pagination::Direction,
        validation::{self, Violations},
        weekday::{Weekday, WeekdaySet},
    },
    error::AppError,
    infra::bus::Event,
};

/// A supplier as the product shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supplier {
    pub id: Uuid,
    pub name: String,
    pub organisation_number: String,
    pub contact_email: String,
    pub city: String,
    pub currency: Currency,
    pub minimum_order_value: Money,
    pub delivery_days: WeekdaySet,
    pub active: bool,
    /// Where it is (for distances); `None` until given.
    #[serde(default)]
    pub location: Option<crate::domain::kernel::geo::Location>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Input of `create`; unvalidated.
#[derive(Clone, Debug, Default)]
pub struct NewSupplier {
    pub name: String,
    pub organisation_number: String,
    pub contact_email: String,
    pub city: String,
    /// Defaults to SEK.
    pub currency: Option<String>,
    /// Defaults to 0.
    pub minimum_order_value: Option<Decimal>,
    pub delivery_days: Vec<Weekday>,
    /// Defaults to true.
    pub active: Option<bool>,
}

/// Input of `update`: only the fields given change; unvalidated.
#[derive(Clone, Debug, Default)]
pub struct SupplierChanges {
    pub name: Option<String>,
    pub organisation_number: Option<String>,
    pub contact_email: Option<String>,
    pub city: Option<String>,
    pub currency: Option<String>,
    pub minimum_order_value: Option<Decimal>,
    pub delivery_days: Option<Vec<Weekday>>,
    pub active: Option<bool>,
}

/// Validated field values, ready for storage. A `None` leaves the stored value as it is.
#[derive(Clone, Debug, Default)]
pub(super) struct ValidChanges {
    pub name: Option<String>,
    pub organisation_number: Option<String>,
    pub contact_email: Option<String>,
    pub city: Option<String>,
    pub currency: Option<Currency>,
    pub minimum_order_value_milli: Option<i64>,
    pub delivery_days: Option<WeekdaySet>,
    pub active: Option<bool>,
}

impl ValidChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.organisation_number.is_none()
            && self.contact_email.is_none()
            && self.city.is_none()
            && self.currency.is_none()
            && self.minimum_order_value_milli.is_none()
            && self.delivery_days.is_none()
            && self.active.is_none()
    }
}

fn minimum_order_value(amount: Decimal) -> Result<i64, String> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err("must not be negative".into());
    }
    money::to_milli(amount).map_err(|e| e.rule())
}

fn delivery_days(days: &[Weekday]) -> Result<WeekdaySet, String> {
    let set = WeekdaySet::from_days(days);
    if set.is_empty() {
        Err("must name at least one weekday".into())
    } else {
        Ok(set)
    }
}

impl SupplierChanges {
    /// Checks every given field; reports all violations at once.
    pub(super) fn validate(self) -> Result<ValidChanges, AppError> {
        let mut v = Violations::default();
        let valid = ValidChanges {
            name: self
                .name
                .and_then(|s| v.check("name", validation::text(&s, 200))),
            organisation_number: self
                .organisation_number
                .and_then(|s| v.check("organisationNumber", validation::organisation_number(&s))),
            contact_email: self
                .contact_email
                .and_then(|s| v.check("contactEmail", validation::email(&s))),
            city: self
                .city
                .and_then(|s| v.check("city", validation::text(&s, 100))),
            currency: self
                .currency
                .and_then(|s| v.check("currency", Currency::parse(&s))),
            minimum_order_value_milli: self
                .minimum_order_value
                .and_then(|a| v.check("minimumOrderValue", minimum_order_value(a))),
            delivery_days: self
                .delivery_days
                .and_then(|d| v.check("deliveryDays", delivery_days(&d))),
            active: self.active,
        };
        v.finish()?;
        Ok(valid)
    }
}

impl NewSupplier {
    /// A new supplier is a full set of changes, with defaults for the optional fields.
    pub(super) fn validate(self) -> Result<ValidChanges, AppError> {
        let mut valid = SupplierChanges {
            name: Some(self.name),
            organisation_number: Some(self.organisation_number),
            contact_email: Some(self.contact_email),
            city: Some(self.city),
            currency: Some(
                self.currency
                    .unwrap_or_else(|| money::DEFAULT_CURRENCY.into()),
            ),
            minimum_order_value: Some(self.minimum_order_value.unwrap_or_default()),
            delivery_days: Some(self.delivery_days),
            active: Some(self.active.unwrap_or(true)),
        }
        .validate()?;
        valid.active.get_or_insert(true);
        Ok(valid)
    }
}

/// Which suppliers a list returns.
#[derive(Clone, Debug, Default)]
pub struct SupplierFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// Case-insensitive city.
    pub city: Option<String>,
    pub active: Option<bool>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SupplierSortField {
    #[default]
    Name,
    City,
    CreatedAt,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SupplierSort {
    pub field: SupplierSortField,
    pub direction: Direction,
}

/// What happened to a supplier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SupplierChangeKind {
    Created,
    Updated,
    Deleted,
}

/// Published on the bus after every committed change to a supplier.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SupplierChanged {
    pub kind: SupplierChangeKind,
    /// The supplier as it is after the change (with `deleted_at` set for a deletion).
    pub supplier: Supplier,
    pub occurred_at: DateTime<Utc>,
}

impl Event for SupplierChanged {
    const TOPIC: &'static str = "suppliers.changed";
}
