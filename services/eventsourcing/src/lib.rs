//! dondoc's event-sourcing core: how every service stores, publishes and consumes events.
//!
//! Each dondoc service (assignment, progress, escalation, discipline, reporting) owns a SQL
//! database; its events are the source of truth and NATS JetStream is only the transport
//! between services (design.md §3). This crate is the part every service shares:
//!
//! - [`aggregate`]: the pure decide/apply shape of write models;
//! - [`store`]: the event store — group commit, optimistic concurrency, idempotent requests,
//!   gap-free global order, hash chain and verification;
//! - [`repository`]: running a command against an aggregate end to end;
//! - [`relay`]: the transactional outbox relay to JetStream;
//! - [`consumer`]: durable pull consumers with an inbox, per-stream order and dead letters;
//! - [`projection`]: read models fed from the local log or from NATS, and their rebuild;
//! - [`upcast`]: schema evolution of stored events;
//! - [`clock`]: injectable time and the business date (Asia/Ho_Chi_Minh);
//! - [`trace`]: the hook through which consumers join a command's trace;
//! - [`nats_server`]: the pinned nats-server, found or installed, for `dondoc up` and tests.
//!
//! It depends on no runtime crate (no gRPC, no auth, no OpenTelemetry SDK): services wire it to
//! their runtime, never the other way round.
//!
//! The same code runs on SQLite and PostgreSQL; the differences live in [`db::Dialect`].

pub mod aggregate;
pub mod anchor;
pub mod clock;
pub mod consumer;
pub mod db;
pub mod event;
pub mod hash_chain;
pub mod metrics;
pub mod nats_server;
pub mod projection;
pub mod relay;
pub mod repository;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trace;
pub mod upcast;

pub use aggregate::{Aggregate, DecodeError, DomainEvent};
pub use db::Database;
pub use event::{Actor, EventMetadata, NewEvent, RecordedEvent};
pub use hash_chain::{Tampering, VerifyReport};
pub use store::{
    AppendError, AppendRequest, Appended, EventStore, ExpectedVersion, RequestKey, StoreError,
    StoreStats, StoredOutcome,
};
pub use upcast::{UpcastContext, UpcastError, UpcastFn, Upcasters};
