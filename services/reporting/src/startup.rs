//! Wiring the reporting service: database, NATS consumers (the assignment stream for the
//! board, the progress stream for how far each task has got, the discipline stream for
//! timeliness exemptions), gRPC server, under one
//! supervisor; health follows the read models.

use std::sync::Arc;

use anyhow::Context as _;
use dondoc_eventsourcing::Database;
use dondoc_eventsourcing::consumer::Consumer;
use dondoc_eventsourcing::projection::ReadModelState;
use dondoc_proto::FILE_DESCRIPTOR_SET;
use dondoc_proto::v1::reporting_service_server::ReportingServiceServer;
use dondoc_runtime::auth::{AuthInterceptor, TokenVerifier};
use dondoc_runtime::grpc::PreparedServer;
use dondoc_runtime::lifecycle::{Supervisor, subscribe};
use tonic::service::interceptor::InterceptedService;

use crate::consumers::board::TaskBoardProjection;
use crate::consumers::documents::DocumentsProjection;
use crate::consumers::execution::TaskExecutionProjection;
use crate::consumers::exemptions::TimelinessExemptionsProjection;
use crate::consumers::history::{
    CompletionHistoryProjection, LeadershipActionsProjection, TaskHistoryProjection,
};
use crate::grpc::ReportingApi;
use crate::handlers::Handlers;
use crate::handlers::Rebuild;
use dondoc_runtime::clock::SharedClock;

/// Settings of the reporting service (`[reporting]` in the config file, `DONDOC_REPORTING__*`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ReportingSettings {
    #[serde(flatten)]
    pub service: dondoc_runtime::service::ServiceSettings,
    /// The progress service, whose outgoing register numbers the reports the Office issues
    /// (e.g. `http://progress:50053`); absent: `IssueReport` answers FAILED_PRECONDITION.
    #[serde(default)]
    pub progress_url: Option<String>,
}

impl From<dondoc_runtime::service::ServiceSettings> for ReportingSettings {
    fn from(service: dondoc_runtime::service::ServiceSettings) -> Self {
        Self {
            service,
            progress_url: None,
        }
    }
}

/// A running reporting service.
pub struct Application {
    port: u16,
    supervisor: Supervisor,
    consumer: Arc<Consumer<TaskBoardProjection>>,
    execution: Arc<Consumer<TaskExecutionProjection>>,
    exemptions: Arc<Consumer<TimelinessExemptionsProjection>>,
    task_history: Arc<Consumer<TaskHistoryProjection>>,
    completion_history: Arc<Consumer<CompletionHistoryProjection>>,
    leadership_actions: Arc<Consumer<LeadershipActionsProjection>>,
    documents: Arc<Consumer<DocumentsProjection>>,
    read_models: Vec<Arc<dyn Rebuild>>,
    db: Database,
}

impl Application {
    /// Binds, opens the database, subscribes to the assignment stream and starts serving.
    pub async fn build(
        settings: &ReportingSettings,
        verifier: Arc<TokenVerifier>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let progress_url = settings.progress_url.clone();
        let settings = &settings.service;
        let mut server =
            PreparedServer::bind(&settings.listen, settings.tls.as_ref(), FILE_DESCRIPTOR_SET)
                .await
                .context("cannot prepare the gRPC server")?;
        let port = server.port();
        let db = settings.open_database("the reporting database").await?;
        let nats = settings.connect_nats("dondoc-reporting").await?;
        use dondoc_contracts::{assignment, discipline, escalation, progress};
        let consumer = subscribe(
            &db,
            &nats,
            assignment::SERVICE,
            &[assignment::TASK_STREAM],
            TaskBoardProjection,
            assignment::upcasters(),
        )
        .await?;
        let execution = subscribe(
            &db,
            &nats,
            progress::SERVICE,
            &[progress::EXECUTION_STREAM],
            TaskExecutionProjection,
            progress::upcasters(),
        )
        .await?;
        let task_history = subscribe(
            &db,
            &nats,
            assignment::SERVICE,
            &[
                assignment::TASK_STREAM,
                assignment::DIRECTORY_STREAM,
                assignment::LEADER_STREAM,
            ],
            TaskHistoryProjection,
            assignment::upcasters(),
        )
        .await?;
        let completion_history = subscribe(
            &db,
            &nats,
            progress::SERVICE,
            &[progress::EXECUTION_STREAM],
            CompletionHistoryProjection,
            progress::upcasters(),
        )
        .await?;
        let leadership_actions = subscribe(
            &db,
            &nats,
            escalation::SERVICE,
            &[escalation::ACTION_STREAM],
            LeadershipActionsProjection,
            escalation::upcasters(),
        )
        .await?;
        let documents = subscribe(
            &db,
            &nats,
            progress::SERVICE,
            &[progress::REGISTER_STREAM, progress::DOSSIER_STREAM],
            DocumentsProjection,
            progress::upcasters(),
        )
        .await?;
        let exemptions = subscribe(
            &db,
            &nats,
            discipline::SERVICE,
            &[discipline::CASE_STREAM],
            TimelinessExemptionsProjection,
            discipline::upcasters(),
        )
        .await?;

        let mut supervisor = Supervisor::new();
        supervisor.set_drain(settings.shutdown_drain);
        supervisor.spawn_read_model("task-board consumer", consumer.clone());

        supervisor.spawn_read_model("task-execution consumer", execution.clone());
        supervisor.spawn_read_model("timeliness-exemptions consumer", exemptions.clone());
        supervisor.spawn_read_model("task-history consumer", task_history.clone());
        supervisor.spawn_read_model("completion-history consumer", completion_history.clone());
        supervisor.spawn_read_model("leadership-actions consumer", leadership_actions.clone());
        supervisor.spawn_read_model("documents consumer", documents.clone());

        server.require(
            TaskBoardProjection::NAME,
            consumer.state(),
            ReadModelState::is_ready,
        );
        server.require(
            TaskExecutionProjection::NAME,
            execution.state(),
            ReadModelState::is_ready,
        );
        server.require(
            TimelinessExemptionsProjection::NAME,
            exemptions.state(),
            ReadModelState::is_ready,
        );
        server.require(
            TaskHistoryProjection::NAME,
            task_history.state(),
            ReadModelState::is_ready,
        );
        server.require(
            CompletionHistoryProjection::NAME,
            completion_history.state(),
            ReadModelState::is_ready,
        );
        server.require(
            LeadershipActionsProjection::NAME,
            leadership_actions.state(),
            ReadModelState::is_ready,
        );
        server.require(
            DocumentsProjection::NAME,
            documents.state(),
            ReadModelState::is_ready,
        );
        let calendar = Arc::new(
            dondoc_runtime::calendar::WorkingCalendar::vietnam()
                .context("cannot read the working-day calendar")?,
        );
        crate::issued::create_table(&db)
            .await
            .context("cannot create the issued-reports table")?;
        let read_models: Vec<Arc<dyn Rebuild>> = vec![
            consumer.clone(),
            execution.clone(),
            exemptions.clone(),
            task_history.clone(),
            completion_history.clone(),
            leadership_actions.clone(),
            documents.clone(),
        ];
        let reporting = ReportingApi::new(Handlers::new(
            db.clone(),
            consumer.clone(),
            calendar,
            clock,
            read_models.clone(),
            progress_url,
        ));
        server
            .serve_as(
                &mut supervisor,
                "reporting gRPC server",
                AuthInterceptor::new(verifier),
                |routes, auth| {
                    routes.add_service(InterceptedService::new(
                        ReportingServiceServer::new(reporting)
                            .max_decoding_message_size(dondoc_runtime::grpc::MAX_REQUEST_BYTES),
                        auth,
                    ))
                },
            )
            .await;
        tracing::info!(port, "reporting service ready");
        Ok(Self {
            port,
            supervisor,
            consumer,
            execution,
            exemptions,
            task_history,
            completion_history,
            leadership_actions,
            documents,
            read_models,
            db,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Empties every read model and consumes every stream again from the start (without
    /// waiting for the rebuild to catch up; `RebuildProjections` waits).
    pub async fn rebuild_projections(&self) -> anyhow::Result<()> {
        for read_model in &self.read_models {
            read_model.reset().await?;
        }
        Ok(())
    }

    /// The consumer of the progress service's registers and dossiers.
    pub fn documents(&self) -> &Consumer<DocumentsProjection> {
        &self.documents
    }

    /// The consumer of the progress service's events (tests read its backlog).
    pub fn task_execution(&self) -> &Consumer<TaskExecutionProjection> {
        &self.execution
    }

    /// The consumers of the task histories the periodic report is computed from.
    pub fn task_history(&self) -> &Consumer<TaskHistoryProjection> {
        &self.task_history
    }

    pub fn completion_history(&self) -> &Consumer<CompletionHistoryProjection> {
        &self.completion_history
    }

    pub fn leadership_actions(&self) -> &Consumer<LeadershipActionsProjection> {
        &self.leadership_actions
    }

    /// The consumer of the discipline service's withdrawn cases.
    pub fn timeliness_exemptions(&self) -> &Consumer<TimelinessExemptionsProjection> {
        &self.exemptions
    }

    /// The task-board consumer (tests read its statistics and backlog).
    pub fn task_board(&self) -> &Consumer<TaskBoardProjection> {
        &self.consumer
    }

    /// The reporting database (for operator commands such as listing dead letters).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Stops gracefully.
    pub async fn stop(self) {
        self.supervisor.stop().await;
        self.db.close().await;
    }

    /// Stops abruptly, as a crash would.
    pub fn kill(self) {
        self.supervisor.kill();
    }
}
