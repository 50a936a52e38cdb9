//! The `ReportingService` gRPC adapter: read the caller, call the handler, convert to
//! protobuf; handler errors become gRPC statuses here and nowhere else.

use dondoc_proto::v1 as pb;
use dondoc_proto::v1::reporting_service_server::ReportingService;
use dondoc_runtime::auth::principal;
use tonic::{Request, Response, Status};

use crate::domain::period::PeriodKind;
use crate::handlers::{Handlers, IssueRequest, ReportingError};
use crate::render::wire::{overdue_to_proto, row_to_proto, score_to_proto, wire};

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
            ReportingError::Invalid(field, why) => {
                Status::invalid_argument(format!("invalid request: {field}: {why}"))
            }
            ReportingError::FailedPrecondition(message) => Status::failed_precondition(message),
            ReportingError::RegisterRefused(_) => Status::failed_precondition(error.to_string()),
            ReportingError::Internal(message) => {
                tracing::error!(%message, "reporting failed");
                Status::internal("the report could not be produced; the service log says why")
            }
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

    async fn get_periodic_report(
        &self,
        request: Request<pb::GetPeriodicReportRequest>,
    ) -> Result<Response<pb::PeriodicReport>, Status> {
        let caller = principal(&request)?;
        let r = request.into_inner();
        let kind = period_kind(&r)?;
        let report = self.handlers.periodic_report(&caller, kind, r.year).await?;
        Ok(Response::new(wire(&report)))
    }

    async fn render_report(
        &self,
        request: Request<pb::RenderReportRequest>,
    ) -> Result<Response<pb::RenderedReport>, Status> {
        let caller = principal(&request)?;
        let r = request.into_inner();
        let period = r.period.unwrap_or_default();
        let kind = period_kind(&period)?;
        let rendered = self
            .handlers
            .render(&caller, kind, period.year, &r.format, r.letterhead.as_ref())
            .await?;
        Ok(Response::new(pb::RenderedReport {
            content: rendered.content,
            media_type: rendered.media_type.to_owned(),
            file_name: rendered.file_name,
            sha256: rendered.sha256,
        }))
    }

    async fn issue_report(
        &self,
        request: Request<pb::IssueReportRequest>,
    ) -> Result<Response<pb::IssuedReport>, Status> {
        let caller = principal(&request)?;
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let r = request.into_inner();
        let period = r.period.unwrap_or_default();
        let issued = self
            .handlers
            .issue(
                &caller,
                authorization.as_deref(),
                &IssueRequest {
                    request_id: r.request_id,
                    kind: period_kind(&period)?,
                    year: period.year,
                    symbol: r.symbol,
                    letterhead: r.letterhead,
                },
            )
            .await?;
        Ok(Response::new(issued))
    }

    async fn list_issued_reports(
        &self,
        request: Request<pb::ListIssuedReportsRequest>,
    ) -> Result<Response<pb::ListIssuedReportsResponse>, Status> {
        let caller = principal(&request)?;
        let reports = self.handlers.issued(&caller).await?;
        Ok(Response::new(pb::ListIssuedReportsResponse { reports }))
    }

    async fn get_unit_scorecard(
        &self,
        request: Request<pb::GetUnitScorecardRequest>,
    ) -> Result<Response<pb::UnitScorecard>, Status> {
        let caller = principal(&request)?;
        let r = request.into_inner();
        let period = r.period.unwrap_or_default();
        let kind = period_kind(&period)?;
        let card = self
            .handlers
            .unit_scorecard(&caller, kind, period.year, &r.unit)
            .await?;
        let name = card
            .score
            .as_ref()
            .map(|s| s.name.clone())
            .or_else(|| card.year_to_date.as_ref().map(|r| r.name.clone()))
            .unwrap_or_else(|| card.unit.clone());
        Ok(Response::new(pb::UnitScorecard {
            name,
            title: card.report.title.clone(),
            from: card.report.window.0.to_string(),
            to: card.report.window.1.to_string(),
            score: card.score.as_ref().map(score_to_proto),
            year_to_date: card.year_to_date.as_ref().map(row_to_proto),
            overdue: card.overdue.iter().map(overdue_to_proto).collect(),
            unit: card.unit,
        }))
    }

    async fn list_overdue(
        &self,
        request: Request<pb::ListOverdueRequest>,
    ) -> Result<Response<pb::ListOverdueResponse>, Status> {
        let caller = principal(&request)?;
        let r = request.into_inner();
        let as_of = match r.as_of.trim() {
            "" => None,
            raw => Some(
                chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map_err(|_| invalid("as_of", "must be an ISO date (YYYY-MM-DD)"))?,
            ),
        };
        let (day, tasks) = self.handlers.overdue(&caller, &r.unit, as_of).await?;
        Ok(Response::new(pb::ListOverdueResponse {
            as_of: day.to_string(),
            tasks: tasks.iter().map(overdue_to_proto).collect(),
        }))
    }

    async fn rebuild_projections(
        &self,
        request: Request<pb::RebuildProjectionsRequest>,
    ) -> Result<Response<pb::RebuildProjectionsResponse>, Status> {
        let caller = principal(&request)?;
        let rebuilt = self.handlers.rebuild(&caller).await?;
        Ok(Response::new(pb::RebuildProjectionsResponse {
            read_models: rebuilt
                .into_iter()
                .map(|(name, events_applied)| pb::RebuiltReadModel {
                    name,
                    events_applied,
                })
                .collect(),
        }))
    }
}

fn invalid(field: &'static str, why: &str) -> Status {
    Status::from(ReportingError::Invalid(field, why.to_owned()))
}

fn period_kind(r: &pb::GetPeriodicReportRequest) -> Result<PeriodKind, Status> {
    let date = |field: &'static str, raw: &str| {
        chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map_err(|_| invalid(field, "must be an ISO date (YYYY-MM-DD)"))
    };
    Ok(match r.kind.trim() {
        "month" => PeriodKind::Month(r.index),
        "quarter" => PeriodKind::Quarter(r.index),
        "first_half" => PeriodKind::FirstHalf,
        "second_half" => PeriodKind::SecondHalf,
        "nine_months" => PeriodKind::NineMonths,
        "year" => PeriodKind::Year,
        "custom" => PeriodKind::Custom {
            from: date("from", &r.from)?,
            to: date("to", &r.to)?,
        },
        _ => {
            return Err(invalid(
                "kind",
                "must be month, quarter, first_half, second_half, nine_months, year or custom",
            ));
        }
    })
}
