//! Tasks (nhiệm vụ): the aggregate and the validation of what callers ask of it.

mod aggregate;
mod validate;

pub use aggregate::{
    AssignTask, HAND_OFF_RULE, Requester, Task, TaskCommand, TaskError, TaskEvent, TaskState,
    TaskStatus,
};
pub use validate::{
    AssignTaskInput, validate_assignment, validate_extension, validate_reason,
    validate_reassignment,
};
