//! dondoc beyond one machine, on loopback: three pinned nats-servers in a JetStream cluster,
//! two replicas of every service on one PostgreSQL server, streams in three copies. Commands
//! go through both replicas while the cluster loses the leader of a stream and then the
//! replica that holds the relay lease (a crash, not a stop); afterwards every accepted command
//! has been applied exactly once in every read model, nothing is dead-lettered or parked,
//! every log verifies, the streams keep three replicas and every backlog is back to zero. The
//! figures this prints are the README's fault table ("Running on a cluster").

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use dondoc_eventsourcing::Database;
use dondoc_eventsourcing::nats_server::{NatsServer, cluster_url};
use dondoc_eventsourcing::relay::{RelayConfig, StreamSettings};
use dondoc_eventsourcing::testing::TestDatabase;
use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::{BearerToken, Principal, Role, TokenIssuer, TokenVerifier};
use dondoc_runtime::clock::{ManualClock, SharedClock};
use dondoc_runtime::service::ServiceSettings;
use dondoc_tests::{SEED_LEADERS, SEED_UNITS, assignment_request, request_id, today};
use futures::StreamExt as _;
use tokio::time::Instant;
use tonic::transport::Channel;

/// Every wait below gives up after this (the test as a whole stays well under two minutes).
const PATIENCE: Duration = Duration::from_secs(60);

/// Tasks assigned in each of the three phases.
const TASKS_PER_PHASE: usize = 8;

/// The services that keep an event log and publish it.
const PRODUCERS: [&str; 4] = ["assignment", "progress", "escalation", "discipline"];

/// Polls `check` until it returns `Some`, failing with `what` after [`PATIENCE`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A service's settings on the cluster: its database, every NATS server, R3 streams, and a
/// small pool, since ten replicas share one PostgreSQL server (see README, connection budget).
fn settings(database_url: &str, nats_url: &str) -> ServiceSettings {
    ServiceSettings {
        database_url: database_url.to_owned(),
        database_password_file: None,
        nats_url: nats_url.to_owned(),
        nats_user: None,
        nats_password_file: None,
        nats_ca_path: None,
        listen: "127.0.0.1:0".into(),
        tls: None,
        database: dondoc_eventsourcing::db::DbSettings {
            max_connections: Some(4),
            ..Default::default()
        },
        stream: StreamSettings {
            replicas: 3,
            ..Default::default()
        },
        shutdown_drain: Duration::ZERO,
        anchor: None,
    }
}

/// One replica of every service.
struct Replicas {
    assignment: dondoc_assignment::Application,
    progress: dondoc_progress::Application,
    escalation: dondoc_escalation::Application,
    discipline: dondoc_discipline::Application,
    reporting: dondoc_reporting::Application,
}

async fn start_replicas(
    urls: &BTreeMap<&str, String>,
    nats_url: &str,
    verifier: &Arc<TokenVerifier>,
    clock: &SharedClock,
) -> Replicas {
    let url = |service: &str| urls[service].clone();
    let assignment = dondoc_assignment::Application::build(
        &settings(&url("assignment"), nats_url).into(),
        verifier.clone(),
        clock.clone(),
    )
    .await
    .expect("assignment starts");
    let mut progress_settings =
        dondoc_progress::ProgressSettings::from(settings(&url("progress"), nats_url));
    progress_settings.reply_check_interval = Duration::from_secs(24 * 3600);
    let progress =
        dondoc_progress::Application::build(&progress_settings, verifier.clone(), clock.clone())
            .await
            .expect("progress starts");
    let mut escalation_settings =
        dondoc_escalation::EscalationSettings::from(settings(&url("escalation"), nats_url));
    escalation_settings.evaluate_interval = Duration::from_secs(24 * 3600);
    let escalation = dondoc_escalation::Application::build(
        &escalation_settings,
        verifier.clone(),
        clock.clone(),
    )
    .await
    .expect("escalation starts");
    let mut discipline_settings =
        dondoc_discipline::DisciplineSettings::from(settings(&url("discipline"), nats_url));
    discipline_settings.clock_interval = Duration::from_secs(24 * 3600);
    let discipline = dondoc_discipline::Application::build(
        &discipline_settings,
        verifier.clone(),
        clock.clone(),
    )
    .await
    .expect("discipline starts");
    let mut reporting_settings =
        dondoc_reporting::ReportingSettings::from(settings(&url("reporting"), nats_url));
    reporting_settings.progress_url = Some(format!("http://127.0.0.1:{}", progress.port()));
    let reporting =
        dondoc_reporting::Application::build(&reporting_settings, verifier.clone(), clock.clone())
            .await
            .expect("reporting starts");
    Replicas {
        assignment,
        progress,
        escalation,
        discipline,
        reporting,
    }
}

fn channel(port: u16) -> Channel {
    Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("an endpoint")
        .connect_lazy()
}

type AssignmentClient = pb::assignment_service_client::AssignmentServiceClient<
    tonic::service::interceptor::InterceptedService<Channel, BearerToken>,
>;

/// Assigns `count` tasks, alternating over `clients`; the ids of those accepted.
async fn assign(clients: &mut [AssignmentClient], phase: &str, count: usize) -> Vec<String> {
    let mut accepted = Vec::new();
    for index in 0..count {
        let replicas = clients.len();
        let client = &mut clients[index % replicas];
        if let Ok(task) = client
            .assign_task(assignment_request(&format!("Nhiệm vụ {phase} số {index}")))
            .await
        {
            accepted.push(task.into_inner().task_id);
        }
    }
    accepted
}

/// The server name of the leader of `stream`, once it is not `former`.
async fn stream_leader(js: &jetstream::Context, stream: &str, former: Option<&str>) -> String {
    eventually(&format!("a new leader for {stream}"), || async {
        let mut stream = js.get_stream(stream).await.ok()?;
        let info = stream.info().await.ok()?;
        let leader = info.cluster.as_ref()?.leader.clone()?;
        (Some(leader.as_str()) != former).then_some(leader)
    })
    .await
}

type ReportingClient = pb::reporting_service_client::ReportingServiceClient<
    tonic::service::interceptor::InterceptedService<Channel, BearerToken>,
>;

/// The board once it shows `tasks` tasks.
async fn board_shows(reporting: &ReportingClient, tasks: usize) -> pb::TaskBoard {
    eventually(&format!("the board shows {tasks} tasks"), || {
        let mut reporting = reporting.clone();
        async move {
            let board = reporting
                .get_task_board(pb::GetTaskBoardRequest::default())
                .await
                .ok()?
                .into_inner();
            (usize::try_from(board.total_tasks).ok()? == tasks).then_some(board)
        }
    })
    .await
}

/// Durable consumers of `stream` and how many messages they have not had acknowledged.
async fn consumer_backlog(js: &jetstream::Context, stream: &str) -> Option<(usize, u64)> {
    let stream = js.get_stream(stream).await.ok()?;
    let mut consumers = stream.consumers();
    let (mut seen, mut behind) = (0, 0);
    while let Some(info) = consumers.next().await {
        let info = info.ok()?;
        behind += info.num_pending + info.num_ack_pending as u64;
        seen += 1;
    }
    Some((seen, behind))
}

/// How many rows `query` counts in `db`.
async fn count(db: &Database, query: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(query)
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|error| panic!("{query}: {error}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_loses_a_stream_leader_and_the_relay_leaseholder_applies_every_command_exactly_once()
 {
    // One PostgreSQL database per service, shared by that service's two replicas.
    let mut databases = BTreeMap::new();
    for service in PRODUCERS.iter().chain(&["reporting"]) {
        let Some(db) = TestDatabase::postgres().await else {
            return;
        };
        databases.insert(*service, db);
    }
    let urls: BTreeMap<&str, String> = databases
        .iter()
        .map(|(service, db)| (*service, db.url.clone()))
        .collect();
    let mut servers = NatsServer::start_cluster(3)
        .await
        .expect("a three-server JetStream cluster");
    let nats_url = cluster_url(&servers);
    let operator = dondoc_runtime::lifecycle::connect_nats(&nats_url, "cluster-test-operator")
        .await
        .expect("an operator client");
    let js = dondoc_runtime::lifecycle::jetstream(operator);

    let (private, public) = dondoc_runtime::auth::generate_dev_keypair().expect("a key pair");
    let issuer = TokenIssuer::from_private_pem(&private).expect("an issuer");
    let verifier = Arc::new(TokenVerifier::from_public_pem(&public).expect("a verifier"));
    let clock: SharedClock = Arc::new(ManualClock::on_business_date(today()));
    let token = |principal: Principal| {
        issuer
            .mint(&principal, Duration::from_secs(3600))
            .expect("a token")
    };
    let office = token(Principal {
        subject: "office-user".into(),
        role: Role::Office,
        unit_code: None,
        leader_id: None,
    });
    let lead_unit = token(Principal {
        subject: "sxd-officer".into(),
        role: Role::Unit,
        unit_code: Some("SXD".into()),
        leader_id: None,
    });

    // Both replicas start together on the fresh databases, as a rollout starts them: schema
    // creation must not race.
    let (first, second) = tokio::join!(
        start_replicas(&urls, &nats_url, &verifier, &clock),
        start_replicas(&urls, &nats_url, &verifier, &clock)
    );
    let assignment_client = |port: u16| {
        pb::assignment_service_client::AssignmentServiceClient::with_interceptor(
            channel(port),
            BearerToken::new(office.clone()),
        )
    };
    let progress_client = |port: u16| {
        pb::progress_service_client::ProgressServiceClient::with_interceptor(
            channel(port),
            BearerToken::new(lead_unit.clone()),
        )
    };
    let mut both = vec![
        assignment_client(first.assignment.port()),
        assignment_client(second.assignment.port()),
    ];
    both[0]
        .import_units(pb::ImportUnitsRequest {
            request_id: request_id(),
            toml: SEED_UNITS.to_owned(),
        })
        .await
        .expect("units import");
    both[1]
        .import_leaders(pb::ImportLeadersRequest {
            request_id: request_id(),
            toml: SEED_LEADERS.to_owned(),
        })
        .await
        .expect("leaders import");
    let reporting = pb::reporting_service_client::ReportingServiceClient::with_interceptor(
        channel(second.reporting.port()),
        BearerToken::new(office.clone()),
    );

    // Phase 1: the whole cluster up, commands through both replicas.
    let mut accepted = assign(&mut both, "một", TASKS_PER_PHASE).await;
    board_shows(&reporting, accepted.len()).await;

    // Phase 2: the leader of the assignment stream dies; the lead unit acknowledges the first
    // tasks through both progress replicas (progress publishes too) and more are assigned.
    let leader = stream_leader(&js, "DONDOC_ASSIGNMENT", None).await;
    let killed: usize = leader
        .trim_start_matches('n')
        .parse()
        .expect("servers are named n0..n2");
    servers[killed].stop().await;
    let mut progress_clients = [
        progress_client(first.progress.port()),
        progress_client(second.progress.port()),
    ];
    let mut acknowledged = Vec::new();
    for (index, task_id) in accepted.clone().iter().enumerate() {
        let client = &mut progress_clients[index % 2];
        let done = eventually(&format!("progress knows task {task_id}"), || {
            let mut client = client.clone();
            let task_id = task_id.clone();
            async move {
                match client
                    .acknowledge_task(pb::AcknowledgeTaskRequest {
                        request_id: request_id(),
                        task_id,
                        expected_version: 0,
                    })
                    .await
                {
                    Ok(_) => Some(true),
                    Err(status) if status.code() == tonic::Code::NotFound => None,
                    Err(_) => Some(false),
                }
            }
        })
        .await;
        if done {
            acknowledged.push(task_id.clone());
        }
    }
    let new_leader = stream_leader(&js, "DONDOC_ASSIGNMENT", Some(&leader)).await;
    accepted.extend(assign(&mut both, "hai", TASKS_PER_PHASE).await);
    board_shows(&reporting, accepted.len()).await;

    // Phase 3: the assignment replica that holds the relay lease crashes; the other takes the
    // lease over when it expires and publishes what the crashed one left.
    let (survivor, crashed) = if first.assignment.events_published() > 0 {
        (second.assignment, first.assignment)
    } else {
        (first.assignment, second.assignment)
    };
    let crashed_published = crashed.events_published();
    crashed.kill();
    let mut surviving = vec![assignment_client(survivor.port())];
    accepted.extend(assign(&mut surviving, "ba", TASKS_PER_PHASE).await);
    let board = board_shows(&reporting, accepted.len()).await;

    // Every backlog back to zero: each relay has published its whole log, and every durable
    // consumer of every stream has had everything acknowledged.
    let producers: BTreeMap<&str, Database> = {
        let mut open = BTreeMap::new();
        for service in PRODUCERS {
            open.insert(service, databases[service].reopen().await);
        }
        open
    };
    for (service, db) in &producers {
        let stream = RelayConfig::for_service(service).stream_name;
        eventually(
            &format!("{service}'s relay publishes its whole log"),
            || {
                let js = js.clone();
                let stream = stream.clone();
                async move {
                    let head = count(db, "SELECT COALESCE(MAX(position), 0) FROM events").await;
                    let mut stream = js.get_stream(&stream).await.ok()?;
                    let messages = stream.info().await.ok()?.state.messages;
                    (u64::try_from(head).ok()? == messages).then_some(())
                }
            },
        )
        .await;
    }
    let mut consumers = BTreeMap::new();
    for service in PRODUCERS {
        let stream = RelayConfig::for_service(service).stream_name;
        let seen = eventually(&format!("every consumer of {stream} has caught up"), || {
            let js = js.clone();
            let stream = stream.clone();
            async move {
                let (seen, behind) = consumer_backlog(&js, &stream).await?;
                (behind == 0).then_some(seen)
            }
        })
        .await;
        consumers.insert(service, seen);
    }

    // What the read models hold.
    let mut listed = survivor
        .store()
        .database()
        .pool()
        .acquire()
        .await
        .expect("a connection");
    let task_events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE stream_type = 'task'")
            .fetch_one(&mut *listed)
            .await
            .expect("count task events");
    drop(listed);
    let tasks = surviving[0]
        .list_tasks(pb::ListTasksRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("the task list")
        .into_inner()
        .tasks;
    let progress = progress_clients[0].clone();
    let mut executions = BTreeMap::new();
    for task_id in &accepted {
        let execution = eventually(&format!("progress knows task {task_id}"), || {
            let mut progress = progress.clone();
            let task_id = task_id.clone();
            async move {
                progress
                    .get_execution(pb::GetExecutionRequest { task_id })
                    .await
                    .ok()
                    .map(tonic::Response::into_inner)
            }
        })
        .await;
        executions.insert(task_id.clone(), execution);
    }
    let mut set_aside = BTreeMap::new();
    for (service, db) in databases.iter() {
        let db = db.reopen().await;
        let dead = count(&db, "SELECT COUNT(*) FROM dead_letters").await;
        let parked = count(&db, "SELECT COUNT(*) FROM parked").await;
        set_aside.insert(*service, (dead, parked));
        db.close().await;
    }
    let mut verified = BTreeMap::new();
    let mut replicas = BTreeMap::new();
    for (service, db) in &producers {
        let report = dondoc_eventsourcing::store::verify_log(db)
            .await
            .expect("the log can be read");
        verified.insert(*service, report.first_problem.map(|p| p.to_string()));
        let mut stream = js
            .get_stream(RelayConfig::for_service(service).stream_name)
            .await
            .expect("the stream");
        replicas.insert(
            *service,
            stream
                .info()
                .await
                .expect("stream info")
                .config
                .num_replicas,
        );
    }

    // The README's fault table ("Running on a cluster"); seen with `--no-capture`.
    eprintln!(
        "cluster fault test: {} tasks accepted ({} per phase), {} acknowledged; stream leader \
         n{killed} killed (new leader {new_leader}); relay leaseholder crashed after publishing \
         {crashed_published} events; {} task events applied once by the board; durable \
         consumers per stream {consumers:?}",
        accepted.len(),
        TASKS_PER_PHASE,
        acknowledged.len(),
        board.events_applied,
    );
    for replica in [first.progress, second.progress] {
        replica.stop().await;
    }
    survivor.stop().await;
    for replica in [first.reporting, second.reporting] {
        replica.stop().await;
    }
    for replica in [first.escalation, second.escalation] {
        replica.stop().await;
    }
    for replica in [first.discipline, second.discipline] {
        replica.stop().await;
    }

    assert_eq!(
        accepted.len(),
        3 * TASKS_PER_PHASE,
        "every command was accepted"
    );
    assert_eq!(
        acknowledged.len(),
        TASKS_PER_PHASE,
        "every acknowledgement was accepted"
    );
    assert_ne!(new_leader, leader, "the stream moved to another server");
    let listed: BTreeSet<&str> = tasks.iter().map(|task| task.task_id.as_str()).collect();
    let wanted: BTreeSet<&str> = accepted.iter().map(String::as_str).collect();
    assert_eq!(listed, wanted, "the task list holds every accepted task");
    assert_eq!(tasks.len(), accepted.len(), "each once");
    assert_eq!(board.total_tasks as usize, accepted.len());
    assert_eq!(
        board.events_applied as i64, task_events,
        "the board applied every task event exactly once"
    );
    for task_id in &acknowledged {
        assert_eq!(
            executions[task_id].status,
            pb::TaskStatus::InProgress as i32,
            "task {task_id} acknowledged"
        );
    }
    for (service, (dead, parked)) in &set_aside {
        assert_eq!((*dead, *parked), (0, 0), "{service}: dead letters, parked");
    }
    for (service, problem) in &verified {
        assert_eq!(problem, &None, "{service}'s log verifies");
    }
    for (service, replicas) in &replicas {
        assert_eq!(*replicas, 3, "{service}'s stream keeps three copies");
    }
}
