"""One measured workload, run in its own process (pinned by the caller with taskset).

`python -m bench.worker SPEC_JSON` prints one JSON line with what it measured. Kinds:

- `prober_sat`, `aiohttp_sat`, `blackbox_sat`: saturation. `concurrency` closed loops send
  GETs back to back; throughput is what one core sustains. prober's loops do exactly what
  the runner's round does per probe (`HttpProber.probe`, then `Metrics.record_round`).
- `prober_rate`: the real `Runner` + `HttpProber` + `Metrics` at a fixed rate:
  rate x interval checks, each on its interval (how `prober run` drives probes).
- `aiohttp_rate`, `blackbox_rate`: the same GETs sent open-loop at the same fixed rate.

Every prober and aiohttp GET opens a fresh connection (`force_close`); blackbox_exporter
opens one per probe itself. CPU is this process's getrusage (all threads), except for the
blackbox kinds, where it is the exporter's utime+stime from /proc (the driver is not
counted). Figures cover the measured window only, after `warmup` seconds.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp

from bench.httpclient import Client, HttpError
from bench.loadgen import open_loop, run_async, uvloop_available
from bench.procstat import core_busy, cpu_seconds, quantile


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Counter:
    __slots__ = ("errors", "lags", "probes")

    def __init__(self) -> None:
        self.probes = 0
        self.errors = 0
        self.lags: list[float] = []


async def _measure(
    spec: dict[str, Any],
    counter: Counter,
    cpu: Callable[[], float],
    stop: Callable[[], Awaitable[None]],
) -> dict[str, Any]:
    """Wait out the warm-up, then measure probes and CPU over `duration` seconds."""
    await asyncio.sleep(spec["warmup"])
    core = spec.get("measured_core")
    b0 = core_busy(core)
    n0, e0, c0, t0 = counter.probes, counter.errors, cpu(), time.monotonic()
    lag_start = len(counter.lags)
    await asyncio.sleep(spec["duration"])
    n1, e1, c1, t1 = counter.probes, counter.errors, cpu(), time.monotonic()
    b1 = core_busy(core)
    lags = sorted(counter.lags[lag_start:])
    await stop()
    probes, wall, used = n1 - n0, t1 - t0, c1 - c0
    return {
        "kind": spec["kind"],
        "probes": probes,
        "errors": e1 - e0,
        "wall": wall,
        "cpu": used,
        "pps": probes / wall if wall > 0 else None,
        "cpu_share": used / wall if wall > 0 else None,
        "ms_per_probe": used / probes * 1000.0 if probes else None,
        # Busy time of the measured core NOT spent by the measured process: other load.
        "foreign_share": (b1 - b0 - used) / wall if b0 is not None and b1 is not None else None,
        "lag_p50": quantile(lags, 0.5),
        "lag_p99": quantile(lags, 0.99),
        "loop": "uvloop" if spec.get("uvloop") and uvloop_available() else "asyncio",
    }


def _checks(spec: dict[str, Any], n: int, interval: float) -> list[Any]:
    from prober.config.model import Check

    timeout = min(5.0, interval / 2)
    return [
        Check(
            id=f"bench-{i:05d}",
            component="bench",
            url=spec["target"] + "/ok",
            interval=interval,
            timeout=timeout,
        )
        for i in range(n)
    ]


async def _closed_loops(
    n: int, once: Callable[[int], Awaitable[bool]], counter: Counter
) -> Callable[[], Awaitable[None]]:
    """Start `n` loops calling `once(i)`; returns the function that stops them."""
    running = True

    async def loop(i: int) -> None:
        while running:
            ok = await once(i)
            counter.probes += 1
            if not ok:
                counter.errors += 1

    tasks = [asyncio.create_task(loop(i)) for i in range(n)]

    async def stop() -> None:
        nonlocal running
        running = False
        await asyncio.gather(*tasks, return_exceptions=True)

    return stop


async def prober_sat(spec: dict[str, Any], counter: Counter) -> dict[str, Any]:
    from prober.metrics import Metrics
    from prober.probes.http import HttpProber

    checks = _checks(spec, spec["concurrency"], 10.0)
    metrics = Metrics()
    metrics.set_checks(checks)
    prober = HttpProber()

    async def once(i: int) -> bool:
        result = await prober.probe(checks[i])
        metrics.record_round(checks[i], [result], 0.0)
        return result.ok

    stop = await _closed_loops(len(checks), once, counter)

    async def close() -> None:
        await stop()
        await prober.close()

    return await _measure(spec, counter, _self_cpu, close)


async def prober_rate(spec: dict[str, Any], counter: Counter) -> dict[str, Any]:
    from prober.clock import SystemClock
    from prober.config.model import Check
    from prober.metrics import Metrics
    from prober.probes.http import HttpProber
    from prober.probes.result import ProbeResult
    from prober.runner import Runner

    interval = spec["interval"]
    checks = _checks(spec, max(1, round(spec["rate"] * interval)), interval)
    metrics = Metrics()
    metrics.set_checks(checks)
    prober = HttpProber()

    async def on_round(check: Check, results: list[ProbeResult], lag: float) -> None:
        metrics.record_round(check, results, lag)
        counter.probes += len(results)
        counter.errors += sum(1 for r in results if not r.ok)
        counter.lags.append(lag)

    runner = Runner(prober.probe, on_round, SystemClock(), max_concurrency=512, grace=5.0)
    runner.start(checks)

    async def close() -> None:
        await runner.stop()
        await prober.close()

    return await _measure(spec, counter, _self_cpu, close)


def _session(limit: int, force_close: bool) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, force_close=force_close)
    return aiohttp.ClientSession(connector=connector)


async def _get(
    session: aiohttp.ClientSession,
    url: str,
    deadline: aiohttp.ClientTimeout,
) -> bool:
    try:
        async with session.get(url, timeout=deadline) as resp:
            body = await resp.read()
            return resp.status == 200 and bool(body)
    except (aiohttp.ClientError, TimeoutError):
        return False


async def bare_or_blackbox(spec: dict[str, Any], counter: Counter) -> dict[str, Any]:
    """The aiohttp floor and the blackbox driver share one shape: GET a URL, check the body."""
    kind: str = spec["kind"]
    blackbox = kind.startswith("blackbox")
    url = spec["probe_url"] if blackbox else spec["target"] + "/ok"
    timeout = aiohttp.ClientTimeout(total=5.0)
    # The floor opens a fresh connection per GET with aiohttp. The blackbox driver keeps
    # its connections to the exporter (as Prometheus does) on a lean client, so the driver
    # is never what limits the exporter; the exporter opens a connection per probe itself.
    session = _session(0, force_close=True)
    lean = Client(url, spec["concurrency"] if kind.endswith("_sat") else 256)
    cpu = (lambda: cpu_seconds(spec["blackbox_pid"])) if blackbox else _self_cpu

    async def once(_: int = 0) -> bool:
        if not blackbox:
            return await _get(session, url, timeout)
        try:
            status, body = await lean.get(5.0)
        except (OSError, HttpError, TimeoutError):
            return False
        return status == 200 and b"\nprobe_success 1" in body

    if kind.endswith("_sat"):
        stop = await _closed_loops(spec["concurrency"], once, counter)
    else:
        count = int(spec["rate"] * (spec["warmup"] + spec["duration"] + 1.0))

        async def fire(_: float) -> None:
            ok = await once()
            counter.probes += 1
            if not ok:
                counter.errors += 1

        sender = asyncio.create_task(open_loop(spec["rate"], count, fire))

        async def stop() -> None:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def close() -> None:
        await stop()
        await session.close()
        lean.close()

    return await _measure(spec, counter, cpu, close)


KINDS: dict[str, Callable[[dict[str, Any], Counter], Coroutine[Any, Any, dict[str, Any]]]] = {
    "prober_sat": prober_sat,
    "prober_rate": prober_rate,
    "aiohttp_sat": bare_or_blackbox,
    "aiohttp_rate": bare_or_blackbox,
    "blackbox_sat": bare_or_blackbox,
    "blackbox_rate": bare_or_blackbox,
}


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = run_async(KINDS[spec["kind"]](spec, Counter()), spec.get("uvloop", True))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
