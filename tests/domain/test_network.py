"""NetworkGuard: a total outage is never invisible, prober's own network loss (proven by
canaries) opens nothing, slow checks do not break the verdict, rounds in flight at a
recovery are dropped; the documented semantics hold with many checks."""

from __future__ import annotations

from prober.domain.network import NetworkGuard, Verdict
from prober.domain.state import Sample
from prober.domain.status import ComponentStatus as CS
from prober.probes.result import Reason

from .sim import Sim, changes, failing, make_config, network, opened

MANY = tuple((f"c{j}", f"Component {j}") for j in range(60))


def warm(sim: Sim) -> None:
    sim.run(60.0)
    assert not sim.effects


TARGETS = [f"c{j}-check" for j in range(60)]


def test_network_loss_proven_by_canaries_opens_nothing_and_recovers() -> None:
    sim = Sim(make_config(MANY, interval=5.0, requests_per_round=2, canaries=2))
    warm(sim)
    out = sim.run(120.0, failing(Reason.TIMEOUT, sim.now))  # canaries fail as well
    assert [n.healthy for n in network(out)] == [False]
    assert sim.engine.network_state == "lost"
    assert not opened(out) and not changes(out)
    assert not sim.engine.guard._pending  # held rounds were dropped with the loss
    out = sim.run(120.0)
    assert [n.healthy for n in network(out)] == [True]
    assert not opened(out) and not changes(out)


def test_total_outage_with_canaries_answering_opens_critical_within_two_intervals() -> None:
    sim = Sim(make_config(MANY, interval=5.0, requests_per_round=2, canaries=1))
    warm(sim)
    began = sim.now
    out = sim.run(
        30.0, failing(Reason.CONNECT, began, checks=TARGETS), stop=lambda e: bool(opened(e))
    )
    inc = opened(out)[0].incident
    assert inc.created_at - began <= 2 * 5.0 + 1.0
    assert inc.impact.value == "critical"
    assert inc.started_at - began < 5.0  # the first failing probe, not the verdict
    assert sim.engine.network_state == "ok"


def test_total_outage_without_canaries_is_major_outage_after_the_hold() -> None:
    """No canary to tell: everything unreachable is shown as the outage it may be."""
    sim = Sim(make_config(MANY, interval=5.0, requests_per_round=2))
    warm(sim)
    began = sim.now
    out = sim.run(60.0, failing(Reason.CONNECT, began), stop=lambda e: bool(opened(e)))
    hold = sim.engine.guard.hold_limit
    inc = opened(out)[0].incident
    assert inc.created_at - began <= hold + 5.0 + 1.0
    assert inc.impact.value == "critical"
    assert inc.started_at - began < 5.0
    assert sim.engine.network_state == "unverified"
    assert [n.healthy for n in network(out)] == [False]
    sim.run(10.0, failing(Reason.CONNECT, began))
    assert all(sim.engine.status_of(c) is CS.MAJOR_OUTAGE for c, _ in MANY)
    out = sim.run(30.0)
    assert [n.healthy for n in network(out)] == [True]


def test_a_blip_shorter_than_the_hold_without_canaries_opens_nothing() -> None:
    sim = Sim(make_config(MANY, interval=5.0, requests_per_round=2))
    warm(sim)
    out = sim.run(60.0, failing(Reason.CONNECT, sim.now, sim.now + 6.0))
    assert not opened(out) and not changes(out)


def test_a_slow_check_does_not_break_the_verdict_of_a_loss() -> None:
    """One check at a 90 s interval: the guard judges the checks that reported since the
    loss began, and its hold is never capped below the slowest interval."""
    sim = Sim(
        make_config(
            MANY[:5], interval=5.0, requests_per_round=2, canaries=1, intervals={"c0": 90.0}
        )
    )
    sim.run(200.0)
    assert not sim.effects
    out = sim.run(300.0, failing(Reason.TIMEOUT, sim.now))
    assert sim.engine.guard.hold_limit >= 90.0
    assert not opened(out) and not changes(out)
    assert [n.healthy for n in network(out)] == [False]


def test_rounds_in_flight_at_the_recovery_are_dropped() -> None:
    """A timeout-type loss heals: probes started during the loss report timeouts after
    the network is back; they are not counted as target failures."""
    sim = Sim(make_config(MANY[:6], interval=5.0, requests_per_round=2, canaries=1))
    warm(sim)
    lost = sim.now
    sim.run(60.0, failing(Reason.TIMEOUT, lost))
    assert sim.engine.network_state == "lost"
    back = sim.now
    sim.round("c0-check", [Reason.OK], at=back)  # the network is back
    assert sim.engine.network_state == "ok"
    for j in range(1, 6):  # in flight since before the recovery, reported after it
        out = sim.round(f"c{j}-check", [Reason.TIMEOUT] * 2, at=back - 1.0)
        assert not changes(out)
    out = sim.run(120.0)
    assert not opened(out) and not changes(out)


def test_an_outage_starting_just_before_a_blip_ends_keeps_its_start() -> None:
    """Held rounds set aside by the answer that ended an all-unreachable stretch are
    recorded when the check still fails afterwards: the true start is kept."""
    sim = Sim(make_config(MANY[:4], interval=5.0, requests_per_round=2))
    warm(sim)
    began = sim.now
    out = sim.run(
        60.0,
        failing(Reason.CONNECT, began, checks=["c1-check", "c2-check"]),
        stop=lambda e: bool(opened(e)),
    )
    inc = opened(out)[0].incident
    assert inc.started_at - began < 5.0


def test_one_component_down_among_many_is_recorded_at_once() -> None:
    sim = Sim(make_config(MANY, interval=5.0, requests_per_round=2))
    warm(sim)
    out = sim.run(30.0, failing(Reason.CONNECT, sim.now, checks=["c7-check"]))
    assert not network(out)
    assert sim.engine.status_of("c7") is CS.MAJOR_OUTAGE
    assert [c.component for c in changes(out)] == ["c7"]
    assert len(opened(out)) == 1


def test_held_rounds_are_released_after_the_hold_limit_when_no_one_else_answers() -> None:
    """Others are slow (no round since the run began): the hold limit confirms the run."""
    guard = NetworkGuard({f"k{i}": f"c{i % 40}" for i in range(400)}, hold_limit=16.0)
    for i in range(400):
        assert guard.round(f"k{i}", [Sample(100.0 + i / 100, False, 0.01, "ok")], 100.0 + i / 100)
    bad = [Sample(110.0, True, 5.0, "timeout")]
    assert guard.round("k3", bad, 110.0) == Verdict([])  # held: no one answered since
    assert guard.round("k3", bad, 115.0) == Verdict([])
    assert guard.tick(125.0) == []  # 15 s < hold limit
    released = guard.tick(126.0)
    assert released == [("k3", bad), ("k3", bad)]
    assert guard.tick(127.0) == []
    # Confirmed: the run's further rounds are recorded at once.
    assert guard.round("k3", bad, 120.0).record == [("k3", bad)]
    assert guard.healthy


def test_another_answer_releases_held_rounds_in_config_order() -> None:
    guard = NetworkGuard({f"k{i}": f"c{i % 10}" for i in range(100)}, hold_limit=60.0)
    for i in range(100):
        guard.round(f"k{i}", [Sample(1.0, False, 0.01, "ok")], 1.0)
    bad = [Sample(10.0, True, 0.01, "connect")]
    for k in ("k50", "k0", "k20"):  # one component (c0): no all-unreachable stretch
        assert guard.round(k, bad, 10.0).record == []
    ok = [Sample(10.5, False, 0.01, "ok")]
    verdict = guard.round("k99", ok, 10.5)
    assert verdict.record == [("k0", bad), ("k20", bad), ("k50", bad), ("k99", ok)]
    assert not guard._pending


def test_an_answer_ending_an_all_unreachable_stretch_lets_each_next_round_decide() -> None:
    guard = NetworkGuard({f"k{i}": f"c{i % 10}" for i in range(100)}, hold_limit=60.0)
    for i in range(100):
        guard.round(f"k{i}", [Sample(1.0, False, 0.01, "ok")], 1.0)
    bad = [Sample(10.0, True, 0.01, "connect")]
    for k in ("k5", "k20"):  # two components, every reporting check unreachable
        assert guard.round(k, bad, 10.0).record == []
    ok = [Sample(10.5, False, 0.01, "ok")]
    assert guard.round("k99", ok, 10.5).record == [("k99", ok)]  # set aside
    # k5 fails again after the answer: its held round was real, recorded with this one.
    again = [Sample(15.0, True, 0.01, "connect")]
    assert guard.round("k5", again, 15.0).record == [("k5", bad), ("k5", again)]
    # k20 answers: its held round was the blip, dropped.
    ok20 = [Sample(15.0, False, 0.01, "ok")]
    assert guard.round("k20", ok20, 15.0).record == [("k20", ok20)]
    assert guard.healthy


def test_an_answer_from_before_the_run_releases_nothing() -> None:
    guard = NetworkGuard({"a": "x", "b": "y", "c": "z"}, hold_limit=60.0)
    for k in "abc":
        guard.round(k, [Sample(1.0, False, 0.01, "ok")], 1.0)
    bad = [Sample(10.0, True, 0.01, "connect")]
    assert guard.round("a", bad, 10.0).record == []
    # b's round started before a's run began: it proves nothing about a's run.
    assert guard.round("b", [Sample(9.0, False, 0.01, "ok")], 9.0).record == [
        ("b", [Sample(9.0, False, 0.01, "ok")])
    ]
    assert "a" in guard._pending


def test_a_long_broken_component_does_not_turn_another_failure_into_a_blip() -> None:
    guard = NetworkGuard({"a": "x", "b": "y", "c": "z"}, hold_limit=60.0)
    for k in "abc":
        guard.round(k, [Sample(1.0, False, 0.01, "ok")], 1.0)
    refused = [Sample(2.0, True, 0.01, "connect")]
    guard.round("a", refused, 2.0)
    guard.round("c", [Sample(3.0, False, 0.01, "ok")], 3.0)  # a is really down: confirmed
    assert guard.round("a", [Sample(4.0, True, 0.01, "connect")], 4.0).record
    once = [Sample(10.0, True, 0.01, "connect")]
    assert guard.round("b", once, 10.0).record == []  # held: no answer since
    ok = [Sample(10.5, False, 0.01, "ok")]
    # c answers: b's failure is real (only b's run is fresh), recorded, not set aside.
    assert guard.round("c", ok, 10.5).record == [("b", once), ("c", ok)]
