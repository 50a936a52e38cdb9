//! `dondoc board`: the task board of the reporting service (tasks per lead unit and status).

use std::io::Write;

use anyhow::Context as _;
use dondoc_proto::v1 as pb;
use serde_json::json;

use crate::cli::BoardArgs;
use crate::client;
use crate::i18n;
use crate::output::{OutputFormat, Ui, machine_label, write_json, write_table};

pub async fn run(args: BoardArgs, ui: Ui, out: &mut impl Write) -> anyhow::Result<()> {
    let mut client = client::reporting(&args.reporting_endpoint, &args.credentials).await?;
    let board = client
        .get_task_board(pb::GetTaskBoardRequest {
            unit: args.unit.unwrap_or_default(),
        })
        .await
        .context(ui.t(
            "Không lấy được bảng theo dõi (GetTaskBoard)",
            "GetTaskBoard failed",
        ))?
        .into_inner();
    write_board(out, &board, ui)
}

fn write_board(out: &mut impl Write, board: &pb::TaskBoard, ui: Ui) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        let rows: Vec<_> = board
            .rows
            .iter()
            .map(|row| {
                json!({
                    "unit": row.unit,
                    "status": machine_label(row.status().as_str_name(), "TASK_STATUS_"),
                    "tasks": row.tasks,
                })
            })
            .collect();
        return write_json(
            out,
            &json!({
                "rows": rows,
                "total_tasks": board.total_tasks,
                "events_applied": board.events_applied,
            }),
        );
    }
    let rows: Vec<Vec<String>> = board
        .rows
        .iter()
        .map(|row| {
            vec![
                row.unit.clone(),
                i18n::status(ui.lang, row.status()).to_owned(),
                row.tasks.to_string(),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            ui.t("Đơn vị", "unit"),
            ui.t("Trạng thái", "status"),
            ui.t("Số nhiệm vụ", "tasks"),
        ],
        &rows,
    )?;
    // The event count tells an operator whether the board is still catching up with the
    // assignment service: it lags by whatever the relay and consumer have not yet delivered.
    writeln!(
        out,
        "\n{}: {}\n{}: {}",
        ui.t("Tổng số nhiệm vụ", "total tasks"),
        board.total_tasks,
        ui.t("Số sự kiện đã xử lý", "events applied"),
        board.events_applied
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn render(ui: Ui) -> String {
        let board = pb::TaskBoard {
            rows: vec![pb::TaskBoardRow {
                unit: "SXD".to_owned(),
                status: pb::TaskStatus::InProgress.into(),
                tasks: 3,
            }],
            total_tasks: 3,
            events_applied: 7,
        };
        let mut out = Vec::new();
        write_board(&mut out, &board, ui).expect("writes");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn the_board_reads_in_vietnamese() {
        assert_eq!(
            render(Ui::default()),
            "ĐƠN VỊ  TRẠNG THÁI      SỐ NHIỆM VỤ\n\
             SXD     Đang thực hiện  3\n\
             \nTổng số nhiệm vụ: 3\nSố sự kiện đã xử lý: 7\n"
        );
    }

    #[test]
    fn the_board_reads_in_english() {
        let ui = Ui {
            lang: Lang::En,
            ..Ui::default()
        };

        assert_eq!(
            render(ui),
            "UNIT  STATUS       TASKS\n\
             SXD   in progress  3\n\
             \ntotal tasks: 3\nevents applied: 7\n"
        );
    }
}
