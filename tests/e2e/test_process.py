"""prober as a real process against the real simulated target: start, reload, restart,
kill -9 and SIGTERM. These wait on real endpoints with bounded polls."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from prober.demo.sim import start_sim
from tests.e2e.harness import ProberProcess, until, write_config

FAST = """
incidents:
  quiet_period: 3s
  min_update_spacing: 1s
status:
  window: 30s
  min_samples: 5
  recovery_time: 2s
"""


class Target:
    def __init__(self, url: str) -> None:
        self.url = url

    async def scenario(self, name: str) -> None:
        async with (
            aiohttp.ClientSession() as s,
            s.post(self.url + "/_sim/scenario", json={"scenario": name}) as r,
        ):
            assert r.status == 200, await r.text()


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    runner, port = await start_sim("127.0.0.1", 0, scenario="healthy")
    try:
        yield Target(f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


async def unresolved(p: ProberProcess) -> list[dict[str, Any]]:
    data = await p.get_json("/api/v2/incidents/unresolved.json")
    return list(data["incidents"])


async def test_incident_survives_kill_9_without_duplicate_and_resolves_after(
    tmp_path: Path, target: Target
) -> None:
    config = write_config(tmp_path / "checks.yaml", target.url, extra=FAST)
    db = tmp_path / "prober.db"
    first = ProberProcess(config, db)
    await first.start()
    try:
        await until(lambda: first.request("GET", "/-/ready"), what="ready")
        await target.scenario("outage")

        async def both_joined() -> list[dict[str, Any]]:
            found = await unresolved(first)
            ids = {c["id"] for i in found for c in i["components"]}
            return found if ids == {"platform-api", "billing"} else []

        opened = await until(both_joined, what="one incident with both components")
        assert len(opened) == 1, "components going bad together join one incident"
        incident = opened[0]
        assert incident["status"] == "investigating"
    finally:
        await first.kill()

    second = ProberProcess(config, db)
    await second.start()
    try:
        # Red before the restart is red after it, at once, and it is the same incident.
        after = await unresolved(second)
        assert [i["id"] for i in after] == [incident["id"]]
        assert after[0]["started_at"] == incident["started_at"]
        summary = await second.get_json("/api/v2/summary.json")
        statuses = {c["id"]: c["status"] for c in summary["components"] if not c.get("group")}
        assert statuses["platform-api"] == "major_outage"

        await target.scenario("healthy")

        async def resolved() -> Any:
            data = await second.get_json("/api/v2/incidents.json")
            return [i for i in data["incidents"] if i["status"] == "resolved"]

        done = await until(resolved, timeout=60, what="the incident to resolve")
        assert [i["id"] for i in done] == [incident["id"]]
        everything = (await second.get_json("/api/v2/incidents.json"))["incidents"]
        assert len(everything) == 1, "a restart must not duplicate the incident"
        statuses_seen = [u["status"] for u in done[0]["incident_updates"]]  # newest first
        assert statuses_seen[0] == "resolved" and "monitoring" in statuses_seen
        assert statuses_seen[-1] == "investigating"
    finally:
        assert await second.stop() == 0


async def test_reload_keeps_running_config_on_bad_file_and_swaps_good_one(
    tmp_path: Path, target: Target
) -> None:
    config = write_config(tmp_path / "checks.yaml", target.url)
    p = ProberProcess(config, tmp_path / "db.sqlite")
    await p.start()
    try:
        config.write_text(config.read_text() + "bogus_key: 1\n")
        status, body = await p.request("POST", "/-/reload")
        assert status >= 400 and "bogus_key" in body
        _, metrics = await p.request("GET", "/metrics")
        assert "prober_config_last_reload_successful 0.0" in metrics
        assert 'check="billing-health"' in metrics  # still probing with the old config

        write_config(config, target.url, components=("platform-api",))
        status, body = await p.request("POST", "/-/reload")
        assert status == 200, body
        _, metrics = await p.request("GET", "/metrics")
        assert "prober_config_last_reload_successful 1.0" in metrics
        assert 'check="billing-health"' not in metrics  # stale series are gone

        # A change on disk is picked up without being asked (ConfigMap style).
        write_config(config, target.url, components=("platform-api", "scim"))

        async def has_scim() -> bool:
            return 'check="scim-health"' in (await p.request("GET", "/metrics"))[1]

        await until(has_scim, timeout=20, what="the watched file to reload")
        # SIGHUP reloads too: a bad file now is refused and logged.
        config.write_text("checks: [\n")
        assert p.proc is not None
        p.proc.send_signal(signal.SIGHUP)
        await until(lambda: _async(bool(p.events("config_reload_failed"))), what="reload log")
    finally:
        assert await p.stop() == 0


async def _async(value: Any) -> Any:
    return value


async def test_sigterm_exits_zero_and_logs_no_secret(tmp_path: Path, target: Target) -> None:
    config = write_config(tmp_path / "checks.yaml", target.url)
    text = config.read_text().replace(
        "    requests_per_round: 5",
        "    requests_per_round: 5\n    headers:\n      Authorization: Bearer ${E2E_SECRET}",
    )
    config.write_text(text)
    p = ProberProcess(config, tmp_path / "db.sqlite", env={"E2E_SECRET": "hunter2-very-secret"})
    await p.start()
    await target.scenario("outage")
    await until(lambda: unresolved(p), what="an incident")
    _, metrics = await p.request("GET", "/metrics")
    _, checks = await p.request("GET", "/api/prober/v1/checks.json")
    _, page = await p.request("GET", "/")
    assert await p.stop(signal.SIGTERM) == 0
    logged = "\n".join(str(line) for line in p.lines)
    for text in (metrics, checks, page, logged):
        assert "hunter2-very-secret" not in text
    assert p.events("prober_stopped")


async def test_corrupt_database_is_reported_untouched_while_probing_and_serving_go_on(
    tmp_path: Path, target: Target
) -> None:
    config = write_config(tmp_path / "checks.yaml", target.url)
    db = tmp_path / "prober.db"
    garbage = b"this is not a database\n" * 100
    db.write_bytes(garbage)
    p = ProberProcess(config, db)
    await p.start()
    try:
        status, body = await p.request("GET", "/-/ready")
        assert status == 503 and "store" in body
        _, metrics = await p.request("GET", "/metrics")
        assert "prober_store_healthy 0.0" in metrics
        assert 'prober_store_errors_total{operation="open"}' in metrics
        await target.scenario("outage")
        opened = await until(lambda: unresolved(p), what="an incident, store or not")
        assert opened
        assert p.events("store_failed")
    finally:
        assert await p.stop() == 0
    assert db.read_bytes() == garbage, "prober must never overwrite a database on its own"


async def test_write_api_posts_a_human_update_with_the_token_only(
    tmp_path: Path, target: Target
) -> None:
    config = write_config(tmp_path / "checks.yaml", target.url)
    token_file = tmp_path / "token"
    token_file.write_text("t0ken-for-writes\n")
    p = ProberProcess(config, tmp_path / "db.sqlite", args=("--api-token-file", str(token_file)))
    await p.start()
    try:
        await target.scenario("outage")
        (incident, *_) = await until(lambda: unresolved(p), what="an incident")
        path = f"/api/prober/v1/incidents/{incident['id']}/updates"
        update = {"status": "identified", "body": "We have deployed a fix...", "impact": "critical"}
        status, _ = await p.request("POST", path, json=update)
        assert status == 401
        status, _ = await p.request(
            "POST", path, json=update, headers={"Authorization": "Bearer wrong"}
        )
        assert status == 401
        status, body = await p.request(
            "POST", path, json=update, headers={"Authorization": "Bearer t0ken-for-writes"}
        )
        assert status == 201, body
        after = await p.get_json(f"/api/prober/v1/incidents/{incident['id']}.json")
        text = str(after)
        assert "We have deployed a fix..." in text and "identified" in text
        assert "critical" in text
        summary = await p.get_json("/api/v2/incidents/unresolved.json")
        assert summary["incidents"][0]["impact"] == "critical"
        assert summary["incidents"][0]["incident_updates"][0]["status"] == "identified"
    finally:
        assert await p.stop() == 0
    assert "t0ken-for-writes" not in "\n".join(str(line) for line in p.lines)
