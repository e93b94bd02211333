"""People and the engine on one incident book: human incidents are never advanced by the
engine, human renames/impact/status survive automatic updates, a human resolve holds
unless the component fails again, and maintenances scheduled by people."""

from __future__ import annotations

import pytest

from prober.config.model import IncidentPolicy
from prober.domain import human
from prober.domain.desk import Desk
from prober.domain.effects import IncidentOpened, IncidentResolved, IncidentUpdated
from prober.domain.hold import still_held
from prober.domain.incidents import IncidentBook
from prober.domain.status import ComponentStatus, Impact, IncidentStatus

CS = ComponentStatus
OP, DEG, PART, MAJ = (CS.OPERATIONAL, CS.DEGRADED_PERFORMANCE, CS.PARTIAL_OUTAGE, CS.MAJOR_OUTAGE)
NAMES = {"api": "Platform API", "web": "Dashboard", "sms": "SMS delivery"}
T = 1_000_000.0
POLICY = IncidentPolicy(quiet_period=60.0, min_update_spacing=10.0)


def book() -> IncidentBook:
    return IncidentBook(POLICY, NAMES, dict.fromkeys(NAMES))


def step(b: IncidentBook, now: float, **statuses: CS) -> list[object]:
    full = {c: statuses.get(c, OP) for c in NAMES}
    reasons = {c: {"http_5xx": 5} for c in statuses}
    return list(b.step(full, {c: T - 3 for c in NAMES}, reasons, now))


def only_open(b: IncidentBook):
    [inc] = b.open_incidents()
    return inc


def test_human_incident_is_never_advanced_by_the_engine() -> None:
    b = book()
    [opened] = human.open_incident(
        b, T, name="Payments delayed", body="Looking.", components=(("web", PART),)
    )
    assert isinstance(opened, IncidentOpened)
    inc = opened.incident
    assert inc.impact is Impact.MAJOR and inc.status is IncidentStatus.INVESTIGATING
    # probes find everything fine for a long time: no monitoring, no automatic resolve
    for i in range(1, 20):
        assert step(b, T + i * 60) == []
    assert only_open(b).status is IncidentStatus.INVESTIGATING
    # a declared component in trouble joins no automatic incident while it is open
    assert step(b, T + 2000, web=MAJ) == []
    assert len(b.open_incidents()) == 1
    # another component failing opens an automatic incident of its own
    effects = step(b, T + 2010, api=DEG)
    assert [type(e) for e in effects] == [IncidentOpened]
    assert len(b.open_incidents()) == 2


def test_human_and_engine_updates_interleave_without_overwriting() -> None:
    b = book()
    [opened] = step(b, T, api=DEG)
    iid = opened.incident.id
    human.edit_incident(b, iid, T + 5, name="Slow API for EU customers")
    b.post_update(iid, T + 6, IncidentStatus.IDENTIFIED, "A bad node; draining it.", Impact.MAJOR)
    # the engine keeps writing its own updates as statuses change ...
    effects = step(b, T + 30, api=PART, web=DEG)
    [update] = [e for e in effects if isinstance(e, IncidentUpdated)]
    inc = update.incident
    # ... without touching the human's name, impact, status or text
    assert inc.name == "Slow API for EU customers"
    assert inc.impact is Impact.MAJOR and inc.status is IncidentStatus.IDENTIFIED
    bodies = [u.body for u in inc.updates]
    assert "A bad node; draining it." in bodies
    assert [u.automatic for u in inc.updates] == [True, False, True]
    # and the human's next word lands after the engine's
    [later] = b.post_update(iid, T + 40, None, "Node drained; watching.")
    assert later.incident.updates[-1].body == "Node drained; watching."
    assert later.incident.updates[-2].automatic


def test_components_of_an_automatic_incident_follow_the_probes() -> None:
    b = book()
    [opened] = step(b, T, api=DEG)
    with pytest.raises(ValueError, match="follow the probes"):
        human.edit_incident(b, opened.incident.id, T + 1, components=(("web", MAJ),))


def test_human_resolve_holds_while_the_component_stays_as_it_was() -> None:
    b = book()
    [opened] = step(b, T, api=DEG)
    [resolved] = b.post_update(
        opened.incident.id, T + 20, IncidentStatus.RESOLVED, "Known slowness, accepted."
    )
    assert isinstance(resolved, IncidentResolved)
    for i in range(1, 30):  # still degraded, as when resolved: no new incident
        assert step(b, T + 20 + i * 30, api=DEG) == []
    assert b.open_incidents() == []


def test_human_resolve_ends_when_the_component_fails_again_worse() -> None:
    b = book()
    [opened] = step(b, T, api=DEG)
    b.post_update(opened.incident.id, T + 20, IncidentStatus.RESOLVED, "Accepted.")
    assert step(b, T + 30, api=DEG) == []
    effects = step(b, T + 40, api=MAJ)  # worse than at the resolve: news
    assert [type(e) for e in effects] == [IncidentOpened]


def test_human_resolve_ends_when_the_component_recovers_then_fails() -> None:
    b = book()
    [opened] = step(b, T, api=DEG)
    b.post_update(opened.incident.id, T + 20, IncidentStatus.RESOLVED, "Accepted.")
    assert step(b, T + 30) == []  # operational again
    assert [type(e) for e in step(b, T + 40, api=DEG)] == [IncidentOpened]


def test_still_held_is_pure() -> None:
    keep, held = still_held({"a", "b", "c"}, {"a": DEG, "b": DEG}, {"a": DEG, "b": PART})
    assert keep == {"a"} and held == {"a": DEG}  # c is operational, b got worse


def test_hold_survives_a_restart_of_the_book() -> None:
    b = book()
    [opened] = step(b, T, api=DEG)
    b.post_update(opened.incident.id, T + 20, IncidentStatus.RESOLVED, "Accepted.")
    again = IncidentBook(POLICY, NAMES, dict.fromkeys(NAMES), b.to_state())
    assert step(again, T + 30, api=DEG) == []
    assert [type(e) for e in step(again, T + 40, api=PART)] == [IncidentOpened]


def test_human_record_and_rename_survive_a_restart_of_the_book() -> None:
    b = book()
    human.open_incident(b, T, name="Manual", body="x", components=(("sms", DEG),))
    again = IncidentBook(POLICY, NAMES, dict.fromkeys(NAMES), b.to_state())
    assert step(again, T + 600) == []
    assert only_open(again).name == "Manual"


def test_postmortem_only_on_resolved() -> None:
    b = book()
    [opened] = human.open_incident(b, T, name="M", body="x", components=())
    with pytest.raises(ValueError, match="resolve it first"):
        human.postmortem(opened.incident, T + 1, "# Why")
    [res] = b.post_update(opened.incident.id, T + 2, IncidentStatus.RESOLVED, "done")
    [pm] = human.postmortem(res.incident, T + 3, "# Why\nBecause.")
    assert pm.incident.status is IncidentStatus.POSTMORTEM
    assert human.latest_postmortem(pm.incident) is not None


def test_declared_statuses_overlay_probe_statuses() -> None:
    assert human.shown_status(OP, PART) is PART
    assert human.shown_status(MAJ, DEG) is MAJ
    assert human.shown_status(DEG, None) is DEG


def test_desk_lifecycle_and_state() -> None:
    d = Desk()
    w = d.create(T, name="Upgrade", components=("api",), starts_at=T + 60, ends_at=T + 120)
    with pytest.raises(ValueError, match="not started"):
        d.complete(w.id, T)
    moved = d.change(w.id, T + 1, starts_at=T + 30)
    assert moved.starts_at == T + 30
    copy = Desk(d.to_state())
    assert copy.get(w.id) == moved
    running = d.complete(w.id, T + 40)
    assert running.ends_at == T + 40
    with pytest.raises(ValueError, match="ended"):
        d.cancel(w.id, T + 50)
    x = d.create(T, name="X", components=("web",), starts_at=T + 100, ends_at=T + 200)
    d.cancel(x.id, T + 1)
    with pytest.raises(KeyError):
        d.get(x.id)
    with pytest.raises(ValueError, match="after starts_at"):
        d.create(T, name="Y", components=("web",), starts_at=T + 10, ends_at=T + 5)
