//! Protobuf ↔ domain conversions for the gRPC adapter, in one place so that wire types never
//! reach the domain and domain types never leak onto the wire.

use dondoc_eventsourcing::event::to_timestamp;
use dondoc_proto::v1 as pb;

use crate::domain::values::format_date;
use crate::domain::{
    AssignTaskInput, AssignerKind, DirectoryVersion, DocumentInput, ExtensionState, Leader,
    OriginKind, TaskRecord, TaskStatus, Unit,
};
use crate::events::values::{
    assigner_kind_from_proto, assignment_to_proto, deadline_class_to_proto, origin_kind_from_proto,
    origin_to_proto, priority_from_proto, priority_to_proto, source_document_to_proto,
    task_status_to_proto,
};
use crate::handlers::TaskView;

pub fn status_from_proto(value: i32) -> Option<TaskStatus> {
    match pb::TaskStatus::try_from(value).ok()? {
        pb::TaskStatus::Unspecified => None,
        pb::TaskStatus::Assigned => Some(TaskStatus::Assigned),
        pb::TaskStatus::InProgress => Some(TaskStatus::InProgress),
        pb::TaskStatus::AwaitingConfirmation => Some(TaskStatus::AwaitingConfirmation),
        pb::TaskStatus::Completed => Some(TaskStatus::Completed),
        pb::TaskStatus::ReturnedForRework => Some(TaskStatus::ReturnedForRework),
        pb::TaskStatus::Cancelled => Some(TaskStatus::Cancelled),
    }
}

fn document_input(document: &pb::SourceDocument) -> DocumentInput {
    DocumentInput {
        number: document.number.clone(),
        symbol: document.symbol.clone(),
        date: document.date.clone(),
        summary: document.summary.clone(),
    }
}

/// The raw assignment input; validation happens in the domain. A first-release request (an
/// `issuer` and one `source_document`, no `origin` or `assignment`) is read the way its stored
/// events are upcast.
pub fn assign_input(request: &pb::AssignTaskRequest) -> AssignTaskInput {
    let (origin, assignment) = match (&request.origin, &request.assignment) {
        (None, None) if request.issuer.is_some() || request.source_document.is_some() => {
            let (origin, assignment) =
                dondoc_contracts::assignment::origin_and_assignment_from_issuer(
                    &request.issuer.clone().unwrap_or_default(),
                    request.source_document.clone(),
                );
            (origin, assignment)
        }
        (origin, assignment) => (
            origin.clone().unwrap_or_default(),
            assignment.clone().unwrap_or_default(),
        ),
    };
    let assigner = assignment.assigner.unwrap_or_default();
    let (deadline, no_deadline) = match &request.term {
        Some(pb::assign_task_request::Term::Deadline(date)) => (Some(date.clone()), false),
        Some(pb::assign_task_request::Term::NoDeadline(flag)) => (None, *flag),
        None => (None, false),
    };
    AssignTaskInput {
        origin_kind: pb::OriginKind::try_from(origin.kind)
            .ok()
            .and_then(origin_kind_from_proto),
        origin_issuing_body: origin.issuing_body,
        origin_document: origin.document.as_ref().map(document_input),
        assigner_kind: pb::AssignerKind::try_from(assigner.kind)
            .ok()
            .and_then(assigner_kind_from_proto),
        assigner_leader_id: assigner.leader_id,
        assignment_document: assignment
            .document
            .as_ref()
            .map(document_input)
            .unwrap_or_default(),
        title: request.title.clone(),
        content: request.content.clone(),
        lead_unit: request.lead_unit.clone(),
        coordinating_units: request.coordinating_units.clone(),
        deadline,
        no_deadline,
        priority: pb::Priority::try_from(request.priority)
            .ok()
            .and_then(priority_from_proto),
    }
}

fn date_or_empty(date: Option<chrono::NaiveDate>) -> String {
    date.map(format_date).unwrap_or_default()
}

/// The first-release `issuer` of a task, for clients that still read it: the central body when
/// the task comes from the Government or the Prime Minister, otherwise whoever assigned it.
fn legacy_issuer(record: &TaskRecord) -> pb::Issuer {
    let assigner = &record.assignment.assigner;
    let kind = match (record.origin.kind, assigner.kind) {
        (OriginKind::Government, _) => pb::IssuerKind::Government,
        (OriginKind::PrimeMinister, _) => pb::IssuerKind::PrimeMinister,
        (OriginKind::Unclassified, _) | (_, AssignerKind::Unclassified) => {
            pb::IssuerKind::Unclassified
        }
        (_, AssignerKind::Chairman) => pb::IssuerKind::Chairman,
        (_, AssignerKind::ViceChairman) => pb::IssuerKind::ViceChairman,
        (_, AssignerKind::CityPeoplesCommittee) => pb::IssuerKind::CityPeoplesCommittee,
    };
    let leader = matches!(
        kind,
        pb::IssuerKind::Chairman | pb::IssuerKind::ViceChairman
    );
    pb::Issuer {
        kind: kind as i32,
        leader_id: if leader {
            assigner.leader_id.clone().unwrap_or_default()
        } else {
            String::new()
        },
        leader_name: match kind {
            pb::IssuerKind::Unclassified => record
                .origin
                .issuing_body
                .clone()
                .or_else(|| assigner.leader_name.clone())
                .unwrap_or_default(),
            _ if leader => assigner.leader_name.clone().unwrap_or_default(),
            _ => String::new(),
        },
    }
}

pub fn task_to_proto(view: &TaskView) -> pb::Task {
    let record = &view.record;
    let legacy_document = if record.origin.kind.is_central() {
        record.origin.document.as_ref()
    } else {
        None
    }
    .unwrap_or(&record.assignment.document);
    pb::Task {
        task_id: record.task_id.to_string(),
        issuer: Some(legacy_issuer(record)),
        source_document: Some(source_document_to_proto(legacy_document)),
        title: record.title.clone(),
        content: record.content.clone(),
        lead_unit: record.lead_unit.to_string(),
        coordinating_units: record
            .coordinating_units
            .iter()
            .map(ToString::to_string)
            .collect(),
        deadline: date_or_empty(record.deadline),
        original_deadline: date_or_empty(record.original_deadline),
        deadline_history: record
            .deadline_history
            .iter()
            .map(|change| pb::DeadlineChange {
                deadline: date_or_empty(change.deadline),
                reason: change.reason.clone(),
                changed_at: Some(to_timestamp(change.changed_at)),
                changed_by: change.changed_by.clone(),
                previous_deadline: date_or_empty(change.previous_deadline),
                approved_by_leader_id: change.approved_by_leader.clone().unwrap_or_default(),
                requested_on: date_or_empty(change.requested_on),
                decided_on: if change.is_original() {
                    String::new()
                } else {
                    date_or_empty(change.decided_on)
                },
                extension_id: change.extension_id.clone().unwrap_or_default(),
            })
            .collect(),
        reassignments: record
            .reassignments
            .iter()
            .map(|r| pb::Reassignment {
                from_lead_unit: r.from_lead_unit.to_string(),
                to_lead_unit: r.to_lead_unit.to_string(),
                reason: r.reason.clone(),
                reassigned_at: Some(to_timestamp(r.reassigned_at)),
                reassigned_by: r.reassigned_by.clone(),
            })
            .collect(),
        priority: priority_to_proto(record.priority) as i32,
        status: task_status_to_proto(record.status) as i32,
        assigned_on: format_date(record.assigned_on),
        assigned_at: Some(to_timestamp(record.assigned_at)),
        assigned_by: record.assigned_by.clone(),
        cancel_reason: record.cancel_reason.clone().unwrap_or_default(),
        version: record.version,
        refused_hand_off_attempts: record.refused_hand_off_attempts,
        origin: Some(origin_to_proto(&record.origin)),
        assignment: Some(assignment_to_proto(&record.assignment)),
        supervising_leader_id: record.supervising_leader_id.clone().unwrap_or_default(),
        deadline_class: view
            .deadline_class
            .map(deadline_class_to_proto)
            .unwrap_or(pb::DeadlineClass::Unspecified) as i32,
        refused_hand_offs: record
            .refused_hand_offs
            .iter()
            .map(|r| pb::RefusedHandOff {
                lead_unit: r.lead_unit.to_string(),
                requested_lead_unit: r.requested_lead_unit.to_string(),
                reason_given: r.reason_given.clone(),
                attempted_at: Some(to_timestamp(r.at)),
                attempted_by: r.by.clone(),
            })
            .collect(),
        extension_requests: record
            .extension_requests
            .iter()
            .map(|e| pb::ExtensionRequest {
                extension_id: e.extension_id.clone(),
                requested_on: format_date(e.requested_on),
                proposed_deadline: format_date(e.proposed_deadline),
                reason: e.reason.clone(),
                requested_by_unit: e
                    .requested_by_unit
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                state: match e.state {
                    ExtensionState::Pending => pb::ExtensionState::Pending,
                    ExtensionState::Approved => pb::ExtensionState::Approved,
                    ExtensionState::Rejected => pb::ExtensionState::Rejected,
                } as i32,
                decided_on: date_or_empty(e.decided_on),
                decided_by_leader_id: e.decided_by_leader.clone().unwrap_or_default(),
                decision_reason: e.decision_reason.clone().unwrap_or_default(),
                new_deadline: date_or_empty(e.new_deadline),
            })
            .collect(),
        historical: record.historical.is_some(),
    }
}

pub fn unit_to_proto(unit: &Unit, version: &DirectoryVersion) -> pb::Unit {
    pb::Unit {
        code: unit.code.to_string(),
        kind: unit.kind.as_str().to_owned(),
        name_vi: unit.name_vi.clone(),
        name_en: unit.name_en.clone(),
        head_title_vi: unit.head_title_vi.clone(),
        confidence: unit.confidence.as_str().to_owned(),
        directory_name: version.name.clone(),
        valid_from: format_date(version.valid_from),
        valid_to: date_or_empty(version.valid_to),
        email: unit.email.clone().unwrap_or_default(),
    }
}

pub fn leader_to_proto(leader: &Leader) -> pb::Leader {
    let published = crate::events::leader_to_proto(leader);
    pb::Leader {
        id: published.id,
        full_name: published.full_name,
        title: published.title,
        valid_from: published.valid_from,
        valid_to: published.valid_to,
        supervised_units: published.supervised_units,
        supervised_fields: published.supervised_fields,
        email: published.email,
    }
}
