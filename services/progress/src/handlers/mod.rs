//! The command and query handlers of the progress service: what each call does, in domain
//! terms, whatever transport brought it.
//!
//! Every mutating handler reads the same way, as in the assignment service:
//! 1. **replay first** (AIP-155): a `request_id` seen before returns the first outcome;
//! 2. **authorise** ([`policy`]): the role, then the task (the lead unit acts, a coordinating
//!    unit replies, the assigning leader or the Chairman directs);
//! 3. **validate** every field at once, nothing written;
//! 4. **run** the command through the repository with the task as this service knows it.

mod documents;
mod dossier;
pub mod error;
pub mod policy;

pub use documents::{DocumentInput, DocumentWithContent};
pub use dossier::{DossierEntry, DossierView};

use chrono::{DateTime, NaiveDate, Utc};
use dondoc_eventsourcing::clock::business_date;
use dondoc_eventsourcing::repository::{CommandEnvelope, ExecuteError, Executed, Repository};
use dondoc_eventsourcing::{Actor, EventMetadata, EventStore, RequestKey, StoredOutcome};
use dondoc_runtime::auth::{Principal, Role};
use dondoc_runtime::calendar::WorkingCalendar;
use dondoc_runtime::clock::SharedClock;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

use crate::blobs::BlobStore;
use crate::consumers::reply_due::ReplyDueReader;
use crate::consumers::task_documents::TaskDocumentsReader;
use crate::consumers::task_facts::TaskFactsReader;
use crate::domain::dossier::Dossier;
use crate::domain::execution::DocumentRef;
use crate::domain::register::Register;
use crate::domain::{
    Action, CODE_MAX, DeadlineClass, Execution, ExecutionCommand, TEXT_MAX, TaskFacts, TaskStatus,
    Violations,
};
use error::ApiError;
use policy::{Rpc, assigned_by, authorize, authorize_on_task, may_read};

/// Who is calling, and the correlation id that groups everything their action causes.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub correlation_id: String,
}

impl std::ops::Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// A document sent with a report or a result, as received.
#[derive(Clone, Debug, Default)]
pub struct Upload {
    pub file_name: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

/// A change to a task's execution, as received (raw fields, validated here).
#[derive(Clone, Debug)]
pub enum WorkRequest {
    Acknowledge,
    ReportProgress {
        percent: u32,
        narrative: String,
        documents: Vec<Upload>,
    },
    RequestCoordination {
        unit: String,
        request: String,
        reply_due: String,
    },
    SubmitCoordination {
        coordination_id: String,
        reply: String,
    },
    ReportDifficulty {
        description: String,
        proposed_solution: String,
    },
    GiveDirection {
        difficulty_id: String,
        direction: String,
    },
    RequestExtension {
        proposed_deadline: String,
        reason: String,
    },
    RequestHandOff {
        requested_unit: String,
        reason: String,
    },
    SubmitResult {
        summary: String,
        documents: Vec<Upload>,
    },
    ReviewResult {
        submission_id: String,
        accept: bool,
        note: String,
    },
}

impl WorkRequest {
    pub fn rpc(&self) -> Rpc {
        match self {
            WorkRequest::Acknowledge => Rpc::AcknowledgeTask,
            WorkRequest::ReportProgress { .. } => Rpc::ReportProgress,
            WorkRequest::RequestCoordination { .. } => Rpc::RequestCoordination,
            WorkRequest::SubmitCoordination { .. } => Rpc::SubmitCoordination,
            WorkRequest::ReportDifficulty { .. } => Rpc::ReportDifficulty,
            WorkRequest::GiveDirection { .. } => Rpc::GiveDirection,
            WorkRequest::RequestExtension { .. } => Rpc::RequestExtension,
            WorkRequest::RequestHandOff { .. } => Rpc::RequestHandOff,
            WorkRequest::SubmitResult { .. } => Rpc::SubmitResult,
            WorkRequest::ReviewResult { .. } => Rpc::ReviewResult,
        }
    }

    /// The documents sent with the request.
    fn uploads(&self) -> &[Upload] {
        match self {
            WorkRequest::ReportProgress { documents, .. }
            | WorkRequest::SubmitResult { documents, .. } => documents,
            _ => &[],
        }
    }

    /// Every field checked at once; ids of new things drawn here (UUIDv7).
    fn validate(
        &self,
        caller: &Caller,
        today: NaiveDate,
        max_document_bytes: usize,
    ) -> Result<Action, ApiError> {
        let mut v = Violations::default();
        for (i, upload) in self.uploads().iter().enumerate() {
            v.optional_text(&format!("documents[{i}].file_name"), &upload.file_name, 255);
            v.optional_text(
                &format!("documents[{i}].media_type"),
                &upload.media_type,
                255,
            );
            if upload.content.is_empty() {
                v.0.push(crate::domain::FieldViolation::new(
                    &format!("documents[{i}].content"),
                    "is required: the document itself",
                ));
            } else if upload.content.len() > max_document_bytes {
                v.0.push(crate::domain::FieldViolation::new(
                    &format!("documents[{i}].content"),
                    format!(
                        "is {} bytes; documents are at most {max_document_bytes} bytes",
                        upload.content.len()
                    ),
                ));
            }
        }
        let new_id = || Uuid::now_v7().to_string();
        let action = match self {
            WorkRequest::Acknowledge => Action::Acknowledge,
            WorkRequest::ReportProgress {
                percent, narrative, ..
            } => Action::ReportProgress {
                percent: v.percent("percent", *percent),
                narrative: v.text("narrative", narrative, TEXT_MAX),
                // Filled once the content is stored.
                documents: Vec::new(),
            },
            WorkRequest::RequestCoordination {
                unit,
                request,
                reply_due,
            } => Action::RequestCoordination {
                coordination_id: new_id(),
                unit: v.unit_code("unit", unit),
                request: v.text("request", request, TEXT_MAX),
                reply_due: v.date_from("reply_due", reply_due, today),
            },
            WorkRequest::SubmitCoordination {
                coordination_id,
                reply,
            } => Action::SubmitCoordination {
                coordination_id: v.id("coordination_id", coordination_id),
                unit: caller.unit_code.clone().unwrap_or_default(),
                reply: v.text("reply", reply, TEXT_MAX),
            },
            WorkRequest::ReportDifficulty {
                description,
                proposed_solution,
            } => Action::ReportDifficulty {
                difficulty_id: new_id(),
                description: v.text("description", description, TEXT_MAX),
                proposed_solution: v.text("proposed_solution", proposed_solution, TEXT_MAX),
            },
            WorkRequest::GiveDirection {
                difficulty_id,
                direction,
            } => Action::GiveDirection {
                difficulty_id: v.id("difficulty_id", difficulty_id),
                direction: v.text("direction", direction, TEXT_MAX),
                leader_id: caller.leader_id.clone().unwrap_or_default(),
            },
            WorkRequest::RequestExtension {
                proposed_deadline,
                reason,
            } => Action::RequestExtension {
                extension_id: new_id(),
                proposed_deadline: v.date_from("proposed_deadline", proposed_deadline, today),
                reason: v.text("reason", reason, TEXT_MAX),
            },
            WorkRequest::RequestHandOff {
                requested_unit,
                reason,
            } => Action::RequestHandOff {
                requested_unit: v.unit_code("requested_unit", requested_unit),
                reason: v.optional_text("reason", reason, TEXT_MAX),
            },
            WorkRequest::SubmitResult { summary, .. } => Action::SubmitResult {
                submission_id: new_id(),
                summary: v.text("summary", summary, TEXT_MAX),
                documents: Vec::new(),
            },
            WorkRequest::ReviewResult {
                submission_id,
                accept,
                note,
            } => Action::ReviewResult {
                submission_id: v.id("submission_id", submission_id),
                accept: *accept,
                // A return must say why (trả lại phải nêu lý do).
                note: if *accept {
                    v.optional_text("note", note, TEXT_MAX)
                } else {
                    v.text("note", note, TEXT_MAX)
                },
            },
        };
        v.finish().map_err(ApiError::Invalid)?;
        Ok(action)
    }
}

/// What a command's first attempt answered, saved with its events (AIP-155).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// The execution as it stood at `version`.
    Execution { task_id: String, version: u64 },
    /// The lead unit's hand-off attempt, recorded and refused.
    HandOffRefused { task_id: String },
    /// A document entered in a register.
    Document { document_id: String },
    /// A dossier's lifecycle changed.
    Dossier { task_id: String },
}

impl Outcome {
    fn stored(&self) -> StoredOutcome {
        StoredOutcome {
            status_code: 0,
            message: String::new(),
            // Serialising a plain enum of strings and integers cannot fail.
            body: serde_json::to_vec(self).unwrap_or_default(),
        }
    }

    fn read(stored: &StoredOutcome) -> Result<Self, ApiError> {
        serde_json::from_slice(&stored.body)
            .map_err(|e| ApiError::Internal(format!("a stored outcome is unreadable: {e}")))
    }
}

/// A task's execution and the task as known, at a version.
#[derive(Clone, Debug)]
pub struct ExecutionView {
    pub facts: TaskFacts,
    pub state: Execution,
    pub version: u64,
    pub status: TaskStatus,
    pub updated_at: Option<DateTime<Utc>>,
}

/// `ListExecutions`, already parsed.
#[derive(Clone, Debug, Default)]
pub struct ExecutionFilter {
    pub lead_unit: Option<String>,
    pub status: Option<TaskStatus>,
    pub awaiting_direction: bool,
    pub awaiting_review: bool,
    pub deadline_class: Option<DeadlineClass>,
    /// The day the deadline class is judged on (default today).
    pub as_of: Option<NaiveDate>,
    /// Task ids after this one.
    pub after: String,
    pub limit: usize,
}

/// A page of executions.
#[derive(Clone, Debug, Default)]
pub struct ExecutionPage {
    pub executions: Vec<ExecutionView>,
    /// The last task id looked at, when there may be more.
    pub next_after: Option<String>,
}

/// Rows looked at per `ListExecutions` call at most, so a selective filter answers a short
/// page with a token instead of scanning the whole city.
const SCAN_MAX: usize = 2_000;

/// The handlers and what they share.
#[derive(Clone)]
pub struct Handlers {
    executions: Repository<Execution>,
    registers: Repository<Register>,
    dossiers: Repository<Dossier>,
    task_documents: TaskDocumentsReader,
    blobs: BlobStore,
    /// Largest document content accepted, bytes.
    max_document_bytes: usize,
    store: EventStore,
    facts: TaskFactsReader,
    reply_due: ReplyDueReader,
    clock: SharedClock,
    /// The civil-service calendar: days late and "near due" count working days.
    calendar: Arc<WorkingCalendar>,
}

impl Handlers {
    // Each argument is a distinct collaborator, wired once in `startup`; a struct of them would
    // only rename the list.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: EventStore,
        facts: TaskFactsReader,
        reply_due: ReplyDueReader,
        task_documents: TaskDocumentsReader,
        blobs: BlobStore,
        max_document_bytes: usize,
        clock: SharedClock,
        calendar: Arc<WorkingCalendar>,
    ) -> Self {
        Self {
            executions: Repository::new(store.clone()),
            registers: Repository::new(store.clone()),
            dossiers: Repository::new(store.clone()),
            task_documents,
            blobs,
            max_document_bytes,
            store,
            facts,
            reply_due,
            clock,
            calendar,
        }
    }

    fn metadata(&self, caller: &Caller, causation: &str) -> EventMetadata {
        EventMetadata {
            occurred_at: dondoc_eventsourcing::store::storable_time(self.clock.now()),
            actor: Actor {
                subject: caller.subject.clone(),
                role: caller.role.as_str().to_owned(),
                unit_code: caller.unit_code.clone().unwrap_or_default(),
                leader_id: caller.leader_id.clone().unwrap_or_default(),
            },
            correlation_id: caller.correlation_id.clone(),
            causation_id: causation.to_owned(),
            traceparent: dondoc_runtime::telemetry::current_traceparent().unwrap_or_default(),
        }
    }

    async fn facts_of(&self, task_id: &str) -> Result<TaskFacts, ApiError> {
        self.facts.get(task_id).await?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "no task {task_id} (a task assigned a moment ago arrives within seconds)"
            ))
        })
    }

    /// The execution of a task at `version` (or as it stands), with the task as known now.
    async fn view(
        &self,
        facts: TaskFacts,
        version: Option<u64>,
    ) -> Result<ExecutionView, ApiError> {
        let loaded = self.executions.load(&facts.task_id).await?;
        let mut state = Execution::default();
        let mut at = 0;
        let mut updated_at = None;
        for recorded in loaded
            .history
            .iter()
            .take_while(|e| version.is_none_or(|v| e.stream_version <= v))
        {
            dondoc_eventsourcing::Aggregate::apply(&mut state, &recorded.decode()?);
            at = recorded.stream_version;
            updated_at = Some(recorded.recorded_at);
        }
        Ok(ExecutionView {
            status: state.status(&facts),
            facts,
            state,
            version: at,
            updated_at,
        })
    }

    async fn answer(&self, outcome: Outcome) -> Result<ExecutionView, ApiError> {
        match outcome {
            Outcome::Execution { task_id, version } => {
                let facts = self.facts_of(&task_id).await?;
                self.view(facts, Some(version)).await
            }
            Outcome::HandOffRefused { .. } => Err(ApiError::HandOffRefused),
            Outcome::Document { .. } | Outcome::Dossier { .. } => Err(ApiError::Internal(
                "another command's outcome answered a task command".into(),
            )),
        }
    }

    /// Runs one change to a task's execution.
    pub async fn work(
        &self,
        caller: &Caller,
        key: RequestKey,
        task_id: &str,
        expected_version: u64,
        request: WorkRequest,
    ) -> Result<ExecutionView, ApiError> {
        if let Some(first) = self.store.replay(&key).await? {
            return self.answer(Outcome::read(&first)?).await;
        }
        let rpc = request.rpc();
        authorize(rpc, caller)?;
        let task_id = task_id.trim();
        if task_id.is_empty() || task_id.len() > CODE_MAX {
            return Err(ApiError::invalid("task_id", "is required: the task's id"));
        }
        let now = self.clock.now();
        let today = business_date(now);
        // Validation names every bad field before anything about the task is looked up.
        let mut action = request.validate(caller, today, self.max_document_bytes)?;
        let facts = self.facts_of(task_id).await?;
        authorize_on_task(rpc, caller, &facts)?;
        self.refuse_if_archived(&facts.task_id).await?;
        if let Action::ReportProgress { documents, .. } | Action::SubmitResult { documents, .. } =
            &mut action
        {
            for upload in request.uploads() {
                documents.push(DocumentRef {
                    file_name: upload.file_name.trim().to_owned(),
                    media_type: if upload.media_type.trim().is_empty() {
                        "application/octet-stream".to_owned()
                    } else {
                        upload.media_type.trim().to_owned()
                    },
                    sha256: self.blobs.put(&upload.content).await?,
                    size: upload.content.len() as u64,
                });
            }
        }
        if rpc == Rpc::GiveDirection {
            self.authorize_direction(caller, &facts, today).await?;
        }
        let metadata = self.metadata(caller, &key.request_id);
        let executed = self
            .executions
            .execute(
                CommandEnvelope {
                    stream_id: facts.task_id.clone(),
                    command: ExecutionCommand {
                        facts: facts.clone(),
                        today,
                        action,
                        calendar: self.calendar.clone(),
                    },
                    expected_version: (expected_version > 0).then_some(expected_version),
                    new_stream: false,
                    request: Some(key),
                    metadata,
                },
                |decision| {
                    let task_id = facts.task_id.clone();
                    if decision.new_events.iter().any(|e| e.is_hand_off_refused()) {
                        Outcome::HandOffRefused { task_id }.stored()
                    } else {
                        Outcome::Execution {
                            task_id,
                            version: decision.new_version,
                        }
                        .stored()
                    }
                },
            )
            .await?;
        match executed {
            Executed::Applied { events, .. } if events.iter().any(|e| e.is_hand_off_refused()) => {
                Err(ApiError::HandOffRefused)
            }
            Executed::Applied { version, .. } => self.view(facts, Some(version)).await,
            Executed::Replayed(first) => self.answer(Outcome::read(&first)?).await,
        }
    }

    /// Direction comes from the leader who assigned the task, or from the Chairman.
    async fn authorize_direction(
        &self,
        caller: &Caller,
        facts: &TaskFacts,
        today: NaiveDate,
    ) -> Result<(), ApiError> {
        let leader_id = caller.leader_id.as_deref().unwrap_or_default();
        if assigned_by(leader_id, facts) || self.facts.is_chairman(leader_id, today).await? {
            return Ok(());
        }
        Err(ApiError::denied(
            "NOT_THE_DIRECTING_LEADER",
            "only the leader who assigned the task, or the Chairman, gives direction on it",
            "Chỉ lãnh đạo giao nhiệm vụ hoặc Chủ tịch UBND thành phố cho ý kiến chỉ đạo.",
        ))
    }

    /// Records "no reply = deemed agreement" for every coordination request whose reply date
    /// is before the business day of `as_of`. Evaluating the same instant twice records
    /// nothing new: a settled request is never settled again.
    pub async fn evaluate_reply_deadlines(
        &self,
        caller: &Caller,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<u32, ApiError> {
        authorize(Rpc::EvaluateReplyDeadlines, caller)?;
        let today = business_date(as_of.unwrap_or_else(|| self.clock.now()));
        let mut deemed = 0;
        for task_id in self.reply_due.tasks_past_due(today).await? {
            let Some(facts) = self.facts.get(&task_id).await? else {
                continue;
            };
            let executed = self
                .executions
                .execute(
                    CommandEnvelope {
                        stream_id: task_id.clone(),
                        command: ExecutionCommand {
                            facts,
                            today,
                            action: Action::EvaluateReplyDeadlines,
                            calendar: self.calendar.clone(),
                        },
                        expected_version: None,
                        new_stream: false,
                        request: None,
                        metadata: self.metadata(caller, "evaluate-reply-deadlines"),
                    },
                    |_| StoredOutcome {
                        status_code: 0,
                        message: String::new(),
                        body: Vec::new(),
                    },
                )
                .await;
            match executed {
                Ok(Executed::Applied { events, .. }) => {
                    deemed += u32::try_from(events.len()).unwrap_or(u32::MAX);
                }
                Ok(Executed::Replayed(_)) => {}
                // Another replica (or the lead unit) changed the task meanwhile: the next
                // evaluation sees it as it then stands.
                Err(ExecuteError::Conflict { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(deemed)
    }

    /// The caller the ticker acts as.
    pub fn system_caller() -> Caller {
        Caller {
            principal: Principal {
                subject: "system:progress-reply-deadlines".into(),
                role: Role::Admin,
                unit_code: None,
                leader_id: None,
            },
            correlation_id: Uuid::now_v7().to_string(),
        }
    }

    pub async fn get_execution(
        &self,
        caller: &Caller,
        task_id: &str,
    ) -> Result<ExecutionView, ApiError> {
        authorize(Rpc::GetExecution, caller)?;
        let facts = self.facts_of(task_id.trim()).await?;
        if !may_read(caller, &facts) {
            return Err(ApiError::denied(
                "NOT_YOUR_TASK",
                "a unit reads only the tasks it leads or coordinates",
                "Đơn vị chỉ xem được nhiệm vụ mình chủ trì hoặc phối hợp.",
            ));
        }
        self.view(facts, None).await
    }

    pub async fn list_executions(
        &self,
        caller: &Caller,
        filter: ExecutionFilter,
    ) -> Result<ExecutionPage, ApiError> {
        authorize(Rpc::ListExecutions, caller)?;
        let as_of = filter
            .as_of
            .unwrap_or_else(|| business_date(self.clock.now()));
        let mut page = ExecutionPage::default();
        let mut after = filter.after.clone();
        let mut scanned = 0;
        loop {
            let batch = self
                .facts
                .page(filter.lead_unit.as_deref(), &after, 200)
                .await?;
            let exhausted = batch.len() < 200;
            for facts in batch {
                after.clone_from(&facts.task_id);
                scanned += 1;
                if !may_read(caller, &facts) {
                    continue;
                }
                let view = self.view(facts, None).await?;
                if matches(&filter, &view, as_of, &self.calendar) {
                    page.executions.push(view);
                    if page.executions.len() >= filter.limit {
                        page.next_after = Some(after);
                        return Ok(page);
                    }
                }
            }
            if exhausted {
                return Ok(page);
            }
            if scanned >= SCAN_MAX {
                page.next_after = Some(after);
                return Ok(page);
            }
        }
    }
}

fn matches(
    filter: &ExecutionFilter,
    view: &ExecutionView,
    as_of: NaiveDate,
    calendar: &WorkingCalendar,
) -> bool {
    if filter.status.is_some_and(|s| s != view.status) {
        return false;
    }
    if filter.awaiting_direction && view.state.open_difficulty().is_none() {
        return false;
    }
    if filter.awaiting_review && view.state.awaiting_review().is_none() {
        return false;
    }
    if let Some(class) = filter.deadline_class {
        let open = !matches!(view.status, TaskStatus::Completed | TaskStatus::Cancelled);
        if !open || DeadlineClass::of(view.facts.deadline_on(as_of), as_of, calendar) != class {
            return false;
        }
    }
    true
}
