//! Handler results → protobuf.

use chrono::NaiveDate;
use dondoc_proto::v1 as pb;

use crate::domain::dossier::Dossier;
use crate::domain::register::{RegisterKind, RegisteredDocument, Secrecy};
use crate::domain::{Review, Settlement, TaskStatus, Timeliness};
use crate::events::register::urgency_to_proto;
use crate::handlers::{DossierView, ExecutionView};

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn status_to_proto(status: TaskStatus) -> pb::TaskStatus {
    match status {
        TaskStatus::Assigned => pb::TaskStatus::Assigned,
        TaskStatus::InProgress => pb::TaskStatus::InProgress,
        TaskStatus::AwaitingConfirmation => pb::TaskStatus::AwaitingConfirmation,
        TaskStatus::Completed => pb::TaskStatus::Completed,
        TaskStatus::ReturnedForRework => pb::TaskStatus::ReturnedForRework,
        TaskStatus::Cancelled => pb::TaskStatus::Cancelled,
    }
}

pub fn status_from_proto(raw: i32) -> Option<TaskStatus> {
    match pb::TaskStatus::try_from(raw).ok()? {
        pb::TaskStatus::Unspecified => None,
        pb::TaskStatus::Assigned => Some(TaskStatus::Assigned),
        pb::TaskStatus::InProgress => Some(TaskStatus::InProgress),
        pb::TaskStatus::AwaitingConfirmation => Some(TaskStatus::AwaitingConfirmation),
        pb::TaskStatus::Completed => Some(TaskStatus::Completed),
        pb::TaskStatus::ReturnedForRework => Some(TaskStatus::ReturnedForRework),
        pb::TaskStatus::Cancelled => Some(TaskStatus::Cancelled),
    }
}

fn timeliness_to_proto(t: Timeliness) -> pb::Timeliness {
    match t {
        Timeliness::OnTime => pb::Timeliness::OnTime,
        Timeliness::Late => pb::Timeliness::Late,
        Timeliness::NoDeadline => pb::Timeliness::NoDeadline,
    }
}

pub fn execution_to_proto(view: &ExecutionView) -> pb::Execution {
    let facts = &view.facts;
    let state = &view.state;
    let (timeliness, days_late) = match state.completed().and_then(|s| s.review.as_ref()) {
        Some(Review::Accepted {
            timeliness,
            days_late,
            ..
        }) => (timeliness_to_proto(*timeliness), *days_late),
        _ => (pb::Timeliness::Unspecified, 0),
    };
    pb::Execution {
        task_id: facts.task_id.clone(),
        status: status_to_proto(view.status) as i32,
        task: Some(pb::ExecutionTask {
            title: facts.title.clone(),
            lead_unit: facts.lead_unit.clone(),
            coordinating_units: facts.coordinating_units.clone(),
            deadline: facts.current_deadline().map(iso).unwrap_or_default(),
            assigning_leader_id: facts.assigning_leader_id.clone().unwrap_or_default(),
            supervising_leader_id: facts.supervising_leader_id.clone().unwrap_or_default(),
            assigned_on: iso(facts.assigned_on),
        }),
        version: view.version,
        acknowledged_on: state.acknowledged_on.map(iso).unwrap_or_default(),
        percent: state.percent(),
        reports: state
            .reports
            .iter()
            .map(|r| pb::ProgressReport {
                percent: r.percent,
                narrative: r.narrative.clone(),
                reported_on: iso(r.reported_on),
                reported_by: facts.lead_unit.clone(),
                documents: r
                    .documents
                    .iter()
                    .map(crate::events::document_to_proto)
                    .collect(),
            })
            .collect(),
        coordinations: state
            .coordinations
            .iter()
            .map(|c| {
                let (state, reply, settled_on) = match &c.settled {
                    None => (
                        pb::CoordinationState::AwaitingReply,
                        String::new(),
                        String::new(),
                    ),
                    Some(Settlement::Answered { reply, on }) => {
                        (pb::CoordinationState::Answered, reply.clone(), iso(*on))
                    }
                    Some(Settlement::DeemedAgreed { on }) => {
                        (pb::CoordinationState::DeemedAgreed, String::new(), iso(*on))
                    }
                };
                pb::Coordination {
                    coordination_id: c.coordination_id.clone(),
                    unit: c.unit.clone(),
                    request: c.request.clone(),
                    reply_due: iso(c.reply_due),
                    state: state as i32,
                    reply,
                    settled_on,
                }
            })
            .collect(),
        difficulties: state
            .difficulties
            .iter()
            .map(|d| pb::Difficulty {
                difficulty_id: d.difficulty_id.clone(),
                description: d.description.clone(),
                proposed_solution: d.proposed_solution.clone(),
                reported_on: iso(d.reported_on),
                direction: d
                    .direction
                    .as_ref()
                    .map(|x| x.text.clone())
                    .unwrap_or_default(),
                directed_by_leader_id: d
                    .direction
                    .as_ref()
                    .map(|x| x.leader_id.clone())
                    .unwrap_or_default(),
                directed_on: d.direction.as_ref().map(|x| iso(x.on)).unwrap_or_default(),
            })
            .collect(),
        submissions: state
            .submissions
            .iter()
            .map(|s| {
                let (verdict, note, reviewed_on) = match &s.review {
                    None => (
                        pb::SubmissionVerdict::AwaitingReview,
                        String::new(),
                        String::new(),
                    ),
                    Some(Review::Accepted { on, .. }) => {
                        (pb::SubmissionVerdict::Accepted, String::new(), iso(*on))
                    }
                    Some(Review::Returned { reason, on }) => {
                        (pb::SubmissionVerdict::Returned, reason.clone(), iso(*on))
                    }
                };
                pb::ResultSubmission {
                    submission_id: s.submission_id.clone(),
                    summary: s.summary.clone(),
                    submitted_on: iso(s.submitted_on),
                    deadline_then: s.deadline_then.map(iso).unwrap_or_default(),
                    verdict: verdict as i32,
                    review_note: note,
                    reviewed_on,
                    documents: s
                        .documents
                        .iter()
                        .map(crate::events::document_to_proto)
                        .collect(),
                }
            })
            .collect(),
        timeliness: timeliness as i32,
        days_late,
        updated_at: view.updated_at.map(|t| prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
        }),
        refused_hand_offs: state.refused_hand_offs,
        extensions: state
            .extensions
            .iter()
            .map(|e| {
                let decision = facts.decision_on(&e.extension_id);
                let extension_state = match decision {
                    None => pb::ExtensionState::Pending,
                    Some(d) if d.approved => pb::ExtensionState::Approved,
                    Some(_) => pb::ExtensionState::Rejected,
                };
                pb::ExecutionExtension {
                    extension_id: e.extension_id.clone(),
                    requested_on: iso(e.requested_on),
                    current_deadline: iso(e.current_deadline),
                    proposed_deadline: iso(e.proposed_deadline),
                    reason: e.reason.clone(),
                    state: extension_state as i32,
                    decided_on: decision.map(|d| iso(d.decided_on)).unwrap_or_default(),
                    new_deadline: decision
                        .and_then(|d| d.new_deadline)
                        .map(iso)
                        .unwrap_or_default(),
                }
            })
            .collect(),
    }
}

/// A registered document (without its content).
pub fn document_to_proto(d: &RegisteredDocument) -> pb::RegisteredDocument {
    pb::RegisteredDocument {
        document_id: d.document_id(),
        register: match d.kind {
            RegisterKind::Incoming => pb::RegisterKind::Incoming,
            RegisterKind::Outgoing => pb::RegisterKind::Outgoing,
        } as i32,
        year: d.year,
        number: d.number,
        number_label: d.number_label(),
        document_type: d.document_type.clone(),
        issuer_number: d.issuer_number.clone(),
        symbol: d.symbol.clone(),
        issued_on: iso(d.issued_on),
        summary: d.summary.clone(),
        issuing_body: d.issuing_body.clone(),
        signer: d.signer.clone(),
        urgency: urgency_to_proto(d.urgency) as i32,
        secrecy: match d.secrecy {
            Secrecy::Normal => pb::Secrecy::Normal,
            Secrecy::Confidential => pb::Secrecy::Confidential,
            Secrecy::Secret => pb::Secrecy::Secret,
            Secrecy::TopSecret => pb::Secrecy::TopSecret,
        } as i32,
        task_id: d.task_id.clone().unwrap_or_default(),
        file_name: d.file_name.clone(),
        media_type: d.media_type.clone(),
        sha256: d.sha256.clone(),
        size: d.size,
        registered_on: iso(d.registered_on),
        content: Vec::new(),
        content_verified: false,
    }
}

pub fn dossier_to_proto(view: &DossierView) -> pb::Dossier {
    let (state, closed_on, archived_on, reference) = match &view.state {
        Dossier::Open => (pb::DossierState::Open, None, None, String::new()),
        Dossier::Closed { on } => (pb::DossierState::Closed, Some(*on), None, String::new()),
        Dossier::Archived {
            closed_on,
            on,
            reference,
        } => (
            pb::DossierState::Archived,
            Some(*closed_on),
            Some(*on),
            reference.clone(),
        ),
    };
    pb::Dossier {
        task_id: view.facts.task_id.clone(),
        title: view.facts.title.clone(),
        state: state as i32,
        closed_on: closed_on.map(iso).unwrap_or_default(),
        archived_on: archived_on.map(iso).unwrap_or_default(),
        archive_reference: reference,
        entries: view
            .entries
            .iter()
            .map(|e| pb::DossierEntry {
                kind: e.kind.to_owned(),
                date: e.date.clone(),
                summary: e.summary.clone(),
                reference: e.reference.clone(),
                document_id: e.document_id.clone(),
                sha256: e.sha256.clone(),
            })
            .collect(),
        version: view.version,
    }
}
