//! The envelope every event travels in: what is stored in the event table and published on
//! NATS (design.md §3.1).

use chrono::{DateTime, SecondsFormat, Utc};
use dondoc_proto::v1 as pb;
use uuid::Uuid;

/// Who caused an event. Recorded on every event: officials are accountable for each step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    pub subject: String,
    pub role: String,
    pub unit_code: String,
    pub leader_id: String,
}

/// Context shared by all events of one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventMetadata {
    /// Business time of the fact.
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    /// Groups everything one user action caused, across services.
    pub correlation_id: String,
    /// The command or event that directly caused this one.
    pub causation_id: String,
    /// W3C traceparent of the command's span; empty when tracing is off.
    pub traceparent: String,
}

/// An event about to be appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: Vec<u8>,
}

impl NewEvent {
    /// Wraps an encoded domain event with a fresh UUIDv7 id (time-ordered, so ids sort roughly
    /// by creation and index well).
    pub fn from_domain<E: crate::DomainEvent>(event: &E) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            payload: event.encode(),
        }
    }
}

/// An event as committed: its place in the stream and in the service's global log, and its
/// link in the hash chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Gap-free position in the producing service's log, in commit order.
    pub position: u64,
    pub event_id: Uuid,
    pub stream_type: String,
    pub stream_id: String,
    /// 1 for the first event of a stream.
    pub stream_version: u64,
    pub event_type: String,
    /// Version of `payload` (after upcasting when read through a store or consumer).
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor: Actor,
    pub correlation_id: String,
    pub causation_id: String,
    pub traceparent: String,
    /// Producing service.
    pub source: String,
    pub payload: Vec<u8>,
}

impl RecordedEvent {
    /// Decodes the payload into a domain event.
    pub fn decode<E: crate::DomainEvent>(&self) -> Result<E, crate::DecodeError> {
        E::decode(&self.event_type, self.schema_version, &self.payload)
    }

    /// The protobuf envelope published on NATS.
    pub fn to_envelope(&self) -> pb::EventEnvelope {
        pb::EventEnvelope {
            event_id: self.event_id.to_string(),
            stream_type: self.stream_type.clone(),
            stream_id: self.stream_id.clone(),
            stream_version: self.stream_version,
            global_position: self.position,
            event_type: self.event_type.clone(),
            schema_version: self.schema_version,
            occurred_at: Some(to_timestamp(self.occurred_at)),
            recorded_at: Some(to_timestamp(self.recorded_at)),
            actor: Some(pb::Actor {
                subject: self.actor.subject.clone(),
                role: self.actor.role.clone(),
                unit_code: self.actor.unit_code.clone(),
                leader_id: self.actor.leader_id.clone(),
            }),
            correlation_id: self.correlation_id.clone(),
            causation_id: self.causation_id.clone(),
            traceparent: self.traceparent.clone(),
            source: self.source.clone(),
            payload: self.payload.clone(),
        }
    }

    /// Reads an envelope received from NATS.
    pub fn from_envelope(envelope: pb::EventEnvelope) -> Result<Self, String> {
        let event_id = Uuid::parse_str(&envelope.event_id)
            .map_err(|e| format!("event_id {:?}: {e}", envelope.event_id))?;
        let actor = envelope.actor.unwrap_or_default();
        Ok(Self {
            position: envelope.global_position,
            event_id,
            stream_type: envelope.stream_type,
            stream_id: envelope.stream_id,
            stream_version: envelope.stream_version,
            event_type: envelope.event_type,
            schema_version: envelope.schema_version,
            occurred_at: from_timestamp(envelope.occurred_at)?,
            recorded_at: from_timestamp(envelope.recorded_at)?,
            actor: Actor {
                subject: actor.subject,
                role: actor.role,
                unit_code: actor.unit_code,
                leader_id: actor.leader_id,
            },
            correlation_id: envelope.correlation_id,
            causation_id: envelope.causation_id,
            traceparent: envelope.traceparent,
            source: envelope.source,
            payload: envelope.payload,
        })
    }
}

pub fn to_timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn from_timestamp(t: Option<prost_types::Timestamp>) -> Result<DateTime<Utc>, String> {
    let t = t.ok_or("missing timestamp")?;
    let nanos = u32::try_from(t.nanos).map_err(|_| "negative nanos".to_owned())?;
    DateTime::from_timestamp(t.seconds, nanos).ok_or_else(|| "timestamp out of range".to_owned())
}

/// The text form stored in SQL: fixed-width RFC 3339 in UTC, so it sorts as text and hashes
/// identically on every engine.
pub(crate) fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc))
}
