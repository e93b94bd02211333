"""Quorum across locations: a failure counts only when seen from `quorum` locations, a
location that loses its own network is held out (never evidence), a silent location is
no data; driven by a fake clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from prober.clock import FakeClock
from prober.domain.quorum import (
    LOST,
    MAJORITY,
    NO_DATA,
    OK,
    CheckSpec,
    Decision,
    Quorum,
    QuorumPolicy,
    phase,
    round_number,
)
from prober.probes.result import ProbeResult, Reason
from prober.runner import schedule_offset

INTERVAL = 10.0
TIMEOUT = 5.0
REASONS = frozenset({"http_5xx", "timeout", "connect", "dns"})
CHECKS = ("api", "web", "db")
LOCATIONS = ("eu", "us", "ap")

# location, check, round start -> the reason it sees
Outcome = Callable[[str, str, float], Reason]


def healthy(location: str, check: str, at: float) -> Reason:
    return Reason.OK


class Sim:
    """Three locations probing three checks on their real phases; decides every second."""

    def __init__(self, quorum: int = MAJORITY, locations: tuple[str, ...] = LOCATIONS) -> None:
        self.clock = FakeClock()
        spec = CheckSpec(INTERVAL, TIMEOUT, REASONS)
        self.q = Quorum({c: spec for c in CHECKS}, QuorumPolicy(quorum=quorum), locations)
        self.locations = locations
        self.decisions: list[Decision] = []
        self.changes: list[tuple[str, str]] = []
        self.decided_at: dict[tuple[str, int], float] = {}
        self._next = {c: self._first(c) for c in CHECKS}

    @property
    def now(self) -> float:
        return self.clock.now().timestamp()

    def _first(self, check: str) -> float:
        p = phase(check, INTERVAL)
        return self.now + (p - self.now) % INTERVAL

    def run(
        self, seconds: float, outcome: Outcome = healthy, silent: tuple[str, ...] = ()
    ) -> list[Decision]:
        start = len(self.decisions)
        end = self.now + seconds
        while self.now < end:
            self.clock.advance(1.0)
            for check in CHECKS:
                while self._next[check] <= self.now:
                    at = self._next[check]
                    self._next[check] += INTERVAL
                    for loc in self.locations:
                        if loc in silent:
                            continue
                        reason = outcome(loc, check, at)
                        result = ProbeResult(check, "comp", at + 0.01, reason, 0.2, detail=loc)
                        self.q.observe(loc, check, [result])
            out = self.q.decide(self.now)
            self.decisions += out.decisions
            self.decided_at.update({(d.check_id, d.round): self.now for d in out.decisions})
            self.changes += [(s.location, s.state) for s in out.changed]
        return self.decisions[start:]

    def state(self, location: str) -> str:
        return {s.location: s.state for s in self.q.locations(self.now)}[location]


def counted(decisions: list[Decision]) -> list[Decision]:
    return [d for d in decisions if d.counted]


def down_from(*locations: str, reason: Reason = Reason.HTTP_5XX) -> Outcome:
    def outcome(location: str, check: str, at: float) -> Reason:
        return reason if location in locations and check == "api" else Reason.OK

    return outcome


def network_lost(*locations: str) -> Outcome:
    def outcome(location: str, check: str, at: float) -> Reason:
        return Reason.CONNECT if location in locations else Reason.OK

    return outcome


def test_phase_is_the_runners_schedule_offset() -> None:
    for check in ("api", "web", "x" * 40):
        for interval in (1.0, 15.0, 60.0):
            assert phase(check, interval) == schedule_offset(check, interval)


def test_round_number_tolerates_lag_below_half_an_interval() -> None:
    base = phase("api", INTERVAL) + 1000 * INTERVAL
    assert round_number("api", INTERVAL, base) == 1000
    assert round_number("api", INTERVAL, base + 4.9) == 1000
    assert round_number("api", INTERVAL, base - 0.001) == 1000


def test_healthy_locations_give_one_passing_round_per_check_round() -> None:
    sim = Sim()
    out = sim.run(60.0)
    assert out and not counted(out)
    per_check = {c: [d.round for d in out if d.check_id == c] for c in CHECKS}
    for rounds in per_check.values():
        assert rounds == sorted(set(rounds))  # each round once, in order
    assert all(len(d.results) == 1 and d.results[0].ok for d in out)
    assert all(d.passing == tuple(sorted(d.passing)) or len(d.passing) == 3 for d in out)
    assert {sim.state(loc) for loc in LOCATIONS} == {OK}


def test_failure_seen_from_one_of_three_is_not_counted() -> None:
    sim = Sim()
    sim.run(30.0)
    out = sim.run(120.0, down_from("eu"))
    api = [d for d in out if d.check_id == "api"]
    assert api and not counted(out)
    assert all(d.failing == ("eu",) and d.results[0].ok for d in api)


def test_real_outage_seen_from_two_of_three_is_counted_with_its_real_reason_and_start() -> None:
    sim = Sim()
    sim.run(30.0)
    out = sim.run(60.0, down_from("eu", "us", reason=Reason.TIMEOUT))
    api = [d for d in out if d.check_id == "api"]
    assert api and all(d.counted for d in api)
    for d in api:
        assert set(d.failing) == {"eu", "us"} and d.required == 2 and d.reporting == 3
        (merged,) = d.results
        assert merged.reason is Reason.TIMEOUT
        assert merged.detail == d.failing[0]  # the first failing location's own result
        assert round_number("api", INTERVAL, merged.at) == d.round
    assert not counted([d for d in out if d.check_id != "api"])


def test_location_losing_its_network_is_held_out_and_counts_nothing() -> None:
    sim = Sim()
    sim.run(30.0)
    out = sim.run(120.0, network_lost("ap"))
    assert not counted(out)
    assert sim.state("ap") == LOST
    assert ("ap", LOST) in sim.changes
    assert {sim.state("eu"), sim.state("us")} == {OK}
    late = [d for d in out if d.reporting == 2]  # once held out, ap leaves the denominator
    assert late and all("ap" not in d.failing for d in late)
    sim.run(30.0)  # its network is back
    assert sim.state("ap") == OK


def test_lost_location_is_held_out_even_with_quorum_one() -> None:
    sim = Sim(quorum=1)
    sim.run(30.0)
    out = sim.run(120.0, network_lost("ap"))
    # The first unreachable rounds of ap are held (no answer from ap since) until every
    # check of ap has failed and ap is held out: nothing counts, not even the first.
    assert sim.state("ap") == LOST
    assert out and not counted(out)


def test_real_connection_outage_from_two_locations_counts_after_an_answer_proves_them() -> None:
    sim = Sim()
    sim.run(30.0)
    out = sim.run(60.0, down_from("eu", "us", reason=Reason.CONNECT))
    api = [d for d in out if d.check_id == "api"]
    assert api and all(d.counted for d in api)
    for d in api:  # held at most until eu's and us's other checks answered: < 1 interval
        assert sim.decided_at[("api", d.round)] - d.results[0].at <= INTERVAL + 1.0


def test_everything_unreachable_everywhere_is_a_total_outage_never_held_out() -> None:
    sim = Sim()
    sim.run(30.0)
    out = sim.run(60.0, network_lost(*LOCATIONS))
    assert {sim.state(loc) for loc in LOCATIONS} == {OK}
    # held at most the hold (interval + timeout + settle), then counted: never hidden
    assert out and all(d.counted for d in out[len(CHECKS) :])
    for d in out:
        assert sim.decided_at[(d.check_id, d.round)] - d.results[0].at <= 10 + 5 + 2 + 1


def test_silent_location_is_no_data_not_a_failure() -> None:
    sim = Sim()
    sim.run(30.0)
    out = sim.run(120.0, silent=("ap",))
    assert not counted(out)
    assert sim.state("ap") == NO_DATA
    assert ("ap", NO_DATA) in sim.changes
    # within location_timeout it still counts as reporting (decided when due), then leaves
    assert out[-1].reporting == 2


def test_all_locations_silent_gives_no_decisions_and_no_data() -> None:
    sim = Sim()
    sim.run(30.0)
    out = sim.run(120.0, silent=LOCATIONS)
    assert all(d.round < round_number(d.check_id, INTERVAL, sim.now - 110.0) + 2 for d in out)
    assert {sim.state(loc) for loc in LOCATIONS} == {NO_DATA}
    assert sim.q.pending_rounds() == 0


def test_location_never_seen_is_no_data_from_the_start() -> None:
    sim = Sim(locations=LOCATIONS)
    assert {s.state for s in sim.q.locations(sim.now)} == {NO_DATA}
    assert all(s.since is None and s.last_seen is None for s in sim.q.locations(sim.now))


@pytest.mark.parametrize(
    ("quorum", "failing", "counts"),
    [
        (1, ("eu",), True),
        (1, (), False),
        (2, ("eu",), False),
        (2, ("eu", "us"), True),
        (3, ("eu", "us"), False),
        (3, LOCATIONS, True),
        (MAJORITY, ("eu",), False),
        (MAJORITY, ("eu", "us"), True),
    ],
)
def test_quorum_setting(quorum: int, failing: tuple[str, ...], counts: bool) -> None:
    sim = Sim(quorum=quorum)
    sim.run(30.0)
    out = [d for d in sim.run(60.0, down_from(*failing)) if d.check_id == "api"]
    assert out and all(d.counted is counts for d in out)
    assert all(d.required == (quorum or 2) for d in out)


def test_quorum_above_reporting_locations_gives_no_data_for_a_failure() -> None:
    sim = Sim(quorum=3)
    sim.run(30.0)
    out = sim.run(120.0, down_from("eu", "us"), silent=("ap",))
    api = [d for d in out if d.check_id == "api" and d.reporting == 2]
    assert api and all(not d.counted and d.results == () for d in api)


def test_round_waits_for_every_reporting_location_until_settled() -> None:
    spec = CheckSpec(INTERVAL, TIMEOUT, REASONS)
    q = Quorum({"api": spec}, QuorumPolicy(settle=2.0), ("eu", "us"))
    at = phase("api", INTERVAL) + 1000 * INTERVAL
    both = [ProbeResult("api", "c", at, Reason.OK, 0.1)]
    q.observe("eu", "api", both)
    q.observe("us", "api", both)
    assert len(q.decide(at + 1).decisions) == 1  # complete: decided at once
    nxt = at + INTERVAL
    q.observe("eu", "api", [ProbeResult("api", "c", nxt, Reason.HTTP_5XX, 0.1)])
    assert q.decide(nxt + 1).decisions == []  # us has not reported yet
    assert q.decide(nxt + TIMEOUT + 1.9).decisions == []
    (d,) = q.decide(nxt + TIMEOUT + 2.0).decisions  # settled without us
    assert d.failing == ("eu",) and d.required == 2 and not d.counted and d.results == ()
    # us reports that round late: dropped, counted
    assert not q.observe("us", "api", [ProbeResult("api", "c", nxt, Reason.OK, 0.1)])
    assert q.late == 1


def test_unknown_check_and_empty_round_are_ignored() -> None:
    q = Quorum({}, QuorumPolicy(), ())
    assert not q.observe("eu", "nope", [ProbeResult("nope", "c", 1.0, Reason.OK, 0.1)])
    spec = CheckSpec(INTERVAL, TIMEOUT, REASONS)
    q.reconfigure({"api": spec}, QuorumPolicy())
    assert not q.observe("eu", "api", [])


def test_failure_reasons_outside_the_policy_do_not_fail_a_round() -> None:
    sim = Sim()
    sim.run(30.0)
    out = sim.run(60.0, down_from(*LOCATIONS, reason=Reason.LATENCY))
    api = [d for d in out if d.check_id == "api"]
    assert api and not counted(api) and all(len(d.passing) == 3 for d in api)


def test_negative_quorum_is_refused() -> None:
    with pytest.raises(ValueError, match="quorum"):
        Quorum({}, QuorumPolicy(quorum=-1))


def test_a_locations_dead_shard_leaves_only_its_checks_denominator() -> None:
    """ap's agent for `api` is gone while ap's other agents report: api's rounds are
    decided from eu and us alone (2 of 2 needed) without waiting out the settle time."""
    sim = Sim()
    sim.run(30.0)
    real_observe = sim.q.observe

    def observe(location: str, check_id: str, results: list[ProbeResult]) -> bool:
        if location == "ap" and check_id == "api":
            return False
        return real_observe(location, check_id, results)

    sim.q.observe = observe  # type: ignore[method-assign]
    sim.run(90.0)  # past location_timeout (60 s)
    out = sim.run(60.0, down_from("eu", "us"))
    api = [d for d in out if d.check_id == "api"]
    assert api and all(d.counted and d.reporting == 2 and d.required == 2 for d in api)
    assert sim.state("ap") == OK  # the location itself still reports
    for d in api:  # decided within 1 s (the sim's step) of the round, not timeout + settle
        start = d.results[0].at - 0.01
        assert round_number("api", INTERVAL, start) == d.round
        assert sim.decided_at[("api", d.round)] - start <= 1.0
