//! The dossier's events ↔ the published contracts `dondoc.dossier.*`.

use dondoc_contracts::progress::ProgressEvent;
use dondoc_eventsourcing::{DecodeError, DomainEvent};
use dondoc_proto::v1 as pb;

use super::{date, iso};
use crate::domain::dossier::{DossierChange, DossierEvent};

fn to_contract(event: &DossierEvent) -> ProgressEvent {
    let task_id = event.task_id.clone();
    match &event.what {
        DossierChange::Closed { on } => ProgressEvent::DossierClosed(pb::DossierClosed {
            task_id,
            closed_on: iso(*on),
        }),
        DossierChange::Archived { on, reference } => {
            ProgressEvent::DossierArchived(pb::DossierArchived {
                task_id,
                archived_on: iso(*on),
                archive_reference: reference.clone(),
            })
        }
    }
}

impl DomainEvent for DossierEvent {
    fn event_type(&self) -> &'static str {
        to_contract(self).event_type().name
    }

    fn schema_version(&self) -> u32 {
        to_contract(self).event_type().version
    }

    fn encode(&self) -> Vec<u8> {
        to_contract(self).encode()
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        let t = event_type;
        match ProgressEvent::decode_current(event_type, schema_version, payload) {
            Ok(Some(ProgressEvent::DossierClosed(m))) => Ok(DossierEvent {
                task_id: m.task_id,
                what: DossierChange::Closed {
                    on: date(t, "closed_on", &m.closed_on)?,
                },
            }),
            Ok(Some(ProgressEvent::DossierArchived(m))) => Ok(DossierEvent {
                task_id: m.task_id,
                what: DossierChange::Archived {
                    on: date(t, "archived_on", &m.archived_on)?,
                    reference: m.archive_reference,
                },
            }),
            Ok(_) => Err(DecodeError::UnknownType {
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
