//! Serving gRPC: one way to bind, serve, shut down, report health and expose reflection.
//!
//! Services take an already-bound [`TcpListener`] instead of an address so tests can bind port 0
//! and learn the real port before serving, with no race between "pick a free port" and "bind it".
//! Health (`grpc.health.v1`) lets `dondoc up` and orchestrators wait for readiness; reflection lets
//! `grpcurl` explore a running service without the `.proto` files.
//!
//! Typical wiring in a service's `main`:
//!
//! ```ignore
//! let (health, routes) = dondoc_runtime::grpc::health_and_reflection(FILE_DESCRIPTOR_SET).await?;
//! let routes = routes.add_service(InterceptedService::new(
//!     AssignmentServer::new(service),
//!     AuthInterceptor::new(verifier),
//! ));
//! let server = tokio::spawn(dondoc_runtime::grpc::serve(listener, routes, shutdown_signal()));
//! // ... catch projections up, connect to NATS, etc. ...
//! dondoc_runtime::grpc::mark_serving(&health).await;
//! ```
//!
//! Health starts as NOT_SERVING so that a client polling the health endpoint never sees a
//! service that is listening but not yet able to answer correctly. A service names the parts it
//! cannot answer without ([`PreparedServer::require`]: its event writer, each read model); the
//! whole server is SERVING only while every one of them is ready, and each part also has a
//! health entry of its own, so an operator sees which one is down.

use std::future::Future;

use std::path::PathBuf;

use futures::future::select_all;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::service::Routes;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::auth::AuthInterceptor;
use crate::diagnostics::DiagnosticsApi;

/// The health-check service name that stands for the whole server (per the gRPC health spec).
pub const OVERALL_HEALTH: &str = "";

/// Errors from assembling the standard gRPC services.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    /// The encoded `FileDescriptorSet` given for reflection is invalid.
    #[error("cannot build gRPC reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The listening address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    /// A TLS certificate or key file cannot be read.
    #[error("cannot read TLS file {path}: {source}")]
    TlsFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where a server finds its TLS certificate and key (PEM). Without it the server speaks
/// plaintext HTTP/2, which is only acceptable on loopback or behind a TLS-terminating proxy:
/// bearer tokens travel in every call.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TlsSettings {
    /// Certificate chain, PEM.
    pub cert_path: PathBuf,
    /// Private key, PEM.
    pub key_path: PathBuf,
}

/// Reads the certificate and key now, so a wrong path fails the service's start-up rather than
/// its background server task.
pub fn load_tls(settings: &TlsSettings) -> Result<ServerTlsConfig, GrpcError> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|source| GrpcError::TlsFile {
            path: path.clone(),
            source,
        })
    };
    let identity = Identity::from_pem(read(&settings.cert_path)?, read(&settings.key_path)?);
    Ok(ServerTlsConfig::new().identity(identity))
}

/// The connections a server accepts on `listener`, each with `TCP_NODELAY` set.
///
/// Without it a reply that spans more than one TCP segment waits for the client's delayed ACK
/// (Nagle's algorithm): about 40 ms per call on Linux, which made a one-client `GetTask` take
/// 42 ms instead of under one. Keepalive probes find peers that vanished without closing.
pub fn accepted_connections(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(std::time::Duration::from_secs(60)))
}

/// Serves `routes` on `listener` (over TLS when `tls` is given) until `shutdown` completes,
/// then drains in-flight calls.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    shutdown: impl Future<Output = ()> + Send + 'static,
    tls: Option<ServerTlsConfig>,
) -> Result<(), tonic::transport::Error> {
    let local_addr = listener.local_addr().ok();
    tracing::info!(?local_addr, tls = tls.is_some(), "gRPC server listening");
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let result = builder
        // One span per call, child of the caller's trace when it sent a `traceparent`, so the
        // events a command records carry the trace on to NATS and the consumers.
        .trace_fn(|request| {
            let traceparent = request
                .headers()
                .get(crate::telemetry::TRACEPARENT)
                .and_then(|value| value.to_str().ok());
            crate::telemetry::request_span(request.uri().path(), traceparent)
        })
        .add_routes(routes)
        .serve_with_incoming_shutdown(accepted_connections(listener), shutdown)
        .await;
    tracing::info!(?local_addr, "gRPC server stopped");
    result
}

/// Largest request a dondoc server decodes (gRPC's customary 4 MiB, set here on purpose):
/// anything larger is refused with OUT_OF_RANGE before a handler runs. The progress service
/// raises it to fit its largest document.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// A gRPC server that is bound but not serving yet: the port is known (tests bind port 0), a
/// bad certificate has already failed start-up, and health (NOT_SERVING) and reflection are
/// in place. A service adds its own API and starts it last, once it can answer correctly.
pub struct PreparedServer {
    listener: TcpListener,
    port: u16,
    tls: Option<ServerTlsConfig>,
    health: HealthReporter,
    routes: Routes,
    required: Vec<(String, watch::Receiver<bool>)>,
    anchorer: Option<std::sync::Arc<dondoc_eventsourcing::anchor::Anchorer>>,
}

impl PreparedServer {
    /// Binds `listen`, loads the TLS certificate if any, and sets up health and reflection for
    /// `file_descriptor_set`.
    pub async fn bind(
        listen: &str,
        tls: Option<&TlsSettings>,
        file_descriptor_set: &'static [u8],
    ) -> Result<Self, GrpcError> {
        let tls = tls.map(load_tls).transpose()?;
        let bind_error = |source| GrpcError::Bind {
            address: listen.to_owned(),
            source,
        };
        let listener = TcpListener::bind(listen).await.map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        let (health, routes) = health_and_reflection(file_descriptor_set).await?;
        Ok(Self {
            listener,
            port,
            tls,
            health,
            routes,
            required: Vec::new(),
            anchorer: None,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Makes the server's health depend on a part of the service: `name` gets a health entry
    /// of its own, SERVING while `ready` says so, and the whole server is SERVING only while
    /// every required part is.
    pub fn require<T: Send + Sync + 'static>(
        &mut self,
        name: impl Into<String>,
        mut state: watch::Receiver<T>,
        ready: fn(&T) -> bool,
    ) {
        let (tx, rx) = watch::channel(ready(&state.borrow()));
        tokio::spawn(async move {
            while state.changed().await.is_ok() {
                let now = ready(&state.borrow_and_update());
                if tx.send(now).is_err() {
                    break;
                }
            }
        });
        self.required.push((name.into(), rx));
    }

    /// Lets admins anchor the service's log on demand (`DiagnosticsService.AnchorLog`).
    pub fn anchor_with(
        &mut self,
        anchorer: std::sync::Arc<dondoc_eventsourcing::anchor::Anchorer>,
    ) {
        self.anchorer = Some(anchorer);
    }

    /// Adds process diagnostics and the service's own API (`add` receives the routes with
    /// health, reflection and diagnostics, and the interceptor that authenticates callers),
    /// starts serving as a task of `supervisor`, and reports SERVING.
    pub async fn serve_as(
        mut self,
        supervisor: &mut crate::lifecycle::Supervisor,
        name: &'static str,
        auth: AuthInterceptor,
        add: impl FnOnce(Routes, AuthInterceptor) -> Routes,
    ) {
        let routes = self.routes.add_service(InterceptedService::new(
            DiagnosticsApi::server(self.anchorer.clone()),
            auth.clone(),
        ));
        let routes = add(routes, auth);
        let shutdown = supervisor.shutdown_token();
        let (listener, tls) = (self.listener, self.tls);
        supervisor.spawn(name, async move {
            if let Err(error) = serve(listener, routes, shutdown.cancelled_owned(), tls).await {
                tracing::error!(server = name, error = %error, "gRPC server failed");
            }
        });
        supervisor.report_draining_to(self.health.clone());
        let draining = supervisor.draining_token();
        report_health(&self.health, &mut self.required, &draining).await;
        let health = self.health;
        let mut required = self.required;
        let shutdown = supervisor.shutdown_token();
        supervisor.spawn("health", async move {
            loop {
                let changes = required
                    .iter_mut()
                    .map(|(_, rx)| Box::pin(rx.changed()))
                    .collect::<Vec<_>>();
                if changes.is_empty() {
                    shutdown.cancelled().await;
                    break;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = draining.cancelled() => break,
                    (changed, _, _) = select_all(changes) => {
                        if changed.is_err() {
                            break;
                        }
                    }
                }
                report_health(&health, &mut required, &draining).await;
            }
            mark_not_serving(&health).await;
        });
    }
}

/// Sets each required part's health entry, and the whole server's: SERVING only if every part
/// is ready and the server is not draining.
async fn report_health(
    health: &HealthReporter,
    required: &mut [(String, watch::Receiver<bool>)],
    draining: &tokio_util::sync::CancellationToken,
) {
    let mut all = true;
    for (name, ready) in required.iter_mut() {
        let ready = *ready.borrow_and_update();
        all &= ready;
        let status = if ready {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        health.set_service_status(name.as_str(), status).await;
    }
    if all && !draining.is_cancelled() {
        mark_serving(health).await;
    } else {
        mark_not_serving(health).await;
    }
}

/// Builds the health service (overall status NOT_SERVING) and reflection v1 and v1alpha for
/// `file_descriptor_set` (an encoded `FileDescriptorSet`, usually the proto crate's constant).
///
/// Add the service's own services with [`Routes::add_service`] on the returned routes, then call
/// [`mark_serving`] once the service can answer correctly. v1alpha is kept because older
/// `grpcurl` and IDE plugins only speak that version.
pub async fn health_and_reflection(
    file_descriptor_set: &'static [u8],
) -> Result<(HealthReporter, Routes), GrpcError> {
    let (reporter, health_service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(OVERALL_HEALTH, ServingStatus::NotServing)
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(file_descriptor_set)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(file_descriptor_set)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let routes = Routes::new(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    Ok((reporter, routes))
}

/// Reports the whole server as SERVING.
pub async fn mark_serving(reporter: &HealthReporter) {
    reporter
        .set_service_status(OVERALL_HEALTH, ServingStatus::Serving)
        .await;
}

/// Reports the whole server as NOT_SERVING, e.g. at the start of a graceful shutdown so load
/// balancers stop routing new calls before the listener closes.
pub async fn mark_not_serving(reporter: &HealthReporter) {
    reporter
        .set_service_status(OVERALL_HEALTH, ServingStatus::NotServing)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus as WireStatus;
    use tonic_health::pb::health_client::HealthClient;

    async fn overall_status(client: &mut HealthClient<tonic::transport::Channel>) -> WireStatus {
        let response = client
            .check(HealthCheckRequest {
                service: OVERALL_HEALTH.to_owned(),
            })
            .await
            .expect("health check answers");
        response.into_inner().status()
    }

    #[tokio::test]
    async fn health_starts_not_serving_and_flips_to_serving() {
        // Arrange
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (reporter, routes) = health_and_reflection(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .await
            .expect("builds");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            routes,
            async {
                let _ = stop_rx.await;
            },
            None,
        ));
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connects");
        let mut client = HealthClient::new(channel);

        // Act
        let before = overall_status(&mut client).await;
        mark_serving(&reporter).await;
        let after = overall_status(&mut client).await;

        // Assert
        assert_eq!(before, WireStatus::NotServing);
        assert_eq!(after, WireStatus::Serving);

        let _ = stop_tx.send(());
        let served = tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("server stops after the shutdown signal")
            .expect("server task does not panic");
        assert!(served.is_ok(), "{served:?}");
    }

    /// A self-signed certificate for `localhost` and 127.0.0.1, made with the openssl CLI.
    fn self_signed_certificate(dir: &std::path::Path) -> TlsSettings {
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        let made = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            // A self-signed *server* certificate: webpki refuses a CA certificate as end entity.
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args(["-addext", "extendedKeyUsage=serverAuth"])
            .arg("-keyout")
            .arg(&key_path)
            .arg("-out")
            .arg(&cert_path)
            .output()
            .expect("run openssl");
        assert!(made.status.success(), "{made:?}");
        TlsSettings {
            cert_path,
            key_path,
        }
    }

    #[tokio::test]
    async fn a_server_with_a_certificate_speaks_only_tls() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = self_signed_certificate(dir.path());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let (reporter, routes) = health_and_reflection(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .await
            .expect("builds");
        mark_serving(&reporter).await;
        let tls = load_tls(&settings).expect("loads");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            routes,
            async {
                let _ = stop_rx.await;
            },
            Some(tls),
        ));
        let ca = tonic::transport::Certificate::from_pem(
            std::fs::read(&settings.cert_path).expect("cert"),
        );

        let secure = tonic::transport::Endpoint::from_shared(format!("https://localhost:{port}"))
            .expect("endpoint")
            .tls_config(
                tonic::transport::ClientTlsConfig::new()
                    .ca_certificate(ca)
                    .domain_name("localhost"),
            )
            .expect("client tls")
            .connect()
            .await
            .expect("connects over TLS");
        let status = overall_status(&mut HealthClient::new(secure)).await;
        let plaintext = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await;
        let refused = match plaintext {
            Err(_) => true,
            Ok(channel) => HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: OVERALL_HEALTH.to_owned(),
                })
                .await
                .is_err(),
        };

        assert_eq!(status, WireStatus::Serving);
        assert!(refused, "a plaintext client must not be served");
        let _ = stop_tx.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    }

    #[tokio::test]
    async fn every_accepted_connection_has_tcp_nodelay_set() {
        use futures::StreamExt as _;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let mut incoming = accepted_connections(listener);

        let client = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        let accepted = incoming
            .next()
            .await
            .expect("a connection")
            .expect("accepted");

        assert!(
            accepted.nodelay().expect("read TCP_NODELAY"),
            "the server side of every connection sends without waiting (TCP_NODELAY)"
        );
        drop(client);
    }

    #[test]
    fn a_missing_certificate_file_names_the_path() {
        let missing = TlsSettings {
            cert_path: "/nonexistent/cert.pem".into(),
            key_path: "/nonexistent/key.pem".into(),
        };

        let error = load_tls(&missing).expect_err("missing");

        assert!(
            error.to_string().contains("/nonexistent/cert.pem"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn invalid_descriptor_set_is_reported() {
        static GARBAGE: &[u8] = &[0xff, 0xff, 0xff];

        let result = health_and_reflection(GARBAGE).await;

        assert!(matches!(result, Err(GrpcError::Reflection(_))));
    }
}
