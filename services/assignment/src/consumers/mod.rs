//! The assignment service's read models: the task list, fed from its own event log, and the
//! execution status of each task and the lead units' requests, fed from the progress
//! service's events over NATS.

pub mod execution_status;
pub mod progress_requests;
pub mod task_list;
