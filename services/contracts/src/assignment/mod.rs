//! Events published by the assignment service (JetStream stream `DONDOC_ASSIGNMENT`, subjects
//! `dondoc.assignment.<stream type>.<stream id>`): the unit directory and tasks.
//!
//! Payloads are the messages of `proto/dondoc/v1/events.proto`. Dates are ISO `YYYY-MM-DD`
//! business dates (Asia/Ho_Chi_Minh); unit codes are upper-case codes of the unit directory;
//! an empty string means "absent" (no deadline, no leader).

mod legacy_issuer;

use dondoc_eventsourcing::{RecordedEvent, UpcastContext, UpcastError, Upcasters};
use dondoc_proto::v1 as pb;
use prost::Message;

use crate::{ContractError, EventType, current_payload, known_type};

pub use legacy_issuer::issuer_from_legacy_text;

/// The service name: stream `DONDOC_ASSIGNMENT`, subjects `dondoc.assignment.>`.
pub const SERVICE: &str = "assignment";

/// Stream type of tasks (stream id = task id).
pub const TASK_STREAM: &str = "task";
/// Stream type of the unit directory (one stream, id [`DIRECTORY_STREAM_ID`]).
pub const DIRECTORY_STREAM: &str = "directory";
/// The one stream of the unit directory.
pub const DIRECTORY_STREAM_ID: &str = "unit-directory";
/// Stream type of the leader directory (one stream, id [`LEADER_STREAM_ID`]).
pub const LEADER_STREAM: &str = "leaders";
/// The one stream of the leader directory.
pub const LEADER_STREAM_ID: &str = "leader-directory";

/// `dondoc.task.assigned` v3: origin and assigner told apart (v2 had one issuer; v1 carried
/// it as free text).
pub const TASK_ASSIGNED: EventType = EventType {
    name: "dondoc.task.assigned",
    version: 3,
};
/// `dondoc.task.reassigned` v1: the issuing authority moved the task to another lead unit.
pub const TASK_REASSIGNED: EventType = EventType {
    name: "dondoc.task.reassigned",
    version: 1,
};
/// `dondoc.task.hand_off_refused` v1: the lead unit asked to hand its task on (rule 2).
pub const TASK_HAND_OFF_REFUSED: EventType = EventType {
    name: "dondoc.task.hand_off_refused",
    version: 1,
};
/// `dondoc.task.deadline_extended` v1 (gia hạn): an approved extension, or a first deadline.
pub const TASK_DEADLINE_EXTENDED: EventType = EventType {
    name: "dondoc.task.deadline_extended",
    version: 1,
};
/// `dondoc.task.extension_requested` v1: the lead unit asked for a later deadline.
pub const TASK_EXTENSION_REQUESTED: EventType = EventType {
    name: "dondoc.task.extension_requested",
    version: 1,
};
/// `dondoc.task.extension_rejected` v1: the leader refused a requested extension.
pub const TASK_EXTENSION_REJECTED: EventType = EventType {
    name: "dondoc.task.extension_rejected",
    version: 1,
};
/// `dondoc.task.cancelled` v1.
pub const TASK_CANCELLED: EventType = EventType {
    name: "dondoc.task.cancelled",
    version: 1,
};
/// `dondoc.directory.imported` v1: a version of the unit directory was loaded or replaced.
pub const DIRECTORY_IMPORTED: EventType = EventType {
    name: "dondoc.directory.imported",
    version: 1,
};
/// `dondoc.leaders.imported` v1: the leader directory, replaced as a whole.
pub const LEADERS_IMPORTED: EventType = EventType {
    name: "dondoc.leaders.imported",
    version: 1,
};

/// Every event type the assignment service publishes, at the version it writes today.
pub const EVENT_TYPES: &[EventType] = &[
    TASK_ASSIGNED,
    TASK_REASSIGNED,
    TASK_HAND_OFF_REFUSED,
    TASK_DEADLINE_EXTENDED,
    TASK_EXTENSION_REQUESTED,
    TASK_EXTENSION_REJECTED,
    TASK_CANCELLED,
    DIRECTORY_IMPORTED,
    LEADERS_IMPORTED,
];

/// The upcasters of every older version of these event types; the producer's store and every
/// consumer register them.
pub fn upcasters() -> Upcasters {
    Upcasters::new()
        .register(TASK_ASSIGNED.name, 1, upcast_task_assigned_v1)
        .register(TASK_ASSIGNED.name, 2, upcast_task_assigned_v2)
}

/// An event of the assignment service, as any consumer sees it.
///
/// `#[non_exhaustive]`: the assignment service adds event types over time, and a consumer must
/// say what it does with the ones it does not handle (usually nothing).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
// Decoded once per event and taken apart at once: boxing the large assignment would only add
// an allocation to every decode.
#[allow(clippy::large_enum_variant)]
pub enum AssignmentEvent {
    TaskAssigned(pb::TaskAssigned),
    TaskReassigned(pb::TaskReassigned),
    TaskHandOffRefused(pb::TaskHandOffRefused),
    TaskDeadlineExtended(pb::TaskDeadlineExtended),
    TaskExtensionRequested(pb::TaskExtensionRequested),
    TaskExtensionRejected(pb::TaskExtensionRejected),
    TaskCancelled(pb::TaskCancelled),
    DirectoryImported(pb::UnitDirectoryImported),
    LeadersImported(pb::LeaderDirectoryImported),
}

impl AssignmentEvent {
    /// Reads a recorded event of the assignment service, upcasting an older payload first.
    ///
    /// `Ok(None)` for an event type this build does not know (a newer producer's addition that
    /// the consumer has no use for yet); an error for a payload that does not match its type,
    /// or a version newer than this build knows.
    pub fn decode(event: &RecordedEvent) -> Result<Option<Self>, ContractError> {
        let (version, payload) = current_payload(event, &upcasters())?;
        Self::decode_current(&event.event_type, version, &payload)
    }

    /// Decodes a payload already at (or claimed to be at) `schema_version`.
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
            TASK_ASSIGNED => Self::TaskAssigned(Message::decode(payload).map_err(malformed)?),
            TASK_REASSIGNED => Self::TaskReassigned(Message::decode(payload).map_err(malformed)?),
            TASK_HAND_OFF_REFUSED => {
                Self::TaskHandOffRefused(Message::decode(payload).map_err(malformed)?)
            }
            TASK_DEADLINE_EXTENDED => {
                Self::TaskDeadlineExtended(Message::decode(payload).map_err(malformed)?)
            }
            TASK_EXTENSION_REQUESTED => {
                Self::TaskExtensionRequested(Message::decode(payload).map_err(malformed)?)
            }
            TASK_EXTENSION_REJECTED => {
                Self::TaskExtensionRejected(Message::decode(payload).map_err(malformed)?)
            }
            TASK_CANCELLED => Self::TaskCancelled(Message::decode(payload).map_err(malformed)?),
            DIRECTORY_IMPORTED => {
                Self::DirectoryImported(Message::decode(payload).map_err(malformed)?)
            }
            LEADERS_IMPORTED => Self::LeadersImported(Message::decode(payload).map_err(malformed)?),
            _ => return Ok(None),
        };
        Ok(Some(event))
    }

    /// The type and version this event is written as.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::TaskAssigned(_) => TASK_ASSIGNED,
            Self::TaskReassigned(_) => TASK_REASSIGNED,
            Self::TaskHandOffRefused(_) => TASK_HAND_OFF_REFUSED,
            Self::TaskDeadlineExtended(_) => TASK_DEADLINE_EXTENDED,
            Self::TaskExtensionRequested(_) => TASK_EXTENSION_REQUESTED,
            Self::TaskExtensionRejected(_) => TASK_EXTENSION_REJECTED,
            Self::TaskCancelled(_) => TASK_CANCELLED,
            Self::DirectoryImported(_) => DIRECTORY_IMPORTED,
            Self::LeadersImported(_) => LEADERS_IMPORTED,
        }
    }

    /// The payload bytes, as the producer stores them.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::TaskAssigned(m) => m.encode_to_vec(),
            Self::TaskReassigned(m) => m.encode_to_vec(),
            Self::TaskHandOffRefused(m) => m.encode_to_vec(),
            Self::TaskDeadlineExtended(m) => m.encode_to_vec(),
            Self::TaskExtensionRequested(m) => m.encode_to_vec(),
            Self::TaskExtensionRejected(m) => m.encode_to_vec(),
            Self::TaskCancelled(m) => m.encode_to_vec(),
            Self::DirectoryImported(m) => m.encode_to_vec(),
            Self::LeadersImported(m) => m.encode_to_vec(),
        }
    }
}

/// `dondoc.task.assigned` v1 → v2.
///
/// v1 carried the issuer as free text typed by the Office; v2 has a structured issuer and the
/// business date of the assignment. v1 did not store that date in its payload, but its envelope
/// recorded when the assignment happened: its business date (Asia/Ho_Chi_Minh) is the
/// assignment date, a recorded fact rather than a guess.
fn upcast_task_assigned_v1(
    payload: &[u8],
    context: &UpcastContext,
) -> Result<Vec<u8>, UpcastError> {
    let v1 = pb::TaskAssignedV1::decode(payload)
        .map_err(|e| UpcastError::malformed(format!("not a TaskAssignedV1 payload: {e}")))?;
    let assigned_on = dondoc_eventsourcing::clock::business_date(context.occurred_at)
        .format("%Y-%m-%d")
        .to_string();
    Ok(pb::TaskAssignedV2 {
        task_id: v1.task_id,
        source_document: v1.source_document,
        title: v1.title,
        content: v1.content,
        lead_unit: v1.lead_unit,
        coordinating_units: v1.coordinating_units,
        deadline: v1.deadline,
        priority: v1.priority,
        issuer: Some(issuer_from_legacy_text(&v1.issuer)),
        assigned_on,
    }
    .encode_to_vec())
}

/// `dondoc.task.assigned` v2 → v3: the one issuer becomes an origin and an assigner.
///
/// A v2 issuer said either where the task came from (the Government, the Prime Minister, the
/// City People's Committee as a body) or who assigned it (the Chairman, a named
/// Vice-Chairman); its one document was both the origin's and the city's. So: a central
/// issuer is the origin, with that document, and the assignment is the City People's
/// Committee's own; a leader is the assigner, and the task starts with the city's document.
/// Nothing is guessed that v2 did not record.
fn upcast_task_assigned_v2(
    payload: &[u8],
    _context: &UpcastContext,
) -> Result<Vec<u8>, UpcastError> {
    let v2 = pb::TaskAssignedV2::decode(payload)
        .map_err(|e| UpcastError::malformed(format!("not a TaskAssignedV2 payload: {e}")))?;
    let (origin, assignment) =
        origin_and_assignment_from_issuer(&v2.issuer.unwrap_or_default(), v2.source_document);
    Ok(pb::TaskAssigned {
        task_id: v2.task_id,
        origin: Some(origin),
        assignment: Some(assignment),
        title: v2.title,
        content: v2.content,
        lead_unit: v2.lead_unit,
        coordinating_units: v2.coordinating_units,
        deadline: v2.deadline,
        priority: v2.priority,
        assigned_on: v2.assigned_on,
        supervising_leader_id: String::new(),
        historical: false,
        import_reason: String::new(),
    }
    .encode_to_vec())
}

/// Reads a first-release issuer (one field for where a task came from and who assigned it) and
/// its one document as an origin and an assignment; see `upcast_task_assigned_v2`. Clients of
/// the first release still send that form, and the API reads it the same way.
pub fn origin_and_assignment_from_issuer(
    issuer: &pb::Issuer,
    document: Option<pb::SourceDocument>,
) -> (pb::TaskOrigin, pb::TaskAssignment) {
    use pb::IssuerKind as I;
    let kind = I::try_from(issuer.kind).unwrap_or(I::Unspecified);
    let origin = |kind: pb::OriginKind, document: Option<pb::SourceDocument>| pb::TaskOrigin {
        kind: kind as i32,
        issuing_body: String::new(),
        document,
    };
    let assigner = |kind: pb::AssignerKind, leader_id: &str, leader_name: &str| pb::Assigner {
        kind: kind as i32,
        leader_id: leader_id.to_owned(),
        leader_name: leader_name.to_owned(),
    };
    let (origin, assigner) = match kind {
        I::Government => (
            origin(pb::OriginKind::Government, document.clone()),
            assigner(pb::AssignerKind::CityPeoplesCommittee, "", ""),
        ),
        I::PrimeMinister => (
            origin(pb::OriginKind::PrimeMinister, document.clone()),
            assigner(pb::AssignerKind::CityPeoplesCommittee, "", ""),
        ),
        I::CityPeoplesCommittee => (
            origin(pb::OriginKind::CityPeoplesCommittee, None),
            assigner(pb::AssignerKind::CityPeoplesCommittee, "", ""),
        ),
        I::Chairman => (
            origin(pb::OriginKind::CityPeoplesCommittee, None),
            assigner(
                pb::AssignerKind::Chairman,
                &issuer.leader_id,
                &issuer.leader_name,
            ),
        ),
        I::ViceChairman => (
            origin(pb::OriginKind::CityPeoplesCommittee, None),
            assigner(
                pb::AssignerKind::ViceChairman,
                &issuer.leader_id,
                &issuer.leader_name,
            ),
        ),
        I::Unclassified | I::Unspecified => (
            pb::TaskOrigin {
                kind: pb::OriginKind::Unclassified as i32,
                issuing_body: issuer.leader_name.clone(),
                document: None,
            },
            assigner(pb::AssignerKind::Unclassified, "", &issuer.leader_name),
        ),
    };
    (
        origin,
        pb::TaskAssignment {
            assigner: Some(assigner),
            document,
        },
    )
}

#[cfg(test)]
mod tests;
