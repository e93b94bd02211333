"""Caching, conditional GET, gzip, CORS, health endpoints and the error shape."""

from __future__ import annotations

import gzip

import pytest

from prober.api.app import STATE
from prober.api.bodies import accepts_gzip
from tests.api.fake import after_snapshot

READ_PATHS = [
    "/api/v2/summary.json",
    "/api/prober/v1/uptime.json",
    "/",
    "/history.atom",
    "/incidents/inc-20260526-1",
    "/api/prober/v1/incidents/inc-20260526-1.json",
]


@pytest.mark.parametrize("path", READ_PATHS)
async def test_etag_and_304(client, path):
    first = await client.get(path, headers={"Accept-Encoding": "identity"})
    assert first.status == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = await client.get(path, headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert again.status == 304
    assert again.headers["ETag"] == etag
    assert await again.read() == b""
    headers = {"If-None-Match": '"nope"', "Accept-Encoding": "identity"}
    other = await client.get(path, headers=headers)
    assert other.status == 200


async def test_new_snapshot_changes_etag(client, backend):
    first = await client.get("/api/v2/status.json")
    backend.set_snapshot(after_snapshot())
    headers = {"If-None-Match": first.headers["ETag"]}
    second = await client.get("/api/v2/status.json", headers=headers)
    assert second.status == 200
    assert second.headers["ETag"] != first.headers["ETag"]
    assert (await second.json())["status"]["indicator"] == "none"


async def test_serialized_once_per_version(client, backend):
    cache = client.app[STATE].cache
    for _ in range(5):
        assert (await client.get("/api/v2/summary.json")).status == 200
        assert (await client.get("/")).status == 200
    assert cache.builds == 2
    backend.set_snapshot(after_snapshot())
    for _ in range(3):
        assert (await client.get("/api/v2/summary.json")).status == 200
    assert cache.builds == 3


@pytest.mark.parametrize("path", ["/api/v2/summary.json", "/", "/history.atom"])
async def test_gzip_when_accepted(client, path):
    plain = await client.get(path, headers={"Accept-Encoding": "identity"}, auto_decompress=False)
    packed = await client.get(path, headers={"Accept-Encoding": "gzip, br"}, auto_decompress=False)
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    raw = await packed.read()
    assert gzip.decompress(raw) == await plain.read()
    assert len(raw) < len(await plain.read())
    assert packed.headers["ETag"] != plain.headers["ETag"]
    # either representation's tag revalidates
    again = await client.get(
        path, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    )
    assert again.status == 304


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ("identity", False),
        ("gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("*", True),
        ("br;q=1, *;q=0", False),
        ("gzip;q=bogus", False),
    ],
)
def test_accepts_gzip(header, expected):
    assert accepts_gzip(header) is expected


@pytest.mark.parametrize("path", [*READ_PATHS, "/api/prober/v1/checks.json"])
async def test_cors_on_get(client, path):
    resp = await client.get(path)
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/metrics", "/-/ready", "/-/healthy"])
async def test_no_cors_on_operational_endpoints(client, path):
    resp = await client.get(path)
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_head_is_served(client):
    resp = await client.head("/api/v2/status.json")
    assert resp.status == 200
    assert resp.headers["ETag"]


async def test_metrics(client):
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b"prober_up 1" in await resp.read()


async def test_healthy(client):
    resp = await client.get("/-/healthy")
    assert resp.status == 200


async def test_ready_and_not_ready(client, backend):
    assert (await client.get("/-/ready")).status == 200
    backend.readiness = (False, "store unavailable: database is read-only")
    resp = await client.get("/-/ready")
    assert resp.status == 503
    assert "database is read-only" in await resp.text()


async def test_reload(client, backend):
    resp = await client.post("/-/reload")
    assert resp.status == 200
    assert await resp.json() == {"status": "reloaded"}
    backend.reload_result = (False, ["checks.yaml:3: checks[0].url: required"])
    resp = await client.post("/-/reload")
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == "reload_failed"
    assert error["errors"] == ["checks.yaml:3: checks[0].url: required"]
    assert backend.reloads == 2
    assert (await client.get("/-/reload")).status == 405


async def test_unknown_api_path_is_json_404(client):
    resp = await client.get("/api/v2/nothing.json")
    assert resp.status == 404
    body = await resp.json()
    assert body["error"]["code"] == "not_found"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


async def test_unknown_incident(client):
    resp = await client.get("/api/prober/v1/incidents/nope.json")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
    page = await client.get("/incidents/nope")
    assert page.status == 404


async def test_method_not_allowed_is_json(client):
    resp = await client.delete("/api/v2/summary.json")
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
    assert "GET" in resp.headers["Allow"]


async def test_static_favicon(client):
    resp = await client.get("/static/favicon.svg")
    assert resp.status == 200
    assert b"<svg" in await resp.read()


PREFLIGHT = {
    "Origin": "https://widget.example",
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "if-none-match",
}


@pytest.mark.parametrize("path", [*READ_PATHS, "/api/v2/status.json", "/api/prober/v1/checks.json"])
async def test_cors_preflight_on_reads(client, path):
    resp = await client.options(path, headers=PREFLIGHT)
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"if-none-match", "content-type"} <= allowed
    assert int(resp.headers["Access-Control-Max-Age"]) > 0
    assert await resp.read() == b""


async def test_get_exposes_etag_to_cross_origin_scripts(client):
    resp = await client.get("/api/v2/summary.json", headers={"Origin": "https://w.example"})
    assert resp.headers["Access-Control-Expose-Headers"] == "ETag"


async def test_writes_get_no_cors(client):
    path = "/api/prober/v1/incidents/inc-20260526-1/updates"
    pre = await client.options(path, headers={**PREFLIGHT, "Access-Control-Request-Method": "POST"})
    assert pre.status == 405
    assert "Access-Control-Allow-Origin" not in pre.headers
    post = await client.post(path, json={"body": "x"}, headers={"Origin": "https://w.example"})
    assert post.status == 401
    assert not any(h.lower().startswith("access-control-") for h in post.headers)
