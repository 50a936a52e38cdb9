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
///
/// One statement reads the counts and the projection-wide number of events applied, so the two
/// always come from the same snapshot of the table (two statements could straddle an event
/// being applied and tell of seven events with the seventh not yet in the counts).
pub async fn read_board(
    db: &dondoc_eventsourcing::Database,
    unit: Option<&str>,
) -> Result<Board, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT lead_unit, status, COUNT(*) AS tasks, \
         CAST(SUM(events_applied) AS BIGINT) AS applied \
         FROM task_board_v2 GROUP BY lead_unit, status ORDER BY lead_unit, status",
    )
    .fetch_all(db.pool())
    .await?;
    let mut board = Board::default();
    for row in &rows {
        let lead_unit: String = row.try_get("lead_unit")?;
        // Projection-wide whatever the unit filter: it says how far the projection has got.
        board.events_applied += u64::try_from(row.try_get::<i64, _>("applied")?).unwrap_or(0);
        if unit.is_some_and(|unit| unit != lead_unit) {
            continue;
        }
        let tasks = u64::try_from(row.try_get::<i64, _>("tasks")?).unwrap_or(0);
        board.total_tasks += tasks;
        board.rows.push(BoardRow {
            unit: lead_unit,
            status: row.try_get("status")?,
            tasks,
        });
    }
    Ok(board)
}
