//! The full read view of one task, folded from its events together with their metadata (stream
//! version, time, actor). This is what `GetTask` shows and what the history of a work dossier
//! cites: where the task came from and who assigned it, the original deadline and every
//! extension (with its request date and approver), every request refused, every reassignment,
//! every refused hand-off — and where the task stands against its deadline at any instant.

use chrono::{DateTime, NaiveDate, Utc};
use dondoc_eventsourcing::clock::business_date;
use serde::{Deserialize, Serialize};

use super::task::{TaskEvent, TaskStatus};
use super::values::{Assignment, Origin, Priority, TaskId, UnitCode};

/// One entry of a task's deadline history: the original deadline, then one per extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineChange {
    /// The deadline from this point on; `None` = không thời hạn.
    pub deadline: Option<NaiveDate>,
    /// The deadline it replaced; `None` for the original entry (or a first deadline).
    pub previous_deadline: Option<NaiveDate>,
    /// Empty for the original entry (set at assignment).
    pub reason: String,
    pub approved_by_leader: Option<String>,
    /// The day the extension was requested (rule 4 judges by it).
    pub requested_on: Option<NaiveDate>,
    pub decided_on: Option<NaiveDate>,
    pub extension_id: Option<String>,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
    /// Whether this is the deadline set at assignment.
    pub original: bool,
}

impl DeadlineChange {
    /// Whether this is the deadline set at assignment rather than an extension.
    pub fn is_original(&self) -> bool {
        self.original
    }
}

/// Where a request for a later deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExtensionState {
    Pending,
    Approved,
    Rejected,
}

impl ExtensionState {
    pub fn label_vi(self) -> &'static str {
        match self {
            ExtensionState::Pending => "Chờ quyết định",
            ExtensionState::Approved => "Đã chấp thuận",
            ExtensionState::Rejected => "Không chấp thuận",
        }
    }
}

/// A request for a later deadline and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionEntry {
    pub extension_id: String,
    pub requested_on: NaiveDate,
    pub proposed_deadline: NaiveDate,
    pub reason: String,
    pub requested_by_unit: Option<UnitCode>,
    pub requested_by: String,
    pub state: ExtensionState,
    pub decided_on: Option<NaiveDate>,
    pub decided_by_leader: Option<String>,
    pub decision_reason: Option<String>,
    pub new_deadline: Option<NaiveDate>,
}

/// One reassignment by the issuing authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassignmentEntry {
    pub from_lead_unit: UnitCode,
    pub to_lead_unit: UnitCode,
    pub from_coordinating_units: Vec<UnitCode>,
    pub to_coordinating_units: Vec<UnitCode>,
    pub reason: String,
    pub reassigned_at: DateTime<Utc>,
    pub reassigned_by: String,
}

/// One refused hand-off attempt by the lead unit (evidence, rule 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedHandOff {
    pub lead_unit: UnitCode,
    pub requested_lead_unit: UnitCode,
    pub reason_given: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// Where a task stands against its deadline at an instant (phân loại theo thời hạn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeadlineClass {
    /// Không thời hạn.
    NoDeadline,
    /// Trong hạn.
    InTerm,
    /// Sắp đến hạn: the deadline is within the near-due window.
    NearDue,
    /// Quá hạn: the deadline valid at that instant has ended.
    Overdue,
    /// Đã kết thúc: cancelled (or completed) by that instant.
    Closed,
}

impl DeadlineClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineClass::NoDeadline => "none",
            DeadlineClass::InTerm => "in_term",
            DeadlineClass::NearDue => "near_due",
            DeadlineClass::Overdue => "overdue",
            DeadlineClass::Closed => "closed",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            DeadlineClass::NoDeadline => "Không thời hạn",
            DeadlineClass::InTerm => "Trong hạn",
            DeadlineClass::NearDue => "Sắp đến hạn",
            DeadlineClass::Overdue => "Quá hạn",
            DeadlineClass::Closed => "Đã kết thúc",
        }
    }
}

/// Default width of the near-due window, in days before the deadline (sắp đến hạn).
pub const NEAR_DUE_DAYS: u32 = 5;

/// Everything known about a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub task_id: TaskId,
    pub origin: Origin,
    pub assignment: Assignment,
    pub title: String,
    pub content: String,
    pub lead_unit: UnitCode,
    pub coordinating_units: Vec<UnitCode>,
    /// The Vice-Chairman supervising the lead unit (phụ trách), as recorded.
    pub supervising_leader_id: Option<String>,
    /// The deadline valid now; `None` = không thời hạn.
    pub deadline: Option<NaiveDate>,
    /// The deadline set at assignment.
    pub original_deadline: Option<NaiveDate>,
    pub deadline_history: Vec<DeadlineChange>,
    pub extension_requests: Vec<ExtensionEntry>,
    pub reassignments: Vec<ReassignmentEntry>,
    pub priority: Priority,
    pub status: TaskStatus,
    pub assigned_on: NaiveDate,
    pub assigned_at: DateTime<Utc>,
    pub assigned_by: String,
    /// The import reason of a task brought in from the past.
    pub historical: Option<String>,
    pub cancel_reason: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<String>,
    pub refused_hand_off_attempts: u32,
    pub refused_hand_offs: Vec<RefusedHandOff>,
    /// Stream version of the last event folded in (for optimistic concurrency).
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

impl TaskRecord {
    /// Starts a record from the task's first event; `None` unless it is `Assigned`.
    pub fn assigned(event: &TaskEvent, version: u64, at: DateTime<Utc>, by: &str) -> Option<Self> {
        let TaskEvent::Assigned {
            task_id,
            origin,
            assignment,
            title,
            content,
            lead_unit,
            coordinating_units,
            deadline,
            priority,
            assigned_on,
            supervising_leader_id,
            historical,
        } = event
        else {
            return None;
        };
        Some(Self {
            task_id: *task_id,
            origin: origin.clone(),
            assignment: assignment.clone(),
            title: title.clone(),
            content: content.clone(),
            lead_unit: lead_unit.clone(),
            coordinating_units: coordinating_units.clone(),
            supervising_leader_id: supervising_leader_id.clone(),
            deadline: *deadline,
            original_deadline: *deadline,
            deadline_history: vec![DeadlineChange {
                deadline: *deadline,
                previous_deadline: None,
                reason: String::new(),
                approved_by_leader: None,
                requested_on: None,
                decided_on: Some(*assigned_on),
                extension_id: None,
                changed_at: at,
                changed_by: by.to_owned(),
                original: true,
            }],
            extension_requests: Vec::new(),
            reassignments: Vec::new(),
            priority: *priority,
            status: TaskStatus::Assigned,
            assigned_on: *assigned_on,
            assigned_at: at,
            assigned_by: by.to_owned(),
            historical: historical.clone(),
            cancel_reason: None,
            cancelled_at: None,
            cancelled_by: None,
            refused_hand_off_attempts: 0,
            refused_hand_offs: Vec::new(),
            version,
            updated_at: at,
        })
    }

    /// Folds a whole stream: `(event, stream version, occurred at, actor)` in order. `None` if
    /// the stream does not start with `Assigned`.
    pub fn fold<'a>(
        events: impl IntoIterator<Item = (&'a TaskEvent, u64, DateTime<Utc>, &'a str)>,
    ) -> Option<Self> {
        let mut events = events.into_iter();
        let (first, version, at, by) = events.next()?;
        let mut record = Self::assigned(first, version, at, by)?;
        for (event, version, at, by) in events {
            record.apply(event, version, at, by);
        }
        Some(record)
    }

    /// Folds one more event into the record. A second `Assigned` replaces the record (it does
    /// not occur in a well-formed stream).
    pub fn apply(&mut self, event: &TaskEvent, version: u64, at: DateTime<Utc>, by: &str) {
        match event {
            TaskEvent::Assigned { .. } => {
                if let Some(record) = Self::assigned(event, version, at, by) {
                    *self = record;
                }
                return;
            }
            TaskEvent::Reassigned {
                previous_lead_unit,
                new_lead_unit,
                previous_coordinating_units,
                new_coordinating_units,
                reason,
                supervising_leader_id,
                ..
            } => {
                self.reassignments.push(ReassignmentEntry {
                    from_lead_unit: previous_lead_unit.clone(),
                    to_lead_unit: new_lead_unit.clone(),
                    from_coordinating_units: previous_coordinating_units.clone(),
                    to_coordinating_units: new_coordinating_units.clone(),
                    reason: reason.clone(),
                    reassigned_at: at,
                    reassigned_by: by.to_owned(),
                });
                self.lead_unit = new_lead_unit.clone();
                self.coordinating_units = new_coordinating_units.clone();
                // Older reassignments did not record it; the new unit's supervisor is then
                // unknown rather than the old one's.
                self.supervising_leader_id = supervising_leader_id.clone();
            }
            TaskEvent::HandOffRefused {
                lead_unit,
                requested_lead_unit,
                reason_given,
                ..
            } => {
                self.refused_hand_offs.push(RefusedHandOff {
                    lead_unit: lead_unit.clone(),
                    requested_lead_unit: requested_lead_unit.clone(),
                    reason_given: reason_given.clone(),
                    at,
                    by: by.to_owned(),
                });
                self.refused_hand_off_attempts += 1;
            }
            TaskEvent::ExtensionRequested {
                extension_id,
                requested_on,
                proposed_deadline,
                reason,
                requested_by_unit,
                ..
            } => self.extension_requests.push(ExtensionEntry {
                extension_id: extension_id.clone(),
                requested_on: *requested_on,
                proposed_deadline: *proposed_deadline,
                reason: reason.clone(),
                requested_by_unit: requested_by_unit.clone(),
                requested_by: by.to_owned(),
                state: ExtensionState::Pending,
                decided_on: None,
                decided_by_leader: None,
                decision_reason: None,
                new_deadline: None,
            }),
            TaskEvent::DeadlineExtended {
                previous_deadline,
                new_deadline,
                reason,
                approved_by_leader,
                requested_on,
                extension_id,
                decided_on,
                ..
            } => {
                self.deadline_history.push(DeadlineChange {
                    deadline: Some(*new_deadline),
                    previous_deadline: previous_deadline.or(self.deadline),
                    reason: reason.clone(),
                    approved_by_leader: approved_by_leader.clone(),
                    requested_on: *requested_on,
                    decided_on: decided_on.or(Some(business_date(at))),
                    extension_id: extension_id.clone(),
                    changed_at: at,
                    changed_by: by.to_owned(),
                    original: false,
                });
                self.deadline = Some(*new_deadline);
                if let Some(entry) = self.extension(extension_id.as_deref()) {
                    entry.state = ExtensionState::Approved;
                    entry.decided_on = *decided_on;
                    entry.decided_by_leader = approved_by_leader.clone();
                    entry.decision_reason = Some(reason.clone());
                    entry.new_deadline = Some(*new_deadline);
                }
            }
            TaskEvent::ExtensionRejected {
                extension_id,
                decided_on,
                rejected_by_leader,
                reason,
                ..
            } => {
                if let Some(entry) = self.extension(Some(extension_id)) {
                    entry.state = ExtensionState::Rejected;
                    entry.decided_on = Some(*decided_on);
                    entry.decided_by_leader = Some(rejected_by_leader.clone());
                    entry.decision_reason = Some(reason.clone());
                }
            }
            TaskEvent::Cancelled { reason, .. } => {
                self.status = TaskStatus::Cancelled;
                self.cancel_reason = Some(reason.clone());
                self.cancelled_at = Some(at);
                self.cancelled_by = Some(by.to_owned());
            }
        }
        self.version = version;
        self.updated_at = at;
    }

    fn extension(&mut self, id: Option<&str>) -> Option<&mut ExtensionEntry> {
        let id = id?;
        self.extension_requests
            .iter_mut()
            .find(|e| e.extension_id == id)
    }

    /// The deadline that was valid at instant `at` (rule 4: lateness is judged against the
    /// deadline valid at that moment): the original one, replaced by each extension from the
    /// instant it was recorded.
    pub fn deadline_valid_at(&self, at: DateTime<Utc>) -> Option<NaiveDate> {
        self.deadline_history
            .iter()
            .take_while(|change| change.is_original() || change.changed_at <= at)
            .last()
            .and_then(|change| change.deadline)
    }

    /// Where the task stood against its deadline at instant `at`, or `None` if it had not been
    /// assigned yet.
    ///
    /// A deadline is a date: the task is overdue once that day has ended in Asia/Ho_Chi_Minh
    /// (design.md §2 rule 12), judged against the deadline valid at `at` (so an extension
    /// recorded later does not rewrite the past); it is near due when the deadline is at most
    /// `near_due_days` days away. A cancelled task is closed from the instant it was cancelled.
    pub fn deadline_class(&self, at: DateTime<Utc>, near_due_days: u32) -> Option<DeadlineClass> {
        if at < self.assigned_at {
            return None;
        }
        if self.cancelled_at.is_some_and(|cancelled| cancelled <= at) {
            return Some(DeadlineClass::Closed);
        }
        // Completion is known from the progress service as a status (not an instant): a
        // completed task is closed.
        if self.status == TaskStatus::Completed {
            return Some(DeadlineClass::Closed);
        }
        let Some(deadline) = self.deadline_valid_at(at) else {
            return Some(DeadlineClass::NoDeadline);
        };
        let today = business_date(at);
        Some(if today > deadline {
            DeadlineClass::Overdue
        } else if (deadline - today).num_days() <= i64::from(near_due_days) {
            DeadlineClass::NearDue
        } else {
            DeadlineClass::InTerm
        })
    }
}

#[cfg(test)]
mod tests;
