//! Bearer tokens for operators: `dondoc token`, and the admin token `dondoc up` leaves in the
//! data directory so that client commands work without any flag on the same machine.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use dondoc_runtime::auth::{Principal, Role, TokenIssuer};

use crate::cli::TokenArgs;
use crate::keys;

/// File under the data directory that holds the admin token of the current `dondoc up` run.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Lifetime of the admin token `dondoc up` writes: an hour, so a copy that leaks stops working
/// soon; `dondoc up` writes a fresh one every half hour while it runs.
pub const ADMIN_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// How often `dondoc up` replaces the admin token: well before it expires.
pub const ADMIN_TOKEN_REFRESH: Duration = Duration::from_secs(30 * 60);

/// The longest admin token `dondoc token` mints: a working day. Other roles get up to 31 days.
pub const MAX_ADMIN_TTL_HOURS: u64 = 12;

/// The principal of the admin token.
pub fn admin() -> Principal {
    Principal {
        subject: "admin".to_owned(),
        role: Role::Admin,
        unit_code: None,
        leader_id: None,
    }
}

/// `<data>/admin.token`.
pub fn admin_token_path(data_dir: &Path) -> PathBuf {
    data_dir.join(ADMIN_TOKEN_FILE)
}

/// Writes `token` to `<data>/admin.token`, readable by the owner only (it is a credential).
pub fn write_admin_token(data_dir: &Path, token: &str) -> anyhow::Result<PathBuf> {
    let path = admin_token_path(data_dir);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // `mode` only applies when the file is created; tighten a file left by an older run too.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict permissions of {}", path.display()))?;
    writeln!(file, "{token}").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Reads the admin token that `dondoc up` wrote into `data_dir`.
pub fn read_admin_token(data_dir: &Path) -> anyhow::Result<String> {
    let path = admin_token_path(data_dir);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no token: pass --token, set DONDOC_TOKEN, or start `dondoc up` so that {} exists",
            path.display()
        )
    })?;
    let token = text.trim();
    if token.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(token.to_owned())
}

/// `dondoc token`: prints only the token, so `$(dondoc token …)` can be used in scripts.
pub fn run(args: &TokenArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let ttl_hours = match (args.role, args.ttl_hours) {
        (Role::Admin, Some(hours)) if hours > MAX_ADMIN_TTL_HOURS => bail!(
            "--ttl-hours {hours} is too long for an admin token (at most {MAX_ADMIN_TTL_HOURS})"
        ),
        (_, Some(hours)) => hours,
        (Role::Admin, None) => 1,
        (_, None) => 12,
    };
    let private_pem = match &args.private_key {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the private key {}", path.display()))?,
        None => keys::load_private(&args.data_dir)?,
    };
    let mut issuer = TokenIssuer::from_private_pem(&private_pem)
        .context("invalid private key (expected PKCS#8 PEM Ed25519)")?
        .with_audience(args.aud.clone());
    if let Some(kid) = &args.kid {
        issuer = issuer.with_kid(kid.clone());
    }
    let principal = Principal {
        subject: args
            .subject
            .clone()
            .unwrap_or_else(|| args.role.as_str().to_owned()),
        role: args.role,
        unit_code: args.unit.clone(),
        leader_id: args.leader.clone(),
    };
    let ttl = Duration::from_secs(ttl_hours.saturating_mul(3600));
    let token = issuer
        .mint(&principal, ttl)
        .context("cannot mint the token (the unit role needs --unit, the leader role --leader)")?;
    writeln!(out, "{token}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_args(data_dir: &Path, role: Role) -> TokenArgs {
        TokenArgs {
            role,
            subject: None,
            unit: None,
            leader: None,
            ttl_hours: Some(1),
            data_dir: data_dir.to_path_buf(),
            private_key: None,
            kid: None,
            aud: None,
        }
    }

    #[test]
    fn minted_token_verifies_with_the_data_dir_key_and_defaults_the_subject() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = keys::load_or_generate(dir.path()).expect("keys");
        let mut args = token_args(dir.path(), Role::Unit);
        args.unit = Some("SXD".to_owned());
        let mut out = Vec::new();

        run(&args, &mut out).expect("mints");

        let token = String::from_utf8(out).expect("utf-8");
        let principal = keys
            .verifier()
            .expect("verifier")
            .verify(token.trim())
            .expect("verifies");
        assert_eq!(principal.subject, "unit");
        assert_eq!(principal.unit_code.as_deref(), Some("SXD"));
        assert_eq!(token.lines().count(), 1);
    }

    #[test]
    fn a_unit_token_without_a_unit_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        keys::load_or_generate(dir.path()).expect("keys");

        let error =
            run(&token_args(dir.path(), Role::Unit), &mut Vec::new()).expect_err("must be refused");

        assert!(format!("{error:#}").contains("--unit"), "{error:#}");
    }

    #[test]
    fn admin_token_round_trips_through_its_file_with_owner_only_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");

        let path = write_admin_token(dir.path(), "abc.def.ghi").expect("writes");

        assert_eq!(read_admin_token(dir.path()).expect("reads"), "abc.def.ghi");
        let mode = std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_missing_admin_token_explains_the_alternatives() {
        let dir = tempfile::tempdir().expect("tempdir");

        let error = read_admin_token(dir.path()).expect_err("missing");

        assert!(format!("{error:#}").contains("DONDOC_TOKEN"), "{error:#}");
    }

    #[test]
    fn a_token_can_name_its_key_and_deployment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = keys::load_or_generate(dir.path()).expect("keys");
        let mut args = token_args(dir.path(), Role::Office);
        args.kid = Some("2026-12".to_owned());
        args.aud = Some("haiphong-prod".to_owned());
        let mut out = Vec::new();

        run(&args, &mut out).expect("mints");

        let token = String::from_utf8(out).expect("utf-8");
        let header = jsonwebtoken::decode_header(token.trim()).expect("header");
        assert_eq!(header.kid.as_deref(), Some("2026-12"));
        let verifier = |audience| {
            dondoc_runtime::auth::TokenVerifier::from_public_pems([(
                "2026-12".to_owned(),
                keys.public_pem.clone(),
            )])
            .expect("verifier")
            .with_audience(audience)
        };
        assert!(verifier(Some("haiphong-prod")).verify(token.trim()).is_ok());
        assert!(
            verifier(Some("haiphong-test"))
                .verify(token.trim())
                .is_err()
        );
        let unnamed = keys.verifier().expect("verifier");
        assert!(
            unnamed.verify(token.trim()).is_err(),
            "a key listed under another name does not check a token naming its kid"
        );
    }

    #[test]
    fn an_admin_token_lives_an_hour_unless_asked_and_never_more_than_a_working_day() {
        let dir = tempfile::tempdir().expect("tempdir");
        keys::load_or_generate(dir.path()).expect("keys");
        let mut args = token_args(dir.path(), Role::Admin);
        args.ttl_hours = Some(13);

        let error = run(&args, &mut Vec::new()).expect_err("too long");

        assert!(format!("{error:#}").contains("--ttl-hours 13"), "{error:#}");
        assert_eq!(ADMIN_TOKEN_TTL, Duration::from_secs(3600));
    }
}
