//! Names beside codes: "SXD (Sở Xây dựng)" rather than a bare "SXD".
//!
//! The service stores codes (they are stable across renamings); people read names. The CLI
//! looks the names up in the unit and leader directories through the same API any client has.
//! A task assigned to a unit abolished since (a district before 1 July 2025) is not in today's
//! directory, so missing codes are looked up again in the directory valid when the task was
//! assigned.

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context as _, bail};
use dondoc_proto::v1 as pb;

use crate::client::AssignmentClient;

/// The service caps pages at 500; asking for the cap keeps a full directory to one round trip.
const PAGE_SIZE: i32 = 500;

/// Unit and leader names by code and id.
#[derive(Debug, Default, Clone)]
pub struct Names {
    units: HashMap<String, String>,
    leaders: HashMap<String, String>,
}

impl Names {
    /// Names known from fixed lists, for rendering tests.
    #[cfg(test)]
    pub fn from_lists(units: &[(&str, &str)], leaders: &[(&str, &str)]) -> Self {
        let owned = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        Self {
            units: owned(units),
            leaders: owned(leaders),
        }
    }

    /// The names needed to show `tasks`: today's units, then the units of each day a task with
    /// a code unknown today was assigned, and today's leaders.
    pub async fn for_tasks(
        client: &mut AssignmentClient,
        tasks: &[pb::Task],
    ) -> anyhow::Result<Self> {
        let mut names = Self::default();
        names.add_units(client, "").await?;
        let days: BTreeSet<&str> = tasks
            .iter()
            .filter(|task| task_unit_codes(task).any(|code| !names.units.contains_key(code)))
            .map(|task| task.assigned_on.as_str())
            .filter(|day| !day.is_empty())
            .collect();
        for day in days {
            names.add_units(client, day).await?;
        }
        let leaders = client
            .list_leaders(pb::ListLeadersRequest {
                as_of: String::new(),
            })
            .await
            .context("ListLeaders failed")?
            .into_inner();
        for leader in leaders.leaders {
            names.leaders.insert(leader.id, leader.full_name);
        }
        Ok(names)
    }

    async fn add_units(
        &mut self,
        client: &mut AssignmentClient,
        as_of: &str,
    ) -> anyhow::Result<()> {
        for unit in list_units(client, as_of, "", "").await? {
            self.units.entry(unit.code).or_insert(unit.name_vi);
        }
        Ok(())
    }

    /// `SXD (Sở Xây dựng)`, or the bare code when no directory names it.
    pub fn unit(&self, code: &str) -> String {
        match self.units.get(code) {
            Some(name) if !code.is_empty() => format!("{code} ({name})"),
            _ => code.to_owned(),
        }
    }

    /// `pct-tran (Trần Văn B)`, or the bare id when the directory does not name it.
    pub fn leader(&self, id: &str) -> String {
        match self.leaders.get(id) {
            Some(name) if !id.is_empty() => format!("{id} ({name})"),
            _ => id.to_owned(),
        }
    }
}

fn task_unit_codes(task: &pb::Task) -> impl Iterator<Item = &str> {
    std::iter::once(task.lead_unit.as_str())
        .chain(task.coordinating_units.iter().map(String::as_str))
        .chain(
            task.reassignments
                .iter()
                .flat_map(|r| [r.from_lead_unit.as_str(), r.to_lead_unit.as_str()]),
        )
}

/// Every unit of the directory valid on `as_of` (empty = today) matching `kind` and `query`.
pub async fn list_units(
    client: &mut AssignmentClient,
    as_of: &str,
    kind: &str,
    query: &str,
) -> anyhow::Result<Vec<pb::Unit>> {
    let mut request = pb::ListUnitsRequest {
        query: query.to_owned(),
        as_of: as_of.to_owned(),
        kind: kind.to_owned(),
        page_size: PAGE_SIZE,
        page_token: String::new(),
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_code_shows_its_name_and_an_unknown_one_stays_bare() {
        let names = Names::from_lists(&[("SXD", "Sở Xây dựng")], &[("pct-tran", "Trần Văn B")]);

        assert_eq!(names.unit("SXD"), "SXD (Sở Xây dựng)");
        assert_eq!(names.unit("XYZ"), "XYZ");
        assert_eq!(names.leader("pct-tran"), "pct-tran (Trần Văn B)");
        assert_eq!(names.leader(""), "");
    }
}
