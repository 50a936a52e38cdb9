//! Events published by the progress service (JetStream stream `DONDOC_PROGRESS`, subjects
//! `dondoc.progress.execution.<task id>`): how the lead unit carries out a task — receipt,
//! progress, coordination, difficulties and direction, the result and its review.
//!
//! Payloads are the `Execution*`, `Coordination*`, `Difficulty*`, `Direction*` and `Result*`
//! messages of `proto/dondoc/v1/events.proto`. Dates are ISO business dates
//! (Asia/Ho_Chi_Minh); the stream id is the task id the assignment service gave.

use dondoc_eventsourcing::{RecordedEvent, Upcasters};
use dondoc_proto::v1 as pb;
use prost::Message;

use crate::{ContractError, EventType, current_payload, known_type};

/// The service name: stream `DONDOC_PROGRESS`, subjects `dondoc.progress.>`.
pub const SERVICE: &str = "progress";

/// Stream type of a task's execution (stream id = task id).
pub const EXECUTION_STREAM: &str = "execution";

/// `dondoc.execution.acknowledged` v1: the lead unit confirmed receipt (tiếp nhận).
pub const ACKNOWLEDGED: EventType = EventType {
    name: "dondoc.execution.acknowledged",
    version: 1,
};
/// `dondoc.execution.progress_reported` v1.
pub const PROGRESS_REPORTED: EventType = EventType {
    name: "dondoc.execution.progress_reported",
    version: 1,
};
/// `dondoc.execution.coordination_requested` v1.
pub const COORDINATION_REQUESTED: EventType = EventType {
    name: "dondoc.execution.coordination_requested",
    version: 1,
};
/// `dondoc.execution.coordination_submitted` v1.
pub const COORDINATION_SUBMITTED: EventType = EventType {
    name: "dondoc.execution.coordination_submitted",
    version: 1,
};
/// `dondoc.execution.coordination_deemed_agreed` v1: silence past the reply date.
pub const COORDINATION_DEEMED_AGREED: EventType = EventType {
    name: "dondoc.execution.coordination_deemed_agreed",
    version: 1,
};
/// `dondoc.execution.difficulty_reported` v1 (khó khăn, vướng mắc).
pub const DIFFICULTY_REPORTED: EventType = EventType {
    name: "dondoc.execution.difficulty_reported",
    version: 1,
};
/// `dondoc.execution.direction_given` v1 (chỉ đạo).
pub const DIRECTION_GIVEN: EventType = EventType {
    name: "dondoc.execution.direction_given",
    version: 1,
};
/// `dondoc.execution.extension_requested` v1 (đề nghị gia hạn).
pub const EXTENSION_REQUESTED: EventType = EventType {
    name: "dondoc.execution.extension_requested",
    version: 1,
};
/// Stream type of the document registers (stream id `<incoming|outgoing>-<year>`).
pub const REGISTER_STREAM: &str = "register";
/// `dondoc.register.document_registered` v1: a document entered in a register (Decree 30/2020).
pub const DOCUMENT_REGISTERED: EventType = EventType {
    name: "dondoc.register.document_registered",
    version: 1,
};
/// Stream type of work dossiers (stream id = the task id).
pub const DOSSIER_STREAM: &str = "dossier";
/// `dondoc.dossier.closed` v1.
pub const DOSSIER_CLOSED: EventType = EventType {
    name: "dondoc.dossier.closed",
    version: 1,
};
/// `dondoc.dossier.archived` v1 (nộp lưu).
pub const DOSSIER_ARCHIVED: EventType = EventType {
    name: "dondoc.dossier.archived",
    version: 1,
};
/// `dondoc.execution.hand_off_refused` v1: evidence of a refused hand-off attempt.
pub const HAND_OFF_REFUSED: EventType = EventType {
    name: "dondoc.execution.hand_off_refused",
    version: 1,
};
/// `dondoc.execution.result_submitted` v1.
pub const RESULT_SUBMITTED: EventType = EventType {
    name: "dondoc.execution.result_submitted",
    version: 1,
};
/// `dondoc.execution.result_accepted` v1: the task is completed.
pub const RESULT_ACCEPTED: EventType = EventType {
    name: "dondoc.execution.result_accepted",
    version: 1,
};
/// `dondoc.execution.result_returned` v1: returned for rework (trả lại, thực hiện lại).
pub const RESULT_RETURNED: EventType = EventType {
    name: "dondoc.execution.result_returned",
    version: 1,
};

/// Every event type the progress service publishes, at the version it writes today.
pub const EVENT_TYPES: &[EventType] = &[
    ACKNOWLEDGED,
    PROGRESS_REPORTED,
    COORDINATION_REQUESTED,
    COORDINATION_SUBMITTED,
    COORDINATION_DEEMED_AGREED,
    DIFFICULTY_REPORTED,
    DIRECTION_GIVEN,
    EXTENSION_REQUESTED,
    HAND_OFF_REFUSED,
    RESULT_SUBMITTED,
    RESULT_ACCEPTED,
    RESULT_RETURNED,
    DOCUMENT_REGISTERED,
    DOSSIER_CLOSED,
    DOSSIER_ARCHIVED,
];

/// No event type has an older version yet.
pub fn upcasters() -> Upcasters {
    Upcasters::new()
}

/// An event of the progress service, as any consumer sees it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
// Decoded once per event and taken apart at once: boxing the large registration would only add
// an allocation to every decode.
#[allow(clippy::large_enum_variant)]
pub enum ProgressEvent {
    Acknowledged(pb::ExecutionAcknowledged),
    ProgressReported(pb::ExecutionProgressReported),
    CoordinationRequested(pb::CoordinationRequested),
    CoordinationSubmitted(pb::CoordinationSubmitted),
    CoordinationDeemedAgreed(pb::CoordinationDeemedAgreed),
    DifficultyReported(pb::DifficultyReported),
    DirectionGiven(pb::DirectionGiven),
    ExtensionRequested(pb::ExecutionExtensionRequested),
    HandOffRefused(pb::ExecutionHandOffRefused),
    ResultSubmitted(pb::ResultSubmitted),
    ResultAccepted(pb::ResultAccepted),
    ResultReturned(pb::ResultReturned),
    DocumentRegistered(pb::DocumentRegistered),
    DossierClosed(pb::DossierClosed),
    DossierArchived(pb::DossierArchived),
}

impl ProgressEvent {
    /// Decodes an envelope of the progress service; `Ok(None)` for an event type this build
    /// does not know (a newer producer's addition), which a consumer passes over.
    pub fn decode(event: &RecordedEvent) -> Result<Option<Self>, ContractError> {
        let (version, payload) = current_payload(event, &upcasters())?;
        Self::decode_current(&event.event_type, version, &payload)
    }

    /// Decodes a payload already at `schema_version`.
    pub fn decode_current(
        event_type: &str,
        schema_version: u32,
        payload: &[u8],
    ) -> Result<Option<Self>, ContractError> {
        let Some(known) = known_type(EVENT_TYPES, event_type, schema_version)? else {
            return Ok(None);
        };
        let malformed = |e: prost::DecodeError| ContractError::Malformed {
            event_type: event_type.to_owned(),
            schema_version,
            reason: e.to_string(),
        };
        let event = match known {
            ACKNOWLEDGED => Self::Acknowledged(Message::decode(payload).map_err(malformed)?),
            PROGRESS_REPORTED => {
                Self::ProgressReported(Message::decode(payload).map_err(malformed)?)
            }
            COORDINATION_REQUESTED => {
                Self::CoordinationRequested(Message::decode(payload).map_err(malformed)?)
            }
            COORDINATION_SUBMITTED => {
                Self::CoordinationSubmitted(Message::decode(payload).map_err(malformed)?)
            }
            COORDINATION_DEEMED_AGREED => {
                Self::CoordinationDeemedAgreed(Message::decode(payload).map_err(malformed)?)
            }
            DIFFICULTY_REPORTED => {
                Self::DifficultyReported(Message::decode(payload).map_err(malformed)?)
            }
            DIRECTION_GIVEN => Self::DirectionGiven(Message::decode(payload).map_err(malformed)?),
            EXTENSION_REQUESTED => {
                Self::ExtensionRequested(Message::decode(payload).map_err(malformed)?)
            }
            HAND_OFF_REFUSED => Self::HandOffRefused(Message::decode(payload).map_err(malformed)?),
            RESULT_SUBMITTED => Self::ResultSubmitted(Message::decode(payload).map_err(malformed)?),
            RESULT_ACCEPTED => Self::ResultAccepted(Message::decode(payload).map_err(malformed)?),
            RESULT_RETURNED => Self::ResultReturned(Message::decode(payload).map_err(malformed)?),
            DOCUMENT_REGISTERED => {
                Self::DocumentRegistered(Message::decode(payload).map_err(malformed)?)
            }
            DOSSIER_CLOSED => Self::DossierClosed(Message::decode(payload).map_err(malformed)?),
            DOSSIER_ARCHIVED => Self::DossierArchived(Message::decode(payload).map_err(malformed)?),
            _ => return Ok(None),
        };
        Ok(Some(event))
    }

    /// The type and version this event is written as.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::Acknowledged(_) => ACKNOWLEDGED,
            Self::ProgressReported(_) => PROGRESS_REPORTED,
            Self::CoordinationRequested(_) => COORDINATION_REQUESTED,
            Self::CoordinationSubmitted(_) => COORDINATION_SUBMITTED,
            Self::CoordinationDeemedAgreed(_) => COORDINATION_DEEMED_AGREED,
            Self::DifficultyReported(_) => DIFFICULTY_REPORTED,
            Self::DirectionGiven(_) => DIRECTION_GIVEN,
            Self::ExtensionRequested(_) => EXTENSION_REQUESTED,
            Self::HandOffRefused(_) => HAND_OFF_REFUSED,
            Self::ResultSubmitted(_) => RESULT_SUBMITTED,
            Self::ResultAccepted(_) => RESULT_ACCEPTED,
            Self::ResultReturned(_) => RESULT_RETURNED,
            Self::DocumentRegistered(_) => DOCUMENT_REGISTERED,
            Self::DossierClosed(_) => DOSSIER_CLOSED,
            Self::DossierArchived(_) => DOSSIER_ARCHIVED,
        }
    }

    /// The protobuf payload.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Acknowledged(m) => m.encode_to_vec(),
            Self::ProgressReported(m) => m.encode_to_vec(),
            Self::CoordinationRequested(m) => m.encode_to_vec(),
            Self::CoordinationSubmitted(m) => m.encode_to_vec(),
            Self::CoordinationDeemedAgreed(m) => m.encode_to_vec(),
            Self::DifficultyReported(m) => m.encode_to_vec(),
            Self::DirectionGiven(m) => m.encode_to_vec(),
            Self::ExtensionRequested(m) => m.encode_to_vec(),
            Self::HandOffRefused(m) => m.encode_to_vec(),
            Self::ResultSubmitted(m) => m.encode_to_vec(),
            Self::ResultAccepted(m) => m.encode_to_vec(),
            Self::ResultReturned(m) => m.encode_to_vec(),
            Self::DocumentRegistered(m) => m.encode_to_vec(),
            Self::DossierClosed(m) => m.encode_to_vec(),
            Self::DossierArchived(m) => m.encode_to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips_through_its_type_name() {
        let events = [
            ProgressEvent::Acknowledged(pb::ExecutionAcknowledged {
                task_id: "t".into(),
                lead_unit: "SXD".into(),
                acknowledged_on: "2026-12-01".into(),
            }),
            ProgressEvent::ResultAccepted(pb::ResultAccepted {
                task_id: "t".into(),
                on_time: true,
                ..Default::default()
            }),
            ProgressEvent::DirectionGiven(pb::DirectionGiven {
                task_id: "t".into(),
                difficulty_id: "d".into(),
                direction: "Làm ngay".into(),
                ..Default::default()
            }),
        ];
        for event in events {
            let kind = event.event_type();
            let decoded = ProgressEvent::decode_current(kind.name, kind.version, &event.encode())
                .expect("decodes");
            assert_eq!(decoded, Some(event));
        }
    }

    #[test]
    fn an_unknown_type_is_not_ours_and_a_newer_version_waits_for_an_upgrade() {
        assert_eq!(
            ProgressEvent::decode_current("dondoc.execution.something_new", 1, &[]),
            Ok(None)
        );
        assert!(matches!(
            ProgressEvent::decode_current(ACKNOWLEDGED.name, 2, &[]),
            Err(ContractError::NewerVersion { known: 1, .. })
        ));
    }

    #[test]
    fn event_type_names_are_unique_and_in_the_service_namespaces() {
        let mut names: Vec<&str> = EVENT_TYPES.iter().map(|t| t.name).collect();
        assert!(names.iter().all(|n| {
            ["dondoc.execution.", "dondoc.register.", "dondoc.dossier."]
                .iter()
                .any(|prefix| n.starts_with(prefix))
        }));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EVENT_TYPES.len());
    }
}
