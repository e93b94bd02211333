"""StoreKeeper: a failed write is kept and written again; a store that cannot open is
replaced by memory and stays reported unhealthy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prober.domain.effects import Effect, IncidentOpened
from prober.domain.incident import Incident, IncidentUpdate
from prober.domain.status import Impact, IncidentStatus
from prober.errors import StoreError
from prober.keeper import StoreKeeper
from prober.metrics import Metrics
from prober.store.memory import MemoryStore


class FlakyStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    async def apply(self, effects: Sequence[Effect], domain_state: Mapping[str, Any],
                    deliveries: Sequence[tuple[str, str, bytes]] = (), now: float = 0.0) -> None:
        if self.broken:
            raise StoreError("prober.db: database or disk is full")
        await super().apply(effects, domain_state, deliveries, now)


class BadFile(MemoryStore):
    async def open(self) -> None:
        raise StoreError("prober.db: file is not a database")


def opened(n: int) -> IncidentOpened:
    upd = IncidentUpdate(f"u{n}", f"i{n}", IncidentStatus.INVESTIGATING, "x", float(n))
    return IncidentOpened(Incident(f"i{n}", f"incident {n}", IncidentStatus.INVESTIGATING,
                                   Impact.MINOR, float(n), float(n), float(n), updates=(upd,)))


def exposition(m: Metrics) -> str:
    return m.render().decode()


async def test_a_failed_write_is_replayed_with_the_next_one() -> None:
    store, metrics = FlakyStore(), Metrics()
    keeper = StoreKeeper(store, metrics)
    assert await keeper.open() is None
    store.broken = True
    await keeper.apply([opened(1)], {"v": 1}, [("hook", "hook:u1", b"{}")], 1.0)
    assert not keeper.healthy and keeper.pending_effects == 1
    assert "prober_store_healthy 0.0" in exposition(metrics)
    assert await store.incidents() == []

    store.broken = False
    await keeper.apply([], {"v": 2}, [], 2.0)  # e.g. the periodic state save
    assert keeper.healthy and keeper.pending_effects == 0
    assert [i.id for i in await store.incidents()] == ["i1"]
    assert [d.event_key for d in await store.due_deliveries(3.0)] == ["hook:u1"]
    assert await store.load_domain_state() == {"v": 2}
    assert "prober_store_healthy 1.0" in exposition(metrics)


async def test_the_backlog_is_bounded_dropping_the_oldest() -> None:
    store = FlakyStore()
    keeper = StoreKeeper(store, Metrics(), max_pending=3)
    await keeper.open()
    store.broken = True
    for n in range(5):
        await keeper.apply([opened(n)], {}, [], float(n))
    assert keeper.pending_effects == 3
    store.broken = False
    await keeper.apply([], {}, [], 9.0)
    assert sorted(i.id for i in await store.incidents()) == ["i2", "i3", "i4"]


async def test_a_store_that_cannot_open_is_replaced_and_stays_unhealthy() -> None:
    metrics = Metrics()
    keeper = StoreKeeper(BadFile(), metrics)
    assert await keeper.open() is None
    assert isinstance(keeper.store, MemoryStore) and not isinstance(keeper.store, BadFile)
    await keeper.apply([opened(1)], {}, [], 1.0)  # works, in memory
    assert not keeper.healthy
    assert "file is not a database" in keeper.degraded
    text = exposition(metrics)
    assert "prober_store_healthy 0.0" in text
    assert 'prober_store_errors_total{operation="open"} 1.0' in text
