//! The command and query handlers of the assignment service: what each call does, in domain
//! terms, whatever transport brought it.
//!
//! Every mutating handler reads the same way:
//!
//! 1. **replay first** (AIP-155): a `request_id` seen before returns the first outcome, before
//!    anything that may have changed since the first attempt — the caller's permissions, the
//!    directories valid today, the task's state — is looked at;
//! 2. **authorise** ([`policy`]): who may call this, and on which task;
//! 3. **validate** (pure domain validation against the unit and leader directories valid on
//!    the day: every violation named, nothing written);
//! 4. **run** the command through the repository (optimistic concurrency, group commit), saving
//!    its outcome with its events so a retry can return it.
//!
//! The gRPC adapter ([`crate::grpc`]) turns protobuf requests into the inputs here and the
//! results into protobuf; [`error::ApiError`] is mapped to a gRPC status in one place there.

pub mod error;
pub mod policy;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use dondoc_eventsourcing::repository::{CommandEnvelope, Executed, Loaded, Repository};
use dondoc_eventsourcing::{
    Actor, EventMetadata, EventStore, RecordedEvent, RequestKey, StoredOutcome,
};
use dondoc_runtime::auth::{Principal, Role};
use dondoc_runtime::clock::SharedClock;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::consumers::execution_status::{ExecutionStatusReader, effective_status};
use crate::consumers::task_list::{TaskFilter, TaskListReader};
use crate::domain::search::{sort_units, unit_matches};
use crate::domain::values::{REASON_MAX, format_date, text};
use crate::domain::{
    AssignTaskInput, AssignmentContext, DeadlineClass, DirectoryVersion, ImportDirectory,
    ImportLeaders, Leader, LeaderDirectory, LeaderRoster, Requester, Task, TaskCommand, TaskEvent,
    TaskId, TaskRecord, Unit, UnitCode, UnitDirectory, parse_directory_toml, parse_leaders_toml,
    validate_assignment, validate_extension, validate_extension_decision,
    validate_extension_request, validate_reason, validate_reassignment,
};
use error::ApiError;
use policy::{
    Rpc, authorize, may_act_as_authority, may_assign_as, may_decide_extension, may_read_task,
};

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

/// What a command's first attempt answered, saved with its events (AIP-155). Only what is
/// needed to give a retry the same answer: the task is re-read at the version the first attempt
/// left it, which is the same record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// The task as it stood at `version`, judged against its deadline at `judged_at`, the
    /// instant the command was handled. (Absent from outcomes stored before deadline classes:
    /// those are judged at the task's last event.)
    Task {
        task_id: String,
        version: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        judged_at: Option<DateTime<Utc>>,
    },
    /// The lead unit's hand-off attempt, recorded and refused (rule 2).
    HandOffRefused { task_id: String },
    /// A unit directory import.
    Import(ImportSummary),
    /// A leader directory import.
    Leaders(LeadersSummary),
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

fn mismatched(outcome: &Outcome) -> ApiError {
    ApiError::Internal(format!(
        "a request was answered with an outcome of another kind: {outcome:?}"
    ))
}

/// What a unit directory import did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Directory versions whose content changed.
    pub imported: u32,
    pub unchanged: u32,
    pub units: u32,
}

/// What a leader directory import did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadersSummary {
    pub leaders: u32,
    pub changed: bool,
}

/// A page of one directory version's units.
#[derive(Clone, Debug)]
pub struct UnitPage {
    pub version: Option<Arc<DirectoryVersion>>,
    pub units: Vec<Unit>,
    pub next_offset: Option<usize>,
}

/// `ListUnits`, already parsed.
#[derive(Clone, Debug)]
pub struct UnitQuery {
    pub as_of: Option<NaiveDate>,
    pub kind: Option<String>,
    /// Words of the name or the code.
    pub search: Option<String>,
    pub offset: usize,
    pub limit: usize,
}

/// A task and where it stands against its deadline at the instant asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskView {
    pub record: TaskRecord,
    pub deadline_class: Option<DeadlineClass>,
}

/// A page of the task list.
#[derive(Clone, Debug, Default)]
pub struct TaskViewPage {
    pub tasks: Vec<TaskView>,
    pub next_after: Option<i64>,
}

/// `ReassignTask`, as received.
#[derive(Clone, Debug, Default)]
pub struct ReassignInput {
    pub task_id: String,
    pub new_lead_unit: String,
    pub new_coordinating_units: Vec<String>,
    pub reason: String,
    /// 0 = no check.
    pub expected_version: u64,
}

/// `ExtendDeadline`, as received.
#[derive(Clone, Debug, Default)]
pub struct ExtendInput {
    pub task_id: String,
    pub new_deadline: String,
    pub reason: String,
    pub requested_on: String,
    pub approved_by_leader_id: String,
    pub expected_version: u64,
}

/// `RequestExtension`, as received.
#[derive(Clone, Debug, Default)]
pub struct RequestExtensionInput {
    pub task_id: String,
    pub proposed_deadline: String,
    pub reason: String,
    pub requested_on: String,
    pub expected_version: u64,
}

/// A lead unit's request made in the progress service (an extension, or a hand-off attempt),
/// as its event carried it.
#[derive(Clone, Debug, Default)]
pub struct ForwardedRequest {
    /// The progress event's id: the request id under which it is recorded here, once.
    pub event_id: String,
    pub task_id: String,
    pub extension_id: String,
    /// The unit a hand-off attempt named.
    pub requested_unit: String,
    pub proposed_deadline: String,
    pub reason: String,
    pub requested_on: String,
    /// The lead unit's officer who asked.
    pub actor_subject: String,
    pub correlation_id: String,
}

/// The lead unit's officer, as the progress event named them.
fn forwarded_caller(request: &ForwardedRequest, lead_unit: &str) -> Caller {
    Caller {
        principal: Principal {
            subject: request.actor_subject.clone(),
            role: Role::Unit,
            unit_code: Some(lead_unit.to_owned()),
            leader_id: None,
        },
        correlation_id: request.correlation_id.clone(),
    }
}

/// `DecideExtension`, as received.
#[derive(Clone, Debug, Default)]
pub struct DecideExtensionInput {
    pub task_id: String,
    pub extension_id: String,
    /// `None` when the request named no decision.
    pub approve: Option<bool>,
    pub new_deadline: String,
    pub reason: String,
    pub leader_id: String,
    pub expected_version: u64,
}

/// `CancelTask`, as received.
#[derive(Clone, Debug, Default)]
pub struct CancelInput {
    pub task_id: String,
    pub reason: String,
    pub expected_version: u64,
}

/// How the service judges deadlines (settings).
#[derive(Clone, Copy, Debug)]
pub struct DeadlinePolicy {
    /// Days before the deadline from which a task is near due (sắp đến hạn).
    pub near_due_days: u32,
}

/// The handlers and what they share.
/// Task views kept by [`Handlers::load_record`] at most.
const RECORD_CACHE_CAPACITY: usize = 10_000;

#[derive(Clone)]
pub struct Handlers {
    tasks: Repository<Task>,
    /// Task views at the version they were built from: reading a task then costs one index
    /// lookup (has the stream moved?) instead of reading and decoding its whole stream.
    records: Arc<std::sync::Mutex<HashMap<TaskId, TaskRecord>>>,
    directories: Repository<UnitDirectory>,
    leaders: Repository<LeaderDirectory>,
    store: EventStore,
    task_list: TaskListReader,
    /// How far each task's execution has got, from the progress service.
    executions: ExecutionStatusReader,
    clock: SharedClock,
    deadlines: DeadlinePolicy,
}

impl Handlers {
    pub fn new(
        store: EventStore,
        task_list: TaskListReader,
        executions: ExecutionStatusReader,
        clock: SharedClock,
        deadlines: DeadlinePolicy,
    ) -> Self {
        Self {
            tasks: Repository::new(store.clone()),
            records: Arc::new(std::sync::Mutex::new(HashMap::new())),
            directories: Repository::new(store.clone()),
            leaders: Repository::new(store.clone()),
            store,
            task_list,
            executions,
            clock,
            deadlines,
        }
    }

    /// The task with the status it has everywhere: its own (assigned, cancelled) combined
    /// with its execution's in the progress service.
    async fn with_execution(&self, mut record: TaskRecord) -> Result<TaskRecord, ApiError> {
        let execution = self
            .executions
            .status_of(&record.task_id.to_string())
            .await?;
        record.status = effective_status(record.status, execution);
        Ok(record)
    }

    fn metadata(&self, caller: &Caller, request_id: &str) -> EventMetadata {
        EventMetadata {
            occurred_at: dondoc_eventsourcing::store::storable_time(self.clock.now()),
            actor: Actor {
                subject: caller.subject.clone(),
                role: caller.role.as_str().to_owned(),
                unit_code: caller.unit_code.clone().unwrap_or_default(),
                leader_id: caller.leader_id.clone().unwrap_or_default(),
            },
            correlation_id: caller.correlation_id.clone(),
            causation_id: request_id.to_owned(),
            traceparent: dondoc_runtime::telemetry::current_traceparent().unwrap_or_default(),
        }
    }

    fn view(&self, record: TaskRecord, at: DateTime<Utc>) -> TaskView {
        let deadline_class = record.deadline_class(at, self.deadlines.near_due_days);
        TaskView {
            record,
            deadline_class,
        }
    }

    /// Every directory version ever imported, oldest first.
    /// The unit directory version valid on `date`. The directory is kept decoded and only read
    /// again when its stream has moved (one index lookup per call), since every command
    /// consults it and it changes about once a year.
    async fn directory_on(
        &self,
        date: NaiveDate,
    ) -> Result<Option<Arc<DirectoryVersion>>, ApiError> {
        Ok(self
            .directories
            .load_shared(UnitDirectory::STREAM_ID)
            .await?
            .state
            .valid_on(date))
    }

    /// The leader directory, kept decoded like the unit directory.
    async fn roster(&self) -> Result<LeaderRoster, ApiError> {
        Ok(self
            .leaders
            .load_shared(LeaderDirectory::STREAM_ID)
            .await?
            .state
            .roster())
    }

    async fn load_task(&self, task_id: &TaskId) -> Result<Loaded<Task>, ApiError> {
        let loaded = self.tasks.load(&task_id.to_string()).await?;
        if loaded.version == 0 {
            return Err(ApiError::NotFound(format!("no task {task_id}")));
        }
        Ok(loaded)
    }

    /// The task as it stands, from the cache when its stream has not moved since.
    async fn load_record(&self, task_id: &TaskId) -> Result<TaskRecord, ApiError> {
        let version = self.store.stream_version(&task_id.to_string()).await?;
        if version == 0 {
            return Err(ApiError::NotFound(format!("no task {task_id}")));
        }
        let cached = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(task_id)
            .filter(|record| record.version == version)
            .cloned();
        if let Some(record) = cached {
            return Ok(record);
        }
        let record = record_of(self.load_task(task_id).await?.history.iter())?;
        self.remember(task_id, &record);
        Ok(record)
    }

    /// Keeps `record` for [`Handlers::load_record`]; the cache is emptied when full, which
    /// bounds its memory without the bookkeeping of an LRU.
    fn remember(&self, task_id: &TaskId, record: &TaskRecord) {
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if records.len() >= RECORD_CACHE_CAPACITY && !records.contains_key(task_id) {
            records.clear();
        }
        let newer = records
            .get(task_id)
            .is_none_or(|known| known.version < record.version);
        if newer {
            records.insert(*task_id, record.clone());
        }
    }

    /// The answer saved by a command's first attempt, if this request id was seen before.
    async fn replayed(&self, key: &RequestKey) -> Result<Option<Outcome>, ApiError> {
        match self.store.replay(key).await? {
            Some(first) => Outcome::read(&first).map(Some),
            None => Ok(None),
        }
    }

    /// The response to a task command's outcome (first or replayed).
    async fn task_answer(&self, outcome: Outcome) -> Result<TaskView, ApiError> {
        match outcome {
            Outcome::Task {
                task_id,
                version,
                judged_at,
            } => {
                let task_id = TaskId::parse(&task_id)
                    .map_err(|e| ApiError::Internal(format!("stored outcome: {e}")))?;
                let loaded = self.load_task(&task_id).await?;
                let record = record_of(
                    loaded
                        .history
                        .iter()
                        .take_while(|event| event.stream_version <= version),
                )?;
                // Judged at the command's own instant, so a retry gets the same answer. Not at
                // the task's last event: an imported historical task's events carry its past
                // dates, and its class is the one on the day it was imported.
                let at = judged_at.unwrap_or(record.updated_at);
                Ok(self.view(self.with_execution(record).await?, at))
            }
            Outcome::HandOffRefused { .. } => Err(ApiError::HandOffRefused),
            other => Err(mismatched(&other)),
        }
    }

    /// Runs a task command and answers with the task as it now stands, or the recorded refusal.
    async fn run_task_command(
        &self,
        task_id: &TaskId,
        command: TaskCommand,
        expected_version: u64,
        key: RequestKey,
        metadata: EventMetadata,
    ) -> Result<TaskView, ApiError> {
        let judged_at = Some(self.clock.now());
        // An assignment starts a stream whose id was just drawn: there is nothing to read.
        let new_stream = matches!(command, TaskCommand::Assign(_));
        let executed = self
            .tasks
            .execute(
                CommandEnvelope {
                    stream_id: task_id.to_string(),
                    command,
                    expected_version: (expected_version > 0).then_some(expected_version),
                    new_stream,
                    request: Some(key),
                    metadata,
                },
                |decision| {
                    let task_id = task_id.to_string();
                    if decision
                        .new_events
                        .iter()
                        .any(TaskEvent::is_hand_off_refused)
                    {
                        Outcome::HandOffRefused { task_id }.stored()
                    } else {
                        Outcome::Task {
                            task_id,
                            version: decision.new_version,
                            judged_at,
                        }
                        .stored()
                    }
                },
            )
            .await?;
        match executed {
            // The history came back with the result: answer without reading the stream again.
            Executed::Applied {
                outcome, history, ..
            } => match Outcome::read(&outcome)? {
                Outcome::Task {
                    version, judged_at, ..
                } => {
                    let record = record_of(
                        history
                            .iter()
                            .take_while(|event| event.stream_version <= version),
                    )?;
                    self.remember(task_id, &record);
                    let at = judged_at.unwrap_or(record.updated_at);
                    Ok(self.view(self.with_execution(record).await?, at))
                }
                other => self.task_answer(other).await,
            },
            Executed::Replayed(outcome) => self.task_answer(Outcome::read(&outcome)?).await,
        }
    }

    /// `ImportUnits`: a whole file is one command, imported entirely or not at all.
    pub async fn import_units(
        &self,
        caller: &Caller,
        key: RequestKey,
        toml: &str,
    ) -> Result<ImportSummary, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return match first {
                Outcome::Import(summary) => Ok(summary),
                other => Err(mismatched(&other)),
            };
        }
        authorize(Rpc::ImportUnits, caller)?;
        let versions = parse_directory_toml(toml).map_err(ApiError::Invalid)?;
        let total = versions.len();
        let units = count(versions.iter().map(|v| v.units.len()).sum::<usize>());
        let metadata = self.metadata(caller, &key.request_id);
        let executed = self
            .directories
            .execute(
                CommandEnvelope {
                    stream_id: UnitDirectory::STREAM_ID.to_owned(),
                    command: ImportDirectory(versions),
                    expected_version: None,
                    new_stream: false,
                    request: Some(key),
                    metadata,
                },
                |decision| {
                    let imported = decision.new_events.len();
                    Outcome::Import(ImportSummary {
                        imported: count(imported),
                        unchanged: count(total - imported),
                        units,
                    })
                    .stored()
                },
            )
            .await?;
        let outcome = match executed {
            Executed::Applied { outcome, .. } | Executed::Replayed(outcome) => outcome,
        };
        match Outcome::read(&outcome)? {
            Outcome::Import(summary) => Ok(summary),
            other => Err(mismatched(&other)),
        }
    }

    /// `ListUnits`: the directory version valid on a date (today by default), in Vietnamese
    /// alphabetical order, optionally only the units a search finds.
    pub async fn list_units(
        &self,
        caller: &Caller,
        query: UnitQuery,
    ) -> Result<UnitPage, ApiError> {
        authorize(Rpc::ListUnits, caller)?;
        let as_of = query.as_of.unwrap_or_else(|| self.clock.today());
        let Some(version) = self.directory_on(as_of).await? else {
            return Ok(UnitPage {
                version: None,
                units: Vec::new(),
                next_offset: None,
            });
        };
        let mut matching: Vec<Unit> = version
            .units
            .iter()
            .filter(|u| {
                query
                    .kind
                    .as_deref()
                    .is_none_or(|kind| u.kind.as_str() == kind)
            })
            .filter(|u| query.search.as_deref().is_none_or(|q| unit_matches(u, q)))
            .cloned()
            .collect();
        sort_units(&mut matching);
        let total = matching.len();
        let units: Vec<Unit> = matching
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .collect();
        let next = query.offset + units.len();
        Ok(UnitPage {
            next_offset: (next < total).then_some(next),
            units,
            version: Some(version),
        })
    }

    /// `GetUnit`: one unit of the directory valid on a date.
    pub async fn get_unit(
        &self,
        caller: &Caller,
        code: &UnitCode,
        as_of: Option<NaiveDate>,
    ) -> Result<(Unit, Arc<DirectoryVersion>), ApiError> {
        authorize(Rpc::GetUnit, caller)?;
        let as_of = as_of.unwrap_or_else(|| self.clock.today());
        let version = self.directory_on(as_of).await?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "no unit directory is valid on {}",
                format_date(as_of)
            ))
        })?;
        let unit = version.unit(code).cloned().ok_or_else(|| {
            ApiError::NotFound(format!(
                "no unit {code} in the directory valid on {}",
                format_date(as_of)
            ))
        })?;
        Ok((unit, version))
    }

    /// `ImportLeaders`: the leader directory, replaced as a whole.
    pub async fn import_leaders(
        &self,
        caller: &Caller,
        key: RequestKey,
        toml: &str,
    ) -> Result<LeadersSummary, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return match first {
                Outcome::Leaders(summary) => Ok(summary),
                other => Err(mismatched(&other)),
            };
        }
        authorize(Rpc::ImportLeaders, caller)?;
        let leaders = parse_leaders_toml(toml).map_err(ApiError::Invalid)?;
        let total = count(leaders.len());
        let metadata = self.metadata(caller, &key.request_id);
        let executed = self
            .leaders
            .execute(
                CommandEnvelope {
                    stream_id: LeaderDirectory::STREAM_ID.to_owned(),
                    command: ImportLeaders(leaders),
                    expected_version: None,
                    new_stream: false,
                    request: Some(key),
                    metadata,
                },
                |decision| {
                    Outcome::Leaders(LeadersSummary {
                        leaders: total,
                        changed: !decision.new_events.is_empty(),
                    })
                    .stored()
                },
            )
            .await?;
        let outcome = match executed {
            Executed::Applied { outcome, .. } | Executed::Replayed(outcome) => outcome,
        };
        match Outcome::read(&outcome)? {
            Outcome::Leaders(summary) => Ok(summary),
            other => Err(mismatched(&other)),
        }
    }

    /// `ListLeaders`: the leaders in office on a date (today by default).
    pub async fn list_leaders(
        &self,
        caller: &Caller,
        as_of: Option<NaiveDate>,
    ) -> Result<Vec<Leader>, ApiError> {
        authorize(Rpc::ListLeaders, caller)?;
        let as_of = as_of.unwrap_or_else(|| self.clock.today());
        let roster = self.roster().await?;
        Ok(roster.in_office_on(as_of).into_iter().cloned().collect())
    }

    /// `AssignTask`.
    pub async fn assign_task(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &AssignTaskInput,
    ) -> Result<TaskView, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return self.task_answer(first).await;
        }
        authorize(Rpc::AssignTask, caller)?;
        let today = self.clock.today();
        let metadata = self.metadata(caller, &key.request_id);
        self.record_assignment(caller, key, input, today, None, metadata)
            .await
    }

    /// `ImportHistoricalTask`: a task assigned in the past, brought in from a paper register.
    /// Units and leaders are those valid on that day, the deadline may have passed, and the
    /// event says it was imported and why (its business time is the assignment day; the
    /// import's own time is the event's recorded time).
    pub async fn import_historical_task(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &AssignTaskInput,
        assigned_on: &str,
        reason: &str,
    ) -> Result<TaskView, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return self.task_answer(first).await;
        }
        authorize(Rpc::ImportHistoricalTask, caller)?;
        let today = self.clock.today();
        let mut violations = Vec::new();
        let assigned_on = crate::domain::values::parse_date(assigned_on)
            .map_err(|e| violations.push(e.at("assigned_on")))
            .ok();
        if let Some(day) = assigned_on
            && day >= today
        {
            violations.push(crate::domain::FieldViolation::new(
                "assigned_on",
                format!(
                    "a historical record was assigned before today ({}); a task assigned today \
                     is recorded with AssignTask",
                    format_date(today)
                ),
            ));
        }
        let reason = validate_reason(reason)
            .map_err(|v| violations.extend(v))
            .ok();
        let (Some(assigned_on), Some(reason)) = (assigned_on, reason) else {
            return Err(ApiError::Invalid(violations));
        };
        if !violations.is_empty() {
            return Err(ApiError::Invalid(violations));
        }
        let mut metadata = self.metadata(caller, &key.request_id);
        metadata.occurred_at = start_of_business_day(assigned_on);
        self.record_assignment(caller, key, input, assigned_on, Some(&reason), metadata)
            .await
    }

    async fn record_assignment(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &AssignTaskInput,
        assigned_on: NaiveDate,
        historical: Option<&str>,
        metadata: EventMetadata,
    ) -> Result<TaskView, ApiError> {
        let units = self.directory_on(assigned_on).await?;
        let leaders = self.roster().await?;
        let task_id = TaskId::from_uuid(Uuid::now_v7());
        let command = validate_assignment(
            input,
            AssignmentContext {
                units: units.as_deref(),
                leaders: &leaders,
                assigned_on,
                historical,
            },
            task_id,
        )
        .map_err(ApiError::Invalid)?;
        if !may_assign_as(caller, &command.assignment.assigner) {
            return Err(ApiError::denied(
                "ASSIGN_IN_OWN_NAME",
                "a leader assigns tasks only in their own name (assignment.assigner.leader_id); \
                 the Office records tasks of other assigners",
                "Lãnh đạo chỉ giao nhiệm vụ với danh nghĩa của chính mình; Văn phòng ghi nhận \
                 nhiệm vụ do người khác giao.",
            ));
        }
        self.run_task_command(&task_id, TaskCommand::Assign(command), 0, key, metadata)
            .await
    }

    /// `GetTask`: read from the task's own stream, so it is current the moment a command
    /// returns.
    pub async fn get_task(&self, caller: &Caller, task_id: &str) -> Result<TaskView, ApiError> {
        authorize(Rpc::GetTask, caller)?;
        let task_id = parse_task_id(task_id)?;
        let record = self.load_record(&task_id).await?;
        if !may_read_task(caller, &record) {
            return Err(ApiError::denied(
                "UNIT_SCOPE",
                "a unit may only read tasks it leads or coordinates",
                "Đơn vị chỉ xem được nhiệm vụ mình chủ trì hoặc phối hợp.",
            ));
        }
        Ok(self.view(self.with_execution(record).await?, self.clock.now()))
    }

    /// `ListTasks`: from the task list read model. A unit sees its own tasks only. Classes
    /// are judged at `as_of` (the end of that business day), or now.
    pub async fn list_tasks(
        &self,
        caller: &Caller,
        mut filter: TaskFilter,
        as_of: Option<NaiveDate>,
    ) -> Result<TaskViewPage, ApiError> {
        authorize(Rpc::ListTasks, caller)?;
        if caller.role == Role::Unit {
            let own = caller.unit_code.clone().unwrap_or_default();
            match &filter.unit {
                Some(asked) if asked != &own => {
                    return Err(ApiError::denied(
                        "UNIT_SCOPE",
                        "a unit may only list its own tasks",
                        "Đơn vị chỉ xem được danh sách nhiệm vụ của mình.",
                    ));
                }
                _ => filter.unit = Some(own),
            }
        }
        let at = as_of.map_or_else(|| self.clock.now(), end_of_business_day);
        let near_due_days = self.deadlines.near_due_days;
        let page = self
            .task_list
            .list(&filter, |record| {
                let class = record.deadline_class(at, near_due_days);
                match filter.deadline_class {
                    Some(wanted) => class == Some(wanted),
                    None => true,
                }
            })
            .await?;
        Ok(TaskViewPage {
            tasks: page
                .tasks
                .into_iter()
                .map(|record| self.view(record, at))
                .collect(),
            next_after: page.next_after,
        })
    }

    /// `ReassignTask`. A lead unit asking gets its attempt recorded and refused (rule 2).
    pub async fn reassign_task(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &ReassignInput,
    ) -> Result<TaskView, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return self.task_answer(first).await;
        }
        authorize(Rpc::ReassignTask, caller)?;
        let task_id = parse_task_id(&input.task_id)?;
        let task = self.load_record(&task_id).await?;
        let today = self.clock.today();
        let roster = self.roster().await?;
        let command = if caller.role == Role::Unit {
            // Only the lead unit gets this far, and only to have its attempt recorded and
            // refused by the rule (the requested unit is kept as said, valid or not).
            let own = caller.unit_code.clone().unwrap_or_default();
            if own != task.lead_unit.as_str() {
                return Err(ApiError::denied(
                    "NOT_ISSUING_AUTHORITY",
                    "only the issuing authority, or the Office on its behalf, may reassign a task",
                    "Chỉ cơ quan, người giao nhiệm vụ (hoặc Văn phòng thay mặt) được giao lại \
                     nhiệm vụ.",
                ));
            }
            let mut violations = Vec::new();
            let requested = UnitCode::parse(&input.new_lead_unit)
                .map_err(|e| violations.push(e.at("new_lead_unit")))
                .ok();
            // Recorded whatever it says (it is evidence), but bounded and clean like any reason.
            let reason = text::optional_lines(&input.reason, REASON_MAX)
                .map_err(|e| violations.push(e.at("reason")))
                .ok();
            match (requested, reason) {
                (Some(requested), Some(reason)) if violations.is_empty() => TaskCommand::Reassign {
                    requested_by: Requester::Unit(task.lead_unit.clone()),
                    new_lead_unit: requested,
                    new_coordinating_units: Vec::new(),
                    reason: reason.unwrap_or_default(),
                    supervising_leader_id: None,
                },
                _ => return Err(ApiError::Invalid(violations)),
            }
        } else {
            if !may_act_as_authority(caller, &task, &roster, today) {
                return Err(not_the_authority("reassign"));
            }
            let directory = self.directory_on(today).await?;
            validate_reassignment(
                Requester::Authority,
                &input.new_lead_unit,
                &input.new_coordinating_units,
                &input.reason,
                directory.as_deref(),
                &roster,
                today,
            )
            .map_err(ApiError::Invalid)?
        };
        let metadata = self.metadata(caller, &key.request_id);
        self.run_task_command(&task_id, command, input.expected_version, key, metadata)
            .await
    }

    /// The leader an extension decision is recorded for: the caller if a leader (who may name
    /// only themselves), otherwise the leader the Office names. Either must be one who may
    /// decide extensions of this task.
    fn deciding_leader(
        &self,
        caller: &Caller,
        named: &str,
        field: &str,
        task: &TaskRecord,
        roster: &LeaderRoster,
        today: NaiveDate,
    ) -> Result<String, ApiError> {
        let named = named.trim();
        let leader_id = match caller.role {
            Role::Leader => {
                let own = caller.leader_id.clone().unwrap_or_default();
                if !named.is_empty() && named != own {
                    return Err(ApiError::invalid(
                        field,
                        "a leader decides in their own name; leave it empty or give your own id",
                    ));
                }
                own
            }
            _ => {
                if named.is_empty() {
                    return Err(ApiError::invalid(
                        field,
                        "name the leader who decided (the Office records on a leader's behalf)",
                    ));
                }
                if roster.leader_on(named, today).is_none() {
                    return Err(ApiError::invalid(
                        field,
                        format!(
                            "unknown leader {named}: nobody with this id is in office on {}",
                            format_date(today)
                        ),
                    ));
                }
                named.to_owned()
            }
        };
        if !may_decide_extension(&leader_id, task, roster, today) {
            return Err(match caller.role {
                Role::Leader => not_the_authority("decide extensions of"),
                _ => ApiError::invalid(
                    field,
                    format!(
                        "{leader_id} may not decide extensions of this task: the assigning \
                         leader, the Chairman or the supervising Vice-Chairman decides"
                    ),
                ),
            });
        }
        Ok(leader_id)
    }

    /// `ExtendDeadline`: an extension requested and approved together, judged by the day it
    /// was requested; or a first deadline for a task that had none.
    pub async fn extend_deadline(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &ExtendInput,
    ) -> Result<TaskView, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return self.task_answer(first).await;
        }
        authorize(Rpc::ExtendDeadline, caller)?;
        let task_id = parse_task_id(&input.task_id)?;
        let task = self.load_record(&task_id).await?;
        let today = self.clock.today();
        let roster = self.roster().await?;
        if !may_act_as_authority(caller, &task, &roster, today) {
            return Err(not_the_authority("extend the deadline of"));
        }
        let leader = self.deciding_leader(
            caller,
            &input.approved_by_leader_id,
            "approved_by_leader_id",
            &task,
            &roster,
            today,
        )?;
        let command = validate_extension(
            &input.new_deadline,
            &input.reason,
            &input.requested_on,
            &leader,
            today,
        )
        .map_err(ApiError::Invalid)?;
        let metadata = self.metadata(caller, &key.request_id);
        self.run_task_command(&task_id, command, input.expected_version, key, metadata)
            .await
    }

    /// `RequestExtension`: the lead unit asks (or the Office records its paper request).
    pub async fn request_extension(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &RequestExtensionInput,
    ) -> Result<TaskView, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return self.task_answer(first).await;
        }
        authorize(Rpc::RequestExtension, caller)?;
        let task_id = parse_task_id(&input.task_id)?;
        let task = self.load_record(&task_id).await?;
        if caller.role == Role::Unit && caller.unit_code.as_deref() != Some(task.lead_unit.as_str())
        {
            return Err(ApiError::denied(
                "NOT_LEAD_UNIT",
                "only the lead unit asks for a later deadline",
                "Chỉ đơn vị chủ trì được đề nghị gia hạn.",
            ));
        }
        let command = validate_extension_request(
            Uuid::now_v7().to_string(),
            &input.proposed_deadline,
            &input.reason,
            &input.requested_on,
            Some(task.lead_unit.clone()),
            self.clock.today(),
        )
        .map_err(ApiError::Invalid)?;
        let metadata = self.metadata(caller, &key.request_id);
        self.run_task_command(&task_id, command, input.expected_version, key, metadata)
            .await
    }

    /// Records on the task an extension request its lead unit made in the progress service,
    /// with the progress service's extension id (the leader's decision refers to it and flows
    /// back). The rules of the task judge it again: a request the task cannot take is refused.
    pub async fn record_forwarded_extension(
        &self,
        request: &ForwardedRequest,
    ) -> Result<(), ApiError> {
        let key = RequestKey {
            request_id: format!("progress:{}", request.event_id),
            fingerprint: "progress-extension-request".to_owned(),
        };
        if self.replayed(&key).await?.is_some() {
            return Ok(());
        }
        let task_id = parse_task_id(&request.task_id)?;
        let task = self.load_record(&task_id).await?;
        let command = validate_extension_request(
            request.extension_id.clone(),
            &request.proposed_deadline,
            &request.reason,
            &request.requested_on,
            Some(task.lead_unit.clone()),
            self.clock.today(),
        )
        .map_err(ApiError::Invalid)?;
        let caller = forwarded_caller(request, task.lead_unit.as_str());
        let metadata = self.metadata(&caller, &key.request_id);
        self.run_task_command(&task_id, command, 0, key, metadata)
            .await
            .map(|_| ())
    }

    /// Records on the task a hand-off attempt its lead unit made in the progress service: the
    /// same evidence as an attempt made here (rule 2), refused the same way.
    pub async fn record_forwarded_hand_off(
        &self,
        request: &ForwardedRequest,
    ) -> Result<(), ApiError> {
        let key = RequestKey {
            request_id: format!("progress:{}", request.event_id),
            fingerprint: "progress-hand-off".to_owned(),
        };
        let task_id = parse_task_id(&request.task_id)?;
        let task = self.load_record(&task_id).await?;
        let caller = forwarded_caller(request, task.lead_unit.as_str());
        let attempt = ReassignInput {
            task_id: request.task_id.clone(),
            new_lead_unit: request.requested_unit.clone(),
            reason: request.reason.clone(),
            ..ReassignInput::default()
        };
        match self.reassign_task(&caller, key, &attempt).await {
            // Recorded and refused, as the rule wants.
            Err(ApiError::HandOffRefused) => Ok(()),
            Ok(_) => Err(ApiError::Internal(
                "a lead unit's hand-off attempt was not refused".into(),
            )),
            Err(error) => Err(error),
        }
    }

    /// `DecideExtension`: the leader approves or rejects a pending request.
    pub async fn decide_extension(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &DecideExtensionInput,
    ) -> Result<TaskView, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return self.task_answer(first).await;
        }
        authorize(Rpc::DecideExtension, caller)?;
        let task_id = parse_task_id(&input.task_id)?;
        let task = self.load_record(&task_id).await?;
        let today = self.clock.today();
        let roster = self.roster().await?;
        let leader =
            self.deciding_leader(caller, &input.leader_id, "leader_id", &task, &roster, today)?;
        let command = validate_extension_decision(
            &input.extension_id,
            input.approve,
            &input.new_deadline,
            &input.reason,
            &leader,
            today,
        )
        .map_err(ApiError::Invalid)?;
        let metadata = self.metadata(caller, &key.request_id);
        self.run_task_command(&task_id, command, input.expected_version, key, metadata)
            .await
    }

    /// `CancelTask`.
    pub async fn cancel_task(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &CancelInput,
    ) -> Result<TaskView, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return self.task_answer(first).await;
        }
        authorize(Rpc::CancelTask, caller)?;
        let task_id = parse_task_id(&input.task_id)?;
        let task = self.load_record(&task_id).await?;
        let roster = self.roster().await?;
        if !may_act_as_authority(caller, &task, &roster, self.clock.today()) {
            return Err(not_the_authority("cancel"));
        }
        let reason = validate_reason(&input.reason).map_err(ApiError::Invalid)?;
        let metadata = self.metadata(caller, &key.request_id);
        self.run_task_command(
            &task_id,
            TaskCommand::Cancel { reason },
            input.expected_version,
            key,
            metadata,
        )
        .await
    }
}

fn not_the_authority(what: &str) -> ApiError {
    ApiError::denied(
        "NOT_ISSUING_AUTHORITY",
        format!(
            "only the leader who assigned the task (the Chairman for any task of a \
             Vice-Chairman), or the Office, may {what} it"
        ),
        "Chỉ lãnh đạo đã giao nhiệm vụ (Chủ tịch đối với nhiệm vụ do Phó Chủ tịch giao), hoặc \
         Văn phòng, được thực hiện thao tác này.",
    )
}

/// 00:00 of `date` in Asia/Ho_Chi_Minh.
fn start_of_business_day(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    (midnight - chrono::Duration::hours(7)).and_utc()
}

/// The last instant of `date` in Asia/Ho_Chi_Minh: "as of" a day means at its end.
fn end_of_business_day(date: NaiveDate) -> DateTime<Utc> {
    start_of_business_day(date) + chrono::Duration::days(1) - chrono::Duration::microseconds(1)
}

/// Folds a recorded task stream (or a prefix of it) into the task's full view.
pub fn record_of<'a>(
    history: impl Iterator<Item = &'a RecordedEvent>,
) -> Result<TaskRecord, ApiError> {
    let mut record: Option<TaskRecord> = None;
    for recorded in history {
        let event: TaskEvent = recorded.decode()?;
        let (version, at, by) = (
            recorded.stream_version,
            recorded.occurred_at,
            recorded.actor.subject.as_str(),
        );
        match record.as_mut() {
            Some(record) => record.apply(&event, version, at, by),
            None => record = TaskRecord::assigned(&event, version, at, by),
        }
    }
    record.ok_or_else(|| {
        ApiError::Internal("the task stream does not start with an assignment".into())
    })
}

fn parse_task_id(raw: &str) -> Result<TaskId, ApiError> {
    TaskId::parse(raw).map_err(|e| ApiError::Invalid(vec![e.at("task_id")]))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_stored_before_deadline_classes_still_reads() {
        let stored = StoredOutcome {
            status_code: 0,
            message: String::new(),
            body: br#"{"task":{"task_id":"t-1","version":3}}"#.to_vec(),
        };

        let outcome = Outcome::read(&stored).expect("reads");

        assert_eq!(
            outcome,
            Outcome::Task {
                task_id: "t-1".into(),
                version: 3,
                judged_at: None
            }
        );
    }

    #[test]
    fn an_outcome_keeps_the_instant_it_was_judged_at() {
        let at = "2026-12-31T09:30:00Z".parse().expect("instant");
        let outcome = Outcome::Task {
            task_id: "t-1".into(),
            version: 3,
            judged_at: Some(at),
        };

        let read = Outcome::read(&outcome.stored()).expect("reads");

        assert_eq!(read, outcome);
    }
}
