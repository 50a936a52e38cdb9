//! Warnings of the discipline service that a case's legal limit draws near, to be delivered
//! through this service's channels (the stream, NATS, e-mail) as notices to the Office. Only
//! the case id, its unit and the dates are kept: the case's personal data stays where it is.

use async_trait::async_trait;
use chrono::NaiveDate;
use dondoc_contracts::discipline::{CASE_STREAM, DisciplineEvent};
use dondoc_eventsourcing::projection::{Projection, ProjectionError};
use dondoc_eventsourcing::{Database, RecordedEvent};
use sqlx::{AnyConnection, Row};

use crate::handlers::error::ApiError;

#[derive(Debug, Default)]
pub struct CaseWarningsProjection;

impl CaseWarningsProjection {
    pub const NAME: &'static str = "escalation-case-warnings";
}

#[async_trait]
impl Projection for CaseWarningsProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &["CREATE TABLE IF NOT EXISTS escalation_case_warnings_v1 (
                case_id TEXT NOT NULL,
                limit_kind TEXT NOT NULL,
                limit_days BIGINT NOT NULL,
                due_on TEXT NOT NULL,
                days_left BIGINT NOT NULL,
                unit TEXT NOT NULL,
                warned_on TEXT NOT NULL,
                PRIMARY KEY (case_id, limit_kind, limit_days)
            )"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["escalation_case_warnings_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != CASE_STREAM {
            return Ok(());
        }
        let decoded = DisciplineEvent::decode(event).map_err(ProjectionError::from)?;
        let Some(DisciplineEvent::DeadlineWarning(w)) = decoded else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO escalation_case_warnings_v1 (case_id, limit_kind, limit_days, due_on, \
             days_left, unit, warned_on) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (case_id, limit_kind, limit_days) DO NOTHING",
        )
        .bind(event.stream_id.clone())
        .bind(if w.limit.is_empty() {
            "processing".to_owned()
        } else {
            w.limit
        })
        .bind(i64::from(w.limit_days))
        .bind(w.due_on)
        .bind(i64::from(w.days_left))
        .bind(w.unit)
        .bind(
            dondoc_eventsourcing::clock::business_date(event.occurred_at)
                .format("%Y-%m-%d")
                .to_string(),
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// A case's limit drawing near.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseWarning {
    pub case_id: String,
    /// "processing" or "limitation".
    pub limit: String,
    pub limit_days: u32,
    pub due_on: NaiveDate,
    pub days_left: u32,
    pub unit: String,
    pub warned_on: NaiveDate,
}

/// Every warning received.
pub async fn case_warnings(db: &Database) -> Result<Vec<CaseWarning>, ApiError> {
    let rows = sqlx::query(
        "SELECT case_id, limit_kind, limit_days, due_on, days_left, unit, warned_on \
         FROM escalation_case_warnings_v1 ORDER BY warned_on, case_id, limit_kind, limit_days",
    )
    .fetch_all(db.pool())
    .await
    .map_err(ApiError::from_sql)?;
    rows.iter()
        .map(|r| {
            let get = |c: &str| r.try_get::<String, _>(c).map_err(ApiError::from_sql);
            let int = |c: &str| r.try_get::<i64, _>(c).map_err(ApiError::from_sql);
            let date = |raw: String| {
                NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
                    .map_err(|e| ApiError::Internal(format!("a stored date is unreadable: {e}")))
            };
            Ok(CaseWarning {
                case_id: get("case_id")?,
                limit: get("limit_kind")?,
                limit_days: u32::try_from(int("limit_days")?).unwrap_or(0),
                due_on: date(get("due_on")?)?,
                days_left: u32::try_from(int("days_left")?).unwrap_or(0),
                unit: get("unit")?,
                warned_on: date(get("warned_on")?)?,
            })
        })
        .collect()
}
