from __future__ import annotations

import json

import pytest

from prober.domain.engine import Engine
from prober.domain.status import ComponentStatus
from prober.probes.result import Reason

from .detection import time_to_open
from .sim import TWO_COMPONENTS, Sim, changes, failing, make_config, opened


@pytest.mark.parametrize(
    ("scenario", "interval", "per_round", "bound"),
    [
        # Issue 11: one probe per round needs fourteen failures to be evidence of a
        # total outage (state.py's fast path); the runner's confirmation rounds (the sim
        # sends them as the runner does) bring them within two intervals.
        ("total 500", 15.0, 1, 30.0),
        ("total 500", 1.0, 1, 3.0),  # (the sim steps 1 s at a time)
        ("total refused", 5.0, 10, 10.0),  # within two intervals
        ("total 500", 5.0, 10, 10.0),
        ("30% 500", 5.0, 10, 60.0),  # a sequential test: under a minute
        ("30% 500", 1.0, 10, 30.0),
    ],
)
def test_time_to_open(scenario: str, interval: float, per_round: int, bound: float) -> None:
    assert 0.0 <= time_to_open(scenario, interval, per_round, seed=3) <= bound


def test_reconfigure_keeps_unchanged_components_and_drops_removed() -> None:
    three = (*TWO_COMPONENTS, ("sms", "SMS delivery"))
    sim = Sim(make_config(three))
    sim.run(300.0)
    t = sim.now
    sim.run(30.0, failing(Reason.HTTP_5XX, t, checks=["api-check", "sms-check"]))
    assert sim.engine.status_of("api") is ComponentStatus.MAJOR_OUTAGE
    out = sim.engine.reconfigure(make_config(TWO_COMPONENTS), sim.now)
    assert not opened(out) and not changes(out)
    assert sim.engine.status_of("api") is ComponentStatus.MAJOR_OUTAGE
    assert [v.id for v in sim.engine.component_views(sim.now)] == ["api", "web"]
    assert "sms" not in sim.engine.to_state()["components"]
    json.dumps(sim.engine.to_state())
    Engine(make_config(TWO_COMPONENTS), sim.engine.to_state())


def test_component_views() -> None:
    sim = Sim(make_config(TWO_COMPONENTS))
    sim.run(60.0)
    [api, web] = sim.engine.component_views(sim.now)
    assert (api.position, web.position) == (1, 2)
    assert api.samples >= 100 and api.failure_ratio == 0.0
    assert api.latency_p95 is not None and 0.05 <= api.latency_p95 <= 0.056
    assert api.status is ComponentStatus.OPERATIONAL
