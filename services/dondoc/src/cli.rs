//! The command line: every subcommand, flag and default of `dondoc`, declared with clap derive.
//!
//! Only parsing lives here, so the shape of the CLI can be tested with `try_parse_from` without
//! a server, and the command modules receive typed, already-validated values (dates are
//! `NaiveDate`, enums are closed sets) instead of re-checking strings.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::Role;

use crate::i18n::Lang;
use crate::output::{OutputFormat, Ui};

/// Default address of the assignment service started by `dondoc up`.
pub const DEFAULT_ASSIGNMENT_ENDPOINT: &str = "http://127.0.0.1:50051";
/// Default address of the reporting service started by `dondoc up`.
pub const DEFAULT_REPORTING_ENDPOINT: &str = "http://127.0.0.1:50052";
/// Where `dondoc up` serves the progress service.
pub const DEFAULT_PROGRESS_ENDPOINT: &str = "http://127.0.0.1:50053";
/// Where `dondoc up` serves the escalation service.
pub const DEFAULT_ESCALATION_ENDPOINT: &str = "http://127.0.0.1:50054";
/// Where `dondoc up` serves the discipline service.
pub const DEFAULT_DISCIPLINE_ENDPOINT: &str = "http://127.0.0.1:50055";
/// Default data directory, relative to where the operator runs `dondoc`.
pub const DEFAULT_DATA_DIR: &str = "./data";

/// dondoc: task assignment and follow-up for the Hải Phòng City People's Committee Office.
#[derive(Debug, Parser)]
#[command(name = "dondoc", version, about, propagate_version = true)]
pub struct Cli {
    /// Language of labels, dates and messages: vi (tiếng Việt) or en.
    #[arg(long, global = true, value_enum, env = "DONDOC_LANG", default_value_t = Lang::Vi)]
    pub lang: Lang,
    /// table for people, json for scripts (keys and values do not depend on --lang).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The presentation choices for the client commands.
    pub fn ui(&self) -> Ui {
        Ui {
            lang: self.lang,
            format: self.output,
        }
    }
}

// Parsed once per process: boxing the larger variants would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every service in this process (single machine; development and small installs).
    Up(UpArgs),
    /// Measure the whole system through gRPC beside its baselines, and print a Markdown table.
    Bench(BenchArgs),
    #[command(flatten)]
    Operator(OperatorCommand),
}

/// Commands that talk to running services or to the key material of a data directory.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Mint a bearer token with the development key of a data directory; prints only the token.
    Token(TokenArgs),
    /// The unit directory (đơn vị).
    Units {
        #[command(flatten)]
        connection: AssignmentConnection,
        #[command(subcommand)]
        command: UnitsCommand,
    },
    /// The leader directory (lãnh đạo UBND thành phố).
    Leaders {
        #[command(flatten)]
        connection: AssignmentConnection,
        #[command(subcommand)]
        command: LeadersCommand,
    },
    /// Tasks (nhiệm vụ) assigned by the City People's Committee.
    Task {
        #[command(flatten)]
        connection: AssignmentConnection,
        #[command(subcommand)]
        command: TaskCommand,
    },
    /// Carrying tasks out (thực hiện nhiệm vụ), in the progress service: receipt, progress,
    /// coordination, difficulties and direction, extension requests, results and review.
    Progress {
        #[command(flatten)]
        connection: ProgressConnection,
        #[command(subcommand)]
        command: ProgressCommand,
    },
    /// The work dossier of a task (hồ sơ công việc), from the progress service.
    Dossier {
        #[command(flatten)]
        connection: ProgressConnection,
        #[command(subcommand)]
        command: DossierCommand,
    },
    /// The registers of incoming and outgoing documents (sổ văn bản đến, đi).
    Register {
        #[command(flatten)]
        connection: ProgressConnection,
        #[command(subcommand)]
        command: RegisterCommand,
    },
    /// Deadline watch and the escalation ladder (đôn đốc): evaluate deadlines, show a task's
    /// watch, list escalations, record the leadership's reminders, criticisms, commendations.
    Escalation {
        #[command(flatten)]
        connection: EscalationConnection,
        #[command(subcommand)]
        command: EscalationCommand,
    },
    /// Notices for whoever holds the token: reminders, overdue notices, escalations.
    Notifications {
        #[command(flatten)]
        connection: EscalationConnection,
        #[command(subcommand)]
        command: NotificationsCommand,
    },
    /// Discipline proposals (đề nghị xử lý kỷ luật): open, amend, Home Affairs' opinion,
    /// submit, decide, withdraw, the clocks and the read audit.
    Case {
        #[command(flatten)]
        connection: DisciplineConnection,
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// The periodic report to the City People's Committee (báo cáo định kỳ), as of the
    /// cut-off of a Decree 09/2019 period, in Markdown, CSV or JSON.
    Report(Box<ReportArgs>),
    /// Tasks per lead unit and status, from the reporting service.
    Board(BoardArgs),
    /// Check the hash chain of a service's event log against its signed anchors; names the
    /// first modified, deleted, reordered, truncated or rewritten event and exits 1 if there is
    /// one.
    Verify(VerifyArgs),
    /// Have a running service sign a checkpoint of its event log now (besides the periodic
    /// ones); prints the anchor.
    Anchor(AnchorArgs),
    /// Republish a service's events to NATS from its SQL log (after JetStream lost data); the
    /// running relay picks the rewind up within a second, consumers drop what they have.
    Replay(ReplayArgs),
    /// Have a service rebuild every read model from the events when it next starts.
    Rebuild(LogArgs),
    /// Copy every store of a `dondoc up` data directory (databases online, documents) into a
    /// new directory, with a manifest of SHA-256 hashes.
    Backup(BackupArgs),
    /// Put a backup back, in order: all stores to one point, NATS emptied, relays rewound and
    /// read models marked for rebuilding, logs verified. `dondoc up` must be stopped.
    Restore(RestoreArgs),
    /// Dead letters: events a read model could not apply, set aside with their error (list,
    /// retry after the cause is fixed, or discard with a reason kept for audit).
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Ask a service's gRPC health service; prints the status and exits 0 only on SERVING
    /// (the probe of compose healthchecks and Kubernetes).
    Health(HealthArgs),
}

/// `dondoc backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Data directory of `dondoc up` (its SQLite databases and documents).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// The new (or empty) directory the backup goes into.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// The services' databases are on PostgreSQL: a URL with `{service}` where each database
    /// name goes (e.g. `postgres://dondoc@127.0.0.1:5432/{service}`), dumped with `pg_dump`.
    /// Give the password in PGPASSWORD or ~/.pgpass, not in the URL.
    #[arg(long, value_name = "URL_TEMPLATE")]
    pub postgres: Option<String>,
}

/// `dondoc restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Data directory of `dondoc up` (stopped); what is replaced is kept under it.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// The backup directory (`dondoc backup --to`).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// Restore a PostgreSQL backup into these databases (`{service}` as for `dondoc backup`),
    /// with `pg_restore`. Each database is dumped under the data directory first.
    #[arg(long, value_name = "URL_TEMPLATE")]
    pub postgres: Option<String>,
    /// A NATS server the services use (compose): the services' event streams are deleted
    /// there, to be published again from the restored logs. Without it, the NATS store under
    /// the data directory (`dondoc up`) is set aside.
    #[arg(long, value_name = "URL")]
    pub nats_url: Option<String>,
    /// The NATS user allowed to delete streams (compose: `operator`).
    #[arg(long, value_name = "USER", requires = "nats_password_file")]
    pub nats_user: Option<String>,
    /// A file holding that user's password.
    #[arg(long, value_name = "FILE", requires = "nats_user")]
    pub nats_password_file: Option<PathBuf>,
}

/// `dondoc dlq`.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Every dead letter of the service's read models, oldest first, with its error.
    List {
        #[command(flatten)]
        log: LogArgs,
    },
    /// Have the running service apply a dead letter again, as it was stored (after fixing the
    /// cause, e.g. upgrading the service). Waits for the outcome; exits 1 if it failed again.
    Retry {
        #[command(flatten)]
        log: LogArgs,
        /// The dead letter's event id (from `dondoc dlq list`).
        event_id: String,
        /// Only in this read model (consumer); default: every one holding it.
        #[arg(long, value_name = "NAME")]
        consumer: Option<String>,
        /// How long to wait for the running service to carry the retry out.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        wait: std::time::Duration,
    },
    /// Drop a dead letter for good; the reason is kept in `dead_letter_log`.
    Discard {
        #[command(flatten)]
        log: LogArgs,
        /// The dead letter's event id (from `dondoc dlq list`).
        event_id: String,
        /// Only in this read model (consumer); default: every one holding it.
        #[arg(long, value_name = "NAME")]
        consumer: Option<String>,
        /// Why it is discarded (kept for audit).
        #[arg(long)]
        reason: String,
    },
}

/// `dondoc verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// The service's anchor file [default: DATA_DIR/anchors/SERVICE.jsonl].
    #[arg(long, value_name = "FILE")]
    pub anchors: Option<PathBuf>,
    /// Public key (SPKI PEM) that anchors are checked with; repeat it for keys rotated out
    /// [default: DATA_DIR/keys/anchor-ed25519.pub.pem].
    #[arg(long = "anchor-key", value_name = "FILE")]
    pub anchor_keys: Vec<PathBuf>,
    /// Also check the latest anchor on this NATS server's DONDOC_ANCHORS stream.
    #[arg(long, value_name = "URL")]
    pub nats_url: Option<String>,
}

/// `dondoc anchor`.
#[derive(Debug, Args)]
pub struct AnchorArgs {
    /// The service's gRPC address, e.g. http://127.0.0.1:50051.
    #[arg(long, value_name = "URL")]
    pub addr: String,
    #[command(flatten)]
    pub credentials: Credentials,
}

/// `dondoc health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The service's gRPC address, e.g. http://127.0.0.1:50051.
    #[arg(long, value_name = "URL")]
    pub addr: String,
    /// One part's health entry (e.g. `dondoc.v1.AssignmentService`); the whole server if unset.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// CA certificate (PEM) that signed the server's certificate, for https:// addresses.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// How long to wait for the answer.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

/// Which service's event log, by database.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// The service whose data it is.
    #[arg(long, value_enum, default_value_t = ServiceArg::Assignment)]
    pub service: ServiceArg,
    /// Its database [default: sqlite://DATA_DIR/SERVICE.db].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Data directory of `dondoc up`.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

impl LogArgs {
    /// The database URL, defaulting to the `dondoc up` file of the service.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir
                    .join(format!("{}.db", self.service.as_str()))
                    .display()
            )
        })
    }
}

/// The services whose data operator commands open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServiceArg {
    Assignment,
    Reporting,
    Progress,
    Escalation,
    Discipline,
}

impl ServiceArg {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceArg::Assignment => "assignment",
            ServiceArg::Reporting => "reporting",
            ServiceArg::Progress => "progress",
            ServiceArg::Escalation => "escalation",
            ServiceArg::Discipline => "discipline",
        }
    }
}

impl std::fmt::Display for ServiceArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `dondoc replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// Republish every event after this position (0 = everything).
    #[arg(long, default_value_t = 0)]
    pub from: u64,
}

/// `dondoc up`. Every value is optional here because unset flags fall back to the layered
/// configuration (defaults → `--config` file → `DONDOC_*` environment).
#[derive(Debug, Args)]
pub struct UpArgs {
    /// TOML configuration file layered over the built-in defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where databases, keys, the admin token and the NATS store live [default: ./data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// gRPC port of the assignment service; 0 picks a free port [default: 50051].
    #[arg(long, value_name = "PORT")]
    pub assignment_port: Option<u16>,
    /// gRPC port of the reporting service; 0 picks a free port [default: 50052].
    #[arg(long, value_name = "PORT")]
    pub reporting_port: Option<u16>,
    /// gRPC port of the progress service; 0 picks a free port [default: 50053].
    #[arg(long, value_name = "PORT")]
    pub progress_port: Option<u16>,
    /// gRPC port of the escalation service; 0 picks a free port [default: 50054].
    #[arg(long, value_name = "PORT")]
    pub escalation_port: Option<u16>,
    /// gRPC port of the discipline service; 0 picks a free port [default: 50055].
    #[arg(long, value_name = "PORT")]
    pub discipline_port: Option<u16>,
    /// Use this NATS server instead of starting the pinned nats-server.
    #[arg(long, value_name = "URL")]
    pub nats_url: Option<String>,
    /// Keep the services' databases on PostgreSQL instead of SQLite files: a URL with
    /// `{service}` where each database name goes (the databases must exist), e.g.
    /// `postgres://dondoc@127.0.0.1:5432/{service}`.
    #[arg(long, value_name = "URL_TEMPLATE")]
    pub postgres: Option<String>,
    /// Load the directories and play a deterministic three months of the Office's work
    /// (15/8 → 14/11/2026) on a demo clock, then write November's report in every format
    /// under `<data>/reports/`. Use a fresh --data-dir.
    #[arg(long)]
    pub demo: bool,
    /// How many tasks the demo assigns.
    #[arg(long, value_name = "N", default_value_t = 300, requires = "demo")]
    pub demo_tasks: usize,
    /// Stop once the demo's reports are written instead of serving (scripts, docs).
    #[arg(long, requires = "demo")]
    pub demo_exit: bool,
}

/// `dondoc bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Concurrent gRPC clients (and database connections of the raw INSERT baseline).
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// How long each load phase runs (shorter phases take half).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: std::time::Duration,
    /// Also measure PostgreSQL + NATS with one process per service (as docker-compose runs
    /// them), on databases the bench creates on this server and drops afterwards.
    #[arg(long, env = "DONDOC_BENCH_POSTGRES_URL", value_name = "URL")]
    pub postgres_url: Option<String>,
    /// Skip the embedded setup (`dondoc up` on SQLite).
    #[arg(long)]
    pub no_embedded: bool,
    /// Also measure the same workload on a cluster: a three-server NATS cluster with R3
    /// streams and two processes per service on the same PostgreSQL server, the clients
    /// spreading calls over both (needs --postgres-url).
    #[arg(long, requires = "postgres_url")]
    pub cluster: bool,
    /// Which phases to run (e.g. `--phases assign` while profiling).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [BenchPhase::Baselines, BenchPhase::Assign, BenchPhase::Reads])]
    pub phases: Vec<BenchPhase>,
    /// Generate a city-year of events and time a full rebuild of the read models instead.
    #[arg(long)]
    pub rebuild: bool,
    /// Events in the generated city-year (with --rebuild).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(16..))]
    pub events: u64,
    /// Also write the Markdown report to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Where the setups keep their data [default: a temporary directory, removed afterwards].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
}

/// The phases of `dondoc bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchPhase {
    /// The gRPC floor, raw INSERT+commit and raw JetStream publishes.
    Baselines,
    /// AssignTask: throughput and CPU, freshness, one client, the counted pass.
    Assign,
    /// GetTask, ListTasks, GetUnit and the board (after some AssignTask, to have tasks).
    Reads,
}

/// `dondoc token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// admin, office, leader, unit or home_affairs.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// The user the token names (JWT `sub`) [default: the role name].
    #[arg(long)]
    pub subject: Option<String>,
    /// Unit code; required for the unit role.
    #[arg(long, value_name = "CODE")]
    pub unit: Option<String>,
    /// Leader id; required for the leader role.
    #[arg(long, value_name = "ID")]
    pub leader: Option<String>,
    /// Lifetime of the token in hours: tokens cannot be revoked, so at most 31 days, and for
    /// the admin role at most 12 hours [default: 12; admin: 1].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=24 * 31))]
    pub ttl_hours: Option<u64>,
    /// Data directory whose development key signs the token.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Sign with this PKCS#8 PEM private key instead of the data directory's development key
    /// (a rotated key).
    #[arg(long, value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// Name the signing key in the token header (`kid`): the name of its public key file in
    /// the services' key directory, e.g. `2026-12` for `2026-12.pub.pem`.
    #[arg(long, value_name = "KID")]
    pub kid: Option<String>,
    /// The deployment the token is for (`aud`), when the services set `auth.audience`.
    #[arg(long, value_name = "NAME")]
    pub aud: Option<String>,
}

/// How a client command authenticates. `global` lets the flags follow the leaf subcommand
/// (`dondoc task list --token …`), which is where operators naturally type them.
#[derive(Debug, Clone, Args)]
pub struct Credentials {
    /// Bearer token; when absent, `<data-dir>/admin.token` written by `dondoc up` is used.
    #[arg(
        long,
        global = true,
        env = "DONDOC_TOKEN",
        hide_env_values = true,
        help_heading = "Connection"
    )]
    pub token: Option<String>,
    /// Data directory holding `admin.token`.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = DEFAULT_DATA_DIR,
        help_heading = "Connection"
    )]
    pub data_dir: PathBuf,
    /// CA certificate (PEM) to trust for `https://` endpoints, e.g. a self-signed server
    /// certificate; without it the public web roots are trusted.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "DONDOC_CA_CERT",
        help_heading = "Connection"
    )]
    pub ca_cert: Option<PathBuf>,
}

/// Where the assignment service is, and how to authenticate to it.
#[derive(Debug, Clone, Args)]
pub struct AssignmentConnection {
    /// gRPC endpoint of the assignment service.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        default_value = DEFAULT_ASSIGNMENT_ENDPOINT,
        help_heading = "Connection"
    )]
    pub endpoint: String,
    #[command(flatten)]
    pub credentials: Credentials,
}

/// How `dondoc progress` reaches the progress service.
#[derive(Debug, Args)]
pub struct ProgressConnection {
    /// gRPC endpoint of the progress service.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        default_value = DEFAULT_PROGRESS_ENDPOINT,
        help_heading = "Connection"
    )]
    pub endpoint: String,
    /// The AIP-155 request id of a change, to retry one safely [default: a new UUIDv7].
    #[arg(long, global = true, value_name = "ID")]
    pub request_id: Option<String>,
    #[command(flatten)]
    pub credentials: Credentials,
}

/// Where the escalation service is and who is asking.
#[derive(Debug, Args)]
pub struct EscalationConnection {
    /// gRPC endpoint of the escalation service.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        default_value = DEFAULT_ESCALATION_ENDPOINT,
        help_heading = "Connection"
    )]
    pub endpoint: String,
    /// The AIP-155 request id of a change, to retry one safely [default: a new UUIDv7].
    #[arg(long, global = true, value_name = "ID")]
    pub request_id: Option<String>,
    #[command(flatten)]
    pub credentials: Credentials,
}

/// `dondoc escalation …`.
#[derive(Debug, Subcommand)]
pub enum EscalationCommand {
    /// Issue every notice due by an instant (the Office, administrators). Evaluating the same
    /// instant twice issues nothing new.
    Evaluate {
        /// A day (evaluated at noon in Hải Phòng) or an RFC 3339 instant [default: now].
        #[arg(long, value_name = "YYYY-MM-DD|RFC3339")]
        as_of: Option<String>,
    },
    /// A task's watch: its deadline now, what was issued, what comes next.
    Show { task_id: String },
    /// Overdue notices and escalations.
    List {
        /// Only this ladder level and above (1 unit head, 2 Vice-Chairman, 3 Chairman).
        #[arg(long, value_name = "LEVEL", default_value_t = 0)]
        min_level: u32,
        /// Only tasks this unit leads.
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
    },
    /// Record a leadership action with its document.
    Action {
        /// reminder (nhắc nhở), criticism (phê bình) or commendation (biểu dương).
        kind: String,
        /// A unit concerned (repeatable).
        #[arg(long = "unit", value_name = "UNIT", required = true)]
        units: Vec<String>,
        /// A task concerned (repeatable).
        #[arg(long = "task", value_name = "TASK_ID")]
        tasks: Vec<String>,
        /// Số of the document.
        #[arg(long, value_name = "NUMBER")]
        number: String,
        /// Ký hiệu of the document.
        #[arg(long, value_name = "SYMBOL")]
        symbol: String,
        /// Ngày ban hành.
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: NaiveDate,
        /// Trích yếu.
        #[arg(long, value_name = "TEXT")]
        summary: String,
        /// The signing leader (a leader's own token may leave it out).
        #[arg(long, value_name = "LEADER_ID")]
        leader: Option<String>,
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Leadership actions recorded.
    Actions {
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<NaiveDate>,
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<NaiveDate>,
    },
}

/// Where the discipline service is and who is asking.
#[derive(Debug, Args)]
pub struct DisciplineConnection {
    /// gRPC endpoint of the discipline service.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        default_value = DEFAULT_DISCIPLINE_ENDPOINT,
        help_heading = "Connection"
    )]
    pub endpoint: String,
    /// The AIP-155 request id of a change, to retry one safely [default: a new UUIDv7].
    #[arg(long, global = true, value_name = "ID")]
    pub request_id: Option<String>,
    #[command(flatten)]
    pub credentials: Credentials,
}

/// A document of a case: số, ký hiệu, ngày, trích yếu (all or none).
#[derive(Debug, Args, Default)]
pub struct CaseDocumentArgs {
    #[arg(long, value_name = "NUMBER", requires_all = ["doc_symbol", "doc_date", "doc_summary"])]
    pub doc_number: Option<String>,
    #[arg(long, value_name = "SYMBOL")]
    pub doc_symbol: Option<String>,
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub doc_date: Option<NaiveDate>,
    #[arg(long, value_name = "TEXT")]
    pub doc_summary: Option<String>,
}

/// `dondoc case …`. The Office opens, amends, submits and withdraws; Home Affairs gives its
/// opinion (`--token` of role home_affairs); the Chairman decides.
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Open a case by hand (the service also drafts by policy).
    Open {
        /// The unit concerned; its head is the target unless --title says otherwise.
        #[arg(long, value_name = "UNIT")]
        unit: String,
        /// can_bo, cong_chuc or vien_chuc [default: the policy's].
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        #[arg(long, value_name = "NAME")]
        person: Option<String>,
        #[arg(long, value_name = "POST")]
        title: Option<String>,
        /// The day the violation was detected [default: today].
        #[arg(long, value_name = "YYYY-MM-DD")]
        detected_on: Option<NaiveDate>,
        #[arg(long, value_name = "TEXT")]
        summary: String,
        /// A task concerned (repeatable).
        #[arg(long = "task", value_name = "TASK_ID")]
        tasks: Vec<String>,
        /// An event id held as evidence (repeatable).
        #[arg(long = "evidence", value_name = "EVENT_ID")]
        evidence: Vec<String>,
    },
    /// A case as you may see it (every read is recorded).
    Show { case_id: String },
    /// Cases.
    List {
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        /// draft, opinion_given, submitted, decided, withdrawn.
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
    },
    /// The Office amends a draft.
    Amend {
        case_id: String,
        #[arg(long, value_name = "TEXT")]
        summary: Option<String>,
        #[arg(long = "evidence", value_name = "EVENT_ID")]
        evidence: Vec<String>,
    },
    /// Home Affairs' opinion (ý kiến của Sở Nội vụ).
    Opinion {
        case_id: String,
        /// Home Affairs disagrees with the proposal.
        #[arg(long)]
        disagree: bool,
        /// The form Home Affairs recommends.
        #[arg(long, value_name = "FORM")]
        form: Option<String>,
        #[arg(long, value_name = "TEXT")]
        opinion: String,
        #[command(flatten)]
        document: CaseDocumentArgs,
    },
    /// The Office submits the case to the Chairman.
    Submit { case_id: String },
    /// A complex case: the limit to decide becomes the extended one.
    Extend {
        case_id: String,
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// The Chairman decides: a form, or --no-discipline.
    Decide {
        case_id: String,
        #[arg(long, value_name = "FORM", required_unless_present = "no_discipline")]
        form: Option<String>,
        #[arg(long, conflicts_with = "form")]
        no_discipline: bool,
        #[arg(long, value_name = "TEXT")]
        reasons: String,
        #[command(flatten)]
        document: CaseDocumentArgs,
    },
    /// The Office withdraws the case.
    Withdraw {
        case_id: String,
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// An objective cause is confirmed: the tasks are exempt from the timeliness deduction.
        #[arg(long)]
        objective_cause: bool,
    },
    /// Who read the case, when.
    Audit { case_id: String },
    /// Warn of every limit drawing near by a day [default: today].
    Clocks {
        #[arg(long, value_name = "YYYY-MM-DD|RFC3339")]
        as_of: Option<String>,
    },
}

/// `dondoc notifications …`.
#[derive(Debug, Subcommand)]
pub enum NotificationsCommand {
    /// Follow notices as they are issued, from a cursor (Ctrl-C to stop; resume with the last
    /// cursor printed).
    Watch {
        #[arg(long, value_name = "CURSOR", default_value_t = 0)]
        after: u64,
    },
    /// Notices issued so far.
    List {
        #[arg(long, value_name = "CURSOR", default_value_t = 0)]
        after: u64,
        #[arg(long, value_name = "TASK_ID")]
        task: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// `dondoc progress …`. Unit actions need a unit token (`dondoc token --role unit --unit
/// CODE`), direction a leader's, review the Office's.
#[derive(Debug, Subcommand)]
pub enum ProgressCommand {
    /// How a task is being carried out.
    Show { task_id: String },
    /// Executions, filtered.
    List {
        /// Only tasks this unit leads.
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        /// Only tasks with a difficulty awaiting the leader's direction.
        #[arg(long)]
        awaiting_direction: bool,
        /// Only tasks whose result awaits the Office's review.
        #[arg(long)]
        awaiting_review: bool,
        /// overdue, near_due, within_term or no_deadline.
        #[arg(long, value_name = "CLASS")]
        class: Option<String>,
        /// The day the class is judged on [default: today].
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<NaiveDate>,
    },
    /// The lead unit confirms receipt (tiếp nhận).
    Acknowledge { task_id: String },
    /// The lead unit reports progress.
    Report {
        task_id: String,
        #[arg(long, value_name = "0-100")]
        percent: u32,
        #[arg(long, value_name = "TEXT")]
        narrative: String,
        /// A document to attach (repeatable).
        #[arg(long = "document", value_name = "FILE")]
        documents: Vec<PathBuf>,
    },
    /// The lead unit asks a coordinating unit for its contribution.
    Coordinate {
        task_id: String,
        #[arg(long, value_name = "UNIT")]
        unit: String,
        #[arg(long, value_name = "TEXT")]
        request: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        reply_due: NaiveDate,
    },
    /// A coordinating unit answers a coordination request.
    Reply {
        task_id: String,
        #[arg(long, value_name = "ID")]
        coordination: String,
        #[arg(long, value_name = "TEXT")]
        reply: String,
    },
    /// The lead unit reports a difficulty (khó khăn, vướng mắc) and its proposed solution.
    Difficulty {
        task_id: String,
        #[arg(long, value_name = "TEXT")]
        description: String,
        #[arg(long, value_name = "TEXT")]
        proposal: String,
    },
    /// The assigning leader or the Chairman gives direction (chỉ đạo) on a difficulty.
    Direct {
        task_id: String,
        #[arg(long, value_name = "ID")]
        difficulty: String,
        #[arg(long, value_name = "TEXT")]
        direction: String,
    },
    /// The lead unit asks for a later deadline (đề nghị gia hạn).
    Extension {
        task_id: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        proposed: NaiveDate,
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// The lead unit submits its result (báo cáo kết quả).
    Submit {
        task_id: String,
        #[arg(long, value_name = "TEXT")]
        summary: String,
        /// A result document to attach (repeatable).
        #[arg(long = "document", value_name = "FILE")]
        documents: Vec<PathBuf>,
    },
    /// The Office accepts the result or returns it for rework (with --note saying why).
    Review {
        task_id: String,
        #[arg(long, value_name = "ID")]
        submission: String,
        #[arg(
            long,
            conflicts_with = "return_for_rework",
            required_unless_present = "return_for_rework"
        )]
        accept: bool,
        #[arg(long = "return")]
        return_for_rework: bool,
        #[arg(long, value_name = "TEXT", default_value = "")]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DossierCommand {
    /// The dossier's state and every record in it, oldest first.
    Show { task_id: String },
}

#[derive(Debug, Subcommand)]
pub enum RegisterCommand {
    /// Register a document (the Office): the next number of this year's register.
    Add(RegisterAddArgs),
    /// A year's register, in number order.
    List {
        /// The year [default: this year].
        #[arg(long, value_name = "YYYY")]
        year: Option<i32>,
        /// The outgoing register (sổ văn bản đi) instead of the incoming one.
        #[arg(long)]
        outgoing: bool,
    },
}

/// `dondoc register add`.
#[derive(Debug, Args)]
pub struct RegisterAddArgs {
    /// The document's file (its content is kept by its SHA-256).
    pub file: PathBuf,
    /// The outgoing register (sổ văn bản đi) instead of the incoming one.
    #[arg(long)]
    pub outgoing: bool,
    /// Tên loại, e.g. "Công văn".
    #[arg(long = "type", value_name = "TYPE")]
    pub document_type: String,
    /// The number the issuing body gave (incoming documents).
    #[arg(long, value_name = "NUMBER", default_value = "")]
    pub number: String,
    /// Ký hiệu (required for outgoing documents).
    #[arg(long, value_name = "SYMBOL", default_value = "")]
    pub symbol: String,
    /// Ngày ban hành.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub issued_on: NaiveDate,
    /// Trích yếu.
    #[arg(long, value_name = "TEXT")]
    pub summary: String,
    /// Cơ quan ban hành (incoming) or nơi nhận (outgoing).
    #[arg(long, value_name = "BODY")]
    pub issuing_body: String,
    /// Người ký.
    #[arg(long, value_name = "NAME", default_value = "")]
    pub signer: String,
    /// The task whose dossier it belongs to.
    #[arg(long, value_name = "TASK_ID", default_value = "")]
    pub task: String,
}

#[derive(Debug, Subcommand)]
pub enum UnitsCommand {
    /// Load (or replace) directory versions from a TOML file such as haiphong-units.toml.
    Import {
        /// The TOML file.
        file: PathBuf,
    },
    /// List the units of the directory valid on a day, in Vietnamese alphabetical order.
    List {
        /// The day whose directory to list [default: today in Hải Phòng].
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<NaiveDate>,
        /// Only units of this kind, e.g. department, district, commune.
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// Only units whose name or code contains this text, ignoring case, diacritics and
        /// tone-mark placement ("thuy nguyen" finds "Phường Thủy Nguyên").
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
    },
}

/// `dondoc leaders`.
#[derive(Debug, Subcommand)]
pub enum LeadersCommand {
    /// Load the leader directory (lãnh đạo UBND thành phố) from a TOML file such as
    /// haiphong-leaders.toml; an identical file records nothing.
    Import {
        /// The TOML file.
        file: PathBuf,
    },
    /// List the leaders in office on a day and what each supervises.
    List {
        /// The day [default: today in Hải Phòng].
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<NaiveDate>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Assign a task from a directing document (or import one assigned before, with
    /// --historical-on).
    Assign(Box<AssignArgs>),
    /// Show one task with its history.
    Get {
        /// The task id.
        task_id: String,
    },
    /// List tasks, following every page.
    List(ListTasksArgs),
    /// Give the task to another lead unit (only the assigner or the Chairman decides this).
    Reassign(ReassignArgs),
    /// Record an approved extension, or give a task without deadline its first deadline.
    Extend(ExtendArgs),
    /// Record a unit's request for a later deadline, to be decided by a leader.
    RequestExtension(RequestExtensionArgs),
    /// Record a leader's decision on a pending extension request.
    DecideExtension(DecideExtensionArgs),
    /// Cancel a task that is no longer needed.
    Cancel(CancelArgs),
}

/// Flags every command that changes a task takes.
#[derive(Debug, Clone, Args)]
pub struct Change {
    /// Refuse the change unless the task is still at this version (from `task get`).
    #[arg(long, value_name = "N")]
    pub expected_version: Option<u64>,
    /// Idempotency key; reuse it to retry safely [default: a fresh UUIDv7].
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
}

/// `dondoc task assign`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("term").required(true).args(["deadline", "no_deadline"])))]
pub struct AssignArgs {
    /// Where the task comes from (nguồn giao).
    #[arg(long, value_enum, default_value_t = OriginArg::CityPeoplesCommittee)]
    pub origin: OriginArg,
    /// Name of the issuing body, e.g. "Bộ Xây dựng" (required for a ministry).
    #[arg(long, value_name = "NAME")]
    pub origin_body: Option<String>,
    /// Number (số) of the issuing body's document; required unless the origin is the City
    /// People's Committee itself.
    #[arg(long, value_name = "N", requires_all = ["origin_doc_symbol", "origin_doc_date", "origin_doc_summary"])]
    pub origin_doc_number: Option<String>,
    /// Symbol (ký hiệu) of the issuing body's document.
    #[arg(long, value_name = "S", requires = "origin_doc_number")]
    pub origin_doc_symbol: Option<String>,
    /// Date of the issuing body's document.
    #[arg(long, value_name = "YYYY-MM-DD", requires = "origin_doc_number")]
    pub origin_doc_date: Option<NaiveDate>,
    /// Summary (trích yếu) of the issuing body's document.
    #[arg(long, value_name = "TEXT", requires = "origin_doc_number")]
    pub origin_doc_summary: Option<String>,
    /// Who assigned the task in the city (người giao).
    #[arg(long, value_enum)]
    pub assigner: AssignerArg,
    /// Leader directory id of the Chairman or Vice-Chairman who assigned it.
    #[arg(long, value_name = "ID")]
    pub leader: Option<String>,
    /// Number (số) of the city's directing document, e.g. 1234.
    #[arg(long, value_name = "N")]
    pub doc_number: String,
    /// Symbol (ký hiệu) of the city's document, e.g. UBND-VP.
    #[arg(long, value_name = "S")]
    pub doc_symbol: String,
    /// Date of the city's document (ngày ban hành).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub doc_date: NaiveDate,
    /// Summary of the city's document (trích yếu).
    #[arg(long, value_name = "TEXT")]
    pub doc_summary: String,
    /// Title of the task.
    #[arg(long)]
    pub title: String,
    /// Full content of the task [default: the title, as the service requires a content].
    #[arg(long)]
    pub content: Option<String>,
    /// Code of the lead unit (đơn vị chủ trì).
    #[arg(long, value_name = "UNIT")]
    pub lead: String,
    /// Code of a coordinating unit (đơn vị phối hợp); repeat for several.
    #[arg(long = "coordinate", value_name = "UNIT")]
    pub coordinate: Vec<String>,
    /// Last day of the term; the task is overdue once this day has ended.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub deadline: Option<NaiveDate>,
    /// The task has no deadline (không thời hạn).
    #[arg(long)]
    pub no_deadline: bool,
    /// Urgency (độ khẩn).
    #[arg(long, value_enum, default_value_t = PriorityArg::Normal)]
    pub priority: PriorityArg,
    /// Import a task assigned on this past day (e.g. from the paper register): units and
    /// leaders are those of that day and a past deadline is accepted. Audited as an import.
    #[arg(long, value_name = "YYYY-MM-DD", requires = "historical_reason")]
    pub historical_on: Option<NaiveDate>,
    /// Why the task is imported rather than assigned, e.g. "Nhập sổ theo dõi năm 2024".
    #[arg(long, value_name = "TEXT", requires = "historical_on")]
    pub historical_reason: Option<String>,
    /// Idempotency key; reuse it to retry safely [default: a fresh UUIDv7].
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
}

/// `dondoc task list`.
#[derive(Debug, Args)]
pub struct ListTasksArgs {
    /// Tasks this unit leads or coordinates.
    #[arg(long, value_name = "UNIT")]
    pub unit: Option<String>,
    /// Only tasks in this status.
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Only tasks in this deadline class (at --as-of).
    #[arg(long, value_enum)]
    pub class: Option<ClassArg>,
    /// Judge deadline classes at the end of this day [default: now].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
    /// Only tasks coming from this kind of body.
    #[arg(long, value_enum)]
    pub origin: Option<OriginArg>,
    /// Only tasks assigned by this leader (e.g. a Vice-Chairman's own follow-up).
    #[arg(long, value_name = "ID")]
    pub leader: Option<String>,
    /// Earliest deadline, inclusive (tasks without a deadline never match a range).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub deadline_from: Option<NaiveDate>,
    /// Latest deadline, inclusive.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub deadline_to: Option<NaiveDate>,
}

/// `dondoc task reassign`.
#[derive(Debug, Args)]
pub struct ReassignArgs {
    pub task_id: String,
    /// The new lead unit.
    #[arg(long, value_name = "UNIT")]
    pub to: String,
    /// The coordinating units from now on; repeat for several [default: none].
    #[arg(long = "coordinate", value_name = "UNIT")]
    pub coordinate: Vec<String>,
    /// Why.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub change: Change,
}

/// `dondoc task extend`.
#[derive(Debug, Args)]
pub struct ExtendArgs {
    pub task_id: String,
    /// The new deadline.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub deadline: NaiveDate,
    /// Why.
    #[arg(long)]
    pub reason: String,
    /// Day the unit requested it [default: today]; must be on or before the deadline then.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub requested_on: Option<NaiveDate>,
    /// The approving leader (required when the Office records it).
    #[arg(long, value_name = "ID")]
    pub approved_by: Option<String>,
    #[command(flatten)]
    pub change: Change,
}

/// `dondoc task request-extension`.
#[derive(Debug, Args)]
pub struct RequestExtensionArgs {
    pub task_id: String,
    /// The deadline the unit proposes.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub deadline: NaiveDate,
    /// The unit's reasons.
    #[arg(long)]
    pub reason: String,
    /// Day of the request, e.g. of a paper request recorded later [default: today].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub requested_on: Option<NaiveDate>,
    #[command(flatten)]
    pub change: Change,
}

/// `dondoc task decide-extension`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("decision").required(true).args(["approve", "reject"])))]
pub struct DecideExtensionArgs {
    pub task_id: String,
    /// The request, as `task get` lists it.
    pub extension_id: String,
    /// Approve the request.
    #[arg(long)]
    pub approve: bool,
    /// Reject the request (a --reason is required).
    #[arg(long, requires = "reason")]
    pub reject: bool,
    /// The deadline granted [default: the one proposed].
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with = "reject")]
    pub deadline: Option<NaiveDate>,
    /// Why.
    #[arg(long)]
    pub reason: Option<String>,
    /// The deciding leader (required when the Office records it).
    #[arg(long, value_name = "ID")]
    pub leader: Option<String>,
    #[command(flatten)]
    pub change: Change,
}

/// `dondoc task cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    pub task_id: String,
    /// Why the task is no longer needed.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub change: Change,
}

/// `dondoc board`.
#[derive(Debug, Args)]
pub struct BoardArgs {
    /// Only this lead unit.
    #[arg(long, value_name = "UNIT")]
    pub unit: Option<String>,
    /// gRPC endpoint of the reporting service.
    #[arg(
        long,
        value_name = "URL",
        default_value = DEFAULT_REPORTING_ENDPOINT,
        help_heading = "Connection"
    )]
    pub reporting_endpoint: String,
    #[command(flatten)]
    pub credentials: Credentials,
}

/// The period of a report: one of these flags.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["period", "quarter", "half", "nine_months", "year", "from"])))]
pub struct PeriodArgs {
    /// A month: 15th of the previous month → 14th.
    #[arg(long, value_name = "YYYY-MM")]
    pub period: Option<String>,
    /// A quarter, e.g. 2026-Q3.
    #[arg(long, value_name = "YYYY-Qn")]
    pub quarter: Option<String>,
    /// A half, e.g. 2026-H1.
    #[arg(long, value_name = "YYYY-Hn")]
    pub half: Option<String>,
    /// The first nine months of a year.
    #[arg(long, value_name = "YYYY")]
    pub nine_months: Option<i32>,
    /// A whole year (15/12 before → 14/12).
    #[arg(long, value_name = "YYYY")]
    pub year: Option<i32>,
    /// Any range (with --to), both days included.
    #[arg(long, value_name = "YYYY-MM-DD", requires = "to")]
    pub from: Option<NaiveDate>,
    #[arg(long, value_name = "YYYY-MM-DD", requires = "from")]
    pub to: Option<NaiveDate>,
}

/// What the document says about who issues it (Decree 30/2020); the service's defaults stand
/// where these are empty.
#[derive(Debug, Args)]
pub struct LetterheadArgs {
    /// The issuing body on the document.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "Văn phòng UBND thành phố Hải Phòng"
    )]
    pub issuing_body: String,
    #[arg(long, value_name = "PLACE", default_value = "Hải Phòng")]
    pub place: String,
    #[arg(long, value_name = "TITLE", default_value = "Chánh Văn phòng")]
    pub signer_title: String,
    #[arg(long, value_name = "NAME", default_value = "")]
    pub signer_name: String,
}

/// `dondoc report`: one period, one format; `dondoc report issue|issued` for issued reports.
#[derive(Debug, Args)]
#[command(subcommand_negates_reqs = true, args_conflicts_with_subcommands = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub action: Option<ReportAction>,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// md (Markdown, Vietnamese), html (the official document, A4, with charts), pdf, xlsx,
    /// csv or json — all rendered by the reporting service.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Số/ký hiệu; before registration the number is left blank.
    #[arg(long, value_name = "NUMBER/SYMBOL", default_value = "      /BC-VP")]
    pub number: String,
    #[command(flatten)]
    pub letterhead: LetterheadArgs,
    /// Write to this file instead of standard output (pdf and xlsx need it).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out_file: Option<PathBuf>,
    /// gRPC endpoint of the reporting service.
    #[arg(
        long,
        value_name = "URL",
        default_value = DEFAULT_REPORTING_ENDPOINT,
        help_heading = "Connection"
    )]
    pub reporting_endpoint: String,
    #[command(flatten)]
    pub credentials: Credentials,
}

/// `dondoc report issue|issued`.
#[derive(Debug, Subcommand)]
pub enum ReportAction {
    /// Issues the report of a period: the outgoing register numbers it and its figures are
    /// frozen (the Office).
    Issue(Box<IssueReportArgs>),
    /// The reports issued so far, newest first.
    Issued(IssuedReportsArgs),
}

#[derive(Debug, Args)]
pub struct IssueReportArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Ký hiệu in the outgoing register.
    #[arg(long, value_name = "SYMBOL", default_value = "BC-VP")]
    pub symbol: String,
    #[command(flatten)]
    pub letterhead: LetterheadArgs,
    /// Retrying with the same id answers the first issue (default: a new id).
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
    #[arg(
        long,
        value_name = "URL",
        default_value = DEFAULT_REPORTING_ENDPOINT,
        help_heading = "Connection"
    )]
    pub reporting_endpoint: String,
    #[command(flatten)]
    pub credentials: Credentials,
}

#[derive(Debug, Args)]
pub struct IssuedReportsArgs {
    #[arg(
        long,
        value_name = "URL",
        default_value = DEFAULT_REPORTING_ENDPOINT,
        help_heading = "Connection"
    )]
    pub reporting_endpoint: String,
    #[command(flatten)]
    pub credentials: Credentials,
}

/// The formats of `dondoc report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Html,
    /// Printed from the HTML by headless Chromium on the reporting service's host (needs --out).
    Pdf,
    /// A workbook, one sheet per table (needs --out).
    Xlsx,
    Csv,
    Json,
}

/// Where a task comes from; `Unspecified` and `Unclassified` are deliberately not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OriginArg {
    Government,
    PrimeMinister,
    Ministry,
    CityPartyCommittee,
    CityPeoplesCouncil,
    CityPeoplesCommittee,
}

impl From<OriginArg> for pb::OriginKind {
    fn from(kind: OriginArg) -> Self {
        match kind {
            OriginArg::Government => pb::OriginKind::Government,
            OriginArg::PrimeMinister => pb::OriginKind::PrimeMinister,
            OriginArg::Ministry => pb::OriginKind::Ministry,
            OriginArg::CityPartyCommittee => pb::OriginKind::CityPartyCommittee,
            OriginArg::CityPeoplesCouncil => pb::OriginKind::CityPeoplesCouncil,
            OriginArg::CityPeoplesCommittee => pb::OriginKind::CityPeoplesCommittee,
        }
    }
}

/// Who assigned a task in the city.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AssignerArg {
    Chairman,
    ViceChairman,
    CityPeoplesCommittee,
}

impl From<AssignerArg> for pb::AssignerKind {
    fn from(kind: AssignerArg) -> Self {
        match kind {
            AssignerArg::Chairman => pb::AssignerKind::Chairman,
            AssignerArg::ViceChairman => pb::AssignerKind::ViceChairman,
            AssignerArg::CityPeoplesCommittee => pb::AssignerKind::CityPeoplesCommittee,
        }
    }
}

/// Deadline classes a list can be filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClassArg {
    None,
    InTerm,
    NearDue,
    Overdue,
    Closed,
}

impl From<ClassArg> for pb::DeadlineClass {
    fn from(class: ClassArg) -> Self {
        match class {
            ClassArg::None => pb::DeadlineClass::None,
            ClassArg::InTerm => pb::DeadlineClass::InTerm,
            ClassArg::NearDue => pb::DeadlineClass::NearDue,
            ClassArg::Overdue => pb::DeadlineClass::Overdue,
            ClassArg::Closed => pb::DeadlineClass::Closed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PriorityArg {
    Normal,
    Urgent,
    VeryUrgent,
    Flash,
}

impl From<PriorityArg> for pb::Priority {
    fn from(priority: PriorityArg) -> Self {
        match priority {
            PriorityArg::Normal => pb::Priority::Normal,
            PriorityArg::Urgent => pb::Priority::Urgent,
            PriorityArg::VeryUrgent => pb::Priority::VeryUrgent,
            PriorityArg::Flash => pb::Priority::Flash,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Assigned,
    InProgress,
    AwaitingConfirmation,
    Completed,
    ReturnedForRework,
    Cancelled,
}

impl From<StatusArg> for pb::TaskStatus {
    fn from(status: StatusArg) -> Self {
        match status {
            StatusArg::Assigned => pb::TaskStatus::Assigned,
            StatusArg::InProgress => pb::TaskStatus::InProgress,
            StatusArg::AwaitingConfirmation => pb::TaskStatus::AwaitingConfirmation,
            StatusArg::Completed => pb::TaskStatus::Completed,
            StatusArg::ReturnedForRework => pb::TaskStatus::ReturnedForRework,
            StatusArg::Cancelled => pb::TaskStatus::Cancelled,
        }
    }
}

/// Accepts the wire names (`home_affairs`) and, since every other flag value is kebab-case,
/// `home-affairs` too.
fn parse_role(value: &str) -> Result<Role, String> {
    value.replace('-', "_").parse::<Role>().map_err(|_| {
        let known: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        format!(
            "unknown role {value:?}; expected one of {}",
            known.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("dondoc").chain(args.iter().copied()))
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("valid test date")
    }

    /// A shell line's words as `sh` would split them (quotes removed), up to the first
    /// comment, pipe, redirection or `&`; `[` and `]` around optional parts are dropped.
    fn shell_words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quote = None;
        let mut in_word = false;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, '#') if !in_word => break,
                (None, '|' | '>' | '<' | '&') => break,
                (None, c) if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                (None, c) => {
                    word.push(c);
                    in_word = true;
                }
            }
        }
        if in_word {
            words.push(word);
        }
        words
            .into_iter()
            .map(|word| {
                word.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned()
            })
            .filter(|word| !word.is_empty())
            .collect()
    }

    /// The `dondoc …` commands that begin a line (or follow `;`) in the fenced code blocks of
    /// a Markdown text, continuation lines joined.
    fn runbook_commands(text: &str) -> Vec<Vec<String>> {
        let mut commands = Vec::new();
        let mut in_block = false;
        let mut joined = String::new();
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                in_block = !in_block;
                continue;
            }
            if !in_block {
                continue;
            }
            if let Some(start) = line.strip_suffix('\\') {
                joined.push_str(start);
                joined.push(' ');
                continue;
            }
            joined.push_str(line);
            let full = std::mem::take(&mut joined);
            for part in full.split(';') {
                let words = shell_words(part);
                if words.first().map(String::as_str) == Some("dondoc") {
                    commands.push(words);
                }
            }
        }
        commands
    }

    /// Placeholders in the runbooks whose value the CLI parses as a number or date.
    const TYPED_PLACEHOLDERS: &[(&str, &str)] = &[("CURSOR", "0")];

    /// Operators copy the runbooks' commands: a flag or command renamed in the code and not in
    /// the documents fails here, not at three in the morning.
    #[test]
    fn every_dondoc_command_in_the_runbooks_is_one_the_cli_accepts() {
        let runbooks = [
            ("README.md", include_str!("../../../README.md")),
            (
                "deploy/README.md",
                include_str!("../../../deploy/README.md"),
            ),
            ("UPGRADING.md", include_str!("../../../UPGRADING.md")),
        ];
        let mut checked = 0;
        for (name, text) in runbooks {
            for mut command in runbook_commands(text) {
                // Placeholders of typed values stand for a value of that type.
                for word in &mut command {
                    if let Some((_, sample)) = TYPED_PLACEHOLDERS.iter().find(|(p, _)| p == word) {
                        *word = (*sample).to_owned();
                    }
                }
                let parsed = Cli::try_parse_from(&command);
                assert!(
                    parsed.is_ok(),
                    "{name}: `{}` is refused: {}",
                    command.join(" "),
                    parsed.err().map(|e| e.to_string()).unwrap_or_default()
                );
                checked += 1;
            }
        }
        assert!(checked >= 30, "only {checked} runbook commands found");
    }

    #[test]
    fn runbook_lines_split_like_the_shell() {
        let commands = runbook_commands(
            "```sh\ndondoc case show ID; dondoc case list   # all\n\
             dondoc escalation evaluate [--as-of 2026-12-07]\n\
             dondoc restore --postgres 'postgres://u@h/{service}' \\\n  --from \"b c\" > log\n```\n\
             dondoc outside a block\n",
        );

        assert_eq!(
            commands,
            vec![
                vec!["dondoc", "case", "show", "ID"],
                vec!["dondoc", "case", "list"],
                vec!["dondoc", "escalation", "evaluate", "--as-of", "2026-12-07"],
                vec![
                    "dondoc",
                    "restore",
                    "--postgres",
                    "postgres://u@h/{service}",
                    "--from",
                    "b c"
                ],
            ]
        );
    }

    #[test]
    fn verify_defaults_to_the_assignment_database_of_the_data_dir() {
        let cli = parse(&["verify", "--data-dir", "/srv/dondoc"]).expect("parses");

        let Command::Operator(OperatorCommand::Verify(args)) = cli.command else {
            panic!("expected verify");
        };
        assert_eq!(
            args.log.database_url(),
            "sqlite:///srv/dondoc/assignment.db"
        );
    }

    #[test]
    fn replay_takes_a_service_database_and_a_starting_position() {
        let cli = parse(&[
            "replay",
            "--service",
            "reporting",
            "--database-url",
            "postgres://db/reporting",
            "--from",
            "42",
        ])
        .expect("parses");

        let Command::Operator(OperatorCommand::Replay(args)) = cli.command else {
            panic!("expected replay");
        };
        assert_eq!(args.from, 42);
        assert_eq!(args.log.database_url(), "postgres://db/reporting");
        assert_eq!(args.log.service, ServiceArg::Reporting);
    }

    #[test]
    fn operator_commands_know_only_dondoc_services() {
        assert!(parse(&["verify", "--service", "reportin"]).is_err());
    }

    const ASSIGN: &[&str] = &[
        "task",
        "assign",
        "--assigner",
        "vice-chairman",
        "--leader",
        "PCT1",
        "--doc-number",
        "1234",
        "--doc-symbol",
        "UBND-VP",
        "--doc-date",
        "2026-11-20",
        "--doc-summary",
        "Về việc xử lý ngập úng",
        "--title",
        "Báo cáo tình hình",
        "--lead",
        "SXD",
        "--coordinate",
        "STC",
        "--coordinate",
        "SNV",
    ];

    fn assign_with(extra: &[&str]) -> Result<Cli, clap::Error> {
        let args: Vec<&str> = ASSIGN.iter().chain(extra).copied().collect();
        parse(&args)
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn up_without_flags_leaves_everything_to_configuration() {
        let cli = parse(&["up"]).expect("parses");

        let Command::Up(args) = cli.command else {
            panic!("expected up, got {:?}", cli.command);
        };
        assert_eq!(args.config, None);
        assert_eq!(args.data_dir, None);
        assert_eq!(args.assignment_port, None);
        assert_eq!(args.reporting_port, None);
        assert_eq!(args.nats_url, None);
    }

    #[test]
    fn up_takes_every_override() {
        let cli = parse(&[
            "up",
            "--config",
            "dondoc.toml",
            "--data-dir",
            "/srv/dondoc",
            "--assignment-port",
            "6000",
            "--reporting-port",
            "0",
            "--nats-url",
            "nats://10.0.0.5:4222",
        ])
        .expect("parses");

        let Command::Up(args) = cli.command else {
            panic!("expected up, got {:?}", cli.command);
        };
        assert_eq!(args.config, Some(PathBuf::from("dondoc.toml")));
        assert_eq!(args.data_dir, Some(PathBuf::from("/srv/dondoc")));
        assert_eq!(args.assignment_port, Some(6000));
        assert_eq!(args.reporting_port, Some(0));
        assert_eq!(args.nats_url.as_deref(), Some("nats://10.0.0.5:4222"));
    }

    #[test]
    fn up_rejects_a_port_out_of_range() {
        assert!(parse(&["up", "--assignment-port", "70000"]).is_err());
    }

    #[test]
    fn token_parses_role_unit_and_defaults() {
        let cli = parse(&["token", "--role", "unit", "--unit", "SXD"]).expect("parses");

        let Command::Operator(OperatorCommand::Token(args)) = cli.command else {
            panic!("expected token, got {:?}", cli.command);
        };
        assert_eq!(args.role, Role::Unit);
        assert_eq!(args.unit.as_deref(), Some("SXD"));
        assert_eq!(args.subject, None);
        assert_eq!(args.ttl_hours, None, "the role decides the default");
        assert_eq!(args.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    }

    #[test]
    fn token_accepts_kebab_case_roles_and_rejects_unknown_ones() {
        let cli = parse(&["token", "--role", "home-affairs", "--ttl-hours", "2"]).expect("parses");
        let Command::Operator(OperatorCommand::Token(args)) = cli.command else {
            panic!("expected token, got {:?}", cli.command);
        };
        assert_eq!(args.role, Role::HomeAffairs);
        assert_eq!(args.ttl_hours, Some(2));

        let error = parse(&["token", "--role", "mayor"]).expect_err("unknown role");
        assert!(error.to_string().contains("home_affairs"), "{error}");
    }

    #[test]
    fn token_requires_a_role_and_a_positive_ttl() {
        assert!(parse(&["token"]).is_err());
        assert!(parse(&["token", "--role", "admin", "--ttl-hours", "0"]).is_err());
    }

    #[test]
    fn units_import_takes_a_file_and_connection_flags_after_the_leaf() {
        let cli = parse(&[
            "units",
            "import",
            "units.toml",
            "--endpoint",
            "http://10.0.0.1:7000",
            "--token",
            "abc",
        ])
        .expect("parses");

        let Command::Operator(OperatorCommand::Units {
            connection,
            command: UnitsCommand::Import { file },
        }) = cli.command
        else {
            panic!("expected units import, got {:?}", cli.command);
        };
        assert_eq!(file, PathBuf::from("units.toml"));
        assert_eq!(connection.endpoint, "http://10.0.0.1:7000");
        assert_eq!(connection.credentials.token.as_deref(), Some("abc"));
    }

    #[test]
    fn units_list_parses_filters_and_defaults_the_endpoint() {
        let cli = parse(&[
            "units",
            "list",
            "--as-of",
            "2025-07-01",
            "--kind",
            "commune",
        ])
        .expect("parses");

        let Command::Operator(OperatorCommand::Units {
            connection,
            command:
                UnitsCommand::List {
                    as_of,
                    kind,
                    search,
                },
        }) = cli.command
        else {
            panic!("expected units list, got {:?}", cli.command);
        };
        assert_eq!(as_of, Some(date("2025-07-01")));
        assert_eq!(kind.as_deref(), Some("commune"));
        assert_eq!(search, None);
        assert_eq!(connection.endpoint, DEFAULT_ASSIGNMENT_ENDPOINT);
        assert_eq!(
            connection.credentials.data_dir,
            PathBuf::from(DEFAULT_DATA_DIR)
        );
    }

    #[test]
    fn units_list_rejects_a_malformed_date() {
        assert!(parse(&["units", "list", "--as-of", "01/07/2025"]).is_err());
    }

    #[test]
    fn task_assign_parses_every_field() {
        let cli = assign_with(&[
            "--deadline",
            "2026-12-31",
            "--priority",
            "very-urgent",
            "--origin",
            "ministry",
            "--origin-body",
            "Bộ Xây dựng",
            "--origin-doc-number",
            "12",
            "--origin-doc-symbol",
            "BXD-QLN",
            "--origin-doc-date",
            "2026-11-01",
            "--origin-doc-summary",
            "Về việc quản lý nhà ở",
            "--content",
            "Chi tiết",
            "--request-id",
            "req-1",
        ])
        .expect("parses");

        let Command::Operator(OperatorCommand::Task {
            command: TaskCommand::Assign(args),
            ..
        }) = cli.command
        else {
            panic!("expected task assign, got {:?}", cli.command);
        };
        assert_eq!(args.assigner, AssignerArg::ViceChairman);
        assert_eq!(args.leader.as_deref(), Some("PCT1"));
        assert_eq!(args.origin, OriginArg::Ministry);
        assert_eq!(args.origin_body.as_deref(), Some("Bộ Xây dựng"));
        assert_eq!(args.origin_doc_date, Some(date("2026-11-01")));
        assert_eq!(args.doc_number, "1234");
        assert_eq!(args.doc_symbol, "UBND-VP");
        assert_eq!(args.doc_date, date("2026-11-20"));
        assert_eq!(args.lead, "SXD");
        assert_eq!(args.coordinate, vec!["STC".to_owned(), "SNV".to_owned()]);
        assert_eq!(args.deadline, Some(date("2026-12-31")));
        assert!(!args.no_deadline);
        assert_eq!(args.priority, PriorityArg::VeryUrgent);
        assert_eq!(args.content.as_deref(), Some("Chi tiết"));
        assert_eq!(args.request_id.as_deref(), Some("req-1"));
    }

    #[test]
    fn task_assign_accepts_no_deadline_with_normal_priority_by_default() {
        let cli = assign_with(&["--no-deadline"]).expect("parses");

        let Command::Operator(OperatorCommand::Task {
            command: TaskCommand::Assign(args),
            ..
        }) = cli.command
        else {
            panic!("expected task assign, got {:?}", cli.command);
        };
        assert!(args.no_deadline);
        assert_eq!(args.deadline, None);
        assert_eq!(args.priority, PriorityArg::Normal);
        assert_eq!(args.request_id, None);
    }

    #[test]
    fn task_assign_needs_exactly_one_of_deadline_and_no_deadline() {
        assert!(assign_with(&[]).is_err());
        assert!(assign_with(&["--deadline", "2026-12-31", "--no-deadline"]).is_err());
    }

    #[test]
    fn task_assign_rejects_an_unknown_assigner() {
        let mut args: Vec<&str> = ASSIGN.to_vec();
        args[3] = "mayor";
        args.extend(["--no-deadline"]);

        assert!(parse(&args).is_err());
    }

    #[test]
    fn task_get_takes_the_id() {
        let cli = parse(&["task", "get", "0193-abc"]).expect("parses");

        let Command::Operator(OperatorCommand::Task {
            command: TaskCommand::Get { task_id },
            ..
        }) = cli.command
        else {
            panic!("expected task get, got {:?}", cli.command);
        };
        assert_eq!(task_id, "0193-abc");
    }

    #[test]
    fn task_list_parses_filters() {
        let cli = parse(&[
            "task",
            "list",
            "--unit",
            "SXD",
            "--status",
            "in-progress",
            "--deadline-from",
            "2026-01-01",
            "--deadline-to",
            "2026-12-31",
        ])
        .expect("parses");

        let Command::Operator(OperatorCommand::Task {
            command: TaskCommand::List(args),
            ..
        }) = cli.command
        else {
            panic!("expected task list, got {:?}", cli.command);
        };
        assert_eq!(args.unit.as_deref(), Some("SXD"));
        assert_eq!(args.status, Some(StatusArg::InProgress));
        assert_eq!(args.origin, None);
        assert_eq!(args.class, None);
        assert_eq!(args.deadline_from, Some(date("2026-01-01")));
        assert_eq!(args.deadline_to, Some(date("2026-12-31")));
    }

    #[test]
    fn the_cli_speaks_vietnamese_unless_told_otherwise() {
        let default = parse(&["task", "list"]).expect("parses");
        let english = parse(&["task", "list", "--lang", "en", "--output", "json"]).expect("parses");

        assert_eq!(default.ui(), Ui::default());
        assert_eq!(default.lang, Lang::Vi);
        assert_eq!(english.lang, Lang::En);
        assert_eq!(english.output, OutputFormat::Json);
        assert!(parse(&["task", "list", "--lang", "fr"]).is_err());
    }

    #[test]
    fn an_origin_document_comes_whole_or_not_at_all() {
        let partial = assign_with(&["--no-deadline", "--origin-doc-number", "12"]);

        assert!(
            partial.is_err(),
            "symbol, date and summary are required with it"
        );
    }

    #[test]
    fn a_historical_import_needs_its_reason() {
        assert!(assign_with(&["--no-deadline", "--historical-on", "2024-03-01"]).is_err());
        assert!(
            assign_with(&[
                "--no-deadline",
                "--historical-on",
                "2024-03-01",
                "--historical-reason",
                "Nhập sổ"
            ])
            .is_ok()
        );
    }

    #[test]
    fn decide_extension_needs_one_decision_and_a_reason_to_reject() {
        let base = ["task", "decide-extension", "t-1", "e-1"];
        let with = |extra: &[&str]| {
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            parse(&args)
        };

        assert!(with(&[]).is_err(), "approve or reject");
        assert!(with(&["--approve", "--reject"]).is_err());
        assert!(with(&["--reject"]).is_err(), "a rejection gives its reason");
        assert!(with(&["--reject", "--reason", "Không đủ căn cứ"]).is_ok());
        assert!(
            with(&[
                "--approve",
                "--deadline",
                "2027-01-15",
                "--leader",
                "pct-tran"
            ])
            .is_ok()
        );
    }

    #[test]
    fn units_list_takes_a_search_text() {
        let cli = parse(&["units", "list", "--search", "thuy nguyen"]).expect("parses");

        let Command::Operator(OperatorCommand::Units {
            command: UnitsCommand::List { search, .. },
            ..
        }) = cli.command
        else {
            panic!("expected units list");
        };
        assert_eq!(search.as_deref(), Some("thuy nguyen"));
    }

    #[test]
    fn board_uses_the_reporting_endpoint() {
        let cli = parse(&["board", "--unit", "SXD", "--data-dir", "/tmp/d"]).expect("parses");

        let Command::Operator(OperatorCommand::Board(args)) = cli.command else {
            panic!("expected board, got {:?}", cli.command);
        };
        assert_eq!(args.unit.as_deref(), Some("SXD"));
        assert_eq!(args.reporting_endpoint, DEFAULT_REPORTING_ENDPOINT);
        assert_eq!(args.credentials.data_dir, PathBuf::from("/tmp/d"));
    }

    #[test]
    fn board_does_not_take_the_assignment_endpoint_flag() {
        assert!(parse(&["board", "--endpoint", "http://x:1"]).is_err());
    }

    #[test]
    fn proto_enums_map_one_to_one() {
        assert_eq!(
            pb::OriginKind::from(OriginArg::CityPeoplesCouncil),
            pb::OriginKind::CityPeoplesCouncil
        );
        assert_eq!(
            pb::AssignerKind::from(AssignerArg::CityPeoplesCommittee),
            pb::AssignerKind::CityPeoplesCommittee
        );
        assert_eq!(
            pb::DeadlineClass::from(ClassArg::NearDue),
            pb::DeadlineClass::NearDue
        );
        assert_eq!(pb::Priority::from(PriorityArg::Flash), pb::Priority::Flash);
        assert_eq!(
            pb::TaskStatus::from(StatusArg::ReturnedForRework),
            pb::TaskStatus::ReturnedForRework
        );
    }
}
