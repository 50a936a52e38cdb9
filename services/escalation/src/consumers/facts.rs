//! What the escalation service knows of each task and of the people to tell, learnt from the
//! assignment service's events (task, unit and leader directories) and the progress service's
//! execution events, through the published contracts only.
//!
//! Each source has its own durable consumer and its own table; the consumer applies each
//! source's events in their stream's order (parking early ones), while the two sources may
//! arrive in any order between them: an execution row is created by whichever of its events
//! comes first, and the task row when its assignment does.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use dondoc_contracts::assignment::{AssignmentEvent, DIRECTORY_STREAM, LEADER_STREAM, TASK_STREAM};
use dondoc_contracts::progress::{EXECUTION_STREAM, ProgressEvent};
use dondoc_eventsourcing::clock::business_date;
use dondoc_eventsourcing::projection::{Projection, ProjectionError, expect_row};
use dondoc_eventsourcing::{Database, RecordedEvent};
use dondoc_proto::v1 as pb;
use sqlx::{AnyConnection, Row};

use crate::domain::facts::{Coordination, DeadlineFrom, Difficulty};
use crate::domain::{ExecutionFacts, TaskFacts};
use crate::handlers::error::ApiError;

fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

fn malformed(what: &str, raw: &str) -> ProjectionError {
    ProjectionError::Other(format!("{what} is not a date: {raw:?}"))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, ProjectionError> {
    serde_json::to_string(value).map_err(|e| ProjectionError::Other(e.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(raw: &str, what: &str) -> Result<T, ProjectionError> {
    serde_json::from_str(raw).map_err(|e| ProjectionError::Other(format!("stored {what}: {e}")))
}

/// The assignment service's tasks and directories.
#[derive(Debug, Default)]
pub struct AssignmentFactsProjection;

impl AssignmentFactsProjection {
    pub const NAME: &'static str = "escalation-assignment-facts";
}

async fn load_task(conn: &mut AnyConnection, task_id: &str) -> Result<TaskFacts, ProjectionError> {
    let row = sqlx::query("SELECT facts FROM escalation_task_facts_v1 WHERE task_id = $1")
        .bind(task_id.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    let row = expect_row(row, || format!("facts of task {task_id}"))?;
    parse(&row.try_get::<String, _>("facts")?, "task facts")
}

async fn save_task(conn: &mut AnyConnection, facts: &TaskFacts) -> Result<(), ProjectionError> {
    sqlx::query(
        "UPDATE escalation_task_facts_v1 SET facts = $1, lead_unit = $2, closed = $3 \
         WHERE task_id = $4",
    )
    .bind(json(facts)?)
    .bind(facts.lead_unit.clone())
    .bind(i64::from(facts.cancelled))
    .bind(facts.task_id.clone())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn leader(kind: i32, leader_id: &str) -> Option<String> {
    let by_a_leader =
        kind == pb::AssignerKind::Chairman as i32 || kind == pb::AssignerKind::ViceChairman as i32;
    (by_a_leader && !leader_id.is_empty()).then(|| leader_id.to_owned())
}

#[async_trait]
impl Projection for AssignmentFactsProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS escalation_task_facts_v1 (
                task_id TEXT PRIMARY KEY,
                lead_unit TEXT NOT NULL,
                closed BIGINT NOT NULL,
                facts TEXT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS escalation_task_facts_v1_open
                ON escalation_task_facts_v1 (closed, task_id)",
            "CREATE TABLE IF NOT EXISTS escalation_units_v1 (
                code TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                email TEXT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS escalation_leaders_v1 (
                leader_id TEXT NOT NULL,
                full_name TEXT NOT NULL,
                title TEXT NOT NULL,
                email TEXT NOT NULL,
                valid_from TEXT NOT NULL,
                valid_to TEXT NOT NULL
            )",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "escalation_task_facts_v1",
            "escalation_units_v1",
            "escalation_leaders_v1",
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
        let decoded = AssignmentEvent::decode(event).map_err(ProjectionError::from)?;
        let task_id = event.stream_id.clone();
        let day_of_event = business_date(event.occurred_at);
        match decoded {
            Some(AssignmentEvent::TaskAssigned(m)) => {
                let assigned_on =
                    date(&m.assigned_on).ok_or_else(|| malformed("assigned_on", &m.assigned_on))?;
                let assigner = m
                    .assignment
                    .unwrap_or_default()
                    .assigner
                    .unwrap_or_default();
                let facts = TaskFacts {
                    task_id: task_id.clone(),
                    title: m.title,
                    lead_unit: m.lead_unit,
                    assigning_leader_id: leader(assigner.kind, &assigner.leader_id),
                    supervising_leader_id: (!m.supervising_leader_id.is_empty())
                        .then_some(m.supervising_leader_id),
                    assigned_on,
                    deadlines: vec![DeadlineFrom {
                        from: assigned_on,
                        deadline: date(&m.deadline),
                    }],
                    // A task imported as history is not watched: its time has passed.
                    cancelled: m.historical,
                };
                // A plain INSERT: the same task assigned twice is a broken stream and fails.
                sqlx::query(
                    "INSERT INTO escalation_task_facts_v1 (task_id, lead_unit, closed, facts) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(task_id)
                .bind(facts.lead_unit.clone())
                .bind(i64::from(facts.cancelled))
                .bind(json(&facts)?)
                .execute(&mut *conn)
                .await?;
            }
            Some(AssignmentEvent::TaskReassigned(m)) => {
                let mut facts = load_task(conn, &task_id).await?;
                facts.lead_unit = m.new_lead_unit;
                if !m.supervising_leader_id.is_empty() {
                    facts.supervising_leader_id = Some(m.supervising_leader_id);
                }
                save_task(conn, &facts).await?;
            }
            Some(AssignmentEvent::TaskDeadlineExtended(m)) => {
                let mut facts = load_task(conn, &task_id).await?;
                let from = date(&m.decided_on).unwrap_or(day_of_event);
                let deadline = date(&m.new_deadline)
                    .ok_or_else(|| malformed("new_deadline", &m.new_deadline))?;
                facts.extend(from, deadline);
                save_task(conn, &facts).await?;
            }
            Some(AssignmentEvent::TaskCancelled(_)) => {
                let mut facts = load_task(conn, &task_id).await?;
                facts.cancelled = true;
                save_task(conn, &facts).await?;
            }
            Some(AssignmentEvent::DirectoryImported(m)) => {
                // Directories come oldest first; a unit in a later one takes its name and
                // address from it.
                for unit in m.units {
                    sqlx::query("DELETE FROM escalation_units_v1 WHERE code = $1")
                        .bind(unit.code.clone())
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(
                        "INSERT INTO escalation_units_v1 (code, name, email) VALUES ($1, $2, $3)",
                    )
                    .bind(unit.code)
                    .bind(unit.name_vi)
                    .bind(unit.email)
                    .execute(&mut *conn)
                    .await?;
                }
            }
            Some(AssignmentEvent::LeadersImported(m)) => {
                sqlx::query("DELETE FROM escalation_leaders_v1")
                    .execute(&mut *conn)
                    .await?;
                for l in m.leaders {
                    sqlx::query(
                        "INSERT INTO escalation_leaders_v1 \
                         (leader_id, full_name, title, email, valid_from, valid_to) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(l.id)
                    .bind(l.full_name)
                    .bind(l.title)
                    .bind(l.email)
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

/// The progress service's execution events.
#[derive(Debug, Default)]
pub struct ExecutionFactsProjection;

impl ExecutionFactsProjection {
    pub const NAME: &'static str = "escalation-execution-facts";
}

#[async_trait]
impl Projection for ExecutionFactsProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &["CREATE TABLE IF NOT EXISTS escalation_execution_v1 (
                task_id TEXT PRIMARY KEY,
                closed BIGINT NOT NULL,
                facts TEXT NOT NULL
            )"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["escalation_execution_v1"]
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
        let task_id = event.stream_id.clone();
        let row = sqlx::query("SELECT facts FROM escalation_execution_v1 WHERE task_id = $1")
            .bind(task_id.clone())
            .fetch_optional(&mut *conn)
            .await?;
        let existed = row.is_some();
        let mut facts: ExecutionFacts = match row {
            Some(row) => parse(&row.try_get::<String, _>("facts")?, "execution facts")?,
            None => ExecutionFacts::default(),
        };
        let day = |raw: &str| date(raw).unwrap_or_else(|| business_date(event.occurred_at));
        match decoded {
            ProgressEvent::Acknowledged(m) => facts.active_on(day(&m.acknowledged_on)),
            ProgressEvent::ProgressReported(m) => facts.active_on(day(&m.reported_on)),
            ProgressEvent::DifficultyReported(m) => {
                let on = day(&m.reported_on);
                facts.active_on(on);
                facts.difficulties.insert(
                    m.difficulty_id,
                    Difficulty {
                        reported_on: on,
                        directed: false,
                    },
                );
            }
            ProgressEvent::DirectionGiven(m) => {
                if let Some(d) = facts.difficulties.get_mut(&m.difficulty_id) {
                    d.directed = true;
                }
            }
            ProgressEvent::CoordinationRequested(m) => {
                let reply_due =
                    date(&m.reply_due).ok_or_else(|| malformed("reply_due", &m.reply_due))?;
                facts.coordinations.insert(
                    m.coordination_id,
                    Coordination {
                        unit: m.unit,
                        reply_due,
                        replied: false,
                    },
                );
            }
            ProgressEvent::CoordinationSubmitted(m) => {
                if let Some(c) = facts.coordinations.get_mut(&m.coordination_id) {
                    c.replied = true;
                }
            }
            ProgressEvent::ResultSubmitted(m) => {
                facts.active_on(day(&m.submitted_on));
                facts.awaiting_review = true;
            }
            ProgressEvent::ResultReturned(m) => {
                facts.active_on(day(&m.returned_on));
                facts.awaiting_review = false;
            }
            ProgressEvent::ResultAccepted(_) => {
                facts.awaiting_review = false;
                facts.completed = true;
            }
            _ => return Ok(()),
        }
        let sql = if existed {
            "UPDATE escalation_execution_v1 SET closed = $1, facts = $2 WHERE task_id = $3"
        } else {
            "INSERT INTO escalation_execution_v1 (closed, facts, task_id) VALUES ($1, $2, $3)"
        };
        sqlx::query(sql)
            .bind(i64::from(facts.completed))
            .bind(json(&facts)?)
            .bind(task_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// A task as the watch sees it: the assignment's facts (`None` until they arrive) and the
/// work's.
#[derive(Clone, Debug)]
pub struct KnownTask {
    pub task_id: String,
    pub task: Option<TaskFacts>,
    pub work: ExecutionFacts,
}

/// A person or unit to write to.
#[derive(Clone, Debug, Default)]
pub struct Addressee {
    pub name: String,
    pub email: String,
}

/// Reads what the two projections know, for the handlers and the mailer.
#[derive(Clone, Debug)]
pub struct FactsReader {
    db: Database,
}

fn api<T>(result: Result<T, ProjectionError>) -> Result<T, ApiError> {
    result.map_err(|e| ApiError::Internal(e.to_string()))
}

impl FactsReader {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Every task whose watch is open: neither cancelled nor completed.
    pub async fn open_tasks(&self) -> Result<Vec<KnownTask>, ApiError> {
        let rows = sqlx::query(
            "SELECT t.task_id, t.facts AS task, e.facts AS work \
             FROM escalation_task_facts_v1 t \
             LEFT JOIN escalation_execution_v1 e ON e.task_id = t.task_id \
             WHERE t.closed = 0 AND (e.closed IS NULL OR e.closed = 0) \
             ORDER BY t.task_id",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(ApiError::from_sql)?;
        rows.iter().map(known).collect()
    }

    /// One task, whatever its state (`None` when nothing at all is known of it).
    pub async fn task(&self, task_id: &str) -> Result<Option<KnownTask>, ApiError> {
        let task = sqlx::query("SELECT facts FROM escalation_task_facts_v1 WHERE task_id = $1")
            .bind(task_id.to_owned())
            .fetch_optional(self.db.pool())
            .await
            .map_err(ApiError::from_sql)?;
        let work = sqlx::query("SELECT facts FROM escalation_execution_v1 WHERE task_id = $1")
            .bind(task_id.to_owned())
            .fetch_optional(self.db.pool())
            .await
            .map_err(ApiError::from_sql)?;
        if task.is_none() && work.is_none() {
            return Ok(None);
        }
        let facts = |row: Option<sqlx::any::AnyRow>| -> Result<Option<String>, ApiError> {
            row.map(|r| r.try_get::<String, _>("facts").map_err(ApiError::from_sql))
                .transpose()
        };
        Ok(Some(KnownTask {
            task_id: task_id.to_owned(),
            task: facts(task)?
                .map(|raw| api(parse(&raw, "task facts")))
                .transpose()?,
            work: facts(work)?
                .map(|raw| api(parse(&raw, "execution facts")))
                .transpose()?
                .unwrap_or_default(),
        }))
    }

    /// Unit names by code.
    pub async fn unit_names(&self) -> Result<BTreeMap<String, String>, ApiError> {
        let rows = sqlx::query("SELECT code, name FROM escalation_units_v1")
            .fetch_all(self.db.pool())
            .await
            .map_err(ApiError::from_sql)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("code").map_err(ApiError::from_sql)?,
                    r.try_get::<String, _>("name").map_err(ApiError::from_sql)?,
                ))
            })
            .collect()
    }

    /// The Chairman (title `chairman`) in office on `date`.
    pub async fn chairman_on(&self, date: NaiveDate) -> Result<Option<String>, ApiError> {
        let rows = sqlx::query(
            "SELECT leader_id, valid_from, valid_to FROM escalation_leaders_v1 \
             WHERE title = 'chairman' ORDER BY valid_from",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(ApiError::from_sql)?;
        let day = date.format("%Y-%m-%d").to_string();
        Ok(rows.iter().rev().find_map(|row| {
            let from: String = row.try_get("valid_from").unwrap_or_default();
            let to: String = row.try_get("valid_to").unwrap_or_default();
            // ISO dates compare as text.
            (from <= day && (to.is_empty() || day <= to))
                .then(|| row.try_get("leader_id").unwrap_or_default())
        }))
    }

    /// Where a unit's notices are e-mailed (its head's office), from the unit directory.
    pub async fn unit_addressee(&self, code: &str) -> Result<Option<Addressee>, ApiError> {
        let row = sqlx::query("SELECT name, email FROM escalation_units_v1 WHERE code = $1")
            .bind(code.to_owned())
            .fetch_optional(self.db.pool())
            .await
            .map_err(ApiError::from_sql)?;
        Ok(row.map(|r| Addressee {
            name: r.try_get("name").unwrap_or_default(),
            email: r.try_get("email").unwrap_or_default(),
        }))
    }

    /// Where a leader's notices are e-mailed, from the leader directory.
    pub async fn leader_addressee(&self, leader_id: &str) -> Result<Option<Addressee>, ApiError> {
        let row = sqlx::query(
            "SELECT full_name, email FROM escalation_leaders_v1 WHERE leader_id = $1 \
             ORDER BY valid_from DESC",
        )
        .bind(leader_id.to_owned())
        .fetch_optional(self.db.pool())
        .await
        .map_err(ApiError::from_sql)?;
        Ok(row.map(|r| Addressee {
            name: r.try_get("full_name").unwrap_or_default(),
            email: r.try_get("email").unwrap_or_default(),
        }))
    }
}

fn known(row: &sqlx::any::AnyRow) -> Result<KnownTask, ApiError> {
    let task_id: String = row.try_get("task_id").map_err(ApiError::from_sql)?;
    let task: String = row.try_get("task").map_err(ApiError::from_sql)?;
    let work: Option<String> = row.try_get("work").map_err(ApiError::from_sql)?;
    Ok(KnownTask {
        task_id,
        task: Some(api(parse(&task, "task facts"))?),
        work: work
            .map(|raw| api(parse(&raw, "execution facts")))
            .transpose()?
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dondoc_eventsourcing::Actor;
    use dondoc_eventsourcing::testing::TestDatabase;
    use prost::Message as _;

    fn event(stream_type: &str, version: u64, event_type: &str, payload: Vec<u8>) -> RecordedEvent {
        RecordedEvent {
            position: version,
            event_id: uuid::Uuid::now_v7(),
            stream_type: stream_type.to_owned(),
            stream_id: "t-1".to_owned(),
            stream_version: version,
            event_type: event_type.to_owned(),
            schema_version: 1,
            occurred_at: chrono::Utc::now(),
            recorded_at: chrono::Utc::now(),
            actor: Actor::default(),
            correlation_id: String::new(),
            causation_id: String::new(),
            traceparent: String::new(),
            source: String::new(),
            payload,
        }
    }

    fn assignment_events() -> Vec<RecordedEvent> {
        use dondoc_contracts::assignment::{TASK_ASSIGNED, TASK_DEADLINE_EXTENDED};
        let mut assigned = event(
            TASK_STREAM,
            1,
            TASK_ASSIGNED.name,
            pb::TaskAssigned {
                task_id: "t-1".into(),
                title: "Báo cáo".into(),
                lead_unit: "SXD".into(),
                deadline: "2025-12-31".into(),
                assigned_on: "2025-12-01".into(),
                supervising_leader_id: "pct-tran".into(),
                ..Default::default()
            }
            .encode_to_vec(),
        );
        assigned.schema_version = TASK_ASSIGNED.version;
        let mut extended = event(
            TASK_STREAM,
            2,
            TASK_DEADLINE_EXTENDED.name,
            pb::TaskDeadlineExtended {
                task_id: "t-1".into(),
                new_deadline: "2026-01-20".into(),
                decided_on: "2026-01-06".into(),
                ..Default::default()
            }
            .encode_to_vec(),
        );
        extended.schema_version = TASK_DEADLINE_EXTENDED.version;
        vec![assigned, extended]
    }

    fn execution_events() -> Vec<RecordedEvent> {
        use dondoc_contracts::progress::{ACKNOWLEDGED, DIFFICULTY_REPORTED, RESULT_SUBMITTED};
        vec![
            event(
                EXECUTION_STREAM,
                1,
                ACKNOWLEDGED.name,
                pb::ExecutionAcknowledged {
                    task_id: "t-1".into(),
                    lead_unit: "SXD".into(),
                    acknowledged_on: "2025-12-02".into(),
                }
                .encode_to_vec(),
            ),
            event(
                EXECUTION_STREAM,
                2,
                DIFFICULTY_REPORTED.name,
                pb::DifficultyReported {
                    task_id: "t-1".into(),
                    difficulty_id: "d-1".into(),
                    reported_on: "2025-12-10".into(),
                    ..Default::default()
                }
                .encode_to_vec(),
            ),
            event(
                EXECUTION_STREAM,
                3,
                RESULT_SUBMITTED.name,
                pb::ResultSubmitted {
                    task_id: "t-1".into(),
                    submission_id: "s-1".into(),
                    submitted_on: "2026-01-08".into(),
                    ..Default::default()
                }
                .encode_to_vec(),
            ),
        ]
    }

    async fn apply_all(events: &[RecordedEvent]) -> KnownTask {
        let test = TestDatabase::sqlite().await;
        test.db
            .run_schema(AssignmentFactsProjection.schema())
            .await
            .expect("schema");
        test.db
            .run_schema(ExecutionFactsProjection.schema())
            .await
            .expect("schema");
        let mut conn = test.db.pool().acquire().await.expect("connection");
        for e in events {
            if e.stream_type == TASK_STREAM {
                AssignmentFactsProjection.apply(&mut conn, e).await
            } else {
                ExecutionFactsProjection.apply(&mut conn, e).await
            }
            .expect("applied");
        }
        drop(conn);
        FactsReader::new(test.db.clone())
            .task("t-1")
            .await
            .expect("read")
            .expect("known")
    }

    #[tokio::test]
    async fn the_two_sources_give_the_same_facts_whichever_arrives_first() {
        let assignment = assignment_events();
        let execution = execution_events();
        let assignment_first: Vec<_> = assignment.iter().chain(&execution).cloned().collect();
        let execution_first: Vec<_> = execution.iter().chain(&assignment).cloned().collect();
        let interleaved = vec![
            execution[0].clone(),
            assignment[0].clone(),
            execution[1].clone(),
            execution[2].clone(),
            assignment[1].clone(),
        ];

        let a = apply_all(&assignment_first).await;
        let b = apply_all(&execution_first).await;
        let c = apply_all(&interleaved).await;

        assert_eq!(
            (a.task.clone(), a.work.clone()),
            (b.task.clone(), b.work.clone())
        );
        assert_eq!((a.task.clone(), a.work.clone()), (c.task, c.work));
        let task = a.task.expect("the assignment");
        assert_eq!(task.deadlines.len(), 2);
        assert!(a.work.awaiting_review);
        assert_eq!(a.work.last_activity, NaiveDate::from_ymd_opt(2026, 1, 8));
    }
}
