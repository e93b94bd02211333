from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from prober.config.model import Maintenance, WeeklyRecurrence
from prober.domain import maintenance
from prober.domain.engine import Engine
from prober.domain.status import ComponentStatus, IncidentStatus
from prober.probes.result import Reason

from .sim import TWO_COMPONENTS, Sim, changes, failing, make_config, opened, resolved


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


ONE_OFF = Maintenance(
    id="db",
    name="Database upgrade",
    components=("api",),
    start=datetime(2026, 5, 27, 2, 0, tzinfo=UTC),
    end=datetime(2026, 5, 27, 3, 0, tzinfo=UTC),
)
# Sundays 02:00-04:00 Berlin time
WEEKLY = Maintenance(
    id="patch",
    name="Weekly patching",
    components=("api", "web"),
    weekly=WeeklyRecurrence(days=(6,), start=time(2, 0), duration=7200.0, timezone="Europe/Berlin"),
)


@pytest.mark.parametrize(
    ("m", "now", "active"),
    [
        (ONE_OFF, ts(2026, 5, 27, 1, 59, 59), False),
        (ONE_OFF, ts(2026, 5, 27, 2, 0), True),
        (ONE_OFF, ts(2026, 5, 27, 2, 59, 59), True),
        (ONE_OFF, ts(2026, 5, 27, 3, 0), False),
        # 2026-05-31 is a Sunday; Berlin is UTC+2 in summer: 00:00-02:00 UTC
        (WEEKLY, ts(2026, 5, 31, 0, 0), True),
        (WEEKLY, ts(2026, 5, 30, 23, 59), False),
        (WEEKLY, ts(2026, 5, 31, 1, 59), True),
        (WEEKLY, ts(2026, 5, 31, 2, 0), False),
        (WEEKLY, ts(2026, 6, 1, 0, 30), False),  # Monday
        # winter: UTC+1, so 01:00-03:00 UTC
        (WEEKLY, ts(2026, 1, 4, 0, 30), False),
        (WEEKLY, ts(2026, 1, 4, 1, 30), True),
    ],
)
def test_active(m: Maintenance, now: float, active: bool) -> None:
    assert bool(maintenance.active([m], now)) is active


def test_dst_change_keeps_real_duration() -> None:
    # 2026-03-29: clocks jump 02:00 -> 03:00 in Berlin; the window still lasts two hours
    [w] = maintenance.occurrences(WEEKLY, ts(2026, 3, 29), ts(2026, 3, 30))
    assert w.ends_at - w.starts_at == 7200.0
    assert w.id == "patch@2026-03-29"


def test_upcoming_lists_next_week() -> None:
    now = ts(2026, 5, 26, 21, 0)
    windows = maintenance.upcoming([ONE_OFF, WEEKLY], now, days=7)
    assert [w.id for w in windows] == ["db", "patch@2026-05-31"]
    assert windows[0].starts_at == ts(2026, 5, 27, 2, 0)
    assert windows[1].components == ("api", "web")


def test_no_incident_during_maintenance_and_status_under_maintenance() -> None:
    start = ts(2026, 5, 27, 1, 50)
    config = make_config(TWO_COMPONENTS, maintenances=[ONE_OFF])
    sim = Sim(config, start=start)
    sim.run(300.0)
    # the database upgrade takes the API down during the window only
    behave = failing(
        Reason.HTTP_5XX, ts(2026, 5, 27, 2, 1), ts(2026, 5, 27, 2, 50), checks=["api-check"]
    )
    out = sim.run(7200.0, behave, tick_every=5.0)
    assert not opened(out)
    api = [(c.old, c.new) for c in changes(out, "api")]
    assert api[0] == (ComponentStatus.OPERATIONAL, ComponentStatus.UNDER_MAINTENANCE)
    assert api[-1][1] is ComponentStatus.OPERATIONAL
    assert all(
        new in (ComponentStatus.UNDER_MAINTENANCE, ComponentStatus.OPERATIONAL) for _, new in api
    )
    # probes were still recorded while in maintenance
    assert isinstance(sim.engine, Engine)
    assert sim.engine.maintenance_windows(start)[0].id == "db"


def test_failure_that_outlasts_maintenance_opens_an_incident_after_it() -> None:
    start = ts(2026, 5, 27, 1, 50)
    sim = Sim(make_config(TWO_COMPONENTS, maintenances=[ONE_OFF]), start=start)
    sim.run(300.0)
    behave = failing(Reason.HTTP_5XX, ts(2026, 5, 27, 2, 30), checks=["api-check"])
    out = sim.run(7200.0, behave, tick_every=5.0)
    [inc] = opened(out)
    assert inc.incident.created_at >= ts(2026, 5, 27, 3, 0)


def test_maintenance_starting_during_an_outage_freezes_the_incident() -> None:
    """Issue 11: the window does not resolve the incident with "operational again" while
    the component still fails; after the window the same episode continues."""
    start = ts(2026, 5, 27, 1, 40)
    sim = Sim(make_config(TWO_COMPONENTS, maintenances=[ONE_OFF]), start=start)
    sim.run(300.0)
    behave = failing(
        Reason.HTTP_5XX, ts(2026, 5, 27, 1, 50), ts(2026, 5, 27, 3, 20), checks=["api-check"]
    )
    out = sim.run(3600.0, behave, tick_every=5.0)  # to 02:45, in the window
    [inc] = opened(out)
    assert inc.incident.started_at < ts(2026, 5, 27, 1, 51)
    assert sim.engine.status_of("api") is ComponentStatus.UNDER_MAINTENANCE
    [still] = sim.engine.open_incidents()
    assert still.id == inc.incident.id
    assert still.status is IncidentStatus.INVESTIGATING
    assert dict(still.components)["api"] is ComponentStatus.MAJOR_OUTAGE
    texts = " ".join(u.body for u in still.updates).lower()
    assert "operational" not in texts
    out = sim.run(3600.0, behave, tick_every=5.0)  # 03:00 window ends; fails to 03:20
    assert not opened(out)  # the same episode, no second incident
    [done] = resolved(out)
    assert done.incident.id == inc.incident.id
    assert done.incident.recovered_at is not None
    # the first answer after the fix: its start plus its duration (50 ms here)
    assert ts(2026, 5, 27, 3, 19) <= done.incident.recovered_at <= ts(2026, 5, 27, 3, 20) + 0.05
