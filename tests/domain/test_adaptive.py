"""Adaptive sampling's domain side: `undecided`, and exits controlled over time."""

from __future__ import annotations

import random

from prober.config.model import StatusPolicy
from prober.domain.levels import WANT_END, WANT_EVIDENCE
from prober.domain.state import MAJOR, OP, PARTIAL, ComponentHealth, Sample

T = 1_000_000.0
POLICY = StatusPolicy()


def probe(h: ComponentHealth, t: float, failed: bool) -> None:
    h.record_round([Sample(t, failed, 0.05, "http_5xx" if failed else "ok")])
    h.evaluate(t)


def test_a_quiet_component_is_decided() -> None:
    h = ComponentHealth(POLICY)
    for i in range(20):
        probe(h, T + 15 * i, False)
    assert not h.undecided()


def test_one_failure_makes_it_undecided_until_the_evidence_drifts_back_to_zero() -> None:
    h = ComponentHealth(POLICY)
    probe(h, T, True)
    assert h.undecided()
    t = T
    for _ in range(200):  # bounded: the near arm of degraded returns to 0 in ~19 successes
        t += 1.0
        probe(h, t, False)
        if not h.undecided():
            break
    assert not h.undecided()
    assert h.status is OP


def test_a_reached_level_is_decided_and_an_open_episode_end_is_undecided() -> None:
    h = ComponentHealth(POLICY)
    t = T
    for _ in range(30):  # a total outage: the fast path, then every arm at its cap
        probe(h, t, True)
        t += 1.0
    assert h.status is MAJOR
    assert not h.undecided()
    probe(h, t, False)  # the end test begins to count
    assert h.undecided() == WANT_END  # the runner samples it denser (END_EVIDENCE_GAP)


def test_a_noise_failure_wants_evidence_not_the_end() -> None:
    h = ComponentHealth(POLICY)
    probe(h, T, True)
    assert h.undecided() == WANT_EVIDENCE
    assert h.status is OP


def _steady(rate: float, seed: int, seconds: int) -> list[object]:
    rng = random.Random(seed)
    h = ComponentHealth(POLICY)  # bound set for one probe per 15 s, probed every second
    shown = []
    for i in range(seconds):
        probe(h, T + i, rng.random() < rate)
        shown.append(h.status)
    return shown


def test_a_steady_60_percent_probed_every_second_stays_major_once_reached() -> None:
    for seed in (1, 2, 3):
        shown = _steady(0.6, seed, 3 * 3600)
        first = shown.index(MAJOR)
        assert first < 600
        assert all(s is MAJOR for s in shown[first:]), seed


def test_a_steady_30_percent_probed_every_second_stays_partial_once_reached() -> None:
    # the trailing windows' 99% bound (a test per evaluation, not over time) dropped it
    # to degraded when probed densely; while an episode is open only the end test's
    # CUSUM leaves a level now
    for seed in (1, 2, 3):
        shown = _steady(0.3, seed, 3 * 3600)
        first = shown.index(PARTIAL)
        assert all(s is PARTIAL for s in shown[first:]), seed
