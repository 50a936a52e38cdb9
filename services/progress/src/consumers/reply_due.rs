//! Coordination requests still awaiting a reply, by reply date: the service's own read model
//! (fed from its local log by a `LocalProjector`) that tells the reply-deadline evaluation
//! which tasks to look at, instead of loading every task.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use dondoc_contracts::progress::{EXECUTION_STREAM, ProgressEvent};
use dondoc_eventsourcing::RecordedEvent;
use dondoc_eventsourcing::projection::{LocalProjector, Projection, ProjectionError};
use sqlx::{AnyConnection, Row};

use crate::handlers::error::ApiError;

#[derive(Debug, Default)]
pub struct ReplyDueProjection;

impl ReplyDueProjection {
    pub const NAME: &'static str = "progress-reply-due";
}

#[async_trait]
impl Projection for ReplyDueProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS progress_reply_due_v1 (
                coordination_id TEXT PRIMARY KEY,
                task_id TEXT NOT NULL,
                reply_due TEXT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS progress_reply_due_v1_due
                ON progress_reply_due_v1 (reply_due)",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["progress_reply_due_v1"]
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
        match decoded {
            Some(ProgressEvent::CoordinationRequested(m)) => {
                sqlx::query(
                    "INSERT INTO progress_reply_due_v1 (coordination_id, task_id, reply_due) \
                     VALUES ($1, $2, $3)",
                )
                .bind(m.coordination_id)
                .bind(event.stream_id.clone())
                .bind(m.reply_due)
                .execute(&mut *conn)
                .await?;
            }
            Some(ProgressEvent::CoordinationSubmitted(pb_settled)) => {
                settle(conn, &pb_settled.coordination_id).await?;
            }
            Some(ProgressEvent::CoordinationDeemedAgreed(m)) => {
                settle(conn, &m.coordination_id).await?;
            }
            // A finished task has no request left to wait for.
            Some(ProgressEvent::ResultAccepted(_)) => {
                sqlx::query("DELETE FROM progress_reply_due_v1 WHERE task_id = $1")
                    .bind(event.stream_id.clone())
                    .execute(&mut *conn)
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

async fn settle(conn: &mut AnyConnection, coordination_id: &str) -> Result<(), ProjectionError> {
    sqlx::query("DELETE FROM progress_reply_due_v1 WHERE coordination_id = $1")
        .bind(coordination_id.to_owned())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Asks the projection which tasks have a request whose reply date is before a day.
#[derive(Clone)]
pub struct ReplyDueReader {
    projector: Arc<LocalProjector<ReplyDueProjection>>,
}

impl ReplyDueReader {
    pub fn new(projector: Arc<LocalProjector<ReplyDueProjection>>) -> Self {
        Self { projector }
    }

    /// Tasks with a request still open whose reply date is before `today`, after catching up
    /// with every commit so far (so a request made a moment ago is not missed).
    pub async fn tasks_past_due(&self, today: NaiveDate) -> Result<Vec<String>, ApiError> {
        self.projector.ensure_running()?;
        self.projector.catch_up().await?;
        let rows = sqlx::query(
            "SELECT DISTINCT task_id FROM progress_reply_due_v1 WHERE reply_due < $1 \
             ORDER BY task_id",
        )
        .bind(today.format("%Y-%m-%d").to_string())
        .fetch_all(self.projector.database().pool())
        .await
        .map_err(ApiError::from_sql)?;
        rows.iter()
            .map(|row| {
                row.try_get::<String, _>("task_id")
                    .map_err(ApiError::from_sql)
            })
            .collect()
    }
}
