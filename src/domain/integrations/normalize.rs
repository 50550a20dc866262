//! The normalizer: what a wholesaler's portal writes (Swedish units and packs, prices with
//! decimal commas and currency suffixes, stock words) turned into exact values. Pure.

use rust_decimal::Decimal;

use crate::domain::kernel::money;

/// A unit Iris knows, with the spellings portals use for it.
const UNITS: &[(&str, &[&str])] = &[
    (
        "PCS",
        &[
            "st", "st.", "styck", "styck.", "pcs", "pc", "piece", "pieces", "ea", "each",
        ],
    ),
    ("KG", &["kg", "kilo", "kilogram"]),
    ("G", &["g", "gr", "gram"]),
    ("HG", &["hg", "hekto"]),
    ("L", &["l", "lit", "liter", "litre"]),
    ("DL", &["dl"]),
    ("CL", &["cl"]),
    ("ML", &["ml"]),
    ("CASE", &["krt", "kartong", "case", "cs", "ctn"]),
    (
        "PACK",
        &["fp", "förp", "förpackning", "pkt", "paket", "pack", "pk"],
    ),
    ("BOTTLE", &["fl", "flaska", "bottle", "btl"]),
    ("CAN", &["bk", "burk", "can", "tin"]),
    ("BAG", &["påse", "bag", "sk", "säck"]),
    ("BUNCH", &["kn", "knippe", "bunch"]),
    ("TRAY", &["tr", "tråg", "tray", "back"]),
];

/// The canonical unit for a portal's spelling (`krt` → `CASE`), or `None` when unknown.
pub fn unit(raw: &str) -> Option<&'static str> {
    let folded = raw.trim().trim_start_matches('/').trim().to_lowercase();
    UNITS
        .iter()
        .find(|(canonical, spellings)| {
            spellings.contains(&folded.as_str()) || canonical.eq_ignore_ascii_case(&folded)
        })
        .map(|(canonical, _)| *canonical)
}

/// A price: the amount (exact, at most three decimals) and the currency it names, if any.
/// `"1 234,50 kr"`, `"89,90 SEK/kg"`, `"€ 12.5"`, `"12:-"`.
pub fn price(raw: &str) -> Result<(Decimal, Option<&'static str>), String> {
    let lower = raw.trim().to_lowercase();
    // What follows a slash is the unit the price is per, not part of the amount.
    let amount_part = lower.split('/').next().unwrap_or_default();
    let currency = if amount_part.contains("kr") || amount_part.contains("sek") {
        Some("SEK")
    } else if amount_part.contains('€') || amount_part.contains("eur") {
        Some("EUR")
    } else if amount_part.contains("nok") {
        Some("NOK")
    } else if amount_part.contains("dkk") {
        Some("DKK")
    } else {
        None
    };
    let digits: String = amount_part
        .replace(":-", "")
        .chars()
        .filter(|c| {
            c.is_ascii_digit() || matches!(c, ',' | '.' | ' ' | '\u{a0}' | '\u{202f}' | '-')
        })
        .collect();
    let digits = digits.trim().trim_end_matches('-').trim();
    if digits.is_empty() {
        return Err(format!("\"{raw}\" holds no price"));
    }
    let amount = money::parse_written(digits).map_err(|_| format!("\"{raw}\" is not a price"))?;
    if amount.is_sign_negative() {
        return Err(format!("\"{raw}\" is a negative price"));
    }
    money::to_milli(amount).map_err(|e| format!("\"{raw}\": the price {}", e.rule()))?;
    Ok((amount.normalize(), currency))
}

/// A pack: its content as a quantity of a unit. `6x1 l` → 6 L, `10 kg` → 10 KG,
/// `12 st/krt` → 12 PCS, `4 x 2,5 kg` → 10 KG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pack {
    pub quantity: Decimal,
    pub unit: &'static str,
}

pub fn pack(raw: &str) -> Option<Pack> {
    let lower = raw.trim().to_lowercase().replace('×', "x");
    let first = lower.split('/').next().unwrap_or_default().trim();
    // "<count> x <size> <unit>" or "<size> <unit>".
    let (count, rest) = match first.split_once('x') {
        Some((count, rest))
            if count.trim().chars().all(|c| c.is_ascii_digit()) && !count.trim().is_empty() =>
        {
            (count.trim().parse::<u32>().ok()?, rest.trim())
        }
        _ => (1, first),
    };
    let split = rest.find(|c: char| c.is_alphabetic()).unwrap_or(rest.len());
    let (size, unit_text) = rest.split_at(split);
    let size = if size.trim().is_empty() {
        Decimal::ONE
    } else {
        money::parse_written(size).ok()?
    };
    let unit = unit(unit_text)?;
    let quantity = size.checked_mul(Decimal::from(count))?.normalize();
    (quantity > Decimal::ZERO).then_some(Pack { quantity, unit })
}

/// Stock as portals show it: a count (`12`, `12 st`), or words (`I lager`, `Slut`, `Beställningsvara`).
/// Returns (count if given, in stock at all if known).
pub fn stock(raw: &str) -> (Option<i64>, Option<bool>) {
    let lower = raw.trim().to_lowercase();
    let digits: String = lower
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if let Ok(count) = digits.parse::<i64>() {
        return (Some(count), Some(count > 0));
    }
    let out = [
        "slut",
        "ej i lager",
        "out of stock",
        "tillfälligt slut",
        "utgått",
    ];
    if out.iter().any(|w| lower.contains(w)) {
        return (Some(0), Some(false));
    }
    let inside = ["i lager", "finns", "in stock", "available", "ja"];
    if inside.iter().any(|w| lower.contains(w)) {
        return (None, Some(true));
    }
    (None, None)
}

/// A GTIN (8, 12, 13 or 14 digits) whose check digit holds; spaces and dashes are dropped.
pub fn gtin(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if !matches!(digits.len(), 8 | 12 | 13 | 14) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let values: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    let (body, check) = values.split_at(values.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    ((10 - sum % 10) % 10 == check[0]).then_some(digits)
}

/// A SKU compared the way Iris compares them: trimmed, lower case, leading zeros kept.
pub fn sku_key(raw: &str) -> String {
    raw.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn prices_as_portals_write_them() {
        assert_eq!(price("1 234,50 kr").unwrap(), (d("1234.5"), Some("SEK")));
        assert_eq!(price("89,90 SEK/kg").unwrap(), (d("89.9"), Some("SEK")));
        assert_eq!(price("12:-").unwrap(), (d("12"), None));
        assert_eq!(price("1.234,567").unwrap(), (d("1234.567"), None));
        assert_eq!(price("1,234.50").unwrap(), (d("1234.5"), None));
        assert_eq!(price("€ 12.5").unwrap(), (d("12.5"), Some("EUR")));
        assert_eq!(
            price("\u{a0}7\u{a0}500,00\u{a0}kr").unwrap(),
            (d("7500"), Some("SEK"))
        );
        assert!(price("pris saknas").is_err());
        assert!(price("1,2345").unwrap_err().contains("decimal places"));
    }

    #[test]
    fn units_and_packs() {
        assert_eq!(unit("st"), Some("PCS"));
        assert_eq!(unit("KRT"), Some("CASE"));
        assert_eq!(unit("fp"), Some("PACK"));
        assert_eq!(unit("/kg"), Some("KG"));
        assert_eq!(unit("furlong"), None);
        assert_eq!(
            pack("6x1 l"),
            Some(Pack {
                quantity: d("6"),
                unit: "L"
            })
        );
        assert_eq!(
            pack("4 x 2,5 kg"),
            Some(Pack {
                quantity: d("10"),
                unit: "KG"
            })
        );
        assert_eq!(
            pack("12 st/krt"),
            Some(Pack {
                quantity: d("12"),
                unit: "PCS"
            })
        );
        assert_eq!(
            pack("500 g"),
            Some(Pack {
                quantity: d("500"),
                unit: "G"
            })
        );
        assert_eq!(
            pack("kg"),
            Some(Pack {
                quantity: d("1"),
                unit: "KG"
            })
        );
        assert_eq!(pack("a lot"), None);
    }

    #[test]
    fn stock_words_and_counts() {
        assert_eq!(stock("12 st"), (Some(12), Some(true)));
        assert_eq!(stock("0"), (Some(0), Some(false)));
        assert_eq!(stock("Slut i lager"), (Some(0), Some(false)));
        assert_eq!(stock("I lager"), (None, Some(true)));
        assert_eq!(stock("Beställningsvara"), (None, None));
    }

    #[test]
    fn gtins_need_their_check_digit() {
        assert_eq!(gtin("7310865004703").as_deref(), Some("7310865004703"));
        assert_eq!(gtin("7310865004704"), None);
        assert_eq!(gtin("73-1086-5004703").as_deref(), Some("7310865004703"));
        assert_eq!(gtin("12345"), None);
    }

    proptest! {
        /// Any amount with at most three decimals, written the Swedish way (thousands spaces,
        /// decimal comma, `kr`), reads back exactly.
        #[test]
        fn swedish_prices_round_trip(milli in 0i64..100_000_000_000) {
            let amount = Decimal::new(milli, 3).normalize();
            let text = amount.to_string();
            let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
            let grouped: Vec<String> = int
                .as_bytes()
                .rchunks(3)
                .rev()
                .map(|c| String::from_utf8(c.to_vec()).unwrap())
                .collect();
            let written = if frac.is_empty() {
                format!("{} kr", grouped.join("\u{a0}"))
            } else {
                format!("{},{} kr", grouped.join(" "), frac)
            };
            prop_assert_eq!(price(&written).unwrap(), (amount, Some("SEK")));
        }
    }
}
