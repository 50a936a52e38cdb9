use chrono::NaiveDate;
use dondoc_eventsourcing::Aggregate;

use super::*;
use crate::domain::facts::DeadlineFrom;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn calendar() -> std::sync::Arc<dondoc_runtime::calendar::WorkingCalendar> {
    std::sync::Arc::new(dondoc_runtime::calendar::WorkingCalendar::vietnam().expect("calendar"))
}

fn facts() -> TaskFacts {
    TaskFacts {
        task_id: "task-1".into(),
        title: "Báo cáo tiến độ giải phóng mặt bằng".into(),
        lead_unit: "SXD".into(),
        coordinating_units: vec!["STC".into()],
        assigning_leader_id: Some("pct-tran".into()),
        supervising_leader_id: Some("pct-tran".into()),
        assigned_on: day("2026-11-20"),
        deadlines: vec![DeadlineFrom {
            from: day("2026-11-20"),
            deadline: Some(day("2026-12-31")),
        }],
        cancelled: false,
        extension_decisions: Vec::new(),
        directing_document: None,
    }
}

fn run(state: &Execution, on: &str, action: Action) -> Result<Vec<ExecutionEvent>, ExecutionError> {
    state.decide(&ExecutionCommand {
        facts: facts(),
        today: day(on),
        action,
        calendar: calendar(),
    })
}

/// The state after `actions`, each on its day, every one accepted.
fn given(actions: Vec<(&str, Action)>) -> Execution {
    let mut state = Execution::default();
    for (on, action) in actions {
        for event in run(&state, on, action).expect("accepted") {
            state.apply(&event);
        }
    }
    state
}

fn difficulty(id: &str) -> Action {
    Action::ReportDifficulty {
        difficulty_id: id.into(),
        description: "Vướng mắc về giá đất".into(),
        proposed_solution: "Đề nghị áp dụng bảng giá mới".into(),
    }
}

fn submit(id: &str) -> Action {
    Action::SubmitResult {
        submission_id: id.into(),
        summary: "Đã hoàn thành".into(),
        documents: Vec::new(),
    }
}

fn review(id: &str, accept: bool) -> Action {
    Action::ReviewResult {
        submission_id: id.into(),
        accept,
        note: if accept {
            String::new()
        } else {
            "Bổ sung số liệu".into()
        },
    }
}

#[test]
fn an_acknowledged_task_is_in_progress() {
    let state = given(vec![("2026-11-21", Action::Acknowledge)]);
    assert_eq!(state.status(&facts()), TaskStatus::InProgress);
    assert_eq!(
        run(&state, "2026-11-22", Action::Acknowledge),
        Err(ExecutionError::AlreadyAcknowledged)
    );
}

#[test]
fn nothing_is_reported_before_the_task_is_acknowledged() {
    let result = run(
        &Execution::default(),
        "2026-11-21",
        Action::ReportProgress {
            percent: 10,
            narrative: "x".into(),
            documents: Vec::new(),
        },
    );
    assert_eq!(result, Err(ExecutionError::NotAcknowledged));
}

#[test]
fn a_difficulty_without_direction_blocks_the_result_until_directed() {
    let state = given(vec![
        ("2026-11-21", Action::Acknowledge),
        ("2026-11-22", difficulty("d1")),
    ]);
    assert_eq!(
        run(&state, "2026-11-23", submit("s1")),
        Err(ExecutionError::DifficultyAwaitingDirection {
            difficulty_id: "d1".into()
        })
    );
    let directed = given(vec![
        ("2026-11-21", Action::Acknowledge),
        ("2026-11-22", difficulty("d1")),
        (
            "2026-11-23",
            Action::GiveDirection {
                difficulty_id: "d1".into(),
                direction: "Áp dụng bảng giá mới".into(),
                leader_id: "pct-tran".into(),
            },
        ),
    ]);
    assert!(run(&directed, "2026-11-24", submit("s1")).is_ok());
}

#[test]
fn an_accepted_result_is_judged_against_the_deadline_in_force_on_the_day_it_was_submitted() {
    let on_time = given(vec![
        ("2026-11-21", Action::Acknowledge),
        ("2026-12-31", submit("s1")),
        ("2027-01-05", review("s1", true)),
    ]);
    assert_eq!(on_time.status(&facts()), TaskStatus::Completed);
    assert!(matches!(
        on_time.completed().and_then(|s| s.review.clone()),
        Some(Review::Accepted {
            timeliness: Timeliness::OnTime,
            days_late: 0,
            ..
        })
    ));
}

#[test]
fn a_returned_result_resubmitted_after_the_deadline_completes_late() {
    let state = given(vec![
        ("2026-11-21", Action::Acknowledge),
        ("2026-12-20", submit("s1")),
        ("2026-12-22", review("s1", false)),
    ]);
    assert_eq!(state.status(&facts()), TaskStatus::ReturnedForRework);
    let state = given(vec![
        ("2026-11-21", Action::Acknowledge),
        ("2026-12-20", submit("s1")),
        ("2026-12-22", review("s1", false)),
        ("2027-01-03", submit("s2")),
        ("2027-01-04", review("s2", true)),
    ]);
    assert!(matches!(
        state.completed().and_then(|s| s.review.clone()),
        // Three calendar days after Thursday 31 December 2026 but submitted on a Sunday after
        // the New Year holiday: received Monday 4 January, one working day late.
        Some(Review::Accepted {
            timeliness: Timeliness::Late,
            days_late: 1,
            ..
        })
    ));
    assert_eq!(
        run(&state, "2027-01-05", Action::Acknowledge),
        Err(ExecutionError::TaskCompleted)
    );
}

#[test]
fn only_the_result_awaiting_review_can_be_reviewed_and_one_waits_at_a_time() {
    let state = given(vec![
        ("2026-11-21", Action::Acknowledge),
        ("2026-12-20", submit("s1")),
    ]);
    assert_eq!(state.status(&facts()), TaskStatus::AwaitingConfirmation);
    assert_eq!(
        run(&state, "2026-12-21", submit("s2")),
        Err(ExecutionError::ResultAwaitingReview {
            submission_id: "s1".into()
        })
    );
    assert_eq!(
        run(&state, "2026-12-21", review("s9", true)),
        Err(ExecutionError::NoResultToReview {
            submission_id: "s9".into()
        })
    );
}

#[test]
fn silence_past_the_reply_date_is_deemed_agreement_once() {
    let state = given(vec![
        ("2026-11-21", Action::Acknowledge),
        (
            "2026-11-22",
            Action::RequestCoordination {
                coordination_id: "c1".into(),
                unit: "STC".into(),
                request: "Cho ý kiến về kinh phí".into(),
                reply_due: day("2026-11-30"),
            },
        ),
    ]);
    assert_eq!(
        run(&state, "2026-11-30", Action::EvaluateReplyDeadlines),
        Ok(vec![])
    );
    let deemed = run(&state, "2026-12-01", Action::EvaluateReplyDeadlines).expect("evaluates");
    assert_eq!(deemed.len(), 1);
    let mut after = state.clone();
    after.apply(&deemed[0]);
    assert_eq!(
        run(&after, "2026-12-02", Action::EvaluateReplyDeadlines),
        Ok(vec![])
    );
    assert_eq!(
        run(
            &after,
            "2026-12-02",
            Action::SubmitCoordination {
                coordination_id: "c1".into(),
                unit: "STC".into(),
                reply: "Đồng ý".into(),
            }
        ),
        Err(ExecutionError::CoordinationSettled {
            coordination_id: "c1".into()
        })
    );
}

#[test]
fn only_a_coordinating_unit_is_asked_and_only_it_answers() {
    let state = given(vec![("2026-11-21", Action::Acknowledge)]);
    assert_eq!(
        run(
            &state,
            "2026-11-22",
            Action::RequestCoordination {
                coordination_id: "c1".into(),
                unit: "SYT".into(),
                request: "x".into(),
                reply_due: day("2026-11-30"),
            }
        ),
        Err(ExecutionError::NotCoordinatingUnit { unit: "SYT".into() })
    );
}

#[test]
fn a_hand_off_attempt_is_recorded_even_before_receipt() {
    let events = run(
        &Execution::default(),
        "2026-11-21",
        Action::RequestHandOff {
            requested_unit: "STC".into(),
            reason: "Không thuộc chức năng".into(),
        },
    )
    .expect("recorded");
    assert!(events[0].is_hand_off_refused());
}

#[test]
fn a_cancelled_task_refuses_work() {
    let state = given(vec![("2026-11-21", Action::Acknowledge)]);
    let mut cancelled = facts();
    cancelled.cancelled = true;
    let result = state.decide(&ExecutionCommand {
        facts: cancelled.clone(),
        today: day("2026-11-22"),
        action: submit("s1"),
        calendar: calendar(),
    });
    assert_eq!(result, Err(ExecutionError::TaskCancelled));
    assert_eq!(state.status(&cancelled), TaskStatus::Cancelled);
}

fn extension(id: &str, proposed: &str) -> Action {
    Action::RequestExtension {
        extension_id: id.into(),
        proposed_deadline: day(proposed),
        reason: "Chờ số liệu".into(),
    }
}

#[test]
fn an_extension_is_asked_for_on_or_before_the_deadline_and_one_at_a_time() {
    let state = given(vec![("2026-11-21", Action::Acknowledge)]);
    assert_eq!(
        run(&state, "2027-01-01", extension("e1", "2027-01-31")),
        Err(ExecutionError::ExtensionAfterDeadline {
            deadline: day("2026-12-31")
        })
    );
    assert_eq!(
        run(&state, "2026-12-01", extension("e1", "2026-12-20")),
        Err(ExecutionError::ProposalNotLater {
            deadline: day("2026-12-31")
        })
    );
    let asked = given(vec![
        ("2026-11-21", Action::Acknowledge),
        ("2026-12-31", extension("e1", "2027-01-31")),
    ]);
    assert_eq!(
        run(&asked, "2026-12-31", extension("e2", "2027-02-28")),
        Err(ExecutionError::ExtensionPending {
            extension_id: "e1".into()
        })
    );
}
