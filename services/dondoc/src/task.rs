//! `dondoc task`: assigning, changing, reading and listing tasks through the assignment
//! service.
//!
//! Requests are built by pure functions from the parsed flags (tested without a server); every
//! command that changes a task prints the task as it now stands, so the operator sees the
//! result of what they typed — the new deadline, the extension history — without a second
//! command.

use std::io::Write;

use anyhow::{Context as _, bail};
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::assign_task_request::Term;
use serde_json::{Value, json};

use crate::cli::{
    AssignArgs, AssignmentConnection, CancelArgs, Change, DecideExtensionArgs, ExtendArgs,
    ListTasksArgs, ReassignArgs, RequestExtensionArgs, TaskCommand,
};
use crate::client::{self, AssignmentClient};
use crate::i18n::{self, Lang};
use crate::names::Names;
use crate::output::{OutputFormat, Ui, machine_label, write_fields, write_json, write_table};

/// The service caps pages at 500; asking for the cap keeps long lists to few round trips.
const PAGE_SIZE: i32 = 500;

pub async fn run(
    connection: &AssignmentConnection,
    command: TaskCommand,
    ui: Ui,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = client::assignment(connection).await?;
    let task = match command {
        TaskCommand::List(args) => {
            let as_of = args.as_of;
            let tasks = list(&mut client, list_request(args), ui).await?;
            let names = names_for(&mut client, &tasks, ui).await?;
            return write_task_list(out, &tasks, as_of, &names, ui);
        }
        TaskCommand::Get { task_id } => client
            .get_task(pb::GetTaskRequest { task_id })
            .await
            .context(ui.t("Không lấy được nhiệm vụ (GetTask)", "GetTask failed"))?,
        TaskCommand::Assign(args) => {
            let request = assign_request(*args);
            let request_id = request_id_of(&request);
            let what = ui.t("Giao nhiệm vụ không thành công", "AssignTask failed");
            match request {
                Assign::New(request) => client.assign_task(request).await,
                Assign::Historical(request) => client.import_historical_task(request).await,
            }
            // The request id lets the operator retry without creating a second task (AIP-155).
            .with_context(|| retry_hint(what, &request_id, ui))?
        }
        TaskCommand::Reassign(args) => {
            let request = reassign_request(args);
            let hint = retry_hint(
                ui.t("Điều chuyển không thành công", "ReassignTask failed"),
                &request.request_id,
                ui,
            );
            client.reassign_task(request).await.context(hint)?
        }
        TaskCommand::Extend(args) => {
            let request = extend_request(args);
            let hint = retry_hint(
                ui.t("Gia hạn không thành công", "ExtendDeadline failed"),
                &request.request_id,
                ui,
            );
            client.extend_deadline(request).await.context(hint)?
        }
        TaskCommand::RequestExtension(args) => {
            let request = request_extension_request(args);
            let hint = retry_hint(
                ui.t(
                    "Ghi nhận đề nghị gia hạn không thành công",
                    "RequestExtension failed",
                ),
                &request.request_id,
                ui,
            );
            client.request_extension(request).await.context(hint)?
        }
        TaskCommand::DecideExtension(args) => {
            let request = decide_extension_request(args);
            let hint = retry_hint(
                ui.t(
                    "Ghi nhận quyết định gia hạn không thành công",
                    "DecideExtension failed",
                ),
                &request.request_id,
                ui,
            );
            client.decide_extension(request).await.context(hint)?
        }
        TaskCommand::Cancel(args) => {
            let request = cancel_request(args);
            let hint = retry_hint(
                ui.t("Hủy nhiệm vụ không thành công", "CancelTask failed"),
                &request.request_id,
                ui,
            );
            client.cancel_task(request).await.context(hint)?
        }
    }
    .into_inner();
    let names = names_for(&mut client, std::slice::from_ref(&task), ui).await?;
    write_task(out, &task, &names, ui)
}

/// Scripts read codes; only people need the names, so JSON output skips the look-up.
async fn names_for(
    client: &mut AssignmentClient,
    tasks: &[pb::Task],
    ui: Ui,
) -> anyhow::Result<Names> {
    match ui.format {
        OutputFormat::Json => Ok(Names::default()),
        OutputFormat::Table => Names::for_tasks(client, tasks).await,
    }
}

fn retry_hint(what: &str, request_id: &str, ui: Ui) -> String {
    format!(
        "{what} ({} {request_id})",
        ui.t(
            "có thể gửi lại an toàn với --request-id",
            "retry safely with --request-id"
        )
    )
}

/// A fresh UUIDv7 sorts by time and so keeps the service's request log in arrival order.
fn request_id(given: Option<String>) -> String {
    given.unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

fn date_text(date: Option<chrono::NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

/// A new task, or one assigned before dondoc that the Office imports from its register.
#[derive(Debug)]
pub enum Assign {
    New(pb::AssignTaskRequest),
    Historical(pb::ImportHistoricalTaskRequest),
}

fn request_id_of(request: &Assign) -> String {
    match request {
        Assign::New(request) => request.request_id.clone(),
        Assign::Historical(request) => request.request_id.clone(),
    }
}

/// The request for `args`. Missing pieces are left empty for the service to name: it is the
/// one judge of what a valid assignment is, and its field violations say which flag to fix.
pub fn assign_request(args: AssignArgs) -> Assign {
    let term = match args.deadline {
        Some(deadline) => Term::Deadline(deadline.to_string()),
        None => Term::NoDeadline(true),
    };
    let origin_document = args.origin_doc_number.map(|number| pb::SourceDocument {
        number,
        symbol: args.origin_doc_symbol.unwrap_or_default(),
        date: date_text(args.origin_doc_date),
        summary: args.origin_doc_summary.unwrap_or_default(),
    });
    let task = pb::AssignTaskRequest {
        request_id: request_id(args.request_id),
        issuer: None,
        source_document: None,
        origin: Some(pb::TaskOrigin {
            kind: pb::OriginKind::from(args.origin).into(),
            issuing_body: args.origin_body.unwrap_or_default(),
            document: origin_document,
        }),
        assignment: Some(pb::TaskAssignment {
            assigner: Some(pb::Assigner {
                kind: pb::AssignerKind::from(args.assigner).into(),
                leader_id: args.leader.unwrap_or_default(),
                leader_name: String::new(),
            }),
            document: Some(pb::SourceDocument {
                number: args.doc_number,
                symbol: args.doc_symbol,
                date: args.doc_date.to_string(),
                summary: args.doc_summary,
            }),
        }),
        content: args.content.unwrap_or_else(|| args.title.clone()),
        title: args.title,
        lead_unit: args.lead,
        coordinating_units: args.coordinate,
        term: Some(term),
        priority: pb::Priority::from(args.priority).into(),
    };
    match args.historical_on {
        None => Assign::New(task),
        Some(assigned_on) => Assign::Historical(pb::ImportHistoricalTaskRequest {
            request_id: task.request_id.clone(),
            task: Some(task),
            assigned_on: assigned_on.to_string(),
            reason: args.historical_reason.unwrap_or_default(),
        }),
    }
}

pub fn list_request(args: ListTasksArgs) -> pb::ListTasksRequest {
    pb::ListTasksRequest {
        unit: args.unit.unwrap_or_default(),
        status: args
            .status
            .map_or(pb::TaskStatus::Unspecified, pb::TaskStatus::from)
            .into(),
        deadline_class: args
            .class
            .map_or(pb::DeadlineClass::Unspecified, pb::DeadlineClass::from)
            .into(),
        as_of: date_text(args.as_of),
        origin_kind: args
            .origin
            .map_or(pb::OriginKind::Unspecified, pb::OriginKind::from)
            .into(),
        assigner_leader_id: args.leader.unwrap_or_default(),
        deadline_from: date_text(args.deadline_from),
        deadline_to: date_text(args.deadline_to),
        page_size: PAGE_SIZE,
        ..Default::default()
    }
}

fn expected_version(change: &Change) -> u64 {
    change.expected_version.unwrap_or(0)
}

pub fn reassign_request(args: ReassignArgs) -> pb::ReassignTaskRequest {
    pb::ReassignTaskRequest {
        expected_version: expected_version(&args.change),
        request_id: request_id(args.change.request_id),
        task_id: args.task_id,
        new_lead_unit: args.to,
        new_coordinating_units: args.coordinate,
        reason: args.reason,
    }
}

pub fn extend_request(args: ExtendArgs) -> pb::ExtendDeadlineRequest {
    pb::ExtendDeadlineRequest {
        expected_version: expected_version(&args.change),
        request_id: request_id(args.change.request_id),
        task_id: args.task_id,
        new_deadline: args.deadline.to_string(),
        reason: args.reason,
        requested_on: date_text(args.requested_on),
        approved_by_leader_id: args.approved_by.unwrap_or_default(),
    }
}

pub fn request_extension_request(args: RequestExtensionArgs) -> pb::RequestExtensionRequest {
    pb::RequestExtensionRequest {
        expected_version: expected_version(&args.change),
        request_id: request_id(args.change.request_id),
        task_id: args.task_id,
        proposed_deadline: args.deadline.to_string(),
        reason: args.reason,
        requested_on: date_text(args.requested_on),
    }
}

pub fn decide_extension_request(args: DecideExtensionArgs) -> pb::DecideExtensionRequest {
    let decision = if args.approve {
        pb::ExtensionDecision::Approve
    } else {
        pb::ExtensionDecision::Reject
    };
    pb::DecideExtensionRequest {
        expected_version: expected_version(&args.change),
        request_id: request_id(args.change.request_id),
        task_id: args.task_id,
        extension_id: args.extension_id,
        decision: decision.into(),
        new_deadline: date_text(args.deadline),
        reason: args.reason.unwrap_or_default(),
        leader_id: args.leader.unwrap_or_default(),
    }
}

pub fn cancel_request(args: CancelArgs) -> pb::CancelTaskRequest {
    pb::CancelTaskRequest {
        expected_version: expected_version(&args.change),
        request_id: request_id(args.change.request_id),
        task_id: args.task_id,
        reason: args.reason,
    }
}

/// Every task matching `request`, across all pages.
async fn list(
    client: &mut AssignmentClient,
    mut request: pb::ListTasksRequest,
    ui: Ui,
) -> anyhow::Result<Vec<pb::Task>> {
    let mut tasks = Vec::new();
    loop {
        let page = client
            .list_tasks(request.clone())
            .await
            .context(ui.t(
                "Không lấy được danh sách nhiệm vụ (ListTasks)",
                "ListTasks failed",
            ))?
            .into_inner();
        tasks.extend(page.tasks);
        if page.next_page_token.is_empty() {
            return Ok(tasks);
        }
        // A token that does not advance would loop forever; fail instead of hanging the terminal.
        if page.next_page_token == request.page_token {
            bail!("ListTasks returned the same page token twice");
        }
        request.page_token = page.next_page_token;
    }
}

fn write_task_list(
    out: &mut impl Write,
    tasks: &[pb::Task],
    as_of: Option<chrono::NaiveDate>,
    names: &Names,
    ui: Ui,
) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        let tasks: Vec<Value> = tasks.iter().map(task_json).collect();
        return write_json(out, &json!({ "tasks": tasks }));
    }
    let lang = ui.lang;
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|task| {
            vec![
                task.task_id.clone(),
                i18n::status(lang, task.status()).to_owned(),
                i18n::deadline_class(lang, task.deadline_class()).to_owned(),
                lang.deadline(&task.deadline),
                i18n::priority(lang, task.priority()).to_owned(),
                names.unit(&task.lead_unit),
                task.title.clone(),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            ui.t("Mã nhiệm vụ", "task id"),
            ui.t("Trạng thái", "status"),
            ui.t("Tình trạng hạn", "deadline class"),
            ui.t("Thời hạn", "deadline"),
            ui.t("Độ khẩn", "priority"),
            ui.t("Đơn vị chủ trì", "lead unit"),
            ui.t("Tên nhiệm vụ", "title"),
        ],
        &rows,
    )?;
    write!(out, "\n{} {}", tasks.len(), ui.t("nhiệm vụ", "tasks"))?;
    match as_of {
        Some(day) => writeln!(
            out,
            "; {} {}",
            ui.t(
                "tình trạng hạn tính đến hết ngày",
                "deadline classes as of the end of"
            ),
            lang.date(day)
        )?,
        None => writeln!(out)?,
    }
    Ok(())
}

/// "Số 4521/UBND-XD ngày 20/11/2026: Về việc …".
fn document_text(document: &pb::SourceDocument, lang: Lang) -> String {
    if document.number.is_empty() && document.symbol.is_empty() && document.summary.is_empty() {
        return String::new();
    }
    let (number, of) = (lang.pick("Số", "No."), lang.pick("ngày", "of"));
    let mut text = format!("{number} {}/{}", document.number, document.symbol);
    if !document.date.is_empty() {
        text.push_str(&format!(" {of} {}", lang.iso_date(&document.date)));
    }
    if !document.summary.is_empty() {
        text.push_str(&format!(": {}", document.summary));
    }
    text
}

fn origin_text(task: &pb::Task, lang: Lang) -> String {
    let Some(origin) = task.origin.as_ref() else {
        return String::new();
    };
    let mut parts = vec![i18n::origin_kind(lang, origin.kind()).to_owned()];
    if !origin.issuing_body.is_empty() {
        parts.push(origin.issuing_body.clone());
    }
    if let Some(document) = origin.document.as_ref() {
        let text = document_text(document, lang);
        if !text.is_empty() {
            parts.push(text);
        }
    }
    parts.join(" – ")
}

fn assigner_text(task: &pb::Task, lang: Lang) -> String {
    let Some(assigner) = task.assignment.as_ref().and_then(|a| a.assigner.as_ref()) else {
        return String::new();
    };
    let kind = i18n::assigner_kind(lang, assigner.kind());
    match (assigner.leader_name.as_str(), assigner.leader_id.as_str()) {
        ("", "") => kind.to_owned(),
        ("", id) => format!("{kind} {id}"),
        (name, "") => format!("{kind} {name}"),
        (name, id) => format!("{kind} {name} ({id})"),
    }
}

/// One task with everything the Office keeps about it.
fn write_task(out: &mut impl Write, task: &pb::Task, names: &Names, ui: Ui) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        return write_json(out, &task_json(task));
    }
    let lang = ui.lang;
    let coordinating: Vec<String> = task
        .coordinating_units
        .iter()
        .map(|code| names.unit(code))
        .collect();
    let assignment_document = task
        .assignment
        .as_ref()
        .and_then(|a| a.document.as_ref())
        .map(|d| document_text(d, lang))
        .unwrap_or_default();
    let yes = |flag: bool| {
        if flag {
            lang.pick("có", "yes").to_owned()
        } else {
            String::new()
        }
    };
    let fields = vec![
        (ui.t("Mã nhiệm vụ", "Task id"), task.task_id.clone()),
        (ui.t("Tên nhiệm vụ", "Title"), task.title.clone()),
        (
            ui.t("Trạng thái", "Status"),
            i18n::status(lang, task.status()).to_owned(),
        ),
        (
            ui.t("Tình trạng hạn", "Deadline class"),
            i18n::deadline_class(lang, task.deadline_class()).to_owned(),
        ),
        (
            ui.t("Độ khẩn", "Priority"),
            i18n::priority(lang, task.priority()).to_owned(),
        ),
        (ui.t("Nguồn giao", "Origin"), origin_text(task, lang)),
        (ui.t("Người giao", "Assigned by"), assigner_text(task, lang)),
        (
            ui.t("Văn bản giao", "Directing document"),
            assignment_document,
        ),
        (
            ui.t("Đơn vị chủ trì", "Lead unit"),
            names.unit(&task.lead_unit),
        ),
        (
            ui.t("Đơn vị phối hợp", "Coordinating"),
            coordinating.join(", "),
        ),
        (
            ui.t("Lãnh đạo phụ trách", "Supervising leader"),
            names.leader(&task.supervising_leader_id),
        ),
        (ui.t("Thời hạn", "Deadline"), lang.deadline(&task.deadline)),
        (
            ui.t("Thời hạn ban đầu", "Original deadline"),
            lang.deadline(&task.original_deadline),
        ),
        (
            ui.t("Ngày giao", "Assigned on"),
            lang.iso_date(&task.assigned_on),
        ),
        (
            ui.t("Ghi nhận lúc", "Recorded at"),
            lang.timestamp(task.assigned_at.as_ref()),
        ),
        (
            ui.t("Người ghi nhận", "Recorded by"),
            task.assigned_by.clone(),
        ),
        (
            ui.t("Nhập từ hồ sơ cũ", "Imported from records"),
            yes(task.historical),
        ),
        (
            ui.t("Lý do hủy", "Cancel reason"),
            task.cancel_reason.clone(),
        ),
        (ui.t("Phiên bản", "Version"), task.version.to_string()),
    ];
    write_fields(out, &fields)?;
    if !task.content.is_empty() && task.content != task.title {
        writeln!(out, "\n{}", task.content)?;
    }
    write_deadline_history(out, task, names, ui)?;
    write_extension_requests(out, task, names, ui)?;
    if !task.reassignments.is_empty() {
        writeln!(
            out,
            "\n{}:",
            ui.t("Điều chuyển đơn vị chủ trì", "Reassignments")
        )?;
        for change in &task.reassignments {
            writeln!(
                out,
                "  {}  {} → {}  ({} {}): {}",
                lang.timestamp(change.reassigned_at.as_ref()),
                names.unit(&change.from_lead_unit),
                names.unit(&change.to_lead_unit),
                ui.t("bởi", "by"),
                change.reassigned_by,
                change.reason
            )?;
        }
    }
    if !task.refused_hand_offs.is_empty() {
        writeln!(
            out,
            "\n{}:",
            ui.t(
                "Đề nghị chuyển giao nhiệm vụ bị từ chối",
                "Refused hand-offs"
            )
        )?;
        for refusal in &task.refused_hand_offs {
            writeln!(
                out,
                "  {}  {} → {}  ({} {}): {}",
                lang.timestamp(refusal.attempted_at.as_ref()),
                names.unit(&refusal.lead_unit),
                names.unit(&refusal.requested_lead_unit),
                ui.t("bởi", "by"),
                refusal.attempted_by,
                refusal.reason_given
            )?;
        }
    }
    Ok(())
}

fn write_deadline_history(
    out: &mut impl Write,
    task: &pb::Task,
    names: &Names,
    ui: Ui,
) -> anyhow::Result<()> {
    // The first entry is the original deadline, already shown above.
    if task.deadline_history.len() < 2 {
        return Ok(());
    }
    let lang = ui.lang;
    writeln!(out, "\n{}:", ui.t("Lịch sử gia hạn", "Deadline history"))?;
    for change in task.deadline_history.iter().skip(1) {
        let mut line = format!(
            "  {} → {}",
            lang.deadline(&change.previous_deadline),
            lang.deadline(&change.deadline)
        );
        if !change.requested_on.is_empty() {
            line.push_str(&format!(
                "; {} {}",
                ui.t("đề nghị ngày", "requested on"),
                lang.iso_date(&change.requested_on)
            ));
        }
        if !change.approved_by_leader_id.is_empty() {
            line.push_str(&format!(
                "; {} {}",
                ui.t("lãnh đạo đồng ý", "approved by"),
                names.leader(&change.approved_by_leader_id)
            ));
        }
        if !change.decided_on.is_empty() {
            line.push_str(&format!(
                " {} {}",
                ui.t("ngày", "on"),
                lang.iso_date(&change.decided_on)
            ));
        }
        line.push_str(&format!(
            "; {} {} {} {}",
            ui.t("ghi nhận", "recorded"),
            lang.timestamp(change.changed_at.as_ref()),
            ui.t("bởi", "by"),
            change.changed_by
        ));
        if !change.reason.is_empty() {
            line.push_str(&format!(": {}", change.reason));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn write_extension_requests(
    out: &mut impl Write,
    task: &pb::Task,
    names: &Names,
    ui: Ui,
) -> anyhow::Result<()> {
    if task.extension_requests.is_empty() {
        return Ok(());
    }
    let lang = ui.lang;
    writeln!(out, "\n{}:", ui.t("Đề nghị gia hạn", "Extension requests"))?;
    for request in &task.extension_requests {
        let mut line = format!(
            "  [{}] {} {}, {} {} {}: {}",
            request.extension_id,
            ui.t("ngày", "on"),
            lang.iso_date(&request.requested_on),
            names.unit(&request.requested_by_unit),
            ui.t("đề nghị hạn", "proposed"),
            lang.iso_date(&request.proposed_deadline),
            request.reason
        );
        line.push_str(&format!(
            "\n      {}",
            i18n::extension_state(lang, request.state())
        ));
        if !request.decided_on.is_empty() {
            line.push_str(&format!(
                " {} {} {} {}",
                ui.t("ngày", "on"),
                lang.iso_date(&request.decided_on),
                ui.t("bởi", "by"),
                names.leader(&request.decided_by_leader_id)
            ));
        }
        if !request.new_deadline.is_empty() {
            line.push_str(&format!(
                ", {} {}",
                ui.t("hạn mới", "new deadline"),
                lang.iso_date(&request.new_deadline)
            ));
        }
        if !request.decision_reason.is_empty() {
            line.push_str(&format!(": {}", request.decision_reason));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn document_json(document: Option<&pb::SourceDocument>) -> Value {
    match document {
        None => Value::Null,
        Some(d) => json!({
            "number": d.number, "symbol": d.symbol, "date": d.date, "summary": d.summary,
        }),
    }
}

fn time_json(ts: Option<&dondoc_proto::Timestamp>) -> Value {
    match i18n::to_utc(ts) {
        Some(t) => Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => Value::Null,
    }
}

/// A task for scripts: codes and ISO dates, enum values in the spelling the flags accept,
/// instants in UTC.
pub fn task_json(task: &pb::Task) -> Value {
    let origin = task.origin.as_ref();
    let assigner = task.assignment.as_ref().and_then(|a| a.assigner.as_ref());
    json!({
        "task_id": task.task_id,
        "title": task.title,
        "content": task.content,
        "status": machine_label(task.status().as_str_name(), "TASK_STATUS_"),
        "deadline_class": machine_label(task.deadline_class().as_str_name(), "DEADLINE_CLASS_"),
        "priority": machine_label(task.priority().as_str_name(), "PRIORITY_"),
        "origin": origin.map(|o| json!({
            "kind": machine_label(o.kind().as_str_name(), "ORIGIN_KIND_"),
            "issuing_body": o.issuing_body,
            "document": document_json(o.document.as_ref()),
        })),
        "assignment": task.assignment.as_ref().map(|a| json!({
            "assigner": assigner.map(|x| json!({
                "kind": machine_label(x.kind().as_str_name(), "ASSIGNER_KIND_"),
                "leader_id": x.leader_id,
                "leader_name": x.leader_name,
            })),
            "document": document_json(a.document.as_ref()),
        })),
        "lead_unit": task.lead_unit,
        "coordinating_units": task.coordinating_units,
        "supervising_leader_id": task.supervising_leader_id,
        "deadline": task.deadline,
        "original_deadline": task.original_deadline,
        "deadline_history": task.deadline_history.iter().map(|c| json!({
            "deadline": c.deadline,
            "previous_deadline": c.previous_deadline,
            "reason": c.reason,
            "requested_on": c.requested_on,
            "approved_by_leader_id": c.approved_by_leader_id,
            "decided_on": c.decided_on,
            "extension_id": c.extension_id,
            "changed_at": time_json(c.changed_at.as_ref()),
            "changed_by": c.changed_by,
        })).collect::<Vec<_>>(),
        "extension_requests": task.extension_requests.iter().map(|r| json!({
            "extension_id": r.extension_id,
            "requested_on": r.requested_on,
            "proposed_deadline": r.proposed_deadline,
            "reason": r.reason,
            "requested_by_unit": r.requested_by_unit,
            "state": machine_label(r.state().as_str_name(), "EXTENSION_STATE_"),
            "decided_on": r.decided_on,
            "decided_by_leader_id": r.decided_by_leader_id,
            "decision_reason": r.decision_reason,
            "new_deadline": r.new_deadline,
        })).collect::<Vec<_>>(),
        "reassignments": task.reassignments.iter().map(|r| json!({
            "from_lead_unit": r.from_lead_unit,
            "to_lead_unit": r.to_lead_unit,
            "reason": r.reason,
            "reassigned_at": time_json(r.reassigned_at.as_ref()),
            "reassigned_by": r.reassigned_by,
        })).collect::<Vec<_>>(),
        "refused_hand_offs": task.refused_hand_offs.iter().map(|r| json!({
            "lead_unit": r.lead_unit,
            "requested_lead_unit": r.requested_lead_unit,
            "reason_given": r.reason_given,
            "attempted_at": time_json(r.attempted_at.as_ref()),
            "attempted_by": r.attempted_by,
        })).collect::<Vec<_>>(),
        "assigned_on": task.assigned_on,
        "assigned_at": time_json(task.assigned_at.as_ref()),
        "assigned_by": task.assigned_by,
        "cancel_reason": task.cancel_reason,
        "historical": task.historical,
        "version": task.version,
    })
}

#[cfg(test)]
mod tests;
