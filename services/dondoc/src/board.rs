//! `dondoc board`: the task board of the reporting service (tasks per lead unit and status).

use std::io::Write;

use anyhow::Context as _;
use dondoc_proto::v1 as pb;

use crate::cli::BoardArgs;
use crate::client;
use crate::output::{status_label, write_table};

pub async fn run(args: BoardArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let mut client = client::reporting(&args.reporting_endpoint, &args.credentials).await?;
    let board = client
        .get_task_board(pb::GetTaskBoardRequest {
            unit: args.unit.unwrap_or_default(),
        })
        .await
        .context("GetTaskBoard failed")?
        .into_inner();
    write_board(out, &board)
}

fn write_board(out: &mut impl Write, board: &pb::TaskBoard) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = board
        .rows
        .iter()
        .map(|row| {
            vec![
                row.unit.clone(),
                status_label(row.status()),
                row.tasks.to_string(),
            ]
        })
        .collect();
    write_table(out, &["UNIT", "STATUS", "TASKS"], &rows)?;
    // The event count tells an operator whether the board is still catching up with the
    // assignment service: it lags by whatever the relay and consumer have not yet delivered.
    writeln!(
        out,
        "\ntotal tasks: {}\nevents applied: {}",
        board.total_tasks, board.events_applied
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_lists_rows_and_totals() {
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

        write_board(&mut out, &board).expect("writes");

        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "UNIT  STATUS       TASKS\n\
             SXD   in-progress  3\n\
             \ntotal tasks: 3\nevents applied: 7\n"
        );
    }
}
