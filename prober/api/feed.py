"""The Atom feed of incidents (`/history.atom`), built with ElementTree so it is valid XML.

Each entry is one incident; its content is the whole timeline as escaped HTML
(`type="html"`), so feed readers show incident text as text, never as markup.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from markupsafe import Markup

from prober.api.page import FEED_PATH, TimeFormat, affected
from prober.api.statuspage import base_url, iso, page_id
from prober.domain.incident import AffectedComponent, Incident
from prober.domain.snapshot import StatusSnapshot

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_LIMIT = 50
# Characters XML 1.0 cannot carry at all, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = _clean(text)
    return el


def _affected_item(ac: AffectedComponent) -> Markup:
    """'Name: Status' when unchanged, 'Name: Old → New' for a real change."""
    if ac.old_status is ac.new_status:
        return Markup("<li>{}: {}</li>").format(ac.name, ac.new_status.label)
    return Markup("<li>{}: {} → {}</li>").format(ac.name, ac.old_status.label, ac.new_status.label)


def content_html(incident: Incident, clock: TimeFormat) -> str:
    parts: list[Markup] = []
    for update in reversed(incident.updates):
        items = Markup("").join(_affected_item(ac) for ac in affected(update))
        parts.append(
            Markup("<p><strong>{}</strong> ({})</p><p>{}</p>").format(
                update.status.value.capitalize(), clock.when(update.created_at), update.body
            )
        )
        if items:
            parts.append(Markup("<ul>{}</ul>").format(items))
    return str(Markup("").join(parts))


def feed_incidents(snap: StatusSnapshot, component: str | None = None) -> list[Incident]:
    """The feed's incidents, most recently updated first; only those that affected
    `component` when given."""
    chosen = [
        i
        for i in snap.incidents
        if component is None or any(cid == component for cid, _ in i.components)
    ]
    return sorted(chosen, key=lambda i: (i.updated_at, i.id), reverse=True)[:FEED_LIMIT]


def feed_updated(snap: StatusSnapshot, incidents: list[Incident]) -> float:
    """When the feed last changed: its newest incident update (not the snapshot's time,
    so an unchanged feed keeps its ETag); with no incidents, the components' first sight."""
    if incidents:
        return max(i.updated_at for i in incidents)
    return min((c.created_at for c in snap.components), default=0.0)


def component_feed_path(component: str) -> str:
    return f"/components/{component}/history.atom"


def atom(snap: StatusSnapshot, component: str | None = None) -> bytes:
    base = base_url(snap)
    clock = TimeFormat(snap.page.time_zone)
    recent = feed_incidents(snap, component)
    path = FEED_PATH if component is None else component_feed_path(component)
    comp = snap.component(component) if component else None
    title = f"{snap.page.name} incident history"
    if comp is not None:
        title += f": {comp.name}"
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    urn = f"urn:prober:{page_id(snap)}:history" + (f":{component}" if component else "")
    _sub(feed, "id", f"{base}{path}" if base else urn)
    _sub(feed, "title", title)
    _sub(feed, "updated", iso(feed_updated(snap, recent)))
    _sub(feed, "link", rel="self", href=f"{base}{path}")
    _sub(feed, "link", rel="alternate", type="text/html", href=f"{base}/")
    author = _sub(feed, "author")
    _sub(author, "name", snap.page.name)
    _sub(feed, "generator", "prober")
    for incident in recent:
        entry = _sub(feed, "entry")
        link = f"{base}/incidents/{incident.id}"
        _sub(entry, "id", link if base else f"urn:prober:{page_id(snap)}:incident:{incident.id}")
        _sub(entry, "title", f"[{incident.status.value}] {incident.name}")
        _sub(entry, "updated", iso(incident.updated_at))
        _sub(entry, "published", iso(incident.created_at))
        _sub(entry, "link", rel="alternate", type="text/html", href=link)
        _sub(entry, "summary", f"{incident.impact.value} impact, {incident.status.value}")
        _sub(entry, "content", content_html(incident, clock), type="html")
    data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data
