//! Driving one operation from many concurrent clients for a fixed time, and what came of it.
//!
//! Each client is a task with its own connection that calls its operation back to back until
//! the phase ends (a closed loop: the rate is what the system sustains, not what the bench
//! offers). Latencies go into a per-client HdrHistogram, merged at the end, so recording costs
//! no locking on the hot path.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

/// One call of an operation.
pub type OpFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// A client's operation: called again as soon as the previous call finished.
pub type Op = Box<dyn FnMut() -> OpFuture + Send>;

/// Latencies from 1 µs to 60 s, 3 significant digits (values above the bound saturate).
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .expect("constant bounds: low ≥ 1, high ≥ 2·low, 3 significant digits")
}

/// What one phase measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub label: String,
    pub clients: usize,
    pub ops: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latency in µs.
    pub latency: Histogram<u64>,
}

impl Measured {
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.ops as f64 / seconds
        } else {
            0.0
        }
    }

    /// A latency quantile in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1000.0
    }
}

/// Runs every op in `clients` concurrently for `duration`, with a progress bar named `label`.
pub async fn drive(label: &str, clients: Vec<Op>, duration: Duration) -> Measured {
    let count = clients.len();
    let done = Arc::new(AtomicU64::new(0));
    let bar = progress(label, duration);
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut op| {
            let done = done.clone();
            tokio::spawn(async move {
                let mut latency = histogram();
                let (mut ops, mut errors, mut first_error) = (0u64, 0u64, None);
                // Every client makes at least one call, even if the machine was so busy that
                // the phase's time ran out before the client first ran.
                loop {
                    let start = Instant::now();
                    match op().await {
                        Ok(()) => {
                            ops += 1;
                            done.fetch_add(1, Ordering::Relaxed);
                            let micros =
                                u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
                            latency.saturating_record(micros.max(1));
                        }
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| format!("{error:#}"));
                        }
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                (latency, ops, errors, first_error)
            })
        })
        .collect();
    let ticker = {
        let bar = bar.clone();
        let done = done.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let elapsed = started.elapsed();
                bar.set_position(elapsed.as_millis().min(duration.as_millis()) as u64);
                let rate = done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64().max(1e-3);
                bar.set_message(format!("{rate:>9.0} ops/s"));
            }
        })
    };
    let mut measured = Measured {
        label: label.to_owned(),
        clients: count,
        ops: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latency: histogram(),
    };
    for task in tasks {
        if let Ok((latency, ops, errors, first_error)) = task.await {
            let _ = measured.latency.add(&latency);
            measured.ops += ops;
            measured.errors += errors;
            if measured.first_error.is_none() {
                measured.first_error = first_error;
            }
        }
    }
    measured.elapsed = started.elapsed();
    ticker.abort();
    bar.finish_and_clear();
    measured
}

/// A bar on stderr that fills with the phase's time; hidden when stderr is not a terminal.
pub fn progress(label: &str, duration: Duration) -> ProgressBar {
    let bar = ProgressBar::new(duration.as_millis() as u64);
    let style = ProgressStyle::with_template("{prefix:>36} [{bar:30}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_owned());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_client_runs_until_the_phase_ends_and_errors_are_counted() {
        let calls = Arc::new(AtomicU64::new(0));
        let clients: Vec<Op> = (0..4)
            .map(|client| {
                let calls = calls.clone();
                // Client 3 is refused on its first call and every other one after it.
                let mut own_calls = 0u64;
                Box::new(move || {
                    let calls = calls.clone();
                    let refused = client == 3 && own_calls.is_multiple_of(2);
                    own_calls += 1;
                    Box::pin(async move {
                        calls.fetch_add(1, Ordering::Relaxed);
                        tokio::task::yield_now().await;
                        if refused {
                            anyhow::bail!("refused");
                        }
                        Ok(())
                    }) as OpFuture
                }) as Op
            })
            .collect();

        let measured = drive("test", clients, Duration::from_millis(50)).await;

        assert_eq!(measured.clients, 4);
        assert_eq!(
            measured.ops + measured.errors,
            calls.load(Ordering::Relaxed),
            "every call is either counted or an error"
        );
        assert!(measured.ops > 0);
        assert_eq!(measured.latency.len(), measured.ops);
        assert!(
            measured.errors > 0,
            "client 3 fails its first call and every other one"
        );
        assert!(measured.first_error.expect("an error").contains("refused"));
    }
}
