//! How command results are written: aligned tables and labelled fields for people, JSON for
//! scripts.
//!
//! Output goes to a `Write` handed in by `main` (a locked stdout in production, a buffer in
//! tests) so that the formatting is testable and nothing in the crate prints on its own.

use std::io::{self, Write};

use clap::ValueEnum;

use crate::i18n::Lang;

/// What a client command prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables and labelled fields in the chosen language.
    #[default]
    Table,
    /// One JSON document, keys and values independent of `--lang`, for scripts.
    Json,
}

/// The presentation choices of one invocation, handed to every client command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ui {
    pub lang: Lang,
    pub format: OutputFormat,
}

impl Ui {
    /// Shorthand for [`Lang::pick`].
    pub fn t<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(vi, en)
    }
}

/// Writes `value` as pretty JSON followed by a newline.
pub fn write_json(out: &mut impl Write, value: &serde_json::Value) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Writes `rows` under `headers`, each column padded to its widest cell.
///
/// Widths count characters, not bytes, so Vietnamese names (multi-byte in UTF-8) line up. The
/// last column is not padded, so lines carry no trailing spaces.
pub fn write_table(out: &mut impl Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let header_row: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    let mut widths: Vec<usize> = header_row.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
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

/// `label  value` lines with the values aligned; empty values are left out, so optional
/// fields do not show as blank lines.
pub fn write_fields(out: &mut impl Write, fields: &[(&str, String)]) -> io::Result<()> {
    let shown: Vec<&(&str, String)> = fields.iter().filter(|(_, v)| !v.is_empty()).collect();
    let width = shown
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    for (label, value) in shown {
        let padding = width - label.chars().count();
        writeln!(out, "{label}:{}  {value}", " ".repeat(padding))?;
    }
    Ok(())
}

/// `TASK_STATUS_IN_PROGRESS` with prefix `TASK_STATUS_` → `in-progress`: the spelling the CLI
/// accepts as flag values, used in JSON output so that a value can be pasted back into a
/// filter.
pub fn machine_label(proto_name: &str, prefix: &str) -> String {
    proto_name
        .strip_prefix(prefix)
        .unwrap_or(proto_name)
        .to_ascii_lowercase()
        .replace('_', "-")
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
            &["mã", "loại", "tên"],
            &[
                row(&["SNV", "Sở, ngành", "Sở Nội vụ"]),
                row(&["VP", "Văn phòng", "Văn phòng UBND"]),
            ],
        );

        assert_eq!(
            text,
            "MÃ   LOẠI       TÊN\n\
             SNV  Sở, ngành  Sở Nội vụ\n\
             VP   Văn phòng  Văn phòng UBND\n"
        );
    }

    #[test]
    fn an_empty_last_cell_leaves_no_trailing_spaces() {
        let text = render(&["A", "B"], &[row(&["x", ""])]);

        assert_eq!(text, "A  B\nx\n");
    }

    #[test]
    fn fields_align_and_skip_empty_values() {
        let mut out = Vec::new();

        write_fields(
            &mut out,
            &[
                ("Trạng thái", "Đã giao".to_owned()),
                ("Lý do hủy", String::new()),
                ("Hạn", "31/12/2026".to_owned()),
            ],
        )
        .expect("writes");

        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "Trạng thái:  Đã giao\nHạn:         31/12/2026\n"
        );
    }

    #[test]
    fn machine_labels_match_the_flag_spelling() {
        assert_eq!(
            machine_label("TASK_STATUS_IN_PROGRESS", "TASK_STATUS_"),
            "in-progress"
        );
    }
}
