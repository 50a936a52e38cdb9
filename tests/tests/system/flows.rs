//! End to end: the services spawned together, driven through their gRPC APIs.

use std::time::Duration;

use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::Role;
use dondoc_tests::{Engine, TestSystem, assignment_request};
use tonic::Code;
use tonic_types::StatusExt;

fn violations(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

async fn assign(system: &TestSystem, title: &str) -> pb::Task {
    system
        .client(Role::Leader)
        .await
        .assign_task(assignment_request(title))
        .await
        .expect("assign")
        .into_inner()
}

async fn assigned_flows_to_the_board(engine: Engine) {
    let Some(system) = TestSystem::spawn_on(engine).await else {
        return;
    };

    let task = assign(&system, "Đôn đốc giải phóng mặt bằng").await;

    assert_eq!(task.lead_unit, "SXD");
    assert_eq!(task.status, pb::TaskStatus::Assigned as i32);
    assert_eq!(task.assigned_by, "pct-tran");
    let board = system
        .board_when("one assigned task for SXD", |b| b.total_tasks == 1)
        .await;
    assert_eq!(
        board.rows,
        [pb::TaskBoardRow {
            unit: "SXD".into(),
            status: pb::TaskStatus::Assigned as i32,
            tasks: 1
        }]
    );
}

#[tokio::test]
async fn an_assigned_task_reaches_the_reporting_board_through_jetstream() {
    assigned_flows_to_the_board(Engine::Sqlite).await;
}

#[tokio::test]
async fn an_assigned_task_reaches_the_reporting_board_on_postgres_too() {
    assigned_flows_to_the_board(Engine::Postgres).await;
}

#[tokio::test]
async fn a_retried_assignment_returns_the_same_task_and_writes_nothing() {
    let system = TestSystem::spawn().await;
    let mut client = system.client(Role::Office).await;
    let mut request = assignment_request("Kiểm tra an toàn công trình");
    request.request_id = "a7f1c2d4-0001".into();

    let first = client
        .assign_task(request.clone())
        .await
        .expect("first")
        .into_inner();
    let head = system.assignment().head_position().await.expect("head");
    let retry = client
        .assign_task(request.clone())
        .await
        .expect("retry")
        .into_inner();

    assert_eq!(retry, first);
    assert_eq!(
        system.assignment().head_position().await.expect("head"),
        head
    );
}

#[tokio::test]
async fn a_request_id_reused_for_a_different_request_is_refused() {
    let system = TestSystem::spawn().await;
    let mut client = system.client(Role::Office).await;
    let mut request = assignment_request("Kiểm tra an toàn công trình");
    request.request_id = "a7f1c2d4-0002".into();
    client.assign_task(request.clone()).await.expect("first");
    let head = system.assignment().head_position().await.expect("head");

    request.title = "Một nhiệm vụ khác".into();
    let status = client
        .assign_task(request)
        .await
        .expect_err("must be refused");

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violations(&status), ["request_id"]);
    assert_eq!(
        system.assignment().head_position().await.expect("head"),
        head
    );
}

#[tokio::test]
async fn concurrent_conflicting_commands_let_exactly_one_win() {
    let system = TestSystem::spawn().await;
    let task = assign(&system, "Rà soát hồ sơ").await;
    let office = system.client(Role::Office).await;

    let extend = {
        let mut client = office.clone();
        let task_id = task.task_id.clone();
        async move {
            client
                .extend_deadline(pb::ExtendDeadlineRequest {
                    request_id: dondoc_tests::request_id(),
                    task_id,
                    new_deadline: "2027-01-31".into(),
                    reason: "Chờ ý kiến Bộ Xây dựng".into(),
                    requested_on: String::new(),
                    approved_by_leader_id: "pct-tran".into(),
                    expected_version: 1,
                })
                .await
        }
    };
    let cancel = {
        let mut client = office.clone();
        let task_id = task.task_id.clone();
        async move {
            client
                .cancel_task(pb::CancelTaskRequest {
                    request_id: dondoc_tests::request_id(),
                    task_id,
                    reason: "Nhiệm vụ đã được lồng ghép".into(),
                    expected_version: 1,
                })
                .await
        }
    };
    let (extended, cancelled) = tokio::join!(extend, cancel);

    let codes = [
        extended
            .as_ref()
            .map(|_| Code::Ok)
            .unwrap_or_else(|s| s.code()),
        cancelled
            .as_ref()
            .map(|_| Code::Ok)
            .unwrap_or_else(|s| s.code()),
    ];
    assert!(
        codes == [Code::Ok, Code::Aborted] || codes == [Code::Aborted, Code::Ok],
        "{codes:?}"
    );
    let now = office
        .clone()
        .get_task(pb::GetTaskRequest {
            task_id: task.task_id,
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(now.version, 2);
}

#[tokio::test]
async fn the_lead_unit_cannot_hand_its_task_to_another_unit_and_the_attempt_is_recorded() {
    let system = TestSystem::spawn().await;
    let task = assign(&system, "Lập quy hoạch phân khu").await;
    let mut lead_unit = system.client(Role::Unit).await; // SXD, the lead unit

    let status = lead_unit
        .reassign_task(pb::ReassignTaskRequest {
            request_id: dondoc_tests::request_id(),
            task_id: task.task_id.clone(),
            new_lead_unit: "STC".into(),
            new_coordinating_units: vec![],
            reason: "Nội dung thuộc lĩnh vực tài chính".into(),
            expected_version: 0,
        })
        .await
        .expect_err("a hand-off must be refused");

    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("chủ trì"), "{}", status.message());
    assert!(
        status.message().contains("leadership"),
        "{}",
        status.message()
    );
    let after = lead_unit
        .get_task(pb::GetTaskRequest {
            task_id: task.task_id,
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(after.lead_unit, "SXD");
    assert_eq!(after.refused_hand_off_attempts, 1);
    assert_eq!(
        after.version, 2,
        "the refusal is an event: evidence for discipline"
    );
}

#[tokio::test]
async fn the_issuing_authority_reassigns_with_a_reason_and_history_keeps_both() {
    let system = TestSystem::spawn().await;
    let task = assign(&system, "Lập quy hoạch phân khu").await;

    let moved = system
        .client(Role::Leader)
        .await
        .reassign_task(pb::ReassignTaskRequest {
            request_id: dondoc_tests::request_id(),
            task_id: task.task_id.clone(),
            new_lead_unit: "STC".into(),
            new_coordinating_units: vec!["SXD".into()],
            reason: "Điều chỉnh phân công theo chức năng".into(),
            expected_version: 1,
        })
        .await
        .expect("reassign")
        .into_inner();

    assert_eq!(moved.lead_unit, "STC");
    assert_eq!(moved.coordinating_units, ["SXD"]);
    assert_eq!(moved.reassignments.len(), 1);
    assert_eq!(moved.reassignments[0].from_lead_unit, "SXD");
    assert_eq!(moved.reassignments[0].reassigned_by, "pct-tran");
    system
        .board_when("the task moved to STC", |b| {
            b.rows.iter().any(|r| r.unit == "STC" && r.tasks == 1)
        })
        .await;
}

#[tokio::test]
async fn an_extension_keeps_the_original_and_every_adjusted_deadline() {
    let system = TestSystem::spawn().await;
    let task = assign(&system, "Báo cáo quyết toán").await;
    let mut leader = system.client(Role::Leader).await;

    for (deadline, reason) in [
        ("2027-01-15", "Chờ số liệu"),
        ("2027-02-28", "Bổ sung hồ sơ"),
    ] {
        leader
            .extend_deadline(pb::ExtendDeadlineRequest {
                request_id: dondoc_tests::request_id(),
                task_id: task.task_id.clone(),
                new_deadline: deadline.into(),
                reason: reason.into(),
                requested_on: String::new(),
                approved_by_leader_id: "pct-tran".into(),
                expected_version: 0,
            })
            .await
            .expect("extend");
    }
    let extended = leader
        .get_task(pb::GetTaskRequest {
            task_id: task.task_id,
        })
        .await
        .expect("get")
        .into_inner();

    assert_eq!(extended.original_deadline, "2026-12-31");
    assert_eq!(extended.deadline, "2027-02-28");
    let history: Vec<&str> = extended
        .deadline_history
        .iter()
        .map(|c| c.deadline.as_str())
        .collect();
    assert_eq!(history, ["2026-12-31", "2027-01-15", "2027-02-28"]);
}

#[tokio::test]
async fn a_unit_token_cannot_assign_tasks_and_nothing_is_written() {
    let system = TestSystem::spawn().await;
    let head = system.assignment().head_position().await.expect("head");

    let status = system
        .client(Role::Unit)
        .await
        .assign_task(assignment_request("Tự giao nhiệm vụ"))
        .await
        .expect_err("units do not assign");

    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(
        system.assignment().head_position().await.expect("head"),
        head
    );
}

#[tokio::test]
async fn a_call_without_a_token_is_unauthenticated() {
    let system = TestSystem::spawn().await;

    let status = system
        .client_with_token("not-a-jwt")
        .await
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .expect_err("must be refused");

    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn every_invalid_assignment_names_its_fields_and_writes_nothing() {
    let system = TestSystem::spawn().await;
    let mut office = system.client(Role::Office).await;
    let head = system.assignment().head_position().await.expect("head");
    type Edit = fn(&mut pb::AssignTaskRequest);
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("missing lead unit", |r| r.lead_unit.clear(), "lead_unit"),
        (
            "unknown unit",
            |r| r.lead_unit = "SO-KHONG-CO".into(),
            "lead_unit",
        ),
        // The 2019 districts were abolished on 1 July 2025.
        (
            "abolished district",
            |r| r.lead_unit = "Q-LECHAN".into(),
            "lead_unit",
        ),
        (
            "lead also coordinating",
            |r| r.coordinating_units.push("SXD".into()),
            "coordinating_units[1]",
        ),
        (
            "deadline before the document",
            |r| r.term = Some(pb::assign_task_request::Term::Deadline("2026-11-01".into())),
            "deadline",
        ),
        ("empty title", |r| r.title = "   ".into(), "title"),
        ("over-long title", |r| r.title = "x".repeat(501), "title"),
        (
            "bad document date",
            |r| {
                if let Some(d) = r.assignment.as_mut().and_then(|a| a.document.as_mut()) {
                    d.date = "20/11/2026".into();
                }
            },
            "assignment.document.date",
        ),
        (
            "a deadline already past",
            |r| r.term = Some(pb::assign_task_request::Term::Deadline("2026-11-27".into())),
            "deadline",
        ),
        ("no origin", |r| r.origin = None, "origin.kind"),
        (
            "a ministry without its name and document",
            |r| {
                r.origin = Some(pb::TaskOrigin {
                    kind: pb::OriginKind::Ministry as i32,
                    ..Default::default()
                })
            },
            "origin.issuing_body",
        ),
        (
            "bad deadline",
            |r| r.term = Some(pb::assign_task_request::Term::Deadline("2026-02-30".into())),
            "deadline",
        ),
        ("no term", |r| r.term = None, "term"),
        (
            "unclassified assigner",
            |r| {
                if let Some(a) = r.assignment.as_mut().and_then(|a| a.assigner.as_mut()) {
                    a.kind = pb::AssignerKind::Unclassified as i32;
                }
            },
            "assignment.assigner.kind",
        ),
        (
            "vice-chairman without id",
            |r| {
                if let Some(a) = r.assignment.as_mut().and_then(|a| a.assigner.as_mut()) {
                    a.leader_id.clear();
                }
            },
            "assignment.assigner.leader_id",
        ),
        (
            "an unknown leader",
            |r| {
                if let Some(a) = r.assignment.as_mut().and_then(|a| a.assigner.as_mut()) {
                    a.leader_id = "pct-khong-co".into();
                }
            },
            "assignment.assigner.leader_id",
        ),
        (
            "a vice-chairman as the chairman",
            |r| {
                if let Some(a) = r.assignment.as_mut().and_then(|a| a.assigner.as_mut()) {
                    a.kind = pb::AssignerKind::Chairman as i32;
                }
            },
            "assignment.assigner.kind",
        ),
    ];

    for (case, edit, field) in cases {
        let mut request = assignment_request("Nhiệm vụ hợp lệ");
        edit(&mut request);

        let status = office.assign_task(request).await.expect_err(case);

        assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
        assert!(
            violations(&status).iter().any(|f| f == field),
            "{case}: expected a violation on {field}, got {:?}",
            violations(&status)
        );
    }
    assert_eq!(
        system.assignment().head_position().await.expect("head"),
        head,
        "nothing may be written by an invalid request"
    );
}

#[tokio::test]
async fn tasks_are_listed_by_unit_and_status_page_by_page() {
    let system = TestSystem::spawn().await;
    for i in 0..5 {
        assign(&system, &format!("Nhiệm vụ số {i}")).await;
    }
    let mut other = assignment_request("Nhiệm vụ của Sở Tài chính");
    other.lead_unit = "STC".into();
    other.coordinating_units.clear();
    system
        .client(Role::Office)
        .await
        .assign_task(other)
        .await
        .expect("assign");
    let mut office = system.client(Role::Office).await;

    let mut titles = Vec::new();
    let mut token = String::new();
    loop {
        let page = office
            .list_tasks(pb::ListTasksRequest {
                unit: "SXD".into(),
                status: pb::TaskStatus::Assigned as i32,
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        titles.extend(page.tasks.into_iter().map(|t| t.title));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }

    assert_eq!(
        titles,
        (0..5)
            .map(|i| format!("Nhiệm vụ số {i}"))
            .collect::<Vec<_>>()
    );
    let coordinating = office
        .list_tasks(pb::ListTasksRequest {
            unit: "STC".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        coordinating.tasks.len(),
        6,
        "STC leads one and coordinates five"
    );
}

#[tokio::test]
async fn commands_keep_working_while_nats_is_down_and_every_event_arrives_once() {
    let mut system = TestSystem::spawn().await;
    assign(&system, "Trước khi NATS dừng").await;
    system
        .board_when("the first task", |b| b.total_tasks == 1)
        .await;

    system.nats.stop().await;
    for i in 0..5 {
        assign(&system, &format!("Trong khi NATS dừng {i}")).await;
    }
    system.nats.restart().await.expect("restart nats");

    let board = system
        .board_when("all six tasks", |b| b.total_tasks == 6)
        .await;
    assert_eq!(board.events_applied, 6, "each event applied exactly once");
}

#[tokio::test]
async fn events_republished_beyond_jetstreams_duplicate_window_are_absorbed_by_the_inbox() {
    let system = TestSystem::spawn().await;
    for i in 0..3 {
        assign(&system, &format!("Nhiệm vụ {i}")).await;
    }
    let board = system
        .board_when("three tasks", |b| b.total_tasks == 3)
        .await;
    let consumer = system.reporting().task_board();
    let before = consumer.stats();
    // What `dondoc replay` after a JetStream loss amounts to, once the server's duplicate
    // window is over: every event again, under message ids the server has not seen.
    let js = async_nats::jetstream::new(
        async_nats::connect(system.nats.url())
            .await
            .expect("connect"),
    );
    let log = system
        .assignment()
        .store()
        .read_all_stored(0, 100)
        .await
        .expect("log");
    let tasks: Vec<_> = log.iter().filter(|e| e.stream_type == "task").collect();
    for event in &tasks {
        let message = async_nats::jetstream::message::PublishMessage::build()
            .payload(prost::Message::encode_to_vec(&event.to_envelope()).into())
            .message_id(uuid::Uuid::now_v7().to_string());
        js.send_publish(
            dondoc_eventsourcing::relay::subject_for("dondoc.assignment", event),
            message,
        )
        .await
        .expect("publish")
        .await
        .expect("stored by JetStream, not deduplicated");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while consumer.backlog().await.expect("backlog") > 0
        || consumer.stats().duplicates < before.duplicates + tasks.len() as u64
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the consumer never caught up: {:?}",
            consumer.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let after = consumer.stats();
    assert_eq!(after.duplicates - before.duplicates, 3, "{after:?}");
    assert_eq!(after.applied, before.applied, "nothing applied twice");
    assert_eq!(system.board().await, board);
}

async fn events_committed_before_a_crash_are_published_after_the_restart_on(engine: Engine) {
    let Some(mut system) = TestSystem::spawn_on(engine).await else {
        return;
    };
    // With NATS unreachable the relay cannot publish, so the crash comes between commit and
    // publish for every one of these events.
    system.nats.stop().await;
    for i in 0..3 {
        assign(&system, &format!("Trước sự cố {i}")).await;
    }
    system.assignment.take().expect("running").kill();
    system.nats.restart().await.expect("restart nats");

    system.start_assignment().await;

    let board = system
        .board_when("the three tasks committed before the crash", |b| {
            b.total_tasks == 3
        })
        .await;
    assert_eq!(board.events_applied, 3);
}

#[tokio::test]
async fn events_committed_before_a_crash_are_published_after_the_restart() {
    events_committed_before_a_crash_are_published_after_the_restart_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn events_committed_before_a_crash_are_published_after_the_restart_on_postgres_too() {
    events_committed_before_a_crash_are_published_after_the_restart_on(Engine::Postgres).await;
}

async fn rebuilt_projections_equal_the_live_ones_on(engine: Engine) {
    let Some(system) = TestSystem::spawn_on(engine).await else {
        return;
    };
    let cancelled = assign(&system, "Nhiệm vụ sẽ hủy").await;
    let moved = assign(&system, "Nhiệm vụ giao lại và gia hạn").await;
    assign(&system, "Nhiệm vụ còn lại").await;
    let mut office = system.client(Role::Office).await;
    office
        .reassign_task(pb::ReassignTaskRequest {
            request_id: dondoc_tests::request_id(),
            task_id: moved.task_id.clone(),
            new_lead_unit: "STC".into(),
            new_coordinating_units: vec!["SXD".into()],
            reason: "Theo chỉ đạo".into(),
            expected_version: 0,
        })
        .await
        .expect("reassign");
    office
        .extend_deadline(pb::ExtendDeadlineRequest {
            request_id: dondoc_tests::request_id(),
            task_id: moved.task_id.clone(),
            new_deadline: "2027-02-28".into(),
            reason: "Chờ ý kiến của Bộ".into(),
            requested_on: String::new(),
            approved_by_leader_id: "pct-tran".into(),
            expected_version: 0,
        })
        .await
        .expect("extend");
    system
        .client(Role::Unit)
        .await
        .reassign_task(pb::ReassignTaskRequest {
            request_id: dondoc_tests::request_id(),
            task_id: cancelled.task_id.clone(),
            new_lead_unit: "STC".into(),
            new_coordinating_units: vec![],
            reason: "Không thuộc chức năng".into(),
            expected_version: 0,
        })
        .await
        .expect_err("a refused hand-off, recorded");
    office
        .cancel_task(pb::CancelTaskRequest {
            request_id: dondoc_tests::request_id(),
            task_id: cancelled.task_id,
            reason: "Không còn phù hợp".into(),
            expected_version: 0,
        })
        .await
        .expect("cancel");
    let live_board = system
        .board_when("seven events applied", |b| b.events_applied == 7)
        .await;
    let live_list = office
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .expect("list")
        .into_inner();

    system
        .assignment()
        .rebuild_projections()
        .await
        .expect("rebuild list");
    system
        .reporting()
        .rebuild_projections()
        .await
        .expect("rebuild board");

    let rebuilt_list = office
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(rebuilt_list, live_list);
    assert_eq!(live_list.tasks.len(), 3);
    let moved = live_list
        .tasks
        .iter()
        .find(|t| t.task_id == moved.task_id)
        .expect("listed");
    assert_eq!(
        (moved.lead_unit.as_str(), moved.deadline.as_str()),
        ("STC", "2027-02-28"),
        "the list shows the reassignment and the extension"
    );
    let rebuilt_board = system
        .board_when("the rebuilt board caught up", |b| b.events_applied == 7)
        .await;
    assert_eq!(rebuilt_board, live_board);
    // The counters move just after the commit the board reads; give them that moment.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while system.reporting().task_board().stats().applied < 14
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        system.reporting().task_board().stats().applied,
        14,
        "the board really consumed everything a second time"
    );
}

#[tokio::test]
async fn rebuilt_projections_equal_the_live_ones() {
    rebuilt_projections_equal_the_live_ones_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn rebuilt_projections_equal_the_live_ones_on_postgres_too() {
    rebuilt_projections_equal_the_live_ones_on(Engine::Postgres).await;
}

#[tokio::test]
async fn the_event_log_verifies_after_a_working_session() {
    let system = TestSystem::spawn().await;
    for i in 0..3 {
        assign(&system, &format!("Nhiệm vụ {i}")).await;
    }

    let report = system.assignment().verify().await.expect("verify");

    assert!(report.is_intact(), "{report:?}");
    assert_eq!(
        report.events_checked, 6,
        "two directory versions, the leaders and three tasks"
    );
}

#[tokio::test]
async fn every_server_answers_health_checks() {
    let system = TestSystem::spawn().await;
    for port in [system.assignment().port(), system.reporting().port()] {
        let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);

        let response = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health")
            .into_inner();

        assert_eq!(
            response.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
    }
}

#[tokio::test]
async fn tasks_are_filtered_by_issuer_and_deadline_range() {
    let system = TestSystem::spawn().await;
    let mut office = system.client(Role::Office).await;
    let mut government = assignment_request("Nhiệm vụ Chính phủ giao");
    government.origin = Some(pb::TaskOrigin {
        kind: pb::OriginKind::Government as i32,
        issuing_body: String::new(),
        document: Some(pb::SourceDocument {
            number: "12".into(),
            symbol: "NQ-CP".into(),
            date: "2026-11-10".into(),
            summary: "Nghị quyết phiên họp Chính phủ thường kỳ".into(),
        }),
    });
    government.assignment = Some(dondoc_tests::assigned_by(
        pb::AssignerKind::CityPeoplesCommittee,
        "",
    ));
    government.term = Some(pb::assign_task_request::Term::Deadline("2027-03-31".into()));
    office.assign_task(government).await.expect("assign");
    assign(&system, "Nhiệm vụ Phó Chủ tịch giao").await; // deadline 2026-12-31
    let mut open_ended = assignment_request("Nhiệm vụ không thời hạn");
    open_ended.term = Some(pb::assign_task_request::Term::NoDeadline(true));
    office.assign_task(open_ended).await.expect("assign");

    let titles = |response: pb::ListTasksResponse| -> Vec<String> {
        response.tasks.into_iter().map(|t| t.title).collect()
    };
    let from_government = office
        .list_tasks(pb::ListTasksRequest {
            issuer_kind: pb::IssuerKind::Government as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let due_this_year = office
        .list_tasks(pb::ListTasksRequest {
            deadline_from: "2026-12-01".into(),
            deadline_to: "2026-12-31".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let backwards = office
        .list_tasks(pb::ListTasksRequest {
            deadline_from: "2027-01-01".into(),
            deadline_to: "2026-01-01".into(),
            ..Default::default()
        })
        .await
        .expect_err("an inverted range is invalid");

    let from_pct_tran = office
        .list_tasks(pb::ListTasksRequest {
            issuer_leader_id: "pct-tran".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let by_origin = office
        .list_tasks(pb::ListTasksRequest {
            origin_kind: pb::OriginKind::Government as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let by_assigner = office
        .list_tasks(pb::ListTasksRequest {
            assigner_leader_id: "pct-tran".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();

    assert_eq!(titles(from_government), ["Nhiệm vụ Chính phủ giao"]);
    assert_eq!(titles(by_origin), ["Nhiệm vụ Chính phủ giao"]);
    assert_eq!(
        titles(by_assigner),
        ["Nhiệm vụ Phó Chủ tịch giao", "Nhiệm vụ không thời hạn"]
    );
    assert_eq!(
        titles(from_pct_tran),
        ["Nhiệm vụ Phó Chủ tịch giao", "Nhiệm vụ không thời hạn"]
    );
    assert_eq!(titles(due_this_year), ["Nhiệm vụ Phó Chủ tịch giao"]);
    assert_eq!(violations(&backwards), ["deadline_to"]);
}

#[tokio::test]
async fn a_unit_reads_only_the_tasks_it_leads_or_coordinates() {
    let system = TestSystem::spawn().await;
    let own = assign(&system, "Nhiệm vụ của Sở Xây dựng").await;
    let mut elsewhere = assignment_request("Nhiệm vụ của Sở Y tế");
    elsewhere.lead_unit = "SYT".into();
    elsewhere.coordinating_units.clear();
    let other = system
        .client(Role::Office)
        .await
        .assign_task(elsewhere)
        .await
        .expect("assign")
        .into_inner();
    let mut unit = system.client(Role::Unit).await; // SXD

    let listed = unit
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .expect("list")
        .into_inner();
    let foreign = unit
        .get_task(pb::GetTaskRequest {
            task_id: other.task_id,
        })
        .await
        .expect_err("another unit's task");

    assert_eq!(
        listed.tasks.iter().map(|t| &t.task_id).collect::<Vec<_>>(),
        [&own.task_id]
    );
    assert_eq!(foreign.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn the_unit_directory_answers_for_the_date_asked() {
    let system = TestSystem::spawn().await;
    let mut office = system.client(Role::Office).await;

    let in_2020 = office
        .get_unit(pb::GetUnitRequest {
            code: "Q-LECHAN".into(),
            as_of: "2020-06-01".into(),
        })
        .await
        .expect("the district existed in 2020")
        .into_inner();
    let today = office
        .get_unit(pb::GetUnitRequest {
            code: "Q-LECHAN".into(),
            as_of: String::new(),
        })
        .await
        .expect_err("districts were abolished on 1 July 2025");
    let departments = office
        .list_units(pb::ListUnitsRequest {
            kind: "department".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();

    assert_eq!(in_2020.name_vi, "Ủy ban nhân dân quận Lê Chân");
    assert_eq!(in_2020.valid_to, "2025-06-30");
    assert_eq!(today.code(), Code::NotFound);
    assert!(departments.units.iter().any(|u| u.code == "SNNMT"));
    assert!(departments.units.iter().all(|u| u.kind == "department"));
}

#[tokio::test]
async fn an_invalid_unit_directory_is_refused_field_by_field_and_nothing_is_written() {
    let system = TestSystem::spawn().await;
    let head = system.assignment().head_position().await.expect("head");
    let broken = r#"
[[directory]]
name = "Bản lỗi"
valid_from = "2027-01-01"

[[directory.units]]
code = "SXD"
kind = "ministry"
name_vi = "Sở Xây dựng"
name_en = "Department of Construction"
head_title_vi = "Giám đốc"
confidence = "known"
"#;

    let status = system
        .import_units(broken)
        .await
        .expect_err("an unknown kind is refused");
    let re_import = system
        .import_units(dondoc_tests::SEED_UNITS)
        .await
        .expect("re-import");

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violations(&status), ["directory[0].units[0].kind"]);
    assert_eq!(
        (
            re_import.directories_imported,
            re_import.directories_unchanged
        ),
        (0, 2),
        "re-importing the same directory changes nothing"
    );
    assert_eq!(
        system.assignment().head_position().await.expect("head"),
        head
    );
}

#[tokio::test]
async fn a_leader_assigns_only_in_their_own_name() {
    let system = TestSystem::spawn().await;
    let mut request = assignment_request("Giao thay người khác");
    request.assignment = Some(dondoc_tests::assigned_by(
        pb::AssignerKind::ViceChairman,
        "pct-hoang",
    ));

    let by_leader = system
        .client(Role::Leader) // pct-tran
        .await
        .assign_task(request.clone())
        .await
        .expect_err("not in their own name");
    let by_office = system.client(Role::Office).await.assign_task(request).await;

    assert_eq!(by_leader.code(), Code::PermissionDenied);
    assert!(
        by_office.is_ok(),
        "the Office records it on pct-hoang's behalf"
    );
}

#[tokio::test]
async fn every_server_describes_itself_through_reflection() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let system = TestSystem::spawn().await;
    for (port, expected) in [
        (system.assignment().port(), "dondoc.v1.AssignmentService"),
        (system.reporting().port(), "dondoc.v1.ReportingService"),
    ] {
        let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };

        let mut responses = ServerReflectionClient::new(channel)
            .server_reflection_info(futures::stream::iter([request]))
            .await
            .expect("reflection")
            .into_inner();
        let first = responses
            .message()
            .await
            .expect("a response")
            .expect("not empty");

        let Some(MessageResponse::ListServicesResponse(list)) = first.message_response else {
            panic!("expected a service list, got {first:?}");
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        assert!(names.iter().any(|n| n == expected), "{names:?}");
        assert!(
            names.iter().any(|n| n == "grpc.health.v1.Health"),
            "{names:?}"
        );
    }
}

#[tokio::test]
async fn only_the_issuing_leader_or_the_office_changes_a_task() {
    let system = TestSystem::spawn().await;
    let task = assign(&system, "Nhiệm vụ của PCT Trần").await; // issued by pct-tran
    let head = system.assignment().head_position().await.expect("head");
    let other_leader = system.mint(&dondoc_runtime::auth::Principal {
        subject: "pct-le".into(),
        role: Role::Leader,
        unit_code: None,
        leader_id: Some("pct-le".into()),
    });
    let coordinating_unit = system.mint(&system.principal_for_unit("STC"));

    let cancelled_by_other_leader = system
        .client_with_token(&other_leader)
        .await
        .cancel_task(pb::CancelTaskRequest {
            request_id: dondoc_tests::request_id(),
            task_id: task.task_id.clone(),
            reason: "Không phải của tôi".into(),
            expected_version: 0,
        })
        .await
        .expect_err("another leader");
    let extended_by_home_affairs = system
        .client(Role::HomeAffairs)
        .await
        .extend_deadline(pb::ExtendDeadlineRequest {
            request_id: dondoc_tests::request_id(),
            task_id: task.task_id.clone(),
            new_deadline: "2027-01-31".into(),
            reason: "x".into(),
            requested_on: String::new(),
            approved_by_leader_id: "pct-tran".into(),
            expected_version: 0,
        })
        .await
        .expect_err("Home Affairs gives opinions on discipline, not deadlines");
    let reassigned_by_coordinating_unit = system
        .client_with_token(&coordinating_unit)
        .await
        .reassign_task(pb::ReassignTaskRequest {
            request_id: dondoc_tests::request_id(),
            task_id: task.task_id.clone(),
            new_lead_unit: "STC".into(),
            new_coordinating_units: vec![],
            reason: "Chúng tôi làm chủ trì".into(),
            expected_version: 0,
        })
        .await
        .expect_err("a coordinating unit");

    assert_eq!(cancelled_by_other_leader.code(), Code::PermissionDenied);
    assert_eq!(extended_by_home_affairs.code(), Code::PermissionDenied);
    assert_eq!(
        reassigned_by_coordinating_unit.code(),
        Code::PermissionDenied
    );
    assert_eq!(
        system.assignment().head_position().await.expect("head"),
        head
    );
}

#[tokio::test]
async fn a_unit_token_names_its_unit_in_any_case() {
    let system = TestSystem::spawn().await;
    let task = assign(&system, "Nhiệm vụ của Sở Xây dựng").await;
    let lower_case = system.mint(&system.principal_for_unit("sxd"));

    let listed = system
        .client_with_token(&lower_case)
        .await
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .expect("list")
        .into_inner();

    assert_eq!(listed.tasks.len(), 1);
    assert_eq!(listed.tasks[0].task_id, task.task_id);
}

#[tokio::test]
async fn a_directory_version_overlapping_a_stored_one_is_refused_whole() {
    let system = TestSystem::spawn().await;
    let head = system.assignment().head_position().await.expect("head");
    // Two versions: a valid new one from 2027, and one that overlaps the 2019 directory.
    let file = r#"
[[directory]]
name = "Sửa đổi giữa kỳ"
valid_from = "2020-01-01"
valid_to = "2020-12-31"

[[directory.units]]
code = "VP"
kind = "office"
name_vi = "Văn phòng Ủy ban nhân dân thành phố"
name_en = "City People's Committee Office"
head_title_vi = "Chánh Văn phòng"
confidence = "known"
"#;

    let status = system
        .import_units(file)
        .await
        .expect_err("overlaps the 2019 directory");

    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("overlaps"),
        "{}",
        status.message()
    );
    assert_eq!(
        system.assignment().head_position().await.expect("head"),
        head
    );
}

#[tokio::test]
async fn a_retried_import_returns_its_first_answer() {
    let system = TestSystem::spawn().await;
    let mut office = system.client(Role::Office).await;
    let mut changed = dondoc_tests::SEED_UNITS.replace("Sở Y tế", "Sở Y tế thành phố");
    let request = |toml: &str| pb::ImportUnitsRequest {
        request_id: "import-2026-11".into(),
        toml: toml.to_owned(),
    };

    let first = office
        .import_units(request(&changed))
        .await
        .expect("import")
        .into_inner();
    let retry = office
        .import_units(request(&changed))
        .await
        .expect("retry")
        .into_inner();
    changed.push_str("\n# another file\n");
    let reused = office
        .import_units(request(&changed))
        .await
        .expect_err("same request_id, different file");

    assert_eq!(
        (first.directories_imported, first.directories_unchanged),
        (2, 0)
    );
    assert_eq!(retry, first);
    assert_eq!(reused.code(), Code::InvalidArgument);
}

async fn two_replicas_share_one_database(engine: Engine) {
    let Some(system) = TestSystem::spawn_on(engine).await else {
        return;
    };
    let replica = system.another_assignment_replica().await;
    let first = system.client(Role::Office).await;
    let mut second = system.client_of(&replica, Role::Office).await;

    // Both replicas take commands at once; both relays publish the shared log.
    let mut calls = Vec::new();
    for i in 0..10 {
        let mut client = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        calls.push(async move {
            client
                .assign_task(assignment_request(&format!("Nhiệm vụ {i}")))
                .await
        });
    }
    for call in futures::future::join_all(calls).await {
        call.expect("every command succeeds on either replica");
    }
    let listed_on_second = second
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .expect("list")
        .into_inner();

    let board = system
        .board_when("all ten tasks", |b| b.total_tasks == 10)
        .await;
    assert_eq!(board.events_applied, 10, "no event applied twice");
    let published = system.assignment().events_published() + replica.events_published();
    assert_eq!(
        published,
        13,
        "one relay at a time publishes: two directory versions, the leaders and ten tasks, \
         each once (first {}, second {})",
        system.assignment().events_published(),
        replica.events_published()
    );
    assert_eq!(
        listed_on_second.tasks.len(),
        10,
        "either replica lists every task"
    );
    let report = replica.verify().await.expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(
        report.events_checked, 13,
        "two directory versions, the leaders and ten tasks"
    );
    replica.stop().await;
}

#[tokio::test]
async fn two_replicas_of_the_assignment_service_share_one_database() {
    two_replicas_share_one_database(Engine::Sqlite).await;
}

#[tokio::test]
async fn two_replicas_of_the_assignment_service_share_one_database_on_postgres_too() {
    two_replicas_share_one_database(Engine::Postgres).await;
}

#[tokio::test]
async fn a_task_recorded_by_the_first_release_is_read_with_todays_schema() {
    use dondoc_eventsourcing::{
        Actor, AppendRequest, Database, EventMetadata, EventStore, ExpectedVersion, NewEvent,
        Upcasters,
    };

    let system = TestSystem::spawn().await;
    // What release 1 stored: dondoc.task.assigned v1, the issuer as free text; the frozen bytes
    // of the contracts' golden fixtures, never rebuilt from today's structs.
    #[derive(serde::Deserialize)]
    struct Fixtures {
        event: Vec<Fixture>,
    }
    #[derive(serde::Deserialize)]
    struct Fixture {
        name: String,
        payload_hex: String,
    }
    let fixtures: Fixtures = toml::from_str(include_str!(
        "../../../services/contracts/fixtures/assignment.toml"
    ))
    .expect("fixtures");
    let v1 = fixtures
        .event
        .into_iter()
        .find(|f| f.name == "task_assigned_v1")
        .expect("the v1 fixture");
    let task_id = "01880000-0000-7000-8000-000000000001";
    let old_release = EventStore::open(
        Database::connect(system.assignment_database_url())
            .await
            .expect("database"),
        "assignment",
        Upcasters::new(),
    )
    .await
    .expect("store");
    old_release
        .append(AppendRequest {
            stream_type: "task".into(),
            stream_id: task_id.to_string(),
            expected: ExpectedVersion::Exactly(0),
            events: vec![NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: "dondoc.task.assigned".into(),
                schema_version: 1,
                payload: hex::decode(v1.payload_hex).expect("hex"),
            }],
            metadata: EventMetadata {
                // 01:30 on 20 April 2023 in Hải Phòng.
                occurred_at: "2023-04-19T18:30:00Z".parse().expect("time"),
                actor: Actor {
                    subject: "office-clerk".into(),
                    role: "office".into(),
                    ..Actor::default()
                },
                correlation_id: String::new(),
                causation_id: String::new(),
                traceparent: String::new(),
            },
            idempotency: None,
        })
        .await
        .expect("plant a v1 event");

    let task = system
        .client(Role::Office)
        .await
        .get_task(pb::GetTaskRequest {
            task_id: task_id.to_string(),
        })
        .await
        .expect("a v1 task is readable")
        .into_inner();

    let issuer = task.issuer.expect("issuer");
    assert_eq!(issuer.kind, pb::IssuerKind::ViceChairman as i32);
    assert_eq!(issuer.leader_name, "Nguyễn Văn A");
    assert_eq!(
        task.assigned_on, "2023-04-20",
        "the business date it was recorded"
    );
    assert_eq!(task.deadline, "2023-05-30");
    assert_eq!(task.coordinating_units, ["STC", "STNMT"]);
    assert!(
        system
            .assignment()
            .verify()
            .await
            .expect("verify")
            .is_intact(),
        "the stored v1 row is untouched"
    );
}

#[tokio::test]
async fn process_diagnostics_answer_the_admin_only() {
    use dondoc_proto::v1::diagnostics_service_client::DiagnosticsServiceClient;
    let system = TestSystem::spawn().await;
    let diagnostics = |role| {
        let token = system.token(role);
        let port = system.assignment().port();
        async move {
            let channel =
                tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
                    .expect("endpoint")
                    .connect()
                    .await
                    .expect("connect");
            DiagnosticsServiceClient::with_interceptor(
                channel,
                dondoc_runtime::auth::BearerToken::new(token),
            )
        }
    };

    let stats = diagnostics(Role::Admin)
        .await
        .get_process_stats(pb::GetProcessStatsRequest {})
        .await
        .expect("the admin reads the stats")
        .into_inner();
    let refused = diagnostics(Role::Office)
        .await
        .set_statement_counting(pb::SetStatementCountingRequest { enabled: true })
        .await
        .expect_err("not the office");

    assert_eq!(
        stats.pid,
        std::process::id(),
        "the services run in the test process"
    );
    assert!(stats.cpu_micros > 0 && stats.peak_rss_bytes > 0);
    assert_eq!(refused.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_task_read_on_one_replica_shows_what_another_replica_just_changed() {
    let system = TestSystem::spawn().await;
    let replica = system.another_assignment_replica().await;
    let mut here = system.client(Role::Office).await;
    let mut there = system.client_of(&replica, Role::Office).await;
    let task = assign(&system, "Đọc ở bản sao này, sửa ở bản sao kia").await;
    let read_before = here
        .get_task(pb::GetTaskRequest {
            task_id: task.task_id.clone(),
        })
        .await
        .expect("read")
        .into_inner();

    there
        .extend_deadline(pb::ExtendDeadlineRequest {
            request_id: dondoc_tests::request_id(),
            task_id: task.task_id.clone(),
            new_deadline: "2027-01-31".into(),
            reason: "Chờ ý kiến của Bộ".into(),
            requested_on: String::new(),
            approved_by_leader_id: "pct-tran".into(),
            expected_version: 0,
        })
        .await
        .expect("extend on the other replica");
    let read_after = here
        .get_task(pb::GetTaskRequest {
            task_id: task.task_id,
        })
        .await
        .expect("read")
        .into_inner();

    assert_eq!(read_before.deadline, "2026-12-31");
    assert_eq!(read_after.deadline, "2027-01-31", "not an old copy");
    assert_eq!(read_after.version, read_before.version + 1);
}
