//! Protobuf ↔ domain conversions for the gRPC adapter, in one place so that wire types never
//! reach the domain and domain types never leak onto the wire.

use dondoc_eventsourcing::event::to_timestamp;
use dondoc_proto::v1 as pb;

use crate::domain::values::format_date;
use crate::domain::{AssignTaskInput, DirectoryVersion, TaskRecord, TaskStatus, Unit};
use crate::events::values::{
    issuer_kind_from_proto, issuer_to_proto, priority_from_proto, priority_to_proto,
    source_document_to_proto, task_status_to_proto,
};

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

/// The raw assignment input; validation happens in the domain.
pub fn assign_input(request: &pb::AssignTaskRequest) -> AssignTaskInput {
    let issuer = request.issuer.clone().unwrap_or_default();
    let document = request.source_document.clone().unwrap_or_default();
    let (deadline, no_deadline) = match &request.term {
        Some(pb::assign_task_request::Term::Deadline(date)) => (Some(date.clone()), false),
        Some(pb::assign_task_request::Term::NoDeadline(flag)) => (None, *flag),
        None => (None, false),
    };
    AssignTaskInput {
        issuer_kind: pb::IssuerKind::try_from(issuer.kind)
            .ok()
            .and_then(issuer_kind_from_proto),
        leader_id: issuer.leader_id,
        leader_name: issuer.leader_name,
        number: document.number,
        symbol: document.symbol,
        document_date: document.date,
        summary: document.summary,
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

pub fn task_to_proto(record: &TaskRecord) -> pb::Task {
    pb::Task {
        task_id: record.task_id.to_string(),
        issuer: Some(issuer_to_proto(&record.issuer)),
        source_document: Some(source_document_to_proto(&record.source_document)),
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
    }
}
