//! Plain-text rendering of command results: aligned tables and short enum labels.
//!
//! Output goes to a `Write` handed in by `main` (a locked stdout in production, a buffer in
//! tests) so that the formatting is testable and nothing in the crate prints on its own.

use std::io::{self, Write};

use dondoc_proto::v1 as pb;

/// Writes `rows` under `headers`, each column padded to its widest cell.
///
/// Widths count characters, not bytes, so Vietnamese names (multi-byte in UTF-8) line up. The
/// last column is not padded, so lines carry no trailing spaces.
pub fn write_table(out: &mut impl Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header_row: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    write_row(out, &widths, &header_row)?;
    for row in rows {
        write_row(out, &widths, row)?;
    }
    Ok(())
}

fn write_row(out: &mut impl Write, widths: &[usize], row: &[String]) -> io::Result<()> {
    let mut line = String::new();
    for (index, cell) in row.iter().enumerate() {
        if index > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        if index + 1 < row.len() {
            let width = widths.get(index).copied().unwrap_or(0);
            let padding = width.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', padding));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// `TASK_STATUS_IN_PROGRESS` with prefix `TASK_STATUS_` → `in-progress`: the same spelling the
/// CLI accepts as flag values, so output can be pasted back into a filter.
pub fn label(proto_name: &str, prefix: &str) -> String {
    proto_name
        .strip_prefix(prefix)
        .unwrap_or(proto_name)
        .to_ascii_lowercase()
        .replace('_', "-")
}

pub fn status_label(status: pb::TaskStatus) -> String {
    label(status.as_str_name(), "TASK_STATUS_")
}

pub fn priority_label(priority: pb::Priority) -> String {
    label(priority.as_str_name(), "PRIORITY_")
}

pub fn issuer_kind_label(kind: pb::IssuerKind) -> String {
    label(kind.as_str_name(), "ISSUER_KIND_")
}

/// An ISO date from the API, or `none` where the API uses the empty string for "no deadline".
pub fn date_or_none(date: &str) -> String {
    if date.is_empty() {
        "none".to_owned()
    } else {
        date.to_owned()
    }
}

/// A protobuf timestamp as RFC 3339 UTC, or empty when absent or out of range.
pub fn timestamp(ts: Option<&dondoc_proto::Timestamp>) -> String {
    ts.and_then(|ts| {
        let nanos = u32::try_from(ts.nanos).ok()?;
        chrono::DateTime::from_timestamp(ts.seconds, nanos)
    })
    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
        let mut out = Vec::new();
        write_table(&mut out, headers, rows).expect("writes");
        String::from_utf8(out).expect("utf-8")
    }

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn columns_align_by_characters_not_bytes() {
        let text = render(
            &["CODE", "KIND", "NAME"],
            &[
                row(&["SNV", "department", "Sở Nội vụ"]),
                row(&["VP", "office", "Văn phòng"]),
            ],
        );

        assert_eq!(
            text,
            "CODE  KIND        NAME\n\
             SNV   department  Sở Nội vụ\n\
             VP    office      Văn phòng\n"
        );
    }

    #[test]
    fn an_empty_last_cell_leaves_no_trailing_spaces() {
        let text = render(&["A", "B"], &[row(&["x", ""])]);

        assert_eq!(text, "A  B\nx\n");
    }

    #[test]
    fn labels_match_the_flag_spelling() {
        assert_eq!(status_label(pb::TaskStatus::InProgress), "in-progress");
        assert_eq!(priority_label(pb::Priority::VeryUrgent), "very-urgent");
        assert_eq!(
            issuer_kind_label(pb::IssuerKind::CityPeoplesCommittee),
            "city-peoples-committee"
        );
    }

    #[test]
    fn timestamps_render_as_utc_rfc3339() {
        let ts = dondoc_proto::Timestamp {
            seconds: 1_790_000_000,
            nanos: 0,
        };

        assert_eq!(timestamp(Some(&ts)), "2026-09-21T14:13:20Z");
        assert_eq!(timestamp(None), "");
    }
}
