//! The shape of a write model: a pure decision function and a pure evolution function.
//!
//! This follows cqrs-es and the "functional event sourcing" pattern: all business rules live in
//! [`Aggregate::decide`], which turns a command and the current state into new events or a typed
//! error; [`Aggregate::apply`] only folds an event into the state and never fails, because an
//! event is a fact that already happened. Neither does I/O, so aggregates are tested with plain
//! given/when/then unit tests (see [`crate::testing::given`]).

/// A consistency boundary whose state is rebuilt from its own event stream.
pub trait Aggregate: Default + Clone + Send + Sync + 'static {
    /// Stable name of the aggregate kind, stored with every event (e.g. `"task"`).
    const TYPE: &'static str;
    /// What callers ask for (imperative: `AssignTask`).
    type Command;
    /// What happened (past tense: `TaskAssigned`).
    type Event: DomainEvent;
    /// Why a command was refused. Mapped to a gRPC status in one place per service.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Decides what happens. Must be deterministic given the state and the command: anything
    /// that varies (time, ids, lookups) is carried in the command.
    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// Evolves the state by one event. Infallible and rule-free.
    fn apply(&mut self, event: &Self::Event);

    /// Rebuilds a state from a history.
    fn from_events<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self {
        let mut state = Self::default();
        for event in events {
            state.apply(event);
        }
        state
    }
}

/// A domain event that can be stored: it knows its stable type name and schema version and
/// converts to and from its protobuf payload.
pub trait DomainEvent: Clone + std::fmt::Debug + Send + Sync + Sized + 'static {
    /// Stable event type name, e.g. `"dondoc.task.assigned"`.
    fn event_type(&self) -> &'static str;
    /// The schema version this code writes for this event type.
    fn schema_version(&self) -> u32;
    /// Encodes the payload (protobuf bytes).
    fn encode(&self) -> Vec<u8>;
    /// Decodes a payload already upcast to the current schema version.
    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError>;
}

/// A stored payload could not be turned back into a domain event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event type {event_type} v{schema_version}")]
    UnknownType {
        event_type: String,
        schema_version: u32,
    },
    #[error("malformed {event_type} payload: {reason}")]
    Malformed { event_type: String, reason: String },
}
