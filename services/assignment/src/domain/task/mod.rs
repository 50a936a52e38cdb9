//! Tasks (nhiệm vụ): the aggregate and the validation of what callers ask of it.

mod aggregate;
mod validate;

pub use aggregate::{
    AssignTask, ExtensionDecision, HAND_OFF_RULE, HAND_OFF_RULE_VI, PendingExtension, Requester,
    Task, TaskCommand, TaskError, TaskEvent, TaskState, TaskStatus, format_date_vi,
};
pub use validate::{
    AssignTaskInput, AssignmentContext, DocumentInput, validate_assignment, validate_extension,
    validate_extension_decision, validate_extension_request, validate_reason,
    validate_reassignment,
};
