"""Incidents as plain JSON-ready dicts and back, and the engine's state as rows (for the
store: `StateDelta`, `engine_row`, `join_state`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


# -- the engine's state as rows ------------------------------------------------------------
#
# The store keeps the engine's state as rows, not one document: one row per component
# (its health, traffic health, shown status and the network guard's tracks of its checks)
# and one small engine row (the incident book's bookkeeping, the guard's network-wide
# fields, the desk). The book's open incidents are not in the engine row: each record names
# its incident by id and the incident itself is read back from the store's incident rows
# (one copy). `Engine.state_delta()` gives the rows changed since its previous delta;
# `join_state` turns saved rows back into what `Engine(config, state)` takes.


@dataclass(frozen=True, slots=True)
class StateDelta:
    """The engine's state rows changed since the previous delta.

    `engine`: the whole engine row (always given: it is small). `components`: component id
    -> that component's whole row, for the components that changed. `complete`: the
    `components` are all the engine has; rows of any other component are deleted (the
    first delta of an engine, and after a reconfigure)."""

    engine: Mapping[str, Any]
    components: Mapping[str, Mapping[str, Any]]
    complete: bool = False

    def then(self, later: StateDelta) -> StateDelta:
        """This delta followed by a later one, as one delta (what writing both would do)."""
        if later.complete:
            return later
        return StateDelta(later.engine, {**self.components, **later.components}, self.complete)


def engine_row(state: Mapping[str, Any]) -> dict[str, Any]:
    """The engine row of a full engine state (`Engine.to_state()` minus its components and
    the guard's tracks): each open incident record names its incident by id."""
    book = dict(state.get("incidents") or {})
    book["records"] = [
        {"incident_id": r["incident"]["id"], **{k: v for k, v in r.items() if k != "incident"}}
        for r in book.get("records", [])
    ]
    network = {k: v for k, v in (state.get("network") or {}).items() if k != "tracks"}
    return {
        "version": state.get("version", 0),
        "incidents": book,
        "network": network,
        "desk": state.get("desk"),
    }


def join_state(
    engine: Mapping[str, Any],
    components: Mapping[str, Mapping[str, Any]],
    open_incidents: Sequence[Incident],
) -> dict[str, Any]:
    """The full engine state (as `Engine(config, state)` takes it) from saved rows.

    Each book record takes its incident from `open_incidents` (the store's incident rows);
    a record whose incident is not among them raises ValueError (the caller rescues: a
    fresh engine keeping the open incidents). An engine row written before the rows
    existed (a whole state: it has "components") is read as it is, under the rows."""
    by_id = {i.id: i for i in open_incidents}
    legacy = "components" in engine
    comps: dict[str, Any] = dict(engine.get("components") or {}) if legacy else {}
    network = dict(engine.get("network") or {})
    tracks: dict[str, Any] = dict(network.get("tracks") or {}) if legacy else {}
    for cid, row in components.items():
        comps[cid] = {k: v for k, v in row.items() if k != "tracks"}
        tracks.update(row.get("tracks") or {})
    network["tracks"] = tracks
    book = dict(engine.get("incidents") or {})
    records = []
    for r in book.get("records", []):
        iid = r["incident_id"] if "incident_id" in r else r["incident"]["id"]
        inc = by_id.get(iid)
        if inc is not None:
            saved = incident_to_dict(inc)
        elif "incident" in r:  # a whole state saved before the rows: its own copy
            saved = r["incident"]
        else:
            raise ValueError(f"open incident {iid} of the saved state has no incident row")
        rest = {k: v for k, v in r.items() if k not in ("incident", "incident_id")}
        records.append({"incident": saved, **rest})
    book["records"] = records
    out: dict[str, Any] = {
        "version": engine.get("version", 0),
        "components": comps,
        "incidents": book,
        "network": network,
    }
    if engine.get("desk") is not None:
        out["desk"] = engine["desk"]
    return out
