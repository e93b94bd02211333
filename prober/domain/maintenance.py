"""Maintenance windows: which are active at `now`, and the occurrences coming up.

A one-off maintenance runs from `start` (inclusive) to `end` (exclusive). A weekly one
starts on each listed weekday (0 = Monday) at `start` local time in its `timezone` (IANA,
via zoneinfo) and lasts `duration` seconds of real time, so a window that crosses a DST
change still lasts exactly its duration. Occurrences are `MaintenanceWindow` values whose
id is the maintenance id, plus `@YYYY-MM-DD` (local start date) for weekly ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from prober.domain.policy import Maintenance
from prober.domain.snapshot import MaintenanceWindow

DAY = 86400.0


def occurrences(m: Maintenance, start: float, end: float) -> list[MaintenanceWindow]:
    """Occurrences of `m` overlapping [start, end), in time order."""
    out: list[MaintenanceWindow] = []
    if m.start is not None and m.end is not None:
        s, e = m.start.timestamp(), m.end.timestamp()
        if s < end and e > start:
            out.append(_window(m, m.id, s, e))
    if m.weekly is not None:
        w = m.weekly
        tz = ZoneInfo(w.timezone)
        # Start early enough to catch an occurrence begun before `start` and still running.
        back = math.ceil(w.duration / DAY) + 1
        first_day = datetime.fromtimestamp(start, tz).date() - timedelta(days=back)
        last_day = datetime.fromtimestamp(end, tz).date() + timedelta(days=1)
        day = first_day
        while day <= last_day:
            if day.weekday() in w.days:
                local = datetime.combine(day, w.start, tzinfo=tz)
                s = local.timestamp()
                e = s + w.duration
                if s < end and e > start:
                    out.append(_window(m, f"{m.id}@{day.isoformat()}", s, e))
            day += timedelta(days=1)
    out.sort(key=lambda x: (x.starts_at, x.id))
    return out


def _window(m: Maintenance, ident: str, s: float, e: float) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=ident,
        name=m.name,
        components=tuple(m.components),
        starts_at=s,
        ends_at=e,
        description=m.description,
    )


def active(maintenances: Iterable[Maintenance], now: float) -> list[MaintenanceWindow]:
    """Occurrences running at `now` (start <= now < end)."""
    out: list[MaintenanceWindow] = []
    for m in maintenances:
        out.extend(w for w in occurrences(m, now, now + 1e-6) if w.starts_at <= now < w.ends_at)
    return out


def components_in_maintenance(maintenances: Iterable[Maintenance], now: float) -> frozenset[str]:
    return frozenset(c for w in active(maintenances, now) for c in w.components)


def components_in_maintenance_until(
    maintenances: Iterable[Maintenance], now: float, horizon: float = DAY
) -> tuple[frozenset[str], float]:
    """`components_in_maintenance(now)`, and a time until which it cannot change.

    The set is the same for every t with now <= t < until (until is at most now +
    horizon): the next start or end of an occurrence after `now`. Callers cache it.
    """
    until = now + horizon
    comps: set[str] = set()
    for m in maintenances:
        for w in occurrences(m, now, until):
            if w.starts_at <= now < w.ends_at:
                comps.update(w.components)
                until = min(until, w.ends_at)
            elif w.starts_at > now:
                until = min(until, w.starts_at)
    return frozenset(comps), until


def upcoming(
    maintenances: Iterable[Maintenance], now: float, days: float = 7.0
) -> list[MaintenanceWindow]:
    """Active occurrences and those starting within `days` days, by start time."""
    out: list[MaintenanceWindow] = []
    for m in maintenances:
        out.extend(occurrences(m, now, now + days * DAY))
    out.sort(key=lambda x: (x.starts_at, x.id))
    return out
