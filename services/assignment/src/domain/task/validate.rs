//! Validation of raw task requests: parse every field, collect every violation, and build the
//! command only when nothing is wrong (design.md §4: bad input names the field and writes
//! nothing). Pure: the gRPC adapter maps protobuf requests to the inputs here, and the handlers
//! supply the unit and leader directories valid on the day that matters.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::aggregate::{AssignTask, ExtensionDecision, Requester, TaskCommand};
use crate::domain::directory::DirectoryVersion;
use crate::domain::leaders::{LeaderRoster, LeaderTitle};
use crate::domain::values::{
    Assigner, AssignerKind, Assignment, CONTENT_MAX, FieldViolation, ISSUING_BODY_MAX,
    LEADER_ID_MAX, Origin, OriginKind, Priority, REASON_MAX, SourceDocument, TITLE_MAX, TaskId,
    UnitCode, format_date, parse_date, text,
};

/// A document (số, ký hiệu, ngày, trích yếu) as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentInput {
    pub number: String,
    pub symbol: String,
    pub date: String,
    pub summary: String,
}

impl DocumentInput {
    fn is_blank(&self) -> bool {
        [&self.number, &self.symbol, &self.date, &self.summary]
            .iter()
            .all(|s| s.trim().is_empty())
    }

    fn parse(&self, path: &str) -> Result<SourceDocument, Vec<FieldViolation>> {
        SourceDocument::parse(path, &self.number, &self.symbol, &self.date, &self.summary)
    }
}

/// An assignment request as received, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignTaskInput {
    /// `None` when the request left the origin kind unspecified.
    pub origin_kind: Option<OriginKind>,
    pub origin_issuing_body: String,
    /// `None` when the request sent no origin document.
    pub origin_document: Option<DocumentInput>,
    /// `None` when the request left the assigner kind unspecified.
    pub assigner_kind: Option<AssignerKind>,
    pub assigner_leader_id: String,
    pub assignment_document: DocumentInput,
    pub title: String,
    pub content: String,
    pub lead_unit: String,
    pub coordinating_units: Vec<String>,
    /// The `deadline` arm of the `term` oneof; a blank string counts as absent.
    pub deadline: Option<String>,
    /// The `no_deadline` arm of the `term` oneof.
    pub no_deadline: bool,
    /// `None` when unspecified; defaults to [`Priority::Normal`].
    pub priority: Option<Priority>,
}

/// What an assignment is checked against: the directories valid on the assignment date.
#[derive(Debug, Clone, Copy)]
pub struct AssignmentContext<'a> {
    /// The unit directory version valid on `assigned_on`, if one is.
    pub units: Option<&'a DirectoryVersion>,
    pub leaders: &'a LeaderRoster,
    /// The business date of the assignment: today, or the past date of a historical record.
    pub assigned_on: NaiveDate,
    /// Why a historical record is imported; `None` for a task assigned today.
    pub historical: Option<&'a str>,
}

/// Validates an assignment, collecting every violation.
pub fn validate_assignment(
    input: &AssignTaskInput,
    context: AssignmentContext<'_>,
    task_id: TaskId,
) -> Result<AssignTask, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let on = context.assigned_on;
    let origin = validate_origin(input, on, &mut violations);
    let assignment = validate_assigner_and_document(input, context, &mut violations);
    if let (Some(origin), Some(assignment)) = (&origin, &assignment)
        && let Some(origin_document) = &origin.document
        && assignment.document.date < origin_document.date
    {
        violations.push(FieldViolation::new(
            "assignment.document.date",
            format!(
                "the city's document ({}) is dated before the document it implements ({})",
                format_date(assignment.document.date),
                format_date(origin_document.date)
            ),
        ));
    }
    let title = text::required(&input.title, TITLE_MAX)
        .map_err(|e| violations.push(e.at("title")))
        .ok();
    let content = text::required_lines(&input.content, CONTENT_MAX)
        .map_err(|e| violations.push(e.at("content")))
        .ok();
    let units = validate_units(
        UnitFields {
            lead: "lead_unit",
            coordinating: "coordinating_units",
        },
        &input.lead_unit,
        &input.coordinating_units,
        context.units,
        on,
        &mut violations,
    );
    let deadline = validate_term(
        input,
        assignment.as_ref().map(|a| &a.document),
        context,
        &mut violations,
    );
    let supervising_leader_id = units
        .as_ref()
        .and_then(|(lead, _)| context.leaders.supervising(lead, on))
        .map(|leader| leader.id.clone());

    match (origin, assignment, title, content, units, deadline) {
        (
            Some(origin),
            Some(assignment),
            Some(title),
            Some(content),
            Some((lead_unit, coordinating_units)),
            Some(deadline),
        ) if violations.is_empty() => Ok(AssignTask {
            task_id,
            origin,
            assignment,
            title,
            content,
            lead_unit,
            coordinating_units,
            deadline,
            priority: input.priority.unwrap_or_default(),
            assigned_on: on,
            supervising_leader_id,
            historical: context.historical.map(str::to_owned),
        }),
        _ => Err(violations),
    }
}

fn document_not_after(
    path: &str,
    document: &SourceDocument,
    on: NaiveDate,
    violations: &mut Vec<FieldViolation>,
) {
    if document.date > on {
        violations.push(FieldViolation::new(
            format!("{path}.date"),
            format!(
                "the document date {} is after the assignment date ({}); a task comes from a \
                 document already issued",
                format_date(document.date),
                format_date(on)
            ),
        ));
    }
}

fn validate_origin(
    input: &AssignTaskInput,
    on: NaiveDate,
    violations: &mut Vec<FieldViolation>,
) -> Option<Origin> {
    let before = violations.len();
    let issuing_body = text::optional(&input.origin_issuing_body, ISSUING_BODY_MAX)
        .map_err(|e| violations.push(e.at("origin.issuing_body")))
        .ok()
        .flatten();
    let kind = match input.origin_kind {
        None => {
            violations.push(FieldViolation::new(
                "origin.kind",
                "where the task comes from is required: the Government, the Prime Minister, a \
                 ministry, the City Party Committee, the City People's Council or the City \
                 People's Committee itself",
            ));
            None
        }
        Some(OriginKind::Unclassified) => {
            violations.push(FieldViolation::new(
                "origin.kind",
                "\"unclassified\" only marks old records; a new task names where it comes from",
            ));
            None
        }
        Some(kind) => Some(kind),
    };
    if kind == Some(OriginKind::Ministry) && issuing_body.is_none() {
        violations.push(FieldViolation::new(
            "origin.issuing_body",
            "name the ministry or central agency the task comes from (e.g. \"Bộ Xây dựng\")",
        ));
    }
    let document = match &input.origin_document {
        Some(document) if !document.is_blank() => document
            .parse("origin.document")
            .map_err(|v| violations.extend(v))
            .ok()
            .inspect(|d| document_not_after("origin.document", d, on, violations)),
        _ => {
            if kind.is_some_and(|k| k != OriginKind::CityPeoplesCommittee) {
                violations.push(FieldViolation::new(
                    "origin.document",
                    "the document of the body the task comes from (số, ký hiệu, ngày, trích \
                     yếu) is required; only a task that starts with the city's own document \
                     has none",
                ));
            }
            None
        }
    };
    if violations.len() > before {
        return None;
    }
    Some(Origin {
        kind: kind?,
        issuing_body,
        document,
    })
}

fn validate_assigner_and_document(
    input: &AssignTaskInput,
    context: AssignmentContext<'_>,
    violations: &mut Vec<FieldViolation>,
) -> Option<Assignment> {
    let before = violations.len();
    let on = context.assigned_on;
    let field = "assignment.assigner.leader_id";
    let leader_id = text::optional(&input.assigner_leader_id, LEADER_ID_MAX)
        .map_err(|e| violations.push(e.at(field)))
        .ok()
        .flatten();
    let assigner = match input.assigner_kind {
        None => {
            violations.push(FieldViolation::new(
                "assignment.assigner.kind",
                "who assigned the task is required: the Chairman, a Vice-Chairman or the City \
                 People's Committee as a body",
            ));
            None
        }
        Some(AssignerKind::Unclassified) => {
            violations.push(FieldViolation::new(
                "assignment.assigner.kind",
                "\"unclassified\" only marks old records; a new task names who assigned it",
            ));
            None
        }
        Some(AssignerKind::CityPeoplesCommittee) => {
            if leader_id.is_some() {
                violations.push(FieldViolation::new(
                    field,
                    "the City People's Committee assigns as a body: name no leader, or name the \
                     leader as the assigner",
                ));
            }
            Some(Assigner {
                kind: AssignerKind::CityPeoplesCommittee,
                leader_id: None,
                leader_name: None,
            })
        }
        Some(kind) => match leader_id {
            None => {
                if violations.len() == before {
                    violations.push(FieldViolation::new(
                        field,
                        "the assigning leader's id from the leader directory is required",
                    ));
                }
                None
            }
            Some(id) => match context.leaders.leader_on(&id, on) {
                None => {
                    violations.push(FieldViolation::new(
                        field,
                        format!(
                            "unknown leader {id}: nobody with this id is in office on {} in the \
                             leader directory (ImportLeaders)",
                            format_date(on)
                        ),
                    ));
                    None
                }
                Some(leader) => {
                    let expected = match kind {
                        AssignerKind::Chairman => LeaderTitle::Chairman,
                        _ => LeaderTitle::ViceChairman,
                    };
                    if leader.title != expected {
                        violations.push(FieldViolation::new(
                            "assignment.assigner.kind",
                            format!(
                                "{id} is {} in the leader directory on {}, and assigns only as \
                                 such",
                                leader.title.label_vi(),
                                format_date(on)
                            ),
                        ));
                        None
                    } else {
                        Some(Assigner {
                            kind,
                            leader_id: Some(leader.id.clone()),
                            leader_name: Some(leader.full_name.clone()),
                        })
                    }
                }
            },
        },
    };
    let document = input
        .assignment_document
        .parse("assignment.document")
        .map_err(|v| violations.extend(v))
        .ok()
        .inspect(|d| document_not_after("assignment.document", d, on, violations));
    if violations.len() > before {
        return None;
    }
    Some(Assignment {
        assigner: assigner?,
        document: document?,
    })
}

/// The `term` oneof: `Some(deadline)` or `Some(None)` for "no deadline"; `None` if invalid.
fn validate_term(
    input: &AssignTaskInput,
    document: Option<&SourceDocument>,
    context: AssignmentContext<'_>,
    violations: &mut Vec<FieldViolation>,
) -> Option<Option<NaiveDate>> {
    let deadline = input
        .deadline
        .as_deref()
        .filter(|raw| !raw.trim().is_empty());
    match (deadline, input.no_deadline) {
        (None, false) => {
            violations.push(FieldViolation::new(
                "term",
                "give either a deadline (YYYY-MM-DD) or no_deadline (không thời hạn): every \
                 task has one or the other",
            ));
            None
        }
        (Some(_), true) => {
            violations.push(FieldViolation::new(
                "term",
                "give either a deadline or no_deadline, not both",
            ));
            None
        }
        (None, true) => Some(None),
        (Some(raw), false) => {
            let deadline = parse_date(raw)
                .map_err(|e| violations.push(e.at("deadline")))
                .ok()?;
            if let Some(document) = document
                && deadline < document.date
            {
                violations.push(FieldViolation::new(
                    "deadline",
                    format!(
                        "the deadline {} is before the document date {}",
                        format_date(deadline),
                        format_date(document.date)
                    ),
                ));
                return None;
            }
            if context.historical.is_none() && deadline < context.assigned_on {
                violations.push(FieldViolation::new(
                    "deadline",
                    format!(
                        "the deadline {} has already passed (today is {}): a new task is given a \
                         deadline that can still be met; a task from the past is brought in \
                         with ImportHistoricalTask",
                        format_date(deadline),
                        format_date(context.assigned_on)
                    ),
                ));
                return None;
            }
            Some(Some(deadline))
        }
    }
}

struct UnitFields {
    lead: &'static str,
    coordinating: &'static str,
}

/// Validates a lead unit and its coordinating units; `None` if any is invalid.
fn validate_units(
    fields: UnitFields,
    lead_unit: &str,
    coordinating_units: &[String],
    directory: Option<&DirectoryVersion>,
    today: NaiveDate,
    violations: &mut Vec<FieldViolation>,
) -> Option<(UnitCode, Vec<UnitCode>)> {
    let before = violations.len();
    let lead = if lead_unit.trim().is_empty() {
        violations.push(FieldViolation::new(
            fields.lead,
            "the lead unit (đơn vị chủ trì) is required: every task has exactly one lead unit",
        ));
        None
    } else {
        known_unit(fields.lead, lead_unit, directory, today, violations)
    };
    let mut coordinating = Vec::with_capacity(coordinating_units.len());
    let mut first_index_of: HashMap<UnitCode, usize> = HashMap::new();
    let lead_code = UnitCode::parse(lead_unit).ok();
    for (index, raw) in coordinating_units.iter().enumerate() {
        let field = format!("{}[{index}]", fields.coordinating);
        let code = match UnitCode::parse(raw) {
            Ok(code) => code,
            Err(e) => {
                violations.push(e.at(field));
                continue;
            }
        };
        if lead_code.as_ref() == Some(&code) {
            violations.push(FieldViolation::new(
                field,
                format!(
                    "{code} is the lead unit: a unit cannot both lead (chủ trì) and coordinate \
                     (phối hợp) the same task"
                ),
            ));
            continue;
        }
        if let Some(first) = first_index_of.get(&code) {
            violations.push(FieldViolation::new(
                field,
                format!(
                    "{code} is listed twice (also {}[{first}])",
                    fields.coordinating
                ),
            ));
            continue;
        }
        first_index_of.insert(code.clone(), index);
        if let Some(code) = known_unit(&field, raw, directory, today, violations) {
            coordinating.push(code);
        }
    }
    if violations.len() > before {
        return None;
    }
    Some((lead?, coordinating))
}

/// Parses a unit code and checks that the directory valid `today` lists it.
fn known_unit(
    field: &str,
    raw: &str,
    directory: Option<&DirectoryVersion>,
    today: NaiveDate,
    violations: &mut Vec<FieldViolation>,
) -> Option<UnitCode> {
    let code = UnitCode::parse(raw)
        .map_err(|e| violations.push(e.at(field)))
        .ok()?;
    match directory {
        None => {
            violations.push(FieldViolation::new(
                field,
                format!(
                    "unknown unit {code}: no unit directory is loaded for {}; import the unit \
                     directory (ImportUnits) first",
                    format_date(today)
                ),
            ));
            None
        }
        Some(directory) if directory.unit(&code).is_none() => {
            violations.push(FieldViolation::new(
                field,
                format!(
                    "unknown unit {code}: not in the unit directory valid on {} ({})",
                    format_date(today),
                    directory.name
                ),
            ));
            None
        }
        Some(_) => Some(code),
    }
}

/// Validates a reason (lý do): required, at most 2 000 characters; field `reason`.
pub fn validate_reason(raw: &str) -> Result<String, Vec<FieldViolation>> {
    text::required_lines(raw, REASON_MAX).map_err(|e| vec![e.at("reason")])
}

/// Validates a reassignment request (fields `new_lead_unit`, `new_coordinating_units[i]`,
/// `reason`) against the unit directory valid `today` and builds the command; the supervising
/// Vice-Chairman of the new lead unit comes from `leaders`.
pub fn validate_reassignment(
    requested_by: Requester,
    new_lead_unit: &str,
    new_coordinating_units: &[String],
    reason: &str,
    directory: Option<&DirectoryVersion>,
    leaders: &LeaderRoster,
    today: NaiveDate,
) -> Result<TaskCommand, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let units = validate_units(
        UnitFields {
            lead: "new_lead_unit",
            coordinating: "new_coordinating_units",
        },
        new_lead_unit,
        new_coordinating_units,
        directory,
        today,
        &mut violations,
    );
    let reason = validate_reason(reason)
        .map_err(|v| violations.extend(v))
        .ok();
    match (units, reason) {
        (Some((new_lead_unit, new_coordinating_units)), Some(reason)) if violations.is_empty() => {
            let supervising_leader_id = leaders
                .supervising(&new_lead_unit, today)
                .map(|l| l.id.clone());
            Ok(TaskCommand::Reassign {
                requested_by,
                new_lead_unit,
                new_coordinating_units,
                reason,
                supervising_leader_id,
            })
        }
        _ => Err(violations),
    }
}

/// A date that may be left blank for "today", and may not be in the future (a request is
/// recorded after it was made).
fn day_not_after_today(
    field: &str,
    raw: &str,
    today: NaiveDate,
    violations: &mut Vec<FieldViolation>,
) -> Option<NaiveDate> {
    if raw.trim().is_empty() {
        return Some(today);
    }
    let day = parse_date(raw)
        .map_err(|e| violations.push(e.at(field)))
        .ok()?;
    if day > today {
        violations.push(FieldViolation::new(
            field,
            format!(
                "{} is in the future (today is {}): only a request already made is recorded",
                format_date(day),
                format_date(today)
            ),
        ));
        return None;
    }
    Some(day)
}

/// Validates a request for a later deadline (fields `proposed_deadline`, `reason`,
/// `requested_on`) and builds the command.
pub fn validate_extension_request(
    extension_id: String,
    proposed_deadline: &str,
    reason: &str,
    requested_on: &str,
    requested_by_unit: Option<UnitCode>,
    today: NaiveDate,
) -> Result<TaskCommand, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let proposed = parse_date(proposed_deadline)
        .map_err(|e| violations.push(e.at("proposed_deadline")))
        .ok();
    let reason = validate_reason(reason)
        .map_err(|v| violations.extend(v))
        .ok();
    let requested_on = day_not_after_today("requested_on", requested_on, today, &mut violations);
    match (proposed, reason, requested_on) {
        (Some(proposed_deadline), Some(reason), Some(requested_on)) if violations.is_empty() => {
            Ok(TaskCommand::RequestExtension {
                extension_id,
                requested_on,
                proposed_deadline,
                reason,
                requested_by_unit,
            })
        }
        _ => Err(violations),
    }
}

/// Validates a leader's decision on a requested extension (fields `extension_id`, `decision`,
/// `new_deadline`, `reason`); `leader_id` is the deciding leader, already authorised.
pub fn validate_extension_decision(
    extension_id: &str,
    approve: Option<bool>,
    new_deadline: &str,
    reason: &str,
    leader_id: &str,
    today: NaiveDate,
) -> Result<TaskCommand, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let extension_id = text::required(extension_id, LEADER_ID_MAX)
        .map_err(|e| violations.push(e.at("extension_id")))
        .ok();
    let new_deadline = if new_deadline.trim().is_empty() {
        Some(None)
    } else {
        parse_date(new_deadline)
            .map_err(|e| violations.push(e.at("new_deadline")))
            .ok()
            .map(Some)
    };
    let reason = text::optional_lines(reason, REASON_MAX)
        .map_err(|e| violations.push(e.at("reason")))
        .ok();
    let decision = match approve {
        None => {
            violations.push(FieldViolation::new(
                "decision",
                "approve or reject the requested extension",
            ));
            None
        }
        Some(true) => new_deadline.map(|new_deadline| ExtensionDecision::Approve { new_deadline }),
        Some(false) => {
            if new_deadline.flatten().is_some() {
                violations.push(FieldViolation::new(
                    "new_deadline",
                    "a rejected extension grants no deadline",
                ));
            }
            if reason.as_ref().is_some_and(Option::is_none) {
                violations.push(FieldViolation::new(
                    "reason",
                    "a rejection states its reason",
                ));
            }
            Some(ExtensionDecision::Reject)
        }
    };
    match (extension_id, decision, reason) {
        (Some(extension_id), Some(decision), Some(reason)) if violations.is_empty() => {
            Ok(TaskCommand::DecideExtension {
                extension_id,
                decision,
                leader_id: leader_id.to_owned(),
                reason,
                decided_on: today,
            })
        }
        _ => Err(violations),
    }
}

/// Validates an extension requested and approved together (fields `new_deadline`, `reason`,
/// `requested_on`); `approved_by_leader` is the approving leader, already authorised.
pub fn validate_extension(
    new_deadline: &str,
    reason: &str,
    requested_on: &str,
    approved_by_leader: &str,
    today: NaiveDate,
) -> Result<TaskCommand, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let new_deadline = parse_date(new_deadline)
        .map_err(|e| violations.push(e.at("new_deadline")))
        .ok();
    let reason = validate_reason(reason)
        .map_err(|v| violations.extend(v))
        .ok();
    let requested_on = day_not_after_today("requested_on", requested_on, today, &mut violations);
    match (new_deadline, reason, requested_on) {
        (Some(new_deadline), Some(reason), Some(requested_on)) if violations.is_empty() => {
            Ok(TaskCommand::ExtendDeadline {
                new_deadline,
                reason,
                approved_by_leader: approved_by_leader.to_owned(),
                requested_on,
                decided_on: today,
            })
        }
        _ => Err(violations),
    }
}

#[cfg(test)]
mod tests;
