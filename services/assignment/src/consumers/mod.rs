//! The assignment service's read models: the task list, fed from its own event log, and the
//! execution status of each task, fed from the progress service's events over NATS.

pub mod execution_status;
pub mod task_list;
