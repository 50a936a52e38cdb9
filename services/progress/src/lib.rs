//! The progress service: how a lead unit carries out the task it was given (thực hiện nhiệm
//! vụ) — receipt, progress reports, coordination with the coordinating units, difficulties
//! and the leader's direction, the result and the Office's review.
//!
//! It owns one aggregate, a task's execution (stream type `execution`, id = the task id),
//! and knows the tasks themselves only from the assignment service's published events
//! (`dondoc_contracts::assignment`), which it keeps as task facts. Its own events leave
//! through the outbox relay as `dondoc_contracts::progress`.
//!
//! Two rules of the seed live here (design.md §2 rules 3–5): **a difficulty goes to
//! leadership for direction before the unit may submit its result**, and the lead unit may
//! not hand its task on (the attempt is recorded as evidence). A coordinating unit's silence
//! past the reply date is recorded as agreement, once.
//!
//! # Layout (the same rooms as every dondoc service)
//! - [`domain`]: the execution aggregate, task facts, validation. No I/O.
//! - [`events`]: domain events ↔ the published contracts.
//! - [`handlers`]: replay, authorise ([`handlers::policy`]), validate, run; one error enum.
//! - [`grpc`]: the tonic adapter and the one mapping of errors to gRPC status.
//! - [`consumers`]: task facts (from NATS) and open coordination requests (local).
//! - [`startup`]: `Application::build` — store, read models, relay, consumer, server.

pub mod blobs;
pub mod consumers;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod handlers;
pub mod startup;

pub use startup::{Application, ProgressSettings};
