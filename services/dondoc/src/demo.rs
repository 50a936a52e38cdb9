//! `dondoc up --demo`: a realistic, deterministic three months of the Office's work, played
//! through the services' public APIs on a demo clock, and the last month's periodic report
//! written in every format under `<data>/reports/`.
//!
//! The scenario is a pure function of its size ([`plan`]): the same tasks, units, deadlines and
//! fates every time — most completed on time, some late, some still open past their deadline,
//! some without a deadline, some extended, some returned for rework, difficulties with and
//! without direction, leadership reminders, criticisms and commendations — across the city's
//! departments and communes (the directory since 1 July 2025). Whatever the escalation and
//! discipline policies make of it (notices, a draft discipline case for a unit with three
//! overdue tasks in a month) follows from the services themselves.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{Datelike, NaiveDate, TimeZone as _, Weekday};
use dondoc_eventsourcing::clock::ManualClock;
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::assignment_service_client::AssignmentServiceClient;
use dondoc_proto::v1::discipline_service_client::DisciplineServiceClient;
use dondoc_proto::v1::escalation_service_client::EscalationServiceClient;
use dondoc_proto::v1::progress_service_client::ProgressServiceClient;
use dondoc_proto::v1::reporting_service_client::ReportingServiceClient;
use dondoc_runtime::auth::{BearerToken, Principal, Role, TokenIssuer};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The unit and leader directories the demo loads (the assignment service's seed files).
pub const UNITS_TOML: &str = include_str!("../../assignment/seed/haiphong-units.toml");
pub const LEADERS_TOML: &str = include_str!("../../assignment/seed/haiphong-leaders.toml");

/// The three reporting months played: 15 August → 14 November 2026.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 8, 17).unwrap_or_default()
}

/// The report written at the end: November 2026 (15/10 → 14/11).
pub const REPORT_YEAR: i32 = 2026;
pub const REPORT_MONTH: u32 = 11;

fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 14).unwrap_or_default()
}

/// The day the Office proposes discipline (a Friday of the last month).
fn case_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 6).unwrap_or_default()
}

/// The unit with the most tasks overdue on the day the case is opened, and those tasks (by
/// index), the first unit in directory order on a tie.
pub fn case_target(plan: &Plan) -> Option<(&'static str, Vec<usize>)> {
    let mut by_unit: std::collections::BTreeMap<&'static str, Vec<usize>> = Default::default();
    for (i, t) in plan.tasks.iter().enumerate() {
        if t.fate == Fate::Open && t.deadline.is_some_and(|d| d < case_day()) {
            by_unit.entry(t.lead_unit).or_default().push(i);
        }
    }
    by_unit
        .into_iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
}

/// The day after the cut-off, when the Office writes the report.
fn report_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 16).unwrap_or_default()
}

const DEPARTMENTS: [&str; 11] = [
    "SNV", "STC", "SXD", "SNNMT", "SKHCN", "SVHTTDL", "SDTTG", "STP", "SCT", "SGDDT", "SYT",
];
const COMMUNES: [&str; 12] = [
    "11560", "11557", "11533", "11542", "11473", "11488", "11506", "11311", "11602", "11329",
    "11359", "11383",
];
const LEADERS: [&str; 3] = ["pct-tran", "pct-pham", "pct-hoang"];
const SUBJECTS: [&str; 12] = [
    "Báo cáo tiến độ giải phóng mặt bằng",
    "Rà soát thủ tục hành chính",
    "Đề xuất phương án phòng chống thiên tai",
    "Tổng hợp kết quả thu ngân sách",
    "Kiểm tra an toàn thực phẩm",
    "Hoàn thiện hồ sơ dự án đầu tư công",
    "Báo cáo tình hình chuyển đổi số",
    "Xử lý kiến nghị cử tri",
    "Rà soát quy hoạch sử dụng đất",
    "Kiểm tra công tác phòng cháy chữa cháy",
    "Đánh giá chất lượng dịch vụ y tế",
    "Chuẩn bị năm học mới",
];

/// How a task's story ends (by the cut-off of the last month).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Completed, accepted on `on` (on or before the deadline, or after it).
    Completed { on: NaiveDate },
    /// Still being worked on at the end (overdue if its deadline has passed).
    Open,
    /// Returned for rework on `returned`, accepted on `on`.
    Returned { returned: NaiveDate, on: NaiveDate },
    /// A difficulty reported on `reported`, directed on `directed` (or never), then completed
    /// on `on` (or not).
    Difficulty {
        reported: NaiveDate,
        directed: Option<NaiveDate>,
        on: Option<NaiveDate>,
    },
    /// The deadline extended on `decided` to `to`, then completed on `on`.
    Extended {
        decided: NaiveDate,
        to: NaiveDate,
        on: NaiveDate,
    },
}

/// A task of the scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedTask {
    pub title: String,
    pub lead_unit: &'static str,
    pub leader_id: &'static str,
    pub origin: pb::OriginKind,
    pub assigned_on: NaiveDate,
    pub deadline: Option<NaiveDate>,
    pub fate: Fate,
}

/// One thing that happens on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Assign(usize),
    Acknowledge(usize),
    Difficulty(usize),
    Direction(usize),
    Extend(usize),
    Return(usize),
    Accept(usize),
    /// A leadership action: "reminder", "criticism" or "commendation" about a task.
    Action(&'static str, usize),
    /// The escalation service evaluates deadlines.
    Evaluate,
    /// The Office proposes discipline for the unit with the most tasks left overdue
    /// (these tasks).
    OpenCase,
}

/// The scenario: its tasks and every step, in the order they happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub tasks: Vec<PlannedTask>,
    pub steps: Vec<(NaiveDate, Step)>,
}

/// A small deterministic generator (a linear congruential one is plenty for a demo and keeps
/// the scenario identical on every machine).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn is_working_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `n` weekdays after `day` (holidays aside: the scenario's dates only need to be plausible).
fn weekdays_after(day: NaiveDate, n: u64) -> NaiveDate {
    let mut d = day;
    let mut left = n;
    while left > 0 {
        d = d.succ_opt().unwrap_or(d);
        if is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// The scenario with `count` tasks spread over the working days of the three months.
pub fn plan(count: usize) -> Plan {
    let mut dice = Dice(0x00d0_4d0c);
    let days: Vec<NaiveDate> = first_day()
        .iter_days()
        .take_while(|d| *d <= last_day())
        .filter(|d| is_working_day(*d))
        .collect();
    let mut tasks = Vec::with_capacity(count);
    let mut steps = Vec::new();
    for i in 0..count {
        let assigned_on = days[i * days.len() / count.max(1)];
        let lead_unit = if dice.below(3) == 0 {
            COMMUNES[dice.below(COMMUNES.len() as u64) as usize]
        } else {
            DEPARTMENTS[dice.below(DEPARTMENTS.len() as u64) as usize]
        };
        let origin = match dice.below(10) {
            0 => pb::OriginKind::Government,
            1 => pb::OriginKind::PrimeMinister,
            _ => pb::OriginKind::CityPeoplesCommittee,
        };
        let deadline =
            (dice.below(12) != 0).then(|| weekdays_after(assigned_on, 8 + dice.below(20)));
        let roll = dice.below(100);
        let fate = match deadline {
            None if roll < 60 => Fate::Completed {
                on: weekdays_after(assigned_on, 5 + dice.below(25)),
            },
            None => Fate::Open,
            Some(due) => match roll {
                0..=49 => Fate::Completed {
                    on: weekdays_after(assigned_on, 1 + dice.below(7)).min(due),
                },
                50..=62 => Fate::Completed {
                    on: weekdays_after(due, 1 + dice.below(8)),
                },
                63..=69 => Fate::Returned {
                    returned: weekdays_after(assigned_on, 3),
                    on: weekdays_after(assigned_on, 6 + dice.below(6)),
                },
                70..=77 => {
                    let reported = weekdays_after(assigned_on, 2);
                    let directed =
                        (dice.below(3) != 0).then(|| weekdays_after(reported, 1 + dice.below(6)));
                    Fate::Difficulty {
                        reported,
                        directed,
                        on: directed.map(|d| weekdays_after(d, 2 + dice.below(5))),
                    }
                }
                78..=83 => {
                    let decided = weekdays_after(assigned_on, 3);
                    let to = weekdays_after(due, 10);
                    Fate::Extended {
                        decided,
                        to,
                        on: weekdays_after(due, 2 + dice.below(10)),
                    }
                }
                _ => Fate::Open,
            },
        };
        let task = PlannedTask {
            title: format!(
                "{} ({})",
                SUBJECTS[dice.below(SUBJECTS.len() as u64) as usize],
                i + 1
            ),
            lead_unit,
            leader_id: LEADERS[dice.below(LEADERS.len() as u64) as usize],
            origin,
            assigned_on,
            deadline,
            fate,
        };
        steps.push((assigned_on, Step::Assign(i)));
        steps.push((weekdays_after(assigned_on, 1), Step::Acknowledge(i)));
        match task.fate {
            Fate::Completed { on } => steps.push((on, Step::Accept(i))),
            Fate::Open => {}
            Fate::Returned { returned, on } => {
                steps.push((returned, Step::Return(i)));
                steps.push((on, Step::Accept(i)));
            }
            Fate::Difficulty {
                reported,
                directed,
                on,
            } => {
                steps.push((reported, Step::Difficulty(i)));
                if let Some(d) = directed {
                    steps.push((d, Step::Direction(i)));
                }
                if let Some(on) = on {
                    steps.push((on, Step::Accept(i)));
                }
            }
            Fate::Extended { decided, on, .. } => {
                steps.push((decided, Step::Extend(i)));
                steps.push((on, Step::Accept(i)));
            }
        }
        if let Some(due) = deadline
            && task.fate == Fate::Open
            && i % 4 == 0
        {
            steps.push((weekdays_after(due, 2), Step::Action("reminder", i)));
        }
        if i % 25 == 7 {
            let kind = if matches!(task.fate, Fate::Completed { .. }) {
                "commendation"
            } else {
                "criticism"
            };
            steps.push((weekdays_after(assigned_on, 12), Step::Action(kind, i)));
        }
        tasks.push(task);
    }
    for day in days.iter().filter(|d| d.weekday() == Weekday::Fri) {
        steps.push((*day, Step::Evaluate));
    }
    steps.push((case_day(), Step::OpenCase));
    // Only what happens by the cut-off; later steps belong to months not played.
    steps.retain(|(day, _)| *day <= last_day());
    steps.sort();
    Plan { tasks, steps }
}

/// What the demo did.
#[derive(Debug)]
pub struct Summary {
    pub tasks: usize,
    pub steps: usize,
    pub reports: Vec<PathBuf>,
}

type Assignment = AssignmentServiceClient<InterceptedService<Channel, BearerToken>>;
type Progress = ProgressServiceClient<InterceptedService<Channel, BearerToken>>;
type Escalation = EscalationServiceClient<InterceptedService<Channel, BearerToken>>;
type Reporting = ReportingServiceClient<InterceptedService<Channel, BearerToken>>;

/// Where the services listen (loopback, plaintext: the demo runs on `dondoc up`).
pub struct Endpoints {
    pub assignment: String,
    pub discipline: String,
    pub progress: String,
    pub escalation: String,
    pub reporting: String,
}

struct Clients {
    issuer: TokenIssuer,
    endpoints: Endpoints,
}

impl Clients {
    fn token(&self, principal: &Principal) -> anyhow::Result<BearerToken> {
        Ok(BearerToken::new(
            self.issuer
                .mint(principal, Duration::from_secs(3600))
                .context("cannot mint a demo token")?,
        ))
    }

    async fn channel(url: &str) -> anyhow::Result<Channel> {
        tonic::transport::Endpoint::from_shared(url.to_owned())?
            .connect()
            .await
            .with_context(|| format!("cannot reach {url}"))
    }

    async fn assignment(&self, who: &Principal) -> anyhow::Result<Assignment> {
        Ok(AssignmentServiceClient::with_interceptor(
            Self::channel(&self.endpoints.assignment).await?,
            self.token(who)?,
        ))
    }

    async fn progress(&self, who: &Principal) -> anyhow::Result<Progress> {
        Ok(ProgressServiceClient::with_interceptor(
            Self::channel(&self.endpoints.progress).await?,
            self.token(who)?,
        ))
    }
}

fn office() -> Principal {
    Principal {
        subject: "demo-vp".into(),
        role: Role::Office,
        unit_code: None,
        leader_id: None,
    }
}

fn unit(code: &str) -> Principal {
    Principal {
        subject: format!("demo-{}", code.to_ascii_lowercase()),
        role: Role::Unit,
        unit_code: Some(code.to_owned()),
        leader_id: None,
    }
}

fn leader(id: &str) -> Principal {
    Principal {
        subject: id.to_owned(),
        role: Role::Leader,
        unit_code: None,
        leader_id: Some(id.to_owned()),
    }
}

fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn morning(day: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    let local = day.and_hms_opt(9, 0, 0).unwrap_or_default();
    dondoc_eventsourcing::clock::business_offset()
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

/// Retries a call while the service has not yet learned of the task (its events travel over
/// NATS): NOT_FOUND and FAILED_PRECONDITION for a few seconds, then the error stands.
async fn patiently<T, F, Fut>(mut call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match call().await {
            Ok(response) => return Ok(response.into_inner()),
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::NotFound | tonic::Code::FailedPrecondition
                ) && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(status) => return Err(status),
        }
    }
}

/// Plays `plan` through the services on `clock`, then writes the November report in every
/// format under `reports_dir`.
pub async fn run(
    plan: &Plan,
    clock: &Arc<ManualClock>,
    issuer: TokenIssuer,
    endpoints: Endpoints,
    reports_dir: &Path,
) -> anyhow::Result<Summary> {
    let clients = Clients { issuer, endpoints };
    clock.set(morning(first_day()));
    let mut admin = clients.assignment(&crate::token::admin()).await?;
    admin
        .import_units(pb::ImportUnitsRequest {
            request_id: rid(),
            toml: UNITS_TOML.into(),
        })
        .await
        .context("cannot load the unit directory")?;
    admin
        .import_leaders(pb::ImportLeadersRequest {
            request_id: rid(),
            toml: LEADERS_TOML.into(),
        })
        .await
        .context("cannot load the leader directory")?;
    let mut assignment = clients.assignment(&office()).await?;
    let mut progress = clients.progress(&office()).await?;
    let mut escalation: Escalation = EscalationServiceClient::with_interceptor(
        Clients::channel(&clients.endpoints.escalation).await?,
        clients.token(&office())?,
    );
    let mut task_ids: Vec<String> = vec![String::new(); plan.tasks.len()];
    let mut submissions: Vec<String> = vec![String::new(); plan.tasks.len()];
    let bar = indicatif::ProgressBar::new(plan.steps.len() as u64);
    bar.set_message("dondoc demo");
    for (day, step) in &plan.steps {
        clock.set(morning(*day));
        bar.inc(1);
        let result: anyhow::Result<()> = async {
            match *step {
                Step::Assign(i) => {
                    task_ids[i] = assign(&mut assignment, &plan.tasks[i]).await?;
                }
                Step::Acknowledge(i) => {
                    let lead = clients.progress(&unit(plan.tasks[i].lead_unit)).await?;
                    let task_id = task_ids[i].clone();
                    patiently(|| {
                        let mut lead = lead.clone();
                        let request = pb::AcknowledgeTaskRequest {
                            request_id: rid(),
                            task_id: task_id.clone(),
                            expected_version: 0,
                        };
                        async move { lead.acknowledge_task(request).await }
                    })
                    .await?;
                }
                Step::Difficulty(i) => {
                    let mut lead = clients.progress(&unit(plan.tasks[i].lead_unit)).await?;
                    lead.report_difficulty(pb::ReportDifficultyRequest {
                        request_id: rid(),
                        task_id: task_ids[i].clone(),
                        description: "Chưa bố trí được kinh phí thực hiện".into(),
                        proposed_solution: "Đề nghị bổ sung dự toán từ nguồn dự phòng".into(),
                        expected_version: 0,
                    })
                    .await?;
                }
                Step::Direction(i) => {
                    let execution = progress
                        .get_execution(pb::GetExecutionRequest {
                            task_id: task_ids[i].clone(),
                        })
                        .await?
                        .into_inner();
                    let Some(difficulty) = execution.difficulties.last() else {
                        return Ok(());
                    };
                    let mut head = clients.progress(&leader(plan.tasks[i].leader_id)).await?;
                    head.give_direction(pb::GiveDirectionRequest {
                        request_id: rid(),
                        task_id: task_ids[i].clone(),
                        difficulty_id: difficulty.difficulty_id.clone(),
                        direction: "Sở Tài chính bố trí kinh phí trong tháng".into(),
                        expected_version: 0,
                    })
                    .await?;
                }
                Step::Extend(i) => {
                    if let Fate::Extended { to, .. } = plan.tasks[i].fate {
                        assignment
                            .extend_deadline(pb::ExtendDeadlineRequest {
                                request_id: rid(),
                                task_id: task_ids[i].clone(),
                                new_deadline: to.to_string(),
                                reason: "Chờ ý kiến thẩm định của bộ, ngành".into(),
                                expected_version: 0,
                                requested_on: String::new(),
                                approved_by_leader_id: plan.tasks[i].leader_id.into(),
                            })
                            .await?;
                    }
                }
                Step::Return(i) | Step::Accept(i) => {
                    let accept = matches!(step, Step::Accept(_));
                    let lead = clients.progress(&unit(plan.tasks[i].lead_unit)).await?;
                    let task_id = task_ids[i].clone();
                    let submitted = patiently(|| {
                        let mut lead = lead.clone();
                        let request = pb::SubmitResultRequest {
                            request_id: rid(),
                            task_id: task_id.clone(),
                            summary: "Đã hoàn thành, gửi kèm báo cáo kết quả".into(),
                            expected_version: 0,
                            documents: Vec::new(),
                        };
                        async move { lead.submit_result(request).await }
                    })
                    .await?;
                    submissions[i] = submitted
                        .submissions
                        .last()
                        .map(|s| s.submission_id.clone())
                        .unwrap_or_default();
                    progress
                        .review_result(pb::ReviewResultRequest {
                            request_id: rid(),
                            task_id: task_ids[i].clone(),
                            submission_id: submissions[i].clone(),
                            accept,
                            note: if accept {
                                String::new()
                            } else {
                                "Bổ sung số liệu chi tiết theo từng dự án".into()
                            },
                            expected_version: 0,
                        })
                        .await?;
                }
                Step::Action(kind, i) => {
                    escalation
                        .record_leadership_action(pb::RecordLeadershipActionRequest {
                            request_id: rid(),
                            kind: kind.into(),
                            leader_id: plan.tasks[i].leader_id.into(),
                            units: vec![plan.tasks[i].lead_unit.into()],
                            task_ids: vec![task_ids[i].clone()],
                            document: Some(pb::SourceDocument {
                                number: format!("{}", 300 + i),
                                symbol: "TB-UBND".into(),
                                date: day.to_string(),
                                summary: format!(
                                    "Về việc thực hiện nhiệm vụ: {}",
                                    plan.tasks[i].title
                                ),
                            }),
                            note: String::new(),
                        })
                        .await?;
                }
                Step::OpenCase => {
                    let Some((unit_code, tasks)) = case_target(plan) else {
                        return Ok(());
                    };
                    let mut discipline = DisciplineServiceClient::with_interceptor(
                        Clients::channel(&clients.endpoints.discipline).await?,
                        clients.token(&office())?,
                    );
                    discipline
                        .open_case(pb::OpenCaseRequest {
                            request_id: rid(),
                            target: Some(pb::CaseTarget {
                                unit: unit_code.into(),
                                person_name: String::new(),
                                person_title: String::new(),
                                group: String::new(),
                            }),
                            detected_on: String::new(),
                            summary: format!(
                                "Để {} nhiệm vụ quá hạn chưa hoàn thành, không báo cáo khó khăn, \
                                 vướng mắc",
                                tasks.len()
                            ),
                            task_ids: tasks.iter().map(|i| task_ids[*i].clone()).collect(),
                            evidence_event_ids: Vec::new(),
                        })
                        .await?;
                }
                Step::Evaluate => {
                    escalation
                        .evaluate_deadlines(pb::EvaluateDeadlinesRequest::default())
                        .await?;
                }
            }
            Ok(())
        }
        .await;
        result.with_context(|| format!("demo step {step:?} on {day}"))?;
    }
    bar.finish_and_clear();
    clock.set(morning(report_day()));
    let reports = write_reports(&clients, plan.tasks.len(), reports_dir).await?;
    Ok(Summary {
        tasks: plan.tasks.len(),
        steps: plan.steps.len(),
        reports,
    })
}

async fn assign(client: &mut Assignment, t: &PlannedTask) -> anyhow::Result<String> {
    let document = pb::SourceDocument {
        number: format!("{}", 4000 + t.assigned_on.ordinal()),
        symbol: "UBND-VP".into(),
        date: t.assigned_on.to_string(),
        summary: format!("Về việc {}", t.title.to_lowercase()),
    };
    let central = matches!(
        t.origin,
        pb::OriginKind::Government | pb::OriginKind::PrimeMinister
    );
    let task = client
        .assign_task(pb::AssignTaskRequest {
            request_id: rid(),
            issuer: None,
            source_document: None,
            origin: Some(pb::TaskOrigin {
                kind: t.origin as i32,
                issuing_body: String::new(),
                document: central.then(|| pb::SourceDocument {
                    number: "25".into(),
                    symbol: if t.origin == pb::OriginKind::Government {
                        "NQ-CP".into()
                    } else {
                        "CT-TTg".into()
                    },
                    date: "2026-08-01".into(),
                    summary: "Về nhiệm vụ, giải pháp chủ yếu".into(),
                }),
            }),
            assignment: Some(pb::TaskAssignment {
                assigner: Some(pb::Assigner {
                    kind: pb::AssignerKind::ViceChairman as i32,
                    leader_id: t.leader_id.into(),
                    leader_name: String::new(),
                }),
                document: Some(document),
            }),
            title: t.title.clone(),
            content: "Triển khai thực hiện và báo cáo kết quả về UBND thành phố".into(),
            lead_unit: t.lead_unit.into(),
            coordinating_units: Vec::new(),
            term: Some(match t.deadline {
                Some(d) => pb::assign_task_request::Term::Deadline(d.to_string()),
                None => pb::assign_task_request::Term::NoDeadline(true),
            }),
            priority: pb::Priority::Normal as i32,
        })
        .await
        .with_context(|| format!("cannot assign {:?}", t.title))?
        .into_inner();
    Ok(task.task_id)
}

/// Waits until the reporting service has every task and its report stops changing, then
/// renders November's report in every format.
async fn write_reports(
    clients: &Clients,
    tasks: usize,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut reporting: Reporting = ReportingServiceClient::with_interceptor(
        Clients::channel(&clients.endpoints.reporting).await?,
        clients.token(&office())?,
    );
    let period = pb::GetPeriodicReportRequest {
        kind: "month".into(),
        year: REPORT_YEAR,
        index: REPORT_MONTH,
        ..Default::default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut last: Option<pb::PeriodicReport> = None;
    loop {
        let board = reporting
            .get_task_board(pb::GetTaskBoardRequest::default())
            .await?
            .into_inner();
        let report = reporting
            .get_periodic_report(period.clone())
            .await?
            .into_inner();
        if board.total_tasks as usize >= tasks && last.as_ref() == Some(&report) {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the reporting service did not settle within two minutes"
        );
        last = Some(report);
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for format in ["html", "pdf", "xlsx", "csv", "json", "md"] {
        let rendered = reporting
            .render_report(pb::RenderReportRequest {
                period: Some(period.clone()),
                format: format.into(),
                letterhead: Some(pb::Letterhead {
                    issuing_body: "Văn phòng UBND thành phố Hải Phòng".into(),
                    signer_name: "Nguyễn Văn A".into(),
                    ..Default::default()
                }),
            })
            .await;
        match rendered {
            Ok(r) => {
                let r = r.into_inner();
                let path = dir.join(&r.file_name);
                std::fs::write(&path, &r.content)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                written.push(path);
            }
            // Without Chromium there is no PDF; the other formats still stand.
            Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                tracing::warn!(format, message = status.message(), "report not written");
            }
            Err(status) => return Err(status).context(format!("cannot render the {format}")),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenario_is_the_same_every_time_and_spans_three_reporting_months() {
        let a = plan(300);
        let b = plan(300);

        assert_eq!(a, b);
        assert_eq!(a.tasks.len(), 300);
        let months: std::collections::BTreeSet<(i32, u32)> = a
            .tasks
            .iter()
            .map(|t| {
                let d = t.assigned_on;
                // The Decree 09 month a day belongs to: from the 15th it is the next one.
                if d.day() >= 15 {
                    (d.year(), d.month() + 1)
                } else {
                    (d.year(), d.month())
                }
            })
            .collect();
        assert_eq!(
            months.into_iter().collect::<Vec<_>>(),
            [(2026, 9), (2026, 10), (2026, 11)]
        );
        assert!(a.steps.windows(2).all(|w| w[0] <= w[1]), "in day order");
        assert!(a.steps.iter().all(|(d, _)| *d <= last_day()));
        let (unit, tasks) = case_target(&a).expect("a unit to propose discipline for");
        assert!(tasks.len() >= 3, "{unit}: {tasks:?}");
    }

    #[test]
    fn every_kind_of_story_is_in_it() {
        let p = plan(300);
        let count = |f: &dyn Fn(&PlannedTask) -> bool| p.tasks.iter().filter(|t| f(t)).count();

        assert!(count(&|t| t.deadline.is_none()) > 0);
        assert!(count(&|t| matches!(t.fate, Fate::Returned { .. })) > 0);
        assert!(count(&|t| matches!(t.fate, Fate::Extended { .. })) > 0);
        assert!(count(&|t| matches!(t.fate, Fate::Difficulty { directed: None, .. })) > 0);
        assert!(
            count(&|t| matches!(
                t.fate,
                Fate::Difficulty {
                    directed: Some(_),
                    ..
                }
            )) > 0
        );
        assert!(count(&|t| t.origin != pb::OriginKind::CityPeoplesCommittee) > 0);
        assert!(count(&|t| COMMUNES.contains(&t.lead_unit)) > 0);
        let late = count(&|t| match (t.deadline, &t.fate) {
            (Some(due), Fate::Completed { on }) => *on > due,
            _ => false,
        });
        let open_overdue =
            count(&|t| t.fate == Fate::Open && t.deadline.is_some_and(|d| d < last_day()));
        assert!(
            late > 0 && open_overdue > 0,
            "late {late}, overdue {open_overdue}"
        );
        for kind in ["reminder", "criticism", "commendation"] {
            assert!(
                p.steps
                    .iter()
                    .any(|(_, s)| matches!(s, Step::Action(k, _) if *k == kind)),
                "{kind}"
            );
        }
    }
}
