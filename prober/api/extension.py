"""prober's own read API (`/api/prober/v1/`): uptime, live ratios, per-check results.

Flat, typed JSON that a Grafana panel (Infinity data source) or a script reads directly.
Check results carry the reason, status code, latency and the probe's detail text, never
request headers or anything else that may hold a secret.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from prober.api.statuspage import Json, incident_json, iso, page_json
from prober.domain.incident import Incident
from prober.domain.snapshot import CheckView, DayUptime, StatusSnapshot
from prober.domain.status import ComponentStatus

UPTIME_DAYS = 90
STATUSES = tuple(s.value for s in ComponentStatus)


def day_range(snap: StatusSnapshot, days: int = UPTIME_DAYS) -> list[str]:
    """The last `days` UTC dates up to the snapshot's day, oldest first."""
    today = datetime.fromtimestamp(snap.generated_at, tz=UTC).date()
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def padded_days(snap: StatusSnapshot, component_id: str) -> list[DayUptime]:
    """90 days for one component, oldest first; days without data have no seconds."""
    known = {d.day: d for d in snap.uptime.get(component_id, ())}
    return [known.get(day, DayUptime(day=day, seconds={})) for day in day_range(snap)]


def overall_uptime(days: list[DayUptime]) -> float | None:
    """Successful probes over all probes of these days; None when nothing was probed."""
    probes = sum(d.probes for d in days)
    if probes <= 0:
        return None
    return (probes - sum(d.failures for d in days)) / probes


def _day_json(d: DayUptime) -> Json:
    known = sum(d.seconds.values())
    return {
        "date": d.day,
        "uptime": d.uptime,
        "probes": d.probes,
        "failures": d.failures,
        "downtime_seconds": d.downtime,
        "known_seconds": known,
        "share": {s: (d.seconds.get(s, 0.0) / known if known > 0 else 0.0) for s in STATUSES},
    }


def uptime(snap: StatusSnapshot) -> Json:
    out = []
    for comp in sorted(snap.components, key=lambda c: c.position):
        days = padded_days(snap, comp.id)
        out.append(
            {
                "id": comp.id,
                "name": comp.name,
                "group": comp.group,
                "uptime": overall_uptime(days),
                "days": [_day_json(d) for d in days],
            }
        )
    first = date.fromisoformat(day_range(snap)[0])
    return {
        "page": page_json(snap),
        "days": UPTIME_DAYS,
        "from": first.isoformat(),
        "components": out,
    }


def components(snap: StatusSnapshot) -> Json:
    return {
        "page": page_json(snap),
        "network_healthy": snap.network_healthy,
        "network_state": snap.network_state,
        "components": [
            {
                "id": c.id,
                "name": c.name,
                "group": c.group,
                "status": c.status.value,
                "status_level": c.status.level,
                "failure_ratio": c.failure_ratio,
                "samples": c.samples,
                "latency_p95_seconds": c.latency_p95,
                "created_at": iso(c.created_at),
                "updated_at": iso(c.updated_at),
            }
            for c in sorted(snap.components, key=lambda c: c.position)
        ],
    }


def _check_json(check: CheckView) -> Json:
    last = check.last
    return {
        "id": check.id,
        "component": check.component,
        "last_success_at": iso(check.last_success_at),
        "last": None
        if last is None
        else {
            "at": iso(last.at),
            "ok": last.ok,
            "reason": last.reason.value,
            "status_code": last.status_code,
            "latency_seconds": last.duration,
            "detail": last.detail,
            "phases": dict(last.phases),
        },
    }


def checks(snap: StatusSnapshot) -> Json:
    return {"page": page_json(snap), "checks": [_check_json(c) for c in snap.checks]}


def find_incident(snap: StatusSnapshot, incident_id: str) -> Incident | None:
    for inc in snap.incidents:
        if inc.id == incident_id:
            return inc
    return None


def incident_detail(inc: Incident, snap: StatusSnapshot) -> Json:
    """The Statuspage incident object plus what prober knows beyond it."""
    body = incident_json(inc, snap)
    body.update(
        {
            "detected_at": iso(inc.detected_at),
            "duration_seconds": inc.duration,
            "impact_override": inc.impact_override,
            "group": inc.group,
        }
    )
    for update, raw in zip(body["incident_updates"], reversed(inc.updates), strict=True):
        update["automatic"] = raw.automatic
    return {"page": page_json(snap), "incident": body}
