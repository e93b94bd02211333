"""Uptime from probe data, in a real process: a component that only ever answered well
shows 100% (not "no data"), and the probe counts survive a restart (the store's probe
aggregates seed them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from prober.demo.sim import start_sim
from tests.e2e.harness import ProberProcess, until, write_config


@pytest.fixture
async def target() -> AsyncIterator[str]:
    runner, port = await start_sim("127.0.0.1", 0, scenario="healthy")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _today(body: dict[str, Any], component: str) -> dict[str, Any]:
    [comp] = [c for c in body["components"] if c["id"] == component]
    return dict(comp["days"][-1], total=comp["uptime"])


async def test_healthy_component_shows_100_percent_and_keeps_it_across_a_restart(
    tmp_path: Path, target: str
) -> None:
    config = write_config(tmp_path / "checks.yaml", target, components=("billing",))
    db = tmp_path / "prober.db"
    first = ProberProcess(config, db)
    await first.start()
    try:

        async def probed() -> dict[str, Any] | None:
            today = _today(await first.get_json("/api/prober/v1/uptime.json"), "billing")
            return today if today["probes"] >= 10 else None

        today = await until(probed, what="today's probes in uptime.json")
        assert today["uptime"] == 1.0 and today["failures"] == 0 and today["total"] == 1.0
        page = (await first.request("GET", "/"))[1]
        assert "100.00% uptime" in page
    finally:
        assert await first.stop() == 0

    second = ProberProcess(config, db)
    await second.start()
    try:
        today = _today(await second.get_json("/api/prober/v1/uptime.json"), "billing")
        assert today["probes"] >= 10, "probe counts come back from the store at start"
        assert today["uptime"] == 1.0
    finally:
        await second.stop()
