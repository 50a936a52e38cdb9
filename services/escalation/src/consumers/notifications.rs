//! The notices and leadership actions in the service's own log, as people look them up: by
//! cursor (the log position, which `WatchNotifications` resumes from), by task, by recipient.
//! Built by a local projector, so it is exactly the log, rebuilt from it at will.

use async_trait::async_trait;
use dondoc_contracts::escalation::EscalationEvent;
use dondoc_eventsourcing::RecordedEvent;
use dondoc_eventsourcing::projection::{LocalProjector, Projection, ProjectionError};
use dondoc_proto::v1 as pb;
use sqlx::{AnyConnection, Row};
use std::sync::Arc;

use crate::handlers::error::ApiError;

#[derive(Debug, Default)]
pub struct NotificationsProjection;

impl NotificationsProjection {
    pub const NAME: &'static str = "escalation-notifications";
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl Projection for NotificationsProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS escalation_notifications_v1 (
                position BIGINT PRIMARY KEY,
                notice_id TEXT NOT NULL UNIQUE,
                task_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                level BIGINT NOT NULL,
                due_on TEXT NOT NULL,
                deadline TEXT NOT NULL,
                working_days BIGINT NOT NULL,
                lead_unit TEXT NOT NULL,
                recipient_unit TEXT NOT NULL,
                recipient_leader_id TEXT NOT NULL,
                title TEXT NOT NULL,
                body TEXT NOT NULL,
                item_id TEXT NOT NULL,
                issued_at TEXT NOT NULL,
                email_status TEXT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS escalation_notifications_v1_task
                ON escalation_notifications_v1 (task_id, position)",
            "CREATE INDEX IF NOT EXISTS escalation_notifications_v1_mail
                ON escalation_notifications_v1 (email_status, position)",
            "CREATE TABLE IF NOT EXISTS escalation_actions_v1 (
                position BIGINT PRIMARY KEY,
                action_id TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                leader_id TEXT NOT NULL,
                units TEXT NOT NULL,
                task_ids TEXT NOT NULL,
                doc_number TEXT NOT NULL,
                doc_symbol TEXT NOT NULL,
                doc_date TEXT NOT NULL,
                doc_summary TEXT NOT NULL,
                recorded_on TEXT NOT NULL,
                note TEXT NOT NULL
            )",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["escalation_notifications_v1", "escalation_actions_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        let Some(decoded) = EscalationEvent::decode(event).map_err(ProjectionError::from)? else {
            return Ok(());
        };
        match decoded {
            EscalationEvent::NoticeIssued(n) => {
                sqlx::query(
                    "INSERT INTO escalation_notifications_v1 (position, notice_id, task_id, kind, \
                     level, due_on, deadline, working_days, lead_unit, recipient_unit, \
                     recipient_leader_id, title, body, item_id, issued_at, email_status) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, '')",
                )
                .bind(i64_of(event.position))
                .bind(n.notice_id)
                .bind(n.task_id)
                .bind(n.kind)
                .bind(i64::from(n.level))
                .bind(n.due_on)
                .bind(n.deadline)
                .bind(i64::from(n.working_days))
                .bind(n.lead_unit)
                .bind(n.recipient_unit)
                .bind(n.recipient_leader_id)
                .bind(n.title)
                .bind(n.text)
                .bind(n.item_id)
                .bind(
                    event
                        .occurred_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                )
                .execute(&mut *conn)
                .await?;
            }
            EscalationEvent::NoticeDelivered(d) => {
                set_status(conn, &d.notice_id, "sent").await?;
            }
            EscalationEvent::NoticeDeliveryFailed(d) => {
                set_status(conn, &d.notice_id, "failed").await?;
            }
            EscalationEvent::LeadershipActionRecorded(a) => {
                let document = a.document.unwrap_or_default();
                let list = |v: &[String]| serde_json::to_string(v).unwrap_or_default();
                sqlx::query(
                    "INSERT INTO escalation_actions_v1 (position, action_id, kind, leader_id, \
                     units, task_ids, doc_number, doc_symbol, doc_date, doc_summary, recorded_on, \
                     note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(i64_of(event.position))
                .bind(a.action_id)
                .bind(a.kind)
                .bind(a.leader_id)
                .bind(list(&a.units))
                .bind(list(&a.task_ids))
                .bind(document.number)
                .bind(document.symbol)
                .bind(document.date)
                .bind(document.summary)
                .bind(a.recorded_on)
                .bind(a.note)
                .execute(&mut *conn)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

async fn set_status(
    conn: &mut AnyConnection,
    notice_id: &str,
    status: &str,
) -> Result<(), ProjectionError> {
    sqlx::query("UPDATE escalation_notifications_v1 SET email_status = $1 WHERE notice_id = $2")
        .bind(status.to_owned())
        .bind(notice_id.to_owned())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whose notices a caller sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The Office, Home Affairs, administrators: every notice.
    Everyone,
    /// A unit: notices to it and notices about the tasks it leads.
    Unit(String),
    /// A leader: notices to them.
    Leader(String),
}

impl Audience {
    fn clause(&self, first: usize) -> (String, Vec<String>) {
        match self {
            Audience::Everyone => (String::new(), Vec::new()),
            Audience::Unit(code) => (
                format!(" AND (recipient_unit = ${first} OR lead_unit = ${first})"),
                vec![code.clone()],
            ),
            Audience::Leader(id) => (
                format!(" AND recipient_leader_id = ${first}"),
                vec![id.clone()],
            ),
        }
    }
}

/// What to list.
#[derive(Clone, Debug, Default)]
pub struct NoticeFilter {
    pub after: u64,
    pub limit: u64,
    pub task_id: Option<String>,
    /// Only the escalation kinds, from this level up.
    pub escalations_from_level: Option<u32>,
    pub lead_unit: Option<String>,
    /// Only notices whose e-mail has not been dealt with.
    pub unmailed: bool,
}

const COLUMNS: &str = "position, notice_id, task_id, kind, level, due_on, deadline, \
                       working_days, lead_unit, recipient_unit, recipient_leader_id, title, body, \
                       item_id, issued_at, email_status";

/// Reads notices and actions for the handlers, the publisher and the mailer.
#[derive(Clone)]
pub struct NotificationsReader {
    projector: Arc<LocalProjector<NotificationsProjection>>,
}

impl NotificationsReader {
    pub fn new(projector: Arc<LocalProjector<NotificationsProjection>>) -> Self {
        Self { projector }
    }

    /// Log positions applied so far: changes whenever a notice is added.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.projector.subscribe()
    }

    /// Brings the read model up to the log (after a write, so the caller reads it).
    pub async fn catch_up(&self) -> Result<(), ApiError> {
        self.projector
            .catch_up()
            .await
            .map(|_| ())
            .map_err(|e| ApiError::Unavailable(e.to_string()))
    }

    pub async fn list(
        &self,
        audience: &Audience,
        filter: &NoticeFilter,
    ) -> Result<Vec<pb::Notification>, ApiError> {
        let mut sql =
            format!("SELECT {COLUMNS} FROM escalation_notifications_v1 WHERE position > $1");
        let mut binds: Vec<String> = Vec::new();
        let (clause, values) = audience.clause(2);
        sql.push_str(&clause);
        binds.extend(values);
        let mut next = 2 + binds.len();
        if let Some(task) = &filter.task_id {
            sql.push_str(&format!(" AND task_id = ${next}"));
            binds.push(task.clone());
            next += 1;
        }
        if let Some(unit) = &filter.lead_unit {
            sql.push_str(&format!(" AND lead_unit = ${next}"));
            binds.push(unit.clone());
        }
        if let Some(level) = filter.escalations_from_level {
            sql.push_str(&format!(
                " AND kind IN ('overdue', 'escalation', 'difficulty') AND level >= {level}"
            ));
        }
        if filter.unmailed {
            sql.push_str(" AND email_status = ''");
        }
        sql.push_str(&format!(" ORDER BY position LIMIT {}", filter.limit.max(1)));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(i64_of(filter.after));
        for value in binds {
            query = query.bind(value);
        }
        let rows = query
            .fetch_all(self.projector.database().pool())
            .await
            .map_err(ApiError::from_sql)?;
        rows.iter().map(notification).collect()
    }

    /// Whether a notice with this id is in the read model already.
    pub async fn known_ids(&self, task_id: &str) -> Result<Vec<String>, ApiError> {
        let rows =
            sqlx::query("SELECT notice_id FROM escalation_notifications_v1 WHERE task_id = $1")
                .bind(task_id.to_owned())
                .fetch_all(self.projector.database().pool())
                .await
                .map_err(ApiError::from_sql)?;
        rows.iter()
            .map(|r| r.try_get("notice_id").map_err(ApiError::from_sql))
            .collect()
    }

    pub async fn actions(
        &self,
        unit: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<pb::LeadershipAction>, ApiError> {
        let rows = sqlx::query(
            "SELECT action_id, kind, leader_id, units, task_ids, doc_number, doc_symbol, \
             doc_date, doc_summary, recorded_on, note FROM escalation_actions_v1 ORDER BY position",
        )
        .fetch_all(self.projector.database().pool())
        .await
        .map_err(ApiError::from_sql)?;
        let mut out = Vec::new();
        for r in &rows {
            let get = |c: &str| -> Result<String, ApiError> {
                r.try_get::<String, _>(c).map_err(ApiError::from_sql)
            };
            let list =
                |raw: String| -> Vec<String> { serde_json::from_str(&raw).unwrap_or_default() };
            let action = pb::LeadershipAction {
                action_id: get("action_id")?,
                kind: get("kind")?,
                leader_id: get("leader_id")?,
                units: list(get("units")?),
                task_ids: list(get("task_ids")?),
                document: Some(pb::SourceDocument {
                    number: get("doc_number")?,
                    symbol: get("doc_symbol")?,
                    date: get("doc_date")?,
                    summary: get("doc_summary")?,
                }),
                recorded_on: get("recorded_on")?,
                note: get("note")?,
            };
            let in_unit = unit.is_none_or(|u| action.units.iter().any(|a| a == u));
            let after_from = from.is_none_or(|f| action.recorded_on.as_str() >= f);
            let before_to = to.is_none_or(|t| action.recorded_on.as_str() <= t);
            if in_unit && after_from && before_to {
                out.push(action);
            }
        }
        Ok(out)
    }
}

fn notification(r: &sqlx::any::AnyRow) -> Result<pb::Notification, ApiError> {
    let get = |c: &str| -> Result<String, ApiError> {
        r.try_get::<String, _>(c).map_err(ApiError::from_sql)
    };
    let int =
        |c: &str| -> Result<i64, ApiError> { r.try_get::<i64, _>(c).map_err(ApiError::from_sql) };
    let issued_at = chrono::DateTime::parse_from_rfc3339(&get("issued_at")?)
        .map(|t| prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
        })
        .ok();
    Ok(pb::Notification {
        cursor: u64::try_from(int("position")?).unwrap_or(0),
        notice_id: get("notice_id")?,
        task_id: get("task_id")?,
        kind: get("kind")?,
        level: u32::try_from(int("level")?).unwrap_or(0),
        due_on: get("due_on")?,
        deadline: get("deadline")?,
        working_days: i32::try_from(int("working_days")?).unwrap_or(0),
        lead_unit: get("lead_unit")?,
        recipient_unit: get("recipient_unit")?,
        recipient_leader_id: get("recipient_leader_id")?,
        title: get("title")?,
        text: get("body")?,
        issued_at,
        email_status: get("email_status")?,
        item_id: get("item_id")?,
    })
}
