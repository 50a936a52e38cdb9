//! Authenticated gRPC clients for the operator commands.
//!
//! Token precedence is `--token`, then `DONDOC_TOKEN`, then the admin token that `dondoc up`
//! wrote into the data directory: explicit choices win, and on the machine running `dondoc up`
//! the commands work with no flag at all.

use std::time::Duration;

use anyhow::Context as _;
use dondoc_proto::v1::assignment_service_client::AssignmentServiceClient;
use dondoc_proto::v1::discipline_service_client::DisciplineServiceClient;
use dondoc_proto::v1::escalation_service_client::EscalationServiceClient;
use dondoc_proto::v1::progress_service_client::ProgressServiceClient;
use dondoc_proto::v1::reporting_service_client::ReportingServiceClient;
use dondoc_runtime::auth::BearerToken;
use std::path::Path;
use tonic::service::interceptor::InterceptedService;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::cli::{
    AssignmentConnection, Credentials, DisciplineConnection, EscalationConnection,
    ProgressConnection,
};
use crate::token;

pub type AssignmentClient = AssignmentServiceClient<InterceptedService<Channel, BearerToken>>;
pub type ReportingClient = ReportingServiceClient<InterceptedService<Channel, BearerToken>>;
pub type ProgressClient = ProgressServiceClient<InterceptedService<Channel, BearerToken>>;
pub type EscalationClient = EscalationServiceClient<InterceptedService<Channel, BearerToken>>;
pub type DisciplineClient = DisciplineServiceClient<InterceptedService<Channel, BearerToken>>;

/// Long enough for a loaded server, short enough that a wrong endpoint fails while the operator
/// still remembers what they typed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Upper bound for one call; the slowest RPC (importing a whole directory) takes well under it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The bearer token for `credentials`.
pub fn bearer_token(credentials: &Credentials) -> anyhow::Result<BearerToken> {
    let token = match credentials.token.as_deref().map(str::trim) {
        Some(token) if !token.is_empty() => token.to_owned(),
        _ => token::read_admin_token(&credentials.data_dir)?,
    };
    Ok(BearerToken::new(token))
}

pub async fn assignment(connection: &AssignmentConnection) -> anyhow::Result<AssignmentClient> {
    let token = bearer_token(&connection.credentials)?;
    let channel = channel(
        &connection.endpoint,
        "assignment",
        connection.credentials.ca_cert.as_deref(),
    )
    .await?;
    Ok(AssignmentServiceClient::with_interceptor(channel, token))
}

pub async fn progress(connection: &ProgressConnection) -> anyhow::Result<ProgressClient> {
    let token = bearer_token(&connection.credentials)?;
    let channel = channel(
        &connection.endpoint,
        "progress",
        connection.credentials.ca_cert.as_deref(),
    )
    .await?;
    Ok(ProgressServiceClient::with_interceptor(channel, token))
}

pub async fn escalation(connection: &EscalationConnection) -> anyhow::Result<EscalationClient> {
    let token = bearer_token(&connection.credentials)?;
    let channel = channel(
        &connection.endpoint,
        "escalation",
        connection.credentials.ca_cert.as_deref(),
    )
    .await?;
    Ok(EscalationServiceClient::with_interceptor(channel, token))
}

pub async fn discipline(connection: &DisciplineConnection) -> anyhow::Result<DisciplineClient> {
    let token = bearer_token(&connection.credentials)?;
    let channel = channel(
        &connection.endpoint,
        "discipline",
        connection.credentials.ca_cert.as_deref(),
    )
    .await?;
    Ok(DisciplineServiceClient::with_interceptor(channel, token))
}

pub async fn reporting(
    endpoint: &str,
    credentials: &Credentials,
) -> anyhow::Result<ReportingClient> {
    let token = bearer_token(credentials)?;
    let channel = channel(endpoint, "reporting", credentials.ca_cert.as_deref()).await?;
    Ok(ReportingServiceClient::with_interceptor(channel, token))
}

/// A channel to the `service` at `endpoint` (TLS for `https://`, checked against `ca_cert`
/// when given), its calls spread over every address the host resolves to (see
/// [`spread_channel`]).
pub async fn channel(
    endpoint: &str,
    service: &str,
    ca_cert: Option<&Path>,
) -> anyhow::Result<Channel> {
    // Replicas may be listed (`http://a:1,http://b:2`); they share a scheme and TLS settings.
    let first = endpoint.split(',').next().unwrap_or(endpoint).trim();
    let target = Endpoint::from_shared(first.to_owned())
        .with_context(|| format!("invalid {service} endpoint {endpoint:?}"))?;
    if ca_cert.is_some() && !endpoint.starts_with("https://") {
        tracing::warn!(
            endpoint,
            "--ca-cert is ignored: the endpoint is not https://"
        );
    }
    let tls = if endpoint.starts_with("https://") {
        let tls = match ca_cert {
            Some(path) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(
                std::fs::read(path).with_context(|| {
                    format!("cannot read the CA certificate {}", path.display())
                })?,
            )),
            None => ClientTlsConfig::new().with_webpki_roots(),
        };
        // Replicas are dialled by address: the certificate must still name the host given.
        Some(match target.uri().host() {
            Some(host) => tls.domain_name(host.trim_matches(['[', ']'])),
            None => tls,
        })
    } else {
        None
    };
    let configure = move |endpoint: Endpoint| -> anyhow::Result<Endpoint> {
        let endpoint = endpoint
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true);
        match &tls {
            Some(tls) => endpoint
                .tls_config(tls.clone())
                .context("invalid TLS settings"),
            None => Ok(endpoint),
        }
    };
    spread_channel(endpoint, configure).await.with_context(|| {
        format!("cannot connect to the {service} service at {endpoint}; is `dondoc up` running?")
    })
}

/// A channel over every address `endpoint`'s host resolves to, each endpoint set up by
/// `configure`; a single address (an IP, `localhost` with one entry) is a plain connection.
/// `endpoint` may also list replicas, separated by commas (`http://10.0.0.7:50051,http://
/// 10.0.0.8:50051`): their addresses are pooled.
///
/// A service run as several replicas behind one name — a Kubernetes headless Service, or any
/// DNS name with one record per replica — resolves to each of them (DNS round robin). One
/// connection would pin every call of a command or benchmark to whichever replica the resolver
/// named first; tonic's balancer instead spreads calls over all of them and stops using one
/// that goes away. The name is resolved once, when the channel is made.
pub async fn spread_channel(
    endpoint: &str,
    configure: impl Fn(Endpoint) -> anyhow::Result<Endpoint>,
) -> anyhow::Result<Channel> {
    let listed: Vec<&str> = endpoint
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect();
    let first = *listed.first().context("no endpoint given")?;
    let mut addresses = Vec::new();
    for part in &listed {
        addresses.extend(addresses_of(part).await?);
    }
    addresses.sort();
    addresses.dedup();
    if addresses.len() <= 1 {
        let target = Endpoint::from_shared(first.to_owned())
            .with_context(|| format!("invalid endpoint {first:?}"))?;
        return Ok(configure(target)?.connect().await?);
    }
    channel_over(first, &addresses, configure)
}

/// The socket addresses `endpoint`'s host stands for: itself for an IP, what the resolver
/// returns for a name.
async fn addresses_of(endpoint: &str) -> anyhow::Result<Vec<std::net::SocketAddr>> {
    let target = Endpoint::from_shared(endpoint.to_owned())
        .with_context(|| format!("invalid endpoint {endpoint:?}"))?;
    let uri = target.uri();
    let host = uri.host().context("the endpoint names no host")?;
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        return Ok(vec![std::net::SocketAddr::new(ip, port)]);
    }
    Ok(tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("cannot resolve {host}"))?
        .collect())
}

/// A balanced channel to `addresses`, each dialled as `endpoint` with its host and port
/// replaced. Connections are made as calls need them.
pub fn channel_over(
    endpoint: &str,
    addresses: &[std::net::SocketAddr],
    configure: impl Fn(Endpoint) -> anyhow::Result<Endpoint>,
) -> anyhow::Result<Channel> {
    let endpoints = addresses
        .iter()
        .map(|address| {
            let uri = with_address(endpoint, *address)?;
            configure(Endpoint::from_shared(uri)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Channel::balance_list(endpoints.into_iter()))
}

/// `endpoint` with its authority replaced by `address`: `http://svc:50051/x` and
/// `10.0.0.7:50051` give `http://10.0.0.7:50051/x`.
fn with_address(endpoint: &str, address: std::net::SocketAddr) -> anyhow::Result<String> {
    let uri: tonic::codegen::http::Uri = endpoint
        .parse()
        .with_context(|| format!("invalid endpoint {endpoint:?}"))?;
    let scheme = uri.scheme_str().unwrap_or("http");
    let path = uri
        .path_and_query()
        .map_or("", |path| path.as_str())
        .trim_start_matches('/');
    Ok(if path.is_empty() {
        format!("{scheme}://{address}")
    } else {
        format!("{scheme}://{address}/{path}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_is_dialled_as_the_endpoint_with_its_address() {
        let address: std::net::SocketAddr = "10.0.0.7:50051".parse().expect("address");
        let v6: std::net::SocketAddr = "[fd00::7]:50051".parse().expect("address");

        assert_eq!(
            with_address("http://assignment:50051", address).expect("uri"),
            "http://10.0.0.7:50051"
        );
        assert_eq!(
            with_address("https://assignment.dondoc.svc:50051/", v6).expect("uri"),
            "https://[fd00::7]:50051"
        );
    }

    /// A health server on a free loopback port reporting `status` for `dondoc.spread`; it
    /// stops when the sender is dropped.
    async fn replica(
        status: tonic_health::ServingStatus,
    ) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let (reporter, service) = tonic_health::server::health_reporter();
        reporter.set_service_status("dondoc.spread", status).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
                    async {
                        let _ = stopped.await;
                    },
                ),
        );
        (address, stop)
    }

    /// What each of `calls` health checks through `channel` answered (-1 for an error).
    async fn statuses(channel: &Channel, calls: usize) -> Vec<i32> {
        let mut client = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        let mut seen = Vec::new();
        for _ in 0..calls {
            let status = client
                .check(tonic_health::pb::HealthCheckRequest {
                    service: "dondoc.spread".into(),
                })
                .await
                .map_or(-1, |response| response.into_inner().status);
            seen.push(status);
        }
        seen
    }

    /// Two replicas listed in one endpoint: calls reach both (each answers differently here),
    /// and when one stops the calls go on through the other. (A name resolving to both takes
    /// the same path after the lookup.)
    #[tokio::test]
    async fn calls_are_spread_over_every_replica_and_go_on_when_one_stops() {
        use tonic_health::ServingStatus;
        let (first, stop_first) = replica(ServingStatus::Serving).await;
        let (second, _keep_second) = replica(ServingStatus::NotServing).await;
        let channel = spread_channel(&format!("http://{first}, http://{second}"), Ok)
            .await
            .expect("a balanced channel");

        let spread = statuses(&channel, 40).await;
        drop(stop_first);
        // The balancer notices a closed connection at its next use; the first calls after
        // the stop may fail while it does.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let after = loop {
            let after = statuses(&channel, 10).await;
            if after
                .iter()
                .all(|status| *status == ServingStatus::NotServing as i32)
                || tokio::time::Instant::now() > deadline
            {
                break after;
            }
        };

        assert!(
            spread.contains(&(ServingStatus::Serving as i32)),
            "{spread:?}"
        );
        assert!(
            spread.contains(&(ServingStatus::NotServing as i32)),
            "{spread:?}"
        );
        assert!(
            after
                .iter()
                .all(|status| *status == ServingStatus::NotServing as i32),
            "only the remaining replica answers: {after:?}"
        );
    }
    use std::path::Path;

    fn credentials(token: Option<&str>, data_dir: &Path) -> Credentials {
        Credentials {
            token: token.map(str::to_owned),
            data_dir: data_dir.to_path_buf(),
            ca_cert: None,
        }
    }

    #[test]
    fn an_explicit_token_wins_over_the_admin_token_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        token::write_admin_token(dir.path(), "from-file").expect("writes");

        let bearer = bearer_token(&credentials(Some(" explicit "), dir.path())).expect("token");

        assert_eq!(bearer.token(), "explicit");
    }

    #[test]
    fn the_admin_token_file_is_the_fallback() {
        let dir = tempfile::tempdir().expect("tempdir");
        token::write_admin_token(dir.path(), "from-file").expect("writes");

        let bearer = bearer_token(&credentials(None, dir.path())).expect("token");

        assert_eq!(bearer.token(), "from-file");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_names_the_service_and_the_address() {
        // Port 9 (discard) is essentially never served on loopback.
        let error = channel("http://127.0.0.1:9", "assignment", None)
            .await
            .expect_err("nothing listens there");

        let text = format!("{error:#}");
        assert!(
            text.contains("assignment service at http://127.0.0.1:9"),
            "{text}"
        );
    }
}
