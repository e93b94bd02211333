"""Every header is decoded defensively: non-UTF-8 bytes in any request header, on any
endpoint, read or write, give a 4xx or the normal answer, never a 500 or a traceback."""

from __future__ import annotations

import asyncio

import pytest

PATHS = [
    "/",
    "/api/v2/summary.json",
    "/api/v2/incidents.json",
    "/history.atom",
    "/metrics",
    "/-/ready",
    "/api/prober/v1/checks.json",
]
HEADERS = [
    b"If-None-Match",
    b"Accept-Encoding",
    b"Host",
    b"X-Forwarded-Host",
    b"X-Forwarded-Proto",
    b"If-Modified-Since",
    b"Authorization",
    b"Accept",
    b"Cookie",
    b"Origin",
    b"Content-Type",
]
WRITE = b"/api/prober/v1/incidents/x/updates"


@pytest.mark.parametrize("header", HEADERS, ids=[h.decode() for h in HEADERS])
async def test_non_utf8_bytes_in_any_header_never_give_a_500(client, header):
    statuses = []
    for method, path in [*((b"GET", p.encode()) for p in PATHS), (b"POST", WRITE)]:
        reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
        writer.write(
            method
            + b" "
            + path
            + b" HTTP/1.1\r\nHost: x\r\n"
            + header
            + b": \xff\xfe\x80 abc\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        statuses.append((path, int(raw.split(b" ", 2)[1])))
        assert b"Traceback" not in raw
    assert all(status < 500 for _, status in statuses), statuses
