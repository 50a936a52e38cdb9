//! The one mapping from the handlers' [`ApiError`] to a gRPC status (AIP-193): every status
//! carries `google.rpc.ErrorInfo` with a reason per rule and a Vietnamese
//! `google.rpc.LocalizedMessage`; invalid input adds `BadRequest` with every field, a refused
//! rule adds `PreconditionFailure` naming it (and, for a difficulty awaiting direction, which).

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::ExecutionError;
use crate::handlers::error::{ApiError, HAND_OFF_RULE, HAND_OFF_RULE_VI, summary};

/// Domain of every `google.rpc.ErrorInfo` this service sends.
pub const ERROR_DOMAIN: &str = "progress.dondoc.gov.vn";
pub const LOCALE: &str = "vi-VN";

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

fn status(code: Code, message: String, reason: &str, vi: String) -> Status {
    status_with(
        code,
        message,
        reason,
        HashMap::new(),
        vi,
        ErrorDetails::new(),
    )
}

/// A refused rule: the subject names what blocks (the task, or the open difficulty).
fn precondition(reason: &str, subject: &str, message: String, vi: String) -> Status {
    let mut details = ErrorDetails::new();
    details.add_precondition_failure_violation(reason, subject, message.clone());
    status_with(
        Code::FailedPrecondition,
        message,
        reason,
        HashMap::new(),
        vi,
        details,
    )
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
            ),
            ApiError::NotFound(message) => status(
                Code::NotFound,
                message,
                "NOT_FOUND",
                "Không tìm thấy.".into(),
            ),
            ApiError::Execution(rule) => {
                let subject = match &rule {
                    ExecutionError::DifficultyAwaitingDirection { difficulty_id } => {
                        format!("difficulty/{difficulty_id}")
                    }
                    _ => "task".to_owned(),
                };
                precondition(rule.reason(), &subject, rule.to_string(), rule.message_vi())
            }
            ApiError::Dossier(rule) => precondition(
                rule.reason(),
                "dossier",
                rule.to_string(),
                rule.message_vi(),
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
            ),
            ApiError::RequestIdReused(request_id) => {
                let mut details = ErrorDetails::new();
                details.add_bad_request_violation(
                    "request_id",
                    "already used for a different request; use a new request_id",
                );
                status_with(
                    Code::InvalidArgument,
                    format!("request_id {request_id} was already used for a different request"),
                    "REQUEST_ID_REUSED",
                    HashMap::new(),
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
                )
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                status(
                    Code::Internal,
                    "internal error; the incident was logged".into(),
                    "INTERNAL",
                    "Lỗi hệ thống; sự cố đã được ghi lại.".into(),
                )
            }
        }
    }
}
