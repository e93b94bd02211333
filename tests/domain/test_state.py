from __future__ import annotations

import math

import pytest

from prober.config.model import StatusPolicy
from prober.domain.state import (
    DEGRADED,
    MAJOR,
    OP,
    PARTIAL,
    ComponentHealth,
    Sample,
    binom_sf,
    supported_level,
)
from prober.domain.window import Counts

T = 1_000_000.0
POLICY = StatusPolicy()


def brute_sf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (5, 20, 0.0375), (3, 20, 0.025), (11, 20, 0.1875),
        (39, 600, 0.0375), (15, 20, 0.375), (1, 1, 0.5),
    ],
)
def test_binom_sf_matches_brute_force(k: int, n: int, p: float) -> None:
    assert binom_sf(k, n, p) == pytest.approx(brute_sf(k, n, p), rel=1e-6)


@pytest.mark.parametrize(
    ("total", "failures", "level"),
    [
        (19, 19, OP),  # below min_samples: no ratio verdict
        (20, 1, OP),  # one failure in 20: 5%, not significant
        (20, 4, OP),
        (20, 5, DEGRADED),  # 30% of 500s at round two reach this easily
        (20, 10, DEGRADED),
        (20, 11, PARTIAL),
        (20, 14, PARTIAL),
        (20, 15, MAJOR),
        (300, 1, OP),  # one failed probe among hundreds
        (600, 3, OP),  # 0.5% noise
        (600, 38, OP),  # 6.3%: over the threshold but not yet significant
        (600, 39, DEGRADED),
        (600, 150, PARTIAL),
        (600, 300, MAJOR),
    ],
)
def test_supported_level(total: int, failures: int, level: object) -> None:
    assert supported_level(Counts(total, failures, None), POLICY, 1.0) is level


def rounds(health: ComponentHealth, start: float, count: int, failures_per_round: int,
           per_round: int = 10, interval: float = 5.0) -> float:
    t = start
    for _ in range(count):
        health.record_round(
            [Sample(t, i < failures_per_round, 0.05, "http_5xx") for i in range(per_round)]
        )
        health.evaluate(t)
        t += interval
    return t


def test_one_failure_among_hundreds_never_changes_status() -> None:
    h = ComponentHealth(POLICY)
    t = rounds(h, T, 60, 0)
    h.record_round([Sample(t, True, 0.05, "http_5xx")] + [Sample(t, False, 0.05)] * 9)
    assert h.evaluate(t) is None
    rounds(h, t + 5, 60, 0)
    assert h.status is OP


def test_fast_path_total_outage_with_one_request_per_round() -> None:
    h = ComponentHealth(POLICY)
    t = rounds(h, T, 40, 0, per_round=1, interval=15.0)
    first = t
    h.record_round([Sample(t, True, 5.0, "timeout")])
    h.evaluate(t)
    assert h.status is OP
    h.record_round([Sample(t + 15, True, 5.0, "timeout")])
    assert h.evaluate(t + 15) == (OP, MAJOR)
    assert h.episode_start == first


def test_fast_path_needs_every_check_of_the_component_failing() -> None:
    # 20 checks, 1 request per round; checks a and b are broken for good, the rest healthy.
    h = ComponentHealth(POLICY)
    t = T
    for _ in range(6):
        for c in ("a", "b", *(f"ok{i}" for i in range(18))):
            h.record_round([Sample(t, c in ("a", "b"), 0.05, "http_5xx")], c)
            h.evaluate(t)
            t += 0.5
    assert h.failing_rounds == 0
    assert h.status is not MAJOR  # two broken checks among twenty are no total outage
    # Then every check fails twice in a row: now it is a total outage.
    first = t
    for _ in range(2):
        for c in ("a", "b", *(f"ok{i}" for i in range(18))):
            h.record_round([Sample(t, True, 0.05, "http_5xx")], c)
            h.evaluate(t)
            t += 0.5
    assert h.status is MAJOR
    assert h.episode_start is not None and h.episode_start <= first + 10


def test_streaks_of_removed_checks_are_forgotten() -> None:
    h = ComponentHealth(POLICY)
    h.record_round([Sample(T, False, 0.05)], "gone")
    h.record_round([Sample(T, True, 0.05, "timeout")], "kept")
    h.record_round([Sample(T + 15, True, 0.05, "timeout")], "kept")
    assert h.failing_rounds == 0  # "gone" answered
    h.forget_checks({"kept"})
    assert h.failing_rounds == 2
    back = ComponentHealth.from_state(POLICY, h.to_state())
    assert back.streaks == h.streaks and back.failing_rounds == 2


def test_recovery_waits_for_exit_threshold_and_recovery_time() -> None:
    h = ComponentHealth(StatusPolicy(recovery_time=60.0))
    t = rounds(h, T, 4, 10)  # total outage for 20 s
    assert h.status is MAJOR
    changes = []
    for i in range(200):
        now = t + i * 5
        h.record_round([Sample(now, False, 0.05)] * 10)
        change = h.evaluate(now)
        if change:
            changes.append((now - t, change))
    # Never straight back: held while the window still supports the level.
    assert changes, "the component must recover eventually"
    assert all(after >= 60 for after, _ in changes)
    assert changes[-1][1][1] is OP
    assert h.episode_start is None


def test_latency_above_bound_degrades() -> None:
    policy = StatusPolicy(latency_threshold=0.5)
    h = ComponentHealth(policy)
    t = T
    for _ in range(3):
        h.record_round([Sample(t, False, 0.9)] * 10)
        h.evaluate(t)
        t += 5
    assert h.status is DEGRADED
    assert h.assess(t).latency is not None


def test_state_round_trip_keeps_hysteresis() -> None:
    h = ComponentHealth(POLICY)
    rounds(h, T, 3, 10)
    back = ComponentHealth.from_state(POLICY, h.to_state())
    assert back.status is MAJOR
    assert back.episode_start == h.episode_start
    assert back.failing_rounds == h.failing_rounds
    assert back.window.counts(T + 15).failures == 30
