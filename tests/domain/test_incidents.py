"""The incident book on its own: statuses in, effects out."""

from __future__ import annotations

import json

import pytest

from prober.config.model import IncidentPolicy
from prober.domain.effects import IncidentOpened, IncidentResolved, IncidentUpdated
from prober.domain.incidents import IncidentBook
from prober.domain.status import ComponentStatus, Impact, IncidentStatus
from prober.domain.wording import components_phrase, reason_phrase, title

CS = ComponentStatus
OP, DEG, PART, MAJ = (CS.OPERATIONAL, CS.DEGRADED_PERFORMANCE, CS.PARTIAL_OUTAGE, CS.MAJOR_OUTAGE)
NAMES = {"api": "Platform API", "web": "Dashboard", "sms": "SMS delivery"}
T = 1_000_000.0


def book(**policy: object) -> IncidentBook:
    groups: dict[str, str | None] = {"api": "core", "web": "ui", "sms": "core"}
    return IncidentBook(IncidentPolicy(**policy), NAMES, groups)  # type: ignore[arg-type]


def step(b: IncidentBook, now: float, **statuses: CS) -> list[object]:
    full = {c: statuses.get(c, OP) for c in NAMES}
    reasons = {c: {"http_5xx": 5} for c in statuses}
    return list(b.step(full, {c: T - 3 for c in NAMES}, reasons, now))


@pytest.mark.parametrize(
    ("reasons", "phrase"),
    [
        ({"http_5xx": 10}, "500 rates"),
        ({"timeout": 7, "http_5xx": 3}, "timeouts"),
        ({"connect": 3, "dns": 2}, "connection errors"),
        ({"http_5xx": 5, "timeout": 5}, "error rates"),
        ({"assertion": 4}, "error rates"),
        ({}, "latency"),
    ],
)
def test_reason_phrase(reasons: dict[str, int], phrase: str) -> None:
    assert reason_phrase(reasons) == phrase


@pytest.mark.parametrize(
    ("names", "phrase"),
    [(["A"], "A"), (["A", "B"], "A and B"), (["A", "B", "C", "D"], "A and 3 more")],
)
def test_components_phrase(names: list[str], phrase: str) -> None:
    assert components_phrase(names) == phrase


def test_title_template_and_fallback() -> None:
    names = ["Platform API", "B", "C", "D"]
    assert title("Elevated {reason} on {components}", names, {"http_5xx": 1}) == (
        "Elevated 500 rates on Platform API and 3 more"
    )
    assert title("{group}: {count} down", names, {}, "core") == "core: 4 down"
    assert title("{nope}", ["A"], {"timeout": 1}) == "Elevated timeouts on A"


def test_open_has_first_update_listing_components() -> None:
    b = book()
    [e] = step(b, T, api=DEG)
    assert isinstance(e, IncidentOpened)
    inc = e.incident
    assert inc.status is IncidentStatus.INVESTIGATING and inc.impact is Impact.MINOR
    assert inc.started_at == T - 3 and inc.created_at == T
    [u] = inc.updates
    assert [(a.code, a.name, a.old_status, a.new_status) for a in u.affected_components] == [
        ("api", "Platform API", OP, DEG)
    ]
    assert inc.name == "Elevated 500 rates on Platform API"


def test_a_flap_that_returns_within_the_spacing_writes_nothing() -> None:
    b = book(min_update_spacing=60.0)
    step(b, T, api=DEG)
    assert step(b, T + 10, api=PART) == []
    assert step(b, T + 20, api=DEG) == []
    assert step(b, T + 61, api=DEG) == []  # net change: none
    [e] = step(b, T + 70, api=PART)
    assert isinstance(e, IncidentUpdated)
    [a] = e.update.affected_components
    assert (a.old_status, a.new_status) == (DEG, PART)
    assert e.incident.impact is Impact.MAJOR


def test_ids_are_deterministic_and_state_round_trips() -> None:
    b1, b2 = book(), book()
    e1 = step(b1, T, api=DEG)[0]
    e2 = step(b2, T, api=DEG)[0]
    assert isinstance(e1, IncidentOpened) and isinstance(e2, IncidentOpened)
    assert e1.incident.id == e2.incident.id
    assert e1.incident.updates[0].id == e2.incident.updates[0].id
    again = IncidentBook(IncidentPolicy(), NAMES, {}, json.loads(json.dumps(b1.to_state())))
    assert again.open_incidents() == b1.open_incidents()


def test_human_updates_impact_and_resolution() -> None:
    b = book()
    inc = step(b, T, api=PART)[0].incident  # type: ignore[attr-defined]
    [e] = b.post_update(inc.id, T + 5, IncidentStatus.IDENTIFIED, "We found the cause.")
    assert isinstance(e, IncidentUpdated)
    assert e.update.automatic is False and e.incident.status is IncidentStatus.IDENTIFIED
    [e] = b.post_update(inc.id, T + 6, impact=Impact.CRITICAL)
    assert e.incident.impact is Impact.CRITICAL and e.incident.impact_override
    # automatic updates keep identified and the human impact
    [e] = step(b, T + 100, api=MAJ, web=DEG)
    assert e.incident.status is IncidentStatus.IDENTIFIED  # type: ignore[attr-defined]
    assert e.incident.impact is Impact.CRITICAL  # type: ignore[attr-defined]
    [r] = b.post_update(inc.id, T + 200, IncidentStatus.RESOLVED, "Fixed.")
    assert isinstance(r, IncidentResolved) and r.incident.resolved_at == T + 200
    with pytest.raises(ValueError):
        b.post_update(inc.id, T + 201, IncidentStatus.MONITORING, "again")
    with pytest.raises(KeyError):
        b.post_update("nope", T + 201, IncidentStatus.MONITORING, "x")
    # still-bad components do not reopen at once after a hand resolution ...
    assert step(b, T + 300, api=MAJ, web=DEG) == []
    # ... but do once they have been fine and go bad again
    step(b, T + 400)
    [o] = step(b, T + 500, api=DEG)
    assert isinstance(o, IncidentOpened) and o.incident.id != inc.id


def test_postmortem_is_not_a_posted_status() -> None:
    b = book()
    inc = step(b, T, api=DEG)[0].incident  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        b.post_update(inc.id, T + 1, IncidentStatus.POSTMORTEM, "x")


def test_human_monitoring_then_quiet_period_resolves() -> None:
    b = book(quiet_period=600.0)
    inc = step(b, T, api=DEG)[0].incident  # type: ignore[attr-defined]
    b.post_update(inc.id, T + 30, IncidentStatus.MONITORING, "Fix deployed.")
    [u] = step(b, T + 100)  # recovered: one update listing the change, still monitoring
    assert isinstance(u, IncidentUpdated)
    assert u.update.status is IncidentStatus.MONITORING
    assert [(a.old_status, a.new_status) for a in u.update.affected_components] == [(DEG, OP)]
    assert u.incident.monitoring_at == T + 30
    assert step(b, T + 699) == []
    [r] = step(b, T + 700)
    assert isinstance(r, IncidentResolved)
    # Issue 11: the duration is started to recovered (all fine again at T + 100, no probe
    # times known to the book alone); monitoring and quiet time are apart.
    assert r.incident.recovered_at == T + 100
    assert r.incident.duration == 103.0
    assert r.incident.resolved_at is not None
    assert r.incident.resolved_at - r.incident.started_at == 703.0


def test_per_group_opens_one_incident_per_group() -> None:
    b = book(per_group=True)
    effects = step(b, T, api=DEG, web=DEG)
    assert sorted(e.incident.group for e in effects) == ["core", "ui"]  # type: ignore[attr-defined]
    effects = step(b, T + 100, api=DEG, web=DEG, sms=PART)
    [u] = effects
    assert u.incident.group == "core"  # type: ignore[attr-defined]
