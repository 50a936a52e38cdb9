//! Wiring the progress service: its event store with the outbox relay to JetStream, the
//! coordination-reply read model over its own log, the consumer of the assignment service's
//! task and leader events, the reply-deadline ticker and the gRPC server, under one
//! supervisor; health follows the event writer and both read models.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use dondoc_eventsourcing::consumer::{Consumer, ConsumerConfig};
use dondoc_eventsourcing::projection::{LocalProjector, ReadModelState};
use dondoc_eventsourcing::relay::{Relay, RelayConfig};
use dondoc_eventsourcing::{EventStore, VerifyReport};
use dondoc_proto::FILE_DESCRIPTOR_SET;
use dondoc_proto::v1::progress_service_server::ProgressServiceServer;
use dondoc_runtime::auth::{AuthInterceptor, TokenVerifier};
use dondoc_runtime::clock::SharedClock;
use dondoc_runtime::grpc::PreparedServer;
use dondoc_runtime::lifecycle::{Supervisor, jetstream};
use tonic::service::interceptor::InterceptedService;

use crate::blobs::BlobStore;
use crate::consumers::reply_due::{ReplyDueProjection, ReplyDueReader};
use crate::consumers::task_documents::{TaskDocumentsProjection, TaskDocumentsReader};
use crate::consumers::task_facts::{TaskFactsProjection, TaskFactsReader};
use crate::grpc::ProgressApi;
use crate::handlers::Handlers;

/// The service name: JetStream stream `DONDOC_PROGRESS`, subjects `dondoc.progress.>`.
pub const SERVICE: &str = dondoc_contracts::progress::SERVICE;

/// Settings of the progress service (`[progress]`, `DONDOC_PROGRESS__*`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ProgressSettings {
    #[serde(flatten)]
    pub service: dondoc_runtime::service::ServiceSettings,
    /// How often coordination requests past their reply date are recorded as deemed agreement
    /// (default one minute; `EvaluateReplyDeadlines` does it on demand).
    #[serde(default = "default_reply_check", with = "humantime_serde")]
    pub reply_check_interval: Duration,
    /// Keep document content in this directory; absent: in the service's database.
    #[serde(default)]
    pub blob_dir: Option<std::path::PathBuf>,
    /// Largest document accepted, bytes (default 4 MiB, gRPC's default message size).
    #[serde(default = "default_max_document_bytes")]
    pub max_document_bytes: usize,
}

fn default_max_document_bytes() -> usize {
    4 * 1024 * 1024 - 64 * 1024
}

fn default_reply_check() -> Duration {
    Duration::from_secs(60)
}

impl From<dondoc_runtime::service::ServiceSettings> for ProgressSettings {
    fn from(service: dondoc_runtime::service::ServiceSettings) -> Self {
        Self {
            service,
            reply_check_interval: default_reply_check(),
            blob_dir: None,
            max_document_bytes: default_max_document_bytes(),
        }
    }
}

/// A running progress service.
pub struct Application {
    port: u16,
    supervisor: Supervisor,
    store: EventStore,
    reply_due: Arc<LocalProjector<ReplyDueProjection>>,
    task_documents: Arc<LocalProjector<TaskDocumentsProjection>>,
    task_facts: Arc<Consumer<TaskFactsProjection>>,
    relay: Relay,
}

impl Application {
    /// Binds, opens the store, catches its read model up, subscribes to the assignment
    /// stream, starts the relay and the ticker, and serves.
    pub async fn build(
        progress: &ProgressSettings,
        verifier: Arc<TokenVerifier>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let settings = &progress.service;
        let mut server =
            PreparedServer::bind(&settings.listen, settings.tls.as_ref(), FILE_DESCRIPTOR_SET)
                .await
                .context("cannot prepare the gRPC server")?;
        let port = server.port();
        let db = settings.open_database("the progress database").await?;
        let store = EventStore::open(db.clone(), SERVICE, crate::events::upcasters())
            .await
            .context("cannot open the progress event store")?;
        let reply_due = Arc::new(
            LocalProjector::new(store.clone(), Arc::new(ReplyDueProjection))
                .await
                .context("cannot prepare the coordination replies read model")?,
        );
        let task_documents = Arc::new(
            LocalProjector::new(store.clone(), Arc::new(TaskDocumentsProjection))
                .await
                .context("cannot prepare the task documents read model")?,
        );
        if let Err(error) = task_documents.catch_up().await {
            tracing::warn!(error = %error, "task documents not caught up at start; retrying in the background");
        }
        if let Err(error) = reply_due.catch_up().await {
            tracing::warn!(error = %error, "reply-due read model not caught up at start; retrying in the background");
        }

        let nats = settings.connect_nats("dondoc-progress").await?;

        let anchors_js = jetstream(nats.clone());
        let relay = Relay::new(
            store.clone(),
            jetstream(nats.clone()),
            RelayConfig::for_service(SERVICE).with_stream(settings.stream.clone()),
        )
        .await
        .context("cannot prepare the outbox relay")?;
        let assignment = RelayConfig::for_service(dondoc_contracts::assignment::SERVICE);
        let task_facts = Arc::new(
            Consumer::new(
                db.clone(),
                jetstream(nats),
                ConsumerConfig::new(
                    assignment.stream_name.clone(),
                    [
                        dondoc_contracts::assignment::TASK_STREAM,
                        dondoc_contracts::assignment::LEADER_STREAM,
                    ]
                    .iter()
                    .map(|stream| format!("{}.{stream}.>", assignment.subject_prefix))
                    .collect(),
                ),
                Arc::new(TaskFactsProjection),
                dondoc_contracts::assignment::upcasters(),
            )
            .await
            .context("cannot prepare the task-facts consumer")?,
        );

        let blobs = BlobStore::open(progress.blob_dir.clone(), db.clone())
            .await
            .context("cannot open the document store")?;
        let handlers = Handlers::new(
            store.clone(),
            TaskFactsReader::new(db),
            ReplyDueReader::new(reply_due.clone()),
            TaskDocumentsReader::new(task_documents.clone()),
            blobs,
            progress.max_document_bytes,
            clock.clone(),
            Arc::new(
                dondoc_runtime::calendar::WorkingCalendar::vietnam()
                    .context("cannot read the working-day calendar")?,
            ),
        );

        let mut supervisor = Supervisor::new();
        supervisor.set_drain(settings.shutdown_drain);
        dondoc_runtime::anchoring::start(
            settings,
            store.database(),
            SERVICE,
            anchors_js,
            clock.clone(),
            &mut supervisor,
            &mut server,
        )
        .context("cannot start anchoring the event log")?;
        let shutdown = supervisor.shutdown_token();
        {
            let relay = relay.clone();
            let shutdown = shutdown.clone();
            supervisor
                .spawn_restarting("outbox relay", move || relay.clone().run(shutdown.clone()));
        }
        supervisor.spawn_read_model("reply-due projection", reply_due.clone());
        supervisor.spawn_read_model("task documents projection", task_documents.clone());
        supervisor.spawn_read_model("task-facts consumer", task_facts.clone());
        {
            let handlers = handlers.clone();
            let shutdown = shutdown.clone();
            let every = progress.reply_check_interval;
            supervisor.spawn("reply-deadline ticker", async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        _ = ticks.tick() => {}
                    }
                    let caller = Handlers::system_caller();
                    match handlers.evaluate_reply_deadlines(&caller, None).await {
                        Ok(0) => {}
                        Ok(deemed) => tracing::info!(deemed, "silence recorded as agreement"),
                        Err(error) => {
                            tracing::warn!(error = %error, "reply deadlines not evaluated")
                        }
                    }
                }
            });
        }

        server.require("event-store-writer", store.writer_status(), |up| *up);
        server.require(
            ReplyDueProjection::NAME,
            reply_due.state(),
            ReadModelState::is_ready,
        );
        server.require(
            TaskDocumentsProjection::NAME,
            task_documents.state(),
            ReadModelState::is_ready,
        );
        server.require(
            TaskFactsProjection::NAME,
            task_facts.state(),
            ReadModelState::is_ready,
        );
        let request_limit = dondoc_runtime::grpc::MAX_REQUEST_BYTES
            .max(progress.max_document_bytes.saturating_add(64 * 1024));
        server
            .serve_as(
                &mut supervisor,
                "progress gRPC server",
                AuthInterceptor::new(verifier),
                |routes, auth| {
                    routes.add_service(InterceptedService::new(
                        ProgressServiceServer::new(ProgressApi::new(handlers))
                            // A document travels inside its request: room for the largest one.
                            .max_decoding_message_size(request_limit),
                        auth,
                    ))
                },
            )
            .await;
        tracing::info!(port, "progress service ready");
        Ok(Self {
            port,
            supervisor,
            store,
            reply_due,
            task_documents,
            task_facts,
            relay,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The event store (operator commands and tests).
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// The consumer of the assignment service's events (tests read its backlog).
    pub fn task_facts(&self) -> &Consumer<TaskFactsProjection> {
        &self.task_facts
    }

    /// Checks the hash chain of the whole event log.
    pub async fn verify(&self) -> anyhow::Result<VerifyReport> {
        Ok(self.store.verify().await?)
    }

    /// Empties the read models and builds them again: the local one from the log, the task
    /// facts from the assignment stream consumed again from the start.
    pub async fn rebuild_projections(&self) -> anyhow::Result<u64> {
        self.task_facts.reset_for_rebuild().await?;
        self.task_documents.rebuild().await?;
        Ok(self.reply_due.rebuild().await?)
    }

    /// Republishes every event after `position` to JetStream (`dondoc replay`).
    pub async fn replay_from(&self, position: u64) -> anyhow::Result<()> {
        Ok(self.relay.rewind_to(position).await?)
    }

    /// How many events the relay has had acknowledged by JetStream.
    pub async fn published_position(&self) -> anyhow::Result<u64> {
        Ok(self.relay.checkpoint().await?)
    }

    /// Stops gracefully.
    pub async fn stop(self) {
        self.supervisor.stop().await;
        self.store.database().close().await;
    }

    /// Stops at once, as a crash would.
    pub fn kill(self) {
        self.supervisor.kill();
    }
}
