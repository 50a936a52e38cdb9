//! The discipline service's read models: evidence, directories and drafting triggers learnt
//! from the other services (over NATS), and the cases and their read audit from its own log.

pub mod cases;
pub mod evidence;
