//! What the machine allows, measured in the same run as dondoc: a figure for dondoc means
//! little without the floor beneath it.
//!
//! - the gRPC floor: `grpc.health.v1.Health/Check` on the same server, the cheapest call tonic
//!   serves;
//! - a raw single-row INSERT and commit, at the same concurrency, on the same engine and disk,
//!   through the same driver and connection settings as the event store;
//! - a raw acknowledged JetStream publish, one at a time and with a window of publishes in
//!   flight, on the same nats-server.

use std::future::IntoFuture as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use dondoc_eventsourcing::Database;
use dondoc_eventsourcing::db::{DbSettings, OpenMode};
use futures::stream::{FuturesUnordered, StreamExt as _};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::load::{Measured, Op, OpFuture, drive};
use super::systems::connect;

/// Publishes in flight in the windowed JetStream baseline.
pub const PUBLISH_WINDOW: usize = 256;

/// Bytes of each raw row and message: about one encoded task event.
const PAYLOAD: usize = 600;

/// `Health/Check` from `clients` clients.
pub async fn grpc_floor(
    endpoint: &str,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let mut ops: Vec<Op> = Vec::new();
    for _ in 0..clients {
        let client = HealthClient::new(connect(endpoint).await?);
        ops.push(Box::new(move || {
            let mut client = client.clone();
            Box::pin(async move {
                client
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await?;
                Ok(())
            }) as OpFuture
        }));
    }
    Ok(drive(
        &format!("gRPC floor (Health/Check) ×{clients}"),
        ops,
        duration,
    )
    .await)
}

/// One-row INSERT + commit from `clients` connections.
pub async fn raw_insert(
    database_url: &str,
    engine: &str,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let settings = DbSettings {
        max_connections: Some(u32::try_from(clients).unwrap_or(u32::MAX)),
        ..DbSettings::default()
    };
    let db = Database::open_with(database_url, OpenMode::CreateIfMissing, &settings)
        .await
        .with_context(|| format!("cannot open the raw baseline database {database_url}"))?;
    let blob = if engine == "PostgreSQL" {
        "BYTEA"
    } else {
        "BLOB"
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE IF NOT EXISTS raw_inserts (id TEXT PRIMARY KEY, payload {blob} NOT NULL)"
    )))
    .execute(db.pool())
    .await?;
    let payload = Arc::new(vec![b'x'; PAYLOAD]);
    let ops: Vec<Op> = (0..clients)
        .map(|_| {
            let db = db.clone();
            let payload = payload.clone();
            Box::new(move || {
                let db = db.clone();
                let payload = payload.clone();
                Box::pin(async move {
                    sqlx::query("INSERT INTO raw_inserts (id, payload) VALUES ($1, $2)")
                        .bind(uuid::Uuid::now_v7().to_string())
                        .bind(payload.as_slice())
                        .execute(db.pool())
                        .await?;
                    Ok(())
                }) as OpFuture
            }) as Op
        })
        .collect();
    let measured = drive(
        &format!("raw {engine} INSERT+commit ×{clients}"),
        ops,
        duration,
    )
    .await;
    db.close().await;
    Ok(measured)
}

/// Acknowledged JetStream publishes: one at a time (`window` = 1), or with `window` in flight,
/// into a stream of `replicas` copies (the services' own, so a cluster's floor includes its
/// replication). Each "op" of the result is one acknowledged message.
pub async fn jetstream_publish(
    nats_url: &str,
    replicas: usize,
    window: usize,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let client = async_nats::connect(dondoc_runtime::lifecycle::nats_servers(nats_url))
        .await
        .with_context(|| format!("cannot connect to NATS at {nats_url}"))?;
    let jetstream = async_nats::jetstream::new(client);
    let stream = format!("BENCH_RAW_{window}");
    let subject = format!("bench.raw.{window}");
    jetstream
        .get_or_create_stream(async_nats::jetstream::stream::Config {
            name: stream.clone(),
            subjects: vec![subject.clone()],
            num_replicas: replicas,
            ..Default::default()
        })
        .await
        .context("cannot create the raw baseline stream")?;
    let payload = vec![b'x'; PAYLOAD];
    let op: Op = Box::new(move || {
        let jetstream = jetstream.clone();
        let subject = subject.clone();
        let payload = payload.clone();
        Box::pin(async move {
            if window <= 1 {
                jetstream
                    .publish(subject, payload.into())
                    .await?
                    .await
                    .context("publish not acknowledged")?;
                return Ok(());
            }
            // A window of publishes whose acknowledgements are awaited together, as the relay
            // publishes a batch.
            let mut acks = FuturesUnordered::new();
            for _ in 0..window {
                let ack = jetstream
                    .publish(subject.clone(), payload.clone().into())
                    .await?;
                acks.push(ack.into_future());
            }
            while let Some(ack) = acks.next().await {
                ack.context("publish not acknowledged")?;
            }
            Ok(())
        })
    });
    let label = if window <= 1 {
        "raw JetStream publish, one at a time".to_owned()
    } else {
        format!("raw JetStream publish, window {window}")
    };
    let mut measured = drive(&label, vec![op], duration).await;
    // One op of the windowed phase acknowledged `window` messages.
    measured.ops *= u64::try_from(window.max(1)).unwrap_or(1);
    Ok(measured)
}
