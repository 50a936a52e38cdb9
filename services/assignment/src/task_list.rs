//! The task list: the assignment service's own read model behind `ListTasks`.
//!
//! It is fed from the service's local event log by a `LocalProjector`, and it is the full task
//! view (who did what when) stored as the `Task` message plus the columns the filters need.
//! `ListTasks` waits (briefly) until the projection has caught up with the last commit, so a
//! client that assigned a task sees it in the list right away.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dondoc_eventsourcing::projection::{Projection, ProjectionError};
use dondoc_eventsourcing::{Database, EventStore, RecordedEvent};
use dondoc_proto::v1 as pb;
use prost::Message as _;
use sqlx::{AnyConnection, Row};
use tokio::sync::watch;

use crate::convert::task_to_proto;
use crate::domain::values::format_date;
use crate::domain::{IssuerKind, TaskEvent, TaskRecord, TaskStatus};

/// Folds a recorded task stream into its full view.
pub fn task_record(history: &[RecordedEvent]) -> Result<Option<TaskRecord>, ProjectionError> {
    let events = history
        .iter()
        .map(|e| e.decode::<TaskEvent>())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TaskRecord::fold(history.iter().zip(&events).map(
        |(recorded, event)| {
            (
                event,
                recorded.stream_version,
                recorded.occurred_at,
                recorded.actor.subject.as_str(),
            )
        },
    )))
}

pub struct TaskListProjection {
    store: EventStore,
}

impl TaskListProjection {
    pub fn new(store: EventStore) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Projection for TaskListProjection {
    fn name(&self) -> &'static str {
        "assignment-task-list"
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS task_list (
                task_id TEXT PRIMARY KEY,
                seq BIGINT NOT NULL,
                lead_unit TEXT NOT NULL,
                coordinating_units TEXT NOT NULL,
                issuer_kind TEXT NOT NULL,
                issuer_leader_id TEXT NOT NULL,
                status TEXT NOT NULL,
                deadline TEXT NOT NULL,
                task {blob} NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS task_list_seq ON task_list (seq)",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["task_list"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != "task" {
            return Ok(());
        }
        // The view is a fold of the stream up to this event, so a rebuild reproduces it.
        let history: Vec<RecordedEvent> = self
            .store
            .read_stream(&event.stream_id)
            .await?
            .into_iter()
            .filter(|e| e.stream_version <= event.stream_version)
            .collect();
        let Some(record) = task_record(&history)? else {
            return Ok(());
        };
        let coordinating: String = record
            .coordinating_units
            .iter()
            .map(|u| format!(",{u}"))
            .collect::<String>()
            + ",";
        sqlx::query(
            "INSERT INTO task_list (task_id, seq, lead_unit, coordinating_units, issuer_kind, \
             issuer_leader_id, status, deadline, task) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (task_id) DO UPDATE SET lead_unit = excluded.lead_unit, \
             coordinating_units = excluded.coordinating_units, status = excluded.status, \
             deadline = excluded.deadline, task = excluded.task",
        )
        .bind(event.stream_id.clone())
        .bind(i64::try_from(event.position).unwrap_or(i64::MAX))
        .bind(record.lead_unit.to_string())
        .bind(coordinating)
        .bind(record.issuer.kind.as_str().to_owned())
        .bind(record.issuer.leader_id.clone().unwrap_or_default())
        .bind(record.status.as_str().to_owned())
        .bind(record.deadline.map(format_date).unwrap_or_default())
        .bind(task_to_proto(&record).encode_to_vec())
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// Filters of `ListTasks`, already validated.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub unit: Option<String>,
    pub issuer_kind: Option<IssuerKind>,
    pub issuer_leader_id: Option<String>,
    pub status: Option<TaskStatus>,
    pub deadline_from: Option<chrono::NaiveDate>,
    pub deadline_to: Option<chrono::NaiveDate>,
    /// Only tasks after this list position (the page token).
    pub after: i64,
    pub limit: u32,
}

/// Reads the task list, waiting for the projection to reach the log's head first.
#[derive(Clone)]
pub struct TaskListReader {
    db: Database,
    store: EventStore,
    projector: SharedTaskList,
    applied: watch::Receiver<u64>,
}

impl TaskListReader {
    pub fn new(store: EventStore, projector: SharedTaskList) -> Self {
        Self {
            db: store.database().clone(),
            applied: projector.subscribe(),
            store,
            projector,
        }
    }

    /// Brings the task list up to the last commit in the database — this replica's or any
    /// other's — before reading it (read-your-writes behind a load balancer), giving up after
    /// a short while rather than failing the read.
    async fn catch_up(&self) {
        let Ok(head) = self.store.head_position().await else {
            return;
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while *self.applied.borrow() < head && tokio::time::Instant::now() < deadline {
            if self.projector.catch_up().await.is_err() {
                // Another replica is applying the same events; let it finish.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// One page of tasks and the position of the last one (for the next page token).
    pub async fn list(
        &self,
        filter: &TaskFilter,
    ) -> Result<(Vec<pb::Task>, Option<i64>), sqlx::Error> {
        self.catch_up().await;
        let mut sql = String::from("SELECT seq, task FROM task_list WHERE seq > $1");
        let mut binds: Vec<String> = Vec::new();
        let mut next = |sql: &mut String, clause: &str, value: String| {
            binds.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", binds.len() + 1)));
        };
        if let Some(unit) = &filter.unit {
            next(&mut sql, " AND (lead_unit = ?", unit.clone());
            next(
                &mut sql,
                " OR coordinating_units LIKE ?)",
                format!("%,{unit},%"),
            );
        }
        if let Some(kind) = filter.issuer_kind {
            next(&mut sql, " AND issuer_kind = ?", kind.as_str().to_owned());
        }
        if let Some(leader) = &filter.issuer_leader_id {
            next(&mut sql, " AND issuer_leader_id = ?", leader.clone());
        }
        if let Some(status) = filter.status {
            next(&mut sql, " AND status = ?", status.as_str().to_owned());
        }
        if let Some(from) = filter.deadline_from {
            next(
                &mut sql,
                " AND deadline <> '' AND deadline >= ?",
                format_date(from),
            );
        }
        if let Some(to) = filter.deadline_to {
            next(
                &mut sql,
                " AND deadline <> '' AND deadline <= ?",
                format_date(to),
            );
        }
        sql.push_str(&format!(
            " ORDER BY seq LIMIT {}",
            u64::from(filter.limit) + 1
        ));
        // Only fixed clause fragments are concatenated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(filter.after);
        for value in binds {
            query = query.bind(value);
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        let has_more = rows.len() > filter.limit as usize;
        let mut tasks = Vec::new();
        let mut last_seq = None;
        for row in rows.iter().take(filter.limit as usize) {
            let bytes: Vec<u8> = row.try_get("task")?;
            tasks.push(
                pb::Task::decode(bytes.as_slice()).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            );
            last_seq = Some(row.try_get::<i64, _>("seq")?);
        }
        Ok((tasks, if has_more { last_seq } else { None }))
    }
}

/// The running task-list projection, shared by its background loop and the reader.
pub type SharedTaskList = Arc<dondoc_eventsourcing::projection::LocalProjector<TaskListProjection>>;
