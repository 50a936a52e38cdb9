//! Events published by the discipline service (JetStream stream `DONDOC_DISCIPLINE`, subjects
//! `dondoc.discipline.<stream type>.<stream id>`): discipline proposals from draft to decision,
//! their clocks, and the audit of who read them.
//!
//! Cases hold personal data of officials (the target's name and post): a consumer keeps only
//! what it needs — reporting the state, the unit and the tasks exempted.

use dondoc_eventsourcing::{RecordedEvent, Upcasters};
use dondoc_proto::v1 as pb;
use prost::Message;

use crate::{ContractError, EventType, current_payload, known_type};

/// The service name: stream `DONDOC_DISCIPLINE`, subjects `dondoc.discipline.>`.
pub const SERVICE: &str = "discipline";

/// Stream type of a case (stream id = its UUIDv7).
pub const CASE_STREAM: &str = "case";
/// Stream type of a case's read audit (stream id = `audit-<case id>`).
pub const AUDIT_STREAM: &str = "case-audit";

macro_rules! event_types {
    ($($konst:ident = $name:literal;)*) => {
        $(
            #[doc = concat!("`", $name, "` v1.")]
            pub const $konst: EventType = EventType { name: $name, version: 1 };
        )*
        /// Every event type the discipline service publishes, at the version it writes today.
        pub const EVENT_TYPES: &[EventType] = &[$($konst),*];
    };
}

event_types! {
    CASE_OPENED = "dondoc.discipline.case_opened";
    CASE_AMENDED = "dondoc.discipline.case_amended";
    HOME_AFFAIRS_OPINION_RECORDED = "dondoc.discipline.home_affairs_opinion_recorded";
    CASE_SUBMITTED = "dondoc.discipline.case_submitted";
    PROCESSING_EXTENDED = "dondoc.discipline.processing_extended";
    CASE_DECIDED = "dondoc.discipline.case_decided";
    CASE_WITHDRAWN = "dondoc.discipline.case_withdrawn";
    DEADLINE_WARNING = "dondoc.discipline.deadline_warning";
    CASE_READ = "dondoc.discipline.case_read";
}

/// No event type has an older version yet.
pub fn upcasters() -> Upcasters {
    Upcasters::new()
}

/// An event of the discipline service, as any consumer sees it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum DisciplineEvent {
    CaseOpened(pb::CaseOpened),
    CaseAmended(pb::CaseAmended),
    HomeAffairsOpinionRecorded(pb::HomeAffairsOpinionRecorded),
    CaseSubmitted(pb::CaseSubmitted),
    ProcessingExtended(pb::CaseProcessingExtended),
    CaseDecided(pb::CaseDecided),
    CaseWithdrawn(pb::CaseWithdrawn),
    DeadlineWarning(pb::CaseDeadlineWarning),
    CaseRead(pb::CaseRead),
}

impl DisciplineEvent {
    /// Decodes an envelope; `Ok(None)` for a type this build does not know.
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
            CASE_OPENED => Self::CaseOpened(Message::decode(payload).map_err(malformed)?),
            CASE_AMENDED => Self::CaseAmended(Message::decode(payload).map_err(malformed)?),
            HOME_AFFAIRS_OPINION_RECORDED => {
                Self::HomeAffairsOpinionRecorded(Message::decode(payload).map_err(malformed)?)
            }
            CASE_SUBMITTED => Self::CaseSubmitted(Message::decode(payload).map_err(malformed)?),
            PROCESSING_EXTENDED => {
                Self::ProcessingExtended(Message::decode(payload).map_err(malformed)?)
            }
            CASE_DECIDED => Self::CaseDecided(Message::decode(payload).map_err(malformed)?),
            CASE_WITHDRAWN => Self::CaseWithdrawn(Message::decode(payload).map_err(malformed)?),
            DEADLINE_WARNING => Self::DeadlineWarning(Message::decode(payload).map_err(malformed)?),
            CASE_READ => Self::CaseRead(Message::decode(payload).map_err(malformed)?),
            _ => return Ok(None),
        };
        Ok(Some(event))
    }

    /// The type and version this event is written as.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::CaseOpened(_) => CASE_OPENED,
            Self::CaseAmended(_) => CASE_AMENDED,
            Self::HomeAffairsOpinionRecorded(_) => HOME_AFFAIRS_OPINION_RECORDED,
            Self::CaseSubmitted(_) => CASE_SUBMITTED,
            Self::ProcessingExtended(_) => PROCESSING_EXTENDED,
            Self::CaseDecided(_) => CASE_DECIDED,
            Self::CaseWithdrawn(_) => CASE_WITHDRAWN,
            Self::DeadlineWarning(_) => DEADLINE_WARNING,
            Self::CaseRead(_) => CASE_READ,
        }
    }

    /// The protobuf payload.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::CaseOpened(m) => m.encode_to_vec(),
            Self::CaseAmended(m) => m.encode_to_vec(),
            Self::HomeAffairsOpinionRecorded(m) => m.encode_to_vec(),
            Self::CaseSubmitted(m) => m.encode_to_vec(),
            Self::ProcessingExtended(m) => m.encode_to_vec(),
            Self::CaseDecided(m) => m.encode_to_vec(),
            Self::CaseWithdrawn(m) => m.encode_to_vec(),
            Self::DeadlineWarning(m) => m.encode_to_vec(),
            Self::CaseRead(m) => m.encode_to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips_and_names_are_unique_in_the_namespace() {
        let event = DisciplineEvent::CaseWithdrawn(pb::CaseWithdrawn {
            case_id: "c".into(),
            objective_cause: true,
            exempt_task_ids: vec!["t".into()],
            ..Default::default()
        });
        let kind = event.event_type();
        assert_eq!(
            DisciplineEvent::decode_current(kind.name, kind.version, &event.encode()),
            Ok(Some(event))
        );
        let mut names: Vec<&str> = EVENT_TYPES.iter().map(|t| t.name).collect();
        assert!(names.iter().all(|n| n.starts_with("dondoc.discipline.")));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EVENT_TYPES.len());
    }
}
