//! The unit directory (danh mục đơn vị): versioned data, valid from/to a date (design rule 11).
//!
//! The 2019 structure of the seed text and the post-2025 structure (two-tier local government,
//! merger with Hải Dương) must both work: a task keeps pointing at the unit that existed when it
//! was assigned. All versions live in one event stream ([`UnitDirectory::STREAM_ID`]), so an
//! import is atomic and checked against every stored version; re-importing the same file is a
//! no-op and correcting one version does not touch the others.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use dondoc_eventsourcing::Aggregate;
use serde::Deserialize;

use super::values::{FieldViolation, InvalidValue, UnitCode, format_date, parse_date, text};

/// Maximum length (characters) of a directory or unit name.
pub const DIRECTORY_TEXT_MAX: usize = 300;

/// What kind of body a unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    /// Văn phòng UBND.
    Office,
    /// Sở.
    Department,
    /// Thanh tra.
    Inspectorate,
    /// Ban (e.g. an economic zone management board).
    Board,
    /// UBND quận/huyện (until 30 June 2025).
    District,
    /// UBND xã/phường.
    Commune,
    /// Đơn vị sự nghiệp công lập.
    PublicServiceUnit,
}

impl UnitKind {
    pub const ALL: [UnitKind; 7] = [
        UnitKind::Office,
        UnitKind::Department,
        UnitKind::Inspectorate,
        UnitKind::Board,
        UnitKind::District,
        UnitKind::Commune,
        UnitKind::PublicServiceUnit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Office => "office",
            UnitKind::Department => "department",
            UnitKind::Inspectorate => "inspectorate",
            UnitKind::Board => "board",
            UnitKind::District => "district",
            UnitKind::Commune => "commune",
            UnitKind::PublicServiceUnit => "public_service_unit",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(raw))
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|k| k.as_str()).collect();
                InvalidValue::new(format!(
                    "unknown unit kind {raw:?}; expected one of {}",
                    known.join(", ")
                ))
            })
    }
}

impl fmt::Display for UnitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure the directory's authors are of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Confidence {
    /// Well established.
    Known,
    /// The usual national pattern; verify with the City PC Office before production use.
    Likely,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Known => "known",
            Confidence::Likely => "likely",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "known" => Ok(Confidence::Known),
            "likely" => Ok(Confidence::Likely),
            other => Err(InvalidValue::new(format!(
                "unknown confidence {other:?}; expected \"known\" or \"likely\""
            ))),
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One unit of one directory version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub code: UnitCode,
    pub kind: UnitKind,
    pub name_vi: String,
    pub name_en: String,
    /// Title of the unit's head, e.g. "Giám đốc"; may be empty.
    pub head_title_vi: String,
    pub confidence: Confidence,
    /// Where notices to the unit go.
    pub email: Option<String>,
}

/// One version of the unit directory, valid from `valid_from` to `valid_to` inclusive
/// (`None` = still valid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryVersion {
    pub name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub units: Vec<Unit>,
}

impl DirectoryVersion {
    /// The unit with this code, if this version has it.
    pub fn unit(&self, code: &UnitCode) -> Option<&Unit> {
        self.units.iter().find(|unit| &unit.code == code)
    }

    /// Whether this version is in force on `date`.
    pub fn is_valid_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date <= to)
    }

    fn overlaps(&self, other: &DirectoryVersion) -> bool {
        let ends_before = |a: &DirectoryVersion, b: &DirectoryVersion| {
            a.valid_to.is_some_and(|to| to < b.valid_from)
        };
        !ends_before(self, other) && !ends_before(other, self)
    }
}

/// The version in force on `date`. Should versions from separate imports overlap, the one that
/// started last wins.
pub fn version_valid_on(
    versions: &[DirectoryVersion],
    date: NaiveDate,
) -> Option<&DirectoryVersion> {
    versions
        .iter()
        .filter(|version| version.is_valid_on(date))
        .max_by_key(|version| version.valid_from)
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    directory: Vec<RawVersion>,
}

#[derive(Deserialize)]
struct RawVersion {
    name: Option<String>,
    valid_from: Option<toml::Value>,
    valid_to: Option<toml::Value>,
    #[serde(default)]
    units: Vec<RawUnit>,
}

#[derive(Deserialize)]
struct RawUnit {
    code: Option<String>,
    kind: Option<String>,
    name_vi: Option<String>,
    name_en: Option<String>,
    head_title_vi: Option<String>,
    confidence: Option<String>,
    email: Option<String>,
}

/// Parses the TOML format of `data/haiphong-units.toml` into directory versions sorted by
/// `valid_from`, or every violation found (paths like `directory[1].units[3].code`, zero-based).
pub fn parse_directory_toml(text: &str) -> Result<Vec<DirectoryVersion>, Vec<FieldViolation>> {
    let raw: RawFile = toml::from_str(text).map_err(|e| vec![toml_violation(text, &e)])?;
    let mut violations = Vec::new();
    if raw.directory.is_empty() {
        violations.push(FieldViolation::new(
            "directory",
            "the file has no [[directory]] table: at least one directory version is required",
        ));
    }
    let mut versions: Vec<(usize, DirectoryVersion)> = Vec::new();
    for (index, raw_version) in raw.directory.iter().enumerate() {
        if let Some(version) =
            parse_version(&format!("directory[{index}]"), raw_version, &mut violations)
        {
            versions.push((index, version));
        }
    }
    for (position, (index, version)) in versions.iter().enumerate() {
        for (other_index, other) in &versions[..position] {
            if version.overlaps(other) {
                violations.push(FieldViolation::new(
                    format!("directory[{index}].valid_from"),
                    format!(
                        "{} overlaps directory[{other_index}] ({}); directory versions must \
                         not overlap in time",
                        period(version),
                        period(other)
                    ),
                ));
            }
        }
    }
    if !violations.is_empty() {
        return Err(violations);
    }
    let mut versions: Vec<_> = versions.into_iter().map(|(_, version)| version).collect();
    versions.sort_by_key(|version| version.valid_from);
    Ok(versions)
}

fn period(version: &DirectoryVersion) -> String {
    match version.valid_to {
        Some(to) => format!("{} to {}", format_date(version.valid_from), format_date(to)),
        None => format!("{} onwards", format_date(version.valid_from)),
    }
}

fn toml_violation(text: &str, error: &toml::de::Error) -> FieldViolation {
    let location = error.span().map(|span| {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(" (line {line}, column {column})")
    });
    FieldViolation::new(
        "toml",
        format!(
            "not a valid unit directory TOML document{}: {}",
            location.unwrap_or_default(),
            error.message().trim()
        ),
    )
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

fn parse_version(
    path: &str,
    raw: &RawVersion,
    violations: &mut Vec<FieldViolation>,
) -> Option<DirectoryVersion> {
    let before = violations.len();
    let name = required_text(path, "name", raw.name.as_deref(), violations);
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
    if raw.units.is_empty() {
        violations.push(FieldViolation::new(
            format!("{path}.units"),
            "a directory version needs at least one [[directory.units]] entry",
        ));
    }
    let mut units = Vec::with_capacity(raw.units.len());
    let mut first_index_of: HashMap<UnitCode, usize> = HashMap::new();
    for (index, raw_unit) in raw.units.iter().enumerate() {
        let unit_path = format!("{path}.units[{index}]");
        let Some(unit) = parse_unit(&unit_path, raw_unit, violations) else {
            continue;
        };
        if let Some(first) = first_index_of.get(&unit.code) {
            violations.push(FieldViolation::new(
                format!("{unit_path}.code"),
                format!(
                    "duplicate unit code {} (already used by {path}.units[{first}]); codes \
                     must be unique within a directory version",
                    unit.code
                ),
            ));
            continue;
        }
        first_index_of.insert(unit.code.clone(), index);
        units.push(unit);
    }
    if violations.len() > before {
        return None;
    }
    Some(DirectoryVersion {
        name: name?,
        valid_from: valid_from?,
        valid_to: valid_to?,
        units,
    })
}

fn parse_unit(path: &str, raw: &RawUnit, violations: &mut Vec<FieldViolation>) -> Option<Unit> {
    let before = violations.len();
    let code = UnitCode::parse(raw.code.as_deref().unwrap_or_default())
        .map_err(|e| violations.push(e.at(format!("{path}.code"))))
        .ok();
    let kind = match raw.kind.as_deref() {
        None => {
            violations.push(FieldViolation::new(
                format!("{path}.kind"),
                "kind is required",
            ));
            None
        }
        Some(kind) => UnitKind::parse(kind)
            .map_err(|e| violations.push(e.at(format!("{path}.kind"))))
            .ok(),
    };
    let name_vi = required_text(path, "name_vi", raw.name_vi.as_deref(), violations);
    let name_en = required_text(path, "name_en", raw.name_en.as_deref(), violations);
    let head_title_vi = text::optional(
        raw.head_title_vi.as_deref().unwrap_or_default(),
        DIRECTORY_TEXT_MAX,
    )
    .map_err(|e| violations.push(e.at(format!("{path}.head_title_vi"))))
    .ok()
    .map(Option::unwrap_or_default);
    let confidence = match raw.confidence.as_deref() {
        None => {
            violations.push(FieldViolation::new(
                format!("{path}.confidence"),
                "confidence is required (\"known\" or \"likely\")",
            ));
            None
        }
        Some(confidence) => Confidence::parse(confidence)
            .map_err(|e| violations.push(e.at(format!("{path}.confidence"))))
            .ok(),
    };
    let email = text::optional(raw.email.as_deref().unwrap_or_default(), DIRECTORY_TEXT_MAX)
        .map_err(|e| violations.push(e.at(format!("{path}.email"))))
        .ok()
        .flatten();
    if violations.len() > before {
        return None;
    }
    Some(Unit {
        code: code?,
        kind: kind?,
        name_vi: name_vi?,
        name_en: name_en?,
        head_title_vi: head_title_vi?,
        confidence: confidence?,
        email,
    })
}

fn required_text(
    path: &str,
    field: &str,
    raw: Option<&str>,
    violations: &mut Vec<FieldViolation>,
) -> Option<String> {
    text::required(raw.unwrap_or_default(), DIRECTORY_TEXT_MAX)
        .map_err(|e| {
            violations.push(FieldViolation::new(
                format!("{path}.{field}"),
                format!("{field} {e}"),
            ))
        })
        .ok()
}

/// Command: load (or replace) directory versions, all at once or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportDirectory(pub Vec<DirectoryVersion>);

/// What happened to a directory version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryEvent {
    /// The version was loaded or its content replaced.
    Imported(DirectoryVersion),
}

/// Why a directory import was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error(
        "the version \"{incoming}\" valid from {incoming_from} overlaps the stored version \
         \"{stored}\" valid from {stored_from}: a date belongs to one directory version only \
         (re-import a version with the same valid_from to replace it)"
    )]
    Overlap {
        incoming: String,
        incoming_from: NaiveDate,
        stored: String,
        stored_from: NaiveDate,
    },
}

/// The unit directory as one write model (stream [`UnitDirectory::STREAM_ID`]): every version,
/// keyed by the date it takes effect. One stream makes an import atomic and lets the overlap
/// rule see every version at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitDirectory {
    /// Shared, so that a caller keeps the version it validated against without copying a
    /// hundred and more units.
    versions: BTreeMap<NaiveDate, Arc<DirectoryVersion>>,
}

impl UnitDirectory {
    /// The one stream of the directory.
    pub const STREAM_ID: &'static str = "unit-directory";

    /// Every version, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = &DirectoryVersion> {
        self.versions.values().map(AsRef::as_ref)
    }

    /// The version in force on `date` (see [`version_valid_on`]).
    pub fn valid_on(&self, date: NaiveDate) -> Option<Arc<DirectoryVersion>> {
        self.versions
            .values()
            .filter(|version| version.is_valid_on(date))
            .max_by_key(|version| version.valid_from)
            .cloned()
    }
}

impl Aggregate for UnitDirectory {
    const TYPE: &'static str = "directory";
    type Command = ImportDirectory;
    type Event = DirectoryEvent;
    type Error = DirectoryError;

    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error> {
        let ImportDirectory(incoming) = command;
        // A version with a stored valid_from replaces it; the result must not overlap.
        let mut merged = self.versions.clone();
        for version in incoming {
            merged.insert(version.valid_from, Arc::new(version.clone()));
        }
        let ordered: Vec<&DirectoryVersion> = merged.values().map(AsRef::as_ref).collect();
        for pair in ordered.windows(2) {
            if pair[0].overlaps(pair[1]) {
                let is_incoming = |v: &DirectoryVersion| incoming.iter().any(|i| i == v);
                let (new, old) = if is_incoming(pair[1]) {
                    (pair[1], pair[0])
                } else {
                    (pair[0], pair[1])
                };
                return Err(DirectoryError::Overlap {
                    incoming: new.name.clone(),
                    incoming_from: new.valid_from,
                    stored: old.name.clone(),
                    stored_from: old.valid_from,
                });
            }
        }
        Ok(incoming
            .iter()
            .filter(|version| {
                self.versions.get(&version.valid_from).map(AsRef::as_ref) != Some(*version)
            })
            .cloned()
            .map(DirectoryEvent::Imported)
            .collect())
    }

    fn apply(&mut self, event: &Self::Event) {
        match event {
            DirectoryEvent::Imported(version) => {
                self.versions
                    .insert(version.valid_from, Arc::new(version.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!("../../seed/haiphong-units.toml");

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn code(raw: &str) -> UnitCode {
        UnitCode::parse(raw).expect("valid code")
    }

    fn fields(violations: &[FieldViolation]) -> Vec<&str> {
        violations.iter().map(|v| v.field.as_str()).collect()
    }

    const ONE_UNIT: &str = r#"
[[directory.units]]
code = "VP"
kind = "office"
name_vi = "Văn phòng"
name_en = "Office"
head_title_vi = "Chánh Văn phòng"
confidence = "known"
"#;

    fn version_toml(name: &str, from: &str, to: Option<&str>) -> String {
        let to = to
            .map(|to| format!("valid_to = \"{to}\"\n"))
            .unwrap_or_default();
        format!("[[directory]]\nname = \"{name}\"\nvalid_from = \"{from}\"\n{to}{ONE_UNIT}")
    }

    #[test]
    fn the_haiphong_seed_parses_into_two_versions() {
        let versions = parse_directory_toml(SEED).expect("seed parses");

        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0].valid_from, date(2019, 1, 1));
        assert_eq!(versions[0].valid_to, Some(date(2025, 6, 30)));
        assert_eq!(versions[1].valid_from, date(2025, 7, 1));
        assert_eq!(versions[1].valid_to, None);
        let office = versions[0].unit(&code("VP")).expect("office listed");
        assert_eq!(office.kind, UnitKind::Office);
        assert_eq!(office.name_vi, "Văn phòng Ủy ban nhân dân thành phố");
    }

    #[test]
    fn the_2025_version_lists_the_114_communes_with_their_official_codes() {
        let versions = parse_directory_toml(SEED).expect("seed parses");

        let communes: Vec<&Unit> = versions[1]
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Commune)
            .collect();

        assert_eq!(communes.len(), 114);
        let thuy_nguyen = versions[1].unit(&code("11560")).expect("listed");
        assert_eq!(thuy_nguyen.name_vi, "Phường Thủy Nguyên");
        assert!(versions[0].unit(&code("11560")).is_none());
    }

    #[test]
    fn districts_exist_only_in_the_2019_version() {
        let versions = parse_directory_toml(SEED).expect("seed parses");

        let before = version_valid_on(&versions, date(2025, 6, 30)).expect("2019 version");
        let after = version_valid_on(&versions, date(2025, 7, 1)).expect("2025 version");

        assert!(before.unit(&code("Q-HONGBANG")).is_some());
        assert!(after.unit(&code("Q-HONGBANG")).is_none());
        assert!(version_valid_on(&versions, date(2018, 12, 31)).is_none());
    }

    #[test]
    fn bad_toml_is_one_violation_on_the_toml_field() {
        let violations = parse_directory_toml("[[directory]\nname = ").expect_err("refused");

        assert_eq!(fields(&violations), ["toml"]);
        assert!(violations[0].description.contains("line 1"));
    }

    #[test]
    fn a_file_without_directories_is_refused() {
        let violations = parse_directory_toml("").expect_err("refused");

        assert_eq!(fields(&violations), ["directory"]);
    }

    #[test]
    fn duplicate_codes_within_a_version_name_the_second_unit() {
        let toml = format!("{}{ONE_UNIT}", version_toml("A", "2019-01-01", None));

        let violations = parse_directory_toml(&toml).expect_err("refused");

        assert_eq!(fields(&violations), ["directory[0].units[1].code"]);
        assert!(violations[0].description.contains("units[0]"));
    }

    #[test]
    fn the_same_code_in_two_versions_is_fine() {
        let toml = format!(
            "{}{}",
            version_toml("A", "2019-01-01", Some("2025-06-30")),
            version_toml("B", "2025-07-01", None)
        );

        assert_eq!(parse_directory_toml(&toml).expect("valid").len(), 2);
    }

    #[test]
    fn an_unknown_kind_is_refused_with_the_expected_kinds() {
        let toml = version_toml("A", "2019-01-01", None).replace("\"office\"", "\"ministry\"");

        let violations = parse_directory_toml(&toml).expect_err("refused");

        assert_eq!(fields(&violations), ["directory[0].units[0].kind"]);
        assert!(violations[0].description.contains("public_service_unit"));
    }

    #[test]
    fn valid_to_before_valid_from_is_refused() {
        let toml = version_toml("A", "2025-07-01", Some("2025-06-30"));

        let violations = parse_directory_toml(&toml).expect_err("refused");

        assert_eq!(fields(&violations), ["directory[0].valid_to"]);
    }

    #[test]
    fn overlapping_versions_are_refused() {
        let toml = format!(
            "{}{}",
            version_toml("A", "2019-01-01", None),
            version_toml("B", "2025-07-01", None)
        );

        let violations = parse_directory_toml(&toml).expect_err("refused");

        assert_eq!(fields(&violations), ["directory[1].valid_from"]);
        assert!(violations[0].description.contains("overlaps directory[0]"));
    }

    #[test]
    fn empty_names_are_refused() {
        let toml = version_toml("  ", "2019-01-01", None).replace("\"Office\"", "\"\"");

        let violations = parse_directory_toml(&toml).expect_err("refused");

        assert_eq!(
            fields(&violations),
            ["directory[0].name", "directory[0].units[0].name_en"]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_path() {
        let toml = r#"
[[directory]]
name = "A"
valid_from = "2019-02-30"

[[directory.units]]
code = "S K"
kind = "department"
name_vi = "Sở"
name_en = "Dept"
confidence = "maybe"
"#;

        let violations = parse_directory_toml(toml).expect_err("refused");

        assert_eq!(
            fields(&violations),
            [
                "directory[0].valid_from",
                "directory[0].units[0].code",
                "directory[0].units[0].confidence"
            ]
        );
    }

    #[test]
    fn toml_date_literals_are_accepted_too() {
        let toml = version_toml("A", "2019-01-01", None)
            .replace("valid_from = \"2019-01-01\"", "valid_from = 2019-01-01");

        let versions = parse_directory_toml(&toml).expect("valid");

        assert_eq!(versions[0].valid_from, date(2019, 1, 1));
    }

    #[test]
    fn importing_new_versions_records_each() {
        let versions = parse_directory_toml(SEED).expect("seed");
        let directory = UnitDirectory::default();

        let events = directory
            .decide(&ImportDirectory(versions.clone()))
            .expect("accepted");

        assert_eq!(
            events,
            versions
                .into_iter()
                .map(DirectoryEvent::Imported)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn re_importing_identical_content_is_a_no_op() {
        let versions = parse_directory_toml(SEED).expect("seed");
        let events: Vec<_> = versions
            .iter()
            .cloned()
            .map(DirectoryEvent::Imported)
            .collect();
        let directory = UnitDirectory::from_events(&events);

        let events = directory
            .decide(&ImportDirectory(versions))
            .expect("accepted");

        assert!(events.is_empty());
    }

    #[test]
    fn importing_changed_content_replaces_only_that_version() {
        let versions = parse_directory_toml(SEED).expect("seed");
        let events: Vec<_> = versions
            .iter()
            .cloned()
            .map(DirectoryEvent::Imported)
            .collect();
        let directory = UnitDirectory::from_events(&events);
        let mut corrected = versions.clone();
        corrected[0].units.pop();

        let events = directory
            .decide(&ImportDirectory(corrected.clone()))
            .expect("accepted");

        assert_eq!(events, [DirectoryEvent::Imported(corrected[0].clone())]);
    }

    #[test]
    fn a_version_overlapping_a_stored_one_is_refused() {
        let versions = parse_directory_toml(SEED).expect("seed");
        let events: Vec<_> = versions
            .iter()
            .cloned()
            .map(DirectoryEvent::Imported)
            .collect();
        let directory = UnitDirectory::from_events(&events);
        let mut overlapping = versions[0].clone();
        overlapping.name = "Bản sửa đổi 2020".into();
        overlapping.valid_from = date(2020, 1, 1);
        overlapping.valid_to = None;

        let error = directory
            .decide(&ImportDirectory(vec![overlapping]))
            .expect_err("refused");

        assert!(
            matches!(&error, DirectoryError::Overlap { incoming, .. } if incoming == "Bản sửa đổi 2020"),
            "{error:?}"
        );
    }
}
