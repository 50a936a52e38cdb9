//! Work dossiers: what a task's dossier holds, and its lifecycle (closed once the task ends,
//! then archived, after which nothing about the task may change).

use chrono::NaiveDate;
use dondoc_eventsourcing::RequestKey;
use dondoc_eventsourcing::clock::business_date;
use dondoc_eventsourcing::repository::CommandEnvelope;

use super::error::ApiError;
use super::policy::{Rpc, authorize, may_read};
use super::{Caller, Handlers, Outcome};
use crate::domain::dossier::{Dossier, DossierCommand, DossierError, DossierRequest};
use crate::domain::execution::DocumentRef;
use crate::domain::{Settlement, TaskFacts, TaskStatus, Violations};

/// A task's work dossier as it reads: its lifecycle and every record, oldest first.
#[derive(Clone, Debug)]
pub struct DossierView {
    pub facts: TaskFacts,
    pub state: Dossier,
    pub version: u64,
    pub entries: Vec<DossierEntry>,
}

/// One record of a dossier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DossierEntry {
    pub kind: &'static str,
    pub date: String,
    pub summary: String,
    pub reference: String,
    pub document_id: String,
    pub sha256: String,
}

fn blank_entry() -> DossierEntry {
    DossierEntry {
        kind: "",
        date: String::new(),
        summary: String::new(),
        reference: String::new(),
        document_id: String::new(),
        sha256: String::new(),
    }
}

/// The stream of a task's dossier (the task id alone names its execution).
fn dossier_stream(task_id: &str) -> String {
    format!("dossier-{task_id}")
}

impl Handlers {
    /// An archived dossier refuses every change to its task.
    pub(super) async fn refuse_if_archived(&self, task_id: &str) -> Result<(), ApiError> {
        if self
            .dossiers
            .load(&dossier_stream(task_id))
            .await?
            .state
            .is_archived()
        {
            return Err(DossierError::Archived.into());
        }
        Ok(())
    }

    /// Closes (kết thúc) or archives (nộp lưu) a task's dossier.
    pub async fn change_dossier(
        &self,
        caller: &Caller,
        key: RequestKey,
        task_id: &str,
        archive_reference: Option<String>,
    ) -> Result<DossierView, ApiError> {
        if let Some(first) = self.store.replay(&key).await? {
            return match Outcome::read(&first)? {
                Outcome::Dossier { task_id } => self.dossier(&task_id).await,
                _ => Err(ApiError::Internal("another command's outcome".into())),
            };
        }
        let rpc = if archive_reference.is_some() {
            Rpc::ArchiveDossier
        } else {
            Rpc::CloseDossier
        };
        authorize(rpc, caller)?;
        let task_id = task_id.trim().to_owned();
        let today = business_date(self.clock.now());
        let command = match archive_reference {
            Some(reference) => {
                let mut v = Violations::default();
                let reference = v.text("archive_reference", &reference, 200);
                v.finish().map_err(ApiError::Invalid)?;
                DossierCommand::Archive { today, reference }
            }
            None => {
                let facts = self.facts_of(&task_id).await?;
                let status = self.view(facts, None).await?.status;
                DossierCommand::Close {
                    task_ended: matches!(status, TaskStatus::Completed | TaskStatus::Cancelled),
                    today,
                }
            }
        };
        self.facts_of(&task_id).await?;
        self.dossiers
            .execute(
                CommandEnvelope {
                    stream_id: dossier_stream(&task_id),
                    command: DossierRequest {
                        task_id: task_id.clone(),
                        command,
                    },
                    expected_version: None,
                    new_stream: false,
                    request: Some(key.clone()),
                    metadata: self.metadata(caller, &key.request_id),
                },
                |_| {
                    Outcome::Dossier {
                        task_id: task_id.clone(),
                    }
                    .stored()
                },
            )
            .await?;
        self.dossier(&task_id).await
    }

    /// `GetDossier`.
    pub async fn get_dossier(
        &self,
        caller: &Caller,
        task_id: &str,
    ) -> Result<DossierView, ApiError> {
        authorize(Rpc::GetDossier, caller)?;
        let facts = self.facts_of(task_id.trim()).await?;
        if !may_read(caller, &facts) {
            return Err(ApiError::denied(
                "NOT_YOUR_TASK",
                "a unit reads only the dossiers of tasks it leads or coordinates",
                "Đơn vị chỉ xem được hồ sơ nhiệm vụ mình chủ trì hoặc phối hợp.",
            ));
        }
        self.dossier(&facts.task_id).await
    }

    /// A dossier as it reads: the directing document, then every record by date.
    pub(super) async fn dossier(&self, task_id: &str) -> Result<DossierView, ApiError> {
        let facts = self.facts_of(task_id).await?;
        let loaded = self.dossiers.load(&dossier_stream(task_id)).await?;
        let execution = self.view(facts.clone(), None).await?.state;
        let mut entries = Vec::new();
        if let Some(d) = &facts.directing_document {
            entries.push(DossierEntry {
                kind: "directing_document",
                date: d.date.clone(),
                summary: d.summary.clone(),
                reference: format!("{}/{}", d.number, d.symbol),
                document_id: String::new(),
                sha256: String::new(),
            });
        }
        let mut records = Vec::new();
        for document_id in self.task_documents.of_task(task_id).await? {
            let d = self.document(&document_id).await?;
            records.push(DossierEntry {
                kind: "registered_document",
                date: d.registered_on.to_string(),
                summary: format!("{} — {}", d.document_type, d.summary),
                reference: d.number_label(),
                document_id,
                sha256: d.sha256,
            });
        }
        let attachment = |date: NaiveDate, d: &DocumentRef| DossierEntry {
            kind: "attachment",
            date: date.to_string(),
            summary: d.file_name.clone(),
            sha256: d.sha256.clone(),
            ..blank_entry()
        };
        for r in &execution.reports {
            records.push(DossierEntry {
                kind: "progress_report",
                date: r.reported_on.to_string(),
                summary: format!("{}% — {}", r.percent, r.narrative),
                ..blank_entry()
            });
            records.extend(r.documents.iter().map(|d| attachment(r.reported_on, d)));
        }
        for c in &execution.coordinations {
            if let Some(Settlement::Answered { reply, on }) = &c.settled {
                records.push(DossierEntry {
                    kind: "coordination_reply",
                    date: on.to_string(),
                    summary: format!("{}: {reply}", c.unit),
                    ..blank_entry()
                });
            }
        }
        for s in &execution.submissions {
            records.push(DossierEntry {
                kind: "result",
                date: s.submitted_on.to_string(),
                summary: s.summary.clone(),
                ..blank_entry()
            });
            records.extend(s.documents.iter().map(|d| attachment(s.submitted_on, d)));
        }
        // ISO dates sort as text; the sort is stable, so one day keeps its order of kinds.
        records.sort_by(|a, b| a.date.cmp(&b.date));
        entries.extend(records);
        Ok(DossierView {
            facts,
            state: loaded.state,
            version: loaded.version,
            entries,
        })
    }
}
