//! The assignment contract against the frozen payloads in `fixtures/assignment.toml`: every
//! version ever written still decodes, and to the values written here by hand.

use chrono::{DateTime, Utc};
use dondoc_eventsourcing::{Actor, RecordedEvent};
use dondoc_proto::v1 as pb;
use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Fixtures {
    event: Vec<Fixture>,
}

#[derive(Deserialize)]
struct Fixture {
    name: String,
    event_type: String,
    schema_version: u32,
    occurred_at: String,
    payload_hex: String,
}

fn fixture(name: &str) -> RecordedEvent {
    let fixtures: Fixtures =
        toml::from_str(include_str!("../../fixtures/assignment.toml")).expect("fixtures parse");
    let f = fixtures
        .event
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    let occurred_at: DateTime<Utc> = f.occurred_at.parse().expect("occurred_at");
    RecordedEvent {
        position: 1,
        event_id: uuid::Uuid::nil(),
        stream_type: "task".into(),
        stream_id: "01880000-0000-7000-8000-000000000001".into(),
        stream_version: 1,
        event_type: f.event_type,
        schema_version: f.schema_version,
        occurred_at,
        recorded_at: occurred_at,
        actor: Actor::default(),
        correlation_id: String::new(),
        causation_id: String::new(),
        traceparent: String::new(),
        source: SERVICE.into(),
        payload: hex::decode(f.payload_hex).expect("hex"),
    }
}

const TASK: &str = "01880000-0000-7000-8000-000000000001";

fn document() -> Option<pb::SourceDocument> {
    Some(pb::SourceDocument {
        number: "85".into(),
        symbol: "TB-VP".into(),
        date: "2023-04-12".into(),
        summary: "Thông báo kết luận của Chủ tịch UBND thành phố".into(),
    })
}

fn city_document() -> Option<pb::SourceDocument> {
    document()
}

#[test]
fn a_first_release_assignment_reads_as_today_with_its_free_text_issuer_structured() {
    let event = AssignmentEvent::decode(&fixture("task_assigned_v1")).expect("decodes");

    assert_eq!(
        event,
        Some(AssignmentEvent::TaskAssigned(pb::TaskAssigned {
            task_id: TASK.into(),
            // "PCT Nguyễn Văn A": a Vice-Chairman assigned it through the city's document.
            origin: Some(pb::TaskOrigin {
                kind: pb::OriginKind::CityPeoplesCommittee as i32,
                issuing_body: String::new(),
                document: None,
            }),
            assignment: Some(pb::TaskAssignment {
                assigner: Some(pb::Assigner {
                    kind: pb::AssignerKind::ViceChairman as i32,
                    leader_id: "nguyen-van-a".into(),
                    leader_name: "Nguyễn Văn A".into(),
                }),
                document: city_document(),
            }),
            title: "Tháo gỡ vướng mắc giải phóng mặt bằng".into(),
            content: "Nội dung".into(),
            lead_unit: "SXD".into(),
            coordinating_units: vec!["STC".into(), "STNMT".into()],
            deadline: "2023-05-30".into(),
            priority: pb::Priority::Urgent as i32,
            // Recorded at 01:30 on 20 April in Hải Phòng (18:30 UTC the day before).
            assigned_on: "2023-04-20".into(),
            supervising_leader_id: String::new(),
            historical: false,
            import_reason: String::new(),
        }))
    );
}

#[test]
fn a_v2_assignment_by_a_vice_chairman_reads_with_the_city_as_origin() {
    let event = AssignmentEvent::decode(&fixture("task_assigned_v2")).expect("decodes");

    assert_eq!(
        event,
        Some(AssignmentEvent::TaskAssigned(pb::TaskAssigned {
            task_id: TASK.into(),
            origin: Some(pb::TaskOrigin {
                kind: pb::OriginKind::CityPeoplesCommittee as i32,
                issuing_body: String::new(),
                document: None,
            }),
            assignment: Some(pb::TaskAssignment {
                assigner: Some(pb::Assigner {
                    kind: pb::AssignerKind::ViceChairman as i32,
                    leader_id: "pct-tran".into(),
                    leader_name: "Trần Văn Minh".into(),
                }),
                document: city_document(),
            }),
            title: "Báo cáo tiến độ".into(),
            content: "Nội dung\nhai dòng".into(),
            lead_unit: "SXD".into(),
            coordinating_units: vec!["STC".into()],
            deadline: "2026-12-31".into(),
            priority: pb::Priority::Flash as i32,
            assigned_on: "2026-11-20".into(),
            supervising_leader_id: String::new(),
            historical: false,
            import_reason: String::new(),
        }))
    );
}

#[test]
fn a_government_issuer_becomes_the_origin_and_the_city_the_assigner() {
    let document = Some(pb::SourceDocument {
        number: "12".into(),
        symbol: "NQ-CP".into(),
        date: "2025-01-10".into(),
        summary: "Nghị quyết".into(),
    });
    let (origin, assignment) = origin_and_assignment_from_issuer(
        &pb::Issuer {
            kind: pb::IssuerKind::Government as i32,
            leader_id: String::new(),
            leader_name: String::new(),
        },
        document.clone(),
    );

    assert_eq!(origin.kind, pb::OriginKind::Government as i32);
    assert_eq!(origin.document, document);
    let assigner = assignment.assigner.expect("assigner");
    assert_eq!(assigner.kind, pb::AssignerKind::CityPeoplesCommittee as i32);
    assert_eq!(assignment.document, document);
}

#[test]
fn every_other_task_event_reads_as_written() {
    let decode = |name| {
        AssignmentEvent::decode(&fixture(name))
            .expect("decodes")
            .expect("known")
    };

    assert_eq!(
        decode("task_reassigned_v1"),
        AssignmentEvent::TaskReassigned(pb::TaskReassigned {
            task_id: TASK.into(),
            previous_lead_unit: "SXD".into(),
            new_lead_unit: "STC".into(),
            previous_coordinating_units: vec!["STC".into()],
            new_coordinating_units: vec!["SXD".into()],
            reason: "Theo chỉ đạo của Chủ tịch".into(),
            supervising_leader_id: String::new(),
        })
    );
    assert_eq!(
        decode("task_hand_off_refused_v1"),
        AssignmentEvent::TaskHandOffRefused(pb::TaskHandOffRefused {
            task_id: TASK.into(),
            lead_unit: "STC".into(),
            requested_lead_unit: "SKHDT".into(),
            reason_given: "Không thuộc chức năng".into(),
        })
    );
    assert_eq!(
        decode("task_deadline_extended_v1"),
        AssignmentEvent::TaskDeadlineExtended(pb::TaskDeadlineExtended {
            task_id: TASK.into(),
            previous_deadline: "2026-12-31".into(),
            new_deadline: "2027-01-31".into(),
            reason: "Chờ ý kiến Bộ Xây dựng".into(),
            approved_by_leader_id: "pct-tran".into(),
            requested_on: String::new(),
            extension_id: String::new(),
            requested_by_unit: String::new(),
            decided_on: String::new(),
        })
    );
    assert_eq!(
        decode("task_cancelled_v1"),
        AssignmentEvent::TaskCancelled(pb::TaskCancelled {
            task_id: TASK.into(),
            reason: "Văn bản giao nhiệm vụ bị thu hồi".into(),
        })
    );
}

#[test]
fn a_directory_import_reads_as_written() {
    let event = AssignmentEvent::decode(&fixture("directory_imported_v1")).expect("decodes");

    assert_eq!(
        event,
        Some(AssignmentEvent::DirectoryImported(
            pb::UnitDirectoryImported {
                name: "Hải Phòng 2025".into(),
                valid_from: "2025-07-01".into(),
                valid_to: String::new(),
                units: vec![pb::DirectoryUnit {
                    code: "VP".into(),
                    kind: "office".into(),
                    name_vi: "Văn phòng Ủy ban nhân dân thành phố".into(),
                    name_en: "Office of the City People's Committee".into(),
                    head_title_vi: "Chánh Văn phòng".into(),
                    confidence: "known".into(),
                    email: String::new(),
                }],
            }
        ))
    );
}

#[test]
fn an_event_type_this_build_does_not_know_is_not_an_error() {
    let mut event = fixture("task_cancelled_v1");
    event.event_type = "dondoc.task.something_new".into();

    assert_eq!(AssignmentEvent::decode(&event), Ok(None));
}

#[test]
fn a_newer_version_of_a_known_type_is_refused_not_misread() {
    let mut event = fixture("task_cancelled_v1");
    event.schema_version = 2;

    assert!(matches!(
        AssignmentEvent::decode(&event),
        Err(ContractError::NewerVersion { known: 1, .. })
    ));
}

#[test]
fn bytes_that_do_not_match_their_type_are_malformed() {
    let mut event = fixture("task_cancelled_v1");
    event.payload = vec![0xff, 0xff, 0xff];

    assert!(matches!(
        AssignmentEvent::decode(&event),
        Err(ContractError::Malformed { .. })
    ));
}

#[test]
fn a_v1_assignment_that_is_not_a_v1_payload_cannot_be_upcast() {
    let mut event = fixture("task_assigned_v1");
    event.payload = vec![0xff, 0xff, 0xff];

    assert!(matches!(
        AssignmentEvent::decode(&event),
        Err(ContractError::Upcast(_))
    ));
}

#[test]
fn every_event_round_trips_through_its_payload() {
    for name in [
        "task_assigned_v3",
        "task_extension_requested_v1",
        "task_deadline_extended_v1_requested",
        "task_extension_rejected_v1",
        "leaders_imported_v1",
        "task_reassigned_v1",
        "task_hand_off_refused_v1",
        "task_deadline_extended_v1",
        "task_cancelled_v1",
        "directory_imported_v1",
    ] {
        let recorded = fixture(name);
        let event = AssignmentEvent::decode(&recorded)
            .expect("decodes")
            .expect("known");

        assert_eq!(event.event_type().name, recorded.event_type, "{name}");
        assert_eq!(event.encode(), recorded.payload, "{name}");
    }
}

#[test]
fn a_v3_assignment_reads_with_its_origin_assigner_and_supervisor() {
    let event = AssignmentEvent::decode(&fixture("task_assigned_v3"))
        .expect("decodes")
        .expect("known");

    let AssignmentEvent::TaskAssigned(assigned) = event else {
        panic!("an assignment: {event:?}");
    };
    let origin = assigned.origin.expect("origin");
    assert_eq!(origin.kind, pb::OriginKind::Ministry as i32);
    assert_eq!(origin.issuing_body, "Bộ Xây dựng");
    assert_eq!(origin.document.expect("document").symbol, "BXD-QLN");
    let assignment = assigned.assignment.expect("assignment");
    assert_eq!(assignment.assigner.expect("assigner").leader_id, "pct-tran");
    assert_eq!(assignment.document.expect("document").number, "4600");
    assert_eq!(assigned.supervising_leader_id, "pct-tran");
    assert_eq!(assigned.deadline, "2026-12-20");
}

#[test]
fn extension_requests_decisions_and_the_leader_directory_read_as_written() {
    let decode = |name| {
        AssignmentEvent::decode(&fixture(name))
            .expect("decodes")
            .expect("known")
    };

    assert_eq!(
        decode("task_extension_requested_v1"),
        AssignmentEvent::TaskExtensionRequested(pb::TaskExtensionRequested {
            task_id: TASK.into(),
            extension_id: "01880000-0000-7000-8000-0000000000e1".into(),
            requested_on: "2026-12-18".into(),
            current_deadline: "2026-12-20".into(),
            proposed_deadline: "2027-01-15".into(),
            reason: "Chờ số liệu của các xã".into(),
            requested_by_unit: "SXD".into(),
        })
    );
    assert_eq!(
        decode("task_deadline_extended_v1_requested"),
        AssignmentEvent::TaskDeadlineExtended(pb::TaskDeadlineExtended {
            task_id: TASK.into(),
            previous_deadline: "2026-12-20".into(),
            new_deadline: "2027-01-15".into(),
            reason: "Đồng ý gia hạn".into(),
            approved_by_leader_id: "pct-tran".into(),
            requested_on: "2026-12-18".into(),
            extension_id: "01880000-0000-7000-8000-0000000000e1".into(),
            requested_by_unit: "SXD".into(),
            decided_on: "2026-12-22".into(),
        })
    );
    assert_eq!(
        decode("task_extension_rejected_v1"),
        AssignmentEvent::TaskExtensionRejected(pb::TaskExtensionRejected {
            task_id: TASK.into(),
            extension_id: "01880000-0000-7000-8000-0000000000e2".into(),
            requested_on: "2027-01-12".into(),
            decided_on: "2027-01-14".into(),
            rejected_by_leader_id: "ct-nguyen".into(),
            reason: "Đã gia hạn một lần".into(),
        })
    );
    let AssignmentEvent::LeadersImported(leaders) = decode("leaders_imported_v1") else {
        panic!("the leader directory");
    };
    assert_eq!(leaders.leaders[0].id, "pct-tran");
    assert_eq!(leaders.leaders[0].supervised_units, ["SXD", "STC"]);
}

#[test]
fn an_older_deadline_extension_reads_with_the_new_fields_empty() {
    let event = AssignmentEvent::decode(&fixture("task_deadline_extended_v1"))
        .expect("decodes")
        .expect("known");

    let AssignmentEvent::TaskDeadlineExtended(extended) = event else {
        panic!("an extension");
    };
    assert_eq!(extended.requested_on, "");
    assert_eq!(extended.decided_on, "");
    assert_eq!(extended.approved_by_leader_id, "pct-tran");
}
