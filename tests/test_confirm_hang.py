"""A hanging target (every probe waits for its timeout) through the real Runner and the
real Engine on virtual time (issue 11: a total outage is major within two intervals).

The hedge (prober/confirm.py) starts the confirmation series while the first hanging
round is still in flight, and the rounds of a hanging series are spaced to fit their
timeouts within one interval of its start; a merely slow target or one slow round opens
nothing, and a hedge whose round answers is withdrawn. Nothing waits in real time."""

from __future__ import annotations

import random

import pytest

from prober.config.model import Check, StatusPolicy
from prober.domain.status import ComponentStatus
from prober.probes.result import ProbeResult
from tests.runner_sim import Answer, Harness, first_probe_phase


def hanging_from(begin: float, fast: float = 0.02) -> Answer:
    def answer(t: float, _rng: random.Random) -> tuple[float, bool] | None:
        return None if t >= begin else (fast, True)

    return answer


async def detect(interval: float, timeout: float, requests: int, after_round: float) -> float:
    """A target that starts hanging `after_round` seconds after one of its regular rounds
    began (that round answered): seconds from the start of the hang to major_outage."""
    phase = first_probe_phase(interval)
    begin = phase + 4 * interval + after_round
    h = Harness(("api",), interval, timeout, requests, hanging_from(begin))
    await h.run(begin + 4 * interval)
    assert "api" in h.major_at, "a hanging target never read major_outage"
    [opened] = h.opened()
    assert opened.incident.impact.value == "critical"
    return h.major_at["api"] - begin


# after the last answered round: just after it (the worst phase), and in between
PHASES = (0.05, 2.0, 5.0, 9.0, 13.0, 14.9)


@pytest.mark.parametrize("after_round", PHASES)
async def test_a_hanging_target_reads_major_within_two_intervals_at_the_defaults(
    after_round: float,
) -> None:
    """Defaults: interval 15 s, timeout 5 s, one request per round: a hang that begins
    just after a round answered is first seen by the next round, 15 s later; it must read
    major_outage (critical) within 30 s of its start."""
    took = await detect(15.0, 5.0, 1, after_round)
    assert took <= 30.0, took


@pytest.mark.parametrize("after_round", (0.05, 1.0, 2.5, 4.9))
async def test_a_hanging_target_reads_major_within_two_intervals_at_the_example_setting(
    after_round: float,
) -> None:
    took = await detect(5.0, 2.0, 10, after_round)
    assert took <= 10.0, took


async def test_a_slow_but_answering_target_opens_nothing() -> None:
    """Every answer takes 2 to 4 s (under the 5 s timeout): no incident, no status other
    than operational, and no hedge after the first round (its recent answers are slow:
    the hedge would come too late to help, so it is not sent)."""

    def slow(_t: float, rng: random.Random) -> tuple[float, bool]:
        return rng.uniform(2.0, 4.0), True

    h = Harness(("api",), 15.0, 5.0, 1, slow)
    await h.run(3600.0)
    assert h.opened() == []
    assert h.engine.status_of("api") is ComponentStatus.OPERATIONAL
    assert h.runner.hedges <= 1  # the very first round (no answer time known yet)
    assert h.runner.confirmation_rounds <= 13


async def test_one_slow_round_opens_nothing_and_its_hedge_is_withdrawn() -> None:
    """A fast target slow for one round (3 s, with a latency threshold of 1 s): the hedge
    starts a series at about 1 s, the round answers at 3 s and ends it; the hedge rounds
    still probing are withdrawn (nothing reported), so the statistics see one slow round,
    not several, and no incident opens."""
    phase = first_probe_phase(15.0)
    slow_at = phase + 10 * 15.0

    def answer(t: float, _rng: random.Random) -> tuple[float, bool]:
        return (3.0 if slow_at - 0.01 <= t < slow_at + 3.5 else 0.02), True

    reported: list[tuple[float, float]] = []
    h = Harness(("api",), 15.0, 5.0, 1, answer, policy=StatusPolicy(latency_threshold=1.0))
    inner = h.on_round

    async def on_round(check: Check, results: list[ProbeResult], lag: float) -> None:
        reported.extend((h.elapsed(), r.duration) for r in results)
        await inner(check, results, lag)

    h.runner._on_round = on_round
    await h.run(slow_at + 600.0)
    assert h.runner.hedges == 1  # the slow round
    assert h.runner.withdrawn_rounds >= 3
    slow = [d for t, d in reported if d > 1.0]
    assert slow == [3.0]  # one slow round reported, its hedge rounds withdrawn
    assert h.opened() == []
    assert h.engine.status_of("api") is ComponentStatus.OPERATIONAL


async def test_a_short_hang_is_not_an_incident() -> None:
    """A target that stalls for 6 s (every request in that time waits for its timeout)
    then answers again: the hedge series sees the answer and ends; no incident."""
    phase = first_probe_phase(15.0)
    begin = phase + 4 * 15.0 - 0.5

    def answer(t: float, _rng: random.Random) -> tuple[float, bool] | None:
        return None if begin <= t < begin + 6.0 else (0.02, True)

    h = Harness(("api",), 15.0, 5.0, 1, answer)
    await h.run(begin + 900.0)
    assert h.opened() == []


async def test_a_timeout_type_network_loss_that_heals_is_no_incident() -> None:
    """Prober's own network is lost for 8 s (every probe of every component hangs) and
    heals, at the worst phase for the hedge: the rounds straddling the recovery are
    dropped by the network guard or withdrawn with their series; no incident opens."""
    phase = first_probe_phase(15.0)
    for offset in (0.05, 3.0, 8.0):
        begin = phase + 4 * 15.0 + offset

        def answer(
            t: float, _rng: random.Random, begin: float = begin
        ) -> tuple[float, bool] | None:
            return None if begin <= t < begin + 8.0 else (0.02, True)

        h = Harness(("api", "billing", "search"), 15.0, 5.0, 1, answer)
        await h.run(begin + 900.0)
        assert h.opened() == [], offset


async def test_a_slow_target_that_hangs_is_major_within_about_two_intervals() -> None:
    """Answers take 1 s before the hang: too slow for the hedge to fit (4 s), so the
    series starts at the first timeout, its rounds SIDE_BY_SIDE_GAP apart; worst phase
    about 30.5 s (the price of not hedging a slow target), the other phases sooner. No
    regular round is skipped for a confirmation round still in flight: it runs beside."""
    took = []
    for after in (1.01, 3.0, 7.0, 12.0):
        phase = first_probe_phase(15.0)
        begin = phase + 4 * 15.0 + after

        def answer(
            t: float, _rng: random.Random, begin: float = begin
        ) -> tuple[float, bool] | None:
            return None if t >= begin else (1.0, True)

        h = Harness(("api",), 15.0, 5.0, 1, answer)
        await h.run(begin + 60.0)
        assert h.runner.hedges == 0 and h.runner.skipped_rounds == 0
        regular = [
            t for t in h.regular if abs((t - phase) / 15.0 - round((t - phase) / 15.0)) < 1e-6
        ]
        assert len(regular) == len({round(t, 3) for t in regular}) >= 8
        took.append(h.major_at["api"] - begin)
    assert max(took) <= 31.0 and min(took) <= 20.0, took
