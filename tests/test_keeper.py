"""StoreKeeper: a failed write is kept and written again; a store that cannot open is
replaced by memory and stays reported unhealthy."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from prober.clock import VirtualClock
from prober.domain.codec import StateDelta
from prober.domain.effects import Effect, IncidentOpened
from prober.domain.incident import Incident, IncidentUpdate
from prober.domain.status import Impact, IncidentStatus
from prober.errors import StoreError
from prober.keeper import StoreKeeper
from prober.metrics import Metrics
from prober.store.memory import MemoryStore
from tests.store.factories import engine_row, st


class FlakyStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    async def apply(
        self,
        effects: Sequence[Effect],
        domain_state: StateDelta | None,
        deliveries: Sequence[tuple[str, str, bytes]] = (),
        now: float = 0.0,
    ) -> None:
        if self.broken:
            raise StoreError("prober.db: database or disk is full")
        await super().apply(effects, domain_state, deliveries, now)


class BadFile(MemoryStore):
    async def open(self) -> None:
        raise StoreError("prober.db: file is not a database")


def opened(n: int) -> IncidentOpened:
    upd = IncidentUpdate(f"u{n}", f"i{n}", IncidentStatus.INVESTIGATING, "x", float(n))
    return IncidentOpened(
        Incident(
            f"i{n}",
            f"incident {n}",
            IncidentStatus.INVESTIGATING,
            Impact.MINOR,
            float(n),
            float(n),
            float(n),
            updates=(upd,),
        )
    )


def exposition(m: Metrics) -> str:
    return m.render().decode()


async def test_a_failed_write_is_replayed_with_the_next_one() -> None:
    store, metrics = FlakyStore(), Metrics()
    keeper = StoreKeeper(store, metrics)
    assert await keeper.open() is None
    store.broken = True
    await keeper.apply([opened(1)], st(v=1), [("hook", "hook:u1", b"{}")], 1.0)
    assert not keeper.healthy and keeper.pending_effects == 1
    assert "prober_store_healthy 0.0" in exposition(metrics)
    assert await store.incidents() == []

    store.broken = False
    await keeper.apply([], st(v=2), [], 2.0)  # e.g. the periodic state save
    assert keeper.healthy and keeper.pending_effects == 0
    assert [i.id for i in await store.incidents()] == ["i1"]
    assert [d.event_key for d in await store.due_deliveries(3.0)] == ["hook:u1"]
    assert await engine_row(store) == {"v": 2}
    assert "prober_store_healthy 1.0" in exposition(metrics)


async def test_the_backlog_is_bounded_dropping_the_oldest() -> None:
    store = FlakyStore()
    keeper = StoreKeeper(store, Metrics(), max_pending=3)
    await keeper.open()
    store.broken = True
    for n in range(5):
        await keeper.apply([opened(n)], None, [], float(n))
    assert keeper.pending_effects == 3
    store.broken = False
    await keeper.apply([], None, [], 9.0)
    assert sorted(i.id for i in await store.incidents()) == ["i2", "i3", "i4"]


async def test_a_store_that_cannot_open_is_replaced_and_stays_unhealthy() -> None:
    metrics = Metrics()
    keeper = StoreKeeper(BadFile(), metrics)
    assert await keeper.open() is None
    assert isinstance(keeper.store, MemoryStore) and not isinstance(keeper.store, BadFile)
    await keeper.apply([opened(1)], None, [], 1.0)  # works, in memory
    assert not keeper.healthy
    assert "file is not a database" in keeper.degraded
    text = exposition(metrics)
    assert "prober_store_healthy 0.0" in text
    assert 'prober_store_errors_total{operation="open"} 1.0' in text


class CountingStore(FlakyStore):
    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0
        self.gate: asyncio.Event | None = None  # set: apply waits for it (a locked disk)

    async def apply(
        self,
        effects: Sequence[Effect],
        domain_state: StateDelta | None,
        deliveries: Sequence[tuple[str, str, bytes]] = (),
        now: float = 0.0,
    ) -> None:
        self.attempts += 1
        if self.gate is not None:
            await self.gate.wait()
        await super().apply(effects, domain_state, deliveries, now)


async def test_the_writer_retries_on_its_own_with_backoff_and_recovers_without_a_new_write() -> (
    None
):
    clock = VirtualClock()
    store = CountingStore()
    keeper = StoreKeeper(store, Metrics(), clock=clock)
    await keeper.open()
    writer = asyncio.create_task(keeper.run())
    try:
        store.broken = True
        keeper.submit([opened(1)], st(v=1), [], 1.0)
        await clock.settle()
        assert store.attempts == 1 and not keeper.healthy
        await clock.advance(0.9)
        assert store.attempts == 1, "no retry before the backoff"
        await clock.advance(0.2)
        assert store.attempts == 2  # 1 s after the first failure
        await clock.advance(1.8)  # the retry failed at 1.0: the next is due at 3.0
        assert store.attempts == 2
        await clock.advance(0.2)
        assert store.attempts == 3  # then 2 s
        store.broken = False  # space freed: nothing new is submitted
        await clock.advance(4.1)
        assert keeper.healthy and [i.id for i in await store.incidents()] == ["i1"]
        assert await engine_row(store) == {"v": 1}
        attempts = store.attempts
        await clock.advance(120)
        assert store.attempts == attempts, "idle once written"
    finally:
        writer.cancel()


async def test_submitting_never_waits_for_the_store() -> None:
    store = CountingStore()
    saved: list[Sequence[Effect]] = []
    keeper = StoreKeeper(store, Metrics(), on_saved=lambda e, now: saved.append(e))
    await keeper.open()
    store.gate = asyncio.Event()  # the disk hangs
    writer = asyncio.create_task(keeper.run())
    try:
        for n in range(50):  # probe rounds go on, each submit returns at once
            keeper.submit([opened(n)], st(v=n), [], float(n))
        for _ in range(100):  # bounded: let the writer reach the hanging disk
            if store.attempts:
                break
            await asyncio.sleep(0.01)
        assert store.attempts == 1 and saved == []  # announced only once saved
        store.gate.set()
        await asyncio.wait_for(_until_idle(keeper), 5)
        assert len(await store.incidents(limit=100)) == 50
        assert sum(len(e) for e in saved) == 50
    finally:
        writer.cancel()


async def _until_idle(keeper: StoreKeeper) -> None:
    while not keeper.idle:  # bounded by the caller's wait_for
        await asyncio.sleep(0.01)
