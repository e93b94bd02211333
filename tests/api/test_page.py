"""The server-rendered page, the incident page and the Atom feed: content, a11y, escaping."""

from __future__ import annotations

import dataclasses
import json
import re
from xml.etree import ElementTree as ET

from prober.api.page import PageRenderer, duration_text
from prober.domain.status import IncidentStatus
from tests.api.fake import (
    INCIDENT_ID,
    INCIDENT_NAME,
    TOKEN,
    XSS,
    after_snapshot,
    hostile_snapshot,
)

ATOM = "{http://www.w3.org/2005/Atom}"
RAW_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror", '"><img')


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_page_during_incident(client):
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    html = await resp.text()
    text = _text(html)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "prefers-color-scheme:dark" in html
    assert "<script" not in html
    assert 'rel="alternate" type="application/atom+xml"' in html
    assert "Partial System Outage" in text
    assert "Active incidents" in text
    assert INCIDENT_NAME in text
    # the whole timeline, newest first, with old -> new statuses
    assert text.index("We are deploying a mitigation") < text.index("We are investigating")
    assert "Dashboard: Operational → Partial outage" in text
    assert "User and authentication: Degraded performance → Partial outage" in text
    # components in groups, status by text and by icon
    for group in ("Core", "Product", "Delivery"):
        assert f"<h3>{group}</h3>" in html
    dashboard = html[html.index('id="component-dashboard"') :]
    dashboard = dashboard[: dashboard.index('class="bars"')]
    assert "Partial outage" in dashboard and "<svg" in dashboard
    # maintenance
    assert "Database upgrade" in text and "SMS vendor switch" in text
    # the old incident is older than 14 days: not on the page
    assert "Old billing blip" not in text


async def test_uptime_bars_accessible(client):
    html = await (await client.get("/")).text()
    # One summary per component for screen readers; the 90 bars are presentational.
    summaries = re.findall(r'<div class="bars" role="img" aria-label="([^"]+)">', html)
    assert len(summaries) == 12
    assert (
        "Billing: 99.82% uptime over 60 days with probes; 2 days with failures, the worst "
        "2026-05-16 (92.59%)."
    ) in summaries
    assert (
        "Email delivery: 99.94% uptime over 60 days with probes; 1 day with failures, the "
        "worst 2026-05-26 (95.89%)."
    ) in summaries
    assert 'aria-label="2026' not in html  # no per-day labels for a screen reader to wade
    bars = re.findall(r'<span class="(\w+)" title="([^"]+)"></span>', html)
    assert len(bars) == 12 * 90
    assert ("none", "2026-02-26: no data") in bars
    assert ("critical", "2026-05-16: 92.59% of probes succeeded; 1 h 47 min major outage") in bars
    assert ("major", "2026-05-26: 95.89% of probes succeeded; 50 min partial outage") in bars
    assert ("ok", "2026-05-25: 100.00% of probes succeeded") in bars
    # details on demand, newest first, without script
    billing = html[html.index('id="component-billing"') :]
    billing = billing[: billing.index("</details>")]
    assert "<details" in billing and "Daily uptime" in billing
    items = re.findall(r"<li>([^<]+)</li>", billing)
    assert items == [
        "2026-05-26: 95.89% of probes succeeded; 50 min partial outage",
        "2026-05-16: 92.59% of probes succeeded; 1 h 47 min major outage",
    ]
    assert "58 with every probe successful, 30 without probes" in billing


def test_uptime_is_successful_probes_over_all_and_degraded_is_not_downtime():
    from prober.api.page import bar_level
    from prober.domain.snapshot import DayUptime

    healthy = DayUptime("2026-05-01", {}, probes=8640, failures=0)
    assert healthy.uptime == 1.0 and bar_level(healthy) == "ok"  # no status change needed
    nothing = DayUptime("2026-05-01", {"operational": 600.0})
    assert nothing.uptime is None
    # 15% errors while degraded: 85% uptime, and degraded is no downtime (a green bar).
    degraded = DayUptime("2026-05-01", {"degraded_performance": 86400.0}, 1000, 150)
    assert degraded.uptime == 0.85 and degraded.downtime == 0 and bar_level(degraded) == "ok"
    # a partial outage weighs 0.3 of a major one
    partial = DayUptime("2026-05-01", {"partial_outage": 4000.0}, 100, 10)
    major = DayUptime("2026-05-01", {"major_outage": 4000.0}, 100, 10)
    assert partial.downtime == 1200.0 and major.downtime == 4000.0
    assert bar_level(partial) == "major" and bar_level(major) == "critical"
    assert bar_level(DayUptime("d", {"major_outage": 300.0}, 10, 1)) == "minor"


async def test_page_after_incident(client, backend):
    backend.set_snapshot(after_snapshot())
    text = _text(await (await client.get("/")).text())
    assert "All Systems Operational" in text
    assert "Active incidents" not in text
    past = text[text.index("Past incidents") :]
    assert INCIDENT_NAME in past
    assert "We have deployed a fix for this issue" in past
    assert "resolved at May 26, 2026, 10:26:00 PM UTC after 1 h 8 min" in past
    assert "monitoring since" not in past
    assert "Partial outage" not in text[: text.index("Past incidents")]


async def test_incident_page(client):
    resp = await client.get(f"/incidents/{INCIDENT_ID}")
    assert resp.status == 200
    text = _text(await resp.text())
    assert INCIDENT_NAME in text
    assert "Update timeline" in text
    assert "Major impact" in text or "major impact" in text
    assert "resolved at" not in text


async def test_resolved_incident_page_says_resolved_not_monitoring(client, backend):
    backend.set_snapshot(after_snapshot())
    text = _text(await (await client.get(f"/incidents/{INCIDENT_ID}")).text())
    assert "Resolved · detected May 26, 2026, 09:19:00 PM UTC" in text
    assert "resolved at May 26, 2026, 10:26:00 PM UTC after 1 h 8 min" in text
    assert "monitoring since" not in text


async def test_monitoring_incident_says_monitoring_since(client, backend):
    snap = after_snapshot()
    inc = snap.incidents[0]
    monitoring = dataclasses.replace(
        inc, status=IncidentStatus.MONITORING, resolved_at=None, updates=inc.updates[:-1]
    )
    backend.set_snapshot(dataclasses.replace(snap, incidents=(monitoring,)))
    text = _text(await (await client.get(f"/incidents/{INCIDENT_ID}")).text())
    assert "monitoring since May 26, 2026, 10:08:00 PM UTC" in text
    assert "resolved at" not in text


async def test_recovered_at_is_shown_apart_from_monitoring_and_resolution(client, backend):
    """Issue 11: duration = started to recovered; monitoring and quiet time come apart."""
    snap = after_snapshot()
    inc = snap.incidents[0]
    recovered = dataclasses.replace(inc, recovered_at=inc.started_at + 2400.0)
    backend.set_snapshot(dataclasses.replace(snap, incidents=(recovered,)))
    text = _text(await (await client.get(f"/incidents/{INCIDENT_ID}")).text())
    assert "recovered May 26, 2026, 09:57:30 PM UTC after 40 min · resolved at" in text
    assert "resolved at May 26, 2026, 10:26:00 PM UTC" in text
    assert "after 1 h 8 min" not in text


def _update_items(html: str, update_id_text: str) -> list[str]:
    """The visible text of each affected-component item of the update with that body."""
    start = html.index(update_id_text)
    block = html[start : html.index("</ul>", start)]
    return [_text(li).strip() for li in re.findall(r"<li[^>]*>(.*?)</li>", block, re.S)]


async def test_unchanged_components_show_only_their_status(client):
    html = await (await client.get("/")).text()
    items = _update_items(html, "We are deploying a mitigation")
    assert len(items) == 12  # every affected component, as Statuspage lists them
    # real changes first, each with a real arrow; unchanged ones show just their status
    assert items[:2] == [
        "User and authentication: Degraded performance → Partial outage",
        "Dashboard: Operational → Partial outage",
    ]
    assert "Billing: Degraded performance" in items
    assert all("→" not in i for i in items[2:])
    assert "Degraded performance → Degraded performance" not in _text(html)
    assert "->" not in _text(html)


async def test_feed_marks_only_real_changes(client):
    root = ET.fromstring(await (await client.get("/history.atom")).read())
    content = root.find(f"{ATOM}entry/{ATOM}content").text
    assert "Billing: Degraded performance<" in content
    assert "Dashboard: Operational → Partial outage" in content
    assert "Degraded performance → Degraded performance" not in content


async def test_no_blank_band_above_card_titles(client):
    html = await (await client.get(f"/incidents/{INCIDENT_ID}")).text()
    assert '<article class="card incident" id="incident-inc-20260526-1">\n<h2>' in html
    assert ".card>h2:first-child,.card>h3:first-child{margin-top:0}" in html


async def test_feed_is_valid_atom(client, backend):
    backend.set_snapshot(after_snapshot())
    resp = await client.get("/history.atom")
    assert resp.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(await resp.read())
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert entries[0].findtext(f"{ATOM}title") == f"[resolved] {INCIDENT_NAME}"
    first = entries[0]
    assert first.findtext(f"{ATOM}id") == f"https://status.example.com/incidents/{INCIDENT_ID}"
    assert first.findtext(f"{ATOM}updated") == "2026-05-26T22:26:00.000Z"
    content = first.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    assert "We have deployed a fix" in content.text


async def test_hostile_text_is_escaped_everywhere(client, backend):
    backend.set_snapshot(hostile_snapshot())
    html = await (await client.get("/")).text()
    for raw in RAW_MARKUP:
        assert raw not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;"
    assert escaped in html
    page = await (await client.get(f"/incidents/{INCIDENT_ID}")).text()
    for raw in RAW_MARKUP:
        assert raw not in page
    assert "title &lt;script&gt;" in page

    feed = await (await client.get("/history.atom")).read()
    root = ET.fromstring(feed)  # still well-formed XML
    entry = root.find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}title") == f"[investigating] title {XSS}"  # text, not markup
    content = entry.find(f"{ATOM}content").text
    for raw in RAW_MARKUP:
        assert raw not in content  # the HTML payload is escaped HTML
    assert "body &lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert b"<script" not in feed and b"<img" not in feed

    for path in ("/api/v2/summary.json", "/api/prober/v1/components.json"):
        raw_body = await (await client.get(path)).read()
        assert b"<" not in raw_body and b">" not in raw_body  # HTML-safe JSON escapes
        decoded = json.loads(raw_body)
        blob = json.dumps(decoded)
        assert "Dash <script>alert(1)</script>" in blob  # the data itself is intact
    summary = json.loads(await (await client.get("/api/v2/summary.json")).read())
    assert summary["incidents"][0]["incident_updates"][-1]["body"] == f"body {XSS}"


async def test_token_never_rendered(client):
    for path in ("/", "/history.atom", "/api/v2/summary.json", "/api/prober/v1/checks.json"):
        assert TOKEN not in await (await client.get(path)).text()


def test_autoescape_on():
    assert PageRenderer().env.autoescape is True


def test_duration_text():
    assert duration_text(None) == "ongoing"
    assert duration_text(20) == "under a minute"
    assert duration_text(4140) == "1 h 9 min"
    assert duration_text(90000) == "1 d 1 h"


async def test_network_notice(client, backend):
    backend.set_snapshot(dataclasses.replace(after_snapshot(), network_healthy=False))
    text = _text(await (await client.get("/")).text())
    assert "Monitoring degraded" in text
    assert "most likely a problem on the prober's side" in text
