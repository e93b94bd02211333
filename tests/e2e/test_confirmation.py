"""Issue 11 at the DEFAULT probe setting (one request every 15 s) with a real `prober run`
process: the runner's confirmation rounds (prober/confirm.py) make a total outage an
incident within two intervals and the recovery operational within two intervals plus
recovery_time, and the recorded recovery instant is the first success after the fix.

Real time (no fake clock reaches a subprocess): about 45 s. Without confirmation rounds
the fast path needs fourteen single probes, over three minutes, and the first assertion
fails."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ProberProcess, until, write_config
from tests.e2e.target import Target

INTERVAL = 15.0
RECOVERY = 10.0
EXTRA = f"""
incidents:
  quiet_period: 3s
  min_update_spacing: 1s
status:
  recovery_time: {RECOVERY:g}s
"""


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    t = Target(seed=11)
    await t.start()
    try:
        yield t
    finally:
        await t.stop()


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def test_total_outage_and_recovery_at_the_default_probe_setting(
    tmp_path: Path, target: Target
) -> None:
    config = write_config(
        tmp_path / "checks.yaml",
        target.url,
        components=("platform-api",),
        interval="15s",
        extra=EXTRA,
    )
    config.write_text(config.read_text().replace("requests_per_round: 5", "requests_per_round: 1"))
    proc = ProberProcess(config, tmp_path / "prober.db")
    await proc.start()
    try:
        await until(lambda: proc.request("GET", "/-/ready"), what="ready")
        target.fail = 1.0
        broke = time.time()

        async def unresolved() -> list[dict[str, Any]]:
            data = await proc.get_json("/api/v2/incidents/unresolved.json")
            return list(data["incidents"])

        [inc] = await until(unresolved, timeout=2 * INTERVAL + 10, what="an incident")
        assert ts(inc["created_at"]) - broke <= 2 * INTERVAL
        assert inc["impact"] == "critical"
        target.fail = 0.0
        fixed = time.time()

        async def operational() -> bool:
            data = await proc.get_json("/api/prober/v1/components.json")
            return all(c["status"] == "operational" for c in data["components"])

        await until(operational, timeout=2 * INTERVAL + RECOVERY + 20, interval=0.25)
        assert time.time() - fixed <= 2 * INTERVAL + RECOVERY + 1.0  # + the poll

        async def resolved() -> dict[str, Any] | None:
            data = await proc.get_json(f"/api/prober/v1/incidents/{inc['id']}.json")
            found: dict[str, Any] = data["incident"]
            return found if found["status"] == "resolved" else None

        done = await until(resolved, timeout=30.0, what="resolved")
        recovered = ts(done["recovered_at"])
        # the first success after the fix: within one interval of it
        assert fixed <= recovered + 0.5 and recovered - fixed <= INTERVAL
        assert abs((recovered - ts(done["started_at"])) - (fixed - broke)) <= INTERVAL
    finally:
        await proc.stop()
