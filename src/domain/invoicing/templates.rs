//! Invoice templates: how one supplier's PDF (and scanned) invoices are read, in the spirit of
//! invoice2data. Pure: validation and application.
//!
//! A template names keywords that all appear in the supplier's documents (its organisation
//! number, say), one regular expression per header field (its first capture group is the
//! value), and one for a line row with named groups: `quantity`, `unit_price` and `sku` or
//! `description` are required; `line_total`, `tax_rate`, `unit` and `gtin` are read when
//! present. `lines_start` and `lines_end` bound where rows are looked for. Matching is
//! case-insensitive; a row is one text line.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use regex::{Regex, RegexBuilder};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    Source,
    extract::{
        Extracted, ExtractedLine, FieldSource, StatedTotals, Unreadable, line_amount, parse_date,
        parse_number,
    },
};
use crate::domain::kernel::validation::{self, Violations};

/// Header fields a template may read.
pub const FIELDS: [&str; 8] = [
    "invoiceNumber",
    "issueDate",
    "dueDate",
    "orderReference",
    "currency",
    "subtotal",
    "tax",
    "total",
];

/// Groups a line pattern may name.
const LINE_GROUPS: [&str; 8] = [
    "sku",
    "gtin",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "line_total",
    "tax_rate",
];

/// What a template reads with, at most (per mille): a person wrote the patterns, and the text
/// itself may be off (OCR lowers it further).
const TEMPLATE_CONFIDENCE: u16 = 950;
/// The longest pattern accepted.
const MAX_PATTERN: usize = 2000;

/// A supplier's template, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub name: String,
    pub keywords: Vec<String>,
    /// Header field → pattern.
    pub fields: BTreeMap<String, String>,
    pub line_pattern: String,
    pub lines_start: Option<String>,
    pub lines_end: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A template as a member writes it.
#[derive(Clone, Debug, Default)]
pub struct TemplateInput {
    pub name: String,
    pub keywords: Vec<String>,
    pub fields: BTreeMap<String, String>,
    pub line_pattern: String,
    pub lines_start: Option<String>,
    pub lines_end: Option<String>,
}

fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN {
        return Err(format!("must be at most {MAX_PATTERN} characters"));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .multi_line(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("is not a valid regular expression: {e}"))
}

/// Checks a template as written; the error names every bad field.
pub fn validate(input: &TemplateInput) -> Result<TemplateInput, crate::error::AppError> {
    let mut v = Violations::default();
    let name = v
        .check("name", validation::text(input.name.trim(), 100))
        .unwrap_or_default();
    if name.is_empty() {
        v.check::<()>("name", Err("must not be empty".into()));
    }
    if input.keywords.is_empty() || input.keywords.len() > 20 {
        v.check::<()>(
            "keywords",
            Err("must name 1 to 20 strings every document of the supplier contains".into()),
        );
    }
    let mut keywords = Vec::new();
    for (i, keyword) in input.keywords.iter().enumerate() {
        let field = format!("keywords[{i}]");
        if let Some(k) = v.check(&field, validation::text(keyword.trim(), 100)) {
            if k.is_empty() {
                v.check::<()>(&field, Err("must not be empty".into()));
            }
            keywords.push(k);
        }
    }
    for (field, pattern) in &input.fields {
        let name = format!("fields.{field}");
        if !FIELDS.contains(&field.as_str()) {
            v.check::<()>(
                &name,
                Err(format!("is not a field; one of {}", FIELDS.join(", "))),
            );
            continue;
        }
        v.check(&name, compile(pattern));
    }
    if let Some(line) = v.check("linePattern", compile(&input.line_pattern)) {
        let names: Vec<&str> = line.capture_names().flatten().collect();
        if let Some(unknown) = names.iter().find(|n| !LINE_GROUPS.contains(n)) {
            v.check::<()>(
                "linePattern",
                Err(format!(
                    "names the group `{unknown}`; groups are {}",
                    LINE_GROUPS.join(", ")
                )),
            );
        }
        let has = |group: &str| names.contains(&group);
        if !(has("quantity") && has("unit_price") && (has("sku") || has("description"))) {
            v.check::<()>(
                "linePattern",
                Err("must name the groups quantity, unit_price and sku or description, e.g. (?P<sku>\\S+)\\s+(?P<description>.+?)\\s+(?P<quantity>[\\d,.]+)\\s+(?P<unit_price>[\\d ,.]+)$".into()),
            );
        }
    }
    for (field, pattern) in [
        ("linesStart", &input.lines_start),
        ("linesEnd", &input.lines_end),
    ] {
        if let Some(pattern) = pattern {
            v.check(field, compile(pattern));
        }
    }
    v.finish()?;
    Ok(TemplateInput {
        name,
        keywords,
        fields: input.fields.clone(),
        line_pattern: input.line_pattern.clone(),
        lines_start: input.lines_start.clone(),
        lines_end: input.lines_end.clone(),
    })
}

/// The first of `templates` whose keywords all appear in `text`.
pub fn choose<'a>(templates: &'a [Template], text: &str) -> Option<&'a Template> {
    let lower = text.to_lowercase();
    templates.iter().find(|t| {
        !t.keywords.is_empty() && t.keywords.iter().all(|k| lower.contains(&k.to_lowercase()))
    })
}

fn bad(template: &Template, what: &str, e: impl std::fmt::Display) -> Unreadable {
    Unreadable(format!("template `{}`: {what} {e}", template.name))
}

/// Reads `text` with `template`; `confidence` is the text's own (1000 for a text layer, the
/// recognition's for OCR).
pub fn apply(
    template: &Template,
    text: &str,
    source: Source,
    confidence: u16,
) -> Result<Extracted, Unreadable> {
    let confidence = confidence.min(TEMPLATE_CONFIDENCE);
    let mut fields = BTreeMap::new();
    let mut values: BTreeMap<&'static str, String> = BTreeMap::new();
    for field in FIELDS {
        let Some(pattern) = template.fields.get(field) else {
            continue;
        };
        let regex = compile(pattern).map_err(|e| bad(template, field, e))?;
        if let Some(captures) = regex.captures(text) {
            let value = captures
                .get(1)
                .or_else(|| captures.get(0))
                .map(|m| m.as_str().trim().to_owned())
                .unwrap_or_default();
            if !value.is_empty() {
                values.insert(field, value);
                fields.insert(
                    field,
                    FieldSource {
                        from: format!("template `{}`, {field}", template.name),
                        confidence,
                    },
                );
            }
        }
    }
    // Where the rows are: after `lines_start`, before `lines_end`.
    let mut body = text;
    if let Some(start) = &template.lines_start {
        let regex = compile(start).map_err(|e| bad(template, "linesStart", e))?;
        if let Some(found) = regex.find(body) {
            body = &body[found.end()..];
        }
    }
    if let Some(end) = &template.lines_end {
        let regex = compile(end).map_err(|e| bad(template, "linesEnd", e))?;
        if let Some(found) = regex.find(body) {
            body = &body[..found.start()];
        }
    }
    let line = compile(&template.line_pattern).map_err(|e| bad(template, "linePattern", e))?;
    let mut lines = Vec::new();
    for (index, row) in body.lines().enumerate() {
        let Some(captures) = line.captures(row.trim()) else {
            continue;
        };
        let group = |name: &str| {
            captures
                .name(name)
                .map(|m| m.as_str().trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let number = |name: &str| -> Result<Option<Decimal>, Unreadable> {
            group(name)
                .map(|raw| {
                    parse_number(&raw).map_err(|e| {
                        Unreadable(format!(
                            "template `{}`, row {} (`{}`), {name}: {e}",
                            template.name,
                            index + 1,
                            row.trim()
                        ))
                    })
                })
                .transpose()
        };
        let (Some(quantity), Some(unit_price)) = (number("quantity")?, number("unit_price")?)
        else {
            continue;
        };
        let sku = group("sku");
        let description = group("description")
            .or_else(|| sku.clone())
            .unwrap_or_default();
        lines.push(ExtractedLine {
            sku,
            gtin: group("gtin"),
            description,
            unit: group("unit"),
            quantity,
            unit_price,
            line_total: number("line_total")?.unwrap_or_else(|| line_amount(quantity, unit_price)),
            tax_rate: number("tax_rate")?,
            confidence,
        });
    }
    if lines.is_empty() {
        return Err(Unreadable(format!(
            "template `{}` found no line rows in the document's text",
            template.name
        )));
    }
    let amount = |field: &str| -> Result<Option<Decimal>, Unreadable> {
        values
            .get(field)
            .map(|raw| parse_number(raw).map_err(|e| bad(template, field, e)))
            .transpose()
    };
    let date = |field: &str| -> Result<_, Unreadable> {
        values
            .get(field)
            .map(|raw| parse_date(raw).map_err(|e| bad(template, field, e)))
            .transpose()
    };
    Ok(Extracted {
        source,
        invoice_number: values.get("invoiceNumber").cloned(),
        issue_date: date("issueDate")?,
        due_date: date("dueDate")?,
        order_reference: values.get("orderReference").cloned(),
        currency: values.get("currency").map(|c| c.to_ascii_uppercase()),
        seller: None,
        buyer: None,
        lines,
        stated: StatedTotals {
            subtotal: amount("subtotal")?,
            tax: amount("tax")?,
            total: amount("total")?,
            taxes: Vec::new(),
        },
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Template {
        Template {
            id: Uuid::nil(),
            supplier_id: Uuid::nil(),
            name: "Bageri Beta".into(),
            keywords: vec!["Bageri Beta AB".into()],
            fields: BTreeMap::from([
                ("invoiceNumber".into(), r"Fakturanr:?\s*(\S+)".into()),
                ("issueDate".into(), r"Fakturadatum:?\s*(\d{4}-\d{2}-\d{2})".into()),
                ("orderReference".into(), r"Order:?\s*(\S+)".into()),
                ("total".into(), r"Att betala:?\s*([\d ,.]+)".into()),
            ]),
            line_pattern: r"^(?P<sku>[A-Z]-\d+)\s+(?P<description>.+?)\s+(?P<quantity>\d+)\s+(?P<unit_price>[\d ]+,\d{2})\s+(?P<line_total>[\d ]+,\d{2})$".into(),
            lines_start: Some("Artikel".into()),
            lines_end: Some("Summa".into()),
            updated_at: Utc::now(),
        }
    }

    const TEXT: &str = "Bageri Beta AB\nFakturanr: F-9\nFakturadatum: 2026-12-07\nOrder: R-01ABCDEF\n\
        Artikel Benämning Antal À-pris Belopp\nB-1 Surdegsbröd 2 99,50 199,00\nB-3 Knäckebröd 10 2,00 20,00\n\
        Summa 219,00\nMoms 26,28\nAtt betala: 245,28\n";

    #[test]
    fn a_template_reads_fields_and_rows() {
        let t = template();
        assert_eq!(choose(std::slice::from_ref(&t), TEXT), Some(&t));
        assert_eq!(choose(std::slice::from_ref(&t), "Another supplier"), None);
        let read = apply(&t, TEXT, Source::Pdf, 1000).unwrap();
        assert_eq!(read.invoice_number.as_deref(), Some("F-9"));
        assert_eq!(read.order_reference.as_deref(), Some("R-01ABCDEF"));
        assert_eq!(read.stated.total, Some("245.28".parse().unwrap()));
        assert_eq!(read.lines.len(), 2);
        assert_eq!(
            read.lines[0].unit_price,
            "99.50".parse::<Decimal>().unwrap()
        );
        assert_eq!(read.lines[1].description, "Knäckebröd");
        assert_eq!(read.confidence(), 950);
        // OCR's confidence carries through.
        assert_eq!(apply(&t, TEXT, Source::Ocr, 870).unwrap().confidence(), 870);
    }

    #[test]
    fn templates_are_checked_when_saved() {
        let mut input = TemplateInput {
            name: "x".into(),
            keywords: vec!["Beta".into()],
            fields: BTreeMap::from([("total".into(), "(".into()), ("colour".into(), "x".into())]),
            line_pattern: r"(?P<sku>\S+) (?P<price>\d+)".into(),
            ..TemplateInput::default()
        };
        let err = validate(&input).unwrap_err().message();
        assert!(
            err.contains("fields.total: is not a valid regular expression"),
            "{err}"
        );
        assert!(err.contains("fields.colour: is not a field"), "{err}");
        assert!(
            err.contains("linePattern: names the group `price`"),
            "{err}"
        );
        input.fields.clear();
        input.line_pattern = r"(?P<sku>\S+) (?P<quantity>\d+) (?P<unit_price>\d+)".into();
        assert!(validate(&input).is_ok());
    }
}
