//! The full read view of one task, folded from its events together with their metadata (stream
//! version, time, actor). This is what `GetTask` shows and what the history of a work dossier
//! cites: the original deadline and every extension, every reassignment, every refused hand-off.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::task::{TaskEvent, TaskStatus};
use super::values::{Issuer, Priority, SourceDocument, TaskId, UnitCode};

/// One entry of a task's deadline history: the original deadline, then one per extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineChange {
    /// The deadline from this point on; `None` = không thời hạn.
    pub deadline: Option<NaiveDate>,
    /// The deadline it replaced; `None` for the original entry.
    pub previous_deadline: Option<NaiveDate>,
    /// Empty for the original entry (set at assignment).
    pub reason: String,
    pub approved_by_leader: Option<String>,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
}

impl DeadlineChange {
    /// Whether this is the deadline set at assignment rather than an extension.
    pub fn is_original(&self) -> bool {
        self.previous_deadline.is_none()
    }
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

/// Everything known about a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub task_id: TaskId,
    pub issuer: Issuer,
    pub source_document: SourceDocument,
    pub title: String,
    pub content: String,
    pub lead_unit: UnitCode,
    pub coordinating_units: Vec<UnitCode>,
    /// The deadline valid now; `None` = không thời hạn.
    pub deadline: Option<NaiveDate>,
    /// The deadline set at assignment.
    pub original_deadline: Option<NaiveDate>,
    pub deadline_history: Vec<DeadlineChange>,
    pub reassignments: Vec<ReassignmentEntry>,
    pub priority: Priority,
    pub status: TaskStatus,
    pub assigned_on: NaiveDate,
    pub assigned_at: DateTime<Utc>,
    pub assigned_by: String,
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
            issuer,
            source_document,
            title,
            content,
            lead_unit,
            coordinating_units,
            deadline,
            priority,
            assigned_on,
        } = event
        else {
            return None;
        };
        Some(Self {
            task_id: *task_id,
            issuer: issuer.clone(),
            source_document: source_document.clone(),
            title: title.clone(),
            content: content.clone(),
            lead_unit: lead_unit.clone(),
            coordinating_units: coordinating_units.clone(),
            deadline: *deadline,
            original_deadline: *deadline,
            deadline_history: vec![DeadlineChange {
                deadline: *deadline,
                previous_deadline: None,
                reason: String::new(),
                approved_by_leader: None,
                changed_at: at,
                changed_by: by.to_owned(),
            }],
            reassignments: Vec::new(),
            priority: *priority,
            status: TaskStatus::Assigned,
            assigned_on: *assigned_on,
            assigned_at: at,
            assigned_by: by.to_owned(),
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
            TaskEvent::DeadlineExtended {
                previous_deadline,
                new_deadline,
                reason,
                approved_by_leader,
                ..
            } => {
                self.deadline_history.push(DeadlineChange {
                    deadline: Some(*new_deadline),
                    previous_deadline: previous_deadline.or(self.deadline),
                    reason: reason.clone(),
                    approved_by_leader: approved_by_leader.clone(),
                    changed_at: at,
                    changed_by: by.to_owned(),
                });
                self.deadline = Some(*new_deadline);
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

    /// The deadline that was valid at instant `at` (rule 4: lateness is judged against the
    /// deadline valid at that moment): the original one, replaced by each extension from the
    /// instant it was recorded. Instants need no time zone; callers asking "on which business
    /// day" convert with `dondoc_runtime::clock`.
    pub fn deadline_valid_at(&self, at: DateTime<Utc>) -> Option<NaiveDate> {
        self.deadline_history
            .iter()
            .take_while(|change| change.is_original() || change.changed_at <= at)
            .last()
            .and_then(|change| change.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::values::IssuerKind;
    use chrono::TimeZone;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 9, day, 3, 0, 0)
            .single()
            .expect("valid time")
    }

    fn code(raw: &str) -> UnitCode {
        UnitCode::parse(raw).expect("valid code")
    }

    fn task_id() -> TaskId {
        TaskId::from_uuid(uuid::Uuid::from_u128(9))
    }

    fn assigned() -> TaskEvent {
        TaskEvent::Assigned {
            task_id: task_id(),
            issuer: Issuer {
                kind: IssuerKind::Chairman,
                leader_id: None,
                leader_name: None,
            },
            source_document: SourceDocument {
                number: "55".into(),
                symbol: "TB-UBND".into(),
                date: date(2025, 9, 1),
                summary: "Kết luận của Chủ tịch".into(),
            },
            title: "Giải phóng mặt bằng".into(),
            content: "Hoàn thành giải phóng mặt bằng dự án.".into(),
            lead_unit: code("SXD"),
            coordinating_units: vec![code("STC")],
            deadline: Some(date(2025, 9, 30)),
            priority: Priority::Normal,
            assigned_on: date(2025, 9, 1),
        }
    }

    fn record() -> TaskRecord {
        TaskRecord::assigned(&assigned(), 1, at(1), "office-clerk").expect("assigned")
    }

    #[test]
    fn an_assigned_record_starts_its_deadline_history_with_the_original_deadline() {
        let record = record();

        assert_eq!(record.status, TaskStatus::Assigned);
        assert_eq!(record.assigned_by, "office-clerk");
        assert_eq!(record.version, 1);
        assert_eq!(record.deadline_history.len(), 1);
        assert!(record.deadline_history[0].is_original());
        assert_eq!(record.deadline_history[0].deadline, Some(date(2025, 9, 30)));
    }

    #[test]
    fn a_record_cannot_start_with_anything_but_an_assignment() {
        let cancelled = TaskEvent::Cancelled {
            task_id: task_id(),
            reason: "x".into(),
        };

        assert!(TaskRecord::assigned(&cancelled, 1, at(1), "x").is_none());
    }

    #[test]
    fn extensions_are_kept_with_reason_time_and_actor() {
        let mut record = record();
        let extended = TaskEvent::DeadlineExtended {
            task_id: task_id(),
            previous_deadline: Some(date(2025, 9, 30)),
            new_deadline: date(2025, 10, 31),
            reason: "Vướng mắc về giá đất".into(),
            approved_by_leader: Some("pct-le-van-b".into()),
        };

        record.apply(&extended, 2, at(20), "pct-le-van-b");

        assert_eq!(record.deadline, Some(date(2025, 10, 31)));
        assert_eq!(record.original_deadline, Some(date(2025, 9, 30)));
        assert_eq!(record.version, 2);
        let change = &record.deadline_history[1];
        assert_eq!(change.reason, "Vướng mắc về giá đất");
        assert_eq!(change.changed_at, at(20));
        assert_eq!(change.changed_by, "pct-le-van-b");
        assert_eq!(record.deadline_valid_at(at(10)), Some(date(2025, 9, 30)));
        assert_eq!(record.deadline_valid_at(at(25)), Some(date(2025, 10, 31)));
    }

    #[test]
    fn reassignments_are_kept_with_both_lead_units() {
        let reassigned = TaskEvent::Reassigned {
            task_id: task_id(),
            previous_lead_unit: code("SXD"),
            new_lead_unit: code("STC"),
            previous_coordinating_units: vec![code("STC")],
            new_coordinating_units: vec![code("SXD")],
            reason: "Theo chỉ đạo của Chủ tịch".into(),
        };

        let record = TaskRecord::fold([
            (&assigned(), 1, at(1), "office-clerk"),
            (&reassigned, 2, at(5), "chairman"),
        ])
        .expect("assigned");

        assert_eq!(record.lead_unit, code("STC"));
        assert_eq!(record.coordinating_units, [code("SXD")]);
        assert_eq!(
            record.reassignments,
            [ReassignmentEntry {
                from_lead_unit: code("SXD"),
                to_lead_unit: code("STC"),
                from_coordinating_units: vec![code("STC")],
                to_coordinating_units: vec![code("SXD")],
                reason: "Theo chỉ đạo của Chủ tịch".into(),
                reassigned_at: at(5),
                reassigned_by: "chairman".into(),
            }]
        );
    }

    #[test]
    fn refused_hand_offs_are_counted_as_evidence_and_change_nothing_else() {
        let mut record = record();
        let refusal = TaskEvent::HandOffRefused {
            task_id: task_id(),
            lead_unit: code("SXD"),
            requested_lead_unit: code("STC"),
            reason_given: "Không thuộc thẩm quyền".into(),
        };

        record.apply(&refusal, 2, at(3), "sxd-officer");

        assert_eq!(record.lead_unit, code("SXD"));
        assert_eq!(record.refused_hand_off_attempts, 1);
        assert_eq!(record.refused_hand_offs[0].by, "sxd-officer");
        assert_eq!(record.version, 2);
    }

    #[test]
    fn a_cancellation_keeps_its_reason() {
        let mut record = record();

        record.apply(
            &TaskEvent::Cancelled {
                task_id: task_id(),
                reason: "Văn bản bị thu hồi".into(),
            },
            2,
            at(4),
            "office-chief",
        );

        assert_eq!(record.status, TaskStatus::Cancelled);
        assert_eq!(record.cancel_reason.as_deref(), Some("Văn bản bị thu hồi"));
        assert_eq!(record.cancelled_by.as_deref(), Some("office-chief"));
    }
}
