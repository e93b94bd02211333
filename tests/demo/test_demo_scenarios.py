"""The demo scenarios as pure functions of elapsed time: tables, not a server."""

from __future__ import annotations

from itertools import pairwise

import pytest

from prober.config.model import StatusPolicy
from prober.demo.scenarios import (
    COMPONENT_IDS,
    SCENARIOS,
    SEED_DEGRADED,
    SEED_PARTIAL,
    SLOW_LATENCY,
    get_scenario,
)

ALL = frozenset(COMPONENT_IDS)
ONSET = frozenset({"platform-api", "user-auth", "session-management"})
POLICY = StatusPolicy()  # prober's default thresholds


def test_component_ids_are_the_twelve_fixed_ones() -> None:
    assert len(COMPONENT_IDS) == 12
    assert len(ALL) == 12
    assert {"platform-api", "dashboard", "user-auth", "sms-delivery", "scim"} <= ALL


@pytest.mark.parametrize(
    ("elapsed", "phase", "failing", "partial"),
    [
        (0, "onset", ONSET, frozenset()),
        (19.9, "onset", ONSET, frozenset()),
        (20, "spreading", ALL, frozenset()),
        (44, "spreading", ALL, frozenset()),
        (45, "dashboard_outage", ALL, frozenset({"dashboard"})),
        (74, "dashboard_outage", ALL, frozenset({"dashboard"})),
        (75, "auth_outage", ALL, frozenset({"dashboard", "user-auth"})),
        (109, "auth_outage", ALL, frozenset({"dashboard", "user-auth"})),
        (110, "fix", ALL, frozenset({"dashboard", "user-auth"})),
        (125, "fix", ALL, frozenset()),
        (130, "monitoring", frozenset(), frozenset()),
        (169, "monitoring", frozenset(), frozenset()),
        (170, "resolved", frozenset(), frozenset()),
        (200, "quiet", frozenset(), frozenset()),
        (239.9, "quiet", frozenset(), frozenset()),
        # the cycle repeats
        (240, "onset", ONSET, frozenset()),
        (240 + 80, "auth_outage", ALL, frozenset({"dashboard", "user-auth"})),
        (3 * 240 + 50, "dashboard_outage", ALL, frozenset({"dashboard"})),
    ],
)
def test_seed_timeline(
    elapsed: float, phase: str, failing: frozenset[str], partial: frozenset[str]
) -> None:
    seed = get_scenario("seed")
    assert seed.phase_at(elapsed).name == phase
    assert seed.failing(elapsed) == failing
    assert seed.failing(elapsed, at_least=POLICY.partial) == partial


def test_seed_phases_in_story_order() -> None:
    seed = get_scenario("seed")
    names = [seed.phase_at(t).name for t in range(0, 240)]
    order = list(dict.fromkeys(names))
    assert order == [
        "onset",
        "spreading",
        "dashboard_outage",
        "auth_outage",
        "fix",
        "monitoring",
        "resolved",
        "quiet",
    ]
    assert seed.cycle == 240


def test_seed_shares_map_to_prober_default_statuses() -> None:
    # degraded: above the degraded threshold, below partial; partial: below major.
    assert POLICY.degraded < SEED_DEGRADED < POLICY.partial
    assert POLICY.partial < SEED_PARTIAL < POLICY.major
    seed = get_scenario("seed")
    assert seed.behaviour(50, "billing").failure == SEED_DEGRADED
    assert seed.behaviour(50, "dashboard").failure == SEED_PARTIAL
    assert seed.behaviour(100, "user-auth").failure == SEED_PARTIAL
    # the subset at onset is elevated but only degraded
    assert max(seed.behaviour(5, c).failure for c in COMPONENT_IDS) == SEED_DEGRADED


def test_seed_never_reaches_major_outage() -> None:
    seed = get_scenario("seed")
    worst = max(seed.behaviour(t / 2, c).failure for t in range(480) for c in COMPONENT_IDS)
    assert worst == SEED_PARTIAL < POLICY.major


def test_seed_fix_declines_error_rates_to_zero() -> None:
    seed = get_scenario("seed")
    rates = [seed.behaviour(110 + t, "dashboard").failure for t in range(21)]
    assert rates[0] == pytest.approx(SEED_PARTIAL)
    assert rates[10] == pytest.approx(SEED_PARTIAL / 2)
    assert all(a > b for a, b in pairwise(rates))
    assert rates[-1] == 0.0  # 130 s: monitoring, nothing fails
    assert seed.behaviour(120, "billing").failure == pytest.approx(SEED_DEGRADED / 2)


def test_seed_quiet_spell_fits_demo_recovery_and_quiet_period() -> None:
    # demo config: window <= 60 s, recovery_time ~10 s, quiet_period ~30 s.
    seed = get_scenario("seed")
    quiet = [t for t in range(240) if not seed.failing(t)]
    assert quiet == list(range(130, 240))
    assert len(quiet) >= 60 + 10 + 30


def test_seed_every_component_is_affected_at_some_point() -> None:
    seed = get_scenario("seed")
    seen = frozenset().union(*(seed.failing(t) for t in range(240)))
    assert seen == ALL


@pytest.mark.parametrize(
    ("scale", "elapsed", "phase"),
    [
        (0.5, 0, "onset"),
        (0.5, 10, "spreading"),
        (0.5, 50, "auth_outage"),
        (0.5, 119, "quiet"),
        (0.5, 120, "onset"),
        (2.0, 39, "onset"),
        (2.0, 40, "spreading"),
        (2.0, 479, "quiet"),
        (2.0, 480, "onset"),
    ],
)
def test_time_scale_stretches_every_phase(scale: float, elapsed: float, phase: str) -> None:
    seed = get_scenario("seed", time_scale=scale)
    assert seed.cycle == 240 * scale
    assert seed.phase_at(elapsed).name == phase


def test_time_scale_keeps_the_decline_shape() -> None:
    fast = get_scenario("seed", time_scale=0.5)
    # fix runs 55-65 s at scale 0.5; halfway through the rate is halved
    assert fast.behaviour(60, "dashboard").failure == pytest.approx(SEED_PARTIAL / 2)


@pytest.mark.parametrize(
    ("name", "elapsed", "component", "failure", "latency"),
    [
        ("healthy", 0, "platform-api", 0.0, 0.0),
        ("healthy", 1000, "dashboard", 0.0, 0.0),
        ("outage", 0, "platform-api", 1.0, 0.0),
        ("outage", 500, "sms-delivery", 1.0, 0.0),
        ("partial", 0, "platform-api", 0.3, 0.0),
        ("partial", 77, "dashboard", 0.0, 0.0),
        ("flapping", 0, "platform-api", 0.3, 0.0),
        ("flapping", 19.9, "platform-api", 0.3, 0.0),
        ("flapping", 20, "platform-api", 0.0, 0.0),
        ("flapping", 39.9, "platform-api", 0.0, 0.0),
        ("flapping", 40, "platform-api", 0.3, 0.0),
        ("flapping", 65, "platform-api", 0.0, 0.0),
        ("flapping", 5, "user-auth", 0.0, 0.0),
        ("slow", 0, "platform-api", 0.0, SLOW_LATENCY),
        ("slow", 300, "platform-api", 0.0, SLOW_LATENCY),
        ("slow", 0, "billing", 0.0, 0.0),
    ],
)
def test_other_scenarios(
    name: str, elapsed: float, component: str, failure: float, latency: float
) -> None:
    b = get_scenario(name).behaviour(elapsed, component)
    assert (b.failure, b.latency) == (failure, latency)


def test_outage_fails_everything() -> None:
    assert get_scenario("outage").failing(3, at_least=1.0) == ALL
    assert get_scenario("healthy").failing(3) == frozenset()


def test_scenario_names() -> None:
    assert set(SCENARIOS) == {"seed", "healthy", "outage", "partial", "flapping", "slow"}


def test_unknown_scenario_and_bad_scale() -> None:
    with pytest.raises(KeyError, match="unknown scenario 'nope'"):
        get_scenario("nope")
    with pytest.raises(ValueError, match="time_scale"):
        get_scenario("seed", time_scale=0)


def test_negative_elapsed_is_start() -> None:
    assert get_scenario("seed").phase_at(-5).name == "onset"
