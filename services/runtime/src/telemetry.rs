//! Logging, tracing and trace-context propagation.
//!
//! Every service logs through `tracing` to stderr (human-readable, or JSON for log shippers) and,
//! when an OTLP endpoint is configured, exports spans to a collector. Export is opt-in because a
//! developer machine or CI usually has no collector, and a failing exporter would only add noise.
//!
//! A command's journey crosses process boundaries twice: CLI → service over gRPC, and service →
//! projector over NATS JetStream. To keep it one trace, the W3C `traceparent` travels in gRPC
//! metadata and NATS message headers; the carriers here adapt those maps to OpenTelemetry's
//! propagator API, and [`current_traceparent`] lets the event store persist the value alongside
//! each event so that asynchronous consumers can resume the trace later.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::Deserialize;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::diagnostics::StatementCounter;
use tracing_subscriber::util::SubscriberInitExt;

/// The W3C header that carries the trace and parent span ids.
pub const TRACEPARENT: &str = "traceparent";

/// Set once a subscriber from this module is installed, so a second [`init`] in the same process
/// (several services in one test binary) is a harmless no-op rather than an error.
static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Logging and tracing settings, usually the `[telemetry]` table of a service's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TelemetrySettings {
    /// `tracing` filter directives used when `RUST_LOG` is unset, e.g. `info,dondoc=debug`.
    pub log_filter: String,
    /// Emit one JSON object per line instead of human-readable lines.
    pub json_logs: bool,
    /// OTLP/gRPC collector endpoint, e.g. `http://127.0.0.1:4317`; `None` disables span export.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_filter: "info".to_owned(),
            json_logs: false,
            otlp_endpoint: None,
        }
    }
}

/// Errors from installing telemetry.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `RUST_LOG` or `log_filter` is not a valid filter.
    #[error("invalid log filter {filter:?}: {source}")]
    InvalidFilter {
        /// The rejected directives.
        filter: String,
        /// Why they were rejected.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// An OTLP exporter could not be built.
    #[error("cannot build OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// The OTLP gRPC client needs a Tokio runtime to drive its connection.
    #[error("OTLP export needs a Tokio runtime; call telemetry::init from within one")]
    NoRuntime,
}

/// Keeps the tracer provider alive; dropping it flushes and shuts down span export.
///
/// Hold it in `main` until the service has stopped. Flushing blocks the dropping thread while the
/// exporter (driven by the Tokio runtime) sends the last batch, so drop it on a multi-threaded
/// runtime or before the runtime shuts down, not inside a current-thread runtime's only task.
#[derive(Debug, Default)]
#[must_use = "dropping the guard immediately shuts span export down"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    meters: Option<SdkMeterProvider>,
}

impl TelemetryGuard {
    /// Whether this guard owns an exporting tracer provider.
    pub fn is_exporting(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(meters) = self.meters.take()
            && let Err(err) = meters.shutdown()
        {
            tracing::warn!(error = %err, "meter provider shutdown failed; the last metrics may be lost");
        }
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "tracer provider shutdown failed; some spans may be lost");
        }
    }
}

/// Installs W3C trace-context propagation: the global propagator, and the event-sourcing core's
/// hook that makes a consumer's span the child of the command that caused its event.
///
/// Both are process-global and stateless, so installing them on every call is harmless and
/// guarantees propagation works even when another subscriber won the race to be global.
pub fn install_propagation() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    dondoc_eventsourcing::trace::set_hook(set_parent_from_traceparent);
}

/// Installs the global subscriber for `service_name` and the W3C trace-context propagator.
///
/// Only the first call in a process installs anything; later calls (or a call after some other
/// code installed a subscriber) return a guard that does nothing. When `otlp_endpoint` is set
/// this must run inside a Tokio runtime.
pub fn init(
    service_name: &str,
    settings: &TelemetrySettings,
) -> Result<TelemetryGuard, TelemetryError> {
    install_propagation();

    if INITIALISED.swap(true, Ordering::SeqCst) {
        return Ok(TelemetryGuard::default());
    }

    let rust_log = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    // One filter per layer rather than one for the whole subscriber: the statement counter
    // (diagnostics) must see sqlx's per-statement events that the log filter hides.
    let filters = env_filter(rust_log.clone(), &settings.log_filter)
        .and_then(|logs| Ok((logs, env_filter(rust_log, &settings.log_filter)?)))
        .inspect_err(|_| {
            INITIALISED.store(false, Ordering::SeqCst);
        })?;
    let (log_filter, trace_filter) = filters;
    let provider = match &settings.otlp_endpoint {
        Some(endpoint) => Some(otlp_provider(service_name, endpoint).inspect_err(|_| {
            INITIALISED.store(false, Ordering::SeqCst);
        })?),
        None => None,
    };
    let meters = match &settings.otlp_endpoint {
        Some(endpoint) => Some(otlp_meters(service_name, endpoint).inspect_err(|_| {
            INITIALISED.store(false, Ordering::SeqCst);
        })?),
        None => None,
    };
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = Vec::new();
    if let Some(provider) = provider.as_ref() {
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer(service_name.to_owned()))
                .with_filter(trace_filter)
                .boxed(),
        );
    }
    if settings.json_logs {
        layers.push(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr)
                .with_filter(log_filter)
                .boxed(),
        );
    } else {
        layers.push(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(log_filter)
                .boxed(),
        );
    }
    layers.push(
        StatementCounter
            .with_filter(StatementCounter::filter())
            .boxed(),
    );

    let installed = tracing_subscriber::registry().with(layers).try_init();

    match installed {
        Ok(()) => {
            if let Some(provider) = &provider {
                opentelemetry::global::set_tracer_provider(provider.clone());
            }
            // Instruments are created when services start, after this, so they all export.
            if let Some(meters) = &meters {
                opentelemetry::global::set_meter_provider(meters.clone());
            }
            tracing::debug!(
                service = service_name,
                otlp = settings.otlp_endpoint.as_deref(),
                "telemetry initialised"
            );
            Ok(TelemetryGuard { provider, meters })
        }
        Err(err) => {
            // Someone else owns the global subscriber (typically a test harness); export from our
            // provider would never receive spans, so shut it down rather than leak its thread.
            tracing::debug!(error = %err, "a global subscriber is already installed");
            if let Some(provider) = provider {
                let _ = provider.shutdown();
            }
            if let Some(meters) = meters {
                let _ = meters.shutdown();
            }
            Ok(TelemetryGuard::default())
        }
    }
}

/// `rust_log` (the `RUST_LOG` value) wins over `fallback` so an operator can raise verbosity
/// for one run without editing configuration.
fn env_filter(rust_log: Option<String>, fallback: &str) -> Result<EnvFilter, TelemetryError> {
    let directives = rust_log
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| fallback.to_owned());
    EnvFilter::try_new(&directives).map_err(|source| TelemetryError::InvalidFilter {
        filter: directives,
        source,
    })
}

/// Who is reporting: the service, and this process among its replicas (so replicas' series do
/// not collide).
fn resource(service_name: &str) -> Resource {
    Resource::builder()
        .with_service_name(service_name.to_owned())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.instance.id",
            uuid::Uuid::now_v7().to_string(),
        ))
        .build()
}

/// Metrics (commands, appends, outbox backlog, consumer lag, dead letters: see
/// `dondoc_eventsourcing::metrics`) go to the same OTLP endpoint as traces.
fn otlp_meters(service_name: &str, endpoint: &str) -> Result<SdkMeterProvider, TelemetryError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(TelemetryError::NoRuntime);
    }
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    Ok(SdkMeterProvider::builder()
        .with_resource(resource(service_name))
        .with_periodic_exporter(exporter)
        .build())
}

fn otlp_provider(service_name: &str, endpoint: &str) -> Result<SdkTracerProvider, TelemetryError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(TelemetryError::NoRuntime);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    let resource = resource(service_name);
    Ok(SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build())
}

/// The W3C `traceparent` of the current `tracing` span, via the global propagator.
///
/// `None` when there is no valid OpenTelemetry span context, e.g. outside any span or when no
/// OpenTelemetry layer is installed.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier: HashMap<String, String> = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut carrier);
    });
    carrier.remove(TRACEPARENT)
}

/// Makes the remote span identified by `traceparent` the parent of `span`.
///
/// Best effort: a malformed value, a span that has already started, or a missing OpenTelemetry
/// layer leaves `span` as a new root, because losing trace linkage must never fail the work.
pub fn set_parent_from_traceparent(span: &tracing::Span, traceparent: &str) {
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let parent =
        opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(&carrier));
    if let Err(err) = span.set_parent(parent) {
        tracing::debug!(error = %err, traceparent, "could not set span parent from traceparent");
    }
}

/// The span of one gRPC call: a child of the caller's trace when it sent a `traceparent`, with
/// the trace id in its `trace_id` field, so that JSON log lines inside the call can be joined
/// with the trace (the JSON formatter prints the current span's fields).
pub fn request_span(rpc: &str, traceparent: Option<&str>) -> tracing::Span {
    let span = tracing::info_span!("grpc.request", rpc = %rpc, trace_id = tracing::field::Empty);
    if let Some(traceparent) = traceparent {
        set_parent_from_traceparent(&span, traceparent);
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    let trace_id = if span_context.is_valid() {
        Some(span_context.trace_id().to_string())
    } else {
        // Telemetry export is off: the caller's trace id still joins the logs to its trace.
        traceparent
            .and_then(|traceparent| traceparent.split('-').nth(1))
            .filter(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()))
            .map(str::to_owned)
    };
    if let Some(trace_id) = trace_id {
        span.record("trace_id", trace_id);
    }
    span
}

/// Reads trace context from incoming gRPC metadata.
#[derive(Debug)]
pub struct GrpcMetadataExtractor<'a>(pub &'a tonic::metadata::MetadataMap);

impl Extractor for GrpcMetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(|key| match key {
                tonic::metadata::KeyRef::Ascii(key) => key.as_str(),
                tonic::metadata::KeyRef::Binary(key) => key.as_str(),
            })
            .collect()
    }
}

/// Writes trace context into outgoing gRPC metadata (client side).
#[derive(Debug)]
pub struct GrpcMetadataInjector<'a>(pub &'a mut tonic::metadata::MetadataMap);

impl Injector for GrpcMetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let parsed_key = tonic::metadata::MetadataKey::from_str(key);
        let parsed_value = tonic::metadata::MetadataValue::try_from(value.as_str());
        match (parsed_key, parsed_value) {
            (Ok(key), Ok(value)) => {
                self.0.insert(key, value);
            }
            _ => tracing::debug!(key, "skipping trace header that is not valid gRPC metadata"),
        }
    }
}

/// Writes trace context into the headers of an outgoing NATS message.
#[derive(Debug)]
pub struct NatsHeaderInjector<'a>(pub &'a mut async_nats::HeaderMap);

impl Injector for NatsHeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // `HeaderMap::insert` with `&str` panics on invalid input; parse first so a strange
        // propagator value can only drop the header, never crash the publisher.
        let parsed_key = async_nats::HeaderName::from_str(key);
        let parsed_value = async_nats::HeaderValue::from_str(&value);
        match (parsed_key, parsed_value) {
            (Ok(key), Ok(value)) => self.0.insert(key, value),
            _ => tracing::debug!(key, "skipping trace header that is not a valid NATS header"),
        }
    }
}

/// Reads trace context from the headers of an incoming NATS message.
#[derive(Debug)]
pub struct NatsHeaderExtractor<'a>(pub &'a async_nats::HeaderMap);

impl Extractor for NatsHeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let key = async_nats::HeaderName::from_str(key).ok()?;
        self.0.get(key).map(async_nats::HeaderValue::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(key, _)| key.as_ref()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::propagation::TextMapPropagator;

    const SAMPLE_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// A subscriber with an in-process OpenTelemetry layer (no exporter), scoped to one test via
    /// `with_default` so tests do not fight over the global subscriber.
    fn scoped_otel_subscriber() -> (impl tracing::Subscriber + Send + Sync, SdkTracerProvider) {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        (subscriber, provider)
    }

    #[test]
    fn default_settings_log_at_info_without_export() {
        let settings = TelemetrySettings::default();

        assert_eq!(settings.log_filter, "info");
        assert!(!settings.json_logs);
        assert_eq!(settings.otlp_endpoint, None);
    }

    #[test]
    fn settings_deserialise_with_missing_fields_defaulted() {
        let settings: TelemetrySettings =
            serde_json::from_str(r#"{"json_logs": true}"#).expect("deserialises");

        assert!(settings.json_logs);
        assert_eq!(settings.log_filter, "info");
    }

    #[test]
    fn init_twice_in_one_process_is_harmless() {
        let settings = TelemetrySettings::default();

        let first = init("test-service", &settings).expect("first init");
        let second = init("test-service", &settings).expect("second init");

        assert!(!first.is_exporting());
        assert!(!second.is_exporting());
    }

    #[tokio::test]
    async fn otlp_provider_builds_inside_a_tokio_runtime() {
        // No collector listens there; building is lazy and an idle provider exports nothing.
        let provider = otlp_provider("test-service", "http://127.0.0.1:4317").expect("builds");

        let shutdown = provider.shutdown();

        assert!(shutdown.is_ok(), "{shutdown:?}");
    }

    #[test]
    fn otlp_provider_outside_a_tokio_runtime_is_an_error() {
        let result = otlp_provider("test-service", "http://127.0.0.1:4317");

        assert!(matches!(result, Err(TelemetryError::NoRuntime)));
    }

    #[test]
    fn an_invalid_log_filter_is_reported() {
        let result = env_filter(None, "info,dondoc=notalevel");

        assert!(matches!(result, Err(TelemetryError::InvalidFilter { .. })));
    }

    #[test]
    fn rust_log_takes_precedence_over_the_configured_filter() {
        let result = env_filter(Some("debug".to_owned()), "info,dondoc=notalevel");

        assert!(result.is_ok());
    }

    #[test]
    fn current_traceparent_is_none_outside_any_span() {
        let (subscriber, _provider) = scoped_otel_subscriber();

        let traceparent = tracing::subscriber::with_default(subscriber, current_traceparent);

        assert_eq!(traceparent, None);
    }

    #[test]
    fn traceparent_set_as_parent_is_continued_by_the_child_span() {
        // Arrange
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let (subscriber, _provider) = scoped_otel_subscriber();

        // Act
        let continued = tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("handle_event");
            set_parent_from_traceparent(&span, SAMPLE_TRACEPARENT);
            span.in_scope(current_traceparent)
        });

        // Assert: same trace id, new span id.
        let continued = continued.expect("a valid span context");
        let parts: Vec<&str> = continued.split('-').collect();
        assert_eq!(parts.len(), 4, "{continued}");
        assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(parts[2], "00f067aa0ba902b7");
    }

    /// A `Write` into a shared buffer, for reading back what a fmt layer printed.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_json_log_line_inside_a_call_carries_the_callers_trace_id() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(move || writer.clone()),
            );

        tracing::subscriber::with_default(subscriber, || {
            let span = request_span(
                "/dondoc.v1.AssignmentService/AssignTask",
                Some(SAMPLE_TRACEPARENT),
            );
            span.in_scope(|| tracing::info!("task assigned"));
        });

        let text = String::from_utf8(captured.0.lock().expect("buffer").clone()).expect("utf-8");
        let line: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("a line")).expect("a JSON line");
        assert_eq!(
            line["span"]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
            "{text}"
        );
    }

    #[test]
    fn without_telemetry_export_the_callers_trace_id_is_still_recorded() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(move || writer.clone()),
        );

        tracing::subscriber::with_default(subscriber, || {
            let span = request_span("/x", Some(SAMPLE_TRACEPARENT));
            span.in_scope(|| tracing::info!("inside"));
        });

        let text = String::from_utf8(captured.0.lock().expect("buffer").clone()).expect("utf-8");
        assert!(text.contains("4bf92f3577b34da6a3ce929d0e0e4736"), "{text}");
    }

    #[test]
    fn malformed_traceparent_does_not_panic_and_starts_a_new_trace() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let (subscriber, _provider) = scoped_otel_subscriber();

        let traceparent = tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("handle_event");
            set_parent_from_traceparent(&span, "garbage");
            span.in_scope(current_traceparent)
        });

        let traceparent = traceparent.expect("a fresh root span is still valid");
        assert!(!traceparent.contains("4bf92f3577b34da6a3ce929d0e0e4736"));
    }

    #[test]
    fn trace_context_round_trips_through_nats_headers() {
        // Arrange
        let propagator = TraceContextPropagator::new();
        let mut source = HashMap::new();
        source.insert(TRACEPARENT.to_owned(), SAMPLE_TRACEPARENT.to_owned());
        let context = propagator.extract(&source);
        let mut headers = async_nats::HeaderMap::new();

        // Act
        propagator.inject_context(&context, &mut NatsHeaderInjector(&mut headers));
        let extracted = NatsHeaderExtractor(&headers);

        // Assert
        assert_eq!(extracted.get(TRACEPARENT), Some(SAMPLE_TRACEPARENT));
        assert!(extracted.keys().contains(&TRACEPARENT));
    }

    #[test]
    fn nats_injector_drops_invalid_headers_instead_of_panicking() {
        let mut headers = async_nats::HeaderMap::new();

        NatsHeaderInjector(&mut headers).set("bad:name", "v".to_owned());
        NatsHeaderInjector(&mut headers).set("good", "line\nbreak".to_owned());

        assert!(headers.is_empty());
    }

    #[test]
    fn trace_context_round_trips_through_grpc_metadata() {
        let propagator = TraceContextPropagator::new();
        let source = HashMap::from([(TRACEPARENT.to_owned(), SAMPLE_TRACEPARENT.to_owned())]);
        let context = propagator.extract(&source);
        let mut metadata = tonic::metadata::MetadataMap::new();

        propagator.inject_context(&context, &mut GrpcMetadataInjector(&mut metadata));
        let extracted = GrpcMetadataExtractor(&metadata);

        assert_eq!(extracted.get(TRACEPARENT), Some(SAMPLE_TRACEPARENT));
        assert!(extracted.keys().contains(&TRACEPARENT));
    }
}
