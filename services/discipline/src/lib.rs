//! The discipline-proposal service: the Chief of Office, with the Department of Home Affairs,
//! proposes discipline for those who cause delays, and the Chairman decides (design.md §2 rules
//! 7 and 10; research/domain-vietnam.md §4).
//!
//! A process manager with its own event store: it learns evidence from the escalation and
//! progress services' events and the directories from the assignment service's (published
//! contracts only), drafts cases by a versioned policy — the same facts never twice — and
//! carries each case through its legal workflow under the regime valid on the day the
//! violation was detected, warning before the limit from detection to decision passes. Cases
//! hold personal data: full reads are the Office's, Home Affairs' and the Chairman's, and every
//! read is recorded.
//!
//! # Layout (the same rooms as every dondoc service)
//! - [`domain`]: legal regimes, drafting policy, the case aggregate and its clock, the read
//!   audit. No I/O.
//! - [`events`]: domain events ↔ the published contracts.
//! - [`handlers`]: replay, authorise ([`handlers::policy`]), validate, run; one error enum.
//! - [`grpc`]: the tonic adapter and the one mapping of errors to gRPC status.
//! - [`consumers`]: evidence, triggers and directories (from NATS); cases and reads (local).
//! - [`startup`]: `Application::build` — store, read models, relay, consumers, loops, server.

pub mod consumers;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod handlers;
pub mod startup;

pub use startup::{Application, DisciplineSettings};
