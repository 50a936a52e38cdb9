//! Validation of raw task requests: parse every field, collect every violation, and build the
//! command only when nothing is wrong (design.md §4: bad input names the field and writes
//! nothing). Pure: the gRPC adapter maps protobuf requests to the inputs here.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::aggregate::{AssignTask, Requester, TaskCommand};
use crate::domain::directory::DirectoryVersion;
use crate::domain::values::{
    CONTENT_MAX, FieldViolation, Issuer, IssuerKind, LEADER_ID_MAX, Priority, REASON_MAX,
    SourceDocument, TITLE_MAX, TaskId, UnitCode, format_date, parse_date, text,
};

/// An assignment request as received, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignTaskInput {
    /// `None` when the request left the issuer kind unspecified.
    pub issuer_kind: Option<IssuerKind>,
    pub leader_id: String,
    pub leader_name: String,
    pub number: String,
    pub symbol: String,
    pub document_date: String,
    pub summary: String,
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

/// Validates an assignment against the directory version valid `today`, collecting every
/// violation. `directory` is `None` when no directory version covers `today`.
pub fn validate_assignment(
    input: &AssignTaskInput,
    directory: Option<&DirectoryVersion>,
    task_id: TaskId,
    today: NaiveDate,
) -> Result<AssignTask, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let issuer = Issuer::parse(input.issuer_kind, &input.leader_id, &input.leader_name)
        .map_err(|v| violations.extend(v))
        .ok();
    let source_document = SourceDocument::parse(
        &input.number,
        &input.symbol,
        &input.document_date,
        &input.summary,
    )
    .map_err(|v| violations.extend(v))
    .ok();
    if let Some(document) = &source_document
        && document.date > today
    {
        violations.push(FieldViolation::new(
            "source_document.date",
            format!(
                "the source document date {} is after today ({}); a task comes from a \
                 document already issued",
                format_date(document.date),
                format_date(today)
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
        directory,
        today,
        &mut violations,
    );
    let deadline = validate_term(input, source_document.as_ref(), &mut violations);

    match (issuer, source_document, title, content, units, deadline) {
        (
            Some(issuer),
            Some(source_document),
            Some(title),
            Some(content),
            Some((lead_unit, coordinating_units)),
            Some(deadline),
        ) if violations.is_empty() => Ok(AssignTask {
            task_id,
            issuer,
            source_document,
            title,
            content,
            lead_unit,
            coordinating_units,
            deadline,
            priority: input.priority.unwrap_or_default(),
            assigned_on: today,
        }),
        _ => Err(violations),
    }
}

/// The `term` oneof: `Some(deadline)` or `Some(None)` for "no deadline"; `None` if invalid.
fn validate_term(
    input: &AssignTaskInput,
    source_document: Option<&SourceDocument>,
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
            if let Some(document) = source_document
                && deadline < document.date
            {
                violations.push(FieldViolation::new(
                    "deadline",
                    format!(
                        "the deadline {} is before the source document date {}",
                        format_date(deadline),
                        format_date(document.date)
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
/// `reason`) against the directory valid `today` and builds the command.
pub fn validate_reassignment(
    requested_by: Requester,
    new_lead_unit: &str,
    new_coordinating_units: &[String],
    reason: &str,
    directory: Option<&DirectoryVersion>,
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
            Ok(TaskCommand::Reassign {
                requested_by,
                new_lead_unit,
                new_coordinating_units,
                reason,
            })
        }
        _ => Err(violations),
    }
}

/// Validates a deadline extension request (fields `new_deadline`, `reason`,
/// `approved_by_leader_id`; a blank leader id means the Office records it on the leadership's
/// behalf) and builds the command.
pub fn validate_extension(
    new_deadline: &str,
    reason: &str,
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
    let approved_by_leader = text::optional(approved_by_leader, LEADER_ID_MAX)
        .map_err(|e| violations.push(e.at("approved_by_leader_id")))
        .ok();
    match (new_deadline, reason, approved_by_leader) {
        (Some(new_deadline), Some(reason), Some(approved_by_leader)) if violations.is_empty() => {
            Ok(TaskCommand::ExtendDeadline {
                new_deadline,
                reason,
                approved_by_leader,
                today,
            })
        }
        _ => Err(violations),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IssuerKind;
    use crate::domain::directory::parse_directory_toml;

    const SEED: &str = include_str!("../../../seed/haiphong-units.toml");

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn code(raw: &str) -> UnitCode {
        UnitCode::parse(raw).expect("valid code")
    }

    fn task_id() -> TaskId {
        TaskId::from_uuid(uuid::Uuid::from_u128(7))
    }

    // --- validation ---------------------------------------------------------------------------

    fn directory_2025() -> DirectoryVersion {
        parse_directory_toml(SEED)
            .expect("seed parses")
            .into_iter()
            .find(|v| v.valid_to.is_none())
            .expect("2025 version")
    }

    fn today() -> NaiveDate {
        date(2025, 8, 2)
    }

    fn assign_command() -> AssignTask {
        AssignTask {
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
                summary: "Về việc triển khai chuyển đổi số".into(),
            },
            title: "Xây dựng kế hoạch chuyển đổi số".into(),
            content: "Chủ trì xây dựng kế hoạch, báo cáo UBND thành phố.".into(),
            lead_unit: code("SKHCN"),
            coordinating_units: vec![code("STC"), code("SNV")],
            deadline: Some(date(2025, 9, 30)),
            priority: Priority::Urgent,
            assigned_on: date(2025, 8, 2),
        }
    }

    fn valid_input() -> AssignTaskInput {
        AssignTaskInput {
            issuer_kind: Some(IssuerKind::ViceChairman),
            leader_id: "nguyen-van-a".into(),
            leader_name: " Nguyễn Văn A ".into(),
            number: "1234".into(),
            symbol: "UBND-VP".into(),
            document_date: "2025-08-01".into(),
            summary: "Về việc triển khai chuyển đổi số".into(),
            title: "Xây dựng kế hoạch chuyển đổi số".into(),
            content: "Chủ trì xây dựng kế hoạch, báo cáo UBND thành phố.".into(),
            lead_unit: "skhcn".into(),
            coordinating_units: vec!["STC".into(), "SNV".into()],
            deadline: Some("2025-09-30".into()),
            no_deadline: false,
            priority: Some(Priority::Urgent),
        }
    }

    fn violations_of(input: &AssignTaskInput) -> Vec<FieldViolation> {
        validate_assignment(input, Some(&directory_2025()), task_id(), today())
            .expect_err("refused")
    }

    fn fields(violations: &[FieldViolation]) -> Vec<&str> {
        violations.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn a_valid_assignment_becomes_a_normalised_command() {
        let command =
            validate_assignment(&valid_input(), Some(&directory_2025()), task_id(), today())
                .expect("valid");

        assert_eq!(command, assign_command());
    }

    #[test]
    fn a_missing_priority_defaults_to_normal() {
        let input = AssignTaskInput {
            priority: None,
            ..valid_input()
        };

        let command = validate_assignment(&input, Some(&directory_2025()), task_id(), today())
            .expect("valid");

        assert_eq!(command.priority, Priority::Normal);
    }

    #[test]
    fn a_missing_issuer_kind_is_a_violation() {
        let input = AssignTaskInput {
            issuer_kind: None,
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["issuer.kind"]);
    }

    #[test]
    fn a_vice_chairman_without_leader_id_is_a_violation() {
        let input = AssignTaskInput {
            leader_id: " ".into(),
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["issuer.leader_id"]);
    }

    #[test]
    fn empty_fields_are_violations() {
        let input = AssignTaskInput {
            number: String::new(),
            symbol: " ".into(),
            summary: String::new(),
            title: "\t".into(),
            content: String::new(),
            ..valid_input()
        };

        assert_eq!(
            fields(&violations_of(&input)),
            [
                "source_document.number",
                "source_document.symbol",
                "source_document.summary",
                "title",
                "content"
            ]
        );
    }

    #[test]
    fn over_long_fields_are_violations() {
        let input = AssignTaskInput {
            leader_name: "a".repeat(201),
            number: "1".repeat(21),
            symbol: "S".repeat(51),
            summary: "s".repeat(1_001),
            title: "t".repeat(501),
            content: "c".repeat(20_001),
            ..valid_input()
        };

        assert_eq!(
            fields(&violations_of(&input)),
            [
                "issuer.leader_name",
                "source_document.number",
                "source_document.symbol",
                "source_document.summary",
                "title",
                "content"
            ]
        );
    }

    #[test]
    fn fields_at_their_limits_are_accepted() {
        let input = AssignTaskInput {
            title: "ệ".repeat(500),
            content: "c".repeat(20_000),
            summary: "s".repeat(1_000),
            number: "1".repeat(20),
            symbol: "S".repeat(50),
            leader_name: "a".repeat(200),
            ..valid_input()
        };

        assert!(validate_assignment(&input, Some(&directory_2025()), task_id(), today()).is_ok());
    }

    #[test]
    fn bad_dates_are_violations_on_their_fields() {
        let input = AssignTaskInput {
            document_date: "01/08/2025".into(),
            deadline: Some("2025-09-31".into()),
            ..valid_input()
        };

        assert_eq!(
            fields(&violations_of(&input)),
            ["source_document.date", "deadline"]
        );
    }

    #[test]
    fn a_source_document_dated_after_today_is_a_violation() {
        let input = AssignTaskInput {
            document_date: "2025-08-03".into(),
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["source_document.date"]);
    }

    #[test]
    fn a_missing_lead_unit_is_a_violation() {
        let input = AssignTaskInput {
            lead_unit: "  ".into(),
            ..valid_input()
        };

        let violations = violations_of(&input);

        assert_eq!(fields(&violations), ["lead_unit"]);
        assert!(violations[0].description.contains("exactly one lead unit"));
    }

    #[test]
    fn units_not_in_the_directory_valid_today_are_unknown() {
        let input = AssignTaskInput {
            lead_unit: "Q-HONGBANG".into(),
            coordinating_units: vec!["STC".into(), "SKHDT".into()],
            ..valid_input()
        };

        let violations = violations_of(&input);

        assert_eq!(fields(&violations), ["lead_unit", "coordinating_units[1]"]);
        assert!(
            violations[0]
                .description
                .contains("unknown unit Q-HONGBANG")
        );
    }

    #[test]
    fn without_a_directory_every_unit_is_unknown_and_the_message_says_to_import_it() {
        let violations =
            validate_assignment(&valid_input(), None, task_id(), today()).expect_err("refused");

        assert_eq!(
            fields(&violations),
            [
                "lead_unit",
                "coordinating_units[0]",
                "coordinating_units[1]"
            ]
        );
        assert!(
            violations[0]
                .description
                .contains("import the unit directory")
        );
    }

    #[test]
    fn a_malformed_unit_code_is_a_violation() {
        let input = AssignTaskInput {
            coordinating_units: vec!["Sở Tài chính".into()],
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["coordinating_units[0]"]);
    }

    #[test]
    fn the_lead_unit_listed_as_coordinating_is_a_violation() {
        let input = AssignTaskInput {
            coordinating_units: vec!["STC".into(), "SKHCN".into()],
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["coordinating_units[1]"]);
    }

    #[test]
    fn duplicate_coordinating_units_are_a_violation() {
        let input = AssignTaskInput {
            coordinating_units: vec!["STC".into(), "SNV".into(), "stc".into()],
            ..valid_input()
        };

        let violations = violations_of(&input);

        assert_eq!(fields(&violations), ["coordinating_units[2]"]);
        assert!(violations[0].description.contains("coordinating_units[0]"));
    }

    #[test]
    fn a_deadline_before_the_source_document_date_is_a_violation() {
        let input = AssignTaskInput {
            deadline: Some("2025-07-31".into()),
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["deadline"]);
    }

    #[test]
    fn neither_deadline_nor_no_deadline_is_a_term_violation() {
        let input = AssignTaskInput {
            deadline: None,
            no_deadline: false,
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["term"]);
    }

    #[test]
    fn both_deadline_and_no_deadline_is_a_term_violation() {
        let input = AssignTaskInput {
            no_deadline: true,
            ..valid_input()
        };

        assert_eq!(fields(&violations_of(&input)), ["term"]);
    }

    #[test]
    fn no_deadline_means_a_task_without_deadline() {
        let input = AssignTaskInput {
            deadline: None,
            no_deadline: true,
            ..valid_input()
        };

        let command = validate_assignment(&input, Some(&directory_2025()), task_id(), today())
            .expect("valid");

        assert_eq!(command.deadline, None);
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let input = AssignTaskInput {
            issuer_kind: None,
            title: String::new(),
            lead_unit: "XYZ".into(),
            deadline: None,
            ..valid_input()
        };

        assert_eq!(
            fields(&violations_of(&input)),
            ["issuer.kind", "title", "lead_unit", "term"]
        );
    }

    #[test]
    fn a_valid_reassignment_becomes_a_command() {
        let command = validate_reassignment(
            Requester::Authority,
            "snv",
            &["STC".into()],
            " Theo chỉ đạo ",
            Some(&directory_2025()),
            today(),
        )
        .expect("valid");

        assert_eq!(
            command,
            TaskCommand::Reassign {
                requested_by: Requester::Authority,
                new_lead_unit: code("SNV"),
                new_coordinating_units: vec![code("STC")],
                reason: "Theo chỉ đạo".into(),
            }
        );
    }

    #[test]
    fn a_reassignment_needs_a_known_new_lead_unit_and_a_reason() {
        let violations = validate_reassignment(
            Requester::Authority,
            "SKHDT",
            &["SNV".into(), "SNV".into()],
            "",
            Some(&directory_2025()),
            today(),
        )
        .expect_err("refused");

        assert_eq!(
            fields(&violations),
            ["new_lead_unit", "new_coordinating_units[1]", "reason"]
        );
    }

    #[test]
    fn a_valid_extension_becomes_a_command() {
        let command =
            validate_extension("2025-10-31", "Chờ ý kiến của Bộ", "", today()).expect("valid");

        assert_eq!(
            command,
            TaskCommand::ExtendDeadline {
                new_deadline: date(2025, 10, 31),
                reason: "Chờ ý kiến của Bộ".into(),
                approved_by_leader: None,
                today: today(),
            }
        );
    }

    #[test]
    fn an_extension_needs_a_valid_date_and_a_reason() {
        let violations = validate_extension("31/10/2025", "", "", today()).expect_err("refused");

        assert_eq!(fields(&violations), ["new_deadline", "reason"]);
    }

    #[test]
    fn a_reason_is_required_and_at_most_2000_characters() {
        assert_eq!(
            fields(&validate_reason(" ").expect_err("blank")),
            ["reason"]
        );
        assert!(validate_reason(&"r".repeat(2_001)).is_err());
        assert_eq!(
            validate_reason(&"r".repeat(2_000)).map(|r| r.len()),
            Ok(2_000)
        );
    }
}
