//! Turning a failed command into the text an operator reads on stderr.
//!
//! The services put what a caller can fix into rich gRPC error details (a `BadRequest` naming
//! each bad field, a `PreconditionFailure` citing the rule that refused the command). tonic's
//! `Display` for `Status` shows neither, only opaque bytes, so this module unpacks them: an
//! operator who typed a wrong unit code should see "lead_unit: …", not a hex dump.
//!
//! In Vietnamese the status line shows the `google.rpc.LocalizedMessage` the service attached
//! (vi-VN) instead of its English message, and every status line ends with the `ErrorInfo`
//! reason, the stable name of the rule, which is what to quote when asking for help.

use std::fmt::Write as _;

use tonic::Status;
use tonic_types::StatusExt as _;

use crate::i18n::Lang;

/// Renders `error` and its causes, one per line, with the details of any gRPC status in the
/// chain.
pub fn render(error: &anyhow::Error, lang: Lang) -> String {
    let mut text = String::new();
    let mut previous = String::new();
    for (index, cause) in error.chain().enumerate() {
        // Transport errors often wrap an error with the same text ("tcp connect error" twice);
        // repeating it adds nothing.
        let current = cause.to_string();
        if index > 0 && current == previous {
            continue;
        }
        previous = current;
        let prefix = match (index, lang) {
            (0, Lang::Vi) => "lỗi",
            (0, Lang::En) => "error",
            (_, Lang::Vi) => "nguyên nhân",
            (_, Lang::En) => "caused by",
        };
        match cause.downcast_ref::<Status>() {
            Some(status) => render_status(&mut text, prefix, status, lang),
            None => {
                let _ = writeln!(text, "{prefix}: {cause}");
            }
        }
    }
    text
}

fn render_status(text: &mut String, prefix: &str, status: &Status, lang: Lang) {
    let details = status.get_error_details();
    let message = match (lang, details.localized_message()) {
        (Lang::Vi, Some(localized)) if localized.locale.starts_with("vi") => {
            localized.message.as_str()
        }
        _ => status.message(),
    };
    let _ = write!(text, "{prefix}: {:?}: {message}", status.code());
    match details.error_info() {
        Some(info) => {
            let _ = writeln!(text, " [{}]", info.reason);
        }
        None => {
            let _ = writeln!(text);
        }
    }
    if let Some(bad_request) = details.bad_request() {
        for violation in &bad_request.field_violations {
            let _ = writeln!(text, "  - {}: {}", violation.field, violation.description);
        }
    }
    if let Some(failure) = details.precondition_failure() {
        for violation in &failure.violations {
            let _ = writeln!(
                text,
                "  - [{}] {}: {}",
                violation.r#type, violation.subject, violation.description
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use tonic::Code;
    use tonic_types::ErrorDetails;

    #[test]
    fn vietnamese_shows_the_localized_message_and_the_rule() {
        let mut details = ErrorDetails::new();
        details.set_error_info(
            "EXTENSION_REQUESTED_AFTER_DEADLINE",
            "assignment.dondoc.gov.vn",
            HashMap::new(),
        );
        details.set_localized_message("vi-VN", "Đề nghị gia hạn gửi sau thời hạn.");
        let status = Status::with_error_details(
            Code::FailedPrecondition,
            "the extension was requested after the deadline",
            details,
        );
        let error = anyhow::Error::new(status).context("Gia hạn không thành công");

        assert_eq!(
            render(&error, Lang::Vi),
            "lỗi: Gia hạn không thành công\n\
             nguyên nhân: FailedPrecondition: Đề nghị gia hạn gửi sau thời hạn. \
             [EXTENSION_REQUESTED_AFTER_DEADLINE]\n"
        );
        assert!(
            render(&error, Lang::En)
                .contains("the extension was requested after the deadline [EXTENSION_"),
            "English keeps the service's English message"
        );
    }

    #[test]
    fn every_bad_request_violation_is_listed_under_the_status_message() {
        let mut details = ErrorDetails::new();
        details.add_bad_request_violation("lead_unit", "unknown unit XYZ");
        details.add_bad_request_violation("deadline", "is before the document date");
        let status =
            Status::with_error_details(Code::InvalidArgument, "invalid request: 2 fields", details);
        let error = anyhow::Error::new(status).context("AssignTask failed");

        let text = render(&error, Lang::En);

        assert_eq!(
            text,
            "error: AssignTask failed\n\
             caused by: InvalidArgument: invalid request: 2 fields\n  \
             - lead_unit: unknown unit XYZ\n  \
             - deadline: is before the document date\n"
        );
    }

    #[test]
    fn precondition_failures_cite_their_rule() {
        let mut details = ErrorDetails::new();
        details.add_precondition_failure_violation(
            "LEAD_UNIT_HAND_OFF",
            "task",
            "the lead unit may not hand a task to another unit",
        );
        let status = Status::with_error_details(Code::FailedPrecondition, "refused", details);

        let text = render(&anyhow::Error::new(status), Lang::En);

        assert!(
            text.starts_with("error: FailedPrecondition: refused\n"),
            "{text}"
        );
        assert!(
            text.contains("[LEAD_UNIT_HAND_OFF] task: the lead unit"),
            "{text}"
        );
    }

    #[test]
    fn a_cause_repeating_the_previous_text_is_shown_once() {
        let error = anyhow::anyhow!("connection refused")
            .context("tcp connect error")
            .context("tcp connect error")
            .context("cannot connect");

        assert_eq!(
            render(&error, Lang::En),
            "error: cannot connect\ncaused by: tcp connect error\ncaused by: connection refused\n"
        );
    }

    #[test]
    fn plain_errors_render_their_chain() {
        let error = anyhow::anyhow!("connection refused").context("cannot connect");

        assert_eq!(
            render(&error, Lang::En),
            "error: cannot connect\ncaused by: connection refused\n"
        );
    }
}
