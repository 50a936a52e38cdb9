//! What the discipline service learns from the other services, through the published
//! contracts only:
//! - **evidence**: each event that can support a case — an overdue notice, an escalation, a
//!   difficulty left without direction (escalation service); a refused hand-off attempt, a
//!   result returned for rework, a result accepted late (progress service) — kept by its event
//!   id, so that every claim of a case can be traced to a log;
//! - **triggers**: the facts the drafting policy turns into a draft (a task escalated to the
//!   Chairman; a unit with too many overdue tasks in a reporting period), each under a key that
//!   names those facts, so that the same facts never open two drafts;
//! - the **directories**: units (name, head's post) and leaders (who is Chairman when), and
//!   each task's lead unit and title.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use dondoc_contracts::assignment::{AssignmentEvent, DIRECTORY_STREAM, LEADER_STREAM, TASK_STREAM};
use dondoc_contracts::escalation::{EscalationEvent, WATCH_STREAM};
use dondoc_contracts::progress::{EXECUTION_STREAM, ProgressEvent};
use dondoc_eventsourcing::clock::business_date;
use dondoc_eventsourcing::projection::{Projection, ProjectionError};
use dondoc_eventsourcing::{Database, RecordedEvent};
use sqlx::{AnyConnection, Row};

use crate::domain::DraftingPolicy;
use crate::domain::case::Evidence;
use crate::domain::policy::monthly_period;
use crate::handlers::error::ApiError;

fn other(e: impl std::fmt::Display) -> ProjectionError {
    ProjectionError::Other(e.to_string())
}

fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

struct EvidenceRow<'a> {
    event: &'a RecordedEvent,
    source: &'a str,
    kind: &'a str,
    task_id: String,
    unit: String,
    occurred_on: NaiveDate,
    days_late: u32,
    detail: String,
}

const ESCALATION_EVIDENCE: &str = "discipline_evidence_v1";
const PROGRESS_EVIDENCE: &str = "discipline_progress_evidence_v1";

async fn record(
    conn: &mut AnyConnection,
    table: &str,
    row: EvidenceRow<'_>,
) -> Result<(), ProjectionError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (event_id, source, kind, task_id, unit, occurred_on, days_late, \
         detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING"
    )))
    .bind(row.event.event_id.to_string())
    .bind(row.source.to_owned())
    .bind(row.kind.to_owned())
    .bind(row.task_id)
    .bind(row.unit)
    .bind(row.occurred_on.to_string())
    .bind(i64::from(row.days_late))
    .bind(row.detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn trigger(
    conn: &mut AnyConnection,
    key: &str,
    unit: &str,
    tasks: &[String],
    detected_on: NaiveDate,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO discipline_triggers_v1 (trigger_key, unit, task_ids, detected_on, case_id) \
         VALUES ($1, $2, $3, $4, '') ON CONFLICT (trigger_key) DO NOTHING",
    )
    .bind(key.to_owned())
    .bind(unit.to_owned())
    .bind(serde_json::to_string(tasks).map_err(other)?)
    .bind(detected_on.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Escalation notices: evidence, and the triggers of the drafting policy.
pub struct EscalationEvidenceProjection {
    pub policy: Arc<DraftingPolicy>,
}

impl EscalationEvidenceProjection {
    pub const NAME: &'static str = "discipline-escalation-evidence";
}

#[async_trait]
impl Projection for EscalationEvidenceProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS discipline_evidence_v1 (
                event_id TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                kind TEXT NOT NULL,
                task_id TEXT NOT NULL,
                unit TEXT NOT NULL,
                occurred_on TEXT NOT NULL,
                days_late BIGINT NOT NULL,
                detail TEXT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS discipline_evidence_v1_task
                ON discipline_evidence_v1 (task_id, occurred_on)",
            "CREATE TABLE IF NOT EXISTS discipline_triggers_v1 (
                trigger_key TEXT PRIMARY KEY,
                unit TEXT NOT NULL,
                task_ids TEXT NOT NULL,
                detected_on TEXT NOT NULL,
                case_id TEXT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS discipline_overdue_v1 (
                unit TEXT NOT NULL,
                period TEXT NOT NULL,
                task_id TEXT NOT NULL,
                PRIMARY KEY (unit, period, task_id)
            )",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        // Triggers are not emptied by a rebuild: they remember which case each opened, so a
        // rebuild never drafts the same facts again.
        &["discipline_evidence_v1", "discipline_overdue_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != WATCH_STREAM {
            return Ok(());
        }
        let Some(EscalationEvent::NoticeIssued(n)) =
            EscalationEvent::decode(event).map_err(ProjectionError::from)?
        else {
            return Ok(());
        };
        let kind = match n.kind.as_str() {
            "overdue" => "overdue_notice",
            "escalation" => "escalation",
            "difficulty" => "difficulty_without_direction",
            _ => return Ok(()),
        };
        let on = date(&n.due_on).unwrap_or_else(|| business_date(event.occurred_at));
        let unit = n.lead_unit.clone();
        record(
            conn,
            ESCALATION_EVIDENCE,
            EvidenceRow {
                event,
                source: "escalation",
                kind,
                task_id: n.task_id.clone(),
                unit: unit.clone(),
                occurred_on: on,
                days_late: u32::try_from(n.working_days.max(0)).unwrap_or(0),
                detail: n.text.clone(),
            },
        )
        .await?;
        if unit.is_empty() {
            return Ok(());
        }
        if kind == "escalation" && n.level >= self.policy.escalation_level {
            let key = format!("escalation:{}:{}", n.task_id, n.deadline);
            trigger(conn, &key, &unit, std::slice::from_ref(&n.task_id), on).await?;
        }
        if kind == "overdue_notice" {
            let period = monthly_period(on);
            sqlx::query(
                "INSERT INTO discipline_overdue_v1 (unit, period, task_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (unit, period, task_id) DO NOTHING",
            )
            .bind(unit.clone())
            .bind(period.clone())
            .bind(n.task_id.clone())
            .execute(&mut *conn)
            .await?;
            let rows = sqlx::query(
                "SELECT task_id FROM discipline_overdue_v1 WHERE unit = $1 AND period = $2 \
                 ORDER BY task_id",
            )
            .bind(unit.clone())
            .bind(period.clone())
            .fetch_all(&mut *conn)
            .await?;
            let tasks: Vec<String> = rows
                .iter()
                .map(|r| r.try_get("task_id"))
                .collect::<Result<_, _>>()?;
            if tasks.len() >= self.policy.overdue_tasks_in_period as usize {
                let key = format!("overdue:{unit}:{period}");
                trigger(conn, &key, &unit, &tasks, on).await?;
            }
        }
        Ok(())
    }
}

/// Progress events that can support a case.
#[derive(Debug, Default)]
pub struct ProgressEvidenceProjection;

impl ProgressEvidenceProjection {
    pub const NAME: &'static str = "discipline-progress-evidence";
}

#[async_trait]
impl Projection for ProgressEvidenceProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS discipline_progress_evidence_v1 (
                event_id TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                kind TEXT NOT NULL,
                task_id TEXT NOT NULL,
                unit TEXT NOT NULL,
                occurred_on TEXT NOT NULL,
                days_late BIGINT NOT NULL,
                detail TEXT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS discipline_progress_evidence_v1_task
                ON discipline_progress_evidence_v1 (task_id, occurred_on)",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["discipline_progress_evidence_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != EXECUTION_STREAM {
            return Ok(());
        }
        let Some(decoded) = ProgressEvent::decode(event).map_err(ProjectionError::from)? else {
            return Ok(());
        };
        let day = |raw: &str| date(raw).unwrap_or_else(|| business_date(event.occurred_at));
        let row = match decoded {
            ProgressEvent::HandOffRefused(m) => EvidenceRow {
                event,
                source: "progress",
                kind: "refused_hand_off",
                task_id: m.task_id,
                unit: m.lead_unit,
                occurred_on: day(&m.attempted_on),
                days_late: 0,
                detail: format!(
                    "Đề nghị chuyển nhiệm vụ cho {}: {}",
                    m.requested_unit, m.reason_given
                ),
            },
            ProgressEvent::ResultReturned(m) => EvidenceRow {
                event,
                source: "progress",
                kind: "returned_for_rework",
                task_id: m.task_id,
                unit: String::new(),
                occurred_on: day(&m.returned_on),
                days_late: 0,
                detail: m.reason,
            },
            ProgressEvent::ResultAccepted(m) if !m.on_time && !m.deadline_then.is_empty() => {
                EvidenceRow {
                    event,
                    source: "progress",
                    kind: "late_result",
                    task_id: m.task_id,
                    unit: m.lead_unit,
                    occurred_on: day(&m.accepted_on),
                    days_late: m.days_late,
                    detail: format!(
                        "Hoàn thành muộn {} ngày làm việc so với thời hạn {}",
                        m.days_late, m.deadline_then
                    ),
                }
            }
            _ => return Ok(()),
        };
        record(conn, PROGRESS_EVIDENCE, row).await
    }
}

/// Tasks, units and leaders from the assignment service.
#[derive(Debug, Default)]
pub struct DirectoryProjection;

impl DirectoryProjection {
    pub const NAME: &'static str = "discipline-directory";
}

#[async_trait]
impl Projection for DirectoryProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS discipline_tasks_v1 (
                task_id TEXT PRIMARY KEY,
                lead_unit TEXT NOT NULL,
                title TEXT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS discipline_units_v1 (
                code TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                head_title TEXT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS discipline_leaders_v1 (
                leader_id TEXT NOT NULL,
                title TEXT NOT NULL,
                valid_from TEXT NOT NULL,
                valid_to TEXT NOT NULL
            )",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "discipline_tasks_v1",
            "discipline_units_v1",
            "discipline_leaders_v1",
        ]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if ![TASK_STREAM, LEADER_STREAM, DIRECTORY_STREAM].contains(&event.stream_type.as_str()) {
            return Ok(());
        }
        match AssignmentEvent::decode(event).map_err(ProjectionError::from)? {
            Some(AssignmentEvent::TaskAssigned(m)) => {
                sqlx::query(
                    "INSERT INTO discipline_tasks_v1 (task_id, lead_unit, title) VALUES ($1, $2, $3) \
                     ON CONFLICT (task_id) DO NOTHING",
                )
                .bind(event.stream_id.clone())
                .bind(m.lead_unit)
                .bind(m.title)
                .execute(&mut *conn)
                .await?;
            }
            Some(AssignmentEvent::TaskReassigned(m)) => {
                sqlx::query("UPDATE discipline_tasks_v1 SET lead_unit = $1 WHERE task_id = $2")
                    .bind(m.new_lead_unit)
                    .bind(event.stream_id.clone())
                    .execute(&mut *conn)
                    .await?;
            }
            Some(AssignmentEvent::DirectoryImported(m)) => {
                for unit in m.units {
                    sqlx::query("DELETE FROM discipline_units_v1 WHERE code = $1")
                        .bind(unit.code.clone())
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(
                        "INSERT INTO discipline_units_v1 (code, name, head_title) VALUES ($1, $2, $3)",
                    )
                    .bind(unit.code)
                    .bind(unit.name_vi)
                    .bind(unit.head_title_vi)
                    .execute(&mut *conn)
                    .await?;
                }
            }
            Some(AssignmentEvent::LeadersImported(m)) => {
                sqlx::query("DELETE FROM discipline_leaders_v1")
                    .execute(&mut *conn)
                    .await?;
                for l in m.leaders {
                    sqlx::query(
                        "INSERT INTO discipline_leaders_v1 (leader_id, title, valid_from, valid_to) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(l.id)
                    .bind(l.title)
                    .bind(l.valid_from)
                    .bind(l.valid_to)
                    .execute(&mut *conn)
                    .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A trigger waiting for its draft.
#[derive(Clone, Debug)]
pub struct Trigger {
    pub key: String,
    pub unit: String,
    pub task_ids: Vec<String>,
    pub detected_on: NaiveDate,
}

/// Reads evidence, triggers and directories for the handlers.
#[derive(Clone, Debug)]
pub struct FactsReader {
    db: Database,
}

impl FactsReader {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    fn evidence_of(row: &sqlx::any::AnyRow) -> Result<Evidence, ApiError> {
        let get = |c: &str| row.try_get::<String, _>(c).map_err(ApiError::from_sql);
        Ok(Evidence {
            event_id: get("event_id")?,
            source: get("source")?,
            kind: get("kind")?,
            task_id: get("task_id")?,
            unit: get("unit")?,
            occurred_on: date(&get("occurred_on")?),
            days_late: u32::try_from(
                row.try_get::<i64, _>("days_late")
                    .map_err(ApiError::from_sql)?,
            )
            .unwrap_or(0),
            detail: get("detail")?,
        })
    }

    /// The evidence of these tasks, oldest first.
    pub async fn evidence_of_tasks(&self, tasks: &[String]) -> Result<Vec<Evidence>, ApiError> {
        let mut out = Vec::new();
        for task in tasks {
            let rows = sqlx::query(
                "SELECT * FROM discipline_evidence_v1 WHERE task_id = $1 \
                 UNION ALL SELECT * FROM discipline_progress_evidence_v1 WHERE task_id = $2",
            )
            .bind(task.clone())
            .bind(task.clone())
            .fetch_all(self.db.pool())
            .await
            .map_err(ApiError::from_sql)?;
            for row in &rows {
                out.push(Self::evidence_of(row)?);
            }
        }
        out.sort_by(|a, b| {
            a.occurred_on
                .cmp(&b.occurred_on)
                .then(a.event_id.cmp(&b.event_id))
        });
        Ok(out)
    }

    /// Evidence by event id (`None` when this service has not seen that event).
    pub async fn evidence(&self, event_id: &str) -> Result<Option<Evidence>, ApiError> {
        let row = sqlx::query(
            "SELECT * FROM discipline_evidence_v1 WHERE event_id = $1 \
             UNION ALL SELECT * FROM discipline_progress_evidence_v1 WHERE event_id = $2",
        )
        .bind(event_id.to_owned())
        .bind(event_id.to_owned())
        .fetch_optional(self.db.pool())
        .await
        .map_err(ApiError::from_sql)?;
        row.as_ref().map(Self::evidence_of).transpose()
    }

    /// Triggers that have no case yet.
    pub async fn pending_triggers(&self) -> Result<Vec<Trigger>, ApiError> {
        let rows = sqlx::query(
            "SELECT trigger_key, unit, task_ids, detected_on FROM discipline_triggers_v1 \
             WHERE case_id = '' ORDER BY trigger_key",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(ApiError::from_sql)?;
        rows.iter()
            .map(|r| {
                let get = |c: &str| r.try_get::<String, _>(c).map_err(ApiError::from_sql);
                Ok(Trigger {
                    key: get("trigger_key")?,
                    unit: get("unit")?,
                    task_ids: serde_json::from_str(&get("task_ids")?)
                        .map_err(|e| ApiError::Internal(e.to_string()))?,
                    detected_on: date(&get("detected_on")?).ok_or_else(|| {
                        ApiError::Internal("a trigger's detection day is unreadable".into())
                    })?,
                })
            })
            .collect()
    }

    pub async fn mark_drafted(&self, key: &str, case_id: &str) -> Result<(), ApiError> {
        sqlx::query("UPDATE discipline_triggers_v1 SET case_id = $1 WHERE trigger_key = $2")
            .bind(case_id.to_owned())
            .bind(key.to_owned())
            .execute(self.db.pool())
            .await
            .map_err(ApiError::from_sql)?;
        Ok(())
    }

    /// The unit's name and its head's post ("Giám đốc"), from the unit directory.
    pub async fn unit(&self, code: &str) -> Result<Option<(String, String)>, ApiError> {
        let row = sqlx::query("SELECT name, head_title FROM discipline_units_v1 WHERE code = $1")
            .bind(code.to_owned())
            .fetch_optional(self.db.pool())
            .await
            .map_err(ApiError::from_sql)?;
        Ok(row.map(|r| {
            (
                r.try_get("name").unwrap_or_default(),
                r.try_get("head_title").unwrap_or_default(),
            )
        }))
    }

    /// Whether `leader_id` was the Chairman on `date`.
    pub async fn is_chairman(&self, leader_id: &str, date: NaiveDate) -> Result<bool, ApiError> {
        let rows = sqlx::query(
            "SELECT valid_from, valid_to FROM discipline_leaders_v1 \
             WHERE leader_id = $1 AND title = 'chairman'",
        )
        .bind(leader_id.to_owned())
        .fetch_all(self.db.pool())
        .await
        .map_err(ApiError::from_sql)?;
        let day = date.format("%Y-%m-%d").to_string();
        Ok(rows.iter().any(|row| {
            let from: String = row.try_get("valid_from").unwrap_or_default();
            let to: String = row.try_get("valid_to").unwrap_or_default();
            from <= day && (to.is_empty() || day <= to)
        }))
    }

    /// The lead unit of a task.
    pub async fn lead_unit(&self, task_id: &str) -> Result<Option<String>, ApiError> {
        let row = sqlx::query("SELECT lead_unit FROM discipline_tasks_v1 WHERE task_id = $1")
            .bind(task_id.to_owned())
            .fetch_optional(self.db.pool())
            .await
            .map_err(ApiError::from_sql)?;
        Ok(row.map(|r| r.try_get("lead_unit").unwrap_or_default()))
    }
}
