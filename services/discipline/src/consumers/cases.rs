//! The cases and their read audit as lists, from the service's own log: which cases exist, of
//! which unit, in which state, until when; who read which case, when.

use std::sync::Arc;

use async_trait::async_trait;
use dondoc_contracts::discipline::DisciplineEvent;
use dondoc_eventsourcing::RecordedEvent;
use dondoc_eventsourcing::projection::{LocalProjector, Projection, ProjectionError};
use dondoc_proto::v1 as pb;
use sqlx::{AnyConnection, Row};

use crate::handlers::error::ApiError;

#[derive(Debug, Default)]
pub struct CasesProjection;

impl CasesProjection {
    pub const NAME: &'static str = "discipline-cases";
}

async fn set_state(
    conn: &mut AnyConnection,
    case_id: &str,
    state: &str,
) -> Result<(), ProjectionError> {
    sqlx::query("UPDATE discipline_cases_v1 SET state = $1 WHERE case_id = $2")
        .bind(state.to_owned())
        .bind(case_id.to_owned())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[async_trait]
impl Projection for CasesProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS discipline_cases_v1 (
                case_id TEXT PRIMARY KEY,
                unit TEXT NOT NULL,
                state TEXT NOT NULL,
                detected_on TEXT NOT NULL,
                position BIGINT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS discipline_case_reads_v1 (
                position BIGINT PRIMARY KEY,
                case_id TEXT NOT NULL,
                subject TEXT NOT NULL,
                role TEXT NOT NULL,
                how TEXT NOT NULL,
                read_at TEXT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS discipline_case_reads_v1_case
                ON discipline_case_reads_v1 (case_id, position)",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["discipline_cases_v1", "discipline_case_reads_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        let Some(decoded) = DisciplineEvent::decode(event).map_err(ProjectionError::from)? else {
            return Ok(());
        };
        let case_id = event.stream_id.clone();
        match decoded {
            DisciplineEvent::CaseOpened(o) => {
                sqlx::query(
                    "INSERT INTO discipline_cases_v1 (case_id, unit, state, detected_on, position) \
                     VALUES ($1, $2, 'draft', $3, $4)",
                )
                .bind(case_id)
                .bind(o.target.unwrap_or_default().unit)
                .bind(o.detected_on)
                .bind(i64::try_from(event.position).unwrap_or(i64::MAX))
                .execute(&mut *conn)
                .await?;
            }
            DisciplineEvent::CaseAmended(a) => {
                sqlx::query("UPDATE discipline_cases_v1 SET unit = $1 WHERE case_id = $2")
                    .bind(a.target.unwrap_or_default().unit)
                    .bind(case_id)
                    .execute(&mut *conn)
                    .await?;
            }
            DisciplineEvent::HomeAffairsOpinionRecorded(_) => {
                set_state(conn, &case_id, "opinion_given").await?;
            }
            DisciplineEvent::CaseSubmitted(_) => set_state(conn, &case_id, "submitted").await?,
            DisciplineEvent::CaseDecided(_) => set_state(conn, &case_id, "decided").await?,
            DisciplineEvent::CaseWithdrawn(_) => set_state(conn, &case_id, "withdrawn").await?,
            DisciplineEvent::CaseRead(r) => {
                sqlx::query(
                    "INSERT INTO discipline_case_reads_v1 (position, case_id, subject, role, how, \
                     read_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(i64::try_from(event.position).unwrap_or(i64::MAX))
                .bind(r.case_id)
                .bind(r.subject)
                .bind(r.role)
                .bind(r.how)
                .bind(
                    event
                        .occurred_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                )
                .execute(&mut *conn)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// A case as listed.
#[derive(Clone, Debug)]
pub struct CaseRow {
    pub case_id: String,
    pub unit: String,
    pub state: String,
}

#[derive(Clone)]
pub struct CasesReader {
    projector: Arc<LocalProjector<CasesProjection>>,
}

impl CasesReader {
    pub fn new(projector: Arc<LocalProjector<CasesProjection>>) -> Self {
        Self { projector }
    }

    pub async fn catch_up(&self) -> Result<(), ApiError> {
        self.projector
            .catch_up()
            .await
            .map(|_| ())
            .map_err(|e| ApiError::Unavailable(e.to_string()))
    }

    /// Cases, oldest first, of `unit` and in `state` when given.
    pub async fn list(
        &self,
        unit: Option<&str>,
        state: Option<&str>,
    ) -> Result<Vec<CaseRow>, ApiError> {
        let rows =
            sqlx::query("SELECT case_id, unit, state FROM discipline_cases_v1 ORDER BY position")
                .fetch_all(self.projector.database().pool())
                .await
                .map_err(ApiError::from_sql)?;
        let mut out = Vec::new();
        for r in &rows {
            let get = |c: &str| r.try_get::<String, _>(c).map_err(ApiError::from_sql);
            let row = CaseRow {
                case_id: get("case_id")?,
                unit: get("unit")?,
                state: get("state")?,
            };
            if unit.is_none_or(|u| u == row.unit) && state.is_none_or(|s| s == row.state) {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Who read a case, in order.
    pub async fn reads(&self, case_id: &str) -> Result<Vec<pb::CaseAuditEntry>, ApiError> {
        let rows = sqlx::query(
            "SELECT subject, role, how, read_at FROM discipline_case_reads_v1 \
             WHERE case_id = $1 ORDER BY position",
        )
        .bind(case_id.to_owned())
        .fetch_all(self.projector.database().pool())
        .await
        .map_err(ApiError::from_sql)?;
        rows.iter()
            .map(|r| {
                let get = |c: &str| r.try_get::<String, _>(c).map_err(ApiError::from_sql);
                let at = chrono::DateTime::parse_from_rfc3339(&get("read_at")?)
                    .map(|t| prost_types::Timestamp {
                        seconds: t.timestamp(),
                        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
                    })
                    .ok();
                Ok(pb::CaseAuditEntry {
                    subject: get("subject")?,
                    role: get("role")?,
                    how: get("how")?,
                    at,
                })
            })
            .collect()
    }
}
