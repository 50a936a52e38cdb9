//! The `AssignmentService` gRPC adapter: protobuf in, protobuf out, nothing decided here.
//!
//! Each method reads who is calling, turns the request into the handlers' inputs (the AIP-155
//! request key, filters, raw fields for the domain to validate), calls the handler and converts
//! its answer; [`status`] maps every handler error to a gRPC status in one place.

pub mod convert;
pub mod status;

use chrono::NaiveDate;
use dondoc_eventsourcing::RequestKey;
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::assignment_service_server::AssignmentService;
use dondoc_runtime::auth::principal;
use dondoc_runtime::request::correlation_id;
use tonic::{Request, Response, Status};

use crate::consumers::task_list::TaskFilter;
use crate::domain::values::parse_date;
use crate::domain::{AssignerKind, FieldViolation, OriginKind, UnitCode};
use crate::events::values::{deadline_class_from_proto, origin_kind_from_proto};
use crate::handlers::error::ApiError;
use crate::handlers::{
    Caller, CancelInput, DecideExtensionInput, ExtendInput, Handlers, ReassignInput,
    RequestExtensionInput, UnitQuery,
};
use convert::{assign_input, leader_to_proto, status_from_proto, task_to_proto, unit_to_proto};

pub use dondoc_runtime::request::CORRELATION_HEADER;

const DEFAULT_PAGE_SIZE: u32 = 50;
const MAX_PAGE_SIZE: u32 = 500;

/// The gRPC face of [`Handlers`].
#[derive(Clone)]
pub struct AssignmentApi {
    handlers: Handlers,
}

impl AssignmentApi {
    pub fn new(handlers: Handlers) -> Self {
        Self { handlers }
    }
}

fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    Ok(Caller {
        principal: principal(request)?,
        correlation_id: correlation_id(request),
    })
}

/// AIP-155: the request id and fingerprint of a mutation (the rules in
/// `dondoc_runtime::request`), refused as a field violation.
fn request_key<M: prost::Message + Clone>(
    method: &str,
    caller: &Caller,
    request_id: &str,
    request: &M,
    clear_id: impl FnOnce(&mut M),
) -> Result<RequestKey, ApiError> {
    dondoc_runtime::request::request_key(method, &caller.subject, request_id, request, clear_id)
        .map_err(|e| ApiError::invalid("request_id", e.to_string()))
}

fn parse_optional_date(field: &str, raw: &str) -> Result<Option<NaiveDate>, FieldViolation> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse_date(raw).map(Some).map_err(|e| e.at(field))
    }
}

fn page_size(raw: i32) -> Result<u32, FieldViolation> {
    match raw {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n < 0 => Err(FieldViolation::new("page_size", "must not be negative")),
        n => Ok(u32::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE)),
    }
}

fn page_token(raw: &str) -> Result<i64, FieldViolation> {
    if raw.is_empty() {
        return Ok(0);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| FieldViolation::new("page_token", "not a token returned by this service"))
}

fn answer<T>(result: Result<T, ApiError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

/// Collects a field's violation and goes on, so every violation is reported at once.
fn collect<T>(
    result: Result<T, FieldViolation>,
    violations: &mut Vec<FieldViolation>,
) -> Option<T> {
    result.map_err(|v| violations.push(v)).ok()
}

#[tonic::async_trait]
impl AssignmentService for AssignmentApi {
    async fn import_units(
        &self,
        request: Request<pb::ImportUnitsRequest>,
    ) -> Result<Response<pb::ImportUnitsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key =
                    request_key("ImportUnits", &caller, &request.request_id, &request, |r| {
                        r.request_id.clear()
                    })?;
                let summary = self
                    .handlers
                    .import_units(&caller, key, &request.toml)
                    .await?;
                Ok(pb::ImportUnitsResponse {
                    directories_imported: summary.imported,
                    directories_unchanged: summary.unchanged,
                    units: summary.units,
                })
            }
            .await,
        )
    }

    async fn list_units(
        &self,
        request: Request<pb::ListUnitsRequest>,
    ) -> Result<Response<pb::ListUnitsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let mut violations = Vec::new();
                let as_of = collect(
                    parse_optional_date("as_of", &request.as_of),
                    &mut violations,
                );
                let size = collect(page_size(request.page_size), &mut violations);
                let offset = if request.page_token.is_empty() {
                    Some(0)
                } else {
                    collect(page_token(&request.page_token), &mut violations)
                };
                let (Some(as_of), Some(size), Some(offset)) = (as_of, size, offset) else {
                    return Err(ApiError::Invalid(violations));
                };
                let kind = request.kind.trim().to_ascii_lowercase();
                let search = crate::domain::values::text::optional(&request.query, 200)
                    .map_err(|e| ApiError::Invalid(vec![e.at("query")]))?;
                let page = self
                    .handlers
                    .list_units(
                        &caller,
                        UnitQuery {
                            as_of,
                            kind: (!kind.is_empty()).then_some(kind),
                            search,
                            offset: usize::try_from(offset).unwrap_or(0),
                            limit: size as usize,
                        },
                    )
                    .await?;
                let Some(version) = page.version else {
                    return Ok(pb::ListUnitsResponse::default());
                };
                Ok(pb::ListUnitsResponse {
                    units: page
                        .units
                        .iter()
                        .map(|u| unit_to_proto(u, &version))
                        .collect(),
                    next_page_token: page
                        .next_offset
                        .map(|next| next.to_string())
                        .unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn get_unit(
        &self,
        request: Request<pb::GetUnitRequest>,
    ) -> Result<Response<pb::Unit>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let mut violations = Vec::new();
                let code = collect(
                    UnitCode::parse(&request.code).map_err(|e| e.at("code")),
                    &mut violations,
                );
                let as_of = collect(
                    parse_optional_date("as_of", &request.as_of),
                    &mut violations,
                );
                let (Some(code), Some(as_of)) = (code, as_of) else {
                    return Err(ApiError::Invalid(violations));
                };
                let (unit, version) = self.handlers.get_unit(&caller, &code, as_of).await?;
                Ok(unit_to_proto(&unit, &version))
            }
            .await,
        )
    }

    async fn assign_task(
        &self,
        request: Request<pb::AssignTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key = request_key("AssignTask", &caller, &request.request_id, &request, |r| {
                    r.request_id.clear()
                })?;
                let view = self
                    .handlers
                    .assign_task(&caller, key, &assign_input(&request))
                    .await?;
                Ok(task_to_proto(&view))
            }
            .await,
        )
    }

    async fn import_historical_task(
        &self,
        request: Request<pb::ImportHistoricalTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key = request_key(
                    "ImportHistoricalTask",
                    &caller,
                    &request.request_id,
                    &request,
                    |r| {
                        r.request_id.clear();
                        if let Some(task) = r.task.as_mut() {
                            task.request_id.clear();
                        }
                    },
                )?;
                let task = request.task.clone().unwrap_or_default();
                let view = self
                    .handlers
                    .import_historical_task(
                        &caller,
                        key,
                        &assign_input(&task),
                        &request.assigned_on,
                        &request.reason,
                    )
                    .await?;
                Ok(task_to_proto(&view))
            }
            .await,
        )
    }

    async fn import_leaders(
        &self,
        request: Request<pb::ImportLeadersRequest>,
    ) -> Result<Response<pb::ImportLeadersResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key = request_key(
                    "ImportLeaders",
                    &caller,
                    &request.request_id,
                    &request,
                    |r| r.request_id.clear(),
                )?;
                let summary = self
                    .handlers
                    .import_leaders(&caller, key, &request.toml)
                    .await?;
                Ok(pb::ImportLeadersResponse {
                    leaders: summary.leaders,
                    changed: summary.changed,
                })
            }
            .await,
        )
    }

    async fn list_leaders(
        &self,
        request: Request<pb::ListLeadersRequest>,
    ) -> Result<Response<pb::ListLeadersResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let as_of = parse_optional_date("as_of", &request.as_of)
                    .map_err(|v| ApiError::Invalid(vec![v]))?;
                let leaders = self.handlers.list_leaders(&caller, as_of).await?;
                Ok(pb::ListLeadersResponse {
                    leaders: leaders.iter().map(leader_to_proto).collect(),
                })
            }
            .await,
        )
    }

    async fn request_extension(
        &self,
        request: Request<pb::RequestExtensionRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key = request_key(
                    "RequestExtension",
                    &caller,
                    &request.request_id,
                    &request,
                    |r| r.request_id.clear(),
                )?;
                let input = RequestExtensionInput {
                    task_id: request.task_id.clone(),
                    proposed_deadline: request.proposed_deadline.clone(),
                    reason: request.reason.clone(),
                    requested_on: request.requested_on.clone(),
                    expected_version: request.expected_version,
                };
                let view = self
                    .handlers
                    .request_extension(&caller, key, &input)
                    .await?;
                Ok(task_to_proto(&view))
            }
            .await,
        )
    }

    async fn decide_extension(
        &self,
        request: Request<pb::DecideExtensionRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key = request_key(
                    "DecideExtension",
                    &caller,
                    &request.request_id,
                    &request,
                    |r| r.request_id.clear(),
                )?;
                let approve = match pb::ExtensionDecision::try_from(request.decision) {
                    Ok(pb::ExtensionDecision::Approve) => Some(true),
                    Ok(pb::ExtensionDecision::Reject) => Some(false),
                    _ => None,
                };
                let input = DecideExtensionInput {
                    task_id: request.task_id.clone(),
                    extension_id: request.extension_id.clone(),
                    approve,
                    new_deadline: request.new_deadline.clone(),
                    reason: request.reason.clone(),
                    leader_id: request.leader_id.clone(),
                    expected_version: request.expected_version,
                };
                let view = self.handlers.decide_extension(&caller, key, &input).await?;
                Ok(task_to_proto(&view))
            }
            .await,
        )
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            self.handlers
                .get_task(&caller, &request.task_id)
                .await
                .map(|view| task_to_proto(&view)),
        )
    }

    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let (filter, as_of) = task_filter(&request).map_err(ApiError::Invalid)?;
                let page = self.handlers.list_tasks(&caller, filter, as_of).await?;
                Ok(pb::ListTasksResponse {
                    tasks: page.tasks.iter().map(task_to_proto).collect(),
                    next_page_token: page
                        .next_after
                        .map(|seq| seq.to_string())
                        .unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn reassign_task(
        &self,
        request: Request<pb::ReassignTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key = request_key(
                    "ReassignTask",
                    &caller,
                    &request.request_id,
                    &request,
                    |r| r.request_id.clear(),
                )?;
                let input = ReassignInput {
                    task_id: request.task_id.clone(),
                    new_lead_unit: request.new_lead_unit.clone(),
                    new_coordinating_units: request.new_coordinating_units.clone(),
                    reason: request.reason.clone(),
                    expected_version: request.expected_version,
                };
                let view = self.handlers.reassign_task(&caller, key, &input).await?;
                Ok(task_to_proto(&view))
            }
            .await,
        )
    }

    async fn extend_deadline(
        &self,
        request: Request<pb::ExtendDeadlineRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key = request_key(
                    "ExtendDeadline",
                    &caller,
                    &request.request_id,
                    &request,
                    |r| r.request_id.clear(),
                )?;
                let input = ExtendInput {
                    task_id: request.task_id.clone(),
                    new_deadline: request.new_deadline.clone(),
                    reason: request.reason.clone(),
                    requested_on: request.requested_on.clone(),
                    approved_by_leader_id: request.approved_by_leader_id.clone(),
                    expected_version: request.expected_version,
                };
                let view = self.handlers.extend_deadline(&caller, key, &input).await?;
                Ok(task_to_proto(&view))
            }
            .await,
        )
    }

    async fn cancel_task(
        &self,
        request: Request<pb::CancelTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key = request_key("CancelTask", &caller, &request.request_id, &request, |r| {
                    r.request_id.clear()
                })?;
                let input = CancelInput {
                    task_id: request.task_id.clone(),
                    reason: request.reason.clone(),
                    expected_version: request.expected_version,
                };
                let view = self.handlers.cancel_task(&caller, key, &input).await?;
                Ok(task_to_proto(&view))
            }
            .await,
        )
    }
}

/// The filters of `ListTasks`, every violation at once, and the day classes are judged at.
fn task_filter(
    request: &pb::ListTasksRequest,
) -> Result<(TaskFilter, Option<NaiveDate>), Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let unit = match request.unit.trim() {
        "" => None,
        raw => collect(
            UnitCode::parse(raw)
                .map(|u| u.to_string())
                .map_err(|e| e.at("unit")),
            &mut violations,
        ),
    };
    // The first release's single issuer filter, read as an origin or an assigner.
    let (mut origin_kind, mut assigner_kind) = match request.issuer_kind {
        0 => (None, None),
        raw => match pb::IssuerKind::try_from(raw) {
            Ok(pb::IssuerKind::Government) => (Some(OriginKind::Government), None),
            Ok(pb::IssuerKind::PrimeMinister) => (Some(OriginKind::PrimeMinister), None),
            Ok(pb::IssuerKind::Unclassified) => (Some(OriginKind::Unclassified), None),
            Ok(pb::IssuerKind::Chairman) => (None, Some(AssignerKind::Chairman)),
            Ok(pb::IssuerKind::ViceChairman) => (None, Some(AssignerKind::ViceChairman)),
            Ok(pb::IssuerKind::CityPeoplesCommittee) => {
                (None, Some(AssignerKind::CityPeoplesCommittee))
            }
            _ => {
                violations.push(FieldViolation::new("issuer_kind", "unknown issuer kind"));
                (None, None)
            }
        },
    };
    if request.origin_kind != 0 {
        origin_kind = collect(
            pb::OriginKind::try_from(request.origin_kind)
                .ok()
                .and_then(origin_kind_from_proto)
                .ok_or_else(|| FieldViolation::new("origin_kind", "unknown origin kind")),
            &mut violations,
        );
    }
    let deadline_class = match request.deadline_class {
        0 => None,
        raw => collect(
            pb::DeadlineClass::try_from(raw)
                .ok()
                .and_then(deadline_class_from_proto)
                .ok_or_else(|| FieldViolation::new("deadline_class", "unknown deadline class")),
            &mut violations,
        ),
    };
    let status = match request.status {
        0 => None,
        raw => collect(
            status_from_proto(raw).ok_or_else(|| FieldViolation::new("status", "unknown status")),
            &mut violations,
        ),
    };
    let deadline_from = collect(
        parse_optional_date("deadline_from", &request.deadline_from),
        &mut violations,
    )
    .flatten();
    let deadline_to = collect(
        parse_optional_date("deadline_to", &request.deadline_to),
        &mut violations,
    )
    .flatten();
    if let (Some(from), Some(to)) = (deadline_from, deadline_to)
        && from > to
    {
        violations.push(FieldViolation::new(
            "deadline_to",
            "must not be before deadline_from",
        ));
    }
    let as_of = collect(
        parse_optional_date("as_of", &request.as_of),
        &mut violations,
    )
    .flatten();
    let limit = collect(page_size(request.page_size), &mut violations);
    let after = collect(page_token(&request.page_token), &mut violations);
    let leader_field = |raw: &str, field: &str, violations: &mut Vec<FieldViolation>| {
        collect(
            crate::domain::values::text::optional(raw, crate::domain::values::LEADER_ID_MAX)
                .map_err(|e| e.at(field)),
            violations,
        )
        .flatten()
    };
    let assigner_leader_id = leader_field(
        &request.assigner_leader_id,
        "assigner_leader_id",
        &mut violations,
    )
    .or_else(|| {
        leader_field(
            &request.issuer_leader_id,
            "issuer_leader_id",
            &mut violations,
        )
    });
    if assigner_leader_id.is_some() && assigner_kind == Some(AssignerKind::CityPeoplesCommittee) {
        assigner_kind = None;
    }
    match (limit, after) {
        (Some(limit), Some(after)) if violations.is_empty() => Ok((
            TaskFilter {
                unit,
                origin_kind,
                assigner_kind,
                assigner_leader_id,
                status,
                deadline_class,
                deadline_from,
                deadline_to,
                after,
                limit,
            },
            as_of,
        )),
        _ => Err(violations),
    }
}
