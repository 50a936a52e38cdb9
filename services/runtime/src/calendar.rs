//! The civil servants' working-day calendar (ngày làm việc): Monday to Friday, less Vietnam's
//! public holidays and the days off the Prime Minister's yearly decisions add, plus the
//! Saturdays worked in compensation (làm bù).
//!
//! Deadlines, reminders and escalation ladders count working days, and a count is only as good
//! as its data: the holidays live in a versioned data file (`data/vn-holidays.toml`, Vietnam's
//! days off for 2025–2027 with the notice or decision behind each year), which operators extend
//! year by year. Only decided days count: proposals and inferences the file marks
//! `tentative_*` are ignored, because a reminder sent on the strength of a rumoured day off is
//! a reminder sent on the wrong day. A year the file does not cover counts weekends only —
//! [`WorkingCalendar::covers`] tells callers when to warn.
//!
//! Everything here is a pure function of dates (business dates in Asia/Ho_Chi_Minh).

use std::collections::{BTreeSet, HashSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

/// The calendar shipped with dondoc.
pub const VN_HOLIDAYS: &str = include_str!("../data/vn-holidays.toml");

#[derive(Debug, Deserialize)]
struct File {
    year: Vec<Year>,
}

#[derive(Debug, Deserialize)]
struct Year {
    year: i32,
    #[serde(default)]
    day_off: Vec<Day>,
    #[serde(default)]
    working_saturday: Vec<Day>,
}

#[derive(Debug, Deserialize)]
struct Day {
    date: NaiveDate,
}

/// Why a calendar file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("the calendar file is not valid TOML of the expected shape: {0}")]
    Format(#[from] toml::de::Error),
    #[error("{date} is listed under year {year}")]
    WrongYear { date: NaiveDate, year: i32 },
    #[error("{date} is listed as a working Saturday but is a {weekday}")]
    NotASaturday { date: NaiveDate, weekday: Weekday },
}

/// Which days civil servants work.
#[derive(Clone, Debug, Default)]
pub struct WorkingCalendar {
    days_off: HashSet<NaiveDate>,
    working_saturdays: HashSet<NaiveDate>,
    years: BTreeSet<i32>,
}

impl WorkingCalendar {
    /// The calendar shipped with dondoc (2025–2027).
    pub fn vietnam() -> Result<Self, CalendarError> {
        Self::from_toml(VN_HOLIDAYS)
    }

    /// A calendar from a file in the format of `data/vn-holidays.toml`.
    pub fn from_toml(text: &str) -> Result<Self, CalendarError> {
        let file: File = toml::from_str(text)?;
        let mut calendar = WorkingCalendar::default();
        for year in file.year {
            for day in &year.day_off {
                if day.date.year() != year.year {
                    return Err(CalendarError::WrongYear {
                        date: day.date,
                        year: year.year,
                    });
                }
                calendar.days_off.insert(day.date);
            }
            for day in &year.working_saturday {
                if day.date.weekday() != Weekday::Sat {
                    return Err(CalendarError::NotASaturday {
                        date: day.date,
                        weekday: day.date.weekday(),
                    });
                }
                calendar.working_saturdays.insert(day.date);
            }
            calendar.years.insert(year.year);
        }
        Ok(calendar)
    }

    /// Whether the data decides the days off of `year` (outside it, only weekends count).
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.working_saturdays.contains(&date) {
            return true;
        }
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.days_off.contains(&date)
    }

    /// The day `n` working days after `date` (before it when `n` is negative); `date` itself
    /// when `n` is 0, whether or not it is a working day.
    pub fn add_working_days(&self, date: NaiveDate, n: i32) -> NaiveDate {
        let mut day = date;
        let mut left = n.unsigned_abs();
        while left > 0 {
            day = if n > 0 {
                day.checked_add_days(Days::new(1))
            } else {
                day.checked_sub_days(Days::new(1))
            }
            .unwrap_or(day);
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// Working days after `from` up to and including `to` (negative when `to` is earlier):
    /// how many working days late a result submitted on `to` is against a deadline `from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let (start, end, sign) = if from <= to {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let count = start
            .iter_days()
            .skip(1)
            .take_while(|d| *d <= end)
            .filter(|d| self.is_working_day(*d))
            .count();
        sign * i64::try_from(count).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn vietnam() -> WorkingCalendar {
        WorkingCalendar::vietnam().expect("the shipped calendar parses")
    }

    #[test]
    fn the_shipped_calendar_covers_2025_to_2027() {
        let calendar = vietnam();
        assert!(calendar.covers(2025) && calendar.covers(2026) && calendar.covers(2027));
        assert!(!calendar.covers(2028));
    }

    #[test]
    fn holidays_bridges_and_compensatory_saturdays_are_where_the_decisions_put_them() {
        let calendar = vietnam();
        // Tết Dương lịch 2026: Thursday 1 and Friday 2 January off, Saturday 10 worked.
        assert!(!calendar.is_working_day(day("2026-01-01")));
        assert!(!calendar.is_working_day(day("2026-01-02")));
        assert!(calendar.is_working_day(day("2026-01-10")));
        // Tết Bính Ngọ: Monday 16 to Friday 20 February 2026.
        assert!(!calendar.is_working_day(day("2026-02-16")));
        assert!(!calendar.is_working_day(day("2026-02-20")));
        assert!(calendar.is_working_day(day("2026-02-23")));
        // Ngày Văn hóa Việt Nam, Tuesday 24 November 2026 (decided); the proposed 23/11 ↔ 28/11
        // swap is only a proposal and does not count.
        assert!(!calendar.is_working_day(day("2026-11-24")));
        assert!(calendar.is_working_day(day("2026-11-23")));
        assert!(!calendar.is_working_day(day("2026-11-28")));
        // 2025: Saturday 26 April worked for Friday 2 May.
        assert!(calendar.is_working_day(day("2025-04-26")));
        assert!(!calendar.is_working_day(day("2025-05-02")));
    }

    #[test]
    fn counting_working_days_skips_weekends_and_days_off_and_counts_working_saturdays() {
        let calendar = vietnam();
        // Friday 13 February 2026, then Tết: the next working day is Monday 23 February.
        assert_eq!(
            calendar.add_working_days(day("2026-02-13"), 1),
            day("2026-02-23")
        );
        // Five working days before Monday 23 February 2026: Mon 9 … Fri 13 February.
        assert_eq!(
            calendar.add_working_days(day("2026-02-23"), -5),
            day("2026-02-09")
        );
        // Wednesday 31 December 2025 + 1: Monday 5 January 2026.
        assert_eq!(
            calendar.add_working_days(day("2025-12-31"), 1),
            day("2026-01-05")
        );
        // After 1 January up to Sunday 11 January 2026: 5–9 January and Saturday 10.
        assert_eq!(
            calendar.working_days_between(day("2026-01-01"), day("2026-01-11")),
            6
        );
        assert_eq!(
            calendar.working_days_between(day("2026-01-11"), day("2026-01-01")),
            -6
        );
        assert_eq!(
            calendar.add_working_days(day("2026-01-03"), 0),
            day("2026-01-03")
        );
    }

    #[test]
    fn a_file_with_a_misplaced_day_is_refused() {
        let wrong_year = "[[year]]\nyear = 2026\n[[year.day_off]]\ndate = \"2027-01-01\"\n";
        let not_saturday =
            "[[year]]\nyear = 2026\n[[year.working_saturday]]\ndate = \"2026-01-09\"\n";
        assert!(matches!(
            WorkingCalendar::from_toml(wrong_year),
            Err(CalendarError::WrongYear { .. })
        ));
        assert!(matches!(
            WorkingCalendar::from_toml(not_saturday),
            Err(CalendarError::NotASaturday { .. })
        ));
    }
}
