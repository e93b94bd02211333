"""JSON views of a snapshot in the Statuspage public API v2 dialect (pure functions).

Field names and value sets follow the public documentation of `/api/v2/*.json`, so status
aggregators, embed widgets and exporters read prober with no adapter. Every view takes the
snapshot and returns plain dicts; the app serializes each one once per snapshot version.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from prober.domain.incident import Incident, IncidentUpdate
from prober.domain.snapshot import ComponentView, MaintenanceWindow, StatusSnapshot
from prober.domain.status import (
    IMPACT_OF_STATUS,
    INDICATOR_DESCRIPTION,
    ComponentStatus,
    Impact,
)

Json = dict[str, Any]

# Statuspage returns at most this many incidents and maintenances from the list endpoints.
LIST_LIMIT = 50

_IMPACT_RANK = {
    Impact.NONE: 0,
    Impact.MAINTENANCE: 1,
    Impact.MINOR: 2,
    Impact.MAJOR: 3,
    Impact.CRITICAL: 4,
}


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with milliseconds (`2026-05-26T21:19:00.000Z`)."""
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or hashlib.sha256(text.encode()).hexdigest()[:12]


def page_id(snap: StatusSnapshot) -> str:
    """A stable page id derived from the page name (Statuspage ids are opaque strings)."""
    return hashlib.sha256(snap.page.name.encode()).hexdigest()[:12]


def group_id(group: str) -> str:
    return f"group-{_slug(group)}"


def base_url(snap: StatusSnapshot) -> str:
    """The public base URL without a trailing slash ('' only outside a request: webhooks)."""
    return (snap.page.url or "").rstrip("/")


def incident_link(snap: StatusSnapshot, incident_id: str) -> str:
    return f"{base_url(snap)}/incidents/{incident_id}"


def page_json(snap: StatusSnapshot) -> Json:
    return {
        "id": page_id(snap),
        "name": snap.page.name,
        "url": base_url(snap) or "/",
        "time_zone": snap.page.time_zone,
        "updated_at": iso(snap.generated_at),
    }


def indicator(snap: StatusSnapshot) -> Impact:
    """The page indicator, as Statuspage's "blended component status": from the components'
    present states (a person's declaration in an open incident included, see
    domain/human.py), not from incidents' impacts, so an incident in monitoring above
    all-green components reads "All Systems Operational". A page without components
    falls back to the worst open incident's impact."""
    if not snap.components:
        worst = Impact.NONE
        for inc in snap.open_incidents:
            if _IMPACT_RANK[inc.impact] > _IMPACT_RANK[worst]:
                worst = inc.impact
        return worst
    return IMPACT_OF_STATUS[worst_status([c.status for c in snap.components])]


def status_json(snap: StatusSnapshot) -> Json:
    value = indicator(snap)
    return {"indicator": value.value, "description": INDICATOR_DESCRIPTION[value.value]}


def _component(comp: ComponentView, snap: StatusSnapshot, position: int) -> Json:
    return {
        "id": comp.id,
        "name": comp.name,
        "status": comp.status.value,
        "created_at": iso(comp.created_at),
        "updated_at": iso(comp.updated_at),
        "position": position,
        "description": comp.description,
        "showcase": True,
        "start_date": datetime.fromtimestamp(comp.created_at, tz=UTC).date().isoformat(),
        "group_id": group_id(comp.group) if comp.group else None,
        "page_id": page_id(snap),
        "group": False,
        "only_show_if_degraded": False,
    }


def worst_status(statuses: list[ComponentStatus]) -> ComponentStatus:
    return max(statuses, key=lambda s: s.level, default=ComponentStatus.OPERATIONAL)


def components_list(snap: StatusSnapshot) -> list[Json]:
    """Components in checks.yaml order, each group announced by a `group: true` entry."""
    members: dict[str, list[ComponentView]] = {}
    for comp in snap.components:
        if comp.group:
            members.setdefault(comp.group, []).append(comp)
    out: list[Json] = []
    seen: set[str] = set()
    for comp in sorted(snap.components, key=lambda c: c.position):
        if comp.group and comp.group not in seen:
            seen.add(comp.group)
            kids = members[comp.group]
            out.append(
                {
                    "id": group_id(comp.group),
                    "name": comp.group,
                    "status": worst_status([k.status for k in kids]).value,
                    "created_at": iso(min(k.created_at for k in kids)),
                    "updated_at": iso(max(k.updated_at for k in kids)),
                    "position": len(out) + 1,
                    "description": None,
                    "showcase": False,
                    "start_date": None,
                    "group_id": None,
                    "page_id": page_id(snap),
                    "group": True,
                    "only_show_if_degraded": False,
                    "components": [k.id for k in kids],
                }
            )
        out.append(_component(comp, snap, len(out) + 1))
    return out


def _incident_components(inc: Incident, snap: StatusSnapshot) -> list[Json]:
    out: list[Json] = []
    for position, (cid, status) in enumerate(inc.components, start=1):
        live = snap.component(cid)
        if live is not None:
            out.append(_component(live, snap, live.position))
            continue
        # The component left the configuration since: describe it from the incident.
        out.append(
            {
                "id": cid,
                "name": _known_name(inc, cid),
                "status": status.value,
                "created_at": iso(inc.created_at),
                "updated_at": iso(inc.updated_at),
                "position": position,
                "description": None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": page_id(snap),
                "group": False,
                "only_show_if_degraded": False,
            }
        )
    return out


def _known_name(inc: Incident, cid: str) -> str:
    for update in inc.updates:
        for ac in update.affected_components:
            if ac.code == cid:
                return ac.name
    return cid


def update_json(update: IncidentUpdate) -> Json:
    return {
        "id": update.id,
        "status": update.status.value,
        "body": update.body,
        "incident_id": update.incident_id,
        "created_at": iso(update.created_at),
        "updated_at": iso(update.created_at),
        "display_at": iso(update.created_at),
        "affected_components": [
            {
                "code": ac.code,
                "name": ac.name,
                "old_status": ac.old_status.value,
                "new_status": ac.new_status.value,
            }
            for ac in update.affected_components
        ],
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident_json(inc: Incident, snap: StatusSnapshot, with_updates: bool = True) -> Json:
    """The Statuspage incident; without `with_updates`, its summary (no update list: what
    a webhook payload carries, built for every effect)."""
    out: Json = {
        "id": inc.id,
        "name": inc.name,
        "status": inc.status.value,
        "created_at": iso(inc.created_at),
        "updated_at": iso(inc.updated_at),
        "monitoring_at": iso(inc.monitoring_at),
        "resolved_at": iso(inc.resolved_at),
        "impact": inc.impact.value,
        "shortlink": incident_link(snap, inc.id),
        "started_at": iso(inc.started_at),
        "recovered_at": iso(inc.recovered_at),
        "page_id": page_id(snap),
        "components": _incident_components(inc, snap),
    }
    if with_updates:
        out["incident_updates"] = [update_json(u) for u in reversed(inc.updates)]
    return out


def maintenance_status(window: MaintenanceWindow, now: float) -> str:
    if now < window.starts_at:
        return "scheduled"
    if now < window.ends_at:
        return "in_progress"
    return "completed"


def maintenance_times(window: MaintenanceWindow, now: float) -> tuple[float, float]:
    """(created_at, updated_at) of a maintenance, never in the future.

    prober does not know when a window was written into checks.yaml (weekly ones are
    computed occurrences), so it is "created" at its start, or now while it is still
    ahead. It is updated when its status last changed: creation while scheduled, the
    start while in progress, the end once completed.
    """
    created = min(window.starts_at, now)
    if now < window.starts_at:
        return created, created
    if now < window.ends_at:
        return created, window.starts_at
    return created, window.ends_at


def maintenance_json(window: MaintenanceWindow, snap: StatusSnapshot) -> Json:
    status = maintenance_status(window, snap.generated_at)
    created, updated = maintenance_times(window, snap.generated_at)
    comps = [c for cid in window.components if (c := snap.component(cid)) is not None]
    update_id = f"{window.id}-{status}"
    return {
        "id": window.id,
        "name": window.name,
        "status": status,
        "created_at": iso(created),
        "updated_at": iso(updated),
        "monitoring_at": None,
        "resolved_at": iso(window.ends_at) if status == "completed" else None,
        "impact": Impact.MAINTENANCE.value,
        "shortlink": f"{base_url(snap)}/#maintenance-{window.id}",
        "started_at": iso(window.starts_at),
        "page_id": page_id(snap),
        "incident_updates": [
            {
                "id": update_id,
                "status": status,
                "body": window.description or window.name,
                "incident_id": window.id,
                "created_at": iso(updated),
                "updated_at": iso(updated),
                "display_at": iso(updated),
                "affected_components": [
                    {
                        "code": c.id,
                        "name": c.name,
                        "old_status": c.status.value,
                        "new_status": ComponentStatus.UNDER_MAINTENANCE.value,
                    }
                    for c in comps
                ],
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
        ],
        "components": [_component(c, snap, c.position) for c in comps],
        "scheduled_for": iso(window.starts_at),
        "scheduled_until": iso(window.ends_at),
    }


# ---- endpoint bodies -------------------------------------------------------------------


def _recent(snap: StatusSnapshot) -> list[Incident]:
    return sorted(snap.incidents, key=lambda i: (i.created_at, i.id), reverse=True)


def _maintenances(snap: StatusSnapshot, wanted: frozenset[str] | None) -> list[Json]:
    windows = sorted(snap.maintenances, key=lambda w: (w.starts_at, w.id))
    out = [maintenance_json(w, snap) for w in windows]
    return [m for m in out if wanted is None or m["status"] in wanted][:LIST_LIMIT]


def summary(snap: StatusSnapshot) -> Json:
    return {
        "page": page_json(snap),
        "components": components_list(snap),
        "incidents": [incident_json(i, snap) for i in _recent(snap) if i.is_open],
        "scheduled_maintenances": _maintenances(snap, frozenset({"scheduled", "in_progress"})),
        "status": status_json(snap),
    }


def status(snap: StatusSnapshot) -> Json:
    return {"page": page_json(snap), "status": status_json(snap)}


def components(snap: StatusSnapshot) -> Json:
    return {"page": page_json(snap), "components": components_list(snap)}


def incidents(snap: StatusSnapshot) -> Json:
    recent = _recent(snap)[:LIST_LIMIT]
    return {"page": page_json(snap), "incidents": [incident_json(i, snap) for i in recent]}


def unresolved(snap: StatusSnapshot) -> Json:
    open_ = [i for i in _recent(snap) if i.is_open]
    return {"page": page_json(snap), "incidents": [incident_json(i, snap) for i in open_]}


def scheduled_maintenances(snap: StatusSnapshot) -> Json:
    return {"page": page_json(snap), "scheduled_maintenances": _maintenances(snap, None)}


def upcoming_maintenances(snap: StatusSnapshot) -> Json:
    wanted = frozenset({"scheduled"})
    return {"page": page_json(snap), "scheduled_maintenances": _maintenances(snap, wanted)}


def active_maintenances(snap: StatusSnapshot) -> Json:
    wanted = frozenset({"in_progress", "verifying"})
    return {"page": page_json(snap), "scheduled_maintenances": _maintenances(snap, wanted)}
