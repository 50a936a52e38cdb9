//! The pure domain of the assignment service: values, the unit directory, the task aggregate and
//! its read view. No I/O, no async, no wire types: the application layer maps protobuf requests
//! to the inputs here and [`crate::events`] maps domain events to stored payloads.
pub mod directory;
pub mod task;
pub mod values;
pub mod view;

pub use directory::{
    Confidence, DirectoryError, DirectoryEvent, DirectoryVersion, ImportDirectory, Unit,
    UnitDirectory, UnitKind, parse_directory_toml, version_valid_on,
};
pub use task::{
    AssignTask, AssignTaskInput, HAND_OFF_RULE, Requester, Task, TaskCommand, TaskError, TaskEvent,
    TaskState, TaskStatus, validate_assignment, validate_extension, validate_reason,
    validate_reassignment,
};
pub use values::{
    FieldViolation, InvalidValue, Issuer, IssuerKind, Priority, SourceDocument, TaskId, UnitCode,
};
pub use view::{DeadlineChange, ReassignmentEntry, RefusedHandOff, TaskRecord};
