//! The periodic report as a workbook (`rust_xlsxwriter`), one sheet per table, for the Office's
//! own spreadsheets: the same figures as the JSON, numbers as numbers.

use dondoc_proto::v1 as pb;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::text::shown;

/// Why the workbook could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    #[error(transparent)]
    Xlsx(#[from] XlsxError),
    #[error("the report has more rows than a sheet holds")]
    TooLarge(#[from] std::num::TryFromIntError),
}

/// Sheet names (Excel allows 31 characters and no `/`).
pub const SHEETS: [&str; 9] = [
    "Tổng hợp",
    "Chính phủ, Thủ tướng",
    "Đơn vị",
    "Lãnh đạo",
    "Quá hạn",
    "Khó khăn",
    "Tiến độ NĐ 335",
    "Xu hướng",
    "Văn bản, hồ sơ",
];

const FIGURES: [&str; 10] = [
    "Số nhiệm vụ được giao",
    "Hoàn thành đúng hạn",
    "Hoàn thành quá hạn",
    "Hoàn thành (không có thời hạn)",
    "Đang thực hiện trong hạn",
    "Đang thực hiện (không có thời hạn)",
    "Quá hạn chưa hoàn thành",
    "Đã hủy",
    "Tỷ lệ quá hạn / tổng số (%)",
    "Tỷ lệ quá hạn / nhiệm vụ có thời hạn (%)",
];

fn numbers(f: &pb::ReportFigures) -> [f64; 10] {
    // Counts are far below 2^52: exact in f64.
    [
        f.assigned as f64,
        f.completed_on_time as f64,
        f.completed_late as f64,
        f.completed_no_deadline as f64,
        f.in_progress_within_term as f64,
        f.in_progress_no_deadline as f64,
        f.overdue as f64,
        f.cancelled as f64,
        f.overdue_pct_of_all,
        f.overdue_pct_of_with_deadline,
    ]
}

fn header(sheet: &mut Worksheet, cells: &[&str], bold: &Format) -> Result<(), WorkbookError> {
    for (col, text) in cells.iter().enumerate() {
        sheet.write_string_with_format(0, u16::try_from(col)?, *text, bold)?;
    }
    Ok(())
}

fn block(sheet: &mut Worksheet, b: &pb::ReportBlock, bold: &Format) -> Result<(), WorkbookError> {
    header(
        sheet,
        &["Chỉ tiêu", "Trong kỳ", "Kỳ trước", "Lũy kế từ đầu năm"],
        bold,
    )?;
    let empty = pb::ReportFigures::default();
    let columns = [
        numbers(b.period.as_ref().unwrap_or(&empty)),
        numbers(b.previous_period.as_ref().unwrap_or(&empty)),
        numbers(b.year_to_date.as_ref().unwrap_or(&empty)),
    ];
    for (i, label) in FIGURES.iter().enumerate() {
        let row = u32::try_from(i + 1)?;
        sheet.write_string(row, 0, *label)?;
        for (c, values) in columns.iter().enumerate() {
            sheet.write_number(row, u16::try_from(c + 1)?, values[i])?;
        }
    }
    sheet.set_column_width(0, 40)?;
    Ok(())
}

fn rows(
    sheet: &mut Worksheet,
    rows: &[pb::ReportRow],
    who: &str,
    bold: &Format,
) -> Result<(), WorkbookError> {
    header(
        sheet,
        &[
            "Xếp hạng",
            "Mã",
            who,
            "Được giao",
            "Đúng hạn",
            "Quá hạn (đã xong)",
            "Quá hạn chưa xong",
            "Tỷ lệ đúng hạn (%)",
        ],
        bold,
    )?;
    for (i, r) in rows.iter().enumerate() {
        let row = u32::try_from(i + 1)?;
        let f = r.figures.unwrap_or_default();
        if r.rank > 0 {
            sheet.write_number(row, 0, f64::from(r.rank))?;
        }
        sheet.write_string(row, 1, &r.key)?;
        sheet.write_string(row, 2, &r.name)?;
        sheet.write_number(row, 3, f.assigned as f64)?;
        sheet.write_number(row, 4, f.completed_on_time as f64)?;
        sheet.write_number(row, 5, f.completed_late as f64)?;
        sheet.write_number(row, 6, f.overdue as f64)?;
        if r.has_rate {
            sheet.write_number(row, 7, r.on_time_rate)?;
        }
    }
    sheet.set_column_width(2, 40)?;
    Ok(())
}

/// The workbook, as the bytes of an .xlsx file.
pub fn workbook(r: &pb::PeriodicReport) -> Result<Vec<u8>, WorkbookError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let empty = pb::ReportBlock::default();
    {
        let sheet = workbook.add_worksheet().set_name(SHEETS[0])?;
        block(sheet, r.all.as_ref().unwrap_or(&empty), &bold)?;
        sheet.write_string(
            12,
            0,
            format!("Kỳ báo cáo {}: từ {} đến {}", r.title, r.from, r.to),
        )?;
    }
    block(
        workbook.add_worksheet().set_name(SHEETS[1])?,
        r.central.as_ref().unwrap_or(&empty),
        &bold,
    )?;
    rows(
        workbook.add_worksheet().set_name(SHEETS[2])?,
        &r.units,
        "Đơn vị",
        &bold,
    )?;
    rows(
        workbook.add_worksheet().set_name(SHEETS[3])?,
        &r.leaders,
        "Lãnh đạo",
        &bold,
    )?;
    {
        let sheet = workbook.add_worksheet().set_name(SHEETS[4])?;
        header(
            sheet,
            &[
                "Mã nhiệm vụ",
                "Nhiệm vụ",
                "Văn bản",
                "Đơn vị chủ trì",
                "Thời hạn",
                "Số ngày làm việc quá hạn",
                "Nhóm",
                "Đã gia hạn",
            ],
            &bold,
        )?;
        for (i, o) in r.overdue.iter().enumerate() {
            let row = u32::try_from(i + 1)?;
            sheet.write_string(row, 0, &o.task_id)?;
            sheet.write_string(row, 1, &o.title)?;
            sheet.write_string(row, 2, &o.source_document)?;
            sheet.write_string(row, 3, shown(&o.lead_unit_name, &o.lead_unit))?;
            sheet.write_string(row, 4, &o.deadline)?;
            sheet.write_number(row, 5, o.working_days_overdue as f64)?;
            sheet.write_string(row, 6, &o.age_bucket)?;
            sheet.write_string(row, 7, if o.extended { "Có" } else { "Không" })?;
        }
    }
    {
        let sheet = workbook.add_worksheet().set_name(SHEETS[5])?;
        header(
            sheet,
            &[
                "Mã nhiệm vụ",
                "Nhiệm vụ",
                "Đơn vị",
                "Nội dung",
                "Ngày báo cáo",
                "Số ngày làm việc chờ",
            ],
            &bold,
        )?;
        for (i, d) in r.difficulties.iter().enumerate() {
            let row = u32::try_from(i + 1)?;
            sheet.write_string(row, 0, &d.task_id)?;
            sheet.write_string(row, 1, &d.title)?;
            sheet.write_string(row, 2, shown(&d.unit_name, &d.unit))?;
            sheet.write_string(row, 3, &d.description)?;
            sheet.write_string(row, 4, &d.reported_on)?;
            sheet.write_number(row, 5, d.working_days_waiting as f64)?;
        }
    }
    {
        let sheet = workbook.add_worksheet().set_name(SHEETS[6])?;
        header(
            sheet,
            &[
                "Mã",
                "Đơn vị",
                "Hoàn thành có thời hạn",
                "Đúng hạn",
                "Quá hạn",
                "Có lý do khách quan",
                "Điểm tiến độ (%)",
            ],
            &bold,
        )?;
        for (i, s) in r.scorecard.iter().enumerate() {
            let row = u32::try_from(i + 1)?;
            sheet.write_string(row, 0, &s.unit)?;
            sheet.write_string(row, 1, &s.name)?;
            sheet.write_number(row, 2, s.completed_with_deadline as f64)?;
            sheet.write_number(row, 3, s.on_time as f64)?;
            sheet.write_number(row, 4, s.late as f64)?;
            sheet.write_number(row, 5, s.exempt as f64)?;
            sheet.write_number(row, 6, s.timeliness_pct)?;
        }
    }
    {
        let sheet = workbook.add_worksheet().set_name(SHEETS[7])?;
        header(
            sheet,
            &[
                "Kỳ",
                "Từ ngày",
                "Đến ngày",
                "Được giao",
                "Hoàn thành đúng hạn",
                "Hoàn thành quá hạn",
                "Quá hạn chưa hoàn thành",
                "Tỷ lệ đúng hạn (%)",
            ],
            &bold,
        )?;
        for (i, p) in r.trend.iter().enumerate() {
            let row = u32::try_from(i + 1)?;
            sheet.write_string(row, 0, &p.title)?;
            sheet.write_string(row, 1, &p.from)?;
            sheet.write_string(row, 2, &p.to)?;
            sheet.write_number(row, 3, p.assigned as f64)?;
            sheet.write_number(row, 4, p.completed_on_time as f64)?;
            sheet.write_number(row, 5, p.completed_late as f64)?;
            sheet.write_number(row, 6, p.overdue as f64)?;
            if p.has_rate {
                sheet.write_number(row, 7, p.on_time_rate)?;
            }
        }
    }
    {
        let sheet = workbook.add_worksheet().set_name(SHEETS[8])?;
        header(sheet, &["Chỉ tiêu", "Trong kỳ", "Lũy kế"], &bold)?;
        let d = r.documents.clone().unwrap_or_default();
        let rows: [(&str, u64, Option<u64>); 5] = [
            (
                "Văn bản đến được đăng ký",
                d.incoming,
                Some(d.incoming_year_to_date),
            ),
            (
                "Văn bản đi được đăng ký",
                d.outgoing,
                Some(d.outgoing_year_to_date),
            ),
            ("Hồ sơ công việc đã kết thúc", d.dossiers_closed, None),
            ("Hồ sơ đã nộp lưu", d.dossiers_archived, None),
            (
                "Nhiệm vụ đã xong, hồ sơ chưa kết thúc",
                d.dossiers_awaiting_close,
                None,
            ),
        ];
        for (i, (label, period, year)) in rows.into_iter().enumerate() {
            let row = u32::try_from(i + 1)?;
            sheet.write_string(row, 0, label)?;
            sheet.write_number(row, 1, period as f64)?;
            if let Some(year) = year {
                sheet.write_number(row, 2, year as f64)?;
            }
        }
        sheet.set_column_width(0, 40)?;
    }
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use calamine::{Data, Reader, Xlsx};

    use super::*;

    #[test]
    fn the_workbook_holds_the_same_numbers_as_the_json() {
        let report = pb::PeriodicReport {
            title: "tháng 11 năm 2026".into(),
            all: Some(pb::ReportBlock {
                period: Some(pb::ReportFigures {
                    assigned: 4,
                    completed_on_time: 1,
                    completed_late: 1,
                    overdue: 1,
                    overdue_pct_of_with_deadline: 33.33,
                    ..Default::default()
                }),
                year_to_date: Some(pb::ReportFigures {
                    assigned: 9,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            units: vec![pb::ReportRow {
                key: "SXD".into(),
                name: "Sở Xây dựng".into(),
                on_time_rate: 50.0,
                has_rate: true,
                rank: 1,
                figures: Some(pb::ReportFigures {
                    assigned: 3,
                    ..Default::default()
                }),
            }],
            trend: vec![pb::TrendPoint {
                title: "T11/2026".into(),
                assigned: 4,
                overdue: 1,
                ..Default::default()
            }],
            documents: Some(pb::DocumentCounts {
                outgoing: 3,
                ..Default::default()
            }),
            scorecard: vec![pb::ScoreRow {
                unit: "SXD".into(),
                name: "Sở Xây dựng".into(),
                completed_with_deadline: 2,
                on_time: 1,
                late: 1,
                exempt: 0,
                timeliness_pct: 87.5,
            }],
            ..Default::default()
        };
        let json = crate::render::text::report_json(&report);

        let bytes = workbook(&report).expect("written");

        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("a workbook");
        assert_eq!(book.sheet_names(), SHEETS.map(str::to_owned).to_vec());
        let summary = book.worksheet_range(SHEETS[0]).expect("summary");
        let number =
            |range: &calamine::Range<Data>, row: u32, col: u32| match range.get_value((row, col)) {
                Some(Data::Float(v)) => *v,
                other => panic!("({row}, {col}) is not a number: {other:?}"),
            };
        let period = &json["all"]["period"];
        assert_eq!(
            number(&summary, 1, 1),
            period["assigned"].as_f64().expect("n")
        );
        assert_eq!(
            number(&summary, 2, 1),
            period["completed_on_time"].as_f64().expect("n")
        );
        assert_eq!(
            number(&summary, 7, 1),
            period["overdue"].as_f64().expect("n")
        );
        assert_eq!(
            number(&summary, 10, 1),
            period["overdue_pct_of_with_deadline"].as_f64().expect("n")
        );
        assert_eq!(
            number(&summary, 1, 3),
            json["all"]["year_to_date"]["assigned"].as_f64().expect("n")
        );
        let units = book.worksheet_range(SHEETS[2]).expect("units");
        assert_eq!(
            units.get_value((1, 2)),
            Some(&Data::String("Sở Xây dựng".into()))
        );
        assert_eq!(
            number(&units, 1, 7),
            json["units"][0]["on_time_rate"].as_f64().expect("n")
        );
        let scores = book.worksheet_range(SHEETS[6]).expect("scorecard");
        assert_eq!(number(&scores, 1, 6), 87.5);
        let trend = book.worksheet_range(SHEETS[7]).expect("trend");
        assert_eq!(
            number(&trend, 1, 6),
            json["trend"][0]["overdue"].as_f64().expect("n")
        );
        let documents = book.worksheet_range(SHEETS[8]).expect("documents");
        assert_eq!(
            number(&documents, 2, 1),
            json["documents"]["outgoing"].as_f64().expect("n")
        );
    }
}
