//! The progress service's read models: what it knows of tasks from the assignment service
//! (over NATS), and the open coordination requests (from its own log).

pub mod reply_due;
pub mod task_documents;
pub mod task_facts;
