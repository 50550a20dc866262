//! GraphQL types shared by every context: money, weekdays, sort direction, ids.

use async_graphql::{
    Enum, ID, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{
    domain::kernel::{money, pagination, weekday},
    error::AppError,
};

/// An exact decimal number, written as a string such as "1250.50". Integers are accepted as
/// numbers too; fractional numbers must be strings, because a JSON float is inexact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExactDecimal(pub Decimal);

/// An exact decimal number, written as a string such as "1250.50". Integers are accepted as
/// numbers too; fractional numbers must be strings, because a JSON float is inexact.
#[Scalar(name = "Decimal")]
impl ScalarType for ExactDecimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => money::parse_decimal(s)
                .map(ExactDecimal)
                .map_err(InputValueError::custom),
            Value::Number(n) if n.is_i64() || n.is_u64() => n
                .as_i64()
                .map(|i| ExactDecimal(Decimal::from(i)))
                .ok_or_else(|| InputValueError::custom("the number is too large")),
            Value::Number(n) => Err(InputValueError::custom(format!(
                "send fractional amounts as strings, e.g. \"{n}\": a JSON float is inexact"
            ))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// An exact amount of money in a currency. `amount` is a decimal string (never a float).
#[derive(SimpleObject, Clone)]
#[graphql(name = "Money")]
pub struct MoneyObject {
    /// The amount, e.g. "1250.50", exact to the thousandth.
    pub amount: ExactDecimal,
    /// ISO 4217 currency code, e.g. "SEK".
    pub currency: String,
}

impl From<money::Money> for MoneyObject {
    fn from(m: money::Money) -> Self {
        MoneyObject {
            amount: ExactDecimal(m.amount),
            currency: m.currency.as_str().to_owned(),
        }
    }
}

/// A day of the week.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "weekday::Weekday")]
pub enum Weekday {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
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

/// A calendar date, written `YYYY-MM-DD` (ISO 8601).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub chrono::NaiveDate);

/// A calendar date, written `YYYY-MM-DD` (ISO 8601).
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    InputValueError::custom(format!("\"{s}\" is not a date such as 2026-12-03"))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An amount in a currency, for the GraphQL types that hold the two apart.
pub fn money(amount: Decimal, currency: &money::Currency) -> MoneyObject {
    MoneyObject {
        amount: ExactDecimal(amount.normalize()),
        currency: currency.as_str().to_owned(),
    }
}

/// Where an organisation is, in degrees (WGS 84).
#[derive(SimpleObject, Clone)]
#[graphql(name = "Location")]
pub struct LocationObject {
    /// Latitude, −90 to 90, e.g. "57.70887".
    pub latitude: ExactDecimal,
    /// Longitude, −180 to 180, e.g. "11.97456".
    pub longitude: ExactDecimal,
}

impl From<crate::domain::kernel::geo::Location> for LocationObject {
    fn from(l: crate::domain::kernel::geo::Location) -> Self {
        LocationObject {
            latitude: ExactDecimal(l.latitude()),
            longitude: ExactDecimal(l.longitude()),
        }
    }
}

/// Where an organisation is; both or neither (clears it).
#[derive(async_graphql::InputObject)]
pub struct SetLocationInput {
    /// The supplier or restaurant (UUID).
    pub id: ID,
    /// Latitude in degrees, −90 to 90, at most 6 decimals.
    pub latitude: Option<ExactDecimal>,
    /// Longitude in degrees, −180 to 180, at most 6 decimals.
    pub longitude: Option<ExactDecimal>,
}

impl SetLocationInput {
    /// The organisation's id and its degrees (`None`: clear).
    pub fn parts(&self) -> Result<(Uuid, Option<(Decimal, Decimal)>), AppError> {
        let id = parse_id("id", &self.id)?;
        match (self.latitude, self.longitude) {
            (Some(lat), Some(lon)) => Ok((id, Some((lat.0, lon.0)))),
            (None, None) => Ok((id, None)),
            (None, Some(_)) => Err(AppError::validation(
                "latitude",
                "is required with longitude",
            )),
            (Some(_), None) => Err(AppError::validation(
                "longitude",
                "is required with latitude",
            )),
        }
    }
}
