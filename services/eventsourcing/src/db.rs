//! One database handle for both supported engines.
//!
//! Every dondoc service owns its own database: SQLite is the embedded default (`dondoc up`),
//! PostgreSQL the production engine (docker-compose). The SQL that the event store, outbox,
//! inbox and projections run is the same portable subset on both, executed through sqlx's `Any`
//! driver; what genuinely differs — how a write transaction starts, how the event log is
//! serialised, blob column types — lives behind the [`Dialect`] trait, which has exactly two
//! implementations. The conformance suite in `tests/` runs the same tests against both.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

/// The engine-specific part of dondoc's SQL.
pub trait Dialect: Send + Sync + std::fmt::Debug + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn name(&self) -> &'static str;

    /// The statement that opens a write transaction.
    ///
    /// SQLite must use `BEGIN IMMEDIATE`: a deferred transaction that reads and then writes
    /// fails with `SQLITE_BUSY` at once when another connection wrote meanwhile, without
    /// waiting for the busy timeout.
    fn begin_write_statement(&self) -> &'static str;

    /// A statement that, run first inside a write transaction, serialises appends to the event
    /// log across every process using this database, so positions become visible strictly in
    /// order (several replicas of a service may share one PostgreSQL database).
    fn lock_event_log_statement(&self) -> Option<&'static str>;

    /// The column type for binary payloads.
    fn blob_type(&self) -> &'static str;
}

/// SQLite: a single writer by construction (`BEGIN IMMEDIATE` takes the write lock).
#[derive(Debug, Clone, Copy)]
pub struct Sqlite;

impl Dialect for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn begin_write_statement(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }
    fn lock_event_log_statement(&self) -> Option<&'static str> {
        None
    }
    fn blob_type(&self) -> &'static str {
        "BLOB"
    }
}

/// PostgreSQL: appends take a transaction-level advisory lock, released at commit, so a
/// position drawn by one transaction is never overtaken by a later one.
#[derive(Debug, Clone, Copy)]
pub struct Postgres;

/// Advisory lock key of the event log ("dondoc" in ASCII).
const EVENT_LOG_LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(110111110100111)";

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn begin_write_statement(&self) -> &'static str {
        "BEGIN"
    }
    fn lock_event_log_statement(&self) -> Option<&'static str> {
        Some(EVENT_LOG_LOCK_KEY)
    }
    fn blob_type(&self) -> &'static str {
        "BYTEA"
    }
}

/// Errors opening or preparing a database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL {0:?}: use sqlite:… or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

/// A connection pool plus the dialect of the engine behind it.
#[derive(Clone, Debug)]
pub struct Database {
    pool: AnyPool,
    dialect: Arc<dyn Dialect>,
}

/// Whether opening a SQLite database may create it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// A service starting on a fresh data directory.
    CreateIfMissing,
    /// An operator command inspecting a service's data: a mistyped path must be an error, not
    /// a new empty database that "verifies" as intact.
    MustExist,
}

impl Database {
    /// Connects to `sqlite:PATH` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        Self::open(url, OpenMode::CreateIfMissing).await
    }

    /// Connects, creating a missing SQLite file only if `mode` allows it.
    pub async fn open(url: &str, mode: OpenMode) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(url)?;
        if url.starts_with("sqlite:") {
            let url = if url.contains('?') {
                url.to_owned()
            } else if mode == OpenMode::CreateIfMissing {
                format!("{url}?mode=rwc")
            } else {
                format!("{url}?mode=rw")
            };
            let options = AnyConnectOptions::from_str(&url)?;
            let pool = AnyPoolOptions::new()
                // WAL lets readers proceed while the single writer commits; FULL synchronous
                // because an event log that forgets acknowledged commands is worse than slow.
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        Ok(())
                    })
                })
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?;
            Ok(Self {
                pool,
                dialect: Arc::new(Sqlite),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?;
            Ok(Self {
                pool,
                dialect: Arc::new(Postgres),
            })
        } else {
            Err(DbError::UnsupportedUrl(url.to_owned()))
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn dialect(&self) -> &dyn Dialect {
        self.dialect.as_ref()
    }

    /// Opens a write transaction the way this engine needs it.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        self.pool
            .begin_with(self.dialect.begin_write_statement())
            .await
    }

    /// Runs DDL statements, in order, each idempotent (`IF NOT EXISTS`). `{blob}` in a
    /// statement is replaced by the engine's blob type.
    pub async fn run_schema(&self, statements: &[&str]) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        self.run_schema_in(&mut tx, statements).await?;
        tx.commit().await
    }

    /// [`Database::run_schema`] inside the caller's transaction.
    pub async fn run_schema_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        statements: &[&str],
    ) -> Result<(), sqlx::Error> {
        for statement in statements {
            let sql = statement.replace("{blob}", self.dialect.blob_type());
            conn.execute(sqlx::AssertSqlSafe(sql)).await?;
        }
        Ok(())
    }

    /// Closes every connection (used on shutdown and by tests that reopen a file).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
