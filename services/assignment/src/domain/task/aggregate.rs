//! The task aggregate: assignment, reassignment, deadline extension, cancellation.
//!
//! Rules enforced here (design.md §2):
//! 1. every task has exactly one lead unit (chủ trì), zero or more coordinating units (phối
//!    hợp), an issuer, a source document and either a deadline or "no deadline";
//! 2. the lead unit may not hand the task to another unit: its request is *recorded* as a
//!    refused hand-off (evidence for discipline proposals) and answered with [`HAND_OFF_RULE`];
//!    only the issuing authority, or the Office on its behalf, reassigns, with a reason;
//! 4. deadlines change only by an extension decided on or before the current deadline; the
//!    original deadline is kept.

use std::fmt;

use chrono::NaiveDate;
use dondoc_eventsourcing::Aggregate;

use crate::domain::values::{Issuer, Priority, SourceDocument, TaskId, UnitCode};

/// The answer to a lead unit that tries to hand its task to another unit (rule 2).
pub const HAND_OFF_RULE: &str = "Refused under the working regulation of the City \
People's Committee (as restated by UBND thành phố Hải Phòng on 18/09/2019; dondoc rule 2): \
a unit assigned to lead a task (đơn vị chủ trì) may not propose handing it to another agency or \
unit. If it meets difficulties \
or obstacles (khó khăn, vướng mắc), it must report them to the City People's Committee \
leadership for direction (chỉ đạo); only the issuing authority, or the Office on its behalf, may \
reassign the task. This request has been recorded. / Từ chối theo Quy chế làm việc của UBND \
thành phố: khi được giao nhiệm vụ chủ trì, đơn vị không được đề xuất giao lại cho cơ quan, đơn \
vị khác; nếu có khó khăn, vướng mắc phải đề xuất, báo cáo lãnh đạo UBND thành phố chỉ đạo thực \
hiện. Chỉ cơ quan, người giao nhiệm vụ (hoặc Văn phòng thay mặt) mới được giao lại nhiệm vụ. Yêu \
cầu này đã được ghi nhận.";

/// Lifecycle of a task. Only `Assigned` and `Cancelled` are reachable so far; the others are
/// reached by the progress, review and confirmation commands that come later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Assigned => "assigned",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::AwaitingConfirmation => "awaiting_confirmation",
            TaskStatus::Completed => "completed",
            TaskStatus::ReturnedForRework => "returned_for_rework",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            TaskStatus::Assigned => "Đã giao",
            TaskStatus::InProgress => "Đang thực hiện",
            TaskStatus::AwaitingConfirmation => "Chờ xác nhận",
            TaskStatus::Completed => "Hoàn thành",
            TaskStatus::ReturnedForRework => "Trả lại, thực hiện lại",
            TaskStatus::Cancelled => "Đã hủy",
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated assignment, built by [`super::validate_assignment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignTask {
    pub task_id: TaskId,
    pub issuer: Issuer,
    pub source_document: SourceDocument,
    pub title: String,
    pub content: String,
    pub lead_unit: UnitCode,
    pub coordinating_units: Vec<UnitCode>,
    /// `None` = không thời hạn (no deadline).
    pub deadline: Option<NaiveDate>,
    pub priority: Priority,
    /// Business date of the assignment (Asia/Ho_Chi_Minh).
    pub assigned_on: NaiveDate,
}

/// Who asks for a reassignment. The application's authorisation table decides who counts as
/// [`Requester::Authority`] (the issuing leader, the Office, an administrator); any other unit
/// user is [`Requester::Unit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    Authority,
    Unit(UnitCode),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskCommand {
    Assign(AssignTask),
    Reassign {
        requested_by: Requester,
        new_lead_unit: UnitCode,
        new_coordinating_units: Vec<UnitCode>,
        reason: String,
    },
    ExtendDeadline {
        new_deadline: NaiveDate,
        reason: String,
        /// The approving leader's id; `None` when the Office records it on the leadership's
        /// behalf.
        approved_by_leader: Option<String>,
        /// Business date of the decision.
        today: NaiveDate,
    },
    Cancel {
        reason: String,
    },
}

/// What happened to a task. Every event carries the task id so its payload stands on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskEvent {
    Assigned {
        task_id: TaskId,
        issuer: Issuer,
        source_document: SourceDocument,
        title: String,
        content: String,
        lead_unit: UnitCode,
        coordinating_units: Vec<UnitCode>,
        deadline: Option<NaiveDate>,
        priority: Priority,
        assigned_on: NaiveDate,
    },
    Reassigned {
        task_id: TaskId,
        previous_lead_unit: UnitCode,
        new_lead_unit: UnitCode,
        previous_coordinating_units: Vec<UnitCode>,
        new_coordinating_units: Vec<UnitCode>,
        reason: String,
    },
    /// The lead unit tried to hand the task to another unit (rule 2); nothing changed.
    HandOffRefused {
        task_id: TaskId,
        lead_unit: UnitCode,
        requested_lead_unit: UnitCode,
        reason_given: String,
    },
    DeadlineExtended {
        task_id: TaskId,
        previous_deadline: Option<NaiveDate>,
        new_deadline: NaiveDate,
        reason: String,
        approved_by_leader: Option<String>,
    },
    Cancelled {
        task_id: TaskId,
        reason: String,
    },
}

impl TaskEvent {
    pub fn task_id(&self) -> TaskId {
        match self {
            TaskEvent::Assigned { task_id, .. }
            | TaskEvent::Reassigned { task_id, .. }
            | TaskEvent::HandOffRefused { task_id, .. }
            | TaskEvent::DeadlineExtended { task_id, .. }
            | TaskEvent::Cancelled { task_id, .. } => *task_id,
        }
    }

    /// A recorded refusal: the application stores it, then answers FAILED_PRECONDITION with
    /// [`HAND_OFF_RULE`].
    pub fn is_hand_off_refused(&self) -> bool {
        matches!(self, TaskEvent::HandOffRefused { .. })
    }
}

impl From<&AssignTask> for TaskEvent {
    fn from(command: &AssignTask) -> Self {
        let command = command.clone();
        TaskEvent::Assigned {
            task_id: command.task_id,
            issuer: command.issuer,
            source_document: command.source_document,
            title: command.title,
            content: command.content,
            lead_unit: command.lead_unit,
            coordinating_units: command.coordinating_units,
            deadline: command.deadline,
            priority: command.priority,
            assigned_on: command.assigned_on,
        }
    }
}

/// Why a task command was refused; each message cites the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error("task not found: no task with this id has been assigned")]
    NotFound,
    #[error(
        "the task is already assigned: a task is assigned once; to change its lead unit, the \
         issuing authority reassigns it"
    )]
    AlreadyAssigned,
    #[error("the task is cancelled: a cancelled task can no longer be changed")]
    Cancelled,
    #[error(
        "unit {unit} is not the lead unit of this task: only the issuing authority, or the \
         Office on its behalf, may reassign a task"
    )]
    NotLeadUnit { unit: UnitCode },
    #[error("{unit} already leads this task: a reassignment must name a different lead unit")]
    SameLeadUnit { unit: UnitCode },
    #[error("the task has no deadline (không thời hạn): there is no deadline to extend")]
    ExtensionWithoutDeadline,
    #[error(
        "an extension must move the deadline later: the new deadline {requested} is not after \
         the current deadline {current}"
    )]
    ExtensionNotLater {
        current: NaiveDate,
        requested: NaiveDate,
    },
    #[error(
        "rule 4: a deadline extension (gia hạn) must be decided on or before the current \
         deadline ({deadline}); the deadline has passed, so the task is overdue and its \
         lateness stands"
    )]
    ExtensionAfterDeadline { deadline: NaiveDate },
    #[error(
        "{unit} cannot both lead and coordinate the task: every task has exactly one lead unit \
         (chủ trì), distinct from its coordinating units (phối hợp)"
    )]
    LeadUnitAlsoCoordinating { unit: UnitCode },
    #[error("a reason is required: reassignments, extensions and cancellations are justified")]
    ReasonRequired,
}

/// The decision state of an assigned task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    pub task_id: TaskId,
    pub issuer: Issuer,
    pub status: TaskStatus,
    pub lead_unit: UnitCode,
    pub coordinating_units: Vec<UnitCode>,
    /// The deadline valid now; `None` = không thời hạn.
    pub deadline: Option<NaiveDate>,
    /// The deadline set at assignment.
    pub original_deadline: Option<NaiveDate>,
    pub assigned_on: NaiveDate,
    pub refused_hand_off_attempts: u32,
    pub extensions: u32,
    pub reassignments: u32,
}

/// The task aggregate (stream type `"task"`, stream id = task id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Task {
    state: Option<TaskState>,
}

impl Task {
    /// `None` until the task is assigned.
    pub fn state(&self) -> Option<&TaskState> {
        self.state.as_ref()
    }

    fn live_state(&self) -> Result<&TaskState, TaskError> {
        let state = self.state.as_ref().ok_or(TaskError::NotFound)?;
        if state.status == TaskStatus::Cancelled {
            return Err(TaskError::Cancelled);
        }
        Ok(state)
    }

    fn assign(&self, command: &AssignTask) -> Result<Vec<TaskEvent>, TaskError> {
        if self.state.is_some() {
            return Err(TaskError::AlreadyAssigned);
        }
        ensure_lead_not_coordinating(&command.lead_unit, &command.coordinating_units)?;
        Ok(vec![TaskEvent::from(command)])
    }

    fn reassign(
        &self,
        requested_by: &Requester,
        new_lead_unit: &UnitCode,
        new_coordinating_units: &[UnitCode],
        reason: &str,
    ) -> Result<Vec<TaskEvent>, TaskError> {
        let state = self.live_state()?;
        if let Requester::Unit(unit) = requested_by
            && unit != &state.lead_unit
        {
            return Err(TaskError::NotLeadUnit { unit: unit.clone() });
        }
        if new_lead_unit == &state.lead_unit {
            return Err(TaskError::SameLeadUnit {
                unit: new_lead_unit.clone(),
            });
        }
        if let Requester::Unit(lead_unit) = requested_by {
            return Ok(vec![TaskEvent::HandOffRefused {
                task_id: state.task_id,
                lead_unit: lead_unit.clone(),
                requested_lead_unit: new_lead_unit.clone(),
                reason_given: reason.to_owned(),
            }]);
        }
        ensure_reason(reason)?;
        ensure_lead_not_coordinating(new_lead_unit, new_coordinating_units)?;
        Ok(vec![TaskEvent::Reassigned {
            task_id: state.task_id,
            previous_lead_unit: state.lead_unit.clone(),
            new_lead_unit: new_lead_unit.clone(),
            previous_coordinating_units: state.coordinating_units.clone(),
            new_coordinating_units: new_coordinating_units.to_vec(),
            reason: reason.to_owned(),
        }])
    }

    fn extend_deadline(
        &self,
        new_deadline: NaiveDate,
        reason: &str,
        approved_by_leader: Option<&String>,
        today: NaiveDate,
    ) -> Result<Vec<TaskEvent>, TaskError> {
        let state = self.live_state()?;
        let deadline = state.deadline.ok_or(TaskError::ExtensionWithoutDeadline)?;
        if today > deadline {
            return Err(TaskError::ExtensionAfterDeadline { deadline });
        }
        if new_deadline <= deadline {
            return Err(TaskError::ExtensionNotLater {
                current: deadline,
                requested: new_deadline,
            });
        }
        ensure_reason(reason)?;
        Ok(vec![TaskEvent::DeadlineExtended {
            task_id: state.task_id,
            previous_deadline: Some(deadline),
            new_deadline,
            reason: reason.to_owned(),
            approved_by_leader: approved_by_leader.cloned(),
        }])
    }

    fn cancel(&self, reason: &str) -> Result<Vec<TaskEvent>, TaskError> {
        let state = self.live_state()?;
        ensure_reason(reason)?;
        Ok(vec![TaskEvent::Cancelled {
            task_id: state.task_id,
            reason: reason.to_owned(),
        }])
    }
}

fn ensure_reason(reason: &str) -> Result<(), TaskError> {
    if reason.trim().is_empty() {
        return Err(TaskError::ReasonRequired);
    }
    Ok(())
}

fn ensure_lead_not_coordinating(
    lead_unit: &UnitCode,
    coordinating_units: &[UnitCode],
) -> Result<(), TaskError> {
    if coordinating_units.contains(lead_unit) {
        return Err(TaskError::LeadUnitAlsoCoordinating {
            unit: lead_unit.clone(),
        });
    }
    Ok(())
}

impl Aggregate for Task {
    const TYPE: &'static str = "task";
    type Command = TaskCommand;
    type Event = TaskEvent;
    type Error = TaskError;

    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error> {
        match command {
            TaskCommand::Assign(assign) => self.assign(assign),
            TaskCommand::Reassign {
                requested_by,
                new_lead_unit,
                new_coordinating_units,
                reason,
            } => self.reassign(requested_by, new_lead_unit, new_coordinating_units, reason),
            TaskCommand::ExtendDeadline {
                new_deadline,
                reason,
                approved_by_leader,
                today,
            } => self.extend_deadline(*new_deadline, reason, approved_by_leader.as_ref(), *today),
            TaskCommand::Cancel { reason } => self.cancel(reason),
        }
    }

    fn apply(&mut self, event: &Self::Event) {
        if let TaskEvent::Assigned {
            task_id,
            issuer,
            lead_unit,
            coordinating_units,
            deadline,
            assigned_on,
            ..
        } = event
        {
            self.state = Some(TaskState {
                task_id: *task_id,
                issuer: issuer.clone(),
                status: TaskStatus::Assigned,
                lead_unit: lead_unit.clone(),
                coordinating_units: coordinating_units.clone(),
                deadline: *deadline,
                original_deadline: *deadline,
                assigned_on: *assigned_on,
                refused_hand_off_attempts: 0,
                extensions: 0,
                reassignments: 0,
            });
            return;
        }
        let Some(state) = self.state.as_mut() else {
            return;
        };
        match event {
            TaskEvent::Assigned { .. } => {}
            TaskEvent::Reassigned {
                new_lead_unit,
                new_coordinating_units,
                ..
            } => {
                state.lead_unit = new_lead_unit.clone();
                state.coordinating_units = new_coordinating_units.clone();
                state.reassignments += 1;
            }
            TaskEvent::HandOffRefused { .. } => state.refused_hand_off_attempts += 1,
            TaskEvent::DeadlineExtended { new_deadline, .. } => {
                state.deadline = Some(*new_deadline);
                state.extensions += 1;
            }
            TaskEvent::Cancelled { .. } => state.status = TaskStatus::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IssuerKind;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn code(raw: &str) -> UnitCode {
        UnitCode::parse(raw).expect("valid code")
    }

    fn task_id() -> TaskId {
        TaskId::from_uuid(uuid::Uuid::from_u128(7))
    }

    fn assign_command() -> AssignTask {
        AssignTask {
            task_id: task_id(),
            issuer: Issuer {
                kind: IssuerKind::ViceChairman,
                leader_id: Some("nguyen-van-a".into()),
                leader_name: Some("Nguyễn Văn A".into()),
            },
            source_document: SourceDocument {
                number: "1234".into(),
                symbol: "UBND-VP".into(),
                date: date(2025, 8, 1),
                summary: "Về việc triển khai chuyển đổi số".into(),
            },
            title: "Xây dựng kế hoạch chuyển đổi số".into(),
            content: "Chủ trì xây dựng kế hoạch, báo cáo UBND thành phố.".into(),
            lead_unit: code("SKHCN"),
            coordinating_units: vec![code("STC"), code("SNV")],
            deadline: Some(date(2025, 9, 30)),
            priority: Priority::Urgent,
            assigned_on: date(2025, 8, 2),
        }
    }

    fn assigned() -> TaskEvent {
        TaskEvent::from(&assign_command())
    }

    fn given(events: &[TaskEvent]) -> Task {
        Task::from_events(events)
    }

    fn reassign(requested_by: Requester, to: &str, reason: &str) -> TaskCommand {
        TaskCommand::Reassign {
            requested_by,
            new_lead_unit: code(to),
            new_coordinating_units: vec![code("SNV")],
            reason: reason.into(),
        }
    }

    fn extend(new_deadline: NaiveDate, today: NaiveDate) -> TaskCommand {
        TaskCommand::ExtendDeadline {
            new_deadline,
            reason: "Chờ ý kiến của Bộ".into(),
            approved_by_leader: Some("nguyen-van-a".into()),
            today,
        }
    }

    fn cancelled() -> TaskEvent {
        TaskEvent::Cancelled {
            task_id: task_id(),
            reason: "Văn bản bị thu hồi".into(),
        }
    }

    // --- assignment ---------------------------------------------------------------------------

    #[test]
    fn a_new_task_is_assigned() {
        let task = given(&[]);

        let events = task
            .decide(&TaskCommand::Assign(assign_command()))
            .expect("accepted");

        assert_eq!(events, [assigned()]);
    }

    #[test]
    fn an_assigned_task_keeps_its_lead_units_and_original_deadline() {
        let task = given(&[assigned()]);

        let state = task.state().expect("assigned");

        assert_eq!(state.status, TaskStatus::Assigned);
        assert_eq!(state.lead_unit, code("SKHCN"));
        assert_eq!(state.coordinating_units, [code("STC"), code("SNV")]);
        assert_eq!(state.deadline, Some(date(2025, 9, 30)));
        assert_eq!(state.original_deadline, Some(date(2025, 9, 30)));
    }

    #[test]
    fn a_task_cannot_be_assigned_twice() {
        let task = given(&[assigned()]);

        let error = task
            .decide(&TaskCommand::Assign(assign_command()))
            .expect_err("refused");

        assert_eq!(error, TaskError::AlreadyAssigned);
    }

    #[test]
    fn the_lead_unit_cannot_also_coordinate_at_assignment() {
        let mut command = assign_command();
        command.coordinating_units.push(code("SKHCN"));

        let error = given(&[])
            .decide(&TaskCommand::Assign(command))
            .expect_err("refused");

        assert_eq!(
            error,
            TaskError::LeadUnitAlsoCoordinating {
                unit: code("SKHCN")
            }
        );
    }

    #[test]
    fn commands_on_a_task_never_assigned_are_not_found() {
        let task = given(&[]);

        for command in [
            reassign(Requester::Authority, "STC", "x"),
            extend(date(2025, 10, 30), date(2025, 9, 1)),
            TaskCommand::Cancel { reason: "x".into() },
        ] {
            assert_eq!(task.decide(&command), Err(TaskError::NotFound));
        }
    }

    // --- rule 2: reassignment and refused hand-offs -------------------------------------------

    #[test]
    fn lead_unit_hand_off_is_recorded_as_refused_not_applied() {
        let task = given(&[assigned()]);

        let events = task
            .decide(&reassign(
                Requester::Unit(code("SKHCN")),
                "STC",
                "Không thuộc chức năng của Sở",
            ))
            .expect("recorded, not an error");

        assert_eq!(
            events,
            [TaskEvent::HandOffRefused {
                task_id: task_id(),
                lead_unit: code("SKHCN"),
                requested_lead_unit: code("STC"),
                reason_given: "Không thuộc chức năng của Sở".into(),
            }]
        );
        assert!(events[0].is_hand_off_refused());
    }

    #[test]
    fn a_refused_hand_off_leaves_the_lead_unit_in_charge_and_is_counted() {
        let refusal = TaskEvent::HandOffRefused {
            task_id: task_id(),
            lead_unit: code("SKHCN"),
            requested_lead_unit: code("STC"),
            reason_given: String::new(),
        };

        let task = given(&[assigned(), refusal.clone(), refusal]);

        let state = task.state().expect("assigned");
        assert_eq!(state.lead_unit, code("SKHCN"));
        assert_eq!(state.refused_hand_off_attempts, 2);
    }

    #[test]
    fn a_hand_off_without_a_reason_is_still_recorded() {
        let task = given(&[assigned()]);

        let events = task
            .decide(&reassign(Requester::Unit(code("SKHCN")), "STC", ""))
            .expect("recorded");

        assert!(events[0].is_hand_off_refused());
    }

    #[test]
    fn the_hand_off_rule_cites_the_rule_in_english_and_vietnamese() {
        assert!(HAND_OFF_RULE.contains("(đơn vị chủ trì) may not propose handing it to another"));
        assert!(HAND_OFF_RULE.contains("report them to the City People's Committee leadership"));
        assert!(
            HAND_OFF_RULE.contains("đơn vị không được đề xuất giao lại cho cơ quan, đơn vị khác")
        );
        assert!(HAND_OFF_RULE.contains("khó khăn, vướng mắc phải đề xuất, báo cáo lãnh đạo"));
    }

    #[test]
    fn authority_reassigns_with_reason() {
        let task = given(&[assigned()]);

        let events = task
            .decide(&reassign(
                Requester::Authority,
                "STC",
                "Theo chỉ đạo của Chủ tịch",
            ))
            .expect("accepted");

        assert_eq!(
            events,
            [TaskEvent::Reassigned {
                task_id: task_id(),
                previous_lead_unit: code("SKHCN"),
                new_lead_unit: code("STC"),
                previous_coordinating_units: vec![code("STC"), code("SNV")],
                new_coordinating_units: vec![code("SNV")],
                reason: "Theo chỉ đạo của Chủ tịch".into(),
            }]
        );
    }

    #[test]
    fn a_reassigned_task_has_its_new_lead_unit() {
        let reassigned = TaskEvent::Reassigned {
            task_id: task_id(),
            previous_lead_unit: code("SKHCN"),
            new_lead_unit: code("SNV"),
            previous_coordinating_units: vec![code("STC"), code("SNV")],
            new_coordinating_units: vec![code("STC")],
            reason: "Theo chỉ đạo".into(),
        };

        let task = given(&[assigned(), reassigned]);

        let state = task.state().expect("assigned");
        assert_eq!(state.lead_unit, code("SNV"));
        assert_eq!(state.coordinating_units, [code("STC")]);
        assert_eq!(state.reassignments, 1);
    }

    #[test]
    fn authority_reassignment_needs_a_reason() {
        let task = given(&[assigned()]);

        let error = task
            .decide(&reassign(Requester::Authority, "STC", "  "))
            .expect_err("refused");

        assert_eq!(error, TaskError::ReasonRequired);
    }

    #[test]
    fn a_unit_that_does_not_lead_the_task_cannot_reassign_it() {
        let task = given(&[assigned()]);

        let error = task
            .decide(&reassign(Requester::Unit(code("STC")), "SYT", "x"))
            .expect_err("refused");

        assert_eq!(error, TaskError::NotLeadUnit { unit: code("STC") });
    }

    #[test]
    fn reassigning_to_the_current_lead_unit_is_refused() {
        let task = given(&[assigned()]);

        let error = task
            .decide(&reassign(Requester::Authority, "SKHCN", "x"))
            .expect_err("refused");

        assert_eq!(
            error,
            TaskError::SameLeadUnit {
                unit: code("SKHCN")
            }
        );
    }

    #[test]
    fn the_new_lead_unit_cannot_also_coordinate() {
        let task = given(&[assigned()]);
        let command = TaskCommand::Reassign {
            requested_by: Requester::Authority,
            new_lead_unit: code("STC"),
            new_coordinating_units: vec![code("STC")],
            reason: "x".into(),
        };

        let error = task.decide(&command).expect_err("refused");

        assert_eq!(
            error,
            TaskError::LeadUnitAlsoCoordinating { unit: code("STC") }
        );
    }

    // --- rule 4: deadline extensions ----------------------------------------------------------

    #[test]
    fn an_extension_decided_before_the_deadline_moves_it_later() {
        let task = given(&[assigned()]);

        let events = task
            .decide(&extend(date(2025, 10, 31), date(2025, 9, 20)))
            .expect("accepted");

        assert_eq!(
            events,
            [TaskEvent::DeadlineExtended {
                task_id: task_id(),
                previous_deadline: Some(date(2025, 9, 30)),
                new_deadline: date(2025, 10, 31),
                reason: "Chờ ý kiến của Bộ".into(),
                approved_by_leader: Some("nguyen-van-a".into()),
            }]
        );
    }

    #[test]
    fn an_extension_on_the_deadline_day_is_still_in_time() {
        let task = given(&[assigned()]);

        let result = task.decide(&extend(date(2025, 10, 31), date(2025, 9, 30)));

        assert!(result.is_ok());
    }

    #[test]
    fn extension_after_the_deadline_is_refused() {
        let task = given(&[assigned()]);

        let error = task
            .decide(&extend(date(2025, 10, 31), date(2025, 10, 1)))
            .expect_err("refused");

        assert_eq!(
            error,
            TaskError::ExtensionAfterDeadline {
                deadline: date(2025, 9, 30)
            }
        );
        assert!(error.to_string().contains("rule 4"));
    }

    #[test]
    fn an_extension_must_move_the_deadline_later() {
        let task = given(&[assigned()]);

        let error = task
            .decide(&extend(date(2025, 9, 30), date(2025, 9, 1)))
            .expect_err("refused");

        assert!(matches!(error, TaskError::ExtensionNotLater { .. }));
    }

    #[test]
    fn a_task_without_a_deadline_cannot_be_extended() {
        let mut command = assign_command();
        command.deadline = None;
        let task = given(&[TaskEvent::from(&command)]);

        let error = task
            .decide(&extend(date(2025, 10, 31), date(2025, 9, 1)))
            .expect_err("refused");

        assert_eq!(error, TaskError::ExtensionWithoutDeadline);
    }

    #[test]
    fn an_extension_needs_a_reason() {
        let task = given(&[assigned()]);
        let command = TaskCommand::ExtendDeadline {
            new_deadline: date(2025, 10, 31),
            reason: String::new(),
            approved_by_leader: None,
            today: date(2025, 9, 1),
        };

        assert_eq!(task.decide(&command), Err(TaskError::ReasonRequired));
    }

    #[test]
    fn an_extended_task_keeps_its_original_deadline() {
        let extended = TaskEvent::DeadlineExtended {
            task_id: task_id(),
            previous_deadline: Some(date(2025, 9, 30)),
            new_deadline: date(2025, 10, 31),
            reason: "x".into(),
            approved_by_leader: None,
        };

        let task = given(&[assigned(), extended]);

        let state = task.state().expect("assigned");
        assert_eq!(state.deadline, Some(date(2025, 10, 31)));
        assert_eq!(state.original_deadline, Some(date(2025, 9, 30)));
        assert_eq!(state.extensions, 1);
    }

    #[test]
    fn a_second_extension_is_judged_against_the_extended_deadline() {
        let extended = TaskEvent::DeadlineExtended {
            task_id: task_id(),
            previous_deadline: Some(date(2025, 9, 30)),
            new_deadline: date(2025, 10, 31),
            reason: "x".into(),
            approved_by_leader: None,
        };
        let task = given(&[assigned(), extended]);

        let result = task.decide(&extend(date(2025, 11, 30), date(2025, 10, 15)));

        assert!(result.is_ok());
    }

    // --- cancellation -------------------------------------------------------------------------

    #[test]
    fn a_task_is_cancelled_with_a_reason() {
        let task = given(&[assigned()]);

        let events = task
            .decide(&TaskCommand::Cancel {
                reason: "Văn bản bị thu hồi".into(),
            })
            .expect("accepted");

        assert_eq!(events, [cancelled()]);
        assert_eq!(
            given(&[assigned(), cancelled()]).state().map(|s| s.status),
            Some(TaskStatus::Cancelled)
        );
    }

    #[test]
    fn cancelling_needs_a_reason() {
        let task = given(&[assigned()]);

        let error = task
            .decide(&TaskCommand::Cancel { reason: " ".into() })
            .expect_err("refused");

        assert_eq!(error, TaskError::ReasonRequired);
    }

    #[test]
    fn a_cancelled_task_cannot_be_changed() {
        let task = given(&[assigned(), cancelled()]);

        for command in [
            reassign(Requester::Authority, "STC", "x"),
            reassign(Requester::Unit(code("SKHCN")), "STC", "x"),
            extend(date(2025, 10, 31), date(2025, 9, 1)),
            TaskCommand::Cancel { reason: "x".into() },
        ] {
            assert_eq!(task.decide(&command), Err(TaskError::Cancelled));
        }
    }
}
