//! The SQL event store: append with optimistic concurrency, idempotent requests, reads in stream
//! and global order, and hash-chain verification.
//!
//! # Group commit
//!
//! All appends of a service go through one writer task. Commands hand their events over a
//! channel; the writer takes everything that is waiting (up to [`MAX_BATCH`] requests) and
//! commits it in **one** transaction, so concurrent commands share one fsync instead of paying
//! one each. The same single writer gives the log its most important property:
//!
//! # Gap-free global order
//!
//! Positions are drawn from a counter row (`log_head`) inside the write transaction, never from
//! a sequence. With one writer (SQLite's `BEGIN IMMEDIATE`; PostgreSQL's transaction-level
//! advisory lock across replicas) a position is only drawn after every lower position has
//! committed, so a reader tailing `position > checkpoint` can never skip an event that
//! commits late — the failure that sequences and `BIGSERIAL` columns cause
//! (research/event-sourcing-anchors.md §4.4). The counter row also holds the last hash, so the
//! verifier can tell when trailing events were deleted.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::db::{Database, DbError, chunked, in_list, placeholders};
use crate::event::{Actor, EventMetadata, NewEvent, RecordedEvent, format_time, parse_time};
use crate::hash_chain::{GENESIS_HASH, HashInput, Tampering, VerifyReport};
use crate::metrics::StoreMetrics;
use crate::upcast::{UpcastContext, UpcastError, Upcasters};

/// Most append requests committed in one transaction.
pub const MAX_BATCH: usize = 512;

/// The schema of the event store; the same statements on both engines (`{blob}` is replaced).
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS events (
        position BIGINT PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        stream_type TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        stream_version BIGINT NOT NULL,
        event_type TEXT NOT NULL,
        schema_version BIGINT NOT NULL,
        occurred_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        actor_subject TEXT NOT NULL,
        actor_role TEXT NOT NULL,
        actor_unit TEXT NOT NULL,
        actor_leader TEXT NOT NULL,
        correlation_id TEXT NOT NULL,
        causation_id TEXT NOT NULL,
        traceparent TEXT NOT NULL,
        payload {blob} NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        UNIQUE (stream_id, stream_version)
    )",
    "CREATE INDEX IF NOT EXISTS events_by_type ON events (stream_type, stream_id)",
    "CREATE TABLE IF NOT EXISTS log_head (
        id BIGINT PRIMARY KEY,
        position BIGINT NOT NULL,
        hash TEXT NOT NULL
    )",
    "INSERT INTO log_head (id, position, hash)
        VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000')
        ON CONFLICT (id) DO NOTHING",
    "CREATE TABLE IF NOT EXISTS idempotency (
        request_id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        status_code BIGINT NOT NULL,
        message TEXT NOT NULL,
        body {blob} NOT NULL,
        recorded_at TEXT NOT NULL
    )",
];

/// What the caller expects the stream's version to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check (used only for streams that cannot conflict).
    Any,
    /// The stream must be at exactly this version; 0 = must not exist yet.
    Exactly(u64),
}

/// A client's idempotency key (AIP-155 `request_id`) and a fingerprint of the request body, so
/// that the same key with a different request is told apart from a retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestKey {
    pub request_id: String,
    pub fingerprint: String,
}

/// The outcome of a command, saved with its events so a retry can return it unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOutcome {
    /// gRPC status code; 0 = OK.
    pub status_code: i32,
    pub message: String,
    /// The encoded response message on success.
    pub body: Vec<u8>,
}

/// One command's worth of events.
#[derive(Clone, Debug)]
pub struct AppendRequest {
    pub stream_type: String,
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub metadata: EventMetadata,
    pub idempotency: Option<(RequestKey, StoredOutcome)>,
}

/// What an append did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Appended {
    /// The events were committed; `stream_version` is the stream's new version.
    Committed {
        stream_version: u64,
        /// Positions given to the events (empty when the request had no events).
        positions: Vec<u64>,
        /// When the commit recorded them (the same instant for every event of a batch).
        recorded_at: DateTime<Utc>,
    },
    /// The request id was seen before with the same request: nothing was written and this is
    /// the first outcome.
    Duplicate(StoredOutcome),
}

/// Why an append was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("stream {stream_id} is at version {actual}, not {expected}")]
    Conflict {
        stream_id: String,
        expected: u64,
        actual: u64,
    },
    #[error("request_id {request_id} was already used for a different request")]
    RequestIdReused { request_id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Failures of the store itself (database unreachable, corrupt rows, shut down).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A database error, classified once (see [`crate::db::is_transient`]).
    #[error("event store database error: {message}")]
    Database { message: String, transient: bool },
    /// The writer is not running (stopped, or restarting after a fault).
    #[error("event store is shut down")]
    Closed,
    #[error("stored event at position {position} is unreadable: {reason}")]
    Corrupt { position: u64, reason: String },
    #[error(transparent)]
    Upcast(#[from] UpcastError),
    #[error("this database holds no dondoc event log")]
    NoEventLog,
    /// A text the database cannot store ([`crate::db::is_unstorable_text`]): the request's
    /// fault, not the store's.
    #[error("a text the database cannot store: {0}")]
    UnstorableText(String),
}

impl StoreError {
    /// Whether the same call may succeed later (the database or the writer, not the request,
    /// was the problem).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database { transient, .. } => *transient,
            StoreError::Closed => true,
            StoreError::Corrupt { .. }
            | StoreError::Upcast(_)
            | StoreError::NoEventLog
            | StoreError::UnstorableText(_) => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if crate::db::is_unstorable_text(&e) {
            return StoreError::UnstorableText(e.to_string());
        }
        StoreError::Database {
            transient: crate::db::is_transient(&e),
            message: e.to_string(),
        }
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Sql(e) => e.into(),
            other => StoreError::Database {
                message: other.to_string(),
                transient: false,
            },
        }
    }
}

struct WriteJob {
    request: AppendRequest,
    reply: oneshot::Sender<Result<Appended, AppendError>>,
}

/// What the writer task receives.
// Appends are the traffic; the other variant only exists in test builds.
#[allow(clippy::large_enum_variant)]
enum WriterMessage {
    Append(WriteJob),
    /// Makes the writer fail as a bug would (tests of supervision only).
    #[cfg(feature = "testing")]
    Crash,
}

/// A handle to one service's event store. Cheap to clone; the writer task stops when the last
/// handle is dropped.
#[derive(Clone, Debug)]
pub struct EventStore {
    db: Database,
    source: String,
    writer: mpsc::Sender<WriterMessage>,
    head: watch::Receiver<u64>,
    writer_up: watch::Receiver<bool>,
    upcasters: Upcasters,
    stats: Arc<Counters>,
    /// Held (write) to keep a crashed writer from restarting: lets a test observe the outage.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    restart_gate: Arc<tokio::sync::RwLock<()>>,
}

/// How much the writer batched: `requests / commits` is the group-commit factor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub commits: u64,
    pub requests: u64,
    /// Batches that failed as a whole and were retried request by request.
    pub isolated_batches: u64,
    /// Times the writer task died and was restarted.
    pub writer_restarts: u64,
}

#[derive(Debug, Default)]
struct Counters {
    commits: AtomicU64,
    requests: AtomicU64,
    isolated_batches: AtomicU64,
    writer_restarts: AtomicU64,
    /// Requests taken off the queue and not yet answered.
    in_flight: AtomicU64,
}

impl std::fmt::Debug for WriterMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriterMessage::Append(job) => f
                .debug_struct("Append")
                .field("stream_id", &job.request.stream_id)
                .finish(),
            #[cfg(feature = "testing")]
            WriterMessage::Crash => f.write_str("Crash"),
        }
    }
}

impl EventStore {
    /// Prepares the schema and starts the writer. `source` names the producing service and is
    /// stamped on every event read from this store.
    pub async fn open(
        db: Database,
        source: impl Into<String>,
        upcasters: Upcasters,
    ) -> Result<Self, StoreError> {
        db.run_schema(SCHEMA).await?;
        let (head_position, _) = read_head(&db).await?;
        let (head_tx, head_rx) = watch::channel(head_position);
        let (up_tx, up_rx) = watch::channel(true);
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let stats = Arc::new(Counters::default());
        let source = source.into();
        let restart_gate = Arc::new(tokio::sync::RwLock::new(()));
        tokio::spawn(supervise_writer(
            Writer {
                db: db.clone(),
                jobs: Arc::new(tokio::sync::Mutex::new(rx)),
                head: Arc::new(head_tx),
                stats: stats.clone(),
                metrics: StoreMetrics::new(&source),
            },
            up_tx,
            restart_gate.clone(),
        ));
        Ok(Self {
            db,
            source,
            writer: tx,
            head: head_rx,
            writer_up: up_rx,
            upcasters,
            stats,
            restart_gate,
        })
    }

    /// Whether the writer is running: `false` while it restarts after a fault (gRPC health
    /// reports the service NOT_SERVING meanwhile).
    pub fn writer_status(&self) -> watch::Receiver<bool> {
        self.writer_up.clone()
    }

    /// Makes the writer task fail as a bug would, to prove it is restarted (tests only).
    #[cfg(feature = "testing")]
    pub async fn crash_writer(&self) {
        let _ = self.writer.send(WriterMessage::Crash).await;
    }

    /// Keeps a crashed writer from restarting while the guard lives (tests only).
    #[cfg(feature = "testing")]
    pub async fn hold_writer_restarts(&self) -> tokio::sync::OwnedRwLockWriteGuard<()> {
        self.restart_gate.clone().write_owned().await
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Append requests handed to the writer and not yet answered (queued or in a commit).
    pub fn pending_requests(&self) -> usize {
        self.writer.max_capacity() - self.writer.capacity()
            + self.stats.in_flight.load(Ordering::Relaxed) as usize
    }

    /// Commits and requests written so far by this process's writer.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            commits: self.stats.commits.load(Ordering::Relaxed),
            requests: self.stats.requests.load(Ordering::Relaxed),
            isolated_batches: self.stats.isolated_batches.load(Ordering::Relaxed),
            writer_restarts: self.stats.writer_restarts.load(Ordering::Relaxed),
        }
    }

    /// The registry used when reading.
    pub fn upcasters(&self) -> &Upcasters {
        &self.upcasters
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Appends one command's events. Waits for the group commit that includes them.
    pub async fn append(&self, request: AppendRequest) -> Result<Appended, AppendError> {
        let (reply, response) = oneshot::channel();
        self.writer
            .send(WriterMessage::Append(WriteJob { request, reply }))
            .await
            .map_err(|_| StoreError::Closed)?;
        response.await.map_err(|_| StoreError::Closed)?
    }

    /// The last committed position, updated by the writer after every commit. Relays and local
    /// projections wait on it instead of polling.
    pub fn subscribe_head(&self) -> watch::Receiver<u64> {
        self.head.clone()
    }

    /// The last committed position, read from the database (sees other replicas' commits).
    pub async fn head_position(&self) -> Result<u64, StoreError> {
        Ok(read_head(&self.db).await?.0)
    }

    /// The saved outcome of an earlier request with this id, and its fingerprint.
    pub async fn find_request(
        &self,
        request_id: &str,
    ) -> Result<Option<(String, StoredOutcome)>, StoreError> {
        let row = sqlx::query(
            "SELECT fingerprint, status_code, message, body FROM idempotency WHERE request_id = $1",
        )
        .bind(request_id.to_owned())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|row| outcome_from_row(&row)).transpose()
    }

    /// AIP-155 for a request about to run: the first outcome if this request id was seen with
    /// the same request, a refusal if it was seen with a different one, `None` if it is new.
    pub async fn replay(&self, key: &RequestKey) -> Result<Option<StoredOutcome>, AppendError> {
        match self.find_request(&key.request_id).await? {
            Some(previous) => match replay_or_refuse(key, previous)? {
                Appended::Duplicate(outcome) => Ok(Some(outcome)),
                Appended::Committed { .. } => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// Every event of one stream, in order, upcast to current schema versions.
    /// The stream's version (0 if it does not exist): one index lookup, for caches that only
    /// need to know whether a stream moved.
    pub async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "SELECT stream_version FROM events WHERE stream_id = $1 \
             ORDER BY stream_version DESC LIMIT 1",
        )
        .bind(stream_id.to_owned())
        .fetch_optional(self.db.pool())
        .await?;
        Ok(match row {
            Some(row) => from_i64(row.try_get::<i64, _>("stream_version")?),
            None => 0,
        })
    }

    pub async fn read_stream(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query("SELECT * FROM events WHERE stream_id = $1 ORDER BY stream_version")
            .bind(stream_id.to_owned())
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(|row| self.decode_row(row)).collect()
    }

    /// Up to `limit` events after `position`, in global order, upcast.
    pub async fn read_all(
        &self,
        after_position: u64,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_after(after_position, limit, &self.upcasters)
            .await
    }

    /// Like [`EventStore::read_all`] but without upcasting: what the relay publishes is exactly
    /// what was stored, and each consumer upcasts with its own registry.
    pub async fn read_all_stored(
        &self,
        after_position: u64,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_after(after_position, limit, &Upcasters::new())
            .await
    }

    async fn read_after(
        &self,
        after_position: u64,
        limit: u32,
        upcasters: &Upcasters,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows =
            // Bounded by the recorded head: a row written behind the writer's back (beyond the
            // head) is never read, published or projected.
            sqlx::query(
                "SELECT * FROM events WHERE position > $1 \
                 AND position <= (SELECT position FROM log_head WHERE id = 1) \
                 ORDER BY position LIMIT $2",
            )
                .bind(to_i64(after_position))
                .bind(i64::from(limit))
                .fetch_all(self.db.pool())
                .await?;
        rows.iter()
            .map(|row| self.decode_row_with(row, upcasters))
            .collect()
    }

    /// Ids of every stream of one aggregate type, in order of first appearance.
    pub async fn stream_ids(&self, stream_type: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT stream_id FROM events WHERE stream_type = $1 AND stream_version = 1 \
             ORDER BY position",
        )
        .bind(stream_type.to_owned())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                row.try_get::<String, _>("stream_id")
                    .map_err(StoreError::from)
            })
            .collect()
    }

    /// Walks the whole log and reports the first modified, deleted or reordered event; see
    /// [`verify_log`].
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        verify_log(&self.db).await
    }

    fn decode_row(&self, row: &AnyRow) -> Result<RecordedEvent, StoreError> {
        self.decode_row_with(row, &self.upcasters)
    }

    fn decode_row_with(
        &self,
        row: &AnyRow,
        upcasters: &Upcasters,
    ) -> Result<RecordedEvent, StoreError> {
        let raw = RawRow::read(row)?;
        let position = raw.position;
        let corrupt = |reason: String| StoreError::Corrupt { position, reason };
        let occurred_at = parse_time(&raw.occurred_at).map_err(|e| corrupt(e.to_string()))?;
        let (schema_version, payload) = upcasters.upcast(
            &raw.event_type,
            raw.schema_version,
            raw.payload,
            &UpcastContext { occurred_at },
        )?;
        Ok(RecordedEvent {
            position,
            event_id: Uuid::parse_str(&raw.event_id).map_err(|e| corrupt(e.to_string()))?,
            stream_type: raw.stream_type,
            stream_id: raw.stream_id,
            stream_version: raw.stream_version,
            event_type: raw.event_type,
            schema_version,
            occurred_at,
            recorded_at: parse_time(&raw.recorded_at).map_err(|e| corrupt(e.to_string()))?,
            actor: Actor {
                subject: raw.actor[0].clone(),
                role: raw.actor[1].clone(),
                unit_code: raw.actor[2].clone(),
                leader_id: raw.actor[3].clone(),
            },
            correlation_id: raw.correlation_id,
            causation_id: raw.causation_id,
            traceparent: raw.traceparent,
            source: self.source.clone(),
            payload,
        })
    }
}

/// The last committed position of the event log in `db`, or [`StoreError::NoEventLog`] if it
/// holds none (a mistyped database in an operator command).
pub async fn head_of(db: &Database) -> Result<u64, StoreError> {
    read_head(db)
        .await
        .map(|(position, _)| position)
        .map_err(|_| StoreError::NoEventLog)
}

/// Walks the whole log of `db` and reports the first modified, deleted or reordered event,
/// without starting a writer or touching the schema (`dondoc verify` runs it on a service's
/// database from outside).
///
/// The head (last position and hash of the last commit) is read first and only events up to
/// it are checked, so commits that land during the walk are not mistaken for tampering. Rows
/// beyond the head once the walk is done were written behind the writer's back.
pub async fn verify_log(db: &Database) -> Result<VerifyReport, StoreError> {
    let (head_position, head_hash) = read_head(db).await.map_err(|_| StoreError::NoEventLog)?;
    let walk = walk_chain(db, 0, GENESIS_HASH, head_position).await?;
    if walk.problem.is_some() {
        return Ok(walk.report());
    }
    if head_hash != walk.last_hash {
        // The last event was replaced together with its own hash.
        return Ok(VerifyReport {
            events_checked: walk.checked,
            first_problem: Some(Tampering::Modified {
                position: head_position,
                event_id: String::new(),
            }),
        });
    }
    // The last row first, then the head: rows and head commit together and the head only
    // grows, so a row committed legitimately meanwhile is at or below the head read after it.
    let last_row = last_row_position(db).await?;
    let (head_now, _) = read_head(db).await?;
    if let Some(position) = last_row.filter(|&position| position > head_now) {
        return Ok(VerifyReport {
            events_checked: walk.checked,
            first_problem: Some(Tampering::BeyondHead {
                position,
                recorded_head: head_now,
            }),
        });
    }
    Ok(walk.report())
}

/// The outcome of walking part of the chain.
pub(crate) struct ChainWalk {
    pub checked: u64,
    /// The hash of the last event walked (the start hash if none).
    pub last_hash: String,
    pub problem: Option<Tampering>,
}

impl ChainWalk {
    fn report(self) -> VerifyReport {
        VerifyReport {
            events_checked: self.checked,
            first_problem: self.problem,
        }
    }
}

/// Checks the events after `after` up to `to` (inclusive): each matches its own hash, links to
/// its predecessor (the first one to `prev_hash`), and none is missing.
pub(crate) async fn walk_chain(
    db: &Database,
    after: u64,
    prev_hash: &str,
    to: u64,
) -> Result<ChainWalk, StoreError> {
    const PAGE: i64 = 1000;
    let mut expected_position = after + 1;
    let mut walk = ChainWalk {
        checked: 0,
        last_hash: prev_hash.to_owned(),
        problem: None,
    };
    while expected_position <= to {
        // Paging by position (not by OFFSET) so a deleted row shows up as a gap.
        let rows = sqlx::query(
            "SELECT * FROM events WHERE position >= $1 AND position <= $2 \
             ORDER BY position LIMIT $3",
        )
        .bind(to_i64(expected_position))
        .bind(to_i64(to))
        .bind(PAGE)
        .fetch_all(db.pool())
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let raw = RawRow::read(row)?;
            if raw.position != expected_position {
                walk.problem = Some(Tampering::Deleted {
                    position: expected_position,
                });
                return Ok(walk);
            }
            if raw.hash_input().digest() != raw.hash {
                walk.problem = Some(Tampering::Modified {
                    position: raw.position,
                    event_id: raw.event_id,
                });
                return Ok(walk);
            }
            if raw.prev_hash != walk.last_hash {
                walk.problem = Some(Tampering::Reordered {
                    position: raw.position,
                    event_id: raw.event_id,
                });
                return Ok(walk);
            }
            walk.last_hash = raw.hash;
            expected_position += 1;
            walk.checked += 1;
        }
    }
    let last_present = expected_position - 1;
    if last_present != to {
        walk.problem = Some(Tampering::Truncated {
            last_present,
            recorded_head: to,
        });
    }
    Ok(walk)
}

/// The position of the last row, if any.
async fn last_row_position(db: &Database) -> Result<Option<u64>, StoreError> {
    let row = sqlx::query("SELECT MAX(position) AS last FROM events")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get::<Option<i64>, _>("last")?.map(from_i64))
}

/// The stored hash of the event at `position`, if there is one.
pub async fn hash_at(db: &Database, position: u64) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT hash FROM events WHERE position = $1")
        .bind(to_i64(position))
        .fetch_optional(db.pool())
        .await?;
    row.map(|row| row.try_get::<String, _>("hash").map_err(StoreError::from))
        .transpose()
}

/// What someone with SQL write access and this source code can do after editing events:
/// recompute every hash from position `from` to the last row and set `log_head` to match. The
/// chain alone then looks intact; an anchor made before still tells. Tests of tamper evidence
/// only.
#[cfg(feature = "testing")]
pub async fn recompute_chain_from(db: &Database, from: u64) -> Result<(), StoreError> {
    let rows = sqlx::query("SELECT * FROM events WHERE position >= $1 ORDER BY position")
        .bind(to_i64(from))
        .fetch_all(db.pool())
        .await?;
    let mut previous = match from {
        0 | 1 => GENESIS_HASH.to_owned(),
        _ => hash_at(db, from - 1).await?.unwrap_or_default(),
    };
    let mut last = from.saturating_sub(1);
    for row in &rows {
        let mut raw = RawRow::read(row)?;
        raw.prev_hash = previous;
        let hash = raw.hash_input().digest();
        sqlx::query("UPDATE events SET prev_hash = $1, hash = $2 WHERE position = $3")
            .bind(raw.prev_hash.clone())
            .bind(hash.clone())
            .bind(to_i64(raw.position))
            .execute(db.pool())
            .await?;
        previous = hash;
        last = raw.position;
    }
    sqlx::query("UPDATE log_head SET position = $1, hash = $2 WHERE id = 1")
        .bind(to_i64(last))
        .bind(previous)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The recorded head of the log in `db`: last committed position and its hash.
pub async fn head_and_hash(db: &Database) -> Result<(u64, String), StoreError> {
    read_head(db).await.map_err(|_| StoreError::NoEventLog)
}

/// A row of the events table as stored (before upcasting).
struct RawRow {
    position: u64,
    event_id: String,
    stream_type: String,
    stream_id: String,
    stream_version: u64,
    event_type: String,
    schema_version: u32,
    occurred_at: String,
    recorded_at: String,
    actor: [String; 4],
    correlation_id: String,
    causation_id: String,
    traceparent: String,
    payload: Vec<u8>,
    prev_hash: String,
    hash: String,
}

impl RawRow {
    fn read(row: &AnyRow) -> Result<Self, StoreError> {
        let position = from_i64(row.try_get::<i64, _>("position")?);
        Ok(Self {
            position,
            event_id: row.try_get("event_id")?,
            stream_type: row.try_get("stream_type")?,
            stream_id: row.try_get("stream_id")?,
            stream_version: from_i64(row.try_get::<i64, _>("stream_version")?),
            event_type: row.try_get("event_type")?,
            schema_version: u32::try_from(row.try_get::<i64, _>("schema_version")?).map_err(
                |_| StoreError::Corrupt {
                    position,
                    reason: "schema_version out of range".into(),
                },
            )?,
            occurred_at: row.try_get("occurred_at")?,
            recorded_at: row.try_get("recorded_at")?,
            actor: [
                row.try_get("actor_subject")?,
                row.try_get("actor_role")?,
                row.try_get("actor_unit")?,
                row.try_get("actor_leader")?,
            ],
            correlation_id: row.try_get("correlation_id")?,
            causation_id: row.try_get("causation_id")?,
            traceparent: row.try_get("traceparent")?,
            payload: row.try_get("payload")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        })
    }

    fn hash_input(&self) -> HashInput<'_> {
        HashInput {
            prev_hash: &self.prev_hash,
            event_id: &self.event_id,
            stream_type: &self.stream_type,
            stream_id: &self.stream_id,
            stream_version: self.stream_version,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            occurred_at: &self.occurred_at,
            recorded_at: &self.recorded_at,
            actor: [
                &self.actor[0],
                &self.actor[1],
                &self.actor[2],
                &self.actor[3],
            ],
            correlation_id: &self.correlation_id,
            causation_id: &self.causation_id,
            traceparent: &self.traceparent,
            payload: &self.payload,
        }
    }
}

fn outcome_from_row(row: &AnyRow) -> Result<(String, StoredOutcome), StoreError> {
    Ok((
        row.try_get("fingerprint")?,
        StoredOutcome {
            status_code: i32::try_from(row.try_get::<i64, _>("status_code")?).unwrap_or(2),
            message: row.try_get("message")?,
            body: row.try_get("body")?,
        },
    ))
}

async fn read_head(db: &Database) -> Result<(u64, String), StoreError> {
    let row = sqlx::query("SELECT position, hash FROM log_head WHERE id = 1")
        .fetch_one(db.pool())
        .await?;
    Ok((
        from_i64(row.try_get::<i64, _>("position")?),
        row.try_get("hash")?,
    ))
}

/// Positions and versions are u64 in Rust and BIGINT in SQL; they never approach i64::MAX.
pub fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub fn from_i64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Everything the writer task needs; cloned into each incarnation after a restart.
#[derive(Clone)]
struct Writer {
    db: Database,
    /// Shared so a restarted writer takes over the queue its predecessor left.
    jobs: Arc<tokio::sync::Mutex<mpsc::Receiver<WriterMessage>>>,
    head: Arc<watch::Sender<u64>>,
    stats: Arc<Counters>,
    metrics: StoreMetrics,
}

/// Runs the writer and restarts it with backoff whenever it dies (a panic is a bug, but one
/// that must not leave a service that accepts calls and never commits them). `up` is false
/// from the death until the restart, which health checks report.
async fn supervise_writer(
    writer: Writer,
    up: watch::Sender<bool>,
    restart_gate: Arc<tokio::sync::RwLock<()>>,
) {
    let mut backoff = std::time::Duration::from_millis(100);
    loop {
        let run = tokio::spawn(writer.clone().run());
        match run.await {
            // Every handle was dropped: the service stopped.
            Ok(()) => break,
            Err(error) => {
                up.send_replace(false);
                writer.stats.writer_restarts.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %error, retry_in = ?backoff, "the event store writer died; restarting it");
                tokio::time::sleep(backoff).await;
                let _open = restart_gate.read().await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
                up.send_replace(true);
            }
        }
    }
    tracing::debug!("event store writer stopped: every handle was dropped");
}

impl Writer {
    /// The group-commit loop: one transaction per batch of waiting requests.
    async fn run(self) {
        let mut jobs = self.jobs.lock().await;
        while let Some(first) = jobs.recv().await {
            let mut batch = Vec::new();
            let mut message = Some(first);
            while let Some(next) = message.take() {
                match next {
                    WriterMessage::Append(job) => batch.push(job),
                    #[cfg(feature = "testing")]
                    WriterMessage::Crash => panic!("the event store writer was told to crash"),
                }
                if batch.len() < MAX_BATCH {
                    message = jobs.try_recv().ok();
                }
            }
            self.commit(batch).await;
        }
    }

    /// Commits a batch in one transaction. If that fails, each request is retried in a
    /// transaction of its own, so one request the database refuses (a constraint, a value it
    /// cannot store) fails alone and the others commit.
    async fn commit(&self, batch: Vec<WriteJob>) {
        self.stats
            .in_flight
            .store(batch.len() as u64, Ordering::Relaxed);
        let requests: Vec<&AppendRequest> = batch.iter().map(|job| &job.request).collect();
        let result = write_batch(&self.db, &requests).await;
        let outcomes: Vec<Result<Appended, AppendError>> = match result {
            Ok((outcomes, new_head)) => {
                self.committed(&outcomes, new_head);
                outcomes
            }
            Err(error) if batch.len() == 1 => {
                tracing::error!(error = %error, "append failed");
                vec![Err(AppendError::Store(error.into()))]
            }
            Err(error) => {
                tracing::warn!(error = %error, batch = batch.len(), "group commit failed; retrying its requests one by one");
                self.stats.isolated_batches.fetch_add(1, Ordering::Relaxed);
                let mut outcomes = Vec::with_capacity(batch.len());
                for request in &requests {
                    match write_batch(&self.db, std::slice::from_ref(request)).await {
                        Ok((mut one, new_head)) => {
                            self.committed(&one, new_head);
                            outcomes.push(one.remove(0));
                        }
                        Err(error) => {
                            tracing::error!(error = %error, stream_id = %request.stream_id, "append failed");
                            outcomes.push(Err(AppendError::Store(error.into())));
                        }
                    }
                }
                outcomes
            }
        };
        self.stats.in_flight.store(0, Ordering::Relaxed);
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            // The caller may have given up waiting; the commit stands either way.
            let _ = job.reply.send(outcome);
        }
    }

    fn committed(&self, outcomes: &[Result<Appended, AppendError>], new_head: u64) {
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        self.stats
            .requests
            .fetch_add(outcomes.len() as u64, Ordering::Relaxed);
        let events = outcomes
            .iter()
            .map(|outcome| match outcome {
                Ok(Appended::Committed { positions, .. }) => positions.len() as u64,
                _ => 0,
            })
            .sum();
        self.metrics.committed(outcomes.len(), events);
        self.head.send_replace(new_head);
    }
}

type BatchOutcome = (Vec<Result<Appended, AppendError>>, u64);

/// Commits `batch` in one transaction with a fixed number of statements whatever its size:
/// the idempotency keys and stream versions the batch needs are read in one go, and its events
/// and request records written with multi-row INSERTs. (One statement per request and event
/// was most of a command's cost: on SQLite every statement is a round trip to the
/// connection's worker thread.)
async fn write_batch(db: &Database, batch: &[&AppendRequest]) -> Result<BatchOutcome, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if let Some(lock) = db.dialect().lock_event_log_statement() {
        sqlx::query(lock).execute(&mut *tx).await?;
    }
    let head = sqlx::query("SELECT position, hash FROM log_head WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?;
    let mut position = from_i64(head.try_get::<i64, _>("position")?);
    let mut last_hash: String = head.try_get("hash")?;
    // One timestamp per commit: every event of the batch was recorded by the same commit.
    let recorded_instant = storable_time(Utc::now());
    let recorded_at = format_time(recorded_instant);

    let request_ids: Vec<&str> = batch
        .iter()
        .filter_map(|r| {
            r.idempotency
                .as_ref()
                .map(|(key, _)| key.request_id.as_str())
        })
        .collect();
    // Requests seen before, and (below) those of this batch: a retry queued in the same batch
    // as its first attempt finds that attempt here, and only if it was actually going to be
    // written — a first attempt refused by a conflict leaves no record.
    let mut seen = find_requests_in(&mut tx, &request_ids).await?;
    let stream_ids: Vec<&str> = {
        let mut ids: Vec<&str> = batch.iter().map(|r| r.stream_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let mut stream_versions = current_versions(&mut tx, &stream_ids).await?;

    let mut outcomes = Vec::with_capacity(batch.len());
    let mut event_rows: Vec<EventRow<'_>> = Vec::new();
    let mut request_rows: Vec<(&RequestKey, &StoredOutcome, &str)> = Vec::new();
    for request in batch {
        if let Some((key, _)) = &request.idempotency
            && let Some(previous) = seen.get(&key.request_id)
        {
            outcomes.push(replay_or_refuse(key, previous.clone()));
            continue;
        }
        let current = stream_versions
            .get(request.stream_id.as_str())
            .copied()
            .unwrap_or(0);
        if let ExpectedVersion::Exactly(expected) = request.expected
            && expected != current
        {
            outcomes.push(Err(AppendError::Conflict {
                stream_id: request.stream_id.clone(),
                expected,
                actual: current,
            }));
            continue;
        }

        let mut positions = Vec::with_capacity(request.events.len());
        let occurred_at = format_time(request.metadata.occurred_at);
        for (offset, event) in request.events.iter().enumerate() {
            position += 1;
            let stream_version = current + offset as u64 + 1;
            let event_id = event.event_id.to_string();
            let m = &request.metadata;
            let hash = HashInput {
                prev_hash: &last_hash,
                event_id: &event_id,
                stream_type: &request.stream_type,
                stream_id: &request.stream_id,
                stream_version,
                event_type: &event.event_type,
                schema_version: event.schema_version,
                occurred_at: &occurred_at,
                recorded_at: &recorded_at,
                actor: [
                    &m.actor.subject,
                    &m.actor.role,
                    &m.actor.unit_code,
                    &m.actor.leader_id,
                ],
                correlation_id: &m.correlation_id,
                causation_id: &m.causation_id,
                traceparent: &m.traceparent,
                payload: &event.payload,
            }
            .digest();
            event_rows.push(EventRow {
                position,
                event_id,
                request,
                event,
                stream_version,
                occurred_at: occurred_at.clone(),
                prev_hash: std::mem::replace(&mut last_hash, hash.clone()),
                hash,
            });
            positions.push(position);
        }
        let new_version = current + request.events.len() as u64;
        stream_versions.insert(request.stream_id.as_str(), new_version);

        if let Some((key, outcome)) = &request.idempotency {
            request_rows.push((key, outcome, request.stream_id.as_str()));
            seen.insert(
                key.request_id.clone(),
                (key.fingerprint.clone(), outcome.clone()),
            );
        }
        outcomes.push(Ok(Appended::Committed {
            stream_version: new_version,
            positions,
            recorded_at: recorded_instant,
        }));
    }

    insert_events(&mut tx, &event_rows, &recorded_at).await?;
    insert_requests(&mut tx, &request_rows, &recorded_at).await?;
    sqlx::query("UPDATE log_head SET position = $1, hash = $2 WHERE id = 1")
        .bind(to_i64(position))
        .bind(last_hash)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((outcomes, position))
}

/// One event about to be inserted, with its place in the log and the chain.
struct EventRow<'a> {
    position: u64,
    event_id: String,
    request: &'a AppendRequest,
    event: &'a NewEvent,
    stream_version: u64,
    occurred_at: String,
    prev_hash: String,
    hash: String,
}

async fn insert_events(
    tx: &mut Transaction<'static, Any>,
    rows: &[EventRow<'_>],
    recorded_at: &str,
) -> Result<(), sqlx::Error> {
    for chunk in chunked(rows) {
        let sql = format!(
            "INSERT INTO events (position, event_id, stream_type, stream_id, stream_version, \
             event_type, schema_version, occurred_at, recorded_at, actor_subject, actor_role, \
             actor_unit, actor_leader, correlation_id, causation_id, traceparent, payload, \
             prev_hash, hash) VALUES {}",
            placeholders(chunk.len(), 19)
        );
        // Only placeholders are generated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            let m = &row.request.metadata;
            query = query
                .bind(to_i64(row.position))
                .bind(row.event_id.clone())
                .bind(row.request.stream_type.clone())
                .bind(row.request.stream_id.clone())
                .bind(to_i64(row.stream_version))
                .bind(row.event.event_type.clone())
                .bind(i64::from(row.event.schema_version))
                .bind(row.occurred_at.clone())
                .bind(recorded_at.to_owned())
                .bind(m.actor.subject.clone())
                .bind(m.actor.role.clone())
                .bind(m.actor.unit_code.clone())
                .bind(m.actor.leader_id.clone())
                .bind(m.correlation_id.clone())
                .bind(m.causation_id.clone())
                .bind(m.traceparent.clone())
                .bind(row.event.payload.clone())
                .bind(row.prev_hash.clone())
                .bind(row.hash.clone());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_requests(
    tx: &mut Transaction<'static, Any>,
    rows: &[(&RequestKey, &StoredOutcome, &str)],
    recorded_at: &str,
) -> Result<(), sqlx::Error> {
    for chunk in chunked(rows) {
        let sql = format!(
            "INSERT INTO idempotency (request_id, fingerprint, stream_id, status_code, message, \
             body, recorded_at) VALUES {}",
            placeholders(chunk.len(), 7)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (key, outcome, stream_id) in chunk {
            query = query
                .bind(key.request_id.clone())
                .bind(key.fingerprint.clone())
                .bind((*stream_id).to_owned())
                .bind(i64::from(outcome.status_code))
                .bind(outcome.message.clone())
                .bind(outcome.body.clone())
                .bind(recorded_at.to_owned());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The recorded requests among `request_ids`, by id.
async fn find_requests_in(
    tx: &mut Transaction<'static, Any>,
    request_ids: &[&str],
) -> Result<HashMap<String, (String, StoredOutcome)>, sqlx::Error> {
    let mut found = HashMap::new();
    for chunk in chunked(request_ids) {
        let sql = format!(
            "SELECT request_id, fingerprint, status_code, message, body FROM idempotency \
             WHERE request_id IN ({})",
            in_list(chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind((*id).to_owned());
        }
        for row in query.fetch_all(&mut **tx).await? {
            let request_id: String = row.try_get("request_id")?;
            let outcome =
                outcome_from_row(&row).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            found.insert(request_id, outcome);
        }
    }
    Ok(found)
}

/// The versions of the streams among `stream_ids` that exist, by id.
async fn current_versions<'a>(
    tx: &mut Transaction<'static, Any>,
    stream_ids: &[&'a str],
) -> Result<HashMap<&'a str, u64>, sqlx::Error> {
    let mut versions = HashMap::new();
    for chunk in chunked(stream_ids) {
        let sql = format!(
            "SELECT stream_id, MAX(stream_version) AS version FROM events \
             WHERE stream_id IN ({}) GROUP BY stream_id",
            in_list(chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind((*id).to_owned());
        }
        for row in query.fetch_all(&mut **tx).await? {
            let stream_id: String = row.try_get("stream_id")?;
            let version = from_i64(row.try_get::<i64, _>("version")?);
            if let Some(id) = chunk.iter().find(|id| **id == stream_id) {
                versions.insert(*id, version);
            }
        }
    }
    Ok(versions)
}

fn replay_or_refuse(
    key: &RequestKey,
    (fingerprint, outcome): (String, StoredOutcome),
) -> Result<Appended, AppendError> {
    if fingerprint == key.fingerprint {
        Ok(Appended::Duplicate(outcome))
    } else {
        Err(AppendError::RequestIdReused {
            request_id: key.request_id.clone(),
        })
    }
}

/// Truncates a timestamp to what the store keeps (microseconds), so values compared before and
/// after a round trip are equal.
pub fn storable_time(t: DateTime<Utc>) -> DateTime<Utc> {
    parse_time(&format_time(t)).unwrap_or(t)
}
