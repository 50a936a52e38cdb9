//! Events published by the escalation service (JetStream stream `DONDOC_ESCALATION`, subjects
//! `dondoc.escalation.<stream type>.<stream id>`): the notices it issued about each task and
//! their delivery, and the leadership's actions the Office counts in its reports.
//!
//! Also the subjects on which each notice is offered to gateways, one per recipient:
//! [`unit_subject`] and [`leader_subject`] (stream `DONDOC_NOTIFY`), carrying the
//! `dondoc.v1.Notification` message.

use dondoc_eventsourcing::{RecordedEvent, Upcasters};
use dondoc_proto::v1 as pb;
use prost::Message;

use crate::{ContractError, EventType, current_payload, known_type};

/// The service name: stream `DONDOC_ESCALATION`, subjects `dondoc.escalation.>`.
pub const SERVICE: &str = "escalation";

/// Stream type of a task's watch (stream id = the task id).
pub const WATCH_STREAM: &str = "watch";
/// Stream type of a leadership action (stream id = its UUIDv7).
pub const ACTION_STREAM: &str = "leadership-action";

/// `dondoc.escalation.notice_issued` v1.
pub const NOTICE_ISSUED: EventType = EventType {
    name: "dondoc.escalation.notice_issued",
    version: 1,
};
/// `dondoc.escalation.notice_delivered` v1.
pub const NOTICE_DELIVERED: EventType = EventType {
    name: "dondoc.escalation.notice_delivered",
    version: 1,
};
/// `dondoc.escalation.notice_delivery_failed` v1.
pub const NOTICE_DELIVERY_FAILED: EventType = EventType {
    name: "dondoc.escalation.notice_delivery_failed",
    version: 1,
};
/// `dondoc.escalation.leadership_action_recorded` v1.
pub const LEADERSHIP_ACTION_RECORDED: EventType = EventType {
    name: "dondoc.escalation.leadership_action_recorded",
    version: 1,
};

/// Every event type the escalation service publishes, at the version it writes today.
pub const EVENT_TYPES: &[EventType] = &[
    NOTICE_ISSUED,
    NOTICE_DELIVERED,
    NOTICE_DELIVERY_FAILED,
    LEADERSHIP_ACTION_RECORDED,
];

/// The JetStream stream that keeps the per-recipient notification subjects for gateways.
pub const NOTIFY_STREAM: &str = "DONDOC_NOTIFY";
/// Every notification subject.
pub const NOTIFY_SUBJECTS: &str = "dondoc.notify.>";

/// A subject token from an identifier: NATS reserves `.`, `*`, `>` and whitespace.
fn token(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c == '.' || c == '*' || c == '>' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// `dondoc.notify.unit.<code>`: notices for a unit (its head).
pub fn unit_subject(unit_code: &str) -> String {
    format!("dondoc.notify.unit.{}", token(unit_code))
}

/// `dondoc.notify.leader.<id>`: notices for a leader.
pub fn leader_subject(leader_id: &str) -> String {
    format!("dondoc.notify.leader.{}", token(leader_id))
}

/// No event type has an older version yet.
pub fn upcasters() -> Upcasters {
    Upcasters::new()
}

/// An event of the escalation service, as any consumer sees it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum EscalationEvent {
    NoticeIssued(pb::NoticeIssued),
    NoticeDelivered(pb::NoticeDelivered),
    NoticeDeliveryFailed(pb::NoticeDeliveryFailed),
    LeadershipActionRecorded(pb::LeadershipActionRecorded),
}

impl EscalationEvent {
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
            NOTICE_ISSUED => Self::NoticeIssued(Message::decode(payload).map_err(malformed)?),
            NOTICE_DELIVERED => Self::NoticeDelivered(Message::decode(payload).map_err(malformed)?),
            NOTICE_DELIVERY_FAILED => {
                Self::NoticeDeliveryFailed(Message::decode(payload).map_err(malformed)?)
            }
            LEADERSHIP_ACTION_RECORDED => {
                Self::LeadershipActionRecorded(Message::decode(payload).map_err(malformed)?)
            }
            _ => return Ok(None),
        };
        Ok(Some(event))
    }

    /// The type and version this event is written as.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::NoticeIssued(_) => NOTICE_ISSUED,
            Self::NoticeDelivered(_) => NOTICE_DELIVERED,
            Self::NoticeDeliveryFailed(_) => NOTICE_DELIVERY_FAILED,
            Self::LeadershipActionRecorded(_) => LEADERSHIP_ACTION_RECORDED,
        }
    }

    /// The protobuf payload.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::NoticeIssued(m) => m.encode_to_vec(),
            Self::NoticeDelivered(m) => m.encode_to_vec(),
            Self::NoticeDeliveryFailed(m) => m.encode_to_vec(),
            Self::LeadershipActionRecorded(m) => m.encode_to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips_through_its_type_name() {
        let events = [
            EscalationEvent::NoticeIssued(pb::NoticeIssued {
                notice_id: "t:reminder-5:2026-03-20".into(),
                text: "Nhắc hạn: còn 5 ngày làm việc".into(),
                ..Default::default()
            }),
            EscalationEvent::LeadershipActionRecorded(pb::LeadershipActionRecorded {
                action_id: "a".into(),
                kind: "criticism".into(),
                units: vec!["SXD".into()],
                ..Default::default()
            }),
        ];
        for event in events {
            let kind = event.event_type();
            let decoded = EscalationEvent::decode_current(kind.name, kind.version, &event.encode())
                .expect("decodes");
            assert_eq!(decoded, Some(event));
        }
    }

    #[test]
    fn recipient_subjects_never_break_the_subject_grammar() {
        assert_eq!(unit_subject("SXD"), "dondoc.notify.unit.SXD");
        assert_eq!(
            leader_subject("pct.nguyen van a"),
            "dondoc.notify.leader.pct_nguyen_van_a"
        );
    }
}
