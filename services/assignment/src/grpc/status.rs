//! The one mapping from the handlers' [`ApiError`] to a gRPC status (design.md §3.1, AIP-193).
//!
//! Every status carries `google.rpc.ErrorInfo` with a reason naming the rule (one per rule, so a
//! client can tell "requested after the deadline" from "task cancelled" without parsing text)
//! and a `google.rpc.LocalizedMessage` in Vietnamese (vi-VN) beside the English message.
//! Invalid input adds `BadRequest` with every field violation; a refused rule adds
//! `PreconditionFailure` naming it. Internal faults are logged with their cause and answered
//! with an opaque message.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::{DirectoryError, HAND_OFF_RULE, HAND_OFF_RULE_VI, TaskError};
use crate::handlers::error::{ApiError, summary};

/// Domain of every `google.rpc.ErrorInfo` this service sends.
pub const ERROR_DOMAIN: &str = "assignment.dondoc.gov.vn";

/// The locale of the localized messages.
pub const LOCALE: &str = "vi-VN";

fn status(code: Code, message: String, reason: &str, vi: String, details: ErrorDetails) -> Status {
    status_with(code, message, reason, HashMap::new(), vi, details)
}

fn status_with(
    code: Code,
    message: String,
    reason: &str,
    metadata: HashMap<String, String>,
    vi: String,
    mut details: ErrorDetails,
) -> Status {
    details.set_error_info(reason, ERROR_DOMAIN, metadata);
    details.set_localized_message(LOCALE, vi);
    Status::with_error_details(code, message, details)
}

fn precondition(reason: &str, subject: &str, message: String, vi: String) -> Status {
    let mut details = ErrorDetails::new();
    details.add_precondition_failure_violation(reason, subject, message.clone());
    status(Code::FailedPrecondition, message, reason, vi, details)
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Invalid(violations) => {
                let mut details = ErrorDetails::new();
                for v in &violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
                // The fields in the ErrorInfo too, so a client branching on the reason alone
                // still knows which inputs to highlight.
                status_with(
                    Code::InvalidArgument,
                    format!("invalid request: {}", summary(&violations)),
                    "INVALID_FIELDS",
                    HashMap::from([("fields".to_owned(), fields.join(","))]),
                    format!(
                        "Yêu cầu không hợp lệ, xem các trường: {}.",
                        fields.join(", ")
                    ),
                    details,
                )
            }
            ApiError::PermissionDenied(denied) => status(
                Code::PermissionDenied,
                denied.message,
                denied.reason,
                denied.message_vi,
                ErrorDetails::new(),
            ),
            ApiError::NotFound(message) => status(
                Code::NotFound,
                message,
                "NOT_FOUND",
                "Không tìm thấy.".into(),
                ErrorDetails::new(),
            ),
            ApiError::Task(TaskError::NotFound) => status(
                Code::NotFound,
                TaskError::NotFound.to_string(),
                TaskError::NotFound.reason(),
                TaskError::NotFound.message_vi(),
                ErrorDetails::new(),
            ),
            ApiError::Task(rule) => {
                precondition(rule.reason(), "task", rule.to_string(), rule.message_vi())
            }
            ApiError::Directory(rule @ DirectoryError::Overlap { .. }) => precondition(
                "DIRECTORY_VERSION_OVERLAP",
                "unit-directory",
                rule.to_string(),
                "Phiên bản danh mục đơn vị trùng thời gian hiệu lực với phiên bản đã có.".into(),
            ),
            ApiError::HandOffRefused => precondition(
                "LEAD_UNIT_HAND_OFF",
                "task",
                HAND_OFF_RULE.into(),
                HAND_OFF_RULE_VI.into(),
            ),
            ApiError::Conflict(message) => status(
                Code::Aborted,
                message,
                "CONCURRENT_CHANGE",
                "Nhiệm vụ vừa được thay đổi bởi người khác; hãy tải lại rồi thử lại.".into(),
                ErrorDetails::new(),
            ),
            ApiError::RequestIdReused(request_id) => {
                let mut details = ErrorDetails::new();
                details.add_bad_request_violation(
                    "request_id",
                    "already used for a different request; use a new request_id",
                );
                status(
                    Code::InvalidArgument,
                    format!("request_id {request_id} was already used for a different request"),
                    "REQUEST_ID_REUSED",
                    "Mã yêu cầu (request_id) đã dùng cho một yêu cầu khác; hãy dùng mã mới.".into(),
                    details,
                )
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "unavailable");
                status(
                    Code::Unavailable,
                    format!("temporarily unavailable; retry the request ({cause})"),
                    "UNAVAILABLE",
                    "Hệ thống tạm thời không phục vụ được; vui lòng thử lại.".into(),
                    ErrorDetails::new(),
                )
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                status(
                    Code::Internal,
                    "internal error; the incident was logged".into(),
                    "INTERNAL",
                    "Lỗi hệ thống; sự cố đã được ghi lại.".into(),
                    ErrorDetails::new(),
                )
            }
        }
    }
}
