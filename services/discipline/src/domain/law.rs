//! The legal parameters of discipline as versioned data (`data/discipline-law.toml`): for each
//! group of officials, the regime valid on a day — its forms and its clocks. A case applies the
//! regime valid on the day the violation was detected, so a case detected before Decree
//! 172/2025 keeps the forms of Decree 112/2020.

use chrono::NaiveDate;
use serde::Deserialize;

/// The legal data shipped with dondoc.
pub const SHIPPED: &str = include_str!("../../data/discipline-law.toml");

/// A group of officials (nhóm đối tượng).
pub const GROUPS: &[&str] = &["can_bo", "cong_chuc", "vien_chuc"];

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Form {
    pub code: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    pub id: String,
    pub title: String,
    pub group: String,
    pub valid_from: NaiveDate,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
    pub processing_days: u32,
    pub extended_processing_days: u32,
    pub limitation_months_light: u32,
    pub limitation_months_heavy: u32,
    pub forms: Vec<Form>,
}

impl Regime {
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date <= to)
    }

    pub fn form_codes(&self) -> Vec<String> {
        self.forms.iter().map(|f| f.code.clone()).collect()
    }
}

#[derive(Debug, Deserialize)]
struct File {
    regime: Vec<Regime>,
}

/// Every regime known.
#[derive(Clone, Debug)]
pub struct Law {
    regimes: Vec<Regime>,
}

impl Law {
    /// Reads the data, refusing overlapping regimes for a group or an unknown group.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        for (i, r) in file.regime.iter().enumerate() {
            if !GROUPS.contains(&r.group.as_str()) {
                return Err(format!(
                    "regime[{i}].group {:?} is not one of {GROUPS:?}",
                    r.group
                ));
            }
            if r.extended_processing_days < r.processing_days {
                return Err(format!(
                    "regime[{i}].extended_processing_days is shorter than processing_days"
                ));
            }
            if r.forms.is_empty() {
                return Err(format!("regime[{i}].forms is empty"));
            }
            let overlaps = file.regime.iter().enumerate().any(|(j, o)| {
                j != i
                    && o.group == r.group
                    && o.valid_from <= r.valid_to.unwrap_or(NaiveDate::MAX)
                    && r.valid_from <= o.valid_to.unwrap_or(NaiveDate::MAX)
            });
            if overlaps {
                return Err(format!(
                    "regime[{i}] ({} for {}) overlaps another regime of the group",
                    r.id, r.group
                ));
            }
        }
        Ok(Self {
            regimes: file.regime,
        })
    }

    /// The data shipped with dondoc.
    pub fn shipped() -> Result<Self, String> {
        Self::from_toml(SHIPPED)
    }

    /// The regime for `group` on `date`.
    pub fn regime(&self, group: &str, date: NaiveDate) -> Option<&Regime> {
        self.regimes
            .iter()
            .find(|r| r.group == group && r.valid_on(date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn a_violation_detected_before_july_2025_keeps_the_forms_of_decree_112() {
        let law = Law::shipped().expect("shipped");

        let before = law.regime("cong_chuc", day(2025, 6, 30)).expect("112/2020");
        let after = law.regime("cong_chuc", day(2025, 7, 1)).expect("172/2025");

        assert_eq!(before.id, "112/2020");
        assert!(before.form_codes().contains(&"giang-chuc".to_owned()));
        assert_eq!(after.id, "172/2025");
        assert_eq!(
            after.form_codes(),
            vec!["khien-trach", "canh-cao", "cach-chuc", "buoc-thoi-viec"]
        );
        assert_eq!(
            (after.processing_days, after.extended_processing_days),
            (90, 150)
        );
    }

    #[test]
    fn public_employees_change_regime_a_year_later() {
        let law = Law::shipped().expect("shipped");
        assert_eq!(
            law.regime("vien_chuc", day(2026, 6, 30))
                .map(|r| r.id.as_str()),
            Some("112/2020")
        );
        assert_eq!(
            law.regime("vien_chuc", day(2026, 7, 1))
                .map(|r| r.id.as_str()),
            Some("234/2026")
        );
    }

    #[test]
    fn overlapping_regimes_for_a_group_are_refused() {
        let text = format!(
            "{SHIPPED}\n[[regime]]\nid = \"x\"\ntitle = \"x\"\ngroup = \"cong_chuc\"\n\
             valid_from = \"2026-01-01\"\nprocessing_days = 90\nextended_processing_days = 150\n\
             limitation_months_light = 60\nlimitation_months_heavy = 120\n\
             forms = [{{ code = \"a\", name = \"A\" }}]\n"
        );
        let error = Law::from_toml(&text).expect_err("refused");
        assert!(error.contains("overlaps"), "{error}");
    }
}
