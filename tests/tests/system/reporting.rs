//! The periodic report through the whole system: tasks assigned, carried out and completed
//! on given days, the November 2026 report (15/10 – 14/11) read from the reporting service,
//! every figure written by hand; the same report after later events, and after a rebuild.

use std::time::Duration;

use chrono::Datelike as _;

use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::Role;
use dondoc_tests::{TestSystem, request_id};
use tonic::Code;

use crate::escalation::{assign_due, complete_task as complete, day, morning, unit};

/// How many events the reporting service must have applied to be up to date: those of the
/// assignment, progress and escalation logs it consumes, counted in the logs themselves.
async fn logged(system: &TestSystem) -> (u64, u64, u64, u64) {
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
        count(progress.clone(), &["execution"]),
        count(escalation, &["leadership-action"]),
        count(progress, &["register", "dossier"]),
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
    (tasks, completions, actions, documents): (u64, u64, u64, u64),
) -> pb::PeriodicReport {
    report_when(system, november(), (tasks, completions, actions, documents)).await
}

async fn report_when(
    system: &TestSystem,
    period: pb::GetPeriodicReportRequest,
    (tasks, completions, actions, documents): (u64, u64, u64, u64),
) -> pb::PeriodicReport {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let reporting = system.reporting();
        let caught_up = matches!(reporting.task_history().backlog().await, Ok(0))
            && matches!(reporting.completion_history().backlog().await, Ok(0))
            && matches!(reporting.leadership_actions().backlog().await, Ok(0))
            && reporting.task_history().stats().applied >= tasks
            && reporting.completion_history().stats().applied >= completions
            && reporting.leadership_actions().stats().applied >= actions
            && matches!(reporting.documents().backlog().await, Ok(0))
            && reporting.documents().stats().applied >= documents;
        if caught_up {
            return system
                .reporting_client(Role::Office)
                .await
                .get_periodic_report(period)
                .await
                .expect("the report")
                .into_inner();
        }
        assert!(tokio::time::Instant::now() < deadline, "never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A document for the register, dated `issued_on`, filed to `task_id` (empty: none).
fn register(task_id: &str, document_type: &str, issued_on: &str) -> pb::RegisterDocumentRequest {
    pb::RegisterDocumentRequest {
        request_id: request_id(),
        document_type: document_type.into(),
        issuer_number: "152".into(),
        symbol: "UBND-VP".into(),
        issued_on: issued_on.into(),
        summary: "Về tiến độ thực hiện nhiệm vụ".into(),
        issuing_body: "Sở Xây dựng".into(),
        signer: "Giám đốc Sở".into(),
        urgency: pb::Priority::Normal as i32,
        secrecy: pb::Secrecy::Normal as i32,
        task_id: task_id.to_owned(),
        file_name: "van-ban.txt".into(),
        media_type: "text/plain".into(),
        content: format!("Văn bản {document_type} {}", uuid::Uuid::now_v7()).into_bytes(),
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
    // Started again now that the progress service runs, so it can issue reports to its
    // outgoing register; once the first has applied everything so far, so the new one's
    // counts start from there.
    let base = logged(&system).await;
    november_when(&system, base).await;
    system.start_reporting().await;
    let since =
        |(t, w, a, d): (u64, u64, u64, u64)| (t - base.0, w - base.1, a - base.2, d - base.3);

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
    system.clock.set(morning(day(2026, 11, 4)));
    let mut office = system.progress_client(Role::Office).await;
    office
        .register_incoming_document(register(&a, "Báo cáo", "2026-11-04"))
        .await
        .expect("an incoming document on 4/11");
    system.clock.set(morning(day(2026, 11, 5)));
    complete(&system, &a, "SXD").await;
    // On 6/11 the Office closes B's dossier and sends a letter: A has ended too, but its
    // dossier stays open past the cut-off.
    system.clock.set(morning(day(2026, 11, 6)));
    office
        .close_dossier(pb::CloseDossierRequest {
            request_id: request_id(),
            task_id: b.clone(),
        })
        .await
        .expect("B's dossier closed");
    office
        .register_outgoing_document(register("", "Công văn", "2026-11-06"))
        .await
        .expect("an outgoing letter on 6/11");
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

    let report = november_when(&system, since(logged(&system).await)).await;

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
    let documents = report.documents.clone().expect("documents");
    assert_eq!(
        (
            documents.incoming,
            documents.outgoing,
            documents.incoming_year_to_date,
            documents.outgoing_year_to_date
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        documents.outgoing_by_type,
        [("Công văn".to_owned(), 1)].into_iter().collect()
    );
    assert_eq!(
        (
            documents.dossiers_closed,
            documents.dossiers_archived,
            documents.dossiers_awaiting_close
        ),
        (1, 0, 1)
    );
    // The trend: five empty months, then November's own figures.
    let trend: Vec<(&str, u64, u64, u64)> = report
        .trend
        .iter()
        .map(|p| (p.title.as_str(), p.assigned, p.completed_on_time, p.overdue))
        .collect();
    assert_eq!(
        trend,
        vec![
            ("T6/2026", 0, 0, 0),
            ("T7/2026", 0, 0, 0),
            ("T8/2026", 0, 0, 0),
            ("T9/2026", 0, 0, 0),
            ("T10/2026", 0, 0, 0),
            ("T11/2026", 4, 1, 1),
        ]
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

    // A unit reads its own scorecard and overdue tasks: STC's B was late (75), E overdue.
    let mut stc_reader = system.reporting_client_as(&unit("STC")).await;
    let card = stc_reader
        .get_unit_scorecard(pb::GetUnitScorecardRequest {
            period: Some(november()),
            unit: String::new(),
        })
        .await
        .expect("STC's scorecard")
        .into_inner();
    let score = card.score.expect("a score");
    assert_eq!(
        (
            card.unit.as_str(),
            card.name.as_str(),
            score.on_time,
            score.late,
            score.timeliness_pct
        ),
        ("STC", "Sở Tài chính", 0, 1, 75.0)
    );
    assert_eq!(card.year_to_date.expect("ytd").rank, 2);
    assert_eq!(
        card.overdue
            .iter()
            .map(|o| o.task_id.as_str())
            .collect::<Vec<_>>(),
        vec![e.as_str()]
    );
    let overdue = stc_reader
        .list_overdue(pb::ListOverdueRequest {
            unit: String::new(),
            as_of: "2026-11-14".into(),
        })
        .await
        .expect("STC's overdue tasks")
        .into_inner();
    assert_eq!(
        overdue
            .tasks
            .iter()
            .map(|o| (
                o.task_id.as_str(),
                o.lead_unit_name.as_str(),
                o.working_days_overdue
            ))
            .collect::<Vec<_>>(),
        vec![(e.as_str(), "Sở Tài chính", 1)]
    );
    let sxd_overdue = system
        .reporting_client_as(&unit("SXD"))
        .await
        .list_overdue(pb::ListOverdueRequest {
            unit: String::new(),
            as_of: "2026-11-14".into(),
        })
        .await
        .expect("SXD's overdue tasks")
        .into_inner();
    assert!(sxd_overdue.tasks.is_empty(), "{sxd_overdue:?}");

    // On 16/11 the Office issues the November report: the outgoing register gives it the
    // next number after the letter of 6/11, and keeps the HTML by its hash.
    system.clock.set(morning(day(2026, 11, 16)));
    let issue = pb::IssueReportRequest {
        request_id: request_id(),
        period: Some(november()),
        symbol: "BC-VP".into(),
        letterhead: Some(pb::Letterhead {
            signer_name: "Nguyễn Văn A".into(),
            ..Default::default()
        }),
    };
    let issued = system
        .reporting_client(Role::Office)
        .await
        .issue_report(issue.clone())
        .await
        .expect("issued")
        .into_inner();
    assert_eq!(
        (
            issued.document_id.as_str(),
            issued.number_label.as_str(),
            issued.issued_on.as_str()
        ),
        ("outgoing-2026-2", "02/BC-VP", "2026-11-16")
    );
    assert_eq!(issued.report.as_ref(), Some(&report));
    let again = system
        .reporting_client(Role::Office)
        .await
        .issue_report(issue)
        .await
        .expect("a retry answers the first issue")
        .into_inner();
    assert_eq!(again, issued);
    let registered = office
        .get_document(pb::GetDocumentRequest {
            document_id: issued.document_id.clone(),
        })
        .await
        .expect("the issued report in the register")
        .into_inner();
    assert_eq!(registered.sha256, issued.sha256);
    let html = String::from_utf8(registered.content).expect("utf-8");
    assert!(html.contains("BÁO CÁO"), "{html}");
    assert!(html.contains("Nguyễn Văn A"));

    // Later events belong to later reports: direction on 16/11 and E completed on 20/11, a
    // task assigned on 25/11, and on 26/11 a task assigned on 5/11 brought in from the paper
    // register — a fact of the closed November, flagged in December's report.
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
    system.clock.set(morning(day(2026, 11, 26)));
    let mut paper = dondoc_tests::assignment_request("Rà soát hồ sơ đất đai");
    paper.term = Some(pb::assign_task_request::Term::Deadline("2026-11-30".into()));
    if let Some(doc) = paper.assignment.as_mut().and_then(|a| a.document.as_mut()) {
        doc.date = "2026-11-05".into();
    }
    let imported = system
        .client(Role::Office)
        .await
        .import_historical_task(pb::ImportHistoricalTaskRequest {
            request_id: request_id(),
            task: Some(paper),
            assigned_on: "2026-11-05".into(),
            reason: "Nhập sổ theo dõi giấy".into(),
        })
        .await
        .expect("imported")
        .into_inner()
        .task_id;
    let later = november_when(&system, since(logged(&system).await)).await;
    assert_eq!(later, report, "a closed period does not change");
    // The import's own time is the wall clock's (the event store records it), so the report
    // that flags it is the one whose window holds today.
    let today = dondoc_eventsourcing::clock::business_date(chrono::Utc::now());
    let (year, month) = if today.day() >= 15 {
        if today.month() == 12 {
            (today.year() + 1, 1)
        } else {
            (today.year(), today.month() + 1)
        }
    } else {
        (today.year(), today.month())
    };
    let flagging = report_when(
        &system,
        pb::GetPeriodicReportRequest {
            kind: "month".into(),
            year,
            index: month,
            ..Default::default()
        },
        since(logged(&system).await),
    )
    .await;
    let today = today.to_string();
    assert_eq!(
        flagging
            .late
            .iter()
            .map(|l| (
                l.task_id.as_str(),
                l.what.as_str(),
                l.effective_on.as_str(),
                l.known_on.as_str()
            ))
            .collect::<Vec<_>>(),
        vec![(imported.as_str(), "assigned", "2026-11-05", today.as_str())]
    );
    let listed = system
        .reporting_client(Role::Leader)
        .await
        .list_issued_reports(pb::ListIssuedReportsRequest {})
        .await
        .expect("issued reports")
        .into_inner()
        .reports;
    assert_eq!(
        listed,
        vec![issued.clone()],
        "the issued report does not change"
    );

    // Rebuilt from the streams by an administrator: the call answers once every read model
    // has caught up, and the report is the same.
    let (tasks, work, actions, documents) = logged(&system).await;
    let rebuilt = system
        .reporting_client(Role::Admin)
        .await
        .rebuild_projections(pb::RebuildProjectionsRequest {})
        .await
        .expect("rebuilt")
        .into_inner();
    let applied: std::collections::BTreeMap<String, u64> = rebuilt
        .read_models
        .into_iter()
        .map(|r| (r.name, r.events_applied))
        .collect();
    assert!(
        applied.get("reporting-task-history-v1") >= Some(&tasks)
            && applied.get("reporting-completion-history-v1") >= Some(&work)
            && applied.get("reporting-leadership-actions-v1") >= Some(&actions)
            && applied.get("reporting-documents-v1") >= Some(&documents),
        "{applied:?}"
    );
    let rebuilt = system
        .reporting_client(Role::Office)
        .await
        .get_periodic_report(november())
        .await
        .expect("the report")
        .into_inner();
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
        let own_scorecard = client
            .get_unit_scorecard(pb::GetUnitScorecardRequest {
                period: Some(november()),
                unit: "SXD".into(),
            })
            .await;
        let other_scorecard = client
            .get_unit_scorecard(pb::GetUnitScorecardRequest {
                period: Some(november()),
                unit: "STC".into(),
            })
            .await;
        let own_overdue = client
            .list_overdue(pb::ListOverdueRequest {
                unit: "SXD".into(),
                as_of: String::new(),
            })
            .await;
        let all_overdue = client.list_overdue(pb::ListOverdueRequest::default()).await;
        let rendered = client
            .render_report(pb::RenderReportRequest {
                period: Some(november()),
                format: "md".into(),
                letterhead: None,
            })
            .await;
        let issued = client
            .list_issued_reports(pb::ListIssuedReportsRequest {})
            .await;
        // Issuing needs the progress service, which this system does not run: a role allowed
        // to issue gets past the permission check and is told what is missing.
        let issue = client
            .issue_report(pb::IssueReportRequest {
                request_id: request_id(),
                period: Some(november()),
                symbol: "BC-VP".into(),
                letterhead: None,
            })
            .await;
        // A unit (SXD here) reads its own board, exemptions, scorecard and overdue tasks,
        // never another unit's nor the city's report; every other role reads everything.
        // Only the Office issues reports; only administrators rebuild read models (the
        // rebuild itself is exercised in the November test).
        let unit = role == Role::Unit;
        if role != Role::Admin {
            let rebuild = client
                .rebuild_projections(pb::RebuildProjectionsRequest {})
                .await;
            if !denied(rebuild.err()) {
                wrong.push(format!("rebuild by {role:?} was not denied"));
            }
        }
        let issue_denied = denied(issue.as_ref().err().cloned());
        if role == Role::Office
            && issue.as_ref().err().map(|s| s.code()) != Some(Code::FailedPrecondition)
        {
            wrong.push(format!("issue by the Office without progress: {issue:?}"));
        }
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
            ("own scorecard", denied(own_scorecard.err()), false),
            (
                "another unit's scorecard",
                denied(other_scorecard.err()),
                unit,
            ),
            ("own overdue tasks", denied(own_overdue.err()), false),
            ("all overdue tasks", denied(all_overdue.err()), false),
            ("rendered report", denied(rendered.err()), unit),
            ("issued reports", denied(issued.err()), unit),
            ("issue a report", issue_denied, role != Role::Office),
        ] {
            if result_denied != expected_denied {
                wrong.push(format!("{what} by {role:?}: denied = {result_denied}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
