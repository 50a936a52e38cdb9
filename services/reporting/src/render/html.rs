//! The periodic report as an official document in HTML (Decree 30/2020/NĐ-CP, Appendix I):
//! the issuing body and the national title (Quốc hiệu – Tiêu ngữ) side by side, số/ký hiệu,
//! place and date, the document type and its summary (tên loại, trích yếu), the body with its
//! tables, the signature block and the recipients (nơi nhận) — printable on A4, with the charts
//! drawn as inline SVG so the file stands alone.

use dondoc_proto::v1 as pb;

use super::RenderError;
use super::text::{pct, shown, vi_date};

/// Escapes text for HTML.
fn esc(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart: one bar per (label, value), values 0–`max`.
fn bar_chart(title: &str, bars: &[(String, f64)], max: f64, suffix: &str) -> String {
    let row_height = 22.0;
    let label_width = 220.0;
    let bar_width = 360.0;
    let height = row_height * bars.len() as f64 + 30.0;
    let mut svg = format!(
        "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" \
         width=\"640\" height=\"{height}\" viewBox=\"0 0 640 {height}\">\
         <text x=\"0\" y=\"14\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        esc(title),
        esc(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 24.0 + row_height * i as f64;
        let w = if max > 0.0 {
            (value / max).clamp(0.0, 1.0) * bar_width
        } else {
            0.0
        };
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>\
             <rect x=\"{label_width}\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"#1f4e79\"/>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{}{suffix}</text>",
            y + 12.0,
            esc(label),
            label_width + w + 6.0,
            y + 12.0,
            value.to_string().replace('.', ",")
        ));
    }
    svg.push_str("</svg></figure>");
    svg
}

/// A series of the trend chart: its name, colour and the figure it draws.
type Series = (&'static str, &'static str, fn(&pb::TrendPoint) -> u64);

/// Columns per period, oldest first: completed on time, completed late and overdue, each
/// period as of its own cut-off.
fn trend_chart(points: &[pb::TrendPoint]) -> String {
    if points.is_empty() {
        return String::new();
    }
    let series: [Series; 3] = [
        ("Hoàn thành đúng hạn", "#2e7d32", |p| {
            p.completed_on_time
        }),
        ("Hoàn thành quá hạn", "#f9a825", |p| p.completed_late),
        ("Quá hạn chưa hoàn thành", "#c62828", |p| p.overdue),
    ];
    let most = points
        .iter()
        .flat_map(|p| series.iter().map(move |(_, _, f)| f(p)))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (left, top, plot_h, group_w, bar_w) = (30.0, 52.0, 160.0, 100.0, 24.0);
    let width = left + group_w * points.len() as f64 + 10.0;
    let height = top + plot_h + 40.0;
    let title = "Xu hướng qua các kỳ báo cáo";
    let mut svg = format!(
        "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{title}\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\
         <text x=\"0\" y=\"14\" font-size=\"13\" font-weight=\"bold\">{title}</text>"
    );
    for (i, (name, colour, _)) in series.iter().enumerate() {
        let x = left + 170.0 * i as f64;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"22\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"31\" font-size=\"11\">{name}</text>",
            x + 14.0
        ));
    }
    svg.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#000\"/>",
        top + plot_h,
        width - 10.0,
        top + plot_h
    ));
    for (i, p) in points.iter().enumerate() {
        let x0 = left + group_w * i as f64 + 10.0;
        for (j, (_, colour, value)) in series.iter().enumerate() {
            let v = value(p);
            let h = v as f64 / most * plot_h;
            let x = x0 + bar_w * j as f64;
            let y = top + plot_h - h;
            svg.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y:.1}\" width=\"{}\" height=\"{h:.1}\" fill=\"{colour}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{v}</text>",
                bar_w - 2.0,
                x + bar_w / 2.0 - 1.0,
                y - 2.0
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            x0 + bar_w * 1.5,
            top + plot_h + 16.0,
            esc(&p.title)
        ));
    }
    svg.push_str("</svg></figure>");
    svg
}

fn figures_rows(block: &pb::ReportBlock) -> String {
    let empty = pb::ReportFigures::default();
    let p = block.period.as_ref().unwrap_or(&empty);
    let q = block.previous_period.as_ref().unwrap_or(&empty);
    let y = block.year_to_date.as_ref().unwrap_or(&empty);
    let rows: [(&str, String, String, String); 9] = [
        (
            "Số nhiệm vụ được giao",
            p.assigned.to_string(),
            q.assigned.to_string(),
            y.assigned.to_string(),
        ),
        (
            "Hoàn thành đúng hạn",
            p.completed_on_time.to_string(),
            q.completed_on_time.to_string(),
            y.completed_on_time.to_string(),
        ),
        (
            "Hoàn thành quá hạn",
            p.completed_late.to_string(),
            q.completed_late.to_string(),
            y.completed_late.to_string(),
        ),
        (
            "Hoàn thành (không có thời hạn)",
            p.completed_no_deadline.to_string(),
            q.completed_no_deadline.to_string(),
            y.completed_no_deadline.to_string(),
        ),
        (
            "Đang thực hiện trong hạn",
            p.in_progress_within_term.to_string(),
            q.in_progress_within_term.to_string(),
            y.in_progress_within_term.to_string(),
        ),
        (
            "Đang thực hiện (không có thời hạn)",
            p.in_progress_no_deadline.to_string(),
            q.in_progress_no_deadline.to_string(),
            y.in_progress_no_deadline.to_string(),
        ),
        (
            "Quá hạn chưa hoàn thành",
            p.overdue.to_string(),
            q.overdue.to_string(),
            y.overdue.to_string(),
        ),
        (
            "Tỷ lệ quá hạn / tổng số",
            pct(p.overdue_pct_of_all),
            pct(q.overdue_pct_of_all),
            pct(y.overdue_pct_of_all),
        ),
        (
            "Tỷ lệ quá hạn / nhiệm vụ có thời hạn",
            pct(p.overdue_pct_of_with_deadline),
            pct(q.overdue_pct_of_with_deadline),
            pct(y.overdue_pct_of_with_deadline),
        ),
    ];
    let mut html = String::from(
        "<table><thead><tr><th>Chỉ tiêu</th><th>Trong kỳ</th><th>Kỳ trước</th>\
         <th>Lũy kế từ đầu năm</th></tr></thead><tbody>",
    );
    for (label, a, b, c) in rows {
        html.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{a}</td><td class=\"n\">{b}</td><td class=\"n\">{c}</td></tr>",
            esc(label)
        ));
    }
    html.push_str("</tbody></table>");
    html
}

/// What the document carries beyond the figures: who issues it and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Letterhead {
    pub issuing_body: String,
    pub number_symbol: String,
    pub place: String,
    pub signed_on: chrono::NaiveDate,
    pub signer_title: String,
    pub signer_name: String,
    pub recipients: Vec<String>,
}

/// The report as an official document.
pub fn html(r: &pb::PeriodicReport, head: &Letterhead) -> String {
    let all = r.all.unwrap_or_default();
    let period = all.period.unwrap_or_default();
    let status_bars = vec![
        (
            "Hoàn thành đúng hạn".to_owned(),
            period.completed_on_time as f64,
        ),
        (
            "Hoàn thành quá hạn".to_owned(),
            period.completed_late as f64,
        ),
        (
            "Hoàn thành, không có hạn".to_owned(),
            period.completed_no_deadline as f64,
        ),
        (
            "Đang thực hiện trong hạn".to_owned(),
            period.in_progress_within_term as f64,
        ),
        (
            "Đang thực hiện, không có hạn".to_owned(),
            period.in_progress_no_deadline as f64,
        ),
        ("Quá hạn chưa hoàn thành".to_owned(), period.overdue as f64),
    ];
    let most = status_bars.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let unit_bars: Vec<(String, f64)> = r
        .units
        .iter()
        .filter(|u| u.has_rate)
        .map(|u| (u.name.clone(), u.on_time_rate))
        .collect();
    let mut body = String::new();
    body.push_str(&format!(
        "<h2>I. Tổng hợp chung</h2>{}{}{}",
        figures_rows(&all),
        bar_chart("Tình hình thực hiện trong kỳ", &status_bars, most, ""),
        trend_chart(&r.trend)
    ));
    if let Some(central) = &r.central {
        body.push_str(&format!(
            "<h2>II. Nhiệm vụ Chính phủ, Thủ tướng Chính phủ giao</h2>{}",
            figures_rows(central)
        ));
    }
    body.push_str("<h2>III. Khó khăn, vướng mắc chờ chỉ đạo</h2>");
    if r.difficulties.is_empty() {
        body.push_str("<p>Không có khó khăn, vướng mắc nào chờ chỉ đạo.</p>");
    } else {
        body.push_str("<table><thead><tr><th>Nhiệm vụ</th><th>Đơn vị</th><th>Nội dung</th><th>Ngày báo cáo</th><th>Số ngày làm việc chờ</th></tr></thead><tbody>");
        for d in &r.difficulties {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(&d.title),
                esc(shown(&d.unit_name, &d.unit)),
                esc(&d.description),
                vi_date(&d.reported_on),
                d.working_days_waiting
            ));
        }
        body.push_str("</tbody></table>");
    }
    let actions = r.actions.unwrap_or_default();
    body.push_str(&format!(
        "<h2>IV. Nhắc nhở, phê bình, biểu dương</h2><p>Trong kỳ, lãnh đạo UBND thành phố đã ban \
         hành {} văn bản nhắc nhở, {} văn bản phê bình và {} văn bản biểu dương.</p>",
        actions.reminders, actions.criticisms, actions.commendations
    ));
    let cases = r.cases.clone().unwrap_or_default();
    let forms: Vec<String> = cases
        .by_form
        .iter()
        .map(|(form, n)| format!("{} {n}", esc(form)))
        .collect();
    body.push_str(&format!(
        "<h2>V. Xem xét trách nhiệm, kỷ luật</h2><p>Trong kỳ, {} hồ sơ đề nghị xem xét kỷ luật \
         được lập; {} hồ sơ đã có quyết định ({} không kỷ luật{}); {} hồ sơ được rút do có \
         nguyên nhân khách quan.</p>",
        cases.opened,
        cases.decided,
        cases.no_discipline,
        if forms.is_empty() {
            String::new()
        } else {
            format!("; theo hình thức: {}", forms.join(", "))
        },
        cases.withdrawn
    ));
    let docs = r.documents.clone().unwrap_or_default();
    body.push_str(&format!(
        "<h2>VI. Văn bản và hồ sơ công việc</h2><table><thead><tr><th>Nội dung</th><th>Trong kỳ</th><th>Lũy kế</th></tr></thead><tbody>\
         <tr><td>Văn bản đến được đăng ký</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\
         <tr><td>Văn bản đi được đăng ký</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\
         <tr><td>Hồ sơ công việc đã kết thúc</td><td class=\"n\">{}</td><td></td></tr>\
         <tr><td>Hồ sơ đã nộp lưu</td><td class=\"n\">{}</td><td></td></tr>\
         <tr><td>Nhiệm vụ đã xong, hồ sơ chưa kết thúc</td><td class=\"n\">{}</td><td></td></tr>\
         </tbody></table>",
        docs.incoming,
        docs.incoming_year_to_date,
        docs.outgoing,
        docs.outgoing_year_to_date,
        docs.dossiers_closed,
        docs.dossiers_archived,
        docs.dossiers_awaiting_close
    ));
    if !r.late.is_empty() {
        body.push_str("<h2>VII. Số liệu của kỳ trước được cập nhật sau thời điểm chốt</h2><table><thead><tr><th>Nhiệm vụ</th><th>Nội dung</th><th>Có hiệu lực từ</th><th>Ghi nhận ngày</th></tr></thead><tbody>");
        for l in &r.late {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&l.title),
                match l.what.as_str() {
                    "assigned" => "Giao nhiệm vụ",
                    "deadline" => "Điều chỉnh thời hạn",
                    "completed" => "Hoàn thành",
                    _ => "Khác",
                },
                vi_date(&l.effective_on),
                vi_date(&l.known_on)
            ));
        }
        body.push_str("</tbody></table>");
    }
    let mut annexes = String::new();
    annexes.push_str("<section class=\"annex\"><h2>Phụ lục I. Kết quả theo đơn vị chủ trì (lũy kế)</h2><table><thead><tr><th>Xếp hạng</th><th>Đơn vị</th><th>Được giao</th><th>Đúng hạn</th><th>Quá hạn (đã xong)</th><th>Quá hạn chưa xong</th><th>Tỷ lệ đúng hạn</th></tr></thead><tbody>");
    for u in &r.units {
        let f = u.figures.unwrap_or_default();
        annexes.push_str(&format!(
            "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            if u.rank == 0 { "—".to_owned() } else { u.rank.to_string() },
            esc(&u.name),
            f.assigned,
            f.completed_on_time,
            f.completed_late,
            f.overdue,
            if u.has_rate { pct(u.on_time_rate) } else { "—".to_owned() }
        ));
    }
    annexes.push_str("</tbody></table>");
    annexes.push_str(&bar_chart(
        "Tỷ lệ hoàn thành đúng hạn theo đơn vị (%)",
        &unit_bars,
        100.0,
        "%",
    ));
    annexes.push_str("</section>");
    annexes.push_str("<section class=\"annex\"><h2>Phụ lục II. Danh sách nhiệm vụ quá hạn chưa hoàn thành</h2><table><thead><tr><th>Nhiệm vụ</th><th>Văn bản</th><th>Đơn vị chủ trì</th><th>Thời hạn</th><th>Số ngày làm việc quá hạn</th><th>Đã gia hạn</th></tr></thead><tbody>");
    for o in &r.overdue {
        annexes.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&o.title),
            esc(&o.source_document),
            esc(shown(&o.lead_unit_name, &o.lead_unit)),
            vi_date(&o.deadline),
            o.working_days_overdue,
            if o.extended { "Có" } else { "Không" }
        ));
    }
    annexes.push_str("</tbody></table></section>");
    annexes.push_str("<section class=\"annex\"><h2>Phụ lục III. Mức độ hoàn thành đúng thời hạn (Nghị định 335/2025/NĐ-CP)</h2><table><thead><tr><th>Đơn vị</th><th>Hoàn thành có thời hạn</th><th>Đúng hạn</th><th>Quá hạn</th><th>Quá hạn do nguyên nhân khách quan</th><th>Điểm tiến độ</th></tr></thead><tbody>");
    for s in &r.scorecard {
        annexes.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&s.name),
            s.completed_with_deadline,
            s.on_time,
            s.late,
            s.exempt,
            pct(s.timeliness_pct)
        ));
    }
    annexes.push_str("</tbody></table></section>");
    let recipients: String = head
        .recipients
        .iter()
        .map(|r| format!("<li>{}</li>", esc(r)))
        .collect();
    format!(
        "<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <title>Báo cáo {title}</title><style>\
         @page {{ size: A4; margin: 20mm 15mm 20mm 30mm; }}\
         body {{ font-family: 'Times New Roman', serif; font-size: 13pt; }}\
         .head {{ display: flex; justify-content: space-between; text-align: center; }}\
         .head div {{ width: 48%; }} .upper {{ text-transform: uppercase; font-weight: bold; }}\
         .motto {{ font-weight: bold; text-decoration: underline; }}\
         .date {{ font-style: italic; text-align: right; }} h1 {{ font-size: 14pt; text-align: center; }} h2 {{ font-size: 13pt; margin: 10pt 0 4pt; }}\
         table {{ border-collapse: collapse; width: 100%; margin: 6pt 0; }}\
         th, td {{ border: 1px solid #000; padding: 2pt 4pt; font-size: 12pt; }} .n {{ text-align: right; }}\
         .sign {{ display: flex; justify-content: space-between; margin-top: 18pt; }}\
         .sign div {{ width: 48%; }} .signer {{ text-align: center; font-weight: bold; }}\
         .annex {{ break-before: page; }} figure {{ margin: 6pt 0; break-inside: avoid; }}\
         </style></head><body>\
         <div class=\"head\"><div><div class=\"upper\">{body_name}</div><div>Số: {number}</div></div>\
         <div><div class=\"upper\">Cộng hòa xã hội chủ nghĩa Việt Nam</div>\
         <div class=\"motto\">Độc lập - Tự do - Hạnh phúc</div></div></div>\
         <p class=\"date\">{place}, ngày {d} tháng {m} năm {y}</p>\
         <h1>BÁO CÁO<br>Tình hình thực hiện nhiệm vụ do UBND thành phố giao {title}</h1>\
         <p>Số liệu tính từ ngày {from} đến ngày {to} (Điều 12 Nghị định 09/2019/NĐ-CP); lũy kế \
         từ ngày {year_from}.</p>{body}\
         <div class=\"sign\"><div><b><i>Nơi nhận:</i></b><ul>{recipients}</ul></div>\
         <div class=\"signer\"><div class=\"upper\">{signer_title}</div><br><br><br>\
         <div>{signer_name}</div></div></div>{annexes}</body></html>",
        title = esc(&r.title),
        body_name = esc(&head.issuing_body),
        number = esc(&head.number_symbol),
        place = esc(&head.place),
        d = head.signed_on.format("%d"),
        m = head.signed_on.format("%m"),
        y = head.signed_on.format("%Y"),
        from = vi_date(&r.from),
        to = vi_date(&r.to),
        year_from = vi_date(&r.year_from),
        signer_title = esc(&head.signer_title),
        signer_name = esc(&head.signer_name),
    )
}

/// Headless Chromium, found on `PATH` (`chromium`, `chromium-browser`, `google-chrome`).
pub fn chromium() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium on `html_file` with `args` (sandboxing is off: it runs as whatever
/// user runs the service, often root in a container, where the sandbox cannot start).
pub fn run_chromium(
    chromium: &std::path::Path,
    args: &[String],
    html_file: &std::path::Path,
) -> Result<std::process::Output, RenderError> {
    let output = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ])
        .args(args)
        .arg(format!("file://{}", html_file.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| RenderError::Failed(format!("cannot run {}: {e}", chromium.display())))?;
    if !output.status.success() {
        return Err(RenderError::Failed(format!(
            "{} failed: {}",
            chromium.display(),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(output)
}

/// Prints `html` on A4 through headless Chromium and returns the PDF.
pub fn pdf(html: &str) -> Result<Vec<u8>, RenderError> {
    let chromium = chromium().ok_or(RenderError::ChromiumMissing)?;
    let failed = |what: &str, e: std::io::Error| RenderError::Failed(format!("{what}: {e}"));
    let dir = tempfile::tempdir().map_err(|e| failed("cannot create a temporary directory", e))?;
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).map_err(|e| failed("cannot write the HTML", e))?;
    let out = dir.path().join("report.pdf");
    run_chromium(
        &chromium,
        &[
            format!("--print-to-pdf={}", out.display()),
            "--no-pdf-header-footer".to_owned(),
        ],
        &page,
    )?;
    std::fs::read(&out).map_err(|e| failed("Chromium wrote no PDF", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_report() -> pb::PeriodicReport {
        pb::PeriodicReport {
            title: "tháng 11 năm 2026".into(),
            from: "2026-10-15".into(),
            to: "2026-11-14".into(),
            year_from: "2025-12-15".into(),
            all: Some(pb::ReportBlock {
                period: Some(pb::ReportFigures {
                    assigned: 4,
                    completed_on_time: 1,
                    completed_late: 1,
                    in_progress_no_deadline: 1,
                    overdue: 1,
                    overdue_pct_of_all: 25.0,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            units: vec![pb::ReportRow {
                key: "SXD".into(),
                name: "Sở Xây dựng".into(),
                on_time_rate: 100.0,
                has_rate: true,
                rank: 1,
                figures: None,
            }],
            ..Default::default()
        }
    }

    fn letterhead() -> Letterhead {
        Letterhead {
            issuing_body: "Văn phòng UBND thành phố Hải Phòng".into(),
            number_symbol: "125/BC-VP".into(),
            place: "Hải Phòng".into(),
            signed_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 16).expect("date"),
            signer_title: "Chánh Văn phòng".into(),
            signer_name: "Nguyễn Văn A".into(),
            recipients: vec!["Chủ tịch UBND thành phố".into(), "Lưu: VT".into()],
        }
    }

    /// Chromium is brought by `.ci/run`, which sets `DONDOC_REQUIRE_CHROMIUM=1`; elsewhere a
    /// machine without it skips the rendering tests, saying so.
    fn chromium_or_skip() -> Option<std::path::PathBuf> {
        let found = chromium();
        if found.is_none() {
            assert!(
                std::env::var("DONDOC_REQUIRE_CHROMIUM").is_err(),
                "DONDOC_REQUIRE_CHROMIUM is set but chromium is not on PATH"
            );
            eprintln!("skipped: chromium is not on PATH");
        }
        found
    }

    #[test]
    fn chromium_renders_the_page_with_its_vietnamese_text_and_prints_it_on_a4() {
        let Some(chromium) = chromium_or_skip() else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let page = dir.path().join("report.html");
        let blank = dir.path().join("blank.html");
        std::fs::write(&page, html(&sample_report(), &letterhead())).expect("write");
        std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").expect("write");
        let shot = |file: &std::path::Path, png: &str| {
            let png = dir.path().join(png);
            run_chromium(
                &chromium,
                &[
                    format!("--screenshot={}", png.display()),
                    "--window-size=1240,1754".to_owned(),
                ],
                file,
            )
            .expect("screenshot");
            std::fs::read(&png).expect("a PNG")
        };

        let report_png = shot(&page, "report.png");
        let blank_png = shot(&blank, "blank.png");
        let dom = run_chromium(&chromium, &["--dump-dom".to_owned()], &page).expect("dom");
        let printed = pdf(&html(&sample_report(), &letterhead())).expect("pdf");

        assert!(report_png.starts_with(b"\x89PNG"), "a PNG");
        assert!(
            report_png.len() > 3 * blank_png.len(),
            "the rendered page is not blank: {} bytes against {} for an empty page",
            report_png.len(),
            blank_png.len()
        );
        let dom = String::from_utf8(dom.stdout).expect("utf-8");
        assert!(dom.contains("Độc lập - Tự do - Hạnh phúc"), "{dom}");
        assert!(dom.contains("Sở Xây dựng"));
        assert!(printed.starts_with(b"%PDF"));
        let text = String::from_utf8_lossy(&printed);
        let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
        // The body (letterhead, the summary with its status and trend charts, sections II–VI,
        // signature and nơi nhận) on two A4 pages; each of the three annexes starts a page.
        assert_eq!(pages, 5, "two pages of body and three annexes");
    }

    #[test]
    fn the_report_reads_as_an_official_document_with_inline_charts() {
        let report = pb::PeriodicReport {
            title: "tháng 11 năm 2026".into(),
            from: "2026-10-15".into(),
            to: "2026-11-14".into(),
            year_from: "2025-12-15".into(),
            all: Some(pb::ReportBlock {
                period: Some(pb::ReportFigures {
                    assigned: 4,
                    completed_on_time: 1,
                    overdue: 1,
                    overdue_pct_of_all: 25.0,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            units: vec![pb::ReportRow {
                key: "SXD".into(),
                name: "Sở Xây dựng <Hải Phòng>".into(),
                on_time_rate: 100.0,
                has_rate: true,
                rank: 1,
                figures: None,
            }],
            ..Default::default()
        };
        let head = letterhead();

        let page = html(&report, &head);

        assert!(page.starts_with("<!DOCTYPE html><html lang=\"vi\">"));
        for expected in [
            "Cộng hòa xã hội chủ nghĩa Việt Nam",
            "Độc lập - Tự do - Hạnh phúc",
            "Số: 125/BC-VP",
            "Hải Phòng, ngày 16 tháng 11 năm 2026",
            "Tình hình thực hiện nhiệm vụ do UBND thành phố giao tháng 11 năm 2026",
            "từ ngày 15/10/2026 đến ngày 14/11/2026",
            "<td>Tỷ lệ quá hạn / tổng số</td><td class=\"n\">25,00%</td>",
            "Nơi nhận:",
            "<li>Lưu: VT</li>",
            "Chánh Văn phòng",
            "size: A4",
        ] {
            assert!(page.contains(expected), "{expected} missing");
        }
        assert_eq!(page.matches("<svg").count(), 2, "two inline charts");
        assert!(
            page.contains("Sở Xây dựng &lt;Hải Phòng&gt;"),
            "names are escaped"
        );
        assert!(!page.contains("<Hải Phòng>"));
    }
}
