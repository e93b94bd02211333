"""Real-traffic signals end to end: a real Prometheus on loopback scrapes a small service
whose request counters the test drives, and a real `prober run` reads the 5xx share from
that Prometheus (docs/CONFIGURATION.md, "Real-traffic signals").

- 30% of real traffic answering 5xx puts the component in partial_outage and opens an
  incident that says which signal moved.
- A Prometheus that stops answering is "no data": prober_traffic_up turns 0 and the error
  evaluations count up, but the status stays and no incident opens.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.harness import ProberProcess, prometheus_url, until

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
REQUESTS_PER_SCRAPE = 100


class App:
    """The service under real traffic: every scrape of its /metrics accounts for another
    REQUESTS_PER_SCRAPE requests, `error_share` of them answered 500."""

    def __init__(self) -> None:
        self.error_share = 0.0
        self.ok = 0
        self.errors = 0

    async def metrics(self, request: web.Request) -> web.Response:
        failed = round(REQUESTS_PER_SCRAPE * self.error_share)
        self.errors += failed
        self.ok += REQUESTS_PER_SCRAPE - failed
        text = (
            "# TYPE http_requests_total counter\n"
            f'http_requests_total{{code="200"}} {self.ok}\n'
            f'http_requests_total{{code="500"}} {self.errors}\n'
        )
        return web.Response(text=text, content_type="text/plain")

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})


@pytest.fixture
async def app() -> AsyncIterator[tuple[App, str]]:
    state = App()
    web_app = web.Application()
    web_app.router.add_get("/metrics", state.metrics)
    web_app.router.add_get("/health", state.health)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield state, f"{host}:{port}"
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def prometheus(tmp: Path, target: str) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """A real Prometheus on port 0 scraping `target`; `prometheus_url` reads its address
    from the log."""
    assert Path(PROMETHEUS).exists(), "Debian package prometheus is required"
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        f"scrape_configs:\n  - job_name: app\n    static_configs:\n"
        f"      - targets: ['{target}']\n"
    )
    log_path = tmp / "prometheus.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            "--web.listen-address=127.0.0.1:0",
            "--log.level=info",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield log_path, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=15)
        log.close()


def write_config(path: Path, prom: str, app: str) -> Path:
    path.write_text(f"""
page: {{name: Traffic}}
components:
  - id: platform-api
    name: Platform API
    status: {{window: 20s, min_samples: 20, recovery_time: 5s}}
    traffic:
      prometheus: {prom}
      ratio: >-
        sum(rate(http_requests_total{{code=~"5.."}}[5s]))
        / sum(rate(http_requests_total[5s]))
      requests: sum(rate(http_requests_total[5s]))
      interval: 1s
      min_request_rate: 1
      mode: traffic_only
checks:
  - id: platform-api-health
    component: platform-api
    url: http://{app}/health
    interval: 1s
    timeout: 500ms
""")
    return path


async def status(p: ProberProcess) -> str:
    body = await p.get_json("/api/v2/components.json")
    (component,) = body["components"]
    return str(component["status"])


async def traffic_metrics(p: ProberProcess) -> dict[str, float]:
    _, text = await p.request("GET", "/metrics")
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("prober_traffic_") and 'component="platform-api"' in line:
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


async def wait_prometheus(prom: str) -> None:
    async def ready() -> bool:
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with aiohttp.ClientSession() as s, s.get(f"{prom}/-/ready") as r:
                return r.status == 200
        return False

    await until(ready, timeout=60, what="Prometheus ready")


async def test_thirty_percent_5xx_on_real_traffic_is_a_partial_outage(
    app: tuple[App, str], tmp_path: Path
) -> None:
    state, address = app
    state.error_share = 0.3
    with prometheus(tmp_path, address) as (log, proc):
        prom = await prometheus_url(log, proc)
        await wait_prometheus(prom)
        config = write_config(tmp_path / "checks.yaml", prom, address)
        p = ProberProcess(config, tmp_path / "prober.db")
        await p.start()
        try:

            async def partial() -> bool:
                return await status(p) == "partial_outage"

            await until(partial, timeout=60, what="partial_outage from real traffic")

            async def incident() -> Any:
                body = await p.get_json("/api/v2/incidents/unresolved.json")
                return body["incidents"]

            (opened,) = await until(incident, timeout=30, what="an incident")
            assert opened["name"] == "Elevated 500 rates on real traffic to Platform API"
            first = opened["incident_updates"][-1]["body"]
            assert "500 rates on real traffic to Platform API" in first
            metrics = await traffic_metrics(p)
            assert metrics['prober_traffic_up{component="platform-api"}'] == 1
            assert metrics['prober_traffic_failure_ratio{component="platform-api"}'] == (
                pytest.approx(0.3, abs=0.02)
            )
            assert metrics['prober_traffic_requests_per_second{component="platform-api"}'] > 1
        finally:
            await p.stop()


async def test_prometheus_stopped_is_no_data_and_no_incident(
    app: tuple[App, str], tmp_path: Path
) -> None:
    state, address = app
    with prometheus(tmp_path, address) as (log, proc):
        prom = await prometheus_url(log, proc)
        await wait_prometheus(prom)
        config = write_config(tmp_path / "checks.yaml", prom, address)
        p = ProberProcess(config, tmp_path / "prober.db")
        await p.start()
        try:

            async def evaluated_ok() -> bool:
                m = await traffic_metrics(p)
                key = 'prober_traffic_evaluations_total{component="platform-api",outcome="ok"}'
                return m.get(key, 0) >= 3

            await until(evaluated_ok, timeout=60, what="real-traffic evaluations with data")
            assert await status(p) == "operational"
            proc.terminate()
            proc.wait(timeout=15)
            state.error_share = 1.0  # nobody can see it now: Prometheus is gone

            async def errors() -> bool:
                m = await traffic_metrics(p)
                key = 'prober_traffic_evaluations_total{component="platform-api",outcome="error"}'
                return m.get(key, 0) >= 5 and m['prober_traffic_up{component="platform-api"}'] == 0

            await until(errors, timeout=60, what="error evaluations once Prometheus stopped")
            assert await status(p) == "operational"
            body = await p.get_json("/api/v2/incidents.json")
            assert body["incidents"] == []
            assert p.events("traffic_signal_no_data")
        finally:
            await p.stop()
