//! The reporting service: read models built from every other service's events.
//!
//! It owns no aggregates. It consumes the JetStream streams the other services publish, reads
//! them only through the published contracts (`dondoc_contracts`; it depends on no other
//! service's crate), keeps projections in its own database (exactly once per event, in
//! per-stream order; see `dondoc_eventsourcing::consumer`) and serves them over
//! `ReportingService`. In this first cut the only read model is the task board (tasks per lead
//! unit and status), which proves the path gRPC → event store → outbox relay → JetStream →
//! projection end to end; the periodic report to the City People's Committee (Decree 09/2019
//! windows) builds on it.
//!
//! # Layout (every dondoc service has the same rooms)
//! - [`domain`]: what is reported, as plain values.
//! - [`handlers`]: the queries and who may make them.
//! - [`grpc`]: the tonic adapter and the mapping of errors to gRPC status.
//! - [`consumers`]: the projections and their queries.
//! - [`startup`]: `Application::build` — database, consumers, server, supervision.

pub mod consumers;
pub mod domain;
pub mod grpc;
pub mod handlers;
pub mod issued;
pub mod render;
pub mod startup;

pub use startup::{Application, ReportingSettings};
