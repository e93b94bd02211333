"""prober's own API: uptime per day, live ratios, per-check results, one incident."""

from __future__ import annotations

import pytest

from tests.api.fake import INCIDENT_ID


async def test_uptime(client):
    body = await (await client.get("/api/prober/v1/uptime.json")).json()
    assert body["days"] == 90
    assert body["from"] == "2026-02-26"
    comps = {c["id"]: c for c in body["components"]}
    assert len(comps) == 12
    billing = comps["billing"]
    assert len(billing["days"]) == 90
    assert billing["days"][0] == {
        "date": "2026-02-26",
        "uptime": None,
        "probes": 0,
        "failures": 0,
        "downtime_seconds": 0.0,
        "known_seconds": 0.0,
        "share": dict.fromkeys(
            (
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
            ),
            0.0,
        ),
    }
    day = next(d for d in billing["days"] if d["date"] == "2026-05-16")
    assert day["share"]["major_outage"] == pytest.approx(6400 / 86400)
    assert day["uptime"] == pytest.approx(1 - 640 / 8640)  # successful probes over all
    assert (day["probes"], day["failures"]) == (8640, 640)
    assert day["downtime_seconds"] == 6400.0
    today = billing["days"][-1]
    assert today["date"] == "2026-05-26"
    assert sum(today["share"].values()) == pytest.approx(1.0)
    assert 0.99 < billing["uptime"] < 1.0


async def test_components(client):
    body = await (await client.get("/api/prober/v1/components.json")).json()
    assert body["network_healthy"] is True
    dash = next(c for c in body["components"] if c["id"] == "dashboard")
    assert dash == {
        "id": "dashboard",
        "name": "Dashboard",
        "group": "Product",
        "status": "partial_outage",
        "status_level": 3,
        "failure_ratio": 0.3,
        "samples": 600,
        "latency_p95_seconds": 0.12,
        "created_at": "2025-11-07T21:19:00.000Z",
        "updated_at": "2026-05-26T21:49:00.000Z",
    }


async def test_checks(client):
    body = await (await client.get("/api/prober/v1/checks.json")).json()
    checks = {c["id"]: c for c in body["checks"]}
    dash = checks["dashboard-health"]
    assert dash["component"] == "dashboard"
    assert dash["last"]["reason"] == "http_5xx"
    assert dash["last"]["ok"] is False
    assert dash["last"]["status_code"] == 500
    assert dash["last"]["latency_seconds"] == 0.042
    assert dash["last"]["detail"] == "status 500, expected 200-299"
    assert dash["last_success_at"] == "2026-05-26T21:48:00.000Z"
    assert set(dash["last"]) == {
        "at",
        "ok",
        "reason",
        "status_code",
        "latency_seconds",
        "detail",
        "phases",
    }
    assert "headers" not in str(body)
    assert checks["never-run"]["last"] is None
    assert checks["never-run"]["last_success_at"] is None


async def test_incident_detail(client):
    body = await (await client.get(f"/api/prober/v1/incidents/{INCIDENT_ID}.json")).json()
    inc = body["incident"]
    assert inc["id"] == INCIDENT_ID
    assert inc["detected_at"] == "2026-05-26T21:19:00.000Z"
    assert inc["started_at"] == "2026-05-26T21:17:30.000Z"
    assert inc["duration_seconds"] is None
    assert [u["automatic"] for u in inc["incident_updates"]] == [False, True]
