//! The progress domain, pure: a task's execution ([`execution`]), what is known of the task
//! ([`facts`]), and the validation of what people type. No database, network or wire types.

pub mod dossier;
pub mod execution;
pub mod facts;
pub mod register;

use chrono::NaiveDate;
use dondoc_contracts::text;

pub use execution::{
    Action, Execution, ExecutionCommand, ExecutionError, ExecutionEvent, Happened, Review,
    Settlement,
};
pub use facts::{DeadlineFrom, ExtensionDecision, TaskFacts};

/// 100%: a completed task.
pub const PERCENT_MAX: u32 = 100;
/// Longest narrative, request, reply, description or direction.
pub const TEXT_MAX: usize = 4000;
/// Longest unit code or id typed by a caller.
pub const CODE_MAX: usize = 64;

/// Where a task stands, the same in every service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Đã giao.
    Assigned,
    /// Đang thực hiện.
    InProgress,
    /// Chờ xác nhận.
    AwaitingConfirmation,
    /// Hoàn thành.
    Completed,
    /// Trả lại, thực hiện lại.
    ReturnedForRework,
    /// Đã hủy.
    Cancelled,
}

/// Hoàn thành đúng hạn / quá hạn / không thời hạn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeliness {
    OnTime,
    Late,
    NoDeadline,
}

/// Where a task stands against its deadline on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineClass {
    /// Quá hạn.
    Overdue,
    /// Sắp đến hạn (within [`NEAR_DUE_DAYS`]).
    NearDue,
    /// Trong hạn.
    WithinTerm,
    /// Không thời hạn.
    NoDeadline,
}

/// Working days before the deadline from which an open task is near due.
pub const NEAR_DUE_DAYS: i64 = 5;

impl DeadlineClass {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "overdue" => Some(Self::Overdue),
            "near_due" | "near-due" => Some(Self::NearDue),
            "within_term" | "within-term" => Some(Self::WithinTerm),
            "no_deadline" | "no-deadline" => Some(Self::NoDeadline),
            _ => None,
        }
    }

    /// The class of an open task with `deadline` on `date`, counting working days.
    pub fn of(
        deadline: Option<NaiveDate>,
        date: NaiveDate,
        calendar: &dondoc_runtime::calendar::WorkingCalendar,
    ) -> Self {
        match deadline {
            None => Self::NoDeadline,
            Some(d) if date > d => Self::Overdue,
            Some(d) if calendar.working_days_between(date, d) <= NEAR_DUE_DAYS => Self::NearDue,
            Some(_) => Self::WithinTerm,
        }
    }
}

/// One invalid field: which, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: &str, description: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            description: description.into(),
        }
    }
}

/// Collects every violation of a request, so the caller hears of all at once.
#[derive(Debug, Default)]
pub struct Violations(pub Vec<FieldViolation>);

impl Violations {
    /// Required text, NFC-normalised, at most `max` characters.
    pub fn text(&mut self, field: &str, raw: &str, max: usize) -> String {
        match text::required(raw, max, text::Lines::Multi) {
            Ok(value) => value,
            Err(e) => {
                self.0.push(FieldViolation::new(field, e.to_string()));
                String::new()
            }
        }
    }

    /// Optional text: empty is allowed.
    pub fn optional_text(&mut self, field: &str, raw: &str, max: usize) -> String {
        match text::optional(raw, max, text::Lines::Multi) {
            Ok(value) => value.unwrap_or_default(),
            Err(e) => {
                self.0.push(FieldViolation::new(field, e.to_string()));
                String::new()
            }
        }
    }

    /// An upper-case unit code.
    pub fn unit_code(&mut self, field: &str, raw: &str) -> String {
        let code = raw.trim().to_uppercase();
        if code.is_empty() {
            self.0
                .push(FieldViolation::new(field, "is required: a unit code"));
        } else if code.len() > CODE_MAX
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.0.push(FieldViolation::new(
                field,
                "not a unit code (letters, digits, '-' or '_')",
            ));
        }
        code
    }

    /// An id this service issued (a UUID).
    pub fn id(&mut self, field: &str, raw: &str) -> String {
        let id = raw.trim();
        if uuid::Uuid::parse_str(id).is_err() {
            self.0.push(FieldViolation::new(
                field,
                "not an id issued by this service",
            ));
        }
        id.to_owned()
    }

    pub fn percent(&mut self, field: &str, percent: u32) -> u32 {
        if percent > PERCENT_MAX {
            self.0
                .push(FieldViolation::new(field, "must be between 0 and 100"));
        }
        percent
    }

    /// An ISO date on or after `not_before`.
    pub fn date_from(&mut self, field: &str, raw: &str, not_before: NaiveDate) -> NaiveDate {
        match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
            Ok(date) if date < not_before => {
                self.0.push(FieldViolation::new(
                    field,
                    format!("must be {not_before} or later"),
                ));
                date
            }
            Ok(date) => date,
            Err(_) => {
                self.0
                    .push(FieldViolation::new(field, "must be a date YYYY-MM-DD"));
                not_before
            }
        }
    }

    /// Nothing invalid: go on; otherwise every violation.
    pub fn finish(self) -> Result<(), Vec<FieldViolation>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}
