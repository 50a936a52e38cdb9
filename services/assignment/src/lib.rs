//! The assignment service: the unit directory and the tasks the City People's Committee assigns.
//!
//! It owns two kinds of aggregates — unit directory versions (valid from/to a date: the 2019
//! structure and the post-2025 two-tier one both work) and tasks (assign, reassign by the
//! issuing authority, extend a deadline, cancel). Its events are the source of truth in its own
//! SQL store and reach the other services through the outbox relay to JetStream.
//!
//! The rule at its heart (design.md §2, rule 2): **the lead unit may not hand a task to another
//! unit.** Such an attempt is refused with `FAILED_PRECONDITION` citing the rule, and recorded
//! as an event, because it is evidence for a later discipline proposal.
//!
//! # Layout
//! - [`domain`]: pure values, the directory and task aggregates, validation, the task view.
//! - [`events`]: domain events ↔ protobuf payloads, and the upcasters of old versions.
//! - [`policy`]: who may call what.
//! - [`service`]: the gRPC adapter; [`convert`]: protobuf ↔ domain; [`error`]: the one
//!   mapping of errors to gRPC status.
//! - [`task_list`]: the read model behind `ListTasks`.
//! - [`startup`]: `Application::build` — store, projection, relay, server.

pub mod convert;
pub mod domain;
pub mod error;
pub mod events;
pub mod policy;
pub mod service;
pub mod startup;
pub mod task_list;

pub use startup::{Application, AssignmentSettings};
