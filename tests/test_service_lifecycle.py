"""The service's start-up and reload paths, in process on a virtual clock: whatever the
engine computes at start (a quiet period that ended while prober was down) is saved,
announced and sent like any other effect; removing a component during an incident posts
no false "operational again" or "resolved"."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from prober.clock import VirtualClock
from prober.config.model import Config, IncidentPolicy, StatusPolicy, Webhook
from prober.domain.effects import IncidentOpened, IncidentResolved, IncidentUpdated
from prober.domain.status import IncidentStatus
from prober.errors import StoreError
from prober.probes.result import Reason
from prober.service import Service, Settings
from prober.store.sqlite import SqliteStore
from prober.webhooks import deliveries_for
from tests.domain.sim import T0, TWO_COMPONENTS, Sim, failing, make_config

QUIET = 60.0
POLICY = StatusPolicy(window=60.0, min_samples=5, recovery_time=5.0)


def config(webhooks: bool = True) -> Config:
    base = make_config(
        TWO_COMPONENTS,
        interval=5.0,
        requests_per_round=5,
        policy=POLICY,
        incidents=IncidentPolicy(quiet_period=QUIET, min_update_spacing=1.0),
    )
    # Checks point at a closed loopback port; the virtual clock never lets them run anyway.
    hooks = (Webhook(id="hook", url="http://127.0.0.1:9/"),) if webhooks else ()
    return dataclasses.replace(base, webhooks=hooks)


async def saved_in_monitoring(db: Path, cfg: Config) -> tuple[Sim, str]:
    """An incident driven to `monitoring` and saved as the service would have saved it."""
    sim = Sim(cfg)
    sim.run(
        300,
        failing(Reason.HTTP_5XX, T0, T0 + 40, checks=["api-check"]),
        stop=lambda out: any(
            isinstance(e, IncidentUpdated) and e.incident.status is IncidentStatus.MONITORING
            for e in out
        ),
    )
    assert sim.engine.open_incidents()[0].status is IncidentStatus.MONITORING
    iid = sim.engine.open_incidents()[0].id
    store = SqliteStore(str(db))
    await store.open()
    rows = deliveries_for(sim.effects, cfg.webhooks, lambda i: {"id": i.id}, {})
    await store.apply(sim.effects, sim.engine.state_delta(), rows, sim.now)
    await store.close()
    return sim, iid


def clock_at(t: float) -> VirtualClock:
    return VirtualClock(datetime.fromtimestamp(t, UTC))


async def test_a_quiet_period_that_ended_while_down_is_resolved_saved_and_sent_at_start(
    tmp_path: Path,
) -> None:
    cfg = config()
    sim, iid = await saved_in_monitoring(tmp_path / "p.db", cfg)
    service = Service(
        Settings(config_path=str(tmp_path / "none.yaml"), db_path=str(tmp_path / "p.db")),
        cfg,
        clock=clock_at(sim.now + QUIET + 600),
    )
    await service.start()
    try:
        assert service.snapshot().incidents[0].status is IncidentStatus.RESOLVED
        store = service.keeper.store
        saved = await store.incident(iid)
        assert saved is not None and saved.status is IncidentStatus.RESOLVED
        import sqlite3

        with sqlite3.connect(tmp_path / "p.db") as conn:
            keys = [k for (k,) in conn.execute("SELECT event_key FROM outbox ORDER BY id")]
        assert keys[-1] == f"hook:{iid}:{saved.updates[-1].id}", (
            "the resolution is queued for the webhook, after the earlier events"
        )
        assert not service.engine.open_incidents()
    finally:
        await service.stop()


async def test_removing_a_component_during_an_incident_posts_no_false_recovery(
    tmp_path: Path,
) -> None:
    cfg = config(webhooks=False)
    sim = Sim(cfg)
    sim.run(
        30,
        failing(Reason.HTTP_5XX, T0, checks=["api-check"]),
        stop=lambda out: any(isinstance(e, IncidentOpened) for e in out),
    )
    (opened,) = sim.engine.open_incidents()
    without_api = dataclasses.replace(
        cfg,
        components=tuple(c for c in cfg.components if c.id != "api"),
        checks=tuple(c for c in cfg.checks if c.component != "api"),
    )
    effects = sim.engine.reconfigure(without_api, sim.now + 1)
    sim.config = without_api
    sim.next_due = {c.id: sim.now for c in without_api.checks}
    effects += sim.run(QUIET * 3)
    assert not [e for e in effects if isinstance(e, IncidentUpdated | IncidentResolved)]
    assert [i.id for i in sim.engine.open_incidents()] == [opened.id], (
        "left for a human: the removed component's status is unknown, not operational"
    )


async def saved_open(db: Path, cfg: Config) -> tuple[Sim, str]:
    sim = Sim(cfg)
    sim.run(
        60,
        failing(Reason.HTTP_5XX, T0, checks=["api-check"]),
        stop=lambda out: any(isinstance(e, IncidentOpened) for e in out),
    )
    store = SqliteStore(str(db))
    await store.open()
    await store.apply(sim.effects, sim.engine.state_delta(), (), sim.now)
    await store.close()
    return sim, sim.engine.open_incidents()[0].id


class Failing(SqliteStore):
    broken = False

    async def apply(self, *args: Any, **kw: Any) -> None:
        if self.broken:
            raise StoreError(f"database {self.path!r}: disk or database is full")
        await super().apply(*args, **kw)


async def started(tmp_path: Path, cfg: Config, at: float) -> Service:
    service = Service(
        Settings(config_path=str(tmp_path / "none.yaml"), db_path=str(tmp_path / "p.db")),
        cfg,
        clock=clock_at(at),
    )
    service.keeper.store = Failing(str(tmp_path / "p.db"))
    await service.start()
    return service


async def test_a_human_write_is_refused_while_the_store_cannot_write_and_never_saved_later(
    tmp_path: Path,
) -> None:
    cfg = config(webhooks=False)
    sim, iid = await saved_open(tmp_path / "p.db", cfg)
    service = await started(tmp_path, cfg, sim.now + 1)
    store = service.keeper.store
    assert isinstance(store, Failing)
    try:
        store.broken = True
        with pytest.raises(StoreError, match="full"):
            await service.write_incident(iid, IncidentStatus.IDENTIFIED, "lost?", None)
        assert all(u.body != "lost?" for u in service.engine.open_incidents()[0].updates)
        # A store that failed is not written to by humans until it works again ...
        with pytest.raises(StoreError):
            await service.write_incident(iid, None, "second", None)
        store.broken = False
        await service._save_state()  # the next periodic save clears the problem
        done = await service.write_incident(iid, None, "kept", None)
        assert done.updates[-1].body == "kept"
        saved = await store.incident(iid)
        assert saved is not None
        assert [u.body for u in saved.updates if not u.automatic] == ["kept"]
    finally:
        await service.stop()


async def test_writes_close_before_the_store_on_shutdown(tmp_path: Path) -> None:
    cfg = config(webhooks=False)
    sim, iid = await saved_open(tmp_path / "p.db", cfg)
    service = await started(tmp_path, cfg, sim.now + 1)
    await service.stop()
    with pytest.raises(StoreError, match="shutting down"):
        await service.write_incident(iid, None, "after stop", None)
    assert service.ready() == (False, "shutting down")


@pytest.mark.parametrize("damage", ["bad_json", "newer_version", "missing_key"])
async def test_an_unreadable_saved_state_starts_fresh_keeping_open_incidents_loudly(
    tmp_path: Path, damage: str
) -> None:
    import json
    import sqlite3

    from structlog.testing import capture_logs

    cfg = config(webhooks=False)
    sim, iid = await saved_open(tmp_path / "p.db", cfg)
    with sqlite3.connect(tmp_path / "p.db") as conn:
        state = json.loads(conn.execute("SELECT state FROM engine_state").fetchone()[0])
        if damage == "bad_json":
            text = "{not json"
        elif damage == "newer_version":
            text = json.dumps({**state, "version": 99})
        else:
            del state["incidents"]["records"][0]["members"]
            text = json.dumps(state)
        conn.execute("UPDATE engine_state SET state = ?", (text,))
    with capture_logs() as logs:
        service = await started(tmp_path, cfg, sim.now + 1)
    try:
        assert [e for e in logs if e["event"] == "domain_state_unreadable"]
        assert [i.id for i in service.engine.open_incidents()] == [iid]
        listed = dict(service.engine.open_incidents()[0].components)["api"]
        assert listed.value != "operational"
        assert service.engine.status_of("api") is listed, "no false 'operational again'"
        # It goes on as any incident would: a human write lands on it.
        done = await service.write_incident(iid, IncidentStatus.IDENTIFIED, "on it", None)
        assert done.id == iid and done.status is IncidentStatus.IDENTIFIED
    finally:
        await service.stop()


async def test_corruption_found_by_the_scheduled_check_makes_prober_unready_and_stops_writes(
    tmp_path: Path,
) -> None:
    cfg = config(webhooks=False)
    sim, iid = await saved_open(tmp_path / "p.db", cfg)
    service = await started(tmp_path, cfg, sim.now + 1)
    try:
        held = service.keeper.store

        async def corrupt(full: bool = False) -> str:
            return "database 'p.db' is corrupt (integrity_check: page 3: btreeInitPage error)"

        held.check = corrupt  # type: ignore[method-assign]
        await service.check_integrity()
        ready, why = service.ready()
        assert not ready and "corrupt" in why
        assert service.keeper.store is not held
        with pytest.raises(StoreError, match="corrupt"):
            await service.write_incident(iid, None, "not on a corrupt file", None)
        before = (tmp_path / "p.db").read_bytes()
        await service._save_state()
        assert (tmp_path / "p.db").read_bytes() == before, "a corrupt file is never written"
    finally:
        await service.stop()


class SteppingClock(VirtualClock):
    """Virtual time whose wall clock can also be stepped on its own (NTP, a VM resume)."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.wall_step = 0.0

    def now(self) -> datetime:
        from datetime import timedelta

        return super().now() + timedelta(seconds=self.wall_step)


@pytest.mark.parametrize("step", [3600.0, -600.0])
async def test_a_wall_clock_step_neither_resolves_early_nor_freezes_the_incident(
    tmp_path: Path, step: float
) -> None:
    from structlog.testing import capture_logs

    # The targets are healthy after the outage: a closed port would now read as a total
    # outage (issue 11) and reopen the episode.
    async def healthy(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", healthy)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = config(webhooks=False)
    cfg = dataclasses.replace(
        base,
        checks=tuple(
            dataclasses.replace(c, url=f"http://127.0.0.1:{port}/health") for c in base.checks
        ),
    )
    sim, iid = await saved_in_monitoring(tmp_path / "p.db", cfg)
    clock = SteppingClock(datetime.fromtimestamp(sim.now + 1, UTC))
    service = Service(
        Settings(config_path=str(tmp_path / "none.yaml"), db_path=str(tmp_path / "p.db")),
        cfg,
        clock=clock,
    )
    await service.start()
    try:
        with capture_logs() as logs:
            clock.wall_step = step
            await clock.advance(2)
            assert [i.id for i in service.engine.open_incidents()] == [iid], "not resolved now"
            assert [e for e in logs if e["event"] == "wall_clock_jumped"]
            waited = 2.0
            while service.engine.open_incidents() and waited < 10 * QUIET:  # bounded
                await clock.advance(1)
                waited += 1
        # The quiet period is measured on the monotonic clock, give or take the slew.
        assert not service.engine.open_incidents()
        assert QUIET * 0.85 <= waited <= QUIET * 1.15, waited
    finally:
        await service.stop()
        await runner.cleanup()


async def test_a_reload_of_deep_yaml_fails_clearly_and_the_reload_metric_drops_to_0(
    tmp_path: Path,
) -> None:
    cfg = config(webhooks=False)
    path = tmp_path / "checks.yaml"
    path.write_text("components: " + "[" * 490 + "]" * 490 + "\n")
    service = Service(
        Settings(config_path=str(path), db_path=str(tmp_path / "p.db")), cfg, clock=clock_at(T0)
    )
    await service.start()
    try:
        assert "prober_config_last_reload_successful 1.0" in service.exporter.render().decode()
        ok, errors = await service.reload()
        assert not ok
        assert errors == [
            f"{path}:1:76: nesting deeper than 64 levels; a checks.yaml needs a "
            "handful (flatten this value)"
        ]
        text = service.exporter.render().decode()
        assert "prober_config_last_reload_successful 0.0" in text
        assert service.config is cfg, "the running config is kept"
    finally:
        await service.stop()


async def test_uptime_counts_probes_while_everything_is_unreachable_unless_canaries_prove_a_loss(
    tmp_path: Path,
) -> None:
    """`unverified` (every target unreachable, no canary) is shown as the outage it may
    be, so its probes count toward uptime; only a loss the canaries prove does not."""
    from prober.domain.network import LOST, OK, UNVERIFIED

    service = Service(
        Settings(config_path=str(tmp_path / "none.yaml"), db_path=":memory:"),
        config(webhooks=False),
        clock=clock_at(T0),
    )
    counted = {}
    for state in (OK, UNVERIFIED, LOST):
        service.engine.guard.state = state
        counted[state] = service._counts_for_uptime("api")
    assert counted == {OK: True, UNVERIFIED: True, LOST: False}


def test_a_rescued_state_keeps_a_persons_incident_a_persons() -> None:
    """After an unreadable saved state the open incidents are rebuilt from the store; one
    a person opened must come back as a person's (the engine never moves it) and its
    declared statuses must not be taken as probe evidence."""
    from prober.domain.engine import Engine
    from prober.rescue import rescued_state
    from tests.store.factories import incident, update

    cfg = config(webhooks=False)
    first = dataclasses.replace(update("ppl", 1, T0), automatic=False)
    human = incident("ppl", T0, updates=(first,))
    auto = incident("auto", T0)
    engine = Engine(cfg, rescued_state(cfg, [human, auto], seq=2))
    records = {r.incident.id: r for r in engine.book.records.values()}
    assert records["ppl"].human and records["ppl"].renamed
    assert not records["auto"].human
