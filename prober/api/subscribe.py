"""Subscriptions that fit the ecosystem: an RSS 2.0 feed of incidents (`/history.rss`),
and shields-style SVG badges per component (`/badge/{id}/status.svg`, `.../uptime.svg`)
for READMEs and wikis. Built with ElementTree, so every text is escaped XML. The Atom
feeds (whole page and per component) are in feed.py."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET

from prober.api.extension import overall_uptime, padded_days
from prober.api.feed import content_html, feed_incidents, feed_updated
from prober.api.page import TimeFormat
from prober.api.statuspage import base_url
from prober.domain.snapshot import StatusSnapshot
from prober.domain.status import ComponentStatus

RSS_PATH = "/history.rss"
ATOM_NS = "http://www.w3.org/2005/Atom"


def _rfc822(ts: float) -> str:
    return format_datetime(datetime.fromtimestamp(ts, UTC), usegmt=True)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def rss(snap: StatusSnapshot) -> bytes:
    """RSS 2.0 (https://www.rssboard.org/rss-specification): one item per incident."""
    ET.register_namespace("atom", ATOM_NS)
    base = base_url(snap)
    clock = TimeFormat(snap.page.time_zone)
    incidents = feed_incidents(snap)
    root = ET.Element("rss", {"version": "2.0"})
    channel = _sub(root, "channel")
    _sub(channel, "title", f"{snap.page.name} incident history")
    _sub(channel, "link", f"{base}/")
    _sub(channel, "description", f"Incidents and their updates on {snap.page.name}")
    _sub(channel, "lastBuildDate", _rfc822(feed_updated(snap, incidents)))
    _sub(channel, "generator", "prober")
    _sub(
        channel,
        f"{{{ATOM_NS}}}link",
        href=f"{base}{RSS_PATH}",
        rel="self",
        type="application/rss+xml",
    )
    for incident in incidents:
        item = _sub(channel, "item")
        link = f"{base}/incidents/{incident.id}"
        _sub(item, "title", f"[{incident.status.value}] {incident.name}")
        _sub(item, "link", link)
        _sub(item, "guid", f"{link}#{incident.updated_at:.0f}", isPermaLink="false")
        _sub(item, "pubDate", _rfc822(incident.updated_at))
        _sub(item, "description", content_html(incident, clock))
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


# -- badges ------------------------------------------------------------------------------

STATUS_COLOUR = {
    ComponentStatus.OPERATIONAL: "#2e7d32",
    ComponentStatus.DEGRADED_PERFORMANCE: "#8a6100",
    ComponentStatus.PARTIAL_OUTAGE: "#b34700",
    ComponentStatus.MAJOR_OUTAGE: "#c62828",
    ComponentStatus.UNDER_MAINTENANCE: "#0b62c4",
}
NO_DATA = "#6e6e6e"
LABEL = "#555"
# Rough Verdana 11px advance widths (the font shields.io uses), enough to size the boxes.
_NARROW = set("fijlrtI.,:;!|'()[] ")
_WIDE = set("mwMW@%")


def text_width(text: str) -> int:
    width = 0.0
    for ch in text:
        if ch in _NARROW:
            width += 3.9
        elif ch in _WIDE:
            width += 10.5
        elif ch.isupper() or ch.isdigit():
            width += 7.5
        else:
            width += 6.6
    return round(width)


def badge(label: str, message: str, colour: str) -> bytes:
    """A flat shields-style badge: grey label, coloured message, white text."""
    lw, mw = text_width(label) + 10, text_width(message) + 10
    total = lw + mw
    ns = "http://www.w3.org/2000/svg"
    ET.register_namespace("", ns)
    svg = ET.Element(
        f"{{{ns}}}svg",
        {"width": str(total), "height": "20", "role": "img", "aria-label": f"{label}: {message}"},
    )
    _sub(svg, f"{{{ns}}}title", f"{label}: {message}")
    clip = _sub(svg, f"{{{ns}}}clipPath", id="r")
    _sub(clip, f"{{{ns}}}rect", width=str(total), height="20", rx="3", fill="#fff")
    g = _sub(svg, f"{{{ns}}}g", **{"clip-path": "url(#r)"})
    _sub(g, f"{{{ns}}}rect", width=str(lw), height="20", fill=LABEL)
    _sub(g, f"{{{ns}}}rect", x=str(lw), width=str(mw), height="20", fill=colour)
    text = _sub(
        svg,
        f"{{{ns}}}g",
        fill="#fff",
        **{
            "text-anchor": "middle",
            "font-family": "Verdana,Geneva,DejaVu Sans,sans-serif",
            "font-size": "11",
        },
    )
    _sub(text, f"{{{ns}}}text", label, x=str(lw / 2), y="14")
    _sub(text, f"{{{ns}}}text", message, x=str(lw + mw / 2), y="14")
    data: bytes = ET.tostring(svg, encoding="utf-8")
    return data


def status_badge(snap: StatusSnapshot, component: str) -> bytes | None:
    comp = snap.component(component)
    if comp is None:
        return None
    return badge(comp.name, comp.status.label.lower(), STATUS_COLOUR[comp.status])


def uptime_colour(share: float) -> str:
    if share >= 0.999:
        return "#2e7d32"
    if share >= 0.99:
        return "#5c7d00"
    if share >= 0.95:
        return "#8a6100"
    return "#b34700" if share >= 0.9 else "#c62828"


def uptime_badge(snap: StatusSnapshot, component: str) -> bytes | None:
    """The component's uptime over 90 days: successful probes over all (see docs/API.md)."""
    comp = snap.component(component)
    if comp is None:
        return None
    share = overall_uptime(padded_days(snap, component))
    if share is None:
        return badge(f"{comp.name} uptime", "no data", NO_DATA)
    text = f"{share * 100:.2f}%"
    if text == "100.00%" and share < 1:
        text = "99.99%"
    return badge(f"{comp.name} uptime", text, uptime_colour(share))
