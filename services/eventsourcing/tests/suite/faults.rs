//! Faults a read model or the writer must survive: a request the database refuses inside a
//! group commit, a writer that dies, an event that diverges from what was applied, bytes that
//! are not an event, predecessors that arrive late, replicas of different versions, and the
//! limits a database connection is held to.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_trait::async_trait;
use chrono::Utc;
use dondoc_eventsourcing::consumer::{Consumer, ConsumerConfig, Disposition, dead_letters};
use dondoc_eventsourcing::db::{DbSettings, OpenMode};
use dondoc_eventsourcing::nats_server::NatsServer;
use dondoc_eventsourcing::projection::{
    LocalProjector, Projection, ProjectionError, ReadModelState,
};
use dondoc_eventsourcing::relay::{Relay, RelayConfig, ensure_stream};
use dondoc_eventsourcing::testing::TestDatabase;
use dondoc_eventsourcing::{
    Actor, AppendError, AppendRequest, Appended, Database, EventMetadata, EventStore,
    ExpectedVersion, NewEvent, RecordedEvent, StoreError, Upcasters,
};
use prost::Message as _;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

fn metadata() -> EventMetadata {
    EventMetadata {
        occurred_at: Utc::now(),
        actor: Actor::default(),
        correlation_id: String::new(),
        causation_id: String::new(),
        traceparent: String::new(),
    }
}

fn request(stream: &str, expected: u64, event_id: Uuid) -> AppendRequest {
    AppendRequest {
        stream_type: "ledger".into(),
        stream_id: stream.into(),
        expected: ExpectedVersion::Exactly(expected),
        events: vec![NewEvent {
            event_id,
            event_type: "ledger.noted".into(),
            schema_version: 1,
            payload: stream.as_bytes().to_vec(),
        }],
        metadata: metadata(),
        idempotency: None,
    }
}

async fn open(db: &TestDatabase) -> EventStore {
    EventStore::open(db.db.clone(), "producer", Upcasters::new())
        .await
        .expect("open store")
}

// ---------------------------------------------------------------------------------------------
// Group commit isolation.

#[tokio::test]
async fn a_request_the_database_refuses_fails_alone_and_the_rest_of_its_batch_commits() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let taken = Uuid::now_v7();
        store
            .append(request("first", 0, taken))
            .await
            .expect("first");
        // Hold the log so that every request below lands in one batch.
        let mut blocker = db.db.begin_write().await.expect("block");
        if let Some(lock) = db.db.dialect().lock_event_log_statement() {
            sqlx::query(lock)
                .execute(&mut *blocker)
                .await
                .expect("lock");
        }
        let appends: Vec<_> = (0..10)
            .map(|i| {
                let store = store.clone();
                // Request 4 reuses an event id: the events table's unique key refuses it.
                let id = if i == 4 { taken } else { Uuid::now_v7() };
                tokio::spawn(async move { store.append(request(&format!("s{i}"), 0, id)).await })
            })
            .collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while store.pending_requests() < 10 {
            assert!(tokio::time::Instant::now() < deadline, "never queued");
            tokio::task::yield_now().await;
        }

        blocker.rollback().await.expect("release");
        let outcomes: Vec<_> = futures::future::join_all(appends)
            .await
            .into_iter()
            .map(|joined| joined.expect("task"))
            .collect();

        for (i, outcome) in outcomes.iter().enumerate() {
            if i == 4 {
                assert!(
                    matches!(
                        outcome,
                        Err(AppendError::Store(StoreError::Database {
                            transient: false,
                            ..
                        }))
                    ),
                    "{}: {outcome:?}",
                    db.engine()
                );
            } else {
                assert!(
                    matches!(outcome, Ok(Appended::Committed { .. })),
                    "{}: request {i}: {outcome:?}",
                    db.engine()
                );
            }
        }
        assert_eq!(store.head_position().await.expect("head"), 10);
        assert_eq!(store.stats().isolated_batches, 1);
        assert!(store.verify().await.expect("verify").is_intact());
    }
}

// ---------------------------------------------------------------------------------------------
// Writer supervision.

#[tokio::test]
async fn a_writer_that_dies_is_reported_down_restarted_and_commits_again() {
    let db = TestDatabase::sqlite().await;
    let store = open(&db).await;
    let mut status = store.writer_status();
    let held = store.hold_writer_restarts().await;

    store.crash_writer().await;
    tokio::time::timeout(Duration::from_secs(10), status.wait_for(|up| !*up))
        .await
        .expect("reported down in time")
        .expect("status");
    let while_down = tokio::time::timeout(
        Duration::from_millis(300),
        store.append(request("during", 0, Uuid::now_v7())),
    )
    .await;
    drop(held);
    tokio::time::timeout(Duration::from_secs(10), status.wait_for(|up| *up))
        .await
        .expect("restarted in time")
        .expect("status");
    let after = store.append(request("after", 0, Uuid::now_v7())).await;

    assert!(
        while_down.is_err(),
        "nothing commits while the writer is down: {while_down:?}"
    );
    assert!(matches!(after, Ok(Appended::Committed { .. })), "{after:?}");
    assert_eq!(store.stats().writer_restarts, 1);
}

// ---------------------------------------------------------------------------------------------
// Limits of a database connection.

#[tokio::test]
async fn pool_size_and_timeouts_are_settings() {
    let settings = DbSettings {
        max_connections: Some(3),
        statement_timeout: Duration::from_millis(500),
        lock_timeout: Duration::from_millis(700),
        acquire_timeout: Duration::from_secs(5),
    };
    let sqlite = TestDatabase::sqlite().await;
    let db = Database::open_with(&sqlite.url, OpenMode::MustExist, &settings)
        .await
        .expect("open");
    let busy: i64 = sqlx::query("PRAGMA busy_timeout")
        .fetch_one(db.pool())
        .await
        .expect("pragma")
        .try_get(0)
        .expect("value");
    assert_eq!(busy, 700);
    assert_eq!(db.pool().options().get_max_connections(), 3);

    if let Some(pg) = TestDatabase::postgres().await {
        let db = Database::open_with(&pg.url, OpenMode::MustExist, &settings)
            .await
            .expect("open");
        let lock: String = sqlx::query("SHOW lock_timeout")
            .fetch_one(db.pool())
            .await
            .expect("show")
            .try_get(0)
            .expect("value");
        let slow = sqlx::query("SELECT pg_sleep(3)").execute(db.pool()).await;

        assert_eq!(lock, "700ms");
        let error = slow.expect_err("cancelled by the statement timeout");
        assert!(error.to_string().contains("statement timeout"), "{error}");
        assert!(
            dondoc_eventsourcing::db::is_transient(&error),
            "a timeout is the database's state, not the data's"
        );
    }
}

#[tokio::test]
async fn replicas_starting_together_on_a_fresh_postgres_database_all_prepare_its_schema() {
    let Some(pg) = TestDatabase::postgres().await else {
        return;
    };
    let mut starts = Vec::new();
    for _ in 0..6 {
        let url = pg.url.clone();
        starts.push(tokio::spawn(async move {
            let db = Database::connect(&url).await.map_err(|e| e.to_string())?;
            let store = EventStore::open(db, "producer", Upcasters::new())
                .await
                .map_err(|e| e.to_string())?;
            LocalProjector::new(store, Arc::new(Versioned::<1>))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }));
    }

    for start in futures::future::join_all(starts).await {
        start.expect("task").expect("every replica starts");
    }
}

// ---------------------------------------------------------------------------------------------
// Versions of a read model side by side.

/// Counts events per stream; `VERSION` picks the table.
struct Versioned<const VERSION: u32>;

#[async_trait]
impl<const VERSION: u32> Projection for Versioned<VERSION> {
    fn name(&self) -> &'static str {
        "tally"
    }
    fn version(&self) -> u32 {
        VERSION
    }
    fn schema(&self) -> &'static [&'static str] {
        match VERSION {
            1 => &[
                "CREATE TABLE IF NOT EXISTS tally_v1 (stream_id TEXT PRIMARY KEY, n BIGINT NOT NULL)",
            ],
            _ => &[
                "CREATE TABLE IF NOT EXISTS tally_v2 (stream_id TEXT PRIMARY KEY, n BIGINT NOT NULL)",
            ],
        }
    }
    fn tables(&self) -> &'static [&'static str] {
        match VERSION {
            1 => &["tally_v1"],
            _ => &["tally_v2"],
        }
    }
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        let table = self.tables()[0];
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (stream_id, n) VALUES ($1, 1) \
             ON CONFLICT (stream_id) DO UPDATE SET n = {table}.n + 1"
        )))
        .bind(event.stream_id.clone())
        .execute(conn)
        .await?;
        Ok(())
    }
}

async fn tally(db: &Database, table: &str) -> Option<i64> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS total FROM {table}"
    )))
    .fetch_one(db.pool())
    .await
    .ok()
    .map(|row| row.try_get::<i64, _>("total").expect("total"))
}

#[tokio::test]
async fn an_old_replica_refuses_a_newer_read_model_and_never_touches_it() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        store
            .append(request("a", 0, Uuid::now_v7()))
            .await
            .expect("append");
        let old = LocalProjector::new(store.clone(), Arc::new(Versioned::<1>))
            .await
            .expect("v1");
        old.catch_up().await.expect("v1 runs");

        // A replica of the next release starts: its version is built into a table of its own.
        let new = LocalProjector::new(store.clone(), Arc::new(Versioned::<2>))
            .await
            .expect("v2");
        new.catch_up().await.expect("v2 runs");
        store
            .append(request("a", 1, Uuid::now_v7()))
            .await
            .expect("append");
        let old_catch_up = old.catch_up().await;
        new.catch_up().await.expect("v2 runs");
        // And an old replica that restarts now refuses from the start.
        let restarted_old = LocalProjector::new(store.clone(), Arc::new(Versioned::<1>))
            .await
            .expect("v1 again");

        assert!(
            matches!(old_catch_up, Err(ProjectionError::Refused(_))),
            "{}: {old_catch_up:?}",
            db.engine()
        );
        assert!(!old.state().borrow().is_ready());
        assert!(matches!(
            &*restarted_old.state().borrow(),
            ReadModelState::Refused(reason) if reason.contains("version 2")
        ));
        assert!(matches!(
            restarted_old.catch_up().await,
            Err(ProjectionError::Refused(_))
        ));
        assert_eq!(
            tally(&db.db, "tally_v2").await,
            Some(2),
            "{}: the newer read model is whole and only the new replica wrote it",
            db.engine()
        );
        assert_eq!(
            tally(&db.db, "tally_v1").await,
            None,
            "{}: the old version's table went with the switch",
            db.engine()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Consumer edge cases.

struct Seen;

#[async_trait]
impl Projection for Seen {
    fn name(&self) -> &'static str {
        "edges"
    }
    fn schema(&self) -> &'static [&'static str] {
        &["CREATE TABLE IF NOT EXISTS edges_v1 (
            stream_id TEXT NOT NULL,
            version BIGINT NOT NULL,
            payload TEXT NOT NULL
        )"]
    }
    fn tables(&self) -> &'static [&'static str] {
        &["edges_v1"]
    }
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        sqlx::query("INSERT INTO edges_v1 (stream_id, version, payload) VALUES ($1, $2, $3)")
            .bind(event.stream_id.clone())
            .bind(event.stream_version as i64)
            .bind(String::from_utf8_lossy(&event.payload).into_owned())
            .execute(conn)
            .await?;
        Ok(())
    }
}

async fn applied(db: &TestDatabase) -> Vec<(String, i64, String)> {
    sqlx::query("SELECT stream_id, version, payload FROM edges_v1 ORDER BY stream_id, version")
        .fetch_all(db.db.pool())
        .await
        .expect("edges")
        .iter()
        .map(|r| {
            (
                r.try_get("stream_id").expect("stream_id"),
                r.try_get("version").expect("version"),
                r.try_get("payload").expect("payload"),
            )
        })
        .collect()
}

async fn nats() -> (NatsServer, jetstream::Context) {
    let server = NatsServer::start().await.expect("nats-server");
    let client = async_nats::connect(server.url()).await.expect("connect");
    (server, jetstream::new(client))
}

async fn consumer(db: &TestDatabase, js: &jetstream::Context) -> Consumer<Seen> {
    ensure_stream(js, &RelayConfig::for_service("producer"))
        .await
        .expect("stream");
    Consumer::new(
        db.db.clone(),
        js.clone(),
        ConsumerConfig::new("DONDOC_PRODUCER", vec!["dondoc.producer.>".into()]),
        Arc::new(Seen),
        Upcasters::new(),
    )
    .await
    .expect("consumer")
}

fn envelope(stream_id: &str, version: u64, payload: &str, event_id: Uuid) -> Vec<u8> {
    RecordedEvent {
        position: version,
        event_id,
        stream_type: "ledger".into(),
        stream_id: stream_id.into(),
        stream_version: version,
        event_type: "ledger.noted".into(),
        schema_version: 1,
        occurred_at: Utc::now(),
        recorded_at: Utc::now(),
        actor: Actor::default(),
        correlation_id: String::new(),
        causation_id: String::new(),
        traceparent: String::new(),
        source: "producer".into(),
        payload: payload.as_bytes().to_vec(),
    }
    .to_envelope()
    .encode_to_vec()
}

/// Publishes `body` as the relay would, headers included.
async fn publish(
    js: &jetstream::Context,
    stream_id: &str,
    version: u64,
    body: Vec<u8>,
    event_id: Uuid,
) {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(dondoc_eventsourcing::relay::SOURCE_HEADER, "producer");
    headers.insert(dondoc_eventsourcing::relay::STREAM_ID_HEADER, stream_id);
    headers.insert(
        dondoc_eventsourcing::relay::STREAM_VERSION_HEADER,
        version.to_string().as_str(),
    );
    let message = jetstream::message::PublishMessage::build()
        .payload(body.into())
        .headers(headers)
        .message_id(event_id.to_string());
    js.send_publish(format!("dondoc.producer.ledger.{stream_id}"), message)
        .await
        .expect("publish")
        .await
        .expect("ack");
}

async fn drive(consumer: &Consumer<Seen>, expected: usize) -> Vec<Disposition> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut all = Vec::new();
    while all.len() < expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out; saw {all:?}"
        );
        all.extend(consumer.process_available(10).await.expect("process"));
    }
    all
}

#[tokio::test]
async fn an_event_at_an_applied_version_with_another_id_is_divergence_and_is_set_aside() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let consumer = consumer(&db, &js).await;
        let first = Uuid::now_v7();
        let rewritten = Uuid::now_v7();
        publish(&js, "a", 1, envelope("a", 1, "first", first), first).await;
        publish(
            &js,
            "a",
            1,
            envelope("a", 1, "rewritten", rewritten),
            rewritten,
        )
        .await;

        let outcomes = drive(&consumer, 2).await;

        assert_eq!(outcomes[0], Disposition::Applied);
        assert!(
            matches!(&outcomes[1], Disposition::Diverged { error } if error.contains("divergence")),
            "{}: {outcomes:?}",
            db.engine()
        );
        assert_eq!(applied(&db).await, [("a".into(), 1, "first".into())]);
        let letters = dead_letters(&db.db, "edges-v1").await.expect("letters");
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].0, rewritten.to_string());
        assert_eq!(consumer.stats().diverged, 1);
        assert_eq!(consumer.backlog().await.expect("backlog"), 0);
    }
}

#[tokio::test]
async fn bytes_that_are_not_an_envelope_move_their_stream_on_by_the_relays_headers() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let consumer = consumer(&db, &js).await;
        let garbage = Uuid::now_v7();
        let second = Uuid::now_v7();
        let third = Uuid::now_v7();
        // The successor arrives first and waits; then the unreadable first event.
        publish(&js, "a", 3, envelope("a", 3, "third", third), third).await;
        publish(&js, "a", 1, vec![0xff, 0xff, 0xff, 0x0f], garbage).await;
        publish(&js, "a", 2, envelope("a", 2, "second", second), second).await;

        let outcomes = drive(&consumer, 3).await;

        assert_eq!(outcomes[0], Disposition::Parked, "{}", db.engine());
        assert!(matches!(outcomes[1], Disposition::DeadLettered { .. }));
        assert_eq!(outcomes[2], Disposition::Applied);
        assert_eq!(
            applied(&db).await,
            [
                ("a".into(), 2, "second".into()),
                ("a".into(), 3, "third".into())
            ],
            "{}: the stream went on past the unreadable event",
            db.engine()
        );
        let letters = dead_letters(&db.db, "edges-v1").await.expect("letters");
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].0, garbage.to_string());
    }
}

#[tokio::test]
async fn events_waiting_for_a_predecessor_are_parked_in_sql_and_acknowledged() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let consumer = consumer(&db, &js).await;
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        for version in [4u64, 3, 2] {
            let id = ids[version as usize - 1];
            publish(
                &js,
                "a",
                version,
                envelope("a", version, &format!("e{version}"), id),
                id,
            )
            .await;
        }

        let early = drive(&consumer, 3).await;
        let waiting_in_jetstream = consumer.backlog().await.expect("backlog");
        let parked: i64 = sqlx::query("SELECT COUNT(*) AS n FROM parked")
            .fetch_one(db.db.pool())
            .await
            .expect("parked")
            .try_get("n")
            .expect("n");
        publish(&js, "a", 1, envelope("a", 1, "e1", ids[0]), ids[0]).await;
        let late = drive(&consumer, 1).await;

        assert_eq!(early, [const { Disposition::Parked }; 3], "{}", db.engine());
        assert_eq!(
            waiting_in_jetstream,
            0,
            "{}: parked events hold no ack slot in JetStream",
            db.engine()
        );
        assert_eq!(parked, 3);
        assert_eq!(late, [Disposition::Applied]);
        assert_eq!(
            applied(&db).await,
            [1, 2, 3, 4]
                .map(|v| ("a".to_owned(), v as i64, format!("e{v}")))
                .to_vec(),
            "{}: applied in stream order once the first arrived",
            db.engine()
        );
        assert_eq!(consumer.stats().unparked, 3);
        let left: i64 = sqlx::query("SELECT COUNT(*) AS n FROM parked")
            .fetch_one(db.db.pool())
            .await
            .expect("parked")
            .try_get("n")
            .expect("n");
        assert_eq!(left, 0);
    }
}

#[tokio::test]
async fn a_new_version_of_a_nats_fed_read_model_keeps_the_old_durable_consumer() {
    let db = TestDatabase::sqlite().await;
    let (_server, js) = nats().await;
    let old = consumer(&db, &js).await;
    let id = Uuid::now_v7();
    publish(&js, "a", 1, envelope("a", 1, "one", id), id).await;
    drive(&old, 1).await;

    struct SeenV2;
    #[async_trait]
    impl Projection for SeenV2 {
        fn name(&self) -> &'static str {
            "edges"
        }
        fn version(&self) -> u32 {
            2
        }
        fn schema(&self) -> &'static [&'static str] {
            &["CREATE TABLE IF NOT EXISTS edges_v2 (stream_id TEXT NOT NULL)"]
        }
        fn tables(&self) -> &'static [&'static str] {
            &["edges_v2"]
        }
        async fn apply(
            &self,
            conn: &mut AnyConnection,
            event: &RecordedEvent,
        ) -> Result<(), ProjectionError> {
            sqlx::query("INSERT INTO edges_v2 (stream_id) VALUES ($1)")
                .bind(event.stream_id.clone())
                .execute(conn)
                .await?;
            Ok(())
        }
    }
    let new = Consumer::new(
        db.db.clone(),
        js.clone(),
        ConsumerConfig::new("DONDOC_PRODUCER", vec!["dondoc.producer.>".into()]),
        Arc::new(SeenV2),
        Upcasters::new(),
    )
    .await
    .expect("v2");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while new
        .process_available(10)
        .await
        .expect("v2 consumes")
        .is_empty()
    {
        assert!(tokio::time::Instant::now() < deadline, "v2 never consumed");
    }
    let another = Uuid::now_v7();
    publish(&js, "a", 2, envelope("a", 2, "two", another), another).await;
    let old_after_switch = old.process_available(10).await;

    let stream = js.get_stream("DONDOC_PRODUCER").await.expect("stream");
    assert!(
        stream.consumer_info("edges-v1").await.is_ok(),
        "the old replica's durable consumer is left alone"
    );
    assert!(stream.consumer_info("edges-v2").await.is_ok());
    assert_eq!(new.name(), "edges-v2");
    assert!(
        matches!(
            old_after_switch,
            Err(dondoc_eventsourcing::consumer::ConsumerError::Refused(_))
        ),
        "{old_after_switch:?}"
    );
    assert!(!old.state().borrow().is_ready());
    let rows: i64 = sqlx::query("SELECT COUNT(*) AS n FROM edges_v2")
        .fetch_one(db.db.pool())
        .await
        .expect("v2 table")
        .try_get("n")
        .expect("n");
    assert_eq!(rows, 1, "the old replica wrote nothing into the new table");
}

// ---------------------------------------------------------------------------------------------
// The relay lease.

#[tokio::test]
async fn the_relay_renews_its_lease_every_third_of_its_period_not_every_round() {
    let db = TestDatabase::sqlite().await;
    let (_server, js) = nats().await;
    let store = open(&db).await;
    let clock = Arc::new(dondoc_eventsourcing::clock::ManualClock::at(Utc::now()));
    let relay = Relay::new(store, js, RelayConfig::for_service("producer"))
        .await
        .expect("relay")
        .with_clock(clock.clone());
    let expiry = async || -> String {
        sqlx::query("SELECT expires_at FROM relay_leases")
            .fetch_one(db.db.pool())
            .await
            .expect("lease")
            .try_get("expires_at")
            .expect("expires_at")
    };

    assert!(relay.try_lead().await.expect("lead"));
    let taken = expiry().await;
    for _ in 0..5 {
        clock.advance(chrono::Duration::milliseconds(500));
        assert!(relay.try_lead().await.expect("still leads"));
    }
    let after_rounds = expiry().await;
    clock.advance(chrono::Duration::seconds(1));
    assert!(relay.try_lead().await.expect("renews"));
    let renewed = expiry().await;

    assert_eq!(
        after_rounds, taken,
        "rounds within a third of the lease write nothing"
    );
    assert!(renewed > taken, "{renewed} after {taken}");
}
