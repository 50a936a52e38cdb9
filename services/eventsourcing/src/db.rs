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

    /// A statement that, run first inside a transaction, serialises schema changes across every
    /// process using this database: two replicas starting together on a fresh PostgreSQL
    /// database would otherwise race on `CREATE TABLE IF NOT EXISTS` (which is not atomic
    /// there) and one would fail.
    fn lock_schema_statement(&self) -> Option<&'static str>;

    /// A statement taking a transaction-level lock on the name bound as `$1`, held until
    /// commit, so transactions of several replicas about the same thing run one after the
    /// other (`None` on SQLite, whose single writer already does that).
    fn lock_name_statement(&self) -> Option<&'static str>;

    /// What to append to a `SELECT` that must hold its rows until the transaction ends, so a
    /// concurrent change waits for it (`FOR SHARE` on PostgreSQL; SQLite has a single writer).
    fn share_lock_suffix(&self) -> &'static str;
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
    fn lock_schema_statement(&self) -> Option<&'static str> {
        None
    }
    fn lock_name_statement(&self) -> Option<&'static str> {
        None
    }
    fn share_lock_suffix(&self) -> &'static str {
        ""
    }
}

/// PostgreSQL: appends take a transaction-level advisory lock, released at commit, so a
/// position drawn by one transaction is never overtaken by a later one.
#[derive(Debug, Clone, Copy)]
pub struct Postgres;

/// Advisory lock key of the event log ("dondoc" in ASCII).
const EVENT_LOG_LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(110111110100111)";
/// Advisory lock key of schema changes (a different key: preparing a read model must not wait
/// for appends, nor the reverse).
const SCHEMA_LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(110111110100112)";

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
    fn lock_schema_statement(&self) -> Option<&'static str> {
        Some(SCHEMA_LOCK_KEY)
    }
    fn lock_name_statement(&self) -> Option<&'static str> {
        // A 64-bit hash of the name: another name may collide, which only serialises two
        // unrelated transactions, never lets two related ones overlap.
        Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
    }
    fn share_lock_suffix(&self) -> &'static str {
        " FOR SHARE"
    }
}

/// Whether the database refused a text value it cannot store: PostgreSQL holds no NUL
/// character in `text` (SQLSTATE 22021) nor one outside the database's encoding (22P05). The
/// request, not the service, is at fault: callers answer INVALID_ARGUMENT, never INTERNAL.
pub fn is_unstorable_text(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05"))
    )
}

/// What to tell a client whose request held such a text.
pub const UNSTORABLE_TEXT: &str =
    "contains a character that cannot be stored (NUL, U+0000, or outside UTF-8): remove it";

/// Whether trying the same statement again later may succeed.
///
/// Connection, I/O, pool and lock-contention failures are transient: the database, not the data,
/// is the problem, and the caller retries with backoff. Data, constraint and syntax errors
/// (SQLSTATE classes 22, 23 and 42 on PostgreSQL; constraint, mismatch and logic errors on
/// SQLite) and values that cannot be decoded are permanent: the same statement with the same
/// values fails the same way for ever, so a consumer must set the event aside (dead letter)
/// instead of retrying it — one such event once stopped a read model for good.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => database_code_is_transient(&code),
            // No code to judge by: be patient rather than lose an event to a hiccup.
            None => true,
        },
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::RowNotFound
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Encode(_)
        | sqlx::Error::Decode(_)
        | sqlx::Error::Configuration(_) => false,
        _ => true,
    }
}

/// PostgreSQL SQLSTATEs are five characters, SQLite's (extended) result codes are numbers of at
/// most four digits.
fn database_code_is_transient(code: &str) -> bool {
    if code.len() == 5 {
        // PostgreSQL: connection (08), transaction rollback such as serialization failure or
        // deadlock (40), insufficient resources (53), operator intervention such as a
        // statement timeout or shutdown (57), system errors (58), and lock not available
        // (55P03) are about the server's state; everything else is about the statement.
        let class = &code[..2];
        matches!(class, "08" | "40" | "53" | "57" | "58") || code == "55P03"
    } else {
        match code.parse::<u32>() {
            // SQLITE_BUSY, _LOCKED, _NOMEM, _IOERR, _FULL, _CANTOPEN, _PROTOCOL.
            Ok(code) => matches!(code & 0xff, 5 | 6 | 7 | 10 | 13 | 14 | 15),
            Err(_) => true,
        }
    }
}

/// Connection settings of a service's database (`[<service>.database]` in the config file).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbSettings {
    /// Connections in the pool; SQLite has one writer whatever this is, so a few suffice there,
    /// while on PostgreSQL five services × three replicas × this must fit `max_connections`.
    pub max_connections: Option<u32>,
    /// Longest a statement may run before the server cancels it (PostgreSQL
    /// `statement_timeout`), so a runaway query cannot hold the event log's lock for ever.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// Longest a statement waits for a lock (PostgreSQL `lock_timeout`, SQLite `busy_timeout`).
    #[serde(with = "humantime_serde")]
    pub lock_timeout: Duration,
    /// Longest a caller waits for a free connection.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

impl Default for DbSettings {
    fn default() -> Self {
        Self {
            max_connections: None,
            statement_timeout: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(30),
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

impl DbSettings {
    fn pool_size(&self, default: u32) -> u32 {
        self.max_connections.unwrap_or(default).max(1)
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
    /// Connects to `sqlite:PATH` (created if missing) or `postgres://…` with default settings.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        Self::open(url, OpenMode::CreateIfMissing).await
    }

    /// Connects with default settings, creating a missing SQLite file only if `mode` allows it.
    pub async fn open(url: &str, mode: OpenMode) -> Result<Self, DbError> {
        Self::open_with(url, mode, &DbSettings::default()).await
    }

    /// Connects with `settings`, creating a missing SQLite file only if `mode` allows it.
    pub async fn open_with(
        url: &str,
        mode: OpenMode,
        settings: &DbSettings,
    ) -> Result<Self, DbError> {
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
            let busy_timeout = format!(
                "PRAGMA busy_timeout = {}",
                settings.lock_timeout.as_millis()
            );
            let pool = AnyPoolOptions::new()
                // WAL lets readers proceed while the single writer commits; FULL synchronous
                // because an event log that forgets acknowledged commands is worse than slow.
                // SQLite has no statement timeout; its busy timeout bounds lock waits.
                .after_connect(move |conn, _meta| {
                    let busy_timeout = busy_timeout.clone();
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute(sqlx::AssertSqlSafe(busy_timeout)).await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        Ok(())
                    })
                })
                .max_connections(settings.pool_size(8))
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Self {
                pool,
                dialect: Arc::new(Sqlite),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let timeouts = format!(
                "SET statement_timeout = {}; SET lock_timeout = {}",
                settings.statement_timeout.as_millis(),
                settings.lock_timeout.as_millis()
            );
            let pool = AnyPoolOptions::new()
                .after_connect(move |conn, _meta| {
                    let timeouts = timeouts.clone();
                    Box::pin(async move {
                        conn.execute(sqlx::AssertSqlSafe(timeouts)).await?;
                        Ok(())
                    })
                })
                .max_connections(settings.pool_size(10))
                .acquire_timeout(settings.acquire_timeout)
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

    /// Runs DDL statements, in order, each idempotent (`IF NOT EXISTS`), in one transaction
    /// serialised with every other schema change on this database. `{blob}` in a statement is
    /// replaced by the engine's blob type.
    pub async fn run_schema(&self, statements: &[&str]) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        self.lock_schema(&mut tx).await?;
        self.run_schema_in(&mut tx, statements).await?;
        tx.commit().await
    }

    /// Takes the schema lock inside the caller's transaction (see
    /// [`Dialect::lock_schema_statement`]).
    pub async fn lock_schema(&self, conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
        if let Some(lock) = self.dialect.lock_schema_statement() {
            conn.execute(lock).await?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::database_code_is_transient;

    #[test]
    fn postgres_data_constraint_and_syntax_errors_are_permanent() {
        for code in ["22021", "22P02", "23505", "23502", "42P01", "42601"] {
            assert!(!database_code_is_transient(code), "{code}");
        }
    }

    #[test]
    fn postgres_connection_timeout_and_contention_errors_are_transient() {
        for code in [
            "08006", "40001", "40P01", "53300", "57014", "57P01", "55P03",
        ] {
            assert!(database_code_is_transient(code), "{code}");
        }
    }

    #[test]
    fn sqlite_busy_and_io_errors_are_transient_and_constraint_errors_permanent() {
        // SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_FSYNC, SQLITE_FULL.
        for code in ["5", "517", "1034", "13"] {
            assert!(database_code_is_transient(code), "{code}");
        }
        // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY, _NOTNULL, SQLITE_ERROR, SQLITE_MISMATCH.
        for code in ["2067", "1555", "1299", "1", "20"] {
            assert!(!database_code_is_transient(code), "{code}");
        }
    }
}

/// Rows per multi-row statement, largest first. A few fixed sizes rather than one statement
/// per batch size keep the drivers' prepared-statement caches small and warm.
pub(crate) const CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// Splits `items` into chunks of the sizes in [`CHUNKS`].
pub(crate) fn chunked<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = CHUNKS
            .iter()
            .copied()
            .find(|size| *size <= rest.len())
            .unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

/// `($1, $2, …), (…)` for `rows` rows of `columns` placeholders.
pub(crate) fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$1, $2, …, $n`.
pub(crate) fn in_list(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod statement_tests {
    use super::*;

    #[test]
    fn a_batch_is_written_in_chunks_of_a_few_fixed_sizes() {
        let items: Vec<u32> = (0..90).collect();

        let sizes: Vec<usize> = chunked(&items).map(<[u32]>::len).collect();

        assert_eq!(sizes, [64, 16, 4, 4, 1, 1]);
        assert_eq!(chunked(&items).flatten().count(), 90);
        assert_eq!(chunked::<u32>(&[]).count(), 0);
    }

    #[test]
    fn placeholders_number_every_cell_row_by_row() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(in_list(3), "$1, $2, $3");
    }
}
