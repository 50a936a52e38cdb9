//! Starting a service's log anchor (see `dondoc_eventsourcing::anchor`): the settings, the
//! periodic task and the on-demand RPC, the same way in every service that keeps an event log.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use dondoc_eventsourcing::Database;
use dondoc_eventsourcing::anchor::{AnchorError, AnchorSigner, Anchorer};
use dondoc_eventsourcing::clock::SharedClock;
use serde::Deserialize;

use crate::grpc::PreparedServer;
use crate::lifecycle::Supervisor;

/// `[<service>.anchor]`: signed checkpoints of the event log, kept outside the database.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AnchorSettings {
    /// PKCS#8 PEM Ed25519 private key, from a secret the database never holds
    /// (`openssl genpkey -algorithm ed25519 -out anchor.pem`).
    pub key_path: PathBuf,
    /// Anchors are appended here as JSON lines, on a volume the database does not share. Unset:
    /// on the DONDOC_ANCHORS stream only.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// How often the log is anchored: the window in which a rewrite after the last anchor
    /// cannot be detected.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
}

fn default_interval() -> Duration {
    Duration::from_secs(5 * 60)
}

/// Starts anchoring `db`'s log when the service's `anchor` settings ask for it: the periodic task under
/// `supervisor`, and `AnchorLog` on `server`.
pub fn start(
    service_settings: &crate::service::ServiceSettings,
    db: &Database,
    service: &str,
    js: jetstream::Context,
    clock: SharedClock,
    supervisor: &mut Supervisor,
    server: &mut PreparedServer,
) -> Result<Option<Arc<Anchorer>>, AnchorError> {
    let Some(settings) = &service_settings.anchor else {
        return Ok(None);
    };
    let signer = AnchorSigner::from_file(&settings.key_path)?;
    let anchorer = Arc::new(
        Anchorer::new(
            db.clone(),
            service,
            signer,
            settings.file.clone(),
            Some(js),
            clock,
        )?
        .with_stream_replicas(service_settings.stream.replicas),
    );
    let interval = settings.interval.max(Duration::from_secs(1));
    let shutdown = supervisor.shutdown_token();
    let task = anchorer.clone();
    supervisor.spawn(
        "log anchor",
        async move { task.run(interval, shutdown).await },
    );
    server.anchor_with(anchorer.clone());
    Ok(Some(anchorer))
}
