//! The `ProgressService` gRPC adapter: protobuf in, protobuf out, nothing decided here.

pub mod convert;
pub mod status;

use chrono::{DateTime, NaiveDate, Utc};
use dondoc_eventsourcing::RequestKey;
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::progress_service_server::ProgressService;
use dondoc_runtime::auth::principal;
use dondoc_runtime::request::correlation_id;
use tonic::{Request, Response, Status};

use crate::domain::register::{RegisterKind, Secrecy};
use crate::domain::{CODE_MAX, DeadlineClass, FieldViolation};
use crate::events::register::urgency_from_proto;
use crate::handlers::error::ApiError;
use crate::handlers::{Caller, DocumentInput, ExecutionFilter, Handlers, Upload, WorkRequest};
use convert::{document_to_proto, dossier_to_proto, execution_to_proto, status_from_proto};

pub use dondoc_runtime::request::CORRELATION_HEADER;
const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 500;

/// The gRPC face of [`Handlers`].
#[derive(Clone)]
pub struct ProgressApi {
    handlers: Handlers,
}

impl ProgressApi {
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

fn answer<T>(result: Result<T, ApiError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

/// One mutation: the request key, then the handler, then the execution as it now stands.
macro_rules! work {
    ($self:ident, $request:ident, $method:literal, |$r:ident| $work:expr) => {{
        let caller = caller(&$request)?;
        let $r = $request.into_inner();
        answer(
            async {
                let key = request_key($method, &caller, &$r.request_id, &$r, |r| {
                    r.request_id.clear()
                })?;
                let view = $self
                    .handlers
                    .work(&caller, key, &$r.task_id, expected(&$r), $work)
                    .await?;
                Ok(execution_to_proto(&view))
            }
            .await,
        )
    }};
}

/// The client's optimistic-concurrency check, on the requests that carry one.
trait Expected {
    fn expected_version(&self) -> u64 {
        0
    }
}

fn expected<R: Expected>(request: &R) -> u64 {
    request.expected_version()
}

macro_rules! expected_version {
    ($($t:ty),*) => {
        $(impl Expected for $t {
            fn expected_version(&self) -> u64 {
                self.expected_version
            }
        })*
    };
}

expected_version!(
    pb::AcknowledgeTaskRequest,
    pb::ReportProgressRequest,
    pb::RequestCoordinationRequest,
    pb::SubmitCoordinationRequest,
    pb::ReportDifficultyRequest,
    pb::GiveDirectionRequest,
    pb::SubmitResultRequest,
    pb::ReviewResultRequest,
    pb::RequestTaskExtensionRequest
);
impl Expected for pb::RequestHandOffRequest {}

#[tonic::async_trait]
impl ProgressService for ProgressApi {
    async fn acknowledge_task(
        &self,
        request: Request<pb::AcknowledgeTaskRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        work!(self, request, "AcknowledgeTask", |r| {
            WorkRequest::Acknowledge
        })
    }

    async fn report_progress(
        &self,
        request: Request<pb::ReportProgressRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        work!(self, request, "ReportProgress", |r| {
            WorkRequest::ReportProgress {
                percent: r.percent,
                narrative: r.narrative.clone(),
                documents: uploads(&r.documents),
            }
        })
    }

    async fn request_coordination(
        &self,
        request: Request<pb::RequestCoordinationRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        work!(self, request, "RequestCoordination", |r| {
            WorkRequest::RequestCoordination {
                unit: r.unit.clone(),
                request: r.request.clone(),
                reply_due: r.reply_due.clone(),
            }
        })
    }

    async fn submit_coordination(
        &self,
        request: Request<pb::SubmitCoordinationRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        work!(self, request, "SubmitCoordination", |r| {
            WorkRequest::SubmitCoordination {
                coordination_id: r.coordination_id.clone(),
                reply: r.reply.clone(),
            }
        })
    }

    async fn report_difficulty(
        &self,
        request: Request<pb::ReportDifficultyRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        work!(self, request, "ReportDifficulty", |r| {
            WorkRequest::ReportDifficulty {
                description: r.description.clone(),
                proposed_solution: r.proposed_solution.clone(),
            }
        })
    }

    async fn give_direction(
        &self,
        request: Request<pb::GiveDirectionRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        work!(self, request, "GiveDirection", |r| {
            WorkRequest::GiveDirection {
                difficulty_id: r.difficulty_id.clone(),
                direction: r.direction.clone(),
            }
        })
    }

    async fn request_extension(
        &self,
        request: Request<pb::RequestTaskExtensionRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        work!(self, request, "RequestExtension", |r| {
            WorkRequest::RequestExtension {
                proposed_deadline: r.proposed_deadline.clone(),
                reason: r.reason.clone(),
            }
        })
    }

    async fn request_hand_off(
        &self,
        request: Request<pb::RequestHandOffRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        work!(self, request, "RequestHandOff", |r| {
            WorkRequest::RequestHandOff {
                requested_unit: r.requested_unit.clone(),
                reason: r.reason.clone(),
            }
        })
    }

    async fn submit_result(
        &self,
        request: Request<pb::SubmitResultRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        work!(self, request, "SubmitResult", |r| {
            WorkRequest::SubmitResult {
                summary: r.summary.clone(),
                documents: uploads(&r.documents),
            }
        })
    }

    async fn review_result(
        &self,
        request: Request<pb::ReviewResultRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        work!(self, request, "ReviewResult", |r| {
            WorkRequest::ReviewResult {
                submission_id: r.submission_id.clone(),
                accept: r.accept,
                note: r.note.clone(),
            }
        })
    }

    async fn evaluate_reply_deadlines(
        &self,
        request: Request<pb::EvaluateReplyDeadlinesRequest>,
    ) -> Result<Response<pb::EvaluateReplyDeadlinesResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let as_of = if request.as_of.trim().is_empty() {
                    None
                } else {
                    Some(
                        DateTime::parse_from_rfc3339(request.as_of.trim())
                            .map(|t| t.with_timezone(&Utc))
                            .map_err(|_| {
                                ApiError::invalid("as_of", "must be an RFC 3339 instant")
                            })?,
                    )
                };
                let deemed_agreed = self
                    .handlers
                    .evaluate_reply_deadlines(&caller, as_of)
                    .await?;
                Ok(pb::EvaluateReplyDeadlinesResponse { deemed_agreed })
            }
            .await,
        )
    }

    async fn register_incoming_document(
        &self,
        request: Request<pb::RegisterDocumentRequest>,
    ) -> Result<Response<pb::RegisteredDocument>, Status> {
        self.register(request, RegisterKind::Incoming, "RegisterIncomingDocument")
            .await
    }

    async fn register_outgoing_document(
        &self,
        request: Request<pb::RegisterDocumentRequest>,
    ) -> Result<Response<pb::RegisteredDocument>, Status> {
        self.register(request, RegisterKind::Outgoing, "RegisterOutgoingDocument")
            .await
    }

    async fn list_register(
        &self,
        request: Request<pb::ListRegisterRequest>,
    ) -> Result<Response<pb::ListRegisterResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let kind = register_kind(request.register)?;
                let documents = self
                    .handlers
                    .list_register(&caller, kind, request.year)
                    .await?;
                Ok(pb::ListRegisterResponse {
                    documents: documents.iter().map(document_to_proto).collect(),
                })
            }
            .await,
        )
    }

    async fn get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::RegisteredDocument>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let found = self
                    .handlers
                    .get_document(&caller, &request.document_id)
                    .await?;
                let mut document = document_to_proto(&found.document);
                document.content = found.content;
                document.content_verified = found.verified;
                Ok(document)
            }
            .await,
        )
    }

    async fn get_attachment(
        &self,
        request: Request<pb::GetAttachmentRequest>,
    ) -> Result<Response<pb::AttachmentContent>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let (document, content, verified) = self
                    .handlers
                    .get_attachment(&caller, &request.task_id, &request.sha256)
                    .await?;
                Ok(pb::AttachmentContent {
                    document: Some(crate::events::document_to_proto(&document)),
                    content,
                    content_verified: verified,
                })
            }
            .await,
        )
    }

    async fn get_dossier(
        &self,
        request: Request<pb::GetDossierRequest>,
    ) -> Result<Response<pb::Dossier>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let view = self.handlers.get_dossier(&caller, &request.task_id).await?;
                Ok(dossier_to_proto(&view))
            }
            .await,
        )
    }

    async fn close_dossier(
        &self,
        request: Request<pb::CloseDossierRequest>,
    ) -> Result<Response<pb::Dossier>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key = request_key(
                    "CloseDossier",
                    &caller,
                    &request.request_id,
                    &request,
                    |r| r.request_id.clear(),
                )?;
                let view = self
                    .handlers
                    .change_dossier(&caller, key, &request.task_id, None)
                    .await?;
                Ok(dossier_to_proto(&view))
            }
            .await,
        )
    }

    async fn archive_dossier(
        &self,
        request: Request<pb::ArchiveDossierRequest>,
    ) -> Result<Response<pb::Dossier>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key = request_key(
                    "ArchiveDossier",
                    &caller,
                    &request.request_id,
                    &request,
                    |r| r.request_id.clear(),
                )?;
                let view = self
                    .handlers
                    .change_dossier(
                        &caller,
                        key,
                        &request.task_id,
                        Some(request.archive_reference.clone()),
                    )
                    .await?;
                Ok(dossier_to_proto(&view))
            }
            .await,
        )
    }

    async fn get_execution(
        &self,
        request: Request<pb::GetExecutionRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let view = self
                    .handlers
                    .get_execution(&caller, &request.task_id)
                    .await?;
                Ok(execution_to_proto(&view))
            }
            .await,
        )
    }

    async fn list_executions(
        &self,
        request: Request<pb::ListExecutionsRequest>,
    ) -> Result<Response<pb::ListExecutionsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let filter = list_filter(&request)?;
                let page = self.handlers.list_executions(&caller, filter).await?;
                Ok(pb::ListExecutionsResponse {
                    executions: page.executions.iter().map(execution_to_proto).collect(),
                    next_page_token: page.next_after.unwrap_or_default(),
                })
            }
            .await,
        )
    }
}

fn uploads(documents: &[pb::Attachment]) -> Vec<Upload> {
    documents
        .iter()
        .map(|d| Upload {
            file_name: d.file_name.clone(),
            media_type: d.media_type.clone(),
            content: d.content.clone(),
        })
        .collect()
}

fn register_kind(raw: i32) -> Result<RegisterKind, ApiError> {
    match pb::RegisterKind::try_from(raw) {
        Ok(pb::RegisterKind::Incoming) => Ok(RegisterKind::Incoming),
        Ok(pb::RegisterKind::Outgoing) => Ok(RegisterKind::Outgoing),
        _ => Err(ApiError::invalid("register", "incoming or outgoing")),
    }
}

fn secrecy_from_proto(raw: i32) -> Option<Secrecy> {
    match pb::Secrecy::try_from(raw).ok()? {
        pb::Secrecy::Unspecified | pb::Secrecy::Normal => Some(Secrecy::Normal),
        pb::Secrecy::Confidential => Some(Secrecy::Confidential),
        pb::Secrecy::Secret => Some(Secrecy::Secret),
        pb::Secrecy::TopSecret => Some(Secrecy::TopSecret),
    }
}

impl ProgressApi {
    async fn register(
        &self,
        request: Request<pb::RegisterDocumentRequest>,
        kind: RegisterKind,
        method: &str,
    ) -> Result<Response<pb::RegisteredDocument>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        answer(
            async {
                let key = request_key(method, &caller, &request.request_id, &request, |r| {
                    r.request_id.clear()
                })?;
                let input = DocumentInput {
                    document_type: request.document_type,
                    issuer_number: request.issuer_number,
                    symbol: request.symbol,
                    issued_on: request.issued_on,
                    summary: request.summary,
                    issuing_body: request.issuing_body,
                    signer: request.signer,
                    urgency: urgency_from_proto(request.urgency),
                    secrecy: secrecy_from_proto(request.secrecy),
                    task_id: request.task_id,
                    file_name: request.file_name,
                    media_type: request.media_type,
                    content: request.content,
                };
                let document = self
                    .handlers
                    .register_document(&caller, key, kind, input)
                    .await?;
                Ok(document_to_proto(&document))
            }
            .await,
        )
    }
}

/// Every field of a `ListExecutions` request checked at once.
fn list_filter(request: &pb::ListExecutionsRequest) -> Result<ExecutionFilter, ApiError> {
    let mut violations = Vec::new();
    let status = match request.status {
        0 => None,
        raw => {
            let status = status_from_proto(raw);
            if status.is_none() {
                violations.push(FieldViolation::new("status", "not a task status"));
            }
            status
        }
    };
    let deadline_class = match request.deadline_class.trim() {
        "" => None,
        raw => {
            let class = DeadlineClass::parse(raw);
            if class.is_none() {
                violations.push(FieldViolation::new(
                    "deadline_class",
                    "one of overdue, near_due, within_term, no_deadline",
                ));
            }
            class
        }
    };
    let as_of = match request.as_of.trim() {
        "" => None,
        raw => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                violations.push(FieldViolation::new("as_of", "must be a date YYYY-MM-DD"));
                None
            }
        },
    };
    let limit = match request.page_size {
        0 => DEFAULT_PAGE_SIZE,
        n if n < 0 => {
            violations.push(FieldViolation::new("page_size", "must not be negative"));
            DEFAULT_PAGE_SIZE
        }
        n => usize::try_from(n)
            .unwrap_or(MAX_PAGE_SIZE)
            .min(MAX_PAGE_SIZE),
    };
    if request.page_token.len() > CODE_MAX {
        violations.push(FieldViolation::new(
            "page_token",
            "not a token returned by this service",
        ));
    }
    let lead_unit = request.lead_unit.trim().to_uppercase();
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }
    Ok(ExecutionFilter {
        lead_unit: (!lead_unit.is_empty()).then_some(lead_unit),
        status,
        awaiting_direction: request.awaiting_direction,
        awaiting_review: request.awaiting_review,
        deadline_class,
        as_of,
        after: request.page_token.clone(),
        limit,
    })
}
