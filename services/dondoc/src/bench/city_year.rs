//! A city-year of tasks, generated, and a full rebuild of every read model from it.
//!
//! The generator is deterministic (a fixed seed and SplitMix64, so two runs write the same
//! tasks in the same order): tens of thousands of tasks assigned over a year from 1 July 2025
//! to the 2025 departments and communes, each followed by what the Office records — extension
//! requests approved or rejected, refused hand-offs, reassignments, a few cancellations — up to
//! the number of events asked for. It writes through the event store itself, so the log is
//! exactly what the service would have written (hash chain included).
//!
//! The rebuild is then timed as an operator would live it: the assignment service starts on the
//! log (its task list is built before it reports SERVING), and the reporting service starts
//! empty and consumes everything the relay publishes to JetStream.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{Days, NaiveDate, TimeZone as _, Utc};
use dondoc_assignment::domain::{
    Assigner, AssignerKind, Assignment, Origin, OriginKind, Priority, SourceDocument, TaskEvent,
    TaskId, UnitCode,
};
use dondoc_eventsourcing::db::OpenMode;
use dondoc_eventsourcing::nats_server::NatsServer;
use dondoc_eventsourcing::store::{AppendRequest, ExpectedVersion};
use dondoc_eventsourcing::{Actor, Database, EventMetadata, EventStore, NewEvent};
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::diagnostics_service_client::DiagnosticsServiceClient;
use dondoc_proto::v1::reporting_service_client::ReportingServiceClient;
use dondoc_runtime::auth::{BearerToken, Principal, Role};
use tokio::process::{Child, Command};

use super::load::progress;
use super::report::TARGET_REBUILD_EVENTS_PER_SECOND;
use super::systems::{connect, free_port, service_binaries, wait_until_serving};
use crate::keys;

/// Events per task on average: what a year of follow-up adds to each assignment.
const EVENTS_PER_TASK: u64 = 16;

/// Lead units: the 2025 departments and some communes.
const UNITS: &[&str] = &[
    "SXD", "STC", "SNV", "STP", "SCT", "SYT", "SNNMT", "SKHCN", "SGDDT", "SVHTTDL", "11560",
    "11311", "11329", "11359", "11383", "11407", "11411",
];

/// What the rebuild measured.
#[derive(Debug, Clone)]
pub struct RebuildReport {
    pub events: u64,
    pub tasks: u64,
    pub generate_seconds: f64,
    /// Start of the assignment process → SERVING (its task list caught up).
    pub task_list_seconds: f64,
    /// Start of the reporting process → the board applied every event.
    pub board_seconds: f64,
    /// Peak RSS per process, bytes.
    pub peak_rss: Vec<(String, u64)>,
}

impl RebuildReport {
    pub fn task_list_rate(&self) -> f64 {
        self.events as f64 / self.task_list_seconds.max(1e-6)
    }

    pub fn board_rate(&self) -> f64 {
        self.events as f64 / self.board_seconds.max(1e-6)
    }

    pub fn markdown(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "### Rebuild from a city-year ({} events, {} tasks; generated in {:.1} s)\n\n\
             | read model | seconds | events/s | target |\n|---|---:|---:|---:|\n\
             | task list (assignment process, from its SQLite log) | {:.1} | {:.0} | ≥ {:.0} |\n\
             | board (relay → JetStream → reporting process) | {:.1} | {:.0} | ≥ {:.0} |\n",
            self.events,
            self.tasks,
            self.generate_seconds,
            self.task_list_seconds,
            self.task_list_rate(),
            TARGET_REBUILD_EVENTS_PER_SECOND,
            self.board_seconds,
            self.board_rate(),
            TARGET_REBUILD_EVENTS_PER_SECOND,
        );
        let rss: Vec<String> = self
            .peak_rss
            .iter()
            .map(|(name, bytes)| format!("{name} {:.0} MiB", *bytes as f64 / 1_048_576.0))
            .collect();
        let _ = writeln!(md, "- Peak RSS: {}\n", rss.join(", "));
    }
}

/// Generates `events` events and rebuilds from them.
pub async fn run(work: &Path, events: u64) -> anyhow::Result<RebuildReport> {
    let data = work.join("city-year");
    std::fs::create_dir_all(&data)?;
    let url = format!("sqlite://{}", data.join("assignment.db").display());
    let started = Instant::now();
    let tasks = generate(&url, events).await?;
    let generate_seconds = started.elapsed().as_secs_f64();

    let (assignment_bin, reporting_bin) = service_binaries()?;
    let keys = keys::load_or_generate(&data)?;
    let admin = keys.issuer()?.mint(
        &Principal {
            subject: "bench-admin".into(),
            role: Role::Admin,
            unit_code: None,
            leader_id: None,
        },
        Duration::from_secs(6 * 3600),
    )?;
    let mut nats = NatsServer::start()
        .await
        .context("cannot start nats-server")?;
    let spawn = |binary: &Path, service: &str, database: String, port: u16| {
        let upper = service.to_uppercase();
        Command::new(binary)
            .current_dir(&data)
            .env(format!("DONDOC_{upper}__DATABASE_URL"), database)
            .env(format!("DONDOC_{upper}__NATS_URL"), nats.url())
            .env(
                format!("DONDOC_{upper}__LISTEN"),
                format!("127.0.0.1:{port}"),
            )
            .env("DONDOC_AUTH__PUBLIC_KEY_PATH", keys::public_key_path(&data))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))
    };

    let bar = progress("task list rebuild", Duration::from_secs(1));
    let assignment_port = free_port()?;
    let started = Instant::now();
    let mut assignment = spawn(&assignment_bin, "assignment", url.clone(), assignment_port)?;
    let assignment_endpoint = format!("http://127.0.0.1:{assignment_port}");
    wait_until_serving(&assignment_endpoint).await?;
    let task_list_seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let reporting_port = free_port()?;
    let started = Instant::now();
    let reporting_db = format!("sqlite://{}", data.join("reporting.db").display());
    let mut reporting = spawn(&reporting_bin, "reporting", reporting_db, reporting_port)?;
    let reporting_endpoint = format!("http://127.0.0.1:{reporting_port}");
    wait_until_serving(&reporting_endpoint).await?;
    let mut board = ReportingServiceClient::with_interceptor(
        connect(&reporting_endpoint).await?,
        BearerToken::new(admin.clone()),
    );
    let bar = progress("board rebuild through JetStream", Duration::from_secs(1));
    bar.set_length(events);
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let applied = board
            .get_task_board(pb::GetTaskBoardRequest::default())
            .await?
            .into_inner()
            .events_applied;
        bar.set_position(applied);
        if applied >= events {
            break;
        }
        if Instant::now() > deadline {
            bail!("the board applied {applied} of {events} events in 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let board_seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let mut peak_rss = Vec::new();
    for (name, endpoint) in [
        ("assignment", &assignment_endpoint),
        ("reporting", &reporting_endpoint),
    ] {
        let stats = DiagnosticsServiceClient::with_interceptor(
            connect(endpoint).await?,
            BearerToken::new(admin.clone()),
        )
        .get_process_stats(pb::GetProcessStatsRequest {})
        .await?
        .into_inner();
        peak_rss.push((name.to_owned(), stats.peak_rss_bytes));
    }
    stop(&mut assignment).await;
    stop(&mut reporting).await;
    nats.stop().await;
    Ok(RebuildReport {
        events,
        tasks,
        generate_seconds,
        task_list_seconds,
        board_seconds,
        peak_rss,
    })
}

async fn stop(child: &mut Child) {
    let _ = child.kill().await;
}

/// Writes a city-year of `events` task events into the assignment log at `url`; returns the
/// number of tasks.
pub async fn generate(url: &str, events: u64) -> anyhow::Result<u64> {
    let db = Database::open(url, OpenMode::CreateIfMissing).await?;
    let store = EventStore::open(db, "assignment", dondoc_assignment::events::upcasters()).await?;
    if store.head_position().await? > 0 {
        bail!("{url} already holds events; the generator writes into an empty log");
    }
    let tasks = (events / EVENTS_PER_TASK).max(1);
    let bar = progress("generating a city-year", Duration::from_secs(1));
    bar.set_length(events);
    // Many tasks in flight so the store's group commit fills its batches.
    let in_flight = Arc::new(tokio::sync::Semaphore::new(1024));
    let mut handles = Vec::new();
    let mut rng = SplitMix64(2025);
    let extra = events - tasks;
    for index in 0..tasks {
        let follow_ups = extra / tasks + u64::from(index < extra % tasks);
        let history = task_history(index, follow_ups, &mut rng);
        let permit = in_flight.clone().acquire_owned().await?;
        let store = store.clone();
        let bar = bar.clone();
        handles.push(tokio::spawn(async move {
            let _permit = permit;
            let count = history.events.len() as u64;
            store
                .append(AppendRequest {
                    stream_type: "task".into(),
                    stream_id: history.task_id.to_string(),
                    expected: ExpectedVersion::Exactly(0),
                    events: history.events.iter().map(NewEvent::from_domain).collect(),
                    metadata: history.metadata,
                    idempotency: None,
                })
                .await?;
            bar.inc(count);
            anyhow::Ok(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    bar.finish_and_clear();
    store.database().close().await;
    Ok(tasks)
}

struct History {
    task_id: TaskId,
    events: Vec<TaskEvent>,
    metadata: EventMetadata,
}

/// Task `index` of the year and its `follow_ups` later events.
fn task_history(index: u64, follow_ups: u64, rng: &mut SplitMix64) -> History {
    let task_id = TaskId::from_uuid(uuid::Uuid::from_u64_pair(0x0193_d0d0_c000_7000, index));
    let year_start = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or_default();
    let assigned_on = year_start + Days::new(rng.below(365));
    let mut deadline = assigned_on + Days::new(30 + rng.below(60));
    let mut lead = unit(rng.below(UNITS.len() as u64));
    let chairman = rng.below(5) == 0;
    let assigner = Assigner {
        kind: if chairman {
            AssignerKind::Chairman
        } else {
            AssignerKind::ViceChairman
        },
        leader_id: Some(if chairman { "ct-nguyen" } else { "pct-tran" }.into()),
        leader_name: None,
    };
    let mut events = vec![TaskEvent::Assigned {
        task_id,
        origin: Origin {
            kind: OriginKind::CityPeoplesCommittee,
            issuing_body: None,
            document: None,
        },
        assignment: Assignment {
            assigner,
            document: SourceDocument {
                number: format!("{}", 1000 + index),
                symbol: "UBND-VP".into(),
                date: assigned_on,
                summary: "Về việc triển khai nhiệm vụ trọng tâm năm".into(),
            },
        },
        title: format!("Nhiệm vụ số {index} của năm"),
        content: "Tổ chức thực hiện, báo cáo kết quả về UBND thành phố".into(),
        lead_unit: lead.clone(),
        coordinating_units: vec![],
        deadline: Some(deadline),
        priority: Priority::Normal,
        assigned_on,
        supervising_leader_id: Some("pct-tran".into()),
        historical: None,
    }];
    let mut pending: Option<(String, NaiveDate, NaiveDate)> = None;
    for step in 0..follow_ups {
        let cancelled_last = step + 1 == follow_ups && follow_ups > 1 && rng.below(20) == 0;
        if cancelled_last {
            events.push(TaskEvent::Cancelled {
                task_id,
                reason: "Không còn cần thiết".into(),
            });
            break;
        }
        let today = assigned_on + Days::new(step + 1);
        let event = match (step % 4, pending.take()) {
            (_, Some((extension_id, requested_on, proposed))) => {
                if rng.below(3) == 0 {
                    TaskEvent::ExtensionRejected {
                        task_id,
                        extension_id,
                        requested_on,
                        decided_on: today,
                        rejected_by_leader: "pct-tran".into(),
                        reason: "Không có lý do chính đáng".into(),
                    }
                } else {
                    let previous = deadline;
                    deadline = proposed;
                    TaskEvent::DeadlineExtended {
                        task_id,
                        previous_deadline: Some(previous),
                        new_deadline: proposed,
                        reason: "Chờ ý kiến của các sở, ngành".into(),
                        approved_by_leader: Some("pct-tran".into()),
                        requested_on: Some(requested_on),
                        extension_id: Some(extension_id),
                        requested_by_unit: Some(lead.clone()),
                        decided_on: Some(today),
                    }
                }
            }
            (0, None) => {
                let extension_id = format!("e-{index}-{step}");
                let proposed = deadline + Days::new(15);
                pending = Some((extension_id.clone(), today, proposed));
                TaskEvent::ExtensionRequested {
                    task_id,
                    extension_id,
                    requested_on: today,
                    current_deadline: deadline,
                    proposed_deadline: proposed,
                    reason: "Chờ ý kiến của các sở, ngành".into(),
                    requested_by_unit: Some(lead.clone()),
                }
            }
            (1 | 2, None) => TaskEvent::HandOffRefused {
                task_id,
                lead_unit: lead.clone(),
                requested_lead_unit: other_unit(&lead, rng),
                reason_given: "Không thuộc chức năng, nhiệm vụ".into(),
            },
            (_, None) => {
                let new_lead = other_unit(&lead, rng);
                let previous = std::mem::replace(&mut lead, new_lead.clone());
                TaskEvent::Reassigned {
                    task_id,
                    previous_lead_unit: previous,
                    new_lead_unit: new_lead,
                    previous_coordinating_units: vec![],
                    new_coordinating_units: vec![],
                    reason: "Điều chỉnh phân công".into(),
                    supervising_leader_id: Some("pct-tran".into()),
                }
            }
        };
        events.push(event);
    }
    let occurred_at = Utc.from_utc_datetime(&assigned_on.and_hms_opt(2, 0, 0).unwrap_or_default());
    History {
        task_id,
        events,
        metadata: EventMetadata {
            occurred_at,
            actor: Actor {
                subject: "bench-generator".into(),
                role: "office".into(),
                unit_code: String::new(),
                leader_id: String::new(),
            },
            correlation_id: uuid::Uuid::now_v7().to_string(),
            causation_id: String::new(),
            traceparent: String::new(),
        },
    }
}

fn unit(index: u64) -> UnitCode {
    let code = UNITS[usize::try_from(index).unwrap_or(0) % UNITS.len()];
    UnitCode::parse(code).expect("the bench's unit codes are valid")
}

fn other_unit(current: &UnitCode, rng: &mut SplitMix64) -> UnitCode {
    loop {
        let candidate = unit(rng.below(UNITS.len() as u64));
        if &candidate != current {
            return candidate;
        }
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast and the same on every platform, which is
/// all a data generator needs.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform enough below `n` for test data (modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_writes_exactly_the_events_asked() {
        let histories = |seed| {
            let mut rng = SplitMix64(seed);
            (0..50)
                .map(|i| task_history(i, 15, &mut rng))
                .map(|h| (h.task_id, h.events))
                .collect::<Vec<_>>()
        };

        let (first, second) = (histories(2025), histories(2025));

        assert_eq!(first, second);
        for (_, events) in &first {
            assert!(matches!(events[0], TaskEvent::Assigned { .. }));
            assert!(events.len() <= 16);
            let cancelled = events
                .iter()
                .position(|e| matches!(e, TaskEvent::Cancelled { .. }));
            assert!(
                cancelled.is_none_or(|at| at == events.len() - 1),
                "cancel is last"
            );
        }
    }

    #[tokio::test]
    async fn a_generated_year_is_a_valid_log() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("assignment.db").display());

        let tasks = generate(&url, 320).await.expect("generates");

        let db = Database::open(&url, OpenMode::MustExist).await.expect("db");
        let report = dondoc_eventsourcing::store::verify_log(&db)
            .await
            .expect("verifies");
        assert_eq!(tasks, 20);
        assert_eq!(report.events_checked, 320);
        assert!(report.first_problem.is_none());
    }
}
