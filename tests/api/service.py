"""A real Service (memory or SQLite store) probing a real local healthy target, for tests
of the write API end to end: HTTP -> commands -> engine -> store -> snapshot -> reads."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from prober.config.loader import load_config
from prober.service import Service, Settings, build_service

TOKEN = "human-write-token-for-tests"

CONFIG = """\
page:
  name: Acme Status
  url: https://status.example.com
components:
  - id: api
    name: Platform API
    group: Core
  - id: billing
    name: Billing
    group: Core
  - id: dashboard
    name: Dashboard
checks:
  - id: api-health
    component: api
    url: {target}/ok
    interval: 1s
  - id: billing-health
    component: billing
    url: {target}/ok
    interval: 1s
  - id: dashboard-health
    component: dashboard
    url: {target}/ok
    interval: 1s
incident_templates:
  - id: db-failover
    name: Database failover in progress
    body: We are failing over the primary database; writes may fail for a few minutes.
    status: identified
    impact: major
    components:
      billing: partial_outage
      dashboard: degraded_performance
"""


@contextlib.asynccontextmanager
async def healthy_target() -> AsyncIterator[str]:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ok", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def running_service(
    tmp_path: Path, target: str, db: str = "memory", token: str | None = TOKEN
) -> AsyncIterator[Service]:
    path = tmp_path / "checks.yaml"
    path.write_text(CONFIG.format(target=target))
    settings = Settings(config_path=str(path), db_path=db, api_token=token)
    service = build_service(settings, load_config(path))
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
