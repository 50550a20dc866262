//! Field rules shared by the contexts, and a collector that reports every broken rule at once.

use crate::error::{AppError, FieldViolation};

/// Collects violations while an input is checked field by field.
#[derive(Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Keeps the value when the rule holds, records `field` and the rule otherwise.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.0.push(FieldViolation {
                    field: field.to_owned(),
                    message,
                });
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Err(AppError::Validation)` naming every violation, if there was one.
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

/// The edge rule every string a caller sends passes before anything else sees it (GraphQL
/// arguments and variables, REST query strings and JSON bodies): no NUL and no other C0 control
/// character but tab, line feed and carriage return. Postgres cannot store NUL in text at all,
/// and SQLite would store it and truncate it elsewhere; refusing it at the edge makes both
/// backends answer alike.
pub fn edge_text(value: &str) -> Result<(), String> {
    match value
        .chars()
        .find(|c| c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r') && *c != '\u{7f}')
    {
        None => Ok(()),
        Some('\0') => Err("must not contain a NUL character (U+0000)".into()),
        Some(c) => Err(format!(
            "must not contain the control character U+{:04X}",
            c as u32
        )),
    }
}

/// A borrowed view of a structured input (a JSON body, GraphQL arguments and variables), so
/// one walk applies the edge text rule to all of them. Adapters convert their value types.
pub enum TextTree<'v> {
    Str(&'v str),
    List(Vec<TextTree<'v>>),
    Object(Vec<(&'v str, TextTree<'v>)>),
    /// Numbers, booleans, nulls, enums: nothing to check.
    Other,
}

/// The first string or key of `tree` that breaks the edge text rule, with its path from
/// `path` (`input.items[0].name`) and the rule.
pub fn dirty_text(tree: TextTree<'_>, path: &mut String) -> Option<(String, String)> {
    match tree {
        TextTree::Str(s) => edge_text(s).err().map(|rule| (path.clone(), rule)),
        TextTree::List(items) => items.into_iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = dirty_text(item, path);
            path.truncate(len);
            found
        }),
        TextTree::Object(entries) => entries.into_iter().find_map(|(key, item)| {
            if let Err(rule) = edge_text(key) {
                return Some((path.clone(), format!("a key {rule}")));
            }
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            let found = dirty_text(item, path);
            path.truncate(len);
            found
        }),
        TextTree::Other => None,
    }
}

/// Trimmed text of 1..=`max` characters without control characters.
pub fn text(raw: &str, max: usize) -> Result<String, String> {
    // The bound holds for what was sent, padding included (as the API documents it).
    if raw.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let value = raw.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if let Some(c) = value.chars().find(|c| is_format_character(*c)) {
        return Err(format!(
            "must not contain the invisible format character U+{:04X} (bidirectional controls and other format characters can disguise a text; only the joiners U+200C and U+200D are allowed)",
            c as u32
        ));
    }
    Ok(value.to_owned())
}

/// Unicode's format characters (general category Cf, Unicode 15) but the zero-width
/// non-joiner and joiner, which Persian, Indic scripts and emoji sequences need: invisible
/// characters that change how a text displays — bidirectional overrides (U+202E turns
/// "gpj.exe" around), zero-width spaces, the byte order mark, tags.
pub fn is_format_character(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B
            | 0x200E..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// A plausible e-mail address, lower-cased: one `@`, a non-empty local part of at most 64
/// characters, a dotted domain, no spaces, at most 254 characters in all.
pub fn email(raw: &str) -> Result<String, String> {
    const RULE: &str = "must be a valid e-mail address";
    // ASCII folding only: Unicode lower-casing merges distinct addresses (K → k).
    let value = raw.trim().to_ascii_lowercase();
    if value.len() > 254 {
        return Err("must be at most 254 characters".into());
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Err(RULE.into());
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    if domain_ok && local_ok {
        Ok(value)
    } else {
        Err(RULE.into())
    }
}

/// A Swedish organisation number (10 digits, Luhn check digit), normalised to `NNNNNN-NNNN`.
/// Accepts `5567037485`, `556703-7485` and the 12-digit form with the `16` prefix.
pub fn organisation_number(raw: &str) -> Result<String, String> {
    const RULE: &str = "must be a Swedish organisation number such as 556703-7485";
    // NNNNNN-NNNN or NNNNNNNNNN, optionally after the `16` of the 12-digit form: the shape the
    // API documents (`^(16)?[0-9]{6}-?[0-9]{4}$`, surrounding whitespace aside).
    let value = raw.trim();
    if !value.is_ascii() {
        return Err(RULE.into());
    }
    let value = match value.len() {
        12 | 13 if value.starts_with("16") => &value[2..],
        _ => value,
    };
    let digits: String = match (value.len(), value.as_bytes().get(6)) {
        (11, Some(b'-')) => format!("{}{}", &value[..6], &value[7..]),
        (10, _) => value.to_owned(),
        _ => return Err(RULE.into()),
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(RULE.into());
    }
    if !luhn_valid(&digits) {
        return Err("has an invalid check digit".into());
    }
    Ok(format!("{}-{}", &digits[..6], &digits[6..]))
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_characters_are_refused_but_the_joiners() {
        let refused = text("Kock\u{202E}gnal", 200).unwrap_err();
        assert!(refused.contains("U+202E"), "{refused}");
        for c in ['\u{200B}', '\u{FEFF}', '\u{2066}', '\u{00AD}', '\u{E0041}'] {
            assert!(text(&format!("a{c}b"), 200).is_err(), "U+{:04X}", c as u32);
        }
        // Persian needs the non-joiner; emoji sequences the joiner.
        assert!(text("می\u{200C}خواهم", 200).is_ok());
        assert!(text("Kock \u{1F468}\u{200D}\u{1F373}", 200).is_ok());
        assert!(text("Smörgåsbord 🇸🇪", 200).is_ok());
    }

    #[test]
    fn organisation_numbers_are_checked_and_normalised() {
        assert_eq!(organisation_number("5567037485").unwrap(), "556703-7485");
        assert_eq!(organisation_number("16556703-7485").unwrap(), "556703-7485");
        assert_eq!(
            organisation_number("556703-7484").unwrap_err(),
            "has an invalid check digit"
        );
        assert!(organisation_number("55670374").is_err());
        assert!(organisation_number("55670a7485").is_err());
        // Only the documented shape: one dash after the sixth digit, no inner spaces.
        assert_eq!(
            organisation_number(" 556703-7485\n").unwrap(),
            "556703-7485"
        );
        assert!(organisation_number("5567 037485").is_err());
        assert!(organisation_number("55-67037485").is_err());
        assert!(organisation_number("556703-748é").is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(email(" Order@Example.SE ").unwrap(), "order@example.se");
        for bad in [
            "", "a", "a@b", "@b.se", "a@.se", "a b@c.se", "a@b..se", "a@@b.se",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("  Malmö ", 10).unwrap(), "Malmö");
        assert_eq!(text("   ", 10).unwrap_err(), "must not be empty");
        assert!(text("abcdefghijk", 10).is_err());
        assert!(text("a\u{0}b", 10).is_err());
    }
}
