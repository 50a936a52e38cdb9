//! The `DisciplineService` gRPC adapter: protobuf in, protobuf out, nothing decided here.

pub mod status;

use chrono::DateTime;
use dondoc_eventsourcing::RequestKey;
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::discipline_service_server::DisciplineService;
use dondoc_runtime::auth::principal;
use dondoc_runtime::request::correlation_id;
use tonic::{Request, Response, Status};

use crate::events::{
    document_from_proto, document_to_proto, evidence_to_proto, iso, target_from_proto,
    target_to_proto,
};
use crate::handlers::error::ApiError;
use crate::handlers::{Caller, CaseChange, CaseView, Handlers, OpenRequest};

/// The gRPC face of [`Handlers`].
#[derive(Clone)]
pub struct DisciplineApi {
    handlers: Handlers,
}

impl DisciplineApi {
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

fn answer<T>(result: Result<T, ApiError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

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

/// A case for the wire; a redacted one carries only its id, unit and state.
pub fn case_to_proto(view: &CaseView) -> pb::Case {
    let case = &view.case;
    let state = case.state.as_str().to_owned();
    if view.redacted {
        return pb::Case {
            case_id: view.case_id.clone(),
            state,
            redacted: true,
            target: Some(pb::CaseTarget {
                unit: case.target.unit.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
    }
    let opened = case.opened.clone().unwrap_or_default();
    let decide_by = case.decide_by();
    pb::Case {
        case_id: view.case_id.clone(),
        state,
        redacted: false,
        opened_by: opened.opened_by.clone(),
        target: Some(target_to_proto(&case.target)),
        detected_on: iso(opened.detected_on),
        regime: opened.regime.clone(),
        allowed_forms: opened.allowed_forms.clone(),
        processing_days: case.processing_days,
        decide_by: decide_by.map(iso).unwrap_or_default(),
        days_left: decide_by
            .map(|d| i32::try_from((d - view.today).num_days()).unwrap_or(0))
            .unwrap_or_default(),
        evidence: case.evidence.iter().map(evidence_to_proto).collect(),
        summary: case.summary.clone(),
        task_ids: opened.task_ids.clone(),
        opinion: case
            .opinion
            .as_ref()
            .map(|o| pb::HomeAffairsOpinionRecorded {
                case_id: view.case_id.clone(),
                agrees: o.agrees,
                recommended_form: o.recommended_form.clone(),
                opinion: o.opinion.clone(),
                document: Some(document_to_proto(&o.document)),
            }),
        decision: case.decision.as_ref().map(|d| pb::CaseDecided {
            case_id: view.case_id.clone(),
            form: d.form.clone().unwrap_or_default(),
            reasons: d.reasons.clone(),
            decided_on: iso(d.decided_on),
            leader_id: d.leader_id.clone(),
            document: Some(document_to_proto(&d.document)),
        }),
        withdrawal: case.withdrawal.as_ref().map(|w| pb::CaseWithdrawn {
            case_id: view.case_id.clone(),
            reason: w.reason.clone(),
            objective_cause: w.objective_cause,
            exempt_task_ids: w.exempt_task_ids.clone(),
            withdrawn_on: iso(w.withdrawn_on),
            unit: w.unit.clone(),
        }),
        version: view.version,
        trigger_key: opened.trigger_key.clone(),
        violation_on: iso(opened.violation_on),
        limitation_ends_on: case.limitation_ends_on().map(iso).unwrap_or_default(),
    }
}

/// One change: the request key, then the handler, then the case as it now stands.
macro_rules! change {
    ($self:ident, $request:ident, $method:literal, |$r:ident| $change:expr) => {{
        let caller = caller(&$request)?;
        let $r = $request.into_inner();
        answer(
            async {
                let key = request_key($method, &caller, &$r.request_id, &$r, |r| {
                    r.request_id.clear()
                })?;
                let view = $self
                    .handlers
                    .change(&caller, key, &$r.case_id, $r.expected_version, $change)
                    .await?;
                Ok(case_to_proto(&view))
            }
            .await,
        )
    }};
}

#[tonic::async_trait]
impl DisciplineService for DisciplineApi {
    async fn open_case(
        &self,
        request: Request<pb::OpenCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        answer(
            async {
                let key = request_key("OpenCase", &caller, &r.request_id, &r, |r| {
                    r.request_id.clear()
                })?;
                let view = self
                    .handlers
                    .open_case(
                        &caller,
                        key,
                        OpenRequest {
                            target: target_from_proto(r.target.unwrap_or_default()),
                            detected_on: r.detected_on,
                            summary: r.summary,
                            task_ids: r.task_ids,
                            evidence_event_ids: r.evidence_event_ids,
                        },
                    )
                    .await?;
                Ok(case_to_proto(&view))
            }
            .await,
        )
    }

    async fn amend_case(
        &self,
        request: Request<pb::AmendCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        change!(self, request, "AmendCase", |r| CaseChange::Amend {
            summary: r.summary.clone(),
            target: r.target.clone().map(target_from_proto),
            add_evidence_event_ids: r.add_evidence_event_ids.clone(),
        })
    }

    async fn record_home_affairs_opinion(
        &self,
        request: Request<pb::RecordHomeAffairsOpinionRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        change!(self, request, "RecordHomeAffairsOpinion", |r| {
            CaseChange::Opinion {
                agrees: r.agrees,
                recommended_form: r.recommended_form.clone(),
                opinion: r.opinion.clone(),
                document: document_from_proto(r.document.clone()),
            }
        })
    }

    async fn submit_to_chairman(
        &self,
        request: Request<pb::SubmitToChairmanRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        change!(self, request, "SubmitToChairman", |r| CaseChange::Submit)
    }

    async fn extend_processing(
        &self,
        request: Request<pb::ExtendProcessingRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        change!(self, request, "ExtendProcessing", |r| CaseChange::Extend {
            reason: r.reason.clone(),
        })
    }

    async fn decide_case(
        &self,
        request: Request<pb::DecideCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        change!(self, request, "DecideCase", |r| CaseChange::Decide {
            form: r.form.clone(),
            reasons: r.reasons.clone(),
            document: document_from_proto(r.document.clone()),
        })
    }

    async fn withdraw_case(
        &self,
        request: Request<pb::WithdrawCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        change!(self, request, "WithdrawCase", |r| CaseChange::Withdraw {
            reason: r.reason.clone(),
            objective_cause: r.objective_cause,
        })
    }

    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        answer(
            self.handlers
                .get_case(&caller, &r.case_id)
                .await
                .map(|view| case_to_proto(&view)),
        )
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let unit = Some(r.unit.trim()).filter(|u| !u.is_empty());
        let state = Some(r.state.trim()).filter(|s| !s.is_empty());
        answer(
            self.handlers
                .list_cases(&caller, unit, state)
                .await
                .map(|views| pb::ListCasesResponse {
                    cases: views.iter().map(case_to_proto).collect(),
                }),
        )
    }

    async fn get_case_audit(
        &self,
        request: Request<pb::GetCaseAuditRequest>,
    ) -> Result<Response<pb::CaseAudit>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        answer(
            self.handlers
                .case_audit(&caller, &r.case_id)
                .await
                .map(|reads| pb::CaseAudit {
                    case_id: r.case_id.clone(),
                    reads,
                }),
        )
    }

    async fn evaluate_case_clocks(
        &self,
        request: Request<pb::EvaluateCaseClocksRequest>,
    ) -> Result<Response<pb::EvaluateCaseClocksResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        answer(
            async {
                let as_of = r
                    .as_of
                    .map(|t| {
                        DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
                            .ok_or_else(|| ApiError::invalid("as_of", "is not a valid instant"))
                    })
                    .transpose()?;
                let warnings = self.handlers.evaluate_clocks(&caller, as_of).await?;
                Ok(pb::EvaluateCaseClocksResponse {
                    warnings: warnings
                        .into_iter()
                        .map(|(case_id, w)| pb::CaseDeadlineWarning {
                            case_id,
                            limit: w.limit.as_str().to_owned(),
                            limit_days: w.limit_days,
                            due_on: iso(w.due_on),
                            days_left: w.days_left,
                            unit: w.unit,
                        })
                        .collect(),
                })
            }
            .await,
        )
    }
}
