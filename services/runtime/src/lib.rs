//! Shared runtime plumbing for every dondoc service.
//!
//! The dondoc services (assignment, reporting, the `dondoc` CLI that launches them all) differ in
//! their domain logic but must agree exactly on the cross-cutting pieces: what "today" means for
//! the City People's Committee Office (business time is Asia/Ho_Chi_Minh), how a caller proves
//! who they are (Ed25519-signed JWTs carried as gRPC bearer metadata), how traces flow across
//! gRPC and NATS hops, how a gRPC server is started and stopped, how configuration is layered,
//! and how a pinned `nats-server` is found or installed. Keeping those here means a service crate
//! only wires them together, and a disagreement between services (say, one using UTC dates and
//! another local dates) cannot arise.
//!
//! Each module is small and independent:
//! - [`clock`]: injectable time and the business-date rule (the trait is the event-sourcing
//!   core's, re-exported).
//! - [`auth`]: roles, principals, token minting/verification and tonic interceptors.
//! - [`telemetry`]: tracing subscriber, optional OTLP export, W3C trace-context propagation.
//! - [`grpc`]: serving `Routes` with graceful shutdown, health and reflection services.
//! - [`config`]: defaults → file → `DONDOC_*` environment layering.
//! - [`nats`]: locating/installing and launching the pinned `nats-server` (the core's
//!   launcher, re-exported).
//! - [`service`]: what every service binary's thin `main` shares.
//! - [`lifecycle`]: background tasks with graceful stop or crash-like kill; NATS connection.
//! - [`diagnostics`]: CPU, memory and SQL statement counts of the process, over gRPC.

pub mod anchoring;
pub mod auth;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod diagnostics;
pub mod grpc;
pub mod lifecycle;
pub mod request;
pub mod service;
pub mod status;
pub mod telemetry;

/// The pinned `nats-server` launcher lives in the event-sourcing core (its tests need it);
/// services and the CLI reach it here.
pub mod nats {
    pub use dondoc_eventsourcing::nats_server::*;
}
