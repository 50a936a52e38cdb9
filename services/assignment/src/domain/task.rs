//! The task write model: assignment, reassignment, deadline extension, cancellation.
//!
//! Rules enforced here (design.md §2):
//! 1. every task has exactly one lead unit (chủ trì), zero or more coordinating units (phối
//!    hợp), an issuer, a source document and either a deadline or "no deadline";
//! 2. the lead unit may not hand the task to another unit: its request is *recorded* as a
//!    refused hand-off (evidence for discipline proposals) and answered with [`HAND_OFF_RULE`];
//!    only the issuing authority, or the Office on its behalf, reassigns, with a reason;
//! 4. deadlines change only by an extension decided on or before the current deadline; the
//!    original deadline is kept.

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;
use dondoc_eventsourcing::Aggregate;

use super::directory::DirectoryVersion;
use super::values::{
    CONTENT_MAX, FieldViolation, Issuer, IssuerKind, LEADER_ID_MAX, Priority, REASON_MAX,
    SourceDocument, TITLE_MAX, TaskId, UnitCode, format_date, parse_date, text,
};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// A validated assignment, built by [`validate_assignment`].
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

// ---------------------------------------------------------------------------------------------
// Validation of raw requests (pure; the application maps protobuf requests to these inputs).

/// An assignment request as received, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignTaskInput {
    /// `None` when the request left the issuer kind unspecified.
    pub issuer_kind: Option<IssuerKind>,
    pub leader_id: String,
    pub leader_name: String,
    pub number: String,
    pub symbol: String,
    pub document_date: String,
    pub summary: String,
    pub title: String,
    pub content: String,
    pub lead_unit: String,
    pub coordinating_units: Vec<String>,
    /// The `deadline` arm of the `term` oneof; a blank string counts as absent.
    pub deadline: Option<String>,
    /// The `no_deadline` arm of the `term` oneof.
    pub no_deadline: bool,
    /// `None` when unspecified; defaults to [`Priority::Normal`].
    pub priority: Option<Priority>,
}

/// Validates an assignment against the directory version valid `today`, collecting every
/// violation. `directory` is `None` when no directory version covers `today`.
pub fn validate_assignment(
    input: &AssignTaskInput,
    directory: Option<&DirectoryVersion>,
    task_id: TaskId,
    today: NaiveDate,
) -> Result<AssignTask, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let issuer = Issuer::parse(input.issuer_kind, &input.leader_id, &input.leader_name)
        .map_err(|v| violations.extend(v))
        .ok();
    let source_document = SourceDocument::parse(
        &input.number,
        &input.symbol,
        &input.document_date,
        &input.summary,
    )
    .map_err(|v| violations.extend(v))
    .ok();
    if let Some(document) = &source_document
        && document.date > today
    {
        violations.push(FieldViolation::new(
            "source_document.date",
            format!(
                "the source document date {} is after today ({}); a task comes from a \
                 document already issued",
                format_date(document.date),
                format_date(today)
            ),
        ));
    }
    let title = text::required(&input.title, TITLE_MAX)
        .map_err(|e| violations.push(e.at("title")))
        .ok();
    let content = text::required(&input.content, CONTENT_MAX)
        .map_err(|e| violations.push(e.at("content")))
        .ok();
    let units = validate_units(
        UnitFields {
            lead: "lead_unit",
            coordinating: "coordinating_units",
        },
        &input.lead_unit,
        &input.coordinating_units,
        directory,
        today,
        &mut violations,
    );
    let deadline = validate_term(input, source_document.as_ref(), &mut violations);

    match (issuer, source_document, title, content, units, deadline) {
        (
            Some(issuer),
            Some(source_document),
            Some(title),
            Some(content),
            Some((lead_unit, coordinating_units)),
            Some(deadline),
        ) if violations.is_empty() => Ok(AssignTask {
            task_id,
            issuer,
            source_document,
            title,
            content,
            lead_unit,
            coordinating_units,
            deadline,
            priority: input.priority.unwrap_or_default(),
            assigned_on: today,
        }),
        _ => Err(violations),
    }
}

/// The `term` oneof: `Some(deadline)` or `Some(None)` for "no deadline"; `None` if invalid.
fn validate_term(
    input: &AssignTaskInput,
    source_document: Option<&SourceDocument>,
    violations: &mut Vec<FieldViolation>,
) -> Option<Option<NaiveDate>> {
    let deadline = input
        .deadline
        .as_deref()
        .filter(|raw| !raw.trim().is_empty());
    match (deadline, input.no_deadline) {
        (None, false) => {
            violations.push(FieldViolation::new(
                "term",
                "give either a deadline (YYYY-MM-DD) or no_deadline (không thời hạn): every \
                 task has one or the other",
            ));
            None
        }
        (Some(_), true) => {
            violations.push(FieldViolation::new(
                "term",
                "give either a deadline or no_deadline, not both",
            ));
            None
        }
        (None, true) => Some(None),
        (Some(raw), false) => {
            let deadline = parse_date(raw)
                .map_err(|e| violations.push(e.at("deadline")))
                .ok()?;
            if let Some(document) = source_document
                && deadline < document.date
            {
                violations.push(FieldViolation::new(
                    "deadline",
                    format!(
                        "the deadline {} is before the source document date {}",
                        format_date(deadline),
                        format_date(document.date)
                    ),
                ));
                return None;
            }
            Some(Some(deadline))
        }
    }
}

struct UnitFields {
    lead: &'static str,
    coordinating: &'static str,
}

/// Validates a lead unit and its coordinating units; `None` if any is invalid.
fn validate_units(
    fields: UnitFields,
    lead_unit: &str,
    coordinating_units: &[String],
    directory: Option<&DirectoryVersion>,
    today: NaiveDate,
    violations: &mut Vec<FieldViolation>,
) -> Option<(UnitCode, Vec<UnitCode>)> {
    let before = violations.len();
    let lead = if lead_unit.trim().is_empty() {
        violations.push(FieldViolation::new(
            fields.lead,
            "the lead unit (đơn vị chủ trì) is required: every task has exactly one lead unit",
        ));
        None
    } else {
        known_unit(fields.lead, lead_unit, directory, today, violations)
    };
    let mut coordinating = Vec::with_capacity(coordinating_units.len());
    let mut first_index_of: HashMap<UnitCode, usize> = HashMap::new();
    let lead_code = UnitCode::parse(lead_unit).ok();
    for (index, raw) in coordinating_units.iter().enumerate() {
        let field = format!("{}[{index}]", fields.coordinating);
        let code = match UnitCode::parse(raw) {
            Ok(code) => code,
            Err(e) => {
                violations.push(e.at(field));
                continue;
            }
        };
        if lead_code.as_ref() == Some(&code) {
            violations.push(FieldViolation::new(
                field,
                format!(
                    "{code} is the lead unit: a unit cannot both lead (chủ trì) and coordinate \
                     (phối hợp) the same task"
                ),
            ));
            continue;
        }
        if let Some(first) = first_index_of.get(&code) {
            violations.push(FieldViolation::new(
                field,
                format!(
                    "{code} is listed twice (also {}[{first}])",
                    fields.coordinating
                ),
            ));
            continue;
        }
        first_index_of.insert(code.clone(), index);
        if let Some(code) = known_unit(&field, raw, directory, today, violations) {
            coordinating.push(code);
        }
    }
    if violations.len() > before {
        return None;
    }
    Some((lead?, coordinating))
}

/// Parses a unit code and checks that the directory valid `today` lists it.
fn known_unit(
    field: &str,
    raw: &str,
    directory: Option<&DirectoryVersion>,
    today: NaiveDate,
    violations: &mut Vec<FieldViolation>,
) -> Option<UnitCode> {
    let code = UnitCode::parse(raw)
        .map_err(|e| violations.push(e.at(field)))
        .ok()?;
    match directory {
        None => {
            violations.push(FieldViolation::new(
                field,
                format!(
                    "unknown unit {code}: no unit directory is loaded for {}; import the unit \
                     directory (ImportUnits) first",
                    format_date(today)
                ),
            ));
            None
        }
        Some(directory) if directory.unit(&code).is_none() => {
            violations.push(FieldViolation::new(
                field,
                format!(
                    "unknown unit {code}: not in the unit directory valid on {} ({})",
                    format_date(today),
                    directory.name
                ),
            ));
            None
        }
        Some(_) => Some(code),
    }
}

/// Validates a reason (lý do): required, at most 2 000 characters; field `reason`.
pub fn validate_reason(raw: &str) -> Result<String, Vec<FieldViolation>> {
    text::required(raw, REASON_MAX).map_err(|e| vec![e.at("reason")])
}

/// Validates a reassignment request (fields `new_lead_unit`, `new_coordinating_units[i]`,
/// `reason`) against the directory valid `today` and builds the command.
pub fn validate_reassignment(
    requested_by: Requester,
    new_lead_unit: &str,
    new_coordinating_units: &[String],
    reason: &str,
    directory: Option<&DirectoryVersion>,
    today: NaiveDate,
) -> Result<TaskCommand, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let units = validate_units(
        UnitFields {
            lead: "new_lead_unit",
            coordinating: "new_coordinating_units",
        },
        new_lead_unit,
        new_coordinating_units,
        directory,
        today,
        &mut violations,
    );
    let reason = validate_reason(reason)
        .map_err(|v| violations.extend(v))
        .ok();
    match (units, reason) {
        (Some((new_lead_unit, new_coordinating_units)), Some(reason)) if violations.is_empty() => {
            Ok(TaskCommand::Reassign {
                requested_by,
                new_lead_unit,
                new_coordinating_units,
                reason,
            })
        }
        _ => Err(violations),
    }
}

/// Validates a deadline extension request (fields `new_deadline`, `reason`,
/// `approved_by_leader_id`; a blank leader id means the Office records it on the leadership's
/// behalf) and builds the command.
pub fn validate_extension(
    new_deadline: &str,
    reason: &str,
    approved_by_leader: &str,
    today: NaiveDate,
) -> Result<TaskCommand, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let new_deadline = parse_date(new_deadline)
        .map_err(|e| violations.push(e.at("new_deadline")))
        .ok();
    let reason = validate_reason(reason)
        .map_err(|v| violations.extend(v))
        .ok();
    let approved_by_leader = text::optional(approved_by_leader, LEADER_ID_MAX)
        .map_err(|e| violations.push(e.at("approved_by_leader_id")))
        .ok();
    match (new_deadline, reason, approved_by_leader) {
        (Some(new_deadline), Some(reason), Some(approved_by_leader)) if violations.is_empty() => {
            Ok(TaskCommand::ExtendDeadline {
                new_deadline,
                reason,
                approved_by_leader,
                today,
            })
        }
        _ => Err(violations),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::directory::parse_directory_toml;

    const SEED: &str = include_str!("../../seed/haiphong-units.toml");

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

    // --- validation ---------------------------------------------------------------------------

    fn directory_2025() -> DirectoryVersion {
        parse_directory_toml(SEED)
            .expect("seed parses")
            .into_iter()
            .find(|v| v.valid_to.is_none())
            .expect("2025 version")
    }

    fn today() -> NaiveDate {
        date(2025, 8, 2)
    }

    fn valid_input() -> AssignTaskInput {
        AssignTaskInput {
            issuer_kind: Some(IssuerKind::ViceChairman),
            leader_id: "nguyen-van-a".into(),
            leader_name: " Nguyễn Văn A ".into(),
            number: "1234".into(),
            symbol: "UBND-VP".into(),
            document_date: "2025-08-01".into(),
            summary: "Về việc triển khai chuyển đổi số".into(),
            title: "Xây dựng kế hoạch chuyển đổi số".into(),
            content: "Chủ trì xây dựng kế hoạch, báo cáo UBND thành phố.".into(),
            lead_unit: "skhcn".into(),
            coordinating_units: vec!["STC".into(), "SNV".into()],
            deadline: Some("2025-09-30".into()),
            no_deadline: false,
            priority: Some(Priority::Urgent),
        }
    }

    fn violations_of(input: &AssignTaskInput) -> Vec<FieldViolation> {
        validate_assignment(input, Some(&directory_2025()), task_id(), today())
            .expect_err("refused")
    }

    fn fields(violations: &[FieldViolation]) -> Vec<&str> {
        violations.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn a_valid_assignment_becomes_a_normalised_command() {
        let command =
            validate_assignment(&valid_input(), Some(&directory_2025()), task_id(), today())
                .expect("valid");

        assert_eq!(command, assign_command());
    }

    #[test]
    fn a_missing_priority_defaults_to_normal() {
        let input = AssignTaskInput {
            priority: None,
            ..valid_input()
        };

        let command = validate_assignment(&input, Some(&directory_2025()), task_id(), today())
            .expect("valid");

        assert_eq!(command.priority, Priority::Normal);
    }

    #[test]
    fn a_missing_issuer_kind_is_a_violation() {
        let input = AssignTaskInput {
            issuer_kind: None,
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["issuer.kind"]);
    }

    #[test]
    fn a_vice_chairman_without_leader_id_is_a_violation() {
        let input = AssignTaskInput {
            leader_id: " ".into(),
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["issuer.leader_id"]);
    }

    #[test]
    fn empty_fields_are_violations() {
        let input = AssignTaskInput {
            number: String::new(),
            symbol: " ".into(),
            summary: String::new(),
            title: "\t".into(),
            content: String::new(),
            ..valid_input()
        };

        assert_eq!(
            fields(&violations_of(&input)),
            [
                "source_document.number",
                "source_document.symbol",
                "source_document.summary",
                "title",
                "content"
            ]
        );
    }

    #[test]
    fn over_long_fields_are_violations() {
        let input = AssignTaskInput {
            leader_name: "a".repeat(201),
            number: "1".repeat(21),
            symbol: "S".repeat(51),
            summary: "s".repeat(1_001),
            title: "t".repeat(501),
            content: "c".repeat(20_001),
            ..valid_input()
        };

        assert_eq!(
            fields(&violations_of(&input)),
            [
                "issuer.leader_name",
                "source_document.number",
                "source_document.symbol",
                "source_document.summary",
                "title",
                "content"
            ]
        );
    }

    #[test]
    fn fields_at_their_limits_are_accepted() {
        let input = AssignTaskInput {
            title: "ệ".repeat(500),
            content: "c".repeat(20_000),
            summary: "s".repeat(1_000),
            number: "1".repeat(20),
            symbol: "S".repeat(50),
            leader_name: "a".repeat(200),
            ..valid_input()
        };

        assert!(validate_assignment(&input, Some(&directory_2025()), task_id(), today()).is_ok());
    }

    #[test]
    fn bad_dates_are_violations_on_their_fields() {
        let input = AssignTaskInput {
            document_date: "01/08/2025".into(),
            deadline: Some("2025-09-31".into()),
            ..valid_input()
        };

        assert_eq!(
            fields(&violations_of(&input)),
            ["source_document.date", "deadline"]
        );
    }

    #[test]
    fn a_source_document_dated_after_today_is_a_violation() {
        let input = AssignTaskInput {
            document_date: "2025-08-03".into(),
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["source_document.date"]);
    }

    #[test]
    fn a_missing_lead_unit_is_a_violation() {
        let input = AssignTaskInput {
            lead_unit: "  ".into(),
            ..valid_input()
        };

        let violations = violations_of(&input);

        assert_eq!(fields(&violations), ["lead_unit"]);
        assert!(violations[0].description.contains("exactly one lead unit"));
    }

    #[test]
    fn units_not_in_the_directory_valid_today_are_unknown() {
        let input = AssignTaskInput {
            lead_unit: "Q-HONGBANG".into(),
            coordinating_units: vec!["STC".into(), "SKHDT".into()],
            ..valid_input()
        };

        let violations = violations_of(&input);

        assert_eq!(fields(&violations), ["lead_unit", "coordinating_units[1]"]);
        assert!(
            violations[0]
                .description
                .contains("unknown unit Q-HONGBANG")
        );
    }

    #[test]
    fn without_a_directory_every_unit_is_unknown_and_the_message_says_to_import_it() {
        let violations =
            validate_assignment(&valid_input(), None, task_id(), today()).expect_err("refused");

        assert_eq!(
            fields(&violations),
            [
                "lead_unit",
                "coordinating_units[0]",
                "coordinating_units[1]"
            ]
        );
        assert!(
            violations[0]
                .description
                .contains("import the unit directory")
        );
    }

    #[test]
    fn a_malformed_unit_code_is_a_violation() {
        let input = AssignTaskInput {
            coordinating_units: vec!["Sở Tài chính".into()],
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["coordinating_units[0]"]);
    }

    #[test]
    fn the_lead_unit_listed_as_coordinating_is_a_violation() {
        let input = AssignTaskInput {
            coordinating_units: vec!["STC".into(), "SKHCN".into()],
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["coordinating_units[1]"]);
    }

    #[test]
    fn duplicate_coordinating_units_are_a_violation() {
        let input = AssignTaskInput {
            coordinating_units: vec!["STC".into(), "SNV".into(), "stc".into()],
            ..valid_input()
        };

        let violations = violations_of(&input);

        assert_eq!(fields(&violations), ["coordinating_units[2]"]);
        assert!(violations[0].description.contains("coordinating_units[0]"));
    }

    #[test]
    fn a_deadline_before_the_source_document_date_is_a_violation() {
        let input = AssignTaskInput {
            deadline: Some("2025-07-31".into()),
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["deadline"]);
    }

    #[test]
    fn neither_deadline_nor_no_deadline_is_a_term_violation() {
        let input = AssignTaskInput {
            deadline: None,
            no_deadline: false,
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["term"]);
    }

    #[test]
    fn both_deadline_and_no_deadline_is_a_term_violation() {
        let input = AssignTaskInput {
            no_deadline: true,
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["term"]);
    }

    #[test]
    fn no_deadline_means_a_task_without_deadline() {
        let input = AssignTaskInput {
            deadline: None,
            no_deadline: true,
            ..valid_input()
        };

        let command = validate_assignment(&input, Some(&directory_2025()), task_id(), today())
            .expect("valid");

        assert_eq!(command.deadline, None);
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let input = AssignTaskInput {
            issuer_kind: None,
            title: String::new(),
            lead_unit: "XYZ".into(),
            deadline: None,
            ..valid_input()
        };

        assert_eq!(
            fields(&violations_of(&input)),
            ["issuer.kind", "title", "lead_unit", "term"]
        );
    }

    #[test]
    fn a_valid_reassignment_becomes_a_command() {
        let command = validate_reassignment(
            Requester::Authority,
            "snv",
            &["STC".into()],
            " Theo chỉ đạo ",
            Some(&directory_2025()),
            today(),
        )
        .expect("valid");

        assert_eq!(
            command,
            TaskCommand::Reassign {
                requested_by: Requester::Authority,
                new_lead_unit: code("SNV"),
                new_coordinating_units: vec![code("STC")],
                reason: "Theo chỉ đạo".into(),
            }
        );
    }

    #[test]
    fn a_reassignment_needs_a_known_new_lead_unit_and_a_reason() {
        let violations = validate_reassignment(
            Requester::Authority,
            "SKHDT",
            &["SNV".into(), "SNV".into()],
            "",
            Some(&directory_2025()),
            today(),
        )
        .expect_err("refused");

        assert_eq!(
            fields(&violations),
            ["new_lead_unit", "new_coordinating_units[1]", "reason"]
        );
    }

    #[test]
    fn a_valid_extension_becomes_a_command() {
        let command =
            validate_extension("2025-10-31", "Chờ ý kiến của Bộ", "", today()).expect("valid");

        assert_eq!(
            command,
            TaskCommand::ExtendDeadline {
                new_deadline: date(2025, 10, 31),
                reason: "Chờ ý kiến của Bộ".into(),
                approved_by_leader: None,
                today: today(),
            }
        );
    }

    #[test]
    fn an_extension_needs_a_valid_date_and_a_reason() {
        let violations = validate_extension("31/10/2025", "", "", today()).expect_err("refused");

        assert_eq!(fields(&violations), ["new_deadline", "reason"]);
    }

    #[test]
    fn a_reason_is_required_and_at_most_2000_characters() {
        assert_eq!(
            fields(&validate_reason(" ").expect_err("blank")),
            ["reason"]
        );
        assert!(validate_reason(&"r".repeat(2_001)).is_err());
        assert_eq!(
            validate_reason(&"r".repeat(2_000)).map(|r| r.len()),
            Ok(2_000)
        );
    }
}
