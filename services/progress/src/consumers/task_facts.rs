//! What the progress service knows of each task and of the leaders, learnt from the
//! assignment service's events over NATS through the published contracts (never its domain
//! types): lead and coordinating units, the assigning and supervising leaders, each deadline
//! with the day it took effect, cancellation; and who was Chairman when.

use async_trait::async_trait;
use chrono::NaiveDate;
use dondoc_contracts::assignment::{AssignmentEvent, LEADER_STREAM, TASK_STREAM};
use dondoc_eventsourcing::clock::business_date;
use dondoc_eventsourcing::projection::{Projection, ProjectionError, expect_row};
use dondoc_eventsourcing::{Database, RecordedEvent};
use dondoc_proto::v1 as pb;
use sqlx::{AnyConnection, Row};

use crate::domain::facts::DirectingDocument;
use crate::domain::{DeadlineFrom, ExtensionDecision, TaskFacts};
use crate::handlers::error::ApiError;

const FACTS: &str = "progress_task_facts_v1";

#[derive(Debug, Default)]
pub struct TaskFactsProjection;

impl TaskFactsProjection {
    pub const NAME: &'static str = "progress-task-facts";
}

fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

fn malformed(what: &str, raw: &str) -> ProjectionError {
    ProjectionError::Other(format!("{what} is not a date: {raw:?}"))
}

fn leader(kind: i32, leader_id: &str) -> Option<String> {
    let by_a_leader =
        kind == pb::AssignerKind::Chairman as i32 || kind == pb::AssignerKind::ViceChairman as i32;
    (by_a_leader && !leader_id.is_empty()).then(|| leader_id.to_owned())
}

async fn load(conn: &mut AnyConnection, task_id: &str) -> Result<TaskFacts, ProjectionError> {
    let row = sqlx::query("SELECT facts FROM progress_task_facts_v1 WHERE task_id = $1")
        .bind(task_id.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    let row = expect_row(row, || format!("facts of task {task_id}"))?;
    serde_json::from_str(&row.try_get::<String, _>("facts")?)
        .map_err(|e| ProjectionError::Other(format!("stored facts of {task_id}: {e}")))
}

async fn save(conn: &mut AnyConnection, facts: &TaskFacts) -> Result<(), ProjectionError> {
    let json = serde_json::to_string(facts)
        .map_err(|e| ProjectionError::Other(format!("facts of {}: {e}", facts.task_id)))?;
    sqlx::query("UPDATE progress_task_facts_v1 SET lead_unit = $1, facts = $2 WHERE task_id = $3")
        .bind(facts.lead_unit.clone())
        .bind(json)
        .bind(facts.task_id.clone())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[async_trait]
impl Projection for TaskFactsProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS progress_task_facts_v1 (
                task_id TEXT PRIMARY KEY,
                lead_unit TEXT NOT NULL,
                facts TEXT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS progress_task_facts_v1_lead
                ON progress_task_facts_v1 (lead_unit, task_id)",
            "CREATE TABLE IF NOT EXISTS progress_chairmen_v1 (
                leader_id TEXT NOT NULL,
                valid_from TEXT NOT NULL,
                valid_to TEXT NOT NULL
            )",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[FACTS, "progress_chairmen_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != TASK_STREAM && event.stream_type != LEADER_STREAM {
            return Ok(());
        }
        let decoded = AssignmentEvent::decode(event).map_err(ProjectionError::from)?;
        let task_id = event.stream_id.clone();
        let day_of_event = business_date(event.occurred_at);
        match decoded {
            Some(AssignmentEvent::TaskAssigned(m)) => {
                let assigned_on =
                    date(&m.assigned_on).ok_or_else(|| malformed("assigned_on", &m.assigned_on))?;
                let assignment = m.assignment.unwrap_or_default();
                let assigner = assignment.assigner.unwrap_or_default();
                let directing_document = assignment.document.map(|d| DirectingDocument {
                    number: d.number,
                    symbol: d.symbol,
                    date: d.date,
                    summary: d.summary,
                });
                let facts = TaskFacts {
                    task_id: task_id.clone(),
                    title: m.title,
                    lead_unit: m.lead_unit,
                    coordinating_units: m.coordinating_units,
                    assigning_leader_id: leader(assigner.kind, &assigner.leader_id),
                    supervising_leader_id: (!m.supervising_leader_id.is_empty())
                        .then_some(m.supervising_leader_id),
                    assigned_on,
                    deadlines: vec![DeadlineFrom {
                        from: assigned_on,
                        deadline: date(&m.deadline),
                    }],
                    cancelled: false,
                    extension_decisions: Vec::new(),
                    directing_document,
                };
                let json = serde_json::to_string(&facts)
                    .map_err(|e| ProjectionError::Other(e.to_string()))?;
                // A plain INSERT: the same task assigned twice is a broken stream and fails.
                sqlx::query(
                    "INSERT INTO progress_task_facts_v1 (task_id, lead_unit, facts) \
                     VALUES ($1, $2, $3)",
                )
                .bind(task_id)
                .bind(facts.lead_unit.clone())
                .bind(json)
                .execute(&mut *conn)
                .await?;
            }
            Some(AssignmentEvent::TaskReassigned(m)) => {
                let mut facts = load(conn, &task_id).await?;
                facts.lead_unit = m.new_lead_unit;
                facts.coordinating_units = m.new_coordinating_units;
                if !m.supervising_leader_id.is_empty() {
                    facts.supervising_leader_id = Some(m.supervising_leader_id);
                }
                save(conn, &facts).await?;
            }
            Some(AssignmentEvent::TaskDeadlineExtended(m)) => {
                let mut facts = load(conn, &task_id).await?;
                let from = date(&m.decided_on).unwrap_or(day_of_event);
                let deadline = date(&m.new_deadline)
                    .ok_or_else(|| malformed("new_deadline", &m.new_deadline))?;
                facts.deadlines.push(DeadlineFrom {
                    from,
                    deadline: Some(deadline),
                });
                if !m.extension_id.is_empty() {
                    facts.extension_decisions.push(ExtensionDecision {
                        extension_id: m.extension_id,
                        approved: true,
                        new_deadline: Some(deadline),
                        decided_on: from,
                    });
                }
                save(conn, &facts).await?;
            }
            Some(AssignmentEvent::TaskExtensionRejected(m)) => {
                let mut facts = load(conn, &task_id).await?;
                facts.extension_decisions.push(ExtensionDecision {
                    extension_id: m.extension_id,
                    approved: false,
                    new_deadline: None,
                    decided_on: date(&m.decided_on).unwrap_or(day_of_event),
                });
                save(conn, &facts).await?;
            }
            Some(AssignmentEvent::TaskCancelled(_)) => {
                let mut facts = load(conn, &task_id).await?;
                facts.cancelled = true;
                save(conn, &facts).await?;
            }
            Some(AssignmentEvent::LeadersImported(m)) => {
                // The directory is replaced as a whole.
                sqlx::query("DELETE FROM progress_chairmen_v1")
                    .execute(&mut *conn)
                    .await?;
                for l in m.leaders.iter().filter(|l| l.title == "chairman") {
                    sqlx::query(
                        "INSERT INTO progress_chairmen_v1 (leader_id, valid_from, valid_to) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(l.id.clone())
                    .bind(l.valid_from.clone())
                    .bind(l.valid_to.clone())
                    .execute(&mut *conn)
                    .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Reads what the projection knows, for the handlers.
#[derive(Clone, Debug)]
pub struct TaskFactsReader {
    db: Database,
}

impl TaskFactsReader {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub async fn get(&self, task_id: &str) -> Result<Option<TaskFacts>, ApiError> {
        let row = sqlx::query("SELECT facts FROM progress_task_facts_v1 WHERE task_id = $1")
            .bind(task_id.to_owned())
            .fetch_optional(self.db.pool())
            .await
            .map_err(ApiError::from_sql)?;
        row.map(|row| parse(&row)).transpose()
    }

    /// Tasks after `after` (by id), led by `lead_unit` when given, at most `limit`.
    pub async fn page(
        &self,
        lead_unit: Option<&str>,
        after: &str,
        limit: usize,
    ) -> Result<Vec<TaskFacts>, ApiError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match lead_unit {
            Some(unit) => {
                sqlx::query(
                    "SELECT facts FROM progress_task_facts_v1 WHERE lead_unit = $1 \
                     AND task_id > $2 ORDER BY task_id LIMIT $3",
                )
                .bind(unit.to_owned())
                .bind(after.to_owned())
                .bind(limit)
                .fetch_all(self.db.pool())
                .await
            }
            None => {
                sqlx::query(
                    "SELECT facts FROM progress_task_facts_v1 WHERE task_id > $1 \
                     ORDER BY task_id LIMIT $2",
                )
                .bind(after.to_owned())
                .bind(limit)
                .fetch_all(self.db.pool())
                .await
            }
        }
        .map_err(ApiError::from_sql)?;
        rows.iter().map(parse).collect()
    }

    /// Whether `leader_id` was the Chairman (Chủ tịch) on `date`.
    pub async fn is_chairman(&self, leader_id: &str, date: NaiveDate) -> Result<bool, ApiError> {
        let rows = sqlx::query(
            "SELECT valid_from, valid_to FROM progress_chairmen_v1 WHERE leader_id = $1",
        )
        .bind(leader_id.to_owned())
        .fetch_all(self.db.pool())
        .await
        .map_err(ApiError::from_sql)?;
        let day = date.format("%Y-%m-%d").to_string();
        Ok(rows.iter().any(|row| {
            let from: String = row.try_get("valid_from").unwrap_or_default();
            let to: String = row.try_get("valid_to").unwrap_or_default();
            // ISO dates compare as text.
            from <= day && (to.is_empty() || day <= to)
        }))
    }
}

fn parse(row: &sqlx::any::AnyRow) -> Result<TaskFacts, ApiError> {
    let json: String = row.try_get("facts").map_err(ApiError::from_sql)?;
    serde_json::from_str(&json)
        .map_err(|e| ApiError::Internal(format!("stored task facts are unreadable: {e}")))
}
