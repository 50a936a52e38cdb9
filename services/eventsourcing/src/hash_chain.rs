//! Tamper evidence for the event log.
//!
//! Each stored event carries the hash of its predecessor and its own hash over its content and
//! that predecessor hash, forming one chain over the whole log in position order. Position is
//! deliberately *not* hashed: a row moved to another position keeps a self-consistent hash but
//! no longer links to its neighbours, which is how a reordering is told apart from an edit.

use sha2::{Digest, Sha256};

/// The predecessor hash of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hashed content of one event, in a fixed order.
pub(crate) struct HashInput<'a> {
    pub prev_hash: &'a str,
    pub event_id: &'a str,
    pub stream_type: &'a str,
    pub stream_id: &'a str,
    pub stream_version: u64,
    pub event_type: &'a str,
    pub schema_version: u32,
    pub occurred_at: &'a str,
    pub recorded_at: &'a str,
    pub actor: [&'a str; 4],
    pub correlation_id: &'a str,
    pub causation_id: &'a str,
    pub traceparent: &'a str,
    pub payload: &'a [u8],
}

impl HashInput<'_> {
    /// SHA-256, hex. Every field is length-prefixed so no two different events can produce the
    /// same byte sequence by shifting text between fields.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        field(self.prev_hash.as_bytes());
        field(self.event_id.as_bytes());
        field(self.stream_type.as_bytes());
        field(self.stream_id.as_bytes());
        field(&self.stream_version.to_le_bytes());
        field(self.event_type.as_bytes());
        field(&self.schema_version.to_le_bytes());
        field(self.occurred_at.as_bytes());
        field(self.recorded_at.as_bytes());
        for part in self.actor {
            field(part.as_bytes());
        }
        field(self.correlation_id.as_bytes());
        field(self.causation_id.as_bytes());
        field(self.traceparent.as_bytes());
        field(self.payload);
        hex::encode(hasher.finalize())
    }
}

/// The first problem `verify` found, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tampering {
    /// The event at this position no longer matches its own hash: its content was edited.
    Modified { position: u64, event_id: String },
    /// Positions jump: the event at `position` is missing (deleted).
    Deleted { position: u64 },
    /// The event at this position is intact but does not link to its predecessor: rows were
    /// reordered, or a predecessor was replaced wholesale.
    Reordered { position: u64, event_id: String },
    /// The log ends before the head recorded at the last commit: trailing events were deleted.
    Truncated {
        last_present: u64,
        recorded_head: u64,
    },
    /// A row sits beyond the recorded head: it was inserted behind the writer's back (or the
    /// head was set back). Such rows are never read, published or projected.
    BeyondHead { position: u64, recorded_head: u64 },
    /// The log ends before a position that a signed anchor vouched for: events were deleted
    /// and the head rewritten to hide it.
    TruncatedBelowAnchor {
        recorded_head: u64,
        anchored_position: u64,
        anchored_at: String,
    },
    /// The event at an anchored position no longer has the hash the anchor signed: the log up
    /// to there was rewritten (a whole-chain recomputation included).
    RewrittenBeforeAnchor { position: u64, anchored_at: String },
}

impl std::fmt::Display for Tampering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tampering::Modified { position, event_id } => {
                write!(
                    f,
                    "event {event_id} at position {position} was modified after it was recorded"
                )
            }
            Tampering::Deleted { position } => {
                write!(f, "the event at position {position} was deleted")
            }
            Tampering::Reordered { position, event_id } => write!(
                f,
                "event {event_id} at position {position} does not follow its predecessor: \
                 events were reordered or replaced"
            ),
            Tampering::Truncated {
                last_present,
                recorded_head,
            } => write!(
                f,
                "the log ends at position {last_present} but {recorded_head} events were \
                 recorded: trailing events were deleted"
            ),
            Tampering::BeyondHead {
                position,
                recorded_head,
            } => write!(
                f,
                "a row at position {position} lies beyond the recorded head {recorded_head}: \
                 it was inserted outside the service, or the head was set back"
            ),
            Tampering::TruncatedBelowAnchor {
                recorded_head,
                anchored_position,
                anchored_at,
            } => write!(
                f,
                "the log ends at position {recorded_head} but an anchor signed at {anchored_at} \
                 vouches for position {anchored_position}: events were deleted and the head \
                 rewritten"
            ),
            Tampering::RewrittenBeforeAnchor {
                position,
                anchored_at,
            } => write!(
                f,
                "the event at position {position} differs from the one anchored at \
                 {anchored_at}: the log was rewritten up to there"
            ),
        }
    }
}

/// The outcome of verifying a whole log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub events_checked: u64,
    pub first_problem: Option<Tampering>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.first_problem.is_none()
    }
}
