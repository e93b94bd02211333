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
  continuing (--continuing HOURS) a continuing episode at 10, 20, 30, 40%: how often it
             falls below its band after first reaching it (a false end), and its load
  hang       a hanging target (every probe waits for its timeout): the real Runner and
             Engine on virtual time, see bench/detect_hang.py (--hang-runs 0: skip).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import detect_hang
from prober.config.model import Check, Component, Config, IncidentPolicy, Page, StatusPolicy
from prober.confirm import (
    CONFIRM_PROBES,
    END_EVIDENCE_GAP,
    EVIDENCE_BUDGET,
    JITTER,
    Confirmer,
    Evidence,
    confirm_gap,
    down,
    evidence_budget,
    evidence_plan,
    sparse,
)
from prober.domain.effects import (
    ComponentStateChanged,
    Effect,
    IncidentOpened,
    IncidentResolved,
)
from prober.domain.engine import Engine
from prober.domain.levels import SEVERITY, WANT_END
from prober.domain.status import ComponentStatus
from prober.probes.result import ProbeResult, Reason

T0 = 1_800_000_000.0
BANDS = (
    (0.5, ComponentStatus.MAJOR_OUTAGE),
    (0.25, ComponentStatus.PARTIAL_OUTAGE),
    (0.05, ComponentStatus.DEGRADED_PERFORMANCE),
    (0.0, ComponentStatus.OPERATIONAL),
)
OP = ComponentStatus.OPERATIONAL

# probability of failure at time t -> reason of a failed probe
Truth = Callable[[float], float]


@dataclass(frozen=True)
class Setting:
    name: str
    interval: float
    per_round: int
    confirm: int = CONFIRM_PROBES  # confirmation rounds, as the runner sends them
    evidence: int = EVIDENCE_BUDGET  # adaptive rounds per suspicion (0: off)
    end_gap: float = END_EVIDENCE_GAP  # adaptive gap while the end test counts
    recovery: float = 60.0  # recovery_time


DEFAULTS = Setting("defaults (15s, 1 request)", 15.0, 1)
EXAMPLE = Setting("example (5s, 10 requests)", 5.0, 10)
SETTINGS = {"defaults": DEFAULTS, "example": EXAMPLE}


def config(setting: Setting = EXAMPLE) -> Config:
    policy = StatusPolicy(recovery_time=setting.recovery)
    comp = Component(id="api", name="Platform API", policy=policy)
    check = Check(
        id="api-health",
        component="api",
        url="http://127.0.0.1/api",
        interval=setting.interval,
        timeout=2.0,
        requests_per_round=setting.per_round,
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
    shown: list[tuple[float, ComponentStatus]]  # at every regular round
    confirmations: int = 0
    extra: int = 0  # adaptive rounds (Engine.undecided)
    rounds: int = 0
    probes: int = 0


def simulate(
    truth: Truth,
    seconds: float,
    rng: random.Random,
    reason: Reason = Reason.HTTP_5XX,
    engine: Engine | None = None,
    start: float = T0,
    setting: Setting = EXAMPLE,
) -> Run:
    """Regular rounds every interval, confirmation rounds as the runner sends them
    (prober/confirm.py), and a tick every second while anything is not settled."""
    engine = engine or Engine(config(setting))
    run = Run(engine, [], [])
    confirmer = Confirmer(setting.confirm)
    evidence = Evidence(evidence_budget(setting.evidence, setting.per_round, setting.interval))
    gap = confirm_gap(setting.interval, max(1, setting.confirm))
    end_gap = setting.end_gap
    pending: list[float] = []
    extra: float | None = None  # the next adaptive round
    extra_n = 0  # ... of this many requests (0: a whole round)
    next_regular = start
    end = start + seconds
    ticked = start
    busy = False  # an incident open or a status not operational: tick every second
    while next_regular < end:  # bounded: every pass takes a pending or a regular round
        confirmation = bool(pending) and pending[0] < next_regular
        adaptive = not confirmation and extra is not None and extra < next_regular
        if busy:
            at0 = pending[0] if confirmation else extra if adaptive else next_regular
            assert at0 is not None
            while ticked + 1.0 < at0:  # bounded by the gap to the next round
                ticked += 1.0
                busy = _apply(run, engine.tick(ticked), ticked, busy)
        if confirmation:
            at = pending.pop(0)
        elif adaptive:
            assert extra is not None
            at, extra = extra, None
            confirmation = True  # for the confirmer: it starts no series
            run.extra += 1
        else:
            at = next_regular
            next_regular += setting.interval
        p = truth(at)
        results = []
        n = extra_n if adaptive and extra_n > 0 else setting.per_round
        for i in range(n):
            t = at + i * 1e-3
            if p > 0 and rng.random() < p:
                code = 500 if reason is Reason.HTTP_5XX else None
                results.append(ProbeResult("api-health", "api", t, reason, 0.05, code))
            else:
                results.append(ProbeResult("api-health", "api", t, Reason.OK, 0.05, 200))
        now = at + 0.1
        busy = _apply(run, engine.observe(results, now) + engine.tick(now), now, busy)
        ticked = now
        run.rounds += 1
        run.probes += n
        run.confirmations += confirmation and not adaptive
        if not confirmation:
            run.shown.append((at, engine.status_of("api")))
        # as the runner: the next confirmation is scheduled when one starts (rounds are
        # instant here), a round that disagrees ends the series
        more = confirmer.take() if confirmation else False
        whole = not (adaptive and extra_n > 0)  # one request is not a round's outcome
        started = confirmer.after(down(results) if whole else None, confirmation)
        if confirmer.direction is None:
            pending.clear()
        elif started or more:
            when = at + gap * rng.uniform(1.0 - JITTER, 1.0 + JITTER)
            if abs(when - next_regular) < gap / 2.0:
                when = next_regular + gap  # after the regular round, as the runner
            pending.append(when)
            pending.sort()
        # as the runner: while the engine is undecided, an extra round EVIDENCE_GAP later
        # (none while a confirmation series runs: it already probes every second)
        if confirmer.running:
            extra = None
        elif extra is None:
            want = engine.undecided("api")
            plan = evidence_plan(want, setting.per_round, setting.interval)
            if (plan is not None or not want) and evidence.want(plan is not None):
                assert plan is not None
                egap, extra_n = plan
                if want >= WANT_END and sparse(setting.per_round, setting.interval):
                    egap = end_gap  # denser for the end test (--end-gap)
                when = at + egap * rng.uniform(1.0 - JITTER, 1.0 + JITTER)
                if next_regular - when >= egap / 2.0:
                    extra = when
        busy = busy or engine.status_of("api") is not OP
    return run


def _apply(run: Run, effects: list[Effect], now: float, busy: bool) -> bool:
    for e in effects:
        run.effects.append((now, e))
        if isinstance(e, IncidentOpened):
            busy = True
        elif isinstance(e, IncidentResolved):
            busy = False
    return busy or run.engine.status_of("api") is not OP


def opened_count(run: Run) -> int:
    return sum(1 for _, e in run.effects if isinstance(e, IncidentOpened))


def noise(
    days: float, other_days: float, seed: int, setting: Setting = EXAMPLE
) -> list[tuple[float, float, int, float, float]]:
    """(background, simulated days, false incidents, per day, probes per check and hour):
    `days` at 2% (the bar), `other_days` at the other rates."""
    rows = []
    for pct in (0, 1, 2, 3, 4):
        span = days if pct == 2 else other_days
        rng = random.Random(seed * 100 + pct)
        run = simulate(lambda _t, p=pct / 100: p, span * 86400, rng, setting=setting)
        n = opened_count(run)
        rows.append((pct / 100, span, n, n / span, run.probes / span / 24))
    return rows


def steady(
    hours: float, seed: int, setting: Setting = EXAMPLE
) -> list[tuple[float, ComponentStatus, float, float | None, float | None]]:
    """(rate, band level, share of the time at it, first time at it, share of the time
    at it after that first time: the delay to detect apart from the steadiness)."""
    rows = []
    for pct in (10, 20, 30, 40, 60, 100):
        rng = random.Random(seed * 1000 + pct)
        run = simulate(lambda _t, p=pct / 100: p, hours * 3600, rng, setting=setting)
        want = band(pct / 100)
        hits = sum(1 for _, s in run.shown if s is want)
        first = next((t - T0 for t, s in run.shown if s is want), None)
        after = [s for t, s in run.shown if first is not None and t - T0 >= first]
        steady_share = sum(1 for s in after if s is want) / len(after) if after else None
        rows.append((pct / 100, want, hits / len(run.shown), first, steady_share))
    return rows


def continuing(
    hours: float, seed: int, setting: Setting = EXAMPLE
) -> list[tuple[float, int, float, float]]:
    """(rate, falls below the band after first reaching it, share of the time at the band
    after that, probes per check and hour) of a continuing episode of `hours`: a false
    end of the episode is a fall below its band."""
    rows = []
    for pct in (10, 20, 30, 40):
        rng = random.Random(seed * 7 + pct)
        run = simulate(lambda _t, p=pct / 100: p, hours * 3600, rng, setting=setting)
        want = band(pct / 100)
        first = next((t for t, s in run.shown if s is want), None)
        falls = sum(
            1
            for t, e in run.effects
            if isinstance(e, ComponentStateChanged)
            and first is not None
            and t > first
            and SEVERITY[e.new] < SEVERITY[want]
        )
        after = [s for t, s in run.shown if first is not None and t >= first]
        share = sum(1 for s in after if s is want) / len(after) if after else 0.0
        rows.append((pct / 100, falls, share, run.probes / hours))
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


def outage(
    label: str,
    reason: Reason,
    seed: int,
    length: float = 300.0,
    setting: Setting = EXAMPLE,
    rate: float = 1.0,
) -> Outage:
    """An episode at `rate` for `length` seconds on 0.5% noise, starting at a random
    phase of the interval (so the start and end fall anywhere between two rounds)."""
    rng = random.Random(seed)
    begin = T0 + 1800.0 + rng.uniform(0.0, setting.interval)
    end = begin + length

    def truth(t: float) -> float:
        return rate if begin <= t < end else 0.005

    run = simulate(truth, 1800.0 + length + 2400.0, rng, reason, setting=setting)
    opened = next(((t, e) for t, e in run.effects if isinstance(e, IncidentOpened)), None)
    detect = impact = None
    if opened is not None:
        detect = opened[1].incident.created_at - begin
        impact = opened[1].incident.impact.value
    operational, monitoring, resolved = detect_hang.after_the_fix(run.effects, end)
    recorded = None
    if resolved is not None:
        until = resolved.recovered_at or resolved.resolved_at
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


# (label, reason, failure rate, true length): the 30% episode lasts 30 minutes, long
# enough for one probe every 15 s to tell 30% from noise (see docs/DETECTION.md)
SCENARIOS = (
    ("total 500s", Reason.HTTP_5XX, 1.0, 300.0),
    ("total refused", Reason.CONNECT, 1.0, 300.0),
    ("total 30s", Reason.HTTP_5XX, 1.0, 30.0),
    ("30% 500s", Reason.HTTP_5XX, 0.3, 1800.0),
)


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}s"


def _worst(values: list[float | None], key: Callable[[float], float] = abs) -> str:
    """median/worst of the runs that have the figure, in whole seconds."""
    return detect_hang._worst(values, key, digits=0)


def start_bound(rate: float, per_round: int) -> float:
    """The most an estimator of an episode's start can place within one interval of the
    truth, whatever it does: a round fails (some probe fails) with q = 1 - (1 - p)^r, the
    rounds between the true start and the first failing one are K ~ geometric(q), and the
    best window of two intervals holds P(K <= 1) = 1 - (1 - q)^2 of the posterior."""
    q = 1 - (1 - rate) ** per_round
    return 1 - (1 - q) ** 2


def _within(errors: list[float | None], setting: Setting, rate: float) -> str:
    got = [e for e in errors if e is not None]
    ok = sum(abs(e) <= setting.interval for e in got)
    return f"{ok}/{len(got)} (max {start_bound(rate, setting.per_round):.0%})"


def report(setting: Setting, args: argparse.Namespace) -> None:
    policy = StatusPolicy(recovery_time=setting.recovery)
    print(
        f"\n=== {setting.name}: degraded {policy.degraded:.0%}, partial {policy.partial:.0%},"
        f" major {policy.major:.0%}, recovery_time {policy.recovery_time:g}s,"
        f" confirmation rounds {setting.confirm}, adaptive rounds per suspicion"
        f" {evidence_budget(setting.evidence, setting.per_round, setting.interval)}"
        + (
            ""
            if sparse(setting.per_round, setting.interval)
            else " (end test only, 1 request each)"
        )
    )
    print("\nfalse incidents at background 500s")
    print(f"{'background':>10} {'days':>5} {'incidents':>9} {'per day':>8} {'probes/h':>9}")
    for rate, span, n, per_day, load in noise(args.days, args.other_days, args.seed, setting):
        print(f"{rate:>10.0%} {span:>5g} {n:>9} {per_day:>8.3f} {load:>9.1f}")
    print(f"\nsteady rates ({args.hours:g} simulated hours each, from the start of the rate)")
    print(
        f"{'rate':>5} {'band level':>22} {'time at band':>12} {'first at band':>13} "
        f"{'at band after first':>19}"
    )
    for rate, want, share, first, after in steady(args.hours, args.seed, setting):
        tail = "-" if after is None else f"{after:.1%}"
        print(f"{rate:>5.0%} {want.value:>22} {share:>12.1%} {_s(first):>13} {tail:>19}")
    if args.continuing > 0:
        print(f"\ncontinuing episodes ({args.continuing:g} simulated hours each)")
        print(f"{'rate':>5} {'falls below band':>16} {'at band':>8} {'probes/h':>9}")
        for rate, falls, share, load in continuing(args.continuing, args.seed, setting):
            print(f"{rate:>5.0%} {falls:>16} {share:>8.2%} {load:>9.1f}")
    bar = 2 * setting.interval + policy.recovery_time
    print(
        f"\nepisodes on 0.5% noise, {args.runs} runs each at a random phase:"
        " median/worst"
        f"\n(bars: detect <= {2 * setting.interval:g}s, ->operational <= {bar:g}s,"
        f" |recorded - true| <= {setting.interval:g}s; quiet period 10m)"
    )
    print(
        f"{'scenario':>14} {'detect':>16} {'impact':>14} {'->operational':>16} "
        f"{'->monitoring':>16} {'->resolved':>16} {'recorded-true':>16} {'within':>18}"
    )
    for label, reason, rate, length in SCENARIOS:
        rows = [
            outage(label, reason, args.seed * 1000 + i, length, setting, rate)
            for i in range(args.runs)
        ]
        impacts = sorted({o.impact for o in rows})
        errors = [None if o.recorded is None else o.recorded - o.true for o in rows]
        print(
            f"{label:>14} {_worst([o.detect for o in rows]):>16} {'/'.join(impacts):>14} "
            f"{_worst([o.to_operational for o in rows]):>16} "
            f"{_worst([o.to_monitoring for o in rows]):>16} "
            f"{_worst([o.to_resolved for o in rows]):>16} {_worst(errors):>16}"
            f" {_within(errors, setting, rate):>18}"
        )
    print(
        "(within: episodes whose recorded duration is within one interval of the truth, and"
        "\n the most any estimator can reach (start_bound): before its first failing round an"
        "\n episode at rate p looks like no episode, so its start is known only to the rounds"
        "\n since the last one with no failure)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--days", type=float, default=30.0, help="simulated days at 2%%")
    ap.add_argument(
        "--other-days", type=float, default=10.0, help="simulated days at 0, 1, 3 and 4%%"
    )
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--runs", type=int, default=20, help="episodes per scenario")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--evidence",
        type=int,
        default=EVIDENCE_BUDGET,
        help="adaptive rounds per suspicion (0: off, as before adaptive sampling)",
    )
    ap.add_argument("--setting", choices=[*SETTINGS, "both"], default="both", help="probe setting")
    ap.add_argument(
        "--end-gap",
        type=float,
        default=END_EVIDENCE_GAP,
        help="adaptive gap while the end test counts (1.0: as before)",
    )
    ap.add_argument("--recovery-time", dest="recovery", type=float, default=60.0)
    ap.add_argument(
        "--continuing",
        type=float,
        default=0.0,
        help="hours of a continuing 10/20/30/40%% episode: false ends (0: skip)",
    )
    ap.add_argument(
        "--hang-runs", type=int, default=20, help="runs per hanging scenario (0: skip them)"
    )
    args = ap.parse_args(argv)
    began = time.perf_counter()
    chosen = list(SETTINGS.values()) if args.setting == "both" else [SETTINGS[args.setting]]
    chosen = [
        dataclasses.replace(s, evidence=args.evidence, end_gap=args.end_gap, recovery=args.recovery)
        for s in chosen
    ]
    keys = list(SETTINGS) if args.setting == "both" else [args.setting]
    for key, setting in zip(keys, chosen, strict=True):
        report(setting, args)
        if args.hang_runs > 0:
            hanging = detect_hang.SETTINGS[key]
            asyncio.run(detect_hang.report(hanging, args.hang_runs, args.seed, args.hours))
    print(f"\n(wall time {time.perf_counter() - began:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
