#!/usr/bin/env bash
# The Dockerfile's build and install steps, run here without Docker: a release build, the
# binary installed stripped, and its shared libraries all among those the runtime image
# installs (libc, libgcc_s, libm, libssl3, libcrypto, zlib). scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

cargo build --release --locked -p callpulse
install -D -m 0755 target/release/callpulse "$out/callpulse"
install -D -m 0644 config/callpulse.toml "$out/callpulse.toml"

# Stripped: no symbol table, no debug sections.
if readelf -S "$out/callpulse" | grep -Eq '\.(symtab|debug_)'; then
  echo "build-steps: target/release/callpulse is not stripped" >&2
  exit 1
fi
# Every shared library it needs is one the runtime stage installs.
allowed='^(linux-vdso|libc|libm|libgcc_s|libssl|libcrypto|libz|ld-linux-x86-64|ld-linux-aarch64)\.'
unexpected="$(ldd "$out/callpulse" | awk '{print $1}' | xargs -n1 basename | grep -Ev "$allowed" || true)"
if [ -n "$unexpected" ]; then
  echo "build-steps: the runtime image lacks: $unexpected" >&2
  exit 1
fi
# The installed binary runs and reads the installed configuration.
"$out/callpulse" --version
"$out/callpulse" --config "$out/callpulse.toml" replay --help >/dev/null
echo "build-steps: $(du -h "$out/callpulse" | cut -f1) stripped binary, runtime libraries covered"
