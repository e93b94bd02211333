"""The status page in a real browser: headless Chromium driven through chromedriver.

Asserts what a person sees (the rendered, visible text) during the seed-like incident and
after it, on a desktop window and a phone-sized one, and keeps screenshots in artifacts/.
Fails, never skips, when Chromium or chromedriver is missing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from prober.api import make_app
from tests.api.fake import INCIDENT_ID, INCIDENT_NAME, FakeBackend, after_snapshot, during_snapshot

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
CALL_TIMEOUT = aiohttp.ClientTimeout(total=20)


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"real-browser test needs {', '.join(missing)}: install the Debian packages "
            "`chromium` and `chromium-driver` (apt-get install chromium chromium-driver)",
            pytrace=False,
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Driver:
    """The few W3C WebDriver commands the test needs, over aiohttp."""

    def __init__(self, http: aiohttp.ClientSession, base: str, session: str) -> None:
        self.http, self.base, self.session = http, base, session

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self.base}/session/{self.session}{path}"
        async with self.http.request(method, url, json=body) as resp:
            payload = await resp.json()
        if resp.status != 200:
            raise AssertionError(f"webdriver {method} {path}: {resp.status} {payload}")
        return payload["value"]

    async def open(self, url: str) -> None:
        await self.call("POST", "/url", {"url": url})

    async def find(self, css: str) -> str:
        found = await self.call("POST", "/element", {"using": "css selector", "value": css})
        assert isinstance(found, dict) and ELEMENT in found, f"no element {css!r}: {found}"
        return str(found[ELEMENT])

    async def find_all(self, css: str) -> list[str]:
        found = await self.call("POST", "/elements", {"using": "css selector", "value": css})
        return [str(f[ELEMENT]) for f in found]

    async def text(self, css: str) -> str:
        """The element's rendered text, as a person sees it (hidden text excluded).

        Whitespace is normalized: layout decides line breaks, the words are what counts.
        """
        raw = await self.call("GET", f"/element/{await self.find(css)}/text")
        return " ".join(str(raw).split())

    async def displayed(self, css: str) -> bool:
        return bool(await self.call("GET", f"/element/{await self.find(css)}/displayed"))

    async def rect(self, css: str) -> dict[str, float]:
        rect: dict[str, float] = await self.call("GET", f"/element/{await self.find(css)}/rect")
        return rect

    async def resize(self, width: int, height: int) -> None:
        await self.call("POST", "/window/rect", {"width": width, "height": height})

    async def script(self, source: str) -> Any:
        return await self.call("POST", "/execute/sync", {"script": source, "args": []})

    async def dark(self, on: bool) -> None:
        """Emulate prefers-color-scheme: dark (or back to light) through Chromium's CDP."""
        media = {"features": [{"name": "prefers-color-scheme", "value": "dark" if on else "light"}]}
        await self.call(
            "POST", "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": media}
        )

    async def screenshot(self, name: str) -> Path:
        png = base64.b64decode(await self.call("GET", "/screenshot"))
        assert png.startswith(b"\x89PNG"), "screenshot is not a PNG"
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        path.write_bytes(png)
        return path


@contextlib.asynccontextmanager
async def serve(backend: FakeBackend) -> AsyncIterator[str]:
    runner = web.AppRunner(make_app(backend))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def chrome(tmp_path: Path) -> AsyncIterator[Driver]:
    _require_browser()
    port = _free_port()
    log = (tmp_path / "chromedriver.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        str(CHROMEDRIVER),
        f"--port={port}",
        "--allowed-ips=127.0.0.1",
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(timeout=CALL_TIMEOUT) as http:
            for _ in range(100):  # bounded: at most ~10 s for chromedriver to listen
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{base}/status") as resp:
                        if resp.status == 200 and (await resp.json())["value"]["ready"]:
                            break
                if proc.returncode is not None:
                    raise AssertionError(f"chromedriver exited with {proc.returncode}")
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("chromedriver did not become ready within 10 s")
            options = {
                "binary": str(CHROMIUM),
                "args": [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"],
            }
            caps = {
                "capabilities": {
                    "alwaysMatch": {
                        "browserName": "chrome",
                        "goog:chromeOptions": options,
                        "timeouts": {"pageLoad": 10000, "script": 5000},
                    }
                }
            }
            async with http.post(f"{base}/session", json=caps) as resp:
                created = await resp.json()
            assert resp.status == 200, f"could not start Chromium: {created}"
            driver = Driver(http, base, created["value"]["sessionId"])
            try:
                yield driver
            finally:
                with contextlib.suppress(aiohttp.ClientError, AssertionError):
                    await driver.call("DELETE", "")
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), timeout=5)
            except TimeoutError:
                proc.kill()
                await asyncio.wait_for(proc.wait(), timeout=5)
        log.close()


async def test_status_page_in_chromium(tmp_path):
    backend = FakeBackend(during_snapshot())
    async with asyncio.timeout(90), serve(backend) as url, chrome(tmp_path) as browser:
        await browser.resize(1000, 2400)
        await browser.open(url + "/")

        # During the incident: the banner, the incident, a component in partial outage.
        assert await browser.text("#banner") == "Partial System Outage"
        active = await browser.text("#open-h + article")
        assert INCIDENT_NAME in active
        assert "We are deploying a mitigation for the Dashboard and Backend API" in active
        assert "Dashboard: Operational → Partial outage" in active
        assert "Billing: Degraded performance" not in active  # behind a closed <details>
        assert "12 affected components (2 changed)" in active
        dashboard = await browser.text("#component-dashboard .comp-head")
        assert "Dashboard" in dashboard and "Partial outage" in dashboard
        assert await browser.displayed("#component-dashboard .status svg")  # icon, not colour
        assert (await browser.rect("#component-dashboard .status svg"))["width"] > 0
        bars = await browser.find_all("#component-billing .bars span")
        assert len(bars) == 90
        await browser.screenshot("status-page-during-incident.png")

        # On a phone: nothing overflows sideways, the banner is still on top.
        await browser.resize(390, 844)
        await browser.open(url + "/")
        overflow = await browser.script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"page is {overflow}px wider than a phone screen"
        assert await browser.text("#banner") == "Partial System Outage"
        await browser.screenshot("status-page-phone.png")

        # Dark, on the phone: the page follows the system theme.
        await browser.dark(True)
        background = await browser.script("return getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)", background
        assert await browser.text("#banner") == "Partial System Outage"
        await browser.screenshot("status-page-phone-dark.png")
        await browser.dark(False)

        # After it: all operational, the incident under past incidents.
        backend.set_snapshot(after_snapshot())
        await browser.resize(1000, 2400)
        await browser.open(url + "/")
        assert await browser.text("#banner") == "All Systems Operational"
        assert not await browser.find_all("#open-h")
        past = await browser.text("#past-h ~ article")
        assert INCIDENT_NAME in past
        assert "resolved at" in past and "This incident has been resolved." in past
        statuses = {
            await browser.call("GET", f"/element/{e}/text")
            for e in await browser.find_all(".component .status-text")
        }
        assert statuses == {"Operational"}
        shot = await browser.screenshot("status-page-after-incident.png")
        assert shot.stat().st_size > 10_000

        # The resolved incident's own page: resolved, not "monitoring"; no band above the title.
        await browser.resize(1280, 1400)
        await browser.open(url + "/incidents/" + INCIDENT_ID)
        card = await browser.text("article.incident")
        assert "resolved at" in card and "after 1 h 8 min" in card
        assert "monitoring since" not in card
        top = (await browser.rect("article.incident"))["y"]
        title = (await browser.rect("article.incident h2"))["y"]
        assert title - top < 24, f"{title - top}px above the incident title"
        await browser.dark(True)
        await browser.screenshot("incident-page-dark.png")
