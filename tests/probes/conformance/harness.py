"""Response shapes served by real loopback servers, and what each engine must make of them.

A `Shape` is the bytes a server sends after reading the request head (whole, or in pieces
with a pause between them), whether it then closes the connection or holds it open, and
the verdict every engine must give: the Reason, the status code and, for an OK, a text the
decoded body must contain. Each conformance test is one rule, parametrized over the shapes
that exercise it; the `engine` fixture (tests/probes/conftest.py) runs it on every engine.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, field

from prober.config.model import Expectations, StatusRange
from prober.probes.http import HttpProber
from prober.probes.result import ProbeResult, Reason

from ..servers import make_check, raw_server, read_request_head

BODY = b"all systems operational"
OK = Expectations(body_contains=(BODY.decode(),))
ANY = Expectations(status=(StatusRange(100, 599),))


@dataclass(frozen=True)
class Shape:
    id: str
    pieces: tuple[bytes, ...]
    reason: Reason = Reason.OK
    status: int | None = 200
    hold: bool = False  # keep the connection open after the last piece
    check: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.id


def shape(ident: str, *pieces: bytes, **kw: object) -> Shape:
    return Shape(ident, pieces, **kw)  # type: ignore[arg-type]


def head(status: str = "200 OK", *fields: str, line_end: bytes = b"\r\n") -> bytes:
    lines = [f"HTTP/1.1 {status}".encode(), *(f.encode() for f in fields), b""]
    return line_end.join(lines) + line_end


def fixed(body: bytes = BODY, *fields: str, status: str = "200 OK") -> bytes:
    return head(status, f"Content-Length: {len(body)}", *fields) + body


def chunked(body: bytes, size: int = 7, trailer: bytes = b"") -> bytes:
    parts = [
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    ]
    return b"".join(parts) + b"0\r\n" + trailer + b"\r\n"


def gzip(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


async def run(engine: str, s: Shape, *, timeout: float = 2.0) -> ProbeResult:
    """Serve `s` on a fresh loopback server and probe it once on `engine`."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        for i, piece in enumerate(s.pieces):
            if i:
                await asyncio.sleep(0.005)
            writer.write(piece)
            await writer.drain()
        if s.hold:
            await reader.read()

    kw: dict[str, object] = {"expect": OK if s.reason is Reason.OK else ANY, "timeout": timeout}
    kw.update(s.check)
    async with raw_server(handler) as url, HttpProber(engine=engine) as prober:
        return await prober.probe(make_check(url + "/", **kw))


def verdict(r: ProbeResult) -> tuple[Reason, int | None] | tuple[Reason]:
    return r.reason, r.status_code


async def assert_shape(engine: str, s: Shape) -> ProbeResult:
    r = await run(engine, s)
    got = verdict(r)
    if s.reason is Reason.PROTOCOL:
        # whether the status is known depends on how much of a broken response arrived
        # before the parser stopped (aiohttp parses a whole read before answering)
        got, want = got[:1], (s.reason,)
    else:
        want = (s.reason, s.status)
    assert got == want, f"{s.id} on {engine}: {r.reason} {r.status_code} {r.detail}"
    return r
