//! What every call of every service carries besides its body: the AIP-155 request id of a
//! mutation, and the correlation id that ties one user action across several calls.
//!
//! The same rules in every service, so a client library handles all of them alike.

use dondoc_eventsourcing::RequestKey;
use sha2::{Digest, Sha256};
use tonic::Request;

/// Metadata a client may send to tie this call to its own trace of work (one user action
/// across several calls); absent or unusable, each call starts its own correlation.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// Longest accepted `request_id` (and correlation id).
pub const REQUEST_ID_MAX: usize = 100;

/// The correlation id of a call: the client's, or a fresh UUIDv7.
pub fn correlation_id<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get(CORRELATION_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= REQUEST_ID_MAX)
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// Why a `request_id` was refused; the message is the field violation's description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestIdError {
    #[error(
        "is required on every change: a unique id (e.g. a UUID) that a retry of the same request \
         repeats, so that it is applied once (AIP-155)"
    )]
    Missing,
    #[error("at most {REQUEST_ID_MAX} printable characters")]
    Malformed,
}

/// AIP-155: the request id every mutation must carry, and a fingerprint of what it asks.
///
/// The fingerprint covers the RPC, the caller and every other field of the request, so the same
/// id reused by another caller, for another method or with another body is refused rather than
/// answered with somebody else's outcome. A missing id is refused outright: a client that
/// retries a creation without one would create it twice.
pub fn request_key<M: prost::Message + Clone>(
    method: &str,
    subject: &str,
    request_id: &str,
    request: &M,
    clear_id: impl FnOnce(&mut M),
) -> Result<RequestKey, RequestIdError> {
    let request_id = request_id.trim();
    if request_id.is_empty() {
        return Err(RequestIdError::Missing);
    }
    if request_id.chars().count() > REQUEST_ID_MAX || request_id.chars().any(char::is_control) {
        return Err(RequestIdError::Malformed);
    }
    let mut body = request.clone();
    clear_id(&mut body);
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), subject.as_bytes()] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.update(body.encode_to_vec());
    Ok(RequestKey {
        request_id: request_id.to_owned(),
        fingerprint: hex::encode(hasher.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_ignores_the_id_and_tells_methods_callers_and_bodies_apart() {
        let key = |method: &str, subject: &str, id: &str, body: &str| {
            request_key(method, subject, id, &body.to_owned(), |_| {}).expect("valid id")
        };
        let first = key("Acknowledge", "sxd", "r-1", "a");
        assert_eq!(
            first.fingerprint,
            key("Acknowledge", "sxd", "r-2", "a").fingerprint
        );
        assert_ne!(
            first.fingerprint,
            key("Submit", "sxd", "r-1", "a").fingerprint
        );
        assert_ne!(
            first.fingerprint,
            key("Acknowledge", "stc", "r-1", "a").fingerprint
        );
        assert_ne!(
            first.fingerprint,
            key("Acknowledge", "sxd", "r-1", "b").fingerprint
        );
    }

    #[test]
    fn a_missing_or_unprintable_id_is_refused() {
        let refused = |id: &str| request_key("M", "s", id, &String::new(), |_| {}).err();
        assert_eq!(refused("  "), Some(RequestIdError::Missing));
        assert_eq!(refused("a\u{7}b"), Some(RequestIdError::Malformed));
        assert_eq!(refused(&"x".repeat(101)), Some(RequestIdError::Malformed));
    }
}
