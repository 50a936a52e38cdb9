//! The development Ed25519 key pair that signs and verifies tokens on a single machine.
//!
//! The key lives under the data directory (`<data>/keys/`) rather than being generated per run
//! or kept in a per-user location, because tokens must outlive one run of `dondoc up`: the
//! admin token, tokens minted with `dondoc token` and handed to colleagues or scripts all stay
//! valid across restarts only if the verifying key does. Tying the key to the data directory
//! also gives it the same lifetime as the data it protects: deleting the directory resets
//! everything together, and two data directories (two environments on one laptop) never accept
//! each other's tokens.
//!
//! It is a development key. Production keys are provisioned out of band (the private key stays
//! with the identity issuer; services receive only the public key) and dondoc never writes them.

use std::fmt;
use std::fs::{DirBuilder, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use dondoc_runtime::auth::{Principal, Role, TokenIssuer, TokenVerifier, generate_dev_keypair};

/// Directory under the data directory that holds the key pair.
pub const KEYS_DIR: &str = "keys";
/// PKCS#8 PEM private key; readable by the owner only.
pub const PRIVATE_KEY_FILE: &str = "dev-ed25519.pem";
/// SPKI PEM public key.
pub const PUBLIC_KEY_FILE: &str = "dev-ed25519.pub.pem";

/// The development key pair, as PEM text.
#[derive(Clone, PartialEq, Eq)]
pub struct DevKeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

impl fmt::Debug for DevKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The private key must never reach a log line.
        f.debug_struct("DevKeyPair")
            .field("public_pem", &self.public_pem)
            .finish_non_exhaustive()
    }
}

impl DevKeyPair {
    /// An issuer that signs with the private key.
    pub fn issuer(&self) -> anyhow::Result<TokenIssuer> {
        TokenIssuer::from_private_pem(&self.private_pem).context("invalid development private key")
    }

    /// A verifier that checks with the public key.
    pub fn verifier(&self) -> anyhow::Result<TokenVerifier> {
        TokenVerifier::from_public_pem(&self.public_pem).context("invalid development public key")
    }
}

/// `<data>/keys/dev-ed25519.pem`.
pub fn private_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYS_DIR).join(PRIVATE_KEY_FILE)
}

/// `<data>/keys/dev-ed25519.pub.pem`.
pub fn public_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYS_DIR).join(PUBLIC_KEY_FILE)
}

/// Returns the key pair of `data_dir`, generating it on first use.
///
/// A directory holding only one half of a pair is refused rather than repaired: silently
/// replacing a private key would invalidate every token already handed out, and that should be
/// the operator's decision.
pub fn load_or_generate(data_dir: &Path) -> anyhow::Result<DevKeyPair> {
    let private_path = private_key_path(data_dir);
    let public_path = public_key_path(data_dir);
    match (private_path.exists(), public_path.exists()) {
        (true, true) => load(&private_path, &public_path),
        (false, false) => generate(data_dir, &private_path, &public_path),
        (true, false) | (false, true) => bail!(
            "{} holds only half of the development key pair (expected {} and {}); delete the \
             directory to generate a new pair, which invalidates every token signed with the old \
             one",
            data_dir.join(KEYS_DIR).display(),
            PRIVATE_KEY_FILE,
            PUBLIC_KEY_FILE,
        ),
    }
}

/// Reads the private key of `data_dir` without ever generating one: a token signed by a fresh
/// key that no running service knows would be useless.
pub fn load_private(data_dir: &Path) -> anyhow::Result<String> {
    let path = private_key_path(data_dir);
    if !path.exists() {
        bail!(
            "no development key at {}; run `dondoc up --data-dir {}` once to create it",
            path.display(),
            data_dir.display()
        );
    }
    read_private(&path)
}

fn load(private_path: &Path, public_path: &Path) -> anyhow::Result<DevKeyPair> {
    let keys = DevKeyPair {
        private_pem: read_private(private_path)?,
        public_pem: std::fs::read_to_string(public_path)
            .with_context(|| format!("cannot read {}", public_path.display()))?,
    };
    check_pair(&keys).with_context(|| {
        format!(
            "{} and {} are not a matching Ed25519 key pair",
            private_path.display(),
            public_path.display()
        )
    })?;
    tracing::debug!(key = %public_path.display(), "reusing development key pair");
    Ok(keys)
}

fn read_private(path: &Path) -> anyhow::Result<String> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    // Like ssh with an exposed private key: refuse rather than sign with a key others may
    // have copied.
    if metadata.permissions().mode() & 0o077 != 0 {
        anyhow::bail!(
            "{} is readable by other users; run `chmod 600 {}` (anyone who can read it can mint \
             tokens)",
            path.display(),
            path.display()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Proves the two files belong together by signing and verifying a throwaway token, so a
/// mismatched pair fails here with file names rather than later as "bad signature" on every
/// call.
fn check_pair(keys: &DevKeyPair) -> anyhow::Result<()> {
    let probe = Principal {
        subject: "dondoc-key-check".to_owned(),
        role: Role::Admin,
        unit_code: None,
        leader_id: None,
    };
    let token = keys.issuer()?.mint(&probe, Duration::from_secs(60))?;
    keys.verifier()?.verify(&token)?;
    Ok(())
}

fn generate(
    data_dir: &Path,
    private_path: &Path,
    public_path: &Path,
) -> anyhow::Result<DevKeyPair> {
    let keys_dir = data_dir.join(KEYS_DIR);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&keys_dir)
        .with_context(|| format!("cannot create {}", keys_dir.display()))?;
    let (private_pem, public_pem) =
        generate_dev_keypair().context("cannot generate the development key pair")?;
    // The private half first: a crash in between leaves a pair that `load_or_generate` refuses
    // loudly, never a public key whose private half is lost.
    write_new(private_path, &private_pem, 0o600)?;
    write_new(public_path, &public_pem, 0o644)?;
    tracing::info!(key = %public_path.display(), "generated development key pair");
    Ok(DevKeyPair {
        private_pem,
        public_pem,
    })
}

/// The anchor key: signs checkpoints of the event logs (`dondoc_eventsourcing::anchor`).
pub const ANCHOR_KEY_FILE: &str = "anchor-ed25519.pem";
/// Its public half, which `dondoc verify` checks anchors with.
pub const ANCHOR_PUBLIC_KEY_FILE: &str = "anchor-ed25519.pub.pem";

/// `<data>/keys/anchor-ed25519.pem`.
pub fn anchor_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYS_DIR).join(ANCHOR_KEY_FILE)
}

/// `<data>/keys/anchor-ed25519.pub.pem`.
pub fn anchor_public_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYS_DIR).join(ANCHOR_PUBLIC_KEY_FILE)
}

/// The anchor key of `data_dir` (its path), generated on first use together with its public
/// half. It is a file of its own, never in a database: on one machine that keeps it out of
/// reach of SQL, and a deployment mounts it as a secret the database host does not have.
pub fn anchor_key_or_generate(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let private_path = anchor_key_path(data_dir);
    let public_path = anchor_public_key_path(data_dir);
    if private_path.exists() {
        read_private(&private_path)?;
        if !public_path.exists() {
            let signer = dondoc_eventsourcing::anchor::AnchorSigner::from_file(&private_path)?;
            write_new(&public_path, &signer.public_pem()?, 0o644)?;
        }
        return Ok(private_path);
    }
    let keys_dir = data_dir.join(KEYS_DIR);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&keys_dir)
        .with_context(|| format!("cannot create {}", keys_dir.display()))?;
    let signer = dondoc_eventsourcing::anchor::AnchorSigner::generate();
    write_new(&private_path, &signer.private_pem()?, 0o600)?;
    write_new(&public_path, &signer.public_pem()?, 0o644)?;
    tracing::info!(key = %public_path.display(), kid = signer.kid(), "generated the anchor key");
    Ok(private_path)
}

/// Creates `path` with `mode` from the start (no window in which the private key is readable by
/// others) and refuses to overwrite, so two processes racing on one data directory cannot end up
/// with different keys.
fn write_new(path: &Path, contents: &str, mode: u32) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_call_creates_the_pair_and_second_call_reuses_it() {
        let dir = tempfile::tempdir().expect("tempdir");

        let first = load_or_generate(dir.path()).expect("generates");
        let second = load_or_generate(dir.path()).expect("reuses");

        assert_eq!(second.public_pem, first.public_pem);
        assert_eq!(second.private_pem, first.private_pem);
        assert!(private_key_path(dir.path()).is_file());
        assert!(public_key_path(dir.path()).is_file());
    }

    #[test]
    fn the_private_key_is_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().expect("tempdir");

        load_or_generate(dir.path()).expect("generates");

        let mode = std::fs::metadata(private_key_path(dir.path()))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_token_minted_with_the_loaded_private_key_verifies_with_the_generated_public_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let generated = load_or_generate(dir.path()).expect("generates");
        let issuer =
            TokenIssuer::from_private_pem(&load_private(dir.path()).expect("private key is there"))
                .expect("parses");
        let admin = Principal {
            subject: "admin".to_owned(),
            role: Role::Admin,
            unit_code: None,
            leader_id: None,
        };

        let token = issuer.mint(&admin, Duration::from_secs(60)).expect("mints");

        assert_eq!(
            generated
                .verifier()
                .expect("verifier")
                .verify(&token)
                .expect("verifies"),
            admin
        );
    }

    #[test]
    fn half_a_pair_is_refused_instead_of_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        load_or_generate(dir.path()).expect("generates");
        let private_before =
            std::fs::read_to_string(private_key_path(dir.path())).expect("private key");
        std::fs::remove_file(public_key_path(dir.path())).expect("remove public key");

        let result = load_or_generate(dir.path());

        let error = result.expect_err("must refuse");
        assert!(error.to_string().contains("half"), "{error:#}");
        let private_after =
            std::fs::read_to_string(private_key_path(dir.path())).expect("private key");
        assert_eq!(private_after, private_before);
    }

    #[test]
    fn a_mismatched_pair_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        load_or_generate(dir.path()).expect("generates");
        let (_, other_public) = generate_dev_keypair().expect("generates");
        std::fs::write(public_key_path(dir.path()), other_public).expect("overwrite public key");

        let error = load_or_generate(dir.path()).expect_err("must refuse");

        assert!(error.to_string().contains("matching"), "{error:#}");
    }

    #[test]
    fn load_private_never_generates() {
        let dir = tempfile::tempdir().expect("tempdir");

        let error = load_private(dir.path()).expect_err("no key yet");

        assert!(error.to_string().contains("dondoc up"), "{error:#}");
        assert!(!dir.path().join(KEYS_DIR).exists());
    }
}
