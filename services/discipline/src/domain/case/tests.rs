use chrono::NaiveDate;
use dondoc_eventsourcing::Aggregate;

use super::*;
use crate::domain::case::Limit;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn opened() -> Opened {
    Opened {
        case_id: "case-1".into(),
        opened_by: "office".into(),
        target: Target {
            unit: "SXD".into(),
            person_title: "Giám đốc Sở Xây dựng".into(),
            group: "cong_chuc".into(),
            ..Default::default()
        },
        detected_on: day(2026, 1, 5),
        regime: "172/2025".into(),
        allowed_forms: vec!["khien-trach".into(), "canh-cao".into()],
        processing_days: 90,
        extended_processing_days: 150,
        task_ids: vec!["t-1".into()],
        violation_on: day(2026, 1, 2),
        limitation_months: 60,
        ..Default::default()
    }
}

fn given(commands: &[CaseCommand]) -> Case {
    let mut case = Case::default();
    for command in commands {
        for event in case.decide(command).expect("accepted") {
            case.apply(&event);
        }
    }
    case
}

fn opinion() -> CaseCommand {
    CaseCommand::RecordOpinion(Opinion {
        agrees: true,
        recommended_form: "khien-trach".into(),
        opinion: "Đồng ý".into(),
        document: Document::default(),
    })
}

fn decision(form: Option<&str>) -> CaseCommand {
    CaseCommand::Decide(Decision {
        form: form.map(str::to_owned),
        reasons: "Chậm thực hiện nhiệm vụ không có lý do chính đáng".into(),
        decided_on: day(2026, 3, 1),
        leader_id: "ct-nguyen".into(),
        document: Document::default(),
    })
}

#[test]
fn a_case_goes_from_draft_to_decision_in_order() {
    let case = given(&[CaseCommand::Open(opened())]);
    assert_eq!(
        case.decide(&CaseCommand::Submit {
            today: day(2026, 1, 10)
        }),
        Err(CaseError::NoOpinion)
    );
    assert_eq!(case.decide(&decision(None)), Err(CaseError::NotSubmitted));

    let case = given(&[
        CaseCommand::Open(opened()),
        opinion(),
        CaseCommand::Submit {
            today: day(2026, 1, 10),
        },
        decision(Some("khien-trach")),
    ]);

    assert_eq!(case.state, CaseState::Decided);
    assert_eq!(
        case.decide(&CaseCommand::Withdraw {
            reason: "x".into(),
            objective_cause: false,
            today: day(2026, 3, 2),
        }),
        Err(CaseError::Closed("decided"))
    );
}

#[test]
fn only_a_form_of_the_cases_regime_is_decided() {
    let case = given(&[
        CaseCommand::Open(opened()),
        opinion(),
        CaseCommand::Submit {
            today: day(2026, 1, 10),
        },
    ]);
    assert!(matches!(
        case.decide(&decision(Some("giang-chuc"))),
        Err(CaseError::FormNotAllowed { .. })
    ));
    assert!(case.decide(&decision(None)).is_ok(), "no discipline");
}

#[test]
fn the_clock_warns_once_before_each_limit() {
    let mut case = given(&[CaseCommand::Open(opened())]);
    // Detected 5 January 2026: 90 days run to 5 April.
    assert_eq!(case.decide_by(), Some(day(2026, 4, 5)));
    let at = |today| CaseCommand::EvaluateClock {
        today,
        warn_days_before: 10,
    };
    assert_eq!(case.decide(&at(day(2026, 3, 25))), Ok(Vec::new()));
    let warned = case.decide(&at(day(2026, 3, 26))).expect("decided");
    assert_eq!(warned.len(), 1);
    for event in &warned {
        case.apply(event);
    }
    assert_eq!(case.decide(&at(day(2026, 3, 27))), Ok(Vec::new()));

    for event in case
        .decide(&CaseCommand::ExtendProcessing {
            reason: "Vụ việc phức tạp".into(),
        })
        .expect("extended")
    {
        case.apply(&event);
    }
    // 150 days run to 4 June.
    assert_eq!(case.decide_by(), Some(day(2026, 6, 4)));
    assert_eq!(case.decide(&at(day(2026, 5, 24))), Ok(Vec::new()));
    assert!(matches!(
        case.decide(&at(day(2026, 5, 25))).as_deref(),
        Ok([CaseEvent {
            what: Happened::Warned(Warning {
                limit: Limit::Processing,
                limit_days: 150,
                days_left: 10,
                ..
            }),
            ..
        }])
    ));
}

#[test]
fn withdrawing_for_an_objective_cause_exempts_the_cases_tasks() {
    let case = given(&[
        CaseCommand::Open(opened()),
        CaseCommand::Withdraw {
            reason: "Nguyên nhân khách quan đã được xác nhận".into(),
            objective_cause: true,
            today: day(2026, 2, 1),
        },
    ]);
    let withdrawal = case.withdrawal.expect("withdrawn");
    assert_eq!(withdrawal.exempt_task_ids, vec!["t-1"]);
    assert_eq!(case.state, CaseState::Withdrawn);
}

#[test]
fn a_case_detected_late_is_warned_before_its_limitation_period_ends() {
    // A violation on 1 March 2021 under Decree 112/2020 (24 months for khiển trách), detected
    // on 15 February 2023: the limitation ends on 1 March 2023, before the 90 days.
    let mut late = opened();
    late.detected_on = day(2023, 2, 15);
    late.violation_on = day(2021, 3, 1);
    late.limitation_months = 24;
    late.regime = "112/2020".into();
    let case = given(&[CaseCommand::Open(late)]);
    assert_eq!(case.limitation_ends_on(), Some(day(2023, 3, 1)));

    let warned = case
        .decide(&CaseCommand::EvaluateClock {
            today: day(2023, 2, 20),
            warn_days_before: 10,
        })
        .expect("decided");

    assert!(matches!(
        warned.as_slice(),
        [CaseEvent {
            what: Happened::Warned(Warning {
                limit: Limit::Limitation,
                days_left: 9,
                ..
            }),
            ..
        }]
    ));
}
