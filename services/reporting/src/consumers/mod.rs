//! The reporting service's read models, fed from other services' events over NATS.

pub mod board;
pub mod documents;
pub mod execution;
pub mod exemptions;
pub mod history;
