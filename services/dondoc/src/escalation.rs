//! `dondoc escalation` and `dondoc notifications`: the escalation service for operators and
//! for whoever a notice is meant for — evaluate deadlines at an instant, a task's watch, the
//! ladder, the leadership's actions, and notices listed or followed as they are issued.

use std::io::Write;

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, Utc};
use dondoc_proto::v1 as pb;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::cli::{EscalationCommand, EscalationConnection, NotificationsCommand};
use crate::client;
use crate::i18n::Lang;
use crate::output::{OutputFormat, Ui, write_fields, write_json, write_table};

/// `--as-of`: a day is evaluated at noon in Hải Phòng (whatever the server's zone), an
/// RFC 3339 text at that instant.
pub fn parse_as_of(raw: &str) -> anyhow::Result<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let noon = date
            .and_hms_opt(12, 0, 0)
            .context("noon exists every day")?;
        return Ok(DateTime::from_naive_utc_and_offset(noon, Utc) - chrono::Duration::hours(7));
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("--as-of {raw:?} is neither YYYY-MM-DD nor an RFC 3339 instant"))
}

fn kind_label(lang: Lang, kind: &str, level: u32) -> String {
    let (vi, en) = match kind {
        "reminder" => ("Nhắc hạn", "reminder"),
        "overdue" => ("Quá hạn", "overdue"),
        "escalation" if level >= 3 => ("Báo cáo Chủ tịch", "to the Chairman"),
        "escalation" => ("Báo cáo Phó Chủ tịch", "to the Vice-Chairman"),
        "difficulty" => ("Khó khăn chưa chỉ đạo", "difficulty awaiting direction"),
        "coordination" => ("Nhắc phối hợp", "coordination reply due"),
        "inactivity" => ("Chưa báo cáo", "no progress report"),
        other => (other, other),
    };
    lang.pick(vi, en).to_owned()
}

fn recipient(n: &pb::Notification) -> String {
    if n.recipient_unit.is_empty() {
        n.recipient_leader_id.clone()
    } else {
        n.recipient_unit.clone()
    }
}

/// A notice for scripts: codes and ISO dates, the same in both languages.
fn notification_json(n: &pb::Notification) -> Value {
    json!({
        "cursor": n.cursor,
        "notice_id": n.notice_id,
        "task_id": n.task_id,
        "kind": n.kind,
        "level": n.level,
        "due_on": n.due_on,
        "deadline": n.deadline,
        "working_days": n.working_days,
        "lead_unit": n.lead_unit,
        "recipient_unit": n.recipient_unit,
        "recipient_leader_id": n.recipient_leader_id,
        "text": n.text,
        "email_status": n.email_status,
    })
}

fn write_notifications(
    out: &mut impl Write,
    notifications: &[pb::Notification],
    ui: Ui,
) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        return write_json(
            out,
            &Value::Array(notifications.iter().map(notification_json).collect()),
        );
    }
    let lang = ui.lang;
    let rows: Vec<Vec<String>> = notifications
        .iter()
        .map(|n| {
            vec![
                n.cursor.to_string(),
                lang.iso_date(&n.due_on),
                kind_label(lang, &n.kind, n.level),
                n.task_id.clone(),
                n.lead_unit.clone(),
                recipient(n),
                lang.deadline(&n.deadline),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            ui.t("Số", "Cursor"),
            ui.t("Ngày", "Due"),
            ui.t("Loại", "Kind"),
            ui.t("Nhiệm vụ", "Task"),
            ui.t("Chủ trì", "Lead"),
            ui.t("Gửi", "To"),
            ui.t("Thời hạn", "Deadline"),
        ],
        &rows,
    )?;
    Ok(())
}

pub async fn run(
    connection: &EscalationConnection,
    command: EscalationCommand,
    ui: Ui,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = client::escalation(connection).await?;
    match command {
        EscalationCommand::Evaluate { as_of } => {
            let as_of = as_of.as_deref().map(parse_as_of).transpose()?;
            let done = client
                .evaluate_deadlines(pb::EvaluateDeadlinesRequest {
                    as_of: as_of.map(|t| dondoc_proto::Timestamp {
                        seconds: t.timestamp(),
                        nanos: 0,
                    }),
                })
                .await
                .context(ui.t("Không đánh giá được thời hạn", "EvaluateDeadlines failed"))?
                .into_inner();
            if ui.format == OutputFormat::Json {
                return write_json(
                    out,
                    &json!({
                        "business_date": done.business_date,
                        "tasks_watched": done.tasks_watched,
                        "issued": done.issued.iter().map(notification_json).collect::<Vec<_>>(),
                    }),
                );
            }
            writeln!(
                out,
                "{} {}: {} {}, {} {}",
                ui.t("Ngày làm việc", "Business day"),
                ui.lang.iso_date(&done.business_date),
                done.tasks_watched,
                ui.t("nhiệm vụ đang theo dõi", "tasks watched"),
                done.issued.len(),
                ui.t("thông báo mới", "new notices"),
            )?;
            if !done.issued.is_empty() {
                write_notifications(out, &done.issued, ui)?;
            }
            Ok(())
        }
        EscalationCommand::Show { task_id } => {
            let watch = client
                .get_watch(pb::GetWatchRequest { task_id })
                .await
                .context(ui.t("Không lấy được thông tin theo dõi", "GetWatch failed"))?
                .into_inner();
            if ui.format == OutputFormat::Json {
                return write_json(
                    out,
                    &json!({
                        "task_id": watch.task_id,
                        "lead_unit": watch.lead_unit,
                        "deadline": watch.deadline,
                        "state": watch.state,
                        "next_kind": watch.next_kind,
                        "next_due_on": watch.next_due_on,
                        "issued": watch.issued.iter().map(notification_json).collect::<Vec<_>>(),
                    }),
                );
            }
            let lang = ui.lang;
            write_fields(
                out,
                &[
                    (ui.t("Nhiệm vụ", "Task"), watch.task_id.clone()),
                    (ui.t("Trích yếu", "Title"), watch.title.clone()),
                    (ui.t("Chủ trì", "Lead unit"), watch.lead_unit.clone()),
                    (ui.t("Thời hạn", "Deadline"), lang.deadline(&watch.deadline)),
                    (ui.t("Trạng thái", "State"), watch.state.clone()),
                    (
                        ui.t("Tiếp theo", "Next"),
                        if watch.next_kind.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "{} {}",
                                kind_label(lang, &watch.next_kind, 0),
                                lang.iso_date(&watch.next_due_on)
                            )
                        },
                    ),
                ],
            )?;
            if !watch.issued.is_empty() {
                writeln!(out)?;
                write_notifications(out, &watch.issued, ui)?;
            }
            Ok(())
        }
        EscalationCommand::List { min_level, unit } => {
            let list = client
                .list_escalations(pb::ListEscalationsRequest {
                    min_level,
                    lead_unit: unit.unwrap_or_default(),
                })
                .await
                .context(ui.t("Không lấy được danh sách", "ListEscalations failed"))?
                .into_inner();
            write_notifications(out, &list.notifications, ui)
        }
        EscalationCommand::Action {
            kind,
            units,
            tasks,
            number,
            symbol,
            date,
            summary,
            leader,
            note,
        } => {
            let request_id = connection
                .request_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
            let action = client
                .record_leadership_action(pb::RecordLeadershipActionRequest {
                    request_id: request_id.clone(),
                    kind,
                    leader_id: leader.unwrap_or_default(),
                    units,
                    task_ids: tasks,
                    document: Some(pb::SourceDocument {
                        number,
                        symbol,
                        date: date.to_string(),
                        summary,
                    }),
                    note: note.unwrap_or_default(),
                })
                .await
                .with_context(|| {
                    format!(
                        "{} ({} {request_id})",
                        ui.t("Không ghi nhận được", "RecordLeadershipAction failed"),
                        ui.t(
                            "có thể gửi lại an toàn với --request-id",
                            "retry safely with --request-id"
                        )
                    )
                })?
                .into_inner();
            write_actions(out, &[action], ui)
        }
        EscalationCommand::Actions { unit, from, to } => {
            let list = client
                .list_leadership_actions(pb::ListLeadershipActionsRequest {
                    unit: unit.unwrap_or_default(),
                    from: from.map(|d| d.to_string()).unwrap_or_default(),
                    to: to.map(|d| d.to_string()).unwrap_or_default(),
                })
                .await
                .context(ui.t("Không lấy được danh sách", "ListLeadershipActions failed"))?
                .into_inner();
            write_actions(out, &list.actions, ui)
        }
    }
}

fn write_actions(
    out: &mut impl Write,
    actions: &[pb::LeadershipAction],
    ui: Ui,
) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        let list: Vec<Value> = actions
            .iter()
            .map(|a| {
                let d = a.document.clone().unwrap_or_default();
                json!({
                    "action_id": a.action_id,
                    "kind": a.kind,
                    "leader_id": a.leader_id,
                    "units": a.units,
                    "task_ids": a.task_ids,
                    "document": {"number": d.number, "symbol": d.symbol, "date": d.date, "summary": d.summary},
                    "recorded_on": a.recorded_on,
                })
            })
            .collect();
        return write_json(out, &Value::Array(list));
    }
    let lang = ui.lang;
    let rows: Vec<Vec<String>> = actions
        .iter()
        .map(|a| {
            let d = a.document.clone().unwrap_or_default();
            let kind = match a.kind.as_str() {
                "reminder" => lang.pick("Nhắc nhở", "reminder"),
                "criticism" => lang.pick("Phê bình", "criticism"),
                "commendation" => lang.pick("Biểu dương", "commendation"),
                other => other,
            };
            vec![
                lang.iso_date(&a.recorded_on),
                kind.to_owned(),
                format!("{}/{}", d.number, d.symbol),
                a.units.join(", "),
                a.leader_id.clone(),
                d.summary,
            ]
        })
        .collect();
    write_table(
        out,
        &[
            ui.t("Ngày", "Recorded"),
            ui.t("Hình thức", "Kind"),
            ui.t("Số/ký hiệu", "Document"),
            ui.t("Đơn vị", "Units"),
            ui.t("Lãnh đạo", "Leader"),
            ui.t("Trích yếu", "Summary"),
        ],
        &rows,
    )?;
    Ok(())
}

pub async fn run_notifications(
    connection: &EscalationConnection,
    command: NotificationsCommand,
    ui: Ui,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = client::escalation(connection).await?;
    match command {
        NotificationsCommand::List { after, task, limit } => {
            let list = client
                .list_notifications(pb::ListNotificationsRequest {
                    after_cursor: after,
                    limit,
                    task_id: task.unwrap_or_default(),
                })
                .await
                .context(ui.t("Không lấy được thông báo", "ListNotifications failed"))?
                .into_inner();
            write_notifications(out, &list.notifications, ui)
        }
        NotificationsCommand::Watch { after } => {
            let mut stream = client
                .watch_notifications(pb::WatchNotificationsRequest {
                    after_cursor: after,
                })
                .await
                .context(ui.t("Không theo dõi được thông báo", "WatchNotifications failed"))?
                .into_inner();
            while let Some(item) = stream.next().await {
                let n = item.context(ui.t("Mất kết nối", "the stream broke"))?;
                write_watched(out, &n, ui)?;
                out.flush()?;
            }
            bail!(
                "{}",
                ui.t(
                    "Dịch vụ đã đóng luồng thông báo; chạy lại với --after để tiếp tục",
                    "the service closed the stream; run again with --after to resume"
                )
            )
        }
    }
}

/// One notice as it arrives: a line for people, a JSON object per line for scripts.
fn write_watched(out: &mut impl Write, n: &pb::Notification, ui: Ui) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        serde_json::to_writer(&mut *out, &notification_json(n))?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "#{} {} [{}] {} → {}: {}",
        n.cursor,
        ui.lang.iso_date(&n.due_on),
        kind_label(ui.lang, &n.kind, n.level),
        n.task_id,
        recipient(n),
        n.text
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_evaluated_at_noon_in_hai_phong_and_an_instant_as_given() {
        assert_eq!(
            parse_as_of("2026-01-05").expect("a day").to_rfc3339(),
            "2026-01-05T05:00:00+00:00"
        );
        assert_eq!(
            parse_as_of("2026-01-05T08:30:00+07:00")
                .expect("an instant")
                .to_rfc3339(),
            "2026-01-05T01:30:00+00:00"
        );
        let error = parse_as_of("5/1/2026").expect_err("refused");
        assert!(error.to_string().contains("--as-of"), "{error}");
    }

    #[test]
    fn a_watched_notice_reads_as_one_line_in_vietnamese() {
        let n = pb::Notification {
            cursor: 7,
            due_on: "2026-01-05".into(),
            kind: "overdue".into(),
            level: 1,
            task_id: "t-1".into(),
            recipient_unit: "SXD".into(),
            text: "Quá hạn: nhiệm vụ «Báo cáo» đã quá thời hạn.".into(),
            ..Default::default()
        };
        let mut out = Vec::new();

        write_watched(
            &mut out,
            &n,
            Ui {
                lang: Lang::Vi,
                format: OutputFormat::Table,
            },
        )
        .expect("writes");

        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "#7 05/01/2026 [Quá hạn] t-1 → SXD: Quá hạn: nhiệm vụ «Báo cáo» đã quá thời hạn.\n"
        );
    }
}
