"""A secret from the environment never leaves a real prober process: not in its log, its
metrics, its APIs, its page or its feed, even when a target echoes the secret back.

The target sends the bearer token it received back in its JSON body (so a failed
`expect.json` would quote it), a second check carries the token in its URL query to a
closed port (so connect errors would show the URL), and a Slack webhook's whole URL comes
from ${SLACK_WEBHOOK_URL} and fails.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from prober.api.app import STATUSPAGE_VIEWS
from tests.e2e.harness import ProberProcess, until, write_config

TOKEN = "hunter2secretXYZ"
HOOK_PART = "T0SECRET/B0SECRET/sl4ckhookpath"
# Pieces of the secrets that must not show up either (a cut or re-encoded secret).
FRAGMENTS = (TOKEN, "hunter2", "secretXYZ", HOOK_PART, "sl4ckhookpath")


class Target:
    def __init__(self) -> None:
        self.url = ""
        self.hook_hits = 0
        self.echoes = 0


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    state = Target()

    async def status(request: web.Request) -> web.Response:
        state.echoes += 1
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return web.json_response({"status": token, "padded": "x" * 50 + token})

    async def hook(request: web.Request) -> web.Response:
        state.hook_hits += 1
        await request.read()
        return web.Response(status=500, text=f"no such hook {request.path}")

    app = web.Application()
    app.router.add_get("/echo/status", status)
    app.router.add_post("/hooks/{tail:.*}", hook)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        await runner.cleanup()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def secret_config(path: Path, target: str) -> Path:
    extra = f"""\
  - id: echo-status
    component: platform-api
    url: {target}/echo/status
    interval: 1s
    timeout: 500ms
    headers:
      Authorization: "Bearer ${{SECRET_TOK}}"
    expect:
      json:
        - path: status
          equals: ok
  - id: echo-padded
    component: platform-api
    url: {target}/echo/status
    interval: 1s
    timeout: 500ms
    headers:
      Authorization: "Bearer ${{SECRET_TOK}}"
    expect:
      json:
        - path: padded
          equals: ok
  - id: query-token
    component: billing
    url: http://127.0.0.1:{closed_port()}/health?token=${{SECRET_TOK}}
    interval: 1s
    timeout: 500ms
    requests_per_round: 5
webhooks:
  - id: chat
    url: "${{SLACK_WEBHOOK_URL}}"
    kind: slack
    max_attempts: 2
    timeout: 1s
incidents:
  quiet_period: 3s
  min_update_spacing: 1s
status:
  window: 30s
  min_samples: 5
  recovery_time: 2s
"""
    # platform-api-health and billing-health point at a path the target does not serve
    # (404): harmless, they only make the components exist.
    return write_config(path, target + "/none", extra=extra)


async def test_secret_from_environment_appears_nowhere(tmp_path: Path, target: Target) -> None:
    config = secret_config(tmp_path / "checks.yaml", target.url)
    env = {"SECRET_TOK": TOKEN, "SLACK_WEBHOOK_URL": f"{target.url}/hooks/{HOOK_PART}"}
    p = ProberProcess(config, tmp_path / "db.sqlite", env=env)
    await p.start()
    seen: dict[str, str] = {}
    try:

        async def failures_logged() -> bool:
            checks = {line.get("check") for line in p.events("probe_failed")}
            return {"echo-status", "echo-padded", "query-token"} <= checks

        await until(failures_logged, what="probe_failed for the three secret checks")

        async def incident() -> list[dict[str, Any]]:
            data = await p.get_json("/api/v2/incidents/unresolved.json")
            return list(data["incidents"])

        opened = await until(incident, what="an incident for billing")
        await until(_true_when(lambda: target.hook_hits > 0), what="the webhook to be tried")
        # a reload sets the redactor again from the new config
        status, body = await p.request("POST", "/-/reload")
        assert status == 200, body

        for path in (
            "/metrics",
            "/api/prober/v1/checks.json",
            "/",
            "/history.atom",
            *STATUSPAGE_VIEWS,
        ):
            code, text = await p.request("GET", path)
            assert code == 200, (path, code)
            seen[path] = text
        for inc in opened:
            for path in (f"/api/prober/v1/incidents/{inc['id']}.json", f"/incidents/{inc['id']}"):
                code, text = await p.request("GET", path)
                assert code == 200, (path, code)
                seen[path] = text
    finally:
        assert await p.stop() == 0
    seen["log"] = "\n".join(str(line) for line in p.lines)

    # the probes ran and failed where the secret would have shown
    assert target.echoes > 0
    checks = seen["/api/prober/v1/checks.json"]
    assert "redacted" in checks, checks
    assert "echo-status" in checks and "query-token" in checks
    assert any("redacted" in str(line.get("detail")) for line in p.events("probe_failed"))
    assert p.events("config_reloaded")
    for where, text in seen.items():
        for fragment in FRAGMENTS:
            assert fragment not in text, f"{fragment!r} leaked in {where}"
        assert "token=" not in text, f"the URL query leaked in {where}"


def _true_when(predicate: Any) -> Any:
    async def check() -> bool:
        return bool(predicate())

    return check
