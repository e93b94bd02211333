"""The periodic jobs, as one table (name, interval, coroutine), run by one small scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from prober.clock import Clock
from prober.logs import get_logger

log = get_logger("prober.service")


@dataclass(frozen=True)
class Job:
    name: str
    interval: float  # seconds between the end of one run and the start of the next
    run: Callable[[], Awaitable[object]]


class Scheduler:
    """Runs each job every `interval` on the clock; a failing job is logged, the others
    go on. `stop()` cancels them all and waits."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, jobs: Sequence[Job]) -> None:
        self._tasks = [asyncio.create_task(self._every(job), name=job.name) for job in jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _every(self, job: Job) -> None:
        while True:
            await self._clock.sleep(job.interval)
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one periodic job must not stop the others
                log.exception("periodic_job_failed", job=job.name)
