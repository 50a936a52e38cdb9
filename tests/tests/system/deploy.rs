//! The deployment files under `deploy/`, checked without Docker.
//!
//! No Docker engine runs where the tests do, so `docker-compose.yml` is never started here.
//! Instead these tests parse it (YAML merge keys applied, as Compose does) together with the
//! Dockerfile, `.env.example`, `postgres/init.sql`, `otel/collector.yaml` and
//! `alerts/dondoc.rules.yml`, and hold them to the invariants the design asks of a deployment
//! (design §3.2, §3.7): one database per service, the pinned nats-server with fsync on every
//! write, healthchecks that gate start-up, telemetry off the start path, one image built once,
//! hardened containers (read-only, limited, numeric non-root user) with rotated logs, every
//! port published on loopback by default (no TLS yet, NATS without authentication), every
//! setting documented, and alert rules on metrics the services really export.
//! `nats/nats.conf` is also loaded by the pinned `nats-server -t`, and the README's key
//! commands are run as written to prove no container can read the private key. (The compose
//! schema and the Dockerfile lint are CI's: `.ci/run` runs check-jsonschema and hadolint.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use dondoc_runtime::auth::{Principal, Role, TokenIssuer, TokenVerifier};
use dondoc_runtime::nats::{PINNED_NATS_SERVER_VERSION, locate_or_install};
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

/// Databases created by postgres/init.sql.
fn created_databases() -> BTreeSet<String> {
    let sql: String = read("postgres/init.sql")
        .lines()
        .map(|line| line.split_once("--").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    sql.split(';')
        .filter_map(|statement| {
            let words: Vec<&str> = statement.split_whitespace().collect();
            match words.as_slice() {
                [create, database, name, ..]
                    if create.eq_ignore_ascii_case("create")
                        && database.eq_ignore_ascii_case("database") =>
                {
                    Some(name.trim_matches('"').to_owned())
                }
                _ => None,
            }
        })
        .collect()
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
            "{name} uses database {database}, which postgres/init.sql does not create \
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
            mount.starts_with("./postgres/init.sql:/docker-entrypoint-initdb.d/")
                && mount.contains(".sql")
        });
    assert!(
        mounts_init,
        "the postgres service must mount postgres/init.sql into /docker-entrypoint-initdb.d"
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
    let output = Command::new(&server)
        .arg("-c")
        .arg(&conf)
        .arg("-t")
        .output()
        .expect("nats-server runs");
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
        used.contains("POSTGRES_PASSWORD"),
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
                 TLS and NATS has no authentication",
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
