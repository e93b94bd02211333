"""Suite-wide test set-up: which tests are ``slow``.

``pytest -m "not slow"`` runs the unit suite alone (pure domain, config, probes against
in-process loopback servers, store, API handlers). Tests that start real processes or
external components (prober subprocesses, Prometheus, promtool, Chromium, the Helm
engine, kill -9 runs, the bench smoke runs) are marked ``slow`` here, by place, so a new
test in one of these places is marked without anyone remembering to.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pg import pg_cluster, pg_url  # noqa: F401  (the PostgreSQL fixtures)

TESTS = Path(__file__).resolve().parent

SLOW_PLACES = (
    "e2e",
    "deploy",
    "api/test_browser.py",
    "api/test_browser_scenarios.py",
    "store/test_kill.py",
    "demo/test_demo_sim_cli.py",
    "test_bench_smoke.py",
)


def _is_slow(path: Path) -> bool:
    rel = path.resolve().relative_to(TESTS).as_posix()
    return any(rel == place or rel.startswith(place + "/") for place in SLOW_PLACES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _is_slow(Path(str(item.path))):
            item.add_marker(pytest.mark.slow)
