//! The escalation service with the others: deadlines watched in working days, reminders and
//! the ladder issued once each on the expected days, whatever restarts, re-evaluations,
//! extensions, completions, duplicates and delays happen; and the notices reaching people —
//! the gRPC stream, the NATS subject, the mailbox.
//!
//! The expected days are written out by hand from the civil-service calendar: around Tết
//! Dương lịch 2026, Thursday 1 January is the holiday, Friday 2 January a day off moved from
//! Saturday 10 January, which is worked.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use dondoc_escalation::handlers::policy::{POLICY, Rpc};
use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::{Principal, Role};
use dondoc_runtime::clock::Clock as _;
use dondoc_tests::{
    Engine, EscalationClient, SEED_UNITS, TestSystem, assignment_request, request_id,
};
use futures::StreamExt;
use prost::Message as _;
use tonic::Code;

pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// 09:00 in Hải Phòng on `date`.
pub(crate) fn morning(date: NaiveDate) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(7 * 3600)
        .expect("UTC+7")
        .from_local_datetime(&date.and_hms_opt(9, 0, 0).expect("09:00"))
        .single()
        .expect("one instant")
        .with_timezone(&Utc)
}

fn business_day(t: &dondoc_proto::Timestamp) -> NaiveDate {
    DateTime::from_timestamp(t.seconds, 0)
        .expect("an instant")
        .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7"))
        .date_naive()
}

pub(crate) fn unit(code: &str) -> Principal {
    Principal {
        subject: format!("{}-officer", code.to_lowercase()),
        role: Role::Unit,
        unit_code: Some(code.into()),
        leader_id: None,
    }
}

/// Assigns, on the clock's day, a task led by `lead_unit` and due on `deadline`, by
/// Vice-Chairman pct-tran (who supervises SXD and STC) through a document of that day.
pub(crate) async fn assign_due(
    system: &TestSystem,
    title: &str,
    lead_unit: &str,
    deadline: NaiveDate,
) -> String {
    let mut request = assignment_request(title);
    request.lead_unit = lead_unit.into();
    request.coordinating_units = vec!["SNV".into()];
    request.term = Some(pb::assign_task_request::Term::Deadline(
        deadline.to_string(),
    ));
    if let Some(document) = request
        .assignment
        .as_mut()
        .and_then(|a| a.document.as_mut())
    {
        document.date = dondoc_eventsourcing::clock::business_date(system.clock.now()).to_string();
    }
    system
        .client(Role::Office)
        .await
        .assign_task(request)
        .await
        .expect("assign")
        .into_inner()
        .task_id
}

pub(crate) async fn evaluate(client: &mut EscalationClient) -> pb::EvaluateDeadlinesResponse {
    client
        .evaluate_deadlines(pb::EvaluateDeadlinesRequest { as_of: None })
        .await
        .expect("evaluate")
        .into_inner()
}

/// Every notice of a task, in the order issued.
pub(crate) async fn notices_of(system: &TestSystem, task_id: &str) -> Vec<pb::Notification> {
    system
        .escalation_client(Role::Office)
        .await
        .list_notifications(pb::ListNotificationsRequest {
            task_id: task_id.into(),
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .notifications
}

/// The lead unit acknowledges, submits its result, and the Office accepts it, on the clock's
/// day.
pub(crate) async fn complete_task(system: &TestSystem, task_id: &str, unit_code: &str) {
    system.execution_known(task_id).await;
    let mut lead = system.progress_client_as(&unit(unit_code)).await;
    lead.acknowledge_task(pb::AcknowledgeTaskRequest {
        request_id: request_id(),
        task_id: task_id.into(),
        expected_version: 0,
    })
    .await
    .expect("acknowledged");
    let submitted = lead
        .submit_result(pb::SubmitResultRequest {
            request_id: request_id(),
            task_id: task_id.into(),
            summary: "Đã hoàn thành".into(),
            expected_version: 0,
            documents: Vec::new(),
        })
        .await
        .expect("submitted")
        .into_inner();
    system
        .progress_client(Role::Office)
        .await
        .review_result(pb::ReviewResultRequest {
            request_id: request_id(),
            task_id: task_id.into(),
            submission_id: submitted
                .submissions
                .last()
                .expect("one")
                .submission_id
                .clone(),
            accept: true,
            note: String::new(),
            expected_version: 0,
        })
        .await
        .expect("accepted");
}

/// The notices `principal` may see.
async fn notices_seen_by(system: &TestSystem, principal: &Principal) -> Vec<pb::Notification> {
    system
        .escalation_client_as(principal)
        .await
        .list_notifications(pb::ListNotificationsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .notifications
}

/// The leadership actions `principal` may see.
async fn actions_seen_by(system: &TestSystem, principal: &Principal) -> Vec<pb::LeadershipAction> {
    system
        .escalation_client_as(principal)
        .await
        .list_leadership_actions(pb::ListLeadershipActionsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .actions
}

/// (day issued, kind, level, working days) of each notice.
fn issued_days(notices: &[pb::Notification]) -> Vec<(NaiveDate, String, u32, i32)> {
    notices
        .iter()
        .map(|n| {
            (
                business_day(n.issued_at.as_ref().expect("issued_at")),
                n.kind.clone(),
                n.level,
                n.working_days,
            )
        })
        .collect()
}

fn expect(date: NaiveDate, kind: &str, level: u32, days: i32) -> (NaiveDate, String, u32, i32) {
    (date, kind.to_owned(), level, days)
}

/// A system with the escalation service on SQLite, its clock on `start`.
async fn system_on(start: NaiveDate) -> TestSystem {
    system_with(Engine::Sqlite, start)
        .await
        .expect("SQLite is always there")
}

/// As [`system_on`] on `engine`; `None` when PostgreSQL is not configured.
async fn system_with(engine: Engine, start: NaiveDate) -> Option<TestSystem> {
    let mut system = TestSystem::spawn_on(engine).await?;
    system.clock.set(morning(start));
    system.start_escalation().await;
    Some(system)
}

async fn restart(system: &mut TestSystem) {
    if let Some(app) = system.escalation.take() {
        app.stop().await;
    }
    system.start_escalation().await;
}

/// Moves the clock to each day from `from` to `to`, evaluating each morning (twice, the second
/// issuing nothing); `before_evaluating` runs first on each day.
async fn day_by_day(
    system: &mut TestSystem,
    from: NaiveDate,
    to: NaiveDate,
    mut on_day: impl AsyncFnMut(&mut TestSystem, NaiveDate),
) {
    let mut date = from;
    while date <= to {
        system.clock.set(morning(date));
        on_day(system, date).await;
        let mut office = system.escalation_client(Role::Office).await;
        evaluate(&mut office).await;
        let again = evaluate(&mut office).await;
        assert!(
            again.issued.is_empty(),
            "{date}: the same instant evaluated twice issued {:?}",
            again.issued
        );
        date = date.succ_opt().expect("next day");
    }
}

#[tokio::test]
async fn a_deadline_through_a_month_of_holidays_gets_each_notice_once_on_its_working_day() {
    let mut system = system_on(day(2025, 12, 15)).await;
    let task = assign_due(
        &system,
        "Báo cáo tiến độ giải phóng mặt bằng",
        "SXD",
        day(2025, 12, 31),
    )
    .await;
    system
        .watch_when(&task, "the deadline known", |w| w.deadline == "2025-12-31")
        .await;

    // Restarted mid-month, before a day's evaluation and again right after one.
    day_by_day(
        &mut system,
        day(2025, 12, 15),
        day(2026, 1, 20),
        async |system, date| {
            if date == day(2025, 12, 29) || date == day(2026, 1, 9) {
                restart(system).await;
            }
        },
    )
    .await;

    let notices = notices_of(&system, &task).await;
    assert_eq!(
        issued_days(&notices),
        vec![
            // 5 working days before Wednesday 31 December: Christmas Day is worked.
            expect(day(2025, 12, 24), "reminder", 0, 5),
            // 3 before: the weekend of 27–28 December does not count.
            expect(day(2025, 12, 26), "reminder", 0, 3),
            expect(day(2025, 12, 30), "reminder", 0, 1),
            // The working day after: not the holiday of 1 January, not the day off of
            // 2 January, not the weekend.
            expect(day(2026, 1, 5), "overdue", 1, 1),
            // 5 working days overdue: 5, 6, 7, 8, 9 January.
            expect(day(2026, 1, 9), "escalation", 2, 5),
            // 10: Saturday 10 January is worked (it makes up for 2 January), then 12–15.
            expect(day(2026, 1, 15), "escalation", 3, 10),
        ]
    );
    let recipients: Vec<(&str, &str)> = notices
        .iter()
        .map(|n| (n.recipient_unit.as_str(), n.recipient_leader_id.as_str()))
        .collect();
    assert_eq!(
        recipients,
        vec![
            ("SXD", ""),
            ("SXD", ""),
            ("SXD", ""),
            ("SXD", ""),
            ("", "pct-tran"),
            ("", "ct-nguyen"),
        ]
    );
    assert!(
        notices[0].text.contains("còn 5 ngày làm việc"),
        "{}",
        notices[0].text
    );
    assert!(
        notices[0].text.contains("31/12/2025"),
        "{}",
        notices[0].text
    );
    let escalations = system
        .escalation_client(Role::Office)
        .await
        .list_escalations(pb::ListEscalationsRequest {
            min_level: 2,
            lead_unit: String::new(),
        })
        .await
        .expect("escalations")
        .into_inner()
        .notifications;
    assert_eq!(
        escalations.iter().map(|n| n.level).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert!(
        system
            .escalation()
            .verify()
            .await
            .expect("verify")
            .is_intact()
    );
}

#[tokio::test]
async fn days_the_service_was_down_are_made_up_once_when_it_comes_back() {
    days_down_are_made_up_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn days_the_service_was_down_are_made_up_once_on_postgresql_too() {
    days_down_are_made_up_on(Engine::Postgres).await;
}

async fn days_down_are_made_up_on(engine: Engine) {
    let Some(mut system) = system_with(engine, day(2025, 12, 30)).await else {
        return;
    };
    let task = assign_due(&system, "Rà soát hồ sơ đất đai", "SXD", day(2025, 12, 31)).await;
    system
        .watch_when(&task, "the deadline known", |w| w.deadline == "2025-12-31")
        .await;
    let mut office = system.escalation_client(Role::Office).await;
    evaluate(&mut office).await;

    // Down from the evening of 30 December to 7 January, as a crash: the overdue notice
    // fell due on 5 January while nobody was there.
    system.escalation.take().expect("running").kill();
    system.clock.set(morning(day(2026, 1, 7)));
    system.start_escalation().await;
    let mut office = system.escalation_client(Role::Office).await;
    evaluate(&mut office).await;
    evaluate(&mut office).await;

    let notices = notices_of(&system, &task).await;
    let kinds: Vec<(String, u32, String)> = notices
        .iter()
        .map(|n| (n.kind.clone(), n.level, n.due_on.clone()))
        .collect();
    // The task was assigned the day before its deadline: of the reminders only the last
    // could still be useful and it is the only one issued.
    assert_eq!(
        kinds,
        vec![
            ("reminder".to_owned(), 0, "2025-12-30".to_owned()),
            ("overdue".to_owned(), 1, "2026-01-05".to_owned()),
        ]
    );
    assert_eq!(
        business_day(notices[1].issued_at.as_ref().expect("issued")),
        day(2026, 1, 7)
    );
}

#[tokio::test]
async fn an_extension_restarts_the_ladder_from_the_new_deadline_and_completion_closes_the_watch() {
    let mut system = system_on(day(2025, 12, 22)).await;
    system.start_progress().await;
    let task = assign_due(
        &system,
        "Báo cáo giải ngân vốn đầu tư công",
        "SXD",
        day(2025, 12, 31),
    )
    .await;
    system
        .watch_when(&task, "the deadline known", |w| w.deadline == "2025-12-31")
        .await;
    system.execution_known(&task).await;

    day_by_day(
        &mut system,
        day(2025, 12, 22),
        day(2026, 1, 16),
        async |system, date| {
            if date == day(2026, 1, 6) {
                // The Chairman's office records the extension pct-tran approved, asked for on
                // 30 December: the new deadline is Tuesday 20 January.
                system
                    .client(Role::Office)
                    .await
                    .extend_deadline(pb::ExtendDeadlineRequest {
                        request_id: request_id(),
                        task_id: task.clone(),
                        new_deadline: "2026-01-20".into(),
                        reason: "Chờ ý kiến thẩm định của Sở Tài chính".into(),
                        expected_version: 0,
                        requested_on: "2025-12-30".into(),
                        approved_by_leader_id: "pct-tran".into(),
                    })
                    .await
                    .expect("extended");
                system
                    .watch_when(&task, "the new deadline known", |w| {
                        w.deadline == "2026-01-20"
                    })
                    .await;
            }
        },
    )
    .await;

    // Completed on 16 January: accepted by the Office.
    complete_task(&system, &task, "SXD").await;
    system
        .watch_when(&task, "the watch closed", |w| w.state == "closed_completed")
        .await;
    day_by_day(
        &mut system,
        day(2026, 1, 17),
        day(2026, 2, 10),
        async |_, _| {},
    )
    .await;

    assert_eq!(
        issued_days(&notices_of(&system, &task).await),
        vec![
            expect(day(2025, 12, 24), "reminder", 0, 5),
            expect(day(2025, 12, 26), "reminder", 0, 3),
            expect(day(2025, 12, 30), "reminder", 0, 1),
            expect(day(2026, 1, 5), "overdue", 1, 1),
            // From 6 January the deadline is 20 January: no level 2 on 9 January; the
            // reminders of the new deadline — 5 working days before is 13 January, 3 before
            // is 15 January — and nothing after completion on 16 January.
            expect(day(2026, 1, 13), "reminder", 0, 5),
            expect(day(2026, 1, 15), "reminder", 0, 3),
        ]
    );
    let watch = system
        .watch_when(&task, "closed", |w| w.state == "closed_completed")
        .await;
    assert_eq!(watch.next_kind, "");
}

#[tokio::test]
async fn every_event_delivered_again_and_a_late_start_issue_nothing_twice() {
    let mut system = system_on(day(2025, 12, 22)).await;
    system.start_progress().await;
    let task = assign_due(
        &system,
        "Kiểm tra công tác phòng cháy",
        "SXD",
        day(2025, 12, 31),
    )
    .await;
    system.execution_known(&task).await;
    // The unit takes the task and reports a difficulty on 22 December, which nobody directs.
    let mut lead = system.progress_client_as(&unit("SXD")).await;
    lead.acknowledge_task(pb::AcknowledgeTaskRequest {
        request_id: request_id(),
        task_id: task.clone(),
        expected_version: 0,
    })
    .await
    .expect("acknowledged");
    lead.report_difficulty(pb::ReportDifficultyRequest {
        request_id: request_id(),
        task_id: task.clone(),
        description: "Thiếu kinh phí thuê đơn vị tư vấn".into(),
        proposed_solution: "Đề nghị bổ sung dự toán".into(),
        expected_version: 0,
    })
    .await
    .expect("difficulty reported");
    system
        .watch_when(&task, "the deadline known", |w| w.deadline == "2025-12-31")
        .await;
    day_by_day(
        &mut system,
        day(2025, 12, 22),
        day(2026, 1, 5),
        async |_, _| {},
    )
    .await;
    let before = notices_of(&system, &task).await;
    let applied = (
        system.escalation().assignment_facts().stats().applied,
        system.escalation().execution_facts().stats().applied,
    );

    // JetStream forgets what it delivered (the durables are lost): every event of both
    // streams arrives a second time.
    let js = async_nats::jetstream::new(
        async_nats::connect(system.nats.url())
            .await
            .expect("connect"),
    );
    for (stream, durable) in [
        ("DONDOC_ASSIGNMENT", "escalation-assignment-facts-v1"),
        ("DONDOC_PROGRESS", "escalation-execution-facts-v1"),
    ] {
        js.get_stream(stream)
            .await
            .expect("stream")
            .delete_consumer(durable)
            .await
            .expect("delete the durable consumer");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while system.escalation().assignment_facts().stats().duplicates < applied.0
        || system.escalation().execution_facts().stats().duplicates < applied.1
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "events never came again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut office = system.escalation_client(Role::Office).await;
    assert!(evaluate(&mut office).await.issued.is_empty());
    assert_eq!(notices_of(&system, &task).await, before);

    let expected: BTreeSet<(String, String)> = before
        .iter()
        .map(|n| (n.kind.clone(), n.due_on.clone()))
        .collect();
    assert!(
        expected.contains(&("difficulty".to_owned(), "2025-12-25".to_owned())),
        "the difficulty reported on 22 December went to the assigning leader 3 working days \
         later: {expected:?}"
    );

    // Restarted with its facts rebuilt: both streams are read again from the start at once,
    // interleaving as they may, and the same notices stand, none issued again.
    restart(&mut system).await;
    system
        .escalation()
        .rebuild_projections()
        .await
        .expect("rebuild");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let escalation = system.escalation();
        // Until a consumer has made its durable again, its backlog is unknown.
        let assignment_backlog = escalation.assignment_facts().backlog().await.ok();
        let execution_backlog = escalation.execution_facts().backlog().await.ok();
        if assignment_backlog == Some(0)
            && execution_backlog == Some(0)
            && escalation.assignment_facts().stats().applied >= applied.0
            && escalation.execution_facts().stats().applied >= applied.1
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "facts never rebuilt"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut office = system.escalation_client(Role::Office).await;
    assert!(evaluate(&mut office).await.issued.is_empty());
    assert_eq!(notices_of(&system, &task).await, before);
}

#[tokio::test]
async fn a_reminder_reaches_its_unit_on_the_stream_on_nats_and_in_the_mailbox_in_vietnamese() {
    let sink = dondoc_tests::smtp::SmtpSink::start().await;
    // The directory with the Department of Construction's address.
    let units = SEED_UNITS.replace(
        "code = \"SXD\"\n",
        "code = \"SXD\"\nemail = \"sxd@example.haiphong.gov.vn\"\n",
    );
    let mut system = TestSystem::spawn_with_units(Engine::Sqlite, &units)
        .await
        .expect("sqlite");
    system.clock.set(morning(day(2025, 12, 15)));
    system
        .start_escalation_with(Some(
            toml::from_str(&format!(
                "host = \"127.0.0.1\"\nport = {}\nfrom = \"Văn phòng UBND thành phố \
                 <vanphong@example.haiphong.gov.vn>\"\nstarttls = false\nmax_attempts = 3\n\
                 retry_backoff = \"100ms\"\n",
                sink.port
            ))
            .expect("smtp settings"),
        ))
        .await;
    let nats = async_nats::connect(system.nats.url())
        .await
        .expect("connect");
    let mut sxd_subject = nats
        .subscribe("dondoc.notify.unit.SXD")
        .await
        .expect("subscribe");
    let mut sxd_stream = system
        .escalation_client_as(&unit("SXD"))
        .await
        .watch_notifications(pb::WatchNotificationsRequest { after_cursor: 0 })
        .await
        .expect("SXD watches")
        .into_inner();
    let mut stc_stream = system
        .escalation_client_as(&unit("STC"))
        .await
        .watch_notifications(pb::WatchNotificationsRequest { after_cursor: 0 })
        .await
        .expect("STC watches")
        .into_inner();
    let title = "Đôn đốc giải phóng mặt bằng dự án đường ven biển";
    let sxd_task = assign_due(&system, title, "SXD", day(2025, 12, 31)).await;
    // Finance's own task falls due a week later: its first reminder comes after SXD's.
    let stc_task = assign_due(&system, "Thẩm định dự toán", "STC", day(2026, 1, 9)).await;
    system
        .watch_when(&sxd_task, "known", |w| w.deadline == "2025-12-31")
        .await;
    system
        .watch_when(&stc_task, "known", |w| w.deadline == "2026-01-09")
        .await;

    system.clock.set(morning(day(2025, 12, 24)));
    let mut office = system.escalation_client(Role::Office).await;
    let issued = evaluate(&mut office).await.issued;
    assert_eq!(issued.len(), 1, "{issued:?}");

    let seen = tokio::time::timeout(Duration::from_secs(30), sxd_stream.next())
        .await
        .expect("SXD's stream delivers")
        .expect("an item")
        .expect("a notification");
    assert_eq!(seen.task_id, sxd_task);
    assert_eq!(seen.kind, "reminder");
    let on_nats = tokio::time::timeout(Duration::from_secs(30), sxd_subject.next())
        .await
        .expect("the subject receives")
        .expect("a message");
    let on_nats = pb::Notification::decode(on_nats.payload).expect("a Notification");
    assert_eq!(on_nats.notice_id, seen.notice_id);

    // Finance's first notice is its own: SXD's reminder never reached it.
    system.clock.set(morning(day(2026, 1, 2)));
    evaluate(&mut office).await;
    let stc_first = tokio::time::timeout(Duration::from_secs(30), stc_stream.next())
        .await
        .expect("STC's stream delivers")
        .expect("an item")
        .expect("a notification");
    assert_eq!(stc_first.task_id, stc_task);
    assert_eq!(stc_first.recipient_unit, "STC");

    // SXD's client comes back after its first notice: it resumes from there.
    let mut resumed = system
        .escalation_client_as(&unit("SXD"))
        .await
        .watch_notifications(pb::WatchNotificationsRequest {
            after_cursor: seen.cursor,
        })
        .await
        .expect("SXD resumes")
        .into_inner();
    let next = tokio::time::timeout(Duration::from_secs(30), resumed.next())
        .await
        .expect("the resumed stream delivers")
        .expect("an item")
        .expect("a notification");
    assert!(next.cursor > seen.cursor);
    assert_eq!(
        (next.task_id.as_str(), next.working_days),
        (sxd_task.as_str(), 3)
    );

    let mail = sink
        .messages_when("SXD's reminder", |m| !m.is_empty())
        .await;
    let reminder = &mail[0];
    assert_eq!(reminder.rcpt_tos, vec!["sxd@example.haiphong.gov.vn"]);
    assert_eq!(reminder.subject, format!("[Đôn đốc] Nhắc hạn: {title}"));
    assert_eq!(reminder.charset.as_deref(), Some("utf-8"));
    assert!(reminder.to.contains("Sở Xây dựng"), "{}", reminder.to);
    assert!(
        reminder.body.starts_with("Kính gửi: Sở Xây dựng,"),
        "{}",
        reminder.body
    );
    assert!(
        reminder.body.contains(&format!(
            "Nhắc hạn: nhiệm vụ «{title}» do Sở Xây dựng chủ trì có thời hạn hoàn thành ngày \
             31/12/2025, còn 5 ngày làm việc."
        )),
        "{}",
        reminder.body
    );
    // The delivery is recorded; Finance has no address in the directory, which is recorded too.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let sxd = notices_of(&system, &sxd_task).await;
        let stc = notices_of(&system, &stc_task).await;
        if sxd.first().is_some_and(|n| n.email_status == "sent")
            && stc.first().is_some_and(|n| n.email_status == "failed")
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{sxd:?} {stc:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Every e-mail went to SXD: Finance has no address to write to.
    let sxd_notices = notices_of(&system, &sxd_task).await;
    let mail = sink
        .messages_when("every SXD notice mailed", |m| m.len() == sxd_notices.len())
        .await;
    assert!(
        mail.iter()
            .all(|m| m.rcpt_tos == vec!["sxd@example.haiphong.gov.vn".to_owned()]),
        "{mail:?}"
    );
}

/// Calls `rpc` with a request that is valid but for the caller's rights.
async fn call(client: &mut EscalationClient, rpc: Rpc, task_id: &str) -> Result<(), tonic::Status> {
    match rpc {
        Rpc::EvaluateDeadlines => client
            .evaluate_deadlines(pb::EvaluateDeadlinesRequest { as_of: None })
            .await
            .map(drop),
        Rpc::WatchNotifications => client
            .watch_notifications(pb::WatchNotificationsRequest { after_cursor: 0 })
            .await
            .map(drop),
        Rpc::ListNotifications => client
            .list_notifications(pb::ListNotificationsRequest::default())
            .await
            .map(drop),
        Rpc::ListEscalations => client
            .list_escalations(pb::ListEscalationsRequest::default())
            .await
            .map(drop),
        Rpc::GetWatch => match client
            .get_watch(pb::GetWatchRequest {
                task_id: task_id.to_owned(),
            })
            .await
        {
            // Another unit's task is not found for a unit: not a denial of the RPC.
            Err(status) if status.code() == Code::NotFound => Ok(()),
            other => other.map(drop),
        },
        Rpc::RecordLeadershipAction => client
            .record_leadership_action(pb::RecordLeadershipActionRequest {
                request_id: request_id(),
                kind: "commendation".into(),
                leader_id: "ct-nguyen".into(),
                units: vec!["SXD".into()],
                task_ids: Vec::new(),
                document: Some(pb::SourceDocument {
                    number: "7".into(),
                    symbol: "QĐ-UBND".into(),
                    date: "2025-12-20".into(),
                    summary: "Biểu dương Sở Xây dựng".into(),
                }),
                note: String::new(),
            })
            .await
            .map(drop)
            // A leader may record only their own actions: the field is refused, not the RPC.
            .or_else(|status| match status.code() {
                Code::InvalidArgument => Ok(()),
                _ => Err(status),
            }),
        Rpc::ListLeadershipActions => client
            .list_leadership_actions(pb::ListLeadershipActionsRequest::default())
            .await
            .map(drop),
    }
}

#[tokio::test]
async fn each_role_calls_what_the_table_allows_and_a_unit_sees_only_its_own() {
    let system = system_on(day(2025, 12, 15)).await;
    let task = assign_due(&system, "Báo cáo chuyên đề", "SXD", day(2025, 12, 31)).await;
    system
        .watch_when(&task, "known", |w| w.deadline == "2025-12-31")
        .await;
    system.clock.set(morning(day(2025, 12, 24)));

    // Every RPC by every role: refused exactly when the table says so, and a refusal writes
    // nothing.
    let mut wrong = Vec::new();
    for rpc in Rpc::ALL {
        for role in Role::ALL {
            let mut client = system.escalation_client(role).await;
            let head_before = system
                .escalation()
                .store()
                .head_position()
                .await
                .expect("head");

            let result = call(&mut client, rpc, &task).await;

            let denied = matches!(&result, Err(status) if status.code() == Code::PermissionDenied);
            let allowed = POLICY
                .iter()
                .any(|(r, roles)| *r == rpc && roles.contains(&role));
            if denied == allowed {
                wrong.push(format!("{rpc:?} by {role:?}: {result:?}"));
            }
            let head_after = system
                .escalation()
                .store()
                .head_position()
                .await
                .expect("head");
            if denied && head_after != head_before {
                wrong.push(format!("{rpc:?} by {role:?} was denied but wrote events"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "access table violated:\n{}",
        wrong.join("\n")
    );

    let action = pb::RecordLeadershipActionRequest {
        request_id: request_id(),
        kind: "criticism".into(),
        leader_id: String::new(),
        units: vec!["SXD".into()],
        task_ids: vec![task.clone()],
        document: Some(pb::SourceDocument {
            number: "125".into(),
            symbol: "TB-UBND".into(),
            date: "2025-12-24".into(),
            summary: "Phê bình Sở Xây dựng chậm triển khai nhiệm vụ".into(),
        }),
        note: String::new(),
    };
    for role in Role::ALL {
        let mut request = action.clone();
        request.request_id = request_id();
        if role != Role::Leader {
            request.leader_id = "ct-nguyen".into();
        }
        let result = system
            .escalation_client(role)
            .await
            .record_leadership_action(request)
            .await;
        assert_eq!(
            result.is_ok(),
            matches!(role, Role::Office | Role::Leader),
            "{role:?}: {result:?}"
        );
    }
    // Bad input names the field and records nothing.
    let mut bad = action.clone();
    bad.request_id = request_id();
    bad.kind = "khen".into();
    bad.leader_id = "ct-nguyen".into();
    bad.document = None;
    let refused = system
        .escalation_client(Role::Office)
        .await
        .record_leadership_action(bad)
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    for field in ["kind", "document.number", "document.date"] {
        assert!(
            refused.message().contains(field),
            "{field}: {}",
            refused.message()
        );
    }
    let actions = actions_seen_by(&system, &unit("SXD")).await;
    let criticisms = actions.iter().filter(|a| a.kind == "criticism").count();
    assert_eq!(criticisms, 2, "the Office's and the leader's: {actions:?}");
    assert!(actions_seen_by(&system, &unit("STC")).await.is_empty());

    // Another unit neither sees the notices nor the watch.
    let stc = notices_seen_by(&system, &unit("STC")).await;
    assert!(stc.is_empty(), "{stc:?}");
    let watch = system
        .escalation_client_as(&unit("STC"))
        .await
        .get_watch(pb::GetWatchRequest {
            task_id: task.clone(),
        })
        .await
        .expect_err("not theirs");
    assert_eq!(watch.code(), Code::NotFound);
    assert_eq!(notices_seen_by(&system, &unit("SXD")).await.len(), 1);
}

#[tokio::test]
async fn a_task_whose_events_arrive_in_reverse_order_is_watched_as_if_they_had_not() {
    let system = system_on(day(2025, 12, 22)).await;
    let task = assign_due(&system, "Tổng hợp báo cáo quý", "SXD", day(2025, 12, 31)).await;
    system
        .client(Role::Office)
        .await
        .extend_deadline(pb::ExtendDeadlineRequest {
            request_id: request_id(),
            task_id: task.clone(),
            new_deadline: "2026-01-20".into(),
            reason: "Chờ số liệu quyết toán".into(),
            expected_version: 0,
            requested_on: "2025-12-22".into(),
            approved_by_leader_id: "pct-tran".into(),
        })
        .await
        .expect("extended");
    let original = system
        .watch_when(&task, "extended", |w| w.deadline == "2026-01-20")
        .await;
    let parked_before = system.escalation().assignment_facts().stats().parked;

    // The same task's events again, as another task's, with new ids, published newest first:
    // the extension reaches the escalation service before the assignment it extends.
    let js = async_nats::jetstream::new(
        async_nats::connect(system.nats.url())
            .await
            .expect("connect"),
    );
    let log = system
        .assignment()
        .store()
        .read_all_stored(0, 1000)
        .await
        .expect("log");
    let events: Vec<_> = log
        .iter()
        .filter(|e| e.stream_type == "task" && e.stream_id == task)
        .collect();
    assert!(events.len() >= 2, "{events:?}");
    let copy = format!("{task}-copy");
    for event in events.iter().rev() {
        let mut again = (*event).clone();
        again.stream_id = copy.clone();
        again.event_id = uuid::Uuid::now_v7();
        let message = async_nats::jetstream::message::PublishMessage::build()
            .payload(prost::Message::encode_to_vec(&again.to_envelope()).into())
            .message_id(again.event_id.to_string());
        js.send_publish(
            dondoc_eventsourcing::relay::subject_for("dondoc.assignment", &again),
            message,
        )
        .await
        .expect("publish")
        .await
        .expect("stored");
    }
    let watched = system
        .watch_when(&copy, "the copy watched", |w| w.deadline == "2026-01-20")
        .await;
    system.clock.set(morning(day(2026, 1, 15)));
    let mut office = system.escalation_client(Role::Office).await;
    evaluate(&mut office).await;

    assert!(
        system.escalation().assignment_facts().stats().parked > parked_before,
        "the early events waited for their predecessor"
    );
    assert_eq!(
        (&watched.lead_unit, &watched.deadline, &watched.state),
        (&original.lead_unit, &original.deadline, &original.state)
    );
    let kinds = |notices: Vec<pb::Notification>| -> Vec<(String, String)> {
        notices.into_iter().map(|n| (n.kind, n.due_on)).collect()
    };
    let of_copy = kinds(notices_of(&system, &copy).await);
    assert_eq!(of_copy, kinds(notices_of(&system, &task).await));
    // Only the reminders of the deadline in force: 5 and 3 working days before 20 January.
    assert_eq!(
        of_copy,
        vec![
            ("reminder".to_owned(), "2026-01-13".to_owned()),
            ("reminder".to_owned(), "2026-01-15".to_owned()),
        ]
    );
}

#[tokio::test]
async fn an_unreachable_mail_server_is_retried_and_the_failure_recorded() {
    let units = SEED_UNITS.replace(
        "code = \"SXD\"\n",
        "code = \"SXD\"\nemail = \"sxd@example.haiphong.gov.vn\"\n",
    );
    let mut system = TestSystem::spawn_with_units(Engine::Sqlite, &units)
        .await
        .expect("sqlite");
    system.clock.set(morning(day(2025, 12, 15)));
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    system
        .start_escalation_with(Some(
            toml::from_str(&format!(
                "host = \"127.0.0.1\"\nport = {closed}\nfrom = \"vanphong@example.haiphong.gov.vn\"\n\
                 starttls = false\nmax_attempts = 3\nretry_backoff = \"10ms\"\n"
            ))
            .expect("smtp settings"),
        ))
        .await;
    let task = assign_due(&system, "Báo cáo nhanh", "SXD", day(2025, 12, 31)).await;
    system
        .watch_when(&task, "known", |w| w.deadline == "2025-12-31")
        .await;
    system.clock.set(morning(day(2025, 12, 24)));
    evaluate(&mut system.escalation_client(Role::Office).await).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while notices_of(&system, &task)
        .await
        .first()
        .is_none_or(|n| n.email_status != "failed")
    {
        assert!(tokio::time::Instant::now() < deadline, "never recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = system
        .escalation()
        .store()
        .read_all_stored(0, 100)
        .await
        .expect("log");
    let failed: Vec<pb::NoticeDeliveryFailed> = log
        .iter()
        .filter(|e| e.event_type == "dondoc.escalation.notice_delivery_failed")
        .map(|e| pb::NoticeDeliveryFailed::decode(e.payload.as_slice()).expect("payload"))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].attempts, 3);
    assert_eq!(failed[0].address, "sxd@example.haiphong.gov.vn");
    assert!(!failed[0].error.is_empty());
}
