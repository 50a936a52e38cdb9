//! The escalation service's read models: what it knows of tasks from the assignment and
//! progress services and of discipline cases' limits (over NATS), and the notices and actions
//! in its own log (local).

pub mod case_warnings;
pub mod facts;
pub mod notifications;
