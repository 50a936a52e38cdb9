//! The errors of the assignment service's handlers: one enum for the application layer.
//!
//! Every handler returns [`ApiError`]; `crate::grpc::status` is the only place it becomes a
//! gRPC status (design.md §3.1). Everything a caller can fix names the field or the rule, each
//! rule by a reason of its own, and says it in Vietnamese too.

use dondoc_eventsourcing::projection::ProjectionError;
use dondoc_eventsourcing::repository::ExecuteError;
use dondoc_eventsourcing::{AppendError, DecodeError, StoreError};

use crate::domain::{DirectoryError, FieldViolation, HAND_OFF_RULE, LeaderError, TaskError};

/// A refusal by the authorisation policy: which rule, and its wording in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// `google.rpc.ErrorInfo.reason`.
    pub reason: &'static str,
    pub message: String,
    pub message_vi: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; nothing was written.
    #[error("invalid request: {}", summary(.0))]
    Invalid(Vec<FieldViolation>),
    /// The caller may not do this.
    #[error("{}", .0.message)]
    PermissionDenied(Denied),
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
    /// The database is unreachable or failing, or this replica cannot serve a read model.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub(crate) fn summary(violations: &[FieldViolation]) -> String {
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

    pub fn denied(
        reason: &'static str,
        message: impl Into<String>,
        message_vi: impl Into<String>,
    ) -> Self {
        ApiError::PermissionDenied(Denied {
            reason,
            message: message.into(),
            message_vi: message_vi.into(),
        })
    }
}

impl From<LeaderError> for ApiError {
    fn from(error: LeaderError) -> Self {
        match error {}
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
        if error.is_transient() {
            ApiError::Unavailable(error.to_string())
        } else {
            ApiError::Internal(error.to_string())
        }
    }
}

impl From<ProjectionError> for ApiError {
    fn from(error: ProjectionError) -> Self {
        match error {
            // This replica cannot serve the read model (a newer version is active): another
            // replica can, so the caller should retry there.
            ProjectionError::Refused(reason) => ApiError::Unavailable(reason),
            error if error.is_transient() => ApiError::Unavailable(error.to_string()),
            error => ApiError::Internal(error.to_string()),
        }
    }
}

impl From<DecodeError> for ApiError {
    fn from(error: DecodeError) -> Self {
        ApiError::Internal(error.to_string())
    }
}
