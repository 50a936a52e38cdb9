//! Timeliness exemptions (Decree 335/2025): each late task loses a quarter of its timeliness
//! points unless an objective cause is confirmed. A discipline case withdrawn for an objective
//! cause confirms it for the case's tasks; this read model keeps which tasks, from which case,
//! since when — and nothing else of the case (its personal data stays in the discipline
//! service). It also keeps, for the report's count of discipline cases, when each case was
//! opened, decided (and with which form) or withdrawn — again nothing personal.

use async_trait::async_trait;
use dondoc_contracts::discipline::{CASE_STREAM, DisciplineEvent};
use dondoc_eventsourcing::projection::{Projection, ProjectionError};
use dondoc_eventsourcing::{Database, RecordedEvent};
use sqlx::{AnyConnection, Row};

#[derive(Debug, Default)]
pub struct TimelinessExemptionsProjection;

impl TimelinessExemptionsProjection {
    pub const NAME: &'static str = "reporting-timeliness-exemptions";
}

#[async_trait]
impl Projection for TimelinessExemptionsProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS timeliness_exemptions_v1 (
                task_id TEXT NOT NULL,
                case_id TEXT NOT NULL,
                unit TEXT NOT NULL,
                reason TEXT NOT NULL,
                exempt_from TEXT NOT NULL,
                PRIMARY KEY (task_id, case_id)
            )",
            "CREATE TABLE IF NOT EXISTS report_cases_v1 (
                case_id TEXT PRIMARY KEY,
                unit TEXT NOT NULL,
                opened_on TEXT NOT NULL,
                decided_on TEXT NOT NULL,
                form TEXT NOT NULL,
                withdrawn_on TEXT NOT NULL,
                exempt_task_ids TEXT NOT NULL
            )",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["timeliness_exemptions_v1", "report_cases_v1"]
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
        let day = |raw: &str| {
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .unwrap_or_else(|_| dondoc_eventsourcing::clock::business_date(event.occurred_at))
                .to_string()
        };
        // What the report counts of a case: opened, decided (and the form), withdrawn — never
        // the person or the evidence.
        match decoded {
            Some(DisciplineEvent::CaseOpened(o)) => {
                sqlx::query(
                    "INSERT INTO report_cases_v1 (case_id, unit, opened_on, decided_on, form, \
                     withdrawn_on, exempt_task_ids) VALUES ($1, $2, $3, '', '', '', '[]')",
                )
                .bind(event.stream_id.clone())
                .bind(o.target.map(|t| t.unit).unwrap_or_default())
                // Opened the business day it was recorded (the violation may be older).
                .bind(dondoc_eventsourcing::clock::business_date(event.occurred_at).to_string())
                .execute(&mut *conn)
                .await?;
                Ok(())
            }
            Some(DisciplineEvent::CaseDecided(d)) => {
                sqlx::query(
                    "UPDATE report_cases_v1 SET decided_on = $1, form = $2 WHERE case_id = $3",
                )
                .bind(day(&d.decided_on))
                .bind(d.form)
                .bind(event.stream_id.clone())
                .execute(&mut *conn)
                .await?;
                Ok(())
            }
            Some(DisciplineEvent::CaseWithdrawn(w)) => {
                sqlx::query(
                    "UPDATE report_cases_v1 SET withdrawn_on = $1, exempt_task_ids = $2 \
                     WHERE case_id = $3",
                )
                .bind(day(&w.withdrawn_on))
                .bind(
                    serde_json::to_string(if w.objective_cause {
                        &w.exempt_task_ids[..]
                    } else {
                        &[]
                    })
                    .map_err(|e| ProjectionError::Other(e.to_string()))?,
                )
                .bind(event.stream_id.clone())
                .execute(&mut *conn)
                .await?;
                if !w.objective_cause {
                    return Ok(());
                }
                for task in &w.exempt_task_ids {
                    sqlx::query(
                        "INSERT INTO timeliness_exemptions_v1 (task_id, case_id, unit, reason, \
                         exempt_from) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(task.clone())
                    .bind(event.stream_id.clone())
                    .bind(w.unit.clone())
                    .bind(w.reason.clone())
                    .bind(w.withdrawn_on.clone())
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// An exempt task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exemption {
    pub task_id: String,
    pub unit: String,
    pub case_id: String,
    pub reason: String,
    pub exempt_from: String,
}

/// The exemptions, of `unit` when given, by task.
pub async fn read_exemptions(
    db: &Database,
    unit: Option<&str>,
) -> Result<Vec<Exemption>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT task_id, unit, case_id, reason, exempt_from FROM timeliness_exemptions_v1 \
         ORDER BY task_id, case_id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let e = Exemption {
            task_id: r.try_get("task_id")?,
            unit: r.try_get("unit")?,
            case_id: r.try_get("case_id")?,
            reason: r.try_get("reason")?,
            exempt_from: r.try_get("exempt_from")?,
        };
        if unit.is_none_or(|u| u == e.unit) {
            out.push(e);
        }
    }
    Ok(out)
}

/// The discipline cases as the report counts them.
pub async fn read_cases(
    db: &Database,
) -> Result<Vec<crate::domain::report::CaseFact>, sqlx::Error> {
    let date = |raw: String| chrono::NaiveDate::parse_from_str(&raw, "%Y-%m-%d").ok();
    let rows = sqlx::query(
        "SELECT case_id, unit, opened_on, decided_on, form, withdrawn_on, exempt_task_ids \
         FROM report_cases_v1 ORDER BY case_id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let Some(opened_on) = date(r.try_get("opened_on")?) else {
            continue;
        };
        let decided_on = date(r.try_get("decided_on")?);
        let form: String = r.try_get("form")?;
        out.push(crate::domain::report::CaseFact {
            case_id: r.try_get("case_id")?,
            unit: r.try_get("unit")?,
            opened_on,
            decided_on,
            form: (decided_on.is_some() && !form.is_empty()).then_some(form),
            withdrawn_on: date(r.try_get("withdrawn_on")?),
            exempt_task_ids: serde_json::from_str(&r.try_get::<String, _>("exempt_task_ids")?)
                .unwrap_or_default(),
        });
    }
    Ok(out)
}
