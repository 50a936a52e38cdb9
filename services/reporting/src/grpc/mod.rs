//! The `ReportingService` gRPC adapter: read the caller, call the handler, convert to
//! protobuf; handler errors become gRPC statuses here and nowhere else.

use dondoc_proto::v1 as pb;
use dondoc_proto::v1::reporting_service_server::ReportingService;
use dondoc_runtime::auth::principal;
use tonic::{Request, Response, Status};

use crate::domain::period::PeriodKind;
use crate::domain::report::{Block, Figures, PeriodicReport, Row as ReportRow};
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
            ReportingError::Invalid(field, why) => {
                Status::invalid_argument(format!("invalid request: {field}: {why}"))
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
        Ok(Response::new(report_to_proto(&report)))
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

fn figures_to_proto(f: &Figures) -> pb::ReportFigures {
    pb::ReportFigures {
        assigned: f.assigned,
        completed_on_time: f.completed_on_time,
        completed_late: f.completed_late,
        completed_no_deadline: f.completed_no_deadline,
        in_progress_within_term: f.in_progress_within_term,
        in_progress_no_deadline: f.in_progress_no_deadline,
        overdue: f.overdue,
        cancelled: f.cancelled,
        overdue_pct_of_all: f.overdue_pct_of_all,
        overdue_pct_of_with_deadline: f.overdue_pct_of_with_deadline,
    }
}

fn block_to_proto(b: &Block) -> pb::ReportBlock {
    pb::ReportBlock {
        period: Some(figures_to_proto(&b.period)),
        year_to_date: Some(figures_to_proto(&b.year_to_date)),
        previous_period: Some(figures_to_proto(&b.previous_period)),
    }
}

fn row_to_proto(r: &ReportRow) -> pb::ReportRow {
    pb::ReportRow {
        key: r.key.clone(),
        name: r.name.clone(),
        figures: Some(figures_to_proto(&r.figures)),
        on_time_rate: r.on_time_rate.unwrap_or_default(),
        has_rate: r.on_time_rate.is_some(),
        rank: r.rank,
    }
}

/// The report for the wire.
pub fn report_to_proto(r: &PeriodicReport) -> pb::PeriodicReport {
    pb::PeriodicReport {
        title: r.title.clone(),
        from: r.window.0.to_string(),
        to: r.window.1.to_string(),
        year_from: r.year_from.to_string(),
        all: Some(block_to_proto(&r.all)),
        central: Some(block_to_proto(&r.central)),
        units: r.units.iter().map(row_to_proto).collect(),
        leaders: r.leaders.iter().map(row_to_proto).collect(),
        overdue: r
            .overdue
            .iter()
            .map(|o| pb::OverdueTask {
                task_id: o.task_id.clone(),
                title: o.title.clone(),
                source_document: o.source_document.clone(),
                lead_unit: o.lead_unit.clone(),
                deadline: o.deadline.to_string(),
                working_days_overdue: o.working_days_overdue,
                age_bucket: o.age_bucket.clone(),
                extended: o.extended,
            })
            .collect(),
        difficulties: r
            .difficulties
            .iter()
            .map(|d| pb::PendingDifficulty {
                task_id: d.task_id.clone(),
                title: d.title.clone(),
                unit: d.unit.clone(),
                description: d.description.clone(),
                reported_on: d.reported_on.to_string(),
                working_days_waiting: d.working_days_waiting,
            })
            .collect(),
        actions: Some(pb::ReportActions {
            reminders: r.actions.reminders,
            criticisms: r.actions.criticisms,
            commendations: r.actions.commendations,
        }),
        cases: Some(pb::ReportCases {
            opened: r.cases.opened,
            decided: r.cases.decided,
            no_discipline: r.cases.no_discipline,
            withdrawn: r.cases.withdrawn,
            by_form: r.cases.by_form.clone().into_iter().collect(),
        }),
        late: r
            .late
            .iter()
            .map(|l| pb::LateFact {
                task_id: l.task_id.clone(),
                title: l.title.clone(),
                what: l.what.clone(),
                effective_on: l.effective_on.to_string(),
                known_on: l.known_on.to_string(),
            })
            .collect(),
        scorecard: r
            .scorecard
            .iter()
            .map(|s| pb::ScoreRow {
                unit: s.unit.clone(),
                name: s.name.clone(),
                completed_with_deadline: s.completed_with_deadline,
                on_time: s.on_time,
                late: s.late,
                exempt: s.exempt,
                timeliness_pct: s.timeliness_pct,
            })
            .collect(),
    }
}
