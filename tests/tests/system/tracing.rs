//! One trace follows a command: the caller's `traceparent` → the gRPC server span → the event
//! envelope stored and published on NATS → the consumer's span in the reporting service; and
//! the caller's correlation id is recorded on the event.

use async_nats::jetstream;
use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::Role;
use dondoc_tests::{TestSystem, assignment_request};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use prost::Message as _;
use tracing_subscriber::layer::SubscriberExt as _;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn one_trace_follows_a_command_from_grpc_through_nats_to_the_consumer() {
    // A process-wide subscriber: a thread-local one is defeated by tracing's global callsite
    // cache when other tests hit the same spans first without one. Other tests' spans land in
    // the exporter too; this test only looks at its own trace id.
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    dondoc_runtime::telemetry::install_propagation();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("dondoc-tests")));
    tracing::subscriber::set_global_default(subscriber)
        .expect("only this test installs a global subscriber");
    let system = TestSystem::spawn().await;
    let mut request = tonic::Request::new(assignment_request("Nhiệm vụ có vết"));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-00f067aa0ba902b7-01")
            .parse()
            .expect("metadata value"),
    );

    request.metadata_mut().insert(
        "x-correlation-id",
        "ho-so-4521".parse().expect("metadata value"),
    );
    system
        .client(Role::Leader)
        .await
        .assign_task(request)
        .await
        .expect("assign");
    system
        .board_when("the task arrived", |b| b.total_tasks == 1)
        .await;

    let js = jetstream::new(
        async_nats::connect(system.nats.url())
            .await
            .expect("connect"),
    );
    let stream = js.get_stream("DONDOC_ASSIGNMENT").await.expect("stream");
    let last = stream
        .get_last_raw_message_by_subject("dondoc.assignment.task.>")
        .await
        .expect("the task event on NATS");
    let envelope = pb::EventEnvelope::decode(last.payload.as_ref()).expect("envelope");
    assert!(
        envelope.traceparent.contains(TRACE_ID),
        "the stored event carries the caller's trace: {:?}",
        envelope.traceparent
    );
    assert_eq!(
        envelope.correlation_id, "ho-so-4521",
        "the caller's correlation id is recorded on the event"
    );
    assert!(
        last.headers
            .get("traceparent")
            .is_some_and(|v| v.as_str().contains(TRACE_ID)),
        "the NATS message carries it as a header"
    );
    let spans = exporter.get_finished_spans().expect("spans");
    let consumed = spans
        .iter()
        .find(|s| s.name == "consume" && s.span_context.trace_id().to_string() == TRACE_ID);
    assert!(
        consumed.is_some(),
        "the consumer's span joins the trace; spans: {:?}",
        spans
            .iter()
            .map(|s| (s.name.clone(), s.span_context.trace_id()))
            .collect::<Vec<_>>()
    );
}
