//! When the service drafts a proposal by itself: a versioned settings file (`policy.toml`
//! beside this crate, documented there).

use serde::Deserialize;

pub const DEFAULT_POLICY: &str = include_str!("../../policy.toml");

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftingPolicy {
    pub version: String,
    /// A task escalated to this level opens a draft about its lead unit.
    pub escalation_level: u32,
    /// This many overdue tasks of a unit in one monthly reporting period open a draft.
    pub overdue_tasks_in_period: u32,
    /// Days before a processing limit the Office is warned.
    pub warn_days_before: u32,
    /// The group of the unit head targeted by default.
    pub default_group: String,
}

impl DraftingPolicy {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let policy: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        if policy.version.trim().is_empty() {
            return Err("version: is required".into());
        }
        if policy.overdue_tasks_in_period == 0 {
            return Err("overdue_tasks_in_period: must be at least 1".into());
        }
        if !super::law::GROUPS.contains(&policy.default_group.as_str()) {
            return Err(format!(
                "default_group: must be one of {:?}",
                super::law::GROUPS
            ));
        }
        Ok(policy)
    }

    pub fn shipped() -> Result<Self, String> {
        Self::from_toml(DEFAULT_POLICY)
    }
}

/// The monthly reporting period (Decree 09/2019 Art. 12) a day falls in, named by its last
/// month: 15 November – 14 December is "2026-12".
pub fn monthly_period(date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let (mut year, mut month) = (date.year(), date.month());
    if date.day() >= 15 {
        if month == 12 {
            year += 1;
            month = 1;
        } else {
            month += 1;
        }
    }
    format!("{year:04}-{month:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_shipped_policy_reads() {
        let policy = DraftingPolicy::shipped().expect("policy");
        assert_eq!(policy.escalation_level, 3);
    }

    #[test]
    fn a_day_belongs_to_the_period_ending_on_the_next_14th() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert_eq!(monthly_period(day(2026, 12, 14)), "2026-12");
        assert_eq!(monthly_period(day(2026, 12, 15)), "2027-01");
        assert_eq!(monthly_period(day(2026, 11, 15)), "2026-12");
        assert_eq!(monthly_period(day(2027, 1, 1)), "2027-01");
    }
}
