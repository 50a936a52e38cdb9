//! The leader directory (lãnh đạo UBND thành phố): who is Chairman and who are the
//! Vice-Chairmen, from when to when, and which units and fields each supervises (phụ trách).
//!
//! Leaders are data, versioned like the unit directory (design.md §2 rule 1): a leader token
//! assigns only in the name the directory gives it (a Vice-Chairman cannot assign as Chairman),
//! a task records the Vice-Chairman who supervised its lead unit on the day (escalation and the
//! per-leader report need it), and successive Chairmen are told apart by their ids. The whole
//! directory is one stream ([`LeaderDirectory::STREAM_ID`]) and an import replaces it at once,
//! so it is always checked as a whole: one Chairman at a time, no overlapping terms.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::NaiveDate;
use dondoc_eventsourcing::Aggregate;
use serde::Deserialize;

use super::values::{
    FieldViolation, InvalidValue, LEADER_ID_MAX, LEADER_NAME_MAX, UnitCode, format_date,
    parse_date, text,
};

/// A leader's title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LeaderTitle {
    /// Chủ tịch UBND thành phố.
    Chairman,
    /// Phó Chủ tịch UBND thành phố.
    ViceChairman,
}

impl LeaderTitle {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaderTitle::Chairman => "chairman",
            LeaderTitle::ViceChairman => "vice_chairman",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            LeaderTitle::Chairman => "Chủ tịch UBND thành phố",
            LeaderTitle::ViceChairman => "Phó Chủ tịch UBND thành phố",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "chairman" => Ok(LeaderTitle::Chairman),
            "vice_chairman" => Ok(LeaderTitle::ViceChairman),
            other => Err(InvalidValue::new(format!(
                "unknown title {other:?}; expected \"chairman\" (Chủ tịch) or \"vice_chairman\" \
                 (Phó Chủ tịch)"
            ))),
        }
    }
}

impl fmt::Display for LeaderTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One term of one leader.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Leader {
    /// Stable id, e.g. `pct-tran`; leader tokens carry it.
    pub id: String,
    pub full_name: String,
    pub title: LeaderTitle,
    pub valid_from: NaiveDate,
    /// `None` = still in office.
    pub valid_to: Option<NaiveDate>,
    /// Units this leader supervises (phụ trách).
    pub supervised_units: Vec<UnitCode>,
    /// Fields supervised, as the assignment decision words them.
    pub supervised_fields: Vec<String>,
    pub email: Option<String>,
}

impl Leader {
    pub fn is_in_office_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date <= to)
    }

    fn overlaps(&self, other: &Leader) -> bool {
        let ends_before = |a: &Leader, b: &Leader| a.valid_to.is_some_and(|to| to < b.valid_from);
        !ends_before(self, other) && !ends_before(other, self)
    }

    fn term(&self) -> String {
        match self.valid_to {
            Some(to) => format!("{} to {}", format_date(self.valid_from), format_date(to)),
            None => format!("{} onwards", format_date(self.valid_from)),
        }
    }
}

/// The leaders of the directory, every term.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderRoster {
    leaders: Vec<Leader>,
}

impl LeaderRoster {
    pub fn new(leaders: Vec<Leader>) -> Self {
        Self { leaders }
    }

    pub fn all(&self) -> &[Leader] {
        &self.leaders
    }

    /// The term of `id` in force on `date`.
    pub fn leader_on(&self, id: &str, date: NaiveDate) -> Option<&Leader> {
        self.leaders
            .iter()
            .find(|l| l.id == id && l.is_in_office_on(date))
    }

    /// Every leader in office on `date`: the Chairman first, then the Vice-Chairmen by id.
    pub fn in_office_on(&self, date: NaiveDate) -> Vec<&Leader> {
        let mut leaders: Vec<&Leader> = self
            .leaders
            .iter()
            .filter(|l| l.is_in_office_on(date))
            .collect();
        leaders.sort_by(|a, b| {
            (a.title != LeaderTitle::Chairman, &a.id)
                .cmp(&(b.title != LeaderTitle::Chairman, &b.id))
        });
        leaders
    }

    /// The Chairman on `date`.
    pub fn chairman_on(&self, date: NaiveDate) -> Option<&Leader> {
        self.leaders
            .iter()
            .find(|l| l.title == LeaderTitle::Chairman && l.is_in_office_on(date))
    }

    /// The Vice-Chairman who supervises `unit` on `date` (Phó Chủ tịch phụ trách).
    pub fn supervising(&self, unit: &UnitCode, date: NaiveDate) -> Option<&Leader> {
        self.leaders.iter().find(|l| {
            l.title == LeaderTitle::ViceChairman
                && l.is_in_office_on(date)
                && l.supervised_units.contains(unit)
        })
    }
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    leaders: Vec<RawLeader>,
}

#[derive(Deserialize)]
struct RawLeader {
    id: Option<String>,
    full_name: Option<String>,
    title: Option<String>,
    valid_from: Option<toml::Value>,
    valid_to: Option<toml::Value>,
    #[serde(default)]
    supervised_units: Vec<String>,
    #[serde(default)]
    supervised_fields: Vec<String>,
    email: Option<String>,
}

fn toml_date(raw: &toml::Value) -> Result<NaiveDate, InvalidValue> {
    match raw {
        toml::Value::String(s) => parse_date(s),
        toml::Value::Datetime(dt) => parse_date(&dt.to_string()),
        other => Err(InvalidValue::new(format!(
            "expected a date \"YYYY-MM-DD\", found a {}",
            other.type_str()
        ))),
    }
}

/// A leader id: lower-case ASCII letters, digits and `-`, so it travels in tokens and URLs.
fn leader_id(raw: &str) -> Result<String, InvalidValue> {
    let id = text::required(raw, LEADER_ID_MAX)?;
    if !id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(InvalidValue::new(format!(
            "{id:?} is not a leader id: only a-z, 0-9 and '-' are allowed"
        )));
    }
    Ok(id)
}

/// Parses the TOML format of `seed/haiphong-leaders.toml` (`[[leaders]]` tables), or every
/// violation found (paths like `leaders[2].valid_to`, zero-based).
pub fn parse_leaders_toml(text: &str) -> Result<Vec<Leader>, Vec<FieldViolation>> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        vec![FieldViolation::new(
            "toml",
            format!(
                "not a valid leader directory TOML document: {}",
                e.message().trim()
            ),
        )]
    })?;
    let mut violations = Vec::new();
    if raw.leaders.is_empty() {
        violations.push(FieldViolation::new(
            "leaders",
            "the file has no [[leaders]] table: at least one leader is required",
        ));
    }
    let mut leaders: Vec<(usize, Leader)> = Vec::new();
    for (index, raw) in raw.leaders.iter().enumerate() {
        let path = format!("leaders[{index}]");
        if let Some(leader) = parse_leader(&path, raw, &mut violations) {
            leaders.push((index, leader));
        }
    }
    for (position, (index, leader)) in leaders.iter().enumerate() {
        for (other_index, other) in &leaders[..position] {
            if !leader.overlaps(other) {
                continue;
            }
            if leader.id == other.id {
                violations.push(FieldViolation::new(
                    format!("leaders[{index}].valid_from"),
                    format!(
                        "{} ({}) overlaps leaders[{other_index}] ({}): one person has one term \
                         at a time",
                        leader.id,
                        leader.term(),
                        other.term()
                    ),
                ));
            } else if leader.title == LeaderTitle::Chairman && other.title == LeaderTitle::Chairman
            {
                violations.push(FieldViolation::new(
                    format!("leaders[{index}].valid_from"),
                    format!(
                        "two Chairmen at once: {} ({}) and leaders[{other_index}] {} ({})",
                        leader.id,
                        leader.term(),
                        other.id,
                        other.term()
                    ),
                ));
            }
        }
    }
    if !violations.is_empty() {
        return Err(violations);
    }
    Ok(leaders.into_iter().map(|(_, leader)| leader).collect())
}

fn parse_leader(
    path: &str,
    raw: &RawLeader,
    violations: &mut Vec<FieldViolation>,
) -> Option<Leader> {
    let before = violations.len();
    let id = leader_id(raw.id.as_deref().unwrap_or_default())
        .map_err(|e| violations.push(e.at(format!("{path}.id"))))
        .ok();
    let full_name = text::required(
        raw.full_name.as_deref().unwrap_or_default(),
        LEADER_NAME_MAX,
    )
    .map_err(|e| violations.push(e.at(format!("{path}.full_name"))))
    .ok();
    let title = LeaderTitle::parse(raw.title.as_deref().unwrap_or_default())
        .map_err(|e| violations.push(e.at(format!("{path}.title"))))
        .ok();
    let valid_from = match &raw.valid_from {
        None => {
            violations.push(FieldViolation::new(
                format!("{path}.valid_from"),
                "valid_from (YYYY-MM-DD) is required",
            ));
            None
        }
        Some(value) => toml_date(value)
            .map_err(|e| violations.push(e.at(format!("{path}.valid_from"))))
            .ok(),
    };
    let valid_to = match &raw.valid_to {
        None => Some(None),
        Some(toml::Value::String(s)) if s.trim().is_empty() => Some(None),
        Some(value) => toml_date(value)
            .map_err(|e| violations.push(e.at(format!("{path}.valid_to"))))
            .ok()
            .map(Some),
    };
    if let (Some(from), Some(Some(to))) = (valid_from, valid_to)
        && to < from
    {
        violations.push(FieldViolation::new(
            format!("{path}.valid_to"),
            format!(
                "valid_to {} is before valid_from {}",
                format_date(to),
                format_date(from)
            ),
        ));
    }
    let mut supervised_units = Vec::new();
    for (i, code) in raw.supervised_units.iter().enumerate() {
        match UnitCode::parse(code) {
            Ok(code) => supervised_units.push(code),
            Err(e) => violations.push(e.at(format!("{path}.supervised_units[{i}]"))),
        }
    }
    let mut supervised_fields = Vec::new();
    for (i, field) in raw.supervised_fields.iter().enumerate() {
        match text::required(field, LEADER_NAME_MAX) {
            Ok(field) => supervised_fields.push(field),
            Err(e) => violations.push(e.at(format!("{path}.supervised_fields[{i}]"))),
        }
    }
    let email = text::optional(raw.email.as_deref().unwrap_or_default(), LEADER_NAME_MAX)
        .map_err(|e| violations.push(e.at(format!("{path}.email"))))
        .ok()
        .flatten();
    if violations.len() > before {
        return None;
    }
    Some(Leader {
        id: id?,
        full_name: full_name?,
        title: title?,
        valid_from: valid_from?,
        valid_to: valid_to?,
        supervised_units,
        supervised_fields,
        email,
    })
}

/// Command: replace the leader directory with these terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLeaders(pub Vec<Leader>);

/// What happened to the leader directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaderEvent {
    /// The directory now holds exactly these terms.
    Imported(Vec<Leader>),
}

/// Why an import was refused. The file's own consistency is checked when it is parsed; nothing
/// about the stored directory can refuse a consistent file, which replaces it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaderError {}

/// The leader directory as one write model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderDirectory {
    leaders: Vec<Leader>,
}

impl LeaderDirectory {
    /// The one stream of the leader directory.
    pub const STREAM_ID: &'static str = "leader-directory";

    pub fn roster(&self) -> LeaderRoster {
        LeaderRoster::new(self.leaders.clone())
    }
}

impl Aggregate for LeaderDirectory {
    const TYPE: &'static str = "leaders";
    type Command = ImportLeaders;
    type Event = LeaderEvent;
    type Error = LeaderError;

    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error> {
        let ImportLeaders(leaders) = command;
        // Same terms in another order are the same directory: compare by id and start.
        let key = |leaders: &[Leader]| -> BTreeMap<(String, NaiveDate), Leader> {
            leaders
                .iter()
                .map(|l| ((l.id.clone(), l.valid_from), l.clone()))
                .collect()
        };
        if key(leaders) == key(&self.leaders) {
            return Ok(Vec::new());
        }
        Ok(vec![LeaderEvent::Imported(leaders.clone())])
    }

    fn apply(&mut self, event: &Self::Event) {
        match event {
            LeaderEvent::Imported(leaders) => self.leaders = leaders.clone(),
        }
    }
}

/// Units supervised by more than one Vice-Chairman on the same day make the supervising
/// leader ambiguous; the importer is told (a warning, not a refusal: the Office decides).
pub fn doubly_supervised(leaders: &[Leader], date: NaiveDate) -> Vec<UnitCode> {
    let mut count: HashMap<&UnitCode, usize> = HashMap::new();
    for leader in leaders
        .iter()
        .filter(|l| l.title == LeaderTitle::ViceChairman && l.is_in_office_on(date))
    {
        for unit in &leader.supervised_units {
            *count.entry(unit).or_default() += 1;
        }
    }
    let mut units: Vec<UnitCode> = count
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(u, _)| u.clone())
        .collect();
    units.sort();
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../seed/haiphong-leaders.toml");

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn fields(violations: &[FieldViolation]) -> Vec<&str> {
        violations.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn the_sample_directory_parses_with_one_chairman_at_a_time() {
        let roster = LeaderRoster::new(parse_leaders_toml(SAMPLE).expect("sample parses"));
        let today = date(2026, 11, 28);

        let chairman = roster.chairman_on(today).expect("a chairman");
        let vice_chairmen: Vec<_> = roster
            .in_office_on(today)
            .into_iter()
            .filter(|l| l.title == LeaderTitle::ViceChairman)
            .collect();

        assert_eq!(chairman.id, "ct-nguyen");
        assert!(vice_chairmen.iter().any(|l| l.id == "pct-tran"));
        assert!(doubly_supervised(roster.all(), today).is_empty());
    }

    #[test]
    fn the_supervising_vice_chairman_is_found_by_the_lead_unit_and_the_date() {
        let roster = LeaderRoster::new(parse_leaders_toml(SAMPLE).expect("sample parses"));
        let sxd = UnitCode::parse("SXD").expect("code");

        let supervising = roster.supervising(&sxd, date(2026, 11, 28));

        assert_eq!(supervising.map(|l| l.id.as_str()), Some("pct-tran"));
    }

    #[test]
    fn two_chairmen_at_once_and_overlapping_terms_are_refused() {
        let file = r#"
[[leaders]]
id = "ct-a"
full_name = "Nguyễn Văn A"
title = "chairman"
valid_from = "2024-01-01"

[[leaders]]
id = "ct-b"
full_name = "Trần Văn B"
title = "chairman"
valid_from = "2025-01-01"

[[leaders]]
id = "ct-a"
full_name = "Nguyễn Văn A"
title = "vice_chairman"
valid_from = "2023-01-01"
valid_to = "2024-06-30"
"#;

        let violations = parse_leaders_toml(file).expect_err("refused");

        assert_eq!(
            fields(&violations),
            ["leaders[1].valid_from", "leaders[2].valid_from"]
        );
    }

    #[test]
    fn every_field_problem_is_named() {
        let file = r#"
[[leaders]]
id = "PCT Trần"
title = "deputy"
valid_from = "2024-13-01"
supervised_units = ["Sở XD"]
"#;

        let violations = parse_leaders_toml(file).expect_err("refused");

        assert_eq!(
            fields(&violations),
            [
                "leaders[0].id",
                "leaders[0].full_name",
                "leaders[0].title",
                "leaders[0].valid_from",
                "leaders[0].supervised_units[0]"
            ]
        );
    }

    #[test]
    fn importing_the_same_directory_again_records_nothing() {
        let leaders = parse_leaders_toml(SAMPLE).expect("sample parses");
        let directory = LeaderDirectory::from_events(&[LeaderEvent::Imported(leaders.clone())]);
        let mut reversed = leaders;
        reversed.reverse();

        let events = directory.decide(&ImportLeaders(reversed)).expect("decided");

        assert!(events.is_empty());
    }

    #[test]
    fn a_term_that_ended_is_not_in_office_after_it() {
        let roster = LeaderRoster::new(parse_leaders_toml(SAMPLE).expect("sample parses"));

        let former = roster.leader_on("pct-le", date(2026, 11, 28));
        let then = roster.leader_on("pct-le", date(2024, 3, 1));

        assert!(former.is_none());
        assert!(then.is_some());
    }
}
