//! Validation of raw requests: every violation named, against the directories of the day.

use super::*;
use crate::domain::directory::parse_directory_toml;
use crate::domain::leaders::parse_leaders_toml;

const UNITS: &str = include_str!("../../../../seed/haiphong-units.toml");
const LEADERS: &str = include_str!("../../../../seed/haiphong-leaders.toml");

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn code(raw: &str) -> UnitCode {
    UnitCode::parse(raw).expect("valid code")
}

fn task_id() -> TaskId {
    TaskId::from_uuid(uuid::Uuid::from_u128(7))
}

fn directory_on(day: NaiveDate) -> DirectoryVersion {
    parse_directory_toml(UNITS)
        .expect("seed parses")
        .into_iter()
        .find(|v| v.is_valid_on(day))
        .expect("a version")
}

fn leaders() -> LeaderRoster {
    LeaderRoster::new(parse_leaders_toml(LEADERS).expect("leaders parse"))
}

fn today() -> NaiveDate {
    date(2026, 11, 28)
}

fn document(date: &str) -> DocumentInput {
    DocumentInput {
        number: "4521".into(),
        symbol: "UBND-XD".into(),
        date: date.into(),
        summary: "Về việc đôn đốc tiến độ".into(),
    }
}

fn valid_input() -> AssignTaskInput {
    AssignTaskInput {
        origin_kind: Some(OriginKind::Government),
        origin_issuing_body: String::new(),
        origin_document: Some(DocumentInput {
            number: "12".into(),
            symbol: "NQ-CP".into(),
            date: "2026-11-10".into(),
            summary: "Nghị quyết phiên họp Chính phủ thường kỳ".into(),
        }),
        assigner_kind: Some(AssignerKind::ViceChairman),
        assigner_leader_id: "pct-tran".into(),
        assignment_document: document("2026-11-20"),
        title: "Báo cáo tiến độ giải phóng mặt bằng".into(),
        content: "Dòng một\nDòng hai".into(),
        lead_unit: "sxd".into(),
        coordinating_units: vec!["STC".into()],
        deadline: Some("2026-12-31".into()),
        no_deadline: false,
        priority: Some(Priority::Urgent),
    }
}

fn validate(input: &AssignTaskInput) -> Result<AssignTask, Vec<FieldViolation>> {
    validate_on(input, today(), None)
}

fn validate_on(
    input: &AssignTaskInput,
    on: NaiveDate,
    historical: Option<&str>,
) -> Result<AssignTask, Vec<FieldViolation>> {
    let units = directory_on(on);
    let leaders = leaders();
    validate_assignment(
        input,
        AssignmentContext {
            units: Some(&units),
            leaders: &leaders,
            assigned_on: on,
            historical,
        },
        task_id(),
    )
}

fn fields(violations: &[FieldViolation]) -> Vec<&str> {
    violations.iter().map(|v| v.field.as_str()).collect()
}

#[test]
fn a_government_task_assigned_by_a_vice_chairman_keeps_both() {
    let command = validate(&valid_input()).expect("valid");

    assert_eq!(command.origin.kind, OriginKind::Government);
    assert_eq!(
        command.origin.document.as_ref().map(|d| d.symbol.as_str()),
        Some("NQ-CP")
    );
    assert_eq!(command.assignment.assigner.kind, AssignerKind::ViceChairman);
    assert_eq!(
        command.assignment.assigner.leader_name.as_deref(),
        Some("Trần Văn Minh"),
        "the name comes from the leader directory"
    );
    assert_eq!(command.assignment.document.number, "4521");
    assert_eq!(command.lead_unit, code("SXD"));
    assert_eq!(command.supervising_leader_id.as_deref(), Some("pct-tran"));
    assert_eq!(command.content, "Dòng một\nDòng hai");
}

#[test]
fn a_vice_chairman_cannot_be_recorded_as_the_chairman() {
    let mut input = valid_input();
    input.assigner_kind = Some(AssignerKind::Chairman);

    let violations = validate(&input).expect_err("refused");

    assert_eq!(fields(&violations), ["assignment.assigner.kind"]);
    assert!(violations[0].description.contains("Phó Chủ tịch"));
}

#[test]
fn an_unknown_or_former_leader_id_names_the_field() {
    let mut unknown = valid_input();
    unknown.assigner_leader_id = "pct-nobody".into();
    let mut former = valid_input();
    former.assigner_leader_id = "pct-le".into();

    for input in [unknown, former] {
        let violations = validate(&input).expect_err("refused");

        assert_eq!(fields(&violations), ["assignment.assigner.leader_id"]);
    }
}

#[test]
fn the_city_as_a_body_names_no_leader_and_a_city_task_needs_no_origin_document() {
    let mut input = valid_input();
    input.origin_kind = Some(OriginKind::CityPeoplesCommittee);
    input.origin_document = None;
    input.assigner_kind = Some(AssignerKind::CityPeoplesCommittee);
    input.assigner_leader_id = String::new();

    let command = validate(&input).expect("valid");

    assert_eq!(command.origin.document, None);
    assert_eq!(command.assignment.assigner.leader_id, None);
}

#[test]
fn a_ministry_is_named_and_every_origin_but_the_city_has_its_document() {
    let mut input = valid_input();
    input.origin_kind = Some(OriginKind::Ministry);
    input.origin_document = None;

    let violations = validate(&input).expect_err("refused");

    assert_eq!(
        fields(&violations),
        ["origin.issuing_body", "origin.document"]
    );
}

#[test]
fn a_new_task_whose_deadline_has_passed_is_refused_but_a_historical_record_may_have_one() {
    let mut input = valid_input();
    input.deadline = Some("2026-11-27".into());

    let new = validate(&input).expect_err("refused");
    let mut old = valid_input();
    old.origin_document = Some(document("2024-03-01"));
    old.assignment_document = document("2024-03-02");
    old.deadline = Some("2024-04-30".into());
    let historical = validate_on(&old, date(2024, 3, 4), Some("Nhập sổ giấy"));

    assert_eq!(fields(&new), ["deadline"]);
    let command = historical.expect("a historical record");
    assert_eq!(command.historical.as_deref(), Some("Nhập sổ giấy"));
    assert_eq!(command.assigned_on, date(2024, 3, 4));
}

#[test]
fn a_commune_is_assigned_from_july_2025_and_an_abolished_district_is_not() {
    let mut commune = valid_input();
    commune.lead_unit = "11560".into();
    commune.coordinating_units = vec![];
    commune.origin_document = Some(document("2025-06-20"));
    commune.assignment_document = document("2025-06-25");
    commune.deadline = Some("2025-09-30".into());
    let mut district = commune.clone();
    district.lead_unit = "Q-HONGBANG".into();

    let assigned = validate_on(&commune, date(2025, 7, 1), None);
    let refused = validate_on(&district, date(2025, 7, 1), None).expect_err("abolished");

    assert_eq!(assigned.expect("a commune").lead_unit, code("11560"));
    assert_eq!(fields(&refused), ["lead_unit"]);
}

#[test]
fn every_violation_is_reported_at_once() {
    let input = AssignTaskInput {
        origin_kind: None,
        origin_issuing_body: String::new(),
        origin_document: None,
        assigner_kind: Some(AssignerKind::ViceChairman),
        assigner_leader_id: String::new(),
        assignment_document: DocumentInput::default(),
        title: " ".into(),
        content: "x\u{0}".into(),
        lead_unit: String::new(),
        coordinating_units: vec!["??".into()],
        deadline: None,
        no_deadline: false,
        priority: None,
    };

    let violations = validate(&input).expect_err("refused");

    assert_eq!(
        fields(&violations),
        [
            "origin.kind",
            "assignment.assigner.leader_id",
            "assignment.document.number",
            "assignment.document.symbol",
            "assignment.document.summary",
            "assignment.document.date",
            "title",
            "content",
            "lead_unit",
            "coordinating_units[0]",
            "term"
        ]
    );
}

#[test]
fn the_lead_unit_listed_as_coordinating_and_duplicates_are_violations() {
    let mut input = valid_input();
    input.coordinating_units = vec!["SXD".into(), "STC".into(), "stc".into()];

    let violations = validate(&input).expect_err("refused");

    assert_eq!(
        fields(&violations),
        ["coordinating_units[0]", "coordinating_units[2]"]
    );
}

#[test]
fn documents_after_the_assignment_date_or_out_of_order_are_violations() {
    let mut input = valid_input();
    input.assignment_document = document("2026-11-29");
    let mut reversed = valid_input();
    reversed.assignment_document = document("2026-11-01");

    assert_eq!(
        fields(&validate(&input).expect_err("refused")),
        ["assignment.document.date"]
    );
    assert_eq!(
        fields(&validate(&reversed).expect_err("refused")),
        ["assignment.document.date"]
    );
}

#[test]
fn an_extension_request_dated_in_the_future_is_refused() {
    let refused = validate_extension_request(
        "x".into(),
        "2026-12-31",
        "Lý do",
        "2026-11-29",
        None,
        today(),
    )
    .expect_err("refused");
    let today_by_default =
        validate_extension_request("x".into(), "2026-12-31", "Lý do", "", None, today())
            .expect("valid");

    assert_eq!(fields(&refused), ["requested_on"]);
    assert!(matches!(
        today_by_default,
        TaskCommand::RequestExtension { requested_on, .. } if requested_on == today()
    ));
}

#[test]
fn a_decision_names_approve_or_reject_and_a_rejection_its_reason() {
    let none =
        validate_extension_decision("ext", None, "", "", "pct-tran", today()).expect_err("refused");
    let bare_rejection =
        validate_extension_decision("ext", Some(false), "", "", "pct-tran", today())
            .expect_err("refused");
    let approval = validate_extension_decision("ext", Some(true), "", "", "pct-tran", today());

    assert_eq!(fields(&none), ["decision"]);
    assert_eq!(fields(&bare_rejection), ["reason"]);
    assert!(approval.is_ok());
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
