//! Which registered documents belong to which task's dossier: the service's own read model,
//! fed from its log by a `LocalProjector`, so a dossier lists its documents without reading
//! every register.

use std::sync::Arc;

use async_trait::async_trait;
use dondoc_contracts::progress::{ProgressEvent, REGISTER_STREAM};
use dondoc_eventsourcing::RecordedEvent;
use dondoc_eventsourcing::projection::{LocalProjector, Projection, ProjectionError};
use sqlx::{AnyConnection, Row};

use crate::handlers::error::ApiError;

#[derive(Debug, Default)]
pub struct TaskDocumentsProjection;

impl TaskDocumentsProjection {
    pub const NAME: &'static str = "progress-task-documents";
}

#[async_trait]
impl Projection for TaskDocumentsProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS progress_task_documents_v1 (
                document_id TEXT PRIMARY KEY,
                task_id TEXT NOT NULL,
                position BIGINT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS progress_task_documents_v1_task
                ON progress_task_documents_v1 (task_id, position)",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["progress_task_documents_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != REGISTER_STREAM {
            return Ok(());
        }
        let decoded = ProgressEvent::decode(event).map_err(ProjectionError::from)?;
        if let Some(ProgressEvent::DocumentRegistered(m)) = decoded
            && !m.task_id.is_empty()
        {
            sqlx::query(
                "INSERT INTO progress_task_documents_v1 (document_id, task_id, position) \
                 VALUES ($1, $2, $3)",
            )
            .bind(m.document_id)
            .bind(m.task_id)
            .bind(i64::try_from(event.position).unwrap_or(i64::MAX))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// The documents filed to a task, in the order they were registered.
#[derive(Clone)]
pub struct TaskDocumentsReader {
    projector: Arc<LocalProjector<TaskDocumentsProjection>>,
}

impl TaskDocumentsReader {
    pub fn new(projector: Arc<LocalProjector<TaskDocumentsProjection>>) -> Self {
        Self { projector }
    }

    pub async fn of_task(&self, task_id: &str) -> Result<Vec<String>, ApiError> {
        self.projector.ensure_running()?;
        self.projector.catch_up().await?;
        let rows = sqlx::query(
            "SELECT document_id FROM progress_task_documents_v1 WHERE task_id = $1 \
             ORDER BY position",
        )
        .bind(task_id.to_owned())
        .fetch_all(self.projector.database().pool())
        .await
        .map_err(ApiError::from_sql)?;
        rows.iter()
            .map(|row| {
                row.try_get::<String, _>("document_id")
                    .map_err(ApiError::from_sql)
            })
            .collect()
    }
}
