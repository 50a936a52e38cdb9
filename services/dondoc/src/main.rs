//! `dondoc`: the operator's entry point to the dondoc system of the Hải Phòng City People's
//! Committee Office.
//!
//! One binary serves two purposes. `dondoc up` runs every service in a single process on one
//! machine (SQLite files and a pinned nats-server under one data directory), which is all a
//! developer, a demo or a small installation needs; docker-compose and larger deployments run
//! one container per service instead, built from the same `Application` types. Every other
//! subcommand is a client: it mints tokens from the data directory's development key, or calls
//! the services' gRPC APIs and prints the answer as plain text.
//!
//! # Layout
//! - [`cli`]: the command line (clap derive).
//! - [`up`]: the all-in-one mode and its layered configuration.
//! - [`bench`](mod@bench): the end-to-end benchmark beside its baselines.
//! - [`keys`], [`token`]: the development key pair and the tokens it signs.
//! - [`client`]: authenticated gRPC channels; [`units`], [`task`], [`board`]: the client
//!   commands; [`names`]: unit and leader names beside codes.
//! - [`i18n`]: Vietnamese (default) and English labels, dates and times; [`output`]: tables,
//!   fields and JSON; [`report`]: errors with their gRPC details, localized.

mod backup;
mod bench;
mod board;
mod case;
mod cli;
mod client;
mod demo;
mod escalation;
mod health;
mod i18n;
mod keys;
mod log;
mod names;
mod output;
mod periodic;
mod progress;
mod report;
mod task;
mod token;
mod units;
mod up;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use dondoc_runtime::telemetry::{self, TelemetrySettings};

use crate::cli::{Cli, Command, OperatorCommand};

/// The service name under which `dondoc` logs and exports spans.
const SERVICE_NAME: &str = "dondoc";

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = cli.lang;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // If stderr itself is gone there is nowhere left to report to; the exit code remains.
            let _ = std::io::stderr()
                .lock()
                .write_all(report::render(&error, lang).as_bytes());
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let ui = cli.ui();
    match cli.command {
        Command::Up(args) => {
            let config = up::UpConfig::load(&args)?;
            let _telemetry = telemetry::init(SERVICE_NAME, &config.telemetry)?;
            up::run(config, &mut out).await
        }
        Command::Bench(args) => {
            let _telemetry = telemetry::init(SERVICE_NAME, &client_telemetry())?;
            bench::run(args, &mut out).await
        }
        Command::Operator(command) => {
            let _telemetry = telemetry::init(SERVICE_NAME, &client_telemetry())?;
            match command {
                OperatorCommand::Token(args) => token::run(&args, &mut out),
                OperatorCommand::Units {
                    connection,
                    command,
                } => units::run(&connection, command, ui, &mut out).await,
                OperatorCommand::Leaders {
                    connection,
                    command,
                } => units::run_leaders(&connection, command, ui, &mut out).await,
                OperatorCommand::Task {
                    connection,
                    command,
                } => task::run(&connection, command, ui, &mut out).await,
                OperatorCommand::Progress {
                    connection,
                    command,
                } => progress::run(&connection, command, ui, &mut out).await,
                OperatorCommand::Dossier {
                    connection,
                    command,
                } => progress::run_dossier(&connection, command, ui, &mut out).await,
                OperatorCommand::Register {
                    connection,
                    command,
                } => progress::run_register(&connection, command, ui, &mut out).await,
                OperatorCommand::Escalation {
                    connection,
                    command,
                } => escalation::run(&connection, command, ui, &mut out).await,
                OperatorCommand::Notifications {
                    connection,
                    command,
                } => escalation::run_notifications(&connection, command, ui, &mut out).await,
                OperatorCommand::Case {
                    connection,
                    command,
                } => case::run(&connection, command, ui, &mut out).await,
                OperatorCommand::Report(args) => periodic::run(*args, ui, &mut out).await,
                OperatorCommand::Board(args) => board::run(args, ui, &mut out).await,
                OperatorCommand::Verify(args) => log::verify(&args, ui, &mut out).await,
                OperatorCommand::Anchor(args) => log::anchor(&args, ui, &mut out).await,
                OperatorCommand::Dlq { command } => log::dlq(command, ui, &mut out).await,
                OperatorCommand::Backup(args) => backup::backup(&args, &mut out).await,
                OperatorCommand::Restore(args) => backup::restore(&args, &mut out).await,
                OperatorCommand::Replay(args) => log::replay(&args, ui, &mut out).await,
                OperatorCommand::Rebuild(args) => log::rebuild(&args, ui, &mut out).await,
                OperatorCommand::Health(args) => health::run(&args, &mut out).await,
            }
        }
    }
}

/// Client commands print their result on stdout; routine logs on stderr would only bury it, so
/// only warnings show unless `RUST_LOG` asks for more.
fn client_telemetry() -> TelemetrySettings {
    TelemetrySettings {
        log_filter: "warn".to_owned(),
        ..TelemetrySettings::default()
    }
}
