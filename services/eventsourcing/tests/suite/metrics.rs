//! The operational metrics (design.md §3.6) reach an OpenTelemetry meter provider.

use std::sync::OnceLock;

use dondoc_eventsourcing::relay::{Relay, RelayConfig};
use dondoc_eventsourcing::repository::Repository;
use dondoc_eventsourcing::testing::TestDatabase;
use dondoc_eventsourcing::{EventStore, Upcasters};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};

use crate::store::{Ledger, LedgerCommand, command, ok_outcome};

/// The value of a u64 counter for the data point carrying every attribute in `with`.
fn counted(metrics: &[ResourceMetrics], name: &str, with: &[KeyValue]) -> u64 {
    metrics
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
        .filter(|m| m.name() == name)
        .filter_map(|m| match m.data() {
            AggregatedMetrics::U64(MetricData::Sum(sum)) => Some(
                sum.data_points()
                    .filter(|p| with.iter().all(|kv| p.attributes().any(|a| a == kv)))
                    .map(|p| p.value())
                    .max()
                    .unwrap_or(0),
            ),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// One process-wide provider, installed the way `telemetry::init` does; other tests'
/// instruments may report to it too, so every assertion selects its own service or stream.
fn exported() -> &'static (SdkMeterProvider, InMemoryMetricExporter) {
    static PROVIDER: OnceLock<(SdkMeterProvider, InMemoryMetricExporter)> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_periodic_exporter(exporter.clone())
            .build();
        opentelemetry::global::set_meter_provider(provider.clone());
        (provider, exporter)
    })
}

fn collect() -> Vec<ResourceMetrics> {
    let (provider, exporter) = exported();
    provider.force_flush().expect("flush");
    exporter.get_finished_metrics().expect("metrics")
}

#[tokio::test]
async fn appends_and_commands_are_counted_by_outcome() {
    exported();
    let db = TestDatabase::sqlite().await;
    let store = EventStore::open(db.db.clone(), "metrics-probe", Upcasters::new())
        .await
        .expect("store");
    let ledgers = Repository::<Ledger>::new(store);

    for (stream, cmd) in [
        ("a", LedgerCommand::Open),
        ("a", LedgerCommand::Deposit(5)),
        ("b", LedgerCommand::Deposit(1)), // refused: not open
    ] {
        let _ = ledgers
            .execute(command(stream, cmd, None), |_| ok_outcome(b""))
            .await;
    }
    let metrics = collect();

    let service = KeyValue::new("service", "metrics-probe");
    let outcome = |o: &'static str| [service.clone(), KeyValue::new("outcome", o)];
    assert_eq!(
        counted(
            &metrics,
            "dondoc.store.events_appended",
            std::slice::from_ref(&service)
        ),
        2
    );
    assert_eq!(counted(&metrics, "dondoc.commands", &outcome("applied")), 2);
    assert_eq!(counted(&metrics, "dondoc.commands", &outcome("refused")), 1);
    assert!(counted(&metrics, "dondoc.store.commits", &[service]) >= 1);
}

/// The last value of a u64 gauge for the data point carrying `with`.
fn gauged(metrics: &[ResourceMetrics], name: &str, with: &KeyValue) -> Option<u64> {
    metrics
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
        .filter(|m| m.name() == name)
        .filter_map(|m| match m.data() {
            AggregatedMetrics::U64(MetricData::Gauge(gauge)) => gauge
                .data_points()
                .filter(|p| p.attributes().any(|a| a == with))
                .map(|p| p.value())
                .last(),
            _ => None,
        })
        .last()
}

#[tokio::test]
async fn the_outbox_backlog_grows_while_nats_is_down() {
    exported();
    let mut server = dondoc_eventsourcing::nats_server::NatsServer::start()
        .await
        .expect("nats-server");
    let js = async_nats::jetstream::new(async_nats::connect(server.url()).await.expect("connect"));
    let db = TestDatabase::sqlite().await;
    let store = EventStore::open(db.db.clone(), "metrics-relay", Upcasters::new())
        .await
        .expect("store");
    let config = RelayConfig::for_service("metricsrelay");
    let relay = Relay::new(store.clone(), js, config.clone())
        .await
        .expect("relay");
    let ledgers = Repository::<Ledger>::new(store);
    ledgers
        .execute(command("a", LedgerCommand::Open, None), |_| ok_outcome(b""))
        .await
        .expect("open");
    relay.publish_pending().await.expect("publish");
    let stream = KeyValue::new("stream", config.stream_name.clone());
    assert_eq!(
        gauged(&collect(), "dondoc.outbox.backlog", &stream),
        Some(0)
    );

    server.stop().await;
    for amount in [1, 2] {
        ledgers
            .execute(command("a", LedgerCommand::Deposit(amount), None), |_| {
                ok_outcome(b"")
            })
            .await
            .expect("deposit while NATS is down");
    }
    let _ = relay.publish_pending().await;

    assert_eq!(
        gauged(&collect(), "dondoc.outbox.backlog", &stream),
        Some(2)
    );
}
