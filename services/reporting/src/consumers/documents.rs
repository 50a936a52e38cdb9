//! Documents and work dossiers for the report's records section: every document the
//! progress service enters in its incoming or outgoing register (with the day it was
//! registered and its tên loại), and every dossier closed or handed to the archive. Counted
//! by business day, so a closed period's figures never move.

use async_trait::async_trait;
use chrono::NaiveDate;
use dondoc_contracts::progress::{DOSSIER_STREAM, ProgressEvent, REGISTER_STREAM};
use dondoc_eventsourcing::clock::business_date;
use dondoc_eventsourcing::projection::{Projection, ProjectionError};
use dondoc_eventsourcing::{Database, RecordedEvent};
use sqlx::{AnyConnection, Row};

use crate::domain::report::{DocumentFact, DossierFact};

fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

/// The registers and dossiers of the progress service.
#[derive(Debug, Default)]
pub struct DocumentsProjection;

impl DocumentsProjection {
    pub const NAME: &'static str = "reporting-documents";
}

#[async_trait]
impl Projection for DocumentsProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS report_documents_v1 (
                document_id TEXT PRIMARY KEY,
                register TEXT NOT NULL,
                document_type TEXT NOT NULL,
                registered_on TEXT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS report_dossiers_v1 (
                task_id TEXT PRIMARY KEY,
                closed_on TEXT NOT NULL,
                archived_on TEXT NOT NULL
            )",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["report_documents_v1", "report_dossiers_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if ![REGISTER_STREAM, DOSSIER_STREAM].contains(&event.stream_type.as_str()) {
            return Ok(());
        }
        let day = |raw: &str| {
            date(raw)
                .unwrap_or_else(|| business_date(event.occurred_at))
                .to_string()
        };
        match ProgressEvent::decode(event).map_err(ProjectionError::from)? {
            Some(ProgressEvent::DocumentRegistered(d)) => {
                sqlx::query(
                    "INSERT INTO report_documents_v1 (document_id, register, document_type, \
                     registered_on) VALUES ($1, $2, $3, $4)",
                )
                .bind(d.document_id)
                .bind(d.register)
                .bind(d.document_type)
                .bind(day(&d.registered_on))
                .execute(&mut *conn)
                .await?;
            }
            Some(ProgressEvent::DossierClosed(d)) => {
                sqlx::query(
                    "INSERT INTO report_dossiers_v1 (task_id, closed_on, archived_on) \
                     VALUES ($1, $2, '')",
                )
                .bind(d.task_id)
                .bind(day(&d.closed_on))
                .execute(&mut *conn)
                .await?;
            }
            Some(ProgressEvent::DossierArchived(d)) => {
                sqlx::query("UPDATE report_dossiers_v1 SET archived_on = $1 WHERE task_id = $2")
                    .bind(day(&d.archived_on))
                    .bind(d.task_id)
                    .execute(&mut *conn)
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Every registered document and every closed dossier, as the report counts them.
pub async fn read_documents(
    db: &Database,
) -> Result<(Vec<DocumentFact>, Vec<DossierFact>), sqlx::Error> {
    let bad = || sqlx::Error::Protocol("a stored document date is unreadable".into());
    let mut documents = Vec::new();
    for r in sqlx::query("SELECT register, document_type, registered_on FROM report_documents_v1")
        .fetch_all(db.pool())
        .await?
    {
        documents.push(DocumentFact {
            register: r.try_get("register")?,
            document_type: r.try_get("document_type")?,
            registered_on: date(&r.try_get::<String, _>("registered_on")?).ok_or_else(bad)?,
        });
    }
    let mut dossiers = Vec::new();
    for r in sqlx::query("SELECT task_id, closed_on, archived_on FROM report_dossiers_v1")
        .fetch_all(db.pool())
        .await?
    {
        dossiers.push(DossierFact {
            task_id: r.try_get("task_id")?,
            closed_on: date(&r.try_get::<String, _>("closed_on")?),
            archived_on: date(&r.try_get::<String, _>("archived_on")?),
        });
    }
    Ok((documents, dossiers))
}
