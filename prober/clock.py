"""Time as a seam: the shell reads a Clock; the domain only ever receives `now`."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall-clock time."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic clock, for deadlines and lag."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to: for tests of state machines and schedulers."""

    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start or datetime(2026, 5, 26, 21, 0, tzinfo=UTC)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self._wall += timedelta(seconds=seconds)
        self._mono += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)


class VirtualClock:
    """Virtual time for scheduler tests: `sleep()` suspends until `advance()` passes its deadline.

    Unlike FakeClock (whose sleep moves time forward itself), many tasks can sleep on one
    VirtualClock at once and each wakes at its own deadline, in order, when the test calls
    `await clock.advance(seconds)`. Nothing waits in real time.
    """

    def __init__(self, start: datetime | None = None, *, settle_steps: int = 20) -> None:
        self._wall0 = start or datetime(2026, 5, 26, 21, 0, tzinfo=UTC)
        self._mono0 = 1000.0
        self._mono = self._mono0
        self._settle_steps = settle_steps
        self._seq = 0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        from datetime import timedelta

        return self._wall0 + timedelta(seconds=self._mono - self._mono0)

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        import heapq

        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        # A wait shorter than the float resolution at this time would get a deadline equal to
        # now: advance() would wake it without moving time, and a caller that sleeps again for
        # the same remainder would be woken for ever. It gets the next representable instant.
        deadline = max(self._mono + seconds, math.nextafter(self._mono, math.inf))
        heapq.heappush(self._sleepers, (deadline, self._seq, fut))
        await fut

    async def settle(self) -> None:
        """Let woken tasks run until they block again (a bounded number of loop turns)."""
        for _ in range(self._settle_steps):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline passes, in deadline order."""
        import heapq

        target = self._mono + seconds
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, fut = heapq.heappop(self._sleepers)
            if fut.done():  # cancelled sleeper
                continue
            self._mono = max(self._mono, deadline)
            fut.set_result(None)
            await self.settle()
        self._mono = target
        await self.settle()
