//! The task board: how many tasks each lead unit has in each status, fed from the assignment
//! service's events over NATS. The first read model of the reporting service; the periodic
//! report to the City People's Committee builds on the same consumer machinery.

use async_trait::async_trait;
use dondoc_assignment::domain::task::TaskEvent;
use dondoc_eventsourcing::RecordedEvent;
use dondoc_eventsourcing::projection::{Projection, ProjectionError};
use sqlx::{AnyConnection, Row};

/// One cell of the board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoardRow {
    pub unit: String,
    /// Status as stored (`assigned`, `cancelled`, …).
    pub status: String,
    pub tasks: u64,
}

/// The board as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Board {
    pub rows: Vec<BoardRow>,
    pub total_tasks: u64,
    /// Task events applied to the whole projection so far (not only the selected unit's);
    /// each event is counted exactly once, which is what the delivery tests check.
    pub events_applied: u64,
}

#[derive(Debug, Default)]
pub struct TaskBoardProjection;

#[async_trait]
impl Projection for TaskBoardProjection {
    fn name(&self) -> &'static str {
        "reporting-task-board"
    }

    fn schema(&self) -> &'static [&'static str] {
        &["CREATE TABLE IF NOT EXISTS task_board (
            task_id TEXT PRIMARY KEY,
            lead_unit TEXT NOT NULL,
            status TEXT NOT NULL,
            events_applied BIGINT NOT NULL
        )"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["task_board"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != "task" {
            return Ok(());
        }
        let task_id = event.stream_id.clone();
        match event.decode::<TaskEvent>()? {
            TaskEvent::Assigned { lead_unit, .. } => {
                sqlx::query(
                    "INSERT INTO task_board (task_id, lead_unit, status, events_applied) \
                     VALUES ($1, $2, 'assigned', 1)",
                )
                .bind(task_id)
                .bind(lead_unit.to_string())
                .execute(conn)
                .await?;
            }
            TaskEvent::Reassigned { new_lead_unit, .. } => {
                sqlx::query(
                    "UPDATE task_board SET lead_unit = $2, events_applied = events_applied + 1 \
                     WHERE task_id = $1",
                )
                .bind(task_id)
                .bind(new_lead_unit.to_string())
                .execute(conn)
                .await?;
            }
            TaskEvent::Cancelled { .. } => {
                sqlx::query(
                    "UPDATE task_board SET status = 'cancelled', \
                     events_applied = events_applied + 1 WHERE task_id = $1",
                )
                .bind(task_id)
                .execute(conn)
                .await?;
            }
            TaskEvent::HandOffRefused { .. } | TaskEvent::DeadlineExtended { .. } => {
                sqlx::query(
                    "UPDATE task_board SET events_applied = events_applied + 1 \
                     WHERE task_id = $1",
                )
                .bind(task_id)
                .execute(conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// Reads the board, optionally for one lead unit.
pub async fn read_board(
    db: &dondoc_eventsourcing::Database,
    unit: Option<&str>,
) -> Result<Board, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT lead_unit, status, COUNT(*) AS tasks FROM task_board \
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
        "SELECT CAST(COALESCE(SUM(events_applied), 0) AS BIGINT) AS applied FROM task_board",
    )
    .fetch_one(db.pool())
    .await?;
    Ok(Board {
        total_tasks: rows.iter().map(|r| r.tasks).sum(),
        events_applied: u64::try_from(applied.try_get::<i64, _>("applied")?).unwrap_or(0),
        rows,
    })
}
