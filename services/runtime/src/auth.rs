//! Who is calling: roles, principals, and the bearer tokens that carry them.
//!
//! Every gRPC call into a dondoc service carries `authorization: Bearer <jwt>`. The token is an
//! Ed25519-signed (EdDSA) JWT so that only the issuer holds the private key while every service
//! verifies with the public key alone; a compromised service cannot mint tokens for others.
//! Verification happens once, in [`AuthInterceptor`], which puts the resulting [`Principal`] into
//! the request extensions; handlers then call [`principal`] and make authorisation decisions on
//! typed data instead of re-parsing headers.
//!
//! Invariants that the domain relies on are enforced at this boundary: a `unit` token always names
//! its unit and a `leader` token always names its leader, so handlers never have to handle a
//! unit officer "of no unit".

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::clock::{SharedClock, SystemClock};

/// The `iss` claim of every dondoc token; tokens from any other issuer are rejected.
pub const ISSUER: &str = "dondoc";

/// Tolerated clock difference between the issuer and a verifier when checking `exp`.
///
/// Services run on one host or a few hosts kept in sync by NTP, so a small leeway suffices; a
/// large one would keep revoked-by-expiry tokens alive longer.
const EXP_LEEWAY_SECONDS: u64 = 30;

/// Errors from minting, verifying or parsing auth data.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The private key PEM is not a PKCS#8 Ed25519 key.
    #[error("invalid Ed25519 private key (expected PKCS#8 PEM): {0}")]
    InvalidPrivateKey(#[source] jsonwebtoken::errors::Error),
    /// The public key PEM is not an SPKI Ed25519 key.
    #[error("invalid Ed25519 public key (expected SPKI PEM): {0}")]
    InvalidPublicKey(#[source] jsonwebtoken::errors::Error),
    /// Generating or encoding a development key pair failed.
    #[error("could not encode generated key pair: {0}")]
    KeyEncoding(String),
    /// Signing a token failed.
    #[error("could not sign token: {0}")]
    Signing(#[source] jsonwebtoken::errors::Error),
    /// The token's `exp` is in the past.
    #[error("token has expired")]
    Expired,
    /// The token was not signed by the expected key.
    #[error("token signature is invalid")]
    BadSignature,
    /// The token is malformed, uses another algorithm or issuer, or lacks required claims.
    #[error("token is invalid: {0}")]
    InvalidToken(#[source] jsonwebtoken::errors::Error),
    /// A `unit` principal must name its unit.
    #[error("a unit-role principal must carry a unit code")]
    MissingUnitClaim,
    /// A `leader` principal must name the leader.
    #[error("a leader-role principal must carry a leader id")]
    MissingLeaderClaim,
    /// A role string that is not one of the known roles.
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    /// A token TTL too large to represent as a timestamp.
    #[error("token lifetime {0:?} is too long")]
    TtlTooLong(Duration),
}

/// What a caller is allowed to do in the document-assignment workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A Committee leader (chairman or vice-chairman) who directs documents.
    Leader,
    /// Office clerks who register incoming documents and draft assignments.
    Office,
    /// An officer of an executing unit (department, ward, agency).
    Unit,
    /// The Department of Home Affairs (Sở Nội vụ), which gives its opinion on discipline
    /// proposals.
    HomeAffairs,
    /// System administrators.
    Admin,
}

impl Role {
    /// All roles, in a stable order (handy for CLIs and exhaustive tests).
    pub const ALL: [Role; 5] = [
        Role::Leader,
        Role::Office,
        Role::Unit,
        Role::HomeAffairs,
        Role::Admin,
    ];

    /// The wire name used in JWT claims and configuration (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Office => "office",
            Role::Unit => "unit",
            Role::HomeAffairs => "home_affairs",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| AuthError::UnknownRole(s.to_owned()))
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Stable user identifier (the JWT `sub`).
    pub subject: String,
    /// The caller's role.
    pub role: Role,
    /// The executing unit the caller belongs to; always present for [`Role::Unit`].
    pub unit_code: Option<String>,
    /// The leader the caller is or acts for; always present for [`Role::Leader`].
    pub leader_id: Option<String>,
}

impl Principal {
    /// Checks the role-specific invariants (unit officers name a unit, leaders a leader id).
    pub fn validate(&self) -> Result<(), AuthError> {
        match self.role {
            Role::Unit if self.unit_code.is_none() => Err(AuthError::MissingUnitClaim),
            Role::Leader if self.leader_id.is_none() => Err(AuthError::MissingLeaderClaim),
            _ => Ok(()),
        }
    }
}

/// The JWT claim set of a dondoc token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the user identifier.
    pub sub: String,
    /// The caller's role.
    pub role: Role,
    /// Unit code, for unit-role callers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Leader id, for leader-role callers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    /// Issued-at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issuer; always [`ISSUER`].
    pub iss: String,
    /// Audience: the deployment the token is for, when deployments set one (a token of the
    /// test installation must not open the production one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

impl Claims {
    fn into_principal(self) -> Result<Principal, AuthError> {
        let principal = Principal {
            subject: self.sub,
            role: self.role,
            // Unit codes are upper-case everywhere in dondoc ("SXD"); a token minted with
            // "sxd" must still name the same unit.
            unit_code: self
                .unit
                .map(|unit| unit.trim().to_ascii_uppercase())
                .filter(|unit| !unit.is_empty()),
            leader_id: self.leader.filter(|leader| !leader.trim().is_empty()),
        };
        principal.validate()?;
        Ok(principal)
    }
}

/// Mints tokens with the Ed25519 private key. Only the identity-issuing component holds one.
pub struct TokenIssuer {
    key: EncodingKey,
    clock: SharedClock,
    /// Named in the token header so verifiers holding several keys pick the right one.
    kid: Option<String>,
    audience: Option<String>,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is deliberately omitted so it cannot leak into logs.
        f.debug_struct("TokenIssuer")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// Builds an issuer from a PKCS#8 PEM Ed25519 private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_private_pem(private_key_pem: &str) -> Result<Self, AuthError> {
        let key = EncodingKey::from_ed_pem(private_key_pem.as_bytes())
            .map_err(AuthError::InvalidPrivateKey)?;
        Ok(Self {
            key,
            clock: SystemClock::shared(),
            kid: None,
            audience: None,
        })
    }

    /// Names the signing key in every token's `kid` header (key rotation: verifiers select the
    /// public key by it).
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into()).filter(|kid: &String| !kid.is_empty());
        self
    }

    /// Mints tokens for this deployment only (`aud`).
    pub fn with_audience(mut self, audience: Option<String>) -> Self {
        self.audience = audience.filter(|aud| !aud.trim().is_empty());
        self
    }

    /// Uses `clock` for `iat`/`exp`, so tests can mint tokens that are already expired.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Mints a token for `principal`, valid for `ttl` from now.
    pub fn mint(&self, principal: &Principal, ttl: Duration) -> Result<String, AuthError> {
        principal.validate()?;
        let iat = u64::try_from(self.clock.now().timestamp()).unwrap_or(0);
        let exp = iat
            .checked_add(ttl.as_secs())
            .ok_or(AuthError::TtlTooLong(ttl))?;
        let claims = Claims {
            sub: principal.subject.clone(),
            role: principal.role,
            unit: principal.unit_code.clone(),
            leader: principal.leader_id.clone(),
            iat,
            exp,
            iss: ISSUER.to_owned(),
            aud: self.audience.clone(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(AuthError::Signing)
    }
}

/// Verifies tokens with the Ed25519 public key. Every service holds one.
pub struct TokenVerifier {
    /// The trusted public keys by `kid`. Several during a rotation; swapped whole by
    /// [`TokenVerifier::replace_keys`] when the key files change.
    keys: std::sync::RwLock<Vec<(String, DecodingKey)>>,
    validation: Validation,
    /// Expiry is judged against this clock (not inside jsonwebtoken against the system time),
    /// so it follows the same time source as the rest of the service.
    clock: SharedClock,
    /// Tokens already verified, with their principal and expiry. A client sends the same token
    /// with every call, and an Ed25519 verification costs tens of microseconds — more than the
    /// rest of a cheap read. Caching until expiry changes nothing a token can do: tokens are not
    /// revocable anyway (their lifetime is capped instead).
    verified: std::sync::Mutex<HashMap<String, (Principal, u64)>>,
}

/// Verified tokens remembered at most; the cache is emptied when full (simpler than an LRU,
/// and a working set larger than this is not a cache's job).
const VERIFIED_CACHE_CAPACITY: usize = 4096;

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier").finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// Builds a verifier from an SPKI PEM Ed25519 public key (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_public_pem(public_key_pem: &str) -> Result<Self, AuthError> {
        Self::from_public_pems([(String::new(), public_key_pem.to_owned())])
    }

    /// Builds a verifier from several `(kid, SPKI PEM)` keys: a token naming a `kid` is checked
    /// with that key only; a token naming none (minted before rotation existed) with any.
    pub fn from_public_pems(
        keys: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, AuthError> {
        // Pinning the algorithm list to EdDSA blocks algorithm-confusion attacks (`alg: none`,
        // or HMAC keyed with the public key).
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        Ok(Self {
            keys: std::sync::RwLock::new(decoding_keys(keys)?),
            validation,
            clock: Arc::new(SystemClock),
            verified: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Accepts only tokens minted for `audience` (their `aud`), when it is set.
    pub fn with_audience(mut self, audience: Option<&str>) -> Self {
        match audience.map(str::trim).filter(|aud| !aud.is_empty()) {
            Some(audience) => {
                self.validation.set_audience(&[audience]);
                self.validation.validate_aud = true;
                self.validation
                    .set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
            }
            None => self.validation.validate_aud = false,
        }
        self
    }

    /// Swaps the trusted keys (a key added for a rotation, or an old one removed) and forgets
    /// every token verified so far, so a removed key's tokens stop working at once.
    pub fn replace_keys(
        &self,
        keys: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), AuthError> {
        let keys = decoding_keys(keys)?;
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        Ok(())
    }

    /// The `kid`s of the trusted keys.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(kid, _)| kid.clone())
            .collect()
    }

    /// Judges expiry by `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Verifies `bearer_token` (the bare JWT, without the `Bearer ` prefix) and returns its
    /// principal.
    pub fn verify(&self, bearer_token: &str) -> Result<Principal, AuthError> {
        let now = u64::try_from(self.clock.now().timestamp()).unwrap_or(0);
        let mut verified = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((principal, exp)) = verified.get(bearer_token) {
            if exp.saturating_add(EXP_LEEWAY_SECONDS) >= now {
                return Ok(principal.clone());
            }
            verified.remove(bearer_token);
            return Err(AuthError::Expired);
        }
        drop(verified);
        let (principal, exp) = self.verify_signature(bearer_token, now)?;
        let mut verified = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if verified.len() >= VERIFIED_CACHE_CAPACITY {
            verified.clear();
        }
        verified.insert(bearer_token.to_owned(), (principal.clone(), exp));
        Ok(principal)
    }

    fn verify_signature(
        &self,
        bearer_token: &str,
        now: u64,
    ) -> Result<(Principal, u64), AuthError> {
        let header = jsonwebtoken::decode_header(bearer_token).map_err(AuthError::InvalidToken)?;
        let keys = self
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A named key must be trusted; an unnamed token may match any trusted key.
        let candidates: Vec<&DecodingKey> = match header.kid.as_deref() {
            Some(kid) => keys
                .iter()
                .filter(|(id, _)| id == kid)
                .map(|(_, key)| key)
                .collect(),
            None => keys.iter().map(|(_, key)| key).collect(),
        };
        let mut outcome = Err(AuthError::BadSignature);
        for key in candidates {
            outcome = jsonwebtoken::decode::<Claims>(bearer_token, key, &self.validation).map_err(
                |err| match err.kind() {
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    ErrorKind::InvalidSignature => AuthError::BadSignature,
                    _ => AuthError::InvalidToken(err),
                },
            );
            if !matches!(outcome, Err(AuthError::BadSignature)) {
                break;
            }
        }
        drop(keys);
        let data = outcome?;
        if data.claims.exp.saturating_add(EXP_LEEWAY_SECONDS) < now {
            return Err(AuthError::Expired);
        }
        let exp = data.claims.exp;
        Ok((data.claims.into_principal()?, exp))
    }
}

fn decoding_keys(
    keys: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(String, DecodingKey)>, AuthError> {
    keys.into_iter()
        .map(|(kid, pem)| {
            DecodingKey::from_ed_pem(pem.as_bytes())
                .map(|key| (kid, key))
                .map_err(AuthError::InvalidPublicKey)
        })
        .collect()
}

/// Generates a fresh Ed25519 key pair for development and tests.
///
/// Returns `(private PKCS#8 PEM, public SPKI PEM)`. Production keys are provisioned out of band;
/// this exists so `dondoc up` and the test suites work on a fresh machine with no secrets.
pub fn generate_dev_keypair() -> Result<(String, String), AuthError> {
    let signing_key = SigningKey::generate(&mut rand::rngs::OsRng);
    let private_pem = signing_key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|err| AuthError::KeyEncoding(err.to_string()))?;
    let public_pem = signing_key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|err| AuthError::KeyEncoding(err.to_string()))?;
    Ok((private_pem.to_string(), public_pem))
}

/// Server-side tonic interceptor: authenticates every call and stores the [`Principal`] in the
/// request extensions.
///
/// Wrap each authenticated service with it, e.g.
/// `InterceptedService::new(MyServer::new(svc), AuthInterceptor::new(verifier))`. Health and
/// reflection stay unauthenticated so probes and `grpcurl` work without a token.
#[derive(Clone, Debug)]
pub struct AuthInterceptor {
    verifier: Arc<TokenVerifier>,
}

impl AuthInterceptor {
    /// An interceptor that verifies with `verifier`.
    pub fn new(verifier: Arc<TokenVerifier>) -> Self {
        Self { verifier }
    }
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let header = request.metadata().get("authorization").ok_or_else(|| {
            Status::unauthenticated("missing `authorization: Bearer <token>` metadata")
        })?;
        let header = header
            .to_str()
            .map_err(|_| Status::unauthenticated("`authorization` metadata is not valid ASCII"))?;
        let token = strip_bearer(header).ok_or_else(|| {
            Status::unauthenticated("`authorization` metadata must use the `Bearer <token>` scheme")
        })?;
        let principal = self.verifier.verify(token).map_err(|err| {
            tracing::debug!(error = %err, "rejected bearer token");
            Status::unauthenticated(format!("invalid bearer token: {err}"))
        })?;
        request.extensions_mut().insert(principal);
        Ok(request)
    }
}

/// Returns the token of a `Bearer <token>` header; the scheme is case-insensitive (RFC 7235).
fn strip_bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The principal that [`AuthInterceptor`] attached to `request`.
///
/// Returns `UNAUTHENTICATED` when absent, which means the service was mounted without the
/// interceptor; failing closed is the safe reaction to that wiring mistake.
pub fn principal<T>(request: &Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("request carries no authenticated principal"))
}

/// Client-side tonic interceptor that attaches `authorization: Bearer <token>` to every call.
///
/// Used by the CLI and tests: `MyClient::with_interceptor(channel, BearerToken::new(token))`.
#[derive(Clone)]
pub struct BearerToken(String);

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are credentials; never print them.
        f.write_str("BearerToken(..)")
    }
}

impl BearerToken {
    /// Wraps a bare JWT.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The bare JWT.
    pub fn token(&self) -> &str {
        &self.0
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let value: MetadataValue<_> = format!("Bearer {}", self.0)
            .parse()
            .map_err(|_| Status::invalid_argument("bearer token is not valid ASCII metadata"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn a_unit_code_in_a_token_is_read_in_upper_case() {
        let (private, public) = generate_dev_keypair().expect("keys");
        let issuer = TokenIssuer::from_private_pem(&private).expect("issuer");
        let verifier = TokenVerifier::from_public_pem(&public).expect("verifier");
        let token = issuer
            .mint(
                &Principal {
                    subject: "officer".into(),
                    role: Role::Unit,
                    unit_code: Some(" sxd ".into()),
                    leader_id: None,
                },
                Duration::from_secs(60),
            )
            .expect("mint");

        let principal = verifier.verify(&token).expect("verify");

        assert_eq!(principal.unit_code.as_deref(), Some("SXD"));
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn keypair() -> (String, String) {
        generate_dev_keypair().expect("key generation works")
    }

    fn unit_officer() -> Principal {
        Principal {
            subject: "nguyen.van.a".to_owned(),
            role: Role::Unit,
            unit_code: Some("SO-TNMT".to_owned()),
            leader_id: None,
        }
    }

    fn leader() -> Principal {
        Principal {
            subject: "chu.tich".to_owned(),
            role: Role::Leader,
            unit_code: None,
            leader_id: Some("CT".to_owned()),
        }
    }

    fn issuer_and_verifier() -> (TokenIssuer, TokenVerifier) {
        let (private_pem, public_pem) = keypair();
        (
            TokenIssuer::from_private_pem(&private_pem).expect("private key parses"),
            TokenVerifier::from_public_pem(&public_pem).expect("public key parses"),
        )
    }

    /// Signs arbitrary claims, bypassing the issuer's own invariant checks.
    fn sign_raw(private_pem: &str, claims: &serde_json::Value) -> String {
        let key = EncodingKey::from_ed_pem(private_pem.as_bytes()).expect("private key parses");
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &key).expect("signs")
    }

    fn now_secs() -> u64 {
        u64::try_from(chrono::Utc::now().timestamp()).expect("after 1970")
    }

    #[test]
    fn minted_token_verifies_back_to_the_same_principal() {
        let (issuer, verifier) = issuer_and_verifier();

        let token = issuer.mint(&unit_officer(), HOUR).expect("mints");
        let verified = verifier.verify(&token).expect("verifies");

        assert_eq!(verified, unit_officer());
    }

    #[test]
    fn leader_token_round_trips_with_its_leader_id() {
        let (issuer, verifier) = issuer_and_verifier();

        let token = issuer.mint(&leader(), HOUR).expect("mints");

        assert_eq!(verifier.verify(&token).expect("verifies"), leader());
    }

    #[test]
    fn expired_token_is_rejected() {
        let (issuer, verifier) = issuer_and_verifier();
        let clock = Arc::new(ManualClock::at(
            chrono::DateTime::parse_from_rfc3339("2026-11-28T02:00:00Z")
                .expect("time")
                .to_utc(),
        ));
        let issuer = issuer.with_clock(clock.clone());
        let verifier = verifier.with_clock(clock.clone());
        let token = issuer.mint(&unit_officer(), HOUR).expect("mints");
        assert!(verifier.verify(&token).is_ok(), "valid within the hour");

        clock.advance(chrono::Duration::hours(2));
        let result = verifier.verify(&token);

        assert!(matches!(result, Err(AuthError::Expired)), "{result:?}");
        assert!(
            matches!(verifier.verify(&token), Err(AuthError::Expired)),
            "an expired token is not served from the cache of verified tokens either"
        );
    }

    #[test]
    fn a_token_is_verified_once_and_remembered_until_it_expires() {
        let (issuer, verifier) = issuer_and_verifier();
        let token = issuer.mint(&leader(), HOUR).expect("mints");
        // Another signature: its first character changed (all six bits of it are significant).
        let signature_at = token.rfind('.').expect("three parts") + 1;
        let replacement = if token[signature_at..].starts_with('A') {
            "B"
        } else {
            "A"
        };
        let forged = format!(
            "{}{replacement}{}",
            &token[..signature_at],
            &token[signature_at + 1..]
        );

        let first = verifier.verify(&token).expect("verifies");
        let again = verifier.verify(&token).expect("from the cache");

        assert_eq!(first, again);
        assert_eq!(verifier.verified.lock().expect("lock").len(), 1);
        assert!(
            verifier.verify(&forged).is_err(),
            "only the exact token verified is remembered"
        );
    }

    #[test]
    fn token_signed_by_another_key_is_rejected() {
        let (issuer, _) = issuer_and_verifier();
        let (_, other_verifier) = issuer_and_verifier();
        let token = issuer.mint(&unit_officer(), HOUR).expect("mints");

        let result = other_verifier.verify(&token);

        assert!(matches!(result, Err(AuthError::BadSignature)), "{result:?}");
    }

    #[test]
    fn token_from_another_issuer_is_rejected() {
        let (private_pem, public_pem) = keypair();
        let verifier = TokenVerifier::from_public_pem(&public_pem).expect("parses");
        let token = sign_raw(
            &private_pem,
            &serde_json::json!({
                "sub": "x", "role": "office", "iat": now_secs(),
                "exp": now_secs() + 3600, "iss": "someone-else"
            }),
        );

        let result = verifier.verify(&token);

        assert!(
            matches!(result, Err(AuthError::InvalidToken(_))),
            "{result:?}"
        );
    }

    #[test]
    fn unit_token_without_unit_claim_is_rejected() {
        let (private_pem, public_pem) = keypair();
        let verifier = TokenVerifier::from_public_pem(&public_pem).expect("parses");
        let token = sign_raw(
            &private_pem,
            &serde_json::json!({
                "sub": "x", "role": "unit", "iat": now_secs(),
                "exp": now_secs() + 3600, "iss": ISSUER
            }),
        );

        let result = verifier.verify(&token);

        assert!(
            matches!(result, Err(AuthError::MissingUnitClaim)),
            "{result:?}"
        );
    }

    #[test]
    fn leader_token_without_leader_claim_is_rejected() {
        let (private_pem, public_pem) = keypair();
        let verifier = TokenVerifier::from_public_pem(&public_pem).expect("parses");
        let token = sign_raw(
            &private_pem,
            &serde_json::json!({
                "sub": "x", "role": "leader", "iat": now_secs(),
                "exp": now_secs() + 3600, "iss": ISSUER
            }),
        );

        let result = verifier.verify(&token);

        assert!(
            matches!(result, Err(AuthError::MissingLeaderClaim)),
            "{result:?}"
        );
    }

    #[test]
    fn token_with_another_algorithm_is_rejected() {
        let (_, public_pem) = keypair();
        let verifier = TokenVerifier::from_public_pem(&public_pem).expect("parses");
        let claims = serde_json::json!({
            "sub": "x", "role": "admin", "iat": now_secs(),
            "exp": now_secs() + 3600, "iss": ISSUER
        });
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(public_pem.as_bytes()).expect("hmac key"),
        )
        .expect("signs");

        assert!(verifier.verify(&token).is_err());
    }

    #[test]
    fn issuer_refuses_to_mint_a_unit_token_without_a_unit() {
        let (issuer, _) = issuer_and_verifier();
        let mut principal = unit_officer();
        principal.unit_code = None;

        let result = issuer.mint(&principal, HOUR);

        assert!(
            matches!(result, Err(AuthError::MissingUnitClaim)),
            "{result:?}"
        );
    }

    #[test]
    fn role_parses_from_its_wire_name() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().expect("parses"), role);
        }
        assert!(matches!(
            "mayor".parse::<Role>(),
            Err(AuthError::UnknownRole(_))
        ));
    }

    #[test]
    fn role_serialises_as_snake_case() {
        let json = serde_json::to_string(&Role::HomeAffairs).expect("serialises");

        assert_eq!(json, "\"home_affairs\"");
    }

    #[test]
    fn interceptor_rejects_a_request_without_authorization_header() {
        let (_, verifier) = issuer_and_verifier();
        let mut interceptor = AuthInterceptor::new(Arc::new(verifier));

        let result = interceptor.call(Request::new(()));

        let status = result.expect_err("must be rejected");
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        assert!(
            status.message().contains("authorization"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn interceptor_rejects_a_garbage_token() {
        let (_, verifier) = issuer_and_verifier();
        let mut interceptor = AuthInterceptor::new(Arc::new(verifier));
        let request = BearerToken::new("not-a-jwt")
            .call(Request::new(()))
            .expect("header attaches");

        let status = interceptor.call(request).expect_err("must be rejected");

        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn interceptor_attaches_the_principal_for_a_valid_token() {
        let (issuer, verifier) = issuer_and_verifier();
        let token = issuer.mint(&unit_officer(), HOUR).expect("mints");
        let mut interceptor = AuthInterceptor::new(Arc::new(verifier));
        let request = BearerToken::new(token)
            .call(Request::new(()))
            .expect("header attaches");

        let request = interceptor.call(request).expect("accepted");

        assert_eq!(principal(&request).expect("present"), unit_officer());
    }

    #[test]
    fn principal_is_unauthenticated_when_the_interceptor_did_not_run() {
        let status = principal(&Request::new(())).expect_err("absent");

        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(strip_bearer("bearer abc"), Some("abc"));
        assert_eq!(strip_bearer("Bearer  abc "), Some("abc"));
        assert_eq!(strip_bearer("Basic abc"), None);
        assert_eq!(strip_bearer("Bearer "), None);
    }
}
