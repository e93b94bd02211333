"""NetworkGuard at scale: the documented semantics hold with many checks, and its O(1)
bookkeeping (held tracks, counters, latest answers) matches the original scanning guard."""

from __future__ import annotations

import random

import pytest

from prober.domain.network import NetworkGuard, Verdict
from prober.domain.state import Sample
from prober.domain.status import ComponentStatus as CS
from prober.probes.result import Reason

from .reference import ScanningGuard
from .sim import Sim, changes, failing, make_config, network, opened

MANY = tuple((f"c{j}", f"Component {j}") for j in range(60))


def warm(sim: Sim) -> None:
    sim.run(60.0)
    assert not sim.effects


def test_network_loss_with_many_checks_opens_nothing_and_recovers() -> None:
    sim = Sim(make_config(MANY, interval=5.0, requests_per_round=2))
    warm(sim)
    out = sim.run(120.0, failing(Reason.TIMEOUT, sim.now))
    assert [n.healthy for n in network(out)] == [False]
    assert not opened(out) and not changes(out)
    assert not sim.engine.guard._pending  # held rounds were dropped with the loss
    out = sim.run(120.0)
    assert [n.healthy for n in network(out)] == [True]
    assert not opened(out) and not changes(out)


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
    for k in ("k50", "k5", "k20"):
        assert guard.round(k, bad, 10.0).record == []
    ok = [Sample(10.5, False, 0.01, "ok")]
    verdict = guard.round("k99", ok, 10.5)
    assert verdict.record == [("k5", bad), ("k20", bad), ("k50", bad), ("k99", ok)]
    assert not guard._pending


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
    # a's own earlier answer does not count either (it is not *another* check).
    assert not guard._answered_since("a", guard.tracks["a"])


def _random_round(rng: random.Random, t: float) -> list[Sample]:
    kind = rng.random()
    n = rng.randint(1, 3)
    if kind < 0.5:
        return [Sample(t, False, 0.01, "ok") for _ in range(n)]
    if kind < 0.6:
        return [Sample(t, True, 0.01, "http_5xx") for _ in range(n)]
    return [Sample(t, True, 2.0, rng.choice(["connect", "dns", "timeout"])) for _ in range(n)]


def run_guards(seed: int) -> tuple[int, int]:
    """The same random rounds, ticks, reloads and restarts into both guards; (health
    changes, held rounds released) seen."""
    rng = random.Random(seed)
    comps = rng.randint(1, 6)
    checks = {f"k{i}": f"c{rng.randrange(comps)}" for i in range(rng.randint(2, 40))}
    fast, ref = NetworkGuard(checks, 12.0), ScanningGuard(checks, 12.0)
    t = 0.0
    outage_until = -1.0
    healthy_changes = released = 0
    for step in range(3000):  # bounded
        t += rng.uniform(0.0, 0.3)
        if step % 7 == 0:
            out = fast.tick(t)
            assert out == ref.tick(t)
            released += len(out)
            continue
        if rng.random() < 0.003:
            outage_until = t + rng.uniform(5, 40)
        if step % 500 == 499:  # a reload: one check removed, one added
            checks = dict(checks)
            checks.pop(rng.choice(list(checks)))
            checks[f"n{step}"] = f"c{rng.randrange(comps)}"
            fast.reconfigure(checks, 12.0)
            ref.reconfigure(checks, 12.0)
        cid = rng.choice(list(checks))
        at = t - rng.uniform(0, 3) if rng.random() < 0.2 else t  # some out of order
        samples = _random_round(rng, at)
        if t < outage_until:
            samples = [Sample(at, True, 2.0, "connect")]
        a, b = fast.round(cid, samples, at), ref.round(cid, samples, at)
        assert a == b, f"seed {seed} step {step}"
        healthy_changes += a.health is not None
        released += sum(1 for c, _ in a.record if c != cid)
        if step % 250 == 0:  # a restart from persisted state
            restored = NetworkGuard(checks, 12.0)
            restored.load_state(fast.to_state())
            fast = restored
    assert fast.to_state() == NetworkGuard.to_state(ref)  # type: ignore[arg-type]
    return healthy_changes, released


@pytest.mark.parametrize("seed", range(8))
def test_guard_matches_the_scanning_guard_on_random_runs(seed: int) -> None:
    run_guards(seed)


def test_the_random_guard_runs_lose_the_network_and_release_held_rounds() -> None:
    seen = [run_guards(seed) for seed in range(8)]
    assert sum(h for h, _ in seen) > 0
    assert sum(r for _, r in seen) > 0
