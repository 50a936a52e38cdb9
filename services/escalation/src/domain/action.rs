//! A leadership action the Office counts in its reports: a reminder letter (văn bản nhắc nhở),
//! a criticism (phê bình) or a commendation (biểu dương), each with its document and the units
//! it concerns. Recorded once; a record is a fact and is never edited.

use chrono::NaiveDate;
use dondoc_eventsourcing::Aggregate;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// Nhắc nhở.
    Reminder,
    /// Phê bình.
    Criticism,
    /// Biểu dương.
    Commendation,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Reminder => "reminder",
            ActionKind::Criticism => "criticism",
            ActionKind::Commendation => "commendation",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "reminder" | "nhac-nho" => Some(ActionKind::Reminder),
            "criticism" | "phe-binh" => Some(ActionKind::Criticism),
            "commendation" | "bieu-duong" => Some(ActionKind::Commendation),
            _ => None,
        }
    }
}

/// Số, ký hiệu, ngày and trích yếu of the action's document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionDocument {
    pub number: String,
    pub symbol: String,
    pub date: String,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionRecord {
    pub action_id: String,
    pub kind: ActionKind,
    pub leader_id: String,
    pub units: Vec<String>,
    pub task_ids: Vec<String>,
    pub document: ActionDocument,
    pub recorded_on: NaiveDate,
    pub note: String,
}

#[derive(Clone, Debug)]
pub enum LeadershipActionCommand {
    Record(ActionRecord),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("leadership action {0} is already recorded")]
    AlreadyRecorded(String),
}

#[derive(Clone, Debug, Default)]
pub struct LeadershipAction {
    pub recorded: Option<ActionRecord>,
}

impl Aggregate for LeadershipAction {
    const TYPE: &'static str = dondoc_contracts::escalation::ACTION_STREAM;
    type Command = LeadershipActionCommand;
    type Event = ActionRecord;
    type Error = ActionError;

    fn decide(&self, command: &LeadershipActionCommand) -> Result<Vec<ActionRecord>, ActionError> {
        let LeadershipActionCommand::Record(record) = command;
        if let Some(existing) = &self.recorded {
            return Err(ActionError::AlreadyRecorded(existing.action_id.clone()));
        }
        Ok(vec![record.clone()])
    }

    fn apply(&mut self, event: &ActionRecord) {
        self.recorded = Some(event.clone());
    }
}
