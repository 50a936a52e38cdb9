//! Local projections over a service's own log: catch-up, rebuild, and events they cannot read.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use dondoc_eventsourcing::consumer::dead_letters;
use dondoc_eventsourcing::projection::{LocalProjector, Projection, ProjectionError};
use dondoc_eventsourcing::testing::TestDatabase;
use dondoc_eventsourcing::{
    Actor, AppendRequest, EventMetadata, EventStore, ExpectedVersion, NewEvent, RecordedEvent,
    UpcastError, Upcasters,
};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

/// Concatenates payloads per stream; refuses payloads that say "poison".
struct Journal;

#[async_trait]
impl Projection for Journal {
    fn name(&self) -> &'static str {
        "journal"
    }
    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS journal_v1 (position BIGINT PRIMARY KEY, payload TEXT NOT NULL)",
        ]
    }
    fn tables(&self) -> &'static [&'static str] {
        &["journal_v1"]
    }
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.payload == b"poison" {
            return Err(ProjectionError::Other("cannot digest poison".into()));
        }
        sqlx::query("INSERT INTO journal_v1 (position, payload) VALUES ($1, $2)")
            .bind(event.position as i64)
            .bind(String::from_utf8_lossy(&event.payload).into_owned())
            .execute(conn)
            .await?;
        Ok(())
    }
}

fn unreadable(_: &[u8], _: &dondoc_eventsourcing::UpcastContext) -> Result<Vec<u8>, UpcastError> {
    Err(UpcastError::malformed("no reader"))
}

async fn append(store: &EventStore, stream: &str, version: u64, event_type: &str, payload: &[u8]) {
    store
        .append(AppendRequest {
            stream_type: "ledger".into(),
            stream_id: stream.into(),
            expected: ExpectedVersion::Exactly(version),
            events: vec![NewEvent {
                event_id: Uuid::now_v7(),
                event_type: event_type.into(),
                schema_version: 1,
                payload: payload.to_vec(),
            }],
            metadata: EventMetadata {
                occurred_at: Utc::now(),
                actor: Actor::default(),
                correlation_id: String::new(),
                causation_id: String::new(),
                traceparent: String::new(),
            },
            idempotency: None,
        })
        .await
        .expect("append");
}

async fn journal(db: &TestDatabase) -> Vec<(i64, String)> {
    sqlx::query("SELECT position, payload FROM journal_v1 ORDER BY position")
        .fetch_all(db.db.pool())
        .await
        .expect("journal")
        .iter()
        .map(|r| {
            (
                r.try_get("position").expect("p"),
                r.try_get("payload").expect("x"),
            )
        })
        .collect()
}

#[tokio::test]
async fn events_a_projection_cannot_take_are_dead_lettered_and_the_rest_is_applied() {
    for db in TestDatabase::all().await {
        let upcasters = Upcasters::new().register("ledger.unreadable", 1, unreadable);
        let store = EventStore::open(db.db.clone(), "test", upcasters)
            .await
            .expect("store");
        append(&store, "a", 0, "ledger.noted", b"one").await;
        append(&store, "a", 1, "ledger.noted", b"poison").await;
        append(&store, "a", 2, "ledger.unreadable", b"?").await;
        append(&store, "a", 3, "ledger.noted", b"four").await;
        let projector = LocalProjector::new(store.clone(), Arc::new(Journal))
            .await
            .expect("projector");

        let applied = projector.catch_up().await.expect("catch up");

        assert_eq!(applied, 4, "{}", db.engine());
        assert_eq!(journal(&db).await, [(1, "one".into()), (4, "four".into())]);
        let letters = dead_letters(&db.db, "journal-v1")
            .await
            .expect("dead letters");
        assert_eq!(letters.len(), 2, "{}: {letters:?}", db.engine());
        assert!(letters.iter().any(|l| l.3.contains("cannot digest poison")));
        assert!(letters.iter().any(|l| l.3.contains("no reader")));
    }
}

#[tokio::test]
async fn a_rebuilt_local_projection_equals_the_live_one() {
    for db in TestDatabase::all().await {
        let store = EventStore::open(db.db.clone(), "test", Upcasters::new())
            .await
            .expect("store");
        let projector = LocalProjector::new(store.clone(), Arc::new(Journal))
            .await
            .expect("projector");
        for i in 0..10u64 {
            append(
                &store,
                &format!("s{}", i % 3),
                i / 3,
                "ledger.noted",
                format!("e{i}").as_bytes(),
            )
            .await;
            projector.catch_up().await.expect("live");
        }
        let live = journal(&db).await;

        let replayed = projector.rebuild().await.expect("rebuild");

        assert_eq!(replayed, 10);
        assert_eq!(journal(&db).await, live, "{}", db.engine());
    }
}

/// The next version of `Journal`: a new column, so the old table cannot be reused.
struct JournalWithLengths;

#[async_trait]
impl Projection for JournalWithLengths {
    fn name(&self) -> &'static str {
        "journal"
    }
    fn version(&self) -> u32 {
        2
    }
    fn schema(&self) -> &'static [&'static str] {
        &["CREATE TABLE IF NOT EXISTS journal_v2 (
            position BIGINT PRIMARY KEY,
            payload TEXT NOT NULL,
            length BIGINT NOT NULL
        )"]
    }
    fn tables(&self) -> &'static [&'static str] {
        &["journal_v2"]
    }
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        sqlx::query("INSERT INTO journal_v2 (position, payload, length) VALUES ($1, $2, $3)")
            .bind(event.position as i64)
            .bind(String::from_utf8_lossy(&event.payload).into_owned())
            .bind(event.payload.len() as i64)
            .execute(conn)
            .await?;
        Ok(())
    }
}

#[tokio::test]
async fn a_new_version_of_a_projection_is_rebuilt_from_the_events_on_start() {
    for db in TestDatabase::all().await {
        let store = EventStore::open(db.db.clone(), "test", Upcasters::new())
            .await
            .expect("store");
        append(&store, "a", 0, "ledger.noted", b"one").await;
        append(&store, "a", 1, "ledger.noted", b"three").await;
        LocalProjector::new(store.clone(), Arc::new(Journal))
            .await
            .expect("v1")
            .catch_up()
            .await
            .expect("v1 catch up");

        let upgraded = LocalProjector::new(store.clone(), Arc::new(JournalWithLengths))
            .await
            .expect("v2");
        let applied = upgraded.catch_up().await.expect("v2 catch up");

        assert_eq!(
            applied,
            2,
            "{}: everything replayed into the new tables",
            db.engine()
        );
        let lengths: Vec<i64> = sqlx::query("SELECT length FROM journal_v2 ORDER BY position")
            .fetch_all(db.db.pool())
            .await
            .expect("new column")
            .iter()
            .map(|r| r.try_get("length").expect("length"))
            .collect();
        assert_eq!(lengths, [3, 5]);
    }
}
