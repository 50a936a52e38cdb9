//! How far each task's execution has got, fed from the progress service's events over NATS
//! through the published contracts (never its domain types), so that `GetTask` and
//! `ListTasks` show the status the task has everywhere: in progress once the lead unit
//! acknowledged it, awaiting confirmation once it submitted its result, returned for rework,
//! completed.

use async_trait::async_trait;
use dondoc_contracts::progress::{EXECUTION_STREAM, ProgressEvent};
use dondoc_eventsourcing::projection::{Projection, ProjectionError};
use dondoc_eventsourcing::{Database, RecordedEvent};
use sqlx::{AnyConnection, Row};

use crate::domain::TaskStatus;
use crate::handlers::error::ApiError;

/// The table of this read model; `task_list` joins it.
pub const TABLE: &str = "execution_status_v1";

#[derive(Debug, Default)]
pub struct ExecutionStatusProjection;

impl ExecutionStatusProjection {
    pub const NAME: &'static str = "assignment-execution-status";
}

/// The execution status an event brings, if it changes it.
fn status_after(event: &ProgressEvent) -> Option<TaskStatus> {
    match event {
        ProgressEvent::Acknowledged(_) => Some(TaskStatus::InProgress),
        ProgressEvent::ResultSubmitted(_) => Some(TaskStatus::AwaitingConfirmation),
        ProgressEvent::ResultReturned(_) => Some(TaskStatus::ReturnedForRework),
        ProgressEvent::ResultAccepted(_) => Some(TaskStatus::Completed),
        _ => None,
    }
}

/// The status a task shows, from its own status (assigned, cancelled) and its execution's:
/// completion stands even over a later cancellation; a cancellation over work in progress.
pub fn effective_status(own: TaskStatus, execution: Option<TaskStatus>) -> TaskStatus {
    match (own, execution) {
        (_, Some(TaskStatus::Completed)) => TaskStatus::Completed,
        (TaskStatus::Cancelled, _) => TaskStatus::Cancelled,
        (_, Some(execution)) => execution,
        (own, None) => own,
    }
}

/// The same rule in SQL, over `task_list_v3 t LEFT JOIN execution_status_v1 e`.
pub const EFFECTIVE_STATUS_SQL: &str = "(CASE WHEN e.status = 'completed' THEN 'completed' \
     WHEN t.status = 'cancelled' THEN 'cancelled' \
     WHEN e.status IS NOT NULL THEN e.status ELSE t.status END)";

pub fn parse_status(raw: &str) -> Option<TaskStatus> {
    [
        TaskStatus::Assigned,
        TaskStatus::InProgress,
        TaskStatus::AwaitingConfirmation,
        TaskStatus::Completed,
        TaskStatus::ReturnedForRework,
        TaskStatus::Cancelled,
    ]
    .into_iter()
    .find(|s| s.as_str() == raw)
}

#[async_trait]
impl Projection for ExecutionStatusProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &["CREATE TABLE IF NOT EXISTS execution_status_v1 (
            task_id TEXT PRIMARY KEY,
            status TEXT NOT NULL
        )"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[TABLE]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != EXECUTION_STREAM {
            return Ok(());
        }
        let decoded = ProgressEvent::decode(event).map_err(ProjectionError::from)?;
        let Some(status) = decoded.as_ref().and_then(status_after) else {
            return Ok(());
        };
        // Events of one task arrive in order (the consumer parks any that come early), so the
        // latest one says where the execution stands.
        sqlx::query(
            "INSERT INTO execution_status_v1 (task_id, status) VALUES ($1, $2) \
             ON CONFLICT (task_id) DO UPDATE SET status = excluded.status",
        )
        .bind(event.stream_id.clone())
        .bind(status.as_str().to_owned())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// Reads one task's execution status.
#[derive(Clone, Debug)]
pub struct ExecutionStatusReader {
    db: Database,
}

impl ExecutionStatusReader {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub async fn status_of(&self, task_id: &str) -> Result<Option<TaskStatus>, ApiError> {
        let row = sqlx::query("SELECT status FROM execution_status_v1 WHERE task_id = $1")
            .bind(task_id.to_owned())
            .fetch_optional(self.db.pool())
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        Ok(row
            .and_then(|row| row.try_get::<String, _>("status").ok())
            .and_then(|s| parse_status(&s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_stands_over_cancellation_and_cancellation_over_work() {
        use TaskStatus::*;
        assert_eq!(effective_status(Assigned, None), Assigned);
        assert_eq!(effective_status(Assigned, Some(InProgress)), InProgress);
        assert_eq!(effective_status(Cancelled, Some(InProgress)), Cancelled);
        assert_eq!(effective_status(Cancelled, Some(Completed)), Completed);
    }
}
