//! Value types of the assignment domain ("parse, don't validate").
//!
//! Every constructor here takes raw input as received (a string from a gRPC request or a TOML
//! file), normalises it, and either returns a value that is known to be well formed or says
//! precisely what is wrong. Free text is trimmed and NFC-normalised (Vietnamese text arrives in
//! both composed and decomposed forms depending on the keyboard and the operating system) and its
//! length is counted in characters, never bytes.

use std::fmt;

use chrono::NaiveDate;
use uuid::Uuid;

/// Maximum length (characters) of a task title (tên nhiệm vụ).
pub const TITLE_MAX: usize = 500;
/// Maximum length (characters) of a task's content (nội dung).
pub const CONTENT_MAX: usize = 20_000;
/// Maximum length (characters) of a source document summary (trích yếu).
pub const SUMMARY_MAX: usize = 1_000;
/// Maximum length (characters) of a source document number (số).
pub const NUMBER_MAX: usize = 20;
/// Maximum length (characters) of a source document symbol (ký hiệu).
pub const SYMBOL_MAX: usize = 50;
/// Maximum length (characters) of a reason (lý do).
pub const REASON_MAX: usize = 2_000;
/// Maximum length (characters) of a leader's display name.
pub const LEADER_NAME_MAX: usize = 200;
/// Maximum length (characters) of an issuing body's name.
pub const ISSUING_BODY_MAX: usize = 300;
/// Maximum length (characters) of a leader's stable identifier.
pub const LEADER_ID_MAX: usize = 100;
/// Maximum length (characters) of a unit code.
pub const UNIT_CODE_MAX: usize = 32;

/// One thing wrong with one field of a request, in the shape of `google.rpc.BadRequest`.
///
/// `field` is a path in proto field names with zero-based indices, e.g. `source_document.date`,
/// `coordinating_units[1]` or `directory[1].units[3].code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// A raw value that could not be parsed; the caller attaches the field path with [`Self::at`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    pub fn new(description: impl Into<String>) -> Self {
        Self(description.into())
    }

    /// Names the field the value came from.
    pub fn at(self, field: impl Into<String>) -> FieldViolation {
        FieldViolation::new(field, self.0)
    }
}

/// Free-text rules (trim, NFC, no control characters, length in characters), shared by every
/// service through the published language (`dondoc_contracts::text`).
pub mod text {
    use super::InvalidValue;
    use dondoc_contracts::text::{self as rules, Lines};

    /// A single-line text that must be present and at most `max` characters long.
    pub fn required(raw: &str, max: usize) -> Result<String, InvalidValue> {
        rules::required(raw, max, Lines::Single).map_err(invalid)
    }

    /// A single-line text that may be blank (→ `None`), otherwise at most `max` characters.
    pub fn optional(raw: &str, max: usize) -> Result<Option<String>, InvalidValue> {
        rules::optional(raw, max, Lines::Single).map_err(invalid)
    }

    /// A text that may span lines (content, reasons), present and at most `max` characters.
    pub fn required_lines(raw: &str, max: usize) -> Result<String, InvalidValue> {
        rules::required(raw, max, Lines::Multi).map_err(invalid)
    }

    /// A text that may span lines and may be blank (→ `None`).
    pub fn optional_lines(raw: &str, max: usize) -> Result<Option<String>, InvalidValue> {
        rules::optional(raw, max, Lines::Multi).map_err(invalid)
    }

    fn invalid(error: rules::TextError) -> InvalidValue {
        InvalidValue::new(error.to_string())
    }
}

/// Parses an ISO calendar date, strictly `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, InvalidValue> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(InvalidValue::new("a date (YYYY-MM-DD) is required"));
    }
    let well_shaped = raw.len() == 10
        && raw.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    let parsed = well_shaped
        .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .flatten();
    parsed.ok_or_else(|| {
        InvalidValue::new(format!(
            "{raw:?} is not a valid calendar date in the form YYYY-MM-DD"
        ))
    })
}

/// Formats a date as ISO `YYYY-MM-DD`, the form every proto message uses.
pub fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Identifier of a task, also its event stream id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct TaskId(Uuid);

impl TaskId {
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// Parses the hyphenated UUID form.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        Uuid::try_parse(raw.trim())
            .map(Self)
            .map_err(|_| InvalidValue::new(format!("{raw:?} is not a valid task id (a UUID)")))
    }
}

impl From<Uuid> for TaskId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Code of a unit in the unit directory, e.g. `SKHDT` or `Q-HONGBANG`: upper-case ASCII
/// letters, digits and `-`, 1 to 32 characters. Lower-case input is upper-cased.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UnitCode(String);

impl UnitCode {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let code = raw.trim().to_ascii_uppercase();
        if code.is_empty() {
            return Err(InvalidValue::new("a unit code is required"));
        }
        let chars = code.chars().count();
        if chars > UNIT_CODE_MAX {
            return Err(InvalidValue::new(format!(
                "a unit code is at most {UNIT_CODE_MAX} characters (got {chars})"
            )));
        }
        if !code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(InvalidValue::new(format!(
                "{:?} is not a unit code: only letters A-Z, digits and '-' are allowed",
                raw.trim()
            )));
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a task comes from (nguồn nhiệm vụ): the body whose document first asked for the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OriginKind {
    /// Chính phủ.
    Government,
    /// Thủ tướng Chính phủ.
    PrimeMinister,
    /// A ministry or central agency (Bộ, ngành Trung ương).
    Ministry,
    /// Thành ủy.
    CityPartyCommittee,
    /// Hội đồng nhân dân thành phố.
    CityPeoplesCouncil,
    /// Ủy ban nhân dân thành phố itself.
    CityPeoplesCommittee,
    /// An old record whose issuer was free text that could not be classified; the text is
    /// kept as the issuing body. Archives keep what was written rather than a guess.
    Unclassified,
}

impl OriginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OriginKind::Government => "government",
            OriginKind::PrimeMinister => "prime_minister",
            OriginKind::Ministry => "ministry",
            OriginKind::CityPartyCommittee => "city_party_committee",
            OriginKind::CityPeoplesCouncil => "city_peoples_council",
            OriginKind::CityPeoplesCommittee => "city_peoples_committee",
            OriginKind::Unclassified => "unclassified",
        }
    }

    /// The Vietnamese name used on documents and reports.
    pub fn label_vi(self) -> &'static str {
        match self {
            OriginKind::Government => "Chính phủ",
            OriginKind::PrimeMinister => "Thủ tướng Chính phủ",
            OriginKind::Ministry => "Bộ, ngành Trung ương",
            OriginKind::CityPartyCommittee => "Thành ủy",
            OriginKind::CityPeoplesCouncil => "HĐND thành phố",
            OriginKind::CityPeoplesCommittee => "UBND thành phố",
            OriginKind::Unclassified => "Chưa phân loại (theo hồ sơ cũ)",
        }
    }

    /// Tasks from the Government and the Prime Minister, reported as a separate block.
    pub fn is_central(self) -> bool {
        matches!(self, OriginKind::Government | OriginKind::PrimeMinister)
    }
}

/// Where a task comes from, with that body's document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    pub kind: OriginKind,
    /// The issuing body's name ("Bộ Xây dựng"); always given for a ministry.
    pub issuing_body: Option<String>,
    /// That body's document; `None` when the task starts with the city's own document.
    pub document: Option<SourceDocument>,
}

/// Who assigned a task in the city (người giao nhiệm vụ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AssignerKind {
    /// Chủ tịch UBND thành phố.
    Chairman,
    /// A Phó Chủ tịch UBND thành phố.
    ViceChairman,
    /// UBND thành phố as a body (tập thể).
    CityPeoplesCommittee,
    /// An old record that could not be classified.
    Unclassified,
}

impl AssignerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignerKind::Chairman => "chairman",
            AssignerKind::ViceChairman => "vice_chairman",
            AssignerKind::CityPeoplesCommittee => "city_peoples_committee",
            AssignerKind::Unclassified => "unclassified",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            AssignerKind::Chairman => "Chủ tịch UBND thành phố",
            AssignerKind::ViceChairman => "Phó Chủ tịch UBND thành phố",
            AssignerKind::CityPeoplesCommittee => "UBND thành phố (tập thể)",
            AssignerKind::Unclassified => "Chưa phân loại (theo hồ sơ cũ)",
        }
    }

    /// Whether a named leader assigns (and so must be in the leader directory).
    pub fn is_leader(self) -> bool {
        matches!(self, AssignerKind::Chairman | AssignerKind::ViceChairman)
    }
}

/// The assigning leader or the City People's Committee as a body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Assigner {
    pub kind: AssignerKind,
    /// The leader directory's id (the Chairman and a Vice-Chairman always have one).
    pub leader_id: Option<String>,
    /// As the directory gave it when the task was assigned.
    pub leader_name: Option<String>,
}

/// The city's assignment: who assigned the task and through which directing document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Assignment {
    pub assigner: Assigner,
    /// The city's document (văn bản chỉ đạo của UBND thành phố).
    pub document: SourceDocument,
}

/// Độ khẩn of a task.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Priority {
    /// Thường.
    #[default]
    Normal,
    /// Khẩn.
    Urgent,
    /// Thượng khẩn.
    VeryUrgent,
    /// Hỏa tốc.
    Flash,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Urgent => "urgent",
            Priority::VeryUrgent => "very_urgent",
            Priority::Flash => "flash",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Priority::Normal => "Thường",
            Priority::Urgent => "Khẩn",
            Priority::VeryUrgent => "Thượng khẩn",
            Priority::Flash => "Hỏa tốc",
        }
    }
}

/// The document a task comes from (văn bản giao nhiệm vụ): số, ký hiệu, ngày, trích yếu.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceDocument {
    pub number: String,
    pub symbol: String,
    pub date: NaiveDate,
    pub summary: String,
}

impl SourceDocument {
    /// Builds a source document from raw input; violations name `<path>.<field>`.
    pub fn parse(
        path: &str,
        number: &str,
        symbol: &str,
        date: &str,
        summary: &str,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let mut field = |name: &str, result: Result<String, InvalidValue>| {
            result
                .map_err(|e| violations.push(e.at(format!("{path}.{name}"))))
                .ok()
        };
        let number = field("number", text::required(number, NUMBER_MAX));
        let symbol = field("symbol", text::required(symbol, SYMBOL_MAX));
        let summary = field("summary", text::required(summary, SUMMARY_MAX));
        let date = parse_date(date)
            .map_err(|e| violations.push(e.at(format!("{path}.date"))))
            .ok();
        match (number, symbol, date, summary) {
            (Some(number), Some(symbol), Some(date), Some(summary)) if violations.is_empty() => {
                Ok(Self {
                    number,
                    symbol,
                    date,
                    summary,
                })
            }
            _ => Err(violations),
        }
    }

    /// "Số 1234/UBND-VP ngày 2025-03-01" style reference: number and symbol joined by `/`.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.number, self.symbol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_in_a_title_names_the_character_and_a_line_break_is_kept_only_in_content() {
        assert!(text::required("Báo cáo\u{0}", 100).is_err());
        assert!(text::required("Dòng 1\nDòng 2", 100).is_err());
        assert_eq!(
            text::required_lines("Dòng 1\nDòng 2", 100),
            Ok("Dòng 1\nDòng 2".to_owned())
        );
    }

    #[test]
    fn dates_must_be_strict_iso_calendar_dates() {
        assert_eq!(
            parse_date("2025-07-01"),
            Ok(NaiveDate::from_ymd_opt(2025, 7, 1).expect("date"))
        );
        for bad in [
            "2025-7-1",
            "2025-02-30",
            "01/07/2025",
            "",
            "2025-07-01T00:00",
        ] {
            assert!(parse_date(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn unit_codes_are_trimmed_and_upper_cased() {
        let code = UnitCode::parse(" q-hongbang ").expect("valid");

        assert_eq!(code.as_str(), "Q-HONGBANG");
    }

    #[test]
    fn unit_codes_refuse_other_characters_and_excess_length() {
        assert!(UnitCode::parse("SỞ").is_err());
        assert!(UnitCode::parse("S KHDT").is_err());
        assert!(UnitCode::parse("").is_err());
        assert!(UnitCode::parse(&"A".repeat(33)).is_err());
        assert!(UnitCode::parse(&"A".repeat(32)).is_ok());
    }

    #[test]
    fn source_document_violations_name_each_field() {
        let violations =
            SourceDocument::parse("source_document", "", &"x".repeat(51), "2025-13-01", "  ")
                .expect_err("refused");

        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "source_document.number",
                "source_document.symbol",
                "source_document.summary",
                "source_document.date"
            ]
        );
    }

    #[test]
    fn task_ids_round_trip_through_their_text_form() {
        let id = TaskId::from_uuid(Uuid::from_u128(42));

        assert_eq!(TaskId::parse(&id.to_string()), Ok(id));
        assert!(TaskId::parse("not-a-uuid").is_err());
    }
}
