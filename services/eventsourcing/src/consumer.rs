//! Durable JetStream pull consumers that feed a [`Projection`] exactly once.
//!
//! JetStream delivers at least once, and after a relay crash or a `dondoc replay` an event can
//! arrive again long after the server's duplicate window. So every message is handled like
//! this, in one write transaction, then acknowledged (double ack, so a lost ack cannot cause a
//! redelivery):
//!
//! - its event id is in the inbox: a **duplicate**, nothing to do;
//! - its stream version is at or below the last one applied for its stream but its id is not in
//!   the inbox: **divergence** — the producer's log and this read model disagree (a restored
//!   backup, a rewound producer). It is never applied and never silently acknowledged: it goes
//!   to `dead_letters`, is counted and logged for an operator;
//! - it is ahead of its stream's next version: it is **parked** in the `parked` table (and
//!   acknowledged), and applied the moment its predecessor is. Nothing waits in JetStream, so
//!   `max_ack_pending` can never fill up with events waiting for a predecessor that a replay
//!   will only bring later;
//! - otherwise it is **applied**, its inbox row and stream version recorded, and any parked
//!   successors applied after it.
//!
//! A failure is judged by its cause. A transient one (the database is unavailable) is retried
//! with capped backoff, counted in a metric and never dead-lettered. A permanent one (a
//! constraint or data error, an undecodable payload, an update that finds no row) is retried a
//! few times and then written to `dead_letters` with its error; its stream moves on past it,
//! and the consumer goes on. Bytes that are not an envelope at all are dead-lettered at once,
//! and if the relay's headers name their stream, that stream moves on too.
//!
//! A rebuild (or a new version of the read model) empties the read model and its progress and
//! leaves an order to delete the durable consumer, all in one transaction; the consumer carries
//! the order out before it reads again, so it starts over from the beginning of the stream and
//! never resumes the old position into an empty read model.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::stream::ConsumerErrorKind;
use async_nats::jetstream::{self, AckKind, consumer::pull};
use futures::StreamExt;
use prost::Message as _;
use sqlx::{AnyConnection, Row};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::db::{Database, chunked, placeholders};
use crate::event::{RecordedEvent, format_time};
use crate::metrics::ConsumerMetrics;
use crate::projection::{
    Feed, Projection, ProjectionError, ReadModelState, check_active, forget_progress, progress_key,
};
use crate::relay::{SOURCE_HEADER, STREAM_ID_HEADER, STREAM_VERSION_HEADER};
use crate::store::{from_i64, to_i64};
use crate::upcast::{UpcastContext, Upcasters};

/// How often a consumer catching up at start compares its progress with the stream.
const CATCH_UP_CHECK: Duration = Duration::from_millis(200);

/// How often a running consumer looks for operators' orders on its dead letters.
const ORDERS_CHECK: Duration = Duration::from_secs(1);
use dondoc_proto::v1 as pb;

/// `$first, $first+1, …` for `n` values after `first - 1` others.
fn in_list_from(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Most messages handled in one transaction.
const MAX_BATCH: usize = 256;

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS inbox (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        processed_at TEXT NOT NULL,
        PRIMARY KEY (consumer, event_id)
    )",
    "CREATE TABLE IF NOT EXISTS consumer_streams (
        consumer TEXT NOT NULL,
        source TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        version BIGINT NOT NULL,
        PRIMARY KEY (consumer, source, stream_id)
    )",
    "CREATE TABLE IF NOT EXISTS consumer_resets (
        consumer TEXT PRIMARY KEY
    )",
    "CREATE TABLE IF NOT EXISTS consumer_failures (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        failures BIGINT NOT NULL,
        PRIMARY KEY (consumer, event_id)
    )",
    "CREATE TABLE IF NOT EXISTS dead_letters (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        event_type TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        stream_version BIGINT NOT NULL,
        attempts BIGINT NOT NULL,
        error TEXT NOT NULL,
        envelope {blob} NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (consumer, event_id)
    )",
    "CREATE TABLE IF NOT EXISTS parked (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        source TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        stream_version BIGINT NOT NULL,
        subject TEXT NOT NULL,
        envelope {blob} NOT NULL,
        parked_at TEXT NOT NULL,
        PRIMARY KEY (consumer, event_id)
    )",
    "CREATE INDEX IF NOT EXISTS parked_by_stream
        ON parked (consumer, source, stream_id, stream_version)",
    // Orders from `dondoc dlq retry`, carried out by the running consumer (it holds the
    // projection code); and what was done with each dead letter, kept for audit.
    "CREATE TABLE IF NOT EXISTS dead_letter_orders (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        PRIMARY KEY (consumer, event_id)
    )",
    "CREATE TABLE IF NOT EXISTS dead_letter_log (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at TEXT NOT NULL
    )",
];

/// Where and how a consumer reads.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// The JetStream stream to read, e.g. `DONDOC_ASSIGNMENT`.
    pub stream_name: String,
    /// Subjects within it, e.g. `dondoc.assignment.task.>`.
    pub filter_subjects: Vec<String>,
    /// Failed attempts (for a permanent reason) before a message is dead-lettered.
    pub max_attempts: u32,
    /// How long the server waits for an ack before redelivering.
    pub ack_wait: Duration,
    /// Messages delivered and not yet acknowledged that the server allows. Set explicitly
    /// (the server's default has changed between releases); parked events are acknowledged,
    /// so this bounds only messages being worked on.
    pub max_ack_pending: i64,
}

impl ConsumerConfig {
    pub fn new(stream_name: impl Into<String>, filter_subjects: Vec<String>) -> Self {
        Self {
            stream_name: stream_name.into(),
            filter_subjects,
            max_attempts: 3,
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("JetStream: {0}")]
    JetStream(String),
    #[error("preparing the projection: {0}")]
    Projection(String),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// A newer version of the read model is active; this replica stops consuming.
    #[error("{0}")]
    Refused(String),
    /// The read model is being rebuilt: what the old durable consumer delivers waits.
    #[error("the read model is being rebuilt")]
    ResetPending,
}

/// What happened to one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disposition {
    Applied,
    /// Seen before (its id is in the inbox): acknowledged, nothing written.
    Duplicate,
    /// Ahead of its stream's next version: kept in `parked` until its predecessor is applied.
    Parked,
    /// Failed; will be redelivered.
    Retried {
        error: String,
    },
    /// Failed too often (or could not be decoded at all): written to `dead_letters`.
    DeadLettered {
        error: String,
    },
    /// Its stream version was already applied from another event: written to `dead_letters`.
    Diverged {
        error: String,
    },
}

/// What a consumer has done since it was built (tests and diagnostics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    pub applied: u64,
    pub duplicates: u64,
    pub parked: u64,
    /// Parked events applied once their predecessor arrived.
    pub unparked: u64,
    pub retried: u64,
    pub dead_lettered: u64,
    pub diverged: u64,
    /// Transactions that applied several messages at once (the fast path of a batch).
    pub batches: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    applied: AtomicU64,
    duplicates: AtomicU64,
    parked: AtomicU64,
    unparked: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    diverged: AtomicU64,
}

/// Which event a message carries, from its envelope or, for bytes that are not an envelope,
/// from the relay's headers.
struct Identity {
    event_id: String,
    source: String,
    stream_id: String,
    stream_version: u64,
}

/// A durable pull consumer feeding one projection.
pub struct Consumer<P> {
    db: Database,
    js: jetstream::Context,
    config: ConsumerConfig,
    projection: Arc<P>,
    /// Name and version: the durable consumer's name and the key of all its bookkeeping.
    key: String,
    upcasters: Upcasters,
    metrics: ConsumerMetrics,
    counters: Counters,
    state: watch::Sender<ReadModelState>,
    /// Set while a reset waits to be carried out: nothing may be applied to the emptied read
    /// model from the old durable consumer in the meantime.
    reset_pending: AtomicBool,
    /// Wakes the running loop to resubscribe (and so carry the reset out).
    reset_requested: Notify,
}

impl<P: Projection> Consumer<P> {
    pub async fn new(
        db: Database,
        js: jetstream::Context,
        config: ConsumerConfig,
        projection: Arc<P>,
        upcasters: Upcasters,
    ) -> Result<Self, ConsumerError> {
        db.run_schema(SCHEMA).await?;
        // A new version of the read model starts from scratch here and consumes everything
        // again from the start under a durable of its own (see `projection`).
        let state = crate::projection::prepare(&db, projection.as_ref(), Feed::Nats)
            .await
            .map_err(|e| ConsumerError::Projection(e.to_string()))?;
        let key = progress_key(projection.as_ref());
        // Ready only once it has consumed what was published before it started (see `run`).
        let state = match state {
            ReadModelState::Ready => ReadModelState::CatchingUp,
            other => other,
        };
        let (state, _) = watch::channel(state);
        Ok(Self {
            metrics: ConsumerMetrics::new(&key),
            db,
            js,
            config,
            projection,
            key,
            upcasters,
            counters: Counters::default(),
            state,
            // `durable()` checks the database before the first read anyway.
            reset_pending: AtomicBool::new(false),
            reset_requested: Notify::new(),
        })
    }

    /// The durable consumer's name: the projection's name and version.
    pub fn name(&self) -> &str {
        &self.key
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Whether this replica runs the read model (health reports it).
    pub fn state(&self) -> watch::Receiver<ReadModelState> {
        self.state.subscribe()
    }

    /// `Ok` unless this replica refuses the read model; readers call it before reading.
    pub fn ensure_running(&self) -> Result<(), ProjectionError> {
        match &*self.state.borrow() {
            ReadModelState::Ready | ReadModelState::CatchingUp => Ok(()),
            ReadModelState::Refused(reason) => Err(ProjectionError::Refused(reason.clone())),
        }
    }

    /// What this consumer has done since it was built.
    pub fn stats(&self) -> ConsumerStats {
        let c = &self.counters;
        ConsumerStats {
            applied: c.applied.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            parked: c.parked.load(Ordering::Relaxed),
            unparked: c.unparked.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            dead_lettered: c.dead_lettered.load(Ordering::Relaxed),
            diverged: c.diverged.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
        }
    }

    /// Messages the durable consumer has not yet had acknowledged: waiting in the stream or
    /// delivered and in hand. 0 means the read model has seen everything published so far.
    pub async fn backlog(&self) -> Result<u64, ConsumerError> {
        let stream = self
            .js
            .get_stream(&self.config.stream_name)
            .await
            .map_err(|e| ConsumerError::JetStream(e.to_string()))?;
        let info = stream
            .consumer_info(self.name())
            .await
            .map_err(|e| ConsumerError::JetStream(e.to_string()))?;
        Ok(info.num_pending + info.num_ack_pending as u64)
    }

    async fn durable(&self) -> Result<jetstream::consumer::PullConsumer, ConsumerError> {
        let stream = self
            .js
            .get_stream(&self.config.stream_name)
            .await
            .map_err(|e| ConsumerError::JetStream(e.to_string()))?;
        self.carry_out_pending_reset(&stream).await?;
        stream
            .get_or_create_consumer(
                self.name(),
                pull::Config {
                    durable_name: Some(self.name().to_owned()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: self.config.ack_wait,
                    // Dead-lettering is ours (into SQL), so the server never gives up.
                    max_deliver: -1,
                    max_ack_pending: self.config.max_ack_pending,
                    filter_subjects: self.config.filter_subjects.clone(),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| ConsumerError::JetStream(e.to_string()))
    }

    /// Handles what is available now (up to `max` messages), then returns. Tests drive the
    /// consumer with this instead of sleeping.
    pub async fn process_available(&self, max: usize) -> Result<Vec<Disposition>, ConsumerError> {
        let consumer = self.durable().await?;
        let mut batch = consumer
            .fetch()
            .max_messages(max)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .map_err(|e| ConsumerError::JetStream(e.to_string()))?;
        let mut messages = Vec::new();
        while let Some(message) = batch.next().await {
            match message {
                Ok(message) => messages.push(message),
                Err(e) => return Err(ConsumerError::JetStream(e.to_string())),
            }
        }
        self.handle_batch(&messages).await
    }

    /// Consumes until `shutdown`, recreating the subscription after errors (NATS restarts,
    /// missing stream before the producer's first publish). Stops consuming, but keeps running
    /// until `shutdown`, when a newer version of the read model takes over.
    pub async fn run(&self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        // What "caught up" means: the stream's last sequence when this replica started.
        let mut catch_up_target = None;
        while !shutdown.is_cancelled() {
            if self.state.borrow().is_refused() {
                shutdown.cancelled().await;
                return;
            }
            // Taken again at each subscription while catching up: after a rebuild the durable
            // starts over, and the stream may have appeared since.
            if self.catching_up() {
                catch_up_target = self.stream_last_sequence().await;
            }
            let messages = match self.durable().await {
                Ok(consumer) => consumer.messages().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let messages = match messages {
                Ok(messages) => messages,
                Err(error) => {
                    // A stream its producer has not created yet holds nothing to catch up on.
                    if self.catching_up() && matches!(self.stream_exists().await, Ok(false)) {
                        self.caught_up();
                    }
                    tracing::debug!(consumer = self.name(), error = %error, "consumer not ready; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            let mut consecutive_errors = 0;
            // Whatever has already arrived is handled together, in one transaction: under load
            // that is many events per commit; idle, it is one event as soon as it comes.
            let mut chunks = messages.ready_chunks(MAX_BATCH);
            let mut progress_check = tokio::time::interval(CATCH_UP_CHECK);
            let mut orders_check = tokio::time::interval(ORDERS_CHECK);
            // After an upgrade, events held for a newer schema can be applied now.
            if let Err(error) = self.retry_held().await {
                tracing::warn!(consumer = self.name(), error = %error, "cannot retry held events");
            }
            loop {
                let next = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    // A rebuild was asked for: resubscribe, which carries the reset out.
                    _ = self.reset_requested.notified() => break,
                    _ = progress_check.tick(), if self.catching_up() => {
                        if self.reached(catch_up_target).await {
                            self.caught_up();
                        }
                        continue;
                    }
                    _ = orders_check.tick() => {
                        if let Err(error) = self.carry_out_orders().await {
                            tracing::warn!(consumer = self.name(), error = %error, "cannot carry out dead-letter orders");
                        }
                        continue;
                    }
                    next = chunks.next() => next,
                };
                let Some(items) = next else { break };
                let mut arrived = Vec::with_capacity(items.len());
                let mut stream_failed = false;
                for item in items {
                    match item {
                        Ok(message) => arrived.push(message),
                        // Heartbeat gaps and similar are reported as items; the stream goes on.
                        Err(error) => {
                            tracing::debug!(consumer = self.name(), error = %error, "consumer stream error");
                            stream_failed = true;
                        }
                    }
                }
                if !arrived.is_empty() {
                    consecutive_errors = 0;
                    match self.handle_batch(&arrived).await {
                        Ok(_) => {}
                        Err(ConsumerError::Refused(_)) => break,
                        Err(error) => {
                            // The database is unavailable: leave the messages for redelivery,
                            // and do not hammer the database meanwhile.
                            self.metrics.transient_failure();
                            tracing::warn!(consumer = self.name(), error = %error, "cannot handle messages; retrying later");
                            for message in &arrived {
                                ack(message, AckKind::Nak(Some(Duration::from_secs(1)))).await;
                            }
                        }
                    }
                } else if stream_failed {
                    // A stream that only yields errors (the server went away) is rebuilt after
                    // a pause rather than spun on.
                    consecutive_errors += 1;
                    if consecutive_errors >= 3 {
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        }
                        break;
                    }
                }
            }
        }
    }

    fn catching_up(&self) -> bool {
        *self.state.borrow() == ReadModelState::CatchingUp
    }

    fn caught_up(&self) {
        self.state.send_if_modified(|state| {
            let was = *state == ReadModelState::CatchingUp;
            if was {
                *state = ReadModelState::Ready;
                tracing::info!(consumer = self.key, "caught up");
            }
            was
        });
    }

    async fn stream_exists(&self) -> Result<bool, ConsumerError> {
        match self.js.get_stream(&self.config.stream_name).await {
            Ok(_) => Ok(true),
            Err(error) => match error.kind() {
                jetstream::context::GetStreamErrorKind::JetStream(js)
                    if js.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
                {
                    Ok(false)
                }
                _ => Err(ConsumerError::JetStream(error.to_string())),
            },
        }
    }

    /// The stream's last sequence now (`None` when it cannot be read: the target is then
    /// taken on the next subscription).
    async fn stream_last_sequence(&self) -> Option<u64> {
        let stream = self.js.get_stream(&self.config.stream_name).await.ok()?;
        Some(stream.cached_info().state.last_sequence)
    }

    /// Whether everything published before this replica started has been applied: the
    /// durable's acknowledged floor has reached the stream's last sequence of then, or
    /// nothing is pending at all (a filter may skip the last messages of the stream).
    async fn reached(&self, target: Option<u64>) -> bool {
        // The old durable is still there and idle until the reset is carried out.
        if self.rebuild_pending() {
            return false;
        }
        let Ok(stream) = self.js.get_stream(&self.config.stream_name).await else {
            return false;
        };
        let Ok(info) = stream.consumer_info(self.name()).await else {
            return false;
        };
        let idle = info.num_pending == 0 && info.num_ack_pending == 0;
        idle || target.is_some_and(|t| info.ack_floor.stream_sequence >= t)
    }

    /// Whether a rebuild ordered here has not yet recreated the durable consumer (until then
    /// a backlog of zero says nothing about the rebuild).
    pub fn rebuild_pending(&self) -> bool {
        self.reset_pending.load(Ordering::SeqCst)
    }

    /// Whether everything published so far has been consumed: a rebuild ordered here has been
    /// carried out and the backlog is empty. A stream its producer has not created yet has
    /// nothing to consume (the pending rebuild is carried out once it appears).
    pub async fn is_caught_up(&self) -> Result<bool, ConsumerError> {
        if !self.stream_exists().await? {
            return Ok(true);
        }
        Ok(!self.rebuild_pending() && self.backlog().await? == 0)
    }

    /// Empties the projection and its consumer bookkeeping, and recreates the durable consumer
    /// from the start of the stream, so everything is consumed again.
    pub async fn reset_for_rebuild(&self) -> Result<(), ConsumerError> {
        self.ensure_running()
            .map_err(|e| ConsumerError::Refused(e.to_string()))?;
        let mut tx = self.db.begin_write().await?;
        check_active(&self.db, &mut tx, self.projection.as_ref())
            .await
            .map_err(|e| ConsumerError::Projection(e.to_string()))?;
        crate::projection::empty(&mut tx, self.projection.as_ref()).await?;
        forget_progress(&mut tx, self.name(), Feed::Nats).await?;
        self.reset_pending.store(true, Ordering::SeqCst);
        tx.commit().await?;
        // The read model is empty now: not ready again until it has consumed the stream anew.
        self.state.send_if_modified(|state| {
            let ready = *state == ReadModelState::Ready;
            if ready {
                *state = ReadModelState::CatchingUp;
            }
            ready
        });
        // A stored permit: the loop resubscribes even if it is busy right now.
        self.reset_requested.notify_one();
        Ok(())
    }

    /// Deletes the durable consumer if a reset ordered it, so it is recreated at the start of
    /// the stream; only then is the order struck. Until it succeeds nothing is consumed, so the
    /// empty read model never resumes from the old consumer's position.
    async fn carry_out_pending_reset(
        &self,
        stream: &jetstream::stream::Stream,
    ) -> Result<(), ConsumerError> {
        let pending = sqlx::query("SELECT consumer FROM consumer_resets WHERE consumer = $1")
            .bind(self.name().to_owned())
            .fetch_optional(self.db.pool())
            .await?
            .is_some();
        if !pending {
            return Ok(());
        }
        match stream.delete_consumer(self.name()).await {
            Ok(_) => {}
            Err(error) => match error.kind() {
                ConsumerErrorKind::JetStream(js)
                    if js.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND => {}
                _ => return Err(ConsumerError::JetStream(error.to_string())),
            },
        }
        sqlx::query("DELETE FROM consumer_resets WHERE consumer = $1")
            .bind(self.name().to_owned())
            .execute(self.db.pool())
            .await?;
        self.reset_pending.store(false, Ordering::SeqCst);
        tracing::info!(
            consumer = self.name(),
            "durable consumer reset; consuming from the start"
        );
        Ok(())
    }

    /// Handles one message; see the module docs for the protocol.
    /// Handles `messages` (in delivery order) in one transaction when each is simply the next
    /// event of its stream or one already applied — the common case, at a few statements per
    /// event instead of a transaction each. Anything else in the batch (an unreadable message,
    /// a gap, divergence, a failing event, parked events waiting) sends the whole batch down
    /// the one-by-one path of [`Consumer::handle`], which knows every case.
    pub async fn handle_batch(
        &self,
        messages: &[jetstream::Message],
    ) -> Result<Vec<Disposition>, ConsumerError> {
        if messages.len() > 1 && !self.reset_pending.load(Ordering::SeqCst) {
            match self.apply_batch(messages).await {
                Ok(Some(dispositions)) => {
                    self.counters.batches.fetch_add(1, Ordering::Relaxed);
                    // Counted as soon as committed, like the one-by-one path.
                    let dispositions: Vec<Disposition> = dispositions
                        .into_iter()
                        .map(|disposition| self.count(disposition))
                        .collect();
                    for message in messages {
                        ack(message, AckKind::Ack).await;
                    }
                    return Ok(dispositions);
                }
                Ok(None) => {}
                Err(ConsumerError::Sql(error)) if crate::db::is_transient(&error) => {
                    return Err(ConsumerError::Sql(error));
                }
                // Refused, a reset, or an error the one-by-one path classifies itself.
                Err(_) => {}
            }
        }
        let mut dispositions = Vec::with_capacity(messages.len());
        for message in messages {
            dispositions.push(self.handle(message).await?);
        }
        Ok(dispositions)
    }

    /// The fast path of [`Consumer::handle_batch`]: `None` when the batch needs the slow one
    /// (nothing was written then). The bookkeeping is set-based: which events were seen and
    /// where each stream stands are read for the whole batch at once, and recorded at once at
    /// the end, so an event costs only its projection's own statements.
    async fn apply_batch(
        &self,
        messages: &[jetstream::Message],
    ) -> Result<Option<Vec<Disposition>>, ConsumerError> {
        let mut events = Vec::with_capacity(messages.len());
        for message in messages {
            match decode_envelope(&message.payload) {
                Ok(event) => events.push(event),
                Err(_) => return Ok(None),
            }
        }
        if let Some(last) = messages.last() {
            self.metrics
                .lag(last.info().map(|info| info.pending).unwrap_or(0));
        }
        let mut tx = self.begin().await?;
        let parked = sqlx::query("SELECT 1 AS waiting FROM parked WHERE consumer = $1 LIMIT 1")
            .bind(self.name().to_owned())
            .fetch_optional(&mut *tx)
            .await?;
        if parked.is_some() {
            tx.rollback().await?;
            return Ok(None);
        }
        let ids: Vec<String> = events.iter().map(|e| e.event_id.to_string()).collect();
        let mut seen = self.seen_among(&mut tx, &ids).await?;
        let mut versions = self.versions_of(&mut tx, &events).await?;
        let mut done: Vec<Identity> = Vec::with_capacity(events.len());
        let mut dispositions = Vec::with_capacity(events.len());
        for (event, id) in events.into_iter().zip(ids) {
            if !seen.insert(id) {
                dispositions.push(Disposition::Duplicate);
                continue;
            }
            let key = (event.source.clone(), event.stream_id.clone());
            let last = versions.get(&key).copied().unwrap_or(0);
            if event.stream_version != last + 1 {
                tx.rollback().await?;
                return Ok(None);
            }
            let span = tracing::info_span!(
                "consume",
                consumer = self.name(),
                event_type = %event.event_type,
                stream_id = %event.stream_id,
                stream_version = event.stream_version,
            );
            crate::trace::link(&span, &event.traceparent);
            let identity = identity(&event);
            if self
                .apply_event(&mut tx, event)
                .instrument(span)
                .await
                .is_err()
            {
                tx.rollback().await?;
                return Ok(None);
            }
            versions.insert(key, identity.stream_version);
            done.push(identity);
            dispositions.push(Disposition::Applied);
        }
        self.mark_all_done(&mut tx, &done, &versions).await?;
        tx.commit().await?;
        Ok(Some(dispositions))
    }

    /// Which of `event_ids` this consumer has applied.
    async fn seen_among(
        &self,
        conn: &mut AnyConnection,
        event_ids: &[String],
    ) -> Result<std::collections::HashSet<String>, sqlx::Error> {
        let mut seen = std::collections::HashSet::new();
        for chunk in chunked(event_ids) {
            let sql = format!(
                "SELECT event_id FROM inbox WHERE consumer = $1 AND event_id IN ({})",
                in_list_from(2, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(self.name().to_owned());
            for id in chunk {
                query = query.bind(id.clone());
            }
            for row in query.fetch_all(&mut *conn).await? {
                seen.insert(row.try_get::<String, _>("event_id")?);
            }
        }
        Ok(seen)
    }

    /// The applied version of each stream `events` belong to, by (source, stream id).
    async fn versions_of(
        &self,
        conn: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<HashMap<(String, String), u64>, sqlx::Error> {
        let mut streams: Vec<&str> = events.iter().map(|e| e.stream_id.as_str()).collect();
        streams.sort_unstable();
        streams.dedup();
        let mut versions = HashMap::new();
        for chunk in chunked(&streams) {
            let sql = format!(
                "SELECT source, stream_id, version FROM consumer_streams \
                 WHERE consumer = $1 AND stream_id IN ({})",
                in_list_from(2, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(self.name().to_owned());
            for stream in chunk {
                query = query.bind((*stream).to_owned());
            }
            for row in query.fetch_all(&mut *conn).await? {
                versions.insert(
                    (row.try_get("source")?, row.try_get("stream_id")?),
                    from_i64(row.try_get::<i64, _>("version")?),
                );
            }
        }
        Ok(versions)
    }

    /// Records every event of a batch as applied, and each stream's new version.
    async fn mark_all_done(
        &self,
        conn: &mut AnyConnection,
        done: &[Identity],
        versions: &HashMap<(String, String), u64>,
    ) -> Result<(), sqlx::Error> {
        let processed_at = format_time(chrono::Utc::now());
        for chunk in chunked(done) {
            let sql = format!(
                "INSERT INTO inbox (consumer, event_id, processed_at) VALUES {} \
                 ON CONFLICT (consumer, event_id) DO NOTHING",
                placeholders(chunk.len(), 3)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for identity in chunk {
                query = query
                    .bind(self.name().to_owned())
                    .bind(identity.event_id.clone())
                    .bind(processed_at.clone());
            }
            query.execute(&mut *conn).await?;
        }
        let touched: Vec<(&(String, String), u64)> = {
            let mut keys: Vec<(&String, &String)> =
                done.iter().map(|d| (&d.source, &d.stream_id)).collect();
            keys.sort_unstable();
            keys.dedup();
            keys.into_iter()
                .filter_map(|(source, stream)| {
                    versions
                        .get_key_value(&(source.clone(), stream.clone()))
                        .map(|(key, version)| (key, *version))
                })
                .collect()
        };
        for chunk in chunked(&touched) {
            let sql = format!(
                "INSERT INTO consumer_streams (consumer, source, stream_id, version) VALUES {} \
                 ON CONFLICT (consumer, source, stream_id) DO UPDATE SET version = excluded.version",
                placeholders(chunk.len(), 4)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ((source, stream), version) in chunk {
                query = query
                    .bind(self.name().to_owned())
                    .bind(source.clone())
                    .bind(stream.clone())
                    .bind(to_i64(*version));
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    pub async fn handle(&self, message: &jetstream::Message) -> Result<Disposition, ConsumerError> {
        if self.reset_pending.load(Ordering::SeqCst) {
            // From the durable consumer about to be deleted: it comes again from the start.
            ack(message, AckKind::Nak(Some(Duration::from_millis(200)))).await;
            return Ok(Disposition::Parked);
        }
        let (deliveries, pending) = message
            .info()
            .map(|i| (i.delivered, i.pending))
            .unwrap_or((1, 0));
        self.metrics.lag(pending);
        let subject = message.subject.to_string();
        let event = match decode_envelope(&message.payload) {
            Ok(event) => event,
            Err(error) => {
                // Bytes that are not an event will never succeed: dead-letter at once, and move
                // their stream on if the relay's headers say which it is.
                let error = format!("not an event envelope: {error}");
                self.dead_letter_unreadable(message, &subject, &error)
                    .await?;
                ack(message, AckKind::Ack).await;
                return Ok(self.count(Disposition::DeadLettered { error }));
            }
        };

        // The consumer's work joins the trace of the command that caused the event.
        let span = tracing::info_span!(
            "consume",
            consumer = self.name(),
            event_type = %event.event_type,
            stream_id = %event.stream_id,
            stream_version = event.stream_version,
        );
        crate::trace::link(&span, &event.traceparent);
        let result = self
            .apply_once(message, &subject, deliveries, event)
            .instrument(span)
            .await;
        match result {
            Err(ConsumerError::Refused(reason)) => {
                tracing::error!(consumer = self.name(), "{reason}");
                self.state
                    .send_replace(ReadModelState::Refused(reason.clone()));
                ack(message, AckKind::Nak(Some(Duration::from_secs(30)))).await;
                Err(ConsumerError::Refused(reason))
            }
            Err(ConsumerError::ResetPending) => {
                // From the durable consumer about to be deleted: it comes again from the start.
                self.reset_pending.store(true, Ordering::SeqCst);
                self.reset_requested.notify_one();
                ack(message, AckKind::Nak(Some(Duration::from_millis(200)))).await;
                Ok(Disposition::Parked)
            }
            other => other.map(|disposition| self.count(disposition)),
        }
    }

    fn count(&self, disposition: Disposition) -> Disposition {
        let c = &self.counters;
        let counter = match &disposition {
            Disposition::Applied => &c.applied,
            Disposition::Duplicate => &c.duplicates,
            Disposition::Parked => &c.parked,
            Disposition::Retried { .. } => &c.retried,
            Disposition::DeadLettered { .. } => &c.dead_lettered,
            Disposition::Diverged { .. } => &c.diverged,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        disposition
    }

    /// A write transaction for this read model, refused while its version is not the active
    /// one or while a reset waits to be carried out — checked in the database, so a message
    /// that another replica (or this one) was already handling when a rebuild emptied the read
    /// model never lands in it from the old durable consumer.
    ///
    /// On PostgreSQL the transaction first takes this consumer's lock, so replicas handle its
    /// messages one transaction at a time. Without it, one replica could park version 2 of a
    /// stream (version 1 not yet applied, as far as it can see) while another applies version
    /// 1 and, not seeing the uncommitted park, never applies version 2: it would wait in
    /// `parked` for an event that had already come (the cluster fault test found this).
    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, ConsumerError> {
        let mut tx = self.db.begin_write().await?;
        if let Some(lock) = self.db.dialect().lock_name_statement() {
            sqlx::query(lock)
                .bind(format!("dondoc.consumer:{}", self.name()))
                .execute(&mut *tx)
                .await?;
        }
        match check_active(&self.db, &mut tx, self.projection.as_ref()).await {
            Ok(()) => {}
            Err(ProjectionError::Refused(reason)) => return Err(ConsumerError::Refused(reason)),
            Err(ProjectionError::Sql(e)) => return Err(ConsumerError::Sql(e)),
            Err(other) => return Err(ConsumerError::Projection(other.to_string())),
        }
        let resetting = sqlx::query("SELECT consumer FROM consumer_resets WHERE consumer = $1")
            .bind(self.name().to_owned())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if resetting {
            tx.rollback().await?;
            return Err(ConsumerError::ResetPending);
        }
        Ok(tx)
    }

    async fn apply_once(
        &self,
        message: &jetstream::Message,
        subject: &str,
        deliveries: i64,
        event: RecordedEvent,
    ) -> Result<Disposition, ConsumerError> {
        let mut tx = self.begin().await?;
        if self.in_inbox(&mut tx, &event.event_id.to_string()).await? {
            tx.rollback().await?;
            ack(message, AckKind::Ack).await;
            return Ok(Disposition::Duplicate);
        }
        let last = self
            .last_version(&mut tx, &event.source, &event.stream_id)
            .await?;
        if event.stream_version <= last {
            tx.rollback().await?;
            let error = divergence(&event.stream_id, event.stream_version);
            self.set_aside(subject, &identity(&event), 0, &error, &message.payload)
                .await?;
            self.metrics.diverged();
            tracing::error!(consumer = self.name(), event_id = %event.event_id, "{error}");
            ack(message, AckKind::Ack).await;
            return Ok(Disposition::Diverged { error });
        }
        if event.stream_version > last + 1 {
            // Its predecessor is still on the way (or was lost: `dondoc replay` resends it).
            self.park(&mut tx, &identity(&event), subject, &message.payload)
                .await?;
            tx.commit().await?;
            ack(message, AckKind::Ack).await;
            return Ok(Disposition::Parked);
        }

        match self.apply_event(&mut tx, event.clone()).await {
            Ok(()) => {
                self.advance(&mut tx, &identity(&event)).await?;
                tx.commit().await?;
                ack(message, AckKind::Ack).await;
                Ok(Disposition::Applied)
            }
            Err(ProjectionError::NewerVersion(reason)) => {
                // Written by an upgraded producer: held, and its stream with it, until this
                // service is upgraded too (`retry_held` applies it then).
                tx.rollback().await?;
                self.hold(subject, &event, &message.payload, &reason)
                    .await?;
                ack(message, AckKind::Ack).await;
                Ok(Disposition::Parked)
            }
            Err(error) if error.is_transient() => {
                // The database hiccupped, not the event: try again later, without counting it
                // toward dead-lettering.
                tx.rollback().await?;
                self.metrics.transient_failure();
                ack(message, AckKind::Nak(Some(backoff(deliveries)))).await;
                Ok(Disposition::Retried {
                    error: error.to_string(),
                })
            }
            Err(error) => {
                tx.rollback().await?;
                let error = error.to_string();
                let failures = self.record_failure(&event.event_id.to_string()).await?;
                if failures >= i64::from(self.config.max_attempts) {
                    self.set_aside(
                        subject,
                        &identity(&event),
                        failures,
                        &error,
                        &message.payload,
                    )
                    .await?;
                    tracing::error!(consumer = self.name(), event_id = %event.event_id, error = %error, "dead-lettered");
                    ack(message, AckKind::Ack).await;
                    Ok(Disposition::DeadLettered { error })
                } else {
                    // A permanent failure is retried only to rule out a race; briefly.
                    ack(
                        message,
                        AckKind::Nak(Some(Duration::from_millis(100 * failures.max(1) as u64))),
                    )
                    .await;
                    Ok(Disposition::Retried { error })
                }
            }
        }
    }

    /// Upcasts and applies one event inside `tx`.
    async fn apply_event(
        &self,
        tx: &mut AnyConnection,
        mut event: RecordedEvent,
    ) -> Result<(), ProjectionError> {
        let payload = std::mem::take(&mut event.payload);
        let (version, payload) = self
            .upcasters
            .upcast(
                &event.event_type,
                event.schema_version,
                payload,
                &UpcastContext {
                    occurred_at: event.occurred_at,
                },
            )
            .map_err(|e| ProjectionError::Other(e.to_string()))?;
        event.schema_version = version;
        event.payload = payload;
        self.projection.apply(tx, &event).await
    }

    /// Records `done` as applied (inbox and stream version), then applies the parked events
    /// that were waiting for it, in order, in the same transaction.
    async fn advance(&self, tx: &mut AnyConnection, done: &Identity) -> Result<(), ConsumerError> {
        self.mark_done(tx, done).await?;
        let mut version = done.stream_version;
        loop {
            let next = sqlx::query(
                "SELECT event_id, subject, envelope FROM parked WHERE consumer = $1 \
                 AND source = $2 AND stream_id = $3 AND stream_version = $4 \
                 ORDER BY parked_at LIMIT 1",
            )
            .bind(self.name().to_owned())
            .bind(done.source.clone())
            .bind(done.stream_id.clone())
            .bind(to_i64(version + 1))
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = next else { break };
            let event_id: String = row.try_get("event_id")?;
            let subject: String = row.try_get("subject")?;
            let envelope: Vec<u8> = row.try_get("envelope")?;
            let parked = Identity {
                event_id: event_id.clone(),
                source: done.source.clone(),
                stream_id: done.stream_id.clone(),
                stream_version: version + 1,
            };
            let applied = match decode_envelope(&envelope) {
                Ok(event) => self.apply_event(tx, event).await,
                Err(error) => Err(ProjectionError::Other(format!(
                    "not an event envelope: {error}"
                ))),
            };
            match applied {
                Ok(()) => {
                    self.counters.unparked.fetch_add(1, Ordering::Relaxed);
                }
                // Newer than this build: it stays parked, and the stream waits at it.
                Err(ProjectionError::NewerVersion(_)) => break,
                Err(error) if error.is_transient() => {
                    return Err(ConsumerError::Projection(error.to_string()));
                }
                Err(error) => {
                    // It cannot be retried from JetStream any more: set it aside at once.
                    insert_dead_letter(
                        tx,
                        self.name(),
                        &event_id,
                        &subject,
                        "",
                        &parked.stream_id,
                        parked.stream_version,
                        1,
                        &error.to_string(),
                        &envelope,
                    )
                    .await?;
                    self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    self.metrics.dead_lettered();
                }
            }
            self.mark_done(tx, &parked).await?;
            version += 1;
        }
        // Anything still parked at or below the version now applied can never be applied: a
        // repeat of an applied event is dropped, a different event at that version diverges.
        let stale = sqlx::query(
            "SELECT event_id, subject, stream_version, envelope FROM parked WHERE consumer = $1 \
             AND source = $2 AND stream_id = $3 AND stream_version <= $4",
        )
        .bind(self.name().to_owned())
        .bind(done.source.clone())
        .bind(done.stream_id.clone())
        .bind(to_i64(version))
        .fetch_all(&mut *tx)
        .await?;
        for row in stale {
            let event_id: String = row.try_get("event_id")?;
            let stream_version = from_i64(row.try_get::<i64, _>("stream_version")?);
            if !self.in_inbox(tx, &event_id).await? {
                let error = divergence(&done.stream_id, stream_version);
                insert_dead_letter(
                    tx,
                    self.name(),
                    &event_id,
                    &row.try_get::<String, _>("subject")?,
                    "",
                    &done.stream_id,
                    stream_version,
                    0,
                    &error,
                    &row.try_get::<Vec<u8>, _>("envelope")?,
                )
                .await?;
                self.counters.diverged.fetch_add(1, Ordering::Relaxed);
                self.metrics.diverged();
                tracing::error!(consumer = self.name(), event_id, "{error}");
            }
        }
        sqlx::query(
            "DELETE FROM parked WHERE consumer = $1 AND source = $2 AND stream_id = $3 \
             AND stream_version <= $4",
        )
        .bind(self.name().to_owned())
        .bind(done.source.clone())
        .bind(done.stream_id.clone())
        .bind(to_i64(version))
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Counts a failed attempt to apply an event (deliveries spent waiting for a predecessor
    /// or on a transient failure do not count) and returns the count so far.
    async fn record_failure(&self, event_id: &str) -> Result<i64, ConsumerError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO consumer_failures (consumer, event_id, failures) VALUES ($1, $2, 1) \
             ON CONFLICT (consumer, event_id) \
             DO UPDATE SET failures = consumer_failures.failures + 1",
        )
        .bind(self.name().to_owned())
        .bind(event_id.to_owned())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT failures FROM consumer_failures WHERE consumer = $1 AND event_id = $2",
        )
        .bind(self.name().to_owned())
        .bind(event_id.to_owned())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.try_get::<i64, _>("failures")?)
    }

    /// Writes an event to `dead_letters` in a transaction of its own. Unless it diverged (its
    /// version was applied already), its stream moves on past it and its parked successors
    /// are applied.
    async fn set_aside(
        &self,
        subject: &str,
        event: &Identity,
        attempts: i64,
        error: &str,
        envelope: &[u8],
    ) -> Result<(), ConsumerError> {
        let mut tx = self.begin().await?;
        let last = self
            .last_version(&mut tx, &event.source, &event.stream_id)
            .await?;
        insert_dead_letter(
            &mut tx,
            self.name(),
            &event.event_id,
            subject,
            "",
            &event.stream_id,
            event.stream_version,
            attempts,
            error,
            envelope,
        )
        .await?;
        if event.stream_version == last + 1 {
            self.advance(&mut tx, event).await?;
        }
        tx.commit().await?;
        self.metrics.dead_lettered();
        Ok(())
    }

    /// Bytes that are not an envelope. The relay names each message's stream in its headers,
    /// so the stream can usually still move on; without them, only the bytes are kept.
    async fn dead_letter_unreadable(
        &self,
        message: &jetstream::Message,
        subject: &str,
        error: &str,
    ) -> Result<(), ConsumerError> {
        if let Some(identity) = identity_from_headers(message) {
            let last = {
                let mut tx = self.begin().await?;
                let last = self
                    .last_version(&mut tx, &identity.source, &identity.stream_id)
                    .await?;
                tx.rollback().await?;
                last
            };
            if identity.stream_version > last + 1 {
                // Its turn has not come: keep it with the parked ones, so its stream moves past
                // it when it does (it will be dead-lettered then).
                let mut tx = self.begin().await?;
                self.park(&mut tx, &identity, subject, &message.payload)
                    .await?;
                tx.commit().await?;
                return Ok(());
            }
            return self
                .set_aside(subject, &identity, 1, error, &message.payload)
                .await;
        }
        let mut tx = self.db.begin_write().await?;
        let id = format!("undecodable:{subject}:{}", hex_digest(&message.payload));
        insert_dead_letter(
            &mut tx,
            self.name(),
            &id,
            subject,
            "",
            "",
            0,
            1,
            error,
            &message.payload,
        )
        .await?;
        tx.commit().await?;
        self.metrics.dead_lettered();
        Ok(())
    }

    /// Keeps an event newer than this build in `parked` at its own version, so it and every
    /// later event of its stream wait for the upgrade; counted and logged for the operator.
    async fn hold(
        &self,
        subject: &str,
        event: &RecordedEvent,
        envelope: &[u8],
        reason: &str,
    ) -> Result<(), ConsumerError> {
        let mut tx = self.begin().await?;
        self.park(&mut tx, &identity(event), subject, envelope)
            .await?;
        tx.commit().await?;
        self.metrics.newer_version();
        tracing::error!(
            consumer = self.name(),
            event_id = %event.event_id,
            stream_id = %event.stream_id,
            "{reason}: held with its stream until this service is upgraded"
        );
        Ok(())
    }

    /// Applies the parked events that wait for nothing (their stream's next version): events
    /// held for a newer schema, once this build knows it (after an upgrade), each followed by
    /// the successors parked behind it. Run at every subscription; `Ok(n)`: how many were
    /// applied (successors included).
    pub async fn retry_held(&self) -> Result<u64, ConsumerError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT event_id, source, stream_id, stream_version, subject, envelope FROM parked \
             WHERE consumer = $1 ORDER BY parked_at",
        )
        .bind(self.name().to_owned())
        .fetch_all(&mut *tx)
        .await?;
        let before = self.counters.unparked.load(Ordering::Relaxed);
        let mut applied = 0;
        for row in rows {
            let held = Identity {
                event_id: row.try_get("event_id")?,
                source: row.try_get("source")?,
                stream_id: row.try_get("stream_id")?,
                stream_version: from_i64(row.try_get::<i64, _>("stream_version")?),
            };
            let last = self
                .last_version(&mut tx, &held.source, &held.stream_id)
                .await?;
            if held.stream_version != last + 1 {
                continue;
            }
            let envelope: Vec<u8> = row.try_get("envelope")?;
            let Ok(event) = decode_envelope(&envelope) else {
                continue;
            };
            match self.apply_event(&mut tx, event).await {
                Ok(()) => {
                    self.advance(&mut tx, &held).await?;
                    applied += 1;
                }
                Err(ProjectionError::NewerVersion(_)) => {}
                Err(error) if error.is_transient() => {
                    return Err(ConsumerError::Projection(error.to_string()));
                }
                Err(error) => {
                    let subject: String = row.try_get("subject")?;
                    insert_dead_letter(
                        &mut tx,
                        self.name(),
                        &held.event_id,
                        &subject,
                        "",
                        &held.stream_id,
                        held.stream_version,
                        1,
                        &error.to_string(),
                        &envelope,
                    )
                    .await?;
                    self.metrics.dead_lettered();
                    self.advance(&mut tx, &held).await?;
                }
            }
        }
        tx.commit().await?;
        let unparked = self.counters.unparked.load(Ordering::Relaxed) - before;
        if applied > 0 {
            tracing::info!(
                consumer = self.name(),
                applied,
                "held events applied after the upgrade"
            );
        }
        Ok(applied + unparked)
    }

    /// Carries out the operators' orders on this consumer's dead letters (`dondoc dlq retry`):
    /// each is applied again, as it was stored, in a transaction of its own. Applied: it leaves
    /// `dead_letters` and joins the inbox (its stream's position never goes back). Failing
    /// again: it stays, with the new error and one more attempt. Either way the order is done
    /// and logged in `dead_letter_log`. `Ok(n)`: orders carried out.
    pub async fn carry_out_orders(&self) -> Result<usize, ConsumerError> {
        let orders: Vec<String> = sqlx::query(
            "SELECT event_id FROM dead_letter_orders WHERE consumer = $1 ORDER BY requested_at",
        )
        .bind(self.name().to_owned())
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|row| row.try_get("event_id"))
        .collect::<Result<_, _>>()?;
        for event_id in &orders {
            self.retry_dead_letter(event_id).await?;
        }
        Ok(orders.len())
    }

    async fn retry_dead_letter(&self, event_id: &str) -> Result<(), ConsumerError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT envelope, stream_id, stream_version, attempts FROM dead_letters \
             WHERE consumer = $1 AND event_id = $2",
        )
        .bind(self.name().to_owned())
        .bind(event_id.to_owned())
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match row {
            None => "no such dead letter".to_owned(),
            Some(row) => {
                let envelope: Vec<u8> = row.try_get("envelope")?;
                let attempts: i64 = row.try_get("attempts")?;
                // Never skipped as "seen": a dead letter whose stream moved on past it is in
                // the inbox already, without ever having been applied.
                let applied = match decode_envelope(&envelope) {
                    Ok(event) => self.apply_event(&mut tx, event).await,
                    Err(error) => Err(ProjectionError::Other(format!(
                        "not an event envelope: {error}"
                    ))),
                };
                match applied {
                    Ok(()) => {
                        sqlx::query(
                            "INSERT INTO inbox (consumer, event_id, processed_at) \
                             VALUES ($1, $2, $3) ON CONFLICT (consumer, event_id) DO NOTHING",
                        )
                        .bind(self.name().to_owned())
                        .bind(event_id.to_owned())
                        .bind(format_time(chrono::Utc::now()))
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "DELETE FROM dead_letters WHERE consumer = $1 AND event_id = $2",
                        )
                        .bind(self.name().to_owned())
                        .bind(event_id.to_owned())
                        .execute(&mut *tx)
                        .await?;
                        "applied".to_owned()
                    }
                    Err(error) if error.is_transient() => {
                        return Err(ConsumerError::Projection(error.to_string()));
                    }
                    Err(error) => {
                        // What the failed attempt wrote is rolled back; only the record stays.
                        tx.rollback().await?;
                        tx = self.begin().await?;
                        sqlx::query(
                            "UPDATE dead_letters SET attempts = $1, error = $2 \
                             WHERE consumer = $3 AND event_id = $4",
                        )
                        .bind(attempts + 1)
                        .bind(error.to_string())
                        .bind(self.name().to_owned())
                        .bind(event_id.to_owned())
                        .execute(&mut *tx)
                        .await?;
                        format!("failed again: {error}")
                    }
                }
            }
        };
        sqlx::query("DELETE FROM dead_letter_orders WHERE consumer = $1 AND event_id = $2")
            .bind(self.name().to_owned())
            .bind(event_id.to_owned())
            .execute(&mut *tx)
            .await?;
        log_dead_letter_action(&mut tx, self.name(), event_id, "retry", &outcome).await?;
        tx.commit().await?;
        tracing::info!(
            consumer = self.name(),
            event_id,
            outcome,
            "dead letter retried"
        );
        Ok(())
    }

    /// Keeps an event in `parked` until its stream reaches it.
    async fn park(
        &self,
        conn: &mut AnyConnection,
        event: &Identity,
        subject: &str,
        envelope: &[u8],
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO parked (consumer, event_id, source, stream_id, stream_version, \
             subject, envelope, parked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(self.name().to_owned())
        .bind(event.event_id.clone())
        .bind(event.source.clone())
        .bind(event.stream_id.clone())
        .bind(to_i64(event.stream_version))
        .bind(subject.to_owned())
        .bind(envelope.to_vec())
        .bind(format_time(chrono::Utc::now()))
        .execute(conn)
        .await?;
        Ok(())
    }

    async fn in_inbox(
        &self,
        conn: &mut AnyConnection,
        event_id: &str,
    ) -> Result<bool, sqlx::Error> {
        Ok(
            sqlx::query("SELECT 1 AS seen FROM inbox WHERE consumer = $1 AND event_id = $2")
                .bind(self.name().to_owned())
                .bind(event_id.to_owned())
                .fetch_optional(conn)
                .await?
                .is_some(),
        )
    }

    async fn last_version(
        &self,
        conn: &mut AnyConnection,
        source: &str,
        stream_id: &str,
    ) -> Result<u64, sqlx::Error> {
        let row = sqlx::query(
            "SELECT version FROM consumer_streams WHERE consumer = $1 AND source = $2 \
             AND stream_id = $3",
        )
        .bind(self.name().to_owned())
        .bind(source.to_owned())
        .bind(stream_id.to_owned())
        .fetch_optional(conn)
        .await?;
        Ok(match row {
            Some(row) => from_i64(row.try_get::<i64, _>("version")?),
            None => 0,
        })
    }

    async fn mark_done(
        &self,
        conn: &mut AnyConnection,
        event: &Identity,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO inbox (consumer, event_id, processed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(self.name().to_owned())
        .bind(event.event_id.clone())
        .bind(format_time(chrono::Utc::now()))
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO consumer_streams (consumer, source, stream_id, version) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (consumer, source, stream_id) DO UPDATE SET version = excluded.version",
        )
        .bind(self.name().to_owned())
        .bind(event.source.clone())
        .bind(event.stream_id.clone())
        .bind(to_i64(event.stream_version))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

fn identity(event: &RecordedEvent) -> Identity {
    Identity {
        event_id: event.event_id.to_string(),
        source: event.source.clone(),
        stream_id: event.stream_id.clone(),
        stream_version: event.stream_version,
    }
}

fn identity_from_headers(message: &jetstream::Message) -> Option<Identity> {
    let headers = message.headers.as_ref()?;
    let get = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
    Some(Identity {
        event_id: get("Nats-Msg-Id")?,
        source: get(SOURCE_HEADER)?,
        stream_id: get(STREAM_ID_HEADER)?,
        stream_version: get(STREAM_VERSION_HEADER)?.parse().ok()?,
    })
}

fn divergence(stream_id: &str, version: u64) -> String {
    format!(
        "divergence: version {version} of stream {stream_id} was already applied from another \
         event; the producer's log and this read model disagree (restored backup or rewound \
         producer?) — compare them before rebuilding"
    )
}

/// Dead letters of one consumer (its progress key), oldest first:
/// (event_id, event_type, attempts, error).
pub async fn dead_letters(
    db: &Database,
    consumer: &str,
) -> Result<Vec<(String, String, i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT event_id, event_type, attempts, error FROM dead_letters WHERE consumer = $1 \
         ORDER BY recorded_at",
    )
    .bind(consumer.to_owned())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("event_id")?,
                r.try_get("event_type")?,
                r.try_get("attempts")?,
                r.try_get("error")?,
            ))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_dead_letter(
    conn: &mut AnyConnection,
    consumer: &str,
    event_id: &str,
    subject: &str,
    event_type: &str,
    stream_id: &str,
    stream_version: u64,
    attempts: i64,
    error: &str,
    envelope: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dead_letters (consumer, event_id, subject, event_type, stream_id, \
         stream_version, attempts, error, envelope, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = excluded.attempts, \
         error = excluded.error",
    )
    .bind(consumer.to_owned())
    .bind(event_id.to_owned())
    .bind(subject.to_owned())
    .bind(event_type.to_owned())
    .bind(stream_id.to_owned())
    .bind(to_i64(stream_version))
    .bind(attempts)
    .bind(error.to_owned())
    .bind(envelope.to_vec())
    .bind(format_time(chrono::Utc::now()))
    .execute(conn)
    .await?;
    Ok(())
}

async fn log_dead_letter_action(
    conn: &mut AnyConnection,
    consumer: &str,
    event_id: &str,
    action: &str,
    outcome: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dead_letter_log (consumer, event_id, action, outcome, at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(consumer.to_owned())
    .bind(event_id.to_owned())
    .bind(action.to_owned())
    .bind(outcome.to_owned())
    .bind(format_time(chrono::Utc::now()))
    .execute(conn)
    .await?;
    Ok(())
}

/// One dead letter, as `dondoc dlq list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub consumer: String,
    pub event_id: String,
    pub subject: String,
    pub stream_id: String,
    pub stream_version: u64,
    pub attempts: i64,
    pub error: String,
    pub recorded_at: String,
    /// A retry is ordered and the running consumer has not carried it out yet.
    pub retry_ordered: bool,
}

/// Every dead letter of every consumer in `db`, oldest first.
pub async fn list_dead_letters(db: &Database) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT d.consumer, d.event_id, d.subject, d.stream_id, d.stream_version, d.attempts, \
         d.error, d.recorded_at, o.event_id AS ordered FROM dead_letters d \
         LEFT JOIN dead_letter_orders o ON o.consumer = d.consumer AND o.event_id = d.event_id \
         ORDER BY d.recorded_at, d.consumer, d.event_id",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeadLetter {
                consumer: r.try_get("consumer")?,
                event_id: r.try_get("event_id")?,
                subject: r.try_get("subject")?,
                stream_id: r.try_get("stream_id")?,
                stream_version: from_i64(r.try_get::<i64, _>("stream_version")?),
                attempts: r.try_get("attempts")?,
                error: r.try_get("error")?,
                recorded_at: r.try_get("recorded_at")?,
                retry_ordered: r.try_get::<Option<String>, _>("ordered")?.is_some(),
            })
        })
        .collect()
}

/// The consumers holding a dead letter `event_id` (it may be in several).
async fn holders(
    db: &Database,
    event_id: &str,
    consumer: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT consumer FROM dead_letters WHERE event_id = $1 ORDER BY consumer")
            .bind(event_id.to_owned())
            .fetch_all(db.pool())
            .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("consumer"))
        .filter(|c| match (c, consumer) {
            (Ok(c), Some(wanted)) => c == wanted,
            _ => true,
        })
        .collect()
}

/// Orders a retry of dead letter `event_id` (in `consumer`, or in every consumer holding it);
/// the running consumer carries it out within a second or so. The consumers ordered.
pub async fn order_retry(
    db: &Database,
    event_id: &str,
    consumer: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    let consumers = holders(db, event_id, consumer).await?;
    let mut tx = db.begin_write().await?;
    for consumer in &consumers {
        sqlx::query(
            "INSERT INTO dead_letter_orders (consumer, event_id, requested_at) \
             VALUES ($1, $2, $3) ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(consumer.clone())
        .bind(event_id.to_owned())
        .bind(format_time(chrono::Utc::now()))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(consumers)
}

/// Whether a retry ordered for `event_id` is still waiting to be carried out.
pub async fn retry_pending(db: &Database, event_id: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("SELECT 1 AS waiting FROM dead_letter_orders WHERE event_id = $1")
            .bind(event_id.to_owned())
            .fetch_optional(db.pool())
            .await?
            .is_some(),
    )
}

/// Discards dead letter `event_id` (in `consumer`, or in every consumer holding it): it leaves
/// `dead_letters`, and `dead_letter_log` records that it was discarded and why. The consumers
/// it was discarded from.
pub async fn discard(
    db: &Database,
    event_id: &str,
    consumer: Option<&str>,
    reason: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let consumers = holders(db, event_id, consumer).await?;
    let mut tx = db.begin_write().await?;
    for consumer in &consumers {
        sqlx::query("DELETE FROM dead_letters WHERE consumer = $1 AND event_id = $2")
            .bind(consumer.clone())
            .bind(event_id.to_owned())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM dead_letter_orders WHERE consumer = $1 AND event_id = $2")
            .bind(consumer.clone())
            .bind(event_id.to_owned())
            .execute(&mut *tx)
            .await?;
        log_dead_letter_action(&mut tx, consumer, event_id, "discard", reason).await?;
    }
    tx.commit().await?;
    Ok(consumers)
}

fn hex_digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(bytes)[..8])
}

fn decode_envelope(payload: &[u8]) -> Result<RecordedEvent, String> {
    let envelope = pb::EventEnvelope::decode(payload).map_err(|e| e.to_string())?;
    RecordedEvent::from_envelope(envelope)
}

/// Redelivery delay after a transient failure: 400 ms doubling to a ceiling of 12.8 s.
fn backoff(attempts: i64) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempts.clamp(1, 6) as u32))
}

/// Acknowledges with a round trip (double ack), so a lost ack cannot make the server
/// redeliver an applied message; a failure only means the message comes back, which the
/// inbox absorbs.
async fn ack(message: &jetstream::Message, kind: AckKind) {
    if let Err(error) = message.double_ack_with(kind).await {
        tracing::debug!(error = %error, "ack not confirmed; the inbox will absorb a redelivery");
    }
}
