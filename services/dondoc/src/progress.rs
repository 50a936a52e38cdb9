//! `dondoc progress`: carrying tasks out through the progress service — the lead unit's
//! receipt, progress reports, coordination, difficulties, extension requests and result, the
//! leader's direction and the Office's review.
//!
//! Every change prints the execution as it now stands, so whoever typed it sees its effect
//! (the new status, the id of the coordination request or difficulty just recorded).

use std::io::Write;

use anyhow::Context as _;
use dondoc_proto::v1 as pb;
use serde_json::{Value, json};

use crate::cli::{DossierCommand, ProgressCommand, ProgressConnection, RegisterCommand};
use crate::client;
use crate::i18n::{self, Lang};
use crate::output::{OutputFormat, Ui, machine_label, write_fields, write_json, write_table};

pub async fn run(
    connection: &ProgressConnection,
    command: ProgressCommand,
    ui: Ui,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = client::progress(connection).await?;
    let request_id = connection
        .request_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let shown_id = request_id.clone();
    let failed = |vi: &str, en: &str| {
        format!(
            "{} ({} {shown_id})",
            ui.t(vi, en),
            ui.t(
                "có thể gửi lại an toàn với --request-id",
                "retry safely with --request-id"
            )
        )
    };
    let execution = match command {
        ProgressCommand::Show { task_id } => client
            .get_execution(pb::GetExecutionRequest { task_id })
            .await
            .context(ui.t("Không lấy được tình hình thực hiện", "GetExecution failed"))?,
        ProgressCommand::List {
            unit,
            awaiting_direction,
            awaiting_review,
            class,
            as_of,
        } => {
            let page = client
                .list_executions(pb::ListExecutionsRequest {
                    lead_unit: unit.unwrap_or_default(),
                    awaiting_direction,
                    awaiting_review,
                    deadline_class: class.unwrap_or_default(),
                    as_of: as_of.map(|d| d.to_string()).unwrap_or_default(),
                    page_size: 500,
                    ..Default::default()
                })
                .await
                .context(ui.t(
                    "Không lấy được danh sách thực hiện",
                    "ListExecutions failed",
                ))?
                .into_inner();
            return write_list(out, &page.executions, ui);
        }
        ProgressCommand::Acknowledge { task_id } => client
            .acknowledge_task(pb::AcknowledgeTaskRequest {
                request_id: request_id.clone(),
                task_id,
                expected_version: 0,
            })
            .await
            .with_context(|| failed("Tiếp nhận không thành công", "AcknowledgeTask failed"))?,
        ProgressCommand::Report {
            task_id,
            percent,
            narrative,
            documents,
        } => client
            .report_progress(pb::ReportProgressRequest {
                request_id: request_id.clone(),
                task_id,
                percent,
                narrative,
                expected_version: 0,
                documents: attachments(&documents)?,
            })
            .await
            .with_context(|| failed("Báo cáo tiến độ không thành công", "ReportProgress failed"))?,
        ProgressCommand::Coordinate {
            task_id,
            unit,
            request,
            reply_due,
        } => client
            .request_coordination(pb::RequestCoordinationRequest {
                request_id: request_id.clone(),
                task_id,
                unit,
                request,
                reply_due: reply_due.to_string(),
                expected_version: 0,
            })
            .await
            .with_context(|| {
                failed(
                    "Đề nghị phối hợp không thành công",
                    "RequestCoordination failed",
                )
            })?,
        ProgressCommand::Reply {
            task_id,
            coordination,
            reply,
        } => client
            .submit_coordination(pb::SubmitCoordinationRequest {
                request_id: request_id.clone(),
                task_id,
                coordination_id: coordination,
                reply,
                expected_version: 0,
            })
            .await
            .with_context(|| {
                failed(
                    "Gửi ý kiến phối hợp không thành công",
                    "SubmitCoordination failed",
                )
            })?,
        ProgressCommand::Difficulty {
            task_id,
            description,
            proposal,
        } => client
            .report_difficulty(pb::ReportDifficultyRequest {
                request_id: request_id.clone(),
                task_id,
                description,
                proposed_solution: proposal,
                expected_version: 0,
            })
            .await
            .with_context(|| {
                failed(
                    "Báo cáo khó khăn, vướng mắc không thành công",
                    "ReportDifficulty failed",
                )
            })?,
        ProgressCommand::Direct {
            task_id,
            difficulty,
            direction,
        } => client
            .give_direction(pb::GiveDirectionRequest {
                request_id: request_id.clone(),
                task_id,
                difficulty_id: difficulty,
                direction,
                expected_version: 0,
            })
            .await
            .with_context(|| {
                failed(
                    "Cho ý kiến chỉ đạo không thành công",
                    "GiveDirection failed",
                )
            })?,
        ProgressCommand::Extension {
            task_id,
            proposed,
            reason,
        } => client
            .request_extension(pb::RequestTaskExtensionRequest {
                request_id: request_id.clone(),
                task_id,
                proposed_deadline: proposed.to_string(),
                reason,
                expected_version: 0,
            })
            .await
            .with_context(|| {
                failed(
                    "Đề nghị gia hạn không thành công",
                    "RequestExtension failed",
                )
            })?,
        ProgressCommand::Submit {
            task_id,
            summary,
            documents,
        } => client
            .submit_result(pb::SubmitResultRequest {
                request_id: request_id.clone(),
                task_id,
                summary,
                expected_version: 0,
                documents: attachments(&documents)?,
            })
            .await
            .with_context(|| failed("Báo cáo kết quả không thành công", "SubmitResult failed"))?,
        ProgressCommand::Review {
            task_id,
            submission,
            accept,
            return_for_rework: _,
            note,
        } => client
            .review_result(pb::ReviewResultRequest {
                request_id: request_id.clone(),
                task_id,
                submission_id: submission,
                accept,
                note,
                expected_version: 0,
            })
            .await
            .with_context(|| failed("Xem xét kết quả không thành công", "ReviewResult failed"))?,
    }
    .into_inner();
    write_execution(out, &execution, ui)
}

/// The files to attach, read whole.
fn attachments(files: &[std::path::PathBuf]) -> anyhow::Result<Vec<pb::Attachment>> {
    files
        .iter()
        .map(|path| {
            Ok(pb::Attachment {
                file_name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                media_type: String::new(),
                content: std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            })
        })
        .collect()
}

fn status_of(raw: i32) -> pb::TaskStatus {
    pb::TaskStatus::try_from(raw).unwrap_or(pb::TaskStatus::Unspecified)
}

fn timeliness(lang: Lang, raw: i32) -> &'static str {
    match pb::Timeliness::try_from(raw).unwrap_or(pb::Timeliness::Unspecified) {
        pb::Timeliness::OnTime => lang.pick("Đúng hạn", "on time"),
        pb::Timeliness::Late => lang.pick("Quá hạn", "late"),
        pb::Timeliness::NoDeadline => lang.pick("Không thời hạn", "no deadline"),
        pb::Timeliness::Unspecified => "",
    }
}

fn coordination_state(lang: Lang, raw: i32) -> &'static str {
    match pb::CoordinationState::try_from(raw).unwrap_or(pb::CoordinationState::Unspecified) {
        pb::CoordinationState::AwaitingReply => lang.pick("Chờ ý kiến", "awaiting reply"),
        pb::CoordinationState::Answered => lang.pick("Đã trả lời", "answered"),
        pb::CoordinationState::DeemedAgreed => {
            lang.pick("Không trả lời: coi như đồng ý", "no reply: deemed agreed")
        }
        pb::CoordinationState::Unspecified => "",
    }
}

fn verdict(lang: Lang, raw: i32) -> &'static str {
    match pb::SubmissionVerdict::try_from(raw).unwrap_or(pb::SubmissionVerdict::Unspecified) {
        pb::SubmissionVerdict::AwaitingReview => lang.pick("Chờ xem xét", "awaiting review"),
        pb::SubmissionVerdict::Accepted => lang.pick("Đã chấp nhận", "accepted"),
        pb::SubmissionVerdict::Returned => lang.pick("Trả lại", "returned"),
        pb::SubmissionVerdict::Unspecified => "",
    }
}

/// One execution: its fields, then a table per kind of record it holds.
pub fn write_execution(out: &mut impl Write, e: &pb::Execution, ui: Ui) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        return write_json(out, &execution_json(e));
    }
    let lang = ui.lang;
    let task = e.task.clone().unwrap_or_default();
    let mut fields = vec![
        (ui.t("Nhiệm vụ", "Task"), e.task_id.clone()),
        (ui.t("Trích yếu", "Title"), task.title.clone()),
        (
            ui.t("Trạng thái", "Status"),
            i18n::status(lang, status_of(e.status)).to_owned(),
        ),
        (ui.t("Đơn vị chủ trì", "Lead unit"), task.lead_unit.clone()),
        (
            ui.t("Đơn vị phối hợp", "Coordinating"),
            task.coordinating_units.join(", "),
        ),
        (ui.t("Thời hạn", "Deadline"), lang.deadline(&task.deadline)),
        (ui.t("Tiến độ", "Progress"), format!("{}%", e.percent)),
    ];
    if !e.acknowledged_on.is_empty() {
        fields.push((
            ui.t("Ngày tiếp nhận", "Acknowledged on"),
            lang.iso_date(&e.acknowledged_on),
        ));
    }
    let done = timeliness(lang, e.timeliness);
    if !done.is_empty() {
        let late = if e.days_late > 0 {
            format!(" ({} {})", e.days_late, ui.t("ngày", "days"))
        } else {
            String::new()
        };
        fields.push((ui.t("Hoàn thành", "Completed"), format!("{done}{late}")));
    }
    if e.refused_hand_offs > 0 {
        fields.push((
            ui.t("Đề nghị chuyển giao bị từ chối", "Refused hand-offs"),
            e.refused_hand_offs.to_string(),
        ));
    }
    write_fields(out, &fields)?;
    if !e.reports.is_empty() {
        writeln!(out, "\n{}", ui.t("Báo cáo tiến độ", "Progress reports"))?;
        let rows: Vec<Vec<String>> = e
            .reports
            .iter()
            .map(|r| {
                vec![
                    lang.iso_date(&r.reported_on),
                    format!("{}%", r.percent),
                    r.narrative.clone(),
                ]
            })
            .collect();
        write_table(
            out,
            &[ui.t("Ngày", "Date"), "%", ui.t("Nội dung", "Narrative")],
            &rows,
        )?;
    }
    if !e.coordinations.is_empty() {
        writeln!(out, "\n{}", ui.t("Phối hợp", "Coordination"))?;
        let rows: Vec<Vec<String>> = e
            .coordinations
            .iter()
            .map(|c| {
                vec![
                    c.coordination_id.clone(),
                    c.unit.clone(),
                    lang.iso_date(&c.reply_due),
                    coordination_state(lang, c.state).to_owned(),
                    c.reply.clone(),
                ]
            })
            .collect();
        write_table(
            out,
            &[
                "ID",
                ui.t("Đơn vị", "Unit"),
                ui.t("Hạn trả lời", "Reply due"),
                ui.t("Tình trạng", "State"),
                ui.t("Ý kiến", "Reply"),
            ],
            &rows,
        )?;
    }
    if !e.difficulties.is_empty() {
        writeln!(out, "\n{}", ui.t("Khó khăn, vướng mắc", "Difficulties"))?;
        let rows: Vec<Vec<String>> = e
            .difficulties
            .iter()
            .map(|d| {
                let direction = if d.direction.is_empty() {
                    ui.t("(chờ chỉ đạo)", "(awaiting direction)").to_owned()
                } else {
                    format!("{} — {}", d.directed_by_leader_id, d.direction)
                };
                vec![d.difficulty_id.clone(), d.description.clone(), direction]
            })
            .collect();
        write_table(
            out,
            &[
                "ID",
                ui.t("Nội dung", "Difficulty"),
                ui.t("Ý kiến chỉ đạo", "Direction"),
            ],
            &rows,
        )?;
    }
    if !e.extensions.is_empty() {
        writeln!(out, "\n{}", ui.t("Đề nghị gia hạn", "Extension requests"))?;
        let rows: Vec<Vec<String>> = e
            .extensions
            .iter()
            .map(|x| {
                let state = pb::ExtensionState::try_from(x.state)
                    .unwrap_or(pb::ExtensionState::Unspecified);
                vec![
                    lang.iso_date(&x.requested_on),
                    lang.iso_date(&x.proposed_deadline),
                    i18n::extension_state(lang, state).to_owned(),
                    lang.deadline(&x.new_deadline),
                ]
            })
            .collect();
        write_table(
            out,
            &[
                ui.t("Ngày đề nghị", "Requested on"),
                ui.t("Thời hạn đề nghị", "Proposed"),
                ui.t("Quyết định", "Decision"),
                ui.t("Thời hạn mới", "New deadline"),
            ],
            &rows,
        )?;
    }
    if !e.submissions.is_empty() {
        writeln!(out, "\n{}", ui.t("Báo cáo kết quả", "Results"))?;
        let rows: Vec<Vec<String>> = e
            .submissions
            .iter()
            .map(|s| {
                vec![
                    s.submission_id.clone(),
                    lang.iso_date(&s.submitted_on),
                    verdict(lang, s.verdict).to_owned(),
                    s.review_note.clone(),
                ]
            })
            .collect();
        write_table(
            out,
            &[
                "ID",
                ui.t("Ngày gửi", "Submitted on"),
                ui.t("Kết quả xem xét", "Review"),
                ui.t("Ghi chú", "Note"),
            ],
            &rows,
        )?;
    }
    Ok(())
}

fn write_list(out: &mut impl Write, executions: &[pb::Execution], ui: Ui) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        let list: Vec<Value> = executions.iter().map(execution_json).collect();
        return write_json(out, &Value::Array(list));
    }
    let lang = ui.lang;
    let rows: Vec<Vec<String>> = executions
        .iter()
        .map(|e| {
            let task = e.task.clone().unwrap_or_default();
            vec![
                e.task_id.clone(),
                task.lead_unit,
                i18n::status(lang, status_of(e.status)).to_owned(),
                lang.deadline(&task.deadline),
                format!("{}%", e.percent),
                task.title,
            ]
        })
        .collect();
    write_table(
        out,
        &[
            ui.t("Nhiệm vụ", "Task"),
            ui.t("Chủ trì", "Lead"),
            ui.t("Trạng thái", "Status"),
            ui.t("Thời hạn", "Deadline"),
            ui.t("Tiến độ", "Progress"),
            ui.t("Trích yếu", "Title"),
        ],
        &rows,
    )?;
    Ok(())
}

/// The execution for scripts: codes and ISO dates, the same in both languages.
pub fn execution_json(e: &pb::Execution) -> Value {
    let task = e.task.clone().unwrap_or_default();
    json!({
        "task_id": e.task_id,
        "status": machine_label(status_of(e.status).as_str_name(), "TASK_STATUS_"),
        "lead_unit": task.lead_unit,
        "coordinating_units": task.coordinating_units,
        "deadline": task.deadline,
        "version": e.version,
        "acknowledged_on": e.acknowledged_on,
        "percent": e.percent,
        "timeliness": machine_label(
            pb::Timeliness::try_from(e.timeliness).unwrap_or_default().as_str_name(),
            "TIMELINESS_",
        ),
        "days_late": e.days_late,
        "refused_hand_offs": e.refused_hand_offs,
        "coordinations": e.coordinations.iter().map(|c| json!({
            "coordination_id": c.coordination_id,
            "unit": c.unit,
            "reply_due": c.reply_due,
            "state": machine_label(
                pb::CoordinationState::try_from(c.state).unwrap_or_default().as_str_name(),
                "COORDINATION_STATE_",
            ),
        })).collect::<Vec<_>>(),
        "difficulties": e.difficulties.iter().map(|d| json!({
            "difficulty_id": d.difficulty_id,
            "directed": !d.direction.is_empty(),
        })).collect::<Vec<_>>(),
        "submissions": e.submissions.iter().map(|s| json!({
            "submission_id": s.submission_id,
            "submitted_on": s.submitted_on,
            "verdict": machine_label(
                pb::SubmissionVerdict::try_from(s.verdict).unwrap_or_default().as_str_name(),
                "SUBMISSION_VERDICT_",
            ),
        })).collect::<Vec<_>>(),
        "extensions": e.extensions.iter().map(|x| json!({
            "extension_id": x.extension_id,
            "proposed_deadline": x.proposed_deadline,
            "state": machine_label(
                pb::ExtensionState::try_from(x.state).unwrap_or_default().as_str_name(),
                "EXTENSION_STATE_",
            ),
            "new_deadline": x.new_deadline,
        })).collect::<Vec<_>>(),
    })
}

/// `dondoc dossier show TASK`.
pub async fn run_dossier(
    connection: &ProgressConnection,
    command: DossierCommand,
    ui: Ui,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = client::progress(connection).await?;
    let DossierCommand::Show { task_id } = command;
    let dossier = client
        .get_dossier(pb::GetDossierRequest { task_id })
        .await
        .context(ui.t("Không lấy được hồ sơ công việc", "GetDossier failed"))?
        .into_inner();
    if ui.format == OutputFormat::Json {
        return write_json(
            out,
            &json!({
                "task_id": dossier.task_id,
                "state": machine_label(
                    pb::DossierState::try_from(dossier.state).unwrap_or_default().as_str_name(),
                    "DOSSIER_STATE_",
                ),
                "closed_on": dossier.closed_on,
                "archived_on": dossier.archived_on,
                "archive_reference": dossier.archive_reference,
                "entries": dossier.entries.iter().map(|e| json!({
                    "kind": e.kind,
                    "date": e.date,
                    "summary": e.summary,
                    "reference": e.reference,
                    "document_id": e.document_id,
                    "sha256": e.sha256,
                })).collect::<Vec<_>>(),
            }),
        );
    }
    let lang = ui.lang;
    let state = match pb::DossierState::try_from(dossier.state).unwrap_or_default() {
        pb::DossierState::Open => ui.t("Đang lập hồ sơ", "open"),
        pb::DossierState::Closed => ui.t("Đã kết thúc hồ sơ", "closed"),
        pb::DossierState::Archived => ui.t("Đã nộp lưu", "archived"),
        pb::DossierState::Unspecified => "",
    };
    let mut fields = vec![
        (ui.t("Nhiệm vụ", "Task"), dossier.task_id.clone()),
        (ui.t("Trích yếu", "Title"), dossier.title.clone()),
        (ui.t("Tình trạng hồ sơ", "Dossier"), state.to_owned()),
    ];
    if !dossier.archived_on.is_empty() {
        fields.push((
            ui.t("Ngày nộp lưu", "Archived on"),
            format!(
                "{} ({})",
                lang.iso_date(&dossier.archived_on),
                dossier.archive_reference
            ),
        ));
    }
    write_fields(out, &fields)?;
    writeln!(out)?;
    let rows: Vec<Vec<String>> = dossier
        .entries
        .iter()
        .map(|e| {
            let kind = match e.kind.as_str() {
                "directing_document" => ui.t("Văn bản giao nhiệm vụ", "directing document"),
                "registered_document" => ui.t("Văn bản", "document"),
                "progress_report" => ui.t("Báo cáo tiến độ", "progress report"),
                "coordination_reply" => ui.t("Ý kiến phối hợp", "coordination reply"),
                "result" => ui.t("Báo cáo kết quả", "result"),
                "attachment" => ui.t("Tệp đính kèm", "attachment"),
                other => other,
            };
            vec![
                lang.iso_date(&e.date),
                kind.to_owned(),
                e.reference.clone(),
                e.summary.clone(),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            ui.t("Ngày", "Date"),
            ui.t("Loại", "Kind"),
            ui.t("Số, ký hiệu", "Reference"),
            ui.t("Nội dung", "Summary"),
        ],
        &rows,
    )?;
    Ok(())
}

/// `dondoc register list`.
pub async fn run_register(
    connection: &ProgressConnection,
    command: RegisterCommand,
    ui: Ui,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = client::progress(connection).await?;
    let (year, outgoing) = match command {
        RegisterCommand::List { year, outgoing } => (year, outgoing),
        RegisterCommand::Add(args) => {
            let content = std::fs::read(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let request = pb::RegisterDocumentRequest {
                request_id: connection
                    .request_id
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
                document_type: args.document_type,
                issuer_number: args.number,
                symbol: args.symbol,
                issued_on: args.issued_on.to_string(),
                summary: args.summary,
                issuing_body: args.issuing_body,
                signer: args.signer,
                urgency: pb::Priority::Normal as i32,
                secrecy: pb::Secrecy::Normal as i32,
                task_id: args.task,
                file_name: args
                    .file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                media_type: String::new(),
                content,
            };
            let what = ui.t("Đăng ký văn bản không thành công", "registration failed");
            let document = if args.outgoing {
                client.register_outgoing_document(request).await
            } else {
                client.register_incoming_document(request).await
            }
            .context(what)?
            .into_inner();
            if ui.format == OutputFormat::Json {
                return write_json(
                    out,
                    &json!({
                        "document_id": document.document_id,
                        "number": document.number,
                        "number_label": document.number_label,
                        "sha256": document.sha256,
                    }),
                );
            }
            write_fields(
                out,
                &[
                    (ui.t("Số đăng ký", "Number"), document.number_label.clone()),
                    (
                        ui.t("Mã văn bản", "Document id"),
                        document.document_id.clone(),
                    ),
                    ("SHA-256", document.sha256.clone()),
                ],
            )?;
            return Ok(());
        }
    };
    let year = year.unwrap_or_else(|| {
        use chrono::Datelike as _;
        dondoc_runtime::clock::business_date(chrono::Utc::now()).year()
    });
    let register = if outgoing {
        pb::RegisterKind::Outgoing
    } else {
        pb::RegisterKind::Incoming
    };
    let documents = client
        .list_register(pb::ListRegisterRequest {
            register: register as i32,
            year,
        })
        .await
        .context(ui.t("Không lấy được sổ văn bản", "ListRegister failed"))?
        .into_inner()
        .documents;
    if ui.format == OutputFormat::Json {
        let list: Vec<Value> = documents
            .iter()
            .map(|d| {
                json!({
                    "document_id": d.document_id,
                    "number": d.number,
                    "number_label": d.number_label,
                    "document_type": d.document_type,
                    "issued_on": d.issued_on,
                    "summary": d.summary,
                    "issuing_body": d.issuing_body,
                    "task_id": d.task_id,
                    "sha256": d.sha256,
                })
            })
            .collect();
        return write_json(out, &Value::Array(list));
    }
    let lang = ui.lang;
    let rows: Vec<Vec<String>> = documents
        .iter()
        .map(|d| {
            let issuer_reference = if d.issuer_number.is_empty() {
                d.symbol.clone()
            } else {
                format!("{}/{}", d.issuer_number, d.symbol)
            };
            vec![
                d.number_label.clone(),
                lang.iso_date(&d.registered_on),
                d.document_type.clone(),
                issuer_reference,
                lang.iso_date(&d.issued_on),
                d.issuing_body.clone(),
                d.summary.clone(),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            ui.t("Số", "No."),
            ui.t("Ngày đăng ký", "Registered"),
            ui.t("Tên loại", "Type"),
            ui.t("Số, ký hiệu", "Reference"),
            ui.t("Ngày ban hành", "Issued"),
            ui.t("Cơ quan ban hành", "Issued by"),
            ui.t("Trích yếu", "Summary"),
        ],
        &rows,
    )?;
    Ok(())
}
