//! Starting the system under test the two ways it is deployed, as separate processes so that
//! their CPU and memory are theirs alone:
//!
//! - **embedded**: `dondoc up` (both services in one process on SQLite, its own nats-server);
//! - **split**: `dondoc-assignment` and `dondoc-reporting`, one process each, on PostgreSQL
//!   databases the bench creates (and drops afterwards), with a nats-server of the bench's own
//!   — the shape docker-compose runs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use dondoc_eventsourcing::Database;
use dondoc_eventsourcing::nats_server::{NatsServer, cluster_url};
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::assignment_service_client::AssignmentServiceClient;
use dondoc_proto::v1::diagnostics_service_client::DiagnosticsServiceClient;
use dondoc_proto::v1::reporting_service_client::ReportingServiceClient;
use dondoc_runtime::auth::{BearerToken, Principal, Role};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::keys;

pub type Assignment = AssignmentServiceClient<InterceptedService<Channel, BearerToken>>;
pub type Reporting = ReportingServiceClient<InterceptedService<Channel, BearerToken>>;
pub type Diagnostics = DiagnosticsServiceClient<InterceptedService<Channel, BearerToken>>;

/// The unit and leader directories every setup starts with.
const SEED_UNITS: &str = include_str!("../../../assignment/seed/haiphong-units.toml");
const SEED_LEADERS: &str = include_str!("../../../assignment/seed/haiphong-leaders.toml");

/// How long a service may take to report SERVING.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How a PostgreSQL setup runs its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One process per service and one nats-server, as docker-compose runs them.
    Split,
    /// Two processes per service and a three-server NATS cluster with R3 streams, as the Helm
    /// chart runs them (on one machine here).
    Cluster,
}

impl Layout {
    fn directory(self) -> &'static str {
        match self {
            Layout::Split => "split",
            Layout::Cluster => "cluster",
        }
    }

    fn replicas(self) -> usize {
        match self {
            Layout::Split => 1,
            Layout::Cluster => 2,
        }
    }

    fn description(self) -> &'static str {
        match self {
            Layout::Split => "split: PostgreSQL + NATS, one process per service",
            Layout::Cluster => {
                "cluster: PostgreSQL + 3-server NATS cluster (R3), two processes per service"
            }
        }
    }

    fn process_name(self, service: &str, replica: usize) -> &'static str {
        match (self, service, replica) {
            (Layout::Split, "assignment", _) => "assignment",
            (Layout::Split, _, _) => "reporting",
            (Layout::Cluster, "assignment", 0) => "assignment #1",
            (Layout::Cluster, "assignment", _) => "assignment #2",
            (Layout::Cluster, _, 0) => "reporting #1",
            (Layout::Cluster, _, _) => "reporting #2",
        }
    }
}

/// A running setup.
pub struct System {
    /// How it is deployed, for the report.
    pub name: &'static str,
    /// Its database engine, for the raw baseline's label.
    pub engine: &'static str,
    pub assignment: String,
    pub reporting: String,
    /// The NATS server (or cluster) its relay publishes to (the raw JetStream baseline uses it
    /// too).
    pub nats_url: String,
    /// Copies of each stream (3 on the cluster).
    pub stream_replicas: usize,
    /// A database on the same engine and disk for the raw INSERT baseline.
    pub raw_database_url: String,
    /// The service processes, by name, with the endpoint that answers for each.
    pub processes: Vec<(&'static str, String)>,
    office: String,
    admin: String,
    children: Vec<Child>,
    nats: Vec<NatsServer>,
    dropped_databases: Option<(String, Vec<String>)>,
}

impl System {
    /// `dondoc up` on a fresh data directory under `work`.
    pub async fn embedded(work: &Path) -> anyhow::Result<Self> {
        let data = work.join("embedded");
        std::fs::create_dir_all(&data)?;
        let exe = std::env::current_exe().context("cannot find the dondoc executable")?;
        let mut child = Command::new(exe)
            .args([
                "up",
                "--assignment-port",
                "0",
                "--reporting-port",
                "0",
                "--progress-port",
                "0",
            ])
            .arg("--data-dir")
            .arg(&data)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file(&data, "dondoc-up.log")?)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start `dondoc up`")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let log = data.join("dondoc-up.log");
        let banner = tokio::time::timeout(START_TIMEOUT, async {
            let (mut assignment, mut reporting, mut nats) = (None, None, None);
            while let Some(line) = lines.next_line().await? {
                let field = |prefix: &str| {
                    line.trim()
                        .strip_prefix(prefix)
                        .map(|v| v.trim().to_owned())
                };
                assignment = assignment.or_else(|| field("assignment gRPC"));
                reporting = reporting.or_else(|| field("reporting gRPC"));
                nats = nats.or_else(|| field("NATS"));
                if line.contains("Press Ctrl-C") {
                    return anyhow::Ok((assignment, reporting, nats));
                }
            }
            bail!(
                "`dondoc up` stopped before it was up; see {}",
                log.display()
            )
        })
        .await
        .context("`dondoc up` did not come up in time")??;
        // Keep reading so that `up` never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (Some(assignment), Some(reporting), Some(nats_url)) = banner else {
            bail!("the `dondoc up` banner did not name every endpoint");
        };
        // The banner gives host:port; `dondoc up` on a fresh data directory speaks plaintext.
        let (assignment, reporting) = (
            format!("http://{assignment}"),
            format!("http://{reporting}"),
        );
        let keys = keys::load_or_generate(&data)?;
        let system = Self {
            name: "embedded: `dondoc up`, SQLite, one process",
            engine: "SQLite",
            processes: vec![("dondoc up", assignment.clone())],
            assignment,
            reporting,
            nats_url,
            raw_database_url: format!("sqlite://{}", data.join("raw-baseline.db").display()),
            office: mint(&keys, Role::Office)?,
            admin: mint(&keys, Role::Admin)?,
            stream_replicas: 1,
            children: vec![child],
            nats: Vec::new(),
            dropped_databases: None,
        };
        system.seed().await?;
        Ok(system)
    }

    /// The services on fresh PostgreSQL databases of `server_url`, in processes of their own,
    /// laid out as `layout` says.
    pub async fn on_postgres(
        work: &Path,
        server_url: &str,
        layout: Layout,
    ) -> anyhow::Result<Self> {
        let data = work.join(layout.directory());
        std::fs::create_dir_all(&data)?;
        let binaries = service_binaries()?;
        let keys = keys::load_or_generate(&data)?;
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let names: Vec<String> = ["assignment", "reporting", "raw"]
            .iter()
            .map(|service| format!("dondoc_bench_{suffix}_{service}"))
            .collect();
        let admin_db = Database::connect(server_url)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {server_url}"))?;
        for name in &names {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(admin_db.pool())
                .await
                .with_context(|| format!("cannot create database {name}"))?;
        }
        admin_db.close().await;
        let url_of = |name: &str| database_url(server_url, name);
        let nats = match layout {
            Layout::Split => vec![
                NatsServer::start()
                    .await
                    .context("cannot start nats-server")?,
            ],
            Layout::Cluster => NatsServer::start_cluster(3)
                .await
                .context("cannot start the NATS cluster")?,
        };
        let nats_url = cluster_url(&nats);
        let mut children = Vec::new();
        let mut processes = Vec::new();
        let mut endpoints: [Vec<String>; 2] = Default::default();
        for replica in 0..layout.replicas() {
            for (index, (service, binary)) in
                [("assignment", &binaries.0), ("reporting", &binaries.1)]
                    .into_iter()
                    .enumerate()
            {
                let port = free_port()?;
                let upper = service.to_uppercase();
                let child = Command::new(binary)
                    .current_dir(&data)
                    .env(
                        format!("DONDOC_{upper}__DATABASE_URL"),
                        url_of(&names[index]),
                    )
                    .env(format!("DONDOC_{upper}__NATS_URL"), &nats_url)
                    .env(
                        format!("DONDOC_{upper}__STREAM__REPLICAS"),
                        nats.len().to_string(),
                    )
                    .env(
                        format!("DONDOC_{upper}__LISTEN"),
                        format!("127.0.0.1:{port}"),
                    )
                    .env("DONDOC_AUTH__PUBLIC_KEY_PATH", keys::public_key_path(&data))
                    .env("RUST_LOG", "warn")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log_file(&data, &format!("{service}-{replica}.log"))?)
                    .kill_on_drop(true)
                    .spawn()
                    .with_context(|| format!("cannot start {}", binary.display()))?;
                children.push(child);
                let endpoint = format!("http://127.0.0.1:{port}");
                processes.push((layout.process_name(service, replica), endpoint.clone()));
                endpoints[index].push(endpoint);
            }
        }
        let system = Self {
            name: layout.description(),
            engine: "PostgreSQL",
            // The replicas of a service, listed: clients spread their calls over them.
            assignment: endpoints[0].join(","),
            reporting: endpoints[1].join(","),
            processes,
            stream_replicas: nats.len(),
            nats_url,
            raw_database_url: url_of(&names[2]),
            office: mint(&keys, Role::Office)?,
            admin: mint(&keys, Role::Admin)?,
            children,
            nats,
            dropped_databases: Some((server_url.to_owned(), names)),
        };
        for (_, endpoint) in &system.processes {
            wait_until_serving(endpoint).await?;
        }
        system.seed().await?;
        Ok(system)
    }

    async fn seed(&self) -> anyhow::Result<()> {
        let mut client = self.assignment_client().await?;
        client
            .import_units(pb::ImportUnitsRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                toml: SEED_UNITS.to_owned(),
            })
            .await
            .context("ImportUnits")?;
        client
            .import_leaders(pb::ImportLeadersRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                toml: SEED_LEADERS.to_owned(),
            })
            .await
            .context("ImportLeaders")?;
        Ok(())
    }

    /// An assignment client acting as the Office, on a connection of its own.
    pub async fn assignment_client(&self) -> anyhow::Result<Assignment> {
        Ok(AssignmentServiceClient::with_interceptor(
            connect(&self.assignment).await?,
            BearerToken::new(self.office.clone()),
        ))
    }

    pub async fn reporting_client(&self) -> anyhow::Result<Reporting> {
        Ok(ReportingServiceClient::with_interceptor(
            connect(&self.reporting).await?,
            BearerToken::new(self.office.clone()),
        ))
    }

    pub async fn diagnostics(&self, endpoint: &str) -> anyhow::Result<Diagnostics> {
        Ok(DiagnosticsServiceClient::with_interceptor(
            connect(endpoint).await?,
            BearerToken::new(self.admin.clone()),
        ))
    }

    /// Each process's counters, in the order of [`System::processes`].
    pub async fn stats(&self) -> anyhow::Result<Vec<pb::ProcessStats>> {
        let mut all = Vec::new();
        for (_, endpoint) in &self.processes {
            let stats = self
                .diagnostics(endpoint)
                .await?
                .get_process_stats(pb::GetProcessStatsRequest {})
                .await
                .context("GetProcessStats")?
                .into_inner();
            all.push(stats);
        }
        Ok(all)
    }

    /// Switches SQL statement counting in every process.
    pub async fn count_statements(&self, enabled: bool) -> anyhow::Result<Vec<pb::ProcessStats>> {
        let mut all = Vec::new();
        for (_, endpoint) in &self.processes {
            let stats = self
                .diagnostics(endpoint)
                .await?
                .set_statement_counting(pb::SetStatementCountingRequest { enabled })
                .await
                .context("SetStatementCounting")?
                .into_inner();
            all.push(stats);
        }
        Ok(all)
    }

    /// Stops the processes and removes what the setup created.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        for child in &mut self.children {
            terminate(child).await;
        }
        for nats in &mut self.nats {
            nats.stop().await;
        }
        if let Some((server_url, names)) = self.dropped_databases.take() {
            let admin_db = Database::connect(&server_url).await?;
            for name in names {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(admin_db.pool())
                .await
                .with_context(|| format!("cannot drop database {name}"))?;
            }
            admin_db.close().await;
        }
        Ok(())
    }
}

/// SIGTERM, as an orchestrator stops a service, then a kill if it does not exit in time.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    if tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

fn mint(keys: &keys::DevKeyPair, role: Role) -> anyhow::Result<String> {
    let principal = Principal {
        subject: format!("bench-{}", role.as_str()),
        role,
        unit_code: None,
        leader_id: None,
    };
    Ok(keys
        .issuer()?
        .mint(&principal, Duration::from_secs(6 * 3600))?)
}

fn log_file(dir: &Path, name: &str) -> anyhow::Result<std::fs::File> {
    let path = dir.join(name);
    std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))
}

/// A gRPC channel with `TCP_NODELAY`, as every dondoc client uses.
/// Spread over every replica the endpoint's name resolves to, as the CLI's channels are.
pub async fn connect(endpoint: &str) -> anyhow::Result<Channel> {
    crate::client::spread_channel(endpoint, |target| Ok(target.tcp_nodelay(true)))
        .await
        .with_context(|| format!("cannot connect to {endpoint}"))
}

/// Polls the health of the whole server at `endpoint` until it is SERVING.
pub async fn wait_until_serving(endpoint: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(channel) = connect(endpoint).await {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            if let Ok(answer) = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                && answer.into_inner().status
                    == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{endpoint} did not report SERVING within {START_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A port free now (the child binds it a moment later; good enough for a bench).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `server_url` with its database name replaced by `name`.
pub fn database_url(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority_end = base
        .find("://")
        .map(|scheme| scheme + 3)
        .and_then(|start| base[start..].find('/').map(|slash| start + slash))
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The service binaries beside this executable (`cargo build --release` builds them all).
pub fn service_binaries() -> anyhow::Result<(PathBuf, PathBuf)> {
    let exe = std::env::current_exe().context("cannot find the dondoc executable")?;
    let dir = exe.parent().context("the executable has no directory")?;
    let find = |name: &str| {
        let path = dir.join(name);
        if path.exists() {
            Ok(path)
        } else {
            Err(anyhow::anyhow!(
                "{} is missing; build the service binaries beside dondoc: cargo build --release \
                 -p dondoc -p dondoc-assignment -p dondoc-reporting",
                path.display()
            ))
        }
    };
    Ok((find("dondoc-assignment")?, find("dondoc-reporting")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_name_replaces_the_one_in_the_url() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "bench_a"),
            "postgres://postgres@127.0.0.1:5432/bench_a"
        );
        assert_eq!(
            database_url("postgres://u:p@db:5432?sslmode=disable", "bench_b"),
            "postgres://u:p@db:5432/bench_b?sslmode=disable"
        );
    }
}
