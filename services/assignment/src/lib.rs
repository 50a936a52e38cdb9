//! The assignment service: the unit directory and the tasks the City People's Committee assigns.
//!
//! It owns two kinds of aggregates — unit directory versions (valid from/to a date: the 2019
//! structure and the post-2025 two-tier one both work) and tasks (assign, reassign by the
//! issuing authority, extend a deadline, cancel). Its events are the source of truth in its own
//! SQL store and reach the other services through the outbox relay to JetStream, in the
//! published language of `dondoc_contracts::assignment`.
//!
//! The rule at its heart (design.md §2, rule 2): **the lead unit may not hand a task to another
//! unit.** Such an attempt is refused with `FAILED_PRECONDITION` citing the rule, and recorded
//! as an event, because it is evidence for a later discipline proposal.
//!
//! # Layout (every dondoc service has the same rooms)
//! - [`domain`]: pure values, the directory and task aggregates, their validation, the task
//!   view. No I/O, no wire types.
//! - [`events`]: domain events ↔ the published contracts.
//! - [`handlers`]: what each call does — replay, authorise ([`handlers::policy`]), validate,
//!   run the command — and [`handlers::error::ApiError`].
//! - [`grpc`]: the tonic adapter; protobuf ↔ handler inputs and results, and the one mapping of
//!   errors to gRPC status.
//! - [`consumers`]: read models (the task list behind `ListTasks`).
//! - [`startup`]: `Application::build` — store, read models, relay, server, supervision.

pub mod consumers;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod handlers;
pub mod startup;

pub use startup::{Application, AssignmentSettings};
