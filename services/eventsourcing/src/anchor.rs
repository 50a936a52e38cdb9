//! Anchors: signed checkpoints of the hash chain, kept where the database administrator cannot
//! reach them.
//!
//! The hash chain ([`crate::hash_chain`]) catches edits that do not bother to hide themselves.
//! But the chain and its head live in the same database, so whoever can write SQL can also
//! delete the tail and set `log_head` back, or recompute every hash after an edit, and the
//! chain alone would still look intact. An anchor closes that gap up to the moment it was made:
//! a [`Checkpoint`] (service, position, hash of the event there, time) signed with an Ed25519
//! key that the database does not hold, appended to a file outside the database and published
//! to a JetStream stream that refuses deletes and purges.
//!
//! `dondoc verify` checks the log against every anchor it is given:
//!
//! | Tampering | Detected |
//! |---|---|
//! | an event edited, deleted or moved (without rehashing) | always, by the chain |
//! | trailing events deleted, `log_head` left alone | always, by the chain |
//! | a row inserted beyond the head, or the head set back | always ([`Tampering::BeyondHead`]) |
//! | events deleted up to below an anchor and `log_head` rewritten | yes, after that anchor |
//! | any event at or before an anchor rewritten, whole chain recomputed | yes, after that anchor |
//! | the same, confined to events after the latest anchor | **no**: the window is the anchor interval |
//! | anchors edited or forged in the file | yes: the signature fails |
//! | anchors deleted from the file *and* the stream | **no**, unless an older copy is kept |
//! | tampering by someone who holds the anchor private key | **no** |
//!
//! Before signing, the [`Anchorer`] checks the chain from its previous anchor to the head, so
//! it never vouches for a log that was tampered with since: it refuses, logs an error and
//! counts the refusal instead.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_nats::jetstream;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::pkcs8::EncodePublicKey as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio_util::sync::CancellationToken;

use crate::Database;
use crate::clock::SharedClock;
use crate::hash_chain::{GENESIS_HASH, Tampering, VerifyReport};
use crate::store::{StoreError, hash_at, head_and_hash, verify_log, walk_chain};

/// The JetStream stream that keeps every service's anchors.
pub const ANCHOR_STREAM: &str = "DONDOC_ANCHORS";

/// The subject of `service`'s anchors.
pub fn anchor_subject(service: &str) -> String {
    format!("dondoc.anchors.{service}")
}

/// What an anchor vouches for: the log of `service` held, at `anchored_at`, an event at
/// `position` whose hash was `hash`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub service: String,
    pub position: u64,
    pub hash: String,
    pub anchored_at: DateTime<Utc>,
}

impl Checkpoint {
    /// The signed bytes: a fixed layout with a version tag, not the JSON (whose field order and
    /// escaping are not ours to fix).
    fn signed_bytes(&self) -> Vec<u8> {
        format!(
            "dondoc-anchor-v1\n{}\n{}\n{}\n{}",
            self.service,
            self.position,
            self.hash,
            self.anchored_at
                .to_rfc3339_opts(SecondsFormat::Micros, true)
        )
        .into_bytes()
    }

    fn anchored_at_text(&self) -> String {
        self.anchored_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// A checkpoint with its signature; one line of JSON in the anchor file and one message on the
/// stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// Which key signed it ([`key_id`] of its public key).
    pub kid: String,
    /// Ed25519 signature, base64.
    pub signature: String,
}

/// Errors of anchoring and of checking anchors.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("invalid anchor key: {0}")]
    Key(String),
    #[error("cannot read the anchor file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot append to the anchor file {path}: {source}")]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("line {line} of the anchor file {path} is not an anchor: {reason}")]
    Malformed {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("the anchor of {service} at position {position} was signed by an unknown key {kid:?}")]
    UnknownKey {
        service: String,
        position: u64,
        kid: String,
    },
    #[error(
        "the anchor of {service} at position {position} has an invalid signature: it was \
         altered or forged"
    )]
    BadSignature { service: String, position: u64 },
    #[error("an anchor of service {found:?} was given to check the {expected:?} log")]
    WrongService { expected: String, found: String },
    #[error(
        "refusing to anchor the {service} log: it was tampered with since the last anchor: \
         {problem}"
    )]
    Tampered { service: String, problem: Tampering },
    #[error("JetStream: {0}")]
    JetStream(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The id of a public key: the first 16 hex digits of the SHA-256 of its raw bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// The private half, held by the service (a file or secret outside the database).
pub struct AnchorSigner {
    key: SigningKey,
    kid: String,
}

impl std::fmt::Debug for AnchorSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key must never reach a log line.
        f.debug_struct("AnchorSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl AnchorSigner {
    /// A new random key (development and tests; production keys are provisioned).
    pub fn generate() -> Self {
        Self::from_key(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    fn from_key(key: SigningKey) -> Self {
        let kid = key_id(&key.verifying_key());
        Self { key, kid }
    }

    /// From a PKCS#8 PEM private key (what `openssl genpkey -algorithm ed25519` writes).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, AnchorError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(Self::from_key)
            .map_err(|e| AnchorError::Key(e.to_string()))
    }

    /// Reads the private key file.
    pub fn from_file(path: &Path) -> Result<Self, AnchorError> {
        let pem = std::fs::read_to_string(path).map_err(|source| AnchorError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_pkcs8_pem(&pem)
    }

    pub fn private_pem(&self) -> Result<String, AnchorError> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| AnchorError::Key(e.to_string()))
    }

    pub fn public_pem(&self) -> Result<String, AnchorError> {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| AnchorError::Key(e.to_string()))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn sign(&self, checkpoint: Checkpoint) -> SignedCheckpoint {
        let signature = self.key.sign(&checkpoint.signed_bytes());
        SignedCheckpoint {
            checkpoint,
            kid: self.kid.clone(),
            signature: base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()),
        }
    }

    /// A verifier that knows this key.
    pub fn verifier(&self) -> AnchorVerifier {
        AnchorVerifier::from_keys([self.key.verifying_key()])
    }
}

/// The public keys anchors are checked with, by [`key_id`]: an old key stays listed while its
/// anchors matter, a new one is added when the signer rotates.
#[derive(Clone, Debug, Default)]
pub struct AnchorVerifier {
    keys: std::collections::BTreeMap<String, VerifyingKey>,
}

impl AnchorVerifier {
    pub fn from_keys(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Self {
            keys: keys.into_iter().map(|key| (key_id(&key), key)).collect(),
        }
    }

    /// From SPKI PEM public keys.
    pub fn from_public_pems<'a>(
        pems: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, AnchorError> {
        let keys = pems
            .into_iter()
            .map(|pem| {
                VerifyingKey::from_public_key_pem(pem).map_err(|e| AnchorError::Key(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_keys(keys))
    }

    /// Checks the signature of `anchor`.
    pub fn verify(&self, anchor: &SignedCheckpoint) -> Result<(), AnchorError> {
        let checkpoint = &anchor.checkpoint;
        let key = self
            .keys
            .get(&anchor.kid)
            .ok_or_else(|| AnchorError::UnknownKey {
                service: checkpoint.service.clone(),
                position: checkpoint.position,
                kid: anchor.kid.clone(),
            })?;
        let bad = || AnchorError::BadSignature {
            service: checkpoint.service.clone(),
            position: checkpoint.position,
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&anchor.signature)
            .map_err(|_| bad())?;
        let signature = Signature::from_slice(&bytes).map_err(|_| bad())?;
        key.verify(&checkpoint.signed_bytes(), &signature)
            .map_err(|_| bad())
    }
}

// ---------------------------------------------------------------------------------------------
// Where anchors are kept.

/// Appends `anchor` as one JSON line and syncs it to disk; the file is created owner-only.
pub fn append_to_file(path: &Path, anchor: &SignedCheckpoint) -> Result<(), AnchorError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let failed = |source| AnchorError::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let mut line = serde_json::to_string(anchor).map_err(|e| failed(std::io::Error::other(e)))?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    file.write_all(line.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)
}

/// Every anchor in the file, in order; a missing file holds none.
pub fn read_file(path: &Path) -> Result<Vec<SignedCheckpoint>, AnchorError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(AnchorError::ReadFile {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut anchors = Vec::new();
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| AnchorError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let anchor = serde_json::from_str(&line).map_err(|e| AnchorError::Malformed {
            path: path.to_path_buf(),
            line: index + 1,
            reason: e.to_string(),
        })?;
        anchors.push(anchor);
    }
    Ok(anchors)
}

/// Creates the anchor stream if missing. It refuses deletes and purges, so a NATS client can
/// add anchors but not take them away.
/// Made with `replicas` copies on a cluster, like the services' event streams, and no age or
/// size limit, since an anchor dropped is evidence lost. An existing anchor stream is never
/// updated by a service (its NATS user may not): the operator changes its replicas.
pub async fn ensure_anchor_stream(
    js: &jetstream::Context,
    replicas: usize,
) -> Result<(), AnchorError> {
    js.get_or_create_stream(jetstream::stream::Config {
        name: ANCHOR_STREAM.to_owned(),
        subjects: vec!["dondoc.anchors.>".to_owned()],
        storage: jetstream::stream::StorageType::File,
        deny_delete: true,
        deny_purge: true,
        num_replicas: replicas.max(1),
        ..Default::default()
    })
    .await
    .map(|_| ())
    .map_err(|e| AnchorError::JetStream(e.to_string()))
}

/// Publishes `anchor` and waits for the stream's acknowledgement.
pub async fn publish(
    js: &jetstream::Context,
    anchor: &SignedCheckpoint,
) -> Result<(), AnchorError> {
    let body = serde_json::to_vec(anchor).map_err(|e| AnchorError::JetStream(e.to_string()))?;
    let checkpoint = &anchor.checkpoint;
    let message = jetstream::message::PublishMessage::build()
        .payload(body.into())
        .message_id(format!(
            "{}:{}:{}",
            checkpoint.service, checkpoint.position, anchor.signature
        ));
    js.send_publish(anchor_subject(&checkpoint.service), message)
        .await
        .map_err(|e| AnchorError::JetStream(e.to_string()))?
        .await
        .map_err(|e| AnchorError::JetStream(e.to_string()))?;
    Ok(())
}

/// The latest anchor of `service` on the stream, if any.
pub async fn latest_published(
    js: &jetstream::Context,
    service: &str,
) -> Result<Option<SignedCheckpoint>, AnchorError> {
    let stream = match js.get_stream(ANCHOR_STREAM).await {
        Ok(stream) => stream,
        Err(error) => {
            return match error.kind() {
                jetstream::context::GetStreamErrorKind::JetStream(e)
                    if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
                {
                    Ok(None)
                }
                _ => Err(AnchorError::JetStream(error.to_string())),
            };
        }
    };
    match stream
        .get_last_raw_message_by_subject(&anchor_subject(service))
        .await
    {
        Ok(message) => serde_json::from_slice(&message.payload)
            .map(Some)
            .map_err(|e| {
                AnchorError::JetStream(format!("an anchor on the stream is unreadable: {e}"))
            }),
        Err(error) => match error.kind() {
            jetstream::stream::LastRawMessageErrorKind::NoMessageFound => Ok(None),
            _ => Err(AnchorError::JetStream(error.to_string())),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Checking a log against anchors.

/// The outcome of `verify` with anchors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchoredReport {
    pub report: VerifyReport,
    pub anchors_checked: usize,
    /// The latest anchor checked: tampering after it cannot be seen.
    pub latest: Option<Checkpoint>,
}

/// Verifies the chain of `db` and then checks it against each anchor: every signature must hold
/// (an altered anchor is an error), the log must reach each anchored position, and the event
/// there must still have the anchored hash.
pub async fn verify_with_anchors(
    db: &Database,
    service: &str,
    anchors: &[SignedCheckpoint],
    verifier: &AnchorVerifier,
) -> Result<AnchoredReport, AnchorError> {
    for anchor in anchors {
        if anchor.checkpoint.service != service {
            return Err(AnchorError::WrongService {
                expected: service.to_owned(),
                found: anchor.checkpoint.service.clone(),
            });
        }
        verifier.verify(anchor)?;
    }
    let mut sorted: Vec<&Checkpoint> = anchors.iter().map(|a| &a.checkpoint).collect();
    sorted.sort_by_key(|checkpoint| (checkpoint.position, checkpoint.anchored_at));
    let latest = sorted.last().map(|checkpoint| (*checkpoint).clone());
    let mut report = verify_log(db).await?;
    if report.is_intact() {
        let (head, _) = head_and_hash(db).await?;
        for checkpoint in &sorted {
            if let Some(problem) = against(db, head, checkpoint).await? {
                report.first_problem = Some(problem);
                break;
            }
        }
    }
    Ok(AnchoredReport {
        report,
        anchors_checked: anchors.len(),
        latest,
    })
}

/// What `checkpoint` says is wrong with a log whose head is `head`, if anything.
async fn against(
    db: &Database,
    head: u64,
    checkpoint: &Checkpoint,
) -> Result<Option<Tampering>, StoreError> {
    if checkpoint.position > head {
        return Ok(Some(Tampering::TruncatedBelowAnchor {
            recorded_head: head,
            anchored_position: checkpoint.position,
            anchored_at: checkpoint.anchored_at_text(),
        }));
    }
    if hash_at(db, checkpoint.position).await?.as_deref() != Some(checkpoint.hash.as_str()) {
        return Ok(Some(Tampering::RewrittenBeforeAnchor {
            position: checkpoint.position,
            anchored_at: checkpoint.anchored_at_text(),
        }));
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// Making anchors.

/// Signs checkpoints of one service's log, at an interval and on demand, and keeps them in the
/// configured file and on the anchor stream.
pub struct Anchorer {
    db: Database,
    service: String,
    signer: AnchorSigner,
    file: Option<PathBuf>,
    js: Option<jetstream::Context>,
    clock: SharedClock,
    /// The last anchor made (or found in the file at start): the next one checks the chain
    /// from there.
    last: tokio::sync::Mutex<Option<SignedCheckpoint>>,
    refusals: Mutex<u64>,
    /// Copies of the anchor stream on a NATS cluster.
    stream_replicas: usize,
}

impl std::fmt::Debug for Anchorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchorer")
            .field("service", &self.service)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Anchorer {
    /// An anchorer for `service`'s log in `db`. The last anchor of the file, if it was signed
    /// by this key, is where the next check starts.
    pub fn new(
        db: Database,
        service: &str,
        signer: AnchorSigner,
        file: Option<PathBuf>,
        js: Option<jetstream::Context>,
        clock: SharedClock,
    ) -> Result<Self, AnchorError> {
        let last = match &file {
            Some(path) => read_file(path)?.into_iter().rev().find(|anchor| {
                anchor.checkpoint.service == service && signer.verifier().verify(anchor).is_ok()
            }),
            None => None,
        };
        Ok(Self {
            db,
            service: service.to_owned(),
            signer,
            file,
            js,
            clock,
            last: tokio::sync::Mutex::new(last),
            refusals: Mutex::new(0),
            stream_replicas: 1,
        })
    }

    /// Keeps the anchor stream in `replicas` copies on a NATS cluster (default 1).
    pub fn with_stream_replicas(mut self, replicas: usize) -> Self {
        self.stream_replicas = replicas;
        self
    }

    /// Anchors the log as it stands; `None` while it is empty. If nothing was committed since
    /// the last anchor, that anchor is returned again rather than a new one made.
    pub async fn anchor_now(&self) -> Result<Option<SignedCheckpoint>, AnchorError> {
        let mut last = self.last.lock().await;
        let result = self.make(last.as_ref()).await;
        match result {
            Ok(Some(anchor)) => {
                *last = Some(anchor.clone());
                Ok(Some(anchor))
            }
            Ok(None) => Ok(None),
            Err(error) => {
                if matches!(error, AnchorError::Tampered { .. }) {
                    *self.refusals.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                }
                Err(error)
            }
        }
    }

    /// How many times this anchorer refused to anchor a tampered log.
    pub fn refusals(&self) -> u64 {
        *self.refusals.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn make(
        &self,
        last: Option<&SignedCheckpoint>,
    ) -> Result<Option<SignedCheckpoint>, AnchorError> {
        let (head, head_hash) = head_and_hash(&self.db).await?;
        let tampered = |problem| AnchorError::Tampered {
            service: self.service.clone(),
            problem,
        };
        let (from, from_hash) = match last {
            Some(anchor) => {
                let checkpoint = &anchor.checkpoint;
                if let Some(problem) = against(&self.db, head, checkpoint).await? {
                    return Err(tampered(problem));
                }
                if checkpoint.position == head {
                    return Ok(Some(anchor.clone()));
                }
                (checkpoint.position, checkpoint.hash.clone())
            }
            None => (0, GENESIS_HASH.to_owned()),
        };
        if head == 0 {
            return Ok(None);
        }
        let walk = walk_chain(&self.db, from, &from_hash, head).await?;
        if let Some(problem) = walk.problem {
            return Err(tampered(problem));
        }
        if walk.last_hash != head_hash {
            return Err(tampered(Tampering::Modified {
                position: head,
                event_id: String::new(),
            }));
        }
        let anchor = self.signer.sign(Checkpoint {
            service: self.service.clone(),
            position: head,
            hash: head_hash,
            anchored_at: self.clock.now(),
        });
        // The file first: it is local and the stream may be unreachable for a while; the
        // anchor is kept if either accepted it.
        let filed = match &self.file {
            Some(path) => append_to_file(path, &anchor).map(|()| true),
            None => Ok(false),
        };
        let published = match &self.js {
            Some(js) => match ensure_anchor_stream(js, self.stream_replicas).await {
                Ok(()) => publish(js, &anchor).await.map(|()| true),
                Err(error) => Err(error),
            },
            None => Ok(false),
        };
        match (filed, published) {
            (Ok(_), Ok(_)) => {}
            (Ok(true), Err(error)) => {
                tracing::warn!(service = self.service, error = %error, "anchor kept in the file only");
            }
            (Err(error), Ok(true)) => {
                tracing::warn!(service = self.service, error = %error, "anchor kept on the stream only");
            }
            (Err(error), _) | (_, Err(error)) => return Err(error),
        }
        tracing::info!(
            service = self.service,
            position = head,
            kid = anchor.kid,
            "log anchored"
        );
        Ok(Some(anchor))
    }

    /// Anchors every `interval` until `shutdown`, and once more on the way out.
    pub async fn run(&self, interval: Duration, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticks.tick() => {}
            }
            if let Err(error) = self.anchor_now().await {
                tracing::error!(service = self.service, error = %error, "cannot anchor the log");
            }
        }
        if let Err(error) = self.anchor_now().await {
            tracing::error!(service = self.service, error = %error, "cannot anchor the log on stop");
        }
    }
}
