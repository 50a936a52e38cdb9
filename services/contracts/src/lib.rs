//! The published language of dondoc: what one service may know about another.
//!
//! Services talk only through events (design.md §3.8a). Every event that leaves a service is
//! defined here once — its protobuf message (in `dondoc-proto`), its stable type name, its
//! schema version, the upcasters from its older versions, and a typed decoder from an envelope
//! to a `#[non_exhaustive]` enum per publishing service — and both its producer and all its
//! consumers use this crate. A consumer therefore never imports a producer's crate or domain
//! types: the two can be built and deployed independently, and a new event type in a producer
//! does not break an older consumer (the decoder answers "not mine" and the consumer moves on).
//!
//! Each publishing service has a module:
//! - [`assignment`]: the unit directory and tasks.
//! - [`progress`]: how lead units carry tasks out (execution).
//! - [`escalation`]: notices about deadlines and the leadership's actions.
//! - [`discipline`]: discipline proposals, their clocks and read audit.
//!
//! [`text`] holds the text rules every service applies to what people type (NFC, no control
//! characters, Vietnamese-insensitive folding), so that a name means the same in every service.

pub mod assignment;
pub mod discipline;
pub mod escalation;
pub mod progress;
pub mod text;

use dondoc_eventsourcing::{RecordedEvent, UpcastContext, UpcastError, Upcasters};

/// Why an envelope could not be turned into a contract event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// The payload is not what its type and version promise: a producer bug or corruption;
    /// retrying cannot help.
    #[error("malformed {event_type} v{schema_version} payload: {reason}")]
    Malformed {
        event_type: String,
        schema_version: u32,
        reason: String,
    },
    /// A version of a known event type that this build does not know yet: the producer was
    /// upgraded before this consumer. It must wait for the consumer's upgrade, never be read as
    /// if it were current (proto/EVOLUTION.md: consumers before producers).
    #[error(
        "{event_type} v{schema_version} is newer than this build knows (v{known}); upgrade the \
         consumer"
    )]
    NewerVersion {
        event_type: String,
        schema_version: u32,
        known: u32,
    },
    /// An old version that no upcaster could read.
    #[error("{0}")]
    Upcast(String),
}

/// What a consumer's projection makes of a contract error: a newer version is held until the
/// upgrade, anything else is permanent for the event.
impl From<ContractError> for dondoc_eventsourcing::projection::ProjectionError {
    fn from(error: ContractError) -> Self {
        match error {
            ContractError::NewerVersion { .. } => Self::NewerVersion(error.to_string()),
            other => Self::Other(other.to_string()),
        }
    }
}

impl From<UpcastError> for ContractError {
    fn from(error: UpcastError) -> Self {
        ContractError::Upcast(error.to_string())
    }
}

/// One event type of the published language: its name and the schema version producers write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventType {
    /// Stable name, e.g. `dondoc.task.assigned`; part of every stored row and subject.
    pub name: &'static str,
    /// The version written today; older stored versions are upcast to it when read.
    pub version: u32,
}

/// The known type of `event_type` among `known`, if this build knows it at exactly
/// `schema_version` (`Ok(None)`: a type this build does not know, which a consumer passes
/// over); a newer version waits for the consumer's upgrade, an older one should have been
/// upcast.
pub(crate) fn known_type(
    known: &[EventType],
    event_type: &str,
    schema_version: u32,
) -> Result<Option<EventType>, ContractError> {
    let Some(known) = known.iter().find(|t| t.name == event_type) else {
        return Ok(None);
    };
    if schema_version > known.version {
        return Err(ContractError::NewerVersion {
            event_type: event_type.to_owned(),
            schema_version,
            known: known.version,
        });
    }
    if schema_version < known.version {
        return Err(ContractError::Upcast(format!(
            "{event_type} v{schema_version} has no upcaster to v{}",
            known.version
        )));
    }
    Ok(Some(*known))
}

/// Brings `event`'s payload to the current version of its type with `upcasters`, returning the
/// version and the payload to decode.
pub(crate) fn current_payload(
    event: &RecordedEvent,
    upcasters: &Upcasters,
) -> Result<(u32, Vec<u8>), ContractError> {
    Ok(upcasters.upcast(
        &event.event_type,
        event.schema_version,
        event.payload.clone(),
        &UpcastContext {
            occurred_at: event.occurred_at,
        },
    )?)
}
