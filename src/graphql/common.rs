//! GraphQL types shared by every context: money, weekdays, sort direction, ids.

use async_graphql::{Enum, ID, SimpleObject};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{
    domain::{money, pagination, weekday},
    error::AppError,
};

/// An exact amount of money in a currency. `amount` is a decimal string (never a float).
#[derive(SimpleObject, Clone)]
#[graphql(name = "Money")]
pub struct MoneyObject {
    /// The amount, e.g. "1250.50", exact to the thousandth.
    pub amount: Decimal,
    /// ISO 4217 currency code, e.g. "SEK".
    pub currency: String,
}

impl From<money::Money> for MoneyObject {
    fn from(m: money::Money) -> Self {
        MoneyObject {
            amount: m.amount,
            currency: m.currency.as_str().to_owned(),
        }
    }
}

/// A day of the week.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "weekday::Weekday")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// Order of a sorted list.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(remote = "pagination::Direction")]
pub enum SortDirection {
    /// Smallest first (A–Z, oldest first).
    #[default]
    Asc,
    /// Largest first (Z–A, newest first).
    Desc,
}

/// Parses an `ID` argument that must hold a UUID.
pub fn parse_id(field: &str, id: &ID) -> Result<Uuid, AppError> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::validation(field, "must be a UUID"))
}
