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
  [npm]=npm
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
# axe-core, injected into Chromium by tests/api/test_browser_scenarios.py (project-local).
[ -f .axe/node_modules/axe-core/axe.min.js ] || \
  npm install --prefix .axe --no-save --no-audit --no-fund --silent axe-core@4

echo "== ruff"; python3 -m ruff check .
echo "== mypy"; python3 -m mypy
echo "== pytest"; python3 -m pytest -q -p no:cacheprovider "$@"
