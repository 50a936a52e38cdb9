//! The task board: how many tasks each lead unit has in each status, fed from the assignment
//! service's events over NATS through the published contracts (never its domain types).

use async_trait::async_trait;
use dondoc_contracts::assignment::{AssignmentEvent, TASK_STREAM};
use dondoc_eventsourcing::RecordedEvent;
use dondoc_eventsourcing::projection::{Projection, ProjectionError, expect_updated};
use sqlx::{AnyConnection, Row};

use crate::domain::{Board, BoardRow};

#[derive(Debug, Default)]
pub struct TaskBoardProjection;

impl TaskBoardProjection {
    pub const NAME: &'static str = "reporting-task-board";
}

fn decode(event: &RecordedEvent) -> Result<Option<AssignmentEvent>, ProjectionError> {
    AssignmentEvent::decode(event).map_err(|e| ProjectionError::Other(e.to_string()))
}

#[async_trait]
impl Projection for TaskBoardProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    /// v2: fed through the published contracts, in a table of its own.
    fn version(&self) -> u32 {
        2
    }

    fn schema(&self) -> &'static [&'static str] {
        &["CREATE TABLE IF NOT EXISTS task_board_v2 (
            task_id TEXT PRIMARY KEY,
            lead_unit TEXT NOT NULL,
            status TEXT NOT NULL,
            events_applied BIGINT NOT NULL
        )"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["task_board_v2"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != TASK_STREAM {
            return Ok(());
        }
        let task_id = event.stream_id.clone();
        let missing = || format!("task {task_id} on the board");
        let updated = match decode(event)? {
            Some(AssignmentEvent::TaskAssigned(assigned)) => {
                // A plain INSERT: the same task assigned twice is a broken stream, and the key
                // makes it fail (and be dead-lettered) instead of overwriting the first.
                sqlx::query(
                    "INSERT INTO task_board_v2 (task_id, lead_unit, status, events_applied) \
                     VALUES ($1, $2, 'assigned', 1)",
                )
                .bind(task_id.clone())
                .bind(assigned.lead_unit)
                .execute(conn)
                .await?;
                return Ok(());
            }
            Some(AssignmentEvent::TaskReassigned(reassigned)) => {
                sqlx::query(
                    "UPDATE task_board_v2 SET lead_unit = $2, \
                     events_applied = events_applied + 1 WHERE task_id = $1",
                )
                .bind(task_id.clone())
                .bind(reassigned.new_lead_unit)
                .execute(conn)
                .await?
            }
            Some(AssignmentEvent::TaskCancelled(_)) => {
                sqlx::query(
                    "UPDATE task_board_v2 SET status = 'cancelled', \
                     events_applied = events_applied + 1 WHERE task_id = $1",
                )
                .bind(task_id.clone())
                .execute(conn)
                .await?
            }
            // Every other task event (refused hand-offs, extensions, and types this build
            // does not know yet) only counts.
            _ => {
                sqlx::query(
                    "UPDATE task_board_v2 SET events_applied = events_applied + 1 \
                     WHERE task_id = $1",
                )
                .bind(task_id.clone())
                .execute(conn)
                .await?
            }
        };
        expect_updated(updated, missing)
    }
}

/// Reads the board, optionally for one lead unit.
pub async fn read_board(
    db: &dondoc_eventsourcing::Database,
    unit: Option<&str>,
) -> Result<Board, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT lead_unit, status, COUNT(*) AS tasks FROM task_board_v2 \
         WHERE ($1 = '' OR lead_unit = $1) GROUP BY lead_unit, status ORDER BY lead_unit, status",
    )
    .bind(unit.unwrap_or_default().to_owned())
    .fetch_all(db.pool())
    .await?;
    let rows = rows
        .iter()
        .map(|row| {
            Ok(BoardRow {
                unit: row.try_get("lead_unit")?,
                status: row.try_get("status")?,
                tasks: u64::try_from(row.try_get::<i64, _>("tasks")?).unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // Projection-wide whatever the unit filter: it says how far the projection has got.
    let applied = sqlx::query(
        "SELECT CAST(COALESCE(SUM(events_applied), 0) AS BIGINT) AS applied FROM task_board_v2",
    )
    .fetch_one(db.pool())
    .await?;
    Ok(Board {
        total_tasks: rows.iter().map(|r| r.tasks).sum(),
        events_applied: u64::try_from(applied.try_get::<i64, _>("applied")?).unwrap_or(0),
        rows,
    })
}
