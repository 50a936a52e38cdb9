//! Relay and consumer against a real nats-server: ordering, message ids, outages, duplicates,
//! per-stream order and dead letters.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_trait::async_trait;
use chrono::Utc;
use dondoc_eventsourcing::consumer::{
    self as consumers, Consumer, ConsumerConfig, Disposition, dead_letters,
};
use dondoc_eventsourcing::nats_server::NatsServer;
use dondoc_eventsourcing::projection::{Projection, ProjectionError, ReadModelState};
use dondoc_eventsourcing::relay::{Relay, RelayConfig, ensure_stream};
use dondoc_eventsourcing::testing::TestDatabase;
use dondoc_eventsourcing::{
    Actor, AppendRequest, EventMetadata, EventStore, ExpectedVersion, NewEvent, RecordedEvent,
    Upcasters,
};
use prost::Message as _;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

async fn nats() -> (NatsServer, jetstream::Context) {
    let server = NatsServer::start().await.expect("nats-server");
    let client = async_nats::connect(server.url()).await.expect("connect");
    (server, jetstream::new(client))
}

fn metadata() -> EventMetadata {
    EventMetadata {
        occurred_at: Utc::now(),
        actor: Actor::default(),
        correlation_id: String::new(),
        causation_id: String::new(),
        traceparent: String::new(),
    }
}

async fn store_with(db: &TestDatabase, payloads: &[&[u8]]) -> EventStore {
    let store = EventStore::open(db.db.clone(), "producer", Upcasters::new())
        .await
        .expect("store");
    store_with_more(&store, 0, payloads).await;
    store
}

fn config() -> RelayConfig {
    RelayConfig::for_service("producer")
}

#[tokio::test]
async fn the_relay_publishes_every_event_in_order_with_its_id_as_message_id() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let store = store_with(&db, &[b"a", b"b", b"c"]).await;
        let relay = Relay::new(store.clone(), js.clone(), config())
            .await
            .expect("relay");

        let published = relay.publish_pending().await.expect("publish");
        let again = relay.publish_pending().await.expect("publish again");

        assert_eq!((published, again), (3, 0));
        assert_eq!(relay.checkpoint().await.expect("checkpoint"), 3);
        let stream = js.get_stream("DONDOC_PRODUCER").await.expect("stream");
        let events = store.read_all(0, 10).await.expect("events");
        for (seq, event) in (1u64..).zip(&events) {
            let message = stream.get_raw_message(seq).await.expect("message");
            let headers = message.headers;
            assert_eq!(
                headers.get("Nats-Msg-Id").map(|v| v.as_str().to_owned()),
                Some(event.event_id.to_string())
            );
            assert_eq!(message.subject.as_str(), "dondoc.producer.ledger.l-1");
            let envelope = dondoc_proto::v1::EventEnvelope::decode(message.payload.as_ref())
                .expect("envelope");
            assert_eq!(envelope.stream_version, event.stream_version);
        }
    }
}

#[tokio::test]
async fn the_relay_keeps_events_while_nats_is_down_and_publishes_them_when_it_returns() {
    for db in TestDatabase::all().await {
        let (mut server, js) = nats().await;
        let store = store_with(&db, &[b"a"]).await;
        let relay = Relay::new(store.clone(), js.clone(), config())
            .await
            .expect("relay");
        relay.publish_pending().await.expect("publish");
        server.stop().await;
        store_with_more(&store, 1, &[b"b", b"c"]).await;

        let while_down = relay.publish_pending().await;
        server.restart().await.expect("restart");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut published = 0;
        while published < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "relay never caught up"
            );
            published += relay.publish_pending().await.unwrap_or(0);
        }

        assert!(
            while_down.is_err(),
            "publishing without NATS must fail, not lose events"
        );
        assert_eq!(relay.checkpoint().await.expect("checkpoint"), 3);
        let info = js
            .get_stream("DONDOC_PRODUCER")
            .await
            .expect("stream")
            .info()
            .await
            .expect("info")
            .clone();
        assert_eq!(info.state.messages, 3);
    }
}

async fn store_with_more(store: &EventStore, from_version: u64, payloads: &[&[u8]]) {
    for (i, payload) in payloads.iter().enumerate() {
        store
            .append(AppendRequest {
                stream_type: "ledger".into(),
                stream_id: "l-1".into(),
                expected: ExpectedVersion::Exactly(from_version + i as u64),
                events: vec![NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: "ledger.noted".into(),
                    schema_version: 1,
                    payload: payload.to_vec(),
                }],
                metadata: metadata(),
                idempotency: None,
            })
            .await
            .expect("append");
    }
}

// ---------------------------------------------------------------------------------------------
// Consumers.

/// Records what it saw; refuses payloads that say "poison".
struct Seen;

#[async_trait]
impl Projection for Seen {
    fn name(&self) -> &'static str {
        "seen"
    }
    fn schema(&self) -> &'static [&'static str] {
        &["CREATE TABLE IF NOT EXISTS seen_v1 (
            stream_id TEXT NOT NULL,
            version BIGINT NOT NULL,
            payload TEXT NOT NULL
        )"]
    }
    fn tables(&self) -> &'static [&'static str] {
        &["seen_v1"]
    }
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.payload == b"poison" {
            return Err(ProjectionError::Other("cannot digest poison".into()));
        }
        sqlx::query("INSERT INTO seen_v1 (stream_id, version, payload) VALUES ($1, $2, $3)")
            .bind(event.stream_id.clone())
            .bind(event.stream_version as i64)
            .bind(String::from_utf8_lossy(&event.payload).into_owned())
            .execute(conn)
            .await?;
        Ok(())
    }
}

async fn seen(db: &TestDatabase) -> Vec<(String, i64, String)> {
    sqlx::query("SELECT stream_id, version, payload FROM seen_v1 ORDER BY stream_id, version")
        .fetch_all(db.db.pool())
        .await
        .expect("seen")
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

/// Publishes an envelope directly, as a relay of another service would; `message_id` lets a
/// test send the same event again after the server's duplicate window.
async fn publish(
    js: &jetstream::Context,
    stream_id: &str,
    version: u64,
    payload: &[u8],
    event_id: Uuid,
    message_id: &str,
) {
    publish_typed(
        js,
        "ledger.noted",
        stream_id,
        version,
        payload,
        event_id,
        message_id,
    )
    .await;
}

async fn publish_typed(
    js: &jetstream::Context,
    event_type: &str,
    stream_id: &str,
    version: u64,
    payload: &[u8],
    event_id: Uuid,
    message_id: &str,
) {
    let event = RecordedEvent {
        position: version,
        event_id,
        stream_type: "ledger".into(),
        stream_id: stream_id.into(),
        stream_version: version,
        event_type: event_type.into(),
        schema_version: 1,
        occurred_at: Utc::now(),
        recorded_at: Utc::now(),
        actor: Actor::default(),
        correlation_id: String::new(),
        causation_id: String::new(),
        traceparent: String::new(),
        source: "producer".into(),
        payload: payload.to_vec(),
    };
    send(js, &event, message_id).await;
}

/// Publishes `event` as the producer's relay would.
async fn send(js: &jetstream::Context, event: &RecordedEvent, message_id: &str) {
    let stream_id = &event.stream_id;
    let publish = jetstream::message::PublishMessage::build()
        .payload(event.to_envelope().encode_to_vec().into())
        .message_id(message_id);
    js.send_publish(format!("dondoc.producer.ledger.{stream_id}"), publish)
        .await
        .expect("publish")
        .await
        .expect("ack");
}

/// No v1 `ledger.unreadable` payload can be upcast.
fn unreadable(
    _: &[u8],
    _: &dondoc_eventsourcing::UpcastContext,
) -> Result<Vec<u8>, dondoc_eventsourcing::UpcastError> {
    Err(dondoc_eventsourcing::UpcastError::malformed(
        "no reader for this payload",
    ))
}

async fn consumer(db: &TestDatabase, js: &jetstream::Context) -> Consumer<Seen> {
    ensure_stream(js, &config()).await.expect("stream");
    let mut settings = ConsumerConfig::new("DONDOC_PRODUCER", vec!["dondoc.producer.>".into()]);
    settings.max_attempts = 3;
    let upcasters = Upcasters::new().register("ledger.unreadable", 1, unreadable);
    Consumer::new(
        db.db.clone(),
        js.clone(),
        settings,
        Arc::new(Seen),
        upcasters,
    )
    .await
    .expect("consumer")
}

/// Drives the consumer step by step until `done`, failing after a deadline.
async fn drive_until(
    consumer: &Consumer<Seen>,
    what: &str,
    done: impl AsyncFn() -> bool,
) -> Vec<Disposition> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut all = Vec::new();
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out: {what}; saw {all:?}"
        );
        all.extend(consumer.process_available(10).await.expect("process"));
    }
    all
}

#[tokio::test]
async fn an_event_delivered_twice_is_applied_once() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let consumer = consumer(&db, &js).await;
        let id = Uuid::now_v7();
        publish(&js, "a", 1, b"first", id, "m-1").await;
        // The same event again under another message id: what a relay republishing after the
        // server's duplicate window looks like.
        publish(&js, "a", 1, b"first", id, "m-1-again").await;

        let dispositions = drive_until(&consumer, "both deliveries handled", async || {
            seen(&db).await.len() == 1
        })
        .await;
        let mut rest = consumer.process_available(10).await.expect("process");
        rest.extend(dispositions);

        assert!(rest.contains(&Disposition::Applied));
        assert!(rest.contains(&Disposition::Duplicate), "{rest:?}");
        assert_eq!(seen(&db).await, [("a".into(), 1, "first".into())]);
    }
}

#[tokio::test]
async fn an_event_that_arrives_before_its_predecessor_waits_for_it() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let consumer = consumer(&db, &js).await;
        publish(&js, "a", 2, b"second", Uuid::now_v7(), "m-2").await;
        publish(&js, "a", 1, b"first", Uuid::now_v7(), "m-1").await;

        let dispositions = drive_until(&consumer, "both applied in order", async || {
            seen(&db).await.len() == 2
        })
        .await;

        assert_eq!(dispositions.first(), Some(&Disposition::Parked));
        assert_eq!(
            seen(&db).await,
            [
                ("a".into(), 1, "first".into()),
                ("a".into(), 2, "second".into())
            ]
        );
    }
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_after_its_attempts_and_the_consumer_goes_on() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let consumer = consumer(&db, &js).await;
        let poison = Uuid::now_v7();
        publish(&js, "a", 1, b"poison", poison, "m-poison").await;
        publish(&js, "b", 1, b"healthy", Uuid::now_v7(), "m-healthy").await;
        // The poisoned stream goes on after its dead letter.
        publish(&js, "a", 2, b"after", Uuid::now_v7(), "m-after").await;

        let dispositions = drive_until(
            &consumer,
            "poison dead-lettered, the rest applied",
            async || {
                seen(&db).await.len() == 2
                    && !dead_letters(&db.db, "seen-v1")
                        .await
                        .expect("dead letters")
                        .is_empty()
            },
        )
        .await;

        let retries = dispositions
            .iter()
            .filter(|d| matches!(d, Disposition::Retried { .. }))
            .count();
        assert_eq!(
            retries, 2,
            "attempts 1 and 2 are retried, attempt 3 dead-letters"
        );
        let letters = dead_letters(&db.db, "seen-v1").await.expect("dead letters");
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].0, poison.to_string());
        assert_eq!(letters[0].2, 3);
        assert!(letters[0].3.contains("cannot digest poison"));
        assert_eq!(
            seen(&db).await,
            [
                ("a".into(), 2, "after".into()),
                ("b".into(), 1, "healthy".into())
            ]
        );
    }
}

#[tokio::test]
async fn bytes_that_are_not_an_event_are_dead_lettered_at_once() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let consumer = consumer(&db, &js).await;
        js.send_publish(
            "dondoc.producer.ledger.x",
            jetstream::message::PublishMessage::build().payload("not protobuf \u{ff}".into()),
        )
        .await
        .expect("publish")
        .await
        .expect("ack");

        let dispositions = consumer.process_available(10).await.expect("process");

        assert!(
            matches!(dispositions.as_slice(), [Disposition::DeadLettered { .. }]),
            "{dispositions:?}"
        );
        assert_eq!(
            dead_letters(&db.db, "seen-v1")
                .await
                .expect("dead letters")
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn an_event_no_upcaster_can_read_is_dead_lettered_and_its_stream_goes_on() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let consumer = consumer(&db, &js).await;
        let unreadable = Uuid::now_v7();
        publish_typed(&js, "ledger.unreadable", "a", 1, b"?", unreadable, "m-1").await;
        publish(&js, "a", 2, b"next", Uuid::now_v7(), "m-2").await;

        drive_until(&consumer, "the next event applied", async || {
            seen(&db).await.len() == 1
        })
        .await;

        let letters = dead_letters(&db.db, "seen-v1").await.expect("dead letters");
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].0, unreadable.to_string());
        assert_eq!(seen(&db).await, [("a".into(), 2, "next".into())]);
    }
}

#[tokio::test]
async fn one_relay_at_a_time_holds_the_lease_and_a_silent_one_is_replaced() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let store = store_with(&db, &[b"a"]).await;
        let clock = Arc::new(dondoc_eventsourcing::clock::ManualClock::at(Utc::now()));
        let replica = |store: EventStore| {
            let js = js.clone();
            let clock = clock.clone();
            async move {
                Relay::new(store, js, config())
                    .await
                    .expect("relay")
                    .with_clock(clock)
            }
        };
        let first = replica(store.clone()).await;
        let second = replica(store.clone()).await;

        let first_leads = first.try_lead().await.expect("lead");
        let second_while_first_renews = second.try_lead().await.expect("lead");
        let first_renews = first.try_lead().await.expect("renew");
        clock.advance(chrono::Duration::seconds(11)); // the first stopped renewing
        let second_after_expiry = second.try_lead().await.expect("lead");
        let first_after_losing = first.try_lead().await.expect("lead");
        second.release().await.expect("release");
        let first_after_release = first.try_lead().await.expect("lead");

        assert_eq!(
            (
                first_leads,
                second_while_first_renews,
                first_renews,
                second_after_expiry,
                first_after_losing,
                first_after_release
            ),
            (true, false, true, true, false, true),
            "{}",
            db.engine()
        );
    }
}

#[tokio::test]
async fn two_running_relays_on_one_log_publish_each_event_once() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let store = store_with(&db, &[]).await;
        let first = Relay::new(store.clone(), js.clone(), config())
            .await
            .expect("relay");
        let second = Relay::new(store.clone(), js.clone(), config())
            .await
            .expect("relay");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let running = [
            tokio::spawn(first.clone().run(shutdown.clone())),
            tokio::spawn(second.clone().run(shutdown.clone())),
        ];
        let payloads: Vec<Vec<u8>> = (0..20).map(|i| format!("e{i}").into_bytes()).collect();
        let payloads: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();

        store_with_more(&store, 0, &payloads).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while first.checkpoint().await.expect("checkpoint") < 20 {
            assert!(tokio::time::Instant::now() < deadline, "not all published");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        shutdown.cancel();
        for relay in running {
            relay.await.expect("relay task");
        }

        assert_eq!(
            first.published() + second.published(),
            20,
            "{}: only the lease holder publishes (first {}, second {})",
            db.engine(),
            first.published(),
            second.published()
        );
    }
}

#[tokio::test]
async fn events_that_follow_their_streams_are_applied_together_in_one_transaction() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let consumer = consumer(&db, &js).await;
        for (stream, version) in [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2)] {
            let body = format!("{stream}{version}");
            let message_id = format!("m-{body}");
            publish(
                &js,
                stream,
                version,
                body.as_bytes(),
                Uuid::now_v7(),
                &message_id,
            )
            .await;
        }

        let dispositions = drive_until(&consumer, "five events applied", async || {
            seen(&db).await.len() == 5
        })
        .await;

        assert!(
            dispositions.iter().all(|d| *d == Disposition::Applied),
            "{dispositions:?}"
        );
        let stats = consumer.stats();
        assert_eq!(stats.applied, 5, "{}", db.engine());
        assert!(
            stats.batches >= 1,
            "at least one fetch held several events: {stats:?}"
        );
    }
}

#[tokio::test]
async fn a_gap_in_a_batch_sends_it_down_the_one_by_one_path() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let consumer = consumer(&db, &js).await;
        publish(&js, "a", 1, b"a1", Uuid::now_v7(), "m-a1").await;
        publish(&js, "a", 3, b"a3", Uuid::now_v7(), "m-a3").await;
        publish(&js, "b", 1, b"b1", Uuid::now_v7(), "m-b1").await;

        let dispositions = consumer.process_available(10).await.expect("process");

        assert_eq!(
            dispositions,
            [
                Disposition::Applied,
                Disposition::Parked,
                Disposition::Applied
            ],
            "{}",
            db.engine()
        );
        assert_eq!(
            consumer.stats().batches,
            0,
            "nothing applied by the fast path"
        );
        let applied: Vec<(String, i64)> = seen(&db)
            .await
            .into_iter()
            .map(|(stream, version, _)| (stream, version))
            .collect();
        assert_eq!(applied, [("a".to_owned(), 1), ("b".to_owned(), 1)]);
    }
}

#[tokio::test]
async fn a_consumer_is_ready_only_once_it_has_applied_what_was_published_before_it_started() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        ensure_stream(&js, &config()).await.expect("stream");
        // A backlog, as a replica restarting behind its producer finds it.
        const BACKLOG: usize = 300;
        for version in 1..=BACKLOG {
            let message_id = format!("m-{version}");
            publish(&js, "a", version as u64, b"x", Uuid::now_v7(), &message_id).await;
        }
        let consumer = Arc::new(consumer(&db, &js).await);
        let mut state = consumer.state();
        let at_start = state.borrow().clone();

        let shutdown = tokio_util::sync::CancellationToken::new();
        let running = tokio::spawn({
            let consumer = consumer.clone();
            let shutdown = shutdown.clone();
            async move { consumer.run(shutdown).await }
        });
        tokio::time::timeout(
            Duration::from_secs(30),
            state.wait_for(ReadModelState::is_ready),
        )
        .await
        .expect("ready within the deadline")
        .expect("state still watched");
        let applied_when_ready = seen(&db).await.len();
        shutdown.cancel();
        running.await.expect("consumer stops");

        assert_eq!(at_start, ReadModelState::CatchingUp, "{}", db.engine());
        assert_eq!(
            applied_when_ready,
            BACKLOG,
            "ready only after the whole backlog ({})",
            db.engine()
        );
    }
}

#[tokio::test]
async fn a_consumer_of_a_stream_not_yet_created_is_ready_at_once() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let settings = ConsumerConfig::new("DONDOC_NOBODY", vec!["dondoc.nobody.>".into()]);
        let consumer = Arc::new(
            Consumer::new(
                db.db.clone(),
                js.clone(),
                settings,
                Arc::new(Seen),
                Upcasters::new(),
            )
            .await
            .expect("consumer"),
        );
        let mut state = consumer.state();

        let shutdown = tokio_util::sync::CancellationToken::new();
        let running = tokio::spawn({
            let consumer = consumer.clone();
            let shutdown = shutdown.clone();
            async move { consumer.run(shutdown).await }
        });
        let ready = tokio::time::timeout(
            Duration::from_secs(30),
            state.wait_for(ReadModelState::is_ready),
        )
        .await
        .is_ok();
        shutdown.cancel();
        running.await.expect("consumer stops");

        assert!(ready, "nothing to catch up on ({})", db.engine());
    }
}

#[tokio::test]
async fn anchors_are_published_to_a_stream_that_refuses_deletes_and_purges() {
    use dondoc_eventsourcing::anchor::{ANCHOR_STREAM, AnchorSigner, Anchorer, latest_published};
    let db = TestDatabase::sqlite().await;
    let (_server, js) = nats().await;
    let _store = store_with(&db, &[b"a", b"b"]).await;
    let anchorer = Anchorer::new(
        db.db.clone(),
        "producer",
        AnchorSigner::generate(),
        None,
        Some(js.clone()),
        dondoc_eventsourcing::clock::SystemClock::shared(),
    )
    .expect("anchorer");

    let made = anchorer.anchor_now().await.expect("anchor").expect("some");
    let latest = latest_published(&js, "producer").await.expect("read");
    let stream = js.get_stream(ANCHOR_STREAM).await.expect("stream");
    let deleted = stream.delete_message(1).await;
    let purged = stream.purge().await;

    assert_eq!(latest, Some(made));
    assert!(deleted.is_err(), "deleting an anchor is refused");
    assert!(purged.is_err(), "purging the anchors is refused");
}

// ---------------------------------------------------------------------------------------------
// Upgrades and operators' orders.

/// `Seen` as a release that can be fixed or upgraded: refuses "poison" until `cured`, and any
/// schema version above `knows` as newer than it can read.
struct Release {
    cured: bool,
    knows: u32,
}

#[async_trait]
impl Projection for Release {
    fn name(&self) -> &'static str {
        Seen.name()
    }
    fn schema(&self) -> &'static [&'static str] {
        Seen.schema()
    }
    fn tables(&self) -> &'static [&'static str] {
        Seen.tables()
    }
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.schema_version > self.knows {
            return Err(ProjectionError::NewerVersion(format!(
                "{} v{} is newer than this build knows (v{})",
                event.event_type, event.schema_version, self.knows
            )));
        }
        if event.payload == b"poison" && !self.cured {
            return Err(ProjectionError::Other("cannot digest poison".into()));
        }
        sqlx::query("INSERT INTO seen_v1 (stream_id, version, payload) VALUES ($1, $2, $3)")
            .bind(event.stream_id.clone())
            .bind(event.stream_version as i64)
            .bind(String::from_utf8_lossy(&event.payload).into_owned())
            .execute(conn)
            .await?;
        Ok(())
    }
}

async fn release(
    db: &TestDatabase,
    js: &jetstream::Context,
    release: Release,
) -> Consumer<Release> {
    ensure_stream(js, &config()).await.expect("stream");
    let settings = ConsumerConfig::new("DONDOC_PRODUCER", vec!["dondoc.producer.>".into()]);
    Consumer::new(
        db.db.clone(),
        js.clone(),
        settings,
        Arc::new(release),
        Upcasters::new(),
    )
    .await
    .expect("consumer")
}

/// An event of stream `a` at `version`, written with schema `schema_version`.
fn versioned(version: u64, schema_version: u32, payload: &[u8]) -> RecordedEvent {
    RecordedEvent {
        position: version,
        event_id: Uuid::now_v7(),
        stream_type: "ledger".into(),
        stream_id: "a".into(),
        stream_version: version,
        event_type: "ledger.noted".into(),
        schema_version,
        occurred_at: Utc::now(),
        recorded_at: Utc::now(),
        actor: Actor::default(),
        correlation_id: String::new(),
        causation_id: String::new(),
        traceparent: String::new(),
        source: "producer".into(),
        payload: payload.to_vec(),
    }
}

#[tokio::test]
async fn an_event_newer_than_the_reader_is_held_with_its_stream_and_applied_after_the_upgrade() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let old = release(
            &db,
            &js,
            Release {
                cured: true,
                knows: 1,
            },
        )
        .await;
        send(&js, &versioned(1, 1, b"one"), "m-1").await;
        send(
            &js,
            &versioned(2, 2, b"two, written by an upgraded producer"),
            "m-2",
        )
        .await;
        send(&js, &versioned(3, 1, b"three"), "m-3").await;

        let mut handled = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while handled.len() < 3 {
            assert!(tokio::time::Instant::now() < deadline, "saw {handled:?}");
            handled.extend(old.process_available(10).await.expect("process"));
        }
        let before_upgrade = seen(&db).await;
        let letters = dead_letters(&db.db, "seen-v1").await.expect("dead letters");
        drop(old);
        let upgraded = release(
            &db,
            &js,
            Release {
                cured: true,
                knows: 2,
            },
        )
        .await;
        let applied = upgraded.retry_held().await.expect("retry held");

        assert_eq!(
            before_upgrade,
            [("a".into(), 1, "one".into())],
            "v2 is not read as if current, and v3 waits behind it ({})",
            db.engine()
        );
        assert!(letters.is_empty(), "held, not dead-lettered: {letters:?}");
        assert_eq!(applied, 2, "the held event and the one parked behind it");
        assert_eq!(
            seen(&db).await,
            [
                ("a".into(), 1, "one".into()),
                ("a".into(), 2, "two, written by an upgraded producer".into()),
                ("a".into(), 3, "three".into()),
            ]
        );
    }
}

/// A release that cannot digest "poison", after it dead-lettered one; the event's id.
async fn with_a_dead_letter(
    db: &TestDatabase,
    js: &jetstream::Context,
) -> (Consumer<Release>, String) {
    let broken = release(
        db,
        js,
        Release {
            cured: false,
            knows: 1,
        },
    )
    .await;
    let poison = versioned(1, 1, b"poison");
    send(js, &poison, "m-poison").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while dead_letters(&db.db, "seen-v1")
        .await
        .expect("dl")
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dead-lettered"
        );
        broken.process_available(10).await.expect("process");
    }
    (broken, poison.event_id.to_string())
}

#[tokio::test]
async fn a_dead_letter_retried_on_order_is_applied_once_its_cause_is_fixed_and_the_order_logged() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let (broken, id) = with_a_dead_letter(&db, &js).await;

        // Still broken: the retry fails again and the dead letter stays, one attempt more.
        consumers::order_retry(&db.db, &id, None)
            .await
            .expect("order");
        broken.carry_out_orders().await.expect("carry out");
        let after_failed_retry = consumers::list_dead_letters(&db.db).await.expect("list");
        drop(broken);
        // Fixed (a new release, running): the same order now applies it.
        let fixed = Arc::new(
            release(
                &db,
                &js,
                Release {
                    cured: true,
                    knows: 1,
                },
            )
            .await,
        );
        let shutdown = tokio_util::sync::CancellationToken::new();
        let running = tokio::spawn({
            let fixed = fixed.clone();
            let shutdown = shutdown.clone();
            async move { fixed.run(shutdown).await }
        });
        let ordered = consumers::order_retry(&db.db, &id, Some("seen-v1"))
            .await
            .expect("order");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while consumers::retry_pending(&db.db, &id)
            .await
            .expect("pending")
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the running consumer never retried"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shutdown.cancel();
        running.await.expect("stops");
        let log: Vec<(String, String)> =
            sqlx::query("SELECT action, outcome FROM dead_letter_log ORDER BY at")
                .fetch_all(db.db.pool())
                .await
                .expect("log")
                .iter()
                .map(|r| (r.get("action"), r.get("outcome")))
                .collect();

        assert_eq!(after_failed_retry.len(), 1, "{}", db.engine());
        assert_eq!(
            after_failed_retry[0].attempts, 4,
            "three deliveries and one retry"
        );
        assert!(
            !after_failed_retry[0].retry_ordered,
            "the order was carried out"
        );
        assert_eq!(ordered, ["seen-v1"]);
        assert!(
            consumers::list_dead_letters(&db.db)
                .await
                .expect("list")
                .is_empty()
        );
        assert_eq!(seen(&db).await, [("a".into(), 1, "poison".into())]);
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(
            log[0].1.starts_with("failed again: cannot digest poison"),
            "{log:?}"
        );
        assert_eq!(log[1], ("retry".into(), "applied".into()));
    }
}

#[tokio::test]
async fn a_discarded_dead_letter_leaves_the_list_and_its_reason_stays_in_the_log() {
    for db in TestDatabase::all().await {
        let (_server, js) = nats().await;
        let (_consumer, id) = with_a_dead_letter(&db, &js).await;

        let discarded = consumers::discard(&db.db, &id, None, "duplicate of a corrected entry")
            .await
            .expect("discard");
        let unknown = consumers::discard(&db.db, "no-such-event", None, "x")
            .await
            .expect("discard");

        assert_eq!(discarded, ["seen-v1"]);
        assert!(unknown.is_empty());
        assert!(
            consumers::list_dead_letters(&db.db)
                .await
                .expect("list")
                .is_empty()
        );
        let reason: String =
            sqlx::query("SELECT outcome FROM dead_letter_log WHERE action = 'discard'")
                .fetch_one(db.db.pool())
                .await
                .expect("logged")
                .get("outcome");
        assert_eq!(reason, "duplicate of a corrected entry");
    }
}

/// A deployment changes its stream settings (limits now, replicas when it moves onto a
/// cluster): the next start brings the existing stream to them, keeping its messages; asking a
/// single server for three replicas fails with the server's reason, never silently.
#[tokio::test]
async fn an_existing_stream_is_brought_to_the_configured_limits_and_replicas_at_start() {
    use dondoc_eventsourcing::relay::StreamSettings;
    let (_server, js) = nats().await;
    ensure_stream(&js, &config())
        .await
        .expect("stream with defaults");
    js.publish("dondoc.producer.ledger.1", "kept".into())
        .await
        .expect("publish")
        .await
        .expect("stored");
    let limited = StreamSettings {
        replicas: 1,
        max_age: Duration::from_secs(400 * 24 * 3600),
        max_bytes: Some(1 << 30),
    };

    ensure_stream(&js, &config().with_stream(limited.clone()))
        .await
        .expect("the stream is updated");
    let mut stream = js.get_stream("DONDOC_PRODUCER").await.expect("stream");
    let info = stream.info().await.expect("info").clone();
    let three = ensure_stream(
        &js,
        &config().with_stream(StreamSettings {
            replicas: 3,
            ..limited.clone()
        }),
    )
    .await;

    assert_eq!(info.config.max_age, limited.max_age);
    assert_eq!(info.config.max_bytes, 1 << 30);
    assert_eq!(info.config.num_replicas, 1);
    assert_eq!(info.state.messages, 1, "the update keeps the messages");
    assert!(limited.matches(&info.config));
    let refusal = three.expect_err("one server cannot hold three replicas");
    assert!(
        refusal.to_string().contains("DONDOC_PRODUCER"),
        "the error names the stream: {refusal}"
    );
}
