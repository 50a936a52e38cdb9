//! The discipline service with the others: a draft opened by policy from the escalation
//! ladder with evidence traceable to each service's log, once; the legal workflow with its
//! roles; the clocks of the regime valid on the day of detection; personal data read only by
//! those entitled, every read recorded.

use std::time::Duration;

use dondoc_discipline::handlers::policy::{POLICY, Rpc};
use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::{Principal, Role};
use dondoc_tests::{DisciplineClient, Engine, TestSystem, request_id};
use futures::StreamExt;
use prost::Message as _;
use tonic::Code;
use tonic_types::StatusExt;

use crate::escalation::{assign_due, day, evaluate, morning, unit};

fn chairman() -> Principal {
    Principal {
        subject: "ct-nguyen".into(),
        role: Role::Leader,
        unit_code: None,
        leader_id: Some("ct-nguyen".into()),
    }
}

fn reason_of(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

/// A system with the escalation and discipline services on SQLite, its clock on `start`.
async fn system_on(start: chrono::NaiveDate) -> TestSystem {
    system_with(Engine::Sqlite, start)
        .await
        .expect("SQLite is always there")
}

/// As [`system_on`] on `engine`; `None` when PostgreSQL is not configured.
async fn system_with(engine: Engine, start: chrono::NaiveDate) -> Option<TestSystem> {
    let mut system = TestSystem::spawn_on(engine).await?;
    system.clock.set(morning(start));
    system.start_escalation().await;
    system.start_discipline().await;
    Some(system)
}

/// Polls until the discipline service knows `unit` from the directory (its facts come over
/// NATS), so a case opened by hand gets the unit head's post.
async fn directory_known(system: &TestSystem) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !matches!(system.discipline().directory().backlog().await, Ok(0)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "directory never known"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn open_case(client: &mut DisciplineClient, detected_on: &str) -> pb::Case {
    client
        .open_case(pb::OpenCaseRequest {
            request_id: request_id(),
            target: Some(pb::CaseTarget {
                unit: "SXD".into(),
                group: "cong_chuc".into(),
                ..Default::default()
            }),
            detected_on: detected_on.into(),
            summary: "Chậm triển khai nhiệm vụ giải phóng mặt bằng".into(),
            task_ids: Vec::new(),
            evidence_event_ids: Vec::new(),
        })
        .await
        .expect("opened")
        .into_inner()
}

async fn cases_as(system: &TestSystem, principal: &Principal) -> Vec<pb::Case> {
    system
        .discipline_client_as(principal)
        .await
        .list_cases(pb::ListCasesRequest::default())
        .await
        .expect("list")
        .into_inner()
        .cases
}

async fn cases_when(
    system: &TestSystem,
    what: &str,
    done: impl Fn(&[pb::Case]) -> bool,
) -> Vec<pb::Case> {
    let mut office = system.discipline_client(Role::Office).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let cases = office
            .list_cases(pb::ListCasesRequest::default())
            .await
            .expect("list")
            .into_inner()
            .cases;
        if done(&cases) {
            return cases;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for cases: {what}; last seen {cases:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_task_escalated_to_the_chairman_opens_one_draft_with_evidence_from_each_log() {
    escalated_task_opens_one_draft_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_task_escalated_to_the_chairman_opens_one_draft_on_postgresql_too() {
    escalated_task_opens_one_draft_on(Engine::Postgres).await;
}

async fn escalated_task_opens_one_draft_on(engine: Engine) {
    let Some(mut system) = system_with(engine, day(2025, 12, 22)).await else {
        return;
    };
    system.start_progress().await;
    let task = assign_due(
        &system,
        "Báo cáo tiến độ giải phóng mặt bằng",
        "SXD",
        day(2025, 12, 31),
    )
    .await;
    system.execution_known(&task).await;
    let mut lead = system.progress_client_as(&unit("SXD")).await;
    lead.acknowledge_task(pb::AcknowledgeTaskRequest {
        request_id: request_id(),
        task_id: task.clone(),
        expected_version: 0,
    })
    .await
    .expect("acknowledged");
    lead.request_hand_off(pb::RequestHandOffRequest {
        request_id: request_id(),
        task_id: task.clone(),
        requested_unit: "STC".into(),
        reason: "Không thuộc lĩnh vực của Sở".into(),
    })
    .await
    .expect_err("a hand-off is refused, and recorded");
    system
        .watch_when(&task, "known", |w| w.deadline == "2025-12-31")
        .await;
    // A draft cites the evidence known when it is drafted: the refused hand-off (the task's
    // second execution event) has reached the discipline service before the ladder does.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while system.discipline().progress_evidence().stats().applied < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hand-off never arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // 15 January 2026: ten working days overdue, the Chairman is told.
    system.clock.set(morning(day(2026, 1, 15)));
    evaluate(&mut system.escalation_client(Role::Office).await).await;
    let cases = cases_when(&system, "a draft", |c| !c.is_empty()).await;

    assert_eq!(cases.len(), 1, "{cases:?}");
    let case = &cases[0];
    assert_eq!(case.opened_by, "policy");
    assert_eq!(case.state, "draft");
    assert_eq!(case.trigger_key, format!("escalation:{task}:2025-12-31"));
    let target = case.target.clone().expect("target");
    assert_eq!(target.unit, "SXD");
    assert_eq!(target.person_title, "Giám đốc Sở Xây dựng");
    assert_eq!(case.regime, "172/2025");
    assert_eq!(case.detected_on, "2026-01-15");
    // Every claim is an event of a log: the ladder's notices and the refused hand-off.
    let escalation_log = system
        .escalation()
        .store()
        .read_all_stored(0, 1000)
        .await
        .expect("escalation log");
    let mut expected: Vec<String> = escalation_log
        .iter()
        .filter(|e| e.stream_id == task && e.event_type == "dondoc.escalation.notice_issued")
        .filter(|e| {
            let n = pb::NoticeIssued::decode(e.payload.as_slice()).expect("notice");
            matches!(n.kind.as_str(), "overdue" | "escalation")
        })
        .map(|e| e.event_id.to_string())
        .collect();
    let progress_log = system
        .progress()
        .store()
        .read_all_stored(0, 1000)
        .await
        .expect("progress log");
    expected.extend(
        progress_log
            .iter()
            .filter(|e| e.event_type == "dondoc.execution.hand_off_refused")
            .map(|e| e.event_id.to_string()),
    );
    expected.sort();
    let mut cited: Vec<String> = case.evidence.iter().map(|e| e.event_id.clone()).collect();
    cited.sort();
    assert_eq!(cited, expected);
    assert_eq!(expected.len(), 4, "overdue, level 2, level 3, the hand-off");

    // Every escalation event delivered again, and the drafter run again: still one draft.
    let applied = system.discipline().escalation_evidence().stats().applied;
    let js = async_nats::jetstream::new(
        async_nats::connect(system.nats.url())
            .await
            .expect("connect"),
    );
    js.get_stream("DONDOC_ESCALATION")
        .await
        .expect("stream")
        .delete_consumer("discipline-escalation-evidence-v1")
        .await
        .expect("delete the durable consumer");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while system.discipline().escalation_evidence().stats().duplicates < applied {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never delivered again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        system
            .discipline()
            .handlers()
            .draft_pending()
            .await
            .expect("draft"),
        0
    );
    assert_eq!(
        cases_as(
            &system,
            &Principal {
                subject: "office-user".into(),
                role: Role::Office,
                unit_code: None,
                leader_id: None,
            }
        )
        .await
        .len(),
        1
    );
}

/// Calls `rpc` on `case_id` with a request valid but for the caller's rights.
async fn call(client: &mut DisciplineClient, rpc: Rpc, case_id: &str) -> Result<(), tonic::Status> {
    let case_id = case_id.to_owned();
    match rpc {
        Rpc::OpenCase => client
            .open_case(pb::OpenCaseRequest {
                request_id: request_id(),
                target: Some(pb::CaseTarget {
                    unit: "STC".into(),
                    group: "cong_chuc".into(),
                    ..Default::default()
                }),
                summary: "Chậm báo cáo".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::AmendCase => client
            .amend_case(pb::AmendCaseRequest {
                request_id: request_id(),
                case_id,
                summary: "Bổ sung".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::RecordHomeAffairsOpinion => client
            .record_home_affairs_opinion(pb::RecordHomeAffairsOpinionRequest {
                request_id: request_id(),
                case_id,
                agrees: true,
                opinion: "Đồng ý".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::SubmitToChairman => client
            .submit_to_chairman(pb::SubmitToChairmanRequest {
                request_id: request_id(),
                case_id,
                expected_version: 0,
            })
            .await
            .map(drop),
        Rpc::ExtendProcessing => client
            .extend_processing(pb::ExtendProcessingRequest {
                request_id: request_id(),
                case_id,
                expected_version: 0,
                reason: "Phức tạp".into(),
            })
            .await
            .map(drop),
        Rpc::DecideCase => client
            .decide_case(pb::DecideCaseRequest {
                request_id: request_id(),
                case_id,
                reasons: "Không".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::WithdrawCase => client
            .withdraw_case(pb::WithdrawCaseRequest {
                request_id: request_id(),
                case_id,
                reason: "Rút".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::GetCase => client
            .get_case(pb::GetCaseRequest { case_id })
            .await
            .map(drop),
        Rpc::ListCases => client
            .list_cases(pb::ListCasesRequest::default())
            .await
            .map(drop),
        Rpc::GetCaseAudit => client
            .get_case_audit(pb::GetCaseAuditRequest { case_id })
            .await
            .map(drop),
        Rpc::EvaluateCaseClocks => client
            .evaluate_case_clocks(pb::EvaluateCaseClocksRequest::default())
            .await
            .map(drop),
    }
}

#[tokio::test]
async fn every_rpc_refuses_exactly_the_roles_the_table_excludes_and_writes_nothing_then() {
    let system = system_on(day(2026, 1, 5)).await;
    directory_known(&system).await;
    let case = open_case(&mut system.discipline_client(Role::Office).await, "").await;
    let mut wrong = Vec::new();
    for rpc in Rpc::ALL {
        for role in Role::ALL {
            let mut client = system.discipline_client(role).await;
            let head_before = system
                .discipline()
                .store()
                .head_position()
                .await
                .expect("head");

            let result = call(&mut client, rpc, &case.case_id).await;

            let denied = matches!(&result, Err(s) if s.code() == Code::PermissionDenied
                && reason_of(s) == "ROLE_NOT_ALLOWED");
            let allowed = POLICY
                .iter()
                .any(|(r, roles)| *r == rpc && roles.contains(&role));
            if denied == allowed {
                wrong.push(format!("{rpc:?} by {role:?}: {result:?}"));
            }
            let head_after = system
                .discipline()
                .store()
                .head_position()
                .await
                .expect("head");
            if denied && head_after != head_before {
                wrong.push(format!("{rpc:?} by {role:?} was denied but wrote events"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "access table violated:\n{}",
        wrong.join("\n")
    );
}

#[tokio::test]
async fn the_workflow_runs_with_the_right_roles_and_a_decided_case_never_changes() {
    let system = system_on(day(2026, 1, 5)).await;
    directory_known(&system).await;
    let mut office = system.discipline_client(Role::Office).await;
    let case = open_case(&mut office, "").await;
    assert_eq!(case.regime, "172/2025");
    assert_eq!(
        case.target.clone().expect("target").person_title,
        "Giám đốc Sở Xây dựng"
    );
    let id = case.case_id.clone();

    let early = office
        .submit_to_chairman(pb::SubmitToChairmanRequest {
            request_id: request_id(),
            case_id: id.clone(),
            expected_version: 0,
        })
        .await
        .expect_err("no opinion yet");
    assert_eq!(reason_of(&early), "NO_HOME_AFFAIRS_OPINION");

    let opinion = system
        .discipline_client(Role::HomeAffairs)
        .await
        .record_home_affairs_opinion(pb::RecordHomeAffairsOpinionRequest {
            request_id: request_id(),
            case_id: id.clone(),
            expected_version: 0,
            agrees: true,
            recommended_form: "khien-trach".into(),
            opinion: "Sở Nội vụ thống nhất đề nghị hình thức khiển trách".into(),
            document: Some(pb::SourceDocument {
                number: "88".into(),
                symbol: "SNV-CCVC".into(),
                date: "2026-01-05".into(),
                summary: "Ý kiến về đề nghị xử lý kỷ luật".into(),
            }),
        })
        .await
        .expect("Home Affairs gives its opinion")
        .into_inner();
    assert_eq!(opinion.state, "opinion_given");
    office
        .submit_to_chairman(pb::SubmitToChairmanRequest {
            request_id: request_id(),
            case_id: id.clone(),
            expected_version: 0,
        })
        .await
        .expect("submitted");

    // A Vice-Chairman is a leader but not the one who decides.
    let head = system
        .discipline()
        .store()
        .head_position()
        .await
        .expect("head");
    let vice = system
        .discipline_client(Role::Leader)
        .await
        .decide_case(pb::DecideCaseRequest {
            request_id: request_id(),
            case_id: id.clone(),
            form: "khien-trach".into(),
            reasons: "x".into(),
            ..Default::default()
        })
        .await
        .expect_err("only the Chairman");
    assert_eq!(reason_of(&vice), "NOT_THE_CHAIRMAN");
    let mut chairman_client = system.discipline_client_as(&chairman()).await;
    let wrong_form = chairman_client
        .decide_case(pb::DecideCaseRequest {
            request_id: request_id(),
            case_id: id.clone(),
            form: "giang-chuc".into(),
            reasons: "Không còn hình thức này từ 01/7/2025".into(),
            ..Default::default()
        })
        .await
        .expect_err("abolished form");
    assert_eq!(reason_of(&wrong_form), "FORM_NOT_ALLOWED");
    assert_eq!(
        system
            .discipline()
            .store()
            .head_position()
            .await
            .expect("head"),
        head,
        "nothing written on refusal"
    );

    let decided = chairman_client
        .decide_case(pb::DecideCaseRequest {
            request_id: request_id(),
            case_id: id.clone(),
            expected_version: 0,
            form: "khien-trach".into(),
            reasons: "Chậm thực hiện nhiệm vụ được giao không có lý do chính đáng".into(),
            document: Some(pb::SourceDocument {
                number: "15".into(),
                symbol: "QĐ-UBND".into(),
                date: "2026-01-05".into(),
                summary: "Quyết định kỷ luật".into(),
            }),
        })
        .await
        .expect("the Chairman decides")
        .into_inner();
    assert_eq!(decided.state, "decided");
    assert_eq!(decided.decision.expect("decision").form, "khien-trach");

    let head = system
        .discipline()
        .store()
        .head_position()
        .await
        .expect("head");
    let amended = office
        .amend_case(pb::AmendCaseRequest {
            request_id: request_id(),
            case_id: id.clone(),
            summary: "Sửa sau quyết định".into(),
            ..Default::default()
        })
        .await
        .expect_err("decided");
    let withdrawn = office
        .withdraw_case(pb::WithdrawCaseRequest {
            request_id: request_id(),
            case_id: id.clone(),
            reason: "Rút".into(),
            ..Default::default()
        })
        .await
        .expect_err("decided");
    assert_eq!(reason_of(&amended), "CASE_CLOSED");
    assert_eq!(reason_of(&withdrawn), "CASE_CLOSED");
    assert_eq!(
        system
            .discipline()
            .store()
            .head_position()
            .await
            .expect("head"),
        head
    );
}

#[tokio::test]
async fn the_clock_warns_before_90_days_and_again_before_150_after_an_extension() {
    let system = system_on(day(2026, 1, 5)).await;
    directory_known(&system).await;
    let nats = async_nats::connect(system.nats.url())
        .await
        .expect("connect");
    let mut office_subject = nats
        .subscribe("dondoc.notify.office")
        .await
        .expect("subscribe");
    let mut office = system.discipline_client(Role::Office).await;
    let case = open_case(&mut office, "2026-01-05").await;
    assert_eq!(case.decide_by, "2026-04-05");
    let at = |date| pb::EvaluateCaseClocksRequest {
        as_of: Some(dondoc_proto::Timestamp {
            seconds: morning(date).timestamp(),
            nanos: 0,
        }),
    };

    let before = office
        .evaluate_case_clocks(at(day(2026, 3, 25)))
        .await
        .expect("evaluated")
        .into_inner()
        .warnings;
    let first = office
        .evaluate_case_clocks(at(day(2026, 3, 26)))
        .await
        .expect("evaluated")
        .into_inner()
        .warnings;
    let again = office
        .evaluate_case_clocks(at(day(2026, 3, 27)))
        .await
        .expect("evaluated")
        .into_inner()
        .warnings;
    office
        .extend_processing(pb::ExtendProcessingRequest {
            request_id: request_id(),
            case_id: case.case_id.clone(),
            expected_version: 0,
            reason: "Vụ việc phức tạp, cần xác minh thêm".into(),
        })
        .await
        .expect("extended");
    let extended_before = office
        .evaluate_case_clocks(at(day(2026, 5, 24)))
        .await
        .expect("evaluated")
        .into_inner()
        .warnings;
    let second = office
        .evaluate_case_clocks(at(day(2026, 5, 25)))
        .await
        .expect("evaluated")
        .into_inner()
        .warnings;

    assert!(before.is_empty());
    assert_eq!(
        first
            .iter()
            .map(|w| (w.limit_days, w.due_on.as_str(), w.days_left))
            .collect::<Vec<_>>(),
        vec![(90, "2026-04-05", 10)]
    );
    assert!(again.is_empty(), "{again:?}");
    assert!(extended_before.is_empty());

    // Both warnings reach the Office through the escalation service's channels.
    let mut escalation = system.escalation_client(Role::Office).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let notices = loop {
        evaluate(&mut escalation).await;
        let notices: Vec<pb::Notification> = escalation
            .list_notifications(pb::ListNotificationsRequest {
                task_id: format!("case-{}", case.case_id),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner()
            .notifications;
        if notices.len() == 2 {
            break notices;
        }
        assert!(tokio::time::Instant::now() < deadline, "{notices:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(notices.iter().all(|n| n.kind == "discipline_deadline"));
    assert!(
        notices[0].text.contains("05/04/2026") && notices[1].text.contains("04/06/2026"),
        "{notices:?}"
    );
    let on_nats = tokio::time::timeout(Duration::from_secs(30), office_subject.next())
        .await
        .expect("the Office's subject receives it")
        .expect("a message");
    assert_eq!(
        pb::Notification::decode(on_nats.payload)
            .expect("a Notification")
            .kind,
        "discipline_deadline"
    );
    // A unit's stream does not carry it: it names a case of personal data.
    let sxd = system
        .escalation_client_as(&unit("SXD"))
        .await
        .list_notifications(pb::ListNotificationsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .notifications;
    assert!(sxd.iter().all(|n| n.kind != "discipline_deadline"));
    assert_eq!(
        second
            .iter()
            .map(|w| (w.limit_days, w.due_on.as_str(), w.days_left))
            .collect::<Vec<_>>(),
        vec![(150, "2026-06-04", 10)]
    );
}

#[tokio::test]
async fn a_case_detected_before_the_2025_decree_uses_the_forms_valid_then() {
    let system = system_on(day(2026, 1, 5)).await;
    directory_known(&system).await;
    let mut office = system.discipline_client(Role::Office).await;

    let old = open_case(&mut office, "2025-06-20").await;
    let new = open_case(&mut office, "2025-07-01").await;

    assert_eq!(old.regime, "112/2020");
    assert!(old.allowed_forms.contains(&"giang-chuc".to_owned()));
    assert!(old.allowed_forms.contains(&"ha-bac-luong".to_owned()));
    assert_eq!(new.regime, "172/2025");
    assert!(!new.allowed_forms.contains(&"giang-chuc".to_owned()));
    let refused = office
        .open_case(pb::OpenCaseRequest {
            request_id: request_id(),
            target: Some(pb::CaseTarget {
                unit: "SXD".into(),
                group: "cong_chuc".into(),
                ..Default::default()
            }),
            detected_on: "2019-05-01".into(),
            summary: "Trước mọi quy định đã biết".into(),
            ..Default::default()
        })
        .await
        .expect_err("no regime then");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("detected_on"),
        "{}",
        refused.message()
    );
    // The shared text rules: no control character reaches a case.
    let control = office
        .open_case(pb::OpenCaseRequest {
            request_id: request_id(),
            target: Some(pb::CaseTarget {
                unit: "SXD".into(),
                group: "cong_chuc".into(),
                ..Default::default()
            }),
            summary: "Chậm triển khai\u{0}".into(),
            ..Default::default()
        })
        .await
        .expect_err("a NUL in the summary");
    assert_eq!(control.code(), Code::InvalidArgument);
    assert!(
        control.message().contains("summary"),
        "{}",
        control.message()
    );
}

#[tokio::test]
async fn a_unit_sees_only_that_its_cases_exist_and_every_read_is_recorded() {
    unit_sees_only_existence_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_unit_sees_only_that_its_cases_exist_on_postgresql_too() {
    unit_sees_only_existence_on(Engine::Postgres).await;
}

async fn unit_sees_only_existence_on(engine: Engine) {
    let Some(system) = system_with(engine, day(2026, 1, 5)).await else {
        return;
    };
    directory_known(&system).await;
    let case = open_case(&mut system.discipline_client(Role::Office).await, "").await;

    let sxd = system
        .discipline_client_as(&unit("SXD"))
        .await
        .get_case(pb::GetCaseRequest {
            case_id: case.case_id.clone(),
        })
        .await
        .expect("its own unit's case")
        .into_inner();
    let stc = system
        .discipline_client_as(&unit("STC"))
        .await
        .get_case(pb::GetCaseRequest {
            case_id: case.case_id.clone(),
        })
        .await
        .expect_err("another unit's case");
    let stc_list = cases_as(&system, &unit("STC")).await;
    let sxd_list = cases_as(&system, &unit("SXD")).await;
    let full = system
        .discipline_client(Role::HomeAffairs)
        .await
        .get_case(pb::GetCaseRequest {
            case_id: case.case_id.clone(),
        })
        .await
        .expect("Home Affairs reads it")
        .into_inner();
    let vice = system
        .discipline_client(Role::Leader)
        .await
        .get_case(pb::GetCaseRequest {
            case_id: case.case_id.clone(),
        })
        .await
        .expect("a Vice-Chairman learns it exists")
        .into_inner();

    assert!(sxd.redacted);
    assert_eq!(sxd.state, "draft");
    assert_eq!(sxd.summary, "");
    assert!(sxd.evidence.is_empty());
    assert_eq!(sxd.target.clone().expect("unit").person_title, "");
    assert_eq!(stc.code(), Code::NotFound);
    assert!(stc_list.is_empty());
    assert_eq!(sxd_list.len(), 1);
    assert!(sxd_list[0].redacted);
    assert!(!full.redacted);
    assert_eq!(full.summary, "Chậm triển khai nhiệm vụ giải phóng mặt bằng");
    assert!(
        vice.redacted,
        "only the Chairman among the leaders reads it"
    );

    let audit = system
        .discipline_client(Role::Office)
        .await
        .get_case_audit(pb::GetCaseAuditRequest {
            case_id: case.case_id.clone(),
        })
        .await
        .expect("audit")
        .into_inner();
    let reads: Vec<(String, String)> = audit
        .reads
        .iter()
        .map(|r| (r.subject.clone(), r.how.clone()))
        .collect();
    assert_eq!(
        reads,
        vec![
            ("sxd-officer".to_owned(), "GetCase".to_owned()),
            ("sxd-officer".to_owned(), "ListCases".to_owned()),
            ("home_affairs-user".to_owned(), "GetCase".to_owned()),
            ("pct-tran".to_owned(), "GetCase".to_owned()),
        ]
    );
    assert!(audit.reads.iter().all(|r| r.at.is_some()));
}

#[tokio::test]
async fn a_case_withdrawn_for_an_objective_cause_exempts_its_task_in_reporting() {
    let system = system_on(day(2026, 1, 5)).await;
    directory_known(&system).await;
    let task = assign_due(&system, "Di dời cột điện", "SXD", day(2026, 1, 30)).await;
    let mut office = system.discipline_client(Role::Office).await;
    let case = office
        .open_case(pb::OpenCaseRequest {
            request_id: request_id(),
            target: Some(pb::CaseTarget {
                unit: "SXD".into(),
                group: "cong_chuc".into(),
                ..Default::default()
            }),
            summary: "Chậm di dời cột điện".into(),
            task_ids: vec![task.clone()],
            ..Default::default()
        })
        .await
        .expect("opened")
        .into_inner();

    let withdrawn = office
        .withdraw_case(pb::WithdrawCaseRequest {
            request_id: request_id(),
            case_id: case.case_id.clone(),
            expected_version: 0,
            reason: "Nguyên nhân khách quan: chờ ngành điện cắt điện, đã được xác nhận".into(),
            objective_cause: true,
        })
        .await
        .expect("withdrawn")
        .into_inner();
    assert_eq!(withdrawn.state, "withdrawn");

    let mut reporting = system.reporting_client(Role::Office).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let exemptions = loop {
        let exemptions = reporting
            .list_timeliness_exemptions(pb::ListTimelinessExemptionsRequest::default())
            .await
            .expect("exemptions")
            .into_inner()
            .exemptions;
        if !exemptions.is_empty() {
            break exemptions;
        }
        assert!(tokio::time::Instant::now() < deadline, "never exempt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        exemptions
            .iter()
            .map(|e| (e.task_id.as_str(), e.unit.as_str(), e.case_id.as_str()))
            .collect::<Vec<_>>(),
        vec![(task.as_str(), "SXD", case.case_id.as_str())]
    );
    assert_eq!(exemptions[0].exempt_from, "2026-01-05");
    // The January report (15/12/2025 → 14/1/2026) counts the case: opened and withdrawn on
    // 5/1, none decided. (The withdrawal is applied with the exemption, in one event.)
    let cases = reporting
        .get_periodic_report(pb::GetPeriodicReportRequest {
            kind: "month".into(),
            year: 2026,
            index: 1,
            ..Default::default()
        })
        .await
        .expect("the January report")
        .into_inner()
        .cases
        .expect("cases");
    assert_eq!((cases.opened, cases.decided, cases.withdrawn), (1, 0, 1));
    // Another unit sees none of it.
    let stc = system
        .reporting_client(Role::Unit)
        .await
        .list_timeliness_exemptions(pb::ListTimelinessExemptionsRequest { unit: "STC".into() })
        .await
        .expect_err("a unit reads its own only");
    assert_eq!(stc.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn three_overdue_tasks_of_a_unit_in_one_reporting_period_open_one_draft() {
    let system = system_on(day(2025, 12, 22)).await;
    let mut tasks = Vec::new();
    for title in ["Báo cáo A", "Báo cáo B", "Báo cáo C"] {
        tasks.push(assign_due(&system, title, "SXD", day(2025, 12, 31)).await);
    }
    for task in &tasks {
        system
            .watch_when(task, "known", |w| w.deadline == "2025-12-31")
            .await;
    }

    // 5 January 2026: each is overdue (the period 15 December – 14 January, "2026-01").
    system.clock.set(morning(day(2026, 1, 5)));
    let mut escalation = system.escalation_client(Role::Office).await;
    evaluate(&mut escalation).await;
    evaluate(&mut escalation).await;
    let cases = cases_when(&system, "a draft for the unit", |c| !c.is_empty()).await;

    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0].trigger_key, "overdue:SXD:2026-01");
    let mut cited = cases[0].task_ids.clone();
    cited.sort();
    tasks.sort();
    assert_eq!(cited, tasks);
    assert_eq!(
        cases[0]
            .evidence
            .iter()
            .filter(|e| e.kind == "overdue_notice")
            .count(),
        3
    );
}
