//! The one mapping from the handlers' [`ApiError`] to a gRPC status (design.md §3.1, AIP-193).
//!
//! Every status carries `google.rpc.ErrorInfo` with a reason naming the rule (one per rule, so a
//! client can tell "requested after the deadline" from "task cancelled" without parsing text)
//! and a `google.rpc.LocalizedMessage` in Vietnamese (vi-VN) beside the English message.
//! Invalid input adds `BadRequest` with every field violation; a refused rule adds
//! `PreconditionFailure` naming it. Internal faults are logged with their cause and answered
//! with an opaque message.

use std::collections::HashMap;

use dondoc_runtime::status::StatusBuilder;
use tonic::{Code, Status};
use tonic_types::ErrorDetails;

use crate::domain::{DirectoryError, HAND_OFF_RULE, HAND_OFF_RULE_VI, TaskError};
use crate::handlers::error::ApiError;

/// Domain of every `google.rpc.ErrorInfo` this service sends.
pub const ERROR_DOMAIN: &str = "assignment.dondoc.gov.vn";

/// The locale of the localized messages.
pub const LOCALE: &str = "vi-VN";

fn status(code: Code, message: String, reason: &str, vi: String, details: ErrorDetails) -> Status {
    status_with(code, message, reason, HashMap::new(), vi, details)
}

/// The shared shapes (and limits: a refusal must fit in the headers that carry it).
const BUILDER: StatusBuilder = StatusBuilder::new(ERROR_DOMAIN);

fn status_with(
    code: Code,
    message: String,
    reason: &str,
    metadata: HashMap<String, String>,
    vi: String,
    details: ErrorDetails,
) -> Status {
    BUILDER.with_details(code, message, reason, metadata, vi, details)
}

fn precondition(reason: &str, subject: &str, message: String, vi: String) -> Status {
    BUILDER.precondition(reason, subject, message, vi)
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Invalid(violations) => BUILDER.invalid(
                &violations
                    .iter()
                    .map(|v| (v.field.clone(), v.description.clone()))
                    .collect::<Vec<_>>(),
            ),
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
            ApiError::RequestIdReused(request_id) => BUILDER.request_id_reused(&request_id),
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
