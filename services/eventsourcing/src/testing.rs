//! Test support shared by every crate's tests (feature `testing`): throwaway databases on both
//! engines and given/when/then helpers for aggregates.
//!
//! PostgreSQL variants run when `DONDOC_TEST_POSTGRES_URL` points at a server where the user may
//! create databases; each test gets a database of its own. CI sets the variable *and*
//! `DONDOC_REQUIRE_POSTGRES=1`, which turns a missing variable into a failure instead of a skip.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::aggregate::Aggregate;
use crate::db::Database;

/// Name of the variable holding the PostgreSQL admin URL for tests.
pub const POSTGRES_URL_VAR: &str = "DONDOC_TEST_POSTGRES_URL";

/// A database that lives as long as the test needs it.
#[derive(Debug)]
pub struct TestDatabase {
    pub db: Database,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A fresh SQLite file in a temporary directory.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let db = Database::connect(&url).await.expect("open sqlite");
        Self {
            db,
            url,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` when no server is configured (and not required).
    pub async fn postgres() -> Option<Self> {
        let admin_url = match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var("DONDOC_REQUIRE_POSTGRES").is_err(),
                    "{POSTGRES_URL_VAR} must be set when DONDOC_REQUIRE_POSTGRES is"
                );
                return None;
            }
        };
        let admin = Database::connect(&admin_url)
            .await
            .expect("connect to the PostgreSQL test server");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        drop_stale_databases(&admin, now).await;
        let name = format!("dondoc_t_{now}_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(admin.pool())
            .await
            .expect("create test database");
        admin.close().await;
        let url = replace_database(&admin_url, &name);
        let db = Database::connect(&url).await.expect("open test database");
        Some(Self {
            db,
            url,
            _dir: None,
        })
    }

    /// A fresh PostgreSQL database for each of `services`, as `URL_TEMPLATE` with `{service}`
    /// where the name goes (`dondoc up --postgres`, `dondoc backup --postgres`); `None` when
    /// no server is configured (and not required).
    pub async fn postgres_per_service(services: &[&str]) -> Option<String> {
        let first = Self::postgres().await?;
        let base = first
            .url
            .rsplit_once('/')
            .map(|(_, database)| database.split('?').next().unwrap_or(database).to_owned())
            .expect("a database name in the URL");
        for service in services {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {base}_{service}"
            )))
            .execute(first.db.pool())
            .await
            .expect("create a service's test database");
        }
        first.db.close().await;
        Some(replace_database(&first.url, &format!("{base}_{{service}}")))
    }

    /// Every engine available to this run: SQLite always, PostgreSQL when configured.
    pub async fn all() -> Vec<Self> {
        let mut all = vec![Self::sqlite().await];
        if let Some(pg) = Self::postgres().await {
            all.push(pg);
        }
        all
    }

    /// A second, independent pool on the same database (a "restarted process").
    pub async fn reopen(&self) -> Database {
        Database::connect(&self.url).await.expect("reopen database")
    }

    pub fn engine(&self) -> &'static str {
        self.db.dialect().name()
    }
}

/// Databases left by earlier runs (kept on failure for inspection) are dropped after an hour.
async fn drop_stale_databases(admin: &Database, now: u64) {
    use sqlx::Row;
    let Ok(rows) = sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'dondoc_t_%'")
        .fetch_all(admin.pool())
        .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String, _>("datname") else {
            continue;
        };
        let created = name
            .split('_')
            .nth(2)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(now);
        if now.saturating_sub(created) > 3600 {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(admin.pool())
            .await;
        }
    }
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{database}?{q}"),
        None => format!("{prefix}/{database}"),
    }
}

/// Given/when/then for pure aggregate tests:
/// `given::<Task>(&[assigned]).when(&cmd)` returns what `decide` returned.
pub fn given<A: Aggregate>(history: &[A::Event]) -> Given<A> {
    Given {
        state: A::from_events(history),
    }
}

pub struct Given<A> {
    state: A,
}

impl<A: Aggregate> Given<A> {
    pub fn when(&self, command: &A::Command) -> Result<Vec<A::Event>, A::Error> {
        self.state.decide(command)
    }

    pub fn state(&self) -> &A {
        &self.state
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn the_database_name_is_replaced_keeping_credentials_and_options() {
        assert_eq!(
            replace_database(
                "postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable",
                "x"
            ),
            "postgres://u:p@127.0.0.1:5432/x?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://postgres@localhost", "x"),
            "postgres://postgres@localhost/x"
        );
    }
}
