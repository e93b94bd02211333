"""Confirmation rounds (prober/confirm.py) on virtual time: nothing waits in real time."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from prober.clock import VirtualClock
from prober.config.model import Check
from prober.confirm import (
    CONFIRM_GAP,
    CONFIRM_PROBES,
    HANG_SLACK,
    HEDGE_FACTOR,
    HEDGE_MIN,
    JITTER,
    LATENCY_HALF_LIFE,
    SIDE_BY_SIDE_GAP,
    Confirmer,
    Latency,
    confirm_gap,
    hang_gap,
    hedge_after,
    hedge_latest,
)
from prober.probes.result import ProbeResult, Reason
from prober.runner import Runner


class Target:
    """A probe whose outcome follows a script of (seconds after the first probe, failing)."""

    def __init__(self, clock: VirtualClock, script: list[tuple[float, bool]]) -> None:
        self.clock = clock
        self.script = script
        self.rounds: list[tuple[float, bool]] = []  # (monotonic time, every probe failed)
        self.first: float | None = None

    def failing(self, t: float) -> bool:
        state = False
        for since, failing in self.script:
            if t >= since:
                state = failing
        return state

    async def probe(self, check: Check) -> ProbeResult:
        now = self.clock.monotonic()
        if self.first is None:
            self.first = now
        reason = Reason.HTTP_5XX if self.failing(now - self.first) else Reason.OK
        return ProbeResult(check.id, check.component, 0.0, reason, 0.01)

    async def on_round(self, check: Check, results: list[ProbeResult], lag: float) -> None:
        self.rounds.append((self.clock.monotonic(), all(not r.ok for r in results)))


async def run(script: list[tuple[float, bool]], seconds: float, interval: float = 15.0, **kw):  # type: ignore[no-untyped-def]
    clock = VirtualClock()
    target = Target(clock, script)
    runner = Runner(target.probe, target.on_round, clock, rng=random.Random(7), **kw)
    check = Check(id="c", component="api", url="http://127.0.0.1:1/", interval=interval)
    runner.start([check])
    await clock.advance(seconds)
    stopper = asyncio.ensure_future(runner.stop())
    await clock.advance(20.0)
    await stopper
    return target.rounds, runner


def regular_times(rounds: list[tuple[float, bool]], interval: float) -> list[float]:
    first = rounds[0][0]
    phases = [(t, (t - first) / interval) for t, _ in rounds]
    return [t for t, k in phases if abs(k - round(k)) < 1e-6]


async def test_a_failing_round_is_confirmed_by_quick_rounds_within_the_interval() -> None:
    rounds, runner = await run([(0.0, True)], 40.0)
    first = rounds[0][0]
    quick = [t - first for t, _ in rounds if 0 < t - first < 15.0 - 1e-6]
    assert len(quick) == CONFIRM_PROBES == runner.confirmation_rounds
    gaps = [b - a for a, b in zip([0.0, *quick], quick, strict=False)]
    low, high = CONFIRM_GAP * (1 - JITTER), CONFIRM_GAP * (1 + JITTER)
    assert all(low - 1e-9 <= g <= high + 1e-9 for g in gaps), gaps
    assert all(failed for _, failed in rounds)


async def test_the_regular_schedule_does_not_move() -> None:
    rounds, _ = await run([(0.0, True), (33.0, False)], 70.0)
    first = rounds[0][0]
    regular = regular_times(rounds, 15.0)
    assert [round(t - first, 6) for t in regular] == [0.0, 15.0, 30.0, 45.0, 60.0]


async def test_a_success_after_a_failing_round_ends_the_series_at_once() -> None:
    # one failing round (noise): a single confirmation round, which gets through
    rounds, runner = await run([(0.0, True), (0.5, False)], 40.0)
    assert runner.confirmation_rounds == 1
    assert [failed for _, failed in rounds[:2]] == [True, False]


async def test_recovery_is_confirmed_by_quick_rounds_too() -> None:
    rounds, runner = await run([(0.0, True), (16.0, False)], 60.0)
    # confirmations of the failure in the first interval, none at 15 (still failing,
    # no change), then as many of the recovery after the round at 30
    assert runner.confirmation_rounds == 2 * CONFIRM_PROBES
    first = rounds[0][0]
    after = [t - first for t, failed in rounds if not failed]
    assert after[0] == pytest.approx(30.0)
    assert len([t for t in after if 30.0 < t < 45.0]) == CONFIRM_PROBES


async def test_confirmation_rounds_fit_before_the_next_regular_round() -> None:
    assert confirm_gap(15.0) == CONFIRM_GAP
    assert confirm_gap(3.0) == pytest.approx(3.0 / (CONFIRM_PROBES + 1))
    rounds, _ = await run([(0.0, True)], 10.0, interval=3.0)
    first = rounds[0][0]
    times = [t - first for t, _ in rounds]
    regular = {0.0, 3.0, 6.0, 9.0}
    for t in times:
        nearest = min(regular, key=lambda r: abs(r - t))
        gap = confirm_gap(3.0)
        assert t == pytest.approx(nearest) or abs(t - nearest) >= gap * (1 - JITTER) / 2 - 1e-9


async def test_confirm_zero_sends_no_extra_round() -> None:
    rounds, runner = await run([(0.0, True)], 40.0, confirm=0)
    assert runner.confirmation_rounds == 0 and len(rounds) == 3


def test_confirmer_rules() -> None:
    c = Confirmer(probes=2)
    assert c.after(None, False) is False  # no result: no information
    assert c.after(True, False) is True  # change to down: a series starts
    assert c.take() is True  # the first confirmation starts; one more may follow
    assert c.after(True, True) is False  # agreed: the series goes on as scheduled
    assert c.take() is False  # the second starts: the series is spent
    assert c.after(True, True) is False and c.direction is True
    assert c.after(True, False) is False  # no change
    assert c.after(False, False) is True  # change to up: a series starts
    c.take()
    series = c.series
    assert c.after(True, True) is False  # disagreed: the series ends
    assert c.direction is None and c.series == series + 1
    assert c.after(True, False) is False  # down again, as the last round: no change


def test_a_confirmation_that_disagrees_starts_no_series_of_its_own() -> None:
    c = Confirmer(probes=4)
    assert c.after(True, False)
    assert not c.after(False, True)
    assert c.direction is None


async def test_a_hanging_target_is_confirmed_by_rounds_running_side_by_side() -> None:
    """Each probe waits for its 5 s timeout: the hedge starts the series while the first
    round is still in flight, and the confirmation rounds do not wait for one another,
    so the fourteen failures the fast path needs at the defaults are all reported within
    one interval of the first probe's start (the rounds about 0.6 s apart)."""
    clock = VirtualClock()
    reported: list[float] = []
    starts: list[float] = []

    async def probe(check: Check) -> ProbeResult:
        starts.append(clock.monotonic())
        await clock.sleep(5.0)
        return ProbeResult(check.id, check.component, 0.0, Reason.TIMEOUT, 5.0)

    async def on_round(check: Check, results: list[ProbeResult], lag: float) -> None:
        reported.append(clock.monotonic())

    runner = Runner(probe, on_round, clock, rng=random.Random(3))
    check = Check(id="c", component="api", url="http://127.0.0.1:1/", interval=15.0, timeout=5.0)
    runner.start([check])
    await clock.advance(60.0)
    first = starts[0]
    within = [t for t in reported if t - first <= 15.0]
    assert len(within) >= 14, [round(t - first, 1) for t in reported]
    assert runner.confirmation_rounds == CONFIRM_PROBES and runner.hedges == 1
    # never a burst: the side-by-side rounds are at least SIDE_BY_SIDE_GAP apart (jittered)
    series = [t - first for t in starts if 0 < t - first < 15.0]
    gaps = [b - a for a, b in itertools.pairwise(series)]
    assert min(gaps) >= SIDE_BY_SIDE_GAP * (1 - JITTER) - 1e-9, gaps
    stopper = asyncio.ensure_future(runner.stop())
    await clock.advance(30.0)
    await stopper
    assert runner.in_flight == 0


def test_hedge_rules() -> None:
    """The hedge comes HEDGE_FACTOR times the recent answer time after a round's start,
    at least HEDGE_MIN, and only when the series still fits in the interval."""
    assert hedge_after(0.01, 15.0, 5.0) == HEDGE_MIN
    assert hedge_after(0.5, 15.0, 5.0) == pytest.approx(HEDGE_FACTOR * 0.5)
    assert hedge_after(1.0, 15.0, 5.0) is None  # 4 s: too late for the series to fit
    assert hedge_latest(15.0, 5.0) == pytest.approx(15.0 - 5.0 - HANG_SLACK - 12 * 0.55)
    assert hedge_after(0.01, 5.0, 2.0) is None  # dense rounds: no side-by-side series
    assert hedge_after(0.01, 15.0, 5.0, probes=0) is None  # confirm=0: no hedge
    # a hanging series fits its last round by interval - timeout - HANG_SLACK ...
    gap = hang_gap(15.0, 5.0, 1.5, 12, CONFIRM_PROBES)
    assert 1.5 + 12 * gap * (1 + JITTER) == pytest.approx(15.0 - 5.0 - HANG_SLACK)
    # ... never closer than SIDE_BY_SIDE_GAP, never wider than the usual gap
    assert hang_gap(15.0, 5.0, 5.0, 13, CONFIRM_PROBES) == SIDE_BY_SIDE_GAP
    assert hang_gap(60.0, 5.0, 1.0, 12, CONFIRM_PROBES) == CONFIRM_GAP
    c = Confirmer(probes=3)
    assert c.hedge() and c.direction is True and c.left == 3
    assert not c.hedge()  # a series is under way
    assert not c.after(True, False)  # the hedged round timed out: it agrees
    c2 = Confirmer(probes=3)
    c2.hedge()
    series = c2.series
    assert not c2.after(False, False)  # the hedged round answered: the series ends
    assert c2.direction is None and c2.series == series + 1
    c2.after(True, False)
    assert not c2.hedge()  # from a down outcome: no hedge (no change to confirm)


def test_recent_answer_time_decays() -> None:
    lat = Latency()
    lat.note(2.0, 100.0)
    assert lat.normal(100.0) == 2.0
    assert lat.normal(100.0 + LATENCY_HALF_LIFE) == pytest.approx(1.0)
    lat.note(0.1, 100.0 + LATENCY_HALF_LIFE)
    assert lat.normal(100.0 + LATENCY_HALF_LIFE) == pytest.approx(1.0)  # a maximum


async def test_on_round_knows_a_confirmation_round_from_a_regular_one() -> None:
    """Probe-based uptime leaves confirmation rounds out (prober/confirm.py): the sink can
    tell them apart, and only inside the round that is one."""
    from prober.confirm import in_confirmation

    clock = VirtualClock()
    seen: list[bool] = []

    async def probe(check: Check) -> ProbeResult:
        return ProbeResult(check.id, check.component, 0.0, Reason.HTTP_5XX, 0.01)

    async def on_round(check: Check, results: list[ProbeResult], lag: float) -> None:
        seen.append(in_confirmation())

    runner = Runner(probe, on_round, clock, rng=random.Random(1))
    runner.start([Check(id="c", component="api", url="http://127.0.0.1:1/", interval=15.0)])
    await clock.advance(40.0)
    stopper = asyncio.ensure_future(runner.stop())
    await clock.advance(20.0)
    await stopper
    assert seen.count(True) == runner.confirmation_rounds == CONFIRM_PROBES
    assert seen[0] is False and seen.count(False) == len(seen) - CONFIRM_PROBES
    assert not in_confirmation()
