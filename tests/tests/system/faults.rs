//! The faults of the core, through the running services: an event a read model can never take,
//! text that would become one, retries that must get their first answer whatever changed since,
//! a replica older than its read model, and a writer that dies.

use chrono::Utc;
use dondoc_eventsourcing::consumer::dead_letters;
use dondoc_eventsourcing::{Actor, AppendRequest, EventMetadata, ExpectedVersion, NewEvent};
use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::{Principal, Role};
use dondoc_tests::{Engine, TestSystem, assignment_request, request_id};
use prost::Message as _;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

fn violations(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt as _;
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

async fn assign(system: &TestSystem, title: &str) -> pb::Task {
    system
        .client(Role::Office)
        .await
        .assign_task(assignment_request(title))
        .await
        .expect("assign")
        .into_inner()
}

/// What a careless writer (an old release, an operator's script) could leave in the log: a
/// well-formed `dondoc.task.assigned` that no read model can take.
fn planted(stream_id: &str, version: u64, leader_id: &str) -> AppendRequest {
    let payload = pb::TaskAssigned {
        task_id: stream_id.to_owned(),
        origin: Some(dondoc_tests::from_the_city()),
        assignment: Some(pb::TaskAssignment {
            assigner: Some(pb::Assigner {
                kind: pb::AssignerKind::ViceChairman as i32,
                leader_id: leader_id.into(),
                leader_name: "Trần Văn Minh".into(),
            }),
            document: Some(dondoc_tests::city_document()),
        }),
        title: "Bản ghi hỏng".into(),
        content: "Nội dung".into(),
        lead_unit: "SXD".into(),
        coordinating_units: vec![],
        deadline: "2026-12-31".into(),
        priority: pb::Priority::Normal as i32,
        assigned_on: "2026-11-28".into(),
        supervising_leader_id: String::new(),
        historical: false,
        import_reason: String::new(),
    };
    AppendRequest {
        stream_type: "task".into(),
        stream_id: stream_id.into(),
        expected: ExpectedVersion::Exactly(version - 1),
        events: vec![NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: "dondoc.task.assigned".into(),
            schema_version: 3,
            payload: payload.encode_to_vec(),
        }],
        metadata: EventMetadata {
            occurred_at: Utc::now(),
            actor: Actor {
                subject: "script".into(),
                ..Actor::default()
            },
            correlation_id: String::new(),
            causation_id: String::new(),
            traceparent: String::new(),
        },
        idempotency: None,
    }
}

async fn a_poison_event_is_dead_lettered_and_later_tasks_still_appear_on(engine: Engine) {
    let Some(system) = TestSystem::spawn_on(engine).await else {
        return;
    };
    let before = assign(&system, "Trước bản ghi hỏng").await;
    let outside = system.assignment_log_from_outside().await;
    // A second assignment of the same task: every read model's unique key refuses it, on
    // every engine, every time.
    outside
        .append(planted(&before.task_id, 2, "pct-tran"))
        .await
        .expect("plant a duplicate assignment");
    if engine == Engine::Postgres {
        // A NUL in a TEXT column, which PostgreSQL refuses (SQLSTATE 22021).
        outside
            .append(planted(
                &uuid::Uuid::now_v7().to_string(),
                1,
                "pct\u{0}tran",
            ))
            .await
            .expect("plant a NUL");
    }

    let after = assign(&system, "Sau bản ghi hỏng").await;
    let listed = system
        .client(Role::Office)
        .await
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .expect("the task list is not stopped")
        .into_inner();
    // On PostgreSQL the NUL task reaches the board, which keeps no leader id.
    let tasks_on_board = if engine == Engine::Postgres { 3 } else { 2 };
    let board = system
        .board_when("the task after the poison", |b| {
            b.total_tasks == tasks_on_board
        })
        .await;

    let titles: Vec<&str> = listed.tasks.iter().map(|t| t.title.as_str()).collect();
    assert!(
        titles.contains(&"Sau bản ghi hỏng"),
        "{engine:?}: {titles:?}"
    );
    assert_eq!(listed.tasks.len(), 2, "{engine:?}: {titles:?}");
    assert!(listed.tasks.iter().any(|t| t.task_id == after.task_id));
    assert_eq!(board.total_tasks, tasks_on_board, "{engine:?}");
    let listing_letters = dead_letters(
        system.assignment().store().database(),
        "assignment-task-list-v3",
    )
    .await
    .expect("task list dead letters");
    let expected_letters = if engine == Engine::Postgres { 2 } else { 1 };
    assert_eq!(
        listing_letters.len(),
        expected_letters,
        "{engine:?}: {listing_letters:?}"
    );
    // The board retries a refused event a few times before it sets it aside.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let board_letters = dead_letters(system.reporting().database(), "reporting-task-board-v4")
            .await
            .expect("board dead letters");
        if !board_letters.is_empty() {
            assert_eq!(board_letters.len(), 1, "{engine:?}: {board_letters:?}");
            assert!(
                board_letters[0].3.contains("database error"),
                "{board_letters:?}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{engine:?}: the board never set the duplicate assignment aside"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_and_later_tasks_still_appear() {
    a_poison_event_is_dead_lettered_and_later_tasks_still_appear_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_and_later_tasks_still_appear_on_postgres_too() {
    a_poison_event_is_dead_lettered_and_later_tasks_still_appear_on(Engine::Postgres).await;
}

#[tokio::test]
async fn control_characters_in_any_text_are_refused_naming_the_field() {
    let system = TestSystem::spawn().await;
    let mut office = system.client(Role::Office).await;
    let mut request = assignment_request("Tiêu đề\u{0}");
    let assignment = request.assignment.as_mut().expect("assignment");
    assignment.assigner.as_mut().expect("assigner").leader_id = "pct\u{7}tran".into();
    assignment.document.as_mut().expect("document").summary = "Trích\tyếu".into();
    request.content = "Dòng một\nDòng hai\u{1b}[31m".into();

    let refused = office
        .assign_task(request)
        .await
        .expect_err("control characters are refused");
    let task = assign(&system, "Hợp lệ").await;
    let with_line_breaks = office
        .cancel_task(pb::CancelTaskRequest {
            request_id: request_id(),
            task_id: task.task_id,
            reason: "Lý do một.\nLý do hai.".into(),
            expected_version: 0,
        })
        .await;

    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&refused),
        [
            "assignment.assigner.leader_id",
            "assignment.document.summary",
            "title",
            "content"
        ]
    );
    assert!(
        with_line_breaks.is_ok(),
        "a reason may span lines: {with_line_breaks:?}"
    );
    assert_eq!(
        system.assignment().head_position().await.expect("head"),
        5,
        "two directory versions, the leaders, one assignment and one cancellation"
    );
}

// ---------------------------------------------------------------------------------------------
// Retries (AIP-155).

#[tokio::test]
async fn a_change_without_a_request_id_is_refused_and_writes_nothing() {
    let system = TestSystem::spawn().await;
    let mut office = system.client(Role::Office).await;
    let mut request = assignment_request("Không có mã yêu cầu");
    request.request_id = "  ".into();

    let refused = office.assign_task(request).await.expect_err("refused");

    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(violations(&refused), ["request_id"]);
    assert_eq!(
        system.assignment().head_position().await.expect("head"),
        3,
        "only the directories"
    );
}

#[tokio::test]
async fn a_request_id_reused_by_another_caller_or_for_another_method_is_refused() {
    let system = TestSystem::spawn().await;
    let mut office = system.client(Role::Office).await;
    let mut request = assignment_request("Nhiệm vụ");
    request.request_id = "shared-id".into();
    let task = office
        .assign_task(request.clone())
        .await
        .expect("first")
        .into_inner();
    let colleague = system.mint(&Principal {
        subject: "another-office-user".into(),
        role: Role::Office,
        unit_code: None,
        leader_id: None,
    });

    let by_another_caller = system
        .client_with_token(&colleague)
        .await
        .assign_task(request)
        .await
        .expect_err("another caller");
    let for_another_method = office
        .cancel_task(pb::CancelTaskRequest {
            request_id: "shared-id".into(),
            task_id: task.task_id,
            reason: "Thử".into(),
            expected_version: 0,
        })
        .await
        .expect_err("another method");

    for refused in [&by_another_caller, &for_another_method] {
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert_eq!(violations(refused), ["request_id"]);
    }
    assert_eq!(
        system.assignment().head_position().await.expect("head"),
        4,
        "the directories and the one assignment"
    );
}

#[tokio::test]
async fn a_retried_extension_gets_its_first_answer_even_after_the_deadline_has_passed() {
    let system = TestSystem::spawn().await;
    let task = assign(&system, "Gia hạn").await;
    let mut office = system.client(Role::Office).await;
    let extension = pb::ExtendDeadlineRequest {
        request_id: request_id(),
        task_id: task.task_id.clone(),
        new_deadline: "2027-01-15".into(),
        reason: "Chờ ý kiến của Bộ".into(),
        requested_on: String::new(),
        approved_by_leader_id: "pct-tran".into(),
        expected_version: 0,
    };
    let first = office
        .extend_deadline(extension.clone())
        .await
        .expect("first")
        .into_inner();
    // The retry comes after the new deadline too has passed: judged today, it would be refused.
    system.clock.advance(chrono::Duration::days(60));

    let retry = office
        .extend_deadline(extension)
        .await
        .expect("a retry gets the first answer")
        .into_inner();

    assert_eq!(retry, first);
    assert_eq!(
        system.assignment().head_position().await.expect("head"),
        5,
        "the retry wrote nothing"
    );
}

#[tokio::test]
async fn a_retried_refused_hand_off_is_recorded_once() {
    let system = TestSystem::spawn().await;
    let task = assign(&system, "Chuyển giao").await;
    let mut lead_unit = system.client(Role::Unit).await;
    let hand_off = pb::ReassignTaskRequest {
        request_id: request_id(),
        task_id: task.task_id.clone(),
        new_lead_unit: "STC".into(),
        new_coordinating_units: vec![],
        reason: "Không thuộc chức năng".into(),
        expected_version: 0,
    };

    let first = lead_unit
        .reassign_task(hand_off.clone())
        .await
        .expect_err("refused");
    let retry = lead_unit
        .reassign_task(hand_off)
        .await
        .expect_err("refused again");

    assert_eq!(first.code(), Code::FailedPrecondition);
    assert_eq!(retry.code(), Code::FailedPrecondition);
    let recorded = system
        .client(Role::Office)
        .await
        .get_task(pb::GetTaskRequest {
            task_id: task.task_id,
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(recorded.refused_hand_off_attempts, 1);
}

// ---------------------------------------------------------------------------------------------
// Rolling upgrades and supervision.

#[tokio::test]
async fn a_replica_older_than_its_read_model_is_not_serving_and_keeps_the_newer_tables() {
    let mut system = TestSystem::spawn().await;
    assign(&system, "Trước nâng cấp").await;
    // Listing waits until the task list has the task.
    let listed = system
        .client(Role::Office)
        .await
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.tasks.len(), 1);
    // A replica of a later release has made version 4 of the task list the active one.
    let db = system.assignment().store().database().clone();
    sqlx::query("UPDATE read_models SET version = 4 WHERE projection = 'assignment-task-list'")
        .execute(db.pool())
        .await
        .expect("a newer version is active");
    system.assignment.take().expect("running").stop().await;

    system.start_assignment().await;
    let port = system.assignment().port();

    system
        .health_becomes(port, "assignment-task-list", ServingStatus::NotServing)
        .await;
    system
        .health_becomes(port, "", ServingStatus::NotServing)
        .await;
    let listing = system
        .client(Role::Office)
        .await
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .expect_err("this replica refuses the read model");
    assert_eq!(listing.code(), Code::Unavailable);
    let reopened = system.assignment().store().database().clone();
    let kept: i64 = sqlx::query("SELECT COUNT(*) AS n FROM task_list_v3")
        .fetch_one(reopened.pool())
        .await
        .map(|row| sqlx::Row::try_get(&row, "n").expect("n"))
        .expect("the table is still there");
    assert_eq!(kept, 1, "nothing was dropped or emptied");
    let version: i64 =
        sqlx::query("SELECT version FROM read_models WHERE projection = 'assignment-task-list'")
            .fetch_one(reopened.pool())
            .await
            .map(|row| sqlx::Row::try_get(&row, "version").expect("version"))
            .expect("version");
    assert_eq!(version, 4);
}

#[tokio::test]
async fn the_service_is_not_serving_while_its_writer_restarts() {
    let system = TestSystem::spawn().await;
    let port = system.assignment().port();
    let store = system.assignment().store().clone();
    let held = store.hold_writer_restarts().await;

    store.crash_writer().await;
    system
        .health_becomes(port, "event-store-writer", ServingStatus::NotServing)
        .await;
    system
        .health_becomes(port, "", ServingStatus::NotServing)
        .await;
    drop(held);
    system
        .health_becomes(port, "", ServingStatus::Serving)
        .await;
    let task = assign(&system, "Sau khi khởi động lại").await;

    assert_eq!(task.title, "Sau khi khởi động lại");
}
