//! The assignment service's read models, fed from its own event log.

pub mod task_list;
