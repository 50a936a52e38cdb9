//! `dondoc backup` and `dondoc restore`: a copy of every store of a `dondoc up` data directory,
//! and putting it back in the order that leaves no service ahead of another.
//!
//! A backup holds each service's SQLite database, copied online with `VACUUM INTO` (a
//! consistent snapshot of that database even while the service writes), the documents' files
//! (`blobs/`), and a `manifest.json` with each file's SHA-256 and each event log's head. Taken
//! while `dondoc up` is stopped, the copies are of one point; taken while it runs, each is of
//! its own instant, in service order (the manifest records every head).
//!
//! Restoring is more than copying back, because the stores are not independent:
//! 1. every store goes back to the same point (never one alone);
//! 2. the NATS JetStream store is set aside: it holds events newer than the restored logs,
//!    and consumers' positions in streams that no longer match;
//! 3. every relay is rewound to the start and every read model marked for rebuilding, so on
//!    the next `dondoc up` each log is published again and each read model replayed from it;
//! 4. each log is verified, and the anchors kept only where they match the restored logs
//!    (an anchor made after the backup point would rightly call the restored log truncated).
//!
//! What was there before is moved to `<data>/before-restore-<time>/`, never deleted.
//!
//! With `--postgres URL_TEMPLATE` (the services on PostgreSQL: `dondoc up --postgres`, or
//! compose) each database is dumped by `pg_dump` in the custom format instead, from a snapshot
//! exported by a repeatable-read transaction in which the log's head is read too, so the
//! manifest's head is exactly the dump's. Restoring dumps each database as it is into the
//! set-aside directory first, then `pg_restore --clean` puts the backup back, its objects
//! owned by the database's owner (the service's role). With `--nats-url` (an external NATS
//! server, as in compose) the services' event streams are deleted there instead of a NATS
//! directory being set aside; the anchors in `DONDOC_ANCHORS` stay, so `dondoc verify
//! --nats-url` reports a log rewound below its last anchor until the service anchors again:
//! the restore is visible to an auditor, as it should be.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use dondoc_eventsourcing::Database;
use dondoc_eventsourcing::anchor;
use dondoc_eventsourcing::db::OpenMode;
use dondoc_eventsourcing::projection::forget_versions;
use dondoc_eventsourcing::relay::{RelayConfig, rewind};
use dondoc_eventsourcing::store::{head_and_hash, verify_log};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::cli::{BackupArgs, RestoreArgs};

/// Every service's database, in the order they are copied.
const SERVICES: [&str; 5] = [
    "assignment",
    "progress",
    "escalation",
    "discipline",
    "reporting",
];

/// Written as `manifest.json` beside the copies.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Bumped if the layout of a backup changes.
    pub format: u32,
    pub created_at: String,
    pub dondoc_version: String,
    pub stores: Vec<Store>,
    /// The documents' files, relative to the backup (`blobs/ab/ab12…`).
    pub files: Vec<CopiedFile>,
}

/// One service's database in the backup.
#[derive(Debug, Serialize, Deserialize)]
pub struct Store {
    pub service: String,
    pub file: String,
    pub sha256: String,
    /// The event log's last position and hash at the copy (none for reporting, which keeps
    /// read models only).
    pub head: Option<(u64, String)>,
    /// What the copy is: a SQLite file, or a `pg_dump` archive (custom format).
    #[serde(default)]
    pub engine: Engine,
}

/// The database engine a store was copied from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    #[default]
    Sqlite,
    Postgres,
}

/// Where each service's PostgreSQL database is: a URL with `{service}` where the database
/// name goes (`postgres://dondoc@127.0.0.1:5432/{service}`), shared by `dondoc up`, `backup`
/// and `restore`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresTemplate(String);

impl PostgresTemplate {
    pub fn parse(template: &str) -> anyhow::Result<Self> {
        if !(template.starts_with("postgres://") || template.starts_with("postgresql://")) {
            bail!("--postgres {template:?} is not a postgres:// URL");
        }
        if !template.contains("{service}") {
            bail!(
                "--postgres {template:?} has no {{service}} where each service's database name \
                 goes, e.g. postgres://dondoc@127.0.0.1:5432/{{service}}"
            );
        }
        Ok(Self(template.to_owned()))
    }

    /// The URL of `service`'s database.
    pub fn url_for(&self, service: &str) -> String {
        self.0.replace("{service}", service)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CopiedFile {
    pub path: String,
    pub sha256: String,
}

fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex::encode(hasher.finalize()))
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Every regular file under `dir`, relative to `base`, in name order.
fn files_under(dir: &Path, base: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    if !dir.exists() {
        return Ok(found);
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path, base)?);
        } else if path.is_file() {
            found.push(path.strip_prefix(base).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(found)
}

fn owner_only_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Copies every store of the data directory into `args.to`, with a manifest.
pub async fn backup(args: &BackupArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let to = &args.to;
    if to.exists()
        && std::fs::read_dir(to)
            .with_context(|| format!("cannot read {}", to.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: a backup goes into a new directory",
            to.display()
        );
    }
    owner_only_dir(to)?;
    let postgres = args
        .postgres
        .as_deref()
        .map(PostgresTemplate::parse)
        .transpose()?;
    let mut stores = Vec::new();
    for service in SERVICES {
        stores.push(match &postgres {
            Some(template) => dump_postgres(service, &template.url_for(service), to).await?,
            None => copy_sqlite(service, &args.data_dir, to).await?,
        });
    }
    // Documents are written once under their hash and never changed: copying them after the
    // databases leaves no row pointing to a missing file.
    let mut files = Vec::new();
    for relative in files_under(&args.data_dir.join("blobs"), &args.data_dir)? {
        let target = to.join(&relative);
        if let Some(parent) = target.parent() {
            owner_only_dir(parent)?;
        }
        std::fs::copy(args.data_dir.join(&relative), &target)
            .with_context(|| format!("cannot copy {}", relative.display()))?;
        files.push(CopiedFile {
            path: relative.display().to_string(),
            sha256: sha256_of(&target)?,
        });
    }
    let manifest = Manifest {
        format: 1,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        dondoc_version: env!("CARGO_PKG_VERSION").to_owned(),
        stores,
        files,
    };
    std::fs::write(
        to.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )
    .with_context(|| format!("cannot write {}", to.join("manifest.json").display()))?;
    for store in &manifest.stores {
        match &store.head {
            Some((position, _)) => writeln!(out, "{}: {position} events", store.service)?,
            None => writeln!(out, "{}: read models", store.service)?,
        }
    }
    writeln!(
        out,
        "{} documents; backup written to {}",
        manifest.files.len(),
        to.display()
    )?;
    Ok(())
}

/// An online, consistent snapshot of `service`'s SQLite file, even while the service writes.
async fn copy_sqlite(service: &str, data_dir: &Path, to: &Path) -> anyhow::Result<Store> {
    let source = data_dir.join(format!("{service}.db"));
    if !source.exists() {
        bail!(
            "no {service} database at {}: is {} a dondoc data directory (or are the services \
             on PostgreSQL: --postgres)?",
            source.display(),
            data_dir.display()
        );
    }
    let db = Database::open(&sqlite_url(&source), OpenMode::MustExist)
        .await
        .with_context(|| format!("cannot open {}", source.display()))?;
    let head = head_and_hash(&db).await.ok();
    let copy = to.join(format!("{service}.db"));
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(copy.display().to_string())
        .execute(db.pool())
        .await;
    db.close().await;
    copied.with_context(|| format!("cannot copy the {service} database"))?;
    Ok(Store {
        service: service.to_owned(),
        file: format!("{service}.db"),
        sha256: sha256_of(&copy)?,
        head,
        engine: Engine::Sqlite,
    })
}

/// Runs a PostgreSQL client program (`pg_dump`, `pg_restore`), its error output in the error.
async fn run_pg_program(program: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
    let output = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .with_context(|| {
            format!(
                "cannot run {program}: install PostgreSQL's client programs (postgresql-client)"
            )
        })?;
    if !output.status.success() {
        bail!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// `pg_dump` of `service`'s database into `<to>/<service>.dump`, as of a snapshot in which the
/// log's head is read too: the manifest's head is the dump's, even while the service writes.
async fn dump_postgres(service: &str, url: &str, to: &Path) -> anyhow::Result<Store> {
    use sqlx::Connection as _;
    let mut connection = sqlx::postgres::PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot connect to the {service} database"))?;
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut connection)
        .await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut connection)
        .await
        .context("cannot export a snapshot")?;
    let has_log: bool = sqlx::query_scalar("SELECT to_regclass('log_head') IS NOT NULL")
        .fetch_one(&mut connection)
        .await?;
    let head: Option<(i64, String)> = if has_log {
        sqlx::query_as("SELECT position, hash FROM log_head WHERE id = 1")
            .fetch_optional(&mut connection)
            .await?
    } else {
        None
    };
    let file = format!("{service}.dump");
    let copy = to.join(&file);
    // The snapshot lives as long as the transaction that exported it: pg_dump runs meanwhile.
    let dumped = run_pg_program(
        "pg_dump",
        &[
            "--format=custom".as_ref(),
            format!("--snapshot={snapshot}").as_ref(),
            "--file".as_ref(),
            copy.as_os_str(),
            "--dbname".as_ref(),
            url.as_ref(),
        ],
    )
    .await;
    sqlx::query("COMMIT").execute(&mut connection).await?;
    connection.close().await?;
    dumped.with_context(|| format!("cannot dump the {service} database"))?;
    Ok(Store {
        service: service.to_owned(),
        file,
        sha256: sha256_of(&copy)?,
        head: head.map(|(position, hash)| (u64::try_from(position).unwrap_or(0), hash)),
        engine: Engine::Postgres,
    })
}

/// Puts `store`'s dump back into its database, after dumping what is there into `aside`:
/// `pg_restore --clean` in one transaction, every object owned by the database's owner (the
/// service's role), whoever runs the restore.
async fn restore_postgres(
    store: &Store,
    url: &str,
    from: &Path,
    aside: &Path,
) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let service = &store.service;
    let mut connection = sqlx::postgres::PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot connect to the {service} database"))?;
    let owner: String = sqlx::query_scalar(
        "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = current_database()",
    )
    .fetch_one(&mut connection)
    .await?;
    connection.close().await?;
    let before = aside.join(&store.file);
    run_pg_program(
        "pg_dump",
        &[
            "--format=custom".as_ref(),
            "--file".as_ref(),
            before.as_os_str(),
            "--dbname".as_ref(),
            url.as_ref(),
        ],
    )
    .await
    .with_context(|| format!("cannot keep the {service} database as it is before restoring"))?;
    run_pg_program(
        "pg_restore",
        &[
            "--clean".as_ref(),
            "--if-exists".as_ref(),
            "--no-owner".as_ref(),
            format!("--role={owner}").as_ref(),
            "--single-transaction".as_ref(),
            "--exit-on-error".as_ref(),
            "--dbname".as_ref(),
            url.as_ref(),
            from.join(&store.file).as_os_str(),
        ],
    )
    .await
    .with_context(|| format!("cannot restore the {service} database"))
}

/// Deletes the event streams of the restored logs on an external NATS server (with their
/// consumers): the relays create them again and publish each log from its start.
async fn delete_event_streams(args: &RestoreArgs, stores: &[Store]) -> anyhow::Result<()> {
    let Some(url) = &args.nats_url else {
        return Ok(());
    };
    let credentials = match (&args.nats_user, &args.nats_password_file) {
        (Some(user), Some(file)) => Some(dondoc_runtime::lifecycle::NatsCredentials::new(
            user.clone(),
            dondoc_runtime::service::read_secret("--nats-password-file", file)?,
        )),
        _ => None,
    };
    let client =
        dondoc_runtime::lifecycle::connect_nats_with(url, "dondoc-restore", credentials.as_ref())
            .await
            .with_context(|| format!("cannot connect to NATS at {url}"))?;
    let js = async_nats::jetstream::new(client);
    for store in stores.iter().filter(|store| store.head.is_some()) {
        let stream = RelayConfig::for_service(&store.service).stream_name;
        match js.delete_stream(&stream).await {
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    async_nats::jetstream::context::DeleteStreamErrorKind::JetStream(ref e)
                        if e.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND
                ) => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot delete the stream {stream}"));
            }
        }
    }
    Ok(())
}

/// Holds the data directory for the life of a `dondoc up`, so that `dondoc restore` cannot
/// pull the stores from under running services.
pub fn lock_data_dir(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = data_dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{} is in use by a running `dondoc up`; stop it first",
            data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Moves `path` into `aside` if it exists.
fn set_aside(path: &Path, aside: &Path) -> anyhow::Result<()> {
    if path.exists() {
        let name = path.file_name().context("a path with a file name")?;
        std::fs::rename(path, aside.join(name))
            .with_context(|| format!("cannot move {} aside", path.display()))?;
    }
    Ok(())
}

/// Puts a backup back into the data directory; see the module docs for the order.
pub async fn restore(args: &RestoreArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let data_dir = &args.data_dir;
    // Compose keeps no data directory: one is made to hold what the restore replaces.
    owner_only_dir(data_dir)?;
    let _lock = lock_data_dir(data_dir)?;
    let postgres = args
        .postgres
        .as_deref()
        .map(PostgresTemplate::parse)
        .transpose()?;
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(args.from.join("manifest.json"))
            .with_context(|| format!("no manifest.json in {}", args.from.display()))?,
    )
    .context("manifest.json is not a dondoc backup manifest")?;
    if manifest.format != 1 {
        bail!(
            "backup format {} is not one this dondoc reads",
            manifest.format
        );
    }
    for store in &manifest.stores {
        match (store.engine, &postgres) {
            (Engine::Postgres, None) => bail!(
                "{} is a backup of PostgreSQL databases: give --postgres URL_TEMPLATE",
                args.from.display()
            ),
            (Engine::Sqlite, Some(_)) => bail!(
                "{} is a backup of SQLite files: --postgres is for PostgreSQL backups",
                args.from.display()
            ),
            _ => {}
        }
    }
    // Nothing is touched until every copy is known intact.
    let copies = manifest
        .stores
        .iter()
        .map(|store| (store.file.as_str(), store.sha256.as_str()))
        .chain(
            manifest
                .files
                .iter()
                .map(|f| (f.path.as_str(), f.sha256.as_str())),
        );
    for (relative, expected) in copies {
        if relative.contains("..") {
            bail!("manifest names a path outside the backup: {relative}");
        }
        let actual = sha256_of(&args.from.join(relative))?;
        if actual != expected {
            bail!("{relative} in the backup does not match its SHA-256 in the manifest");
        }
    }

    let aside = data_dir.join(format!(
        "before-restore-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    ));
    owner_only_dir(&aside)?;
    for store in &manifest.stores {
        if let Some(template) = &postgres {
            restore_postgres(store, &template.url_for(&store.service), &args.from, &aside).await?;
            continue;
        }
        for suffix in ["", "-wal", "-shm"] {
            set_aside(&data_dir.join(format!("{}{suffix}", store.file)), &aside)?;
        }
        let target = data_dir.join(&store.file);
        std::fs::copy(args.from.join(&store.file), &target)
            .with_context(|| format!("cannot restore {}", store.file))?;
        std::fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    }
    set_aside(&data_dir.join("blobs"), &aside)?;
    for file in &manifest.files {
        let target = data_dir.join(&file.path);
        if let Some(parent) = target.parent() {
            owner_only_dir(parent)?;
        }
        std::fs::copy(args.from.join(&file.path), &target)
            .with_context(|| format!("cannot restore {}", file.path))?;
    }
    // JetStream holds events newer than the restored logs: it starts empty and is filled
    // again from them.
    set_aside(&data_dir.join("nats"), &aside)?;
    delete_event_streams(args, &manifest.stores).await?;

    for store in &manifest.stores {
        let url = match &postgres {
            Some(template) => template.url_for(&store.service),
            None => sqlite_url(&data_dir.join(&store.file)),
        };
        let db = Database::open(&url, OpenMode::MustExist)
            .await
            .with_context(|| format!("cannot open the restored {}", store.file))?;
        let prepared = prepare_restored(&db, store, data_dir, &aside).await;
        db.close().await;
        prepared?;
    }
    writeln!(
        out,
        "restored {} stores and {} documents from {} (created {}); what was there is in {}",
        manifest.stores.len(),
        manifest.files.len(),
        args.from.display(),
        manifest.created_at,
        aside.display()
    )?;
    writeln!(
        out,
        "start `dondoc up`: every log is published again and every read model rebuilt from it"
    )?;
    Ok(())
}

/// Verifies a restored log, rewinds its relay, marks its read models for rebuilding and keeps
/// the anchors that match it.
async fn prepare_restored(
    db: &Database,
    store: &Store,
    data_dir: &Path,
    aside: &Path,
) -> anyhow::Result<()> {
    let service = store.service.as_str();
    if let Some((position, hash)) = &store.head {
        let report = verify_log(db).await?;
        if let Some(problem) = report.first_problem {
            bail!("the restored {service} log does not verify: {problem}");
        }
        let head = head_and_hash(db).await?;
        if head != (*position, hash.clone()) {
            bail!("the restored {service} log is not at the head its manifest records");
        }
        rewind(db, &RelayConfig::for_service(service), 0).await?;
        keep_matching_anchors(db, service, data_dir, aside).await?;
    }
    forget_versions(db)
        .await
        .with_context(|| format!("cannot mark the {service} read models for rebuilding"))?;
    Ok(())
}

/// Anchors made after the backup point vouch for events the restored log no longer has: the
/// file is set aside and only the anchors the restored log matches are written back.
async fn keep_matching_anchors(
    db: &Database,
    service: &str,
    data_dir: &Path,
    aside: &Path,
) -> anyhow::Result<()> {
    let file = data_dir.join("anchors").join(format!("{service}.jsonl"));
    let anchors = anchor::read_file(&file)?;
    if anchors.is_empty() {
        return Ok(());
    }
    let anchors_aside = aside.join("anchors");
    owner_only_dir(&anchors_aside)?;
    set_aside(&file, &anchors_aside)?;
    let (head, _) = head_and_hash(db).await?;
    for kept in anchors {
        let checkpoint = &kept.checkpoint;
        let matches = checkpoint.position <= head
            && dondoc_eventsourcing::store::hash_at(db, checkpoint.position)
                .await?
                .as_deref()
                == Some(checkpoint.hash.as_str());
        if matches {
            anchor::append_to_file(&file, &kept)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_template_names_each_service_database() {
        let template =
            PostgresTemplate::parse("postgres://dondoc@db:5432/{service}?sslmode=verify-full")
                .expect("a template");

        assert_eq!(
            template.url_for("discipline"),
            "postgres://dondoc@db:5432/discipline?sslmode=verify-full"
        );
    }

    #[test]
    fn a_postgres_template_without_a_service_or_not_postgres_is_refused_naming_the_flag() {
        let no_service = PostgresTemplate::parse("postgres://dondoc@db:5432/dondoc")
            .expect_err("no {service}")
            .to_string();
        let not_postgres = PostgresTemplate::parse("sqlite://data/{service}.db")
            .expect_err("not PostgreSQL")
            .to_string();

        assert!(
            no_service.contains("--postgres") && no_service.contains("{service}"),
            "{no_service}"
        );
        assert!(
            not_postgres.contains("--postgres") && not_postgres.contains("postgres://"),
            "{not_postgres}"
        );
    }
}
