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

pub async fn channel(
    endpoint: &str,
    service: &str,
    ca_cert: Option<&Path>,
) -> anyhow::Result<Channel> {
    let mut target = Endpoint::from_shared(endpoint.to_owned())
        .with_context(|| format!("invalid {service} endpoint {endpoint:?}"))?;
    if ca_cert.is_some() && !endpoint.starts_with("https://") {
        tracing::warn!(
            endpoint,
            "--ca-cert is ignored: the endpoint is not https://"
        );
    }
    if endpoint.starts_with("https://") {
        let tls = match ca_cert {
            Some(path) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(
                std::fs::read(path).with_context(|| {
                    format!("cannot read the CA certificate {}", path.display())
                })?,
            )),
            None => ClientTlsConfig::new().with_webpki_roots(),
        };
        target = target
            .tls_config(tls)
            .with_context(|| format!("invalid TLS settings for {endpoint}"))?;
    }
    target
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .connect()
        .await
        .with_context(|| {
            format!(
                "cannot connect to the {service} service at {endpoint}; is `dondoc up` running?"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
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
