//! Exact money. Amounts are `rust_decimal::Decimal` in code and thousandths of the currency unit
//! (`i64`) in storage, because SeaORM's decimal column is a float on SQLite. Conversion happens
//! only at the repository edge, through [`to_milli`] and [`from_milli`].

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Digits after the decimal point that storage keeps (unit prices go down to 0.001).
pub const SCALE: u32 = 3;

/// ISO 4217 currencies the marketplace trades in.
pub const SUPPORTED_CURRENCIES: [&str; 9] = [
    "SEK", "NOK", "DKK", "EUR", "ISK", "GBP", "USD", "CHF", "PLN",
];

pub const DEFAULT_CURRENCY: &str = "SEK";

/// Why an amount cannot be stored exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    TooPrecise,
    OutOfRange,
}

impl AmountError {
    pub fn rule(&self) -> String {
        match self {
            AmountError::TooPrecise => format!("must have at most {SCALE} decimal places"),
            AmountError::OutOfRange => "is too large".into(),
        }
    }
}

/// Parses a decimal written plainly: optional sign, digits, at most one point ("1250.50",
/// "0.001", "-3"). Exponents, separators and other spellings are refused.
pub fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
    let plain = digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1;
    plain
        .then(|| trimmed.parse::<Decimal>().ok())
        .flatten()
        .ok_or_else(|| format!("\"{text}\" is not a decimal number"))
}

/// A number as people and spreadsheets write it: `1 234,50`, `1234.50`, `1.234,50`, `12,5`,
/// with spaces (also non-breaking and thin ones) or apostrophes grouping thousands. One comma
/// and no point is a decimal comma; where both appear, the last one is the decimal mark.
pub fn parse_written(raw: &str) -> Result<Decimal, String> {
    let compact: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\''))
        .collect();
    let (commas, points) = (compact.matches(',').count(), compact.matches('.').count());
    let plain = match (commas, points) {
        (0, _) if points <= 1 => compact.clone(),
        (0, _) => compact.replace('.', ""),
        (1, 0) => compact.replace(',', "."),
        (1, _) if compact.rfind(',') > compact.rfind('.') => {
            compact.replace('.', "").replace(',', ".")
        }
        _ => compact.replace(',', ""),
    };
    parse_decimal(&plain).map_err(|_| format!("\"{raw}\" is not a number"))
}

/// Decimal → thousandths, refusing anything that would lose a digit.
pub fn to_milli(amount: Decimal) -> Result<i64, AmountError> {
    let normalized = amount.normalize();
    if normalized.scale() > SCALE {
        return Err(AmountError::TooPrecise);
    }
    let milli = normalized
        .checked_mul(Decimal::from(1000))
        .ok_or(AmountError::OutOfRange)?;
    let milli = i64::try_from(milli).map_err(|_| AmountError::OutOfRange)?;
    // At most 15 digits before the point: one bound for every amount, which the API documents.
    if milli.unsigned_abs() > MAX_MILLI {
        return Err(AmountError::OutOfRange);
    }
    Ok(milli)
}

/// The largest amount, in thousandths: 999 999 999 999 999.999.
const MAX_MILLI: u64 = 999_999_999_999_999_999;

/// Thousandths → Decimal, exact, without trailing zeros (`1500`, `0.001`, `12.5`).
pub fn from_milli(milli: i64) -> Decimal {
    Decimal::new(milli, SCALE).normalize()
}

/// A three-letter ISO 4217 code from [`SUPPORTED_CURRENCIES`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim().to_ascii_uppercase();
        if SUPPORTED_CURRENCIES.contains(&code.as_str()) {
            Ok(Currency(code))
        } else {
            Err(format!(
                "must be one of {}",
                SUPPORTED_CURRENCIES.join(", ")
            ))
        }
    }

    /// A code read back from storage, kept as stored (it was validated on the way in).
    pub fn from_stored(code: &str) -> Self {
        Currency(code.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency(DEFAULT_CURRENCY.into())
    }
}

/// An exact amount in a currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn thousandths_round_trip_exactly() {
        for s in [
            "0",
            "0.001",
            "12345678.905",
            "1500",
            "0.1",
            "999999999999999.999",
        ] {
            assert_eq!(from_milli(to_milli(d(s)).unwrap()), d(s), "{s}");
        }
        // 15 digits before the point at most, as the API documents.
        assert_eq!(
            to_milli(d("1000000000000000")),
            Err(AmountError::OutOfRange)
        );
        assert_eq!(
            to_milli(d("-1000000000000000")),
            Err(AmountError::OutOfRange)
        );
        assert_eq!(to_milli(d("1.5000")).unwrap(), 1500);
    }

    #[test]
    fn only_plain_decimals_parse() {
        assert_eq!(parse_decimal(" 1250.50 ").unwrap(), d("1250.50"));
        assert_eq!(parse_decimal("-3").unwrap(), d("-3"));
        for bad in ["", ".", "1_000", "1e3", "1.2.3", "abc", "0x10"] {
            assert!(parse_decimal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_that_would_lose_digits_are_refused() {
        assert_eq!(to_milli(d("0.0001")), Err(AmountError::TooPrecise));
        assert_eq!(
            to_milli(d("9223372036854775.808")),
            Err(AmountError::OutOfRange)
        );
    }

    #[test]
    fn currencies_are_normalised_iso_codes() {
        assert_eq!(Currency::parse(" sek ").unwrap().as_str(), "SEK");
        assert!(
            Currency::parse("KRONOR")
                .unwrap_err()
                .starts_with("must be one of SEK")
        );
    }
}
