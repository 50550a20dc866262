//! The supplier recommendation's pure parts: distance, comparable unit prices, equivalent
//! products and the weighted score.
//!
//! score = reliability × w_r + price × w_p + proximity × w_d, each component in [0, 1]:
//! - reliability — the mean of the supplier's on-time and fill rates (what it has of them;
//!   0.5, "unknown", before its first delivery);
//! - price — the cheapest supplier's cost of the restaurant's typical basket ÷ this supplier's
//!   cost, times the share of the basket it can supply;
//! - proximity — 1 ÷ (1 + km ÷ 50): 1 next door, 0.5 at 50 km, 0.2 at 200 km; 0 when either
//!   party has no coordinates.

use rust_decimal::{Decimal, prelude::ToPrimitive};
use serde::Serialize;

use crate::domain::catalog::{Unit, trigram};

/// Distance at which proximity is one half.
pub const HALF_PROXIMITY_KM: f64 = 50.0;
/// Least name similarity (trigram, 0–1) for two products to count as equivalent.
pub const EQUIVALENT_SIMILARITY: f64 = 0.3;

/// How much each component weighs; they sum to 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Weights {
    pub reliability: f64,
    pub price: f64,
    pub distance: f64,
}

impl Default for Weights {
    /// Reliability first (a missed delivery costs a service), then price, then distance.
    fn default() -> Self {
        Weights {
            reliability: 0.5,
            price: 0.3,
            distance: 0.2,
        }
    }
}

impl Weights {
    /// Parses `reliability=0.5,price=0.3,distance=0.2` (any order, any subset: the rest keep
    /// their defaults), then scales the weights to sum 1.
    pub fn parse(raw: &str) -> Result<Weights, String> {
        let mut weights = Weights::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not name=value"))?;
            let value: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("the weight of {} must be a number ≥ 0", name.trim()))?;
            match name.trim() {
                "reliability" => weights.reliability = value,
                "price" => weights.price = value,
                "distance" => weights.distance = value,
                other => {
                    return Err(format!(
                        "`{other}` is not a weight (reliability, price, distance)"
                    ));
                }
            }
        }
        let sum = weights.reliability + weights.price + weights.distance;
        if sum <= 0.0 {
            return Err("at least one weight must be above 0".into());
        }
        Ok(Weights {
            reliability: weights.reliability / sum,
            price: weights.price / sum,
            distance: weights.distance / sum,
        })
    }
}

/// A point on Earth, in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
}

impl GeoPoint {
    /// From millionths of a degree, as stored.
    pub fn from_e6(latitude: i64, longitude: i64) -> GeoPoint {
        GeoPoint {
            latitude: latitude as f64 / 1e6,
            longitude: longitude as f64 / 1e6,
        }
    }
}

/// Great-circle distance in km (haversine, mean Earth radius 6371 km).
pub fn haversine_km(a: GeoPoint, b: GeoPoint) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.longitude - a.longitude).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

/// Proximity in [0, 1] for a distance.
pub fn proximity(km: Option<f64>) -> f64 {
    km.map_or(0.0, |km| 1.0 / (1.0 + km.max(0.0) / HALF_PROXIMITY_KM))
}

/// What unit prices are compared in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComparableUnit {
    Kg,
    Litre,
    Piece,
    Pack,
    Box,
    Case,
}

/// A unit price in its comparable unit: per kg for KG and G, per litre for L and CL, else per
/// the unit itself (packs, boxes and cases only compare with their like).
pub fn comparable(unit: Unit, price: Decimal) -> (ComparableUnit, Decimal) {
    match unit {
        Unit::Kg => (ComparableUnit::Kg, price),
        Unit::G => (ComparableUnit::Kg, price * Decimal::from(1000)),
        Unit::L => (ComparableUnit::Litre, price),
        Unit::Cl => (ComparableUnit::Litre, price * Decimal::from(100)),
        Unit::Piece => (ComparableUnit::Piece, price),
        Unit::Pack => (ComparableUnit::Pack, price),
        Unit::Box => (ComparableUnit::Box, price),
        Unit::Case => (ComparableUnit::Case, price),
    }
}

/// Quantity in the comparable unit (500 G → 0.5 kg).
pub fn comparable_quantity(unit: Unit, quantity: Decimal) -> Decimal {
    match unit {
        Unit::G => quantity / Decimal::from(1000),
        Unit::Cl => quantity / Decimal::from(100),
        _ => quantity,
    }
}

/// Whether two products are the same thing: same category, comparable units and names at
/// least [`EQUIVALENT_SIMILARITY`] alike; the similarity when they are.
pub fn equivalence(
    (category_a, unit_a, name_a): (&str, Unit, &str),
    (category_b, unit_b, name_b): (&str, Unit, &str),
) -> Option<f64> {
    if !category_a.trim().eq_ignore_ascii_case(category_b.trim()) {
        return None;
    }
    if comparable(unit_a, Decimal::ONE).0 != comparable(unit_b, Decimal::ONE).0 {
        return None;
    }
    let similarity = trigram::similarity(&name_a.to_lowercase(), &name_b.to_lowercase());
    (similarity >= EQUIVALENT_SIMILARITY).then_some(similarity)
}

/// A product as the equivalence sees it: category, unit and its name's trigrams, computed once.
#[derive(Clone, Debug)]
pub struct Comparable {
    pub category: String,
    pub unit: Unit,
    trigrams: std::collections::HashSet<[char; 3]>,
}

impl Comparable {
    pub fn of(category: &str, unit: Unit, name: &str) -> Comparable {
        Comparable {
            category: category.trim().to_lowercase(),
            unit,
            trigrams: trigram::trigrams(name),
        }
    }

    /// As [`equivalence`], on prepared products.
    pub fn equivalence(&self, other: &Comparable) -> Option<f64> {
        if self.category != other.category
            || comparable(self.unit, Decimal::ONE).0 != comparable(other.unit, Decimal::ONE).0
        {
            return None;
        }
        let union = self.trigrams.union(&other.trigrams).count();
        if union == 0 {
            return None;
        }
        let similarity = self.trigrams.intersection(&other.trigrams).count() as f64 / union as f64;
        (similarity >= EQUIVALENT_SIMILARITY).then_some(similarity)
    }
}

/// Reliability in [0, 1] from the rates a supplier has; 0.5 when it has none.
pub fn reliability(on_time: Option<Decimal>, fill: Option<Decimal>) -> f64 {
    let rates: Vec<f64> = [on_time, fill]
        .into_iter()
        .flatten()
        .filter_map(|r| r.to_f64())
        .collect();
    if rates.is_empty() {
        0.5
    } else {
        (rates.iter().sum::<f64>() / rates.len() as f64).clamp(0.0, 1.0)
    }
}

/// Price in [0, 1]: the cheapest basket's cost ÷ this one's, times the share of the basket
/// covered; 0 for a supplier that covers nothing.
pub fn price_score(cost: Option<Decimal>, cheapest: Option<Decimal>, coverage: f64) -> f64 {
    match (cost, cheapest) {
        (Some(cost), Some(cheapest)) if cost > Decimal::ZERO => {
            ((cheapest / cost).to_f64().unwrap_or(0.0) * coverage).clamp(0.0, 1.0)
        }
        _ => 0.0,
    }
}

/// The weighted total, rounded to 4 decimals.
pub fn total(weights: Weights, reliability: f64, price: f64, proximity: f64) -> f64 {
    let score =
        weights.reliability * reliability + weights.price * price + weights.distance * proximity;
    (score * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn stockholm_to_gothenburg_is_about_398_km() {
        let stockholm = GeoPoint {
            latitude: 59.3293,
            longitude: 18.0686,
        };
        let gothenburg = GeoPoint {
            latitude: 57.7089,
            longitude: 11.9746,
        };
        let km = haversine_km(stockholm, gothenburg);
        assert!((km - 398.0).abs() < 3.0, "{km}");
        assert_eq!(haversine_km(stockholm, stockholm), 0.0);
        assert!((proximity(Some(50.0)) - 0.5).abs() < 1e-9);
        assert_eq!(proximity(None), 0.0);
    }

    #[test]
    fn weights_parse_scale_and_name_the_bad_part() {
        let w = Weights::parse("reliability=2, price=1, distance=1").unwrap();
        assert!((w.reliability - 0.5).abs() < 1e-9 && (w.price - 0.25).abs() < 1e-9);
        assert_eq!(Weights::parse("").unwrap(), Weights::default());
        assert!(Weights::parse("speed=1").unwrap_err().contains("speed"));
        assert!(Weights::parse("price=-1").unwrap_err().contains("price"));
        assert!(Weights::parse("reliability=0,price=0,distance=0").is_err());
    }

    #[test]
    fn grams_and_centilitres_compare_per_kg_and_litre() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(
            comparable(Unit::G, d("0.25")),
            (ComparableUnit::Kg, d("250"))
        );
        assert_eq!(
            comparable(Unit::Cl, d("0.5")),
            (ComparableUnit::Litre, d("50"))
        );
        assert_eq!(comparable_quantity(Unit::G, d("500")), d("0.5"));
        assert!(
            equivalence(
                ("Fish", Unit::Kg, "Salmon fillet"),
                ("fish", Unit::G, "Salmon fillets")
            )
            .is_some()
        );
        assert!(
            equivalence(
                ("Fish", Unit::Kg, "Salmon fillet"),
                ("Fish", Unit::L, "Salmon fillet")
            )
            .is_none()
        );
    }

    #[test]
    fn components_stay_in_range() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(reliability(None, None), 0.5);
        assert!((reliability(Some(d("0.9")), Some(d("0.7"))) - 0.8).abs() < 1e-9);
        assert_eq!(price_score(Some(d("100")), Some(d("80")), 1.0), 0.8);
        assert_eq!(price_score(Some(d("100")), Some(d("80")), 0.5), 0.4);
        assert_eq!(price_score(None, Some(d("80")), 1.0), 0.0);
        assert_eq!(total(Weights::default(), 1.0, 1.0, 1.0), 1.0);
    }
}
