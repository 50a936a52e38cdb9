//! The bench's result as Markdown: one table per setup with each figure's ratio to its
//! baseline, then the targets of the performance issue, met or missed and by how much.

use std::fmt::Write as _;
use std::time::Duration;

use dondoc_proto::v1 as pb;
use hdrhistogram::Histogram;

use super::city_year::RebuildReport;
use super::load::Measured;
use super::ms;

/// AssignTask ÷ raw INSERT+commit, at the same concurrency.
pub const TARGET_ASSIGN_VS_INSERT: f64 = 1.0;
/// GetTask and GetUnit ÷ the gRPC floor.
pub const TARGET_READ_VS_FLOOR: f64 = 0.5;
/// CPU µs per AssignTask in the process that serves it.
pub const TARGET_CPU_MICROS: f64 = 200.0;
/// Freshness p99 ÷ AssignTask p99.
pub const TARGET_FRESHNESS_FACTOR: f64 = 5.0;
/// Events per second of a full projection rebuild.
pub const TARGET_REBUILD_EVENTS_PER_SECOND: f64 = 100_000.0;
/// Peak RSS of each service at a city-year of events, MiB.
pub const TARGET_RSS_MIB: f64 = 150.0;

/// Everything one `dondoc bench` run measured.
#[derive(Debug)]
pub struct Report {
    pub clients: usize,
    pub duration: Duration,
    pub setups: Vec<SetupReport>,
    pub rebuild: Option<RebuildReport>,
}

/// One setup's figures.
#[derive(Debug)]
pub struct SetupReport {
    pub name: &'static str,
    pub engine: &'static str,
    pub processes: Vec<&'static str>,
    pub floor: Option<Measured>,
    pub floor_one: Option<Measured>,
    pub raw_insert: Option<Measured>,
    pub publish_one: Option<Measured>,
    pub publish_window: Option<Measured>,
    pub assign: Option<Measured>,
    pub assign_one: Option<Measured>,
    pub freshness: Option<Histogram<u64>>,
    /// Per process, in the order of `processes`.
    pub cpu_micros_per_command: Vec<f64>,
    pub statements_per_command: Vec<f64>,
    pub reads: Vec<Measured>,
    pub final_stats: Vec<pb::ProcessStats>,
    pub notes: Vec<String>,
}

impl SetupReport {
    pub fn new(name: &'static str, engine: &'static str) -> Self {
        Self {
            name,
            engine,
            processes: Vec::new(),
            floor: None,
            floor_one: None,
            raw_insert: None,
            publish_one: None,
            publish_window: None,
            assign: None,
            assign_one: None,
            freshness: None,
            cpu_micros_per_command: Vec::new(),
            statements_per_command: Vec::new(),
            reads: Vec::new(),
            final_stats: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn read(&self, prefix: &str, clients: usize) -> Option<&Measured> {
        self.reads
            .iter()
            .find(|m| m.label.starts_with(prefix) && m.clients == clients)
    }
}

/// One line of the targets table.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub what: String,
    pub measured: String,
    pub goal: String,
    pub met: bool,
}

impl Report {
    pub fn new(clients: usize, duration: Duration) -> Self {
        Self {
            clients,
            duration,
            setups: Vec::new(),
            rebuild: None,
        }
    }

    pub fn targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        for setup in &self.setups {
            let short = setup.engine;
            if let (Some(assign), Some(raw)) = (&setup.assign, &setup.raw_insert) {
                let ratio = assign.ratio_to(raw);
                targets.push(Target {
                    what: format!(
                        "AssignTask ÷ raw INSERT+commit ({short}, ×{})",
                        assign.clients
                    ),
                    measured: format!("{ratio:.2}×"),
                    goal: format!("≥ {TARGET_ASSIGN_VS_INSERT:.1}×"),
                    met: ratio >= TARGET_ASSIGN_VS_INSERT,
                });
            }
            if let Some(floor) = &setup.floor {
                for read in ["GetUnit", "GetTask"] {
                    if let Some(measured) = setup.read(read, floor.clients) {
                        let ratio = measured.ratio_to(floor);
                        targets.push(Target {
                            what: format!("{read} ÷ gRPC floor ({short})"),
                            measured: format!("{ratio:.2}×"),
                            goal: format!("≥ {TARGET_READ_VS_FLOOR:.1}×"),
                            met: ratio >= TARGET_READ_VS_FLOOR,
                        });
                    }
                }
            }
            if let Some(cpu) = setup.cpu_micros_per_command.first() {
                targets.push(Target {
                    what: format!("CPU per AssignTask, {} process", setup.processes[0]),
                    measured: format!("{cpu:.0} µs"),
                    goal: format!("≤ {TARGET_CPU_MICROS:.0} µs"),
                    met: *cpu <= TARGET_CPU_MICROS,
                });
            }
            if let (Some(fresh), Some(assign)) = (&setup.freshness, &setup.assign)
                && !fresh.is_empty()
            {
                let factor = ms(fresh, 0.99) / assign.ms(0.99).max(1e-3);
                targets.push(Target {
                    what: format!("freshness p99 ÷ AssignTask p99 ({short})"),
                    measured: format!("{factor:.1}×"),
                    goal: format!("≤ {TARGET_FRESHNESS_FACTOR:.0}×"),
                    met: factor <= TARGET_FRESHNESS_FACTOR,
                });
            }
        }
        if let Some(rebuild) = &self.rebuild {
            for (what, rate) in [
                (
                    "task list rebuild (in the assignment process)",
                    rebuild.task_list_rate(),
                ),
                (
                    "board rebuild (relay → JetStream → reporting)",
                    rebuild.board_rate(),
                ),
            ] {
                targets.push(Target {
                    what: what.to_owned(),
                    measured: format!("{rate:.0} events/s"),
                    goal: format!("≥ {TARGET_REBUILD_EVENTS_PER_SECOND:.0} events/s"),
                    met: rate >= TARGET_REBUILD_EVENTS_PER_SECOND,
                });
            }
            for (name, bytes) in &rebuild.peak_rss {
                let mib = *bytes as f64 / 1_048_576.0;
                targets.push(Target {
                    what: format!("peak RSS of {name} at {} events", rebuild.events),
                    measured: format!("{mib:.0} MiB"),
                    goal: format!("≤ {TARGET_RSS_MIB:.0} MiB"),
                    met: mib <= TARGET_RSS_MIB,
                });
            }
        }
        targets
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "## dondoc bench — {}\n\n{}; {} clients, {} s per phase.\n",
            chrono::Utc::now().format("%Y-%m-%d"),
            machine(),
            self.clients,
            self.duration.as_secs_f64()
        );
        for setup in &self.setups {
            setup_markdown(&mut md, setup);
        }
        if let Some(rebuild) = &self.rebuild {
            rebuild.markdown(&mut md);
        }
        let targets = self.targets();
        if !targets.is_empty() {
            let _ = writeln!(
                md,
                "### Targets\n\n| target | measured | goal | |\n|---|---:|---:|---|"
            );
            for t in &targets {
                let verdict = if t.met { "met" } else { "**missed**" };
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {verdict} |",
                    t.what, t.measured, t.goal
                );
            }
            md.push('\n');
        }
        md
    }
}

fn row(md: &mut String, m: &Measured, baseline: Option<(&str, &Measured)>) {
    let ratio = baseline
        .map(|(name, base)| format!("{:.2}× {name}", m.ratio_to(base)))
        .unwrap_or_default();
    let errors = if m.errors > 0 {
        format!(
            " ({} errors: {})",
            m.errors,
            m.first_error.as_deref().unwrap_or("")
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        md,
        "| {}{errors} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {ratio} |",
        m.label,
        m.clients,
        m.rate(),
        m.ms(0.5),
        m.ms(0.99),
        m.max_ms(),
    );
}

fn setup_markdown(md: &mut String, s: &SetupReport) {
    let _ = writeln!(
        md,
        "### {}\n\n| what | clients | ops/s | p50 ms | p99 ms | max ms | ratio |\n|---|---:|---:|---:|---:|---:|---|",
        s.name
    );
    for m in [
        &s.floor,
        &s.floor_one,
        &s.raw_insert,
        &s.publish_one,
        &s.publish_window,
    ]
    .into_iter()
    .flatten()
    {
        row(md, m, None);
    }
    if let Some(assign) = &s.assign {
        row(
            md,
            assign,
            s.raw_insert.as_ref().map(|raw| ("raw INSERT", raw)),
        );
    }
    if let Some(assign) = &s.assign_one {
        row(md, assign, None);
    }
    for read in &s.reads {
        let floor = if read.clients == 1 {
            &s.floor_one
        } else {
            &s.floor
        };
        row(md, read, floor.as_ref().map(|f| ("floor", f)));
    }
    md.push('\n');
    let per_process = |values: &[f64], unit: &str| {
        s.processes
            .iter()
            .zip(values)
            .map(|(name, v)| format!("{name} {v:.1}{unit}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        md,
        "- CPU per AssignTask (everything it caused, until the board counted it): {}",
        per_process(&s.cpu_micros_per_command, " µs")
    );
    let _ = writeln!(
        md,
        "- SQL statements per AssignTask (counted pass): {}",
        per_process(&s.statements_per_command, "")
    );
    if let (Some(fresh), Some(assign)) = (&s.freshness, &s.assign) {
        let _ = writeln!(
            md,
            "- Freshness (acknowledged → on the board), {} samples under load: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({:.1}× AssignTask p99)",
            fresh.len(),
            ms(fresh, 0.5),
            ms(fresh, 0.99),
            fresh.max() as f64 / 1000.0,
            ms(fresh, 0.99) / assign.ms(0.99).max(1e-3),
        );
    }
    let rss: Vec<String> = s
        .processes
        .iter()
        .zip(&s.final_stats)
        .map(|(name, stats)| {
            format!(
                "{name} {:.0} MiB",
                stats.peak_rss_bytes as f64 / 1_048_576.0
            )
        })
        .collect();
    let _ = writeln!(md, "- Peak RSS: {}", rss.join(", "));
    for note in &s.notes {
        let _ = writeln!(md, "- {note}");
    }
    md.push('\n');
}

/// "2 × Intel(R) Xeon(R) …, 24 GiB, Linux 6.1": what the figures were measured on.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = dondoc_runtime::diagnostics::kib_field(&meminfo, "MemTotal:") as f64 / 1_048_576.0;
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} × {model}, {memory:.0} GiB, Linux {}",
        kernel.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::load::histogram;

    fn measured(label: &str, clients: usize, ops: u64, latency_us: u64) -> Measured {
        let mut latency = histogram();
        for _ in 0..ops {
            latency.saturating_record(latency_us);
        }
        Measured {
            label: label.into(),
            clients,
            ops,
            errors: 0,
            first_error: None,
            elapsed: Duration::from_secs(1),
            latency,
        }
    }

    #[test]
    fn targets_compare_each_figure_with_its_baseline() {
        let mut setup = SetupReport::new("embedded", "SQLite");
        setup.processes = vec!["dondoc up"];
        setup.floor = Some(measured("gRPC floor ×32", 32, 10_000, 1_000));
        setup.raw_insert = Some(measured("raw INSERT ×32", 32, 2_000, 10_000));
        setup.assign = Some(measured("AssignTask ×32", 32, 1_000, 20_000));
        setup.reads = vec![
            measured("GetUnit ×32", 32, 6_000, 1_000),
            measured("GetTask ×32", 32, 4_000, 1_000),
        ];
        setup.cpu_micros_per_command = vec![350.0];
        let mut fresh = histogram();
        fresh.saturating_record(60_000);
        setup.freshness = Some(fresh);
        let mut report = Report::new(32, Duration::from_secs(10));
        report.setups.push(setup);

        let targets = report.targets();

        let verdicts: Vec<(&str, bool)> = targets
            .iter()
            .map(|t| (t.measured.as_str(), t.met))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("0.50×", false), // AssignTask at half the raw INSERT rate
                ("0.60×", true),  // GetUnit
                ("0.40×", false), // GetTask
                ("350 µs", false),
                ("3.0×", true), // freshness p99 60 ms vs AssignTask p99 20 ms
            ]
        );
        let markdown = report.markdown();
        assert!(
            markdown.contains("| AssignTask ×32 | 32 | 1000 |"),
            "{markdown}"
        );
        assert!(markdown.contains("**missed**"));
    }
}
