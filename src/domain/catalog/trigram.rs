//! Trigram similarity as PostgreSQL's pg_trgm computes it, so search ranks the same on SQLite
//! (where Iris scores every candidate) and Postgres (where a trigram index finds them).
//!
//! Text is lower-cased and split into words at every non-alphanumeric character; each word is
//! padded with two spaces in front and one behind; similarity is |A ∩ B| / |A ∪ B| of the two
//! trigram sets.

use std::collections::HashSet;

/// pg_trgm's default `similarity_threshold`.
pub const THRESHOLD: f64 = 0.3;

pub fn trigrams(text: &str) -> HashSet<[char; 3]> {
    let mut set = HashSet::new();
    for word in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let padded: Vec<char> = "  "
            .chars()
            .chain(word.chars())
            .chain(" ".chars())
            .collect();
        for window in padded.windows(3) {
            set.insert([window[0], window[1], window[2]]);
        }
    }
    set
}

pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (trigrams(a), trigrams(b));
    let union = a.union(&b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_pg_trgm_on_known_values() {
        // SELECT similarity('word', 'two words') = 0.363636…
        assert!((similarity("word", "two words") - 4.0 / 11.0).abs() < 1e-9);
        assert_eq!(similarity("tomat", "tomat"), 1.0);
        assert!(similarity("tomatoe", "tomato") > THRESHOLD);
        assert!(similarity("lax", "gurka") < THRESHOLD);
        assert_eq!(similarity("", "x"), 0.0);
    }
}
