//! The event-store conformance suite: every test runs against SQLite and, when
//! `DONDOC_TEST_POSTGRES_URL` is set, against PostgreSQL, through the same public API.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use dondoc_eventsourcing::repository::{CommandEnvelope, ExecuteError, Executed, Repository};
use dondoc_eventsourcing::testing::TestDatabase;
use dondoc_eventsourcing::{
    Actor, Aggregate, AppendError, AppendRequest, Appended, DecodeError, DomainEvent,
    EventMetadata, EventStore, ExpectedVersion, NewEvent, RequestKey, StoredOutcome, Tampering,
    UpcastError, Upcasters,
};
use sqlx::Executor;
use uuid::Uuid;

fn metadata() -> EventMetadata {
    EventMetadata {
        occurred_at: Utc::now(),
        actor: Actor {
            subject: "tester".into(),
            role: "office".into(),
            ..Actor::default()
        },
        correlation_id: Uuid::now_v7().to_string(),
        causation_id: String::new(),
        traceparent: String::new(),
    }
}

fn event(kind: &str, payload: &[u8]) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: kind.to_owned(),
        schema_version: 1,
        payload: payload.to_vec(),
    }
}

fn append(stream: &str, expected: u64, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        stream_type: "ledger".into(),
        stream_id: stream.into(),
        expected: ExpectedVersion::Exactly(expected),
        events,
        metadata: metadata(),
        idempotency: None,
    }
}

async fn open(db: &TestDatabase) -> EventStore {
    EventStore::open(db.db.clone(), "test", Upcasters::new())
        .await
        .expect("open store")
}

#[tokio::test]
async fn appended_events_are_read_back_in_stream_order() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;

        store
            .append(append(
                "a",
                0,
                vec![event("opened", b"1"), event("noted", b"2")],
            ))
            .await
            .expect("append");
        store
            .append(append("a", 2, vec![event("noted", b"3")]))
            .await
            .expect("append");

        let events = store.read_stream("a").await.expect("read");
        let versions: Vec<u64> = events.iter().map(|e| e.stream_version).collect();
        let payloads: Vec<&[u8]> = events.iter().map(|e| e.payload.as_slice()).collect();
        assert_eq!(versions, [1, 2, 3], "{}", db.engine());
        assert_eq!(payloads, [b"1", b"2", b"3"], "{}", db.engine());
        assert_eq!(events[0].actor.subject, "tester");
    }
}

#[tokio::test]
async fn an_append_at_a_stale_version_is_a_conflict_and_writes_nothing() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        store
            .append(append("a", 0, vec![event("opened", b"1")]))
            .await
            .expect("append");

        let result = store
            .append(append("a", 0, vec![event("opened", b"again")]))
            .await;

        assert!(
            matches!(
                result,
                Err(AppendError::Conflict {
                    expected: 0,
                    actual: 1,
                    ..
                })
            ),
            "{}: {result:?}",
            db.engine()
        );
        assert_eq!(store.read_stream("a").await.expect("read").len(), 1);
        assert_eq!(store.head_position().await.expect("head"), 1);
    }
}

#[tokio::test]
async fn read_all_returns_every_stream_in_one_global_order() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        store
            .append(append("a", 0, vec![event("x", b"a1")]))
            .await
            .expect("a1");
        store
            .append(append("b", 0, vec![event("x", b"b1")]))
            .await
            .expect("b1");
        store
            .append(append("a", 1, vec![event("x", b"a2")]))
            .await
            .expect("a2");

        let all = store.read_all(0, 100).await.expect("read all");
        let after_first = store.read_all(1, 100).await.expect("read after 1");

        let order: Vec<(u64, &[u8])> = all
            .iter()
            .map(|e| (e.position, e.payload.as_slice()))
            .collect();
        assert_eq!(
            order,
            [
                (1, b"a1".as_slice()),
                (2, b"b1".as_slice()),
                (3, b"a2".as_slice())
            ],
            "{}",
            db.engine()
        );
        assert_eq!(after_first.len(), 2);
        assert_eq!(store.stream_ids("ledger").await.expect("ids"), ["a", "b"]);
    }
}

// ---------------------------------------------------------------------------------------------
// A tiny aggregate to exercise the repository's command path.

#[derive(Clone, Debug, Default)]
pub(crate) struct Ledger {
    opened: bool,
    balance: i64,
}

#[derive(Clone, Debug)]
pub(crate) enum LedgerEvent {
    Opened,
    Deposited(i64),
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LedgerError {
    #[error("ledger is not open")]
    NotOpen,
}

pub(crate) enum LedgerCommand {
    Open,
    Deposit(i64),
}

impl DomainEvent for LedgerEvent {
    fn event_type(&self) -> &'static str {
        match self {
            LedgerEvent::Opened => "ledger.opened",
            LedgerEvent::Deposited(_) => "ledger.deposited",
        }
    }
    fn schema_version(&self) -> u32 {
        match self {
            LedgerEvent::Opened => 1,
            LedgerEvent::Deposited(_) => 2,
        }
    }
    fn encode(&self) -> Vec<u8> {
        match self {
            LedgerEvent::Opened => vec![],
            LedgerEvent::Deposited(n) => n.to_le_bytes().to_vec(),
        }
    }
    fn decode(event_type: &str, version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        match (event_type, version) {
            ("ledger.opened", 1) => Ok(LedgerEvent::Opened),
            ("ledger.deposited", 2) => {
                let bytes: [u8; 8] = payload.try_into().map_err(|_| DecodeError::Malformed {
                    event_type: event_type.into(),
                    reason: "expected 8 bytes".into(),
                })?;
                Ok(LedgerEvent::Deposited(i64::from_le_bytes(bytes)))
            }
            _ => Err(DecodeError::UnknownType {
                event_type: event_type.into(),
                schema_version: version,
            }),
        }
    }
}

impl Aggregate for Ledger {
    const TYPE: &'static str = "ledger";
    type Command = LedgerCommand;
    type Event = LedgerEvent;
    type Error = LedgerError;

    fn decide(&self, command: &LedgerCommand) -> Result<Vec<LedgerEvent>, LedgerError> {
        match command {
            LedgerCommand::Open => Ok(vec![LedgerEvent::Opened]),
            LedgerCommand::Deposit(_) if !self.opened => Err(LedgerError::NotOpen),
            LedgerCommand::Deposit(n) => Ok(vec![LedgerEvent::Deposited(*n)]),
        }
    }

    fn apply(&mut self, event: &LedgerEvent) {
        match event {
            LedgerEvent::Opened => self.opened = true,
            LedgerEvent::Deposited(n) => self.balance += n,
        }
    }
}

/// v1 of `ledger.deposited` stored the amount as text; v2 stores 8 little-endian bytes.
fn deposited_v1_to_v2(
    payload: &[u8],
    _: &dondoc_eventsourcing::UpcastContext,
) -> Result<Vec<u8>, UpcastError> {
    let text = std::str::from_utf8(payload).map_err(|e| UpcastError::malformed(e.to_string()))?;
    let amount: i64 = text.parse().map_err(|_| UpcastError::malformed("amount"))?;
    Ok(amount.to_le_bytes().to_vec())
}

pub(crate) fn command(
    stream: &str,
    command: LedgerCommand,
    request: Option<(&str, &str)>,
) -> CommandEnvelope<LedgerCommand> {
    CommandEnvelope {
        stream_id: stream.into(),
        command,
        expected_version: None,
        new_stream: false,
        request: request.map(|(id, fingerprint)| RequestKey {
            request_id: id.into(),
            fingerprint: fingerprint.into(),
        }),
        metadata: metadata(),
    }
}

pub(crate) fn ok_outcome(body: &[u8]) -> StoredOutcome {
    StoredOutcome {
        status_code: 0,
        message: String::new(),
        body: body.to_vec(),
    }
}

#[tokio::test]
async fn a_retried_request_returns_the_first_outcome_and_writes_nothing() {
    for db in TestDatabase::all().await {
        let repository = Repository::<Ledger>::new(open(&db).await);
        repository
            .execute(command("l", LedgerCommand::Open, None), |_| ok_outcome(b""))
            .await
            .expect("open");

        let first = repository
            .execute(
                command("l", LedgerCommand::Deposit(5), Some(("r1", "deposit 5"))),
                |d| ok_outcome(&d.after.balance.to_le_bytes()),
            )
            .await
            .expect("deposit");
        let retry = repository
            .execute(
                command("l", LedgerCommand::Deposit(5), Some(("r1", "deposit 5"))),
                |d| ok_outcome(&d.after.balance.to_le_bytes()),
            )
            .await
            .expect("retry");

        let Executed::Applied { outcome, .. } = first else {
            panic!("first call must apply");
        };
        let Executed::Replayed(replayed) = retry else {
            panic!("retry must replay");
        };
        assert_eq!(replayed, outcome, "{}", db.engine());
        let loaded = repository.load("l").await.expect("load");
        assert_eq!(
            (loaded.version, loaded.state.balance),
            (2, 5),
            "{}",
            db.engine()
        );
    }
}

#[tokio::test]
async fn the_same_request_id_with_a_different_request_is_refused() {
    for db in TestDatabase::all().await {
        let repository = Repository::<Ledger>::new(open(&db).await);
        repository
            .execute(
                command("l", LedgerCommand::Open, Some(("r1", "open l"))),
                |_| ok_outcome(b""),
            )
            .await
            .expect("open");

        let reuse = repository
            .execute(
                command("m", LedgerCommand::Open, Some(("r1", "open m"))),
                |_| ok_outcome(b""),
            )
            .await;

        assert!(
            matches!(reuse, Err(ExecuteError::RequestIdReused { .. })),
            "{}: {reuse:?}",
            db.engine()
        );
        assert_eq!(repository.store().head_position().await.expect("head"), 1);
    }
}

#[tokio::test]
async fn a_refused_command_writes_nothing() {
    for db in TestDatabase::all().await {
        let repository = Repository::<Ledger>::new(open(&db).await);

        let refused = repository
            .execute(
                command("l", LedgerCommand::Deposit(1), Some(("r", "f"))),
                |_| ok_outcome(b""),
            )
            .await;

        assert!(matches!(
            refused,
            Err(ExecuteError::Domain(LedgerError::NotOpen))
        ));
        assert_eq!(repository.store().head_position().await.expect("head"), 0);
        assert!(
            repository
                .store()
                .find_request("r")
                .await
                .expect("find")
                .is_none()
        );
    }
}

#[tokio::test]
async fn concurrent_commands_on_one_stream_let_exactly_one_win() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        store
            .append(append("a", 0, vec![event("opened", b"")]))
            .await
            .expect("open");

        let attempts = (0..8).map(|i| {
            let store = store.clone();
            async move {
                store
                    .append(append(
                        "a",
                        1,
                        vec![event("noted", format!("{i}").as_bytes())],
                    ))
                    .await
            }
        });
        let results = futures::future::join_all(attempts).await;

        let winners = results.iter().filter(|r| r.is_ok()).count();
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(AppendError::Conflict { .. })))
            .count();
        assert_eq!((winners, conflicts), (1, 7), "{}", db.engine());
        assert_eq!(store.read_stream("a").await.expect("read").len(), 2);
    }
}

#[tokio::test]
async fn old_schema_versions_are_upcast_when_read() {
    for db in TestDatabase::all().await {
        let upcasters = Upcasters::new().register("ledger.deposited", 1, deposited_v1_to_v2);
        let store = EventStore::open(db.db.clone(), "test", upcasters)
            .await
            .expect("store");
        store
            .append(append("l", 0, vec![event("ledger.opened", b"")]))
            .await
            .expect("open");
        // A deposit written years ago by the v1 code.
        store
            .append(append("l", 1, vec![event("ledger.deposited", b"42")]))
            .await
            .expect("v1 deposit");

        let loaded = Repository::<Ledger>::new(store.clone())
            .load("l")
            .await
            .expect("load");

        assert_eq!(loaded.state.balance, 42, "{}", db.engine());
        assert_eq!(loaded.history[1].schema_version, 2);
        // The stored row is untouched (the hash chain covers it).
        assert!(store.verify().await.expect("verify").is_intact());
        let stored = store.read_all_stored(1, 1).await.expect("stored");
        assert_eq!(
            (stored[0].schema_version, stored[0].payload.as_slice()),
            (1, b"42".as_slice())
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Tamper evidence.

async fn store_with_five_events(db: &TestDatabase) -> EventStore {
    let store = open(db).await;
    for i in 0..5u64 {
        store
            .append(append(
                "a",
                i,
                vec![event("x", format!("payload {i}").as_bytes())],
            ))
            .await
            .expect("append");
    }
    assert!(store.verify().await.expect("verify").is_intact());
    store
}

async fn tamper(db: &TestDatabase, statements: &[&'static str]) {
    for statement in statements {
        db.db.pool().execute(*statement).await.expect("tamper");
    }
}

#[tokio::test]
async fn verify_reports_an_edited_event() {
    for db in TestDatabase::all().await {
        let store = store_with_five_events(&db).await;

        tamper(
            &db,
            &["UPDATE events SET actor_subject = 'someone else' WHERE position = 3"],
        )
        .await;

        let report = store.verify().await.expect("verify");
        assert!(
            matches!(
                report.first_problem,
                Some(Tampering::Modified { position: 3, .. })
            ),
            "{}: {report:?}",
            db.engine()
        );
    }
}

#[tokio::test]
async fn verify_reports_a_deleted_event() {
    for db in TestDatabase::all().await {
        let store = store_with_five_events(&db).await;

        tamper(&db, &["DELETE FROM events WHERE position = 2"]).await;

        let report = store.verify().await.expect("verify");
        assert_eq!(
            report.first_problem,
            Some(Tampering::Deleted { position: 2 }),
            "{}",
            db.engine()
        );
    }
}

#[tokio::test]
async fn verify_reports_reordered_events() {
    for db in TestDatabase::all().await {
        let store = store_with_five_events(&db).await;

        tamper(
            &db,
            &[
                "UPDATE events SET position = -4 WHERE position = 4",
                "UPDATE events SET position = 4 WHERE position = 3",
                "UPDATE events SET position = 3 WHERE position = -4",
            ],
        )
        .await;

        let report = store.verify().await.expect("verify");
        assert!(
            matches!(
                report.first_problem,
                Some(Tampering::Reordered { position: 3, .. })
            ),
            "{}: {report:?}",
            db.engine()
        );
    }
}

#[tokio::test]
async fn verify_reports_deleted_trailing_events() {
    for db in TestDatabase::all().await {
        let store = store_with_five_events(&db).await;

        tamper(&db, &["DELETE FROM events WHERE position >= 4"]).await;

        let report = store.verify().await.expect("verify");
        assert_eq!(
            report.first_problem,
            Some(Tampering::Truncated {
                last_present: 3,
                recorded_head: 5
            }),
            "{}",
            db.engine()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Global order and group commit.

/// Takes the database's write lock from another connection, so the store's writer blocks on
/// its next batch while further requests queue up behind it; rolling back releases it.
async fn hold_the_write_lock(db: &TestDatabase) -> sqlx::Transaction<'static, sqlx::Any> {
    let mut blocker = db.db.begin_write().await.expect("block");
    if let Some(lock) = db.db.dialect().lock_event_log_statement() {
        sqlx::query(lock)
            .execute(&mut *blocker)
            .await
            .expect("lock");
    }
    blocker
}

#[tokio::test]
async fn a_tailing_reader_never_skips_an_event_under_concurrent_appends() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        // Two stores on one database stand for two replicas of a service: their writers
        // contend for the log, which is where commit-order gaps would appear.
        let replica = EventStore::open(db.reopen().await, "test", Upcasters::new())
            .await
            .expect("replica");
        const WRITERS: u64 = 16;
        const EVENTS_EACH: u64 = 25;

        let reader = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut checkpoint = 0;
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                while (seen.len() as u64) < WRITERS * EVENTS_EACH {
                    assert!(tokio::time::Instant::now() < deadline, "reader timed out");
                    // The reader tails by position, exactly as the relay does.
                    for e in store.read_all(checkpoint, 7).await.expect("tail") {
                        checkpoint = e.position;
                        seen.push(e.position);
                    }
                    tokio::task::yield_now().await;
                }
                seen
            })
        };
        let writers = (0..WRITERS).map(|w| {
            let store = if w % 2 == 0 {
                store.clone()
            } else {
                replica.clone()
            };
            tokio::spawn(async move {
                for i in 0..EVENTS_EACH {
                    store
                        .append(append(&format!("s{w}"), i, vec![event("x", b"")]))
                        .await
                        .expect("append");
                }
            })
        });
        for writer in futures::future::join_all(writers).await {
            writer.expect("writer");
        }
        let seen = reader.await.expect("reader");

        let expected: Vec<u64> = (1..=WRITERS * EVENTS_EACH).collect();
        assert_eq!(
            seen,
            expected,
            "{}: the reader skipped or repeated",
            db.engine()
        );
        assert!(store.verify().await.expect("verify").is_intact());
    }
}

#[tokio::test]
async fn concurrent_appends_share_one_commit() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let blocker = hold_the_write_lock(&db).await;
        let appends: Vec<_> = (0..20)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .append(append(&format!("s{i}"), 0, vec![event("x", b"")]))
                        .await
                })
            })
            .collect();
        // Wait until every request is queued or held by the writer.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while store.pending_requests() < 19 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "requests never queued"
            );
            tokio::task::yield_now().await;
        }

        blocker.rollback().await.expect("release");
        for append in futures::future::join_all(appends).await {
            assert!(matches!(
                append.expect("task"),
                Ok(Appended::Committed { .. })
            ));
        }

        let stats = store.stats();
        assert_eq!(stats.requests, 20, "{}", db.engine());
        // At most the batch that was blocked plus one for everything queued behind it.
        assert!(
            (1..=2).contains(&stats.commits),
            "{}: {} commits for 20 concurrent appends",
            db.engine(),
            stats.commits
        );
    }
}

#[tokio::test]
async fn a_second_process_on_the_same_database_continues_the_log() {
    for db in TestDatabase::all().await {
        let first = open(&db).await;
        first
            .append(append("a", 0, vec![event("x", b"1")]))
            .await
            .expect("first");
        let second = EventStore::open(db.reopen().await, "test", Upcasters::new())
            .await
            .expect("second");

        second
            .append(append("a", 1, vec![event("x", b"2")]))
            .await
            .expect("second");
        first
            .append(append("b", 0, vec![event("x", b"3")]))
            .await
            .expect("third");

        let positions: BTreeSet<u64> = first
            .read_all(0, 10)
            .await
            .expect("read")
            .iter()
            .map(|e| e.position)
            .collect();
        assert_eq!(positions, BTreeSet::from([1, 2, 3]), "{}", db.engine());
        assert!(second.verify().await.expect("verify").is_intact());
    }
}

#[tokio::test]
async fn a_retry_queued_behind_its_refused_first_attempt_is_not_told_it_succeeded() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        store
            .append(append("s", 0, vec![event("x", b"")]))
            .await
            .expect("open");
        let blocker = hold_the_write_lock(&db).await;
        let with_id = || {
            let mut request = append("s", 1, vec![event("x", b"mine")]);
            request.idempotency = Some((
                RequestKey {
                    request_id: "X".into(),
                    fingerprint: "f".into(),
                },
                StoredOutcome {
                    status_code: 0,
                    message: String::new(),
                    body: b"done".to_vec(),
                },
            ));
            request
        };
        // Queued in this order: another command wins version 2, then the first attempt and
        // its retry, both expecting version 1.
        // (The test runtime is single-threaded: spawned tasks run, and queue, in spawn order.)
        let tasks: Vec<_> = [
            append("s", 1, vec![event("x", b"other")]),
            with_id(),
            with_id(),
        ]
        .into_iter()
        .map(|request| {
            let store = store.clone();
            tokio::spawn(async move { store.append(request).await })
        })
        .collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while store.pending_requests() < 3 {
            assert!(tokio::time::Instant::now() < deadline, "not queued");
            tokio::task::yield_now().await;
        }
        blocker.rollback().await.expect("release");
        let results: Vec<_> = futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(|r| r.expect("task"))
            .collect();

        assert!(
            matches!(results[0], Ok(Appended::Committed { .. })),
            "{}",
            db.engine()
        );
        assert!(
            matches!(results[1], Err(AppendError::Conflict { .. })),
            "{results:?}"
        );
        assert!(
            matches!(results[2], Err(AppendError::Conflict { .. })),
            "{results:?}"
        );
        assert!(store.find_request("X").await.expect("find").is_none());
    }
}

#[tokio::test]
async fn verify_never_mistakes_commits_during_the_walk_for_tampering() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let writer = {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..200u64 {
                    store
                        .append(append("busy", i, vec![event("x", b"")]))
                        .await
                        .expect("append");
                }
            })
        };

        let mut walks = 0;
        while !writer.is_finished() {
            let report = store.verify().await.expect("verify");
            assert!(report.is_intact(), "{}: {report:?}", db.engine());
            walks += 1;
        }
        writer.await.expect("writer");

        assert!(walks > 0);
        assert!(store.verify().await.expect("verify").is_intact());
    }
}

#[tokio::test]
async fn a_command_returns_its_stream_history_as_stored() {
    for db in TestDatabase::all().await {
        let repository = Repository::<Ledger>::new(open(&db).await);
        repository
            .execute(command("l", LedgerCommand::Open, None), |_| ok_outcome(b""))
            .await
            .expect("open");

        let deposited = repository
            .execute(command("l", LedgerCommand::Deposit(7), None), |_| {
                ok_outcome(b"")
            })
            .await
            .expect("deposit");

        let Executed::Applied { history, .. } = deposited else {
            panic!("applied");
        };
        let stored = repository.load("l").await.expect("load").history;
        assert_eq!(history, stored, "{}", db.engine());
    }
}

#[tokio::test]
async fn a_new_stream_reads_nothing_and_conflicts_if_it_exists_after_all() {
    for db in TestDatabase::all().await {
        let repository = Repository::<Ledger>::new(open(&db).await);
        let new = |stream: &str| CommandEnvelope {
            new_stream: true,
            ..command(stream, LedgerCommand::Open, None)
        };

        let opened = repository.execute(new("l"), |_| ok_outcome(b"")).await;
        let again = repository.execute(new("l"), |_| ok_outcome(b"")).await;

        assert!(
            matches!(opened, Ok(Executed::Applied { version: 1, .. })),
            "{opened:?}"
        );
        assert!(
            matches!(again, Err(ExecuteError::Conflict { actual: 1, .. })),
            "{}: {again:?}",
            db.engine()
        );
    }
}

#[tokio::test]
async fn a_shared_aggregate_is_read_again_only_when_its_stream_moved() {
    for db in TestDatabase::all().await {
        let store = open(&db).await;
        let this_replica = Repository::<Ledger>::new(store.clone());
        let other_replica = Repository::<Ledger>::new(store);
        this_replica
            .execute(command("l", LedgerCommand::Open, None), |_| ok_outcome(b""))
            .await
            .expect("open");

        let first = this_replica.load_shared("l").await.expect("load");
        let unchanged = this_replica.load_shared("l").await.expect("load");
        other_replica
            .execute(command("l", LedgerCommand::Deposit(3), None), |_| {
                ok_outcome(b"")
            })
            .await
            .expect("deposit elsewhere");
        let moved = this_replica.load_shared("l").await.expect("load");

        assert!(std::sync::Arc::ptr_eq(&first, &unchanged), "not read again");
        assert_eq!(
            (moved.version, moved.state.balance),
            (2, 3),
            "{}",
            db.engine()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Anchors: tamper evidence that survives whoever can write SQL.

mod anchors {
    use super::*;
    use dondoc_eventsourcing::anchor::{
        AnchorError, AnchorSigner, AnchorVerifier, Anchorer, SignedCheckpoint, read_file,
        verify_with_anchors,
    };
    use dondoc_eventsourcing::clock::SystemClock;
    use dondoc_eventsourcing::store::{recompute_chain_from, verify_log};

    /// A log of five events anchored once into a file outside the database.
    struct Anchored {
        store: EventStore,
        anchorer: Anchorer,
        anchor: SignedCheckpoint,
        verifier: AnchorVerifier,
        dir: tempfile::TempDir,
    }

    impl Anchored {
        async fn new(db: &TestDatabase) -> Self {
            let store = store_with_five_events(db).await;
            let dir = tempfile::tempdir().expect("tempdir");
            let signer = AnchorSigner::generate();
            let verifier = signer.verifier();
            let anchorer = Anchorer::new(
                db.db.clone(),
                "ledger",
                signer,
                Some(dir.path().join("ledger.jsonl")),
                None,
                SystemClock::shared(),
            )
            .expect("anchorer");
            let anchor = anchorer
                .anchor_now()
                .await
                .expect("anchors")
                .expect("the log is not empty");
            Self {
                store,
                anchorer,
                anchor,
                verifier,
                dir,
            }
        }

        fn file(&self) -> std::path::PathBuf {
            self.dir.path().join("ledger.jsonl")
        }

        /// What `dondoc verify` says with the anchor file.
        async fn verify(&self, db: &TestDatabase) -> Result<Option<Tampering>, AnchorError> {
            let anchors = read_file(&self.file())?;
            Ok(
                verify_with_anchors(&db.db, "ledger", &anchors, &self.verifier)
                    .await?
                    .report
                    .first_problem,
            )
        }

        /// What the chain alone says.
        async fn chain_alone(&self, db: &TestDatabase) -> Option<Tampering> {
            verify_log(&db.db).await.expect("verify").first_problem
        }
    }

    #[tokio::test]
    async fn an_anchor_vouches_for_the_head_and_an_intact_log_matches_it() {
        for db in TestDatabase::all().await {
            let anchored = Anchored::new(&db).await;

            let problem = anchored.verify(&db).await.expect("verify");

            assert_eq!(anchored.anchor.checkpoint.position, 5, "{}", db.engine());
            assert_eq!(anchored.anchor.checkpoint.service, "ledger");
            assert_eq!(problem, None, "{}", db.engine());
        }
    }

    #[tokio::test]
    async fn deleting_the_tail_and_rewriting_log_head_is_detected_after_an_anchor() {
        for db in TestDatabase::all().await {
            let anchored = Anchored::new(&db).await;

            tamper(
                &db,
                &[
                    "DELETE FROM events WHERE position > 3",
                    "UPDATE log_head SET position = 3, \
                     hash = (SELECT hash FROM events WHERE position = 3) WHERE id = 1",
                ],
            )
            .await;

            assert_eq!(
                anchored.chain_alone(&db).await,
                None,
                "the chain alone is fooled"
            );
            assert!(
                matches!(
                    anchored.verify(&db).await.expect("verify"),
                    Some(Tampering::TruncatedBelowAnchor {
                        recorded_head: 3,
                        anchored_position: 5,
                        ..
                    })
                ),
                "{}",
                db.engine()
            );
        }
    }

    #[tokio::test]
    async fn an_edit_with_the_whole_chain_recomputed_is_detected_after_an_anchor() {
        for db in TestDatabase::all().await {
            let anchored = Anchored::new(&db).await;

            tamper(
                &db,
                &["UPDATE events SET actor_subject = 'someone else' WHERE position = 2"],
            )
            .await;
            recompute_chain_from(&db.db, 1).await.expect("recompute");

            assert_eq!(
                anchored.chain_alone(&db).await,
                None,
                "the chain alone is fooled"
            );
            assert!(
                matches!(
                    anchored.verify(&db).await.expect("verify"),
                    Some(Tampering::RewrittenBeforeAnchor { position: 5, .. })
                ),
                "{}",
                db.engine()
            );
            let refused = anchored.anchorer.anchor_now().await;
            assert!(
                matches!(refused, Err(AnchorError::Tampered { .. })),
                "the anchorer never vouches for a rewritten log: {refused:?}"
            );
            assert_eq!(anchored.anchorer.refusals(), 1);
        }
    }

    #[tokio::test]
    async fn a_row_slipped_in_beyond_the_head_or_a_head_set_back_is_detected_without_an_anchor() {
        for db in TestDatabase::all().await {
            let anchored = Anchored::new(&db).await;

            tamper(
                &db,
                &["UPDATE log_head SET position = 4, \
                   hash = (SELECT hash FROM events WHERE position = 4) WHERE id = 1"],
            )
            .await;

            assert_eq!(
                anchored.chain_alone(&db).await,
                Some(Tampering::BeyondHead {
                    position: 5,
                    recorded_head: 4
                }),
                "{}",
                db.engine()
            );
        }
    }

    #[tokio::test]
    async fn a_plain_edit_deletion_or_reordering_is_still_named_by_the_chain() {
        for db in TestDatabase::all().await {
            let anchored = Anchored::new(&db).await;

            tamper(
                &db,
                &["UPDATE events SET event_type = 'other' WHERE position = 4"],
            )
            .await;

            assert!(
                matches!(
                    anchored.verify(&db).await.expect("verify"),
                    Some(Tampering::Modified { position: 4, .. })
                ),
                "{}",
                db.engine()
            );
        }
    }

    #[tokio::test]
    async fn a_rewrite_confined_to_events_after_the_latest_anchor_is_not_detected() {
        // The documented window: what happened after the latest anchor is only as safe as the
        // chain. This test pins that limit so the documentation stays true.
        for db in TestDatabase::all().await {
            let anchored = Anchored::new(&db).await;
            anchored
                .store
                .append(append("b", 0, vec![event("x", b"after the anchor")]))
                .await
                .expect("append");

            tamper(
                &db,
                &["UPDATE events SET actor_subject = 'someone else' WHERE position = 6"],
            )
            .await;
            recompute_chain_from(&db.db, 6).await.expect("recompute");

            assert_eq!(
                anchored.verify(&db).await.expect("verify"),
                None,
                "{}",
                db.engine()
            );
        }
    }

    #[tokio::test]
    async fn an_anchor_edited_in_the_file_fails_its_signature() {
        for db in TestDatabase::all().await {
            let anchored = Anchored::new(&db).await;
            let text = std::fs::read_to_string(anchored.file()).expect("read");
            std::fs::write(
                anchored.file(),
                text.replace("\"position\":5", "\"position\":3"),
            )
            .expect("write");

            let result = anchored.verify(&db).await;

            assert!(
                matches!(result, Err(AnchorError::BadSignature { position: 3, .. })),
                "{result:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_anchor_by_an_unknown_key_is_refused() {
        for db in TestDatabase::all().await {
            let anchored = Anchored::new(&db).await;
            let anchors = read_file(&anchored.file()).expect("read");
            let stranger = AnchorSigner::generate().verifier();

            let result = verify_with_anchors(&db.db, "ledger", &anchors, &stranger).await;

            assert!(
                matches!(result, Err(AnchorError::UnknownKey { .. })),
                "{result:?}"
            );
        }
    }

    #[tokio::test]
    async fn nothing_new_since_the_last_anchor_gives_the_same_anchor_again() {
        for db in TestDatabase::all().await {
            let anchored = Anchored::new(&db).await;
            let again = anchored
                .anchorer
                .anchor_now()
                .await
                .expect("anchor")
                .expect("some");
            anchored
                .store
                .append(append("b", 0, vec![event("x", b"more")]))
                .await
                .expect("append");
            let next = anchored
                .anchorer
                .anchor_now()
                .await
                .expect("anchor")
                .expect("some");
            let lines = std::fs::read_to_string(anchored.file())
                .expect("file")
                .lines()
                .count();

            assert_eq!(again, anchored.anchor, "{}", db.engine());
            assert_eq!(next.checkpoint.position, 6);
            assert_eq!(lines, 2, "one line per position anchored");
        }
    }
}
