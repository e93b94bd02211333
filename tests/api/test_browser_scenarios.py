"""What a person sees in Chromium, scenario by scenario, on a desktop and a phone, light
and dark: a healthy page at 100% uptime, an incident with concise updates, monitoring,
resolved with a post-mortem, a human-opened incident and a scheduled maintenance. Each
view is screenshotted into artifacts/ and checked by axe-core (no serious or critical
violations). axe-core comes from npm (scripts/test.sh installs it into .axe/) and is
injected by the test; the page itself runs no script."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from prober.domain.snapshot import StatusSnapshot
from tests.api.fake import (
    HUMAN_ID,
    HUMAN_NAME,
    INCIDENT_ID,
    INCIDENT_NAME,
    FakeBackend,
    during_snapshot,
    healthy_snapshot,
    human_snapshot,
    maintenance_snapshot,
    monitoring_snapshot,
    postmortem_snapshot,
)
from tests.api.test_browser import Driver, chrome, serve

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
VIEWS = {"desktop": (1280, 2600), "phone": (390, 3200)}


def _axe_source() -> str:
    if not AXE.exists():
        pytest.fail(
            f"{AXE} is missing: run `npm install --prefix .axe --no-save axe-core@4` "
            "(scripts/test.sh does)",
            pytrace=False,
        )
    return AXE.read_text()


async def axe_violations(browser: Driver, source: str) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the open page (WCAG 2.x A/AA rules and
    best practices)."""
    await browser.script(source + "\nreturn typeof axe;")
    result = await browser.call(
        "POST",
        "/execute/async",
        {
            "script": """
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']})
           .then(r => done(JSON.stringify(r.violations)))
           .catch(e => done(JSON.stringify([{id: 'axe-error', impact: 'critical',
                                              help: String(e), nodes: []}])));
    """,
            "args": [],
        },
    )
    found: list[dict[str, Any]] = json.loads(result)
    return [v for v in found if v.get("impact") in ("serious", "critical")]


def _describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:3])
        for v in violations
    )


Check = Callable[[Driver], Any]

# Every word of the visible text that the layout split across two lines (a word's range
# with more than one line box), mid-word hyphenation included.
BROKEN_WORDS = r"""
const out = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const text = node.textContent;
  const re = /\S+/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    const range = document.createRange();
    range.setStart(node, m.index);
    range.setEnd(node, m.index + m[0].length);
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                         .map(r => Math.round(r.top)));
    if (tops.size > 1) out.push(m[0]);
  }
}
return out;
"""


async def _healthy(b: Driver) -> None:
    assert await b.text("#banner") == "All Systems Operational"
    legend = await b.text("#component-billing .bar-legend")
    assert "100.00% uptime" in legend
    label = await b.call(
        "GET", f"/element/{await b.find('#component-billing .bars')}/attribute/aria-label"
    )
    assert label == ("Billing: 100.00% uptime over 60 days with probes, no failed probes.")
    assert not await b.find_all("#open-h")


async def _incident(b: Driver) -> None:
    assert await b.text("#banner") == "Partial System Outage"
    card = await b.text("#open-h + article")
    assert INCIDENT_NAME in card
    assert "We are deploying a mitigation for the Dashboard and Backend API" in card
    assert "Billing: Degraded performance" not in card  # the list waits behind <details>
    assert "12 affected components (2 changed)" in card
    details = await b.find("#open-h + article .timeline details.affected-box")
    summary = await b.find("#open-h + article .timeline details.affected-box summary")
    await b.call("POST", f"/element/{summary}/click", {})
    assert "Billing: Degraded performance" in " ".join(
        str(await b.call("GET", f"/element/{details}/text")).split()
    )


async def _monitoring(b: Driver) -> None:
    assert await b.text("#banner") == "All Systems Operational"  # components are fine
    card = await b.text("#open-h + article")
    assert "Monitoring" in card and "monitoring since" in card


async def _postmortem(b: Driver) -> None:
    card = await b.text("article.incident")
    assert "Postmortem" in card and "What happened" in card
    assert "connection pool limit" in card
    assert '<script>alert("this stays text")</script>' in card  # shown, never run
    assert await b.script("return document.querySelectorAll('.postmortem h2').length") == 2
    assert await b.script("return document.querySelectorAll('.postmortem li').length") == 2


async def _human(b: Driver) -> None:
    assert await b.text("#banner") == "Partially Degraded Service"
    card = await b.text("#open-h + article")
    assert HUMAN_NAME in card and "Identified" in card
    assert "Billing: Partial outage → Degraded performance." in card
    assert "The provider has found the cause" in card


async def _maintenance(b: Driver) -> None:
    section = await b.text("#maint-h ~ article")
    assert "SMS vendor switch" in section and "In progress" in section
    text = await b.text("main")
    assert "Database upgrade" in text and "Scheduled" in text
    assert "Under maintenance" in await b.text("#component-sms-delivery .comp-head")
    assert await b.text("#banner") == "Service Under Maintenance"


SCENARIOS: dict[str, tuple[Callable[[], StatusSnapshot], str, Check]] = {
    "healthy": (healthy_snapshot, "/", _healthy),
    "incident": (during_snapshot, "/", _incident),
    "monitoring": (monitoring_snapshot, "/", _monitoring),
    "postmortem": (postmortem_snapshot, f"/incidents/{INCIDENT_ID}", _postmortem),
    "human": (human_snapshot, "/", _human),
    "maintenance": (maintenance_snapshot, "/", _maintenance),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_scenario_in_chromium(tmp_path: Path, scenario: str) -> None:
    make, path, check = SCENARIOS[scenario]
    source = _axe_source()
    backend = FakeBackend(make())
    async with asyncio.timeout(120), serve(backend) as url, chrome(tmp_path) as browser:
        for view, (width, height) in VIEWS.items():
            for dark in (False, True):
                await browser.resize(width, height)
                await browser.dark(dark)
                await browser.open(url + path)
                await check(browser)
                if view == "phone":
                    overflow = await browser.script(
                        "return document.documentElement.scrollWidth"
                        " - document.documentElement.clientWidth"
                    )
                    assert overflow <= 0, f"{overflow}px wider than the phone"
                    broken = await browser.script(BROKEN_WORDS)
                    assert broken == [], f"words broken across lines: {broken}"
                theme = "dark" if dark else "light"
                shot = await browser.screenshot(f"{scenario}-{view}-{theme}.png")
                assert shot.stat().st_size > 5_000
                bad = await axe_violations(browser, source)
                assert not bad, f"{scenario} {view} {theme}:\n{_describe(bad)}"
        await browser.dark(False)


async def test_human_incident_page_in_chromium(tmp_path: Path) -> None:
    backend = FakeBackend(human_snapshot())
    async with asyncio.timeout(60), serve(backend) as url, chrome(tmp_path) as browser:
        await browser.resize(390, 2000)
        await browser.open(url + f"/incidents/{HUMAN_ID}")
        card = await browser.text("article.incident")
        assert HUMAN_NAME in card and "minor impact" in card.lower()
        assert "Billing: Operational → Partial outage." in card
        await browser.screenshot("human-incident-page-phone.png")
        bad = await axe_violations(browser, _axe_source())
        assert not bad, _describe(bad)


async def test_the_axe_check_can_fail(tmp_path: Path) -> None:
    """The harness is no rubber stamp: a page with known violations reports them."""
    async with asyncio.timeout(60), chrome(tmp_path) as browser:
        await browser.open(
            "data:text/html,<html><body><img src='x.png'>"
            "<p style='color:%23777;background:%23888'>low contrast</p>"
            "</body></html>"
        )
        bad = {v["id"] for v in await axe_violations(browser, _axe_source())}
        assert {"image-alt", "html-has-lang"} <= bad, bad
        await browser.open(
            "data:text/html,<html lang=en><body><p style='width:60px;"
            "overflow-wrap:anywhere'>fine authentication</p></body></html>"
        )
        assert await browser.script(BROKEN_WORDS) == ["authentication"]
