//! Codec between the domain events of the assignment service and their protobuf payloads
//! (`proto/dondoc/v1/events.proto`), and the upcasters for older stored schema versions.
//!
//! Decoding trusts stored facts: texts are taken as stored (no length re-check, so a tightened
//! limit never makes history unreadable); only what the domain types cannot represent (a
//! malformed date or unit code, an unknown enum value) is a [`DecodeError`].

use chrono::NaiveDate;
use dondoc_eventsourcing::{DecodeError, DomainEvent, UpcastContext, UpcastError, Upcasters};
use dondoc_proto::v1 as pb;
use dondoc_runtime::clock::business_date;
use prost::Message;

use crate::domain::directory::{Confidence, DirectoryEvent, DirectoryVersion, Unit, UnitKind};
use crate::domain::task::{TaskEvent, TaskStatus};
use crate::domain::values::{
    Issuer, IssuerKind, Priority, SourceDocument, TaskId, UnitCode, fold_diacritics, format_date,
    parse_date, slug, text,
};

pub const TASK_ASSIGNED: &str = "dondoc.task.assigned";
pub const TASK_REASSIGNED: &str = "dondoc.task.reassigned";
pub const TASK_HAND_OFF_REFUSED: &str = "dondoc.task.hand_off_refused";
pub const TASK_DEADLINE_EXTENDED: &str = "dondoc.task.deadline_extended";
pub const TASK_CANCELLED: &str = "dondoc.task.cancelled";
pub const DIRECTORY_IMPORTED: &str = "dondoc.directory.imported";

/// Schema version written for `dondoc.task.assigned` (v2: structured issuer).
pub const TASK_ASSIGNED_VERSION: u32 = 2;

/// The upcasters of the event types this crate owns: `dondoc.task.assigned` v1 → v2.
pub fn upcasters() -> Upcasters {
    Upcasters::new().register(TASK_ASSIGNED, 1, upcast_task_assigned_v1)
}

// ---------------------------------------------------------------------------------------------
// Mapping of shared value types (also used by the gRPC layer).

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

fn codes(units: &[UnitCode]) -> Vec<String> {
    units.iter().map(|code| code.as_str().to_owned()).collect()
}

fn optional_date(date: Option<NaiveDate>) -> String {
    date.map(format_date).unwrap_or_default()
}

fn non_empty(raw: &str) -> Option<String> {
    (!raw.is_empty()).then(|| raw.to_owned())
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

    fn message<M: Message + Default>(&self, bytes: &[u8]) -> Result<M, DecodeError> {
        M::decode(bytes).map_err(|e| self.malformed(e.to_string()))
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

fn unknown(event_type: &str, schema_version: u32) -> DecodeError {
    DecodeError::UnknownType {
        event_type: event_type.to_owned(),
        schema_version,
    }
}

// ---------------------------------------------------------------------------------------------
// Task events.

impl DomainEvent for TaskEvent {
    fn event_type(&self) -> &'static str {
        match self {
            TaskEvent::Assigned { .. } => TASK_ASSIGNED,
            TaskEvent::Reassigned { .. } => TASK_REASSIGNED,
            TaskEvent::HandOffRefused { .. } => TASK_HAND_OFF_REFUSED,
            TaskEvent::DeadlineExtended { .. } => TASK_DEADLINE_EXTENDED,
            TaskEvent::Cancelled { .. } => TASK_CANCELLED,
        }
    }

    fn schema_version(&self) -> u32 {
        match self {
            TaskEvent::Assigned { .. } => TASK_ASSIGNED_VERSION,
            _ => 1,
        }
    }

    fn encode(&self) -> Vec<u8> {
        match self {
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
            } => pb::TaskAssigned {
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
            }
            .encode_to_vec(),
            TaskEvent::Reassigned {
                task_id,
                previous_lead_unit,
                new_lead_unit,
                previous_coordinating_units,
                new_coordinating_units,
                reason,
            } => pb::TaskReassigned {
                task_id: task_id.to_string(),
                previous_lead_unit: previous_lead_unit.as_str().to_owned(),
                new_lead_unit: new_lead_unit.as_str().to_owned(),
                previous_coordinating_units: codes(previous_coordinating_units),
                new_coordinating_units: codes(new_coordinating_units),
                reason: reason.clone(),
            }
            .encode_to_vec(),
            TaskEvent::HandOffRefused {
                task_id,
                lead_unit,
                requested_lead_unit,
                reason_given,
            } => pb::TaskHandOffRefused {
                task_id: task_id.to_string(),
                lead_unit: lead_unit.as_str().to_owned(),
                requested_lead_unit: requested_lead_unit.as_str().to_owned(),
                reason_given: reason_given.clone(),
            }
            .encode_to_vec(),
            TaskEvent::DeadlineExtended {
                task_id,
                previous_deadline,
                new_deadline,
                reason,
                approved_by_leader,
            } => pb::TaskDeadlineExtended {
                task_id: task_id.to_string(),
                previous_deadline: optional_date(*previous_deadline),
                new_deadline: format_date(*new_deadline),
                reason: reason.clone(),
                approved_by_leader_id: approved_by_leader.clone().unwrap_or_default(),
            }
            .encode_to_vec(),
            TaskEvent::Cancelled { task_id, reason } => pb::TaskCancelled {
                task_id: task_id.to_string(),
                reason: reason.clone(),
            }
            .encode_to_vec(),
        }
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        let p = Payload { event_type };
        match (event_type, schema_version) {
            (TASK_ASSIGNED, TASK_ASSIGNED_VERSION) => {
                let m: pb::TaskAssigned = p.message(payload)?;
                Ok(TaskEvent::Assigned {
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
                })
            }
            (TASK_REASSIGNED, 1) => {
                let m: pb::TaskReassigned = p.message(payload)?;
                Ok(TaskEvent::Reassigned {
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
                })
            }
            (TASK_HAND_OFF_REFUSED, 1) => {
                let m: pb::TaskHandOffRefused = p.message(payload)?;
                Ok(TaskEvent::HandOffRefused {
                    task_id: p.task_id(&m.task_id)?,
                    lead_unit: p.unit("lead_unit", &m.lead_unit)?,
                    requested_lead_unit: p.unit("requested_lead_unit", &m.requested_lead_unit)?,
                    reason_given: m.reason_given,
                })
            }
            (TASK_DEADLINE_EXTENDED, 1) => {
                let m: pb::TaskDeadlineExtended = p.message(payload)?;
                Ok(TaskEvent::DeadlineExtended {
                    task_id: p.task_id(&m.task_id)?,
                    previous_deadline: p
                        .optional_date("previous_deadline", &m.previous_deadline)?,
                    new_deadline: p.date("new_deadline", &m.new_deadline)?,
                    reason: m.reason,
                    approved_by_leader: non_empty(&m.approved_by_leader_id),
                })
            }
            (TASK_CANCELLED, 1) => {
                let m: pb::TaskCancelled = p.message(payload)?;
                Ok(TaskEvent::Cancelled {
                    task_id: p.task_id(&m.task_id)?,
                    reason: m.reason,
                })
            }
            _ => Err(unknown(event_type, schema_version)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Directory events.

impl DomainEvent for DirectoryEvent {
    fn event_type(&self) -> &'static str {
        match self {
            DirectoryEvent::Imported(_) => DIRECTORY_IMPORTED,
        }
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            DirectoryEvent::Imported(version) => pb::UnitDirectoryImported {
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
            }
            .encode_to_vec(),
        }
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        if (event_type, schema_version) != (DIRECTORY_IMPORTED, 1) {
            return Err(unknown(event_type, schema_version));
        }
        let p = Payload { event_type };
        let m: pb::UnitDirectoryImported = p.message(payload)?;
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

// ---------------------------------------------------------------------------------------------
// dondoc.task.assigned v1 → v2.

/// v1 carried the issuer as free text typed by the Office; v2 has a structured [`Issuer`] and
/// the business date of the assignment. v1 did not store that date in its payload, but its
/// envelope recorded when the assignment happened: its business date (Asia/Ho_Chi_Minh) is the
/// assignment date, a recorded fact rather than a guess.
fn upcast_task_assigned_v1(
    payload: &[u8],
    context: &UpcastContext,
) -> Result<Vec<u8>, UpcastError> {
    let v1 = pb::TaskAssignedV1::decode(payload)
        .map_err(|e| UpcastError::malformed(format!("not a TaskAssignedV1 payload: {e}")))?;
    let issuer = issuer_from_legacy_text(&v1.issuer);
    let assigned_on = format_date(business_date(context.occurred_at));
    Ok(pb::TaskAssigned {
        task_id: v1.task_id,
        source_document: v1.source_document,
        title: v1.title,
        content: v1.content,
        lead_unit: v1.lead_unit,
        coordinating_units: v1.coordinating_units,
        deadline: v1.deadline,
        priority: v1.priority,
        issuer: Some(issuer_to_proto(&issuer)),
        assigned_on,
    }
    .encode_to_vec())
}

/// A title as folded tokens (see [`fold_token`]).
type Title = &'static [&'static str];

const VICE_CHAIRMAN_TITLES: &[Title] = &[&["pho", "chu", "tich"], &["pho", "ct"], &["pct"]];
const CHAIRMAN_TITLES: &[Title] = &[&["chu", "tich"], &["ct"]];
const PRIME_MINISTER_TITLES: &[Title] = &[&["thu", "tuong"], &["ttg"]];
const GOVERNMENT_TITLES: &[Title] = &[&["chinh", "phu"], &["cp"]];
const CITY_PC_TITLES: &[Title] = &[&["uy", "ban", "nhan", "dan"], &["ubnd"]];

/// Words that qualify a title ("UBND TP", "Chính phủ", "Thường trực") and honorifics ("đồng
/// chí"), dropped between the title and the name.
const QUALIFIERS: &[Title] = &[
    &["uy", "ban", "nhan", "dan"],
    &["ubnd"],
    &["thanh", "pho"],
    &["tp"],
    &["hai", "phong"],
    &["chinh", "phu"],
    &["thuong", "truc"],
    &["dong", "chi"],
    &["d/c"],
];

/// Folds one word for matching: no diacritics, lower case, letters/digits/'/' only.
fn fold_token(word: &str) -> String {
    fold_diacritics(word)
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '/')
        .collect()
}

fn matches_at(folded: &[String], at: usize, title: Title) -> bool {
    folded.len() >= at + title.len()
        && title
            .iter()
            .enumerate()
            .all(|(i, word)| folded[at + i] == *word)
}

/// Skips qualifier words and bare punctuation from `at` on (forwards), returning the new index.
fn skip_qualifiers_forward(folded: &[String], mut at: usize) -> usize {
    'outer: while at < folded.len() {
        if folded[at].is_empty() {
            at += 1;
            continue;
        }
        for qualifier in QUALIFIERS {
            if matches_at(folded, at, qualifier) {
                at += qualifier.len();
                continue 'outer;
            }
        }
        break;
    }
    at
}

/// Skips qualifier words and bare punctuation before `end` (backwards), returning the new end.
fn skip_qualifiers_backward(folded: &[String], mut end: usize) -> usize {
    'outer: while end > 0 {
        if folded[end - 1].is_empty() {
            end -= 1;
            continue;
        }
        for qualifier in QUALIFIERS {
            if end >= qualifier.len() && matches_at(folded, end - qualifier.len(), qualifier) {
                end -= qualifier.len();
                continue 'outer;
            }
        }
        break;
    }
    end
}

/// The words of a name, with surrounding punctuation and leading honorifics removed.
fn name_of(words: &[&str], folded: &[String]) -> Option<String> {
    let start = skip_qualifiers_forward(folded, 0);
    let end = skip_qualifiers_backward(folded, folded.len()).max(start);
    let name = words[start..end].join(" ");
    let name = name.trim_matches(|c: char| !c.is_alphanumeric() && c != ')');
    (!name.is_empty()).then(|| name.to_owned())
}

/// Maps the free-text issuer of a v1 assignment ("PCT Nguyễn Văn A", "Chủ tịch UBND TP",
/// "Thủ tướng Chính phủ", "UBND thành phố", with or without diacritics) to a structured issuer.
/// Anything unrecognised stays [`IssuerKind::Unclassified`] with the original text as
/// `leader_name`: an archive keeps what was written rather than a guess.
pub fn issuer_from_legacy_text(raw: &str) -> Issuer {
    let original = text::normalize(raw);
    let words: Vec<&str> = original.split_whitespace().collect();
    let folded: Vec<String> = words.iter().map(|word| fold_token(word)).collect();
    let kinds: [(IssuerKind, &[Title]); 5] = [
        (IssuerKind::ViceChairman, VICE_CHAIRMAN_TITLES),
        (IssuerKind::Chairman, CHAIRMAN_TITLES),
        (IssuerKind::PrimeMinister, PRIME_MINISTER_TITLES),
        (IssuerKind::Government, GOVERNMENT_TITLES),
        (IssuerKind::CityPeoplesCommittee, CITY_PC_TITLES),
    ];
    let found = (0..folded.len()).find_map(|at| {
        kinds.iter().find_map(|(kind, titles)| {
            titles
                .iter()
                .find(|title| matches_at(&folded, at, title))
                .map(|title| (*kind, at, title.len()))
        })
    });
    let recognised = found.and_then(|(kind, at, len)| {
        let before = name_of(&words[..at], &folded[..at]);
        let after = name_of(&words[at + len..], &folded[at + len..]);
        let name = match (before, after) {
            (Some(_), Some(_)) => return None,
            (before, after) => before.or(after),
        };
        let is_person = matches!(
            kind,
            IssuerKind::ViceChairman | IssuerKind::Chairman | IssuerKind::PrimeMinister
        );
        match (is_person, name) {
            (true, Some(name)) => Some(Issuer {
                kind,
                leader_id: Some(slug(&name)).filter(|id| !id.is_empty()),
                leader_name: Some(name),
            }),
            (true, None) if kind != IssuerKind::ViceChairman => Some(Issuer {
                kind,
                leader_id: None,
                leader_name: None,
            }),
            (false, None) => Some(Issuer {
                kind,
                leader_id: None,
                leader_name: None,
            }),
            _ => None,
        }
    });
    recognised
        .filter(|issuer| issuer.kind != IssuerKind::ViceChairman || issuer.leader_id.is_some())
        .unwrap_or_else(|| Issuer {
            kind: IssuerKind::Unclassified,
            leader_id: None,
            leader_name: non_empty(&original),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::directory::parse_directory_toml;

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
        let seed = include_str!("../seed/haiphong-units.toml");
        for version in parse_directory_toml(seed).expect("seed parses") {
            let event = DirectoryEvent::Imported(version);

            assert_eq!(event.event_type(), "dondoc.directory.imported");
            assert_eq!(round_trip(&event), event);
        }
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let garbage = [0xff, 0xff, 0xff, 0xff, 0x0f];

        let task = TaskEvent::decode(TASK_CANCELLED, 1, &garbage);
        let directory = DirectoryEvent::decode(DIRECTORY_IMPORTED, 1, &garbage);

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

        let result = TaskEvent::decode(TASK_HAND_OFF_REFUSED, 1, &payload);

        assert!(matches!(result, Err(DecodeError::Malformed { .. })));
    }

    #[test]
    fn unknown_types_and_versions_are_refused() {
        let payload = task_events()[0].encode();

        assert!(matches!(
            TaskEvent::decode(TASK_ASSIGNED, 1, &payload),
            Err(DecodeError::UnknownType { .. })
        ));
        assert!(matches!(
            TaskEvent::decode("dondoc.task.completed", 1, &payload),
            Err(DecodeError::UnknownType { .. })
        ));
        assert!(matches!(
            DirectoryEvent::decode(TASK_CANCELLED, 1, &payload),
            Err(DecodeError::UnknownType { .. })
        ));
    }

    fn v1_payload(issuer: &str) -> Vec<u8> {
        pb::TaskAssignedV1 {
            task_id: task_id().to_string(),
            issuer: issuer.into(),
            source_document: Some(pb::SourceDocument {
                number: "85".into(),
                symbol: "TB-VP".into(),
                date: "2023-04-12".into(),
                summary: "Thông báo kết luận".into(),
            }),
            title: "Tháo gỡ vướng mắc".into(),
            content: "Nội dung".into(),
            lead_unit: "SXD".into(),
            coordinating_units: vec!["STC".into()],
            deadline: "2023-05-30".into(),
            priority: pb::Priority::Urgent.into(),
        }
        .encode_to_vec()
    }

    /// Recorded at 01:30 on 20 April 2023 in Hải Phòng (18:30 UTC the day before).
    fn recorded_late_at_night() -> UpcastContext {
        UpcastContext {
            occurred_at: chrono::DateTime::parse_from_rfc3339("2023-04-19T18:30:00Z")
                .expect("timestamp")
                .to_utc(),
        }
    }

    #[test]
    fn a_stored_v1_assignment_upcasts_to_v2_with_a_vice_chairman() {
        let (version, payload) = upcasters()
            .upcast(
                TASK_ASSIGNED,
                1,
                v1_payload("PCT Nguyễn Văn A"),
                &recorded_late_at_night(),
            )
            .expect("upcasts");

        let event = TaskEvent::decode(TASK_ASSIGNED, version, &payload).expect("decodes");

        assert_eq!(version, 2);
        let TaskEvent::Assigned {
            issuer,
            assigned_on,
            lead_unit,
            deadline,
            priority,
            ..
        } = event
        else {
            panic!("expected an assignment, got {event:?}");
        };
        assert_eq!(
            issuer,
            Issuer {
                kind: IssuerKind::ViceChairman,
                leader_id: Some("nguyen-van-a".into()),
                leader_name: Some("Nguyễn Văn A".into()),
            }
        );
        assert_eq!(
            assigned_on,
            date(2023, 4, 20),
            "the business date of the recorded assignment, not the document date"
        );
        assert_eq!(lead_unit, code("SXD"));
        assert_eq!(deadline, Some(date(2023, 5, 30)));
        assert_eq!(priority, Priority::Urgent);
    }

    #[test]
    fn a_v2_payload_passes_the_upcasters_unchanged() {
        let payload = task_events()[0].encode();

        let (version, upcast) = upcasters()
            .upcast(TASK_ASSIGNED, 2, payload.clone(), &recorded_late_at_night())
            .expect("no-op");

        assert_eq!((version, upcast), (2, payload));
    }

    #[test]
    fn a_garbage_v1_payload_fails_to_upcast() {
        let error = upcasters()
            .upcast(
                TASK_ASSIGNED,
                1,
                vec![0xff, 0xff, 0xff],
                &recorded_late_at_night(),
            )
            .expect_err("refused");

        assert_eq!(error.from_version, 1);
    }

    fn issuer(kind: IssuerKind, name: Option<&str>) -> Issuer {
        Issuer {
            kind,
            leader_id: name.map(slug),
            leader_name: name.map(str::to_owned),
        }
    }

    #[test]
    fn vice_chairman_texts_name_the_vice_chairman() {
        let expected = issuer(IssuerKind::ViceChairman, Some("Nguyễn Văn A"));
        for text in [
            "PCT Nguyễn Văn A",
            "Phó Chủ tịch Nguyễn Văn A",
            "Phó Chủ tịch UBND TP Nguyễn Văn A",
            "Phó Chủ tịch UBND thành phố Nguyễn Văn A",
            "Phó CT Nguyễn Văn A",
            "PCT UBND TP, đ/c Nguyễn Văn A",
            "Đồng chí Nguyễn Văn A - Phó Chủ tịch UBND thành phố",
            "  pct   Nguyễn Văn A ",
        ] {
            assert_eq!(issuer_from_legacy_text(text), expected, "{text}");
        }
    }

    #[test]
    fn decomposed_and_unaccented_texts_are_recognised_too() {
        let decomposed: String =
            unicode_normalization::UnicodeNormalization::nfd("Phó Chủ tịch Lê Thị B").collect();

        assert_eq!(
            issuer_from_legacy_text(&decomposed),
            issuer(IssuerKind::ViceChairman, Some("Lê Thị B"))
        );
        assert_eq!(
            issuer_from_legacy_text("pho chu tich le thi b"),
            issuer(IssuerKind::ViceChairman, Some("le thi b"))
        );
    }

    #[test]
    fn chairman_texts_map_to_the_chairman() {
        for text in [
            "Chủ tịch UBND TP",
            "CT UBND TP",
            "Chủ tịch",
            "chu tich ubnd thanh pho",
        ] {
            assert_eq!(
                issuer_from_legacy_text(text),
                issuer(IssuerKind::Chairman, None),
                "{text}"
            );
        }
        assert_eq!(
            issuer_from_legacy_text("Chủ tịch UBND TP Trần Văn C"),
            issuer(IssuerKind::Chairman, Some("Trần Văn C"))
        );
    }

    #[test]
    fn central_issuers_are_recognised() {
        for text in ["Thủ tướng", "Thủ tướng Chính phủ", "TTg"] {
            assert_eq!(
                issuer_from_legacy_text(text),
                issuer(IssuerKind::PrimeMinister, None),
                "{text}"
            );
        }
        for text in ["Chính phủ", "CP"] {
            assert_eq!(
                issuer_from_legacy_text(text),
                issuer(IssuerKind::Government, None),
                "{text}"
            );
        }
    }

    #[test]
    fn city_peoples_committee_texts_map_to_the_committee() {
        for text in [
            "UBND TP",
            "UBND thành phố",
            "Ủy ban nhân dân thành phố",
            "Uỷ ban nhân dân thành phố Hải Phòng",
        ] {
            assert_eq!(
                issuer_from_legacy_text(text),
                issuer(IssuerKind::CityPeoplesCommittee, None),
                "{text}"
            );
        }
    }

    #[test]
    fn unrecognised_texts_stay_unclassified_with_the_original_text() {
        for text in ["Ban Chỉ đạo 389 thành phố", "PCT", "Văn phòng CP"] {
            assert_eq!(
                issuer_from_legacy_text(text),
                Issuer {
                    kind: IssuerKind::Unclassified,
                    leader_id: None,
                    leader_name: Some(text.into()),
                },
                "{text}"
            );
        }
        assert_eq!(
            issuer_from_legacy_text(""),
            issuer(IssuerKind::Unclassified, None)
        );
    }
}
