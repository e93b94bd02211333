"""Incidents as plain JSON-ready dicts and back (for the domain state and the store)."""

from __future__ import annotations

from typing import Any

from prober.domain.incident import AffectedComponent, Incident, IncidentUpdate
from prober.domain.status import ComponentStatus, Impact, IncidentStatus


def affected_to_dict(a: AffectedComponent) -> dict[str, Any]:
    return {
        "code": a.code,
        "name": a.name,
        "old_status": a.old_status.value,
        "new_status": a.new_status.value,
    }


def affected_from_dict(d: dict[str, Any]) -> AffectedComponent:
    return AffectedComponent(
        code=str(d["code"]),
        name=str(d["name"]),
        old_status=ComponentStatus(d["old_status"]),
        new_status=ComponentStatus(d["new_status"]),
    )


def update_to_dict(u: IncidentUpdate) -> dict[str, Any]:
    return {
        "id": u.id,
        "incident_id": u.incident_id,
        "status": u.status.value,
        "body": u.body,
        "created_at": u.created_at,
        "affected_components": [affected_to_dict(a) for a in u.affected_components],
        "automatic": u.automatic,
    }


def update_from_dict(d: dict[str, Any]) -> IncidentUpdate:
    return IncidentUpdate(
        id=str(d["id"]),
        incident_id=str(d["incident_id"]),
        status=IncidentStatus(d["status"]),
        body=str(d["body"]),
        created_at=float(d["created_at"]),
        affected_components=tuple(affected_from_dict(a) for a in d["affected_components"]),
        automatic=bool(d.get("automatic", True)),
    )


def incident_to_dict(i: Incident) -> dict[str, Any]:
    return {
        "id": i.id,
        "name": i.name,
        "status": i.status.value,
        "impact": i.impact.value,
        "started_at": i.started_at,
        "created_at": i.created_at,
        "updated_at": i.updated_at,
        "monitoring_at": i.monitoring_at,
        "resolved_at": i.resolved_at,
        "recovered_at": i.recovered_at,
        "components": [[c, s.value] for c, s in i.components],
        "updates": [update_to_dict(u) for u in i.updates],
        "impact_override": i.impact_override,
        "group": i.group,
    }


def _opt(v: Any) -> float | None:
    return None if v is None else float(v)


def incident_from_dict(d: dict[str, Any]) -> Incident:
    return Incident(
        id=str(d["id"]),
        name=str(d["name"]),
        status=IncidentStatus(d["status"]),
        impact=Impact(d["impact"]),
        started_at=float(d["started_at"]),
        created_at=float(d["created_at"]),
        updated_at=float(d["updated_at"]),
        monitoring_at=_opt(d.get("monitoring_at")),
        resolved_at=_opt(d.get("resolved_at")),
        recovered_at=_opt(d.get("recovered_at")),
        components=tuple((str(c), ComponentStatus(s)) for c, s in d.get("components", [])),
        updates=tuple(update_from_dict(u) for u in d.get("updates", [])),
        impact_override=bool(d.get("impact_override", False)),
        group=d.get("group"),
    )
