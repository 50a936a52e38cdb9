//! The `ReportingService` gRPC adapter: authorise, read the projection, convert to protobuf.

use dondoc_eventsourcing::Database;
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::reporting_service_server::ReportingService;
use dondoc_runtime::auth::{Role, principal};
use tonic::{Request, Response, Status};

use crate::board::read_board;

#[derive(Clone, Debug)]
pub struct Reporting {
    db: Database,
}

impl Reporting {
    pub fn new(db: Database) -> Self {
        Self { db }
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
impl ReportingService for Reporting {
    async fn get_task_board(
        &self,
        request: Request<pb::GetTaskBoardRequest>,
    ) -> Result<Response<pb::TaskBoard>, Status> {
        let caller = principal(&request)?;
        let requested = request.into_inner().unit;
        // A unit sees its own row only; everyone else may look at any unit or all of them.
        let unit = match (caller.role, caller.unit_code.as_deref()) {
            (Role::Unit, Some(own)) if requested.is_empty() || requested == own => {
                Some(own.to_owned())
            }
            (Role::Unit, _) => {
                return Err(Status::permission_denied(
                    "a unit may only read its own task board",
                ));
            }
            _ if requested.is_empty() => None,
            _ => Some(requested),
        };
        let board = read_board(&self.db, unit.as_deref())
            .await
            .map_err(|error| {
                tracing::error!(error = %error, "cannot read the task board");
                Status::unavailable("the reporting database is unavailable; retry later")
            })?;
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
}
