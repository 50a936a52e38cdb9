//! What a running process can say about itself: CPU time, memory, and how many SQL statements
//! it has run — the figures `dondoc bench` divides by the commands it sent, and the ones an
//! operator wants when a service looks slow.
//!
//! # Counting SQL statements
//!
//! sqlx describes every statement it executes as a `tracing` event with target `sqlx::query`
//! (its query logger). [`StatementCounter`] is a layer that counts those events, and its filter
//! enables them only while counting is switched on, so a service that is not being measured
//! pays one atomic load per statement and nothing more: while counting, sqlx formats a summary
//! of each statement, which is real CPU. The switch is [`set_statement_counting`], reachable
//! over gRPC through [`DiagnosticsApi`] (admin role only).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use dondoc_proto::v1 as pb;
use dondoc_proto::v1::diagnostics_service_server::{DiagnosticsService, DiagnosticsServiceServer};
use tonic::{Request, Response, Status};
use tracing::Metadata;
use tracing::subscriber::Interest;
use tracing_subscriber::layer::{Context, Filter, Layer};

use crate::auth::{Principal, Role};

static COUNTING: AtomicBool = AtomicBool::new(false);
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

/// sqlx's target for the events it emits per executed statement.
const SQLX_QUERY_TARGET: &str = "sqlx::query";

/// Turns statement counting on or off for this process.
pub fn set_statement_counting(enabled: bool) {
    COUNTING.store(enabled, Ordering::Relaxed);
}

/// Statements counted so far (while counting was on).
pub fn statements_counted() -> u64 {
    STATEMENTS.load(Ordering::Relaxed)
}

/// The layer that counts sqlx's statement events; add it with its own filter
/// ([`StatementCounter::filter`]) so the process's log filter does not hide them from it.
#[derive(Debug, Default, Clone, Copy)]
pub struct StatementCounter;

impl StatementCounter {
    /// Enables `sqlx::query` events, at any level, while counting is on.
    pub fn filter() -> StatementFilter {
        StatementFilter
    }
}

impl<S: tracing::Subscriber> Layer<S> for StatementCounter {
    fn on_event(&self, _event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
    }
}

/// See [`StatementCounter::filter`].
#[derive(Debug, Clone, Copy)]
pub struct StatementFilter;

impl<S> Filter<S> for StatementFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        meta.target() == SQLX_QUERY_TARGET && COUNTING.load(Ordering::Relaxed)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        // "Sometimes": asked again at every event, because the switch changes at run time.
        if meta.target() == SQLX_QUERY_TARGET {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
}

/// This process's counters now.
pub fn process_stats() -> pb::ProcessStats {
    let (cpu_micros, rss_bytes, peak_rss_bytes) = read_proc();
    pb::ProcessStats {
        sql_statements: statements_counted(),
        counting_statements: COUNTING.load(Ordering::Relaxed),
        cpu_micros,
        rss_bytes,
        peak_rss_bytes,
        pid: std::process::id(),
    }
}

/// Linux's ticks of `utime`/`stime` are USER_HZ, fixed at 100 by the kernel's user ABI.
const TICKS_PER_SECOND: u64 = 100;

/// CPU µs, RSS and peak RSS in bytes from `/proc/self`; zeros where there is no procfs.
fn read_proc() -> (u64, u64, u64) {
    let cpu = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| cpu_micros_from_stat(&stat))
        .unwrap_or(0);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    (
        cpu,
        kib_field(&status, "VmRSS:") * 1024,
        kib_field(&status, "VmHWM:") * 1024,
    )
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in µs. The command name
/// (field 2) may contain spaces and parentheses, so fields are counted after its last `)`.
pub fn cpu_micros_from_stat(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * 1_000_000 / TICKS_PER_SECOND)
}

/// The value of a `Name:   123 kB` line of `/proc/<pid>/status`, in KiB (0 if absent).
pub fn kib_field(status: &str, name: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// The gRPC face of this module, and of log anchoring on demand. Wrap it in the service's
/// `AuthInterceptor`.
#[derive(Debug, Default, Clone)]
pub struct DiagnosticsApi {
    anchorer: Option<std::sync::Arc<dondoc_eventsourcing::anchor::Anchorer>>,
}

impl DiagnosticsApi {
    /// `anchorer`: the service's, if it anchors its log.
    pub fn server(
        anchorer: Option<std::sync::Arc<dondoc_eventsourcing::anchor::Anchorer>>,
    ) -> DiagnosticsServiceServer<Self> {
        DiagnosticsServiceServer::new(Self { anchorer })
            .max_decoding_message_size(crate::grpc::MAX_REQUEST_BYTES)
    }
}

fn require_admin<T>(request: &Request<T>) -> Result<(), Status> {
    match request.extensions().get::<Principal>() {
        Some(principal) if principal.role == Role::Admin => Ok(()),
        Some(_) => Err(Status::permission_denied(
            "process diagnostics are for the admin role",
        )),
        None => Err(Status::unauthenticated("no verified caller")),
    }
}

#[tonic::async_trait]
impl DiagnosticsService for DiagnosticsApi {
    async fn get_process_stats(
        &self,
        request: Request<pb::GetProcessStatsRequest>,
    ) -> Result<Response<pb::ProcessStats>, Status> {
        require_admin(&request)?;
        Ok(Response::new(process_stats()))
    }

    async fn set_statement_counting(
        &self,
        request: Request<pb::SetStatementCountingRequest>,
    ) -> Result<Response<pb::ProcessStats>, Status> {
        require_admin(&request)?;
        set_statement_counting(request.get_ref().enabled);
        Ok(Response::new(process_stats()))
    }

    async fn anchor_log(
        &self,
        request: Request<pb::AnchorLogRequest>,
    ) -> Result<Response<pb::LogAnchor>, Status> {
        use dondoc_eventsourcing::anchor::AnchorError;
        require_admin(&request)?;
        let anchorer = self.anchorer.as_ref().ok_or_else(|| {
            Status::failed_precondition(
                "this service does not anchor its log: set its `anchor.key_path` setting",
            )
        })?;
        match anchorer.anchor_now().await {
            Ok(Some(anchor)) => Ok(Response::new(pb::LogAnchor {
                service: anchor.checkpoint.service,
                position: anchor.checkpoint.position,
                hash: anchor.checkpoint.hash,
                anchored_at: anchor
                    .checkpoint
                    .anchored_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                kid: anchor.kid,
                signature: anchor.signature,
            })),
            Ok(None) => Err(Status::failed_precondition(
                "the event log is empty: nothing to anchor yet",
            )),
            Err(error @ AnchorError::Tampered { .. }) => {
                Err(Status::failed_precondition(error.to_string()))
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot anchor the log");
                Err(Status::unavailable(format!(
                    "cannot anchor the log: {error}"
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_a_command_name_with_spaces() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime ...
        let stat = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 10 0 0 0 150 50 0 0 20 0";

        assert_eq!(cpu_micros_from_stat(stat), Some(2_000_000));
    }

    #[test]
    fn status_fields_are_read_in_kib() {
        let status = "Name:\tdondoc\nVmHWM:\t  20480 kB\nVmRSS:\t  10240 kB\n";

        assert_eq!(kib_field(status, "VmRSS:"), 10240);
        assert_eq!(kib_field(status, "VmHWM:"), 20480);
        assert_eq!(kib_field(status, "VmSwap:"), 0);
    }

    #[test]
    fn only_sqlx_statement_events_are_counted_and_only_while_counting() {
        use tracing_subscriber::layer::SubscriberExt as _;

        let subscriber = tracing_subscriber::registry()
            .with(StatementCounter.with_filter(StatementCounter::filter()));
        let before = statements_counted();

        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "sqlx::query", "SELECT 1 (not counting yet)");
            set_statement_counting(true);
            tracing::debug!(target: "sqlx::query", "SELECT 1");
            tracing::trace!(target: "sqlx::query", "SELECT 2");
            tracing::info!(target: "dondoc", "not a statement");
            set_statement_counting(false);
            tracing::debug!(target: "sqlx::query", "SELECT 3 (no longer counting)");
        });

        assert_eq!(statements_counted() - before, 2);
    }

    #[test]
    fn this_process_reports_its_cpu_and_memory() {
        let stats = process_stats();

        assert_eq!(stats.pid, std::process::id());
        if cfg!(target_os = "linux") {
            assert!(stats.peak_rss_bytes >= stats.rss_bytes && stats.rss_bytes > 0);
        }
    }
}
