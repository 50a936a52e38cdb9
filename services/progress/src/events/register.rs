//! The register's events ↔ the published contract `dondoc.register.document_registered`.

use dondoc_contracts::progress::ProgressEvent;
use dondoc_eventsourcing::{DecodeError, DomainEvent};
use dondoc_proto::v1 as pb;

use super::{date, iso};
use crate::domain::register::{
    DocumentEntered, RegisterKind, RegisteredDocument, Secrecy, Urgency,
};

pub fn urgency_to_proto(urgency: Urgency) -> pb::Priority {
    match urgency {
        Urgency::Normal => pb::Priority::Normal,
        Urgency::Urgent => pb::Priority::Urgent,
        Urgency::VeryUrgent => pb::Priority::VeryUrgent,
        Urgency::Flash => pb::Priority::Flash,
    }
}

pub fn urgency_from_proto(raw: i32) -> Option<Urgency> {
    match pb::Priority::try_from(raw).ok()? {
        pb::Priority::Unspecified | pb::Priority::Normal => Some(Urgency::Normal),
        pb::Priority::Urgent => Some(Urgency::Urgent),
        pb::Priority::VeryUrgent => Some(Urgency::VeryUrgent),
        pb::Priority::Flash => Some(Urgency::Flash),
    }
}

fn to_contract(event: &DocumentEntered) -> ProgressEvent {
    let d = &event.document;
    ProgressEvent::DocumentRegistered(pb::DocumentRegistered {
        document_id: d.document_id(),
        register: d.kind.as_str().to_owned(),
        year: d.year,
        number: d.number,
        document_type: d.document_type.clone(),
        issuer_number: d.issuer_number.clone(),
        symbol: d.symbol.clone(),
        issued_on: iso(d.issued_on),
        summary: d.summary.clone(),
        issuing_body: d.issuing_body.clone(),
        signer: d.signer.clone(),
        urgency: urgency_to_proto(d.urgency) as i32,
        secrecy: d.secrecy.as_str().to_owned(),
        task_id: d.task_id.clone().unwrap_or_default(),
        file_name: d.file_name.clone(),
        media_type: d.media_type.clone(),
        sha256: d.sha256.clone(),
        size: d.size,
        registered_on: iso(d.registered_on),
    })
}

impl DomainEvent for DocumentEntered {
    fn event_type(&self) -> &'static str {
        dondoc_contracts::progress::DOCUMENT_REGISTERED.name
    }

    fn schema_version(&self) -> u32 {
        dondoc_contracts::progress::DOCUMENT_REGISTERED.version
    }

    fn encode(&self) -> Vec<u8> {
        to_contract(self).encode()
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        let malformed = |reason: String| DecodeError::Malformed {
            event_type: event_type.to_owned(),
            reason,
        };
        let m = match ProgressEvent::decode_current(event_type, schema_version, payload) {
            Ok(Some(ProgressEvent::DocumentRegistered(m))) => m,
            Ok(_) => {
                return Err(DecodeError::UnknownType {
                    event_type: event_type.to_owned(),
                    schema_version,
                });
            }
            Err(e) => return Err(malformed(e.to_string())),
        };
        let t = event_type;
        Ok(DocumentEntered {
            document: RegisteredDocument {
                kind: RegisterKind::parse(&m.register)
                    .ok_or_else(|| malformed(format!("register {:?}", m.register)))?,
                year: m.year,
                number: m.number,
                document_type: m.document_type,
                issuer_number: m.issuer_number,
                symbol: m.symbol,
                issued_on: date(t, "issued_on", &m.issued_on)?,
                summary: m.summary,
                issuing_body: m.issuing_body,
                signer: m.signer,
                urgency: urgency_from_proto(m.urgency)
                    .ok_or_else(|| malformed(format!("urgency {}", m.urgency)))?,
                secrecy: Secrecy::parse(&m.secrecy)
                    .ok_or_else(|| malformed(format!("secrecy {:?}", m.secrecy)))?,
                task_id: (!m.task_id.is_empty()).then_some(m.task_id),
                file_name: m.file_name,
                media_type: m.media_type,
                sha256: m.sha256,
                size: m.size,
                registered_on: date(t, "registered_on", &m.registered_on)?,
            },
        })
    }
}
