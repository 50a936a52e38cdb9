//! The task aggregate: assignment, reassignment, deadline extensions, cancellation.
//!
//! Rules enforced here (design.md §2):
//! 1. every task has exactly one lead unit (chủ trì), zero or more coordinating units (phối
//!    hợp), an origin (where it comes from), an assignment (who assigned it in the city, with
//!    the city's document) and either a deadline or "no deadline";
//! 2. the lead unit may not hand the task to another unit: its request is *recorded* as a
//!    refused hand-off (evidence for discipline proposals) and answered with [`HAND_OFF_RULE`];
//!    only the issuing authority, or the Office on its behalf, reassigns, with a reason;
//! 4. deadlines change only by an approved extension **requested** on or before the deadline
//!    valid that day; the decision may come later. The request date, the approver, the
//!    previous and the new deadline are kept, and so is a rejected request.

use std::fmt;

use chrono::NaiveDate;
use dondoc_eventsourcing::Aggregate;

use crate::domain::values::{Assignment, Origin, Priority, TaskId, UnitCode, format_date};

/// The answer to a lead unit that tries to hand its task to another unit (rule 2).
pub const HAND_OFF_RULE: &str = "Refused under the working regulation of the City \
People's Committee (dondoc rule 2): a unit assigned to lead a task (đơn vị chủ trì) may not \
propose handing it to another agency or unit. If it meets difficulties or obstacles (khó khăn, \
vướng mắc), it must report them to the City People's Committee leadership for direction (chỉ \
đạo); only the issuing authority, or the Office on its behalf, may reassign the task. This \
request has been recorded.";

/// The same rule as the Office words it in Vietnamese.
pub const HAND_OFF_RULE_VI: &str = "Từ chối theo Quy chế làm việc của UBND thành phố: khi được \
giao nhiệm vụ chủ trì, đơn vị không được đề xuất giao lại cho cơ quan, đơn vị khác; nếu có khó \
khăn, vướng mắc phải đề xuất, báo cáo lãnh đạo UBND thành phố chỉ đạo thực hiện. Chỉ cơ quan, \
người giao nhiệm vụ (hoặc Văn phòng thay mặt) mới được giao lại nhiệm vụ. Yêu cầu này đã được \
ghi nhận.";

/// Lifecycle of a task. `Assigned` and `Cancelled` are reached here; the others by the
/// progress service's execution, review and confirmation.
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

    /// Whether the task's work has ended (nothing about it can change any more).
    pub fn is_closed(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Cancelled)
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
    pub origin: Origin,
    pub assignment: Assignment,
    pub title: String,
    pub content: String,
    pub lead_unit: UnitCode,
    pub coordinating_units: Vec<UnitCode>,
    /// `None` = không thời hạn (no deadline).
    pub deadline: Option<NaiveDate>,
    pub priority: Priority,
    /// Business date of the assignment (Asia/Ho_Chi_Minh).
    pub assigned_on: NaiveDate,
    /// The Vice-Chairman supervising the lead unit on `assigned_on`.
    pub supervising_leader_id: Option<String>,
    /// Why a historical record is imported (`None` for a task assigned today).
    pub historical: Option<String>,
}

/// Who asks for a reassignment. The application's authorisation table decides who counts as
/// [`Requester::Authority`] (the issuing leader, the Office, an administrator); any other unit
/// user is [`Requester::Unit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    Authority,
    Unit(UnitCode),
}

/// A leader's decision on a requested extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionDecision {
    /// Approve; `None` grants the deadline that was proposed.
    Approve {
        new_deadline: Option<NaiveDate>,
    },
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one command lives for one request; boxing the assignment would only add noise"
)]
pub enum TaskCommand {
    Assign(AssignTask),
    Reassign {
        requested_by: Requester,
        new_lead_unit: UnitCode,
        new_coordinating_units: Vec<UnitCode>,
        reason: String,
        /// The Vice-Chairman supervising the new lead unit today.
        supervising_leader_id: Option<String>,
    },
    /// A request for a later deadline (đề nghị gia hạn).
    RequestExtension {
        extension_id: String,
        requested_on: NaiveDate,
        proposed_deadline: NaiveDate,
        reason: String,
        requested_by_unit: Option<UnitCode>,
    },
    /// The leader's decision on a pending request.
    DecideExtension {
        extension_id: String,
        decision: ExtensionDecision,
        leader_id: String,
        reason: Option<String>,
        decided_on: NaiveDate,
    },
    /// A request and its approval recorded together (the Office on a leader's behalf), or a
    /// first deadline for a task without one.
    ExtendDeadline {
        new_deadline: NaiveDate,
        reason: String,
        approved_by_leader: String,
        requested_on: NaiveDate,
        decided_on: NaiveDate,
    },
    Cancel {
        reason: String,
    },
}

/// What happened to a task. Every event carries the task id so its payload stands on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a task has one Assigned event and a handful of others; the size is never multiplied"
)]
pub enum TaskEvent {
    Assigned {
        task_id: TaskId,
        origin: Origin,
        assignment: Assignment,
        title: String,
        content: String,
        lead_unit: UnitCode,
        coordinating_units: Vec<UnitCode>,
        deadline: Option<NaiveDate>,
        priority: Priority,
        assigned_on: NaiveDate,
        supervising_leader_id: Option<String>,
        /// The import reason of a historical record.
        historical: Option<String>,
    },
    Reassigned {
        task_id: TaskId,
        previous_lead_unit: UnitCode,
        new_lead_unit: UnitCode,
        previous_coordinating_units: Vec<UnitCode>,
        new_coordinating_units: Vec<UnitCode>,
        reason: String,
        supervising_leader_id: Option<String>,
    },
    /// The lead unit tried to hand the task to another unit (rule 2); nothing changed.
    HandOffRefused {
        task_id: TaskId,
        lead_unit: UnitCode,
        requested_lead_unit: UnitCode,
        reason_given: String,
    },
    ExtensionRequested {
        task_id: TaskId,
        extension_id: String,
        requested_on: NaiveDate,
        current_deadline: NaiveDate,
        proposed_deadline: NaiveDate,
        reason: String,
        requested_by_unit: Option<UnitCode>,
    },
    DeadlineExtended {
        task_id: TaskId,
        previous_deadline: Option<NaiveDate>,
        new_deadline: NaiveDate,
        reason: String,
        approved_by_leader: Option<String>,
        /// `None` on events recorded before the request date was kept.
        requested_on: Option<NaiveDate>,
        extension_id: Option<String>,
        requested_by_unit: Option<UnitCode>,
        decided_on: Option<NaiveDate>,
    },
    ExtensionRejected {
        task_id: TaskId,
        extension_id: String,
        requested_on: NaiveDate,
        decided_on: NaiveDate,
        rejected_by_leader: String,
        reason: String,
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
            | TaskEvent::ExtensionRequested { task_id, .. }
            | TaskEvent::DeadlineExtended { task_id, .. }
            | TaskEvent::ExtensionRejected { task_id, .. }
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
            origin: command.origin,
            assignment: command.assignment,
            title: command.title,
            content: command.content,
            lead_unit: command.lead_unit,
            coordinating_units: command.coordinating_units,
            deadline: command.deadline,
            priority: command.priority,
            assigned_on: command.assigned_on,
            supervising_leader_id: command.supervising_leader_id,
            historical: command.historical,
        }
    }
}

/// Why a task command was refused; each message cites the rule. [`TaskError::reason`] is the
/// machine-readable name of the rule (`google.rpc.ErrorInfo.reason`), and
/// [`TaskError::message_vi`] says the same in Vietnamese.
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
        "rule 4: a deadline extension (gia hạn) must be requested on or before the deadline \
         valid on the day of the request; requested on {requested_on}, after the deadline \
         {deadline}, so the task is overdue and its lateness stands"
    )]
    ExtensionRequestedAfterDeadline {
        deadline: NaiveDate,
        requested_on: NaiveDate,
    },
    #[error("extension {extension_id} is still pending: decide it before another is requested")]
    ExtensionAlreadyPending { extension_id: String },
    #[error("no pending extension request {extension_id} on this task")]
    ExtensionNotPending { extension_id: String },
    #[error(
        "a decision cannot come before the request: requested on {requested_on}, decided on \
         {decided_on}"
    )]
    DecisionBeforeRequest {
        requested_on: NaiveDate,
        decided_on: NaiveDate,
    },
    #[error(
        "a deadline cannot be set in the past: {deadline} is before today ({today}); a task is \
         given a deadline that can still be met"
    )]
    DeadlineInThePast {
        deadline: NaiveDate,
        today: NaiveDate,
    },
    #[error(
        "{unit} cannot both lead and coordinate the task: every task has exactly one lead unit \
         (chủ trì), distinct from its coordinating units (phối hợp)"
    )]
    LeadUnitAlsoCoordinating { unit: UnitCode },
    #[error("a reason is required: reassignments, extensions and cancellations are justified")]
    ReasonRequired,
}

impl TaskError {
    /// The rule's name, for `google.rpc.ErrorInfo.reason` (UPPER_SNAKE_CASE, stable).
    pub fn reason(&self) -> &'static str {
        match self {
            TaskError::NotFound => "TASK_NOT_FOUND",
            TaskError::AlreadyAssigned => "TASK_ALREADY_ASSIGNED",
            TaskError::Cancelled => "TASK_CANCELLED",
            TaskError::NotLeadUnit { .. } => "NOT_LEAD_UNIT",
            TaskError::SameLeadUnit { .. } => "SAME_LEAD_UNIT",
            TaskError::ExtensionWithoutDeadline => "EXTENSION_WITHOUT_DEADLINE",
            TaskError::ExtensionNotLater { .. } => "EXTENSION_NOT_LATER",
            TaskError::ExtensionRequestedAfterDeadline { .. } => {
                "EXTENSION_REQUESTED_AFTER_DEADLINE"
            }
            TaskError::ExtensionAlreadyPending { .. } => "EXTENSION_ALREADY_PENDING",
            TaskError::ExtensionNotPending { .. } => "EXTENSION_NOT_PENDING",
            TaskError::DecisionBeforeRequest { .. } => "DECISION_BEFORE_REQUEST",
            TaskError::DeadlineInThePast { .. } => "DEADLINE_IN_THE_PAST",
            TaskError::LeadUnitAlsoCoordinating { .. } => "LEAD_UNIT_ALSO_COORDINATING",
            TaskError::ReasonRequired => "REASON_REQUIRED",
        }
    }

    /// The same refusal in Vietnamese, as the Office words it.
    pub fn message_vi(&self) -> String {
        let d = |date: &NaiveDate| date.format("%d/%m/%Y").to_string();
        match self {
            TaskError::NotFound => "Không tìm thấy nhiệm vụ.".into(),
            TaskError::AlreadyAssigned => {
                "Nhiệm vụ đã được giao; muốn đổi đơn vị chủ trì, cơ quan giao nhiệm vụ giao lại."
                    .into()
            }
            TaskError::Cancelled => "Nhiệm vụ đã hủy, không thể thay đổi.".into(),
            TaskError::NotLeadUnit { unit } => format!(
                "{unit} không phải đơn vị chủ trì nhiệm vụ này; chỉ cơ quan, người giao nhiệm vụ \
                 (hoặc Văn phòng thay mặt) được giao lại."
            ),
            TaskError::SameLeadUnit { unit } => {
                format!("{unit} đang chủ trì nhiệm vụ; giao lại phải nêu đơn vị khác.")
            }
            TaskError::ExtensionWithoutDeadline => {
                "Nhiệm vụ không có thời hạn, không có hạn để gia hạn.".into()
            }
            TaskError::ExtensionNotLater { current, requested } => format!(
                "Thời hạn mới {} phải sau thời hạn hiện tại {}.",
                d(requested),
                d(current)
            ),
            TaskError::ExtensionRequestedAfterDeadline {
                deadline,
                requested_on,
            } => format!(
                "Quy tắc 4: đề nghị gia hạn phải gửi trước hoặc trong ngày hết hạn; đề nghị ngày \
                 {} sau thời hạn {} nên nhiệm vụ đã quá hạn.",
                d(requested_on),
                d(deadline)
            ),
            TaskError::ExtensionAlreadyPending { .. } => {
                "Đang có đề nghị gia hạn chờ quyết định.".into()
            }
            TaskError::ExtensionNotPending { .. } => {
                "Không có đề nghị gia hạn này đang chờ quyết định.".into()
            }
            TaskError::DecisionBeforeRequest {
                requested_on,
                decided_on,
            } => format!(
                "Ngày quyết định {} không thể trước ngày đề nghị {}.",
                d(decided_on),
                d(requested_on)
            ),
            TaskError::DeadlineInThePast { deadline, today } => {
                format!("Thời hạn {} đã qua (hôm nay {}).", d(deadline), d(today))
            }
            TaskError::LeadUnitAlsoCoordinating { unit } => format!(
                "{unit} không thể vừa chủ trì vừa phối hợp: mỗi nhiệm vụ có đúng một đơn vị chủ trì."
            ),
            TaskError::ReasonRequired => "Phải nêu lý do.".into(),
        }
    }
}

/// A request waiting for the leader's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingExtension {
    pub extension_id: String,
    pub requested_on: NaiveDate,
    pub proposed_deadline: NaiveDate,
    pub reason: String,
    pub requested_by_unit: Option<UnitCode>,
}

/// The decision state of an assigned task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    pub task_id: TaskId,
    pub assignment: Assignment,
    pub status: TaskStatus,
    pub lead_unit: UnitCode,
    pub coordinating_units: Vec<UnitCode>,
    /// The deadline valid now; `None` = không thời hạn.
    pub deadline: Option<NaiveDate>,
    /// The deadline set at assignment.
    pub original_deadline: Option<NaiveDate>,
    pub assigned_on: NaiveDate,
    /// Each deadline with the business day it took effect (the assignment, then each approval),
    /// so the deadline valid on any day can be told (rule 4).
    pub deadlines: Vec<(NaiveDate, Option<NaiveDate>)>,
    pub pending_extension: Option<PendingExtension>,
    pub refused_hand_off_attempts: u32,
    pub extensions: u32,
    pub reassignments: u32,
}

impl TaskState {
    /// The deadline valid on `date`: the one set by the last change that took effect on or
    /// before it.
    pub fn deadline_valid_on(&self, date: NaiveDate) -> Option<NaiveDate> {
        self.deadlines
            .iter()
            .rev()
            .find(|(from, _)| *from <= date)
            .or(self.deadlines.first())
            .and_then(|(_, deadline)| *deadline)
    }
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
        supervising_leader_id: Option<&String>,
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
            supervising_leader_id: supervising_leader_id.cloned(),
        }])
    }

    /// The deadline valid on the day of a request, if the request came in time (rule 4).
    fn deadline_in_time(
        state: &TaskState,
        requested_on: NaiveDate,
    ) -> Result<NaiveDate, TaskError> {
        let deadline = state
            .deadline_valid_on(requested_on)
            .ok_or(TaskError::ExtensionWithoutDeadline)?;
        if requested_on > deadline {
            return Err(TaskError::ExtensionRequestedAfterDeadline {
                deadline,
                requested_on,
            });
        }
        Ok(deadline)
    }

    fn request_extension(
        &self,
        extension_id: &str,
        requested_on: NaiveDate,
        proposed_deadline: NaiveDate,
        reason: &str,
        requested_by_unit: Option<&UnitCode>,
    ) -> Result<Vec<TaskEvent>, TaskError> {
        let state = self.live_state()?;
        let current = state.deadline.ok_or(TaskError::ExtensionWithoutDeadline)?;
        Self::deadline_in_time(state, requested_on)?;
        if let Some(pending) = &state.pending_extension {
            return Err(TaskError::ExtensionAlreadyPending {
                extension_id: pending.extension_id.clone(),
            });
        }
        if proposed_deadline <= current {
            return Err(TaskError::ExtensionNotLater {
                current,
                requested: proposed_deadline,
            });
        }
        ensure_reason(reason)?;
        Ok(vec![TaskEvent::ExtensionRequested {
            task_id: state.task_id,
            extension_id: extension_id.to_owned(),
            requested_on,
            current_deadline: current,
            proposed_deadline,
            reason: reason.to_owned(),
            requested_by_unit: requested_by_unit.cloned(),
        }])
    }

    fn decide_extension(
        &self,
        extension_id: &str,
        decision: &ExtensionDecision,
        leader_id: &str,
        reason: Option<&String>,
        decided_on: NaiveDate,
    ) -> Result<Vec<TaskEvent>, TaskError> {
        let state = self.live_state()?;
        let pending = state
            .pending_extension
            .as_ref()
            .filter(|p| p.extension_id == extension_id)
            .ok_or_else(|| TaskError::ExtensionNotPending {
                extension_id: extension_id.to_owned(),
            })?;
        if decided_on < pending.requested_on {
            return Err(TaskError::DecisionBeforeRequest {
                requested_on: pending.requested_on,
                decided_on,
            });
        }
        match decision {
            ExtensionDecision::Approve { new_deadline } => {
                let current = state.deadline.ok_or(TaskError::ExtensionWithoutDeadline)?;
                let new_deadline = new_deadline.unwrap_or(pending.proposed_deadline);
                if new_deadline <= current {
                    return Err(TaskError::ExtensionNotLater {
                        current,
                        requested: new_deadline,
                    });
                }
                Ok(vec![TaskEvent::DeadlineExtended {
                    task_id: state.task_id,
                    previous_deadline: Some(current),
                    new_deadline,
                    reason: reason.cloned().unwrap_or_else(|| pending.reason.clone()),
                    approved_by_leader: Some(leader_id.to_owned()),
                    requested_on: Some(pending.requested_on),
                    extension_id: Some(pending.extension_id.clone()),
                    requested_by_unit: pending.requested_by_unit.clone(),
                    decided_on: Some(decided_on),
                }])
            }
            ExtensionDecision::Reject => {
                let reason = reason.ok_or(TaskError::ReasonRequired)?;
                ensure_reason(reason)?;
                Ok(vec![TaskEvent::ExtensionRejected {
                    task_id: state.task_id,
                    extension_id: pending.extension_id.clone(),
                    requested_on: pending.requested_on,
                    decided_on,
                    rejected_by_leader: leader_id.to_owned(),
                    reason: reason.clone(),
                }])
            }
        }
    }

    fn extend_deadline(
        &self,
        new_deadline: NaiveDate,
        reason: &str,
        approved_by_leader: &str,
        requested_on: NaiveDate,
        decided_on: NaiveDate,
    ) -> Result<Vec<TaskEvent>, TaskError> {
        let state = self.live_state()?;
        ensure_reason(reason)?;
        let Some(current) = state.deadline else {
            // A task without a deadline is given one by its assigner: one that can be met.
            if new_deadline < decided_on {
                return Err(TaskError::DeadlineInThePast {
                    deadline: new_deadline,
                    today: decided_on,
                });
            }
            return Ok(vec![TaskEvent::DeadlineExtended {
                task_id: state.task_id,
                previous_deadline: None,
                new_deadline,
                reason: reason.to_owned(),
                approved_by_leader: Some(approved_by_leader.to_owned()),
                requested_on: Some(requested_on),
                extension_id: None,
                requested_by_unit: None,
                decided_on: Some(decided_on),
            }]);
        };
        Self::deadline_in_time(state, requested_on)?;
        if new_deadline <= current {
            return Err(TaskError::ExtensionNotLater {
                current,
                requested: new_deadline,
            });
        }
        Ok(vec![TaskEvent::DeadlineExtended {
            task_id: state.task_id,
            previous_deadline: Some(current),
            new_deadline,
            reason: reason.to_owned(),
            approved_by_leader: Some(approved_by_leader.to_owned()),
            requested_on: Some(requested_on),
            extension_id: None,
            requested_by_unit: None,
            decided_on: Some(decided_on),
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
                supervising_leader_id,
            } => self.reassign(
                requested_by,
                new_lead_unit,
                new_coordinating_units,
                reason,
                supervising_leader_id.as_ref(),
            ),
            TaskCommand::RequestExtension {
                extension_id,
                requested_on,
                proposed_deadline,
                reason,
                requested_by_unit,
            } => self.request_extension(
                extension_id,
                *requested_on,
                *proposed_deadline,
                reason,
                requested_by_unit.as_ref(),
            ),
            TaskCommand::DecideExtension {
                extension_id,
                decision,
                leader_id,
                reason,
                decided_on,
            } => self.decide_extension(
                extension_id,
                decision,
                leader_id,
                reason.as_ref(),
                *decided_on,
            ),
            TaskCommand::ExtendDeadline {
                new_deadline,
                reason,
                approved_by_leader,
                requested_on,
                decided_on,
            } => self.extend_deadline(
                *new_deadline,
                reason,
                approved_by_leader,
                *requested_on,
                *decided_on,
            ),
            TaskCommand::Cancel { reason } => self.cancel(reason),
        }
    }

    fn apply(&mut self, event: &Self::Event) {
        if let TaskEvent::Assigned {
            task_id,
            assignment,
            lead_unit,
            coordinating_units,
            deadline,
            assigned_on,
            ..
        } = event
        {
            self.state = Some(TaskState {
                task_id: *task_id,
                assignment: assignment.clone(),
                status: TaskStatus::Assigned,
                lead_unit: lead_unit.clone(),
                coordinating_units: coordinating_units.clone(),
                deadline: *deadline,
                original_deadline: *deadline,
                assigned_on: *assigned_on,
                deadlines: vec![(*assigned_on, *deadline)],
                pending_extension: None,
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
            TaskEvent::ExtensionRequested {
                extension_id,
                requested_on,
                proposed_deadline,
                reason,
                requested_by_unit,
                ..
            } => {
                state.pending_extension = Some(PendingExtension {
                    extension_id: extension_id.clone(),
                    requested_on: *requested_on,
                    proposed_deadline: *proposed_deadline,
                    reason: reason.clone(),
                    requested_by_unit: requested_by_unit.clone(),
                });
            }
            TaskEvent::DeadlineExtended {
                new_deadline,
                extension_id,
                decided_on,
                ..
            } => {
                // Older events have no decision date; they took effect when recorded, which is
                // at least after the assignment.
                let from = decided_on.unwrap_or(state.assigned_on);
                state.deadlines.push((from, Some(*new_deadline)));
                state.deadline = Some(*new_deadline);
                state.extensions += 1;
                if extension_id.is_some()
                    && state.pending_extension.as_ref().map(|p| &p.extension_id)
                        == extension_id.as_ref()
                {
                    state.pending_extension = None;
                }
            }
            TaskEvent::ExtensionRejected { extension_id, .. } => {
                if state.pending_extension.as_ref().map(|p| &p.extension_id) == Some(extension_id) {
                    state.pending_extension = None;
                }
            }
            TaskEvent::Cancelled { .. } => state.status = TaskStatus::Cancelled,
        }
    }
}

/// `dd/mm/yyyy`, the form of dates in official documents.
pub fn format_date_vi(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

impl fmt::Display for PendingExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requested on {} for {}",
            self.extension_id,
            format_date(self.requested_on),
            format_date(self.proposed_deadline)
        )
    }
}

#[cfg(test)]
mod tests;
