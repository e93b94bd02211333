"""Batched, retried writes of round rows to a RoundLog.

* `add()` buffers a row (never blocks the probe that produced it).
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
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

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
    backoff: float = 0.1
    backoff_max: float = 5.0


class RoundWriter:
    def __init__(
        self,
        rounds: RoundLog,
        clock: Clock,
        settings: WriterSettings | None = None,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self.settings = settings or WriterSettings()
        self._log = rounds
        self._clock = clock
        self._on_batch = on_batch
        # Rows are numbered in the order they arrive; the buffer holds rows `_first`,
        # `_first` + 1, ... (no number stored per row: `add` runs once per round).
        self._buffer: deque[RoundRow] = deque()
        self._first = 1
        self._oldest_at: float | None = None  # monotonic arrival of the oldest buffered row
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
        return len(self._buffer)

    def add(self, row: RoundRow) -> None:
        buffer = self._buffer
        if len(buffer) >= self.settings.max_buffer:
            buffer.popleft()
            seq = self._first
            self._first += 1
            if self._in_flight[0] <= seq <= self._in_flight[1]:
                self._evicted += 1  # lost only if its write fails
            else:
                self._count_dropped(1)
        if not buffer:
            self._oldest_at = self._clock.monotonic()
            self._wake.set()
        buffer.append(row)
        if len(buffer) >= self.settings.flush_rounds:
            self._wake.set()

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
        self._oldest_at = self._clock.monotonic() if self._buffer else None
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
            log.warning("agent_write_failed", error=type(exc).__name__, buffered=len(self._buffer))
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
            if self._buffer:
                delay = await self._attempt(delay)

    def _until_due(self) -> float | None:
        """Seconds until the next flush is due; None while nothing is buffered."""
        if not self._buffer:
            return None
        if len(self._buffer) >= self.settings.flush_rounds or self._oldest_at is None:
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
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def drain(self, deadline: float) -> int:
        """Write everything buffered, retrying until `deadline` (monotonic); rows left."""
        delay = 0.0
        while self._buffer and self._clock.monotonic() < deadline:
            if delay:
                await self._clock.sleep(min(delay, max(0.0, deadline - self._clock.monotonic())))
            delay = await self._attempt(delay)
        return len(self._buffer)
