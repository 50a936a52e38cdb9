//! `dondoc health`: the probe that compose healthchecks and Kubernetes exec probes run.
//!
//! It asks a service's standard gRPC health service (`grpc.health.v1.Health/Check`) and exits 0
//! only on SERVING. A service says SERVING only once its database, schema and every read model
//! have caught up, and NOT_SERVING as soon as a stop begins, so the exit code is what an
//! orchestrator needs to decide whether to send it traffic. No token is needed: health, like
//! reflection, is outside the authenticated API.

use std::io::Write;

use anyhow::{Context as _, bail};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::cli::HealthArgs;
use crate::client;

/// Prints the status and fails unless it is SERVING.
pub async fn run(args: &HealthArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let status = check(args).await?;
    writeln!(out, "{}", status.as_str_name())?;
    if status != ServingStatus::Serving {
        bail!(
            "{} at {} is {}",
            describe(&args.service),
            args.addr,
            status.as_str_name()
        );
    }
    Ok(())
}

async fn check(args: &HealthArgs) -> anyhow::Result<ServingStatus> {
    let channel = client::channel(&args.addr, "health", args.ca_cert.as_deref()).await?;
    let mut health = HealthClient::new(channel);
    let request = HealthCheckRequest {
        service: args.service.clone().unwrap_or_default(),
    };
    let response = tokio::time::timeout(args.timeout, health.check(request))
        .await
        .with_context(|| {
            format!(
                "no health answer from {} within {:?}",
                args.addr, args.timeout
            )
        })?
        .with_context(|| {
            format!(
                "health check of {} at {} failed",
                describe(&args.service),
                args.addr
            )
        })?;
    Ok(ServingStatus::try_from(response.into_inner().status).unwrap_or(ServingStatus::Unknown))
}

fn describe(service: &Option<String>) -> String {
    match service.as_deref() {
        None | Some("") => "the server".to_owned(),
        Some(name) => format!("{name:?}"),
    }
}
