//! The errors of the escalation service's handlers: one enum for the application layer, mapped
//! to a gRPC status only in `crate::grpc::status`.

use crate::domain::{ActionError, FieldViolation, WatchError};

/// A refusal by the authorisation policy.
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
    #[error("{}", .0.message)]
    PermissionDenied(Denied),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Watch(#[from] WatchError),
    #[error(transparent)]
    Action(#[from] ActionError),
    #[error("{0}")]
    Conflict(String),
    #[error("request_id {0} was already used for a different request")]
    RequestIdReused(String),
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

    /// A failed query: transient failures are worth a retry, anything else is a fault.
    pub fn from_sql(error: sqlx::Error) -> Self {
        if dondoc_eventsourcing::db::is_unstorable_text(&error) {
            return ApiError::invalid("request", dondoc_eventsourcing::db::UNSTORABLE_TEXT);
        }
        if dondoc_eventsourcing::db::is_transient(&error) {
            ApiError::Unavailable(error.to_string())
        } else {
            ApiError::Internal(error.to_string())
        }
    }
}

dondoc_runtime::store_error_conversions!(ApiError);
