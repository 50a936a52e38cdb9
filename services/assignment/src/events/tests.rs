//! Every domain event round-trips through its published payload, at the version it is written.

use chrono::NaiveDate;
use dondoc_eventsourcing::{DecodeError, DomainEvent};
use prost::Message as _;

use super::*;
use crate::domain::directory::parse_directory_toml;
use crate::domain::leaders::parse_leaders_toml;
use crate::domain::values::{AssignerKind, OriginKind};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn code(raw: &str) -> UnitCode {
    UnitCode::parse(raw).expect("valid code")
}

fn task_id() -> TaskId {
    TaskId::from_uuid(uuid::Uuid::from_u128(
        0x0198_0000_0000_7000_8000_0000_0000_0001,
    ))
}

fn document(number: &str) -> SourceDocument {
    SourceDocument {
        number: number.into(),
        symbol: "UBND-VP".into(),
        date: date(2025, 8, 1),
        summary: "Về việc chuyển đổi số".into(),
    }
}

fn round_trip<E: DomainEvent + PartialEq>(event: &E) -> E {
    E::decode(event.event_type(), event.schema_version(), &event.encode()).expect("decodes")
}

fn task_events() -> Vec<TaskEvent> {
    vec![
        TaskEvent::Assigned {
            task_id: task_id(),
            origin: Origin {
                kind: OriginKind::Ministry,
                issuing_body: Some("Bộ Khoa học và Công nghệ".into()),
                document: Some(document("12")),
            },
            assignment: Assignment {
                assigner: Assigner {
                    kind: AssignerKind::ViceChairman,
                    leader_id: Some("pct-hoang".into()),
                    leader_name: Some("Hoàng Minh Đức".into()),
                },
                document: document("1234"),
            },
            title: "Kế hoạch chuyển đổi số".into(),
            content: "Nội dung".into(),
            lead_unit: code("SKHCN"),
            coordinating_units: vec![code("STC"), code("SNV")],
            deadline: Some(date(2025, 9, 30)),
            priority: Priority::Flash,
            assigned_on: date(2025, 8, 2),
            supervising_leader_id: Some("pct-hoang".into()),
            historical: None,
        },
        TaskEvent::Assigned {
            task_id: task_id(),
            origin: Origin {
                kind: OriginKind::CityPeoplesCommittee,
                issuing_body: None,
                document: None,
            },
            assignment: Assignment {
                assigner: Assigner {
                    kind: AssignerKind::CityPeoplesCommittee,
                    leader_id: None,
                    leader_name: None,
                },
                document: document("55"),
            },
            title: "Thực hiện nghị quyết".into(),
            content: "Nội dung".into(),
            lead_unit: code("VP"),
            coordinating_units: vec![],
            deadline: None,
            priority: Priority::Normal,
            assigned_on: date(2024, 1, 12),
            supervising_leader_id: None,
            historical: Some("Nhập sổ theo dõi giấy năm 2024".into()),
        },
        TaskEvent::Reassigned {
            task_id: task_id(),
            previous_lead_unit: code("SKHCN"),
            new_lead_unit: code("STC"),
            previous_coordinating_units: vec![code("STC")],
            new_coordinating_units: vec![],
            reason: "Theo chỉ đạo".into(),
            supervising_leader_id: Some("pct-tran".into()),
        },
        TaskEvent::HandOffRefused {
            task_id: task_id(),
            lead_unit: code("SKHCN"),
            requested_lead_unit: code("STC"),
            reason_given: "Không thuộc chức năng".into(),
        },
        TaskEvent::ExtensionRequested {
            task_id: task_id(),
            extension_id: "ext-1".into(),
            requested_on: date(2025, 9, 30),
            current_deadline: date(2025, 9, 30),
            proposed_deadline: date(2025, 10, 31),
            reason: "Vướng mắc".into(),
            requested_by_unit: Some(code("SKHCN")),
        },
        TaskEvent::DeadlineExtended {
            task_id: task_id(),
            previous_deadline: Some(date(2025, 9, 30)),
            new_deadline: date(2025, 10, 31),
            reason: "Vướng mắc".into(),
            approved_by_leader: Some("pct-hoang".into()),
            requested_on: Some(date(2025, 9, 30)),
            extension_id: Some("ext-1".into()),
            requested_by_unit: Some(code("SKHCN")),
            decided_on: Some(date(2025, 10, 3)),
        },
        TaskEvent::ExtensionRejected {
            task_id: task_id(),
            extension_id: "ext-2".into(),
            requested_on: date(2025, 10, 20),
            decided_on: date(2025, 10, 22),
            rejected_by_leader: "ct-nguyen".into(),
            reason: "Không có căn cứ".into(),
        },
        TaskEvent::Cancelled {
            task_id: task_id(),
            reason: "Văn bản bị thu hồi".into(),
        },
    ]
}

#[test]
fn every_task_event_round_trips_through_its_payload() {
    for event in task_events() {
        assert_eq!(round_trip(&event), event);
    }
}

#[test]
fn task_events_have_their_published_type_names_and_versions() {
    let names: Vec<_> = task_events()
        .iter()
        .map(|e| (e.event_type(), e.schema_version()))
        .collect();

    assert_eq!(
        names,
        [
            ("dondoc.task.assigned", 3),
            ("dondoc.task.assigned", 3),
            ("dondoc.task.reassigned", 1),
            ("dondoc.task.hand_off_refused", 1),
            ("dondoc.task.extension_requested", 1),
            ("dondoc.task.deadline_extended", 1),
            ("dondoc.task.extension_rejected", 1),
            ("dondoc.task.cancelled", 1),
        ]
    );
}

#[test]
fn the_directories_round_trip_through_their_payloads() {
    let units = include_str!("../../seed/haiphong-units.toml");
    for version in parse_directory_toml(units).expect("seed parses") {
        let event = DirectoryEvent::Imported(version);

        assert_eq!(event.event_type(), "dondoc.directory.imported");
        assert_eq!(round_trip(&event), event);
    }
    let leaders = include_str!("../../seed/haiphong-leaders.toml");
    let event = LeaderEvent::Imported(parse_leaders_toml(leaders).expect("leaders parse"));

    assert_eq!(event.event_type(), "dondoc.leaders.imported");
    assert_eq!(round_trip(&event), event);
}

#[test]
fn garbage_is_a_decode_error() {
    let garbage = [0xff, 0xff, 0xff, 0xff, 0x0f];

    let task = TaskEvent::decode(TASK_CANCELLED.name, 1, &garbage);
    let directory = DirectoryEvent::decode(DIRECTORY_IMPORTED.name, 1, &garbage);

    assert!(matches!(task, Err(DecodeError::Malformed { .. })));
    assert!(matches!(directory, Err(DecodeError::Malformed { .. })));
}

#[test]
fn a_payload_with_an_invalid_unit_code_is_a_decode_error() {
    let payload = pb::TaskHandOffRefused {
        task_id: task_id().to_string(),
        lead_unit: "Sở KH".into(),
        requested_lead_unit: "STC".into(),
        reason_given: String::new(),
    }
    .encode_to_vec();

    let result = TaskEvent::decode(TASK_HAND_OFF_REFUSED.name, 1, &payload);

    assert!(matches!(result, Err(DecodeError::Malformed { .. })));
}

#[test]
fn unknown_types_and_versions_are_refused() {
    let payload = task_events()[0].encode();

    assert!(matches!(
        TaskEvent::decode(TASK_ASSIGNED.name, 1, &payload),
        Err(DecodeError::UnknownType { .. })
    ));
    assert!(matches!(
        TaskEvent::decode("dondoc.task.completed", 1, &payload),
        Err(DecodeError::UnknownType { .. })
    ));
    assert!(matches!(
        DirectoryEvent::decode(TASK_CANCELLED.name, 1, &payload),
        Err(DecodeError::UnknownType { .. })
    ));
}
