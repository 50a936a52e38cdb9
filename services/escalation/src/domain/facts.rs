//! What the escalation service knows of a task, learnt from the other services' events: from
//! the assignment service the deadline (with each extension from the day it was decided), the
//! lead unit and the leaders concerned; from the progress service how the work stands — the
//! last sign of activity, difficulties awaiting direction, coordination replies awaited, a
//! result awaiting review or accepted.
//!
//! The two halves are kept apart because their events come on different streams, in no
//! particular order between them: a progress report may be known before the assignment it is
//! about, and neither half waits for the other.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A task as the assignment service last described it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFacts {
    pub task_id: String,
    pub title: String,
    /// Đơn vị chủ trì.
    pub lead_unit: String,
    /// The leader who assigned it; `None` when the Committee did as a body.
    pub assigning_leader_id: Option<String>,
    /// Phó Chủ tịch phụ trách.
    pub supervising_leader_id: Option<String>,
    pub assigned_on: NaiveDate,
    /// Each deadline with the day from which it is in force, oldest first.
    pub deadlines: Vec<DeadlineFrom>,
    pub cancelled: bool,
}

/// A deadline and the business day from which it is the one in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineFrom {
    pub from: NaiveDate,
    /// `None`: no deadline (không thời hạn).
    pub deadline: Option<NaiveDate>,
}

impl TaskFacts {
    /// The deadline in force on `date` and the day it took effect.
    pub fn deadline_on(&self, date: NaiveDate) -> Option<&DeadlineFrom> {
        self.deadlines
            .iter()
            .rev()
            .find(|d| d.from <= date)
            .or_else(|| self.deadlines.first())
    }

    /// An extension decided on `decided_on`, in force from that day. Kept in order of the day
    /// it applies from, so an extension learnt late still takes its place.
    pub fn extend(&mut self, decided_on: NaiveDate, deadline: NaiveDate) {
        let at = self
            .deadlines
            .iter()
            .position(|d| d.from > decided_on)
            .unwrap_or(self.deadlines.len());
        self.deadlines.insert(
            at,
            DeadlineFrom {
                from: decided_on,
                deadline: Some(deadline),
            },
        );
    }
}

/// How the work on a task stands, as the progress service reported it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionFacts {
    /// The latest day the lead unit acknowledged, reported progress, reported a difficulty or
    /// submitted a result: a task without a deadline is quiet from then.
    pub last_activity: Option<NaiveDate>,
    /// A result awaits the Office's review: nothing is asked of the unit meanwhile.
    pub awaiting_review: bool,
    /// The Office accepted the result: the task is completed.
    pub completed: bool,
    /// Difficulties by id.
    pub difficulties: BTreeMap<String, Difficulty>,
    /// Coordination requests by id.
    pub coordinations: BTreeMap<String, Coordination>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difficulty {
    pub reported_on: NaiveDate,
    pub directed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coordination {
    pub unit: String,
    pub reply_due: NaiveDate,
    pub replied: bool,
}

impl ExecutionFacts {
    pub fn active_on(&mut self, date: NaiveDate) {
        self.last_activity = Some(self.last_activity.map_or(date, |d| d.max(date)));
    }
}
