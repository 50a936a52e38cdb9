//! The one mapping from the handlers' [`ApiError`] to a gRPC status (design.md §3.1).
//!
//! Internal faults are logged with their cause and answered with an opaque message; everything
//! a caller can fix names the field (`BadRequest`) or the rule (`PreconditionFailure`,
//! `ErrorInfo`).

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::{HAND_OFF_RULE, TaskError};
use crate::handlers::error::{ApiError, summary};

/// Domain for `google.rpc.ErrorInfo`.
const ERROR_DOMAIN: &str = "dondoc.assignment";

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
