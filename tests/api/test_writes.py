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


async def _raw(client, head: bytes, pieces: list[bytes]) -> tuple[int, bytes]:
    """Send a request over a plain socket, the body in separate TCP writes."""
    import asyncio

    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(head)
        await writer.drain()
        for piece in pieces:
            await asyncio.sleep(0.02)  # separate segments, as a slow client sends them
            writer.write(piece)
            await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    status = int(raw.split(b" ", 2)[1])
    return status, raw


@pytest.mark.parametrize("pieces", [2, 3])
async def test_a_body_sent_in_several_tcp_pieces_is_read_whole(client, backend, pieces):
    body = b'{"status": "identified", "body": "' + FIX.encode() + b'"}'
    step = len(body) // pieces + 1
    parts = [body[i : i + step] for i in range(0, len(body), step)]
    head = (
        f"POST {URL} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    status, raw = await _raw(client, head, parts)
    assert status == 201, raw
    assert backend.writes == [(INCIDENT_ID, IncidentStatus.IDENTIFIED, FIX, None)]


async def test_a_chunked_body_over_the_limit_is_413(client, backend):
    from prober.api.writes import MAX_BODY_BYTES

    chunk = b"x" * 8192
    n = MAX_BODY_BYTES // len(chunk) + 2
    head = (
        f"POST {URL} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    pieces = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(n)] + [b"0\r\n\r\n"]
    status, _ = await _raw(client, head, pieces)
    assert status == 413
    assert backend.writes == []


@pytest.mark.parametrize("token", [b"\xff\xfe\xfd", b"caf\xc3\xa9", b"\x80abc"])
async def test_non_utf8_or_non_ascii_authorization_is_401_never_500(client, backend, token):
    body = b'{"body": "x"}'
    head = (
        f"POST {URL} HTTP/1.1\r\nHost: x\r\n".encode()
        + b"Authorization: Bearer "
        + token
        + f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
    )
    status, raw = await _raw(client, head, [body])
    assert status in (400, 401), raw
    assert b"Traceback" not in raw
    assert backend.writes == []


async def test_failed_logins_are_logged_without_the_token(client, backend):
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        resp = await client.post(
            URL, json={"body": "x"}, headers={"Authorization": f"Bearer {TOKEN}-guess"}
        )
    assert resp.status == 401
    failed = [e for e in logs if e["event"] == "write_auth_failed"]
    assert len(failed) == 1 and failed[0]["reason"] == "invalid"
    assert TOKEN not in repr(logs)


async def test_a_write_the_store_did_not_take_is_503_with_the_reason(client, backend):
    from prober.errors import StoreError

    async def full(*args: object) -> None:
        raise StoreError("database 'prober.db': disk or database is full")

    backend.write_incident = full
    resp = await client.post(URL, json={"body": "x"}, headers=AUTH)
    error = await _error(resp, 503)
    assert error["code"] == "store_unavailable"
    assert "disk or database is full" in error["message"]
    assert resp.headers["Retry-After"]
