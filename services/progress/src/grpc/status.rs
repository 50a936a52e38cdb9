//! The one mapping from the handlers' [`ApiError`] to a gRPC status, in the vocabulary every
//! dondoc service shares (`dondoc_runtime::status`, AIP-193): a refused rule names what blocks
//! it (the task, the dossier, or the difficulty awaiting direction).

use dondoc_runtime::status::StatusBuilder;
use tonic::Status;

use crate::domain::ExecutionError;
use crate::handlers::error::{ApiError, HAND_OFF_RULE, HAND_OFF_RULE_VI};

/// Domain of every `google.rpc.ErrorInfo` this service sends.
pub const ERROR_DOMAIN: &str = "progress.dondoc.gov.vn";
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
            ApiError::Execution(rule) => {
                let subject = match &rule {
                    ExecutionError::DifficultyAwaitingDirection { difficulty_id } => {
                        format!("difficulty/{difficulty_id}")
                    }
                    _ => "task".to_owned(),
                };
                STATUS.precondition(rule.reason(), &subject, rule.to_string(), rule.message_vi())
            }
            ApiError::Dossier(rule) => STATUS.precondition(
                rule.reason(),
                "dossier",
                rule.to_string(),
                rule.message_vi(),
            ),
            ApiError::HandOffRefused => STATUS.precondition(
                "LEAD_UNIT_HAND_OFF",
                "task",
                HAND_OFF_RULE.into(),
                HAND_OFF_RULE_VI.into(),
            ),
            ApiError::Conflict(message) => STATUS.conflict(
                message,
                "Nhiệm vụ vừa được thay đổi bởi người khác; hãy tải lại rồi thử lại.",
            ),
            ApiError::RequestIdReused(request_id) => STATUS.request_id_reused(&request_id),
            ApiError::Unavailable(cause) => STATUS.unavailable(&cause),
            ApiError::Internal(cause) => STATUS.internal(&cause),
        }
    }
}
