//! The periodic report as text: Markdown (Vietnamese, the tables an official reads), CSV
//! (one table after another, for a spreadsheet) and JSON (every figure, for scripts).

use dondoc_proto::v1 as pb;
use serde_json::{Value, json};

/// An ISO date as Vietnamese documents write it.
pub(crate) fn vi_date(iso: &str) -> String {
    match chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d") {
        Ok(date) => date.format("%d/%m/%Y").to_string(),
        Err(_) => iso.to_owned(),
    }
}

/// A unit as the report shows it: its name, or its code when the directory had none.
pub(crate) fn shown<'a>(name: &'a str, code: &'a str) -> &'a str {
    if name.is_empty() { code } else { name }
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
            shown(&o.lead_unit_name, &o.lead_unit),
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
            shown(&d.unit_name, &d.unit),
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
    let docs = r.documents.clone().unwrap_or_default();
    text.push_str(&format!(
        "\n## IX. Văn bản và hồ sơ công việc\n\n| Chỉ tiêu | Trong kỳ | Lũy kế |\n|---|---:|---:|\n\
         | Văn bản đến được đăng ký | {} | {} |\n| Văn bản đi được đăng ký | {} | {} |\n\
         | Hồ sơ công việc đã kết thúc | {} | |\n| Hồ sơ đã nộp lưu | {} | |\n\
         | Nhiệm vụ đã xong, hồ sơ chưa kết thúc | {} | |\n",
        docs.incoming,
        docs.incoming_year_to_date,
        docs.outgoing,
        docs.outgoing_year_to_date,
        docs.dossiers_closed,
        docs.dossiers_archived,
        docs.dossiers_awaiting_close
    ));
    if !r.trend.is_empty() {
        text.push_str(
            "\n## X. Xu hướng qua các kỳ\n\n| Kỳ | Được giao | Hoàn thành đúng hạn | Hoàn thành quá hạn | Quá hạn chưa hoàn thành | Tỷ lệ đúng hạn |\n|---|---:|---:|---:|---:|---:|\n",
        );
        for p in &r.trend {
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                p.title,
                p.assigned,
                p.completed_on_time,
                p.completed_late,
                p.overdue,
                if p.has_rate {
                    pct(p.on_time_rate)
                } else {
                    "—".to_owned()
                }
            ));
        }
    }
    text.push_str(
        "\n## XI. Tiến độ theo Nghị định 335/2025/NĐ-CP\n\n| Đơn vị | Hoàn thành có thời hạn | Đúng hạn | Quá hạn | Quá hạn có lý do khách quan | Điểm tiến độ |\n|---|---:|---:|---:|---:|---:|\n",
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
            "\n## XII. Số liệu của kỳ trước ghi nhận muộn (không điều chỉnh báo cáo kỳ trước)\n\n| Nhiệm vụ | Nội dung | Ngày hiệu lực | Ngày ghi nhận |\n|---|---|---|---|\n",
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
            "title": d.title,
            "unit": d.unit,
            "unit_name": d.unit_name,
            "description": d.description,
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
        "trend": r.trend.iter().map(|p| json!({
            "title": p.title,
            "from": p.from,
            "to": p.to,
            "assigned": p.assigned,
            "completed_on_time": p.completed_on_time,
            "completed_late": p.completed_late,
            "overdue": p.overdue,
            "on_time_rate": p.has_rate.then_some(p.on_time_rate),
        })).collect::<Vec<_>>(),
        "documents": r.documents.as_ref().map(|d| json!({
            "incoming": d.incoming,
            "outgoing": d.outgoing,
            "incoming_year_to_date": d.incoming_year_to_date,
            "outgoing_year_to_date": d.outgoing_year_to_date,
            "outgoing_by_type": d.outgoing_by_type,
            "dossiers_closed": d.dossiers_closed,
            "dossiers_archived": d.dossiers_archived,
            "dossiers_awaiting_close": d.dossiers_awaiting_close,
        })),
        "scorecard": r.scorecard.iter().map(|s| json!({
            "unit": s.unit,
            "name": s.name,
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
            "lead_unit_name": o.lead_unit_name,
            "deadline": o.deadline,
            "working_days_overdue": o.working_days_overdue,
            "age_bucket": o.age_bucket,
            "extended": o.extended,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
                lead_unit_name: "Sở Tài chính".into(),
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
        assert!(
            text.contains("| Sở Tài chính | 12/11/2026 | 1 | 1-5 | Không |"),
            "{text}"
        );
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
