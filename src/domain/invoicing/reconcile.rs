//! Reconciliation: an invoice's lines against the order's, in exact decimals. Pure.
//!
//! - Each invoice line is matched to an order line by SKU, then GTIN (against the order line's
//!   SKU: suppliers whose article numbers are GTINs), then by name (trigram similarity ≥ 0.5,
//!   the most similar first). Each order line matches at most one invoice line.
//! - Price and quantity agree when they differ by at most the tolerance, relative to the
//!   order: `|invoiced − ordered| × 1,000,000 ≤ |ordered| × tolerance_ppm`, exact — 0.5 % is
//!   within ±0.5 %, 0.501 % is not.
//! - The invoice's own arithmetic is checked too: each line's amount against quantity × price
//!   (to the cent), the VAT per rate, and the stated totals against the lines'.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use uuid::Uuid;

use super::extract::line_amount;
use crate::domain::catalog::trigram;

/// The default tolerance: ±0.5 %.
pub const DEFAULT_TOLERANCE_PPM: u32 = 5_000;
/// The widest tolerance a supplier may set: ±10 %.
pub const MAX_TOLERANCE_PPM: u32 = 100_000;
/// How similar names must be to match (pg_trgm's default threshold is 0.3; invoices and
/// orders name the same product, so more is asked).
const NAME_SIMILARITY: f64 = 0.5;

/// How an invoice line found its order line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MatchedBy {
    Sku,
    Gtin,
    Name,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::Sku => "SKU",
            MatchedBy::Gtin => "GTIN",
            MatchedBy::Name => "NAME",
        }
    }

    pub fn parse(raw: &str) -> Option<MatchedBy> {
        Some(match raw {
            "SKU" => MatchedBy::Sku,
            "GTIN" => MatchedBy::Gtin,
            "NAME" => MatchedBy::Name,
            _ => return None,
        })
    }
}

/// How one line compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LineOutcome {
    Matched,
    PriceMismatch,
    QuantityMismatch,
    NotOrdered,
    MissingFromInvoice,
}

impl LineOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LineOutcome::Matched => "MATCHED",
            LineOutcome::PriceMismatch => "PRICE_MISMATCH",
            LineOutcome::QuantityMismatch => "QUANTITY_MISMATCH",
            LineOutcome::NotOrdered => "NOT_ORDERED",
            LineOutcome::MissingFromInvoice => "MISSING_FROM_INVOICE",
        }
    }

    pub fn parse(raw: &str) -> Option<LineOutcome> {
        Some(match raw {
            "MATCHED" => LineOutcome::Matched,
            "PRICE_MISMATCH" => LineOutcome::PriceMismatch,
            "QUANTITY_MISMATCH" => LineOutcome::QuantityMismatch,
            "NOT_ORDERED" => LineOutcome::NotOrdered,
            "MISSING_FROM_INVOICE" => LineOutcome::MissingFromInvoice,
            _ => return None,
        })
    }
}

/// A tolerance in parts per million (5,000 = ±0.5 %).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tolerance(u32);

impl Tolerance {
    pub fn ppm(ppm: u32) -> Tolerance {
        Tolerance(ppm.min(MAX_TOLERANCE_PPM))
    }

    pub fn as_ppm(self) -> u32 {
        self.0
    }

    /// As a percentage (`0.5`).
    pub fn percent(self) -> Decimal {
        (Decimal::from(self.0) / Decimal::from(10_000)).normalize()
    }

    /// From a percentage with at most 4 decimals (`0.5` → 5,000 ppm).
    pub fn from_percent(percent: Decimal) -> Result<Tolerance, String> {
        use rust_decimal::prelude::ToPrimitive;
        let ppm = percent
            .checked_mul(Decimal::from(10_000))
            .unwrap_or(Decimal::MAX);
        match ppm.to_u32() {
            Some(whole) if ppm.fract().is_zero() && whole <= MAX_TOLERANCE_PPM => {
                Ok(Tolerance(whole))
            }
            _ => Err("must be a percentage from 0 to 10 with at most 4 decimals".into()),
        }
    }

    /// Whether `actual` is within the tolerance of `expected`, exactly.
    pub fn admits(self, actual: Decimal, expected: Decimal) -> bool {
        if expected.is_zero() {
            return actual.is_zero();
        }
        (actual - expected).abs() * Decimal::from(1_000_000)
            <= expected.abs() * Decimal::from(self.0)
    }
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance(DEFAULT_TOLERANCE_PPM)
    }
}

/// An order line, as reconciliation sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderedLine {
    pub id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    /// Percent.
    pub tax_rate: Decimal,
}

/// An invoice line, as reconciliation sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct InvoicedLine {
    pub line_number: i32,
    pub sku: Option<String>,
    pub gtin: Option<String>,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub line_total: Decimal,
    pub tax_rate: Option<Decimal>,
}

/// What the invoice states about its totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InvoiceTotals {
    pub subtotal: Option<Decimal>,
    pub tax: Option<Decimal>,
    pub total: Option<Decimal>,
}

/// How one invoice line compared.
#[derive(Clone, Debug, PartialEq)]
pub struct LineResult {
    pub line_number: i32,
    pub order_line: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub matched_by: Option<MatchedBy>,
    pub outcome: LineOutcome,
    pub expected_quantity: Option<Decimal>,
    pub expected_unit_price: Option<Decimal>,
}

/// An order line the invoice does not charge.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingLine {
    pub order_line_id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
}

/// VAT for one rate, as the lines add up.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxLine {
    pub rate: Decimal,
    pub base: Decimal,
    pub amount: Decimal,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Reconciliation {
    pub lines: Vec<LineResult>,
    pub missing: Vec<MissingLine>,
    /// The lines' sum before VAT, VAT per rate and the total, as computed from the lines.
    pub subtotal: Decimal,
    pub taxes: Vec<TaxLine>,
    pub tax: Decimal,
    pub total: Decimal,
    /// What disagrees, in words (empty: the invoice matches).
    pub problems: Vec<String>,
}

impl Reconciliation {
    pub fn matched(&self) -> bool {
        self.problems.is_empty()
    }
}

fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn same_code(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Whether an invoice line and an order line are the same article by one identifier.
type Same = dyn Fn(&InvoicedLine, &OrderedLine) -> bool;

/// Pairs each invoice line with at most one order line (SKU, then GTIN, then name).
fn pair(invoiced: &[InvoicedLine], ordered: &[OrderedLine]) -> Vec<Option<(usize, MatchedBy)>> {
    let mut taken = vec![false; ordered.len()];
    let mut pairs: Vec<Option<(usize, MatchedBy)>> = vec![None; invoiced.len()];
    let passes: [(MatchedBy, &Same); 2] = [
        (MatchedBy::Sku, &|i, o| {
            i.sku.as_deref().is_some_and(|s| same_code(s, &o.sku))
        }),
        (MatchedBy::Gtin, &|i, o| {
            i.gtin.as_deref().is_some_and(|g| same_code(g, &o.sku))
        }),
    ];
    for (how, matches) in passes {
        for (i, line) in invoiced.iter().enumerate() {
            if pairs[i].is_some() {
                continue;
            }
            if let Some(o) = (0..ordered.len()).find(|&o| !taken[o] && matches(line, &ordered[o])) {
                taken[o] = true;
                pairs[i] = Some((o, how));
            }
        }
    }
    // By name: the most similar pairs first.
    let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
    for (i, line) in invoiced.iter().enumerate() {
        if pairs[i].is_some() {
            continue;
        }
        for (o, order_line) in ordered.iter().enumerate() {
            if taken[o] {
                continue;
            }
            let score = trigram::similarity(&line.description, &order_line.name);
            if score >= NAME_SIMILARITY {
                candidates.push((score, i, o));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (_, i, o) in candidates {
        if pairs[i].is_none() && !taken[o] {
            taken[o] = true;
            pairs[i] = Some((o, MatchedBy::Name));
        }
    }
    pairs
}

/// Compares an invoice with its order's lines.
pub fn reconcile(
    invoiced: &[InvoicedLine],
    stated: &InvoiceTotals,
    ordered: &[OrderedLine],
    tolerance: Tolerance,
) -> Reconciliation {
    let pairs = pair(invoiced, ordered);
    let mut problems = Vec::new();
    let mut lines = Vec::with_capacity(invoiced.len());
    for (line, paired) in invoiced.iter().zip(&pairs) {
        let computed = line_amount(line.quantity, line.unit_price);
        if cents(line.line_total) != computed {
            problems.push(format!(
                "line {}: {} × {} is {computed}, not {}",
                line.line_number, line.quantity, line.unit_price, line.line_total
            ));
        }
        let Some((o, how)) = *paired else {
            problems.push(format!(
                "line {} ({}) was not ordered",
                line.line_number, line.description
            ));
            lines.push(LineResult {
                line_number: line.line_number,
                order_line: None,
                product_id: None,
                matched_by: None,
                outcome: LineOutcome::NotOrdered,
                expected_quantity: None,
                expected_unit_price: None,
            });
            continue;
        };
        let order_line = &ordered[o];
        let outcome = if !tolerance.admits(line.unit_price, order_line.unit_price) {
            problems.push(format!(
                "line {} ({}): price {} against {} ordered",
                line.line_number, line.description, line.unit_price, order_line.unit_price
            ));
            LineOutcome::PriceMismatch
        } else if !tolerance.admits(line.quantity, order_line.quantity) {
            problems.push(format!(
                "line {} ({}): quantity {} against {} ordered",
                line.line_number, line.description, line.quantity, order_line.quantity
            ));
            LineOutcome::QuantityMismatch
        } else {
            LineOutcome::Matched
        };
        if let Some(rate) = line.tax_rate
            && rate != order_line.tax_rate
        {
            problems.push(format!(
                "line {} ({}): VAT {rate} % against {} % ordered",
                line.line_number, line.description, order_line.tax_rate
            ));
        }
        lines.push(LineResult {
            line_number: line.line_number,
            order_line: Some(order_line.id),
            product_id: Some(order_line.product_id),
            matched_by: Some(how),
            outcome,
            expected_quantity: Some(order_line.quantity),
            expected_unit_price: Some(order_line.unit_price),
        });
    }
    let matched: Vec<usize> = pairs.iter().flatten().map(|(o, _)| *o).collect();
    let missing: Vec<MissingLine> = ordered
        .iter()
        .enumerate()
        .filter(|(o, _)| !matched.contains(o))
        .map(|(_, l)| MissingLine {
            order_line_id: l.id,
            product_id: l.product_id,
            sku: l.sku.clone(),
            name: l.name.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
        })
        .collect();
    for line in &missing {
        problems.push(format!(
            "{} × {} ({}) ordered is not on the invoice",
            line.quantity, line.name, line.sku
        ));
    }
    // VAT per rate, from each line's rate (the order's where the invoice states none).
    let mut by_rate: BTreeMap<Decimal, Decimal> = BTreeMap::new();
    for (line, paired) in invoiced.iter().zip(&pairs) {
        let rate = line
            .tax_rate
            .or_else(|| paired.map(|(o, _)| ordered[o].tax_rate))
            .unwrap_or_default();
        *by_rate.entry(rate.normalize()).or_default() += cents(line.line_total);
    }
    let taxes: Vec<TaxLine> = by_rate
        .into_iter()
        .map(|(rate, base)| TaxLine {
            rate,
            base,
            amount: cents(base * rate / Decimal::from(100)),
        })
        .collect();
    let subtotal: Decimal = taxes.iter().map(|t| t.base).sum();
    let tax: Decimal = taxes.iter().map(|t| t.amount).sum();
    let total = subtotal + tax;
    // Rounding VAT per line instead of per rate may move it by a cent per line.
    let slack = Decimal::new(invoiced.len().max(1) as i64, 2);
    for (what, stated, computed, allowed) in [
        ("sum of lines", stated.subtotal, subtotal, Decimal::ZERO),
        ("VAT", stated.tax, tax, slack),
        ("total", stated.total, total, slack),
    ] {
        if let Some(stated) = stated
            && (stated - computed).abs() > allowed
        {
            problems.push(format!(
                "the invoice's {what} is {stated}; its lines add up to {computed}"
            ));
        }
    }
    Reconciliation {
        lines,
        missing,
        subtotal,
        taxes,
        tax,
        total,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn ordered(price: &str, quantity: &str) -> OrderedLine {
        OrderedLine {
            id: Uuid::from_u128(1),
            product_id: Uuid::from_u128(2),
            sku: "A-1".into(),
            name: "Potatis fast".into(),
            quantity: d(quantity),
            unit_price: d(price),
            tax_rate: d("12"),
        }
    }

    fn invoiced(price: &str, quantity: &str) -> InvoicedLine {
        let (price, quantity) = (d(price), d(quantity));
        InvoicedLine {
            line_number: 1,
            sku: Some("a-1".into()),
            gtin: None,
            description: "Potatis".into(),
            quantity,
            unit_price: price,
            line_total: line_amount(quantity, price),
            tax_rate: Some(d("12")),
        }
    }

    fn outcome(price: &str, quantity: &str) -> LineOutcome {
        let result = reconcile(
            &[invoiced(price, quantity)],
            &InvoiceTotals::default(),
            &[ordered("100", "1000")],
            Tolerance::default(),
        );
        result.lines[0].outcome
    }

    #[test]
    fn the_tolerance_boundary_is_exact() {
        // Prices against 100.000: 0.499 %, 0.5 % and 0.501 % above and below.
        let table = [
            ("100.499", LineOutcome::Matched),
            ("100.5", LineOutcome::Matched),
            ("100.501", LineOutcome::PriceMismatch),
            ("99.501", LineOutcome::Matched),
            ("99.5", LineOutcome::Matched),
            ("99.499", LineOutcome::PriceMismatch),
        ];
        for (price, expected) in table {
            assert_eq!(outcome(price, "1000"), expected, "price {price}");
        }
        // Quantities against 1,000: 4.99, 5 and 5.01 units off.
        let table = [
            ("1004.99", LineOutcome::Matched),
            ("1005", LineOutcome::Matched),
            ("1005.01", LineOutcome::QuantityMismatch),
            ("994.99", LineOutcome::QuantityMismatch),
            ("995", LineOutcome::Matched),
        ];
        for (quantity, expected) in table {
            assert_eq!(outcome("100", quantity), expected, "quantity {quantity}");
        }
    }

    #[test]
    fn lines_match_by_sku_then_gtin_then_name_and_the_rest_is_named() {
        let order = vec![
            ordered("10.125", "12"),
            OrderedLine {
                id: Uuid::from_u128(3),
                product_id: Uuid::from_u128(4),
                sku: "07310000000011".into(),
                name: "Grädde 36 %".into(),
                quantity: d("3"),
                unit_price: d("4.002"),
                tax_rate: d("25"),
            },
            OrderedLine {
                id: Uuid::from_u128(5),
                product_id: Uuid::from_u128(6),
                sku: "C-9".into(),
                name: "Smör normalsaltat".into(),
                quantity: d("2"),
                unit_price: d("50"),
                tax_rate: d("12"),
            },
            OrderedLine {
                id: Uuid::from_u128(7),
                product_id: Uuid::from_u128(8),
                sku: "D-1".into(),
                name: "Mjöl".into(),
                quantity: d("1"),
                unit_price: d("20"),
                tax_rate: d("12"),
            },
        ];
        let mut lines = vec![
            invoiced("10.125", "12"),
            InvoicedLine {
                line_number: 2,
                sku: Some("X".into()),
                gtin: Some("07310000000011".into()),
                description: "Vispgrädde".into(),
                ..invoiced("4.002", "3")
            },
            InvoicedLine {
                line_number: 3,
                sku: None,
                description: "Smör, normalsaltat".into(),
                ..invoiced("50", "2")
            },
            InvoicedLine {
                line_number: 4,
                sku: None,
                description: "Frakt".into(),
                ..invoiced("99", "1")
            },
        ];
        lines[1].tax_rate = Some(d("25"));
        let result = reconcile(
            &lines,
            &InvoiceTotals::default(),
            &order,
            Tolerance::default(),
        );
        let how: Vec<_> = result
            .lines
            .iter()
            .map(|l| (l.matched_by, l.outcome))
            .collect();
        assert_eq!(
            how,
            vec![
                (Some(MatchedBy::Sku), LineOutcome::Matched),
                (Some(MatchedBy::Gtin), LineOutcome::Matched),
                (Some(MatchedBy::Name), LineOutcome::Matched),
                (None, LineOutcome::NotOrdered),
            ]
        );
        assert_eq!(result.missing.len(), 1);
        assert_eq!(result.missing[0].sku, "D-1");
        assert_eq!(result.problems.len(), 2, "{:?}", result.problems);
    }

    #[test]
    fn stated_totals_are_checked_against_the_lines() {
        let line = invoiced("10.125", "12");
        let totals = |total: &str| InvoiceTotals {
            subtotal: Some(d("121.50")),
            tax: Some(d("14.58")),
            total: Some(d(total)),
        };
        let order = [ordered("10.125", "12")];
        let ok = reconcile(
            std::slice::from_ref(&line),
            &totals("136.08"),
            &order,
            Tolerance::default(),
        );
        assert!(ok.matched(), "{:?}", ok.problems);
        assert_eq!(ok.total, d("136.08"));
        let off = reconcile(&[line], &totals("146.08"), &order, Tolerance::default());
        assert_eq!(
            off.problems,
            vec!["the invoice's total is 146.08; its lines add up to 136.08"]
        );
    }

    #[test]
    fn tolerances_are_read_as_percentages() {
        assert_eq!(Tolerance::from_percent(d("0.5")), Ok(Tolerance::ppm(5_000)));
        assert_eq!(Tolerance::from_percent(d("0.0001")), Ok(Tolerance::ppm(1)));
        assert!(Tolerance::from_percent(d("0.00001")).is_err());
        assert!(Tolerance::from_percent(d("10.5")).is_err());
        assert!(Tolerance::from_percent(d("-1")).is_err());
        assert_eq!(Tolerance::ppm(5_000).percent(), d("0.5"));
    }

    proptest! {
        /// Matching is decided in exact decimals: a price `k` thousandths of a percent away
        /// from the ordered one matches exactly when k ≤ 500, for any price.
        #[test]
        fn matching_is_exact_in_decimals(
            price_milli in 1i64..10_000_000_000,
            k in 0i64..1_000,
            above in any::<bool>(),
        ) {
            let ordered_price = Decimal::new(price_milli, 3);
            // price × (1 ± k / 100,000): k thousandths of a percent.
            let step = ordered_price * Decimal::new(k, 5);
            let invoiced_price = if above { ordered_price + step } else { ordered_price - step };
            let tolerance = Tolerance::default();
            prop_assert_eq!(tolerance.admits(invoiced_price, ordered_price), k <= 500);
        }
    }
}
