//! `dondoc task`: assigning, reading and listing tasks through the assignment service.

use std::io::Write;

use anyhow::{Context as _, bail};
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::assign_task_request::Term;

use crate::cli::{AssignArgs, AssignmentConnection, ListTasksArgs, TaskCommand};
use crate::client::{self, AssignmentClient};
use crate::output::{
    date_or_none, issuer_kind_label, priority_label, status_label, timestamp, write_table,
};

/// The service caps pages at 500; asking for the cap keeps long lists to few round trips.
const PAGE_SIZE: i32 = 500;

pub async fn run(
    connection: &AssignmentConnection,
    command: TaskCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = client::assignment(connection).await?;
    match command {
        TaskCommand::Assign(args) => assign(&mut client, *args, out).await,
        TaskCommand::Get { task_id } => {
            let task = client
                .get_task(pb::GetTaskRequest { task_id })
                .await
                .context("GetTask failed")?
                .into_inner();
            write_task_details(out, &task)
        }
        TaskCommand::List(args) => {
            let tasks = list(&mut client, list_request(args)).await?;
            write_task_table(out, &tasks)
        }
    }
}

/// The request for `args`; a missing `--request-id` gets a fresh UUIDv7, which sorts by time
/// and so keeps the service's request log in arrival order.
pub fn assign_request(args: AssignArgs) -> pb::AssignTaskRequest {
    let term = match args.deadline {
        Some(deadline) => Term::Deadline(deadline.to_string()),
        None => Term::NoDeadline(true),
    };
    pb::AssignTaskRequest {
        origin: None,
        assignment: None,
        request_id: args
            .request_id
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        issuer: Some(pb::Issuer {
            kind: pb::IssuerKind::from(args.issuer_kind).into(),
            leader_id: args.leader_id.unwrap_or_default(),
            leader_name: args.leader_name.unwrap_or_default(),
        }),
        source_document: Some(pb::SourceDocument {
            number: args.doc_number,
            symbol: args.doc_symbol,
            date: args.doc_date.to_string(),
            summary: args.doc_summary,
        }),
        content: args.content.unwrap_or_else(|| args.title.clone()),
        title: args.title,
        lead_unit: args.lead,
        coordinating_units: args.coordinate,
        term: Some(term),
        priority: pb::Priority::from(args.priority).into(),
    }
}

async fn assign(
    client: &mut AssignmentClient,
    args: AssignArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let request = assign_request(args);
    let request_id = request.request_id.clone();
    let task = client
        .assign_task(request)
        .await
        // The request id lets the operator retry without creating a second task (AIP-155).
        .with_context(|| format!("AssignTask failed (request id {request_id})"))?
        .into_inner();
    write_fields(
        out,
        &[
            ("task id", task.task_id.clone()),
            ("status", status_label(task.status())),
            ("lead", task.lead_unit.clone()),
            ("deadline", date_or_none(&task.deadline)),
            ("version", task.version.to_string()),
            ("request id", request_id),
        ],
    )
}

pub fn list_request(args: ListTasksArgs) -> pb::ListTasksRequest {
    pb::ListTasksRequest {
        unit: args.unit.unwrap_or_default(),
        issuer_kind: args
            .issuer_kind
            .map_or(pb::IssuerKind::Unspecified, pb::IssuerKind::from)
            .into(),
        issuer_leader_id: args.issuer_leader_id.unwrap_or_default(),
        status: args
            .status
            .map_or(pb::TaskStatus::Unspecified, pb::TaskStatus::from)
            .into(),
        deadline_from: args
            .deadline_from
            .map(|date| date.to_string())
            .unwrap_or_default(),
        deadline_to: args
            .deadline_to
            .map(|date| date.to_string())
            .unwrap_or_default(),
        page_size: PAGE_SIZE,
        page_token: String::new(),
        ..Default::default()
    }
}

/// Every task matching `request`, across all pages.
async fn list(
    client: &mut AssignmentClient,
    mut request: pb::ListTasksRequest,
) -> anyhow::Result<Vec<pb::Task>> {
    let mut tasks = Vec::new();
    loop {
        let page = client
            .list_tasks(request.clone())
            .await
            .context("ListTasks failed")?
            .into_inner();
        tasks.extend(page.tasks);
        if page.next_page_token.is_empty() {
            return Ok(tasks);
        }
        // A token that does not advance would loop forever; fail instead of hanging the terminal.
        if page.next_page_token == request.page_token {
            bail!("ListTasks returned the same page token twice");
        }
        request.page_token = page.next_page_token;
    }
}

fn write_task_table(out: &mut impl Write, tasks: &[pb::Task]) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|task| {
            vec![
                task.task_id.clone(),
                status_label(task.status()),
                task.lead_unit.clone(),
                date_or_none(&task.deadline),
                priority_label(task.priority()),
                task.title.clone(),
            ]
        })
        .collect();
    write_table(
        out,
        &["TASK ID", "STATUS", "LEAD", "DEADLINE", "PRIORITY", "TITLE"],
        &rows,
    )?;
    writeln!(out, "\n{} tasks", tasks.len())?;
    Ok(())
}

fn write_task_details(out: &mut impl Write, task: &pb::Task) -> anyhow::Result<()> {
    let issuer = task.issuer.clone().unwrap_or_default();
    let document = task.source_document.clone().unwrap_or_default();
    let mut issuer_text = issuer_kind_label(issuer.kind());
    if !issuer.leader_id.is_empty() || !issuer.leader_name.is_empty() {
        issuer_text = format!(
            "{issuer_text} ({})",
            [issuer.leader_id.as_str(), issuer.leader_name.as_str()]
                .into_iter()
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut fields = vec![
        ("task id", task.task_id.clone()),
        ("title", task.title.clone()),
        ("status", status_label(task.status())),
        ("priority", priority_label(task.priority())),
        ("issuer", issuer_text),
        (
            "document",
            format!(
                "{}/{} of {}: {}",
                document.number, document.symbol, document.date, document.summary
            ),
        ),
        ("lead", task.lead_unit.clone()),
        ("coordinating", task.coordinating_units.join(", ")),
        ("deadline", date_or_none(&task.deadline)),
        ("original deadline", date_or_none(&task.original_deadline)),
        ("assigned on", task.assigned_on.clone()),
        ("assigned at", timestamp(task.assigned_at.as_ref())),
        ("assigned by", task.assigned_by.clone()),
        ("version", task.version.to_string()),
    ];
    if !task.cancel_reason.is_empty() {
        fields.push(("cancel reason", task.cancel_reason.clone()));
    }
    if task.refused_hand_off_attempts > 0 {
        fields.push((
            "refused hand-offs",
            task.refused_hand_off_attempts.to_string(),
        ));
    }
    write_fields(out, &fields)?;
    if !task.content.is_empty() {
        writeln!(out, "\n{}", task.content)?;
    }
    if task.deadline_history.len() > 1 {
        writeln!(out, "\ndeadline history:")?;
        for change in &task.deadline_history {
            writeln!(
                out,
                "  {}  {}  by {}: {}",
                timestamp(change.changed_at.as_ref()),
                date_or_none(&change.deadline),
                change.changed_by,
                change.reason
            )?;
        }
    }
    if !task.reassignments.is_empty() {
        writeln!(out, "\nreassignments:")?;
        for change in &task.reassignments {
            writeln!(
                out,
                "  {}  {} -> {}  by {}: {}",
                timestamp(change.reassigned_at.as_ref()),
                change.from_lead_unit,
                change.to_lead_unit,
                change.reassigned_by,
                change.reason
            )?;
        }
    }
    Ok(())
}

/// `label  value` lines with the values aligned.
fn write_fields(out: &mut impl Write, fields: &[(&str, String)]) -> anyhow::Result<()> {
    let width = fields
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    for (label, value) in fields {
        writeln!(out, "{label:<width$}  {value}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{IssuerKindArg, PriorityArg, StatusArg};

    fn date(text: &str) -> chrono::NaiveDate {
        text.parse().expect("valid test date")
    }

    fn assign_args() -> AssignArgs {
        AssignArgs {
            issuer_kind: IssuerKindArg::ViceChairman,
            leader_id: Some("PCT1".to_owned()),
            leader_name: None,
            doc_number: "1234".to_owned(),
            doc_symbol: "UBND-VP".to_owned(),
            doc_date: date("2026-11-20"),
            doc_summary: "Về việc".to_owned(),
            title: "Báo cáo".to_owned(),
            content: None,
            lead: "SXD".to_owned(),
            coordinate: vec!["STC".to_owned()],
            deadline: Some(date("2026-12-31")),
            no_deadline: false,
            priority: PriorityArg::Urgent,
            request_id: None,
        }
    }

    #[test]
    fn assign_request_carries_the_deadline_and_a_fresh_request_id() {
        let request = assign_request(assign_args());

        assert_eq!(request.term, Some(Term::Deadline("2026-12-31".to_owned())));
        assert_eq!(request.priority(), pb::Priority::Urgent);
        let issuer = request.issuer.expect("issuer");
        assert_eq!(issuer.kind(), pb::IssuerKind::ViceChairman);
        assert_eq!(issuer.leader_id, "PCT1");
        assert_eq!(
            request.source_document.expect("document").date,
            "2026-11-20"
        );
        assert_eq!(
            request.content, "Báo cáo",
            "the title stands in for a missing content"
        );
        let request_id = uuid::Uuid::parse_str(&request.request_id).expect("a UUID");
        assert_eq!(request_id.get_version_num(), 7);
    }

    #[test]
    fn assign_request_without_deadline_says_so_and_keeps_a_given_request_id() {
        let mut args = assign_args();
        args.deadline = None;
        args.no_deadline = true;
        args.request_id = Some("retry-me".to_owned());
        args.content = Some("Chi tiết".to_owned());

        let request = assign_request(args);

        assert_eq!(request.term, Some(Term::NoDeadline(true)));
        assert_eq!(request.content, "Chi tiết");
        assert_eq!(request.request_id, "retry-me");
    }

    #[test]
    fn list_request_leaves_unset_filters_empty() {
        let request = list_request(ListTasksArgs {
            unit: None,
            status: Some(StatusArg::Completed),
            issuer_kind: None,
            issuer_leader_id: Some("pct-tran".into()),
            deadline_from: Some(date("2026-01-01")),
            deadline_to: None,
        });

        assert_eq!(request.unit, "");
        assert_eq!(request.status(), pb::TaskStatus::Completed);
        assert_eq!(request.issuer_kind(), pb::IssuerKind::Unspecified);
        assert_eq!(request.issuer_leader_id, "pct-tran");
        assert_eq!(request.deadline_from, "2026-01-01");
        assert_eq!(request.deadline_to, "");
        assert_eq!(request.page_token, "");
    }

    #[test]
    fn task_table_shows_one_line_per_task() {
        let task = pb::Task {
            task_id: "t-1".to_owned(),
            lead_unit: "SXD".to_owned(),
            title: "Báo cáo".to_owned(),
            status: pb::TaskStatus::Assigned.into(),
            priority: pb::Priority::Flash.into(),
            ..Default::default()
        };
        let mut out = Vec::new();

        write_task_table(&mut out, &[task]).expect("writes");

        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            text,
            "TASK ID  STATUS    LEAD  DEADLINE  PRIORITY  TITLE\n\
             t-1      assigned  SXD   none      flash     Báo cáo\n\
             \n1 tasks\n"
        );
    }
}
