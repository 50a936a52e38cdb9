//! Read models: tables derived from events, fed either from the service's own log
//! ([`LocalProjector`]) or from other services over NATS ([`crate::consumer`]).
//!
//! A projection only records what events say; it never re-derives business rules. It must be
//! a pure function of the events it has seen, which is what makes a rebuild (drop the tables,
//! replay everything) produce exactly the live result.
//!
//! # Versions and rolling upgrades
//!
//! A projection has a version, and its tables carry it in their names (`task_list_v2`). The
//! `read_models` table records which version is active. When a replica with a newer version
//! starts, it creates its own tables, switches the active version and drops the old tables in
//! one transaction, then fills its tables from the events; its progress (checkpoint, inbox,
//! durable consumer) is kept under a key that includes the version ([`progress_key`]). A replica
//! whose code is *older* than the active version refuses to run that read model
//! ([`ReadModelState::Refused`]): it never drops the newer tables and never writes into them,
//! and its NATS durable consumer is left as it is. Every write of a read model first checks,
//! under a share lock, that its version is still the active one, so an old replica that was in
//! the middle of a write when the switch happened finishes it before the switch proceeds and
//! stops after it.

use std::sync::Arc;

use async_trait::async_trait;
use prost::Message as _;
use sqlx::any::{AnyQueryResult, AnyRow};
use sqlx::{AnyConnection, Row};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::db::Database;
use crate::event::{RecordedEvent, format_time};
use crate::metrics::ConsumerMetrics;
use crate::store::{EventStore, StoreError, from_i64, to_i64};

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS projection_checkpoints (
        projection TEXT PRIMARY KEY,
        position BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS read_models (
        projection TEXT PRIMARY KEY,
        version BIGINT NOT NULL,
        tables TEXT NOT NULL,
        prepared_at TEXT NOT NULL
    )",
];

/// A projection could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// Transient or permanent depending on the database's answer ([`crate::db::is_transient`]).
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// Transient: something the projection reads is unavailable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Permanent for this event.
    #[error("cannot decode event: {0}")]
    Decode(#[from] crate::DecodeError),
    /// Permanent for this event: an update found no row to update. The event arrived without the
    /// one that creates the row (dead-lettered before it, or a broken stream); writing nothing
    /// and reporting success would hide the hole.
    #[error("no {0} to update")]
    MissingRow(String),
    /// A newer version of this read model is active: this replica must be upgraded.
    #[error("{0}")]
    Refused(String),
    /// The event is of a schema version newer than this build knows: it is held, with every
    /// later event of its stream, until the consumer is upgraded — never read as if current,
    /// never dead-lettered.
    #[error("{0}")]
    NewerVersion(String),
    /// Permanent for this event.
    #[error("{0}")]
    Other(String),
}

impl ProjectionError {
    /// Whether trying the same event again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ProjectionError::Sql(error) => crate::db::is_transient(error),
            ProjectionError::Unavailable(_) => true,
            ProjectionError::Decode(_)
            | ProjectionError::MissingRow(_)
            | ProjectionError::Refused(_)
            | ProjectionError::NewerVersion(_)
            | ProjectionError::Other(_) => false,
        }
    }
}

impl From<StoreError> for ProjectionError {
    fn from(error: StoreError) -> Self {
        if error.is_transient() {
            ProjectionError::Unavailable(error.to_string())
        } else {
            ProjectionError::Other(error.to_string())
        }
    }
}

/// The row an update of `what` expects, or [`ProjectionError::MissingRow`].
pub fn expect_row(
    row: Option<AnyRow>,
    what: impl FnOnce() -> String,
) -> Result<AnyRow, ProjectionError> {
    row.ok_or_else(|| ProjectionError::MissingRow(what()))
}

/// Fails with [`ProjectionError::MissingRow`] when an update changed nothing.
pub fn expect_updated(
    result: AnyQueryResult,
    what: impl FnOnce() -> String,
) -> Result<(), ProjectionError> {
    if result.rows_affected() == 0 {
        return Err(ProjectionError::MissingRow(what()));
    }
    Ok(())
}

/// A read model.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Stable name.
    fn name(&self) -> &'static str;
    /// Portable DDL for its tables (`IF NOT EXISTS`).
    fn schema(&self) -> &'static [&'static str];
    /// The tables it owns, each named with the `_v{version}` suffix: emptied for a rebuild,
    /// dropped when a newer version takes over.
    fn tables(&self) -> &'static [&'static str];
    /// Bump when the tables or their meaning change (and rename the tables with it): on start,
    /// the new version is built from the events into its own tables, so an upgrade never needs
    /// a hand-written migration of a read model.
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

/// The key under which a projection's progress is kept (checkpoint, inbox, dead letters, the
/// durable consumer's name): its name and version, so two versions running side by side during
/// a rolling upgrade never share any of it.
pub fn progress_key(projection: &dyn Projection) -> String {
    format!("{}-v{}", projection.name(), projection.version())
}

/// Whether this replica runs a read model, and whether it has caught up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadModelState {
    Ready,
    /// Running, but still consuming what was published before this replica started: it
    /// answers (what it has), and health says NOT_SERVING until it has caught up, so an
    /// orchestrator does not send traffic to a replica that would answer with old figures.
    CatchingUp,
    /// A newer version is active; this replica's code must be upgraded to serve it.
    Refused(String),
}

impl ReadModelState {
    /// Running and caught up: what health requires.
    pub fn is_ready(&self) -> bool {
        matches!(self, ReadModelState::Ready)
    }

    /// Refused by this replica (a newer version is active).
    pub fn is_refused(&self) -> bool {
        matches!(self, ReadModelState::Refused(_))
    }
}

/// Where a projection's events come from, which decides what a rebuild must forget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Feed {
    /// The service's own log ([`LocalProjector`]).
    Local,
    /// A durable JetStream consumer ([`crate::consumer::Consumer`]).
    Nats,
}

fn refusal(projection: &dyn Projection, active: i64) -> String {
    format!(
        "read model {} is at version {active} in this database, but this replica knows only \
         version {}: it refuses to run it (and never drops it); upgrade this replica",
        projection.name(),
        projection.version()
    )
}

/// Creates a projection's tables and makes its version the active one (see the module docs).
///
/// Everything happens in one transaction under the schema lock, so a crash leaves either the
/// old version or the new one with nothing to resume from, and two replicas starting together
/// do not both reset it.
pub(crate) async fn prepare(
    db: &Database,
    projection: &dyn Projection,
    feed: Feed,
) -> Result<ReadModelState, ProjectionError> {
    let wanted = i64::from(projection.version());
    let suffix = format!("_v{wanted}");
    if let Some(table) = projection.tables().iter().find(|t| !t.ends_with(&suffix)) {
        return Err(ProjectionError::Other(format!(
            "table {table} of read model {} must end with {suffix}, so versions never share a \
             table",
            projection.name()
        )));
    }
    let mut tx = db.begin_write().await?;
    db.lock_schema(&mut tx).await?;
    db.run_schema_in(&mut tx, SCHEMA).await?;
    let stored = sqlx::query("SELECT version, tables FROM read_models WHERE projection = $1")
        .bind(projection.name().to_owned())
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| {
            Ok::<_, sqlx::Error>((
                row.try_get::<i64, _>("version")?,
                row.try_get::<String, _>("tables")?,
            ))
        })
        .transpose()?;
    match &stored {
        Some((active, _)) if *active > wanted => {
            tx.rollback().await?;
            let reason = refusal(projection, *active);
            tracing::error!(projection = projection.name(), "{reason}");
            return Ok(ReadModelState::Refused(reason));
        }
        Some((active, _)) if *active == wanted => {
            db.run_schema_in(&mut tx, projection.schema()).await?;
            tx.commit().await?;
            return Ok(ReadModelState::Ready);
        }
        Some((active, old_tables)) => {
            tracing::info!(
                projection = projection.name(),
                from = active,
                to = wanted,
                "new version of the read model; building it from the events into its own tables"
            );
            for table in old_tables.split(',').filter(|t| !t.is_empty()) {
                drop_table(&mut tx, table).await?;
            }
        }
        None => tracing::debug!(projection = projection.name(), wanted, "new read model"),
    }
    // Starting from scratch: whatever this version left before (a `dondoc rebuild`, or an
    // interrupted earlier start) is dropped, and its progress forgotten.
    for table in projection.tables() {
        drop_table(&mut tx, table).await?;
    }
    forget_progress(&mut tx, &progress_key(projection), feed).await?;
    sqlx::query(
        "INSERT INTO read_models (projection, version, tables, prepared_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (projection) DO UPDATE SET version = excluded.version, \
         tables = excluded.tables, prepared_at = excluded.prepared_at",
    )
    .bind(projection.name().to_owned())
    .bind(wanted)
    .bind(projection.tables().join(","))
    .bind(format_time(chrono::Utc::now()))
    .execute(&mut *tx)
    .await?;
    db.run_schema_in(&mut tx, projection.schema()).await?;
    tx.commit().await?;
    Ok(ReadModelState::Ready)
}

async fn drop_table(tx: &mut AnyConnection, table: &str) -> Result<(), sqlx::Error> {
    // Table names come from projections' own constants, never from input.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Checks, inside a transaction about to write `projection`'s tables, that its version is still
/// the active one, holding the `read_models` row so that a switch to a newer version waits for
/// this transaction.
pub(crate) async fn check_active(
    db: &Database,
    conn: &mut AnyConnection,
    projection: &dyn Projection,
) -> Result<(), ProjectionError> {
    let sql = format!(
        "SELECT version FROM read_models WHERE projection = $1{}",
        db.dialect().share_lock_suffix()
    );
    let active = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(projection.name().to_owned())
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get::<i64, _>("version"))
        .transpose()?;
    match active {
        Some(active) if active == i64::from(projection.version()) => Ok(()),
        Some(active) if active > i64::from(projection.version()) => {
            Err(ProjectionError::Refused(refusal(projection, active)))
        }
        // Forgotten by `dondoc rebuild`, or older: this replica rebuilds it on its next start;
        // until then it keeps its tables as they are.
        _ => Err(ProjectionError::Unavailable(format!(
            "read model {} is being rebuilt; restart the service to finish",
            projection.name()
        ))),
    }
}

/// Forgets how far a projection got, so it starts again from the first event: its checkpoint,
/// its failure counts and dead letters, and for a NATS-fed one its inbox, stream versions,
/// parked events and a pending order to delete its durable consumer (carried out by the
/// consumer before it reads again, so an unreachable NATS only delays the rebuild, never
/// half-does it).
pub(crate) async fn forget_progress(
    tx: &mut AnyConnection,
    key: &str,
    feed: Feed,
) -> Result<(), sqlx::Error> {
    write_checkpoint(&mut *tx, key, 0).await?;
    let mut statements = vec![
        "DELETE FROM consumer_failures WHERE consumer = $1",
        "DELETE FROM dead_letters WHERE consumer = $1",
    ];
    if feed == Feed::Nats {
        statements.extend([
            "DELETE FROM inbox WHERE consumer = $1",
            "DELETE FROM consumer_streams WHERE consumer = $1",
            "DELETE FROM parked WHERE consumer = $1",
            "INSERT INTO consumer_resets (consumer) VALUES ($1) ON CONFLICT (consumer) DO NOTHING",
        ]);
    }
    for statement in statements {
        sqlx::query(statement)
            .bind(key.to_owned())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Forgets which version of each read model in `db` is active, so that each is dropped and
/// rebuilt from the events when its service next starts (`dondoc rebuild`). Returns how many
/// there were.
pub async fn forget_versions(db: &Database) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM read_models")
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

/// Runs a projection over the service's own event log, checkpointed in the same transaction as
/// its effects (so a crash never applies an event twice or skips one).
pub struct LocalProjector<P> {
    store: EventStore,
    projection: Arc<P>,
    key: String,
    applied: watch::Sender<u64>,
    state: watch::Sender<ReadModelState>,
    /// One catch-up or rebuild at a time: the background loop and an operator's rebuild must
    /// not apply the same events concurrently.
    running: tokio::sync::Mutex<()>,
    metrics: ConsumerMetrics,
}

impl<P: Projection> LocalProjector<P> {
    pub async fn new(store: EventStore, projection: Arc<P>) -> Result<Self, ProjectionError> {
        let key = progress_key(projection.as_ref());
        let db = store.database().clone();
        db.run_schema(crate::consumer::SCHEMA).await?;
        let state = prepare(&db, projection.as_ref(), Feed::Local).await?;
        let checkpoint = read_checkpoint(&db, &key).await?;
        let (applied, _) = watch::channel(checkpoint);
        let (state, _) = watch::channel(state);
        Ok(Self {
            metrics: ConsumerMetrics::new(&key),
            store,
            projection,
            key,
            applied,
            state,
            running: tokio::sync::Mutex::new(()),
        })
    }

    /// The database holding the read model.
    pub fn database(&self) -> &Database {
        self.store.database()
    }

    /// The position this projection has applied up to.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
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

    /// Applies everything committed so far. Returns the number of events applied.
    pub async fn catch_up(&self) -> Result<u64, ProjectionError> {
        let _running = self.running.lock().await;
        self.catch_up_locked().await
    }

    async fn catch_up_locked(&self) -> Result<u64, ProjectionError> {
        self.ensure_running()?;
        let result = self.apply_available().await;
        if let Err(ProjectionError::Refused(reason)) = &result {
            tracing::error!(projection = self.projection.name(), "{reason}");
            self.state
                .send_replace(ReadModelState::Refused(reason.clone()));
        }
        result
    }

    async fn apply_available(&self) -> Result<u64, ProjectionError> {
        let db = self.store.database();
        let mut total = 0;
        loop {
            let checkpoint = read_checkpoint(db, &self.key).await?;
            // Stored bytes, upcast one by one below: one unreadable event must not stop the
            // projection (or the service's start-up) for every other event.
            let events = self.store.read_all_stored(checkpoint, 500).await?;
            let Some(last) = events.last().map(|e| e.position) else {
                self.applied.send_replace(checkpoint);
                return Ok(total);
            };
            match self.apply_page(&events, checkpoint).await {
                Ok(()) => {}
                Err(error) if error.is_transient() => {
                    self.metrics.transient_failure();
                    return Err(error);
                }
                Err(error @ ProjectionError::Refused(_)) => return Err(error),
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
        let db = self.store.database();
        let mut tx = db.begin_write().await?;
        check_active(db, &mut tx, self.projection.as_ref()).await?;
        for event in events {
            self.projection
                .apply(&mut tx, &self.upcast(event.clone())?)
                .await?;
        }
        if let Some(last) = events.last() {
            advance_checkpoint(&mut tx, &self.key, from, last.position).await?;
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
            check_active(db, &mut tx, self.projection.as_ref()).await?;
            let mut dead_lettered = false;
            let applied = match self.upcast(event.clone()) {
                Ok(upcast) => self.projection.apply(&mut tx, &upcast).await,
                Err(error) => Err(error),
            };
            match applied {
                Ok(()) => {}
                Err(error) if error.is_transient() => {
                    self.metrics.transient_failure();
                    return Err(error);
                }
                Err(error) => {
                    tx.rollback().await?;
                    tracing::error!(projection = self.projection.name(), position = event.position, error = %error, "event dead-lettered by the projection");
                    dead_lettered = true;
                    tx = db.begin_write().await?;
                    check_active(db, &mut tx, self.projection.as_ref()).await?;
                    crate::consumer::insert_dead_letter(
                        &mut tx,
                        &self.key,
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
            advance_checkpoint(&mut tx, &self.key, from, event.position).await?;
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
        self.ensure_running()?;
        let db = self.store.database();
        let mut tx = db.begin_write().await?;
        check_active(db, &mut tx, self.projection.as_ref()).await?;
        empty(&mut tx, self.projection.as_ref()).await?;
        forget_progress(&mut tx, &self.key, Feed::Local).await?;
        tx.commit().await?;
        self.applied.send_replace(0);
        self.catch_up_locked().await
    }

    /// Keeps the projection current until `shutdown`, waking on every commit. Transient
    /// failures are retried with capped backoff; a refused read model stays refused until the
    /// replica is upgraded.
    pub async fn run(&self, shutdown: CancellationToken) {
        let mut head = self.store.subscribe_head();
        let mut backoff = std::time::Duration::from_millis(100);
        loop {
            let wait = match self.catch_up().await {
                Ok(_) => {
                    backoff = std::time::Duration::from_millis(100);
                    std::time::Duration::from_secs(1)
                }
                Err(ProjectionError::Refused(_)) => std::time::Duration::from_secs(3600),
                Err(error) => {
                    tracing::warn!(projection = self.projection.name(), error = %error, retry_in = ?backoff, "projection cannot catch up; retrying");
                    let wait = backoff;
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
                    wait
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = head.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

async fn read_checkpoint(db: &Database, key: &str) -> Result<u64, sqlx::Error> {
    let row = sqlx::query("SELECT position FROM projection_checkpoints WHERE projection = $1")
        .bind(key.to_owned())
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
    key: &str,
    from: u64,
    to: u64,
) -> Result<(), ProjectionError> {
    let moved = sqlx::query(
        "UPDATE projection_checkpoints SET position = $3 WHERE projection = $1 AND position = $2",
    )
    .bind(key.to_owned())
    .bind(to_i64(from))
    .bind(to_i64(to))
    .execute(conn)
    .await?;
    if moved.rows_affected() == 1 {
        Ok(())
    } else {
        Err(ProjectionError::Unavailable(format!(
            "the checkpoint of {key} moved during catch-up; starting over"
        )))
    }
}

async fn write_checkpoint(
    conn: &mut AnyConnection,
    key: &str,
    position: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (projection, position) VALUES ($1, $2) \
         ON CONFLICT (projection) DO UPDATE SET position = excluded.position",
    )
    .bind(key.to_owned())
    .bind(to_i64(position))
    .execute(conn)
    .await?;
    Ok(())
}
