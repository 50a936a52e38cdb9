//! The event-sourcing test suite (one binary): the store conformance tests, run on SQLite and
//! PostgreSQL, and the JetStream transport tests (relay and consumer) against a real,
//! pinned nats-server started per test.

mod faults;
mod metrics;
mod projection;
mod store;
mod transport;
