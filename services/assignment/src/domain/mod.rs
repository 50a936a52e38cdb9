//! The pure domain of the assignment service: values, the unit and leader directories, the task
//! aggregate and its read view. No I/O, no async, no wire types: the application layer maps
//! protobuf requests to the inputs here and [`crate::events`] maps domain events to stored
//! payloads.
pub mod directory;
pub mod leaders;
pub mod search;
pub mod task;
pub mod values;
pub mod view;

pub use directory::{
    Confidence, DirectoryError, DirectoryEvent, DirectoryVersion, ImportDirectory, Unit,
    UnitDirectory, UnitKind, parse_directory_toml, version_valid_on,
};
pub use leaders::{
    ImportLeaders, Leader, LeaderDirectory, LeaderError, LeaderEvent, LeaderRoster, LeaderTitle,
    parse_leaders_toml,
};
pub use task::{
    AssignTask, AssignTaskInput, AssignmentContext, DocumentInput, ExtensionDecision,
    HAND_OFF_RULE, HAND_OFF_RULE_VI, Requester, Task, TaskCommand, TaskError, TaskEvent, TaskState,
    TaskStatus, validate_assignment, validate_extension, validate_extension_decision,
    validate_extension_request, validate_reason, validate_reassignment,
};
pub use values::{
    Assigner, AssignerKind, Assignment, FieldViolation, InvalidValue, Origin, OriginKind, Priority,
    SourceDocument, TaskId, UnitCode,
};
pub use view::{
    DeadlineChange, DeadlineClass, ExtensionEntry, ExtensionState, NEAR_DUE_DAYS,
    ReassignmentEntry, RefusedHandOff, TaskRecord,
};
