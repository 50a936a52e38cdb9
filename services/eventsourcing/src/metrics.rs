//! The operational metrics every service exports (design.md §3.6): commands, appends, outbox
//! backlog, consumer lag and dead letters.
//!
//! Instruments come from the global OpenTelemetry meter provider, which
//! `dondoc_runtime::telemetry::init` installs when an OTLP endpoint is configured; otherwise
//! they are no-ops and cost nothing. They are created when a store, relay or consumer is built
//! (not in a process-wide static), so whatever provider is installed by then receives them.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter};

fn meter() -> Meter {
    opentelemetry::global::meter("dondoc")
}

/// The event store's writer.
#[derive(Clone, Debug)]
pub(crate) struct StoreMetrics {
    source: KeyValue,
    events: Counter<u64>,
    commits: Counter<u64>,
    batch: Histogram<u64>,
}

impl StoreMetrics {
    pub(crate) fn new(source: &str) -> Self {
        let meter = meter();
        Self {
            source: KeyValue::new("service", source.to_owned()),
            events: meter
                .u64_counter("dondoc.store.events_appended")
                .with_description("Events committed to the service's event log")
                .build(),
            commits: meter
                .u64_counter("dondoc.store.commits")
                .with_description("Group commits: transactions written by the single writer")
                .build(),
            batch: meter
                .u64_histogram("dondoc.store.batch_requests")
                .with_description("Append requests per group commit")
                .build(),
        }
    }

    pub(crate) fn committed(&self, requests: usize, events: u64) {
        let attrs = std::slice::from_ref(&self.source);
        self.commits.add(1, attrs);
        self.events.add(events, attrs);
        self.batch.record(requests as u64, attrs);
    }
}

/// Commands run through a repository, by outcome.
#[derive(Clone, Debug)]
pub(crate) struct CommandMetrics {
    commands: Counter<u64>,
}

impl CommandMetrics {
    pub(crate) fn new() -> Self {
        Self {
            commands: meter()
                .u64_counter("dondoc.commands")
                .with_description(
                    "Commands by aggregate and outcome (applied, replayed, refused, conflict, \
                     failed)",
                )
                .build(),
        }
    }

    pub(crate) fn record(&self, service: &str, aggregate: &'static str, outcome: &'static str) {
        self.commands.add(
            1,
            &[
                KeyValue::new("service", service.to_owned()),
                KeyValue::new("aggregate", aggregate),
                KeyValue::new("outcome", outcome),
            ],
        );
    }
}

/// Events committed but not yet acknowledged by JetStream.
#[derive(Clone, Debug)]
pub(crate) struct RelayMetrics {
    stream: KeyValue,
    backlog: Gauge<u64>,
}

impl RelayMetrics {
    pub(crate) fn new(stream: &str) -> Self {
        Self {
            stream: KeyValue::new("stream", stream.to_owned()),
            backlog: meter()
                .u64_gauge("dondoc.outbox.backlog")
                .with_description("Committed events the relay has not yet had acknowledged")
                .build(),
        }
    }

    pub(crate) fn backlog(&self, events: u64) {
        self.backlog
            .record(events, std::slice::from_ref(&self.stream));
    }
}

/// A consumer's (or local projection's) progress and failures.
#[derive(Clone, Debug)]
pub(crate) struct ConsumerMetrics {
    consumer: KeyValue,
    lag: Gauge<u64>,
    dead_letters: Counter<u64>,
    transient_failures: Counter<u64>,
    divergences: Counter<u64>,
    newer_versions: Counter<u64>,
}

impl ConsumerMetrics {
    pub(crate) fn new(consumer: &str) -> Self {
        let meter = meter();
        Self {
            consumer: KeyValue::new("consumer", consumer.to_owned()),
            lag: meter
                .u64_gauge("dondoc.consumer.lag")
                .with_description("Messages waiting for the consumer after the one it handled")
                .build(),
            dead_letters: meter
                .u64_counter("dondoc.consumer.dead_letters")
                .with_description("Events set aside in dead_letters")
                .build(),
            transient_failures: meter
                .u64_counter("dondoc.consumer.transient_failures")
                .with_description(
                    "Attempts that failed because the database was unavailable; retried with \
                     backoff, never dead-lettered",
                )
                .build(),
            divergences: meter
                .u64_counter("dondoc.consumer.divergences")
                .with_description(
                    "Events at a stream version already applied from a different event: the \
                     producer's log and this read model disagree",
                )
                .build(),
            newer_versions: meter
                .u64_counter("dondoc.consumer.newer_versions")
                .with_description(
                    "Events of a schema version newer than this build knows, held (with their \
                     stream) until the service is upgraded",
                )
                .build(),
        }
    }

    pub(crate) fn lag(&self, pending: u64) {
        self.lag
            .record(pending, std::slice::from_ref(&self.consumer));
    }

    pub(crate) fn dead_lettered(&self) {
        self.dead_letters
            .add(1, std::slice::from_ref(&self.consumer));
    }

    pub(crate) fn transient_failure(&self) {
        self.transient_failures
            .add(1, std::slice::from_ref(&self.consumer));
    }

    pub(crate) fn newer_version(&self) {
        self.newer_versions
            .add(1, std::slice::from_ref(&self.consumer));
    }

    pub(crate) fn diverged(&self) {
        self.divergences
            .add(1, std::slice::from_ref(&self.consumer));
    }
}
