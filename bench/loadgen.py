"""Open-loop HTTP load: requests sent at a fixed rate whatever the answers do.

Latency is measured from each request's SCHEDULED send time, so a stalled server shows up
as latency (no coordinated omission). Bounded in count (rate x duration) and in time
(every request has a deadline; the run ends `timeout` after the last send at the latest).

`python -m bench.loadgen URL --rate R --duration S [--connections N]` prints one JSON line:
sent, ok, errors, p50/p90/p99/max latency in seconds, achieved rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bench.httpclient import Client, HttpError
from bench.procstat import quantile

T = TypeVar("T")


def uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def run_async(coro: Coroutine[Any, Any, T], use_uvloop: bool = True) -> T:
    """asyncio.run, on uvloop when installed and wanted (as `prober run` does)."""
    if use_uvloop and uvloop_available():
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    return asyncio.run(coro)


async def open_loop(
    rate: float, count: int, fire: Callable[[float], Coroutine[Any, Any, None]]
) -> float:
    """Call `fire(scheduled_time)` `count` times at `rate` per second; returns elapsed time.

    Every call runs in its own task; this returns when all of them are done.
    """
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()
    clock = time.perf_counter  # uvloop's loop.time() has only millisecond resolution
    start = clock()
    sent = 0
    while sent < count:
        now = clock()
        due = min(count, int((now - start) * rate) + 1)
        while sent < due:
            task = loop.create_task(fire(start + sent / rate))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        if sent < count:
            await asyncio.sleep(max(0.0, start + sent / rate - clock()))
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    return clock() - start


async def run(
    url: str, rate: float, duration: float, connections: int, deadline: float
) -> dict[str, object]:
    count = max(1, int(rate * duration))
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    client = Client(url, connections)

    async def fire(scheduled: float) -> None:
        nonlocal errors
        try:
            status, _ = await asyncio.wait_for(client.get(deadline), deadline)
        except (OSError, HttpError, TimeoutError):
            errors += 1
            return
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 400:
            errors += 1
            return
        latencies.append(time.perf_counter() - scheduled)

    try:
        # Warm one connection and the server's cache; a server too busy to answer within
        # the deadline is measured anyway (its failures are the figure).
        with contextlib.suppress(OSError, HttpError, TimeoutError):
            await client.get(max(deadline, 10.0))
        elapsed = await open_loop(rate, count, fire)
    finally:
        client.close()
    latencies.sort()
    return {
        "url_path": url.split("/", 3)[-1] if url.count("/") >= 3 else url,
        "sent": count,
        "ok": len(latencies),
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "rate_target": rate,
        "rate_achieved": count / elapsed if elapsed > 0 else None,
        "p50": quantile(latencies, 0.50),
        "p90": quantile(latencies, 0.90),
        "p99": quantile(latencies, 0.99),
        "max": latencies[-1] if latencies else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("--rate", type=float, default=1000.0)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--timeout", type=float, default=2.0)
    args = p.parse_args()
    started = time.monotonic()
    result = run_async(run(args.url, args.rate, args.duration, args.connections, args.timeout))
    result["wall"] = time.monotonic() - started
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
