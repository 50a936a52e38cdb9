//! The assignment service's application errors and their one mapping to gRPC status.
//!
//! Every handler returns [`ApiError`]; `From<ApiError> for Status` is the only place codes are
//! chosen (design.md §3.1). Internal faults are logged with their cause and answered with an
//! opaque message; everything a caller can fix names the field or the rule.

use dondoc_eventsourcing::repository::ExecuteError;
use dondoc_eventsourcing::{AppendError, DecodeError, StoreError};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::{DirectoryError, FieldViolation, HAND_OFF_RULE, TaskError};

/// Domain for `google.rpc.ErrorInfo`.
const ERROR_DOMAIN: &str = "dondoc.assignment";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; nothing was written.
    #[error("invalid request: {}", summary(.0))]
    Invalid(Vec<FieldViolation>),
    /// The caller's role may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    /// A task rule refused the command given the task's current state.
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The lead unit's hand-off attempt: recorded, then refused (rule 2).
    #[error("{HAND_OFF_RULE}")]
    HandOffRefused,
    /// Optimistic concurrency: someone changed the task first.
    #[error("{0}")]
    Conflict(String),
    /// AIP-155: the same request_id with a different request.
    #[error("request_id {0} was already used for a different request")]
    RequestIdReused(String),
    /// The database is unreachable or failing.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn summary(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldViolation::new(field, description)])
    }
}

impl<E> From<ExecuteError<E>> for ApiError
where
    E: std::error::Error + Into<ApiError> + 'static,
{
    fn from(error: ExecuteError<E>) -> Self {
        match error {
            ExecuteError::Domain(e) => e.into(),
            ExecuteError::Conflict {
                stream_id,
                expected,
                actual,
            } => ApiError::Conflict(format!(
                "{stream_id} was changed concurrently (expected version {expected}, now \
                 {actual}); read it again and retry"
            )),
            ExecuteError::RequestIdReused { request_id } => ApiError::RequestIdReused(request_id),
            ExecuteError::Store(e) => e.into(),
            ExecuteError::Decode(e) => e.into(),
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Conflict { .. } => ApiError::Conflict(error.to_string()),
            AppendError::RequestIdReused { request_id } => ApiError::RequestIdReused(request_id),
            AppendError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Sql(_) | StoreError::Closed => ApiError::Unavailable(error.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<DecodeError> for ApiError {
    fn from(error: DecodeError) -> Self {
        ApiError::Internal(error.to_string())
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Invalid(violations) => {
                let mut details = ErrorDetails::new();
                for v in &violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                Status::with_error_details(
                    Code::InvalidArgument,
                    format!("invalid request: {}", summary(&violations)),
                    details,
                )
            }
            ApiError::PermissionDenied(message) => Status::permission_denied(message),
            ApiError::NotFound(message) => Status::not_found(message),
            ApiError::Task(TaskError::NotFound) => {
                Status::not_found(TaskError::NotFound.to_string())
            }
            ApiError::Task(rule) => precondition("TASK_RULE", &rule.to_string()),
            ApiError::Directory(rule) => precondition("DIRECTORY_RULE", &rule.to_string()),
            ApiError::HandOffRefused => precondition("LEAD_UNIT_HAND_OFF", HAND_OFF_RULE),
            ApiError::Conflict(message) => Status::aborted(message),
            ApiError::RequestIdReused(request_id) => {
                let mut details = ErrorDetails::new();
                details.add_bad_request_violation(
                    "request_id",
                    "already used for a different request; use a new request_id",
                );
                Status::with_error_details(
                    Code::InvalidArgument,
                    format!("request_id {request_id} was already used for a different request"),
                    details,
                )
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "storage unavailable");
                Status::unavailable("storage is temporarily unavailable; retry the request")
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                Status::internal("internal error; the incident was logged")
            }
        }
    }
}

fn precondition(reason: &str, message: &str) -> Status {
    let mut details = ErrorDetails::new();
    details.add_precondition_failure_violation(reason, "task", message);
    details.set_error_info(reason, ERROR_DOMAIN, std::collections::HashMap::new());
    Status::with_error_details(Code::FailedPrecondition, message, details)
}
