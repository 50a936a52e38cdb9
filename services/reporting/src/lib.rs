//! The reporting service: read models built from every other service's events.
//!
//! It owns no aggregates. It consumes the JetStream streams the other services publish, keeps
//! projections in its own database (exactly once per event, in per-task order; see
//! `dondoc_eventsourcing::consumer`) and serves them over `ReportingService`. In this first cut
//! the only read model is the task board (tasks per lead unit and status), which proves the
//! path gRPC → event store → outbox relay → JetStream → projection end to end; the periodic
//! report to the City People's Committee (Decree 09/2019 windows) builds on it.
//!
//! # Layout
//! - [`board`]: the task-board projection and its query.
//! - [`service`]: the gRPC adapter.
//! - [`startup`]: `Application::build` — database, consumer, server.

pub mod board;
pub mod service;
pub mod startup;

pub use startup::{Application, ReportingSettings};
