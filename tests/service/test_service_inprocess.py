"""The service in process, with nothing real but the code under test: the memory store, a
scripted probe function and the virtual clock (no socket, no subprocess, no real sleep).

It walks the shell's whole pipeline: a probe round -> the engine's effects -> store rows
-> metric samples (read from the injected exporter) -> the published snapshot; a reload
that removes a component; a store failure (a person's write refused, readiness down,
probe effects kept queued) and its recovery with nothing lost; the webhook outbox rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from prober import __version__
from prober.clock import VirtualClock
from prober.config import Check
from prober.config.loader import load_config
from prober.domain.status import ComponentStatus, IncidentStatus
from prober.errors import StoreError
from prober.keeper import StoreKeeper
from prober.metrics import Metrics
from prober.probes.result import ProbeResult, Reason
from prober.service import Service, Settings
from prober.store.memory import MemoryStore
from prober.webhooks import WebhookSender

START = datetime(2026, 5, 26, 21, 0, tzinfo=UTC)

WEB = """\
  - id: web
    name: Dashboard
    status: {window: 1m, min_samples: 5, recovery_time: 5s}
"""
WEB_CHECK = """\
  - {id: web-check, component: web, url: "http://127.0.0.1:9/web", interval: 5s,
     requests_per_round: 5}
"""
CONFIG = """\
page: {name: Acme Status}
components:
  - id: api
    name: Platform API
    status: {window: 1m, min_samples: 5, recovery_time: 5s}
WEB
checks:
  - {id: api-check, component: api, url: "http://127.0.0.1:9/api", interval: 5s,
     requests_per_round: 5}
WEB_CHECK
incidents: {quiet_period: 1m, min_update_spacing: 1s}
webhooks:
  - {id: hook, url: "http://127.0.0.1:9/hook"}
"""


def config_text(with_web: bool = True) -> str:
    return CONFIG.replace("WEB_CHECK\n", WEB_CHECK if with_web else "").replace(
        "WEB\n", WEB if with_web else ""
    )


class Script:
    """The probe function: every request of a failing check answers 500, others 200."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.failing: set[str] = set()
        self.requests = 0

    async def probe(self, check: Check) -> ProbeResult:
        self.requests += 1
        at = self.clock.now().timestamp()
        if check.id in self.failing:
            return ProbeResult(check.id, check.component, at, Reason.HTTP_5XX, 0.01, 500)
        return ProbeResult(check.id, check.component, at, Reason.OK, 0.01, 200)


class BreakableStore(MemoryStore):
    """The memory store, whose writes can be made to fail like a full disk."""

    broken = False

    async def apply(self, *args: Any, **kw: Any) -> None:
        if self.broken:
            raise StoreError("database 'memory': disk or database is full")
        await super().apply(*args, **kw)


class HeldSender(WebhookSender):
    """The real sender, but nothing leaves the process: the outbox rows stay to be read."""

    async def run_once(self) -> int:
        return 0


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "checks.yaml"
        self.path.write_text(config_text())
        self.clock = VirtualClock(START)
        self.script = Script(self.clock)
        self.store = BreakableStore()
        self.exporter = Metrics(version=__version__)
        keeper = StoreKeeper(self.store, self.exporter, clock=self.clock)
        self.service = Service(
            Settings(config_path=str(self.path), db_path="memory", api_token="t"),
            load_config(self.path),
            clock=self.clock,
            keeper=keeper,
            exporter=self.exporter,
            probe=self.script.probe,
            sender=HeldSender(self.store, self.clock, self.exporter.webhook_delivery),
        )

    async def run(self, seconds: float) -> None:
        for _ in range(int(seconds)):
            await self.clock.advance(1.0)

    def samples(self, name: str) -> dict[frozenset[tuple[str, str]], float]:
        text = self.exporter.render().decode()
        return {
            frozenset(s.labels.items()): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == name
        }

    def status(self, component: str) -> ComponentStatus:
        snap = self.service.published().snapshot
        return next(c.status for c in snap.components if c.id == component)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    w = World(tmp_path)
    await w.service.start()
    try:
        yield w
    finally:
        await w.service.stop()


async def open_incident(w: World) -> str:
    w.script.failing = {"api-check"}
    for _ in range(120):  # bounded: the policy opens it within a window
        await w.run(1)
        if w.service.published().snapshot.incidents:
            break
    (incident,) = w.service.published().snapshot.incidents
    return incident.id


async def test_a_round_goes_effects_store_metrics_snapshot(world: World) -> None:
    w = world
    assert w.service.published().ready == (True, "ready")
    await w.run(10)
    assert w.script.requests >= 10, "the runner calls the scripted probe on virtual time"
    assert w.status("api") is ComponentStatus.OPERATIONAL
    iid = await open_incident(w)
    # effects -> store rows (written by the keeper's writer task before they are shown)
    stored = await w.store.incident(iid)
    assert stored is not None and stored.is_open
    changes = await w.store.status_changes(0.0)
    assert any(
        c.component == "api" and c.status is not ComponentStatus.OPERATIONAL for c in changes
    )
    # -> metric samples
    assert w.samples("prober_incidents_open") == {frozenset(): 1.0}
    failures = w.samples("prober_probe_failures_total")
    assert any(dict(k).get("check") == "api-check" and v > 0 for k, v in failures.items())
    status = {dict(k)["component"]: v for k, v in w.samples("prober_component_status").items()}
    assert status["api"] >= 2 and status["web"] == 0  # degraded or worse / operational
    # -> the published snapshot
    assert w.status("api") is not ComponentStatus.OPERATIONAL
    assert w.status("web") is ComponentStatus.OPERATIONAL
    # -> the webhook outbox rows, one per event, for the configured hook
    rows = await w.store.due_deliveries(w.clock.now().timestamp() + 1)
    assert rows and {r.webhook for r in rows} == {"hook"}
    assert any(iid.encode() in r.payload for r in rows)


async def test_a_reload_that_removes_a_component(world: World) -> None:
    w = world
    await w.run(10)
    assert {c.id for c in w.service.published().snapshot.components} == {"api", "web"}
    assert any(dict(k).get("check") == "web-check" for k in w.samples("prober_check_up"))
    w.path.write_text(config_text(with_web=False))
    assert await w.service.reload() == (True, [])
    snap = w.service.published().snapshot
    assert [c.id for c in snap.components] == ["api"]
    assert [c.id for c in snap.checks] == ["api-check"]
    assert not any(dict(k).get("check") == "web-check" for k in w.samples("prober_check_up"))
    before = w.script.requests
    await w.run(10)
    assert w.script.requests > before  # api still probed, web no more
    assert w.samples("prober_config_last_reload_successful") == {frozenset(): 1.0}


async def test_a_store_failure_refuses_writes_and_recovers_with_nothing_lost(
    world: World,
) -> None:
    w = world
    iid = await open_incident(w)
    w.store.broken = True
    with pytest.raises(StoreError, match="full"):  # the API answers 503
        await w.service.write_incident(iid, IncidentStatus.IDENTIFIED, "lost?", None)
    assert all(u.body != "lost?" for u in w.service.engine.open_incidents()[0].updates)
    # the probes go on; their effects (the recovery) queue while the store fails
    w.script.failing = set()
    for _ in range(180):  # bounded: the window (1 m) and recovery_time (5 s) pass
        await w.run(1)
        if w.status("api") is ComponentStatus.OPERATIONAL:
            break
    assert w.status("api") is ComponentStatus.OPERATIONAL
    ready, why = w.service.published().ready
    assert not ready and "full" in why
    assert w.samples("prober_store_healthy") == {frozenset(): 0.0}
    with pytest.raises(StoreError):
        await w.service.write_incident(iid, None, "still refused", None)
    queued = w.service.keeper.pending_effects
    assert queued > 0
    # the store comes back: the writer retries on its own, nothing queued is lost
    w.store.broken = False
    for _ in range(60):  # bounded: the keeper's backoff is at most 30 s
        await w.run(1)
        if w.service.published().ready[0]:
            break
    assert w.service.published().ready == (True, "ready")
    assert w.service.keeper.pending_effects == 0
    changes = await w.store.status_changes(0.0)
    assert changes[-1].component == "api" and changes[-1].status is ComponentStatus.OPERATIONAL
    done = await w.service.write_incident(iid, None, "kept", None)
    stored = await w.store.incident(iid)
    assert stored is not None and stored.updates[-1].body == "kept" == done.updates[-1].body
    assert all(u.body not in ("lost?", "still refused") for u in stored.updates)
    # every automatic update made while the store failed reached it, in order
    assert [(u.status, u.body) for u in stored.updates] == [
        (u.status, u.body) for u in done.updates
    ]
    assert len([u for u in stored.updates if u.automatic]) >= 2
