"""The service's hold on its store: health reporting, and effects that must not be lost.

A batch of effects whose write fails stays queued (bounded) and is written again, ahead of
the next batch, once the store works again: every store write is idempotent (upserts and
unique event keys), so writing a batch twice is harmless, and losing one would leave an
incident unannounced or stuck open. A store that cannot be opened (corrupt file, newer
schema, unreadable volume) is replaced by a memory store so that probing and serving go
on; the file is never touched, and the store stays reported unhealthy until a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from prober.clock import Clock, SystemClock
from prober.domain.codec import StateDelta, join_state
from prober.domain.effects import Effect, IncidentOpened, IncidentResolved, IncidentUpdated
from prober.errors import StoreError, StoreLockedError, StoreLostError
from prober.logs import get_logger
from prober.metrics import Metrics
from prober.store.base import Store
from prober.store.lease import FencedError
from prober.store.memory import MemoryStore
from prober.store.salvage import salvage

log = get_logger("prober.store")


def incident_ids(effects: Sequence[Effect]) -> set[str]:
    return {
        e.incident.id
        for e in effects
        if isinstance(e, IncidentOpened | IncidentUpdated | IncidentResolved)
    }


T = TypeVar("T")
MAX_PENDING_EFFECTS = 10_000
RETRY_FIRST = 1.0  # seconds before the first retry of a failed write; doubles each time
RETRY_MAX = 30.0

Row = tuple[str, str, bytes]


class StoreKeeper:
    """Owns the store: `submit` queues a batch and returns at once (probing never waits for
    the disk); `run` is the writer task that saves queued batches in order, one transaction
    each pass, calls `on_saved` with their effects (announce after persist), and when the
    store fails retries on its own with backoff (1 s doubling to 30 s), so a store that
    recovers (space freed, volume remounted) is written without waiting for a new batch."""

    def __init__(
        self,
        store: Store,
        exporter: Metrics,
        max_pending: int = MAX_PENDING_EFFECTS,
        clock: Clock | None = None,
        on_saved: Callable[[Sequence[Effect], float], None] | None = None,
        *,
        fallback: bool = True,
    ) -> None:
        self.store = store
        # False (PostgreSQL, several replicas): a store that cannot be opened is an error,
        # never a memory store: an unfenced replica must not open incidents (LEADERSHIP.md)
        self.fallback = fallback
        self.on_fenced: Callable[[FencedError], None] | None = None
        self._exporter = exporter
        self._max_pending = max_pending
        self._clock = clock or SystemClock()
        self.on_saved = on_saved
        self._pending: list[tuple[Sequence[Effect], Sequence[Row]]] = []
        self._unannounced: list[tuple[Sequence[Effect], float]] = []
        self._state: StateDelta | None = None  # the state deltas not yet written, as one
        self._now = 0.0  # `now` of the latest batch submitted
        self._wake = asyncio.Event()
        self._writing = asyncio.Lock()
        self._failures = 0
        self._retry_at = 0.0
        self.problem = ""  # the last error, while the store is failing
        self.degraded = ""  # why we run on a memory fallback; cleared only by a restart
        # What the last integrity check found; cleared only by a check that passes (never
        # by a write that succeeds: a write repairs nothing), see `check_integrity`.
        self.integrity = ""
        self.unreadable_state = ""  # why the saved domain state could not be read
        self.saved_engine: Mapping[str, Any] | None = None  # the engine row last opened
        self._held: Store | None = None  # a corrupt store, kept open (and locked), unused

    @property
    def healthy(self) -> bool:
        return not self.problem and not self.degraded and not self.integrity

    @property
    def pending_effects(self) -> int:
        return sum(len(e) for e, _ in self._pending)

    @property
    def idle(self) -> bool:
        return not self._pending and self._state is None and not self._unannounced

    async def open(self) -> Mapping[str, Any] | None:
        """Open the store and return the saved engine state, joined from its rows with the
        open incidents (what `Engine(config, state)` takes; None when fresh)."""
        try:
            await self.store.open()
            try:
                saved = await self.store.load_state()
                self.saved_engine = None if saved is None else saved.engine
                if saved is None:
                    return None
                return join_state(saved.engine, saved.components, saved.open_incidents)
            except (ValueError, KeyError, TypeError) as exc:  # the service rescues
                self.unreadable_state = f"saved state is unreadable: {type(exc).__name__}: {exc}"
                return None
        except (StoreLockedError, StoreLostError):
            raise  # another prober writes this file, or it vanished: refuse to start
        except StoreError as exc:
            self.failed("open", exc)
            if not self.fallback:
                raise
            self.degraded = f"running without persistence: {exc}"
            failed, self.store = self.store, MemoryStore()
            await self.store.open()
            path = getattr(failed, "path", None)
            if not isinstance(path, str):
                return None
            # Keep showing (and evolving, in memory) what was open: read-only, never written.
            state, still_open = await asyncio.to_thread(salvage, path)
            if still_open:
                await self.store.apply([IncidentOpened(i) for i in still_open], None, (), 0.0)
            log.warning("store_salvaged", open_incidents=len(still_open), state=state is not None)
            return state

    def submit(
        self,
        effects: Sequence[Effect],
        state: StateDelta | None,
        deliveries: Sequence[Row],
        now: float,
    ) -> None:
        """Queue a batch (and the engine's state delta after it, folded into the deltas
        not yet written) for the writer task; returns at once."""
        if effects or deliveries:
            self._pending.append((effects, deliveries))
        if effects:
            self._unannounced.append((effects, now))
        if self._state is not None and effects:  # these effects are newer than its copies
            self._state = self._state.superseded(incident_ids(effects))
        if state is not None:
            self._state = state if self._state is None else self._state.then(state)
        self._now = now
        self._wake.set()

    async def apply(
        self,
        effects: Sequence[Effect],
        state: StateDelta | None,
        deliveries: Sequence[Row],
        now: float,
    ) -> None:
        """`submit`, then write at once: queued batches and this one in one transaction;
        on failure everything stays queued for the writer task's retries."""
        self.submit(effects, state, deliveries, now)
        await self.flush()

    async def flush(self) -> bool:
        """Write whatever is queued now; True when nothing is left queued."""
        async with self._writing:
            if self._state is None and not self._pending:
                self._announce()
                return True
            batches = list(self._pending)
            state, now = self._state, self._now
            saved_state = self._state
            effects = [e for batch, _ in batches for e in batch]
            rows = [r for _, batch_rows in batches for r in batch_rows]
            try:
                await self.store.apply(effects, state, rows, now)
            except FencedError as exc:
                self._fenced(exc)
                return False
            except StoreError as exc:
                self.failed("write", exc)
                self._failures += 1
                self._retry_at = self._clock.monotonic() + min(
                    RETRY_MAX, RETRY_FIRST * 2 ** (self._failures - 1)
                )
                self._bound()
                self._announce()  # the page shows the truth while the disk is full
                return False
            del self._pending[: len(batches)]
            if self._state is saved_state:
                self._state = None
            self._failures = 0
            self.recovered()
            self._announce()
            return not self._pending

    def _announce(self) -> None:
        done, self._unannounced = self._unannounced, []
        if self.on_saved is not None:
            for effects, now in done:
                self.on_saved(effects, now)

    async def run(self) -> None:
        """The writer task: save what is submitted; retry with backoff while failing."""
        while True:
            if self.problem and not self.degraded and not self.idle:
                await self._clock.sleep(max(0.0, self._retry_at - self._clock.monotonic()))
            else:
                await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not end the writer: log, back off, go on
                log.exception("store_writer_failed")
                self._failures += 1
                self._retry_at = self._clock.monotonic() + RETRY_MAX

    async def apply_durably(
        self,
        effects: Sequence[Effect],
        state: StateDelta | None,
        deliveries: Sequence[Row],
        now: float,
    ) -> None:
        """Like `apply`, but for a write someone waits on: raise StoreError when it is not
        durable (the batch is not queued: the caller refuses the write and undoes it; the
        engine it rebuilds gives a complete delta, so the lost `state` is made good)."""
        if self.degraded:
            raise StoreError(f"not durable: {self.degraded}")
        if not await self.flush():  # what is queued goes first, in order
            raise StoreError(self.problem or "the store is not writing")
        async with self._writing:
            try:
                await self.store.apply(effects, state, deliveries, now)
            except FencedError as exc:
                self._fenced(exc)
                raise
            except StoreError as exc:
                self.failed("write", exc)
                self._failures += 1
                self._retry_at = self._clock.monotonic() + RETRY_FIRST
                raise
            self.recovered()

    def _fenced(self, exc: FencedError) -> None:
        """A deposed leader's write: nothing was written and nothing ever will be from this
        queue (the new leader carries on from the saved state): drop it, tell the role."""
        log.warning("store_write_fenced", error=str(exc), dropped_effects=self.pending_effects)
        self.discard()
        if self.on_fenced is not None:
            self.on_fenced(exc)

    def discard(self) -> None:
        """Forget everything queued (leadership lost: the new leader's state wins)."""
        self._pending.clear()
        self._unannounced.clear()
        self._state = None
        self._failures = 0
        self.problem = ""

    async def check_integrity(self, full: bool) -> bool:
        """Run the store's integrity check; False if it finds a problem. The problem stays
        reported (`integrity`: readiness, `prober_store_healthy` 0) until a later check
        passes; writes that succeed meanwhile do not clear it. On corruption with
        `fallback` (SQLite) nothing more is written to the store (a memory store takes
        over, the file stays locked and untouched, a restart is needed); without it
        (PostgreSQL) the store is kept (fenced; never an unfenced memory store) and only
        reported. A check that cannot run (StoreError) is no verdict: True, and what was
        found before stays reported."""
        if self.degraded:  # the store checked is the memory stand-in: nothing to learn
            return not self.integrity
        try:
            problem = await self.store.check(full)
        except StoreError as exc:
            self.failed("check", exc)
            return True  # unknown: the write path reports its own failures
        if problem is None:
            if self.integrity:
                log.warning("store_integrity_restored", was=self.integrity)
                self.integrity = ""
            self._exporter.store_healthy(self.healthy)
            return True
        if problem != self.integrity:
            log.critical("store_corrupt", error=problem, pending_effects=self.pending_effects)
        self._exporter.store_error("check")
        self.integrity = problem
        self._exporter.store_healthy(False)
        if not self.fallback:  # PostgreSQL: never an unfenced memory store; reported only
            return False
        self.degraded = f"{problem}; nothing more is written to it: restore a backup, restart"
        self._held, self.store = self.store, MemoryStore()
        await self.store.open()
        return False

    async def close(self) -> None:
        await self.store.close()
        if self._held is not None:
            await self._held.close()

    async def call(self, operation: str, fn: Callable[[], Awaitable[T]], default: T) -> T:
        """Run a store read (or prune); report a failure and return `default` instead."""
        try:
            return await fn()
        except StoreError as exc:
            self.failed(operation, exc)
            return default

    def failed(self, operation: str, exc: Exception) -> None:
        self._exporter.store_error(operation)
        self._exporter.store_healthy(False)
        if str(exc) != self.problem:
            log.error(
                "store_failed",
                operation=operation,
                error=str(exc),
                pending_effects=self.pending_effects,
            )
        self.problem = str(exc)

    def recovered(self) -> None:
        if self.problem and not self.degraded:
            log.info("store_recovered")
            self.problem = ""
        self._exporter.store_healthy(self.healthy)

    def _bound(self) -> None:
        dropped = 0
        while self._pending and self.pending_effects > self._max_pending:
            batch, _ = self._pending.pop(0)
            dropped += len(batch)
        if dropped:
            log.error("store_backlog_dropped", effects=dropped, kept=self.pending_effects)
