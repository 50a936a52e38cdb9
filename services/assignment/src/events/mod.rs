//! The assignment service's domain events ↔ the published language (`dondoc_contracts::assignment`).
//!
//! The contracts crate owns each event's type name, schema version, protobuf message and
//! upcasters; this codec only maps the domain's events to and from those messages, so the
//! producer and its consumers cannot disagree about what is on the wire.
//!
//! Decoding trusts stored facts: texts are taken as stored (no length re-check, so a tightened
//! limit never makes history unreadable); only what the domain types cannot represent (a
//! malformed date or unit code, an unknown enum value) is a [`DecodeError`].

pub mod values;

use chrono::NaiveDate;
use dondoc_contracts::ContractError;
use dondoc_contracts::assignment::{
    AssignmentEvent, DIRECTORY_IMPORTED, TASK_ASSIGNED, TASK_CANCELLED, TASK_DEADLINE_EXTENDED,
    TASK_HAND_OFF_REFUSED, TASK_REASSIGNED,
};
use dondoc_eventsourcing::{DecodeError, DomainEvent};
use dondoc_proto::v1 as pb;

use crate::domain::directory::{Confidence, DirectoryEvent, DirectoryVersion, Unit, UnitKind};
use crate::domain::task::TaskEvent;
use crate::domain::values::{
    Issuer, Priority, SourceDocument, TaskId, UnitCode, format_date, parse_date,
};
use values::{
    codes, issuer_kind_from_proto, issuer_to_proto, non_empty, optional_date, priority_from_proto,
    priority_to_proto, source_document_to_proto,
};

/// The upcasters of every event type this service stores (owned by the contracts crate).
pub fn upcasters() -> dondoc_eventsourcing::Upcasters {
    dondoc_contracts::assignment::upcasters()
}

/// Reads a payload at its current version through the contract.
fn contract(
    event_type: &str,
    schema_version: u32,
    payload: &[u8],
) -> Result<AssignmentEvent, DecodeError> {
    let unknown = || DecodeError::UnknownType {
        event_type: event_type.to_owned(),
        schema_version,
    };
    match AssignmentEvent::decode_current(event_type, schema_version, payload) {
        Ok(Some(event)) => Ok(event),
        Ok(None) => Err(unknown()),
        Err(ContractError::Malformed { reason, .. }) => Err(DecodeError::Malformed {
            event_type: event_type.to_owned(),
            reason,
        }),
        Err(ContractError::NewerVersion { .. } | ContractError::Upcast(_)) => Err(unknown()),
    }
}

struct Payload<'a> {
    event_type: &'a str,
}

impl Payload<'_> {
    fn malformed(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError::Malformed {
            event_type: self.event_type.to_owned(),
            reason: reason.into(),
        }
    }

    fn task_id(&self, raw: &str) -> Result<TaskId, DecodeError> {
        TaskId::parse(raw).map_err(|e| self.malformed(format!("task_id: {e}")))
    }

    fn unit(&self, field: &str, raw: &str) -> Result<UnitCode, DecodeError> {
        UnitCode::parse(raw).map_err(|e| self.malformed(format!("{field}: {e}")))
    }

    fn units(&self, field: &str, raw: &[String]) -> Result<Vec<UnitCode>, DecodeError> {
        raw.iter().map(|code| self.unit(field, code)).collect()
    }

    fn date(&self, field: &str, raw: &str) -> Result<NaiveDate, DecodeError> {
        parse_date(raw).map_err(|e| self.malformed(format!("{field}: {e}")))
    }

    fn optional_date(&self, field: &str, raw: &str) -> Result<Option<NaiveDate>, DecodeError> {
        if raw.is_empty() {
            return Ok(None);
        }
        self.date(field, raw).map(Some)
    }

    fn issuer(&self, issuer: Option<&pb::Issuer>) -> Result<Issuer, DecodeError> {
        let issuer = issuer.ok_or_else(|| self.malformed("issuer is missing"))?;
        let kind = pb::IssuerKind::try_from(issuer.kind)
            .ok()
            .and_then(issuer_kind_from_proto)
            .ok_or_else(|| self.malformed(format!("issuer.kind {} is not valid", issuer.kind)))?;
        Ok(Issuer {
            kind,
            leader_id: non_empty(&issuer.leader_id),
            leader_name: non_empty(&issuer.leader_name),
        })
    }

    fn source_document(
        &self,
        document: Option<&pb::SourceDocument>,
    ) -> Result<SourceDocument, DecodeError> {
        let document = document.ok_or_else(|| self.malformed("source_document is missing"))?;
        Ok(SourceDocument {
            number: document.number.clone(),
            symbol: document.symbol.clone(),
            date: self.date("source_document.date", &document.date)?,
            summary: document.summary.clone(),
        })
    }

    /// Stored events predating the priority field read as Normal.
    fn priority(&self, raw: i32) -> Result<Priority, DecodeError> {
        let priority = pb::Priority::try_from(raw)
            .map_err(|_| self.malformed(format!("priority {raw} is not valid")))?;
        Ok(priority_from_proto(priority).unwrap_or_default())
    }
}

// ---------------------------------------------------------------------------------------------
// Task events.

impl DomainEvent for TaskEvent {
    fn event_type(&self) -> &'static str {
        self.contract_type().name
    }

    fn schema_version(&self) -> u32 {
        self.contract_type().version
    }

    fn encode(&self) -> Vec<u8> {
        to_contract(self).encode()
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        let p = Payload { event_type };
        match contract(event_type, schema_version, payload)? {
            AssignmentEvent::TaskAssigned(m) => Ok(TaskEvent::Assigned {
                task_id: p.task_id(&m.task_id)?,
                issuer: p.issuer(m.issuer.as_ref())?,
                source_document: p.source_document(m.source_document.as_ref())?,
                title: m.title,
                content: m.content,
                lead_unit: p.unit("lead_unit", &m.lead_unit)?,
                coordinating_units: p.units("coordinating_units", &m.coordinating_units)?,
                deadline: p.optional_date("deadline", &m.deadline)?,
                priority: p.priority(m.priority)?,
                assigned_on: p.date("assigned_on", &m.assigned_on)?,
            }),
            AssignmentEvent::TaskReassigned(m) => Ok(TaskEvent::Reassigned {
                task_id: p.task_id(&m.task_id)?,
                previous_lead_unit: p.unit("previous_lead_unit", &m.previous_lead_unit)?,
                new_lead_unit: p.unit("new_lead_unit", &m.new_lead_unit)?,
                previous_coordinating_units: p.units(
                    "previous_coordinating_units",
                    &m.previous_coordinating_units,
                )?,
                new_coordinating_units: p
                    .units("new_coordinating_units", &m.new_coordinating_units)?,
                reason: m.reason,
            }),
            AssignmentEvent::TaskHandOffRefused(m) => Ok(TaskEvent::HandOffRefused {
                task_id: p.task_id(&m.task_id)?,
                lead_unit: p.unit("lead_unit", &m.lead_unit)?,
                requested_lead_unit: p.unit("requested_lead_unit", &m.requested_lead_unit)?,
                reason_given: m.reason_given,
            }),
            AssignmentEvent::TaskDeadlineExtended(m) => Ok(TaskEvent::DeadlineExtended {
                task_id: p.task_id(&m.task_id)?,
                previous_deadline: p.optional_date("previous_deadline", &m.previous_deadline)?,
                new_deadline: p.date("new_deadline", &m.new_deadline)?,
                reason: m.reason,
                approved_by_leader: non_empty(&m.approved_by_leader_id),
            }),
            AssignmentEvent::TaskCancelled(m) => Ok(TaskEvent::Cancelled {
                task_id: p.task_id(&m.task_id)?,
                reason: m.reason,
            }),
            _ => Err(DecodeError::UnknownType {
                event_type: event_type.to_owned(),
                schema_version,
            }),
        }
    }
}

impl TaskEvent {
    fn contract_type(&self) -> dondoc_contracts::EventType {
        match self {
            TaskEvent::Assigned { .. } => TASK_ASSIGNED,
            TaskEvent::Reassigned { .. } => TASK_REASSIGNED,
            TaskEvent::HandOffRefused { .. } => TASK_HAND_OFF_REFUSED,
            TaskEvent::DeadlineExtended { .. } => TASK_DEADLINE_EXTENDED,
            TaskEvent::Cancelled { .. } => TASK_CANCELLED,
        }
    }
}

/// The published form of a task event.
fn to_contract(event: &TaskEvent) -> AssignmentEvent {
    match event {
        TaskEvent::Assigned {
            task_id,
            issuer,
            source_document,
            title,
            content,
            lead_unit,
            coordinating_units,
            deadline,
            priority,
            assigned_on,
        } => AssignmentEvent::TaskAssigned(pb::TaskAssigned {
            task_id: task_id.to_string(),
            source_document: Some(source_document_to_proto(source_document)),
            title: title.clone(),
            content: content.clone(),
            lead_unit: lead_unit.as_str().to_owned(),
            coordinating_units: codes(coordinating_units),
            deadline: optional_date(*deadline),
            priority: priority_to_proto(*priority).into(),
            issuer: Some(issuer_to_proto(issuer)),
            assigned_on: format_date(*assigned_on),
        }),
        TaskEvent::Reassigned {
            task_id,
            previous_lead_unit,
            new_lead_unit,
            previous_coordinating_units,
            new_coordinating_units,
            reason,
        } => AssignmentEvent::TaskReassigned(pb::TaskReassigned {
            task_id: task_id.to_string(),
            previous_lead_unit: previous_lead_unit.as_str().to_owned(),
            new_lead_unit: new_lead_unit.as_str().to_owned(),
            previous_coordinating_units: codes(previous_coordinating_units),
            new_coordinating_units: codes(new_coordinating_units),
            reason: reason.clone(),
        }),
        TaskEvent::HandOffRefused {
            task_id,
            lead_unit,
            requested_lead_unit,
            reason_given,
        } => AssignmentEvent::TaskHandOffRefused(pb::TaskHandOffRefused {
            task_id: task_id.to_string(),
            lead_unit: lead_unit.as_str().to_owned(),
            requested_lead_unit: requested_lead_unit.as_str().to_owned(),
            reason_given: reason_given.clone(),
        }),
        TaskEvent::DeadlineExtended {
            task_id,
            previous_deadline,
            new_deadline,
            reason,
            approved_by_leader,
        } => AssignmentEvent::TaskDeadlineExtended(pb::TaskDeadlineExtended {
            task_id: task_id.to_string(),
            previous_deadline: optional_date(*previous_deadline),
            new_deadline: format_date(*new_deadline),
            reason: reason.clone(),
            approved_by_leader_id: approved_by_leader.clone().unwrap_or_default(),
        }),
        TaskEvent::Cancelled { task_id, reason } => {
            AssignmentEvent::TaskCancelled(pb::TaskCancelled {
                task_id: task_id.to_string(),
                reason: reason.clone(),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Directory events.

impl DomainEvent for DirectoryEvent {
    fn event_type(&self) -> &'static str {
        DIRECTORY_IMPORTED.name
    }

    fn schema_version(&self) -> u32 {
        DIRECTORY_IMPORTED.version
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            DirectoryEvent::Imported(version) => {
                AssignmentEvent::DirectoryImported(pb::UnitDirectoryImported {
                    name: version.name.clone(),
                    valid_from: format_date(version.valid_from),
                    valid_to: optional_date(version.valid_to),
                    units: version
                        .units
                        .iter()
                        .map(|unit| pb::DirectoryUnit {
                            code: unit.code.as_str().to_owned(),
                            kind: unit.kind.as_str().to_owned(),
                            name_vi: unit.name_vi.clone(),
                            name_en: unit.name_en.clone(),
                            head_title_vi: unit.head_title_vi.clone(),
                            confidence: unit.confidence.as_str().to_owned(),
                        })
                        .collect(),
                })
                .encode()
            }
        }
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        let p = Payload { event_type };
        let AssignmentEvent::DirectoryImported(m) = contract(event_type, schema_version, payload)?
        else {
            return Err(DecodeError::UnknownType {
                event_type: event_type.to_owned(),
                schema_version,
            });
        };
        let units = m
            .units
            .iter()
            .enumerate()
            .map(|(i, unit)| {
                let field = |name: &str| format!("units[{i}].{name}");
                Ok(Unit {
                    code: p.unit(&field("code"), &unit.code)?,
                    kind: UnitKind::parse(&unit.kind)
                        .map_err(|e| p.malformed(format!("{}: {e}", field("kind"))))?,
                    name_vi: unit.name_vi.clone(),
                    name_en: unit.name_en.clone(),
                    head_title_vi: unit.head_title_vi.clone(),
                    confidence: Confidence::parse(&unit.confidence)
                        .map_err(|e| p.malformed(format!("{}: {e}", field("confidence"))))?,
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        Ok(DirectoryEvent::Imported(DirectoryVersion {
            name: m.name,
            valid_from: p.date("valid_from", &m.valid_from)?,
            valid_to: p.optional_date("valid_to", &m.valid_to)?,
            units,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IssuerKind;
    use crate::domain::directory::parse_directory_toml;
    use prost::Message as _;

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

    fn round_trip<E: DomainEvent + PartialEq>(event: &E) -> E {
        E::decode(event.event_type(), event.schema_version(), &event.encode()).expect("decodes")
    }

    fn task_events() -> Vec<TaskEvent> {
        vec![
            TaskEvent::Assigned {
                task_id: task_id(),
                issuer: Issuer {
                    kind: IssuerKind::ViceChairman,
                    leader_id: Some("nguyen-van-a".into()),
                    leader_name: Some("Nguyễn Văn A".into()),
                },
                source_document: SourceDocument {
                    number: "1234".into(),
                    symbol: "UBND-VP".into(),
                    date: date(2025, 8, 1),
                    summary: "Về việc chuyển đổi số".into(),
                },
                title: "Kế hoạch chuyển đổi số".into(),
                content: "Nội dung".into(),
                lead_unit: code("SKHCN"),
                coordinating_units: vec![code("STC"), code("SNV")],
                deadline: Some(date(2025, 9, 30)),
                priority: Priority::Flash,
                assigned_on: date(2025, 8, 2),
            },
            TaskEvent::Assigned {
                task_id: task_id(),
                issuer: Issuer {
                    kind: IssuerKind::Government,
                    leader_id: None,
                    leader_name: None,
                },
                source_document: SourceDocument {
                    number: "12".into(),
                    symbol: "NQ-CP".into(),
                    date: date(2025, 1, 10),
                    summary: "Nghị quyết".into(),
                },
                title: "Thực hiện nghị quyết".into(),
                content: "Nội dung".into(),
                lead_unit: code("VP"),
                coordinating_units: vec![],
                deadline: None,
                priority: Priority::Normal,
                assigned_on: date(2025, 1, 12),
            },
            TaskEvent::Reassigned {
                task_id: task_id(),
                previous_lead_unit: code("SKHCN"),
                new_lead_unit: code("STC"),
                previous_coordinating_units: vec![code("STC")],
                new_coordinating_units: vec![],
                reason: "Theo chỉ đạo".into(),
            },
            TaskEvent::HandOffRefused {
                task_id: task_id(),
                lead_unit: code("SKHCN"),
                requested_lead_unit: code("STC"),
                reason_given: "Không thuộc chức năng".into(),
            },
            TaskEvent::DeadlineExtended {
                task_id: task_id(),
                previous_deadline: Some(date(2025, 9, 30)),
                new_deadline: date(2025, 10, 31),
                reason: "Vướng mắc".into(),
                approved_by_leader: Some("nguyen-van-a".into()),
            },
            TaskEvent::DeadlineExtended {
                task_id: task_id(),
                previous_deadline: Some(date(2025, 10, 31)),
                new_deadline: date(2025, 11, 30),
                reason: "Vướng mắc".into(),
                approved_by_leader: None,
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
    fn task_events_have_their_stable_type_names_and_versions() {
        let names: Vec<_> = task_events()
            .iter()
            .map(|e| (e.event_type(), e.schema_version()))
            .collect();

        assert_eq!(
            names,
            [
                ("dondoc.task.assigned", 2),
                ("dondoc.task.assigned", 2),
                ("dondoc.task.reassigned", 1),
                ("dondoc.task.hand_off_refused", 1),
                ("dondoc.task.deadline_extended", 1),
                ("dondoc.task.deadline_extended", 1),
                ("dondoc.task.cancelled", 1),
            ]
        );
    }

    #[test]
    fn the_directory_event_round_trips_through_its_payload() {
        let seed = include_str!("../../seed/haiphong-units.toml");
        for version in parse_directory_toml(seed).expect("seed parses") {
            let event = DirectoryEvent::Imported(version);

            assert_eq!(event.event_type(), "dondoc.directory.imported");
            assert_eq!(round_trip(&event), event);
        }
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
}
