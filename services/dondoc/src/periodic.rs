//! `dondoc report`: the periodic report to the City People's Committee, as of the cut-off of a
//! Decree 09/2019 period, in the form officials use (Markdown, the official HTML document, PDF,
//! a workbook, CSV or JSON). The reporting service renders it (`RenderReport`); this command
//! asks, shows a spinner while it works, and writes the file. `dondoc report issue` freezes
//! it as an outgoing document; `dondoc report issued` lists those.

use std::io::Write;

use anyhow::{Context as _, bail};
use dondoc_proto::v1 as pb;

use crate::cli::{
    IssueReportArgs, IssuedReportsArgs, LetterheadArgs, PeriodArgs, ReportAction, ReportArgs,
    ReportFormat,
};
use crate::client;
use crate::output::Ui;

/// The request for the period the flags name.
pub fn request(args: &PeriodArgs) -> anyhow::Result<pb::GetPeriodicReportRequest> {
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

fn letterhead(args: &LetterheadArgs, number_symbol: &str) -> pb::Letterhead {
    pb::Letterhead {
        issuing_body: args.issuing_body.clone(),
        number_symbol: number_symbol.to_owned(),
        place: args.place.clone(),
        signed_on: String::new(),
        signer_title: args.signer_title.clone(),
        signer_name: args.signer_name.clone(),
        recipients: Vec::new(),
    }
}

fn format_name(format: ReportFormat) -> &'static str {
    match format {
        ReportFormat::Md => "md",
        ReportFormat::Html => "html",
        ReportFormat::Pdf => "pdf",
        ReportFormat::Xlsx => "xlsx",
        ReportFormat::Csv => "csv",
        ReportFormat::Json => "json",
    }
}

/// A spinner on standard error while the service works (hidden when stderr is not a
/// terminal, so scripts and tests see nothing of it).
fn spinner(message: String) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

pub async fn run(args: ReportArgs, ui: Ui, out: &mut impl Write) -> anyhow::Result<()> {
    match args.action {
        Some(ReportAction::Issue(issue)) => return run_issue(*issue, ui, out).await,
        Some(ReportAction::Issued(list)) => return run_issued(list, ui, out).await,
        None => {}
    }
    let period = request(&args.period)?;
    if matches!(args.format, ReportFormat::Pdf | ReportFormat::Xlsx) && args.out_file.is_none() {
        bail!(
            "--format {} writes a file: give --out FILE",
            format_name(args.format)
        );
    }
    let mut client = client::reporting(&args.reporting_endpoint, &args.credentials).await?;
    let bar = spinner(
        ui.t("Đang lập báo cáo…", "Rendering the report…")
            .to_owned(),
    );
    let rendered = client
        .render_report(pb::RenderReportRequest {
            period: Some(period),
            format: format_name(args.format).to_owned(),
            letterhead: Some(letterhead(&args.letterhead, &args.number)),
        })
        .await;
    bar.finish_and_clear();
    let rendered = rendered
        .context(ui.t(
            "Không lập được báo cáo (RenderReport)",
            "RenderReport failed",
        ))?
        .into_inner();
    match &args.out_file {
        Some(path) => std::fs::write(path, &rendered.content)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out.write_all(&rendered.content)?,
    }
    Ok(())
}

async fn run_issue(args: IssueReportArgs, ui: Ui, out: &mut impl Write) -> anyhow::Result<()> {
    let period = request(&args.period)?;
    let mut client = client::reporting(&args.reporting_endpoint, &args.credentials).await?;
    let bar = spinner(
        ui.t("Đang ban hành báo cáo…", "Issuing the report…")
            .to_owned(),
    );
    let issued = client
        .issue_report(pb::IssueReportRequest {
            request_id: args
                .request_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            period: Some(period.clone()),
            symbol: args.symbol.clone(),
            letterhead: Some(letterhead(&args.letterhead, "")),
        })
        .await;
    bar.finish_and_clear();
    let issued = issued
        .context(ui.t(
            "Không ban hành được báo cáo (IssueReport)",
            "IssueReport failed",
        ))?
        .into_inner();
    writeln!(
        out,
        "{} {} — {} ({}) sha256 {}",
        ui.t("Đã ban hành báo cáo số", "Issued report number"),
        issued.number_label,
        issued.title,
        issued.document_id,
        issued.sha256
    )?;
    Ok(())
}

async fn run_issued(args: IssuedReportsArgs, ui: Ui, out: &mut impl Write) -> anyhow::Result<()> {
    let mut client = client::reporting(&args.reporting_endpoint, &args.credentials).await?;
    let reports = client
        .list_issued_reports(pb::ListIssuedReportsRequest {})
        .await
        .context(ui.t(
            "Không đọc được danh sách báo cáo đã ban hành",
            "ListIssuedReports failed",
        ))?
        .into_inner()
        .reports;
    for r in &reports {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            r.number_label, r.issued_on, r.title, r.document_id, r.sha256
        )?;
    }
    Ok(())
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
            Command::Operator(OperatorCommand::Report(args)) => *args,
            other => panic!("not a report: {other:?}"),
        }
    }

    fn asked(flags: &[&str]) -> (String, i32, u32) {
        let r = request(&args(flags).period).expect("a request");
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
        let custom =
            request(&args(&["--from", "2026-11-01", "--to", "2026-11-30"]).period).expect("ok");
        assert_eq!(
            (
                custom.kind.as_str(),
                custom.from.as_str(),
                custom.to.as_str()
            ),
            ("custom", "2026-11-01", "2026-11-30")
        );
        assert!(request(&args(&["--half", "2026-H3"]).period).is_err());
        let issue = args(&["issue", "--period", "2026-11", "--symbol", "BC-VP"]);
        assert!(
            matches!(issue.action, Some(ReportAction::Issue(ref i)) if i.symbol == "BC-VP"),
            "{issue:?}"
        );
        assert!(matches!(
            args(&["issued"]).action,
            Some(ReportAction::Issued(_))
        ));
        assert!(
            Cli::try_parse_from(["dondoc", "report"]).is_err(),
            "a period is required"
        );
    }
}
