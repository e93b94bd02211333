from __future__ import annotations

import math
import random

import pytest

from prober.config.model import StatusPolicy
from prober.domain.detector import EXIT_ALPHA, arms, binom_cdf, decision_bound
from prober.domain.state import (
    DEGRADED,
    MAJOR,
    OP,
    PARTIAL,
    ComponentHealth,
    Sample,
    exits,
)
from prober.domain.window import Window

T = 1_000_000.0
POLICY = StatusPolicy()
EXAMPLE_RATE = 2.0  # samples per second: 10 requests every 5 s


def brute_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(0, k + 1))


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [(0, 20, 0.05), (3, 200, 0.05), (11, 100, 0.25), (39, 600, 0.1), (0, 1, 0.5)],
)
def test_binom_cdf_matches_brute_force(k: int, n: int, p: float) -> None:
    assert binom_cdf(k, n, p) == pytest.approx(brute_cdf(k, n, p), rel=1e-6)


def test_decision_bound_grows_with_the_probe_rate() -> None:
    assert decision_bound(EXAMPLE_RATE) == pytest.approx(math.log(2.0 * 30 * 86400 * 2), 1e-9)
    assert decision_bound(1 / 15) < decision_bound(EXAMPLE_RATE)
    assert decision_bound(1e-9) == 8.0  # never below the floor


@pytest.mark.parametrize("threshold", [0.05, 0.25, 0.5, 0.9])
def test_the_near_arm_drifts_down_below_and_up_above_the_threshold(threshold: float) -> None:
    near, far = arms(threshold)
    for rate, sign in ((0.75 * threshold, -1), (min(0.99, 1.35 * threshold), 1)):
        drift = rate * near.fail + (1 - rate) * near.success
        assert drift * sign > 0, (threshold, rate)
    assert far.fail >= near.fail  # the far arm moves faster on failures (when room)


@pytest.mark.parametrize(
    ("total", "failures", "left"),
    [
        (20, 0, {MAJOR, PARTIAL, DEGRADED}),  # a whole clean window of min_samples probes
        (40, 1, {MAJOR, PARTIAL}),  # below 25% with 99% confidence, not below 5%
        (90, 0, {MAJOR, PARTIAL, DEGRADED}),
        (600, 30, {MAJOR, PARTIAL}),  # 5%: not below 5%
        (600, 180, {MAJOR}),
        (600, 300, set()),
    ],
)
def test_exits_are_upper_confidence_bounds_below_the_threshold(
    total: int, failures: int, left: set[object]
) -> None:
    w = Window(300.0)
    for i in range(total):
        w.add(T - 100 + i * 0.1, i * failures // total != (i + 1) * failures // total, 0.05)
    assert set(exits(w, POLICY, T)) == left
    assert EXIT_ALPHA == 0.01


def rounds(
    health: ComponentHealth,
    start: float,
    count: int,
    failures_per_round: int,
    per_round: int = 10,
    interval: float = 5.0,
) -> float:
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
    """Issue 11: two failed single probes are noise at 1 request per round (at 2% they
    come twice a day); the fast path waits until the failures are evidence on their own,
    against the noise and against a steady 40% (each about once per 30 days): fourteen
    probes (the runner's confirmation rounds send them within seconds)."""
    h = ComponentHealth(POLICY)
    t = rounds(h, T, 40, 0, per_round=1, interval=15.0)
    first = t
    needed = max(
        math.ceil(h.h / -math.log(0.8 * POLICY.degraded)),
        math.ceil(h.h / -math.log(0.8 * POLICY.major)),
    )
    assert needed == 14
    for i in range(needed):
        h.record_round([Sample(t + 15 * i, True, 5.0, "timeout")])
        change = h.evaluate(t + 15 * i)
        assert (change is not None) == (i == needed - 1)
    assert h.status is MAJOR
    assert h.episode_start == first


def test_a_total_outage_opens_major_at_ten_requests_per_round() -> None:
    h = ComponentHealth(POLICY, rate=EXAMPLE_RATE)
    t = rounds(h, T, 40, 0)
    assert rounds(h, t, 1, 10) and h.status is OP  # the streak waits for the fast path
    rounds(h, t + 5, 1, 10)
    assert h.status is MAJOR and h.episode_start == t


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


def test_one_slow_round_never_degrades_but_sustained_slowness_does() -> None:
    policy = StatusPolicy(latency_threshold=0.5)
    h = ComponentHealth(policy, rate=EXAMPLE_RATE)
    t = T
    for _ in range(60):
        h.record_round([Sample(t, False, 0.9 if t == T + 100 else 0.05)] * 10)
        assert h.evaluate(t) is None
        t += 5
    slow_rounds = 0
    while h.status is OP and slow_rounds < 40:
        h.record_round([Sample(t, False, 0.9)] * 10)
        h.evaluate(t)
        slow_rounds += 1
        t += 5
    assert h.status is DEGRADED
    assert 5 <= slow_rounds <= 20  # about ten slow rounds in a row
    assert h.assess(t).latency is not None


def test_state_round_trip_keeps_hysteresis() -> None:
    h = ComponentHealth(POLICY)
    rounds(h, T, 3, 10)
    back = ComponentHealth.from_state(POLICY, h.to_state())
    assert back.status is MAJOR
    assert back.episode_start == h.episode_start
    assert back.failing_rounds == h.failing_rounds
    assert back.window.counts(T + 15).failures == 30


def test_sparse_probing_still_recovers_after_a_clean_window() -> None:
    """One probe every 15 s: a 5-minute window never holds the ~90 clean probes that 99%
    confidence below 5% needs; a whole clean window of min_samples probes leaves anyway."""
    h = ComponentHealth(POLICY)
    t = rounds(h, T, 40, 0, per_round=1, interval=15.0)
    t = rounds(h, t, 14, 1, per_round=1, interval=15.0)  # no confirmation rounds here
    assert h.status is MAJOR
    t = rounds(h, t, 30, 0, per_round=1, interval=15.0)
    assert h.status is OP


def test_a_window_too_short_for_min_samples_still_lets_an_outage_recover() -> None:
    """One probe every 30 s fills a 5-minute window with 10 probes, fewer than the default
    min_samples of 20 (the chart's self-check is such a component). The outage must still
    end: the exit evidence is capped at what the window can hold, else the component would
    stay in outage and its incident open for ever."""
    from prober.domain.status import ComponentStatus
    from prober.probes.result import Reason
    from tests.domain.sim import T0, Sim, failing, make_config, opened, resolved

    sim = Sim(make_config(interval=30.0, requests_per_round=1))
    behaviour = failing(Reason.CONNECT, T0, T0 + 450)  # 15 rounds, no confirmations here
    sim.run(450, behaviour)
    assert sim.engine.status_of("api") is ComponentStatus.MAJOR_OUTAGE
    sim.run(3 * 3600, behaviour)
    assert sim.engine.status_of("api") is ComponentStatus.OPERATIONAL
    assert len(opened(sim.effects)) == 1 and len(resolved(sim.effects)) == 1
    assert not sim.engine.open_incidents()


def test_a_recovery_time_longer_than_the_window_still_ends_the_outage() -> None:
    """The trailing windows reach back one window at most; the calm must be counted from
    its first moment, not restarted every evaluation, or a recovery_time of 2 minutes
    over a 1-minute window would never be reached."""
    from prober.config.model import StatusPolicy
    from prober.domain.status import ComponentStatus
    from prober.probes.result import Reason
    from tests.domain.sim import T0, Sim, failing, make_config

    policy = StatusPolicy(window=60.0, recovery_time=120.0)
    sim = Sim(make_config(policy=policy))
    behaviour = failing(Reason.HTTP_5XX, T0, T0 + 120)
    sim.run(120, behaviour)
    assert sim.engine.status_of("api") is ComponentStatus.MAJOR_OUTAGE
    sim.run(600, behaviour)
    assert sim.engine.status_of("api") is ComponentStatus.OPERATIONAL


def one(health: ComponentHealth, at: float, failed: bool) -> None:
    health.record_round([Sample(at, failed, 0.05, "http_5xx" if failed else "ok")])
    health.evaluate(at)


def total_outage_at_defaults() -> tuple[ComponentHealth, float]:
    """A single-probe check every 15 s, healthy, then failing: a regular round and
    thirteen confirmation rounds 1 s apart (as the runner sends them), then regular rounds
    for five minutes. Returns the health and the time of the last failing probe."""
    h = ComponentHealth(POLICY)
    t = rounds(h, T, 40, 0, per_round=1, interval=15.0)
    for i in range(14):
        one(h, t + 1.0 * i, True)
    assert h.status is MAJOR
    for i in range(1, 21):
        one(h, t + 15 * i, True)
    return h, t + 15 * 20


def test_the_end_of_a_total_outage_is_confirmed_within_seconds() -> None:
    """Issue 11: operational again within two intervals plus recovery_time; the recovery
    instant is the answer of the first success after the last failure (the first evidence
    of it: its start plus its 50 ms)."""
    h, last = total_outage_at_defaults()
    fixed = last + 15.0
    for i in range(14):  # the regular round and its confirmation rounds
        one(h, fixed + 1.0 * i, False)
    assert h.end.over(h.h) == fixed + 0.05
    t = fixed + 15.0
    while h.status is not OP and t < fixed + 300:  # bounded
        one(h, t, False)
        h.evaluate(t + 1.0)
        t += 15.0
    assert h.status is OP
    assert h.changed_at is not None and h.changed_at - fixed <= POLICY.recovery_time + 15.0
    assert h.recovered_at == fixed + 0.05


def test_without_the_end_test_the_same_recovery_takes_a_whole_window() -> None:
    """The end test is what ends it early: three successes alone do not pass it."""
    h, last = total_outage_at_defaults()
    for i in range(3):
        one(h, last + 15.0 + 1.5 * i, False)
    assert h.end.over(h.h) is None


def test_a_noise_failure_after_recovery_costs_one_success_not_the_whole_evidence() -> None:
    h, last = total_outage_at_defaults()
    fixed = last + 15.0
    for i in range(14):
        one(h, fixed + 1.0 * i, False)
    s = h.end.s
    one(h, fixed + 15.0, True)  # a 500 of the background
    assert 0.0 < h.end.s < s
    assert h.end.since == fixed + 0.05


def test_a_steady_30_percent_never_passes_the_end_test() -> None:
    """At the episode's own rate the end test drifts down: no false end in a day."""
    rng = random.Random(5)
    h = ComponentHealth(POLICY)
    t = rounds(h, T, 40, 0, per_round=1, interval=15.0)
    seen = False
    for i in range(5760):  # a day of single probes every 15 s
        one(h, t + 15 * i, rng.random() < 0.3)
        if seen:
            assert h.status is not OP, f"a false end after {i} probes"
            assert h.end.over(h.h) is None
        seen = seen or h.status is not OP
    assert seen


def test_a_steady_forty_percent_streak_is_not_yet_a_total_outage() -> None:
    """Six failures in a row come every hour or so at 40%: not evidence of a total
    outage; fourteen are (about once per 30 days at 40%)."""
    h = ComponentHealth(POLICY)
    t = rounds(h, T, 40, 0, per_round=1, interval=15.0)
    for i in range(13):
        one(h, t + 1.0 * i, True)
    assert h.status is not MAJOR
    one(h, t + 13.0, True)
    assert h.status is MAJOR


def test_a_request_answered_when_a_hang_ends_marks_the_recovery_at_its_answer() -> None:
    """Issue 11, duration within one interval: a probe sent into a hanging target and
    answered once the target is released (4 s later) shows the release, not its sending."""
    h, last = total_outage_at_defaults()
    sent = last + 10.0
    h.record_round([Sample(sent, False, 4.0, "ok")])
    h.evaluate(sent + 4.0)
    for i in range(1, 14):
        one(h, sent + 4.0 + 1.0 * i, False)
    assert h.end.over(h.h) == sent + 4.0
