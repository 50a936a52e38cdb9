//! What every service binary's thin `main` shares: layered settings, the token verifier from a
//! public key file, and waiting for a stop signal.
//!
//! Each service binary (`dondoc-assignment`, `dondoc-reporting`, …) is config → telemetry →
//! `Application::build` → wait for a signal → graceful stop, as in zero2prod. docker-compose
//! runs one container per binary; `dondoc up` runs the same `Application`s in one process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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

/// Where a service finds the public keys that verify bearer tokens (`[auth]`).
#[derive(Clone, Debug, Deserialize)]
pub struct AuthSettings {
    /// A PEM file of the Ed25519 public key (SPKI), or a directory of them (`<kid>.pub.pem`
    /// or `<kid>.pem`): each key is named by its file, and tokens name theirs in the `kid`
    /// header. A directory is how keys rotate without a flag day: add the new key, switch the
    /// issuer, remove the old key once its tokens have expired.
    pub public_key_path: PathBuf,
    /// Accept only tokens whose `aud` is this deployment's name; unset: no audience check.
    #[serde(default)]
    pub audience: Option<String>,
    /// How often the key files are read again for changes.
    #[serde(default = "default_key_reload", with = "humantime_serde")]
    pub reload_interval: Duration,
}

fn default_key_reload() -> Duration {
    Duration::from_secs(30)
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
    #[error("no token public key (*.pem) in the directory {0}")]
    NoKeys(PathBuf),
}

/// The `(kid, PEM)` keys at `path`: the file, named by its stem, or every `*.pem` file of the
/// directory, in name order.
pub fn read_public_keys(path: &Path) -> Result<Vec<(String, String)>, StartupError> {
    let unreadable = |source| StartupError::PublicKey {
        path: path.to_path_buf(),
        source,
    };
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files = std::fs::read_dir(path)
            .map_err(unreadable)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|file| file.is_file() && file.extension().is_some_and(|ext| ext == "pem"))
            .collect::<Vec<_>>();
        files.sort();
        if files.is_empty() {
            return Err(StartupError::NoKeys(path.to_path_buf()));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    files
        .into_iter()
        .map(|file| {
            let pem = std::fs::read_to_string(&file).map_err(|source| StartupError::PublicKey {
                path: file.clone(),
                source,
            })?;
            Ok((key_id_of(&file), pem))
        })
        .collect()
}

/// `keys/2026-12.pub.pem` → `2026-12`.
fn key_id_of(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.strip_suffix(".pem").unwrap_or(&name);
    name.strip_suffix(".pub").unwrap_or(name).to_owned()
}

/// Loads the verifier from the configured key file or directory.
pub fn load_verifier(auth: &AuthSettings) -> Result<Arc<TokenVerifier>, StartupError> {
    let keys = read_public_keys(&auth.public_key_path)?;
    TokenVerifier::from_public_pems(keys)
        .map(|verifier| Arc::new(verifier.with_audience(auth.audience.as_deref())))
        .map_err(|source| StartupError::InvalidKey {
            path: auth.public_key_path.clone(),
            source,
        })
}

/// Reads the keys again and swaps them into `verifier` if they changed; `Ok(true)` if they did.
/// A broken key file keeps the keys in use (and says so) rather than locking everyone out.
pub fn reload_keys(
    verifier: &TokenVerifier,
    auth: &AuthSettings,
    current: &mut Vec<(String, String)>,
) -> Result<bool, StartupError> {
    let keys = read_public_keys(&auth.public_key_path)?;
    if keys == *current {
        return Ok(false);
    }
    verifier
        .replace_keys(keys.clone())
        .map_err(|source| StartupError::InvalidKey {
            path: auth.public_key_path.clone(),
            source,
        })?;
    *current = keys;
    Ok(true)
}

/// Re-reads the key files every `reload_interval` for the life of the process.
pub fn watch_keys(verifier: Arc<TokenVerifier>, auth: AuthSettings) -> tokio::task::JoinHandle<()> {
    // What the verifier holds now, read before returning so no change after it is missed.
    let mut current = read_public_keys(&auth.public_key_path).unwrap_or_default();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(auth.reload_interval.max(Duration::from_secs(1)));
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match reload_keys(&verifier, &auth, &mut current) {
                Ok(true) => tracing::info!(
                    keys = ?verifier.key_ids(),
                    "token public keys reloaded"
                ),
                Ok(false) => {}
                Err(error) => {
                    tracing::error!(error = %error, "cannot reload the token public keys; keeping the current ones")
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthError, Principal, Role, TokenIssuer, generate_dev_keypair};

    fn office() -> Principal {
        Principal {
            subject: "van-thu".to_owned(),
            role: Role::Office,
            unit_code: None,
            leader_id: None,
        }
    }

    /// A key pair whose public half is `<dir>/<kid>.pub.pem`, and a token signed with it.
    fn key_in(dir: &Path, kid: &str) -> String {
        let (private_pem, public_pem) = generate_dev_keypair().expect("key pair");
        std::fs::write(dir.join(format!("{kid}.pub.pem")), public_pem).expect("write key");
        TokenIssuer::from_private_pem(&private_pem)
            .expect("issuer")
            .with_kid(kid)
            .mint(&office(), Duration::from_secs(600))
            .expect("token")
    }

    fn auth(dir: &Path) -> AuthSettings {
        AuthSettings {
            public_key_path: dir.to_path_buf(),
            audience: None,
            reload_interval: Duration::from_secs(1),
        }
    }

    #[test]
    fn tokens_of_the_old_and_the_new_key_both_work_during_the_overlap_and_the_old_stops_when_removed()
     {
        let dir = tempfile::tempdir().expect("tempdir");
        let old_token = key_in(dir.path(), "2026-06");
        let settings = auth(dir.path());
        let verifier = load_verifier(&settings).expect("verifier");
        let mut current = read_public_keys(dir.path()).expect("keys");
        let before_rotation = verifier.verify(&old_token).map(|p| p.subject);

        let new_token = key_in(dir.path(), "2026-12");
        let added = reload_keys(&verifier, &settings, &mut current).expect("reload");
        let overlap = (
            verifier.verify(&old_token).map(|p| p.subject),
            verifier.verify(&new_token).map(|p| p.subject),
        );
        std::fs::remove_file(dir.path().join("2026-06.pub.pem")).expect("remove the old key");
        let removed = reload_keys(&verifier, &settings, &mut current).expect("reload");
        let after = (verifier.verify(&old_token), verifier.verify(&new_token));

        assert_eq!(before_rotation.expect("the old key works"), "van-thu");
        assert!(added, "the new key file is noticed");
        assert_eq!(overlap.0.expect("old key during the overlap"), "van-thu");
        assert_eq!(overlap.1.expect("new key during the overlap"), "van-thu");
        assert!(removed);
        assert!(
            matches!(after.0, Err(AuthError::BadSignature)),
            "a removed key's token is refused, even though it was verified before: {:?}",
            after.0
        );
        assert!(after.1.is_ok());
        assert_eq!(verifier.key_ids(), ["2026-12"]);
    }

    #[test]
    fn a_token_naming_a_key_is_checked_with_that_key_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let token = key_in(dir.path(), "a");
        // Another key file under the name the token gives: the signature cannot match it.
        let (_, other_public) = generate_dev_keypair().expect("key pair");
        std::fs::write(dir.path().join("a.pub.pem"), other_public).expect("write");
        let verifier = load_verifier(&auth(dir.path())).expect("verifier");

        assert!(matches!(
            verifier.verify(&token),
            Err(AuthError::BadSignature)
        ));
    }

    #[test]
    fn an_empty_key_directory_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");

        let error = load_verifier(&auth(dir.path())).expect_err("no keys");

        assert!(error.to_string().contains("no token public key"), "{error}");
    }

    #[test]
    fn with_an_audience_only_tokens_for_this_deployment_are_accepted() {
        let (private_pem, public_pem) = generate_dev_keypair().expect("key pair");
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("k.pub.pem");
        std::fs::write(&key, public_pem).expect("write");
        let settings = AuthSettings {
            public_key_path: key,
            audience: Some("haiphong-prod".to_owned()),
            reload_interval: Duration::from_secs(30),
        };
        let verifier = load_verifier(&settings).expect("verifier");
        let mint = |aud: Option<&str>| {
            TokenIssuer::from_private_pem(&private_pem)
                .expect("issuer")
                .with_audience(aud.map(str::to_owned))
                .mint(&office(), Duration::from_secs(600))
                .expect("token")
        };

        assert!(verifier.verify(&mint(Some("haiphong-prod"))).is_ok());
        assert!(verifier.verify(&mint(Some("haiphong-test"))).is_err());
        assert!(
            verifier.verify(&mint(None)).is_err(),
            "a token for no deployment"
        );
    }

    #[tokio::test]
    async fn the_key_watch_picks_up_a_new_key_without_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        key_in(dir.path(), "old");
        let settings = auth(dir.path());
        let verifier = load_verifier(&settings).expect("verifier");
        let watch = watch_keys(verifier.clone(), settings);

        let new_token = key_in(dir.path(), "new");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while verifier.verify(&new_token).is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the new key was never loaded"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        watch.abort();
    }
}
