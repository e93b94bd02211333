"""The service's hold on its store: health reporting, and effects that must not be lost.

A batch of effects whose write fails stays queued (bounded) and is written again, ahead of
the next batch, once the store works again: every store write is idempotent (upserts and
unique event keys), so writing a batch twice is harmless, and losing one would leave an
incident unannounced or stuck open. A store that cannot be opened (corrupt file, newer
schema, unreadable volume) is replaced by a memory store so that probing and serving go
on; the file is never touched, and the store stays reported unhealthy until a restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from prober.domain.effects import Effect
from prober.errors import StoreError, StoreLockedError, StoreLostError
from prober.logs import get_logger
from prober.metrics import Metrics
from prober.store.base import Store
from prober.store.memory import MemoryStore

log = get_logger("prober.store")

T = TypeVar("T")
MAX_PENDING_EFFECTS = 10_000

Row = tuple[str, str, bytes]


class StoreKeeper:
    def __init__(self, store: Store, exporter: Metrics,
                 max_pending: int = MAX_PENDING_EFFECTS) -> None:
        self.store = store
        self._exporter = exporter
        self._max_pending = max_pending
        self._pending: list[tuple[Sequence[Effect], Sequence[Row]]] = []
        self.problem = ""  # the last error, while the store is failing
        self.degraded = ""  # why we run on a memory fallback; cleared only by a restart
        self.unreadable_state = ""  # why the saved domain state could not be read
        self._held: Store | None = None  # a corrupt store, kept open (and locked), unused

    @property
    def healthy(self) -> bool:
        return not self.problem and not self.degraded

    @property
    def pending_effects(self) -> int:
        return sum(len(e) for e, _ in self._pending)

    async def open(self) -> Mapping[str, Any] | None:
        """Open the store and return the saved domain state (None when fresh)."""
        try:
            await self.store.open()
            try:
                return await self.store.load_domain_state()
            except ValueError as exc:  # bad JSON: the service rescues what it can
                self.unreadable_state = f"saved state is not valid JSON: {exc}"
                return None
        except (StoreLockedError, StoreLostError):
            raise  # another prober writes this file, or it vanished: refuse to start
        except StoreError as exc:
            self.failed("open", exc)
            self.degraded = f"running without persistence: {exc}"
            self.store = MemoryStore()
            await self.store.open()
            return None

    async def apply(self, effects: Sequence[Effect], state: Mapping[str, Any],
                    deliveries: Sequence[Row], now: float) -> None:
        """Write queued batches and this one in one transaction; queue it all on failure."""
        if effects or deliveries:
            self._pending.append((effects, deliveries))
        all_effects = [e for batch, _ in self._pending for e in batch]
        all_rows = [r for _, rows in self._pending for r in rows]
        try:
            await self.store.apply(all_effects, state, all_rows, now)
        except StoreError as exc:
            self.failed("write", exc)
            self._bound()
            return
        self._pending.clear()
        self.recovered()

    async def apply_durably(self, effects: Sequence[Effect], state: Mapping[str, Any],
                            deliveries: Sequence[Row], now: float) -> None:
        """Like `apply`, but for a write someone waits on: raise StoreError when it is not
        durable (the batch is not queued: the caller refuses the write and undoes it)."""
        if self.degraded:
            raise StoreError(f"not durable: {self.degraded}")
        all_effects = [e for batch, _ in self._pending for e in batch] + list(effects)
        all_rows = [r for _, rows in self._pending for r in rows] + list(deliveries)
        try:
            await self.store.apply(all_effects, state, all_rows, now)
        except StoreError as exc:
            self.failed("write", exc)
            raise
        self._pending.clear()
        self.recovered()

    async def check_integrity(self, full: bool) -> bool:
        """Run the store's integrity check; on corruption stop writing to it for good (a
        memory store takes over, the file stays locked and untouched). False if corrupt."""
        try:
            problem = await self.store.check(full)
        except StoreError as exc:
            self.failed("check", exc)
            return True  # unknown: the write path reports its own failures
        if problem is None:
            return True
        log.critical("store_corrupt", error=problem, pending_effects=self.pending_effects)
        self.failed("check", StoreError(problem))
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
            log.error("store_failed", operation=operation, error=str(exc),
                      pending_effects=self.pending_effects)
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
