//! From a supplier's columns to Iris's product fields: header synonyms (Swedish and English)
//! with a confidence per column, value synonyms (units, allergens, dietary tags, decimal
//! commas, yes/no), and one row read into a `ProductInput` or into the errors that name its
//! column, rule and raw value. Pure: the same file and mapping always read the same.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::catalog::{Allergen, DietaryTag, ProductInput, Unit};

/// A product field a column can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Field {
    Sku,
    Name,
    Description,
    Category,
    Unit,
    UnitPrice,
    Currency,
    StockOnHand,
    Allergens,
    DietaryTags,
    TaxRate,
    Active,
}

impl Field {
    pub const ALL: [Field; 12] = [
        Field::Sku,
        Field::Name,
        Field::Description,
        Field::Category,
        Field::Unit,
        Field::UnitPrice,
        Field::Currency,
        Field::StockOnHand,
        Field::Allergens,
        Field::DietaryTags,
        Field::TaxRate,
        Field::Active,
    ];

    /// The fields every row needs.
    pub const REQUIRED: [Field; 5] = [
        Field::Sku,
        Field::Name,
        Field::Category,
        Field::Unit,
        Field::UnitPrice,
    ];

    /// The headers suppliers use for it, folded (lower case, no punctuation or spaces).
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::Sku => &[
                "sku",
                "artikelnr",
                "artikelnummer",
                "artnr",
                "art",
                "artikel",
                "varunummer",
                "varunr",
                "itemno",
                "itemnumber",
                "productcode",
                "produktkod",
                "code",
            ],
            Field::Name => &[
                "name",
                "namn",
                "benamning",
                "produktnamn",
                "artikelnamn",
                "varunamn",
                "productname",
                "beskrivningkort",
                "title",
            ],
            Field::Description => &["description", "beskrivning", "info", "text", "details"],
            Field::Category => &[
                "category",
                "kategori",
                "varugrupp",
                "produktgrupp",
                "grupp",
                "group",
                "sortiment",
            ],
            Field::Unit => &[
                "unit",
                "enhet",
                "forpackningsenhet",
                "saljenhet",
                "uom",
                "jamforenhet",
            ],
            Field::UnitPrice => &[
                "price",
                "pris",
                "apris",
                "styckpris",
                "nettopris",
                "unitprice",
                "pris/st",
                "prisexklmoms",
                "prisexmoms",
                "netprice",
            ],
            Field::Currency => &["currency", "valuta", "curr"],
            Field::StockOnHand => &[
                "stock",
                "lager",
                "lagersaldo",
                "saldo",
                "stockonhand",
                "antal",
                "quantity",
                "qty",
                "ilager",
            ],
            Field::Allergens => &["allergens", "allergener", "allergen", "allergi"],
            Field::DietaryTags => &[
                "dietarytags",
                "dietary",
                "kost",
                "specialkost",
                "markning",
                "markningar",
                "tags",
                "labels",
            ],
            Field::TaxRate => &["tax", "taxrate", "vat", "moms", "momssats", "vatrate"],
            Field::Active => &["active", "aktiv", "status", "saljbar", "available"],
        }
    }
}

/// A header folded for comparison: lower case, Swedish letters without their marks, only
/// letters, digits and `/`.
fn fold(header: &str) -> String {
    header
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'å' | 'ä' | 'à' | 'á' => 'a',
            'ö' | 'ø' | 'ó' => 'o',
            'é' | 'è' => 'e',
            'ü' => 'u',
            other => other,
        })
        .filter(|c| c.is_alphanumeric() || *c == '/')
        .collect()
}

/// Character-trigram similarity of two folded headers (0–1).
fn similarity(a: &str, b: &str) -> f64 {
    let grams = |s: &str| -> Vec<String> {
        let padded: Vec<char> = format!("  {s} ").chars().collect();
        padded.windows(3).map(|w| w.iter().collect()).collect()
    };
    let (ga, gb) = (grams(a), grams(b));
    if ga.is_empty() || gb.is_empty() {
        return 0.0;
    }
    let common = ga.iter().filter(|g| gb.contains(g)).count();
    2.0 * common as f64 / (ga.len() + gb.len()) as f64
}

/// What one column holds, as suggested or as corrected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnMapping {
    /// Its position, from 0.
    pub column: usize,
    pub header: String,
    /// The field it fills; `None`: ignored.
    pub field: Option<Field>,
    /// 1 for a known synonym, the similarity for a near one, 0 when nothing fits.
    pub confidence: f64,
}

/// Below this a near match is not suggested.
const MIN_CONFIDENCE: f64 = 0.55;

/// The suggested mapping of a header row: each column to the field whose synonym it is (or is
/// nearest to), each field to at most one column (the most confident, then the leftmost).
pub fn suggest(headers: &[String]) -> Vec<ColumnMapping> {
    let mut candidates: Vec<(usize, Field, f64)> = Vec::new();
    for (column, header) in headers.iter().enumerate() {
        let folded = fold(header);
        for field in Field::ALL {
            let confidence = if field.synonyms().iter().any(|s| fold(s) == folded) {
                1.0
            } else {
                field
                    .synonyms()
                    .iter()
                    .map(|s| similarity(&folded, &fold(s)))
                    .fold(0.0, f64::max)
            };
            if confidence >= MIN_CONFIDENCE {
                candidates.push((column, field, confidence));
            }
        }
    }
    candidates.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut taken_fields = Vec::new();
    let mut chosen: HashMap<usize, (Field, f64)> = HashMap::new();
    for (column, field, confidence) in candidates {
        if taken_fields.contains(&field) || chosen.contains_key(&column) {
            continue;
        }
        taken_fields.push(field);
        chosen.insert(column, (field, (confidence * 100.0).round() / 100.0));
    }
    headers
        .iter()
        .enumerate()
        .map(|(column, header)| {
            let (field, confidence) = chosen
                .get(&column)
                .map_or((None, 0.0), |(f, c)| (Some(*f), *c));
            ColumnMapping {
                column,
                header: header.clone(),
                field,
                confidence,
            }
        })
        .collect()
}

/// Why a mapping cannot be used: a required field no column fills, or a field filled twice.
pub fn check(mapping: &[ColumnMapping]) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for field in Field::REQUIRED {
        if !mapping.iter().any(|m| m.field == Some(field)) {
            problems.push(format!("no column holds {}", name(field)));
        }
    }
    for field in Field::ALL {
        if mapping.iter().filter(|m| m.field == Some(field)).count() > 1 {
            problems.push(format!(
                "{} is mapped from more than one column",
                name(field)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn name(field: Field) -> &'static str {
    match field {
        Field::Sku => "SKU",
        Field::Name => "NAME",
        Field::Description => "DESCRIPTION",
        Field::Category => "CATEGORY",
        Field::Unit => "UNIT",
        Field::UnitPrice => "UNIT_PRICE",
        Field::Currency => "CURRENCY",
        Field::StockOnHand => "STOCK_ON_HAND",
        Field::Allergens => "ALLERGENS",
        Field::DietaryTags => "DIETARY_TAGS",
        Field::TaxRate => "TAX_RATE",
        Field::Active => "ACTIVE",
    }
}

/// A number as spreadsheets write it: `1 234,50`, `1234.50`, `1.234,50`, `12,5`.
pub fn decimal(raw: &str) -> Result<Decimal, String> {
    crate::domain::kernel::money::parse_written(raw)
}

/// A unit from its Swedish or English word.
pub fn unit(raw: &str) -> Option<Unit> {
    let folded = fold(raw);
    Unit::parse(raw).or(match folded.as_str() {
        "kg" | "kilo" | "kilogram" => Some(Unit::Kg),
        "g" | "gr" | "gram" => Some(Unit::G),
        "l" | "lit" | "liter" | "litre" => Some(Unit::L),
        "cl" | "centiliter" => Some(Unit::Cl),
        "st" | "styck" | "pc" | "pcs" | "piece" | "each" | "ea" => Some(Unit::Piece),
        "fp" | "forp" | "forpackning" | "pkt" | "paket" | "pack" | "pk" => Some(Unit::Pack),
        "lada" | "box" | "ask" => Some(Unit::Box),
        "krt" | "kartong" | "case" | "ctn" | "kolli" => Some(Unit::Case),
        _ => None,
    })
}

/// One allergen from its Swedish or English word.
fn allergen(word: &str) -> Option<Allergen> {
    Some(match fold(word).as_str() {
        "gluten" | "vete" | "wheat" | "rag" | "rye" | "korn" | "barley" | "havre" | "oats"
        | "spelt" => Allergen::Gluten,
        "mjolk" | "milk" | "laktos" | "lactose" | "mjolkprotein" | "dairy" => Allergen::Milk,
        "agg" | "egg" | "eggs" => Allergen::Eggs,
        "fisk" | "fish" => Allergen::Fish,
        "kraftdjur" | "skaldjur" | "crustaceans" | "raka" | "rakor" | "hummer" => {
            Allergen::Crustaceans
        }
        "jordnot" | "jordnotter" | "peanut" | "peanuts" => Allergen::Peanuts,
        "soja" | "soy" | "soya" | "soybeans" => Allergen::Soybeans,
        "notter" | "not" | "nuts" | "mandel" | "almond" | "hasselnot" | "valnot" | "cashew" => {
            Allergen::Nuts
        }
        "selleri" | "celery" => Allergen::Celery,
        "senap" | "mustard" => Allergen::Mustard,
        "sesam" | "sesame" | "sesamfro" => Allergen::Sesame,
        "sulfit" | "sulfiter" | "svaveldioxid" | "sulphites" | "sulfites" => Allergen::Sulphites,
        "lupin" | "lupine" => Allergen::Lupin,
        "blotdjur" | "molluscs" | "musslor" | "mussla" | "blackfisk" => Allergen::Molluscs,
        _ => return None,
    })
}

/// One dietary tag from its Swedish or English word.
fn dietary_tag(word: &str) -> Option<DietaryTag> {
    Some(match fold(word).as_str() {
        "vegan" | "vegansk" | "veganskt" => DietaryTag::Vegan,
        "vegetarian" | "vegetarisk" | "vegetariskt" | "veg" => DietaryTag::Vegetarian,
        "glutenfri" | "glutenfritt" | "glutenfree" => DietaryTag::GlutenFree,
        "laktosfri" | "laktosfritt" | "lactosefree" => DietaryTag::LactoseFree,
        "ekologisk" | "ekologiskt" | "eko" | "krav" | "organic" => DietaryTag::Organic,
        "halal" => DietaryTag::Halal,
        "kosher" | "koscher" => DietaryTag::Kosher,
        _ => return None,
    })
}

/// A list cell split into its words (`,`, `;`, `/`, `|` or ` och `/` and `).
fn words(raw: &str) -> Vec<String> {
    raw.replace(" och ", ",")
        .replace(" and ", ",")
        .split([',', ';', '/', '|'])
        .map(|w| w.trim().to_owned())
        .filter(|w| {
            !w.is_empty() && !matches!(fold(w).as_str(), "" | "inga" | "none" | "nej" | "-")
        })
        .collect()
}

fn yes_no(raw: &str) -> Option<bool> {
    match fold(raw).as_str() {
        "ja" | "yes" | "true" | "1" | "j" | "y" | "aktiv" | "active" | "x" => Some(true),
        "nej" | "no" | "false" | "0" | "n" | "inaktiv" | "inactive" | "utgatt" => Some(false),
        _ => None,
    }
}

/// Why one cell of a row cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The row's number in the file, the header being row 1.
    pub row: u64,
    /// The column's header (or `—` for a row-wide problem).
    pub column: String,
    /// A stable code: REQUIRED, NOT_A_NUMBER, UNKNOWN_UNIT, UNKNOWN_ALLERGEN,
    /// UNKNOWN_DIETARY_TAG, NOT_YES_OR_NO, INVALID (a rule of `upsertProducts`).
    pub code: &'static str,
    pub message: String,
    pub raw: String,
}

/// One record read through the mapping into a product, or the errors of its cells.
pub fn read_row(
    row: u64,
    record: &[&str],
    mapping: &[ColumnMapping],
) -> Result<ProductInput, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut input = ProductInput::default();
    let mut error = |column: &ColumnMapping, code: &'static str, message: String, raw: &str| {
        errors.push(RowError {
            row,
            column: column.header.clone(),
            code,
            message,
            raw: raw.chars().take(200).collect(),
        });
    };
    for column in mapping {
        let Some(field) = column.field else { continue };
        let raw = record.get(column.column).copied().unwrap_or("").trim();
        if raw.is_empty() {
            if Field::REQUIRED.contains(&field) {
                error(
                    column,
                    "REQUIRED",
                    format!("{} is required", name(field)),
                    raw,
                );
            }
            continue;
        }
        match field {
            Field::Sku => input.sku = raw.to_owned(),
            Field::Name => input.name = raw.to_owned(),
            Field::Description => input.description = Some(raw.to_owned()),
            Field::Category => input.category = raw.to_owned(),
            Field::Unit => match unit(raw) {
                Some(u) => input.unit = u.as_str().to_owned(),
                None => error(
                    column,
                    "UNKNOWN_UNIT",
                    "is not a unit (KG, G, L, CL, PIECE/st, PACK/fp, BOX, CASE/krt)".into(),
                    raw,
                ),
            },
            Field::UnitPrice => match decimal(raw.trim_end_matches("kr").trim()) {
                Ok(d) => input.unit_price = d,
                Err(m) => error(column, "NOT_A_NUMBER", m, raw),
            },
            Field::Currency => input.currency = Some(raw.to_uppercase()),
            Field::StockOnHand => match decimal(raw) {
                Ok(d) if d.fract().is_zero() => {
                    input.stock_on_hand = rust_decimal::prelude::ToPrimitive::to_i64(&d)
                }
                _ => error(column, "NOT_A_NUMBER", "is not a whole number".into(), raw),
            },
            Field::TaxRate => match decimal(raw.trim_end_matches('%').trim()) {
                Ok(d) => input.tax_rate = Some(d),
                Err(m) => error(column, "NOT_A_NUMBER", m, raw),
            },
            Field::Active => match yes_no(raw) {
                Some(b) => input.active = Some(b),
                None => error(column, "NOT_YES_OR_NO", "is neither yes nor no".into(), raw),
            },
            Field::Allergens => {
                for word in words(raw) {
                    match allergen(&word) {
                        Some(a) if !input.allergens.contains(&a) => input.allergens.push(a),
                        Some(_) => {}
                        None => error(
                            column,
                            "UNKNOWN_ALLERGEN",
                            format!("\"{word}\" is not one of the 14 declared allergens"),
                            raw,
                        ),
                    }
                }
            }
            Field::DietaryTags => {
                for word in words(raw) {
                    match dietary_tag(&word) {
                        Some(t) if !input.dietary_tags.contains(&t) => input.dietary_tags.push(t),
                        Some(_) => {}
                        None => error(
                            column,
                            "UNKNOWN_DIETARY_TAG",
                            format!("\"{word}\" is not a dietary tag"),
                            raw,
                        ),
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        input.allergens.sort();
        input.dietary_tags.sort();
        Ok(input)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn swedish_and_english_headers_map_with_their_confidence() {
        let mapping = suggest(&headers(&[
            "Artikelnr",
            "Benämning",
            "Varugrupp",
            "Enhet",
            "À-pris",
            "Allergener",
            "Lagersaldo",
            "Kommentar",
        ]));
        let fields: Vec<Option<Field>> = mapping.iter().map(|m| m.field).collect();
        assert_eq!(
            fields,
            [
                Some(Field::Sku),
                Some(Field::Name),
                Some(Field::Category),
                Some(Field::Unit),
                Some(Field::UnitPrice),
                Some(Field::Allergens),
                Some(Field::StockOnHand),
                None,
            ]
        );
        assert!(mapping[..7].iter().all(|m| m.confidence == 1.0));
        assert_eq!(check(&mapping), Ok(()));

        // A near spelling is suggested with less than full confidence.
        let near = suggest(&headers(&["Artikelnumer", "Product name", "Price"]));
        assert_eq!(near[0].field, Some(Field::Sku));
        assert!(
            near[0].confidence < 1.0 && near[0].confidence >= 0.55,
            "{near:?}"
        );
        assert_eq!(near[2].field, Some(Field::UnitPrice));
        assert_eq!(
            check(&near).unwrap_err(),
            ["no column holds CATEGORY", "no column holds UNIT"]
        );
    }

    #[test]
    fn a_row_reads_into_a_product_with_swedish_values() {
        let mapping = suggest(&headers(&[
            "sku",
            "namn",
            "kategori",
            "enhet",
            "pris",
            "allergener",
            "kost",
            "moms",
            "aktiv",
        ]));
        let product = read_row(
            2,
            &[
                "1001",
                "Grädde 36 %",
                "Mejeri",
                "krt",
                "1 234,50",
                "mjölk, laktos",
                "Eko / KRAV",
                "12 %",
                "ja",
            ],
            &mapping,
        )
        .unwrap();
        assert_eq!(product.sku, "1001");
        assert_eq!(product.unit, "CASE");
        assert_eq!(product.unit_price, Decimal::from_str("1234.5").unwrap());
        assert_eq!(product.allergens, [Allergen::Milk]);
        assert_eq!(product.dietary_tags, [DietaryTag::Organic]);
        assert_eq!(product.tax_rate, Some(Decimal::from(12)));
        assert_eq!(product.active, Some(true));
    }

    #[test]
    fn each_bad_cell_is_named_with_its_rule_and_raw_value() {
        let mapping = suggest(&headers(&[
            "sku",
            "namn",
            "kategori",
            "enhet",
            "pris",
            "allergener",
        ]));
        let errors = read_row(
            7,
            &["", "Smör", "Mejeri", "burk?", "gratis", "mjölk, kiwi"],
            &mapping,
        )
        .unwrap_err();
        let summary: Vec<(&str, &str, &str)> = errors
            .iter()
            .map(|e| (e.column.as_str(), e.code, e.raw.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("sku", "REQUIRED", ""),
                ("enhet", "UNKNOWN_UNIT", "burk?"),
                ("pris", "NOT_A_NUMBER", "gratis"),
                ("allergener", "UNKNOWN_ALLERGEN", "mjölk, kiwi"),
            ]
        );
        assert!(errors.iter().all(|e| e.row == 7));
    }
}
