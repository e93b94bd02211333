"""Subscriptions: the Atom feed per component, the RSS 2.0 feed, shields-style SVG badges,
and the documented Alertmanager route (checked against the rule file)."""

from __future__ import annotations

import dataclasses
import re
from email.utils import parsedate_to_datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import yaml

from tests.api.fake import INCIDENT_ID, INCIDENT_NAME, XSS, after_snapshot, hostile_snapshot

ATOM = "{http://www.w3.org/2005/Atom}"
SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]


async def test_rss_2_0_feed(client, backend):
    backend.set_snapshot(after_snapshot())
    resp = await client.get("/history.rss")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(await resp.read())
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    for required in ("title", "link", "description"):  # RSS 2.0 required channel elements
        assert channel.findtext(required)
    assert channel.findtext("link") == "https://status.example.com/"
    self_link = channel.find(f"{ATOM}link")
    assert self_link is not None and self_link.get("rel") == "self"
    assert self_link.get("href") == "https://status.example.com/history.rss"
    parsedate_to_datetime(channel.findtext("lastBuildDate") or "")
    items = channel.findall("item")
    assert items[0].findtext("title") == f"[resolved] {INCIDENT_NAME}"
    assert items[0].findtext("link") == f"https://status.example.com/incidents/{INCIDENT_ID}"
    when = parsedate_to_datetime(items[0].findtext("pubDate") or "")
    assert when.isoformat() == "2026-05-26T22:26:00+00:00"
    assert items[0].find("guid").get("isPermaLink") == "false"
    assert "We have deployed a fix" in (items[0].findtext("description") or "")


async def test_rss_escapes_hostile_text(client, backend):
    backend.set_snapshot(hostile_snapshot())
    raw = await (await client.get("/history.rss")).read()
    root = ET.fromstring(raw)
    item = root.find("channel/item")
    assert item.findtext("title") == f"[investigating] title {XSS}"
    assert b"<script" not in raw and b"<img" not in raw


async def test_atom_feed_per_component(client, backend):
    backend.set_snapshot(after_snapshot())
    billing = ET.fromstring(await (await client.get("/components/billing/history.atom")).read())
    titles = [e.findtext(f"{ATOM}title") for e in billing.findall(f"{ATOM}entry")]
    assert titles == [f"[resolved] {INCIDENT_NAME}", "[resolved] Old billing blip"]
    assert billing.findtext(f"{ATOM}title") == "Acme Status incident history: Billing"
    self_link = billing.find(f"{ATOM}link[@rel='self']")
    assert self_link.get("href") == "https://status.example.com/components/billing/history.atom"
    dashboard = ET.fromstring(await (await client.get("/components/dashboard/history.atom")).read())
    assert [e.findtext(f"{ATOM}title") for e in dashboard.findall(f"{ATOM}entry")] == [
        f"[resolved] {INCIDENT_NAME}"
    ]
    assert (await client.get("/components/nope/history.atom")).status == 404


async def test_feeds_keep_their_etag_while_nothing_changes(client, backend):
    backend.set_snapshot(after_snapshot())
    for path in ("/history.atom", "/history.rss", "/components/billing/history.atom"):
        etag = (await client.get(path)).headers["ETag"]
        later = after_snapshot()
        backend.set_snapshot(dataclasses.replace(later, generated_at=later.generated_at + 30))
        again = await client.get(path, headers={"If-None-Match": etag})
        assert again.status == 304, path


def _svg(raw: bytes) -> tuple[str, str, list[str]]:
    root = ET.fromstring(raw)
    assert root.tag == f"{SVG}svg" and root.get("height") == "20"
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    fills = [r.get("fill") for r in root.iter(f"{SVG}rect")]
    return root.get("aria-label") or "", root.findtext(f"{SVG}title") or "", [*texts, *fills]


async def test_status_badge(client):
    resp = await client.get("/badge/dashboard/status.svg")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert "ETag" in resp.headers
    label, title, parts = _svg(await resp.read())
    assert label == title == "Dashboard: partial outage"
    assert "Dashboard" in parts and "partial outage" in parts and "#b34700" in parts
    ok = _svg(await (await client.get("/badge/platform-api/status.svg")).read())
    assert ok[0] == "Platform API: degraded performance"


async def test_uptime_badge(client, backend):
    label, _, parts = _svg(await (await client.get("/badge/billing/uptime.svg")).read())
    assert label == "Billing uptime: 99.82%"
    assert "#5c7d00" in parts  # at least 99%, under 99.9%
    snap = after_snapshot()
    backend.set_snapshot(dataclasses.replace(snap, uptime={}))
    label, _, parts = _svg(await (await client.get("/badge/billing/uptime.svg")).read())
    assert label == "Billing uptime: no data"


async def test_badges_escape_names_and_404_unknown(client, backend):
    backend.set_snapshot(hostile_snapshot())
    raw = await (await client.get("/badge/dashboard/status.svg")).read()
    assert b"<script" not in raw and b"<img" not in raw
    assert _svg(raw)[0] == f"Dash {XSS}: partial outage"
    assert (await client.get("/badge/nope/status.svg")).status == 404
    assert (await client.get("/badge/nope/uptime.svg")).status == 404


async def test_page_links_the_subscriptions(client):
    html = await (await client.get("/")).text()
    assert 'type="application/rss+xml"' in html and 'href="/history.rss"' in html
    assert 'href="/components/billing/history.atom"' in html
    assert 'href="/badge/billing/status.svg"' in html


def test_documented_alertmanager_route_matches_the_rules():
    doc = (ROOT / "docs" / "DEPLOY.md").read_text()
    section = doc[doc.index("### Paging: an Alertmanager route") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, "the paging section has a YAML example"
    config = yaml.safe_load(block.group(1))
    rules = yaml.safe_load((ROOT / "grafana" / "alerts" / "prober.rules.yaml").read_text())
    alerts = {r["alert"]: r["labels"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    receivers = {r["name"] for r in config["receivers"]}
    route = config["route"]
    assert route["receiver"] in receivers

    def matches(child: dict, name: str) -> bool:
        labels = {"alertname": name, **alerts[name]}
        for matcher in child["matchers"]:
            label, op, value = re.match(r'(\w+)\s*(=~|=)\s*"?([^"]*)"?', matcher).groups()
            got = labels.get(label, "")
            if not (re.fullmatch(value, got) if op == "=~" else got == value):
                return False
        return True

    routed: dict[str, str] = {}
    for name in alerts:  # Alertmanager: the first matching child route wins
        for child in route["routes"]:
            assert child["receiver"] in receivers
            if matches(child, name):
                routed[name] = child["receiver"]
                break
    critical = {a for a, lab in alerts.items() if lab["severity"] == "critical"}
    assert critical >= {"ProberComponentMajorOutage", "ProberNotProbing"}
    assert {a for a, r in routed.items() if r == "pager"} == critical
    assert set(routed) == set(alerts), "every prober alert reaches someone"
