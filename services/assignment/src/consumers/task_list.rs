//! The task list: the assignment service's own read model behind `ListTasks`.
//!
//! It is fed from the service's local event log by a `LocalProjector`. Each row holds the full
//! task view (who did what when) plus the columns the filters need, and each event is folded
//! into the row it finds — never by re-reading the task's stream, which would make a rebuild
//! quadratic and hold the log's write lock while it reads. `ListTasks` waits (briefly) until
//! the projection has caught up with the last commit, so a client that assigned a task sees it
//! in the list right away.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dondoc_eventsourcing::projection::{LocalProjector, Projection, ProjectionError, expect_row};
use dondoc_eventsourcing::{Database, EventStore, RecordedEvent};
use sqlx::{AnyConnection, Row};
use tokio::sync::watch;

use crate::consumers::execution_status::{EFFECTIVE_STATUS_SQL, effective_status, parse_status};
use crate::domain::values::format_date;
use crate::domain::{AssignerKind, DeadlineClass, OriginKind, TaskEvent, TaskRecord, TaskStatus};
use crate::handlers::error::ApiError;

/// The table of this version of the read model; a new version gets a table of its own.
const TABLE: &str = "task_list_v3";

pub struct TaskListProjection;

#[async_trait]
impl Projection for TaskListProjection {
    fn name(&self) -> &'static str {
        "assignment-task-list"
    }

    /// v3: origin and assigner told apart (v2 kept one issuer).
    fn version(&self) -> u32 {
        3
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS task_list_v3 (
                task_id TEXT PRIMARY KEY,
                seq BIGINT NOT NULL,
                lead_unit TEXT NOT NULL,
                coordinating_units TEXT NOT NULL,
                origin_kind TEXT NOT NULL,
                assigner_kind TEXT NOT NULL,
                assigner_leader_id TEXT NOT NULL,
                status TEXT NOT NULL,
                deadline TEXT NOT NULL,
                task TEXT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS task_list_v3_seq ON task_list_v3 (seq)",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[TABLE]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != dondoc_contracts::assignment::TASK_STREAM {
            return Ok(());
        }
        let task_event: TaskEvent = event.decode()?;
        let (version, at, by) = (
            event.stream_version,
            event.occurred_at,
            event.actor.subject.as_str(),
        );
        let record = if let TaskEvent::Assigned { .. } = task_event {
            TaskRecord::assigned(&task_event, version, at, by).ok_or_else(|| {
                ProjectionError::Other("an assignment did not start a task".into())
            })?
        } else {
            let row = sqlx::query("SELECT task FROM task_list_v3 WHERE task_id = $1")
                .bind(event.stream_id.clone())
                .fetch_optional(&mut *conn)
                .await?;
            let row = expect_row(row, || format!("task {} in {TABLE}", event.stream_id))?;
            let mut record = read_record(&row)?;
            record.apply(&task_event, version, at, by);
            record
        };
        let task = serde_json::to_string(&record)
            .map_err(|e| ProjectionError::Other(format!("cannot store task view: {e}")))?;
        let coordinating: String = record
            .coordinating_units
            .iter()
            .map(|u| format!(",{u}"))
            .collect::<String>()
            + ",";
        let values = (
            record.lead_unit.to_string(),
            coordinating,
            record.status.as_str().to_owned(),
            record.deadline.map(format_date).unwrap_or_default(),
        );
        if let TaskEvent::Assigned { .. } = task_event {
            // A plain INSERT: a second assignment of one task is a broken stream, and the unique
            // key makes it fail (and be dead-lettered) instead of overwriting the first.
            sqlx::query(
                "INSERT INTO task_list_v3 (task_id, seq, lead_unit, coordinating_units, \
                 origin_kind, assigner_kind, assigner_leader_id, status, deadline, task) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(event.stream_id.clone())
            .bind(dondoc_eventsourcing::store::to_i64(event.position))
            .bind(values.0)
            .bind(values.1)
            .bind(record.origin.kind.as_str().to_owned())
            .bind(record.assignment.assigner.kind.as_str().to_owned())
            .bind(
                record
                    .assignment
                    .assigner
                    .leader_id
                    .clone()
                    .unwrap_or_default(),
            )
            .bind(values.2)
            .bind(values.3)
            .bind(task)
            .execute(&mut *conn)
            .await?;
        } else {
            sqlx::query(
                "UPDATE task_list_v3 SET lead_unit = $2, coordinating_units = $3, status = $4, \
                 deadline = $5, task = $6 WHERE task_id = $1",
            )
            .bind(event.stream_id.clone())
            .bind(values.0)
            .bind(values.1)
            .bind(values.2)
            .bind(values.3)
            .bind(task)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

fn read_record(row: &sqlx::any::AnyRow) -> Result<TaskRecord, ProjectionError> {
    let json: String = row.try_get("task")?;
    serde_json::from_str(&json)
        .map_err(|e| ProjectionError::Other(format!("stored task view unreadable: {e}")))
}

/// Filters of `ListTasks`, already validated.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub unit: Option<String>,
    pub origin_kind: Option<OriginKind>,
    pub assigner_kind: Option<AssignerKind>,
    pub assigner_leader_id: Option<String>,
    pub status: Option<TaskStatus>,
    /// Judged by the handler at the instant asked (it depends on each task's history).
    pub deadline_class: Option<DeadlineClass>,
    pub deadline_from: Option<chrono::NaiveDate>,
    pub deadline_to: Option<chrono::NaiveDate>,
    /// Only tasks after this list position (the page token).
    pub after: i64,
    pub limit: u32,
}

/// One page of the task list.
#[derive(Clone, Debug, Default)]
pub struct TaskPage {
    pub tasks: Vec<TaskRecord>,
    /// The list position to continue after, when there is more.
    pub next_after: Option<i64>,
}

/// The running task-list projection, shared by its background loop and the reader.
pub type SharedTaskList = Arc<LocalProjector<TaskListProjection>>;

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
            db: projector.database().clone(),
            applied: projector.subscribe(),
            store,
            projector,
        }
    }

    /// Brings the task list up to the last commit in the database — this replica's or any
    /// other's — before reading it (read-your-writes behind a load balancer), giving up after
    /// a short while rather than failing the read.
    async fn catch_up(&self) -> Result<(), ApiError> {
        self.projector.ensure_running().map_err(ApiError::from)?;
        let Ok(head) = self.store.head_position().await else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while *self.applied.borrow() < head && tokio::time::Instant::now() < deadline {
            if self.projector.catch_up().await.is_err() {
                // Another replica is applying the same events; let it finish.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }

    /// One page of tasks, in the order they were assigned: those the SQL filters select and
    /// `keep` accepts (a judgement that needs the task's whole view, such as its deadline class
    /// at an instant).
    pub async fn list(
        &self,
        filter: &TaskFilter,
        keep: impl Fn(&TaskRecord) -> bool,
    ) -> Result<TaskPage, ApiError> {
        self.catch_up().await?;
        // The execution status (from the progress service) is joined in, so the status shown
        // and filtered on is the task's status everywhere.
        let mut sql = String::from(
            "SELECT t.seq, t.task, e.status AS execution FROM task_list_v3 t \
             LEFT JOIN execution_status_v1 e ON e.task_id = t.task_id WHERE t.seq > $1",
        );
        let mut binds: Vec<String> = Vec::new();
        let mut next = |sql: &mut String, clause: &str, value: String| {
            binds.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", binds.len() + 1)));
        };
        if let Some(unit) = &filter.unit {
            next(&mut sql, " AND (t.lead_unit = ?", unit.clone());
            next(
                &mut sql,
                " OR t.coordinating_units LIKE ?)",
                format!("%,{unit},%"),
            );
        }
        if let Some(kind) = filter.origin_kind {
            next(&mut sql, " AND t.origin_kind = ?", kind.as_str().to_owned());
        }
        if let Some(kind) = filter.assigner_kind {
            next(
                &mut sql,
                " AND t.assigner_kind = ?",
                kind.as_str().to_owned(),
            );
        }
        if let Some(leader) = &filter.assigner_leader_id {
            next(&mut sql, " AND t.assigner_leader_id = ?", leader.clone());
        }
        if let Some(status) = filter.status {
            next(
                &mut sql,
                &format!(" AND {EFFECTIVE_STATUS_SQL} = ?"),
                status.as_str().to_owned(),
            );
        }
        if let Some(from) = filter.deadline_from {
            next(
                &mut sql,
                " AND t.deadline <> '' AND t.deadline >= ?",
                format_date(from),
            );
        }
        if let Some(to) = filter.deadline_to {
            next(
                &mut sql,
                " AND t.deadline <> '' AND t.deadline <= ?",
                format_date(to),
            );
        }
        // Rows are read in chunks and judged one by one until the page (and one more, to know
        // whether there is a next page) is full. When SQL alone decides (no deadline class),
        // exactly that many rows are read: each costs a JSON decode.
        let chunk: i64 = if filter.deadline_class.is_some() {
            200
        } else {
            i64::from(filter.limit) + 1
        };
        sql.push_str(&format!(" ORDER BY t.seq LIMIT {chunk}"));
        let limit = filter.limit as usize;
        let mut page = TaskPage::default();
        let mut after = filter.after;
        let mut last_kept = None;
        loop {
            // Only fixed clause fragments are concatenated; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(after);
            for value in &binds {
                query = query.bind(value.clone());
            }
            let rows = query
                .fetch_all(self.db.pool())
                .await
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
            let exhausted = (rows.len() as i64) < chunk;
            for row in &rows {
                let seq = row
                    .try_get::<i64, _>("seq")
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                after = seq;
                let mut record = read_record(row).map_err(|e| ApiError::Internal(e.to_string()))?;
                let execution = row
                    .try_get::<Option<String>, _>("execution")
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                record.status =
                    effective_status(record.status, execution.as_deref().and_then(parse_status));
                if !keep(&record) {
                    continue;
                }
                if page.tasks.len() == limit {
                    page.next_after = last_kept;
                    return Ok(page);
                }
                page.tasks.push(record);
                last_kept = Some(seq);
            }
            if exhausted {
                return Ok(page);
            }
        }
    }
}
