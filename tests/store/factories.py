"""Builders for incidents, updates and effects used by the store tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from prober.domain.codec import StateDelta
from prober.domain.effects import (
    ComponentStateChanged,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
)
from prober.domain.incident import AffectedComponent, Incident, IncidentUpdate
from prober.domain.status import ComponentStatus, Impact, IncidentStatus
from prober.store.base import Store

OP = ComponentStatus.OPERATIONAL
MAJOR = ComponentStatus.MAJOR_OUTAGE
PARTIAL = ComponentStatus.PARTIAL_OUTAGE


def st(**engine: Any) -> StateDelta:
    """A state delta that only replaces the engine row."""
    return StateDelta(engine, {})


async def engine_row(store: Store) -> Mapping[str, Any] | None:
    saved = await store.load_state()
    return None if saved is None else saved.engine


def update(
    incident_id: str,
    n: int,
    at: float,
    status: IncidentStatus = IncidentStatus.INVESTIGATING,
    body: str = "We are investigating.",
) -> IncidentUpdate:
    return IncidentUpdate(
        id=f"{incident_id}-u{n}",
        incident_id=incident_id,
        status=status,
        body=body,
        created_at=at,
        affected_components=(AffectedComponent("api", "Platform API", OP, MAJOR),),
    )


def incident(incident_id: str = "inc1", at: float = 1000.0, **kw: object) -> Incident:
    first = update(incident_id, 1, at)
    base = Incident(
        id=incident_id,
        name="Elevated 500 rates on Platform API",
        status=IncidentStatus.INVESTIGATING,
        impact=Impact.CRITICAL,
        started_at=at - 30,
        created_at=at,
        updated_at=at,
        components=(("api", MAJOR),),
        updates=(first,),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def opened(incident_id: str = "inc1", at: float = 1000.0) -> IncidentOpened:
    return IncidentOpened(incident(incident_id, at))


def updated(inc: Incident, n: int, at: float, status: IncidentStatus) -> IncidentUpdated:
    upd = update(inc.id, n, at, status, body=f"update {n}")
    after = replace(
        inc,
        status=status,
        updated_at=at,
        monitoring_at=at if status is IncidentStatus.MONITORING else inc.monitoring_at,
        updates=(*inc.updates, upd),
    )
    return IncidentUpdated(after, upd)


def resolved(inc: Incident, n: int, at: float) -> IncidentResolved:
    upd = update(inc.id, n, at, IncidentStatus.RESOLVED, body="resolved")
    after = replace(
        inc,
        status=IncidentStatus.RESOLVED,
        updated_at=at,
        resolved_at=at,
        components=tuple((c, OP) for c, _ in inc.components),
        updates=(*inc.updates, upd),
    )
    return IncidentResolved(after, upd)


def changed(
    component: str, old: ComponentStatus, new: ComponentStatus, at: float
) -> ComponentStateChanged:
    return ComponentStateChanged(component, old, new, at, 0.5)
