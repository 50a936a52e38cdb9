//! The task aggregate's rules, given/when/then.

use super::*;
use crate::domain::values::{Assigner, AssignerKind, Origin, OriginKind, SourceDocument};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn code(raw: &str) -> UnitCode {
    UnitCode::parse(raw).expect("valid code")
}

fn task_id() -> TaskId {
    TaskId::from_uuid(uuid::Uuid::from_u128(7))
}

fn assign_command() -> AssignTask {
    AssignTask {
        task_id: task_id(),
        origin: Origin {
            kind: OriginKind::CityPeoplesCommittee,
            issuing_body: None,
            document: None,
        },
        assignment: Assignment {
            assigner: Assigner {
                kind: AssignerKind::ViceChairman,
                leader_id: Some("pct-hoang".into()),
                leader_name: Some("Hoàng Minh Đức".into()),
            },
            document: SourceDocument {
                number: "1234".into(),
                symbol: "UBND-VP".into(),
                date: date(2025, 8, 1),
                summary: "Về việc triển khai chuyển đổi số".into(),
            },
        },
        title: "Xây dựng kế hoạch chuyển đổi số".into(),
        content: "Chủ trì xây dựng kế hoạch, báo cáo UBND thành phố.".into(),
        lead_unit: code("SKHCN"),
        coordinating_units: vec![code("STC"), code("SNV")],
        deadline: Some(date(2025, 9, 30)),
        priority: Priority::Urgent,
        assigned_on: date(2025, 8, 2),
        supervising_leader_id: Some("pct-hoang".into()),
        historical: None,
    }
}

fn assigned() -> TaskEvent {
    TaskEvent::from(&assign_command())
}

fn given(events: &[TaskEvent]) -> Task {
    Task::from_events(events)
}

fn reassign(requested_by: Requester, to: &str, reason: &str) -> TaskCommand {
    TaskCommand::Reassign {
        requested_by,
        new_lead_unit: code(to),
        new_coordinating_units: vec![code("SNV")],
        reason: reason.into(),
        supervising_leader_id: Some("pct-tran".into()),
    }
}

fn request(requested_on: NaiveDate, proposed: NaiveDate) -> TaskCommand {
    TaskCommand::RequestExtension {
        extension_id: "ext-1".into(),
        requested_on,
        proposed_deadline: proposed,
        reason: "Chờ ý kiến của Bộ".into(),
        requested_by_unit: Some(code("SKHCN")),
    }
}

fn requested(requested_on: NaiveDate, proposed: NaiveDate) -> TaskEvent {
    TaskEvent::ExtensionRequested {
        task_id: task_id(),
        extension_id: "ext-1".into(),
        requested_on,
        current_deadline: date(2025, 9, 30),
        proposed_deadline: proposed,
        reason: "Chờ ý kiến của Bộ".into(),
        requested_by_unit: Some(code("SKHCN")),
    }
}

fn decide(decision: ExtensionDecision, decided_on: NaiveDate) -> TaskCommand {
    TaskCommand::DecideExtension {
        extension_id: "ext-1".into(),
        decision,
        leader_id: "pct-hoang".into(),
        reason: Some("Đồng ý".into()),
        decided_on,
    }
}

fn extend(new_deadline: NaiveDate, requested_on: NaiveDate, decided_on: NaiveDate) -> TaskCommand {
    TaskCommand::ExtendDeadline {
        new_deadline,
        reason: "Chờ ý kiến của Bộ".into(),
        approved_by_leader: "pct-hoang".into(),
        requested_on,
        decided_on,
    }
}

fn cancelled() -> TaskEvent {
    TaskEvent::Cancelled {
        task_id: task_id(),
        reason: "Văn bản bị thu hồi".into(),
    }
}

// --- assignment ---------------------------------------------------------------------------

#[test]
fn a_new_task_is_assigned() {
    let events = given(&[])
        .decide(&TaskCommand::Assign(assign_command()))
        .expect("accepted");

    assert_eq!(events, [assigned()]);
}

#[test]
fn a_task_cannot_be_assigned_twice() {
    let refused = given(&[assigned()]).decide(&TaskCommand::Assign(assign_command()));

    assert_eq!(refused, Err(TaskError::AlreadyAssigned));
}

#[test]
fn the_lead_unit_cannot_also_coordinate_at_assignment() {
    let mut command = assign_command();
    command.coordinating_units.push(code("SKHCN"));

    let refused = given(&[]).decide(&TaskCommand::Assign(command));

    assert_eq!(
        refused,
        Err(TaskError::LeadUnitAlsoCoordinating {
            unit: code("SKHCN")
        })
    );
}

#[test]
fn commands_on_a_task_never_assigned_are_not_found() {
    let refused = given(&[]).decide(&TaskCommand::Cancel { reason: "x".into() });

    assert_eq!(refused, Err(TaskError::NotFound));
}

// --- rule 2: the lead unit does not hand its task on ------------------------------------

#[test]
fn lead_unit_hand_off_is_recorded_as_refused_not_applied() {
    let events = given(&[assigned()])
        .decide(&reassign(
            Requester::Unit(code("SKHCN")),
            "STC",
            "Không thuộc chức năng",
        ))
        .expect("recorded");

    assert_eq!(
        events,
        [TaskEvent::HandOffRefused {
            task_id: task_id(),
            lead_unit: code("SKHCN"),
            requested_lead_unit: code("STC"),
            reason_given: "Không thuộc chức năng".into(),
        }]
    );
    let after = given(&[assigned(), events[0].clone()]);
    let state = after.state().expect("assigned");
    assert_eq!(state.lead_unit, code("SKHCN"));
    assert_eq!(state.refused_hand_off_attempts, 1);
}

#[test]
fn the_hand_off_rule_cites_the_rule_in_english_and_vietnamese() {
    assert!(HAND_OFF_RULE.contains("may not propose handing it to another agency"));
    assert!(HAND_OFF_RULE_VI.contains("không được đề xuất giao lại cho cơ quan, đơn vị khác"));
}

#[test]
fn authority_reassigns_with_reason_and_the_new_supervisor() {
    let events = given(&[assigned()])
        .decide(&reassign(Requester::Authority, "STC", "Theo chỉ đạo"))
        .expect("reassigned");

    assert!(matches!(
        &events[0],
        TaskEvent::Reassigned { new_lead_unit, supervising_leader_id, .. }
            if new_lead_unit == &code("STC") && supervising_leader_id.as_deref() == Some("pct-tran")
    ));
}

#[test]
fn authority_reassignment_needs_a_reason_and_a_different_unit() {
    let task = given(&[assigned()]);

    assert_eq!(
        task.decide(&reassign(Requester::Authority, "STC", " ")),
        Err(TaskError::ReasonRequired)
    );
    assert_eq!(
        task.decide(&reassign(Requester::Authority, "SKHCN", "x")),
        Err(TaskError::SameLeadUnit {
            unit: code("SKHCN")
        })
    );
    assert_eq!(
        task.decide(&reassign(Requester::Unit(code("STC")), "SNV", "x")),
        Err(TaskError::NotLeadUnit { unit: code("STC") })
    );
}

// --- rule 4: extensions are judged by when they were requested ---------------------------

#[test]
fn an_extension_requested_on_the_deadline_day_and_approved_three_days_later_is_accepted() {
    let requested_on = date(2025, 9, 30);
    let task = given(&[assigned()]);
    let request_events = task
        .decide(&request(requested_on, date(2025, 10, 31)))
        .expect("in time");
    let task = given(&[assigned(), request_events[0].clone()]);

    let decision = task
        .decide(&decide(
            ExtensionDecision::Approve { new_deadline: None },
            date(2025, 10, 3),
        ))
        .expect("the decision may come after the deadline");

    assert_eq!(
        decision,
        [TaskEvent::DeadlineExtended {
            task_id: task_id(),
            previous_deadline: Some(date(2025, 9, 30)),
            new_deadline: date(2025, 10, 31),
            reason: "Đồng ý".into(),
            approved_by_leader: Some("pct-hoang".into()),
            requested_on: Some(requested_on),
            extension_id: Some("ext-1".into()),
            requested_by_unit: Some(code("SKHCN")),
            decided_on: Some(date(2025, 10, 3)),
        }]
    );
}

#[test]
fn an_extension_requested_the_day_after_the_deadline_is_refused_citing_the_rule() {
    let refused = given(&[assigned()]).decide(&request(date(2025, 10, 1), date(2025, 10, 31)));

    let error = refused.expect_err("too late");
    assert_eq!(
        error,
        TaskError::ExtensionRequestedAfterDeadline {
            deadline: date(2025, 9, 30),
            requested_on: date(2025, 10, 1),
        }
    );
    assert!(error.to_string().contains("rule 4"));
    assert_eq!(error.reason(), "EXTENSION_REQUESTED_AFTER_DEADLINE");
    assert!(error.message_vi().contains("01/10/2025"));
}

#[test]
fn a_rejected_request_is_recorded_and_the_deadline_stands() {
    let task = given(&[assigned(), requested(date(2025, 9, 20), date(2025, 10, 31))]);

    let events = task
        .decide(&decide(ExtensionDecision::Reject, date(2025, 9, 22)))
        .expect("rejected");
    let after = given(&[
        assigned(),
        requested(date(2025, 9, 20), date(2025, 10, 31)),
        events[0].clone(),
    ]);

    assert!(matches!(
        &events[0],
        TaskEvent::ExtensionRejected { rejected_by_leader, decided_on, .. }
            if rejected_by_leader == "pct-hoang" && *decided_on == date(2025, 9, 22)
    ));
    let state = after.state().expect("assigned");
    assert_eq!(state.deadline, Some(date(2025, 9, 30)));
    assert_eq!(state.pending_extension, None);
}

#[test]
fn one_request_is_pending_at_a_time_and_a_decision_needs_it_pending() {
    let task = given(&[assigned(), requested(date(2025, 9, 20), date(2025, 10, 31))]);

    assert!(matches!(
        task.decide(&request(date(2025, 9, 21), date(2025, 11, 30))),
        Err(TaskError::ExtensionAlreadyPending { .. })
    ));
    assert!(matches!(
        given(&[assigned()]).decide(&decide(ExtensionDecision::Reject, date(2025, 9, 22))),
        Err(TaskError::ExtensionNotPending { .. })
    ));
    assert!(matches!(
        task.decide(&decide(
            ExtensionDecision::Approve { new_deadline: None },
            date(2025, 9, 19)
        )),
        Err(TaskError::DecisionBeforeRequest { .. })
    ));
}

#[test]
fn an_extension_must_move_the_deadline_later() {
    let refused = given(&[assigned()]).decide(&request(date(2025, 9, 1), date(2025, 9, 30)));

    assert_eq!(
        refused,
        Err(TaskError::ExtensionNotLater {
            current: date(2025, 9, 30),
            requested: date(2025, 9, 30),
        })
    );
}

#[test]
fn a_recorded_extension_is_judged_by_its_request_date_not_its_decision_date() {
    let task = given(&[assigned()]);

    let in_time = task.decide(&extend(
        date(2025, 10, 31),
        date(2025, 9, 29),
        date(2025, 10, 5),
    ));
    let late = task.decide(&extend(
        date(2025, 10, 31),
        date(2025, 10, 2),
        date(2025, 10, 5),
    ));

    assert!(in_time.is_ok(), "{in_time:?}");
    assert!(matches!(
        late,
        Err(TaskError::ExtensionRequestedAfterDeadline { .. })
    ));
}

#[test]
fn a_second_request_is_judged_against_the_deadline_valid_that_day() {
    let first = TaskEvent::DeadlineExtended {
        task_id: task_id(),
        previous_deadline: Some(date(2025, 9, 30)),
        new_deadline: date(2025, 10, 31),
        reason: "x".into(),
        approved_by_leader: Some("pct-hoang".into()),
        requested_on: Some(date(2025, 9, 25)),
        extension_id: None,
        requested_by_unit: None,
        decided_on: Some(date(2025, 9, 28)),
    };
    let task = given(&[assigned(), first]);

    // 15 October: past the original deadline, within the extended one.
    let second = task.decide(&request(date(2025, 10, 15), date(2025, 11, 30)));

    assert!(second.is_ok(), "{second:?}");
}

#[test]
fn a_task_without_a_deadline_is_given_one_that_can_still_be_met() {
    let mut command = assign_command();
    command.deadline = None;
    let task = given(&[TaskEvent::from(&command)]);

    let given_one = task.decide(&extend(
        date(2025, 12, 31),
        date(2025, 9, 1),
        date(2025, 9, 1),
    ));
    let past = task.decide(&extend(
        date(2025, 8, 31),
        date(2025, 9, 1),
        date(2025, 9, 1),
    ));
    let request_without = task.decide(&request(date(2025, 9, 1), date(2025, 12, 31)));

    assert!(matches!(
        &given_one.expect("a first deadline")[0],
        TaskEvent::DeadlineExtended { previous_deadline: None, new_deadline, .. }
            if *new_deadline == date(2025, 12, 31)
    ));
    assert!(matches!(past, Err(TaskError::DeadlineInThePast { .. })));
    assert_eq!(request_without, Err(TaskError::ExtensionWithoutDeadline));
}

// --- cancellation -------------------------------------------------------------------------

#[test]
fn a_task_is_cancelled_with_a_reason_and_then_cannot_change() {
    let task = given(&[assigned()]);

    assert_eq!(
        task.decide(&TaskCommand::Cancel { reason: " ".into() }),
        Err(TaskError::ReasonRequired)
    );
    let cancelled_task = given(&[assigned(), cancelled()]);
    assert_eq!(
        cancelled_task.decide(&reassign(Requester::Authority, "STC", "x")),
        Err(TaskError::Cancelled)
    );
    assert_eq!(
        cancelled_task.state().map(|s| s.status),
        Some(TaskStatus::Cancelled)
    );
}

#[test]
fn every_rule_has_a_reason_of_its_own() {
    let errors = [
        TaskError::NotFound,
        TaskError::AlreadyAssigned,
        TaskError::Cancelled,
        TaskError::NotLeadUnit { unit: code("A") },
        TaskError::SameLeadUnit { unit: code("A") },
        TaskError::ExtensionWithoutDeadline,
        TaskError::ExtensionNotLater {
            current: date(2025, 1, 1),
            requested: date(2025, 1, 1),
        },
        TaskError::ExtensionRequestedAfterDeadline {
            deadline: date(2025, 1, 1),
            requested_on: date(2025, 1, 2),
        },
        TaskError::ExtensionAlreadyPending {
            extension_id: "x".into(),
        },
        TaskError::ExtensionNotPending {
            extension_id: "x".into(),
        },
        TaskError::DecisionBeforeRequest {
            requested_on: date(2025, 1, 2),
            decided_on: date(2025, 1, 1),
        },
        TaskError::DeadlineInThePast {
            deadline: date(2025, 1, 1),
            today: date(2025, 1, 2),
        },
        TaskError::LeadUnitAlsoCoordinating { unit: code("A") },
        TaskError::ReasonRequired,
    ];

    let reasons: std::collections::HashSet<&str> = errors.iter().map(TaskError::reason).collect();

    assert_eq!(reasons.len(), errors.len());
    assert!(errors.iter().all(|e| !e.message_vi().is_empty()));
}
