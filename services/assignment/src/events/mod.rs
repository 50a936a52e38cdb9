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
    AssignmentEvent, DIRECTORY_IMPORTED, LEADERS_IMPORTED, TASK_ASSIGNED, TASK_CANCELLED,
    TASK_DEADLINE_EXTENDED, TASK_EXTENSION_REJECTED, TASK_EXTENSION_REQUESTED,
    TASK_HAND_OFF_REFUSED, TASK_REASSIGNED,
};
use dondoc_eventsourcing::{DecodeError, DomainEvent};
use dondoc_proto::v1 as pb;

use crate::domain::directory::{Confidence, DirectoryEvent, DirectoryVersion, Unit, UnitKind};
use crate::domain::leaders::{Leader, LeaderEvent, LeaderTitle};
use crate::domain::task::TaskEvent;
use crate::domain::values::{
    Assigner, Assignment, Origin, Priority, SourceDocument, TaskId, UnitCode, format_date,
    parse_date,
};
use values::{
    assigner_kind_from_proto, assignment_to_proto, codes, non_empty, optional_date,
    origin_kind_from_proto, origin_to_proto, priority_from_proto, priority_to_proto,
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

// ---------------------------------------------------------------------------------------------
// Decoding helpers.

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

    fn optional_unit(&self, field: &str, raw: &str) -> Result<Option<UnitCode>, DecodeError> {
        if raw.is_empty() {
            return Ok(None);
        }
        self.unit(field, raw).map(Some)
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

    fn document(
        &self,
        field: &str,
        document: Option<&pb::SourceDocument>,
    ) -> Result<SourceDocument, DecodeError> {
        let document = document.ok_or_else(|| self.malformed(format!("{field} is missing")))?;
        Ok(SourceDocument {
            number: document.number.clone(),
            symbol: document.symbol.clone(),
            date: self.date(&format!("{field}.date"), &document.date)?,
            summary: document.summary.clone(),
        })
    }

    fn origin(&self, origin: Option<&pb::TaskOrigin>) -> Result<Origin, DecodeError> {
        let origin = origin.ok_or_else(|| self.malformed("origin is missing"))?;
        let kind = pb::OriginKind::try_from(origin.kind)
            .ok()
            .and_then(origin_kind_from_proto)
            .ok_or_else(|| self.malformed(format!("origin.kind {} is not valid", origin.kind)))?;
        Ok(Origin {
            kind,
            issuing_body: non_empty(&origin.issuing_body),
            document: origin
                .document
                .as_ref()
                .map(|d| self.document("origin.document", Some(d)))
                .transpose()?,
        })
    }

    fn assignment(
        &self,
        assignment: Option<&pb::TaskAssignment>,
    ) -> Result<Assignment, DecodeError> {
        let assignment = assignment.ok_or_else(|| self.malformed("assignment is missing"))?;
        let assigner = assignment
            .assigner
            .as_ref()
            .ok_or_else(|| self.malformed("assignment.assigner is missing"))?;
        let kind = pb::AssignerKind::try_from(assigner.kind)
            .ok()
            .and_then(assigner_kind_from_proto)
            .ok_or_else(|| {
                self.malformed(format!(
                    "assignment.assigner.kind {} is not valid",
                    assigner.kind
                ))
            })?;
        Ok(Assignment {
            assigner: Assigner {
                kind,
                leader_id: non_empty(&assigner.leader_id),
                leader_name: non_empty(&assigner.leader_name),
            },
            document: self.document("assignment.document", assignment.document.as_ref())?,
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
                origin: p.origin(m.origin.as_ref())?,
                assignment: p.assignment(m.assignment.as_ref())?,
                title: m.title,
                content: m.content,
                lead_unit: p.unit("lead_unit", &m.lead_unit)?,
                coordinating_units: p.units("coordinating_units", &m.coordinating_units)?,
                deadline: p.optional_date("deadline", &m.deadline)?,
                priority: p.priority(m.priority)?,
                assigned_on: p.date("assigned_on", &m.assigned_on)?,
                supervising_leader_id: non_empty(&m.supervising_leader_id),
                historical: m.historical.then_some(m.import_reason),
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
                supervising_leader_id: non_empty(&m.supervising_leader_id),
            }),
            AssignmentEvent::TaskHandOffRefused(m) => Ok(TaskEvent::HandOffRefused {
                task_id: p.task_id(&m.task_id)?,
                lead_unit: p.unit("lead_unit", &m.lead_unit)?,
                requested_lead_unit: p.unit("requested_lead_unit", &m.requested_lead_unit)?,
                reason_given: m.reason_given,
            }),
            AssignmentEvent::TaskExtensionRequested(m) => Ok(TaskEvent::ExtensionRequested {
                task_id: p.task_id(&m.task_id)?,
                extension_id: m.extension_id,
                requested_on: p.date("requested_on", &m.requested_on)?,
                current_deadline: p.date("current_deadline", &m.current_deadline)?,
                proposed_deadline: p.date("proposed_deadline", &m.proposed_deadline)?,
                reason: m.reason,
                requested_by_unit: p.optional_unit("requested_by_unit", &m.requested_by_unit)?,
            }),
            AssignmentEvent::TaskDeadlineExtended(m) => Ok(TaskEvent::DeadlineExtended {
                task_id: p.task_id(&m.task_id)?,
                previous_deadline: p.optional_date("previous_deadline", &m.previous_deadline)?,
                new_deadline: p.date("new_deadline", &m.new_deadline)?,
                reason: m.reason,
                approved_by_leader: non_empty(&m.approved_by_leader_id),
                requested_on: p.optional_date("requested_on", &m.requested_on)?,
                extension_id: non_empty(&m.extension_id),
                requested_by_unit: p.optional_unit("requested_by_unit", &m.requested_by_unit)?,
                decided_on: p.optional_date("decided_on", &m.decided_on)?,
            }),
            AssignmentEvent::TaskExtensionRejected(m) => Ok(TaskEvent::ExtensionRejected {
                task_id: p.task_id(&m.task_id)?,
                extension_id: m.extension_id,
                requested_on: p.date("requested_on", &m.requested_on)?,
                decided_on: p.date("decided_on", &m.decided_on)?,
                rejected_by_leader: m.rejected_by_leader_id,
                reason: m.reason,
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
            TaskEvent::ExtensionRequested { .. } => TASK_EXTENSION_REQUESTED,
            TaskEvent::DeadlineExtended { .. } => TASK_DEADLINE_EXTENDED,
            TaskEvent::ExtensionRejected { .. } => TASK_EXTENSION_REJECTED,
            TaskEvent::Cancelled { .. } => TASK_CANCELLED,
        }
    }
}

/// The published form of a task event.
fn to_contract(event: &TaskEvent) -> AssignmentEvent {
    match event {
        TaskEvent::Assigned {
            task_id,
            origin,
            assignment,
            title,
            content,
            lead_unit,
            coordinating_units,
            deadline,
            priority,
            assigned_on,
            supervising_leader_id,
            historical,
        } => AssignmentEvent::TaskAssigned(pb::TaskAssigned {
            task_id: task_id.to_string(),
            origin: Some(origin_to_proto(origin)),
            assignment: Some(assignment_to_proto(assignment)),
            title: title.clone(),
            content: content.clone(),
            lead_unit: lead_unit.as_str().to_owned(),
            coordinating_units: codes(coordinating_units),
            deadline: optional_date(*deadline),
            priority: priority_to_proto(*priority).into(),
            assigned_on: format_date(*assigned_on),
            supervising_leader_id: supervising_leader_id.clone().unwrap_or_default(),
            historical: historical.is_some(),
            import_reason: historical.clone().unwrap_or_default(),
        }),
        TaskEvent::Reassigned {
            task_id,
            previous_lead_unit,
            new_lead_unit,
            previous_coordinating_units,
            new_coordinating_units,
            reason,
            supervising_leader_id,
        } => AssignmentEvent::TaskReassigned(pb::TaskReassigned {
            task_id: task_id.to_string(),
            previous_lead_unit: previous_lead_unit.as_str().to_owned(),
            new_lead_unit: new_lead_unit.as_str().to_owned(),
            previous_coordinating_units: codes(previous_coordinating_units),
            new_coordinating_units: codes(new_coordinating_units),
            reason: reason.clone(),
            supervising_leader_id: supervising_leader_id.clone().unwrap_or_default(),
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
        TaskEvent::ExtensionRequested {
            task_id,
            extension_id,
            requested_on,
            current_deadline,
            proposed_deadline,
            reason,
            requested_by_unit,
        } => AssignmentEvent::TaskExtensionRequested(pb::TaskExtensionRequested {
            task_id: task_id.to_string(),
            extension_id: extension_id.clone(),
            requested_on: format_date(*requested_on),
            current_deadline: format_date(*current_deadline),
            proposed_deadline: format_date(*proposed_deadline),
            reason: reason.clone(),
            requested_by_unit: requested_by_unit
                .as_ref()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default(),
        }),
        TaskEvent::DeadlineExtended {
            task_id,
            previous_deadline,
            new_deadline,
            reason,
            approved_by_leader,
            requested_on,
            extension_id,
            requested_by_unit,
            decided_on,
        } => AssignmentEvent::TaskDeadlineExtended(pb::TaskDeadlineExtended {
            task_id: task_id.to_string(),
            previous_deadline: optional_date(*previous_deadline),
            new_deadline: format_date(*new_deadline),
            reason: reason.clone(),
            approved_by_leader_id: approved_by_leader.clone().unwrap_or_default(),
            requested_on: optional_date(*requested_on),
            extension_id: extension_id.clone().unwrap_or_default(),
            requested_by_unit: requested_by_unit
                .as_ref()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default(),
            decided_on: optional_date(*decided_on),
        }),
        TaskEvent::ExtensionRejected {
            task_id,
            extension_id,
            requested_on,
            decided_on,
            rejected_by_leader,
            reason,
        } => AssignmentEvent::TaskExtensionRejected(pb::TaskExtensionRejected {
            task_id: task_id.to_string(),
            extension_id: extension_id.clone(),
            requested_on: format_date(*requested_on),
            decided_on: format_date(*decided_on),
            rejected_by_leader_id: rejected_by_leader.clone(),
            reason: reason.clone(),
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
                            email: unit.email.clone().unwrap_or_default(),
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
                    email: non_empty(&unit.email),
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

// ---------------------------------------------------------------------------------------------
// Leader directory events.

impl DomainEvent for LeaderEvent {
    fn event_type(&self) -> &'static str {
        LEADERS_IMPORTED.name
    }

    fn schema_version(&self) -> u32 {
        LEADERS_IMPORTED.version
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            LeaderEvent::Imported(leaders) => {
                AssignmentEvent::LeadersImported(pb::LeaderDirectoryImported {
                    leaders: leaders.iter().map(leader_to_proto).collect(),
                })
                .encode()
            }
        }
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        let p = Payload { event_type };
        let AssignmentEvent::LeadersImported(m) = contract(event_type, schema_version, payload)?
        else {
            return Err(DecodeError::UnknownType {
                event_type: event_type.to_owned(),
                schema_version,
            });
        };
        let leaders = m
            .leaders
            .iter()
            .enumerate()
            .map(|(i, leader)| {
                let field = |name: &str| format!("leaders[{i}].{name}");
                Ok(Leader {
                    id: leader.id.clone(),
                    full_name: leader.full_name.clone(),
                    title: LeaderTitle::parse(&leader.title)
                        .map_err(|e| p.malformed(format!("{}: {e}", field("title"))))?,
                    valid_from: p.date(&field("valid_from"), &leader.valid_from)?,
                    valid_to: p.optional_date(&field("valid_to"), &leader.valid_to)?,
                    supervised_units: p
                        .units(&field("supervised_units"), &leader.supervised_units)?,
                    supervised_fields: leader.supervised_fields.clone(),
                    email: non_empty(&leader.email),
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        Ok(LeaderEvent::Imported(leaders))
    }
}

/// The published (and API) form of a leader's term.
pub fn leader_to_proto(leader: &Leader) -> pb::DirectoryLeader {
    pb::DirectoryLeader {
        id: leader.id.clone(),
        full_name: leader.full_name.clone(),
        title: leader.title.as_str().to_owned(),
        valid_from: format_date(leader.valid_from),
        valid_to: optional_date(leader.valid_to),
        supervised_units: codes(&leader.supervised_units),
        supervised_fields: leader.supervised_fields.clone(),
        email: leader.email.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
