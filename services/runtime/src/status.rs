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

/// Longest text a status carries, in characters. Messages travel in HTTP/2 headers: one that
/// echoes a client's 100 000-character input would exceed the peer's header limit, and the
/// client would see a protocol error instead of the refusal.
const MAX_TEXT: usize = 500;

/// Most field violations one refusal lists.
const MAX_VIOLATIONS: usize = 20;

/// `text`, cut at 500 characters with an ellipsis when longer.
pub fn clip(text: String) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        None => text,
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

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
        details.set_localized_message(LOCALE, clip(vi));
        Status::with_error_details(code, clip(message), details)
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
        let message = clip(message);
        let mut details = ErrorDetails::new();
        details.add_precondition_failure_violation(
            reason,
            clip(subject.to_owned()),
            message.clone(),
        );
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
        // A request with a thousand bad entries gets the first few named and a count: the
        // answer must fit in the headers that carry it.
        let (shown, hidden) = violations.split_at(violations.len().min(MAX_VIOLATIONS));
        let mut details = ErrorDetails::new();
        for (field, description) in shown {
            details.add_bad_request_violation(clip(field.clone()), clip(description.clone()));
        }
        let fields: Vec<String> = shown.iter().map(|(f, _)| clip(f.clone())).collect();
        let summary = shown
            .iter()
            .map(|(f, d)| format!("{f}: {d}"))
            .collect::<Vec<_>>()
            .join("; ");
        let heading = match hidden.len() {
            0 => "invalid request".to_owned(),
            _ => format!(
                "invalid request ({} fields, the first {} listed)",
                violations.len(),
                shown.len()
            ),
        };
        self.with_details(
            Code::InvalidArgument,
            format!("{heading}: {summary}"),
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
        let request_id = clip(request_id.to_owned());
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
/// `Unavailable(String)` and `Internal(String)` variants and an `invalid(field, description)`
/// constructor: a lost race is a conflict, a transient database failure is worth a retry, a
/// text the database cannot store is the request's fault, anything else is a fault.
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
                if let ::dondoc_eventsourcing::StoreError::UnstorableText(_) = error {
                    return $api::invalid("request", ::dondoc_eventsourcing::db::UNSTORABLE_TEXT);
                }
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
                    ProjectionError::Sql(ref e)
                        if ::dondoc_eventsourcing::db::is_unstorable_text(e) =>
                    {
                        $api::invalid("request", ::dondoc_eventsourcing::db::UNSTORABLE_TEXT)
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_that_echoes_a_huge_input_stays_small_enough_for_http2_headers() {
        let huge = "Ế".repeat(70_000);
        let status = StatusBuilder::new("test.dondoc").invalid(&[("title".into(), huge.clone())]);
        let many: Vec<(String, String)> = (0..1500)
            .map(|i| {
                (
                    format!("lead_units[{i}]"),
                    "không có trong danh mục".to_owned(),
                )
            })
            .collect();
        let crowded = StatusBuilder::new("test.dondoc").invalid(&many);

        assert!(status.message().chars().count() <= MAX_TEXT + 1);
        assert!(
            status.details().len() < 8 * 1024,
            "{}",
            status.details().len()
        );
        assert!(
            crowded.details().len() < 8 * 1024,
            "{}",
            crowded.details().len()
        );
        assert!(
            crowded
                .message()
                .starts_with("invalid request (1500 fields, the first 20 listed): lead_units[0]"),
            "{}",
            crowded.message()
        );
        assert_eq!(clip("ngắn".into()), "ngắn");
        assert!(clip(huge).ends_with('…'));
    }
}
