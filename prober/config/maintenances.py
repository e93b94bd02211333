"""The maintenances section of checks.yaml: one-off windows (RFC 3339 start and end) and
weekly recurring ones. `read_maintenance` returns the model value and the nodes of its
component references, which the loader's Builder resolves."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

import yaml

from prober.config import declare, fields, keys
from prober.config import declared_sections as ds
from prober.config import yamlnodes as yn
from prober.config.model import Maintenance, WeeklyRecurrence
from prober.config.reader import Reader


def _timestamp(r: Reader, node: yaml.Node, path: str) -> datetime | None:
    text = (
        node.value
        if isinstance(node, yaml.ScalarNode) and node.tag in (yn.TIMESTAMP, yn.STR)
        else None
    )
    try:
        value = datetime.fromisoformat(text) if text else None
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or len(text or "") < 16:
        r.error(
            node,
            path,
            "expected an RFC 3339 time with an offset (e.g. "
            "2026-06-01T02:00:00Z or 2026-06-01T04:00:00+02:00)",
        )
        return None
    return value


def _clock(r: Reader, node: yaml.Node, path: str) -> time | None:
    text = node.value if isinstance(node, yaml.ScalarNode) else ""
    m = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", str(text))
    if not m:
        r.error(node, path, 'expected a time of day as "HH:MM" (e.g. "02:00")')
        return None
    return time(int(m.group(1)), int(m.group(2)))


_WEEKLY_READERS = fields.readers(ds.WEEKLY, {"days": fields.unread, "start": fields.unread})
_WEEKLY_DEFAULT_ZONE = declare.find(ds.WEEKLY, "timezone").default


def _weekly(r: Reader, node: yaml.Node, path: str) -> WeeklyRecurrence | None:
    f = r.mapping(node, path, keys.WEEKLY)
    if f is None:
        return None
    days_node = r.require(f, node, path, "days")
    start_node = r.require(f, node, path, "start")
    dur_node = r.require(f, node, path, "duration")
    days = r.each(days_node, f"{path}.days", lambda n, p: fields.one_of(r, n, p, keys.DAYS, "day"))
    if days_node is not None and days is not None and not days and not days_node.value:
        r.error(days_node, f"{path}.days", "must list at least one day (e.g. [sun])")
        days = None
    if days is not None and len(set(days)) != len(days):
        r.error(days_node or node, f"{path}.days", "a day is listed twice")
        days = None
    start = _clock(r, start_node, f"{path}.start") if start_node else None
    duration = _WEEKLY_READERS["duration"](r, dur_node, f"{path}.duration") if dur_node else None
    zone = (
        _WEEKLY_READERS["timezone"](r, f["timezone"], f"{path}.timezone")
        if "timezone" in f
        else _WEEKLY_DEFAULT_ZONE
    )
    if days is None or start is None or duration is None or zone is None:
        return None
    return WeeklyRecurrence(tuple(sorted(keys.DAYS.index(d) for d in days)), start, duration, zone)


def read_maintenance(
    r: Reader, node: yaml.Node, path: str
) -> tuple[Maintenance, dict[str, yaml.Node]] | None:
    """The maintenance and the nodes of its component references (checked later)."""
    f = r.mapping(node, path, keys.MAINTENANCE)
    if f is None:
        return None
    ident_node = r.require(f, node, path, "id")
    name_node = r.require(f, node, path, "name")
    comps_node = r.require(f, node, path, "components")
    values: dict[str, Any] = {
        "id": fields.ident(r, ident_node, f"{path}.id") if ident_node else None,
        "name": r.string(name_node, f"{path}.name", nonempty=True) if name_node else None,
    }
    refs = _component_refs(r, comps_node, path)
    if "description" in f:
        values["description"] = r.string(f["description"], f"{path}.description")
    one_off = "start" in f or "end" in f
    if one_off == ("weekly" in f):
        r.error(
            node,
            path,
            "give either start and end (a one-off window) or weekly "
            "(a recurring one), not " + ("both" if one_off else "neither"),
        )
        return None
    if one_off:
        window = _one_off(r, f, node, path)
        if window is None:
            return None
        start, end = window
        values.update(start=start, end=end)
        ok = start is not None and end is not None
    else:
        values["weekly"] = _weekly(r, f["weekly"], f"{path}.weekly")
        ok = values["weekly"] is not None
    if not ok or any(values.get(k) is None for k in ("id", "name")) or not refs:
        return None
    return Maintenance(components=tuple(refs), **values), refs


def _component_refs(r: Reader, comps_node: yaml.Node | None, path: str) -> dict[str, yaml.Node]:
    """The component ids a maintenance names, with their nodes (checked later)."""
    refs: dict[str, yaml.Node] = {}
    for i, item in enumerate(
        r.sequence(comps_node, f"{path}.components") or [] if comps_node else []
    ):
        ref = fields.ident(r, item, f"{path}.components[{i}]")
        if ref is not None:
            refs[ref] = item
    if comps_node is not None and isinstance(comps_node, yaml.SequenceNode) and not refs:
        r.error(comps_node, f"{path}.components", "must list at least one component id")
    return refs


def _one_off(
    r: Reader, f: dict[str, yaml.Node], node: yaml.Node, path: str
) -> tuple[datetime | None, datetime | None] | None:
    """A one-off window's start and end (None where unreadable); None when the end is not
    after the start."""
    start_node = r.require(f, node, path, "start")
    end_node = r.require(f, node, path, "end")
    start = _timestamp(r, start_node, f"{path}.start") if start_node else None
    end = _timestamp(r, end_node, f"{path}.end") if end_node else None
    if start is not None and end is not None and end <= start:
        r.error(
            end_node or node,
            f"{path}.end",
            f"end {end.isoformat()} must be after start {start.isoformat()}",
        )
        return None
    return start, end
