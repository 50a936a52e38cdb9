//! The assignment service as the City People's Committee Office lives it: where a task comes
//! from and who assigned it, leaders as data, extensions judged by the day they were asked
//! for, deadline classes, the 2025 communes, and refusals that say why in Vietnamese.

use chrono::{DateTime, NaiveDate, Utc};
use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::{Principal, Role};
use dondoc_tests::{
    AssignmentClient, TestSystem, assigned_by, assignment_request, city_document, request_id,
};
use tonic::Code;
use tonic_types::StatusExt;

fn day(iso: &str) -> NaiveDate {
    iso.parse().expect("valid test date")
}

/// `hh:mm` on `date` on the Hải Phòng clock (UTC+7), as a UTC instant.
fn local(date: &str, hh: u32, mm: u32) -> DateTime<Utc> {
    let local = day(date).and_hms_opt(hh, mm, 0).expect("valid time");
    DateTime::<Utc>::from_naive_utc_and_offset(local - chrono::Duration::hours(7), Utc)
}

fn field_violations(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

fn vietnamese(status: &tonic::Status) -> String {
    let details = status.get_error_details();
    let localized = details.localized_message().expect("a localized message");
    assert_eq!(localized.locale, "vi-VN");
    localized.message.clone()
}

/// A client acting as the leader `leader_id` of the directory.
async fn leader(system: &TestSystem, leader_id: &str) -> AssignmentClient {
    let token = system.mint(&Principal {
        subject: leader_id.into(),
        role: Role::Leader,
        unit_code: None,
        leader_id: Some(leader_id.into()),
    });
    system.client_with_token(&token).await
}

async fn get(client: &mut AssignmentClient, task_id: &str) -> pb::Task {
    client
        .get_task(pb::GetTaskRequest {
            task_id: task_id.into(),
        })
        .await
        .expect("get")
        .into_inner()
}

async fn list(client: &mut AssignmentClient, request: pb::ListTasksRequest) -> Vec<String> {
    client
        .list_tasks(pb::ListTasksRequest {
            page_size: 100,
            ..request
        })
        .await
        .expect("list")
        .into_inner()
        .tasks
        .into_iter()
        .map(|task| task.title)
        .collect()
}

/// A task of pct-tran, recorded by the Office, with `deadline` (None = không thời hạn).
async fn office_assigns(system: &TestSystem, title: &str, deadline: Option<&str>) -> pb::Task {
    let mut request = assignment_request(title);
    request.term = Some(match deadline {
        Some(deadline) => pb::assign_task_request::Term::Deadline(deadline.into()),
        None => pb::assign_task_request::Term::NoDeadline(true),
    });
    system
        .client(Role::Office)
        .await
        .assign_task(request)
        .await
        .expect("assign")
        .into_inner()
}

fn government_origin() -> pb::TaskOrigin {
    pb::TaskOrigin {
        kind: pb::OriginKind::Government as i32,
        issuing_body: String::new(),
        document: Some(pb::SourceDocument {
            number: "25".into(),
            symbol: "NQ-CP".into(),
            date: "2026-11-05".into(),
            summary: "Về nhiệm vụ, giải pháp chủ yếu thúc đẩy tăng trưởng".into(),
        }),
    }
}

#[tokio::test]
async fn a_government_task_assigned_by_a_vice_chairman_shows_both() {
    let system = TestSystem::spawn().await;
    let mut request = assignment_request("Triển khai Nghị quyết 25/NQ-CP");
    request.origin = Some(government_origin());
    let mut pct_tran = leader(&system, "pct-tran").await;

    let task = pct_tran
        .assign_task(request)
        .await
        .expect("assign")
        .into_inner();
    let read = get(&mut pct_tran, &task.task_id).await;
    let from_the_government = list(
        &mut pct_tran,
        pb::ListTasksRequest {
            origin_kind: pb::OriginKind::Government as i32,
            ..Default::default()
        },
    )
    .await;
    let by_pct_tran = list(
        &mut pct_tran,
        pb::ListTasksRequest {
            assigner_leader_id: "pct-tran".into(),
            ..Default::default()
        },
    )
    .await;
    let by_pct_hoang = list(
        &mut pct_tran,
        pb::ListTasksRequest {
            assigner_leader_id: "pct-hoang".into(),
            ..Default::default()
        },
    )
    .await;

    let origin = read.origin.expect("origin");
    assert_eq!(origin.kind(), pb::OriginKind::Government);
    assert_eq!(
        origin.document.expect("the Government's document").symbol,
        "NQ-CP"
    );
    let assignment = read.assignment.expect("assignment");
    let assigner = assignment.assigner.expect("assigner");
    assert_eq!(assigner.kind(), pb::AssignerKind::ViceChairman);
    assert_eq!(assigner.leader_id, "pct-tran");
    assert!(
        !assigner.leader_name.is_empty(),
        "the directory gives the name"
    );
    assert_eq!(assignment.document, Some(city_document()));
    assert_eq!(
        read.supervising_leader_id, "pct-tran",
        "pct-tran supervises the Department of Construction"
    );
    assert_eq!(from_the_government, ["Triển khai Nghị quyết 25/NQ-CP"]);
    assert_eq!(by_pct_tran, ["Triển khai Nghị quyết 25/NQ-CP"]);
    assert!(by_pct_hoang.is_empty());
}

#[tokio::test]
async fn a_vice_chairman_cannot_assign_as_the_chairman_and_nothing_is_written() {
    let system = TestSystem::spawn().await;
    let mut pct_tran = leader(&system, "pct-tran").await;
    let mut as_chairman_in_own_name = assignment_request("Giao với danh nghĩa Chủ tịch");
    as_chairman_in_own_name.assignment = Some(assigned_by(pb::AssignerKind::Chairman, "pct-tran"));
    let mut in_the_chairmans_name = assignment_request("Giao thay Chủ tịch");
    in_the_chairmans_name.assignment = Some(assigned_by(pb::AssignerKind::Chairman, "ct-nguyen"));

    let own_name = pct_tran
        .assign_task(as_chairman_in_own_name)
        .await
        .expect_err("pct-tran is a Vice-Chairman");
    let chairmans_name = pct_tran
        .assign_task(in_the_chairmans_name)
        .await
        .expect_err("not pct-tran's name");
    let written = list(&mut pct_tran, pb::ListTasksRequest::default()).await;

    assert_eq!(own_name.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&own_name), ["assignment.assigner.kind"]);
    assert_eq!(chairmans_name.code(), Code::PermissionDenied);
    assert!(written.is_empty(), "nothing was recorded: {written:?}");
}

#[tokio::test]
async fn an_unknown_leader_id_names_the_field() {
    let system = TestSystem::spawn().await;
    let mut request = assignment_request("Giao bởi người không có trong danh sách");
    request.assignment = Some(assigned_by(pb::AssignerKind::ViceChairman, "pct-khong-co"));

    let status = system
        .client(Role::Office)
        .await
        .assign_task(request)
        .await
        .expect_err("unknown leader");

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&status), ["assignment.assigner.leader_id"]);
    assert_eq!(reason(&status), "INVALID_FIELDS");
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("info");
    assert_eq!(
        info.metadata.get("fields").map(String::as_str),
        Some("assignment.assigner.leader_id")
    );
    assert!(
        vietnamese(&status).contains("assignment.assigner.leader_id"),
        "the Vietnamese message names the field too"
    );
}

#[tokio::test]
async fn an_extension_asked_for_on_the_deadline_day_may_be_approved_three_days_later() {
    let system = TestSystem::spawn().await;
    let task = office_assigns(&system, "Báo cáo quyết toán", Some("2026-12-31")).await;
    let mut office = system.client(Role::Office).await;

    // The unit's request arrives late in the afternoon of the deadline day.
    system.clock.set(local("2026-12-31", 16, 30));
    let requested = office
        .request_extension(pb::RequestExtensionRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            proposed_deadline: "2027-01-15".into(),
            reason: "Chờ ý kiến của Bộ Tài chính".into(),
            requested_on: String::new(),
            expected_version: 0,
        })
        .await
        .expect("requested in time")
        .into_inner();
    let extension_id = requested.extension_requests[0].extension_id.clone();
    // The Vice-Chairman decides after the deadline has passed; the Office records it.
    system.clock.set(local("2027-01-03", 9, 0));
    let approved = office
        .decide_extension(pb::DecideExtensionRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            extension_id: extension_id.clone(),
            decision: pb::ExtensionDecision::Approve as i32,
            new_deadline: String::new(),
            reason: "Đồng ý gia hạn".into(),
            leader_id: "pct-tran".into(),
            expected_version: 0,
        })
        .await
        .expect("approved: it was asked for in time")
        .into_inner();

    assert_eq!(approved.deadline, "2027-01-15");
    assert_eq!(approved.original_deadline, "2026-12-31");
    assert_eq!(approved.deadline_class(), pb::DeadlineClass::InTerm);
    let change = approved.deadline_history.last().expect("the extension");
    assert_eq!(change.requested_on, "2026-12-31");
    assert_eq!(change.decided_on, "2027-01-03");
    assert_eq!(change.approved_by_leader_id, "pct-tran");
    assert_eq!(change.previous_deadline, "2026-12-31");
    assert_eq!(change.deadline, "2027-01-15");
    assert_eq!(change.extension_id, extension_id);
    let request = &approved.extension_requests[0];
    assert_eq!(request.state(), pb::ExtensionState::Approved);
    assert_eq!(request.requested_by_unit, "SXD");
    assert_eq!(request.reason, "Chờ ý kiến của Bộ Tài chính");
    assert_eq!(request.decided_by_leader_id, "pct-tran");
}

#[tokio::test]
async fn an_extension_asked_for_the_day_after_the_deadline_is_refused_citing_the_rule() {
    let system = TestSystem::spawn().await;
    let task = office_assigns(&system, "Báo cáo quyết toán", Some("2026-12-31")).await;
    let mut office = system.client(Role::Office).await;
    system.clock.set(local("2027-01-01", 8, 0));

    let requested = office
        .request_extension(pb::RequestExtensionRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            proposed_deadline: "2027-01-15".into(),
            reason: "Chờ số liệu".into(),
            requested_on: String::new(),
            expected_version: 0,
        })
        .await
        .expect_err("asked for too late");
    let recorded_with_approval = office
        .extend_deadline(pb::ExtendDeadlineRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            new_deadline: "2027-01-15".into(),
            reason: "Chờ số liệu".into(),
            expected_version: 0,
            requested_on: "2027-01-01".into(),
            approved_by_leader_id: "pct-tran".into(),
        })
        .await
        .expect_err("an approval does not cure a late request");
    let after = get(&mut office, &task.task_id).await;

    for status in [&requested, &recorded_with_approval] {
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(reason(status), "EXTENSION_REQUESTED_AFTER_DEADLINE");
        let rule = status
            .get_error_details()
            .precondition_failure()
            .expect("the rule is cited")
            .violations[0]
            .r#type
            .clone();
        assert_eq!(rule, "EXTENSION_REQUESTED_AFTER_DEADLINE");
        assert!(
            vietnamese(status).contains("31/12/2026"),
            "{}",
            vietnamese(status)
        );
    }
    assert_eq!(after.deadline, "2026-12-31");
    assert_eq!(after.version, task.version, "nothing was recorded");
    assert_eq!(after.deadline_class(), pb::DeadlineClass::Overdue);
}

#[tokio::test]
async fn a_rejected_extension_request_is_kept_with_its_reason() {
    let system = TestSystem::spawn().await;
    let task = office_assigns(&system, "Báo cáo quyết toán", Some("2026-12-31")).await;
    let mut office = system.client(Role::Office).await;
    let requested = office
        .request_extension(pb::RequestExtensionRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            proposed_deadline: "2027-03-31".into(),
            reason: "Thiếu nhân lực".into(),
            requested_on: String::new(),
            expected_version: 0,
        })
        .await
        .expect("request")
        .into_inner();

    let rejected = office
        .decide_extension(pb::DecideExtensionRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            extension_id: requested.extension_requests[0].extension_id.clone(),
            decision: pb::ExtensionDecision::Reject as i32,
            new_deadline: String::new(),
            reason: "Không có lý do chính đáng".into(),
            leader_id: "pct-tran".into(),
            expected_version: 0,
        })
        .await
        .expect("reject")
        .into_inner();

    assert_eq!(rejected.deadline, "2026-12-31");
    let request = &rejected.extension_requests[0];
    assert_eq!(request.state(), pb::ExtensionState::Rejected);
    assert_eq!(request.decision_reason, "Không có lý do chính đáng");
    assert_eq!(request.decided_by_leader_id, "pct-tran");
    assert_eq!(rejected.deadline_history.len(), 1, "no deadline changed");
}

#[tokio::test]
async fn deadline_classes_follow_the_hai_phong_clock_and_extensions() {
    let system = TestSystem::spawn().await;
    // Today is 28/11/2026.
    office_assigns(&system, "Hạn cuối năm", Some("2026-12-31")).await;
    let soon = office_assigns(&system, "Hạn đầu tháng", Some("2026-12-03")).await;
    office_assigns(&system, "Không thời hạn", None).await;
    let mut office = system.client(Role::Office).await;
    let class_of = |task: &pb::Task| task.deadline_class();

    let near_due_today = list(
        &mut office,
        pb::ListTasksRequest {
            deadline_class: pb::DeadlineClass::NearDue as i32,
            ..Default::default()
        },
    )
    .await;
    let overdue_on_4_december = list(
        &mut office,
        pb::ListTasksRequest {
            deadline_class: pb::DeadlineClass::Overdue as i32,
            as_of: "2026-12-04".into(),
            ..Default::default()
        },
    )
    .await;
    let in_term_on_4_december = list(
        &mut office,
        pb::ListTasksRequest {
            deadline_class: pb::DeadlineClass::InTerm as i32,
            as_of: "2026-12-04".into(),
            ..Default::default()
        },
    )
    .await;
    let without_deadline = list(
        &mut office,
        pb::ListTasksRequest {
            deadline_class: pb::DeadlineClass::None as i32,
            ..Default::default()
        },
    )
    .await;
    system.clock.set(local("2026-12-03", 23, 59));
    let last_minute = class_of(&get(&mut office, &soon.task_id).await);
    system.clock.set(local("2026-12-04", 0, 0));
    let midnight = class_of(&get(&mut office, &soon.task_id).await);
    let extended = office
        .extend_deadline(pb::ExtendDeadlineRequest {
            request_id: request_id(),
            task_id: soon.task_id.clone(),
            new_deadline: "2026-12-20".into(),
            reason: "Gia hạn".into(),
            expected_version: 0,
            requested_on: "2026-12-03".into(),
            approved_by_leader_id: "pct-tran".into(),
        })
        .await
        .expect("extend: asked for on the deadline day")
        .into_inner();

    assert_eq!(near_due_today, ["Hạn đầu tháng"]);
    assert_eq!(overdue_on_4_december, ["Hạn đầu tháng"]);
    assert_eq!(in_term_on_4_december, ["Hạn cuối năm"]);
    assert_eq!(without_deadline, ["Không thời hạn"]);
    assert_eq!(last_minute, pb::DeadlineClass::NearDue);
    assert_eq!(midnight, pb::DeadlineClass::Overdue);
    assert_eq!(extended.deadline_class(), pb::DeadlineClass::InTerm);
}

#[tokio::test]
async fn a_task_without_deadline_is_given_one_by_its_assigner() {
    let system = TestSystem::spawn().await;
    let task = office_assigns(&system, "Theo dõi thường xuyên", None).await;

    let given = leader(&system, "pct-tran")
        .await
        .extend_deadline(pb::ExtendDeadlineRequest {
            request_id: request_id(),
            task_id: task.task_id,
            new_deadline: "2027-02-15".into(),
            reason: "Ấn định thời hạn".into(),
            expected_version: 0,
            requested_on: String::new(),
            approved_by_leader_id: "pct-tran".into(),
        })
        .await
        .expect("a first deadline")
        .into_inner();

    assert_eq!(given.deadline, "2027-02-15");
    assert_eq!(given.deadline_class(), pb::DeadlineClass::InTerm);
    let change = given.deadline_history.last().expect("the change");
    assert_eq!(change.previous_deadline, "");
    assert_eq!(change.approved_by_leader_id, "pct-tran");
}

#[tokio::test]
async fn a_2025_commune_is_assignable_on_1_july_2025_and_an_abolished_district_is_not() {
    let system = TestSystem::spawn().await;
    system.clock.set(local("2025-07-01", 9, 0));
    let mut office = system.client(Role::Office).await;
    let on_the_day = |lead: &str| {
        let mut request = assignment_request("Ổn định tổ chức bộ máy chính quyền cấp xã");
        request.lead_unit = lead.into();
        request.coordinating_units = vec!["SNV".into()];
        request.term = Some(pb::assign_task_request::Term::Deadline("2025-07-31".into()));
        if let Some(assignment) = request.assignment.as_mut() {
            assignment.document = Some(pb::SourceDocument {
                date: "2025-07-01".into(),
                ..city_document()
            });
        }
        request
    };

    let commune = office.assign_task(on_the_day("11560")).await;
    let district = office
        .assign_task(on_the_day("H-THUYNGUYEN"))
        .await
        .expect_err("the district was abolished on 1 July 2025");
    let search = |query: &str| pb::ListUnitsRequest {
        query: query.into(),
        as_of: "2025-07-01".into(),
        page_size: 100,
        ..Default::default()
    };
    let plain = office
        .list_units(search("thuy nguyen"))
        .await
        .expect("search")
        .into_inner();
    let old_tone_mark = office
        .list_units(search("Thuỷ Nguyên"))
        .await
        .expect("search")
        .into_inner();

    let commune = commune.expect("11560 exists from 1 July 2025").into_inner();
    assert_eq!(commune.lead_unit, "11560");
    assert_eq!(district.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&district), ["lead_unit"]);
    for found in [plain, old_tone_mark] {
        let codes: Vec<&str> = found.units.iter().map(|u| u.code.as_str()).collect();
        assert_eq!(codes, ["11560"], "only Phường Thủy Nguyên on that day");
    }
}

#[tokio::test]
async fn each_refusal_carries_its_own_reason_and_a_vietnamese_message() {
    let system = TestSystem::spawn().await;
    let task = office_assigns(&system, "Lập quy hoạch phân khu", Some("2026-12-31")).await;
    let mut lead_unit = system.client(Role::Unit).await; // SXD
    let mut office = system.client(Role::Office).await;

    let hand_off = lead_unit
        .reassign_task(pb::ReassignTaskRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            new_lead_unit: "STC".into(),
            new_coordinating_units: vec![],
            reason: "Không thuộc chức năng".into(),
            expected_version: 0,
        })
        .await
        .expect_err("hand-off");
    let not_later = office
        .extend_deadline(pb::ExtendDeadlineRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            new_deadline: "2026-12-15".into(),
            reason: "Rút ngắn".into(),
            expected_version: 0,
            requested_on: String::new(),
            approved_by_leader_id: "pct-tran".into(),
        })
        .await
        .expect_err("not later");
    let cancelled = office
        .cancel_task(pb::CancelTaskRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            reason: "Không còn cần thiết".into(),
            expected_version: 0,
        })
        .await
        .map(|_| ());
    let after_cancel = office
        .cancel_task(pb::CancelTaskRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            reason: "Hủy lần nữa".into(),
            expected_version: 0,
        })
        .await
        .expect_err("already cancelled");

    assert!(cancelled.is_ok());
    let reasons: Vec<String> = [&hand_off, &not_later, &after_cancel]
        .into_iter()
        .map(reason)
        .collect();
    assert_eq!(
        reasons,
        [
            "LEAD_UNIT_HAND_OFF",
            "EXTENSION_NOT_LATER",
            "TASK_CANCELLED"
        ]
    );
    for status in [&hand_off, &not_later, &after_cancel] {
        let info = status
            .get_error_details()
            .error_info()
            .cloned()
            .expect("info");
        assert_eq!(info.domain, "assignment.dondoc.gov.vn");
        assert!(!vietnamese(status).is_empty());
        assert_ne!(
            vietnamese(status),
            status.message(),
            "the English message stays"
        );
    }
    assert!(vietnamese(&hand_off).contains("chủ trì"));
    assert!(vietnamese(&after_cancel).contains("đã hủy"));
}

#[tokio::test]
async fn every_refused_hand_off_is_listed_and_a_retried_one_only_once() {
    let system = TestSystem::spawn().await;
    let task = office_assigns(&system, "Lập quy hoạch phân khu", Some("2026-12-31")).await;
    let mut lead_unit = system.client(Role::Unit).await; // SXD
    let attempt = |request_id: String, to: &str| pb::ReassignTaskRequest {
        request_id,
        task_id: task.task_id.clone(),
        new_lead_unit: to.into(),
        new_coordinating_units: vec![],
        reason: "Không thuộc chức năng, nhiệm vụ".into(),
        expected_version: 0,
    };
    let first = request_id();

    for request in [
        attempt(first.clone(), "STC"),
        attempt(first, "STC"), // a network retry of the same attempt
        attempt(request_id(), "SNV"),
    ] {
        let status = lead_unit.reassign_task(request).await.expect_err("refused");
        assert_eq!(reason(&status), "LEAD_UNIT_HAND_OFF");
    }
    let after = get(&mut lead_unit, &task.task_id).await;

    let refusals: Vec<(&str, &str, &str)> = after
        .refused_hand_offs
        .iter()
        .map(|r| {
            (
                r.lead_unit.as_str(),
                r.requested_lead_unit.as_str(),
                r.attempted_by.as_str(),
            )
        })
        .collect();
    assert_eq!(
        refusals,
        [("SXD", "STC", "sxd-officer"), ("SXD", "SNV", "sxd-officer")]
    );
    assert!(after.refused_hand_offs.iter().all(|r| {
        r.reason_given == "Không thuộc chức năng, nhiệm vụ" && r.attempted_at.is_some()
    }));
    assert_eq!(after.refused_hand_off_attempts, 2);
    assert_eq!(after.lead_unit, "SXD");
}

#[tokio::test]
async fn the_chairman_may_reassign_or_extend_any_task_of_a_vice_chairman() {
    let system = TestSystem::spawn().await;
    let task = office_assigns(&system, "Giải phóng mặt bằng", Some("2026-12-31")).await;
    let mut chairman = leader(&system, "ct-nguyen").await;

    let other_vice_chairman = leader(&system, "pct-hoang")
        .await
        .extend_deadline(pb::ExtendDeadlineRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            new_deadline: "2027-01-31".into(),
            reason: "Gia hạn".into(),
            expected_version: 0,
            requested_on: String::new(),
            approved_by_leader_id: "pct-hoang".into(),
        })
        .await
        .expect_err("not pct-hoang's task");
    let extended = chairman
        .extend_deadline(pb::ExtendDeadlineRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            new_deadline: "2027-01-31".into(),
            reason: "Chủ tịch đồng ý gia hạn".into(),
            expected_version: 0,
            requested_on: String::new(),
            approved_by_leader_id: "ct-nguyen".into(),
        })
        .await
        .expect("the Chairman extends")
        .into_inner();
    let reassigned = chairman
        .reassign_task(pb::ReassignTaskRequest {
            request_id: request_id(),
            task_id: task.task_id.clone(),
            new_lead_unit: "STC".into(),
            new_coordinating_units: vec!["SXD".into()],
            reason: "Điều chỉnh phân công".into(),
            expected_version: 0,
        })
        .await
        .expect("the Chairman reassigns")
        .into_inner();

    assert_eq!(other_vice_chairman.code(), Code::PermissionDenied);
    assert_eq!(
        extended
            .deadline_history
            .last()
            .expect("change")
            .approved_by_leader_id,
        "ct-nguyen"
    );
    assert_eq!(reassigned.lead_unit, "STC");
    assert_eq!(reassigned.reassignments[0].reassigned_by, "ct-nguyen");
}

#[tokio::test]
async fn a_task_from_the_paper_register_is_imported_with_its_past_dates() {
    let system = TestSystem::spawn().await;
    let mut office = system.client(Role::Office).await;
    let mut old = assignment_request("Xử lý kiến nghị cử tri năm 2024");
    old.lead_unit = "H-THUYNGUYEN".into(); // a district then
    old.coordinating_units = vec![];
    old.term = Some(pb::assign_task_request::Term::Deadline("2024-06-30".into()));
    if let Some(assignment) = old.assignment.as_mut() {
        assignment.document = Some(pb::SourceDocument {
            date: "2024-03-01".into(),
            ..city_document()
        });
    }

    let as_new = office
        .assign_task(pb::AssignTaskRequest {
            request_id: request_id(),
            ..old.clone()
        })
        .await
        .expect_err("a new task with a past deadline");
    let imported = office
        .import_historical_task(pb::ImportHistoricalTaskRequest {
            request_id: request_id(),
            task: Some(old),
            assigned_on: "2024-03-01".into(),
            reason: "Nhập sổ theo dõi giấy năm 2024".into(),
        })
        .await
        .expect("imported")
        .into_inner();
    let by_a_leader = leader(&system, "pct-tran")
        .await
        .import_historical_task(pb::ImportHistoricalTaskRequest {
            request_id: request_id(),
            task: Some(assignment_request("x")),
            assigned_on: "2024-03-01".into(),
            reason: "x".into(),
        })
        .await
        .expect_err("imports are the Office's");

    assert_eq!(as_new.code(), Code::InvalidArgument);
    assert!(
        field_violations(&as_new).iter().any(|f| f == "deadline"),
        "{:?}",
        field_violations(&as_new)
    );
    assert!(imported.historical);
    assert_eq!(imported.assigned_on, "2024-03-01");
    assert_eq!(imported.lead_unit, "H-THUYNGUYEN");
    assert_eq!(imported.deadline_class(), pb::DeadlineClass::Overdue);
    assert_eq!(by_a_leader.code(), Code::PermissionDenied);
}
