//! Running one command against one aggregate: idempotency check, load, decide, append.
//!
//! This is the application-service half of cqrs-es's `CqrsFramework::execute`, kept small so a
//! service's gRPC adapter reads as: authorise → validate → [`Repository::execute`] → map the
//! outcome. The retry contract (AIP-155) lives here once: a `request_id` seen before returns the
//! first outcome and writes nothing; the same id with a different request is refused.

use std::marker::PhantomData;

use crate::aggregate::{Aggregate, DecodeError};
use crate::event::{EventMetadata, NewEvent, RecordedEvent};
use crate::metrics::CommandMetrics;
use crate::store::{
    AppendError, AppendRequest, Appended, EventStore, ExpectedVersion, RequestKey, StoreError,
    StoredOutcome,
};

/// An aggregate rebuilt from its stream.
#[derive(Clone, Debug)]
pub struct Loaded<A> {
    pub state: A,
    /// 0 when the stream does not exist.
    pub version: u64,
    /// The recorded history (with metadata), for views that show who did what when.
    pub history: Vec<RecordedEvent>,
}

/// A command addressed to one stream, with everything needed to record it.
#[derive(Clone, Debug)]
pub struct CommandEnvelope<C> {
    pub stream_id: String,
    pub command: C,
    /// The client's optimistic-concurrency check (None = decide on the latest state; the store
    /// still refuses if the stream moved between load and append).
    pub expected_version: Option<u64>,
    pub request: Option<RequestKey>,
    pub metadata: EventMetadata,
}

/// What a command decided, handed to the caller to build the response that is saved for
/// retries.
#[derive(Debug)]
pub struct Decision<'a, A: Aggregate> {
    pub before: &'a Loaded<A>,
    pub after: &'a A,
    pub new_events: &'a [A::Event],
    pub new_version: u64,
    pub metadata: &'a EventMetadata,
}

/// The result of a command that was not refused.
#[derive(Debug)]
pub enum Executed<A: Aggregate> {
    /// The command ran now.
    Applied {
        state: A,
        version: u64,
        events: Vec<A::Event>,
        outcome: StoredOutcome,
    },
    /// A retry: the first outcome, nothing written.
    Replayed(StoredOutcome),
}

/// Why a command was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Domain(E),
    #[error("{stream_id} changed concurrently: expected version {expected}, found {actual}")]
    Conflict {
        stream_id: String,
        expected: u64,
        actual: u64,
    },
    #[error("request_id {request_id} was already used for a different request")]
    RequestIdReused { request_id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// Loads and changes aggregates of one type.
#[derive(Clone, Debug)]
pub struct Repository<A> {
    store: EventStore,
    metrics: CommandMetrics,
    _aggregate: PhantomData<fn() -> A>,
}

impl<A: Aggregate> Repository<A> {
    pub fn new(store: EventStore) -> Self {
        Self {
            store,
            metrics: CommandMetrics::new(),
            _aggregate: PhantomData,
        }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Rebuilds the aggregate from its stream (an empty default state if it does not exist).
    pub async fn load(&self, stream_id: &str) -> Result<Loaded<A>, ExecuteError<A::Error>> {
        let history = self.store.read_stream(stream_id).await?;
        let mut state = A::default();
        for recorded in &history {
            state.apply(&recorded.decode::<A::Event>()?);
        }
        Ok(Loaded {
            state,
            version: history.last().map_or(0, |e| e.stream_version),
            history,
        })
    }

    /// Runs a command. `respond` builds the outcome saved for retries (the encoded response,
    /// or the refusal a retry must see again).
    pub async fn execute(
        &self,
        envelope: CommandEnvelope<A::Command>,
        respond: impl FnOnce(&Decision<'_, A>) -> StoredOutcome,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let result = self.run(envelope, respond).await;
        let outcome = match &result {
            Ok(Executed::Applied { .. }) => "applied",
            Ok(Executed::Replayed(_)) => "replayed",
            Err(ExecuteError::Domain(_) | ExecuteError::RequestIdReused { .. }) => "refused",
            Err(ExecuteError::Conflict { .. }) => "conflict",
            Err(ExecuteError::Store(_) | ExecuteError::Decode(_)) => "failed",
        };
        self.metrics.record(self.store.source(), A::TYPE, outcome);
        result
    }

    async fn run(
        &self,
        envelope: CommandEnvelope<A::Command>,
        respond: impl FnOnce(&Decision<'_, A>) -> StoredOutcome,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        if let Some(key) = &envelope.request
            && let Some(first) = self.store.replay(key).await.map_err(from_append)?
        {
            return Ok(Executed::Replayed(first));
        }

        let loaded = self.load(&envelope.stream_id).await?;
        if let Some(expected) = envelope.expected_version
            && expected != loaded.version
        {
            return Err(ExecuteError::Conflict {
                stream_id: envelope.stream_id,
                expected,
                actual: loaded.version,
            });
        }

        let events = loaded
            .state
            .decide(&envelope.command)
            .map_err(ExecuteError::Domain)?;
        let mut after = loaded.state.clone();
        for event in &events {
            after.apply(event);
        }
        let new_version = loaded.version + events.len() as u64;
        let outcome = respond(&Decision {
            before: &loaded,
            after: &after,
            new_events: &events,
            new_version,
            metadata: &envelope.metadata,
        });

        if events.is_empty() && envelope.request.is_none() {
            return Ok(Executed::Applied {
                state: after,
                version: new_version,
                events,
                outcome,
            });
        }

        let appended = self
            .store
            .append(AppendRequest {
                stream_type: A::TYPE.to_owned(),
                stream_id: envelope.stream_id.clone(),
                expected: ExpectedVersion::Exactly(loaded.version),
                events: events.iter().map(NewEvent::from_domain).collect(),
                metadata: envelope.metadata.clone(),
                idempotency: envelope.request.map(|key| (key, outcome.clone())),
            })
            .await;
        match appended {
            Ok(Appended::Committed { .. }) => Ok(Executed::Applied {
                state: after,
                version: new_version,
                events,
                outcome,
            }),
            Ok(Appended::Duplicate(first)) => Ok(Executed::Replayed(first)),
            Err(error) => Err(from_append(error)),
        }
    }
}

fn from_append<E: std::error::Error + 'static>(error: AppendError) -> ExecuteError<E> {
    match error {
        AppendError::Conflict {
            stream_id,
            expected,
            actual,
        } => ExecuteError::Conflict {
            stream_id,
            expected,
            actual,
        },
        AppendError::RequestIdReused { request_id } => ExecuteError::RequestIdReused { request_id },
        AppendError::Store(e) => ExecuteError::Store(e),
    }
}
