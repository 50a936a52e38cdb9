//! The periodic report to the City People's Committee, computed **as of the end of its
//! window** from each task's history: the status each task had at that instant, against the
//! deadline in force on that day. Nothing here reads a clock or a database, so the report of
//! a closed period is the same whenever — and after whatever rebuild — it is computed.
//!
//! Contents (research/domain-vietnam.md §2.3, §2.6): totals of the period and since the
//! beginning of the year — assigned; completed on time / late / with no deadline; in progress
//! within term / overdue / with no deadline; overdue as a share of all tasks and of tasks with a
//! deadline — with the previous period beside them; the same for tasks from the Government
//! and the Prime Minister; per-unit and per-leader tables; the overdue list.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use dondoc_contracts::text::vietnamese_order;
use dondoc_runtime::calendar::WorkingCalendar;
use serde::{Deserialize, Serialize};

use super::period::Window;

/// A deadline and the day it took effect; `known_on` is the day it was recorded, which may be
/// later (an extension decided on paper and recorded afterwards).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineChange {
    pub from: NaiveDate,
    pub deadline: Option<NaiveDate>,
    #[serde(default)]
    pub known_on: Option<NaiveDate>,
}

impl DeadlineChange {
    pub fn new(from: NaiveDate, deadline: Option<NaiveDate>) -> Self {
        Self {
            from,
            deadline,
            known_on: None,
        }
    }

    fn known(&self) -> NaiveDate {
        self.known_on.unwrap_or(self.from).max(self.from)
    }
}

/// A fact that took effect in a period already closed but was recorded after its cut-off:
/// it is flagged in the next report, never folded into the closed one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateFact {
    pub task_id: String,
    pub title: String,
    /// "assigned", "deadline", "completed".
    pub what: String,
    /// The business day it took effect.
    pub effective_on: NaiveDate,
    /// The day it was recorded.
    pub known_on: NaiveDate,
}

/// What the reporting service knows of one task, with the business day of each change and the
/// day each was recorded. A report as of a day uses only what was recorded by then, so the
/// report of a closed period never changes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskHistory {
    pub task_id: String,
    pub title: String,
    pub lead_unit: String,
    /// "government", "prime_minister", "ministry", "city_peoples_committee", ….
    pub origin: String,
    /// The leader who assigned it (None: the Committee as a body).
    pub assigning_leader_id: Option<String>,
    /// "4521/UBND-XD ngày 20/11/2026".
    pub source_document: String,
    pub assigned_on: Option<NaiveDate>,
    /// The day the assignment was recorded (a task imported from the paper register later
    /// than it was assigned); `None`: the day it was assigned.
    #[serde(default)]
    pub assigned_known_on: Option<NaiveDate>,
    /// Each deadline with the day it took effect, oldest first.
    pub deadlines: Vec<DeadlineChange>,
    pub cancelled_on: Option<NaiveDate>,
    /// The day the Office accepted the result, and how it was judged.
    pub completed_on: Option<NaiveDate>,
    pub completed_on_time: Option<bool>,
    /// The deadline the accepted result was judged against (None: the task had none).
    pub completed_deadline: Option<NaiveDate>,
    /// The day the acceptance was recorded; `None`: the day it took effect.
    #[serde(default)]
    pub completed_known_on: Option<NaiveDate>,
}

impl TaskHistory {
    /// The deadline in force on `date`.
    pub fn deadline_on(&self, date: NaiveDate) -> Option<NaiveDate> {
        self.deadlines
            .iter()
            .rev()
            .find(|d| d.from <= date)
            .or_else(|| self.deadlines.first())
            .and_then(|d| d.deadline)
    }

    /// Whether the deadline had been extended by `date`.
    pub fn extended_by(&self, date: NaiveDate) -> bool {
        self.deadlines.iter().filter(|d| d.from <= date).count() > 1
    }

    fn assigned_known(&self) -> Option<NaiveDate> {
        let assigned = self.assigned_on?;
        Some(self.assigned_known_on.unwrap_or(assigned).max(assigned))
    }

    fn completed_known(&self) -> Option<NaiveDate> {
        let completed = self.completed_on?;
        Some(self.completed_known_on.unwrap_or(completed).max(completed))
    }

    /// The task as it was known at the end of `date`: only what had been recorded by then
    /// (`None` when not even its assignment had been).
    pub fn known_on(&self, date: NaiveDate) -> Option<TaskHistory> {
        if self.assigned_known()? > date {
            return None;
        }
        let mut t = self.clone();
        // The first deadline came with the assignment; later ones count once recorded.
        let first = t.deadlines.first().cloned();
        t.deadlines.retain(|d| d.known() <= date);
        if t.deadlines.is_empty()
            && let Some(first) = first
        {
            t.deadlines.push(first);
        }
        if t.cancelled_on.is_some_and(|c| c > date) {
            t.cancelled_on = None;
        }
        if self.completed_known().is_some_and(|k| k > date) {
            t.completed_on = None;
            t.completed_on_time = None;
            t.completed_deadline = None;
        }
        Some(t)
    }

    /// Facts that took effect by `closed_to` (a period already reported) but were recorded
    /// after it, by `to`.
    pub fn late_facts(&self, closed_to: NaiveDate, to: NaiveDate) -> Vec<LateFact> {
        let late = |effective: NaiveDate, known: NaiveDate| {
            effective <= closed_to && closed_to < known && known <= to
        };
        let fact = |what: &str, effective_on, known_on| LateFact {
            task_id: self.task_id.clone(),
            title: self.title.clone(),
            what: what.to_owned(),
            effective_on,
            known_on,
        };
        let mut out = Vec::new();
        if let (Some(effective), Some(known)) = (self.assigned_on, self.assigned_known())
            && late(effective, known)
        {
            out.push(fact("assigned", effective, known));
        }
        for d in self.deadlines.iter().skip(1) {
            if late(d.from, d.known()) {
                out.push(fact("deadline", d.from, d.known()));
            }
        }
        if let (Some(effective), Some(known)) = (self.completed_on, self.completed_known())
            && late(effective, known)
        {
            out.push(fact("completed", effective, known));
        }
        out
    }

    /// Where the task stood at the end of `date`, as it was known then (None: not assigned,
    /// or not yet recorded).
    pub fn status_on(&self, date: NaiveDate) -> Option<Status> {
        self.known_on(date)?.effective_status_on(date)
    }

    fn effective_status_on(&self, date: NaiveDate) -> Option<Status> {
        self.assigned_on.filter(|a| *a <= date)?;
        if self.completed_on.is_some_and(|c| c <= date) {
            return Some(match (self.completed_deadline, self.completed_on_time) {
                (None, _) => Status::CompletedNoDeadline,
                (Some(_), Some(false)) => Status::CompletedLate,
                (Some(_), _) => Status::CompletedOnTime,
            });
        }
        if self.cancelled_on.is_some_and(|c| c <= date) {
            return Some(Status::Cancelled);
        }
        Some(match self.deadline_on(date) {
            None => Status::InProgressNoDeadline,
            Some(deadline) if date > deadline => Status::Overdue,
            Some(_) => Status::InProgressWithinTerm,
        })
    }

    pub fn from_the_centre(&self) -> bool {
        matches!(self.origin.as_str(), "government" | "prime_minister")
    }
}

/// A difficulty reported by a lead unit, and when direction came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DifficultyFact {
    pub difficulty_id: String,
    pub task_id: String,
    pub unit: String,
    pub description: String,
    pub reported_on: NaiveDate,
    pub directed_on: Option<NaiveDate>,
}

/// A leadership action (nhắc nhở, phê bình, biểu dương).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionFact {
    /// "reminder", "criticism", "commendation".
    pub kind: String,
    pub recorded_on: NaiveDate,
    pub units: Vec<String>,
}

/// What the report counts of a discipline case (never its personal data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFact {
    pub case_id: String,
    pub unit: String,
    pub opened_on: NaiveDate,
    pub decided_on: Option<NaiveDate>,
    /// The form decided; `None` with a decision: no discipline.
    pub form: Option<String>,
    pub withdrawn_on: Option<NaiveDate>,
    /// Tasks exempt from the timeliness deduction by the withdrawal (objective cause).
    pub exempt_task_ids: Vec<String>,
}

/// A document entered in a register (sổ văn bản đi / đến).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentFact {
    /// "incoming" or "outgoing".
    pub register: String,
    /// Tên loại.
    pub document_type: String,
    pub registered_on: NaiveDate,
}

/// A task's work dossier: when it was closed and handed to the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DossierFact {
    pub task_id: String,
    pub closed_on: Option<NaiveDate>,
    pub archived_on: Option<NaiveDate>,
}

/// Documents and dossiers in the period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentCounts {
    pub incoming: u64,
    pub outgoing: u64,
    pub incoming_year_to_date: u64,
    pub outgoing_year_to_date: u64,
    pub outgoing_by_type: BTreeMap<String, u64>,
    pub dossiers_closed: u64,
    pub dossiers_archived: u64,
    /// Tasks ended by the end of the period whose dossier was not closed by then.
    pub dossiers_awaiting_close: u64,
}

/// One period of the trend: the tasks assigned in it, as of its end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    pub label: String,
    pub window: (NaiveDate, NaiveDate),
    pub figures: Figures,
    pub on_time_rate: Option<f64>,
}

/// A task's status at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    CompletedOnTime,
    CompletedLate,
    CompletedNoDeadline,
    InProgressWithinTerm,
    InProgressNoDeadline,
    /// Quá hạn chưa hoàn thành.
    Overdue,
    Cancelled,
}

/// The figures of one block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Tasks assigned (cancelled ones excluded).
    pub assigned: u64,
    pub completed_on_time: u64,
    pub completed_late: u64,
    pub completed_no_deadline: u64,
    pub in_progress_within_term: u64,
    pub in_progress_no_deadline: u64,
    pub overdue: u64,
    pub cancelled: u64,
    /// Overdue as a percentage of all tasks assigned, and of those with a deadline.
    pub overdue_pct_of_all: f64,
    pub overdue_pct_of_with_deadline: f64,
}

impl Figures {
    fn count(statuses: impl IntoIterator<Item = Status>) -> Self {
        let mut f = Figures::default();
        for s in statuses {
            match s {
                Status::CompletedOnTime => f.completed_on_time += 1,
                Status::CompletedLate => f.completed_late += 1,
                Status::CompletedNoDeadline => f.completed_no_deadline += 1,
                Status::InProgressWithinTerm => f.in_progress_within_term += 1,
                Status::InProgressNoDeadline => f.in_progress_no_deadline += 1,
                Status::Overdue => f.overdue += 1,
                Status::Cancelled => f.cancelled += 1,
            }
        }
        f.assigned = f.completed_on_time
            + f.completed_late
            + f.completed_no_deadline
            + f.in_progress_within_term
            + f.in_progress_no_deadline
            + f.overdue;
        let with_deadline =
            f.completed_on_time + f.completed_late + f.in_progress_within_term + f.overdue;
        f.overdue_pct_of_all = pct(f.overdue, f.assigned);
        f.overdue_pct_of_with_deadline = pct(f.overdue, with_deadline);
        f
    }

    pub fn completed(&self) -> u64 {
        self.completed_on_time + self.completed_late + self.completed_no_deadline
    }

    pub fn in_progress(&self) -> u64 {
        self.in_progress_within_term + self.in_progress_no_deadline + self.overdue
    }
}

/// A percentage with two decimals (the reports print "2,12%").
fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    // Counts are far below 2^52: exact in f64.
    (part as f64 * 10_000.0 / whole as f64).round() / 100.0
}

/// A block: the period, the year to date, and the period before.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub period: Figures,
    pub year_to_date: Figures,
    pub previous_period: Figures,
}

/// One row of the per-unit (or per-leader) table, year to date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Unit code or leader id.
    pub key: String,
    pub name: String,
    pub figures: Figures,
    /// Completed on time / completed with a deadline, percent (None: nothing completed with a
    /// deadline yet).
    pub on_time_rate: Option<f64>,
    /// 1 = best; units without a rate come last, unranked (0).
    pub rank: u32,
}

/// A task overdue at the end of the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverdueItem {
    pub task_id: String,
    pub title: String,
    pub source_document: String,
    pub lead_unit: String,
    pub lead_unit_name: String,
    pub deadline: NaiveDate,
    /// Working days after the deadline, to the end of the period.
    pub working_days_overdue: i64,
    /// "1-5", "6-10", "11-30", "31+" working days.
    pub age_bucket: String,
    pub extended: bool,
}

/// A difficulty still awaiting direction at the end of the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDifficulty {
    pub task_id: String,
    pub title: String,
    pub unit: String,
    pub unit_name: String,
    pub description: String,
    pub reported_on: NaiveDate,
    /// Working days since it was reported, to the end of the period.
    pub working_days_waiting: i64,
}

/// Leadership actions recorded in the period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionCounts {
    pub reminders: u64,
    pub criticisms: u64,
    pub commendations: u64,
}

/// Discipline cases in the period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseCounts {
    pub opened: u64,
    pub decided: u64,
    /// Decided with no discipline.
    pub no_discipline: u64,
    pub withdrawn: u64,
    /// Decided, by form.
    pub by_form: BTreeMap<String, u64>,
}

/// A unit's timeliness in the period (Decree 335/2025): of the tasks it completed with a
/// deadline, each late one loses 25% of its timeliness points unless an objective cause was
/// confirmed (exempt).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreRow {
    pub unit: String,
    pub name: String,
    pub completed_with_deadline: u64,
    pub on_time: u64,
    pub late: u64,
    pub exempt: u64,
    /// Average timeliness points, percent: 100 on time or exempt, 75 late.
    pub timeliness_pct: f64,
}

/// The report, as figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodicReport {
    pub title: String,
    pub window: (NaiveDate, NaiveDate),
    pub year_from: NaiveDate,
    pub all: Block,
    /// Tasks from the Government and the Prime Minister.
    pub central: Block,
    pub units: Vec<Row>,
    pub leaders: Vec<Row>,
    pub overdue: Vec<OverdueItem>,
    pub difficulties: Vec<PendingDifficulty>,
    pub actions: ActionCounts,
    pub cases: CaseCounts,
    pub scorecard: Vec<ScoreRow>,
    /// Facts of closed periods recorded after their cut-off, in this period.
    pub late: Vec<LateFact>,
    /// The last periods of the same kind, oldest first, ending with this one.
    pub trend: Vec<TrendPoint>,
    pub documents: DocumentCounts,
}

/// What to compute.
pub struct ReportInput<'a> {
    pub title: String,
    pub window: Window,
    pub previous: Window,
    pub year_from: NaiveDate,
    pub tasks: &'a [TaskHistory],
    /// Unit names by code; leader names by id.
    pub unit_names: &'a BTreeMap<String, String>,
    pub leader_names: &'a BTreeMap<String, String>,
    pub calendar: &'a WorkingCalendar,
    pub difficulties: &'a [DifficultyFact],
    pub actions: &'a [ActionFact],
    pub cases: &'a [CaseFact],
    /// The periods of the trend, oldest first, labelled.
    pub trend: &'a [(String, Window)],
    pub documents: &'a [DocumentFact],
    pub dossiers: &'a [DossierFact],
}

fn figures_of<'t>(
    tasks: impl Iterator<Item = &'t TaskHistory>,
    from: NaiveDate,
    to: NaiveDate,
) -> Figures {
    Figures::count(
        tasks
            .filter(|t| t.assigned_on.is_some_and(|a| from <= a && a <= to))
            .filter_map(|t| t.status_on(to)),
    )
}

fn block(tasks: &[&TaskHistory], input: &ReportInput<'_>) -> Block {
    let w = input.window;
    Block {
        period: figures_of(tasks.iter().copied(), w.from, w.to),
        year_to_date: figures_of(tasks.iter().copied(), input.year_from, w.to),
        previous_period: figures_of(
            tasks.iter().copied(),
            input.previous.from,
            input.previous.to,
        ),
    }
}

fn on_time_rate(f: &Figures) -> Option<f64> {
    let judged = f.completed_on_time + f.completed_late;
    (judged > 0).then(|| pct(f.completed_on_time, judged))
}

/// Ranks rows by on-time rate (higher first), then fewer overdue, then name in Vietnamese
/// order; rows without a rate come last, unranked.
fn ranked(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| {
        let rate = match (a.on_time_rate, b.on_time_rate) {
            (Some(x), Some(y)) => y.partial_cmp(&x).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        rate.then(a.figures.overdue.cmp(&b.figures.overdue))
            .then_with(|| vietnamese_order(&a.name, &b.name))
            .then_with(|| a.key.cmp(&b.key))
    });
    let mut rank = 0;
    for row in &mut rows {
        if row.on_time_rate.is_some() {
            rank += 1;
            row.rank = rank;
        }
    }
    rows
}

fn table(
    tasks: &[&TaskHistory],
    input: &ReportInput<'_>,
    key: impl Fn(&TaskHistory) -> Option<String>,
    names: &BTreeMap<String, String>,
) -> Vec<Row> {
    let mut groups: BTreeMap<String, Vec<&TaskHistory>> = BTreeMap::new();
    for t in tasks {
        if let Some(k) = key(t) {
            groups.entry(k).or_default().push(t);
        }
    }
    ranked(
        groups
            .into_iter()
            .map(|(k, group)| {
                let figures = figures_of(group.into_iter(), input.year_from, input.window.to);
                Row {
                    name: names.get(&k).cloned().unwrap_or_else(|| k.clone()),
                    on_time_rate: on_time_rate(&figures),
                    key: k,
                    figures,
                    rank: 0,
                }
            })
            .filter(|row| row.figures.assigned > 0)
            .collect(),
    )
}

fn bucket(days: i64) -> &'static str {
    match days {
        ..=5 => "1-5",
        6..=10 => "6-10",
        11..=30 => "11-30",
        _ => "31+",
    }
}

/// A unit's name in the directory, its code when the directory does not know it.
fn name_of(names: &BTreeMap<String, String>, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_owned())
}

/// The tasks overdue at the end of `day`, as they were known then: most working days late
/// first.
pub fn overdue_on(
    tasks: &[TaskHistory],
    unit_names: &BTreeMap<String, String>,
    calendar: &WorkingCalendar,
    day: NaiveDate,
) -> Vec<OverdueItem> {
    let mut overdue: Vec<OverdueItem> = tasks
        .iter()
        .filter_map(|t| t.known_on(day))
        .filter(|t| t.effective_status_on(day) == Some(Status::Overdue))
        .filter_map(|t| {
            let deadline = t.deadline_on(day)?;
            let days = calendar.working_days_between(deadline, day).max(1);
            Some(OverdueItem {
                task_id: t.task_id.clone(),
                title: t.title.clone(),
                source_document: t.source_document.clone(),
                lead_unit: t.lead_unit.clone(),
                lead_unit_name: name_of(unit_names, &t.lead_unit),
                deadline,
                working_days_overdue: days,
                age_bucket: bucket(days).to_owned(),
                extended: t.extended_by(day),
            })
        })
        .collect();
    overdue.sort_by(|a, b| {
        b.working_days_overdue
            .cmp(&a.working_days_overdue)
            .then(a.deadline.cmp(&b.deadline))
            .then_with(|| a.task_id.cmp(&b.task_id))
    });
    overdue
}

/// Documents registered and dossiers closed or archived in the window, and the dossiers of
/// ended tasks still open at its end.
fn documents(input: &ReportInput<'_>, known: &[TaskHistory]) -> DocumentCounts {
    let (from, to) = (input.window.from, input.window.to);
    let within = |d: NaiveDate| from <= d && d <= to;
    let mut counts = DocumentCounts::default();
    for d in input.documents {
        let year = input.year_from <= d.registered_on && d.registered_on <= to;
        match d.register.as_str() {
            "incoming" => {
                counts.incoming += u64::from(within(d.registered_on));
                counts.incoming_year_to_date += u64::from(year);
            }
            "outgoing" => {
                if within(d.registered_on) {
                    counts.outgoing += 1;
                    *counts
                        .outgoing_by_type
                        .entry(d.document_type.clone())
                        .or_default() += 1;
                }
                counts.outgoing_year_to_date += u64::from(year);
            }
            _ => {}
        }
    }
    let closed: BTreeMap<&str, &DossierFact> = input
        .dossiers
        .iter()
        .map(|d| (d.task_id.as_str(), d))
        .collect();
    for d in input.dossiers {
        counts.dossiers_closed += u64::from(d.closed_on.is_some_and(within));
        counts.dossiers_archived += u64::from(d.archived_on.is_some_and(within));
    }
    counts.dossiers_awaiting_close = known
        .iter()
        .filter(|t| {
            t.completed_on.is_some_and(|c| c <= to) || t.cancelled_on.is_some_and(|c| c <= to)
        })
        .filter(|t| {
            closed
                .get(t.task_id.as_str())
                .and_then(|d| d.closed_on)
                .is_none_or(|c| c > to)
        })
        .count() as u64;
    counts
}

/// Computes the report.
pub fn compute(input: &ReportInput<'_>) -> PeriodicReport {
    let to = input.window.to;
    let all: Vec<&TaskHistory> = input.tasks.iter().collect();
    let central: Vec<&TaskHistory> = input.tasks.iter().filter(|t| t.from_the_centre()).collect();
    let known: Vec<TaskHistory> = input.tasks.iter().filter_map(|t| t.known_on(to)).collect();
    let overdue = overdue_on(input.tasks, input.unit_names, input.calendar, to);
    let within = |d: NaiveDate| input.window.from <= d && d <= to;
    let titles: BTreeMap<&str, &str> = input
        .tasks
        .iter()
        .map(|t| (t.task_id.as_str(), t.title.as_str()))
        .collect();
    let mut difficulties: Vec<PendingDifficulty> = input
        .difficulties
        .iter()
        .filter(|d| d.reported_on <= to && d.directed_on.is_none_or(|on| on > to))
        .map(|d| PendingDifficulty {
            task_id: d.task_id.clone(),
            title: titles
                .get(d.task_id.as_str())
                .map(|t| (*t).to_owned())
                .unwrap_or_default(),
            unit: d.unit.clone(),
            unit_name: name_of(input.unit_names, &d.unit),
            description: d.description.clone(),
            reported_on: d.reported_on,
            working_days_waiting: input.calendar.working_days_between(d.reported_on, to),
        })
        .collect();
    difficulties.sort_by(|a, b| {
        a.reported_on
            .cmp(&b.reported_on)
            .then(a.task_id.cmp(&b.task_id))
    });
    let mut actions = ActionCounts::default();
    for a in input.actions.iter().filter(|a| within(a.recorded_on)) {
        match a.kind.as_str() {
            "reminder" => actions.reminders += 1,
            "criticism" => actions.criticisms += 1,
            "commendation" => actions.commendations += 1,
            _ => {}
        }
    }
    let mut cases = CaseCounts::default();
    for c in input.cases {
        if within(c.opened_on) {
            cases.opened += 1;
        }
        if c.decided_on.is_some_and(within) {
            cases.decided += 1;
            match &c.form {
                Some(form) => *cases.by_form.entry(form.clone()).or_default() += 1,
                None => cases.no_discipline += 1,
            }
        }
        if c.withdrawn_on.is_some_and(within) {
            cases.withdrawn += 1;
        }
    }
    let exempt: std::collections::BTreeSet<&str> = input
        .cases
        .iter()
        .filter(|c| c.withdrawn_on.is_some_and(|on| on <= to))
        .flat_map(|c| c.exempt_task_ids.iter().map(String::as_str))
        .collect();
    let scorecard = scorecard(input, &known, &exempt);
    let mut late: Vec<LateFact> = input
        .tasks
        .iter()
        .flat_map(|t| t.late_facts(input.previous.to, to))
        .collect();
    late.sort_by(|a, b| a.known_on.cmp(&b.known_on).then(a.task_id.cmp(&b.task_id)));
    let trend = input
        .trend
        .iter()
        .map(|(label, w)| {
            let figures = figures_of(input.tasks.iter(), w.from, w.to);
            TrendPoint {
                label: label.clone(),
                window: (w.from, w.to),
                on_time_rate: on_time_rate(&figures),
                figures,
            }
        })
        .collect();
    let documents = documents(input, &known);
    PeriodicReport {
        trend,
        documents,
        late,
        difficulties,
        actions,
        cases,
        scorecard,
        title: input.title.clone(),
        window: (input.window.from, to),
        year_from: input.year_from,
        all: block(&all, input),
        central: block(&central, input),
        units: table(&all, input, |t| Some(t.lead_unit.clone()), input.unit_names),
        leaders: table(
            &all,
            input,
            |t| t.assigning_leader_id.clone(),
            input.leader_names,
        ),
        overdue,
    }
}

/// Timeliness per unit of the tasks it completed in the period with a deadline.
fn scorecard(
    input: &ReportInput<'_>,
    known: &[TaskHistory],
    exempt: &std::collections::BTreeSet<&str>,
) -> Vec<ScoreRow> {
    let w = input.window;
    let mut rows: BTreeMap<&str, ScoreRow> = BTreeMap::new();
    for t in known {
        let Some(done) = t.completed_on.filter(|d| w.from <= *d && *d <= w.to) else {
            continue;
        };
        if t.completed_deadline.is_none() || t.cancelled_on.is_some_and(|c| c <= done) {
            continue;
        }
        let row = rows
            .entry(t.lead_unit.as_str())
            .or_insert_with(|| ScoreRow {
                unit: t.lead_unit.clone(),
                name: input
                    .unit_names
                    .get(&t.lead_unit)
                    .cloned()
                    .unwrap_or_else(|| t.lead_unit.clone()),
                completed_with_deadline: 0,
                on_time: 0,
                late: 0,
                exempt: 0,
                timeliness_pct: 0.0,
            });
        row.completed_with_deadline += 1;
        match (t.completed_on_time, exempt.contains(t.task_id.as_str())) {
            (Some(false), true) => row.exempt += 1,
            (Some(false), false) => row.late += 1,
            _ => row.on_time += 1,
        }
    }
    let mut rows: Vec<ScoreRow> = rows
        .into_values()
        .map(|mut r| {
            let points = (r.on_time + r.exempt) * 100 + r.late * 75;
            r.timeliness_pct = pct(points, r.completed_with_deadline * 100);
            r
        })
        .collect();
    rows.sort_by(|a, b| vietnamese_order(&a.name, &b.name).then_with(|| a.unit.cmp(&b.unit)));
    rows
}

#[cfg(test)]
mod tests;
