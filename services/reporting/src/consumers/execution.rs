//! How far each task's execution has got, fed from the progress service's events over NATS
//! through the published contracts: acknowledged → in progress, result submitted → awaiting
//! confirmation, returned → returned for rework, accepted → completed. Each change moves the
//! task on the board ([`super::board`]) when the board already has it; a task whose progress
//! arrives before its assignment takes its status from here when the assignment arrives.

use async_trait::async_trait;
use dondoc_contracts::progress::{EXECUTION_STREAM, ProgressEvent};
use dondoc_eventsourcing::RecordedEvent;
use dondoc_eventsourcing::projection::{Projection, ProjectionError};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::board::{add_to_counts, effective_status, lock_execution, row_lock};

/// The table of this projection (also created by the board, which reads it).
pub const EXECUTION_TABLE_DDL: &str = "CREATE TABLE IF NOT EXISTS task_execution_v1 (
    task_id TEXT PRIMARY KEY,
    status TEXT NOT NULL
)";

#[derive(Debug, Default)]
pub struct TaskExecutionProjection;

impl TaskExecutionProjection {
    pub const NAME: &'static str = "reporting-task-execution";
}

/// The execution status an event brings, if it changes it.
pub fn status_after(event: &ProgressEvent) -> Option<&'static str> {
    match event {
        ProgressEvent::Acknowledged(_) => Some("in_progress"),
        ProgressEvent::ResultSubmitted(_) => Some("awaiting_confirmation"),
        ProgressEvent::ResultReturned(_) => Some("returned_for_rework"),
        ProgressEvent::ResultAccepted(_) => Some("completed"),
        _ => None,
    }
}

#[async_trait]
impl Projection for TaskExecutionProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[EXECUTION_TABLE_DDL]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["task_execution_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != EXECUTION_STREAM {
            return Ok(());
        }
        let task_id = event.stream_id.clone();
        let decoded = ProgressEvent::decode(event).map_err(ProjectionError::from)?;
        let Some(new_execution) = decoded.as_ref().and_then(status_after) else {
            return Ok(());
        };
        lock_execution(conn, &task_id).await?;
        sqlx::query("UPDATE task_execution_v1 SET status = $2 WHERE task_id = $1")
            .bind(task_id.clone())
            .bind(new_execution.to_owned())
            .execute(&mut *conn)
            .await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT lead_unit, assignment_status, status, events_applied FROM task_board_v4 \
             WHERE task_id = $1{}",
            row_lock(conn)
        )))
        .bind(task_id.clone())
        .fetch_optional(&mut *conn)
        .await?;
        // Not on the board yet: the assignment will take this status when it arrives.
        let Some(row) = row else {
            return Ok(());
        };
        let lead: String = row.try_get("lead_unit")?;
        let assignment_status: String = row.try_get("assignment_status")?;
        let status: String = row.try_get("status")?;
        let applied: i64 = row.try_get("events_applied")?;
        let new_status = effective_status(&assignment_status, new_execution);
        if new_status == status {
            return Ok(());
        }
        sqlx::query("UPDATE task_board_v4 SET status = $2 WHERE task_id = $1")
            .bind(task_id)
            .bind(new_status.to_owned())
            .execute(&mut *conn)
            .await?;
        add_to_counts(conn, &lead, &status, -1, -applied).await?;
        add_to_counts(conn, &lead, new_status, 1, applied).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumers::board::{TaskBoardProjection, read_board};
    use dondoc_contracts::progress::RESULT_ACCEPTED;
    use dondoc_eventsourcing::testing::TestDatabase;
    use dondoc_eventsourcing::{Actor, RecordedEvent};
    use dondoc_proto::v1 as pb;
    use prost::Message;

    fn event(
        stream_type: &str,
        task_id: &str,
        event_type: &str,
        payload: Vec<u8>,
    ) -> RecordedEvent {
        RecordedEvent {
            position: 1,
            event_id: uuid::Uuid::now_v7(),
            stream_type: stream_type.to_owned(),
            stream_id: task_id.to_owned(),
            stream_version: 1,
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

    #[tokio::test]
    async fn a_completion_that_arrives_before_its_assignment_is_on_the_board_when_the_task_is() {
        let test = TestDatabase::sqlite().await;
        test.db
            .run_schema(TaskBoardProjection.schema())
            .await
            .expect("board schema");
        test.db
            .run_schema(TaskExecutionProjection.schema())
            .await
            .expect("execution schema");
        let mut conn = test.db.pool().acquire().await.expect("connection");
        let accepted = pb::ResultAccepted {
            task_id: "t-1".into(),
            on_time: true,
            ..Default::default()
        };
        let assigned = pb::TaskAssigned {
            task_id: "t-1".into(),
            lead_unit: "SXD".into(),
            assigned_on: "2026-11-20".into(),
            ..Default::default()
        };

        TaskExecutionProjection
            .apply(
                &mut conn,
                &event(
                    "execution",
                    "t-1",
                    RESULT_ACCEPTED.name,
                    accepted.encode_to_vec(),
                ),
            )
            .await
            .expect("the completion, early");
        let mut assignment = event(
            "task",
            "t-1",
            dondoc_contracts::assignment::TASK_ASSIGNED.name,
            assigned.encode_to_vec(),
        );
        assignment.schema_version = dondoc_contracts::assignment::TASK_ASSIGNED.version;
        TaskBoardProjection
            .apply(&mut conn, &assignment)
            .await
            .expect("the assignment, late");
        drop(conn);

        let board = read_board(&test.db, None).await.expect("board");
        assert_eq!(board.total_tasks, 1);
        assert_eq!(board.rows[0].status, "completed");
    }

    #[test]
    fn completion_stands_over_a_later_cancellation_and_cancellation_over_work_in_progress() {
        assert_eq!(effective_status("assigned", ""), "assigned");
        assert_eq!(effective_status("assigned", "in_progress"), "in_progress");
        assert_eq!(effective_status("cancelled", "in_progress"), "cancelled");
        assert_eq!(effective_status("cancelled", "completed"), "completed");
    }
}
