"""`incident_templates:` in checks.yaml: prepared human incidents (name, body, status,
impact, affected components with their statuses) that the write API opens by id."""

from __future__ import annotations

import yaml

from prober.config import declared_sections as ds
from prober.config import fields, keys
from prober.config.declare import find
from prober.config.model import IncidentTemplate
from prober.config.reader import Reader, suggest

STATUSES = find(ds.INCIDENT_TEMPLATE, "status").choices
IMPACTS = find(ds.INCIDENT_TEMPLATE, "impact").choices
COMPONENT_STATUSES = ds.COMPONENT_STATUSES


def _choice(r: Reader, node: yaml.Node, path: str, allowed: tuple[str, ...]) -> str | None:
    value = r.string(node, path, expand=False)
    if value is not None and value not in allowed:
        r.error(node, path, f"unknown value {value!r} ({suggest(value, allowed)})")
        return None
    return value


_READERS = fields.readers(
    ds.INCIDENT_TEMPLATE,
    {"status": fields.unread, "impact": fields.unread, "components": fields.unread},
)


def read_template(
    r: Reader, node: yaml.Node, path: str, component_ids: set[str]
) -> IncidentTemplate | None:
    f = r.mapping(node, path, keys.INCIDENT_TEMPLATE)
    if f is None:
        return None
    values = fields.read_required(r, _READERS, ds.INCIDENT_TEMPLATE, f, node, path)
    if "status" in f:
        values["status"] = _choice(r, f["status"], f"{path}.status", STATUSES)
    if "impact" in f:
        values["impact"] = _choice(r, f["impact"], f"{path}.impact", IMPACTS)
    comps: list[tuple[str, str]] = []
    if "components" in f:
        where = f"{path}.components"
        for cid, value_node in (r.mapping(f["components"], where, None) or {}).items():
            if cid not in component_ids:
                r.error(
                    value_node,
                    f"{where}.{cid}",
                    f"unknown component {cid!r} ({suggest(cid, component_ids)})",
                )
                continue
            status = _choice(r, value_node, f"{where}.{cid}", COMPONENT_STATUSES)
            if status is not None:
                comps.append((cid, status))
    if any(values.get(k) is None for k in values):
        return None
    return IncidentTemplate(components=tuple(comps), **values)
