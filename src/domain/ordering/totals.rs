//! Order totals: exact line totals, VAT by rate, everything rounded half-up to 2 decimals.
//!
//! - A line total is `unit price × quantity`, exact (unit prices have up to 3 decimals).
//! - The subtotal is the sum of line totals, rounded half-up to cents.
//! - VAT is computed per rate on the exact sum of the lines at that rate, each rounded half-up
//!   to cents (the usual invoice rule), and the order's VAT is the sum of those.
//! - The total is subtotal + VAT.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::domain::kernel::money;

/// One line to price: thousandths per unit, units, and VAT in basis points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PricedLine {
    pub unit_price_milli: i64,
    pub quantity: i64,
    pub tax_rate_bp: i32,
}

/// VAT at one rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxLine {
    /// Basis points (1200 = 12 %).
    pub rate_bp: i32,
    /// Sum of the lines at this rate, in thousandths, rounded to cents.
    pub base_milli: i64,
    /// The VAT, in thousandths, rounded to cents.
    pub amount_milli: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totals {
    /// Per line, in input order, exact (thousandths).
    pub line_totals_milli: Vec<i64>,
    pub subtotal_milli: i64,
    /// By rate, highest rate first.
    pub taxes: Vec<TaxLine>,
    pub tax_milli: i64,
    pub total_milli: i64,
}

/// Half-up (away from zero) to cents.
pub fn to_cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn milli(amount: Decimal) -> Option<i64> {
    money::to_milli(amount).ok()
}

/// Prices `lines`; `Err(i)` names the first line whose total does not fit.
pub fn compute(lines: &[PricedLine]) -> Result<Totals, usize> {
    let mut line_totals = Vec::with_capacity(lines.len());
    let mut sum: i64 = 0;
    let mut by_rate: std::collections::BTreeMap<i32, i64> = Default::default();
    for (i, line) in lines.iter().enumerate() {
        let total = line.unit_price_milli.checked_mul(line.quantity).ok_or(i)?;
        sum = sum.checked_add(total).ok_or(i)?;
        let at_rate = by_rate.entry(line.tax_rate_bp).or_default();
        *at_rate = at_rate.checked_add(total).ok_or(i)?;
        line_totals.push(total);
    }
    let last = lines.len().saturating_sub(1);
    let subtotal = milli(to_cents(money::from_milli(sum))).ok_or(last)?;
    let mut taxes = Vec::with_capacity(by_rate.len());
    let mut tax: i64 = 0;
    for (&rate_bp, &base) in by_rate.iter().rev() {
        let exact_base = money::from_milli(base);
        let amount = to_cents(exact_base * Decimal::new(i64::from(rate_bp), 4));
        let amount_milli = milli(amount).ok_or(last)?;
        tax = tax.checked_add(amount_milli).ok_or(last)?;
        taxes.push(TaxLine {
            rate_bp,
            base_milli: milli(to_cents(exact_base)).ok_or(last)?,
            amount_milli,
        });
    }
    Ok(Totals {
        line_totals_milli: line_totals,
        subtotal_milli: subtotal,
        taxes,
        tax_milli: tax,
        total_milli: subtotal.checked_add(tax).ok_or(last)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(price: i64, quantity: i64, rate: i32) -> PricedLine {
        PricedLine {
            unit_price_milli: price,
            quantity,
            tax_rate_bp: rate,
        }
    }

    #[test]
    fn half_a_cent_rounds_up_and_vat_is_per_rate() {
        // 3 × 0.335 = 1.005 → subtotal 1.01; VAT 12 % of 1.005 = 0.1206 → 0.12.
        let t = compute(&[line(335, 3, 1200)]).unwrap();
        assert_eq!(t.line_totals_milli, [1005]);
        assert_eq!(t.subtotal_milli, 1010);
        assert_eq!(t.tax_milli, 120);
        assert_eq!(t.total_milli, 1130);

        // 12 %: 2 × 10.125 = 20.25 → 2.43; 25 %: 1 × 4.002 → 1.0005 → 1.00.
        let t = compute(&[line(10_125, 2, 1200), line(4_002, 1, 2500)]).unwrap();
        assert_eq!(t.subtotal_milli, 24_250);
        assert_eq!(
            t.taxes,
            [
                TaxLine {
                    rate_bp: 2500,
                    base_milli: 4_000,
                    amount_milli: 1_000
                },
                TaxLine {
                    rate_bp: 1200,
                    base_milli: 20_250,
                    amount_milli: 2_430
                },
            ]
        );
        assert_eq!(t.total_milli, 24_250 + 3_430);
    }

    #[test]
    fn vat_midpoints_round_away_from_zero() {
        // 6 % of 0.25 = 0.015 → 0.02.
        let t = compute(&[line(250, 1, 600)]).unwrap();
        assert_eq!(t.tax_milli, 20);
    }

    #[test]
    fn overflowing_lines_are_named() {
        assert_eq!(compute(&[line(1, 1, 0), line(i64::MAX, 2, 0)]), Err(1));
    }
}
