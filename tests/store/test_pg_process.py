"""`prober run --db postgresql://...` as a real process on the throwaway cluster: an open
incident survives kill -9 of the process, is the same incident after the restart, is not
duplicated, and resolves once the target recovers (as tests/e2e/test_process.py does for
SQLite). Marked slow (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from prober.demo.sim import start_sim
from tests.e2e.harness import STARTED, ProberProcess, until, write_config

FAST = """
incidents:
  quiet_period: 3s
  min_update_spacing: 1s
status:
  window: 30s
  min_samples: 5
  recovery_time: 2s
"""


async def _scenario(url: str, name: str) -> None:
    async with (
        aiohttp.ClientSession() as s,
        s.post(url + "/_sim/scenario", json={"scenario": name}) as r,
    ):
        assert r.status == 200, await r.text()


@pytest.fixture
async def target() -> AsyncIterator[str]:
    runner, port = await start_sim("127.0.0.1", 0, scenario="healthy")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        while STARTED:  # no prober process outlives the test
            proc = STARTED.pop()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def unresolved(p: ProberProcess) -> list[dict[str, Any]]:
    return list((await p.get_json("/api/v2/incidents/unresolved.json"))["incidents"])


async def test_an_incident_on_postgresql_survives_kill_9_once_and_resolves(
    tmp_path: Path, target: str, pg_url: str
) -> None:
    config = write_config(tmp_path / "checks.yaml", target, extra=FAST)
    db: Any = pg_url  # a URL, passed through as --db
    first = ProberProcess(config, db)
    await first.start()
    try:
        await until(lambda: first.request("GET", "/-/ready"), what="ready")
        await _scenario(target, "outage")

        async def both_joined() -> list[dict[str, Any]]:
            found = await unresolved(first)
            ids = {c["id"] for i in found for c in i["components"]}
            return found if ids == {"platform-api", "billing"} else []

        (incident,) = await until(both_joined, what="one incident with both components")
    finally:
        await first.kill()

    second = ProberProcess(config, db)
    await second.start()
    try:
        after = await unresolved(second)
        assert [i["id"] for i in after] == [incident["id"]]
        assert after[0]["started_at"] == incident["started_at"]
        await _scenario(target, "healthy")

        async def resolved() -> Any:
            data = await second.get_json("/api/v2/incidents.json")
            return [i for i in data["incidents"] if i["status"] == "resolved"]

        done = await until(resolved, timeout=60, what="the incident to resolve")
        assert [i["id"] for i in done] == [incident["id"]]
        assert len((await second.get_json("/api/v2/incidents.json"))["incidents"]) == 1
    finally:
        assert await second.stop() == 0
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT id, status FROM incidents")
        assert await cur.fetchall() == [(incident["id"], "resolved")]
