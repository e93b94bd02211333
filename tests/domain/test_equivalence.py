"""The optimized Engine behaves exactly like the original scanning one (reference.py).

Random runs (seeded, deterministic): components with several checks, phases of health,
5xx bursts, timeouts, connection failures on some checks, prober's own network loss,
maintenance windows that start and end between ticks, human updates; the same inputs go
to both engines and every call must return the same effects.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from prober.config.model import (
    Check,
    Component,
    Config,
    IncidentPolicy,
    Maintenance,
    Page,
    StatusPolicy,
)
from prober.domain.effects import ComponentStateChanged, Effect
from prober.domain.engine import Engine
from prober.domain.network import NetworkGuard
from prober.domain.status import ComponentStatus, IncidentStatus
from prober.probes.result import ProbeResult, Reason

from .reference import ScanningEngine
from .sim import T0

UNDER_MAINTENANCE = ComponentStatus.UNDER_MAINTENANCE
MODES = ("ok", "ok", "5xx", "timeout", "connect", "mixed", "network")


def random_config(rng: random.Random) -> Config:
    n = rng.randint(2, 6)
    policy = StatusPolicy(
        window=rng.choice([60.0, 120.0, 300.0]),
        min_samples=rng.choice([5, 10, 20]),
        recovery_time=rng.choice([10.0, 30.0]),
        latency_threshold=rng.choice([None, None, 0.5]),
    )
    groups = ["a", "b", None]
    comps = tuple(
        Component(id=f"c{j}", name=f"Comp {j}", policy=policy, group=rng.choice(groups))
        for j in range(n)
    )
    checks = []
    for j in range(n):
        for k in range(rng.randint(1, 3)):
            interval = rng.choice([2.0, 3.0, 5.0])
            checks.append(
                Check(
                    id=f"c{j}-k{k}",
                    component=f"c{j}",
                    url=f"http://127.0.0.1/{j}/{k}",
                    interval=interval,
                    timeout=min(2.0, interval),
                    requests_per_round=rng.randint(1, 4),
                )
            )
    maints = []
    for m in range(rng.randint(0, 2)):
        start = T0 + rng.uniform(0, 400)
        maints.append(
            Maintenance(
                id=f"m{m}",
                name=f"M{m}",
                components=(rng.choice(comps).id,),
                start=datetime.fromtimestamp(start, UTC),
                end=datetime.fromtimestamp(start + rng.uniform(20, 200), UTC),
            )
        )
    return Config(
        page=Page(name="Eq"),
        components=comps,
        checks=tuple(checks),
        maintenances=tuple(maints),
        incidents=IncidentPolicy(
            quiet_period=rng.choice([30.0, 90.0]),
            min_update_spacing=rng.choice([0.0, 10.0, 25.0]),
            per_group=rng.random() < 0.4,
        ),
    )


def reason_for(rng: random.Random, mode: str, check: str, hit: set[str]) -> Reason:
    if mode == "network":
        return rng.choice([Reason.CONNECT, Reason.TIMEOUT, Reason.DNS])
    if mode == "ok" or check not in hit:
        return Reason.OK if rng.random() > 0.01 else Reason.HTTP_5XX
    if mode == "5xx":
        return Reason.HTTP_5XX if rng.random() < 0.7 else Reason.OK
    if mode == "timeout":
        return Reason.TIMEOUT
    if mode == "connect":
        return Reason.CONNECT
    return rng.choice([Reason.OK, Reason.HTTP_5XX, Reason.TIMEOUT, Reason.CONNECT])


def run_pair(seed: int, seconds: float = 600.0) -> Counter[str]:
    rng = random.Random(seed)
    config = random_config(rng)
    fast, ref = Engine(config), ScanningEngine(config)
    checks = list(config.checks)
    due = {c.id: T0 + rng.uniform(0, c.interval) for c in checks}
    mode, hit, mode_until = "ok", set[str](), T0
    now, next_tick = T0, T0 + 1.0
    seen: Counter[str] = Counter()

    def same(a: list[Effect], b: list[Effect]) -> None:
        assert a == b, f"seed {seed} at {now - T0:.3f}s: {a} != {b}"
        seen["calls"] += 1
        for e in a:
            seen[type(e).__name__] += 1
            if isinstance(e, ComponentStateChanged) and e.new is UNDER_MAINTENANCE:
                seen["maintenance"] += 1

    while now < T0 + seconds:  # bounded: time advances every pass
        if now >= mode_until:
            mode = rng.choice(MODES)
            hit = {c.id for c in checks if rng.random() < 0.5}
            mode_until = now + rng.uniform(10, 90)
        cid = min(due, key=due.__getitem__)
        at = due[cid]
        while next_tick <= at:
            now = next_tick
            same(fast.tick(now), ref.tick(now))
            if rng.random() < 0.03 and fast.open_incidents():
                iid = rng.choice(fast.open_incidents()).id
                status = rng.choice([None, IncidentStatus.IDENTIFIED, IncidentStatus.RESOLVED])
                same(
                    fast.post_update(iid, now, status, "note"),
                    ref.post_update(iid, now, status, "note"),
                )
            next_tick += 1.0
        check = next(c for c in checks if c.id == cid)
        results = []
        for _ in range(check.requests_per_round):
            reason = reason_for(rng, mode, cid, hit)
            results.append(
                ProbeResult(
                    check_id=cid,
                    component=check.component,
                    at=at,
                    reason=reason,
                    duration=check.timeout if reason is Reason.TIMEOUT else rng.uniform(0.01, 0.9),
                    status_code=500
                    if reason is Reason.HTTP_5XX
                    else (200 if reason is Reason.OK else None),
                )
            )
        finish = at + max(r.duration for r in results)
        now = max(now, finish)
        same(fast.observe(results, now), ref.observe(results, now))
        due[cid] = at + check.interval
        assert fast.network_healthy == ref.network_healthy
    for comp in config.components:
        assert fast.status_of(comp.id) is ref.status_of(comp.id)
    assert fast.open_incidents() == ref.open_incidents()
    assert fast.component_views(now) == ref.component_views(now)
    fast_state, ref_state = fast.to_state(), ref.to_state()
    ref_state["network"] = NetworkGuard.to_state(ref.old_guard)  # type: ignore[arg-type]
    for state in (fast_state, ref_state):  # an idle healthy component's window is pruned
        for comp in state["components"].values():  # at its next round, not every second:
            comp["health"]["window"]["buckets"] = live(comp["health"]["window"], now)
    assert fast_state == ref_state
    return seen


def live(window: dict[str, Any], now: float) -> dict[str, Any]:
    """The buckets a query at `now` sees (what pruning would keep)."""
    oldest = math.floor((now - window["span"]) / window["width"]) + 1
    return {k: b for k, b in window["buckets"].items() if int(k) >= oldest}


SEEDS = range(10)


@pytest.fixture(scope="module")
def runs() -> dict[int, Counter[str]]:
    return {seed: run_pair(seed) for seed in SEEDS}


@pytest.mark.parametrize("seed", SEEDS)
def test_optimized_engine_matches_the_scanning_reference(
    seed: int, runs: dict[int, Counter[str]]
) -> None:
    assert runs[seed]["calls"] > 500


def test_the_random_runs_exercise_every_transition(runs: dict[int, Counter[str]]) -> None:
    """Not vacuous: across seeds, statuses change, incidents open, update and resolve,
    maintenance starts, and prober loses its own network."""
    total = sum(runs.values(), Counter[str]())
    for kind in (
        "ComponentStateChanged",
        "IncidentOpened",
        "IncidentUpdated",
        "IncidentResolved",
        "NetworkHealthChanged",
        "maintenance",
    ):
        assert total[kind] > 0, kind
