//! Append throughput of the event store against the raw INSERT rate of the same database,
//! measured in the same run (design.md §4: performance is a ratio to a baseline, never an
//! assertion in a test).
//!
//! `cargo bench -p dondoc-eventsourcing --bench append` (add `DONDOC_TEST_POSTGRES_URL` for
//! PostgreSQL). The baseline is what a naive store would do: one INSERT, one commit, per
//! command. The store runs the same number of commands from many concurrent callers, each a
//! full append (optimistic-concurrency check, hash chain, counter row), and group commit
//! shares each fsync among all waiting commands.

use std::io::Write as _;
use std::time::{Duration, Instant};

use chrono::Utc;
use dondoc_eventsourcing::testing::TestDatabase;
use dondoc_eventsourcing::{
    Actor, AppendRequest, EventMetadata, EventStore, ExpectedVersion, NewEvent, Upcasters,
};
use uuid::Uuid;

/// Commands per measurement.
const COMMANDS: usize = 4_000;
/// Concurrent callers for the store (the gRPC server's concurrency in production).
const CALLERS: usize = 64;
/// A typical encoded `TaskAssigned` is a few hundred bytes.
const PAYLOAD: usize = 400;

async fn raw_insert_rate(db: &TestDatabase) -> f64 {
    db.db
        .run_schema(&[
            "CREATE TABLE IF NOT EXISTS raw_rows (id BIGINT PRIMARY KEY, payload {blob} NOT NULL)",
        ])
        .await
        .expect("raw table");
    let payload = vec![7u8; PAYLOAD];
    let started = Instant::now();
    for id in 0..COMMANDS as i64 {
        let mut tx = db.db.begin_write().await.expect("begin");
        sqlx::query("INSERT INTO raw_rows (id, payload) VALUES ($1, $2)")
            .bind(id)
            .bind(payload.clone())
            .execute(&mut *tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
    }
    COMMANDS as f64 / started.elapsed().as_secs_f64()
}

async fn store_append_rate(db: &TestDatabase) -> (f64, f64) {
    let store = EventStore::open(db.db.clone(), "bench", Upcasters::new())
        .await
        .expect("store");
    let per_caller = COMMANDS / CALLERS;
    let started = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let store = store.clone();
            tokio::spawn(async move {
                for version in 0..per_caller as u64 {
                    store
                        .append(AppendRequest {
                            stream_type: "task".into(),
                            stream_id: format!("task-{caller}"),
                            expected: ExpectedVersion::Exactly(version),
                            events: vec![NewEvent {
                                event_id: Uuid::now_v7(),
                                event_type: "dondoc.task.bench".into(),
                                schema_version: 1,
                                payload: vec![7u8; PAYLOAD],
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
            })
        })
        .collect();
    for caller in callers {
        caller.await.expect("caller");
    }
    let elapsed: Duration = started.elapsed();
    let stats = store.stats();
    (
        (per_caller * CALLERS) as f64 / elapsed.as_secs_f64(),
        stats.requests as f64 / stats.commits.max(1) as f64,
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut engines = vec![TestDatabase::sqlite().await];
        if let Some(pg) = TestDatabase::postgres().await {
            engines.push(pg);
        }
        for db in engines {
            let raw = raw_insert_rate(&db).await;
            let (store, per_commit) = store_append_rate(&db).await;
            // The benchmark's report is its output, not a log line.
            writeln!(
                std::io::stdout().lock(),
                "{engine}: raw INSERT (one commit each) {raw:.0}/s; store append with \
                 {CALLERS} callers {store:.0}/s = {ratio:.2}x raw; {per_commit:.1} commands \
                 per commit",
                engine = db.engine(),
                ratio = store / raw,
            )
            .expect("write the report");
        }
    });
}
