//! The progress service's domain events ↔ the published contracts
//! (`dondoc_contracts::progress`): what is stored in its log is exactly what consumers decode.

pub mod dossier;
pub mod register;

use chrono::NaiveDate;
use dondoc_contracts::progress::ProgressEvent;
use dondoc_eventsourcing::{DecodeError, DomainEvent, Upcasters};
use dondoc_proto::v1 as pb;

use crate::domain::execution::{DocumentRef, ExtensionAsked, ProgressNote};
use crate::domain::{ExecutionEvent, Happened, Timeliness};

/// Upcasters of the progress service's older event versions (none yet).
pub fn upcasters() -> Upcasters {
    dondoc_contracts::progress::upcasters()
}

pub(crate) fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn iso_opt(date: Option<NaiveDate>) -> String {
    date.map(iso).unwrap_or_default()
}

pub(crate) fn date(event_type: &str, field: &str, raw: &str) -> Result<NaiveDate, DecodeError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| DecodeError::Malformed {
        event_type: event_type.to_owned(),
        reason: format!("{field} is not a date: {raw:?}"),
    })
}

fn date_opt(event_type: &str, field: &str, raw: &str) -> Result<Option<NaiveDate>, DecodeError> {
    if raw.is_empty() {
        Ok(None)
    } else {
        date(event_type, field, raw).map(Some)
    }
}

impl ExecutionEvent {
    /// The published form (`task_id` is the stream id; the contract repeats it in the payload
    /// so a consumer reading one message needs nothing else).
    pub fn to_contract(&self) -> ProgressEvent {
        let task_id = self.task_id.clone();
        match self.what.clone() {
            Happened::Acknowledged { lead_unit, on } => {
                ProgressEvent::Acknowledged(pb::ExecutionAcknowledged {
                    task_id,
                    lead_unit,
                    acknowledged_on: iso(on),
                })
            }
            Happened::ProgressReported(note) => {
                ProgressEvent::ProgressReported(pb::ExecutionProgressReported {
                    task_id,
                    percent: note.percent,
                    narrative: note.narrative,
                    reported_on: iso(note.reported_on),
                    documents: note.documents.iter().map(document_to_proto).collect(),
                })
            }
            Happened::CoordinationRequested {
                coordination_id,
                unit,
                request,
                reply_due,
                on,
            } => ProgressEvent::CoordinationRequested(pb::CoordinationRequested {
                task_id,
                coordination_id,
                unit,
                request,
                reply_due: iso(reply_due),
                requested_on: iso(on),
            }),
            Happened::CoordinationSubmitted {
                coordination_id,
                unit,
                reply,
                on,
            } => ProgressEvent::CoordinationSubmitted(pb::CoordinationSubmitted {
                task_id,
                coordination_id,
                unit,
                reply,
                submitted_on: iso(on),
            }),
            Happened::CoordinationDeemedAgreed {
                coordination_id,
                unit,
                reply_due,
                on,
            } => ProgressEvent::CoordinationDeemedAgreed(pb::CoordinationDeemedAgreed {
                task_id,
                coordination_id,
                unit,
                reply_due: iso(reply_due),
                recorded_on: iso(on),
            }),
            Happened::DifficultyReported {
                difficulty_id,
                description,
                proposed_solution,
                lead_unit,
                on,
            } => ProgressEvent::DifficultyReported(pb::DifficultyReported {
                task_id,
                difficulty_id,
                description,
                proposed_solution,
                reported_on: iso(on),
                lead_unit,
            }),
            Happened::DirectionGiven {
                difficulty_id,
                direction,
                leader_id,
                on,
            } => ProgressEvent::DirectionGiven(pb::DirectionGiven {
                task_id,
                difficulty_id,
                direction,
                leader_id,
                given_on: iso(on),
            }),
            Happened::ExtensionRequested { asked, lead_unit } => {
                ProgressEvent::ExtensionRequested(pb::ExecutionExtensionRequested {
                    task_id,
                    extension_id: asked.extension_id,
                    requested_on: iso(asked.requested_on),
                    current_deadline: iso(asked.current_deadline),
                    proposed_deadline: iso(asked.proposed_deadline),
                    reason: asked.reason,
                    lead_unit,
                })
            }
            Happened::HandOffRefused {
                lead_unit,
                requested_unit,
                reason_given,
                on,
            } => ProgressEvent::HandOffRefused(pb::ExecutionHandOffRefused {
                task_id,
                lead_unit,
                requested_unit,
                reason_given,
                attempted_on: iso(on),
            }),
            Happened::ResultSubmitted {
                submission_id,
                summary,
                deadline_then,
                lead_unit,
                on,
                documents,
            } => ProgressEvent::ResultSubmitted(pb::ResultSubmitted {
                task_id,
                submission_id,
                summary,
                submitted_on: iso(on),
                deadline_then: iso_opt(deadline_then),
                lead_unit,
                documents: documents.iter().map(document_to_proto).collect(),
            }),
            Happened::ResultAccepted {
                submission_id,
                submitted_on,
                deadline_then,
                timeliness,
                days_late,
                lead_unit,
                on,
            } => ProgressEvent::ResultAccepted(pb::ResultAccepted {
                task_id,
                submission_id,
                accepted_on: iso(on),
                submitted_on: iso(submitted_on),
                deadline_then: iso_opt(deadline_then),
                on_time: timeliness != Timeliness::Late,
                days_late,
                lead_unit,
            }),
            Happened::ResultReturned {
                submission_id,
                reason,
                on,
            } => ProgressEvent::ResultReturned(pb::ResultReturned {
                task_id,
                submission_id,
                reason,
                returned_on: iso(on),
            }),
        }
    }

    fn from_contract(event: ProgressEvent) -> Result<Self, DecodeError> {
        let t = event.event_type().name;
        let task_id = task_id_of(&event).to_owned();
        let what = match event {
            ProgressEvent::Acknowledged(m) => Happened::Acknowledged {
                lead_unit: m.lead_unit,
                on: date(t, "acknowledged_on", &m.acknowledged_on)?,
            },
            ProgressEvent::ProgressReported(m) => Happened::ProgressReported(ProgressNote {
                percent: m.percent,
                narrative: m.narrative,
                reported_on: date(t, "reported_on", &m.reported_on)?,
                documents: m.documents.into_iter().map(document_from_proto).collect(),
            }),
            ProgressEvent::CoordinationRequested(m) => Happened::CoordinationRequested {
                coordination_id: m.coordination_id,
                unit: m.unit,
                request: m.request,
                reply_due: date(t, "reply_due", &m.reply_due)?,
                on: date(t, "requested_on", &m.requested_on)?,
            },
            ProgressEvent::CoordinationSubmitted(m) => Happened::CoordinationSubmitted {
                coordination_id: m.coordination_id,
                unit: m.unit,
                reply: m.reply,
                on: date(t, "submitted_on", &m.submitted_on)?,
            },
            ProgressEvent::CoordinationDeemedAgreed(m) => Happened::CoordinationDeemedAgreed {
                coordination_id: m.coordination_id,
                unit: m.unit,
                reply_due: date(t, "reply_due", &m.reply_due)?,
                on: date(t, "recorded_on", &m.recorded_on)?,
            },
            ProgressEvent::DifficultyReported(m) => Happened::DifficultyReported {
                difficulty_id: m.difficulty_id,
                description: m.description,
                proposed_solution: m.proposed_solution,
                lead_unit: m.lead_unit,
                on: date(t, "reported_on", &m.reported_on)?,
            },
            ProgressEvent::DirectionGiven(m) => Happened::DirectionGiven {
                difficulty_id: m.difficulty_id,
                direction: m.direction,
                leader_id: m.leader_id,
                on: date(t, "given_on", &m.given_on)?,
            },
            ProgressEvent::ExtensionRequested(m) => Happened::ExtensionRequested {
                asked: ExtensionAsked {
                    extension_id: m.extension_id,
                    current_deadline: date(t, "current_deadline", &m.current_deadline)?,
                    proposed_deadline: date(t, "proposed_deadline", &m.proposed_deadline)?,
                    reason: m.reason,
                    requested_on: date(t, "requested_on", &m.requested_on)?,
                },
                lead_unit: m.lead_unit,
            },
            ProgressEvent::HandOffRefused(m) => Happened::HandOffRefused {
                lead_unit: m.lead_unit,
                requested_unit: m.requested_unit,
                reason_given: m.reason_given,
                on: date(t, "attempted_on", &m.attempted_on)?,
            },
            ProgressEvent::ResultSubmitted(m) => Happened::ResultSubmitted {
                submission_id: m.submission_id,
                summary: m.summary,
                deadline_then: date_opt(t, "deadline_then", &m.deadline_then)?,
                lead_unit: m.lead_unit,
                on: date(t, "submitted_on", &m.submitted_on)?,
                documents: m.documents.into_iter().map(document_from_proto).collect(),
            },
            ProgressEvent::ResultAccepted(m) => {
                let deadline_then = date_opt(t, "deadline_then", &m.deadline_then)?;
                let timeliness = match (deadline_then, m.on_time) {
                    (None, _) => Timeliness::NoDeadline,
                    (Some(_), true) => Timeliness::OnTime,
                    (Some(_), false) => Timeliness::Late,
                };
                Happened::ResultAccepted {
                    submission_id: m.submission_id,
                    submitted_on: date(t, "submitted_on", &m.submitted_on)?,
                    deadline_then,
                    timeliness,
                    days_late: m.days_late,
                    lead_unit: m.lead_unit,
                    on: date(t, "accepted_on", &m.accepted_on)?,
                }
            }
            ProgressEvent::ResultReturned(m) => Happened::ResultReturned {
                submission_id: m.submission_id,
                reason: m.reason,
                on: date(t, "returned_on", &m.returned_on)?,
            },
            other => {
                return Err(DecodeError::UnknownType {
                    event_type: other.event_type().name.to_owned(),
                    schema_version: other.event_type().version,
                });
            }
        };
        Ok(ExecutionEvent { task_id, what })
    }
}

pub(crate) fn document_to_proto(d: &DocumentRef) -> pb::AttachedDocument {
    pb::AttachedDocument {
        file_name: d.file_name.clone(),
        media_type: d.media_type.clone(),
        sha256: d.sha256.clone(),
        size: d.size,
    }
}

fn document_from_proto(d: pb::AttachedDocument) -> DocumentRef {
    DocumentRef {
        file_name: d.file_name,
        media_type: d.media_type,
        sha256: d.sha256,
        size: d.size,
    }
}

fn task_id_of(event: &ProgressEvent) -> &str {
    match event {
        ProgressEvent::Acknowledged(m) => &m.task_id,
        ProgressEvent::ProgressReported(m) => &m.task_id,
        ProgressEvent::CoordinationRequested(m) => &m.task_id,
        ProgressEvent::CoordinationSubmitted(m) => &m.task_id,
        ProgressEvent::CoordinationDeemedAgreed(m) => &m.task_id,
        ProgressEvent::DifficultyReported(m) => &m.task_id,
        ProgressEvent::DirectionGiven(m) => &m.task_id,
        ProgressEvent::ExtensionRequested(m) => &m.task_id,
        ProgressEvent::HandOffRefused(m) => &m.task_id,
        ProgressEvent::ResultSubmitted(m) => &m.task_id,
        ProgressEvent::ResultAccepted(m) => &m.task_id,
        ProgressEvent::ResultReturned(m) => &m.task_id,
        _ => "",
    }
}

/// What the repository stores and reads back: exactly the published contract.
impl DomainEvent for ExecutionEvent {
    fn event_type(&self) -> &'static str {
        self.to_contract().event_type().name
    }

    fn schema_version(&self) -> u32 {
        self.to_contract().event_type().version
    }

    fn encode(&self) -> Vec<u8> {
        self.to_contract().encode()
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        match ProgressEvent::decode_current(event_type, schema_version, payload) {
            Ok(Some(event)) => Self::from_contract(event),
            Ok(None) => Err(DecodeError::UnknownType {
                event_type: event_type.to_owned(),
                schema_version,
            }),
            Err(e) => Err(DecodeError::Malformed {
                event_type: event_type.to_owned(),
                reason: e.to_string(),
            }),
        }
    }
}
