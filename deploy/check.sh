#!/usr/bin/env bash
# Validates everything in deploy/ that can be validated on this machine (no Docker daemon,
# no cluster): Prometheus rules and their unit tests, the Prometheus configurations, the
# Alertmanager configuration and its routes, YAML and JSON syntax and the objects' kinds,
# the systemd unit, and the Dockerfile's build steps. scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

promtool check rules deploy/prometheus/callpulse-alerts.yml
promtool test rules deploy/prometheus/callpulse-alerts.test.yml
promtool check config --syntax-only deploy/prometheus/prometheus.yml
promtool check config --syntax-only deploy/docker/prometheus.yml

amtool check-config deploy/alertmanager/alertmanager.yml
# Each owner's alerts reach that owner's receiver.
route() {
  amtool config routes test --config.file=deploy/alertmanager/alertmanager.yml \
    --verify.receivers="$1" "${@:2}" >/dev/null 2>&1 \
    || { echo "deploy/check.sh: alert labels ${*:2} do not route to $1" >&2; exit 1; }
}
route floor owner=floor severity=critical queue=billing alertname=CallpulseServiceLevelBreach
route floor owner=floor severity=warning queue=billing alertname=CallpulseAbandonRateHigh
route sre-pager owner=sre severity=critical alertname=CallpulseDown
route sre-tickets owner=sre severity=warning alertname=CallpulseConsumerLagHigh

# The dashboards are generated: the committed JSON must be what the generator writes.
python3 deploy/grafana/dashboards.py --check

python3 - <<'PY'
import glob, json, yaml
for path in glob.glob("deploy/grafana/*.json"):
    board = json.load(open(path))
    assert board["uid"] and board["panels"], path
expected = {
    "deploy/kubernetes/callpulse.yaml": {"ConfigMap", "Deployment", "Service", "PodMonitor", "PodDisruptionBudget"},
    "deploy/docker/compose.yml": None,
    "deploy/grafana/provisioning/datasources/prometheus.yml": None,
    "deploy/grafana/provisioning/dashboards/callpulse.yml": None,
}
for path, kinds in expected.items():
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    if kinds is not None:
        got = {d["kind"] for d in docs}
        assert got == kinds, f"{path}: kinds {got}, expected {kinds}"
        for d in docs:
            assert d.get("apiVersion") and d.get("metadata", {}).get("name"), f"{path}: {d.get('kind')} lacks apiVersion or name"
        deployment = next(d for d in docs if d["kind"] == "Deployment")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        for probe in ["livenessProbe", "readinessProbe"]:
            assert probe in container, f"{path}: no {probe}"
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
compose = yaml.safe_load(open("deploy/docker/compose.yml"))
assert {"kafka", "callpulse", "prometheus", "alertmanager", "grafana"} <= set(compose["services"])
print("deploy/check.sh: YAML and JSON parse; kinds, probes and services as expected")
PY

if command -v systemd-analyze >/dev/null; then
  # The unit as shipped, pointing at the binary built here.
  unit="$(mktemp -d)/callpulse.service"
  sed "s#/usr/local/bin/callpulse#$PWD/target/release/callpulse#" deploy/systemd/callpulse.service > "$unit"
  deploy/docker/build-steps.sh
  out="$(systemd-analyze verify "$unit" 2>&1 || true)"
  if [ -n "$out" ]; then
    echo "deploy/check.sh: systemd-analyze verify: $out" >&2
    exit 1
  fi
  echo "deploy/check.sh: systemd unit verified"
else
  deploy/docker/build-steps.sh
fi
