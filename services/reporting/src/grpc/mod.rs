//! The `ReportingService` gRPC adapter: read the caller, call the handler, convert to
//! protobuf; handler errors become gRPC statuses here and nowhere else.

use dondoc_proto::v1 as pb;
use dondoc_proto::v1::reporting_service_server::ReportingService;
use dondoc_runtime::auth::principal;
use tonic::{Request, Response, Status};

use crate::handlers::{Handlers, ReportingError};

#[derive(Clone)]
pub struct ReportingApi {
    handlers: Handlers,
}

impl ReportingApi {
    pub fn new(handlers: Handlers) -> Self {
        Self { handlers }
    }
}

impl From<ReportingError> for Status {
    fn from(error: ReportingError) -> Self {
        match error {
            ReportingError::PermissionDenied(message) => Status::permission_denied(message),
            ReportingError::Unavailable(message) => Status::unavailable(message),
        }
    }
}

fn status_to_proto(status: &str) -> pb::TaskStatus {
    match status {
        "assigned" => pb::TaskStatus::Assigned,
        "in_progress" => pb::TaskStatus::InProgress,
        "awaiting_confirmation" => pb::TaskStatus::AwaitingConfirmation,
        "completed" => pb::TaskStatus::Completed,
        "returned_for_rework" => pb::TaskStatus::ReturnedForRework,
        "cancelled" => pb::TaskStatus::Cancelled,
        _ => pb::TaskStatus::Unspecified,
    }
}

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    async fn get_task_board(
        &self,
        request: Request<pb::GetTaskBoardRequest>,
    ) -> Result<Response<pb::TaskBoard>, Status> {
        let caller = principal(&request)?;
        let board = self
            .handlers
            .task_board(&caller, &request.into_inner().unit)
            .await?;
        Ok(Response::new(pb::TaskBoard {
            rows: board
                .rows
                .into_iter()
                .map(|row| pb::TaskBoardRow {
                    unit: row.unit,
                    status: status_to_proto(&row.status) as i32,
                    tasks: row.tasks,
                })
                .collect(),
            total_tasks: board.total_tasks,
            events_applied: board.events_applied,
        }))
    }

    async fn list_timeliness_exemptions(
        &self,
        request: Request<pb::ListTimelinessExemptionsRequest>,
    ) -> Result<Response<pb::ListTimelinessExemptionsResponse>, Status> {
        let caller = principal(&request)?;
        let exemptions = self
            .handlers
            .timeliness_exemptions(&caller, &request.into_inner().unit)
            .await?;
        Ok(Response::new(pb::ListTimelinessExemptionsResponse {
            exemptions: exemptions
                .into_iter()
                .map(|e| pb::TimelinessExemption {
                    task_id: e.task_id,
                    unit: e.unit,
                    case_id: e.case_id,
                    reason: e.reason,
                    exempt_from: e.exempt_from,
                })
                .collect(),
        }))
    }
}
