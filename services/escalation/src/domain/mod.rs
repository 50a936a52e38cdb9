//! The escalation service's domain, without I/O: the policy, what is known of each task, the
//! schedule of notices it implies on the working-day calendar, and the two aggregates — a
//! task's watch (the notices issued and their delivery) and a leadership action.

pub mod action;
pub mod facts;
pub mod policy;
pub mod schedule;
pub mod watch;

pub use action::{ActionError, ActionKind, LeadershipAction, LeadershipActionCommand};
pub use facts::{ExecutionFacts, TaskFacts};
pub use policy::EscalationPolicy;
pub use schedule::{NoticeKind, Phase, Schedule};
pub use watch::{Notice, Watch, WatchCommand, WatchError, WatchEvent};

/// One field of a request that was refused, and why.
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

/// `dd/mm/yyyy`, the way Vietnamese documents write a date.
pub fn vi_date(date: chrono::NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}
