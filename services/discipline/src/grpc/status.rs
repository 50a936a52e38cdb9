//! The one mapping from the handlers' [`ApiError`] to a gRPC status, in the vocabulary every
//! dondoc service shares (`dondoc_runtime::status`, AIP-193).

use dondoc_runtime::status::StatusBuilder;
use tonic::Status;

use crate::handlers::error::ApiError;

/// Domain of every `google.rpc.ErrorInfo` this service sends.
pub const ERROR_DOMAIN: &str = "discipline.dondoc.gov.vn";
const STATUS: StatusBuilder = StatusBuilder::new(ERROR_DOMAIN);

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Invalid(violations) => STATUS.invalid(
                &violations
                    .into_iter()
                    .map(|v| (v.field, v.description))
                    .collect::<Vec<_>>(),
            ),
            ApiError::PermissionDenied(denied) => STATUS.plain(
                tonic::Code::PermissionDenied,
                denied.message,
                denied.reason,
                denied.message_vi,
            ),
            ApiError::NotFound(message) => STATUS.not_found(message),
            ApiError::Case(rule) => {
                STATUS.precondition(rule.reason(), "case", rule.to_string(), rule.message_vi())
            }
            ApiError::Conflict(message) => STATUS.conflict(
                message,
                "Hồ sơ vừa được thay đổi bởi người khác; hãy tải lại rồi thử lại.",
            ),
            ApiError::RequestIdReused(request_id) => STATUS.request_id_reused(&request_id),
            ApiError::Unavailable(cause) => STATUS.unavailable(&cause),
            ApiError::Internal(cause) => STATUS.internal(&cause),
        }
    }
}
