//! A real SMTP server for the e-mail tests: aiosmtpd, pinned, installed with pip into the
//! dondoc cache the way nats-server is, running `tests/support/smtp_sink.py`, which writes each
//! accepted message decoded (headers and body as a recipient's client shows them) as a JSON
//! line that tests read.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// aiosmtpd and its dependencies, pinned.
pub const PINNED_AIOSMTPD: &[&str] = &["aiosmtpd==1.4.6", "atpublic==9.0.0", "attrs==26.1.0"];

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/support/smtp_sink.py");

/// One message as the recipient would read it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub content_type: String,
    pub charset: Option<String>,
    pub body: String,
}

/// A running local SMTP server; stopped when dropped.
pub struct SmtpSink {
    pub port: u16,
    out: PathBuf,
    _child: Child,
    _dir: tempfile::TempDir,
}

fn cache_dir() -> PathBuf {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    env("DONDOC_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| env("XDG_CACHE_HOME").map(|x| PathBuf::from(x).join("dondoc")))
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache").join("dondoc")))
        .unwrap_or_else(std::env::temp_dir)
}

/// Installs aiosmtpd into the cache once (staged, then renamed, so parallel tests never see a
/// half-written copy); the directory to put on `PYTHONPATH`.
fn install() -> PathBuf {
    let cache = cache_dir();
    let target = cache.join("aiosmtpd-1.4.6");
    if target.join("aiosmtpd").is_dir() {
        return target;
    }
    std::fs::create_dir_all(&cache).expect("create the cache directory");
    let staging = tempfile::Builder::new()
        .prefix(".aiosmtpd-install-")
        .tempdir_in(&cache)
        .expect("staging directory");
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
        .args(PINNED_AIOSMTPD)
        .stdin(Stdio::null())
        .output()
        .expect("run python3 -m pip");
    assert!(
        output.status.success(),
        "pip install aiosmtpd failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    if std::fs::rename(staging.path(), &target).is_ok() {
        let _ = staging.keep();
    }
    assert!(target.join("aiosmtpd").is_dir(), "aiosmtpd not installed");
    target
}

impl SmtpSink {
    pub async fn start() -> Self {
        let pythonpath = tokio::task::spawn_blocking(install)
            .await
            .expect("install aiosmtpd");
        let dir = tempfile::tempdir().expect("temporary directory");
        let out = dir.path().join("mail.jsonl");
        let mut child = Command::new("python3")
            .arg(SCRIPT)
            .arg(&out)
            .env("PYTHONPATH", &pythonpath)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP sink");
        let stdout = child.stdout.take().expect("sink stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the SMTP sink starts within 30 s")
            .expect("read the sink's first line")
            .expect("the sink prints its port");
        let port = line
            .strip_prefix("ready ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the sink: {line}"));
        Self {
            port,
            out,
            _child: child,
            _dir: dir,
        }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        read(&self.out)
    }

    /// Polls until `done` holds for the messages received, failing after 30 s.
    pub async fn messages_when(
        &self,
        what: &str,
        done: impl Fn(&[ReceivedMail]) -> bool,
    ) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let messages = self.messages();
            if done(&messages) {
                return messages;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for e-mail: {what}; received {messages:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn read(path: &Path) -> Vec<ReceivedMail> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line from the sink"))
        .collect()
}
