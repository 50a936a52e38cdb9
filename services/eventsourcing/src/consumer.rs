//! Durable JetStream pull consumers that feed a [`Projection`] exactly once.
//!
//! JetStream delivers at least once, and after a relay crash an event can arrive again long
//! after the server's duplicate window. So every message is handled like this:
//!
//! 1. In one write transaction: skip it if the inbox already has `(consumer, event_id)`, or if
//!    its stream version is not newer than the last one applied for that stream; park it (NAK
//!    with a short delay) if it is ahead of the next expected version (per-stream order is
//!    respected even when JetStream redelivers out of order); otherwise apply it and record the
//!    inbox row and the stream version.
//! 2. Commit, then acknowledge (double ack, so a lost ack cannot cause a redelivery).
//!
//! A message that keeps failing is written to `dead_letters` after `max_attempts` failed
//! attempts to apply it (waiting for a predecessor is not a failure, nor is a transient
//! database error), its stream advanced past it, and acknowledged: the consumer goes on, and
//! an operator can inspect it. So is one whose payload cannot be read at all.
//!
//! A rebuild (or a new version of the read model) empties the read model and its progress and
//! leaves an order to delete the durable consumer, all in one transaction; the consumer carries
//! the order out before it reads again, so it starts over from the beginning of the stream and
//! never resumes the old position into an empty read model.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::stream::ConsumerErrorKind;
use async_nats::jetstream::{self, AckKind, consumer::pull};
use futures::StreamExt;
use prost::Message as _;
use sqlx::{AnyConnection, Row};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::db::Database;
use crate::event::{RecordedEvent, format_time};
use crate::metrics::ConsumerMetrics;
use crate::projection::{Feed, Projection, forget_progress};
use crate::store::{from_i64, to_i64};
use crate::upcast::{UpcastContext, Upcasters};
use dondoc_proto::v1 as pb;

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
];

/// Where and how a consumer reads.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// The JetStream stream to read, e.g. `DONDOC_ASSIGNMENT`.
    pub stream_name: String,
    /// Subjects within it, e.g. `dondoc.assignment.task.>`.
    pub filter_subjects: Vec<String>,
    /// Failed attempts before a message is dead-lettered.
    pub max_attempts: u32,
    /// How long the server waits for an ack before redelivering.
    pub ack_wait: Duration,
}

impl ConsumerConfig {
    pub fn new(stream_name: impl Into<String>, filter_subjects: Vec<String>) -> Self {
        Self {
            stream_name: stream_name.into(),
            filter_subjects,
            max_attempts: 5,
            ack_wait: Duration::from_secs(30),
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
}

/// What happened to one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disposition {
    Applied,
    /// Seen before (inbox or an older stream version): acknowledged, nothing written.
    Duplicate,
    /// Ahead of its stream's next version: left for redelivery after its predecessor.
    Parked,
    /// Failed; will be redelivered.
    Retried {
        error: String,
    },
    /// Failed too often (or could not be decoded at all): written to `dead_letters`.
    DeadLettered {
        error: String,
    },
}

/// A durable pull consumer feeding one projection.
pub struct Consumer<P> {
    db: Database,
    js: jetstream::Context,
    config: ConsumerConfig,
    projection: Arc<P>,
    upcasters: Upcasters,
    metrics: ConsumerMetrics,
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
        // A new version of the read model is reset here and consumes everything again from
        // the start (see `forget_progress`).
        crate::projection::prepare(&db, projection.as_ref(), Feed::Nats)
            .await
            .map_err(|e| ConsumerError::Projection(e.to_string()))?;
        Ok(Self {
            metrics: ConsumerMetrics::new(projection.name()),
            db,
            js,
            config,
            projection,
            upcasters,
            // `durable()` checks the database before the first read anyway.
            reset_pending: AtomicBool::new(false),
            reset_requested: Notify::new(),
        })
    }

    pub fn name(&self) -> &'static str {
        self.projection.name()
    }

    pub fn database(&self) -> &Database {
        &self.db
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
        let mut outcomes = Vec::new();
        while let Some(message) = batch.next().await {
            match message {
                Ok(message) => outcomes.push(self.handle(&message).await?),
                Err(e) => return Err(ConsumerError::JetStream(e.to_string())),
            }
        }
        Ok(outcomes)
    }

    /// Consumes until `shutdown`, recreating the subscription after errors (NATS restarts,
    /// missing stream before the producer's first publish).
    pub async fn run(&self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            let messages = match self.durable().await {
                Ok(consumer) => consumer.messages().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let mut messages = match messages {
                Ok(messages) => messages,
                Err(error) => {
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
            loop {
                let next = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    // A rebuild was asked for: resubscribe, which carries the reset out.
                    _ = self.reset_requested.notified() => break,
                    next = messages.next() => next,
                };
                match next {
                    Some(Ok(message)) => {
                        consecutive_errors = 0;
                        if let Err(error) = self.handle(&message).await {
                            // The database is unavailable: leave the message for redelivery.
                            tracing::warn!(consumer = self.name(), error = %error, "cannot handle message");
                            let _ = message
                                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                                .await;
                        }
                    }
                    // Heartbeat gaps and similar are reported as items; the stream goes on.
                    Some(Err(error)) => {
                        tracing::debug!(consumer = self.name(), error = %error, "consumer stream error");
                        // A stream that only yields errors (the server went away) is rebuilt
                        // after a pause rather than spun on.
                        consecutive_errors += 1;
                        if consecutive_errors >= 3 {
                            tokio::select! {
                                _ = shutdown.cancelled() => return,
                                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                            }
                            break;
                        }
                    }
                    None => break,
                }
            }
        }
    }

    /// Empties the projection and its consumer bookkeeping, and recreates the durable consumer
    /// from the start of the stream, so everything is consumed again.
    pub async fn reset_for_rebuild(&self) -> Result<(), ConsumerError> {
        let mut tx = self.db.begin_write().await?;
        crate::projection::empty(&mut tx, self.projection.as_ref()).await?;
        forget_progress(&mut tx, self.name(), Feed::Nats).await?;
        tx.commit().await?;
        self.reset_pending.store(true, Ordering::SeqCst);
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
                // Bytes that are not an event will never succeed: dead-letter at once.
                self.dead_letter_raw(&subject, &message.payload, deliveries, &error)
                    .await?;
                ack(message, AckKind::Ack).await;
                return Ok(Disposition::DeadLettered { error });
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
        if !event.traceparent.is_empty() {
            dondoc_runtime::telemetry::set_parent_from_traceparent(&span, &event.traceparent);
        }
        self.apply_once(message, &subject, deliveries, event)
            .instrument(span)
            .await
    }

    async fn apply_once(
        &self,
        message: &jetstream::Message,
        subject: &str,
        deliveries: i64,
        mut event: RecordedEvent,
    ) -> Result<Disposition, ConsumerError> {
        let mut tx = self.db.begin_write().await?;
        if self.in_inbox(&mut tx, &event).await? {
            tx.rollback().await?;
            ack(message, AckKind::Ack).await;
            return Ok(Disposition::Duplicate);
        }
        let last = self.last_version(&mut tx, &event).await?;
        if event.stream_version <= last {
            tx.rollback().await?;
            ack(message, AckKind::Ack).await;
            return Ok(Disposition::Duplicate);
        }
        if event.stream_version > last + 1 {
            // Its predecessor is still on the way (or was lost: `dondoc replay` resends it).
            // Parking is not a failure, so it never dead-letters; it only waits longer.
            tx.rollback().await?;
            if deliveries > 20 {
                tracing::warn!(consumer = self.name(), stream_id = %event.stream_id, waiting_for = last + 1, "event still waits for its predecessor");
            }
            ack(message, AckKind::Nak(Some(backoff(deliveries)))).await;
            return Ok(Disposition::Parked);
        }

        // Upcast only now, so that an unreadable payload is dead-lettered in its stream's
        // order and the stream goes on after it.
        let payload = std::mem::take(&mut event.payload);
        match self.upcasters.upcast(
            &event.event_type,
            event.schema_version,
            payload,
            &UpcastContext {
                occurred_at: event.occurred_at,
            },
        ) {
            Ok((version, payload)) => {
                event.schema_version = version;
                event.payload = payload;
            }
            Err(error) => {
                tx.rollback().await?;
                let error = error.to_string();
                self.dead_letter(message, subject, &event, 0, &error)
                    .await?;
                return Ok(Disposition::DeadLettered { error });
            }
        }

        match self.projection.apply(&mut tx, &event).await {
            Ok(()) => {
                self.mark_done(&mut tx, &event).await?;
                tx.commit().await?;
                ack(message, AckKind::Ack).await;
                Ok(Disposition::Applied)
            }
            Err(error) if error.is_transient() => {
                // The database hiccupped, not the event: try again later, without counting it
                // toward dead-lettering.
                tx.rollback().await?;
                ack(message, AckKind::Nak(Some(backoff(deliveries)))).await;
                Ok(Disposition::Retried {
                    error: error.to_string(),
                })
            }
            Err(error) => {
                tx.rollback().await?;
                let error = error.to_string();
                let failures = self.record_failure(&event).await?;
                if failures >= i64::from(self.config.max_attempts) {
                    self.dead_letter(message, subject, &event, failures, &error)
                        .await?;
                    tracing::error!(consumer = self.name(), event_id = %event.event_id, error = %error, "dead-lettered");
                    Ok(Disposition::DeadLettered { error })
                } else {
                    ack(message, AckKind::Nak(Some(backoff(failures)))).await;
                    Ok(Disposition::Retried { error })
                }
            }
        }
    }

    /// Counts a failed attempt to apply `event` (deliveries spent waiting for a predecessor
    /// do not count) and returns the count so far.
    async fn record_failure(&self, event: &RecordedEvent) -> Result<i64, ConsumerError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO consumer_failures (consumer, event_id, failures) VALUES ($1, $2, 1) \
             ON CONFLICT (consumer, event_id) \
             DO UPDATE SET failures = consumer_failures.failures + 1",
        )
        .bind(self.name().to_owned())
        .bind(event.event_id.to_string())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT failures FROM consumer_failures WHERE consumer = $1 AND event_id = $2",
        )
        .bind(self.name().to_owned())
        .bind(event.event_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.try_get::<i64, _>("failures")?)
    }

    /// Writes `event` to `dead_letters` and moves its stream past it, in one transaction, then
    /// acknowledges it.
    async fn dead_letter(
        &self,
        message: &jetstream::Message,
        subject: &str,
        event: &RecordedEvent,
        attempts: i64,
        error: &str,
    ) -> Result<(), ConsumerError> {
        let mut tx = self.db.begin_write().await?;
        self.mark_done(&mut tx, event).await?;
        insert_dead_letter(
            &mut tx,
            self.name(),
            &event.event_id.to_string(),
            subject,
            &event.event_type,
            &event.stream_id,
            event.stream_version,
            attempts,
            error,
            &message.payload,
        )
        .await?;
        tx.commit().await?;
        self.metrics.dead_lettered();
        ack(message, AckKind::Ack).await;
        Ok(())
    }

    async fn in_inbox(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<bool, sqlx::Error> {
        Ok(
            sqlx::query("SELECT 1 AS seen FROM inbox WHERE consumer = $1 AND event_id = $2")
                .bind(self.name().to_owned())
                .bind(event.event_id.to_string())
                .fetch_optional(conn)
                .await?
                .is_some(),
        )
    }

    async fn last_version(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<u64, sqlx::Error> {
        let row = sqlx::query(
            "SELECT version FROM consumer_streams WHERE consumer = $1 AND source = $2 \
             AND stream_id = $3",
        )
        .bind(self.name().to_owned())
        .bind(event.source.clone())
        .bind(event.stream_id.clone())
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
        event: &RecordedEvent,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO inbox (consumer, event_id, processed_at) VALUES ($1, $2, $3)")
            .bind(self.name().to_owned())
            .bind(event.event_id.to_string())
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

    async fn dead_letter_raw(
        &self,
        subject: &str,
        payload: &[u8],
        attempts: i64,
        error: &str,
    ) -> Result<(), ConsumerError> {
        let mut tx = self.db.begin_write().await?;
        let id = format!("undecodable:{subject}:{}", hex_digest(payload));
        insert_dead_letter(
            &mut tx,
            self.name(),
            &id,
            subject,
            "",
            "",
            0,
            attempts,
            error,
            payload,
        )
        .await?;
        tx.commit().await?;
        self.metrics.dead_lettered();
        Ok(())
    }
}

/// Dead letters of one consumer, oldest first: (event_id, event_type, attempts, error).
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

fn hex_digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(bytes)[..8])
}

fn decode_envelope(payload: &[u8]) -> Result<RecordedEvent, String> {
    let envelope = pb::EventEnvelope::decode(payload).map_err(|e| e.to_string())?;
    RecordedEvent::from_envelope(envelope)
}

/// Redelivery delay: 400 ms doubling to a ceiling of 12.8 s.
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
