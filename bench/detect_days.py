"""Detection on simulated days: the pure engine fed random probe rounds, no processes.

    python -m bench.detect_days [--days 30] [--seed 1]

The component is set up as the shipped example (checks.yaml: one check, 5 s interval,
10 requests per round, degraded 5%, partial 25%, major 50%, 5-minute window, 1-minute
recovery_time, 10-minute quiet period). Every probe fails independently with the
scenario's probability (500s); time is a float advanced by hand, a tick every round.
Printed per scenario:

  noise      false incidents per day at 0..4% background 500s (--days at 2%, the bar;
             --other-days at the other rates)
  steady     the share of time a steady rate is shown at the level whose band holds it
             (degraded [5%, 25%), partial [25%, 50%), major [50%, 100%]), over 6 hours
             from the moment the rate begins (detection delay included)
  outage     a total outage of 5 minutes (500s, or refused connections) on 0.5% noise:
             time to detect (incident opened minus the truth's start), impact at open,
             time from the truth's recovery to operational, monitoring and resolved, and
             the recorded duration against the true one.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from prober.config.model import Check, Component, Config, IncidentPolicy, Page, StatusPolicy
from prober.domain.effects import (
    ComponentStateChanged,
    Effect,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
)
from prober.domain.engine import Engine
from prober.domain.status import ComponentStatus, IncidentStatus
from prober.probes.result import ProbeResult, Reason

T0 = 1_800_000_000.0
INTERVAL = 5.0
PER_ROUND = 10
BANDS = (
    (0.5, ComponentStatus.MAJOR_OUTAGE),
    (0.25, ComponentStatus.PARTIAL_OUTAGE),
    (0.05, ComponentStatus.DEGRADED_PERFORMANCE),
    (0.0, ComponentStatus.OPERATIONAL),
)

# probability of failure at time t -> reason of a failed probe
Truth = Callable[[float], float]


def config() -> Config:
    comp = Component(id="api", name="Platform API", policy=StatusPolicy())
    check = Check(
        id="api-health",
        component="api",
        url="http://127.0.0.1/api",
        interval=INTERVAL,
        timeout=2.0,
        requests_per_round=PER_ROUND,
    )
    return Config(page=Page(), components=(comp,), checks=(check,), incidents=IncidentPolicy())


def band(rate: float) -> ComponentStatus:
    for low, status in BANDS:
        if rate >= low:
            return status
    return ComponentStatus.OPERATIONAL


@dataclass
class Run:
    engine: Engine
    effects: list[tuple[float, Effect]]
    shown: list[tuple[float, ComponentStatus]]


def simulate(
    truth: Truth,
    seconds: float,
    rng: random.Random,
    reason: Reason = Reason.HTTP_5XX,
    engine: Engine | None = None,
    start: float = T0,
) -> Run:
    engine = engine or Engine(config())
    effects: list[tuple[float, Effect]] = []
    shown: list[tuple[float, ComponentStatus]] = []
    t = start
    end = start + seconds
    while t < end:  # bounded: t advances by INTERVAL
        p = truth(t)
        results = []
        for i in range(PER_ROUND):
            at = t + i * 1e-3
            if p > 0 and rng.random() < p:
                code = 500 if reason is Reason.HTTP_5XX else None
                results.append(ProbeResult("api-health", "api", at, reason, 0.05, code))
            else:
                results.append(ProbeResult("api-health", "api", at, Reason.OK, 0.05, 200))
        now = t + 0.1
        out = engine.observe(results, now)
        out += engine.tick(now + 0.9)
        for e in out:
            effects.append((now, e))
        shown.append((t, engine.status_of("api")))
        t += INTERVAL
    return Run(engine, effects, shown)


def opened_count(run: Run) -> int:
    return sum(1 for _, e in run.effects if isinstance(e, IncidentOpened))


def noise(days: float, other_days: float, seed: int) -> list[tuple[float, float, int, float]]:
    """(background, simulated days, false incidents, per day): `days` at 2% (the bar),
    `other_days` at the other rates."""
    rows = []
    for pct in (0, 1, 2, 3, 4):
        span = days if pct == 2 else other_days
        rng = random.Random(seed * 100 + pct)
        run = simulate(lambda _t, p=pct / 100: p, span * 86400, rng)
        n = opened_count(run)
        rows.append((pct / 100, span, n, n / span))
    return rows


def steady(hours: float, seed: int) -> list[tuple[float, ComponentStatus, float, float | None]]:
    rows = []
    for pct in (10, 20, 30, 40, 60, 100):
        rng = random.Random(seed * 1000 + pct)
        run = simulate(lambda _t, p=pct / 100: p, hours * 3600, rng)
        want = band(pct / 100)
        hits = sum(1 for _, s in run.shown if s is want)
        first = next((t - T0 for t, s in run.shown if s is want), None)
        rows.append((pct / 100, want, hits / len(run.shown), first))
    return rows


@dataclass
class Outage:
    label: str
    detect: float | None
    impact: str
    to_operational: float | None
    to_monitoring: float | None
    to_resolved: float | None
    recorded: float | None
    true: float


def outage(label: str, reason: Reason, seed: int, length: float = 300.0) -> Outage:
    rng = random.Random(seed)
    begin = T0 + 1800.0 + 2.5  # between rounds
    end = begin + length

    def truth(t: float) -> float:
        return 1.0 if begin <= t < end else 0.005

    run = simulate(truth, 1800.0 + length + 2400.0, rng, reason)
    opened = next(((t, e) for t, e in run.effects if isinstance(e, IncidentOpened)), None)
    detect = impact = None
    if opened is not None:
        detect = opened[1].incident.created_at - begin
        impact = opened[1].incident.impact.value
    operational = next(
        (
            t
            for t, e in run.effects
            if isinstance(e, ComponentStateChanged)
            and t > end
            and e.new is ComponentStatus.OPERATIONAL
        ),
        None,
    )
    monitoring = next(
        (
            t
            for t, e in run.effects
            if isinstance(e, IncidentUpdated) and e.update.status is IncidentStatus.MONITORING
        ),
        None,
    )
    resolved = next((e.incident for t, e in run.effects if isinstance(e, IncidentResolved)), None)
    recorded = None
    if resolved is not None:
        until = getattr(resolved, "recovered_at", None) or resolved.resolved_at
        recorded = None if until is None else until - resolved.started_at
    return Outage(
        label,
        detect,
        impact or "-",
        None if operational is None else operational - end,
        None if monitoring is None else monitoring - end,
        None if resolved is None or resolved.resolved_at is None else resolved.resolved_at - end,
        recorded,
        length,
    )


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--days", type=float, default=30.0, help="simulated days at 2%%")
    ap.add_argument(
        "--other-days", type=float, default=10.0, help="simulated days at 0, 1, 3 and 4%%"
    )
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    began = time.perf_counter()
    print(
        f"component as the shipped example: {PER_ROUND} requests every {INTERVAL:g}s, "
        "degraded 5%, partial 25%, major 50%"
    )
    print("\nfalse incidents at background 500s")
    print(f"{'background':>10} {'days':>5} {'incidents':>9} {'per day':>8}")
    for rate, span, n, per_day in noise(args.days, args.other_days, args.seed):
        print(f"{rate:>10.0%} {span:>5g} {n:>9} {per_day:>8.3f}")
    print(f"\nsteady rates ({args.hours:g} simulated hours each, from the start of the rate)")
    print(f"{'rate':>5} {'band level':>22} {'time at band':>12} {'first at band':>13}")
    for rate, want, share, first in steady(args.hours, args.seed):
        print(f"{rate:>5.0%} {want.value:>22} {share:>12.1%} {_s(first):>13}")
    print("\n5-minute total outage on 0.5% noise (interval 5s; recovery_time 1m, quiet 10m)")
    print(
        f"{'scenario':>14} {'detect':>7} {'impact':>9} {'->operational':>13} "
        f"{'->monitoring':>12} {'->resolved':>10} {'recorded':>8} {'true':>5}"
    )
    for label, reason in (("500s", Reason.HTTP_5XX), ("refused", Reason.CONNECT)):
        o = outage(label, reason, args.seed)
        print(
            f"{o.label:>14} {_s(o.detect):>7} {o.impact:>9} {_s(o.to_operational):>13} "
            f"{_s(o.to_monitoring):>12} {_s(o.to_resolved):>10} {_s(o.recorded):>8} "
            f"{o.true:>4.0f}s"
        )
    print(f"\n(wall time {time.perf_counter() - began:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
