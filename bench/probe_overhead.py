"""CPU per probe: HttpProber.probe next to a bare aiohttp loop with force_close=True.

    python -m bench.probe_overhead [-n 2000] [-c 50] [--repeats 3] [--json FILE]

The target (`bench.light_target`) runs in its own process, pinned to another core when
there is one, so only the client's CPU (time.process_time) is counted. Each variant does
the same N GETs of /ok with fresh connections at the same concurrency; variants alternate
over the repeats and the median is reported, as CPU seconds per 1,000 probes and as a
ratio to the bare loop (issue 6's bar: at most 1.3).
Variants: bare (aiohttp, force_close), prober_fast (HttpProber on its lean asyncio
Protocol client, `prober.probes.fasthttp`), prober_aiohttp (HttpProber(engine="aiohttp"), phase
timings on), and prober_aiohttp_notrace (phase_timings=False) to show what tracing costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp

from prober.config.model import Check
from prober.probes.http import HttpProber

VARIANTS = ("bare", "prober_fast", "prober_aiohttp", "prober_aiohttp_notrace")


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def start_target() -> tuple[subprocess.Popen[str], str]:
    cpus = os.cpu_count() or 1
    cmd = [sys.executable, "-m", "bench.light_target"]
    if cpus > 1 and os.path.exists("/usr/bin/taskset"):
        cmd = ["taskset", "-c", str(cpus - 1), *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    if not port.isdigit():
        proc.kill()
        raise RuntimeError(f"target did not start: {port!r}")
    return proc, f"http://127.0.0.1:{port}/ok"


async def _drive(n: int, concurrency: int, one: Callable[[], Awaitable[bool]]) -> tuple[float, int]:
    left = n
    failures = 0

    async def worker() -> None:
        nonlocal left, failures
        while left > 0:
            left -= 1
            if not await one():
                failures += 1

    cpu0 = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.process_time() - cpu0, failures


async def run_bare(url: str, n: int, concurrency: int) -> tuple[float, int]:
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        timeout = aiohttp.ClientTimeout(total=5)

        async def one() -> bool:
            try:
                async with session.get(url, timeout=timeout) as resp:
                    await resp.read()
                    return resp.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        await one()  # warm-up
        return await _drive(n, concurrency, one)


async def run_prober(
    url: str, n: int, concurrency: int, trace: bool, engine: str
) -> tuple[float, int]:
    check = Check(id="bench", component="bench", url=url, timeout=5.0, interval=10.0)
    async with HttpProber(phase_timings=trace, engine=engine) as prober:

        async def one() -> bool:
            return (await prober.probe(check)).ok

        await one()
        return await _drive(n, concurrency, one)


def measure(n: int, concurrency: int, repeats: int) -> dict[str, object]:
    proc, url = start_target()
    runs: dict[str, list[float]] = {name: [] for name in VARIANTS}
    failures = 0
    try:
        for _ in range(repeats):
            for name in runs:
                if name == "bare":
                    coro = run_bare(url, n, concurrency)
                else:
                    engine = "fast" if name == "prober_fast" else "aiohttp"
                    trace = not name.endswith("notrace")
                    coro = run_prober(url, n, concurrency, trace, engine)
                cpu, failed = asyncio.run(coro)
                failures += failed
                runs[name].append(cpu / n * 1000)
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
    medians = {name: statistics.median(v) for name, v in runs.items()}
    return {
        "n": n,
        "concurrency": concurrency,
        "repeats": repeats,
        "cpu_s_per_1000": medians,
        "runs_cpu_s_per_1000": runs,
        "ratios_to_bare": {
            name: medians[name] / medians["bare"] for name in VARIANTS if name != "bare"
        },
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="GETs per run")
    ap.add_argument("-c", "--concurrency", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    _pin(0)  # the client on core 0; the target is pinned to the last core
    result = measure(args.n, args.concurrency, args.repeats)
    per = result["cpu_s_per_1000"]
    assert isinstance(per, dict)
    print(f"N={args.n} concurrency={args.concurrency} repeats={args.repeats} (median)")
    for name, value in per.items():
        print(f"  {name:<23} {value:.3f} CPU-s per 1000 probes ({value:.3f} ms per probe)")
    ratios = result["ratios_to_bare"]
    assert isinstance(ratios, dict)
    for name, ratio in ratios.items():
        print(f"  ratio {name + '/bare':<28} {ratio:.2f} (bar: <= 1.3)")
    if result["failures"]:
        print(f"  WARNING: {result['failures']} failed requests")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
