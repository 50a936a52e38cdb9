//! The task view: history kept, and the deadline class at any instant.

use chrono::TimeZone;

use super::*;
use crate::domain::values::{Assigner, AssignerKind, OriginKind, SourceDocument};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// An instant given in Hải Phòng time (UTC+7).
fn local(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(7 * 3600)
        .expect("offset")
        .with_ymd_and_hms(y, m, d, h, min, s)
        .single()
        .expect("valid instant")
        .to_utc()
}

fn at(day: u32) -> DateTime<Utc> {
    local(2025, 9, day, 9, 0, 0)
}

fn code(raw: &str) -> UnitCode {
    UnitCode::parse(raw).expect("valid code")
}

fn task_id() -> TaskId {
    TaskId::from_uuid(uuid::Uuid::from_u128(9))
}

fn assigned(deadline: Option<NaiveDate>) -> TaskEvent {
    TaskEvent::Assigned {
        task_id: task_id(),
        origin: Origin {
            kind: OriginKind::PrimeMinister,
            issuing_body: None,
            document: Some(SourceDocument {
                number: "88".into(),
                symbol: "CĐ-TTg".into(),
                date: date(2025, 8, 25),
                summary: "Công điện của Thủ tướng".into(),
            }),
        },
        assignment: Assignment {
            assigner: Assigner {
                kind: AssignerKind::Chairman,
                leader_id: Some("ct-nguyen".into()),
                leader_name: Some("Nguyễn Văn Thành".into()),
            },
            document: SourceDocument {
                number: "55".into(),
                symbol: "UBND-VP".into(),
                date: date(2025, 9, 1),
                summary: "Triển khai công điện".into(),
            },
        },
        title: "Giải phóng mặt bằng".into(),
        content: "Hoàn thành giải phóng mặt bằng dự án.".into(),
        lead_unit: code("SXD"),
        coordinating_units: vec![code("STC")],
        deadline,
        priority: Priority::Normal,
        assigned_on: date(2025, 9, 1),
        supervising_leader_id: Some("pct-tran".into()),
        historical: None,
    }
}

fn record() -> TaskRecord {
    TaskRecord::assigned(&assigned(Some(date(2025, 9, 30))), 1, at(1), "office-clerk")
        .expect("assigned")
}

fn extended(requested_on: NaiveDate, decided_on: NaiveDate) -> TaskEvent {
    TaskEvent::DeadlineExtended {
        task_id: task_id(),
        previous_deadline: Some(date(2025, 9, 30)),
        new_deadline: date(2025, 10, 31),
        reason: "Vướng mắc về giá đất".into(),
        approved_by_leader: Some("ct-nguyen".into()),
        requested_on: Some(requested_on),
        extension_id: Some("ext-1".into()),
        requested_by_unit: Some(code("SXD")),
        decided_on: Some(decided_on),
    }
}

#[test]
fn the_deadline_class_follows_the_clock_through_the_deadline_day_and_an_extension() {
    let mut record = record();
    let request = TaskEvent::ExtensionRequested {
        task_id: task_id(),
        extension_id: "ext-1".into(),
        requested_on: date(2025, 9, 30),
        current_deadline: date(2025, 9, 30),
        proposed_deadline: date(2025, 10, 31),
        reason: "Vướng mắc về giá đất".into(),
        requested_by_unit: Some(code("SXD")),
    };
    record.apply(&request, 2, local(2025, 9, 30, 16, 0, 0), "sxd-officer");
    // Approved on 3 October, after the original deadline had passed.
    record.apply(
        &extended(date(2025, 9, 30), date(2025, 10, 3)),
        3,
        local(2025, 10, 3, 10, 0, 0),
        "ct-nguyen",
    );
    let class = |instant| record.deadline_class(instant, 5);

    let timeline = [
        (local(2025, 8, 31, 12, 0, 0), None),
        (local(2025, 9, 1, 9, 0, 0), Some(DeadlineClass::InTerm)),
        (local(2025, 9, 24, 23, 59, 59), Some(DeadlineClass::InTerm)),
        (local(2025, 9, 25, 0, 0, 0), Some(DeadlineClass::NearDue)),
        (local(2025, 9, 30, 23, 59, 59), Some(DeadlineClass::NearDue)),
        // The deadline day has ended in Hải Phòng (still 30 September in UTC).
        (local(2025, 10, 1, 0, 0, 0), Some(DeadlineClass::Overdue)),
        (local(2025, 10, 3, 9, 59, 59), Some(DeadlineClass::Overdue)),
        // The approval takes effect when it is recorded.
        (local(2025, 10, 3, 10, 0, 0), Some(DeadlineClass::InTerm)),
        (local(2025, 10, 26, 0, 0, 0), Some(DeadlineClass::NearDue)),
        (local(2025, 11, 1, 0, 0, 0), Some(DeadlineClass::Overdue)),
    ];

    for (instant, expected) in timeline {
        assert_eq!(class(instant), expected, "at {instant}");
    }
}

#[test]
fn a_task_without_a_deadline_and_a_cancelled_task_have_their_own_classes() {
    let mut without =
        TaskRecord::assigned(&assigned(None), 1, at(1), "office-clerk").expect("assigned");

    let before = without.deadline_class(at(20), 5);
    without.apply(
        &TaskEvent::Cancelled {
            task_id: task_id(),
            reason: "Văn bản bị thu hồi".into(),
        },
        2,
        at(21),
        "office-chief",
    );

    assert_eq!(before, Some(DeadlineClass::NoDeadline));
    assert_eq!(
        without.deadline_class(at(20), 5),
        Some(DeadlineClass::NoDeadline)
    );
    assert_eq!(
        without.deadline_class(at(21), 5),
        Some(DeadlineClass::Closed)
    );
}

#[test]
fn the_near_due_window_is_a_setting() {
    let record = record();

    assert_eq!(
        record.deadline_class(at(27), 3),
        Some(DeadlineClass::NearDue)
    );
    assert_eq!(
        record.deadline_class(at(26), 3),
        Some(DeadlineClass::InTerm)
    );
}

#[test]
fn an_extension_keeps_request_date_approver_previous_and_new_deadline() {
    let mut record = record();

    record.apply(
        &extended(date(2025, 9, 30), date(2025, 10, 3)),
        2,
        at(30),
        "office-clerk",
    );

    let change = &record.deadline_history[1];
    assert_eq!(change.previous_deadline, Some(date(2025, 9, 30)));
    assert_eq!(change.deadline, Some(date(2025, 10, 31)));
    assert_eq!(change.requested_on, Some(date(2025, 9, 30)));
    assert_eq!(change.decided_on, Some(date(2025, 10, 3)));
    assert_eq!(change.approved_by_leader.as_deref(), Some("ct-nguyen"));
    assert_eq!(record.original_deadline, Some(date(2025, 9, 30)));
}

#[test]
fn requests_are_listed_with_what_became_of_them() {
    let mut record = record();
    record.apply(
        &TaskEvent::ExtensionRequested {
            task_id: task_id(),
            extension_id: "ext-9".into(),
            requested_on: date(2025, 9, 20),
            current_deadline: date(2025, 9, 30),
            proposed_deadline: date(2025, 12, 31),
            reason: "Chờ vốn".into(),
            requested_by_unit: Some(code("SXD")),
        },
        2,
        at(20),
        "sxd-officer",
    );

    record.apply(
        &TaskEvent::ExtensionRejected {
            task_id: task_id(),
            extension_id: "ext-9".into(),
            requested_on: date(2025, 9, 20),
            decided_on: date(2025, 9, 22),
            rejected_by_leader: "ct-nguyen".into(),
            reason: "Không có căn cứ".into(),
        },
        3,
        at(22),
        "office-clerk",
    );

    let entry = &record.extension_requests[0];
    assert_eq!(entry.state, ExtensionState::Rejected);
    assert_eq!(entry.decided_by_leader.as_deref(), Some("ct-nguyen"));
    assert_eq!(entry.decision_reason.as_deref(), Some("Không có căn cứ"));
    assert_eq!(record.deadline, Some(date(2025, 9, 30)));
}

#[test]
fn refused_hand_offs_are_listed_as_evidence_and_change_nothing_else() {
    let mut record = record();

    record.apply(
        &TaskEvent::HandOffRefused {
            task_id: task_id(),
            lead_unit: code("SXD"),
            requested_lead_unit: code("STC"),
            reason_given: "Không thuộc thẩm quyền".into(),
        },
        2,
        at(3),
        "sxd-officer",
    );

    assert_eq!(record.lead_unit, code("SXD"));
    assert_eq!(record.refused_hand_off_attempts, 1);
    assert_eq!(
        record.refused_hand_offs,
        [RefusedHandOff {
            lead_unit: code("SXD"),
            requested_lead_unit: code("STC"),
            reason_given: "Không thuộc thẩm quyền".into(),
            at: at(3),
            by: "sxd-officer".into(),
        }]
    );
}

#[test]
fn a_reassignment_records_the_new_supervising_leader() {
    let reassigned = TaskEvent::Reassigned {
        task_id: task_id(),
        previous_lead_unit: code("SXD"),
        new_lead_unit: code("SKHCN"),
        previous_coordinating_units: vec![code("STC")],
        new_coordinating_units: vec![],
        reason: "Theo chỉ đạo của Chủ tịch".into(),
        supervising_leader_id: Some("pct-hoang".into()),
    };

    let record = TaskRecord::fold([
        (&assigned(Some(date(2025, 9, 30))), 1, at(1), "office-clerk"),
        (&reassigned, 2, at(5), "chairman"),
    ])
    .expect("assigned");

    assert_eq!(record.lead_unit, code("SKHCN"));
    assert_eq!(record.supervising_leader_id.as_deref(), Some("pct-hoang"));
    assert_eq!(record.reassignments[0].reassigned_by, "chairman");
}
