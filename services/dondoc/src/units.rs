//! `dondoc units`: loading and listing the unit directory of the assignment service.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, bail};
use dondoc_proto::v1 as pb;

use crate::cli::{AssignmentConnection, UnitsCommand};
use crate::client::{self, AssignmentClient};
use crate::output::write_table;

/// The service caps pages at 500; asking for the cap keeps a full directory to a few round trips.
const PAGE_SIZE: i32 = 500;

pub async fn run(
    connection: &AssignmentConnection,
    command: UnitsCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        UnitsCommand::Import { file } => {
            // Read the file before connecting so a mistyped path fails without a round trip.
            let toml = read_file(&file)?;
            let mut client = client::assignment(connection).await?;
            import(&mut client, toml, out).await
        }
        UnitsCommand::List { as_of, kind } => {
            let mut client = client::assignment(connection).await?;
            let request = pb::ListUnitsRequest {
                query: String::new(),
                as_of: as_of.map(|date| date.to_string()).unwrap_or_default(),
                kind: kind.unwrap_or_default(),
                page_size: PAGE_SIZE,
                page_token: String::new(),
            };
            let units = list(&mut client, request).await?;
            write_units(out, &units)
        }
    }
}

fn read_file(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

async fn import(
    client: &mut AssignmentClient,
    toml: String,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let request = pb::ImportUnitsRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        toml,
    };
    let response = client
        .import_units(request)
        .await
        .context("ImportUnits failed")?
        .into_inner();
    writeln!(
        out,
        "directory versions imported: {}\ndirectory versions unchanged: {}\nunits: {}",
        response.directories_imported, response.directories_unchanged, response.units
    )?;
    Ok(())
}

/// Every unit matching `request`, across all pages.
async fn list(
    client: &mut AssignmentClient,
    mut request: pb::ListUnitsRequest,
) -> anyhow::Result<Vec<pb::Unit>> {
    let mut units = Vec::new();
    loop {
        let page = client
            .list_units(request.clone())
            .await
            .context("ListUnits failed")?
            .into_inner();
        units.extend(page.units);
        if page.next_page_token.is_empty() {
            return Ok(units);
        }
        // A token that does not advance would loop forever; fail instead of hanging the terminal.
        if page.next_page_token == request.page_token {
            bail!("ListUnits returned the same page token twice");
        }
        request.page_token = page.next_page_token;
    }
}

fn write_units(out: &mut impl Write, units: &[pb::Unit]) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = units
        .iter()
        .map(|unit| vec![unit.code.clone(), unit.kind.clone(), unit.name_vi.clone()])
        .collect();
    write_table(out, &["CODE", "KIND", "NAME_VI"], &rows)?;
    if let Some(first) = units.first() {
        writeln!(
            out,
            "\n{} units, directory {:?} (valid from {})",
            units.len(),
            first.directory_name,
            first.valid_from
        )?;
    } else {
        writeln!(out, "\nno units")?;
    }
    Ok(())
}
