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
use crate::lifecycle::NatsCredentials;

/// What every dondoc service is told about its surroundings (`[assignment]`, `[reporting]`, …
/// in the config file, `DONDOC_<SERVICE>__*` in the environment).
///
/// Passwords are never settings: `database_password_file` and `nats_password_file` name files
/// that hold them (compose secrets under `/run/secrets`), read at start by
/// [`ServiceSettings::database_url_with_secret`] and [`ServiceSettings::nats_credentials`].
#[derive(Clone, Debug, Deserialize)]
pub struct ServiceSettings {
    /// Its own database: `sqlite:PATH` or `postgres://…`. With `database_password_file`, a
    /// `postgres://USER@HOST:PORT/DB` URL without a password.
    pub database_url: String,
    /// A file holding the password of the user in `database_url` (trailing line breaks are
    /// ignored); open the database with [`ServiceSettings::database_url_with_secret`].
    #[serde(default)]
    pub database_password_file: Option<PathBuf>,
    /// The NATS server, or the servers of a cluster separated by commas
    /// (`nats://n1:4222,nats://n2:4222,nats://n3:4222`).
    pub nats_url: String,
    /// The NATS user to connect as (deploy/nats/nats.conf has one per service); set together
    /// with `nats_password_file`, read by [`ServiceSettings::nats_credentials`].
    #[serde(default)]
    pub nats_user: Option<String>,
    /// A file holding the password of `nats_user` (trailing line breaks are ignored).
    #[serde(default)]
    pub nats_password_file: Option<PathBuf>,
    /// The CA certificate (PEM) that signed the NATS server's: the connection then requires
    /// TLS and checks the server against it. Plaintext when absent (loopback, `dondoc up`).
    #[serde(default)]
    pub nats_ca_path: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// Serve over TLS with this certificate and key; plaintext when absent.
    #[serde(default)]
    pub tls: Option<crate::grpc::TlsSettings>,
    /// Replicas and limits of the service's JetStream stream (`[<service>.stream]`): set
    /// `replicas = 3` on a three-server NATS cluster.
    #[serde(default)]
    pub stream: dondoc_eventsourcing::relay::StreamSettings,
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

impl ServiceSettings {
    /// `database_url` with the password read from `database_password_file` put into its user
    /// information, percent-encoded (sqlx decodes it); `database_url` itself when no file is
    /// set. The result holds the password: hand it to the database driver, never to a log.
    pub fn database_url_with_secret(&self) -> Result<String, SecretError> {
        let Some(path) = &self.database_password_file else {
            return Ok(self.database_url.clone());
        };
        let password = read_secret("database_password_file", path)?;
        url_with_password(&self.database_url, &password)
    }

    /// The NATS user and password to connect with, the password read from
    /// `nats_password_file`; `None` (no authentication) when neither is set. Hand the result
    /// to [`crate::lifecycle::connect_nats_with`].
    pub fn nats_credentials(&self) -> Result<Option<NatsCredentials>, SecretError> {
        match (&self.nats_user, &self.nats_password_file) {
            (None, None) => Ok(None),
            (Some(user), Some(path)) => {
                let password = read_secret("nats_password_file", path)?;
                Ok(Some(NatsCredentials::new(user.clone(), password)))
            }
            (Some(_), None) => Err(SecretError::Incomplete {
                set: "nats_user",
                missing: "nats_password_file",
            }),
            (None, Some(_)) => Err(SecretError::Incomplete {
                set: "nats_password_file",
                missing: "nats_user",
            }),
        }
    }

    /// Opens the service's database (created if missing), with its password when one is
    /// configured; `what` names it in errors ("the assignment database").
    pub async fn open_database(
        &self,
        what: &str,
    ) -> anyhow::Result<dondoc_eventsourcing::Database> {
        use anyhow::Context as _;
        let url = self
            .database_url_with_secret()
            .context("cannot read the database password")?;
        dondoc_eventsourcing::Database::open_with(
            &url,
            dondoc_eventsourcing::db::OpenMode::CreateIfMissing,
            &self.database,
        )
        .await
        .with_context(|| format!("cannot open {what}"))
    }

    /// The service's NATS client (`name` is how the server lists it), with its credentials
    /// when configured. NATS may be down: the client connects in the background.
    pub async fn connect_nats(&self, name: &str) -> anyhow::Result<async_nats::Client> {
        use anyhow::Context as _;
        let credentials = self
            .nats_credentials()
            .context("cannot read the NATS password")?;
        crate::lifecycle::connect_nats_secured(
            &self.nats_url,
            name,
            credentials.as_ref(),
            self.nats_ca_path.as_deref(),
        )
        .await
        .context("cannot create the NATS client")
    }
}

/// A password file that cannot be used, named by its setting (`database_password_file`,
/// `nats_password_file`) so the operator knows which to fix. No variant holds a password.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the {field} {path}: {source}")]
    Unreadable {
        field: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the {field} {path} is empty")]
    Empty { field: &'static str, path: PathBuf },
    #[error("database_password_file is set, but database_url {0}")]
    DatabaseUrl(&'static str),
    #[error("{set} is set without {missing}")]
    Incomplete {
        set: &'static str,
        missing: &'static str,
    },
}

/// The contents of the password file `path` without trailing line breaks (`echo` and `openssl
/// rand` end the file with one).
pub fn read_secret(field: &'static str, path: &Path) -> Result<String, SecretError> {
    let text = std::fs::read_to_string(path).map_err(|source| SecretError::Unreadable {
        field,
        path: path.to_path_buf(),
        source,
    })?;
    let secret = text.trim_end_matches(['\r', '\n']);
    if secret.is_empty() {
        return Err(SecretError::Empty {
            field,
            path: path.to_path_buf(),
        });
    }
    Ok(secret.to_owned())
}

/// `postgres://USER@HOST…` with `password` after the user: `postgres://USER:PASSWORD@HOST…`.
fn url_with_password(url: &str, password: &str) -> Result<String, SecretError> {
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(scheme, _)| matches!(*scheme, "postgres" | "postgresql"))
        .ok_or(SecretError::DatabaseUrl(
            "is not a postgres:// URL (a password file is for PostgreSQL only)",
        ))?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (user, host) = match authority.rsplit_once('@') {
        Some((user, host)) if !user.is_empty() => (user, host),
        _ => {
            return Err(SecretError::DatabaseUrl(
                "names no user: write postgres://USER@HOST:PORT/DATABASE",
            ));
        }
    };
    if user.contains(':') {
        return Err(SecretError::DatabaseUrl(
            "already holds a password: remove it from the URL",
        ));
    }
    Ok(format!(
        "{scheme}://{user}:{}@{host}{tail}",
        percent_encode_userinfo(password)
    ))
}

/// Percent-encodes every byte but RFC 3986's unreserved characters (letters, digits, `-`, `.`,
/// `_`, `~`), which is always safe inside the user information of a URL.
fn percent_encode_userinfo(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    encoded
}

/// Where a service finds the public keys that verify bearer tokens (`[auth]`).
#[derive(Clone, Debug, Deserialize)]
pub struct AuthSettings {
    /// A PEM file of the Ed25519 public key (SPKI), or a directory of them (`<kid>.pub.pem`
    /// or `<kid>.pem`): each key is named by its file, and tokens name theirs in the `kid`
    /// header. A directory is how keys rotate without a flag day: add the new key, switch the
    /// issuer, remove the old key once its tokens have expired.
    pub public_key_path: PathBuf,
    /// Accept only tokens whose `aud` is this deployment's name; unset or empty: no audience
    /// check (compose passes an empty `DONDOC_AUTH__AUDIENCE` when none is configured).
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
    let audience = auth
        .audience
        .as_deref()
        .filter(|audience| !audience.is_empty());
    TokenVerifier::from_public_pems(keys)
        .map(|verifier| Arc::new(verifier.with_audience(audience)))
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

    /// Settings of a service on PostgreSQL, its password in `password_file` if given.
    fn postgres_settings(url: &str, password_file: Option<PathBuf>) -> ServiceSettings {
        ServiceSettings {
            database_url: url.to_owned(),
            database_password_file: password_file,
            nats_url: "nats://127.0.0.1:4222".to_owned(),
            nats_user: None,
            nats_password_file: None,
            nats_ca_path: None,
            listen: "127.0.0.1:0".to_owned(),
            tls: None,
            database: Default::default(),
            stream: Default::default(),
            shutdown_drain: Duration::ZERO,
            anchor: None,
        }
    }

    /// A password file holding `contents`, as `openssl rand … > file` or `echo` write it.
    fn secret_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).expect("write the password file");
        path
    }

    /// `%XX` back to bytes, to show the encoding loses nothing.
    fn percent_decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut decoded = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ASCII hex");
                decoded.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
                i += 3;
            } else {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(decoded).expect("UTF-8")
    }

    #[test]
    fn the_password_file_goes_into_the_url_percent_encoded() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Every character that means something in a URL, a quote, a backslash, non-ASCII.
        let password = "p@ss:w/o'rd;\"$x\\ %+é?#&=[]";
        let file = secret_file(dir.path(), "pg-password", &format!("{password}\n"));
        let settings = postgres_settings(
            "postgres://assignment@postgres:5432/assignment?sslmode=disable",
            Some(file),
        );

        let url = settings.database_url_with_secret().expect("the URL");

        assert_eq!(
            url,
            "postgres://assignment:p%40ss%3Aw%2Fo%27rd%3B%22%24x%5C%20%25%2B%C3%A9%3F%23%26%3D%5B%5D\
             @postgres:5432/assignment?sslmode=disable"
        );
        let encoded = url
            .strip_prefix("postgres://assignment:")
            .and_then(|rest| rest.split_once('@'))
            .map(|(encoded, _)| encoded)
            .expect("the password sits between the user and the host");
        assert_eq!(percent_decode(encoded), password);
    }

    #[test]
    fn base64_passwords_and_windows_line_ends_are_handled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = secret_file(dir.path(), "pg-password", "abc+/=\r\n");
        let settings = postgres_settings("postgresql://reporting@db/reporting", Some(file));

        assert_eq!(
            settings.database_url_with_secret().expect("the URL"),
            "postgresql://reporting:abc%2B%2F%3D@db/reporting"
        );
    }

    #[test]
    fn without_a_password_file_the_url_is_used_as_it_is() {
        for url in [
            "sqlite://data/assignment.db",
            "postgres://dondoc:secret@127.0.0.1:5432/assignment",
        ] {
            let settings = postgres_settings(url, None);

            assert_eq!(settings.database_url_with_secret().expect("the URL"), url);
        }
    }

    #[test]
    fn a_missing_password_file_is_an_error_naming_the_setting_and_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("pg-assignment-password");
        let settings = postgres_settings(
            "postgres://assignment@postgres:5432/assignment",
            Some(missing.clone()),
        );

        let error = settings
            .database_url_with_secret()
            .expect_err("no password file");

        let message = error.to_string();
        assert!(message.contains("database_password_file"), "{message}");
        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
        assert!(matches!(error, SecretError::Unreadable { .. }), "{error:?}");
    }

    #[test]
    fn an_empty_password_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = secret_file(dir.path(), "pg-password", "\n");
        let settings = postgres_settings("postgres://assignment@postgres/assignment", Some(file));

        let error = settings
            .database_url_with_secret()
            .expect_err("an empty password");

        assert!(matches!(error, SecretError::Empty { .. }), "{error:?}");
        assert!(
            error.to_string().contains("database_password_file"),
            "{error}"
        );
    }

    #[test]
    fn a_password_file_needs_a_postgres_url_with_a_user_and_no_password() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = secret_file(dir.path(), "pg-password", "s3cret\n");
        for (url, reason) in [
            ("sqlite://data/assignment.db", "is not a postgres:// URL"),
            ("postgres://postgres:5432/assignment", "names no user"),
            ("postgres://@postgres:5432/assignment", "names no user"),
            (
                "postgres://assignment:old@postgres:5432/assignment",
                "already holds a password",
            ),
        ] {
            let settings = postgres_settings(url, Some(file.clone()));

            let error = settings
                .database_url_with_secret()
                .expect_err("an unusable URL");

            let message = error.to_string();
            assert!(message.contains(reason), "{url}: {message}");
            assert!(!message.contains("s3cret"), "{url}: {message}");
        }
    }

    #[test]
    fn nats_credentials_come_from_the_user_and_the_password_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = secret_file(dir.path(), "nats-password", "n4ts+pw/=\n");
        let mut settings = postgres_settings("sqlite://data/assignment.db", None);
        assert!(settings.nats_credentials().expect("no NATS user").is_none());

        settings.nats_user = Some("assignment".to_owned());
        settings.nats_password_file = Some(file);
        let credentials = settings
            .nats_credentials()
            .expect("credentials")
            .expect("a NATS user");

        assert_eq!(credentials.user(), "assignment");
        assert_eq!(credentials.inbox_prefix(), "_INBOX_assignment");
        let shown = format!("{credentials:?}");
        assert!(
            shown.contains("assignment") && !shown.contains("n4ts"),
            "{shown}"
        );
    }

    #[test]
    fn a_nats_user_without_a_password_file_or_the_reverse_is_an_error() {
        let mut user_only = postgres_settings("sqlite://data/assignment.db", None);
        user_only.nats_user = Some("assignment".to_owned());
        let mut file_only = postgres_settings("sqlite://data/assignment.db", None);
        file_only.nats_password_file = Some(PathBuf::from("/run/secrets/nats-assignment-password"));

        for settings in [user_only, file_only] {
            let error = settings.nats_credentials().expect_err("incomplete");

            let message = error.to_string();
            assert!(
                message.contains("nats_user") && message.contains("nats_password_file"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_missing_nats_password_file_is_an_error_naming_the_setting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = postgres_settings("sqlite://data/assignment.db", None);
        settings.nats_user = Some("assignment".to_owned());
        settings.nats_password_file = Some(dir.path().join("nats-assignment-password"));

        let error = settings.nats_credentials().expect_err("no password file");

        assert!(error.to_string().contains("nats_password_file"), "{error}");
    }

    #[test]
    fn an_empty_audience_means_no_audience_check() {
        let (private_pem, public_pem) = generate_dev_keypair().expect("key pair");
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("k.pub.pem");
        std::fs::write(&key, public_pem).expect("write");
        let settings = AuthSettings {
            public_key_path: key,
            audience: Some(String::new()),
            reload_interval: Duration::from_secs(30),
        };
        let verifier = load_verifier(&settings).expect("verifier");
        let token = TokenIssuer::from_private_pem(&private_pem)
            .expect("issuer")
            .with_audience(Some("haiphong-prod".to_owned()))
            .mint(&office(), Duration::from_secs(600))
            .expect("token");

        assert!(verifier.verify(&token).is_ok());
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
