//! The transactional outbox relay: from a service's SQL event log to NATS JetStream.
//!
//! The events table *is* the outbox: an event and its "to be published" mark commit in the same
//! transaction because they are the same row, and the relay's checkpoint (last position
//! acknowledged by JetStream) says what is still pending. Because positions are gap-free and
//! appear in commit order (see [`crate::store`]), publishing `position > checkpoint` in order
//! never skips an event.
//!
//! Delivery is at-least-once by construction: the checkpoint moves only after JetStream's
//! PubAck, so a crash between publish and checkpoint republishes. `Nats-Msg-Id` is the event id,
//! so the server drops such repeats inside its duplicate window, and consumers' inboxes drop
//! the rest. While NATS is down, commands keep committing; the relay retries with backoff and
//! catches up when NATS returns.
//!
//! Replicas of a service share its database and so its outbox: one relay at a time publishes,
//! the holder of a lease row renewed every third of its period ([`Relay::try_lead`]).
//!
//! Each message carries, besides its envelope, headers naming its event type, stream and
//! version, so a consumer can move a stream on past a message whose body it cannot read.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, message::PublishMessage, stream};
use prost::Message as _;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::clock::{SharedClock, SystemClock};
use crate::db::Database;
use crate::event::{RecordedEvent, format_time};
use crate::metrics::RelayMetrics;
use crate::store::{EventStore, StoreError, from_i64, to_i64};

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS relay_checkpoints (
        name TEXT PRIMARY KEY,
        position BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS relay_leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )",
];

/// How long a relay's lease lasts without renewal. The holder renews it every third of this
/// (not every round: each renewal is a write, and on SQLite every write competes with the
/// event writer), so a crashed leader is replaced within this time.
pub const LEASE: Duration = Duration::from_secs(10);

/// How long JetStream remembers message ids: longer than any retry span of the relay, so a
/// republish after a short outage is deduplicated by the server.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Header naming the event type, so consumers can route without decoding the body.
pub const EVENT_TYPE_HEADER: &str = "Dondoc-Event-Type";
/// Header naming the producing service.
pub const SOURCE_HEADER: &str = "Dondoc-Source";
/// Header naming the event's stream.
pub const STREAM_ID_HEADER: &str = "Dondoc-Stream-Id";
/// Header giving the event's version in its stream.
pub const STREAM_VERSION_HEADER: &str = "Dondoc-Stream-Version";

/// How a service's JetStream stream is kept (`[<service>.stream]`,
/// `DONDOC_<SERVICE>__STREAM__REPLICAS`): its copies on a NATS cluster and its limits. Applied
/// when the stream is created and, at every start, to a stream that already exists, so a
/// deployment moved onto a cluster gets its streams replicated by changing one setting.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamSettings {
    /// Copies of every message across the cluster's servers (JetStream allows 1 to 5): 1 on a
    /// single server, 3 on a three-server cluster, which then survives losing any one server.
    pub replicas: usize,
    /// Messages older than this are dropped; zero (the default) keeps them all. Longer than
    /// any consumer may be down: a consumer that finds events gone waits for them (parked)
    /// until `dondoc replay` republishes them from the SQL log.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// The most bytes the stream keeps, oldest dropped first; unlimited when absent.
    pub max_bytes: Option<i64>,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            replicas: 1,
            max_age: Duration::ZERO,
            max_bytes: None,
        }
    }
}

impl StreamSettings {
    /// `config` with these settings in the form the server reports them back (0 replicas is
    /// 1, no byte limit is -1), so a stream that matches compares equal.
    pub fn apply_to(&self, config: &mut stream::Config) {
        config.num_replicas = self.replicas.max(1);
        config.max_age = self.max_age;
        config.max_bytes = self.max_bytes.unwrap_or(-1);
    }

    /// Whether `config` (as the server reports it) already has these settings.
    pub fn matches(&self, config: &stream::Config) -> bool {
        config.num_replicas.max(1) == self.replicas.max(1)
            && config.max_age == self.max_age
            && config.max_bytes == self.max_bytes.unwrap_or(-1)
    }
}

/// Creates `wanted` if missing; an existing stream of that name whose replicas or limits
/// differ from `settings` is updated to them (its subjects and other settings kept).
pub async fn ensure_stream_with(
    js: &jetstream::Context,
    mut wanted: stream::Config,
    settings: &StreamSettings,
) -> Result<(), RelayError> {
    settings.apply_to(&mut wanted);
    // The server answers create and lookup with the stream's info: no second request.
    let stream = js
        .get_or_create_stream(wanted)
        .await
        .map_err(|e| RelayError::JetStream(e.to_string()))?;
    let current = stream.cached_info().config.clone();
    if settings.matches(&current) {
        return Ok(());
    }
    let mut updated = current;
    let (name, replicas_before) = (updated.name.clone(), updated.num_replicas);
    settings.apply_to(&mut updated);
    js.update_stream(&updated)
        .await
        .map_err(|e| RelayError::JetStream(format!("cannot update stream {name}: {e}")))?;
    tracing::info!(
        stream = name,
        replicas_before,
        replicas = updated.num_replicas,
        "stream brought to its configured replicas and limits"
    );
    Ok(())
}

/// Where a service publishes.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// JetStream stream, e.g. `DONDOC_ASSIGNMENT`.
    pub stream_name: String,
    /// Subject prefix, e.g. `dondoc.assignment`; events go to `<prefix>.<stream_type>.<id>`.
    pub subject_prefix: String,
    /// Events read and published per round.
    pub batch_size: u32,
    /// Replicas and limits of the stream.
    pub stream: StreamSettings,
}

impl RelayConfig {
    /// The conventional names for a service: stream `DONDOC_<SERVICE>`, subjects
    /// `dondoc.<service>.>`.
    pub fn for_service(service: &str) -> Self {
        Self {
            stream_name: format!("DONDOC_{}", service.to_ascii_uppercase()),
            subject_prefix: format!("dondoc.{service}"),
            batch_size: 256,
            stream: StreamSettings::default(),
        }
    }

    /// This configuration with the stream kept as `stream` says.
    pub fn with_stream(mut self, stream: StreamSettings) -> Self {
        self.stream = stream;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("JetStream: {0}")]
    JetStream(String),
}

/// The subject an event is published on. Stream ids are sanitised so they are one token.
pub fn subject_for(prefix: &str, event: &RecordedEvent) -> String {
    let token = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                '.' | '*' | '>' | ' ' | '\t' | '\r' | '\n' => '_',
                other => other,
            })
            .collect()
    };
    format!(
        "{prefix}.{}.{}",
        token(&event.stream_type),
        token(&event.stream_id)
    )
}

/// Creates the service's stream if missing (file storage, long duplicate window), and brings
/// an existing one to the configured replicas and limits.
pub async fn ensure_stream(
    js: &jetstream::Context,
    config: &RelayConfig,
) -> Result<(), RelayError> {
    ensure_stream_with(
        js,
        stream::Config {
            name: config.stream_name.clone(),
            subjects: vec![format!("{}.>", config.subject_prefix)],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        },
        &config.stream,
    )
    .await
}

/// Sets a service's relay checkpoint back to `position` from outside the running service (the
/// `dondoc replay` command): its relay notices within a second and republishes the rest.
pub async fn rewind(db: &Database, config: &RelayConfig, position: u64) -> Result<(), RelayError> {
    db.run_schema(SCHEMA).await.map_err(StoreError::from)?;
    write_checkpoint(
        db,
        config,
        "INSERT INTO relay_checkpoints (name, position) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        position,
    )
    .await
}

async fn write_checkpoint(
    db: &Database,
    config: &RelayConfig,
    sql: &'static str,
    position: u64,
) -> Result<(), RelayError> {
    sqlx::query(sql)
        .bind(config.stream_name.clone())
        .bind(to_i64(position))
        .execute(db.pool())
        .await
        .map_err(StoreError::from)?;
    Ok(())
}

/// Publishes one service's log to JetStream.
#[derive(Clone, Debug)]
pub struct Relay {
    store: EventStore,
    js: jetstream::Context,
    config: RelayConfig,
    /// Whether the stream is known to exist, so an idle relay does not ask JetStream every
    /// round; reset after any publishing error (the stream may have been deleted).
    stream_ready: Arc<AtomicBool>,
    metrics: RelayMetrics,
    /// Identifies this relay in the lease table.
    holder: String,
    /// Events published by this relay, for tests and diagnostics.
    published: Arc<AtomicU64>,
    /// Time for the lease (tests move it by hand).
    clock: SharedClock,
    /// When this relay last renewed its lease, if it holds it.
    renewed_at: Arc<std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>>,
}

impl Relay {
    pub async fn new(
        store: EventStore,
        js: jetstream::Context,
        config: RelayConfig,
    ) -> Result<Self, RelayError> {
        let db = store.database();
        db.run_schema(SCHEMA).await.map_err(StoreError::from)?;
        // The row exists from the start, so moving the checkpoint is a plain compare-and-set.
        sqlx::query(
            "INSERT INTO relay_checkpoints (name, position) VALUES ($1, 0) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(config.stream_name.clone())
        .execute(db.pool())
        .await
        .map_err(StoreError::from)?;
        Ok(Self {
            metrics: RelayMetrics::new(&config.stream_name),
            store,
            js,
            config,
            stream_ready: Arc::new(AtomicBool::new(false)),
            holder: uuid::Uuid::now_v7().to_string(),
            published: Arc::new(AtomicU64::new(0)),
            clock: Arc::new(SystemClock),
            renewed_at: Arc::new(std::sync::Mutex::new(None)),
        })
    }

    /// Judges the lease by `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Takes or renews the service's relay lease; `true` while this relay is the one that
    /// publishes. With several replicas on one database only the lease holder publishes (the
    /// others would only produce duplicates for JetStream and the inboxes to drop); when it
    /// stops renewing, another takes over after [`LEASE`].
    ///
    /// The lease is judged by each replica's clock, so replicas need synchronised clocks (NTP)
    /// for one relay to be active at a time. When they are not, or a round outlasts the lease,
    /// two relays may briefly publish together: that costs duplicates, never correctness
    /// (message ids, inboxes and the compare-and-set checkpoint absorb them).
    pub async fn try_lead(&self) -> Result<bool, RelayError> {
        let now = self.clock.now();
        let renewal = chrono::Duration::from_std(LEASE / 3).unwrap_or_default();
        if self
            .renewed()
            .is_some_and(|at| now >= at && now < at + renewal)
        {
            return Ok(true);
        }
        let expires_at = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let taken = sqlx::query(
            "INSERT INTO relay_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
             WHERE relay_leases.holder = excluded.holder OR relay_leases.expires_at < $4",
        )
        .bind(self.config.stream_name.clone())
        .bind(self.holder.clone())
        .bind(format_time(expires_at))
        .bind(format_time(now))
        .execute(self.store.database().pool())
        .await
        .map_err(StoreError::from)?;
        let leads = taken.rows_affected() == 1;
        *self.renewed_lock() = leads.then_some(now);
        Ok(leads)
    }

    fn renewed(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        *self.renewed_lock()
    }

    fn renewed_lock(&self) -> std::sync::MutexGuard<'_, Option<chrono::DateTime<chrono::Utc>>> {
        self.renewed_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Gives the lease up (on a graceful stop), so another replica takes over at once.
    pub async fn release(&self) -> Result<(), RelayError> {
        *self.renewed_lock() = None;
        sqlx::query("DELETE FROM relay_leases WHERE name = $1 AND holder = $2")
            .bind(self.config.stream_name.clone())
            .bind(self.holder.clone())
            .execute(self.store.database().pool())
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    /// The last position JetStream acknowledged.
    pub async fn checkpoint(&self) -> Result<u64, RelayError> {
        let row = sqlx::query("SELECT position FROM relay_checkpoints WHERE name = $1")
            .bind(self.config.stream_name.clone())
            .fetch_optional(self.store.database().pool())
            .await
            .map_err(StoreError::from)?;
        Ok(match row {
            Some(row) => from_i64(
                row.try_get::<i64, _>("position")
                    .map_err(StoreError::from)?,
            ),
            None => 0,
        })
    }

    /// Moves the checkpoint from `from` to `to` only if nobody moved it meanwhile: neither a
    /// `dondoc replay` rewind during this round nor a second relay (two replicas during a
    /// rolling restart) is undone. If it moved, the next round starts from where it now is.
    async fn advance_checkpoint(&self, from: u64, to: u64) -> Result<(), RelayError> {
        let moved = sqlx::query(
            "UPDATE relay_checkpoints SET position = $3 WHERE name = $1 AND position = $2",
        )
        .bind(self.config.stream_name.clone())
        .bind(to_i64(from))
        .bind(to_i64(to))
        .execute(self.store.database().pool())
        .await
        .map_err(StoreError::from)?;
        if moved.rows_affected() == 0 {
            tracing::debug!(stream = %self.config.stream_name, "checkpoint moved by someone else during this round");
        }
        Ok(())
    }

    /// Sets the checkpoint back so that everything after `position` is published again
    /// (`dondoc replay`). Consumers' inboxes make the repeats harmless.
    pub async fn rewind_to(&self, position: u64) -> Result<(), RelayError> {
        rewind(self.store.database(), &self.config, position).await
    }

    /// One round: publishes up to a batch of pending events in order and moves the checkpoint
    /// past those JetStream acknowledged. Returns how many were acknowledged.
    ///
    /// Publishes are pipelined (all sent, then acks awaited in order); if one fails the
    /// checkpoint stops before it and the next round resends from there.
    pub async fn publish_pending(&self) -> Result<usize, RelayError> {
        let result = self.publish_round().await;
        if let Ok(published) = &result {
            self.published
                .fetch_add(*published as u64, Ordering::Relaxed);
        }
        self.record_backlog().await;
        result
    }

    /// The backlog is a property of the shared log, so every replica reports it, leader or
    /// not (a former leader would otherwise keep reporting its last value); a failed
    /// measurement leaves the gauge as it was.
    async fn record_backlog(&self) {
        if let (Ok(head), Ok(checkpoint)) =
            (self.store.head_position().await, self.checkpoint().await)
        {
            self.metrics.backlog(head.saturating_sub(checkpoint));
        }
    }

    /// Events this relay (and its clones) had acknowledged by JetStream since it was built.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    async fn publish_round(&self) -> Result<usize, RelayError> {
        if !self.stream_ready.load(Ordering::Relaxed) {
            ensure_stream(&self.js, &self.config).await?;
            self.stream_ready.store(true, Ordering::Relaxed);
        }
        let checkpoint = self.checkpoint().await?;
        let events = self
            .store
            .read_all_stored(checkpoint, self.config.batch_size)
            .await?;
        if events.is_empty() {
            return Ok(0);
        }
        let mut pending = Vec::with_capacity(events.len());
        let mut failure = None;
        for event in &events {
            let mut headers = HeaderMap::new();
            headers.insert(EVENT_TYPE_HEADER, event.event_type.as_str());
            headers.insert(SOURCE_HEADER, event.source.as_str());
            headers.insert(STREAM_ID_HEADER, event.stream_id.as_str());
            headers.insert(
                STREAM_VERSION_HEADER,
                event.stream_version.to_string().as_str(),
            );
            if !event.traceparent.is_empty() {
                headers.insert("traceparent", event.traceparent.as_str());
            }
            // `headers` replaces the whole map, so it must come before `message_id`.
            let publish = PublishMessage::build()
                .payload(event.to_envelope().encode_to_vec().into())
                .headers(headers)
                .message_id(event.event_id.to_string());
            match self
                .js
                .send_publish(subject_for(&self.config.subject_prefix, event), publish)
                .await
            {
                Ok(ack) => pending.push((event.position, ack)),
                Err(e) => {
                    failure = Some(format!("publishing position {}: {e}", event.position));
                    break;
                }
            }
        }
        let mut acknowledged = checkpoint;
        let mut count = 0;
        for (position, ack) in pending {
            match ack.await {
                Ok(_) => {
                    acknowledged = position;
                    count += 1;
                }
                Err(e) => {
                    // Later publishes may already be stored; they are resent with this one and
                    // deduplicated by message id, so JetStream can hold them out of order.
                    // Consumers restore each stream's order (see `consumer`).
                    failure.get_or_insert(format!("acknowledgement of position {position}: {e}"));
                    break;
                }
            }
        }
        if acknowledged > checkpoint {
            self.advance_checkpoint(checkpoint, acknowledged).await?;
        }
        if failure.is_some() {
            self.stream_ready.store(false, Ordering::Relaxed);
        }
        match failure {
            Some(error) if count == 0 => Err(RelayError::JetStream(error)),
            _ => Ok(count),
        }
    }

    /// Publishes until `shutdown`: immediately after each commit, and at least every second
    /// (other replicas' commits are not signalled in-process). Retries with capped exponential
    /// backoff while NATS is unreachable.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut head = self.store.subscribe_head();
        let mut backoff = Duration::from_millis(100);
        loop {
            let round = match self.try_lead().await {
                Ok(true) => self.publish_pending().await,
                // Another replica publishes; wait and ask again.
                Ok(false) => {
                    self.record_backlog().await;
                    Ok(0)
                }
                Err(error) => Err(error),
            };
            match round {
                Ok(n) if n > 0 => {
                    backoff = Duration::from_millis(100);
                    if shutdown.is_cancelled() {
                        break;
                    }
                    continue;
                }
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = head.changed() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, retry_in = ?backoff, "relay cannot publish; will retry");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        if let Err(error) = self.release().await {
            tracing::warn!(error = %error, "cannot release the relay lease; another replica takes over when it expires");
        }
        tracing::debug!(stream = %self.config.stream_name, "relay stopped");
    }
}
