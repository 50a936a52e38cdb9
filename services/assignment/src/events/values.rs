//! Domain values ↔ the shared protobuf types of `common.proto` (origin, assigner, document,
//! priority, status, deadline class): used by the event codec and by the gRPC adapter, so both
//! speak the same published language.

use chrono::NaiveDate;
use dondoc_proto::v1 as pb;

use crate::domain::values::{
    Assigner, AssignerKind, Assignment, Origin, OriginKind, Priority, SourceDocument, UnitCode,
    format_date,
};
use crate::domain::{DeadlineClass, TaskStatus};

pub fn origin_kind_to_proto(kind: OriginKind) -> pb::OriginKind {
    match kind {
        OriginKind::Government => pb::OriginKind::Government,
        OriginKind::PrimeMinister => pb::OriginKind::PrimeMinister,
        OriginKind::Ministry => pb::OriginKind::Ministry,
        OriginKind::CityPartyCommittee => pb::OriginKind::CityPartyCommittee,
        OriginKind::CityPeoplesCouncil => pb::OriginKind::CityPeoplesCouncil,
        OriginKind::CityPeoplesCommittee => pb::OriginKind::CityPeoplesCommittee,
        OriginKind::Unclassified => pb::OriginKind::Unclassified,
    }
}

/// `None` for `ORIGIN_KIND_UNSPECIFIED`.
pub fn origin_kind_from_proto(kind: pb::OriginKind) -> Option<OriginKind> {
    match kind {
        pb::OriginKind::Unspecified => None,
        pb::OriginKind::Government => Some(OriginKind::Government),
        pb::OriginKind::PrimeMinister => Some(OriginKind::PrimeMinister),
        pb::OriginKind::Ministry => Some(OriginKind::Ministry),
        pb::OriginKind::CityPartyCommittee => Some(OriginKind::CityPartyCommittee),
        pb::OriginKind::CityPeoplesCouncil => Some(OriginKind::CityPeoplesCouncil),
        pb::OriginKind::CityPeoplesCommittee => Some(OriginKind::CityPeoplesCommittee),
        pb::OriginKind::Unclassified => Some(OriginKind::Unclassified),
    }
}

pub fn assigner_kind_to_proto(kind: AssignerKind) -> pb::AssignerKind {
    match kind {
        AssignerKind::Chairman => pb::AssignerKind::Chairman,
        AssignerKind::ViceChairman => pb::AssignerKind::ViceChairman,
        AssignerKind::CityPeoplesCommittee => pb::AssignerKind::CityPeoplesCommittee,
        AssignerKind::Unclassified => pb::AssignerKind::Unclassified,
    }
}

/// `None` for `ASSIGNER_KIND_UNSPECIFIED`.
pub fn assigner_kind_from_proto(kind: pb::AssignerKind) -> Option<AssignerKind> {
    match kind {
        pb::AssignerKind::Unspecified => None,
        pb::AssignerKind::Chairman => Some(AssignerKind::Chairman),
        pb::AssignerKind::ViceChairman => Some(AssignerKind::ViceChairman),
        pb::AssignerKind::CityPeoplesCommittee => Some(AssignerKind::CityPeoplesCommittee),
        pb::AssignerKind::Unclassified => Some(AssignerKind::Unclassified),
    }
}

pub fn priority_to_proto(priority: Priority) -> pb::Priority {
    match priority {
        Priority::Normal => pb::Priority::Normal,
        Priority::Urgent => pb::Priority::Urgent,
        Priority::VeryUrgent => pb::Priority::VeryUrgent,
        Priority::Flash => pb::Priority::Flash,
    }
}

/// `None` for `PRIORITY_UNSPECIFIED`.
pub fn priority_from_proto(priority: pb::Priority) -> Option<Priority> {
    match priority {
        pb::Priority::Unspecified => None,
        pb::Priority::Normal => Some(Priority::Normal),
        pb::Priority::Urgent => Some(Priority::Urgent),
        pb::Priority::VeryUrgent => Some(Priority::VeryUrgent),
        pb::Priority::Flash => Some(Priority::Flash),
    }
}

pub fn task_status_to_proto(status: TaskStatus) -> pb::TaskStatus {
    match status {
        TaskStatus::Assigned => pb::TaskStatus::Assigned,
        TaskStatus::InProgress => pb::TaskStatus::InProgress,
        TaskStatus::AwaitingConfirmation => pb::TaskStatus::AwaitingConfirmation,
        TaskStatus::Completed => pb::TaskStatus::Completed,
        TaskStatus::ReturnedForRework => pb::TaskStatus::ReturnedForRework,
        TaskStatus::Cancelled => pb::TaskStatus::Cancelled,
    }
}

pub fn deadline_class_to_proto(class: DeadlineClass) -> pb::DeadlineClass {
    match class {
        DeadlineClass::NoDeadline => pb::DeadlineClass::None,
        DeadlineClass::InTerm => pb::DeadlineClass::InTerm,
        DeadlineClass::NearDue => pb::DeadlineClass::NearDue,
        DeadlineClass::Overdue => pb::DeadlineClass::Overdue,
        DeadlineClass::Closed => pb::DeadlineClass::Closed,
    }
}

/// `None` for `DEADLINE_CLASS_UNSPECIFIED`.
pub fn deadline_class_from_proto(class: pb::DeadlineClass) -> Option<DeadlineClass> {
    match class {
        pb::DeadlineClass::Unspecified => None,
        pb::DeadlineClass::None => Some(DeadlineClass::NoDeadline),
        pb::DeadlineClass::InTerm => Some(DeadlineClass::InTerm),
        pb::DeadlineClass::NearDue => Some(DeadlineClass::NearDue),
        pb::DeadlineClass::Overdue => Some(DeadlineClass::Overdue),
        pb::DeadlineClass::Closed => Some(DeadlineClass::Closed),
    }
}

pub fn source_document_to_proto(document: &SourceDocument) -> pb::SourceDocument {
    pb::SourceDocument {
        number: document.number.clone(),
        symbol: document.symbol.clone(),
        date: format_date(document.date),
        summary: document.summary.clone(),
    }
}

pub fn origin_to_proto(origin: &Origin) -> pb::TaskOrigin {
    pb::TaskOrigin {
        kind: origin_kind_to_proto(origin.kind).into(),
        issuing_body: origin.issuing_body.clone().unwrap_or_default(),
        document: origin.document.as_ref().map(source_document_to_proto),
    }
}

pub fn assigner_to_proto(assigner: &Assigner) -> pb::Assigner {
    pb::Assigner {
        kind: assigner_kind_to_proto(assigner.kind).into(),
        leader_id: assigner.leader_id.clone().unwrap_or_default(),
        leader_name: assigner.leader_name.clone().unwrap_or_default(),
    }
}

pub fn assignment_to_proto(assignment: &Assignment) -> pb::TaskAssignment {
    pb::TaskAssignment {
        assigner: Some(assigner_to_proto(&assignment.assigner)),
        document: Some(source_document_to_proto(&assignment.document)),
    }
}

pub(crate) fn codes(units: &[UnitCode]) -> Vec<String> {
    units.iter().map(|code| code.as_str().to_owned()).collect()
}

pub(crate) fn optional_date(date: Option<NaiveDate>) -> String {
    date.map(format_date).unwrap_or_default()
}

pub(crate) fn non_empty(raw: &str) -> Option<String> {
    (!raw.is_empty()).then(|| raw.to_owned())
}
