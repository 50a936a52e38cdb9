//! The schedule of notices a task's situation implies, on the working-day calendar: pure, so
//! that "what is due on day X" is a function of the facts, the policy and the calendar alone.
//! Evaluating a day issues every notice of the schedule due on or before it that was not
//! issued yet; a notice's id says what it is about, so nothing is issued twice and a day the
//! service did not run is made up, not skipped.
//!
//! Once the deadline changes (an extension), the notices are those of the new deadline: the
//! ladder starts again from it, and notices of the old one that had not fallen due never will.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use dondoc_runtime::calendar::WorkingCalendar;

use super::facts::{ExecutionFacts, TaskFacts};
use super::policy::EscalationPolicy;
use super::vi_date;
use super::watch::Notice;

/// What a notice is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoticeKind {
    /// Nhắc hạn: the deadline approaches.
    Reminder,
    /// Thông báo quá hạn: level 1 of the ladder, to the lead unit's head.
    Overdue,
    /// Levels 2 and 3: the supervising Vice-Chairman, the Chairman.
    Escalation,
    /// A difficulty left without direction, raised to the assigning leader.
    Difficulty,
    /// A coordination reply past due, to the coordinating unit.
    Coordination,
    /// A task without a deadline that has been quiet too long.
    Inactivity,
    /// A discipline case's limit from detection to decision draws near (to the Office).
    DisciplineDeadline,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Reminder => "reminder",
            NoticeKind::Overdue => "overdue",
            NoticeKind::Escalation => "escalation",
            NoticeKind::Difficulty => "difficulty",
            NoticeKind::Coordination => "coordination",
            NoticeKind::Inactivity => "inactivity",
            NoticeKind::DisciplineDeadline => "discipline_deadline",
        }
    }

    /// The label an official reads (subject lines, the CLI).
    pub fn label_vi(kind: &str) -> &'static str {
        match kind {
            "reminder" => "Nhắc hạn",
            "overdue" => "Quá hạn",
            "escalation" => "Báo cáo lãnh đạo",
            "difficulty" => "Khó khăn chưa được chỉ đạo",
            "coordination" => "Nhắc ý kiến phối hợp",
            "inactivity" => "Chưa báo cáo tiến độ",
            "discipline_deadline" => "Sắp hết thời hạn xử lý kỷ luật",
            _ => "Thông báo",
        }
    }

    /// Whether it belongs to the escalation ladder or raises an issue to a leader.
    pub fn is_escalation(kind: &str) -> bool {
        matches!(kind, "overdue" | "escalation" | "difficulty")
    }
}

/// Where a task stands for the watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Only progress events are known: the assignment has not arrived yet.
    Unknown,
    Watching,
    /// A result awaits the Office's review: the unit is not reminded meanwhile.
    AwaitingReview,
    /// Completion closes the watch.
    Completed,
    /// Cancellation closes the watch.
    Cancelled,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Unknown => "unknown",
            Phase::Watching => "watching",
            Phase::AwaitingReview => "awaiting_review",
            Phase::Completed => "closed_completed",
            Phase::Cancelled => "closed_cancelled",
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Phase::Completed | Phase::Cancelled)
    }
}

/// What the schedule needs of the directories.
#[derive(Clone, Debug, Default)]
pub struct People {
    /// Unit names by code (for the text; the code when unknown).
    pub unit_names: BTreeMap<String, String>,
    /// The Chairman on the day evaluated.
    pub chairman_id: Option<String>,
}

impl People {
    fn unit(&self, code: &str) -> String {
        self.unit_names
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }
}

/// A discipline case's limit drawing near, as the discipline service warned of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseLimit {
    pub case_id: String,
    pub unit: String,
    /// "processing" (detection to decision) or "limitation" (thời hiệu).
    pub limit: String,
    pub limit_days: u32,
    pub due_on: NaiveDate,
    pub days_left: u32,
    pub warned_on: NaiveDate,
}

/// The notice to the Office that a discipline case's limit draws near. Its subject is the
/// case (`case-<id>`), not a task; it names no person, only the case, its unit and the dates.
pub fn discipline_deadline_notice(case: &CaseLimit, policy_version: &str) -> Notice {
    let CaseLimit {
        case_id,
        unit,
        limit,
        limit_days,
        due_on,
        days_left,
        warned_on,
    } = case;
    let subject = format!("case-{case_id}");
    let due = vi_date(*due_on);
    let text = if limit == "limitation" {
        format!(
            "Sắp hết thời hiệu xử lý kỷ luật: hồ sơ {case_id} (đơn vị {unit}) hết thời hiệu ngày \
             {due}, còn {days_left} ngày."
        )
    } else {
        format!(
            "Sắp hết thời hạn xử lý kỷ luật: hồ sơ {case_id} (đơn vị {unit}) phải có quyết định \
             chậm nhất ngày {due}, còn {days_left} ngày (thời hạn {limit_days} ngày kể từ ngày \
             phát hiện vi phạm)."
        )
    };
    Notice {
        notice_id: format!("{subject}/{limit}-{limit_days}"),
        task_id: subject,
        kind: NoticeKind::DisciplineDeadline.as_str().to_owned(),
        level: 0,
        due_on: *warned_on,
        deadline: Some(*due_on),
        working_days: i32::try_from(*days_left).unwrap_or(i32::MAX),
        lead_unit: String::new(),
        recipient_unit: String::new(),
        recipient_leader_id: String::new(),
        title: format!("Hồ sơ đề nghị xử lý kỷ luật {case_id}"),
        text,
        policy_version: policy_version.to_owned(),
        item_id: case_id.clone(),
    }
}

/// Every notice a task's situation implies, and where it stands.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub phase: Phase,
    /// The deadline in force on the day planned for.
    pub deadline: Option<NaiveDate>,
    /// Sorted by due day.
    pub notices: Vec<Notice>,
}

impl Schedule {
    /// The schedule of a task on `today` (`task` is `None` while only its progress is known).
    pub fn plan(
        task: Option<&TaskFacts>,
        work: &ExecutionFacts,
        policy: &EscalationPolicy,
        calendar: &WorkingCalendar,
        people: &People,
        today: NaiveDate,
    ) -> Schedule {
        let Some(task) = task else {
            return Schedule {
                phase: Phase::Unknown,
                deadline: None,
                notices: Vec::new(),
            };
        };
        let in_force = task.deadline_on(today);
        let deadline = in_force.and_then(|d| d.deadline);
        let phase = if work.completed {
            Phase::Completed
        } else if task.cancelled {
            Phase::Cancelled
        } else if work.awaiting_review {
            Phase::AwaitingReview
        } else {
            Phase::Watching
        };
        let mut plan = Planner {
            task,
            policy,
            calendar,
            people,
            notices: Vec::new(),
        };
        if phase == Phase::Watching {
            let effective_from = in_force.map_or(task.assigned_on, |d| d.from);
            match deadline {
                Some(deadline) => plan.deadline_ladder(deadline, effective_from),
                None => plan.inactivity(effective_from.max(task.assigned_on), work),
            }
            plan.difficulties(work);
            plan.coordinations(work);
        }
        let mut notices = plan.notices;
        notices.sort_by(|a, b| a.due_on.cmp(&b.due_on).then(a.notice_id.cmp(&b.notice_id)));
        Schedule {
            phase,
            deadline,
            notices,
        }
    }

    /// Notices due on or before `today`.
    pub fn due(&self, today: NaiveDate) -> impl Iterator<Item = &Notice> {
        self.notices.iter().filter(move |n| n.due_on <= today)
    }

    /// The first notice still to come after `today`.
    pub fn next(&self, today: NaiveDate) -> Option<&Notice> {
        self.notices.iter().find(|n| n.due_on > today)
    }
}

struct Planner<'a> {
    task: &'a TaskFacts,
    policy: &'a EscalationPolicy,
    calendar: &'a WorkingCalendar,
    people: &'a People,
    notices: Vec<Notice>,
}

fn days(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl Planner<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: NoticeKind,
        key: String,
        level: u32,
        due_on: NaiveDate,
        deadline: Option<NaiveDate>,
        working_days: i32,
        recipient_unit: Option<String>,
        recipient_leader_id: Option<String>,
        item_id: String,
        text: String,
    ) {
        let task = self.task;
        self.notices.push(Notice {
            notice_id: format!("{}/{}", task.task_id, key),
            task_id: task.task_id.clone(),
            kind: kind.as_str().to_owned(),
            level,
            due_on,
            deadline,
            working_days,
            lead_unit: task.lead_unit.clone(),
            recipient_unit: recipient_unit.unwrap_or_default(),
            recipient_leader_id: recipient_leader_id.unwrap_or_default(),
            title: task.title.clone(),
            text,
            policy_version: self.policy.version.clone(),
            item_id,
        });
    }

    fn deadline_ladder(&mut self, deadline: NaiveDate, effective_from: NaiveDate) {
        let task = self.task;
        let unit = self.people.unit(&task.lead_unit);
        let on = vi_date(deadline);
        let title = &task.title;
        for &r in &self.policy.reminder_working_days {
            let due = self.calendar.add_working_days(deadline, -days(r));
            // A reminder that would have fallen before this deadline was set is not one.
            if due < effective_from {
                continue;
            }
            self.push(
                NoticeKind::Reminder,
                format!("reminder-{r}/{deadline}"),
                0,
                due,
                Some(deadline),
                days(r),
                Some(task.lead_unit.clone()),
                None,
                String::new(),
                format!(
                    "Nhắc hạn: nhiệm vụ «{title}» do {unit} chủ trì có thời hạn hoàn thành ngày \
                     {on}, còn {r} ngày làm việc. Đề nghị đơn vị khẩn trương thực hiện và báo \
                     cáo kết quả đúng hạn."
                ),
            );
        }
        let n1 = self.policy.overdue_notice_after;
        self.push(
            NoticeKind::Overdue,
            format!("overdue-1/{deadline}"),
            1,
            self.calendar.add_working_days(deadline, days(n1)),
            Some(deadline),
            days(n1),
            Some(task.lead_unit.clone()),
            None,
            String::new(),
            format!(
                "Quá hạn: nhiệm vụ «{title}» do {unit} chủ trì đã quá thời hạn hoàn thành ngày \
                 {on}. Đề nghị Thủ trưởng đơn vị khẩn trương hoàn thành, báo cáo kết quả và giải \
                 trình lý do chậm trễ."
            ),
        );
        let n2 = self.policy.level2_after;
        let vice = task
            .supervising_leader_id
            .clone()
            .or_else(|| task.assigning_leader_id.clone())
            .or_else(|| self.people.chairman_id.clone());
        self.push(
            NoticeKind::Escalation,
            format!("escalation-2/{deadline}"),
            2,
            self.calendar.add_working_days(deadline, days(n2)),
            Some(deadline),
            days(n2),
            None,
            vice,
            String::new(),
            format!(
                "Báo cáo Phó Chủ tịch UBND thành phố phụ trách: nhiệm vụ «{title}» do {unit} chủ \
                 trì đã quá hạn {n2} ngày làm việc (thời hạn {on}) và chưa hoàn thành."
            ),
        );
        let n3 = self.policy.level3_after;
        self.push(
            NoticeKind::Escalation,
            format!("escalation-3/{deadline}"),
            3,
            self.calendar.add_working_days(deadline, days(n3)),
            Some(deadline),
            days(n3),
            None,
            self.people.chairman_id.clone(),
            String::new(),
            format!(
                "Báo cáo Chủ tịch UBND thành phố: nhiệm vụ «{title}» do {unit} chủ trì đã quá \
                 hạn {n3} ngày làm việc (thời hạn {on}) và chưa hoàn thành."
            ),
        );
    }

    fn inactivity(&mut self, watched_from: NaiveDate, work: &ExecutionFacts) {
        let task = self.task;
        let quiet_since = work
            .last_activity
            .map_or(watched_from, |d| d.max(watched_from));
        let n = self.policy.inactivity_working_days;
        let unit = self.people.unit(&task.lead_unit);
        let title = &task.title;
        let since = vi_date(quiet_since);
        self.push(
            NoticeKind::Inactivity,
            format!("inactivity/{quiet_since}"),
            0,
            self.calendar.add_working_days(quiet_since, days(n)),
            None,
            days(n),
            Some(task.lead_unit.clone()),
            None,
            String::new(),
            format!(
                "Nhắc báo cáo: nhiệm vụ «{title}» (không có thời hạn) do {unit} chủ trì chưa có \
                 báo cáo tiến độ trong {n} ngày làm việc kể từ ngày {since}. Đề nghị đơn vị báo \
                 cáo tình hình thực hiện."
            ),
        );
    }

    fn difficulties(&mut self, work: &ExecutionFacts) {
        let task = self.task;
        let k = self.policy.difficulty_direction_within;
        let unit = self.people.unit(&task.lead_unit);
        let title = &task.title;
        let leader = task
            .assigning_leader_id
            .clone()
            .or_else(|| task.supervising_leader_id.clone())
            .or_else(|| self.people.chairman_id.clone());
        for (id, difficulty) in work.difficulties.iter().filter(|(_, d)| !d.directed) {
            let reported = vi_date(difficulty.reported_on);
            self.push(
                NoticeKind::Difficulty,
                format!("difficulty/{id}"),
                0,
                self.calendar
                    .add_working_days(difficulty.reported_on, days(k)),
                None,
                days(k),
                None,
                leader.clone(),
                id.clone(),
                format!(
                    "Báo cáo lãnh đạo: khó khăn, vướng mắc của {unit} về nhiệm vụ «{title}» báo \
                     cáo ngày {reported} chưa có ý kiến chỉ đạo sau {k} ngày làm việc."
                ),
            );
        }
    }

    fn coordinations(&mut self, work: &ExecutionFacts) {
        let task = self.task;
        let n = self.policy.coordination_reminder_after;
        let lead = self.people.unit(&task.lead_unit);
        let title = &task.title;
        for (id, request) in work.coordinations.iter().filter(|(_, c)| !c.replied) {
            let due = vi_date(request.reply_due);
            self.push(
                NoticeKind::Coordination,
                format!("coordination/{id}"),
                0,
                self.calendar.add_working_days(request.reply_due, days(n)),
                None,
                days(n),
                Some(request.unit.clone()),
                None,
                id.clone(),
                format!(
                    "Nhắc ý kiến phối hợp: {lead} đề nghị phối hợp thực hiện nhiệm vụ «{title}», \
                     hạn trả lời ngày {due}, đến nay chưa nhận được ý kiến của đơn vị."
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::{Coordination, DeadlineFrom, Difficulty};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    fn task(assigned_on: NaiveDate, deadline: Option<NaiveDate>) -> TaskFacts {
        TaskFacts {
            task_id: "t-1".into(),
            title: "Báo cáo".into(),
            lead_unit: "SXD".into(),
            assigning_leader_id: Some("pct-tran".into()),
            supervising_leader_id: Some("pct-tran".into()),
            assigned_on,
            deadlines: vec![DeadlineFrom {
                from: assigned_on,
                deadline,
            }],
            cancelled: false,
        }
    }

    fn plan(task: &TaskFacts, work: &ExecutionFacts, today: NaiveDate) -> Schedule {
        let calendar = WorkingCalendar::vietnam().expect("calendar");
        let people = People {
            unit_names: BTreeMap::from([("SXD".to_owned(), "Sở Xây dựng".to_owned())]),
            chairman_id: Some("ct-nguyen".into()),
        };
        Schedule::plan(
            Some(task),
            work,
            &EscalationPolicy::shipped(),
            &calendar,
            &people,
            today,
        )
    }

    fn due_days(schedule: &Schedule) -> Vec<(String, NaiveDate)> {
        schedule
            .notices
            .iter()
            .map(|n| (n.notice_id.clone(), n.due_on))
            .collect()
    }

    #[test]
    fn a_task_without_a_deadline_is_watched_for_quiet_working_days_from_its_last_report() {
        // Assigned Monday 5 January 2026; 10 working days count Saturday 10 January.
        let mut work = ExecutionFacts::default();
        let quiet = plan(&task(day(2026, 1, 5), None), &work, day(2026, 1, 6));
        assert_eq!(
            due_days(&quiet),
            vec![("t-1/inactivity/2026-01-05".to_owned(), day(2026, 1, 16))]
        );

        // A progress report on Wednesday 14 January starts the count again: ten working days
        // later is Wednesday 28 January.
        work.active_on(day(2026, 1, 14));
        let reported = plan(&task(day(2026, 1, 5), None), &work, day(2026, 1, 15));
        assert_eq!(
            due_days(&reported),
            vec![("t-1/inactivity/2026-01-14".to_owned(), day(2026, 1, 28))]
        );
    }

    #[test]
    fn a_difficulty_without_direction_goes_to_the_assigning_leader_and_a_direction_settles_it() {
        let mut work = ExecutionFacts::default();
        work.difficulties.insert(
            "d-1".into(),
            Difficulty {
                reported_on: day(2025, 12, 31),
                directed: false,
            },
        );
        let facts = task(day(2025, 12, 1), None);

        let raised = plan(&facts, &work, day(2026, 1, 6));
        let difficulty = raised
            .notices
            .iter()
            .find(|n| n.kind == "difficulty")
            .expect("raised");
        // 3 working days after Wednesday 31 December: 5, 6, 7 January.
        assert_eq!(difficulty.due_on, day(2026, 1, 7));
        assert_eq!(difficulty.recipient_leader_id, "pct-tran");
        assert_eq!(difficulty.item_id, "d-1");

        if let Some(d) = work.difficulties.get_mut("d-1") {
            d.directed = true;
        }
        let settled = plan(&facts, &work, day(2026, 1, 6));
        assert!(settled.notices.iter().all(|n| n.kind != "difficulty"));
    }

    #[test]
    fn a_coordination_reply_past_its_date_reminds_the_coordinating_unit_until_it_replies() {
        let mut work = ExecutionFacts::default();
        work.coordinations.insert(
            "c-1".into(),
            Coordination {
                unit: "STC".into(),
                reply_due: day(2026, 2, 13),
                replied: false,
            },
        );
        let facts = task(day(2026, 2, 2), Some(day(2026, 3, 31)));

        let reminded = plan(&facts, &work, day(2026, 2, 13));
        let coordination = reminded
            .notices
            .iter()
            .find(|n| n.kind == "coordination")
            .expect("reminded");
        // The working day after Friday 13 February 2026 is Monday 23 February: the Tết days off
        // run from Saturday 14 to Sunday 22 February.
        assert_eq!(coordination.due_on, day(2026, 2, 23));
        assert_eq!(coordination.recipient_unit, "STC");

        if let Some(c) = work.coordinations.get_mut("c-1") {
            c.replied = true;
        }
        let replied = plan(&facts, &work, day(2026, 2, 13));
        assert!(replied.notices.iter().all(|n| n.kind != "coordination"));
    }

    #[test]
    fn a_result_awaiting_review_asks_nothing_of_the_unit_and_completion_or_cancellation_closes() {
        let facts = task(day(2025, 12, 1), Some(day(2025, 12, 31)));
        let mut work = ExecutionFacts {
            awaiting_review: true,
            ..Default::default()
        };
        let waiting = plan(&facts, &work, day(2026, 1, 9));
        assert_eq!(waiting.phase, Phase::AwaitingReview);
        assert!(waiting.notices.is_empty());

        work.awaiting_review = false;
        work.completed = true;
        assert_eq!(plan(&facts, &work, day(2026, 1, 9)).phase, Phase::Completed);

        let mut cancelled = facts.clone();
        cancelled.cancelled = true;
        let closed = plan(&cancelled, &ExecutionFacts::default(), day(2026, 1, 9));
        assert_eq!(closed.phase, Phase::Cancelled);
        assert!(closed.notices.is_empty());
    }

    #[test]
    fn an_extension_learnt_late_still_applies_from_the_day_it_was_decided() {
        let mut facts = task(day(2025, 12, 1), Some(day(2025, 12, 31)));
        facts.extend(day(2026, 1, 6), day(2026, 1, 20));
        // An earlier extension arriving after the later one takes its place in time.
        facts.extend(day(2025, 12, 20), day(2026, 1, 9));

        assert_eq!(
            facts
                .deadline_on(day(2025, 12, 22))
                .and_then(|d| d.deadline),
            Some(day(2026, 1, 9))
        );
        assert_eq!(
            facts.deadline_on(day(2026, 1, 7)).and_then(|d| d.deadline),
            Some(day(2026, 1, 20))
        );
        let schedule = plan(&facts, &ExecutionFacts::default(), day(2026, 1, 7));
        assert!(
            schedule
                .notices
                .iter()
                .all(|n| n.deadline == Some(day(2026, 1, 20))),
            "{schedule:?}"
        );
    }
}
