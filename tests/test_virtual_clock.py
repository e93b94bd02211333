"""The test clock: a wait shorter than the float resolution still moves time."""

from __future__ import annotations

import asyncio

from prober.clock import VirtualClock


async def test_a_wait_below_the_float_resolution_is_woken_once_time_moves() -> None:
    clock = VirtualClock()
    await clock.advance(1e6)  # at 1e6 s, 1e-12 s is below the resolution of a float
    start = clock.monotonic()
    wakes = 0

    async def wait_until_due() -> None:
        # A flush timer's pattern: sleep the remainder until it is no longer positive.
        nonlocal wakes
        while (remaining := 1e-12 - (clock.monotonic() - start)) > 0:
            await clock.sleep(remaining)
            wakes += 1

    task = asyncio.ensure_future(wait_until_due())
    await asyncio.wait_for(clock.advance(1.0), timeout=5)
    assert task.done()
    assert 1 <= wakes <= 2
    assert clock.monotonic() == start + 1.0
