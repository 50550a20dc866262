//! Reorder policies: given what an item has, what is on its way and what the forecast says it
//! will use, how much to order now — with the numbers behind the answer. Pure arithmetic.
//!
//! Quantities are exact decimals in the item's unit; the forecast's statistics (demand,
//! spread, EOQ) are estimates in `f64`, turned into exact quantities by rounding *up* to whole
//! thousandths. The inventory position is on hand + on order.
//!
//! - `MIN_MAX` (min, max — the item's par and target levels unless set): when the position is
//!   at or below min, order up to max, rounded up to whole packs.
//! - `S_S` ((s, S)): when the position is at or below s, order up to S in whole packs without
//!   passing S (at least one pack).
//! - `EOQ` (order cost K, holding cost H per unit and year, service level): when the position
//!   is at or below the reorder point (lead-time demand + safety stock), order
//!   EOQ = √(2DK/H), D the forecast's annual demand, rounded to the nearest pack (at least one).
//! - `FORECAST_COVER` (service level): order what the forecast says will be used until the
//!   delivery after the next one, plus safety stock at the service level, minus the position;
//!   rounded up to whole packs.
//!
//! Safety stock is z·σ over the days covered, z the normal quantile of the service level and
//! σ² the sum of the forecast's daily variances (σ of a day read off its 95 % interval).

use rust_decimal::{Decimal, prelude::ToPrimitive};

/// How an item is reordered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Policy {
    MinMax {
        min: Decimal,
        max: Decimal,
    },
    SS {
        s: Decimal,
        big_s: Decimal,
    },
    Eoq {
        order_cost: Decimal,
        holding_cost: Decimal,
        service_level: Decimal,
    },
    ForecastCover {
        service_level: Decimal,
    },
}

/// The kind of a policy, as stored and on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    MinMax,
    SS,
    Eoq,
    ForecastCover,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::MinMax => "MIN_MAX",
            PolicyKind::SS => "S_S",
            PolicyKind::Eoq => "EOQ",
            PolicyKind::ForecastCover => "FORECAST_COVER",
        }
    }

    pub fn of_stored(stored: &str) -> Option<PolicyKind> {
        match stored {
            "MIN_MAX" => Some(PolicyKind::MinMax),
            "S_S" => Some(PolicyKind::SS),
            "EOQ" => Some(PolicyKind::Eoq),
            "FORECAST_COVER" => Some(PolicyKind::ForecastCover),
            _ => None,
        }
    }
}

impl Policy {
    pub fn kind(&self) -> PolicyKind {
        match self {
            Policy::MinMax { .. } => PolicyKind::MinMax,
            Policy::SS { .. } => PolicyKind::SS,
            Policy::Eoq { .. } => PolicyKind::Eoq,
            Policy::ForecastCover { .. } => PolicyKind::ForecastCover,
        }
    }

    fn needs_forecast(&self) -> bool {
        matches!(self, Policy::Eoq { .. } | Policy::ForecastCover { .. })
    }
}

/// The service level safety stock is computed for when a policy does not say (95 %).
pub fn default_service_level() -> Decimal {
    Decimal::new(95, 2)
}

/// Where an item stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    pub on_hand: Decimal,
    /// What open orders will deliver.
    pub on_order: Decimal,
    /// Units per pack (> 0): orders are whole packs.
    pub pack_size: Decimal,
}

/// What the forecast expects, from tomorrow, and when the supplier delivers.
#[derive(Clone, Debug, PartialEq)]
pub struct Outlook {
    /// Expected use per day from tomorrow, with its standard deviation.
    pub days: Vec<ForecastDay>,
    /// Days until the next possible delivery.
    pub lead_days: u32,
    /// Days from that delivery to the one after it.
    pub review_days: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ForecastDay {
    pub demand: f64,
    pub sd: f64,
}

impl ForecastDay {
    /// A day of a stored forecast: σ read off the upper bound of its 95 % interval.
    pub fn from_interval(point: f64, upper95: f64) -> ForecastDay {
        ForecastDay {
            demand: point.max(0.0),
            sd: ((upper95 - point) / 1.959_963_984_540_054).max(0.0),
        }
    }
}

/// A policy's answer for one item, with its workings.
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    /// Units to order now (whole packs; zero when nothing is due).
    pub quantity: Decimal,
    pub inventory_position: Decimal,
    /// Forecast demand over the days the order must cover (lead time for EOQ, lead time and
    /// review period for FORECAST_COVER and the others' information).
    pub forecast_demand: Option<Decimal>,
    pub safety_stock: Option<Decimal>,
    /// The level at or below which the policy orders.
    pub reorder_point: Option<Decimal>,
    /// The level the policy orders up to (MIN_MAX, S_S).
    pub order_up_to: Option<Decimal>,
    /// EOQ's economic order quantity, before pack rounding.
    pub economic_order_quantity: Option<Decimal>,
    /// Why, in one sentence.
    pub reason: String,
}

/// Why a policy cannot answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyError {
    /// EOQ and FORECAST_COVER need a forecast of the item's product.
    NoForecast,
}

/// An estimate → an exact quantity, rounded up to whole thousandths.
fn exact(value: f64) -> Decimal {
    let milli = (value.max(0.0) * 1000.0 - 1e-6).ceil();
    Decimal::new(milli.min(i64::MAX as f64) as i64, 3).normalize()
}

fn packs_up(need: Decimal, pack: Decimal) -> Decimal {
    if need <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    (need / pack).ceil() * pack
}

fn packs_down_at_least_one(need: Decimal, pack: Decimal) -> Decimal {
    ((need / pack).floor() * pack).max(pack)
}

fn packs_nearest_at_least_one(need: Decimal, pack: Decimal) -> Decimal {
    ((need / pack).round() * pack).max(pack)
}

/// z of a one-sided service level (e.g. 0.95 → 1.645).
fn z(service_level: Decimal) -> f64 {
    let p = service_level.to_f64().unwrap_or(0.95).clamp(0.5, 0.9999);
    distrs::Normal::ppf(p, 0.0, 1.0)
}

/// Demand and its σ over the first `days` forecast days (fewer if the forecast is shorter).
fn demand_over(outlook: &Outlook, days: u32) -> (f64, f64) {
    let covered = outlook.days.iter().take(days as usize);
    let (demand, variance) = covered.fold((0.0, 0.0), |(d, v), day| {
        (d + day.demand, v + day.sd * day.sd)
    });
    (demand, variance.sqrt())
}

fn n(value: Decimal) -> Decimal {
    value.normalize()
}

/// How much of an item to order now under `policy`.
pub fn suggest(
    policy: &Policy,
    position: &Position,
    outlook: Option<&Outlook>,
) -> Result<Suggestion, PolicyError> {
    let ip = position.on_hand + position.on_order;
    let pack = position.pack_size;
    if policy.needs_forecast() && outlook.is_none_or(|o| o.days.is_empty()) {
        return Err(PolicyError::NoForecast);
    }
    // Demand until the delivery after the next one, for every policy's information.
    let cover = outlook.map(|o| demand_over(o, o.lead_days + o.review_days));
    let mut suggestion = Suggestion {
        quantity: Decimal::ZERO,
        inventory_position: n(ip),
        forecast_demand: cover.map(|(d, _)| exact(d)),
        safety_stock: None,
        reorder_point: None,
        order_up_to: None,
        economic_order_quantity: None,
        reason: String::new(),
    };
    match *policy {
        Policy::MinMax { min, max } => {
            suggestion.reorder_point = Some(n(min));
            suggestion.order_up_to = Some(n(max));
            if ip <= min {
                suggestion.quantity = packs_up(max - ip, pack);
                suggestion.reason = format!(
                    "position {} is at or below min {}: order up to max {} in packs of {}",
                    n(ip),
                    n(min),
                    n(max),
                    n(pack)
                );
            } else {
                suggestion.reason = format!("position {} is above min {}", n(ip), n(min));
            }
        }
        Policy::SS { s, big_s } => {
            suggestion.reorder_point = Some(n(s));
            suggestion.order_up_to = Some(n(big_s));
            if ip <= s {
                suggestion.quantity = packs_down_at_least_one(big_s - ip, pack);
                suggestion.reason = format!(
                    "position {} is at or below s {}: order up to S {} in whole packs of {}",
                    n(ip),
                    n(s),
                    n(big_s),
                    n(pack)
                );
            } else {
                suggestion.reason = format!("position {} is above s {}", n(ip), n(s));
            }
        }
        Policy::Eoq {
            order_cost,
            holding_cost,
            service_level,
        } => {
            let outlook = outlook.ok_or(PolicyError::NoForecast)?;
            let daily =
                outlook.days.iter().map(|d| d.demand).sum::<f64>() / outlook.days.len() as f64;
            let annual = daily * 365.0;
            let (lead_demand, lead_sd) = demand_over(outlook, outlook.lead_days);
            let safety = z(service_level) * lead_sd;
            let reorder_point = exact(lead_demand + safety);
            let (k, h) = (
                order_cost.to_f64().unwrap_or(0.0),
                holding_cost.to_f64().unwrap_or(0.0),
            );
            let eoq = if h > 0.0 {
                (2.0 * annual * k / h).sqrt()
            } else {
                0.0
            };
            suggestion.forecast_demand = Some(exact(lead_demand));
            suggestion.safety_stock = Some(exact(safety));
            suggestion.reorder_point = Some(reorder_point);
            suggestion.economic_order_quantity = Some(exact(eoq));
            if ip <= reorder_point {
                suggestion.quantity = packs_nearest_at_least_one(exact(eoq), pack);
                suggestion.reason = format!(
                    "position {} is at or below the reorder point {reorder_point} \
                     (lead-time demand + safety stock): order the EOQ √(2·{}·{}/{}) = {} \
                     in packs of {}",
                    n(ip),
                    exact(annual),
                    n(order_cost),
                    n(holding_cost),
                    exact(eoq),
                    n(pack)
                );
            } else {
                suggestion.reason = format!(
                    "position {} is above the reorder point {reorder_point}",
                    n(ip)
                );
            }
        }
        Policy::ForecastCover { service_level } => {
            let (demand, sd) = cover.ok_or(PolicyError::NoForecast)?;
            let outlook = outlook.ok_or(PolicyError::NoForecast)?;
            let safety = exact(z(service_level) * sd);
            let demand = exact(demand);
            suggestion.safety_stock = Some(safety);
            suggestion.reorder_point = Some(demand + safety);
            let need = demand + safety - ip;
            suggestion.quantity = packs_up(need, pack);
            suggestion.reason = if need > Decimal::ZERO {
                format!(
                    "the next {} days (to the delivery after next) need {demand} + safety \
                     stock {safety}; position {}: order {} in packs of {}",
                    outlook.lead_days + outlook.review_days,
                    n(ip),
                    n(suggestion.quantity),
                    n(pack)
                )
            } else {
                format!(
                    "position {} covers the next {} days' {demand} + safety stock {safety}",
                    n(ip),
                    outlook.lead_days + outlook.review_days
                )
            };
        }
    }
    suggestion.quantity = n(suggestion.quantity);
    Ok(suggestion)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("a decimal literal")
    }

    fn position(on_hand: &str, on_order: &str, pack: &str) -> Position {
        Position {
            on_hand: d(on_hand),
            on_order: d(on_order),
            pack_size: d(pack),
        }
    }

    /// A flat forecast: `demand` a day with σ `sd`, delivery in `lead` days, then every
    /// `review` days.
    fn flat(demand: f64, sd: f64, lead: u32, review: u32) -> Outlook {
        Outlook {
            days: vec![ForecastDay { demand, sd }; 30],
            lead_days: lead,
            review_days: review,
        }
    }

    #[test]
    fn min_max_orders_up_to_max_in_whole_packs_rounded_up() {
        // (min, max, on hand, on order, pack) → quantity
        let cases = [
            ("5", "20", "3", "0", "1", "17"),        // 3 ≤ 5: 20 − 3
            ("5", "20", "5", "0", "1", "15"),        // at min orders too
            ("5", "20", "4", "2", "1", "0"),         // 4 + 2 on order > 5
            ("5", "20", "3", "0", "6", "18"),        // 17 → three packs of 6
            ("5", "20", "-2", "0", "1", "22"),       // a negative position is ordered back up
            ("2.5", "10", "1.25", "0", "2.5", "10"), // 8.75 → four packs of 2.5
        ];
        for (min, max, on_hand, on_order, pack, expected) in cases {
            let policy = Policy::MinMax {
                min: d(min),
                max: d(max),
            };
            let s = suggest(&policy, &position(on_hand, on_order, pack), None).unwrap();
            assert_eq!(
                s.quantity,
                d(expected),
                "min {min} max {max} on hand {on_hand} on order {on_order} pack {pack}"
            );
            assert_eq!(s.reorder_point, Some(d(min)));
        }
    }

    #[test]
    fn s_s_orders_whole_packs_without_passing_big_s() {
        let cases = [
            ("10", "40", "8", "0", "1", "32"),  // 40 − 8
            ("10", "40", "8", "0", "6", "30"),  // 32 → five packs of 6 (six would pass S)
            ("10", "40", "11", "0", "6", "0"),  // above s
            ("10", "40", "10", "0", "6", "30"), // at s
            ("10", "12", "10", "0", "6", "6"),  // less than a pack to S: one pack
        ];
        for (s, big_s, on_hand, on_order, pack, expected) in cases {
            let policy = Policy::SS {
                s: d(s),
                big_s: d(big_s),
            };
            let got = suggest(&policy, &position(on_hand, on_order, pack), None).unwrap();
            assert_eq!(
                got.quantity,
                d(expected),
                "s {s} S {big_s} on hand {on_hand}"
            );
        }
    }

    #[test]
    fn eoq_is_the_textbook_square_root() {
        // D = 1200/year (1200/365 a day), K = 50, H = 3: EOQ = √(2·1200·50/3) = 200.
        let daily = 1200.0 / 365.0;
        let policy = Policy::Eoq {
            order_cost: d("50"),
            holding_cost: d("3"),
            service_level: d("0.95"),
        };
        let outlook = flat(daily, 0.0, 3, 7);
        // No spread: the reorder point is lead-time demand 3 × 3.2877 = 9.863 (rounded up).
        let s = suggest(&policy, &position("9", "0", "1"), Some(&outlook)).unwrap();
        assert_eq!(s.economic_order_quantity, Some(d("200")));
        assert_eq!(s.reorder_point, Some(d("9.864")));
        assert_eq!(s.quantity, d("200"));
        // Packs of 24: 200 / 24 = 8.33 → 8 packs = 192.
        let s = suggest(&policy, &position("9", "0", "24"), Some(&outlook)).unwrap();
        assert_eq!(s.quantity, d("192"));
        // Above the reorder point: nothing yet.
        let s = suggest(&policy, &position("10", "0", "1"), Some(&outlook)).unwrap();
        assert_eq!(s.quantity, Decimal::ZERO);
        // D = 10 000, K = 20, H = 4 (1 % service spread aside): √100 000 = 316.228.
        let policy = Policy::Eoq {
            order_cost: d("20"),
            holding_cost: d("4"),
            service_level: d("0.95"),
        };
        let s = suggest(
            &policy,
            &position("0", "0", "1"),
            Some(&flat(10_000.0 / 365.0, 0.0, 1, 7)),
        )
        .unwrap();
        assert_eq!(s.economic_order_quantity, Some(d("316.228")));
        assert_eq!(s.quantity, d("316"));
    }

    #[test]
    fn eoq_safety_stock_is_z_sigma_over_the_lead_time() {
        // 4 days of lead time, σ 3 a day: σ_L = 6; z(0.95) = 1.6449 → 9.869 safety stock.
        let policy = Policy::Eoq {
            order_cost: d("50"),
            holding_cost: d("3"),
            service_level: d("0.95"),
        };
        let s = suggest(
            &policy,
            &position("0", "0", "1"),
            Some(&flat(10.0, 3.0, 4, 7)),
        )
        .unwrap();
        assert_eq!(s.safety_stock, Some(d("9.87")));
        assert_eq!(s.reorder_point, Some(d("49.87")));
    }

    #[test]
    fn forecast_cover_orders_until_the_delivery_after_next_plus_safety_stock() {
        // Lead 2 + review 5 = 7 days × 10 = 70; σ 2 a day → σ₇ = 5.2915; z(0.90) = 1.2816
        // → safety 6.782. Position 20 + 5 on order: need 70 + 6.782 − 25 = 51.782.
        let policy = Policy::ForecastCover {
            service_level: d("0.90"),
        };
        let outlook = flat(10.0, 2.0, 2, 5);
        let cases = [
            ("20", "5", "1", "52"),   // rounded up to whole units (packs of 1)
            ("20", "5", "12", "60"),  // five packs of 12
            ("20", "5", "0.5", "52"), // 51.782 → 104 packs of 0.5 = 52
            ("80", "0", "1", "0"),    // 80 covers 76.782
        ];
        for (on_hand, on_order, pack, expected) in cases {
            let s = suggest(&policy, &position(on_hand, on_order, pack), Some(&outlook)).unwrap();
            assert_eq!(s.quantity, d(expected), "on hand {on_hand} pack {pack}");
            assert_eq!(s.forecast_demand, Some(d("70")));
            assert_eq!(s.safety_stock, Some(d("6.782")));
        }
    }

    #[test]
    fn forecast_policies_need_a_forecast() {
        let cover = Policy::ForecastCover {
            service_level: d("0.95"),
        };
        assert_eq!(
            suggest(&cover, &position("1", "0", "1"), None),
            Err(PolicyError::NoForecast)
        );
    }

    #[test]
    fn a_day_of_a_stored_forecast_reads_its_sigma_off_the_95_interval() {
        let day = ForecastDay::from_interval(10.0, 10.0 + 1.959_963_984_540_054 * 2.0);
        assert!((day.sd - 2.0).abs() < 1e-12);
    }
}
