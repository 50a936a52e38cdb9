//! The escalation service: the Chief of Office's duty to urge and monitor (đôn đốc, theo dõi),
//! done on time, every time (design.md §2 rules 6 and 12).
//!
//! A process manager: it learns tasks from the assignment service's events and how the work
//! stands from the progress service's (through the published contracts only), keeps a watch per
//! task in its own event store, and acts when time passes — reminders before the deadline, the
//! overdue notice the working day after, then the ladder to the supervising Vice-Chairman and
//! the Chairman, in working days on the civil-service calendar, by a versioned policy. It also
//! raises difficulties left without direction and coordination replies past due, and records
//! the leadership's reminders, criticisms and commendations. Its notices reach people over
//! gRPC (`WatchNotifications`), NATS (one subject per recipient) and e-mail.
//!
//! # Layout (the same rooms as every dondoc service)
//! - [`domain`]: policy, task facts, the schedule of notices, the watch and action aggregates.
//!   No I/O.
//! - [`events`]: domain events ↔ the published contracts.
//! - [`handlers`]: evaluate, authorise ([`handlers::policy`]), validate, run; one error enum.
//! - [`grpc`]: the tonic adapter and the one mapping of errors to gRPC status.
//! - [`consumers`]: task and execution facts (from NATS), notifications (local).
//! - [`delivery`]: the NATS publisher and the mailer.
//! - [`startup`]: `Application::build` — store, read models, relay, consumers, loops, server.

pub mod consumers;
pub mod delivery;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod handlers;
pub mod startup;

pub use delivery::mailer::SmtpSettings;
pub use startup::{Application, EscalationSettings};
