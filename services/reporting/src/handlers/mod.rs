//! The reporting service's query handlers: who may read what, in domain terms.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use dondoc_eventsourcing::Database;
use dondoc_eventsourcing::clock::business_date;
use dondoc_eventsourcing::consumer::{Consumer, ConsumerError};
use dondoc_eventsourcing::projection::Projection;
use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::{Principal, Role};
use dondoc_runtime::clock::SharedClock;

use crate::consumers::documents::read_documents;
use crate::domain::report::{OverdueItem, overdue_on};
use crate::render::{Format, RenderError, Rendered};

use crate::consumers::board::{TaskBoardProjection, read_board};
use crate::consumers::exemptions::{Exemption, read_exemptions};
use crate::consumers::history::{read_facts, read_histories};
use crate::domain::Board;
use crate::domain::period::{PeriodKind, year_start};
use crate::domain::report::{PeriodicReport, ReportInput, compute};

/// Why a query was not answered.
#[derive(Debug, thiserror::Error)]
pub enum ReportingError {
    #[error("{0}")]
    PermissionDenied(String),
    /// The read model cannot be read now (database down, or a newer version is active and
    /// this replica must be upgraded).
    #[error("{0}")]
    Unavailable(String),
    /// The request names no period this service knows; the field and why.
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    /// Something this service needs is not there (Chromium for a PDF, the progress service
    /// for issuing).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The outgoing register refused the report (its message says why).
    #[error("the outgoing register refused the report: {0}")]
    RegisterRefused(String),
    #[error("{0}")]
    Internal(String),
}

impl From<RenderError> for ReportingError {
    fn from(error: RenderError) -> Self {
        match error {
            RenderError::UnknownFormat => ReportingError::Invalid("format", error.to_string()),
            RenderError::ChromiumMissing => ReportingError::FailedPrecondition(error.to_string()),
            RenderError::Failed(why) => ReportingError::Internal(why),
        }
    }
}

fn unavailable(error: sqlx::Error) -> ReportingError {
    tracing::error!(error = %error, "cannot read the reporting database");
    ReportingError::Unavailable("the reporting database is unavailable; retry later".into())
}

/// A read model that `RebuildProjections` empties and consumes again.
#[async_trait]
pub trait Rebuild: Send + Sync {
    fn name(&self) -> &str;
    async fn reset(&self) -> Result<(), ConsumerError>;
    /// The reset has been carried out and nothing published is left to consume.
    async fn caught_up(&self) -> Result<bool, ConsumerError>;
    /// Events applied since this replica started.
    fn applied(&self) -> u64;
}

#[async_trait]
impl<P: Projection> Rebuild for Consumer<P> {
    fn name(&self) -> &str {
        Consumer::name(self)
    }

    async fn reset(&self) -> Result<(), ConsumerError> {
        self.reset_for_rebuild().await
    }

    async fn caught_up(&self) -> Result<bool, ConsumerError> {
        self.is_caught_up().await
    }

    fn applied(&self) -> u64 {
        self.stats().applied
    }
}

/// Who may read a unit's figures: a unit its own (`requested` empty or its code), everyone
/// else any unit (`None`: all units).
fn unit_in_scope(
    caller: &Principal,
    requested: &str,
    what: &str,
) -> Result<Option<String>, ReportingError> {
    let requested = requested.trim().to_ascii_uppercase();
    match (caller.role, caller.unit_code.as_deref()) {
        (Role::Unit, Some(own)) if requested.is_empty() || requested == own => {
            Ok(Some(own.to_owned()))
        }
        (Role::Unit, _) => Err(ReportingError::PermissionDenied(format!(
            "a unit may only read its own {what}"
        ))),
        _ if requested.is_empty() => Ok(None),
        _ => Ok(Some(requested)),
    }
}

/// The city's report is the Office's, the leadership's, Home Affairs' and administrators'.
fn city_reader(caller: &Principal) -> Result<(), ReportingError> {
    if caller.role == Role::Unit {
        return Err(ReportingError::PermissionDenied(
            "the periodic report is the Office's and the leadership's; a unit reads its own \
             scorecard (GetUnitScorecard)"
                .into(),
        ));
    }
    Ok(())
}

/// How long `RebuildProjections` waits for the rebuild to catch up before answering that it
/// is still running.
const REBUILD_WAIT: Duration = Duration::from_secs(120);

/// The handlers and what they read.
#[derive(Clone)]
pub struct Handlers {
    db: Database,
    board: Arc<Consumer<TaskBoardProjection>>,
    /// Days overdue in the reports count working days.
    calendar: Arc<dondoc_runtime::calendar::WorkingCalendar>,
    /// "Today" for overdue lists and the date of issue.
    clock: SharedClock,
    read_models: Vec<Arc<dyn Rebuild>>,
    /// Where issued reports are registered (`None`: issuing is not configured).
    progress_url: Option<String>,
}

impl Handlers {
    pub fn new(
        db: Database,
        board: Arc<Consumer<TaskBoardProjection>>,
        calendar: Arc<dondoc_runtime::calendar::WorkingCalendar>,
        clock: SharedClock,
        read_models: Vec<Arc<dyn Rebuild>>,
        progress_url: Option<String>,
    ) -> Self {
        Self {
            db,
            board,
            calendar,
            clock,
            read_models,
            progress_url,
        }
    }

    fn today(&self) -> NaiveDate {
        business_date(self.clock.now())
    }

    /// `GetTaskBoard`: a unit sees its own row only; everyone else any unit or all of them.
    pub async fn task_board(
        &self,
        caller: &Principal,
        requested_unit: &str,
    ) -> Result<Board, ReportingError> {
        let requested = requested_unit.trim().to_ascii_uppercase();
        let unit = match (caller.role, caller.unit_code.as_deref()) {
            (Role::Unit, Some(own)) if requested.is_empty() || requested == own => {
                Some(own.to_owned())
            }
            (Role::Unit, _) => {
                return Err(ReportingError::PermissionDenied(
                    "a unit may only read its own task board".into(),
                ));
            }
            _ if requested.is_empty() => None,
            _ => Some(requested),
        };
        self.board
            .ensure_running()
            .map_err(|e| ReportingError::Unavailable(e.to_string()))?;
        read_board(&self.db, unit.as_deref())
            .await
            .map_err(|error| {
                tracing::error!(error = %error, "cannot read the task board");
                ReportingError::Unavailable(
                    "the reporting database is unavailable; retry later".into(),
                )
            })
    }

    /// `ListTimelinessExemptions`: a unit sees its own; everyone else any unit or all.
    pub async fn timeliness_exemptions(
        &self,
        caller: &Principal,
        requested_unit: &str,
    ) -> Result<Vec<Exemption>, ReportingError> {
        let requested = requested_unit.trim().to_ascii_uppercase();
        let unit = match (caller.role, caller.unit_code.as_deref()) {
            (Role::Unit, Some(own)) if requested.is_empty() || requested == own => {
                Some(own.to_owned())
            }
            (Role::Unit, _) => {
                return Err(ReportingError::PermissionDenied(
                    "a unit may only read its own exemptions".into(),
                ));
            }
            _ if requested.is_empty() => None,
            _ => Some(requested),
        };
        read_exemptions(&self.db, unit.as_deref())
            .await
            .map_err(|error| {
                tracing::error!(error = %error, "cannot read the timeliness exemptions");
                ReportingError::Unavailable(
                    "the reporting database is unavailable; retry later".into(),
                )
            })
    }

    /// `GetPeriodicReport`: the city's report; units read their own scorecard instead.
    pub async fn periodic_report(
        &self,
        caller: &Principal,
        kind: PeriodKind,
        year: i32,
    ) -> Result<PeriodicReport, ReportingError> {
        city_reader(caller)?;
        self.compute(kind, year).await
    }

    /// The report of a period, computed from the read models (no authorization: callers check).
    async fn compute(&self, kind: PeriodKind, year: i32) -> Result<PeriodicReport, ReportingError> {
        let window = kind.window(year).ok_or(ReportingError::Invalid(
            "index",
            "no such period (month 1–12, quarter 1–4; a custom range from ≤ to)".into(),
        ))?;
        let (previous_kind, previous_year) = kind.previous(year);
        let previous = previous_kind.window(previous_year).unwrap_or(window);
        let (tasks, units, leaders) = read_histories(&self.db).await.map_err(unavailable)?;
        let (difficulties, actions, cases) = read_facts(&self.db).await.map_err(unavailable)?;
        let (documents, dossiers) = read_documents(&self.db).await.map_err(unavailable)?;
        Ok(compute(&ReportInput {
            title: kind.title_vi(year),
            window,
            previous,
            year_from: year_start(window.to),
            tasks: &tasks,
            unit_names: &units,
            leader_names: &leaders,
            calendar: &self.calendar,
            difficulties: &difficulties,
            actions: &actions,
            cases: &cases,
            trend: &kind.trend(year),
            documents: &documents,
            dossiers: &dossiers,
        }))
    }

    /// `RenderReport`: the city's report as a document.
    pub async fn render(
        &self,
        caller: &Principal,
        kind: PeriodKind,
        year: i32,
        format: &str,
        letterhead: Option<&pb::Letterhead>,
    ) -> Result<Rendered, ReportingError> {
        city_reader(caller)?;
        let format = Format::parse(format)?;
        let report = crate::render::wire(&self.compute(kind, year).await?);
        let head = crate::render::letterhead(letterhead, self.today());
        // Chromium runs for seconds: off the async workers.
        tokio::task::spawn_blocking(move || crate::render::render(&report, format, &head))
            .await
            .map_err(|e| ReportingError::Internal(format!("rendering stopped: {e}")))?
            .map_err(ReportingError::from)
    }

    /// `IssueReport`: enters the report's HTML in the outgoing register of the progress
    /// service (as the caller, whose token is passed on) and keeps its figures as they were.
    pub async fn issue(
        &self,
        caller: &Principal,
        authorization: Option<&str>,
        request: &IssueRequest,
    ) -> Result<pb::IssuedReport, ReportingError> {
        if caller.role != Role::Office {
            return Err(ReportingError::PermissionDenied(
                "reports are issued by the Office".into(),
            ));
        }
        let request_id = request.request_id.trim();
        if request_id.is_empty() {
            return Err(ReportingError::Invalid(
                "request_id",
                "is required: a retry with the same id answers the first issue".into(),
            ));
        }
        let symbol = request.symbol.trim();
        if symbol.is_empty() || !symbol.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err(ReportingError::Invalid(
                "symbol",
                "is required: the ký hiệu, letters, digits and '-' (e.g. BC-VP)".into(),
            ));
        }
        if let Some(issued) = crate::issued::find(&self.db, request_id)
            .await
            .map_err(unavailable)?
        {
            return Ok(issued);
        }
        let url = self.progress_url.clone().ok_or_else(|| {
            ReportingError::FailedPrecondition(
                "issuing needs the progress service's outgoing register: set \
                 [reporting] progress_url"
                    .into(),
            )
        })?;
        let report = crate::render::wire(&self.compute(request.kind, request.year).await?);
        let today = self.today();
        let mut letterhead = request.letterhead.clone().unwrap_or_default();
        // The register gives the number; the document carries the blank the clerk stamps.
        letterhead.number_symbol = format!("     /{symbol}");
        let head = crate::render::letterhead(Some(&letterhead), today);
        let html = crate::render::render(&report, Format::Html, &head)?;
        let registered = crate::issued::register(
            &url,
            authorization,
            pb::RegisterDocumentRequest {
                request_id: format!("report-issue:{request_id}"),
                document_type: "Báo cáo".into(),
                symbol: symbol.to_owned(),
                issued_on: today.to_string(),
                summary: format!(
                    "Tình hình thực hiện nhiệm vụ do UBND thành phố giao {}",
                    report.title
                ),
                issuing_body: head.recipients.join("; "),
                signer: head.signer_name.clone(),
                urgency: pb::Priority::Normal as i32,
                secrecy: pb::Secrecy::Normal as i32,
                file_name: html.file_name.clone(),
                media_type: html.media_type.to_owned(),
                content: html.content,
                ..Default::default()
            },
        )
        .await?;
        let issued = pb::IssuedReport {
            document_id: registered.document_id,
            number_label: registered.number_label,
            title: report.title.clone(),
            from: report.from.clone(),
            to: report.to.clone(),
            issued_on: today.to_string(),
            sha256: registered.sha256,
            issued_by: caller.subject.clone(),
            report: Some(report),
        };
        crate::issued::insert(&self.db, request_id, &issued)
            .await
            .map_err(unavailable)?;
        // A concurrent retry may have kept its copy first: answer what is kept.
        crate::issued::find(&self.db, request_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| ReportingError::Internal("the issued report was not kept".into()))
    }

    /// `ListIssuedReports`: newest first.
    pub async fn issued(
        &self,
        caller: &Principal,
    ) -> Result<Vec<pb::IssuedReport>, ReportingError> {
        city_reader(caller)?;
        crate::issued::list(&self.db).await.map_err(unavailable)
    }

    /// `GetUnitScorecard`: a unit's timeliness and overdue tasks in a period.
    pub async fn unit_scorecard(
        &self,
        caller: &Principal,
        kind: PeriodKind,
        year: i32,
        unit: &str,
    ) -> Result<UnitScorecard, ReportingError> {
        let Some(unit) = unit_in_scope(caller, unit, "scorecard")? else {
            return Err(ReportingError::Invalid(
                "unit",
                "is required: the unit code".into(),
            ));
        };
        let report = self.compute(kind, year).await?;
        Ok(UnitScorecard {
            score: report.scorecard.iter().find(|s| s.unit == unit).cloned(),
            year_to_date: report.units.iter().find(|r| r.key == unit).cloned(),
            overdue: report
                .overdue
                .iter()
                .filter(|o| o.lead_unit == unit)
                .cloned()
                .collect(),
            unit,
            report,
        })
    }

    /// `ListOverdue`: tasks overdue at the end of `as_of` (default today).
    pub async fn overdue(
        &self,
        caller: &Principal,
        unit: &str,
        as_of: Option<NaiveDate>,
    ) -> Result<(NaiveDate, Vec<OverdueItem>), ReportingError> {
        let unit = unit_in_scope(caller, unit, "overdue tasks")?;
        let day = as_of.unwrap_or_else(|| self.today());
        let (tasks, units, _) = read_histories(&self.db).await.map_err(unavailable)?;
        let mut overdue = overdue_on(&tasks, &units, &self.calendar, day);
        if let Some(unit) = unit {
            overdue.retain(|o| o.lead_unit == unit);
        }
        Ok((day, overdue))
    }

    /// `RebuildProjections`: every read model emptied and consumed again; answers once all
    /// have caught up, with the events each applied.
    pub async fn rebuild(&self, caller: &Principal) -> Result<Vec<(String, u64)>, ReportingError> {
        if caller.role != Role::Admin {
            return Err(ReportingError::PermissionDenied(
                "rebuilding read models is an administrator's task".into(),
            ));
        }
        let consumer_error = |e: ConsumerError| ReportingError::Unavailable(e.to_string());
        let before: Vec<u64> = self.read_models.iter().map(|r| r.applied()).collect();
        for read_model in &self.read_models {
            read_model.reset().await.map_err(consumer_error)?;
        }
        let deadline = tokio::time::Instant::now() + REBUILD_WAIT;
        for read_model in &self.read_models {
            while !read_model.caught_up().await.unwrap_or(false) {
                if tokio::time::Instant::now() >= deadline {
                    return Err(ReportingError::Unavailable(format!(
                        "the rebuild is still running ({} has not caught up); the read models \
                         answer again once it has",
                        read_model.name()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(self
            .read_models
            .iter()
            .zip(before)
            .map(|(r, before)| (r.name().to_owned(), r.applied().saturating_sub(before)))
            .collect())
    }
}

/// What `IssueReport` asks for.
pub struct IssueRequest {
    pub request_id: String,
    pub kind: PeriodKind,
    pub year: i32,
    pub symbol: String,
    pub letterhead: Option<pb::Letterhead>,
}

/// A unit's scorecard in a period, with the report it was read from.
pub struct UnitScorecard {
    pub unit: String,
    pub score: Option<crate::domain::report::ScoreRow>,
    pub year_to_date: Option<crate::domain::report::Row>,
    pub overdue: Vec<OverdueItem>,
    pub report: PeriodicReport,
}
