"""Adaptive sampling (prober/confirm.py Evidence, Runner `undecided`) on virtual time."""

from __future__ import annotations

import asyncio
import itertools
import random

from prober.clock import VirtualClock
from prober.config.model import Check
from prober.confirm import (
    CONFIRM_PROBES,
    DENSE_END_BUDGET,
    DENSE_END_GAP,
    END_EVIDENCE_GAP,
    EVIDENCE_GAP,
    JITTER,
    Evidence,
    evidence_budget,
    evidence_plan,
    sparse,
)
from prober.domain.levels import WANT_END, WANT_EVIDENCE, WANT_NONE
from prober.probes.result import ProbeResult, Reason
from prober.runner import Runner


class Probe:
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.times: list[float] = []

    async def probe(self, check: Check) -> ProbeResult:
        self.times.append(self.clock.monotonic())
        return ProbeResult(check.id, check.component, 0.0, Reason.OK, 0.01)

    async def on_round(self, check: Check, results: list[ProbeResult], lag: float) -> None:
        return None


async def run(
    undecided_until: float, seconds: float, budget: int = 3600, want: int = WANT_EVIDENCE
) -> tuple[list[float], Runner]:
    clock = VirtualClock()
    target = Probe(clock)
    start = clock.monotonic()

    def undecided(component: str) -> int:
        assert component == "api"
        return want if clock.monotonic() - start < undecided_until else WANT_NONE

    runner = Runner(
        target.probe,
        target.on_round,
        clock,
        rng=random.Random(3),
        undecided=undecided,
        evidence=budget,
    )
    check = Check(id="c", component="api", url="http://127.0.0.1:1/", interval=15.0)
    runner.start([check])
    await clock.advance(seconds)
    stopper = asyncio.ensure_future(runner.stop())
    await clock.advance(20.0)
    await stopper
    first = target.times[0]
    return [t - first for t in target.times], runner


def test_evidence_budget_per_suspicion() -> None:
    e = Evidence(budget=2)
    assert e.want(True) and e.want(True)
    assert not e.want(True)  # spent
    assert not e.want(False)  # decided: the suspicion ends, the budget refills
    assert e.want(True)


async def test_while_undecided_the_check_is_probed_about_every_gap() -> None:
    times, runner = await run(undecided_until=30.0, seconds=60.0)
    early = [t for t in times if t < 29.0]
    assert len(early) >= 24  # two regular rounds and extra ones about a second apart
    gaps = [b - a for a, b in itertools.pairwise(early)]
    assert all(g <= EVIDENCE_GAP * (1 + JITTER) * 1.5 + 1e-9 for g in gaps), gaps
    assert all(g >= EVIDENCE_GAP / 2.0 - 1e-9 for g in gaps), gaps  # never a burst
    regular = [t for t in times if abs(t / 15 - round(t / 15)) < 1e-6]
    assert runner.evidence_rounds == len(times) - len(regular)


async def test_while_the_end_test_counts_the_check_is_probed_denser() -> None:
    """WANT_END (an open episode's end test has begun to count): about every
    END_EVIDENCE_GAP, never closer than half of it; the regular schedule unmoved."""
    times, _ = await run(undecided_until=30.0, seconds=60.0, want=WANT_END)
    early = [t for t in times if t < 29.0]
    assert len(early) >= 48
    gaps = [b - a for a, b in itertools.pairwise(early)]
    assert all(g <= END_EVIDENCE_GAP * (1 + JITTER) * 1.5 + 1e-9 for g in gaps), gaps
    assert all(g >= END_EVIDENCE_GAP / 2.0 - 1e-9 for g in gaps), gaps
    regular = [t for t in times if abs(t / 15 - round(t / 15)) < 1e-6]
    assert regular == [0.0, 15.0, 30.0, 45.0]


async def test_a_decided_engine_gets_only_the_regular_rounds() -> None:
    times, runner = await run(undecided_until=0.0, seconds=60.0)
    assert times == [0.0, 15.0, 30.0, 45.0]
    assert runner.evidence_rounds == 0


async def test_the_extra_rounds_stop_when_the_budget_is_spent() -> None:
    times, runner = await run(undecided_until=1e9, seconds=120.0, budget=5)
    assert runner.evidence_rounds == 5
    assert [t for t in times if t > 20.0] == [30.0, 45.0, 60.0, 75.0, 90.0, 105.0]


async def test_the_regular_schedule_does_not_move_with_extra_rounds() -> None:
    times, _ = await run(undecided_until=1e9, seconds=60.0)
    regular = [t for t in times if abs(t / 15 - round(t / 15)) < 1e-6]
    assert regular == [0.0, 15.0, 30.0, 45.0]


def test_only_sparse_checks_get_adaptive_rounds() -> None:
    assert sparse(1, 15.0)
    assert not sparse(10, 5.0)  # two probes per second: the regular rounds suffice


async def test_adaptive_rounds_resume_once_a_confirmation_series_is_spent() -> None:
    """A check failed (0 to 20 s) and got through again at its regular round at 30 s:
    thirteen confirmation rounds agree with the recovery; after them the series is spent
    and the adaptive rounds the end test asks for (from 40 s) go on. Before, a spent
    series held them off until a round disagreed, and the end of a 30% episode waited for
    the regular rounds."""
    clock = VirtualClock()
    times: list[float] = []
    first: list[float] = []

    def since() -> float:
        return clock.monotonic() - first[0] if first else 0.0

    async def probe(check: Check) -> ProbeResult:
        first[:] = first or [clock.monotonic()]
        times.append(since())
        reason = Reason.HTTP_5XX if since() < 20.0 else Reason.OK
        return ProbeResult(check.id, check.component, 0.0, reason, 0.01)

    async def on_round(check: Check, results: list[ProbeResult], lag: float) -> None:
        return None

    def undecided(_component: str) -> int:
        return WANT_END if since() > 40.0 else WANT_NONE

    runner = Runner(probe, on_round, clock, rng=random.Random(5), undecided=undecided)
    runner.start([Check(id="c", component="api", url="http://127.0.0.1:1/", interval=15.0)])
    await clock.advance(70.0)
    stopper = asyncio.ensure_future(runner.stop())
    await clock.advance(20.0)
    await stopper
    assert runner.confirmation_rounds == 2 * CONFIRM_PROBES  # the failure's, the recovery's
    late = [t for t in times if 46.0 < t < 60.0 - 1e-6]
    assert len(late) >= 18, times  # about every END_EVIDENCE_GAP after the series


def test_evidence_plan_per_kind_of_check() -> None:
    """A sparse check: whole rounds, denser for the end test; a dense one: one request
    every DENSE_END_GAP, only for the end test."""
    assert evidence_plan(WANT_NONE, 1, 15.0) is None
    assert evidence_plan(WANT_EVIDENCE, 1, 15.0) == (EVIDENCE_GAP, 0)
    assert evidence_plan(WANT_END, 1, 15.0) == (END_EVIDENCE_GAP, 0)
    assert evidence_plan(WANT_NONE, 10, 5.0) is None
    assert evidence_plan(WANT_EVIDENCE, 10, 5.0) is None  # escalation: regular rounds suffice
    assert evidence_plan(WANT_END, 10, 5.0) == (DENSE_END_GAP, 1)
    assert evidence_budget(3600, 1, 15.0) == 3600
    assert evidence_budget(3600, 10, 5.0) == DENSE_END_BUDGET
    assert evidence_budget(0, 10, 5.0) == 0


async def run_dense(want: int, seconds: float) -> tuple[list[float], Runner]:
    """A dense check (10 requests every 5 s) whose engine answers `want` throughout."""
    clock = VirtualClock()
    target = Probe(clock)
    runner = Runner(
        target.probe, target.on_round, clock, rng=random.Random(3), undecided=lambda _c: want
    )
    check = Check(
        id="c", component="api", url="http://127.0.0.1:1/", interval=5.0, requests_per_round=10
    )
    runner.start([check])
    await clock.advance(seconds)
    stopper = asyncio.ensure_future(runner.stop())
    await clock.advance(20.0)
    await stopper
    first = target.times[0]
    return [t - first for t in target.times], runner


async def test_a_dense_check_gets_no_adaptive_rounds_for_escalation() -> None:
    times, runner = await run_dense(WANT_EVIDENCE, 30.0)
    assert runner.evidence_rounds == 0
    assert len(times) == 6 * 10  # the regular rounds only


async def test_a_dense_check_gets_single_requests_while_the_end_test_counts() -> None:
    """WANT_END: one request about every DENSE_END_GAP between the regular rounds (never
    within half a gap of one), at most DENSE_END_BUDGET per suspicion; the regular
    rounds unmoved."""
    times, runner = await run_dense(WANT_END, 30.0)
    regular = sorted({t for t in times if abs(t / 5 - round(t / 5)) < 1e-6})
    assert regular == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    single = [t for t in times if t not in regular]
    assert len(times) == 6 * 10 + len(single)
    assert runner.evidence_rounds == len(single) >= 200  # about 10 a second for 30 s
    gaps = [b - a for a, b in itertools.pairwise(single)]
    assert all(g >= DENSE_END_GAP * (1 - JITTER) - 1e-9 for g in gaps), gaps
    times, runner = await run_dense(WANT_END, 120.0)
    # spent within about 30 s (the budget counts the rounds asked for, a few of which
    # fall too near a regular round to be sent), then only the regular rounds
    assert DENSE_END_BUDGET - 20 <= runner.evidence_rounds <= DENSE_END_BUDGET
    assert all(abs(t / 5 - round(t / 5)) < 1e-6 for t in times if t > 80.0)
