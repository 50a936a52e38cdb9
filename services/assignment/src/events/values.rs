//! Domain values ↔ the shared protobuf types of `common.proto` (issuer, priority, source
//! document, status): used by the event codec and by the gRPC adapter, so both speak the same
//! published language.

use chrono::NaiveDate;
use dondoc_proto::v1 as pb;

use crate::domain::TaskStatus;
use crate::domain::values::{Issuer, IssuerKind, Priority, SourceDocument, UnitCode, format_date};

pub fn issuer_kind_to_proto(kind: IssuerKind) -> pb::IssuerKind {
    match kind {
        IssuerKind::Government => pb::IssuerKind::Government,
        IssuerKind::PrimeMinister => pb::IssuerKind::PrimeMinister,
        IssuerKind::CityPeoplesCommittee => pb::IssuerKind::CityPeoplesCommittee,
        IssuerKind::Chairman => pb::IssuerKind::Chairman,
        IssuerKind::ViceChairman => pb::IssuerKind::ViceChairman,
        IssuerKind::Unclassified => pb::IssuerKind::Unclassified,
    }
}

/// `None` for `ISSUER_KIND_UNSPECIFIED`.
pub fn issuer_kind_from_proto(kind: pb::IssuerKind) -> Option<IssuerKind> {
    match kind {
        pb::IssuerKind::Unspecified => None,
        pb::IssuerKind::Government => Some(IssuerKind::Government),
        pb::IssuerKind::PrimeMinister => Some(IssuerKind::PrimeMinister),
        pb::IssuerKind::CityPeoplesCommittee => Some(IssuerKind::CityPeoplesCommittee),
        pb::IssuerKind::Chairman => Some(IssuerKind::Chairman),
        pb::IssuerKind::ViceChairman => Some(IssuerKind::ViceChairman),
        pb::IssuerKind::Unclassified => Some(IssuerKind::Unclassified),
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

pub fn issuer_to_proto(issuer: &Issuer) -> pb::Issuer {
    pb::Issuer {
        kind: issuer_kind_to_proto(issuer.kind).into(),
        leader_id: issuer.leader_id.clone().unwrap_or_default(),
        leader_name: issuer.leader_name.clone().unwrap_or_default(),
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

pub(crate) fn codes(units: &[UnitCode]) -> Vec<String> {
    units.iter().map(|code| code.as_str().to_owned()).collect()
}

pub(crate) fn optional_date(date: Option<NaiveDate>) -> String {
    date.map(format_date).unwrap_or_default()
}

pub(crate) fn non_empty(raw: &str) -> Option<String> {
    (!raw.is_empty()).then(|| raw.to_owned())
}
