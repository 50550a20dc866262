//! Bounded dynamic prices: the pure rule of the hourly `refresh-prices` job.
//!
//! A supplier sets a product's base price and a bounded rule (a floor, a ceiling, the largest
//! step of one run and a target stock cover). Each run proposes the next list price from what
//! the job measured:
//!
//! - excess stock cover (more days of stock than the rule's maximum) lowers the price;
//! - short cover (fewer days than the minimum) raises it;
//! - demand running above its forecast raises it, below lowers it.
//!
//! The proposal always lies within the floor and ceiling, moves at most the maximum step per
//! run (measured from the current price), is at least [`MIN_PRICE`] and has at most three
//! decimals. A current price outside the bounds (the supplier tightened the rule) is brought
//! back within them at once: the bounds win over the step.
//!
//! No I/O and no clock: the job reads prices and signals, calls [`propose`] and stores what it
//! returns. Arithmetic is exact [`Decimal`] arithmetic, never floating point, so a run is
//! reproducible from its inputs.

use std::cmp::Ordering;

use rust_decimal::{Decimal, RoundingStrategy};

/// The smallest price (and price step) Iris stores: 0.001.
pub const MIN_PRICE: Decimal = Decimal::from_parts(1, 0, 0, false, 3);

/// Decimals of a stored price.
const PRICE_DECIMALS: u32 = 3;
/// Decimals of a percentage bound or step.
const PERCENT_DECIMALS: u32 = 2;
/// The highest percent-of-base bound (ten times the base price).
const MAX_BOUND_PERCENT: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);
/// The largest step of one run, in percent of the current price.
const MAX_STEP_PERCENT: Decimal = Decimal::from_parts(50, 0, 0, false, 0);
/// Decimals of a cover target: thousandths of a day, like the cover the job measures.
const COVER_DECIMALS: u32 = 3;
/// The longest cover a rule may name: ten years.
const MAX_COVER_DAYS: Decimal = Decimal::from_parts(3650, 0, 0, false, 0);

/// A floor or ceiling: an absolute price, or a percentage of the base price (80 = 80 %).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Bound {
    Absolute(Decimal),
    PercentOfBase(Decimal),
}

impl Bound {
    /// The bound as a price for this base price, rounded half-up to 0.001 (at least
    /// MIN_PRICE).
    pub fn price(self, base: Decimal) -> Decimal {
        let price = match self {
            Bound::Absolute(price) => price,
            // Dividing first cannot overflow; it is only the fallback because it can lose
            // the last digits of a price that does fit.
            Bound::PercentOfBase(percent) => base.checked_mul(percent).map_or_else(
                || (base / Decimal::ONE_HUNDRED).saturating_mul(percent),
                |v| v / Decimal::ONE_HUNDRED,
            ),
        };
        stored_price(price)
    }
}

/// A supplier's bounded rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleBounds {
    pub floor: Bound,
    pub ceiling: Bound,
    /// Largest change of one run, percent of the current price (e.g. 5 = 5 %), > 0 and ≤ 50.
    pub max_step_percent: Decimal,
    /// Stock cover (days) below which the price rises; > 0.
    pub min_cover_days: Decimal,
    /// Stock cover (days) above which the price falls; > min_cover_days.
    pub max_cover_days: Decimal,
}

/// Checks a rule for a product whose base price is `base`: every problem as (field, rule) —
/// field names in camelCase as the API names them: "floor", "ceiling", "maxStepPercent",
/// "minCoverDays", "maxCoverDays". Rules: absolute bounds ≥ 0.001 with at most 3 decimals;
/// percent bounds > 0 and ≤ 1000 with at most 2 decimals; floor ≤ ceiling when both are of
/// the same kind (if kinds differ, check at `base` when base is Some); max step > 0 and ≤ 50
/// with at most 2 decimals; cover days > 0, ≤ 3650, min < max, with at most 3 decimals (cover
/// is measured and stored in thousandths of a day).
pub fn check_rule(rule: &RuleBounds, base: Option<Decimal>) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();

    let floor_valid = check_bound("floor", rule.floor, &mut problems);
    let ceiling_valid = check_bound("ceiling", rule.ceiling, &mut problems);
    // A crossing is only worth reporting between two bounds that are valid on their own.
    if floor_valid && ceiling_valid {
        match (rule.floor, rule.ceiling) {
            (Bound::Absolute(floor), Bound::Absolute(ceiling))
            | (Bound::PercentOfBase(floor), Bound::PercentOfBase(ceiling)) => {
                if floor > ceiling {
                    problems.push((
                        "ceiling",
                        format!("must not be below the floor ({})", floor.normalize()),
                    ));
                }
            }
            // Mixed kinds cross or not depending on the base price; without one they can't
            // be compared (and `propose` lets the floor win if they do cross).
            (floor, ceiling) => {
                if let Some(base) = base {
                    let (floor, ceiling) = (floor.price(base), ceiling.price(base));
                    if floor > ceiling {
                        problems.push((
                            "ceiling",
                            format!(
                                "must not be below the floor ({floor} at base price {})",
                                base.normalize()
                            ),
                        ));
                    }
                }
            }
        }
    }

    let step = rule.max_step_percent;
    if step <= Decimal::ZERO || step > MAX_STEP_PERCENT {
        problems.push((
            "maxStepPercent",
            format!("must be more than 0 and at most {MAX_STEP_PERCENT}"),
        ));
    } else if decimals(step) > PERCENT_DECIMALS {
        problems.push(("maxStepPercent", "must have at most 2 decimals".to_owned()));
    }

    let min_valid = check_cover("minCoverDays", rule.min_cover_days, &mut problems);
    let max_valid = check_cover("maxCoverDays", rule.max_cover_days, &mut problems);
    if min_valid && max_valid && rule.min_cover_days >= rule.max_cover_days {
        problems.push((
            "maxCoverDays",
            format!(
                "must be more than minCoverDays ({})",
                rule.min_cover_days.normalize()
            ),
        ));
    }

    problems
}

/// Checks one bound on its own; true when it is valid.
fn check_bound(
    field: &'static str,
    bound: Bound,
    problems: &mut Vec<(&'static str, String)>,
) -> bool {
    let problem = match bound {
        Bound::Absolute(price) if price < MIN_PRICE => Some("must be at least 0.001".to_owned()),
        Bound::Absolute(price) if decimals(price) > PRICE_DECIMALS => {
            Some("must have at most 3 decimals".to_owned())
        }
        Bound::PercentOfBase(percent)
            if percent <= Decimal::ZERO || percent > MAX_BOUND_PERCENT =>
        {
            Some(format!(
                "must be more than 0 and at most {MAX_BOUND_PERCENT} percent of the base price"
            ))
        }
        Bound::PercentOfBase(percent) if decimals(percent) > PERCENT_DECIMALS => {
            Some("must have at most 2 decimals".to_owned())
        }
        Bound::Absolute(_) | Bound::PercentOfBase(_) => None,
    };
    match problem {
        Some(problem) => {
            problems.push((field, problem));
            false
        }
        None => true,
    }
}

/// Checks one cover target on its own; true when it is valid.
fn check_cover(
    field: &'static str,
    days: Decimal,
    problems: &mut Vec<(&'static str, String)>,
) -> bool {
    if days <= Decimal::ZERO || days > MAX_COVER_DAYS {
        problems.push((
            field,
            format!("must be more than 0 and at most {MAX_COVER_DAYS}"),
        ));
        return false;
    }
    if decimals(days) > COVER_DECIMALS {
        problems.push((field, "must have at most 3 decimals".to_owned()));
        return false;
    }
    true
}

/// Significant decimals: 1.50 has one.
fn decimals(value: Decimal) -> u32 {
    value.normalize().scale()
}

/// Where the daily demand came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DemandSource {
    Forecast,
    RecentOrders,
    None,
}

/// What the job measured for one product.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Signals {
    /// The supplier's stock on hand (units), ≥ 0.
    pub on_hand: i64,
    /// Expected units per day (forecast where one exists, else the recent order rate); None
    /// when nothing is known.
    pub daily_demand: Option<Decimal>,
    pub demand_source: DemandSource,
    /// Units ordered per day over the last 7 days (None when unknown).
    pub recent_daily_orders: Option<Decimal>,
}

impl Signals {
    /// on_hand ÷ daily_demand in days, rounded half-up to 0.001 day so that what a proposal
    /// reports is exactly what it decided on.
    ///
    /// None without demand, and None when demand is 0: that cover is infinite, and no number
    /// says so honestly. [`propose`] reads "demand known and 0, with stock on hand" as excess
    /// cover (full downward pressure) and "demand 0, nothing on hand" as no signal. A negative
    /// demand is not a measurement and counts as no demand; negative stock counts as none.
    /// A cover too large for a [`Decimal`] saturates at [`Decimal::MAX`].
    pub fn cover_days(&self) -> Option<Decimal> {
        let demand = self.daily_demand.filter(|demand| *demand > Decimal::ZERO)?;
        let on_hand = Decimal::from(self.on_hand.max(0));
        let cover = on_hand.checked_div(demand).unwrap_or(Decimal::MAX);
        Some(round_half_up(cover).normalize())
    }

    /// recent_daily_orders ÷ daily_demand when the demand came from a forecast and is > 0
    /// (1 = as forecast), rounded half-up to 0.001; None otherwise. Without a forecast the
    /// demand *is* the recent order rate, so comparing them would say nothing. Negative
    /// orders count as none.
    pub fn trend(&self) -> Option<Decimal> {
        if self.demand_source != DemandSource::Forecast {
            return None;
        }
        let forecast = self.daily_demand.filter(|demand| *demand > Decimal::ZERO)?;
        let ordered = self.recent_daily_orders?.max(Decimal::ZERO);
        let trend = ordered.checked_div(forecast).unwrap_or(Decimal::MAX);
        Some(round_half_up(trend).normalize())
    }
}

/// What one run proposes for one product.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    pub old_price: Decimal,
    pub new_price: Decimal,
    pub floor: Decimal,
    pub ceiling: Decimal,
    pub cover_days: Option<Decimal>,
    pub trend: Option<Decimal>,
    /// Why, in a few words: "excess cover", "short cover", "demand above forecast", "demand
    /// below forecast", "back within bounds", "no demand signal", "within target cover".
    pub reason: &'static str,
}

impl Proposal {
    pub fn changes(&self) -> bool {
        self.new_price != self.old_price
    }
}

/// The next price.
///
/// `current` is the stored list price (3 decimals); a value with more decimals is first
/// rounded half-up to what would be stored, and the step is measured from that. The rule is
/// expected to pass [`check_rule`]; one that doesn't still gives a price within its bounds
/// (the step is held to 0–50 %), never a panic.
pub fn propose(current: Decimal, base: Decimal, rule: &RuleBounds, signals: &Signals) -> Proposal {
    let floor = rule.floor.price(base);
    // Bounds of mixed kinds can cross at an odd base price: the floor wins, so the supplier
    // never sells below the price it named as its least.
    let ceiling = rule.ceiling.price(base).max(floor);
    let cover_days = signals.cover_days();
    let trend = signals.trend();
    let proposal = |new_price: Decimal, reason: &'static str| Proposal {
        old_price: current,
        new_price: stored_price(new_price).clamp(floor, ceiling),
        floor,
        ceiling,
        cover_days,
        trend,
        reason,
    };

    let price = round_half_up(current);
    if price < floor || price > ceiling {
        return proposal(price.clamp(floor, ceiling), "back within bounds");
    }
    let Some(cover_pressure) = cover_pressure(signals, cover_days, rule) else {
        return proposal(price, "no demand signal");
    };
    // Demand at twice its forecast (or none at all against one) is worth half a step; the
    // other half stays for the stock, which is what the price is really steering.
    let trend_pressure = trend.map_or(Decimal::ZERO, |trend| {
        trend
            .saturating_sub(Decimal::ONE)
            .clamp(Decimal::NEGATIVE_ONE, Decimal::ONE)
            / Decimal::TWO
    });
    let pressure = (cover_pressure + trend_pressure).clamp(Decimal::NEGATIVE_ONE, Decimal::ONE);

    let step_percent = rule.max_step_percent.clamp(Decimal::ZERO, MAX_STEP_PERCENT);
    let max_change = price.checked_mul(step_percent).map_or_else(
        || (price / Decimal::ONE_HUNDRED).saturating_mul(step_percent),
        |v| v / Decimal::ONE_HUNDRED,
    );
    // Held to ±max_change in case the 28-digit product rounded a hair past it.
    let change = max_change
        .saturating_mul(pressure)
        .clamp(-max_change, max_change);
    // Rounding toward the current price keeps the stored step within the maximum.
    let toward_current = if change > Decimal::ZERO {
        RoundingStrategy::ToNegativeInfinity
    } else {
        RoundingStrategy::ToPositiveInfinity
    };
    let new_price = price
        .saturating_add(change)
        .round_dp_with_strategy(PRICE_DECIMALS, toward_current);

    let reason = if cover_pressure.abs() >= trend_pressure.abs() {
        match cover_pressure.cmp(&Decimal::ZERO) {
            Ordering::Less => "excess cover",
            Ordering::Greater => "short cover",
            Ordering::Equal => "within target cover",
        }
    } else if trend_pressure > Decimal::ZERO {
        "demand above forecast"
    } else {
        "demand below forecast"
    };
    proposal(new_price, reason)
}

/// Pressure from stock cover as a fraction of the maximum step in [-1, 1] (negative lowers
/// the price); None when there is no demand signal at all.
fn cover_pressure(
    signals: &Signals,
    cover_days: Option<Decimal>,
    rule: &RuleBounds,
) -> Option<Decimal> {
    // A negative demand is not a measurement (see `Signals::cover_days`).
    signals
        .daily_demand
        .filter(|demand| *demand >= Decimal::ZERO)?;
    match cover_days {
        Some(cover) if cover > rule.max_cover_days => Some(-share_of(
            cover.saturating_sub(rule.max_cover_days),
            rule.max_cover_days,
        )),
        Some(cover) if cover < rule.min_cover_days => Some(share_of(
            rule.min_cover_days.saturating_sub(cover),
            rule.min_cover_days,
        )),
        Some(_) => Some(Decimal::ZERO),
        // Demand is known to be 0 here: stock that nobody wants is the most excess cover
        // there is; with nothing on hand either, nothing says which way to move.
        None if signals.on_hand > 0 => Some(Decimal::NEGATIVE_ONE),
        None => None,
    }
}

/// part ÷ whole, at most 1: a cover twice the maximum (or none against the minimum) is a
/// full step. A whole of 0 (a rule `check_rule` rejects) counts as a full step.
fn share_of(part: Decimal, whole: Decimal) -> Decimal {
    part.checked_div(whole)
        .unwrap_or(Decimal::ONE)
        .min(Decimal::ONE)
}

/// Rounded half-up to 0.001.
fn round_half_up(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(PRICE_DECIMALS, RoundingStrategy::MidpointAwayFromZero)
}

/// A price as Iris stores it: 3 decimals, at least [`MIN_PRICE`], no trailing zeros.
fn stored_price(value: Decimal) -> Decimal {
    round_half_up(value).max(MIN_PRICE).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// Floor 5, ceiling 20, 5 % a run, target cover 7 to 14 days.
    fn rule() -> RuleBounds {
        RuleBounds {
            floor: Bound::Absolute(d("5")),
            ceiling: Bound::Absolute(d("20")),
            max_step_percent: d("5"),
            min_cover_days: d("7"),
            max_cover_days: d("14"),
        }
    }

    fn orders(on_hand: i64, demand: &str) -> Signals {
        Signals {
            on_hand,
            daily_demand: Some(d(demand)),
            demand_source: DemandSource::RecentOrders,
            recent_daily_orders: Some(d(demand)),
        }
    }

    fn forecast(on_hand: i64, demand: &str, ordered: &str) -> Signals {
        Signals {
            on_hand,
            daily_demand: Some(d(demand)),
            demand_source: DemandSource::Forecast,
            recent_daily_orders: Some(d(ordered)),
        }
    }

    #[test]
    fn min_price_is_one_thousandth() {
        assert_eq!(MIN_PRICE, d("0.001"));
    }

    #[test]
    fn excess_cover_lowers_the_price() {
        // 300 units at 10 a day: 30 days against a maximum of 14 → a full step down.
        let p = propose(d("10"), d("10"), &rule(), &orders(300, "10"));
        assert_eq!(p.cover_days, Some(d("30")));
        assert_eq!(p.new_price, d("9.5"));
        assert_eq!(p.reason, "excess cover");
        assert!(p.changes());
    }

    #[test]
    fn slightly_excess_cover_lowers_by_part_of_a_step() {
        // 21 days against 14: half again the maximum → half a step.
        let p = propose(d("10"), d("10"), &rule(), &orders(210, "10"));
        assert_eq!(p.new_price, d("9.75"));
        assert_eq!(p.reason, "excess cover");
    }

    #[test]
    fn short_cover_raises_the_price() {
        // 20 units at 10 a day: 2 days against a minimum of 7 → 5/7 of a step up.
        let p = propose(d("10"), d("10"), &rule(), &orders(20, "10"));
        assert_eq!(p.cover_days, Some(d("2")));
        // 10 × 5 % × 5/7 = 0.357142…, rounded toward the current price.
        assert_eq!(p.new_price, d("10.357"));
        assert_eq!(p.reason, "short cover");
    }

    #[test]
    fn no_stock_with_demand_is_a_full_step_up() {
        let p = propose(d("10"), d("10"), &rule(), &orders(0, "3"));
        assert_eq!(p.cover_days, Some(Decimal::ZERO));
        assert_eq!(p.new_price, d("10.5"));
        assert_eq!(p.reason, "short cover");
    }

    #[test]
    fn cover_within_target_keeps_the_price() {
        let p = propose(d("10"), d("10"), &rule(), &orders(100, "10"));
        assert_eq!(p.new_price, d("10"));
        assert_eq!(p.reason, "within target cover");
        assert!(!p.changes());
    }

    #[test]
    fn no_demand_signal_keeps_the_price() {
        let unknown = Signals {
            on_hand: 50,
            daily_demand: None,
            demand_source: DemandSource::None,
            recent_daily_orders: None,
        };
        let p = propose(d("10"), d("10"), &rule(), &unknown);
        assert_eq!(p.new_price, d("10"));
        assert_eq!(p.reason, "no demand signal");
        assert_eq!(p.cover_days, None);

        // Nothing wanted and nothing on hand says nothing either.
        let p = propose(d("10"), d("10"), &rule(), &orders(0, "0"));
        assert_eq!(p.new_price, d("10"));
        assert_eq!(p.reason, "no demand signal");
    }

    #[test]
    fn stock_nobody_wants_is_excess_cover() {
        let p = propose(d("10"), d("10"), &rule(), &orders(40, "0"));
        assert_eq!(p.cover_days, None);
        assert_eq!(p.new_price, d("9.5"));
        assert_eq!(p.reason, "excess cover");
    }

    #[test]
    fn demand_above_forecast_raises_the_price() {
        // Cover 10 days is on target; orders at 1.5 × forecast → a quarter step up.
        let p = propose(d("10"), d("10"), &rule(), &forecast(100, "10", "15"));
        assert_eq!(p.trend, Some(d("1.5")));
        assert_eq!(p.new_price, d("10.125"));
        assert_eq!(p.reason, "demand above forecast");
    }

    #[test]
    fn demand_below_forecast_lowers_the_price() {
        let p = propose(d("10"), d("10"), &rule(), &forecast(100, "10", "0"));
        assert_eq!(p.trend, Some(Decimal::ZERO));
        assert_eq!(p.new_price, d("9.75"));
        assert_eq!(p.reason, "demand below forecast");
    }

    #[test]
    fn trend_is_only_read_against_a_forecast() {
        let mut signals = forecast(100, "10", "15");
        signals.demand_source = DemandSource::RecentOrders;
        assert_eq!(signals.trend(), None);
        let p = propose(d("10"), d("10"), &rule(), &signals);
        assert_eq!(p.new_price, d("10"));
    }

    #[test]
    fn the_stronger_signal_names_the_reason() {
        // Excess cover (a full step down) outweighs demand at twice the forecast (half up).
        let p = propose(d("10"), d("10"), &rule(), &forecast(600, "10", "20"));
        assert_eq!(p.reason, "excess cover");
        assert_eq!(p.new_price, d("9.75"));
    }

    #[test]
    fn a_price_outside_the_bounds_comes_back() {
        let p = propose(d("25"), d("10"), &rule(), &orders(20, "10"));
        assert_eq!(p.new_price, d("20"));
        assert_eq!(p.reason, "back within bounds");

        let p = propose(d("1"), d("10"), &rule(), &orders(300, "10"));
        assert_eq!(p.new_price, d("5"));
        assert_eq!(p.reason, "back within bounds");
    }

    #[test]
    fn the_bounds_stop_the_step() {
        let p = propose(d("5.2"), d("10"), &rule(), &orders(300, "10"));
        assert_eq!(p.new_price, d("5"));
        let p = propose(d("5"), d("10"), &rule(), &orders(300, "10"));
        assert_eq!(p.new_price, d("5"));
        assert!(!p.changes());
        assert_eq!(p.reason, "excess cover");
    }

    #[test]
    fn percent_of_base_bounds_follow_the_base_price() {
        let rule = RuleBounds {
            floor: Bound::PercentOfBase(d("80")),
            ceiling: Bound::PercentOfBase(d("120")),
            ..rule()
        };
        assert_eq!(rule.floor.price(d("12.5")), d("10"));
        assert_eq!(rule.ceiling.price(d("12.5")), d("15"));
        // Half-up to 0.001: 33.33 % of 1.001 = 0.3336333 → 0.334.
        assert_eq!(
            Bound::PercentOfBase(d("33.33")).price(d("1.001")),
            d("0.334")
        );

        let p = propose(d("16"), d("12.5"), &rule, &orders(100, "10"));
        assert_eq!((p.floor, p.ceiling), (d("10"), d("15")));
        assert_eq!(p.new_price, d("15"));
        assert_eq!(p.reason, "back within bounds");
    }

    #[test]
    fn crossed_bounds_of_mixed_kinds_keep_the_floor() {
        let rule = RuleBounds {
            floor: Bound::Absolute(d("12")),
            ceiling: Bound::PercentOfBase(d("110")),
            ..rule()
        };
        let p = propose(d("10"), d("10"), &rule, &orders(100, "10"));
        assert_eq!((p.floor, p.ceiling), (d("12"), d("12")));
        assert_eq!(p.new_price, d("12"));
    }

    #[test]
    fn a_step_never_exceeds_the_maximum() {
        // 5 % of 10 is 0.5, however strong the pressure.
        for signals in [
            orders(1_000_000, "0.001"),
            orders(0, "10000"),
            forecast(0, "1", "10000"),
            forecast(1_000_000, "0.001", "0"),
            orders(5, "0"),
        ] {
            let p = propose(d("10"), d("10"), &rule(), &signals);
            assert!((p.new_price - d("10")).abs() <= d("0.5"), "{p:?}");
        }
        // A step that doesn't land on 0.001 is rounded toward the current price.
        let p = propose(d("10.001"), d("10"), &rule(), &orders(0, "1"));
        assert_eq!(p.new_price, d("10.501"));
        let p = propose(d("10.003"), d("10"), &rule(), &orders(300, "1"));
        // 10.003 × 5 % = 0.50015: the stored step is 0.5.
        assert_eq!(p.new_price, d("9.503"));
    }

    #[test]
    fn prices_never_fall_below_min_price() {
        assert_eq!(Bound::Absolute(Decimal::ZERO).price(d("10")), MIN_PRICE);
        assert_eq!(Bound::PercentOfBase(d("0.01")).price(d("1")), MIN_PRICE);
        let rule = RuleBounds {
            floor: Bound::Absolute(MIN_PRICE),
            ceiling: Bound::Absolute(d("1")),
            max_step_percent: d("50"),
            ..rule()
        };
        let mut price = d("0.004");
        for _ in 0..5 {
            price = propose(price, d("1"), &rule, &orders(1_000, "0")).new_price;
            assert!(price >= MIN_PRICE);
        }
        assert_eq!(price, MIN_PRICE);
    }

    #[test]
    fn new_prices_have_no_trailing_zeros() {
        let p = propose(d("10.000"), d("10"), &rule(), &orders(100, "10"));
        assert_eq!(p.new_price.to_string(), "10");
        let p = propose(d("11.000"), d("10"), &rule(), &orders(300, "10"));
        assert_eq!(p.new_price.to_string(), "10.45");
    }

    #[test]
    fn cover_days_are_rounded_to_thousandths() {
        assert_eq!(orders(10, "3").cover_days(), Some(d("3.333")));
        assert_eq!(orders(10, "0").cover_days(), None);
        assert_eq!(orders(-5, "1").cover_days(), Some(Decimal::ZERO));
    }

    #[test]
    fn a_valid_rule_has_no_problems() {
        assert!(check_rule(&rule(), None).is_empty());
        let percent = RuleBounds {
            floor: Bound::PercentOfBase(d("80.5")),
            ceiling: Bound::Absolute(d("20.125")),
            ..rule()
        };
        assert!(check_rule(&percent, Some(d("10"))).is_empty());
    }

    #[test]
    fn rule_problems_name_their_fields() {
        let fields = |rule: &RuleBounds, base| -> Vec<&str> {
            check_rule(rule, base)
                .into_iter()
                .map(|(field, _)| field)
                .collect()
        };
        let bad = RuleBounds {
            floor: Bound::Absolute(d("0.0005")),
            ceiling: Bound::PercentOfBase(d("1000.5")),
            max_step_percent: d("0"),
            min_cover_days: d("-1"),
            max_cover_days: d("3651"),
        };
        assert_eq!(
            fields(&bad, None),
            [
                "floor",
                "ceiling",
                "maxStepPercent",
                "minCoverDays",
                "maxCoverDays"
            ]
        );

        let too_precise = RuleBounds {
            floor: Bound::Absolute(d("1.0005")),
            ceiling: Bound::PercentOfBase(d("90.125")),
            max_step_percent: d("5.001"),
            ..rule()
        };
        assert_eq!(
            fields(&too_precise, None),
            ["floor", "ceiling", "maxStepPercent"]
        );
        // Trailing zeros aren't decimals.
        let padded = RuleBounds {
            floor: Bound::Absolute(d("1.5000")),
            max_step_percent: d("5.000"),
            ..rule()
        };
        assert!(check_rule(&padded, None).is_empty());

        let crossed = RuleBounds {
            floor: Bound::Absolute(d("20")),
            ceiling: Bound::Absolute(d("5")),
            min_cover_days: d("14"),
            max_cover_days: d("14"),
            ..rule()
        };
        let problems = check_rule(&crossed, None);
        assert_eq!(
            problems[0],
            ("ceiling", "must not be below the floor (20)".to_owned())
        );
        assert_eq!(problems[1].0, "maxCoverDays");
        assert_eq!(problems.len(), 2);

        let fine_cover = RuleBounds {
            min_cover_days: d("1.0001"),
            max_cover_days: d("2.5"),
            ..rule()
        };
        assert_eq!(fields(&fine_cover, None), ["minCoverDays"]);

        let step = RuleBounds {
            max_step_percent: d("50.01"),
            ..rule()
        };
        assert_eq!(fields(&step, None), ["maxStepPercent"]);
        let zero_percent = RuleBounds {
            floor: Bound::PercentOfBase(Decimal::ZERO),
            ..rule()
        };
        assert_eq!(fields(&zero_percent, None), ["floor"]);
    }

    #[test]
    fn mixed_kinds_are_compared_at_the_base_price() {
        let mixed = RuleBounds {
            floor: Bound::Absolute(d("12")),
            ceiling: Bound::PercentOfBase(d("110")),
            ..rule()
        };
        assert!(check_rule(&mixed, None).is_empty());
        assert!(check_rule(&mixed, Some(d("20"))).is_empty());
        let problems = check_rule(&mixed, Some(d("10")));
        assert_eq!(
            problems,
            [(
                "ceiling",
                "must not be below the floor (12 at base price 10)".to_owned()
            )]
        );
    }

    // --- properties -------------------------------------------------------------------

    /// 0 to `max_units` with up to `dp` decimals.
    fn amount(max_units: i64, dp: u32) -> impl Strategy<Value = Decimal> {
        let scale = 10i64.pow(dp);
        (0..=max_units * scale).prop_map(move |n| Decimal::new(n, dp))
    }

    fn bound() -> impl Strategy<Value = Bound> {
        prop_oneof![
            (1i64..=100_000_000).prop_map(|n| Bound::Absolute(Decimal::new(n, 3))),
            (1i64..=100_000).prop_map(|n| Bound::PercentOfBase(Decimal::new(n, 2))),
        ]
    }

    /// Valid rules; bounds of mixed kinds may cross at the base price (checked without one).
    fn valid_rule() -> impl Strategy<Value = RuleBounds> {
        (
            bound(),
            bound(),
            1i64..=5_000,
            1i64..=365_000,
            1i64..=365_000,
        )
            .prop_map(|(a, b, step, c1, c2)| {
                // Same kinds are ordered so that few draws are thrown away.
                let (floor, ceiling) = match (a, b) {
                    (Bound::Absolute(x), Bound::Absolute(y)) => {
                        (Bound::Absolute(x.min(y)), Bound::Absolute(x.max(y)))
                    }
                    (Bound::PercentOfBase(x), Bound::PercentOfBase(y)) => (
                        Bound::PercentOfBase(x.min(y)),
                        Bound::PercentOfBase(x.max(y)),
                    ),
                    mixed => mixed,
                };
                RuleBounds {
                    floor,
                    ceiling,
                    max_step_percent: Decimal::new(step, 2),
                    min_cover_days: Decimal::new(c1.min(c2), 2),
                    max_cover_days: Decimal::new(c1.max(c2), 2),
                }
            })
            .prop_filter("valid rule", |rule| check_rule(rule, None).is_empty())
    }

    fn source() -> impl Strategy<Value = DemandSource> {
        prop_oneof![
            Just(DemandSource::Forecast),
            Just(DemandSource::RecentOrders),
            Just(DemandSource::None),
        ]
    }

    fn signals() -> impl Strategy<Value = Signals> {
        (
            0i64..=1_000_000,
            proptest::option::of(amount(10_000, 3)),
            source(),
            proptest::option::of(amount(10_000, 3)),
        )
            .prop_map(
                |(on_hand, daily_demand, demand_source, recent_daily_orders)| Signals {
                    on_hand,
                    daily_demand,
                    demand_source,
                    recent_daily_orders,
                },
            )
    }

    fn price() -> impl Strategy<Value = Decimal> {
        (1i64..=100_000_000).prop_map(|n| Decimal::new(n, 3))
    }

    proptest! {
        /// However the signals move, every run lands within the bounds, on a stored price,
        /// and — from a price within the bounds — at most one maximum step away, in the
        /// direction its reason names.
        #[test]
        fn every_run_stays_bounded(
            rule in valid_rule(),
            base in price(),
            start in price(),
            runs in proptest::collection::vec(signals(), 1..30),
        ) {
            let mut current = start;
            for signals in &runs {
                let p = propose(current, base, &rule, signals);
                prop_assert!(p.floor >= MIN_PRICE);
                prop_assert!(p.floor <= p.ceiling);
                prop_assert!(p.new_price >= p.floor && p.new_price <= p.ceiling, "{p:?}");
                prop_assert!(p.new_price >= MIN_PRICE);
                prop_assert_eq!(p.new_price.round_dp(3), p.new_price);
                prop_assert!(p.new_price.scale() <= 3);

                let within = current >= p.floor && current <= p.ceiling;
                if within {
                    let max_change = current * rule.max_step_percent / Decimal::ONE_HUNDRED;
                    prop_assert!((p.new_price - current).abs() <= max_change, "{p:?}");
                    match p.reason {
                        "excess cover" | "demand below forecast" => {
                            prop_assert!(p.new_price <= current, "{p:?}");
                        }
                        "short cover" | "demand above forecast" => {
                            prop_assert!(p.new_price >= current, "{p:?}");
                        }
                        "within target cover" | "no demand signal" => {
                            prop_assert_eq!(p.new_price, current);
                        }
                        other => prop_assert!(false, "unexpected reason {other}"),
                    }
                } else {
                    prop_assert_eq!(p.reason, "back within bounds");
                }
                current = p.new_price;
            }
        }

        /// The same inputs give the same proposal.
        #[test]
        fn proposals_are_deterministic(
            rule in valid_rule(),
            base in price(),
            current in price(),
            signals in signals(),
        ) {
            let first = propose(current, base, &rule, &signals);
            let second = propose(current, base, &rule.clone(), &signals.clone());
            prop_assert_eq!(first, second);
        }
    }
}
