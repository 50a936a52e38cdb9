//! Cross-service test harness: spawns dondoc's services the way `dondoc up` does — each on port
//! 0, with its own database and a nats-server of its own — and hands out authenticated gRPC
//! clients for each role. Tests set state up through the public API only.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use dondoc_assignment::AssignmentSettings;
use dondoc_eventsourcing::testing::TestDatabase;
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::assignment_service_client::AssignmentServiceClient;
use dondoc_proto::v1::discipline_service_client::DisciplineServiceClient;
use dondoc_proto::v1::escalation_service_client::EscalationServiceClient;
use dondoc_proto::v1::progress_service_client::ProgressServiceClient;
use dondoc_proto::v1::reporting_service_client::ReportingServiceClient;
use dondoc_reporting::ReportingSettings;
use dondoc_runtime::auth::{BearerToken, Principal, Role, TokenIssuer, TokenVerifier};
use dondoc_runtime::clock::{ManualClock, SharedClock};
use dondoc_runtime::nats::NatsServer;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub type AssignmentClient = AssignmentServiceClient<InterceptedService<Channel, BearerToken>>;
pub type ReportingClient = ReportingServiceClient<InterceptedService<Channel, BearerToken>>;
pub type ProgressClient = ProgressServiceClient<InterceptedService<Channel, BearerToken>>;
pub type EscalationClient = EscalationServiceClient<InterceptedService<Channel, BearerToken>>;
pub type DisciplineClient = DisciplineServiceClient<InterceptedService<Channel, BearerToken>>;

pub mod smtp;

/// The unit directory shipped with dondoc (2019 and post-2025 Hải Phòng).
pub const SEED_UNITS: &str = include_str!("../../services/assignment/seed/haiphong-units.toml");

/// The sample leader directory shipped with dondoc (Chairman `ct-nguyen`; Vice-Chairmen
/// `pct-tran`, who supervises SXD and STC, `pct-hoang`, `pct-pham`, and `pct-le` until 2025).
pub const SEED_LEADERS: &str = include_str!("../../services/assignment/seed/haiphong-leaders.toml");

/// Which database engine the services run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Every service of dondoc, running.
pub struct TestSystem {
    pub nats: NatsServer,
    pub assignment: Option<dondoc_assignment::Application>,
    pub reporting: Option<dondoc_reporting::Application>,
    /// Started on demand ([`TestSystem::start_progress`]), so tests that do not need it do not
    /// pay for it.
    pub progress: Option<dondoc_progress::Application>,
    /// Started on demand ([`TestSystem::start_escalation`]).
    pub escalation: Option<dondoc_escalation::Application>,
    /// Started on demand ([`TestSystem::start_discipline`]).
    pub discipline: Option<dondoc_discipline::Application>,
    pub clock: Arc<ManualClock>,
    issuer: TokenIssuer,
    /// Kept to mint tokens at other instants (an expired one).
    private_key_pem: String,
    verifier: Arc<TokenVerifier>,
    assignment_db: TestDatabase,
    reporting_db: TestDatabase,
    progress_db: TestDatabase,
    /// Created when the escalation service first starts.
    escalation_db: Option<TestDatabase>,
    /// Created when the discipline service first starts.
    discipline_db: Option<TestDatabase>,
    engine: Engine,
}

/// 28 November 2026, a Saturday in Hải Phòng.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).expect("valid date")
}

async fn database(engine: Engine) -> Option<TestDatabase> {
    match engine {
        Engine::Sqlite => Some(TestDatabase::sqlite().await),
        Engine::Postgres => TestDatabase::postgres().await,
    }
}

impl TestSystem {
    /// Starts NATS, the assignment and the reporting service on SQLite, and imports the unit
    /// directory.
    pub async fn spawn() -> Self {
        Self::spawn_on(Engine::Sqlite)
            .await
            .expect("SQLite is always available")
    }

    /// As [`TestSystem::spawn`] on the given engine; `None` when PostgreSQL is not configured.
    pub async fn spawn_on(engine: Engine) -> Option<Self> {
        Self::spawn_with_units(engine, SEED_UNITS).await
    }

    /// As [`TestSystem::spawn_on`], importing `units` as the unit directory.
    pub async fn spawn_with_units(engine: Engine, units: &str) -> Option<Self> {
        init_test_logging();
        let assignment_db = database(engine).await?;
        let reporting_db = database(engine).await?;
        let progress_db = database(engine).await?;
        let nats = NatsServer::start().await.expect("start nats-server");
        let (private, public) =
            dondoc_runtime::auth::generate_dev_keypair().expect("generate key pair");
        // Business time is the manual clock; tokens live in real time, as the verifier does.
        let clock = Arc::new(ManualClock::on_business_date(today()));
        let issuer = TokenIssuer::from_private_pem(&private).expect("issuer");
        let verifier = Arc::new(TokenVerifier::from_public_pem(&public).expect("verifier"));
        let mut system = Self {
            nats,
            assignment: None,
            reporting: None,
            progress: None,
            escalation: None,
            discipline: None,
            clock,
            issuer,
            private_key_pem: private.clone(),
            verifier,
            assignment_db,
            reporting_db,
            progress_db,
            escalation_db: None,
            discipline_db: None,
            engine,
        };
        system.start_assignment().await;
        system.start_reporting().await;
        let response = system
            .import_units(units)
            .await
            .expect("import the unit directory");
        assert_eq!(response.directories_imported, 2);
        system
            .client(Role::Office)
            .await
            .import_leaders(pb::ImportLeadersRequest {
                request_id: request_id(),
                toml: SEED_LEADERS.to_owned(),
            })
            .await
            .expect("import the leader directory");
        Some(system)
    }

    fn assignment_settings(&self) -> AssignmentSettings {
        dondoc_runtime::service::ServiceSettings {
            database_url: self.assignment_db.url.clone(),
            database_password_file: None,
            nats_url: self.nats.url(),
            nats_user: None,
            nats_password_file: None,
            nats_ca_path: None,
            listen: "127.0.0.1:0".into(),
            tls: None,
            database: Default::default(),
            stream: Default::default(),
            shutdown_drain: Default::default(),
            anchor: None,
        }
        .into()
    }

    /// (Re)starts the assignment service on its database.
    pub async fn start_assignment(&mut self) {
        self.assignment = Some(self.another_assignment_replica().await);
    }

    /// One more instance of the assignment service on the same database and NATS (a second
    /// replica behind a load balancer).
    pub async fn another_assignment_replica(&self) -> dondoc_assignment::Application {
        let clock: SharedClock = self.clock.clone();
        dondoc_assignment::Application::build(
            &self.assignment_settings(),
            self.verifier.clone(),
            clock,
        )
        .await
        .expect("start the assignment service")
    }

    /// An assignment client for a given replica, acting with `role`.
    pub async fn client_of(
        &self,
        replica: &dondoc_assignment::Application,
        role: Role,
    ) -> AssignmentClient {
        AssignmentServiceClient::with_interceptor(
            Self::channel(replica.port()).await,
            BearerToken::new(self.token(role)),
        )
    }

    /// (Re)starts the reporting service on its database, stopping the running one first; it
    /// issues reports to the progress service when that one is running.
    pub async fn start_reporting(&mut self) {
        if let Some(running) = self.reporting.take() {
            running.stop().await;
        }
        let mut settings = ReportingSettings::from(dondoc_runtime::service::ServiceSettings {
            database_url: self.reporting_db.url.clone(),
            database_password_file: None,
            nats_url: self.nats.url(),
            nats_user: None,
            nats_password_file: None,
            nats_ca_path: None,
            listen: "127.0.0.1:0".into(),
            tls: None,
            database: Default::default(),
            stream: Default::default(),
            shutdown_drain: Default::default(),
            anchor: None,
        });
        settings.progress_url = self
            .progress
            .as_ref()
            .map(|p| format!("http://127.0.0.1:{}", p.port()));
        let app = dondoc_reporting::Application::build(
            &settings,
            self.verifier.clone(),
            self.clock.clone(),
        )
        .await
        .expect("start the reporting service");
        self.reporting = Some(app);
    }

    /// (Re)starts the progress service on its database. The reply-deadline ticker is left to
    /// the tests, which evaluate at instants of their choosing.
    pub async fn start_progress(&mut self) {
        let clock: SharedClock = self.clock.clone();
        let mut settings =
            dondoc_progress::ProgressSettings::from(dondoc_runtime::service::ServiceSettings {
                database_url: self.progress_db.url.clone(),
                database_password_file: None,
                nats_url: self.nats.url(),
                nats_user: None,
                nats_password_file: None,
                nats_ca_path: None,
                listen: "127.0.0.1:0".into(),
                tls: None,
                database: Default::default(),
                stream: Default::default(),
                shutdown_drain: Default::default(),
                anchor: None,
            });
        settings.reply_check_interval = Duration::from_secs(24 * 3600);
        let app = dondoc_progress::Application::build(&settings, self.verifier.clone(), clock)
            .await
            .expect("start the progress service");
        self.progress = Some(app);
    }

    /// (Re)starts the escalation service on its database, e-mailing through `smtp` when given.
    /// The ticker is left to the tests (it evaluates once at start, then daily), which evaluate
    /// at instants of their choosing.
    pub async fn start_escalation_with(&mut self, smtp: Option<dondoc_escalation::SmtpSettings>) {
        if self.escalation_db.is_none() {
            self.escalation_db = Some(database(self.engine).await.expect("escalation database"));
        }
        let url = self
            .escalation_db
            .as_ref()
            .map(|db| db.url.clone())
            .unwrap_or_default();
        let clock: SharedClock = self.clock.clone();
        let mut settings =
            dondoc_escalation::EscalationSettings::from(dondoc_runtime::service::ServiceSettings {
                database_url: url,
                database_password_file: None,
                nats_url: self.nats.url(),
                nats_user: None,
                nats_password_file: None,
                nats_ca_path: None,
                listen: "127.0.0.1:0".into(),
                tls: None,
                database: Default::default(),
                stream: Default::default(),
                shutdown_drain: Default::default(),
                anchor: None,
            });
        settings.evaluate_interval = Duration::from_secs(24 * 3600);
        settings.smtp = smtp;
        let app = dondoc_escalation::Application::build(&settings, self.verifier.clone(), clock)
            .await
            .expect("start the escalation service");
        self.escalation = Some(app);
    }

    /// (Re)starts the escalation service without e-mail.
    pub async fn start_escalation(&mut self) {
        self.start_escalation_with(None).await;
    }

    /// (Re)starts the discipline service on its database. Drafts are opened within a tenth of
    /// a second of their trigger; the clocks are left to the tests.
    pub async fn start_discipline(&mut self) {
        if self.discipline_db.is_none() {
            self.discipline_db = Some(database(self.engine).await.expect("discipline database"));
        }
        let url = self
            .discipline_db
            .as_ref()
            .map(|db| db.url.clone())
            .unwrap_or_default();
        let clock: SharedClock = self.clock.clone();
        let mut settings =
            dondoc_discipline::DisciplineSettings::from(dondoc_runtime::service::ServiceSettings {
                database_url: url,
                database_password_file: None,
                nats_url: self.nats.url(),
                nats_user: None,
                nats_password_file: None,
                nats_ca_path: None,
                listen: "127.0.0.1:0".into(),
                tls: None,
                database: Default::default(),
                stream: Default::default(),
                shutdown_drain: Default::default(),
                anchor: None,
            });
        settings.draft_interval = Duration::from_millis(100);
        settings.clock_interval = Duration::from_secs(24 * 3600);
        let app = dondoc_discipline::Application::build(&settings, self.verifier.clone(), clock)
            .await
            .expect("start the discipline service");
        self.discipline = Some(app);
    }

    pub fn discipline(&self) -> &dondoc_discipline::Application {
        self.discipline
            .as_ref()
            .expect("discipline service running")
    }

    /// A discipline client acting as `principal`.
    pub async fn discipline_client_as(&self, principal: &Principal) -> DisciplineClient {
        DisciplineServiceClient::with_interceptor(
            Self::channel(self.discipline().port()).await,
            BearerToken::new(self.mint(principal)),
        )
    }

    /// A discipline client acting with `role` (see [`TestSystem::token`]).
    pub async fn discipline_client(&self, role: Role) -> DisciplineClient {
        DisciplineServiceClient::with_interceptor(
            Self::channel(self.discipline().port()).await,
            BearerToken::new(self.token(role)),
        )
    }

    pub fn escalation(&self) -> &dondoc_escalation::Application {
        self.escalation
            .as_ref()
            .expect("escalation service running")
    }

    /// An escalation client acting as `principal`.
    pub async fn escalation_client_as(&self, principal: &Principal) -> EscalationClient {
        EscalationServiceClient::with_interceptor(
            Self::channel(self.escalation().port()).await,
            BearerToken::new(self.mint(principal)),
        )
    }

    /// An escalation client acting with `role` (see [`TestSystem::token`]).
    pub async fn escalation_client(&self, role: Role) -> EscalationClient {
        EscalationServiceClient::with_interceptor(
            Self::channel(self.escalation().port()).await,
            BearerToken::new(self.token(role)),
        )
    }

    /// Polls the escalation service's watch of `task_id` until `done` holds, failing after a
    /// deadline (its facts come over NATS).
    pub async fn watch_when(
        &self,
        task_id: &str,
        what: &str,
        done: impl Fn(&pb::Watch) -> bool,
    ) -> pb::Watch {
        let mut client = self.escalation_client(Role::Office).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let seen = client
                .get_watch(pb::GetWatchRequest {
                    task_id: task_id.to_owned(),
                })
                .await
                .map(tonic::Response::into_inner);
            if let Ok(watch) = &seen
                && done(watch)
            {
                return watch.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for the watch of {task_id}: {what}; last seen {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn progress(&self) -> &dondoc_progress::Application {
        self.progress.as_ref().expect("progress service running")
    }

    /// The engine the services run on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A progress client acting as `principal`.
    pub async fn progress_client_as(&self, principal: &Principal) -> ProgressClient {
        ProgressServiceClient::with_interceptor(
            Self::channel(self.progress().port()).await,
            BearerToken::new(self.mint(principal)),
        )
    }

    /// A progress client acting with `role` (see [`TestSystem::token`]).
    pub async fn progress_client(&self, role: Role) -> ProgressClient {
        ProgressServiceClient::with_interceptor(
            Self::channel(self.progress().port()).await,
            BearerToken::new(self.token(role)),
        )
    }

    /// Waits until the progress service has heard of `task_id` from the assignment service
    /// (the path crosses NATS), failing after a deadline.
    pub async fn execution_known(&self, task_id: &str) -> pb::Execution {
        let mut client = self.progress_client(Role::Office).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match client
                .get_execution(pb::GetExecutionRequest {
                    task_id: task_id.to_owned(),
                })
                .await
            {
                Ok(execution) => return execution.into_inner(),
                Err(status) if status.code() == tonic::Code::NotFound => {}
                Err(status) => panic!("GetExecution failed: {status:?}"),
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the progress service never heard of task {task_id}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `done` holds for the execution of `task_id`, failing after a deadline.
    pub async fn execution_when(
        &self,
        task_id: &str,
        what: &str,
        done: impl Fn(&pb::Execution) -> bool,
    ) -> pb::Execution {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let execution = self.execution_known(task_id).await;
            if done(&execution) {
                return execution;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for the execution: {what}; last seen {execution:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The assignment service's database, for tests that must plant what an older release
    /// wrote (there is no API to write old event versions, on purpose).
    pub fn assignment_database_url(&self) -> &str {
        &self.assignment_db.url
    }

    /// An event store on the assignment service's database opened from outside the service: a
    /// second writer, as an older release or a careless operator would be. Tests use it to plant
    /// events no API would write.
    pub async fn assignment_log_from_outside(&self) -> dondoc_eventsourcing::EventStore {
        let db = dondoc_eventsourcing::Database::connect(&self.assignment_db.url)
            .await
            .expect("open the assignment database");
        dondoc_eventsourcing::EventStore::open(
            db,
            "assignment",
            dondoc_eventsourcing::Upcasters::new(),
        )
        .await
        .expect("open the assignment log")
    }

    /// The overall (or one part's) gRPC health of a server, as a probe sees it.
    pub async fn health(&self, port: u16, service: &str) -> i32 {
        let mut client =
            tonic_health::pb::health_client::HealthClient::new(Self::channel(port).await);
        client
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .map(|r| r.into_inner().status)
            .unwrap_or(-1)
    }

    /// Waits until `service`'s health on `port` is `status`, failing after a deadline.
    pub async fn health_becomes(
        &self,
        port: u16,
        service: &str,
        status: tonic_health::pb::health_check_response::ServingStatus,
    ) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let now = self.health(port, service).await;
            if now == status as i32 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "health of {service:?} on {port} stayed {now}, not {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub fn assignment(&self) -> &dondoc_assignment::Application {
        self.assignment
            .as_ref()
            .expect("assignment service running")
    }

    pub fn reporting(&self) -> &dondoc_reporting::Application {
        self.reporting.as_ref().expect("reporting service running")
    }

    /// A token for a principal of this role (units are the Department of Construction, SXD;
    /// leaders are Vice-Chairman "pct-tran").
    pub fn token(&self, role: Role) -> String {
        let principal = match role {
            Role::Unit => self.principal_for_unit("SXD"),
            Role::Leader => Principal {
                subject: "pct-tran".into(),
                role,
                unit_code: None,
                leader_id: Some("pct-tran".into()),
            },
            _ => Principal {
                subject: format!("{}-user", role.as_str()),
                role,
                unit_code: None,
                leader_id: None,
            },
        };
        self.mint(&principal)
    }

    pub fn principal_for_unit(&self, unit: &str) -> Principal {
        Principal {
            subject: format!("{}-officer", unit.to_lowercase()),
            role: Role::Unit,
            unit_code: Some(unit.into()),
            leader_id: None,
        }
    }

    /// A token for `principal` that expired an hour ago (well past the verifier's leeway).
    pub fn mint_expired(&self, principal: &Principal) -> String {
        let two_hours_ago = chrono::Utc::now() - chrono::Duration::hours(2);
        TokenIssuer::from_private_pem(&self.private_key_pem)
            .expect("issuer")
            .with_clock(Arc::new(ManualClock::at(two_hours_ago)))
            .mint(principal, Duration::from_secs(3600))
            .expect("mint token")
    }

    /// A progress client with a raw bearer token (or none, when empty).
    pub async fn progress_client_with_token(&self, token: &str) -> ProgressClient {
        ProgressServiceClient::with_interceptor(
            Self::channel(self.progress().port()).await,
            BearerToken::new(token),
        )
    }

    pub fn mint(&self, principal: &Principal) -> String {
        self.issuer
            .mint(principal, Duration::from_secs(3600))
            .expect("mint token")
    }

    /// A plaintext channel to a service of this system on `port`.
    pub async fn channel(port: u16) -> Channel {
        Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect")
    }

    /// An assignment client acting with `role`.
    pub async fn client(&self, role: Role) -> AssignmentClient {
        self.client_with_token(&self.token(role)).await
    }

    pub async fn client_with_token(&self, token: &str) -> AssignmentClient {
        AssignmentServiceClient::with_interceptor(
            Self::channel(self.assignment().port()).await,
            BearerToken::new(token),
        )
    }

    pub async fn reporting_client(&self, role: Role) -> ReportingClient {
        ReportingServiceClient::with_interceptor(
            Self::channel(self.reporting().port()).await,
            BearerToken::new(self.token(role)),
        )
    }

    /// A reporting client acting as `principal` (a given unit, a given leader).
    pub async fn reporting_client_as(&self, principal: &Principal) -> ReportingClient {
        ReportingServiceClient::with_interceptor(
            Self::channel(self.reporting().port()).await,
            BearerToken::new(self.mint(principal)),
        )
    }

    /// Imports a unit directory file as the Office, with a fresh request id.
    pub async fn import_units(&self, toml: &str) -> Result<pb::ImportUnitsResponse, tonic::Status> {
        self.client(Role::Office)
            .await
            .import_units(pb::ImportUnitsRequest {
                request_id: request_id(),
                toml: toml.to_owned(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// The task board, read through the reporting API.
    pub async fn board(&self) -> pb::TaskBoard {
        self.reporting_client(Role::Office)
            .await
            .get_task_board(pb::GetTaskBoardRequest::default())
            .await
            .expect("read the task board")
            .into_inner()
    }

    /// Polls the board until `done` holds (the path crosses NATS, so it is eventually
    /// consistent), failing after a deadline.
    pub async fn board_when(
        &self,
        what: &str,
        done: impl Fn(&pb::TaskBoard) -> bool,
    ) -> pb::TaskBoard {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let board = self.board().await;
            if done(&board) {
                return board;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for the board: {what}; last seen {board:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A fresh AIP-155 request id: every mutation carries one.
pub fn request_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The city's directing document of most test tasks.
pub fn city_document() -> pb::SourceDocument {
    pb::SourceDocument {
        number: "4521".into(),
        symbol: "UBND-XD".into(),
        date: "2026-11-20".into(),
        summary: "Về việc đôn đốc tiến độ giải phóng mặt bằng dự án đường ven biển".into(),
    }
}

/// Assigned by a leader of the directory through the city's document.
pub fn assigned_by(kind: pb::AssignerKind, leader_id: &str) -> pb::TaskAssignment {
    pb::TaskAssignment {
        assigner: Some(pb::Assigner {
            kind: kind as i32,
            leader_id: leader_id.to_owned(),
            leader_name: String::new(),
        }),
        document: Some(city_document()),
    }
}

/// A task that starts with the city's own document.
pub fn from_the_city() -> pb::TaskOrigin {
    pb::TaskOrigin {
        kind: pb::OriginKind::CityPeoplesCommittee as i32,
        issuing_body: String::new(),
        document: None,
    }
}

/// A valid assignment request: Vice-Chairman pct-tran assigns the Department of Construction,
/// with Finance coordinating, a deadline at the end of the year, through the city's document.
pub fn assignment_request(title: &str) -> pb::AssignTaskRequest {
    pb::AssignTaskRequest {
        request_id: request_id(),
        issuer: None,
        source_document: None,
        origin: Some(from_the_city()),
        assignment: Some(assigned_by(pb::AssignerKind::ViceChairman, "pct-tran")),
        title: title.to_owned(),
        content: "Báo cáo tiến độ và đề xuất giải pháp tháo gỡ vướng mắc".into(),
        lead_unit: "SXD".into(),
        coordinating_units: vec!["STC".into()],
        term: Some(pb::assign_task_request::Term::Deadline("2026-12-31".into())),
        priority: pb::Priority::Urgent as i32,
    }
}

fn init_test_logging() {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = dondoc_runtime::telemetry::init(
            "dondoc-tests",
            &dondoc_runtime::telemetry::TelemetrySettings {
                log_filter: "debug".into(),
                ..Default::default()
            },
        );
    }
}
