//! Layered configuration: built-in defaults, then an optional TOML file, then `DONDOC_*`
//! environment variables.
//!
//! Each service ships its defaults as a TOML string compiled into the binary, so it runs with no
//! file at all (`dondoc up` on a fresh checkout). Operators override selectively with a file, and
//! CI or containers override single values with environment variables without writing files.
//! Nesting uses `__` (e.g. `DONDOC_NATS__URL` sets `nats.url`) because single underscores occur in
//! field names such as `log_filter`.
//!
//! Because every `DONDOC_*` variable becomes a key (e.g. `DONDOC_CACHE_DIR` becomes `cache_dir`),
//! top-level settings structs must not use `#[serde(deny_unknown_fields)]`.

use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use serde::de::DeserializeOwned;

/// Prefix of the environment variables that override configuration.
pub const ENV_PREFIX: &str = "DONDOC";

/// Separator between nesting levels in environment variable names.
pub const ENV_NESTING_SEPARATOR: &str = "__";

/// Errors from loading configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A configuration file was named explicitly but does not exist; silently falling back to
    /// defaults would hide a typo in a deployment.
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    /// Parsing or merging a layer, or deserialising the result, failed.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] config::ConfigError),
}

/// Loads `T` from `defaults` (TOML text), then `file` if given, then `DONDOC_*` variables.
///
/// Later layers win key by key, so a file only needs the values it changes.
pub fn load<T: DeserializeOwned>(file: Option<&Path>, defaults: &str) -> Result<T, ConfigError> {
    load_layers(file, defaults, environment(ENV_PREFIX))
}

/// [`load`] with the `DONDOC_*` variables given instead of read from the process: how a test
/// feeds a deployment's environment (compose's `environment:` blocks) through the same layers
/// and parsing a service's `main` uses, without touching the test process's environment.
pub fn load_with_environment<T: DeserializeOwned>(
    file: Option<&Path>,
    defaults: &str,
    variables: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let variables = variables
        .into_iter()
        .collect::<config::Map<String, String>>();
    load_layers(
        file,
        defaults,
        environment(ENV_PREFIX).source(Some(variables)),
    )
}

/// The environment layer for `prefix`, e.g. `PREFIX_A__B=1` sets `a.b`.
fn environment(prefix: &str) -> Environment {
    Environment::with_prefix(prefix)
        // Without this the prefix would have to be followed by `__` too (`DONDOC__NATS__URL`).
        .prefix_separator("_")
        .separator(ENV_NESTING_SEPARATOR)
        // Environment values are strings; parsing lets `DONDOC_GRPC__PORT=50051` fill a `u16`.
        .try_parsing(true)
}

fn load_layers<T: DeserializeOwned>(
    file: Option<&Path>,
    defaults: &str,
    environment: Environment,
) -> Result<T, ConfigError> {
    let mut builder = Config::builder().add_source(File::from_str(defaults, FileFormat::Toml));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::MissingFile(path.to_path_buf()));
        }
        builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
    }
    let merged = builder.add_source(environment).build()?;
    Ok(merged.try_deserialize()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Settings {
        name: String,
        nats: Nats,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Nats {
        url: String,
        max_retries: u32,
        log_filter: String,
    }

    const DEFAULTS: &str = r#"
        name = "default-name"

        [nats]
        url = "nats://default:4222"
        max_retries = 1
        log_filter = "info"
    "#;

    /// An environment layer fed from a private map, so parallel tests never race on the real
    /// process environment (which edition 2024 also makes `unsafe` to mutate).
    fn fake_environment(vars: &[(&str, &str)]) -> Environment {
        let map = vars
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        environment(ENV_PREFIX).source(Some(map))
    }

    fn write_file(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("dondoc.toml");
        std::fs::write(&path, text).expect("write config file");
        path
    }

    #[test]
    fn defaults_alone_produce_the_settings() {
        let settings: Settings = load_layers(None, DEFAULTS, fake_environment(&[])).expect("loads");

        assert_eq!(settings.name, "default-name");
        assert_eq!(settings.nats.url, "nats://default:4222");
    }

    #[test]
    fn env_override_beats_file_which_beats_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = write_file(
            &dir,
            "name = \"from-file\"\n[nats]\nurl = \"nats://file:4222\"\nmax_retries = 5\n",
        );
        let env = fake_environment(&[
            ("DONDOC_NATS__URL", "nats://env:4222"),
            ("DONDOC_NATS__LOG_FILTER", "debug"),
            ("UNRELATED_NATS__URL", "nats://ignored:1"),
        ]);

        let settings: Settings = load_layers(Some(&file), DEFAULTS, env).expect("loads");

        assert_eq!(
            settings,
            Settings {
                name: "from-file".to_owned(),
                nats: Nats {
                    url: "nats://env:4222".to_owned(),
                    max_retries: 5,
                    log_filter: "debug".to_owned(),
                },
            }
        );
    }

    #[test]
    fn numeric_environment_values_fill_numeric_fields() {
        let env = fake_environment(&[("DONDOC_NATS__MAX_RETRIES", "9")]);

        let settings: Settings = load_layers(None, DEFAULTS, env).expect("loads");

        assert_eq!(settings.nats.max_retries, 9);
    }

    #[test]
    fn numeric_looking_environment_values_still_fill_string_fields() {
        let env = fake_environment(&[("DONDOC_NAME", "12345")]);

        let settings: Settings = load_layers(None, DEFAULTS, env).expect("loads");

        assert_eq!(settings.name, "12345");
    }

    #[test]
    fn a_named_but_missing_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.toml");

        let result = load_layers::<Settings>(Some(&missing), DEFAULTS, fake_environment(&[]));

        assert!(matches!(result, Err(ConfigError::MissingFile(p)) if p == missing));
    }

    #[test]
    fn a_malformed_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = write_file(&dir, "this is = = not toml");

        let result = load_layers::<Settings>(Some(&file), DEFAULTS, fake_environment(&[]));

        assert!(matches!(result, Err(ConfigError::Invalid(_))), "{result:?}");
    }

    #[test]
    fn the_secret_settings_compose_sets_reach_a_flattened_service_section() {
        // A service's section flattens ServiceSettings (e.g. AssignmentSettings), and
        // deploy/docker-compose.yml sets these for each service.
        #[derive(Debug, Deserialize)]
        struct Section {
            #[serde(flatten)]
            service: crate::service::ServiceSettings,
        }
        #[derive(Debug, Deserialize)]
        struct Binary {
            assignment: Section,
            auth: crate::service::AuthSettings,
        }
        const BINARY_DEFAULTS: &str = r#"
            [assignment]
            database_url = "sqlite://data/assignment.db"
            nats_url = "nats://127.0.0.1:4222"
            listen = "0.0.0.0:50051"

            [auth]
            public_key_path = "data/keys/dev-ed25519.pub.pem"
        "#;
        let env = fake_environment(&[
            (
                "DONDOC_ASSIGNMENT__DATABASE_URL",
                "postgres://assignment@postgres:5432/assignment",
            ),
            (
                "DONDOC_ASSIGNMENT__DATABASE_PASSWORD_FILE",
                "/run/secrets/pg-assignment-password",
            ),
            ("DONDOC_ASSIGNMENT__NATS_USER", "assignment"),
            (
                "DONDOC_ASSIGNMENT__NATS_PASSWORD_FILE",
                "/run/secrets/nats-assignment-password",
            ),
            ("DONDOC_ASSIGNMENT__SHUTDOWN_DRAIN", "0s"),
            ("DONDOC_AUTH__AUDIENCE", ""),
        ]);

        let settings: Binary = load_layers(None, BINARY_DEFAULTS, env).expect("loads");

        let service = settings.assignment.service;
        assert_eq!(
            service.database_url,
            "postgres://assignment@postgres:5432/assignment"
        );
        assert_eq!(
            service.database_password_file.as_deref(),
            Some(Path::new("/run/secrets/pg-assignment-password"))
        );
        assert_eq!(service.nats_user.as_deref(), Some("assignment"));
        assert_eq!(
            service.nats_password_file.as_deref(),
            Some(Path::new("/run/secrets/nats-assignment-password"))
        );
        assert_eq!(service.shutdown_drain, std::time::Duration::ZERO);
        // Empty means no audience check (service::load_verifier).
        assert!(
            settings.auth.audience.as_deref().is_none_or(str::is_empty),
            "{:?}",
            settings.auth.audience
        );
    }

    #[test]
    fn without_secret_settings_a_service_has_no_password_files() {
        let service: crate::service::ServiceSettings = load_layers(
            None,
            "database_url = \"sqlite://data/a.db\"\nnats_url = \"nats://127.0.0.1:4222\"\n\
             listen = \"0.0.0.0:0\"\n",
            fake_environment(&[]),
        )
        .expect("loads");

        assert!(service.database_password_file.is_none());
        assert!(service.nats_user.is_none() && service.nats_password_file.is_none());
    }

    #[test]
    fn public_load_reads_defaults() {
        // No DONDOC_TEST_ONLY_* variables exist, so the real environment layer adds nothing
        // for these keys.
        #[derive(Debug, Deserialize)]
        struct Only {
            test_only_marker: String,
        }

        let only: Only = load(None, "test_only_marker = \"x\"").expect("loads");

        assert_eq!(only.test_only_marker, "x");
    }
}
