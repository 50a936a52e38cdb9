//! `dondoc up`: every service in one process, on SQLite files in one data directory.
//!
//! This is the single-machine mode (a developer laptop, a demo, a small office install): one
//! command, no database server, no secrets to provision, and a NATS server started on demand.
//! The services are wired exactly as their own binaries would wire them (each `Application`
//! binds its own port, opens its own database and talks to the others only through gRPC and
//! JetStream), so what works here works when docker-compose runs one container per service.
//!
//! Configuration is layered: built-in [`DEFAULTS`], then `--config FILE`, then `DONDOC_*`
//! environment variables, then command-line flags, each overriding the previous key by key.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use dondoc_assignment::AssignmentSettings;
use dondoc_discipline::DisciplineSettings;
use dondoc_escalation::{EscalationSettings, SmtpSettings};
use dondoc_progress::ProgressSettings;
use dondoc_reporting::ReportingSettings;
use dondoc_runtime::anchoring::AnchorSettings;
use dondoc_runtime::clock::{ManualClock, SystemClock};
use dondoc_runtime::grpc::TlsSettings;
use dondoc_runtime::nats::NatsServer;
use dondoc_runtime::service::ServiceSettings;
use dondoc_runtime::telemetry::TelemetrySettings;
use serde::Deserialize;
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::UpArgs;
use crate::{keys, token};

/// The built-in configuration of `dondoc up`; a `--config` file only needs the keys it changes.
pub const DEFAULTS: &str = r#"
# Databases, keys, the admin token and the NATS store; relative to the working directory.
data_dir = "./data"
# Loopback by default: the services trust any holder of a token signed by the development key,
# which is fine on one machine but should be a deliberate choice on a network.
bind = "127.0.0.1"
# How long a stop keeps answering after health turned NOT_SERVING (e.g. "5s" behind a load
# balancer); nothing routes around one machine, so none by default.
shutdown_drain = "0s"
# How often each service signs a checkpoint of its event log (a rewrite after the latest one
# cannot be detected, so this is the window); `dondoc anchor` makes one at once.
anchor_interval = "5m"

[assignment]
port = 50051

[reporting]
port = 50052

[progress]
port = 50053

[escalation]
port = 50054
# E-mail notices through an SMTP relay; off unless configured:
# [escalation.smtp]
# host = "smtp.example.gov.vn"
# port = 587
# from = "Văn phòng UBND thành phố <vanphong@example.gov.vn>"
# username = "dondoc"
# password_file = "/run/secrets/smtp-password"
# The escalation policy (reminders, ladder); unset: the shipped one.
# policy_file = "./escalation-policy.toml"

[discipline]
port = 50055

[nats]
# Unset: start the pinned nats-server with its store under <data_dir>/nats.
# url = "nats://127.0.0.1:4222"

[telemetry]
log_filter = "info"
json_logs = false
# otlp_endpoint = "http://127.0.0.1:4317"
"#;

/// The configuration file's shape (defaults, file and environment merged).
#[derive(Debug, Deserialize)]
struct FileConfig {
    data_dir: PathBuf,
    bind: String,
    #[serde(default, with = "humantime_serde")]
    shutdown_drain: std::time::Duration,
    #[serde(default = "default_anchor_interval", with = "humantime_serde")]
    anchor_interval: std::time::Duration,
    assignment: PortConfig,
    reporting: PortConfig,
    #[serde(default = "default_progress_port")]
    progress: PortConfig,
    #[serde(default)]
    escalation: EscalationConfig,
    #[serde(default = "default_discipline_port")]
    discipline: PortConfig,
    #[serde(default)]
    nats: NatsConfig,
    #[serde(default)]
    telemetry: TelemetrySettings,
    /// `[tls] cert_path, key_path`: both servers speak TLS (for a `bind` beyond loopback).
    #[serde(default)]
    tls: Option<TlsSettings>,
}

#[derive(Debug, Deserialize)]
struct PortConfig {
    port: u16,
}

/// `[escalation]`: its port, e-mail and policy.
#[derive(Debug, Deserialize)]
struct EscalationConfig {
    #[serde(default = "default_escalation_port")]
    port: u16,
    #[serde(default)]
    smtp: Option<SmtpSettings>,
    #[serde(default)]
    policy_file: Option<PathBuf>,
}

impl Default for EscalationConfig {
    fn default() -> Self {
        Self {
            port: default_escalation_port(),
            smtp: None,
            policy_file: None,
        }
    }
}

/// For configuration files written before logs were anchored.
fn default_anchor_interval() -> std::time::Duration {
    std::time::Duration::from_secs(5 * 60)
}

/// For configuration files written before the discipline service existed.
fn default_discipline_port() -> PortConfig {
    PortConfig { port: 50055 }
}

/// For configuration files written before the escalation service existed.
fn default_escalation_port() -> u16 {
    50054
}

/// For configuration files written before the progress service existed.
fn default_progress_port() -> PortConfig {
    PortConfig { port: 50053 }
}

#[derive(Debug, Default, Deserialize)]
struct NatsConfig {
    #[serde(default)]
    url: Option<String>,
}

/// The settings of one `dondoc up` run, after every layer has been applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpConfig {
    pub data_dir: PathBuf,
    /// Host or IP address the gRPC servers listen on.
    pub bind: String,
    pub assignment_port: u16,
    pub reporting_port: u16,
    pub progress_port: u16,
    pub escalation_port: u16,
    pub discipline_port: u16,
    /// E-mail for the escalation service's notices.
    pub smtp: Option<SmtpSettings>,
    pub escalation_policy: Option<PathBuf>,
    /// An external NATS server; `None` starts the pinned one.
    pub nats_url: Option<String>,
    /// `--postgres`: the services' databases on PostgreSQL (`{service}` in the URL), instead
    /// of SQLite files in the data directory.
    pub postgres: Option<crate::backup::PostgresTemplate>,
    pub telemetry: TelemetrySettings,
    /// Serve both services over TLS with this certificate.
    pub tls: Option<TlsSettings>,
    /// How long each service keeps answering after it turned NOT_SERVING on a stop.
    pub shutdown_drain: std::time::Duration,
    /// How often each service anchors its event log.
    pub anchor_interval: std::time::Duration,
    /// `--demo`: how many tasks to play, and whether to stop once the reports are written.
    pub demo: Option<Demo>,
}

/// What `--demo` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Demo {
    pub tasks: usize,
    pub exit: bool,
}

impl UpConfig {
    /// Loads the configuration layers and applies the command-line flags on top.
    pub fn load(args: &UpArgs) -> anyhow::Result<Self> {
        let file: FileConfig = dondoc_runtime::config::load(args.config.as_deref(), DEFAULTS)
            .context("cannot load the dondoc configuration")?;
        Self::from_layers(file, args)
    }

    fn from_layers(file: FileConfig, args: &UpArgs) -> anyhow::Result<Self> {
        // An empty URL (say `DONDOC_NATS__URL=` in a compose file) means "not set", like absence.
        let nats_url = args
            .nats_url
            .clone()
            .or(file.nats.url)
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty());
        let postgres = args
            .postgres
            .as_deref()
            .map(crate::backup::PostgresTemplate::parse)
            .transpose()?;
        Ok(Self {
            data_dir: args.data_dir.clone().unwrap_or(file.data_dir),
            bind: file.bind,
            assignment_port: args.assignment_port.unwrap_or(file.assignment.port),
            reporting_port: args.reporting_port.unwrap_or(file.reporting.port),
            progress_port: args.progress_port.unwrap_or(file.progress.port),
            escalation_port: args.escalation_port.unwrap_or(file.escalation.port),
            discipline_port: args.discipline_port.unwrap_or(file.discipline.port),
            smtp: file.escalation.smtp,
            escalation_policy: file.escalation.policy_file,
            nats_url,
            postgres,
            telemetry: file.telemetry,
            tls: file.tls,
            shutdown_drain: file.shutdown_drain,
            anchor_interval: file.anchor_interval,
            demo: args.demo.then_some(Demo {
                tasks: args.demo_tasks,
                exit: args.demo_exit,
            }),
        })
    }
}

/// Starts everything, prints how to reach it, and stops everything on Ctrl-C or SIGTERM.
pub async fn run(config: UpConfig, out: &mut impl Write) -> anyhow::Result<()> {
    let data_dir = prepare_data_dir(&config.data_dir)?;
    // Held until this function returns: `dondoc restore` refuses a directory in use.
    let _lock = crate::backup::lock_data_dir(&data_dir)?;
    let keys = keys::load_or_generate(&data_dir)?;
    let verifier = Arc::new(keys.verifier()?);
    let admin_token = keys
        .issuer()?
        .mint(&token::admin(), token::ADMIN_TOKEN_TTL)
        .context("cannot mint the admin token")?;
    let admin_token_path = token::write_admin_token(&data_dir, &admin_token)?;
    // The demo plays its months on a clock of its own; otherwise the services keep real time.
    let demo_clock = config
        .demo
        .map(|_| Arc::new(ManualClock::on_business_date(crate::demo::first_day())));
    let clock: dondoc_runtime::clock::SharedClock = match &demo_clock {
        Some(demo) => demo.clone(),
        None => SystemClock::shared(),
    };

    // Kept alive for the whole run: dropping it kills the server.
    let mut nats = match &config.nats_url {
        Some(_) => None,
        None => Some(
            NatsServer::start_persistent(&data_dir.join("nats"), None)
                .await
                .context("cannot start nats-server")?,
        ),
    };
    let nats_url = match (&config.nats_url, &nats) {
        (Some(url), _) => url.clone(),
        (None, Some(server)) => server.url(),
        (None, None) => bail!("no NATS server: neither a URL nor a started server"),
    };

    // Each log is anchored (signed checkpoints, `dondoc verify` checks them) with a key kept
    // outside the databases, into <data>/anchors/<service>.jsonl and the DONDOC_ANCHORS stream.
    let anchor_key = keys::anchor_key_or_generate(&data_dir)?;
    // Every service on its own owner-only SQLite file beside the others, on the same NATS.
    let service_settings = |name: &str, port: u16| -> anyhow::Result<ServiceSettings> {
        Ok(ServiceSettings {
            database_url: match &config.postgres {
                Some(template) => template.url_for(name),
                None => owner_only_sqlite(&data_dir, &format!("{name}.db"))?,
            },
            nats_url: nats_url.clone(),
            listen: listen_address(&config.bind, port),
            tls: config.tls.clone(),
            database: Default::default(),
            stream: Default::default(),
            shutdown_drain: config.shutdown_drain,
            anchor: Some(AnchorSettings {
                key_path: anchor_key.clone(),
                file: Some(data_dir.join("anchors").join(format!("{name}.jsonl"))),
                interval: config.anchor_interval,
            }),
            // One machine, loopback, a private data directory: no passwords to keep.
            database_password_file: None,
            nats_user: None,
            nats_password_file: None,
            nats_ca_path: None,
        })
    };
    let assignment = dondoc_assignment::Application::build(
        &AssignmentSettings::from(service_settings("assignment", config.assignment_port)?),
        verifier.clone(),
        clock.clone(),
    )
    .await
    .context("cannot start the assignment service")?;
    let mut progress_settings =
        ProgressSettings::from(service_settings("progress", config.progress_port)?);
    // Documents as files beside the databases, content-addressed (`blobs/ab/ab12…`).
    progress_settings.blob_dir = Some(data_dir.join("blobs"));
    let progress = match dondoc_progress::Application::build(
        &progress_settings,
        verifier.clone(),
        clock.clone(),
    )
    .await
    {
        Ok(progress) => progress,
        Err(error) => {
            assignment.stop().await;
            return Err(error.context("cannot start the progress service"));
        }
    };
    let mut reporting_settings =
        ReportingSettings::from(service_settings("reporting", config.reporting_port)?);
    // Issued reports are numbered by the progress service's outgoing register, reached on
    // loopback in plaintext (with TLS the services are configured one by one, as in compose).
    if config.tls.is_none() {
        reporting_settings.progress_url = Some(format!(
            "http://{}:{}",
            display_host(&config.bind),
            progress.port()
        ));
    }
    let reporting =
        match ReportingThread::start(reporting_settings, verifier.clone(), clock.clone()).await {
            Ok(reporting) => reporting,
            Err(error) => {
                tokio::join!(assignment.stop(), progress.stop());
                return Err(error.context("cannot start the reporting service"));
            }
        };
    let mut escalation_settings =
        EscalationSettings::from(service_settings("escalation", config.escalation_port)?);
    escalation_settings.smtp = config.smtp.clone();
    escalation_settings.policy_file = config.escalation_policy.clone();
    let escalation = match dondoc_escalation::Application::build(
        &escalation_settings,
        verifier.clone(),
        clock.clone(),
    )
    .await
    {
        Ok(escalation) => escalation,
        Err(error) => {
            tokio::join!(assignment.stop(), reporting.stop(), progress.stop());
            return Err(error.context("cannot start the escalation service"));
        }
    };
    let mut discipline_settings =
        DisciplineSettings::from(service_settings("discipline", config.discipline_port)?);
    if config.demo.is_some() {
        // The demo's clock leaps days in a second: drafts opened by a timer would be dated
        // wherever it stood, so the demo's one case is proposed by the Office on a set day.
        discipline_settings.draft_interval = std::time::Duration::from_secs(24 * 3600);
    }
    let discipline =
        match dondoc_discipline::Application::build(&discipline_settings, verifier, clock.clone())
            .await
        {
            Ok(discipline) => discipline,
            Err(error) => {
                tokio::join!(
                    assignment.stop(),
                    reporting.stop(),
                    progress.stop(),
                    escalation.stop()
                );
                return Err(error.context("cannot start the discipline service"));
            }
        };

    // Installed only now so that Ctrl-C during a slow start (installing nats-server, recovering
    // a large store) still aborts at once instead of waiting for startup to finish.
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;

    let host = display_host(&config.bind);
    if let (Some(demo), Some(clock)) = (config.demo, &demo_clock) {
        let endpoint = |port: u16| format!("http://{host}:{port}");
        let played = crate::demo::run(
            &crate::demo::plan(demo.tasks),
            clock,
            keys.issuer()?,
            crate::demo::Endpoints {
                assignment: endpoint(assignment.port()),
                discipline: endpoint(discipline.port()),
                progress: endpoint(progress.port()),
                escalation: endpoint(escalation.port()),
                reporting: endpoint(reporting.port()),
            },
            &data_dir.join("reports"),
        )
        .await;
        let failed = match played {
            Ok(summary) => {
                writeln!(
                    out,
                    "Demo: {} tasks, {} steps; the November 2026 report:",
                    summary.tasks, summary.steps
                )?;
                for path in &summary.reports {
                    writeln!(out, "  {}", path.display())?;
                }
                None
            }
            Err(error) => Some(error.context("the demo failed")),
        };
        if demo.exit || failed.is_some() {
            tokio::join!(
                assignment.stop(),
                reporting.stop(),
                progress.stop(),
                escalation.stop(),
                discipline.stop()
            );
            if let Some(server) = nats.as_mut() {
                server.stop().await;
            }
            return failed.map_or(Ok(()), Err);
        }
    }
    write_banner(
        out,
        &Banner {
            assignment: format!("{host}:{}", assignment.port()),
            reporting: format!("{host}:{}", reporting.port()),
            progress: format!("{host}:{}", progress.port()),
            escalation: format!("{host}:{}", escalation.port()),
            discipline: format!("{host}:{}", discipline.port()),
            nats_url: &nats_url,
            data_dir: &data_dir,
            admin_token: &admin_token,
            admin_token_path: &admin_token_path,
            tls_cert: config.tls.as_ref().map(|tls| tls.cert_path.as_path()),
        },
    )?;
    tracing::info!(
        assignment_port = assignment.port(),
        reporting_port = reporting.port(),
        progress_port = progress.port(),
        escalation_port = escalation.port(),
        discipline_port = discipline.port(),
        nats = %nats_url,
        data_dir = %data_dir.display(),
        "dondoc is up"
    );

    // The admin token lives an hour; a fresh one replaces it in the file every half hour, so
    // the client commands on this machine keep working and a leaked copy soon stops.
    let refresher = {
        let issuer = keys.issuer()?;
        let data_dir = data_dir.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(token::ADMIN_TOKEN_REFRESH);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let renewed = issuer
                    .mint(&token::admin(), token::ADMIN_TOKEN_TTL)
                    .map_err(anyhow::Error::from)
                    .and_then(|token| token::write_admin_token(&data_dir, &token));
                if let Err(error) = renewed {
                    tracing::error!(error = %error, "cannot renew the admin token");
                }
            }
        })
    };
    tokio::select! {
        _ = interrupt.recv() => tracing::info!("interrupted; stopping"),
        _ = terminate.recv() => tracing::info!("terminated; stopping"),
    }
    refresher.abort();
    // The services first, so the relay's last round can still reach NATS; NATS last. A second
    // signal abandons the graceful stop: an operator pressing Ctrl-C twice wants out now, and
    // the event log loses nothing (commits are durable; the outbox is relayed on the next run).
    let graceful = async {
        tokio::join!(
            assignment.stop(),
            reporting.stop(),
            progress.stop(),
            escalation.stop(),
            discipline.stop()
        );
    };
    tokio::select! {
        () = graceful => {}
        _ = interrupt.recv() => tracing::warn!("interrupted again; exiting without a graceful stop"),
        _ = terminate.recv() => tracing::warn!("terminated again; exiting without a graceful stop"),
    }
    if let Some(server) = nats.as_mut() {
        server.stop().await;
    }
    tracing::info!("dondoc stopped");
    Ok(())
}

/// Creates the data directory, owner-only (0700: it holds officials' personal data, the
/// private key and the admin token), and returns its absolute form, so the SQLite URLs and
/// printed paths stay valid whatever the working directory of a later command.
fn prepare_data_dir(data_dir: &Path) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot make {} owner-only", data_dir.display()))?;
    std::fs::canonicalize(data_dir)
        .with_context(|| format!("cannot resolve data directory {}", data_dir.display()))
}

/// The URL of a service's SQLite file in the data directory, the file created (or made)
/// owner-only (0600) before the service opens it: SQLite gives its -wal and -shm files the
/// permissions of the database file.
fn owner_only_sqlite(data_dir: &Path, name: &str) -> anyhow::Result<String> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let path = data_dir.join(name);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    for file in [
        path.clone(),
        data_dir.join(format!("{name}-wal")),
        data_dir.join(format!("{name}-shm")),
    ] {
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot make {} owner-only", file.display()))?;
        }
    }
    sqlite_url(&path)
}

/// `sqlite://<absolute path>`. Characters that a URL parser would read as query or fragment are
/// refused rather than escaped, because the database layer appends its own `?mode=rwc`.
fn sqlite_url(path: &Path) -> anyhow::Result<String> {
    let text = path
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8", path.display()))?;
    if text.contains(['?', '#']) {
        bail!("the data directory path {text} must not contain '?' or '#'");
    }
    Ok(format!("sqlite://{text}"))
}

/// `host:port`, bracketing IPv6 addresses as `TcpListener::bind` requires.
fn listen_address(bind: &str, port: u16) -> String {
    match bind.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port).to_string(),
        Err(_) => format!("{bind}:{port}"),
    }
}

/// Where a client on this machine reaches a server bound to `bind`: a wildcard address is not
/// something to connect to, loopback is.
fn display_host(bind: &str) -> String {
    match bind.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() => "127.0.0.1".to_owned(),
        Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
        _ => bind.to_owned(),
    }
}

struct Banner<'a> {
    assignment: String,
    reporting: String,
    progress: String,
    escalation: String,
    discipline: String,
    nats_url: &'a str,
    data_dir: &'a Path,
    admin_token: &'a str,
    admin_token_path: &'a Path,
    /// The certificate the servers present, when they speak TLS.
    tls_cert: Option<&'a Path>,
}

fn write_banner(out: &mut impl Write, banner: &Banner<'_>) -> anyhow::Result<()> {
    let ttl_minutes = token::ADMIN_TOKEN_TTL.as_secs() / 60;
    let refresh_minutes = token::ADMIN_TOKEN_REFRESH.as_secs() / 60;
    writeln!(out, "dondoc is up (all services in this process)")?;
    writeln!(out, "  assignment gRPC  {}", banner.assignment)?;
    writeln!(out, "  reporting gRPC   {}", banner.reporting)?;
    writeln!(out, "  progress gRPC    {}", banner.progress)?;
    writeln!(out, "  escalation gRPC  {}", banner.escalation)?;
    writeln!(out, "  discipline gRPC  {}", banner.discipline)?;
    writeln!(out, "  NATS             {}", banner.nats_url)?;
    writeln!(out, "  data directory   {}", banner.data_dir.display())?;
    writeln!(
        out,
        "  admin token      (valid {ttl_minutes} min; a fresh one every {refresh_minutes} min in {})",
        banner.admin_token_path.display()
    )?;
    writeln!(out, "{}", banner.admin_token)?;
    writeln!(out)?;
    writeln!(out, "Try:")?;
    let transport = match banner.tls_cert {
        Some(cert) => format!("-cacert '{}'", cert.display()),
        None => "-plaintext".to_owned(),
    };
    writeln!(
        out,
        "  grpcurl {transport} -H \"authorization: Bearer $(cat '{}')\" -d '{{}}' {} \
         dondoc.v1.AssignmentService/ListUnits",
        banner.admin_token_path.display(),
        banner.assignment
    )?;
    writeln!(out)?;
    writeln!(out, "Press Ctrl-C to stop.")?;
    out.flush()?;
    Ok(())
}

/// The reporting service on a runtime and thread of its own.
///
/// In one process, every task of both services shares one scheduler, which is fair per task:
/// under a flood of commands the reporting consumer — one task — got one turn in thirty-odd
/// and fell ever further behind the board's writers. On a thread of its own it gets its share
/// of the CPU from the operating system instead, as it does when it runs as its own process.
struct ReportingThread {
    port: u16,
    stop: tokio::sync::oneshot::Sender<()>,
    stopped: tokio::sync::oneshot::Receiver<()>,
}

impl ReportingThread {
    async fn start(
        settings: ReportingSettings,
        verifier: Arc<dondoc_runtime::auth::TokenVerifier>,
        clock: dondoc_runtime::clock::SharedClock,
    ) -> anyhow::Result<Self> {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<anyhow::Result<u16>>();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (stopped_tx, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("reporting")
            .enable_all()
            .build()
            .context("cannot start the reporting runtime")?;
        std::thread::Builder::new()
            .name("reporting".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let app = match dondoc_reporting::Application::build(&settings, verifier, clock)
                        .await
                    {
                        Ok(app) => app,
                        Err(error) => {
                            let _ = started_tx.send(Err(error));
                            return;
                        }
                    };
                    let _ = started_tx.send(Ok(app.port()));
                    // Dropped sender (the process is going down) stops it too.
                    let _ = stop_rx.await;
                    app.stop().await;
                    let _ = stopped_tx.send(());
                });
            })
            .context("cannot start the reporting thread")?;
        let port = started_rx
            .await
            .context("the reporting thread ended during start-up")??;
        Ok(Self {
            port,
            stop,
            stopped,
        })
    }

    fn port(&self) -> u16 {
        self.port
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.stopped.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_flags() -> UpArgs {
        UpArgs {
            config: None,
            data_dir: None,
            assignment_port: None,
            reporting_port: None,
            progress_port: None,
            escalation_port: None,
            discipline_port: None,
            nats_url: None,
            postgres: None,
            demo: false,
            demo_tasks: 300,
            demo_exit: false,
        }
    }

    fn file_config() -> FileConfig {
        FileConfig {
            data_dir: PathBuf::from("/from/file"),
            bind: "127.0.0.1".to_owned(),
            shutdown_drain: std::time::Duration::from_secs(7),
            anchor_interval: std::time::Duration::from_secs(300),
            assignment: PortConfig { port: 1 },
            reporting: PortConfig { port: 2 },
            progress: PortConfig { port: 3 },
            escalation: EscalationConfig {
                port: 4,
                smtp: None,
                policy_file: None,
            },
            discipline: PortConfig { port: 5 },
            nats: NatsConfig {
                url: Some("nats://file:4222".to_owned()),
            },
            telemetry: TelemetrySettings::default(),
            tls: None,
        }
    }

    #[test]
    fn built_in_defaults_load() {
        let file: FileConfig =
            dondoc_runtime::config::load(None, DEFAULTS).expect("defaults deserialise");

        let config = UpConfig::from_layers(file, &no_flags()).expect("valid layers");

        assert_eq!(config.assignment_port, 50051);
        assert_eq!(config.reporting_port, 50052);
        assert_eq!(config.progress_port, 50053);
        assert_eq!(config.escalation_port, 50054);
        assert_eq!(config.discipline_port, 50055);
        assert!(config.smtp.is_none(), "e-mail is off unless configured");
        assert_eq!(config.telemetry.log_filter, "info");
        assert!(
            config.shutdown_drain.is_zero(),
            "nothing routes around one machine"
        );
    }

    #[test]
    fn without_flags_the_configuration_stands() {
        let config = UpConfig::from_layers(file_config(), &no_flags()).expect("valid layers");

        assert_eq!(config.data_dir, PathBuf::from("/from/file"));
        assert_eq!(config.shutdown_drain, std::time::Duration::from_secs(7));
        assert_eq!(config.assignment_port, 1);
        assert_eq!(config.reporting_port, 2);
        assert_eq!(config.nats_url.as_deref(), Some("nats://file:4222"));
    }

    #[test]
    fn flags_override_the_configuration() {
        let args = UpArgs {
            config: None,
            data_dir: Some(PathBuf::from("/from/flag")),
            assignment_port: Some(10),
            reporting_port: Some(0),
            progress_port: Some(0),
            escalation_port: Some(0),
            discipline_port: Some(0),
            nats_url: Some("nats://flag:4222".to_owned()),
            postgres: Some("postgres://dondoc@db:5432/dondoc_{service}".to_owned()),
            demo: true,
            demo_tasks: 50,
            demo_exit: false,
        };

        let config = UpConfig::from_layers(file_config(), &args).expect("valid layers");

        assert_eq!(
            config
                .postgres
                .as_ref()
                .map(|template| template.url_for("progress")),
            Some("postgres://dondoc@db:5432/dondoc_progress".to_owned())
        );
        assert_eq!(
            config.demo,
            Some(Demo {
                tasks: 50,
                exit: false
            })
        );
        assert_eq!(config.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(config.assignment_port, 10);
        assert_eq!(config.reporting_port, 0);
        assert_eq!(config.nats_url.as_deref(), Some("nats://flag:4222"));
    }

    #[test]
    fn an_empty_nats_url_means_start_our_own() {
        let mut file = file_config();
        file.nats.url = Some("  ".to_owned());

        let config = UpConfig::from_layers(file, &no_flags()).expect("valid layers");

        assert_eq!(config.nats_url, None);
    }

    #[test]
    fn sqlite_urls_use_the_absolute_path() {
        assert_eq!(
            sqlite_url(Path::new("/srv/dondoc/assignment.db")).expect("url"),
            "sqlite:///srv/dondoc/assignment.db"
        );
        assert!(sqlite_url(Path::new("/srv/what?/a.db")).is_err());
    }

    #[test]
    fn listen_and_display_addresses_handle_ipv4_ipv6_and_names() {
        assert_eq!(listen_address("127.0.0.1", 50051), "127.0.0.1:50051");
        assert_eq!(listen_address("::1", 50051), "[::1]:50051");
        assert_eq!(listen_address("localhost", 1), "localhost:1");
        assert_eq!(display_host("0.0.0.0"), "127.0.0.1");
        assert_eq!(display_host("::1"), "[::1]");
        assert_eq!(display_host("localhost"), "localhost");
    }

    #[test]
    fn prepare_data_dir_creates_and_absolutises() {
        let dir = tempfile::tempdir().expect("tempdir");
        let nested = dir.path().join("a").join("..").join("data");

        let prepared = prepare_data_dir(&nested).expect("prepares");

        assert!(prepared.is_absolute());
        assert!(prepared.is_dir());
        assert!(!prepared.to_string_lossy().contains(".."));
    }

    #[test]
    fn banner_shows_endpoints_token_and_a_grpcurl_line() {
        let mut out = Vec::new();

        write_banner(
            &mut out,
            &Banner {
                assignment: "127.0.0.1:50051".to_owned(),
                reporting: "127.0.0.1:50052".to_owned(),
                progress: "127.0.0.1:50053".to_owned(),
                escalation: "127.0.0.1:50054".to_owned(),
                discipline: "127.0.0.1:50055".to_owned(),
                nats_url: "nats://127.0.0.1:4222",
                data_dir: Path::new("/srv/data"),
                admin_token: "tok.en.value",
                admin_token_path: Path::new("/srv/data/admin.token"),
                tls_cert: None,
            },
        )
        .expect("writes");

        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("assignment gRPC  127.0.0.1:50051"), "{text}");
        assert!(text.contains("reporting gRPC   127.0.0.1:50052"), "{text}");
        assert!(text.contains("nats://127.0.0.1:4222"), "{text}");
        assert!(text.contains("/srv/data\n"), "{text}");
        assert!(text.contains("\ntok.en.value\n"), "{text}");
        assert!(
            text.contains(
                "grpcurl -plaintext -H \"authorization: Bearer $(cat '/srv/data/admin.token')\""
            ),
            "{text}"
        );
    }
}

#[cfg(test)]
mod demo_tests {
    use super::*;

    /// A small demo, start to finish: the services on ephemeral ports, the scenario played on
    /// the demo clock, and the November report written in every format.
    #[tokio::test]
    async fn the_demo_plays_its_months_and_writes_the_november_report_in_every_format() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = UpConfig {
            data_dir: dir.path().join("data"),
            bind: "127.0.0.1".into(),
            assignment_port: 0,
            reporting_port: 0,
            progress_port: 0,
            escalation_port: 0,
            discipline_port: 0,
            smtp: None,
            escalation_policy: None,
            nats_url: None,
            postgres: None,
            telemetry: TelemetrySettings::default(),
            tls: None,
            shutdown_drain: std::time::Duration::ZERO,
            anchor_interval: std::time::Duration::from_secs(300),
            demo: Some(Demo {
                tasks: 40,
                exit: true,
            }),
        };
        let plan = crate::demo::plan(40);
        let mut out = Vec::new();

        run(config, &mut out).await.expect("the demo runs");

        let reports = dir.path().join("data").join("reports");
        let file = |ext: &str| reports.join(format!("bao-cao-thang-11-nam-2026.{ext}"));
        for ext in ["html", "xlsx", "csv", "json", "md"] {
            assert!(file(ext).is_file(), "{ext} written");
        }
        if dondoc_reporting::render::html::chromium().is_some() {
            let pdf = std::fs::read(file("pdf")).expect("the PDF");
            assert!(pdf.starts_with(b"%PDF"));
        }
        // Every task the plan assigns in November's window (15/10 → 14/11) is counted, and
        // nothing else.
        let from = chrono::NaiveDate::from_ymd_opt(2026, 10, 15).expect("date");
        let in_window = plan.tasks.iter().filter(|t| t.assigned_on >= from).count();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(file("json")).expect("json")).expect("parses");
        assert_eq!(
            json["all"]["period"]["assigned"].as_u64(),
            Some(in_window as u64)
        );
        let html = std::fs::read_to_string(file("html")).expect("html");
        assert!(html.contains("Độc lập - Tự do - Hạnh phúc"));
        let printed = String::from_utf8(out).expect("utf-8");
        assert!(printed.contains("Demo: 40 tasks"), "{printed}");
    }
}
