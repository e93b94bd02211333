"""The engine's state saved as rows: a change to one component writes one row, open
incidents have one copy (their incident rows), and an engine rebuilt from the rows
behaves exactly as the one that wrote them. Run on each backend."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from prober.config.model import Config
from prober.domain.codec import StateDelta, join_state
from prober.domain.effects import Effect, IncidentOpened, IncidentResolved, IncidentUpdated
from prober.domain.engine import Engine
from prober.domain.incident import Incident
from prober.probes.result import Reason
from prober.store import codec
from prober.store.base import Store
from prober.store.memory import MemoryStore
from prober.store.sqlite import SqliteStore
from tests.domain.sim import T0, Behaviour, Sim, make_config

COMPONENTS = tuple((f"c{i}", f"Component {i}") for i in range(6))


def normal(state: dict[str, Any]) -> Any:
    """A state as it reads back from JSON (tuples become lists, and so on)."""
    return codec.load_state(codec.dump_state(state))


def trouble(check: str, at: float, i: int) -> Reason:
    """Scripted weather: c1 fails on and off, c2 goes slow then fails, everything is
    unreachable for a while (a network loss, the canaries too), c3 flaps."""
    t = at - T0
    if 400 <= t < 470:
        return Reason.CONNECT  # prober's own network: every check and canary
    if check == "c1-check" and (40 <= t < 160 or 600 <= t < 700):
        return Reason.HTTP_5XX
    if check == "c2-check" and 200 <= t < 330:
        return Reason.TIMEOUT if t < 260 else Reason.HTTP_5XX
    if check == "c3-check" and int(t / 30) % 3 == 1 and i % 2 == 0:
        return Reason.HTTP_5XX
    return Reason.OK


def blips(check: str, at: float, i: int) -> Reason:
    """Short all-unreachable stretches (prober's own blips), one check answering inside
    some of them, and c4 failing for real after one of them."""
    t = at - T0
    if int(t) % 97 < 6 and not (check == "c5-check" and int(t / 97) % 2):
        return Reason.CONNECT
    if check == "c4-check" and 300 <= t < 420:
        return Reason.CONNECT
    return Reason.OK


def config() -> Config:
    return make_config(COMPONENTS, interval=5.0, requests_per_round=5, canaries=2)


class Saver:
    """Saves what the service would: after every step, the step's effects and the
    engine's state delta, in one `apply`."""

    def __init__(self, sim: Sim, store: Store) -> None:
        self.sim = sim
        self.store = store
        self.batches: list[tuple[list[Effect], StateDelta, float]] = []
        self._seen = 0

    def step(self, _out: list[Effect]) -> bool:
        new = self.sim.effects[self._seen :]
        self._seen = len(self.sim.effects)
        self.batches.append((list(new), self.sim.engine.state_delta(), self.sim.now))
        return False

    async def flush(self) -> None:
        for effects, delta, now in self.batches:
            await self.store.apply(effects, delta, (), now)
        self.batches = []

    async def run(self, seconds: float, behaviour: Behaviour) -> None:
        self.sim.run(seconds, behaviour, stop=self.step)
        await self.flush()


async def rebuilt(store: Store, cfg: Config) -> Engine:
    saved = await store.load_state()
    assert saved is not None
    return Engine(cfg, join_state(saved.engine, saved.components, saved.open_incidents))


@pytest.mark.parametrize("weather", [trouble, blips], ids=["trouble", "blips"])
def test_rows_joined_equal_the_engine_state_at_every_step(weather: Behaviour) -> None:
    """Each component marked changed whenever anything of it changed: the rows given out
    so far, folded as a store writes them (base.Store.apply), joined, are the engine's
    whole state, checked after every one of 720 steps of the scripted weather (the
    backends keep rows as given: the contract tests and the rebuild test below)."""
    sim = Sim(config())
    engine: Mapping[str, Any] = {}
    rows: dict[str, Mapping[str, Any]] = {}
    incidents: dict[str, Incident] = {}
    seen = 0
    mismatches = []
    for _ in range(720):
        sim.run(1.0, weather)
        delta = sim.engine.state_delta()
        for e in sim.effects[seen:]:
            if isinstance(e, IncidentOpened | IncidentUpdated | IncidentResolved):
                incidents[e.incident.id] = e.incident
        seen = len(sim.effects)
        incidents.update((i.id, i) for i in delta.incidents)
        rows = dict(delta.components) if delta.complete else {**rows, **delta.components}
        engine = delta.engine
        still_open = [i for i in incidents.values() if i.is_open]
        if normal(join_state(engine, rows, still_open)) != normal(sim.engine.to_state()):
            mismatches.append(sim.now - T0)
    assert sim.effects, "the weather did something"
    assert mismatches == []


async def test_an_engine_rebuilt_from_the_rows_behaves_identically(store: Store) -> None:
    cfg = config()
    sim = Sim(cfg)
    saver = Saver(sim, store)
    await saver.run(430, trouble)  # mid-loss, c1 recovered, c2 in an incident
    assert sim.engine.open_incidents()
    twin = Sim(cfg, start=sim.now, engine=await rebuilt(store, cfg))
    twin.next_due = dict(sim.next_due)
    assert normal(twin.engine.to_state()) == normal(sim.engine.to_state())
    a = sim.run(500, trouble)
    b = twin.run(500, trouble)
    assert a and a == b


async def test_a_change_to_one_component_writes_one_row(tmp_path: Path) -> None:
    cfg = config()
    sim = Sim(cfg)
    store = SqliteStore(str(tmp_path / "p.db"))
    await store.open()
    first = sim.engine.state_delta()
    assert first.complete and set(first.components) == {c for c, _ in COMPONENTS}
    await store.apply([], first, (), 1.0)
    sim.round("c4-check", [Reason.OK] * 5, at=T0 + 1)
    delta = sim.engine.state_delta()
    assert not delta.complete and set(delta.components) == {"c4"}
    await store.apply([], delta, (), 2.0)
    await store.close()
    with sqlite3.connect(tmp_path / "p.db") as conn:
        saved_at = dict(conn.execute("SELECT component, saved_at FROM component_state"))
    assert saved_at == {**{c: 1.0 for c, _ in COMPONENTS}, "c4": 2.0}
    assert sim.engine.state_delta().components == {}, "nothing changed since"


async def test_memory_store_writes_only_the_changed_rows() -> None:
    sim = Sim(config())
    store = MemoryStore()
    await store.open()
    await store.apply([], sim.engine.state_delta())
    before = store.row_writes
    sim.round("c2-check", [Reason.OK] * 5, at=T0 + 1)
    await store.apply([], sim.engine.state_delta())
    assert store.row_writes - before == 1


async def test_open_incidents_are_stored_once(tmp_path: Path) -> None:
    cfg = config()
    sim = Sim(cfg)
    store = SqliteStore(str(tmp_path / "p.db"))
    await store.open()
    saver = Saver(sim, store)
    await saver.run(120, trouble)
    (inc,) = sim.engine.open_incidents()
    await store.close()
    with sqlite3.connect(tmp_path / "p.db") as conn:
        engine_text = conn.execute("SELECT state FROM engine_state").fetchone()[0]
        rows = [r[0] for r in conn.execute("SELECT state FROM component_state")]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        stored = conn.execute("SELECT name FROM incidents WHERE id = ?", (inc.id,)).fetchall()
    assert stored == [(inc.name,)]
    record = json.loads(engine_text)["incidents"]["records"][0]
    assert record["incident_id"] == inc.id and "incident" not in record
    for text in (engine_text, *rows):
        assert inc.name not in text and inc.updates[0].body not in text
    assert "domain_state" not in tables and "network_health" not in tables


async def test_a_saved_record_without_its_incident_row_is_unreadable() -> None:
    """The engine row names incidents the store must hold: if one is missing the saved
    state is refused (ValueError: the keeper rescues), never silently dropped."""
    sim = Sim(config())
    store = MemoryStore()
    await store.open()
    saver = Saver(sim, store)
    await saver.run(120, trouble)
    saved = await store.load_state()
    assert saved is not None and saved.open_incidents
    try:
        join_state(saved.engine, saved.components, [])
    except ValueError as exc:
        assert saved.open_incidents[0].id in str(exc)
    else:
        raise AssertionError("a record without its incident was accepted")


async def test_a_reconfigure_deletes_the_rows_of_removed_components(store: Store) -> None:
    cfg = config()
    sim = Sim(cfg)
    await store.apply([], sim.engine.state_delta())
    smaller = make_config(COMPONENTS[:2], interval=5.0, requests_per_round=5, canaries=2)
    effects = sim.engine.reconfigure(smaller, T0 + 1)
    await store.apply(effects, sim.engine.state_delta())
    saved = await store.load_state()
    assert saved is not None
    assert set(saved.components) == {"c0", "c1"}


def test_deltas_fold_like_writing_them_in_order() -> None:
    a = StateDelta({"n": 1}, {"x": {"v": 1}, "y": {"v": 1}})
    b = StateDelta({"n": 2}, {"y": {"v": 2}})
    assert a.then(b) == StateDelta({"n": 2}, {"x": {"v": 1}, "y": {"v": 2}})
    full = StateDelta({"n": 3}, {"z": {"v": 3}}, complete=True)
    assert a.then(full) == full
    assert full.then(b) == StateDelta({"n": 2}, {"z": {"v": 3}, "y": {"v": 2}}, complete=True)
