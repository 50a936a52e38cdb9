//! `dondoc case`: discipline proposals through the discipline service — the Office opens,
//! amends, submits and withdraws; Home Affairs gives its opinion; the Chairman decides. Every
//! change prints the case as it now stands; every `show`/`list` is recorded by the service.

use std::io::Write;

use anyhow::Context as _;
use dondoc_proto::v1 as pb;
use serde_json::{Value, json};

use crate::cli::{CaseCommand, CaseDocumentArgs, DisciplineConnection};
use crate::client;
use crate::escalation::parse_as_of;
use crate::i18n::Lang;
use crate::output::{OutputFormat, Ui, write_fields, write_json, write_table};

fn state_label(lang: Lang, state: &str) -> String {
    let (vi, en) = match state {
        "draft" => ("Dự thảo", "draft"),
        "opinion_given" => ("Đã có ý kiến Sở Nội vụ", "Home Affairs' opinion given"),
        "submitted" => ("Đã trình Chủ tịch", "submitted to the Chairman"),
        "decided" => ("Đã quyết định", "decided"),
        "withdrawn" => ("Đã rút", "withdrawn"),
        other => (other, other),
    };
    lang.pick(vi, en).to_owned()
}

fn document(args: CaseDocumentArgs) -> Option<pb::SourceDocument> {
    Some(pb::SourceDocument {
        number: args.doc_number?,
        symbol: args.doc_symbol.unwrap_or_default(),
        date: args.doc_date.map(|d| d.to_string()).unwrap_or_default(),
        summary: args.doc_summary.unwrap_or_default(),
    })
}

/// A case for scripts: codes and ISO dates, the same in both languages.
fn case_json(c: &pb::Case) -> Value {
    let target = c.target.clone().unwrap_or_default();
    json!({
        "case_id": c.case_id,
        "state": c.state,
        "redacted": c.redacted,
        "unit": target.unit,
        "person_name": target.person_name,
        "person_title": target.person_title,
        "group": target.group,
        "detected_on": c.detected_on,
        "regime": c.regime,
        "allowed_forms": c.allowed_forms,
        "decide_by": c.decide_by,
        "days_left": c.days_left,
        "summary": c.summary,
        "task_ids": c.task_ids,
        "evidence": c.evidence.iter().map(|e| json!({
            "event_id": e.event_id, "source": e.source, "kind": e.kind,
            "task_id": e.task_id, "occurred_on": e.occurred_on,
        })).collect::<Vec<_>>(),
        "decision": c.decision.as_ref().map(|d| json!({"form": d.form, "reasons": d.reasons, "decided_on": d.decided_on})),
        "version": c.version,
    })
}

fn write_case(out: &mut impl Write, c: &pb::Case, ui: Ui) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        return write_json(out, &case_json(c));
    }
    let lang = ui.lang;
    let target = c.target.clone().unwrap_or_default();
    let mut fields = vec![
        (ui.t("Hồ sơ", "Case"), c.case_id.clone()),
        (ui.t("Trạng thái", "State"), state_label(lang, &c.state)),
        (ui.t("Đơn vị", "Unit"), target.unit.clone()),
    ];
    if c.redacted {
        write_fields(out, &fields)?;
        writeln!(
            out,
            "{}",
            ui.t(
                "(Nội dung hồ sơ chỉ Văn phòng, Sở Nội vụ và Chủ tịch UBND thành phố được xem.)",
                "(Only the Office, Home Affairs and the Chairman read the case.)"
            )
        )?;
        return Ok(());
    }
    let decision = c.decision.clone().map(|d| {
        if d.form.is_empty() {
            ui.t("Không kỷ luật", "no discipline").to_owned()
        } else {
            d.form
        }
    });
    fields.extend([
        (ui.t("Người", "Person"), target.person_name.clone()),
        (ui.t("Chức vụ", "Post"), target.person_title.clone()),
        (
            ui.t("Ngày phát hiện", "Detected"),
            lang.iso_date(&c.detected_on),
        ),
        (ui.t("Văn bản áp dụng", "Regime"), c.regime.clone()),
        (ui.t("Hình thức", "Forms"), c.allowed_forms.join(", ")),
        (
            ui.t("Hạn quyết định", "Decide by"),
            format!(
                "{} ({} {})",
                lang.iso_date(&c.decide_by),
                c.days_left,
                ui.t("ngày", "days")
            ),
        ),
        (ui.t("Tóm tắt", "Summary"), c.summary.clone()),
        (ui.t("Quyết định", "Decision"), decision.unwrap_or_default()),
    ]);
    write_fields(out, &fields)?;
    if !c.evidence.is_empty() {
        writeln!(out)?;
        let rows: Vec<Vec<String>> = c
            .evidence
            .iter()
            .map(|e| {
                vec![
                    lang.iso_date(&e.occurred_on),
                    e.kind.clone(),
                    e.task_id.clone(),
                    e.source.clone(),
                    e.event_id.clone(),
                ]
            })
            .collect();
        write_table(
            out,
            &[
                ui.t("Ngày", "Date"),
                ui.t("Chứng cứ", "Evidence"),
                ui.t("Nhiệm vụ", "Task"),
                ui.t("Nguồn", "Source"),
                ui.t("Mã sự kiện", "Event id"),
            ],
            &rows,
        )?;
    }
    Ok(())
}

pub async fn run(
    connection: &DisciplineConnection,
    command: CaseCommand,
    ui: Ui,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = client::discipline(connection).await?;
    let request_id = connection
        .request_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let failed = |vi: &str| {
        format!(
            "{vi} ({} {request_id})",
            ui.t(
                "có thể gửi lại an toàn với --request-id",
                "retry safely with --request-id"
            )
        )
    };
    let case = match command {
        CaseCommand::Open {
            unit,
            group,
            person,
            title,
            detected_on,
            summary,
            tasks,
            evidence,
        } => client
            .open_case(pb::OpenCaseRequest {
                request_id: request_id.clone(),
                target: Some(pb::CaseTarget {
                    unit,
                    person_name: person.unwrap_or_default(),
                    person_title: title.unwrap_or_default(),
                    group: group.unwrap_or_default(),
                }),
                detected_on: detected_on.map(|d| d.to_string()).unwrap_or_default(),
                summary,
                task_ids: tasks,
                evidence_event_ids: evidence,
            })
            .await
            .with_context(|| failed("Không mở được hồ sơ"))?,
        CaseCommand::Show { case_id } => client
            .get_case(pb::GetCaseRequest { case_id })
            .await
            .context(ui.t("Không lấy được hồ sơ", "GetCase failed"))?,
        CaseCommand::List { unit, state } => {
            let list = client
                .list_cases(pb::ListCasesRequest {
                    unit: unit.unwrap_or_default(),
                    state: state.unwrap_or_default(),
                })
                .await
                .context(ui.t("Không lấy được danh sách hồ sơ", "ListCases failed"))?
                .into_inner();
            if ui.format == OutputFormat::Json {
                return write_json(
                    out,
                    &Value::Array(list.cases.iter().map(case_json).collect()),
                );
            }
            let rows: Vec<Vec<String>> = list
                .cases
                .iter()
                .map(|c| {
                    vec![
                        c.case_id.clone(),
                        c.target.clone().unwrap_or_default().unit,
                        state_label(ui.lang, &c.state),
                        ui.lang.iso_date(&c.decide_by),
                    ]
                })
                .collect();
            write_table(
                out,
                &[
                    ui.t("Hồ sơ", "Case"),
                    ui.t("Đơn vị", "Unit"),
                    ui.t("Trạng thái", "State"),
                    ui.t("Hạn quyết định", "Decide by"),
                ],
                &rows,
            )?;
            return Ok(());
        }
        CaseCommand::Amend {
            case_id,
            summary,
            evidence,
        } => client
            .amend_case(pb::AmendCaseRequest {
                request_id: request_id.clone(),
                case_id,
                expected_version: 0,
                summary: summary.unwrap_or_default(),
                target: None,
                add_evidence_event_ids: evidence,
            })
            .await
            .with_context(|| failed("Không sửa được hồ sơ"))?,
        CaseCommand::Opinion {
            case_id,
            disagree,
            form,
            opinion,
            document: doc,
        } => client
            .record_home_affairs_opinion(pb::RecordHomeAffairsOpinionRequest {
                request_id: request_id.clone(),
                case_id,
                expected_version: 0,
                agrees: !disagree,
                recommended_form: form.unwrap_or_default(),
                opinion,
                document: document(doc),
            })
            .await
            .with_context(|| failed("Không ghi nhận được ý kiến"))?,
        CaseCommand::Submit { case_id } => client
            .submit_to_chairman(pb::SubmitToChairmanRequest {
                request_id: request_id.clone(),
                case_id,
                expected_version: 0,
            })
            .await
            .with_context(|| failed("Không trình được hồ sơ"))?,
        CaseCommand::Extend { case_id, reason } => client
            .extend_processing(pb::ExtendProcessingRequest {
                request_id: request_id.clone(),
                case_id,
                expected_version: 0,
                reason,
            })
            .await
            .with_context(|| failed("Không kéo dài được thời hạn"))?,
        CaseCommand::Decide {
            case_id,
            form,
            no_discipline: _,
            reasons,
            document: doc,
        } => client
            .decide_case(pb::DecideCaseRequest {
                request_id: request_id.clone(),
                case_id,
                expected_version: 0,
                form: form.unwrap_or_default(),
                reasons,
                document: document(doc),
            })
            .await
            .with_context(|| failed("Không ghi nhận được quyết định"))?,
        CaseCommand::Withdraw {
            case_id,
            reason,
            objective_cause,
        } => client
            .withdraw_case(pb::WithdrawCaseRequest {
                request_id: request_id.clone(),
                case_id,
                expected_version: 0,
                reason,
                objective_cause,
            })
            .await
            .with_context(|| failed("Không rút được hồ sơ"))?,
        CaseCommand::Audit { case_id } => {
            let audit = client
                .get_case_audit(pb::GetCaseAuditRequest { case_id })
                .await
                .context(ui.t("Không lấy được nhật ký truy cập", "GetCaseAudit failed"))?
                .into_inner();
            let rows: Vec<Vec<String>> = audit
                .reads
                .iter()
                .map(|r| {
                    vec![
                        ui.lang.timestamp(r.at.as_ref()),
                        r.subject.clone(),
                        r.role.clone(),
                        r.how.clone(),
                    ]
                })
                .collect();
            write_table(
                out,
                &[
                    ui.t("Lúc", "At"),
                    ui.t("Người đọc", "Reader"),
                    ui.t("Vai trò", "Role"),
                    ui.t("Cách đọc", "How"),
                ],
                &rows,
            )?;
            return Ok(());
        }
        CaseCommand::Clocks { as_of } => {
            let as_of = as_of.as_deref().map(parse_as_of).transpose()?;
            let warned = client
                .evaluate_case_clocks(pb::EvaluateCaseClocksRequest {
                    as_of: as_of.map(|t| dondoc_proto::Timestamp {
                        seconds: t.timestamp(),
                        nanos: 0,
                    }),
                })
                .await
                .context(ui.t("Không kiểm tra được thời hạn", "EvaluateCaseClocks failed"))?
                .into_inner();
            for w in &warned.warnings {
                writeln!(
                    out,
                    "{} {} — {} {} ({} {})",
                    ui.t("Hồ sơ", "Case"),
                    w.case_id,
                    ui.t("hạn quyết định", "decide by"),
                    ui.lang.iso_date(&w.due_on),
                    w.days_left,
                    ui.t("ngày", "days")
                )?;
            }
            writeln!(
                out,
                "{} {}",
                warned.warnings.len(),
                ui.t("cảnh báo mới", "new warnings")
            )?;
            return Ok(());
        }
    }
    .into_inner();
    write_case(out, &case, ui)
}
