//! The `AssignmentService` gRPC adapter.
//!
//! Each handler reads the same way: who is calling and may they (policy) → is the input valid
//! (domain validation, every violation named) → run the command (repository: idempotency,
//! optimistic concurrency, group commit) → convert the outcome. No rule is decided here.

use chrono::NaiveDate;
use dondoc_eventsourcing::repository::{CommandEnvelope, Decision, Executed, Repository};
use dondoc_eventsourcing::{Actor, EventMetadata, EventStore, RequestKey, StoredOutcome};
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::assignment_service_server::AssignmentService;
use dondoc_runtime::auth::{Principal, Role, principal};
use dondoc_runtime::clock::SharedClock;
use prost::Message as _;
use sha2::{Digest, Sha256};
use tonic::{Code, Request, Response, Status};
use uuid::Uuid;

use crate::convert::{assign_input, status_from_proto, task_to_proto, unit_to_proto};
use crate::domain::values::{REASON_MAX, format_date, parse_date, text};
use crate::domain::{
    DirectoryVersion, FieldViolation, ImportDirectory, Requester, Task, TaskCommand, TaskEvent,
    TaskId, TaskRecord, UnitCode, UnitDirectory, parse_directory_toml, validate_assignment,
    validate_extension, validate_reason, validate_reassignment, version_valid_on,
};
use crate::error::ApiError;
use crate::events::issuer_kind_from_proto;
use crate::policy::{Rpc, authorize, may_act_as_authority, may_assign_as, may_read_task};
use crate::task_list::{TaskFilter, TaskListReader, task_record};

/// Who is calling, and the correlation id that groups everything their action causes.
pub struct Caller {
    principal: Principal,
    correlation_id: String,
}

impl std::ops::Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// Metadata a client may send to tie this call to its own trace of work (one user action
/// across several calls); absent or unusable, each call starts its own correlation.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

impl Caller {
    fn of<T>(request: &Request<T>) -> Result<Self, Status> {
        let correlation_id = request
            .metadata()
            .get(CORRELATION_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|id| !id.is_empty() && id.len() <= REQUEST_ID_MAX)
            .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned);
        Ok(Self {
            principal: principal(request)?,
            correlation_id,
        })
    }
}

/// Longest accepted `request_id`.
const REQUEST_ID_MAX: usize = 100;
const DEFAULT_PAGE_SIZE: u32 = 50;
const MAX_PAGE_SIZE: u32 = 500;

/// The service state shared by all handlers.
#[derive(Clone)]
pub struct Assignment {
    tasks: Repository<Task>,
    directories: Repository<UnitDirectory>,
    store: EventStore,
    task_list: TaskListReader,
    clock: SharedClock,
}

impl Assignment {
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

    async fn load_task(&self, task_id: &TaskId) -> Result<TaskRecord, ApiError> {
        let loaded = self.tasks.load(&task_id.to_string()).await?;
        task_record(&loaded.history)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or_else(|| ApiError::NotFound(format!("no task {task_id}")))
    }

    /// Runs a task command and turns its outcome (first or replayed) into the response.
    async fn run_task_command(
        &self,
        caller: &Caller,
        task_id: &TaskId,
        command: TaskCommand,
        expected_version: u64,
        request: Option<RequestKey>,
    ) -> Result<pb::Task, ApiError> {
        let request_id = request
            .as_ref()
            .map(|k| k.request_id.clone())
            .unwrap_or_default();
        let executed = self
            .tasks
            .execute(
                CommandEnvelope {
                    stream_id: task_id.to_string(),
                    command,
                    expected_version: (expected_version > 0).then_some(expected_version),
                    request,
                    metadata: self.metadata(caller, &request_id),
                },
                task_outcome,
            )
            .await?;
        let outcome = match executed {
            Executed::Applied { outcome, .. } | Executed::Replayed(outcome) => outcome,
        };
        outcome_to_task(outcome)
    }
}

/// The response saved with the command's events: the task as it now is, or the refusal of a
/// lead unit's hand-off (recorded as evidence, answered as an error).
fn task_outcome(decision: &Decision<'_, Task>) -> StoredOutcome {
    if decision
        .new_events
        .iter()
        .any(TaskEvent::is_hand_off_refused)
    {
        return StoredOutcome {
            status_code: Code::FailedPrecondition as i32,
            message: crate::domain::HAND_OFF_RULE.to_owned(),
            body: Vec::new(),
        };
    }
    let old: Vec<TaskEvent> = decision
        .before
        .history
        .iter()
        .filter_map(|e| e.decode::<TaskEvent>().ok())
        .collect();
    let by = decision.metadata.actor.subject.as_str();
    let at = decision.metadata.occurred_at;
    let history = decision
        .before
        .history
        .iter()
        .zip(&old)
        .map(|(recorded, event)| {
            (
                event,
                recorded.stream_version,
                recorded.occurred_at,
                recorded.actor.subject.as_str(),
            )
        })
        .chain(
            decision
                .new_events
                .iter()
                .enumerate()
                .map(|(i, event)| (event, decision.before.version + i as u64 + 1, at, by)),
        );
    match TaskRecord::fold(history) {
        Some(record) => StoredOutcome {
            status_code: 0,
            message: String::new(),
            body: task_to_proto(&record).encode_to_vec(),
        },
        None => StoredOutcome {
            status_code: Code::Internal as i32,
            message: "the task stream does not start with an assignment".into(),
            body: Vec::new(),
        },
    }
}

fn outcome_to_task(outcome: StoredOutcome) -> Result<pb::Task, ApiError> {
    match Code::from_i32(outcome.status_code) {
        Code::Ok => pb::Task::decode(outcome.body.as_slice())
            .map_err(|e| ApiError::Internal(format!("stored response unreadable: {e}"))),
        Code::FailedPrecondition => Err(ApiError::HandOffRefused),
        _ => Err(ApiError::Internal(outcome.message)),
    }
}

/// AIP-155: an optional request id, and a fingerprint of everything else in the request.
fn request_key<M: prost::Message + Clone>(
    request_id: &str,
    request: &M,
    clear_id: impl FnOnce(&mut M),
) -> Result<Option<RequestKey>, ApiError> {
    let request_id = request_id.trim();
    if request_id.is_empty() {
        return Ok(None);
    }
    if request_id.chars().count() > REQUEST_ID_MAX {
        return Err(ApiError::invalid(
            "request_id",
            format!("at most {REQUEST_ID_MAX} characters"),
        ));
    }
    let mut body = request.clone();
    clear_id(&mut body);
    Ok(Some(RequestKey {
        request_id: request_id.to_owned(),
        fingerprint: hex::encode(Sha256::digest(body.encode_to_vec())),
    }))
}

fn parse_task_id(raw: &str) -> Result<TaskId, ApiError> {
    TaskId::parse(raw).map_err(|e| ApiError::Invalid(vec![e.at("task_id")]))
}

fn parse_optional_date(field: &str, raw: &str) -> Result<Option<NaiveDate>, FieldViolation> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse_date(raw).map(Some).map_err(|e| e.at(field))
    }
}

fn page_size(raw: i32) -> Result<u32, ApiError> {
    match raw {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n < 0 => Err(ApiError::invalid("page_size", "must not be negative")),
        n => Ok(u32::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE)),
    }
}

fn page_token(raw: &str) -> Result<i64, ApiError> {
    if raw.is_empty() {
        return Ok(0);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid("page_token", "not a token returned by this service"))
}

fn to_status<T>(result: Result<T, ApiError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl AssignmentService for Assignment {
    async fn import_units(
        &self,
        request: Request<pb::ImportUnitsRequest>,
    ) -> Result<Response<pb::ImportUnitsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let request = request.into_inner();
        to_status(self.import_units(&caller, request).await)
    }

    async fn list_units(
        &self,
        request: Request<pb::ListUnitsRequest>,
    ) -> Result<Response<pb::ListUnitsResponse>, Status> {
        let caller = Caller::of(&request)?;
        to_status(self.list_units(&caller, request.into_inner()).await)
    }

    async fn get_unit(
        &self,
        request: Request<pb::GetUnitRequest>,
    ) -> Result<Response<pb::Unit>, Status> {
        let caller = Caller::of(&request)?;
        to_status(self.get_unit(&caller, request.into_inner()).await)
    }

    async fn assign_task(
        &self,
        request: Request<pb::AssignTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = Caller::of(&request)?;
        to_status(self.assign_task(&caller, request.into_inner()).await)
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = Caller::of(&request)?;
        to_status(self.get_task(&caller, request.into_inner()).await)
    }

    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let caller = Caller::of(&request)?;
        to_status(self.list_tasks(&caller, request.into_inner()).await)
    }

    async fn reassign_task(
        &self,
        request: Request<pb::ReassignTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = Caller::of(&request)?;
        to_status(self.reassign_task(&caller, request.into_inner()).await)
    }

    async fn extend_deadline(
        &self,
        request: Request<pb::ExtendDeadlineRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = Caller::of(&request)?;
        to_status(self.extend_deadline(&caller, request.into_inner()).await)
    }

    async fn cancel_task(
        &self,
        request: Request<pb::CancelTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = Caller::of(&request)?;
        to_status(self.cancel_task(&caller, request.into_inner()).await)
    }
}

impl Assignment {
    async fn import_units(
        &self,
        caller: &Caller,
        request: pb::ImportUnitsRequest,
    ) -> Result<pb::ImportUnitsResponse, ApiError> {
        authorize(Rpc::ImportUnits, caller)?;
        let key = request_key(&request.request_id, &request, |r| r.request_id.clear())?;
        let versions = parse_directory_toml(&request.toml).map_err(ApiError::Invalid)?;
        let total = versions.len();
        let units = versions.iter().map(|v| v.units.len()).sum::<usize>();
        // One command for the whole file: it is imported entirely or not at all.
        let executed = self
            .directories
            .execute(
                CommandEnvelope {
                    stream_id: UnitDirectory::STREAM_ID.to_owned(),
                    command: ImportDirectory(versions),
                    expected_version: None,
                    request: key,
                    metadata: self.metadata(caller, &request.request_id),
                },
                |decision| {
                    let imported = decision.new_events.len();
                    StoredOutcome {
                        status_code: 0,
                        message: String::new(),
                        body: pb::ImportUnitsResponse {
                            directories_imported: count(imported),
                            directories_unchanged: count(total - imported),
                            units: count(units),
                        }
                        .encode_to_vec(),
                    }
                },
            )
            .await?;
        let outcome = match executed {
            Executed::Applied { outcome, .. } | Executed::Replayed(outcome) => outcome,
        };
        pb::ImportUnitsResponse::decode(outcome.body.as_slice())
            .map_err(|e| ApiError::Internal(format!("stored response unreadable: {e}")))
    }

    async fn list_units(
        &self,
        caller: &Caller,
        request: pb::ListUnitsRequest,
    ) -> Result<pb::ListUnitsResponse, ApiError> {
        authorize(Rpc::ListUnits, caller)?;
        let as_of = parse_optional_date("as_of", &request.as_of)
            .map_err(|v| ApiError::Invalid(vec![v]))?
            .unwrap_or_else(|| self.clock.today());
        let size = page_size(request.page_size)? as usize;
        let offset = if request.page_token.is_empty() {
            0
        } else {
            page_token(&request.page_token)? as usize
        };
        let Some(version) = self.directory_on(as_of).await? else {
            return Ok(pb::ListUnitsResponse::default());
        };
        let kind = request.kind.trim().to_ascii_lowercase();
        let units: Vec<pb::Unit> = version
            .units
            .iter()
            .filter(|u| kind.is_empty() || u.kind.as_str() == kind)
            .map(|u| unit_to_proto(u, &version))
            .collect();
        let page: Vec<pb::Unit> = units.iter().skip(offset).take(size).cloned().collect();
        let next = offset + page.len();
        Ok(pb::ListUnitsResponse {
            units: page,
            next_page_token: if next < units.len() {
                next.to_string()
            } else {
                String::new()
            },
        })
    }

    async fn get_unit(
        &self,
        caller: &Caller,
        request: pb::GetUnitRequest,
    ) -> Result<pb::Unit, ApiError> {
        authorize(Rpc::GetUnit, caller)?;
        let code =
            UnitCode::parse(&request.code).map_err(|e| ApiError::Invalid(vec![e.at("code")]))?;
        let as_of = parse_optional_date("as_of", &request.as_of)
            .map_err(|v| ApiError::Invalid(vec![v]))?
            .unwrap_or_else(|| self.clock.today());
        let version = self.directory_on(as_of).await?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "no unit directory is valid on {}",
                format_date(as_of)
            ))
        })?;
        version
            .unit(&code)
            .map(|u| unit_to_proto(u, &version))
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no unit {code} in the directory valid on {}",
                    format_date(as_of)
                ))
            })
    }

    async fn assign_task(
        &self,
        caller: &Caller,
        request: pb::AssignTaskRequest,
    ) -> Result<pb::Task, ApiError> {
        authorize(Rpc::AssignTask, caller)?;
        let key = request_key(&request.request_id, &request, |r| r.request_id.clear())?;
        // A retry returns the first outcome even if the directory changed since.
        if let Some(key) = &key
            && let Some(first) = self.store.replay(key).await?
        {
            return outcome_to_task(first);
        }
        let today = self.clock.today();
        let directory = self.directory_on(today).await?;
        let task_id = TaskId::from_uuid(Uuid::now_v7());
        let command =
            validate_assignment(&assign_input(&request), directory.as_ref(), task_id, today)
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

    async fn get_task(
        &self,
        caller: &Caller,
        request: pb::GetTaskRequest,
    ) -> Result<pb::Task, ApiError> {
        authorize(Rpc::GetTask, caller)?;
        let task_id = parse_task_id(&request.task_id)?;
        let record = self.load_task(&task_id).await?;
        if !may_read_task(caller, &record) {
            return Err(ApiError::PermissionDenied(
                "a unit may only read tasks it leads or coordinates".into(),
            ));
        }
        Ok(task_to_proto(&record))
    }

    async fn list_tasks(
        &self,
        caller: &Caller,
        request: pb::ListTasksRequest,
    ) -> Result<pb::ListTasksResponse, ApiError> {
        authorize(Rpc::ListTasks, caller)?;
        let mut violations = Vec::new();
        let unit = match request.unit.trim() {
            "" => None,
            raw => UnitCode::parse(raw)
                .map(|u| Some(u.to_string()))
                .unwrap_or_else(|e| {
                    violations.push(e.at("unit"));
                    None
                }),
        };
        // Units see their own tasks only.
        let unit = match (caller.role, &caller.unit_code) {
            (Role::Unit, Some(own)) => match unit {
                Some(u) if &u != own => {
                    return Err(ApiError::PermissionDenied(
                        "a unit may only list its own tasks".into(),
                    ));
                }
                _ => Some(own.clone()),
            },
            _ => unit,
        };
        let issuer_kind = if request.issuer_kind == 0 {
            None
        } else {
            match pb::IssuerKind::try_from(request.issuer_kind)
                .ok()
                .and_then(issuer_kind_from_proto)
            {
                Some(kind) => Some(kind),
                None => {
                    violations.push(FieldViolation::new("issuer_kind", "unknown issuer kind"));
                    None
                }
            }
        };
        let status = if request.status == 0 {
            None
        } else {
            match status_from_proto(request.status) {
                Some(status) => Some(status),
                None => {
                    violations.push(FieldViolation::new("status", "unknown status"));
                    None
                }
            }
        };
        let deadline_from = parse_optional_date("deadline_from", &request.deadline_from)
            .unwrap_or_else(|v| {
                violations.push(v);
                None
            });
        let deadline_to =
            parse_optional_date("deadline_to", &request.deadline_to).unwrap_or_else(|v| {
                violations.push(v);
                None
            });
        if let (Some(from), Some(to)) = (deadline_from, deadline_to)
            && from > to
        {
            violations.push(FieldViolation::new(
                "deadline_to",
                "must not be before deadline_from",
            ));
        }
        let limit = page_size(request.page_size);
        let after = page_token(&request.page_token);
        if let Err(ApiError::Invalid(v)) = &limit {
            violations.extend(v.iter().cloned());
        }
        if let Err(ApiError::Invalid(v)) = &after {
            violations.extend(v.iter().cloned());
        }
        if !violations.is_empty() {
            return Err(ApiError::Invalid(violations));
        }
        let issuer_leader_id =
            Some(request.issuer_leader_id.trim().to_owned()).filter(|leader| !leader.is_empty());
        let filter = TaskFilter {
            unit,
            issuer_kind,
            issuer_leader_id,
            status,
            deadline_from,
            deadline_to,
            after: after?,
            limit: limit?,
        };
        let (tasks, last) = self
            .task_list
            .list(&filter)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        Ok(pb::ListTasksResponse {
            tasks,
            next_page_token: last.map(|seq| seq.to_string()).unwrap_or_default(),
        })
    }

    async fn reassign_task(
        &self,
        caller: &Caller,
        request: pb::ReassignTaskRequest,
    ) -> Result<pb::Task, ApiError> {
        authorize(Rpc::ReassignTask, caller)?;
        let key = request_key(&request.request_id, &request, |r| r.request_id.clear())?;
        let task_id = parse_task_id(&request.task_id)?;
        let task = self.load_task(&task_id).await?;
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
            let requested = UnitCode::parse(&request.new_lead_unit)
                .map_err(|e| ApiError::Invalid(vec![e.at("new_lead_unit")]))?;
            TaskCommand::Reassign {
                requested_by: Requester::Unit(task.lead_unit.clone()),
                new_lead_unit: requested,
                new_coordinating_units: Vec::new(),
                // Recorded whatever its length (it is evidence), but bounded like any reason.
                reason: text::normalize(&request.reason)
                    .chars()
                    .take(REASON_MAX)
                    .collect(),
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
                &request.new_lead_unit,
                &request.new_coordinating_units,
                &request.reason,
                directory.as_ref(),
                today,
            )
            .map_err(ApiError::Invalid)?
        };
        self.run_task_command(caller, &task_id, command, request.expected_version, key)
            .await
    }

    async fn extend_deadline(
        &self,
        caller: &Caller,
        request: pb::ExtendDeadlineRequest,
    ) -> Result<pb::Task, ApiError> {
        authorize(Rpc::ExtendDeadline, caller)?;
        let key = request_key(&request.request_id, &request, |r| r.request_id.clear())?;
        let task_id = parse_task_id(&request.task_id)?;
        let task = self.load_task(&task_id).await?;
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
            &request.new_deadline,
            &request.reason,
            &leader,
            self.clock.today(),
        )
        .map_err(ApiError::Invalid)?;
        self.run_task_command(caller, &task_id, command, request.expected_version, key)
            .await
    }

    async fn cancel_task(
        &self,
        caller: &Caller,
        request: pb::CancelTaskRequest,
    ) -> Result<pb::Task, ApiError> {
        authorize(Rpc::CancelTask, caller)?;
        let key = request_key(&request.request_id, &request, |r| r.request_id.clear())?;
        let task_id = parse_task_id(&request.task_id)?;
        let task = self.load_task(&task_id).await?;
        if !may_act_as_authority(caller, &task) {
            return Err(ApiError::PermissionDenied(
                "only the leader who issued the task, or the Office, may cancel it".into(),
            ));
        }
        let reason = validate_reason(&request.reason).map_err(ApiError::Invalid)?;
        self.run_task_command(
            caller,
            &task_id,
            TaskCommand::Cancel { reason },
            request.expected_version,
            key,
        )
        .await
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
