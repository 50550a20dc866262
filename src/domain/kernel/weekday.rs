//! Weekdays, and sets of them stored as a bitmask (bit 0 = Monday … bit 6 = Sunday).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    fn bit(self) -> i16 {
        1 << (self as i16)
    }
}

impl From<chrono::Weekday> for Weekday {
    fn from(day: chrono::Weekday) -> Self {
        Weekday::ALL[day.num_days_from_monday() as usize]
    }
}

/// A set of weekdays, in week order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WeekdaySet(i16);

impl WeekdaySet {
    pub fn from_days(days: &[Weekday]) -> Self {
        WeekdaySet(days.iter().fold(0, |mask, day| mask | day.bit()))
    }

    pub fn from_mask(mask: i16) -> Self {
        WeekdaySet(mask & 0b111_1111)
    }

    pub fn mask(self) -> i16 {
        self.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & day.bit() != 0
    }

    pub fn days(self) -> Vec<Weekday> {
        Weekday::ALL
            .into_iter()
            .filter(|d| self.contains(*d))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_round_trip_through_the_mask_in_week_order() {
        let set = WeekdaySet::from_days(&[Weekday::Friday, Weekday::Monday, Weekday::Friday]);
        assert_eq!(set.mask(), 0b1_0001);
        assert_eq!(
            WeekdaySet::from_mask(set.mask()).days(),
            [Weekday::Monday, Weekday::Friday]
        );
        assert!(set.contains(chrono::Weekday::Fri.into()));
    }
}
