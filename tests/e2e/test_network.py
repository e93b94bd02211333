"""Issue 11 with real `prober run` processes: a total outage (every target refuses) is
never invisible, prober's own loss proven by canaries opens nothing, and /-/ready never
depends on the targets. Targets are loopback servers stopped and started by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.e2e.harness import ProberProcess, until, write_config

FAST = """
incidents:
  quiet_period: 3s
  min_update_spacing: 1s
status:
  window: 30s
  min_samples: 5
  recovery_time: 2s
"""


async def _ok(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


class Server:
    """A loopback HTTP server answering 200 that can be stopped (connections refused)
    and started again on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", _ok)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        if not self.port:
            self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def servers() -> AsyncIterator[tuple[Server, Server]]:
    target, canary = Server(), Server()
    await target.start()
    await canary.start()
    try:
        yield target, canary
    finally:
        await target.stop()
        await canary.stop()


def canaries(url: str) -> str:
    return f"network:\n  canaries: [{url}/]\n  interval: 1s\n  timeout: 500ms\n"


async def components(p: ProberProcess) -> dict[str, Any]:
    data: dict[str, Any] = await p.get_json("/api/prober/v1/components.json")
    return data


async def opened(p: ProberProcess) -> list[dict[str, Any]]:
    data = await p.get_json("/api/v2/incidents/unresolved.json")
    return list(data["incidents"])


async def start(tmp_path: Path, target: Server, extra: str) -> ProberProcess:
    config = write_config(tmp_path / "checks.yaml", target.url, extra=FAST + extra)
    proc = ProberProcess(config, tmp_path / "prober.db")
    await proc.start()
    await until(lambda: proc.request("GET", "/-/ready"), what="ready")
    return proc


async def test_total_outage_with_a_canary_answering_opens_critical_and_stays_ready(
    tmp_path: Path, servers: tuple[Server, Server]
) -> None:
    target, canary = servers
    proc = await start(tmp_path, target, canaries(canary.url))
    try:
        await target.stop()  # every target refuses; the canary still answers
        found = await until(lambda: opened(proc), timeout=20.0, what="an incident")
        assert found[0]["impact"] == "critical"  # from its first version on
        status, text = await proc.request("GET", "/-/ready")
        assert status == 200, text
        assert (await components(proc))["network_state"] == "ok"
    finally:
        await proc.stop()


async def test_total_outage_without_canaries_is_shown_after_the_hold(
    tmp_path: Path, servers: tuple[Server, Server]
) -> None:
    target, _ = servers
    proc = await start(tmp_path, target, "")
    try:
        await target.stop()

        async def majors() -> bool:
            data = await components(proc)
            return all(c["status"] == "major_outage" for c in data["components"])

        await until(majors, timeout=20.0, what="every component in major outage")
        assert (await components(proc))["network_state"] == "unverified"
        await until(lambda: opened(proc), timeout=10.0, what="an incident")
        status, _ = await proc.request("GET", "/-/ready")
        assert status == 200
    finally:
        await proc.stop()


async def test_own_network_loss_proven_by_canaries_opens_nothing(
    tmp_path: Path, servers: tuple[Server, Server]
) -> None:
    target, canary = servers
    proc = await start(tmp_path, target, canaries(canary.url))
    try:
        await target.stop()
        await canary.stop()  # nothing answers: prober's own network, as far as it can tell

        async def lost() -> bool:
            return (await components(proc))["network_state"] == "lost"

        await until(lost, timeout=20.0, what="network_state lost")
        status, _ = await proc.request("GET", "/-/ready")
        assert status == 200
        await target.start()
        await canary.start()

        async def back() -> bool:
            return (await components(proc))["network_state"] == "ok"

        await until(back, timeout=20.0, what="network_state ok")
        assert await opened(proc) == []
        data = await components(proc)
        assert all(c["status"] == "operational" for c in data["components"])
    finally:
        await proc.stop()


async def test_recovered_at_and_duration_survive_a_restart(
    tmp_path: Path, servers: tuple[Server, Server]
) -> None:
    """Issue 11: every incident carries recovered_at (the last failing probe); its
    duration is started to recovered, and the store keeps it across a restart."""
    target, canary = servers
    proc = await start(tmp_path, target, canaries(canary.url))
    try:
        await target.stop()
        await until(lambda: opened(proc), timeout=20.0, what="an incident")
        await target.start()  # the same port: the outage is over

        async def resolved() -> list[dict[str, Any]]:
            data = await proc.get_json("/api/v2/incidents.json")
            return [i for i in data["incidents"] if i["status"] == "resolved"]

        [inc] = await until(resolved, timeout=30.0, what="the incident resolved")
    finally:
        await proc.stop()
    assert inc["recovered_at"] is not None
    started, recovered = _ts(inc["started_at"]), _ts(inc["recovered_at"])
    assert recovered - started > 0
    assert _ts(inc["resolved_at"]) > recovered
    again = ProberProcess(proc.config, proc.db)
    await again.start()
    try:
        data = await again.get_json(f"/api/prober/v1/incidents/{inc['id']}.json")
        assert data["incident"]["recovered_at"] == inc["recovered_at"]
    finally:
        await again.stop()


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
