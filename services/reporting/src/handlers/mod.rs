//! The reporting service's query handlers: who may read what, in domain terms.

use std::sync::Arc;

use dondoc_eventsourcing::Database;
use dondoc_eventsourcing::consumer::Consumer;
use dondoc_runtime::auth::{Principal, Role};

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
}

/// The handlers and what they read.
#[derive(Clone)]
pub struct Handlers {
    db: Database,
    board: Arc<Consumer<TaskBoardProjection>>,
    /// Days overdue in the reports count working days.
    calendar: Arc<dondoc_runtime::calendar::WorkingCalendar>,
}

impl Handlers {
    pub fn new(
        db: Database,
        board: Arc<Consumer<TaskBoardProjection>>,
        calendar: Arc<dondoc_runtime::calendar::WorkingCalendar>,
    ) -> Self {
        Self {
            db,
            board,
            calendar,
        }
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
        if caller.role == Role::Unit {
            return Err(ReportingError::PermissionDenied(
                "the periodic report is the Office's and the leadership's".into(),
            ));
        }
        let window = kind.window(year).ok_or(ReportingError::Invalid(
            "index",
            "no such period (month 1–12, quarter 1–4; a custom range from ≤ to)".into(),
        ))?;
        let (previous_kind, previous_year) = kind.previous(year);
        let previous = previous_kind.window(previous_year).unwrap_or(window);
        let unavailable = |error: sqlx::Error| {
            tracing::error!(error = %error, "cannot read the report's read models");
            ReportingError::Unavailable("the reporting database is unavailable; retry later".into())
        };
        let (tasks, units, leaders) = read_histories(&self.db).await.map_err(unavailable)?;
        let (difficulties, actions, cases) = read_facts(&self.db).await.map_err(unavailable)?;
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
        }))
    }
}
