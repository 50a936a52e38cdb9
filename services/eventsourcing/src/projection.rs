//! Read models: tables derived from events, fed either from the service's own log
//! ([`LocalProjector`]) or from other services over NATS ([`crate::consumer`]).
//!
//! A projection only records what events say; it never re-derives business rules. It must be
//! a pure function of the events it has seen, which is what makes a rebuild (drop the tables,
//! replay everything) produce exactly the live result.

use std::sync::Arc;

use async_trait::async_trait;
use prost::Message as _;
use sqlx::{AnyConnection, Row};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::db::Database;
use crate::event::RecordedEvent;
use crate::metrics::ConsumerMetrics;
use crate::store::{EventStore, StoreError, from_i64, to_i64};

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS projection_checkpoints (
        projection TEXT PRIMARY KEY,
        position BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS projection_versions (
        projection TEXT PRIMARY KEY,
        version BIGINT NOT NULL
    )",
];

/// A projection could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// Transient: the event is tried again later.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// Transient: something the projection reads is unavailable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Permanent for this event.
    #[error("cannot decode event: {0}")]
    Decode(#[from] crate::DecodeError),
    /// Permanent for this event.
    #[error("{0}")]
    Other(String),
}

impl ProjectionError {
    /// Whether trying the same event again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProjectionError::Sql(_) | ProjectionError::Unavailable(_)
        )
    }
}

impl From<StoreError> for ProjectionError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Sql(_) | StoreError::Closed => {
                ProjectionError::Unavailable(error.to_string())
            }
            other => ProjectionError::Other(other.to_string()),
        }
    }
}

/// A read model.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Stable name; also the durable consumer name when fed from NATS.
    fn name(&self) -> &'static str;
    /// Portable DDL for its tables (`IF NOT EXISTS`).
    fn schema(&self) -> &'static [&'static str];
    /// The tables it owns: emptied for a rebuild, dropped when its version changes.
    fn tables(&self) -> &'static [&'static str];
    /// Bump when the tables or their meaning change: on start, a projection whose stored
    /// version differs is dropped, recreated and rebuilt from the events, so an upgrade never
    /// needs a hand-written migration of a read model.
    fn version(&self) -> u32 {
        1
    }
    /// Applies one event inside the caller's transaction. Events it does not care about are
    /// ignored (Ok).
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError>;
}

/// Runs a projection over the service's own event log, checkpointed in the same transaction as
/// its effects (so a crash never applies an event twice or skips one).
pub struct LocalProjector<P> {
    store: EventStore,
    projection: Arc<P>,
    applied: watch::Sender<u64>,
    /// One catch-up or rebuild at a time: the background loop and an operator's rebuild must
    /// not apply the same events concurrently.
    running: tokio::sync::Mutex<()>,
    metrics: ConsumerMetrics,
}

/// Where a projection's events come from, which decides what a rebuild must forget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Feed {
    /// The service's own log ([`LocalProjector`]).
    Local,
    /// A durable JetStream consumer ([`crate::consumer::Consumer`]).
    Nats,
}

/// Creates a projection's tables, first dropping them (and forgetting its progress) when they
/// were made by another version of it. Returns whether it starts from scratch that way.
///
/// Everything happens in one transaction, under the log's write lock, so a crash leaves
/// either the old version or the new one with nothing to resume from, and two replicas
/// starting together do not both reset it.
pub(crate) async fn prepare(
    db: &Database,
    projection: &dyn Projection,
    feed: Feed,
) -> Result<bool, ProjectionError> {
    db.run_schema(SCHEMA).await?;
    let mut tx = db.begin_write().await?;
    if let Some(lock) = db.dialect().lock_event_log_statement() {
        sqlx::query(lock).execute(&mut *tx).await?;
    }
    let stored = sqlx::query("SELECT version FROM projection_versions WHERE projection = $1")
        .bind(projection.name().to_owned())
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get::<i64, _>("version"))
        .transpose()?;
    let wanted = i64::from(projection.version());
    let outdated = stored != Some(wanted);
    if outdated {
        match stored {
            Some(stored) => tracing::info!(
                projection = projection.name(),
                stored,
                wanted,
                "projection version changed; rebuilding it from the events"
            ),
            None => tracing::debug!(projection = projection.name(), wanted, "new projection"),
        }
        for table in projection.tables() {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
                .execute(&mut *tx)
                .await?;
        }
        forget_progress(&mut tx, projection.name(), feed).await?;
        sqlx::query(
            "INSERT INTO projection_versions (projection, version) VALUES ($1, $2) \
             ON CONFLICT (projection) DO UPDATE SET version = excluded.version",
        )
        .bind(projection.name().to_owned())
        .bind(wanted)
        .execute(&mut *tx)
        .await?;
    }
    db.run_schema_in(&mut tx, projection.schema()).await?;
    tx.commit().await?;
    Ok(outdated)
}

/// Forgets how far a projection got, so it starts again from the first event: its checkpoint,
/// its failure counts and dead letters, and for a NATS-fed one its inbox, stream versions and
/// a pending order to delete its durable consumer (carried out by the consumer before it
/// reads again, so an unreachable NATS only delays the rebuild, never half-does it).
pub(crate) async fn forget_progress(
    tx: &mut AnyConnection,
    name: &str,
    feed: Feed,
) -> Result<(), sqlx::Error> {
    write_checkpoint(&mut *tx, name, 0).await?;
    let mut statements = vec![
        "DELETE FROM consumer_failures WHERE consumer = $1",
        "DELETE FROM dead_letters WHERE consumer = $1",
    ];
    if feed == Feed::Nats {
        statements.extend([
            "DELETE FROM inbox WHERE consumer = $1",
            "DELETE FROM consumer_streams WHERE consumer = $1",
            "INSERT INTO consumer_resets (consumer) VALUES ($1) ON CONFLICT (consumer) DO NOTHING",
        ]);
    }
    for statement in statements {
        sqlx::query(statement)
            .bind(name.to_owned())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Forgets the version of every projection in `db`, so that each is dropped and rebuilt from
/// the events when its service next starts (`dondoc rebuild`). Returns how many there were.
pub async fn forget_versions(db: &Database) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM projection_versions")
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// Empties a projection's tables inside `tx`.
pub(crate) async fn empty(
    tx: &mut AnyConnection,
    projection: &dyn Projection,
) -> Result<(), sqlx::Error> {
    for table in projection.tables() {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

impl<P: Projection> LocalProjector<P> {
    pub async fn new(store: EventStore, projection: Arc<P>) -> Result<Self, ProjectionError> {
        let name = projection.name();
        let db = store.database().clone();
        db.run_schema(crate::consumer::SCHEMA).await?;
        prepare(&db, projection.as_ref(), Feed::Local).await?;
        let checkpoint = read_checkpoint(&db, projection.name()).await?;
        let (applied, _) = watch::channel(checkpoint);
        Ok(Self {
            store,
            projection,
            applied,
            running: tokio::sync::Mutex::new(()),
            metrics: ConsumerMetrics::new(name),
        })
    }

    /// The position this projection has applied up to.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// Applies everything committed so far. Returns the number of events applied.
    pub async fn catch_up(&self) -> Result<u64, ProjectionError> {
        let _running = self.running.lock().await;
        self.catch_up_locked().await
    }

    async fn catch_up_locked(&self) -> Result<u64, ProjectionError> {
        let db = self.store.database();
        let mut total = 0;
        loop {
            let checkpoint = read_checkpoint(db, self.projection.name()).await?;
            // Stored bytes, upcast one by one below: one unreadable event must not stop the
            // projection (or the service's start-up) for every other event.
            let events = self.store.read_all_stored(checkpoint, 500).await?;
            let Some(last) = events.last().map(|e| e.position) else {
                self.applied.send_replace(checkpoint);
                return Ok(total);
            };
            match self.apply_page(&events, checkpoint).await {
                Ok(()) => {}
                Err(error) if error.is_transient() => return Err(error),
                Err(_) => self.apply_one_by_one(&events, checkpoint).await?,
            }
            total += events.len() as u64;
            self.applied.send_replace(last);
        }
    }

    fn upcast(&self, mut event: RecordedEvent) -> Result<RecordedEvent, ProjectionError> {
        let payload = std::mem::take(&mut event.payload);
        let (version, payload) = self
            .store
            .upcasters()
            .upcast(
                &event.event_type,
                event.schema_version,
                payload,
                &crate::upcast::UpcastContext {
                    occurred_at: event.occurred_at,
                },
            )
            .map_err(|e| ProjectionError::Other(e.to_string()))?;
        event.schema_version = version;
        event.payload = payload;
        Ok(event)
    }

    /// The fast path: a whole page in one transaction.
    async fn apply_page(&self, events: &[RecordedEvent], from: u64) -> Result<(), ProjectionError> {
        let mut tx = self.store.database().begin_write().await?;
        for event in events {
            self.projection
                .apply(&mut tx, &self.upcast(event.clone())?)
                .await?;
        }
        if let Some(last) = events.last() {
            advance_checkpoint(&mut tx, self.projection.name(), from, last.position).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// After a permanent failure in a page: each event on its own, and the one that cannot be
    /// applied goes to `dead_letters` (with the error) so the projection goes on without it.
    async fn apply_one_by_one(
        &self,
        events: &[RecordedEvent],
        from: u64,
    ) -> Result<(), ProjectionError> {
        let db = self.store.database();
        let mut from = from;
        for event in events {
            let mut tx = db.begin_write().await?;
            let mut dead_lettered = false;
            let applied = match self.upcast(event.clone()) {
                Ok(upcast) => self.projection.apply(&mut tx, &upcast).await,
                Err(error) => Err(error),
            };
            match applied {
                Ok(()) => {}
                Err(error) if error.is_transient() => return Err(error),
                Err(error) => {
                    tx.rollback().await?;
                    tracing::error!(projection = self.projection.name(), position = event.position, error = %error, "event dead-lettered by the projection");
                    dead_lettered = true;
                    tx = db.begin_write().await?;
                    crate::consumer::insert_dead_letter(
                        &mut tx,
                        self.projection.name(),
                        &event.event_id.to_string(),
                        "",
                        &event.event_type,
                        &event.stream_id,
                        event.stream_version,
                        1,
                        &error.to_string(),
                        &event.to_envelope().encode_to_vec(),
                    )
                    .await?;
                }
            }
            advance_checkpoint(&mut tx, self.projection.name(), from, event.position).await?;
            tx.commit().await?;
            if dead_lettered {
                self.metrics.dead_lettered();
            }
            from = event.position;
        }
        Ok(())
    }

    /// Empties the projection and replays the whole log into it.
    pub async fn rebuild(&self) -> Result<u64, ProjectionError> {
        let _running = self.running.lock().await;
        let db = self.store.database();
        let mut tx = db.begin_write().await?;
        empty(&mut tx, self.projection.as_ref()).await?;
        forget_progress(&mut tx, self.projection.name(), Feed::Local).await?;
        tx.commit().await?;
        self.catch_up_locked().await
    }

    /// Keeps the projection current until `shutdown`, waking on every commit.
    pub async fn run(&self, shutdown: CancellationToken) {
        let mut head = self.store.subscribe_head();
        loop {
            if let Err(error) = self.catch_up().await {
                tracing::error!(projection = self.projection.name(), error = %error, "projection failed; retrying");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = head.changed() => {}
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            }
        }
    }
}

async fn read_checkpoint(db: &Database, projection: &str) -> Result<u64, sqlx::Error> {
    let row = sqlx::query("SELECT position FROM projection_checkpoints WHERE projection = $1")
        .bind(projection.to_owned())
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(row) => from_i64(row.try_get::<i64, _>("position")?),
        None => 0,
    })
}

/// Moves the checkpoint from `from` to `to` inside the transaction that applied the events,
/// or fails it if someone else (a rebuild, another replica) moved it meanwhile: the events
/// would otherwise land on top of a reset read model and the ones before them be skipped.
async fn advance_checkpoint(
    conn: &mut AnyConnection,
    projection: &str,
    from: u64,
    to: u64,
) -> Result<(), ProjectionError> {
    let moved = sqlx::query(
        "UPDATE projection_checkpoints SET position = $3 WHERE projection = $1 AND position = $2",
    )
    .bind(projection.to_owned())
    .bind(to_i64(from))
    .bind(to_i64(to))
    .execute(conn)
    .await?;
    if moved.rows_affected() == 1 {
        Ok(())
    } else {
        Err(ProjectionError::Unavailable(format!(
            "the checkpoint of {projection} moved during catch-up; starting over"
        )))
    }
}

async fn write_checkpoint(
    conn: &mut AnyConnection,
    projection: &str,
    position: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (projection, position) VALUES ($1, $2) \
         ON CONFLICT (projection) DO UPDATE SET position = excluded.position",
    )
    .bind(projection.to_owned())
    .bind(to_i64(position))
    .execute(conn)
    .await?;
    Ok(())
}
