//! Starting, supervising and stopping the background tasks of a service.
//!
//! A dondoc service is a gRPC server plus a few loops (outbox relay, consumers, projections).
//! They all watch one [`CancellationToken`]; [`Supervisor::stop`] cancels it and waits for each
//! loop to finish its current unit of work (mini-redis's explicit shutdown), while
//! [`Supervisor::kill`] aborts them mid-flight, which is how tests simulate a crash between a
//! commit and a publish. A loop started with [`Supervisor::spawn_restarting`] that dies — a
//! panic, or an unexpected return — is logged and started again with backoff: a relay or a
//! consumer that silently stops would leave a service that answers calls while its events go
//! nowhere.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a graceful stop waits for a task before aborting it.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The background tasks of one service.
#[derive(Default)]
pub struct Supervisor {
    shutdown: CancellationToken,
    /// Cancelled first when a stop begins: health turns NOT_SERVING while the server still
    /// answers, so load balancers and probes move traffic away before it goes.
    draining: CancellationToken,
    /// How long a stop keeps serving after health turned NOT_SERVING.
    drain: Duration,
    health: Vec<tonic_health::server::HealthReporter>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("drain", &self.drain)
            .field("tasks", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a graceful stop keeps serving after health turned NOT_SERVING (the
    /// `shutdown_drain` setting: a few seconds behind a load balancer, zero on one machine).
    pub fn set_drain(&mut self, drain: Duration) {
        self.drain = drain;
    }

    /// The token cancelled when a stop begins, before anything stops.
    pub fn draining_token(&self) -> CancellationToken {
        self.draining.clone()
    }

    /// A health reporter to turn NOT_SERVING as soon as a stop begins.
    pub fn report_draining_to(&mut self, health: tonic_health::server::HealthReporter) {
        self.health.push(health);
    }

    /// The token every task watches.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Spawns a named task.
    pub fn spawn<F>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push((name, tokio::spawn(task)));
    }

    /// Spawns a read model's loop (a NATS consumer or a local projector) under
    /// [`Supervisor::spawn_restarting`], handing it the shutdown token.
    pub fn spawn_read_model<L: ReadModelLoop>(&mut self, name: &'static str, read_model: Arc<L>) {
        let shutdown = self.shutdown.clone();
        self.spawn_restarting(name, move || {
            let read_model = read_model.clone();
            let shutdown = shutdown.clone();
            async move { read_model.run_until(shutdown).await }
        });
    }

    /// Spawns a named loop that is started again, with backoff, whenever it panics or returns
    /// before shutdown. `start` makes a fresh run of the loop each time.
    pub fn spawn_restarting<F, Fut>(&mut self, name: &'static str, start: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let shutdown = self.shutdown.clone();
        self.spawn(name, async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let outcome = AssertUnwindSafe(start()).catch_unwind().await;
                if shutdown.is_cancelled() {
                    break;
                }
                match outcome {
                    Ok(()) => tracing::error!(task = name, retry_in = ?backoff, "task ended before shutdown; restarting it"),
                    Err(panic) => {
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        tracing::error!(task = name, panic = %message, retry_in = ?backoff, "task panicked; restarting it");
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        });
    }

    /// Turns health NOT_SERVING, keeps serving for the drain period, then cancels every task
    /// and waits for each (bounded by a grace period).
    pub async fn stop(self) {
        self.draining.cancel();
        for health in &self.health {
            crate::grpc::mark_not_serving(health).await;
        }
        if !self.drain.is_zero() {
            tracing::info!(drain = ?self.drain, "NOT_SERVING; draining before the stop");
            tokio::time::sleep(self.drain).await;
        }
        self.shutdown.cancel();
        for (name, mut task) in self.tasks {
            match tokio::time::timeout(STOP_GRACE, &mut task).await {
                Ok(Ok(())) => tracing::debug!(task = name, "stopped"),
                Ok(Err(error)) => {
                    tracing::warn!(task = name, error = %error, "task ended abnormally")
                }
                Err(_) => {
                    tracing::warn!(task = name, "did not stop in time; aborting");
                    task.abort();
                }
            }
        }
    }

    /// Aborts every task at once, as a crash would.
    pub fn kill(self) {
        for (_, task) in self.tasks {
            task.abort();
        }
    }
}

/// Connects to NATS without waiting for the server: commands must keep working while NATS is
/// down (the outbox holds events), so the client reconnects in the background forever.
/// Without credentials: [`connect_nats_with`] connects as a NATS user.
pub async fn connect_nats(
    url: &str,
    name: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    connect_nats_with(url, name, None).await
}

/// [`connect_nats`] as the NATS user of `credentials` (see
/// [`crate::service::ServiceSettings::nats_credentials`]), whose replies come to its own inbox
/// prefix, [`NatsCredentials::inbox_prefix`]: deploy/nats/nats.conf lets each user subscribe
/// there only.
pub async fn connect_nats_with(
    url: &str,
    name: &str,
    credentials: Option<&NatsCredentials>,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    connect_nats_secured(url, name, credentials, None).await
}

/// [`connect_nats_with`] over TLS when `ca` names the CA certificate (PEM) that signed the
/// server's: TLS is then required (a server that offers none is refused) and the server's
/// certificate must chain to that CA and name the host of `url`.
pub async fn connect_nats_secured(
    url: &str,
    name: &str,
    credentials: Option<&NatsCredentials>,
    ca: Option<&std::path::Path>,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    let mut options = async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None);
    if let Some(credentials) = credentials {
        options = options
            .user_and_password(credentials.user.clone(), credentials.password.clone())
            .custom_inbox_prefix(credentials.inbox_prefix());
    }
    if let Some(ca) = ca {
        options = options
            .add_root_certificates(ca.to_path_buf())
            .require_tls(true);
    }
    options.connect(nats_servers(url)).await
}

/// The servers of a NATS URL setting: one URL, or several separated by commas (the servers of
/// a cluster, `nats://n1:4222,nats://n2:4222,nats://n3:4222`). The client starts from any of
/// them and learns the rest of the cluster from the server it reaches.
pub fn nats_servers(url: &str) -> Vec<String> {
    url.split(',')
        .map(str::trim)
        .filter(|server| !server.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A NATS user and its password. `Debug` shows the user only.
#[derive(Clone)]
pub struct NatsCredentials {
    user: String,
    password: String,
}

impl NatsCredentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// The prefix of this user's reply subjects, `_INBOX_<user>` (any character of the user
    /// name other than a letter, a digit, `-` or `_` becomes `_`): deploy/nats/nats.conf
    /// allows user `assignment` to subscribe to `_INBOX_assignment.>` and nothing else, so no
    /// service can read the replies, and so the events pulled, of another.
    pub fn inbox_prefix(&self) -> String {
        let user: String = self
            .user
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("_INBOX_{user}")
    }
}

impl std::fmt::Debug for NatsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// JetStream context with explicit timeouts (async-nats 0.51 leaves them to defaults that have
/// changed between releases).
pub fn jetstream(client: async_nats::Client) -> async_nats::jetstream::Context {
    async_nats::jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(5))
        .backpressure_on_inflight(true)
        .build(client)
}

/// A durable consumer of another service's published events: `projection` fed from the
/// subjects of `streams` (stream types, e.g. `task`) in `service`'s JetStream stream, through
/// the published contracts' `upcasters`.
pub async fn subscribe<P: dondoc_eventsourcing::projection::Projection>(
    db: &dondoc_eventsourcing::Database,
    nats: &async_nats::Client,
    service: &str,
    streams: &[&str],
    projection: P,
    upcasters: dondoc_eventsourcing::Upcasters,
) -> anyhow::Result<Arc<dondoc_eventsourcing::consumer::Consumer<P>>> {
    use anyhow::Context as _;
    let source = dondoc_eventsourcing::relay::RelayConfig::for_service(service);
    let subjects = streams
        .iter()
        .map(|stream| format!("{}.{stream}.>", source.subject_prefix))
        .collect();
    let consumer = dondoc_eventsourcing::consumer::Consumer::new(
        db.clone(),
        jetstream(nats.clone()),
        dondoc_eventsourcing::consumer::ConsumerConfig::new(source.stream_name.clone(), subjects),
        Arc::new(projection),
        upcasters,
    )
    .await
    .with_context(|| format!("cannot subscribe to the {service} service's {streams:?} events"))?;
    Ok(Arc::new(consumer))
}

/// A loop that keeps a read model up to date until shutdown.
pub trait ReadModelLoop: Send + Sync + 'static {
    fn run_until(&self, shutdown: CancellationToken) -> impl Future<Output = ()> + Send + '_;
}

impl<P: dondoc_eventsourcing::projection::Projection> ReadModelLoop
    for dondoc_eventsourcing::consumer::Consumer<P>
{
    fn run_until(&self, shutdown: CancellationToken) -> impl Future<Output = ()> + Send + '_ {
        self.run(shutdown)
    }
}

impl<P: dondoc_eventsourcing::projection::Projection> ReadModelLoop
    for dondoc_eventsourcing::projection::LocalProjector<P>
{
    fn run_until(&self, shutdown: CancellationToken) -> impl Future<Output = ()> + Send + '_ {
        self.run(shutdown)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn a_nats_url_setting_names_one_server_or_a_cluster_separated_by_commas() {
        assert_eq!(
            nats_servers("nats://127.0.0.1:4222"),
            ["nats://127.0.0.1:4222"]
        );
        assert_eq!(
            nats_servers("nats://n1:4222, nats://n2:4222,nats://n3:4222,"),
            ["nats://n1:4222", "nats://n2:4222", "nats://n3:4222"]
        );
    }

    #[tokio::test]
    async fn a_loop_that_panics_is_started_again_until_shutdown() {
        let mut supervisor = Supervisor::new();
        let runs = Arc::new(AtomicU32::new(0));
        let (third_run, mut reached) = tokio::sync::mpsc::channel::<()>(1);
        {
            let runs = runs.clone();
            let shutdown = supervisor.shutdown_token();
            supervisor.spawn_restarting("flaky loop", move || {
                let runs = runs.clone();
                let shutdown = shutdown.clone();
                let third_run = third_run.clone();
                async move {
                    match runs.fetch_add(1, Ordering::SeqCst) {
                        0 => panic!("a bug in the first run"),
                        1 => {} // returns early, as if its stream ended
                        _ => {
                            let _ = third_run.send(()).await;
                            shutdown.cancelled().await;
                        }
                    }
                }
            });
        }

        tokio::time::timeout(Duration::from_secs(10), reached.recv())
            .await
            .expect("restarted twice in time");
        supervisor.stop().await;

        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }
}
