//! Running one command against one aggregate: idempotency check, load, decide, append.
//!
//! This is the application-service half of cqrs-es's `CqrsFramework::execute`, kept small so a
//! service's gRPC adapter reads as: look the request id up → authorise → validate →
//! [`Repository::execute`] → map the outcome. The retry contract (AIP-155) is kept by the
//! store's writer, inside the transaction that would write the events: a `request_id` seen
//! before returns the first outcome and writes nothing; the same id with a different request is
//! refused. Handlers look the id up themselves *first* ([`EventStore::replay`]), before
//! authorisation and validation against today's data, so a retry gets its first answer even
//! when today's rules would refuse it; the repository does not repeat that lookup.
//!
//! # Costs
//! A command on a stream that cannot exist yet ([`CommandEnvelope::new_stream`]) reads
//! nothing; the events it appended come back with the result ([`Executed::Applied`]'s
//! `history`), so the caller can answer without reading the stream again. Aggregates that many
//! commands consult and few change (directories) are kept decoded in memory
//! ([`Repository::load_shared`]) and re-read only when their stream has moved.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

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
    /// The stream is new (its id was just drawn, e.g. a UUIDv7): nothing is read, and the
    /// append fails with a conflict if the stream exists after all.
    pub new_stream: bool,
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
        /// The stream's whole history including the events just appended, as stored.
        history: Vec<RecordedEvent>,
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
#[derive(Clone)]
pub struct Repository<A: Aggregate> {
    store: EventStore,
    metrics: CommandMetrics,
    /// Aggregates kept decoded by [`Repository::load_shared`], by stream id.
    shared: Arc<Mutex<HashMap<String, Arc<Loaded<A>>>>>,
    _aggregate: PhantomData<fn() -> A>,
}

impl<A: Aggregate> std::fmt::Debug for Repository<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("aggregate", &A::TYPE)
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate> Repository<A> {
    pub fn new(store: EventStore) -> Self {
        Self {
            store,
            metrics: CommandMetrics::new(),
            shared: Arc::new(Mutex::new(HashMap::new())),
            _aggregate: PhantomData,
        }
    }

    /// The aggregate as it stands, decoded once and shared until its stream moves: one index
    /// lookup per call instead of reading and decoding the stream. For few, large, rarely
    /// changed aggregates (directories); the cache holds every stream it was asked for.
    ///
    /// The lookup asks the database, not this process, so a change committed by another
    /// replica is seen at once.
    pub async fn load_shared(
        &self,
        stream_id: &str,
    ) -> Result<Arc<Loaded<A>>, ExecuteError<A::Error>> {
        let version = self.store.stream_version(stream_id).await?;
        let cached = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(stream_id)
            .cloned();
        if let Some(cached) = cached
            && cached.version == version
        {
            return Ok(cached);
        }
        let loaded = Arc::new(self.load(stream_id).await?);
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(stream_id.to_owned(), loaded.clone());
        Ok(loaded)
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
        let loaded = if envelope.new_stream {
            Loaded {
                state: A::default(),
                version: 0,
                history: Vec::new(),
            }
        } else {
            self.load(&envelope.stream_id).await?
        };
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
                history: loaded.history,
            });
        }
        let new_events: Vec<NewEvent> = events.iter().map(NewEvent::from_domain).collect();

        let appended = self
            .store
            .append(AppendRequest {
                stream_type: A::TYPE.to_owned(),
                stream_id: envelope.stream_id.clone(),
                expected: ExpectedVersion::Exactly(loaded.version),
                events: new_events.clone(),
                metadata: envelope.metadata.clone(),
                idempotency: envelope.request.map(|key| (key, outcome.clone())),
            })
            .await;
        match appended {
            Ok(Appended::Committed {
                positions,
                recorded_at,
                ..
            }) => {
                let mut history = loaded.history;
                let m = &envelope.metadata;
                let occurred_at = crate::store::storable_time(m.occurred_at);
                for ((event, position), offset) in new_events.into_iter().zip(positions).zip(1..) {
                    history.push(RecordedEvent {
                        position,
                        event_id: event.event_id,
                        stream_type: A::TYPE.to_owned(),
                        stream_id: envelope.stream_id.clone(),
                        stream_version: loaded.version + offset,
                        event_type: event.event_type,
                        schema_version: event.schema_version,
                        occurred_at,
                        recorded_at,
                        actor: m.actor.clone(),
                        correlation_id: m.correlation_id.clone(),
                        causation_id: m.causation_id.clone(),
                        traceparent: m.traceparent.clone(),
                        source: self.store.source().to_owned(),
                        payload: event.payload,
                    });
                }
                Ok(Executed::Applied {
                    state: after,
                    version: new_version,
                    events,
                    outcome,
                    history,
                })
            }
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
