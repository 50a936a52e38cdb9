//! Schema evolution for stored events.
//!
//! Events are kept for decades and the hash chain covers their stored bytes, so old rows are
//! never rewritten. Instead every row keeps its schema version and readers pass old payloads
//! through registered upcasters (v1 → v2 → …) until they reach the version the code knows.
//! Each upcaster is a pure function over protobuf bytes, registered by the crate that owns the
//! event type (see `proto/EVOLUTION.md`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

/// What an upcaster may know besides the payload: facts of the envelope that a new schema
/// version moves into the payload (an old record must gain fields only from recorded facts,
/// never from guesses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpcastContext {
    /// Business time of the event, as recorded in its envelope.
    pub occurred_at: DateTime<Utc>,
}

/// Turns the payload of version `n` into the payload of version `n + 1`.
pub type UpcastFn = fn(&[u8], &UpcastContext) -> Result<Vec<u8>, UpcastError>;

/// An old payload could not be upcast.
#[derive(Debug, thiserror::Error)]
#[error("cannot upcast {event_type} from v{from_version}: {reason}")]
pub struct UpcastError {
    pub event_type: String,
    pub from_version: u32,
    pub reason: String,
}

impl UpcastError {
    /// An upcaster's own failure; the registry fills in which event and version it was.
    pub fn malformed(reason: impl Into<String>) -> Self {
        Self {
            event_type: String::new(),
            from_version: 0,
            reason: reason.into(),
        }
    }
}

/// The registry of upcasters, keyed by event type and the version they upcast *from*.
#[derive(Clone, Default)]
pub struct Upcasters {
    steps: HashMap<(&'static str, u32), UpcastFn>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<_> = self.steps.keys().collect();
        keys.sort();
        f.debug_struct("Upcasters").field("steps", &keys).finish()
    }
}

impl Upcasters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the step `from_version` → `from_version + 1` for `event_type`.
    #[must_use]
    pub fn register(mut self, event_type: &'static str, from_version: u32, step: UpcastFn) -> Self {
        self.steps.insert((event_type, from_version), step);
        self
    }

    /// Merges another registry into this one (each service combines the registries of the
    /// event types it reads).
    #[must_use]
    pub fn merge(mut self, other: &Upcasters) -> Self {
        self.steps.extend(other.steps.iter().map(|(k, v)| (*k, *v)));
        self
    }

    /// Applies every registered step from `schema_version` on; returns the final version and
    /// payload. A payload with no registered step is returned unchanged.
    pub fn upcast(
        &self,
        event_type: &str,
        schema_version: u32,
        payload: Vec<u8>,
        context: &UpcastContext,
    ) -> Result<(u32, Vec<u8>), UpcastError> {
        let mut version = schema_version;
        let mut payload = payload;
        while let Some((_, step)) = self
            .steps
            .iter()
            .find(|((ty, from), _)| *ty == event_type && *from == version)
        {
            payload = step(&payload, context).map_err(|e| UpcastError {
                event_type: event_type.to_owned(),
                from_version: version,
                reason: e.reason,
            })?;
            version += 1;
        }
        Ok((version, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> UpcastContext {
        UpcastContext {
            occurred_at: DateTime::UNIX_EPOCH,
        }
    }

    fn append_bang(payload: &[u8], _: &UpcastContext) -> Result<Vec<u8>, UpcastError> {
        let mut out = payload.to_vec();
        out.push(b'!');
        Ok(out)
    }

    fn refuse(_: &[u8], _: &UpcastContext) -> Result<Vec<u8>, UpcastError> {
        Err(UpcastError::malformed("no issuer"))
    }

    #[test]
    fn upcasters_chain_from_the_stored_version_to_the_newest() {
        let upcasters =
            Upcasters::new()
                .register("e", 1, append_bang)
                .register("e", 2, append_bang);

        let (version, payload) = upcasters
            .upcast("e", 1, b"x".to_vec(), &context())
            .expect("upcast");

        assert_eq!((version, payload), (3, b"x!!".to_vec()));
    }

    #[test]
    fn a_current_payload_passes_through_unchanged() {
        let upcasters = Upcasters::new().register("e", 1, append_bang);

        let (version, payload) = upcasters
            .upcast("e", 2, b"x".to_vec(), &context())
            .expect("upcast");

        assert_eq!((version, payload), (2, b"x".to_vec()));
    }

    #[test]
    fn a_failing_step_names_the_event_and_version() {
        let upcasters = Upcasters::new().register("e", 1, refuse);

        let error = upcasters
            .upcast("e", 1, vec![], &context())
            .expect_err("must fail");

        assert_eq!(error.to_string(), "cannot upcast e from v1: no issuer");
    }
}
