//! A scripted month with every figure written by hand.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use dondoc_runtime::calendar::WorkingCalendar;

use super::*;
use crate::domain::period::{PeriodKind, year_start};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

struct T {
    id: &'static str,
    unit: &'static str,
    origin: &'static str,
    leader: Option<&'static str>,
    assigned: NaiveDate,
    deadline: Option<NaiveDate>,
}

fn task(t: T) -> TaskHistory {
    TaskHistory {
        task_id: t.id.into(),
        title: format!("Nhiệm vụ {}", t.id),
        lead_unit: t.unit.into(),
        origin: t.origin.into(),
        assigning_leader_id: t.leader.map(str::to_owned),
        source_document: "4521/UBND-XD".into(),
        assigned_on: Some(t.assigned),
        deadlines: vec![DeadlineChange::new(t.assigned, t.deadline)],
        ..Default::default()
    }
}

fn completed(mut t: TaskHistory, on: NaiveDate, on_time: bool) -> TaskHistory {
    t.completed_on = Some(on);
    t.completed_on_time = Some(on_time);
    t.completed_deadline = t.deadline_on(on);
    t
}

fn scenario() -> Vec<TaskHistory> {
    let t = |id, unit, origin, leader, assigned, deadline| {
        task(T {
            id,
            unit,
            origin,
            leader,
            assigned,
            deadline,
        })
    };
    let mut t6 = t(
        "t6",
        "SYT",
        "city",
        None,
        day(2026, 11, 10),
        Some(day(2026, 11, 30)),
    );
    t6.cancelled_on = Some(day(2026, 11, 12));
    let mut t8 = t(
        "t8",
        "STC",
        "city",
        Some("ct-nguyen"),
        day(2026, 10, 5),
        Some(day(2026, 10, 10)),
    );
    t8.deadlines.push(DeadlineChange::new(
        day(2026, 10, 9),
        Some(day(2026, 11, 20)),
    ));
    vec![
        completed(
            t(
                "t1",
                "SXD",
                "city",
                Some("pct-tran"),
                day(2026, 10, 20),
                Some(day(2026, 11, 10)),
            ),
            day(2026, 11, 5),
            true,
        ),
        completed(
            t(
                "t2",
                "SXD",
                "government",
                Some("pct-tran"),
                day(2026, 10, 16),
                Some(day(2026, 10, 30)),
            ),
            day(2026, 11, 3),
            false,
        ),
        t(
            "t3",
            "STC",
            "prime_minister",
            Some("ct-nguyen"),
            day(2026, 11, 1),
            Some(day(2026, 11, 12)),
        ),
        t(
            "t4",
            "STC",
            "city",
            Some("ct-nguyen"),
            day(2026, 11, 2),
            None,
        ),
        t(
            "t5",
            "SYT",
            "city",
            Some("pct-tran"),
            day(2026, 10, 1),
            Some(day(2026, 12, 31)),
        ),
        t6,
        t(
            "t7",
            "SXD",
            "city",
            Some("pct-tran"),
            day(2026, 11, 20),
            Some(day(2026, 12, 1)),
        ),
        t8,
        completed(
            t(
                "t9",
                "SYT",
                "city",
                Some("pct-tran"),
                day(2026, 9, 20),
                Some(day(2026, 10, 10)),
            ),
            day(2026, 10, 12),
            false,
        ),
        completed(
            t("t10", "SXD", "city", None, day(2026, 10, 25), None),
            day(2026, 11, 1),
            true,
        ),
    ]
}

fn report_of(tasks: &[TaskHistory]) -> PeriodicReport {
    report_with(tasks, &[], &[], &[])
}

fn report_with(
    tasks: &[TaskHistory],
    difficulties: &[DifficultyFact],
    actions: &[ActionFact],
    cases: &[CaseFact],
) -> PeriodicReport {
    report_full(tasks, difficulties, actions, cases, &[], &[])
}

fn report_full(
    tasks: &[TaskHistory],
    difficulties: &[DifficultyFact],
    actions: &[ActionFact],
    cases: &[CaseFact],
    documents: &[DocumentFact],
    dossiers: &[DossierFact],
) -> PeriodicReport {
    let kind = PeriodKind::Month(11);
    let window = kind.window(2026).expect("window");
    let (previous, year) = kind.previous(2026);
    let units = BTreeMap::from([
        ("SXD".to_owned(), "Sở Xây dựng".to_owned()),
        ("STC".to_owned(), "Sở Tài chính".to_owned()),
        ("SYT".to_owned(), "Sở Y tế".to_owned()),
    ]);
    let leaders = BTreeMap::from([
        ("ct-nguyen".to_owned(), "Nguyễn Văn Thành".to_owned()),
        ("pct-tran".to_owned(), "Trần Văn Minh".to_owned()),
    ]);
    let calendar = WorkingCalendar::vietnam().expect("calendar");
    compute(&ReportInput {
        title: kind.title_vi(2026),
        window,
        previous: previous.window(year).expect("previous"),
        year_from: year_start(window.to),
        tasks,
        unit_names: &units,
        leader_names: &leaders,
        calendar: &calendar,
        difficulties,
        actions,
        cases,
        trend: &kind.trend(2026),
        documents,
        dossiers,
    })
}

fn figures(
    assigned: u64,
    (on_time, late, done_no_deadline): (u64, u64, u64),
    (within, open_no_deadline, overdue): (u64, u64, u64),
    cancelled: u64,
    (pct_all, pct_with_deadline): (f64, f64),
) -> Figures {
    Figures {
        assigned,
        completed_on_time: on_time,
        completed_late: late,
        completed_no_deadline: done_no_deadline,
        in_progress_within_term: within,
        in_progress_no_deadline: open_no_deadline,
        overdue,
        cancelled,
        overdue_pct_of_all: pct_all,
        overdue_pct_of_with_deadline: pct_with_deadline,
    }
}

#[test]
fn every_figure_of_the_scripted_month_is_the_one_written_by_hand() {
    let report = report_of(&scenario());

    assert_eq!(report.window, (day(2026, 10, 15), day(2026, 11, 14)));
    assert_eq!(report.year_from, day(2025, 12, 15));
    // Assigned 15/10–14/11: t1 on time, t2 late, t3 overdue, t4 open without deadline,
    // t6 cancelled, t10 done without deadline (t7 comes after the cut-off).
    assert_eq!(
        report.all.period,
        figures(5, (1, 1, 1), (0, 1, 1), 1, (20.0, 33.33))
    );
    // Since 15/12/2025: also t5 and t8 (extended on 9/10 to 20/11) within term, t9 late.
    assert_eq!(
        report.all.year_to_date,
        figures(8, (1, 2, 1), (2, 1, 1), 1, (12.5, 16.67))
    );
    // 15/9–14/10, as of 14/10: t5 and t8 within term, t9 late.
    assert_eq!(
        report.all.previous_period,
        figures(3, (0, 1, 0), (2, 0, 0), 0, (0.0, 0.0))
    );
    // The Government's t2 (late) and the Prime Minister's t3 (overdue).
    assert_eq!(
        report.central.period,
        figures(2, (0, 1, 0), (0, 0, 1), 0, (50.0, 50.0))
    );

    let units: Vec<(&str, u64, Option<f64>, u32)> = report
        .units
        .iter()
        .map(|r| (r.key.as_str(), r.figures.assigned, r.on_time_rate, r.rank))
        .collect();
    assert_eq!(
        units,
        vec![
            ("SXD", 3, Some(50.0), 1),
            ("SYT", 2, Some(0.0), 2),
            ("STC", 3, None, 0),
        ]
    );
    let leaders: Vec<(&str, u64, Option<f64>, u32)> = report
        .leaders
        .iter()
        .map(|r| (r.key.as_str(), r.figures.assigned, r.on_time_rate, r.rank))
        .collect();
    assert_eq!(
        leaders,
        vec![("pct-tran", 4, Some(33.33), 1), ("ct-nguyen", 3, None, 0)]
    );

    // t3: due Thursday 12/11, overdue on Friday 13/11; Saturday 14/11 is not a working day.
    assert_eq!(
        report.overdue,
        vec![OverdueItem {
            task_id: "t3".into(),
            title: "Nhiệm vụ t3".into(),
            source_document: "4521/UBND-XD".into(),
            lead_unit: "STC".into(),
            lead_unit_name: "Sở Tài chính".into(),
            deadline: day(2026, 11, 12),
            working_days_overdue: 1,
            age_bucket: "1-5".into(),
            extended: false,
        }]
    );
}

#[test]
fn a_closed_period_reads_the_same_whatever_happened_after_it() {
    let mut later = scenario();
    // After 14/11: t3 is completed, t4 cancelled, t8 extended again — none of it is the
    // November report's business.
    for t in &mut later {
        match t.task_id.as_str() {
            "t3" => {
                t.completed_on = Some(day(2026, 11, 20));
                t.completed_on_time = Some(false);
                t.completed_deadline = Some(day(2026, 11, 12));
            }
            "t4" => t.cancelled_on = Some(day(2026, 11, 16)),
            "t8" => t.deadlines.push(DeadlineChange::new(
                day(2026, 11, 18),
                Some(day(2026, 12, 20)),
            )),
            _ => {}
        }
    }

    assert_eq!(report_of(&later), report_of(&scenario()));
}

#[test]
fn names_tie_in_vietnamese_order_not_byte_order() {
    let row = |key: &str, name: &str| Row {
        key: key.into(),
        name: name.into(),
        figures: Figures::default(),
        on_time_rate: None,
        rank: 0,
    };

    let rows = ranked(vec![
        row("SYT", "Sở Y tế"),
        row("DOI", "Đội Quản lý trật tự"),
        row("BQL", "Ban Quản lý dự án"),
    ]);

    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["Ban Quản lý dự án", "Đội Quản lý trật tự", "Sở Y tế"]
    );
}

#[test]
fn difficulties_actions_cases_and_the_timeliness_scorecard_of_the_month() {
    let difficulty =
        |id: &str, task: &str, reported: NaiveDate, directed: Option<NaiveDate>| DifficultyFact {
            difficulty_id: id.into(),
            task_id: task.into(),
            unit: "STC".into(),
            description: format!("Vướng mắc {id}"),
            reported_on: reported,
            directed_on: directed,
        };
    let action = |kind: &str, on: NaiveDate| ActionFact {
        kind: kind.into(),
        recorded_on: on,
        units: vec!["SXD".into()],
    };
    let case = |id: &str, opened: NaiveDate| CaseFact {
        case_id: id.into(),
        unit: "SXD".into(),
        opened_on: opened,
        decided_on: None,
        form: None,
        withdrawn_on: None,
        exempt_task_ids: Vec::new(),
    };
    let mut decided = case("c2", day(2026, 10, 1));
    decided.decided_on = Some(day(2026, 11, 10));
    decided.form = Some("khien-trach".into());
    let mut cleared = case("c3", day(2026, 10, 20));
    cleared.decided_on = Some(day(2026, 11, 12));
    let mut withdrawn = case("c4", day(2026, 10, 25));
    withdrawn.withdrawn_on = Some(day(2026, 11, 4));
    withdrawn.exempt_task_ids = vec!["t2".into()];

    let report = report_with(
        &scenario(),
        &[
            // Reported Wednesday 11/11, nobody directed: 2 working days waiting by 14/11.
            difficulty("d1", "t3", day(2026, 11, 11), None),
            difficulty("d2", "t4", day(2026, 11, 3), Some(day(2026, 11, 5))),
            // Directed after the cut-off: still waiting on 14/11 (since Monday 9/11: 4 days).
            difficulty("d3", "t8", day(2026, 11, 9), Some(day(2026, 11, 16))),
        ],
        &[
            action("reminder", day(2026, 10, 20)),
            action("reminder", day(2026, 11, 2)),
            action("criticism", day(2026, 11, 10)),
            action("commendation", day(2026, 10, 14)),
        ],
        &[case("c1", day(2026, 11, 1)), decided, cleared, withdrawn],
    );

    assert_eq!(
        report
            .difficulties
            .iter()
            .map(|d| (d.task_id.as_str(), d.working_days_waiting))
            .collect::<Vec<_>>(),
        vec![("t8", 4), ("t3", 2)]
    );
    assert_eq!(report.difficulties[1].title, "Nhiệm vụ t3");
    assert_eq!(
        report.actions,
        ActionCounts {
            reminders: 2,
            criticisms: 1,
            commendations: 0,
        }
    );
    assert_eq!(
        report.cases,
        CaseCounts {
            opened: 3,
            decided: 2,
            no_discipline: 1,
            withdrawn: 1,
            by_form: BTreeMap::from([("khien-trach".to_owned(), 1)]),
        }
    );
    // Completed 15/10–14/11 with a deadline: SXD t1 on time and t2 late but exempt (c4
    // withdrawn for an objective cause): 100%; t10 had no deadline; SYT's t9 was before.
    let scores: Vec<(&str, u64, u64, u64, u64, f64)> = report
        .scorecard
        .iter()
        .map(|r| {
            (
                r.unit.as_str(),
                r.completed_with_deadline,
                r.on_time,
                r.late,
                r.exempt,
                r.timeliness_pct,
            )
        })
        .collect();
    assert_eq!(scores, vec![("SXD", 2, 1, 0, 1, 100.0)]);

    // Without the exemption t2 costs a quarter: (100 + 75) / 2.
    let without = report_of(&scenario());
    assert_eq!(without.scorecard[0].timeliness_pct, 87.5);
    assert_eq!(without.scorecard[0].late, 1);
}

#[test]
fn facts_recorded_after_a_cut_off_leave_the_closed_period_alone_and_are_flagged_next() {
    let mut tasks = scenario();
    // Assigned on 20/10 on paper, imported from the register on 20/11.
    let mut imported = task(T {
        id: "t11",
        unit: "SXD",
        origin: "city",
        leader: None,
        assigned: day(2026, 10, 20),
        deadline: Some(day(2026, 10, 31)),
    });
    imported.assigned_known_on = Some(day(2026, 11, 20));
    tasks.push(imported);
    // t3's extension was decided on 10/11 (to 30/11) but recorded only on 18/11.
    for t in &mut tasks {
        if t.task_id == "t3" {
            t.deadlines.push(DeadlineChange {
                from: day(2026, 11, 10),
                deadline: Some(day(2026, 11, 30)),
                known_on: Some(day(2026, 11, 18)),
            });
        }
    }

    // November, made after both were recorded, is the November made before.
    assert_eq!(report_of(&tasks), report_of(&scenario()));

    let december = PeriodKind::Month(12);
    let window = december.window(2026).expect("window");
    let (previous, year) = december.previous(2026);
    let calendar = WorkingCalendar::vietnam().expect("calendar");
    let names = BTreeMap::new();
    let report = compute(&ReportInput {
        title: december.title_vi(2026),
        window,
        previous: previous.window(year).expect("previous"),
        year_from: year_start(window.to),
        tasks: &tasks,
        unit_names: &names,
        leader_names: &names,
        calendar: &calendar,
        difficulties: &[],
        actions: &[],
        cases: &[],
        trend: &[],
        documents: &[],
        dossiers: &[],
    });
    let late: Vec<(&str, &str, NaiveDate, NaiveDate)> = report
        .late
        .iter()
        .map(|l| {
            (
                l.task_id.as_str(),
                l.what.as_str(),
                l.effective_on,
                l.known_on,
            )
        })
        .collect();
    assert_eq!(
        late,
        vec![
            ("t3", "deadline", day(2026, 11, 10), day(2026, 11, 18)),
            ("t11", "assigned", day(2026, 10, 20), day(2026, 11, 20)),
        ]
    );
}

#[test]
fn the_trend_counts_each_month_as_of_its_own_end() {
    let report = report_of(&scenario());

    let points: Vec<(&str, u64, u64, u64, u64)> = report
        .trend
        .iter()
        .map(|p| {
            (
                p.label.as_str(),
                p.figures.assigned,
                p.figures.completed_on_time,
                p.figures.completed_late,
                p.figures.overdue,
            )
        })
        .collect();
    // September (15/8–14/9): nothing. October (15/9–14/10): t5 (in term), t8 (extended on
    // 9/10, in term), t9 (completed late on 12/10). November (15/10–14/11): t1 on time, t2
    // late, t3 overdue since 13/11, t4 no deadline, t10 no deadline completed; t6 cancelled.
    assert_eq!(
        points,
        vec![
            ("T6/2026", 0, 0, 0, 0),
            ("T7/2026", 0, 0, 0, 0),
            ("T8/2026", 0, 0, 0, 0),
            ("T9/2026", 0, 0, 0, 0),
            ("T10/2026", 3, 0, 1, 0),
            ("T11/2026", 5, 1, 1, 1),
        ]
    );
    assert_eq!(report.trend[4].on_time_rate, Some(0.0));
    assert_eq!(report.trend[5].on_time_rate, Some(50.0));
    assert_eq!(
        report.trend[5].window,
        (day(2026, 10, 15), day(2026, 11, 14))
    );
}

#[test]
fn documents_and_dossiers_are_counted_in_the_window_and_since_the_year_began() {
    let doc = |register: &str, kind: &str, on| DocumentFact {
        register: register.into(),
        document_type: kind.into(),
        registered_on: on,
    };
    let documents = [
        doc("incoming", "Công văn", day(2026, 1, 5)),
        doc("incoming", "Công văn", day(2026, 10, 15)),
        doc("incoming", "Quyết định", day(2026, 11, 14)),
        doc("incoming", "Công văn", day(2026, 11, 15)),
        doc("outgoing", "Báo cáo", day(2026, 10, 20)),
        doc("outgoing", "Công văn", day(2026, 11, 2)),
        doc("outgoing", "Báo cáo", day(2026, 11, 3)),
        doc("outgoing", "Báo cáo", day(2025, 12, 14)),
    ];
    // t1 and t2 completed in November, t9 in October, t10 on 1/11, t6 cancelled on 12/11:
    // five ended tasks. t9's dossier closed in October and archived in November; t1's closed
    // on 10/11; t2's closed on 20/11, after the cut-off.
    let dossier = |task: &str, closed, archived| DossierFact {
        task_id: task.into(),
        closed_on: closed,
        archived_on: archived,
    };
    let dossiers = [
        dossier("t9", Some(day(2026, 10, 13)), Some(day(2026, 11, 2))),
        dossier("t1", Some(day(2026, 11, 10)), None),
        dossier("t2", Some(day(2026, 11, 20)), None),
    ];

    let report = report_full(&scenario(), &[], &[], &[], &documents, &dossiers);

    let d = &report.documents;
    assert_eq!((d.incoming, d.outgoing), (2, 3));
    assert_eq!((d.incoming_year_to_date, d.outgoing_year_to_date), (3, 3));
    assert_eq!(
        d.outgoing_by_type,
        BTreeMap::from([("Báo cáo".to_owned(), 2), ("Công văn".to_owned(), 1)])
    );
    assert_eq!((d.dossiers_closed, d.dossiers_archived), (1, 1));
    // t2, t10 and t6 ended with their dossiers still open on 14/11.
    assert_eq!(d.dossiers_awaiting_close, 3);
}
