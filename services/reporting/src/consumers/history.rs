//! Each task's history with the business day of every change, for reports computed as of a
//! cut-off: from the assignment service the assignment (day, origin, assigning leader, source
//! document, deadline), every extension from the day it was decided, cancellation, and the
//! unit and leader names; from the progress service the day the result was accepted and how it
//! was judged. Two consumers, two tables: either source may arrive first.

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

use crate::domain::report::{ActionFact, CaseFact, DeadlineChange, DifficultyFact, TaskHistory};

fn other(e: impl std::fmt::Display) -> ProjectionError {
    ProjectionError::Other(e.to_string())
}

fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

fn origin_name(kind: i32) -> &'static str {
    match pb::OriginKind::try_from(kind).unwrap_or(pb::OriginKind::Unspecified) {
        pb::OriginKind::Government => "government",
        pb::OriginKind::PrimeMinister => "prime_minister",
        pb::OriginKind::Ministry => "ministry",
        pb::OriginKind::CityPartyCommittee => "city_party_committee",
        pb::OriginKind::CityPeoplesCouncil => "city_peoples_council",
        pb::OriginKind::CityPeoplesCommittee => "city_peoples_committee",
        pb::OriginKind::Unclassified | pb::OriginKind::Unspecified => "unclassified",
    }
}

fn document(d: Option<&pb::SourceDocument>) -> String {
    match d {
        Some(d) if !d.number.is_empty() => {
            let on = date(&d.date)
                .map(|x| format!(" ngày {}", x.format("%d/%m/%Y")))
                .unwrap_or_default();
            format!("{}/{}{on}", d.number, d.symbol)
        }
        _ => String::new(),
    }
}

/// The assignment service's side.
#[derive(Debug, Default)]
pub struct TaskHistoryProjection;

impl TaskHistoryProjection {
    pub const NAME: &'static str = "reporting-task-history";
}

async fn load(conn: &mut AnyConnection, task_id: &str) -> Result<TaskHistory, ProjectionError> {
    let row = sqlx::query("SELECT facts FROM report_task_history_v1 WHERE task_id = $1")
        .bind(task_id.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    let row = expect_row(row, || format!("history of task {task_id}"))?;
    serde_json::from_str(&row.try_get::<String, _>("facts")?).map_err(other)
}

async fn save(conn: &mut AnyConnection, t: &TaskHistory) -> Result<(), ProjectionError> {
    sqlx::query("UPDATE report_task_history_v1 SET facts = $1 WHERE task_id = $2")
        .bind(serde_json::to_string(t).map_err(other)?)
        .bind(t.task_id.clone())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[async_trait]
impl Projection for TaskHistoryProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS report_task_history_v1 (
                task_id TEXT PRIMARY KEY,
                facts TEXT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS report_names_v1 (
                kind TEXT NOT NULL,
                key TEXT NOT NULL,
                name TEXT NOT NULL,
                PRIMARY KEY (kind, key)
            )",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["report_task_history_v1", "report_names_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if ![TASK_STREAM, LEADER_STREAM, DIRECTORY_STREAM].contains(&event.stream_type.as_str()) {
            return Ok(());
        }
        let task_id = event.stream_id.clone();
        let day = business_date(event.occurred_at);
        match AssignmentEvent::decode(event).map_err(ProjectionError::from)? {
            Some(AssignmentEvent::TaskAssigned(m)) => {
                let assigned_on = date(&m.assigned_on).unwrap_or(day);
                let assignment = m.assignment.clone().unwrap_or_default();
                let assigner = assignment.assigner.unwrap_or_default();
                let by_a_leader = assigner.kind == pb::AssignerKind::Chairman as i32
                    || assigner.kind == pb::AssignerKind::ViceChairman as i32;
                let origin = m.origin.clone().unwrap_or_default();
                let history = TaskHistory {
                    task_id: task_id.clone(),
                    title: m.title,
                    lead_unit: m.lead_unit,
                    origin: origin_name(origin.kind).to_owned(),
                    assigning_leader_id: (by_a_leader && !assigner.leader_id.is_empty())
                        .then_some(assigner.leader_id),
                    source_document: document(
                        origin.document.as_ref().or(assignment.document.as_ref()),
                    ),
                    assigned_on: Some(assigned_on),
                    // A task imported from the paper register is known from the day it was
                    // recorded (the import's own time; its business time is the assignment
                    // day), not the day it was assigned.
                    assigned_known_on: {
                        let known = if m.historical {
                            business_date(event.recorded_at)
                        } else {
                            day
                        };
                        (known > assigned_on).then_some(known)
                    },
                    deadlines: vec![DeadlineChange::new(assigned_on, date(&m.deadline))],
                    ..Default::default()
                };
                sqlx::query("INSERT INTO report_task_history_v1 (task_id, facts) VALUES ($1, $2)")
                    .bind(task_id)
                    .bind(serde_json::to_string(&history).map_err(other)?)
                    .execute(&mut *conn)
                    .await?;
            }
            Some(AssignmentEvent::TaskReassigned(m)) => {
                let mut t = load(conn, &task_id).await?;
                t.lead_unit = m.new_lead_unit;
                save(conn, &t).await?;
            }
            Some(AssignmentEvent::TaskDeadlineExtended(m)) => {
                let mut t = load(conn, &task_id).await?;
                let from = date(&m.decided_on).unwrap_or(day);
                let at = t
                    .deadlines
                    .iter()
                    .position(|d| d.from > from)
                    .unwrap_or(t.deadlines.len());
                t.deadlines.insert(
                    at,
                    DeadlineChange {
                        from,
                        deadline: date(&m.new_deadline),
                        known_on: (day > from).then_some(day),
                    },
                );
                save(conn, &t).await?;
            }
            Some(AssignmentEvent::TaskCancelled(_)) => {
                let mut t = load(conn, &task_id).await?;
                t.cancelled_on = Some(day);
                save(conn, &t).await?;
            }
            Some(AssignmentEvent::DirectoryImported(m)) => {
                for unit in m.units {
                    name(conn, "unit", &unit.code, &unit.name_vi).await?;
                }
            }
            Some(AssignmentEvent::LeadersImported(m)) => {
                for leader in m.leaders {
                    name(conn, "leader", &leader.id, &leader.full_name).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

async fn name(
    conn: &mut AnyConnection,
    kind: &str,
    key: &str,
    value: &str,
) -> Result<(), ProjectionError> {
    sqlx::query("DELETE FROM report_names_v1 WHERE kind = $1 AND key = $2")
        .bind(kind.to_owned())
        .bind(key.to_owned())
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO report_names_v1 (kind, key, name) VALUES ($1, $2, $3)")
        .bind(kind.to_owned())
        .bind(key.to_owned())
        .bind(value.to_owned())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The progress service's side: when the result was accepted and how it was judged, and the
/// difficulties reported with the day direction came.
#[derive(Debug, Default)]
pub struct CompletionHistoryProjection;

impl CompletionHistoryProjection {
    pub const NAME: &'static str = "reporting-completion-history";
}

#[async_trait]
impl Projection for CompletionHistoryProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS report_completions_v1 (
                task_id TEXT PRIMARY KEY,
                completed_on TEXT NOT NULL,
                on_time BIGINT NOT NULL,
                deadline_then TEXT NOT NULL,
                known_on TEXT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS report_difficulties_v1 (
                difficulty_id TEXT PRIMARY KEY,
                task_id TEXT NOT NULL,
                unit TEXT NOT NULL,
                description TEXT NOT NULL,
                reported_on TEXT NOT NULL,
                directed_on TEXT NOT NULL
            )",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["report_completions_v1", "report_difficulties_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != EXECUTION_STREAM {
            return Ok(());
        }
        let day = |raw: &str| date(raw).unwrap_or_else(|| business_date(event.occurred_at));
        let m = match ProgressEvent::decode(event).map_err(ProjectionError::from)? {
            Some(ProgressEvent::ResultAccepted(m)) => m,
            Some(ProgressEvent::DifficultyReported(d)) => {
                sqlx::query(
                    "INSERT INTO report_difficulties_v1 (difficulty_id, task_id, unit, \
                     description, reported_on, directed_on) VALUES ($1, $2, $3, $4, $5, '')",
                )
                .bind(d.difficulty_id)
                .bind(event.stream_id.clone())
                .bind(d.lead_unit)
                .bind(d.description)
                .bind(day(&d.reported_on).to_string())
                .execute(&mut *conn)
                .await?;
                return Ok(());
            }
            Some(ProgressEvent::DirectionGiven(d)) => {
                sqlx::query(
                    "UPDATE report_difficulties_v1 SET directed_on = $1 WHERE difficulty_id = $2",
                )
                .bind(day(&d.given_on).to_string())
                .bind(d.difficulty_id)
                .execute(&mut *conn)
                .await?;
                return Ok(());
            }
            _ => return Ok(()),
        };
        let on = day(&m.accepted_on);
        sqlx::query(
            "INSERT INTO report_completions_v1 (task_id, completed_on, on_time, deadline_then, \
             known_on) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event.stream_id.clone())
        .bind(on.to_string())
        .bind(i64::from(m.on_time))
        .bind(m.deadline_then)
        .bind(business_date(event.occurred_at).to_string())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// Every task's history, with its completion when known, and the names of units and leaders.
pub async fn read_histories(
    db: &Database,
) -> Result<
    (
        Vec<TaskHistory>,
        BTreeMap<String, String>,
        BTreeMap<String, String>,
    ),
    sqlx::Error,
> {
    let rows = sqlx::query(
        "SELECT h.facts, c.completed_on, c.on_time, c.deadline_then, c.known_on \
         FROM report_task_history_v1 h \
         LEFT JOIN report_completions_v1 c ON c.task_id = h.task_id ORDER BY h.task_id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut tasks = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut t: TaskHistory = serde_json::from_str(&r.try_get::<String, _>("facts")?)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        if let Some(completed_on) = r.try_get::<Option<String>, _>("completed_on")? {
            t.completed_on = date(&completed_on);
            t.completed_on_time = r.try_get::<Option<i64>, _>("on_time")?.map(|v| v != 0);
            t.completed_deadline = r
                .try_get::<Option<String>, _>("deadline_then")?
                .and_then(|d| date(&d));
            t.completed_known_on = r
                .try_get::<Option<String>, _>("known_on")?
                .and_then(|d| date(&d));
        }
        tasks.push(t);
    }
    let mut units = BTreeMap::new();
    let mut leaders = BTreeMap::new();
    for r in sqlx::query("SELECT kind, key, name FROM report_names_v1")
        .fetch_all(db.pool())
        .await?
    {
        let kind: String = r.try_get("kind")?;
        let entry = (r.try_get("key")?, r.try_get("name")?);
        if kind == "unit" {
            units.insert(entry.0, entry.1);
        } else {
            leaders.insert(entry.0, entry.1);
        }
    }
    Ok((tasks, units, leaders))
}

/// Leadership actions recorded by the escalation service.
#[derive(Debug, Default)]
pub struct LeadershipActionsProjection;

impl LeadershipActionsProjection {
    pub const NAME: &'static str = "reporting-leadership-actions";
}

#[async_trait]
impl Projection for LeadershipActionsProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &["CREATE TABLE IF NOT EXISTS report_actions_v1 (
                action_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                recorded_on TEXT NOT NULL,
                units TEXT NOT NULL
            )"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["report_actions_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        use dondoc_contracts::escalation::{ACTION_STREAM, EscalationEvent};
        if event.stream_type != ACTION_STREAM {
            return Ok(());
        }
        let Some(EscalationEvent::LeadershipActionRecorded(a)) =
            EscalationEvent::decode(event).map_err(ProjectionError::from)?
        else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO report_actions_v1 (action_id, kind, recorded_on, units) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(event.stream_id.clone())
        .bind(a.kind)
        .bind(
            date(&a.recorded_on)
                .unwrap_or_else(|| business_date(event.occurred_at))
                .to_string(),
        )
        .bind(serde_json::to_string(&a.units).map_err(other)?)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// Difficulties, leadership actions and discipline cases, as the report counts them.
pub async fn read_facts(
    db: &Database,
) -> Result<(Vec<DifficultyFact>, Vec<ActionFact>, Vec<CaseFact>), sqlx::Error> {
    let bad = |what: &str| sqlx::Error::Protocol(format!("a stored {what} date is unreadable"));
    let mut difficulties = Vec::new();
    for r in sqlx::query(
        "SELECT difficulty_id, task_id, unit, description, reported_on, directed_on \
         FROM report_difficulties_v1",
    )
    .fetch_all(db.pool())
    .await?
    {
        difficulties.push(DifficultyFact {
            difficulty_id: r.try_get("difficulty_id")?,
            task_id: r.try_get("task_id")?,
            unit: r.try_get("unit")?,
            description: r.try_get("description")?,
            reported_on: date(&r.try_get::<String, _>("reported_on")?)
                .ok_or_else(|| bad("difficulty"))?,
            directed_on: date(&r.try_get::<String, _>("directed_on")?),
        });
    }
    let mut actions = Vec::new();
    for r in sqlx::query("SELECT kind, recorded_on, units FROM report_actions_v1")
        .fetch_all(db.pool())
        .await?
    {
        actions.push(ActionFact {
            kind: r.try_get("kind")?,
            recorded_on: date(&r.try_get::<String, _>("recorded_on")?)
                .ok_or_else(|| bad("action"))?,
            units: serde_json::from_str(&r.try_get::<String, _>("units")?).unwrap_or_default(),
        });
    }
    let cases = crate::consumers::exemptions::read_cases(db).await?;
    Ok((difficulties, actions, cases))
}
