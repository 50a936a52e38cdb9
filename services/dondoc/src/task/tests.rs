use super::*;
use crate::cli::{AssignerArg, ClassArg, OriginArg, PriorityArg, StatusArg};

fn date(text: &str) -> chrono::NaiveDate {
    text.parse().expect("valid test date")
}

fn at(rfc3339: &str) -> Option<dondoc_proto::Timestamp> {
    let t = rfc3339
        .parse::<chrono::DateTime<chrono::Utc>>()
        .expect("valid test instant");
    Some(dondoc_proto::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    })
}

fn assign_args() -> AssignArgs {
    AssignArgs {
        origin: OriginArg::Government,
        origin_body: None,
        origin_doc_number: Some("25".into()),
        origin_doc_symbol: Some("NQ-CP".into()),
        origin_doc_date: Some(date("2026-11-05")),
        origin_doc_summary: Some("Về nhiệm vụ, giải pháp chủ yếu".into()),
        assigner: AssignerArg::ViceChairman,
        leader: Some("pct-tran".into()),
        doc_number: "4521".into(),
        doc_symbol: "UBND-XD".into(),
        doc_date: date("2026-11-20"),
        doc_summary: "Về việc triển khai Nghị quyết 25/NQ-CP".into(),
        title: "Báo cáo".into(),
        content: None,
        lead: "SXD".into(),
        coordinate: vec!["STC".into()],
        deadline: Some(date("2026-12-31")),
        no_deadline: false,
        priority: PriorityArg::Urgent,
        historical_on: None,
        historical_reason: None,
        request_id: None,
    }
}

#[test]
fn assign_request_records_origin_and_assigner_apart() {
    let Assign::New(request) = assign_request(assign_args()) else {
        panic!("a new task, not an import");
    };

    let origin = request.origin.expect("origin");
    assert_eq!(origin.kind(), pb::OriginKind::Government);
    let origin_document = origin.document.expect("the Government's document");
    assert_eq!(origin_document.symbol, "NQ-CP");
    assert_eq!(origin_document.date, "2026-11-05");
    let assignment = request.assignment.expect("assignment");
    let assigner = assignment.assigner.expect("assigner");
    assert_eq!(assigner.kind(), pb::AssignerKind::ViceChairman);
    assert_eq!(assigner.leader_id, "pct-tran");
    assert_eq!(assignment.document.expect("city document").number, "4521");
    assert_eq!(request.issuer, None, "the first-release form is not sent");
    assert_eq!(request.term, Some(Term::Deadline("2026-12-31".into())));
    assert_eq!(
        request.content, "Báo cáo",
        "the title stands in for content"
    );
    let request_id = uuid::Uuid::parse_str(&request.request_id).expect("a UUID");
    assert_eq!(request_id.get_version_num(), 7);
}

#[test]
fn a_city_origin_carries_no_document_of_its_own() {
    let mut args = assign_args();
    args.origin = OriginArg::CityPeoplesCommittee;
    args.origin_doc_number = None;
    args.deadline = None;
    args.no_deadline = true;

    let Assign::New(request) = assign_request(args) else {
        panic!("a new task");
    };

    assert_eq!(request.origin.expect("origin").document, None);
    assert_eq!(request.term, Some(Term::NoDeadline(true)));
}

#[test]
fn a_historical_day_turns_the_assignment_into_an_import() {
    let mut args = assign_args();
    args.historical_on = Some(date("2024-03-01"));
    args.historical_reason = Some("Nhập sổ theo dõi năm 2024".into());
    args.request_id = Some("import-1".into());

    let Assign::Historical(request) = assign_request(args) else {
        panic!("an import");
    };

    assert_eq!(request.assigned_on, "2024-03-01");
    assert_eq!(request.reason, "Nhập sổ theo dõi năm 2024");
    assert_eq!(request.request_id, "import-1");
    assert_eq!(request.task.expect("the task").title, "Báo cáo");
}

#[test]
fn list_request_carries_class_day_origin_and_leader() {
    let request = list_request(ListTasksArgs {
        unit: None,
        status: Some(StatusArg::Assigned),
        class: Some(ClassArg::NearDue),
        as_of: Some(date("2026-12-26")),
        origin: Some(OriginArg::PrimeMinister),
        leader: Some("pct-tran".into()),
        deadline_from: None,
        deadline_to: None,
    });

    assert_eq!(request.deadline_class(), pb::DeadlineClass::NearDue);
    assert_eq!(request.as_of, "2026-12-26");
    assert_eq!(request.origin_kind(), pb::OriginKind::PrimeMinister);
    assert_eq!(request.assigner_leader_id, "pct-tran");
    assert_eq!(request.status(), pb::TaskStatus::Assigned);
    assert_eq!(request.unit, "");
    assert_eq!(request.deadline_from, "");
}

#[test]
fn decide_extension_request_names_the_leader_and_the_decision() {
    let request = decide_extension_request(DecideExtensionArgs {
        task_id: "t-1".into(),
        extension_id: "e-1".into(),
        approve: false,
        reject: true,
        deadline: None,
        reason: Some("Không có lý do chính đáng".into()),
        leader: Some("pct-tran".into()),
        change: Change {
            expected_version: Some(4),
            request_id: None,
        },
    });

    assert_eq!(request.decision(), pb::ExtensionDecision::Reject);
    assert_eq!(request.leader_id, "pct-tran");
    assert_eq!(request.expected_version, 4);
    assert_eq!(request.new_deadline, "");
}

#[test]
fn extend_request_keeps_the_request_day_and_the_approver() {
    let request = extend_request(ExtendArgs {
        task_id: "t-1".into(),
        deadline: date("2027-01-15"),
        reason: "Chờ ý kiến Bộ".into(),
        requested_on: Some(date("2026-12-31")),
        approved_by: Some("ct-nguyen".into()),
        change: Change {
            expected_version: None,
            request_id: Some("r-9".into()),
        },
    });

    assert_eq!(request.new_deadline, "2027-01-15");
    assert_eq!(request.requested_on, "2026-12-31");
    assert_eq!(request.approved_by_leader_id, "ct-nguyen");
    assert_eq!(request.request_id, "r-9");
    assert_eq!(request.expected_version, 0);
}

/// A task that has lived a little: from the Government, assigned by a Vice-Chairman, one
/// extension approved three days after it was asked for, one refused, a refused hand-off.
fn lived_task() -> pb::Task {
    pb::Task {
        task_id: "0193a1b2-task".into(),
        title: "Báo cáo tiến độ giải phóng mặt bằng".into(),
        content: "Báo cáo tiến độ giải phóng mặt bằng".into(),
        status: pb::TaskStatus::InProgress.into(),
        deadline_class: pb::DeadlineClass::InTerm.into(),
        priority: pb::Priority::Urgent.into(),
        origin: Some(pb::TaskOrigin {
            kind: pb::OriginKind::Government.into(),
            issuing_body: String::new(),
            document: Some(pb::SourceDocument {
                number: "25".into(),
                symbol: "NQ-CP".into(),
                date: "2026-11-05".into(),
                summary: "Về nhiệm vụ, giải pháp chủ yếu".into(),
            }),
        }),
        assignment: Some(pb::TaskAssignment {
            assigner: Some(pb::Assigner {
                kind: pb::AssignerKind::ViceChairman.into(),
                leader_id: "pct-tran".into(),
                leader_name: "Trần Văn B".into(),
            }),
            document: Some(pb::SourceDocument {
                number: "4521".into(),
                symbol: "UBND-XD".into(),
                date: "2026-11-20".into(),
                summary: "Về việc triển khai Nghị quyết 25/NQ-CP".into(),
            }),
        }),
        lead_unit: "SXD".into(),
        coordinating_units: vec!["STC".into(), "11560".into()],
        supervising_leader_id: "pct-tran".into(),
        deadline: "2027-01-15".into(),
        original_deadline: "2026-12-31".into(),
        deadline_history: vec![
            pb::DeadlineChange {
                deadline: "2026-12-31".into(),
                reason: "giao nhiệm vụ".into(),
                changed_at: at("2026-11-20T02:00:00Z"),
                changed_by: "office".into(),
                ..Default::default()
            },
            pb::DeadlineChange {
                deadline: "2027-01-15".into(),
                previous_deadline: "2026-12-31".into(),
                reason: "Chờ ý kiến Bộ Tài chính".into(),
                changed_at: at("2027-01-03T03:30:00Z"),
                changed_by: "office".into(),
                approved_by_leader_id: "pct-tran".into(),
                requested_on: "2026-12-31".into(),
                decided_on: "2027-01-03".into(),
                extension_id: "e-1".into(),
            },
        ],
        extension_requests: vec![
            pb::ExtensionRequest {
                extension_id: "e-1".into(),
                requested_on: "2026-12-31".into(),
                proposed_deadline: "2027-01-15".into(),
                reason: "Chờ ý kiến Bộ Tài chính".into(),
                requested_by_unit: "SXD".into(),
                state: pb::ExtensionState::Approved.into(),
                decided_on: "2027-01-03".into(),
                decided_by_leader_id: "pct-tran".into(),
                decision_reason: String::new(),
                new_deadline: "2027-01-15".into(),
            },
            pb::ExtensionRequest {
                extension_id: "e-2".into(),
                requested_on: "2027-01-10".into(),
                proposed_deadline: "2027-02-28".into(),
                reason: "Thiếu nhân lực".into(),
                requested_by_unit: "SXD".into(),
                state: pb::ExtensionState::Rejected.into(),
                decided_on: "2027-01-11".into(),
                decided_by_leader_id: "pct-tran".into(),
                decision_reason: "Không có lý do chính đáng".into(),
                new_deadline: String::new(),
            },
        ],
        refused_hand_offs: vec![pb::RefusedHandOff {
            lead_unit: "SXD".into(),
            requested_lead_unit: "STC".into(),
            reason_given: "Không thuộc chức năng".into(),
            attempted_at: at("2026-11-21T09:00:00Z"),
            attempted_by: "sxd-van-thu".into(),
        }],
        assigned_on: "2026-11-20".into(),
        assigned_at: at("2026-11-20T02:00:00Z"),
        assigned_by: "office".into(),
        version: 6,
        ..Default::default()
    }
}

fn names() -> Names {
    Names::from_lists(
        &[
            ("SXD", "Sở Xây dựng"),
            ("STC", "Sở Tài chính"),
            ("11560", "Phường Thủy Nguyên"),
        ],
        &[("pct-tran", "Trần Văn B")],
    )
}

fn render_task(ui: Ui) -> String {
    let mut out = Vec::new();
    write_task(&mut out, &lived_task(), &names(), ui).expect("writes");
    String::from_utf8(out).expect("utf-8")
}

fn english() -> Ui {
    Ui {
        lang: Lang::En,
        ..Ui::default()
    }
}

#[test]
fn a_task_reads_in_vietnamese_by_default() {
    insta::assert_snapshot!(render_task(Ui::default()));
}

#[test]
fn a_task_reads_in_english_on_request() {
    insta::assert_snapshot!(render_task(english()));
}

#[test]
fn a_task_as_json_is_the_same_in_both_languages() {
    let json = |lang| {
        render_task(Ui {
            lang,
            format: OutputFormat::Json,
        })
    };

    assert_eq!(json(Lang::Vi), json(Lang::En));
    insta::assert_snapshot!(json(Lang::Vi));
}

#[test]
fn a_task_list_shows_class_deadline_and_the_lead_unit_by_name() {
    let mut due = lived_task();
    due.task_id = "0193a1b2-due".into();
    due.deadline_class = pb::DeadlineClass::NearDue.into();
    due.lead_unit = "11560".into();
    due.title = "Rà soát đất công".into();
    let mut open = lived_task();
    open.task_id = "0193a1b2-open".into();
    open.deadline = String::new();
    open.deadline_class = pb::DeadlineClass::None.into();
    open.priority = pb::Priority::Normal.into();
    open.status = pb::TaskStatus::Assigned.into();
    let tasks = [lived_task(), due, open];
    let render = |ui| {
        let mut out = Vec::new();
        write_task_list(&mut out, &tasks, Some(date("2027-01-12")), &names(), ui).expect("writes");
        String::from_utf8(out).expect("utf-8")
    };

    insta::assert_snapshot!("task_list_vi", render(Ui::default()));
    insta::assert_snapshot!("task_list_en", render(english()));
}
