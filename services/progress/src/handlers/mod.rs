//! The command and query handlers of the progress service: what each call does, in domain
//! terms, whatever transport brought it.
//!
//! Every mutating handler reads the same way, as in the assignment service:
//! 1. **replay first** (AIP-155): a `request_id` seen before returns the first outcome;
//! 2. **authorise** ([`policy`]): the role, then the task (the lead unit acts, a coordinating
//!    unit replies, the assigning leader or the Chairman directs);
//! 3. **validate** every field at once, nothing written;
//! 4. **run** the command through the repository with the task as this service knows it.

pub mod error;
pub mod policy;

use chrono::{DateTime, NaiveDate, Utc};
use dondoc_eventsourcing::clock::business_date;
use dondoc_eventsourcing::repository::{CommandEnvelope, ExecuteError, Executed, Repository};
use dondoc_eventsourcing::{Actor, EventMetadata, EventStore, RequestKey, StoredOutcome};
use dondoc_runtime::auth::{Principal, Role};
use dondoc_runtime::clock::SharedClock;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::blobs::BlobStore;
use crate::consumers::reply_due::ReplyDueReader;
use crate::consumers::task_documents::TaskDocumentsReader;
use crate::consumers::task_facts::TaskFactsReader;
use crate::domain::dossier::{Dossier, DossierCommand, DossierError, DossierRequest};
use crate::domain::execution::DocumentRef;
use crate::domain::register::{
    EnterDocument, Register, RegisterKind, RegisteredDocument, Secrecy, Urgency, parse_document_id,
    year_of,
};
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

/// A document to register, as received (raw; validated here).
#[derive(Clone, Debug, Default)]
pub struct DocumentInput {
    pub document_type: String,
    pub issuer_number: String,
    pub symbol: String,
    pub issued_on: String,
    pub summary: String,
    pub issuing_body: String,
    pub signer: String,
    /// `None`: not a known urgency.
    pub urgency: Option<Urgency>,
    /// `None`: not a known secrecy mark.
    pub secrecy: Option<Secrecy>,
    pub task_id: String,
    pub file_name: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

/// A registered document with its content, checked against its recorded hash.
#[derive(Clone, Debug)]
pub struct DocumentWithContent {
    pub document: RegisteredDocument,
    pub content: Vec<u8>,
    pub verified: bool,
}

/// A task's work dossier as it reads: its lifecycle and every record, oldest first.
#[derive(Clone, Debug)]
pub struct DossierView {
    pub facts: TaskFacts,
    pub state: Dossier,
    pub version: u64,
    pub entries: Vec<DossierEntry>,
}

/// One record of a dossier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DossierEntry {
    pub kind: &'static str,
    pub date: String,
    pub summary: String,
    pub reference: String,
    pub document_id: String,
    pub sha256: String,
}

fn blank_entry() -> DossierEntry {
    DossierEntry {
        kind: "",
        date: String::new(),
        summary: String::new(),
        reference: String::new(),
        document_id: String::new(),
        sha256: String::new(),
    }
}

/// The stream of a task's dossier (the task id alone names its execution).
fn dossier_stream(task_id: &str) -> String {
    format!("dossier-{task_id}")
}

/// How many times a registration is decided again when another took the number first.
const REGISTER_ATTEMPTS: usize = 50;

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
}

impl Handlers {
    pub fn new(
        store: EventStore,
        facts: TaskFactsReader,
        reply_due: ReplyDueReader,
        task_documents: TaskDocumentsReader,
        blobs: BlobStore,
        max_document_bytes: usize,
        clock: SharedClock,
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

    /// Enters a document in this year's register of `kind`: the next number, gap-free, the
    /// content kept by its hash.
    pub async fn register_document(
        &self,
        caller: &Caller,
        key: RequestKey,
        kind: RegisterKind,
        input: DocumentInput,
    ) -> Result<RegisteredDocument, ApiError> {
        if let Some(first) = self.store.replay(&key).await? {
            return match Outcome::read(&first)? {
                Outcome::Document { document_id } => self.document(&document_id).await,
                _ => Err(ApiError::Internal(
                    "a task's outcome answered a registration".into(),
                )),
            };
        }
        let rpc = match kind {
            RegisterKind::Incoming => Rpc::RegisterIncomingDocument,
            RegisterKind::Outgoing => Rpc::RegisterOutgoingDocument,
        };
        authorize(rpc, caller)?;
        let today = business_date(self.clock.now());
        let document = self.validate_document(kind, input.clone(), today)?;
        let task_id = input.task_id.trim();
        if !task_id.is_empty() {
            self.facts_of(task_id).await?;
            self.refuse_if_archived(task_id).await?;
        }
        let mut document = document;
        document.sha256 = self.blobs.put(&input.content).await?;
        let stream_id = kind.stream_id(document.year);
        for _ in 0..REGISTER_ATTEMPTS {
            let executed = self
                .registers
                .execute(
                    CommandEnvelope {
                        stream_id: stream_id.clone(),
                        command: EnterDocument {
                            document: document.clone(),
                        },
                        expected_version: None,
                        new_stream: false,
                        request: Some(key.clone()),
                        metadata: self.metadata(caller, &key.request_id),
                    },
                    |decision| {
                        let entered = &decision.new_events[0].document;
                        Outcome::Document {
                            document_id: entered.document_id(),
                        }
                        .stored()
                    },
                )
                .await;
            match executed {
                Ok(Executed::Applied { events, .. }) => {
                    return events
                        .into_iter()
                        .next()
                        .map(|e| e.document)
                        .ok_or_else(|| {
                            ApiError::Internal("a registration recorded nothing".into())
                        });
                }
                Ok(Executed::Replayed(first)) => {
                    return match Outcome::read(&first)? {
                        Outcome::Document { document_id } => self.document(&document_id).await,
                        _ => Err(ApiError::Internal("a registration's outcome".into())),
                    };
                }
                // Another registration took the number: decide again on the register as it
                // now stands. Numbers stay gap-free because only one append per number wins.
                Err(ExecuteError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ApiError::Unavailable(format!(
            "the {} register is too busy; retry the request",
            kind.as_str()
        )))
    }

    fn validate_document(
        &self,
        kind: RegisterKind,
        input: DocumentInput,
        today: NaiveDate,
    ) -> Result<RegisteredDocument, ApiError> {
        let mut v = Violations::default();
        let document_type = v.text("document_type", &input.document_type, CODE_MAX);
        let summary = v.text("summary", &input.summary, TEXT_MAX);
        let issuing_body = v.text("issuing_body", &input.issuing_body, 500);
        let signer = v.optional_text("signer", &input.signer, 200);
        let issuer_number = v.optional_text("issuer_number", &input.issuer_number, CODE_MAX);
        let symbol = match kind {
            RegisterKind::Outgoing => v.text("symbol", &input.symbol, CODE_MAX),
            RegisterKind::Incoming => v.optional_text("symbol", &input.symbol, CODE_MAX),
        };
        let file_name = v.optional_text("file_name", &input.file_name, 255);
        let media_type = v.optional_text("media_type", &input.media_type, 255);
        let issued_on = match NaiveDate::parse_from_str(input.issued_on.trim(), "%Y-%m-%d") {
            Ok(day) if day > today => {
                v.0.push(crate::domain::FieldViolation::new(
                    "issued_on",
                    "must not be after today",
                ));
                day
            }
            Ok(day) => day,
            Err(_) => {
                v.0.push(crate::domain::FieldViolation::new(
                    "issued_on",
                    "must be a date YYYY-MM-DD",
                ));
                today
            }
        };
        let urgency = input.urgency.unwrap_or_else(|| {
            v.0.push(crate::domain::FieldViolation::new(
                "urgency",
                "not a known urgency",
            ));
            Urgency::Normal
        });
        let secrecy = input.secrecy.unwrap_or_else(|| {
            v.0.push(crate::domain::FieldViolation::new(
                "secrecy",
                "not a known secrecy mark",
            ));
            Secrecy::Normal
        });
        if input.content.is_empty() {
            v.0.push(crate::domain::FieldViolation::new(
                "content",
                "is required: the document itself",
            ));
        } else if input.content.len() > self.max_document_bytes {
            v.0.push(crate::domain::FieldViolation::new(
                "content",
                format!(
                    "is {} bytes; documents are at most {} bytes",
                    input.content.len(),
                    self.max_document_bytes
                ),
            ));
        }
        v.finish().map_err(ApiError::Invalid)?;
        let task_id = input.task_id.trim();
        Ok(RegisteredDocument {
            kind,
            year: year_of(today),
            number: 0,
            document_type,
            issuer_number,
            symbol,
            issued_on,
            summary,
            issuing_body,
            signer,
            urgency,
            secrecy,
            task_id: (!task_id.is_empty()).then(|| task_id.to_owned()),
            file_name,
            media_type: if media_type.is_empty() {
                "application/octet-stream".to_owned()
            } else {
                media_type
            },
            sha256: String::new(),
            size: input.content.len() as u64,
            registered_on: today,
        })
    }

    /// An archived dossier refuses every change to its task.
    async fn refuse_if_archived(&self, task_id: &str) -> Result<(), ApiError> {
        if self
            .dossiers
            .load(&dossier_stream(task_id))
            .await?
            .state
            .is_archived()
        {
            return Err(DossierError::Archived.into());
        }
        Ok(())
    }

    /// Closes (kết thúc) or archives (nộp lưu) a task's dossier.
    pub async fn change_dossier(
        &self,
        caller: &Caller,
        key: RequestKey,
        task_id: &str,
        archive_reference: Option<String>,
    ) -> Result<DossierView, ApiError> {
        if let Some(first) = self.store.replay(&key).await? {
            return match Outcome::read(&first)? {
                Outcome::Dossier { task_id } => self.dossier(&task_id).await,
                _ => Err(ApiError::Internal("another command's outcome".into())),
            };
        }
        let rpc = if archive_reference.is_some() {
            Rpc::ArchiveDossier
        } else {
            Rpc::CloseDossier
        };
        authorize(rpc, caller)?;
        let task_id = task_id.trim().to_owned();
        let today = business_date(self.clock.now());
        let command = match archive_reference {
            Some(reference) => {
                let mut v = Violations::default();
                let reference = v.text("archive_reference", &reference, 200);
                v.finish().map_err(ApiError::Invalid)?;
                DossierCommand::Archive { today, reference }
            }
            None => {
                let facts = self.facts_of(&task_id).await?;
                let status = self.view(facts, None).await?.status;
                DossierCommand::Close {
                    task_ended: matches!(status, TaskStatus::Completed | TaskStatus::Cancelled),
                    today,
                }
            }
        };
        self.facts_of(&task_id).await?;
        self.dossiers
            .execute(
                CommandEnvelope {
                    stream_id: dossier_stream(&task_id),
                    command: DossierRequest {
                        task_id: task_id.clone(),
                        command,
                    },
                    expected_version: None,
                    new_stream: false,
                    request: Some(key.clone()),
                    metadata: self.metadata(caller, &key.request_id),
                },
                |_| {
                    Outcome::Dossier {
                        task_id: task_id.clone(),
                    }
                    .stored()
                },
            )
            .await?;
        self.dossier(&task_id).await
    }

    /// `GetDossier`.
    pub async fn get_dossier(
        &self,
        caller: &Caller,
        task_id: &str,
    ) -> Result<DossierView, ApiError> {
        authorize(Rpc::GetDossier, caller)?;
        let facts = self.facts_of(task_id.trim()).await?;
        if !may_read(caller, &facts) {
            return Err(ApiError::denied(
                "NOT_YOUR_TASK",
                "a unit reads only the dossiers of tasks it leads or coordinates",
                "Đơn vị chỉ xem được hồ sơ nhiệm vụ mình chủ trì hoặc phối hợp.",
            ));
        }
        self.dossier(&facts.task_id).await
    }

    /// A dossier as it reads: the directing document, then every record by date.
    async fn dossier(&self, task_id: &str) -> Result<DossierView, ApiError> {
        let facts = self.facts_of(task_id).await?;
        let loaded = self.dossiers.load(&dossier_stream(task_id)).await?;
        let execution = self.view(facts.clone(), None).await?.state;
        let mut entries = Vec::new();
        if let Some(d) = &facts.directing_document {
            entries.push(DossierEntry {
                kind: "directing_document",
                date: d.date.clone(),
                summary: d.summary.clone(),
                reference: format!("{}/{}", d.number, d.symbol),
                document_id: String::new(),
                sha256: String::new(),
            });
        }
        let mut records = Vec::new();
        for document_id in self.task_documents.of_task(task_id).await? {
            let d = self.document(&document_id).await?;
            records.push(DossierEntry {
                kind: "registered_document",
                date: d.registered_on.to_string(),
                summary: format!("{} — {}", d.document_type, d.summary),
                reference: d.number_label(),
                document_id,
                sha256: d.sha256,
            });
        }
        let attachment = |date: NaiveDate, d: &DocumentRef| DossierEntry {
            kind: "attachment",
            date: date.to_string(),
            summary: d.file_name.clone(),
            sha256: d.sha256.clone(),
            ..blank_entry()
        };
        for r in &execution.reports {
            records.push(DossierEntry {
                kind: "progress_report",
                date: r.reported_on.to_string(),
                summary: format!("{}% — {}", r.percent, r.narrative),
                ..blank_entry()
            });
            records.extend(r.documents.iter().map(|d| attachment(r.reported_on, d)));
        }
        for c in &execution.coordinations {
            if let Some(crate::domain::Settlement::Answered { reply, on }) = &c.settled {
                records.push(DossierEntry {
                    kind: "coordination_reply",
                    date: on.to_string(),
                    summary: format!("{}: {reply}", c.unit),
                    ..blank_entry()
                });
            }
        }
        for s in &execution.submissions {
            records.push(DossierEntry {
                kind: "result",
                date: s.submitted_on.to_string(),
                summary: s.summary.clone(),
                ..blank_entry()
            });
            records.extend(s.documents.iter().map(|d| attachment(s.submitted_on, d)));
        }
        // ISO dates sort as text; the sort is stable, so one day keeps its order of kinds.
        records.sort_by(|a, b| a.date.cmp(&b.date));
        entries.extend(records);
        Ok(DossierView {
            facts,
            state: loaded.state,
            version: loaded.version,
            entries,
        })
    }

    /// A registered document, from its register's stream.
    async fn document(&self, document_id: &str) -> Result<RegisteredDocument, ApiError> {
        let not_found = || ApiError::NotFound(format!("no document {document_id}"));
        let (stream_id, number) = parse_document_id(document_id).ok_or_else(not_found)?;
        let loaded = self.registers.load(&stream_id).await?;
        let recorded = loaded
            .history
            .iter()
            .find(|e| e.stream_version == u64::from(number))
            .ok_or_else(not_found)?;
        Ok(recorded
            .decode::<crate::domain::register::DocumentEntered>()?
            .document)
    }

    /// `GetAttachment`: a document attached to one of the task's reports or results, hashed
    /// again on the way out; only the task's own attachments are served.
    pub async fn get_attachment(
        &self,
        caller: &Caller,
        task_id: &str,
        sha256: &str,
    ) -> Result<(DocumentRef, Vec<u8>, bool), ApiError> {
        let view = self.get_execution(caller, task_id).await?;
        let document = view
            .state
            .attachments()
            .find(|d| d.sha256 == sha256.trim())
            .cloned()
            .ok_or_else(|| {
                ApiError::NotFound(format!("task {task_id} has no attachment {sha256}"))
            })?;
        let content = self.blobs.get(&document.sha256).await?.ok_or_else(|| {
            ApiError::Internal(format!(
                "attachment {} of {task_id} is missing from the document store",
                document.sha256
            ))
        })?;
        let verified = crate::blobs::sha256_hex(&content) == document.sha256;
        Ok((document, content, verified))
    }

    /// `ListRegister`: the year's register of `kind`, in number order.
    pub async fn list_register(
        &self,
        caller: &Caller,
        kind: RegisterKind,
        year: i32,
    ) -> Result<Vec<RegisteredDocument>, ApiError> {
        authorize(Rpc::ListRegister, caller)?;
        let loaded = self.registers.load(&kind.stream_id(year)).await?;
        loaded
            .history
            .iter()
            .map(|e| {
                e.decode::<crate::domain::register::DocumentEntered>()
                    .map(|d| d.document)
                    .map_err(ApiError::from)
            })
            .collect()
    }

    /// `GetDocument`: the document and its content, hashed again on the way out. A unit reads
    /// only the documents of tasks it leads or coordinates.
    pub async fn get_document(
        &self,
        caller: &Caller,
        document_id: &str,
    ) -> Result<DocumentWithContent, ApiError> {
        authorize(Rpc::GetDocument, caller)?;
        let document = self.document(document_id).await?;
        if caller.role == Role::Unit {
            let facts = match &document.task_id {
                Some(task_id) => self.facts.get(task_id).await?,
                None => None,
            };
            if !facts.is_some_and(|facts| may_read(caller, &facts)) {
                return Err(ApiError::denied(
                    "NOT_YOUR_DOCUMENT",
                    "a unit reads only the documents of tasks it leads or coordinates",
                    "Đơn vị chỉ xem được văn bản của nhiệm vụ mình chủ trì hoặc phối hợp.",
                ));
            }
        }
        let content = self.blobs.get(&document.sha256).await?.ok_or_else(|| {
            ApiError::Internal(format!(
                "the content of {document_id} ({}) is missing from the document store",
                document.sha256
            ))
        })?;
        let verified = crate::blobs::sha256_hex(&content) == document.sha256;
        Ok(DocumentWithContent {
            document,
            content,
            verified,
        })
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
                if matches(&filter, &view, as_of) {
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

fn matches(filter: &ExecutionFilter, view: &ExecutionView, as_of: NaiveDate) -> bool {
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
        if !open || DeadlineClass::of(view.facts.deadline_on(as_of), as_of) != class {
            return false;
        }
    }
    true
}
