//! `dondoc units` and `dondoc leaders`: loading and listing the two directories of the
//! assignment service (đơn vị; lãnh đạo UBND thành phố).

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use dondoc_proto::v1 as pb;
use serde_json::json;

use crate::cli::{AssignmentConnection, LeadersCommand, UnitsCommand};
use crate::client;
use crate::i18n::{self, Lang};
use crate::names::list_units;
use crate::output::{OutputFormat, Ui, write_json, write_table};

pub async fn run(
    connection: &AssignmentConnection,
    command: UnitsCommand,
    ui: Ui,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        UnitsCommand::Import { file } => {
            // Read the file before connecting so a mistyped path fails without a round trip.
            let toml = read_file(&file, ui)?;
            let mut client = client::assignment(connection).await?;
            let response = client
                .import_units(pb::ImportUnitsRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    toml,
                })
                .await
                .context(ui.t(
                    "Nhập danh mục đơn vị không thành công (ImportUnits)",
                    "ImportUnits failed",
                ))?
                .into_inner();
            write_units_imported(out, &response, ui)
        }
        UnitsCommand::List {
            as_of,
            kind,
            search,
        } => {
            let mut client = client::assignment(connection).await?;
            let units = list_units(
                &mut client,
                &as_of.map(|d| d.to_string()).unwrap_or_default(),
                kind.as_deref().unwrap_or_default(),
                search.as_deref().unwrap_or_default(),
            )
            .await?;
            write_units(out, &units, ui)
        }
    }
}

pub async fn run_leaders(
    connection: &AssignmentConnection,
    command: LeadersCommand,
    ui: Ui,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        LeadersCommand::Import { file } => {
            let toml = read_file(&file, ui)?;
            let mut client = client::assignment(connection).await?;
            let response = client
                .import_leaders(pb::ImportLeadersRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    toml,
                })
                .await
                .context(ui.t(
                    "Nhập danh sách lãnh đạo không thành công (ImportLeaders)",
                    "ImportLeaders failed",
                ))?
                .into_inner();
            write_leaders_imported(out, &response, ui)
        }
        LeadersCommand::List { as_of } => {
            let mut client = client::assignment(connection).await?;
            let leaders = client
                .list_leaders(pb::ListLeadersRequest {
                    as_of: as_of.map(|d| d.to_string()).unwrap_or_default(),
                })
                .await
                .context(ui.t(
                    "Không lấy được danh sách lãnh đạo (ListLeaders)",
                    "ListLeaders failed",
                ))?
                .into_inner()
                .leaders;
            write_leaders(out, &leaders, ui)
        }
    }
}

fn read_file(file: &Path, ui: Ui) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| {
        format!(
            "{} {}",
            ui.t("không đọc được tệp", "cannot read"),
            file.display()
        )
    })
}

fn write_units_imported(
    out: &mut impl Write,
    response: &pb::ImportUnitsResponse,
    ui: Ui,
) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        return write_json(
            out,
            &json!({
                "directories_imported": response.directories_imported,
                "directories_unchanged": response.directories_unchanged,
                "units": response.units,
            }),
        );
    }
    writeln!(
        out,
        "{}: {}\n{}: {}\n{}: {}",
        ui.t("Phiên bản danh mục đã nhập", "directory versions imported"),
        response.directories_imported,
        ui.t(
            "Phiên bản danh mục không đổi",
            "directory versions unchanged"
        ),
        response.directories_unchanged,
        ui.t("Số đơn vị", "units"),
        response.units
    )?;
    Ok(())
}

fn write_leaders_imported(
    out: &mut impl Write,
    response: &pb::ImportLeadersResponse,
    ui: Ui,
) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        return write_json(
            out,
            &json!({ "leaders": response.leaders, "changed": response.changed }),
        );
    }
    let changed = if response.changed {
        ui.t("đã cập nhật", "updated")
    } else {
        ui.t("không thay đổi", "unchanged")
    };
    writeln!(
        out,
        "{}: {changed}\n{}: {}",
        ui.t("Danh sách lãnh đạo", "leader directory"),
        ui.t("Số nhiệm kỳ", "terms"),
        response.leaders
    )?;
    Ok(())
}

fn write_units(out: &mut impl Write, units: &[pb::Unit], ui: Ui) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        let units: Vec<_> = units
            .iter()
            .map(|unit| {
                json!({
                    "code": unit.code,
                    "kind": unit.kind,
                    "name_vi": unit.name_vi,
                    "name_en": unit.name_en,
                    "email": unit.email,
                    "directory": unit.directory_name,
                    "valid_from": unit.valid_from,
                })
            })
            .collect();
        return write_json(out, &json!({ "units": units }));
    }
    let rows: Vec<Vec<String>> = units
        .iter()
        .map(|unit| {
            let name = match ui.lang {
                Lang::En if !unit.name_en.is_empty() => unit.name_en.clone(),
                _ => unit.name_vi.clone(),
            };
            vec![
                unit.code.clone(),
                i18n::unit_kind(ui.lang, &unit.kind),
                name,
            ]
        })
        .collect();
    write_table(
        out,
        &[
            ui.t("Mã", "code"),
            ui.t("Loại", "kind"),
            ui.t("Tên đơn vị", "name"),
        ],
        &rows,
    )?;
    match units.first() {
        Some(first) => writeln!(
            out,
            "\n{} {}, {} {:?} ({} {})",
            units.len(),
            ui.t("đơn vị", "units"),
            ui.t("danh mục", "directory"),
            first.directory_name,
            ui.t("hiệu lực từ", "valid from"),
            ui.lang.iso_date(&first.valid_from)
        )?,
        None => writeln!(out, "\n{}", ui.t("Không có đơn vị nào.", "no units"))?,
    }
    Ok(())
}

fn write_leaders(out: &mut impl Write, leaders: &[pb::Leader], ui: Ui) -> anyhow::Result<()> {
    if ui.format == OutputFormat::Json {
        let leaders: Vec<_> = leaders
            .iter()
            .map(|leader| {
                json!({
                    "id": leader.id,
                    "full_name": leader.full_name,
                    "title": leader.title,
                    "valid_from": leader.valid_from,
                    "valid_to": leader.valid_to,
                    "supervised_units": leader.supervised_units,
                    "supervised_fields": leader.supervised_fields,
                    "email": leader.email,
                })
            })
            .collect();
        return write_json(out, &json!({ "leaders": leaders }));
    }
    let rows: Vec<Vec<String>> = leaders
        .iter()
        .map(|leader| {
            let term = format!(
                "{} – {}",
                ui.lang.iso_date(&leader.valid_from),
                if leader.valid_to.is_empty() {
                    "".to_owned()
                } else {
                    ui.lang.iso_date(&leader.valid_to)
                }
            );
            vec![
                leader.id.clone(),
                leader.full_name.clone(),
                i18n::leader_title(ui.lang, &leader.title),
                term.trim_end().to_owned(),
                leader.supervised_units.join(", "),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            ui.t("Mã", "id"),
            ui.t("Họ và tên", "full name"),
            ui.t("Chức vụ", "title"),
            ui.t("Nhiệm kỳ", "term"),
            ui.t("Đơn vị phụ trách", "supervises"),
        ],
        &rows,
    )?;
    writeln!(out, "\n{} {}", leaders.len(), ui.t("lãnh đạo", "leaders"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(units: &[pb::Unit], ui: Ui) -> String {
        let mut out = Vec::new();
        write_units(&mut out, units, ui).expect("writes");
        String::from_utf8(out).expect("utf-8")
    }

    fn communes() -> Vec<pb::Unit> {
        vec![
            pb::Unit {
                code: "11560".into(),
                kind: "commune".into(),
                name_vi: "Phường Thủy Nguyên".into(),
                name_en: "Thuy Nguyen Ward".into(),
                directory_name: "Hải Phòng 2025".into(),
                valid_from: "2025-07-01".into(),
                ..Default::default()
            },
            pb::Unit {
                code: "SXD".into(),
                kind: "department".into(),
                name_vi: "Sở Xây dựng".into(),
                directory_name: "Hải Phòng 2025".into(),
                valid_from: "2025-07-01".into(),
                ..Default::default()
            },
        ]
    }

    #[test]
    fn units_are_listed_in_vietnamese_by_default() {
        insta::assert_snapshot!(render(&communes(), Ui::default()));
    }

    #[test]
    fn units_in_english_use_the_english_names() {
        let ui = Ui {
            lang: Lang::En,
            ..Ui::default()
        };
        insta::assert_snapshot!(render(&communes(), ui));
    }

    #[test]
    fn units_as_json_keep_codes_and_both_names() {
        let ui = Ui {
            format: OutputFormat::Json,
            ..Ui::default()
        };
        insta::assert_snapshot!(render(&communes(), ui));
    }

    #[test]
    fn leaders_show_title_term_and_supervised_units() {
        let leaders = vec![pb::Leader {
            id: "pct-tran".into(),
            full_name: "Trần Văn B".into(),
            title: "vice_chairman".into(),
            valid_from: "2021-07-01".into(),
            supervised_units: vec!["SXD".into(), "STC".into()],
            ..Default::default()
        }];
        let mut out = Vec::new();

        write_leaders(&mut out, &leaders, Ui::default()).expect("writes");

        insta::assert_snapshot!(String::from_utf8(out).expect("utf-8"));
    }
}
