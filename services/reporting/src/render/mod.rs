//! The periodic report as documents: the structured report (the wire form, as
//! `GetPeriodicReport` answers it) in the formats officials use. Pure functions of the report
//! and a letterhead, except the PDF, which headless Chromium prints from the HTML.

pub mod html;
pub mod text;
pub mod wire;
pub mod xlsx;

pub use wire::wire;

use chrono::NaiveDate;
use dondoc_proto::v1 as pb;
use sha2::{Digest, Sha256};

pub use html::Letterhead;

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The format is none this service writes.
    #[error("format must be html, pdf, xlsx, csv, json or md")]
    UnknownFormat,
    #[error(
        "a PDF is printed by headless Chromium, which is not installed on the reporting \
         service's host: install the `chromium` package (Debian: apt-get install chromium) or \
         ask for html"
    )]
    ChromiumMissing,
    #[error("{0}")]
    Failed(String),
}

/// A format officials use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Pdf,
    Xlsx,
    Csv,
    Json,
    Md,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Html,
        Format::Pdf,
        Format::Xlsx,
        Format::Csv,
        Format::Json,
        Format::Md,
    ];

    pub fn parse(raw: &str) -> Result<Self, RenderError> {
        Ok(match raw.trim().to_ascii_lowercase().as_str() {
            "html" => Format::Html,
            "pdf" => Format::Pdf,
            "xlsx" => Format::Xlsx,
            "csv" => Format::Csv,
            "json" => Format::Json,
            "md" | "markdown" => Format::Md,
            _ => return Err(RenderError::UnknownFormat),
        })
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Md => "md",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Pdf => "application/pdf",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Md => "text/markdown; charset=utf-8",
        }
    }
}

/// A rendered report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub content: Vec<u8>,
    pub media_type: &'static str,
    pub file_name: String,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

/// Hex SHA-256, as the registers record content.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The Office's letterhead, with what the request gives in place of the defaults.
pub fn letterhead(given: Option<&pb::Letterhead>, today: NaiveDate) -> Letterhead {
    let given = given.cloned().unwrap_or_default();
    let or = |value: String, default: &str| {
        if value.trim().is_empty() {
            default.to_owned()
        } else {
            value.trim().to_owned()
        }
    };
    Letterhead {
        issuing_body: or(given.issuing_body, "Văn phòng UBND thành phố"),
        number_symbol: or(given.number_symbol, "     /BC-VP"),
        place: or(given.place, "Hải Phòng"),
        signed_on: NaiveDate::parse_from_str(given.signed_on.trim(), "%Y-%m-%d").unwrap_or(today),
        signer_title: or(given.signer_title, "Chánh Văn phòng"),
        signer_name: given.signer_name.trim().to_owned(),
        recipients: if given.recipients.is_empty() {
            vec![
                "Chủ tịch UBND thành phố (để báo cáo)".to_owned(),
                "Lưu: VT".to_owned(),
            ]
        } else {
            given.recipients
        },
    }
}

/// A file name that says what the report is: "bao-cao-thang-11-nam-2026.html".
pub fn file_name(report: &pb::PeriodicReport, format: Format) -> String {
    let slug = dondoc_contracts::text::slug(&report.title);
    format!("bao-cao-{slug}.{}", format.extension())
}

/// The report in `format`.
pub fn render(
    report: &pb::PeriodicReport,
    format: Format,
    head: &Letterhead,
) -> Result<Rendered, RenderError> {
    let content = match format {
        Format::Html => html::html(report, head).into_bytes(),
        Format::Pdf => html::pdf(&html::html(report, head))?,
        Format::Xlsx => {
            xlsx::workbook(report).map_err(|e| RenderError::Failed(format!("xlsx: {e}")))?
        }
        Format::Csv => text::csv(report).into_bytes(),
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&text::report_json(report))
                .map_err(|e| RenderError::Failed(format!("json: {e}")))?;
            json.push('\n');
            json.into_bytes()
        }
        Format::Md => text::markdown(report).into_bytes(),
    };
    Ok(Rendered {
        sha256: sha256_hex(&content),
        media_type: format.media_type(),
        file_name: file_name(report, format),
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_say_which_report_without_diacritics() {
        let report = pb::PeriodicReport {
            title: "quý III năm 2026".into(),
            ..Default::default()
        };
        assert_eq!(
            file_name(&report, Format::Pdf),
            "bao-cao-quy-iii-nam-2026.pdf"
        );
    }

    #[test]
    fn an_unknown_format_is_refused_and_each_known_one_has_its_media_type() {
        assert!(matches!(
            Format::parse("docx"),
            Err(RenderError::UnknownFormat)
        ));
        for f in Format::ALL {
            assert_eq!(Format::parse(f.extension()).expect("known"), f);
            assert!(!f.media_type().is_empty());
        }
    }

    #[test]
    fn the_letterhead_takes_the_offices_defaults_where_the_request_is_silent() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 16).expect("date");
        let head = letterhead(
            Some(&pb::Letterhead {
                signer_name: "Nguyễn Văn A".into(),
                ..Default::default()
            }),
            today,
        );
        assert_eq!(head.signed_on, today);
        assert_eq!(head.signer_title, "Chánh Văn phòng");
        assert_eq!(head.signer_name, "Nguyễn Văn A");
        assert_eq!(head.recipients.len(), 2);
    }
}
