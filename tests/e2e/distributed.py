"""Real processes for the distributed mode: `prober run` replicas and `prober agent`s on a
throwaway PostgreSQL (tests/pg.py: Unix socket only), a scriptable loopback target that
keeps its flip history, and a webhook receiver that records every delivery.

Every server binds port 0 on 127.0.0.1 (a replica reports its addresses in its `listening`
and `admin_listening` log lines, an agent in `agent_started`); every process is recorded
in tests/e2e/harness.py's STARTED, so tests/e2e/conftest.py kills whatever a test leaves
running. An agent can run in a network namespace of its own (`unshare -n`, root only): its
loopback is down there, so its probes fail with "network unreachable", while the database
is still reached through its Unix socket (a file path, not the network).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tests.e2e.harness import REPO, STARTED, ProberProcess
from tests.e2e.target import Target

LOCATIONS = ("a", "b", "c")


@dataclass
class Flip:
    at: float  # wall clock (time.time), comparable with the incidents' timestamps
    healthy: bool


class FlippingTarget(Target):
    """The loopback target, healthy (200) or in an outage (500 for every request), with
    the history of its flips."""

    def __init__(self) -> None:
        super().__init__(seed=14)
        self.flips: list[Flip] = []

    def set_healthy(self, healthy: bool) -> None:
        if self.flips and self.flips[-1].healthy == healthy:
            return
        self.fail = 0.0 if healthy else 1.0
        self.flips.append(Flip(time.time(), healthy))

    def outages(self, until: float | None = None) -> list[tuple[float, float]]:
        """Every outage episode as (start, end), the last one ending at `until` (or now)
        when still going on."""
        out: list[tuple[float, float]] = []
        start: float | None = None
        for flip in self.flips:
            if not flip.healthy and start is None:
                start = flip.at
            elif flip.healthy and start is not None:
                out.append((start, flip.at))
                start = None
        if start is not None:
            out.append((start, until if until is not None else time.time()))
        return out


@dataclass
class Delivery:
    webhook_id: str
    event: str
    body: dict[str, Any]
    at: float


class Receiver:
    """A webhook endpoint on 127.0.0.1:0 that records every delivery with its
    `webhook-id` header, and answers 204."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _hook(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self.deliveries.append(
            Delivery(
                request.headers.get("webhook-id", ""), str(body.get("event")), body, time.time()
            )
        )
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def distributed_config(
    path: Path,
    target: str,
    hook: str,
    *,
    interval: str = "1s",
    locations: tuple[str, ...] = LOCATIONS,
    extra: str = "",
    requests: int = 10,
    location_timeout: str = "5s",
) -> Path:
    """Two components, one check each (a location is judged lost on two checks or more),
    probed from every location with `requests` a round (1: the fast path then rests on
    the agents' confirmation rounds, paired across locations: docs/DETECTION.md "With
    probe agents"); short windows; one webhook."""
    path.write_text(
        f"""page:
  name: E2E distributed
components:
  - id: platform-api
    name: Platform API
  - id: billing
    name: Billing
checks:
  - id: platform-api-health
    component: platform-api
    url: {target}/platform-api/health
    interval: {interval}
    timeout: 500ms
    requests_per_round: {requests}
  - id: billing-health
    component: billing
    url: {target}/billing/health
    interval: {interval}
    timeout: 500ms
    requests_per_round: {requests}
distributed:
  locations: [{", ".join(locations)}]
  location_timeout: {location_timeout}
  settle: 1s
incidents:
  quiet_period: 2s
  min_update_spacing: 1s
status:
  window: 4s
  min_samples: 5
  recovery_time: 2s
webhooks:
  - id: ops
    url: {hook}
    timeout: 2s
{extra}"""
    )
    return path


class Replica(ProberProcess):
    """`prober run --db postgresql://...`: one replica, which can be killed and started
    again (`epoch` counts its starts; `up` is true between a start and a stop)."""

    def __init__(self, name: str, config: Path, db: str, args: tuple[str, ...] = ()) -> None:
        super().__init__(config, db, args=args)  # type: ignore[arg-type]  # a URL, not a Path
        self.name = name
        self.epoch = 0
        self.up = False

    async def start(self, timeout: float = 30.0) -> None:
        self.url = self.admin_url = ""
        self.lines = []
        await super().start(timeout)
        self.epoch += 1
        self.up = True

    async def stop(self, sig: int = 15, timeout: float = 15.0) -> int:
        self.up = False
        return await super().stop(sig, timeout)

    async def metric(self, name: str) -> float | None:
        """The value of an unlabelled sample `name` on /metrics, None when absent."""
        async with aiohttp.ClientSession() as s, s.get(self.admin_url + "/metrics") as r:
            text = await r.text()
        found = re.search(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", text, re.M)
        return float(found.group(1)) if found else None


class AgentProcess:
    """`prober agent --location L --db URL`, optionally in a network namespace of its own."""

    def __init__(self, location: str, config: Path, db: str, *, netns: bool = False) -> None:
        self.location = location
        self.config = config
        self.db = db
        self.netns = netns
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[dict[str, Any]] = []
        self.admin_url = ""
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 30.0) -> None:
        prefix: list[str] = []
        if self.netns:
            if os.geteuid() != 0:
                raise AssertionError(
                    "a network namespace of its own for an agent needs root (`unshare -n`); "
                    "run this test as root (CI does)"
                )
            unshare = shutil.which("unshare")
            if unshare is None:
                raise AssertionError("`unshare` (util-linux) is needed for the network namespace")
            prefix = [unshare, "-n", "--"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
        for name in ("PROBER_LOCATION", "PROBER_DB", "PROBER_SHARD", "PROBER_CONFIG"):
            env.pop(name, None)
        self.proc = await asyncio.create_subprocess_exec(
            *prefix,
            sys.executable,
            "-m",
            "prober",
            "agent",
            "--location",
            self.location,
            "--name",
            f"agent-{self.location}",
            "--db",
            self.db,
            "--config",
            str(self.config),
            "--admin-listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            cwd=str(REPO),
            env=env,
        )
        STARTED.append(self.proc)
        self._reader = asyncio.create_task(self._read())
        deadline = time.monotonic() + timeout
        while not self.admin_url:
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"agent {self.location} did not start: {self.lines[-20:]}")
            await asyncio.sleep(0.05)

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for raw in self.proc.stderr:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"event": "raw", "text": raw.decode(errors="replace")}
            self.lines.append(line)
            if line.get("event") == "agent_started":
                self.admin_url = str(line["admin"]).rstrip("/")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)


@dataclass
class Cluster:
    """Two replicas and three agents on one database; `stop()` ends them all."""

    db: str
    config: Path
    target: FlippingTarget
    receiver: Receiver
    replicas: list[Replica] = field(default_factory=list)
    agents: list[AgentProcess] = field(default_factory=list)

    async def start(self, replicas: int = 2, netns: frozenset[str] = frozenset()) -> None:
        for loc in LOCATIONS:
            agent = AgentProcess(loc, self.config, self.db, netns=loc in netns)
            self.agents.append(agent)
        await asyncio.gather(*(a.start() for a in self.agents))
        for i in range(replicas):
            replica = Replica(f"r{i}", self.config, self.db)
            self.replicas.append(replica)
            await replica.start()

    async def stop(self) -> None:
        for replica in self.replicas:
            if replica.proc is not None and replica.proc.returncode is None:
                await replica.stop()
        for agent in self.agents:
            await agent.stop()

    async def leaders(self) -> list[Replica]:
        """The replicas that say they lead (`prober_leader 1` on /metrics)."""
        out = []
        for replica in self.replicas:
            if not replica.up:
                continue
            try:
                if await replica.metric("prober_leader") == 1.0:
                    out.append(replica)
            except (aiohttp.ClientError, OSError):
                continue
        return out

    async def sql(self, query: str) -> list[tuple[Any, ...]]:
        import psycopg

        async with await psycopg.AsyncConnection.connect(self.db, autocommit=True) as conn:
            cur = await conn.execute(query)  # type: ignore[arg-type]
            return list(await cur.fetchall())
