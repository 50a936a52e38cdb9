//! Wiring the escalation service: its event store with the outbox relay to JetStream, the
//! consumers of the assignment and progress services' events, the notifications read model
//! over its own log, the evaluation ticker, the NATS publisher and (when configured) the
//! mailer, and the gRPC server, under one supervisor; health follows the event writer and
//! every read model.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use dondoc_eventsourcing::consumer::Consumer;
use dondoc_eventsourcing::projection::{LocalProjector, ReadModelState};
use dondoc_eventsourcing::relay::{Relay, RelayConfig};
use dondoc_eventsourcing::{EventStore, VerifyReport};
use dondoc_proto::FILE_DESCRIPTOR_SET;
use dondoc_proto::v1::escalation_service_server::EscalationServiceServer;
use dondoc_runtime::auth::{AuthInterceptor, TokenVerifier};
use dondoc_runtime::calendar::WorkingCalendar;
use dondoc_runtime::clock::SharedClock;
use dondoc_runtime::grpc::PreparedServer;
use dondoc_runtime::lifecycle::{Supervisor, jetstream, subscribe};
use tonic::service::interceptor::InterceptedService;

use crate::consumers::case_warnings::CaseWarningsProjection;
use crate::consumers::facts::{AssignmentFactsProjection, ExecutionFactsProjection, FactsReader};
use crate::consumers::notifications::{NotificationsProjection, NotificationsReader};
use crate::delivery::mailer::{Mailer, SmtpSettings};
use crate::delivery::publisher::Publisher;
use crate::domain::EscalationPolicy;
use crate::grpc::EscalationApi;
use crate::handlers::Handlers;

/// The service name: JetStream stream `DONDOC_ESCALATION`, subjects `dondoc.escalation.>`.
pub const SERVICE: &str = dondoc_contracts::escalation::SERVICE;

/// Settings of the escalation service (`[escalation]`, `DONDOC_ESCALATION__*`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct EscalationSettings {
    #[serde(flatten)]
    pub service: dondoc_runtime::service::ServiceSettings,
    /// How often deadlines are evaluated against the clock (default every 5 minutes; the
    /// business day changes once a day, so this only bounds how late a notice can be).
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub evaluate_interval: Duration,
    /// The escalation policy; absent: the shipped `policy.toml`.
    #[serde(default)]
    pub policy_file: Option<PathBuf>,
    /// The working-day calendar; absent: the shipped Vietnamese calendar.
    #[serde(default)]
    pub calendar_file: Option<PathBuf>,
    /// E-mail delivery; absent: no e-mail.
    #[serde(default)]
    pub smtp: Option<SmtpSettings>,
}

fn default_interval() -> Duration {
    Duration::from_secs(300)
}

impl From<dondoc_runtime::service::ServiceSettings> for EscalationSettings {
    fn from(service: dondoc_runtime::service::ServiceSettings) -> Self {
        Self {
            service,
            evaluate_interval: default_interval(),
            policy_file: None,
            calendar_file: None,
            smtp: None,
        }
    }
}

impl EscalationSettings {
    fn policy(&self) -> anyhow::Result<EscalationPolicy> {
        match &self.policy_file {
            None => Ok(EscalationPolicy::shipped()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the policy {}", path.display()))?;
                EscalationPolicy::from_toml(&text)
                    .map_err(|e| anyhow::anyhow!("policy {}: {e}", path.display()))
            }
        }
    }

    fn calendar(&self) -> anyhow::Result<WorkingCalendar> {
        match &self.calendar_file {
            None => Ok(WorkingCalendar::vietnam()?),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the calendar {}", path.display()))?;
                Ok(WorkingCalendar::from_toml(&text)?)
            }
        }
    }
}

/// A running escalation service.
pub struct Application {
    port: u16,
    supervisor: Supervisor,
    store: EventStore,
    notifications: Arc<LocalProjector<NotificationsProjection>>,
    assignment_facts: Arc<Consumer<AssignmentFactsProjection>>,
    execution_facts: Arc<Consumer<ExecutionFactsProjection>>,
    case_warnings: Arc<Consumer<CaseWarningsProjection>>,
    relay: Relay,
    handlers: Handlers,
}

impl Application {
    /// Binds, opens the store, catches its read model up, subscribes to the assignment and
    /// progress streams, starts the relay, the ticker and the deliveries, and serves.
    pub async fn build(
        escalation: &EscalationSettings,
        verifier: Arc<TokenVerifier>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let settings = &escalation.service;
        let policy = Arc::new(escalation.policy()?);
        let calendar = Arc::new(escalation.calendar()?);
        let mut server =
            PreparedServer::bind(&settings.listen, settings.tls.as_ref(), FILE_DESCRIPTOR_SET)
                .await
                .context("cannot prepare the gRPC server")?;
        let port = server.port();
        let db = settings.open_database("the escalation database").await?;
        db.run_schema(crate::delivery::SCHEMA)
            .await
            .context("cannot prepare the delivery checkpoints")?;
        let store = EventStore::open(db.clone(), SERVICE, crate::events::upcasters())
            .await
            .context("cannot open the escalation event store")?;
        let notifications = Arc::new(
            LocalProjector::new(store.clone(), Arc::new(NotificationsProjection))
                .await
                .context("cannot prepare the notifications read model")?,
        );
        if let Err(error) = notifications.catch_up().await {
            tracing::warn!(error = %error, "notifications not caught up at start; retrying in the background");
        }

        let nats = settings.connect_nats("dondoc-escalation").await?;

        let anchors_js = jetstream(nats.clone());
        let relay = Relay::new(
            store.clone(),
            jetstream(nats.clone()),
            RelayConfig::for_service(SERVICE).with_stream(settings.stream.clone()),
        )
        .await
        .context("cannot prepare the outbox relay")?;
        use dondoc_contracts::{assignment, discipline, progress};
        let assignment_facts = subscribe(
            &db,
            &nats,
            assignment::SERVICE,
            &[
                assignment::TASK_STREAM,
                assignment::LEADER_STREAM,
                assignment::DIRECTORY_STREAM,
            ],
            AssignmentFactsProjection,
            assignment::upcasters(),
        )
        .await?;
        let execution_facts = subscribe(
            &db,
            &nats,
            progress::SERVICE,
            &[progress::EXECUTION_STREAM],
            ExecutionFactsProjection,
            progress::upcasters(),
        )
        .await?;
        let case_warnings = subscribe(
            &db,
            &nats,
            discipline::SERVICE,
            &[discipline::CASE_STREAM],
            CaseWarningsProjection,
            discipline::upcasters(),
        )
        .await?;

        let notices = NotificationsReader::new(notifications.clone());
        let handlers = Handlers::new(
            store.clone(),
            FactsReader::new(db.clone()),
            notices.clone(),
            policy,
            calendar,
            clock.clone(),
        );
        // An empty host (compose passes SMTP_HOST through, empty when unset) means no e-mail.
        let mailer = escalation
            .smtp
            .clone()
            .filter(|smtp| !smtp.host.trim().is_empty())
            .map(|smtp| Mailer::new(handlers.clone(), smtp))
            .transpose()
            .context("cannot prepare e-mail delivery")?;

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
        supervisor.spawn_read_model("notifications projection", notifications.clone());
        supervisor.spawn_read_model("assignment-facts consumer", assignment_facts.clone());
        supervisor.spawn_read_model("execution-facts consumer", execution_facts.clone());
        supervisor.spawn_read_model("case-warnings consumer", case_warnings.clone());
        {
            let publisher = Publisher::new(db.clone(), notices, jetstream(nats));
            let shutdown = shutdown.clone();
            supervisor.spawn_restarting("notification publisher", move || {
                publisher.clone().run(shutdown.clone())
            });
        }
        if let Some(mailer) = mailer {
            supervisor.spawn("mailer", mailer.run(shutdown.clone()));
        }
        {
            let handlers = handlers.clone();
            let shutdown = shutdown.clone();
            let every = escalation.evaluate_interval;
            supervisor.spawn("deadline ticker", async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        _ = ticks.tick() => {}
                    }
                    let caller = Handlers::system_caller("ticker");
                    if let Err(error) = handlers.evaluate_deadlines(&caller, None).await {
                        tracing::warn!(error = %error, "deadlines not evaluated");
                    }
                }
            });
        }

        server.require("event-store-writer", store.writer_status(), |up| *up);
        server.require(
            NotificationsProjection::NAME,
            notifications.state(),
            ReadModelState::is_ready,
        );
        server.require(
            AssignmentFactsProjection::NAME,
            assignment_facts.state(),
            ReadModelState::is_ready,
        );
        server.require(
            ExecutionFactsProjection::NAME,
            execution_facts.state(),
            ReadModelState::is_ready,
        );
        server.require(
            CaseWarningsProjection::NAME,
            case_warnings.state(),
            ReadModelState::is_ready,
        );
        let api = EscalationApi::new(handlers.clone(), shutdown.clone());
        server
            .serve_as(
                &mut supervisor,
                "escalation gRPC server",
                AuthInterceptor::new(verifier),
                |routes, auth| {
                    routes.add_service(InterceptedService::new(
                        EscalationServiceServer::new(api)
                            .max_decoding_message_size(dondoc_runtime::grpc::MAX_REQUEST_BYTES),
                        auth,
                    ))
                },
            )
            .await;
        tracing::info!(port, "escalation service ready");
        Ok(Self {
            port,
            supervisor,
            store,
            notifications,
            assignment_facts,
            execution_facts,
            case_warnings,
            relay,
            handlers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The event store (operator commands and tests).
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// The handlers (operator commands run in-process).
    pub fn handlers(&self) -> &Handlers {
        &self.handlers
    }

    /// The consumer of the assignment service's events (tests read its backlog).
    pub fn assignment_facts(&self) -> &Consumer<AssignmentFactsProjection> {
        &self.assignment_facts
    }

    /// The consumer of the discipline service's deadline warnings.
    pub fn case_warnings(&self) -> &Consumer<CaseWarningsProjection> {
        &self.case_warnings
    }

    /// The consumer of the progress service's events.
    pub fn execution_facts(&self) -> &Consumer<ExecutionFactsProjection> {
        &self.execution_facts
    }

    /// Checks the hash chain of the whole event log.
    pub async fn verify(&self) -> anyhow::Result<VerifyReport> {
        Ok(self.store.verify().await?)
    }

    /// Empties the read models and builds them again: the local one from the log, the facts
    /// from the assignment and progress streams consumed again from the start.
    pub async fn rebuild_projections(&self) -> anyhow::Result<u64> {
        self.assignment_facts.reset_for_rebuild().await?;
        self.execution_facts.reset_for_rebuild().await?;
        self.case_warnings.reset_for_rebuild().await?;
        Ok(self.notifications.rebuild().await?)
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
