//! The command and query handlers of the assignment service: what each call does, in domain
//! terms, whatever transport brought it.
//!
//! Every mutating handler reads the same way:
//!
//! 1. **replay first** (AIP-155): a `request_id` seen before returns the first outcome, before
//!    anything that may have changed since the first attempt — the caller's permissions, the
//!    directory valid today, the task's state — is looked at;
//! 2. **authorise** ([`policy`]): who may call this, and on which task;
//! 3. **validate** (pure domain validation: every violation named, nothing written);
//! 4. **run** the command through the repository (optimistic concurrency, group commit), saving
//!    its outcome with its events so a retry can return it.
//!
//! The gRPC adapter ([`crate::grpc`]) turns protobuf requests into the inputs here and the
//! results into protobuf; [`error::ApiError`] is mapped to a gRPC status in one place there.

pub mod error;
pub mod policy;

use chrono::NaiveDate;
use dondoc_eventsourcing::repository::{CommandEnvelope, Executed, Loaded, Repository};
use dondoc_eventsourcing::{
    Actor, EventMetadata, EventStore, RecordedEvent, RequestKey, StoredOutcome,
};
use dondoc_runtime::auth::{Principal, Role};
use dondoc_runtime::clock::SharedClock;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::consumers::task_list::{TaskFilter, TaskListReader, TaskPage};
use crate::domain::values::{REASON_MAX, format_date, text};
use crate::domain::{
    AssignTaskInput, DirectoryVersion, FieldViolation, ImportDirectory, Requester, Task,
    TaskCommand, TaskEvent, TaskId, TaskRecord, Unit, UnitCode, UnitDirectory,
    parse_directory_toml, validate_assignment, validate_extension, validate_reason,
    validate_reassignment, version_valid_on,
};
use error::ApiError;
use policy::{Rpc, authorize, may_act_as_authority, may_assign_as, may_read_task};

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
    /// The task as it stood at `version`.
    Task { task_id: String, version: u64 },
    /// The lead unit's hand-off attempt, recorded and refused (rule 2).
    HandOffRefused { task_id: String },
    /// A directory import.
    Import(ImportSummary),
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

/// What an import did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Directory versions whose content changed.
    pub imported: u32,
    pub unchanged: u32,
    pub units: u32,
}

/// A page of one directory version's units.
#[derive(Clone, Debug)]
pub struct UnitPage {
    pub version: Option<DirectoryVersion>,
    pub units: Vec<Unit>,
    pub next_offset: Option<usize>,
}

/// `ListUnits`, already parsed.
#[derive(Clone, Debug)]
pub struct UnitQuery {
    pub as_of: Option<NaiveDate>,
    pub kind: Option<String>,
    pub offset: usize,
    pub limit: usize,
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
    pub expected_version: u64,
}

/// `CancelTask`, as received.
#[derive(Clone, Debug, Default)]
pub struct CancelInput {
    pub task_id: String,
    pub reason: String,
    pub expected_version: u64,
}

/// The handlers and what they share.
#[derive(Clone)]
pub struct Handlers {
    tasks: Repository<Task>,
    directories: Repository<UnitDirectory>,
    store: EventStore,
    task_list: TaskListReader,
    clock: SharedClock,
}

impl Handlers {
    pub fn new(store: EventStore, task_list: TaskListReader, clock: SharedClock) -> Self {
        Self {
            tasks: Repository::new(store.clone()),
            directories: Repository::new(store.clone()),
            store,
            task_list,
            clock,
        }
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

    /// Every directory version ever imported, oldest first.
    async fn directory_versions(&self) -> Result<Vec<DirectoryVersion>, ApiError> {
        let loaded = self.directories.load(UnitDirectory::STREAM_ID).await?;
        Ok(loaded.state.versions().cloned().collect())
    }

    async fn directory_on(&self, date: NaiveDate) -> Result<Option<DirectoryVersion>, ApiError> {
        Ok(version_valid_on(&self.directory_versions().await?, date).cloned())
    }

    async fn load_task(&self, task_id: &TaskId) -> Result<Loaded<Task>, ApiError> {
        let loaded = self.tasks.load(&task_id.to_string()).await?;
        if loaded.version == 0 {
            return Err(ApiError::NotFound(format!("no task {task_id}")));
        }
        Ok(loaded)
    }

    /// The answer saved by a command's first attempt, if this request id was seen before.
    async fn replayed(&self, key: &RequestKey) -> Result<Option<Outcome>, ApiError> {
        match self.store.replay(key).await? {
            Some(first) => Outcome::read(&first).map(Some),
            None => Ok(None),
        }
    }

    /// The response to a task command's outcome (first or replayed).
    async fn task_answer(&self, outcome: Outcome) -> Result<TaskRecord, ApiError> {
        match outcome {
            Outcome::Task { task_id, version } => {
                let task_id = TaskId::parse(&task_id)
                    .map_err(|e| ApiError::Internal(format!("stored outcome: {e}")))?;
                let loaded = self.load_task(&task_id).await?;
                record_of(
                    loaded
                        .history
                        .iter()
                        .take_while(|event| event.stream_version <= version),
                )
            }
            Outcome::HandOffRefused { .. } => Err(ApiError::HandOffRefused),
            Outcome::Import(_) => Err(ApiError::Internal(
                "a task request was answered with an import outcome".into(),
            )),
        }
    }

    /// Runs a task command and answers with the task as it now stands, or the recorded refusal.
    async fn run_task_command(
        &self,
        caller: &Caller,
        task_id: &TaskId,
        command: TaskCommand,
        expected_version: u64,
        key: RequestKey,
    ) -> Result<TaskRecord, ApiError> {
        let metadata = self.metadata(caller, &key.request_id);
        let executed = self
            .tasks
            .execute(
                CommandEnvelope {
                    stream_id: task_id.to_string(),
                    command,
                    expected_version: (expected_version > 0).then_some(expected_version),
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
                        }
                        .stored()
                    }
                },
            )
            .await?;
        let outcome = match executed {
            Executed::Applied { outcome, .. } | Executed::Replayed(outcome) => outcome,
        };
        self.task_answer(Outcome::read(&outcome)?).await
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
                _ => Err(ApiError::Internal(
                    "an import was answered with a task outcome".into(),
                )),
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
            _ => Err(ApiError::Internal(
                "an import was answered with a task outcome".into(),
            )),
        }
    }

    /// `ListUnits`: the directory version valid on a date (today by default).
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
        let matching: Vec<&Unit> = version
            .units
            .iter()
            .filter(|u| {
                query
                    .kind
                    .as_deref()
                    .is_none_or(|kind| u.kind.as_str() == kind)
            })
            .collect();
        let units: Vec<Unit> = matching
            .iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|u| (*u).clone())
            .collect();
        let next = query.offset + units.len();
        Ok(UnitPage {
            next_offset: (next < matching.len()).then_some(next),
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
    ) -> Result<(Unit, DirectoryVersion), ApiError> {
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

    /// `AssignTask`.
    pub async fn assign_task(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &AssignTaskInput,
    ) -> Result<TaskRecord, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return self.task_answer(first).await;
        }
        authorize(Rpc::AssignTask, caller)?;
        let today = self.clock.today();
        let directory = self.directory_on(today).await?;
        let task_id = TaskId::from_uuid(Uuid::now_v7());
        let command = validate_assignment(input, directory.as_ref(), task_id, today)
            .map_err(ApiError::Invalid)?;
        if !may_assign_as(caller, &command.issuer) {
            return Err(ApiError::PermissionDenied(
                "a leader assigns tasks as the Chairman or a Vice-Chairman in their own name \
                 (issuer.leader_id); the Office records tasks of other issuers"
                    .into(),
            ));
        }
        self.run_task_command(caller, &task_id, TaskCommand::Assign(command), 0, key)
            .await
    }

    /// `GetTask`: read from the task's own stream, so it is current the moment a command
    /// returns.
    pub async fn get_task(&self, caller: &Caller, task_id: &str) -> Result<TaskRecord, ApiError> {
        authorize(Rpc::GetTask, caller)?;
        let task_id = parse_task_id(task_id)?;
        let record = record_of(self.load_task(&task_id).await?.history.iter())?;
        if !may_read_task(caller, &record) {
            return Err(ApiError::PermissionDenied(
                "a unit may only read tasks it leads or coordinates".into(),
            ));
        }
        Ok(record)
    }

    /// `ListTasks`: from the task list read model. A unit sees its own tasks only.
    pub async fn list_tasks(
        &self,
        caller: &Caller,
        mut filter: TaskFilter,
    ) -> Result<TaskPage, ApiError> {
        authorize(Rpc::ListTasks, caller)?;
        if caller.role == Role::Unit {
            let own = caller.unit_code.clone().unwrap_or_default();
            match &filter.unit {
                Some(asked) if asked != &own => {
                    return Err(ApiError::PermissionDenied(
                        "a unit may only list its own tasks".into(),
                    ));
                }
                _ => filter.unit = Some(own),
            }
        }
        self.task_list.list(&filter).await
    }

    /// `ReassignTask`. A lead unit asking gets its attempt recorded and refused (rule 2).
    pub async fn reassign_task(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &ReassignInput,
    ) -> Result<TaskRecord, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return self.task_answer(first).await;
        }
        authorize(Rpc::ReassignTask, caller)?;
        let task_id = parse_task_id(&input.task_id)?;
        let task = record_of(self.load_task(&task_id).await?.history.iter())?;
        let command = if caller.role == Role::Unit {
            // Only the lead unit gets this far, and only to have its attempt recorded and
            // refused by the rule (the requested unit is kept as said, valid or not).
            let own = caller.unit_code.clone().unwrap_or_default();
            if own != task.lead_unit.as_str() {
                return Err(ApiError::PermissionDenied(
                    "only the issuing authority, or the Office on its behalf, may reassign a task"
                        .into(),
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
                },
                _ => return Err(ApiError::Invalid(violations)),
            }
        } else {
            if !may_act_as_authority(caller, &task) {
                return Err(ApiError::PermissionDenied(
                    "only the leader who issued the task, or the Office, may reassign it".into(),
                ));
            }
            let today = self.clock.today();
            let directory = self.directory_on(today).await?;
            validate_reassignment(
                Requester::Authority,
                &input.new_lead_unit,
                &input.new_coordinating_units,
                &input.reason,
                directory.as_ref(),
                today,
            )
            .map_err(ApiError::Invalid)?
        };
        self.run_task_command(caller, &task_id, command, input.expected_version, key)
            .await
    }

    /// `ExtendDeadline`.
    pub async fn extend_deadline(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &ExtendInput,
    ) -> Result<TaskRecord, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return self.task_answer(first).await;
        }
        authorize(Rpc::ExtendDeadline, caller)?;
        let task_id = parse_task_id(&input.task_id)?;
        let task = record_of(self.load_task(&task_id).await?.history.iter())?;
        if !may_act_as_authority(caller, &task) {
            return Err(ApiError::PermissionDenied(
                "only the leader who issued the task, or the Office on the leadership's behalf, \
                 may extend its deadline"
                    .into(),
            ));
        }
        let leader = if caller.role == Role::Leader {
            caller.leader_id.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let command = validate_extension(
            &input.new_deadline,
            &input.reason,
            &leader,
            self.clock.today(),
        )
        .map_err(ApiError::Invalid)?;
        self.run_task_command(caller, &task_id, command, input.expected_version, key)
            .await
    }

    /// `CancelTask`.
    pub async fn cancel_task(
        &self,
        caller: &Caller,
        key: RequestKey,
        input: &CancelInput,
    ) -> Result<TaskRecord, ApiError> {
        if let Some(first) = self.replayed(&key).await? {
            return self.task_answer(first).await;
        }
        authorize(Rpc::CancelTask, caller)?;
        let task_id = parse_task_id(&input.task_id)?;
        let task = record_of(self.load_task(&task_id).await?.history.iter())?;
        if !may_act_as_authority(caller, &task) {
            return Err(ApiError::PermissionDenied(
                "only the leader who issued the task, or the Office, may cancel it".into(),
            ));
        }
        let reason = validate_reason(&input.reason).map_err(ApiError::Invalid)?;
        self.run_task_command(
            caller,
            &task_id,
            TaskCommand::Cancel { reason },
            input.expected_version,
            key,
        )
        .await
    }
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

/// A violation on `field`, as a handler error.
pub fn invalid(field: &str, description: impl Into<String>) -> ApiError {
    ApiError::Invalid(vec![FieldViolation::new(field, description)])
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
