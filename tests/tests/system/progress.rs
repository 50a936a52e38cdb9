//! The progress service with the others: a task assigned in the assignment service is carried
//! out in the progress service — receipt, progress, coordination, difficulties and direction,
//! result and review — through gRPC, with the task learnt over NATS.

use dondoc_progress::handlers::policy::Rpc;
use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::{Principal, Role};
use dondoc_tests::{Engine, TestSystem, assignment_request, request_id};
use tonic::Code;
use tonic_types::StatusExt;

/// A system with the progress service and one task assigned by Vice-Chairman pct-tran to the
/// Department of Construction (SXD), Finance (STC) coordinating, due 2026-12-31.
async fn a_task_in_progress_service() -> (TestSystem, String) {
    a_task_in_progress_service_on(Engine::Sqlite)
        .await
        .expect("SQLite is always there")
}

/// As [`a_task_in_progress_service`] on `engine`; `None` when PostgreSQL is not configured.
async fn a_task_in_progress_service_on(engine: Engine) -> Option<(TestSystem, String)> {
    let mut system = TestSystem::spawn_on(engine).await?;
    system.start_progress().await;
    let task = system
        .client(Role::Office)
        .await
        .assign_task(assignment_request("Báo cáo tiến độ giải phóng mặt bằng"))
        .await
        .expect("assign")
        .into_inner();
    system.execution_known(&task.task_id).await;
    Some((system, task.task_id))
}

fn unit(system: &TestSystem, code: &str) -> Principal {
    system.principal_for_unit(code)
}

fn leader(id: &str) -> Principal {
    Principal {
        subject: id.into(),
        role: Role::Leader,
        unit_code: None,
        leader_id: Some(id.into()),
    }
}

fn reason_of(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

async fn acknowledge(system: &TestSystem, task_id: &str) -> pb::Execution {
    system
        .progress_client_as(&unit(system, "SXD"))
        .await
        .acknowledge_task(pb::AcknowledgeTaskRequest {
            request_id: request_id(),
            task_id: task_id.into(),
            expected_version: 0,
        })
        .await
        .expect("the lead unit acknowledges")
        .into_inner()
}

async fn submit(system: &TestSystem, task_id: &str) -> Result<pb::Execution, tonic::Status> {
    system
        .progress_client_as(&unit(system, "SXD"))
        .await
        .submit_result(pb::SubmitResultRequest {
            request_id: request_id(),
            task_id: task_id.into(),
            summary: "Đã hoàn thành giải phóng mặt bằng 12/12 hộ".into(),
            expected_version: 0,
            documents: Vec::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn review(
    system: &TestSystem,
    task_id: &str,
    submission_id: &str,
    accept: bool,
) -> pb::Execution {
    system
        .progress_client(Role::Office)
        .await
        .review_result(pb::ReviewResultRequest {
            request_id: request_id(),
            task_id: task_id.into(),
            submission_id: submission_id.into(),
            accept,
            note: if accept {
                String::new()
            } else {
                "Bổ sung biên bản bàn giao mặt bằng".into()
            },
            expected_version: 0,
        })
        .await
        .expect("the Office reviews")
        .into_inner()
}

fn last_submission(execution: &pb::Execution) -> String {
    execution
        .submissions
        .last()
        .expect("a submission")
        .submission_id
        .clone()
}

#[tokio::test]
async fn a_task_goes_from_receipt_through_coordination_to_completion_on_time() {
    let (system, task_id) = a_task_in_progress_service().await;
    goes_through_to_completion(system, task_id).await;
}

#[tokio::test]
async fn a_task_goes_through_to_completion_on_postgres_too() {
    let Some((system, task_id)) = a_task_in_progress_service_on(Engine::Postgres).await else {
        return;
    };
    goes_through_to_completion(system, task_id).await;
}

/// Receipt, progress, a coordination reply, the result accepted: completed on time in the
/// progress service, on the board and in GetTask / ListTasks.
async fn goes_through_to_completion(system: TestSystem, task_id: String) {
    let mut lead = system.progress_client_as(&unit(&system, "SXD")).await;

    let acknowledged = acknowledge(&system, &task_id).await;
    assert_eq!(acknowledged.status, pb::TaskStatus::InProgress as i32);
    let reported = lead
        .report_progress(pb::ReportProgressRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            percent: 40,
            narrative: "Đã kiểm đếm 40% số hộ".into(),
            expected_version: 0,
            documents: Vec::new(),
        })
        .await
        .expect("progress")
        .into_inner();
    assert_eq!(reported.percent, 40);
    let asked = lead
        .request_coordination(pb::RequestCoordinationRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            unit: "STC".into(),
            request: "Cho ý kiến về nguồn kinh phí bồi thường".into(),
            reply_due: "2026-12-05".into(),
            expected_version: 0,
        })
        .await
        .expect("coordination requested")
        .into_inner();
    let coordination_id = asked.coordinations[0].coordination_id.clone();
    let replied = system
        .progress_client_as(&unit(&system, "STC"))
        .await
        .submit_coordination(pb::SubmitCoordinationRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            coordination_id,
            reply: "Thống nhất bố trí từ ngân sách thành phố".into(),
            expected_version: 0,
        })
        .await
        .expect("the coordinating unit replies")
        .into_inner();
    assert_eq!(
        replied.coordinations[0].state,
        pb::CoordinationState::Answered as i32
    );
    let submitted = submit(&system, &task_id).await.expect("submits");
    assert_eq!(
        submitted.status,
        pb::TaskStatus::AwaitingConfirmation as i32
    );

    let completed = review(&system, &task_id, &last_submission(&submitted), true).await;

    assert_eq!(completed.status, pb::TaskStatus::Completed as i32);
    assert_eq!(completed.timeliness, pb::Timeliness::OnTime as i32);
    assert_eq!(completed.percent, 100);
    assert_eq!(completed.submissions[0].deadline_then, "2026-12-31");
    let read_again = system.execution_known(&task_id).await;
    assert_eq!(read_again, completed);
    let board = system
        .board_when("the task completed on the board", |board| {
            board
                .rows
                .iter()
                .any(|row| row.unit == "SXD" && row.status == pb::TaskStatus::Completed as i32)
        })
        .await;
    assert_eq!(board.total_tasks, 1);
    let task = task_when(&system, &task_id, pb::TaskStatus::Completed).await;
    assert_eq!(task.status, pb::TaskStatus::Completed as i32);
    let listed = system
        .client(Role::Office)
        .await
        .list_tasks(pb::ListTasksRequest {
            status: pb::TaskStatus::Completed as i32,
            ..Default::default()
        })
        .await
        .expect("lists")
        .into_inner();
    assert_eq!(listed.tasks.len(), 1);
}

/// Polls GetTask (what the progress service sends crosses NATS) until `done` holds.
async fn task_until(
    system: &TestSystem,
    task_id: &str,
    what: &str,
    done: impl Fn(&pb::Task) -> bool,
) -> pb::Task {
    let mut client = system.client(Role::Office).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let task = client
            .get_task(pb::GetTaskRequest {
                task_id: task_id.to_owned(),
            })
            .await
            .expect("GetTask")
            .into_inner();
        if done(&task) {
            return task;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task {task_id}: timed out waiting for {what}; last seen {task:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Polls GetTask until the task shows `status`.
async fn task_when(system: &TestSystem, task_id: &str, status: pb::TaskStatus) -> pb::Task {
    task_until(system, task_id, &format!("{status:?}"), |t| {
        t.status == status as i32
    })
    .await
}

#[tokio::test]
async fn a_difficulty_without_direction_blocks_the_result_until_the_leader_directs() {
    let (system, task_id) = a_task_in_progress_service().await;
    acknowledge(&system, &task_id).await;
    let with_difficulty = system
        .progress_client_as(&unit(&system, "SXD"))
        .await
        .report_difficulty(pb::ReportDifficultyRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            description: "Chưa có bảng giá đất điều chỉnh".into(),
            proposed_solution: "Đề nghị áp dụng bảng giá năm 2026".into(),
            expected_version: 0,
        })
        .await
        .expect("difficulty reported")
        .into_inner();
    let difficulty_id = with_difficulty.difficulties[0].difficulty_id.clone();

    let refused = submit(&system, &task_id)
        .await
        .expect_err("a difficulty awaits direction");

    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&refused), "DIFFICULTY_AWAITING_DIRECTION");
    let violation = refused
        .get_error_details()
        .precondition_failure()
        .expect("precondition failure")
        .violations[0]
        .clone();
    assert_eq!(violation.subject, format!("difficulty/{difficulty_id}"));

    let another_leader = system
        .progress_client_as(&leader("pct-hoang"))
        .await
        .give_direction(pb::GiveDirectionRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            difficulty_id: difficulty_id.clone(),
            direction: "Áp dụng bảng giá năm 2026".into(),
            expected_version: 0,
        })
        .await
        .expect_err("a Vice-Chairman who did not assign the task does not direct it");
    assert_eq!(another_leader.code(), Code::PermissionDenied);
    system
        .progress_client_as(&leader("pct-tran"))
        .await
        .give_direction(pb::GiveDirectionRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            difficulty_id,
            direction: "Áp dụng bảng giá năm 2026".into(),
            expected_version: 0,
        })
        .await
        .expect("the assigning leader directs");

    let submitted = submit(&system, &task_id).await.expect("now it submits");
    assert_eq!(
        submitted.status,
        pb::TaskStatus::AwaitingConfirmation as i32
    );
}

#[tokio::test]
async fn a_returned_result_resubmitted_after_the_deadline_completes_late() {
    let (system, task_id) = a_task_in_progress_service().await;
    acknowledge(&system, &task_id).await;
    let first = submit(&system, &task_id).await.expect("submits");
    let returned = review(&system, &task_id, &last_submission(&first), false).await;
    assert_eq!(returned.status, pb::TaskStatus::ReturnedForRework as i32);
    task_when(&system, &task_id, pb::TaskStatus::ReturnedForRework).await;

    // Rework takes until Thursday 7 January 2027, past the deadline of Thursday 31 December
    // 2026: seven calendar days, but New Year's Day and a weekend are not working days.
    system.clock.advance(chrono::Duration::days(40));
    let again = submit(&system, &task_id).await.expect("resubmits");
    let completed = review(&system, &task_id, &last_submission(&again), true).await;

    assert_eq!(completed.status, pb::TaskStatus::Completed as i32);
    assert_eq!(completed.timeliness, pb::Timeliness::Late as i32);
    // 4, 5, 6 and 7 January.
    assert_eq!(completed.days_late, 4);
}

#[tokio::test]
async fn an_approved_extension_moves_the_deadline_the_result_is_judged_against() {
    let (system, task_id) = a_task_in_progress_service().await;
    acknowledge(&system, &task_id).await;
    system
        .client(Role::Office)
        .await
        .extend_deadline(pb::ExtendDeadlineRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            new_deadline: "2027-01-15".into(),
            reason: "Chờ số liệu của Bộ Tài chính".into(),
            expected_version: 0,
            requested_on: "2026-11-28".into(),
            approved_by_leader_id: "pct-tran".into(),
        })
        .await
        .expect("extended");
    system
        .execution_when(&task_id, "the extension arrives", |e| {
            e.task.as_ref().is_some_and(|t| t.deadline == "2027-01-15")
        })
        .await;

    system.clock.advance(chrono::Duration::days(36));
    let submitted = submit(&system, &task_id).await.expect("submits");
    let completed = review(&system, &task_id, &last_submission(&submitted), true).await;

    assert_eq!(completed.submissions[0].deadline_then, "2027-01-15");
    assert_eq!(completed.timeliness, pb::Timeliness::OnTime as i32);
}

#[tokio::test]
async fn a_coordinating_units_silence_past_the_reply_date_is_recorded_as_agreement_once() {
    let (system, task_id) = a_task_in_progress_service().await;
    acknowledge(&system, &task_id).await;
    system
        .progress_client_as(&unit(&system, "SXD"))
        .await
        .request_coordination(pb::RequestCoordinationRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            unit: "STC".into(),
            request: "Cho ý kiến về nguồn kinh phí".into(),
            reply_due: "2026-11-30".into(),
            expected_version: 0,
        })
        .await
        .expect("coordination requested");
    let mut office = system.progress_client(Role::Office).await;
    let on_the_reply_date = office
        .evaluate_reply_deadlines(pb::EvaluateReplyDeadlinesRequest {
            as_of: "2026-11-30T16:00:00Z".into(),
        })
        .await
        .expect("evaluates")
        .into_inner();
    assert_eq!(on_the_reply_date.deemed_agreed, 0);

    let after = office
        .evaluate_reply_deadlines(pb::EvaluateReplyDeadlinesRequest {
            as_of: "2026-12-01T02:00:00Z".into(),
        })
        .await
        .expect("evaluates")
        .into_inner();
    let again = office
        .evaluate_reply_deadlines(pb::EvaluateReplyDeadlinesRequest {
            as_of: "2026-12-01T02:00:00Z".into(),
        })
        .await
        .expect("evaluates again")
        .into_inner();

    assert_eq!(after.deemed_agreed, 1);
    assert_eq!(again.deemed_agreed, 0);
    let execution = system.execution_known(&task_id).await;
    assert_eq!(
        execution.coordinations[0].state,
        pb::CoordinationState::DeemedAgreed as i32
    );
    assert_eq!(execution.coordinations[0].settled_on, "2026-12-01");
}

#[tokio::test]
async fn a_hand_off_attempt_is_refused_and_recorded_once_per_request() {
    let (system, task_id) = a_task_in_progress_service().await;
    let mut lead = system.progress_client_as(&unit(&system, "SXD")).await;
    let attempt = pb::RequestHandOffRequest {
        request_id: request_id(),
        task_id: task_id.clone(),
        requested_unit: "STC".into(),
        reason: "Nội dung thuộc lĩnh vực tài chính".into(),
    };

    let refused = lead
        .request_hand_off(attempt.clone())
        .await
        .expect_err("refused");
    let retried = lead.request_hand_off(attempt).await.expect_err("refused");

    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&refused), "LEAD_UNIT_HAND_OFF");
    assert_eq!(reason_of(&retried), "LEAD_UNIT_HAND_OFF");
    assert_eq!(system.execution_known(&task_id).await.refused_hand_offs, 1);
    // The task in the assignment service shows the same evidence, once, with who tried.
    let task = task_until(&system, &task_id, "the attempt on the task", |t| {
        !t.refused_hand_offs.is_empty()
    })
    .await;
    assert_eq!(task.refused_hand_offs.len(), 1);
    assert_eq!(task.refused_hand_offs[0].requested_lead_unit, "STC");
    assert_eq!(task.refused_hand_offs[0].attempted_by, "sxd-officer");
}

#[tokio::test]
async fn only_the_lead_unit_works_on_its_task_and_a_refusal_writes_nothing() {
    let (system, task_id) = a_task_in_progress_service().await;
    let head_before = system
        .progress()
        .store()
        .head_position()
        .await
        .expect("head");

    let other_unit = system
        .progress_client_as(&unit(&system, "STP"))
        .await
        .acknowledge_task(pb::AcknowledgeTaskRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            expected_version: 0,
        })
        .await
        .expect_err("another unit");
    let office = system
        .progress_client(Role::Office)
        .await
        .acknowledge_task(pb::AcknowledgeTaskRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            expected_version: 0,
        })
        .await
        .expect_err("the Office does not acknowledge for the unit");
    let invalid = system
        .progress_client_as(&unit(&system, "SXD"))
        .await
        .report_progress(pb::ReportProgressRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            percent: 140,
            narrative: "   ".into(),
            expected_version: 0,
            documents: Vec::new(),
        })
        .await
        .expect_err("invalid");
    let other_reads = system
        .progress_client_as(&unit(&system, "STP"))
        .await
        .get_execution(pb::GetExecutionRequest {
            task_id: task_id.clone(),
        })
        .await
        .expect_err("another unit does not read it");

    assert_eq!(other_unit.code(), Code::PermissionDenied);
    assert_eq!(reason_of(&other_unit), "NOT_THE_LEAD_UNIT");
    assert_eq!(office.code(), Code::PermissionDenied);
    assert_eq!(invalid.code(), Code::InvalidArgument);
    let fields: Vec<String> = invalid
        .get_error_details()
        .bad_request()
        .expect("bad request")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    assert_eq!(fields, ["percent", "narrative"]);
    assert_eq!(other_reads.code(), Code::PermissionDenied);
    assert_eq!(
        system
            .progress()
            .store()
            .head_position()
            .await
            .expect("head"),
        head_before
    );
}

#[tokio::test]
async fn executions_are_listed_by_what_awaits_whom() {
    let (system, task_id) = a_task_in_progress_service().await;
    acknowledge(&system, &task_id).await;
    submit(&system, &task_id).await.expect("submits");
    let untouched = system
        .client(Role::Office)
        .await
        .assign_task(assignment_request("Rà soát hồ sơ đất đai"))
        .await
        .expect("assign")
        .into_inner();
    system.execution_known(&untouched.task_id).await;
    let mut office = system.progress_client(Role::Office).await;

    let awaiting_review = office
        .list_executions(pb::ListExecutionsRequest {
            awaiting_review: true,
            ..Default::default()
        })
        .await
        .expect("lists")
        .into_inner();
    let assigned = office
        .list_executions(pb::ListExecutionsRequest {
            status: pb::TaskStatus::Assigned as i32,
            lead_unit: "sxd".into(),
            ..Default::default()
        })
        .await
        .expect("lists")
        .into_inner();

    let ids = |page: &pb::ListExecutionsResponse| -> Vec<String> {
        page.executions.iter().map(|e| e.task_id.clone()).collect()
    };
    assert_eq!(ids(&awaiting_review), [task_id]);
    assert_eq!(ids(&assigned), [untouched.task_id]);
}

async fn request_extension(
    system: &TestSystem,
    task_id: &str,
    proposed: &str,
) -> Result<pb::Execution, tonic::Status> {
    system
        .progress_client_as(&unit(system, "SXD"))
        .await
        .request_extension(pb::RequestTaskExtensionRequest {
            request_id: request_id(),
            task_id: task_id.into(),
            proposed_deadline: proposed.into(),
            reason: "Chờ số liệu kiểm đếm của xã".into(),
            expected_version: 0,
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Polls GetTask until the extension request `extension_id` is on the task.
async fn task_with_extension(system: &TestSystem, task_id: &str, extension_id: &str) -> pb::Task {
    task_until(system, task_id, "the extension request", |t| {
        t.extension_requests
            .iter()
            .any(|e| e.extension_id == extension_id)
    })
    .await
}

async fn decide(
    system: &TestSystem,
    task_id: &str,
    extension_id: &str,
    decision: pb::ExtensionDecision,
) {
    system
        .client(Role::Leader)
        .await
        .decide_extension(pb::DecideExtensionRequest {
            request_id: request_id(),
            task_id: task_id.into(),
            extension_id: extension_id.into(),
            decision: decision as i32,
            new_deadline: String::new(),
            reason: "Đã xem xét đề nghị".into(),
            leader_id: String::new(),
            expected_version: 0,
        })
        .await
        .expect("the assigning leader decides");
}

#[tokio::test]
async fn an_extension_asked_in_time_is_decided_by_the_leader_and_the_new_deadline_judges_the_result()
 {
    let (system, task_id) = a_task_in_progress_service().await;
    acknowledge(&system, &task_id).await;

    let first = request_extension(&system, &task_id, "2027-01-20")
        .await
        .expect("asked in time");
    let first_id = first.extensions[0].extension_id.clone();
    let on_the_task = task_with_extension(&system, &task_id, &first_id).await;
    assert_eq!(
        on_the_task.extension_requests[0].state,
        pb::ExtensionState::Pending as i32
    );
    assert_eq!(on_the_task.extension_requests[0].requested_by_unit, "SXD");
    decide(&system, &task_id, &first_id, pb::ExtensionDecision::Reject).await;
    system
        .execution_when(&task_id, "the rejection arrives", |e| {
            e.extensions[0].state == pb::ExtensionState::Rejected as i32
        })
        .await;

    let second = request_extension(&system, &task_id, "2027-01-15")
        .await
        .expect("asked again, in time");
    let second_id = second.extensions[1].extension_id.clone();
    task_with_extension(&system, &task_id, &second_id).await;
    decide(
        &system,
        &task_id,
        &second_id,
        pb::ExtensionDecision::Approve,
    )
    .await;
    let approved = system
        .execution_when(&task_id, "the approval arrives", |e| {
            e.extensions[1].state == pb::ExtensionState::Approved as i32
        })
        .await;
    assert_eq!(approved.extensions[1].new_deadline, "2027-01-15");
    assert_eq!(approved.task.expect("task").deadline, "2027-01-15");

    // Submitted on 3 January 2027: late against the first deadline, on time against the new.
    system.clock.advance(chrono::Duration::days(36));
    let submitted = submit(&system, &task_id).await.expect("submits");
    let completed = review(&system, &task_id, &last_submission(&submitted), true).await;
    assert_eq!(completed.timeliness, pb::Timeliness::OnTime as i32);
}

#[tokio::test]
async fn an_extension_asked_after_the_deadline_is_refused() {
    let (system, task_id) = a_task_in_progress_service().await;
    acknowledge(&system, &task_id).await;
    system.clock.advance(chrono::Duration::days(34)); // 1 January 2027

    let refused = request_extension(&system, &task_id, "2027-01-31")
        .await
        .expect_err("after the deadline");

    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&refused), "EXTENSION_REQUESTED_AFTER_DEADLINE");
    assert!(system.execution_known(&task_id).await.extensions.is_empty());
}

/// Who calls, in the access table test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Admin,
    Office,
    HomeAffairs,
    /// Vice-Chairman pct-tran, who assigned the task.
    AssigningLeader,
    /// SXD, the lead unit.
    LeadUnit,
    /// STC, a coordinating unit.
    CoordinatingUnit,
    /// STP, a unit with no part in the task.
    OtherUnit,
    /// The lead unit's token, expired.
    Expired,
    NoToken,
}

const EVERYONE: [Who; 9] = [
    Who::Admin,
    Who::Office,
    Who::HomeAffairs,
    Who::AssigningLeader,
    Who::LeadUnit,
    Who::CoordinatingUnit,
    Who::OtherUnit,
    Who::Expired,
    Who::NoToken,
];

/// The access the service must give, written out independently of its own table.
fn may_call(rpc: Rpc, who: Who) -> bool {
    use Who::*;
    match rpc {
        Rpc::AcknowledgeTask
        | Rpc::ReportProgress
        | Rpc::RequestCoordination
        | Rpc::ReportDifficulty
        | Rpc::RequestExtension
        | Rpc::RequestHandOff
        | Rpc::SubmitResult => who == LeadUnit,
        Rpc::SubmitCoordination => who == CoordinatingUnit,
        Rpc::GiveDirection => who == AssigningLeader,
        Rpc::ReviewResult => who == Office,
        Rpc::EvaluateReplyDeadlines => matches!(who, Admin | Office),
        Rpc::RegisterIncomingDocument | Rpc::RegisterOutgoingDocument => who == Office,
        Rpc::ListRegister => matches!(who, Admin | Office | HomeAffairs | AssigningLeader),
        Rpc::GetDocument | Rpc::GetDossier | Rpc::GetAttachment => {
            !matches!(who, OtherUnit | Expired | NoToken)
        }
        Rpc::CloseDossier | Rpc::ArchiveDossier => who == Office,
        Rpc::GetExecution => !matches!(who, OtherUnit | Expired | NoToken),
        Rpc::ListExecutions => !matches!(who, Expired | NoToken),
    }
}

fn token_of(system: &TestSystem, who: Who) -> String {
    match who {
        Who::Admin => system.token(Role::Admin),
        Who::Office => system.token(Role::Office),
        Who::HomeAffairs => system.token(Role::HomeAffairs),
        Who::AssigningLeader => system.mint(&leader("pct-tran")),
        Who::LeadUnit => system.mint(&unit(system, "SXD")),
        Who::CoordinatingUnit => system.mint(&unit(system, "STC")),
        Who::OtherUnit => system.mint(&unit(system, "STP")),
        Who::Expired => system.mint_expired(&unit(system, "SXD")),
        Who::NoToken => String::new(),
    }
}

/// Calls `rpc` on the task with a well-formed request (ids that exist or not: the rules of
/// the task may refuse an allowed caller, which is not what this test is about).
async fn call(
    client: &mut dondoc_tests::ProgressClient,
    rpc: Rpc,
    task_id: &str,
    document_id: &str,
) -> Result<(), tonic::Status> {
    let task_id = task_id.to_owned();
    let some_id = uuid::Uuid::now_v7().to_string();
    let text = "Nội dung".to_owned();
    match rpc {
        Rpc::AcknowledgeTask => client
            .acknowledge_task(pb::AcknowledgeTaskRequest {
                request_id: request_id(),
                task_id,
                expected_version: 0,
            })
            .await
            .map(drop),
        Rpc::ReportProgress => client
            .report_progress(pb::ReportProgressRequest {
                request_id: request_id(),
                task_id,
                percent: 10,
                narrative: text,
                expected_version: 0,
                documents: Vec::new(),
            })
            .await
            .map(drop),
        Rpc::RequestCoordination => client
            .request_coordination(pb::RequestCoordinationRequest {
                request_id: request_id(),
                task_id,
                unit: "STC".into(),
                request: text,
                reply_due: "2026-12-10".into(),
                expected_version: 0,
            })
            .await
            .map(drop),
        Rpc::SubmitCoordination => client
            .submit_coordination(pb::SubmitCoordinationRequest {
                request_id: request_id(),
                task_id,
                coordination_id: some_id,
                reply: text,
                expected_version: 0,
            })
            .await
            .map(drop),
        Rpc::ReportDifficulty => client
            .report_difficulty(pb::ReportDifficultyRequest {
                request_id: request_id(),
                task_id,
                description: text.clone(),
                proposed_solution: text,
                expected_version: 0,
            })
            .await
            .map(drop),
        Rpc::GiveDirection => client
            .give_direction(pb::GiveDirectionRequest {
                request_id: request_id(),
                task_id,
                difficulty_id: some_id,
                direction: text,
                expected_version: 0,
            })
            .await
            .map(drop),
        Rpc::RequestExtension => client
            .request_extension(pb::RequestTaskExtensionRequest {
                request_id: request_id(),
                task_id,
                proposed_deadline: "2027-01-31".into(),
                reason: text,
                expected_version: 0,
            })
            .await
            .map(drop),
        Rpc::RequestHandOff => client
            .request_hand_off(pb::RequestHandOffRequest {
                request_id: request_id(),
                task_id,
                requested_unit: "STC".into(),
                reason: text,
            })
            .await
            .map(drop),
        Rpc::SubmitResult => client
            .submit_result(pb::SubmitResultRequest {
                request_id: request_id(),
                task_id,
                summary: text,
                expected_version: 0,
                documents: Vec::new(),
            })
            .await
            .map(drop),
        Rpc::ReviewResult => client
            .review_result(pb::ReviewResultRequest {
                request_id: request_id(),
                task_id,
                submission_id: some_id,
                accept: true,
                note: String::new(),
                expected_version: 0,
            })
            .await
            .map(drop),
        Rpc::EvaluateReplyDeadlines => client
            .evaluate_reply_deadlines(pb::EvaluateReplyDeadlinesRequest::default())
            .await
            .map(drop),
        Rpc::RegisterIncomingDocument => client
            .register_incoming_document(a_document(&task_id))
            .await
            .map(drop),
        Rpc::RegisterOutgoingDocument => client
            .register_outgoing_document(a_document(&task_id))
            .await
            .map(drop),
        Rpc::ListRegister => client
            .list_register(pb::ListRegisterRequest {
                register: pb::RegisterKind::Incoming as i32,
                year: 2026,
            })
            .await
            .map(drop),
        Rpc::GetDocument => client
            .get_document(pb::GetDocumentRequest {
                document_id: document_id.to_owned(),
            })
            .await
            .map(drop),
        Rpc::GetDossier => client
            .get_dossier(pb::GetDossierRequest { task_id })
            .await
            .map(drop),
        Rpc::GetAttachment => client
            .get_attachment(pb::GetAttachmentRequest {
                task_id,
                sha256: dondoc_progress::blobs::sha256_hex(b"none"),
            })
            .await
            .map(drop),
        Rpc::CloseDossier => client
            .close_dossier(pb::CloseDossierRequest {
                request_id: request_id(),
                task_id,
            })
            .await
            .map(drop),
        Rpc::ArchiveDossier => client
            .archive_dossier(pb::ArchiveDossierRequest {
                request_id: request_id(),
                task_id,
                archive_reference: "MLHS-2026-15".into(),
            })
            .await
            .map(drop),
        Rpc::GetExecution => client
            .get_execution(pb::GetExecutionRequest { task_id })
            .await
            .map(drop),
        Rpc::ListExecutions => client
            .list_executions(pb::ListExecutionsRequest::default())
            .await
            .map(drop),
    }
}

#[tokio::test]
async fn every_rpc_admits_exactly_its_roles_and_a_denial_writes_nothing() {
    let (system, task_id) = a_task_in_progress_service().await;
    let document_id = system
        .progress_client(Role::Office)
        .await
        .register_incoming_document(a_document(&task_id))
        .await
        .expect("registered")
        .into_inner()
        .document_id;
    let mut wrong = Vec::new();

    for rpc in Rpc::ALL {
        for who in EVERYONE {
            let mut client = system
                .progress_client_with_token(&token_of(&system, who))
                .await;
            let head_before = system
                .progress()
                .store()
                .head_position()
                .await
                .expect("head");

            let result = call(&mut client, rpc, &task_id, &document_id).await;

            let denied = matches!(
                &result,
                Err(status) if matches!(status.code(), Code::PermissionDenied | Code::Unauthenticated)
            );
            if denied == may_call(rpc, who) {
                wrong.push(format!("{rpc:?} by {who:?}: {result:?}"));
            }
            if denied {
                let head_after = system
                    .progress()
                    .store()
                    .head_position()
                    .await
                    .expect("head");
                if head_after != head_before {
                    wrong.push(format!("{rpc:?} by {who:?} was denied but wrote events"));
                }
            }
        }
    }

    assert!(
        wrong.is_empty(),
        "access table violated:\n{}",
        wrong.join("\n")
    );
}

/// Polls until `done`, failing after a deadline.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_event_delivered_again_changes_nothing_anywhere() {
    let (system, task_id) = a_task_in_progress_service().await;
    acknowledge(&system, &task_id).await;
    request_extension(&system, &task_id, "2027-01-20")
        .await
        .expect("asked");
    let mut lead = system.progress_client_as(&unit(&system, "SXD")).await;
    lead.request_hand_off(pb::RequestHandOffRequest {
        request_id: request_id(),
        task_id: task_id.clone(),
        requested_unit: "STC".into(),
        reason: "Không thuộc lĩnh vực".into(),
    })
    .await
    .expect_err("refused");
    let submitted = submit(&system, &task_id).await.expect("submits");
    review(&system, &task_id, &last_submission(&submitted), true).await;
    task_when(&system, &task_id, pb::TaskStatus::Completed).await;
    let task = task_until(&system, &task_id, "both requests on the task", |t| {
        t.refused_hand_offs.len() == 1 && t.extension_requests.len() == 1
    })
    .await;
    let mut office = system.client(Role::Office).await;
    // Every event of the task on the board, the forwarded hand-off attempt included.
    let board = system
        .board_when("every task event on the board", |b| {
            b.events_applied == task.version
                && b.rows
                    .iter()
                    .any(|r| r.status == pb::TaskStatus::Completed as i32)
        })
        .await;
    let execution = system.execution_known(&task_id).await;
    // What each consumer has applied so far: all of it must come back as duplicates.
    let reporting_applied = system.reporting().task_execution().stats().applied;
    let assignment_applied = system.assignment().execution_status().stats().applied;
    let facts_applied = system.progress().task_facts().stats().applied;

    // JetStream forgets what it delivered to every consumer (the durables are lost): each
    // is created again and every event of both streams arrives a second time.
    let nats = async_nats::connect(system.nats.url())
        .await
        .expect("connect");
    let js = async_nats::jetstream::new(nats);
    for (stream, durable) in [
        ("DONDOC_PROGRESS", "reporting-task-execution-v1"),
        ("DONDOC_PROGRESS", "assignment-execution-status-v1"),
        ("DONDOC_PROGRESS", "assignment-progress-requests-v1"),
        ("DONDOC_ASSIGNMENT", "progress-task-facts-v1"),
    ] {
        js.get_stream(stream)
            .await
            .expect("stream")
            .delete_consumer(durable)
            .await
            .expect("delete the durable consumer");
    }
    eventually("every progress event delivered again", || {
        system.reporting().task_execution().stats().duplicates >= reporting_applied
            && system.assignment().execution_status().stats().duplicates >= assignment_applied
    })
    .await;
    eventually("every assignment event delivered again to progress", || {
        system.progress().task_facts().stats().duplicates >= facts_applied
    })
    .await;

    assert_eq!(system.execution_known(&task_id).await, execution);
    let again = office
        .get_task(pb::GetTaskRequest {
            task_id: task_id.clone(),
        })
        .await
        .expect("GetTask")
        .into_inner();
    assert_eq!(again, task);
    assert_eq!(again.refused_hand_offs.len(), 1);
    assert_eq!(again.extension_requests.len(), 1);
    assert_eq!(system.board().await, board);
}

/// An incoming document about the task: the Department's report.
fn a_document(task_id: &str) -> pb::RegisterDocumentRequest {
    pb::RegisterDocumentRequest {
        request_id: request_id(),
        document_type: "Báo cáo".into(),
        issuer_number: "152".into(),
        symbol: "BC-SXD".into(),
        issued_on: "2026-11-27".into(),
        summary: "Báo cáo tiến độ giải phóng mặt bằng dự án đường ven biển".into(),
        issuing_body: "Sở Xây dựng".into(),
        signer: "Giám đốc Sở".into(),
        urgency: pb::Priority::Urgent as i32,
        secrecy: pb::Secrecy::Normal as i32,
        task_id: task_id.to_owned(),
        file_name: "bao-cao-152.txt".into(),
        media_type: "text/plain".into(),
        content: format!("Báo cáo số 152/BC-SXD {}", uuid::Uuid::now_v7()).into_bytes(),
    }
}

#[tokio::test]
async fn registered_documents_are_numbered_without_gaps_and_verify_against_their_hash() {
    let (system, task_id) = a_task_in_progress_service().await;
    let mut office = system.progress_client(Role::Office).await;

    let first = office
        .register_incoming_document(a_document(&task_id))
        .await
        .expect("registered")
        .into_inner();
    let mut outgoing = a_document("");
    outgoing.symbol = "UBND-VP".into();
    let sent = office
        .register_outgoing_document(outgoing)
        .await
        .expect("registered")
        .into_inner();
    let read = office
        .get_document(pb::GetDocumentRequest {
            document_id: first.document_id.clone(),
        })
        .await
        .expect("read")
        .into_inner();

    assert_eq!(
        (first.year, first.number, first.number_label.as_str()),
        (2026, 1, "01")
    );
    assert_eq!(sent.number_label, "01/UBND-VP");
    assert!(read.content_verified);
    assert_eq!(
        read.sha256,
        dondoc_progress::blobs::sha256_hex(&read.content)
    );
    assert!(String::from_utf8_lossy(&read.content).starts_with("Báo cáo số 152/BC-SXD"));
}

#[tokio::test]
async fn the_registers_start_again_at_01_on_the_first_of_january() {
    let (system, task_id) = a_task_in_progress_service().await;
    let mut office = system.progress_client(Role::Office).await;
    for _ in 0..2 {
        office
            .register_incoming_document(a_document(&task_id))
            .await
            .expect("registered");
    }

    // From 28 November 2026 to 1 January 2027.
    system.clock.advance(chrono::Duration::days(34));
    let new_year = office
        .register_incoming_document(a_document(&task_id))
        .await
        .expect("registered")
        .into_inner();

    assert_eq!((new_year.year, new_year.number), (2027, 1));
    let old = office
        .list_register(pb::ListRegisterRequest {
            register: pb::RegisterKind::Incoming as i32,
            year: 2026,
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        old.documents.iter().map(|d| d.number).collect::<Vec<_>>(),
        [1, 2]
    );
}

/// Twenty registrations at once take twenty different numbers, 1 to 20, none skipped.
async fn registers_concurrently(system: TestSystem, task_id: String) {
    let mut calls = Vec::new();
    for _ in 0..20 {
        let mut office = system.progress_client(Role::Office).await;
        let task_id = task_id.clone();
        calls.push(tokio::spawn(async move {
            office
                .register_incoming_document(a_document(&task_id))
                .await
                .expect("registered")
                .into_inner()
                .number
        }));
    }
    let mut numbers = Vec::new();
    for call in calls {
        numbers.push(call.await.expect("joined"));
    }
    numbers.sort_unstable();

    assert_eq!(numbers, (1..=20).collect::<Vec<u32>>());
}

#[tokio::test]
async fn concurrent_registrations_get_unique_gap_free_numbers() {
    let (system, task_id) = a_task_in_progress_service().await;
    registers_concurrently(system, task_id).await;
}

#[tokio::test]
async fn concurrent_registrations_get_unique_gap_free_numbers_on_postgres_too() {
    let Some((system, task_id)) = a_task_in_progress_service_on(Engine::Postgres).await else {
        return;
    };
    registers_concurrently(system, task_id).await;
}

#[tokio::test]
async fn an_oversized_or_incomplete_document_is_refused_with_every_field_named() {
    let (system, task_id) = a_task_in_progress_service().await;
    let mut office = system.progress_client(Role::Office).await;
    let mut too_big = a_document(&task_id);
    // Over the service's limit (4 MiB less 64 KiB), within what gRPC carries (4 MiB).
    too_big.content = vec![b'x'; 4 * 1024 * 1024 - 32 * 1024];
    let mut incomplete = a_document(&task_id);
    incomplete.summary = String::new();
    incomplete.symbol = String::new();
    incomplete.issued_on = "ngày mai".into();
    incomplete.content = Vec::new();

    let refused_big = office
        .register_outgoing_document(too_big)
        .await
        .expect_err("too big");
    let refused = office
        .register_outgoing_document(incomplete)
        .await
        .expect_err("incomplete");

    assert_eq!(refused_big.code(), Code::InvalidArgument);
    let fields = |status: &tonic::Status| -> Vec<String> {
        status
            .get_error_details()
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(fields(&refused_big), ["content"]);
    assert_eq!(
        fields(&refused),
        ["summary", "symbol", "issued_on", "content"]
    );
}

#[tokio::test]
async fn the_dossier_holds_the_work_closes_when_the_task_ends_and_once_archived_refuses_changes() {
    let (system, task_id) = a_task_in_progress_service().await;
    acknowledge(&system, &task_id).await;
    let mut office = system.progress_client(Role::Office).await;
    let registered = office
        .register_incoming_document(a_document(&task_id))
        .await
        .expect("registered")
        .into_inner();
    let too_early = office
        .close_dossier(pb::CloseDossierRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
        })
        .await
        .expect_err("the task goes on");
    let submitted = system
        .progress_client_as(&unit(&system, "SXD"))
        .await
        .submit_result(pb::SubmitResultRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            summary: "Đã hoàn thành giải phóng mặt bằng".into(),
            expected_version: 0,
            documents: vec![pb::Attachment {
                file_name: "bien-ban-ban-giao.txt".into(),
                media_type: "text/plain".into(),
                content: "Biên bản bàn giao mặt bằng".as_bytes().to_vec(),
            }],
        })
        .await
        .expect("submits with its result document")
        .into_inner();
    let attached = submitted.submissions[0].documents[0].clone();
    let fetched = office
        .get_attachment(pb::GetAttachmentRequest {
            task_id: task_id.clone(),
            sha256: attached.sha256.clone(),
        })
        .await
        .expect("the attachment")
        .into_inner();
    review(&system, &task_id, &last_submission(&submitted), true).await;

    office
        .close_dossier(pb::CloseDossierRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
        })
        .await
        .expect("closed once completed");
    let archived = office
        .archive_dossier(pb::ArchiveDossierRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            archive_reference: "MLHS-2026-15".into(),
        })
        .await
        .expect("archived")
        .into_inner();
    let late_document = office
        .register_incoming_document(a_document(&task_id))
        .await
        .expect_err("archived");
    let late_report = system
        .progress_client_as(&unit(&system, "SXD"))
        .await
        .report_progress(pb::ReportProgressRequest {
            request_id: request_id(),
            task_id: task_id.clone(),
            percent: 100,
            narrative: "Bổ sung".into(),
            expected_version: 0,
            documents: Vec::new(),
        })
        .await
        .expect_err("archived");

    assert_eq!(reason_of(&too_early), "TASK_NOT_ENDED");
    assert_eq!(archived.state, pb::DossierState::Archived as i32);
    assert_eq!(archived.archive_reference, "MLHS-2026-15");
    let kinds: Vec<&str> = archived.entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "directing_document",
            "registered_document",
            "result",
            "attachment"
        ]
    );
    assert!(fetched.content_verified);
    assert_eq!(fetched.content, "Biên bản bàn giao mặt bằng".as_bytes());
    assert_eq!(archived.entries[3].sha256, attached.sha256);
    assert_eq!(archived.entries[0].reference, "4521/UBND-XD");
    assert_eq!(archived.entries[1].document_id, registered.document_id);
    assert_eq!(archived.entries[1].sha256, registered.sha256);
    for refused in [&late_document, &late_report] {
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert_eq!(reason_of(refused), "DOSSIER_ARCHIVED");
    }
}
