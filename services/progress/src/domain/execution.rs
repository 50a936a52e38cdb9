//! The execution of one task by its lead unit (thực hiện nhiệm vụ): a pure aggregate.
//!
//! Its stream id is the task id. The task itself belongs to the assignment service; each
//! command carries the [`TaskFacts`] this service last learnt from it and the business day,
//! so `decide` stays a pure function of state and command.
//!
//! The rules it keeps (design.md §2 rules 3–5):
//! - only an acknowledged task is worked on, and nothing changes once completed or cancelled;
//! - **while a difficulty has no direction, the result may not be submitted**;
//! - one result awaits review at a time; the Office accepts it (on time or late against the
//!   deadline in force on the day it was submitted) or returns it for rework;
//! - a coordinating unit that does not reply by the reply date is deemed to agree, once;
//! - the lead unit may not hand its task on: the attempt is recorded, then refused.

use chrono::NaiveDate;
use dondoc_runtime::calendar::WorkingCalendar;

use super::facts::TaskFacts;
use super::{PERCENT_MAX, TaskStatus, Timeliness};

/// A request to a coordinating unit (đề nghị phối hợp) and how it was settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coordination {
    pub coordination_id: String,
    pub unit: String,
    pub request: String,
    pub reply_due: NaiveDate,
    pub requested_on: NaiveDate,
    pub settled: Option<Settlement>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settlement {
    Answered {
        reply: String,
        on: NaiveDate,
    },
    /// Không trả lời đúng hạn: coi như đồng ý.
    DeemedAgreed {
        on: NaiveDate,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difficulty {
    pub difficulty_id: String,
    pub description: String,
    pub proposed_solution: String,
    pub reported_on: NaiveDate,
    pub direction: Option<Direction>,
}

/// The leader's direction (ý kiến chỉ đạo).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Direction {
    pub text: String,
    pub leader_id: String,
    pub on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub submission_id: String,
    pub summary: String,
    pub submitted_on: NaiveDate,
    pub deadline_then: Option<NaiveDate>,
    pub review: Option<Review>,
    pub documents: Vec<DocumentRef>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Review {
    Accepted {
        on: NaiveDate,
        timeliness: Timeliness,
        days_late: u32,
    },
    Returned {
        reason: String,
        on: NaiveDate,
    },
}

/// A request for a later deadline (đề nghị gia hạn); the decision is the leader's, in the
/// assignment service ([`TaskFacts::decision_on`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionAsked {
    pub extension_id: String,
    pub current_deadline: NaiveDate,
    pub proposed_deadline: NaiveDate,
    pub reason: String,
    pub requested_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgressNote {
    pub percent: u32,
    pub narrative: String,
    pub reported_on: NaiveDate,
    pub documents: Vec<DocumentRef>,
}

/// A document attached to a report or a result: its content is in the blob store under
/// `sha256`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentRef {
    pub file_name: String,
    pub media_type: String,
    pub sha256: String,
    pub size: u64,
}

/// What happened in the execution of a task, and to which task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionEvent {
    pub task_id: String,
    pub what: Happened,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happened {
    Acknowledged {
        lead_unit: String,
        on: NaiveDate,
    },
    ProgressReported(ProgressNote),
    CoordinationRequested {
        coordination_id: String,
        unit: String,
        request: String,
        reply_due: NaiveDate,
        on: NaiveDate,
    },
    CoordinationSubmitted {
        coordination_id: String,
        unit: String,
        reply: String,
        on: NaiveDate,
    },
    CoordinationDeemedAgreed {
        coordination_id: String,
        unit: String,
        reply_due: NaiveDate,
        on: NaiveDate,
    },
    DifficultyReported {
        difficulty_id: String,
        description: String,
        proposed_solution: String,
        lead_unit: String,
        on: NaiveDate,
    },
    DirectionGiven {
        difficulty_id: String,
        direction: String,
        leader_id: String,
        on: NaiveDate,
    },
    ExtensionRequested {
        asked: ExtensionAsked,
        lead_unit: String,
    },
    HandOffRefused {
        lead_unit: String,
        requested_unit: String,
        reason_given: String,
        on: NaiveDate,
    },
    ResultSubmitted {
        submission_id: String,
        summary: String,
        deadline_then: Option<NaiveDate>,
        lead_unit: String,
        on: NaiveDate,
        documents: Vec<DocumentRef>,
    },
    ResultAccepted {
        submission_id: String,
        submitted_on: NaiveDate,
        deadline_then: Option<NaiveDate>,
        timeliness: Timeliness,
        days_late: u32,
        lead_unit: String,
        on: NaiveDate,
    },
    ResultReturned {
        submission_id: String,
        reason: String,
        on: NaiveDate,
    },
}

impl ExecutionEvent {
    pub fn is_hand_off_refused(&self) -> bool {
        matches!(self.what, Happened::HandOffRefused { .. })
    }
}

/// What callers ask of an execution. Each carries the task as known and the business day.
#[derive(Clone, Debug)]
pub struct ExecutionCommand {
    pub facts: TaskFacts,
    pub today: NaiveDate,
    pub action: Action,
    /// The civil-service calendar days late are counted on.
    pub calendar: std::sync::Arc<WorkingCalendar>,
}

#[derive(Clone, Debug)]
pub enum Action {
    Acknowledge,
    ReportProgress {
        percent: u32,
        narrative: String,
        documents: Vec<DocumentRef>,
    },
    RequestCoordination {
        coordination_id: String,
        unit: String,
        request: String,
        reply_due: NaiveDate,
    },
    SubmitCoordination {
        coordination_id: String,
        /// The replying unit (the caller's).
        unit: String,
        reply: String,
    },
    /// Records silence past the reply date as agreement, for every request still open.
    EvaluateReplyDeadlines,
    ReportDifficulty {
        difficulty_id: String,
        description: String,
        proposed_solution: String,
    },
    GiveDirection {
        difficulty_id: String,
        direction: String,
        leader_id: String,
    },
    RequestExtension {
        extension_id: String,
        proposed_deadline: NaiveDate,
        reason: String,
    },
    RequestHandOff {
        requested_unit: String,
        reason: String,
    },
    SubmitResult {
        submission_id: String,
        summary: String,
        documents: Vec<DocumentRef>,
    },
    ReviewResult {
        submission_id: String,
        accept: bool,
        note: String,
    },
}

/// Why a command was refused: one variant per rule, each with its reason code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecutionError {
    #[error("the task was cancelled")]
    TaskCancelled,
    #[error("the task is completed; its execution can no longer change")]
    TaskCompleted,
    #[error("the lead unit has already acknowledged this task")]
    AlreadyAcknowledged,
    #[error("the lead unit must acknowledge the task (tiếp nhận) first")]
    NotAcknowledged,
    #[error("{unit} is not a coordinating unit of this task")]
    NotCoordinatingUnit { unit: String },
    #[error("no coordination request {coordination_id} on this task")]
    UnknownCoordination { coordination_id: String },
    #[error("coordination request {coordination_id} is addressed to {unit}")]
    CoordinationOfAnotherUnit {
        coordination_id: String,
        unit: String,
    },
    #[error("coordination request {coordination_id} is already settled")]
    CoordinationSettled { coordination_id: String },
    #[error("no difficulty {difficulty_id} on this task")]
    UnknownDifficulty { difficulty_id: String },
    #[error("difficulty {difficulty_id} already has a direction")]
    DirectionAlreadyGiven { difficulty_id: String },
    /// Rule 3: a difficulty goes to leadership for direction before the unit may submit.
    #[error(
        "difficulty {difficulty_id} awaits the leader's direction: a difficulty must be directed \
         before the result is submitted"
    )]
    DifficultyAwaitingDirection { difficulty_id: String },
    #[error("the task has no deadline to extend")]
    NoDeadlineToExtend,
    /// Rule 4: an extension is asked for on or before the deadline in force that day.
    #[error("an extension must be requested on or before the deadline ({deadline})")]
    ExtensionAfterDeadline { deadline: NaiveDate },
    #[error("the proposed deadline must be after the current deadline ({deadline})")]
    ProposalNotLater { deadline: NaiveDate },
    #[error("extension request {extension_id} still awaits the leader's decision")]
    ExtensionPending { extension_id: String },
    #[error("result {submission_id} already awaits the Office's review")]
    ResultAwaitingReview { submission_id: String },
    #[error("no result awaiting review with id {submission_id}")]
    NoResultToReview { submission_id: String },
}

impl ExecutionError {
    /// `google.rpc.ErrorInfo.reason`: one per rule.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TaskCancelled => "TASK_CANCELLED",
            Self::TaskCompleted => "TASK_COMPLETED",
            Self::AlreadyAcknowledged => "ALREADY_ACKNOWLEDGED",
            Self::NotAcknowledged => "NOT_ACKNOWLEDGED",
            Self::NotCoordinatingUnit { .. } => "NOT_A_COORDINATING_UNIT",
            Self::UnknownCoordination { .. } => "UNKNOWN_COORDINATION",
            Self::CoordinationOfAnotherUnit { .. } => "COORDINATION_OF_ANOTHER_UNIT",
            Self::CoordinationSettled { .. } => "COORDINATION_SETTLED",
            Self::UnknownDifficulty { .. } => "UNKNOWN_DIFFICULTY",
            Self::DirectionAlreadyGiven { .. } => "DIRECTION_ALREADY_GIVEN",
            Self::DifficultyAwaitingDirection { .. } => "DIFFICULTY_AWAITING_DIRECTION",
            Self::NoDeadlineToExtend => "NO_DEADLINE_TO_EXTEND",
            Self::ExtensionAfterDeadline { .. } => "EXTENSION_REQUESTED_AFTER_DEADLINE",
            Self::ProposalNotLater { .. } => "PROPOSED_DEADLINE_NOT_LATER",
            Self::ExtensionPending { .. } => "EXTENSION_PENDING",
            Self::ResultAwaitingReview { .. } => "RESULT_AWAITING_REVIEW",
            Self::NoResultToReview { .. } => "NO_RESULT_TO_REVIEW",
        }
    }

    /// What the rule says, in Vietnamese.
    pub fn message_vi(&self) -> String {
        match self {
            Self::TaskCancelled => "Nhiệm vụ đã bị hủy.".into(),
            Self::TaskCompleted => "Nhiệm vụ đã hoàn thành; không thể thay đổi.".into(),
            Self::AlreadyAcknowledged => "Đơn vị chủ trì đã tiếp nhận nhiệm vụ này.".into(),
            Self::NotAcknowledged => "Đơn vị chủ trì phải tiếp nhận nhiệm vụ trước.".into(),
            Self::NotCoordinatingUnit { unit } => {
                format!("{unit} không phải đơn vị phối hợp của nhiệm vụ này.")
            }
            Self::UnknownCoordination { coordination_id } => {
                format!("Không có đề nghị phối hợp {coordination_id}.")
            }
            Self::CoordinationOfAnotherUnit { unit, .. } => {
                format!("Đề nghị phối hợp này gửi đơn vị {unit}.")
            }
            Self::CoordinationSettled { .. } => "Đề nghị phối hợp đã được giải quyết.".into(),
            Self::UnknownDifficulty { difficulty_id } => {
                format!("Không có khó khăn, vướng mắc {difficulty_id}.")
            }
            Self::DirectionAlreadyGiven { .. } => {
                "Khó khăn, vướng mắc này đã có ý kiến chỉ đạo.".into()
            }
            Self::DifficultyAwaitingDirection { difficulty_id } => format!(
                "Khó khăn, vướng mắc {difficulty_id} đang chờ ý kiến chỉ đạo của lãnh đạo; \
                 chưa được báo cáo kết quả."
            ),
            Self::NoDeadlineToExtend => "Nhiệm vụ không có thời hạn để gia hạn.".into(),
            Self::ExtensionAfterDeadline { deadline } => format!(
                "Đề nghị gia hạn phải gửi trước hoặc trong ngày đến hạn ({}).",
                deadline.format("%d/%m/%Y")
            ),
            Self::ProposalNotLater { deadline } => format!(
                "Thời hạn đề nghị phải sau thời hạn hiện tại ({}).",
                deadline.format("%d/%m/%Y")
            ),
            Self::ExtensionPending { .. } => {
                "Đề nghị gia hạn trước đang chờ lãnh đạo quyết định.".into()
            }
            Self::ResultAwaitingReview { .. } => {
                "Kết quả đã gửi đang chờ Văn phòng xem xét.".into()
            }
            Self::NoResultToReview { .. } => "Không có kết quả nào đang chờ xem xét.".into(),
        }
    }
}

/// The state of a task's execution, folded from its events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Execution {
    pub lead_unit: Option<String>,
    pub acknowledged_on: Option<NaiveDate>,
    pub reports: Vec<ProgressNote>,
    pub coordinations: Vec<Coordination>,
    pub difficulties: Vec<Difficulty>,
    pub submissions: Vec<Submission>,
    pub extensions: Vec<ExtensionAsked>,
    pub refused_hand_offs: u32,
}

impl Execution {
    /// Every document attached to the task's reports and results.
    pub fn attachments(&self) -> impl Iterator<Item = &DocumentRef> {
        self.reports
            .iter()
            .flat_map(|r| &r.documents)
            .chain(self.submissions.iter().flat_map(|s| &s.documents))
    }

    pub fn percent(&self) -> u32 {
        if self.completed().is_some() {
            return PERCENT_MAX;
        }
        self.reports.last().map_or(0, |r| r.percent)
    }

    /// The accepted submission, once the task is completed.
    pub fn completed(&self) -> Option<&Submission> {
        self.submissions
            .iter()
            .find(|s| matches!(s.review, Some(Review::Accepted { .. })))
    }

    pub fn awaiting_review(&self) -> Option<&Submission> {
        self.submissions.iter().find(|s| s.review.is_none())
    }

    pub fn open_difficulty(&self) -> Option<&Difficulty> {
        self.difficulties.iter().find(|d| d.direction.is_none())
    }

    /// The status every service shows (assigned → in progress → awaiting confirmation →
    /// completed / returned for rework; cancelled).
    pub fn status(&self, facts: &TaskFacts) -> TaskStatus {
        if self.completed().is_some() {
            return TaskStatus::Completed;
        }
        if facts.cancelled {
            return TaskStatus::Cancelled;
        }
        match self.submissions.last() {
            Some(s) if s.review.is_none() => TaskStatus::AwaitingConfirmation,
            Some(Submission {
                review: Some(Review::Returned { .. }),
                ..
            }) => TaskStatus::ReturnedForRework,
            _ if self.acknowledged_on.is_some() => TaskStatus::InProgress,
            _ => TaskStatus::Assigned,
        }
    }

    fn coordination(&self, id: &str) -> Result<&Coordination, ExecutionError> {
        self.coordinations
            .iter()
            .find(|c| c.coordination_id == id)
            .ok_or_else(|| ExecutionError::UnknownCoordination {
                coordination_id: id.to_owned(),
            })
    }

    /// Refuses any change to a finished task; then, unless `action` is the receipt itself,
    /// requires the receipt.
    fn check_open(&self, facts: &TaskFacts, action: &Action) -> Result<(), ExecutionError> {
        if self.completed().is_some() {
            return Err(ExecutionError::TaskCompleted);
        }
        if facts.cancelled {
            return Err(ExecutionError::TaskCancelled);
        }
        let needs_receipt = !matches!(
            action,
            Action::Acknowledge | Action::RequestHandOff { .. } | Action::EvaluateReplyDeadlines
        );
        if needs_receipt && self.acknowledged_on.is_none() {
            return Err(ExecutionError::NotAcknowledged);
        }
        Ok(())
    }
}

impl dondoc_eventsourcing::Aggregate for Execution {
    const TYPE: &'static str = dondoc_contracts::progress::EXECUTION_STREAM;
    type Command = ExecutionCommand;
    type Event = ExecutionEvent;
    type Error = ExecutionError;

    fn decide(&self, command: &ExecutionCommand) -> Result<Vec<ExecutionEvent>, ExecutionError> {
        let happened = self.decide_what(command)?;
        Ok(happened
            .into_iter()
            .map(|what| ExecutionEvent {
                task_id: command.facts.task_id.clone(),
                what,
            })
            .collect())
    }

    fn apply(&mut self, event: &ExecutionEvent) {
        self.apply_what(&event.what);
    }
}

impl Execution {
    fn decide_what(&self, command: &ExecutionCommand) -> Result<Vec<Happened>, ExecutionError> {
        let ExecutionCommand {
            facts,
            today,
            action,
            calendar,
        } = command;
        let today = *today;
        if let Action::EvaluateReplyDeadlines = action {
            // Silence is agreement only on an open task; a finished one settles nothing more.
            if self.completed().is_some() || facts.cancelled {
                return Ok(Vec::new());
            }
            return Ok(self
                .coordinations
                .iter()
                .filter(|c| c.settled.is_none() && c.reply_due < today)
                .map(|c| Happened::CoordinationDeemedAgreed {
                    coordination_id: c.coordination_id.clone(),
                    unit: c.unit.clone(),
                    reply_due: c.reply_due,
                    on: today,
                })
                .collect());
        }
        self.check_open(facts, action)?;
        let lead_unit = facts.lead_unit.clone();
        let event = match action {
            Action::Acknowledge => {
                if self.acknowledged_on.is_some() {
                    return Err(ExecutionError::AlreadyAcknowledged);
                }
                Happened::Acknowledged {
                    lead_unit,
                    on: today,
                }
            }
            Action::ReportProgress {
                percent,
                narrative,
                documents,
            } => Happened::ProgressReported(ProgressNote {
                percent: *percent,
                narrative: narrative.clone(),
                reported_on: today,
                documents: documents.clone(),
            }),
            Action::RequestCoordination {
                coordination_id,
                unit,
                request,
                reply_due,
            } => {
                if !facts.is_coordinating(unit) {
                    return Err(ExecutionError::NotCoordinatingUnit { unit: unit.clone() });
                }
                Happened::CoordinationRequested {
                    coordination_id: coordination_id.clone(),
                    unit: unit.clone(),
                    request: request.clone(),
                    reply_due: *reply_due,
                    on: today,
                }
            }
            Action::SubmitCoordination {
                coordination_id,
                unit,
                reply,
            } => {
                let coordination = self.coordination(coordination_id)?;
                if coordination.unit != *unit {
                    return Err(ExecutionError::CoordinationOfAnotherUnit {
                        coordination_id: coordination_id.clone(),
                        unit: coordination.unit.clone(),
                    });
                }
                if coordination.settled.is_some() {
                    return Err(ExecutionError::CoordinationSettled {
                        coordination_id: coordination_id.clone(),
                    });
                }
                Happened::CoordinationSubmitted {
                    coordination_id: coordination_id.clone(),
                    unit: unit.clone(),
                    reply: reply.clone(),
                    on: today,
                }
            }
            Action::EvaluateReplyDeadlines => return Ok(Vec::new()),
            Action::ReportDifficulty {
                difficulty_id,
                description,
                proposed_solution,
            } => Happened::DifficultyReported {
                difficulty_id: difficulty_id.clone(),
                description: description.clone(),
                proposed_solution: proposed_solution.clone(),
                lead_unit,
                on: today,
            },
            Action::GiveDirection {
                difficulty_id,
                direction,
                leader_id,
            } => {
                let difficulty = self
                    .difficulties
                    .iter()
                    .find(|d| d.difficulty_id == *difficulty_id)
                    .ok_or_else(|| ExecutionError::UnknownDifficulty {
                        difficulty_id: difficulty_id.clone(),
                    })?;
                if difficulty.direction.is_some() {
                    return Err(ExecutionError::DirectionAlreadyGiven {
                        difficulty_id: difficulty_id.clone(),
                    });
                }
                Happened::DirectionGiven {
                    difficulty_id: difficulty_id.clone(),
                    direction: direction.clone(),
                    leader_id: leader_id.clone(),
                    on: today,
                }
            }
            Action::RequestExtension {
                extension_id,
                proposed_deadline,
                reason,
            } => {
                let deadline = facts
                    .deadline_on(today)
                    .ok_or(ExecutionError::NoDeadlineToExtend)?;
                if today > deadline {
                    return Err(ExecutionError::ExtensionAfterDeadline { deadline });
                }
                if *proposed_deadline <= deadline {
                    return Err(ExecutionError::ProposalNotLater { deadline });
                }
                if let Some(pending) = self
                    .extensions
                    .iter()
                    .find(|e| facts.decision_on(&e.extension_id).is_none())
                {
                    return Err(ExecutionError::ExtensionPending {
                        extension_id: pending.extension_id.clone(),
                    });
                }
                Happened::ExtensionRequested {
                    asked: ExtensionAsked {
                        extension_id: extension_id.clone(),
                        current_deadline: deadline,
                        proposed_deadline: *proposed_deadline,
                        reason: reason.clone(),
                        requested_on: today,
                    },
                    lead_unit,
                }
            }
            Action::RequestHandOff {
                requested_unit,
                reason,
            } => Happened::HandOffRefused {
                lead_unit,
                requested_unit: requested_unit.clone(),
                reason_given: reason.clone(),
                on: today,
            },
            Action::SubmitResult {
                submission_id,
                summary,
                documents,
            } => {
                if let Some(open) = self.open_difficulty() {
                    return Err(ExecutionError::DifficultyAwaitingDirection {
                        difficulty_id: open.difficulty_id.clone(),
                    });
                }
                if let Some(waiting) = self.awaiting_review() {
                    return Err(ExecutionError::ResultAwaitingReview {
                        submission_id: waiting.submission_id.clone(),
                    });
                }
                Happened::ResultSubmitted {
                    submission_id: submission_id.clone(),
                    summary: summary.clone(),
                    deadline_then: facts.deadline_on(today),
                    lead_unit,
                    on: today,
                    documents: documents.clone(),
                }
            }
            Action::ReviewResult {
                submission_id,
                accept,
                note,
            } => {
                let submission = self
                    .awaiting_review()
                    .filter(|s| s.submission_id == *submission_id)
                    .ok_or_else(|| ExecutionError::NoResultToReview {
                        submission_id: submission_id.clone(),
                    })?;
                if *accept {
                    let (timeliness, days_late) =
                        judge(submission.submitted_on, submission.deadline_then, calendar);
                    Happened::ResultAccepted {
                        submission_id: submission_id.clone(),
                        submitted_on: submission.submitted_on,
                        deadline_then: submission.deadline_then,
                        timeliness,
                        days_late,
                        lead_unit,
                        on: today,
                    }
                } else {
                    Happened::ResultReturned {
                        submission_id: submission_id.clone(),
                        reason: note.clone(),
                        on: today,
                    }
                }
            }
        };
        Ok(vec![event])
    }

    fn apply_what(&mut self, event: &Happened) {
        match event {
            Happened::Acknowledged { lead_unit, on } => {
                self.lead_unit = Some(lead_unit.clone());
                self.acknowledged_on = Some(*on);
            }
            Happened::ProgressReported(note) => self.reports.push(note.clone()),
            Happened::CoordinationRequested {
                coordination_id,
                unit,
                request,
                reply_due,
                on,
            } => self.coordinations.push(Coordination {
                coordination_id: coordination_id.clone(),
                unit: unit.clone(),
                request: request.clone(),
                reply_due: *reply_due,
                requested_on: *on,
                settled: None,
            }),
            Happened::CoordinationSubmitted {
                coordination_id,
                reply,
                on,
                ..
            } => {
                if let Some(c) = self
                    .coordinations
                    .iter_mut()
                    .find(|c| c.coordination_id == *coordination_id)
                {
                    c.settled = Some(Settlement::Answered {
                        reply: reply.clone(),
                        on: *on,
                    });
                }
            }
            Happened::CoordinationDeemedAgreed {
                coordination_id,
                on,
                ..
            } => {
                if let Some(c) = self
                    .coordinations
                    .iter_mut()
                    .find(|c| c.coordination_id == *coordination_id)
                {
                    c.settled = Some(Settlement::DeemedAgreed { on: *on });
                }
            }
            Happened::DifficultyReported {
                difficulty_id,
                description,
                proposed_solution,
                on,
                ..
            } => self.difficulties.push(Difficulty {
                difficulty_id: difficulty_id.clone(),
                description: description.clone(),
                proposed_solution: proposed_solution.clone(),
                reported_on: *on,
                direction: None,
            }),
            Happened::DirectionGiven {
                difficulty_id,
                direction,
                leader_id,
                on,
            } => {
                if let Some(d) = self
                    .difficulties
                    .iter_mut()
                    .find(|d| d.difficulty_id == *difficulty_id)
                {
                    d.direction = Some(Direction {
                        text: direction.clone(),
                        leader_id: leader_id.clone(),
                        on: *on,
                    });
                }
            }
            Happened::ExtensionRequested { asked, .. } => self.extensions.push(asked.clone()),
            Happened::HandOffRefused { .. } => self.refused_hand_offs += 1,
            Happened::ResultSubmitted {
                submission_id,
                summary,
                deadline_then,
                on,
                documents,
                ..
            } => self.submissions.push(Submission {
                submission_id: submission_id.clone(),
                summary: summary.clone(),
                submitted_on: *on,
                deadline_then: *deadline_then,
                review: None,
                documents: documents.clone(),
            }),
            Happened::ResultAccepted {
                submission_id,
                timeliness,
                days_late,
                on,
                ..
            } => {
                if let Some(s) = self.submission_mut(submission_id) {
                    s.review = Some(Review::Accepted {
                        on: *on,
                        timeliness: *timeliness,
                        days_late: *days_late,
                    });
                }
            }
            Happened::ResultReturned {
                submission_id,
                reason,
                on,
            } => {
                if let Some(s) = self.submission_mut(submission_id) {
                    s.review = Some(Review::Returned {
                        reason: reason.clone(),
                        on: *on,
                    });
                }
            }
        }
    }

    fn submission_mut(&mut self, id: &str) -> Option<&mut Submission> {
        self.submissions.iter_mut().find(|s| s.submission_id == id)
    }
}

/// On time when submitted on or before the deadline in force that day; otherwise late by the
/// working days after the deadline up to the day of submission. A result submitted on a day
/// off counts from the next working day, as a document received then is handled then — so a
/// late result is always at least one working day late.
pub fn judge(
    submitted_on: NaiveDate,
    deadline: Option<NaiveDate>,
    calendar: &WorkingCalendar,
) -> (Timeliness, u32) {
    match deadline {
        None => (Timeliness::NoDeadline, 0),
        Some(deadline) if submitted_on <= deadline => (Timeliness::OnTime, 0),
        Some(deadline) => {
            let received = if calendar.is_working_day(submitted_on) {
                submitted_on
            } else {
                calendar.add_working_days(submitted_on, 1)
            };
            let days = calendar.working_days_between(deadline, received).max(1);
            (Timeliness::Late, u32::try_from(days).unwrap_or(u32::MAX))
        }
    }
}

#[cfg(test)]
mod tests;
