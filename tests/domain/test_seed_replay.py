"""A replay shaped like the seed (Clerk, 2026-05-26): one incident, twelve components."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

from prober.domain.incident import Incident
from prober.domain.status import ComponentStatus, Impact, IncidentStatus
from prober.probes.result import Reason

from .sim import Sim, make_config, opened, resolved

CS = ComponentStatus
NAMES = [
    "SCIM",
    "User and authentication",
    "Billing",
    "Account Portal",
    "Platform API",
    "Webhooks",
    "B2B SaaS",
    "Email delivery",
    "SMS delivery",
    "Session management",
    "Machine authentication",
    "Dashboard",
]
COMPONENTS = tuple((n.lower().replace(" ", "-"), n) for n in NAMES)


def at(hour: int, minute: int) -> float:
    return datetime(2026, 5, 26, hour, minute, tzinfo=UTC).timestamp()


def rate(check: str, t: float) -> float:
    """Failure rate of a check at time t: the seed's story."""
    if not at(21, 19) <= t < at(22, 0):
        return 0.0
    if check == "dashboard-check":
        return 0.35 if t >= at(21, 45) else 0.12
    if check == "user-and-authentication-check":
        return 0.35 if t >= at(21, 52) else 0.12
    return 0.12


def replay() -> tuple[Sim, Incident, float]:
    rng = random.Random(2026)
    sim = Sim(make_config(COMPONENTS, interval=5.0, requests_per_round=10), start=at(21, 10))
    first: list[float] = []

    def behave(check: str, t: float, i: int) -> Reason:
        if rng.random() < rate(check, t):
            first.append(t)
            return Reason.HTTP_5XX
        return Reason.OK

    out = sim.run(5400.0, behave, tick_every=5.0)  # 21:10 -> 22:40
    [o] = opened(out)
    [r] = resolved(out)
    assert o.incident.id == r.incident.id
    return sim, r.incident, min(first)


def test_seed_shaped_replay_writes_the_timeline() -> None:
    sim, inc, first_failure = replay()
    # 21:19, not when a threshold was crossed: the first failing probe of the window that
    # showed the problem (at 12% failures that window may begin a round or two later)
    assert first_failure <= inc.started_at <= first_failure + 30.0
    assert inc.created_at - inc.started_at <= 120.0
    assert inc.impact is Impact.MAJOR  # worst status reached: partial outage
    assert inc.name == "Elevated 500 rates on " + inc.updates[0].affected_components[0].name + (
        " and 11 more"
    )
    statuses = [u.status for u in inc.updates]
    assert statuses[0] is IncidentStatus.INVESTIGATING
    assert statuses[-2:] == [IncidentStatus.MONITORING, IncidentStatus.RESOLVED]
    assert set(statuses[:-2]) == {IncidentStatus.INVESTIGATING}
    # every update lists the affected components with old and new status
    last_investigating = [u for u in inc.updates if u.created_at < at(22, 0)][-1]
    listed = {a.name: a.new_status for a in last_investigating.affected_components}
    assert set(listed) == set(NAMES)
    assert listed["Dashboard"] is CS.PARTIAL_OUTAGE
    assert listed["User and authentication"] is CS.PARTIAL_OUTAGE
    assert {listed[n] for n in NAMES if n not in ("Dashboard", "User and authentication")} == {
        CS.DEGRADED_PERFORMANCE
    }
    monitoring = inc.updates[-2]
    assert all(a.new_status is CS.OPERATIONAL for a in monitoring.affected_components)
    assert {a.name for a in monitoring.affected_components} == set(NAMES)
    assert at(22, 0) < monitoring.created_at < at(22, 15)
    assert inc.resolved_at is not None and inc.monitoring_at is not None
    assert inc.resolved_at - inc.monitoring_at >= 600.0
    times = [u.created_at for u in inc.updates]
    assert all(b - a >= 60.0 for a, b in itertools.pairwise(times))
    # Coalesced, not one per component change (issue 11: components at 12% reach a level
    # one by one over a few minutes under the sequential test, hence a few more updates).
    assert len(inc.updates) <= 15
    assert sim.engine.open_incidents() == []


def timeline() -> str:
    """The replayed timeline as text (python -m tests.domain.test_seed_replay)."""
    _, inc, _ = replay()
    lines = [inc.name, f"impact {inc.impact.value}"]
    for u in inc.updates:
        when = datetime.fromtimestamp(u.created_at, UTC).strftime("%H:%M:%S")
        comps = ", ".join(
            f"{a.name} ({a.old_status.label} -> {a.new_status.label})"
            for a in u.affected_components
        )
        lines.append(f"{when} {u.status.value}: {u.body}\n    {comps}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(timeline())
