"""The page as a reader meets it: concise updates with the component list on demand,
collapsed past incidents and a history per month, a banner from the components' present
states, times to the second with their offset, a script-free refresh that keeps ETags."""

from __future__ import annotations

import dataclasses
import re

from prober.config.model import Page
from prober.domain.incident import AffectedComponent, IncidentUpdate
from prober.domain.status import ComponentStatus as CS
from prober.domain.status import IncidentStatus
from tests.api.fake import INCIDENT_ID, INCIDENT_NAME, PAGE, T0, after_snapshot, during_snapshot


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_each_update_is_one_sentence_with_the_component_list_behind_details(client):
    html = await (await client.get("/")).text()
    active = html[html.index('id="open-h"') : html.index('id="comp-h"')]
    # the list of 12 components sits inside a closed <details>, one per update
    boxes = re.findall(r'<details class="affected-box">\s*<summary>([^<]+)</summary>', active)
    assert boxes[1:] == [
        "12 affected components (2 changed)",
        "11 affected components (11 changed)",
    ]
    assert "<details open" not in html
    # what a reader sees without opening anything: status, time, one sentence
    timeline = active[active.index('<ol class="timeline">') : active.index("</ol>")]
    visible = re.sub(r"<details.*?</details>", "", timeline, flags=re.S)
    assert "Billing" not in _text(visible)
    assert "We are deploying a mitigation for the Dashboard and Backend API" in _text(visible)


async def test_human_update_says_what_changed_in_one_sentence(client):
    html = await (await client.get("/")).text()
    assert (
        '<p class="update-change">User and authentication: Degraded performance → Partial '
        "outage; Dashboard: Operational → Partial outage.</p>"
    ) in html


async def test_banner_follows_the_components_not_an_incident_in_monitoring(client, backend):
    snap = after_snapshot()
    inc = snap.incidents[0]
    monitoring = dataclasses.replace(
        inc, status=IncidentStatus.MONITORING, resolved_at=None, updates=inc.updates[:-1]
    )
    backend.set_snapshot(dataclasses.replace(snap, incidents=(monitoring,)))
    html = await (await client.get("/")).text()
    banner = html[html.index('id="banner"') : html.index("</div>", html.index('id="banner"'))]
    assert "banner-none" in html and "All Systems Operational" in banner
    assert "Partial System Outage" not in html
    assert "Active incidents" in _text(html) and "Monitoring" in _text(html)
    # the Statuspage status rollup agrees with the banner
    status = (await (await client.get("/api/v2/status.json")).json())["status"]
    assert status == {"indicator": "none", "description": "All Systems Operational"}


async def test_banner_during_outage(client):
    html = await (await client.get("/")).text()
    assert 'class="banner banner-major"' in html and "Partial System Outage" in html


async def test_times_have_seconds_offset_and_datetime(client, backend):
    berlin = dataclasses.replace(PAGE, time_zone="Europe/Berlin")
    backend.set_snapshot(dataclasses.replace(after_snapshot(), page=berlin))
    html = await (await client.get(f"/incidents/{INCIDENT_ID}")).text()
    assert (
        '<time datetime="2026-05-27T00:26:00+02:00">May 27, 2026, 12:26:00 AM CEST '
        "(UTC+02:00)</time>"
    ) in html
    backend.set_snapshot(after_snapshot())
    html = await (await client.get(f"/incidents/{INCIDENT_ID}")).text()
    assert '<time datetime="2026-05-26T22:26:00+00:00">May 26, 2026, 10:26:00 PM UTC</time>' in html


async def test_refresh_without_script_is_the_readers_choice(client, backend):
    # The default page never reloads by itself (WCAG 2.2.1); it offers to.
    html = await (await client.get("/")).text()
    assert 'http-equiv="refresh"' not in html and "<script" not in html
    assert '<a href="/?refresh=on">Reload this page every 1 min</a>' in html
    auto = await (await client.get("/?refresh=on")).text()
    assert '<meta http-equiv="refresh" content="60">' in auto
    assert '<a href="/">Stop reloading</a>' in auto
    for refresh, expected in ((15.0, 'content="15"'), (0.0, None)):
        page = Page(name="Acme Status", url=PAGE.url, refresh=refresh)
        backend.set_snapshot(dataclasses.replace(during_snapshot(), page=page))
        html = await (await client.get("/?refresh=on")).text()
        if expected is None:
            assert 'http-equiv="refresh"' not in html and "refresh=on" not in html
        else:
            assert f'<meta http-equiv="refresh" {expected}>' in html
            assert "this page reloads every 15 s" in html


async def test_an_unchanged_page_keeps_its_etag_across_snapshots(client, backend):
    first = await client.get("/?refresh=on")  # what a reloading page asks for
    etag = first.headers["ETag"]
    # a new snapshot 5 s later (ratios refreshed, nothing a reader sees changed)
    later = during_snapshot()
    backend.set_snapshot(dataclasses.replace(later, generated_at=later.generated_at + 5))
    again = await client.get("/?refresh=on", headers={"If-None-Match": etag})
    assert again.status == 304
    # a real change gives a new body and a new ETag
    backend.set_snapshot(after_snapshot())
    changed = await client.get("/?refresh=on", headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag


async def test_past_incidents_are_collapsed_on_the_home_page(client, backend):
    backend.set_snapshot(after_snapshot())
    html = await (await client.get("/")).text()
    past = html[html.index('id="past-h"') :]
    card = past[past.index(f'id="incident-{INCIDENT_ID}"') : past.index("</article>")]
    assert INCIDENT_NAME in card
    assert "This incident has been resolved." in card  # the last word, visible
    head, _, hidden = card.partition('<details class="timeline-box">')
    assert "We are deploying a mitigation" not in head
    assert "<summary>All 4 updates" in hidden and "We are deploying a mitigation" in hidden
    assert '<a href="/history">Incident history</a>' in html


async def test_a_history_page_reads_the_store_once_per_snapshot(client, backend):
    backend.set_snapshot(after_snapshot())
    reads: list[tuple[float, float]] = []
    real = backend.incident_history

    async def counted(since: float, until: float):
        reads.append((since, until))
        return await real(since, until)

    backend.incident_history = counted
    for _ in range(3):
        assert (await client.get("/history/2026-05")).status == 200
    assert len(reads) == 1
    backend.set_snapshot(after_snapshot())  # a new snapshot version: read again
    assert (await client.get("/history/2026-05")).status == 200
    assert len(reads) == 2


async def test_history_has_a_page_per_month(client, backend):
    backend.set_snapshot(after_snapshot())
    resp = await client.get("/history", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/history/2026-05"
    may = await client.get("/history/2026-05")
    assert may.status == 200 and "ETag" in may.headers
    text = _text(await may.text())
    assert "Incident history: May 2026" in text and INCIDENT_NAME in text
    assert "Old billing blip" not in text  # started in April
    html = await may.text()
    assert '<a href="/history/2026-04" rel="prev">' in html
    assert 'rel="next"' not in html  # no future months
    april = _text(await (await client.get("/history/2026-04")).text())
    assert "Old billing blip" in april and INCIDENT_NAME not in april
    assert (
        '<a href="/history/2026-05" rel="next">'
        in await (await client.get("/history/2026-04")).text()
    )
    empty = _text(await (await client.get("/history/2025-12")).text())
    assert "No incidents in December 2025." in empty
    for bad in ("2030-01", "2026-13", "nope", "2026-5"):
        assert (await client.get(f"/history/{bad}")).status == 404, bad


async def test_phone_layout_never_breaks_words(client):
    html = await (await client.get("/")).text()
    assert "overflow-wrap:anywhere" not in html and "word-break:break-all" not in html
    assert "overflow-wrap:break-word" in html


def test_change_sentence_counts_many_changes():
    from prober.api.page import change_sentence

    moved = tuple(
        AffectedComponent(f"c{i}", f"C{i}", CS.OPERATIONAL, CS.MAJOR_OUTAGE) for i in range(5)
    )
    update = IncidentUpdate("u", "i", IncidentStatus.INVESTIGATING, "x", T0, moved)
    assert change_sentence(update) == "5 components changed status."
    assert change_sentence(dataclasses.replace(update, affected_components=())) == ""


async def test_a_long_list_of_affected_components_is_summarised(client):
    html = await (await client.get("/")).text()
    card = html[html.index('id="open-h"') : html.index('<ol class="timeline">')]
    assert (
        "<summary>Affected: Platform API, User and authentication, Session management "
        "and 9 more</summary>"
    ) in card
    visible = re.sub(r"<details.*?</details>", "", card, flags=re.S)
    assert "SMS delivery" not in visible
