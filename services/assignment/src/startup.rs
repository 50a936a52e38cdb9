//! Wiring the assignment service: event store, local task-list projection, outbox relay to
//! JetStream, the consumer of the progress service's execution statuses and the gRPC server,
//! all under one supervisor; health follows the event writer and the read models.

use std::sync::Arc;

use anyhow::Context as _;
use dondoc_eventsourcing::consumer::{Consumer, ConsumerConfig};
use dondoc_eventsourcing::projection::{LocalProjector, ReadModelState};
use dondoc_eventsourcing::relay::{Relay, RelayConfig};
use dondoc_eventsourcing::{EventStore, VerifyReport};
use dondoc_proto::FILE_DESCRIPTOR_SET;
use dondoc_proto::v1::assignment_service_server::AssignmentServiceServer;
use dondoc_runtime::auth::{AuthInterceptor, TokenVerifier};
use dondoc_runtime::clock::SharedClock;
use dondoc_runtime::grpc::PreparedServer;
use dondoc_runtime::lifecycle::{Supervisor, jetstream};
use tonic::service::interceptor::InterceptedService;

use crate::consumers::execution_status::{ExecutionStatusProjection, ExecutionStatusReader};
use crate::consumers::progress_requests::{self, ProgressRequestsProjection};
use crate::consumers::task_list::{TaskListProjection, TaskListReader};
use crate::grpc::AssignmentApi;
use crate::handlers::{DeadlinePolicy, Handlers};

/// The service name: JetStream stream `DONDOC_ASSIGNMENT`, subjects `dondoc.assignment.>`.
pub const SERVICE: &str = dondoc_contracts::assignment::SERVICE;

/// Settings of the assignment service (`[assignment]` in the config file,
/// `DONDOC_ASSIGNMENT__*` in the environment): what every service is told, and how deadlines
/// are judged.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct AssignmentSettings {
    #[serde(flatten)]
    pub service: dondoc_runtime::service::ServiceSettings,
    /// Days before the deadline from which a task is near due (sắp đến hạn); default 5.
    #[serde(default = "default_near_due_days")]
    pub near_due_days: u32,
}

fn default_near_due_days() -> u32 {
    crate::domain::NEAR_DUE_DAYS
}

impl From<dondoc_runtime::service::ServiceSettings> for AssignmentSettings {
    fn from(service: dondoc_runtime::service::ServiceSettings) -> Self {
        Self {
            service,
            near_due_days: default_near_due_days(),
        }
    }
}

/// A running assignment service.
pub struct Application {
    port: u16,
    supervisor: Supervisor,
    store: EventStore,
    projector: Arc<LocalProjector<TaskListProjection>>,
    executions: Arc<Consumer<ExecutionStatusProjection>>,
    progress_requests: Arc<Consumer<ProgressRequestsProjection>>,
    relay: Relay,
}

impl Application {
    /// Binds the listener, opens the store, catches the task list up, starts the relay and
    /// serves. Returns once the service answers health checks as SERVING.
    pub async fn build(
        assignment: &AssignmentSettings,
        verifier: Arc<TokenVerifier>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let settings = &assignment.service;
        let mut server =
            PreparedServer::bind(&settings.listen, settings.tls.as_ref(), FILE_DESCRIPTOR_SET)
                .await
                .context("cannot prepare the gRPC server")?;
        let port = server.port();
        let db = settings.open_database("the assignment database").await?;
        let store = EventStore::open(db, SERVICE, crate::events::upcasters())
            .await
            .context("cannot open the assignment event store")?;
        let projector = Arc::new(
            LocalProjector::new(store.clone(), Arc::new(TaskListProjection))
                .await
                .context("cannot prepare the task list")?,
        );
        // A database hiccup here is retried by the projection loop; it must not keep the
        // service (and every command) down.
        if let Err(error) = projector.catch_up().await {
            tracing::warn!(error = %error, "task list not caught up at start; retrying in the background");
        }

        // NATS may be down: the client connects in the background and the relay waits.
        let nats = settings.connect_nats("dondoc-assignment").await?;
        let anchors_js = jetstream(nats.clone());
        let relay = Relay::new(
            store.clone(),
            jetstream(nats.clone()),
            RelayConfig::for_service(SERVICE).with_stream(settings.stream.clone()),
        )
        .await
        .context("cannot prepare the outbox relay")?;
        let progress = RelayConfig::for_service(dondoc_contracts::progress::SERVICE);
        let executions = Arc::new(
            Consumer::new(
                store.database().clone(),
                jetstream(nats.clone()),
                ConsumerConfig::new(
                    progress.stream_name.clone(),
                    vec![format!(
                        "{}.{}.>",
                        progress.subject_prefix,
                        dondoc_contracts::progress::EXECUTION_STREAM
                    )],
                ),
                Arc::new(ExecutionStatusProjection),
                dondoc_contracts::progress::upcasters(),
            )
            .await
            .context("cannot prepare the execution-status consumer")?,
        );
        let progress_requests = Arc::new(
            Consumer::new(
                store.database().clone(),
                jetstream(nats),
                ConsumerConfig::new(
                    progress.stream_name.clone(),
                    vec![format!(
                        "{}.{}.>",
                        progress.subject_prefix,
                        dondoc_contracts::progress::EXECUTION_STREAM
                    )],
                ),
                Arc::new(ProgressRequestsProjection),
                dondoc_contracts::progress::upcasters(),
            )
            .await
            .context("cannot prepare the progress-request consumer")?,
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
        supervisor.spawn_read_model("task list projection", projector.clone());

        supervisor.spawn_read_model("execution-status consumer", executions.clone());

        supervisor.spawn_read_model("progress-request consumer", progress_requests.clone());

        server.require("event-store-writer", store.writer_status(), |up| *up);
        server.require(
            ExecutionStatusProjection::NAME,
            executions.state(),
            ReadModelState::is_ready,
        );
        server.require(
            "assignment-task-list",
            projector.state(),
            ReadModelState::is_ready,
        );
        let handlers = Handlers::new(
            store.clone(),
            TaskListReader::new(store.clone(), projector.clone()),
            ExecutionStatusReader::new(store.database().clone()),
            clock,
            DeadlinePolicy {
                near_due_days: assignment.near_due_days,
            },
        );
        {
            let db = store.database().clone();
            let handlers = handlers.clone();
            let shutdown = shutdown.clone();
            supervisor.spawn_restarting("progress-request forwarder", move || {
                progress_requests::forward(db.clone(), handlers.clone(), shutdown.clone())
            });
        }
        server
            .serve_as(
                &mut supervisor,
                "assignment gRPC server",
                AuthInterceptor::new(verifier),
                |routes, auth| {
                    routes.add_service(InterceptedService::new(
                        AssignmentServiceServer::new(AssignmentApi::new(handlers))
                            .max_decoding_message_size(dondoc_runtime::grpc::MAX_REQUEST_BYTES),
                        auth,
                    ))
                },
            )
            .await;
        tracing::info!(port, "assignment service ready");
        Ok(Self {
            port,
            supervisor,
            store,
            projector,
            executions,
            progress_requests,
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

    /// Checks the hash chain of the whole event log.
    pub async fn verify(&self) -> anyhow::Result<VerifyReport> {
        Ok(self.store.verify().await?)
    }

    /// Empties the task list and replays the log into it; the execution statuses are
    /// consumed again from the start of the progress stream.
    pub async fn rebuild_projections(&self) -> anyhow::Result<u64> {
        self.executions.reset_for_rebuild().await?;
        self.progress_requests.reset_for_rebuild().await?;
        Ok(self.projector.rebuild().await?)
    }

    /// The consumer of the progress service's events (tests read its backlog).
    pub fn execution_status(&self) -> &Consumer<ExecutionStatusProjection> {
        &self.executions
    }

    /// Republishes every event after `position` to JetStream (`dondoc replay`).
    pub async fn replay_from(&self, position: u64) -> anyhow::Result<()> {
        Ok(self.relay.rewind_to(position).await?)
    }

    /// How many events the relay has had acknowledged by JetStream.
    pub async fn published_position(&self) -> anyhow::Result<u64> {
        Ok(self.relay.checkpoint().await?)
    }

    /// Events this replica's relay has published since it started (one relay publishes at a
    /// time, so across replicas these add up to the log's length).
    pub fn events_published(&self) -> u64 {
        self.relay.published()
    }

    /// The last committed position of the event log.
    pub async fn head_position(&self) -> anyhow::Result<u64> {
        Ok(self.store.head_position().await?)
    }

    /// Stops gracefully: the relay and projection finish their round, the server drains.
    pub async fn stop(self) {
        self.supervisor.stop().await;
        self.store.database().close().await;
    }

    /// Stops at once, as a crash would (commits stay, nothing else runs).
    pub fn kill(self) {
        self.supervisor.kill();
    }
}
