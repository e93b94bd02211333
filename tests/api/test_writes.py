"""The incident write API: bearer auth in constant time, validation, and the error shape."""

from __future__ import annotations

import pytest

from prober.domain.status import Impact, IncidentStatus
from tests.api.fake import INCIDENT_ID, TOKEN, after_snapshot

URL = f"/api/prober/v1/incidents/{INCIDENT_ID}/updates"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FIX = "We have deployed a fix and are observing rapid decline in error rates."


async def _error(resp, status: int) -> dict:
    assert resp.status == status
    assert resp.headers["Content-Type"].startswith("application/json")
    body = await resp.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


async def test_post_update(client, backend):
    resp = await client.post(URL, json={"status": "identified", "body": FIX}, headers=AUTH)
    assert resp.status == 201
    body = await resp.json()
    assert body["incident"]["status"] == "identified"
    assert body["incident_update"]["body"] == FIX
    assert body["incident_update"]["status"] == "identified"
    assert backend.writes == [(INCIDENT_ID, IncidentStatus.IDENTIFIED, FIX, None)]
    # reads see the new snapshot at once
    summary = await (await client.get("/api/v2/incidents/unresolved.json")).json()
    assert summary["incidents"][0]["incident_updates"][0]["body"] == FIX


async def test_post_impact_and_resolve(client, backend):
    resp = await client.post(
        URL,
        json={"status": "resolved", "body": "Resolved by hand.", "impact": "critical"},
        headers=AUTH,
    )
    assert resp.status == 201
    assert backend.writes[-1] == (
        INCIDENT_ID,
        IncidentStatus.RESOLVED,
        "Resolved by hand.",
        Impact.CRITICAL,
    )
    body = await resp.json()
    assert body["incident"]["impact"] == "critical"
    assert body["incident"]["resolved_at"] is not None


async def test_body_only_update(client, backend):
    resp = await client.post(URL, json={"body": "Still looking."}, headers=AUTH)
    assert resp.status == 201
    assert backend.writes[-1] == (INCIDENT_ID, None, "Still looking.", None)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": "Bearer ünïcödé"},
    ],
)
async def test_unauthorized(client, backend, headers):
    resp = await client.post(URL, json={"body": "x"}, headers=headers)
    error = await _error(resp, 401)
    assert error["code"] == "unauthorized"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in await resp.text()
    assert backend.writes == []


async def test_auth_before_lookup(client, backend):
    """Without the token an unknown id is a 401, not a 404: ids cannot be probed."""
    resp = await client.post("/api/prober/v1/incidents/nope/updates", json={"body": "x"})
    await _error(resp, 401)


async def test_writes_disabled(client, backend):
    backend.token = None
    resp = await client.post(URL, json={"body": "x"}, headers=AUTH)
    error = await _error(resp, 403)
    assert error["code"] == "writes_disabled"
    assert "token" in error["message"]
    assert backend.writes == []


@pytest.mark.parametrize(
    ("payload", "code", "fragment"),
    [
        (b"{not json", "malformed_json", "not valid JSON"),
        (b"", "malformed_json", "not valid JSON"),
        (b"[1, 2]", "invalid_body", "JSON object"),
        (b'"text"', "invalid_body", "JSON object"),
        (b"{}", "invalid_field", "body"),
        (b'{"body": ""}', "invalid_field", "body"),
        (b'{"body": "   "}', "invalid_field", "body"),
        (b'{"body": 5}', "invalid_field", "body"),
        (b'{"body": "x", "status": "fixed"}', "invalid_field", "status"),
        (b'{"body": "x", "status": 3}', "invalid_field", "status"),
        (b'{"body": "x", "impact": "huge"}', "invalid_field", "impact"),
        (b'{"body": "x", "impact": "maintenance"}', "invalid_field", "impact"),
        (b'{"body": "x", "colour": "red"}', "unknown_field", "colour"),
    ],
)
async def test_bad_requests(client, backend, payload, code, fragment):
    resp = await client.post(
        URL, data=payload, headers={**AUTH, "Content-Type": "application/json"}
    )
    error = await _error(resp, 400)
    assert error["code"] == code
    assert fragment in error["message"]
    assert backend.writes == []


async def test_too_large(client):
    resp = await client.post(URL, data=b"x" * (70 * 1024), headers=AUTH)
    error = await _error(resp, 413)
    assert error["code"] == "too_large"


async def test_unknown_incident(client):
    resp = await client.post(
        "/api/prober/v1/incidents/nope/updates", json={"body": "x"}, headers=AUTH
    )
    error = await _error(resp, 404)
    assert error["code"] == "not_found"


async def test_conflict(client, backend):
    backend.set_snapshot(after_snapshot())
    resp = await client.post(URL, json={"body": "too late"}, headers=AUTH)
    error = await _error(resp, 409)
    assert error["code"] == "conflict"
    assert "resolved" in error["message"]


async def test_get_on_write_path_not_allowed(client):
    resp = await client.get(URL)
    assert resp.status == 405
