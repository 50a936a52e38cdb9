//! `dondoc bench`: the whole system driven through gRPC, measured beside its baselines.
//!
//! A figure such as "600 AssignTask/s" says nothing on its own: it depends on the disk, the
//! cores and the driver. So every run measures, on the same machine and in the same minutes,
//! what the machine allows — the gRPC floor, a raw INSERT+commit, a raw JetStream publish
//! ([`baselines`]) — and reports dondoc's figures as ratios to them. The system runs as it is
//! deployed, in processes of its own ([`systems`]), so CPU time and memory are the services'
//! alone; the services count their own SQL statements on request (`DiagnosticsService`).
//!
//! Phases, for each setup: baselines; AssignTask from N clients with a freshness sampler beside
//! it (a command acknowledged → visible on the board); AssignTask from one client; a counted
//! pass for SQL statements; the reads (GetTask, ListTasks, GetUnit, the board) from N clients
//! and from one. `--rebuild` instead generates a city-year of events and measures a full
//! projection rebuild ([`city_year`]).

mod baselines;
mod city_year;
mod load;
mod report;
mod systems;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use dondoc_proto::v1 as pb;
use tokio_util::sync::CancellationToken;

use crate::cli::{BenchArgs, BenchPhase};
use load::{Measured, Op, OpFuture, drive, histogram};
use systems::System;

pub use report::{Report, SetupReport};

/// The unit the freshness sampler assigns to; the load never does, so the sampler can tell its
/// own task arriving on the board by that unit's count.
const SAMPLER_UNIT: &str = "VP";

/// Lead units of the load: departments of the 2025 directory.
const LEAD_UNITS: &[&str] = &[
    "SXD", "STC", "SNV", "STP", "SCT", "SYT", "SNNMT", "SKHCN", "SGDDT",
];

pub async fn run(args: BenchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    if args.clients == 0 {
        bail!("--clients must be at least 1");
    }
    let temporary;
    let work = match &args.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => {
            temporary = tempfile::tempdir()?;
            temporary.path().to_path_buf()
        }
    };
    let mut report = Report::new(args.clients, args.duration);
    if args.rebuild {
        report.rebuild = Some(city_year::run(&work, args.events).await?);
    } else {
        if !args.no_embedded {
            let system = System::embedded(&work).await?;
            let measured = measure(&system, &args).await;
            system.stop().await?;
            report.setups.push(measured?);
        }
        if let Some(url) = &args.postgres_url {
            let mut layouts = vec![systems::Layout::Split];
            if args.cluster {
                layouts.push(systems::Layout::Cluster);
            }
            for layout in layouts {
                let system = System::on_postgres(&work, url, layout).await?;
                let measured = measure(&system, &args).await;
                system.stop().await?;
                report.setups.push(measured?);
            }
        }
        if report.setups.is_empty() {
            bail!("nothing to measure: --no-embedded needs --postgres-url");
        }
    }
    let markdown = report.markdown();
    out.write_all(markdown.as_bytes())?;
    if let Some(path) = &args.report {
        std::fs::write(path, &markdown)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Every phase asked for, on one running setup.
async fn measure(system: &System, args: &BenchArgs) -> anyhow::Result<SetupReport> {
    let (n, d) = (args.clients, args.duration);
    let short = (d / 2).max(Duration::from_secs(1));
    let mut setup = SetupReport::new(system.name, system.engine);
    setup.processes = system.processes.iter().map(|(name, _)| *name).collect();
    let issued = Arc::new(AtomicU64::new(0));

    if args.phases.contains(&BenchPhase::Baselines) {
        setup.floor = Some(baselines::grpc_floor(&system.assignment, n, d).await?);
        setup.floor_one = Some(baselines::grpc_floor(&system.assignment, 1, short).await?);
        setup.raw_insert =
            Some(baselines::raw_insert(&system.raw_database_url, system.engine, n, d).await?);
        let replicas = system.stream_replicas;
        setup.publish_one =
            Some(baselines::jetstream_publish(&system.nats_url, replicas, 1, short).await?);
        setup.publish_window = Some(
            baselines::jetstream_publish(
                &system.nats_url,
                replicas,
                baselines::PUBLISH_WINDOW,
                short,
            )
            .await?,
        );
    }

    if args.phases.contains(&BenchPhase::Assign) {
        // Throughput and CPU: nothing else runs, and the CPU window closes when the board has
        // counted every task, so it holds all the work the commands caused.
        let before = system.stats().await?;
        let from = issued.load(Ordering::Relaxed);
        let assign = drive(
            &format!("AssignTask ×{n}"),
            assign_ops(system, n, issued.clone()).await?,
            d,
        )
        .await;
        caught_up(system, issued.load(Ordering::Relaxed)).await?;
        let after = system.stats().await?;
        let commands = (issued.load(Ordering::Relaxed) - from).max(1);
        setup.cpu_micros_per_command = before
            .iter()
            .zip(&after)
            .map(|(b, a)| a.cpu_micros.saturating_sub(b.cpu_micros) as f64 / commands as f64)
            .collect();
        setup.assign = Some(assign);

        // Freshness under the same load, sampled by one more client.
        let stop = CancellationToken::new();
        let sampler = tokio::spawn(freshness_sampler(
            system.assignment_client().await?,
            system.reporting_client().await?,
            issued.clone(),
            stop.clone(),
        ));
        drive(
            &format!("AssignTask ×{n}, sampling freshness"),
            assign_ops(system, n, issued.clone()).await?,
            short,
        )
        .await;
        stop.cancel();
        setup.freshness = Some(sampler.await.context("freshness sampler")??);
        caught_up(system, issued.load(Ordering::Relaxed)).await?;

        setup.assign_one = Some(
            drive(
                "AssignTask ×1",
                assign_ops(system, 1, issued.clone()).await?,
                short,
            )
            .await,
        );

        // Statement counts in a pass of their own: counting costs CPU the figures above must
        // not pay.
        let from = issued.load(Ordering::Relaxed);
        let before = system.count_statements(true).await?;
        let counted = drive(
            &format!("AssignTask ×{n}, counting SQL"),
            assign_ops(system, n, issued.clone()).await?,
            short,
        )
        .await;
        caught_up(system, issued.load(Ordering::Relaxed)).await?;
        let after = system.count_statements(false).await?;
        let commands = (issued.load(Ordering::Relaxed) - from).max(1);
        setup.statements_per_command = before
            .iter()
            .zip(&after)
            .map(|(b, a)| {
                a.sql_statements.saturating_sub(b.sql_statements) as f64 / commands as f64
            })
            .collect();
        if counted.errors > 0 {
            setup.notes.push(format!(
                "counted pass: {} errors, first: {}",
                counted.errors,
                counted.first_error.unwrap_or_default()
            ));
        }
    }

    if args.phases.contains(&BenchPhase::Reads) {
        if issued.load(Ordering::Relaxed) == 0 {
            // Something to read: a few seconds of assignments.
            drive(
                &format!("AssignTask ×{n}, tasks to read"),
                assign_ops(system, n, issued.clone()).await?,
                short,
            )
            .await;
            caught_up(system, issued.load(Ordering::Relaxed)).await?;
        }
        let task_ids = Arc::new(some_task_ids(system).await?);
        for clients in [n, 1] {
            let duration = if clients == 1 { short / 2 } else { short };
            let duration = duration.max(Duration::from_secs(1));
            setup.reads.push(
                drive(
                    &format!("GetTask ×{clients}"),
                    get_task_ops(system, clients, task_ids.clone()).await?,
                    duration,
                )
                .await,
            );
            setup.reads.push(
                drive(
                    &format!("ListTasks(unit, 20/page) ×{clients}"),
                    list_tasks_ops(system, clients).await?,
                    duration,
                )
                .await,
            );
            setup.reads.push(
                drive(
                    &format!("GetUnit ×{clients}"),
                    get_unit_ops(system, clients).await?,
                    duration,
                )
                .await,
            );
            setup.reads.push(
                drive(
                    &format!("GetTaskBoard ×{clients}"),
                    board_ops(system, clients).await?,
                    duration,
                )
                .await,
            );
        }
    }
    setup.final_stats = system.stats().await?;
    Ok(setup)
}

/// `clients` AssignTask callers, each on its own connection, spreading tasks over the lead
/// units so that no single stream or board row is the bottleneck.
async fn assign_ops(
    system: &System,
    clients: usize,
    issued: Arc<AtomicU64>,
) -> anyhow::Result<Vec<Op>> {
    let deadline = (chrono::Utc::now().date_naive() + chrono::Days::new(90)).to_string();
    let next = Arc::new(AtomicUsize::new(0));
    let mut ops: Vec<Op> = Vec::new();
    for _ in 0..clients {
        let client = system.assignment_client().await?;
        let (issued, next, deadline) = (issued.clone(), next.clone(), deadline.clone());
        ops.push(Box::new(move || {
            let mut client = client.clone();
            let issued = issued.clone();
            let i = next.fetch_add(1, Ordering::Relaxed);
            let request = assign_request(LEAD_UNITS[i % LEAD_UNITS.len()], &deadline, i);
            Box::pin(async move {
                client.assign_task(request).await?;
                issued.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }) as OpFuture
        }));
    }
    Ok(ops)
}

fn assign_request(lead: &str, deadline: &str, i: usize) -> pb::AssignTaskRequest {
    pb::AssignTaskRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        origin: Some(pb::TaskOrigin {
            kind: pb::OriginKind::CityPeoplesCommittee as i32,
            issuing_body: String::new(),
            document: None,
        }),
        assignment: Some(pb::TaskAssignment {
            assigner: Some(pb::Assigner {
                kind: pb::AssignerKind::ViceChairman as i32,
                leader_id: "pct-tran".into(),
                leader_name: String::new(),
            }),
            document: Some(pb::SourceDocument {
                number: format!("{}", 1000 + i % 9000),
                symbol: "UBND-VP".into(),
                date: chrono::Utc::now().date_naive().to_string(),
                summary: "Về việc đôn đốc thực hiện nhiệm vụ (đo hiệu năng)".into(),
            }),
        }),
        title: format!("Nhiệm vụ đo hiệu năng số {i}"),
        content: "Báo cáo tiến độ thực hiện và đề xuất giải pháp tháo gỡ vướng mắc".into(),
        lead_unit: lead.into(),
        coordinating_units: vec![],
        term: Some(pb::assign_task_request::Term::Deadline(deadline.to_owned())),
        priority: pb::Priority::Normal as i32,
        ..Default::default()
    }
}

/// One command at a time to [`SAMPLER_UNIT`], timing how long after its acknowledgement the
/// board counts it. Freshness in milliseconds; the histogram holds µs.
async fn freshness_sampler(
    mut assignment: systems::Assignment,
    mut reporting: systems::Reporting,
    issued: Arc<AtomicU64>,
    stop: CancellationToken,
) -> anyhow::Result<hdrhistogram::Histogram<u64>> {
    let deadline = (chrono::Utc::now().date_naive() + chrono::Days::new(90)).to_string();
    let mut freshness = histogram();
    let mut i = 0usize;
    let board_count = |board: pb::TaskBoard| board.rows.iter().map(|r| r.tasks).sum::<u64>();
    while !stop.is_cancelled() {
        let seen = board_count(
            reporting
                .get_task_board(pb::GetTaskBoardRequest {
                    unit: SAMPLER_UNIT.into(),
                })
                .await?
                .into_inner(),
        );
        assignment
            .assign_task(assign_request(SAMPLER_UNIT, &deadline, i))
            .await?;
        let acknowledged = Instant::now();
        issued.fetch_add(1, Ordering::Relaxed);
        i += 1;
        loop {
            let now = board_count(
                reporting
                    .get_task_board(pb::GetTaskBoardRequest {
                        unit: SAMPLER_UNIT.into(),
                    })
                    .await?
                    .into_inner(),
            );
            if now > seen {
                break;
            }
            if acknowledged.elapsed() > Duration::from_secs(60) {
                bail!("a task did not reach the board within 60 s");
            }
            // Polling costs the services CPU too; 5 ms keeps that small against the load.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let micros = u64::try_from(acknowledged.elapsed().as_micros()).unwrap_or(u64::MAX);
        freshness.saturating_record(micros.max(1));
    }
    Ok(freshness)
}

/// Waits until the board counts every task issued, so that CPU and statement figures include
/// the work the commands caused downstream.
async fn caught_up(system: &System, issued: u64) -> anyhow::Result<()> {
    let mut reporting = system.reporting_client().await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let board = reporting
            .get_task_board(pb::GetTaskBoardRequest::default())
            .await?
            .into_inner();
        if board.total_tasks >= issued {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the board counts {} of {issued} tasks after 5 minutes",
                board.total_tasks
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn some_task_ids(system: &System) -> anyhow::Result<Vec<String>> {
    let page = system
        .assignment_client()
        .await?
        .list_tasks(pb::ListTasksRequest {
            unit: LEAD_UNITS[0].into(),
            page_size: 500,
            ..Default::default()
        })
        .await?
        .into_inner();
    let ids: Vec<String> = page.tasks.into_iter().map(|t| t.task_id).collect();
    if ids.is_empty() {
        bail!("no task to read back");
    }
    Ok(ids)
}

async fn get_task_ops(
    system: &System,
    clients: usize,
    ids: Arc<Vec<String>>,
) -> anyhow::Result<Vec<Op>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut ops: Vec<Op> = Vec::new();
    for _ in 0..clients {
        let client = system.assignment_client().await?;
        let (ids, next) = (ids.clone(), next.clone());
        ops.push(Box::new(move || {
            let mut client = client.clone();
            let task_id = ids[next.fetch_add(1, Ordering::Relaxed) % ids.len()].clone();
            Box::pin(async move {
                client.get_task(pb::GetTaskRequest { task_id }).await?;
                Ok(())
            }) as OpFuture
        }));
    }
    Ok(ops)
}

async fn list_tasks_ops(system: &System, clients: usize) -> anyhow::Result<Vec<Op>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut ops: Vec<Op> = Vec::new();
    for _ in 0..clients {
        let client = system.assignment_client().await?;
        let next = next.clone();
        ops.push(Box::new(move || {
            let mut client = client.clone();
            let unit = LEAD_UNITS[next.fetch_add(1, Ordering::Relaxed) % LEAD_UNITS.len()];
            Box::pin(async move {
                client
                    .list_tasks(pb::ListTasksRequest {
                        unit: unit.into(),
                        page_size: 20,
                        ..Default::default()
                    })
                    .await?;
                Ok(())
            }) as OpFuture
        }));
    }
    Ok(ops)
}

async fn get_unit_ops(system: &System, clients: usize) -> anyhow::Result<Vec<Op>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut ops: Vec<Op> = Vec::new();
    for _ in 0..clients {
        let client = system.assignment_client().await?;
        let next = next.clone();
        ops.push(Box::new(move || {
            let mut client = client.clone();
            let code = LEAD_UNITS[next.fetch_add(1, Ordering::Relaxed) % LEAD_UNITS.len()];
            Box::pin(async move {
                client
                    .get_unit(pb::GetUnitRequest {
                        code: code.into(),
                        as_of: String::new(),
                    })
                    .await?;
                Ok(())
            }) as OpFuture
        }));
    }
    Ok(ops)
}

async fn board_ops(system: &System, clients: usize) -> anyhow::Result<Vec<Op>> {
    let mut ops: Vec<Op> = Vec::new();
    for _ in 0..clients {
        let client = system.reporting_client().await?;
        ops.push(Box::new(move || {
            let mut client = client.clone();
            Box::pin(async move {
                client
                    .get_task_board(pb::GetTaskBoardRequest::default())
                    .await?;
                Ok(())
            }) as OpFuture
        }));
    }
    Ok(ops)
}

/// Milliseconds of a µs histogram quantile.
pub fn ms(histogram: &hdrhistogram::Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

impl Measured {
    /// The ratio of this rate to `baseline`'s.
    pub fn ratio_to(&self, baseline: &Measured) -> f64 {
        let base = baseline.rate();
        if base > 0.0 { self.rate() / base } else { 0.0 }
    }
}
