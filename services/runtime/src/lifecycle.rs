//! Starting and stopping the background tasks of a service.
//!
//! A dondoc service is a gRPC server plus a few loops (outbox relay, consumers, projections).
//! They all watch one [`CancellationToken`]; [`Supervisor::stop`] cancels it and waits for each
//! loop to finish its current unit of work (mini-redis's explicit shutdown), while
//! [`Supervisor::kill`] aborts them mid-flight, which is how tests simulate a crash between a
//! commit and a publish.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a graceful stop waits for a task before aborting it.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The background tasks of one service.
#[derive(Debug, Default)]
pub struct Supervisor {
    shutdown: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Supervisor {
    pub fn new() -> Self {
        Self::default()
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

    /// Cancels every task and waits for each (bounded by a grace period).
    pub async fn stop(self) {
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
pub async fn connect_nats(
    url: &str,
    name: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connect(url)
        .await
}

/// JetStream context with explicit timeouts (async-nats 0.51 leaves them to defaults that have
/// changed between releases).
pub fn jetstream(client: async_nats::Client) -> async_nats::jetstream::Context {
    async_nats::jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(5))
        .backpressure_on_inflight(true)
        .build(client)
}
