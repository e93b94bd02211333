"""Confirmation rounds with agents (issues 11 and 14): three locations send the runner's
confirmation rounds labelled (n, k); the quorum pairs confirmation k of round n across
them, counts a location that sent none with its latest outcome, and the real engine
sees the merged rounds. Pure: simulated time (tests/domain/quorum_world.py)."""

from __future__ import annotations

import random

import pytest

from prober.domain.quorum import LOST, CheckSpec, Quorum, QuorumPolicy, phase
from prober.domain.status import ComponentStatus
from prober.probes.result import ProbeResult, Reason

from .quorum_world import LOCATIONS, Outcome, World, combine, fails

INTERVAL = 15.0  # the defaults: 15 s, one request per round
API = ("api-check",)
ALL = ("api-check", "web-check", "db-check")


def outage_start(w: World, offset: float) -> float:
    """`offset` seconds after eu's next regular round of api (0+: just missed it)."""
    return w.next_round("api-check") + offset


@pytest.mark.parametrize("offset", [0.01, 3.0, 7.5, 11.0, 14.9])
def test_total_outage_seen_by_all_three_is_major_within_two_intervals(offset: float) -> None:
    w = World(INTERVAL)
    w.run(120.0)
    assert not w.counted() and not w.opened()
    start = outage_start(w, offset)
    w.outcome = fails(LOCATIONS, API, start)
    w.run(2 * INTERVAL + 5.0)
    assert "api" in w.major_at, "the total outage never read major_outage"
    assert w.major_at["api"] - start <= 2 * INTERVAL
    # it was the merged confirmation rounds that carried it: each from all three
    confirmations = [d for d in w.counted() if d.confirmation]
    assert len(confirmations) >= 13 and w.fed_confirmations >= 13
    assert all(set(d.failing) == set(LOCATIONS) for d in confirmations[:13])
    assert w.opened() and w.opened()[0].incident.impact.value == "critical"
    assert {"web", "db"}.isdisjoint(w.major_at)


def test_without_confirmation_rounds_a_total_outage_takes_fourteen_intervals() -> None:
    """The gap this fixes, as it was: agents sending no confirmations (confirm=0)."""
    w = World(INTERVAL, confirm=0)
    w.run(120.0)
    start = outage_start(w, 0.01)
    w.outcome = fails(LOCATIONS, API, start)
    w.run(2 * INTERVAL + 5.0)
    assert "api" not in w.major_at


def test_failure_seen_by_one_location_only_never_counts() -> None:
    w = World(INTERVAL)
    w.run(120.0)
    w.outcome = fails(("eu",), API, w.now)
    w.run(1800.0)
    assert not w.counted() and not w.opened() and not w.major_at
    assert w.engine.status_of("api") is ComponentStatus.OPERATIONAL
    # eu did send its confirmation series; us and ap sent none and counted as passing
    sent = [r for r in w.rows if r.confirmation and r.check_id == "api-check"]
    assert sent and {r.location for r in sent} == {"eu"}
    confirmations = [d for d in w.decisions if d.check_id == "api-check" and d.confirmation]
    assert confirmations
    for d in confirmations:
        assert d.failing == ("eu",) and set(d.carried) == {"us", "ap"}
        assert d.required == 2 and d.reporting == 3 and d.results == ()  # nothing fresh passed


def test_lost_location_plus_a_real_outage_from_the_other_two_is_major_within_two_intervals() -> (
    None
):
    w = World(INTERVAL)
    w.run(120.0)
    w.outcome = fails(("ap",), ALL, w.now, Reason.CONNECT)  # ap loses its network
    w.run(300.0)
    assert not w.counted() and not w.opened()
    assert {s.location: s.state for s in w.quorum.locations(w.now)}["ap"] == LOST
    start = outage_start(w, 0.01)
    w.outcome = combine(w.outcome, fails(("eu", "us"), API, start))
    w.run(2 * INTERVAL + 5.0)
    assert "api" in w.major_at and w.major_at["api"] - start <= 2 * INTERVAL
    confirmations = [d for d in w.counted() if d.confirmation]
    assert confirmations and all(set(d.failing) == {"eu", "us"} for d in confirmations)
    assert all(d.reporting == 2 for d in confirmations)  # ap held out


def test_real_outage_from_two_of_three_is_major_within_two_intervals() -> None:
    w = World(INTERVAL)
    w.run(120.0)
    start = outage_start(w, 0.01)
    w.outcome = fails(("eu", "us"), API, start)
    w.run(2 * INTERVAL + 5.0)
    assert "api" in w.major_at and w.major_at["api"] - start <= 2 * INTERVAL
    confirmations = [d for d in w.counted() if d.confirmation]
    assert len(confirmations) >= 13
    assert all(d.reporting == 3 and set(d.failing) == {"eu", "us"} for d in confirmations)
    assert all("ap" in d.carried and "ap" in d.passing for d in confirmations)


@pytest.mark.parametrize("rate", [0.02, 0.2])
def test_noise_at_one_location_makes_no_false_confirmations(rate: float) -> None:
    rng = random.Random(11)
    noise: dict[tuple[str, str, float], Reason] = {}

    def noisy(location: str, check: str, at: float) -> Reason:
        key = (location, check, at)
        if key not in noise:
            hit = location == "eu" and rng.random() < rate
            noise[key] = Reason.HTTP_5XX if hit else Reason.OK
        return noise[key]

    w = World(INTERVAL)
    w.outcome = noisy
    w.run(6 * 3600.0)
    series = [r for r in w.rows if r.confirmation]
    assert series and {r.location for r in series} == {"eu"}  # eu doubted, often
    assert not w.counted() and not w.opened() and not w.major_at
    for d in w.decisions:  # no merged round carries a failure
        assert all(r.ok for r in d.results)
    for comp in ("api", "web", "db"):
        assert w.engine.status_of(comp) is ComponentStatus.OPERATIONAL


def test_recovery_seen_by_all_three_is_confirmed_at_once() -> None:
    w = World(INTERVAL)
    w.run(120.0)
    start = outage_start(w, 0.01)
    w.outcome = fails(LOCATIONS, API, start)
    w.run(120.0)
    assert w.engine.status_of("api") is ComponentStatus.MAJOR_OUTAGE
    healed = outage_start(w, -0.5)  # the next round passes everywhere
    w.outcome = _until(w.outcome, healed)
    before = len(w.decisions)
    w.run(healed - w.now + INTERVAL)
    ups = [d for d in w.decisions[before:] if d.check_id == "api-check" and d.confirmation]
    assert len(ups) == 13 and all(d.results and d.results[0].ok for d in ups)
    assert all(set(d.passing) == set(LOCATIONS) and not d.carried for d in ups)
    # operational again within two intervals plus recovery_time (60 s), as in-process
    w.run(healed + 2 * INTERVAL + 60.0 - w.now)
    assert w.engine.status_of("api") is ComponentStatus.OPERATIONAL


def _until(outcome: Outcome, end: float) -> Outcome:
    def bounded(location: str, check: str, at: float) -> Reason:
        return outcome(location, check, at) if at < end else Reason.OK

    return bounded


# -- the quorum's rules for confirmation rounds, one by one ------------------------------

SPEC = CheckSpec(INTERVAL, 5.0, frozenset({"http_5xx", "timeout", "connect", "dns"}))
AT = phase("api", INTERVAL) + 1000 * INTERVAL  # round 1000 of api


def r(at: float, reason: Reason = Reason.HTTP_5XX, loc: str = "") -> list[ProbeResult]:
    return [ProbeResult("api", "c", at, reason, 0.05, detail=loc)]


def quorum(*locations: str) -> Quorum:
    return Quorum({"api": SPEC, "web": SPEC}, QuorumPolicy(), locations or LOCATIONS)


def test_confirmation_k_of_round_n_is_paired_across_locations_and_merged_once() -> None:
    q = quorum()
    for loc in LOCATIONS:
        q.observe(loc, "api", r(AT, loc=loc))
    (regular,) = q.decide(AT + 0.5).decisions
    assert regular.counted and regular.confirmation == 0
    for i, loc in enumerate(LOCATIONS):  # each location's first confirmation, staggered
        q.observe(loc, "api", r(AT + 1.0 + i * 0.05, loc=loc), confirmation=1)
    (d,) = q.decide(AT + 1.5).decisions  # complete: all three sent it
    assert (d.round, d.confirmation) == (1000, 1)
    assert d.counted and d.failing == LOCATIONS and d.carried == ()
    assert d.results[0].detail == "eu"  # the earliest fresh failing location's result


def test_a_location_with_no_doubt_counts_with_its_latest_outcome() -> None:
    q = quorum()
    for loc in LOCATIONS:  # round 999: eu and us already failing, ap passing
        q.observe(loc, "api", r(AT - INTERVAL, Reason.OK if loc == "ap" else Reason.HTTP_5XX))
    for k in range(1, 14):  # their whole series, in round 999
        q.observe("eu", "api", r(AT - INTERVAL + k), confirmation=k)
        q.observe("us", "api", r(AT - INTERVAL + k), confirmation=k)
    assert len(q.decide(AT - INTERVAL + 14).decisions) == 14
    # round 1000: eu and us still fail (no change: no series), ap fails now (a change)
    for loc in LOCATIONS:
        q.observe(loc, "api", r(AT, loc=loc))
    q.decide(AT + 0.5)
    q.observe("ap", "api", r(AT + 1.0, loc="ap"), confirmation=1)
    (d,) = q.decide(AT + 1.1).decisions  # eu and us will send none: decided at once
    assert d.counted and set(d.failing) == set(LOCATIONS)
    assert set(d.carried) == {"eu", "us"} and d.results[0].detail == "ap"


def test_a_confirmation_nobody_else_sends_is_decided_once_they_are_known_not_to() -> None:
    q = quorum()
    for loc in LOCATIONS:
        q.observe(loc, "api", r(AT, Reason.OK))
    q.decide(AT + 0.5)
    for loc in LOCATIONS:  # round 1001: eu fails (a change), us and ap pass
        q.observe(loc, "api", r(AT + INTERVAL, Reason.HTTP_5XX if loc == "eu" else Reason.OK))
    q.observe("eu", "api", r(AT + INTERVAL + 1.0), confirmation=1)
    out = q.decide(AT + INTERVAL + 1.1).decisions
    assert [(d.round, d.confirmation) for d in out] == [(1001, 0), (1001, 1)]
    assert not any(d.counted for d in out) and out[1].results == ()
    assert set(out[1].carried) == {"us", "ap"} and out[1].failing == ("eu",)


def test_a_confirmation_a_doubting_location_has_not_sent_waits_until_timeout_and_settle() -> None:
    q = quorum()
    for loc in LOCATIONS:
        q.observe(loc, "api", r(AT, Reason.OK))
    q.decide(AT + 0.5)
    n1 = AT + INTERVAL
    for loc in ("eu", "us"):  # both doubt now; ap passes
        q.observe(loc, "api", r(n1))
    q.observe("ap", "api", r(n1, Reason.OK))
    q.observe("eu", "api", r(n1 + 1.0), confirmation=1)
    assert [d.confirmation for d in q.decide(n1 + 1.1).decisions] == [0]  # us may still send
    assert q.decide(n1 + 1.0 + 5.0 + 1.99).decisions == []
    (d,) = q.decide(n1 + 1.0 + 5.0 + 2.0).decisions  # start + timeout + settle
    # us sent nothing for it: its latest outcome (its failing round 1001) counts
    assert d.counted and set(d.failing) == {"eu", "us"} and set(d.carried) == {"us", "ap"}


def test_a_location_that_sent_nothing_for_that_round_is_not_carried() -> None:
    q = quorum()
    for loc in LOCATIONS:
        q.observe(loc, "api", r(AT, Reason.OK))
    q.decide(AT + 0.5)
    n1 = AT + INTERVAL
    q.observe("eu", "api", r(n1))  # us and ap miss round 1001 altogether
    q.observe("eu", "api", r(n1 + 1.0), confirmation=1)
    out = q.decide(n1 + 1.0 + 5.0 + 2.0).decisions
    assert [(d.confirmation, d.carried, d.counted) for d in out] == [(0, (), False), (1, (), False)]
    assert out[1].reporting == 3 and out[1].required == 2  # still out of three


def test_a_late_confirmation_is_dropped_and_resume_keeps_confirmations_decided() -> None:
    q = quorum()
    for loc in LOCATIONS:
        q.observe(loc, "api", r(AT, loc=loc))
    q.decide(AT + 0.5)
    for loc in LOCATIONS:
        q.observe(loc, "api", r(AT + 1.0, loc=loc), confirmation=1)
    q.decide(AT + 1.5)
    assert q.decided() == {"api": 1000} and q.decided_confirmations() == {"api": 1}
    assert not q.observe("eu", "api", r(AT + 1.2), confirmation=1)
    assert q.late == 1
    new = quorum()
    new.resume(q.decided(), q.decided_confirmations())
    assert not new.observe("us", "api", r(AT + 1.0), confirmation=1)  # replayed: late
    assert new.observe("us", "api", r(AT + 2.0), confirmation=2)
    assert new.late == 1


def test_an_unreachable_confirmation_from_a_location_losing_its_network_is_held() -> None:
    q = Quorum({"api": SPEC, "web": SPEC}, QuorumPolicy(quorum=1), LOCATIONS)
    for loc in LOCATIONS:
        for check in ("api", "web"):
            q.observe(loc, check, [ProbeResult(check, "c", AT, Reason.OK, 0.05)])
    q.decide(AT + 0.5)
    n1 = AT + INTERVAL
    q.observe("ap", "api", r(n1, Reason.CONNECT))  # ap's network goes (api first)
    for loc in ("eu", "us"):
        q.observe(loc, "api", r(n1, Reason.OK))
    q.observe("ap", "api", r(n1 + 1.0, Reason.CONNECT), confirmation=1)
    held = q.decide(n1 + 1.5).decisions
    assert all(not d.counted for d in held)  # quorum 1, but ap has not answered since
    assert q.pending_rounds() >= 1
