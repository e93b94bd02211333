"""Scheduler lag at scale on the real clock: 10,000 checks every 10 s, instant fake probes.

    python bench/scheduler_lag.py [--checks 10000] [--interval 10] [--seconds 30]
                                  [--scrape-interval 15] [--no-metrics] [--sync-render]
                                  [--json out.json]

The probe is `await asyncio.sleep(0)` returning an ok result, so the figures are the
scheduler's own cost (plus metrics.record_round per round, and a /metrics render every
`--scrape-interval` seconds through `render_async`, as a Prometheus scrape would cause,
unless disabled). `--sync-render` renders with the blocking `render()` instead: the plain
alternative of ledger line "yielding render" (docs/PERFORMANCE.md), compared by
`lag_p99_ms_during_scrapes`.
Prints p50/p99/max lag (first probe start minus scheduled time), rounds, skipped rounds,
CPU share of one core and RSS. uvloop is used when installed (`--no-uvloop` to compare).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import CollectorRegistry

from prober.clock import SystemClock
from prober.config.model import Check
from prober.metrics import Metrics
from prober.probes.result import ProbeResult, Reason
from prober.runner import Runner


def rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def runqueue_wait() -> float:
    """Seconds this process's main thread spent runnable but waiting for a CPU (Linux)."""
    try:
        return int(Path("/proc/thread-self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    n_checks: int,
    interval: float,
    seconds: float,
    scrape_interval: float,
    with_metrics: bool,
    freeze: bool = False,
    sync_render: bool = False,
) -> dict[str, Any]:
    clock = SystemClock()
    checks = [
        Check(
            id=f"check-{i:05d}",
            component=f"component-{i % 200:03d}",
            url=f"http://127.0.0.1:9/{i}",
            interval=interval,
            timeout=min(5.0, interval / 2),
        )
        for i in range(n_checks)
    ]
    metrics = Metrics(CollectorRegistry())
    metrics.set_checks(checks)
    lags: list[float] = []
    lag_times: list[float] = []

    async def probe(check: Check) -> ProbeResult:
        await asyncio.sleep(0)
        return ProbeResult(check.id, check.component, time.time(), Reason.OK, 0.001, 200)

    async def on_round(check: Check, results: list[ProbeResult], lag: float) -> None:
        lags.append(lag)
        lag_times.append(time.perf_counter())
        if with_metrics:
            metrics.record_round(check, results, lag)

    runner = Runner(probe, on_round, clock)
    renders: list[float] = []
    scrape_windows: list[tuple[float, float]] = []

    async def scraper() -> None:
        while True:
            await asyncio.sleep(scrape_interval)
            t0 = time.perf_counter()
            if sync_render:
                metrics.render()
            else:
                await metrics.render_async()
            renders.append(time.perf_counter() - t0)
            scrape_windows.append((t0, time.perf_counter()))

    gc_pauses: list[tuple[int, float]] = []
    gc_start = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_start[0] = time.perf_counter()
        else:
            gc_pauses.append((info["generation"], time.perf_counter() - gc_start[0]))

    gc.callbacks.append(on_gc)
    rss_before = rss_mib()
    wall0, cpu0, rq0 = time.perf_counter(), time.process_time(), runqueue_wait()
    runner.start(checks)
    if freeze:
        gc.freeze()  # what a service can do after start-up: long-lived objects leave GC scans
    scrape = asyncio.ensure_future(scraper()) if with_metrics and scrape_interval > 0 else None
    await asyncio.sleep(seconds)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    rq = runqueue_wait() - rq0
    rss = rss_mib()
    if scrape is not None:
        scrape.cancel()
        await asyncio.gather(scrape, return_exceptions=True)
    await runner.stop()
    gc.callbacks.remove(on_gc)
    windows = []
    for k in range(int(wall // 5) + 1):
        lo, hi = wall0 + 5 * k, wall0 + 5 * (k + 1)
        part = [lag for lag, t in zip(lags, lag_times, strict=True) if lo <= t < hi]
        if part:
            windows.append(round(percentile(part, 0.99) * 1000, 1))
    during = [
        lag
        for lag, t in zip(lags, lag_times, strict=True)
        if any(a <= t <= b + 0.05 for a, b in scrape_windows)
    ]
    return {
        "checks": n_checks,
        "interval_s": interval,
        "seconds": round(wall, 1),
        "rounds": len(lags),
        "expected_rounds": round(n_checks * wall / interval),
        "skipped_rounds": runner.skipped_rounds,
        "lag_p50_ms": round(percentile(lags, 0.50) * 1000, 2),
        "lag_p99_ms": round(percentile(lags, 0.99) * 1000, 2),
        "lag_max_ms": round(max(lags, default=float("nan")) * 1000, 2),
        "lag_p99_ms_per_5s": windows,
        "lag_p99_ms_during_scrapes": round(percentile(during, 0.99) * 1000, 1) if during else None,
        "lag_mean_ms": round(statistics.fmean(lags) * 1000, 2) if lags else None,
        "cpu_share": round(cpu / wall, 3),
        # time spent waiting for a CPU held by other processes: a busy host shows up here
        "runqueue_wait_s": round(rq, 2),
        "cpu_us_per_round": round(cpu / max(1, len(lags)) * 1e6, 1),
        "rss_mib": round(rss, 1),
        "rss_before_start_mib": round(rss_before, 1),
        "scrapes": len(renders),
        "render_ms_median": round(statistics.median(renders) * 1000, 1) if renders else None,
        "gc_collections": len(gc_pauses),
        "gc_max_pause_ms": round(max((p for _, p in gc_pauses), default=0.0) * 1000, 1),
        "gc_gen2_pauses_ms": [round(p * 1000, 1) for g, p in gc_pauses if g == 2],
        "gc_freeze": freeze,
        "render": "render() (blocking)" if sync_render else "render_async() (yielding)",
        "metrics": with_metrics,
        "loop": type(asyncio.get_running_loop()).__module__,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--checks", type=int, default=10_000)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--scrape-interval", type=float, default=15.0)
    ap.add_argument("--no-metrics", action="store_true")
    ap.add_argument("--no-uvloop", action="store_true")
    ap.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after start-up")
    ap.add_argument("--sync-render", action="store_true", help="blocking render() per scrape")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    coro = measure(
        args.checks,
        args.interval,
        args.seconds,
        args.scrape_interval,
        not args.no_metrics,
        args.gc_freeze,
        args.sync_render,
    )
    try:
        if args.no_uvloop:
            raise ImportError
        import uvloop  # type: ignore[import-not-found]

        res = uvloop.run(coro)
    except ImportError:
        res = asyncio.run(coro)
    for key, value in res.items():
        print(f"{key:24} {value}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
