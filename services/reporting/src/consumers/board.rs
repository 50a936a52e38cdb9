//! The task board: how many tasks each lead unit has in each status, fed from the assignment
//! service's events over NATS through the published contracts (never its domain types), with
//! the execution status the progress service's events bring ([`super::execution`]).

use async_trait::async_trait;
use dondoc_contracts::assignment::{AssignmentEvent, TASK_STREAM};
use dondoc_eventsourcing::RecordedEvent;
use dondoc_eventsourcing::projection::{Projection, ProjectionError, expect_row, expect_updated};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::{Board, BoardRow};

#[derive(Debug, Default)]
pub struct TaskBoardProjection;

impl TaskBoardProjection {
    pub const NAME: &'static str = "reporting-task-board";
}

fn decode(event: &RecordedEvent) -> Result<Option<AssignmentEvent>, ProjectionError> {
    AssignmentEvent::decode(event).map_err(ProjectionError::from)
}

#[async_trait]
impl Projection for TaskBoardProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    /// v4: the status on the board is the task's status everywhere — the assignment service's
    /// (assigned, cancelled) combined with the progress service's (in progress, awaiting
    /// confirmation, completed, returned for rework), kept by [`super::execution`]. v3 knew
    /// only the assignment service's statuses.
    fn version(&self) -> u32 {
        4
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS task_board_v4 (
                task_id TEXT PRIMARY KEY,
                lead_unit TEXT NOT NULL,
                assignment_status TEXT NOT NULL,
                status TEXT NOT NULL,
                events_applied BIGINT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS task_board_counts_v4 (
                lead_unit TEXT NOT NULL,
                status TEXT NOT NULL,
                tasks BIGINT NOT NULL,
                events_applied BIGINT NOT NULL,
                PRIMARY KEY (lead_unit, status)
            )",
            // Owned by the execution projection; created here too so that either consumer may
            // start first.
            super::execution::EXECUTION_TABLE_DDL,
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["task_board_v4", "task_board_counts_v4"]
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
        let event = decode(event)?;
        // Only an assignment and a cancellation combine with the execution status; they take
        // its row first, as the execution consumer does, so the two never interleave on one
        // task (see `lock_execution`). Other events leave the status as it is.
        let execution = match &event {
            Some(AssignmentEvent::TaskAssigned(_) | AssignmentEvent::TaskCancelled(_)) => {
                Some(lock_execution(conn, &task_id).await?)
            }
            _ => None,
        };
        if let Some(AssignmentEvent::TaskAssigned(assigned)) = event {
            let execution = execution.unwrap_or_default();
            let status = effective_status("assigned", &execution);
            // A plain INSERT: the same task assigned twice is a broken stream, and the key
            // makes it fail (and be dead-lettered) instead of overwriting the first.
            sqlx::query(
                "INSERT INTO task_board_v4 \
                 (task_id, lead_unit, assignment_status, status, events_applied) \
                 VALUES ($1, $2, 'assigned', $3, 1)",
            )
            .bind(task_id)
            .bind(assigned.lead_unit.clone())
            .bind(status.to_owned())
            .execute(&mut *conn)
            .await?;
            return add_to_counts(conn, &assigned.lead_unit, status, 1, 1).await;
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT lead_unit, assignment_status, status, events_applied FROM task_board_v4 \
             WHERE task_id = $1{}",
            row_lock(conn)
        )))
        .bind(task_id.clone())
        .fetch_optional(&mut *conn)
        .await?;
        let row = expect_row(row, || format!("task {task_id} on the board"))?;
        let lead: String = row.try_get("lead_unit")?;
        let assignment_status: String = row.try_get("assignment_status")?;
        let status: String = row.try_get("status")?;
        let applied: i64 = row.try_get("events_applied")?;
        let (new_lead, new_assignment_status) = match event {
            Some(AssignmentEvent::TaskReassigned(reassigned)) => {
                (reassigned.new_lead_unit, assignment_status.clone())
            }
            Some(AssignmentEvent::TaskCancelled(_)) => (lead.clone(), "cancelled".to_owned()),
            // Every other task event (refused hand-offs, extensions, and types this build
            // does not know yet) only counts.
            _ => (lead.clone(), assignment_status.clone()),
        };
        let new_status = match &execution {
            Some(execution) => effective_status(&new_assignment_status, execution),
            None => status.as_str(),
        };
        let updated = sqlx::query(
            "UPDATE task_board_v4 SET lead_unit = $2, assignment_status = $3, status = $4, \
             events_applied = events_applied + 1 WHERE task_id = $1",
        )
        .bind(task_id.clone())
        .bind(new_lead.clone())
        .bind(new_assignment_status.clone())
        .bind(new_status.to_owned())
        .execute(&mut *conn)
        .await?;
        expect_updated(updated, || format!("task {task_id} on the board"))?;
        if (new_lead.as_str(), new_status) == (lead.as_str(), status.as_str()) {
            return add_to_counts(conn, &lead, &status, 0, 1).await;
        }
        // The task moves to another row of the board, with every event it has counted.
        add_to_counts(conn, &lead, &status, -1, -applied).await?;
        add_to_counts(conn, &new_lead, new_status, 1, applied + 1).await
    }
}

/// The status a task shows: completion (from the progress service) stands even if the task is
/// cancelled afterwards; otherwise a cancellation; otherwise how far its execution has got;
/// otherwise assigned.
pub fn effective_status<'a>(assignment_status: &'a str, execution_status: &'a str) -> &'a str {
    if execution_status == "completed" {
        "completed"
    } else if assignment_status == "cancelled" {
        "cancelled"
    } else if !execution_status.is_empty() {
        execution_status
    } else {
        "assigned"
    }
}

/// `FOR UPDATE` on PostgreSQL; nothing on SQLite, which runs one writing transaction at a
/// time (and has no such clause).
pub(crate) fn row_lock(conn: &AnyConnection) -> &'static str {
    if conn.backend_name() == "PostgreSQL" {
        " FOR UPDATE"
    } else {
        ""
    }
}

/// The task's execution status as the progress consumer last recorded it ('' before any),
/// with the row locked for the rest of the transaction.
///
/// Two consumers (assignment events, progress events) change one task's place on the board,
/// each in its own transaction. On PostgreSQL they would race — each reading the other's row
/// before the other commits — so both take this row first: the insert waits for a concurrent
/// insert of the same key to commit, and `FOR UPDATE` then holds it. SQLite runs one writing
/// transaction at a time, so there the row needs no lock (and the syntax does not exist).
pub async fn lock_execution(
    conn: &mut AnyConnection,
    task_id: &str,
) -> Result<String, ProjectionError> {
    sqlx::query(
        "INSERT INTO task_execution_v1 (task_id, status) VALUES ($1, '') \
         ON CONFLICT (task_id) DO NOTHING",
    )
    .bind(task_id.to_owned())
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT status FROM task_execution_v1 WHERE task_id = $1{}",
        row_lock(conn)
    )))
    .bind(task_id.to_owned())
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("status")?)
}

/// Adds to the counts of one row of the board, creating it at its first task.
pub(crate) async fn add_to_counts(
    conn: &mut AnyConnection,
    lead_unit: &str,
    status: &str,
    tasks: i64,
    events: i64,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO task_board_counts_v4 (lead_unit, status, tasks, events_applied) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (lead_unit, status) DO UPDATE SET \
         tasks = task_board_counts_v4.tasks + excluded.tasks, \
         events_applied = task_board_counts_v4.events_applied + excluded.events_applied",
    )
    .bind(lead_unit.to_owned())
    .bind(status.to_owned())
    .bind(tasks)
    .bind(events)
    .execute(&mut *conn)
    .await?;
    Ok(())
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
        "SELECT lead_unit, status, tasks, events_applied AS applied \
         FROM task_board_counts_v4 ORDER BY lead_unit, status",
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
        if tasks == 0 {
            // A row whose tasks have all moved on keeps only their history of events.
            continue;
        }
        board.total_tasks += tasks;
        board.rows.push(BoardRow {
            unit: lead_unit,
            status: row.try_get("status")?,
            tasks,
        });
    }
    Ok(board)
}
