//! Wiring the discipline service: its event store with the outbox relay, the consumers of the
//! assignment, progress and escalation services' events, the cases read model over its own
//! log, the drafter and the clock ticker, and the gRPC server, under one supervisor.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use dondoc_eventsourcing::consumer::Consumer;
use dondoc_eventsourcing::projection::{LocalProjector, ReadModelState};
use dondoc_eventsourcing::relay::{Relay, RelayConfig};
use dondoc_eventsourcing::{EventStore, VerifyReport};
use dondoc_proto::FILE_DESCRIPTOR_SET;
use dondoc_proto::v1::discipline_service_server::DisciplineServiceServer;
use dondoc_runtime::auth::{AuthInterceptor, TokenVerifier};
use dondoc_runtime::clock::SharedClock;
use dondoc_runtime::grpc::PreparedServer;
use dondoc_runtime::lifecycle::{Supervisor, jetstream, subscribe};
use tonic::service::interceptor::InterceptedService;

use crate::consumers::cases::{CasesProjection, CasesReader};
use crate::consumers::evidence::{
    DirectoryProjection, EscalationEvidenceProjection, FactsReader, ProgressEvidenceProjection,
};
use crate::domain::{DraftingPolicy, Law};
use crate::grpc::DisciplineApi;
use crate::handlers::Handlers;

/// The service name: JetStream stream `DONDOC_DISCIPLINE`, subjects `dondoc.discipline.>`.
pub const SERVICE: &str = dondoc_contracts::discipline::SERVICE;

/// Settings of the discipline service (`[discipline]`, `DONDOC_DISCIPLINE__*`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct DisciplineSettings {
    #[serde(flatten)]
    pub service: dondoc_runtime::service::ServiceSettings,
    /// How often triggers of the drafting policy are turned into drafts (default 10 s).
    #[serde(default = "default_draft", with = "humantime_serde")]
    pub draft_interval: Duration,
    /// How often the cases' clocks are evaluated (default hourly; `EvaluateCaseClocks` on
    /// demand).
    #[serde(default = "default_clock", with = "humantime_serde")]
    pub clock_interval: Duration,
    /// The drafting policy; absent: the shipped `policy.toml`.
    #[serde(default)]
    pub policy_file: Option<PathBuf>,
    /// The legal parameters; absent: the shipped `data/discipline-law.toml`.
    #[serde(default)]
    pub law_file: Option<PathBuf>,
}

fn default_draft() -> Duration {
    Duration::from_secs(10)
}

fn default_clock() -> Duration {
    Duration::from_secs(3600)
}

impl From<dondoc_runtime::service::ServiceSettings> for DisciplineSettings {
    fn from(service: dondoc_runtime::service::ServiceSettings) -> Self {
        Self {
            service,
            draft_interval: default_draft(),
            clock_interval: default_clock(),
            policy_file: None,
            law_file: None,
        }
    }
}

fn read(path: &Option<PathBuf>, shipped: &str) -> anyhow::Result<String> {
    match path {
        None => Ok(shipped.to_owned()),
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        }
    }
}

/// A running discipline service.
pub struct Application {
    port: u16,
    supervisor: Supervisor,
    store: EventStore,
    cases: Arc<LocalProjector<CasesProjection>>,
    escalation_evidence: Arc<Consumer<EscalationEvidenceProjection>>,
    progress_evidence: Arc<Consumer<ProgressEvidenceProjection>>,
    directory: Arc<Consumer<DirectoryProjection>>,
    relay: Relay,
    handlers: Handlers,
}

impl Application {
    pub async fn build(
        discipline: &DisciplineSettings,
        verifier: Arc<TokenVerifier>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let settings = &discipline.service;
        let policy = Arc::new(
            DraftingPolicy::from_toml(&read(
                &discipline.policy_file,
                crate::domain::policy::DEFAULT_POLICY,
            )?)
            .map_err(|e| anyhow::anyhow!("drafting policy: {e}"))?,
        );
        let law = Arc::new(
            Law::from_toml(&read(&discipline.law_file, crate::domain::law::SHIPPED)?)
                .map_err(|e| anyhow::anyhow!("legal parameters: {e}"))?,
        );
        let mut server =
            PreparedServer::bind(&settings.listen, settings.tls.as_ref(), FILE_DESCRIPTOR_SET)
                .await
                .context("cannot prepare the gRPC server")?;
        let port = server.port();
        let db = settings.open_database("the discipline database").await?;
        let store = EventStore::open(db.clone(), SERVICE, crate::events::upcasters())
            .await
            .context("cannot open the discipline event store")?;
        let cases = Arc::new(
            LocalProjector::new(store.clone(), Arc::new(CasesProjection))
                .await
                .context("cannot prepare the cases read model")?,
        );
        if let Err(error) = cases.catch_up().await {
            tracing::warn!(error = %error, "cases not caught up at start; retrying in the background");
        }
        let nats = settings.connect_nats("dondoc-discipline").await?;
        let anchors_js = jetstream(nats.clone());
        let relay = Relay::new(
            store.clone(),
            jetstream(nats.clone()),
            RelayConfig::for_service(SERVICE).with_stream(settings.stream.clone()),
        )
        .await
        .context("cannot prepare the outbox relay")?;
        let escalation_evidence = subscribe(
            &db,
            &nats,
            dondoc_contracts::escalation::SERVICE,
            &[dondoc_contracts::escalation::WATCH_STREAM],
            EscalationEvidenceProjection {
                policy: policy.clone(),
            },
            dondoc_contracts::escalation::upcasters(),
        )
        .await?;
        let progress_evidence = subscribe(
            &db,
            &nats,
            dondoc_contracts::progress::SERVICE,
            &[dondoc_contracts::progress::EXECUTION_STREAM],
            ProgressEvidenceProjection,
            dondoc_contracts::progress::upcasters(),
        )
        .await?;
        let directory = subscribe(
            &db,
            &nats,
            dondoc_contracts::assignment::SERVICE,
            &[
                dondoc_contracts::assignment::TASK_STREAM,
                dondoc_contracts::assignment::LEADER_STREAM,
                dondoc_contracts::assignment::DIRECTORY_STREAM,
            ],
            DirectoryProjection,
            dondoc_contracts::assignment::upcasters(),
        )
        .await?;

        let handlers = Handlers::new(
            store.clone(),
            FactsReader::new(db),
            CasesReader::new(cases.clone()),
            law,
            policy,
            clock.clone(),
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
        supervisor.spawn_read_model("cases projection", cases.clone());
        supervisor.spawn_read_model("escalation evidence consumer", escalation_evidence.clone());
        supervisor.spawn_read_model("progress evidence consumer", progress_evidence.clone());
        supervisor.spawn_read_model("directory consumer", directory.clone());
        {
            let handlers = handlers.clone();
            let shutdown = shutdown.clone();
            let every = discipline.draft_interval;
            supervisor.spawn("drafter", async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        _ = ticks.tick() => {}
                    }
                    match handlers.draft_pending().await {
                        Ok(0) => {}
                        Ok(drafted) => tracing::info!(drafted, "discipline drafts opened"),
                        Err(error) => tracing::warn!(error = %error, "drafts not opened"),
                    }
                }
            });
        }
        {
            let handlers = handlers.clone();
            let shutdown = shutdown.clone();
            let every = discipline.clock_interval;
            supervisor.spawn("case clock ticker", async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        _ = ticks.tick() => {}
                    }
                    let caller = Handlers::system_caller("clock");
                    if let Err(error) = handlers.evaluate_clocks(&caller, None).await {
                        tracing::warn!(error = %error, "case clocks not evaluated");
                    }
                }
            });
        }

        server.require("event-store-writer", store.writer_status(), |up| *up);
        server.require(
            CasesProjection::NAME,
            cases.state(),
            ReadModelState::is_ready,
        );
        server.require(
            EscalationEvidenceProjection::NAME,
            escalation_evidence.state(),
            ReadModelState::is_ready,
        );
        server.require(
            ProgressEvidenceProjection::NAME,
            progress_evidence.state(),
            ReadModelState::is_ready,
        );
        server.require(
            DirectoryProjection::NAME,
            directory.state(),
            ReadModelState::is_ready,
        );
        let api = DisciplineApi::new(handlers.clone());
        server
            .serve_as(
                &mut supervisor,
                "discipline gRPC server",
                AuthInterceptor::new(verifier),
                |routes, auth| {
                    routes.add_service(InterceptedService::new(
                        DisciplineServiceServer::new(api)
                            .max_decoding_message_size(dondoc_runtime::grpc::MAX_REQUEST_BYTES),
                        auth,
                    ))
                },
            )
            .await;
        tracing::info!(port, "discipline service ready");
        Ok(Self {
            port,
            supervisor,
            store,
            cases,
            escalation_evidence,
            progress_evidence,
            directory,
            relay,
            handlers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn handlers(&self) -> &Handlers {
        &self.handlers
    }

    /// The consumer of the escalation service's notices (tests read its counters).
    pub fn escalation_evidence(&self) -> &Consumer<EscalationEvidenceProjection> {
        &self.escalation_evidence
    }

    pub fn progress_evidence(&self) -> &Consumer<ProgressEvidenceProjection> {
        &self.progress_evidence
    }

    pub fn directory(&self) -> &Consumer<DirectoryProjection> {
        &self.directory
    }

    pub async fn verify(&self) -> anyhow::Result<VerifyReport> {
        Ok(self.store.verify().await?)
    }

    /// Empties the read models and builds them again.
    pub async fn rebuild_projections(&self) -> anyhow::Result<u64> {
        self.escalation_evidence.reset_for_rebuild().await?;
        self.progress_evidence.reset_for_rebuild().await?;
        self.directory.reset_for_rebuild().await?;
        Ok(self.cases.rebuild().await?)
    }

    pub async fn replay_from(&self, position: u64) -> anyhow::Result<()> {
        Ok(self.relay.rewind_to(position).await?)
    }

    pub async fn published_position(&self) -> anyhow::Result<u64> {
        Ok(self.relay.checkpoint().await?)
    }

    pub async fn stop(self) {
        self.supervisor.stop().await;
        self.store.database().close().await;
    }

    pub fn kill(self) {
        self.supervisor.kill();
    }
}
