//! The periodic report through the whole system: tasks assigned, carried out and completed
//! on given days, the November 2026 report (15/10 – 14/11) read from the reporting service,
//! every figure written by hand; the same report after later events, and after a rebuild.

use std::time::Duration;

use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::Role;
use dondoc_tests::{TestSystem, request_id};
use tonic::Code;

use crate::escalation::{assign_due, complete_task as complete, day, morning, unit};

/// How many events the reporting service must have applied to be up to date: those of the
/// assignment, progress and escalation logs it consumes, counted in the logs themselves.
async fn logged(system: &TestSystem) -> (u64, u64, u64) {
    let count = |log: Vec<dondoc_eventsourcing::RecordedEvent>, types: &[&str]| {
        log.iter()
            .filter(|e| types.contains(&e.stream_type.as_str()))
            .count() as u64
    };
    let assignment = system
        .assignment()
        .store()
        .read_all_stored(0, 100_000)
        .await
        .expect("assignment log");
    let progress = system
        .progress()
        .store()
        .read_all_stored(0, 100_000)
        .await
        .expect("progress log");
    let escalation = system
        .escalation()
        .store()
        .read_all_stored(0, 100_000)
        .await
        .expect("escalation log");
    (
        count(assignment, &["task", "directory", "leaders"]),
        count(progress, &["execution"]),
        count(escalation, &["leadership-action"]),
    )
}

fn november() -> pb::GetPeriodicReportRequest {
    pb::GetPeriodicReportRequest {
        kind: "month".into(),
        year: 2026,
        index: 11,
        ..Default::default()
    }
}

/// The November report once the reporting service has applied at least this many events of
/// the assignment stream, the progress stream and the leadership actions (a backlog of zero
/// alone is not enough: an event may not have been relayed to JetStream yet).
async fn november_when(
    system: &TestSystem,
    tasks: u64,
    completions: u64,
    actions: u64,
) -> pb::PeriodicReport {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let reporting = system.reporting();
        let caught_up = matches!(reporting.task_history().backlog().await, Ok(0))
            && matches!(reporting.completion_history().backlog().await, Ok(0))
            && matches!(reporting.leadership_actions().backlog().await, Ok(0))
            && reporting.task_history().stats().applied >= tasks
            && reporting.completion_history().stats().applied >= completions
            && reporting.leadership_actions().stats().applied >= actions;
        if caught_up {
            return system
                .reporting_client(Role::Office)
                .await
                .get_periodic_report(november())
                .await
                .expect("the report")
                .into_inner();
        }
        assert!(tokio::time::Instant::now() < deadline, "never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn counts(f: Option<&pb::ReportFigures>) -> [u64; 8] {
    let f = f.expect("figures");
    [
        f.assigned,
        f.completed_on_time,
        f.completed_late,
        f.completed_no_deadline,
        f.in_progress_within_term,
        f.in_progress_no_deadline,
        f.overdue,
        f.cancelled,
    ]
}

#[tokio::test]
async fn the_november_report_holds_the_figures_written_by_hand_whenever_it_is_made() {
    let mut system = TestSystem::spawn().await;
    system.start_progress().await;
    system.start_escalation().await;

    system.clock.set(morning(day(2026, 10, 20)));
    let a = assign_due(
        &system,
        "Báo cáo giải phóng mặt bằng",
        "SXD",
        day(2026, 11, 10),
    )
    .await;
    system.clock.set(morning(day(2026, 10, 21)));
    let mut government = dondoc_tests::assignment_request("Triển khai Nghị quyết 25/NQ-CP");
    government.lead_unit = "STC".into();
    government.coordinating_units = Vec::new();
    government.origin = Some(pb::TaskOrigin {
        kind: pb::OriginKind::Government as i32,
        issuing_body: String::new(),
        document: Some(pb::SourceDocument {
            number: "25".into(),
            symbol: "NQ-CP".into(),
            date: "2026-10-19".into(),
            summary: "Về nhiệm vụ, giải pháp thúc đẩy tăng trưởng".into(),
        }),
    });
    if let Some(doc) = government
        .assignment
        .as_mut()
        .and_then(|a| a.document.as_mut())
    {
        doc.date = "2026-10-21".into();
    }
    government.term = Some(pb::assign_task_request::Term::Deadline("2026-10-30".into()));
    let b = system
        .client(Role::Office)
        .await
        .assign_task(government)
        .await
        .expect("assign the Government's task")
        .into_inner()
        .task_id;
    system.clock.set(morning(day(2026, 11, 1)));
    let e = assign_due(&system, "Thẩm định dự toán", "STC", day(2026, 11, 12)).await;
    system.clock.set(morning(day(2026, 11, 2)));
    let mut open_ended = dondoc_tests::assignment_request("Theo dõi thị trường vật liệu");
    open_ended.term = Some(pb::assign_task_request::Term::NoDeadline(true));
    if let Some(doc) = open_ended
        .assignment
        .as_mut()
        .and_then(|a| a.document.as_mut())
    {
        doc.date = "2026-11-02".into();
    }
    system
        .client(Role::Office)
        .await
        .assign_task(open_ended)
        .await
        .expect("assign without a deadline");
    system.clock.set(morning(day(2026, 11, 3)));
    complete(&system, &b, "STC").await;
    system.clock.set(morning(day(2026, 11, 5)));
    complete(&system, &a, "SXD").await;
    // A criticism on 10/11; a difficulty on E on Wednesday 11/11 that nobody directs by 14/11.
    system.clock.set(morning(day(2026, 11, 10)));
    system
        .escalation_client(Role::Office)
        .await
        .record_leadership_action(pb::RecordLeadershipActionRequest {
            request_id: request_id(),
            kind: "criticism".into(),
            leader_id: "ct-nguyen".into(),
            units: vec!["STC".into()],
            task_ids: vec![e.clone()],
            document: Some(pb::SourceDocument {
                number: "301".into(),
                symbol: "TB-UBND".into(),
                date: "2026-11-10".into(),
                summary: "Phê bình Sở Tài chính chậm thẩm định".into(),
            }),
            note: String::new(),
        })
        .await
        .expect("criticism recorded");
    system.clock.set(morning(day(2026, 11, 11)));
    system.execution_known(&e).await;
    let mut stc = system.progress_client_as(&unit("STC")).await;
    stc.acknowledge_task(pb::AcknowledgeTaskRequest {
        request_id: request_id(),
        task_id: e.clone(),
        expected_version: 0,
    })
    .await
    .expect("acknowledged");
    let difficulty = stc
        .report_difficulty(pb::ReportDifficultyRequest {
            request_id: request_id(),
            task_id: e.clone(),
            description: "Chưa có đơn giá định mức".into(),
            proposed_solution: "Áp dụng đơn giá năm trước".into(),
            expected_version: 0,
        })
        .await
        .expect("difficulty reported")
        .into_inner()
        .difficulties
        .last()
        .expect("one")
        .difficulty_id
        .clone();

    let (tasks, work, actions) = logged(&system).await;
    let report = november_when(&system, tasks, work, actions).await;

    assert_eq!(report.title, "tháng 11 năm 2026");
    assert_eq!(
        (report.from.as_str(), report.to.as_str()),
        ("2026-10-15", "2026-11-14")
    );
    let all = report.all.expect("all");
    // A on time, B late, the open-ended task in progress, E overdue since 13/11.
    assert_eq!(counts(all.period.as_ref()), [4, 1, 1, 0, 0, 1, 1, 0]);
    let period = all.period.expect("period");
    assert_eq!(period.overdue_pct_of_all, 25.0);
    assert_eq!(period.overdue_pct_of_with_deadline, 33.33);
    assert_eq!(counts(all.year_to_date.as_ref()), [4, 1, 1, 0, 0, 1, 1, 0]);
    assert_eq!(counts(all.previous_period.as_ref()), [0; 8]);
    let central = report.central.expect("central");
    assert_eq!(counts(central.period.as_ref()), [1, 0, 1, 0, 0, 0, 0, 0]);
    let units: Vec<(&str, &str, bool, f64, u32)> = report
        .units
        .iter()
        .map(|r| {
            (
                r.key.as_str(),
                r.name.as_str(),
                r.has_rate,
                r.on_time_rate,
                r.rank,
            )
        })
        .collect();
    assert_eq!(
        units,
        vec![
            ("SXD", "Sở Xây dựng", true, 100.0, 1),
            ("STC", "Sở Tài chính", true, 0.0, 2),
        ]
    );
    assert_eq!(
        report
            .overdue
            .iter()
            .map(|o| (
                o.task_id.as_str(),
                o.deadline.as_str(),
                o.working_days_overdue
            ))
            .collect::<Vec<_>>(),
        vec![(e.as_str(), "2026-11-12", 1)]
    );

    assert_eq!(
        report
            .difficulties
            .iter()
            .map(|d| (d.task_id.as_str(), d.working_days_waiting))
            .collect::<Vec<_>>(),
        vec![(e.as_str(), 2)]
    );
    let actions = report.actions.expect("actions");
    assert_eq!(
        (actions.reminders, actions.criticisms, actions.commendations),
        (0, 1, 0)
    );
    // Timeliness: SXD's A on time (100), STC's B late (75).
    assert_eq!(
        report
            .scorecard
            .iter()
            .map(|s| (s.unit.as_str(), s.on_time, s.late, s.timeliness_pct))
            .collect::<Vec<_>>(),
        vec![("STC", 0, 1, 75.0), ("SXD", 1, 0, 100.0)]
    );

    // Later events belong to later reports: direction on 16/11 and E completed on 20/11, a
    // task assigned on 25/11.
    system.clock.set(morning(day(2026, 11, 16)));
    system
        .progress_client_as(&dondoc_runtime::auth::Principal {
            subject: "pct-tran".into(),
            role: Role::Leader,
            unit_code: None,
            leader_id: Some("pct-tran".into()),
        })
        .await
        .give_direction(pb::GiveDirectionRequest {
            request_id: request_id(),
            task_id: e.clone(),
            difficulty_id: difficulty,
            direction: "Áp dụng đơn giá năm trước".into(),
            expected_version: 0,
        })
        .await
        .expect("directed");
    system.clock.set(morning(day(2026, 11, 20)));
    let submitted = stc
        .submit_result(pb::SubmitResultRequest {
            request_id: request_id(),
            task_id: e.clone(),
            summary: "Đã thẩm định".into(),
            expected_version: 0,
            documents: Vec::new(),
        })
        .await
        .expect("submitted")
        .into_inner();
    system
        .progress_client(Role::Office)
        .await
        .review_result(pb::ReviewResultRequest {
            request_id: request_id(),
            task_id: e.clone(),
            submission_id: submitted
                .submissions
                .last()
                .expect("one")
                .submission_id
                .clone(),
            accept: true,
            note: String::new(),
            expected_version: 0,
        })
        .await
        .expect("accepted");
    system.clock.set(morning(day(2026, 11, 25)));
    assign_due(&system, "Báo cáo tháng 12", "SXD", day(2026, 12, 10)).await;
    let (tasks, work, actions) = logged(&system).await;
    let later = november_when(&system, tasks, work, actions).await;
    assert_eq!(later, report, "a closed period does not change");

    // Rebuilt from the streams: the same report, once every event has been applied again.
    let before = (
        system.reporting().task_history().stats().applied,
        system.reporting().completion_history().stats().applied,
        system.reporting().leadership_actions().stats().applied,
    );
    system
        .reporting()
        .rebuild_projections()
        .await
        .expect("rebuild");
    let rebuilt = november_when(&system, 2 * before.0, 2 * before.1, 2 * before.2).await;
    assert_eq!(rebuilt, report);

    let refused = system
        .reporting_client(Role::Unit)
        .await
        .get_periodic_report(november())
        .await
        .expect_err("a unit reads its scorecard, not the city's report");
    assert_eq!(refused.code(), Code::PermissionDenied);
}

fn denied(error: Option<tonic::Status>) -> bool {
    error.is_some_and(|s| s.code() == Code::PermissionDenied)
}

#[tokio::test]
async fn each_role_reads_what_reporting_allows_it() {
    let system = TestSystem::spawn().await;
    let mut wrong = Vec::new();
    for role in Role::ALL {
        let mut client = system.reporting_client(role).await;
        let board = client
            .get_task_board(pb::GetTaskBoardRequest::default())
            .await;
        let other_unit_board = client
            .get_task_board(pb::GetTaskBoardRequest { unit: "STC".into() })
            .await;
        let report = client.get_periodic_report(november()).await;
        let exemptions = client
            .list_timeliness_exemptions(pb::ListTimelinessExemptionsRequest::default())
            .await;
        let other_unit_exemptions = client
            .list_timeliness_exemptions(pb::ListTimelinessExemptionsRequest { unit: "STC".into() })
            .await;
        // A unit (SXD here) reads its own board and exemptions, never another unit's nor the
        // city's report; every other role reads everything.
        let unit = role == Role::Unit;
        for (what, result_denied, expected_denied) in [
            ("board", denied(board.err()), false),
            ("another unit's board", denied(other_unit_board.err()), unit),
            ("periodic report", denied(report.err()), unit),
            ("exemptions", denied(exemptions.err()), false),
            (
                "another unit's exemptions",
                denied(other_unit_exemptions.err()),
                unit,
            ),
        ] {
            if result_denied != expected_denied {
                wrong.push(format!("{what} by {role:?}: denied = {result_denied}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
