"""Detection of a HANGING target: the real Runner and Engine on virtual time.

    python -m bench.detect_hang [--runs 20] [--seed 1] [--setting defaults|example|both]

bench.detect_days feeds the engine rounds that answer at once; a hanging target gives its
evidence only a timeout after each probe starts, so what matters is how the runner
schedules its extra rounds (the hedge, side-by-side confirmation rounds, adaptive rounds:
prober/confirm.py). Here the real `Runner` probes a simulated target on a `VirtualClock`
and the real `Engine` judges the rounds, wired as the service wires them
(tests/runner_sim.py): nothing waits in real time. One component, one check, default
thresholds, recovery_time 1m, quiet_period 10m; 0.5% background 500s; the timeout is the
default min(5 s, 80% of the interval) at the defaults and 2 s at the example setting.
Printed per setting:

  hang       a total hang of 300 s and of 30 s, starting at a random phase of the
             interval (every probe started in it waits for its timeout, also the ones
             still in flight when it ends; `queued`: those are answered when it ends, as
             tests/e2e/target.py does): median/worst time to detect (incident opened
             minus the hang's start), impact at open, recovery to operational, monitoring
             and resolved, recorded duration minus the true one
  stalls     short hangs (the target answers nothing for S seconds, then everything at
             once): in how many of the runs an incident opened; a stall long enough to
             be a total outage of its own opens one, a short one must not
  slow       a target answering every request after 40% to 80% of the timeout (2 to 4 s
             at the defaults) for 6 simulated hours: incidents (must be 0), hedges,
             probes per hour
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prober import logs
from prober.config.model import IncidentPolicy, StatusPolicy
from prober.domain.effects import (
    ComponentStateChanged,
    Effect,
    IncidentResolved,
    IncidentUpdated,
)
from prober.domain.incident import Incident
from prober.domain.status import ComponentStatus, IncidentStatus
from tests.runner_sim import Answer, Harness

NOISE = 0.005
FAST = 0.02  # the target's answer time when it answers


@dataclass(frozen=True)
class HangSetting:
    name: str
    interval: float
    timeout: float
    requests: int


DEFAULTS = HangSetting("defaults (15s, timeout 5s, 1 request)", 15.0, 5.0, 1)
EXAMPLE = HangSetting("example (5s, timeout 2s, 10 requests)", 5.0, 2.0, 10)
SETTINGS = {"defaults": DEFAULTS, "example": EXAMPLE}


@dataclass
class Episode:
    detect: float | None
    impact: str
    to_operational: float | None
    to_monitoring: float | None
    to_resolved: float | None
    recorded_error: float | None


def hang(begin: float, end: float, stall: bool = False) -> Answer:
    """Every probe started in [begin, end) hangs (times out); with `stall`, one started
    in it is answered at `end` instead when that comes before its timeout (a target that
    stops answering for a while, then serves its queue)."""

    def answer(t: float, rng: random.Random) -> tuple[float, bool] | None:
        if begin <= t < end:
            return (end - t + FAST, True) if stall else None
        return FAST, rng.random() >= NOISE

    return answer


def _harness(setting: HangSetting, answer: Answer, seed: int) -> Harness:
    return Harness(
        ("api",),
        setting.interval,
        setting.timeout,
        setting.requests,
        answer,
        policy=StatusPolicy(),
        incidents=IncidentPolicy(),
        seed=seed,
    )


def after_the_fix(
    effects: Sequence[tuple[float, Effect]], end: float
) -> tuple[float | None, float | None, Incident | None]:
    """When the component was operational again after `end`, when the incident went to
    monitoring, and the incident as resolved (None for each that did not happen)."""
    operational = next(
        (
            t
            for t, e in effects
            if isinstance(e, ComponentStateChanged)
            and t > end
            and e.new is ComponentStatus.OPERATIONAL
        ),
        None,
    )
    monitoring = next(
        (
            t
            for t, e in effects
            if isinstance(e, IncidentUpdated) and e.update.status is IncidentStatus.MONITORING
        ),
        None,
    )
    resolved = next((e.incident for _, e in effects if isinstance(e, IncidentResolved)), None)
    return operational, monitoring, resolved


async def episode(setting: HangSetting, length: float, seed: int, queued: bool = False) -> Episode:
    rng = random.Random(seed)
    begin = 120.0 + rng.uniform(0.0, setting.interval)
    end = begin + length
    h = _harness(setting, hang(begin, end, stall=queued), seed)
    wall0 = h.clock.now().timestamp()
    await h.run(end + 900.0)
    opened = h.opened()
    detect = opened[0].incident.created_at - wall0 - begin if opened else None
    impact = opened[0].incident.impact.value if opened else "-"
    op, mon, done = after_the_fix(h.effects, end)
    resolved = recorded = None
    if done is not None and done.resolved_at is not None:
        resolved = done.resolved_at - wall0 - end
        until = done.recovered_at or done.resolved_at
        recorded = until - done.started_at - length
    return Episode(
        detect,
        impact,
        None if op is None else op - end,
        None if mon is None else mon - end,
        resolved,
        recorded,
    )


async def stalls(setting: HangSetting, length: float, runs: int, seed: int) -> int:
    """Runs (of `runs`, random phases) in which a stall of `length` seconds opened an
    incident."""
    opened = 0
    for i in range(runs):
        rng = random.Random(seed * 7919 + i)
        begin = 120.0 + rng.uniform(0.0, setting.interval)
        h = _harness(setting, hang(begin, begin + length, stall=True), seed * 7919 + i)
        await h.run(begin + length + 300.0)
        opened += bool(h.opened())
    return opened


async def slow(setting: HangSetting, hours: float, seed: int) -> tuple[int, int, float]:
    """(incidents, hedges, probes per hour) of a target answering after 40% to 80% of
    the timeout."""

    def answer(_t: float, rng: random.Random) -> tuple[float, bool]:
        return rng.uniform(0.4, 0.8) * setting.timeout, rng.random() >= NOISE

    h = _harness(setting, answer, seed)
    await h.run(hours * 3600.0)
    return len(h.opened()), getattr(h.runner, "hedges", 0), len(h.regular) / hours


def _worst(values: list[float | None], key: Callable[[float], float] = abs, digits: int = 1) -> str:
    """median/worst (by `key`) of the runs that have the figure, and how many lack it."""
    got = [v for v in values if v is not None]
    missing = len(values) - len(got)
    if not got:
        return f"{missing} none"
    med = sorted(got)[len(got) // 2]
    text = f"{med:.{digits}f}/{max(got, key=key):.{digits}f}s"
    return text + (f" ({missing} none)" if missing else "")


async def report(setting: HangSetting, runs: int, seed: int, hours: float) -> None:
    bar = 2 * setting.interval + StatusPolicy().recovery_time
    print(
        f"\n--- hanging target, {setting.name}: Runner + Engine on virtual time,"
        f" {runs} runs at a random phase, median/worst"
        f"\n(bars: detect <= {2 * setting.interval:g}s, ->operational <= {bar:g}s,"
        f" |recorded - true| <= {setting.interval:g}s; quiet period 10m)"
    )
    print(
        f"{'scenario':>17} {'detect':>16} {'impact':>10} {'->operational':>16} "
        f"{'->monitoring':>16} {'->resolved':>16} {'recorded-true':>16}"
    )
    for length, queued in ((300.0, False), (30.0, False), (30.0, True)):
        rows = [
            await episode(setting, length, seed * 1000 + int(length) * 37 + i, queued)
            for i in range(runs)
        ]
        label = f"hang {length:g}s" + (" queued" if queued else "")
        print(
            f"{label:>17} {_worst([r.detect for r in rows]):>16}"
            f" {'/'.join(sorted({r.impact for r in rows})):>10}"
            f" {_worst([r.to_operational for r in rows]):>16}"
            f" {_worst([r.to_monitoring for r in rows]):>16}"
            f" {_worst([r.to_resolved for r in rows]):>16}"
            f" {_worst([r.recorded_error for r in rows]):>16}"
        )
    lengths = (3.0, 6.0, 10.0, 14.0, 20.0) if setting.interval >= 10 else (1.0, 2.0, 4.0, 6.0)
    cells = [f"{s:g}s: {await stalls(setting, s, runs, seed)}/{runs}" for s in lengths]
    print("stalls (then answered), runs with an incident: " + ", ".join(cells))
    n, hedges, per_hour = await slow(setting, hours, seed)
    print(
        f"slow target (answers after {0.4 * setting.timeout:g}-{0.8 * setting.timeout:g} s),"
        f" {hours:g} h: {n} incidents, {hedges} hedges,"
        f" {per_hour:.1f} probes/h"
    )


async def run(settings: list[HangSetting], runs: int, seed: int, hours: float) -> None:
    for setting in settings:
        await report(setting, runs, seed, hours)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="runs per scenario")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hours", type=float, default=6.0, help="hours of the slow target")
    ap.add_argument("--setting", choices=[*SETTINGS, "both"], default="both")
    args = ap.parse_args(argv)
    logs.configure("console", "warning", sys.stderr)
    began = time.perf_counter()
    chosen = list(SETTINGS.values()) if args.setting == "both" else [SETTINGS[args.setting]]
    asyncio.run(run(chosen, args.runs, args.seed, args.hours))
    print(f"\n(wall time {time.perf_counter() - began:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
