//! The escalation policy (quy chế đôn đốc): when reminders go out and when a late task climbs
//! the ladder, all in working days. It is a versioned settings file, so the Office can show
//! which rules a notice was issued under; the defaults are in `policy.toml` beside this crate.

use serde::{Deserialize, Serialize};

use super::FieldViolation;

/// The policy shipped with dondoc.
pub const DEFAULT_POLICY: &str = include_str!("../../policy.toml");

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    /// Recorded in every notice issued under this policy.
    pub version: String,
    /// Reminders to the lead unit this many working days before the deadline.
    pub reminder_working_days: Vec<u32>,
    /// The overdue notice to the lead unit's head (ladder level 1), this many working days
    /// after the deadline.
    pub overdue_notice_after: u32,
    /// Level 2, the supervising Vice-Chairman, after this many working days overdue.
    pub level2_after: u32,
    /// Level 3, the Chairman, after this many working days overdue.
    pub level3_after: u32,
    /// A difficulty with no direction after this many working days goes to the assigning
    /// leader.
    pub difficulty_direction_within: u32,
    /// A coordination reply still missing this many working days after its reply date
    /// reminds the coordinating unit.
    pub coordination_reminder_after: u32,
    /// A task without a deadline and without a progress report for this many working days
    /// reminds its lead unit.
    pub inactivity_working_days: u32,
}

impl EscalationPolicy {
    /// Reads a policy file, refusing one whose numbers make no ladder.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let policy: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        let violations = policy.violations();
        if violations.is_empty() {
            Ok(policy)
        } else {
            Err(violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect::<Vec<_>>()
                .join("; "))
        }
    }

    /// The policy shipped with dondoc.
    pub fn shipped() -> Self {
        // The shipped file is tested below; a broken one cannot be released.
        Self::from_toml(DEFAULT_POLICY).unwrap_or_else(|_| Self::fallback())
    }

    fn fallback() -> Self {
        Self {
            version: "built-in".into(),
            reminder_working_days: vec![5, 3, 1],
            overdue_notice_after: 1,
            level2_after: 5,
            level3_after: 10,
            difficulty_direction_within: 3,
            coordination_reminder_after: 1,
            inactivity_working_days: 10,
        }
    }

    fn violations(&self) -> Vec<FieldViolation> {
        let mut v = Vec::new();
        if self.version.trim().is_empty() {
            v.push(FieldViolation::new("version", "is required"));
        }
        if self.reminder_working_days.contains(&0) {
            v.push(FieldViolation::new(
                "reminder_working_days",
                "must be at least 1 (a reminder on the deadline itself is not a reminder)",
            ));
        }
        let positive = [
            ("overdue_notice_after", self.overdue_notice_after),
            (
                "difficulty_direction_within",
                self.difficulty_direction_within,
            ),
            (
                "coordination_reminder_after",
                self.coordination_reminder_after,
            ),
            ("inactivity_working_days", self.inactivity_working_days),
        ];
        for (field, value) in positive {
            if value == 0 {
                v.push(FieldViolation::new(field, "must be at least 1"));
            }
        }
        if self.level2_after <= self.overdue_notice_after {
            v.push(FieldViolation::new(
                "level2_after",
                "must come after the overdue notice",
            ));
        }
        if self.level3_after <= self.level2_after {
            v.push(FieldViolation::new(
                "level3_after",
                "must come after level 2",
            ));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_reads_and_has_the_documented_defaults() {
        let policy = EscalationPolicy::from_toml(DEFAULT_POLICY).expect("shipped policy");
        assert_eq!(policy.reminder_working_days, vec![5, 3, 1]);
        assert_eq!(policy.overdue_notice_after, 1);
        assert_eq!((policy.level2_after, policy.level3_after), (5, 10));
        assert_eq!(policy, EscalationPolicy::shipped());
    }

    #[test]
    fn a_ladder_that_does_not_climb_is_refused_naming_the_field() {
        let text = DEFAULT_POLICY.replace("level3_after = 10", "level3_after = 4");
        let error = EscalationPolicy::from_toml(&text).expect_err("refused");
        assert!(error.contains("level3_after"), "{error}");
    }

    #[test]
    fn an_unknown_setting_is_refused_rather_than_ignored() {
        let text = format!("{DEFAULT_POLICY}\nlevel4_after = 20\n");
        assert!(EscalationPolicy::from_toml(&text).is_err());
    }
}
