//! Where an organisation is: latitude and longitude, exact to a millionth of a degree (about
//! 0.1 m), stored as integers so both backends keep them exactly.

use rust_decimal::{Decimal, prelude::ToPrimitive};

/// A point on Earth in millionths of a degree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub latitude_e6: i64,
    pub longitude_e6: i64,
}

impl Location {
    /// Validates degrees: latitude −90…90, longitude −180…180, at most 6 decimals; every
    /// problem as (field, rule).
    pub fn parse(
        latitude: Decimal,
        longitude: Decimal,
    ) -> Result<Location, Vec<(&'static str, String)>> {
        let scaled = |value: Decimal, max: i64, field: &'static str| {
            let Some(e6) = value.checked_mul(Decimal::from(1_000_000)) else {
                return Err((field, format!("must be between -{max} and {max}")));
            };
            if !e6.fract().is_zero() {
                return Err((field, "must have at most 6 decimals".to_owned()));
            }
            match e6.to_i64() {
                Some(v) if v.abs() <= max * 1_000_000 => Ok(v),
                _ => Err((field, format!("must be between -{max} and {max}"))),
            }
        };
        match (
            scaled(latitude, 90, "latitude"),
            scaled(longitude, 180, "longitude"),
        ) {
            (Ok(latitude_e6), Ok(longitude_e6)) => Ok(Location {
                latitude_e6,
                longitude_e6,
            }),
            (a, b) => Err([a.err(), b.err()].into_iter().flatten().collect()),
        }
    }

    /// [`Location::parse`], its problems as one VALIDATION error naming each field.
    pub fn from_degrees(
        latitude: Decimal,
        longitude: Decimal,
    ) -> Result<Location, crate::error::AppError> {
        Location::parse(latitude, longitude).map_err(|problems| {
            crate::error::AppError::Validation(
                problems
                    .into_iter()
                    .map(|(field, message)| crate::error::FieldViolation {
                        field: field.to_owned(),
                        message,
                    })
                    .collect(),
            )
        })
    }

    /// As stored: both columns or neither.
    pub fn of_stored(latitude_e6: Option<i64>, longitude_e6: Option<i64>) -> Option<Location> {
        Some(Location {
            latitude_e6: latitude_e6?,
            longitude_e6: longitude_e6?,
        })
    }

    pub fn latitude(&self) -> Decimal {
        Decimal::new(self.latitude_e6, 6).normalize()
    }

    pub fn longitude(&self) -> Decimal {
        Decimal::new(self.longitude_e6, 6).normalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn degrees_round_trip_and_bad_ones_name_their_field() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let here = Location::parse(d("57.708870"), d("11.974560")).unwrap();
        assert_eq!(here.latitude(), d("57.70887"));
        assert_eq!(here.longitude_e6, 11_974_560);
        let bad = Location::parse(d("91"), d("1.0000001")).unwrap_err();
        assert_eq!(
            bad.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
            ["latitude", "longitude"]
        );
    }
}
