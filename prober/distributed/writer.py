"""Batched, retried writes of round rows to a RoundLog.

* `add()` buffers a row (never blocks the probe that produced it). `stage()` buffers a round
  not yet encoded: staged rounds are encoded together (the writer's `encode`), once
  `encode_batch` are staged or when the writer writes, whichever comes first. Python code
  run between probes costs several times what it costs in a loop of its own (cold
  caches: docs/SCALING.md "Where an agent's CPU goes"), so the probing path only appends.
  Staged rounds count as buffered; at most `encode_batch` wait unencoded, then they join
  the bounded buffer.
* The writer flushes when `flush_rounds` rows are buffered or `flush_interval` after the
  oldest unwritten row arrived, whichever comes first, at most `batch_max` rows a batch.
* A row leaves the buffer, and counts as written, only once `append_rounds` returned: the
  log stored it durably.
* A failed write is retried with exponential backoff (`backoff` doubling to
  `backoff_max`); the rows stay buffered meanwhile. The buffer is bounded (`max_buffer`):
  when it is full the OLDEST rows are dropped and counted (`dropped`; a row of the batch
  being written counts only if that write fails). By then the leader
  has already decided those rounds without them (a round waits at most timeout + settle),
  so the newest rounds are the ones worth keeping.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

import structlog

from prober.clock import Clock
from prober.distributed.roundlog import RoundLog, RoundRow

log = structlog.get_logger("prober.agent")


@dataclass(frozen=True, slots=True)
class WriterSettings:
    flush_rounds: int = 500
    flush_interval: float = 0.2  # seconds
    batch_max: int = 5000
    max_buffer: int = 200_000  # rows (~100 bytes each: ~20 MB at worst)
    encode_batch: int = 64  # staged rounds encoded together (see `RoundWriter.stage`)
    backoff: float = 0.1
    backoff_max: float = 5.0


class RoundWriter:
    def __init__(
        self,
        rounds: RoundLog,
        clock: Clock,
        settings: WriterSettings | None = None,
        on_batch: Callable[[int, float], None] | None = None,
        encode: Callable[[list[Any]], list[RoundRow]] | None = None,
    ) -> None:
        """`encode` turns staged rounds into rows (it must not raise: a round it cannot
        encode it leaves out, and says so)."""
        self.settings = settings or WriterSettings()
        self._encode = encode
        self._staged: list[Any] = []
        self._log = rounds
        self._clock = clock
        self._on_batch = on_batch
        # Rows are numbered in the order they arrive; the buffer holds rows `_first`,
        # `_first` + 1, ... (no number stored per row: `add` runs once per round).
        self._buffer: deque[RoundRow] = deque()
        self._first = 1
        self._oldest_at: float | None = None  # monotonic arrival of the oldest unwritten row
        self._wake = asyncio.Event()
        self._writing = asyncio.Lock()  # one batch in flight: run() and drain() never race
        self.written = 0
        self.dropped = 0
        self.errors = 0
        self.healthy = True  # the last write attempt succeeded (or none was made)
        self._in_flight = (0, -1)  # seqs of the batch being written
        self._evicted = 0  # rows of the batch in flight pushed out of a full buffer

    @property
    def buffered(self) -> int:
        return len(self._buffer) + len(self._staged)

    def add(self, row: RoundRow) -> None:
        if not self._buffer and not self._staged:
            self._oldest_at = self._clock.monotonic()
            self._wake.set()
        self._push(row)
        if len(self._buffer) >= self.settings.flush_rounds:
            self._wake.set()

    def stage(self, item: Any) -> None:
        """A round to encode later with the others staged (see `encode`). A writer is fed
        by `add` or by `stage`, not both (their rows would not stay in order)."""
        if self._encode is None:
            raise RuntimeError("RoundWriter.stage() needs an `encode` function")
        staged = self._staged
        if not staged and not self._buffer:
            self._oldest_at = self._clock.monotonic()
            self._wake.set()
        staged.append(item)
        if len(staged) >= self.settings.encode_batch:
            self._unstage()
        if len(staged) + len(self._buffer) >= self.settings.flush_rounds:
            self._wake.set()

    def _unstage(self) -> None:
        if not self._staged:
            return
        assert self._encode is not None  # stage() checked
        items, self._staged = self._staged, []
        for row in self._encode(items):
            self._push(row)

    def _push(self, row: RoundRow) -> None:
        buffer = self._buffer
        if len(buffer) >= self.settings.max_buffer:
            buffer.popleft()
            seq = self._first
            self._first += 1
            if self._in_flight[0] <= seq <= self._in_flight[1]:
                self._evicted += 1  # lost only if its write fails
            else:
                self._count_dropped(1)
        buffer.append(row)

    def _count_dropped(self, n: int) -> None:
        before = self.dropped
        self.dropped += n
        if before == 0 or before // 10_000 != self.dropped // 10_000:
            log.warning("agent_buffer_full_rounds_dropped", dropped=self.dropped)

    @property
    def lock(self) -> asyncio.Lock:
        """Held while a batch is being written."""
        return self._writing

    async def write_once(self) -> int:
        """Write one batch from the head of the buffer; rows written (raises on failure)."""
        async with self._writing:
            return await self._write_head()

    async def _write_head(self) -> int:
        self._unstage()
        if not self._buffer:
            return 0
        batch = list(islice(self._buffer, self.settings.batch_max))
        first = self._first
        last = first + len(batch) - 1
        start = self._clock.monotonic()
        self._in_flight = (first, last)
        try:
            await self._log.append_rounds(batch)
        except BaseException:
            self._in_flight = (0, -1)
            if self._evicted:
                self._count_dropped(self._evicted)
                self._evicted = 0
            self.errors += 1
            self.healthy = False
            raise
        self._in_flight = (0, -1)
        self._evicted = 0
        self.healthy = True
        # Rows dropped from a full buffer meanwhile were of this batch: fewer to remove.
        for _ in range(min(last - self._first + 1, len(self._buffer))):
            self._buffer.popleft()
        self._first = max(self._first, last + 1)
        self._oldest_at = self._clock.monotonic() if self._buffer or self._staged else None
        self.written += len(batch)
        if self._on_batch is not None:
            self._on_batch(len(batch), self._clock.monotonic() - start)
        return len(batch)

    async def _attempt(self, delay: float) -> float:
        """One write; the backoff to wait next (0 after a success)."""
        try:
            await self.write_once()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("agent_write_failed", error=type(exc).__name__, buffered=self.buffered)
            return min(max(delay * 2, self.settings.backoff), self.settings.backoff_max)
        return 0.0

    async def run(self) -> None:
        """Flush forever (until cancelled)."""
        delay = 0.0
        while True:
            if delay:
                await self._clock.sleep(delay)
            else:
                wait = self._until_due()
                if wait is None or wait > 0:
                    await self._wait(wait)
                    continue
            if self._buffer or self._staged:
                delay = await self._attempt(delay)

    def _until_due(self) -> float | None:
        """Seconds until the next flush is due; None while nothing is buffered."""
        n = len(self._buffer) + len(self._staged)
        if not n:
            return None
        if n >= self.settings.flush_rounds or self._oldest_at is None:
            return 0.0
        return self.settings.flush_interval - (self._clock.monotonic() - self._oldest_at)

    async def _wait(self, seconds: float | None) -> None:
        """Until `add` wakes the writer (first row, or a full batch), or `seconds` pass."""
        self._wake.clear()
        waker: asyncio.Future[object] = asyncio.ensure_future(self._wake.wait())
        tasks = {waker}
        if seconds is not None:
            tasks.add(asyncio.ensure_future(self._clock.sleep(seconds)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Cancelled, not awaited: awaiting them here under `suppress(CancelledError)`
            # swallowed a cancel of the writer itself that landed meanwhile, and the writer
            # then waited for ever (Agent.stop() with it).
            for task in tasks:
                task.cancel()

    async def drain(self, deadline: float) -> int:
        """Write everything buffered, retrying until `deadline` (monotonic); rows left."""
        delay = 0.0
        while (self._buffer or self._staged) and self._clock.monotonic() < deadline:
            if delay:
                await self._clock.sleep(min(delay, max(0.0, deadline - self._clock.monotonic())))
            delay = await self._attempt(delay)
        return self.buffered
