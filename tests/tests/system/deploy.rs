//! The deployment files under `deploy/`, checked without Docker.
//!
//! No Docker engine runs where the tests do, so `docker-compose.yml` is never started here.
//! Instead these tests parse it (YAML merge keys applied, as Compose does) together with the
//! Dockerfile, `.env.example`, `postgres/init.sh`, `nats/nats.conf`, `otel/collector.yaml` and
//! `alerts/dondoc.rules.yml`, and hold them to the invariants the design asks of a deployment
//! (design §3.2, §3.7): one database and one login role per service, the pinned nats-server
//! with fsync on every write and one user per service, no password in any setting (compose
//! secrets, each mounted only where needed), healthchecks that gate start-up, telemetry off the
//! start path, one image built once, hardened containers (read-only, limited, numeric non-root
//! user) with rotated logs, every port published on loopback by default (no TLS yet), every
//! setting documented, and alert rules on metrics the services really export.
//! Some files also run: `nats/nats.conf` under the pinned nats-server (through
//! `nats/entrypoint.sh`, as in the container), where each service's user is tried with the
//! real client; `postgres/init.sh` against the test PostgreSQL server when there is one
//! (`DONDOC_TEST_POSTGRES_URL`), where each role is tried; and the README's key and secret
//! commands, to prove no container can read the private key. (The compose schema and the
//! Dockerfile lint are CI's: `.ci/run` runs check-jsonschema and hadolint.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dondoc_eventsourcing::relay::RelayConfig;
use dondoc_runtime::auth::{Principal, Role, TokenIssuer, TokenVerifier};
use dondoc_runtime::lifecycle::NatsCredentials;
use dondoc_runtime::nats::{PINNED_NATS_SERVER_VERSION, locate_or_install};
use dondoc_runtime::service::ServiceSettings;
use serde_yaml_ng::{Mapping, Value};

/// Every service of the design (§3), each of which gets a database even before it has a
/// container.
const DESIGNED_SERVICES: [&str; 5] = [
    "assignment",
    "progress",
    "escalation",
    "discipline",
    "reporting",
];

/// Service-level extension field that states why a long-running service has no healthcheck.
const HEALTHCHECK_EXEMPT: &str = "x-healthcheck-exempt";

/// Repository of the image deploy/Dockerfile builds, which every dondoc service runs.
const DONDOC_IMAGE: &str = "dondoc";

/// The telemetry containers: useful, but nothing a dondoc service needs in order to serve.
const TELEMETRY_SERVICES: [&str; 2] = ["otel-collector", "jaeger"];

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(relative: &str) -> String {
    let path = deploy_dir().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// docker-compose.yml with `<<` merge keys applied, as Compose sees it.
fn compose() -> Value {
    let mut value: Value =
        serde_yaml_ng::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML");
    value
        .apply_merge()
        .expect("docker-compose.yml merge keys are valid");
    value
}

fn services(compose: &Value) -> Vec<(String, &Value)> {
    let services = compose
        .get("services")
        .and_then(Value::as_mapping)
        .expect("docker-compose.yml has a services mapping");
    services
        .iter()
        .map(|(name, service)| {
            let name = name.as_str().expect("service names are strings").to_owned();
            (name, service)
        })
        .collect()
}

fn compose_service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose
        .get("services")
        .and_then(|services| services.get(name))
        .unwrap_or_else(|| panic!("docker-compose.yml has no service {name}"))
}

/// Whether `service` runs the image deploy/Dockerfile builds (`dondoc:<tag>`, any tag).
fn runs_dondoc_image(service: &Value) -> bool {
    service
        .get("image")
        .and_then(Value::as_str)
        .map(with_defaults)
        .is_some_and(|image| {
            let repository = image
                .rsplit_once(':')
                .map_or(image.as_str(), |(repo, _)| repo);
            repository == DONDOC_IMAGE
        })
}

/// The services that run the dondoc image: dondoc's own binaries.
fn dondoc_services(compose: &Value) -> Vec<(String, &Value)> {
    let dondoc: Vec<_> = services(compose)
        .into_iter()
        .filter(|(_, service)| runs_dondoc_image(service))
        .collect();
    let names: BTreeSet<&str> = dondoc.iter().map(|(name, _)| name.as_str()).collect();
    for expected in [
        "assignment",
        "reporting",
        "progress",
        "escalation",
        "discipline",
    ] {
        assert!(
            names.contains(expected),
            "docker-compose.yml must run the {expected} service on the {DONDOC_IMAGE} image; \
             it runs {names:?} on it"
        );
    }
    dondoc
}

/// The one service that builds an image, and its `build` section. Two services building the
/// same tag make Compose 2.37 and later (which builds through `buildx bake`) export both
/// targets to it at once, which fails on a clean machine ("image … already exists").
fn image_builder(compose: &Value) -> (String, &Value) {
    let builders: Vec<(String, &Value)> = services(compose)
        .into_iter()
        .filter_map(|(name, service)| Some((name, service.get("build")?)))
        .collect();
    match builders.as_slice() {
        [(name, build)] => (name.clone(), *build),
        _ => {
            let names: Vec<&str> = builders.iter().map(|(name, _)| name.as_str()).collect();
            panic!("exactly one service must build the image, not {names:?}")
        }
    }
}

/// `depends_on` of a service as (dependency, condition) pairs; the short form (a list of
/// names) has no condition, which Compose takes as `service_started`.
fn depends_on(service: &Value) -> Vec<(&str, Option<&str>)> {
    match service.get("depends_on") {
        None => Vec::new(),
        Some(Value::Sequence(names)) => names
            .iter()
            .map(|name| (name.as_str().expect("depends_on entries are names"), None))
            .collect(),
        Some(Value::Mapping(map)) => map
            .iter()
            .map(|(name, spec)| {
                let name = name.as_str().expect("depends_on keys are names");
                (name, spec.get("condition").and_then(Value::as_str))
            })
            .collect(),
        Some(other) => panic!("unexpected depends_on {other:?}"),
    }
}

/// The strings of the list `key` of `service` (empty if it has none).
fn strings<'a>(service: &'a Value, key: &str) -> Vec<&'a str> {
    service
        .get(key)
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// A scalar's text, as written (`"10m"`, `5`, `true`); `None` for anything else.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The Compose setting `key` of `service` with no variable set, if it is a positive quantity
/// (`512m`, `1.0`, `256`); 0 and -1, which mean "unlimited" for some keys, are not.
fn positive_quantity(service: &Value, key: &str) -> Option<String> {
    let value = with_defaults(&scalar(service.get(key)?)?);
    let number = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    number
        .parse::<f64>()
        .is_ok_and(|parsed| parsed > 0.0)
        .then_some(value)
}

/// A service runs until stopped unless its restart policy says it is a one-shot job.
fn is_long_running(service: &Value) -> bool {
    !matches!(
        service.get("restart").and_then(Value::as_str),
        Some("no" | "on-failure")
    )
}

/// The healthcheck command of a service, if it has one that Docker will run.
fn healthcheck_test(service: &Value) -> Option<Vec<String>> {
    let healthcheck = service.get("healthcheck")?;
    if healthcheck.get("disable").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let test: Vec<String> = match healthcheck.get("test")? {
        Value::String(shell) => vec!["CMD-SHELL".to_owned(), shell.clone()],
        Value::Sequence(parts) => parts
            .iter()
            .map(|part| {
                part.as_str()
                    .expect("healthcheck test parts are strings")
                    .to_owned()
            })
            .collect(),
        other => panic!("unexpected healthcheck test {other:?}"),
    };
    match test.first().map(String::as_str) {
        Some("CMD" | "CMD-SHELL") if test.len() >= 2 => Some(test),
        _ => None,
    }
}

/// `environment` as a map, whether written as a mapping or as a list of `KEY=VALUE`.
fn environment(service: &Value) -> BTreeMap<String, String> {
    match service.get("environment") {
        None => BTreeMap::new(),
        Some(Value::Mapping(map)) => map
            .iter()
            .map(|(key, value)| {
                let key = key
                    .as_str()
                    .expect("environment keys are strings")
                    .to_owned();
                let value = match value {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    Value::Bool(flag) => flag.to_string(),
                    Value::Null => String::new(),
                    other => panic!("environment value of {key} is {other:?}"),
                };
                (key, value)
            })
            .collect(),
        Some(Value::Sequence(entries)) => entries
            .iter()
            .map(|entry| {
                let entry = entry.as_str().expect("environment entries are strings");
                let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
                (key.to_owned(), value.to_owned())
            })
            .collect(),
        Some(other) => panic!("unexpected environment {other:?}"),
    }
}

/// The setting of `service` whose name ends with `suffix` (e.g. `__DATABASE_URL`).
fn setting(name: &str, service: &Value, suffix: &str) -> String {
    let matches: Vec<_> = environment(service)
        .into_iter()
        .filter(|(key, _)| key.starts_with("DONDOC_") && key.ends_with(suffix))
        .collect();
    match matches.as_slice() {
        [(_, value)] => value.clone(),
        _ => panic!("service {name} must set exactly one DONDOC_*{suffix}, found {matches:?}"),
    }
}

/// The binary a service runs: the first word of its `command`.
fn binary(name: &str, service: &Value) -> String {
    let first = match service.get("command") {
        Some(Value::Sequence(parts)) => parts.first().and_then(Value::as_str).map(str::to_owned),
        Some(Value::String(line)) => line.split_whitespace().next().map(str::to_owned),
        _ => None,
    };
    first.unwrap_or_else(|| panic!("service {name} must choose its binary with `command`"))
}

/// Names of the variables Compose interpolates in `text`: `${NAME}`, `${NAME:-default}`,
/// `${NAME:?error}`, … and `$NAME`; `$$` is an escaped dollar and interpolates nothing.
fn interpolated_variables(text: &str, names: &mut BTreeSet<String>) {
    let bytes = text.as_bytes();
    let name_len = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_')
            .count()
    };
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let len = name_len(i + 2);
                assert!(len > 0, "malformed interpolation in {text:?}");
                names.insert(text[i + 2..i + 2 + len].to_owned());
                // Continue inside the braces: a default may itself interpolate.
                i += 2 + len;
            }
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
                let len = name_len(i + 1);
                names.insert(text[i + 1..i + 1 + len].to_owned());
                i += 1 + len;
            }
            _ => i += 1,
        }
    }
}

/// Every variable interpolated anywhere in `value` (keys and values; comments are not part of
/// the parsed document, so prose there is not mistaken for interpolation).
fn variables_in(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => interpolated_variables(text, names),
        Value::Sequence(items) => items.iter().for_each(|item| variables_in(item, names)),
        Value::Mapping(map) => {
            for (key, item) in map {
                variables_in(key, names);
                variables_in(item, names);
            }
        }
        Value::Tagged(tagged) => variables_in(&tagged.value, names),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Variables `.env.example` documents, as `NAME=value` or as a commented default `# NAME=value`.
fn documented_variables() -> BTreeSet<String> {
    read(".env.example")
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix('#').map_or(line, str::trim_start);
            let (name, _) = line.split_once('=')?;
            let is_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            is_name.then(|| name.to_owned())
        })
        .collect()
}

/// The services postgres/init.sh makes a role and a database for: its default list,
/// `services=${DONDOC_SERVICES:-…}`. Each role and database is named after its service.
fn created_databases() -> BTreeSet<String> {
    let script = read("postgres/init.sh");
    let list = script
        .lines()
        .find_map(|line| line.trim().strip_prefix("services=${DONDOC_SERVICES:-"))
        .and_then(|rest| rest.strip_suffix('}'))
        .expect("postgres/init.sh lists its services as services=${DONDOC_SERVICES:-…}");
    list.split_whitespace().map(str::to_owned).collect()
}

/// `text` with each `${…}` interpolation (nested ones included) replaced by `VAR`, so that
/// defaults and error messages inside them cannot be mistaken for the surrounding text.
fn without_interpolations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek() == Some(&'$') {
            chars.next();
            if depth == 0 {
                out.push_str("$$");
            }
        } else if c == '$' && chars.peek() == Some(&'{') {
            chars.next();
            if depth == 0 {
                out.push_str("VAR");
            }
            depth += 1;
        } else if c == '}' && depth > 0 {
            depth -= 1;
        } else if depth == 0 {
            out.push(c);
        }
    }
    assert_eq!(depth, 0, "unbalanced interpolation in {text:?}");
    out
}

/// The database name at the end of a `postgres://…/<db>[?…]` URL.
fn database_name(url: &str) -> String {
    let url = without_interpolations(url);
    let without_query = url.split_once('?').map_or(url.as_str(), |(base, _)| base);
    let (_, name) = without_query
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("{url} has no database name"));
    name.to_owned()
}

/// nats.conf without comments (`#` and `//` to the end of the line).
fn nats_conf_code() -> String {
    read("nats/nats.conf")
        .lines()
        .map(|line| {
            let line = line.split_once('#').map_or(line, |(code, _)| code);
            line.split_once("//").map_or(line, |(code, _)| code)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The body of the top-level `name { … }` block of a NATS configuration.
fn nats_block<'a>(code: &'a str, name: &str) -> Option<&'a str> {
    let mut search_from = 0;
    while let Some(found) = code[search_from..].find(name) {
        let start = search_from + found;
        search_from = start + name.len();
        let at_word_start = start == 0 || code[..start].ends_with(char::is_whitespace);
        let rest = code[start + name.len()..].trim_start_matches([' ', '\t', ':', '=']);
        if !at_word_start || !rest.starts_with('{') {
            continue;
        }
        let body_start = code.len() - rest.len() + 1;
        let mut depth = 1;
        for (offset, c) in code[body_start..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(&code[body_start..body_start + offset]);
                    }
                }
                _ => {}
            }
        }
        panic!("unterminated {name} block in nats.conf");
    }
    None
}

/// The value of `key` in a NATS configuration block (`key: value`, `key = value` or
/// `key value`), without quotes.
fn nats_value<'a>(block: &'a str, key: &str) -> Option<&'a str> {
    block.lines().find_map(|line| {
        let line = line.trim();
        let rest = line.strip_prefix(key)?;
        if !rest.starts_with([' ', '\t', ':', '=']) {
            return None;
        }
        Some(
            rest.trim_start_matches([' ', '\t', ':', '='])
                .trim_end_matches([',', ';'])
                .trim()
                .trim_matches('"'),
        )
    })
}

/// The Dockerfile as instructions: continuation lines joined, comments dropped.
fn dockerfile_instructions() -> Vec<String> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(continued) => {
                current.push_str(continued);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        instructions.push(current);
    }
    instructions
}

/// The port after the last `:` of `address` (`0.0.0.0:50051`, `"${X:-50051}:50051/tcp"`).
fn port_of(address: &str) -> &str {
    let address = address.split_once('/').map_or(address, |(port, _)| port);
    address.rsplit_once(':').map_or(address, |(_, port)| port)
}

/// `text` as Compose interpolates it when no variable is set (an empty `.env`):
/// `${NAME:-default}` and `${NAME-default}` become their default (itself interpolated),
/// `$NAME`, `${NAME}` and the other forms become empty, and `$$` becomes `$`.
fn with_defaults(text: &str) -> String {
    let name_len = |text: &str| {
        text.bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count()
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{') {
            let mut depth = 1usize;
            let end = inner
                .char_indices()
                .find_map(|(i, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    (depth == 0).then_some(i)
                })
                .unwrap_or_else(|| panic!("unbalanced interpolation in {text:?}"));
            let body = &inner[..end];
            let modifier = &body[name_len(body)..];
            if let Some(default) = modifier
                .strip_prefix(":-")
                .or_else(|| modifier.strip_prefix('-'))
            {
                out.push_str(&with_defaults(default));
            }
            rest = &inner[end + 1..];
        } else {
            let len = name_len(after);
            if len == 0 {
                out.push('$');
            }
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    out
}

/// The host address a `ports` entry publishes on when no variable is set, or `None` when it
/// names none, which Docker takes as every interface.
fn published_host_ip(entry: &Value) -> Option<String> {
    match entry {
        Value::String(spec) => {
            let spec = with_defaults(spec);
            let spec = spec.split_once('/').map_or(spec.as_str(), |(spec, _)| spec);
            if let Some(ipv6) = spec.strip_prefix('[') {
                return ipv6.split_once(']').map(|(ip, _)| ip.to_owned());
            }
            let parts: Vec<&str> = spec.split(':').collect();
            (parts.len() == 3).then(|| parts[0].to_owned())
        }
        Value::Mapping(_) => entry
            .get("host_ip")
            .and_then(Value::as_str)
            .map(with_defaults),
        Value::Number(_) => None,
        other => panic!("unexpected ports entry {other:?}"),
    }
}

/// Whether a `ports` entry publishes on a loopback address only when no variable is set.
fn publishes_on_loopback_only(entry: &Value) -> bool {
    published_host_ip(entry)
        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

/// A bind mount of a service, with no variable set: host source (relative to deploy/ unless
/// absolute), container target, and whether it is read-only.
struct BindMount {
    source: String,
    target: String,
    read_only: bool,
}

/// The bind mounts of `service` (named volumes left out).
fn bind_mounts(service: &Value) -> Vec<BindMount> {
    service
        .get("volumes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|volume| match volume {
            Value::String(spec) => {
                let spec = with_defaults(spec);
                let mut parts = spec.split(':');
                let source = parts.next().unwrap_or_default().to_owned();
                let target = parts.next()?.to_owned();
                let read_only = parts
                    .next()
                    .is_some_and(|options| options.split(',').any(|option| option == "ro"));
                Some(BindMount {
                    source,
                    target,
                    read_only,
                })
            }
            Value::Mapping(_) => Some(BindMount {
                source: with_defaults(volume.get("source")?.as_str()?),
                target: with_defaults(volume.get("target")?.as_str()?),
                read_only: volume.get("read_only").and_then(Value::as_bool) == Some(true),
            })
            .filter(|_| volume.get("type").and_then(Value::as_str) == Some("bind")),
            other => panic!("unexpected volumes entry {other:?}"),
        })
        .filter(|mount| mount.source.starts_with(['.', '/']))
        .collect()
}

/// The body of the `## {heading}` section of deploy/README.md.
fn readme_section(heading: &str) -> String {
    let readme = read("README.md");
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("deploy/README.md has no \"## {heading}\" section"));
    let body = &readme[start + heading.len() + 5..];
    body.find("\n## ")
        .map_or(body, |end| &body[..end])
        .to_owned()
}

/// The contents of the ```sh blocks of `text`, in order.
fn shell_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "unterminated ```sh block");
    blocks
}

/// Permission bits of `path`.
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .unwrap_or_else(|err| panic!("cannot stat {}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The keyword of a Dockerfile instruction, upper-cased (`FROM`, `RUN`, `USER`, …).
fn keyword(instruction: &str) -> String {
    instruction
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// Every `.rs` file under `dir`, recursively.
fn rust_sources(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()));
    for entry in entries {
        let path = entry.expect("read a directory entry").path();
        if path.is_dir() {
            rust_sources(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The names under which the collector's Prometheus endpoint serves the services' metrics.
///
/// Every OpenTelemetry instrument the services create (`meter.u64_counter("dondoc.commands")`
/// and the like, in `services/*/src`) is served as the collector's `prometheus` exporter names
/// it (`translation_strategy: UnderscoreEscapingWithSuffixes`, no namespace; checked below):
/// dots become underscores, a counter gains `_total`, a histogram becomes `_bucket`, `_sum`
/// and `_count`, a gauge (or up-down counter) keeps its name, and no unit is appended because
/// the instruments declare none.
fn exported_metric_names() -> BTreeSet<String> {
    let services_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../services");
    let mut sources = Vec::new();
    for crate_dir in std::fs::read_dir(services_dir).expect("list services/") {
        let src = crate_dir.expect("read services/").path().join("src");
        if src.is_dir() {
            rust_sources(&src, &mut sources);
        }
    }
    let mut names = BTreeSet::new();
    for source in sources {
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", source.display()));
        let mut rest = text.as_str();
        while let Some(at) = rest.find("(\"dondoc.") {
            let method_start = rest[..at]
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
                .map_or(0, |(before, c)| before + c.len_utf8());
            let method = &rest[method_start..at];
            let after = &rest[at + 2..];
            let Some(end) = after.find('"') else { break };
            let base = after[..end].replace('.', "_");
            rest = &after[end..];
            if method.ends_with("up_down_counter") || method.ends_with("gauge") {
                names.insert(base);
            } else if method.ends_with("counter") {
                names.insert(format!("{base}_total"));
            } else if method.ends_with("histogram") {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{base}{suffix}"));
                }
            }
        }
    }
    names
}

/// The `dondoc_*` metric names a PromQL expression reads.
fn metric_names_in(expr: &str) -> BTreeSet<String> {
    let in_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("dondoc_") {
        let starts_a_word = rest[..at].chars().next_back().is_none_or(|c| !in_name(c));
        let len = rest[at..]
            .find(|c: char| !in_name(c))
            .unwrap_or(rest.len() - at);
        if starts_a_word {
            names.insert(rest[at..at + len].to_owned());
        }
        rest = &rest[at + len..];
    }
    names
}

#[test]
fn every_long_running_service_has_a_healthcheck() {
    let compose = compose();
    for (name, service) in services(&compose) {
        if !is_long_running(service) {
            continue;
        }
        if let Some(reason) = service.get(HEALTHCHECK_EXEMPT) {
            let reason = reason.as_str().unwrap_or_default();
            assert!(
                reason.split_whitespace().count() >= 8,
                "service {name} is exempt from a healthcheck but does not say why"
            );
            assert!(
                service.get("healthcheck").is_none(),
                "service {name} has a healthcheck and an exemption; remove one"
            );
            continue;
        }
        assert!(
            healthcheck_test(service).is_some(),
            "long-running service {name} has no healthcheck (or it is disabled or empty)"
        );
    }
}

#[test]
fn every_service_waited_on_as_healthy_has_a_healthcheck() {
    let compose = compose();
    for (name, service) in services(&compose) {
        let Some(depends_on) = service.get("depends_on").and_then(Value::as_mapping) else {
            continue;
        };
        for (dependency, spec) in depends_on {
            let dependency = dependency.as_str().expect("depends_on keys are strings");
            if spec.get("condition").and_then(Value::as_str) == Some("service_healthy") {
                assert!(
                    healthcheck_test(compose_service(&compose, dependency)).is_some(),
                    "{name} waits for {dependency} to be healthy, which has no healthcheck: \
                     it would wait forever"
                );
            }
        }
    }
}

#[test]
fn each_dondoc_service_uses_its_own_database_created_by_the_init_script() {
    let compose = compose();
    let created = created_databases();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    for (name, service) in dondoc_services(&compose) {
        let url = setting(&name, service, "__DATABASE_URL");
        assert!(
            url.starts_with("postgres://")
                && without_interpolations(&url).contains("@postgres:5432/"),
            "{name} must use the compose postgres service, not {url}"
        );
        let database = database_name(&url);
        assert!(
            created.contains(&database),
            "{name} uses database {database}, which postgres/init.sh does not create \
             (it creates {created:?})"
        );
        if let Some(other) = owners.insert(database.clone(), name.clone()) {
            panic!("{name} and {other} share database {database}; each service owns its data");
        }
    }
}

#[test]
fn the_init_script_creates_a_database_for_every_designed_service() {
    let created = created_databases();
    let expected: BTreeSet<String> = DESIGNED_SERVICES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(created, expected);
    let compose = compose();
    let postgres = compose_service(&compose, "postgres");
    let mounts_init = postgres
        .get("volumes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|mount| {
            mount.starts_with("./postgres/init.sh:/docker-entrypoint-initdb.d/")
                && mount.ends_with(".sh:ro")
        });
    assert!(
        mounts_init,
        "the postgres service must mount postgres/init.sh read-only into \
         /docker-entrypoint-initdb.d as a .sh script"
    );
}

#[test]
fn the_nats_image_is_the_pinned_nats_server_version() {
    let compose = compose();
    let image = compose_service(&compose, "nats")
        .get("image")
        .and_then(Value::as_str)
        .expect("the nats service names its image");
    let (repository, tag) = image
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("the nats image {image} must carry a version tag"));
    assert_eq!(repository, "nats");
    // A variant suffix (`-alpine`, `-alpine3.22`) is allowed; the version is not.
    let version = tag.split_once('-').map_or(tag, |(version, _)| version);
    assert_eq!(
        version, PINNED_NATS_SERVER_VERSION,
        "compose runs nats {tag} but tests and `dondoc up` pin {PINNED_NATS_SERVER_VERSION}"
    );
}

#[test]
fn nats_conf_enables_jetstream_with_sync_interval_always() {
    let code = nats_conf_code();
    let jetstream = nats_block(&code, "jetstream").expect("nats.conf has a jetstream { } block");
    assert_eq!(
        nats_value(jetstream, "sync_interval"),
        Some("always"),
        "JetStream must fsync each message before acknowledging it (Jepsen 2025)"
    );
    assert!(
        nats_value(jetstream, "store_dir").is_some_and(|dir| dir.starts_with("/data")),
        "the JetStream file store must live on the nats-data volume mounted at /data"
    );
    assert_eq!(nats_value(&code, "http_port"), Some("8222"));

    let compose = compose();
    let nats = compose_service(&compose, "nats");
    let mounts: Vec<&str> = nats
        .get("volumes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let target = mounts
        .iter()
        .find_map(|mount| mount.strip_prefix("./nats/nats.conf:"))
        .map(|rest| rest.split(':').next().unwrap_or(rest))
        .expect("the nats service mounts nats/nats.conf");
    let command: Vec<&str> = nats
        .get("command")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        command
            .windows(2)
            .any(|pair| matches!(pair[0], "--config" | "-c") && pair[1] == target),
        "the nats command must load the mounted {target}, runs {command:?}"
    );
    assert!(
        mounts.iter().any(|mount| mount.ends_with(":/data")),
        "JetStream's /data must be a volume so the store survives the container"
    );
}

#[test]
fn the_pinned_nats_server_accepts_nats_conf() {
    let server = locate_or_install().expect("the pinned nats-server is available");
    let conf = deploy_dir().join("nats/nats.conf");
    // Through nats/entrypoint.sh with the nats service's secrets, as in the container:
    // nats.conf reads each user's password from the environment the entrypoint fills.
    let secrets = tempfile::tempdir().expect("create a secrets directory");
    nats_secrets(secrets.path());
    let output = nats_through_entrypoint(&server, secrets.path())
        .arg("-c")
        .arg(&conf)
        .arg("-t")
        .output()
        .expect("sh and nats-server run");
    assert!(
        output.status.success(),
        "nats-server {PINNED_NATS_SERVER_VERSION} rejects {}: {}{}",
        conf.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn each_dondoc_service_waits_for_nats_and_postgres_to_be_healthy() {
    let compose = compose();
    for (name, service) in dondoc_services(&compose) {
        for dependency in ["nats", "postgres"] {
            let condition = service
                .get("depends_on")
                .and_then(|depends_on| depends_on.get(dependency))
                .and_then(|spec| spec.get("condition"))
                .and_then(Value::as_str);
            assert_eq!(
                condition,
                Some("service_healthy"),
                "{name} must depend on {dependency} with condition service_healthy"
            );
        }
        assert_eq!(
            service.get("restart").and_then(Value::as_str),
            Some("unless-stopped"),
            "{name} must restart unless stopped"
        );
    }
}

#[test]
fn each_dondoc_service_listens_publishes_and_is_probed_on_one_port() {
    let compose = compose();
    for (name, service) in dondoc_services(&compose) {
        let listen = setting(&name, service, "__LISTEN");
        assert!(
            listen.starts_with("0.0.0.0:"),
            "{name} must listen on all interfaces of its container, not {listen}"
        );
        let port = port_of(&listen);
        let published: Vec<&str> = service
            .get("ports")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(port_of)
            .collect();
        assert!(
            published.contains(&port),
            "{name} listens on {port} but publishes container ports {published:?}"
        );
        let probe = healthcheck_test(service)
            .unwrap_or_else(|| panic!("{name} has no healthcheck"))
            .join(" ");
        assert!(
            probe.contains(&format!("/{port}")) || probe.contains(&format!(":{port}")),
            "{name}'s healthcheck `{probe}` does not probe its port {port}"
        );
    }
}

#[test]
fn each_dondoc_service_is_probed_by_dondoc_health_on_its_grpc_port() {
    // A TCP connect only proves the port listens; the gRPC health service knows whether the
    // database, the schema and every read model are ready, and that a stop has begun.
    let compose = compose();
    for (name, service) in dondoc_services(&compose) {
        let port = port_of(&setting(&name, service, "__LISTEN")).to_owned();
        let probe =
            healthcheck_test(service).unwrap_or_else(|| panic!("{name} has no healthcheck"));
        assert_eq!(
            probe,
            [
                "CMD".to_owned(),
                "dondoc".to_owned(),
                "health".to_owned(),
                "--addr".to_owned(),
                format!("http://127.0.0.1:{port}"),
            ],
            "{name}'s healthcheck"
        );
    }
    let installed = dockerfile_instructions().into_iter().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        words.first() == Some(&"COPY")
            && words.last() == Some(&"/usr/local/bin/")
            && words.iter().any(|word| word.ends_with("/dondoc"))
    });
    assert!(
        installed,
        "the image installs the dondoc binary the probe runs"
    );
}

#[test]
fn every_compose_variable_is_documented_in_env_example() {
    let mut used = BTreeSet::new();
    variables_in(&compose(), &mut used);
    assert!(
        used.contains("ADMIN_BIND_ADDRESS"),
        "the scan found no variables: {used:?}"
    );
    let documented = documented_variables();
    let undocumented: Vec<_> = used.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "docker-compose.yml uses variables that .env.example does not document: {undocumented:?}"
    );
}

#[test]
fn every_env_example_variable_is_used_by_compose_or_is_a_dondoc_setting() {
    let mut used = BTreeSet::new();
    variables_in(&compose(), &mut used);
    let stray: Vec<_> = documented_variables()
        .into_iter()
        .filter(|name| !used.contains(name) && !name.starts_with("DONDOC_"))
        .collect();
    assert!(
        stray.is_empty(),
        ".env.example documents variables nothing reads (typos?): {stray:?}"
    );
}

#[test]
fn the_dockerfile_builds_and_installs_every_binary_compose_runs() {
    let instructions = dockerfile_instructions();
    let mut built = BTreeSet::new();
    let mut installed = BTreeSet::new();
    for instruction in &instructions {
        let words: Vec<&str> = instruction.split_whitespace().collect();
        match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("RUN") if instruction.contains("cargo build") => {
                assert!(
                    words.contains(&"--release") && words.contains(&"--locked"),
                    "the image must be a --release --locked build: {instruction}"
                );
                built.extend(
                    words
                        .windows(2)
                        .filter(|pair| pair[0] == "--bin")
                        .map(|pair| pair[1].to_owned()),
                );
            }
            Some("COPY") if words.iter().any(|w| w.starts_with("--from=")) => {
                if let Some((destination, sources)) = words[1..].split_last()
                    && destination.trim_end_matches('/') == "/usr/local/bin"
                {
                    installed.extend(
                        sources
                            .iter()
                            .filter(|source| !source.starts_with("--"))
                            .filter_map(|source| source.rsplit('/').next())
                            .map(str::to_owned),
                    );
                }
            }
            _ => {}
        }
    }

    let compose = compose();
    let (builder, build) = image_builder(&compose);
    assert_eq!(
        build.get("dockerfile").and_then(Value::as_str),
        Some("deploy/Dockerfile"),
        "{builder} must build the image from deploy/Dockerfile"
    );
    assert_eq!(
        build.get("context").and_then(Value::as_str),
        Some(".."),
        "{builder}'s build context must be the repository root"
    );
    for (name, service) in dondoc_services(&compose) {
        let binary = binary(&name, service);
        assert!(
            built.contains(&binary),
            "{name} runs {binary}, which the Dockerfile's cargo build does not build \
             (it builds {built:?})"
        );
        assert!(
            installed.contains(&binary),
            "{name} runs {binary}, which the Dockerfile does not copy to /usr/local/bin \
             (it copies {installed:?})"
        );
    }
    assert!(
        built.contains("dondoc") && installed.contains("dondoc"),
        "the image must also carry the `dondoc` operator CLI"
    );
}

#[test]
fn one_service_builds_the_dondoc_image_and_none_pulls_it() {
    // `image_builder` fails unless exactly one service in the file builds: several building the
    // one tag collide in Compose's parallel bake on a clean machine.
    let compose = compose();
    let (builder, _) = image_builder(&compose);
    let dondoc = dondoc_services(&compose);
    assert!(
        dondoc.iter().any(|(name, _)| *name == builder),
        "{builder} builds an image but does not run the {DONDOC_IMAGE} image"
    );
    let images: BTreeSet<&str> = dondoc
        .iter()
        .filter_map(|(_, service)| service.get("image").and_then(Value::as_str))
        .collect();
    assert_eq!(
        images.len(),
        1,
        "the dondoc services must run one image, the one {builder} builds, not {images:?}"
    );
    for (name, service) in &dondoc {
        // No registry has the image. Compose builds a missing image for the builder whatever its
        // pull policy, and `never` keeps everyone from asking Docker Hub for it first.
        assert_eq!(
            service.get("pull_policy").and_then(Value::as_str),
            Some("never"),
            "{name} must never pull the {DONDOC_IMAGE} image: only {builder} builds it"
        );
    }
}

#[test]
fn every_long_running_service_rotates_its_logs() {
    let compose = compose();
    for (name, service) in services(&compose) {
        if !is_long_running(service) {
            continue;
        }
        let logging = service.get("logging").unwrap_or_else(|| {
            panic!("{name} has no `logging`: Docker's default json-file driver never rotates")
        });
        let driver = logging.get("driver").and_then(Value::as_str);
        assert!(
            matches!(driver, Some("local" | "json-file")),
            "{name} logs through {driver:?}; use `local` (rotates and compresses)"
        );
        let options = logging.get("options");
        for option in ["max-size", "max-file"] {
            assert!(
                options
                    .and_then(|options| positive_quantity(options, option))
                    .is_some(),
                "{name} must bound its logs with logging option {option}, has {:?}",
                options.and_then(|options| options.get(option))
            );
        }
    }
}

#[test]
fn every_dondoc_service_runs_read_only_with_limits_and_no_privileges() {
    let compose = compose();
    for (name, service) in dondoc_services(&compose) {
        assert_eq!(
            service.get("read_only").and_then(Value::as_bool),
            Some(true),
            "{name} must run on a read-only root filesystem"
        );
        let tmpfs: Vec<&str> = match service.get("tmpfs") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Sequence(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        assert!(
            tmpfs
                .iter()
                .any(|mount| mount.split(':').next() == Some("/tmp")),
            "{name} is read-only, so it needs a tmpfs at /tmp; has {tmpfs:?}"
        );
        for limit in ["mem_limit", "cpus", "pids_limit"] {
            assert!(
                positive_quantity(service, limit).is_some(),
                "{name} must set a positive {limit}, has {:?}",
                service.get(limit)
            );
        }
        assert!(
            strings(service, "cap_drop").contains(&"ALL"),
            "{name} must drop every capability"
        );
        assert!(
            strings(service, "security_opt")
                .iter()
                .any(|option| matches!(*option, "no-new-privileges:true" | "no-new-privileges")),
            "{name} must set no-new-privileges"
        );
    }
}

#[test]
fn the_image_runs_as_the_numeric_non_root_user_it_creates() {
    let instructions = dockerfile_instructions();
    let last_stage = instructions
        .iter()
        .rposition(|instruction| keyword(instruction) == "FROM")
        .expect("the Dockerfile has a FROM");
    let runtime = &instructions[last_stage..];
    let user = runtime
        .iter()
        .rev()
        .find(|instruction| keyword(instruction) == "USER")
        .and_then(|instruction| instruction.split_whitespace().nth(1))
        .expect("the runtime stage sets USER");
    // Kubernetes' runAsNonRoot can only check a numeric user (hadolint DL3066).
    let (uid, gid) = user
        .split_once(':')
        .map_or((user, None), |(uid, gid)| (uid, Some(gid)));
    let numeric = |id: &str| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
    assert!(
        numeric(uid) && gid.is_none_or(numeric),
        "USER {user} must be numeric (uid or uid:gid)"
    );
    assert_ne!(
        uid.parse::<u32>().expect("the uid is a number"),
        0,
        "the image must not run as root"
    );
    let creates_it = runtime.iter().any(|instruction| {
        let words: Vec<&str> = instruction.split_whitespace().collect();
        words.contains(&"useradd") && words.windows(2).any(|pair| pair == ["--uid", uid])
    });
    assert!(
        creates_it,
        "the runtime stage must create the user it runs as (useradd --uid {uid}), so that the \
         uid has a name, a group and a home"
    );
}

#[test]
fn every_file_the_compose_file_mounts_exists() {
    let compose = compose();
    for (name, service) in services(&compose) {
        let mounts = service
            .get("volumes")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        for mount in mounts {
            let source = mount.split(':').next().unwrap_or(mount);
            // Named volumes and operator-provided directories (the keys) are not in the repo.
            if !source.starts_with("./") || source.contains('$') {
                continue;
            }
            assert!(
                deploy_dir().join(source).is_file(),
                "{name} mounts {source}, which does not exist under deploy/"
            );
        }
    }
}

#[test]
fn the_collector_sends_traces_to_jaeger_with_only_defined_components() {
    let config: Value =
        serde_yaml_ng::from_str(&read("otel/collector.yaml")).expect("collector.yaml is YAML");
    let defined = |section: &str| -> BTreeSet<String> {
        config
            .get(section)
            .and_then(Value::as_mapping)
            .map(Mapping::keys)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let pipelines = config
        .get("service")
        .and_then(|service| service.get("pipelines"))
        .and_then(Value::as_mapping)
        .expect("collector.yaml has service.pipelines");
    for (pipeline, spec) in pipelines {
        for section in ["receivers", "processors", "exporters"] {
            let known = defined(section);
            for component in spec
                .get(section)
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                assert!(
                    known.contains(component),
                    "pipeline {pipeline:?} uses {section} {component}, which is not defined"
                );
            }
        }
    }
    let traces_to_jaeger = pipelines
        .get("traces")
        .and_then(|traces| traces.get("exporters"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|exporter| config["exporters"][exporter]["endpoint"].as_str() == Some("jaeger:4317"));
    assert!(
        traces_to_jaeger,
        "the traces pipeline must export to jaeger:4317 over OTLP"
    );
    assert_eq!(
        config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].as_str(),
        Some("0.0.0.0:4317"),
        "the OTLP receiver must listen on the compose network, not only on localhost"
    );

    let compose = compose();
    for (name, service) in dondoc_services(&compose) {
        assert_eq!(
            setting(&name, service, "TELEMETRY__OTLP_ENDPOINT"),
            "${DONDOC_TELEMETRY__OTLP_ENDPOINT:-http://otel-collector:4317}",
            "{name} must export to the collector unless .env says otherwise"
        );
    }
}

#[test]
fn telemetry_is_off_the_start_path() {
    // The OTLP exporters connect lazily and retry, so a collector or Jaeger that is down, slow
    // or broken must never keep the services (or the metrics pipeline) from starting.
    let compose = compose();
    for telemetry in TELEMETRY_SERVICES {
        // Panics if the file no longer has it, so that the checks below cannot pass vacuously.
        compose_service(&compose, telemetry);
    }
    for (name, service) in dondoc_services(&compose) {
        for (dependency, _) in depends_on(service) {
            assert!(
                !TELEMETRY_SERVICES.contains(&dependency),
                "{name} depends on {dependency}: telemetry must not be on a service's start path"
            );
        }
    }
    for (name, service) in services(&compose) {
        for (dependency, condition) in depends_on(service) {
            assert!(
                !(TELEMETRY_SERVICES.contains(&dependency) && condition == Some("service_healthy")),
                "{name} waits for {dependency} to be healthy; started is all it may ask"
            );
        }
    }
}

#[test]
fn jaeger_is_a_pinned_version_2_probed_on_its_health_endpoint() {
    // Jaeger 1 reached end of life on 2025-12-31; version 2 is a different image.
    let compose = compose();
    let jaeger = compose_service(&compose, "jaeger");
    let image = jaeger
        .get("image")
        .and_then(Value::as_str)
        .expect("the jaeger service names its image");
    let (repository, tag) = image
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("the jaeger image {image} must carry a version tag"));
    assert_eq!(repository, "jaegertracing/jaeger");
    let version: Vec<&str> = tag.split('.').collect();
    assert!(
        version.len() == 3
            && version[0] == "2"
            && version.iter().all(|part| part.parse::<u32>().is_ok()),
        "jaeger must be pinned to an exact 2.x.y release, not {tag}"
    );
    let probe = healthcheck_test(jaeger)
        .expect("jaeger has a healthcheck")
        .join(" ");
    assert!(
        probe.contains("127.0.0.1:13133/status"),
        "jaeger's healthcheck must ask its healthcheckv2 extension (:13133/status): {probe}"
    );
}

#[test]
fn no_port_is_published_on_all_interfaces_by_default() {
    // The check itself catches the ways an entry publishes everywhere.
    for everywhere in [
        "50051",
        "50051:50051",
        "${ASSIGNMENT_PORT:-50051}:50051",
        "0.0.0.0:50051:50051",
        "[::]:50051:50051",
        "${ADMIN_BIND_ADDRESS}:50051:50051",
        "${ADMIN_BIND_ADDRESS:-0.0.0.0}:50051:50051",
    ] {
        assert!(
            !publishes_on_loopback_only(&Value::String(everywhere.to_owned())),
            "the check misses {everywhere}"
        );
    }

    let compose = compose();
    let mut published = 0;
    for (name, service) in services(&compose) {
        assert_ne!(
            service.get("network_mode").and_then(Value::as_str),
            Some("host"),
            "{name} shares the host's network, so it listens on every interface"
        );
        for entry in service
            .get("ports")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            published += 1;
            assert!(
                publishes_on_loopback_only(entry),
                "{name} publishes {entry:?} on {:?} by default, not on loopback: nothing has \
                 TLS",
                published_host_ip(entry)
            );
            // One setting moves them all, as .env.example and README.md say.
            assert!(
                entry
                    .as_str()
                    .is_some_and(|spec| spec.starts_with("${ADMIN_BIND_ADDRESS:-127.0.0.1}:")),
                "{name} publishes {entry:?}, not on ${{ADMIN_BIND_ADDRESS:-127.0.0.1}}"
            );
        }
    }
    assert!(published > 0, "docker-compose.yml publishes no ports");
}

#[test]
fn the_readme_key_commands_keep_the_private_key_out_of_every_container() {
    let keys = readme_section("Keys");
    let blocks = shell_blocks(&keys);
    let [make_pair, mint] = blocks.as_slice() else {
        panic!("README.md \"Keys\" must have two sh blocks (make the pair, mint a token)");
    };

    // The README's commands exactly as written, run from a stand-in repository root.
    let root = tempfile::tempdir().expect("create a temporary repository root");
    let output = Command::new("sh")
        .args(["-eu", "-c", make_pair])
        .current_dir(root.path())
        .output()
        .expect("sh runs");
    assert!(
        output.status.success(),
        "the README's key commands fail (openssl is needed; Debian: apt-get install openssl): \
         {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // `dondoc token --data-dir <dir>` signs with <dir>/keys/dev-ed25519.pem
    // (services/dondoc/src/keys.rs, `private_key_path`).
    let words: Vec<&str> = mint.split_whitespace().collect();
    assert!(
        words.windows(2).any(|pair| pair == ["dondoc", "token"]),
        "the second sh block must mint a token with `dondoc token`: {mint}"
    );
    let data_dir = words
        .windows(2)
        .find(|pair| pair[0] == "--data-dir")
        .map(|pair| pair[1])
        .expect("the README's `dondoc token` names its --data-dir");
    let private = root.path().join(data_dir).join("keys/dev-ed25519.pem");
    assert!(
        private.is_file(),
        "`dondoc token --data-dir {data_dir}` would look for {}, which the README's commands \
         do not create",
        private.display()
    );
    assert_eq!(
        mode(&private) & 0o077,
        0,
        "the private key must be owner-only"
    );
    for dir in [
        root.path().join(data_dir),
        root.path().join(data_dir).join("keys"),
    ] {
        assert_eq!(
            mode(&dir) & 0o077,
            0,
            "{} holds the private key and must be owner-only",
            dir.display()
        );
    }
    let private = private.canonicalize().expect("canonical private key path");

    // Where the services find the public key: a read-only mount maps their setting to deploy/.
    let deploy = root.path().join("deploy");
    let compose = compose();
    let mut public_pem = None;
    for (name, service) in dondoc_services(&compose) {
        let in_container = with_defaults(&setting(&name, service, "__PUBLIC_KEY_PATH"));
        let in_container = Path::new(&in_container);
        let mounts = bind_mounts(service);
        let (mount, file) = mounts
            .iter()
            .find_map(|mount| {
                let file = in_container.strip_prefix(&mount.target).ok()?;
                Some((mount, file))
            })
            .unwrap_or_else(|| panic!("{name} reads {in_container:?}, which nothing mounts"));
        assert!(
            mount.read_only,
            "{name} must mount {} read-only",
            mount.target
        );
        let public = deploy.join(&mount.source).join(file);
        assert!(
            public.is_file(),
            "{name} reads {}, which the README's commands do not create",
            public.display()
        );
        // The containers run as uid 10001: the key and its directory must be world-readable.
        assert_eq!(
            mode(&public) & 0o004,
            0o004,
            "{} is not world-readable",
            public.display()
        );
        let dir = public.parent().expect("the public key is in a directory");
        assert_eq!(
            mode(dir) & 0o005,
            0o005,
            "{} is not world-readable",
            dir.display()
        );
        public_pem = Some(std::fs::read_to_string(&public).expect("read the public key"));
    }

    // No bind mount of any container reaches the private key.
    for (name, service) in services(&compose) {
        for mount in bind_mounts(service) {
            if let Ok(source) = deploy.join(&mount.source).canonicalize() {
                assert!(
                    !private.starts_with(&source),
                    "{name} mounts {} at {}, which holds the private key",
                    mount.source,
                    mount.target
                );
            }
        }
    }

    let private_pem = std::fs::read_to_string(&private).expect("read the private key");
    let issuer = TokenIssuer::from_private_pem(&private_pem).expect("dondoc reads the private key");
    let verifier = TokenVerifier::from_public_pem(&public_pem.expect("a service reads a key"))
        .expect("the services read the public key");
    let principal = Principal {
        subject: "operator".to_owned(),
        role: Role::Admin,
        unit_code: None,
        leader_id: None,
    };
    let token = issuer
        .mint(&principal, std::time::Duration::from_secs(60))
        .expect("mint a token");
    assert_eq!(
        verifier.verify(&token).expect("verify the token"),
        principal
    );
}

#[test]
fn every_alert_rule_is_complete_and_reads_only_metrics_the_services_export() {
    // The name scan itself: a metric name only where a word starts, label values ignored.
    assert_eq!(
        metric_names_in(r#"rate(dondoc_a_total[5m]) / x_dondoc_b{stream="DONDOC_C"}"#),
        BTreeSet::from(["dondoc_a_total".to_owned()])
    );
    let exported = exported_metric_names();
    for known in ["dondoc_commands_total", "dondoc_outbox_backlog"] {
        assert!(
            exported.contains(known),
            "the scan of the services' source misses {known}; it found {exported:?}"
        );
    }

    // The names above are the ones the collector serves only with this translation.
    let collector: Value =
        serde_yaml_ng::from_str(&read("otel/collector.yaml")).expect("collector.yaml is YAML");
    let prometheus = &collector["exporters"]["prometheus"];
    assert_eq!(
        prometheus["translation_strategy"].as_str(),
        Some("UnderscoreEscapingWithSuffixes"),
        "alerts/dondoc.rules.yml names metrics as this translation serves them"
    );
    assert!(
        prometheus.get("namespace").is_none(),
        "a namespace would prefix every metric name the alert rules use"
    );

    let rules: Value = serde_yaml_ng::from_str(&read("alerts/dondoc.rules.yml"))
        .expect("alerts/dondoc.rules.yml is YAML");
    let groups = rules
        .get("groups")
        .and_then(Value::as_sequence)
        .expect("alerts/dondoc.rules.yml has groups");
    let mut alerts = BTreeSet::new();
    for group in groups {
        let group_name = group
            .get("name")
            .and_then(Value::as_str)
            .expect("every rule group has a name");
        let rules = group
            .get("rules")
            .and_then(Value::as_sequence)
            .unwrap_or_else(|| panic!("rule group {group_name} has no rules"));
        for rule in rules {
            let text = |path: &[&str]| -> Option<String> {
                let mut value = rule;
                for key in path {
                    value = value.get(*key)?;
                }
                scalar(value).filter(|text| !text.trim().is_empty())
            };
            let alert = text(&["alert"]).unwrap_or_else(|| {
                panic!("a rule of group {group_name} has no alert name: {rule:?}")
            });
            assert!(
                alerts.insert(alert.clone()),
                "alert {alert} is defined twice"
            );
            let required: [&[&str]; 3] = [
                &["for"],
                &["labels", "severity"],
                &["annotations", "summary"],
            ];
            for path in required {
                assert!(
                    text(path).is_some(),
                    "alert {alert} has no {}",
                    path.join(".")
                );
            }
            let severity = text(&["labels", "severity"]).unwrap_or_default();
            assert!(
                matches!(severity.as_str(), "info" | "warning" | "critical"),
                "alert {alert} has severity {severity:?}"
            );
            let expr = text(&["expr"]).unwrap_or_else(|| panic!("alert {alert} has no expr"));
            let used = metric_names_in(&expr);
            assert!(
                !used.is_empty(),
                "alert {alert} reads no dondoc metric: {expr}"
            );
            for name in used {
                assert!(
                    exported.contains(&name),
                    "alert {alert} reads {name}, which no service exports (they export \
                     {exported:?})"
                );
            }
        }
    }
    assert!(!alerts.is_empty(), "alerts/dondoc.rules.yml has no alert");
}

// ---------------------------------------------------------------------------------------------
// Least privilege: no password in any setting, one PostgreSQL role and one NATS user per
// service, each secret mounted only where it is needed.

/// The secrets `service` mounts, by name. Only the short form (`- <name>`) is used, so each is
/// at `/run/secrets/<name>` in the container.
fn mounted_secrets(name: &str, service: &Value) -> BTreeSet<String> {
    service
        .get("secrets")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|entry| {
            entry
                .as_str()
                .unwrap_or_else(|| {
                    panic!("{name} mounts the secret {entry:?}: use the short form, - <name>")
                })
                .to_owned()
        })
        .collect()
}

/// The top-level `secrets`: name → file (relative to deploy/).
fn defined_secrets(compose: &Value) -> BTreeMap<String, String> {
    compose
        .get("secrets")
        .and_then(Value::as_mapping)
        .expect("docker-compose.yml defines its secrets at the top level")
        .iter()
        .map(|(name, secret)| {
            let name = name.as_str().expect("secret names are strings").to_owned();
            let file = secret
                .get("file")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("the secret {name} must be a file"))
                .to_owned();
            (name, file)
        })
        .collect()
}

/// A random password like those `openssl rand -base64 32` makes (README.md, "Secrets"), with
/// `+`, `/` and `=`, which mean something in URLs.
fn random_password() -> String {
    use rand::Rng as _;
    const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::thread_rng();
    let mut password: String = (0..43)
        .map(|_| char::from(BASE64[rng.gen_range(0..BASE64.len())]))
        .collect();
    password.push_str("+/=");
    password
}

/// The nats service's secrets, a random password each, written into `dir` as compose mounts
/// them into /run/secrets: secret name → password.
fn nats_secrets(dir: &Path) -> BTreeMap<String, String> {
    let compose = compose();
    mounted_secrets("nats", compose_service(&compose, "nats"))
        .into_iter()
        .map(|name| {
            let password = random_password();
            std::fs::write(dir.join(&name), format!("{password}\n"))
                .unwrap_or_else(|err| panic!("cannot write the secret {name}: {err}"));
            (name, password)
        })
        .collect()
}

/// `sh nats/entrypoint.sh <server> …` with the secrets in `secrets`: the server as the compose
/// nats container starts it (add the server's arguments).
fn nats_through_entrypoint(server: &Path, secrets: &Path) -> Command {
    let mut command = Command::new("sh");
    command
        .arg(deploy_dir().join("nats/entrypoint.sh"))
        .arg(server)
        .env("NATS_SECRETS_DIR", secrets);
    command
}

/// What a service does on NATS, read from its sources: whether it keeps an event log (its
/// startup.rs starts a relay: it publishes its stream and anchors it), whether it publishes
/// notices (the DONDOC_NOTIFY stream), and whose streams it reads (the other services whose
/// `<service>::SERVICE` its startup.rs names).
struct NatsNeeds {
    publishes_events: bool,
    publishes_notices: bool,
    reads: BTreeSet<&'static str>,
}

fn nats_needs(service: &str) -> NatsNeeds {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../services")
        .join(service)
        .join("src");
    let startup = std::fs::read_to_string(src.join("startup.rs"))
        .unwrap_or_else(|err| panic!("cannot read the {service} service's startup.rs: {err}"));
    let mut sources = Vec::new();
    rust_sources(&src, &mut sources);
    let publishes_notices = sources
        .iter()
        .any(|file| std::fs::read_to_string(file).is_ok_and(|text| text.contains("NOTIFY_STREAM")));
    NatsNeeds {
        publishes_events: startup.contains("Relay::new("),
        publishes_notices,
        reads: DESIGNED_SERVICES
            .into_iter()
            .filter(|other| *other != service && startup.contains(&format!("{other}::SERVICE")))
            .collect(),
    }
}

/// The subjects the NATS user of `service` must be allowed to publish to and subscribe to,
/// and no more: its own events and anchors, the JetStream requests for the streams it writes
/// (INFO, CREATE; MSG.GET reads its latest anchor back) and for those it reads (INFO, its
/// consumers' API, the pull requests and the acknowledgements), and its own inbox.
fn expected_nats_permissions(service: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    use dondoc_contracts::escalation::{NOTIFY_STREAM, NOTIFY_SUBJECTS};
    use dondoc_eventsourcing::anchor::{ANCHOR_STREAM, anchor_subject};
    let needs = nats_needs(service);
    let api = |request: String| format!("$JS.API.{request}");
    let mut publish = BTreeSet::new();
    if needs.publishes_events {
        let own = RelayConfig::for_service(service);
        publish.insert(format!("{}.>", own.subject_prefix));
        publish.insert(api(format!("STREAM.INFO.{}", own.stream_name)));
        publish.insert(api(format!("STREAM.CREATE.{}", own.stream_name)));
        // Replicas and limits follow the settings (relay::ensure_stream_with).
        publish.insert(api(format!("STREAM.UPDATE.{}", own.stream_name)));
        publish.insert(anchor_subject(service));
        for request in ["STREAM.INFO", "STREAM.CREATE", "STREAM.MSG.GET"] {
            publish.insert(api(format!("{request}.{ANCHOR_STREAM}")));
        }
    }
    if needs.publishes_notices {
        publish.insert(NOTIFY_SUBJECTS.to_owned());
        for request in ["STREAM.INFO", "STREAM.CREATE"] {
            publish.insert(api(format!("{request}.{NOTIFY_STREAM}")));
        }
    }
    for read in &needs.reads {
        let stream = RelayConfig::for_service(read).stream_name;
        publish.insert(api(format!("STREAM.INFO.{stream}")));
        publish.insert(api(format!("CONSUMER.*.{stream}.>")));
        publish.insert(api(format!("CONSUMER.MSG.NEXT.{stream}.*")));
        publish.insert(format!("$JS.ACK.{stream}.>"));
    }
    let inbox = NatsCredentials::new(service, "").inbox_prefix();
    (publish, BTreeSet::from([format!("{inbox}.>")]))
}

/// A user of nats.conf (`authorization { users = [ … ] }`): its password as written and, when
/// it has permissions, the subjects it may publish and subscribe to (`None`: everything).
struct NatsUser {
    name: String,
    password: String,
    publish: Option<BTreeSet<String>>,
    subscribe: Option<BTreeSet<String>>,
}

/// The strings between double quotes in `text`.
fn quoted_strings(text: &str) -> BTreeSet<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The users of nats.conf.
fn nats_users() -> Vec<NatsUser> {
    let code = nats_conf_code();
    let authorization =
        nats_block(&code, "authorization").expect("nats.conf has an authorization { } block");
    let users_at = authorization
        .find("users")
        .expect("the authorization block lists users");
    let open = users_at + authorization[users_at..].find('[').expect("users = [ … ]");
    let mut users = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (offset, c) in authorization[open + 1..].char_indices() {
        let at = open + 1 + offset;
        match c {
            '{' => {
                if depth == 0 {
                    start = at + 1;
                }
                depth += 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    let body = &authorization[start..at];
                    let permissions = nats_block(body, "permissions");
                    let allowed = |kind: &str| {
                        permissions
                            .map(|p| nats_block(p, kind).map(quoted_strings).unwrap_or_default())
                    };
                    users.push(NatsUser {
                        name: nats_value(body, "user")
                            .expect("each NATS user has a name")
                            .to_owned(),
                        password: nats_value(body, "password").unwrap_or_default().to_owned(),
                        publish: allowed("publish"),
                        subscribe: allowed("subscribe"),
                    });
                }
            }
            ']' if depth == 0 => break,
            _ => {}
        }
    }
    users
}

#[test]
fn no_password_is_in_any_setting_variable_or_url() {
    let compose = compose();
    let mut used = BTreeSet::new();
    variables_in(&compose, &mut used);
    let password_variables: Vec<&String> = used
        .iter()
        .filter(|name| name.contains("PASSWORD"))
        .collect();
    assert!(
        password_variables.is_empty(),
        "docker-compose.yml interpolates {password_variables:?}: a password goes in a file in \
         deploy/secrets, mounted as a compose secret"
    );
    for name in documented_variables() {
        assert!(
            !name.contains("PASSWORD") || name.ends_with("_FILE"),
            ".env.example documents {name}: no password belongs in .env"
        );
    }
    for (name, service) in services(&compose) {
        for (key, value) in environment(service) {
            let value = with_defaults(&value);
            if key.contains("PASSWORD") {
                assert!(
                    key.ends_with("_PASSWORD_FILE") && value.starts_with("/run/secrets/"),
                    "{name} sets {key}={value}: a password setting must name a secret file \
                     under /run/secrets"
                );
            }
            if let Some((_, rest)) = value.split_once("://") {
                let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
                let userinfo = authority
                    .rsplit_once('@')
                    .map_or("", |(userinfo, _)| userinfo);
                assert!(
                    !userinfo.contains(':'),
                    "{name}'s {key} has a password in its URL: {value}"
                );
            }
        }
    }
}

#[test]
fn no_container_is_handed_a_whole_env_file() {
    let compose = compose();
    for (name, service) in services(&compose) {
        assert!(
            service.get("env_file").is_none(),
            "{name} reads an env_file: name each setting in its `environment` instead, so \
             that nothing else put in that file (a password, one day) reaches the container"
        );
    }
}

#[test]
fn each_container_mounts_only_the_secrets_it_needs() {
    let compose = compose();
    let mut mounted_anywhere = BTreeSet::new();
    for (name, service) in services(&compose) {
        let mounted = mounted_secrets(&name, service);
        let expected: BTreeSet<String> = match name.as_str() {
            // The superuser's password, and the roles' to create them.
            "postgres" => std::iter::once("pg-superuser-password".to_owned())
                .chain(
                    DESIGNED_SERVICES
                        .iter()
                        .map(|service| format!("pg-{service}-password")),
                )
                .collect(),
            // Every user's password, for nats.conf.
            "nats" => std::iter::once("nats-operator-password".to_owned())
                .chain(
                    DESIGNED_SERVICES
                        .iter()
                        .map(|service| format!("nats-{service}-password")),
                )
                .collect(),
            own if runs_dondoc_image(service) => {
                BTreeSet::from([format!("pg-{own}-password"), format!("nats-{own}-password")])
            }
            _ => BTreeSet::new(),
        };
        assert_eq!(mounted, expected, "the secrets {name} mounts");
        mounted_anywhere.extend(mounted);
    }

    // Every secret is defined, mounted somewhere, and a file of deploy/secrets, which is
    // git-ignored and outside the image build context.
    let defined = defined_secrets(&compose);
    assert_eq!(
        defined.keys().cloned().collect::<BTreeSet<_>>(),
        mounted_anywhere,
        "the secrets defined and those mounted"
    );
    for (name, file) in &defined {
        assert_eq!(
            file,
            &format!("./secrets/{name}"),
            "the secret {name} must be the file deploy/secrets/{name}"
        );
    }
    assert!(
        read(".gitignore")
            .lines()
            .any(|line| line.trim() == "secrets/"),
        "deploy/.gitignore must ignore secrets/"
    );
    assert!(
        read("Dockerfile.dockerignore")
            .lines()
            .any(|line| line.trim() == "deploy/secrets"),
        "Dockerfile.dockerignore must keep deploy/secrets out of the build context"
    );

    // Each service connects as its own PostgreSQL role and NATS user, with its own secrets.
    for (name, service) in dondoc_services(&compose) {
        assert_eq!(
            setting(&name, service, "__DATABASE_URL"),
            format!("postgres://{name}@postgres:5432/{name}"),
            "{name} connects to its own database as its own role, no password in the URL"
        );
        assert_eq!(
            setting(&name, service, "__DATABASE_PASSWORD_FILE"),
            format!("/run/secrets/pg-{name}-password")
        );
        assert_eq!(setting(&name, service, "__NATS_USER"), name);
        assert_eq!(
            setting(&name, service, "__NATS_PASSWORD_FILE"),
            format!("/run/secrets/nats-{name}-password")
        );
    }
    let postgres = environment(compose_service(&compose, "postgres"));
    assert_eq!(
        postgres.get("POSTGRES_PASSWORD_FILE").map(String::as_str),
        Some("/run/secrets/pg-superuser-password")
    );
    assert!(!postgres.contains_key("POSTGRES_PASSWORD"));
}

#[test]
fn the_init_script_makes_a_login_role_owning_each_database_closed_to_public() {
    let created = created_databases();
    let expected: BTreeSet<String> = DESIGNED_SERVICES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        created, expected,
        "the services postgres/init.sh makes roles for"
    );

    let script = read("postgres/init.sh");
    // A quoted heredoc: the shell splices nothing, the password least of all, into the SQL.
    let sql = script
        .split_once("<<'SQL'\n")
        .and_then(|(_, rest)| rest.split_once("\nSQL\n"))
        .map(|(sql, _)| sql)
        .expect("postgres/init.sh feeds psql its SQL as a quoted heredoc, <<'SQL' … SQL");
    let statements = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    for statement in [
        // The password only as a psql variable, which psql quotes itself.
        r"\getenv password DONDOC_ROLE_PASSWORD",
        r#"CREATE ROLE :"service" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';"#,
        r#"CREATE DATABASE :"service" OWNER :"service";"#,
        r#"ALTER DATABASE :"service" OWNER TO :"service";"#,
        r#"REVOKE ALL ON DATABASE :"service" FROM PUBLIC;"#,
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
        "SET log_min_error_statement = 'panic';",
    ] {
        assert!(
            statements.contains(statement),
            "postgres/init.sh must run `{statement}`"
        );
    }
    assert!(
        script.contains("secrets_dir=${DONDOC_SECRETS_DIR:-/run/secrets}")
            && script.contains(r#"secret="$secrets_dir/pg-$service-password""#),
        "postgres/init.sh reads each role's password from /run/secrets/pg-<service>-password"
    );
}

#[test]
fn nats_conf_has_a_user_per_service_that_may_publish_only_its_own_subjects() {
    use dondoc_eventsourcing::anchor::anchor_subject;
    let users = nats_users();
    let names: BTreeSet<&str> = users.iter().map(|user| user.name.as_str()).collect();
    let expected: BTreeSet<&str> = DESIGNED_SERVICES.into_iter().chain(["operator"]).collect();
    assert_eq!(
        names, expected,
        "the users of nats.conf: one per service, and operator"
    );

    let compose = compose();
    let nats = compose_service(&compose, "nats");
    let secrets = mounted_secrets("nats", nats);
    assert_eq!(
        nats.get("entrypoint")
            .and_then(Value::as_sequence)
            .and_then(|parts| parts.last())
            .and_then(Value::as_str),
        Some("/etc/nats/entrypoint.sh"),
        "the nats container starts through nats/entrypoint.sh, which exports the passwords"
    );
    for user in &users {
        // The password is no literal: nats/entrypoint.sh exports it from the user's secret.
        let variable = format!(
            "$NATS_{}_PASSWORD",
            user.name.to_ascii_uppercase().replace('-', "_")
        );
        assert_eq!(user.password, variable, "the password of {}", user.name);
        assert!(
            secrets.contains(&format!("nats-{}-password", user.name)),
            "the nats service must mount the secret nats-{}-password",
            user.name
        );
        if user.name == "operator" {
            continue;
        }
        let (publish, subscribe) = expected_nats_permissions(&user.name);
        assert_eq!(
            user.publish.as_ref(),
            Some(&publish),
            "what {} may publish: its own events and anchors, and the JetStream requests for \
             the streams it writes and reads",
            user.name
        );
        assert_eq!(
            user.subscribe.as_ref(),
            Some(&subscribe),
            "what {} may subscribe to: its own inbox",
            user.name
        );
        for other in DESIGNED_SERVICES
            .into_iter()
            .filter(|other| *other != user.name)
        {
            let prefix = format!("{}.", RelayConfig::for_service(other).subject_prefix);
            for subject in &publish {
                assert!(
                    !subject.starts_with(&prefix) && *subject != anchor_subject(other),
                    "{} may publish {subject}, which is {other}'s",
                    user.name
                );
            }
        }
    }
}

#[test]
fn the_readme_secret_commands_make_every_secret_compose_mounts() {
    let section = readme_section("Secrets");
    let blocks = shell_blocks(&section);
    let make = blocks
        .first()
        .expect("README.md \"Secrets\" starts with an sh block that makes the secret files");

    // As written, from a stand-in repository root.
    let root = tempfile::tempdir().expect("create a temporary repository root");
    let output = Command::new("sh")
        .args(["-eu", "-c", make])
        .current_dir(root.path())
        .output()
        .expect("sh runs");
    assert!(
        output.status.success(),
        "the README's secret commands fail (openssl is needed): {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let deploy = root.path().join("deploy");
    assert_eq!(
        mode(&deploy.join("secrets")) & 0o077,
        0,
        "deploy/secrets must be owner-only"
    );
    for (name, file) in defined_secrets(&compose()) {
        let path = deploy.join(&file);
        assert!(
            path.is_file(),
            "the README's commands do not make {file} (secret {name})"
        );
        assert_eq!(
            mode(&path) & 0o077,
            0,
            "{file} must be made owner-only (README.md then hands it to its readers)"
        );
        let password = std::fs::read_to_string(&path).expect("read the secret");
        let password = password.trim_end_matches('\n');
        assert!(
            password.len() >= 32
                && password
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')),
            "{file} must hold a long base64 password, which both nats/entrypoint.sh and a \
             percent-encoded URL take"
        );
    }
}

#[test]
fn the_nats_entrypoint_refuses_a_password_nats_conf_could_not_read_back() {
    let server = locate_or_install().expect("the pinned nats-server is available");
    let secrets = tempfile::tempdir().expect("create a secrets directory");
    nats_secrets(secrets.path());
    std::fs::write(
        secrets.path().join("nats-bad-password"),
        "with \"quotes\"\n",
    )
    .expect("write a bad secret");

    let output = nats_through_entrypoint(&server, secrets.path())
        .arg("-c")
        .arg(deploy_dir().join("nats/nats.conf"))
        .arg("-t")
        .output()
        .expect("sh runs");

    // A password nats.conf could not read back is refused before the server starts.
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("nats-bad-password"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The pinned nats-server running deploy/nats/nats.conf through nats/entrypoint.sh, as the
/// compose nats container does: the nats service's secrets with random passwords, a random
/// loopback port, JetStream in a temporary directory. Killed when dropped.
struct ComposeNats {
    child: std::process::Child,
    port: u16,
    /// User → password.
    passwords: BTreeMap<String, String>,
    _scratch: tempfile::TempDir,
}

impl ComposeNats {
    async fn start() -> Self {
        let server = locate_or_install().expect("the pinned nats-server is available");
        let scratch = tempfile::tempdir().expect("create a scratch directory");
        let secrets = scratch.path().join("secrets");
        std::fs::create_dir(&secrets).expect("create the secrets directory");
        let passwords = nats_secrets(&secrets)
            .into_iter()
            .filter_map(|(name, password)| {
                let user = name.strip_prefix("nats-")?.strip_suffix("-password")?;
                Some((user.to_owned(), password))
            })
            .collect();
        // The compose configuration with the JetStream store moved out of /data (the server
        // refuses a store directory on its command line next to one in the file).
        let text = read("nats/nats.conf");
        let store = scratch.path().join("store");
        let moved = text.replace(
            "store_dir: \"/data\"",
            &format!("store_dir: \"{}\"", store.display()),
        );
        assert_ne!(
            moved, text,
            "nats.conf keeps its store at store_dir: \"/data\""
        );
        let conf = scratch.path().join("nats.conf");
        std::fs::write(&conf, moved).expect("write the configuration");
        let log = scratch.path().join("nats-server.log");
        let errors = scratch.path().join("stderr");
        let mut child = nats_through_entrypoint(&server, &secrets)
            .arg("-c")
            .arg(&conf)
            .args(["-a", "127.0.0.1", "-p", "-1", "-m", "-1"])
            .arg("-l")
            .arg(&log)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&errors).expect("create the stderr file"))
            .spawn()
            .expect("sh runs");
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let port = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Server is ready") {
                let port = text.lines().find_map(|line| {
                    let (_, address) = line.split_once("Listening for client connections on ")?;
                    address.trim().rsplit_once(':')?.1.parse::<u16>().ok()
                });
                break port.expect("the log names the client port");
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "nats-server exited ({status}): {}{text}",
                    std::fs::read_to_string(&errors).unwrap_or_default()
                );
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("nats-server is not ready after 15 s: {text}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Self {
            child,
            port,
            passwords,
            _scratch: scratch,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn password(&self, user: &str) -> &str {
        self.passwords
            .get(user)
            .unwrap_or_else(|| panic!("the nats service has no secret for {user}"))
    }
}

impl Drop for ComposeNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the server refuses a JetStream publish to `subject` (no acknowledgement comes).
async fn publish_refused(js: &async_nats::jetstream::Context, subject: String) -> bool {
    match js.publish(subject, "forged".into()).await {
        Err(_) => true,
        Ok(acknowledgement) => acknowledgement.await.is_err(),
    }
}

#[tokio::test]
async fn each_nats_user_can_do_what_its_service_needs_and_nothing_of_another() {
    use async_nats::jetstream::{self, consumer::pull, stream};
    use dondoc_eventsourcing::anchor::{ANCHOR_STREAM, anchor_subject};
    use dondoc_runtime::lifecycle::{connect_nats_with, jetstream as service_jetstream};
    use futures::StreamExt as _;

    let nats = ComposeNats::start().await;
    let url = nats.url();

    // Nobody connects without a user, or with a wrong password.
    assert!(
        async_nats::connect(&url).await.is_err(),
        "an anonymous client connected"
    );
    assert!(
        async_nats::ConnectOptions::with_user_and_password(
            "assignment".to_owned(),
            "wrong".to_owned()
        )
        .connect(&url)
        .await
        .is_err(),
        "a wrong password was accepted"
    );

    // Each service connects as its runtime does.
    let mut clients = BTreeMap::new();
    for service in DESIGNED_SERVICES {
        let credentials = NatsCredentials::new(service, nats.password(service));
        let client = connect_nats_with(&url, &format!("dondoc-{service}"), Some(&credentials))
            .await
            .expect("the NATS client is created");
        clients.insert(service, client);
    }
    let client_of = |service: &str| {
        clients
            .get(service)
            .cloned()
            .unwrap_or_else(|| panic!("no client for {service}"))
    };

    // What each service writes: its stream, an event, an anchor read back, notices.
    for service in DESIGNED_SERVICES {
        let needs = nats_needs(service);
        let js = service_jetstream(client_of(service));
        if needs.publishes_events {
            let own = RelayConfig::for_service(service);
            dondoc_eventsourcing::relay::ensure_stream(&js, &own)
                .await
                .unwrap_or_else(|err| panic!("{service} cannot create its stream: {err}"));
            js.publish(
                format!("{}.deploy.event-1", own.subject_prefix),
                "event".into(),
            )
            .await
            .unwrap_or_else(|err| panic!("{service} cannot publish its events: {err}"))
            .await
            .unwrap_or_else(|err| panic!("{service}'s event is not stored: {err}"));
            dondoc_eventsourcing::anchor::ensure_anchor_stream(&js, 1)
                .await
                .unwrap_or_else(|err| panic!("{service} cannot create the anchor stream: {err}"));
            let anchor = anchor_subject(service);
            js.publish(anchor.clone(), "{}".into())
                .await
                .unwrap_or_else(|err| panic!("{service} cannot publish its anchors: {err}"))
                .await
                .unwrap_or_else(|err| panic!("{service}'s anchor is not stored: {err}"));
            js.get_stream(ANCHOR_STREAM)
                .await
                .unwrap_or_else(|err| panic!("{service} cannot look at the anchors: {err}"))
                .get_last_raw_message_by_subject(&anchor)
                .await
                .unwrap_or_else(|err| panic!("{service} cannot read its anchor back: {err}"));
        }
        if needs.publishes_notices {
            use dondoc_contracts::escalation::{NOTIFY_STREAM, NOTIFY_SUBJECTS, unit_subject};
            js.get_or_create_stream(stream::Config {
                name: NOTIFY_STREAM.to_owned(),
                subjects: vec![NOTIFY_SUBJECTS.to_owned()],
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .unwrap_or_else(|err| panic!("{service} cannot create the notify stream: {err}"));
            js.publish(unit_subject("deploy-test"), "notice".into())
                .await
                .unwrap_or_else(|err| panic!("{service} cannot publish notices: {err}"))
                .await
                .unwrap_or_else(|err| panic!("{service}'s notice is not stored: {err}"));
        }
    }

    // What each service reads: a durable pull consumer on each stream it reads, as
    // dondoc_eventsourcing::consumer does it: created, pulled from, acknowledged, looked at,
    // deleted (a read model's reset).
    for service in DESIGNED_SERVICES {
        let js = service_jetstream(client_of(service));
        for read in nats_needs(service).reads {
            let source = RelayConfig::for_service(read);
            let stream = js
                .get_stream(&source.stream_name)
                .await
                .unwrap_or_else(|err| panic!("{service} cannot look at the {read} stream: {err}"));
            let name = format!("{service}-deploy-test");
            let consumer = stream
                .get_or_create_consumer(
                    &name,
                    pull::Config {
                        durable_name: Some(name.clone()),
                        ack_policy: jetstream::consumer::AckPolicy::Explicit,
                        max_deliver: -1,
                        filter_subjects: vec![format!("{}.>", source.subject_prefix)],
                        ..Default::default()
                    },
                )
                .await
                .unwrap_or_else(|err| panic!("{service} cannot consume the {read} stream: {err}"));
            let mut batch = consumer
                .fetch()
                .max_messages(1)
                .expires(Duration::from_secs(2))
                .messages()
                .await
                .unwrap_or_else(|err| panic!("{service} cannot pull {read}'s events: {err}"));
            let message = batch
                .next()
                .await
                .unwrap_or_else(|| panic!("{service} pulled none of {read}'s events"))
                .unwrap_or_else(|err| panic!("{service} cannot pull {read}'s events: {err}"));
            message
                .double_ack()
                .await
                .unwrap_or_else(|err| panic!("{service} cannot acknowledge {read}'s event: {err}"));
            stream
                .consumer_info(&name)
                .await
                .unwrap_or_else(|err| panic!("{service} cannot look at its consumer: {err}"));
            stream
                .delete_consumer(&name)
                .await
                .unwrap_or_else(|err| panic!("{service} cannot delete its consumer: {err}"));
        }
    }

    // What no service may do: write another's events or anchors, look at a stream it does
    // not read, delete or purge a stream (its own included). Tried all at once: a refused
    // request is only seen as an answer that never comes.
    let mut attempts = tokio::task::JoinSet::new();
    for service in DESIGNED_SERVICES {
        let needs = nats_needs(service);
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(2))
            .build(client_of(service));
        for other in DESIGNED_SERVICES
            .into_iter()
            .filter(|other| *other != service)
        {
            let other_stream = RelayConfig::for_service(other);
            for subject in [
                format!("{}.deploy.forged", other_stream.subject_prefix),
                anchor_subject(other),
            ] {
                let js = js.clone();
                let what = format!("{service} publishing to {subject}");
                attempts.spawn(async move { (what, publish_refused(&js, subject).await) });
            }
            if nats_needs(other).publishes_events && !needs.reads.contains(other) {
                let js = js.clone();
                let what = format!("{service} looking at {}", other_stream.stream_name);
                attempts.spawn(async move {
                    (what, js.get_stream(other_stream.stream_name).await.is_err())
                });
            }
        }
        let mut streams = vec![ANCHOR_STREAM.to_owned()];
        if needs.publishes_events {
            streams.push(RelayConfig::for_service(service).stream_name);
        }
        for stream_name in streams {
            let js = js.clone();
            let what = format!("{service} deleting {stream_name}");
            attempts.spawn(async move { (what, js.delete_stream(stream_name).await.is_err()) });
        }
    }
    let mut allowed = Vec::new();
    while let Some(attempt) = attempts.join_next().await {
        let (what, refused) = attempt.expect("the attempt ran");
        if !refused {
            allowed.push(what);
        }
    }
    assert!(allowed.is_empty(), "nats.conf allows {allowed:?}");

    // Nor read what another receives: every subscription outside its own inbox is refused.
    for service in DESIGNED_SERVICES {
        let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel::<String>();
        let credentials = NatsCredentials::new(service, nats.password(service));
        let client = async_nats::ConnectOptions::with_user_and_password(
            service.to_owned(),
            nats.password(service).to_owned(),
        )
        .custom_inbox_prefix(credentials.inbox_prefix())
        .event_callback(move |event| {
            let _ = events_tx.send(event.to_string());
            async {}
        })
        .connect(&url)
        .await
        .unwrap_or_else(|err| panic!("{service} cannot connect: {err}"));
        let mut forbidden = vec!["_INBOX.>".to_owned(), "dondoc.>".to_owned()];
        forbidden.extend(
            DESIGNED_SERVICES
                .into_iter()
                .filter(|other| *other != service)
                .map(|other| format!("{}.>", NatsCredentials::new(other, "").inbox_prefix())),
        );
        let mut subscriptions = Vec::new();
        for subject in &forbidden {
            subscriptions.push(
                client
                    .subscribe(subject.clone())
                    .await
                    .expect("the client sends the subscription"),
            );
        }
        client
            .flush()
            .await
            .expect("the subscriptions reach the server");
        let mut refused = BTreeSet::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while refused.len() < forbidden.len() {
            let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await else {
                break;
            };
            if !event.contains("Permissions Violation for Subscription") {
                continue;
            }
            if let Some(subject) = forbidden
                .iter()
                .find(|subject| event.contains(&format!("\"{subject}\"")))
            {
                refused.insert(subject.clone());
            }
        }
        let allowed: Vec<&String> = forbidden
            .iter()
            .filter(|subject| !refused.contains(*subject))
            .collect();
        assert!(allowed.is_empty(), "{service} may subscribe to {allowed:?}");
    }

    // And nothing forged got in: each stream holds the one event its own service published.
    let operator = async_nats::ConnectOptions::with_user_and_password(
        "operator".to_owned(),
        nats.password("operator").to_owned(),
    )
    .connect(&url)
    .await
    .expect("the operator connects");
    let js = service_jetstream(operator);
    for service in DESIGNED_SERVICES
        .into_iter()
        .filter(|service| nats_needs(service).publishes_events)
    {
        let stream = js
            .get_stream(RelayConfig::for_service(service).stream_name)
            .await
            .expect("the operator looks at every stream");
        assert_eq!(
            stream.cached_info().state.messages,
            1,
            "the {service} stream holds its own event only"
        );
    }
}

/// The server of `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`) as libpq's environment
/// for psql (and POSTGRES_USER for postgres/init.sh), and its `HOST:PORT`.
fn libpq_environment(url: &str) -> (Vec<(&'static str, String)>, String) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (userinfo, host_port) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (user, password) = userinfo
        .split_once(':')
        .map_or((userinfo, None), |(user, password)| (user, Some(password)));
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "5432"));
    let user = if user.is_empty() { "postgres" } else { user };
    let mut environment = vec![
        ("PGHOST", host.to_owned()),
        ("PGPORT", port.to_owned()),
        ("POSTGRES_USER", user.to_owned()),
    ];
    if let Some(password) = password {
        environment.push(("PGPASSWORD", password.to_owned()));
    }
    (environment, format!("{host}:{port}"))
}

/// postgres/init.sh as written, for `services` (their passwords in `secrets`), against the
/// server of `admin_url`.
fn run_init_script(admin_url: &str, services: &[&str], secrets: &Path) -> std::process::Output {
    let (environment, _) = libpq_environment(admin_url);
    Command::new("bash")
        .arg(deploy_dir().join("postgres/init.sh"))
        .env("DONDOC_SERVICES", services.join(" "))
        .env("DONDOC_SECRETS_DIR", secrets)
        .envs(environment)
        .output()
        .expect("bash runs")
}

/// A service's settings as compose gives them: a URL without a password, the password in a
/// file.
fn settings_with_password_file(database_url: String, password_file: PathBuf) -> ServiceSettings {
    ServiceSettings {
        database_url,
        database_password_file: Some(password_file),
        nats_url: "nats://127.0.0.1:4222".to_owned(),
        nats_user: None,
        nats_password_file: None,
        nats_ca_path: None,
        listen: "127.0.0.1:0".to_owned(),
        tls: None,
        database: Default::default(),
        stream: Default::default(),
        shutdown_drain: Duration::ZERO,
        anchor: None,
    }
}

/// The test PostgreSQL server's superuser URL (`DONDOC_TEST_POSTGRES_URL`) and a fresh prefix
/// for throwaway role and database names; `None` when no server is configured (and none is
/// required). `dondoc_t_<seconds>_…` names a failed run leaves behind are dropped an hour later
/// by the other PostgreSQL tests (dondoc_eventsourcing::testing).
fn test_postgres() -> Option<(String, String)> {
    use dondoc_eventsourcing::testing::POSTGRES_URL_VAR;
    let admin_url = match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var("DONDOC_REQUIRE_POSTGRES").is_err(),
                "{POSTGRES_URL_VAR} must be set when DONDOC_REQUIRE_POSTGRES is"
            );
            return None;
        }
    };
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let prefix = format!("dondoc_t_{seconds}_{:08x}", rand::random::<u32>());
    Some((admin_url, prefix))
}

/// postgres/init.sh run against the test PostgreSQL server (`DONDOC_TEST_POSTGRES_URL`, a
/// superuser) for two services under throwaway names. The CI server trusts 127.0.0.1, so the
/// passwords themselves are not checked here (the stored SCRAM verifier is); privileges are.
#[tokio::test]
async fn the_init_script_gives_each_service_a_role_that_can_use_its_own_database_only() {
    use sqlx::Connection as _;
    use sqlx::postgres::{PgConnectOptions, PgConnection};
    use std::str::FromStr as _;

    let Some((admin_url, prefix)) = test_postgres() else {
        return;
    };
    let own = format!("{prefix}_assignment");
    let other = format!("{prefix}_reporting");
    let secrets = tempfile::tempdir().expect("create a secrets directory");
    let secret = |service: &str| secrets.path().join(format!("pg-{service}-password"));
    // Quotes, a backslash, URL delimiters, non-ASCII and an attempted injection: spliced into
    // SQL or a URL as text, any of them would break the script or the connection.
    let own_password = "p@ss:w/o'rd;\"$x\\ é'); DROP ROLE IF EXISTS dondoc_nobody; --";
    std::fs::write(secret(&own), format!("{own_password}\n")).expect("write a secret");
    std::fs::write(secret(&other), format!("{}\n", random_password())).expect("write a secret");

    let first_run = run_init_script(&admin_url, &[own.as_str(), other.as_str()], secrets.path());
    assert!(
        first_run.status.success(),
        "postgres/init.sh fails (it needs psql 15 or later): {}{}",
        String::from_utf8_lossy(&first_run.stdout),
        String::from_utf8_lossy(&first_run.stderr)
    );

    // The roles and databases, as the superuser sees them.
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("connect as the test superuser");
    let attributes: (bool, bool, bool, bool, bool) = sqlx::query_as(
        "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication \
         FROM pg_roles WHERE rolname = $1",
    )
    .bind(&own)
    .fetch_one(&mut admin)
    .await
    .expect("the role exists");
    let verifier: Option<String> =
        sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = $1")
            .bind(&own)
            .fetch_one(&mut admin)
            .await
            .expect("the role is in pg_authid");
    let owner: String = sqlx::query_scalar(
        "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1",
    )
    .bind(&own)
    .fetch_one(&mut admin)
    .await
    .expect("the database exists");
    let anyone_may_connect: bool =
        sqlx::query_scalar("SELECT has_database_privilege('public', $1, 'CONNECT')")
            .bind(&own)
            .fetch_one(&mut admin)
            .await
            .expect("ask about PUBLIC");
    let other_may_connect: bool =
        sqlx::query_scalar("SELECT has_database_privilege($1, $2, 'CONNECT')")
            .bind(&other)
            .bind(&own)
            .fetch_one(&mut admin)
            .await
            .expect("ask about the other role");

    // The service, as it opens its database: the URL from its settings, the Any driver.
    let (_, host_port) = libpq_environment(&admin_url);
    let own_url =
        settings_with_password_file(format!("postgres://{own}@{host_port}/{own}"), secret(&own))
            .database_url_with_secret()
            .expect("the URL with the password");
    let own_db = dondoc_eventsourcing::Database::connect(&own_url)
        .await
        .expect("the service's role opens its own database");
    sqlx::query("CREATE TABLE events (position BIGINT PRIMARY KEY)")
        .execute(own_db.pool())
        .await
        .expect("the role creates tables in its own database");
    sqlx::query("INSERT INTO events (position) VALUES (1)")
        .execute(own_db.pool())
        .await
        .expect("and writes to them");
    let written: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(own_db.pool())
        .await
        .expect("and reads them");
    let current_user: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(own_db.pool())
        .await
        .expect("ask who it is");
    own_db.close().await;

    // Neither service reaches the other's database.
    let refusal = |result: Result<PgConnection, sqlx::Error>| match result {
        Ok(_) => "connected".to_owned(),
        Err(error) => error.to_string(),
    };
    let crossing = settings_with_password_file(
        format!("postgres://{own}@{host_port}/{other}"),
        secret(&own),
    )
    .database_url_with_secret()
    .expect("the URL with the password");
    let crossed = refusal(PgConnection::connect(&crossing).await);
    let reverse = settings_with_password_file(
        format!("postgres://{other}@{host_port}/{own}"),
        secret(&other),
    )
    .database_url_with_secret()
    .expect("the URL with the password");
    let reversed = refusal(PgConnection::connect(&reverse).await);

    // Run again, as on an existing volume: a new password (rotation), and a table the
    // superuser made before the roles existed, handed over to the service.
    let admin_options = PgConnectOptions::from_str(&admin_url).expect("the admin URL parses");
    let mut admin_in_other = PgConnection::connect_with(&admin_options.database(&other))
        .await
        .expect("connect to the other database as the superuser");
    sqlx::query("CREATE TABLE legacy (id BIGINT)")
        .execute(&mut admin_in_other)
        .await
        .expect("create a table as the superuser");
    std::fs::write(secret(&own), format!("{}\n", random_password())).expect("rotate a secret");
    let second_run = run_init_script(&admin_url, &[own.as_str(), other.as_str()], secrets.path());
    let legacy_owner: String =
        sqlx::query_scalar("SELECT tableowner::text FROM pg_tables WHERE tablename = 'legacy'")
            .fetch_one(&mut admin_in_other)
            .await
            .expect("the table exists");
    let _ = admin_in_other.close().await;
    let other_url = settings_with_password_file(
        format!("postgres://{other}@{host_port}/{other}"),
        secret(&other),
    )
    .database_url_with_secret()
    .expect("the URL with the password");
    let legacy_write = match PgConnection::connect(&other_url).await {
        Ok(mut connection) => {
            let written = sqlx::query("INSERT INTO legacy (id) VALUES (1)")
                .execute(&mut connection)
                .await
                .map(|_| ())
                .map_err(|error| error.to_string());
            let _ = connection.close().await;
            written
        }
        Err(error) => Err(error.to_string()),
    };

    // Clean up before judging, so a failure leaves nothing behind.
    for name in [&own, &other] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .expect("drop a test database");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP ROLE IF EXISTS \"{name}\""
        )))
        .execute(&mut admin)
        .await
        .expect("drop a test role");
    }
    let _ = admin.close().await;

    assert_eq!(
        attributes,
        (true, false, false, false, false),
        "the role {own} may log in, and do nothing else beyond its database"
    );
    assert!(
        verifier
            .as_deref()
            .is_some_and(|verifier| verifier.starts_with("SCRAM-SHA-256$")),
        "the role's password is stored as a SCRAM verifier: {verifier:?}"
    );
    assert_eq!(owner, own, "the service's role owns its database");
    assert!(
        !anyone_may_connect,
        "PUBLIC may still connect to the database"
    );
    assert!(
        !other_may_connect,
        "another service's role may connect to the database"
    );
    assert_eq!(
        (written, current_user.as_str()),
        (1, own.as_str()),
        "the service works in its own database as its own role"
    );
    for (who, outcome) in [(&own, &crossed), (&other, &reversed)] {
        assert!(
            outcome.contains("permission denied for database"),
            "{who} reached the other service's database: {outcome}"
        );
    }
    assert!(
        second_run.status.success(),
        "postgres/init.sh fails on its second run: {}{}",
        String::from_utf8_lossy(&second_run.stdout),
        String::from_utf8_lossy(&second_run.stderr)
    );
    assert_eq!(
        legacy_owner, other,
        "a second run hands the tables of the database over to its service"
    );
    assert_eq!(
        legacy_write,
        Ok(()),
        "the service writes to the table it was handed"
    );
}

/// Every dondoc service's settings as compose would load them: the union of the services'
/// `environment` blocks, through the services' own settings types.
#[derive(serde::Deserialize)]
struct ComposeSettings {
    assignment: dondoc_assignment::AssignmentSettings,
    progress: dondoc_progress::ProgressSettings,
    escalation: dondoc_escalation::EscalationSettings,
    discipline: dondoc_discipline::DisciplineSettings,
    reporting: dondoc_reporting::ReportingSettings,
    auth: dondoc_runtime::service::AuthSettings,
}

/// Compose as written, without Docker. Each dondoc service's `environment` (with compose's
/// defaults, and its host names and secret paths pointed at this machine) goes through the
/// real settings loader; the services start against the pinned nats-server running nats.conf's
/// users and the local PostgreSQL with postgres/init.sh's roles; each answers SERVING; a task
/// assigned through one reaches the board of another (so the NATS permissions a flow needs
/// are granted); and one service's role cannot open another's database.
#[tokio::test]
async fn the_compose_services_start_as_their_own_roles_and_users_and_serve() {
    use dondoc_proto::v1 as pb;
    use dondoc_runtime::auth::BearerToken;
    use tonic_health::pb::health_check_response::ServingStatus;

    let Some((admin_url, prefix)) = test_postgres() else {
        return;
    };
    let nats = ComposeNats::start().await;
    let secrets = tempfile::tempdir().expect("create a secrets directory");
    let keys = tempfile::tempdir().expect("create a keys directory");
    let prefixed = |name: &str| format!("{prefix}_{name}");
    let (_, host_port) = libpq_environment(&admin_url);

    // The secrets compose mounts, as files: PostgreSQL role passwords for init.sh and the
    // services, the NATS passwords the server was started with.
    for service in DESIGNED_SERVICES {
        std::fs::write(
            secrets
                .path()
                .join(format!("pg-{}-password", prefixed(service))),
            format!("{}\n", random_password()),
        )
        .expect("write a secret");
        std::fs::write(
            secrets.path().join(format!("nats-{service}-password")),
            format!("{}\n", nats.password(service)),
        )
        .expect("write a secret");
    }
    let roles: Vec<String> = DESIGNED_SERVICES.iter().map(|s| prefixed(s)).collect();
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    let init = run_init_script(&admin_url, &roles, secrets.path());
    assert!(
        init.status.success(),
        "postgres/init.sh: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let (private, public) = dondoc_runtime::auth::generate_dev_keypair().expect("a key pair");

    // Compose's environment blocks, pointed at this machine.
    let compose = compose();
    let mut variables = BTreeMap::new();
    for (name, service) in dondoc_services(&compose) {
        for (key, value) in environment(service) {
            let value = with_defaults(&value);
            let value = if let Some(secret) = value.strip_prefix("/run/secrets/") {
                let file = match secret.strip_prefix("pg-") {
                    Some(rest) => format!("pg-{prefix}_{rest}"),
                    None => secret.to_owned(),
                };
                secrets.path().join(file).display().to_string()
            } else if let Some(file) = value.strip_prefix("/etc/dondoc/keys/") {
                let path = keys.path().join(file);
                std::fs::write(&path, &public).expect("write the public key");
                path.display().to_string()
            } else if let Some(rest) = value.strip_prefix("postgres://") {
                let (user, database) = rest
                    .split_once("@postgres:5432/")
                    .unwrap_or_else(|| panic!("{key}: {value} is not on the postgres service"));
                format!(
                    "postgres://{}@{host_port}/{}",
                    prefixed(user),
                    prefixed(database)
                )
            } else if value == "nats://nats:4222" {
                nats.url()
            } else if key.ends_with("__LISTEN") {
                "127.0.0.1:0".to_owned()
            } else {
                // Telemetry settings among them: parsed here, not started.
                value
            };
            for compose_only in ["@postgres:", "nats://nats", "/run/secrets", "/etc/dondoc"] {
                assert!(
                    !value.contains(compose_only),
                    "{name}: {key}={value} still names a compose-only place"
                );
            }
            if let Some(earlier) = variables.insert(key.clone(), value.clone()) {
                assert_eq!(earlier, value, "{key} differs between services");
            }
        }
    }
    let mut settings: ComposeSettings =
        dondoc_runtime::config::load_with_environment(None, "", variables)
            .expect("compose's environment loads through the settings loader");
    let verifier =
        dondoc_runtime::service::load_verifier(&settings.auth).expect("the public key loads");
    let clock = dondoc_runtime::clock::SystemClock::shared();

    let assignment = dondoc_assignment::Application::build(
        &settings.assignment,
        verifier.clone(),
        clock.clone(),
    )
    .await
    .expect("assignment starts as its role and user");
    let progress =
        dondoc_progress::Application::build(&settings.progress, verifier.clone(), clock.clone())
            .await
            .expect("progress starts as its role and user");
    let escalation = dondoc_escalation::Application::build(
        &settings.escalation,
        verifier.clone(),
        clock.clone(),
    )
    .await
    .expect("escalation starts as its role and user");
    let discipline = dondoc_discipline::Application::build(
        &settings.discipline,
        verifier.clone(),
        clock.clone(),
    )
    .await
    .expect("discipline starts as its role and user");
    assert_eq!(
        settings.reporting.progress_url.as_deref(),
        Some("http://progress:50053")
    );
    settings.reporting.progress_url = Some(format!("http://127.0.0.1:{}", progress.port()));
    let reporting =
        dondoc_reporting::Application::build(&settings.reporting, verifier.clone(), clock.clone())
            .await
            .expect("reporting starts as its role and user");
    let ports = [
        ("assignment", assignment.port()),
        ("progress", progress.port()),
        ("escalation", escalation.port()),
        ("discipline", discipline.port()),
        ("reporting", reporting.port()),
    ];

    // Each answers SERVING (database, schema and catch-up ready), as `dondoc health` asks.
    let mut serving = BTreeMap::new();
    for (service, port) in ports {
        let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("an endpoint")
            .connect()
            .await
            .expect("connect");
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let status = loop {
            let status = health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .map_or(-1, |response| response.into_inner().status);
            if status == ServingStatus::Serving as i32 || tokio::time::Instant::now() > deadline {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        serving.insert(service, status);
    }

    // A flow across services: units imported and a task assigned on assignment, read back
    // from reporting's board (assignment publishes, reporting consumes).
    let office = TokenIssuer::from_private_pem(&private)
        .expect("an issuer")
        .mint(
            &Principal {
                subject: "office-user".into(),
                role: Role::Office,
                unit_code: None,
                leader_id: None,
            },
            Duration::from_secs(600),
        )
        .expect("a token");
    let channel = |port: u16| {
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("an endpoint")
            .connect_lazy()
    };
    let mut assign = pb::assignment_service_client::AssignmentServiceClient::with_interceptor(
        channel(assignment.port()),
        BearerToken::new(office.clone()),
    );
    assign
        .import_units(pb::ImportUnitsRequest {
            request_id: dondoc_tests::request_id(),
            toml: dondoc_tests::SEED_UNITS.to_owned(),
        })
        .await
        .expect("units import");
    assign
        .import_leaders(pb::ImportLeadersRequest {
            request_id: dondoc_tests::request_id(),
            toml: dondoc_tests::SEED_LEADERS.to_owned(),
        })
        .await
        .expect("leaders import");
    assign
        .assign_task(dondoc_tests::assignment_request("Rà soát hồ sơ đất đai"))
        .await
        .expect("a task is assigned");
    let mut report = pb::reporting_service_client::ReportingServiceClient::with_interceptor(
        channel(reporting.port()),
        BearerToken::new(office),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let board = loop {
        let board = report
            .get_task_board(pb::GetTaskBoardRequest::default())
            .await
            .expect("the board")
            .into_inner();
        if board.total_tasks == 1 || tokio::time::Instant::now() > deadline {
            break board;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // One service's role, with its own password, against another's database.
    let crossing = settings_with_password_file(
        format!(
            "postgres://{}@{host_port}/{}",
            prefixed("assignment"),
            prefixed("discipline")
        ),
        secrets
            .path()
            .join(format!("pg-{}-password", prefixed("assignment"))),
    )
    .database_url_with_secret()
    .expect("the URL with the password");
    let crossed = dondoc_eventsourcing::Database::connect(&crossing).await;

    assignment.stop().await;
    progress.stop().await;
    escalation.stop().await;
    discipline.stop().await;
    reporting.stop().await;

    for (service, status) in &serving {
        assert_eq!(
            *status,
            ServingStatus::Serving as i32,
            "{service} is not SERVING"
        );
    }
    assert_eq!(board.total_tasks, 1, "{board:?}");
    let refusal = crossed.expect_err("assignment's role cannot open discipline's database");
    assert!(
        refusal.to_string().contains("permission denied"),
        "{refusal}"
    );
}
