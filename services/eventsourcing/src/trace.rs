//! The hook through which consumers join the trace of the command that caused an event.
//!
//! Every event carries the W3C `traceparent` of the command's span (design.md §3.6), and a
//! consumer's span should be its child, so one trace shows a command and everything it caused
//! across services. Making a span the child of a remote context is OpenTelemetry's business,
//! which lives in `dondoc_runtime::telemetry`; the core only needs "link this span to that
//! traceparent". So the runtime installs the function once at start-up ([`set_hook`]) and the
//! core calls it for every consumed event; without a hook (tests, tracing off) spans simply start new traces.

use std::sync::OnceLock;

/// Makes `span` a child of the remote span named by `traceparent`; must never fail the caller.
pub type TraceParentHook = fn(&tracing::Span, &str);

static HOOK: OnceLock<TraceParentHook> = OnceLock::new();

/// Installs the hook; the first installation wins (telemetry is initialised once per process).
pub fn set_hook(hook: TraceParentHook) {
    let _ = HOOK.set(hook);
}

/// Links `span` to `traceparent` through the installed hook, if any.
pub(crate) fn link(span: &tracing::Span, traceparent: &str) {
    if traceparent.is_empty() {
        return;
    }
    if let Some(hook) = HOOK.get() {
        hook(span, traceparent);
    }
}
