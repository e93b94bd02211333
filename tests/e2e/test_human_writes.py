"""The human write API in a real `prober run`: HTTP is served from its own thread, so each
command crosses to the probing loop (LoopBackend) and comes back once stored; the history
page reads the store the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from prober.demo.sim import start_sim
from tests.e2e.harness import ProberProcess, write_config

TOKEN = "e2e-human-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def target() -> AsyncIterator[str]:
    runner, port = await start_sim("127.0.0.1", 0, scenario="healthy")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_people_run_an_incident_and_a_maintenance_in_a_real_process(
    tmp_path: Path, target: str
) -> None:
    config = write_config(tmp_path / "checks.yaml", target)
    proc = ProberProcess(config, tmp_path / "prober.db", env={"PROBER_API_TOKEN": TOKEN})
    await proc.start()
    try:
        status, text = await proc.request(
            "POST",
            "/api/prober/v1/incidents",
            json={
                "name": "Billing exports delayed",
                "body": "Exports run hours late.",
                "components": {"billing": "degraded_performance"},
            },
            headers=AUTH,
        )
        assert status == 201, text
        comps = {
            c["id"]: c["status"]
            for c in (await proc.get_json("/api/v2/components.json"))["components"]
        }
        assert comps["billing"] == "degraded_performance"
        now = datetime.now(UTC)
        status, text = await proc.request(
            "POST",
            "/api/prober/v1/maintenances",
            json={
                "name": "Upgrade",
                "components": ["platform-api"],
                "starts_at": (now - timedelta(minutes=1)).isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
            },
            headers=AUTH,
        )
        assert status == 201, text
        comps = {
            c["id"]: c["status"]
            for c in (await proc.get_json("/api/v2/components.json"))["components"]
        }
        assert comps["platform-api"] == "under_maintenance"
        status, page = await proc.request("GET", f"/history/{now:%Y-%m}")
        assert status == 200 and "Billing exports delayed" in page
        status, _ = await proc.request(
            "POST", "/api/prober/v1/incidents", json={"name": "x", "body": "y"}
        )
        assert status == 401
    finally:
        assert await proc.stop() == 0
