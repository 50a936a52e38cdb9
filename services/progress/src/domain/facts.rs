//! What the progress service knows of a task, learnt from the assignment service's events:
//! who leads it, who coordinates, who assigned it, and its deadline on any day.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A task as the assignment service last described it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFacts {
    pub task_id: String,
    pub title: String,
    /// Đơn vị chủ trì.
    pub lead_unit: String,
    /// Đơn vị phối hợp.
    pub coordinating_units: Vec<String>,
    /// The leader who assigned it; `None` when the City People's Committee did as a body.
    pub assigning_leader_id: Option<String>,
    /// The Vice-Chairman supervising the lead unit (Phó Chủ tịch phụ trách).
    pub supervising_leader_id: Option<String>,
    pub assigned_on: NaiveDate,
    /// Each deadline with the day from which it applies, oldest first: the first from the
    /// assignment, then every approved extension from the day it was decided.
    pub deadlines: Vec<DeadlineFrom>,
    pub cancelled: bool,
    /// The leader's decisions on extension requests, as the assignment service recorded them.
    #[serde(default)]
    pub extension_decisions: Vec<ExtensionDecision>,
    /// The city's directing document (văn bản giao nhiệm vụ), the first of the dossier.
    #[serde(default)]
    pub directing_document: Option<DirectingDocument>,
}

/// Số, ký hiệu, ngày and trích yếu of the document that assigned the task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectingDocument {
    pub number: String,
    pub symbol: String,
    /// ISO date, as the assignment service recorded it.
    pub date: String,
    pub summary: String,
}

/// A leader's decision on a requested extension.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionDecision {
    pub extension_id: String,
    pub approved: bool,
    /// The approved deadline.
    pub new_deadline: Option<NaiveDate>,
    pub decided_on: NaiveDate,
}

/// A deadline and the business day from which it is the one in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineFrom {
    pub from: NaiveDate,
    /// `None`: no deadline (không thời hạn).
    pub deadline: Option<NaiveDate>,
}

impl TaskFacts {
    /// The deadline in force on `date` (extensions count from the day they were decided).
    pub fn deadline_on(&self, date: NaiveDate) -> Option<NaiveDate> {
        self.deadlines
            .iter()
            .rev()
            .find(|d| d.from <= date)
            .or_else(|| self.deadlines.first())
            .and_then(|d| d.deadline)
    }

    /// The deadline in force now: the latest one.
    pub fn current_deadline(&self) -> Option<NaiveDate> {
        self.deadlines.last().and_then(|d| d.deadline)
    }

    pub fn decision_on(&self, extension_id: &str) -> Option<&ExtensionDecision> {
        self.extension_decisions
            .iter()
            .find(|d| d.extension_id == extension_id)
    }

    pub fn is_coordinating(&self, unit: &str) -> bool {
        self.coordinating_units.iter().any(|u| u == unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn the_deadline_on_a_day_is_the_one_decided_by_then() {
        let facts = TaskFacts {
            deadlines: vec![
                DeadlineFrom {
                    from: day("2026-11-01"),
                    deadline: Some(day("2026-12-01")),
                },
                DeadlineFrom {
                    from: day("2026-11-25"),
                    deadline: Some(day("2026-12-20")),
                },
            ],
            ..TaskFacts::default()
        };
        assert_eq!(
            facts.deadline_on(day("2026-11-24")),
            Some(day("2026-12-01"))
        );
        assert_eq!(
            facts.deadline_on(day("2026-11-25")),
            Some(day("2026-12-20"))
        );
        assert_eq!(facts.current_deadline(), Some(day("2026-12-20")));
    }
}
