"""`python -m bench`: prober next to its baselines, in one run; a table and a JSON file.

    python -m bench              full size (about 4-6 minutes, plus the distributed section)
    python -m bench --quick      smoke size (under about 30 s)
    python -m bench --json PATH --repeat N --light-target --no-blackbox --no-uvloop

Cores: this orchestrator, the target (nginx) and the drivers run on the first core; each
measured process (a prober or aiohttp worker, blackbox_exporter, the `prober run` process)
on the second. See docs/PERFORMANCE.md for what every figure means.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import bars, cost, distributed, report, scale
from bench.loadgen import uvloop_available
from bench.procstat import cores
from bench.targets import Blackbox, Target

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"

QUICK_COST = cost.CostSize(duration=0.6, warmup=0.2, concurrency=16, rate=200.0, interval=0.5)
FULL_COST = cost.CostSize(duration=5.0, warmup=1.0, concurrency=64, rate=500.0, interval=2.0)
QUICK_SCALE = scale.ScaleSize(
    checks=200, interval=1.0, window=1.5, api_rate=200.0, api_duration=1.5, scrapes=3
)
FULL_SCALE = scale.ScaleSize(
    checks=10_000, interval=10.0, window=20.0, api_rate=1000.0, api_duration=10.0, scrapes=15
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke size: tiny, about 30 s")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the JSON")
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repeats of each cost workload (median reported; default 3, quick 1)",
    )
    p.add_argument("--checks", type=int, default=None, help="checks in the scale run")
    p.add_argument(
        "--light-target",
        action="store_true",
        help="use the asyncio target even when nginx is installed",
    )
    p.add_argument("--no-blackbox", action="store_true", help="skip blackbox_exporter")
    p.add_argument("--no-uvloop", action="store_true", help="plain asyncio in the workers")
    p.add_argument(
        "--in-process",
        action="store_true",
        help="scale run on bench/scale_host.py (Runner+HttpProber+Metrics+API in one process) "
        "instead of `prober run`, to tell the service's own cost apart",
    )
    p.add_argument(
        "--nice",
        type=int,
        default=10,
        help="raise the priority of every bench process by this much when root (0 to leave it)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="probes per second for the same-rate CPU comparison (default 500)",
    )
    p.add_argument(
        "--skip",
        choices=["cost", "scale", "distributed"],
        action="append",
        default=[],
        help="leave a section out",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    pins = cores()
    driver_core, core = pins if pins else (None, None)
    if driver_core is not None:
        os.sched_setaffinity(0, {driver_core})  # children inherit unless taskset moves them
    niceness = 0
    if args.nice and os.geteuid() == 0:
        # Every process the bench starts inherits this: on a shared machine, unrelated load
        # then takes less of the measured core (its remaining share is still reported).
        niceness = os.nice(-args.nice)
    use_uvloop = not args.no_uvloop
    results: dict[str, Any] = {"quick": args.quick, "json": str(args.json)}
    with tempfile.TemporaryDirectory(prefix="prober-bench-") as tmp_name:
        tmp = Path(tmp_name)
        target = Target(tmp, driver_core, light=args.light_target)
        blackbox = None if args.no_blackbox or not Blackbox.available() else Blackbox(tmp, core)
        results["environment"] = {
            "target": target.kind,
            "blackbox": None,
            "loop": "uvloop" if use_uvloop and uvloop_available() else "asyncio",
            "uvloop_installed": uvloop_available(),
            "pinning": (
                f"driver {driver_core}, measured {core}"
                if pins
                else "not pinned (fewer than 2 cores or no taskset)"
            ),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "nice": niceness,
        }
        try:
            target.start()
            results["environment"]["target"] = f"{target.kind} {target.version}".strip()
            if blackbox is not None:
                blackbox.start()
                if not blackbox.check(target.base + "/ok"):
                    raise RuntimeError("blackbox_exporter's probe of the target failed")
                results["environment"]["blackbox"] = blackbox.version
            if "cost" not in args.skip:
                repeat = args.repeat or (1 if args.quick else 3)
                size = QUICK_COST if args.quick else FULL_COST
                if args.rate:
                    size = dataclasses.replace(size, rate=args.rate)
                results["cost"] = cost.run(
                    target.base, blackbox, size, repeat, core, driver_core, use_uvloop
                )
            if blackbox is not None:
                blackbox.stop()
            if "scale" not in args.skip:
                sz = QUICK_SCALE if args.quick else FULL_SCALE
                if args.checks:
                    sz = scale.ScaleSize(
                        args.checks,
                        sz.interval,
                        sz.window,
                        sz.api_rate,
                        sz.api_duration,
                        sz.scrapes,
                    )
                try:
                    results["scale"] = scale.run(
                        tmp, target.base, sz, core, driver_core, in_process=args.in_process
                    )
                    results["scale"]["metrics_render_isolated"] = scale.isolated_render(
                        sz.checks, core, tmp
                    )
                except (RuntimeError, OSError, ValueError) as exc:
                    results["scale"] = {"error": f"{type(exc).__name__}: {exc}", "checks": 0}
        finally:
            if blackbox is not None:
                blackbox.stop()
            target.stop()
    if "distributed" not in args.skip:  # bench/distributed.py: agents, PostgreSQL, failover
        results["distributed"] = distributed.section(args.quick)
    results["environment"]["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["bar"] = [v.as_dict() for v in bars.evaluate(results)]
    results["seconds"] = time.monotonic() - started
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    print(report.render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
