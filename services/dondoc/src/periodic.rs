//! `dondoc report`: the periodic report to the City People's Committee, as of the cut-off of a
//! Decree 09/2019 period, written as Markdown (Vietnamese, the tables an official reads), CSV
//! (one table after another, for a spreadsheet) or JSON (every figure, for scripts).

use std::io::Write;

use anyhow::{Context as _, bail};
use dondoc_proto::v1 as pb;
use serde_json::{Value, json};

use crate::cli::{ReportArgs, ReportFormat};
use crate::client;
use crate::output::Ui;

/// The request for the period the flags name.
pub fn request(args: &ReportArgs) -> anyhow::Result<pb::GetPeriodicReportRequest> {
    let split = |raw: &str, sep: char, what: &str| -> anyhow::Result<(i32, u32)> {
        let (year, index) = raw
            .split_once(sep)
            .with_context(|| format!("{what} {raw:?}: expected YYYY{sep}n"))?;
        Ok((
            year.parse()
                .with_context(|| format!("{what} {raw:?}: the year"))?,
            index
                .parse()
                .with_context(|| format!("{what} {raw:?}: the number"))?,
        ))
    };
    let (kind, year, index) = if let Some(raw) = &args.period {
        let (year, month) = split(raw, '-', "--period")?;
        ("month", year, month)
    } else if let Some(raw) = &args.quarter {
        let (year, q) = split(
            &raw.to_ascii_uppercase().replace("-Q", "-"),
            '-',
            "--quarter",
        )?;
        ("quarter", year, q)
    } else if let Some(raw) = &args.half {
        let (year, h) = split(&raw.to_ascii_uppercase().replace("-H", "-"), '-', "--half")?;
        match h {
            1 => ("first_half", year, 0),
            2 => ("second_half", year, 0),
            _ => bail!("--half {raw:?}: H1 or H2"),
        }
    } else if let Some(year) = args.nine_months {
        ("nine_months", year, 0)
    } else if let Some(year) = args.year {
        ("year", year, 0)
    } else if let (Some(from), Some(to)) = (args.from, args.to) {
        return Ok(pb::GetPeriodicReportRequest {
            kind: "custom".into(),
            year: chrono::Datelike::year(&to),
            index: 0,
            from: from.to_string(),
            to: to.to_string(),
        });
    } else {
        bail!("name a period: --period, --quarter, --half, --nine-months, --year or --from/--to");
    };
    Ok(pb::GetPeriodicReportRequest {
        kind: kind.into(),
        year,
        index,
        ..Default::default()
    })
}

pub async fn run(args: ReportArgs, ui: Ui, out: &mut impl Write) -> anyhow::Result<()> {
    let request = request(&args)?;
    let mut client = client::reporting(&args.reporting_endpoint, &args.credentials).await?;
    let report = client
        .get_periodic_report(request)
        .await
        .context(ui.t(
            "Không lấy được báo cáo định kỳ (GetPeriodicReport)",
            "GetPeriodicReport failed",
        ))?
        .into_inner();
    let letterhead = crate::periodic_html::Letterhead {
        issuing_body: &args.issuing_body,
        number_symbol: &args.number,
        place: &args.place,
        signed_on: chrono::Utc::now()
            .with_timezone(&dondoc_eventsourcing::clock::business_offset())
            .date_naive(),
        signer_title: &args.signer_title,
        signer_name: &args.signer_name,
        recipients: &["Chủ tịch UBND thành phố (để báo cáo)", "Lưu: VT"],
    };
    let text = match args.format {
        ReportFormat::Md => markdown(&report),
        ReportFormat::Html => crate::periodic_html::html(&report, &letterhead),
        ReportFormat::Xlsx => {
            let out_file = args
                .out_file
                .as_deref()
                .context("--format xlsx writes a file: give --out FILE")?;
            return crate::periodic_xlsx::write(&report, out_file);
        }
        ReportFormat::Pdf => {
            let out_file = args
                .out_file
                .as_deref()
                .context("--format pdf writes a file: give --out FILE")?;
            return crate::periodic_html::pdf(
                &crate::periodic_html::html(&report, &letterhead),
                out_file,
            );
        }
        ReportFormat::Csv => csv(&report),
        ReportFormat::Json => serde_json::to_string_pretty(&report_json(&report))? + "\n",
    };
    match &args.out_file {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}

/// An ISO date as Vietnamese documents write it.
pub(crate) fn vi_date(iso: &str) -> String {
    crate::i18n::Lang::Vi.iso_date(iso)
}

/// "2,12%" as Vietnamese documents write it.
pub(crate) fn pct(v: f64) -> String {
    format!("{v:.2}%").replace('.', ",")
}

const FIGURE_LABELS: [&str; 10] = [
    "Số nhiệm vụ được giao",
    "Hoàn thành đúng hạn",
    "Hoàn thành quá hạn",
    "Hoàn thành (không có thời hạn)",
    "Đang thực hiện trong hạn",
    "Đang thực hiện (không có thời hạn)",
    "Quá hạn chưa hoàn thành",
    "Tỷ lệ quá hạn / tổng số",
    "Tỷ lệ quá hạn / nhiệm vụ có thời hạn",
    "Đã hủy",
];

fn figure_cells(f: &pb::ReportFigures) -> [String; 10] {
    [
        f.assigned.to_string(),
        f.completed_on_time.to_string(),
        f.completed_late.to_string(),
        f.completed_no_deadline.to_string(),
        f.in_progress_within_term.to_string(),
        f.in_progress_no_deadline.to_string(),
        f.overdue.to_string(),
        pct(f.overdue_pct_of_all),
        pct(f.overdue_pct_of_with_deadline),
        f.cancelled.to_string(),
    ]
}

fn block_md(text: &mut String, heading: &str, block: &pb::ReportBlock) {
    let empty = pb::ReportFigures::default();
    let period = figure_cells(block.period.as_ref().unwrap_or(&empty));
    let ytd = figure_cells(block.year_to_date.as_ref().unwrap_or(&empty));
    let previous = figure_cells(block.previous_period.as_ref().unwrap_or(&empty));
    text.push_str(&format!(
        "\n## {heading}\n\n| Chỉ tiêu | Trong kỳ | Kỳ trước | Lũy kế từ đầu năm |\n|---|---:|---:|---:|\n"
    ));
    for (i, label) in FIGURE_LABELS.iter().enumerate() {
        text.push_str(&format!(
            "| {label} | {} | {} | {} |\n",
            period[i], previous[i], ytd[i]
        ));
    }
}

fn rows_md(text: &mut String, heading: &str, who: &str, rows: &[pb::ReportRow]) {
    text.push_str(&format!(
        "\n## {heading}\n\n| Xếp hạng | {who} | Được giao | Đúng hạn | Quá hạn (đã xong) | Quá hạn chưa xong | Tỷ lệ đúng hạn |\n|---:|---|---:|---:|---:|---:|---:|\n"
    ));
    for r in rows {
        let f = r.figures.unwrap_or_default();
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            if r.rank == 0 {
                "—".to_owned()
            } else {
                r.rank.to_string()
            },
            r.name,
            f.assigned,
            f.completed_on_time,
            f.completed_late,
            f.overdue,
            if r.has_rate {
                pct(r.on_time_rate)
            } else {
                "—".to_owned()
            }
        ));
    }
}

/// The report in Markdown, in Vietnamese.
pub fn markdown(r: &pb::PeriodicReport) -> String {
    let mut text = format!(
        "# Báo cáo tình hình thực hiện nhiệm vụ do UBND thành phố giao {}\n\n\
         Số liệu tính từ ngày {} đến ngày {} (Nghị định 09/2019/NĐ-CP, Điều 12); lũy kế từ ngày {}.\n",
        r.title,
        vi_date(&r.from),
        vi_date(&r.to),
        vi_date(&r.year_from)
    );
    if let Some(all) = &r.all {
        block_md(&mut text, "I. Tổng hợp chung", all);
    }
    if let Some(central) = &r.central {
        block_md(
            &mut text,
            "II. Nhiệm vụ Chính phủ, Thủ tướng Chính phủ giao",
            central,
        );
    }
    rows_md(
        &mut text,
        "III. Theo đơn vị chủ trì (lũy kế)",
        "Đơn vị",
        &r.units,
    );
    rows_md(
        &mut text,
        "IV. Theo lãnh đạo giao nhiệm vụ (lũy kế)",
        "Lãnh đạo",
        &r.leaders,
    );
    text.push_str(
        "\n## V. Danh sách nhiệm vụ quá hạn chưa hoàn thành\n\n| Nhiệm vụ | Văn bản | Đơn vị chủ trì | Thời hạn | Số ngày làm việc quá hạn | Nhóm | Đã gia hạn |\n|---|---|---|---|---:|---|---|\n",
    );
    for o in &r.overdue {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            o.title,
            o.source_document,
            o.lead_unit,
            vi_date(&o.deadline),
            o.working_days_overdue,
            o.age_bucket,
            if o.extended { "Có" } else { "Không" }
        ));
    }
    text.push_str(
        "\n## VI. Khó khăn, vướng mắc chờ ý kiến chỉ đạo\n\n| Nhiệm vụ | Đơn vị | Nội dung | Ngày báo cáo | Số ngày làm việc chờ |\n|---|---|---|---|---:|\n",
    );
    for d in &r.difficulties {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            d.title,
            d.unit,
            d.description,
            vi_date(&d.reported_on),
            d.working_days_waiting
        ));
    }
    let actions = r.actions.unwrap_or_default();
    let cases = r.cases.clone().unwrap_or_default();
    text.push_str(&format!(
        "\n## VII. Nhắc nhở, phê bình, biểu dương trong kỳ\n\n- Văn bản nhắc nhở: {}\n- Văn bản phê bình: {}\n- Văn bản biểu dương: {}\n",
        actions.reminders, actions.criticisms, actions.commendations
    ));
    text.push_str(&format!(
        "\n## VIII. Đề nghị xử lý kỷ luật trong kỳ\n\n- Hồ sơ mở: {}\n- Đã quyết định: {} (không kỷ luật: {})\n- Đã rút: {}\n",
        cases.opened, cases.decided, cases.no_discipline, cases.withdrawn
    ));
    for (form, n) in &cases.by_form {
        text.push_str(&format!("- Hình thức {form}: {n}\n"));
    }
    text.push_str(
        "\n## IX. Tiến độ theo Nghị định 335/2025/NĐ-CP\n\n| Đơn vị | Hoàn thành có thời hạn | Đúng hạn | Quá hạn | Quá hạn có lý do khách quan | Điểm tiến độ |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for s in &r.scorecard {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            s.name,
            s.completed_with_deadline,
            s.on_time,
            s.late,
            s.exempt,
            pct(s.timeliness_pct)
        ));
    }
    if !r.late.is_empty() {
        text.push_str(
            "\n## X. Số liệu của kỳ trước ghi nhận muộn (không điều chỉnh báo cáo kỳ trước)\n\n| Nhiệm vụ | Nội dung | Ngày hiệu lực | Ngày ghi nhận |\n|---|---|---|---|\n",
        );
        for l in &r.late {
            let what = match l.what.as_str() {
                "assigned" => "Giao nhiệm vụ",
                "deadline" => "Điều chỉnh thời hạn",
                "completed" => "Hoàn thành",
                other => other,
            };
            text.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                l.title,
                what,
                vi_date(&l.effective_on),
                vi_date(&l.known_on)
            ));
        }
    }
    text
}

fn csv_field(raw: &str) -> String {
    if raw.contains([',', '"', '\n']) {
        format!("\"{}\"", raw.replace('"', "\"\""))
    } else {
        raw.to_owned()
    }
}

/// The report as CSV: the figures of each block, then each table, a blank line between.
pub fn csv(r: &pb::PeriodicReport) -> String {
    let mut text = String::from(
        "block,scope,assigned,completed_on_time,completed_late,completed_no_deadline,in_progress_within_term,in_progress_no_deadline,overdue,overdue_pct_of_all,overdue_pct_of_with_deadline,cancelled\n",
    );
    for (name, block) in [("all", &r.all), ("central", &r.central)] {
        let Some(block) = block else { continue };
        for (scope, f) in [
            ("period", &block.period),
            ("previous_period", &block.previous_period),
            ("year_to_date", &block.year_to_date),
        ] {
            let f = (*f).unwrap_or_default();
            text.push_str(&format!(
                "{name},{scope},{},{},{},{},{},{},{},{},{},{}\n",
                f.assigned,
                f.completed_on_time,
                f.completed_late,
                f.completed_no_deadline,
                f.in_progress_within_term,
                f.in_progress_no_deadline,
                f.overdue,
                f.overdue_pct_of_all,
                f.overdue_pct_of_with_deadline,
                f.cancelled
            ));
        }
    }
    for (name, rows) in [("unit", &r.units), ("leader", &r.leaders)] {
        text.push_str(&format!(
            "\n{name},name,rank,assigned,completed_on_time,completed_late,overdue,on_time_rate\n"
        ));
        for row in rows {
            let f = row.figures.unwrap_or_default();
            text.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                csv_field(&row.key),
                csv_field(&row.name),
                row.rank,
                f.assigned,
                f.completed_on_time,
                f.completed_late,
                f.overdue,
                if row.has_rate {
                    row.on_time_rate.to_string()
                } else {
                    String::new()
                }
            ));
        }
    }
    text.push_str("\ntask_id,title,source_document,lead_unit,deadline,working_days_overdue,age_bucket,extended\n");
    for o in &r.overdue {
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            csv_field(&o.task_id),
            csv_field(&o.title),
            csv_field(&o.source_document),
            csv_field(&o.lead_unit),
            o.deadline,
            o.working_days_overdue,
            o.age_bucket,
            o.extended
        ));
    }
    text.push_str("\nunit,name,completed_with_deadline,on_time,late,exempt,timeliness_pct\n");
    for s in &r.scorecard {
        text.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            csv_field(&s.unit),
            csv_field(&s.name),
            s.completed_with_deadline,
            s.on_time,
            s.late,
            s.exempt,
            s.timeliness_pct
        ));
    }
    text
}

fn figures_json(f: &Option<pb::ReportFigures>) -> Value {
    let f = (*f).unwrap_or_default();
    json!({
        "assigned": f.assigned,
        "completed_on_time": f.completed_on_time,
        "completed_late": f.completed_late,
        "completed_no_deadline": f.completed_no_deadline,
        "in_progress_within_term": f.in_progress_within_term,
        "in_progress_no_deadline": f.in_progress_no_deadline,
        "overdue": f.overdue,
        "cancelled": f.cancelled,
        "overdue_pct_of_all": f.overdue_pct_of_all,
        "overdue_pct_of_with_deadline": f.overdue_pct_of_with_deadline,
    })
}

fn block_json(b: &Option<pb::ReportBlock>) -> Value {
    let b = (*b).unwrap_or_default();
    json!({
        "period": figures_json(&b.period),
        "previous_period": figures_json(&b.previous_period),
        "year_to_date": figures_json(&b.year_to_date),
    })
}

fn rows_json(rows: &[pb::ReportRow]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                json!({
                    "key": r.key,
                    "name": r.name,
                    "rank": r.rank,
                    "on_time_rate": if r.has_rate { json!(r.on_time_rate) } else { Value::Null },
                    "figures": figures_json(&r.figures),
                })
            })
            .collect(),
    )
}

/// Every figure, keys the same in both languages.
pub fn report_json(r: &pb::PeriodicReport) -> Value {
    json!({
        "title": r.title,
        "from": r.from,
        "to": r.to,
        "year_from": r.year_from,
        "all": block_json(&r.all),
        "central": block_json(&r.central),
        "units": rows_json(&r.units),
        "leaders": rows_json(&r.leaders),
        "difficulties": r.difficulties.iter().map(|d| json!({
            "task_id": d.task_id,
            "unit": d.unit,
            "reported_on": d.reported_on,
            "working_days_waiting": d.working_days_waiting,
        })).collect::<Vec<_>>(),
        "actions": r.actions.map(|a| json!({
            "reminders": a.reminders,
            "criticisms": a.criticisms,
            "commendations": a.commendations,
        })),
        "cases": r.cases.as_ref().map(|c| json!({
            "opened": c.opened,
            "decided": c.decided,
            "no_discipline": c.no_discipline,
            "withdrawn": c.withdrawn,
            "by_form": c.by_form,
        })),
        "scorecard": r.scorecard.iter().map(|s| json!({
            "unit": s.unit,
            "completed_with_deadline": s.completed_with_deadline,
            "on_time": s.on_time,
            "late": s.late,
            "exempt": s.exempt,
            "timeliness_pct": s.timeliness_pct,
        })).collect::<Vec<_>>(),
        "late": r.late.iter().map(|l| json!({
            "task_id": l.task_id,
            "what": l.what,
            "effective_on": l.effective_on,
            "known_on": l.known_on,
        })).collect::<Vec<_>>(),
        "overdue": r.overdue.iter().map(|o| json!({
            "task_id": o.task_id,
            "title": o.title,
            "source_document": o.source_document,
            "lead_unit": o.lead_unit,
            "deadline": o.deadline,
            "working_days_overdue": o.working_days_overdue,
            "age_bucket": o.age_bucket,
            "extended": o.extended,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command, OperatorCommand};

    fn args(flags: &[&str]) -> ReportArgs {
        let mut argv = vec!["dondoc", "report"];
        argv.extend_from_slice(flags);
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Operator(OperatorCommand::Report(args)) => args,
            other => panic!("not a report: {other:?}"),
        }
    }

    fn asked(flags: &[&str]) -> (String, i32, u32) {
        let r = request(&args(flags)).expect("a request");
        (r.kind, r.year, r.index)
    }

    #[test]
    fn each_flag_names_its_period() {
        assert_eq!(asked(&["--period", "2026-11"]), ("month".into(), 2026, 11));
        assert_eq!(
            asked(&["--quarter", "2026-Q3"]),
            ("quarter".into(), 2026, 3)
        );
        assert_eq!(
            asked(&["--half", "2026-H2"]),
            ("second_half".into(), 2026, 0)
        );
        assert_eq!(
            asked(&["--nine-months", "2026"]),
            ("nine_months".into(), 2026, 0)
        );
        assert_eq!(asked(&["--year", "2025"]), ("year".into(), 2025, 0));
        let custom = request(&args(&["--from", "2026-11-01", "--to", "2026-11-30"])).expect("ok");
        assert_eq!(
            (
                custom.kind.as_str(),
                custom.from.as_str(),
                custom.to.as_str()
            ),
            ("custom", "2026-11-01", "2026-11-30")
        );
        assert!(request(&args(&["--half", "2026-H3"])).is_err());
        assert!(
            Cli::try_parse_from(["dondoc", "report"]).is_err(),
            "a period is required"
        );
    }

    fn sample() -> pb::PeriodicReport {
        let f = pb::ReportFigures {
            assigned: 4,
            completed_on_time: 1,
            completed_late: 1,
            overdue: 1,
            in_progress_no_deadline: 1,
            overdue_pct_of_all: 25.0,
            overdue_pct_of_with_deadline: 33.33,
            ..Default::default()
        };
        pb::PeriodicReport {
            title: "tháng 11 năm 2026".into(),
            from: "2026-10-15".into(),
            to: "2026-11-14".into(),
            year_from: "2025-12-15".into(),
            all: Some(pb::ReportBlock {
                period: Some(f),
                year_to_date: Some(f),
                previous_period: None,
            }),
            central: None,
            units: vec![pb::ReportRow {
                key: "SXD".into(),
                name: "Sở Xây dựng".into(),
                figures: None,
                on_time_rate: 100.0,
                has_rate: true,
                rank: 1,
            }],
            leaders: Vec::new(),
            overdue: vec![pb::OverdueTask {
                task_id: "t".into(),
                title: "Thẩm định dự toán, \"gấp\"".into(),
                source_document: "4521/UBND-XD".into(),
                lead_unit: "STC".into(),
                deadline: "2026-11-12".into(),
                working_days_overdue: 1,
                age_bucket: "1-5".into(),
                extended: false,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_markdown_reads_as_the_offices_report() {
        let text = markdown(&sample());

        assert!(text.starts_with(
            "# Báo cáo tình hình thực hiện nhiệm vụ do UBND thành phố giao tháng 11 năm 2026"
        ));
        assert!(
            text.contains("từ ngày 15/10/2026 đến ngày 14/11/2026"),
            "{text}"
        );
        assert!(
            text.contains("| Quá hạn chưa hoàn thành | 1 | 0 | 1 |"),
            "{text}"
        );
        assert!(
            text.contains("| Tỷ lệ quá hạn / nhiệm vụ có thời hạn | 33,33% |"),
            "{text}"
        );
        assert!(
            text.contains("| 1 | Sở Xây dựng | 0 | 0 | 0 | 0 | 100,00% |"),
            "{text}"
        );
        assert!(text.contains("| 12/11/2026 | 1 | 1-5 | Không |"), "{text}");
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_json_keeps_every_figure() {
        let text = csv(&sample());
        assert!(
            text.contains("all,period,4,1,1,0,0,1,1,25,33.33,0"),
            "{text}"
        );
        assert!(
            text.contains("\"Thẩm định dự toán, \"\"gấp\"\"\""),
            "{text}"
        );
        let json = report_json(&sample());
        assert_eq!(json["all"]["period"]["overdue_pct_of_with_deadline"], 33.33);
        assert_eq!(json["units"][0]["on_time_rate"], 100.0);
    }
}
