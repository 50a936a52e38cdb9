//! gRPC statuses the way every dondoc service answers (AIP-193): each carries
//! `google.rpc.ErrorInfo` with a reason per rule and the service's error domain, and a
//! `google.rpc.LocalizedMessage` in Vietnamese beside the English message; invalid input adds
//! `BadRequest` with every field, a refused rule `PreconditionFailure` naming it. Internal
//! faults are logged with their cause and answered with an opaque message.
//!
//! Each service keeps its own error enum and its one mapping to a status (its `grpc::status`);
//! this is the vocabulary those mappings share, so that a client meets the same shapes from
//! every service.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The locale of the localized messages.
pub const LOCALE: &str = "vi-VN";

/// Builds the statuses of one service (its `ErrorInfo.domain`).
#[derive(Clone, Copy, Debug)]
pub struct StatusBuilder {
    pub domain: &'static str,
}

impl StatusBuilder {
    pub const fn new(domain: &'static str) -> Self {
        Self { domain }
    }

    pub fn with_details(
        &self,
        code: Code,
        message: String,
        reason: &str,
        metadata: HashMap<String, String>,
        vi: String,
        mut details: ErrorDetails,
    ) -> Status {
        details.set_error_info(reason, self.domain, metadata);
        details.set_localized_message(LOCALE, vi);
        Status::with_error_details(code, message, details)
    }

    pub fn plain(&self, code: Code, message: String, reason: &str, vi: String) -> Status {
        self.with_details(
            code,
            message,
            reason,
            HashMap::new(),
            vi,
            ErrorDetails::new(),
        )
    }

    /// A refused rule: `subject` names what blocks.
    pub fn precondition(&self, reason: &str, subject: &str, message: String, vi: String) -> Status {
        let mut details = ErrorDetails::new();
        details.add_precondition_failure_violation(reason, subject, message.clone());
        self.with_details(
            Code::FailedPrecondition,
            message,
            reason,
            HashMap::new(),
            vi,
            details,
        )
    }

    /// Invalid input: every `(field, description)`, the fields named in the `ErrorInfo` too,
    /// so a client branching on the reason alone still knows which inputs to highlight.
    pub fn invalid(&self, violations: &[(String, String)]) -> Status {
        let mut details = ErrorDetails::new();
        for (field, description) in violations {
            details.add_bad_request_violation(field.clone(), description.clone());
        }
        let fields: Vec<&str> = violations.iter().map(|(f, _)| f.as_str()).collect();
        let summary = violations
            .iter()
            .map(|(f, d)| format!("{f}: {d}"))
            .collect::<Vec<_>>()
            .join("; ");
        self.with_details(
            Code::InvalidArgument,
            format!("invalid request: {summary}"),
            "INVALID_FIELDS",
            HashMap::from([("fields".to_owned(), fields.join(","))]),
            format!(
                "Yêu cầu không hợp lệ, xem các trường: {}.",
                fields.join(", ")
            ),
            details,
        )
    }

    pub fn not_found(&self, message: String) -> Status {
        self.plain(
            Code::NotFound,
            message,
            "NOT_FOUND",
            "Không tìm thấy.".into(),
        )
    }

    /// Optimistic concurrency lost: read again and retry.
    pub fn conflict(&self, message: String, vi: &str) -> Status {
        self.plain(Code::Aborted, message, "CONCURRENT_CHANGE", vi.to_owned())
    }

    pub fn request_id_reused(&self, request_id: &str) -> Status {
        let mut details = ErrorDetails::new();
        details.add_bad_request_violation(
            "request_id",
            "already used for a different request; use a new request_id",
        );
        self.with_details(
            Code::InvalidArgument,
            format!("request_id {request_id} was already used for a different request"),
            "REQUEST_ID_REUSED",
            HashMap::new(),
            "Mã yêu cầu (request_id) đã dùng cho một yêu cầu khác; hãy dùng mã mới.".into(),
            details,
        )
    }

    pub fn unavailable(&self, cause: &str) -> Status {
        tracing::warn!(error = %cause, "unavailable");
        self.plain(
            Code::Unavailable,
            format!("temporarily unavailable; retry the request ({cause})"),
            "UNAVAILABLE",
            "Hệ thống tạm thời không phục vụ được; vui lòng thử lại.".into(),
        )
    }

    pub fn internal(&self, cause: &str) -> Status {
        tracing::error!(error = %cause, "internal error");
        self.plain(
            Code::Internal,
            "internal error; the incident was logged".into(),
            "INTERNAL",
            "Lỗi hệ thống; sự cố đã được ghi lại.".into(),
        )
    }
}

/// The conversions every service's handler error enum needs from the event-sourcing layer's
/// errors, for an enum with `Conflict(String)`, `RequestIdReused(String)`,
/// `Unavailable(String)` and `Internal(String)` variants: a lost race is a conflict, a
/// transient database failure is worth a retry, anything else is a fault.
#[macro_export]
macro_rules! store_error_conversions {
    ($api:ident) => {
        impl<E> From<::dondoc_eventsourcing::repository::ExecuteError<E>> for $api
        where
            E: std::error::Error + Into<$api> + 'static,
        {
            fn from(error: ::dondoc_eventsourcing::repository::ExecuteError<E>) -> Self {
                use ::dondoc_eventsourcing::repository::ExecuteError;
                match error {
                    ExecuteError::Domain(e) => e.into(),
                    ExecuteError::Conflict {
                        stream_id,
                        expected,
                        actual,
                    } => $api::Conflict(format!(
                        "{stream_id} was changed concurrently (expected version {expected}, now \
                         {actual}); read it again and retry"
                    )),
                    ExecuteError::RequestIdReused { request_id } => {
                        $api::RequestIdReused(request_id)
                    }
                    ExecuteError::Store(e) => e.into(),
                    ExecuteError::Decode(e) => e.into(),
                }
            }
        }

        impl From<::dondoc_eventsourcing::AppendError> for $api {
            fn from(error: ::dondoc_eventsourcing::AppendError) -> Self {
                use ::dondoc_eventsourcing::AppendError;
                match error {
                    AppendError::Conflict { .. } => $api::Conflict(error.to_string()),
                    AppendError::RequestIdReused { request_id } => {
                        $api::RequestIdReused(request_id)
                    }
                    AppendError::Store(e) => e.into(),
                }
            }
        }

        impl From<::dondoc_eventsourcing::StoreError> for $api {
            fn from(error: ::dondoc_eventsourcing::StoreError) -> Self {
                if error.is_transient() {
                    $api::Unavailable(error.to_string())
                } else {
                    $api::Internal(error.to_string())
                }
            }
        }

        impl From<::dondoc_eventsourcing::projection::ProjectionError> for $api {
            fn from(error: ::dondoc_eventsourcing::projection::ProjectionError) -> Self {
                use ::dondoc_eventsourcing::projection::ProjectionError;
                match error {
                    ProjectionError::Refused(reason) => $api::Unavailable(reason),
                    error if error.is_transient() => $api::Unavailable(error.to_string()),
                    error => $api::Internal(error.to_string()),
                }
            }
        }

        impl From<::dondoc_eventsourcing::DecodeError> for $api {
            fn from(error: ::dondoc_eventsourcing::DecodeError) -> Self {
                $api::Internal(error.to_string())
            }
        }
    };
}
