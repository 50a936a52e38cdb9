//! Registers and documents: entering a document in the year's register (gap-free numbers),
//! reading registers, documents and a task's attachments with their content checked against
//! the hash the log recorded.

use chrono::NaiveDate;
use dondoc_eventsourcing::RequestKey;
use dondoc_eventsourcing::clock::business_date;
use dondoc_eventsourcing::repository::{CommandEnvelope, ExecuteError, Executed};
use dondoc_runtime::auth::Role;

use super::error::ApiError;
use super::policy::{Rpc, authorize, may_read};
use super::{Caller, Handlers, Outcome};
use crate::domain::execution::DocumentRef;
use crate::domain::register::{
    EnterDocument, RegisterKind, RegisteredDocument, Secrecy, Urgency, parse_document_id, year_of,
};
use crate::domain::{CODE_MAX, FieldViolation, TEXT_MAX, Violations};

/// A document to register, as received (raw; validated here).
#[derive(Clone, Debug, Default)]
pub struct DocumentInput {
    pub document_type: String,
    pub issuer_number: String,
    pub symbol: String,
    pub issued_on: String,
    pub summary: String,
    pub issuing_body: String,
    pub signer: String,
    /// `None`: not a known urgency.
    pub urgency: Option<Urgency>,
    /// `None`: not a known secrecy mark.
    pub secrecy: Option<Secrecy>,
    pub task_id: String,
    pub file_name: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

/// A registered document with its content, checked against its recorded hash.
#[derive(Clone, Debug)]
pub struct DocumentWithContent {
    pub document: RegisteredDocument,
    pub content: Vec<u8>,
    pub verified: bool,
}

/// How many times a registration is decided again when another took the number first.
const REGISTER_ATTEMPTS: usize = 50;

impl Handlers {
    /// Enters a document in this year's register of `kind`: the next number, gap-free, the
    /// content kept by its hash.
    pub async fn register_document(
        &self,
        caller: &Caller,
        key: RequestKey,
        kind: RegisterKind,
        input: DocumentInput,
    ) -> Result<RegisteredDocument, ApiError> {
        if let Some(first) = self.store.replay(&key).await? {
            return match Outcome::read(&first)? {
                Outcome::Document { document_id } => self.document(&document_id).await,
                _ => Err(ApiError::Internal(
                    "a task's outcome answered a registration".into(),
                )),
            };
        }
        let rpc = match kind {
            RegisterKind::Incoming => Rpc::RegisterIncomingDocument,
            RegisterKind::Outgoing => Rpc::RegisterOutgoingDocument,
        };
        authorize(rpc, caller)?;
        let today = business_date(self.clock.now());
        let document = self.validate_document(kind, input.clone(), today)?;
        let task_id = input.task_id.trim();
        if !task_id.is_empty() {
            self.facts_of(task_id).await?;
            self.refuse_if_archived(task_id).await?;
        }
        let mut document = document;
        document.sha256 = self.blobs.put(&input.content).await?;
        let stream_id = kind.stream_id(document.year);
        for _ in 0..REGISTER_ATTEMPTS {
            let executed = self
                .registers
                .execute(
                    CommandEnvelope {
                        stream_id: stream_id.clone(),
                        command: EnterDocument {
                            document: document.clone(),
                        },
                        expected_version: None,
                        new_stream: false,
                        request: Some(key.clone()),
                        metadata: self.metadata(caller, &key.request_id),
                    },
                    |decision| {
                        let entered = &decision.new_events[0].document;
                        Outcome::Document {
                            document_id: entered.document_id(),
                        }
                        .stored()
                    },
                )
                .await;
            match executed {
                Ok(Executed::Applied { events, .. }) => {
                    return events
                        .into_iter()
                        .next()
                        .map(|e| e.document)
                        .ok_or_else(|| {
                            ApiError::Internal("a registration recorded nothing".into())
                        });
                }
                Ok(Executed::Replayed(first)) => {
                    return match Outcome::read(&first)? {
                        Outcome::Document { document_id } => self.document(&document_id).await,
                        _ => Err(ApiError::Internal("a registration's outcome".into())),
                    };
                }
                // Another registration took the number: decide again on the register as it
                // now stands. Numbers stay gap-free because only one append per number wins.
                Err(ExecuteError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ApiError::Unavailable(format!(
            "the {} register is too busy; retry the request",
            kind.as_str()
        )))
    }

    fn validate_document(
        &self,
        kind: RegisterKind,
        input: DocumentInput,
        today: NaiveDate,
    ) -> Result<RegisteredDocument, ApiError> {
        let mut v = Violations::default();
        let document_type = v.text("document_type", &input.document_type, CODE_MAX);
        let summary = v.text("summary", &input.summary, TEXT_MAX);
        let issuing_body = v.text("issuing_body", &input.issuing_body, 500);
        let signer = v.optional_text("signer", &input.signer, 200);
        let issuer_number = v.optional_text("issuer_number", &input.issuer_number, CODE_MAX);
        let symbol = match kind {
            RegisterKind::Outgoing => v.text("symbol", &input.symbol, CODE_MAX),
            RegisterKind::Incoming => v.optional_text("symbol", &input.symbol, CODE_MAX),
        };
        let file_name = v.optional_text("file_name", &input.file_name, 255);
        let media_type = v.optional_text("media_type", &input.media_type, 255);
        let issued_on = match NaiveDate::parse_from_str(input.issued_on.trim(), "%Y-%m-%d") {
            Ok(day) if day > today => {
                v.0.push(FieldViolation::new("issued_on", "must not be after today"));
                day
            }
            Ok(day) => day,
            Err(_) => {
                v.0.push(FieldViolation::new(
                    "issued_on",
                    "must be a date YYYY-MM-DD",
                ));
                today
            }
        };
        let urgency = input.urgency.unwrap_or_else(|| {
            v.0.push(FieldViolation::new("urgency", "not a known urgency"));
            Urgency::Normal
        });
        let secrecy = input.secrecy.unwrap_or_else(|| {
            v.0.push(FieldViolation::new("secrecy", "not a known secrecy mark"));
            Secrecy::Normal
        });
        if input.content.is_empty() {
            v.0.push(FieldViolation::new(
                "content",
                "is required: the document itself",
            ));
        } else if input.content.len() > self.max_document_bytes {
            v.0.push(FieldViolation::new(
                "content",
                format!(
                    "is {} bytes; documents are at most {} bytes",
                    input.content.len(),
                    self.max_document_bytes
                ),
            ));
        }
        v.finish().map_err(ApiError::Invalid)?;
        let task_id = input.task_id.trim();
        Ok(RegisteredDocument {
            kind,
            year: year_of(today),
            number: 0,
            document_type,
            issuer_number,
            symbol,
            issued_on,
            summary,
            issuing_body,
            signer,
            urgency,
            secrecy,
            task_id: (!task_id.is_empty()).then(|| task_id.to_owned()),
            file_name,
            media_type: if media_type.is_empty() {
                "application/octet-stream".to_owned()
            } else {
                media_type
            },
            sha256: String::new(),
            size: input.content.len() as u64,
            registered_on: today,
        })
    }

    /// A registered document, from its register's stream.
    pub(super) async fn document(&self, document_id: &str) -> Result<RegisteredDocument, ApiError> {
        let not_found = || ApiError::NotFound(format!("no document {document_id}"));
        let (stream_id, number) = parse_document_id(document_id).ok_or_else(not_found)?;
        let loaded = self.registers.load(&stream_id).await?;
        let recorded = loaded
            .history
            .iter()
            .find(|e| e.stream_version == u64::from(number))
            .ok_or_else(not_found)?;
        Ok(recorded
            .decode::<crate::domain::register::DocumentEntered>()?
            .document)
    }

    /// `GetAttachment`: a document attached to one of the task's reports or results, hashed
    /// again on the way out; only the task's own attachments are served.
    pub async fn get_attachment(
        &self,
        caller: &Caller,
        task_id: &str,
        sha256: &str,
    ) -> Result<(DocumentRef, Vec<u8>, bool), ApiError> {
        let view = self.get_execution(caller, task_id).await?;
        let document = view
            .state
            .attachments()
            .find(|d| d.sha256 == sha256.trim())
            .cloned()
            .ok_or_else(|| {
                ApiError::NotFound(format!("task {task_id} has no attachment {sha256}"))
            })?;
        let content = self.blobs.get(&document.sha256).await?.ok_or_else(|| {
            ApiError::Internal(format!(
                "attachment {} of {task_id} is missing from the document store",
                document.sha256
            ))
        })?;
        let verified = crate::blobs::sha256_hex(&content) == document.sha256;
        Ok((document, content, verified))
    }

    /// `ListRegister`: the year's register of `kind`, in number order.
    pub async fn list_register(
        &self,
        caller: &Caller,
        kind: RegisterKind,
        year: i32,
    ) -> Result<Vec<RegisteredDocument>, ApiError> {
        authorize(Rpc::ListRegister, caller)?;
        let loaded = self.registers.load(&kind.stream_id(year)).await?;
        loaded
            .history
            .iter()
            .map(|e| {
                e.decode::<crate::domain::register::DocumentEntered>()
                    .map(|d| d.document)
                    .map_err(ApiError::from)
            })
            .collect()
    }

    /// `GetDocument`: the document and its content, hashed again on the way out. A unit reads
    /// only the documents of tasks it leads or coordinates.
    pub async fn get_document(
        &self,
        caller: &Caller,
        document_id: &str,
    ) -> Result<DocumentWithContent, ApiError> {
        authorize(Rpc::GetDocument, caller)?;
        let document = self.document(document_id).await?;
        if caller.role == Role::Unit {
            let facts = match &document.task_id {
                Some(task_id) => self.facts.get(task_id).await?,
                None => None,
            };
            if !facts.is_some_and(|facts| may_read(caller, &facts)) {
                return Err(ApiError::denied(
                    "NOT_YOUR_DOCUMENT",
                    "a unit reads only the documents of tasks it leads or coordinates",
                    "Đơn vị chỉ xem được văn bản của nhiệm vụ mình chủ trì hoặc phối hợp.",
                ));
            }
        }
        let content = self.blobs.get(&document.sha256).await?.ok_or_else(|| {
            ApiError::Internal(format!(
                "the content of {document_id} ({}) is missing from the document store",
                document.sha256
            ))
        })?;
        let verified = crate::blobs::sha256_hex(&content) == document.sha256;
        Ok(DocumentWithContent {
            document,
            content,
            verified,
        })
    }
}
