"""Micro benchmark of the domain Engine at scale: µs per `observe()` and per `tick()`.

    python bench/engine_bench.py [--checks 10000] [--components 500 10000] [--intervals 1]

The shell calls `engine.observe(results, now)` once per round of each check (1,000 rounds
per second at 10,000 checks on a 10 s interval) and `engine.tick(now)` once per second.
This feeds simulated time, no I/O and no sleeping: every check gets one round per interval
(requests_per_round 1, staggered evenly through the interval), mostly OK, 1 check in 100
answering 500 and 1 in 200 failing to connect (so the incident book and the network guard
have work), and a tick every simulated second. After `--warmup` intervals it times each
call with `perf_counter` over `--intervals` intervals and prints mean, p50, p99 and max,
and the share of one core the engine alone would take at that rate.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prober.config.model import Check, Component, Config, Page, StatusPolicy
from prober.domain.engine import Engine
from prober.probes.result import ProbeResult, Reason

T0 = 1_780_000_000.0


def make_config(checks: int, components: int, interval: float) -> Config:
    policy = StatusPolicy()
    comps = tuple(
        Component(id=f"c{j}", name=f"Component {j}", policy=policy) for j in range(components)
    )
    chks = tuple(
        Check(
            id=f"k{i}",
            component=f"c{i % components}",
            url=f"http://127.0.0.1/{i}",
            interval=interval,
            timeout=2.0,
            requests_per_round=1,
        )
        for i in range(checks)
    )
    return Config(page=Page(name="Bench"), components=comps, checks=chks)


def reason_of(index: int) -> Reason:
    if index % 100 == 7:
        return Reason.HTTP_5XX
    if index % 200 == 3:
        return Reason.CONNECT
    return Reason.OK


def quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(
    checks: int, components: int, interval: float, warmup: int, intervals: int
) -> dict[str, float]:
    config = make_config(checks, components, interval)
    engine = Engine(config)
    ids = [c.id for c in config.checks]
    comp_of = {c.id: c.component for c in config.checks}
    step = interval / checks
    observe_us: list[float] = []
    tick_us: list[float] = []
    effects = 0
    perf = time.perf_counter
    for n in range(warmup + intervals):
        measure = n >= warmup
        base = T0 + n * interval
        next_tick = base + 1.0
        for i, cid in enumerate(ids):  # bounded: one round per check per interval
            at = base + i * step
            while next_tick <= at:
                t0 = perf()
                effects += len(engine.tick(next_tick))
                if measure:
                    tick_us.append((perf() - t0) * 1e6)
                next_tick += 1.0
            reason = reason_of(i)
            results = [
                ProbeResult(
                    check_id=cid,
                    component=comp_of[cid],
                    at=at,
                    reason=reason,
                    duration=0.004,
                    status_code=500
                    if reason is Reason.HTTP_5XX
                    else (200 if reason is Reason.OK else None),
                )
            ]
            t0 = perf()
            effects += len(engine.observe(results, at + 0.004))
            if measure:
                observe_us.append((perf() - t0) * 1e6)
        while next_tick <= base + interval:
            t0 = perf()
            effects += len(engine.tick(next_tick))
            if measure:
                tick_us.append((perf() - t0) * 1e6)
            next_tick += 1.0
    per_interval = (sum(observe_us) + sum(tick_us)) / max(1, intervals) / 1e6
    return {
        "observe_mean": sum(observe_us) / max(1, len(observe_us)),
        "observe_p50": quantile(observe_us, 0.5),
        "observe_p99": quantile(observe_us, 0.99),
        "observe_max": max(observe_us, default=0.0),
        "tick_mean": sum(tick_us) / max(1, len(tick_us)),
        "tick_p99": quantile(tick_us, 0.99),
        "tick_max": max(tick_us, default=0.0),
        "core_share": per_interval / interval,
        "effects": float(effects),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--components", type=int, nargs="+", default=[500, 10_000])
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--warmup", type=int, default=1, help="intervals not measured")
    parser.add_argument("--intervals", type=int, default=1, help="intervals measured")
    args = parser.parse_args(argv)
    print(
        f"engine bench: {args.checks:,} checks, interval {args.interval:g}s, "
        f"requests_per_round 1, warm-up {args.warmup}, measured {args.intervals} interval(s)"
    )
    head = (
        f"{'components':>10} {'observe µs mean':>16} {'p50':>8} {'p99':>8} {'max':>9}"
        f" {'tick µs mean':>13} {'p99':>9} {'max':>9} {'core share':>11}"
    )
    print(head)
    for components in args.components:
        r = run(args.checks, components, args.interval, args.warmup, args.intervals)
        print(
            f"{components:>10,} {r['observe_mean']:>16.1f} {r['observe_p50']:>8.1f}"
            f" {r['observe_p99']:>8.1f} {r['observe_max']:>9.1f} {r['tick_mean']:>13.1f}"
            f" {r['tick_p99']:>9.1f} {r['tick_max']:>9.1f} {r['core_share']:>10.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
