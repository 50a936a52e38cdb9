//! What every service binary's thin `main` shares: layered settings, the token verifier from a
//! public key file, and waiting for a stop signal.
//!
//! Each service binary (`dondoc-assignment`, `dondoc-reporting`, …) is config → telemetry →
//! `Application::build` → wait for a signal → graceful stop, as in zero2prod. docker-compose
//! runs one container per binary; `dondoc up` runs the same `Application`s in one process.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::auth::TokenVerifier;

/// What every dondoc service is told about its surroundings (`[assignment]`, `[reporting]`, …
/// in the config file, `DONDOC_<SERVICE>__*` in the environment).
#[derive(Clone, Debug, Deserialize)]
pub struct ServiceSettings {
    /// Its own database: `sqlite:PATH` or `postgres://…`.
    pub database_url: String,
    pub nats_url: String,
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// Serve over TLS with this certificate and key; plaintext when absent.
    #[serde(default)]
    pub tls: Option<crate::grpc::TlsSettings>,
    /// Pool size and timeouts of the database connection (`[<service>.database]`).
    #[serde(default)]
    pub database: dondoc_eventsourcing::db::DbSettings,
    /// How long a stop keeps answering after health turned NOT_SERVING, so a load balancer
    /// or orchestrator stops sending calls first (e.g. "5s"; default none).
    #[serde(default, with = "humantime_serde")]
    pub shutdown_drain: std::time::Duration,
    /// Signed checkpoints of the event log, outside the database (`[<service>.anchor]`);
    /// services without an event log ignore it.
    #[serde(default)]
    pub anchor: Option<crate::anchoring::AnchorSettings>,
}

/// Where a service finds the public key that verifies bearer tokens.
#[derive(Clone, Debug, Deserialize)]
pub struct AuthSettings {
    /// PEM file of the Ed25519 public key (SPKI).
    pub public_key_path: PathBuf,
}

/// Errors of service start-up that are the operator's to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot read the token public key {path}: {source}")]
    PublicKey {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the token public key {path} is invalid: {source}")]
    InvalidKey {
        path: PathBuf,
        source: crate::auth::AuthError,
    },
}

/// Loads the verifier from the configured public key file.
pub fn load_verifier(path: &Path) -> Result<Arc<TokenVerifier>, StartupError> {
    let pem = std::fs::read_to_string(path).map_err(|source| StartupError::PublicKey {
        path: path.to_path_buf(),
        source,
    })?;
    TokenVerifier::from_public_pem(&pem)
        .map(Arc::new)
        .map_err(|source| StartupError::InvalidKey {
            path: path.to_path_buf(),
            source,
        })
}

/// Completes on Ctrl-C or SIGTERM (what `docker stop` sends).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("stop signal received; shutting down");
}

/// The config file named by `--config FILE` or `DONDOC_CONFIG`, if any.
pub fn config_file_from_args() -> Option<PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("DONDOC_CONFIG").map(PathBuf::from)
}
